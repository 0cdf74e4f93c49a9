package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The test binary doubles as the command, so that signal handling is tested
// on a real process without a separate go build.
func TestMain(m *testing.M) {
	if os.Getenv("FJORD_WEBNODE_AS_MAIN") == "1" {
		main()
	}
	os.Exit(m.Run())
}

func TestBadCommandLines(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	busyAddr := busy.Addr().String()

	tests := []struct {
		name string
		args []string
		code int
		want string // in stderr
	}{
		{"no listen", nil, 2, "fjord-webnode: no node to serve"},
		{"no equals sign", []string{"-listen", "127.0.0.1:8081"}, 2,
			`fjord-webnode: -listen "127.0.0.1:8081": want NAME=ADDR`},
		{"empty name", []string{"-listen", "=127.0.0.1:0"}, 2,
			`fjord-webnode: -listen "=127.0.0.1:0": the node name is empty`},
		{"name with a space", []string{"-listen", "web 01=127.0.0.1:0"}, 2,
			`fjord-webnode: -listen "web 01=127.0.0.1:0": the node name may only hold`},
		{"no port", []string{"-listen", "web01=127.0.0.1"}, 2,
			`fjord-webnode: -listen "web01=127.0.0.1": address 127.0.0.1: missing port in address`},
		{"port not a number", []string{"-listen", "web01=127.0.0.1:http"}, 2,
			`fjord-webnode: -listen "web01=127.0.0.1:http": port "http" is not a number`},
		{"port too large", []string{"-listen", "web01=127.0.0.1:65536"}, 2,
			`port "65536" is not a number from 0 to 65535`},
		{"same name twice", []string{"-listen", "a=127.0.0.1:0", "-listen", "a=127.0.0.1:0"}, 2,
			`fjord-webnode: -listen "a=127.0.0.1:0": node "a" is given twice`},
		{"negative body", []string{"-listen", "a=127.0.0.1:0", "-body", "-1"}, 2,
			"must not be negative"},
		{"stray argument", []string{"-listen", "a=127.0.0.1:0", "extra"}, 2,
			`unexpected argument "extra"`},
		{"unknown flag", []string{"-port", "80"}, 2, "flag provided but not defined: -port"},
		{"port in use", []string{"-listen", "a=127.0.0.1:0", "-listen", "web01=" + busyAddr}, 1,
			`fjord-webnode: -listen "web01=` + busyAddr + `": bind: address already in use`},
		{"help", []string{"-h"}, 0, "usage: fjord-webnode -listen NAME=ADDR"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), tc.args, &stdout, &stderr)
			if code != tc.code {
				t.Errorf("exit %d, want %d; stderr:\n%s", code, tc.code, stderr.String())
			}
			if !strings.Contains(stderr.String(), tc.want) {
				t.Errorf("stderr does not contain %q:\n%s", tc.want, stderr.String())
			}
			if stdout.Len() != 0 {
				t.Errorf("stdout not empty: %q", stdout.String())
			}
		})
	}
}

// readAddrs reads one "NAME listening on ADDR" line per name and returns the
// addresses by name.
func readAddrs(t *testing.T, r io.Reader, names ...string) map[string]string {
	t.Helper()
	sc := bufio.NewScanner(r)
	addrs := map[string]string{}
	for _, want := range names {
		if !sc.Scan() {
			t.Fatalf("no line for %s: %v", want, sc.Err())
		}
		name, addr, ok := strings.Cut(sc.Text(), " listening on ")
		if !ok || name != want {
			t.Fatalf("line %q, want %q listening on ADDR", sc.Text(), want)
		}
		addrs[name] = addr
	}
	return addrs
}

func get(t *testing.T, url string) (string, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.Header.Get("X-Served-By"), string(b)
}

func TestServesSeveralNodes(t *testing.T) {
	pr, pw := io.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	var stderr bytes.Buffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{
			"-listen", "web01=127.0.0.1:0", "-listen", "web02=127.0.0.1:0",
			"-body", "10", "-large", "1000",
		}, pw, &stderr)
		pw.Close()
	}()
	addrs := readAddrs(t, pr, "web01", "web02")
	go io.Copy(io.Discard, pr) //nolint:errcheck // nothing more is expected

	for _, name := range []string{"web01", "web02"} {
		base := "http://" + addrs[name]
		if by, body := get(t, base+"/hello"); by != name || body != "served by "+name+": GET /hello\n" {
			t.Errorf("%s: GET /hello answered by %q: %q", name, by, body)
		}
		if _, body := get(t, base+"/body"); len(body) != 10 {
			t.Errorf("%s: /body is %d bytes, want 10", name, len(body))
		}
		if _, body := get(t, base+"/large"); len(body) != 1000 {
			t.Errorf("%s: /large is %d bytes, want 1000", name, len(body))
		}
	}
	cancel()
	if code := <-done; code != 0 {
		t.Errorf("exit %d after cancel; stderr:\n%s", code, stderr.String())
	}
	for name, addr := range addrs {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			t.Errorf("%s still accepts on %s after run returned", name, addr)
		}
	}
}

func TestSignalsStopTheProcess(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-listen", "web01=127.0.0.1:0", "-large", "100")
			cmd.Env = append(os.Environ(), "FJORD_WEBNODE_AS_MAIN=1")
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			out, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer cmd.Process.Kill() //nolint:errcheck // only if the test failed first
			addrs := readAddrs(t, out, "web01")
			if by, _ := get(t, "http://"+addrs["web01"]+"/"); by != "web01" {
				t.Fatalf("answered by %q", by)
			}
			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			waited := make(chan error, 1)
			go func() { waited <- cmd.Wait() }()
			select {
			case err := <-waited:
				if err != nil {
					t.Errorf("exit after %v: %v; stderr:\n%s", sig, err, stderr.String())
				}
			case <-time.After(30 * time.Second):
				t.Fatalf("still running 30s after %v", sig)
			}
		})
	}
}
