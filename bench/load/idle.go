package load

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"
)

// Idle is a set of open, idle keep-alive connections.
type Idle struct {
	conns []net.Conn
	// Failed counts connections that could not be opened or whose first
	// request failed; FirstError is one of those errors.
	Failed     int
	FirstError error
}

// Held is the number of connections open.
func (s *Idle) Held() int { return len(s.conns) }

// Close closes every connection.
func (s *Idle) Close() {
	for _, c := range s.conns {
		c.Close()
	}
	s.conns = nil
}

// OpenIdle opens n connections to addrs (round robin), sends one request
// for path on each (so that a proxy in HTTP mode has opened its server
// side too) and leaves them open and idle. It opens parallel connections
// at a time and gives up after maxFailed failures: a proxy out of
// descriptors answers none of the rest.
func OpenIdle(ctx context.Context, addrs []string, n int, path string, parallel, maxFailed int, timeout time.Duration) *Idle {
	if path == "" {
		path = "/body"
	}
	parallel = max(1, parallel)
	var (
		mu     sync.Mutex
		s      = &Idle{conns: make([]net.Conn, 0, n)}
		next   atomic.Int64
		failed atomic.Int64
		wg     sync.WaitGroup
	)
	var req fasthttp.Request
	setRequest(&req, path)
	raw := []byte(req.String())
	for range parallel {
		wg.Go(func() {
			var resp fasthttp.Response
			for {
				i := next.Add(1) - 1
				if i >= int64(n) || failed.Load() >= int64(maxFailed) || ctx.Err() != nil {
					return
				}
				c, err := openOne(addrs[int(i)%len(addrs)], raw, &resp, timeout)
				mu.Lock()
				if err != nil {
					failed.Add(1)
					s.Failed++
					if s.FirstError == nil {
						s.FirstError = err
					}
				} else {
					s.conns = append(s.conns, c)
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return s
}

func openOne(addr string, raw []byte, resp *fasthttp.Response, timeout time.Duration) (net.Conn, error) {
	c, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return nil, err
	}
	_ = c.SetDeadline(time.Now().Add(timeout))
	if _, err := c.Write(raw); err != nil {
		c.Close()
		return nil, err
	}
	resp.Reset()
	// A small buffer: it is dropped once the answer is read, and the
	// connection then holds nothing in this process but its descriptor.
	if err := resp.Read(bufio.NewReaderSize(c, 4096)); err != nil {
		c.Close()
		return nil, fmt.Errorf("first request on an idle connection: %w", err)
	}
	if resp.StatusCode() != fasthttp.StatusOK {
		c.Close()
		return nil, fmt.Errorf("first request on an idle connection: status %d", resp.StatusCode())
	}
	_ = c.SetDeadline(time.Time{})
	return c, nil
}
