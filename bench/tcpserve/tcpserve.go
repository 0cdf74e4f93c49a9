// Package tcpserve holds the plain TCP servers the benchmarks put behind the
// proxies under test.
package tcpserve

import (
	"fmt"
	"io"
	"net"
)

// Echo writes back what it reads until EOF, then shuts its write side. Not
// io.Copy: from a connection to itself that would splice through a pipe held
// for the connection's lifetime, which would distort descriptor counts.
func Echo(c *net.TCPConn) {
	buf := make([]byte, 4096)
	for {
		n, err := c.Read(buf)
		if n > 0 {
			if _, werr := c.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			c.CloseWrite()
			return
		}
	}
}

// Sink discards everything until EOF and then answers with the number of
// bytes it received, so that a sender can check nothing was lost.
func Sink(c *net.TCPConn) {
	buf := make([]byte, 256<<10)
	var total int64
	for {
		n, err := c.Read(buf)
		total += int64(n)
		if err != nil {
			if err == io.EOF {
				fmt.Fprintf(c, "%d\n", total)
			}
			return
		}
	}
}
