// Command fjord-webnode serves the web nodes of the demo and the benchmarks
// (package bench/webnode): one process, as many named nodes as -listen
// flags. It prints "NAME listening on ADDR" for each node once all of them
// accept connections, and serves until SIGINT or SIGTERM.
//
//	fjord-webnode -listen web01=127.0.0.1:8081 -listen web02=127.0.0.1:8082
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/fjordlb/fjord/bench/webnode"
)

// grace is how long requests in flight may take to finish after a signal.
// Short: the nodes are test fixtures, and whoever stops them wants them gone.
const grace = 2 * time.Second

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// listenList collects the repeated -listen flags as given; they are checked
// after parsing so that the error can quote the whole value.
type listenList []string

func (l *listenList) String() string     { return strings.Join(*l, " ") }
func (l *listenList) Set(v string) error { *l = append(*l, v); return nil }

// spec is one checked -listen value.
type spec struct {
	raw, name, addr string
}

// usageError is a mistake in the command line: exit status 2, as the flag
// package uses, where a failure at run time (a port in use) is 1.
type usageError struct{ error }

func parse(args []string, stderr io.Writer) ([]spec, webnode.Options, error) {
	var (
		listens listenList
		opts    webnode.Options
	)
	fs := flag.NewFlagSet("fjord-webnode", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Var(&listens, "listen", "a node: `name=ADDR`, such as web01=127.0.0.1:8081 (repeatable)")
	fs.IntVar(&opts.BodySize, "body", webnode.DefaultBodySize, "size of the /body answer in `bytes`")
	fs.IntVar(&opts.LargeSize, "large", webnode.DefaultLargeSize, "size of the /large answer in `bytes` (held in memory)")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: fjord-webnode -listen NAME=ADDR [-listen NAME=ADDR ...] [-body N] [-large N]\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return nil, opts, err
	}
	if fs.NArg() > 0 {
		return nil, opts, usageError{fmt.Errorf("unexpected argument %q", fs.Arg(0))}
	}
	if len(listens) == 0 {
		return nil, opts, usageError{errors.New("no node to serve: give at least one -listen NAME=ADDR")}
	}
	if opts.BodySize < 0 || opts.LargeSize < 0 {
		return nil, opts, usageError{errors.New("-body and -large must not be negative")}
	}
	var specs []spec
	seen := map[string]bool{}
	for _, raw := range listens {
		s, err := parseListen(raw)
		if err == nil && seen[s.name] {
			err = fmt.Errorf("node %q is given twice", s.name)
		}
		if err != nil {
			return nil, opts, usageError{fmt.Errorf("-listen %q: %w", raw, err)}
		}
		seen[s.name] = true
		specs = append(specs, s)
	}
	return specs, opts, nil
}

func parseListen(raw string) (spec, error) {
	name, addr, ok := strings.Cut(raw, "=")
	if !ok {
		return spec{}, errors.New("want NAME=ADDR, such as web01=127.0.0.1:8081")
	}
	if name == "" {
		return spec{}, errors.New("the node name is empty")
	}
	// The name goes into a response header and into the demo's output, and
	// usually matches a 'server' name in haproxy.cfg: keep it to the
	// characters those allow.
	for _, c := range name {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("-_.:", c)) {
			return spec{}, fmt.Errorf("the node name may only hold letters, digits and - _ . :, not %q", c)
		}
	}
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return spec{}, err
	}
	if p, err := strconv.Atoi(port); err != nil || p < 0 || p > 65535 {
		return spec{}, fmt.Errorf("port %q is not a number from 0 to 65535", port)
	}
	return spec{raw: raw, name: name, addr: addr}, nil
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	specs, opts, err := parse(args, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		var ue usageError
		if errors.As(err, &ue) {
			fmt.Fprintf(stderr, "fjord-webnode: %v\n", err)
		}
		// Otherwise the flag package has printed the error and the usage.
		return 2
	}

	// Every listener is opened before any line is printed, so that a
	// "listening" line means the node answers, and a port in use stops the
	// process before it serves anything.
	lns := make([]net.Listener, 0, len(specs))
	for _, s := range specs {
		ln, err := net.Listen("tcp", s.addr)
		if err != nil {
			fmt.Fprintf(stderr, "fjord-webnode: -listen %q: %v\n", s.raw, listenReason(err))
			for _, l := range lns {
				l.Close()
			}
			return 1
		}
		lns = append(lns, ln)
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		failed bool
	)
	for i, s := range specs {
		node := webnode.New(s.name, opts)
		ln := lns[i]
		wg.Go(func() {
			if err := node.Serve(ctx, ln, grace); err != nil {
				mu.Lock()
				failed = true
				fmt.Fprintf(stderr, "fjord-webnode: %s on %s: %v\n", s.name, ln.Addr(), err)
				mu.Unlock()
				cancel() // one node failing stops the process: do not serve half a topology
			}
		})
	}
	for i, s := range specs {
		fmt.Fprintf(stdout, "%s listening on %s\n", s.name, lns[i].Addr())
	}
	wg.Wait()
	if failed {
		return 1
	}
	return 0
}

// listenReason drops the "listen tcp ADDR:" prefix of a listen error: the
// message already quotes the -listen value.
func listenReason(err error) error {
	var op *net.OpError
	if errors.As(err, &op) && op.Err != nil {
		return op.Err
	}
	return err
}
