package load

import (
	"context"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

// serve runs a fasthttp server on loopback answering a 10-byte body, after
// calling hook (when not nil) for every request.
func serve(t *testing.T, hook func(n int64)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var n atomic.Int64
	srv := &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) {
		if hook != nil {
			hook(n.Add(1))
		}
		ctx.SetBodyString("0123456789")
	}}
	go srv.Serve(ln) //nolint:errcheck
	t.Cleanup(func() { srv.Shutdown() })
	return ln.Addr().String()
}

// TestOpenLoopKeepsRateThroughStall stalls every connection of the server
// for 300 ms after its 100th request. An open-loop generator must still
// send every request the schedule holds (a closed loop would send ~300
// fewer), and the stall must show in the tail: a request due at the start
// of the stall cannot be answered before the stall ends, and is charged
// from the time it was due.
func TestOpenLoopKeepsRateThroughStall(t *testing.T) {
	const stall = 300 * time.Millisecond
	var (
		once  sync.Once
		until atomic.Int64
	)
	addr := serve(t, func(n int64) {
		if n == 100 {
			once.Do(func() { until.Store(time.Now().Add(stall).UnixNano()) })
		}
		if d := time.Until(time.Unix(0, until.Load())); d > 0 {
			time.Sleep(d)
		}
	})
	res, err := Run(context.Background(), Config{
		Addrs: []string{addr}, Conns: 8, Rate: 1000, Duration: 1500 * time.Millisecond,
		KeepAlive: true, RespSize: 10,
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Due != 1500 {
		t.Errorf("due %d requests in 1.5 s at 1000/s, want 1500", res.Due)
	}
	if res.Requests+res.Errors != res.Due || res.Errors != 0 {
		t.Errorf("answered %d, failed %d (%v) of %d due: the open loop must send every request it scheduled",
			res.Requests, res.Errors, res.FirstError, res.Due)
	}
	if got := res.Hist.TotalCount(); got != res.Requests {
		t.Errorf("histogram holds %d latencies, want one per answered request (%d)", got, res.Requests)
	}
	// The requests due in the stall's first half (about 150 of 1500, 10%)
	// each waited at least half the stall: p99 is among them, and the
	// largest waited nearly the whole stall.
	if p99 := time.Duration(res.Hist.ValueAtQuantile(99)) * time.Microsecond; p99 < stall/2 {
		t.Errorf("p99 %v: the %v stall does not show in the tail", p99, stall)
	}
	if mx := time.Duration(res.Hist.Max()) * time.Microsecond; mx < stall*9/10 {
		t.Errorf("max %v, want at least %v (a request due when the stall began waited for all of it)", mx, stall*9/10)
	}
	// The server stalled, not the generator: however busy the machine,
	// the pacer handed no request out a whole stall late.
	if res.PacerLate <= 0 || res.PacerLate >= stall {
		t.Errorf("the pacer was %v late at most; want more than 0 (a sleep never wakes early) and less than the server's %v stall", res.PacerLate, stall)
	}
}

func TestLateness(t *testing.T) {
	for _, tt := range []struct {
		name string
		from int64
		obs  []time.Duration // slot i is late by obs[i]
		want time.Duration
	}{
		{"the largest", 0, []time.Duration{50, 3000, 70}, 3000},
		{"the warm-up's slots do not count", 2, []time.Duration{9000, 8000, 60, 80}, 80},
		{"none in the window", 5, []time.Duration{9000}, 0},
		{"early is not late", 0, []time.Duration{-40, -10}, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			l := lateness{from: tt.from}
			for i, d := range tt.obs {
				l.observe(int64(i), d)
			}
			if l.max != tt.want {
				t.Errorf("max %v, want %v", l.max, tt.want)
			}
		})
	}
}

func TestWarmupIsNotRecorded(t *testing.T) {
	addr := serve(t, nil)
	var done, atMeasure atomic.Int64
	res, err := Run(context.Background(), Config{
		Addrs: []string{addr}, Conns: 4, Rate: 400, Warmup: 500 * time.Millisecond, Duration: time.Second,
		KeepAlive: true, RespSize: 10, Done: &done,
		Measuring: func() { atMeasure.Add(1) },
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Due != 400 {
		t.Errorf("due %d in the measured second at 400/s, want 400", res.Due)
	}
	if res.Requests != 400 || res.Hist.TotalCount() != 400 {
		t.Errorf("recorded %d (histogram %d), want the 400 due after the warm-up", res.Requests, res.Hist.TotalCount())
	}
	if done.Load() != 600 {
		t.Errorf("progress counter %d, want 600 (warm-up included)", done.Load())
	}
	if n := atMeasure.Load(); n != 1 {
		t.Errorf("Measuring was called %d times, want once", n)
	}
	if res.Elapsed < time.Second {
		t.Errorf("elapsed %v, want the whole measured second", res.Elapsed)
	}
}

func TestClosedLoopAndConnectionPerRequest(t *testing.T) {
	var conns atomic.Int64
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &fasthttp.Server{
		Handler: func(ctx *fasthttp.RequestCtx) { ctx.SetBodyString("0123456789") },
		ConnState: func(_ net.Conn, s fasthttp.ConnState) {
			if s == fasthttp.StateNew {
				conns.Add(1)
			}
		},
	}
	go srv.Serve(ln) //nolint:errcheck
	defer srv.Shutdown()
	for _, keep := range []bool{true, false} {
		conns.Store(0)
		res, err := Run(context.Background(), Config{Addrs: []string{ln.Addr().String()}, Conns: 3, Duration: 300 * time.Millisecond, KeepAlive: keep, RespSize: 10})
		if err != nil {
			t.Fatal(err)
		}
		if res.Requests == 0 || res.Errors != 0 {
			t.Fatalf("keep-alive %v: %d answered, %d failed (%v)", keep, res.Requests, res.Errors, res.FirstError)
		}
		if keep && conns.Load() != 3 {
			t.Errorf("keep-alive: %d connections for %d requests, want 3", conns.Load(), res.Requests)
		}
		if !keep && conns.Load() < res.Requests {
			t.Errorf("connection per request: %d connections for %d requests", conns.Load(), res.Requests)
		}
	}
}

func TestWrongBodySizeIsAnError(t *testing.T) {
	addr := serve(t, nil)
	res, err := Run(context.Background(), Config{Addrs: []string{addr}, Conns: 1, Rate: 100, Duration: 100 * time.Millisecond, KeepAlive: true, RespSize: 64})
	if err != nil {
		t.Fatal(err)
	}
	if res.Requests != 0 || res.Errors != 10 || res.FirstError == nil || !strings.Contains(res.FirstError.Error(), "want 64") {
		t.Errorf("answered %d, failed %d (%v); want all 10 failed for their size", res.Requests, res.Errors, res.FirstError)
	}
}

func TestBadConfig(t *testing.T) {
	for _, c := range []Config{
		{Conns: 1, Duration: time.Second},
		{Addrs: []string{"x"}, Duration: time.Second},
		{Addrs: []string{"x"}, Conns: 1},
		{Addrs: []string{"x"}, Conns: 1, Duration: time.Second, Rate: -1},
	} {
		if _, err := Run(context.Background(), c); err == nil {
			t.Errorf("%+v: no error", c)
		}
	}
}

func TestBulkAndIdle(t *testing.T) {
	obj := make([]byte, 1<<20)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) {
		if string(ctx.Path()) == "/large" {
			ctx.Response.SetBodyRaw(obj)
			return
		}
		ctx.SetBodyString("ok")
	}}
	go srv.Serve(ln) //nolint:errcheck
	defer srv.Shutdown()
	addr := ln.Addr().String()

	res, err := Bulk(context.Background(), BulkConfig{Addrs: []string{addr}, Conns: 4, ObjectSize: 1 << 20, Total: 10 << 20, Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if res.Bytes != 10<<20 {
		t.Errorf("bulk received %d bytes, want %d", res.Bytes, 10<<20)
	}
	if _, err := Bulk(context.Background(), BulkConfig{Addrs: []string{addr}, Conns: 1, ObjectSize: 1000, Total: 1000, Timeout: 10 * time.Second}); err == nil {
		t.Error("bulk with the wrong object size: no error")
	}

	idle := OpenIdle(context.Background(), []string{addr}, 50, "/", 4, 5, 5*time.Second)
	defer idle.Close()
	if idle.Held() != 50 || idle.Failed != 0 {
		t.Errorf("idle: held %d, failed %d (%v), want 50", idle.Held(), idle.Failed, idle.FirstError)
	}
	dead := OpenIdle(context.Background(), []string{"127.0.0.1:1"}, 50, "/", 4, 5, time.Second)
	if dead.Held() != 0 || dead.Failed < 5 || dead.Failed > 8 {
		t.Errorf("idle to a closed port: held %d, failed %d; want to give up after about 5", dead.Held(), dead.Failed)
	}
}
