package config

import (
	"fmt"
	"math"
	"strconv"
	"time"
)

// removedGlobal are global keywords an HAProxy user may have that fjord
// refuses, with the reason.
var removedGlobal = map[string]string{
	"nbproc": "'nbproc' was removed from HAProxy 2.5 and is not supported: fjord runs one process with 'nbthread' event loops",
	"chroot": "'chroot' is not supported: fjord drops privileges with 'user'/'group' instead",
}

func (p *parser) globalLine(pos Pos, words []string) {
	if err := p.globalKeyword(pos, words[0], words[1:]); err != nil {
		p.errorf(pos, "%v", err)
	}
}

func (p *parser) globalKeyword(pos Pos, kw string, args []string) error {
	g := &p.cfg.Global
	switch kw {
	case "log":
		if len(args) == 1 && args[0] == "global" {
			return fmt.Errorf("'log global' is only meaningful in a proxy section")
		}
		t, err := parseLogTarget(p.resolver, pos, args)
		if err != nil {
			return err
		}
		if len(g.Logs) == maxLogTargetsPerProxy {
			return fmt.Errorf("too many 'log' lines in the global section: at most %d targets", maxLogTargetsPerProxy)
		}
		g.Logs = append(g.Logs, t)
		return nil
	case "maxconn":
		return oneInt(kw, args, 1, math.MaxInt32, &g.MaxConn)
	case "user", "group":
		if len(args) != 1 {
			return fmt.Errorf("'%s' expects a name", kw)
		}
		if kw == "user" {
			g.User = args[0]
		} else {
			g.Group = args[0]
		}
		return nil
	case "uid":
		return oneInt(kw, args, 0, math.MaxInt32, &g.UID)
	case "gid":
		return oneInt(kw, args, 0, math.MaxInt32, &g.GID)
	case "daemon":
		g.Daemon = true
		return noArgs(kw, args)
	case "nbthread":
		return oneInt(kw, args, 1, maxThreads, &g.NbThread)
	case "pidfile":
		if len(args) != 1 {
			return fmt.Errorf("'pidfile' expects a file path")
		}
		g.PIDFile = args[0]
		return nil
	case "ulimit-n":
		return oneInt(kw, args, 1, math.MaxInt32, &g.UlimitN)
	case "tune.pipesize":
		// An explicit size is every pipe's size, as in HAProxy: no
		// growing for bulk flows.
		if err := oneSize(kw, args, minPipeSize, maxPipeSize, &g.TunePipeSize); err != nil {
			return err
		}
		g.TuneBulkPipeSize = g.TunePipeSize
		return nil
	case "tune.bufsize":
		return oneSize(kw, args, minBufSize, maxBufSize, &g.TuneBufSize)
	case "tune.maxpollevents":
		return oneInt(kw, args, 1, 1<<16, &g.TuneMaxPollEvents)
	case "tune.sysctl":
		if len(args) != 1 {
			return fmt.Errorf("'tune.sysctl' expects on, off or check")
		}
		switch args[0] {
		case "on":
			g.Sysctl = SysctlOn
		case "off":
			g.Sysctl = SysctlOff
		case "check":
			g.Sysctl = SysctlCheck
		default:
			return fmt.Errorf("'tune.sysctl' expects on, off or check, not '%s'", args[0])
		}
		return nil
	case "tune.sched-batch":
		if len(args) != 1 || (args[0] != "on" && args[0] != "off") {
			return fmt.Errorf("'tune.sched-batch' expects on or off")
		}
		g.TuneSchedBatch = args[0] == "on"
		return nil
	case "hard-stop-after":
		return oneDuration(kw, args, &g.HardStopAfter)
	case "stats":
		return p.globalStats(pos, args)
	case "log-anonymize":
		a, err := parseAnonymize(args)
		if err != nil {
			return err
		}
		g.LogAnonymize = a
		return nil
	case "log-retention":
		return oneInt("log-retention (days)", args, 1, 36500, &g.LogRetention)
	}
	if why, ok := removedGlobal[kw]; ok {
		return fmt.Errorf("%s", why)
	}
	return fmt.Errorf("unknown keyword '%s' in 'global' section", kw)
}

func (p *parser) globalStats(pos Pos, args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("'stats' expects 'socket', 'timeout' or 'maxconn' in the global section")
	}
	switch args[0] {
	case "socket":
		if len(args) < 2 {
			return fmt.Errorf("'stats socket' expects a path")
		}
		s := StatsSocket{Pos: pos, Level: "operator"} // HAProxy's default level
		if err := s.setAddress(p.resolver, args[1]); err != nil {
			return err
		}
		opts := args[2:]
		for len(opts) > 0 {
			if len(opts) < 2 {
				return fmt.Errorf("'stats socket': option '%s' expects a value", opts[0])
			}
			switch opts[0] {
			case "mode":
				m, err := strconv.ParseUint(opts[1], 8, 32)
				if err != nil || m > 0o777 {
					return fmt.Errorf("'stats socket': invalid mode '%s', an octal file mode such as 600 is expected", opts[1])
				}
				s.Mode = uint32(m)
			case "level":
				switch opts[1] {
				case "user", "operator", "admin":
					s.Level = opts[1]
				default:
					return fmt.Errorf("'stats socket': level must be user, operator or admin, not '%s'", opts[1])
				}
			default:
				return fmt.Errorf("'stats socket': unknown option '%s' (supported: mode, level)", opts[0])
			}
			opts = opts[2:]
		}
		if err := s.checkMode(); err != nil {
			return err
		}
		p.cfg.Global.StatsSockets = append(p.cfg.Global.StatsSockets, s)
		return nil
	case "timeout":
		return oneDuration("stats timeout", args[1:], &p.cfg.Global.StatsTimeout)
	case "maxconn":
		return oneInt("stats maxconn", args[1:], 1, 1<<20, &p.cfg.Global.StatsMaxConn)
	}
	return fmt.Errorf("unknown 'stats %s' in 'global' section (supported: socket, timeout, maxconn)", args[0])
}

func parseAnonymize(args []string) (LogAnonymize, error) {
	a := LogAnonymize{Enabled: true, IPv4Mask: DefaultAnonIPv4Mask, IPv6Mask: DefaultAnonIPv6Mask}
	if len(args) > 0 && args[0] == "hash" {
		a.Hash = true
		a.KeyRotation = 24 * time.Hour
		if len(args) > 2 {
			return a, fmt.Errorf("'log-anonymize hash' takes at most a key rotation period")
		}
		if len(args) == 2 {
			d, err := parseDuration(args[1])
			if err != nil {
				return a, fmt.Errorf("'log-anonymize hash': %v", err)
			}
			if d < time.Minute {
				return a, fmt.Errorf("'log-anonymize hash': key rotation %s is shorter than a minute", args[1])
			}
			a.KeyRotation = d
		}
		return a, nil
	}
	for len(args) > 0 {
		if len(args) < 2 {
			return a, fmt.Errorf("'log-anonymize': '%s' expects a prefix length", args[0])
		}
		switch args[0] {
		case "ipv4-mask":
			n, err := parseInt("ipv4-mask", args[1], 0, 32)
			if err != nil {
				return a, err
			}
			a.IPv4Mask = n
		case "ipv6-mask":
			n, err := parseInt("ipv6-mask", args[1], 0, 128)
			if err != nil {
				return a, err
			}
			a.IPv6Mask = n
		default:
			return a, fmt.Errorf("'log-anonymize': unknown option '%s' (supported: ipv4-mask N, ipv6-mask N, hash [PERIOD])", args[0])
		}
		args = args[2:]
	}
	return a, nil
}

func noArgs(kw string, args []string) error {
	if len(args) > 0 {
		return fmt.Errorf("'%s' takes no argument (found '%s')", kw, args[0])
	}
	return nil
}

func oneInt(kw string, args []string, min, max int, dst *int) error {
	if len(args) != 1 {
		return fmt.Errorf("'%s' expects one integer", kw)
	}
	n, err := parseInt(kw, args[0], min, max)
	if err != nil {
		return err
	}
	*dst = n
	return nil
}

func oneSize(kw string, args []string, min, max int, dst *int) error {
	if len(args) != 1 {
		return fmt.Errorf("'%s' expects one size in bytes", kw)
	}
	n, err := parseSize(kw, args[0], min, max)
	if err != nil {
		return err
	}
	*dst = n
	return nil
}

func oneDuration(kw string, args []string, dst *time.Duration) error {
	if len(args) != 1 {
		return fmt.Errorf("'%s' expects one time value", kw)
	}
	d, err := parseDuration(args[0])
	if err != nil {
		return fmt.Errorf("'%s': %v", kw, err)
	}
	*dst = d
	return nil
}
