package config

import (
	"fmt"
	"strconv"
	"time"
)

func (p *parser) globalStats(pos Pos, args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("'stats' expects 'socket', 'timeout' or 'maxconn' in the global section")
	}
	switch args[0] {
	case "socket":
		if len(args) < 2 {
			return fmt.Errorf("'stats socket' expects a path")
		}
		s := StatsSocket{Pos: pos, Level: LevelOperator} // HAProxy's default level
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
				l, ok := apiLevelWords.parse(opts[1])
				if !ok {
					return fmt.Errorf("'stats socket': level must be %s, not '%s'", apiLevelWords.alternatives(), opts[1])
				}
				s.Level = l
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

func oneWord(kw, what string, args []string, dst *string) error {
	if len(args) != 1 {
		return fmt.Errorf("'%s' expects %s", kw, what)
	}
	*dst = args[0]
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
