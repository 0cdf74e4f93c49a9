// Package peers knows the proxies the harness compares: how to write each
// one's configuration, start it pinned and wait until it listens. Every
// proxy, fjord included, is a black-box process.
package peers

import (
	"context"
	"debug/buildinfo"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/fjordlb/fjord/bench/certs"
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
	// TLS says that the peer terminates TLS when Env.TLS is set.
	TLS bool
	// checkFlag turns the argv into a configuration check: the flag put
	// after the program (fjord's and HAProxy's -c, nginx's -t).
	checkFlag string
	// tlsLib says which TLS library the program uses.
	tlsLib func(bin string) string
	// Rules says that the peer runs the rule set of the rules-keepalive
	// scenario (RuleSet), and takes part in that scenario only.
	Rules bool
	// Ref names the peer that its "×HAProxy" ratios are over; "" is
	// HAProxy in the same mode (haproxy-tcp, haproxy-http).
	Ref string
	// OptIn: the peer runs only when named, never as part of "all" (a
	// variant measured for one question, such as busy-polling's).
	OptIn bool
}

// Env is what every peer is started with.
type Env struct {
	Group    *proc.Group
	CPUs     proc.CPUSet // every proxy is pinned to these
	Threads  int         // fjord's loops = HAProxy's nbthread = nginx's workers = io.Copy's GOMAXPROCS
	Backends []string    // the web nodes
	MaxConn  int         // the most connections any scenario holds open
	Dir      string      // configurations and logs go here
	BinDir   string      // fjord, fjord-iocopy, fjord-hop
	// Port returns the port for a peer; see Ports.
	Port func(peer string) (int, error)
	// TLS, when not nil, makes the peers that can (Peer.TLS) terminate
	// TLS on their listening port, and speak plain HTTP to the web nodes.
	TLS *TLS
}

// TLS is how the peers terminate TLS in an HTTPS scenario. Every peer is
// told to agree on the same thing with the generator's client
// (load.ClientTLS): TLS 1.3 with TLS_AES_128_GCM_SHA256 and X25519 (TLS
// 1.2 allowed, with AEAD suites only), ALPN http/1.1.
type TLS struct {
	Cert *certs.Files
	// NoResumption turns session tickets and the session cache off, where
	// each connection is a full handshake: no peer then spends CPU issuing
	// tickets the client never uses.
	NoResumption bool
}

// The suites every peer is given. TLS 1.3's one suite is what the rows
// compare; TLS 1.2's are the AEAD ones with ECDHE, for a client that
// cannot do 1.3.
const (
	TLS13Suite  = "TLS_AES_128_GCM_SHA256"
	TLS12Suites = "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"
	TLSCurve    = "X25519"
)

// All is every peer, in report order. direct comes first: it is what the
// generator and the web nodes manage alone.
var All = []*Peer{
	{Name: "direct", Mode: None, Doc: "no proxy: the generator talks to the web nodes"},
	{Name: "fjord-tcp", Mode: TCP, Doc: "fjord, mode tcp", find: binIn("fjord"), config: fjordConfig(TCP, false)},
	{Name: "fjord-http", Mode: HTTP, Doc: "fjord, mode http, option http-keep-alive", find: binIn("fjord"), config: fjordConfig(HTTP, false), TLS: true, checkFlag: "-c", tlsLib: goTLS},
	{Name: "haproxy-tcp", Mode: TCP, Doc: "HAProxy, mode tcp, option splice-auto", find: inPath("haproxy"), config: haproxyConfig(TCP, false)},
	{Name: "haproxy-http", Mode: HTTP, Doc: "HAProxy, mode http, option http-keep-alive, option splice-auto", find: inPath("haproxy"), config: haproxyConfig(HTTP, false), TLS: true, checkFlag: "-c", tlsLib: openSSLOf("-vv", "Running on OpenSSL version : ")},
	{Name: "nginx-stream", Mode: TCP, Doc: "nginx stream proxy", find: nginxStream, config: nginxConfig(TCP)},
	{Name: "nginx-http", Mode: HTTP, Doc: "nginx http proxy, upstream keepalive", find: inPath("nginx"), config: nginxConfig(HTTP), TLS: true, checkFlag: "-t", tlsLib: openSSLOf("-V", "running with ")},
	{Name: "iocopy", Mode: TCP, Doc: "plain Go: two goroutines per connection calling io.Copy", find: binIn("fjord-iocopy"), config: iocopyConfig},
	// The rules-keepalive scenario's: fjord-http's and haproxy-http's
	// configurations with the rule set added. nginx and the io.Copy
	// proxy have no counterpart: neither reads this rule language.
	{Name: RulesFjord, Mode: HTTP, Doc: "fjord-http with the rules-keepalive scenario's rule set", find: binIn("fjord"), config: fjordConfig(HTTP, true), checkFlag: "-c", Rules: true, Ref: RulesHAProxy},
	{Name: RulesHAProxy, Mode: HTTP, Doc: "haproxy-http with the rules-keepalive scenario's rule set", find: inPath("haproxy"), config: haproxyConfig(HTTP, true), checkFlag: "-c", Rules: true, Ref: RulesHAProxy},
	// Issue 20's busy-polling question: fjord with "busy-polling
	// adaptive" against itself without, named on the command line.
	{Name: "fjord-tcp-bp", Mode: TCP, Doc: "fjord-tcp with busy-polling adaptive (100us)", find: binIn("fjord"), config: fjordConfigGlobal(TCP, "fjord-bp", "  busy-polling adaptive\n"), OptIn: true},
	{Name: "fjord-http-bp", Mode: HTTP, Doc: "fjord-http with busy-polling adaptive (100us)", find: binIn("fjord"), config: fjordConfigGlobal(HTTP, "fjord-bp", "  busy-polling adaptive\n"), OptIn: true},
	// Issue 20's sockmap fast path, against fjord-tcp: the kernel
	// forwards each established session (tune.sockmap on needs root).
	{Name: "fjord-tcp-km", Mode: TCP, Doc: "fjord-tcp with tune.sockmap on (the kernel forwards)", find: binIn("fjord"), config: fjordConfigGlobal(TCP, "fjord-km", "  tune.sockmap on\n"), OptIn: true},
	// Issue 20's io_uring question: one minimal HTTP/1.1 keep-alive hop
	// (bench/hop) with fjord's epoll loop design and with an io_uring
	// one, everything else the same, named on the command line.
	{Name: "hop-epoll", Mode: HTTP, Doc: "bench/hop, a minimal HTTP/1.1 keep-alive hop: fjord's epoll loop design", find: binIn("fjord-hop"), config: hopConfig("epoll"), OptIn: true},
	{Name: "hop-uring", Mode: HTTP, Doc: "bench/hop with an io_uring loop: multishot accept and recv, a provided buffer ring, one io_uring_enter a turn", find: binIn("fjord-hop"), config: hopConfig("uring"), OptIn: true},
}

// The peers of the rules-keepalive scenario: fjord with the rule set
// against fjord without it (RulesBaseline, the keepalive scenario's
// fjord-http) and against HAProxy with the same rule set.
const (
	RulesFjord    = "fjord-rules"
	RulesHAProxy  = "haproxy-rules"
	RulesBaseline = "fjord-http"
)

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
				if !p.OptIn {
					add(p)
				}
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

// ErrRefused is wrapped by Check's answer for a configuration the peer
// refuses: its rows say "refused: ..." and the run goes on without it.
var ErrRefused = errors.New("refused")

// Refusal is a peer's refusal of its configuration: the messages it
// printed.
type Refusal struct {
	Peer    string
	Command string
	// Lines are its messages, errors first ("[ALERT]", "[emerg]"), each
	// shortened by Shorten, without the closing "Fatal errors found"
	// and the like.
	Lines []string
	// Errors counts the errors among Lines.
	Errors int
}

func (r *Refusal) Error() string {
	return fmt.Sprintf("%s refused its configuration: %s", r.Peer, strings.Join(r.Lines, "; "))
}

func (r *Refusal) Unwrap() error { return ErrRefused }

// First is the message to show in one table cell: the first error, and
// how many more there are.
func (r *Refusal) First() string {
	if len(r.Lines) == 0 {
		return "no message"
	}
	switch n := r.Errors - 1; {
	case n == 1:
		return r.Lines[0] + " (and 1 more error)"
	case n > 1:
		return fmt.Sprintf("%s (and %d more errors)", r.Lines[0], n)
	}
	return r.Lines[0]
}

var (
	// "[ALERT]    (1234) : config : ", "[ALERT] ", "nginx: [emerg] "
	msgPrefix = regexp.MustCompile(`^(nginx: )?\[(ALERT|WARNING|NOTICE|emerg|alert|crit|warn)\]\s*(\(\d+\)\s*:\s*)?(config\s*:\s*)?`)
	// "parsing [/dir/file.cfg:12] : "
	parsingAt = regexp.MustCompile(`parsing \[([^\]]*/)?([^/\]]+)\] : `)
	// "/dir/file.cfg:12: " at the start
	pathAt = regexp.MustCompile(`^/(?:[^\s:/]*/)*([^\s:/]+:\d+: )`)
)

// shorten takes a message's prefixes off, and the directory off the file
// it names: "file.cfg:12: what".
func shorten(l string) string {
	l = msgPrefix.ReplaceAllString(l, "")
	l = parsingAt.ReplaceAllString(l, "$2: ")
	return pathAt.ReplaceAllString(l, "$1")
}

// refusal reads a failed check's output.
func refusal(peer, command string, out []byte) *Refusal {
	r := &Refusal{Peer: peer, Command: command}
	var errs, other []string
	for _, l := range strings.Split(string(out), "\n") {
		l = strings.TrimSpace(l)
		switch {
		case l == "", strings.Contains(l, "Fatal errors found in configuration"), strings.Contains(l, "Error(s) found in configuration file"),
			strings.Contains(l, "configuration file") && strings.Contains(l, "test failed"):
			continue
		}
		isErr := strings.Contains(l, "[ALERT]") || strings.Contains(l, "[emerg]") || strings.Contains(l, "[alert]") || strings.Contains(l, "[crit]")
		l = shorten(l)
		if isErr {
			errs = append(errs, l)
		} else {
			other = append(other, l)
		}
	}
	r.Lines = append(errs, other...)
	r.Errors = len(errs)
	return r
}

// Check writes the peer's configuration for env, as Start would, and has
// the peer check it (fjord -c, haproxy -c, nginx -t). A configuration the
// peer refuses is a *Refusal (errors.Is ErrRefused); a peer that has no
// check passes. A configuration it accepts may still come with warnings
// ("'ssl-default-bind-ciphersuites' is not honored ..."), returned for
// the report, shortened as a refusal's messages are.
func (p *Peer) Check(ctx context.Context, env *Env) (warnings []string, err error) {
	if p.checkFlag == "" {
		return nil, nil
	}
	// The command line Start will use, so that the messages name the
	// same lines.
	argv, extraEnv, _, err := p.commandLine(env)
	if err != nil {
		return nil, err
	}
	argv = append([]string{argv[0], p.checkFlag}, argv[1:]...)
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), extraEnv...)
	cmd.Dir = env.Dir
	out, err := cmd.CombinedOutput()
	if err == nil {
		return checkWarnings(out), nil
	}
	if ctx.Err() != nil {
		return nil, fmt.Errorf("%s: %s: %w", p.Name, strings.Join(argv, " "), ctx.Err())
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		return nil, fmt.Errorf("%s: %s: %w", p.Name, strings.Join(argv, " "), err)
	}
	r := refusal(p.Name, strings.Join(argv, " "), out)
	if len(r.Lines) == 0 {
		r.Lines = []string{fmt.Sprintf("exit status %d and no message", ee.ExitCode())}
	}
	return nil, r
}

// checkWarnings are the warnings in an accepted check's output.
func checkWarnings(out []byte) []string {
	var ws []string
	for _, l := range strings.Split(string(out), "\n") {
		l = strings.TrimSpace(l)
		if strings.Contains(l, "[WARNING]") || strings.Contains(l, "[warn]") {
			ws = append(ws, shorten(l))
		}
	}
	return ws
}

// TLSLibrary says which TLS library the peer terminates TLS with, for the
// report: "OpenSSL 3.0.19 27 Jan 2026". "" when unknown.
func (p *Peer) TLSLibrary(env *Env) string {
	if p.tlsLib == nil || p.find == nil {
		return ""
	}
	bin, err := p.find(env)
	if err != nil {
		return ""
	}
	return p.tlsLib(bin)
}

// openSSLOf runs the program with flag and reads the OpenSSL version
// from the line that holds prefix ("running with OpenSSL 3.0.19 27 Jan
// 2026)"), else from "built with".
func openSSLOf(flag, prefix string) func(string) string {
	return func(bin string) string {
		out, err := exec.Command(bin, flag).CombinedOutput()
		if err != nil {
			return ""
		}
		return OpenSSLVersion(string(out), prefix)
	}
}

// OpenSSLVersion finds the OpenSSL version in a program's version output:
// after prefix, else after "built with " or "Built with OpenSSL version : ".
func OpenSSLVersion(out, prefix string) string {
	for _, pre := range []string{prefix, "built with ", "Built with OpenSSL version : "} {
		i := strings.Index(out, pre)
		if i < 0 {
			continue
		}
		v, _, _ := strings.Cut(out[i+len(pre):], "\n")
		v, _, _ = strings.Cut(v, ")")
		v = strings.TrimSpace(v)
		if !strings.HasPrefix(v, "OpenSSL") {
			v = "OpenSSL " + v
		}
		return v
	}
	return ""
}

// goTLS is fjord's: Go's crypto/tls for handshakes, the version of Go it
// was built with.
func goTLS(bin string) string {
	bi, err := buildinfo.ReadFile(bin)
	if err != nil {
		return ""
	}
	return "Go " + strings.TrimPrefix(bi.GoVersion, "go") + " crypto/tls"
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

// commandLine finds the peer's program, takes its port and writes its
// configuration: what Check and Start both run. Each call takes a new
// port.
func (p *Peer) commandLine(env *Env) (argv, extraEnv []string, port int, err error) {
	if env.TLS != nil && !p.TLS {
		return nil, nil, 0, fmt.Errorf("%s: does not terminate TLS here", p.Name)
	}
	bin, err := p.find(env)
	if err != nil {
		return nil, nil, 0, fmt.Errorf("%s: %w", p.Name, err)
	}
	if port, err = env.Port(p.Name); err != nil {
		return nil, nil, 0, err
	}
	argv, extraEnv, err = p.config(env, bin, port)
	if err != nil {
		return nil, nil, 0, fmt.Errorf("%s: configuration: %w", p.Name, err)
	}
	return argv, extraEnv, port, nil
}

// Start writes the peer's configuration, starts it pinned to env.CPUs and
// waits until it accepts connections. A peer that ends before that, or
// does not listen within 15 s, is an error holding the end of its log.
func (p *Peer) Start(env *Env) (*Instance, error) {
	if p.Mode == None {
		return &Instance{Peer: p, Addrs: env.Backends}, nil
	}
	argv, extraEnv, port, err := p.commandLine(env)
	if err != nil {
		return nil, err
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
