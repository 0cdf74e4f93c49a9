package main

import (
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/fjordlb/fjord/balancer"
	"github.com/fjordlb/fjord/config"
	"github.com/fjordlb/fjord/engine"
	"github.com/fjordlb/fjord/health"
	"github.com/fjordlb/fjord/stats"
)

// serve runs the proxy described by cfg until SIGTERM or SIGINT.
func serve(cfg *config.Config, o *options, stderr io.Writer) int {
	// Catch stop signals before anything listens, so that a signal during
	// startup still stops fjord cleanly. SIGUSR2 reopens log files.
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT, syscall.SIGUSR2)
	defer signal.Stop(sig)
	logs, err := openLogs(cfg, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "[ALERT] %v\n", err)
		return 1
	}
	defer logs.targets.Close()
	logger := logs.Logger
	if cfg.Global.Daemon && !o.fg {
		// Daemon mode arrives with the process-life issue; say so rather
		// than silently staying in the foreground.
		fmt.Fprintln(stderr, "[WARNING] 'daemon' is not supported yet: running in the foreground")
	}
	for _, w := range pendingFeatures(cfg) {
		fmt.Fprintln(stderr, w)
	}
	tuneKernel(cfg, logger.Printf)
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
	checks, err := health.New(cfg, backends, logs)
	if err != nil {
		fmt.Fprintf(stderr, "[ALERT] %v\n", err)
		return 1
	}
	src := &stats.Sources{
		Config: cfg, Backends: backends, Checks: checks, Started: time.Now(), Version: version,
		DroppedLogs: logs.targets.Dropped,
	}
	pages := statsPages(src, cfg, logger)
	eng, err := engine.New(cfg, engine.Options{
		Logger: logger, Backends: backends, Observer: checks, Intercept: pages.intercept,
		AccessLog: logs.targets.AccessLog,
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
	for _, sc := range cfg.Global.StatsSockets {
		sock, err := stats.ListenSocket(src, sc, logger)
		if err != nil {
			fmt.Fprintf(stderr, "[ALERT] %v\n", err)
			eng.Stop()
			return 1
		}
		defer sock.Close()
		logs.plain.Printf("runtime API on %s (level %s)", sc.Path, sc.Level)
	}
	if err := dropPrivileges(&cfg.Global, logger.Printf); err != nil {
		fmt.Fprintf(stderr, "[ALERT] %v\n", err)
		eng.Stop()
		return 1
	}
	for _, fe := range cfg.Frontends() {
		for _, b := range fe.Binds {
			logs.plain.Printf("%s %s listening on %s", fe.Section, fe.Name, eng.Addr(b))
		}
	}
	logs.started(cfg)
	for s := range sig {
		if s == syscall.SIGUSR2 {
			if err := logs.targets.Reopen(); err != nil {
				logger.Printf("SIGUSR2: reopening log files: %v", err)
			} else {
				logger.Printf("SIGUSR2: log files reopened")
			}
			continue
		}
		logger.Printf("received %v, stopping", s)
		break
	}
	eng.Stop()
	logs.stopped(cfg, func(name string) (fe, be int64) {
		if c := eng.FrontendCounters(name); c != nil {
			fe = c.TotSessions.Load()
		}
		if b := backends[name]; b != nil {
			be = b.Counters.TotSessions.Load()
		}
		return fe, be
	})
	return 0
}
