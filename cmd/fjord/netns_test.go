package main

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// netnsHost is a host of the test's own for fjord's kernel tuning: the
// test goroutine's thread is in a new network namespace (loopback up, no
// route out), and root is a sysctl tree whose fs.* are fake files and
// whose net/ is the real /proc/sys/net, which each process reads and
// writes in its own namespace. A fjord started from the test goroutine
// forks from its thread, so it runs in the namespace and tunes it, and
// nothing of the host.
type netnsHost struct {
	root string // for FJORD_SYSCTL_ROOT
}

// netnsChildEnv names the test a child process runs in a namespace of
// its own (see enterNetns).
const netnsChildEnv = "FJORD_NETNS_CHILD"

// enterNetns runs the calling test again in a child process, where the
// test goroutine's thread moves into a new network namespace for the rest
// of the test, and returns the host there. In the parent it returns nil
// once the child passed, having checked that the host's port settings did
// not move; the caller returns at once.
//
// The child is a process of its own because the thread stays in the
// namespace: the goroutine never unlocks it, so that it ends with the test
// instead of going back to the scheduler in the wrong namespace; but the
// main thread cannot end, and left in the namespace it would change what
// /proc/self/net shows every later test.
func enterNetns(t *testing.T) *netnsHost {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to create a network namespace and write its settings")
	}
	if os.Getenv(netnsChildEnv) != t.Name() {
		keys := []string{"net/ipv4/ip_local_reserved_ports", "net/ipv4/ip_local_port_range"}
		host := func() string {
			var v []string
			for _, k := range keys {
				b, err := os.ReadFile("/proc/sys/" + k)
				if err != nil {
					t.Fatal(err)
				}
				v = append(v, strings.TrimSpace(string(b)))
			}
			return strings.Join(v, " | ")
		}
		before := host()
		cmd := exec.Command(os.Args[0], "-test.run=^"+t.Name()+"$", "-test.v", "-test.count=1")
		cmd.Env = append(os.Environ(), netnsChildEnv+"="+t.Name())
		out, err := cmd.CombinedOutput()
		text := string(out)
		if strings.Contains(text, "NETNS-SKIP") {
			t.Skipf("cannot create a network namespace here:\n%s", text)
		}
		if err != nil || !strings.Contains(text, "--- PASS: "+t.Name()) {
			t.Fatalf("child in a network namespace failed: %v\n%s", err, text)
		}
		if after := host(); after != before {
			t.Errorf("the host's %v changed from %q to %q", keys, before, after)
		}
		return nil
	}
	runtime.LockOSThread()
	if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
		if errors.Is(err, unix.EPERM) || errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOSYS) {
			t.Skipf("NETNS-SKIP unshare(CLONE_NEWNET): %v", err)
		}
		t.Fatalf("unshare(CLONE_NEWNET): %v", err)
	}
	ifconfig(t, "lo", unix.SIOCSIFFLAGS, func(ifr *unix.Ifreq) error {
		ifr.SetUint16(unix.IFF_UP | unix.IFF_LOOPBACK | unix.IFF_RUNNING)
		return nil
	})

	h := &netnsHost{root: fakeSysctl(t, map[string]string{
		"fs.nr_open":              "1048576\n",
		"fs.file-max":             "8192\n",
		"fs.pipe-max-size":        "1048576\n",
		"fs.pipe-user-pages-soft": "16384\n",
		"fs.pipe-user-pages-hard": "0\n",
	})}
	if err := os.Symlink("/proc/sys/net", filepath.Join(h.root, "net")); err != nil {
		t.Fatal(err)
	}
	// Beside the tree, /proc/net as the process reading it sees it: a
	// fjord runs in the namespace as a whole.
	if err := os.Symlink("/proc/self/net", filepath.Join(filepath.Dir(h.root), "net")); err != nil {
		t.Fatal(err)
	}
	return h
}

// ifconfig runs one SIOCSIF* ioctl on the interface name in the test's
// namespace.
func ifconfig(t *testing.T, name string, req uint, set func(*unix.Ifreq) error) {
	t.Helper()
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatalf("socket: %v", err)
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq(name)
	if err != nil {
		t.Fatal(err)
	}
	if err := set(ifr); err != nil {
		t.Fatal(err)
	}
	if err := unix.IoctlIfreq(fd, req, ifr); err != nil {
		t.Fatalf("ioctl(%s, %#x): %v", name, req, err)
	}
}

// addAddr assigns an IPv4 address to the namespace's loopback interface,
// as an alias: an address of this host that is not a loopback address.
func (h *netnsHost) addAddr(t *testing.T, addr string) {
	t.Helper()
	ip := net.ParseIP(addr).To4()
	ifconfig(t, "lo:1", unix.SIOCSIFADDR, func(ifr *unix.Ifreq) error { return ifr.SetInet4Addr(ip) })
}

// value reads a net.* setting of the test's namespace.
func (h *netnsHost) value(t *testing.T, key string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("/proc/sys", strings.ReplaceAll(key, ".", "/")))
	if err != nil {
		t.Fatal(err)
	}
	return strings.Join(strings.Fields(string(b)), " ")
}

// set writes a net.* setting of the test's namespace, as an admin would.
func (h *netnsHost) set(t *testing.T, key, value string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join("/proc/sys", strings.ReplaceAll(key, ".", "/")), []byte(value), 0); err != nil {
		t.Fatal(err)
	}
}

// listen opens a listening socket in the namespace, for a service of the
// host.
func (h *netnsHost) listen(t *testing.T, addr string) {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
}

// sameNetns checks that the process pid runs in the test's namespace.
func (h *netnsHost) sameNetns(t *testing.T, pid int) {
	t.Helper()
	ours, err := os.Readlink("/proc/thread-self/ns/net")
	if err != nil {
		t.Fatal(err)
	}
	theirs, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/net", pid))
	if err != nil {
		t.Fatal(err)
	}
	if ours != theirs {
		t.Fatalf("process %d runs in %s, not in the test's namespace %s", pid, theirs, ours)
	}
}

func (h *netnsHost) env() []string { return []string{sysctlRootEnv + "=" + h.root} }

// TestNetnsReservesLocalPorts: fjord started as root reserves, before it
// widens the port range, the ports of its binds, of its servers on this
// host (loopback or an address of an interface), and of services already
// listening where the wider range newly reaches; not those of servers on
// other hosts, nor listeners inside the kernel's default range.
func TestNetnsReservesLocalPorts(t *testing.T) {
	h := enterNetns(t)
	if h == nil {
		return
	}
	h.addAddr(t, "198.51.100.7")
	h.listen(t, "127.0.0.1:5555")
	h.listen(t, "127.0.0.1:45000")
	fp := startFjord(t, h.env(), "-db", "-f", writeFile(t, t.TempDir(), "fjord.cfg", `global
	tune.sysctl on
defaults
	mode tcp
listen px
	bind 127.0.0.1:8080
	server local 127.0.0.1:8081
	server alias 198.51.100.7:8082
	server remote 192.0.2.1:8083
`))
	fp.log.wait(t, 0, "listening on", 10*time.Second)
	h.sameNetns(t, fp.pid())
	if got, want := h.value(t, "net.ipv4.ip_local_reserved_ports"), "5555,8080-8082"; got != want {
		t.Errorf("reserved ports %q, want %q\n%s", got, want, fp.log)
	}
	if got, want := h.value(t, "net.ipv4.ip_local_port_range"), "1024 65023"; got != want {
		t.Errorf("port range %q, want %q", got, want)
	}
}

// waitGone waits until the process pid has ended, through a pidfd that
// becomes readable when it does (it need not be the test's child).
func waitGone(t *testing.T, pid int, within time.Duration) {
	t.Helper()
	fd, err := unix.PidfdOpen(pid, 0)
	if errors.Is(err, unix.ESRCH) {
		return
	}
	if err != nil {
		t.Fatalf("pidfd_open(%d): %v", pid, err)
	}
	defer unix.Close(fd)
	for {
		n, err := unix.Poll([]unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}, int(within.Milliseconds()))
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			t.Fatalf("poll(pidfd of %d): %v", pid, err)
		}
		if n == 0 {
			t.Fatalf("process %d still runs after %v", pid, within)
		}
		return
	}
}

// TestNetnsReleasesReservations follows the ports fjord reserves through
// its life in a namespace of the test's own: the ports it added go when
// it stops, and those only an old configuration had go when a reload's
// old process ends; reservations an admin made before it stay; what a
// killed fjord left is released by the next start, or by 'fjord sysctl
// release'.
func TestNetnsReleasesReservations(t *testing.T) {
	h := enterNetns(t)
	if h == nil {
		return
	}
	const key = "net.ipv4.ip_local_reserved_ports"
	h.set(t, key, "8080,9000") // the admin's
	h.listen(t, "127.0.0.1:5555")
	cfgText := func(binds ...string) string {
		text := "global\n\ttune.sysctl on\ndefaults\n\tmode tcp\nlisten px\n"
		for _, b := range binds {
			text += "\tbind " + b + "\n"
		}
		return text + "\tserver local 127.0.0.1:8081\n"
	}
	dir := t.TempDir()
	cfg := writeFile(t, dir, "fjord.cfg", cfgText("127.0.0.1:8080", "127.0.0.1:8443"))
	fp := startFjord(t, h.env(), "-db", "-f", cfg)
	fp.log.wait(t, 0, "listening on", 10*time.Second)
	h.sameNetns(t, fp.pid())
	if got, want := h.value(t, key), "5555,8080-8081,8443,9000"; got != want {
		t.Fatalf("after the start: reserved %q, want %q\n%s", got, want, fp.log)
	}
	if got := h.value(t, "net.ipv4.ip_local_port_range"); got != "1024 65023" {
		t.Fatalf("after the start: port range %q, want 1024 65023", got)
	}

	// A reload with 8444 instead of 8443: the new process reserves 8444
	// beside the old one; 8443 goes when the old process ends.
	writeFile(t, dir, "fjord.cfg", cfgText("127.0.0.1:8080", "127.0.0.1:8444"))
	from, next := reloadAndWaitOld(t, fp)
	if got, want := h.value(t, key), "5555,8080-8081,8444,9000"; got != want {
		t.Fatalf("after the reload: reserved %q, want %q\n%s", got, want, fp.log)
	}
	fp.log.wait(t, from, "released 8443", time.Second)

	// Killed, the new process releases nothing; the next start releases
	// what it left and it does not need (8081, 8444).
	syscall.Kill(next, syscall.SIGKILL)
	waitGone(t, next, 10*time.Second)
	if got, want := h.value(t, key), "5555,8080-8081,8444,9000"; got != want {
		t.Fatalf("after a kill: reserved %q, want %q", got, want)
	}
	next3 := startFjord(t, h.env(), "-db", "-f", writeFile(t, dir, "other.cfg", "global\n\ttune.sysctl on\ndefaults\n\tmode tcp\nlisten px\n\tbind 127.0.0.1:8080\n\tserver remote 192.0.2.1:80\n"))
	next3.log.wait(t, 0, "listening on", 10*time.Second)
	if got, want := h.value(t, key), "5555,8080,9000"; got != want {
		t.Fatalf("after the next start: reserved %q, want %q\n%s", got, want, next3.log)
	}
	next3.log.wait(t, 0, "released 8081,8444, which fjord reserved for processes that have ended", time.Second)

	// 'fjord sysctl release' cleans up after a killed fjord too, and
	// leaves the admin's reservations.
	next3.cmd.Process.Kill()
	<-next3.exited
	t.Setenv(sysctlRootEnv, h.root)
	code, out, errOut := runFjord(t, "sysctl", "release")
	if code != 0 || !strings.Contains(out, "released 5555") || !strings.Contains(out, "net.ipv4.ip_local_port_range: put back to 32768 60999") {
		t.Errorf("fjord sysctl release exited %d:\n%s%s", code, out, errOut)
	}
	if got, want := h.value(t, key), "8080,9000"; got != want {
		t.Errorf("after fjord sysctl release: reserved %q, want the admin's %q", got, want)
	}
	// The range the first fjord widened goes back with the last
	// reservations, first.
	if got := h.value(t, "net.ipv4.ip_local_port_range"); got != "32768 60999" {
		t.Errorf("after fjord sysctl release: port range %q, want the namespace's default 32768 60999 back", got)
	}
}

// worldExecutable copies the test binary into a directory any user may
// enter: a fjord that dropped to nobody starts it again at a reload.
func worldExecutable(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for d := dir; d != "/" && d != os.TempDir(); d = filepath.Dir(d) {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	exe := filepath.Join(dir, "fjord.test")
	if err := os.WriteFile(exe, b, 0o755); err != nil {
		t.Fatal(err)
	}
	return exe
}

// sysctlCmd runs 'fjord sysctl ARGS' as a process of its own, started from
// the test goroutine's thread so that all of it runs in the test's
// namespace (run in-process, fjord would read /proc/self/net, the main
// thread's namespace, the host's).
func (h *netnsHost) sysctlCmd(t *testing.T, args ...string) string {
	t.Helper()
	cmd := exec.Command(os.Args[0], append([]string{"sysctl"}, args...)...)
	cmd.Env = append(os.Environ(), "FJORD_TEST_MAIN=1", sysctlRootEnv+"="+h.root)
	out, err := cmd.CombinedOutput()
	if err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			t.Fatal(err)
		}
	}
	return string(out)
}

// TestNetnsReloadUnderUser: after a reload by a fjord that dropped to a
// user, the new process cannot register in the ledger; the old one's
// listening sockets, which the new one serves on, keep the old one's
// ports reserved after it ends, and 'fjord sysctl check' neither calls it
// ended nor recommends a release, which would release nothing of it; once
// the new process stops, the ports go.
func TestNetnsReloadUnderUser(t *testing.T) {
	h := enterNetns(t)
	if h == nil {
		return
	}
	if _, err := user.Lookup("nobody"); err != nil {
		t.Skipf("no user nobody: %v", err)
	}
	// As on a host, nobody may read the settings (but not the ledger,
	// in its directory of root's).
	for d := filepath.Dir(h.root); d != "/" && d != os.TempDir(); d = filepath.Dir(d) {
		os.Chmod(d, 0o755)
	}
	const key = "net.ipv4.ip_local_reserved_ports"
	exe := worldExecutable(t)
	cfg := writeFile(t, filepath.Dir(exe), "fjord.cfg", "global\n\tuser nobody\n\ttune.sysctl on\ndefaults\n\tmode tcp\nlisten px\n\tbind 127.0.0.1:8080\n\tserver remote 192.0.2.1:80\n")
	fp := startFjordAt(t, exe, h.env(), "-db", "-f", cfg)
	fp.log.wait(t, 0, "listening on", 10*time.Second)
	h.sameNetns(t, fp.pid())
	if got := h.value(t, key); got != "8080" {
		t.Fatalf("after the start: reserved %q, want 8080\n%s", got, fp.log)
	}

	_, next := reloadAndWaitOld(t, fp)
	if got := h.value(t, key); got != "8080" {
		t.Fatalf("after the reload: reserved %q, want 8080 still\n%s", got, fp.log)
	}
	old := fmt.Sprintf("process %d (8080)", fp.pid())
	out := h.sysctlCmd(t, "check")
	if !strings.Contains(out, "still holds them, so they stay: "+old) || strings.Contains(out, "ended without releasing") || strings.Contains(out, "'fjord sysctl release'") {
		t.Errorf("fjord sysctl check after the reload does not say that %s lives on:\n%s", old, out)
	}
	if out := h.sysctlCmd(t, "release"); !strings.Contains(out, "nothing to release") || h.value(t, key) != "8080" {
		t.Errorf("fjord sysctl release while the new process serves on 8080: reserved %q\n%s", h.value(t, key), out)
	}

	syscall.Kill(next, syscall.SIGTERM)
	waitGone(t, next, 20*time.Second)
	if out := h.sysctlCmd(t, "release"); !strings.Contains(out, "released 8080") || h.value(t, key) != "" || h.value(t, "net.ipv4.ip_local_port_range") != "32768 60999" {
		t.Errorf("fjord sysctl release once no fjord runs: reserved %q, port range %q\n%s", h.value(t, key), h.value(t, "net.ipv4.ip_local_port_range"), out)
	}
}

// reloadAndWaitOld reloads fp (SIGHUP) and waits for it to end, having
// handed over to the process it started, which the test then owns. It
// returns where fp's log stood before the reload, and the new process.
func reloadAndWaitOld(t *testing.T, fp *fjordProc) (from, next int) {
	t.Helper()
	from = fp.log.len()
	if err := syscall.Kill(fp.pid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	_, line := fp.log.wait(t, from, "reload: process ", 20*time.Second)
	if _, err := fmt.Sscanf(line[strings.Index(line, "reload: process "):], "reload: process %d", &next); err != nil {
		t.Fatalf("no process id in %q: %v", line, err)
	}
	killAtEnd(t, next)
	select {
	case <-fp.exited:
	case <-time.After(20 * time.Second):
		t.Fatalf("the old process did not end after the reload:\n%s", fp.log)
	}
	return from, next
}
