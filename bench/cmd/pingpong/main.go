// Command pingpong is a keep-alive load generator: -c connections each
// send a -size byte request and read the -size byte echo, one at a time,
// until -n requests have been answered in all. With -http PATH each
// request is instead "GET PATH HTTP/1.1" and each answer an HTTP response,
// read to its end and checked for status 200 (for a proxy in mode http in
// front of a web node).
//
// With -wait it connects, does one exchange per connection, prints "ready"
// and waits for a line on stdin before the measured requests; afterwards it
// prints the result and "done" and waits for stdin to close before it
// closes the connections, so that a tracer attached to the proxy sees only
// the requests.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"sync"
	"time"
)

func main() {
	addr := flag.String("addr", "", "proxy address")
	conns := flag.Int("c", 50, "connections")
	total := flag.Int("n", 100000, "requests in all")
	size := flag.Int("size", 100, "request and response size in bytes")
	wait := flag.Bool("wait", false, "wait for a line on stdin before and for EOF after the requests")
	timeout := flag.Duration("timeout", 5*time.Minute, "give up after this long")
	httpPath := flag.String("http", "", "send GET `PATH` requests and read HTTP responses instead of echoes")
	flag.Parse()
	if *addr == "" || *conns < 1 || *total < *conns || *size < 1 {
		flag.Usage()
		os.Exit(2)
	}
	cs := make([]net.Conn, *conns)
	msg := make([]byte, *size)
	for i := range msg {
		msg[i] = byte('a' + i%26)
	}
	readers := map[net.Conn]*bufio.Reader{}
	exchange := func(c net.Conn, got []byte) error {
		if _, err := c.Write(msg); err != nil {
			return err
		}
		if *httpPath != "" {
			return readResponse(readers[c])
		}
		_, err := io.ReadFull(c, got)
		return err
	}
	if *httpPath != "" {
		msg = []byte("GET " + *httpPath + " HTTP/1.1\r\nHost: bench\r\n\r\n")
	}
	deadline := time.Now().Add(*timeout)
	for i := range cs {
		c, err := net.DialTimeout("tcp", *addr, 5*time.Second)
		if err != nil {
			log.Fatal(err)
		}
		c.SetDeadline(deadline)
		readers[c] = bufio.NewReader(c)
		if err := exchange(c, make([]byte, *size)); err != nil {
			log.Fatalf("warm-up: %v", err)
		}
		cs[i] = c
	}
	stdin := bufio.NewReader(os.Stdin)
	if *wait {
		fmt.Println("ready")
		if _, err := stdin.ReadString('\n'); err != nil {
			log.Fatal("stdin closed before the start line")
		}
	}
	start := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, *conns)
	for i, c := range cs {
		n := *total / *conns
		if i < *total%*conns {
			n++
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			got := make([]byte, *size)
			for j := 0; j < n; j++ {
				if err := exchange(c, got); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	close(errs)
	if err := <-errs; err != nil {
		log.Fatal(err)
	}
	what := fmt.Sprintf("size %d", *size)
	if *httpPath != "" {
		what = "http GET " + *httpPath
	}
	fmt.Printf("requests %d connections %d %s elapsed %.3fs req/s %.0f\n",
		*total, *conns, what, elapsed.Seconds(), float64(*total)/elapsed.Seconds())
	if *wait {
		fmt.Println("done")
		io.Copy(io.Discard, stdin)
	}
	for _, c := range cs {
		c.Close()
	}
}

// readResponse reads one HTTP response to its end; an error unless it is
// a 200.
func readResponse(br *bufio.Reader) error {
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		return err
	}
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("status %d", resp.StatusCode)
	}
	return nil
}
