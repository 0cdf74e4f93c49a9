package main

import (
	"fmt"
	"io"
	"log"
	"os"
	"os/signal"
	"runtime"
	"time"

	"github.com/fjordlb/fjord/balancer"
	"github.com/fjordlb/fjord/config"
	"github.com/fjordlb/fjord/engine"
	"github.com/fjordlb/fjord/health"
	"github.com/fjordlb/fjord/stats"
	"github.com/fjordlb/fjord/sysctl"
)

// serve runs the proxy described by cfg until a signal stops it (see
// lifeSignals in reload.go).
func serve(cfg *config.Config, o *options, stderr io.Writer) int {
	logger := log.New(stderr, "fjord: ", log.LstdFlags)
	// Catch the signals before anything listens, so that a signal during
	// startup is handled once fjord runs instead of killing it.
	// Room for a few: a SIGTERM must not be lost behind a SIGHUP that is
	// waiting while a reload runs.
	sig := make(chan os.Signal, 8)
	signal.Notify(sig, lifeSignals...)
	defer signal.Stop(sig)
	if (cfg.Global.Daemon || o.daemon) && !o.fg {
		if w := daemonLogWarning(cfg); w != "" {
			fmt.Fprintln(stderr, w)
		}
	}
	for _, w := range pendingFeatures(cfg) {
		fmt.Fprintln(stderr, w)
	}
	inherited, err := takeInheritedListeners()
	if err != nil {
		fmt.Fprintf(stderr, "[ALERT] %v\n", err)
		return 1
	}
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
	checks, err := health.New(cfg, backends, logger)
	if err != nil {
		fmt.Fprintf(stderr, "[ALERT] %v\n", err)
		return 1
	}
	src := &stats.Sources{
		Config: cfg, Backends: backends, Checks: checks, Started: time.Now(), Version: version,
	}
	pages := statsPages(src, cfg, logger)
	eng, err := engine.New(cfg, engine.Options{
		Logger: logger, Backends: backends, Observer: checks, Intercept: pages.intercept,
		Inherited: inherited,
	})
	if err != nil {
		fmt.Fprintf(stderr, "[ALERT] %v\n", err)
		return 1
	}
	src.Frontends = eng.FrontendCounters
	if err := eng.Start(); err != nil {
		fmt.Fprintf(stderr, "[ALERT] %v\n", err)
		return 1
	}
	checks.Start()
	defer checks.Stop()
	socks := &statsSockets{src: src, conf: cfg.Global.StatsSockets, logger: logger}
	defer socks.close()
	for _, fe := range cfg.Frontends() {
		for _, b := range fe.Binds {
			logger.Printf("%s %s listening on %s", fe.Section, fe.Name, eng.Addr(b))
		}
	}
	p := &process{cfg: cfg, o: o, eng: eng, socks: socks, logger: logger, stderr: stderr, sig: sig}
	return p.run()
}

// raiseNoFile sets RLIMIT_NOFILE to what maxconn needs, or to ulimit-n.
// The full need counts a pipe per direction for every session (the worst
// case of fjord's engine); when the hard limit forbids that but still covers
// every session's two sockets and HAProxy's maxpipes (maxconn/4), fjord
// warns and runs, as HAProxy does. Below that it refuses to start.
func raiseNoFile(cfg *config.Config, stderr io.Writer) error {
	if n := cfg.Global.UlimitN; n > 0 {
		_, err := sysctl.RaiseNoFile(uint64(n))
		return err
	}
	listeners := 0
	for _, fe := range cfg.Frontends() {
		listeners += len(fe.Binds)
	}
	checks := 0
	for _, be := range cfg.Backends() {
		for _, s := range be.Servers {
			if s.Check {
				checks++
			}
		}
	}
	loops := cfg.Global.NbThread
	if loops == 0 {
		loops = runtime.GOMAXPROCS(0)
	}
	needs := sysctl.FDNeeds{
		MaxConn:   cfg.Global.MaxConn,
		Listeners: listeners * loops,
		Loops:     loops,
		Checks:    checks,
	}
	got, err := sysctl.RaiseNoFile(sysctl.NoFileNeeded(needs))
	if err == nil {
		return nil
	}
	needs.MaxPipes = max(1, cfg.Global.MaxConn/4)
	if floor := sysctl.NoFileNeeded(needs); got >= floor {
		fmt.Fprintf(stderr, "[WARNING] %v\n[WARNING] running with %d descriptors, enough for maxconn %d with a quarter of the sessions moving bulk data at once\n", err, got, cfg.Global.MaxConn)
		return nil
	}
	return err
}
