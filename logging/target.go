package logging

import (
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"time"

	"github.com/fjordlb/fjord/config"
)

// Syslog severities (RFC 5424), the "LEVEL" of a log line.
const (
	levelEmerg = iota
	levelAlert
	levelCrit
	levelErr
	levelWarning
	levelNotice
	levelInfo
	levelDebug
)

// Exported severities for the events other packages report.
const (
	Emerg   = levelEmerg
	Alert   = levelAlert
	Err     = levelErr
	Warning = levelWarning
	Notice  = levelNotice
	Info    = levelInfo
)

// levelName names a severity for the JSON format, "info" for a code the
// configuration cannot produce.
func levelName(l int) string {
	if n := config.LevelName(l); n != "" {
		return n
	}
	return "info"
}

// sink is where a target's bytes go: a syslog socket, a stream or a file.
// Several "log" lines naming the same place share one sink.
type sink interface {
	io.Writer
	Close() error
}

// target is one "log" line: a sink and how lines are framed for it.
type target struct {
	conf config.LogTarget
	sink sink
	json bool // the message is a JSON object

	health *sinkHealth // shared by the targets of one sink
	// sampled counts the traffic lines this target was offered, for
	// "sample" (the writer goroutine's alone).
	sampled uint64
}

// sinkHealth is the writer goroutine's view of a sink that failed.
type sinkHealth struct {
	name        string    // for messages: "log 127.0.0.1:514 (fjord.cfg:3)"
	failing     bool      // the last write failed
	failedUntil time.Time // resting after an error
}

// header says what goes in front of each message.
type header struct {
	pid      string
	hostname string
}

// accepts reports whether a message of level passes the target's filter,
// and the level it is sent at: HAProxy drops messages less severe than
// LEVEL and raises those more severe than MINLEVEL to it.
func (t *target) accepts(level int) (int, bool) {
	if level > t.conf.Level {
		return 0, false
	}
	return max(level, t.conf.MinLevel), true
}

// frame appends the whole datagram or line for msg at level to dst.
// jsonMsg says msg is a JSON object (the target's format or the proxy's
// log-format-json); sd is the RFC 5424 structured data, empty for none.
func (t *target) frame(dst []byte, h *header, at time.Time, level int, msg []byte, jsonMsg bool, sd []byte) []byte {
	format := t.conf.Format
	stream := t.conf.Kind == config.LogStdout || t.conf.Kind == config.LogStderr || t.conf.Kind == config.LogFile
	if format == config.LogJSON || (jsonMsg && format == config.LogRFC3164) {
		format = config.LogRFC3164 // a syslog socket needs a header; streams take the object bare
		if stream {
			format = config.LogRaw
		}
	}
	facility := t.conf.Facility
	if facility < 0 {
		facility = 1 // "user", for a file target without a facility
	}
	pri := func(dst []byte) []byte {
		dst = append(dst, '<')
		dst = strconv.AppendInt(dst, int64(facility*8+level), 10)
		return append(dst, '>')
	}
	start := len(dst)
	switch format {
	case config.LogRaw:
	case config.LogShort:
		dst = append(dst, '<')
		dst = strconv.AppendInt(dst, int64(level), 10)
		dst = append(dst, '>')
	case config.LogRFC5424:
		dst = pri(dst)
		dst = append(dst, "1 "...)
		dst = at.AppendFormat(dst, "2006-01-02T15:04:05.000000Z07:00")
		dst = append(dst, ' ')
		dst = append(dst, h.hostname...)
		dst = append(dst, " fjord "...)
		dst = append(dst, h.pid...)
		// MSGID, and the structured data ("log-format-sd"), or "-".
		dst = append(dst, " - "...)
		if len(sd) > 0 {
			dst = append(dst, sd...)
		} else {
			dst = append(dst, '-')
		}
		dst = append(dst, ' ')
	default: // rfc3164, as HAProxy sends it: no hostname
		if t.conf.Kind != config.LogFile {
			dst = pri(dst)
		}
		dst = at.AppendFormat(dst, time.Stamp)
		dst = append(dst, " fjord["...)
		dst = append(dst, h.pid...)
		dst = append(dst, "]: "...)
	}
	dst = append(dst, msg...)
	// "len" bounds the whole line, newline included.
	if limit := t.conf.MaxLen; limit > 0 && len(dst)-start+1 > limit {
		dst = dst[:start+limit-1]
	}
	return append(dst, '\n')
}

// openSink opens the transport of a target. Files rotate per retention.
func openSink(t config.LogTarget, files fileOpener) (sink, error) {
	switch t.Kind {
	case config.LogUDP:
		c, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(t.Addr))
		if err != nil {
			return nil, fmt.Errorf("log %s (%s): %w", t.Addr, t.Pos, err)
		}
		return c, nil
	case config.LogUnix:
		return &unixSink{path: t.Path}, nil
	case config.LogStdout:
		return nopClose{os.Stdout}, nil
	case config.LogStderr:
		return nopClose{os.Stderr}, nil
	case config.LogFile:
		f, err := files(t.Path)
		if err != nil {
			return nil, fmt.Errorf("log %s (%s): %w", t.Path, t.Pos, err)
		}
		return f, nil
	}
	return nil, fmt.Errorf("log target at %s: unknown kind %d", t.Pos, t.Kind)
}

type fileOpener func(path string) (sink, error)

type nopClose struct{ io.Writer }

func (nopClose) Close() error { return nil }

// unixSink writes datagrams to a Unix syslog socket such as /dev/log,
// connecting again after the daemon restarted.
type unixSink struct {
	path string
	c    net.Conn
}

func (u *unixSink) Write(p []byte) (int, error) {
	if u.c == nil {
		c, err := net.Dial("unixgram", u.path)
		if err != nil {
			return 0, err
		}
		u.c = c
	}
	n, err := u.c.Write(p)
	if err != nil {
		u.c.Close()
		u.c = nil
	}
	return n, err
}

func (u *unixSink) Close() error {
	if u.c != nil {
		return u.c.Close()
	}
	return nil
}
