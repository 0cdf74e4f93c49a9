package main

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/fjordlb/fjord/config"
	"github.com/fjordlb/fjord/sysctl"
)

// Every fjord these tests start, in-process or as a child, tunes a tree
// that does not exist unless the test points it at a fake one: the tests
// run as root, and the host's kernel settings are not theirs to change.
func init() {
	if os.Getenv(sysctlRootEnv) == "" {
		os.Setenv(sysctlRootEnv, "/nonexistent/fjord-tests-never-tune-the-host")
	}
}

// hostLike is a fake /proc/sys that needs most of fjord's profile.
var hostLike = map[string]string{
	"fs.nr_open":                       "1048576\n",
	"fs.file-max":                      "8192\n",
	"fs.pipe-max-size":                 "1048576\n",
	"fs.pipe-user-pages-soft":          "16384\n",
	"fs.pipe-user-pages-hard":          "0\n",
	"net.core.somaxconn":               "4096\n",
	"net.ipv4.tcp_max_syn_backlog":     "512\n",
	"net.ipv4.tcp_tw_reuse":            "0\n",
	"net.ipv4.tcp_migrate_req":         "0\n",
	"net.ipv4.tcp_fin_timeout":         "60\n",
	"net.ipv4.ip_local_reserved_ports": "\n",
	"net.ipv4.ip_local_port_range":     "32768\t60999\n",
}

// hostWith is hostLike with the key set to value.
func hostWith(key, value string) map[string]string {
	m := maps.Clone(hostLike)
	m[key] = value
	return m
}

// fakeSysctl writes a /proc/sys-shaped tree of ordinary files, key →
// content, and returns its root. The root is a directory of its own in a
// directory of the test's, since fjord looks beside it for the other
// files of the host (net/ for /proc/net).
func fakeSysctl(t *testing.T, values map[string]string) string {
	t.Helper()
	root := filepath.Join(t.TempDir(), "sys")
	for k, v := range values {
		p := filepath.Join(root, strings.ReplaceAll(k, ".", "/"))
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(v), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func sysctlValue(t *testing.T, root, key string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, strings.ReplaceAll(key, ".", "/")))
	if err != nil {
		t.Fatal(err)
	}
	return strings.Join(strings.Fields(string(b)), " ")
}

func TestSysctlCommand(t *testing.T) {
	root := fakeSysctl(t, hostLike)
	t.Setenv(sysctlRootEnv, root)
	dir := t.TempDir()
	cfg := writeFile(t, dir, "fjord.cfg", `global
	maxconn 20000
	nbthread 2
	tune.sysctl off
defaults
	mode tcp
frontend fe
	bind 127.0.0.1:8080 backlog 30000
	bind 127.0.0.1:443
	default_backend be
backend be
	server s1 127.0.0.1:9
`)
	persisted := filepath.Join(dir, "90-fjord.conf")

	code, out, errOut := runFjord(t, "sysctl", "-f", cfg, "check", persisted)
	if code != 1 {
		t.Fatalf("check exited %d, want 1 (changes pending)\n%s%s", code, out, errOut)
	}
	for _, want := range []string{
		"SETTING", "REASON",
		"net.ipv4.tcp_tw_reuse             0            1",
		"net.core.somaxconn                4096         30000",
		"net.ipv4.ip_local_reserved_ports  -            8080",
		"to change", "TIME_WAIT",
		"\nnet.ipv4.ip_local_reserved_ports: fjord's binds 8080\n",
		"not persisted",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("check output lacks %q:\n%s", want, out)
		}
	}
	if v := sysctlValue(t, root, "net.ipv4.tcp_tw_reuse"); v != "0" {
		t.Errorf("check changed tcp_tw_reuse to %q", v)
	}

	// Flags after the action word work too.
	if code, out, errOut = runFjord(t, "sysctl", "apply", "-f", cfg); code != 0 {
		t.Fatalf("apply exited %d\n%s%s", code, out, errOut)
	}
	for key, want := range map[string]string{
		"net.ipv4.tcp_tw_reuse":            "1",
		"net.core.somaxconn":               "30000",
		"net.ipv4.tcp_max_syn_backlog":     "30000",
		"net.ipv4.ip_local_reserved_ports": "8080",
		"net.ipv4.ip_local_port_range":     "1024 65023",
		"fs.file-max":                      "260080", // twice RLIMIT_NOFILE for maxconn 20000
		"net.ipv4.tcp_fin_timeout":         "30",
	} {
		if got := sysctlValue(t, root, key); got != want {
			t.Errorf("after apply %s = %q, want %q", key, got, want)
		}
	}
	if !strings.Contains(out, "changed") {
		t.Errorf("apply output lacks 'changed':\n%s", out)
	}

	if code, out, errOut = runFjord(t, "sysctl", "-f", cfg, "persist", persisted); code != 0 {
		t.Fatalf("persist exited %d\n%s%s", code, out, errOut)
	}
	b, err := os.ReadFile(persisted)
	if err != nil {
		t.Fatal(err)
	}
	conf, err := sysctl.ParseConf(strings.NewReader(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	if conf["net.core.somaxconn"] != "30000" || conf["net.ipv4.ip_local_port_range"] != "1024 65023" || !strings.Contains(string(b), "derived from "+cfg) {
		t.Errorf("persisted file:\n%s", b)
	}

	code, out, _ = runFjord(t, "sysctl", "-f", cfg, "check", persisted)
	if code != 0 || !strings.Contains(out, persisted+" keeps every setting over a reboot") {
		t.Errorf("check after apply and persist exited %d:\n%s", code, out)
	}

	// Without a configuration the defaults apply: maxconn 4096 wants no
	// more than the 30000 now in force.
	if code, out, _ = runFjord(t, "sysctl", "check", persisted); code != 0 {
		t.Errorf("check without -f exited %d:\n%s", code, out)
	}
}

func TestSysctlCommandErrors(t *testing.T) {
	// A key that cannot be read makes apply fail and says which.
	root := fakeSysctl(t, hostLike)
	os.Remove(filepath.Join(root, "net/ipv4/tcp_fin_timeout"))
	os.Mkdir(filepath.Join(root, "net/ipv4/tcp_fin_timeout"), 0o755)
	t.Setenv(sysctlRootEnv, root)
	code, out, _ := runFjord(t, "sysctl", "apply")
	if code != 1 || !strings.Contains(out, "net.ipv4.tcp_fin_timeout: cannot read "+root+"/net/ipv4/tcp_fin_timeout") {
		t.Errorf("apply with an unreadable key exited %d:\n%s", code, out)
	}
	if v := sysctlValue(t, root, "net.ipv4.tcp_tw_reuse"); v != "1" {
		t.Errorf("the other settings were not applied: tcp_tw_reuse %q", v)
	}

	for _, tt := range []struct {
		args []string
		code int
		err  string
	}{
		{[]string{"sysctl"}, 2, "say check, apply, persist or release"},
		{[]string{"sysctl", "tune"}, 2, `unknown action "tune"`},
		{[]string{"sysctl", "apply", "x"}, 2, `unexpected argument "x"`},
		{[]string{"sysctl", "check", "a", "b"}, 2, `unexpected argument "b"`},
		{[]string{"sysctl", "-f", "/nonexistent/fjord.cfg", "check"}, 2, "/nonexistent/fjord.cfg"},
		{[]string{"sysctl", "-x"}, 2, "flag provided but not defined"},
		{[]string{"sysctl", "persist", "/nonexistent/dir/90-fjord.conf"}, 1, "/nonexistent/dir/90-fjord.conf"},
	} {
		code, _, errOut := runFjord(t, tt.args...)
		if code != tt.code || !strings.Contains(errOut, tt.err) {
			t.Errorf("fjord %v exited %d, want %d with %q:\n%s", tt.args, code, tt.code, tt.err, errOut)
		}
	}
}

// TestSysctlReleaseWithoutLedger: 'fjord sysctl release' on a host where
// fjord never reserved anything says so and creates nothing.
func TestSysctlReleaseWithoutLedger(t *testing.T) {
	root := fakeSysctl(t, hostWith("net.ipv4.ip_local_reserved_ports", "9000\n"))
	t.Setenv(sysctlRootEnv, root)
	code, out, errOut := runFjord(t, "sysctl", "release")
	if code != 0 || out != "net.ipv4.ip_local_reserved_ports: nothing to release (9000)\n" {
		t.Errorf("fjord sysctl release exited %d:\n%s%s", code, out, errOut)
	}
	if _, err := os.Lstat(filepath.Join(filepath.Dir(root), "run")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("fjord sysctl release created the ledger's directory (%v)", err)
	}
	if got := sysctlValue(t, root, "net.ipv4.ip_local_reserved_ports"); got != "9000" {
		t.Errorf("reserved %q, want 9000 as it was", got)
	}
}

// TestSysctlPersistLeavesListenersOut: 'persist' reserves the binds for
// every boot but only names the services listening now, which may be
// transient; 'apply', which widens the range until the next boot,
// reserves them until then too. 'check' does not ask to persist them.
func TestSysctlPersistLeavesListenersOut(t *testing.T) {
	root := fakeSysctl(t, hostLike)
	t.Setenv(sysctlRootEnv, root)
	netDir := filepath.Join(filepath.Dir(root), "net")
	if err := os.Mkdir(netDir, 0o755); err != nil {
		t.Fatal(err)
	}
	// A service listening on 5432 (0x1538).
	table := "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n" +
		"   0: 00000000:1538 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4242 1 0000000000000000 100 0 0 10 0\n"
	if err := os.WriteFile(filepath.Join(netDir, "tcp"), []byte(table), 0o644); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cfg := writeFile(t, dir, "fjord.cfg", "global\n\ttune.sysctl off\ndefaults\n\tmode tcp\nlisten px\n\tbind 127.0.0.1:8080\n\tserver s1 192.0.2.1:80\n")
	persisted := filepath.Join(dir, "90-fjord.conf")
	if code, out, errOut := runFjord(t, "sysctl", "-f", cfg, "persist", persisted); code != 0 {
		t.Fatalf("persist exited %d\n%s%s", code, out, errOut)
	}
	b, err := os.ReadFile(persisted)
	if err != nil {
		t.Fatal(err)
	}
	conf, err := sysctl.ParseConf(strings.NewReader(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	// The comment is wrapped: compare its words.
	words := strings.Join(strings.Fields(strings.ReplaceAll(string(b), "#", "")), " ")
	if conf["net.ipv4.ip_local_reserved_ports"] != "8080" || !strings.Contains(words, "newly covers: 5432. Not reserved here, since they may be transient") {
		t.Errorf("persisted file reserves %q (want the bind 8080 only) or does not name 5432:\n%s", conf["net.ipv4.ip_local_reserved_ports"], b)
	}
	if code, out, errOut := runFjord(t, "sysctl", "-f", cfg, "apply"); code != 0 {
		t.Fatalf("apply exited %d\n%s%s", code, out, errOut)
	}
	if got := sysctlValue(t, root, "net.ipv4.ip_local_reserved_ports"); got != "5432,8080" {
		t.Errorf("apply reserved %q, want 5432,8080", got)
	}
	if code, out, _ := runFjord(t, "sysctl", "-f", cfg, "check", persisted); code != 0 || !strings.Contains(out, persisted+" keeps every setting over a reboot") {
		t.Errorf("check after apply and persist exited %d:\n%s", code, out)
	}
}

// startFjordCfg runs fjord on cfgText, with FREE replaced by a free loopback
// address, and waits until it listens. It returns the process and a
// function giving everything it has logged so far.
func startFjordCfg(t *testing.T, env []string, cfgText string) (*exec.Cmd, func() string) {
	t.Helper()
	cfg := writeFile(t, t.TempDir(), "fjord.cfg", strings.ReplaceAll(cfgText, "FREE", freeAddr(t)))
	cmd := fjordCmd(t, "-db", "-f", cfg)
	cmd.Env = append(cmd.Env, env...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var log strings.Builder
	ready := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		sent := false
		for sc.Scan() {
			mu.Lock()
			log.WriteString(sc.Text() + "\n")
			mu.Unlock()
			if !sent && strings.Contains(sc.Text(), "listening on") {
				ready <- true
				sent = true
			}
		}
		if !sent {
			ready <- false
		}
	}()
	logged := func() string { mu.Lock(); defer mu.Unlock(); return log.String() }
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	select {
	case ok := <-ready:
		if !ok {
			cmd.Wait()
			t.Fatalf("fjord exited before listening:\n%s", logged())
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("fjord did not listen within 10 s:\n%s", logged())
	}
	return cmd, logged
}

func TestStartupTuner(t *testing.T) {
	for _, mode := range []string{"on", "check", "off"} {
		t.Run(mode, func(t *testing.T) {
			root := fakeSysctl(t, hostLike)
			_, logged := startFjordCfg(t, []string{sysctlRootEnv + "=" + root}, fmt.Sprintf(`global
	tune.sysctl %s
defaults
	mode tcp
listen px
	bind FREE
	server s1 127.0.0.1:9
`, mode))
			log := logged()
			tw := sysctlValue(t, root, "net.ipv4.tcp_tw_reuse")
			switch mode {
			case "on":
				for _, want := range []string{
					"sysctl net.ipv4.tcp_tw_reuse = 1 (was 0): Every connection",
					"sysctl fs.file-max = 100000 (was 8192)",
					"tune.sysctl on: 4 of 12 kernel settings were already as wanted",
				} {
					if !strings.Contains(log, want) {
						t.Errorf("log lacks %q:\n%s", want, log)
					}
				}
				if tw != "1" {
					t.Errorf("tcp_tw_reuse = %q, want 1", tw)
				}
			case "check":
				for _, want := range []string{
					"[NOTICE] tune.sysctl check: net.ipv4.tcp_tw_reuse would change from 0 to 1\n",
					"tune.sysctl check: 8 of 12 kernel settings would change; 'fjord sysctl -f ",
					" check' says why",
				} {
					if !strings.Contains(log, want) {
						t.Errorf("log lacks %q:\n%s", want, log)
					}
				}
				if tw != "0" {
					t.Errorf("check changed tcp_tw_reuse to %q", tw)
				}
			case "off":
				if strings.Contains(log, "sysctl") || tw != "0" {
					t.Errorf("tune.sysctl off touched or reported the kernel (tcp_tw_reuse %q):\n%s", tw, log)
				}
			}
		})
	}
}

// TestCheckNoticesAreShort: 'tune.sysctl check' logs one short line per
// setting that would change, long port lists abbreviated and without the
// reasons, which 'fjord sysctl check' prints.
func TestCheckNoticesAreShort(t *testing.T) {
	root := fakeSysctl(t, hostLike)
	binds := ""
	for i := 0; i < 15; i++ {
		binds += "\tbind " + freeAddr(t) + "\n"
	}
	_, logged := startFjordCfg(t, []string{sysctlRootEnv + "=" + root}, "global\n\ttune.sysctl check\ndefaults\n\tmode tcp\nlisten px\n"+binds+"\tserver s1 127.0.0.1:9\n")
	var notices []string
	for _, line := range strings.Split(logged(), "\n") {
		if i := strings.Index(line, "tune.sysctl check"); i >= 0 {
			// The message, after the logger's name and time.
			notices = append(notices, line[strings.LastIndex(line[:i], " ")+1:])
		}
	}
	if len(notices) != 9 {
		t.Errorf("%d lines, want 8 notices and a summary:\n%s", len(notices), strings.Join(notices, "\n"))
	}
	reserved := false
	for _, line := range notices {
		if len(line) > 160 {
			t.Errorf("%d characters: %s", len(line), line)
		}
		if strings.Contains(line, "ip_local_reserved_ports") {
			reserved = true
			if !strings.Contains(line, " would reserve ") || !strings.Contains(line, "more ports") {
				t.Errorf("the reserved ports are not abbreviated: %s", line)
			}
		}
		if strings.Contains(line, "TIME_WAIT") || strings.Contains(line, "Reserved, no outgoing") {
			t.Errorf("a reason in the startup log: %s", line)
		}
	}
	if !reserved {
		t.Errorf("no notice for the reserved ports:\n%s", strings.Join(notices, "\n"))
	}
}

// TestStartupTunerReadOnly: keys fjord cannot read or write are reported,
// and fjord starts anyway.
func TestStartupTunerReadOnly(t *testing.T) {
	root := fakeSysctl(t, hostLike)
	// A directory where a value should be cannot be read, like a key the
	// kernel hides.
	os.Remove(filepath.Join(root, "fs/file-max"))
	os.Mkdir(filepath.Join(root, "fs/file-max"), 0o755)
	_, logged := startFjordCfg(t, []string{sysctlRootEnv + "=" + root}, `global
	tune.sysctl on
defaults
	mode tcp
listen px
	bind FREE
	server s1 127.0.0.1:9
`)
	if want := "[WARNING] sysctl fs.file-max: cannot read " + root + "/fs/file-max"; !strings.Contains(logged(), want) {
		t.Errorf("log lacks %q:\n%s", want, logged())
	}
}

func TestCheckUnknownUser(t *testing.T) {
	path := writeFile(t, t.TempDir(), "u.cfg", "global\n\tuser no-such-user-fjord\n"+strings.TrimPrefix(validCfg, "global\n"))
	code, stdout, stderr := runFjord(t, "-c", "-f", path)
	if code != 1 || stdout != "" || !strings.Contains(stderr, "[ALERT] 'user no-such-user-fjord': user: unknown user no-such-user-fjord") {
		t.Errorf("fjord -c with an unknown user exited %d, stdout %q:\n%s", code, stdout, stderr)
	}
}

func TestCheckPrintsHostNotices(t *testing.T) {
	dir := t.TempDir()
	for _, tt := range []struct {
		global string
		want   []string
		not    []string
	}{
		{"", []string{"'tune.sysctl on' (the default)"}, []string{"'user'/'uid' without"}},
		{"tune.sysctl off\n\tuser nobody\n", []string{"'user'/'uid' without 'group'/'gid'"}, []string{"tune.sysctl on"}},
		{"tune.sysctl check\n\tuser nobody\n\tgroup nogroup\n", nil, []string{"tune.sysctl on", "'user'/'uid' without"}},
	} {
		path := writeFile(t, dir, "n.cfg", "global\n\t"+tt.global+strings.TrimPrefix(validCfg, "global\n"))
		code, _, errOut := runFjord(t, "-c", "-f", path)
		if code != 0 {
			t.Fatalf("fjord -c exited %d:\n%s", code, errOut)
		}
		for _, w := range tt.want {
			if !strings.Contains(errOut, w) {
				t.Errorf("global %q: stderr lacks %q:\n%s", tt.global, w, errOut)
			}
		}
		for _, w := range tt.not {
			if strings.Contains(errOut, w) {
				t.Errorf("global %q: stderr has %q:\n%s", tt.global, w, errOut)
			}
		}
	}
}

// TestUlimitN checks the open files limit of a running fjord: ulimit-n
// sets it exactly, lower than the system's if asked, and warns when it is
// below what maxconn needs; without it, maxconn's need is met.
func TestUlimitN(t *testing.T) {
	for _, tt := range []struct {
		name, global string
		soft         string
		warn         bool
	}{
		{"ulimit-n exact", "maxconn 100\n\tulimit-n 3000", "3000", false},
		{"ulimit-n below the need", "maxconn 1000\n\tulimit-n 1500", "1500", true},
		{"derived from maxconn", "maxconn 100", "", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cmd, logged := startFjordCfg(t, nil, fmt.Sprintf(`global
	%s
	nbthread 2
defaults
	mode tcp
listen px
	bind FREE
	server s1 127.0.0.1:9
`, tt.global))
			b, err := os.ReadFile(fmt.Sprintf("/proc/%d/limits", cmd.Process.Pid))
			if err != nil {
				t.Fatal(err)
			}
			var soft string
			for _, line := range strings.Split(string(b), "\n") {
				if strings.HasPrefix(line, "Max open files") {
					soft = strings.Fields(line)[3]
				}
			}
			if tt.soft != "" && soft != tt.soft {
				t.Errorf("soft RLIMIT_NOFILE %s, want %s", soft, tt.soft)
			}
			if tt.soft == "" {
				need := sysctl.NoFileNeeded(sysctl.FDNeeds{MaxConn: 100, Listeners: 2, Loops: 2})
				var got uint64
				if _, err := fmt.Sscan(soft, &got); err != nil {
					t.Fatalf("limit %q: %v", soft, err)
				}
				if got < need {
					t.Errorf("soft RLIMIT_NOFILE %d below the %d maxconn 100 needs", got, need)
				}
			}
			if warned := strings.Contains(logged(), "is below the"); warned != tt.warn {
				t.Errorf("warning %v, want %v:\n%s", warned, tt.warn, logged())
			}
		})
	}
}

// TestStartupTunerNotRoot: started without root, fjord reports each
// setting it could not apply and serves anyway. As root the test runs
// fjord as nobody against a tree of root-owned files, so the kernel's
// own permission check refuses the writes.
func TestStartupTunerNotRoot(t *testing.T) {
	root := fakeSysctl(t, hostLike)
	var cred *syscall.Credential
	if os.Geteuid() == 0 {
		nobody, err := user.Lookup("nobody")
		if err != nil {
			t.Skipf("no user nobody to run fjord as: %v", err)
		}
		uid, _ := strconv.Atoi(nobody.Uid)
		gid, _ := strconv.Atoi(nobody.Gid)
		cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		// nobody must reach the tree and the test binary.
		for d := root; d != "/" && d != os.TempDir(); d = filepath.Dir(d) {
			os.Chmod(d, 0o755)
		}
	}
	exe := os.Args[0]
	if cred != nil {
		exe = filepath.Join(t.TempDir(), "fjord.test")
		os.Chmod(filepath.Dir(exe), 0o755)
		os.Chmod(filepath.Dir(filepath.Dir(exe)), 0o755)
		b, err := os.ReadFile(os.Args[0])
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(exe, b, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	cfgText := strings.ReplaceAll(`global
	tune.sysctl on
defaults
	mode tcp
listen px
	bind FREE
	server s1 127.0.0.1:9
`, "FREE", freeAddr(t))
	cfg := writeFile(t, filepath.Dir(exe), "fjord.cfg", cfgText)
	os.Chmod(cfg, 0o644)
	cmd := exec.Command(exe, "-db", "-f", cfg)
	cmd.Env = append(os.Environ(), "FJORD_TEST_MAIN=1", sysctlRootEnv+"="+root)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	var log strings.Builder
	sc := bufio.NewScanner(stderr)
	deadline := time.AfterFunc(10*time.Second, func() { cmd.Process.Kill() })
	defer deadline.Stop()
	for sc.Scan() {
		log.WriteString(sc.Text() + "\n")
		if strings.Contains(sc.Text(), "listening on") {
			break
		}
	}
	text := log.String()
	if !strings.Contains(text, "listening on") {
		t.Fatalf("fjord did not start:\n%s", text)
	}
	for _, want := range []string{
		"[WARNING] sysctl net.ipv4.tcp_tw_reuse: could not change 0 to 1: cannot write " + root + "/net/ipv4/tcp_tw_reuse",
		"permission denied: run as root",
		"[WARNING] sysctl fs.file-max: could not change 8192 to 100000",
		"tune.sysctl on: 4 of 12 kernel settings were already as wanted",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("log lacks %q:\n%s", want, text)
		}
	}
	if v := sysctlValue(t, root, "net.ipv4.tcp_tw_reuse"); v != "0" {
		t.Errorf("tcp_tw_reuse became %q without root", v)
	}
}

// TestDefaultConfigNeeds: 'fjord sysctl' without -f asks the kernel for what
// a configuration that sets nothing asks, bulk pipes included.
func TestDefaultConfigNeeds(t *testing.T) {
	n, _ := kernelNeeds(defaultConfig(), sysctlTuner(), nil)
	if n.PipeSize != config.DefaultPipeSize || n.BulkPipeSize != config.DefaultBulkPipeSize || n.BulkPipes == 0 || n.MaxConn != config.DefaultGlobalMaxConn {
		t.Errorf("needs without -f: %+v; want the defaults (pipes %d, bulk pipes of %d, maxconn %d)", n, config.DefaultPipeSize, config.DefaultBulkPipeSize, config.DefaultGlobalMaxConn)
	}
}

// TestStopReleasesReservations: the ports a fjord reserved go when it
// stops, unless the admin made them theirs meanwhile with 'fjord sysctl
// apply'.
func TestStopReleasesReservations(t *testing.T) {
	for _, tt := range []struct {
		name      string
		apply     bool
		after     string // "": as before fjord
		rangeLeft string // the port range after the stop
	}{
		{"released at stop, range put back", false, "", "32768 60999"},
		{"kept after fjord sysctl apply, range too", true, "PORT", "1024 65023"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			root := fakeSysctl(t, hostLike)
			t.Setenv(sysctlRootEnv, root)
			addr := freeAddr(t)
			port := addr[strings.LastIndexByte(addr, ':')+1:]
			cfg := writeFile(t, t.TempDir(), "fjord.cfg", "global\n\ttune.sysctl on\ndefaults\n\tmode tcp\nlisten px\n\tbind "+addr+"\n\tserver s1 192.0.2.1:80\n")
			fp := startFjord(t, []string{sysctlRootEnv + "=" + root}, "-db", "-f", cfg)
			fp.log.wait(t, 0, "listening on", 10*time.Second)
			if got := sysctlValue(t, root, "net.ipv4.ip_local_reserved_ports"); got != port {
				t.Fatalf("reserved %q while fjord runs, want %s", got, port)
			}
			_, out, _ := runFjord(t, "sysctl", "-f", cfg, "check")
			if want := fmt.Sprintf("net.ipv4.ip_local_reserved_ports: fjord added %s, and releases each once no running fjord needs it; running: process %d (%s); fjord widened net.ipv4.ip_local_port_range from 32768 60999 to 1024 65023, and puts 32768 60999 back when the last fjord stops\n", port, fp.pid(), port); !strings.Contains(out, want) {
				t.Errorf("fjord sysctl check lacks %q:\n%s", want, out)
			}
			if tt.apply {
				if code, out, errOut := runFjord(t, "sysctl", "-f", cfg, "apply"); code != 0 {
					t.Fatalf("fjord sysctl apply exited %d:\n%s%s", code, out, errOut)
				}
			}
			fp.cmd.Process.Signal(syscall.SIGTERM)
			<-fp.exited
			want := strings.ReplaceAll(tt.after, "PORT", port)
			if got := sysctlValue(t, root, "net.ipv4.ip_local_reserved_ports"); got != want {
				t.Errorf("reserved %q after the stop, want %q\n%s", got, want, fp.log)
			}
			if got := sysctlValue(t, root, "net.ipv4.ip_local_port_range"); got != tt.rangeLeft {
				t.Errorf("port range %q after the stop, want %q\n%s", got, tt.rangeLeft, fp.log)
			}
		})
	}
}

// TestStartWithNothingToReserve: a fjord with no port to reserve still
// releases what an ended fjord left, and, registered all the same, leaves
// no ledger behind when it stops.
func TestStartWithNothingToReserve(t *testing.T) {
	root := fakeSysctl(t, hostWith("net.ipv4.ip_local_reserved_ports", "9000,9100\n"))
	ended := exec.Command("/bin/true")
	if err := ended.Run(); err != nil {
		t.Skipf("cannot run /bin/true: %v", err)
	}
	ledger := ledgerPath(t, root)
	if err := os.MkdirAll(filepath.Dir(ledger), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(ledger, fmt.Appendf(nil, "added 9000\nowner %d 1 9000 -\n", ended.Process.Pid), 0o644); err != nil {
		t.Fatal(err)
	}
	// A port below the ephemeral range and a remote server: nothing to
	// reserve.
	cfg := writeFile(t, t.TempDir(), "fjord.cfg", "global\n\ttune.sysctl on\ndefaults\n\tmode tcp\nlisten px\n\tbind "+freeLowAddr(t)+"\n\tserver s1 192.0.2.1:80\n")
	fp := startFjord(t, []string{sysctlRootEnv + "=" + root}, "-db", "-f", cfg)
	fp.log.wait(t, 0, "listening on", 10*time.Second)
	fp.log.wait(t, 0, "released 9000, which fjord reserved for processes that have ended", time.Second)
	if got := sysctlValue(t, root, "net.ipv4.ip_local_reserved_ports"); got != "9100" {
		t.Errorf("reserved %q while fjord runs, want the admin's 9100", got)
	}
	fp.cmd.Process.Signal(syscall.SIGTERM)
	<-fp.exited
	if _, err := os.Lstat(ledger); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the ledger is left after the stop (%v)\n%s", err, fp.log)
	}
}

// freeLowAddr returns a loopback address with a free port below 1024,
// which no reservation covers.
func freeLowAddr(t *testing.T) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to bind a port below 1024")
	}
	for p := 1023; p >= 600; p-- {
		ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
		if err == nil {
			ln.Close()
			return ln.Addr().String()
		}
	}
	t.Skip("no free port below 1024")
	return ""
}

// ledgerPath is the ledger a fjord using the fake tree root keeps for the
// test's network namespace.
func ledgerPath(t *testing.T, root string) string {
	t.Helper()
	l, err := sysctl.Tuner{Root: root}.NewLedger()
	if err != nil {
		t.Fatal(err)
	}
	return l.Path
}

// TestDroppedPrivilegesLeaveReservations: a fjord that dropped to nobody
// cannot write kernel settings when it stops; it says so, and 'fjord
// sysctl release' as root releases what it left.
func TestDroppedPrivilegesLeaveReservations(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: starts fjord as root and drops to nobody")
	}
	if _, err := user.Lookup("nobody"); err != nil {
		t.Skipf("no user nobody: %v", err)
	}
	root := fakeSysctl(t, hostLike)
	t.Setenv(sysctlRootEnv, root)
	addr := freeAddr(t)
	port := addr[strings.LastIndexByte(addr, ':')+1:]
	cfg := writeFile(t, t.TempDir(), "fjord.cfg", "global\n\tuser nobody\n\ttune.sysctl on\ndefaults\n\tmode tcp\nlisten px\n\tbind "+addr+"\n\tserver s1 192.0.2.1:80\n")
	fp := startFjord(t, []string{sysctlRootEnv + "=" + root}, "-db", "-f", cfg)
	fp.log.wait(t, 0, "listening on", 10*time.Second)
	fp.cmd.Process.Signal(syscall.SIGTERM)
	<-fp.exited
	fp.log.wait(t, 0, "the ports this process reserved stay reserved: cannot keep the ledger", time.Second)
	if got := sysctlValue(t, root, "net.ipv4.ip_local_reserved_ports"); got != port {
		t.Fatalf("reserved %q after the stop, want %s still", got, port)
	}
	code, out, errOut := runFjord(t, "sysctl", "release")
	if code != 0 || !strings.Contains(out, "released "+port) {
		t.Errorf("fjord sysctl release exited %d:\n%s%s", code, out, errOut)
	}
	if got := sysctlValue(t, root, "net.ipv4.ip_local_reserved_ports"); got != "" {
		t.Errorf("reserved %q after fjord sysctl release, want nothing", got)
	}
}
