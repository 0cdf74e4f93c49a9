// Package peers knows the proxies the harness compares: how to write each
// one's configuration, start it pinned and wait until it listens. Every
// proxy, fjord included, is a black-box process.
package peers

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/fjordlb/fjord/bench/proc"
)

// Mode is the layer a peer proxies at. Ratios "to HAProxy" compare a peer
// with HAProxy in the same mode.
type Mode string

const (
	None Mode = "none" // direct: no proxy
	TCP  Mode = "tcp"
	HTTP Mode = "http"
)

// Peer is one proxy under test.
type Peer struct {
	Name string
	Mode Mode
	// Doc says in a few words what runs, for the report.
	Doc string
	// find returns the program to run, or an error saying it is missing.
	find func(env *Env) (string, error)
	// config writes the configuration and returns the argv.
	config func(env *Env, bin string, port int) ([]string, []string, error)
}

// Env is what every peer is started with.
type Env struct {
	Group    *proc.Group
	CPUs     proc.CPUSet // every proxy is pinned to these
	Threads  int         // fjord's loops = HAProxy's nbthread = nginx's workers = io.Copy's GOMAXPROCS
	Backends []string    // the web nodes
	MaxConn  int         // the most connections any scenario holds open
	Dir      string      // configurations and logs go here
	BinDir   string      // fjord, fjord-iocopy
	// Port returns the port for a peer; see Ports.
	Port func(peer string) (int, error)
}

// All is every peer, in report order. direct comes first: it is what the
// generator and the web nodes manage alone.
var All = []*Peer{
	{Name: "direct", Mode: None, Doc: "no proxy: the generator talks to the web nodes"},
	{Name: "fjord-tcp", Mode: TCP, Doc: "fjord, mode tcp", find: binIn("fjord"), config: fjordConfig(TCP)},
	{Name: "fjord-http", Mode: HTTP, Doc: "fjord, mode http, option http-keep-alive", find: binIn("fjord"), config: fjordConfig(HTTP)},
	{Name: "haproxy-tcp", Mode: TCP, Doc: "HAProxy, mode tcp, option splice-auto", find: inPath("haproxy"), config: haproxyConfig(TCP)},
	{Name: "haproxy-http", Mode: HTTP, Doc: "HAProxy, mode http, option http-keep-alive, option splice-auto", find: inPath("haproxy"), config: haproxyConfig(HTTP)},
	{Name: "nginx-stream", Mode: TCP, Doc: "nginx stream proxy", find: nginxStream, config: nginxConfig(TCP)},
	{Name: "nginx-http", Mode: HTTP, Doc: "nginx http proxy, upstream keepalive", find: inPath("nginx"), config: nginxConfig(HTTP)},
	{Name: "iocopy", Mode: TCP, Doc: "plain Go: two goroutines per connection calling io.Copy", find: binIn("fjord-iocopy"), config: iocopyConfig},
}

// Lookup returns the peers named, in the order given; "all" is every peer.
// direct is added first when it is not named: the generator's own share is
// always in the table.
func Lookup(names []string) ([]*Peer, error) {
	var out []*Peer
	seen := map[string]bool{}
	add := func(p *Peer) {
		if !seen[p.Name] {
			seen[p.Name] = true
			out = append(out, p)
		}
	}
	add(All[0])
	for _, n := range names {
		n = strings.TrimSpace(n)
		if n == "all" {
			for _, p := range All {
				add(p)
			}
			continue
		}
		p := byName(n)
		if p == nil {
			return nil, fmt.Errorf("unknown proxy %q; known: all, %s", n, strings.Join(Names(), ", "))
		}
		add(p)
	}
	return out, nil
}

// Names lists every peer's name.
func Names() []string {
	var s []string
	for _, p := range All {
		s = append(s, p.Name)
	}
	return s
}

func byName(n string) *Peer {
	for _, p := range All {
		if p.Name == n {
			return p
		}
	}
	return nil
}

// ErrNotInstalled is wrapped by Missing's answer for a peer whose program
// is not on this machine: its rows say "not installed", never 0.
var ErrNotInstalled = errors.New("not installed")

// Missing returns nil when the peer can run here, or why not.
func (p *Peer) Missing(env *Env) error {
	if p.find == nil {
		return nil
	}
	_, err := p.find(env)
	return err
}

func inPath(name string) func(*Env) (string, error) {
	return func(*Env) (string, error) {
		bin, err := exec.LookPath(name)
		if err != nil {
			return "", fmt.Errorf("%w: %s is not in PATH (make bench-deps installs it)", ErrNotInstalled, name)
		}
		return bin, nil
	}
}

// binIn finds one of fjord's own programs in the build directory. Those are
// not optional: make bench builds them.
func binIn(name string) func(*Env) (string, error) {
	return func(env *Env) (string, error) {
		bin := filepath.Join(env.BinDir, name)
		if st, err := os.Stat(bin); err != nil || st.IsDir() || st.Mode()&0o111 == 0 {
			return "", fmt.Errorf("%s: not found or not executable (make bench builds it, or go build -o %s)", bin, bin)
		}
		return bin, nil
	}
}

// Instance is a running peer.
type Instance struct {
	Peer *Peer
	// Addrs are where the load goes: the proxy's address, or for direct
	// the web nodes themselves.
	Addrs []string
	Proc  *proc.Proc // nil for direct
	Log   string     // the log file
}

// Start writes the peer's configuration, starts it pinned to env.CPUs and
// waits until it accepts connections. A peer that ends before that, or
// does not listen within 15 s, is an error holding the end of its log.
func (p *Peer) Start(env *Env) (*Instance, error) {
	if p.Mode == None {
		return &Instance{Peer: p, Addrs: env.Backends}, nil
	}
	bin, err := p.find(env)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", p.Name, err)
	}
	port, err := env.Port(p.Name)
	if err != nil {
		return nil, err
	}
	argv, extraEnv, err := p.config(env, bin, port)
	if err != nil {
		return nil, fmt.Errorf("%s: configuration: %w", p.Name, err)
	}
	log := filepath.Join(env.Dir, p.Name+".log")
	pr, err := env.Group.Start(proc.Spec{Name: p.Name, Argv: argv, Env: extraEnv, Dir: env.Dir, CPUs: env.CPUs, Log: log})
	if err != nil {
		return nil, err
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	in := &Instance{Peer: p, Addrs: []string{addr}, Proc: pr, Log: log}
	if err := WaitListening(pr, addr, 15*time.Second); err != nil {
		pr.Stop(2 * time.Second)
		return nil, fmt.Errorf("%s: %w\n%s: %s\n--- the end of its log (%s) ---\n%s", p.Name, err, p.Name, strings.Join(argv, " "), log, strings.TrimRight(pr.Output(), "\n"))
	}
	return in, nil
}

// Stop stops the peer and its workers.
func (in *Instance) Stop() {
	if in.Proc != nil {
		in.Proc.Stop(5 * time.Second)
	}
}

// WaitListening waits until addr accepts connections, then a moment more
// for an immediate exit to show; an error when pr ends first or within
// passes.
func WaitListening(pr *proc.Proc, addr string, within time.Duration) error {
	deadline := time.Now().Add(within)
	for {
		select {
		case <-pr.Done():
			return fmt.Errorf("exited while starting (%v)", pr.Err())
		default:
		}
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			// A moment for a master's workers to come up, and for an
			// immediate exit (a configuration error found after bind)
			// to show.
			select {
			case <-pr.Done():
				return fmt.Errorf("exited while starting (%v)", pr.Err())
			case <-time.After(100 * time.Millisecond):
			}
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("does not accept connections on %s after %v", addr, within)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Ports hands out ports: base+0 and base+1 for the web nodes (named
// "web1", "web2"), then one per peer in the order of All. With base 0
// every port is a free one the kernel picks. Either way a port is checked
// free before use, so that a port in use is an error naming it, not a
// proxy that silently shares it through SO_REUSEPORT.
func Ports(base int) func(name string) (int, error) {
	return func(name string) (int, error) {
		if base == 0 {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				return 0, fmt.Errorf("a free port for %s: %w", name, err)
			}
			port := ln.Addr().(*net.TCPAddr).Port
			ln.Close()
			return port, nil
		}
		off := -1
		switch name {
		case "web1":
			off = 0
		case "web2":
			off = 1
		default:
			for i, p := range All {
				if p.Name == name {
					off = 2 + i
				}
			}
		}
		if off < 0 {
			return 0, fmt.Errorf("no port for %q", name)
		}
		port := base + off
		if port > 65535 {
			return 0, fmt.Errorf("port %d for %s is above 65535: choose a lower -port-base", port, name)
		}
		ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err != nil {
			return 0, fmt.Errorf("port 127.0.0.1:%d for %s is in use (%v): stop what holds it or choose another -port-base", port, name, err)
		}
		ln.Close()
		return port, nil
	}
}
