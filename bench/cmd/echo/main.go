// Command echo is the backend of the benchmark scripts: a TCP echo server
// (or, with -sink, a server that discards everything and answers the byte
// count at EOF) written with plain reads and writes. It prints
// "listening on ADDR" and serves until it is killed.
package main

import (
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"time"

	"github.com/fjordlb/fjord/bench/tcpserve"
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
	handler := tcpserve.Echo
	if *sink {
		handler = tcpserve.Sink
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
