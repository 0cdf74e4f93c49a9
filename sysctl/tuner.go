package sysctl

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
)

// Setting is one kernel parameter fjord wants, and why.
type Setting struct {
	// Key is the dotted name sysctl(8) uses: "net.ipv4.tcp_tw_reuse".
	Key string
	// Kind says which direction is better; the tuner never moves the other
	// way.
	Kind Kind
	// Want is the value in the kernel's own syntax: "1", "1024 65023",
	// "80,8080-8090".
	Want string
	// ZeroIsUnlimited says that 0 in force means "no limit" (an AtLeast
	// setting such as fs.pipe-user-pages-soft): 0 then satisfies any want.
	ZeroIsUnlimited bool
	// Requires names a setting that must be in place before this one is
	// written: the ephemeral port range is widened only once the ports
	// fjord listens on are reserved.
	Requires string
	// Reason says what the setting does for a load balancer; reports and
	// the persisted file show it.
	Reason string
	// Detail says where each item of a value built from several sources
	// comes from (which reserved port is whose). 'fjord sysctl check' and
	// the persisted file show it; the startup log, which must stay short,
	// does not.
	Detail string
}

// Namespaced reports whether the key is per network namespace (net.*), as
// opposed to global to the host (fs.*, vm.*, kernel.*).
func (s Setting) Namespaced() bool { return strings.HasPrefix(s.Key, "net.") }

// Status is what the tuner found or did for one setting.
type Status int

const (
	// OK: the value in force already meets the setting.
	OK Status = iota
	// Pending: the value should change (Check does not change it).
	Pending
	// Applied: the new value was written and read back.
	Applied
	// Failed: the value should change but could not be written, or the
	// kernel kept another value.
	Failed
	// Unavailable: the value could not be read or understood.
	Unavailable
)

func (s Status) String() string {
	switch s {
	case OK:
		return "ok"
	case Pending:
		return "to change"
	case Applied:
		return "changed"
	case Failed:
		return "FAILED"
	case Unavailable:
		return "UNAVAILABLE"
	}
	return fmt.Sprintf("Status(%d)", int(s))
}

// Result reports one setting.
type Result struct {
	Setting
	Current string // value found, fields separated by one space; "" if unreadable
	Wanted  string // value to write (Current when OK); "" if Unavailable
	After   string // value read back after a write
	Status  Status
	Err     error // why Failed or Unavailable
	// Released lists the reserved ports given back (Tuner.Release, or a
	// ledger update dropping those of processes that ended).
	Released string
	// RangeRestored is the ephemeral port range put back as it was
	// before fjord widened it, once no fjord runs ("" none): the update
	// that released the last owner's ports did it first.
	RangeRestored string
	// Note is a remark that is no failure of the setting, such as a
	// ledger that had to be started afresh.
	Note string
}

// Tuner reads and writes kernel settings under a /proc/sys tree.
type Tuner struct {
	// Root is the sysctl tree; "" means /proc/sys. Tests use a directory
	// of ordinary files shaped like it.
	Root string

	// Net is the /proc/net of the network namespace whose settings Root
	// holds, where the listening sockets are read. "" means
	// /proc/thread-self/net with the default Root (the calling thread's
	// namespace, as /proc/sys/net is), and "net" beside a fake Root.
	Net string

	// Ledger, when set, makes Apply record the ports it reserves for the
	// calling process and release those fjord reserved that no running
	// fjord needs any more (see Ledger); Release takes the process out.
	// nil: reservations are made for good, as an admin's.
	Ledger *Ledger

	// write stands in for writing a file, so that tests can make a key
	// read-only even when they run as root. nil: writeValue.
	write func(path, value string) error
}

// DefaultRoot is where Linux shows sysctl settings.
const DefaultRoot = "/proc/sys"

// Path returns the file that holds key.
func (t Tuner) Path(key string) string {
	root := t.Root
	if root == "" {
		root = DefaultRoot
	}
	return filepath.Join(root, strings.ReplaceAll(key, ".", "/"))
}

// NetDir returns the /proc/net directory t reads sockets from (see Net).
func (t Tuner) NetDir() string {
	switch {
	case t.Net != "":
		return t.Net
	case t.Root == "":
		return "/proc/thread-self/net"
	}
	return filepath.Join(filepath.Dir(t.Root), "net")
}

// Listening returns the listening TCP sockets of t's network namespace,
// sorted by port. With the default Root and Net it asks the kernel through
// NETLINK_SOCK_DIAG, for the listeners alone, and reads the tables of
// /proc/net (ListeningSockets) only where that fails (a kernel without
// inet_diag, a sandbox that forbids netlink); a fake tree's tables are
// read from its files.
func (t Tuner) Listening() ([]Listener, error) {
	if t.Net == "" && t.Root == "" {
		if ls, err := listeningDiag(); err == nil {
			sortListeners(ls)
			return ls, nil
		}
	}
	return ListeningSockets(t.NetDir())
}

// Check reads every setting and reports what Apply would change, changing
// nothing.
func (t Tuner) Check(settings []Setting) []Result {
	out := make([]Result, len(settings))
	for i, s := range settings {
		out[i] = t.check(s)
	}
	return out
}

// Apply brings every setting in line, in order, never making a value
// worse, and verifies each write by reading the value back. A setting
// whose Requires did not end OK or Applied is not written. With a Ledger,
// the reserved ports are the one exception to "never worse": those fjord
// reserved for processes that ended are released.
//
// With a Ledger, the calling process is registered in it even when the
// settings reserve no port, and what processes that ended left reserved is
// released; that update is reported as one more result, after the others,
// when it released something or did not go as it should.
func (t Tuner) Apply(settings []Setting) []Result {
	out := make([]Result, len(settings))
	done := map[string]*Result{}
	var extra []Result
	if t.Ledger != nil && !slices.ContainsFunc(settings, func(s Setting) bool { return s.Key == ReservedPortsKey }) {
		if r := t.settle(releaseSetting, []portSpan{}); r.Released != "" || r.Note != "" || !r.InPlace() {
			extra = append(extra, r)
		}
	}
	for i, s := range settings {
		if t.Ledger != nil && s.Key == ReservedPortsKey {
			out[i] = t.reserve(s)
			done[s.Key] = &out[i]
			continue
		}
		r := t.check(s)
		if r.Status == Pending {
			switch dep, ok := done[s.Requires]; {
			case s.Requires != "" && ok && !dep.InPlace():
				r.Status = Failed
				r.Err = fmt.Errorf("not changed because %s is not in place (%v)", s.Requires, dep.Err)
			case t.Ledger != nil && s.Key == PortRangeKey:
				t.widen(&r)
			default:
				t.apply(&r)
			}
		}
		out[i] = r
		done[s.Key] = &out[i]
	}
	return append(out, extra...)
}

func (t Tuner) check(s Setting) Result {
	r := Result{Setting: s}
	b, err := os.ReadFile(t.Path(s.Key))
	if err != nil {
		r.Status = Unavailable
		r.Err = readError(t.Path(s.Key), err)
		return r
	}
	r.Current = normalize(string(b))
	next, done, err := s.Merge(r.Current)
	if err != nil {
		r.Status = Unavailable
		r.Err = fmt.Errorf("%s: %w", t.Path(s.Key), err)
		return r
	}
	r.Wanted = next
	if done {
		r.Status = OK
	} else {
		r.Status = Pending
	}
	return r
}

// writer returns the function that writes a value (see Tuner.write).
func (t Tuner) writer() func(path, value string) error {
	if t.write == nil {
		return writeValue
	}
	return t.write
}

func (t Tuner) apply(r *Result) {
	path := t.Path(r.Key)
	if err := t.writer()(path, r.Wanted); err != nil {
		r.Status = Failed
		r.Err = writeError(path, err)
		return
	}
	b, err := os.ReadFile(path)
	if err != nil {
		r.Status = Failed
		r.Err = fmt.Errorf("wrote %s but cannot read it back: %w", path, bare(err))
		return
	}
	r.After = normalize(string(b))
	if !r.satisfied(r.After) {
		r.Status = Failed
		r.Err = fmt.Errorf("wrote %q to %s but the kernel kept %q", r.Wanted, path, r.After)
		return
	}
	r.Status = Applied
}

// writeValue writes a value the way sysctl(8) does: the whole value in one
// write(2), which is how /proc/sys takes it. O_TRUNC matters only for a
// tree of ordinary files.
func writeValue(path, value string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		return err
	}
	_, err = f.Write([]byte(value + "\n"))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// bare drops the *fs.PathError or *os.LinkError around err: messages
// name the path once.
func bare(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	var le *os.LinkError
	if errors.As(err, &le) {
		return le.Err
	}
	return err
}

func readError(path string, err error) error {
	err = bare(err)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%s does not exist: this kernel (or this network namespace) does not have the setting", path)
	}
	return fmt.Errorf("cannot read %s: %w", path, err)
}

// writeError says why a write was refused and what to do about it.
func writeError(path string, err error) error {
	err = bare(err)
	switch {
	case errors.Is(err, syscall.EROFS):
		return fmt.Errorf("cannot write %s: /proc/sys is mounted read-only here (a container?): %w; set it on the host", path, err)
	case errors.Is(err, fs.ErrPermission):
		return fmt.Errorf("cannot write %s: %w: run as root (or 'fjord sysctl apply' as root, or 'fjord sysctl persist' then 'sysctl --system')", path, err)
	}
	return fmt.Errorf("cannot write %s: %w", path, err)
}

// InPlace reports whether the setting is as wanted: found so, or written.
func (r Result) InPlace() bool { return r.Status == OK || r.Status == Applied }

// AllOK reports whether every setting is in place (Check never writes, so
// after Check that means found as wanted).
func AllOK(rs []Result) bool {
	for _, r := range rs {
		if !r.InPlace() {
			return false
		}
	}
	return true
}
