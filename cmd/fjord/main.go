// Command fjord is a zero-copy TCP/HTTP load balancer that reads
// HAProxy-style configuration files.
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/fjordlb/fjord/config"
	"github.com/fjordlb/fjord/tls/settings"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "0.1.0-dev"

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// fileList collects repeated -f flags.
type fileList []string

func (f *fileList) String() string     { return strings.Join(*f, ",") }
func (f *fileList) Set(v string) error { *f = append(*f, v); return nil }

type options struct {
	files   fileList
	check   bool
	version bool
	fg      bool
	daemon  bool   // -D
	pidFile string // -p

	// cond is -cc's condition: evaluate it instead of running.
	cond *string

	// -sf and -st: processes to stop softly (SIGUSR1) or at once
	// (SIGTERM) once this one is listening, as in HAProxy.
	softFinish, hardFinish []int
	// args is the command line without -sf/-st, for the process a reload
	// starts.
	args []string
	// link reports startup to the fjord process that started this one
	// (daemon mode, reload); it is the stderr of everything before that.
	link *parentLink
	// startFDs are the descriptors fjord was started with, which fd@N
	// may name (inherit.go); startFDsErr says why they are unknown.
	startFDs    startFDs
	startFDsErr error
	systemd     systemdSockets // socket activation's sockets (systemd.go)
	haproxy     haproxyFlags   // HAProxy's flags (haproxyflags.go)
}

// errReported is a command-line error already written to stderr.
var errReported = errors.New("already reported")

func parseFlags(args []string, stderr io.Writer) (*options, error) {
	o := &options{}
	rest, err := o.takePIDLists(args)
	if err != nil {
		return nil, err
	}
	o.args = rest
	fs := flag.NewFlagSet("fjord", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Var(&o.files, "f", "configuration `file` or directory of *.cfg files (repeatable)")
	fs.BoolVar(&o.check, "c", false, "check the configuration and exit")
	fs.BoolVar(&o.version, "v", false, "print the version and exit")
	fs.BoolVar(&o.version, "V", false, "same as -v")
	fs.BoolVar(&o.fg, "db", false, "stay in the foreground (disable background mode)")
	fs.BoolVar(&o.daemon, "D", false, "run in the background (daemon mode, as 'daemon' in the global section)")
	fs.StringVar(&o.pidFile, "p", "", "write the process id to `file` (overrides 'pidfile')")
	fs.Func("cc", "evaluate the condition `expr` as '.if' does and exit: 0 true, 1 false, 2 error", func(s string) error {
		o.cond = &s
		return nil
	})
	o.haproxy.register(fs)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: fjord [-c] [-D|-db|-d] [-p PIDFILE] [-L NAME] -f FILE [-f FILE ...] [-sf|-st PID...]\n       fjord sysctl [-f FILE] check|apply|persist [FILE] | release\n       fjord cli SOCKET [COMMAND...]\n       fjord -cc EXPR\n       fjord -v|-vv\n")
		fs.PrintDefaults()
		fmt.Fprintf(stderr, "  -sf PID...\n    \tonce listening, stop these processes softly (SIGUSR1: they finish their sessions)\n")
		fmt.Fprintf(stderr, "  -st PID...\n    \tonce listening, stop these processes at once (SIGTERM)\n")
	}
	if err := fs.Parse(rest); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, err
		}
		// The flag package has printed the error and the usage.
		return nil, errReported
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if err := o.applyHAProxyFlags(stderr); err != nil {
		return nil, err
	}
	return o, nil
}

// takePIDLists removes -sf and -st with the process ids after them from
// args (the flag package knows no lists). As in HAProxy, the list runs to
// the next argument that starts with '-' and may be empty (an empty
// pidfile: nothing to stop).
func (o *options) takePIDLists(args []string) ([]string, error) {
	var rest []string
	for i := 0; i < len(args); i++ {
		var list *[]int
		switch args[i] {
		case "-sf", "--sf":
			list = &o.softFinish
		case "-st", "--st":
			list = &o.hardFinish
		default:
			rest = append(rest, args[i])
			continue
		}
		name := args[i]
		for i+1 < len(args) && !strings.HasPrefix(args[i+1], "-") {
			i++
			pid, err := strconv.Atoi(args[i])
			if err != nil || pid <= 0 {
				return nil, fmt.Errorf("%s: %q is not a process id", name, args[i])
			}
			*list = append(*list, pid)
		}
	}
	return rest, nil
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "sysctl" {
		return runSysctl(args[1:], stdout, stderr)
	}
	if len(args) > 0 && args[0] == "cli" {
		return runCLI(args[1:], os.Stdin, stdout, stderr)
	}
	// Before anything is opened: the descriptors fjord was started with.
	start, startErr := descriptorsAtStart()
	sd, sdErr := takeSystemdSockets()
	// A process started by fjord itself (daemon mode, a reload) sends
	// what it prints while starting to the process that started it.
	link := takeParentLink(stderr)
	defer link.close()
	stderr = link
	o, err := parseFlags(args, stderr)
	switch {
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errReported):
		return 1
	case err != nil:
		fmt.Fprintf(stderr, "fjord: %v\n", err)
		return 1
	}
	if o.haproxy.verbose {
		printBuildInfo(stdout)
		return 0
	}
	if o.version {
		fmt.Fprintf(stdout, "fjord version %s\n", version)
		return 0
	}
	if o.cond != nil {
		return checkCondition(*o.cond, o.configOptions(), stderr)
	}
	if len(o.files) == 0 {
		fmt.Fprintf(stderr, "fjord: no configuration file given (use -f FILE)\n")
		return 1
	}
	o.link = link
	o.startFDs, o.startFDsErr, o.systemd = start, startErr, sd
	if sdErr != nil {
		fmt.Fprintf(stderr, "[WARNING] socket activation: %v\n", sdErr)
	}
	var diag bytes.Buffer
	cfg, ok := load(o.files, o.configOptions(), &diag)
	var tlsSet *settings.Set
	if ok {
		tlsSet, ok = loadTLS(cfg, &diag)
	}
	background := ok && !o.check && o.goBackground(cfg)
	if !background {
		// A process going to the background prints nothing of its own:
		// its child prints the same diagnostics again.
		stderr.Write(diag.Bytes())
	}
	if !ok {
		return 1
	}
	if o.check {
		if !checkHost(cfg, stderr) {
			return 1
		}
		fmt.Fprintln(stdout, "Configuration file is valid")
		return 0
	}
	if background {
		return daemonize(o, cfg, stderr)
	}
	return serve(cfg, tlsSet, o, stderr)
}

// handshakeTimeouts warns of TLS binds whose frontend has no 'timeout
// client'. fjord does not warn about missing timeouts in general (see
// docs/configuration.md), but a TLS handshake has no other bound: a
// client that never finishes one would keep its connection forever.
func handshakeTimeouts(cfg *config.Config) []string {
	var warns []string
	for _, px := range cfg.Frontends() {
		if px.Timeouts.Client > 0 {
			continue
		}
		for _, b := range px.Binds {
			if b.TLS != nil {
				warns = append(warns, fmt.Sprintf("%s: %s: 'bind ... ssl' with no 'timeout client': a client that never finishes its TLS handshake keeps its connection forever", b.Pos, px))
				break
			}
		}
	}
	return warns
}

// loadTLS reads every certificate, CA and CRL file cfg names, as HAProxy
// does at startup and for -c, printing warnings about them and errors
// that name the line and the file. It reports whether TLS can be served.
func loadTLS(cfg *config.Config, stderr io.Writer) (*settings.Set, bool) {
	set, err := settings.Build(cfg)
	for _, w := range set.Warnings {
		fmt.Fprintf(stderr, "[WARNING] %s\n", w)
	}
	for _, w := range handshakeTimeouts(cfg) {
		fmt.Fprintf(stderr, "[WARNING] %s\n", w)
	}
	if err == nil && (len(set.Binds) > 0 || len(set.Servers) > 0) {
		if _, _, err = recordLayer(&cfg.Global); err != nil {
			err = fmt.Errorf("global: %w", err)
		}
	}
	if err != nil {
		for _, line := range strings.Split(err.Error(), "\n") {
			fmt.Fprintf(stderr, "[ALERT] %s\n", line)
		}
		fmt.Fprintln(stderr, "[ALERT] Fatal errors found in configuration.")
		return nil, false
	}
	return set, true
}

// load reads the configuration, printing notices and errors the way HAProxy
// does. It reports whether the configuration is usable.
func load(files []string, opts config.Options, stderr io.Writer) (*config.Config, bool) {
	cfg, err := config.Load(files, opts)
	if cfg != nil {
		for _, d := range cfg.Diagnostics {
			fmt.Fprintln(stderr, d)
		}
	}
	if err != nil {
		var list config.ErrorList
		if errors.As(err, &list) {
			for _, e := range list {
				fmt.Fprintf(stderr, "[ALERT] %s\n", e)
			}
		} else {
			fmt.Fprintf(stderr, "[ALERT] %v\n", err)
		}
		fmt.Fprintln(stderr, "[ALERT] Fatal errors found in configuration.")
		return nil, false
	}
	return cfg, true
}

// checkCondition is -cc, as in HAProxy: it evaluates a condition the way
// a '.if' line would and exits 0 when it is true, 1 when it is false and
// 2 when it cannot be read or answered, so that scripts (and HAProxy's
// reg-tests, which ask "feature cmd $HAPROXY_PROGRAM -cc ...") can ask
// fjord what it has.
func checkCondition(expr string, opts config.Options, stderr io.Writer) int {
	ok, err := config.CheckCondition(expr, opts)
	switch {
	case err != nil:
		fmt.Fprintf(stderr, "[ALERT] Failed to evaluate %v\n", err)
		return 2
	case ok:
		return 0
	}
	return 1
}
