package load

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"
)

// BulkConfig moves Total bytes of large responses through Conns
// keep-alive connections.
type BulkConfig struct {
	Addrs []string // connection i goes to Addrs[i%len(Addrs)]
	Conns int
	Path  string // answers ObjectSize bytes; "" is /large
	// ObjectSize is the size of one response body; Total/ObjectSize
	// requests are shared among the connections.
	ObjectSize int64
	Total      int64
	Timeout    time.Duration // for one response; 0 is 60 s
	// TLS, when not nil, speaks TLS over every connection (ClientTLS).
	TLS *tls.Config
}

// BulkResult is what a bulk run measured.
type BulkResult struct {
	Bytes   int64 // response body bytes received
	Elapsed time.Duration
	GenCPU  time.Duration
	// TLS counts the TLS sessions by what they negotiated; nil without
	// TLS.
	TLS map[string]int64
}

// GBPerSec is the throughput in gigabytes (10^9 bytes) per second.
func (r *BulkResult) GBPerSec() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Bytes) / 1e9 / r.Elapsed.Seconds()
}

// Bulk runs the transfer. Bodies are read straight from the socket into a
// 64 KiB buffer and dropped, so that the generator's cost per byte stays
// far below the proxy's; fasthttp writes the requests and parses the
// response heads. Over TLS the generator also opens every record, which
// costs it about as much as the proxy's sealing: the load side saturates
// first, and the proxy's CPU per GB is the figure to read.
// Cancelling ctx ends it at once (the connections are closed).
func Bulk(ctx context.Context, cfg BulkConfig) (*BulkResult, error) {
	if len(cfg.Addrs) == 0 || cfg.Conns < 1 || cfg.ObjectSize < 1 || cfg.Total < cfg.ObjectSize {
		return nil, fmt.Errorf("load: bulk of %d bytes in objects of %d through %d connections: nothing to do", cfg.Total, cfg.ObjectSize, cfg.Conns)
	}
	if cfg.Path == "" {
		cfg.Path = "/large"
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 60 * time.Second
	}
	n := cfg.Total / cfg.ObjectSize
	var next, got atomic.Int64
	var sessions tally
	errs := make([]error, cfg.Conns)
	cpu0 := selfCPU()
	t0 := time.Now()
	var wg sync.WaitGroup
	for i := range cfg.Conns {
		wg.Go(func() {
			errs[i] = bulkConn(ctx, cfg, cfg.Addrs[i%len(cfg.Addrs)], &next, n, &got, &sessions)
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	res := &BulkResult{Bytes: got.Load(), Elapsed: time.Since(t0), GenCPU: selfCPU() - cpu0, TLS: sessions.result()}
	if err := errors.Join(errs...); err != nil {
		return res, err
	}
	return res, nil
}

func bulkConn(ctx context.Context, cfg BulkConfig, addr string, next *atomic.Int64, n int64, got *atomic.Int64, sessions *tally) error {
	c, err := net.DialTimeout("tcp", addr, cfg.Timeout)
	if err != nil {
		return err
	}
	if cfg.TLS != nil {
		if c, err = handshake(c, cfg.TLS, cfg.Timeout, sessions); err != nil {
			return fmt.Errorf("bulk via %s: %w", addr, err)
		}
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	var req fasthttp.Request
	setRequest(&req, cfg.Path)
	br := bufio.NewReaderSize(c, 64<<10)
	bw := bufio.NewWriter(c)
	buf := make([]byte, 64<<10)
	var head fasthttp.ResponseHeader
	for next.Add(1) <= n {
		_ = c.SetDeadline(time.Now().Add(cfg.Timeout))
		err := req.Write(bw)
		if err == nil {
			err = bw.Flush()
		}
		if err != nil {
			return fmt.Errorf("bulk via %s: %w", addr, err)
		}
		head.Reset()
		if err := head.Read(br); err != nil {
			return fmt.Errorf("bulk via %s: response head: %w", addr, err)
		}
		if head.StatusCode() != fasthttp.StatusOK {
			return fmt.Errorf("bulk via %s: status %d", addr, head.StatusCode())
		}
		if cl := int64(head.ContentLength()); cl != cfg.ObjectSize {
			return fmt.Errorf("bulk via %s: Content-Length %d, want %d", addr, cl, cfg.ObjectSize)
		}
		// Not io.Copy to io.Discard: that reads 8 KiB at a time.
		for left := cfg.ObjectSize; left > 0; {
			m, err := br.Read(buf[:min(left, int64(len(buf)))])
			left -= int64(m)
			got.Add(int64(m))
			if err == io.EOF && left > 0 {
				err = io.ErrUnexpectedEOF
			}
			if err != nil && left > 0 {
				return fmt.Errorf("bulk via %s: body: %w", addr, err)
			}
		}
	}
	return nil
}
