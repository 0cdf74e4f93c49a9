package main

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
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

// enterNetns moves the test goroutine's thread into a new network
// namespace for the rest of the test. The goroutine never unlocks it, so
// the thread ends with the test instead of going back to the scheduler in
// the wrong namespace.
func enterNetns(t *testing.T) *netnsHost {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to create a network namespace and write its settings")
	}
	runtime.LockOSThread()
	if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
		if errors.Is(err, unix.EPERM) || errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOSYS) {
			t.Skipf("cannot create a network namespace: unshare(CLONE_NEWNET): %v", err)
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
