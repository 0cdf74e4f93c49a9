package sysctl

import (
	"fmt"
	"math"
	"math/bits"
	"os"
	"slices"
	"strconv"
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
	ports := reservable(n.Ports)
	rangeSetting := Setting{
		Key: "net.ipv4.ip_local_port_range", Kind: Range, Want: fmt.Sprintf("%d %d", PortRangeLow, PortRangeHigh),
		Reason: fmt.Sprintf("The source ports of connections to servers: each server address takes at most this many connections at once, TIME_WAIT included. The default 32768-60999 gives 28232; %d-%d gives %d.", PortRangeLow, PortRangeHigh, PortRangeHigh-PortRangeLow+1),
	}
	if ports != "" {
		s = append(s, Setting{
			Key: "net.ipv4.ip_local_reserved_ports", Kind: PortSet, Want: ports,
			Reason: fmt.Sprintf("The ports fjord listens on (%s) that the ephemeral range covers. Reserved, no outgoing connection takes one as its source port, which would make fjord's bind fail at its next start or reload.", ports),
		})
		rangeSetting.Requires = "net.ipv4.ip_local_reserved_ports"
	}
	return append(s, rangeSetting)
}

// reservable returns the ports that the widened ephemeral range covers, as
// a port list; ports below the range are never handed out as source ports.
func reservable(ports []uint16) string {
	var spans []portSpan
	for _, p := range ports {
		if p >= PortRangeLow {
			spans = append(spans, portSpan{p, p})
		}
	}
	return formatPorts(mergeSpans(spans))
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
