package main

import (
	"github.com/fjordlb/fjord/config"

	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/fjordlb/fjord/sysctl"
)

func TestLocalServerPorts(t *testing.T) {
	// 10.1.2.3 stands for an address of one of this host's interfaces.
	local := func(a netip.Addr) bool {
		return a.IsLoopback() || a.IsUnspecified() || a == netip.MustParseAddr("10.1.2.3")
	}
	tests := []struct {
		name    string
		servers string
		want    []uint16
	}{
		{"loopback", "server s 127.0.0.1:8081", []uint16{8081}},
		{"all of 127/8 is loopback", "server s 127.0.0.2:8081", []uint16{8081}},
		{"IPv6 loopback", "server s [::1]:8084", []uint16{8084}},
		{"an interface's address", "server s 10.1.2.3:8083", []uint16{8083}},
		{"another host", "server s 192.0.2.10:8082", nil},
		{"health check port on a local server", "server s 10.1.2.3:8083 check port 9090", []uint16{8083, 9090}},
		{"local health check address of a remote server", "server s 192.0.2.11:8085 check addr 127.0.0.1 port 8086", []uint16{8086}},
		{"remote health check address of a local server", "server s 127.0.0.1:8085 check addr 192.0.2.11 port 8086", []uint16{8085}},
		{"checked on the server's own port", "server s 127.0.0.1:8088 check", []uint16{8088, 8088}},
		{"port of the client's destination", "server s 127.0.0.1", nil},
		{"port offset from the client's destination", "server s 127.0.0.1:+1", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeFile(t, t.TempDir(), "fjord.cfg", "defaults\n\tmode tcp\nlisten px\n\tbind 127.0.0.1:80\n\t"+tt.servers+"\n")
			cfg, ok := load([]string{path}, config.Options{}, io.Discard)
			if !ok {
				t.Fatalf("configuration does not load: %s", tt.servers)
			}
			if got := localServerPorts(cfg, local); !slices.Equal(got, tt.want) {
				t.Errorf("%s: ports %v, want %v", tt.servers, got, tt.want)
			}
		})
	}
}

func TestLocalAddrs(t *testing.T) {
	local, err := localAddrs()
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		addr string
		want bool
	}{
		{"127.0.0.1", true},
		{"127.9.9.9", true},
		{"::1", true},
		{"::ffff:127.0.0.1", true},
		{"0.0.0.0", true},
		{"::", true},
		// Documentation addresses (RFC 5737, RFC 3849) are on no host.
		{"192.0.2.1", false},
		{"2001:db8::1", false},
	} {
		if got := local(netip.MustParseAddr(tt.addr)); got != tt.want {
			t.Errorf("local(%s) = %v, want %v", tt.addr, got, tt.want)
		}
	}
}

// TestOwnListenersAreNotServices: the sockets a process holds are found by
// the inode /proc/net/tcp shows for them, so that a reload does not take
// the listeners it inherited for services of the host.
func TestOwnListenersAreNotServices(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := uint16(ln.Addr().(*net.TCPAddr).Port)
	ls, err := sysctl.ListeningSockets("/proc/self/net")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(sysctl.ListenerPorts(ls, nil), port) {
		t.Fatalf("port %d not among the listeners %v", port, ls)
	}
	mine := socketInodes([]int{os.Getpid()})
	if slices.Contains(sysctl.ListenerPorts(ls, func(l sysctl.Listener) bool { return mine[l.Inode] }), port) {
		t.Errorf("port %d of this process's own socket is not recognised as its own", port)
	}
	if len(socketInodes([]int{-1})) != 0 {
		t.Error("a process that does not exist holds sockets")
	}
}

// TestReleasePortsReport: at its stop a process that the ledger lists
// says what became of its ports; one it never listed (a reload's new
// process running as the user fjord dropped to) reserved nothing and says
// nothing.
func TestReleasePortsReport(t *testing.T) {
	for _, tt := range []struct {
		name     string
		before   os.FileMode // the ledger directory's mode at start
		atStop   os.FileMode // and at stop
		wantLogs string      // "": nothing logged
	}{
		{"listed: released", 0o700, 0o700, "released 8080, which fjord reserved and no running fjord needs"},
		{"listed, ledger unusable at stop: warns", 0o700, 0o777, "the ports this process reserved stay reserved"},
		{"never listed: silent", 0o777, 0o777, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			root := fakeSysctl(t, hostLike)
			tu := sysctl.Tuner{Root: root}
			ledger, err := tu.NewLedger()
			if err != nil {
				t.Fatal(err)
			}
			tu.Ledger = ledger
			dir := filepath.Dir(ledger.Path)
			if err := os.MkdirAll(dir, 0o700); err != nil {
				t.Fatal(err)
			}
			os.Chmod(dir, tt.before)
			tu.Apply(sysctl.Select(sysctl.Profile(sysctl.Needs{Ports: []uint16{8080}}), sysctl.Setting.Namespaced))
			os.Chmod(dir, tt.atStop)
			var logs []string
			releasePorts(tu, func(format string, args ...any) { logs = append(logs, fmt.Sprintf(format, args...)) })
			got := strings.Join(logs, "\n")
			if tt.wantLogs == "" && got != "" || !strings.Contains(got, tt.wantLogs) {
				t.Errorf("logged %q, want %q", got, tt.wantLogs)
			}
		})
	}
}

// TestKernelNeedsRange: a service listening where the widened range newly
// reaches is reserved for, judged against the range before fjord widened
// it, even when a fjord that runs widened it already; a range someone
// else widened exposed it before fjord, and reserves nothing for it.
func TestKernelNeedsRange(t *testing.T) {
	for _, tt := range []struct {
		name   string
		ledger string // "" none
		want   string // the reserved ports setting's value
	}{
		{"widened by a running fjord: judged against the range it found", "added 8080\nrange 32768-60999 1024-65023\n", "5432"},
		{"widened by someone else: already exposed", "", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			root := fakeSysctl(t, hostWith("net.ipv4.ip_local_port_range", "1024\t65023\n"))
			netDir := filepath.Join(filepath.Dir(root), "net")
			if err := os.Mkdir(netDir, 0o755); err != nil {
				t.Fatal(err)
			}
			// A service on 5432 (0x1538).
			table := "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n" +
				"   0: 00000000:1538 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4242 1 0000000000000000 100 0 0 10 0\n"
			if err := os.WriteFile(filepath.Join(netDir, "tcp"), []byte(table), 0o644); err != nil {
				t.Fatal(err)
			}
			tu := sysctl.Tuner{Root: root}
			if tt.ledger != "" {
				path := ledgerPath(t, root)
				if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, []byte(tt.ledger), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			cfg := defaultConfig()
			n, warnings := kernelNeeds(cfg, tu, nil)
			if len(warnings) > 0 {
				t.Errorf("warnings: %v", warnings)
			}
			got := ""
			for _, s := range sysctl.Profile(n) {
				if s.Key == sysctl.ReservedPortsKey {
					got = s.Want
				}
			}
			if got != tt.want {
				t.Errorf("reserves %q, want %q (needs %+v)", got, tt.want, n)
			}
		})
	}
}
