package main

import (
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestSystemdEnv(t *testing.T) {
	const pid = 4242
	tests := []struct {
		name               string
		listenPID, fds, nm string
		want               systemdSockets
		wantErr            string
	}{
		{name: "not socket-activated"},
		{name: "one socket", listenPID: "4242", fds: "1", want: systemdSockets{n: 1}},
		{name: "named", listenPID: "4242", fds: "2", nm: "http:https", want: systemdSockets{n: 2, names: []string{"http", "https"}}},
		{name: "a name left empty", listenPID: "4242", fds: "2", nm: ":https", want: systemdSockets{n: 2, names: []string{"", "https"}}},
		{name: "none", listenPID: "4242", fds: "0", want: systemdSockets{}},
		{name: "for another process", listenPID: "1", fds: "1", wantErr: "names another process than fjord (4242)"},
		{name: "no pid", fds: "1", wantErr: "LISTEN_PID=\"\" is not a process id"},
		{name: "bad pid", listenPID: "x", fds: "1", wantErr: "is not a process id"},
		{name: "bad count", listenPID: "4242", fds: "-1", wantErr: "LISTEN_FDS=\"-1\" is not a number of descriptors"},
		{name: "no count", listenPID: "4242", wantErr: "LISTEN_FDS=\"\""},
		{name: "names do not match", listenPID: "4242", fds: "2", nm: "http", want: systemdSockets{n: 2}, wantErr: "1 names for 2 descriptors"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseSystemdEnv(tc.listenPID, tc.fds, tc.nm, pid)
			if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("err = %v, want %q", err, tc.wantErr)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("= %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestSystemdDescribe(t *testing.T) {
	sd := systemdSockets{n: 2, names: []string{"http", ""}}
	for fd, want := range map[int]string{2: "", 3: "systemd socket 'http'", 4: "systemd socket", 5: ""} {
		if got := sd.describe(fd); got != want {
			t.Errorf("describe(%d) = %q, want %q", fd, got, want)
		}
	}
}

// FuzzSystemdEnv: what parseSystemdEnv passes is a count in range with a
// name for each descriptor or none, and only for this process.
func FuzzSystemdEnv(f *testing.F) {
	f.Add("4242", "2", "http:https")
	f.Add("4242", "1", "")
	f.Add("1", "1", "x")
	f.Add("", "", "")
	f.Fuzz(func(t *testing.T, listenPID, fds, names string) {
		sd, err := parseSystemdEnv(listenPID, fds, names, 4242)
		if sd.n < 0 || sd.n > 1<<16 || sd.names != nil && len(sd.names) != sd.n {
			t.Fatalf("%q %q %q: %+v", listenPID, fds, names, sd)
		}
		if sd.n > 0 && strings.TrimLeft(listenPID, "0+") != "4242" {
			t.Fatalf("%q: sockets taken for another process", listenPID)
		}
		if err == nil && sd.n != 0 && sd.describe(sdListenFDStart+sd.n-1) == "" {
			t.Fatalf("%+v: the last socket has no description", sd)
		}
	})
}

// Under socket activation fjord names the sockets by systemd's names, and
// warns about one that no line uses: its clients would wait for ever.
// systemd sets LISTEN_PID to the pid of the process it starts; a shell
// that execs fjord stands in for it.
func TestSystemdSocketActivation(t *testing.T) {
	http, addr := inheritedTCP(t)
	spare, _ := inheritedTCP(t)
	cfg := fdProxyConfig(t, 3, echoBackend(t).Addr().String(), "")
	cmd := fjordCmd(t)
	exe := cmd.Path
	cmd.Path = "/bin/sh"
	cmd.Args = []string{"sh", "-c", `LISTEN_PID=$$ exec "$0" -db -f "$1"`, exe, cfg}
	cmd.Env = append(cmd.Env, "LISTEN_FDS=2", "LISTEN_FDNAMES=http:spare")
	cmd.ExtraFiles = []*os.File{http, spare}
	fp := startFjordCmd(t, cmd)
	http.Close()
	spare.Close()
	fp.log.wait(t, 0, "systemd passed descriptor 4 (systemd socket 'spare'), but no 'bind fd@4' or 'stats socket fd@4' uses it", 10*time.Second)
	fp.log.wait(t, 0, "listening on fd@3 ("+addr+", systemd socket 'http')", 10*time.Second)
	echoThrough(t, addr, "activated")
	// The process a reload starts gets the socket from fjord, not from
	// systemd's variables, which fjord removed.
	from, next := reloadAndWaitOld(t, fp)
	fp.log.wait(t, from, "listening on fd@3 ("+addr+")", 10*time.Second)
	env, err := os.ReadFile("/proc/" + strconv.Itoa(next) + "/environ")
	if err != nil {
		t.Fatal(err)
	}
	for _, kv := range strings.Split(string(env), "\x00") {
		if strings.HasPrefix(kv, "LISTEN_") {
			t.Errorf("the new process was started with %s", kv)
		}
	}
	echoThrough(t, addr, "reloaded")
}

// Variables meant for another process lose only what systemd adds: the
// socket is still fjord's to listen on as fd@3, without systemd's name.
func TestSystemdVariablesOfAnotherProcessKeepTheSocket(t *testing.T) {
	http, addr := inheritedTCP(t)
	cfg := fdProxyConfig(t, 3, echoBackend(t).Addr().String(), "")
	cmd := fjordCmd(t, "-db", "-f", cfg)
	cmd.Env = append(cmd.Env, "LISTEN_PID=1", "LISTEN_FDS=1", "LISTEN_FDNAMES=http")
	cmd.ExtraFiles = []*os.File{http}
	fp := startFjordCmd(t, cmd)
	http.Close()
	fp.log.wait(t, 0, "LISTEN_PID=1 names another process than fjord", 10*time.Second)
	fp.log.wait(t, 0, "listening on fd@3 ("+addr+")", 10*time.Second)
	echoThrough(t, addr, "foreign variables")
}

// Variables meant for another process are not taken for fjord's, and
// fjord says so.
func TestSystemdVariablesOfAnotherProcess(t *testing.T) {
	cfg := fdProxyConfig(t, 3, "127.0.0.1:9", "")
	out, _ := fjordCmdEnv(t, []string{"LISTEN_PID=1", "LISTEN_FDS=1"}, "-db", "-f", cfg).CombinedOutput()
	for _, want := range []string{"[WARNING] socket activation: LISTEN_PID=1 names another process than fjord", "descriptor 3 is not open"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

// The variables are gone before the configuration is read: a line that
// names one reads an unset variable, in fjord -c as in a start.
func TestSystemdVariablesNotInConfiguration(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "fjord.cfg")
	text := "global\n    maxconn \"${LISTEN_FDS}\"\n"
	if err := os.WriteFile(cfg, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := fjordCmdEnv(t, []string{"LISTEN_PID=1", "LISTEN_FDS=1"}, "-c", "-f", cfg).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "environment variable 'LISTEN_FDS' is not set") {
		t.Errorf("fjord -c = %v, output:\n%s", err, out)
	}
}
