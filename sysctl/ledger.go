package sysctl

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// ReservedPortsKey is the setting whose changes fjord takes back: unlike
// a limit or a timeout, a reserved port takes a port from the ephemeral
// range for as long as it stays, so the ports fjord reserves for a run
// must not outlive it.
const ReservedPortsKey = "net.ipv4.ip_local_reserved_ports"

// PortRangeKey is the ephemeral port range. fjord widens it only once the
// ports it would newly hand out are reserved, and a widening recorded in
// the ledger is taken back with them: left wide without them, the range
// would hand out as source ports the ports of local web nodes and
// services, the exposure the reservations were for.
const PortRangeKey = "net.ipv4.ip_local_port_range"

// DefaultLedgerDir holds the ledgers of fjord processes using the real
// /proc/sys: a tmpfs, emptied at boot like the reservations themselves.
// It is root's alone (mode 0700), not /run/fjord, which the docs tell
// users to hand to the user fjord drops to for its pidfile and sockets:
// root acts on what a ledger says, so no other user may write one.
const DefaultLedgerDir = "/run/fjord-sysctl"

// DefaultPersisted are the files sysctl(8) --system and systemd-sysctl
// load at boot (sysctl.d(5)): a port one of them reserves is the admin's.
var DefaultPersisted = []string{
	"/etc/sysctl.conf", "/etc/sysctl.d", "/run/sysctl.d",
	"/usr/local/lib/sysctl.d", "/usr/lib/sysctl.d", "/lib/sysctl.d",
}

// Owner is a process that needs reserved ports: its pid, and its start
// time (clock ticks after boot, /proc/PID/stat field 22), which tells a
// later process that was given the same pid apart.
type Owner struct {
	PID   int
	Start uint64
}

// Self returns the Owner of the calling process.
func Self() (Owner, error) {
	b, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		return Owner{}, fmt.Errorf("cannot read /proc/self/stat: %w", bare(err))
	}
	_, start, err := parseStat(b)
	if err != nil {
		return Owner{}, fmt.Errorf("/proc/self/stat: %w", err)
	}
	return Owner{PID: os.Getpid(), Start: start}, nil
}

// running reports whether o's process still runs. Only a process that is
// certainly gone (no /proc entry, another start time, a zombie) counts as
// ended: a process fjord cannot look at keeps its ports.
func running(o Owner) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", o.PID))
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ESRCH) {
		return false
	}
	if err != nil {
		return true
	}
	state, start, err := parseStat(b)
	if err != nil {
		return true
	}
	return start == o.Start && state != 'Z' && state != 'X'
}

// parseStat reads the state (field 3) and start time (field 22) of a
// /proc/PID/stat line: "PID (COMM) STATE PPID ...". COMM may hold spaces
// and parentheses, so the fields are counted from the last ')'.
func parseStat(b []byte) (state byte, start uint64, err error) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, 0, fmt.Errorf("no ')' after the command name in %q", b)
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 20 || len(f[0]) != 1 {
		return 0, 0, fmt.Errorf("want the state and 19 more fields after the command name, got %q", b[i+1:])
	}
	start, err = strconv.ParseUint(f[19], 10, 64)
	if err != nil {
		return 0, 0, fmt.Errorf("start time %q is not a number", f[19])
	}
	return f[0][0], start, nil
}

// Ledger records, for one network namespace, which ports fjord added to
// net.ipv4.ip_local_reserved_ports and which running fjord processes need
// which ports, so that a port fjord reserved is released once no fjord
// needs it, and a reservation that was there before fjord never is.
//
// Every process that reserves registers its ports, and takes itself out
// when it stops (Tuner.Release); the new process of a reload registers
// beside the old one, so the ports both need stay and those only the old
// configuration had go when the old process ends. A process that ended
// without taking itself out (killed, or unable to write once it dropped
// privileges) is found ended by the next process to update the ledger,
// which releases its ports.
//
// A port reserved in a sysctl.d file (Persisted) is the admin's and is
// never released, even if fjord added it: that covers a reservation an
// admin made persistent while fjord ran. One made at run time only, on a
// port fjord had already added, cannot be told apart from fjord's, and
// goes with fjord's.
type Ledger struct {
	// Path is the ledger file. Path+".lock", never replaced, serialises
	// the processes that update it.
	Path string
	// Owner is the calling process.
	Owner Owner
	// Persisted are sysctl.d files, and directories of *.conf files,
	// whose ip_local_reserved_ports are the admin's.
	Persisted []string
	// Cookie identifies the network namespace (NetnsCookie); 0: unknown.
	// A ledger file recorded under another cookie is another
	// namespace's.
	Cookie uint64

	// Listening returns the listening sockets of the namespace, where
	// an owner's sockets are looked for (ownerPorts.sockets); NewLedger
	// sets it to Tuner.Listening. nil: none listens.
	Listening func() ([]Listener, error)

	// running stands in for the process table in tests; nil: running.
	running func(Owner) bool
	// lockWait replaces the package's lockWait in tests; 0: lockWait.
	lockWait time.Duration
	// registered says that the ledger lists the calling process: it
	// has something to take back when it stops.
	registered bool
	// crash, in tests, is asked at each step of an update ("recorded":
	// the ledger is written ahead; "written": the kernel was written)
	// whether the process dies there; true stops the update at once, as
	// SIGKILL would.
	crash func(step string) bool
}

// NewLedger returns the ledger of the network namespace the calling
// thread is in, for the calling process: in DefaultLedgerDir for the real
// /proc/sys, or in run/fjord-sysctl/ beside a fake tree, whose admin files are
// then the sysctl.d/ beside it. The file is named after the namespace's inode,
// so that processes in other namespaces keep ledgers of their own.
func (t Tuner) NewLedger() (*Ledger, error) {
	self, err := Self()
	if err != nil {
		return nil, err
	}
	var st unix.Stat_t
	if err := unix.Stat("/proc/thread-self/ns/net", &st); err != nil {
		return nil, fmt.Errorf("stat /proc/thread-self/ns/net: %w", err)
	}
	name := fmt.Sprintf("reserved-ports.net-%d", st.Ino)
	// Without a cookie (Linux before 5.14) the inode alone names the
	// namespace, as it did before cookies.
	cookie, _ := NetnsCookie()
	if t.Root == "" {
		return &Ledger{Path: filepath.Join(DefaultLedgerDir, name), Owner: self, Persisted: DefaultPersisted, Cookie: cookie, Listening: t.Listening}, nil
	}
	beside := filepath.Dir(t.Root)
	return &Ledger{
		Path:      filepath.Join(beside, "run", "fjord-sysctl", name),
		Owner:     self,
		Persisted: []string{filepath.Join(beside, "sysctl.d")},
		Cookie:    cookie,
		Listening: t.Listening,
	}, nil
}

// NetnsCookie returns the cookie of the calling thread's network
// namespace: a number the kernel gives each namespace once and never
// reuses, unlike the namespace's inode (getsockopt SO_NETNS_COOKIE on a
// socket made in it, Linux 5.14 or later).
func NetnsCookie() (uint64, error) {
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return 0, fmt.Errorf("socket(AF_UNIX): %w", err)
	}
	defer unix.Close(fd)
	var cookie uint64
	size := uint32(unsafe.Sizeof(cookie))
	// x/sys/unix has no 64-bit getsockopt; the kernel wants exactly 8
	// bytes for this option.
	_, _, errno := unix.Syscall6(unix.SYS_GETSOCKOPT, uintptr(fd), unix.SOL_SOCKET, unix.SO_NETNS_COOKIE,
		uintptr(unsafe.Pointer(&cookie)), uintptr(unsafe.Pointer(&size)), 0)
	if errno != 0 {
		return 0, fmt.Errorf("getsockopt(SO_NETNS_COOKIE): %w", errno)
	}
	return cookie, nil
}

// ledgerState is the content of a ledger file.
type ledgerState struct {
	// cookie is the network namespace's cookie (SO_NETNS_COOKIE), which,
	// unlike its inode, no later namespace reuses; 0: unknown.
	cookie uint64
	added  []portSpan // ports fjord reserved that were not reserved before
	owners []ownerPorts
	// widened records that fjord widened the port range; nil: it did not.
	widened *widening
}

// widening is a change of the port range by fjord: the range found, and
// the one fjord set ("low high").
type widening struct{ found, set string }

// empty reports whether st records nothing: its file may go.
func (st ledgerState) empty() bool {
	return len(st.added) == 0 && len(st.owners) == 0 && st.widened == nil
}

type ownerPorts struct {
	Owner
	ports []portSpan
	// sockets are the inodes of the owner's listening sockets (Hold). A
	// reload hands them to the new process, which keeps them open after
	// the owner ends: while one still listens, a process that could not
	// register itself (it runs as the user fjord dropped to) serves on
	// the owner's ports, and they stay reserved.
	sockets []uint64
}

const ledgerHeader = `# fjord's reservations in net.ipv4.ip_local_reserved_ports of one network
# namespace. 'netns' is the namespace's cookie; 'added' are the ports fjord
# reserved that were not reserved before; each 'owner PID START PORTS
# SOCKETS' is a fjord process, the ports it needs and the inodes of its
# listening sockets. fjord releases an added port once no owner needs it
# that runs, or whose listening sockets a later process still holds.
# 'range FOUND SET' says that fjord widened net.ipv4.ip_local_port_range
# from FOUND to SET; the last owner to leave puts FOUND back if the range
# is still SET. Written by fjord; see docs/host-tuning.md.
`

// formatLedger writes st in the ledger's syntax; parseLedger reads it
// back.
func formatLedger(st ledgerState) []byte {
	var b bytes.Buffer
	b.WriteString(ledgerHeader)
	if st.cookie != 0 {
		fmt.Fprintf(&b, "netns %d\n", st.cookie)
	}
	fmt.Fprintf(&b, "added %s\n", portsOrDash(st.added))
	if w := st.widened; w != nil {
		fmt.Fprintf(&b, "range %s %s\n", strings.ReplaceAll(w.found, " ", "-"), strings.ReplaceAll(w.set, " ", "-"))
	}
	owners := slices.Clone(st.owners)
	slices.SortFunc(owners, func(a, b ownerPorts) int { return a.PID - b.PID })
	for _, o := range owners {
		fmt.Fprintf(&b, "owner %d %d %s %s\n", o.PID, o.Start, portsOrDash(o.ports), inodesOrDash(o.sockets))
	}
	return b.Bytes()
}

// normalizeRange writes a valid "low high" range with its numbers in
// canonical decimal, so that ranges compare as strings.
func normalizeRange(v string) string {
	lo, hi, err := parseRange(v)
	if err != nil {
		return normalize(v)
	}
	return fmt.Sprintf("%d %d", lo, hi)
}

func inodesOrDash(inodes []uint64) string {
	if len(inodes) == 0 {
		return "-"
	}
	f := make([]string, len(inodes))
	for i, n := range inodes {
		f[i] = strconv.FormatUint(n, 10)
	}
	return strings.Join(f, ",")
}

// parseInodes reads inodesOrDash's output: sorted, each once.
func parseInodes(s string) ([]uint64, error) {
	if s == "-" {
		return nil, nil
	}
	var out []uint64
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.ParseUint(f, 10, 64)
		if err != nil || n == 0 {
			return nil, fmt.Errorf("socket inode %q is not a number above 0", f)
		}
		out = append(out, n)
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

func portsOrDash(p []portSpan) string {
	if len(p) == 0 {
		return "-"
	}
	return formatPorts(p)
}

// parseLedger reads a ledger: '#' comments, blank lines, at most one
// "netns COOKIE" line, at most one "added PORTS" line, at most one "range
// LOW-HIGH LOW-HIGH" line and "owner PID START PORTS SOCKETS" lines, a port
// list or list of inodes being "-" when empty. The error names the line.
func parseLedger(r io.Reader) (ledgerState, error) {
	var st ledgerState
	seen := map[int]bool{}
	addedSeen, cookieSeen, rangeSeen := false, false, false
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		f := strings.Fields(line)
		ports := func(s string) ([]portSpan, error) {
			if s == "-" {
				return nil, nil
			}
			p, err := parsePorts(s)
			if err == nil && len(p) == 0 {
				err = fmt.Errorf("empty port list")
			}
			return p, err
		}
		switch {
		case f[0] == "netns" && len(f) == 2 && !cookieSeen:
			c, err := strconv.ParseUint(f[1], 10, 64)
			if err != nil || c == 0 {
				return ledgerState{}, fmt.Errorf("line %d: namespace cookie %q is not a number above 0", n, f[1])
			}
			st.cookie, cookieSeen = c, true
		case f[0] == "added" && len(f) == 2 && !addedSeen:
			p, err := ports(f[1])
			if err != nil {
				return ledgerState{}, fmt.Errorf("line %d: %w", n, err)
			}
			st.added, addedSeen = p, true
		case f[0] == "range" && len(f) == 3 && !rangeSeen:
			var w widening
			for i, dst := range []*string{&w.found, &w.set} {
				lo, hi, ok := strings.Cut(f[1+i], "-")
				v := lo + " " + hi
				if _, _, err := parseRange(v); !ok || err != nil {
					return ledgerState{}, fmt.Errorf("line %d: port range %q is not LOW-HIGH", n, f[1+i])
				}
				*dst = normalizeRange(v)
			}
			st.widened, rangeSeen = &w, true
		case f[0] == "owner" && len(f) == 5:
			pid, err := strconv.Atoi(f[1])
			if err != nil || pid <= 0 || seen[pid] {
				return ledgerState{}, fmt.Errorf("line %d: %q is not a process id listed once", n, f[1])
			}
			start, err := strconv.ParseUint(f[2], 10, 64)
			if err != nil {
				return ledgerState{}, fmt.Errorf("line %d: start time %q is not a number", n, f[2])
			}
			p, err := ports(f[3])
			if err != nil {
				return ledgerState{}, fmt.Errorf("line %d: %w", n, err)
			}
			inodes, err := parseInodes(f[4])
			if err != nil {
				return ledgerState{}, fmt.Errorf("line %d: %w", n, err)
			}
			seen[pid] = true
			st.owners = append(st.owners, ownerPorts{Owner{pid, start}, p, inodes})
		default:
			return ledgerState{}, fmt.Errorf("line %d: want 'netns COOKIE', 'added PORTS' or 'range FOUND SET' once, or 'owner PID START PORTS SOCKETS', got %q", n, line)
		}
	}
	if err := sc.Err(); err != nil {
		return ledgerState{}, err
	}
	return st, nil
}

// lockWait is how long lock waits for another process to let go of
// the ledger: an update holds it for a few file operations, so a lock held
// for seconds is a process stuck (stopped in a debugger, say), and a start
// or stop must not hang on it for good.
const lockWait = 10 * time.Second

// lockRetry is how often lock tries again meanwhile.
const lockRetry = 20 * time.Millisecond

// lock takes the ledger's lock, creating its directory and lock file if
// needed, and returns the function that lets it go. It gives up after
// lockWait (l.lockWait in tests) with an error naming the lock file.
func (l *Ledger) lock() (unlock func(), err error) {
	dir := filepath.Dir(l.Path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("cannot create %s: %w", dir, bare(err))
	}
	if err := trustedDir(dir); err != nil {
		return nil, err
	}
	path := l.Path + ".lock"
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("cannot open %s: %w", path, bare(err))
	}
	wait := l.lockWait
	if wait == 0 {
		wait = lockWait
	}
	deadline := time.Now().Add(wait)
	for {
		err = unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		if err == nil {
			current, err := sameFile(f, path)
			if err != nil {
				f.Close()
				return nil, err
			}
			if current {
				// Closing the file releases the lock.
				return func() { f.Close() }, nil
			}
			// The holder removed the ledger and its lock file (save of
			// an empty ledger) while this process waited: the lock it
			// got is on a file nobody else will open. Lock the file at
			// the path now.
			f.Close()
			if f, err = os.OpenFile(path, os.O_RDWR|os.O_CREATE|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600); err != nil {
				return nil, fmt.Errorf("cannot open %s: %w", path, bare(err))
			}
			continue
		}
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if !errors.Is(err, unix.EWOULDBLOCK) {
			f.Close()
			return nil, fmt.Errorf("flock(%s): %w", path, err)
		}
		if !time.Now().Before(deadline) {
			f.Close()
			return nil, fmt.Errorf("flock(%s): another process has held the lock for %v; if no fjord is stuck updating the ledger, 'fuser %s' names the holder", path, wait, path)
		}
		time.Sleep(lockRetry)
	}
}

// sameFile reports whether f is still the file at path.
func sameFile(f *os.File, path string) (bool, error) {
	var held, now unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &held); err != nil {
		return false, fmt.Errorf("fstat(%s): %w", path, err)
	}
	if err := unix.Lstat(path, &now); err != nil {
		if errors.Is(err, unix.ENOENT) {
			return false, nil
		}
		return false, fmt.Errorf("lstat %s: %w", path, err)
	}
	return held.Dev == now.Dev && held.Ino == now.Ino, nil
}

// trustedDir checks that a ledger directory is one only root (or the
// calling user, for a test's tree) may write: root releases the ports a
// ledger lists and restores what it records, so a ledger another user
// could rewrite, or a lock path where they could plant a symlink for root
// to create files through, must not be used.
func trustedDir(dir string) error {
	var st unix.Stat_t
	if err := unix.Lstat(dir, &st); err != nil {
		return fmt.Errorf("lstat %s: %w", dir, err)
	}
	switch {
	case st.Mode&unix.S_IFMT != unix.S_IFDIR:
		return fmt.Errorf("%s is not a directory (a symlink?): not keeping fjord's ledger there", dir)
	case st.Uid != 0 && int(st.Uid) != os.Geteuid():
		return fmt.Errorf("%s belongs to uid %d, not root: not keeping fjord's ledger there, since that user could rewrite it (remove the directory; fjord creates it, mode 0700)", dir, st.Uid)
	case st.Mode&0o022 != 0:
		return fmt.Errorf("%s may be written by group or others (mode %#o): not keeping fjord's ledger there (chmod 700 it)", dir, st.Mode&0o777)
	}
	return nil
}

// load reads the ledger; a ledger that does not exist is empty. A symlink
// in its place is refused (O_NOFOLLOW).
func (l *Ledger) load() (ledgerState, error) {
	b, err := readNoFollow(l.Path)
	if errors.Is(err, fs.ErrNotExist) {
		return ledgerState{}, nil
	}
	if err != nil {
		return ledgerState{}, fmt.Errorf("cannot read %s: %w", l.Path, bare(err))
	}
	st, err := parseLedger(bytes.NewReader(b))
	if err != nil {
		return ledgerState{}, fmt.Errorf("%s: %w", l.Path, err)
	}
	return st, nil
}

// readNoFollow reads a file that must not be a symlink.
func readNoFollow(path string) ([]byte, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(f)
}

// save replaces the ledger atomically, so that a crash leaves the old
// ledger or the new one, never half of one. A ledger that records nothing
// is removed instead, with its lock file (the caller holds the lock; lock
// copes with a lock file removed under a waiting process), so that
// namespaces that came and went leave no files behind.
func (l *Ledger) save(st ledgerState) error {
	if st.empty() {
		for _, p := range []string{l.Path, l.Path + ".lock"} {
			if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("cannot remove %s: %w", p, bare(err))
			}
		}
		return nil
	}
	st.cookie = l.Cookie
	if err := WriteFileAtomic(l.Path, formatLedger(st), 0o644); err != nil {
		return fmt.Errorf("cannot write %s: %w", l.Path, err)
	}
	return nil
}

// admins is what the Persisted files set that fjord must leave alone.
type admins struct {
	ports  *portBits       // reserved ports
	ranges map[string]bool // port ranges ("low high")
}

// persisted returns the ports the Persisted files reserve and the port
// ranges they set. An error means fjord cannot tell which are the
// admin's: a file it cannot read, or one whose ip_local_reserved_ports is
// not a port list. Other lines, such as systemd's key-only exclusions, are
// skipped (confValues).
func (l *Ledger) persisted() (admins, error) {
	kept := admins{ports: &portBits{}, ranges: map[string]bool{}}
	for _, p := range l.Persisted {
		files := []string{p}
		if fi, err := os.Stat(p); err == nil && fi.IsDir() {
			if files, err = filepath.Glob(filepath.Join(p, "*.conf")); err != nil {
				return admins{}, fmt.Errorf("%s: %w", p, err)
			}
		}
		for _, name := range files {
			b, err := os.ReadFile(name)
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			if err != nil {
				return admins{}, fmt.Errorf("cannot read %s: %w", name, bare(err))
			}
			conf, err := confValues(bytes.NewReader(b), ReservedPortsKey, PortRangeKey)
			if err != nil {
				return admins{}, fmt.Errorf("%s: %w", name, err)
			}
			if v, ok := conf[PortRangeKey]; ok {
				kept.ranges[normalizeRange(v.value)] = true
			}
			v, ok := conf[ReservedPortsKey]
			if !ok {
				continue
			}
			spans, err := parsePorts(v.value)
			if err != nil {
				return admins{}, fmt.Errorf("%s: line %d: %s: %w", name, v.line, ReservedPortsKey, err)
			}
			kept.ports = kept.ports.or(bitsOf(spans))
		}
	}
	return kept, nil
}

// releaseSetting is the reserved ports setting as Release reports it.
var releaseSetting = Setting{
	Key: ReservedPortsKey, Kind: PortSet,
	Reason: "Ports fjord reserved for a run are released once no running fjord needs them; reservations that were there before fjord, or that a sysctl.d file makes, stay.",
}

// Release takes the calling process out of t.Ledger and releases the
// ports fjord added that no running fjord needs any more: a stopping
// process's own, and those of processes that ended without doing so.
// Result.Released lists them. Without a ledger file it only reads the
// setting, creating nothing.
func (t Tuner) Release() Result {
	if t.Ledger == nil {
		return Result{Setting: releaseSetting, Status: Failed, Err: errors.New("no ledger of fjord's reservations")}
	}
	if _, err := os.Lstat(t.Ledger.Path); errors.Is(err, fs.ErrNotExist) {
		// No fjord recorded anything here: nothing is fjord's to
		// release, and taking the lock would create the directory,
		// the lock and a ledger on a host where fjord never ran.
		return t.check(releaseSetting)
	}
	return t.settle(releaseSetting, nil)
}

// reserve applies the reserved ports setting s through t.Ledger: the
// calling process needs s.Want.
func (t Tuner) reserve(s Setting) Result {
	want, err := parsePorts(s.Want)
	if err != nil {
		return Result{Setting: s, Status: Unavailable, Err: fmt.Errorf("wanted value: %w", err)}
	}
	if want == nil {
		want = []portSpan{} // needs nothing, but runs: not a stop
	}
	return t.settle(s, want)
}

// settle brings ip_local_reserved_ports in line with the ledger, under
// its lock: owners that ended are dropped, the calling process's entry
// becomes need (or goes, when need is nil), every port a running owner
// needs is reserved (and recorded as fjord's if it was not reserved
// before), and every port fjord added that no running owner needs and no
// sysctl.d file keeps is released.
func (t Tuner) settle(s Setting, need []portSpan) Result {
	l := t.Ledger
	path := t.Path(s.Key)
	unlock, err := l.lock()
	if err != nil {
		err = fmt.Errorf("cannot keep the ledger of fjord's reservations: %w", err)
		if need == nil {
			return Result{Setting: s, Status: Failed, Err: err}
		}
		if errors.Is(err, fs.ErrPermission) || errors.Is(err, syscall.EROFS) {
			err = fmt.Errorf("%w: run as root", err)
		}
		// Ports already reserved (by an admin, or by a fjord that could
		// record them) serve this process as well; it only must not add
		// any it could not record, which would stay reserved for good.
		r := t.check(s)
		if r.Status == Pending {
			r.Status, r.Err = Failed, fmt.Errorf("not reserved: %w", err)
		}
		return r
	}
	defer unlock()

	r := Result{Setting: s}
	st, err := l.load()
	if err != nil {
		// What fjord added is unknown: release nothing, and start the
		// ledger afresh. Ports fjord reserved before stay reserved.
		r.Note = fmt.Sprintf("%v: started afresh, releasing nothing fjord reserved before", err)
		st = ledgerState{}
	}
	if l.foreign(st) {
		// The file is named after an inode that a namespace which has
		// ended had before this one: what it lists is not this
		// namespace's.
		r.Note = joinNote(r.Note, fmt.Sprintf("%s is another network namespace's (cookie %d, this one's %d), whose inode this one reuses: started afresh, releasing nothing it lists", l.Path, st.cookie, l.Cookie))
		st = ledgerState{}
	}
	live := l.liveness()
	var mine []uint64 // this process's sockets, kept over a new need
	owners := slices.DeleteFunc(st.owners, func(o ownerPorts) bool {
		if o.PID == l.Owner.PID && o.Start == l.Owner.Start {
			mine = o.sockets
			return true
		}
		return o.PID == l.Owner.PID || live(o) == ended
	})
	if need != nil {
		owners = append(owners, ownerPorts{l.Owner, need, mine})
	}

	b, err := os.ReadFile(path)
	if err != nil {
		r.Status, r.Err = Unavailable, readError(path, err)
		return r
	}
	r.Current = normalize(string(b))
	spans, err := parsePorts(r.Current)
	if err != nil {
		r.Status, r.Err = Unavailable, fmt.Errorf("%s: current value: %w", path, err)
		return r
	}
	cur := bitsOf(spans)
	needed := &portBits{}
	for _, o := range owners {
		needed = needed.or(bitsOf(o.ports))
	}
	// A port someone else released meanwhile is no longer fjord's.
	added := bitsOf(st.added).and(cur)
	release := added.andNot(needed)
	kept, err := l.persisted()
	if err != nil {
		release = &portBits{}
		r.Note = joinNote(r.Note, fmt.Sprintf("releasing nothing: cannot tell which reservations are the admin's: %v", err))
	} else {
		release = release.andNot(kept.ports)
	}
	if len(owners) == 0 && st.widened != nil && err == nil && !t.narrow(&st, kept.ranges, &r) {
		// Released while the range stays wide, the reservations of local
		// servers and services would go when they matter most.
		release = &portBits{}
	}
	add := needed.andNot(cur)
	next := cur.andNot(release).or(add)
	r.Wanted = formatPorts(next.spans())
	st.owners = owners

	// Write ahead: the ledger claims the ports about to be added before
	// the kernel has them, so that a process killed between the two
	// steps leaves none of them reserved without a record. A claimed port
	// the write never made is dropped by the next update, which counts as
	// fjord's only what the kernel holds (added ∩ current, above).
	st.added = added.or(add).spans()
	if err := l.save(st); err != nil {
		r.Status, r.Err = Failed, err
		if !add.empty() {
			r.Err = fmt.Errorf("not reserved, since it could not be recorded: %w", err)
		}
		return r
	}
	l.registered = need != nil
	if l.crash != nil && l.crash("recorded") {
		return r
	}
	if *next == *cur {
		r.Status = OK
		return r
	}
	t.apply(&r)
	if l.crash != nil && l.crash("written") {
		return r
	}
	// What the kernel holds now says which ports fjord added and which it
	// released, whatever became of the write.
	nowText := r.After
	if r.Status != Applied {
		if b, err := os.ReadFile(path); err == nil {
			nowText = normalize(string(b))
		} else {
			nowText = r.Current // unreadable: the ledger keeps its claim
		}
	}
	nowSpans, err := parsePorts(nowText)
	if err != nil {
		// The ledger keeps its claim; the next update corrects it.
		return r
	}
	now := bitsOf(nowSpans)
	if r.Status == Applied && (!add.andNot(now).empty() || !release.and(now).empty()) {
		r.Status = Failed
		r.Err = fmt.Errorf("wrote %q to %s but the kernel kept %q", r.Wanted, path, r.After)
	}
	r.Released = formatPorts(release.andNot(now).spans())
	st.added = added.or(add).and(now).spans()
	if err := l.save(st); err != nil {
		// The ledger still claims every port added and released: no
		// port is left unrecorded, and the next update drops the claims
		// the kernel does not hold.
		r.Note = joinNote(r.Note, fmt.Sprintf("%v: the next update corrects the ledger", err))
	}
	return r
}

// narrow puts the port range back as it was before fjord widened it, now
// that no fjord needs it wide, unless it changed since (someone else's
// range stays) or a sysctl.d file sets the range fjord set (the admin
// made it theirs, with 'fjord sysctl persist' say). It reports whether the
// range is settled, so that the reservations may go: false when the range
// is still fjord's wide one, which a later update tries again to narrow.
func (t Tuner) narrow(st *ledgerState, persisted map[string]bool, r *Result) bool {
	w := st.widened
	path := t.Path(PortRangeKey)
	b, err := os.ReadFile(path)
	if err != nil {
		r.Note = joinNote(r.Note, fmt.Sprintf("cannot put the port range back to %s: %v; releasing nothing", w.found, readError(path, err)))
		return false
	}
	if cur := normalizeRange(string(b)); cur != w.set || persisted[w.set] {
		st.widened = nil
		return true
	}
	if err := t.writer()(path, w.found); err != nil {
		r.Note = joinNote(r.Note, fmt.Sprintf("cannot put the port range back to %s: %v; releasing nothing", w.found, writeError(path, err)))
		return false
	}
	b, err = os.ReadFile(path)
	if now := normalizeRange(string(b)); err != nil || now != w.found {
		r.Note = joinNote(r.Note, fmt.Sprintf("wrote %q to %s but read back %q (%v); releasing nothing", w.found, path, now, err))
		return false
	}
	st.widened = nil
	r.RangeRestored = w.found
	return true
}

// widen applies the port range setting of r (found Pending) through the
// ledger: the range found is recorded before the range is widened, so that
// the last fjord to stop puts it back (narrow). A range fjord cannot record
// is not widened: it would stay wide for good.
func (t Tuner) widen(r *Result) {
	l := t.Ledger
	unlock, err := l.lock()
	if err != nil {
		r.Status, r.Err = Failed, fmt.Errorf("not widened, since fjord could not record it to narrow it back when it stops: cannot keep the ledger of fjord's reservations: %w", err)
		return
	}
	defer unlock()
	st, err := l.load()
	if err == nil && l.foreign(st) {
		err = fmt.Errorf("%s is another network namespace's", l.Path)
	}
	if err != nil {
		r.Status, r.Err = Failed, fmt.Errorf("not widened, since fjord could not record it: %w", err)
		return
	}
	found := normalizeRange(r.Current)
	if w := st.widened; w != nil && w.set == found {
		// fjord's own range, widened further: the range to put back is
		// still the one before fjord.
		found = w.found
	}
	// Write ahead, as for the reserved ports: a process killed after the
	// write leaves the record; one killed before it leaves a record of a
	// range never set, which narrow drops since the range is not what it
	// says fjord set.
	st.widened = &widening{found: found, set: normalizeRange(r.Wanted)}
	if err := l.save(st); err != nil {
		r.Status, r.Err = Failed, fmt.Errorf("not widened, since it could not be recorded: %w", err)
		return
	}
	if l.crash != nil && l.crash("range recorded") {
		return
	}
	t.apply(r)
	if l.crash != nil && l.crash("range written") {
		return
	}
	now := r.After
	if r.Status != Applied {
		b, err := os.ReadFile(t.Path(PortRangeKey))
		if err != nil {
			return // the record stays; narrow reads the range again
		}
		now = string(b)
	}
	if now = normalizeRange(now); now == found {
		st.widened = nil
	} else {
		st.widened.set = now
	}
	if err := l.save(st); err != nil {
		r.Note = joinNote(r.Note, fmt.Sprintf("%v: the next update corrects the ledger", err))
	}
}

func joinNote(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}

// RangeBefore returns the ephemeral port range as it was before fjord
// widened it: the range l records fjord found, while the range in force is
// still the one fjord set (another fjord runs, or one that ended left
// it); otherwise the range in force. l may be nil, or a ledger the caller
// may not read (a user other than root): the range in force then.
func (t Tuner) RangeBefore(l *Ledger) (low, high uint16, err error) {
	path := t.Path(PortRangeKey)
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, 0, readError(path, err)
	}
	cur := normalizeRange(string(b))
	if l != nil && trustedDir(filepath.Dir(l.Path)) == nil {
		if st, err := l.load(); err == nil && !l.foreign(st) && st.widened != nil && st.widened.set == cur {
			cur = st.widened.found
		}
	}
	lo, hi, err := parseRange(cur)
	if err != nil {
		return 0, 0, fmt.Errorf("%s: %w", path, err)
	}
	return uint16(min(lo, 65535)), uint16(min(hi, 65535)), nil
}

// ownerState is what became of an owner.
type ownerState int

const (
	ended ownerState = iota
	// runs: its process runs (or cannot be looked at).
	runs
	// handedOn: its process ended, but a listening socket it held is
	// still open in the namespace, in the process a reload handed it to,
	// one that could not register (it runs as the user fjord dropped
	// to), or that cannot be told apart (the listeners are unreadable).
	handedOn
)

// liveness returns the test of what became of an owner. The namespace's
// listening sockets are read once, and only if an owner that ended held
// some.
func (l *Ledger) liveness() func(ownerPorts) ownerState {
	isRunning := l.running
	if isRunning == nil {
		isRunning = running
	}
	var (
		read      bool
		listening map[uint64]bool // nil: unreadable
	)
	return func(o ownerPorts) ownerState {
		if isRunning(o.Owner) {
			return runs
		}
		if len(o.sockets) == 0 {
			return ended
		}
		if !read {
			read = true
			listening = map[uint64]bool{}
			if l.Listening != nil {
				ls, err := l.Listening()
				if err != nil {
					listening = nil
				}
				for _, s := range ls {
					listening[s.Inode] = true
				}
			}
		}
		if listening == nil || slices.ContainsFunc(o.sockets, func(n uint64) bool { return listening[n] }) {
			return handedOn
		}
		return ended
	}
}

// Hold records the inodes of the listening sockets the calling process
// holds, once it listens, so that its ports stay reserved after it ends
// for as long as a process it handed them to keeps one open (a reload's
// new process, which cannot register itself once fjord dropped root).
// Those sockets are taken from the entries of other owners: a process
// that registered and holds them now speaks for them. A process the
// ledger does not list has nothing to record.
func (l *Ledger) Hold(inodes []uint64) error {
	if !l.registered {
		return nil
	}
	unlock, err := l.lock()
	if err != nil {
		return err
	}
	defer unlock()
	st, err := l.load()
	if err != nil {
		return err
	}
	if l.foreign(st) {
		return nil
	}
	inodes = slices.Compact(slices.Sorted(slices.Values(inodes)))
	held := map[uint64]bool{}
	for _, n := range inodes {
		held[n] = true
	}
	found := false
	for i := range st.owners {
		o := &st.owners[i]
		if o.Owner == l.Owner {
			o.sockets, found = inodes, true
			continue
		}
		o.sockets = slices.DeleteFunc(o.sockets, func(n uint64) bool { return held[n] })
	}
	if !found {
		return nil // taken out meanwhile by a 'fjord sysctl release' that found it ended
	}
	return l.save(st)
}

// Describe says which reserved ports fjord added in the namespace and
// which fjord processes need which, for 'fjord sysctl check'; "" when the
// ledger lists none. It reads without the lock: the ledger is replaced
// whole, never written in place.
func (l *Ledger) Describe() (string, error) {
	if err := trustedDir(filepath.Dir(l.Path)); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return "", nil // no fjord kept a ledger here
		}
		return "", err
	}
	st, err := l.load()
	if err != nil || st.empty() || l.foreign(st) {
		return "", err
	}
	live := l.liveness()
	var running, handed, gone []string
	for _, o := range st.owners {
		desc := fmt.Sprintf("process %d (%s)", o.PID, portsOrDash(o.ports))
		switch live(o) {
		case runs:
			running = append(running, desc)
		case handedOn:
			handed = append(handed, desc)
		default:
			gone = append(gone, desc)
		}
	}
	out := fmt.Sprintf("fjord added %s, and releases each once no running fjord needs it", portsOrDash(st.added))
	if len(running) > 0 {
		out += "; running: " + strings.Join(running, ", ")
	}
	if len(handed) > 0 {
		out += "; ended, but a process it handed its listening sockets to (a reload that could not register) still holds them, so they stay: " + strings.Join(handed, ", ")
	}
	if len(gone) > 0 {
		// Safe to recommend: release keeps every port a running or
		// handed-on owner needs.
		out += "; ended without releasing: " + strings.Join(gone, ", ") + " ('fjord sysctl release' releases theirs)"
	}
	if w := st.widened; w != nil {
		out += fmt.Sprintf("; fjord widened %s from %s to %s, and puts %s back when the last fjord stops", PortRangeKey, w.found, w.set, w.found)
	}
	return out, nil
}

// Registered reports whether the ledger lists the calling process, as an
// Apply that could keep the ledger leaves it: at its stop, Release then
// has its entry to take out. A process that never could (one that runs as
// a user without access to the ledger) has nothing to release.
func (l *Ledger) Registered() bool { return l.registered }

// foreign reports whether st was written in another network namespace
// than the caller's: both cookies known, and different.
func (l *Ledger) foreign(st ledgerState) bool {
	return st.cookie != 0 && l.Cookie != 0 && st.cookie != l.Cookie
}

// Disown takes ports out of what fjord added, and with portRange the
// widened port range out of what fjord puts back: an admin applied them
// with 'fjord sysctl apply', and they are no longer fjord's to take back.
func (l *Ledger) Disown(ports string, portRange bool) error {
	spans, err := parsePorts(ports)
	if err != nil {
		return err
	}
	if _, err := os.Lstat(l.Path); errors.Is(err, fs.ErrNotExist) {
		return nil // fjord added nothing here
	}
	unlock, err := l.lock()
	if err != nil {
		return err
	}
	defer unlock()
	st, err := l.load()
	if err != nil {
		return err
	}
	if l.foreign(st) {
		return nil // nothing in it is this namespace's
	}
	st.added = bitsOf(st.added).andNot(bitsOf(spans)).spans()
	if portRange {
		st.widened = nil
	}
	return l.save(st)
}

// portBits is a set of ports, one bit each.
type portBits [65536 / 64]uint64

func bitsOf(spans []portSpan) *portBits {
	b := &portBits{}
	for _, s := range spans {
		for p := uint32(s.lo); p <= uint32(s.hi); p++ {
			b[p/64] |= 1 << (p % 64)
		}
	}
	return b
}

func (b *portBits) spans() []portSpan {
	var out []portSpan
	for p := uint32(0); p < 65536; p++ {
		if b[p/64]&(1<<(p%64)) == 0 {
			continue
		}
		if n := len(out); n > 0 && uint32(out[n-1].hi)+1 == p {
			out[n-1].hi = uint16(p)
		} else {
			out = append(out, portSpan{uint16(p), uint16(p)})
		}
	}
	return out
}

// or, and and andNot return a new set, leaving b and o as they are.
func (b *portBits) or(o *portBits) *portBits {
	out := &portBits{}
	for i := range b {
		out[i] = b[i] | o[i]
	}
	return out
}

func (b *portBits) and(o *portBits) *portBits {
	out := &portBits{}
	for i := range b {
		out[i] = b[i] & o[i]
	}
	return out
}

func (b *portBits) andNot(o *portBits) *portBits {
	out := &portBits{}
	for i := range b {
		out[i] = b[i] &^ o[i]
	}
	return out
}

func (b *portBits) empty() bool { return *b == portBits{} }
