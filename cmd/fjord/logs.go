package main

import (
	"fmt"
	"io"
	"log"
	"strings"
	"sync/atomic"

	"github.com/fjordlb/fjord/config"
	"github.com/fjordlb/fjord/logging"
)

// logs is fjord's logging as the process wires it: operational messages
// to stderr (with client addresses scrubbed under "log-anonymize"), access
// records and events to the configured "log" targets.
//
// A daemon's stderr is /dev/null once it has started, so there its
// operational messages go to the global log targets instead, at info.
type logs struct {
	*log.Logger             // for the engine, health checks and the stats page
	plain       *log.Logger // unscrubbed, for fjord's own addresses ("listening on")
	targets     *logging.Logger
	daemon      bool
}

// openLogs opens every log target of cfg; an error names the "log" line.
func openLogs(cfg *config.Config, stderr io.Writer, daemon bool) (*logs, error) {
	plain := log.New(stderr, "fjord: ", log.LstdFlags)
	lg, err := logging.New(cfg, logging.Options{Report: func(msg string) { plain.Print(msg) }})
	if err != nil {
		return nil, err
	}
	w := stderr
	if a := lg.Anonymizer(); a != nil {
		w = scrubWriter{w: w, a: a}
	}
	prefix, flags := "fjord: ", log.LstdFlags
	if daemon {
		// Until it has started, a daemon's stderr still reaches the
		// terminal through the process that started it (parentLink);
		// writing to both keeps startup errors visible there. Event
		// scrubs what reaches the targets itself, and the targets stamp
		// their own time and tag.
		w = io.MultiWriter(w, eventWriter{lg})
		plain = log.New(io.MultiWriter(stderr, eventWriter{lg}), "", 0)
		prefix, flags = "", 0
	}
	return &logs{Logger: log.New(w, prefix, flags), plain: plain, targets: lg, daemon: daemon}, nil
}

// Event writes a message, at its syslog level, to the log targets of proxy
// ("" or a proxy without targets: the global ones), and to stderr unless
// stderr already goes to the targets (a daemon). The health checks report
// server state changes through it.
func (l *logs) Event(level int, proxy, msg string) {
	if !l.daemon {
		l.Print(msg)
	}
	l.targets.Event(level, proxy, msg)
}

// eventWriter sends each message written to it to the global log targets
// at info level.
type eventWriter struct{ lg *logging.Logger }

func (e eventWriter) Write(p []byte) (int, error) {
	e.lg.Event(logging.Info, "", strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// started and stopped are HAProxy's proxy lines, at notice.
func (l *logs) started(cfg *config.Config) {
	for _, px := range cfg.Proxies {
		l.targets.Event(logging.Notice, px.Name, fmt.Sprintf("Proxy %s started.", px.Name))
	}
}

func (l *logs) stopped(cfg *config.Config, conns func(proxy string) (fe, be int64)) {
	for _, px := range cfg.Proxies {
		fe, be := conns(px.Name)
		l.targets.Event(logging.Notice, px.Name, fmt.Sprintf("Proxy %s stopped (FE: %d conns, BE: %d conns).", px.Name, fe, be))
	}
}

// scrubWriter anonymises the client addresses in each formatted message.
type scrubWriter struct {
	w io.Writer
	a *logging.Anonymizer
}

func (s scrubWriter) Write(p []byte) (int, error) {
	if _, err := io.WriteString(s.w, s.a.Scrub(string(p))); err != nil {
		return 0, err
	}
	return len(p), nil
}

// loopLogger is the engine's Logger. The event loops must never wait, and
// a log.Logger writing to a stalled stderr pipe, or scrubbing and hashing
// under log-anonymize, would make them do so for every 4xx/5xx they answer.
// Messages are formatted on the loop and handed through a bounded channel
// to one writer goroutine; when it is full they are dropped and counted.
type loopLogger struct {
	ch      chan string
	done    chan struct{}
	dropped atomic.Uint64
}

// loopLogQueue is how many messages may wait for the writer.
const loopLogQueue = 1024

func newLoopLogger(out *log.Logger) *loopLogger {
	l := &loopLogger{ch: make(chan string, loopLogQueue), done: make(chan struct{})}
	go func() {
		defer close(l.done)
		for msg := range l.ch {
			out.Print(msg)
		}
	}()
	return l
}

func (l *loopLogger) Printf(format string, args ...any) {
	select {
	case l.ch <- fmt.Sprintf(format, args...):
	default:
		l.dropped.Add(1)
	}
}

// Dropped is the number of messages lost because the writer lagged.
func (l *loopLogger) Dropped() uint64 { return l.dropped.Load() }

// close writes what is queued and stops the writer. No Printf may follow.
func (l *loopLogger) close() {
	close(l.ch)
	<-l.done
}
