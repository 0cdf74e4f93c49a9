package engine

import (
	"fmt"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/fjordlb/fjord/config"
)

// fdConfig is a tcp proxy on the inherited socket fd@n with nbthread loops.
func fdConfig(nbthread, n int, server string) string {
	return fmt.Sprintf("global\n  nbthread %d\ndefaults\n  mode tcp\n  timeout connect 2s\n  timeout client 30s\n  timeout server 30s\nlisten px\n  bind fd@%d\n  server s %s\n", nbthread, n, server)
}

// inheritedListener is a loopback listening socket as a process that
// starts fjord would make it: a descriptor of its own, which the engine
// takes over. The net.Listener only names the address; it is closed.
func inheritedListener(t *testing.T) (fd int, addr string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	f, err := ln.(*net.TCPListener).File()
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fd, err = unix.Dup(int(f.Fd()))
	if err != nil {
		t.Fatal(err)
	}
	return fd, ln.Addr().String()
}

// An fd@N bind listens on the one inherited socket: every loop shares
// it, through a duplicate each, and connections flow.
func TestFDBindSharedByEveryLoop(t *testing.T) {
	fd, addr := inheritedListener(t)
	const n = 7 // the number in the configuration, not the descriptor's
	e, got := startEngineWith(t, fdConfig(3, n, echoServer(t)), Options{InheritedFD: map[int][]int{n: {fd}}})
	if got != addr {
		t.Errorf("Addr(bind fd@%d) = %s, want the inherited socket's %s", n, got, addr)
	}
	if len(e.listening) != 3 {
		t.Fatalf("3 loops hold %d descriptors of the inherited socket", len(e.listening))
	}
	for i, lf := range e.listening {
		if lf.FD != n {
			t.Errorf("listening socket %d: FD = %d, want %d", i, lf.FD, n)
		}
	}
	for i := range 20 {
		c := dial(t, addr)
		if err := echoOnce(c, fmt.Sprintf("conn %d", i), 5*time.Second); err != nil {
			t.Fatal(err)
		}
		c.Close()
	}
}

// The socket of an fd@N bind passes to the next engine by N, as a reload
// hands it to the next process, and goes on accepting there once the old
// engine has stopped.
func TestFDBindHandedOver(t *testing.T) {
	fd, addr := inheritedListener(t)
	echo := echoServer(t)
	old, _ := startEngineWith(t, fdConfig(2, 5, echo), Options{InheritedFD: map[int][]int{5: {fd}}})
	next := handOver(t, old, fdConfig(3, 5, echo))
	waitDrained(t, old.SoftStop(), 10*time.Second)
	old.Stop()
	if n := len(next.listening); n != 3 {
		t.Errorf("3 loops listen on %d descriptors after the hand-over", n)
	}
	c := dial(t, addr)
	if err := echoOnce(c, "after", 5*time.Second); err != nil {
		t.Fatal(err)
	}
}

// An fd@N bind has nothing else to listen on: a descriptor that is not a
// listening TCP or Unix socket is an error naming the bind, its line and the
// descriptor, and no loop is left listening.
func TestFDBindRefusesWhatCannotListen(t *testing.T) {
	pipe := func(t *testing.T) int {
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		defer w.Close()
		fd, _ := unix.Dup(int(w.Fd()))
		return fd
	}
	boundOnly := func(t *testing.T) int {
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			t.Fatal(err)
		}
		if err := unix.Bind(fd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
			t.Fatal(err)
		}
		return fd
	}
	udp := func(t *testing.T) int {
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			t.Fatal(err)
		}
		return fd
	}
	tests := []struct {
		name string
		fd   func(t *testing.T) int // -1: none handed to the engine
		want string
	}{
		{"not started with it", func(*testing.T) int { return -1 }, "fjord was not started with descriptor 7"},
		{"closed", func(*testing.T) int { return 1<<20 - 1 }, "is not open"},
		{"a pipe", pipe, "is not a socket"},
		{"bound, not listening", boundOnly, "is not listening"},
		{"datagram", udp, "is not a stream socket"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := config.Parse("test.cfg", []byte(fdConfig(2, 7, "127.0.0.1:9")), config.Options{Resolver: config.NoResolver})
			if err != nil {
				t.Fatal(err)
			}
			fds := map[int][]int{}
			fd := tc.fd(t)
			if fd >= 0 {
				fds[7] = []int{fd}
			}
			e, err := New(cfg, Options{Logger: testLogger{t}, InheritedFD: fds})
			if err != nil {
				t.Fatal(err)
			}
			err = e.Listen()
			if err == nil {
				e.Stop()
				t.Fatal("Listen succeeded")
			}
			want := []string{"listen 'px'", "fd@7 (test.cfg:9)", tc.want}
			if fd >= 0 {
				want = append(want, fmt.Sprintf("descriptor %d ", fd))
			}
			for _, w := range want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if len(e.loops) != 0 {
				t.Error("loops left after a failed Listen")
			}
			if fd >= 0 {
				if _, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); err != unix.EBADF {
					t.Errorf("descriptor %d left open (the engine owns it)", fd)
				}
			}
		})
	}
}

// Handed over by a process with more loops, an fd@N socket comes as many
// duplicates; the engine keeps one per loop of its own.
func TestFDBindKeepsOneDescriptorPerLoop(t *testing.T) {
	fd, addr := inheritedListener(t)
	dups := []int{fd}
	for range 3 {
		d, err := unix.Dup(fd)
		if err != nil {
			t.Fatal(err)
		}
		dups = append(dups, d)
	}
	e, _ := startEngineWith(t, fdConfig(1, 5, echoServer(t)), Options{InheritedFD: map[int][]int{5: dups}})
	if n := len(e.listening); n != 1 {
		t.Errorf("1 loop listens on %d descriptors of one socket", n)
	}
	for _, d := range dups[1:] {
		if _, err := unix.FcntlInt(uintptr(d), unix.F_GETFD, 0); err != unix.EBADF {
			t.Errorf("descriptor %d, a duplicate no loop needs, is still open", d)
		}
	}
	c := dial(t, addr)
	if err := echoOnce(c, "one", 5*time.Second); err != nil {
		t.Fatal(err)
	}
}
