// Command fjord-bench is the benchmark harness: fjord against HAProxy,
// nginx, a plain Go io.Copy proxy and a direct connection, side by side,
// each proxy its own pinned process, over plain TCP/HTTP and, for the
// proxies that terminate TLS, over HTTPS; and fjord with a typical
// site's rule set against itself without it and HAProxy with it. It
// prints a Markdown table and writes it, the JSON and the plots to -out.
// See docs/benchmarks.md.
//
//	fjord-bench                 # the standard suite
//	fjord-bench -quick          # the short one (make bench-quick)
//	fjord-bench -scenarios keepalive,latency -proxies fjord-tcp,haproxy-tcp
//	fjord-bench -scenarios rules-keepalive
//	fjord-bench -scenarios https-keepalive,https-handshake-ecdsa -proxies fjord-http,haproxy-http,nginx-http
//	fjord-bench -quick -scenarios latency -rate 5000 -rounds 5
//	fjord-bench -quick -repeat-latency 10 -proxies fjord-tcp,haproxy-tcp
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/fjordlb/fjord/bench/certs"
	"github.com/fjordlb/fjord/bench/peers"
	"github.com/fjordlb/fjord/bench/proc"
	"github.com/fjordlb/fjord/bench/report"
	"github.com/fjordlb/fjord/bench/suite"
	"golang.org/x/sys/unix"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// usageError is a mistake on the command line: exit status 2.
type usageError struct{ error }

type flags struct {
	opts                suite.Options
	out, doc, cmdline   string
	proxyCPUs, loadCPUs string
	machineCPUs         string
	scenarios, proxies  string
	list                bool
	repeatLatency       int
}

func parse(args []string, stderr io.Writer) (*flags, error) {
	quick := false
	for _, a := range args {
		if a == "-quick" || a == "--quick" || a == "-quick=true" {
			quick = true
		}
	}
	f := &flags{opts: suite.Standard()}
	if quick {
		f.opts = suite.Quick()
	}
	o := &f.opts
	fs := flag.NewFlagSet("fjord-bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	// -quick was read above, before the other flags set their defaults.
	fs.Bool("quick", false, "the short suite: one round, 2 s runs, 256 MiB bulk, 2,000 idle connections, three of the HTTPS scenarios (set before other flags, which override it)")
	fs.BoolVar(&f.list, "list", false, "list the scenarios and proxies and exit")
	fs.StringVar(&f.scenarios, "scenarios", strings.Join(o.Scenarios, ","), "comma-separated `scenarios`: "+strings.Join(suite.Names, ", "))
	fs.StringVar(&f.proxies, "proxies", "all", "comma-separated `proxies` (direct is always added): all, "+strings.Join(peers.Names(), ", "))
	fs.IntVar(&o.Rounds, "rounds", o.Rounds, "rounds per scenario; the proxies alternate within each, and the median is reported")
	fs.DurationVar(&o.Warmup, "warmup", o.Warmup, "warm-up of each round, not recorded")
	fs.DurationVar(&o.Duration, "duration", o.Duration, "measured time of each round of the request scenarios")
	fs.IntVar(&o.Conns, "conns", o.Conns, "connections of the request scenarios")
	fs.Func("rate", "the latency scenario's fixed `rates` in req/s, comma-separated, a table each (0, the default: -rate-fraction of the slowest proxy's maximum)", func(v string) error {
		if strings.TrimSpace(v) == "0" {
			o.Rates = nil // as before rates were a list
			return nil
		}
		return floatList(&o.Rates)(v)
	})
	fs.Func("rate-fraction", "the latency scenario's `shares` of the slowest proxy's keep-alive maximum, comma-separated, a table each (default "+floatsText(o.RateFractions)+")", floatList(&o.RateFractions))
	fs.BoolVar(&o.PerRound, "per-round", false, "under each table of medians, a table of every round")
	fs.IntVar(&f.repeatLatency, "repeat-latency", 0, "run the latency scenario alone, `N` rounds, with a table of every round, to tell a stall in one round from noise: -scenarios latency -rounds N -per-round, and -proxies fjord-tcp unless given")
	fs.Float64Var(&o.TLSRate, "tls-rate", 0, "the https-flood-latency scenario's fixed rate on established sessions in req/s (0: -tls-rate-fraction of the slowest proxy's HTTPS keep-alive maximum)")
	fs.Float64Var(&o.TLSRateFraction, "tls-rate-fraction", o.TLSRateFraction, "the https-flood-latency scenario's share of the slowest proxy's HTTPS keep-alive maximum (low: the proxy needs room for the flood)")
	fs.IntVar(&o.FloodConns, "flood-conns", o.FloodConns, "full handshakes the https-flood-latency scenario's flood keeps in flight")
	fs.Func("flood-cert", "the https-flood-latency scenario's certificate: rsa-2048 (default: its handshakes load the proxy twice as much as ecdsa-p256's for the same load-side cost) or ecdsa-p256", func(v string) error {
		o.FloodCert = certs.Kind(v)
		return nil
	})
	fs.IntVar(&o.ReqSize, "req-size", o.ReqSize, "request body `bytes` (0 sends GET; more sends POST)")
	fs.IntVar(&o.RespSize, "resp-size", o.RespSize, "response body `bytes` of the request scenarios")
	fs.IntVar(&o.LargeSize, "large", o.LargeSize, "size in `bytes` of the bulk scenario's object")
	fs.Int64Var(&o.BulkBytes, "bulk", o.BulkBytes, "`bytes` moved through each proxy in the bulk scenario")
	fs.IntVar(&o.BulkConns, "bulk-conns", o.BulkConns, "connections of the bulk scenario")
	fs.IntVar(&o.IdleConns, "idle-conns", o.IdleConns, "connections of the idle scenario (fewer when RLIMIT_NOFILE cannot hold them; the run says so)")
	fs.StringVar(&f.proxyCPUs, "proxy-cpus", "", "`CPU list` every proxy is pinned to (default: the last CPU)")
	fs.StringVar(&f.loadCPUs, "load-cpus", "", "`CPU list` of the generator and the web nodes (default: the others)")
	fs.StringVar(&f.machineCPUs, "machine-cpus", "", "`CPU list` whose busy time is the machine's CPU figure (default: every CPU)")
	fs.IntVar(&o.Threads, "threads", 0, "threads of each proxy: fjord's nbthread, HAProxy's nbthread, nginx's workers, io.Copy's GOMAXPROCS (default: the number of proxy CPUs)")
	fs.StringVar(&o.BinDir, "bin", "bin", "`directory` holding fjord, fjord-webnode, fjord-iocopy, fjord-hop and fjord-tlsflood (make bench builds them)")
	fs.StringVar(&f.out, "out", "bench/results", "`directory` for results.md, results.json, the plots, and the run's configurations and logs")
	fs.StringVar(&f.doc, "doc", "", "also write the results table and plots into this Markdown `file` (between its fjord-bench markers) and the plots beside it in img/")
	fs.IntVar(&o.PortBase, "port-base", 0, "first loopback `port`: web nodes on it and the next, each proxy on one after (0: free ports)")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: fjord-bench [-quick] [flags]\n\nRuns fjord, HAProxy, nginx, an io.Copy proxy and a direct connection side by side.\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, usageError{fmt.Errorf("unexpected argument %q", fs.Arg(0))}
	}
	if err := f.repeat(fs); err != nil {
		return nil, usageError{err}
	}
	o.Scenarios = split(f.scenarios)
	o.Peers = split(f.proxies)
	if err := suite.CheckScenarios(o.Scenarios); err != nil {
		return nil, usageError{err}
	}
	if _, err := peers.Lookup(o.Peers); err != nil {
		return nil, usageError{err}
	}
	pc, lc, err := suite.DefaultCPUs()
	if err != nil {
		return nil, err
	}
	if f.proxyCPUs != "" {
		if pc, err = proc.ParseCPUSet(f.proxyCPUs); err != nil {
			return nil, usageError{fmt.Errorf("-proxy-cpus: %w", err)}
		}
	}
	if f.loadCPUs != "" {
		if lc, err = proc.ParseCPUSet(f.loadCPUs); err != nil {
			return nil, usageError{fmt.Errorf("-load-cpus: %w", err)}
		}
	}
	o.ProxyCPUs, o.LoadCPUs = pc, lc
	if o.MachineCPUs, err = proc.ParseCPUSet(f.machineCPUs); err != nil {
		return nil, usageError{fmt.Errorf("-machine-cpus: %w", err)}
	}
	if o.Threads == 0 {
		o.Threads = max(1, len(pc))
	}
	f.cmdline = "fjord-bench " + strings.Join(args, " ")
	return f, nil
}

// repeat applies -repeat-latency: the latency scenario alone, N rounds,
// every round shown. It sets -scenarios and -rounds, so giving either too
// is a mistake.
func (f *flags) repeat(fs *flag.FlagSet) error {
	if f.repeatLatency == 0 {
		return nil
	}
	if f.repeatLatency < 1 {
		return fmt.Errorf("-repeat-latency %d: want at least 1 round", f.repeatLatency)
	}
	given := map[string]bool{}
	fs.Visit(func(fl *flag.Flag) { given[fl.Name] = true })
	for _, name := range []string{"scenarios", "rounds"} {
		if given[name] {
			return fmt.Errorf("-repeat-latency sets -%s; give one or the other", name)
		}
	}
	f.scenarios = suite.Latency
	f.opts.Rounds = f.repeatLatency
	f.opts.PerRound = true
	if !given["proxies"] {
		f.proxies = "fjord-tcp"
	}
	return nil
}

// floatList is a flag of comma-separated numbers, which replace the
// default.
func floatList(dst *[]float64) func(string) error {
	return func(s string) error {
		var out []float64
		for _, v := range split(s) {
			x, err := strconv.ParseFloat(v, 64)
			if err != nil {
				return fmt.Errorf("%q is not a number", v)
			}
			out = append(out, x)
		}
		if len(out) == 0 {
			return fmt.Errorf("%q: no number", s)
		}
		*dst = out
		return nil
	}
}

func floatsText(vs []float64) string {
	var out []string
	for _, v := range vs {
		out = append(out, strconv.FormatFloat(v, 'g', -1, 64))
	}
	return strings.Join(out, ",")
}

func split(s string) []string {
	var out []string
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	f, err := parse(args, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintf(stderr, "fjord-bench: %v\n", err)
		var ue usageError
		if errors.As(err, &ue) {
			fmt.Fprintln(stderr, "fjord-bench -h lists the flags")
		}
		return 2
	}
	if f.list {
		fmt.Fprintf(stdout, "scenarios: %s\nproxies: %s\n", strings.Join(suite.Names, ", "), strings.Join(peers.Names(), ", "))
		return 0
	}
	o := f.opts
	o.WorkDir = filepath.Join(f.out, "run")
	o.Progress = stderr
	o.Live = isTerminal(stderr)
	t0 := time.Now()
	res, err := suite.Run(ctx, o)
	if o.Live {
		fmt.Fprintln(stderr)
	}
	if err != nil {
		if ctx.Err() != nil {
			fmt.Fprintln(stderr, "fjord-bench: interrupted; every process it started has been stopped")
			return 130
		}
		fmt.Fprintf(stderr, "fjord-bench: %v\n", err)
		return 1
	}
	res.Command = f.cmdline
	if err := write(f, res, stdout); err != nil {
		fmt.Fprintf(stderr, "fjord-bench: %v\n", err)
		return 1
	}
	for _, w := range res.Warnings {
		fmt.Fprintf(stderr, "warning: %s\n", w)
	}
	fmt.Fprintf(stderr, "fjord-bench: done in %v; results in %s\n", time.Since(t0).Round(time.Second), f.out)
	return 0
}

// write prints the Markdown and writes results.md, results.json and the
// plots into -out, and into -doc when given.
func write(f *flags, res *report.Results, stdout io.Writer) error {
	if err := os.MkdirAll(f.out, 0o755); err != nil {
		return err
	}
	// The tables, rendered once: results.md and -doc differ only in
	// where their plot links point.
	var tables bytes.Buffer
	header(&tables, res)
	if err := report.Markdown(&tables, res); err != nil {
		return err
	}
	names, err := report.Plots(f.out, res)
	if err != nil {
		return err
	}
	md := bytes.NewBuffer(bytes.Clone(tables.Bytes()))
	for _, n := range names {
		fmt.Fprintf(md, "![%s](%s.svg)\n\n", n, n)
	}
	if _, err := stdout.Write(md.Bytes()); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(f.out, "results.md"), md.Bytes(), 0o644); err != nil {
		return err
	}
	var js bytes.Buffer
	if err := report.JSON(&js, res); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(f.out, "results.json"), js.Bytes(), 0o644); err != nil {
		return err
	}
	if f.doc != "" {
		return writeDoc(f, tables.Bytes(), names)
	}
	return nil
}

func header(w io.Writer, res *report.Results) {
	fmt.Fprintf(w, "Run %s (%v) with `%s`.\n\n", res.Started.Format("2006-01-02 15:04 UTC"), res.Finished.Sub(res.Started).Round(time.Second), res.Command)
	for _, l := range res.Machine {
		fmt.Fprintf(w, "- %s\n", l)
	}
	fmt.Fprintln(w)
}

// The markers between which -doc replaces the document's text.
const (
	docBegin = "<!-- fjord-bench results begin: written by fjord-bench -doc, do not edit by hand -->"
	docEnd   = "<!-- fjord-bench results end -->"
)

// writeDoc replaces the text between the markers in the -doc file with
// this run's tables, and copies the plots to img/ beside it.
func writeDoc(f *flags, tables []byte, plots []string) error {
	data, err := os.ReadFile(f.doc)
	if err != nil {
		return fmt.Errorf("-doc: %w", err)
	}
	text := string(data)
	i, j := strings.Index(text, docBegin), strings.Index(text, docEnd)
	if i < 0 || j < i {
		return fmt.Errorf("-doc %s: no %q ... %q markers to write between", f.doc, docBegin, docEnd)
	}
	imgDir := filepath.Join(filepath.Dir(f.doc), "img")
	if err := os.MkdirAll(imgDir, 0o755); err != nil {
		return err
	}
	var b bytes.Buffer
	b.WriteString(docBegin + "\n\n")
	b.Write(tables)
	for _, n := range plots {
		for _, ext := range []string{".png", ".svg"} {
			src, err := os.ReadFile(filepath.Join(f.out, n+ext))
			if err != nil {
				return err
			}
			if err := os.WriteFile(filepath.Join(imgDir, "bench-"+n+ext), src, 0o644); err != nil {
				return err
			}
		}
		fmt.Fprintf(&b, "![%s](img/bench-%s.svg)\n\n", n, n)
	}
	out := text[:i] + b.String() + text[j:]
	return os.WriteFile(f.doc, []byte(out), 0o644)
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}
