package engine

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// BenchmarkHTTP compares fjord's HTTP modes with its tcp mode and with
// HAProxy (when installed: `make bench-deps`), each proxy in its own
// process, rounds alternating, medians reported. The load is 50 keep-alive
// connections doing GET / with a 64-byte answer from a minimal HTTP server.
//
//	go test -run '^$' -bench HTTP -benchtime 1x ./engine/
//
// The HTTP mode issue's targets: http-tunnel costs what tcp costs per
// request within 5%; keep-alive costs no more CPU per request than
// HAProxy's mode http.

const benchModeEnv = "FJORD_BENCH_MODE" // tcp (default), http-tunnel or http

// benchModeLines is the defaults section's mode for the fjord child.
func benchModeLines() string {
	switch os.Getenv(benchModeEnv) {
	case "http-tunnel":
		return "  mode http\n  option http-tunnel\n"
	case "http":
		return "  mode http\n  option http-keep-alive\n"
	}
	return "  mode tcp\n"
}

var benchHTTPResponse = []byte("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 64\r\n\r\n" +
	"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde\n")

var benchHTTPRequest = []byte("GET / HTTP/1.1\r\nHost: bench\r\nUser-Agent: fjord-bench\r\nAccept: */*\r\n\r\n")

// benchHTTPServe answers every bodiless request head with
// benchHTTPResponse, pipelining included. It is deliberately minimal so that
// the backend costs little next to the proxies.
func benchHTTPServe(c *net.TCPConn) {
	buf := make([]byte, 64<<10)
	var out []byte
	pending := 0 // bytes of an incomplete head carried over
	for {
		n, err := c.Read(buf[pending:])
		if err != nil {
			return
		}
		data := buf[:pending+n]
		out = out[:0]
		for {
			i := bytes.Index(data, []byte("\r\n\r\n"))
			if i < 0 {
				break
			}
			out = append(out, benchHTTPResponse...)
			data = data[i+4:]
		}
		pending = copy(buf, data)
		if len(out) > 0 {
			if _, err := c.Write(out); err != nil {
				return
			}
		}
	}
}

// startHAProxy runs haproxy in the foreground on a generated configuration,
// or returns nil when it is not installed.
func startHAProxy(b *testing.B, mode, backend string) *benchProc {
	bin, err := exec.LookPath("haproxy")
	if err != nil {
		return nil
	}
	port := freePort(b)
	modeLines := "  mode http\n  option http-keep-alive\n"
	if mode == "tcp" {
		modeLines = "  mode tcp\n"
	}
	// maxconn stays low: the hard RLIMIT_NOFILE here (20,000) is below what
	// HAProxy wants for 20,000 connections, and the load uses 50.
	cfgText := fmt.Sprintf("global\n  nbthread 2\n  maxconn 4000\n"+
		"defaults\n%s  option splice-auto\n  timeout connect 5s\n  timeout client 10m\n  timeout server 10m\n"+
		"listen bench\n  bind 127.0.0.1:%d\n  server s0 %s\n", modeLines, port, backend)
	path := filepath.Join(b.TempDir(), "haproxy.cfg")
	if err := os.WriteFile(path, []byte(cfgText), 0o644); err != nil {
		b.Fatal(err)
	}
	cmd := exec.Command(bin, "-db", "-f", path)
	p := &benchProc{kind: "haproxy-" + mode, cmd: cmd, addrs: map[string]string{}, errw: &benchTail{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.errw, p.errw
	if err := cmd.Start(); err != nil {
		b.Fatalf("haproxy: %v", err)
	}
	p.pid = cmd.Process.Pid
	go func() {
		cmd.Wait()
		close(p.done)
	}()
	b.Cleanup(p.stop)
	addr := "127.0.0.1:" + strconv.Itoa(port)
	if !waitFor(10*time.Second, func() bool {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
		}
		return err == nil
	}) {
		b.Fatalf("haproxy did not listen on %s:\n%s", addr, p.errw)
	}
	p.addrs["proxy"] = addr
	return p
}

func BenchmarkHTTP(b *testing.B) {
	be := startBenchChild(b, "backend")
	type proxy struct{ name, mode string }
	proxies := []proxy{{"fjord-tcp", "tcp"}, {"fjord-http-tunnel", "http-tunnel"}, {"fjord-http", "http"}}
	haproxy := true
	if _, err := exec.LookPath("haproxy"); err != nil {
		haproxy = false
		b.Log("haproxy: not installed (make bench-deps installs it); its rows are left out")
	} else {
		proxies = append(proxies, proxy{"haproxy-http", "http"})
	}
	res := benchResults{}
	for round := 0; round < benchRounds(); round++ {
		for _, px := range proxies {
			var p *benchProc
			if px.name == "haproxy-http" {
				p = startHAProxy(b, px.mode, be.addrs["http"])
			} else {
				p = startBenchChild(b, "fjord", benchBackendEnv+"="+be.addrs["http"], benchModeEnv+"="+px.mode)
			}
			rps, cpu, err := benchHTTPLoad(p, p.addrs["proxy"], benchKAConns, benchKADuration)
			if err != nil {
				b.Fatalf("%s round %d: %v\n%s", px.name, round, err, p.errw)
			}
			p.stop()
			res.add(px.name, "req/s", rps)
			res.add(px.name, "cpu-us/req", cpu.Seconds()*1e6)
		}
	}
	var sb bytes.Buffer
	fmt.Fprintf(&sb, "medians of %d rounds, alternating\n\n| proxy | req/s | cpu-us/req |\n|---|---:|---:|\n", benchRounds())
	for _, px := range proxies {
		fmt.Fprintf(&sb, "| %s | %.0f | %.2f |\n", px.name, res.median(px.name, "req/s"), res.median(px.name, "cpu-us/req"))
		b.Run(px.name, func(b *testing.B) {
			b.ReportMetric(0, "ns/op")
			b.ReportMetric(res.median(px.name, "req/s"), "req/s")
			b.ReportMetric(res.median(px.name, "cpu-us/req"), "cpu-us/req")
		})
	}
	cpu := func(name string) float64 { return res.median(name, "cpu-us/req") }
	tun := cpu("fjord-http-tunnel") / cpu("fjord-tcp")
	fmt.Fprintf(&sb, "\nhttp-tunnel/tcp cpu per request: %.3f (target within 5%%: %v)\n", tun, tun <= 1.05 && tun >= 0.95)
	if haproxy {
		r := cpu("fjord-http") / cpu("haproxy-http")
		fmt.Fprintf(&sb, "fjord-http/haproxy-http cpu per request: %.3f (target <= 1: %v)\n", r, r <= 1)
	}
	for _, px := range proxies {
		fmt.Fprintf(&sb, "  rounds %-18s cpu-us/req %s\n", px.name, benchFormat(res[px.name]["cpu-us/req"]))
	}
	b.Log(sb.String())
}

// benchHTTPLoad runs keep-alive GETs on conns connections (see
// benchClosedLoop).
func benchHTTPLoad(p *benchProc, addr string, conns int, d time.Duration) (float64, time.Duration, error) {
	return benchClosedLoop(p, addr, conns, d, func(_ int, c net.Conn) func() error {
		br := bufio.NewReaderSize(c, 4096)
		return func() error {
			if _, err := c.Write(benchHTTPRequest); err != nil {
				return err
			}
			return benchReadResponse(br)
		}
	})
}

// benchReadResponse reads one response with a Content-Length body.
func benchReadResponse(br *bufio.Reader) error {
	length := -1
	for {
		line, err := br.ReadSlice('\n')
		if err != nil {
			return err
		}
		if len(line) <= 2 {
			break
		}
		if v, ok := bytes.CutPrefix(bytes.ToLower(line), []byte("content-length:")); ok {
			length, err = strconv.Atoi(string(bytes.TrimSpace(v)))
			if err != nil {
				return err
			}
		}
	}
	if length < 0 {
		return fmt.Errorf("response without Content-Length")
	}
	_, err := br.Discard(length)
	return err
}
