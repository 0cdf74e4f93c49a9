package main

import (
	"crypto/tls"
	"fmt"
	"io"
	"os"
	"os/signal"
	"time"

	"github.com/fjordlb/fjord/balancer"
	"github.com/fjordlb/fjord/config"
	"github.com/fjordlb/fjord/engine"
	"github.com/fjordlb/fjord/health"
	"github.com/fjordlb/fjord/stats"
	"github.com/fjordlb/fjord/tls/handshake"
	"github.com/fjordlb/fjord/tls/settings"
)

// serve runs the proxy described by cfg until a signal stops it (see
// lifeSignals in reload.go).
func serve(cfg *config.Config, tlsSet *settings.Set, o *options, stderr io.Writer) int {
	// Catch the signals before anything listens, so that a signal during
	// startup is handled once fjord runs instead of killing it.
	// Room for a few: a SIGTERM must not be lost behind a SIGHUP that is
	// waiting while a reload runs.
	sig := make(chan os.Signal, 8)
	signal.Notify(sig, lifeSignals...)
	defer signal.Stop(sig)
	daemon := o.daemonMode(cfg)
	logs, err := openLogs(cfg, stderr, daemon)
	if err != nil {
		fmt.Fprintf(stderr, "[ALERT] %v\n", err)
		return 1
	}
	defer logs.targets.Close()
	logger := logs.Logger
	if daemon {
		// Once started, a daemon's stderr is /dev/null: its alerts (why a
		// reload's new process failed, say) must reach the log targets too.
		stderr = logs.plain.Writer()
		if w := daemonLogWarning(cfg); w != "" {
			fmt.Fprintln(stderr, w)
		}
	}
	handed, fromFjord, err := takeHandedOver()
	if err != nil {
		fmt.Fprintf(stderr, "[ALERT] %v\n", err)
		return 1
	}
	byFD, err := o.inheritedSockets(cfg, handed, fromFjord)
	if err != nil {
		fmt.Fprintf(stderr, "[ALERT] %v\n", err)
		return 1
	}
	// The runtime API's fd@N go to the stats sockets, the rest to the
	// engine (which closes those no bind takes).
	statsFDs := takeStatsFDs(cfg, byFD)
	for _, w := range o.systemd.unused(cfg) {
		fmt.Fprintln(stderr, w)
	}
	// Deferred after the log targets' Close, so it runs before it and
	// the release is logged.
	kernelTLS := false
	if len(tlsSet.Binds)+len(tlsSet.Servers) > 0 {
		// Which record layer carries TLS, and why: the issue users ask
		// first when comparing CPU figures.
		if desc, kernel, err := recordLayer(&cfg.Global); err == nil {
			n := cfg.Global.HandshakeCPUs()
			logger.Printf("TLS: handshakes on up to %d CPU%s at once; %s", n, map[bool]string{true: "s"}[n != 1], desc)
			kernelTLS = kernel
		}
	}
	ports := tuneKernel(cfg, o, logger.Printf)
	defer ports.release()
	if err := raiseNoFile(cfg, stderr); err != nil {
		fmt.Fprintf(stderr, "[ALERT] %v\n", err)
		return 1
	}
	// The engine and the health checks share the balancer backends: the
	// checks set servers UP and DOWN, the loops read it.
	backends := map[string]*balancer.Backend{}
	for _, px := range cfg.Backends() {
		backends[px.Name] = balancer.New(px)
	}
	// Checks over TLS get their servers' settings, built with the rest.
	checks, err := health.New(cfg, backends, logs, func(sv *config.Server) *tls.Config { return tlsSet.Checks[sv] })
	if err != nil {
		fmt.Fprintf(stderr, "[ALERT] %v\n", err)
		return 1
	}
	// The engine's messages are written off the loops (loopLogger); it is
	// closed last, after every path that returns has stopped the engine.
	loopLog := newLoopLogger(logger)
	defer loopLog.close()
	src := &stats.Sources{
		Config: cfg, Backends: backends, Checks: checks, Started: time.Now(), Version: version,
		DroppedLogs: func() uint64 { return logs.targets.Dropped() + loopLog.Dropped() },
	}
	pages := statsPages(src, cfg, logger)
	eng, err := engine.New(cfg, engine.Options{
		Logger: loopLog, Backends: backends, Observer: checks, Intercept: pages.intercept,
		AccessLog: logs.targets.AccessLog, UniqueID: logs.targets.UniqueID, Inherited: handed.addrs, InheritedFD: byFD, InheritedUnix: handed.unix,
		TLS: tlsSet.Binds, ServerTLS: engineServerTLS(tlsSet),
		Handshakes: handshake.NewPool(cfg.Global.HandshakeCPUs()),
		MaxRecord:  maxRecord(&cfg.Global),
		KernelTLS:  kernelTLS,
	})
	if err != nil {
		fmt.Fprintf(stderr, "[ALERT] %v\n", err)
		return 1
	}
	if cfg.Global.TuneSockmap != config.SockmapOff {
		// Who forwards mode tcp sessions and HTTP tunnels, said once:
		// 'auto' falls back to the loops where the kernel cannot.
		logger.Printf("tcp forwarding: %s", eng.TCPForwarding())
	}
	src.Frontends, src.Loops = eng.FrontendCounters, eng.Loops()
	src.SSL = func() stats.SSLInfo { return sslInfo(eng.TLSStats()) }
	// Listen only: the loops start serving once privileges are dropped
	// (process.run).
	if err := eng.Listen(); err != nil {
		fmt.Fprintf(stderr, "[ALERT] %v\n", err)
		return 1
	}
	// Still root: privileges are dropped in process.run.
	ports.hold(eng)
	checks.Start()
	defer checks.Stop()
	socks := &statsSockets{src: src, conf: cfg.Global.StatsSockets, logger: logger, inherited: statsFDs}
	defer socks.release()
	p := &process{cfg: cfg, o: o, eng: eng, socks: socks, logs: logs, stderr: stderr, sig: sig}
	logs.started(cfg)
	rc := p.run()
	logs.stopped(cfg, func(name string) (fe, be int64) {
		if c := eng.FrontendCounters(name); c != nil {
			fe = c.TotSessions.Load()
		}
		if b := backends[name]; b != nil {
			be = b.Counters.TotSessions.Load()
		}
		return fe, be
	})
	return rc
}

// engineServerTLS is how the engine speaks TLS to each server with 'ssl'.
func engineServerTLS(set *settings.Set) map[*config.Server]*engine.ServerTLS {
	out := map[*config.Server]*engine.ServerTLS{}
	for sv, tc := range set.Servers {
		out[sv] = &engine.ServerTLS{Config: tc, SNIFromHost: sv.TLS.SNI.Source == config.SNIHostHeader}
	}
	return out
}

// maxRecord is the most plaintext a TLS record carries: the smaller of
// 'tune.ssl.maxrecord' and 'tune.ssl.hard-maxrecord' that is set (0: no
// limit). HAProxy applies maxrecord at the start of a transfer only;
// fjord applies both to every record.
func maxRecord(g *config.Global) int {
	n := g.TuneSSLMaxRecord
	if h := g.TuneSSLHardMaxRecord; h > 0 && (n == 0 || h < n) {
		n = h
	}
	return n
}
