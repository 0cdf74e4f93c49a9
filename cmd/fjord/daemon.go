package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/fjordlb/fjord/config"
	"github.com/fjordlb/fjord/sysctl"
)

// A fjord process starts another in two cases: daemon mode (the process
// started from the terminal starts the one that runs in the background and
// exits) and a reload (the running process starts the one that takes
// over). In both, the new process gets the write end of a pipe as fd 3,
// named by readyEnv, and sends through it everything it prints while it
// starts; once it listens it writes readyLine and closes the pipe. The
// starting process relays the lines and learns from the pipe whether the
// new one runs (readyLine) or failed (end of file without it).
const (
	readyEnv     = "FJORD_READY_FD"
	readyLine    = "\x00fjord ready"
	startTimeout = time.Minute // a new process that has not started by then is killed
)

// daemonMode reports whether fjord runs in the background: asked for by
// -D or 'daemon', not overridden by -db.
func (o *options) daemonMode(cfg *config.Config) bool {
	return (cfg.Global.Daemon || o.daemon) && !o.fg
}

// goBackground reports whether this process is to start fjord in the
// background and exit: daemon mode, and not already the background
// process.
func (o *options) goBackground(cfg *config.Config) bool {
	return o.daemonMode(cfg) && !o.link.spawned()
}

// daemonize starts fjord again in a new session, detached from the
// terminal (stdin, stdout and stderr on /dev/null), prints what it prints
// while starting, and returns 0 once it listens, 1 if it failed.
func daemonize(o *options, cfg *config.Config, stderr io.Writer) int {
	// The sockets of fd@N lines go with it, under new numbers.
	byFD, err := o.inheritedSockets(cfg, handedOver{}, false)
	if err != nil {
		fmt.Fprintf(stderr, "[ALERT] %v\n", err)
		return 1
	}
	files := startFiles(byFD)
	osFiles := make([]*os.File, len(files))
	for i, f := range files {
		osFiles[i] = f.File
	}
	// The pidfile, if any, gets the daemon's pid: the daemon writes it.
	_, err = spawn(spawnSpec{
		args:   o.args,
		files:  osFiles,
		env:    []string{listenFDsEnv + "=" + encodeListenFDs(files, 4)},
		setsid: true,
		relay:  func(line string) { fmt.Fprintln(stderr, line) },
	})
	if err != nil {
		fmt.Fprintf(stderr, "[ALERT] daemon mode: %v\n", err)
		return 1
	}
	return 0
}

// daemonLogWarning is printed by a daemon at startup when its messages
// have nowhere to go once the terminal is gone.
func daemonLogWarning(cfg *config.Config) string {
	if len(cfg.Global.Logs) > 0 {
		return ""
	}
	return "[WARNING] daemon mode: the global section has no 'log' target, so once started fjord's messages are discarded (its standard error is /dev/null); add a 'log' line, or run with -db to stay in the foreground"
}

type spawnSpec struct {
	args   []string
	files  []*os.File // become fd 4, 5, ... in the new process
	env    []string   // added to this process's environment
	setsid bool       // a new session: no controlling terminal
	// stdout and stderr of the new process after it started; nil is
	// /dev/null.
	stdout, stderr *os.File
	relay          func(line string) // what it prints while starting
}

// spawn starts this executable again and waits until it reports that it
// listens, returning its process id, or until it fails, returning why.
// The new process's exit is waited for in the background, so that it is
// reaped if it ends while this one runs.
func spawn(spec spawnSpec) (int, error) {
	exe, err := os.Executable()
	if err != nil {
		return 0, fmt.Errorf("cannot find fjord's executable: %w", err)
	}
	closeOnExecAll()
	r, w, err := os.Pipe()
	if err != nil {
		return 0, err
	}
	defer r.Close()
	cmd := exec.Command(exe, spec.args...)
	cmd.Env = append(childEnv(), readyEnv+"=3")
	cmd.Env = append(cmd.Env, spec.env...)
	cmd.ExtraFiles = append([]*os.File{w}, spec.files...)
	if spec.stdout != nil {
		cmd.Stdout = spec.stdout
	}
	if spec.stderr != nil {
		cmd.Stderr = spec.stderr
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: spec.setsid}
	err = cmd.Start()
	w.Close()
	if err != nil {
		return 0, fmt.Errorf("cannot start %s: %w", exe, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	pid := cmd.Process.Pid

	_ = r.SetReadDeadline(time.Now().Add(startTimeout))
	br := bufio.NewReader(r)
	for {
		line, err := br.ReadString('\n')
		line = strings.TrimSuffix(line, "\n")
		if line == readyLine {
			return pid, nil
		}
		if line != "" && spec.relay != nil {
			spec.relay(line)
		}
		if err == nil {
			continue
		}
		if errors.Is(err, os.ErrDeadlineExceeded) {
			_ = cmd.Process.Kill()
			<-exited
			return 0, fmt.Errorf("process %d did not start within %v (killed)", pid, startTimeout)
		}
		// The pipe closed without the ready line: the process failed
		// and is exiting (or closed fd 3 and will not report; kill it).
		select {
		case err := <-exited:
			return 0, fmt.Errorf("process %d failed to start (%v)", pid, err)
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
			return 0, fmt.Errorf("process %d stopped reporting before it started (killed)", pid)
		}
	}
}

// closeOnExecAll marks every descriptor above stderr close-on-exec, so that
// the new process gets only what spawn gives it. Descriptors this process
// inherited by accident (a shell's pipe, say) would otherwise live on in a
// daemon and keep, for example, a `$(fjord -D ...)` waiting for its end.
func closeOnExecAll() {
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return
	}
	for _, e := range entries {
		if fd, err := strconv.Atoi(e.Name()); err == nil && fd > 2 {
			unix.CloseOnExec(fd)
		}
	}
}

// childEnv is this process's environment without the variables that
// speak to this process only.
func childEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, readyEnv+"=") || strings.HasPrefix(kv, listenFDsEnv+"=") {
			continue
		}
		env = append(env, kv)
	}
	return env
}

// parentLink is the new process's end of the pipe: everything written to
// it goes to the starting process until ready, and to stderr after.
// A process not started by fjord writes to stderr throughout.
type parentLink struct {
	mu     sync.Mutex
	pipe   *os.File
	stderr io.Writer
	child  bool
}

func takeParentLink(stderr io.Writer) *parentLink {
	l := &parentLink{stderr: stderr}
	v, ok := os.LookupEnv(readyEnv)
	if !ok {
		return l
	}
	os.Unsetenv(readyEnv)
	fd, err := strconv.Atoi(v)
	if err != nil || fd < 3 {
		fmt.Fprintf(stderr, "[WARNING] %s=%q is not a descriptor; not reporting startup\n", readyEnv, v)
		return l
	}
	unix.CloseOnExec(fd)
	l.pipe, l.child = os.NewFile(uintptr(fd), "startup report"), true
	return l
}

// spawned reports whether another fjord process started this one.
func (l *parentLink) spawned() bool { return l.child }

func (l *parentLink) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.pipe != nil {
		if n, err := l.pipe.Write(p); err == nil {
			return n, nil
		}
		// The starting process is gone: nobody reads the pipe.
		l.pipe.Close()
		l.pipe = nil
	}
	return l.stderr.Write(p)
}

// ready tells the starting process that this one listens; from now on
// output goes to stderr.
func (l *parentLink) ready() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.pipe != nil {
		_, _ = io.WriteString(l.pipe, readyLine+"\n")
		l.pipe.Close()
		l.pipe = nil
	}
}

// close ends the report without the ready line: startup failed.
func (l *parentLink) close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.pipe != nil {
		l.pipe.Close()
		l.pipe = nil
	}
}

// writePIDFile writes pid to path atomically (a reader never sees a
// half-written file), replacing what was there.
func writePIDFile(path string, pid int) error {
	if err := sysctl.WriteFileAtomic(path, []byte(strconv.Itoa(pid)+"\n"), 0o644); err != nil {
		return fmt.Errorf("pidfile %s: %w", path, err)
	}
	return nil
}

// removePIDFile removes path if it still holds pid: after a reload the
// pidfile names the new process, and the old one must leave it alone.
func removePIDFile(path string, pid int) {
	b, err := os.ReadFile(path)
	if err != nil {
		return
	}
	if got, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && got == pid {
		os.Remove(path)
	}
}
