package main

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestDaemonModeWithPIDFile(t *testing.T) {
	be := startBackend(t, 0)
	dir := t.TempDir()
	fe := freeAddr(t)
	cfg := httpConfig(t, dir, fe, be.addr, "")
	pidFile := filepath.Join(dir, "fjord.pid")

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := fjordCmd(t, "-D", "-p", pidFile, "-f", cfg)
	cmd = withContext(ctx, cmd)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("fjord -D: %v\n%s", err, out)
	}
	pid := readPID(t, pidFile)
	killAtEnd(t, pid)
	if pid == cmd.Process.Pid {
		t.Fatalf("the pidfile holds the starting process %d, not the daemon", pid)
	}
	if !alive(pid) {
		t.Fatalf("daemon %d does not run", pid)
	}
	// What the daemon printed while starting reached the terminal; then
	// nothing more: there is no log target.
	for _, want := range []string{"listening on " + fe, "no 'log' target"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("output of fjord -D lacks %q:\n%s", want, out)
		}
	}
	if sid, _ := unix.Getsid(pid); sid != pid {
		t.Errorf("daemon %d is not a session leader (sid %d)", pid, sid)
	}
	for fd, want := range map[int]string{0: "/dev/null", 1: "/dev/null", 2: "/dev/null"} {
		if got, _ := os.Readlink(filepath.Join("/proc", itoa(pid), "fd", itoa(fd))); got != want {
			t.Errorf("daemon fd %d is %q, want %s", fd, got, want)
		}
	}
	if err := get(&http.Client{Timeout: 5 * time.Second}, "http://"+fe+"/", "ok"); err != nil {
		t.Fatal(err)
	}
	syscall.Kill(pid, syscall.SIGTERM)
	waitExit(t, pid, 10*time.Second)
	if _, err := os.Stat(pidFile); !os.IsNotExist(err) {
		t.Errorf("pidfile left after the daemon stopped: %v", err)
	}
}

func TestDaemonModeReportsStartupFailure(t *testing.T) {
	busy := freeAddr(t)
	ln := listenOn(t, busy)
	defer ln.Close()
	dir := t.TempDir()
	// 'daemon' in the configuration instead of -D this time.
	cfg := httpConfig(t, dir, busy, "127.0.0.1:9", "  daemon")
	pidFile := filepath.Join(dir, "fjord.pid")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := withContext(ctx, fjordCmd(t, "-p", pidFile, "-f", cfg)).CombinedOutput()
	if err == nil {
		t.Fatalf("fjord -D on a busy address exited 0:\n%s", out)
	}
	if code := err.(interface{ ExitCode() int }).ExitCode(); code != 1 {
		t.Errorf("exit code %d, want 1", code)
	}
	for _, want := range []string{"[ALERT]", busy, "fjord.cfg:11", "failed to start"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if _, err := os.Stat(pidFile); !os.IsNotExist(err) {
		t.Errorf("a failed daemon left a pidfile: %v", err)
	}
}

func TestForegroundFlagOverridesDaemon(t *testing.T) {
	be := startBackend(t, 0)
	dir := t.TempDir()
	fe := freeAddr(t)
	cfg := httpConfig(t, dir, fe, be.addr, "  daemon")
	fp := startFjord(t, nil, "-db", "-D", "-f", cfg)
	pl := fp.log
	pl.wait(t, 0, "listening on", 10*time.Second)
	if err := get(&http.Client{Timeout: 5 * time.Second}, "http://"+fe+"/", "ok"); err != nil {
		t.Fatal(err)
	}
	if !alive(fp.pid()) {
		t.Fatal("fjord -db -D went to the background")
	}
	if strings.Contains(pl.String(), "no 'log' target") {
		t.Errorf("a foreground fjord warns about daemon logging:\n%s", pl)
	}
}

func TestPIDLists(t *testing.T) {
	for _, tc := range []struct {
		args       []string
		rest       []string
		soft, hard []int
		err        string
	}{
		{args: []string{"-f", "x", "-sf", "12", "34"}, rest: []string{"-f", "x"}, soft: []int{12, 34}},
		{args: []string{"-sf", "-f", "x"}, rest: []string{"-f", "x"}},
		{args: []string{"-st", "7", "-f", "x", "-sf", "8"}, rest: []string{"-f", "x"}, soft: []int{8}, hard: []int{7}},
		{args: []string{"-f", "x", "-sf", "12x"}, err: `-sf: "12x" is not a process id`},
		{args: []string{"-sf", "0"}, err: `-sf: "0" is not a process id`},
	} {
		o := &options{}
		rest, err := o.takePIDLists(tc.args)
		if tc.err != "" {
			if err == nil || err.Error() != tc.err {
				t.Errorf("%q: error %v, want %q", tc.args, err, tc.err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(rest, tc.rest) || !reflect.DeepEqual(o.softFinish, tc.soft) || !reflect.DeepEqual(o.hardFinish, tc.hard) {
			t.Errorf("%q: rest %q soft %v hard %v err %v", tc.args, rest, o.softFinish, o.hardFinish, err)
		}
	}
}

func TestPIDFileRemovedOnlyWhenOurs(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.pid")
	if err := writePIDFile(path, 42); err != nil {
		t.Fatal(err)
	}
	removePIDFile(path, 43)
	if readPID(t, path) != 42 {
		t.Fatal("another process's pidfile was touched")
	}
	removePIDFile(path, 42)
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatal("own pidfile not removed")
	}
	if err := writePIDFile(filepath.Join(t.TempDir(), "no", "such", "dir.pid"), 1); err == nil || !strings.Contains(err.Error(), "pidfile") {
		t.Fatalf("pidfile in a missing directory: %v", err)
	}
}

// TestDaemonLogsGoToTheTargets: a daemon's stderr is /dev/null, so its
// operational messages (here the SIGUSR1 soft stop) and events must reach
// the configured log target instead.
func TestDaemonLogsGoToTheTargets(t *testing.T) {
	be := startBackend(t, 0)
	dir := t.TempDir()
	fe := freeAddr(t)
	logFile := filepath.Join(dir, "fjord.log")
	cfg := httpConfig(t, dir, fe, be.addr, "  log "+logFile)
	pidFile := filepath.Join(dir, "fjord.pid")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := withContext(ctx, fjordCmd(t, "-D", "-p", pidFile, "-f", cfg)).CombinedOutput()
	if err != nil {
		t.Fatalf("fjord -D: %v\n%s", err, out)
	}
	if strings.Contains(string(out), "no 'log' target") {
		t.Errorf("warned of no log target although one is configured:\n%s", out)
	}
	pid := readPID(t, pidFile)
	killAtEnd(t, pid)
	syscall.Kill(pid, syscall.SIGUSR1)
	waitExit(t, pid, 10*time.Second)
	text, _ := os.ReadFile(logFile)
	for _, want := range []string{"Proxy px started.", "listening on " + fe, "received SIGUSR1", "Proxy px stopped"} {
		if !strings.Contains(string(text), want) {
			t.Errorf("the log file lacks %q:\n%s", want, text)
		}
	}
}
