package config

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// An "fd@N" address names a socket that fjord inherits instead of
// creating: descriptor N, opened and left open across exec by the process
// that started fjord (systemd's socket activation, VTest, a supervisor).
// The parser only reads the number; whether N is an open listening socket
// is a fact of the running process, checked when fjord starts (as HAProxy
// does), not by 'fjord -c', which runs where the socket does not exist.

const (
	fdPrefix       = "fd@"
	sockpairPrefix = "sockpair@"
)

// maxFD bounds N in fd@N: the kernel's own ceiling on descriptor numbers
// (fs.nr_open cannot exceed 2^30), so that a typo is an error here rather
// than a descriptor that can never be open.
const maxFD = 1 << 30

// stdNames names descriptors 0-2 in the error that refuses them.
var stdNames = [3]string{"standard input", "standard output", "standard error"}

// parseFDAddr reads an address that may be "fd@N". isFD is false, with no
// error, for any other address. Errors do not repeat the address: the
// caller names it with its line. "sockpair@N" is refused: HAProxy passes
// accepted connections over such a socket pair (its master CLI), which is
// not a listening socket, and fjord has no use for it (see
// docs/configuration.md).
func parseFDAddr(s string) (fd int, isFD bool, err error) {
	if strings.HasPrefix(s, sockpairPrefix) {
		return 0, false, fmt.Errorf("sockpair@ addresses are not supported: HAProxy receives accepted connections over such a socket pair from its own master process, and fjord has no master-worker mode; for a listening socket inherited from a supervisor or systemd, use fd@N")
	}
	n, ok := strings.CutPrefix(s, fdPrefix)
	if !ok {
		return 0, false, nil
	}
	if n == "" {
		return 0, true, fmt.Errorf("fd@ expects a descriptor number, as in fd@3")
	}
	for i := 0; i < len(n); i++ {
		if n[i] < '0' || n[i] > '9' {
			return 0, true, fmt.Errorf("'%s' is not a descriptor number (fd@ expects a decimal number, as in fd@3)", n)
		}
	}
	fd, err = strconv.Atoi(n)
	if err != nil || fd >= maxFD {
		return 0, true, fmt.Errorf("descriptor %s is out of range (at most %d)", n, maxFD-1)
	}
	if fd <= 2 {
		// Refused here, with the line, rather than at start: fjord never
		// takes 0-2 as inherited sockets (they carry its own input and
		// messages), so the start-time check could only say "not open",
		// which would send the user looking for the wrong fault.
		return 0, true, fmt.Errorf("descriptor %d is %s: fjord keeps descriptors 0-2 for its own input and messages and does not listen on them; have the socket passed as descriptor 3 or above (systemd and VTest do so)", fd, stdNames[fd])
	}
	return fd, true, nil
}

// bindTarget is one item of a bind line's address list: an address, a
// Unix socket, or an inherited socket.
type bindTarget struct {
	addr      netip.AddrPort
	unix      UnixAddr
	fd        int
	inherited bool
}

// parseBindTargets parses the first argument of "bind": a comma-separated
// list whose items are fd@N, a Unix socket (parseUnixAddr) or what
// parseBindAddrs reads.
func parseBindTargets(r Resolver, s string) ([]bindTarget, error) {
	var out []bindTarget
	for _, item := range strings.Split(s, ",") {
		fd, isFD, err := parseFDAddr(item)
		if err != nil {
			return nil, err
		}
		if isFD {
			out = append(out, bindTarget{fd: fd, inherited: true})
			continue
		}
		u, isUnix, err := parseUnixAddr(item, true)
		if err != nil {
			if item != s {
				err = fmt.Errorf("'%s': %w", item, err)
			}
			return nil, err
		}
		if isUnix {
			out = append(out, bindTarget{unix: u})
			continue
		}
		addrs, err := parseBindAddrs(r, item)
		if err != nil {
			return nil, err
		}
		for _, a := range addrs {
			out = append(out, bindTarget{addr: a})
		}
	}
	return out, nil
}

// String is the bind's address as messages name it: the address, the
// Unix socket, or fd@N for an inherited socket.
func (b *Bind) String() string {
	switch {
	case b.Inherited:
		return fdPrefix + strconv.Itoa(b.FD)
	case b.Unix.IsValid():
		return b.Unix.String()
	}
	return b.Addr.String()
}

// setAddress reads the address of a "stats socket" line: a path (with or
// without "unix@"), fd@N, or ADDR:PORT (with or without "ipv4@"/"ipv6@")
// for the runtime API on TCP. The API has no authentication, so fjord
// serves it on TCP only on a loopback address, where HAProxy takes any:
// every local user could reach it anyway, and nobody else can.
func (s *StatsSocket) setAddress(r Resolver, arg string) error {
	fd, isFD, err := parseFDAddr(arg)
	if err != nil {
		return fmt.Errorf("'stats socket %s': %v", arg, err)
	}
	if isFD {
		s.Inherited, s.FD = true, fd
		return nil
	}
	switch {
	case strings.HasPrefix(arg, "unix@"):
		s.Path = strings.TrimPrefix(arg, "unix@")
	case strings.HasPrefix(arg, "/"):
		s.Path = arg
	// A word with a '/' is a path, even with a ':' in it (run/admin:1.sock),
	// as before fjord served TCP sockets; HAProxy reads it so too.
	case strings.HasPrefix(arg, "ipv4@") || strings.HasPrefix(arg, "ipv6@") || !hasAddrPrefix(arg) && strings.Contains(arg, ":") && !strings.Contains(arg, "/"):
		addrs, err := parseBindAddrs(r, arg)
		if err != nil {
			return fmt.Errorf("'stats socket %s': %v", arg, err)
		}
		if len(addrs) != 1 {
			return fmt.Errorf("'stats socket %s': expects one address and one port, as in 127.0.0.1:9999", arg)
		}
		a := addrs[0]
		if !a.Addr().IsLoopback() {
			return fmt.Errorf("'stats socket %s': fjord serves the runtime API on TCP only on a loopback address (127.0.0.1, ::1): it has no authentication, and at level admin anyone who reaches it can stop servers; use a Unix socket with 'mode' for local users, and an SSH tunnel to reach it from elsewhere", arg)
		}
		s.Addr = a
		return nil
	case hasAddrPrefix(arg):
		return fmt.Errorf("'stats socket %s': unsupported address prefix '%s' (supported: a path, unix@PATH, fd@N, ADDR:PORT, ipv4@ADDR:PORT, ipv6@ADDR:PORT)", arg, arg[:strings.IndexByte(arg, '@')+1])
	default:
		s.Path = arg // a relative path
	}
	if s.Path == "" {
		return fmt.Errorf("'stats socket %s': expects a path after unix@", arg)
	}
	return nil
}

// hasAddrPrefix reports whether s starts with a family prefix such as
// "abns@" or "udp@": a word of letters, digits and '+', then '@'.
func hasAddrPrefix(s string) bool {
	i := strings.IndexByte(s, '@')
	if i <= 0 {
		return false
	}
	for _, c := range s[:i] {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '+') {
			return false
		}
	}
	return true
}

// checkMode refuses 'mode' where there is no file to give it to.
func (s *StatsSocket) checkMode() error {
	if s.Mode != 0 && s.Path == "" {
		return fmt.Errorf("'stats socket %s': 'mode' sets the permissions of a Unix socket file, and this socket has none", s)
	}
	return nil
}

// String is the socket's address as messages name it: the path, the TCP
// address, or fd@N.
func (s StatsSocket) String() string {
	switch {
	case s.Inherited:
		return fdPrefix + strconv.Itoa(s.FD)
	case s.Addr.IsValid():
		return s.Addr.String()
	}
	return s.Path
}

// fdBindOption refuses the bind options an inherited socket cannot take:
// whoever bound it chose them already.
func fdBindOption(targets []bindTarget, opt string) error {
	for _, t := range targets {
		if t.inherited {
			return fmt.Errorf("bind option '%s' cannot apply to fd@%d: the inherited socket is already bound, and IPV6_V6ONLY cannot change after bind(2) (under systemd, set BindIPv6Only= in the socket unit)", opt, t.fd)
		}
	}
	return nil
}

// validateInheritedFDs refuses a descriptor named twice: one socket
// accepts for one frontend or one runtime API, and two users would take
// connections from each other at random.
func (p *parser) validateInheritedFDs() {
	used := map[int]Pos{}
	claim := func(pos Pos, fd int, what string) {
		if prev, ok := used[fd]; ok {
			p.errorf(pos, "%s: fd@%d is already used at %s: an inherited socket serves one bind or one stats socket", what, fd, prev)
			return
		}
		used[fd] = pos
	}
	for _, s := range p.cfg.Global.StatsSockets {
		if s.Inherited {
			claim(s.Pos, s.FD, "stats socket")
		}
	}
	for _, px := range p.cfg.Frontends() {
		for _, b := range px.Binds {
			if b.Inherited {
				claim(b.Pos, b.FD, px.String())
			}
		}
	}
}
