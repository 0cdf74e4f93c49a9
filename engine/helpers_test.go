package engine

import (
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fjordlb/fjord/config"
)

// freePort returns a loopback port that was free a moment ago.
func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

type testLogger struct{ t testing.TB }

func (l testLogger) Printf(format string, args ...any) { l.t.Logf(format, args...) }

// startEngine parses cfgText (with %d verbs replaced by ports) and runs it
// until the test ends. It returns the engine and its first bind address.
func startEngine(t testing.TB, cfgText string) (*Engine, string) {
	t.Helper()
	cfg, err := config.Parse("test.cfg", []byte(cfgText), config.Options{Resolver: config.NoResolver})
	if err != nil {
		t.Fatalf("config: %v\n%s", err, cfgText)
	}
	e, err := New(cfg, Options{Logger: testLogger{t}})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Stop)
	b := cfg.Frontends()[0].Binds[0]
	return e, e.Addr(b).String()
}

// tcpConfig is a minimal tcp proxy in front of the given server addresses.
func tcpConfig(t testing.TB, extra string, servers ...string) string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "global\n  nbthread 2\ndefaults\n  mode tcp\n  timeout connect 2s\n  timeout client 30s\n  timeout server 30s\n")
	fmt.Fprintf(&sb, "listen px\n  bind 127.0.0.1:%d\n%s\n", freePort(t), extra)
	for i, s := range servers {
		fmt.Fprintf(&sb, "  server s%d %s\n", i, s)
	}
	return sb.String()
}

// echoServer echoes everything it reads until EOF, then closes.
func echoServer(t testing.TB) string {
	return serveTCP(t, func(c net.Conn) {
		io.Copy(c, c)
		c.(*net.TCPConn).CloseWrite()
	})
}

// serveTCP runs handler for every connection to a new loopback listener.
func serveTCP(t testing.TB, handler func(net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				handler(c)
			}()
		}
	}()
	return ln.Addr().String()
}

func dial(t testing.TB, addr string) *net.TCPConn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c.(*net.TCPConn)
}
