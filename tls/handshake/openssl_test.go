package handshake_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/pem"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/fjordlb/fjord/tls/handshake"
	"github.com/fjordlb/fjord/tls/record"
	"github.com/fjordlb/fjord/tls/testcert"
)

// OpenSSL's client, unlike crypto/tls's, chooses its TLS 1.3 suite: each
// one fjord carries is handed over and talked through.
func TestOpenSSLClient(t *testing.T) {
	openssl, err := exec.LookPath("openssl")
	if err != nil {
		t.Skip("no openssl command: install the Debian package openssl")
	}
	cert, _ := testcert.SelfSigned(t, "fjord.test")
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Certificate[0]}), 0o600); err != nil {
		t.Fatal(err)
	}
	srv := handshake.NewServerConfig(&tls.Config{Certificates: []tls.Certificate{cert}, CipherSuites: aeadSuites12})
	for _, tc := range []struct {
		name, flag, suite string
		id                uint16
	}{
		{"TLS1.3/AES-128-GCM", "-ciphersuites", "TLS_AES_128_GCM_SHA256", tls.TLS_AES_128_GCM_SHA256},
		{"TLS1.3/AES-256-GCM", "-ciphersuites", "TLS_AES_256_GCM_SHA384", tls.TLS_AES_256_GCM_SHA384},
		{"TLS1.3/ChaCha20", "-ciphersuites", "TLS_CHACHA20_POLY1305_SHA256", tls.TLS_CHACHA20_POLY1305_SHA256},
		{"TLS1.2/ECDHE-ECDSA-AES256-GCM", "-cipher", "ECDHE-ECDSA-AES256-GCM-SHA384", tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384},
		{"TLS1.2/ECDHE-ECDSA-CHACHA20", "-cipher", "ECDHE-ECDSA-CHACHA20-POLY1305", tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			version := "-tls1_3"
			if tc.flag == "-cipher" {
				version = "-tls1_2"
			}
			cmd := exec.Command(openssl, "s_client", "-connect", ln.Addr().String(), version, tc.flag, tc.suite,
				"-servername", "fjord.test", "-CAfile", caFile, "-verify_return_error", "-quiet", "-no_ign_eof")
			stdin, _ := cmd.StdinPipe()
			stdout, _ := cmd.StdoutPipe()
			var stderr strings.Builder
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer cmd.Wait()
			defer cmd.Process.Kill()
			fd, local, remote := acceptRaw(t, ln)
			res, err := handshake.NewPool(1).Server(context.Background(), dup(t, fd), local, remote, srv, time.Now().Add(10*time.Second))
			if err != nil {
				t.Fatalf("handshake: %v\nopenssl: %s", err, stderr.String())
			}
			if res.State.CipherSuite != tc.id {
				t.Fatalf("negotiated %s", tls.CipherSuiteName(res.State.CipherSuite))
			}
			echoThroughSClient(t, newSession(t, fd, record.Server, res), stdin, stdout, &stderr)
		})
	}
}

// OpenSSL's client resumes a TLS 1.2 session from its ticket
// (-sess_out, then -sess_in), and the record layer carries it.
func TestOpenSSLResumption(t *testing.T) {
	openssl, err := exec.LookPath("openssl")
	if err != nil {
		t.Skip("no openssl command: install the Debian package openssl")
	}
	cert, _ := testcert.SelfSigned(t, "fjord.test")
	dir := t.TempDir()
	caFile, sess := filepath.Join(dir, "ca.pem"), filepath.Join(dir, "session.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Certificate[0]}), 0o600); err != nil {
		t.Fatal(err)
	}
	srv := handshake.NewServerConfig(&tls.Config{Certificates: []tls.Certificate{cert}, CipherSuites: aeadSuites12})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	pool := handshake.NewPool(1)
	for i, sessFlag := range []string{"-sess_out", "-sess_in"} {
		cmd := exec.Command(openssl, "s_client", "-connect", ln.Addr().String(), "-tls1_2", sessFlag, sess,
			"-servername", "fjord.test", "-CAfile", caFile, "-verify_return_error", "-quiet", "-no_ign_eof")
		stdin, _ := cmd.StdinPipe()
		stdout, _ := cmd.StdoutPipe()
		var stderr strings.Builder
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		fd, local, remote := acceptRaw(t, ln)
		res, err := pool.Server(context.Background(), dup(t, fd), local, remote, srv, time.Now().Add(10*time.Second))
		if err != nil {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("handshake %d: %v\nopenssl: %s", i+1, err, stderr.String())
		}
		if res.State.DidResume != (i == 1) {
			t.Errorf("handshake %d resumed: %v", i+1, res.State.DidResume)
		}
		// s_client writes its session when its stdin closes.
		echoThroughSClient(t, newSession(t, fd, record.Server, res), stdin, stdout, &stderr)
		if err := cmd.Wait(); err != nil {
			t.Fatalf("openssl: %v\n%s", err, stderr.String())
		}
	}
}

// acceptRaw accepts one connection and keeps it as a non-blocking
// descriptor of the test's own.
func acceptRaw(t *testing.T, ln net.Listener) (fd int, local, remote net.Addr) {
	t.Helper()
	c, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	raw, err := c.(*net.TCPConn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	raw.Control(func(s uintptr) { fd = dup(t, int(s)) })
	t.Cleanup(func() { unix.Close(fd) })
	return fd, c.LocalAddr(), c.RemoteAddr()
}

// OpenSSL's server sends its TLS 1.3 tickets only once it has the
// client's Finished, after fjord's handshake has handed over: they reach
// the record layer, which hands them to the handshake's connection
// (Result.Tickets), and the next handshake resumes.
func TestOpenSSLServerResumption(t *testing.T) {
	openssl, err := exec.LookPath("openssl")
	if err != nil {
		t.Skip("no openssl command: install the Debian package openssl")
	}
	cert, roots := testcert.SelfSigned(t, "fjord.test")
	bundle := filepath.Join(t.TempDir(), "site.pem")
	if err := os.WriteFile(bundle, testcert.PEM(t, cert), 0o600); err != nil {
		t.Fatal(err)
	}
	// -rev answers each line reversed; two connections, one after the
	// other.
	cmd := exec.Command(openssl, "s_server", "-accept", "127.0.0.1:0", "-cert", bundle, "-tls1_3", "-rev", "-naccept", "2")
	stdout, _ := cmd.StdoutPipe()
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	defer cmd.Process.Kill()
	out := bufio.NewReader(stdout)
	var addr string
	for addr == "" {
		line, err := out.ReadString('\n')
		if err != nil {
			t.Fatalf("s_server: %v\n%s", err, stderr.String())
		}
		if a, ok := strings.CutPrefix(strings.TrimSpace(line), "ACCEPT "); ok {
			addr = a
		}
	}
	go io.Copy(io.Discard, out)
	cache := tls.NewLRUClientSessionCache(4)
	for i := range 2 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := c.(*net.TCPConn).SyscallConn()
		var fd int
		raw.Control(func(s uintptr) { fd = dup(t, int(s)) })
		c.Close()
		t.Cleanup(func() { unix.Close(fd) })
		if err := unix.SetNonblock(fd, true); err != nil {
			t.Fatal(err)
		}
		res, err := handshake.NewPool(1).Client(context.Background(), dup(t, fd), c.LocalAddr(), c.RemoteAddr(),
			&tls.Config{RootCAs: roots, ServerName: "fjord.test", ClientSessionCache: cache}, time.Now().Add(10*time.Second))
		if err != nil {
			t.Fatalf("handshake %d: %v\nopenssl: %s", i+1, err, stderr.String())
		}
		if res.State.DidResume != (i == 1) {
			t.Fatalf("handshake %d resumed: %v", i+1, res.State.DidResume)
		}
		s := newSession(t, fd, record.Client, res)
		s.layer.SetTicketSink(res.Tickets)
		s.send(s.layer.Seal(nil, []byte("fjord\n")))
		var got []byte
		for !strings.HasSuffix(string(got), "\n") {
			data, err := s.read()
			if err != nil {
				t.Fatalf("read: %v\nopenssl: %s", err, stderr.String())
			}
			got = append(got, data...)
		}
		if string(got) != "drojf\n" {
			t.Fatalf("s_server answered %q", got)
		}
		s.send(s.layer.AppendClose(nil))
	}
}

// echoThroughSClient has s echo what openssl s_client sends it (lines
// written to its stdin, read back from its stdout), a short line and
// one of several records, then closes s_client's stdin, on which it
// sends close_notify and the echo ends.
func echoThroughSClient(t *testing.T, s *session, stdin io.WriteCloser, stdout io.Reader, stderr *strings.Builder) {
	t.Helper()
	echoed := make(chan error, 1)
	go func() { echoed <- s.echo() }()
	out := bufio.NewReader(stdout)
	for _, line := range []string{"hello", strings.Repeat("x", 40000)} {
		io.WriteString(stdin, line+"\n")
		got, err := out.ReadString('\n')
		if err != nil || got != line+"\n" {
			t.Fatalf("echo of %d bytes: %d bytes, %v\nopenssl: %s", len(line)+1, len(got), err, stderr.String())
		}
	}
	stdin.Close()
	if err := <-echoed; err != nil {
		t.Fatalf("echo: %v", err)
	}
}
