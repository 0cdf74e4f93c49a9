package main

import (
	"github.com/fjordlb/fjord/config"
)

// pendingFeatures lists the settings of cfg that this build parses and
// validates but does not act on yet, each with its place, so that nothing
// is silently ignored while those parts are being built.
func pendingFeatures(cfg *config.Config) []string {
	var out []string
	g := &cfg.Global
	if g.PIDFile != "" {
		out = append(out, "[WARNING] 'pidfile' is not written yet")
	}
	return out
}
