package main

import (
	"fmt"

	"github.com/fjordlb/fjord/config"
)

// pendingFeatures lists the settings of cfg that this build parses and
// validates but does not act on yet, each with its place, so that nothing
// is silently ignored while those parts are being built.
func pendingFeatures(cfg *config.Config) []string {
	var out []string
	add := func(pos config.Pos, format string, args ...any) {
		out = append(out, fmt.Sprintf("[WARNING] parsing [%s] : %s", pos, fmt.Sprintf(format, args...)))
	}
	g := &cfg.Global
	for _, l := range g.Logs {
		add(l.Pos, "'log' targets are not written to yet: fjord logs to stderr")
	}
	if g.User != "" || g.Group != "" || g.UID >= 0 || g.GID >= 0 {
		out = append(out, "[WARNING] 'user'/'group'/'uid'/'gid': privileges are not dropped yet; fjord keeps running as the user that started it")
	}
	if g.Sysctl != config.SysctlOff {
		out = append(out, "[WARNING] 'tune.sysctl': kernel settings are not tuned yet (set by hand, see the seed article's sysctl.conf)")
	}
	return out
}
