package stats

import (
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/fjordlb/fjord/config"
)

// ask sends one line to the runtime API at network/addr, half-closes, and
// reads the answer to the end.
func ask(t *testing.T, network, addr, line string) string {
	t.Helper()
	c, err := net.DialTimeout(network, addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(c, line+"\n")
	c.(interface{ CloseWrite() error }).CloseWrite()
	out, err := io.ReadAll(c)
	if err != nil {
		t.Fatalf("%s: %v", line, err)
	}
	return string(out)
}

// The runtime API serves on a listening socket it is handed ("stats
// socket fd@N"), TCP as VTest makes it or Unix as systemd may, and
// leaves the socket open for its owner when it closes.
func TestServeInheritedAnswers(t *testing.T) {
	for _, network := range []string{"tcp", "unix"} {
		t.Run(network, func(t *testing.T) {
			addr := "127.0.0.1:0"
			if network == "unix" {
				addr = fmt.Sprintf("@fjord-stats-test-%d", os.Getpid()) // abstract: no file
			}
			ln, err := net.Listen(network, addr)
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			f, err := ln.(interface{ File() (*os.File, error) }).File()
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			sc := config.StatsSocket{Inherited: true, FD: 7, Level: config.LevelAdmin}
			log := &logRecorder{}
			s, err := ServeInherited(testSources(t), sc, f, log)
			if err != nil {
				t.Fatal(err)
			}
			if out := ask(t, network, ln.Addr().String(), "show info"); !strings.Contains(out, "Name: fjord") {
				t.Errorf("show info answered %q", out)
			}
			if out := ask(t, network, ln.Addr().String(), "disable server web/web01"); strings.TrimSpace(out) != "" {
				t.Errorf("level admin: disable server answered %q", out)
			}
			s.Close()
			// Served again on the same socket, as after a failed reload.
			s, err = ServeInherited(testSources(t), sc, f, log)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if out := ask(t, network, ln.Addr().String(), "show info"); !strings.Contains(out, "Name: fjord") {
				t.Errorf("show info answered %q after serving again", out)
			}
		})
	}
}

// A descriptor that is not a listening stream socket is refused, and the
// error names the line, fd@N and the descriptor.
func TestServeInheritedRefusesWhatCannotListen(t *testing.T) {
	udp, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	tests := []struct {
		name string
		file *os.File
		want string
	}{
		{"datagram", os.NewFile(uintptr(udp), "udp"), "is not a stream socket"},
		{"not listening", os.NewFile(uintptr(conn), "tcp"), "is not listening"},
		{"a pipe", w, "is not a socket"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			defer tc.file.Close()
			sc := config.StatsSocket{Pos: config.Pos{File: "t.cfg", Line: 3}, Inherited: true, FD: 9, Level: config.LevelAdmin}
			s, err := ServeInherited(testSources(t), sc, tc.file, nil)
			if err == nil {
				s.Close()
				t.Fatal("served")
			}
			for _, want := range []string{"stats socket fd@9 (t.cfg:3)", fmt.Sprintf("descriptor %d ", tc.file.Fd()), tc.want} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q lacks %q", err, want)
				}
			}
		})
	}
}

// "stats socket 127.0.0.1:PORT" serves the runtime API on TCP.
func TestListenSocketTCP(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := netip.MustParseAddrPort(ln.Addr().String())
	ln.Close()
	s, err := ListenSocket(testSources(t), config.StatsSocket{Addr: addr, Level: config.LevelUser}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if out := ask(t, "tcp", addr.String(), "show info"); !strings.Contains(out, "Name: fjord") {
		t.Errorf("show info answered %q", out)
	}
	if out := ask(t, "tcp", addr.String(), "disable server web/web01"); !strings.Contains(out, "Permission denied") {
		t.Errorf("level user: disable server answered %q", out)
	}
}

// A handed-over TCP socket listening beyond loopback is refused: the
// runtime API has no authentication, fd@N or not.
func TestServeInheritedRefusesAPublicSocket(t *testing.T) {
	ln, err := net.Listen("tcp", "0.0.0.0:0") // nothing connects to it
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	f, err := ln.(*net.TCPListener).File()
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := config.StatsSocket{Pos: config.Pos{File: "t.cfg", Line: 4}, Inherited: true, FD: 5, Level: config.LevelAdmin}
	s, err := ServeInherited(testSources(t), sc, f, nil)
	if err == nil {
		s.Close()
		t.Fatal("served the runtime API on a wildcard address")
	}
	for _, want := range []string{"stats socket fd@5 (t.cfg:4)", "listens on ", "loopback"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
}
