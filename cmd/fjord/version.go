package main

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/fjordlb/fjord/config"
)

// printBuildInfo is 'fjord -vv': HAProxy's -vv in shape, so that what
// reads HAProxy's reads fjord's. HAProxy's scripts/run-regtests.sh keeps
// the lines matching 'HA-?Proxy version', 'TARGET.*=', '^Feature' and
// '^Available services', in that order and one of each, strips each up to
// its last " : " or " = ", and takes the third word of the first as the
// version that #REQUIRE_VERSION compares with. So the first line starts
// "HAProxy version 2.6.0-fjord": the HAProxy release whose configuration
// fjord follows (config.HAProxyVersion), marked as fjord's, and goes on to
// say which fjord it is. No other line may match those patterns.
func printBuildInfo(w io.Writer) {
	date := ""
	settings := map[string]string{}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			settings[s.Key] = s.Value
		}
		if t, err := time.Parse(time.RFC3339, settings["vcs.time"]); err == nil {
			date = t.UTC().Format("2006/01/02") + " "
		}
	}
	fmt.Fprintf(w, "HAProxy version %s-fjord %s- fjord %s, which reads HAProxy %s configuration files; it is not HAProxy - https://github.com/fjordlb/fjord\n",
		config.HAProxyVersion, date, version, config.HAProxyVersion)
	fmt.Fprintln(w, "Status: fjord follows the configuration language of the HAProxy release above; docs/configuration.md lists where it differs.")
	var u unix.Utsname
	if unix.Uname(&u) == nil {
		fmt.Fprintf(w, "Running on: %s %s %s %s\n", unix.ByteSliceToString(u.Sysname[:]), unix.ByteSliceToString(u.Release[:]),
			unix.ByteSliceToString(u.Version[:]), unix.ByteSliceToString(u.Machine[:]))
	}
	fmt.Fprintln(w, "Build options :")
	fmt.Fprintf(w, "  TARGET  = %s-go\n", runtime.GOOS)
	fmt.Fprintf(w, "  CPU     = %s\n", runtime.GOARCH)
	fmt.Fprintf(w, "  CC      = %s (%s)\n", runtime.Version(), runtime.Compiler)
	var opts []string
	for _, k := range []string{"-trimpath", "-ldflags", "CGO_ENABLED", "GOAMD64", "GOARM64", "vcs.revision", "vcs.modified"} {
		if v, ok := settings[k]; ok {
			opts = append(opts, k+"="+v)
		}
	}
	fmt.Fprintf(w, "  OPTIONS = %s\n", strings.Join(opts, " "))
	fmt.Fprintln(w)
	feats := make([]string, len(config.Features))
	for i, f := range config.Features {
		sign := "-"
		if f.On {
			sign = "+"
		}
		feats[i] = sign + f.Name
	}
	fmt.Fprintf(w, "Feature list : %s\n", strings.Join(feats, " "))
	fmt.Fprintln(w)
	g := config.DefaultGlobal()
	fmt.Fprintln(w, "Default settings :")
	fmt.Fprintf(w, "  bufsize = %d, maxrewrite = %d, maxpollevents = %d, pipesize = %d\n", g.TuneBufSize, g.MaxRewrite(), g.TuneMaxPollEvents, g.TunePipeSize)
	fmt.Fprintln(w)
	fmt.Fprintf(w, "Built with multi-threading support (MAX_THREADS=%d, default=%d).\n", config.MaxThreads, g.Loops())
	fmt.Fprintln(w, "What each feature means in fjord:")
	for _, f := range config.Features {
		sign := "-"
		if f.On {
			sign = "+"
		}
		fmt.Fprintf(w, "  %s%s: %s\n", sign, f.Name, f.Why)
	}
	fmt.Fprintln(w)
	if desc, _, err := recordLayer(&config.Global{TuneSSLKTLS: config.KTLSAuto}); err == nil {
		fmt.Fprintf(w, "TLS: crypto/tls handshakes in a bounded pool; %s.\n", desc)
		fmt.Fprintln(w)
	}
	fmt.Fprintln(w, "Available polling systems :")
	fmt.Fprintln(w, "      epoll : pref=300,  test result OK")
	fmt.Fprintln(w, "Total: 1 (1 usable), will use epoll.")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Available multiplexer protocols :")
	fmt.Fprintln(w, "         h1 : mode=HTTP  side=FE|BE  (HTTP/1.0 and 1.1, the only HTTP fjord speaks)")
	fmt.Fprintln(w, "  <default> : mode=TCP   side=FE|BE  (bytes forwarded with splice(2))")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Available services : none")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Available filters :")
	fmt.Fprintln(w, "\tnone")
}
