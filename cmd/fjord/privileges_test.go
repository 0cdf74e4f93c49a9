package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/fjordlb/fjord/config"
)

func global(user, group string, uid, gid int) *config.Global {
	return &config.Global{User: user, Group: group, UID: uid, GID: gid}
}

func TestResolveCredentials(t *testing.T) {
	nobody, err := user.Lookup("nobody")
	if err != nil {
		t.Skipf("no user nobody here: %v", err)
	}
	nuid, _ := strconv.Atoi(nobody.Uid)
	ngid, _ := strconv.Atoi(nobody.Gid)
	grp, err := user.LookupGroupId(nobody.Gid)
	if err != nil {
		t.Skipf("no group for nobody's gid %s: %v", nobody.Gid, err)
	}
	ids, _ := nobody.GroupIds()
	if len(ids) != 1 || ids[0] != nobody.Gid {
		t.Skipf("nobody has supplementary groups %v here; the table assumes only its own", ids)
	}

	tests := []struct {
		name   string
		g      *config.Global
		uid    int
		gid    int
		groups []int
		err    string
	}{
		{name: "nothing set", g: global("", "", -1, -1)},
		{name: "user: its group and groups", g: global("nobody", "", -1, -1), uid: nuid, gid: ngid, groups: []int{ngid}},
		{name: "user and group", g: global("nobody", grp.Name, -1, -1), uid: nuid, gid: ngid, groups: []int{ngid}},
		{name: "user with a matching uid", g: global("nobody", "", nuid, -1), uid: nuid, gid: ngid, groups: []int{ngid}},
		{name: "user and another gid", g: global("nobody", "", -1, 4242), uid: nuid, gid: 4242, groups: []int{4242, ngid}},
		{name: "uid of a known user", g: global("", "", nuid, -1), uid: nuid, gid: ngid, groups: []int{ngid}},
		{name: "bare numbers: no groups", g: global("", "", 54321, 54322), uid: 54321, gid: 54322},
		{name: "uid without gid or user entry", g: global("", "", 54321, -1), err: "'uid 54321' has no entry in the user database, so its group is unknown: set 'gid'"},
		{name: "user and uid disagree", g: global("nobody", "", 1, -1), err: fmt.Sprintf("'user nobody' is uid %d but 'uid 1' is also set", nuid)},
		{name: "group and gid disagree", g: global("nobody", grp.Name, -1, 1), err: fmt.Sprintf("'group %s' is gid %d but 'gid 1' is also set", grp.Name, ngid)},
		{name: "unknown user", g: global("no-such-user-fjord", "", -1, -1), err: "'user no-such-user-fjord': user: unknown user no-such-user-fjord"},
		{name: "unknown group", g: global("nobody", "no-such-group-fjord", -1, -1), err: "'group no-such-group-fjord'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := resolveCredentials(tt.g)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want one containing %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tt.g.User == "" && tt.g.UID < 0 && tt.g.Group == "" && tt.g.GID < 0 {
				if c != nil {
					t.Fatalf("credentials %+v for an empty configuration", c)
				}
				return
			}
			if c.uid != tt.uid || c.gid != tt.gid || fmt.Sprint(c.groups) != fmt.Sprint(tt.groups) {
				t.Errorf("credentials uid %d gid %d groups %v, want %d %d %v", c.uid, c.gid, c.groups, tt.uid, tt.gid, tt.groups)
			}
		})
	}
}

const statusTemplate = `Name:	fjord
Umask:	0022
State:	S (sleeping)
Tgid:	100
Uid:	%s
Gid:	%s
FDSize:	64
Groups:	%s
CapInh:	0000000000000000
CapPrm:	%s
CapEff:	%s
CapBnd:	000001ffffffffff
`

func status(uid, gid, groups, caps string) string {
	return fmt.Sprintf(statusTemplate, uid, gid, groups, caps, caps)
}

func TestVerifyCredentials(t *testing.T) {
	nobody := &credentials{uid: 65534, gid: 65534, groups: []int{65534}}
	good := status("65534\t65534\t65534\t65534", "65534\t65534\t65534\t65534", "65534 ", "0000000000000000")
	tests := []struct {
		name    string
		process string
		threads []string
		c       *credentials
		err     string
	}{
		{name: "all dropped", process: good, threads: []string{good, good, good}, c: nobody},
		{name: "one thread left as root", process: good, threads: []string{good, status("0\t0\t0\t0", "0\t0\t0\t0", "", "000001ffffffffff"), good},
			c: nobody, err: "task/101/status: the real uid is 0, not 65534"},
		{name: "saved uid left", process: status("65534\t65534\t0\t65534", "65534\t65534\t65534\t65534", "65534", "0"), threads: []string{good},
			c: nobody, err: "the saved uid is 0, not 65534"},
		{name: "fs gid left", process: status("65534\t65534\t65534\t65534", "65534\t65534\t65534\t0", "65534", "0"), threads: []string{good},
			c: nobody, err: "the filesystem gid is 0, not 65534"},
		{name: "groups left", process: status("65534\t65534\t65534\t65534", "65534\t65534\t65534\t65534", "0 65534", "0"), threads: []string{good},
			c: nobody, err: "the supplementary groups are [0 65534], not [65534]"},
		{name: "capabilities left", process: status("65534\t65534\t65534\t65534", "65534\t65534\t65534\t65534", "65534", "0000000000000400"), threads: []string{good},
			c: nobody, err: "capabilities are left"},
		{name: "root keeps its capabilities", process: status("0\t0\t0\t0", "0\t0\t0\t0", "", "000001ffffffffff"), threads: []string{status("0\t0\t0\t0", "0\t0\t0\t0", "", "000001ffffffffff")},
			c: &credentials{}},
		{name: "no threads", process: good, c: nobody, err: "cannot list the threads"},
		{name: "garbled status", process: "Uid:\t1 2\n", threads: []string{good}, c: nobody, err: "want 4 ids"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			proc := t.TempDir()
			os.WriteFile(filepath.Join(proc, "status"), []byte(tt.process), 0o644)
			for i, th := range tt.threads {
				dir := filepath.Join(proc, "task", strconv.Itoa(100+i))
				os.MkdirAll(dir, 0o755)
				os.WriteFile(filepath.Join(dir, "status"), []byte(th), 0o644)
			}
			err := verifyCredentials(proc, tt.c)
			if tt.err == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Fatalf("error %v, want one containing %q", err, tt.err)
			}
		})
	}
	// This process's own status parses, and is what the kernel says.
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Skip(err)
	}
	st, err := parseStatus(b)
	if err != nil {
		t.Fatal(err)
	}
	if st.uid[1] != os.Geteuid() || st.gid[1] != os.Getegid() {
		t.Errorf("parsed euid %d egid %d, want %d %d", st.uid[1], st.gid[1], os.Geteuid(), os.Getegid())
	}
}

func FuzzParseStatus(f *testing.F) {
	f.Add(status("0\t0\t0\t0", "0\t0\t0\t0", "", "000001ffffffffff"))
	f.Add(status("65534\t65534\t65534\t65534", "1 2 3 4", "1 2 3", "0"))
	f.Add("Uid: x\nGid:\n")
	f.Fuzz(func(t *testing.T, text string) {
		st, err := parseStatus([]byte(text))
		if err != nil {
			return
		}
		// Whatever parsed must match the credentials it describes
		// when it has no capabilities.
		if st.capPrm == 0 && st.capEff == 0 && st.uid == [4]int{st.uid[0], st.uid[0], st.uid[0], st.uid[0]} &&
			st.gid == [4]int{st.gid[0], st.gid[0], st.gid[0], st.gid[0]} {
			if err := st.matches(&credentials{uid: st.uid[0], gid: st.gid[0], groups: st.groups}); err != nil {
				t.Fatalf("status %+v does not match itself: %v", st, err)
			}
		}
	})
}

// freePrivilegedPort finds a port below 1024 that nothing listens on at
// 127.0.0.1.
func freePrivilegedPort(t *testing.T) int {
	t.Helper()
	for p := 900; p < 1024; p++ {
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
		if err == nil {
			l.Close()
			return p
		}
	}
	t.Skip("no free port below 1024 on 127.0.0.1")
	return 0
}

// TestPrivilegeDrop: fjord started as root binds a port below 1024, then
// runs as nobody (every thread), and still serves through that port.
func TestPrivilegeDrop(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: binds a port below 1024, then drops to nobody")
	}
	nobody, err := user.Lookup("nobody")
	if err != nil {
		t.Skipf("no user nobody: %v", err)
	}
	uid, _ := strconv.Atoi(nobody.Uid)
	gid, _ := strconv.Atoi(nobody.Gid)
	backend := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "served through a privileged port")
	})}
	bl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go backend.Serve(bl)
	defer backend.Close()

	port := freePrivilegedPort(t)
	cmd, logged := startFjordCfg(t, nil, fmt.Sprintf(`global
	user nobody
	nbthread 2
	tune.sysctl off
defaults
	mode http
	timeout connect 5s
	timeout client 10s
	timeout server 10s
frontend fe
	bind 127.0.0.1:%d
	default_backend be
backend be
	server s1 %s
`, port, bl.Addr()))
	if !strings.Contains(logged(), fmt.Sprintf("running as user 'nobody' (uid %d), gid %d", uid, gid)) {
		t.Errorf("no report of the drop:\n%s", logged())
	}
	want := &credentials{uid: uid, gid: gid, groups: []int{gid}}
	if err := verifyCredentials(fmt.Sprintf("/proc/%d", cmd.Process.Pid), want); err != nil {
		t.Errorf("fjord's identity: %v", err)
	}
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*", cmd.Process.Pid))
	if len(tasks) < 3 {
		t.Errorf("only %d threads checked; the two event loops alone have their own", len(tasks))
	}
	// The kernel's own view of the process owner, independently of the
	// status parser.
	var st syscall.Stat_t
	if err := syscall.Stat(fmt.Sprintf("/proc/%d", cmd.Process.Pid), &st); err != nil || int(st.Uid) != uid {
		t.Errorf("/proc/%d is owned by %d (%v), want %d", cmd.Process.Pid, st.Uid, err, uid)
	}

	client := &http.Client{Timeout: 5 * time.Second}
	resp, err := client.Get(fmt.Sprintf("http://127.0.0.1:%d/", port))
	if err != nil {
		t.Fatalf("request through port %d: %v\n%s", port, err, logged())
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != "served through a privileged port" {
		t.Errorf("got %d %q", resp.StatusCode, body)
	}
}

// TestPrivilegeDropRefused: a drop that cannot happen stops fjord with a
// clear message instead of serving as the wrong user.
func TestPrivilegeDropRefused(t *testing.T) {
	cfg := writeFile(t, t.TempDir(), "fjord.cfg", fmt.Sprintf(`global
	uid 54321
	tune.sysctl off
defaults
	mode tcp
listen px
	bind %s
	server s1 127.0.0.1:9
`, freeAddr(t)))
	out, err := fjordCmd(t, "-db", "-f", cfg).CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
		t.Fatalf("fjord exited with %v, want status 1:\n%s", err, out)
	}
	if want := "[ALERT] 'uid 54321' has no entry in the user database, so its group is unknown: set 'gid' (or 'group') too"; !strings.Contains(string(out), want) {
		t.Errorf("output lacks %q:\n%s", want, out)
	}
	if strings.Contains(string(out), "listening on") {
		t.Errorf("fjord announced it was listening before refusing:\n%s", out)
	}
}
