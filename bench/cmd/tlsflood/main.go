// Command tlsflood is the benchmark's handshake flood (load.Flood) as a
// process of its own: it opens connections to a TLS proxy as fast as a
// bounded number of them at once allows, each a full handshake (no
// resumption), one small request, and close, for a bounded time, and
// prints one line of JSON (load.FloodReport) about its measured window.
// fjord-bench runs it beside the generator that measures established
// sessions' latency (https-flood-latency), at a lower priority (-nice),
// so that on the load side's shared CPUs the latency generator and the
// web nodes are served first.
package main

import (
	"context"
	"encoding/json"
	"encoding/pem"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/fjordlb/fjord/bench/certs"
	"github.com/fjordlb/fjord/bench/load"
	"golang.org/x/sys/unix"
)

func main() {
	addrs := flag.String("addr", "", "the proxy's `address`, or a comma-separated list (loopback only)")
	conns := flag.Int("conns", 8, "handshakes in flight at once (1 to 1000)")
	warmup := flag.Duration("warmup", 0, "time before the window counted")
	duration := flag.Duration("duration", 5*time.Second, "the window counted; the flood then stops")
	pinFile := flag.String("pin", "", "PEM `file` of the certificate the proxy must present (default: any)")
	serverName := flag.String("server-name", certs.ServerName, "SNI")
	path := flag.String("path", "/body", "the request's path")
	respSize := flag.Int("resp-size", -1, "the response body's size (-1: any)")
	nice := flag.Int("nice", 0, "lower this process's priority by this much (0 to 19) before starting")
	flag.Parse()
	err := run(load.FloodConfig{Conns: *conns, Warmup: *warmup, Duration: *duration, Path: *path, RespSize: *respSize}, *addrs, *pinFile, *serverName, *nice)
	if err != nil {
		fmt.Fprintln(os.Stderr, "tlsflood:", err)
		os.Exit(1)
	}
}

func run(cfg load.FloodConfig, addrs, pinFile, serverName string, nice int) error {
	if addrs == "" {
		return fmt.Errorf("-addr is required")
	}
	cfg.Addrs = strings.Split(addrs, ",")
	var pin []byte
	if pinFile != "" {
		data, err := os.ReadFile(pinFile)
		if err != nil {
			return err
		}
		b, _ := pem.Decode(data)
		if b == nil || b.Type != "CERTIFICATE" {
			return fmt.Errorf("-pin %s: no PEM certificate", pinFile)
		}
		pin = b.Bytes
	}
	cfg.TLS = load.ClientTLS(pin, serverName)
	if err := reniceSelf(nice); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	r, err := load.Flood(ctx, cfg)
	if err != nil {
		return err
	}
	return json.NewEncoder(os.Stdout).Encode(r)
}

// reniceSelf lowers the priority of every thread the process has (nice is
// per thread on Linux); threads the runtime starts later inherit it from
// the thread that starts them.
func reniceSelf(n int) error {
	if n < 0 || n > 19 {
		return fmt.Errorf("-nice %d: want 0 to 19", n)
	}
	if n == 0 {
		return nil
	}
	ents, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return err
	}
	for _, e := range ents {
		tid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if err := unix.Setpriority(unix.PRIO_PROCESS, tid, n); err != nil && err != unix.ESRCH {
			return fmt.Errorf("nice %d for thread %d: %w", n, tid, err)
		}
	}
	return nil
}
