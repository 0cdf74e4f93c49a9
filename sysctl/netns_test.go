package sysctl

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

const netnsChildEnv = "FJORD_SYSCTL_NETNS_CHILD"

// netnsNeeds asks for more than a new namespace's defaults in every net.*
// setting, so that each one is written.
var netnsNeeds = Needs{MaxConn: 8192, NoFile: 40000, Backlog: 8192, PipeSize: 64 << 10, Pipes: 20000, Ports: []uint16{8080, 8443}}

// inOwnNetns runs the calling test again in a child process whose test
// goroutine has a network namespace of its own (no interface up, no route
// out), and reports true there: the test's body then runs in the child,
// and writes the real /proc/sys/net of that namespace only. In the parent
// it reports false once the child passed, after checking that the host's
// net.* settings did not move. The fs.* settings are global to the host
// and never written by such a test.
func inOwnNetns(t *testing.T) bool {
	t.Helper()
	if os.Getenv(netnsChildEnv) == t.Name() {
		enterNetns(t)
		return true
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root to create a network namespace and write its settings")
	}
	settings := Select(Profile(netnsNeeds), Setting.Namespaced)
	before := Tuner{}.Check(settings)
	for _, r := range before {
		if r.Status == Unavailable {
			t.Skipf("the host has no readable %s: %v", r.Key, r.Err)
		}
	}
	hostNS, err := os.Readlink("/proc/self/ns/net")
	if err != nil {
		t.Fatal(err)
	}

	cmd := exec.Command(os.Args[0], "-test.run=^"+t.Name()+"$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), netnsChildEnv+"="+t.Name())
	out, err := cmd.CombinedOutput()
	text := string(out)
	if strings.Contains(text, "NETNS-SKIP") {
		t.Skipf("cannot create a network namespace here:\n%s", text)
	}
	if err != nil {
		t.Fatalf("child in a network namespace failed: %v\n%s", err, text)
	}
	if !strings.Contains(text, "NETNS net:[") || strings.Contains(text, "NETNS "+hostNS) {
		t.Fatalf("child did not report a namespace other than the host's %s:\n%s", hostNS, text)
	}
	t.Logf("child:\n%s", text)

	after := Tuner{}.Check(settings)
	for i := range before {
		if before[i].Current != after[i].Current {
			t.Errorf("host %s changed from %q to %q", before[i].Key, before[i].Current, after[i].Current)
		}
	}
	return false
}

// enterNetns moves the test goroutine's thread into a new network
// namespace. The goroutine never unlocks it, so the thread ends with the
// test instead of going back to the scheduler in the wrong namespace.
func enterNetns(t *testing.T) {
	t.Helper()
	runtime.LockOSThread()
	if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
		if errors.Is(err, unix.EPERM) || errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOSYS) {
			t.Skipf("NETNS-SKIP unshare(CLONE_NEWNET): %v", err)
		}
		t.Fatalf("unshare(CLONE_NEWNET): %v", err)
	}
	ns, err := os.Readlink("/proc/thread-self/ns/net")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("NETNS %s", ns)
}

// TestNetnsApply applies the net.* settings for real, in the real
// /proc/sys, inside a network namespace of a child process's own.
func TestNetnsApply(t *testing.T) {
	if !inOwnNetns(t) {
		return
	}
	settings := Select(Profile(netnsNeeds), Setting.Namespaced)
	for _, s := range settings {
		if !s.Namespaced() {
			t.Fatalf("%s is not per network namespace; it must not be written here", s.Key)
		}
	}
	tu := Tuner{}
	for _, r := range tu.Apply(settings) {
		t.Logf("%s: %q -> %q (%v)", r.Key, r.Current, r.After, r.Status)
		if r.Status != Applied {
			t.Errorf("%s: %v, want changed (%v)", r.Key, r.Status, r.Err)
		}
	}
	// Read each file again, independently of the tuner's own read-back.
	want := map[string]string{
		"net.core.somaxconn":               "8192",
		"net.ipv4.tcp_max_syn_backlog":     "8192",
		"net.ipv4.tcp_tw_reuse":            "1",
		"net.ipv4.tcp_migrate_req":         "1",
		"net.ipv4.tcp_fin_timeout":         "30",
		"net.ipv4.ip_local_reserved_ports": "8080,8443",
		"net.ipv4.ip_local_port_range":     "1024 65023",
	}
	checkNetns(t, tu, want)
	if !AllOK(tu.Check(settings)) {
		t.Error("Check after Apply still finds changes")
	}
}

// checkNetns reads each key's file, independently of the tuner's own
// read-back.
func checkNetns(t *testing.T, tu Tuner, want map[string]string) {
	t.Helper()
	for k, v := range want {
		b, err := os.ReadFile(tu.Path(k))
		if err != nil {
			t.Errorf("%s: %v", k, err)
			continue
		}
		if got := normalize(string(b)); got != v {
			t.Errorf("%s = %q in the namespace, want %q", k, got, v)
		}
	}
}

// TestNetnsReservesListeners: before widening the port range, the tuner
// reserves the ports that services listen on in the namespace (read from
// the real /proc/thread-self/net), where the wider range would newly
// hand them out, and the ports of servers on this host, besides its own.
func TestNetnsReservesListeners(t *testing.T) {
	if !inOwnNetns(t) {
		return
	}
	listen := func(network, addr string) bool {
		ln, err := net.Listen(network, addr)
		if err != nil {
			t.Logf("%s %s: %v", network, addr, err)
			return false
		}
		t.Cleanup(func() { ln.Close() })
		return true
	}
	if !listen("tcp4", "0.0.0.0:5555") || !listen("tcp4", "0.0.0.0:45000") {
		t.Fatal("cannot listen in the namespace")
	}
	want := "5555,8080-8081"
	if listen("tcp6", "[::]:2024") {
		want = "2024," + want
	}
	tu := Tuner{}
	ls, err := tu.Listening()
	if err != nil {
		t.Fatal(err)
	}
	listening := ListenerPorts(ls, nil)
	if !slices.Contains(listening, 5555) || !slices.Contains(listening, 45000) {
		t.Fatalf("listening ports %v lack 5555 and 45000", listening)
	}
	// The kernel's answer to NETLINK_SOCK_DIAG is the namespace's, as
	// the tables of /proc/thread-self/net are: the socket is made in the
	// test goroutine's namespace.
	diag, err := listeningDiag()
	if err != nil {
		t.Fatalf("NETLINK_SOCK_DIAG in the namespace: %v", err)
	}
	fromProc, err := ListeningSockets("/proc/thread-self/net")
	if err != nil {
		t.Fatal(err)
	}
	sortListeners(diag)
	if !slices.Equal(diag, fromProc) {
		t.Errorf("NETLINK_SOCK_DIAG gives %v, /proc/thread-self/net %v", diag, fromProc)
	}
	settings := Select(Profile(Needs{Ports: []uint16{8080}, ServerPorts: []uint16{8081}, Listening: listening}), Setting.Namespaced)
	for _, r := range tu.Apply(settings) {
		if !r.InPlace() {
			t.Errorf("%s: %v (%v)", r.Key, r.Status, r.Err)
		}
	}
	checkNetns(t, tu, map[string]string{
		"net.ipv4.ip_local_reserved_ports": want,
		"net.ipv4.ip_local_port_range":     "1024 65023",
	})
}

// TestNetnsLedger reserves and releases for real in a namespace's
// ip_local_reserved_ports, with real processes as owners: an admin's
// reservation stays, a process that ended has its ports released at the
// next start, and of two running processes (a reload) each stop releases
// only what no other needs.
func TestNetnsLedger(t *testing.T) {
	if !inOwnNetns(t) {
		return
	}
	tu := Tuner{}
	ended := exec.Command("/bin/true")
	if err := ended.Run(); err != nil {
		t.Skipf("cannot run /bin/true: %v", err)
	}
	path := filepath.Join(t.TempDir(), "reserved-ports")
	stale := fmt.Sprintf("added 7000\nowner %d 1 7000 -\n", ended.Process.Pid)
	if err := os.WriteFile(path, []byte(stale), 0o644); err != nil {
		t.Fatal(err)
	}
	// 9000 is the admin's; 7000 was reserved by a fjord that was killed.
	if err := writeValue(tu.Path(ReservedPortsKey), "7000,9000"); err != nil {
		t.Fatal(err)
	}
	self, err := Self()
	if err != nil {
		t.Fatal(err)
	}
	// The test's parent (go test) stands for the other process of a
	// reload: it runs, and it is not this one.
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", os.Getppid()))
	if err != nil {
		t.Fatal(err)
	}
	_, start, err := parseStat(b)
	if err != nil {
		t.Fatal(err)
	}
	parent := Owner{PID: os.Getppid(), Start: start}
	as := func(o Owner) Tuner { return Tuner{Ledger: &Ledger{Path: path, Owner: o}} }

	for _, r := range as(self).Apply(Select(Profile(Needs{Ports: []uint16{8080, 8443}}), Setting.Namespaced)) {
		if !r.InPlace() {
			t.Errorf("%s: %v (%v)", r.Key, r.Status, r.Err)
		}
		if r.Key == ReservedPortsKey && r.Released != "7000" {
			t.Errorf("the start released %q, want the killed process's 7000", r.Released)
		}
	}
	checkNetns(t, tu, map[string]string{ReservedPortsKey: "8080,8443,9000", "net.ipv4.ip_local_port_range": "1024 65023"})

	if r := as(parent).Apply([]Setting{{Key: ReservedPortsKey, Kind: PortSet, Want: "8080,8444"}})[0]; r.Status != Applied {
		t.Errorf("the second process: %v (%v)", r.Status, r.Err)
	}
	checkNetns(t, tu, map[string]string{ReservedPortsKey: "8080,8443-8444,9000"})
	if r := as(self).Release(); r.Released != "8443" {
		t.Errorf("the first process's stop released %q (%v %v), want 8443", r.Released, r.Status, r.Err)
	}
	checkNetns(t, tu, map[string]string{ReservedPortsKey: "8080,8444,9000"})
	if r := as(parent).Release(); r.Released != "8080,8444" {
		t.Errorf("the last process's stop released %q (%v %v), want 8080,8444", r.Released, r.Status, r.Err)
	}
	checkNetns(t, tu, map[string]string{ReservedPortsKey: "9000"})
}

// TestNetnsCookieDiffers: the namespace's cookie, which the ledger keeps
// to tell namespaces apart that got the same inode, is not the host's.
func TestNetnsCookieDiffers(t *testing.T) {
	if !inOwnNetns(t) {
		return
	}
	ours, err := NetnsCookie()
	if errors.Is(err, unix.ENOPROTOOPT) {
		t.Skipf("this kernel has no SO_NETNS_COOKIE: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	// Every thread but the test goroutine's, which it keeps locked, is
	// still in the host's namespace.
	host := make(chan uint64)
	go func() {
		c, _ := NetnsCookie()
		host <- c
	}()
	if h := <-host; h == 0 || h == ours {
		t.Errorf("the namespace's cookie %d, the host's %d: want two different cookies", ours, h)
	}
	l, err := Tuner{}.NewLedger()
	if err != nil {
		t.Fatal(err)
	}
	if l.Cookie != ours {
		t.Errorf("NewLedger's cookie %d, want the namespace's %d", l.Cookie, ours)
	}
}
