// Command echo is the backend of the benchmark scripts: a TCP echo server
// (or, with -sink, a server that discards everything and answers the byte
// count at EOF) written with plain reads and writes. It prints
// "listening on ADDR" and serves until it is killed.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"time"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen address (loopback)")
	sink := flag.Bool("sink", false, "discard input and answer the byte count at EOF instead of echoing")
	flag.Parse()
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("listening on %s\n", ln.Addr())
	handler := echo
	if *sink {
		handler = discard
	}
	for {
		c, err := ln.Accept()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			log.Print(err)
			time.Sleep(10 * time.Millisecond) // out of descriptors: back off
			continue
		}
		go func() {
			defer c.Close()
			handler(c.(*net.TCPConn))
		}()
	}
}

// echo writes back what it reads. Not io.Copy: from a connection to itself
// that would splice through a pipe held for the connection's lifetime.
func echo(c *net.TCPConn) {
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

func discard(c *net.TCPConn) {
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
