package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
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

// localPeerEnv is where HAProxy puts the local peer's name (-L, else the
// host name), for a configuration to use as "${HAPROXY_LOCALPEER}".
const localPeerEnv = "HAPROXY_LOCALPEER"

func (h *haproxyFlags) register(fs *flag.FlagSet) {
	fs.BoolVar(&h.debug, "d", false, "HAProxy's debug mode: read as -db (stay in the foreground)")
	fs.BoolVar(&h.poison, "dM", false, "HAProxy's memory poisoning: changes nothing (Go zeroes memory)")
	fs.StringVar(&h.localPeer, "L", "", "local peer `name` (default: the host name), set as "+localPeerEnv)
	fs.BoolVar(&h.verbose, "vv", false, "print the version, build options and feature list, as HAProxy does, and exit")
	fs.BoolVar(&h.masterWorker, "W", false, "HAProxy's master-worker mode: not supported")
	fs.BoolVar(&h.masterWorkerSystemd, "Ws", false, "HAProxy's master-worker mode for systemd: not supported")
	fs.StringVar(&h.masterCLI, "S", "", "HAProxy's master CLI: not supported")
}

// applyHAProxyFlags gives the flags their effect on o once parsed: -d
// keeps fjord in the foreground, -L sets HAPROXY_LOCALPEER (HAProxy sets
// it at startup, before reading the configuration); what fjord reads
// differently from HAProxy is said on stderr, what it cannot do is an
// error.
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
	peer := h.localPeer
	if peer == "" {
		name, err := os.Hostname()
		if err != nil {
			return fmt.Errorf("-L not given and the host name is unknown (uname): %w; give the local peer's name with -L", err)
		}
		peer = name
	}
	// fjord has no 'peers' section (it is an unknown keyword), so the
	// name has no other use yet: the variable is what HAProxy makes of it
	// outside peers.
	if err := os.Setenv(localPeerEnv, peer); err != nil {
		return fmt.Errorf("-L %s: setting %s: %w", peer, localPeerEnv, err)
	}
	return nil
}
