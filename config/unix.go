package config

import (
	"fmt"
	"math"
	"os/user"
	"strconv"
	"strings"
)

// UnixAddr is the address of a Unix stream socket: a path in the file
// system or, with Abstract, a name in Linux's abstract namespace
// (HAProxy's abns@NAME), which has no file.
type UnixAddr struct {
	Path     string
	Abstract bool
}

// IsValid reports whether u names a socket.
func (u UnixAddr) IsValid() bool { return u.Path != "" }

// String is the address as a configuration writes it: the path, or
// abns@NAME.
func (u UnixAddr) String() string {
	if u.Abstract {
		return abnsPrefix + u.Path
	}
	return u.Path
}

// SockName is the address as Go's socket calls take it (syscall,
// golang.org/x/sys/unix and net's "unix" network): the path, or for an
// abstract name '@' (which they send as the leading NUL) and the name
// padded with NULs to the whole of sun_path, as HAProxy's abns@
// addresses are, so that fjord and HAProxy reach each other's abstract
// sockets.
func (u UnixAddr) SockName() string {
	if !u.Abstract {
		return u.Path
	}
	name := "@" + u.Path
	return name + strings.Repeat("\x00", sunPathLen-len(name))
}

// UnixPerm is what the socket file of a Unix bind is given: 'mode',
// and 'uid'/'user', 'gid'/'group'.
type UnixPerm struct {
	Mode     uint32 // 0: as the umask leaves it
	UID, GID int    // -1: unchanged (fjord's own user and group)
}

const (
	unixPrefix = "unix@"
	abnsPrefix = "abns@"
	// sunPathLen is the size of sockaddr_un's sun_path on Linux: a path
	// and its NUL, or for an abstract name a NUL and the name.
	sunPathLen = 108
	// MaxUnixBindPath is the longest path a Unix bind takes, HAProxy's
	// limit: the socket is first bound as PATH.PID.tmp and then renamed
	// over PATH, and that temporary name, with up to 10 bytes more, must
	// fit in sun_path with its NUL.
	MaxUnixBindPath = sunPathLen - 1 - len(".99999.tmp")
	// maxUnixPath is the longest path or abstract name a Unix socket can
	// have at all: a server's, which fjord only connects to.
	maxUnixPath = sunPathLen - 1
)

// parseUnixAddr reads s when it names a Unix stream socket: a path
// starting with '/', unix@PATH (a relative PATH too) or abns@NAME. isUnix
// is false, with no error, for any other address. bind says whether the
// socket is to be bound, whose path must leave room for its temporary
// name. Errors do not repeat s; the caller names it with its line.
func parseUnixAddr(s string, bind bool) (u UnixAddr, isUnix bool, err error) {
	switch {
	case strings.HasPrefix(s, "/"):
		u.Path = s
	case strings.HasPrefix(s, unixPrefix):
		u.Path = s[len(unixPrefix):]
		if u.Path == "" {
			return u, true, fmt.Errorf("unix@ expects a path, as in unix@/run/fjord.sock")
		}
	case strings.HasPrefix(s, abnsPrefix):
		u.Path, u.Abstract = s[len(abnsPrefix):], true
		if u.Path == "" {
			return u, true, fmt.Errorf("abns@ expects a name, as in abns@fjord")
		}
	default:
		for _, p := range []string{"abnsz@", "uxst@", "uxdg@", "stream+unix@", "dgram+unix@"} {
			if strings.HasPrefix(s, p) {
				return u, true, fmt.Errorf("'%s' addresses are not supported (HAProxy 2.6 has no such prefix): a Unix stream socket is a path, unix@PATH or abns@NAME", p)
			}
		}
		return u, false, nil
	}
	if strings.IndexByte(u.Path, 0) >= 0 {
		return u, true, fmt.Errorf("a Unix socket path cannot contain a NUL byte")
	}
	limit, why := maxUnixPath, "sun_path holds 108 bytes with the final NUL"
	switch {
	case u.Abstract:
		why = "sun_path holds 108 bytes with the leading NUL"
	case bind:
		limit, why = MaxUnixBindPath, "the socket is first bound as PATH.PID.tmp, which must fit in sun_path's 108 bytes; HAProxy's limit too"
	}
	if len(u.Path) > limit {
		what := "path"
		if u.Abstract {
			what = "abstract name"
		}
		return u, true, fmt.Errorf("the Unix socket %s '%s' is %d bytes long: at most %d (%s)", what, u.Path, len(u.Path), limit, why)
	}
	return u, true, nil
}

// unixBindOption reads the bind options that set the socket file of a
// Unix bind: mode, uid, gid, user and group. It returns how many of opts
// it took, 0 when opts[0] is none of them.
func unixBindOption(perm **UnixPerm, opts []string) (int, error) {
	o := opts[0]
	switch o {
	case "mode", "uid", "gid", "user", "group":
	default:
		return 0, nil
	}
	if len(opts) < 2 {
		return 0, fmt.Errorf("bind option '%s' expects a value", o)
	}
	v := opts[1]
	if *perm == nil {
		*perm = &UnixPerm{UID: -1, GID: -1}
	}
	p := *perm
	switch o {
	case "mode":
		m, err := strconv.ParseUint(v, 8, 32)
		if err != nil || m > 0o777 {
			return 0, fmt.Errorf("bind option 'mode': invalid mode '%s', an octal file mode such as 660 is expected", v)
		}
		p.Mode = uint32(m)
	case "uid", "gid", "user", "group":
		var n int
		var err error
		if o == "uid" || o == "gid" {
			n, err = parseInt(o, v, 0, math.MaxInt32)
			if err != nil {
				err = fmt.Errorf("bind option '%s': %v", o, err)
			}
		} else {
			n, err = ownerID(o, v)
		}
		if err != nil {
			return 0, err
		}
		if o == "uid" || o == "user" {
			p.UID = n
		} else {
			p.GID = n
		}
	}
	return 2, nil
}

// ownerID is the numeric id of the user (opt "user") or group ("group")
// named name.
func ownerID(opt, name string) (int, error) {
	var id, idKind string
	if opt == "user" {
		u, err := user.Lookup(name)
		if err != nil {
			return 0, fmt.Errorf("bind option 'user': unknown user '%s'", name)
		}
		id, idKind = u.Uid, "uid"
	} else {
		g, err := user.LookupGroup(name)
		if err != nil {
			return 0, fmt.Errorf("bind option 'group': unknown group '%s'", name)
		}
		id, idKind = g.Gid, "gid"
	}
	n, err := strconv.Atoi(id)
	if err != nil {
		return 0, fmt.Errorf("bind option '%s': %s '%s' has the non-numeric %s '%s'", opt, opt, name, idKind, id)
	}
	return n, nil
}

// checkUnixBindOptions refuses options that cannot apply to every
// address of the bind line: a file's mode and owner to a TCP or an
// inherited socket, or to an abstract one, which has no file; v6only
// and v4v6 to a Unix socket.
func checkUnixBindOptions(targets []bindTarget, perm *UnixPerm, v6opt string) error {
	for _, t := range targets {
		switch {
		case perm != nil && !t.unix.IsValid():
			what := "a TCP address"
			if t.inherited {
				what = fmt.Sprintf("fd@%d, whose creator chose them", t.fd)
			}
			return fmt.Errorf("bind options mode, uid, gid, user and group set the file of a Unix socket, and cannot apply to %s", what)
		case perm != nil && t.unix.Abstract:
			return fmt.Errorf("bind options mode, uid, gid, user and group set the file of a Unix socket, and %s is an abstract socket, which has none", t.unix)
		case v6opt != "" && t.unix.IsValid():
			return fmt.Errorf("bind option '%s' applies to IPv6 addresses, not to the Unix socket %s", v6opt, t.unix)
		}
	}
	return nil
}
