package main

import (
	"fmt"
	"io"
	"log"
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
	logger := log.New(stderr, "fjord: ", log.LstdFlags)
	// Catch stop signals before anything listens, so that a signal during
	// startup still stops fjord cleanly.
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	defer signal.Stop(sig)
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
		logger.Printf("runtime API on %s (level %s)", sc.Path, sc.Level)
	}
	if err := dropPrivileges(&cfg.Global, logger.Printf); err != nil {
		fmt.Fprintf(stderr, "[ALERT] %v\n", err)
		eng.Stop()
		return 1
	}
	for _, fe := range cfg.Frontends() {
		for _, b := range fe.Binds {
			logger.Printf("%s %s listening on %s", fe.Section, fe.Name, eng.Addr(b))
		}
	}
	s := <-sig
	logger.Printf("received %v, stopping", s)
	eng.Stop()
	return 0
}
