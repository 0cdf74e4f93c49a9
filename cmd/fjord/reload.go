package main

import (
	"bytes"
	"fmt"
	"io"
	"log"
	"net"
	"net/netip"
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

// listenFDsEnv names the listening sockets a reload hands to the new
// process: "ADDR=FD,FD;ADDR=FD", every socket of every loop of the old
// process, by the address it is bound to.
const listenFDsEnv = "FJORD_LISTEN_FDS"

// encodeListenFDs describes files as they will be numbered in the new
// process, the first one being fd first.
func encodeListenFDs(files []engine.ListenerFile, first int) string {
	byAddr := map[netip.AddrPort][]string{}
	var order []netip.AddrPort
	for i, f := range files {
		if _, ok := byAddr[f.Addr]; !ok {
			order = append(order, f.Addr)
		}
		byAddr[f.Addr] = append(byAddr[f.Addr], strconv.Itoa(first+i))
	}
	sort.Slice(order, func(i, j int) bool { return order[i].Compare(order[j]) < 0 })
	parts := make([]string, 0, len(order))
	for _, a := range order {
		parts = append(parts, a.String()+"="+strings.Join(byAddr[a], ","))
	}
	return strings.Join(parts, ";")
}

// parseListenFDs reads the value of listenFDsEnv.
func parseListenFDs(s string) (map[netip.AddrPort][]int, error) {
	out := map[netip.AddrPort][]int{}
	if s == "" {
		return out, nil
	}
	seen := map[int]bool{}
	for _, part := range strings.Split(s, ";") {
		eq := strings.LastIndexByte(part, '=')
		if eq < 0 {
			return nil, fmt.Errorf("%q: no '=' between address and descriptors", part)
		}
		addr, err := netip.ParseAddrPort(part[:eq])
		if err != nil {
			return nil, fmt.Errorf("%q: %w", part, err)
		}
		if _, dup := out[addr]; dup {
			return nil, fmt.Errorf("%s given twice", addr)
		}
		for _, f := range strings.Split(part[eq+1:], ",") {
			fd, err := strconv.Atoi(f)
			if err != nil || fd < 3 {
				return nil, fmt.Errorf("%s: %q is not a descriptor above 2", addr, f)
			}
			if seen[fd] {
				return nil, fmt.Errorf("descriptor %d given twice", fd)
			}
			seen[fd] = true
			out[addr] = append(out[addr], fd)
		}
	}
	return out, nil
}

// takeInheritedListeners returns the sockets a reload handed to this
// process, and removes the variable so that no later process sees it.
func takeInheritedListeners() (map[netip.AddrPort][]int, error) {
	v, ok := os.LookupEnv(listenFDsEnv)
	if !ok {
		return nil, nil
	}
	os.Unsetenv(listenFDsEnv)
	m, err := parseListenFDs(v)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", listenFDsEnv, err)
	}
	return m, nil
}

// statsSockets are the runtime API sockets; a reload closes them for the
// new process to open, and opens them again if the reload fails.
type statsSockets struct {
	src    *stats.Sources
	conf   []config.StatsSocket
	logger *log.Logger
	open   []*stats.Socket
	wait   bool // another process may still be serving a path: wait for it
}

func (s *statsSockets) listen() error {
	for _, sc := range s.conf {
		if s.wait {
			waitUnserved(sc.Path, 5*time.Second)
		}
		sock, err := stats.ListenSocket(s.src, sc, s.logger)
		if err != nil {
			s.close()
			return err
		}
		s.open = append(s.open, sock)
		s.logger.Printf("runtime API on %s (level %s)", sc.Path, sc.Level)
	}
	return nil
}

// waitUnserved waits, within the bound, until nothing accepts on the unix
// socket at path.
func waitUnserved(path string, within time.Duration) {
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		c, err := net.DialTimeout("unix", path, 100*time.Millisecond)
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
			p.logs.plain.Printf("%s listening on %s", fe, p.eng.Addr(b))
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
	if _, ok := load(p.o.files, &diag); !ok {
		for _, line := range strings.Split(strings.TrimSpace(diag.String()), "\n") {
			p.logs.Printf("reload: %s", line)
		}
		return keep("the configuration is not valid")
	}
	files, err := p.eng.ListenerFiles()
	if err != nil {
		return keep("%v", err)
	}
	defer func() {
		for _, f := range files {
			f.File.Close()
		}
	}()
	osFiles := make([]*os.File, len(files))
	for i, f := range files {
		osFiles[i] = f.File
	}
	// The new process opens the runtime API sockets itself.
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
