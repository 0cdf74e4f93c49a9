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

// procStat is /proc/stat of a 2-CPU machine; cpu is the sum of cpu0 and
// cpu1, as the kernel writes it. guest (the 9th field) is already in
// user and must not count twice.
const procStat = `cpu  300 20 100 5000 40 3 7 50 90 0
cpu0 100 10 60 2500 20 1 2 25 90 0
cpu1 200 10 40 2500 20 2 5 25 0 0
intr 173684364 0 0 0 0 0 0 0
ctxt 98765
btime 1700000000
`

func TestParseProcStat(t *testing.T) {
	for _, tt := range []struct {
		name    string
		data    string
		cpus    CPUSet
		want    Machine
		wantErr string
	}{
		// busy = user + nice + system + irq + softirq + steal, in ticks
		// tasks = user + nice + system
		{"all CPUs", procStat, nil, Machine{Busy: 300 + 20 + 100 + 3 + 7 + 50, Tasks: 420, Total: 480 + 5000 + 40, Steal: 50}, ""},
		{"one CPU", procStat, CPUSet{1}, Machine{Busy: 200 + 10 + 40 + 2 + 5 + 25, Tasks: 250, Total: 282 + 2500 + 20, Steal: 25}, ""},
		{"the two CPUs are the whole", procStat, CPUSet{0, 1}, Machine{Busy: 480, Tasks: 420, Total: 5520, Steal: 50}, ""},
		{"a CPU the machine has not", procStat, CPUSet{1, 4}, Machine{}, "CPUs 1,4: only 1 of them have a line"},
		{"no cpu line", "intr 1 2\n", nil, Machine{}, `no "cpu" line`},
		{"an old kernel's short line", "cpu 1 2 3 4\n", nil, Machine{}, "cpu: 4 fields, want at least 8"},
		{"a field that is no number", "cpu 1 2 x 4 5 6 7 8\n", nil, Machine{}, `cpu: field 3 "x" is not a count of ticks`},
		{"a negative field", "cpu 1 2 3 4 5 6 7 -8\n", nil, Machine{}, `field 8 "-8"`},
		{"a counter beyond any machine's", "cpu 1 2 3 4 5 6 7 9223372036854775807\n", nil, Machine{}, `field 8 "9223372036854775807"`},
		{"only cpuN lines name a CPU", "cpu+1 9 9 9 9 9 9 9 9\ncpu1 1 1 1 1 1 1 1 1\n", CPUSet{1}, Machine{Busy: 6, Tasks: 3, Total: 8, Steal: 1}, ""},
		{"a CPU twice", procStat + "cpu1 1 1 1 1 1 1 1 1\n", CPUSet{0, 1}, Machine{}, `two "cpu1" lines`},
		{"a long intr line", "cpu 1 1 1 1 1 1 1 1\nintr" + strings.Repeat(" 0", 100000) + "\n", nil, Machine{Busy: 6, Tasks: 3, Total: 8, Steal: 1}, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseProcStat([]byte(tt.data), tt.cpus)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("= %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}

func TestMachineSubAndShare(t *testing.T) {
	a := Machine{Busy: 300, Tasks: 200, Total: 1000, Steal: 10}
	b := Machine{Busy: 450, Tasks: 300, Total: 1200, Steal: 22}
	d := b.Sub(a)
	if d != (Machine{Busy: 150, Tasks: 100, Total: 200, Steal: 12}) || d.Share() != 0.75 || d.StealTime() != 120*time.Millisecond {
		t.Errorf("Sub = %+v, share %v; want 150 (100 tasks) of 200 ticks, 0.75", d, d.Share())
	}
	if d.BusyTime() != 1500*time.Millisecond || d.TasksTime() != time.Second || d.TotalTime() != 2*time.Second {
		t.Errorf("times %v, %v, %v; want 1.5 s, 1 s, 2 s", d.BusyTime(), d.TasksTime(), d.TotalTime())
	}
	if (Machine{}).Share() != 0 {
		t.Error("no time passed: a share that is not 0")
	}
}

// TestReadMachine reads this machine's /proc/stat: the whole is at least
// any one CPU, and busy never exceeds total.
func TestReadMachine(t *testing.T) {
	all, err := ReadMachine(nil)
	if err != nil {
		t.Fatal(err)
	}
	cpus, err := Allowed()
	if err != nil {
		t.Fatal(err)
	}
	one, err := ReadMachine(cpus[:1])
	if err != nil {
		t.Fatal(err)
	}
	if all.Busy > all.Total || one.Busy > one.Total || one.Total > all.Total || all.Total <= 0 {
		t.Errorf("all CPUs %+v, CPU %d %+v", all, cpus[0], one)
	}
	if _, err := ReadMachine(CPUSet{1023}); err == nil || !strings.Contains(err.Error(), "/stat: CPUs 1023") {
		t.Errorf("a CPU this machine has not: %v", err)
	}
}

// FuzzParseProcStat: whatever /proc/stat holds, the parser returns an
// error or a reading whose tasks' time is within its busy time, and that
// within its total, and never panics.
func FuzzParseProcStat(f *testing.F) {
	f.Add([]byte(procStat), "")
	f.Add([]byte(procStat), "0")
	f.Add([]byte("cpu 1 2 3 4 5 6 7 8 9 10\ncpu0"), "0-1")
	f.Add([]byte("cpu\ncpux 1\ncpu-1 1 1 1 1 1 1 1 1"), "1")
	f.Fuzz(func(t *testing.T, data []byte, cpus string) {
		set, err := ParseCPUSet(cpus)
		if err != nil {
			return
		}
		m, err := ParseProcStat(data, set)
		if err == nil && (m.Tasks < 0 || m.Tasks > m.Busy || m.Busy > m.Total) {
			t.Errorf("ParseProcStat(%q, %s) = %+v: busy outside [0, total]", data, set, m)
		}
	})
}
