// Package proc starts the benchmark's processes (web nodes, proxies) in one
// process group that is killed as a whole when the harness ends, pins them
// to CPUs, and measures them from /proc: CPU time of every thread, RSS and
// descriptors of a whole process tree.
package proc

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Group is a process group holding every process the harness starts. It
// is anchored by a sleeping process of its own, so that the group exists
// for as long as the harness runs, whichever member ends first: joining a
// group needs a live member. Close kills the whole group, grandchildren
// (nginx's workers) included, because they inherit the group.
//
// Every member also gets SIGKILL from the kernel when the harness dies
// (PR_SET_PDEATHSIG), the one way out Close cannot catch.
type Group struct {
	mu     sync.Mutex
	pgid   int
	anchor *exec.Cmd
	procs  []*Proc
	closed bool
}

// NewGroup creates the group.
func NewGroup() (*Group, error) {
	sleep, err := exec.LookPath("sleep")
	if err != nil {
		return nil, fmt.Errorf("the process group's anchor: %w", err)
	}
	cmd := exec.Command(sleep, "infinity")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("the process group's anchor: %w", err)
	}
	go cmd.Wait() //nolint:errcheck // reaped; Close kills it
	return &Group{pgid: cmd.Process.Pid, anchor: cmd}, nil
}

// Pgid is the group's id: kill(-Pgid) reaches every member.
func (g *Group) Pgid() int { return g.pgid }

// Spec is a process to start.
type Spec struct {
	Name string   // for messages: "haproxy-tcp"
	Argv []string // Argv[0] is the program's path
	Env  []string // added to the harness's environment
	Dir  string   // working directory; "" is the harness's
	CPUs CPUSet   // pin to these CPUs from the first instruction; empty: inherit
	Log  string   // file that gets stdout and stderr; "" keeps only the tail
}

// Proc is a started process.
type Proc struct {
	Name string
	cmd  *exec.Cmd
	tail *Tail
	log  *os.File
	done chan struct{}
	err  error // the Wait result, once done is closed
}

// Start starts spec as a member of the group.
func (g *Group) Start(spec Spec) (*Proc, error) {
	if len(spec.Argv) == 0 {
		return nil, errors.New("proc: empty command")
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return nil, errors.New("proc: the group is closed")
	}
	p := &Proc{Name: spec.Name, tail: NewTail(16 << 10), done: make(chan struct{})}
	var out io.Writer = p.tail
	if spec.Log != "" {
		f, err := os.Create(spec.Log)
		if err != nil {
			return nil, fmt.Errorf("%s: log: %w", spec.Name, err)
		}
		p.log = f
		out = io.MultiWriter(f, p.tail)
	}
	cmd := exec.Command(spec.Argv[0], spec.Argv[1:]...)
	cmd.Env = append(os.Environ(), spec.Env...)
	cmd.Dir = spec.Dir
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pgid: g.pgid, Pdeathsig: syscall.SIGKILL}
	if err := startPinned(cmd, spec.CPUs); err != nil {
		if p.log != nil {
			p.log.Close()
		}
		return nil, fmt.Errorf("%s: starting %s: %w", spec.Name, spec.Argv[0], err)
	}
	p.cmd = cmd
	g.procs = append(g.procs, p)
	go func() {
		p.err = cmd.Wait()
		if p.log != nil {
			p.log.Close()
		}
		close(p.done)
	}()
	return p, nil
}

// startPinned starts cmd with the affinity cpus. The child is forked from
// the calling thread and inherits that thread's affinity, so the thread is
// pinned for the fork and then given its own set back: every thread of the
// child, the first one included, runs on cpus, where taskset-style pinning
// after the start would miss threads created in between.
func startPinned(cmd *exec.Cmd, cpus CPUSet) error {
	if len(cpus) == 0 {
		return cmd.Start()
	}
	// Pdeathsig is tied to the thread that forks: locking and unlocking
	// (rather than exiting locked) keeps that thread alive.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var old unix.CPUSet
	if err := unix.SchedGetaffinity(0, &old); err != nil {
		return fmt.Errorf("sched_getaffinity: %w", err)
	}
	if err := unix.SchedSetaffinity(0, cpus.unix()); err != nil {
		return fmt.Errorf("pinning to CPUs %s: %w", cpus, err)
	}
	err := cmd.Start()
	if rerr := unix.SchedSetaffinity(0, &old); rerr != nil && err == nil {
		err = fmt.Errorf("restoring the harness's affinity: %w", rerr)
	}
	return err
}

// Close kills every member of the group, SIGTERM first and SIGKILL after
// grace, and waits for the processes it started.
func (g *Group) Close(grace time.Duration) {
	g.mu.Lock()
	if g.closed {
		g.mu.Unlock()
		return
	}
	g.closed = true
	procs := g.procs
	g.mu.Unlock()

	// The anchor is part of the group and dies with it.
	_ = unix.Kill(-g.pgid, unix.SIGTERM)
	deadline := time.After(grace)
	for _, p := range procs {
		select {
		case <-p.done:
		case <-deadline:
		}
	}
	_ = unix.Kill(-g.pgid, unix.SIGKILL)
	for _, p := range procs {
		<-p.done
	}
}

// Pid is the process's id.
func (p *Proc) Pid() int { return p.cmd.Process.Pid }

// Done is closed when the process has ended.
func (p *Proc) Done() <-chan struct{} { return p.done }

// Err is how the process ended; valid once Done is closed.
func (p *Proc) Err() error { return p.err }

// Output is the last 16 KiB the process wrote to stdout and stderr.
func (p *Proc) Output() string { return p.tail.String() }

// Stop ends the process and its descendants: SIGTERM to the process (so
// that nginx's master and HAProxy stop their workers the way they intend),
// then after grace SIGKILL to everything in its tree.
func (p *Proc) Stop(grace time.Duration) {
	select {
	case <-p.done:
		return
	default:
	}
	tree, _ := Tree(p.Pid())
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(grace):
		for _, pid := range tree {
			_ = unix.Kill(pid, unix.SIGKILL)
		}
		<-p.done
	}
	// Workers may outlive a master that was told to stop. tree is empty
	// when the process was reaped between the check above and Tree.
	for _, pid := range tree[min(1, len(tree)):] {
		if Alive(pid) {
			_ = unix.Kill(pid, unix.SIGKILL)
		}
	}
}

// Tail keeps the last bytes written to it: a proxy's log, to show when it
// fails.
type Tail struct {
	mu  sync.Mutex
	max int
	buf []byte
	cut bool
}

// NewTail keeps the last max bytes.
func NewTail(max int) *Tail { return &Tail{max: max} }

func (t *Tail) Write(b []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, b...)
	if over := len(t.buf) - t.max; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
		t.cut = true
	}
	return len(b), nil
}

func (t *Tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.cut {
		return "...\n" + string(t.buf)
	}
	return string(t.buf)
}
