// Package load is the benchmark's HTTP load generator, built on fasthttp.
//
// Open loop (Config.Rate > 0): requests are due on a fixed schedule,
// request i at start + i/Rate, whatever the server does. A request's
// latency is measured from the time it was due, not from the time a free
// connection sent it, so a server that stalls is charged for every request
// that waited behind the stall (no coordinated omission: a stalled server
// cannot slow the schedule down and so hide its stall). Closed loop
// (Rate == 0): every connection sends its next request as soon as the last
// one is answered, for the highest throughput.
//
// Latencies go into an HdrHistogram in microseconds. Requests due during
// the warm-up are sent but not recorded.
package load

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
	"github.com/valyala/fasthttp"
	"golang.org/x/sys/unix"
)

// MaxLatency is the largest latency the histograms hold; a larger one is
// recorded as MaxLatency.
const MaxLatency = 60 * time.Second

// Config is one run of the generator.
type Config struct {
	// Addrs are the servers; connection i goes to Addrs[i%len(Addrs)].
	Addrs []string
	// Conns is the number of connections (in close mode: of concurrent
	// requests, each on a connection of its own).
	Conns int
	// Rate is the open loop's rate in requests per second over all
	// connections; 0 runs closed loop.
	Rate float64
	// Warmup is sent and not recorded; Duration is measured after it.
	Warmup, Duration time.Duration
	// KeepAlive reuses connections; false opens one per request
	// (Connection: close).
	KeepAlive bool
	// Path is the request's path; "" is /body.
	Path string
	// ReqSize > 0 sends a POST with a body of that many bytes.
	ReqSize int
	// RespSize >= 0 is the expected response body size: any other size
	// counts as an error. -1 accepts any.
	RespSize int
	// Timeout bounds one request; 0 is 10 s.
	Timeout time.Duration
	// Measuring, when not nil, is called once when the measured window
	// begins (the warm-up has ended), from another goroutine: the harness
	// samples the proxy's CPU there. Run returns after it has returned.
	Measuring func()
	// Done, when not nil, is incremented for every answered request
	// (warm-up included): the progress line reads it.
	Done *atomic.Int64
	// TLS, when not nil, speaks TLS over every connection (see
	// ClientTLS): with KeepAlive false, each request is a new connection
	// and a full handshake.
	TLS *tls.Config
}

// Result is what one run measured.
type Result struct {
	// Hist holds the recorded latencies in microseconds.
	Hist *hdrhistogram.Histogram
	// Requests were answered with 200 and the expected body during the
	// measured window; Errors failed there (status, size, I/O, timeout).
	Requests, Errors int64
	// Due is the open loop's number of requests scheduled in the window.
	Due int64
	// PacerLate is the most the open loop's pacer handed a request of
	// the window out after its due time: the generator's own delay, its
	// thread held off the CPU, as opposed to a server that answers late
	// (then the requests wait for a free connection, not for the pacer).
	PacerLate time.Duration
	// Elapsed is the measured window: from the end of the warm-up to the
	// last recorded answer (open loop: at least Duration).
	Elapsed time.Duration
	// GenCPU is the CPU time this process used during the window.
	GenCPU time.Duration
	// FirstError is an example, for the message when all requests fail.
	FirstError error
	// TLS counts the TLS sessions opened (warm-up included) by what they
	// negotiated (see Negotiated); nil without TLS.
	TLS map[string]int64
}

// ReqPerSec is the measured throughput.
func (r *Result) ReqPerSec() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Requests) / r.Elapsed.Seconds()
}

// NewHistogram is the histogram the generator records into: 1 µs to
// MaxLatency, three significant digits.
func NewHistogram() *hdrhistogram.Histogram {
	return hdrhistogram.New(1, MaxLatency.Microseconds(), 3)
}

func (c *Config) check() error {
	switch {
	case len(c.Addrs) == 0:
		return errors.New("load: no server address")
	case c.Conns < 1:
		return fmt.Errorf("load: %d connections; want at least 1", c.Conns)
	case c.Rate < 0:
		return fmt.Errorf("load: rate %g; want 0 (closed loop) or more", c.Rate)
	case c.Duration <= 0:
		return fmt.Errorf("load: duration %v; want more than 0", c.Duration)
	case c.Warmup < 0:
		return fmt.Errorf("load: warm-up %v is negative", c.Warmup)
	case c.ReqSize < 0:
		return fmt.Errorf("load: request size %d is negative", c.ReqSize)
	}
	return nil
}

// worker is one connection's state. Each has its own histogram, merged at
// the end, so that recording takes no lock.
type worker struct {
	client   *fasthttp.HostClient
	req      *fasthttp.Request
	resp     *fasthttp.Response
	hist     *hdrhistogram.Histogram
	ok, errs int64
	last     time.Time
	firstErr error
}

// Run runs the generator and returns what it measured. It returns an error
// for a bad Config, or ctx's error when ctx ends first (no request is sent
// after that); failed requests are counted in the Result.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	if cfg.Path == "" {
		cfg.Path = "/body"
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 10 * time.Second
	}
	body := make([]byte, cfg.ReqSize)
	for i := range body {
		body[i] = 'x'
	}
	ws := make([]*worker, cfg.Conns)
	var sessions tally
	for i := range ws {
		ws[i] = newWorker(cfg, i, body, &sessions)
	}

	// The first request is due a little after now, so that every worker
	// is running when it is.
	start := time.Now().Add(20 * time.Millisecond)
	measureFrom := start.Add(cfg.Warmup)
	end := measureFrom.Add(cfg.Duration)
	// The generator's CPU is read at the window's start, after Measuring
	// (whose /proc reads are the harness's, not the load's); cpu0 is
	// written before measuring is closed and read after.
	var cpu0 time.Duration
	measuring := make(chan struct{})
	time.AfterFunc(time.Until(measureFrom), func() {
		if cfg.Measuring != nil {
			cfg.Measuring()
		}
		cpu0 = selfCPU()
		close(measuring)
	})

	var wg sync.WaitGroup
	var due int64
	var late lateness // written by the pacer, read after the workers end
	if cfg.Rate > 0 {
		interval := float64(time.Second) / cfg.Rate
		total := int64(float64(cfg.Warmup+cfg.Duration) / interval)
		warm := int64(float64(cfg.Warmup) / interval)
		due = total - warm
		slots := make(chan int64, min(total, 1<<20))
		late.from = warm
		go pace(ctx, slots, total, start, interval, &late)
		for _, w := range ws {
			wg.Go(func() { w.openLoop(ctx, cfg, slots, start, interval, measureFrom, end.Add(cfg.Timeout)) })
		}
	} else {
		for _, w := range ws {
			wg.Go(func() { w.closedLoop(ctx, cfg, start, measureFrom, end) })
		}
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	<-measuring
	cpu1, t1 := selfCPU(), time.Now()

	// The pacer wrote late before it closed slots, and every worker saw
	// slots closed before wg.Wait returned.
	res := &Result{Hist: NewHistogram(), Due: due, PacerLate: late.max, TLS: sessions.result()}
	last := end
	if cfg.Rate == 0 {
		last = measureFrom
	}
	for _, w := range ws {
		res.Hist.Merge(w.hist)
		res.Requests += w.ok
		res.Errors += w.errs
		if w.last.After(last) {
			last = w.last
		}
		if res.FirstError == nil {
			res.FirstError = w.firstErr
		}
		w.client.CloseIdleConnections()
	}
	res.Elapsed = last.Sub(measureFrom)
	// cpu1-cpu0 ran from measureFrom to t1, which can end a little after
	// the last answer: scale it to Elapsed.
	if spent := t1.Sub(measureFrom); spent > 0 && res.Elapsed > 0 {
		res.GenCPU = time.Duration(float64(cpu1-cpu0) * float64(min(res.Elapsed, spent)) / float64(spent))
	}
	return res, nil
}

func newWorker(cfg Config, i int, body []byte, sessions *tally) *worker {
	addr := cfg.Addrs[i%len(cfg.Addrs)]
	c := &fasthttp.HostClient{
		Addr:                     addr,
		MaxConns:                 1,
		ReadTimeout:              cfg.Timeout,
		WriteTimeout:             cfg.Timeout,
		MaxIdleConnDuration:      time.Hour,
		NoDefaultUserAgentHeader: true,
		MaxResponseBodySize:      256 << 20,
		// A failed request is counted, not retried behind our back.
		RetryIfErr: func(*fasthttp.Request, int, error) (bool, bool) { return false, false },
	}
	if !cfg.KeepAlive {
		c.Dial = sourceRotatingDialer(addr, i, cfg.Timeout)
	}
	if cfg.TLS != nil {
		// fasthttp sees a connection that already speaks TLS: the
		// request goes as http:// over it.
		c.Dial = tlsDialer(c.Dial, cfg.TLS, cfg.Timeout, sessions)
	}
	req := fasthttp.AcquireRequest()
	setRequest(req, "http://"+addr+cfg.Path)
	if len(body) > 0 {
		req.Header.SetMethod(fasthttp.MethodPost)
		req.SetBodyRaw(body)
	}
	if !cfg.KeepAlive {
		req.SetConnectionClose()
	}
	return &worker{client: c, req: req, resp: fasthttp.AcquireResponse(), hist: NewHistogram()}
}

// sourceRotatingDialer spreads connection-per-request load over source
// addresses 127.0.0.2-127.0.0.254 when the server is on 127.0.0.1, so that
// closed connections in TIME_WAIT never use up one address's ephemeral
// ports. Every address in 127.0.0.0/8 is loopback.
func sourceRotatingDialer(addr string, i int, timeout time.Duration) fasthttp.DialFunc {
	host, _, err := net.SplitHostPort(addr)
	if err != nil || !strings.HasPrefix(host, "127.") {
		return nil
	}
	var n atomic.Uint32
	n.Store(uint32(i))
	return func(addr string) (net.Conn, error) {
		k := n.Add(1)
		d := net.Dialer{Timeout: timeout, LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, byte(2+k%253))}}
		return d.Dial("tcp", addr)
	}
}

// do sends one request and reports whether it succeeded.
func (w *worker) do(cfg Config) bool {
	w.resp.Reset()
	err := w.client.DoTimeout(w.req, w.resp, cfg.Timeout)
	if err == nil && w.resp.StatusCode() != fasthttp.StatusOK {
		err = fmt.Errorf("status %d", w.resp.StatusCode())
	}
	if err == nil && cfg.RespSize >= 0 && len(w.resp.Body()) != cfg.RespSize {
		err = fmt.Errorf("response body of %d bytes, want %d", len(w.resp.Body()), cfg.RespSize)
	}
	if cfg.Done != nil {
		cfg.Done.Add(1)
	}
	if err != nil && w.firstErr == nil {
		w.firstErr = err
	}
	return err == nil
}

func (w *worker) record(ok bool, lat time.Duration, now time.Time) {
	if !ok {
		w.errs++
		return
	}
	w.ok++
	w.last = now
	us := max(lat.Microseconds(), 1)
	_ = w.hist.RecordValue(min(us, MaxLatency.Microseconds()))
}

// pace hands out the schedule: slot i at start + i*interval. It runs on a
// thread of its own that sleeps with nanosleep(2) and no timer slack,
// because the Go runtime's own timers wake up to a millisecond late when
// the process is otherwise idle (its epoll_wait timeout is in
// milliseconds), and every microsecond the generator sends late is added
// to the latency it records. Slots due while every connection is busy (a
// stalled server) queue up in the channel and go out back to back when a
// connection frees; their latency still counts from their due time. The
// pacer holds a P (GOMAXPROCS) while it sleeps: give the generator one P
// more than it has CPUs. (A runtime.Gosched after each slot, to run the
// woken connection at once, cost more CPU than it saved and made p99 4x
// worse at 45k req/s on one CPU.)
func pace(ctx context.Context, slots chan<- int64, total int64, start time.Time, interval float64, late *lateness) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	defer close(slots)
	_ = unix.Prctl(unix.PR_SET_TIMERSLACK, 1, 0, 0, 0)
	for i := int64(0); i < total; i++ {
		due := start.Add(time.Duration(float64(i) * interval))
		for d := time.Until(due); d > 0; d = time.Until(due) {
			if ctx.Err() != nil {
				return
			}
			// Long waits in slices, so that ctx is seen.
			ts := unix.NsecToTimespec(int64(min(d, 50*time.Millisecond)))
			_ = unix.Nanosleep(&ts, nil)
		}
		late.observe(i, time.Since(due))
		select {
		case slots <- i:
		case <-ctx.Done():
			return
		}
	}
}

// lateness keeps the most the pacer handed a slot out after its due
// time, over the slots from from on (the measured window's).
type lateness struct {
	from int64
	max  time.Duration
}

func (l *lateness) observe(slot int64, late time.Duration) {
	if slot >= l.from && late > l.max {
		l.max = late
	}
}

// openLoop sends each slot it receives and charges its latency from the
// time the slot was due.
//
// A server that stops answering would keep the schedule going for as long
// as its timeouts add up; past giveUp the requests still due are counted
// as failed without being sent.
func (w *worker) openLoop(ctx context.Context, cfg Config, slots <-chan int64, start time.Time, interval float64, measureFrom, giveUp time.Time) {
	for i := range slots {
		if ctx.Err() != nil {
			return
		}
		due := start.Add(time.Duration(float64(i) * interval))
		if time.Now().After(giveUp) {
			if !due.Before(measureFrom) {
				w.errs++
			}
			continue
		}
		ok := w.do(cfg)
		now := time.Now()
		if !due.Before(measureFrom) {
			w.record(ok, now.Sub(due), now)
		}
	}
}

func (w *worker) closedLoop(ctx context.Context, cfg Config, start, measureFrom, end time.Time) {
	if !sleepUntil(ctx, start) {
		return
	}
	for {
		sent := time.Now()
		if !sent.Before(end) || ctx.Err() != nil {
			return
		}
		ok := w.do(cfg)
		now := time.Now()
		if !sent.Before(measureFrom) {
			w.record(ok, now.Sub(sent), now)
		}
	}
}

// sleepUntil waits until t; false means ctx ended first. A plain Sleep
// for the short waits that are nearly all of them: a timer and a select per
// request would cost the generator more than the wait.
func sleepUntil(ctx context.Context, t time.Time) bool {
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err() == nil
	}
	if d < 100*time.Millisecond {
		time.Sleep(d)
		return ctx.Err() == nil
	}
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-tm.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// selfCPU is the CPU time (user and system) this process has used.
func selfCPU() time.Duration {
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// setRequest gives req the target and the head every generator request
// carries.
func setRequest(req *fasthttp.Request, uri string) {
	req.SetRequestURI(uri)
	req.Header.SetHost("bench")
	req.Header.Set("User-Agent", "fjord-bench")
}
