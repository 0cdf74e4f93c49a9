package sysctl

import (
	"errors"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

const netnsChildEnv = "FJORD_SYSCTL_NETNS_CHILD"

// netnsNeeds asks for more than a new namespace's defaults in every net.*
// setting, so that each one is written.
var netnsNeeds = Needs{MaxConn: 8192, NoFile: 40000, Backlog: 8192, PipeSize: 64 << 10, Pipes: 20000, Ports: []uint16{8080, 8443}}

// TestNetnsApply applies the net.* settings for real, in the real
// /proc/sys, inside a network namespace of a child process's own, and
// checks that the host's values did not move. The fs.* settings are global
// to the host and never written here.
func TestNetnsApply(t *testing.T) {
	if os.Getenv(netnsChildEnv) == "1" {
		netnsChild(t)
		return
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root to create a network namespace and write its settings")
	}
	settings := Select(Profile(netnsNeeds), Setting.Namespaced)
	if len(settings) == 0 {
		t.Fatal("no namespaced settings in the profile")
	}
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

	cmd := exec.Command(os.Args[0], "-test.run=^TestNetnsApply$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), netnsChildEnv+"=1")
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
}

func netnsChild(t *testing.T) {
	// The namespace belongs to this thread only; the goroutine never
	// unlocks it, so the thread ends with the test instead of going back
	// to the scheduler in the wrong namespace.
	runtime.LockOSThread()
	if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
		if errors.Is(err, unix.EPERM) || errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOSYS) {
			t.Logf("NETNS-SKIP unshare(CLONE_NEWNET): %v", err)
			return
		}
		t.Fatalf("unshare(CLONE_NEWNET): %v", err)
	}
	ns, err := os.Readlink("/proc/thread-self/ns/net")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("NETNS %s", ns)

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
	if !AllOK(tu.Check(settings)) {
		t.Error("Check after Apply still finds changes")
	}
}
