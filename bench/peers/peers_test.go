package peers

import (
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fjordlb/fjord/bench/proc"
	"github.com/fjordlb/fjord/bench/webnode"
	"github.com/valyala/fasthttp"
)

// binDir holds fjord, fjord-iocopy and fjord-hop, built once for the package's tests.
var binDir string

func TestMain(m *testing.M) {
	// The fjord these tests start runs as root, and would tune this
	// host's kernel (tune.sysctl on): point it at a tree that does not
	// exist, as cmd/fjord's tests do. The host is not theirs to change.
	if os.Getenv("FJORD_SYSCTL_ROOT") == "" {
		os.Setenv("FJORD_SYSCTL_ROOT", "/nonexistent/fjord-tests-never-tune-the-host")
	}
	dir, err := os.MkdirTemp("", "fjord-peers-")
	if err != nil {
		panic(err)
	}
	binDir = dir
	code := 1
	if err := build(dir); err != nil {
		os.Stderr.WriteString("building the peers: " + err.Error() + "\n")
	} else {
		code = m.Run()
	}
	os.RemoveAll(dir)
	os.Exit(code)
}

func build(dir string) error {
	for _, b := range [][2]string{{"fjord", "../../cmd/fjord"}, {"fjord-iocopy", "../cmd/iocopy"}, {"fjord-hop", "../cmd/hop"}} {
		out, err := exec.Command("go", "build", "-o", filepath.Join(dir, b[0]), b[1]).CombinedOutput()
		if err != nil {
			return errors.New(string(out))
		}
	}
	return nil
}

func webNodes(t *testing.T) []string {
	t.Helper()
	var addrs []string
	for _, name := range []string{"web1", "web2"} {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		srv := webnode.New(name, webnode.Options{BodySize: 64, LargeSize: 1 << 20}).Server()
		go srv.Serve(ln) //nolint:errcheck
		t.Cleanup(func() { srv.Shutdown() })
		addrs = append(addrs, ln.Addr().String())
	}
	return addrs
}

func testEnv(t *testing.T, g *proc.Group) *Env {
	cpus, err := proc.Allowed()
	if err != nil {
		t.Fatal(err)
	}
	return &Env{
		Group: g, CPUs: cpus[len(cpus)-1:], Threads: 1, Backends: webNodes(t),
		MaxConn: 1000, Dir: t.TempDir(), BinDir: binDir, Port: Ports(0),
	}
}

// TestEveryPeerProxies starts each peer that is installed, pinned, and
// sends requests through it: both web nodes answer (round robin), the
// proxy's whole tree is pinned, and it stops without leaving a process.
func TestEveryPeerProxies(t *testing.T) {
	g, err := proc.NewGroup()
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close(2 * time.Second)
	env := testEnv(t, g)
	for _, p := range All {
		t.Run(p.Name, func(t *testing.T) {
			if err := p.Missing(env); err != nil {
				if errors.Is(err, ErrNotInstalled) {
					t.Skip(err)
				}
				t.Fatal(err)
			}
			if p.Rules {
				checkRules(t, p, env)
			}
			in, err := p.Start(env)
			if err != nil {
				t.Fatal(err)
			}
			var tree []int
			if in.Proc != nil {
				tree, _ = proc.Tree(in.Proc.Pid())
				for _, pid := range tree {
					cpus, err := proc.CPUsOf(pid)
					if err != nil || cpus.String() != env.CPUs.String() {
						t.Errorf("process %d of %s runs on CPUs %v (%v), want %v", pid, p.Name, cpus, err, env.CPUs)
					}
				}
			}
			served := map[string]bool{}
			for i := range 4 {
				addr := in.Addrs[i%len(in.Addrs)]
				var req fasthttp.Request
				var resp fasthttp.Response
				req.SetRequestURI("http://" + addr + "/body")
				// A new connection each time: tcp proxies balance per
				// connection.
				req.SetConnectionClose()
				if err := fasthttp.DoTimeout(&req, &resp, 5*time.Second); err != nil {
					t.Fatalf("request %d through %s: %v\n%s", i, p.Name, err, output(in))
				}
				if resp.StatusCode() != 200 || len(resp.Body()) != 64 {
					t.Fatalf("through %s: status %d, %d bytes", p.Name, resp.StatusCode(), len(resp.Body()))
				}
				served[string(resp.Header.Peek("X-Served-By"))] = true
				if p.Rules {
					rulesApplied(t, p.Name, &resp)
				}
			}
			if !served["web1"] || !served["web2"] {
				t.Errorf("through %s, served by %v; want both web nodes", p.Name, served)
			}
			if p.Rules {
				rulesRedirect(t, p.Name, in.Addrs[0])
			}
			in.Stop()
			for _, pid := range tree {
				if proc.Alive(pid) {
					t.Errorf("process %d of %s still runs after Stop", pid, p.Name)
				}
			}
		})
	}
}

// TestStartFailureShowsLog: a proxy that exits at start is an error that
// holds the end of its log.
func TestStartFailureShowsLog(t *testing.T) {
	g, err := proc.NewGroup()
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close(2 * time.Second)
	env := testEnv(t, g)
	env.BinDir = t.TempDir()
	script := "#!/bin/sh\necho 'fjord: [ALERT] parsing bench.cfg:3 : something is wrong' >&2\nexit 1\n"
	if err := os.WriteFile(filepath.Join(env.BinDir, "fjord"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	_, err = byName("fjord-tcp").Start(env)
	if err == nil || !strings.Contains(err.Error(), "exited while starting") || !strings.Contains(err.Error(), "something is wrong") {
		t.Errorf("error %v; want one saying it exited, with its log", err)
	}
	env.BinDir = t.TempDir()
	if err := byName("fjord-tcp").Missing(env); err == nil || !strings.Contains(err.Error(), "make bench builds it") {
		t.Errorf("missing fjord: %v", err)
	}
}

func TestPortInUse(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	// The web nodes take base and base+1; direct base+2; fjord-tcp base+3.
	base := ln.Addr().(*net.TCPAddr).Port - 3
	_, err = Ports(base)("fjord-tcp")
	if err == nil || !strings.Contains(err.Error(), "in use") || !strings.Contains(err.Error(), "fjord-tcp") {
		t.Errorf("port in use: %v", err)
	}
	if _, err := Ports(65535)("iocopy"); err == nil {
		t.Error("a port above 65535: no error")
	}
}

func TestLookup(t *testing.T) {
	ps, err := Lookup([]string{"haproxy-tcp", "fjord-tcp", "haproxy-tcp"})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range ps {
		names = append(names, p.Name)
	}
	if got := strings.Join(names, " "); got != "direct haproxy-tcp fjord-tcp" {
		t.Errorf("got %q; want direct first, then as given, once each", got)
	}
	if _, err := Lookup([]string{"haproxy", "x"}); err == nil || !strings.Contains(err.Error(), `unknown proxy "haproxy"`) {
		t.Errorf("unknown name: %v", err)
	}
	// "all" is every peer but the opt-in variants, which run when named.
	all, _ := Lookup([]string{"all"})
	optIn := 0
	for _, p := range All {
		if p.OptIn {
			optIn++
		}
	}
	if optIn == 0 || len(all) != len(All)-optIn {
		t.Errorf("all: %d peers, want %d (%d opt-in left out)", len(all), len(All)-optIn, optIn)
	}
	for _, p := range all {
		if p.OptIn {
			t.Errorf("all holds the opt-in %s", p.Name)
		}
	}
	if bp, err := Lookup([]string{"fjord-tcp-bp"}); err != nil || len(bp) != 2 || bp[1].Name != "fjord-tcp-bp" {
		t.Errorf("an opt-in peer named: %v, %v", bp, err)
	}
}

func output(in *Instance) string {
	if in.Proc == nil {
		return ""
	}
	return in.Proc.Output()
}
