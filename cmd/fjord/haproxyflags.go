package main

import (
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/fjordlb/fjord/config"
)

// haproxyFlags are HAProxy's command-line flags that fjord takes with a
// meaning of its own, or refuses with the reason: test drivers (VTest,
// HAProxy's scripts/run-regtests.sh) and service files written for
// HAProxy pass them.
type haproxyFlags struct {
	debug     bool   // -d: HAProxy's debug mode, read as -db
	poison    bool   // -dM: HAProxy's memory poisoning, which Go needs not
	localPeer string // -L NAME: the local peer's name
	verbose   bool   // -vv: version, build options and features
	// -W, -Ws, -S: master-worker mode and its CLI, refused.
	masterWorker, masterWorkerSystemd bool
	masterCLI                         string
}

func (h *haproxyFlags) register(fs *flag.FlagSet) {
	fs.BoolVar(&h.debug, "d", false, "HAProxy's debug mode: read as -db (stay in the foreground)")
	fs.BoolVar(&h.poison, "dM", false, "HAProxy's memory poisoning: changes nothing (Go zeroes memory)")
	fs.StringVar(&h.localPeer, "L", "", "local peer `name` (default: the host name), read by the configuration as ${HAPROXY_LOCALPEER}")
	fs.BoolVar(&h.verbose, "vv", false, "print the version, build options and feature list, as HAProxy does, and exit")
	fs.BoolVar(&h.masterWorker, "W", false, "HAProxy's master-worker mode: not supported")
	fs.BoolVar(&h.masterWorkerSystemd, "Ws", false, "HAProxy's master-worker mode for systemd: not supported")
	fs.StringVar(&h.masterCLI, "S", "", "HAProxy's master CLI: not supported")
}

// applyHAProxyFlags gives the flags their effect on o once parsed: -d
// keeps fjord in the foreground (-L is read with the configuration, see
// configOptions); what fjord reads differently from HAProxy is said on
// stderr, what it cannot do is an error.
func (o *options) applyHAProxyFlags(stderr io.Writer) error {
	h := &o.haproxy
	switch {
	case h.masterWorker || h.masterWorkerSystemd:
		return errors.New("-W/-Ws (master-worker mode) is not supported: fjord has no master process; it reloads on SIGHUP by starting its successor itself, which hands over the listening sockets (docs/process.md)")
	case h.masterCLI != "":
		return fmt.Errorf("-S %s (the master CLI) is not supported: it belongs to master-worker mode, which fjord does not have; use 'stats socket' for the runtime API", h.masterCLI)
	}
	if h.debug {
		o.fg = true
		fmt.Fprintln(stderr, "[NOTICE] -d (HAProxy's debug mode) is read as -db: fjord stays in the foreground, and prints no trace of each connection")
	}
	if h.poison {
		fmt.Fprintln(stderr, "[NOTICE] -dM (HAProxy's memory poisoning) changes nothing: Go hands out zeroed memory, and fjord has no allocator of its own to poison")
	}
	return nil
}

// configOptions are how the command line bears on reading the
// configuration: -L names the local peer, which the configuration reads as
// "${HAPROXY_LOCALPEER}" (the host name without -L, as in HAProxy). fjord
// has no 'peers' section yet, so the name has no other use.
func (o *options) configOptions() config.Options {
	return config.Options{LocalPeer: o.haproxy.localPeer}
}
