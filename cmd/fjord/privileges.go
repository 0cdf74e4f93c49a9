package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"github.com/fjordlb/fjord/config"
)

// credentials are the identity fjord drops to after binding its ports.
type credentials struct {
	uid, gid int
	groups   []int  // supplementary groups, sorted; nil: none
	who      string // for messages: "user 'nobody' (uid 65534)"
}

// resolveCredentials turns user/group/uid/gid into numbers with the user
// and group databases. It returns nil when none is set.
//
// Where HAProxy keeps the group it started with when only 'user' or 'uid'
// is given (root's group, for a process started as root), fjord takes the
// user's own group and supplementary groups, as su(1) and systemd's User=
// do: "for good" means no root group left behind. A 'uid' with no entry in
// the user database therefore needs a 'gid' too.
func resolveCredentials(g *config.Global) (*credentials, error) {
	if g.User == "" && g.Group == "" && g.UID < 0 && g.GID < 0 {
		return nil, nil
	}
	c := &credentials{uid: os.Getuid(), gid: os.Getgid()}
	var u *user.User
	switch {
	case g.User != "":
		var err error
		if u, err = user.Lookup(g.User); err != nil {
			return nil, fmt.Errorf("'user %s': %v", g.User, err)
		}
		if c.uid, err = strconv.Atoi(u.Uid); err != nil {
			return nil, fmt.Errorf("'user %s': uid %q is not a number", g.User, u.Uid)
		}
		if g.UID >= 0 && g.UID != c.uid {
			return nil, fmt.Errorf("'user %s' is uid %d but 'uid %d' is also set: keep one", g.User, c.uid, g.UID)
		}
		c.who = fmt.Sprintf("user '%s' (uid %d)", g.User, c.uid)
	case g.UID >= 0:
		c.uid = g.UID
		c.who = fmt.Sprintf("uid %d", g.UID)
		if found, err := user.LookupId(strconv.Itoa(g.UID)); err == nil {
			u = found
		}
	default:
		c.who = fmt.Sprintf("uid %d", c.uid)
	}

	switch {
	case g.Group != "":
		grp, err := user.LookupGroup(g.Group)
		if err != nil {
			return nil, fmt.Errorf("'group %s': %v", g.Group, err)
		}
		if c.gid, err = strconv.Atoi(grp.Gid); err != nil {
			return nil, fmt.Errorf("'group %s': gid %q is not a number", g.Group, grp.Gid)
		}
		if g.GID >= 0 && g.GID != c.gid {
			return nil, fmt.Errorf("'group %s' is gid %d but 'gid %d' is also set: keep one", g.Group, c.gid, g.GID)
		}
	case g.GID >= 0:
		c.gid = g.GID
	case u != nil:
		gid, err := strconv.Atoi(u.Gid)
		if err != nil {
			return nil, fmt.Errorf("%s: primary gid %q is not a number", c.who, u.Gid)
		}
		c.gid = gid
	case g.UID >= 0:
		return nil, fmt.Errorf("'uid %d' has no entry in the user database, so its group is unknown: set 'gid' (or 'group') too", g.UID)
	}

	// A user from the database gets its groups, as initgroups(3) gives
	// them; bare numbers get none.
	if u != nil {
		c.groups = []int{c.gid}
		ids, err := u.GroupIds()
		if err != nil {
			return nil, fmt.Errorf("%s: supplementary groups: %v", c.who, err)
		}
		for _, id := range ids {
			n, err := strconv.Atoi(id)
			if err != nil {
				return nil, fmt.Errorf("%s: group id %q is not a number", c.who, id)
			}
			c.groups = append(c.groups, n)
		}
	}
	slices.Sort(c.groups)
	c.groups = slices.Compact(c.groups)
	c.who = fmt.Sprintf("%s, gid %d", c.who, c.gid)
	return c, nil
}

// dropPrivileges switches fjord to c (resolveCredentials; nil: nothing to
// do) for good, once its privileged ports are bound and its root-only
// files opened. Go
// applies setgroups, setgid and setuid to every thread of the process (the
// event loops' locked threads included); each thread's status is then read
// back, and any thread left with another identity or a capability is an
// error: the caller must not serve.
func dropPrivileges(c *credentials, logf func(string, ...any)) error {
	if c == nil {
		return nil
	}
	if verifyCredentials("/proc/self", c) == nil {
		return nil // started as that user already (systemd User=, a reload)
	}
	hint := ""
	if os.Geteuid() != 0 {
		hint = fmt.Sprintf(" (fjord runs as uid %d: start it as root, or as that user, or remove 'user'/'group'/'uid'/'gid')", os.Geteuid())
	}
	if err := syscall.Setgroups(c.groups); err != nil {
		return fmt.Errorf("cannot drop privileges to %s: setgroups(%v): %w%s", c.who, c.groups, err, hint)
	}
	if err := syscall.Setgid(c.gid); err != nil {
		return fmt.Errorf("cannot drop privileges to %s: setgid(%d): %w%s", c.who, c.gid, err, hint)
	}
	if err := syscall.Setuid(c.uid); err != nil {
		return fmt.Errorf("cannot drop privileges to %s: setuid(%d): %w%s", c.who, c.uid, err, hint)
	}
	if err := verifyCredentials("/proc/self", c); err != nil {
		return fmt.Errorf("dropped privileges to %s, but %w", c.who, err)
	}
	logf("running as %s, groups %v", c.who, c.groups)
	return nil
}

// verifyCredentials checks the status of the process under proc (a
// /proc/PID directory) and of each of its threads: real, effective, saved
// and filesystem ids all c's, the supplementary groups c's, and no
// capability left unless c is root.
func verifyCredentials(proc string, c *credentials) error {
	tasks, err := filepath.Glob(filepath.Join(proc, "task", "*", "status"))
	if err != nil || len(tasks) == 0 {
		return fmt.Errorf("cannot list the threads in %s/task (found %d)", proc, len(tasks))
	}
	for _, path := range append([]string{filepath.Join(proc, "status")}, tasks...) {
		b, err := os.ReadFile(path)
		if err != nil {
			if os.IsNotExist(err) {
				continue // a thread that ended meanwhile
			}
			return err
		}
		st, err := parseStatus(b)
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		if err := st.matches(c); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
	}
	return nil
}

// procStatus holds the identity lines of /proc/PID/status.
type procStatus struct {
	uid, gid       [4]int // real, effective, saved, filesystem
	groups         []int
	capPrm, capEff uint64
}

// parseStatus reads the Uid, Gid, Groups, CapPrm and CapEff lines of a
// /proc/PID/status file. Each must be present.
func parseStatus(b []byte) (procStatus, error) {
	var st procStatus
	seen := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		key, val, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		f := strings.Fields(val)
		var err error
		switch key {
		case "Uid", "Gid":
			ids := &st.uid
			if key == "Gid" {
				ids = &st.gid
			}
			if len(f) != 4 {
				return st, fmt.Errorf("%s line %q: want 4 ids", key, val)
			}
			for i := range f {
				if ids[i], err = strconv.Atoi(f[i]); err != nil {
					return st, fmt.Errorf("%s line %q: %v", key, val, err)
				}
			}
		case "Groups":
			st.groups = make([]int, len(f))
			for i := range f {
				if st.groups[i], err = strconv.Atoi(f[i]); err != nil {
					return st, fmt.Errorf("%s line %q: %v", key, val, err)
				}
			}
			slices.Sort(st.groups)
		case "CapPrm", "CapEff":
			if len(f) != 1 {
				return st, fmt.Errorf("%s line %q: want one mask", key, val)
			}
			v, err := strconv.ParseUint(f[0], 16, 64)
			if err != nil {
				return st, fmt.Errorf("%s line %q: %v", key, val, err)
			}
			if key == "CapPrm" {
				st.capPrm = v
			} else {
				st.capEff = v
			}
		default:
			continue
		}
		seen[key] = true
	}
	for _, k := range []string{"Uid", "Gid", "Groups", "CapPrm", "CapEff"} {
		if !seen[k] {
			return st, fmt.Errorf("no %s line", k)
		}
	}
	return st, nil
}

func (st procStatus) matches(c *credentials) error {
	for i, name := range []string{"real", "effective", "saved", "filesystem"} {
		if st.uid[i] != c.uid {
			return fmt.Errorf("the %s uid is %d, not %d", name, st.uid[i], c.uid)
		}
		if st.gid[i] != c.gid {
			return fmt.Errorf("the %s gid is %d, not %d", name, st.gid[i], c.gid)
		}
	}
	if !slices.Equal(st.groups, c.groups) {
		return fmt.Errorf("the supplementary groups are %v, not %v", st.groups, c.groups)
	}
	if c.uid != 0 && (st.capPrm != 0 || st.capEff != 0) {
		return fmt.Errorf("capabilities are left (CapPrm %x, CapEff %x)", st.capPrm, st.capEff)
	}
	return nil
}
