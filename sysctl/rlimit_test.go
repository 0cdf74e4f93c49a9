package sysctl

import (
	"errors"
	"math"
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
				"as root", "ulimit -n 26671", "LimitNOFILE=26671",
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
				"as root", "ulimit -n 26671", "lower 'maxconn'", "'ulimit-n'",
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
			errParts: []string{"to 100000", "hard limit 20000", "as root", "lower 'ulimit-n' to at most 20000"},
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
