package config

import (
	"context"
	"fmt"
	"math"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// Resolver turns a host name into an address. Tests and fuzzing inject one
// that never touches the network.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// resolveTimeout bounds a name lookup so that `fjord -c` on a host without
// DNS answers instead of hanging.
const resolveTimeout = 3 * time.Second

// maxPortRange bounds how many listeners one "bind" port range creates.
const maxPortRange = 1024

// parseDuration parses an HAProxy time value: digits with an optional unit
// among us, ms, s, m, h, d; without a unit the value is in milliseconds.
func parseDuration(s string) (time.Duration, error) {
	if s == "" {
		return 0, fmt.Errorf("missing time value")
	}
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	if i == 0 {
		return 0, fmt.Errorf("invalid time value '%s': unexpected character '%c', a number is expected first", s, s[0])
	}
	n, err := strconv.ParseInt(s[:i], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("invalid time value '%s': number too large", s)
	}
	var unit time.Duration
	switch rest := s[i:]; rest {
	case "us":
		unit = time.Microsecond
	case "", "ms":
		unit = time.Millisecond
	case "s":
		unit = time.Second
	case "m":
		unit = time.Minute
	case "h":
		unit = time.Hour
	case "d":
		unit = 24 * time.Hour
	default:
		// Name the first character that cannot be part of a valid value:
		// in "10sec" it is the 'e' after the unit 's', as in HAProxy.
		bad := 0
		for _, u := range []string{"us", "ms", "s", "m", "h", "d"} {
			if strings.HasPrefix(rest, u) {
				bad = len(u)
				break
			}
		}
		return 0, fmt.Errorf("invalid time value '%s': unexpected character '%c' (units: us, ms, s, m, h, d)", s, rest[bad])
	}
	if n > int64(math.MaxInt64/unit) {
		return 0, fmt.Errorf("invalid time value '%s': too large", s)
	}
	return time.Duration(n) * unit, nil
}

// parseInt parses a decimal integer within [min, max].
func parseInt(what, s string, min, max int) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil {
		for i := 0; i < len(s); i++ {
			if (s[i] < '0' || s[i] > '9') && !(i == 0 && s[i] == '-') {
				return 0, fmt.Errorf("invalid %s '%s': unexpected character '%c', an integer is expected", what, s, s[i])
			}
		}
		if s == "" {
			return 0, fmt.Errorf("missing %s", what)
		}
		return 0, fmt.Errorf("invalid %s '%s': out of range (%d-%d)", what, s, min, max)
	}
	if n < min || n > max {
		return 0, fmt.Errorf("%s %d out of range (%d-%d)", what, n, min, max)
	}
	return n, nil
}

// parseSize parses a byte count with an optional k, m or g suffix (powers of
// 1024), within [min, max].
func parseSize(what, s string, min, max int) (int, error) {
	mult := 1
	num := s
	if n := len(s); n > 0 {
		switch s[n-1] {
		case 'k', 'K':
			mult, num = 1<<10, s[:n-1]
		case 'm', 'M':
			mult, num = 1<<20, s[:n-1]
		case 'g', 'G':
			mult, num = 1<<30, s[:n-1]
		}
	}
	n, err := parseInt(what, num, 0, math.MaxInt32)
	if err != nil {
		return 0, fmt.Errorf("invalid %s '%s': a byte count with an optional k, m or g suffix is expected", what, s)
	}
	v := n * mult
	if v < min || v > max {
		return 0, fmt.Errorf("%s %s out of range (%d-%d bytes)", what, s, min, max)
	}
	return v, nil
}

// parsePort parses a TCP port number 1-65535.
func parsePort(s string) (int, error) {
	if s == "" {
		return 0, fmt.Errorf("missing port")
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, fmt.Errorf("invalid port '%s': unexpected character '%c'", s, s[i])
		}
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > 65535 {
		return 0, fmt.Errorf("port %s out of range (1-65535)", s)
	}
	return n, nil
}

// splitHostPort splits HOST:PORT, [IPV6]:PORT or a bare HOST. As in HAProxy,
// an unbracketed address splits at its last colon, so ":::80" is [::]:80.
func splitHostPort(s string) (host, port string, hasPort bool, err error) {
	if strings.HasPrefix(s, "[") {
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return "", "", false, fmt.Errorf("invalid address '%s': missing ']'", s)
		}
		host, rest := s[1:end], s[end+1:]
		if rest == "" {
			return host, "", false, nil
		}
		if rest[0] != ':' {
			return "", "", false, fmt.Errorf("invalid address '%s': unexpected character '%c' after ']'", s, rest[0])
		}
		return host, rest[1:], true, nil
	}
	i := strings.LastIndexByte(s, ':')
	if i < 0 {
		return s, "", false, nil
	}
	return s[:i], s[i+1:], true, nil
}

// resolveHost turns a host into an address: a literal IPv4/IPv6 address, or
// a name looked up with r (IPv4 preferred, as getaddrinfo usually orders).
func resolveHost(r Resolver, host string) (netip.Addr, error) {
	want := 0 // address family the prefix demands: 4, 6 or 0 for any
	switch {
	case strings.HasPrefix(host, "ipv4@"):
		host, want = host[5:], 4
	case strings.HasPrefix(host, "ipv6@"):
		host, want = host[5:], 6
	}
	a, err := resolveAnyHost(r, host)
	if err != nil {
		return a, err
	}
	if want == 4 && !a.Is4() || want == 6 && a.Is4() {
		return netip.Addr{}, fmt.Errorf("address '%s' is not an IPv%d address as its 'ipv%d@' prefix demands", host, want, want)
	}
	return a, nil
}

func resolveAnyHost(r Resolver, host string) (netip.Addr, error) {
	if a, err := netip.ParseAddr(host); err == nil {
		if a.Zone() != "" {
			return netip.Addr{}, fmt.Errorf("invalid address '%s': zones are not supported", host)
		}
		return a.Unmap(), nil
	} else if looksNumeric(host) || strings.Contains(host, ":") {
		return netip.Addr{}, fmt.Errorf("invalid address '%s': %s", host, trimNetipErr(err))
	}
	if i := strings.IndexFunc(host, func(r rune) bool { return !isHostChar(r) }); i >= 0 {
		return netip.Addr{}, fmt.Errorf("invalid address '%s': unexpected character %q", host, host[i])
	}
	if host == "" {
		return netip.Addr{}, fmt.Errorf("missing address")
	}
	if r == nil {
		return netip.Addr{}, fmt.Errorf("could not resolve address '%s': name resolution is disabled", host)
	}
	ctx, cancel := context.WithTimeout(context.Background(), resolveTimeout)
	defer cancel()
	addrs, err := r.LookupNetIP(ctx, "ip", host)
	if err != nil || len(addrs) == 0 {
		return netip.Addr{}, fmt.Errorf("could not resolve address '%s'", host)
	}
	for _, a := range addrs {
		if a.Unmap().Is4() {
			return a.Unmap(), nil
		}
	}
	return addrs[0], nil
}

func looksNumeric(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if (s[i] < '0' || s[i] > '9') && s[i] != '.' {
			return false
		}
	}
	return true
}

func isHostChar(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '.' || r == '_'
}

// parseBindAddrs parses the first argument of "bind": a comma-separated list
// of ADDR:PORT or ADDR:PORT1-PORT2, where ADDR may be empty or "*" (every
// IPv4 address), "::" (every address), a literal or a host name.
func parseBindAddrs(r Resolver, s string) ([]netip.AddrPort, error) {
	var out []netip.AddrPort
	for _, item := range strings.Split(s, ",") {
		if item == "" {
			return nil, fmt.Errorf("empty address in '%s'", s)
		}
		host, port, hasPort, err := splitHostPort(item)
		if err != nil {
			return nil, err
		}
		if !hasPort {
			return nil, fmt.Errorf("missing port in bind address '%s'", item)
		}
		var addr netip.Addr
		switch host {
		case "", "*", "ipv4@", "ipv4@*":
			addr = netip.IPv4Unspecified()
		case "ipv6@", "ipv6@*":
			addr = netip.IPv6Unspecified()
		default:
			if addr, err = resolveHost(r, host); err != nil {
				return nil, err
			}
		}
		lo, hi := port, port
		if a, b, ok := strings.Cut(port, "-"); ok {
			lo, hi = a, b
		}
		first, err := parsePort(lo)
		if err != nil {
			return nil, err
		}
		last, err := parsePort(hi)
		if err != nil {
			return nil, err
		}
		if last < first {
			return nil, fmt.Errorf("invalid port range '%s': %d is below %d", port, last, first)
		}
		if last-first >= maxPortRange {
			return nil, fmt.Errorf("port range '%s' has %d ports: at most %d per bind (each port is a listening socket on every event loop)", port, last-first+1, maxPortRange)
		}
		for p := first; p <= last; p++ {
			out = append(out, netip.AddrPortFrom(addr, uint16(p)))
		}
	}
	return out, nil
}

// parseServerAddr parses a server address: HOST, HOST:PORT, HOST:+N, HOST:-N.
func parseServerAddr(r Resolver, s string) (netip.AddrPort, PortMode, int, error) {
	host, port, hasPort, err := splitHostPort(s)
	if err != nil {
		return netip.AddrPort{}, 0, 0, err
	}
	addr, err := resolveHost(r, host)
	if err != nil {
		return netip.AddrPort{}, 0, 0, err
	}
	if addr.IsUnspecified() {
		return netip.AddrPort{}, 0, 0, fmt.Errorf("invalid server address '%s': the unspecified address cannot be connected to", s)
	}
	if !hasPort || port == "" {
		return netip.AddrPortFrom(addr, 0), PortSame, 0, nil
	}
	if port[0] == '+' || port[0] == '-' {
		n, err := parseInt("port offset", port[1:], 0, 65535)
		if err != nil {
			return netip.AddrPort{}, 0, 0, err
		}
		if port[0] == '-' {
			n = -n
		}
		return netip.AddrPortFrom(addr, 0), PortOffset, n, nil
	}
	p, err := parsePort(port)
	if err != nil {
		return netip.AddrPort{}, 0, 0, err
	}
	return netip.AddrPortFrom(addr, uint16(p)), PortFixed, 0, nil
}

// net.DefaultResolver satisfies Resolver.
var _ Resolver = net.DefaultResolver
