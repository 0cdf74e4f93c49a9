package engine

// Benchmarks of the engine against bench/iocopy, the io.Copy goroutine proxy
// a Go programmer would write, following DESIGN.md's performance method:
// every proxy runs in a process of its own (this test binary re-executed
// with FJORD_BENCH_CHILD set) so that its CPU time and RSS can be read from
// /proc, both proxies are measured side by side in one run, alternating
// fjord, iocopy, fjord, iocopy, ... and the median of the rounds is
// reported. Only ratios between the proxies mean anything: the machine is
// shared and noisy.
//
//	go test -run '^$' -bench . -benchtime 1x ./engine/
//
// FJORD_BENCH_ROUNDS (default 5) sets the rounds per proxy (bulk runs
// twice as many plus one), FJORD_BENCH_IDLE_CONNS (default 10000) the idle
// connections, FJORD_BENCH_PIPESIZE adds "tune.pipesize" and
// FJORD_BENCH_SCHEDBATCH "tune.sched-batch" to fjord's configuration.
// docs/engine-performance.md has the method and results.

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fjordlb/fjord/bench/iocopy"
	"github.com/fjordlb/fjord/bench/tcpserve"
	"github.com/fjordlb/fjord/config"
	"golang.org/x/sys/unix"
)

const (
	benchChildEnv    = "FJORD_BENCH_CHILD"   // fjord, iocopy or backend
	benchBackendEnv  = "FJORD_BENCH_BACKEND" // where a proxy child forwards
	benchRoundsEnv   = "FJORD_BENCH_ROUNDS"
	benchIdleEnv     = "FJORD_BENCH_IDLE_CONNS"
	benchPipeSizeEnv = "FJORD_BENCH_PIPESIZE"
	// FJORD_BENCH_SCHEDBATCH sets tune.sched-batch (on or off) for fjord.
	benchSchedBatchEnv = "FJORD_BENCH_SCHEDBATCH"
)

// benchProxies are the proxies under test, in the order each round runs them.
var benchProxies = []string{"fjord", "iocopy"}

// Workload sizes.
const (
	benchKAConns    = 50              // keep-alive connections
	benchKADuration = 2 * time.Second // measured window of a keep-alive round
	benchKAMinSize  = 64              // request sizes cycle through 64..128 bytes
	benchKAMaxSize  = 128
	benchBulkConns  = 4
	benchBulkEach   = 256 << 20 // bytes per bulk connection: 1 GiB in all
	benchIdleTarget = 10000
)

// TestBenchChild hosts one process of the benchmarks; without
// FJORD_BENCH_CHILD it does nothing. It prints "LISTEN name addr" lines and
// "READY", then serves until its stdin is closed.
func TestBenchChild(t *testing.T) {
	kind := os.Getenv(benchChildEnv)
	if kind == "" {
		return
	}
	stop := func() {}
	switch kind {
	case "backend":
		echo := benchServe(t, tcpserve.Echo)
		sink := benchServe(t, tcpserve.Sink)
		web := benchServe(t, benchHTTPServe)
		fmt.Printf("LISTEN echo %s\nLISTEN sink %s\nLISTEN http %s\n", echo, sink, web)
	case "iocopy":
		p, err := iocopy.Listen("127.0.0.1:0", os.Getenv(benchBackendEnv))
		if err != nil {
			t.Fatal(err)
		}
		stop = func() { p.Close() }
		fmt.Printf("LISTEN proxy %s\n", p.Addr())
	case "fjord":
		// maxconn above the idle benchmark's connections (the default,
		// 4096, is below).
		maxconn := 20000
		tune := ""
		if v := os.Getenv(benchPipeSizeEnv); v != "" {
			tune = "  tune.pipesize " + v + "\n"
		}
		if v := os.Getenv(benchSchedBatchEnv); v != "" {
			tune += "  tune.sched-batch " + v + "\n"
		}
		// The configuration language wants a real port: take a free one,
		// and another if someone else took it first.
		var e *Engine
		var cfg *config.Config
		for attempt := 0; ; attempt++ {
			text := fmt.Sprintf("global\n  nbthread 2\n  maxconn %d\n%s"+
				"defaults\n%s  timeout connect 5s\n  timeout client 10m\n  timeout server 10m\n"+
				"listen bench\n  bind 127.0.0.1:%d\n  server s0 %s\n", maxconn, tune, benchModeLines(), freePort(t), os.Getenv(benchBackendEnv))
			var err error
			cfg, err = config.Parse("bench.cfg", []byte(text), config.Options{Resolver: config.NoResolver})
			if err != nil {
				t.Fatalf("%v\n%s", err, text)
			}
			e, err = New(cfg, Options{Logger: log.New(os.Stderr, "fjord: ", log.LstdFlags)})
			if err != nil {
				t.Fatal(err)
			}
			err = e.Start()
			if err == nil {
				break
			}
			if attempt == 5 {
				t.Fatal(err)
			}
		}
		stop = e.Stop
		fmt.Printf("LISTEN proxy %s\n", e.Addr(cfg.Frontends()[0].Binds[0]))
	default:
		t.Fatalf("%s=%q: want fjord, iocopy or backend", benchChildEnv, kind)
	}
	fmt.Println("READY")
	io.Copy(io.Discard, os.Stdin)
	stop()
}

// benchServe runs handler for every connection to a new loopback listener
// until the process ends.
func benchServe(t *testing.T, handler func(*net.TCPConn)) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				var ne net.Error
				if errors.As(err, &ne) && ne.Timeout() {
					continue
				}
				if errors.Is(err, net.ErrClosed) {
					return
				}
				time.Sleep(10 * time.Millisecond) // EMFILE: back off
				continue
			}
			go func() {
				defer c.Close()
				handler(c.(*net.TCPConn))
			}()
		}
	}()
	return ln.Addr().String()
}

// benchProc is a child process of the benchmark.
type benchProc struct {
	kind  string
	cmd   *exec.Cmd
	stdin io.WriteCloser
	addrs map[string]string
	pid   int
	errw  *benchTail
	done  chan struct{}
}

// benchTail keeps the last bytes a child wrote to stderr.
type benchTail struct {
	mu  sync.Mutex
	buf []byte
}

func (w *benchTail) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	if n := len(w.buf); n > 8192 {
		w.buf = append(w.buf[:0], w.buf[n-8192:]...)
	}
	return len(p), nil
}

func (w *benchTail) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return string(w.buf)
}

// startBenchChild runs this test binary as a child of the given kind and
// waits until it listens.
func startBenchChild(b *testing.B, kind string, env ...string) *benchProc {
	b.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestBenchChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), benchChildEnv+"="+kind)
	cmd.Env = append(cmd.Env, env...)
	p := &benchProc{kind: kind, cmd: cmd, addrs: map[string]string{}, errw: &benchTail{}, done: make(chan struct{})}
	cmd.Stderr = p.errw
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	p.stdin = stdin
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	p.pid = cmd.Process.Pid
	go func() {
		cmd.Wait()
		close(p.done)
	}()
	b.Cleanup(p.stop)
	ready := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			f := strings.Fields(sc.Text())
			switch {
			case len(f) == 3 && f[0] == "LISTEN":
				p.addrs[f[1]] = f[2]
			case len(f) == 1 && f[0] == "READY":
				ready <- nil
				io.Copy(io.Discard, stdout)
				return
			default: // a failing child reports on stdout
				fmt.Fprintln(p.errw, sc.Text())
			}
		}
		ready <- fmt.Errorf("%s child ended before it was ready", kind)
	}()
	select {
	case err = <-ready:
	case <-time.After(30 * time.Second):
		err = fmt.Errorf("%s child not ready within 30s", kind)
	}
	if err != nil {
		b.Fatalf("%v\n%s", err, p.errw)
	}
	return p
}

// stop closes the child's stdin, which ends it, and kills it if it lingers.
func (p *benchProc) stop() {
	if p.stdin != nil {
		p.stdin.Close()
	} else {
		p.cmd.Process.Signal(unix.SIGTERM) // a foreign proxy (haproxy)
	}
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		p.cmd.Process.Kill()
		<-p.done
	}
}

// cpu is the CPU time the child's threads have used, the sum of the first
// field of /proc/PID/task/*/schedstat (/proc/PID/schedstat alone is the
// main thread's).
func (p *benchProc) cpu() (time.Duration, error) {
	dir := fmt.Sprintf("/proc/%d/task", p.pid)
	tasks, err := os.ReadDir(dir)
	if err != nil {
		return 0, err
	}
	var sum int64
	for _, task := range tasks {
		data, err := os.ReadFile(filepath.Join(dir, task.Name(), "schedstat"))
		if err != nil {
			continue // the thread just exited
		}
		f := strings.Fields(string(data))
		if len(f) == 0 {
			continue
		}
		ns, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("%s: %v", task.Name(), err)
		}
		sum += ns
	}
	return time.Duration(sum), nil
}

// rss is the child's VmRSS in bytes.
func (p *benchProc) rss() (int64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			f := strings.Fields(rest)
			if len(f) < 1 {
				break
			}
			kb, err := strconv.ParseInt(f[0], 10, 64)
			return kb << 10, err
		}
	}
	return 0, errors.New("no VmRSS in /proc/PID/status")
}

// fds is the number of descriptors the child has open.
func (p *benchProc) fds() (int, error) {
	ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", p.pid))
	return len(ents), err
}

// startBenchProxy starts a proxy child of the given kind in front of backend.
func startBenchProxy(b *testing.B, kind, backend string) *benchProc {
	env := []string{benchBackendEnv + "=" + backend}
	return startBenchChild(b, kind, env...)
}

func benchRounds() int {
	if n, err := strconv.Atoi(os.Getenv(benchRoundsEnv)); err == nil && n > 0 {
		return n
	}
	return 5
}

// benchResults holds each proxy's value of each metric, one per round.
type benchResults map[string]map[string][]float64

func (r benchResults) add(proxy, metric string, v float64) {
	if r[proxy] == nil {
		r[proxy] = map[string][]float64{}
	}
	r[proxy][metric] = append(r[proxy][metric], v)
}

func (r benchResults) median(proxy, metric string) float64 {
	vs := slices.Clone(r[proxy][metric])
	if len(vs) == 0 {
		return 0
	}
	slices.Sort(vs)
	if n := len(vs); n%2 == 0 {
		return (vs[n/2-1] + vs[n/2]) / 2
	}
	return vs[len(vs)/2]
}

// benchMetric is one line of a result table.
type benchMetric struct {
	unit   string
	target string // the target for fjord/iocopy, if any
	met    func(ratio float64) bool
}

// report publishes the medians as metrics of one sub-benchmark per proxy,
// and the ratios fjord/iocopy as metrics of a "ratio" sub-benchmark that
// also logs them as a Markdown table with every round's figures.
func (r benchResults) report(b *testing.B, metrics []benchMetric) {
	for _, px := range benchProxies {
		b.Run(px, func(b *testing.B) {
			b.ReportMetric(0, "ns/op") // the figures are per unit of work, not per b.N
			for _, m := range metrics {
				b.ReportMetric(r.median(px, m.unit), m.unit)
			}
		})
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, "medians of %d rounds per proxy, alternating\n\n", len(r["fjord"][metrics[0].unit]))
	sb.WriteString("| metric | fjord | iocopy | fjord/iocopy | target | met |\n|---|---:|---:|---:|---|---|\n")
	for _, m := range metrics {
		f, c := r.median("fjord", m.unit), r.median("iocopy", m.unit)
		met := ""
		if m.met != nil {
			met = "no"
			if m.met(f / c) {
				met = "yes"
			}
		}
		fmt.Fprintf(&sb, "| %s | %.4g | %.4g | %.3f | %s | %s |\n", m.unit, f, c, f/c, m.target, met)
	}
	var rounds strings.Builder
	for _, m := range metrics {
		for _, px := range benchProxies {
			fmt.Fprintf(&rounds, "  %-12s %-7s %s\n", m.unit, px, benchFormat(r[px][m.unit]))
		}
	}
	b.Log("rounds in order:\n" + rounds.String()) // shown with -v
	logged := false
	b.Run("ratio", func(b *testing.B) {
		b.ReportMetric(0, "ns/op")
		for _, m := range metrics {
			b.ReportMetric(r.median("fjord", m.unit)/r.median("iocopy", m.unit), "x-"+m.unit)
		}
		if !logged { // a leaf's log is printed without -v (up to 10 lines)
			logged = true
			b.Log("fjord/iocopy\n" + sb.String())
		}
	})
}

func benchFormat(vs []float64) string {
	s := make([]string, len(vs))
	for i, v := range vs {
		s[i] = strconv.FormatFloat(v, 'g', 4, 64)
	}
	return strings.Join(s, " ")
}

// BenchmarkKeepAlive: 50 connections each doing request/response
// ping-pong of 64..128 bytes through the proxy to an echo server, for a
// fixed time per round. Reports requests/s and proxy CPU per request.
func BenchmarkKeepAlive(b *testing.B) {
	be := startBenchChild(b, "backend")
	res := benchResults{}
	for round := 0; round < benchRounds(); round++ {
		for _, px := range benchProxies {
			p := startBenchProxy(b, px, be.addrs["echo"])
			rps, cpuPerReq, err := benchPingPong(p, p.addrs["proxy"], benchKAConns, benchKADuration)
			if err != nil {
				b.Fatalf("%s round %d: %v\n%s", px, round, err, p.errw)
			}
			p.stop()
			res.add(px, "req/s", rps)
			res.add(px, "cpu-us/req", cpuPerReq.Seconds()*1e6)
		}
	}
	res.report(b, []benchMetric{
		{unit: "req/s", target: ">= 1", met: func(r float64) bool { return r >= 1 }},
		{unit: "cpu-us/req"},
	})
}

// benchPingPong runs the keep-alive echo load against addr: each
// connection sends 64..128 bytes and reads them back, again and again.
func benchPingPong(p *benchProc, addr string, conns int, d time.Duration) (float64, time.Duration, error) {
	return benchClosedLoop(p, addr, conns, d, func(i int, c net.Conn) func() error {
		msg := make([]byte, benchKAMaxSize)
		for j := range msg {
			msg[j] = byte('a' + j%26)
		}
		got := make([]byte, benchKAMaxSize)
		n := i
		return func() error {
			size := benchKAMinSize + n*37%(benchKAMaxSize-benchKAMinSize+1)
			n++
			if _, err := c.Write(msg[:size]); err != nil {
				return err
			}
			_, err := io.ReadFull(c, got[:size])
			return err
		}
	})
}

// benchClosedLoop opens conns connections to addr and runs each one's
// exchange (made by worker) in a loop; after a 300 ms warm-up it measures
// the window [warm-up, warm-up+d]: exchanges per second and p's CPU time
// per exchange.
func benchClosedLoop(p *benchProc, addr string, conns int, d time.Duration, worker func(i int, c net.Conn) func() error) (float64, time.Duration, error) {
	var (
		stop   atomic.Bool
		counts = make([]atomic.Int64, conns)
		wg     sync.WaitGroup
		errMu  sync.Mutex
		first  error
	)
	fail := func(err error) {
		errMu.Lock()
		if first == nil {
			first = err
		}
		errMu.Unlock()
		stop.Store(true)
	}
	cs := make([]net.Conn, 0, conns)
	defer func() {
		for _, c := range cs {
			c.Close()
		}
	}()
	for i := 0; i < conns; i++ {
		c, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			return 0, 0, err
		}
		c.SetDeadline(time.Now().Add(d + 60*time.Second))
		cs = append(cs, c)
	}
	for i, c := range cs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			exchange := worker(i, c)
			for !stop.Load() {
				if err := exchange(); err != nil {
					fail(err)
					return
				}
				counts[i].Add(1)
			}
		}()
	}
	total := func() int64 {
		var n int64
		for i := range counts {
			n += counts[i].Load()
		}
		return n
	}
	time.Sleep(300 * time.Millisecond) // warm-up
	n0, cpu0, t0 := total(), mustCPU(p), time.Now()
	time.Sleep(d)
	n1, cpu1, t1 := total(), mustCPU(p), time.Now()
	stop.Store(true)
	wg.Wait()
	if first != nil {
		return 0, 0, first
	}
	reqs := n1 - n0
	if reqs <= 0 || cpu0 < 0 || cpu1 < 0 {
		return 0, 0, fmt.Errorf("no requests measured (%d) or no CPU figures", reqs)
	}
	return float64(reqs) / t1.Sub(t0).Seconds(), (cpu1 - cpu0) / time.Duration(reqs), nil
}

// mustCPU is p.cpu, or -1 when /proc cannot be read (checked by callers).
func mustCPU(p *benchProc) time.Duration {
	d, err := p.cpu()
	if err != nil {
		return -1
	}
	return d
}

// BenchmarkBulk: 1 GiB through the proxy over 4 connections (256 MiB each,
// client to a sink server that counts and discards). Reports the proxy's
// CPU seconds per GB (10^9 bytes) and the throughput.
func BenchmarkBulk(b *testing.B) {
	be := startBenchChild(b, "backend")
	chunk := make([]byte, 256<<10)
	for i := range chunk {
		chunk[i] = byte(i * 7)
	}
	res := benchResults{}
	// A round takes well under a second, so bulk gets more rounds: its
	// CPU figure is the noisiest.
	for round := 0; round < 2*benchRounds()+1; round++ {
		for _, px := range benchProxies {
			p := startBenchProxy(b, px, be.addrs["sink"])
			cpu0, t0 := mustCPU(p), time.Now()
			err := benchBulk(p.addrs["proxy"], chunk)
			cpu1, t1 := mustCPU(p), time.Now()
			if err != nil {
				b.Fatalf("%s round %d: %v\n%s", px, round, err, p.errw)
			}
			if cpu0 < 0 || cpu1 < 0 {
				b.Fatalf("%s: cannot read /proc/%d/task/*/schedstat", px, p.pid)
			}
			p.stop()
			gb := float64(benchBulkConns*benchBulkEach) / 1e9
			res.add(px, "cpu-s/GB", (cpu1-cpu0).Seconds()/gb)
			res.add(px, "MB/s", gb*1e3/t1.Sub(t0).Seconds())
		}
	}
	res.report(b, []benchMetric{
		{unit: "cpu-s/GB", target: "< 1", met: func(r float64) bool { return r < 1 }},
		{unit: "MB/s"},
	})
}

// benchBulk sends benchBulkEach bytes on each of benchBulkConns connections
// to addr, half-closes, and checks the sink's count.
func benchBulk(addr string, chunk []byte) error {
	errs := make(chan error, benchBulkConns)
	for i := 0; i < benchBulkConns; i++ {
		go func() {
			errs <- func() error {
				c, err := net.DialTimeout("tcp", addr, 5*time.Second)
				if err != nil {
					return err
				}
				defer c.Close()
				c.SetDeadline(time.Now().Add(60 * time.Second))
				for sent := 0; sent < benchBulkEach; {
					n, err := c.Write(chunk[:min(len(chunk), benchBulkEach-sent)])
					sent += n
					if err != nil {
						return err
					}
				}
				c.(*net.TCPConn).CloseWrite()
				ack, err := io.ReadAll(c)
				if err != nil {
					return err
				}
				if got := strings.TrimSpace(string(ack)); got != strconv.Itoa(benchBulkEach) {
					return fmt.Errorf("sink received %q bytes, want %d", got, benchBulkEach)
				}
				return nil
			}()
		}()
	}
	var first error
	for i := 0; i < benchBulkConns; i++ {
		if err := <-errs; err != nil && first == nil {
			first = err
		}
	}
	return first
}

// benchFDsPerConn is what an idle connection costs each proxy in
// descriptors: the two sockets, plus for iocopy the pipe (two descriptors)
// each of its io.Copy goroutines holds while it waits in splice.
var benchFDsPerConn = map[string]int{"fjord": 2, "iocopy": 6}

// BenchmarkIdle: opens up to 10,000 connections through the proxy, each
// doing one small round trip and then staying idle, and reports the growth
// of the proxy's VmRSS per connection. RLIMIT_NOFILE's hard limit may cap
// the count a proxy can hold (it is then reported as "conns").
func BenchmarkIdle(b *testing.B) {
	var rl unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &rl); err != nil {
		b.Skipf("getrlimit: %v", err)
	}
	if rl.Cur < rl.Max {
		rl.Cur = rl.Max
		if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &rl); err != nil {
			b.Logf("raising RLIMIT_NOFILE to %d: %v", rl.Max, err)
			unix.Getrlimit(unix.RLIMIT_NOFILE, &rl)
		}
	}
	target := benchIdleTarget
	if n, err := strconv.Atoi(os.Getenv(benchIdleEnv)); err == nil && n > 0 {
		target = n
	}
	counts := map[string]int{}
	for _, px := range benchProxies {
		// Children inherit the limit; leave room for the runtime,
		// listeners and pooled pipes.
		capN := (int(rl.Cur) - 100) / benchFDsPerConn[px]
		counts[px] = min(target, capN)
		if counts[px] < 1000 {
			b.Skipf("RLIMIT_NOFILE is %d: %s could hold only %d idle connections (%d descriptors each); raise the hard limit (ulimit -Hn) to at least %d",
				rl.Cur, px, capN, benchFDsPerConn[px], target*benchFDsPerConn[px]+100)
		}
		if counts[px] < target {
			b.Logf("RLIMIT_NOFILE hard limit %d: %s holds %d idle connections, not %d (%d descriptors each)",
				rl.Max, px, counts[px], target, benchFDsPerConn[px])
		}
	}
	be := startBenchChild(b, "backend")
	res := benchResults{}
	for round := 0; round < benchRounds(); round++ {
		for _, px := range benchProxies {
			p := startBenchProxy(b, px, be.addrs["echo"])
			n := counts[px]
			perConn, fdsPerConn, err := benchIdle(p, n)
			if err != nil {
				b.Fatalf("%s round %d: %v\n%s", px, round, err, p.errw)
			}
			p.stop()
			res.add(px, "rss-B/conn", perConn)
			res.add(px, "fds/conn", fdsPerConn)
			res.add(px, "conns", float64(n))
		}
	}
	res.report(b, []benchMetric{
		{unit: "rss-B/conn", target: "<= 0.5", met: func(r float64) bool { return r <= 0.5 }},
		{unit: "fds/conn"},
		{unit: "conns"},
	})
}

// benchIdle opens n connections through p's proxy, each doing one 100-byte
// round trip, lets them settle, and returns the growth of p's VmRSS and of
// its descriptors per connection.
func benchIdle(p *benchProc, n int) (float64, float64, error) {
	addr := p.addrs["proxy"]
	// One connection first, so that the baseline includes what any
	// traffic allocates once.
	if c, err := net.DialTimeout("tcp", addr, 5*time.Second); err == nil {
		benchEcho(c)
		c.Close()
	}
	time.Sleep(200 * time.Millisecond)
	rss0, err := p.rss()
	if err != nil {
		return 0, 0, err
	}
	fds0, err := p.fds()
	if err != nil {
		return 0, 0, err
	}
	conns := make([]net.Conn, n)
	defer func() {
		for _, c := range conns {
			if c != nil {
				c.Close()
			}
		}
	}()
	const workers = 32 // bounded so that the SYN and accept backlogs never overflow
	var next atomic.Int64
	errs := make(chan error, workers)
	for w := 0; w < workers; w++ {
		go func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					errs <- nil
					return
				}
				c, err := net.DialTimeout("tcp", addr, 10*time.Second)
				if err != nil {
					errs <- fmt.Errorf("connection %d: %w", i, err)
					return
				}
				conns[i] = c
				if err := benchEcho(c); err != nil {
					errs <- fmt.Errorf("connection %d: %w", i, err)
					return
				}
			}
		}()
	}
	for w := 0; w < workers; w++ {
		if err := <-errs; err != nil {
			return 0, 0, err
		}
	}
	time.Sleep(time.Second) // let the proxy settle: nothing moves now
	rss1, err := p.rss()
	if err != nil {
		return 0, 0, err
	}
	fds1, err := p.fds()
	if err != nil {
		return 0, 0, err
	}
	return float64(rss1-rss0) / float64(n), float64(fds1-fds0) / float64(n), nil
}

// benchEcho does one 100-byte round trip on c.
func benchEcho(c net.Conn) error {
	c.SetDeadline(time.Now().Add(10 * time.Second))
	defer c.SetDeadline(time.Time{})
	msg := bytes.Repeat([]byte("i"), 100)
	if _, err := c.Write(msg); err != nil {
		return err
	}
	got := make([]byte, len(msg))
	if _, err := io.ReadFull(c, got); err != nil {
		return err
	}
	if !bytes.Equal(got, msg) {
		return errors.New("echo differs")
	}
	return nil
}
