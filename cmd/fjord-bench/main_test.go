package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/fjordlb/fjord/bench/proc"
	"github.com/fjordlb/fjord/bench/report"
)

const mainEnv = "FJORD_BENCH_TEST_MAIN"

// binDir holds the real fjord-webnode, fjord-iocopy and fjord-tlsflood,
// built once.
var binDir string

func TestMain(m *testing.M) {
	if os.Getenv(mainEnv) != "" {
		main() // the test binary as fjord-bench, for the signal tests
		return
	}
	dir, err := os.MkdirTemp("", "fjord-bench-bin-")
	if err != nil {
		panic(err)
	}
	binDir = dir
	code := 1
	if err := build(dir); err != nil {
		fmt.Fprintln(os.Stderr, "building the test's programs:", err)
	} else {
		code = m.Run()
	}
	os.RemoveAll(dir)
	os.Exit(code)
}

func build(dir string) error {
	for _, b := range [][2]string{{"fjord-webnode", "../fjord-webnode"}, {"fjord-iocopy", "../../bench/cmd/iocopy"}, {"fjord-tlsflood", "../../bench/cmd/tlsflood"}} {
		if out, err := exec.Command("go", "build", "-o", filepath.Join(dir, b[0]), b[1]).CombinedOutput(); err != nil {
			return errors.New(string(out))
		}
	}
	return nil
}

// bench runs fjord-bench in this process.
func bench(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errw bytes.Buffer
	code := run(context.Background(), args, &out, &errw)
	return code, out.String(), errw.String()
}

// small is a run of every scenario that takes a few seconds.
func small(t *testing.T, out string) []string {
	return []string{"-bin", binDir, "-out", out, "-rounds", "2", "-warmup", "100ms", "-duration", "300ms",
		"-conns", "4", "-bulk", "4194304", "-large", "1048576", "-idle-conns", "40"}
}

func TestBadInput(t *testing.T) {
	for _, tt := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"-scenarios", "keepalive,warp"}, 2, `unknown scenario "warp"; known: keepalive, close, bulk, idle, latency`},
		{[]string{"-proxies", "haproxy"}, 2, `unknown proxy "haproxy"; known: all, direct, fjord-tcp`},
		{[]string{"-proxy-cpus", "3-1"}, 2, "-proxy-cpus"},
		{[]string{"-rounds", "0"}, 1, "-rounds 0"},
		{[]string{"extra"}, 2, `unexpected argument "extra"`},
		{[]string{"-rate", "5000,fast"}, 2, `invalid value "5000,fast" for flag -rate: "fast" is not a number`},
		{[]string{"-rate-fraction", "0.2,2"}, 1, "-rate-fraction 0.2,2: want fractions in (0, 1]"},
		{[]string{"-machine-cpus", "1-0"}, 2, "-machine-cpus: CPU list"},
		{[]string{"-repeat-latency", "5", "-rounds", "3"}, 2, "-repeat-latency sets -rounds; give one or the other"},
		{[]string{"-repeat-latency", "5", "-scenarios", "keepalive"}, 2, "-repeat-latency sets -scenarios"},
		{[]string{"-repeat-latency", "-1"}, 2, "-repeat-latency -1: want at least 1 round"},
		{[]string{"-bin", "/nonexistent", "-out", "", "-proxies", "iocopy"}, 1, "make bench builds it"},
	} {
		if n := len(tt.args); n >= 2 && tt.args[n-2] == "-out" {
			tt.args[len(tt.args)-1] = t.TempDir()
		}
		code, _, errs := bench(t, tt.args...)
		if code != tt.code || !strings.Contains(errs, tt.want) {
			t.Errorf("fjord-bench %v: exit %d, %q; want exit %d and %q", tt.args, code, errs, tt.code, tt.want)
		}
	}
}

func TestPortInUse(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	// The web nodes take the base port and the next one.
	base := ln.Addr().(*net.TCPAddr).Port - 1
	code, _, errs := bench(t, append(small(t, t.TempDir()), "-port-base", fmt.Sprint(base), "-proxies", "iocopy", "-scenarios", "keepalive")...)
	// web2's port is the one held (web1's may be taken by chance too).
	if code != 1 || !strings.Contains(errs, "is in use") || !strings.Contains(errs, "stop what holds it or choose another -port-base") {
		t.Errorf("exit %d, %q; want the port named", code, errs)
	}
}

// TestProxyFailsToStart: a fjord that exits at once is an error that shows
// its log, and the run leaves no process behind.
func TestProxyFailsToStart(t *testing.T) {
	bin := t.TempDir()
	for _, f := range []string{"fjord-webnode", "fjord-iocopy"} {
		if err := os.Symlink(filepath.Join(binDir, f), filepath.Join(bin, f)); err != nil {
			t.Fatal(err)
		}
	}
	script := "#!/bin/sh\necho \"[ALERT] parsing [$2:4] : the test's fjord refuses to start\" >&2\nexit 1\n"
	if err := os.WriteFile(filepath.Join(bin, "fjord"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	before := children(t)
	args := small(t, t.TempDir())
	args[1] = bin
	code, _, errs := bench(t, append(args, "-proxies", "fjord-tcp", "-scenarios", "keepalive")...)
	if code != 1 || !strings.Contains(errs, "fjord-tcp: exited while starting") || !strings.Contains(errs, "the test's fjord refuses to start") {
		t.Errorf("exit %d, %q; want fjord-tcp's failure and its log", code, errs)
	}
	waitNoNewChildren(t, before)
}

// TestSmallRun runs every scenario with io.Copy and direct (fjord, HAProxy
// and nginx are the peers package's tests' business) and checks every
// output.
func TestSmallRun(t *testing.T) {
	out := t.TempDir()
	doc := filepath.Join(t.TempDir(), "benchmarks.md")
	if err := os.WriteFile(doc, []byte("# Benchmarks\n\nkept\n\n"+docBegin+"\nold\n"+docEnd+"\n\nkept too\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, errs := bench(t, append(small(t, out), "-proxies", "iocopy", "-doc", doc)...)
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, errs)
	}
	for _, want := range []string{"### Keep-alive", "### One connection per request", "### Bulk", "### Idle", "% of the slowest maximum), open loop", "| direct |", "| iocopy |",
		"| machine µs/req | machine above direct µs/req |", "| machine s/GB | machine above direct s/GB |", "| added p50 µs | added p99 µs | added p99.9 µs |"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("the table has no %q:\n%s", want, stdout)
		}
	}
	// The progress: one line per round and peer.
	if n := strings.Count(errs, "] keepalive round"); n != 4 {
		t.Errorf("%d keep-alive progress lines, want 4 (2 rounds, 2 peers):\n%s", n, errs)
	}
	md, err := os.ReadFile(filepath.Join(out, "results.md"))
	if err != nil || string(md) != stdout {
		t.Errorf("results.md differs from stdout (%v)", err)
	}
	var res report.Results
	data, err := os.ReadFile(filepath.Join(out, "results.json"))
	if err == nil {
		err = json.Unmarshal(data, &res)
	}
	if err != nil {
		t.Fatal(err)
	}
	// The latency scenario is two tables: at 20% and at 50% of the
	// slowest maximum.
	if len(res.Scenarios) != 6 || res.Scenarios[4].Key() != "latency-20pct" || res.Scenarios[5].Key() != "latency-50pct" {
		t.Fatalf("%d scenarios in the JSON, want keepalive, close, bulk, idle and latency twice", len(res.Scenarios))
	}
	for _, s := range res.Scenarios {
		io := s.Find("iocopy")
		if io == nil || len(io.Rounds) != 2 {
			t.Errorf("%s: iocopy row %+v, want 2 rounds", s.Name, io)
			continue
		}
		want := map[report.Kind]string{report.Requests: report.CPUPerReq, report.Bulk: report.CPUPerGB, report.Idle: report.RSSPerConn}[s.Kind]
		if _, ok := io.Median[want]; !ok {
			t.Errorf("%s: iocopy has no %s: %v", s.Name, want, io.Median)
		}
		if s.Kind == report.Idle && io.Median[report.Held] != 40 {
			t.Errorf("idle: iocopy held %v, want 40", io.Median[report.Held])
		}
		// The whole machine's CPU, for direct too, and iocopy's above
		// direct's in each round (whatever its sign on a busy machine).
		machine := map[report.Kind][2]string{report.Requests: {report.MachinePerReq, report.MachineAboveDirect}, report.Bulk: {report.MachinePerGB, report.MachineGBAboveDirect}}[s.Kind]
		if machine[0] != "" {
			d := s.Find("direct")
			// /proc/stat counts in 10 ms ticks: the test's 4 MiB bulk
			// transfer may end between two, and read 0 busy time.
			if v, ok := d.Median[machine[0]]; !ok || v < 0 || (v == 0 && s.Kind != report.Bulk) {
				t.Errorf("%s: direct's %s is %v (%v)", s.Name, machine[0], v, ok)
			}
			if _, ok := io.Median[machine[1]]; !ok || len(io.RoundNumbers) != 2 {
				t.Errorf("%s: iocopy has no %s: %v, rounds %v", s.Name, machine[1], io.Median, io.RoundNumbers)
			}
		}
		if s.Name == "latency" {
			if _, ok := io.Median[report.AddedP50]; !ok || s.Rate <= 0 {
				t.Errorf("%s: no latency added at rate %v: %v", s.Key(), s.Rate, io.Median)
			}
			if v := io.Median[report.OnSchedule]; v <= 0 {
				t.Errorf("%s: answered ÷ due %v", s.Key(), v)
			}
		}
	}
	for _, n := range []string{"latency-keepalive", "latency-close", "latency-latency-20pct", "latency-latency-50pct", "latency-added-latency-50pct", "cpu-per-request", "machine-cpu-per-request"} {
		for _, ext := range []string{".png", ".svg"} {
			if _, err := os.Stat(filepath.Join(out, n+ext)); err != nil {
				t.Error(err)
			}
			if _, err := os.Stat(filepath.Join(filepath.Dir(doc), "img", "bench-"+n+ext)); err != nil {
				t.Error(err)
			}
		}
	}
	text, _ := os.ReadFile(doc)
	if s := string(text); !strings.Contains(s, "kept\n") || !strings.Contains(s, "kept too") || strings.Contains(s, "old\n") ||
		!strings.Contains(s, "| iocopy |") || !strings.Contains(s, "![cpu-per-request](img/bench-cpu-per-request.svg)") {
		t.Errorf("-doc wrote:\n%s", s)
	}
}

// TestNoOrphansOnSignal runs fjord-bench as a process, stops it with
// SIGINT (Ctrl-C) or SIGTERM in the middle of a round, and checks that
// every process it started has gone.
func TestNoOrphansOnSignal(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			args := append(small(t, t.TempDir()), "-proxies", "iocopy", "-scenarios", "keepalive", "-duration", "60s")
			cmd := exec.Command(os.Args[0], args...)
			cmd.Env = append(os.Environ(), mainEnv+"=1")
			stderr, err := cmd.StderrPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer cmd.Process.Kill()
			// direct's round comes first and lasts a minute: signal
			// fjord-bench in the middle of it, once the anchor and the
			// web nodes run and the load has begun.
			var tree []int
			for deadline := time.Now().Add(20 * time.Second); len(tree) < 3 && time.Now().Before(deadline); {
				tree, _ = proc.Tree(cmd.Process.Pid)
				time.Sleep(20 * time.Millisecond)
			}
			if len(tree) < 3 {
				t.Fatalf("fjord-bench runs %v, want itself, the anchor and the web nodes", tree)
			}
			time.Sleep(500 * time.Millisecond)
			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			var rest bytes.Buffer
			sc := bufio.NewScanner(stderr)
			for sc.Scan() {
				rest.WriteString(sc.Text() + "\n")
			}
			err = cmd.Wait()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != 130 || !strings.Contains(rest.String(), "interrupted") {
				t.Errorf("ended with %v, %q; want exit 130 and a line saying it was interrupted", err, rest.String())
			}
			for _, pid := range tree[1:] {
				for deadline := time.Now().Add(5 * time.Second); proc.Alive(pid); time.Sleep(10 * time.Millisecond) {
					if time.Now().After(deadline) {
						t.Errorf("process %d outlived fjord-bench", pid)
						break
					}
				}
			}
		})
	}
}

// children is this process's descendants now.
func children(t *testing.T) map[int]bool {
	t.Helper()
	tree, err := proc.Tree(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	m := map[int]bool{}
	for _, p := range tree[1:] {
		m[p] = true
	}
	return m
}

func waitNoNewChildren(t *testing.T, before map[int]bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		var extra []int
		for p := range children(t) {
			if !before[p] && proc.Alive(p) {
				extra = append(extra, p)
			}
		}
		if len(extra) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("processes %v were left running", extra)
		}
	}
}

// TestRepeatLatencyFlags: -repeat-latency is the latency scenario alone,
// N rounds, every round shown, through fjord-tcp unless -proxies says.
func TestRepeatLatencyFlags(t *testing.T) {
	for _, tt := range []struct {
		args    []string
		proxies []string
	}{
		{[]string{"-repeat-latency", "4"}, []string{"fjord-tcp"}},
		{[]string{"-quick", "-repeat-latency", "4", "-proxies", "fjord-tcp,haproxy-tcp", "-rate-fraction", "0.5"}, []string{"fjord-tcp", "haproxy-tcp"}},
	} {
		f, err := parse(tt.args, io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		o := f.opts
		if !slices.Equal(o.Scenarios, []string{"latency"}) || o.Rounds != 4 || !o.PerRound || !slices.Equal(o.Peers, tt.proxies) {
			t.Errorf("%v: scenarios %v, rounds %d, per round %v, proxies %v", tt.args, o.Scenarios, o.Rounds, o.PerRound, o.Peers)
		}
	}
	f, err := parse([]string{"-rate", "2000,5000", "-machine-cpus", "0"}, io.Discard)
	if err != nil || !slices.Equal(f.opts.Rates, []float64{2000, 5000}) || f.opts.MachineCPUs.String() != "0" {
		t.Errorf("-rate 2000,5000 -machine-cpus 0: %+v, %v", f, err)
	}
	if f, err := parse([]string{"-rate", "0"}, io.Discard); err != nil || f.opts.Rates != nil {
		t.Errorf("-rate 0 is the fractions, as it was: %v, %v", f.opts.Rates, err)
	}
}

// TestRepeatLatencyRun: every round of every peer in a table of its own,
// and each round paired with direct's.
func TestRepeatLatencyRun(t *testing.T) {
	out := t.TempDir()
	code, stdout, errs := bench(t, "-bin", binDir, "-out", out, "-warmup", "100ms", "-duration", "300ms", "-conns", "4",
		"-repeat-latency", "3", "-proxies", "iocopy", "-rate", "500")
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, errs)
	}
	if n := strings.Count(errs, "] latency   round"); n != 6 {
		t.Errorf("%d progress lines, want 6 (3 rounds, 2 peers):\n%s", n, errs)
	}
	if !strings.Contains(stdout, "### Latency at a fixed 500 req/s, open loop") || !strings.Contains(stdout, "Every round of Latency at a fixed 500 req/s, open loop:") {
		t.Fatalf("no table of every round:\n%s", stdout)
	}
	for _, want := range []string{"| 1 | direct | ", "| 1 | iocopy | ", "| 3 | direct | ", "| 3 | iocopy | "} {
		if !strings.Contains(stdout, want) {
			t.Errorf("no %q in:\n%s", want, stdout)
		}
	}
	var res report.Results
	data, err := os.ReadFile(filepath.Join(out, "results.json"))
	if err == nil {
		err = json.Unmarshal(data, &res)
	}
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Scenarios) != 1 || !res.Scenarios[0].PerRound || res.Scenarios[0].Rate != 500 {
		t.Fatalf("scenarios %+v", res.Scenarios)
	}
	ioc := res.Scenarios[0].Find("iocopy")
	for i, m := range ioc.Rounds {
		if _, ok := m[report.AddedP50]; !ok || ioc.RoundNumbers[i] != i+1 {
			t.Errorf("round %d (%v): no latency added over direct's round: %v", i+1, ioc.RoundNumbers, m)
		}
	}
}
