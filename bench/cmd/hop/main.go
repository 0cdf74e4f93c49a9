// Command hop runs bench/hop, the minimal HTTP/1.1 keep-alive proxy hop
// that compares fjord's epoll loop design with an io_uring one, as a
// process of its own (fjord-hop, the harness's hop-epoll and hop-uring
// peers). It prints "listening on ADDR" and how its loops were set up,
// and runs until it is killed.
package main

import (
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/fjordlb/fjord/bench/hop"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "listen address (loopback)")
	backend := flag.String("backend", "", "server address, or a comma-separated list used in turn, one per client connection")
	loop := flag.String("loop", "epoll", "loop design: epoll or uring")
	threads := flag.Int("threads", 0, "loops, each on its own thread with its own SO_REUSEPORT listener (0: GOMAXPROCS)")
	bufSize := flag.Int("bufsize", 0, "bytes per read: the epoll loop's buffer, each provided buffer of the uring loop (0: 16384)")
	buffers := flag.Int("buffers", 0, "provided buffers per uring loop, a power of two (0: 256)")
	flag.Parse()
	log.SetFlags(0)
	if *backend == "" {
		log.Fatal("fjord-hop: -backend is required")
	}
	design, err := hop.ParseDesign(*loop)
	if err != nil {
		log.Fatalf("fjord-hop: -loop: %v", err)
	}
	p, err := hop.Start(hop.Options{
		Listen: *listen, Backends: strings.Split(*backend, ","), Design: design,
		Threads: *threads, BufSize: *bufSize, Buffers: *buffers,
	})
	if err != nil {
		log.Fatalf("fjord-hop: %v", err)
	}
	fmt.Printf("listening on %s\nloops: %s\n", p.Addr(), p.Setup)
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	<-sig
	p.Close()
}
