package config

import (
	"fmt"
	"net/netip"
	"os"
	"strconv"
	"strings"
)

// Facilities are the syslog facility names HAProxy accepts, in code order.
var facilities = []string{
	"kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news",
	"uucp", "cron", "auth2", "ftp", "ntp", "audit", "alert", "cron2",
	"local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7",
}

// Levels are the syslog severities, in code order (0 = emerg).
var levels = []string{"emerg", "alert", "crit", "err", "warning", "notice", "info", "debug"}

// LevelName returns the name of a severity code ("err" for 3), "" for a
// code outside 0-7.
func LevelName(code int) string {
	if code < 0 || code >= len(levels) {
		return ""
	}
	return levels[code]
}

// FacilityName returns the name of a facility code.
func FacilityName(code int) string {
	if code < 0 || code >= len(facilities) {
		return ""
	}
	return facilities[code]
}

func indexOf(list []string, s string) int {
	for i, v := range list {
		if v == s {
			return i
		}
	}
	return -1
}

const defaultSyslogPort = 514

// parseLogTarget parses the arguments of a "log" line:
//
//	log TARGET [len N] [format F] [sample RANGES:SIZE] FACILITY [LEVEL [MINLEVEL]]
//
// TARGET is ADDR[:PORT] (UDP syslog), udp@ADDR[:PORT], unix@PATH, a path to
// a Unix socket such as /dev/log, stdout, stderr, or (fjord addition) the
// path of a regular file, or file@PATH. For files the facility is optional.
func parseLogTarget(r Resolver, pos Pos, args []string) (LogTarget, error) {
	t := LogTarget{Pos: pos, Facility: -1, Level: 7, MinLevel: 0, Format: LogRFC3164, MaxLen: 1024}
	if len(args) == 0 {
		return t, fmt.Errorf("'log' expects a target: an address, a path, stdout, stderr or 'global'")
	}
	target := args[0]
	switch {
	case target == "stdout" || target == "fd@1":
		t.Kind = LogStdout
	case target == "stderr" || target == "fd@2":
		t.Kind = LogStderr
	case strings.HasPrefix(target, "unix@"):
		t.Kind, t.Path = LogUnix, strings.TrimPrefix(target, "unix@")
	case strings.HasPrefix(target, "file@"):
		t.Kind, t.Path = LogFile, strings.TrimPrefix(target, "file@")
	case strings.HasPrefix(target, "/"):
		t.Kind, t.Path = LogFile, target
		if target == "/dev/log" || isSocket(target) {
			t.Kind = LogUnix
		}
	default:
		host, port, hasPort, err := splitHostPort(strings.TrimPrefix(strings.TrimPrefix(strings.TrimPrefix(target, "udp@"), "udp4@"), "udp6@"))
		if err != nil {
			return t, fmt.Errorf("log target: %v", err)
		}
		addr, err := resolveHost(r, host)
		if err != nil {
			return t, fmt.Errorf("log target: %v", err)
		}
		p := defaultSyslogPort
		if hasPort {
			if p, err = parsePort(port); err != nil {
				return t, fmt.Errorf("log target '%s': %v", target, err)
			}
		}
		t.Kind, t.Addr = LogUDP, netip.AddrPortFrom(addr, uint16(p))
	}
	if (t.Kind == LogUnix || t.Kind == LogFile) && t.Path == "" {
		return t, fmt.Errorf("log target '%s': missing path", target)
	}
	rest := args[1:]
	for len(rest) > 0 {
		switch rest[0] {
		case "len":
			if len(rest) < 2 {
				return t, fmt.Errorf("'log ... len' expects a line length")
			}
			n, err := parseInt("log line length", rest[1], 80, 65535)
			if err != nil {
				return t, err
			}
			t.MaxLen = n
			rest = rest[2:]
			continue
		case "format":
			if len(rest) < 2 {
				return t, fmt.Errorf("'log ... format' expects %s", logFormatWords.alternatives())
			}
			f, ok := logFormatWords.parse(rest[1])
			if !ok {
				return t, fmt.Errorf("unknown log format '%s' (supported: %s)", rest[1], logFormatWords.alternatives())
			}
			t.Format = f
			rest = rest[2:]
			continue
		case "log-format-json":
			t.Format = LogJSON
			rest = rest[1:]
			continue
		case "sample":
			if len(rest) < 2 {
				return t, fmt.Errorf("'log ... sample' expects RANGES:SIZE, such as 1,3-4:5")
			}
			smp, err := parseLogSample(rest[1])
			if err != nil {
				return t, fmt.Errorf("'log ... sample %s': %v", rest[1], err)
			}
			t.Sample = smp
			rest = rest[2:]
			continue
		}
		break
	}
	if len(rest) == 0 {
		if t.Kind != LogFile {
			return t, fmt.Errorf("'log %s' expects a syslog facility (for example local0)", target)
		}
		return t, nil
	}
	if t.Facility = indexOf(facilities, rest[0]); t.Facility < 0 {
		return t, fmt.Errorf("unknown log facility '%s' (kern, user, mail, daemon, auth, syslog, lpr, news, uucp, cron, auth2, ftp, ntp, audit, alert, cron2, local0-local7)", rest[0])
	}
	if len(rest) > 1 {
		if t.Level = indexOf(levels, rest[1]); t.Level < 0 {
			return t, fmt.Errorf("unknown log level '%s' (emerg, alert, crit, err, warning, notice, info, debug)", rest[1])
		}
	}
	if len(rest) > 2 {
		if t.MinLevel = indexOf(levels, rest[2]); t.MinLevel < 0 {
			return t, fmt.Errorf("unknown log minimum level '%s' (emerg, alert, crit, err, warning, notice, info, debug)", rest[2])
		}
		if t.MinLevel > t.Level {
			return t, fmt.Errorf("log minimum level '%s' is less severe than the maximum level '%s'", rest[2], rest[1])
		}
	}
	if len(rest) > 3 {
		return t, fmt.Errorf("'log': unexpected argument '%s'", rest[3])
	}
	return t, nil
}

func isSocket(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.Mode()&os.ModeSocket != 0
}

// sampleNotice says how fjord's sampling differs from HAProxy's.
func (p *parser) sampleNotice(t LogTarget) {
	if t.Sample != nil {
		p.notice(Notice, t.Pos, "'log ... sample' samples traffic lines only: unlike HAProxy, fjord sends every event line (a server going down) and does not count it")
	}
}

// LogSample is a log target's "sample RANGES:SIZE": of each SIZE lines in
// a row, only those whose number (from 1) is in one of the ranges are
// sent, to spread traffic lines over several targets.
type LogSample struct {
	Ranges [][2]int // low, high: 1-based, inclusive, not overlapping
	Size   int
}

// Keeps reports whether the n-th line (from 0) is sent.
func (s *LogSample) Keeps(n uint64) bool {
	i := int(n%uint64(s.Size)) + 1
	for _, r := range s.Ranges {
		if i >= r[0] && i <= r[1] {
			return true
		}
	}
	return false
}

// parseLogSample reads HAProxy's "RANGES:SIZE", RANGES a comma-separated
// list of N or N-M.
func parseLogSample(v string) (*LogSample, error) {
	ranges, size, ok := strings.Cut(v, ":")
	if !ok {
		return nil, fmt.Errorf("missing sample size")
	}
	s := &LogSample{}
	for _, rg := range strings.Split(ranges, ",") {
		lo, hi, isRange := strings.Cut(rg, "-")
		low, err := strconv.Atoi(lo)
		high := low
		if err == nil && isRange {
			high, err = strconv.Atoi(hi)
		}
		if err != nil || low < 1 || high < low || isRange && high == low {
			return nil, fmt.Errorf("wrong sample range '%s'", rg)
		}
		for _, r := range s.Ranges {
			if low >= r[0] && low <= r[1] || high >= r[0] && high <= r[1] {
				return nil, fmt.Errorf("ranges are overlapping")
			}
		}
		s.Ranges = append(s.Ranges, [2]int{low, high})
		s.Size = max(s.Size, high)
	}
	n, err := strconv.Atoi(size)
	if err != nil || n < 1 {
		return nil, fmt.Errorf("wrong sample size '%s'", size)
	}
	if n < s.Size {
		return nil, fmt.Errorf("sample size %d should be greater or equal to %d the maximum of the high ranges limits", n, s.Size)
	}
	s.Size = n
	return s, nil
}
