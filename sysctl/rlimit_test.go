package sysctl

import (
	"errors"
	"math"
	"os"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func TestNoFileNeeded(t *testing.T) {
	tests := []struct {
		name string
		n    FDNeeds
		want uint64
	}{
		{
			// One loop (the floor), the default pool of 16 pipes, margin.
			name: "zero value",
			want: 2*16 + 2*1 + NoFileMargin,
		},
		{
			// Sessions 2*4096, in-flight pipes 2*(2*4096), pooled pipes
			// 2*(4 loops * 4096/4/4), listeners, 2 per loop, checks.
			name: "default maxconn, default pipes",
			n:    FDNeeds{MaxConn: 4096, Listeners: 4, Loops: 4, Checks: 3},
			want: 8192 + 16384 + 2048 + 4 + 8 + 3 + NoFileMargin,
		},
		{
			// Small maxconn on many loops: the pool floor of 16 applies.
			name: "pool floor",
			n:    FDNeeds{MaxConn: 100, Listeners: 8, Loops: 8},
			want: 200 + 2*200 + 2*8*16 + 8 + 16 + NoFileMargin,
		},
		{
			// An engine that caps pipes like HAProxy (maxpipes =
			// maxconn/4) with an explicit pool.
			name: "explicit pipes and pool",
			n:    FDNeeds{MaxConn: 4096, Listeners: 2, Loops: 2, MaxPipes: 1024, PipePoolPerLoop: 16},
			want: 8192 + 2*(1024+2*16) + 2 + 4 + NoFileMargin,
		},
		{
			name: "negative values count as zero",
			n:    FDNeeds{MaxConn: -5, Listeners: -1, Loops: -2, Checks: -3, MaxPipes: -4, PipePoolPerLoop: -6},
			want: 2*1 + NoFileMargin,
		},
		{
			name: "saturates instead of wrapping",
			n:    FDNeeds{MaxConn: math.MaxInt, Loops: 1},
			want: math.MaxUint64,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := NoFileNeeded(tt.n); got != tt.want {
				t.Errorf("NoFileNeeded(%+v) = %d, want %d", tt.n, got, tt.want)
			}
		})
	}
}

// fakeKernel stands in for getrlimit/setrlimit with the kernel's rules for
// RLIMIT_NOFILE: soft may not exceed hard (EINVAL), hard may not exceed
// fs.nr_open (EPERM), and only a privileged process may raise hard (EPERM).
type fakeKernel struct {
	soft, hard uint64
	nrOpen     uint64
	root       bool
	getErr     error
	sets       []unix.Rlimit // every setrlimit call, accepted or not
}

func (k *fakeKernel) ops() rlimitOps {
	return rlimitOps{
		get: func(r *unix.Rlimit) error {
			if k.getErr != nil {
				return k.getErr
			}
			r.Cur, r.Max = k.soft, k.hard
			return nil
		},
		set: func(r *unix.Rlimit) error {
			k.sets = append(k.sets, *r)
			switch {
			case r.Cur > r.Max:
				return unix.EINVAL
			case r.Max > k.nrOpen:
				return unix.EPERM
			case r.Max > k.hard && !k.root:
				return unix.EPERM
			}
			k.soft, k.hard = r.Cur, r.Max
			return nil
		},
		nrOpen: func() (uint64, error) { return k.nrOpen, nil },
		who: func() Privilege {
			if k.root {
				return Privilege{UID: 0, CapSysResource: true}
			}
			return Privilege{UID: 1000}
		},
	}
}

func TestRaiseNoFile(t *testing.T) {
	tests := []struct {
		name     string
		k        fakeKernel
		want     uint64
		inForce  uint64
		soft     uint64 // soft limit afterwards
		hard     uint64 // hard limit afterwards
		sets     int
		errParts []string // all must appear in the error; nil: no error
	}{
		{
			name:    "already enough",
			k:       fakeKernel{soft: 65536, hard: 65536, nrOpen: 1 << 20},
			want:    10000,
			inForce: 65536, soft: 65536, hard: 65536,
		},
		{
			name:    "want zero",
			k:       fakeKernel{soft: 1024, hard: 4096, nrOpen: 1 << 20},
			inForce: 1024, soft: 1024, hard: 4096,
		},
		{
			name:    "soft raised within hard",
			k:       fakeKernel{soft: 1024, hard: 524288, nrOpen: 1 << 20},
			want:    26671,
			inForce: 26671, soft: 26671, hard: 524288,
			sets: 1,
		},
		{
			name:    "soft raised to exactly hard",
			k:       fakeKernel{soft: 1024, hard: 4096, nrOpen: 1 << 20},
			want:    4096,
			inForce: 4096, soft: 4096, hard: 4096,
			sets: 1,
		},
		{
			name:    "hard raised as root",
			k:       fakeKernel{soft: 1024, hard: 4096, nrOpen: 1 << 20, root: true},
			want:    26671,
			inForce: 26671, soft: 26671, hard: 26671,
			sets: 1,
		},
		{
			name:    "hard too low and not root",
			k:       fakeKernel{soft: 1024, hard: 4096, nrOpen: 1 << 20},
			want:    26671,
			inForce: 4096, soft: 4096, hard: 4096, // best effort: soft up to hard
			sets: 2,
			errParts: []string{
				"to 26671", "soft limit is 1024", "hard limit 4096",
				"operation not permitted",
				"fjord runs as uid 1000, which may not raise its hard limit of 4096",
				"'USER hard nofile 26671' in /etc/security/limits.conf", "start fjord as root (or with CAP_SYS_RESOURCE)",
				"lower 'maxconn'", "'ulimit-n'", "at most 4096",
			},
		},
		{
			name:    "hard too low, soft already at hard",
			k:       fakeKernel{soft: 4096, hard: 4096, nrOpen: 1 << 20},
			want:    26671,
			inForce: 4096, soft: 4096, hard: 4096,
			sets: 1,
			errParts: []string{
				"to 26671", "soft limit is 4096", "hard limit 4096",
				"start fjord as root", "nofile 26671", "lower 'maxconn'", "'ulimit-n'",
			},
		},
		{
			name:    "above fs.nr_open even as root",
			k:       fakeKernel{soft: 1024, hard: 524288, nrOpen: 1 << 20, root: true},
			want:    3 << 20,
			inForce: 524288, soft: 524288, hard: 524288,
			sets: 2,
			errParts: []string{
				"to 3145728", "soft limit is 1024", "hard limit 524288",
				"fs.nr_open is 1048576", "sysctl -w fs.nr_open=3145728",
				"lower 'maxconn'", "'ulimit-n'", "at most 524288",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k := tt.k
			got, err := k.ops().raiseNoFile(tt.want)
			if got != tt.inForce {
				t.Errorf("raiseNoFile(%d) = %d, want %d", tt.want, got, tt.inForce)
			}
			if k.soft != tt.soft || k.hard != tt.hard {
				t.Errorf("limits afterwards soft=%d hard=%d, want soft=%d hard=%d", k.soft, k.hard, tt.soft, tt.hard)
			}
			if len(k.sets) != tt.sets {
				t.Errorf("%d setrlimit calls %v, want %d", len(k.sets), k.sets, tt.sets)
			}
			if tt.errParts == nil {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("no error")
			}
			var ne *NoFileError
			if !errors.As(err, &ne) {
				t.Fatalf("error %T is not a *NoFileError: %v", err, err)
			}
			if ne.Want != tt.want || ne.Soft != tt.k.soft || ne.Hard != tt.k.hard {
				t.Errorf("NoFileError{Want: %d, Soft: %d, Hard: %d}, want {%d, %d, %d}", ne.Want, ne.Soft, ne.Hard, tt.want, tt.k.soft, tt.k.hard)
			}
			if !errors.Is(err, unix.EPERM) {
				t.Errorf("error does not wrap EPERM: %v", err)
			}
			for _, part := range tt.errParts {
				if !strings.Contains(err.Error(), part) {
					t.Errorf("error lacks %q:\n%v", part, err)
				}
			}
		})
	}
}

// TestNoFileAdvice: the error says what keeps the hard limit down and how
// to raise it where it is set, and never tells root to run as root.
func TestNoFileAdvice(t *testing.T) {
	tests := []struct {
		name   string
		who    Privilege
		nrOpen uint64
		want   []string
		not    []string
	}{
		{
			name: "a user on a plain host raises the user's limit",
			who:  Privilege{UID: 1000},
			want: []string{"fjord runs as uid 1000, which may not raise its hard limit of 4096. Raise the hard limit of its user ('USER hard nofile 26671' in /etc/security/limits.conf", "start fjord as root (or with CAP_SYS_RESOURCE)"},
			not:  []string{"LimitNOFILE", "docker"},
		},
		{
			name: "a user under systemd raises LimitNOFILE",
			who:  Privilege{UID: 1000, Systemd: true},
			want: []string{"runs as uid 1000", "Set LimitNOFILE=26671 in fjord's systemd unit ('systemctl edit' it", "systemctl show -p LimitNOFILE"},
			not:  []string{"limits.conf", "as root"},
		},
		{
			name: "root in a container raises the container's limit",
			who:  Privilege{UID: 0, Container: true},
			want: []string{"fjord runs as root but without CAP_SYS_RESOURCE (the container runtime took it away), so the hard limit of 4096 it was started with binds it", "docker run --ulimit nofile=26671:26671", "give it CAP_SYS_RESOURCE"},
			not:  []string{"as root (or", "start fjord as root"},
		},
		{
			name: "root under systemd without the capability",
			who:  Privilege{UID: 0, Systemd: true},
			want: []string{"without CAP_SYS_RESOURCE (its systemd unit's CapabilityBoundingSet took it away)", "Set LimitNOFILE=26671", "let the unit keep CAP_SYS_RESOURCE"},
			not:  []string{"as root (or", "start fjord as root"},
		},
		{
			name: "root without the capability elsewhere",
			who:  Privilege{UID: 0},
			want: []string{"without CAP_SYS_RESOURCE (a container, or a capability bounding set, took it away)", "'ulimit -Hn 26671' from a shell that has CAP_SYS_RESOURCE"},
			not:  []string{"as root (or", "start fjord as root"},
		},
		{
			name: "refused despite the capability",
			who:  Privilege{UID: 0, CapSysResource: true},
			want: []string{"fjord has CAP_SYS_RESOURCE and the kernel refused anyway: a security policy"},
			not:  []string{"as root (or", "start fjord as root"},
		},
		{
			name:   "above fs.nr_open with the capability",
			who:    Privilege{UID: 0, CapSysResource: true},
			nrOpen: 20000,
			want:   []string{"The kernel's fs.nr_open is 20000 and not even root may go above it: raise it ('sysctl -w fs.nr_open=26671'"},
			not:    []string{"; then", "as root (or"},
		},
		{
			name:   "above fs.nr_open in a container without the capability",
			who:    Privilege{UID: 0, Container: true},
			nrOpen: 20000,
			want:   []string{"fs.nr_open is 20000", "; then raise the container's limit"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msg := (&NoFileError{Want: 26671, Soft: 1024, Hard: 4096, NrOpen: tt.nrOpen, Err: unix.EPERM, Who: tt.who}).Error()
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("lacks %q:\n%s", w, msg)
				}
			}
			for _, n := range tt.not {
				if strings.Contains(msg, n) {
					t.Errorf("has %q:\n%s", n, msg)
				}
			}
			if !strings.Contains(msg, "lower 'maxconn'") {
				t.Errorf("lacks the configuration's own way out:\n%s", msg)
			}
		})
	}
}

// TestCurrentPrivilege describes this process as the kernel sees it.
func TestCurrentPrivilege(t *testing.T) {
	p := currentPrivilege()
	if p.UID != os.Geteuid() {
		t.Errorf("uid %d, want %d", p.UID, os.Geteuid())
	}
	// The kernel's own report of the effective set, independently of
	// capget(2).
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	var eff uint64
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "CapEff:"); ok {
			if eff, err = strconv.ParseUint(strings.TrimSpace(v), 16, 64); err != nil {
				t.Fatalf("CapEff %q: %v", v, err)
			}
		}
	}
	if has := eff&(1<<unix.CAP_SYS_RESOURCE) != 0; p.CapSysResource != has {
		t.Errorf("CAP_SYS_RESOURCE %v, but CapEff is %x", p.CapSysResource, eff)
	}
	if p.Systemd != (os.Getenv("INVOCATION_ID") != "") {
		t.Errorf("under systemd %v with INVOCATION_ID=%q", p.Systemd, os.Getenv("INVOCATION_ID"))
	}
}

func TestRaiseNoFileGetrlimitFails(t *testing.T) {
	k := fakeKernel{getErr: unix.ENOSYS}
	got, err := k.ops().raiseNoFile(100)
	if err == nil || !errors.Is(err, unix.ENOSYS) || got != 0 {
		t.Fatalf("raiseNoFile = %d, %v; want 0 and an error wrapping ENOSYS", got, err)
	}
	if len(k.sets) != 0 {
		t.Errorf("setrlimit called %v after getrlimit failed", k.sets)
	}
}

func TestRaiseNoFileSoftRefused(t *testing.T) {
	// Not something Linux does, but the error must still say what happened.
	k := fakeKernel{soft: 1024, hard: 4096, nrOpen: 1 << 20}
	ops := k.ops()
	ops.set = func(*unix.Rlimit) error { return unix.EACCES }
	got, err := ops.raiseNoFile(2048)
	if got != 1024 || err == nil {
		t.Fatalf("raiseNoFile = %d, %v; want 1024 and an error", got, err)
	}
	for _, part := range []string{"to 2048", "soft limit is 1024", "hard limit 4096", "raising the soft limit failed", "permission denied"} {
		if !strings.Contains(err.Error(), part) {
			t.Errorf("error lacks %q:\n%v", part, err)
		}
	}
}

// TestRaiseNoFileRealNoOp asks the real kernel for what is already in force:
// nothing may change.
func TestRaiseNoFileRealNoOp(t *testing.T) {
	var before unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &before); err != nil {
		t.Fatal(err)
	}
	got, err := RaiseNoFile(before.Cur)
	if err != nil {
		t.Fatal(err)
	}
	if got != before.Cur {
		t.Errorf("RaiseNoFile(%d) = %d", before.Cur, got)
	}
	var after unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &after); err != nil {
		t.Fatal(err)
	}
	if after != before {
		t.Errorf("limits changed from %+v to %+v", before, after)
	}
}

func TestReadNrOpen(t *testing.T) {
	n, err := readNrOpen()
	if err != nil {
		t.Skipf("no /proc/sys/fs/nr_open: %v", err)
	}
	// The kernel's floor for fs.nr_open is BITS_PER_LONG.
	if n < 64 {
		t.Errorf("fs.nr_open = %s, implausibly low", strconv.FormatUint(n, 10))
	}
}

func TestSetNoFile(t *testing.T) {
	tests := []struct {
		name       string
		k          fakeKernel
		want       uint64
		soft, hard uint64 // afterwards
		sets       int
		errParts   []string
	}{
		{
			name: "already exact",
			k:    fakeKernel{soft: 5000, hard: 20000, nrOpen: 1 << 20},
			want: 5000, soft: 5000, hard: 20000,
		},
		{
			name: "lowered: ulimit-n is exact",
			k:    fakeKernel{soft: 20000, hard: 20000, nrOpen: 1 << 20},
			want: 3000, soft: 3000, hard: 20000, sets: 1,
		},
		{
			name: "raised within hard",
			k:    fakeKernel{soft: 1024, hard: 20000, nrOpen: 1 << 20},
			want: 8000, soft: 8000, hard: 20000, sets: 1,
		},
		{
			name: "hard raised as root",
			k:    fakeKernel{soft: 1024, hard: 20000, nrOpen: 1 << 20, root: true},
			want: 100000, soft: 100000, hard: 100000, sets: 1,
		},
		{
			name: "above hard without root",
			k:    fakeKernel{soft: 1024, hard: 20000, nrOpen: 1 << 20},
			want: 100000, soft: 1024, hard: 20000, sets: 1,
			errParts: []string{"to 100000", "hard limit 20000", "start fjord as root", "lower 'ulimit-n' to at most 20000"},
		},
		{
			name: "above fs.nr_open as root",
			k:    fakeKernel{soft: 1024, hard: 20000, nrOpen: 1 << 20, root: true},
			want: 2 << 20, soft: 1024, hard: 20000, sets: 1,
			errParts: []string{"fs.nr_open is 1048576", "sysctl -w fs.nr_open=2097152", "lower 'ulimit-n'"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k := tt.k
			err := k.ops().setNoFile(tt.want)
			if k.soft != tt.soft || k.hard != tt.hard {
				t.Errorf("limits afterwards soft=%d hard=%d, want soft=%d hard=%d", k.soft, k.hard, tt.soft, tt.hard)
			}
			if len(k.sets) != tt.sets {
				t.Errorf("%d setrlimit calls %v, want %d", len(k.sets), k.sets, tt.sets)
			}
			if tt.errParts == nil {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			var ne *NoFileError
			if !errors.As(err, &ne) || !ne.UlimitN {
				t.Fatalf("error %v is not a *NoFileError for ulimit-n", err)
			}
			for _, part := range tt.errParts {
				if !strings.Contains(err.Error(), part) {
					t.Errorf("error lacks %q:\n%v", part, err)
				}
			}
			if strings.Contains(err.Error(), "maxconn") {
				t.Errorf("ulimit-n error advises on maxconn:\n%v", err)
			}
		})
	}
}

func TestPipesNeeded(t *testing.T) {
	for _, tt := range []struct {
		n    FDNeeds
		want uint64
	}{
		{FDNeeds{MaxConn: 4096, Loops: 4}, 8192 + 4*256},
		{FDNeeds{MaxConn: 100, Loops: 8}, 200 + 8*16},
		{FDNeeds{MaxConn: 4096, Loops: 2, MaxPipes: 1024, PipePoolPerLoop: 16}, 1024 + 32},
	} {
		if got := PipesNeeded(tt.n); got != tt.want {
			t.Errorf("PipesNeeded(%+v) = %d, want %d", tt.n, got, tt.want)
		}
	}
}
