package health

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkChecks200 runs layer-7 checks against 200 servers at the seed's inter
// 2000 and reports (1) how well the checks keep their schedule: checks
// done over checks due, and (2) the latency of requests through the engine
// to another backend while they run, against the same without checks.
//
//	go test -run '^$' -bench Checks200 -benchtime 1x ./health/
func BenchmarkChecks200(b *testing.B) {
	// The seed's "inter 2000": 100 checks per second in all.
	const servers, inter, window = 200, 2 * time.Second, 6 * time.Second
	var checks atomic.Int64
	var sb strings.Builder
	sb.WriteString("global\n  nbthread 2\n  maxconn 4000\ndefaults\n  mode http\n  timeout connect 1s\n  timeout client 5s\n  timeout server 5s\n  timeout check 1s\n")
	sb.WriteString("frontend fe\n  bind 127.0.0.1:PORT\n  default_backend app\n")
	app := benchNode(b, nil)
	fmt.Fprintf(&sb, "backend app\n  server app %s\n", app)
	sb.WriteString("backend checked\n  option httpchk GET /health\n")
	for i := 0; i < servers; i++ {
		fmt.Fprintf(&sb, "  server s%d %s check inter %dms\n", i, benchNode(b, &checks), inter.Milliseconds())
	}
	cfgText := sb.String()
	lat := map[string][]time.Duration{}
	var ratio float64
	for _, withChecks := range []bool{false, true, false, true} {
		name := "without-checks"
		text := cfgText
		if withChecks {
			name = "with-checks"
		} else {
			text = strings.ReplaceAll(cfgText, " check inter", " inter") // same servers, no checks
		}
		st := startStackB(b, text)
		c0 := checks.Load()
		start := time.Now()
		lat[name] = append(lat[name], benchLatencies(b, st.addr, window)...)
		if withChecks {
			done := float64(checks.Load() - c0)
			due := float64(servers) * time.Since(start).Seconds() / inter.Seconds()
			ratio = done / due
		}
		st.stop()
	}
	pct := func(d []time.Duration, p float64) time.Duration {
		s := slices.Clone(d)
		slices.Sort(s)
		return s[int(float64(len(s)-1)*p)]
	}
	var out strings.Builder
	fmt.Fprintf(&out, "checks done / due over the window: %.3f\n", ratio)
	fmt.Fprintf(&out, "| requests | n | p50 | p99 | p99.9 |\n|---|---:|---:|---:|---:|\n")
	for _, name := range []string{"without-checks", "with-checks"} {
		d := lat[name]
		fmt.Fprintf(&out, "| %s | %d | %v | %v | %v |\n", name, len(d), pct(d, 0.5), pct(d, 0.99), pct(d, 0.999))
	}
	b.ReportMetric(0, "ns/op")
	b.ReportMetric(ratio, "checks-done/due")
	b.ReportMetric(float64(pct(lat["with-checks"], 0.99))/float64(pct(lat["without-checks"], 0.99)), "x-p99")
	b.Log("\n" + out.String())
}

// benchNode is a minimal HTTP/1.0-closing server; it counts check requests.
func benchNode(b *testing.B, checks *atomic.Int64) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				br := bufio.NewReader(c)
				for {
					line, err := br.ReadString('\n')
					if err != nil {
						return
					}
					isCheck := strings.Contains(line, "/health")
					for {
						h, err := br.ReadString('\n')
						if err != nil {
							return
						}
						if h == "\r\n" {
							break
						}
					}
					if isCheck && checks != nil {
						checks.Add(1)
					}
					io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
					if isCheck {
						return
					}
				}
			}()
		}
	}()
	return ln.Addr().String()
}

type benchStack struct {
	*stack
	stop func()
}

func startStackB(b *testing.B, text string) benchStack {
	st, stop, err := startStackErr(text)
	if err != nil {
		b.Fatal(err)
	}
	return benchStack{st, stop}
}

// benchLatencies sends sequential keep-alive GETs for d and returns each
// request's latency.
func benchLatencies(b *testing.B, addr string, d time.Duration) []time.Duration {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	br := bufio.NewReader(c)
	var out []time.Duration
	req := []byte("GET / HTTP/1.1\r\nHost: b\r\n\r\n")
	end := time.Now().Add(d)
	for time.Now().Before(end) {
		t0 := time.Now()
		if _, err := c.Write(req); err != nil {
			b.Fatal(err)
		}
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				b.Fatal(err)
			}
			if line == "\r\n" {
				break
			}
		}
		if _, err := br.Discard(2); err != nil {
			b.Fatal(err)
		}
		out = append(out, time.Since(t0))
	}
	return out
}
