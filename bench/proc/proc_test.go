package proc

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestParseCPUSet(t *testing.T) {
	for _, tt := range []struct {
		in, want string
		err      bool
	}{
		{"", "", false},
		{"0", "0", false},
		{"0-3", "0-3", false},
		{"3,1,2,2", "1-3", false},
		{" 0-1 , 5,7-8", "0-1,5,7-8", false},
		{"3-1", "", true},
		{"a", "", true},
		{"-1", "", true},
		{"0-", "", true},
		{"1024", "", true},
	} {
		s, err := ParseCPUSet(tt.in)
		if (err != nil) != tt.err || (err == nil && s.String() != tt.want) {
			t.Errorf("ParseCPUSet(%q) = %v, %v; want %q, error %v", tt.in, s, err, tt.want, tt.err)
		}
	}
}

func FuzzParseCPUSet(f *testing.F) {
	for _, s := range []string{"0", "0-3,5", "1,2,3", "7-7", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		s, err := ParseCPUSet(in)
		if err != nil {
			return
		}
		back, err := ParseCPUSet(s.String())
		if err != nil || back.String() != s.String() {
			t.Fatalf("%q -> %q -> %q, %v", in, s, back, err)
		}
	})
}

func TestParseStat(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want Stat
		err  bool
	}{
		{"42 (nginx) S 1 40 40 0", Stat{Comm: "nginx", State: 'S', PPid: 1, PGrp: 40}, false},
		{"7 (a b) (c)) R 3 7 7", Stat{Comm: "a b) (c)", State: 'R', PPid: 3, PGrp: 7}, false},
		{"7 (x) Z", Stat{}, true},
		{"7 x S 1 2", Stat{}, true},
		{"7 (x) S one 2", Stat{}, true},
	} {
		got, err := ParseStat([]byte(tt.in))
		if (err != nil) != tt.err || got != tt.want {
			t.Errorf("ParseStat(%q) = %+v, %v; want %+v, error %v", tt.in, got, err, tt.want, tt.err)
		}
	}
}

func FuzzParseStat(f *testing.F) {
	f.Add([]byte("42 (nginx: worker) S 1 40 40 0 -1"))
	f.Fuzz(func(t *testing.T, in []byte) {
		st, err := ParseStat(in)
		if err == nil && !strings.Contains(string(in), st.Comm) {
			t.Fatalf("comm %q is not in the input", st.Comm)
		}
	})
}

func TestParseSchedstat(t *testing.T) {
	for in, want := range map[string]time.Duration{"123456 789 10\n": 123456, "0 0 0": 0} {
		got, err := ParseSchedstat([]byte(in))
		if err != nil || got != want {
			t.Errorf("ParseSchedstat(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "x 1 2", "-5 1 2"} {
		if _, err := ParseSchedstat([]byte(in)); err == nil {
			t.Errorf("ParseSchedstat(%q): no error", in)
		}
	}
}

// TestSampleFakeProc reads a fake /proc: a master with two workers, one
// of them with two threads, and an unrelated process.
func TestSampleFakeProc(t *testing.T) {
	root := t.TempDir()
	write := func(path, data string) {
		t.Helper()
		if err := os.MkdirAll(root+"/"+path[:strings.LastIndexByte(path, '/')], 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(root+"/"+path, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	proc := func(pid, ppid int, rssKB int, threads map[int]int64, fds int) {
		write(fmt.Sprintf("%d/stat", pid), fmt.Sprintf("%d (p %d) S %d 10 10 0", pid, pid, ppid))
		write(fmt.Sprintf("%d/status", pid), fmt.Sprintf("Name:\tp\nVmRSS:\t  %d kB\nThreads:\t%d\n", rssKB, len(threads)))
		for tid, ns := range threads {
			write(fmt.Sprintf("%d/task/%d/schedstat", pid, tid), fmt.Sprintf("%d 0 0\n", ns))
		}
		for i := range fds {
			write(fmt.Sprintf("%d/fd/%d", pid, i), "")
		}
	}
	proc(10, 1, 1000, map[int]int64{10: 5e6}, 3)
	proc(11, 10, 2000, map[int]int64{11: 1e6, 12: 2e6}, 4)
	proc(13, 10, 3000, map[int]int64{13: 4e6}, 5)
	proc(20, 1, 9999, map[int]int64{20: 9e9}, 9)
	old := procRoot
	procRoot = root
	defer func() { procRoot = old }()

	u, err := Sample(10)
	if err != nil {
		t.Fatal(err)
	}
	want := Usage{Pids: 3, CPU: 12 * time.Millisecond, RSS: 6000 << 10, FDs: 12}
	if u != want {
		t.Errorf("Sample = %+v, want %+v", u, want)
	}
	if _, err := Sample(99); err == nil {
		t.Error("Sample of a missing process: no error")
	}
}

func TestSampleSelf(t *testing.T) {
	u, err := Sample(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if u.CPU <= 0 || u.RSS <= 0 || u.FDs < 3 {
		t.Errorf("this process: %+v", u)
	}
}

func startSleeper(t *testing.T, g *Group, cpus CPUSet) *Proc {
	t.Helper()
	p, err := g.Start(Spec{Name: "sleeper", Argv: []string{"/bin/sh", "-c", "sleep 100 & sleep 100 & wait"}, CPUs: cpus})
	if err != nil {
		t.Fatal(err)
	}
	// Until both sleeps run.
	for deadline := time.Now().Add(5 * time.Second); ; {
		if tree, _ := Tree(p.Pid()); len(tree) == 3 {
			return p
		}
		if time.Now().After(deadline) {
			t.Fatal("the shell's children did not start")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestGroupPinsAndKillsEverything(t *testing.T) {
	g, err := NewGroup()
	if err != nil {
		t.Fatal(err)
	}
	all, err := Allowed()
	if err != nil {
		t.Fatal(err)
	}
	one := all[len(all)-1:]
	p := startSleeper(t, g, one)
	q := startSleeper(t, g, nil)
	tree, _ := Tree(p.Pid())
	tree2, _ := Tree(q.Pid())
	for _, pid := range tree {
		if cpus, err := CPUsOf(pid); err != nil || cpus.String() != one.String() {
			t.Errorf("process %d runs on %v (%v), want %v", pid, cpus, err, one)
		}
		if st := stat(t, pid); st.PGrp != g.Pgid() {
			t.Errorf("process %d is in group %d, want %d", pid, st.PGrp, g.Pgid())
		}
	}
	if cpus, _ := CPUsOf(os.Getpid()); cpus.String() != all.String() {
		t.Errorf("the harness itself now runs on %v, want %v back", cpus, all)
	}
	g.Close(2 * time.Second)
	for _, pid := range append(append(tree, tree2...), g.Pgid()) {
		waitGone(t, pid)
	}
	if _, err := g.Start(Spec{Argv: []string{"true"}}); err == nil {
		t.Error("Start after Close: no error")
	}
}

func TestStopKillsTree(t *testing.T) {
	g, err := NewGroup()
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close(time.Second)
	p := startSleeper(t, g, nil)
	tree, _ := Tree(p.Pid())
	p.Stop(time.Second)
	for _, pid := range tree {
		waitGone(t, pid)
	}
}

func stat(t *testing.T, pid int) Stat {
	t.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatal(err)
	}
	st, err := ParseStat(data)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// waitGone waits (5 s at most) until pid has ended; a grandchild is reaped
// by init, which may take a moment.
func waitGone(t *testing.T, pid int) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); Alive(pid); {
		if time.Now().After(deadline) {
			t.Errorf("process %d still runs", pid)
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}

const helperEnv = "FJORD_PROC_TEST_HELPER"

// TestHelperHarness is not a test: run with helperEnv set, it is a harness
// that starts two sleepers (with children), prints their process trees,
// and closes its group when SIGINT or SIGTERM comes, as fjord-bench does.
func TestHelperHarness(t *testing.T) {
	if os.Getenv(helperEnv) == "" {
		t.Skip("helper process")
	}
	g, err := NewGroup()
	if err != nil {
		t.Fatal(err)
	}
	sig := make(chan os.Signal, 1)
	signalNotify(sig)
	var pids []string
	for range 2 {
		p := startSleeper(t, g, nil)
		tree, _ := Tree(p.Pid())
		for _, pid := range tree {
			pids = append(pids, strconv.Itoa(pid))
		}
	}
	pids = append(pids, strconv.Itoa(g.Pgid()))
	fmt.Println("PIDS", strings.Join(pids, " "))
	<-sig
	g.Close(2 * time.Second)
	os.Exit(0)
}

// TestNoOrphansOnSignal runs the helper harness, sends it SIGINT (Ctrl-C)
// or SIGTERM, and checks that every process it started has ended.
func TestNoOrphansOnSignal(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^TestHelperHarness$", "-test.count=1")
			cmd.Env = append(os.Environ(), helperEnv+"=1")
			out, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer cmd.Process.Kill()
			var pids []int
			sc := bufio.NewScanner(out)
			for sc.Scan() {
				if rest, ok := strings.CutPrefix(sc.Text(), "PIDS "); ok {
					for _, f := range strings.Fields(rest) {
						n, _ := strconv.Atoi(f)
						pids = append(pids, n)
					}
					break
				}
			}
			if len(pids) != 7 {
				t.Fatalf("helper printed %v, want 7 processes (2 shells with 2 children each, and the anchor)", pids)
			}
			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				t.Fatal("the helper did not end within 10 s of the signal")
			}
			for _, pid := range pids {
				waitGone(t, pid)
			}
		})
	}
}

// TestChildrenDieWithHarness: even a harness killed with SIGKILL, which
// cannot close its group, leaves no direct child behind (PDEATHSIG).
func TestChildrenDieWithHarness(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperHarness$", "-test.count=1")
	cmd.Env = append(os.Environ(), helperEnv+"=1")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(out)
	var line string
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "PIDS ") {
			line = sc.Text()
			break
		}
	}
	f := strings.Fields(line)
	if len(f) != 8 {
		t.Fatalf("helper printed %q", line)
	}
	cmd.Process.Kill()
	cmd.Wait()
	// The shells (first of each tree of three) and the anchor are the
	// harness's own children.
	for _, s := range []string{f[1], f[4], f[7]} {
		pid, _ := strconv.Atoi(s)
		waitGone(t, pid)
	}
	// Their children, orphaned, still hold the group: clean up.
	pgid, _ := strconv.Atoi(f[7])
	syscall.Kill(-pgid, syscall.SIGKILL)
}

func FuzzParseSchedstat(f *testing.F) {
	f.Add([]byte("123456 789 10\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		if d, err := ParseSchedstat(in); err == nil && d < 0 {
			t.Fatalf("negative run time %v from %q", d, in)
		}
	})
}
