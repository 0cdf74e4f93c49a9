package engine

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// memAvailable reads MemAvailable from /proc/meminfo, in bytes.
func memAvailable(t testing.TB) int64 {
	t.Helper()
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		t.Skipf("cannot read /proc/meminfo: %v", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "MemAvailable:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				t.Fatalf("MemAvailable: %q", line)
			}
			return kb << 10
		}
	}
	t.Skip("no MemAvailable in /proc/meminfo")
	return 0
}

// bigResponder answers every request with a size-byte body and counts
// the bytes its writes handed to the kernel.
func bigResponder(t testing.TB, size int64, written *atomic.Int64) string {
	chunk := make([]byte, 64<<10)
	return serveTCP(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				return
			}
			if line == "\r\n" {
				break
			}
		}
		c.SetWriteDeadline(time.Now().Add(time.Minute))
		fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n", size)
		for left := size; left > 0; {
			n, err := c.Write(chunk[:min(left, int64(len(chunk)))])
			written.Add(int64(n))
			left -= int64(n)
			if err != nil {
				return
			}
		}
	})
}

// stalledMemory opens n clients to addr that each ask for the big
// response and never read, waits until the server can write no more, and
// returns how much MemAvailable fell. The clients stay open until the test
// ends.
func stalledMemory(t *testing.T, addr string, n int, written *atomic.Int64) int64 {
	t.Helper()
	before := memAvailable(t)
	for range n {
		c := dial(t, addr)
		io.WriteString(c, "GET /big HTTP/1.1\r\nHost: a\r\n\r\n")
	}
	// Stalled: nothing more was written over a few polls.
	prev, same := written.Load(), 0
	for same < 5 {
		time.Sleep(100 * time.Millisecond)
		cur := written.Load()
		if cur == prev {
			same++
		} else {
			prev, same = cur, 0
		}
	}
	return before - memAvailable(t)
}

// TestStalledClientsMemory: clients that never read a large response pin
// little kernel memory in fjord. The figures are what 20 such clients cost
// through fjord beyond what they cost connected to the server directly
// (the client's receive buffer and the server's send buffer exist either
// way): the pipes fjord filled, its sockets' buffers. Two measures: the
// bytes the server could write before everything stalled (they sit in
// those buffers: exact, whatever else runs on the machine), and the fall of
// MemAvailable, which also counts the kernel's overhead per byte but moves
// with everything else on the host, so its bound is looser. fjord
// measured 14.5 MiB and 17 MiB before its pipes stopped growing for
// destinations that do not read, and about 4.5 and 5 after.
func TestStalledClientsMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("moves gigabytes")
	}
	const clients, size = 20, 200 << 20
	var directW, proxyW atomic.Int64
	direct := bigResponder(t, size, &directW)
	viaFjord := bigResponder(t, size, &proxyW)
	e, addr := startEngine(t, fmt.Sprintf(`global
  nbthread 2
defaults
  mode http
  timeout connect 2s
  timeout client 1m
  timeout server 1m
listen px
  bind 127.0.0.1:%d
  server s %s
`, freePort(t), viaFjord))
	d := stalledMemory(t, direct, clients, &directW)
	p := stalledMemory(t, addr, clients, &proxyW)
	const mib = 1 << 20
	held := float64(proxyW.Load()-directW.Load()) / clients / mib
	mem := float64(p-d) / clients / mib
	t.Logf("per stalled client above direct: %.1f MiB held in buffers, MemAvailable %.1f MiB lower (%+v)", held, mem, e.Stats())
	if held > 8 {
		t.Errorf("each client that does not read holds %.1f MiB in fjord's pipes and socket buffers, want at most 8", held)
	}
	// MemAvailable moves with everything else on the host: a coarse
	// guard only. The bytes held above are the exact measure.
	if mem > 12 {
		t.Errorf("each client that does not read costs %.1f MiB of MemAvailable through fjord, want at most 12", mem)
	}
	if g := e.Stats().PipesGrown; g != 0 {
		t.Errorf("%d pipes grown for clients that do not read", g)
	}
}

// A client that stops reading a large response is closed at "timeout
// client" and logged "cD", in mode http and mode tcp: the server, whose
// bytes wait for the client, is not the one timing out. The mirror case,
// a server that does not read a large request body, is "sD".
func TestStalledClientTimesOutAsClient(t *testing.T) {
	for _, mode := range []string{"http", "tcp"} {
		t.Run(mode, func(t *testing.T) {
			var written atomic.Int64
			srv := bigResponder(t, 200<<20, &written)
			sink := &recordSink{}
			cfg := strings.Replace(logConfig(t, mode, "", srv), "timeout client 5s\n  timeout server 5s",
				"timeout client 1500ms\n  timeout server 500ms", 1)
			addr := startEngineOpts(t, cfg, logOpts(sink))
			c := dial(t, addr)
			io.WriteString(c, "GET /big HTTP/1.1\r\nHost: a\r\n\r\n")
			r := sink.wait(t, 1)
			if term(r) != "cD" {
				t.Errorf("a client that does not read ended %q, want cD", term(r))
			}
		})
	}
}

// A server that stops reading ends the session sD, though the client's
// timeout is shorter: the client is not idle, fjord stopped reading it.
// The client must keep writing until the pipes fill, so its timeout is
// well above a starved writer's pauses under -race on a loaded machine
// (at 500 ms it ended cD about once in 40 runs).
func TestStalledServerTimesOutAsServer(t *testing.T) {
	for _, mode := range []string{"http", "tcp"} {
		t.Run(mode, func(t *testing.T) {
			release := make(chan struct{})
			defer close(release)
			srv := serveTCP(t, func(c net.Conn) { <-release }) // never reads
			sink := &recordSink{}
			cfg := strings.Replace(logConfig(t, mode, "", srv), "timeout client 5s\n  timeout server 5s",
				"timeout client 1500ms\n  timeout server 3s", 1)
			addr := startEngineOpts(t, cfg, logOpts(sink))
			c := dial(t, addr)
			const size = 256 << 20
			go func() {
				fmt.Fprintf(c, "POST /up HTTP/1.1\r\nHost: a\r\nContent-Length: %d\r\n\r\n", size)
				c.Write(make([]byte, size)) // until the proxy closes
			}()
			r := sink.wait(t, 1)
			if term(r) != "sD" {
				t.Errorf("a server that does not read ended %q, want sD", term(r))
			}
		})
	}
}
