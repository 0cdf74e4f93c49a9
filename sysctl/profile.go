package sysctl

import (
	"fmt"
	"math"
	"math/bits"
	"os"
	"slices"
	"strconv"
	"strings"
)

// Needs is what the configuration asks of the kernel; Profile turns it
// into settings. The zero value gives the profile's floors alone.
type Needs struct {
	MaxConn  int    // global maxconn, for the reasons' wording
	NoFile   uint64 // the RLIMIT_NOFILE fjord asks for (NoFileNeeded, or ulimit-n)
	Backlog  int    // the largest listen(2) backlog any bind asks for
	PipeSize int    // tune.pipesize in bytes
	Pipes    uint64 // splice pipes held at once at most (MaxPipes)
	// BulkPipes of the Pipes may be grown to BulkPipeSize bytes for
	// bulk flows.
	BulkPipes    uint64
	BulkPipeSize int
	Ports        []uint16 // ports fjord listens on
	// ServerPorts are the ports of servers on this host (an address of
	// this network namespace): a web node on 127.0.0.1:8081 must be able
	// to bind its port again after a restart.
	ServerPorts []uint16
	// Listening are the ports something listens on in this network
	// namespace (Tuner.Listening). Those the widened range would newly
	// hand out as source ports are reserved.
	Listening []uint16
	// RangeLow and RangeHigh are the ephemeral port range as it is
	// before fjord widens it (Tuner.RangeBefore): a listener outside it
	// is newly exposed by the widening. Zero: Linux's default range.
	RangeLow, RangeHigh uint16
}

// The profile's floors: what a busy proxy wants whatever its configuration.
const (
	// FileMaxFloor is the seed article's fs.file-max.
	FileMaxFloor = 100000
	// BacklogFloor is Linux's somaxconn default since 5.4; older kernels
	// had 128, which drops connections in any burst.
	BacklogFloor = 4096
	// PortRangeLow and PortRangeHigh are the seed article's ephemeral
	// port range: 1024 is ip_unprivileged_port_start's default, below
	// which the kernel refuses the range, and the high end leaves 512 ports
	// above it for services.
	PortRangeLow, PortRangeHigh = 1024, 65023
	// KernelPortRangeLow and KernelPortRangeHigh are Linux's default
	// ephemeral port range, which Needs.RangeLow and RangeHigh default
	// to. A service listening inside the range in force has lived with
	// source ports taking its port (and most such listeners asked for
	// port 0 and got an ephemeral one), so only the listeners the
	// widening newly exposes are reserved for them.
	KernelPortRangeLow, KernelPortRangeHigh = 32768, 60999
	// FinTimeout is the FIN_WAIT_2 timeout fjord wants, half the default.
	FinTimeout = 30

	// nrOpenMax is the largest fs.nr_open a 64-bit kernel takes
	// (sysctl_nr_open_max: INT_MAX rounded down to BITS_PER_LONG).
	nrOpenMax = math.MaxInt32 &^ 63
	// pipeMaxSizeDefault and pipePagesDefault are the kernel's defaults
	// for fs.pipe-max-size (1 MiB) and fs.pipe-user-pages-soft.
	pipeMaxSizeDefault = 1 << 20
	pipePagesDefault   = 16384
	// pipeDefaultPages is the size of a new pipe, in pages, before
	// F_SETPIPE_SZ: what a pipe counts against the per-user budget at
	// least.
	pipeDefaultPages = 16
)

// Profile returns the settings fjord wants for n, in the order they are
// applied. Every AtLeast value is at least its floor, so that a small
// configuration still gets a host tuned for a load balancer.
func Profile(n Needs) []Setting {
	page := uint64(os.Getpagesize())
	pipeBytes := pipeSizeRounded(uint64(max(n.PipeSize, 1)), page)
	pipePages := max(pipeBytes/page, pipeDefaultPages)
	userPages := mul(n.Pipes, pipePages)
	if bulk := pipeSizeRounded(uint64(max(n.BulkPipeSize, 1)), page) / page; bulk > pipePages {
		userPages = add(userPages, mul(n.BulkPipes, bulk-pipePages))
	}
	userPages = max(userPages, pipePagesDefault)
	backlog := clampInt(max(uint64(max(n.Backlog, 0)), BacklogFloor))
	fileMax := max(mul(n.NoFile, 2), FileMaxFloor)
	nrOpen := max(min(n.NoFile, nrOpenMax), 1<<20)

	maxconn := "maxconn"
	if n.MaxConn > 0 {
		maxconn = fmt.Sprintf("maxconn %d", n.MaxConn)
	}
	s := []Setting{
		{
			Key: "fs.nr_open", Kind: AtLeast, Want: u(nrOpen),
			Reason: fmt.Sprintf("The ceiling of RLIMIT_NOFILE, even for root. fjord raises its open files limit to %d for %s (two sockets and up to two splice pipes per session).", n.NoFile, maxconn),
		},
		{
			Key: "fs.file-max", Kind: AtLeast, Want: u(fileMax),
			Reason: fmt.Sprintf("Open files across the host. At least %d (the seed article's value), and twice fjord's own limit of %d so that fjord at full load leaves as much to the rest of the host.", FileMaxFloor, n.NoFile),
		},
		{
			Key: "fs.pipe-max-size", Kind: AtLeast, Want: u(max(pipeBytes, uint64(max(n.BulkPipeSize, 0)), pipeMaxSizeDefault)),
			Reason: fmt.Sprintf("The largest pipe an unprivileged process may ask for. fjord sizes its splice pipes to tune.pipesize (%d bytes) and may run unprivileged after 'user'/'uid'.", n.PipeSize),
		},
		{
			Key: "fs.pipe-user-pages-soft", Kind: AtLeast, Want: u(userPages), ZeroIsUnlimited: true,
			Reason: fmt.Sprintf("Pages all pipes of one unprivileged user may hold before new pipes get a single page, which makes splicing crawl. fjord may hold %d pipes of %d pages (0 means no limit).", n.Pipes, pipePages),
		},
		{
			Key: "fs.pipe-user-pages-hard", Kind: AtLeast, Want: u(userPages), ZeroIsUnlimited: true,
			Reason: fmt.Sprintf("Pages all pipes of one unprivileged user may hold before pipe creation fails, which resets the session. fjord may hold %d pipes of %d pages (0, the default, means no limit).", n.Pipes, pipePages),
		},
		{
			Key: "net.core.somaxconn", Kind: AtLeast, Want: u(backlog),
			Reason: fmt.Sprintf("Caps every listen backlog. fjord asks for %d (a bind's backlog, or maxconn); above the cap, connections arriving in a burst or while fjord is at maxconn are dropped.", backlog),
		},
		{
			Key: "net.ipv4.tcp_max_syn_backlog", Kind: AtLeast, Want: u(backlog),
			Reason: "Connections still in the handshake per listener. A burst of new clients beyond it is dropped, or answered with SYN cookies, which lose the TCP options (window scaling) of those connections.",
		},
		{
			Key: "net.ipv4.tcp_tw_reuse", Kind: Exactly, Want: "1",
			Reason: "Every connection fjord closes to a server leaves fjord's side in TIME_WAIT for 60 s, holding a local port. 1 lets new outgoing connections reuse those ports (safe with TCP timestamps), so a busy proxy does not run out of them; the default 2 does it for loopback only.",
		},
		{
			Key: "net.ipv4.tcp_migrate_req", Kind: Exactly, Want: "1",
			Reason: "When a process closes a SO_REUSEPORT listener, connections still in its accept queue move to another listener on the same port instead of being reset. A reload with -sf/-st starts the new fjord beside the old one, which then closes its listeners: with 1 no queued client is lost (Linux 5.14 or later).",
		},
		{
			Key: "net.ipv4.tcp_fin_timeout", Kind: AtMost, Want: u(FinTimeout),
			Reason: "How long a connection stays in FIN_WAIT_2 when the peer never finishes closing. Clients that vanish are common; 30 s halves the memory and ports they hold.",
		},
	}
	res := reservations(n)
	rangeSetting := Setting{
		Key: PortRangeKey, Kind: Range, Want: fmt.Sprintf("%d %d", PortRangeLow, PortRangeHigh),
		Reason: fmt.Sprintf("The source ports of connections to servers: each server address takes at most this many connections at once, TIME_WAIT included. The default 32768-60999 gives 28232; %d-%d gives %d.", PortRangeLow, PortRangeHigh, PortRangeHigh-PortRangeLow+1),
	}
	if ports := formatPorts(res.all()); ports != "" {
		s = append(s, Setting{
			Key: "net.ipv4.ip_local_reserved_ports", Kind: PortSet, Want: ports,
			Reason: "Ports in the widened ephemeral range that something must be able to bind: fjord's own, those of servers on this host, and those of services already listening. Reserved, no outgoing connection takes one as its source port, which would make a bind fail with 'address already in use' at the next start or reload.",
			Detail: res.String(),
		})
		rangeSetting.Requires = "net.ipv4.ip_local_reserved_ports"
	}
	return append(s, rangeSetting)
}

// PersistProfile is Profile for a sysctl.d file, applied at every boot:
// the ports of services listening now are left out of the reserved ports
// (what happens to listen when the file is written may be a program that
// asked for any port, or one gone tomorrow, and would be reserved for
// good). The range setting's Detail names them, for the admin to add
// those that are there to stay. fjord's binds and servers, which the
// configuration names, stay in.
func PersistProfile(n Needs) []Setting {
	res := reservations(n)
	transient := bitsOf(res.listening).andNot(bitsOf(res.binds)).andNot(bitsOf(res.servers))
	n.Listening = nil
	s := Profile(n)
	if transient.empty() {
		return s
	}
	for i := range s {
		if s[i].Key == PortRangeKey {
			s[i].Detail = fmt.Sprintf("Services listening when this file was written, on ports this range newly covers: %s. Not reserved here, since they may be transient: add those that are there to stay to %s.", formatPorts(transient.spans()), ReservedPortsKey)
		}
	}
	return s
}

// reserved are the ports the profile reserves, by where they come from.
type reserved struct {
	binds, servers, listening []portSpan
}

// reservations picks the ports of n that the widened ephemeral range
// covers. Ports below it are never handed out as source ports. A listener
// inside the range in force before the widening (n.RangeLow-n.RangeHigh)
// is left alone (see KernelPortRangeLow); fjord's binds and servers are
// reserved wherever they are, since fjord knows they must stay free.
func reservations(n Needs) reserved {
	pick := func(ports []uint16, keep func(uint16) bool) []portSpan {
		var spans []portSpan
		for _, p := range ports {
			if p >= PortRangeLow && keep(p) {
				spans = append(spans, portSpan{p, p})
			}
		}
		return mergeSpans(spans)
	}
	always := func(uint16) bool { return true }
	low, high := n.RangeLow, n.RangeHigh
	if low == 0 && high == 0 {
		low, high = KernelPortRangeLow, KernelPortRangeHigh
	}
	exposed := func(p uint16) bool {
		return p <= PortRangeHigh && (p < low || p > high)
	}
	return reserved{
		binds:     pick(n.Ports, always),
		servers:   pick(n.ServerPorts, always),
		listening: pick(n.Listening, exposed),
	}
}

func (r reserved) all() []portSpan {
	return mergeSpans(slices.Concat(r.binds, r.servers, r.listening))
}

// String says which port is whose, for Setting.Detail.
func (r reserved) String() string {
	var parts []string
	for _, g := range []struct {
		what  string
		ports []portSpan
	}{
		{"fjord's binds", r.binds},
		{"servers on this host", r.servers},
		{"already listening", r.listening},
	} {
		if len(g.ports) > 0 {
			parts = append(parts, g.what+" "+formatPorts(g.ports))
		}
	}
	return strings.Join(parts, "; ")
}

// pipeSizeRounded is the size the kernel gives a pipe asked to hold size
// bytes: a power of two pages (round_pipe_size).
func pipeSizeRounded(size, page uint64) uint64 {
	pages := (size + page - 1) / page
	if pages <= 1 {
		return page
	}
	if pages > 1<<40 {
		return math.MaxUint64
	}
	return (1 << bits.Len64(pages-1)) * page
}

func u(v uint64) string { return strconv.FormatUint(v, 10) }

// Select returns the settings for which keep is true, such as
// Setting.Namespaced for the ones a network namespace has of its own.
func Select(settings []Setting, keep func(Setting) bool) []Setting {
	return slices.DeleteFunc(slices.Clone(settings), func(s Setting) bool { return !keep(s) })
}
