package main

import (
	"bytes"
	"fmt"
	"io"
	"log"
	"net"
	"net/netip"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/fjordlb/fjord/config"
	"github.com/fjordlb/fjord/engine"
	"github.com/fjordlb/fjord/logging"
	"github.com/fjordlb/fjord/stats"
)

// What each signal does (docs/process.md):
//
//	SIGTERM, SIGINT  stop at once
//	SIGUSR1          soft stop: stop accepting, let the sessions finish
//	                 (within hard-stop-after), exit
//	SIGHUP           reload: check the configuration, start a new process
//	                 with it that takes over the listening sockets, then
//	                 soft-stop this one
//	SIGUSR2          reopen the log files (after an external logrotate);
//	                 HAProxy's master process reloads on it instead
var lifeSignals = []os.Signal{syscall.SIGTERM, syscall.SIGINT, syscall.SIGUSR1, syscall.SIGHUP, syscall.SIGUSR2}

// listenFDsEnv names the listening sockets a fjord process hands to one
// it starts (a reload, daemon mode): "KEY=FD,FD;KEY=FD", where KEY is the
// address a bind's sockets are bound to (every socket of every loop of
// the old process), fd@N for the socket of an fd@N line, or for a Unix
// bind unix@PATH or abns@NAME, the path or name query-escaped (a path
// may hold any of ";=,").
const listenFDsEnv = "FJORD_LISTEN_FDS"

// handedOver are the sockets a fjord process got from the one that
// started it, by the address they are bound to, for fd@N lines by N, and
// for Unix binds by their path or name.
type handedOver struct {
	addrs map[netip.AddrPort][]int
	fds   map[int][]int
	unix  map[config.UnixAddr][]int
}

// handoverKey names a socket in listenFDsEnv.
func handoverKey(f engine.ListenerFile) string {
	switch {
	case f.FD >= 0:
		return "fd@" + strconv.Itoa(f.FD)
	case f.Unix.Abstract:
		return "abns@" + url.QueryEscape(f.Unix.Path)
	case f.Unix.IsValid():
		return "unix@" + url.QueryEscape(f.Unix.Path)
	}
	return f.Addr.String()
}

// encodeListenFDs describes files as they will be numbered in the new
// process, the first one being fd first.
func encodeListenFDs(files []engine.ListenerFile, first int) string {
	byKey := map[string][]string{}
	var order []engine.ListenerFile
	for i, f := range files {
		k := handoverKey(f)
		if _, ok := byKey[k]; !ok {
			order = append(order, f)
		}
		byKey[k] = append(byKey[k], strconv.Itoa(first+i))
	}
	// Addresses first, in order, then Unix sockets by name, then fd@N by
	// N: a stable form to read.
	rank := func(f engine.ListenerFile) int {
		switch {
		case f.FD >= 0:
			return 2
		case f.Unix.IsValid():
			return 1
		}
		return 0
	}
	sort.Slice(order, func(i, j int) bool {
		a, b := order[i], order[j]
		if ra, rb := rank(a), rank(b); ra != rb {
			return ra < rb
		}
		switch {
		case a.FD >= 0:
			return a.FD < b.FD
		case a.Unix.IsValid():
			return handoverKey(a) < handoverKey(b)
		}
		return a.Addr.Compare(b.Addr) < 0
	})
	parts := make([]string, 0, len(order))
	for _, f := range order {
		k := handoverKey(f)
		parts = append(parts, k+"="+strings.Join(byKey[k], ","))
	}
	return strings.Join(parts, ";")
}

// parseListenFDs reads the value of listenFDsEnv.
func parseListenFDs(s string) (handedOver, error) {
	out := handedOver{addrs: map[netip.AddrPort][]int{}, fds: map[int][]int{}, unix: map[config.UnixAddr][]int{}}
	if s == "" {
		return out, nil
	}
	seen := map[int]bool{}
	for _, part := range strings.Split(s, ";") {
		eq := strings.LastIndexByte(part, '=')
		if eq < 0 {
			return out, fmt.Errorf("%q: no '=' between address and descriptors", part)
		}
		key := part[:eq]
		var fds []int
		for _, f := range strings.Split(part[eq+1:], ",") {
			fd, err := strconv.Atoi(f)
			if err != nil || fd < 3 {
				return out, fmt.Errorf("%s: %q is not a descriptor above 2", key, f)
			}
			if seen[fd] {
				return out, fmt.Errorf("descriptor %d given twice", fd)
			}
			seen[fd] = true
			fds = append(fds, fd)
		}
		if n, ok := strings.CutPrefix(key, "fd@"); ok {
			fd, err := strconv.Atoi(n)
			if err != nil || fd < 0 || strconv.Itoa(fd) != n {
				return out, fmt.Errorf("%q: %q is not fd@ and a descriptor number", part, key)
			}
			if _, dup := out.fds[fd]; dup {
				return out, fmt.Errorf("%s given twice", key)
			}
			out.fds[fd] = fds
			continue
		}
		if u, ok, err := parseUnixKey(key); ok {
			if err != nil {
				return out, fmt.Errorf("%q: %w", part, err)
			}
			if _, dup := out.unix[u]; dup {
				return out, fmt.Errorf("%s given twice", key)
			}
			out.unix[u] = fds
			continue
		}
		addr, err := netip.ParseAddrPort(key)
		if err != nil {
			return out, fmt.Errorf("%q: %w", part, err)
		}
		if _, dup := out.addrs[addr]; dup {
			return out, fmt.Errorf("%s given twice", addr)
		}
		out.addrs[addr] = fds
	}
	return out, nil
}

// parseUnixKey reads the key of a Unix bind's sockets (handoverKey);
// ok is false for any other key.
func parseUnixKey(key string) (u config.UnixAddr, ok bool, err error) {
	esc, abstract := strings.CutPrefix(key, "abns@")
	if !abstract {
		if esc, ok = strings.CutPrefix(key, "unix@"); !ok {
			return u, false, nil
		}
	}
	path, err := url.QueryUnescape(esc)
	if err != nil || path == "" {
		return u, true, fmt.Errorf("%q is not a Unix socket's escaped path or name", key)
	}
	return config.UnixAddr{Path: path, Abstract: abstract}, true, nil
}

// takeHandedOver returns the sockets the fjord process that started this
// one handed over, and removes the variable so that no later process
// sees it.
// present reports whether the variable was set at all: a process started
// by fjord looks at no descriptor it was not handed, even with none.
func takeHandedOver() (h handedOver, present bool, err error) {
	v, present := os.LookupEnv(listenFDsEnv)
	os.Unsetenv(listenFDsEnv)
	h, err = parseListenFDs(v)
	if err != nil {
		return h, present, fmt.Errorf("%s: %w", listenFDsEnv, err)
	}
	return h, present, nil
}

// statsSockets are the runtime API sockets; a reload closes them for the
// new process to open, and opens them again if the reload fails.
type statsSockets struct {
	src    *stats.Sources
	conf   []config.StatsSocket
	logger *log.Logger
	// inherited are the sockets of fd@N lines, by N, held while the
	// process runs: each listen serves on a duplicate, a reload hands
	// them over, and a failed reload serves on them again.
	inherited map[int]*os.File
	open      []*stats.Socket
	wait      bool // another process may still be serving an address: wait for it
}

func (s *statsSockets) listen() error {
	for _, sc := range s.conf {
		var (
			sock *stats.Socket
			err  error
		)
		if sc.Inherited {
			sock, err = stats.ServeInherited(s.src, sc, s.inherited[sc.FD], s.logger)
		} else {
			if s.wait {
				waitUnserved(sc, 5*time.Second)
			}
			sock, err = stats.ListenSocket(s.src, sc, s.logger)
		}
		if err != nil {
			s.close()
			return err
		}
		s.open = append(s.open, sock)
		s.logger.Printf("runtime API on %s (level %s)", sc, sc.Level)
	}
	return nil
}

// waitUnserved waits, within the bound, until nothing accepts on the
// socket's path or address.
func waitUnserved(sc config.StatsSocket, within time.Duration) {
	network, addr := "unix", sc.Path
	if sc.Addr.IsValid() {
		network, addr = "tcp", sc.Addr.String()
	}
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		c, err := net.DialTimeout(network, addr, 100*time.Millisecond)
		if err != nil {
			return
		}
		c.Close()
		time.Sleep(20 * time.Millisecond)
	}
}

func (s *statsSockets) close() {
	for _, sock := range s.open {
		sock.Close()
	}
	s.open = nil
}

// handover duplicates the inherited sockets for the process a reload
// starts; the caller closes the files.
func (s *statsSockets) handover() ([]engine.ListenerFile, error) {
	var out []engine.ListenerFile
	for n, f := range s.inherited {
		rc, err := f.SyscallConn()
		if err != nil {
			return out, fmt.Errorf("duplicate stats socket fd@%d: %w", n, err)
		}
		dup, dupErr := -1, error(nil)
		if err := rc.Control(func(fd uintptr) {
			dup, dupErr = unix.FcntlInt(fd, unix.F_DUPFD_CLOEXEC, 0)
		}); err != nil {
			dupErr = err
		}
		if dupErr != nil {
			return out, fmt.Errorf("duplicate stats socket fd@%d: fcntl(F_DUPFD_CLOEXEC): %w", n, dupErr)
		}
		out = append(out, engine.ListenerFile{FD: n, File: os.NewFile(uintptr(dup), fmt.Sprintf("stats socket fd@%d", n))})
	}
	return out, nil
}

// release closes the inherited sockets, once nothing serves on them.
func (s *statsSockets) release() {
	s.close()
	for _, f := range s.inherited {
		f.Close()
	}
	s.inherited = nil
}

// process is a running fjord: its engine and what serve set up around it.
type process struct {
	cfg    *config.Config
	o      *options
	eng    *engine.Engine
	socks  *statsSockets
	logs   *logs // its Logger is fjord's own messages
	stderr io.Writer
	sig    chan os.Signal
}

// run finishes startup (pidfile, systemd, -sf/-st, the report to a
// starting process) and then serves until a signal ends it.
func (p *process) run() int {
	// Resolve the user and group before -sf/-st stop the processes
	// serving now: an unknown user must not leave nothing serving.
	creds, err := resolveCredentials(&p.cfg.Global)
	if err != nil {
		return p.fail(err)
	}
	pid := os.Getpid()
	if path := p.pidFile(); path != "" {
		if err := writePIDFile(path, pid); err != nil {
			return p.fail(err)
		}
		defer removePIDFile(path, pid)
	}
	finish(p.logs.Logger, "-sf", p.o.softFinish, syscall.SIGUSR1)
	finish(p.logs.Logger, "-st", p.o.hardFinish, syscall.SIGTERM)
	// After -sf/-st: the processes they stop let go of the runtime API
	// sockets at once, and this one waits for that.
	p.socks.wait = len(p.o.softFinish)+len(p.o.hardFinish) > 0
	if err := p.socks.listen(); err != nil {
		return p.fail(err)
	}
	// Everything that needs root (ports below 1024, the pidfile and the
	// runtime API sockets in /run) is done: drop privileges for good.
	if err := dropPrivileges(creds, p.logs.Printf); err != nil {
		return p.fail(err)
	}
	p.eng.Serve()
	for _, fe := range p.cfg.Frontends() {
		for _, b := range fe.Binds {
			at := p.eng.Addr(b).String()
			switch {
			case b.Unix.IsValid():
				at = b.Unix.String()
			case !p.eng.Addr(b).IsValid():
				at = "a Unix socket" // an fd@N bind's
			}
			if b.Inherited {
				if sd := p.o.systemd.describe(b.FD); sd != "" {
					at += ", " + sd
				}
				at = fmt.Sprintf("%s (%s)", b, at)
			}
			p.logs.plain.Printf("%s listening on %s", fe, at)
		}
	}
	if err := notifyReady(); err != nil {
		p.logs.Printf("systemd: %v", err)
	}
	p.o.link.ready()
	for s := range p.sig {
		switch s {
		case syscall.SIGUSR1:
			return p.softStop("received SIGUSR1")
		case syscall.SIGUSR2:
			p.reopenLogs()
		case syscall.SIGHUP:
			if p.reload(s) {
				p.logs.targets.Event(logging.Notice, "", "Reloaded: a new process serves the new configuration; this one finishes its sessions.")
				return p.softStop("reloaded")
			}
		default:
			p.logs.Printf("received %s, stopping", signalName(s))
			p.eng.Stop()
			return 0
		}
	}
	return 0
}

// fail reports why startup failed and stops the engine.
func (p *process) fail(err error) int {
	fmt.Fprintf(p.stderr, "[ALERT] %v\n", err)
	p.eng.Stop()
	return 1
}

func (p *process) pidFile() string {
	if p.o.pidFile != "" {
		return p.o.pidFile
	}
	return p.cfg.Global.PIDFile
}

// signalName is the name users send a signal by (kill -HUP), not Go's
// description of it ("hangup").
func signalName(s os.Signal) string {
	if n := unix.SignalName(s.(syscall.Signal)); n != "" {
		return n
	}
	return s.String()
}

// finish signals the processes named by -sf or -st.
func finish(logger *log.Logger, flag string, pids []int, sig syscall.Signal) {
	for _, pid := range pids {
		if pid == os.Getpid() {
			continue
		}
		if err := syscall.Kill(pid, sig); err != nil {
			logger.Printf("%s %d: %v", flag, pid, err)
			continue
		}
		logger.Printf("%s: sent %s to process %d", flag, signalName(sig), pid)
	}
}

// reopenLogs reopens the log files, after an external logrotate moved them.
func (p *process) reopenLogs() {
	if err := p.logs.targets.Reopen(); err != nil {
		p.logs.Printf("SIGUSR2: reopening log files: %v", err)
		return
	}
	p.logs.Printf("SIGUSR2: log files reopened")
}

// softStop stops accepting and waits for the sessions to end, for at most
// hard-stop-after; SIGTERM or SIGINT cut it short.
func (p *process) softStop(why string) int {
	drained := p.eng.SoftStop()
	p.socks.close()
	hardAfter := p.cfg.Global.HardStopAfter
	limit := "no hard-stop-after: waiting for every session"
	var hard <-chan time.Time
	if hardAfter > 0 {
		t := time.NewTimer(hardAfter)
		defer t.Stop()
		hard = t.C
		limit = fmt.Sprintf("hard-stop-after %v", hardAfter)
	}
	p.logs.Printf("%s: soft stop: no longer accepting connections; %d sessions to finish (%s)",
		why, p.eng.Stats().Sessions, limit)
	for {
		select {
		case <-drained:
			p.logs.Printf("soft stop: every session has ended, exiting")
			p.eng.Stop()
			return 0
		case <-hard:
			p.logs.Printf("soft stop: hard-stop-after %v reached, closing the %d sessions left",
				hardAfter, p.eng.Stats().Sessions)
			p.eng.Stop()
			return 0
		case s := <-p.sig:
			if s == syscall.SIGTERM || s == syscall.SIGINT {
				p.logs.Printf("received %s during the soft stop, closing the %d sessions left",
					signalName(s), p.eng.Stats().Sessions)
				p.eng.Stop()
				return 0
			}
			if s == syscall.SIGUSR2 {
				p.reopenLogs()
				continue
			}
			p.logs.Printf("received %s during the soft stop: ignored (this process is finishing its sessions)", signalName(s))
		}
	}
}

// reload starts a new process with the configuration as it is now on
// disk, handing it every listening socket, and reports whether it took
// over. A configuration that does not load, or a new process that fails
// to start, leaves this process serving as before.
func (p *process) reload(s os.Signal) bool {
	p.logs.Printf("received %s: reloading %s", signalName(s), strings.Join(p.o.files, ", "))
	if err := notifyReloading(); err != nil {
		p.logs.Printf("systemd: %v", err)
	}
	keep := func(format string, args ...any) bool {
		why := fmt.Sprintf(format, args...)
		p.logs.Printf("reload failed: %s; still serving with the previous configuration", why)
		if err := sdNotify("READY=1\nSTATUS=serving; the last reload failed: " + why + "\n"); err != nil {
			p.logs.Printf("systemd: %v", err)
		}
		return false
	}
	var diag bytes.Buffer
	cfg, ok := load(p.o.files, p.o.configOptions(), &diag)
	if ok {
		// A certificate that no longer loads keeps this process
		// serving, and the log names the file and why.
		_, ok = loadTLS(cfg, &diag)
	}
	if !ok {
		for _, line := range strings.Split(strings.TrimSpace(diag.String()), "\n") {
			p.logs.Printf("reload: %s", line)
		}
		return keep("the configuration is not valid")
	}
	files, err := p.eng.ListenerFiles()
	if err != nil {
		return keep("%v", err)
	}
	statsFiles, err := p.socks.handover()
	files = append(files, statsFiles...)
	defer func() {
		for _, f := range files {
			f.File.Close()
		}
	}()
	if err != nil {
		return keep("%v", err)
	}
	osFiles := make([]*os.File, len(files))
	for i, f := range files {
		osFiles[i] = f.File
	}
	// The new process opens the runtime API sockets itself, and serves
	// on the inherited ones it was handed.
	p.socks.close()
	p.socks.wait = false
	pid, err := spawn(spawnSpec{
		args:   p.o.args,
		files:  osFiles,
		env:    []string{listenFDsEnv + "=" + encodeListenFDs(files, 4)},
		stdout: os.Stdout,
		stderr: os.Stderr,
		relay: func(line string) {
			// A daemon's new process logs to the targets itself.
			if !p.o.daemonMode(p.cfg) {
				fmt.Fprintln(p.stderr, line)
			}
		},
	})
	if err != nil {
		if lerr := p.socks.listen(); lerr != nil {
			p.logs.Printf("reload: runtime API: %v", lerr)
		}
		return keep("%v", err)
	}
	p.logs.Printf("reload: process %d serves the new configuration on the same sockets", pid)
	return true
}
