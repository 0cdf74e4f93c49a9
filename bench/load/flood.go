package load

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"
)

// FloodConfig is a handshake flood: Conns connections at a time, each a
// full TLS handshake, one small request and close, closed loop, for
// Warmup then Duration.
type FloodConfig struct {
	Addrs            []string // loopback only
	Conns            int
	Warmup, Duration time.Duration
	TLS              *tls.Config // ClientTLS: no resumption
	Path             string      // "" is /body
	RespSize         int         // -1 accepts any size
}

// FloodReport is what a flood did in its measured window, as the flood
// process (bench/cmd/tlsflood) prints it in JSON for the harness.
type FloodReport struct {
	Handshakes int64            `json:"handshakes"` // each with its request, answered
	Errors     int64            `json:"errors"`
	PerSec     float64          `json:"per_s"`
	Elapsed    float64          `json:"elapsed_s"`
	CPU        float64          `json:"cpu_s"` // the flood process's own
	TLS        map[string]int64 `json:"tls,omitempty"`
	FirstError string           `json:"first_error,omitempty"`
}

// Flood runs a handshake flood. It is bounded in time and in connections
// at once, and refuses anything but loopback addresses.
func Flood(ctx context.Context, cfg FloodConfig) (*FloodReport, error) {
	switch {
	case cfg.TLS == nil:
		return nil, errors.New("flood: no TLS configuration")
	case cfg.Conns < 1 || cfg.Conns > 1000:
		return nil, fmt.Errorf("flood: %d connections at once; want 1 to 1000", cfg.Conns)
	case cfg.Duration <= 0 || cfg.Duration+cfg.Warmup > time.Hour:
		return nil, fmt.Errorf("flood: %v and %v of warm-up; want a duration above 0, an hour at most in all", cfg.Duration, cfg.Warmup)
	}
	for _, a := range cfg.Addrs {
		host, _, err := net.SplitHostPort(a)
		if ip := net.ParseIP(host); err != nil || ip == nil || !ip.IsLoopback() {
			return nil, fmt.Errorf("flood: %s is not a loopback address", a)
		}
	}
	res, err := Run(ctx, Config{
		Addrs: cfg.Addrs, Conns: cfg.Conns, Warmup: cfg.Warmup, Duration: cfg.Duration,
		KeepAlive: false, Path: cfg.Path, RespSize: cfg.RespSize, Timeout: 5 * time.Second, TLS: cfg.TLS,
	})
	if err != nil {
		return nil, err
	}
	r := &FloodReport{
		Handshakes: res.Requests, Errors: res.Errors, PerSec: res.ReqPerSec(),
		Elapsed: res.Elapsed.Seconds(), CPU: res.GenCPU.Seconds(), TLS: res.TLS,
	}
	if res.FirstError != nil {
		r.FirstError = res.FirstError.Error()
	}
	return r, nil
}

// FloodLine finds the flood's report in the output of the flood process:
// its last line that is a JSON object.
func FloodLine(out string) (string, bool) {
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if l := strings.TrimSpace(lines[i]); strings.HasPrefix(l, "{") {
			return l, true
		}
	}
	return "", false
}
