package load

import (
	"context"
	"crypto/tls"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fjordlb/fjord/bench/certs"
	"github.com/valyala/fasthttp"
)

// tlsServer is a crypto/tls server on loopback answering /large with
// large bytes and anything else with 10 bytes. It counts the handshakes
// it completed and the sessions that were resumptions; its session
// tickets are on, so that a client that tried to resume would.
type tlsServer struct {
	addr              string
	der               []byte
	handshakes, resum atomic.Int64
}

func serveTLS(t *testing.T, large int) *tlsServer {
	t.Helper()
	certPEM, keyPEM, der, err := certs.Generate(certs.ECDSA)
	if err != nil {
		t.Fatal(err)
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	s := &tlsServer{der: der}
	cfg := &tls.Config{
		Certificates: []tls.Certificate{pair},
		NextProtos:   []string{"http/1.1"},
		VerifyConnection: func(cs tls.ConnectionState) error {
			s.handshakes.Add(1)
			if cs.DidResume {
				s.resum.Add(1)
			}
			return nil
		},
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	obj := make([]byte, large)
	srv := &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) {
		if string(ctx.Path()) == "/large" {
			ctx.Response.SetBodyRaw(obj)
			return
		}
		ctx.SetBodyString("0123456789")
	}}
	go srv.Serve(tls.NewListener(ln, cfg)) //nolint:errcheck
	t.Cleanup(func() { srv.Shutdown() })
	s.addr = ln.Addr().String()
	return s
}

// okTLS says whether a session negotiated what the client asks for: TLS
// 1.3, X25519, http/1.1. The suite is the server's choice among TLS 1.3's
// (Go's picks AES-128-GCM on a CPU with AES instructions; the proxies are
// told to).
func okTLS(s string) bool {
	return strings.HasPrefix(s, "TLS 1.3, TLS_") && strings.HasSuffix(s, ", X25519, ALPN http/1.1")
}

// TestTLSKeepAlive: keep-alive over TLS is one full handshake per
// connection, then every request on it, closed loop and open loop.
func TestTLSKeepAlive(t *testing.T) {
	s := serveTLS(t, 0)
	for _, rate := range []float64{0, 500} {
		s.handshakes.Store(0)
		res, err := Run(context.Background(), Config{
			Addrs: []string{s.addr}, Conns: 3, Rate: rate, Duration: 300 * time.Millisecond,
			KeepAlive: true, RespSize: 10, TLS: ClientTLS(s.der, certs.ServerName),
		})
		if err != nil {
			t.Fatal(err)
		}
		if res.Requests == 0 || res.Errors != 0 {
			t.Fatalf("rate %g: %d answered, %d failed (%v)", rate, res.Requests, res.Errors, res.FirstError)
		}
		if n := s.handshakes.Load(); n != 3 {
			t.Errorf("rate %g: the server completed %d handshakes for 3 keep-alive connections", rate, n)
		}
		if len(res.TLS) != 1 {
			t.Errorf("rate %g: negotiated %v", rate, res.TLS)
		}
		for k, n := range res.TLS {
			if !okTLS(k) || n != 3 {
				t.Errorf("rate %g: negotiated %q in %d sessions, want 3", rate, k, n)
			}
		}
	}
}

// TestTLSHandshakePerRequest: without keep-alive, every request is a new
// connection and a full handshake: the client never resumes, though the
// server offers tickets.
func TestTLSHandshakePerRequest(t *testing.T) {
	s := serveTLS(t, 0)
	res, err := Run(context.Background(), Config{
		Addrs: []string{s.addr}, Conns: 2, Duration: 300 * time.Millisecond,
		KeepAlive: false, RespSize: 10, TLS: ClientTLS(s.der, certs.ServerName),
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Requests < 2 || res.Errors != 0 {
		t.Fatalf("%d answered, %d failed (%v)", res.Requests, res.Errors, res.FirstError)
	}
	var sessions int64
	for k, n := range res.TLS {
		sessions += n
		if !okTLS(k) {
			t.Errorf("negotiated %q", k)
		}
	}
	if sessions < res.Requests || s.handshakes.Load() < res.Requests {
		t.Errorf("%d requests, %d sessions, %d handshakes at the server: want one each per request", res.Requests, sessions, s.handshakes.Load())
	}
	if n := s.resum.Load(); n != 0 {
		t.Errorf("%d sessions were resumed; want full handshakes only", n)
	}
}

// TestTLSPin: a server that presents another certificate than the pinned
// one is refused, each request an error saying why.
func TestTLSPin(t *testing.T) {
	s := serveTLS(t, 0)
	_, _, other, err := certs.Generate(certs.ECDSA)
	if err != nil {
		t.Fatal(err)
	}
	res, err := Run(context.Background(), Config{
		Addrs: []string{s.addr}, Conns: 1, Rate: 50, Duration: 100 * time.Millisecond,
		KeepAlive: true, RespSize: 10, TLS: ClientTLS(other, certs.ServerName),
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Requests != 0 || res.Errors != 5 || res.FirstError == nil || !strings.Contains(res.FirstError.Error(), "another certificate") {
		t.Errorf("answered %d, failed %d (%v); want all 5 refused for the certificate", res.Requests, res.Errors, res.FirstError)
	}
}

func TestTLSBulk(t *testing.T) {
	s := serveTLS(t, 1<<20)
	res, err := Bulk(context.Background(), BulkConfig{
		Addrs: []string{s.addr}, Conns: 2, ObjectSize: 1 << 20, Total: 6 << 20, Timeout: 10 * time.Second,
		TLS: ClientTLS(s.der, certs.ServerName),
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Bytes != 6<<20 {
		t.Errorf("received %d bytes, want %d", res.Bytes, 6<<20)
	}
	for k, n := range res.TLS {
		if !okTLS(k) || n != 2 {
			t.Errorf("negotiated %q in %d sessions, want 2", k, n)
		}
	}
}

func TestNegotiatedText(t *testing.T) {
	got := NegotiatedText(map[string]int64{"b": 1, "a": 1, "c": 5})
	if got != "c (5 sessions); a (1 session); b (1 session)" {
		t.Errorf("got %q", got)
	}
	if NegotiatedText(nil) != "" {
		t.Error("nil tally")
	}
}

func TestFlood(t *testing.T) {
	s := serveTLS(t, 0)
	r, err := Flood(context.Background(), FloodConfig{
		Addrs: []string{s.addr}, Conns: 2, Warmup: 50 * time.Millisecond, Duration: 200 * time.Millisecond,
		TLS: ClientTLS(s.der, certs.ServerName), RespSize: 10,
	})
	if err != nil {
		t.Fatal(err)
	}
	if r.Handshakes < 2 || r.Errors != 0 || r.PerSec <= 0 || r.FirstError != "" {
		t.Errorf("flood %+v", r)
	}
	if s.resum.Load() != 0 || s.handshakes.Load() < r.Handshakes {
		t.Errorf("%d handshakes at the server, %d resumed, for %d in the window", s.handshakes.Load(), s.resum.Load(), r.Handshakes)
	}
	for _, c := range []FloodConfig{
		{Addrs: []string{s.addr}, Conns: 2, Duration: time.Second},                                    // no TLS
		{Addrs: []string{"192.0.2.1:443"}, Conns: 2, Duration: time.Second, TLS: ClientTLS(nil, "x")}, // not loopback
		{Addrs: []string{"localhost:443"}, Conns: 2, Duration: time.Second, TLS: ClientTLS(nil, "x")}, // not an address
		{Addrs: []string{s.addr}, Conns: 0, Duration: time.Second, TLS: ClientTLS(nil, "x")},
		{Addrs: []string{s.addr}, Conns: 2, Duration: 2 * time.Hour, TLS: ClientTLS(nil, "x")},
	} {
		if _, err := Flood(context.Background(), c); err == nil {
			t.Errorf("%+v: no error", c)
		}
	}
}

func TestFloodLine(t *testing.T) {
	line, ok := FloodLine("starting\n{\"handshakes\":3}\n\n")
	if !ok || line != `{"handshakes":3}` {
		t.Errorf("got %q %v", line, ok)
	}
	if _, ok := FloodLine("tlsflood: -addr is required\n"); ok {
		t.Error("found a report in an error")
	}
}

// TestProbeResumption: Go's server sends a ticket after a full handshake
// and resumes with it; with tickets disabled, neither.
func TestProbeResumption(t *testing.T) {
	for _, off := range []bool{false, true} {
		certPEM, keyPEM, der, err := certs.Generate(certs.ECDSA)
		if err != nil {
			t.Fatal(err)
		}
		pair, _ := tls.X509KeyPair(certPEM, keyPEM)
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		srv := &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) { ctx.SetBodyString("ok") }}
		go srv.Serve(tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{pair}, SessionTicketsDisabled: off})) //nolint:errcheck
		r, err := ProbeResumption(ln.Addr().String(), "/", ClientTLS(der, certs.ServerName), 5*time.Second)
		srv.Shutdown()
		if err != nil {
			t.Fatal(err)
		}
		if (r.Tickets > 0) == off || r.Resumed == off || !strings.HasPrefix(r.Negotiated, "TLS 1.3") {
			t.Errorf("tickets disabled %v: %+v", off, r)
		}
	}
}
