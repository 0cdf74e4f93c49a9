package main

import (
	"fmt"
	"io"
	"os"

	"github.com/fjordlb/fjord/config"
	"github.com/fjordlb/fjord/engine"
	"github.com/fjordlb/fjord/sysctl"
)

// sysctlRootEnv names the environment variable that points fjord at
// another sysctl tree than /proc/sys: a directory shaped like it. fjord's
// own tests set it so that no test run as root tunes the host.
const sysctlRootEnv = "FJORD_SYSCTL_ROOT"

func sysctlTuner() sysctl.Tuner {
	return sysctl.Tuner{Root: os.Getenv(sysctlRootEnv)}
}

// defaultConfig stands for a configuration that sets nothing, for 'fjord
// sysctl' without -f.
func defaultConfig() *config.Config {
	return &config.Config{Global: config.DefaultGlobal()}
}

// fdNeeds describes the descriptors cfg makes fjord hold.
func fdNeeds(cfg *config.Config) sysctl.FDNeeds {
	loops := cfg.Global.Loops()
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
	return sysctl.FDNeeds{
		MaxConn:   cfg.Global.MaxConn,
		Listeners: listeners * loops,
		Loops:     loops,
		Checks:    checks,
	}
}

// kernelNeeds is what cfg asks of the kernel, for sysctl.Profile.
func kernelNeeds(cfg *config.Config) sysctl.Needs {
	fd := fdNeeds(cfg)
	n := sysctl.Needs{
		MaxConn:  cfg.Global.MaxConn,
		NoFile:   sysctl.NoFileNeeded(fd),
		PipeSize: cfg.Global.TunePipeSize,
		Pipes:    sysctl.PipesNeeded(fd),
		// The engine grows at most BulkPipesPerLoop pipes per loop.
		BulkPipes:    uint64(fd.Loops * engine.BulkPipesPerLoop),
		BulkPipeSize: cfg.Global.TuneBulkPipeSize,
	}
	if cfg.Global.UlimitN > 0 {
		n.NoFile = uint64(cfg.Global.UlimitN)
	}
	for _, fe := range cfg.Frontends() {
		for _, b := range fe.Binds {
			// The engine's listen(2) backlog: the bind's, else the
			// frontend's maxconn, else the global one.
			backlog := b.Backlog
			if backlog == 0 {
				backlog = fe.MaxConn
			}
			if backlog == 0 {
				backlog = cfg.Global.MaxConn
			}
			n.Backlog = max(n.Backlog, backlog)
			if p := b.Addr.Port(); p != 0 {
				n.Ports = append(n.Ports, p)
			}
		}
	}
	return n
}

// tuneKernel runs the sysctl tuner at startup as 'tune.sysctl' asks: on
// applies the profile (as root; otherwise each refusal is reported) and
// logs each change; check logs what would change; off does nothing. It
// never stops fjord from starting: a host that cannot be tuned still
// serves, with the warnings saying what it lacks.
func tuneKernel(cfg *config.Config, logf func(string, ...any)) {
	mode := cfg.Global.Sysctl
	if mode == config.SysctlOff {
		return
	}
	tu := sysctlTuner()
	if _, err := os.Stat(tu.Path("")); err != nil {
		logf("[WARNING] tune.sysctl %s: kernel settings not checked: %v", mode, err)
		return
	}
	settings := sysctl.Profile(kernelNeeds(cfg))
	var results []sysctl.Result
	if mode == config.SysctlCheck {
		results = tu.Check(settings)
	} else {
		results = tu.Apply(settings)
	}
	ok := 0
	for _, r := range results {
		switch r.Status {
		case sysctl.OK:
			ok++
		case sysctl.Applied:
			logf("sysctl %s = %s (was %s): %s", r.Key, r.After, r.Current, r.Reason)
		case sysctl.Pending:
			logf("[NOTICE] tune.sysctl check: %s would change from %s to %s: %s", r.Key, r.Current, r.Wanted, r.Reason)
		case sysctl.Failed:
			logf("[WARNING] sysctl %s: could not change %s to %s: %v", r.Key, r.Current, r.Wanted, r.Err)
		case sysctl.Unavailable:
			logf("[WARNING] sysctl %s: %v", r.Key, r.Err)
		}
	}
	logf("tune.sysctl %s: %d of %d kernel settings were already as wanted (net.* ones are this network namespace's)", mode, ok, len(results))
}

// raiseNoFile sets RLIMIT_NOFILE to what maxconn needs, or to ulimit-n.
// The full need counts a pipe per direction for every session (the worst
// case of fjord's engine); when the hard limit forbids that but still covers
// every session's two sockets and HAProxy's maxpipes (maxconn/4), fjord
// warns and runs, as HAProxy does. Below that it refuses to start.
//
// ulimit-n sets the soft limit exactly, as in HAProxy (lower than the
// system gave, if asked); fjord refuses to start when it cannot, and warns
// when it is below what maxconn needs.
func raiseNoFile(cfg *config.Config, stderr io.Writer) error {
	needs := fdNeeds(cfg)
	full := sysctl.NoFileNeeded(needs)
	if n := cfg.Global.UlimitN; n > 0 {
		if err := sysctl.SetNoFile(uint64(n)); err != nil {
			return err
		}
		if uint64(n) < full {
			fmt.Fprintf(stderr, "[WARNING] 'ulimit-n %d' is below the %d descriptors maxconn %d needs (two sockets and up to two splice pipes per session): fjord may run out of descriptors at full load\n", n, full, cfg.Global.MaxConn)
		}
		return nil
	}
	got, err := sysctl.RaiseNoFile(full)
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
