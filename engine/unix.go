package engine

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/fjordlb/fjord/config"
)

// Unix stream sockets, for binds and servers. A Unix bind has one
// listening socket, which every loop accepts on through a duplicate of
// its own (the kernel has no SO_REUSEPORT group for them); its clients
// have no IP address, and neither has a Unix server.

// bindUnix and connectUnix bind and connect fd to u. They go through
// package syscall, whose SockaddrUnix takes an abstract name as long as
// sun_path, as HAProxy pads it (config.UnixAddr.SockName); that of
// golang.org/x/sys/unix stops one byte short.
func bindUnix(fd int, name string) error {
	return syscall.Bind(fd, &syscall.SockaddrUnix{Name: name})
}

func connectUnix(fd int, u config.UnixAddr) error {
	return syscall.Connect(fd, &syscall.SockaddrUnix{Name: u.SockName()})
}

// unixPathMax is the size of sun_path.
const unixPathMax = 108

// unixTempName is the name a Unix bind's socket is first bound under,
// next to its path: PATH.PID.tmp, as HAProxy names it. config keeps a
// bind's path short enough for a five-digit PID; a longer one is written
// in base 36, which keeps it to five digits up to Linux's largest PID.
func unixTempName(path string, pid int) string {
	name := path + "." + strconv.Itoa(pid) + ".tmp"
	if len(name) >= unixPathMax {
		name = path + "." + strconv.FormatInt(int64(pid), 36) + ".tmp"
	}
	return name
}

// listenUnix creates the listening socket of a Unix bind. A path is
// bound under a temporary name, given the bind's mode and owner, made to
// listen, and only then renamed over the path, as HAProxy does: the
// rename replaces, at once, a stale socket left by a process that
// ended, or the socket of a process still serving the path (a restart
// that was not handed the socket), so that no client ever finds the
// path missing or refusing. Nothing else is replaced: a path that holds
// a file other than a socket is an error. An abstract name is bound as it
// is: it has no file, and the kernel frees it with its last descriptor.
func listenUnix(u config.UnixAddr, perm *config.UnixPerm, backlog int) (int, error) {
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("socket: %w", err)
	}
	if u.Abstract {
		if err := bindUnix(fd, u.SockName()); err != nil {
			unix.Close(fd)
			return -1, fmt.Errorf("bind: %w", err)
		}
		if err := unix.Listen(fd, backlog); err != nil {
			unix.Close(fd)
			return -1, fmt.Errorf("listen: %w", err)
		}
		return fd, nil
	}
	// The rename would replace whatever is at the path: a file that is
	// no socket is left alone (HAProxy replaces it too; fjord does not
	// take a mistyped path for leave to delete a file).
	var st unix.Stat_t
	if err := unix.Lstat(u.Path, &st); err == nil && st.Mode&unix.S_IFMT != unix.S_IFSOCK {
		unix.Close(fd)
		return -1, fmt.Errorf("%s exists and is not a socket", u.Path)
	}
	tmp := unixTempName(u.Path, os.Getpid())
	// A leftover of an earlier process that had this PID.
	if err := unix.Unlink(tmp); err != nil && err != unix.ENOENT {
		unix.Close(fd)
		return -1, fmt.Errorf("unlink %s: %w", tmp, err)
	}
	fail := func(what string, err error) (int, error) {
		unix.Close(fd)
		_ = unix.Unlink(tmp)
		return -1, fmt.Errorf("%s: %w", what, err)
	}
	if err := bindUnix(fd, tmp); err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("bind %s: %w", tmp, err)
	}
	if perm != nil {
		if perm.UID >= 0 || perm.GID >= 0 {
			if err := unix.Chown(tmp, perm.UID, perm.GID); err != nil {
				return fail(fmt.Sprintf("chown %s to uid %d gid %d", tmp, perm.UID, perm.GID), err)
			}
		}
		if perm.Mode != 0 {
			if err := unix.Chmod(tmp, perm.Mode); err != nil {
				return fail(fmt.Sprintf("chmod %s %o", tmp, perm.Mode), err)
			}
		}
	}
	if err := unix.Listen(fd, backlog); err != nil {
		return fail("listen", err)
	}
	if err := unix.Rename(tmp, u.Path); err != nil {
		return fail(fmt.Sprintf("rename %s to %s", tmp, u.Path), err)
	}
	return fd, nil
}

// checkUnixListener checks that fd, a socket handed over by the process
// this one replaces, listens on u: the kernel gives a path socket the
// name it was bound under, which is u's temporary name in the process
// that bound it (unixTempName), or u itself.
func checkUnixListener(fd int, u config.UnixAddr) error {
	sa, err := unix.Getsockname(fd)
	if err != nil {
		return fmt.Errorf("has no address: getsockname: %w", err)
	}
	su, ok := sa.(*unix.SockaddrUnix)
	if !ok {
		return errors.New("is not a Unix socket")
	}
	name := su.Name
	if u.Abstract {
		if strings.TrimRight(name, "\x00") != "@"+u.Path {
			return fmt.Errorf("is bound to %q", name)
		}
		return nil
	}
	if name == u.Path {
		return nil
	}
	rest, ok := strings.CutPrefix(name, u.Path+".")
	if pid, ok2 := strings.CutSuffix(rest, ".tmp"); ok && ok2 && pid != "" && !strings.ContainsAny(pid, "./") {
		return nil
	}
	return fmt.Errorf("is bound to %s", name)
}
