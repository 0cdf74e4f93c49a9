package engine

import (
	"bufio"
	"bytes"
	"crypto/tls"
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
	"github.com/fjordlb/fjord/tls/testcert"
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
