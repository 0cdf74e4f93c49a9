package config

import (
	"context"
	"errors"
	"math"
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestParseDuration(t *testing.T) {
	tests := []struct {
		in      string
		want    time.Duration
		wantErr string
	}{
		{in: "0", want: 0},
		{in: "5000", want: 5 * time.Second}, // no unit: milliseconds
		{in: "1500ms", want: 1500 * time.Millisecond},
		{in: "250us", want: 250 * time.Microsecond},
		{in: "30s", want: 30 * time.Second},
		{in: "5m", want: 5 * time.Minute},
		{in: "2h", want: 2 * time.Hour},
		{in: "3d", want: 72 * time.Hour},
		{in: "007s", want: 7 * time.Second},
		{in: "106751d", want: 106751 * 24 * time.Hour},
		{in: "9223372036854775807us", wantErr: "too large"},
		{in: "106752d", wantErr: "too large"},
		{in: "9223372036854ms", want: 9223372036854 * time.Millisecond},
		{in: "9223372036855ms", wantErr: "too large"},
		{in: "99999999999999999999", wantErr: "number too large"},

		{in: "", wantErr: "missing time value"},
		{in: "s", wantErr: "unexpected character 's'"},
		{in: "-5s", wantErr: "unexpected character '-'"},
		{in: "+5s", wantErr: "unexpected character '+'"},
		{in: "10x", wantErr: "unexpected character 'x'"},
		{in: "1.5s", wantErr: "unexpected character '.'"},
		{in: "10S", wantErr: "unexpected character 'S'"},
		{in: "10sec", wantErr: "unexpected character 'e'"},
		{in: "10msx", wantErr: "unexpected character 'x'"},
		{in: "10mn", wantErr: "unexpected character 'n'"},
		{in: "10s5", wantErr: "unexpected character '5'"},
		{in: "10 s", wantErr: "unexpected character ' '"},
	}
	for _, tt := range tests {
		got, err := parseDuration(tt.in)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("parseDuration(%q) = %v, %v; want an error containing %q", tt.in, got, err, tt.wantErr)
			} else if tt.in != "" && !strings.Contains(err.Error(), "'"+tt.in+"'") {
				t.Errorf("parseDuration(%q) error %q does not quote the value", tt.in, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("parseDuration(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
}

func TestParseInt(t *testing.T) {
	tests := []struct {
		in       string
		min, max int
		want     int
		wantErr  string
	}{
		{in: "0", min: 0, max: 10, want: 0},
		{in: "10", min: 0, max: 10, want: 10},
		{in: "-3", min: -5, max: 5, want: -3},
		{in: "0042", min: 0, max: 100, want: 42},
		{in: "2147483647", min: 1, max: math.MaxInt32, want: math.MaxInt32},
		{in: "11", min: 0, max: 10, wantErr: "retries 11 out of range (0-10)"},
		{in: "-1", min: 0, max: 10, wantErr: "retries -1 out of range (0-10)"},
		{in: "2147483648", min: 1, max: math.MaxInt32, wantErr: "out of range (1-2147483647)"},
		{in: "99999999999999999999", min: 0, max: 10, wantErr: "invalid retries '99999999999999999999': out of range (0-10)"},
		{in: "", min: 0, max: 10, wantErr: "missing retries"},
		{in: "3x", min: 0, max: 10, wantErr: "unexpected character 'x'"},
		{in: "x3", min: 0, max: 10, wantErr: "unexpected character 'x'"},
		{in: "1.5", min: 0, max: 10, wantErr: "unexpected character '.'"},
		{in: "1-2", min: 0, max: 10, wantErr: "unexpected character '-'"},
		{in: " 1", min: 0, max: 10, wantErr: "unexpected character ' '"},
		{in: "-", min: 0, max: 10, wantErr: "invalid retries '-'"},
		{in: "0x10", min: 0, max: 100, wantErr: "unexpected character 'x'"},
		{in: "1_000", min: 0, max: 10000, wantErr: "unexpected character '_'"},
	}
	for _, tt := range tests {
		got, err := parseInt("retries", tt.in, tt.min, tt.max)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("parseInt(%q, %d, %d) = %d, %v; want an error containing %q", tt.in, tt.min, tt.max, got, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("parseInt(%q, %d, %d) = %d, %v; want %d", tt.in, tt.min, tt.max, got, err, tt.want)
		}
	}
}

func TestParseSize(t *testing.T) {
	tests := []struct {
		in       string
		min, max int
		want     int
		wantErr  string
	}{
		{in: "4096", min: 0, max: 1 << 30, want: 4096},
		{in: "64k", min: 0, max: 1 << 30, want: 64 << 10},
		{in: "64K", min: 0, max: 1 << 30, want: 64 << 10},
		{in: "1m", min: 0, max: 1 << 30, want: 1 << 20},
		{in: "16M", min: 0, max: 1 << 30, want: 16 << 20},
		{in: "1g", min: 0, max: 1 << 30, want: 1 << 30},
		{in: "1G", min: 0, max: 1 << 30, want: 1 << 30},
		{in: "0", min: 0, max: 10, want: 0},
		{in: "2g", min: 0, max: 1 << 30, wantErr: "tune.pipesize 2g out of range (0-1073741824 bytes)"},
		{in: "3k", min: 4096, max: 1 << 30, wantErr: "tune.pipesize 3k out of range (4096-1073741824 bytes)"},
		{in: "2147483647g", min: 0, max: math.MaxInt, want: math.MaxInt32 << 30},
		{in: "", min: 0, max: 10, wantErr: "invalid tune.pipesize ''"},
		{in: "k", min: 0, max: 10, wantErr: "invalid tune.pipesize 'k'"},
		{in: "1kb", min: 0, max: 1 << 30, wantErr: "invalid tune.pipesize '1kb': a byte count with an optional k, m or g suffix is expected"},
		{in: "1t", min: 0, max: 1 << 30, wantErr: "invalid tune.pipesize '1t'"},
		{in: "-1k", min: 0, max: 1 << 30, wantErr: "invalid tune.pipesize '-1k'"},
		{in: "1.5m", min: 0, max: 1 << 30, wantErr: "invalid tune.pipesize '1.5m'"},
	}
	for _, tt := range tests {
		got, err := parseSize("tune.pipesize", tt.in, tt.min, tt.max)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("parseSize(%q) = %d, %v; want an error containing %q", tt.in, got, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", tt.in, got, err, tt.want)
		}
	}
}

func TestParsePort(t *testing.T) {
	tests := []struct {
		in      string
		want    int
		wantErr string
	}{
		{in: "1", want: 1},
		{in: "80", want: 80},
		{in: "65535", want: 65535},
		{in: "080", want: 80},
		{in: "0", wantErr: "port 0 out of range (1-65535)"},
		{in: "65536", wantErr: "port 65536 out of range (1-65535)"},
		{in: "99999999999999999999", wantErr: "out of range (1-65535)"},
		{in: "", wantErr: "missing port"},
		{in: "http", wantErr: "invalid port 'http': unexpected character 'h'"},
		{in: "80a", wantErr: "invalid port '80a': unexpected character 'a'"},
		{in: "-1", wantErr: "unexpected character '-'"},
		{in: "+80", wantErr: "unexpected character '+'"},
	}
	for _, tt := range tests {
		got, err := parsePort(tt.in)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("parsePort(%q) = %d, %v; want an error containing %q", tt.in, got, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("parsePort(%q) = %d, %v; want %d", tt.in, got, err, tt.want)
		}
	}
}

func TestSplitHostPort(t *testing.T) {
	tests := []struct {
		in       string
		host     string
		port     string
		hasPort  bool
		wantErr  string
		describe string
	}{
		{in: "*:80", host: "*", port: "80", hasPort: true},
		{in: ":80", host: "", port: "80", hasPort: true},
		{in: ":::80", host: "::", port: "80", hasPort: true, describe: "last colon splits"},
		{in: "[::1]:80", host: "::1", port: "80", hasPort: true},
		{in: "[::1]", host: "::1", hasPort: false},
		{in: "[::1]:", host: "::1", port: "", hasPort: true},
		{in: "1.2.3.4", host: "1.2.3.4", hasPort: false},
		{in: "1.2.3.4:8080", host: "1.2.3.4", port: "8080", hasPort: true},
		{in: "1.2.3.4:", host: "1.2.3.4", port: "", hasPort: true},
		{in: "web01:+10", host: "web01", port: "+10", hasPort: true},
		{in: "fe80::1:443", host: "fe80::1", port: "443", hasPort: true},
		{in: "*:8080-8085", host: "*", port: "8080-8085", hasPort: true},
		{in: "", host: "", hasPort: false},
		{in: "[::1", wantErr: "invalid address '[::1': missing ']'"},
		{in: "[::1]80", wantErr: "unexpected character '8' after ']'"},
	}
	for _, tt := range tests {
		host, port, hasPort, err := splitHostPort(tt.in)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("splitHostPort(%q) error = %v, want one containing %q", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil || host != tt.host || port != tt.port || hasPort != tt.hasPort {
			t.Errorf("splitHostPort(%q) = %q, %q, %v, %v; want %q, %q, %v", tt.in, host, port, hasPort, err, tt.host, tt.port, tt.hasPort)
		}
	}
}

// valuesResolver answers from a table and never touches the network.
type valuesResolver struct {
	names map[string][]netip.Addr
	calls []string
}

func (r *valuesResolver) LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error) {
	r.calls = append(r.calls, network+" "+host)
	if _, ok := ctx.Deadline(); !ok {
		return nil, errors.New("lookup without a deadline")
	}
	if a, ok := r.names[host]; ok {
		return a, nil
	}
	return nil, errors.New("no such host")
}

func newValuesResolver() *valuesResolver {
	return &valuesResolver{names: map[string][]netip.Addr{
		"web01":       {netip.MustParseAddr("192.0.2.10")},
		"dual":        {netip.MustParseAddr("2001:db8::7"), netip.MustParseAddr("192.0.2.7")},
		"v6only":      {netip.MustParseAddr("2001:db8::6")},
		"mapped":      {netip.MustParseAddr("::ffff:192.0.2.9")},
		"empty":       {},
		"node-1.lan":  {netip.MustParseAddr("192.0.2.11")},
		"under_score": {netip.MustParseAddr("192.0.2.12")},
	}}
}

func TestResolveHost(t *testing.T) {
	tests := []struct {
		in      string
		want    string
		wantErr string
	}{
		{in: "10.0.0.2", want: "10.0.0.2"},
		{in: "::1", want: "::1"},
		{in: "::ffff:10.0.0.2", want: "10.0.0.2"},
		{in: "ipv4@10.0.0.2", want: "10.0.0.2"},
		{in: "ipv6@2001:db8::1", want: "2001:db8::1"},
		{in: "web01", want: "192.0.2.10"},
		{in: "node-1.lan", want: "192.0.2.11"},
		{in: "under_score", want: "192.0.2.12"},
		{in: "dual", want: "192.0.2.7"},
		{in: "v6only", want: "2001:db8::6"},
		{in: "mapped", want: "192.0.2.9"},
		{in: "10.0.0.300", wantErr: "invalid address '10.0.0.300'"},
		{in: "10.0.0", wantErr: "invalid address '10.0.0'"},
		{in: "1.2.3.4.5", wantErr: "invalid address '1.2.3.4.5'"},
		{in: "256.1.1.1", wantErr: "invalid address '256.1.1.1'"},
		{in: "2001:db8::g", wantErr: "invalid address '2001:db8::g'"},
		{in: "fe80::1%eth0", wantErr: "zones are not supported"},
		{in: "web 01", wantErr: "unexpected character ' '"},
		{in: "*", wantErr: "unexpected character '*'"},
		{in: "", wantErr: "missing address"},
		{in: "unknown", wantErr: "could not resolve address 'unknown'"},
		{in: "empty", wantErr: "could not resolve address 'empty'"},
	}
	for _, tt := range tests {
		r := newValuesResolver()
		got, err := resolveHost(r, tt.in)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("resolveHost(%q) = %v, %v; want an error containing %q", tt.in, got, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != netip.MustParseAddr(tt.want) {
			t.Errorf("resolveHost(%q) = %v, %v; want %s", tt.in, got, err, tt.want)
		}
	}

	// Literal addresses never reach the resolver.
	r := newValuesResolver()
	if _, err := resolveHost(r, "10.0.0.300"); err == nil {
		t.Error("resolveHost(10.0.0.300) succeeded")
	}
	if _, err := resolveHost(r, "192.0.2.1"); err != nil {
		t.Error(err)
	}
	if len(r.calls) != 0 {
		t.Errorf("literal addresses were looked up: %q", r.calls)
	}
	if _, err := resolveHost(r, "web01"); err != nil {
		t.Error(err)
	}
	if want := []string{"ip web01"}; !reflect.DeepEqual(r.calls, want) {
		t.Errorf("resolver calls = %q, want %q", r.calls, want)
	}
}

func TestResolveHostRefusesNames(t *testing.T) {
	// The parser turns NoResolver into a nil resolver; both must refuse.
	for _, r := range []Resolver{nil, NoResolver} {
		if a, err := resolveHost(r, "localhost"); err == nil {
			t.Errorf("resolveHost(%T, localhost) = %v, want an error", r, a)
		} else if !strings.Contains(err.Error(), "'localhost'") {
			t.Errorf("error %q does not name the host", err)
		}
		if a, err := resolveHost(r, "127.0.0.1"); err != nil || a != netip.MustParseAddr("127.0.0.1") {
			t.Errorf("resolveHost(%T, 127.0.0.1) = %v, %v", r, a, err)
		}
	}
	_, err := resolveHost(nil, "web01")
	if err == nil || !strings.Contains(err.Error(), "name resolution is disabled") {
		t.Errorf("resolveHost(nil, web01) error = %v, want 'name resolution is disabled'", err)
	}
}

func TestParseBindAddrs(t *testing.T) {
	ap := netip.MustParseAddrPort
	tests := []struct {
		in      string
		want    []netip.AddrPort
		wantErr string
	}{
		{in: "*:80", want: []netip.AddrPort{ap("0.0.0.0:80")}},
		{in: ":80", want: []netip.AddrPort{ap("0.0.0.0:80")}},
		{in: ":::80", want: []netip.AddrPort{ap("[::]:80")}},
		{in: "[::]:80", want: []netip.AddrPort{ap("[::]:80")}},
		{in: "[::1]:8443", want: []netip.AddrPort{ap("[::1]:8443")}},
		{in: "127.0.0.1:8080", want: []netip.AddrPort{ap("127.0.0.1:8080")}},
		{in: "ipv4@:80", want: []netip.AddrPort{ap("0.0.0.0:80")}},
		{in: "ipv6@:80", want: []netip.AddrPort{ap("[::]:80")}},
		{in: "ipv6@*:80", want: []netip.AddrPort{ap("[::]:80")}},
		{in: "web01:80", want: []netip.AddrPort{ap("192.0.2.10:80")}},
		{in: "*:8080-8085", want: []netip.AddrPort{
			ap("0.0.0.0:8080"), ap("0.0.0.0:8081"), ap("0.0.0.0:8082"),
			ap("0.0.0.0:8083"), ap("0.0.0.0:8084"), ap("0.0.0.0:8085"),
		}},
		{in: "127.0.0.1:9000-9000", want: []netip.AddrPort{ap("127.0.0.1:9000")}},
		{in: "127.0.0.1:80,127.0.0.2:81-82,[::1]:83", want: []netip.AddrPort{
			ap("127.0.0.1:80"), ap("127.0.0.2:81"), ap("127.0.0.2:82"), ap("[::1]:83"),
		}},
		{in: "*:8085-8080", wantErr: "invalid port range '8085-8080': 8080 is below 8085"},
		{in: "*:80-", wantErr: "missing port"},
		{in: "*:-80", wantErr: "missing port"},
		{in: "*:80-90-100", wantErr: "invalid port '90-100'"},
		{in: "*:0-2", wantErr: "port 0 out of range"},
		{in: "*:65535-65536", wantErr: "port 65536 out of range"},
		{in: "127.0.0.1", wantErr: "missing port in bind address '127.0.0.1'"},
		{in: "[::1]", wantErr: "missing port in bind address '[::1]'"},
		{in: "*:80,127.0.0.1", wantErr: "missing port in bind address '127.0.0.1'"},
		{in: "*:", wantErr: "missing port"},
		{in: "*:http", wantErr: "unexpected character 'h'"},
		{in: "*:80,", wantErr: "empty address in '*:80,'"},
		{in: ",*:80", wantErr: "empty address"},
		{in: "", wantErr: "empty address"},
		{in: "10.0.0.300:80", wantErr: "invalid address '10.0.0.300'"},
		{in: "unknown:80", wantErr: "could not resolve address 'unknown'"},
		{in: "[::1:80", wantErr: "missing ']'"},
	}
	for _, tt := range tests {
		got, err := parseBindAddrs(newValuesResolver(), tt.in)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("parseBindAddrs(%q) = %v, %v; want an error containing %q", tt.in, got, err, tt.wantErr)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("parseBindAddrs(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}

	// A name is refused without a resolver, a literal is not.
	if _, err := parseBindAddrs(nil, "web01:80"); err == nil {
		t.Error("parseBindAddrs(nil, web01:80) succeeded without a resolver")
	}
	if got, err := parseBindAddrs(nil, "127.0.0.1:80"); err != nil || len(got) != 1 {
		t.Errorf("parseBindAddrs(nil, 127.0.0.1:80) = %v, %v", got, err)
	}
}

func TestParseServerAddr(t *testing.T) {
	ap := netip.MustParseAddrPort
	tests := []struct {
		in      string
		addr    netip.AddrPort
		mode    PortMode
		delta   int
		wantErr string
	}{
		{in: "10.0.0.2:80", addr: ap("10.0.0.2:80"), mode: PortFixed},
		{in: "10.0.0.2", addr: ap("10.0.0.2:0"), mode: PortSame},
		{in: "10.0.0.2:", addr: ap("10.0.0.2:0"), mode: PortSame},
		{in: "[2001:db8::1]", addr: ap("[2001:db8::1]:0"), mode: PortSame},
		{in: "[2001:db8::1]:8080", addr: ap("[2001:db8::1]:8080"), mode: PortFixed},
		{in: "10.0.0.2:+1", addr: ap("10.0.0.2:0"), mode: PortOffset, delta: 1},
		{in: "10.0.0.2:-1", addr: ap("10.0.0.2:0"), mode: PortOffset, delta: -1},
		{in: "10.0.0.2:+1000", addr: ap("10.0.0.2:0"), mode: PortOffset, delta: 1000},
		{in: "10.0.0.2:-0", addr: ap("10.0.0.2:0"), mode: PortOffset, delta: 0},
		{in: "web01:8080", addr: ap("192.0.2.10:8080"), mode: PortFixed},
		{in: "web01", addr: ap("192.0.2.10:0"), mode: PortSame},
		{in: "web01:+2", addr: ap("192.0.2.10:0"), mode: PortOffset, delta: 2},
		{in: "dual:80", addr: ap("192.0.2.7:80"), mode: PortFixed},
		{in: "v6only:80", addr: ap("[2001:db8::6]:80"), mode: PortFixed},
		{in: "ipv4@10.0.0.2:80", addr: ap("10.0.0.2:80"), mode: PortFixed},

		{in: "10.0.0.2:+", wantErr: "missing port offset"},
		{in: "10.0.0.2:+x", wantErr: "unexpected character 'x'"},
		{in: "10.0.0.2:+65536", wantErr: "out of range"},
		{in: "10.0.0.2:0", wantErr: "port 0 out of range"},
		{in: "10.0.0.2:65536", wantErr: "port 65536 out of range"},
		{in: "10.0.0.2:http", wantErr: "unexpected character 'h'"},
		{in: "10.0.0.300:80", wantErr: "invalid address '10.0.0.300'"},
		{in: "0.0.0.0:80", wantErr: "the unspecified address cannot be connected to"},
		{in: "[::]:80", wantErr: "the unspecified address cannot be connected to"},
		{in: "*:80", wantErr: "unexpected character '*'"},
		{in: ":80", wantErr: "missing address"},
		{in: "unknown:80", wantErr: "could not resolve address 'unknown'"},
		{in: "[::1", wantErr: "missing ']'"},
	}
	for _, tt := range tests {
		addr, mode, delta, err := parseServerAddr(newValuesResolver(), tt.in)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("parseServerAddr(%q) = %v, %v, %d, %v; want an error containing %q", tt.in, addr, mode, delta, err, tt.wantErr)
			}
			continue
		}
		if err != nil || addr != tt.addr || mode != tt.mode || delta != tt.delta {
			t.Errorf("parseServerAddr(%q) = %v, %v, %d, %v; want %v, %v, %d", tt.in, addr, mode, delta, err, tt.addr, tt.mode, tt.delta)
		}
	}
}

func TestParseServerAddrNoResolver(t *testing.T) {
	for _, r := range []Resolver{nil, NoResolver} {
		if _, _, _, err := parseServerAddr(r, "web01:80"); err == nil || !strings.Contains(err.Error(), "could not resolve address 'web01'") {
			t.Errorf("parseServerAddr(%T, web01:80) error = %v, want a refusal naming web01", r, err)
		}
		addr, mode, _, err := parseServerAddr(r, "127.0.0.1:8080")
		if err != nil || addr != netip.MustParseAddrPort("127.0.0.1:8080") || mode != PortFixed {
			t.Errorf("parseServerAddr(%T, 127.0.0.1:8080) = %v, %v, %v", r, addr, mode, err)
		}
	}
}

// TestResolverReachesParse checks that Options.Resolver reaches server, bind
// and log addresses, and that NoResolver refuses names with file:line.
func TestResolverReachesParse(t *testing.T) {
	const cfg = `global
	log web01:514 local0
frontend fe
	bind web01:8080
	default_backend be
backend be
	server s1 web01:80
	server s2 dual
`
	r := newValuesResolver()
	c, err := Parse("r.cfg", []byte(cfg), Options{Resolver: r})
	if err != nil {
		t.Fatalf("Parse with a fake resolver: %v", err)
	}
	if got := c.Global.Logs[0].Addr; got != netip.MustParseAddrPort("192.0.2.10:514") {
		t.Errorf("log address = %v", got)
	}
	if got := c.Frontends()[0].Binds[0].Addr; got != netip.MustParseAddrPort("192.0.2.10:8080") {
		t.Errorf("bind address = %v", got)
	}
	be := c.Backend("be")
	if got := be.Servers[0].Addr; got != netip.MustParseAddrPort("192.0.2.10:80") {
		t.Errorf("server s1 address = %v", got)
	}
	if got := be.Servers[1]; got.Addr.Addr() != netip.MustParseAddr("192.0.2.7") || got.PortMode != PortSame {
		t.Errorf("server s2 = %v %v", got.Addr, got.PortMode)
	}
	if len(r.calls) != 4 {
		t.Errorf("resolver calls = %q, want 4", r.calls)
	}

	_, err = Parse("r.cfg", []byte(cfg), Options{Resolver: NoResolver})
	var list ErrorList
	if !errors.As(err, &list) {
		t.Fatalf("Parse with NoResolver: error %v is not an ErrorList", err)
	}
	var lines []int
	for _, e := range list {
		lines = append(lines, e.Pos.Line)
		if e.Pos.Line == 3 {
			continue // the frontend has no usable bind line: a consequence of line 4
		}
		if !strings.Contains(e.Msg, "'web01'") && !strings.Contains(e.Msg, "'dual'") {
			t.Errorf("error %q does not name the host", e)
		}
	}
	if want := []int{2, 3, 4, 7, 8}; !reflect.DeepEqual(lines, want) {
		t.Errorf("errors at lines %v, want %v:\n%v", lines, want, err)
	}
}
