// Package iocopy is the reference the engine is measured against: a TCP
// proxy written the way a Go programmer would write one, with two goroutines
// per connection calling io.Copy.
//
// Nothing here is tuned. Between two *net.TCPConn, io.Copy already uses
// splice(2) through pipes the Go runtime pools (each goroutine holds one
// pipe for as long as it copies), so this is plain Go at its best, not a
// straw man.
package iocopy

import (
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// Proxy forwards every connection accepted on its listener to one of
// Backends.
type Proxy struct {
	// Backends are used in turn, one per connection (round robin), as a
	// load balancer's servers; Listen's proxy has one.
	Backends []string
	// DialTimeout bounds the connect to a backend; zero means 5 s.
	DialTimeout time.Duration

	ln     net.Listener
	next   atomic.Uint64
	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool
	wg     sync.WaitGroup
}

// Listen starts a proxy on addr (such as "127.0.0.1:0") that forwards each
// connection to the next of backends in turn.
func Listen(addr string, backends ...string) (*Proxy, error) {
	if len(backends) == 0 {
		return nil, errors.New("iocopy: no backend")
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	p := &Proxy{Backends: backends, ln: ln, conns: map[net.Conn]struct{}{}}
	p.wg.Add(1)
	go p.serve()
	return p, nil
}

// backend is the address the next connection goes to.
func (p *Proxy) backend() string {
	return p.Backends[(p.next.Add(1)-1)%uint64(len(p.Backends))]
}

// Addr is the address the proxy listens on.
func (p *Proxy) Addr() net.Addr { return p.ln.Addr() }

// Close stops accepting, closes every connection and waits for the
// goroutines to end.
func (p *Proxy) Close() error {
	p.mu.Lock()
	p.closed = true
	for c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	err := p.ln.Close()
	p.wg.Wait()
	return err
}

func (p *Proxy) serve() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			p.mu.Lock()
			closed := p.closed
			p.mu.Unlock()
			if closed {
				return
			}
			// Out of descriptors or similar: back off and retry,
			// as net/http does.
			time.Sleep(10 * time.Millisecond)
			continue
		}
		p.wg.Add(1)
		go p.handle(c)
	}
}

// track adds c to the set Close closes; false means the proxy is closing.
func (p *Proxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return false
	}
	p.conns[c] = struct{}{}
	return true
}

func (p *Proxy) untrack(c net.Conn) {
	p.mu.Lock()
	delete(p.conns, c)
	p.mu.Unlock()
}

func (p *Proxy) handle(client net.Conn) {
	defer p.wg.Done()
	defer client.Close()
	if !p.track(client) {
		return
	}
	defer p.untrack(client)
	d := p.DialTimeout
	if d == 0 {
		d = 5 * time.Second
	}
	server, err := net.DialTimeout("tcp", p.backend(), d)
	if err != nil {
		return
	}
	defer server.Close()
	if !p.track(server) {
		return
	}
	defer p.untrack(server)

	done := make(chan struct{})
	go func() {
		pipe(server, client)
		close(done)
	}()
	pipe(client, server)
	<-done
}

// pipe copies src to dst until EOF and passes the EOF on as a half-close.
// An error (a reset) closes both connections so that the other direction
// ends too.
func pipe(dst, src net.Conn) {
	_, err := io.Copy(dst, src)
	if err != nil {
		dst.Close()
		src.Close()
		return
	}
	if cw, ok := dst.(interface{ CloseWrite() error }); ok {
		cw.CloseWrite()
	}
}
