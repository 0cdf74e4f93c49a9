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
	if g.User != "" || g.Group != "" || g.UID >= 0 || g.GID >= 0 {
		out = append(out, "[WARNING] 'user'/'group'/'uid'/'gid': privileges are not dropped yet; fjord keeps running as the user that started it")
	}
	if g.PIDFile != "" {
		out = append(out, "[WARNING] 'pidfile' is not written yet")
	}
	if g.Sysctl != config.SysctlOff {
		out = append(out, "[WARNING] 'tune.sysctl': kernel settings are not tuned yet (set by hand, see the seed article's sysctl.conf)")
	}
	return out
}
