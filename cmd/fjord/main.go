// Command fjord is a zero-copy TCP/HTTP load balancer that reads
// HAProxy-style configuration files.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/fjordlb/fjord/config"
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
}

func parseFlags(args []string, stderr io.Writer) (*options, error) {
	o := &options{}
	fs := flag.NewFlagSet("fjord", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Var(&o.files, "f", "configuration `file` or directory of *.cfg files (repeatable)")
	fs.BoolVar(&o.check, "c", false, "check the configuration and exit")
	fs.BoolVar(&o.version, "v", false, "print the version and exit")
	fs.BoolVar(&o.version, "V", false, "same as -v")
	fs.BoolVar(&o.fg, "db", false, "stay in the foreground (disable background mode)")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: fjord [-c] [-db] -f FILE [-f FILE ...]\n       fjord sysctl [-f FILE] check|apply|persist [FILE]\n       fjord -v\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	return o, nil
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "sysctl" {
		return runSysctl(args[1:], stdout, stderr)
	}
	o, err := parseFlags(args, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintf(stderr, "fjord: %v\n", err)
		return 1
	}
	if o.version {
		fmt.Fprintf(stdout, "fjord version %s\n", version)
		return 0
	}
	if len(o.files) == 0 {
		fmt.Fprintf(stderr, "fjord: no configuration file given (use -f FILE)\n")
		return 1
	}
	cfg, ok := load(o.files, stderr)
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
	return serve(cfg, o, stderr)
}

// load reads the configuration, printing notices and errors the way HAProxy
// does. It reports whether the configuration is usable.
func load(files []string, stderr io.Writer) (*config.Config, bool) {
	cfg, err := config.Load(files, config.Options{})
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
