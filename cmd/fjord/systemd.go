package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/fjordlb/fjord/config"
)

// Socket activation (sd_listen_fds(3)): systemd binds the sockets of a
// socket unit, starts fjord with them as descriptors 3, 4, ... and says so
// in LISTEN_PID (the process they are for), LISTEN_FDS (how many) and
// LISTEN_FDNAMES (their names, colon-separated: FileDescriptorName=, or
// the socket unit's name). The configuration names them as 'bind fd@3',
// like any inherited socket (inherit.go); what systemd adds is the names,
// for messages, and the knowledge of which sockets were meant for fjord,
// so that one that no line uses is reported rather than left with its
// clients waiting in its queue for ever.

const (
	sdListenPID     = "LISTEN_PID"
	sdListenFDs     = "LISTEN_FDS"
	sdListenFDNames = "LISTEN_FDNAMES"
	sdListenFDStart = 3 // SD_LISTEN_FDS_START
)

// systemdSockets are the descriptors systemd passed: sdListenFDStart to
// sdListenFDStart+n-1.
type systemdSockets struct {
	n     int
	names []string // n names, or nil
}

// parseSystemdEnv reads the variables' values for the process pid. A
// variable that is unset reads as "". Like sd_listen_fds, it passes
// nothing when LISTEN_PID is unset; unlike it, it says why it passes
// nothing when the variables are set but not for this process, or
// malformed. Passing nothing loses only what systemd adds (the names,
// the unused-socket warning): 'bind fd@N' does not depend on it, and
// still takes any socket fjord inherited (inherit.go).
func parseSystemdEnv(listenPID, listenFDs, names string, pid int) (systemdSockets, error) {
	if listenPID == "" && listenFDs == "" {
		return systemdSockets{}, nil
	}
	p, err := strconv.Atoi(listenPID)
	if err != nil || p <= 0 {
		return systemdSockets{}, fmt.Errorf("%s=%q is not a process id", sdListenPID, listenPID)
	}
	if p != pid {
		return systemdSockets{}, fmt.Errorf("%s=%s names another process than fjord (%d), so systemd's socket names and the check for unused sockets are skipped; 'bind fd@N' still uses any socket fjord was started with (start fjord with exec, not from a shell that stays)", sdListenPID, listenPID, pid)
	}
	n, err := strconv.Atoi(listenFDs)
	if err != nil || n < 0 || n > 1<<16 {
		return systemdSockets{}, fmt.Errorf("%s=%q is not a number of descriptors", sdListenFDs, listenFDs)
	}
	sd := systemdSockets{n: n}
	if names != "" {
		list := strings.Split(names, ":")
		if len(list) != n {
			return sd, fmt.Errorf("%s has %d names for %d descriptors: the names are not used", sdListenFDNames, len(list), n)
		}
		sd.names = list
	}
	return sd, nil
}

// takeSystemdSockets reads socket activation's variables and removes them,
// so that no process fjord starts takes them for its own; that process
// gets its sockets from fjord (FJORD_LISTEN_FDS). It marks the sockets
// close-on-exec, as sd_listen_fds does. It must run after
// descriptorsAtStart, which tells inherited descriptors by that flag.
// When the variables are not fjord's, it marks nothing, and the sockets
// stay usable by 'bind fd@N' as any inherited descriptor.
func takeSystemdSockets() (systemdSockets, error) {
	pid, fds, names := os.Getenv(sdListenPID), os.Getenv(sdListenFDs), os.Getenv(sdListenFDNames)
	for _, v := range []string{sdListenPID, sdListenFDs, sdListenFDNames} {
		os.Unsetenv(v)
	}
	sd, err := parseSystemdEnv(pid, fds, names, os.Getpid())
	for fd := sdListenFDStart; fd < sdListenFDStart+sd.n; fd++ {
		unix.CloseOnExec(fd)
	}
	return sd, err
}

// describe names descriptor fd for messages when systemd passed it.
func (sd systemdSockets) describe(fd int) string {
	i := fd - sdListenFDStart
	switch {
	case i < 0 || i >= sd.n:
		return ""
	case sd.names != nil && sd.names[i] != "":
		return fmt.Sprintf("systemd socket '%s'", sd.names[i])
	}
	return "systemd socket"
}

// unused returns a warning for every socket systemd passed that no fd@N
// line of cfg names: its clients would wait unanswered in its queue.
func (sd systemdSockets) unused(cfg *config.Config) []string {
	used := map[int]bool{}
	for _, u := range fdUses(cfg) {
		used[u.fd] = true
	}
	var out []string
	for fd := sdListenFDStart; fd < sdListenFDStart+sd.n; fd++ {
		if !used[fd] {
			out = append(out, fmt.Sprintf("[WARNING] systemd passed descriptor %d (%s), but no 'bind fd@%d' or 'stats socket fd@%d' uses it: connections to it wait unanswered; use it, or remove it from the socket unit", fd, sd.describe(fd), fd, fd))
		}
	}
	return out
}
