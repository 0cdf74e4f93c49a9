package main

import (
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/fjordlb/fjord/config"
	"github.com/fjordlb/fjord/engine"
	"github.com/fjordlb/fjord/sysctl"
)

// sysctlRootEnv names the environment variable that points fjord at
// another sysctl tree than /proc/sys: a directory shaped like it. fjord
// then finds the rest of the host beside it: net/ for /proc/net (the
// listening sockets), run/fjord-sysctl/ for /run/fjord-sysctl (the ledger
// of reserved ports) and sysctl.d/ for the admin's sysctl.d files. fjord's own tests
// set it so that no test run as root tunes the host.
const sysctlRootEnv = "FJORD_SYSCTL_ROOT"

func sysctlTuner() sysctl.Tuner {
	return sysctl.Tuner{Root: os.Getenv(sysctlRootEnv)}
}

// defaultConfig stands for a configuration that sets nothing, for 'fjord
// sysctl' without -f.
func defaultConfig() *config.Config {
	return &config.Config{Global: config.DefaultGlobal()}
}

// fdNeeds describes the descriptors cfg makes fjord hold.
func fdNeeds(cfg *config.Config) sysctl.FDNeeds {
	loops := cfg.Global.Loops()
	listeners := 0
	for _, fe := range cfg.Frontends() {
		listeners += len(fe.Binds)
	}
	checks := 0
	for _, be := range cfg.Backends() {
		for _, s := range be.Servers {
			if s.Check {
				checks++
			}
		}
	}
	return sysctl.FDNeeds{
		MaxConn:   cfg.Global.MaxConn,
		Listeners: listeners * loops,
		Loops:     loops,
		Checks:    checks,
	}
}

// kernelNeeds is what cfg asks of the kernel on this host, for
// sysctl.Profile. Which servers are on this host and which ports listen
// now are read from the host (tu's network namespace); what could not be
// read is returned as warnings, and only those ports go unreserved.
//
// The listening sockets of this process (those a reload handed over) and
// of the processes in others (-sf/-st: the fjord being replaced) are
// fjord's own, not services of the host: a bind the new configuration
// keeps is reserved as a bind, and one it dropped must not stay reserved
// as a "service already listening".
func kernelNeeds(cfg *config.Config, tu sysctl.Tuner, others []int) (sysctl.Needs, []string) {
	fd := fdNeeds(cfg)
	n := sysctl.Needs{
		MaxConn:  cfg.Global.MaxConn,
		NoFile:   sysctl.NoFileNeeded(fd),
		PipeSize: cfg.Global.TunePipeSize,
		Pipes:    sysctl.PipesNeeded(fd),
		// The engine grows at most BulkPipesPerLoop pipes per loop.
		BulkPipes:    uint64(fd.Loops * engine.BulkPipesPerLoop),
		BulkPipeSize: cfg.Global.TuneBulkPipeSize,
	}
	if cfg.Global.UlimitN > 0 {
		n.NoFile = uint64(cfg.Global.UlimitN)
	}
	for _, fe := range cfg.Frontends() {
		for _, b := range fe.Binds {
			// The engine's listen(2) backlog: the bind's, else the
			// frontend's maxconn, else the global one.
			backlog := b.Backlog
			if backlog == 0 {
				backlog = fe.MaxConn
			}
			if backlog == 0 {
				backlog = cfg.Global.MaxConn
			}
			n.Backlog = max(n.Backlog, backlog)
			if p := b.Addr.Port(); p != 0 {
				n.Ports = append(n.Ports, p)
			}
		}
	}
	var warnings []string
	local, err := localAddrs()
	if err != nil {
		warnings = append(warnings, fmt.Sprintf("%v: only servers on loopback addresses count as on this host", err))
	}
	n.ServerPorts = localServerPorts(cfg, local)
	ls, err := tu.Listening()
	if err != nil {
		warnings = append(warnings, fmt.Sprintf("%v: the ports of services listening now are not reserved", err))
	}
	mine := socketInodes(append([]int{os.Getpid()}, others...))
	n.Listening = sysctl.ListenerPorts(ls, func(l sysctl.Listener) bool { return mine[l.Inode] })
	// Which listeners the widening newly exposes depends on the range
	// before it: the host's, or the one a running fjord widened from.
	ledger, _ := tu.NewLedger()
	if n.RangeLow, n.RangeHigh, err = tu.RangeBefore(ledger); err != nil {
		warnings = append(warnings, fmt.Sprintf("%v: listeners are judged against the kernel's default port range %d-%d", err, sysctl.KernelPortRangeLow, sysctl.KernelPortRangeHigh))
	}
	return n, warnings
}

// socketInodes returns the inodes of the sockets the processes hold: the
// number fstat(2) gives a socket is the one /proc/net/tcp shows. A process
// or descriptor that went away meanwhile has nothing to show, and one
// fjord may not look at (another user's, without root) is not fjord's.
func socketInodes(pids []int) map[uint64]bool {
	inodes := map[uint64]bool{}
	for _, pid := range pids {
		dir := fmt.Sprintf("/proc/%d/fd", pid)
		entries, err := os.ReadDir(dir)
		if err != nil {
			continue
		}
		for _, e := range entries {
			var st unix.Stat_t
			if unix.Stat(filepath.Join(dir, e.Name()), &st) == nil && st.Mode&unix.S_IFMT == unix.S_IFSOCK {
				inodes[st.Ino] = true
			}
		}
	}
	return inodes
}

// localAddrs returns a test of whether an address belongs to this host:
// loopback (all of 127.0.0.0/8 and ::1 are local), unspecified (a
// connection to 0.0.0.0 goes to this host), or assigned to an interface of
// this network namespace, up or down.
//
// The interface addresses are read rather than tried with bind(2): a host
// with net.ipv4.ip_nonlocal_bind=1 (common where keepalived moves
// addresses) lets any address be bound, which would count every server as
// local. With an error the test still knows loopback and unspecified.
func localAddrs() (func(netip.Addr) bool, error) {
	assigned := map[netip.Addr]bool{}
	addrs, err := net.InterfaceAddrs()
	for _, a := range addrs {
		if ipn, ok := a.(*net.IPNet); ok {
			if ip, ok := netip.AddrFromSlice(ipn.IP); ok {
				assigned[ip.Unmap()] = true
			}
		}
	}
	local := func(a netip.Addr) bool {
		a = a.Unmap().WithZone("")
		return a.IsLoopback() || a.IsUnspecified() || assigned[a]
	}
	if err != nil {
		return local, fmt.Errorf("cannot list this host's addresses (RTM_GETADDR): %w", err)
	}
	return local, nil
}

// localServerPorts returns the ports of the servers, and of their health
// checks, whose address is local: a web node there must be able to bind
// its port again when it restarts. A server whose port follows the
// client's (no port, or +N) has no port of its own to reserve.
func localServerPorts(cfg *config.Config, local func(netip.Addr) bool) []uint16 {
	var ports []uint16
	for _, be := range cfg.Backends() {
		for _, s := range be.Servers {
			fixed := s.PortMode == config.PortFixed && s.Addr.Port() != 0
			if fixed && local(s.Addr.Addr()) {
				ports = append(ports, s.Addr.Port())
			}
			if !s.Check {
				continue
			}
			addr, port := s.CheckAddr, uint16(s.CheckPort)
			if !addr.IsValid() {
				addr = s.Addr.Addr()
			}
			if port == 0 && fixed {
				port = s.Addr.Port()
			}
			if port != 0 && local(addr) {
				ports = append(ports, port)
			}
		}
	}
	return ports
}

// tuneKernel runs the sysctl tuner at startup as 'tune.sysctl' asks: on
// applies the profile (as root; otherwise each refusal is reported) and
// logs each change; check logs what would change; off does nothing. It
// never stops fjord from starting: a host that cannot be tuned still
// serves, with the warnings saying what it lacks.
//
// With on, the ports fjord reserves are recorded in the namespace's ledger
// (sysctl.Ledger) for this process; the portLedger it returns records the
// process's listening sockets once it listens, and takes the ports back
// when the process stops, releasing what no other fjord needs.
func tuneKernel(cfg *config.Config, o *options, logf func(string, ...any)) *portLedger {
	var ports *portLedger
	mode := cfg.Global.Sysctl
	if mode == config.SysctlOff {
		return ports
	}
	tu := sysctlTuner()
	if _, err := os.Stat(tu.Path("")); err != nil {
		logf("[WARNING] tune.sysctl %s: kernel settings not checked: %v", mode, err)
		return ports
	}
	needs, warnings := kernelNeeds(cfg, tu, slices.Concat(o.softFinish, o.hardFinish))
	for _, w := range warnings {
		logf("[WARNING] tune.sysctl %s: %s", mode, w)
	}
	settings := sysctl.Profile(needs)
	var results []sysctl.Result
	if mode == config.SysctlCheck {
		results = tu.Check(settings)
	} else {
		ledger, err := tu.NewLedger()
		if err != nil {
			// A reservation fjord could not take back would stay for
			// good; without one, the range must not be widened either.
			logf("[WARNING] tune.sysctl on: %v: the ephemeral port range is not widened, since the ports it would cover could not be reserved and released again", err)
			settings = slices.DeleteFunc(settings, func(s sysctl.Setting) bool {
				return s.Key == sysctl.ReservedPortsKey || s.Key == sysctl.PortRangeKey
			})
		}
		tu.Ledger = ledger
		results = tu.Apply(settings)
	}
	ok := 0
	for _, r := range results {
		switch r.Status {
		case sysctl.OK:
			ok++
		case sysctl.Applied:
			logf("sysctl %s = %s (was %s): %s", r.Key, r.After, r.Current, r.Reason)
		case sysctl.Pending:
			// One short line each: the values in full and the reasons
			// are 'fjord sysctl check''s.
			logf("[NOTICE] tune.sysctl check: %s would %s", r.Key, r.ShortChange())
		case sysctl.Failed:
			logf("[WARNING] sysctl %s: could not change %s to %s: %v", r.Key, r.Current, r.Wanted, r.Err)
		case sysctl.Unavailable:
			logf("[WARNING] sysctl %s: %v", r.Key, r.Err)
		}
		if r.Released != "" {
			logf("sysctl %s: released %s, which fjord reserved for processes that have ended", r.Key, r.Released)
		}
		if r.Note != "" {
			logf("[WARNING] sysctl %s: %s", r.Key, r.Note)
		}
	}
	if tu.Ledger != nil {
		// Whatever became of the writes: a process whose reservation
		// failed is registered all the same, and its stop must take it
		// out and release what no other fjord needs.
		ports = &portLedger{tu: tu, logf: logf}
	}
	if mode == config.SysctlCheck && ok < len(results) {
		logf("tune.sysctl check: %d of %d kernel settings would change; 'fjord sysctl -f %s check' says why", len(results)-ok, len(results), strings.Join(o.files, " -f "))
		return ports
	}
	logf("tune.sysctl %s: %d of %d kernel settings were already as wanted (net.* ones are this network namespace's)", mode, ok, len(results))
	return ports
}

// portLedger is this process's part in the ledger of reserved ports,
// for the rest of its life. Its methods do nothing on nil: no ledger.
type portLedger struct {
	tu   sysctl.Tuner
	logf func(string, ...any)
}

// hold records the inodes of the engine's listening sockets in the
// ledger, once it listens and while it may still write there (before
// privileges are dropped). A reload hands these sockets to the new
// process; if that one cannot register (it runs as the user fjord dropped
// to), they are what keeps this process's ports reserved after it ends,
// for as long as the new one serves on them.
func (p *portLedger) hold(eng *engine.Engine) {
	if p == nil {
		return
	}
	inodes, err := listenerInodes(eng)
	if err == nil {
		err = p.tu.Ledger.Hold(inodes)
	}
	if err != nil {
		p.logf("[WARNING] sysctl %s: cannot record this process's listening sockets: %v; after a reload by a process that cannot register, a fjord started as root may release ports it serves on", sysctl.ReservedPortsKey, err)
	}
}

// listenerInodes returns the inodes of the engine's listening sockets:
// the numbers the namespace's socket tables show for them.
func listenerInodes(eng *engine.Engine) ([]uint64, error) {
	files, err := eng.ListenerFiles()
	if err != nil {
		return nil, err
	}
	defer func() {
		for _, f := range files {
			f.File.Close()
		}
	}()
	inodes := make([]uint64, 0, len(files))
	for _, f := range files {
		var st unix.Stat_t
		if err := unix.Fstat(int(f.File.Fd()), &st); err != nil {
			return nil, fmt.Errorf("fstat(%s): %w", f.File.Name(), err)
		}
		inodes = append(inodes, st.Ino)
	}
	return inodes, nil
}

// release takes this process out of the ledger as it stops (releasePorts).
func (p *portLedger) release() {
	if p != nil {
		releasePorts(p.tu, p.logf)
	}
}

// releasePorts takes this process out of the ledger as it stops, and
// says what was released or why nothing could be. A process the ledger
// never listed (the new process of a reload that runs as the user fjord
// dropped to, which cannot reach the ledger) reserved nothing, and says
// nothing.
func releasePorts(tu sysctl.Tuner, logf func(string, ...any)) {
	if !tu.Ledger.Registered() {
		return
	}
	r := tu.Release()
	if r.RangeRestored != "" {
		logf("sysctl %s = %s: put back as it was before fjord widened it, since no fjord needs it wide any more", sysctl.PortRangeKey, r.RangeRestored)
	}
	switch {
	case r.Status == sysctl.Failed || r.Status == sysctl.Unavailable:
		logf("[WARNING] sysctl %s: the ports this process reserved stay reserved: %v; the next fjord started as root in this network namespace, or 'fjord sysctl release', releases them", r.Key, r.Err)
	case r.Released != "":
		logf("sysctl %s = %s (was %s): released %s, which fjord reserved and no running fjord needs", r.Key, r.After, r.Current, r.Released)
	}
	if r.Note != "" {
		logf("[WARNING] sysctl %s: %s", r.Key, r.Note)
	}
}

// raiseNoFile sets RLIMIT_NOFILE to what maxconn needs, or to ulimit-n.
// The full need counts a pipe per direction for every session (the worst
// case of fjord's engine); when the hard limit forbids that but still covers
// every session's two sockets and HAProxy's maxpipes (maxconn/4), fjord
// warns and runs, as HAProxy does. Below that it refuses to start.
//
// ulimit-n sets the soft limit exactly, as in HAProxy (lower than the
// system gave, if asked); fjord refuses to start when it cannot, and warns
// when it is below what maxconn needs.
func raiseNoFile(cfg *config.Config, stderr io.Writer) error {
	needs := fdNeeds(cfg)
	full := sysctl.NoFileNeeded(needs)
	if n := cfg.Global.UlimitN; n > 0 {
		if err := sysctl.SetNoFile(uint64(n)); err != nil {
			return err
		}
		if uint64(n) < full {
			fmt.Fprintf(stderr, "[WARNING] 'ulimit-n %d' is below the %d descriptors maxconn %d needs (two sockets and up to two splice pipes per session): fjord may run out of descriptors at full load\n", n, full, cfg.Global.MaxConn)
		}
		return nil
	}
	got, err := sysctl.RaiseNoFile(full)
	if err == nil {
		return nil
	}
	needs.MaxPipes = max(1, cfg.Global.MaxConn/4)
	if floor := sysctl.NoFileNeeded(needs); got >= floor {
		fmt.Fprintf(stderr, "[WARNING] %v\n[WARNING] running with %d descriptors, enough for maxconn %d with a quarter of the sessions moving bulk data at once\n", err, got, cfg.Global.MaxConn)
		return nil
	}
	return err
}
