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
	fmt.Fprintf(&b, ", and raising the hard limit failed: %v. ", e.Err)
	if e.NrOpen != 0 && e.Want > e.NrOpen {
		fmt.Fprintf(&b, "The kernel's fs.nr_open is %d and not even root may go above it: raise it ('sysctl -w fs.nr_open=%d') and run fjord as root", e.NrOpen, e.Want)
	} else {
		fmt.Fprintf(&b, "Run fjord as root (or with CAP_SYS_RESOURCE), or raise the hard limit before starting it ('ulimit -n %d' in the shell, LimitNOFILE=%d in a systemd unit)", e.Want, e.Want)
	}
	if e.UlimitN {
		fmt.Fprintf(&b, "; or lower 'ulimit-n' to at most %d", e.Hard)
		return b.String()
	}
	fmt.Fprintf(&b, "; or lower 'maxconn'; or set 'ulimit-n' in the global section to at most %d, accepting that fjord may run out of descriptors at full load", e.Hard)
	return b.String()
}

func (e *NoFileError) Unwrap() error { return e.Err }

// rlimitOps are the system calls RaiseNoFile makes, so that tests can stand
// in for the kernel without changing the process's limits.
type rlimitOps struct {
	get    func(*unix.Rlimit) error
	set    func(*unix.Rlimit) error
	nrOpen func() (uint64, error) // fs.nr_open
}

var system = rlimitOps{
	get: func(r *unix.Rlimit) error { return unix.Getrlimit(unix.RLIMIT_NOFILE, r) },
	// unix.Setrlimit goes through syscall.Setrlimit, which also lets
	// processes started later inherit the new limit.
	set:    func(r *unix.Rlimit) error { return unix.Setrlimit(unix.RLIMIT_NOFILE, r) },
	nrOpen: readNrOpen,
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
// and what the operator can do: run as root, raise 'ulimit -n', lower
// maxconn, or set ulimit-n.
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
	e := &NoFileError{Want: want, Soft: cur.Cur, Hard: cur.Max, Err: err}
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
	e := &NoFileError{Want: want, Soft: cur.Cur, Hard: cur.Max, Err: err, UlimitN: true}
	if want > cur.Max && errors.Is(err, unix.EPERM) {
		if nr, nerr := o.nrOpen(); nerr == nil {
			e.NrOpen = nr
		}
	}
	return e
}
