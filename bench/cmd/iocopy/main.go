// Command iocopy runs bench/iocopy, the io.Copy goroutine proxy fjord is
// measured against, as a process of its own. It prints "listening on ADDR"
// and runs until it is killed. -backend takes a comma-separated list, used
// round robin, one connection each.
package main

import (
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/fjordlb/fjord/bench/iocopy"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "listen address (loopback)")
	backend := flag.String("backend", "", "address every connection is forwarded to, or a comma-separated list used round robin")
	flag.Parse()
	if *backend == "" {
		log.Fatal("-backend is required")
	}
	p, err := iocopy.Listen(*listen, strings.Split(*backend, ",")...)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("listening on %s\n", p.Addr())
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	<-sig
	p.Close()
}
