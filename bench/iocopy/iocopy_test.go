package iocopy

import (
	"bytes"
	"io"
	"net"
	"sync"
	"testing"
	"time"
)

// backend runs handler for every connection to a new loopback listener.
func backend(t *testing.T, handler func(*net.TCPConn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Add(1) // the accept loop: no Add may race a Wait at zero
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				handler(c.(*net.TCPConn))
			}()
		}
	}()
	return ln.Addr().String()
}

func startProxy(t *testing.T, be string) string {
	t.Helper()
	p, err := Listen("127.0.0.1:0", be)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p.Addr().String()
}

func dial(t *testing.T, addr string) *net.TCPConn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(10 * time.Second))
	return c.(*net.TCPConn)
}

func TestEchoRoundTrip(t *testing.T) {
	addr := startProxy(t, backend(t, func(c *net.TCPConn) {
		io.Copy(c, c)
		c.CloseWrite()
	}))
	c := dial(t, addr)
	// Several small exchanges on one connection, then a large one.
	for i := 0; i < 10; i++ {
		msg := bytes.Repeat([]byte{byte('a' + i)}, 100)
		if _, err := c.Write(msg); err != nil {
			t.Fatal(err)
		}
		got := make([]byte, len(msg))
		if _, err := io.ReadFull(c, got); err != nil {
			t.Fatalf("exchange %d: %v", i, err)
		}
		if !bytes.Equal(got, msg) {
			t.Fatalf("exchange %d: got %q", i, got)
		}
	}
	big := make([]byte, 4<<20)
	for i := range big {
		big[i] = byte(i * 7)
	}
	errc := make(chan error, 1)
	go func() {
		_, err := c.Write(big)
		errc <- err
	}()
	got := make([]byte, len(big))
	if _, err := io.ReadFull(c, got); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, big) {
		t.Fatal("4 MiB echo differs")
	}
}

// TestHalfClose: the client's FIN reaches the server as EOF while the
// server can still answer, and the server's FIN then reaches the client.
func TestHalfClose(t *testing.T) {
	addr := startProxy(t, backend(t, func(c *net.TCPConn) {
		c.SetDeadline(time.Now().Add(10 * time.Second))
		req, err := io.ReadAll(c) // until the client's half-close
		if err != nil {
			return
		}
		c.Write([]byte("got " + string(req)))
		c.CloseWrite()
	}))
	c := dial(t, addr)
	if _, err := c.Write([]byte("request")); err != nil {
		t.Fatal(err)
	}
	if err := c.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	resp, err := io.ReadAll(c)
	if err != nil {
		t.Fatal(err)
	}
	if string(resp) != "got request" {
		t.Fatalf("response %q, want %q", resp, "got request")
	}
}

// TestClose ends connections that are still open.
func TestClose(t *testing.T) {
	hold := make(chan struct{})
	be := backend(t, func(c *net.TCPConn) { <-hold })
	defer close(hold)
	p, err := Listen("127.0.0.1:0", be)
	if err != nil {
		t.Fatal(err)
	}
	c := dial(t, p.Addr().String())
	c.Write([]byte("x"))
	time.Sleep(50 * time.Millisecond)
	done := make(chan struct{})
	go func() { p.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not return")
	}
	if _, err := c.Read(make([]byte, 1)); err == nil {
		t.Fatal("client connection still open after Close")
	}
}

// TestBalanced: connections go to the backends in turn.
func TestBalanced(t *testing.T) {
	named := func(name string) string {
		return backend(t, func(c *net.TCPConn) { c.Write([]byte(name)) })
	}
	p, err := Listen("127.0.0.1:0", named("a"), named("b"))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	var got []byte
	for range 4 {
		c := dial(t, p.Addr().String())
		b, err := io.ReadAll(c)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, b...)
	}
	if string(got) != "abab" {
		t.Errorf("connections went to %q, want abab", got)
	}
	if _, err := Listen("127.0.0.1:0"); err == nil {
		t.Error("no backends: no error")
	}
}
