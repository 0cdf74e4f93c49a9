package logging_test

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fjordlb/fjord/config"
	"github.com/fjordlb/fjord/engine"
	"github.com/fjordlb/fjord/logging"
)

// BenchmarkHTTPLog measures the proxy's CPU per keep-alive request with
// httplog off and on, side by side in one run, each fjord in its own
// process (the child re-runs this test binary), rounds alternating,
// medians reported:
//
//	go test -run '^$' -bench HTTPLog -benchtime 1x ./logging/
//
// Modes: off (no log line), udp (httplog to a syslog listener that reads),
// format (a log-format with captures and a unique id header, to it too;
// format-stalled: to the stalled target below, the loop's part alone),
// stalled (httplog to stdout, a pipe nobody reads: the writer blocks for
// good and the queue overflows) and full (httplog to /dev/full: every
// write fails with ENOSPC, a full disk). The last two must cost no more
// than the first: the event loops never wait for a log target.
func BenchmarkHTTPLog(b *testing.B) {
	backend := benchBackend(b)
	syslog, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer syslog.Close()
	var received atomic.Int64
	go func() {
		buf := make([]byte, 4096)
		for {
			if _, _, err := syslog.ReadFrom(buf); err != nil {
				return
			}
			received.Add(1)
		}
	}()
	modes := []struct{ name, log string }{
		{"off", ""},
		{"udp", "  log " + syslog.LocalAddr().String() + " local0\n  option httplog\n"},
		// A log-format reading what the loop must collect for it
		// (addresses, the request counter), captures, and a unique id
		// sent to the server; and the same to the stalled target, where
		// only the loop's part of its cost remains.
		{"format", "  log " + syslog.LocalAddr().String() + " local0\n" + benchFormat},
		{"format-stalled", "  log stdout format raw daemon\n" + benchFormat},
		{"stalled", "  log stdout format raw daemon\n  option httplog\n"},
		{"full", "  log /dev/full\n  option httplog\n"},
	}
	if only := os.Getenv("FJORD_BENCH_MODE"); only != "" {
		for _, m := range modes {
			if m.name == only {
				modes = append(modes[:0:0], m)
			}
		}
	}
	rounds := 3
	if s := os.Getenv("FJORD_BENCH_ROUNDS"); s != "" {
		rounds, _ = strconv.Atoi(s)
	}
	results := map[string][]float64{}
	dropped := map[string]string{}
	for r := 0; r < rounds; r++ {
		for _, m := range modes {
			p := startLogChild(b, benchCfg(m.log, backend))
			us, n, err := benchLoad(p, 20, 2*time.Second)
			if err != nil {
				b.Fatalf("%s: %v\n%s", m.name, err, p.errs.String())
			}
			p.stop()
			results[m.name] = append(results[m.name], us)
			dropped[m.name] = p.dropped()
			b.Logf("round %d %-14s %8.0f req  %6.2f µs CPU/request  %s", r+1, m.name, n, us, dropped[m.name])
		}
	}
	off := median(results["off"])
	b.Logf("%-14s %12s %8s  %s", "mode", "µs/request", "vs off", "log lines dropped (last round)")
	for _, m := range modes {
		v := median(results[m.name])
		b.Logf("%-14s %12.2f %8.3f  %s", m.name, v, v/off, dropped[m.name])
		b.ReportMetric(v, m.name+"-µs/req")
	}
	b.Logf("syslog listener received %d lines", received.Load())
}

const benchFormat = `  log-format "%ci:%cp [%tr] %ft %b/%s %TR/%Tw/%Tc/%Tr/%Ta %ST %B %U %tsc %fi:%fp %si:%sp %bi:%bp %rt %ID %hr %hs %{+Q}r"` + "\n" +
	"  capture request header Host len 32\n  capture request header User-Agent len 64\n  capture response header Content-Type len 32\n" +
	"  unique-id-format %{+X}o\\ %ci:%cp_%fi:%fp_%Ts_%rt:%pid\n  unique-id-header X-Unique-ID\n"

func benchCfg(logLines, backend string) string {
	return "global\n  nbthread 1\n  maxconn 200\ndefaults\n  mode http\n  timeout connect 2s\n  timeout client 30s\n  timeout server 30s\n" +
		"frontend www\n  bind BIND\n" + logLines + "  default_backend app\nbackend app\n  server web1 " + backend + "\n"
}

// TestLogBenchChild is the proxy process of BenchmarkHTTPLog.
func TestLogBenchChild(t *testing.T) {
	text := os.Getenv("FJORD_LOGBENCH_CFG")
	if text == "" {
		t.Skip("only run by BenchmarkHTTPLog")
	}
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close()
	cfg, err := config.Parse("bench.cfg", []byte(strings.Replace(text, "BIND", addr, 1)), config.Options{Resolver: config.NoResolver})
	if err != nil {
		t.Fatal(err)
	}
	lg, err := logging.New(cfg, logging.Options{})
	if err != nil {
		t.Fatal(err)
	}
	eng, err := engine.New(cfg, engine.Options{AccessLog: lg.AccessLog, UniqueID: lg.UniqueID})
	if err != nil {
		t.Fatal(err)
	}
	if err := eng.Start(); err != nil {
		t.Fatal(err)
	}
	if prof := os.Getenv("FJORD_LOGBENCH_PROFILE"); prof != "" {
		f, err := os.Create(prof)
		if err != nil {
			t.Fatal(err)
		}
		pprof.StartCPUProfile(f)
		defer func() { pprof.StopCPUProfile(); f.Close() }()
	}
	fmt.Fprintf(os.Stderr, "READY %s\n", addr)
	io.Copy(io.Discard, os.Stdin) // until the parent closes it
	n, last := lg.WriteErrors()
	fmt.Fprintf(os.Stderr, "DROPPED %d WRITEERRORS %d %s\n", lg.Dropped(), n, last)
	eng.Stop()
	// The stalled writer never returns: do not wait for it.
	if os.Getenv("FJORD_LOGBENCH_PROFILE") != "" {
		pprof.StopCPUProfile()
	}
	os.Exit(0)
}

type logChild struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	addr  string
	errs  *lockedBuf
	done  chan struct{}
}

type lockedBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}
func (l *lockedBuf) String() string { l.mu.Lock(); defer l.mu.Unlock(); return l.b.String() }

func startLogChild(b *testing.B, cfg string) *logChild {
	b.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestLogBenchChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), "FJORD_LOGBENCH_CFG="+cfg)
	// stdout is a pipe nobody reads: the "stalled" target.
	r, w, err := os.Pipe()
	if err != nil {
		b.Fatal(err)
	}
	cmd.Stdout = w
	p := &logChild{cmd: cmd, errs: &lockedBuf{}, done: make(chan struct{})}
	errPipe, _ := cmd.StderrPipe()
	p.stdin, _ = cmd.StdinPipe()
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	w.Close()
	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(errPipe)
		for sc.Scan() {
			line := sc.Text()
			if a, ok := strings.CutPrefix(line, "READY "); ok {
				ready <- a
			}
			fmt.Fprintln(p.errs, line)
		}
		cmd.Wait()
		r.Close()
		close(p.done)
	}()
	select {
	case p.addr = <-ready:
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		b.Fatalf("child not ready within 30 s\n%s", p.errs.String())
	}
	return p
}

func (p *logChild) stop() {
	p.stdin.Close()
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		p.cmd.Process.Kill()
		<-p.done
	}
}

func (p *logChild) dropped() string {
	for _, l := range strings.Split(p.errs.String(), "\n") {
		if strings.HasPrefix(l, "DROPPED ") {
			return l
		}
	}
	return ""
}

// cpu sums the child's threads' run time (/proc/PID/task/*/schedstat).
func (p *logChild) cpu() time.Duration {
	dir := fmt.Sprintf("/proc/%d/task", p.cmd.Process.Pid)
	tasks, _ := os.ReadDir(dir)
	var sum int64
	for _, task := range tasks {
		data, err := os.ReadFile(filepath.Join(dir, task.Name(), "schedstat"))
		if err != nil {
			continue
		}
		if f := strings.Fields(string(data)); len(f) > 0 {
			ns, _ := strconv.ParseInt(f[0], 10, 64)
			sum += ns
		}
	}
	return time.Duration(sum)
}

// benchLoad runs conns keep-alive clients for d and returns the child's
// CPU µs per request and the requests done.
func benchLoad(p *logChild, conns int, d time.Duration) (float64, float64, error) {
	req := []byte("GET /bench HTTP/1.1\r\nHost: bench\r\nUser-Agent: fjord-bench\r\n\r\n")
	var total atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, conns)
	start := p.cpu()
	stop := time.Now().Add(d)
	for i := 0; i < conns; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := net.Dial("tcp", p.addr)
			if err != nil {
				errs <- err
				return
			}
			defer c.Close()
			c.SetDeadline(stop.Add(10 * time.Second))
			br := bufio.NewReader(c)
			for time.Now().Before(stop) {
				if _, err := c.Write(req); err != nil {
					errs <- err
					return
				}
				if err := readResponse(br); err != nil {
					errs <- err
					return
				}
				total.Add(1)
			}
		}()
	}
	wg.Wait()
	used := p.cpu() - start
	select {
	case err := <-errs:
		return 0, 0, err
	default:
	}
	n := float64(total.Load())
	return float64(used.Microseconds()) / n, n, nil
}

// readResponse reads one response of benchResponse's shape.
func readResponse(br *bufio.Reader) error {
	length := -1
	for {
		line, err := br.ReadSlice('\n')
		if err != nil {
			return err
		}
		if len(line) <= 2 {
			break
		}
		// fjord's own pages spell it "Content-length", as HAProxy's do.
		if name, v, ok := bytes.Cut(line, []byte(":")); ok && bytes.EqualFold(name, []byte("Content-Length")) {
			length, _ = strconv.Atoi(string(bytes.TrimSpace(v)))
		}
	}
	if length < 0 {
		return fmt.Errorf("response without Content-Length")
	}
	_, err := br.Discard(length)
	return err
}

var benchResponse = []byte("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 64\r\n\r\n" +
	"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde\n")

// benchBackend answers every request head with benchResponse.
func benchBackend(b *testing.B) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				buf := make([]byte, 16<<10)
				pending := 0
				for {
					n, err := c.Read(buf[pending:])
					if err != nil {
						return
					}
					data := buf[:pending+n]
					var out []byte
					for {
						i := bytes.Index(data, []byte("\r\n\r\n"))
						if i < 0 {
							break
						}
						out = append(out, benchResponse...)
						data = data[i+4:]
					}
					pending = copy(buf, data)
					if _, err := c.Write(out); err != nil {
						return
					}
				}
			}()
		}
	}()
	return ln.Addr().String()
}

func median(v []float64) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	if len(s) == 0 {
		return 0
	}
	return s[len(s)/2]
}
