package engine

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync/atomic"
	"testing"
	"time"
)

// slowEchoServer echoes like plainEchoServer but waits before it starts
// reading, so that a client's bytes pile up in the proxy and every burst
// the proxy splices is larger than one ordinary pipe.
func slowEchoServer(t testing.TB) string {
	return serveTCP(t, func(c net.Conn) {
		time.Sleep(100 * time.Millisecond)
		io.CopyBuffer(struct{ io.Writer }{c}, struct{ io.Reader }{c}, make([]byte, 64<<10))
		c.(*net.TCPConn).CloseWrite()
	})
}

func TestBulkFlowGrowsItsPipe(t *testing.T) {
	e, addr := startEngine(t, tcpConfig(t, "", slowEchoServer(t)))
	if err := roundTrip(t, addr, 16<<20); err != nil {
		t.Fatalf("16 MiB round trip: %v", err)
	}
	waitIdle(t, e)
	if st := e.Stats(); st.PipesGrown == 0 {
		t.Errorf("after a 16 MiB transfer no pipe was grown: %+v", st)
	}
	// The grown pipes went back to the pool, empty, and later bulk flows
	// take them again rather than growing more: a session's two flows
	// hold at most a pipe each, so each of the 2 loops needs at most 2
	// grown pipes, however many sessions come one after another.
	for i := 0; i < 4; i++ {
		if err := roundTrip(t, addr, 16<<20); err != nil {
			t.Fatalf("16 MiB round trip %d: %v", i+2, err)
		}
		waitIdle(t, e)
	}
	if st := e.Stats(); st.PipesGrown > 4 {
		t.Errorf("5 sequential bulk sessions grew %d pipes, want at most 4 (2 per loop): %+v", st.PipesGrown, st)
	}
}

func TestSmallFlowsKeepSmallPipes(t *testing.T) {
	e, addr := startEngine(t, tcpConfig(t, "", plainEchoServer(t)))
	for i := 0; i < 50; i++ {
		if err := roundTrip(t, addr, 40<<10); err != nil {
			t.Fatalf("round trip %d: %v", i, err)
		}
	}
	waitIdle(t, e)
	if st := e.Stats(); st.PipesGrown != 0 {
		t.Errorf("40 KiB round trips grew pipes: %+v", st)
	}
}

func TestExplicitPipeSizeNeverGrows(t *testing.T) {
	cfg := tcpConfig(t, "", slowEchoServer(t))
	cfg = "global\n  tune.pipesize 65536\n" + cfg[len("global\n"):]
	e, addr := startEngine(t, cfg)
	if err := roundTrip(t, addr, 16<<20); err != nil {
		t.Fatalf("16 MiB round trip: %v", err)
	}
	waitIdle(t, e)
	if st := e.Stats(); st.PipesGrown != 0 {
		t.Errorf("tune.pipesize is set, yet pipes grew: %+v", st)
	}
}

func TestPipePoolBoundsGrownPipes(t *testing.T) {
	pp := newPipePool(64<<10, 1<<20, 4, 16<<10)
	pp.bulkMax = 2
	now := time.Now()
	var got []*pipe
	for i := 0; i < 3; i++ {
		p, err := pp.getBulk()
		if err != nil {
			t.Fatal(err)
		}
		pp.grow(p, now)
		got = append(got, p)
	}
	if pp.grown.Load() != 2 {
		t.Fatalf("grew %d pipes, want the bound, 2", pp.grown.Load())
	}
	if got[2].capacity != 64<<10 {
		t.Errorf("third pipe has %d bytes, want it left at 64 KiB", got[2].capacity)
	}
	for _, p := range got {
		pp.put(p)
	}
	if len(pp.bulkFree) != 2 || len(pp.free) != 1 {
		t.Errorf("pooled %d grown and %d ordinary pipes, want 2 and 1", len(pp.bulkFree), len(pp.free))
	}
	if p, _ := pp.getBulk(); !pp.isGrown(p) {
		t.Errorf("getBulk returned an ordinary pipe while grown ones were pooled")
	} else {
		pp.put(p)
	}
	if p, _ := pp.get(); pp.isGrown(p) {
		t.Errorf("get returned a grown pipe")
	} else {
		pp.put(p)
	}
	pp.closeAll()
	if pp.grown.Load() != 0 || pp.pooled.Load() != 0 || pp.inUse.Load() != 0 {
		t.Errorf("after closeAll: grown %d pooled %d in use %d, want 0", pp.grown.Load(), pp.pooled.Load(), pp.inUse.Load())
	}
}

func TestPipePoolRetriesGrowAfterRefusal(t *testing.T) {
	// 1 GiB is above fs.pipe-max-size for anyone without CAP_SYS_RESOURCE;
	// with it the kernel may still refuse for memory. Either way the
	// pool must not ask again before growRetry, nor stop for good.
	pp := newPipePool(64<<10, 1<<30, 4, 16<<10)
	p, err := pp.get()
	if err != nil {
		t.Fatal(err)
	}
	defer pp.discard(p)
	now := time.Now()
	pp.grow(p, now)
	if pp.isGrown(p) {
		t.Skip("the kernel granted a 1 GiB pipe; cannot test a refusal here")
	}
	if !pp.growAfter.After(now) {
		t.Fatalf("after a refusal the pool will ask again at once")
	}
	pp.growAfter = now.Add(-time.Millisecond) // as if growRetry had passed
	pp.bulkSize = 1 << 20
	pp.grow(p, now)
	if !pp.isGrown(p) {
		t.Errorf("the pool did not grow a pipe after growRetry: capacity %d", p.capacity)
	}
}

// A keep-alive connection whose client reads every response gets grown
// pipes for its mid-size responses, not only for its first ones: the
// proof that the client reads counts over the connection's life.
func TestKeepAliveBulkResponsesGrowPipes(t *testing.T) {
	var written atomic.Int64
	srv := serveTCP(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		chunk := make([]byte, 64<<10)
		for {
			req, err := http.ReadRequest(br)
			if err != nil {
				return
			}
			const size = 3 << 20
			fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n", size)
			for left := size; left > 0; left -= len(chunk) {
				n, err := c.Write(chunk)
				written.Add(int64(n))
				if err != nil {
					return
				}
			}
			_ = req
		}
	})
	e, addr := startEngine(t, fmt.Sprintf("defaults\n  mode http\n  timeout connect 2s\n  timeout client 30s\n  timeout server 30s\nlisten px\n  bind 127.0.0.1:%d\n  server s %s\n", freePort(t), srv))
	c := dial(t, addr)
	br := bufio.NewReader(c)
	for i := range 6 {
		c.SetDeadline(time.Now().Add(20 * time.Second))
		fmt.Fprintf(c, "GET /r%d HTTP/1.1\r\nHost: a\r\n\r\n", i)
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		if n, err := io.Copy(io.Discard, resp.Body); err != nil || n != 3<<20 {
			t.Fatalf("response %d: %d bytes, %v", i, n, err)
		}
	}
	if g := e.Stats().PipesGrown; g == 0 {
		t.Errorf("six 3 MiB responses to a reading client grew no pipe")
	}
}
