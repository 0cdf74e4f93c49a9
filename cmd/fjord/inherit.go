package main

import (
	"fmt"
	"os"
	"sort"
	"strconv"

	"golang.org/x/sys/unix"

	"github.com/fjordlb/fjord/config"
	"github.com/fjordlb/fjord/engine"
)

// A "bind fd@N" listens on descriptor N, a socket that the process which
// started fjord left open across exec (systemd, VTest, a supervisor).
// fjord takes N only if it inherited it: by the time the configuration
// names it, the Go runtime and fjord have opened files of their own (the
// configuration, log targets, Go's poller), which may have taken a number
// the starting process never passed; fjord must neither listen on nor
// close those. A process that fjord starts itself (daemon mode, a reload)
// gets its sockets from its parent under new numbers, named in
// FJORD_LISTEN_FDS, and looks at no other descriptor.

// startFDs are the descriptors above stderr that were open when fjord
// started, and what each is.
type startFDs map[int]fdKind

// fdKind is what an open descriptor is, from fstat(2).
type fdKind uint32

func (k fdKind) socket() bool { return uint32(k) == unix.S_IFSOCK }

func (k fdKind) String() string {
	switch uint32(k) {
	case unix.S_IFSOCK:
		return "a socket"
	case unix.S_IFIFO:
		return "a pipe"
	case unix.S_IFREG:
		return "a regular file"
	case unix.S_IFCHR:
		return "a character device"
	case unix.S_IFDIR:
		return "a directory"
	case unix.S_IFBLK:
		return "a block device"
	}
	return "neither a file nor a socket (an event or epoll descriptor, say)"
}

// descriptorsAtStart lists the descriptors above stderr that this process
// inherited across exec. Those are the ones without FD_CLOEXEC: a
// descriptor with it would have been closed by exec, so it was opened
// here, and Go opens everything with it (the runtime keeps its poller
// and its cgroup CPU limit files open from before main; some packages'
// init functions open files). It runs before fjord clears the flag on
// anything, which it does only on the sockets it hands to a process it
// starts, and opens nothing Go tracks.
func descriptorsAtStart() (startFDs, error) {
	dir, err := unix.Open("/proc/self/fd", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("listing the descriptors fjord was started with: open /proc/self/fd: %w", err)
	}
	defer unix.Close(dir)
	var names []string
	buf := make([]byte, 8192)
	for {
		n, err := unix.ReadDirent(dir, buf)
		if err != nil {
			return nil, fmt.Errorf("listing the descriptors fjord was started with: getdents64 /proc/self/fd: %w", err)
		}
		if n <= 0 {
			break
		}
		_, _, names = unix.ParseDirent(buf[:n], -1, names)
	}
	out := startFDs{}
	for _, name := range names {
		fd, err := strconv.Atoi(name)
		if err != nil || fd <= 2 || fd == dir {
			continue
		}
		if flags, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); err != nil || flags&unix.FD_CLOEXEC != 0 {
			continue // closed meanwhile, or this process's own
		}
		var st unix.Stat_t
		if err := unix.Fstat(fd, &st); err != nil {
			continue // closed meanwhile: not open at start, as far as fjord knows
		}
		out[fd] = fdKind(st.Mode & unix.S_IFMT)
	}
	return out, nil
}

// fdUse is one line of the configuration that names an fd@N.
type fdUse struct {
	fd   int
	pos  config.Pos
	what string // what names it, for messages: the bind's section, or "stats socket"
}

// fdUses lists the fd@N lines of cfg (binds and stats sockets), in order
// of N.
func fdUses(cfg *config.Config) []fdUse {
	var out []fdUse
	for _, s := range cfg.Global.StatsSockets {
		if s.Inherited {
			out = append(out, fdUse{fd: s.FD, pos: s.Pos, what: "stats socket"})
		}
	}
	for _, px := range cfg.Frontends() {
		for _, b := range px.Binds {
			if b.Inherited {
				out = append(out, fdUse{fd: b.FD, pos: b.Pos, what: px.String()})
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].fd < out[j].fd })
	return out
}

func (u fdUse) errorf(format string, args ...any) error {
	return fmt.Errorf("%s: fd@%d (%s): descriptor %d %s", u.what, u.fd, u.pos, u.fd, fmt.Sprintf(format, args...))
}

// takeStartFDs returns, by N, the sockets that cfg's fd@N lines name in a
// process started with them: N itself, which the caller then owns. Every
// N must have been open at start, and a socket; whether it listens is for
// its user to check (engine.CheckListener). A process that fjord started
// itself takes nothing here (see handedOver).
func takeStartFDs(uses []fdUse, start startFDs) (map[int][]int, error) {
	out := map[int][]int{}
	for _, u := range uses {
		kind, open := start[u.fd]
		switch {
		case !open:
			return nil, u.errorf("is not open: fjord was started without it")
		case !kind.socket():
			return nil, u.errorf("is not a socket: it is %s", kind)
		}
		out[u.fd] = []int{u.fd}
	}
	return out, nil
}

// handedOverFDs returns, by N, the sockets of cfg's fd@N lines in a
// process that fjord started itself: those its parent handed over, under
// the numbers FJORD_LISTEN_FDS gives. An fd@N the parent did not hand
// over is an error: the sockets fjord was started with are known only to
// the first process, and a reload cannot add one.
func handedOverFDs(uses []fdUse, handed map[int][]int) (map[int][]int, error) {
	for _, u := range uses {
		if len(handed[u.fd]) == 0 {
			return nil, u.errorf("was not handed over by the fjord process that started this one: only the sockets the first fjord was started with can be named, and a reload cannot add one (restart fjord with it instead)")
		}
	}
	return handed, nil
}

// startFiles returns the sockets of cfg's fd@N lines as files, for a
// daemon: the process in the background gets them under new numbers.
// The files share this process's descriptors.
func startFiles(fds map[int][]int) []engine.ListenerFile {
	var out []engine.ListenerFile
	for n, list := range fds {
		for _, fd := range list {
			out = append(out, engine.ListenerFile{FD: n, File: os.NewFile(uintptr(fd), "fd@"+strconv.Itoa(n))})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].FD < out[j].FD })
	return out
}

// inheritedSockets returns, by N, the sockets of cfg's fd@N lines (and,
// from a fjord process, any other it handed over): those
// the fjord process that started this one handed over (fromFjord), or
// else the descriptors this process was started with.
func (o *options) inheritedSockets(cfg *config.Config, handed handedOver, fromFjord bool) (map[int][]int, error) {
	uses := fdUses(cfg)
	if fromFjord {
		return handedOverFDs(uses, handed.fds)
	}
	if len(uses) == 0 {
		return nil, nil
	}
	if o.startFDsErr != nil {
		return nil, o.startFDsErr
	}
	return takeStartFDs(uses, o.startFDs)
}

// takeStatsFDs moves the sockets of cfg's "stats socket fd@N" lines out
// of byFD, as files. The runtime API serves on one descriptor; the
// others that the previous process handed over (it holds one) close.
func takeStatsFDs(cfg *config.Config, byFD map[int][]int) map[int]*os.File {
	out := map[int]*os.File{}
	for _, s := range cfg.Global.StatsSockets {
		fds := byFD[s.FD]
		if !s.Inherited || len(fds) == 0 {
			continue
		}
		delete(byFD, s.FD)
		unix.CloseOnExec(fds[0])
		out[s.FD] = os.NewFile(uintptr(fds[0]), "stats socket fd@"+strconv.Itoa(s.FD))
		for _, fd := range fds[1:] {
			unix.Close(fd)
		}
	}
	return out
}
