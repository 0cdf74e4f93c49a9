package handshake_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/fjordlb/fjord/tls/handshake"
	"github.com/fjordlb/fjord/tls/record"
	"github.com/fjordlb/fjord/tls/testcert"
)

// aeadSuites12 are the TLS 1.2 suites the record layer carries.
var aeadSuites12 = []uint16{
	tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
}

// rawPair is a connected loopback pair: the far end as a net.Conn, the
// near end as a non-blocking descriptor of the test's own, as the
// engine holds its sockets.
func rawPair(t *testing.T) (fd int, far net.Conn, local, remote net.Addr) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	far, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { far.Close() })
	near, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer near.Close()
	raw, err := near.(*net.TCPConn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var dupErr error
	raw.Control(func(s uintptr) { fd, dupErr = unix.Dup(int(s)) })
	if dupErr != nil {
		t.Fatal(dupErr)
	}
	t.Cleanup(func() { unix.Close(fd) })
	return fd, far, near.LocalAddr(), near.RemoteAddr()
}

// dup is the duplicate a handshake takes over, as the engine gives it.
func dup(t *testing.T, fd int) int {
	t.Helper()
	d, err := unix.Dup(fd)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// serverHandshake starts a server handshake on a duplicate of fd in
// pool, and returns what waits for its outcome.
func serverHandshake(t *testing.T, pool *handshake.Pool, fd int, local, remote net.Addr, srv *handshake.ServerConfig) func() (*handshake.Result, error) {
	t.Helper()
	type outcome struct {
		res *handshake.Result
		err error
	}
	ch := make(chan outcome, 1)
	d := dup(t, fd) // here: t.Fatal belongs to the test's goroutine
	go func() {
		res, err := pool.Server(context.Background(), d, local, remote, srv, time.Now().Add(10*time.Second))
		ch <- outcome{res, err}
	}()
	return func() (*handshake.Result, error) {
		o := <-ch
		return o.res, o.err
	}
}

// session drives a record layer over a non-blocking descriptor, as a
// loop would, with poll(2) standing in for epoll.
type session struct {
	t     *testing.T
	fd    int
	layer *record.Layer
	in    []byte // ciphertext not yet opened
}

func (s *session) wait(events int16) {
	s.t.Helper()
	pfd := []unix.PollFd{{Fd: int32(s.fd), Events: events}}
	for {
		n, err := unix.Poll(pfd, 10_000)
		if err == unix.EINTR {
			continue
		}
		if err != nil || n == 0 {
			s.t.Fatalf("poll: %v (%d ready)", err, n)
		}
		return
	}
}

func (s *session) send(b []byte) {
	s.t.Helper()
	for len(b) > 0 {
		n, err := unix.Write(s.fd, b)
		if err == unix.EAGAIN {
			s.wait(unix.POLLOUT)
			continue
		}
		if err != nil {
			s.t.Fatalf("write: %v", err)
		}
		b = b[n:]
	}
}

// read returns the next application data, or io.EOF at close_notify.
func (s *session) read() ([]byte, error) {
	s.t.Helper()
	for {
		n, data, err := s.layer.Open(s.in)
		if n > 0 {
			out := bytes.Clone(data)
			s.in = s.in[n:]
			if s.layer.Pending() {
				s.send(s.layer.AppendControl(nil))
			}
			if err != nil || len(out) > 0 {
				return out, err
			}
			continue
		}
		if err != nil {
			return nil, err
		}
		buf := make([]byte, 32<<10)
		m, rerr := unix.Read(s.fd, buf)
		switch {
		case rerr == unix.EAGAIN:
			s.wait(unix.POLLIN)
		case rerr != nil:
			return nil, rerr
		case m == 0:
			return nil, io.ErrUnexpectedEOF
		default:
			s.in = append(s.in, buf[:m]...)
		}
	}
}

// echo answers every message until close_notify, then says its own.
func (s *session) echo() error {
	for {
		data, err := s.read()
		if err == io.EOF {
			s.send(s.layer.AppendClose(nil))
			return nil
		}
		if err != nil {
			return err
		}
		s.send(s.layer.Seal(nil, data))
	}
}

func newSession(t *testing.T, fd int, role record.Role, r *handshake.Result) *session {
	t.Helper()
	l, err := record.New(role, r.Keys)
	if err != nil {
		t.Fatal(err)
	}
	r.Wipe()
	return &session{t: t, fd: fd, layer: l}
}

// roundTrips writes messages through c and checks each comes back.
func roundTrips(t *testing.T, c io.ReadWriter, sizes ...int) {
	t.Helper()
	for i, size := range sizes {
		msg := bytes.Repeat([]byte{byte('a' + i)}, size)
		if _, err := c.Write(msg); err != nil {
			t.Fatalf("write %d bytes: %v", size, err)
		}
		got := make([]byte, size)
		if _, err := io.ReadFull(c, got); err != nil {
			t.Fatalf("read %d bytes back: %v", size, err)
		}
		if !bytes.Equal(got, msg) {
			t.Fatalf("message %d came back changed", i)
		}
	}
}

type serverCase struct {
	name     string
	version  uint16
	suite    uint16 // 0: let them choose (crypto/tls lets no one choose a TLS 1.3 suite; openssl_test.go does)
	tickets  bool
	wantSeqs bool // the server's own records under the traffic keys: tickets
}

// A crypto/tls client talks to a session that fjord's record layer
// carries after the hand-over, for every suite and version it takes.
func TestServerHandOver(t *testing.T) {
	cases := []serverCase{
		{name: "TLS1.3/AES-128-GCM", version: tls.VersionTLS13, suite: tls.TLS_AES_128_GCM_SHA256},
		{name: "TLS1.3/tickets", version: tls.VersionTLS13, tickets: true, wantSeqs: true},
		{name: "TLS1.2/AES-128-GCM", version: tls.VersionTLS12, suite: tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256},
		{name: "TLS1.2/AES-256-GCM", version: tls.VersionTLS12, suite: tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384},
		{name: "TLS1.2/ChaCha20", version: tls.VersionTLS12, suite: tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256},
		{name: "TLS1.2/tickets", version: tls.VersionTLS12, suite: tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, tickets: true},
	}
	cert, roots := testcert.SelfSigned(t, "fjord.test")
	pool := handshake.NewPool(1)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := handshake.NewServerConfig(&tls.Config{
				Certificates:           []tls.Certificate{cert},
				MinVersion:             tls.VersionTLS12,
				CipherSuites:           aeadSuites12,
				SessionTicketsDisabled: !tc.tickets,
			})
			cli := &tls.Config{RootCAs: roots, ServerName: "fjord.test", MinVersion: tc.version, MaxVersion: tc.version}
			if tc.tickets {
				// A client that can resume asks for tickets.
				cli.ClientSessionCache = tls.NewLRUClientSessionCache(1)
			}
			if tc.suite != 0 && tc.version == tls.VersionTLS12 {
				cli.CipherSuites = []uint16{tc.suite}
			}
			fd, far, local, remote := rawPair(t)
			wait := serverHandshake(t, pool, fd, local, remote, srv)
			client := tls.Client(far, cli)
			if err := client.Handshake(); err != nil {
				t.Fatalf("client handshake: %v", err)
			}
			res, err := wait()
			if err != nil {
				t.Fatalf("server handshake: %v", err)
			}
			if tc.suite != 0 && res.State.CipherSuite != tc.suite {
				t.Fatalf("negotiated %s", tls.CipherSuiteName(res.State.CipherSuite))
			}
			if got := res.Keys.ServerSeq > 0; got != tc.wantSeqs && tc.version == tls.VersionTLS13 {
				t.Errorf("server sequence %d after the handshake, want tickets: %v", res.Keys.ServerSeq, tc.wantSeqs)
			}
			s := newSession(t, fd, record.Server, res)
			echoed := make(chan error, 1)
			go func() { echoed <- s.echo() }()
			roundTrips(t, client, 1, 100, record.MaxPlaintext, 3*record.MaxPlaintext+7, 200<<10)
			if err := client.CloseWrite(); err != nil {
				t.Fatalf("close_notify: %v", err)
			}
			if err := <-echoed; err != nil {
				t.Fatalf("echo: %v", err)
			}
			if n, err := client.Read(make([]byte, 1)); n != 0 || err != io.EOF {
				t.Fatalf("after the server's close_notify: %d, %v", n, err)
			}
		})
	}
}

// Data a client sends right behind its Finished, in the same segment,
// stays for the record layer: the handshake reads nothing past its own
// records. (A TLS 1.2 client cannot send data before the server's
// Finished, which ends the server's handshake.)
func TestNoReadPastTheHandshake(t *testing.T) {
	cert, roots := testcert.SelfSigned(t, "fjord.test")
	srv := handshake.NewServerConfig(&tls.Config{Certificates: []tls.Certificate{cert}})
	// The client's second flight and its first request reach the
	// server in one write.
	const request = "GET / HTTP/1.1\r\n\r\n"
	fd, res, _ := handshakeWithRequest(t, handshake.NewPool(1), srv, &tls.Config{RootCAs: roots, ServerName: "fjord.test", MinVersion: tls.VersionTLS13}, request)
	s := newSession(t, fd, record.Server, res)
	got, err := s.read()
	if err != nil || string(got) != request {
		t.Fatalf("first request: %q, %v", got, err)
	}
}

// batchConn passes the client's first write (its ClientHello) and holds
// back the others, to send them in one write on release.
type batchConn struct {
	net.Conn
	mu     sync.Mutex
	writes int
	held   []byte
}

func (b *batchConn) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.writes++
	if b.writes > 1 {
		b.held = append(b.held, p...)
		return len(p), nil
	}
	return b.Conn.Write(p)
}

func (b *batchConn) release() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	_, err := b.Conn.Write(b.held)
	return err
}

// Sessions resume with tickets, TLS 1.3 and TLS 1.2 alike, and the
// record layer carries them: for TLS 1.2 with the master secret kept in
// the ticket (crypto/tls logs none for a resumed session), after an
// abbreviated handshake in which the server's Finished comes first.
// Messages of several records go both ways, and a session resumed from
// a ticket got on a resumed session resumes again.
func TestResumption(t *testing.T) {
	cert, roots := testcert.SelfSigned(t, "fjord.test")
	for _, version := range []uint16{tls.VersionTLS13, tls.VersionTLS12} {
		for _, suite := range []uint16{0, tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256} {
			if suite != 0 && version == tls.VersionTLS13 {
				continue // crypto/tls lets no one choose a TLS 1.3 suite
			}
			name := tls.VersionName(version)
			if suite != 0 {
				name += " " + tls.CipherSuiteName(suite)
			}
			t.Run(name, func(t *testing.T) {
				srv := handshake.NewServerConfig(&tls.Config{Certificates: []tls.Certificate{cert}, CipherSuites: aeadSuites12})
				cli := &tls.Config{RootCAs: roots, ServerName: "fjord.test", MinVersion: version, MaxVersion: version,
					ClientSessionCache: tls.NewLRUClientSessionCache(4)}
				if suite != 0 {
					cli.CipherSuites = []uint16{suite}
				}
				pool := handshake.NewPool(1)
				for i, want := range []bool{false, true, true} {
					if got := connect(t, pool, srv, cli, 10, 3*record.MaxPlaintext+7, 200<<10).State.DidResume; got != want {
						t.Fatalf("handshake %d resumed: %v, want %v", i+1, got, want)
					}
				}
			})
		}
	}
}

// In a resumed TLS 1.2 session, the client's Finished is its first
// record under the traffic keys and the server's Finished the
// server's, and data the client sends right behind its Finished stays
// for the record layer.
func TestResumedTLS12Sequences(t *testing.T) {
	cert, roots := testcert.SelfSigned(t, "fjord.test")
	srv := handshake.NewServerConfig(&tls.Config{Certificates: []tls.Certificate{cert}, CipherSuites: aeadSuites12})
	cli := &tls.Config{RootCAs: roots, ServerName: "fjord.test", MaxVersion: tls.VersionTLS12, ClientSessionCache: tls.NewLRUClientSessionCache(1)}
	pool := handshake.NewPool(1)
	connect(t, pool, srv, cli, 10)
	const request = "GET / HTTP/1.1\r\n\r\n"
	fd, res, client := handshakeWithRequest(t, pool, srv, cli, request)
	if !res.State.DidResume || res.Keys.ClientSeq != 1 || res.Keys.ServerSeq != 1 {
		t.Fatalf("resumed %v, sequences client %d server %d after the handshake, want a resumed session and 1, 1",
			res.State.DidResume, res.Keys.ClientSeq, res.Keys.ServerSeq)
	}
	s := newSession(t, fd, record.Server, res)
	got, err := s.read()
	if err != nil || string(got) != request {
		t.Fatalf("first request: %q, %v", got, err)
	}
	s.send(s.layer.Seal(nil, []byte("answer")))
	answer := make([]byte, len("answer"))
	if _, err := io.ReadFull(client, answer); err != nil || string(answer) != "answer" {
		t.Fatalf("the answer: %q, %v", answer, err)
	}
}

// Without tickets (no-tls-tickets), no session resumes: crypto/tls
// keeps no session cache to resume one by its ID.
func TestNoTickets(t *testing.T) {
	cert, roots := testcert.SelfSigned(t, "fjord.test")
	for _, version := range []uint16{tls.VersionTLS13, tls.VersionTLS12} {
		t.Run(tls.VersionName(version), func(t *testing.T) {
			srv := handshake.NewServerConfig(&tls.Config{Certificates: []tls.Certificate{cert}, CipherSuites: aeadSuites12, SessionTicketsDisabled: true})
			cli := &tls.Config{RootCAs: roots, ServerName: "fjord.test", MinVersion: version, MaxVersion: version,
				ClientSessionCache: tls.NewLRUClientSessionCache(4)}
			pool := handshake.NewPool(1)
			for i := range 2 {
				if connect(t, pool, srv, cli, 10).State.DidResume {
					t.Fatalf("handshake %d resumed a session", i+1)
				}
			}
		})
	}
}

// connect runs a handshake of a client with cli against srv, checks
// that both sides agree whether it resumed a session, talks through the
// record layer with messages of sizes (TLS 1.3 tickets reach the
// client with its first read), and closes. It returns the server's
// result, its keys wiped.
func connect(t *testing.T, pool *handshake.Pool, srv *handshake.ServerConfig, cli *tls.Config, sizes ...int) *handshake.Result {
	t.Helper()
	fd, far, local, remote := rawPair(t)
	wait := serverHandshake(t, pool, fd, local, remote, srv)
	client := tls.Client(far, cli)
	if err := client.Handshake(); err != nil {
		t.Fatal(err)
	}
	res, err := wait()
	if err != nil {
		t.Fatal(err)
	}
	resumed := res.State.DidResume
	if client.ConnectionState().DidResume != resumed {
		t.Fatalf("the client resumed: %v, the server: %v", client.ConnectionState().DidResume, resumed)
	}
	s := newSession(t, fd, record.Server, res)
	echoed := make(chan error, 1)
	go func() { echoed <- s.echo() }()
	roundTrips(t, client, sizes...)
	client.CloseWrite()
	if err := <-echoed; err != nil {
		t.Fatal(err)
	}
	return res
}

// 'tune.ssl.lifetime': a session resumes within its lifetime, and not
// past it. A resumed TLS 1.3 session is a new session, whose lifetime
// begins again, as in HAProxy.
func TestLifetime(t *testing.T) {
	cert, roots := testcert.SelfSigned(t, "fjord.test")
	for _, tc := range []struct {
		version uint16
		resumed []bool // at 0, 40, 70, 100 and 165 s, with a lifetime of 60 s
	}{
		{tls.VersionTLS13, []bool{false, true, true, true, false}},
		// A resumed TLS 1.2 session is the same session: its lifetime
		// goes on from its full handshake, as in OpenSSL.
		{tls.VersionTLS12, []bool{false, true, false, true, false}},
	} {
		t.Run(tls.VersionName(tc.version), func(t *testing.T) {
			var offset atomic.Int64 // the server's clock, ahead of the client's
			srv := handshake.NewServerConfig(&tls.Config{
				Certificates: []tls.Certificate{cert}, CipherSuites: aeadSuites12,
				Time: func() time.Time { return time.Now().Add(time.Duration(offset.Load())) },
			}, handshake.Lifetime(time.Minute))
			cli := &tls.Config{RootCAs: roots, ServerName: "fjord.test", MinVersion: tc.version, MaxVersion: tc.version,
				ClientSessionCache: tls.NewLRUClientSessionCache(1)}
			pool := handshake.NewPool(1)
			for i, at := range []time.Duration{0, 40 * time.Second, 70 * time.Second, 100 * time.Second, 165 * time.Second} {
				offset.Store(int64(at))
				if got := connect(t, pool, srv, cli, 10).State.DidResume; got != tc.resumed[i] {
					t.Errorf("at %v: resumed %v, want %v", at, got, tc.resumed[i])
				}
			}
		})
	}
}

// The code VerifyClient gives a certificate it lets pass is the
// session's verification result (ssl_c_verify), kept in its tickets: a
// resumed session, whose certificate is not verified again, has it too,
// as OpenSSL keeps it in its sessions. A client without a certificate
// has 0.
func TestVerifyResult(t *testing.T) {
	cert, roots := testcert.SelfSigned(t, "fjord.test")
	clientCert := testcert.NewCA(t, "Client CA").Issue(t, x509.ExtKeyUsageClientAuth, "client")
	for _, version := range []uint16{tls.VersionTLS13, tls.VersionTLS12} {
		t.Run(tls.VersionName(version), func(t *testing.T) {
			var calls atomic.Int32
			srv := handshake.NewServerConfig(&tls.Config{Certificates: []tls.Certificate{cert}, CipherSuites: aeadSuites12, ClientAuth: tls.RequestClientCert},
				handshake.VerifyClient(func(chain [][]byte) (int, error) {
					if len(chain) != 1 || !bytes.Equal(chain[0], clientCert.Certificate[0]) {
						return 0, errors.New("not the client's chain")
					}
					return 20 + int(calls.Add(1)), nil // 21 for the first
				}))
			pool := handshake.NewPool(1)
			cli := &tls.Config{RootCAs: roots, ServerName: "fjord.test", MinVersion: version, MaxVersion: version,
				Certificates: []tls.Certificate{clientCert}, ClientSessionCache: tls.NewLRUClientSessionCache(1)}
			for i, want := range []bool{false, true, true} {
				res := connect(t, pool, srv, cli, 10)
				if res.State.DidResume != want || res.Verify != 21 || len(res.State.PeerCertificates) != 1 {
					t.Fatalf("handshake %d: resumed %v, verification result %d, %d certificates; want resumed %v, 21, 1",
						i+1, res.State.DidResume, res.Verify, len(res.State.PeerCertificates), want)
				}
			}
			anonymous := &tls.Config{RootCAs: roots, ServerName: "fjord.test", MinVersion: version, MaxVersion: version}
			if res := connect(t, pool, srv, anonymous, 10); res.Verify != 0 || len(res.State.PeerCertificates) != 0 {
				t.Fatalf("without a certificate: verification result %d, %d certificates", res.Verify, len(res.State.PeerCertificates))
			}
		})
	}
}

// fjord as a client: the record layer carries a session with a
// crypto/tls server, which sends tickets after the handshake.
func TestClientHandOver(t *testing.T) {
	cert, roots := testcert.SelfSigned(t, "fjord.test")
	for _, version := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
		t.Run(tls.VersionName(version), func(t *testing.T) {
			fd, far, local, remote := rawPair(t)
			server := tls.Server(far, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: version, MaxVersion: version, CipherSuites: aeadSuites12})
			served := make(chan error, 1)
			go func() {
				_, err := io.Copy(server, server) // echo until close_notify
				if err == nil {
					err = server.CloseWrite()
				}
				served <- err
			}()
			res, err := handshake.NewPool(1).Client(context.Background(), dup(t, fd), local, remote,
				&tls.Config{RootCAs: roots, ServerName: "fjord.test", CipherSuites: aeadSuites12}, time.Now().Add(10*time.Second))
			if err != nil {
				t.Fatal(err)
			}
			s := newSession(t, fd, record.Client, res)
			for _, msg := range []string{"one", strings.Repeat("two", 20000)} {
				s.send(s.layer.Seal(nil, []byte(msg)))
				var got []byte
				for len(got) < len(msg) {
					data, err := s.read()
					if err != nil {
						t.Fatalf("read: %v", err)
					}
					got = append(got, data...)
				}
				if string(got) != msg {
					t.Fatalf("echo of %d bytes came back as %d", len(msg), len(got))
				}
			}
			s.send(s.layer.AppendClose(nil))
			if _, err := s.read(); err != io.EOF {
				t.Fatalf("after close_notify: %v", err)
			}
			if err := <-served; err != nil {
				t.Fatal(err)
			}
		})
	}
}

// fjord as a client resumes TLS 1.3 sessions: the tickets the server
// sends after the handshake reach the record layer, which hands them to
// the handshake's crypto/tls connection (Result.Tickets), which puts
// them in the cache; the next handshake to the same name resumes, and
// its keys are handed over. TLS 1.2 sessions never go in the cache:
// crypto/tls would log no keys when resuming one. A session is resumed
// only for the server name it was made with.
func TestClientResumption(t *testing.T) {
	cert, roots := testcert.SelfSigned(t, "fjord.test", "other.test")
	for _, tc := range []struct {
		version    uint16
		wantResume bool
	}{{tls.VersionTLS13, true}, {tls.VersionTLS12, false}} {
		t.Run(tls.VersionName(tc.version), func(t *testing.T) {
			srvCfg := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tc.version, MaxVersion: tc.version, CipherSuites: aeadSuites12}
			cache := tls.NewLRUClientSessionCache(4)
			pool := handshake.NewPool(1)
			connect := func(name string) (clientResumed, serverResumed bool) {
				t.Helper()
				fd, far, local, remote := rawPair(t)
				server := tls.Server(far, srvCfg)
				served := make(chan error, 1)
				go func() {
					_, err := io.Copy(server, server) // echo until close_notify
					if err == nil {
						err = server.CloseWrite()
					}
					served <- err
				}()
				res, err := pool.Client(context.Background(), dup(t, fd), local, remote,
					&tls.Config{RootCAs: roots, ServerName: name, CipherSuites: aeadSuites12, ClientSessionCache: cache}, time.Now().Add(10*time.Second))
				if err != nil {
					t.Fatal(err)
				}
				if (res.Tickets != nil) != (tc.version == tls.VersionTLS13) {
					t.Fatalf("Result.Tickets set: %v", res.Tickets != nil)
				}
				resumed := res.State.DidResume
				s := newSession(t, fd, record.Client, res)
				if res.Tickets != nil {
					s.layer.SetTicketSink(res.Tickets)
				}
				s.send(s.layer.Seal(nil, []byte("ping")))
				if data, err := s.read(); err != nil || string(data) != "ping" {
					t.Fatalf("echo: %q, %v", data, err)
				}
				s.send(s.layer.AppendClose(nil))
				if _, err := s.read(); err != io.EOF {
					t.Fatalf("after close_notify: %v", err)
				}
				if err := <-served; err != nil {
					t.Fatal(err)
				}
				return resumed, server.ConnectionState().DidResume
			}
			if c, s := connect("fjord.test"); c || s {
				t.Fatalf("the first handshake resumed: client %v, server %v", c, s)
			}
			_, cached := cache.Get("fjord.test")
			if cached != tc.wantResume {
				t.Fatalf("a session in the cache after the first handshake: %v, want %v", cached, tc.wantResume)
			}
			if c, s := connect("fjord.test"); c != tc.wantResume || s != tc.wantResume {
				t.Fatalf("the second handshake resumed: client %v, server %v, want %v", c, s, tc.wantResume)
			}
			if c, s := connect("other.test"); c || s {
				t.Fatalf("a handshake for another name resumed: client %v, server %v", c, s)
			}
		})
	}
}

// KeyUpdate both ways: fjord renews its keys and asks crypto/tls to
// renew its own, and the session goes on.
func TestKeyUpdateWithCryptoTLS(t *testing.T) {
	cert, roots := testcert.SelfSigned(t, "fjord.test")
	srv := handshake.NewServerConfig(&tls.Config{Certificates: []tls.Certificate{cert}})
	fd, far, local, remote := rawPair(t)
	wait := serverHandshake(t, handshake.NewPool(1), fd, local, remote, srv)
	client := tls.Client(far, &tls.Config{RootCAs: roots, ServerName: "fjord.test"})
	if err := client.Handshake(); err != nil {
		t.Fatal(err)
	}
	res, err := wait()
	if err != nil {
		t.Fatal(err)
	}
	s := newSession(t, fd, record.Server, res)
	echoed := make(chan error, 1)
	go func() {
		data, err := s.read()
		if err == nil {
			s.layer.UpdateKeys(true)
			s.send(s.layer.Seal(nil, data))
			err = s.echo()
		}
		echoed <- err
	}()
	roundTrips(t, client, 5, 5000, 5)
	client.CloseWrite()
	if err := <-echoed; err != nil {
		t.Fatal(err)
	}
}

// Whatever is not a TLS handshake fails it, without a hand-over.
func TestHandshakeFailures(t *testing.T) {
	cert, _ := testcert.SelfSigned(t, "fjord.test")
	srv := handshake.NewServerConfig(&tls.Config{Certificates: []tls.Certificate{cert}})
	for _, tc := range []struct {
		name   string
		send   string
		wait   time.Duration
		closed bool
	}{
		{name: "plain HTTP", send: "GET / HTTP/1.1\r\nHost: x\r\n\r\n"},
		{name: "garbage", send: "\x16\x03\x01\x00\x05hello"},
		{name: "truncated and closed", send: "\x16\x03\x01\x02\x00\x01\x00", closed: true},
		{name: "nothing until the deadline", wait: 200 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fd, far, local, remote := rawPair(t)
			far.Write([]byte(tc.send))
			if tc.closed {
				far.(*net.TCPConn).CloseWrite()
			}
			deadline := time.Now().Add(10 * time.Second)
			if tc.wait > 0 {
				deadline = time.Now().Add(tc.wait)
			}
			res, err := handshake.NewPool(1).Server(context.Background(), dup(t, fd), local, remote, srv, deadline)
			if err == nil {
				t.Fatalf("handshake succeeded: %+v", res.State)
			}
			if tc.wait > 0 && !errors.Is(err, os.ErrDeadlineExceeded) {
				t.Errorf("err = %v, want a deadline error", err)
			}
		})
	}
}

// A handshake that waits for its peer holds no CPU token: with one
// token, clients that stall mid-handshake do not hold back another.
func TestWaitingHandshakesLeaveTheCPU(t *testing.T) {
	cert, roots := testcert.SelfSigned(t, "fjord.test")
	srv := handshake.NewServerConfig(&tls.Config{Certificates: []tls.Certificate{cert}})
	pool := handshake.NewPool(1)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	for range 3 {
		fd, far, local, remote := rawPair(t)
		far.Write([]byte{0x16, 0x03, 0x01}) // a record header, cut short
		wg.Add(1)
		go func() {
			defer wg.Done()
			pool.Server(ctx, dup(t, fd), local, remote, srv, time.Now().Add(time.Minute))
		}()
	}
	fd, far, local, remote := rawPair(t)
	done := make(chan error, 1)
	go func() {
		_, err := pool.Server(context.Background(), dup(t, fd), local, remote, srv, time.Now().Add(time.Minute))
		done <- err
	}()
	client := tls.Client(far, &tls.Config{RootCAs: roots, ServerName: "fjord.test"})
	if err := client.Handshake(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	cancel()
	wg.Wait()
}

// A client whose ALPN list shares no protocol with the bind's gets a
// session without ALPN, as from HAProxy's OpenSSL, not crypto/tls's
// no_application_protocol alert.
func TestALPNWithoutACommonProtocol(t *testing.T) {
	cert, roots := testcert.SelfSigned(t, "fjord.test")
	for _, tc := range []struct {
		name           string
		server, client []string
		want           string
	}{
		{"a common protocol is chosen", []string{"http/1.1"}, []string{"h2", "http/1.1"}, "http/1.1"},
		{"none in common: no ALPN", []string{"http/1.1"}, []string{"h2"}, ""},
		{"an unknown protocol: no ALPN", []string{"http/1.1"}, []string{"foo"}, ""},
		{"a client without ALPN", []string{"http/1.1"}, nil, ""},
		{"a bind without ALPN", nil, []string{"h2"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := handshake.NewServerConfig(&tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: tc.server}).Config()
			a, b := net.Pipe()
			defer a.Close()
			defer b.Close()
			errc := make(chan error, 1)
			go func() { errc <- tls.Server(a, srv).Handshake() }()
			c := tls.Client(b, &tls.Config{RootCAs: roots, ServerName: "fjord.test", NextProtos: tc.client})
			if err := c.Handshake(); err != nil {
				t.Fatalf("client: %v", err)
			}
			if err := <-errc; err != nil {
				t.Fatalf("server: %v", err)
			}
			if got := c.ConnectionState().NegotiatedProtocol; got != tc.want {
				t.Errorf("ALPN %q, want %q", got, tc.want)
			}
		})
	}
}

// handshakeWithRequest runs a server handshake in pool with a client of
// cfg whose last flight and first request (one record) reach fjord in one
// write, and returns fjord's descriptor, the handshake's result and the
// client.
func handshakeWithRequest(t *testing.T, pool *handshake.Pool, srv *handshake.ServerConfig, cfg *tls.Config, request string) (int, *handshake.Result, *tls.Conn) {
	t.Helper()
	fd, far, local, remote := rawPair(t)
	batch := &batchConn{Conn: far}
	client := tls.Client(batch, cfg)
	wait := serverHandshake(t, pool, fd, local, remote, srv)
	if err := client.Handshake(); err != nil {
		t.Fatal(err)
	}
	if _, err := client.Write([]byte(request)); err != nil {
		t.Fatal(err)
	}
	if err := batch.release(); err != nil {
		t.Fatal(err)
	}
	res, err := wait()
	if err != nil {
		t.Fatal(err)
	}
	return fd, res, client
}
