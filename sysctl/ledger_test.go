package sysctl

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// ledgerStep is one process reserving ports (Apply) or stopping
// (Release).
type ledgerStep struct {
	pid      int
	reserve  string // ports it reserves; "" none (Apply without the setting), or stop
	stop     bool
	kernel   string // ip_local_reserved_ports afterwards
	released string
	status   Status
	note     string   // part of Result.Note; "" none expected
	hold     []uint64 // sockets it then listens on (Hold)
}

// ledgerOwner is the Owner the tests give pid: its start time is pid*10.
func ledgerOwner(pid int) Owner { return Owner{PID: pid, Start: uint64(pid) * 10} }

func TestLedger(t *testing.T) {
	tests := []struct {
		name      string
		kernel    string   // ip_local_reserved_ports before
		ledger    string   // the ledger file before; "" none
		persisted string   // a sysctl.d file of the admin's; "" none
		ended     []int    // pids whose process has ended
		listening []uint64 // inodes of the namespace's listening sockets; nil none
		noListen  bool     // the listening sockets cannot be read
		readOnly  bool     // the kernel refuses writes to the key
		steps     []ledgerStep
		after     string // the ledger afterwards, without its header
	}{
		{
			name: "a stop releases what the run reserved",
			steps: []ledgerStep{
				{pid: 1, reserve: "8080,8443", kernel: "8080,8443", status: Applied},
				{pid: 1, stop: true, kernel: "", released: "8080,8443", status: Applied},
			},
			after: removed,
		},
		{
			name:   "a reservation there before fjord stays",
			kernel: "8080,9000",
			steps: []ledgerStep{
				{pid: 1, reserve: "8080,8443", kernel: "8080,8443,9000", status: Applied},
				{pid: 1, stop: true, kernel: "8080,9000", released: "8443", status: Applied},
			},
			after: removed,
		},
		{
			name: "a reload: the old process's ports go when it ends, the shared ones stay",
			steps: []ledgerStep{
				{pid: 1, reserve: "8080,8443", kernel: "8080,8443", status: Applied},
				{pid: 2, reserve: "8080,8444", kernel: "8080,8443-8444", status: Applied},
				{pid: 1, stop: true, kernel: "8080,8444", released: "8443", status: Applied},
				{pid: 2, stop: true, kernel: "", released: "8080,8444", status: Applied},
			},
			after: removed,
		},
		{
			name: "a port another running fjord needs stays",
			steps: []ledgerStep{
				{pid: 1, reserve: "8080", kernel: "8080", status: Applied},
				{pid: 2, reserve: "8080", kernel: "8080", status: OK},
				{pid: 2, stop: true, kernel: "8080", status: OK},
			},
			after: "added 8080\nowner 1 10 8080 -\n",
		},
		{
			name:   "the next start releases what an ended process left",
			kernel: "9000,9100",
			ledger: "added 9000\nowner 7 70 9000 -\n",
			ended:  []int{7},
			steps: []ledgerStep{
				{pid: 1, reserve: "8080", kernel: "8080,9100", released: "9000", status: Applied},
			},
			after: "added 8080\nowner 1 10 8080 -\n",
		},
		{
			name:      "an ended owner whose listening sockets a later process holds keeps its ports",
			kernel:    "9000",
			ledger:    "added 9000\nowner 7 70 9000 55,56\n",
			ended:     []int{7},
			listening: []uint64{56, 99},
			steps: []ledgerStep{
				{pid: 1, reserve: "8080", kernel: "8080,9000", status: Applied},
				{pid: 1, stop: true, kernel: "9000", released: "8080", status: Applied},
			},
			after: "added 9000\nowner 7 70 9000 55,56\n",
		},
		{
			name:      "once none of its sockets listens, the ended owner's ports go",
			kernel:    "9000",
			ledger:    "added 9000\nowner 7 70 9000 55,56\n",
			ended:     []int{7},
			listening: []uint64{99},
			steps: []ledgerStep{
				{pid: 1, reserve: "8080", kernel: "8080", released: "9000", status: Applied},
			},
			after: "added 8080\nowner 1 10 8080 -\n",
		},
		{
			name:     "listeners that cannot be read keep an ended owner with sockets",
			kernel:   "9000,9100",
			ledger:   "added 9000,9100\nowner 7 70 9000 55\nowner 8 80 9100 -\n",
			ended:    []int{7, 8},
			noListen: true,
			steps: []ledgerStep{
				{pid: 1, reserve: "8080", kernel: "8080,9000", released: "9100", status: Applied},
			},
			after: "added 8080,9000\nowner 1 10 8080 -\nowner 7 70 9000 55\n",
		},
		{
			name:      "a process that registers and holds the sockets speaks for them",
			kernel:    "9000",
			ledger:    "added 9000\nowner 7 70 9000 55\n",
			ended:     []int{7},
			listening: []uint64{55},
			steps: []ledgerStep{
				{pid: 1, reserve: "8080", kernel: "8080,9000", status: Applied, hold: []uint64{55, 57}},
				{pid: 1, stop: true, kernel: "", released: "8080,9000", status: Applied},
			},
			after: removed,
		},
		{
			name:      "a port a sysctl.d file reserves is the admin's",
			kernel:    "9000",
			ledger:    "added 9000\nowner 7 70 9000 -\n",
			persisted: "# the admin's\n-net.ipv4.ip_local_reserved_ports = 8999-9001\n",
			ended:     []int{7},
			steps: []ledgerStep{
				{pid: 1, reserve: "8080", kernel: "8080,9000", status: Applied},
			},
			after: "added 8080,9000\nowner 1 10 8080 -\n",
		},
		{
			name:      "a sysctl.d file with systemd's key-only exclusions still releases",
			kernel:    "9000,9100",
			ledger:    "added 9000,9100\nowner 7 70 9000,9100 -\n",
			persisted: "-net.ipv4.conf.all.rp_filter\nnet.ipv4.conf.*.rp_filter = 2\nnot a setting\nnet/ipv4/ip_local_reserved_ports = 9100\n",
			ended:     []int{7},
			steps: []ledgerStep{
				{pid: 1, reserve: "8080", kernel: "8080,9100", released: "9000", status: Applied},
			},
			after: "added 8080,9100\nowner 1 10 8080 -\n",
		},
		{
			name:      "a sysctl.d file whose reserved ports are no port list releases nothing",
			kernel:    "9000",
			ledger:    "added 9000\nowner 7 70 9000 -\n",
			persisted: "-net.ipv4.conf.all.rp_filter\nnet.ipv4.ip_local_reserved_ports = 80,x\n",
			ended:     []int{7},
			steps: []ledgerStep{
				{pid: 1, reserve: "8080", kernel: "8080,9000", status: Applied, note: "releasing nothing: cannot tell which reservations are the admin's: " + "DIR/admin.conf: line 2: net.ipv4.ip_local_reserved_ports: bad port"},
			},
		},
		{
			name:   "a garbled ledger is started afresh, releasing nothing it listed",
			kernel: "9000",
			ledger: "added 9000\nowner seven\n",
			steps: []ledgerStep{
				{pid: 1, reserve: "8080", kernel: "8080,9000", status: Applied, note: "line 2"},
				{pid: 1, stop: true, kernel: "9000", released: "8080", status: Applied},
			},
			after: removed,
		},
		{
			name:   "a port someone else released is no longer fjord's",
			ledger: "added 9000\nowner 7 70 9000 -\n",
			ended:  []int{7},
			steps: []ledgerStep{
				{pid: 1, reserve: "8080", kernel: "8080", status: Applied},
			},
			after: "added 8080\nowner 1 10 8080 -\n",
		},
		{
			name:   "a running process's port that someone released is reserved again",
			ledger: "added 9000\nowner 7 70 9000 -\n",
			steps: []ledgerStep{
				{pid: 1, reserve: "8080", kernel: "8080,9000", status: Applied},
			},
			after: "added 8080,9000\nowner 1 10 8080 -\nowner 7 70 9000 -\n",
		},
		{
			name:   "a start with nothing to reserve releases what ended processes left",
			kernel: "9000,9100",
			ledger: "added 9000\nowner 7 70 9000 -\n",
			ended:  []int{7},
			steps: []ledgerStep{
				{pid: 1, kernel: "9100", released: "9000", status: Applied},
				{pid: 1, stop: true, kernel: "9100", status: OK},
			},
			after: removed,
		},
		{
			name:   "a start with nothing to reserve and nothing to release says nothing, and registers",
			kernel: "9100",
			steps: []ledgerStep{
				{pid: 1, kernel: "9100", status: OK},
			},
			after: "added -\nowner 1 10 - -\n",
		},
		{
			name:     "a process whose write the kernel refused is registered, and its stop takes it out",
			readOnly: true,
			steps: []ledgerStep{
				{pid: 1, reserve: "8080", kernel: "", status: Failed},
				{pid: 1, stop: true, kernel: "", status: OK},
			},
			after: removed,
		},
		{
			name:     "a write the kernel refuses adds nothing to the ledger",
			readOnly: true,
			steps: []ledgerStep{
				{pid: 1, reserve: "8080", kernel: "", status: Failed},
			},
			after: "added -\nowner 1 10 8080 -\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := fakeTree(t, map[string]string{ReservedPortsKey: tt.kernel + "\n"})
			dir := t.TempDir()
			path := filepath.Join(dir, "reserved-ports")
			if tt.ledger != "" {
				if err := os.WriteFile(path, []byte(tt.ledger), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if tt.persisted != "" {
				if err := os.WriteFile(filepath.Join(dir, "admin.conf"), []byte(tt.persisted), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			ended := map[int]bool{}
			for _, pid := range tt.ended {
				ended[pid] = true
			}
			var write func(path, value string) error
			if tt.readOnly {
				write = func(path, _ string) error {
					return &fs.PathError{Op: "open", Path: path, Err: syscall.EACCES}
				}
			}
			for i, st := range tt.steps {
				tu := Tuner{Root: root, write: write, Ledger: &Ledger{
					Path: path, Owner: ledgerOwner(st.pid), Persisted: []string{dir},
					Listening: func() ([]Listener, error) {
						if tt.noListen {
							return nil, errors.New("unreadable")
						}
						var ls []Listener
						for _, n := range tt.listening {
							ls = append(ls, Listener{Port: 1, Inode: n})
						}
						return ls, nil
					},
					running: func(o Owner) bool { return !ended[o.PID] && o.Start == uint64(o.PID)*10 },
				}}
				r := Result{Status: OK}
				switch {
				case st.stop:
					r = tu.Release()
					ended[st.pid] = true
				case st.reserve == "":
					// Only the ledger's update, reported when it did
					// something.
					if rs := tu.Apply(nil); len(rs) > 0 {
						r = rs[0]
					}
				default:
					r = tu.Apply([]Setting{{Key: ReservedPortsKey, Kind: PortSet, Want: st.reserve}})[0]
				}
				if st.hold != nil {
					if err := tu.Ledger.Hold(st.hold); err != nil {
						t.Errorf("step %d: Hold: %v", i, err)
					}
				}
				if st.stop == tu.Ledger.Registered() {
					t.Errorf("step %d: registered %v after the process %s", i, tu.Ledger.Registered(), map[bool]string{true: "stopped", false: "started"}[st.stop])
				}
				what := fmt.Sprintf("step %d (process %d reserves %q, stops %v)", i, st.pid, st.reserve, st.stop)
				if r.Status != st.status || r.Released != st.released {
					t.Errorf("%s: %v, released %q; want %v, released %q (err %v)", what, r.Status, r.Released, st.status, st.released, r.Err)
				}
				if got := readTree(t, root, ReservedPortsKey); got != st.kernel {
					t.Errorf("%s: kernel has %q, want %q", what, got, st.kernel)
				}
				note := strings.ReplaceAll(st.note, "DIR", dir)
				if (note == "") != (r.Note == "") || !strings.Contains(r.Note, note) {
					t.Errorf("%s: note %q, want one containing %q", what, r.Note, note)
				}
			}
			checkLedgerAfter(t, path, tt.after)
		})
	}
}

// removed, as a ledger expected afterwards, means that neither the
// ledger nor its lock file is left.
const removed = "(removed)"

// checkLedgerAfter checks the ledger at path against want (without its
// header); "" checks nothing.
func checkLedgerAfter(t *testing.T, path, want string) {
	t.Helper()
	switch want {
	case "":
	case removed:
		for _, p := range []string{path, path + ".lock"} {
			if _, err := os.Lstat(p); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("%s left behind (%v)", p, err)
			}
		}
	default:
		if got := ledgerText(t, path); got != want {
			t.Errorf("ledger afterwards:\n%s\nwant:\n%s", got, want)
		}
	}
}

// TestLedgerCookie: a ledger recorded in another network namespace, one
// that ended and whose inode this one got, is started afresh releasing
// nothing it lists; without a cookie on either side the inode alone
// decides, as before cookies.
func TestLedgerCookie(t *testing.T) {
	tests := []struct {
		name     string
		ledger   string
		cookie   uint64 // this namespace's; 0 unknown
		kernel   string // after the start
		released string
		note     string
		after    string
	}{
		{"the same namespace: used", "netns 5\nadded 9000\nowner 7 70 9000 -\n", 5, "8080", "9000", "", "netns 5\nadded 8080\nowner 1 10 8080 -\n"},
		{"another namespace: started afresh", "netns 4\nadded 9000\nowner 7 70 9000 -\n", 5, "8080,9000", "", "is another network namespace's (cookie 4, this one's 5)", "netns 5\nadded 8080\nowner 1 10 8080 -\n"},
		{"a ledger without a cookie: used, and given one", "added 9000\nowner 7 70 9000 -\n", 5, "8080", "9000", "", "netns 5\nadded 8080\nowner 1 10 8080 -\n"},
		{"no cookie here: used", "netns 4\nadded 9000\nowner 7 70 9000 -\n", 0, "8080", "9000", "", "added 8080\nowner 1 10 8080 -\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := fakeTree(t, map[string]string{ReservedPortsKey: "9000\n"})
			path := filepath.Join(t.TempDir(), "reserved-ports")
			if err := os.WriteFile(path, []byte(tt.ledger), 0o644); err != nil {
				t.Fatal(err)
			}
			l := &Ledger{Path: path, Owner: ledgerOwner(1), Cookie: tt.cookie, running: func(o Owner) bool { return o.PID == 1 }}
			r := Tuner{Root: root, Ledger: l}.Apply([]Setting{{Key: ReservedPortsKey, Kind: PortSet, Want: "8080"}})[0]
			if r.Status != Applied || r.Released != tt.released || !strings.Contains(r.Note, tt.note) || (tt.note == "") != (r.Note == "") {
				t.Errorf("%v, released %q, note %q (%v); want released %q, a note containing %q", r.Status, r.Released, r.Note, r.Err, tt.released, tt.note)
			}
			if got := readTree(t, root, ReservedPortsKey); got != tt.kernel {
				t.Errorf("kernel has %q, want %q", got, tt.kernel)
			}
			checkLedgerAfter(t, path, tt.after)
		})
	}
}

// TestSameFile: a lock taken on a lock file that the holder before
// removed (an emptied ledger) is told from one on the file at the path.
func TestSameFile(t *testing.T) {
	for _, tt := range []struct {
		name  string
		after func(path string) error // what happens at path once opened
		want  bool
	}{
		{"still there", func(string) error { return nil }, true},
		{"removed", os.Remove, false},
		{"removed and created again", func(p string) error {
			if err := os.Remove(p); err != nil {
				return err
			}
			return os.WriteFile(p, nil, 0o600)
		}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "x.lock")
			f, err := os.Create(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if err := tt.after(path); err != nil {
				t.Fatal(err)
			}
			if got, err := sameFile(f, path); err != nil || got != tt.want {
				t.Errorf("sameFile = %v, %v; want %v", got, err, tt.want)
			}
		})
	}
}

func TestNetnsCookie(t *testing.T) {
	c, err := NetnsCookie()
	if errors.Is(err, syscall.ENOPROTOOPT) {
		t.Skipf("this kernel has no SO_NETNS_COOKIE: %v", err)
	}
	if err != nil || c == 0 {
		t.Fatalf("cookie %d, %v", c, err)
	}
	if again, err := NetnsCookie(); err != nil || again != c {
		t.Errorf("a second look gives %d (%v), want %d", again, err, c)
	}
}

// TestLedgerUnusable: a process that cannot keep the ledger (not root,
// /run read-only) reserves nothing it could not release, and widens no
// range it could not narrow back; ports already reserved serve it.
func TestLedgerUnusable(t *testing.T) {
	file := filepath.Join(t.TempDir(), "a-file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	unusable := &Ledger{Path: filepath.Join(file, "reserved-ports"), Owner: ledgerOwner(1)}
	tests := []struct {
		name     string
		kernel   string
		reserved Status
		rangeSt  Status
		err      string
	}{
		{"ports to reserve: not reserved, range left alone", "", Failed, Failed, "not reserved: cannot keep the ledger of fjord's reservations: cannot create " + file},
		{"ports reserved already: in place, range left alone", "8080", OK, Failed, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := fakeTree(t, with(stock, ReservedPortsKey, tt.kernel+"\n"))
			results := Tuner{Root: root, Ledger: unusable}.Apply(Profile(profileNeeds))
			got := map[string]Result{}
			for _, r := range results {
				got[r.Key] = r
			}
			res, rng := got[ReservedPortsKey], got["net.ipv4.ip_local_port_range"]
			if res.Status != tt.reserved || rng.Status != tt.rangeSt {
				t.Errorf("reserved ports %v (%v), range %v (%v); want %v, %v", res.Status, res.Err, rng.Status, rng.Err, tt.reserved, tt.rangeSt)
			}
			if tt.err != "" && (res.Err == nil || !strings.Contains(res.Err.Error(), tt.err)) {
				t.Errorf("error %v, want one containing %q", res.Err, tt.err)
			}
			if got := readTree(t, root, ReservedPortsKey); got != tt.kernel {
				t.Errorf("kernel has %q, want %q as it was", got, tt.kernel)
			}
		})
	}
	r := Tuner{Root: fakeTree(t, stock), Ledger: unusable}.Release()
	if r.Status != Failed || r.Err == nil || !strings.Contains(r.Err.Error(), "cannot create") {
		t.Errorf("Release with an unusable ledger: %v %v, want it to fail saying why", r.Status, r.Err)
	}
}

// TestLedgerLockHeld: a ledger whose lock another process keeps is given
// up on, with an error naming the lock file, rather than waited for
// forever; once the lock is free the ledger works again.
func TestLedgerLockHeld(t *testing.T) {
	root := fakeTree(t, map[string]string{ReservedPortsKey: "\n"})
	path := filepath.Join(t.TempDir(), "reserved-ports")
	holder, err := os.OpenFile(path+".lock", os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Close()
	// flock locks belong to the open file: this one conflicts with the
	// ledger's own open of the same file, in this process too.
	if err := syscall.Flock(int(holder.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	tu := Tuner{Root: root, Ledger: &Ledger{Path: path, Owner: ledgerOwner(1), running: func(Owner) bool { return true }, lockWait: time.Millisecond}}
	want := []Setting{{Key: ReservedPortsKey, Kind: PortSet, Want: "8080"}}
	r := tu.Apply(want)[0]
	if r.Status != Failed || r.Err == nil || !strings.Contains(r.Err.Error(), "flock("+path+".lock): another process has held the lock") {
		t.Errorf("with the lock held: %v %v, want a failure naming the lock file", r.Status, r.Err)
	}
	if got := readTree(t, root, ReservedPortsKey); got != "" {
		t.Errorf("reserved %q without the lock", got)
	}
	if err := syscall.Flock(int(holder.Fd()), syscall.LOCK_UN); err != nil {
		t.Fatal(err)
	}
	if r := tu.Apply(want)[0]; r.Status != Applied {
		t.Errorf("once the lock is free: %v %v, want the port reserved", r.Status, r.Err)
	}
}

// TestLedgerDirTrust: the ledger is kept only in a directory no other
// user may write, created mode 0700, and never through a symlink: root
// acts on what it says.
func TestLedgerDirTrust(t *testing.T) {
	tests := []struct {
		name    string
		setup   func(t *testing.T, dir string) // dir: the ledger's directory, not yet there
		wantErr string                         // "": the ledger is used
	}{
		{"created mode 0700", func(*testing.T, string) {}, ""},
		{"writable by others", func(t *testing.T, dir string) { mkdirMode(t, dir, 0o777) }, "may be written by group or others (mode 0777)"},
		{"writable by its group", func(t *testing.T, dir string) { mkdirMode(t, dir, 0o770) }, "mode 0770"},
		{"a symlink to a directory", func(t *testing.T, dir string) {
			target := dir + ".elsewhere"
			mkdirMode(t, target, 0o700)
			if err := os.Symlink(target, dir); err != nil {
				t.Fatal(err)
			}
		}, "is not a directory (a symlink?)"},
		{"owned by another user", func(t *testing.T, dir string) {
			if os.Geteuid() != 0 {
				t.Skip("needs root to give a directory to another user")
			}
			mkdirMode(t, dir, 0o700)
			if err := os.Chown(dir, 65534, 65534); err != nil {
				t.Fatal(err)
			}
		}, "belongs to uid 65534, not root"},
		{"a symlink at the lock file", func(t *testing.T, dir string) {
			mkdirMode(t, dir, 0o700)
			if err := os.Symlink(filepath.Join(dir, "planted"), filepath.Join(dir, "reserved-ports.lock")); err != nil {
				t.Fatal(err)
			}
		}, "cannot open DIR/reserved-ports.lock: too many levels of symbolic links"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := fakeTree(t, map[string]string{ReservedPortsKey: "\n"})
			dir := filepath.Join(t.TempDir(), "run", "fjord-sysctl")
			tt.setup(t, dir)
			l := &Ledger{Path: filepath.Join(dir, "reserved-ports"), Owner: ledgerOwner(1), running: func(Owner) bool { return true }}
			r := Tuner{Root: root, Ledger: l}.Apply([]Setting{{Key: ReservedPortsKey, Kind: PortSet, Want: "8080"}})[0]
			if tt.wantErr == "" {
				fi, err := os.Stat(dir)
				if r.Status != Applied || err != nil || fi.Mode().Perm() != 0o700 {
					t.Errorf("%v %v; directory %v %v: want the port reserved and the directory mode 0700", r.Status, r.Err, fi, err)
				}
				return
			}
			want := strings.ReplaceAll(tt.wantErr, "DIR", dir)
			if r.Status != Failed || r.Err == nil || !strings.Contains(r.Err.Error(), want) {
				t.Errorf("%v %v, want a failure containing %q", r.Status, r.Err, want)
			}
			if got := readTree(t, root, ReservedPortsKey); got != "" {
				t.Errorf("reserved %q through an untrusted ledger", got)
			}
			if _, err := os.Lstat(filepath.Join(dir, "planted")); err == nil {
				t.Error("the symlink at the lock file was followed")
			}
			if _, err := l.Describe(); err == nil && !strings.Contains(tt.name, "lock file") {
				t.Error("Describe reads a ledger in an untrusted directory")
			}
		})
	}
}

func mkdirMode(t *testing.T, dir string, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	// Chmod, since Mkdir's mode goes through the umask.
	if err := os.Chmod(dir, mode); err != nil {
		t.Fatal(err)
	}
}

// TestLedgerRange: the port range fjord widened is put back when the last
// fjord stops, before the reservations that protected local services in
// it go; unless someone changed it since, or a sysctl.d file sets it.
func TestLedgerRange(t *testing.T) {
	type step struct {
		op       string // "start" (reserve 8080 and widen), "stop", or "set RANGE" (someone else's change)
		pid      int
		crash    string // the step of the update the process dies after; "" none
		rng      string // the port range afterwards
		reserved string // ip_local_reserved_ports afterwards
		restored string // Result.RangeRestored of a stop
		note     string // part of a stop's note
	}
	tests := []struct {
		name      string
		before    string // the port range before
		persisted string // a sysctl.d file of the admin's
		failRange bool   // writes of the range fail at stops
		steps     []step
		after     string
	}{
		{
			name: "the last fjord's stop puts the range back, then releases",
			steps: []step{
				{op: "start", pid: 1, rng: "1024 65023", reserved: "8080"},
				{op: "stop", pid: 1, rng: "32768 60999", reserved: "", restored: "32768 60999"},
			},
			after: removed,
		},
		{
			name: "not while another fjord runs",
			steps: []step{
				{op: "start", pid: 1, rng: "1024 65023", reserved: "8080"},
				{op: "start", pid: 2, rng: "1024 65023", reserved: "8080"},
				{op: "stop", pid: 1, rng: "1024 65023", reserved: "8080"},
				{op: "stop", pid: 2, rng: "32768 60999", reserved: "", restored: "32768 60999"},
			},
			after: removed,
		},
		{
			name: "a range someone changed since stays",
			steps: []step{
				{op: "start", pid: 1, rng: "1024 65023", reserved: "8080"},
				{op: "set 2000 65000", rng: "2000 65000", reserved: "8080"},
				{op: "stop", pid: 1, rng: "2000 65000", reserved: ""},
			},
			after: removed,
		},
		{
			name:      "a sysctl.d file that sets fjord's range keeps it",
			persisted: "-net.ipv4.conf.all.rp_filter\nnet.ipv4.ip_local_port_range = 1024\t65023\n",
			steps: []step{
				{op: "start", pid: 1, rng: "1024 65023", reserved: "8080"},
				{op: "stop", pid: 1, rng: "1024 65023", reserved: ""},
			},
			after: removed,
		},
		{
			name:   "a range fjord did not widen is not put back",
			before: "1024 65535",
			steps: []step{
				{op: "start", pid: 1, rng: "1024 65535", reserved: "8080"},
				{op: "stop", pid: 1, rng: "1024 65535", reserved: ""},
			},
			after: removed,
		},
		{
			name: "killed after recording the range, before widening it: nothing to put back",
			steps: []step{
				{op: "start", pid: 1, crash: "range recorded", rng: "32768 60999", reserved: "8080"},
				{op: "stop", pid: 9, rng: "32768 60999", reserved: ""},
			},
			after: removed,
		},
		{
			name: "killed after widening, before the second record: put back",
			steps: []step{
				{op: "start", pid: 1, crash: "range written", rng: "1024 65023", reserved: "8080"},
				{op: "stop", pid: 9, rng: "32768 60999", reserved: "", restored: "32768 60999"},
			},
			after: removed,
		},
		{
			name:      "a range that cannot be put back keeps the reservations",
			failRange: true,
			steps: []step{
				{op: "start", pid: 1, rng: "1024 65023", reserved: "8080"},
				{op: "stop", pid: 1, rng: "1024 65023", reserved: "8080", note: "cannot put the port range back to 32768 60999"},
			},
			after: "added 8080\nrange 32768-60999 1024-65023\n",
		},
	}
	settings := Select(Profile(Needs{Ports: []uint16{8080}}), func(s Setting) bool {
		return s.Key == ReservedPortsKey || s.Key == PortRangeKey
	})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := tt.before
			if before == "" {
				before = "32768\t60999"
			}
			root := fakeTree(t, map[string]string{ReservedPortsKey: "\n", PortRangeKey: before + "\n"})
			dir := t.TempDir()
			path := filepath.Join(dir, "reserved-ports")
			if tt.persisted != "" {
				if err := os.WriteFile(filepath.Join(dir, "admin.conf"), []byte(tt.persisted), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			ended := map[int]bool{}
			rangePath := filepath.Join(root, "net/ipv4/ip_local_port_range")
			for i, st := range tt.steps {
				if v, ok := strings.CutPrefix(st.op, "set "); ok {
					if err := os.WriteFile(rangePath, []byte(v+"\n"), 0o644); err != nil {
						t.Fatal(err)
					}
					continue
				}
				tu := Tuner{Root: root, Ledger: &Ledger{
					Path: path, Owner: ledgerOwner(st.pid), Persisted: []string{dir},
					running: func(o Owner) bool { return !ended[o.PID] },
					crash:   func(step string) bool { return step == st.crash },
				}}
				if tt.failRange && st.op == "stop" {
					tu.write = func(p, v string) error {
						if p == rangePath {
							return &fs.PathError{Op: "open", Path: p, Err: syscall.EACCES}
						}
						return writeValue(p, v)
					}
				}
				var r Result
				if st.op == "start" {
					tu.Apply(settings)
					if st.crash != "" {
						ended[st.pid] = true
					}
				} else {
					r = tu.Release()
					ended[st.pid] = true
				}
				what := fmt.Sprintf("step %d (%s by %d)", i, st.op, st.pid)
				if got := readTree(t, root, PortRangeKey); got != st.rng {
					t.Errorf("%s: port range %q, want %q", what, got, st.rng)
				}
				if got := readTree(t, root, ReservedPortsKey); got != st.reserved {
					t.Errorf("%s: reserved %q, want %q", what, got, st.reserved)
				}
				if r.RangeRestored != st.restored || !strings.Contains(r.Note, st.note) {
					t.Errorf("%s: range put back %q, note %q; want %q, a note containing %q", what, r.RangeRestored, r.Note, st.restored, st.note)
				}
			}
			checkLedgerAfter(t, path, tt.after)
		})
	}
}

// TestRangeBefore: the range listeners are judged against is the one
// before fjord widened it, which the ledger records while the range is
// still fjord's; otherwise the range in force.
func TestRangeBefore(t *testing.T) {
	for _, tt := range []struct {
		name      string
		current   string
		ledger    string // "" none
		dirMode   os.FileMode
		low, high uint16
		err       string
	}{
		{name: "no ledger: the range in force", current: "1024 65023", low: 1024, high: 65023},
		{name: "widened by fjord: the range it found", current: "1024\t65023", ledger: "added -\nrange 32768-60999 1024-65023\n", low: 32768, high: 60999},
		{name: "changed since fjord widened it: the range in force", current: "2000 65000", ledger: "added -\nrange 32768-60999 1024-65023\n", low: 2000, high: 65000},
		{name: "a ledger in a directory others may write is not believed", current: "1024 65023", ledger: "added -\nrange 32768-60999 1024-65023\n", dirMode: 0o777, low: 1024, high: 65023},
		{name: "a range that is not one", current: "1 2 3", err: "want two numbers"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			root := fakeTree(t, map[string]string{PortRangeKey: tt.current + "\n"})
			dir := filepath.Join(t.TempDir(), "ledger")
			mkdirMode(t, dir, 0o700)
			l := &Ledger{Path: filepath.Join(dir, "reserved-ports")}
			if tt.ledger != "" {
				if err := os.WriteFile(l.Path, []byte(tt.ledger), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if tt.dirMode != 0 {
				mkdirMode(t, dir, tt.dirMode)
			}
			low, high, err := Tuner{Root: root}.RangeBefore(l)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Errorf("error %v, want one containing %q", err, tt.err)
				}
				return
			}
			if err != nil || low != tt.low || high != tt.high {
				t.Errorf("%d-%d (%v), want %d-%d", low, high, err, tt.low, tt.high)
			}
		})
	}
}

// TestReleaseWithoutLedger: where no fjord kept a ledger, Release finds
// nothing to release and creates nothing: no directory, lock or ledger.
func TestReleaseWithoutLedger(t *testing.T) {
	root := fakeTree(t, map[string]string{ReservedPortsKey: "9000\n"})
	dir := filepath.Join(t.TempDir(), "run", "fjord-sysctl")
	r := Tuner{Root: root, Ledger: &Ledger{Path: filepath.Join(dir, "reserved-ports"), Owner: ledgerOwner(1)}}.Release()
	if r.Status != OK || r.Released != "" || r.Current != "9000" || r.Err != nil {
		t.Errorf("%v, released %q, current %q, %v; want nothing released, 9000 in force", r.Status, r.Released, r.Current, r.Err)
	}
	if _, err := os.Lstat(filepath.Dir(dir)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Release created %s (%v)", filepath.Dir(dir), err)
	}
}

// TestLedgerUnsavable: a ledger that cannot be written ahead leaves the
// kernel alone, so that no port is reserved without fjord knowing it
// added it.
func TestLedgerUnsavable(t *testing.T) {
	root := fakeTree(t, map[string]string{ReservedPortsKey: "9000\n"})
	// A directory where the ledger should be: it reads as garbled and
	// cannot be replaced.
	path := filepath.Join(t.TempDir(), "reserved-ports")
	if err := os.Mkdir(path, 0o755); err != nil {
		t.Fatal(err)
	}
	tu := Tuner{Root: root, Ledger: &Ledger{Path: path, Owner: ledgerOwner(1), running: func(Owner) bool { return true }}}
	r := tu.Apply([]Setting{{Key: ReservedPortsKey, Kind: PortSet, Want: "8080"}})[0]
	if want := "not reserved, since it could not be recorded: cannot write " + path + ": rename "; r.Status != Failed || r.Err == nil || !strings.Contains(r.Err.Error(), want) {
		t.Errorf("%v %v, want a failure containing %q", r.Status, r.Err, want)
	}
	if got := readTree(t, root, ReservedPortsKey); got != "9000" {
		t.Errorf("kernel has %q, want 9000 as before", got)
	}
}

// TestLedgerCrash: a process killed at any step of an update leaves no
// port fjord added unrecorded, and the next update releases what it left
// and forgets what it only claimed.
func TestLedgerCrash(t *testing.T) {
	tests := []struct {
		name      string
		stops     bool   // the process that dies is stopping (Release), not starting
		at        string // the step it dies after
		kernel    string // ip_local_reserved_ports after the crash
		ledger    string // the ledger after the crash
		nextKern  string // after the next process reserves 8443
		released  string // what the next process released
		nextAfter string // the ledger afterwards
	}{
		{
			name: "killed after recording, before reserving: the claim is dropped",
			at:   "recorded", kernel: "", ledger: "added 8080\nowner 1 10 8080 -\n",
			nextKern: "8443", released: "", nextAfter: "added 8443\nowner 2 20 8443 -\n",
		},
		{
			name: "killed after reserving, before the second record: the ports are released",
			at:   "written", kernel: "8080", ledger: "added 8080\nowner 1 10 8080 -\n",
			nextKern: "8443", released: "8080", nextAfter: "added 8443\nowner 2 20 8443 -\n",
		},
		{
			name:  "killed while stopping, after releasing: nothing is released twice",
			stops: true, at: "written", kernel: "", ledger: "added 8080\n",
			nextKern: "8443", released: "", nextAfter: "added 8443\nowner 2 20 8443 -\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := fakeTree(t, map[string]string{ReservedPortsKey: "\n"})
			path := filepath.Join(t.TempDir(), "reserved-ports")
			ended := map[int]bool{}
			ledger := func(pid int, crashAt string) *Ledger {
				return &Ledger{Path: path, Owner: ledgerOwner(pid),
					running: func(o Owner) bool { return !ended[o.PID] },
					crash:   func(step string) bool { return step == crashAt },
				}
			}
			reserve := []Setting{{Key: ReservedPortsKey, Kind: PortSet, Want: "8080"}}
			if tt.stops {
				if r := (Tuner{Root: root, Ledger: ledger(1, "")}).Apply(reserve)[0]; r.Status != Applied {
					t.Fatalf("reserve: %v %v", r.Status, r.Err)
				}
				Tuner{Root: root, Ledger: ledger(1, tt.at)}.Release()
			} else {
				Tuner{Root: root, Ledger: ledger(1, tt.at)}.Apply(reserve)
			}
			ended[1] = true
			if got := readTree(t, root, ReservedPortsKey); got != tt.kernel {
				t.Errorf("after the crash the kernel has %q, want %q", got, tt.kernel)
			}
			if got := ledgerText(t, path); got != tt.ledger {
				t.Errorf("after the crash the ledger is\n%s\nwant\n%s", got, tt.ledger)
			}
			r := Tuner{Root: root, Ledger: ledger(2, "")}.Apply([]Setting{{Key: ReservedPortsKey, Kind: PortSet, Want: "8443"}})[0]
			if r.Status != Applied || r.Released != tt.released {
				t.Errorf("the next start: %v, released %q (%v); want changed, released %q", r.Status, r.Released, r.Err, tt.released)
			}
			if got := readTree(t, root, ReservedPortsKey); got != tt.nextKern {
				t.Errorf("after the next start the kernel has %q, want %q", got, tt.nextKern)
			}
			if got := ledgerText(t, path); got != tt.nextAfter {
				t.Errorf("after the next start the ledger is\n%s\nwant\n%s", got, tt.nextAfter)
			}
		})
	}
}

// ledgerText is the ledger file at path without its header.
func ledgerText(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimPrefix(string(b), ledgerHeader)
}

// TestLedgerDisown: ports an admin reserved with 'fjord sysctl apply'
// while fjord had them are no longer fjord's to release.
func TestLedgerDisown(t *testing.T) {
	root := fakeTree(t, map[string]string{ReservedPortsKey: "\n"})
	path := filepath.Join(t.TempDir(), "reserved-ports")
	l := &Ledger{Path: path, Owner: ledgerOwner(1), running: func(Owner) bool { return true }}
	if err := (&Ledger{Path: filepath.Join(t.TempDir(), "none")}).Disown("8443", false); err != nil {
		t.Errorf("Disown without a ledger: %v", err)
	}
	tu := Tuner{Root: root, Ledger: l}
	if r := tu.Apply([]Setting{{Key: ReservedPortsKey, Kind: PortSet, Want: "8080,8443"}})[0]; r.Status != Applied {
		t.Fatalf("reserve: %v %v", r.Status, r.Err)
	}
	if err := l.Disown("8443,9000", false); err != nil {
		t.Fatal(err)
	}
	if r := tu.Release(); r.Released != "8080" || readTree(t, root, ReservedPortsKey) != "8443" {
		t.Errorf("after Disown(8443) the stop released %q, leaving %q; want 8080 released, 8443 kept", r.Released, readTree(t, root, ReservedPortsKey))
	}
}

func TestLedgerDescribe(t *testing.T) {
	for _, tt := range []struct {
		name, ledger, want string
	}{
		{"no ledger", "", ""},
		{"nothing listed", "added -\n", ""},
		{"running and ended owners", "added 8080,8443,9000\nowner 1 10 8080,8443 -\nowner 7 70 9000 -\nowner 8 80 - -\n",
			"fjord added 8080,8443,9000, and releases each once no running fjord needs it; running: process 1 (8080,8443), process 8 (-); ended without releasing: process 7 (9000) ('fjord sysctl release' releases theirs)"},
		{"an ended owner whose sockets are held on", "added 8080\nowner 7 70 8080 55\n",
			"fjord added 8080, and releases each once no running fjord needs it; ended, but a process it handed its listening sockets to (a reload that could not register) still holds them, so they stay: process 7 (8080)"},
		{"an ended owner whose sockets closed", "added 8080\nowner 7 70 8080 56\n",
			"fjord added 8080, and releases each once no running fjord needs it; ended without releasing: process 7 (8080) ('fjord sysctl release' releases theirs)"},
	} {
		path := filepath.Join(t.TempDir(), "reserved-ports")
		if tt.ledger != "" {
			if err := os.WriteFile(path, []byte(tt.ledger), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		l := &Ledger{Path: path, running: func(o Owner) bool { return o.PID != 7 },
			Listening: func() ([]Listener, error) { return []Listener{{Port: 8080, Inode: 55}}, nil }}
		got, err := l.Describe()
		if err != nil || got != tt.want {
			t.Errorf("%s: %q, %v; want %q", tt.name, got, err, tt.want)
		}
	}
	path := filepath.Join(t.TempDir(), "reserved-ports")
	os.WriteFile(path, []byte("garbage\n"), 0o644)
	if _, err := (&Ledger{Path: path}).Describe(); err == nil || !strings.Contains(err.Error(), path+": line 1") {
		t.Errorf("a garbled ledger: %v, want an error naming it", err)
	}
}

func TestNewLedger(t *testing.T) {
	var st syscall.Stat_t
	if err := syscall.Stat("/proc/thread-self/ns/net", &st); err != nil {
		t.Skip(err)
	}
	name := fmt.Sprintf("reserved-ports.net-%d", st.Ino)
	for _, tt := range []struct {
		name            string
		tu              Tuner
		path, persisted string
	}{
		{"the real tree: root's /run/fjord-sysctl and the sysctl.d files", Tuner{}, "/run/fjord-sysctl/" + name, "/etc/sysctl.conf"},
		{"a fake tree: beside it", Tuner{Root: "/tmp/x/sys"}, "/tmp/x/run/fjord-sysctl/" + name, "/tmp/x/sysctl.d"},
	} {
		l, err := tt.tu.NewLedger()
		if err != nil {
			t.Fatal(err)
		}
		if l.Path != tt.path || l.Persisted[0] != tt.persisted || l.Owner.PID != os.Getpid() || l.Owner.Start == 0 {
			t.Errorf("%s: %+v, want path %s, persisted first %s, owner this process", tt.name, l, tt.path, tt.persisted)
		}
	}
}

// TestRunning tells a running process from one that ended or whose pid
// another process now has.
func TestRunning(t *testing.T) {
	self, err := Self()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("/bin/true")
	if err := cmd.Run(); err != nil {
		t.Skipf("cannot run /bin/true: %v", err)
	}
	for _, tt := range []struct {
		name string
		o    Owner
		want bool
	}{
		{"this process", self, true},
		{"its pid with another start time", Owner{self.PID, self.Start + 1}, false},
		{"a process that ended", Owner{cmd.Process.Pid, self.Start}, false},
	} {
		if got := running(tt.o); got != tt.want {
			t.Errorf("%s: running %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestParseStat(t *testing.T) {
	tail := " 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 4242 19 20\n"
	for _, tt := range []struct {
		name, stat string
		state      byte
		start      uint64
		err        string
	}{
		{"plain", "12 (fjord) S" + tail, 'S', 4242, ""},
		{"a command with spaces and parentheses", "12 (a) (b c)) Z" + tail, 'Z', 4242, ""},
		{"no command", "12 S" + tail, 0, 0, "no ')'"},
		{"too short", "12 (fjord) S 1 2 3\n", 0, 0, "19 more fields"},
		{"start not a number", "12 (fjord) S" + strings.Replace(tail, "4242", "x", 1), 0, 0, `start time "x"`},
		{"state not one letter", "12 (fjord) SS" + tail, 0, 0, "want the state"},
	} {
		state, start, err := parseStat([]byte(tt.stat))
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("%s: error %v, want one containing %q", tt.name, err, tt.err)
			}
			continue
		}
		if err != nil || state != tt.state || start != tt.start {
			t.Errorf("%s: %c %d %v, want %c %d", tt.name, state, start, err, tt.state, tt.start)
		}
	}
}

func TestParseLedger(t *testing.T) {
	st, err := parseLedger(strings.NewReader(ledgerHeader + "\nnetns 77\nadded 8080,8443-8444\nrange 32768-60999 1024-65023\nowner 12 345 8080 -\nowner 13 346 - 9,4,9\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got := formatPorts(st.added); got != "8080,8443-8444" || st.cookie != 77 || len(st.owners) != 2 ||
		st.widened == nil || *st.widened != (widening{"32768 60999", "1024 65023"}) ||
		st.owners[0].Owner != (Owner{12, 345}) || formatPorts(st.owners[0].ports) != "8080" || st.owners[0].sockets != nil ||
		st.owners[1].ports != nil || !slices.Equal(st.owners[1].sockets, []uint64{4, 9}) {
		t.Errorf("parsed %+v", st)
	}
	for _, bad := range []struct{ text, err string }{
		{"added 1\nadded 2\n", "line 2: want 'netns COOKIE', 'added PORTS' or 'range FOUND SET' once"},
		{"range 1-2 3-4\nrange 1-2 3-4\n", "line 2"},
		{"range 1-2\n", "line 1: want"},
		{"range 1 2 3 4\n", "line 1: want"},
		{"range 2-1 3-4\n", `line 1: port range "2-1" is not LOW-HIGH`},
		{"range 1-2 3-x\n", `line 1: port range "3-x"`},
		{"range 1-2 3\n", `line 1: port range "3"`},
		{"range 1-2-3 3-4\n", `line 1: port range "1-2-3"`},
		{"netns 1\nnetns 1\n", "line 2"},
		{"netns 0\n", "line 1: namespace cookie \"0\""},
		{"netns x\n", "line 1: namespace cookie"},
		{"added\n", "line 1"},
		{"added x\n", "line 1: bad port"},
		{"added ,\n", "line 1"},
		{"owner 0 1 - -\n", `line 1: "0" is not a process id`},
		{"owner 1 1 - -\nowner 1 2 - -\n", "line 2"},
		{"owner 1 x - -\n", `start time "x"`},
		{"owner 1 1 80\n", "line 1: want"},
		{"owner 1 1 80 81 82\n", "line 1: want"},
		{"owner 1 1 80 x\n", `line 1: socket inode "x"`},
		{"owner 1 1 80 0\n", `line 1: socket inode "0"`},
		{"owner 1 1 80 5,\n", `line 1: socket inode ""`},
		{"reserved 80\n", "line 1: want"},
	} {
		if _, err := parseLedger(strings.NewReader(bad.text)); err == nil || !strings.Contains(err.Error(), bad.err) {
			t.Errorf("parseLedger(%q) error %v, want one containing %q", bad.text, err, bad.err)
		}
	}
}

func FuzzParseLedger(f *testing.F) {
	f.Add(ledgerHeader + "netns 4096\nadded 8080,8443-8444\nrange 32768-60999 01024-65023\nowner 12 345 8080 77,78\nowner 13 346 - -\n")
	f.Add("added -\n\n# x\n")
	f.Fuzz(func(t *testing.T, text string) {
		st, err := parseLedger(strings.NewReader(text))
		if err != nil {
			return
		}
		// What was read writes back to a ledger that reads the same.
		out := formatLedger(st)
		again, err := parseLedger(bytes.NewReader(out))
		if err != nil {
			t.Fatalf("reparse of %q: %v", out, err)
		}
		if !bytes.Equal(formatLedger(again), out) {
			t.Fatalf("%q became %q", out, formatLedger(again))
		}
	})
}

func FuzzParseStat(f *testing.F) {
	if b, err := os.ReadFile("/proc/self/stat"); err == nil {
		f.Add(b)
	}
	f.Add([]byte("12 (a) (b c)) Z 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 4242 19 20\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		state, start, err := parseStat(b)
		if err != nil {
			return
		}
		// The fields after the last ')' carry the state and start time.
		rest := string(b[bytes.LastIndexByte(b, ')')+1:])
		f := strings.Fields(rest)
		if n, err := strconv.ParseUint(f[19], 10, 64); f[0] != string([]byte{state}) || err != nil || n != start {
			t.Fatalf("state %c start %d from %q", state, start, rest)
		}
	})
}
