// Package suite runs the benchmark's scenarios: it starts the web nodes,
// then for each scenario and each round every proxy in turn (A B C A B C
// ...), each freshly started, measures it, and gathers the rounds into a
// report.
package suite

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/fjordlb/fjord/bench/certs"
	"github.com/fjordlb/fjord/bench/peers"
	"github.com/fjordlb/fjord/bench/proc"
	"github.com/fjordlb/fjord/bench/report"
	"golang.org/x/sys/unix"
)

// Scenario names, in the order they run.
const (
	KeepAlive = "keepalive"
	Close     = "close"
	Bulk      = "bulk"
	Idle      = "idle"
	Latency   = "latency"
)

// Names lists the scenarios in the order they run: the plain ones, the
// rule set's, then the HTTPS ones (HTTPSNames).
var Names = append([]string{KeepAlive, Close, Bulk, Idle, Latency, RulesKeepAlive}, HTTPSNames...)

// Options configure a run. Standard and Quick are the two presets.
type Options struct {
	Scenarios []string
	Peers     []string
	Rounds    int

	Warmup, Duration time.Duration
	Conns            int // connections for the request scenarios
	ReqSize          int // request body bytes (0: GET)
	RespSize         int // response body bytes (the web nodes' /body)

	LargeSize int   // the web nodes' /large object
	BulkBytes int64 // moved through each proxy in the bulk scenario
	BulkConns int

	IdleConns int

	// Rates are the latency scenario's fixed rates, a table each; none
	// takes RateFractions of the slowest proxy's keep-alive maximum.
	Rates         []float64
	RateFractions []float64
	// PerRound adds a table of every round under each scenario's table
	// of medians: where a stall in one round would hide.
	PerRound bool
	// MachineCPUs are the CPUs whose busy time is the machine's CPU;
	// empty: every CPU.
	MachineCPUs proc.CPUSet

	// TLSRate is the flood-latency scenario's fixed rate on established
	// HTTPS sessions; 0 takes TLSRateFraction of the slowest proxy's
	// HTTPS keep-alive maximum. Low, so that the proxy has room for the
	// flood: the figure is how long established sessions wait behind
	// handshakes.
	TLSRate         float64
	TLSRateFraction float64
	// FloodConns is the handshakes the flood keeps in flight.
	FloodConns int
	// FloodCert is the certificate of the flood scenario. RSA by default:
	// its handshakes cost the server about twice an ECDSA one's and the
	// client the same, so that on two CPUs the flood keeps the proxy's
	// CPU busy before the load side's.
	FloodCert certs.Kind

	ProxyCPUs, LoadCPUs proc.CPUSet
	Threads             int

	BinDir   string
	WorkDir  string // configurations and logs of this run
	PortBase int

	Progress io.Writer
	Live     bool // Progress is a terminal: redraw one line while a round runs
}

// Standard is the full suite, the one docs/benchmarks.md shows.
func Standard() Options {
	return Options{
		Scenarios: Names, Peers: []string{"all"}, Rounds: 3,
		Warmup: 2 * time.Second, Duration: 8 * time.Second, Conns: 50, RespSize: 64,
		LargeSize: 64 << 20, BulkBytes: 1 << 30, BulkConns: 4, IdleConns: 10000, RateFractions: []float64{0.2, 0.5},
		TLSRateFraction: 0.1, FloodConns: 8, FloodCert: certs.RSA,
	}
}

// QuickHTTPS are the HTTPS scenarios of the short suite: those of fjord's
// targets for keep-alive requests and ECDSA handshakes, and the flood.
// The RSA handshakes and the bulk transfer are the standard suite's (or
// -quick -scenarios https-handshake-rsa,https-bulk).
var QuickHTTPS = []string{HTTPSKeepAlive, HTTPSHandshakeECDSA, HTTPSFlood}

// Quick is the short suite (make bench-quick): every plain scenario and
// proxy once, shorter and smaller, and three HTTPS scenarios.
func Quick() Options {
	o := Standard()
	o.Scenarios = append(slices.Clone(Names[:len(Names)-len(HTTPSNames)]), QuickHTTPS...)
	o.Rounds = 1
	o.Warmup, o.Duration = 500*time.Millisecond, 2*time.Second
	o.BulkBytes = 256 << 20
	o.IdleConns = 2000
	return o
}

// DefaultCPUs splits the CPUs this process may use: the last for the
// proxies, the rest for the generator and the web nodes. With one CPU both
// share it.
func DefaultCPUs() (proxy, loadSet proc.CPUSet, err error) {
	all, err := proc.Allowed()
	if err != nil {
		return nil, nil, err
	}
	if len(all) < 2 {
		return all, all, nil
	}
	return all[len(all)-1:], all[:len(all)-1], nil
}

// CheckScenarios returns an error naming the first unknown scenario.
func CheckScenarios(names []string) error {
	for _, n := range names {
		if !slices.Contains(Names, n) {
			return fmt.Errorf("unknown scenario %q; known: %s", n, strings.Join(Names, ", "))
		}
	}
	return nil
}

func (o *Options) check() error {
	if err := CheckScenarios(o.Scenarios); err != nil {
		return err
	}
	switch {
	case len(o.Scenarios) == 0:
		return errors.New("no scenario to run")
	case o.Rounds < 1:
		return fmt.Errorf("-rounds %d: want at least 1", o.Rounds)
	case o.Duration <= 0 || o.Warmup < 0:
		return fmt.Errorf("-duration %v, -warmup %v: want a duration above 0 and a warm-up of 0 or more", o.Duration, o.Warmup)
	case o.Conns < 1 || o.BulkConns < 1 || o.IdleConns < 1:
		return errors.New("-conns, -bulk-conns and -idle-conns must be at least 1")
	case o.ReqSize < 0 || o.RespSize < 0:
		return errors.New("-req-size and -resp-size must not be negative")
	case o.LargeSize < 1 || o.BulkBytes < int64(o.LargeSize):
		return fmt.Errorf("-bulk %d bytes must hold at least one object of -large %d bytes", o.BulkBytes, o.LargeSize)
	case len(o.Rates) == 0 && len(o.RateFractions) == 0:
		return errors.New("-rate-fraction: no fraction, and no -rate: the latency scenario has no rate to run at")
	case slices.ContainsFunc(o.Rates, func(v float64) bool { return !(v >= 1 && v <= 10_000_000) }):
		return fmt.Errorf("-rate %s: want rates from 1 to 10,000,000 req/s", floats(o.Rates))
	case slices.ContainsFunc(o.RateFractions, func(v float64) bool { return !(v > 0 && v <= 1) }):
		return fmt.Errorf("-rate-fraction %s: want fractions in (0, 1]", floats(o.RateFractions))
	case hasDuplicate(o.Rates) || hasDuplicate(o.RateFractions):
		return fmt.Errorf("-rate %s, -rate-fraction %s: a rate twice would be two tables of the same name", floats(o.Rates), floats(o.RateFractions))
	case o.TLSRate < 0 || o.TLSRateFraction <= 0 || o.TLSRateFraction > 1:
		return fmt.Errorf("-tls-rate %g, -tls-rate-fraction %g: want a rate of 0 or more and a fraction in (0, 1]", o.TLSRate, o.TLSRateFraction)
	case o.FloodConns < 1 || o.FloodConns > 1000:
		return fmt.Errorf("-flood-conns %d: want 1 to 1000", o.FloodConns)
	case !slices.Contains(certs.Kinds, o.FloodCert):
		return fmt.Errorf("-flood-cert %q: want one of %s, %s", o.FloodCert, certs.ECDSA, certs.RSA)
	case o.Threads < 1:
		return fmt.Errorf("-threads %d: want at least 1", o.Threads)
	case o.PortBase < 0 || o.PortBase > 65535:
		return fmt.Errorf("-port-base %d is not a port", o.PortBase)
	}
	return nil
}

func hasDuplicate(vs []float64) bool {
	for i, v := range vs {
		if slices.Contains(vs[i+1:], v) {
			return true
		}
	}
	return false
}

// floats writes vs as a flag takes them: "0.2,0.5".
func floats(vs []float64) string {
	var out []string
	for _, v := range vs {
		out = append(out, strconv.FormatFloat(v, 'g', -1, 64))
	}
	return strings.Join(out, ",")
}

// latencyPasses is the number of tables, one per rate, of the latency
// scenario.
func (o *Options) latencyPasses() int {
	if len(o.Rates) > 0 {
		return len(o.Rates)
	}
	return len(o.RateFractions)
}

// runner is the state of one run.
type runner struct {
	ctx     context.Context
	o       Options
	env     *peers.Env
	peers   []*peers.Peer
	missing map[string]error
	res     *report.Results
	web     *proc.Proc // the web nodes' process
	step    int
	steps   int

	// The HTTPS scenarios': the current scenario's TLS (nil for a plain
	// one), the peers that refused its configuration, this run's
	// certificates and where they are, the flood scenario's rate.
	tls        *peers.TLS
	refused    map[string]error
	checkNotes map[string][]string // the warnings of accepted checks
	tlsDir     string
	certs      map[certs.Kind]*certs.Files
	floodRate  float64

	// The latency scenario's current rate, and whether the machine's
	// CPU failed to read once already.
	rate          float64
	machineWarned bool
}

// Run runs the suite. Cancelling ctx (Ctrl-C) kills every process the run
// started and returns ctx's error; so does any other way out.
func Run(ctx context.Context, o Options) (*report.Results, error) {
	if err := o.check(); err != nil {
		return nil, err
	}
	ps, err := peers.Lookup(o.Peers)
	if err != nil {
		return nil, err
	}
	if o.Progress == nil {
		o.Progress = io.Discard
	}
	if err := os.MkdirAll(o.WorkDir, 0o755); err != nil {
		return nil, err
	}
	// Proxies run in the work directory: paths must not depend on ours.
	for _, d := range []*string{&o.WorkDir, &o.BinDir} {
		abs, err := filepath.Abs(*d)
		if err != nil {
			return nil, err
		}
		*d = abs
	}
	res := &report.Results{Started: time.Now().UTC()}
	if len(o.LoadCPUs) > 0 {
		if err := proc.PinSelf(o.LoadCPUs); err != nil {
			return nil, err
		}
		// One P more than CPUs: the open loop's pacer holds one while it
		// sleeps in nanosleep(2), and the connections must not wait for
		// the runtime to take it back. Every thread still runs on LoadCPUs.
		runtime.GOMAXPROCS(len(o.LoadCPUs) + 1)
	}
	// The generator and every child get the hard descriptor limit.
	hard := raiseNoFile()
	// Every proxy is configured with maxconn for the idle scenario, and
	// HAProxy refuses to start when 2 descriptors per connection do not
	// fit the limit: scale down, and say so when the idle scenario runs.
	if need := 2*o.IdleConns + 1000; hard > 0 && uint64(need) > hard {
		n := (int(hard) - 1000) / 2
		if slices.Contains(o.Scenarios, Idle) {
			res.Warnings = append(res.Warnings, fmt.Sprintf("idle: the hard RLIMIT_NOFILE is %d (ulimit -Hn) and a proxy needs 2 descriptors per connection, so the idle scenario holds %d connections, not %d", hard, n, o.IdleConns))
			fmt.Fprintf(o.Progress, "note: %s\n", res.Warnings[len(res.Warnings)-1])
		}
		o.IdleConns = n
	}

	// The certificates of the HTTPS scenarios, made for this run and
	// removed after it (after every proxy that read them has stopped).
	var tlsDir string
	if slices.ContainsFunc(o.Scenarios, isHTTPS) {
		if tlsDir, err = os.MkdirTemp("", "fjord-bench-tls-"); err != nil {
			return nil, err
		}
		defer os.RemoveAll(tlsDir)
	}

	g, err := proc.NewGroup()
	if err != nil {
		return nil, err
	}
	// However Run ends (an error, a panic, Ctrl-C), every child goes.
	defer g.Close(3 * time.Second)
	stop := context.AfterFunc(ctx, func() { g.Close(3 * time.Second) })
	defer stop()

	env := &peers.Env{
		Group: g, CPUs: o.ProxyCPUs, Threads: o.Threads,
		MaxConn: max(o.IdleConns, o.Conns, o.BulkConns) + 100,
		Dir:     o.WorkDir, BinDir: o.BinDir, Port: peers.Ports(o.PortBase),
	}
	web, backends, err := startWebNodes(env, o)
	if err != nil {
		return nil, err
	}
	env.Backends = backends

	r := &runner{ctx: ctx, o: o, env: env, missing: map[string]error{}, res: res, web: web, tlsDir: tlsDir, certs: map[certs.Kind]*certs.Files{}}
	for _, p := range ps {
		if err := p.Missing(env); err != nil {
			if !errors.Is(err, peers.ErrNotInstalled) {
				return nil, fmt.Errorf("%s: %w", p.Name, err)
			}
			r.missing[p.Name] = err
			fmt.Fprintf(o.Progress, "%s: %v; its rows say so\n", p.Name, err)
			continue
		}
		r.peers = append(r.peers, p)
	}
	res.Machine = machine(o, ps, r.missing)
	if tlsDir != "" {
		res.Machine = append(res.Machine, httpsMachine(env, ps, r.missing)...)
	}
	for _, name := range o.Scenarios {
		n := o.Rounds * len(r.participants(name))
		if name == Latency {
			n *= o.latencyPasses()
		}
		r.steps += n
	}
	for _, name := range o.Scenarios {
		if err := r.scenario(ctx, name); err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return nil, err
		}
	}
	// A bulk or idle round cut short by ctx is a note, not an error: a
	// cancelled last round must not give results.
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if sum := r.rulesSummary(); sum != nil {
		res.Summaries = append(res.Summaries, sum)
	}
	if sum := r.httpsSummary(); sum != nil {
		res.Summaries = append(res.Summaries, sum)
	}
	if ts := r.machineTargets(); ts != nil {
		res.Targets = append(res.Targets, ts)
	}
	res.Finished = time.Now().UTC()
	return res, nil
}

// raiseNoFile sets the soft descriptor limit to the hard one and returns
// it (0 when unknown).
func raiseNoFile() uint64 {
	var r unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &r); err != nil {
		return 0
	}
	r.Cur = r.Max
	_ = unix.Setrlimit(unix.RLIMIT_NOFILE, &r)
	return r.Max
}

// startWebNodes starts the two fasthttp web nodes, in one process of
// their own on the generator's CPUs.
func startWebNodes(env *peers.Env, o Options) (*proc.Proc, []string, error) {
	bin := filepath.Join(o.BinDir, "fjord-webnode")
	if _, err := os.Stat(bin); err != nil {
		return nil, nil, fmt.Errorf("%s: not found (make bench builds it, or go build -o %s ./cmd/fjord-webnode)", bin, bin)
	}
	argv := []string{bin, "-body", strconv.Itoa(o.RespSize), "-large", strconv.Itoa(o.LargeSize)}
	var addrs []string
	for _, name := range []string{"web1", "web2"} {
		port, err := env.Port(name)
		if err != nil {
			return nil, nil, err
		}
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		addrs = append(addrs, addr)
		argv = append(argv, "-listen", name+"="+addr)
	}
	threads := max(1, len(o.LoadCPUs))
	p, err := env.Group.Start(proc.Spec{
		Name: "web nodes", Argv: argv, Env: []string{"GOMAXPROCS=" + strconv.Itoa(threads)},
		CPUs: o.LoadCPUs, Log: filepath.Join(o.WorkDir, "webnodes.log"),
	})
	if err != nil {
		return nil, nil, err
	}
	for _, a := range addrs {
		if err := peers.WaitListening(p, a, 30*time.Second); err != nil {
			return nil, nil, fmt.Errorf("web nodes: %w\n--- their log ---\n%s", err, p.Output())
		}
	}
	return p, addrs, nil
}

// machine describes where the figures come from.
func machine(o Options, ps []*peers.Peer, missing map[string]error) []string {
	var u unix.Utsname
	_ = unix.Uname(&u)
	lines := []string{
		fmt.Sprintf("kernel %s %s, %d CPUs (%s)", cstr(u.Sysname[:]), cstr(u.Release[:]), runtime.NumCPU(), cpuModel()),
		fmt.Sprintf("proxies on CPUs %s with %d thread(s)/worker(s) each; generator and web nodes on CPUs %s", o.ProxyCPUs, o.Threads, o.LoadCPUs),
		machineText(o.MachineCPUs),
	}
	for _, p := range ps {
		if p.Mode == peers.None {
			continue
		}
		if err, ok := missing[p.Name]; ok {
			lines = append(lines, fmt.Sprintf("%s: %v", p.Name, err))
		} else {
			lines = append(lines, fmt.Sprintf("%s: %s", p.Name, p.Doc))
		}
	}
	return lines
}

// machineText says which CPUs the machine's CPU figures count.
func machineText(cpus proc.CPUSet) string {
	const what = "the busy time (user, nice, system, irq, softirq, steal in /proc/stat)"
	if len(cpus) == 0 {
		return fmt.Sprintf("machine CPU: %s of every CPU, per request or GB, and above direct's in the same round", what)
	}
	return fmt.Sprintf("machine CPU: %s of CPUs %s (-machine-cpus), per request or GB, and above direct's in the same round", what, cpus)
}

func cstr(b []byte) string {
	if i := strings.IndexByte(string(b), 0); i >= 0 {
		return string(b[:i])
	}
	return string(b)
}

func cpuModel() string {
	data, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "unknown CPU"
	}
	for _, l := range strings.Split(string(data), "\n") {
		if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown CPU"
}

// progress writes the line that says where the run is.
func (r *runner) progress(scen string, round int, peer, what string) {
	line := fmt.Sprintf("[%*d/%d] %-9s round %d/%d  %-12s %s", len(strconv.Itoa(r.steps)), r.step, r.steps, scen, round, r.o.Rounds, peer, what)
	if r.o.Live {
		// Redrawn in place; the final figures of a step stay on screen.
		fmt.Fprintf(r.o.Progress, "\r\033[K%s", line)
		return
	}
	fmt.Fprintln(r.o.Progress, line)
}

// live redraws the progress line every half second with the count of
// answered requests, until the returned function is called.
func (r *runner) live(scen string, round int, peer string, done *atomic.Int64, total time.Duration) func() {
	if !r.o.Live {
		return func() {}
	}
	t0 := time.Now()
	stop := make(chan struct{})
	ended := make(chan struct{})
	go func() {
		defer close(ended)
		tick := time.NewTicker(500 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				r.progress(scen, round, peer, fmt.Sprintf("%4.1fs/%.0fs  %d answered", time.Since(t0).Seconds(), total.Seconds(), done.Load()))
			}
		}
	}()
	return func() { close(stop); <-ended }
}
