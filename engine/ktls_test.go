package engine

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/fjordlb/fjord/config"
	"github.com/fjordlb/fjord/engine/h1"
	"github.com/fjordlb/fjord/tls/handshake"
	"github.com/fjordlb/fjord/tls/ktls"
	"github.com/fjordlb/fjord/tls/record"
	"github.com/fjordlb/fjord/tls/testcert"
	"golang.org/x/sys/unix"
)

// The tests named KTLS need a kernel with CONFIG_TLS: they skip on this
// project's CI host and run under 'make test-ktls', in a guest whose
// kernel has it (FJORD_EXPECT_KTLS=1 there turns a skip into a failure).
func needKTLS(t *testing.T) {
	t.Helper()
	if err := ktls.Probe(); err != nil {
		if os.Getenv("FJORD_EXPECT_KTLS") == "1" {
			t.Fatalf("FJORD_EXPECT_KTLS=1, but %v", err)
		}
		t.Skipf("no kTLS here: %v", err)
	}
}

// kernelSuites are client settings that make the handshake pick each
// cipher the kernel carries (a Go client picks TLS 1.3's by its
// hardware, so 1.3 is tried with its default only).
var kernelSuites = []struct {
	name    string
	version uint16
	suites  []uint16
}{
	{"TLS1.3", tls.VersionTLS13, nil},
	{"TLS1.2/AES-128-GCM", tls.VersionTLS12, []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256}},
	{"TLS1.2/ChaCha20", tls.VersionTLS12, []uint16{tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256}},
}

// In tcp mode the kernel carries the session: a megabyte each way (so
// spliced, as plaintext), and the client's close_notify ends the stream.
func TestKTLSTerminationTCP(t *testing.T) {
	needKTLS(t)
	for _, s := range kernelSuites {
		t.Run(s.name, func(t *testing.T) {
			e, addr, cli := startTLSEngine(t, tcpConfig(t, "", echoServer(t)), Options{KernelTLS: true})
			cli.MinVersion, cli.MaxVersion, cli.CipherSuites = s.version, s.version, s.suites
			c := tlsDial(t, addr, cli)
			if err := echoOnce(c, "hello through kTLS", 10*time.Second); err != nil {
				t.Fatal(err)
			}
			if n := e.TLSStats().KernelSessions; n != 1 {
				t.Fatalf("%d sessions handed to the kernel, want 1", n)
			}
			big := bytes.Repeat([]byte("0123456789abcdef"), 1<<16)
			errc := make(chan error, 1)
			go func() {
				_, err := c.Write(big)
				if err == nil {
					err = c.CloseWrite() // close_notify: a record without data
				}
				errc <- err
			}()
			got, err := io.ReadAll(c)
			if err != nil {
				t.Fatalf("reading the echo: %v (%d bytes)", err, len(got))
			}
			if werr := <-errc; werr != nil {
				t.Fatal(werr)
			}
			if !bytes.Equal(got, big) {
				t.Fatalf("echo of %d bytes came back as %d, changed", len(big), len(got))
			}
		})
	}
}

// In http mode heads are peeked from the kernel's plaintext; keep-alive,
// pipelining and bodies pass, and a hand-off to the stats page goes on
// reading and writing through the kernel.
func TestKTLSTerminationHTTP(t *testing.T) {
	needKTLS(t)
	web := webNode(t, "web01")
	opts := Options{KernelTLS: true, Intercept: func(fe, be string, req *h1.Request) Local {
		if string(req.Path) != "/stats" {
			return Local{}
		}
		return Local{Serve: func(c net.Conn) {
			defer c.Close()
			br := bufio.NewReader(c)
			line, err := br.ReadString('\n')
			if err != nil {
				return
			}
			body := "stats for " + strings.Fields(line)[1]
			fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s", len(body), body)
		}}
	}}
	e, addr, cli := startTLSEngine(t, httpSeedConfig(t, "", []string{web}, []string{web}), opts)
	for _, s := range kernelSuites {
		t.Run(s.name, func(t *testing.T) {
			cli := cli.Clone()
			cli.MinVersion, cli.MaxVersion, cli.CipherSuites = s.version, s.version, s.suites
			c := tlsDial(t, addr, cli)
			br := bufio.NewReader(c)
			for _, path := range []string{"/", "/x"} {
				resp, body := httpRoundTrip(t, c, br, "GET "+path+" HTTP/1.1\r\nHost: fjord.test\r\n\r\n")
				if resp.StatusCode != 200 || !strings.HasSuffix(body, path) {
					t.Fatalf("GET %s: %d %q", path, resp.StatusCode, body)
				}
			}
			io.WriteString(c, "GET /one HTTP/1.1\r\nHost: fjord.test\r\n\r\nGET /two HTTP/1.1\r\nHost: fjord.test\r\n\r\n")
			for _, path := range []string{"/one", "/two"} {
				if resp, body := readResponse(t, br, nil); resp.StatusCode != 200 || !strings.HasSuffix(body, path) {
					t.Fatalf("pipelined %s: %d %q", path, resp.StatusCode, body)
				}
			}
			payload := strings.Repeat("body!", 200000) // a megabyte: spliced
			resp, body := httpRoundTrip(t, c, br, fmt.Sprintf("POST /echo HTTP/1.1\r\nHost: fjord.test\r\nContent-Length: %d\r\n\r\n%s", len(payload), payload))
			if resp.StatusCode != 200 || body != payload {
				t.Fatalf("POST /echo: %d, %d of %d bytes", resp.StatusCode, len(body), len(payload))
			}
			resp, body = httpRoundTrip(t, c, br, "GET /stats HTTP/1.1\r\nHost: fjord.test\r\n\r\n")
			if resp.StatusCode != 200 || body != "stats for /stats" {
				t.Fatalf("the handed-off stats page: %d %q", resp.StatusCode, body)
			}
		})
	}
	if n := e.TLSStats().KernelSessions; n != int64(len(kernelSuites)) {
		t.Errorf("%d sessions handed to the kernel, want %d", n, len(kernelSuites))
	}
}

// To a TLS server, fjord's own session goes to the kernel too; the
// server's TLS 1.3 tickets (records without data, after the handshake)
// are taken by the record layer on the way.
func TestKTLSBothSides(t *testing.T) {
	needKTLS(t)
	cert, roots := testcert.SelfSigned(t, "fjord.test")
	backend := tlsBackend(t, cert, func(c net.Conn) {
		io.Copy(c, c)
		c.(*tls.Conn).CloseWrite()
	})
	for _, v := range tlsVersions {
		t.Run(tls.VersionName(v), func(t *testing.T) {
			cfg, opts := serverTLSOpts(t, tcpConfig(t, "", backend), &ServerTLS{Config: &tls.Config{RootCAs: roots, ServerName: "fjord.test", MinVersion: v, MaxVersion: v}})
			opts.KernelTLS = true
			opts.TLS = map[*config.Bind]*handshake.ServerConfig{cfg.Frontends()[0].Binds[0]: handshake.NewServerConfig(&tls.Config{Certificates: []tls.Certificate{cert}})}
			e, addr := startParsed(t, cfg, opts)
			c := tlsDial(t, addr, &tls.Config{RootCAs: roots, ServerName: "fjord.test"})
			for _, msg := range []string{"one", strings.Repeat("two", 300000)} {
				if err := echoOnce(c, msg, 10*time.Second); err != nil {
					t.Fatal(err)
				}
			}
			if n := e.TLSStats().KernelSessions; n != 2 {
				t.Errorf("%d sessions handed to the kernel, want 2 (client and server side)", n)
			}
		})
	}
}

// Where the kernel has no kTLS, KernelTLS costs nothing but a log line:
// each session stays in the user-space record layer.
func TestKernelTLSFallsBackToUserSpace(t *testing.T) {
	if ktls.Probe() == nil {
		t.Skip("this kernel has kTLS: nothing falls back")
	}
	e, addr, cli := startTLSEngine(t, tcpConfig(t, "", echoServer(t)), Options{KernelTLS: true})
	c := tlsDial(t, addr, cli)
	for _, msg := range []string{"hello", strings.Repeat("in user space", 100000)} {
		if err := echoOnce(c, msg, 10*time.Second); err != nil {
			t.Fatal(err)
		}
	}
	if n := e.TLSStats().KernelSessions; n != 0 {
		t.Errorf("%d sessions handed to a kernel without kTLS", n)
	}
}

// kernelClient is a TLS client whose own records the kernel seals and
// opens, so that a test can send fjord records crypto/tls never sends
// (a renegotiating ClientHello, a KeyUpdate) at any point of a stream.
type kernelClient struct {
	conn  *net.TCPConn
	fd    int
	layer *record.Layer
}

func dialKernelClient(t *testing.T, addr string, cfg *tls.Config) *kernelClient {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	rc, err := c.(*net.TCPConn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	dup := -1 // a duplicate for the handshake, which closes it
	rc.Control(func(fd uintptr) { dup, err = unix.FcntlInt(fd, unix.F_DUPFD_CLOEXEC, 0) })
	if err != nil {
		t.Fatal(err)
	}
	res, err := handshake.NewPool(1).Client(context.Background(), dup, nil, c.RemoteAddr(), cfg, time.Now().Add(10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	layer, err := record.New(record.Client, res.Keys)
	res.Wipe()
	if err != nil {
		t.Fatal(err)
	}
	kc := &kernelClient{conn: c.(*net.TCPConn), layer: layer}
	raw, err := kc.conn.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	raw.Control(func(fd uintptr) { kc.fd = int(fd) })
	in, out := layer.Material()
	if err := ktls.Enable(kc.fd, layer.Version(), layer.Suite(), in, out); err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(20 * time.Second))
	return kc
}

// control sends one record of type ctype, sealed by the kernel.
func (kc *kernelClient) control(t *testing.T, ctype byte, p []byte) {
	t.Helper()
	raw, _ := kc.conn.SyscallConn()
	var err error
	raw.Write(func(fd uintptr) bool {
		err = ktls.SendControl(int(fd), ctype, p)
		return !errors.Is(err, unix.EAGAIN)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// readAll reads the stream to its end, taking the records without data
// on the way: what it returns is the data, and the control records seen
// (type, then plaintext).
func (kc *kernelClient) readAll(t *testing.T, want int) ([]byte, [][]byte, error) {
	t.Helper()
	var data []byte
	var ctl [][]byte
	buf := make([]byte, 1<<16)
	raw, _ := kc.conn.SyscallConn()
	for len(data) < want {
		n, err := kc.conn.Read(buf)
		data = append(data, buf[:n]...)
		if errors.Is(err, unix.EIO) {
			var ctype byte
			var m int
			var cerr error
			raw.Read(func(fd uintptr) bool {
				ctype, m, cerr = ktls.ReadControl(int(fd), buf)
				return !errors.Is(cerr, unix.EAGAIN)
			})
			if cerr != nil {
				return data, ctl, cerr
			}
			ctl = append(ctl, append([]byte{ctype}, buf[:m]...))
			continue
		}
		if err != nil {
			return data, ctl, err
		}
	}
	return data, ctl, nil
}

// Records without data from the client reach fjord's kernel socket
// between data, while fjord's socket to the client is likely full: a
// renegotiating ClientHello is refused with a no_renegotiation warning
// sent before the echo that follows it, and the stream stays whole; a
// TLS 1.3 KeyUpdate either gives the kernel the next key (Linux 6.14 and
// later) or ends the session at once (before: EBUSY), never a hang.
func TestKTLSControlRecordsFromTheClient(t *testing.T) {
	needKTLS(t)
	t.Run("renegotiation refused while the stream is full", func(t *testing.T) {
		e, addr, cli := startTLSEngine(t, tcpConfig(t, "", echoServer(t)), Options{KernelTLS: true})
		cli.MinVersion, cli.MaxVersion = tls.VersionTLS12, tls.VersionTLS12
		kc := dialKernelClient(t, addr, cli)
		big := bytes.Repeat([]byte("fill-the-socket!"), 1<<18) // 4 MiB, not read yet
		if _, err := kc.conn.Write(big); err != nil {
			t.Fatal(err)
		}
		hello := []byte{1, 0, 0, 4, 3, 3, 0, 0} // a ClientHello's head: refused unread
		kc.control(t, 22, hello)
		if _, err := kc.conn.Write([]byte("after")); err != nil {
			t.Fatal(err)
		}
		want := append(bytes.Clone(big), "after"...)
		got, ctl, err := kc.readAll(t, len(want))
		if err != nil {
			t.Fatalf("after %d of %d bytes: %v", len(got), len(want), err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("the echo around the refusal changed (%d bytes)", len(got))
		}
		if len(ctl) != 1 || !bytes.Equal(ctl[0], []byte{21, 1, 100}) {
			t.Fatalf("control records to the client: %x, want one no_renegotiation warning", ctl)
		}
		if n := e.TLSStats().KernelSessions; n != 1 {
			t.Errorf("%d sessions in the kernel, want 1", n)
		}
	})
	t.Run("KeyUpdate", func(t *testing.T) {
		_, addr, cli := startTLSEngine(t, tcpConfig(t, "", echoServer(t)), Options{KernelTLS: true})
		cli.MinVersion, cli.MaxVersion = tls.VersionTLS13, tls.VersionTLS13
		kc := dialKernelClient(t, addr, cli)
		if err := echoOnce(kc.conn, "before", 10*time.Second); err != nil {
			t.Fatal(err)
		}
		kc.layer.UpdateKeys(false)
		var sent bool
		kc.layer.TakeControl(func(ctype byte, p []byte) { kc.control(t, ctype, p); sent = true })
		if !sent {
			t.Fatal("the client's layer owed no KeyUpdate")
		}
		_, out := kc.layer.Material()
		if err := ktls.SetKey(kc.fd, ktls.TX, kc.layer.Version(), kc.layer.Suite(), out); err != nil {
			if !errors.Is(err, unix.EBUSY) {
				t.Fatal(err)
			}
			// This kernel cannot rekey: fjord's cannot either, and ends
			// the session rather than read what it cannot open.
			buf := make([]byte, 64)
			if n, err := kc.conn.Read(buf); err == nil && n > 0 {
				t.Fatalf("fjord sent %q after a KeyUpdate it cannot follow", buf[:n])
			} else if ne, ok := err.(net.Error); ok && ne.Timeout() {
				t.Fatal("fjord did not end a session whose KeyUpdate its kernel refused")
			}
			return
		}
		if err := echoOnce(kc.conn, "after the update", 10*time.Second); err != nil {
			t.Fatal(err)
		}
	})
}
