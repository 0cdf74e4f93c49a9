package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// Tests of fd@N: the listening socket is made by the test and passed to
// fjord as VTest and systemd do, open across exec (cmd.ExtraFiles: the
// first is descriptor 3).

// inheritedTCP is a loopback listening socket for a child process, and
// its address. The test's own listener is closed: only the child accepts.
func inheritedTCP(t *testing.T) (*os.File, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	f, err := ln.(*net.TCPListener).File()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f, ln.Addr().String()
}

// fdProxyConfig is a tcp proxy on fd@n in front of server.
func fdProxyConfig(t *testing.T, n int, server, global string) string {
	t.Helper()
	return writeFile(t, t.TempDir(), "fd.cfg", fmt.Sprintf(`global
  tune.sysctl off
  nbthread 2
%sdefaults
  mode tcp
  timeout connect 2s
  timeout client 30s
  timeout server 30s
listen px
  bind fd@%d
  server s1 %s
`, global, n, server))
}

// echoThrough fails the test unless a message comes back through addr.
func echoThrough(t *testing.T, addr, msg string) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, msg); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, len(msg))
	if _, err := io.ReadFull(c, buf); err != nil || string(buf) != msg {
		t.Fatalf("echo through %s: %q, %v", addr, buf, err)
	}
}

// startWithFiles starts fjord with files as descriptors 3, 4, ... and
// closes the test's copies once it runs.
func startWithFiles(t *testing.T, files []*os.File, env []string, args ...string) *fjordProc {
	t.Helper()
	cmd := fjordCmd(t, args...)
	cmd.Env = append(cmd.Env, env...)
	cmd.ExtraFiles = files
	fp := startFjordCmd(t, cmd)
	for _, f := range files {
		f.Close()
	}
	return fp
}

// A frontend bound to fd@3 accepts on the socket fjord was started with,
// across both loops, and SIGINT stops fjord cleanly, as VTest expects.
func TestFDBindServesTheInheritedSocket(t *testing.T) {
	ln, addr := inheritedTCP(t)
	cfg := fdProxyConfig(t, 3, echoBackend(t).Addr().String(), "")
	fp := startWithFiles(t, []*os.File{ln}, nil, "-db", "-f", cfg)
	fp.log.wait(t, 0, "listening on fd@3 ("+addr+")", 10*time.Second)
	for i := range 10 {
		echoThrough(t, addr, fmt.Sprintf("ping %d", i))
	}
	syscall.Kill(fp.pid(), syscall.SIGINT)
	select {
	case <-fp.exited:
		if fp.waitErr != nil {
			t.Fatalf("fjord exited with %v after SIGINT:\n%s", fp.waitErr, fp.log)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("fjord did not stop after SIGINT")
	}
}

// A descriptor that fjord cannot listen on stops it at startup, with an
// error naming the bind's file:line, fd@N and what the descriptor is.
func TestFDBindRefusesWhatCannotListen(t *testing.T) {
	pipe := func(t *testing.T) *os.File {
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { r.Close(); w.Close() })
		return w
	}
	regular := func(t *testing.T) *os.File {
		f, err := os.Open(writeFile(t, t.TempDir(), "plain", "not a socket"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		return f
	}
	socket := func(typ int, listen bool) func(t *testing.T) *os.File {
		return func(t *testing.T) *os.File {
			fd, err := unix.Socket(unix.AF_INET, typ|unix.SOCK_CLOEXEC, 0)
			if err != nil {
				t.Fatal(err)
			}
			f := os.NewFile(uintptr(fd), "socket")
			t.Cleanup(func() { f.Close() })
			if err := unix.Bind(fd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
				t.Fatal(err)
			}
			if listen {
				if err := unix.Listen(fd, 8); err != nil {
					t.Fatal(err)
				}
			}
			return f
		}
	}
	tests := []struct {
		name string
		file func(t *testing.T) *os.File // nil: fjord gets no descriptor 3
		fd   int
		want string
	}{
		{"closed", nil, 9, "descriptor 9 is not open: fjord was started without it"},
		// The Go runtime holds files at low numbers before main (its
		// poller, the cgroup CPU limit): those are not inherited.
		{"closed, a low number", nil, 3, "descriptor 3 is not open: fjord was started without it"},
		{"closed, the next one", nil, 5, "descriptor 5 is not open: fjord was started without it"},
		{"a pipe", pipe, 3, "descriptor 3 is not a socket: it is a pipe"},
		{"a regular file", regular, 3, "descriptor 3 is not a socket: it is a regular file"},
		{"bound, not listening", socket(unix.SOCK_STREAM, false), 3, "descriptor 3 is not listening"},
		{"datagram", socket(unix.SOCK_DGRAM, false), 3, "descriptor 3 is not a stream socket"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := fdProxyConfig(t, tc.fd, "127.0.0.1:9", "")
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			cmd := withContext(ctx, fjordCmd(t, "-db", "-f", cfg))
			if tc.file != nil {
				cmd.ExtraFiles = []*os.File{tc.file(t)}
			}
			out, err := cmd.CombinedOutput()
			if err == nil {
				t.Fatalf("fjord started:\n%s", out)
			}
			for _, want := range []string{"listen 'px'", fmt.Sprintf("fd@%d (%s:10)", tc.fd, cfg), tc.want} {
				if !strings.Contains(string(out), want) {
					t.Errorf("output lacks %q:\n%s", want, out)
				}
			}
		})
	}
}

// 'fjord -c' checks the configuration, not the process it runs in: the
// socket exists only where fjord is started (HAProxy checks it then too).
func TestFDBindCheckNeedsNoDescriptor(t *testing.T) {
	cfg := fdProxyConfig(t, 9, "127.0.0.1:9", "")
	out, err := fjordCmd(t, "-c", "-f", cfg).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "Configuration file is valid") {
		t.Fatalf("fjord -c: %v\n%s", err, out)
	}
}

// A reload hands the inherited socket to the new process, which goes on
// accepting on it once the old one has finished its soft stop.
func TestFDBindSurvivesReload(t *testing.T) {
	ln, addr := inheritedTCP(t)
	cfg := fdProxyConfig(t, 3, echoBackend(t).Addr().String(), "")
	fp := startWithFiles(t, []*os.File{ln}, nil, "-db", "-f", cfg)
	fp.log.wait(t, 0, "listening on fd@3", 10*time.Second)
	echoThrough(t, addr, "before")
	from, next := reloadAndWaitOld(t, fp)
	fp.log.wait(t, from, "listening on fd@3 ("+addr+")", 10*time.Second)
	if !alive(next) {
		t.Fatalf("the new process %d does not run:\n%s", next, fp.log)
	}
	echoThrough(t, addr, "after")
	// A second reload finds it under the number the first one gave it.
	from = fp.log.len()
	syscall.Kill(next, syscall.SIGHUP)
	_, line := fp.log.wait(t, from, "reload: process ", 20*time.Second)
	var third int
	fmt.Sscanf(line[strings.Index(line, "reload: process "):], "reload: process %d", &third)
	killAtEnd(t, third)
	waitExit(t, next, 20*time.Second)
	echoThrough(t, addr, "again")
}

// In daemon mode the process in the background gets the inherited socket.
func TestFDBindDaemon(t *testing.T) {
	ln, addr := inheritedTCP(t)
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "fjord.pid")
	cfg := fdProxyConfig(t, 3, echoBackend(t).Addr().String(), "")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := withContext(ctx, fjordCmd(t, "-D", "-p", pidFile, "-f", cfg))
	cmd.ExtraFiles = []*os.File{ln}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("fjord -D: %v\n%s", err, out)
	}
	ln.Close()
	pid := readPID(t, pidFile)
	killAtEnd(t, pid)
	if !strings.Contains(string(out), "listening on fd@3 ("+addr+")") {
		t.Errorf("output of fjord -D lacks the inherited listener:\n%s", out)
	}
	echoThrough(t, addr, "daemon")
	syscall.Kill(pid, syscall.SIGTERM)
	waitExit(t, pid, 10*time.Second)
}

// askAPI sends a runtime API command over TCP and reads the answer.
func askAPI(t *testing.T, addr, cmd string) string {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(c, cmd+"\n")
	c.(*net.TCPConn).CloseWrite()
	out, err := io.ReadAll(c)
	if err != nil {
		t.Fatalf("%s: %v", cmd, err)
	}
	return string(out)
}

// "stats socket fd@N", as VTest writes it: the runtime API answers on the
// TCP socket fjord was started with, before and after a reload.
func TestStatsSocketOnInheritedFD(t *testing.T) {
	fe, feAddr := inheritedTCP(t)
	cli, cliAddr := inheritedTCP(t)
	cfg := fdProxyConfig(t, 3, echoBackend(t).Addr().String(), "  stats socket fd@4 level admin\n")
	fp := startWithFiles(t, []*os.File{fe, cli}, nil, "-db", "-f", cfg)
	fp.log.wait(t, 0, "runtime API on fd@4 (level admin)", 10*time.Second)
	fp.log.wait(t, 0, "listening on fd@3", 10*time.Second)
	if out := askAPI(t, cliAddr, "show info"); !strings.Contains(out, "Name: fjord") {
		t.Fatalf("show info answered %q", out)
	}
	if out := askAPI(t, cliAddr, "disable server px/s1"); strings.TrimSpace(out) != "" {
		t.Fatalf("level admin: disable server answered %q", out)
	}
	from, _ := reloadAndWaitOld(t, fp)
	fp.log.wait(t, from, "runtime API on fd@4 (level admin)", 10*time.Second)
	if out := askAPI(t, cliAddr, "show info"); !strings.Contains(out, "Name: fjord") {
		t.Fatalf("after the reload, show info answered %q", out)
	}
	echoThrough(t, feAddr, "after")
}

// A stats socket fd@N that is not a listening socket stops fjord at
// startup, naming the line and the descriptor.
func TestStatsSocketInheritedFDRefused(t *testing.T) {
	fe, _ := inheritedTCP(t)
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	cfg := fdProxyConfig(t, 3, "127.0.0.1:9", "  stats socket fd@4 level admin\n  stats socket fd@5\n")
	for _, tc := range []struct {
		name  string
		files []*os.File
		want  string
	}{
		{"a pipe", []*os.File{fe, w, nil}, fmt.Sprintf("stats socket: fd@4 (%s:4): descriptor 4 is not a socket: it is a pipe", cfg)},
		{"closed", []*os.File{fe, fe}, fmt.Sprintf("stats socket: fd@5 (%s:5): descriptor 5 is not open", cfg)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			cmd := withContext(ctx, fjordCmd(t, "-db", "-f", cfg))
			cmd.ExtraFiles = tc.files
			out, err := cmd.CombinedOutput()
			if err == nil || !strings.Contains(string(out), tc.want) {
				t.Fatalf("want a failure with %q; got %v:\n%s", tc.want, err, out)
			}
		})
	}
}

// fjordCmdEnv is fjordCmd with extra environment.
func fjordCmdEnv(t *testing.T, env []string, args ...string) *exec.Cmd {
	cmd := fjordCmd(t, args...)
	cmd.Env = append(cmd.Env, env...)
	return cmd
}
