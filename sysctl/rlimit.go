package sysctl

import (
	"errors"
	"fmt"
	"math"
	"math/bits"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// FDNeeds describes what the process will hold open at most.
type FDNeeds struct {
	// MaxConn is the global maxconn: sessions at once. Each holds a client
	// and a server socket.
	MaxConn int

	// Listeners counts listening sockets across all event loops: with
	// SO_REUSEPORT each loop has its own socket per bind.
	Listeners int

	// Loops is the number of event loops. Each holds an epoll fd and a
	// wake-up eventfd. Less than one counts as one.
	Loops int

	// Checks counts servers with health checks; a check holds at most one
	// socket at a time.
	Checks int

	// MaxPipes bounds the splice pipes that hold bytes in flight at once,
	// across the process. 0 means the worst case, two per session (one per
	// direction, both under back-pressure), which is what the engine may
	// use: it does not cap pipes, and a session whose pipe cannot be
	// created is reset. Set it only when the engine enforces a cap and
	// copies through userspace beyond it, as HAProxy does with maxpipes.
	MaxPipes int

	// PipePoolPerLoop is how many empty pipes each loop keeps for reuse.
	// 0 means the engine's default, max(16, MaxConn/4/Loops).
	PipePoolPerLoop int
}

// NoFileMargin is what NoFileNeeded adds for descriptors no setting accounts
// for: stdin, stdout and stderr, the Go runtime's own epoll fd and eventfd,
// syslog sockets, log files (two while one is being rotated), the pid file,
// stats sockets and runtime API clients, and files read now and then (/proc,
// the configuration on reload). HAProxy reserves 10; a Go program holds a few
// more of its own.
const NoFileMargin = 32

// NoFileNeeded returns the RLIMIT_NOFILE the process needs so that no
// accept(2), connect(2) or pipe2(2) fails with EMFILE while the limits in n
// are respected. Like HAProxy's maxsock it counts
//
//	2 * MaxConn                             client and server socket per session
//	+ 2 * (MaxPipes + Loops*PipePoolPerLoop) two fds per pipe, in flight or pooled
//	+ Listeners
//	+ 2 * Loops                             epoll fd and eventfd per loop
//	+ Checks
//	+ NoFileMargin
//
// HAProxy counts only maxpipes = maxconn/4 pipes because a pipe is optional
// to it: without one it forwards through its buffers. fjord's engine has no
// such fallback, so by default the whole worst case (2 * MaxConn pipes) is
// counted; see FDNeeds.MaxPipes. The result saturates instead of wrapping.
func NoFileNeeded(n FDNeeds) uint64 {
	maxConn := nonNeg(n.MaxConn)
	loops := max(1, nonNeg(n.Loops))
	total := mul(maxConn, 2)
	total = add(total, mul(PipesNeeded(n), 2))
	total = add(total, nonNeg(n.Listeners))
	total = add(total, mul(loops, 2))
	total = add(total, nonNeg(n.Checks))
	return add(total, NoFileMargin)
}

// PipesNeeded returns how many splice pipes the process may hold at once:
// MaxPipes (or its worst case, two per session) in flight plus each loop's
// pool of empty ones. Profile sizes the per-user pipe budget from it.
func PipesNeeded(n FDNeeds) uint64 {
	maxConn := nonNeg(n.MaxConn)
	loops := max(1, nonNeg(n.Loops))
	pipes := nonNeg(n.MaxPipes)
	if n.MaxPipes == 0 {
		pipes = mul(maxConn, 2)
	}
	pool := nonNeg(n.PipePoolPerLoop)
	if n.PipePoolPerLoop == 0 {
		pool = max(16, maxConn/4/loops)
	}
	return add(pipes, mul(loops, pool))
}

func nonNeg(v int) uint64 {
	if v < 0 {
		return 0
	}
	return uint64(v)
}

func add(a, b uint64) uint64 {
	s, carry := bits.Add64(a, b, 0)
	if carry != 0 {
		return math.MaxUint64
	}
	return s
}

func mul(a, b uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	if hi != 0 {
		return math.MaxUint64
	}
	return lo
}

// NoFileError reports that RLIMIT_NOFILE could not be raised to Want.
type NoFileError struct {
	Want   uint64 // the limit asked for
	Soft   uint64 // soft limit found before trying
	Hard   uint64 // hard limit found before trying
	NrOpen uint64 // fs.nr_open, the ceiling even for root; 0 if unknown
	Err    error  // what setrlimit(2) returned
	// UlimitN says Want came from 'ulimit-n' rather than from maxconn,
	// which changes the advice.
	UlimitN bool
	// Who is the process that asked: what it may do, and what set its
	// hard limit, which decide the advice.
	Who Privilege
}

// Privilege says whether the process may raise its own hard limit, and
// where that limit came from.
type Privilege struct {
	UID int // effective
	// CapSysResource: the process may raise its hard limit, up to
	// fs.nr_open. Root has it unless a container or a capability bounding
	// set took it away.
	CapSysResource bool
	// Systemd: started by systemd as a unit (INVOCATION_ID is set), whose
	// LimitNOFILE set the hard limit.
	Systemd bool
	// Container: runs in a container (/.dockerenv, /run/.containerenv, or
	// $container, which container managers set), whose runtime set the
	// hard limit.
	Container bool
}

// currentPrivilege describes the calling process.
func currentPrivilege() Privilege {
	p := Privilege{
		UID:       os.Geteuid(),
		Systemd:   os.Getenv("INVOCATION_ID") != "",
		Container: os.Getenv("container") != "" || exists("/.dockerenv") || exists("/run/.containerenv"),
	}
	// Version 3 fills two words of capabilities; the first holds
	// CAP_SYS_RESOURCE (24).
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		p.CapSysResource = p.UID == 0
	} else {
		p.CapSysResource = data[0].Effective&(1<<unix.CAP_SYS_RESOURCE) != 0
	}
	return p
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

func (e *NoFileError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "cannot raise the open files limit (RLIMIT_NOFILE) to %d: the soft limit is %d and the hard limit %d", e.Want, e.Soft, e.Hard)
	if e.Want <= e.Hard {
		// Raising the soft limit up to the hard one is always allowed, so
		// there is no advice to give beyond the system's answer.
		fmt.Fprintf(&b, ", and raising the soft limit failed: %v", e.Err)
		return b.String()
	}
	fmt.Fprintf(&b, ", and raising the hard limit failed: %v. %s", e.Err, e.advice())
	if e.UlimitN {
		fmt.Fprintf(&b, "; or lower 'ulimit-n' to at most %d", e.Hard)
		return b.String()
	}
	fmt.Fprintf(&b, "; or lower 'maxconn'; or set 'ulimit-n' in the global section to at most %d, accepting that fjord may run out of descriptors at full load", e.Hard)
	return b.String()
}

// advice says what keeps the hard limit below Want and how to raise it,
// from what the process may do and what started it: telling root to run
// as root helps no one.
func (e *NoFileError) advice() string {
	p := e.Who
	if e.NrOpen != 0 && e.Want > e.NrOpen {
		s := fmt.Sprintf("The kernel's fs.nr_open is %d and not even root may go above it: raise it ('sysctl -w fs.nr_open=%d'; 'tune.sysctl on' does it when fjord starts as root)", e.NrOpen, e.Want)
		if !p.CapSysResource {
			s += "; then " + e.raiseHard(p)
		}
		return s
	}
	switch {
	case p.CapSysResource:
		return fmt.Sprintf("fjord has CAP_SYS_RESOURCE and the kernel refused anyway: a security policy (seccomp, an LSM) forbids it. %s", capitalize(e.raiseHard(p)))
	case p.UID == 0:
		why := "a container, or a capability bounding set, took it away"
		switch {
		case p.Container:
			why = "the container runtime took it away"
		case p.Systemd:
			why = "its systemd unit's CapabilityBoundingSet took it away"
		}
		return fmt.Sprintf("fjord runs as root but without CAP_SYS_RESOURCE (%s), so the hard limit of %d it was started with binds it. %s", why, e.Hard, capitalize(e.raiseHard(p)))
	}
	return fmt.Sprintf("fjord runs as uid %d, which may not raise its hard limit of %d. %s", p.UID, e.Hard, capitalize(e.raiseHard(p)))
}

// raiseHard says how to raise the hard limit where it is set.
func (e *NoFileError) raiseHard(p Privilege) string {
	switch {
	case p.Container:
		return fmt.Sprintf("raise the container's limit where it is started ('docker run --ulimit nofile=%d:%d', 'ulimits' in a compose file, or the runtime's default), or give it CAP_SYS_RESOURCE", e.Want, e.Want)
	case p.Systemd:
		s := fmt.Sprintf("set LimitNOFILE=%d in fjord's systemd unit ('systemctl edit' it, then restart; 'systemctl show -p LimitNOFILE' shows the limit in force)", e.Want)
		if p.UID == 0 {
			s += ", or let the unit keep CAP_SYS_RESOURCE"
		}
		return s
	case p.UID == 0:
		return fmt.Sprintf("raise the hard limit in whatever starts fjord ('ulimit -Hn %d' from a shell that has CAP_SYS_RESOURCE), or give fjord CAP_SYS_RESOURCE", e.Want)
	}
	return fmt.Sprintf("raise the hard limit of its user ('USER hard nofile %d' in /etc/security/limits.conf, then log in again), or start fjord as root (or with CAP_SYS_RESOURCE): it raises the limit itself", e.Want)
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

func (e *NoFileError) Unwrap() error { return e.Err }

// rlimitOps are the system calls RaiseNoFile makes, so that tests can stand
// in for the kernel without changing the process's limits.
type rlimitOps struct {
	get    func(*unix.Rlimit) error
	set    func(*unix.Rlimit) error
	nrOpen func() (uint64, error) // fs.nr_open
	who    func() Privilege
}

var system = rlimitOps{
	get: func(r *unix.Rlimit) error { return unix.Getrlimit(unix.RLIMIT_NOFILE, r) },
	// unix.Setrlimit goes through syscall.Setrlimit, which also lets
	// processes started later inherit the new limit.
	set:    func(r *unix.Rlimit) error { return unix.Setrlimit(unix.RLIMIT_NOFILE, r) },
	nrOpen: readNrOpen,
	who:    currentPrivilege,
}

func readNrOpen() (uint64, error) {
	b, err := os.ReadFile("/proc/sys/fs/nr_open")
	if err != nil {
		return 0, err
	}
	return strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
}

// RaiseNoFile sets RLIMIT_NOFILE soft (and hard when it must and may) to at
// least want. It never lowers a limit. If want is above the hard limit and
// raising the hard limit fails (the process is not root, or want exceeds
// fs.nr_open), it raises the soft limit as far as the hard limit allows and
// returns a *NoFileError that names want, the soft and hard limits it found,
// what keeps the hard limit down (no privilege, a container, systemd's
// LimitNOFILE, fs.nr_open) and what the operator can do about it, or
// lower maxconn, or set ulimit-n.
//
// It returns the soft limit now in force, also when it returns an error.
func RaiseNoFile(want uint64) (uint64, error) {
	return system.raiseNoFile(want)
}

func (o rlimitOps) raiseNoFile(want uint64) (uint64, error) {
	var cur unix.Rlimit
	if err := o.get(&cur); err != nil {
		return 0, fmt.Errorf("getrlimit(RLIMIT_NOFILE): %w", err)
	}
	if cur.Cur >= want {
		return cur.Cur, nil
	}
	if want <= cur.Max {
		if err := o.set(&unix.Rlimit{Cur: want, Max: cur.Max}); err != nil {
			return cur.Cur, &NoFileError{Want: want, Soft: cur.Cur, Hard: cur.Max, Err: err}
		}
		return want, nil
	}
	// The hard limit must rise too. That needs CAP_SYS_RESOURCE, and the
	// kernel refuses anything above fs.nr_open even to root (EPERM).
	err := o.set(&unix.Rlimit{Cur: want, Max: want})
	if err == nil {
		return want, nil
	}
	e := &NoFileError{Want: want, Soft: cur.Cur, Hard: cur.Max, Err: err, Who: o.who()}
	if errors.Is(err, unix.EPERM) {
		if nr, nerr := o.nrOpen(); nerr == nil {
			e.NrOpen = nr
		}
	}
	// Take what the hard limit allows, as HAProxy does, so that a caller
	// that carries on with a warning runs with as many descriptors as it
	// may.
	inForce := cur.Cur
	if cur.Cur < cur.Max && o.set(&unix.Rlimit{Cur: cur.Max, Max: cur.Max}) == nil {
		inForce = cur.Max
	}
	return inForce, e
}

// SetNoFile sets the RLIMIT_NOFILE soft limit to exactly want, as
// 'ulimit-n' asks: lower than before if want is lower, and raising the hard
// limit when want is above it (which needs root, and want at most
// fs.nr_open). The hard limit is never lowered: a process cannot raise it
// again, and a reload may need it. A failure returns a *NoFileError and
// changes nothing.
func SetNoFile(want uint64) error {
	return system.setNoFile(want)
}

func (o rlimitOps) setNoFile(want uint64) error {
	var cur unix.Rlimit
	if err := o.get(&cur); err != nil {
		return fmt.Errorf("getrlimit(RLIMIT_NOFILE): %w", err)
	}
	if cur.Cur == want {
		return nil
	}
	next := unix.Rlimit{Cur: want, Max: max(cur.Max, want)}
	err := o.set(&next)
	if err == nil {
		return nil
	}
	e := &NoFileError{Want: want, Soft: cur.Cur, Hard: cur.Max, Err: err, UlimitN: true, Who: o.who()}
	if want > cur.Max && errors.Is(err, unix.EPERM) {
		if nr, nerr := o.nrOpen(); nerr == nil {
			e.NrOpen = nr
		}
	}
	return e
}
