package main

import (
	"fmt"
	"io"

	"github.com/fjordlb/fjord/config"
)

// serve runs the proxy described by cfg until it is told to stop.
func serve(cfg *config.Config, o *options, stderr io.Writer) int {
	_ = cfg
	_ = o
	fmt.Fprintln(stderr, "[ALERT] fjord: the forwarding engine is not part of this build yet; only -c is available")
	return 1
}
