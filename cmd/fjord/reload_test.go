package main

import (
	"bufio"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/fjordlb/fjord/config"
	"github.com/fjordlb/fjord/engine"
)

// notifySocket stands in for systemd: it receives the datagrams fjord
// sends to NOTIFY_SOCKET.
type notifySocket struct {
	path string
	msgs chan string
}

func listenNotify(t *testing.T) *notifySocket {
	t.Helper()
	path := filepath.Join(t.TempDir(), "notify")
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	ns := &notifySocket{path: path, msgs: make(chan string, 64)}
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := c.Read(buf)
			if err != nil {
				close(ns.msgs)
				return
			}
			ns.msgs <- string(buf[:n])
		}
	}()
	return ns
}

// ready waits for a READY=1 that names a main process, and returns it.
// Messages before it are returned too, in order.
func (ns *notifySocket) ready(t *testing.T, within time.Duration) (int, []string) {
	t.Helper()
	var seen []string
	timeout := time.After(within)
	for {
		select {
		case m, ok := <-ns.msgs:
			if !ok {
				t.Fatal("notify socket closed")
			}
			seen = append(seen, m)
			if pid := notifyField(m, "MAINPID"); pid != "" && strings.Contains(m, "READY=1") {
				n, _ := strconv.Atoi(pid)
				return n, seen
			}
		case <-timeout:
			t.Fatalf("no READY=1 with MAINPID within %v; got %q", within, seen)
		}
	}
}

func notifyField(msg, key string) string {
	for _, line := range strings.Split(msg, "\n") {
		if v, ok := strings.CutPrefix(line, key+"="); ok {
			return v
		}
	}
	return ""
}

// download fetches /big on its own connection, reading slowly until
// hold is closed, and reports the body's sha256.
func download(addr string, size int, started chan<- struct{}, hold <-chan struct{}) ([32]byte, error) {
	var sum [32]byte
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return sum, err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(3 * time.Minute))
	fmt.Fprintf(c, "GET /big HTTP/1.1\r\nHost: x\r\n\r\n")
	br := bufio.NewReaderSize(c, 64<<10)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		return sum, err
	}
	if resp.StatusCode != 200 || resp.ContentLength != int64(size) {
		return sum, fmt.Errorf("GET /big: %d, length %d", resp.StatusCode, resp.ContentLength)
	}
	h := sha256.New()
	buf := make([]byte, 64<<10)
	var got int64
	for {
		n, err := resp.Body.Read(buf)
		h.Write(buf[:n])
		got += int64(n)
		if got >= 1<<20 && started != nil {
			close(started)
			started = nil
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return sum, fmt.Errorf("after %d bytes: %w", got, err)
		}
		select {
		case <-hold:
		default:
			// Slow until the reloads are done, and stalled past the
			// middle, so that the download spans all of them.
			if got > int64(size/2) {
				select {
				case <-hold:
				case <-time.After(2 * time.Minute):
					return sum, errors.New("the reloads did not finish")
				}
			} else {
				time.Sleep(2 * time.Millisecond)
			}
		}
	}
	copy(sum[:], h.Sum(nil))
	return sum, nil
}

// TestReloadDropsNothing reloads fjord 5 times, through loop counts that
// shrink and grow, while 2,000 requests (a connection per request and
// keep-alive) go through it and a 64 MiB download that began before the
// first reload is read slowly. Every request must get its 200, the
// download must arrive whole, systemd must hear of every new main
// process, and every old process must exit once its sessions ended.
func TestReloadDropsNothing(t *testing.T) {
	const (
		requests = 2000
		reloads  = 5
		bigSize  = 64 << 20
		batch    = 400
	)
	be := startBackend(t, bigSize)
	dir := t.TempDir()
	fe := freeAddr(t)
	cfgPath := httpConfig(t, dir, fe, be.addr, "  nbthread 2")
	pidFile := filepath.Join(dir, "fjord.pid")
	ns := listenNotify(t)
	fp := startFjord(t, []string{"NOTIFY_SOCKET=" + ns.path}, "-db", "-p", pidFile, "-f", cfgPath)
	pl := fp.log
	mainPID, _ := ns.ready(t, 20*time.Second)
	if mainPID != fp.pid() {
		t.Fatalf("MAINPID=%d, want %d", mainPID, fp.pid())
	}
	pids := []int{mainPID}

	started, hold := make(chan struct{}), make(chan struct{})
	dl := make(chan error, 1)
	go func() {
		sum, err := download(fe, bigSize, started, hold)
		if err == nil && sum != be.bigSum {
			err = errors.New("the download's sha256 differs from the body sent")
		}
		dl <- err
	}()
	select {
	case <-started:
	case err := <-dl:
		t.Fatalf("download: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("download did not start")
	}

	// The clients take a token per request; the reloader hands them out
	// in batches, so that every reload happens with requests under way.
	tokens := make(chan struct{}, requests)
	release := func(n int) {
		for i := 0; i < n; i++ {
			tokens <- struct{}{}
		}
	}
	var (
		done, failed atomic.Int64
		errMu        sync.Mutex
		errs         []error
		wg           sync.WaitGroup
	)
	for w := 0; w < 4; w++ {
		tr := &http.Transport{DisableKeepAlives: w%2 == 1, MaxIdleConnsPerHost: 2}
		c := &http.Client{Transport: tr, Timeout: 20 * time.Second}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer tr.CloseIdleConnections()
			for range tokens {
				if err := get(c, "http://"+fe+"/", "ok"); err != nil {
					failed.Add(1)
					errMu.Lock()
					errs = append(errs, err)
					errMu.Unlock()
				}
				done.Add(1)
			}
		}()
	}
	release(batch)
	released := batch
	nbthread := []int{1, 3, 2, 4, 2}
	for k := 1; k <= reloads; k++ {
		deadline := time.Now().Add(60 * time.Second)
		for done.Load() < int64(batch*k-batch/2) {
			if time.Now().After(deadline) {
				t.Fatalf("reload %d: requests stalled at %d", k, done.Load())
			}
			time.Sleep(time.Millisecond)
		}
		writeConfig(t, cfgPath, fe, be.addr, fmt.Sprintf("  nbthread %d", nbthread[k-1]))
		cur := pids[len(pids)-1]
		if err := syscall.Kill(cur, syscall.SIGHUP); err != nil {
			t.Fatalf("reload %d: %v", k, err)
		}
		next, msgs := ns.ready(t, 30*time.Second)
		if next == cur {
			t.Fatalf("reload %d: READY=1 from the old process %d: %q\n%s", k, cur, msgs, pl)
		}
		if !strings.Contains(strings.Join(msgs, "\n"), "RELOADING=1") {
			t.Errorf("reload %d: systemd was not told RELOADING=1: %q", k, msgs)
		}
		killAtEnd(t, next)
		pids = append(pids, next)
		if got := readPID(t, pidFile); got != next {
			t.Errorf("reload %d: pidfile holds %d, want %d", k, got, next)
		}
		if n := min(batch, requests-released); n > 0 {
			release(n)
			released += n
		}
	}
	close(tokens)
	wg.Wait()
	close(hold)
	if err := <-dl; err != nil {
		t.Fatalf("download across %d reloads: %v", reloads, err)
	}
	if failed.Load() != 0 {
		t.Fatalf("%d of %d requests failed across %d reloads; first: %v", failed.Load(), done.Load(), reloads, errs[0])
	}
	if done.Load() != requests {
		t.Fatalf("%d requests made, want %d", done.Load(), requests)
	}
	// Every process but the last finishes its sessions and exits.
	for _, pid := range pids[:len(pids)-1] {
		waitExit(t, pid, 30*time.Second)
	}
	last := pids[len(pids)-1]
	if !alive(last) {
		t.Fatalf("the last process %d does not run", last)
	}
	if err := get(&http.Client{Timeout: 5 * time.Second}, "http://"+fe+"/", "ok"); err != nil {
		t.Fatal(err)
	}
	pl.wait(t, 0, "soft stop: every session has ended", 5*time.Second)
	syscall.Kill(last, syscall.SIGTERM)
	waitExit(t, last, 10*time.Second)
	if _, err := os.Stat(pidFile); !os.IsNotExist(err) {
		t.Errorf("pidfile left after the last process stopped: %v", err)
	}
	t.Logf("%d requests, %d reloads, a %d MiB download: nothing lost", done.Load(), reloads, bigSize>>20)
}

// TestReloadFailureKeepsServing: a configuration that does not validate,
// or a new process that cannot start, leaves the running process as it
// was, and the log says why.
func TestReloadFailureKeepsServing(t *testing.T) {
	be := startBackend(t, 0)
	busy := freeAddr(t)
	busyLn := listenOn(t, busy)
	defer busyLn.Close()
	for _, tc := range []struct {
		name  string
		write func(path, fe string)
		why   []string
	}{
		{"invalid configuration", func(path, fe string) {
			writeConfig(t, path, fe, be.addr, "  bogus-keyword 1")
		}, []string{"unknown keyword 'bogus-keyword'", "reload failed: the configuration is not valid; still serving"}},
		{"new address taken", func(path, fe string) {
			writeConfig(t, path, fe, be.addr, "")
			f, _ := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
			fmt.Fprintf(f, "listen other\n  bind %s\n  server s1 %s\n", busy, be.addr)
			f.Close()
		}, []string{"cannot bind " + busy, "reload failed: process", "still serving"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			fe := freeAddr(t)
			cfgPath := httpConfig(t, dir, fe, be.addr, "")
			pidFile := filepath.Join(dir, "fjord.pid")
			ns := listenNotify(t)
			fp := startFjord(t, []string{"NOTIFY_SOCKET=" + ns.path}, "-db", "-p", pidFile, "-f", cfgPath)
			pl := fp.log
			ns.ready(t, 20*time.Second)
			c := &http.Client{Timeout: 5 * time.Second}
			if err := get(c, "http://"+fe+"/", "ok"); err != nil {
				t.Fatal(err)
			}
			tc.write(cfgPath, fe)
			from := pl.len()
			fp.cmd.Process.Signal(syscall.SIGHUP)
			for _, want := range tc.why {
				pl.wait(t, from, want, 20*time.Second)
			}
			// systemd hears that the reload ended, with the old process.
			timeout := time.After(10 * time.Second)
			for got := ""; !strings.Contains(got, "READY=1"); {
				select {
				case got = <-ns.msgs:
				case <-timeout:
					t.Fatal("no READY=1 after the failed reload")
				}
				if pid := notifyField(got, "MAINPID"); pid != "" && pid != strconv.Itoa(fp.pid()) {
					t.Fatalf("a failed reload announced main process %s", pid)
				}
			}
			if !alive(fp.pid()) || readPID(t, pidFile) != fp.pid() {
				t.Fatal("the running process did not survive a failed reload")
			}
			for i := 0; i < 20; i++ {
				if err := get(c, "http://"+fe+"/", "ok"); err != nil {
					t.Fatalf("after the failed reload: %v", err)
				}
			}
		})
	}
}

// TestReloadKeepsUnixBind: a reload hands a Unix bind's socket to the
// new process, which serves the path on the very socket (same inode), and
// the old process leaves the path alone when it exits.
func TestReloadKeepsUnixBind(t *testing.T) {
	be := startBackend(t, 0)
	dir, err := os.MkdirTemp("", "fjord") // short: sun_path holds 108 bytes
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	sock := filepath.Join(dir, "fe.sock")
	cfgPath := httpConfig(t, dir, sock+" mode 660", be.addr, "  nbthread 2")
	ns := listenNotify(t)
	fp := startFjord(t, []string{"NOTIFY_SOCKET=" + ns.path}, "-db", "-f", cfgPath)
	first, _ := ns.ready(t, 20*time.Second)
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		DisableKeepAlives: true,
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", sock)
		},
	}}
	if err := get(c, "http://fjord/", "ok"); err != nil {
		t.Fatal(err)
	}
	var before unix.Stat_t
	if err := unix.Stat(sock, &before); err != nil {
		t.Fatal(err)
	}
	if before.Mode&0o777 != 0o660 {
		t.Errorf("%s: mode %o, want 660", sock, before.Mode&0o777)
	}
	from := fp.log.len()
	syscall.Kill(first, syscall.SIGHUP)
	next, _ := ns.ready(t, 30*time.Second)
	killAtEnd(t, next)
	if next == first {
		t.Fatal("no new process")
	}
	fp.log.wait(t, from, "took over the listening socket from the previous process", 10*time.Second)
	waitExit(t, first, 30*time.Second)
	var after unix.Stat_t
	if err := unix.Stat(sock, &after); err != nil {
		t.Fatalf("%s after the old process exited: %v", sock, err)
	}
	if after.Ino != before.Ino {
		t.Error("the new process bound the path again instead of serving the handed-over socket")
	}
	for range 5 {
		if err := get(c, "http://fjord/", "ok"); err != nil {
			t.Fatalf("after the reload: %v", err)
		}
	}
	syscall.Kill(next, syscall.SIGTERM)
	waitExit(t, next, 10*time.Second)
}

// TestSoftStop: SIGUSR1 stops accepting at once, lets the request in
// flight finish, and exits when it has; with hard-stop-after, a session
// that does not finish is cut when the time is up.
func TestSoftStop(t *testing.T) {
	for _, tc := range []struct {
		name   string
		global string
		finish bool // the backend answers the request in flight
		logs   string
	}{
		{"sessions finish", "", true, "soft stop: every session has ended"},
		{"hard-stop-after", "  hard-stop-after 300ms", false, "hard-stop-after 300ms reached, closing the 1 sessions left"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			be := startBackend(t, 0)
			dir := t.TempDir()
			fe := freeAddr(t)
			cfgPath := httpConfig(t, dir, fe, be.addr, tc.global)
			fp := startFjord(t, nil, "-db", "-f", cfgPath)
			pl := fp.log
			pl.wait(t, 0, "listening on", 10*time.Second)

			c, err := net.DialTimeout("tcp", fe, 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(20 * time.Second))
			fmt.Fprintf(c, "GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
			select {
			case <-be.slowIn:
			case <-time.After(10 * time.Second):
				t.Fatal("the request did not reach the backend")
			}
			fp.cmd.Process.Signal(syscall.SIGUSR1)
			pl.wait(t, 0, "soft stop: no longer accepting connections; 1 sessions to finish", 10*time.Second)
			if nc, err := net.DialTimeout("tcp", fe, 2*time.Second); err == nil {
				nc.Close()
				t.Fatal("a new connection was accepted after the soft stop began")
			} else if !errors.Is(err, syscall.ECONNREFUSED) {
				t.Fatalf("new connection after the soft stop: %v, want refused", err)
			}
			if tc.finish {
				select {
				case <-fp.exited:
					t.Fatalf("fjord exited (%v) with a request in flight", fp.waitErr)
				case <-time.After(100 * time.Millisecond):
				}
				close(be.release)
				resp, err := http.ReadResponse(bufio.NewReader(c), nil)
				if err != nil {
					t.Fatalf("in-flight request: %v", err)
				}
				body, _ := io.ReadAll(resp.Body)
				if resp.StatusCode != 200 || string(body) != "slow ok" || !resp.Close {
					t.Fatalf("in-flight request: %d %q close=%v", resp.StatusCode, body, resp.Close)
				}
			} else {
				defer close(be.release)
			}
			select {
			case <-fp.exited:
				if fp.waitErr != nil {
					t.Fatalf("fjord exited with %v after the soft stop", fp.waitErr)
				}
			case <-time.After(15 * time.Second):
				t.Fatal("fjord did not exit after the soft stop")
			}
			pl.wait(t, 0, tc.logs, time.Second)
			if !tc.finish {
				// The session was cut: the client sees its connection end.
				buf := make([]byte, 1)
				if n, err := c.Read(buf); err == nil {
					t.Fatalf("read %d bytes from a session hard-stop-after closed", n)
				}
			}
		})
	}
}

// TestSoftFinishFlag: a new fjord started with -sf PID, once listening,
// has the old one finish softly and exit.
func TestSoftFinishFlag(t *testing.T) {
	be := startBackend(t, 0)
	dir := t.TempDir()
	fe := freeAddr(t)
	cfgPath := httpConfig(t, dir, fe, be.addr, "")
	oldPID := filepath.Join(dir, "old.pid")
	old := startFjord(t, nil, "-db", "-p", oldPID, "-f", cfgPath)
	oldLog := old.log
	oldLog.wait(t, 0, "listening on", 10*time.Second)
	if !waitFile(oldPID, 10*time.Second) {
		t.Fatal("no pidfile")
	}
	newLog := startFjord(t, nil, "-db", "-f", cfgPath, "-sf", strconv.Itoa(readPID(t, oldPID))).log
	newLog.wait(t, 0, fmt.Sprintf("-sf: sent SIGUSR1 to process %d", old.pid()), 10*time.Second)
	oldLog.wait(t, 0, "received SIGUSR1: soft stop", 10*time.Second)
	waitExit(t, old.pid(), 10*time.Second)
	if _, err := os.Stat(oldPID); !os.IsNotExist(err) {
		t.Errorf("the old process left its pidfile: %v", err)
	}
	if err := get(&http.Client{Timeout: 5 * time.Second}, "http://"+fe+"/", "ok"); err != nil {
		t.Fatal(err)
	}
}

func TestListenFDsEnv(t *testing.T) {
	m, err := parseListenFDs("127.0.0.1:80=4,5;[::1]:443=6;fd@3=7,8;fd@0=9")
	if err != nil || len(m.addrs) != 2 || len(m.addrs[mustAddrPort("127.0.0.1:80")]) != 2 || m.addrs[mustAddrPort("[::1]:443")][0] != 6 {
		t.Fatalf("parse: %v %v", m, err)
	}
	if len(m.fds) != 2 || len(m.fds[3]) != 2 || m.fds[3][1] != 8 || m.fds[0][0] != 9 {
		t.Fatalf("parse fd@: %v", m.fds)
	}
	u, err := parseListenFDs("unix@%2Frun%2Ffe%3B1.sock=10,11;abns@fe+1=12;unix@rel.sock=13")
	if err != nil {
		t.Fatal(err)
	}
	if want := map[config.UnixAddr][]int{{Path: "/run/fe;1.sock"}: {10, 11}, {Path: "fe 1", Abstract: true}: {12}, {Path: "rel.sock"}: {13}}; !reflect.DeepEqual(u.unix, want) {
		t.Fatalf("parse unix@, abns@: %v, want %v", u.unix, want)
	}
	for _, bad := range []string{"127.0.0.1:80", "127.0.0.1=4", "127.0.0.1:80=2", "127.0.0.1:80=4;127.0.0.1:80=5",
		"127.0.0.1:80=4;[::1]:1=4", "x:1=4", "127.0.0.1:80=4,", "fd@=4", "fd@x=4", "fd@03=4", "fd@-1=4", "fd@3=4;fd@3=5", "fd@3=4;127.0.0.1:1=4",
		"unix@=4", "abns@=4", "unix@%zz=4", "unix@a=4;unix@a=5"} {
		if _, err := parseListenFDs(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

// What encodeListenFDs writes, parseListenFDs reads back: every socket
// under its key, numbered from the first descriptor.
func TestListenFDsRoundTrip(t *testing.T) {
	a, b := mustAddrPort("127.0.0.1:80"), mustAddrPort("[::1]:443")
	sock, abns := config.UnixAddr{Path: "/run/a=b,c;d.sock"}, config.UnixAddr{Path: "fe", Abstract: true}
	files := []engine.ListenerFile{{Addr: b, FD: -1}, {Addr: a, FD: -1}, {FD: 5}, {Addr: b, FD: -1}, {FD: 3}, {FD: 5},
		{FD: -1, Unix: sock}, {FD: -1, Unix: abns}, {FD: -1, Unix: sock}}
	enc := encodeListenFDs(files, 4)
	if want := "127.0.0.1:80=5;[::1]:443=4,7;abns@fe=11;unix@%2Frun%2Fa%3Db%2Cc%3Bd.sock=10,12;fd@3=8;fd@5=6,9"; enc != want {
		t.Errorf("encoded %q, want %q", enc, want)
	}
	m, err := parseListenFDs(enc)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(m.addrs, map[netip.AddrPort][]int{a: {5}, b: {4, 7}}) || !reflect.DeepEqual(m.fds, map[int][]int{3: {8}, 5: {6, 9}}) ||
		!reflect.DeepEqual(m.unix, map[config.UnixAddr][]int{sock: {10, 12}, abns: {11}}) {
		t.Errorf("read back %v %v %v", m.addrs, m.fds, m.unix)
	}
}

func FuzzParseListenFDs(f *testing.F) {
	f.Add("127.0.0.1:80=4,5;[::1]:443=6")
	f.Add("fd@3=4;127.0.0.1:80=5")
	f.Add("")
	f.Add("=;=,")
	f.Add("unix@%2Frun%2Ffe.sock=4;abns@x=5")
	f.Fuzz(func(t *testing.T, s string) {
		m, err := parseListenFDs(s)
		if err != nil {
			return
		}
		seen := map[int]bool{}
		check := func(key string, fds []int) {
			if len(fds) == 0 {
				t.Fatalf("%q: %s -> no descriptor", s, key)
			}
			for _, fd := range fds {
				if fd < 3 || seen[fd] {
					t.Fatalf("%q: descriptor %d", s, fd)
				}
				seen[fd] = true
			}
		}
		for addr, fds := range m.addrs {
			if !addr.IsValid() {
				t.Fatalf("%q: invalid address %v", s, addr)
			}
			check(addr.String(), fds)
		}
		for n, fds := range m.fds {
			if n < 0 {
				t.Fatalf("%q: fd@%d", s, n)
			}
			check(fmt.Sprintf("fd@%d", n), fds)
		}
		for u, fds := range m.unix {
			if !u.IsValid() {
				t.Fatalf("%q: empty Unix path", s)
			}
			check(u.String(), fds)
		}
		// What was read is written back the same way, and reads back.
		var files []engine.ListenerFile
		for addr, fds := range m.addrs {
			for range fds {
				files = append(files, engine.ListenerFile{Addr: addr, FD: -1})
			}
		}
		for n, fds := range m.fds {
			for range fds {
				files = append(files, engine.ListenerFile{FD: n})
			}
		}
		for u, fds := range m.unix {
			for range fds {
				files = append(files, engine.ListenerFile{FD: -1, Unix: u})
			}
		}
		again, err := parseListenFDs(encodeListenFDs(files, 3))
		if err != nil || len(again.addrs) != len(m.addrs) || len(again.fds) != len(m.fds) || !reflect.DeepEqual(keys(again.unix), keys(m.unix)) {
			t.Fatalf("%q: re-encoded form does not read back: %v", s, err)
		}
	})
}

func mustAddrPort(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }

// keys is the set of m's keys.
func keys[K comparable, V any](m map[K]V) map[K]bool {
	out := map[K]bool{}
	for k := range m {
		out[k] = true
	}
	return out
}

func waitFile(path string, within time.Duration) bool {
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		if _, err := os.Stat(path); err == nil {
			return true
		}
		time.Sleep(10 * time.Millisecond)
	}
	return false
}

// copyExecutable copies the running test binary (which acts as fjord) to
// path, through a temporary name and a rename, as make install does.
func copyExecutable(t *testing.T, path string) {
	t.Helper()
	b, err := os.ReadFile(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path+".new", b, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(path+".new", path); err != nil {
		t.Fatal(err)
	}
}

// TestReloadRunsTheInstalledBinary: an upgrade is "install, then reload":
// the new process of a reload runs the file now at fjord's path, not the
// replaced one the old process still runs.
func TestReloadRunsTheInstalledBinary(t *testing.T) {
	be := startBackend(t, 0)
	dir := t.TempDir()
	fe := freeAddr(t)
	cfgPath := httpConfig(t, dir, fe, be.addr, "")
	bin := filepath.Join(dir, "fjord")
	copyExecutable(t, bin)
	ns := listenNotify(t)
	cmd := exec.Command(bin, "-db", "-f", cfgPath)
	cmd.Env = append(os.Environ(), "FJORD_TEST_MAIN=1", "NOTIFY_SOCKET="+ns.path)
	pl := stderrLog(t, cmd)
	err := cmd.Start()
	cmd.Stderr.(*os.File).Close()
	if err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() { cmd.Process.Kill(); <-exited })
	first, _ := ns.ready(t, 20*time.Second)

	copyExecutable(t, bin) // the upgrade
	var installed syscall.Stat_t
	if err := syscall.Stat(bin, &installed); err != nil {
		t.Fatal(err)
	}
	syscall.Kill(first, syscall.SIGHUP)
	next, _ := ns.ready(t, 30*time.Second)
	killAtEnd(t, next)
	var running syscall.Stat_t
	if err := syscall.Stat(fmt.Sprintf("/proc/%d/exe", next), &running); err != nil {
		t.Fatal(err)
	}
	if running.Ino != installed.Ino || running.Dev != installed.Dev {
		t.Fatalf("the reloaded process %d runs the replaced binary, not the installed one\n%s", next, pl)
	}
	if err := get(&http.Client{Timeout: 5 * time.Second}, "http://"+fe+"/", "ok"); err != nil {
		t.Fatal(err)
	}
	waitExit(t, first, 10*time.Second)
}
