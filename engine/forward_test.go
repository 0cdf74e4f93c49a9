package engine

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"io"
	"net"
	"sync"
	"testing"
	"time"
)

// roundTrip sends size random bytes through addr to an echo server while
// reading the echo, and checks both sha256 sums.
func roundTrip(t testing.TB, addr string, size int) error {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(60 * time.Second))
	want := sha256.New()
	got := sha256.New()
	errc := make(chan error, 1)
	go func() {
		n, err := io.Copy(got, c)
		if err == nil && n != int64(size) {
			err = io.ErrUnexpectedEOF
		}
		errc <- err
	}()
	chunk := make([]byte, 256<<10)
	for sent := 0; sent < size; {
		n := min(len(chunk), size-sent)
		rand.Read(chunk[:n])
		want.Write(chunk[:n])
		if _, err := c.Write(chunk[:n]); err != nil {
			return err
		}
		sent += n
	}
	c.(*net.TCPConn).CloseWrite()
	if err := <-errc; err != nil {
		return err
	}
	if !bytes.Equal(want.Sum(nil), got.Sum(nil)) {
		return errMismatch
	}
	return nil
}

var errMismatch = io.ErrShortBuffer

func TestForward64MiB(t *testing.T) {
	onPaths(t, func(t *testing.T, p fwdPath) {
		e, addr := p.start(t, tcpConfig(t, "", echoServer(t)))
		if err := roundTrip(t, addr, 64<<20); err != nil {
			t.Fatalf("64 MiB round trip: %v", err)
		}
		waitIdle(t, e)
	})
}

func TestForwardConcurrent(t *testing.T) {
	onPaths(t, testForwardConcurrent)
}

func testForwardConcurrent(t *testing.T, p fwdPath) {
	e, addr := p.start(t, tcpConfig(t, "", echoServer(t)))
	const conns = 200
	size := 64 << 20 / conns // 64 MiB each way in all
	var wg sync.WaitGroup
	errs := make(chan error, conns)
	for i := 0; i < conns; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- roundTrip(t, addr, size)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	waitIdle(t, e)
}

func TestHalfClose(t *testing.T) {
	onPaths(t, testHalfClose)
}

func testHalfClose(t *testing.T, p fwdPath) {
	// The server reads the whole request until EOF, then answers.
	answer := bytes.Repeat([]byte("answer."), 100000)
	srv := serveTCP(t, func(c net.Conn) {
		io.Copy(io.Discard, c)
		c.Write(answer)
	})
	e, addr := p.start(t, tcpConfig(t, "", srv))
	c := dial(t, addr)
	p.established(t, e)
	c.Write([]byte("question"))
	c.CloseWrite()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	got, err := io.ReadAll(c)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, answer) {
		t.Fatalf("got %d bytes, want %d", len(got), len(answer))
	}
}

// waitIdle waits until the engine has no session and no pipe in use.
func waitIdle(t testing.TB, e *Engine) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		st := e.Stats()
		if st.Sessions == 0 && st.PipesInUse == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("engine not idle: %+v", st)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
