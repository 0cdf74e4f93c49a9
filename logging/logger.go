// Package logging writes fjord's logs: HAProxy's httplog and tcplog lines
// and event messages, framed as syslog (RFC 3164 or 5424), short or raw
// lines, or JSON (zap's encoder), to UDP and Unix syslog sockets, stdout,
// stderr and rotating files, with client addresses anonymised on request.
//
// The event loops hand records to a bounded queue and never wait: a
// single writer goroutine formats and sends them, and when the queue is
// full records are dropped and counted.
package logging

import (
	"fmt"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fjordlb/fjord/config"
	"github.com/fjordlb/fjord/engine"
)

// DefaultQueueLen is how many records wait for the writer at most.
const DefaultQueueLen = 1024

// Options tune a Logger; the zero value is what fjord runs with.
type Options struct {
	Now       func() time.Time // clock for dates, key rotation and file rotation
	QueueLen  int              // 0: DefaultQueueLen
	MaxSizeMB int              // file size that forces a rotation; 0: DefaultMaxSizeMB
	// TickEvery is how often files check for a new day; 0: a minute.
	TickEvery time.Duration
	// Report, when set, hears when a target starts failing (a full
	// disk, no syslog daemon) and when it works again; it is called from
	// the writer goroutine, once per change.
	Report func(msg string)
	// Samples, when set, gives each format with sample expressions
	// (%[...]) the renderer of their values: the hook of the rule
	// language. Without it they render empty. (The configuration
	// refuses them until the rule language comes.)
	Samples func(f *config.LineFormat) SampleRenderer
}

// Logger owns every log target of a configuration.
type Logger struct {
	anon   *Anonymizer
	now    func() time.Time
	hdr    header
	pid    int
	json   *jsonEncoder
	global []*target
	byName map[string]*proxyLog
	sinks  map[string]sink
	// samples is Options.Samples (nil: none)
	samples func(f *config.LineFormat) SampleRenderer
	health  map[string]*sinkHealth
	files   []*RotatingFile
	report  func(string)

	q        *ring
	sleeping atomic.Bool   // the writer is about to block on wake
	wake     chan struct{} // one token: there is work
	dropped  atomic.Uint64
	errors   atomic.Uint64 // failed writes, and lines not sent to a target resting after one
	lastErr  atomic.Pointer[string]

	tickEvery time.Duration
	stop      chan struct{}
	done      sync.WaitGroup
	closeOnce sync.Once
}

// proxyLog is the log of one proxy section: its targets and formats. It is
// the engine.AccessLog of a frontend.
type proxyLog struct {
	lg      *Logger
	name    string
	targets []*target
	json    bool    // log-format-json on the proxy
	format  *Format // "log-format": its traffic lines; nil: httplog, tcplog
	sd      *Format // "log-format-sd": their RFC 5424 structured data
	// lines counts the traffic lines built (%lc).
	lines atomic.Uint64
}

// item is one queued line: an access record, or an event.
type item struct {
	px    *proxyLog // nil: the global targets
	event bool
	level int
	at    time.Time
	msg   string
	rec   engine.AccessRecord
}

// New opens every target of cfg (global and per proxy). Errors name the
// "log" line.
func New(cfg *config.Config, o Options) (*Logger, error) {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.QueueLen <= 0 {
		o.QueueLen = DefaultQueueLen
	}
	if o.TickEvery <= 0 {
		o.TickEvery = time.Minute
	}
	host, _ := os.Hostname()
	if host == "" {
		host = "-"
	}
	retention := cfg.Global.LogRetention
	if retention <= 0 {
		retention = config.DefaultLogRetentionDays
	}
	lg := &Logger{
		anon:      NewAnonymizer(cfg.Global.LogAnonymize, o.Now),
		now:       o.Now,
		hdr:       header{pid: strconv.Itoa(os.Getpid()), hostname: host},
		pid:       os.Getpid(),
		json:      newJSONEncoder(),
		byName:    map[string]*proxyLog{},
		sinks:     map[string]sink{},
		health:    map[string]*sinkHealth{},
		report:    o.Report,
		samples:   o.Samples,
		q:         newRing(o.QueueLen),
		wake:      make(chan struct{}, 1),
		tickEvery: o.TickEvery,
		stop:      make(chan struct{}),
	}
	files := func(path string) (sink, error) {
		f, err := OpenRotating(path, retention, o.MaxSizeMB, o.Now)
		if err != nil {
			return nil, err
		}
		lg.files = append(lg.files, f)
		return f, nil
	}
	open := func(confs []config.LogTarget) ([]*target, error) {
		var out []*target
		for _, c := range confs {
			key := fmt.Sprintf("%d|%s|%s", c.Kind, c.Addr, c.Path)
			s := lg.sinks[key]
			if s == nil {
				var err error
				if s, err = openSink(c, files); err != nil {
					return nil, err
				}
				lg.sinks[key] = s
				lg.health[key] = &sinkHealth{name: targetName(c)}
			}
			out = append(out, &target{conf: c, sink: s, json: c.Format == config.LogJSON, health: lg.health[key]})
		}
		return out, nil
	}
	var err error
	if lg.global, err = open(cfg.Global.Logs); err != nil {
		lg.closeSinks()
		return nil, err
	}
	for _, px := range cfg.Proxies {
		ts, err := open(px.Logs)
		if err != nil {
			lg.closeSinks()
			return nil, err
		}
		p := &proxyLog{lg: lg, name: px.Name, targets: ts, json: px.LogFormatJSON}
		if px.LogFormat != nil {
			p.format = lg.newFormat(px.LogFormat)
		}
		if px.LogFormatSD != nil {
			p.sd = lg.newFormat(px.LogFormatSD)
		}
		lg.byName[px.Name] = p
	}
	for _, f := range lg.files {
		_, _ = f.Purge() // files left from before a restart
	}
	lg.done.Add(1)
	go lg.run()
	return lg, nil
}

// AccessLog is the sink of a frontend's records for the engine, or nil
// when the frontend has no log target.
func (lg *Logger) AccessLog(px *config.Proxy) engine.AccessLog {
	p := lg.byName[px.Name]
	if p == nil || len(p.targets) == 0 {
		return nil
	}
	return p
}

// UniqueID is the renderer of a frontend's "unique-id-format" for the
// engine, nil when it has none. It renders on the event loops: each call
// has its own environment, and allocates nothing.
func (lg *Logger) UniqueID(px *config.Proxy) engine.UniqueID {
	if px.UniqueIDFormat == nil {
		return nil
	}
	u := &uniqueIDs{f: lg.newFormat(px.UniqueIDFormat), anon: lg.anon, host: lg.hdr.hostname, pid: lg.pid}
	if p := lg.byName[px.Name]; p != nil {
		u.lines = &p.lines
	}
	return u
}

// newFormat prepares f, with the sample renderer of Options.Samples when
// it has sample expressions, else the values the engine evaluated into
// the record (RecordSamples).
func (lg *Logger) newFormat(f *config.LineFormat) *Format {
	var s SampleRenderer
	switch {
	case f.HasSamples() && lg.samples != nil:
		s = lg.samples(f)
	case f.HasSamples():
		s = RecordSamples{Keyword: f.Keyword}
	}
	return NewFormat(f, s)
}

// RecordSamples renders a format's %[expr] from the values the engine
// evaluated on its loop into the record's sample slots
// (engine.AccessRecord.Sample, config.SampleSlot).
type RecordSamples struct{ Keyword string }

// AppendSample appends sample i's value.
func (rs RecordSamples) AppendSample(dst []byte, i int, r *engine.AccessRecord) []byte {
	return append(dst, r.Sample(config.SampleSlot(rs.Keyword, i))...)
}

type uniqueIDs struct {
	f     *Format
	anon  *Anonymizer
	host  string
	pid   int
	lines *atomic.Uint64 // the frontend's lines so far, for %lc
}

func (u *uniqueIDs) AppendUniqueID(dst []byte, r *engine.AccessRecord) []byte {
	e := lineEnv{anon: u.anon, host: u.host, pid: u.pid}
	if u.lines != nil {
		e.count = u.lines.Load()
	}
	return u.f.Append(dst, r, &e)
}

// Log queues a copy of r, or drops it when the queue is full. It never
// blocks: it runs on an event loop.
func (p *proxyLog) Log(r *engine.AccessRecord) {
	lg := p.lg
	c, pos, ok := lg.q.claim()
	if !ok {
		lg.dropped.Add(1)
		return
	}
	c.it.px, c.it.event, c.it.msg = p, false, ""
	c.it.rec = *r
	lg.q.publish(c, pos)
	lg.kick()
}

// kick wakes the writer if it went to sleep on an empty queue. While
// traffic flows it does not sleep, and this is one atomic load.
func (lg *Logger) kick() {
	if lg.sleeping.Load() {
		select {
		case lg.wake <- struct{}{}:
		default:
		}
	}
}

// Event logs a message at a syslog level to a proxy's targets, or to the
// global ones when proxy is "" (or has none). Like records, events are
// dropped rather than waited for when the queue is full.
func (lg *Logger) Event(level int, proxy, msg string) {
	var px *proxyLog
	if p := lg.byName[proxy]; p != nil && len(p.targets) > 0 {
		px = p
	}
	// Scrubbed before a cell is claimed: an unpublished cell holds up the
	// writer, and a scrub may hash several addresses.
	msg = lg.anon.Scrub(msg)
	c, pos, ok := lg.q.claim()
	if !ok {
		lg.dropped.Add(1)
		return
	}
	c.it.px, c.it.event, c.it.level, c.it.at, c.it.msg = px, true, level, lg.now(), msg
	lg.q.publish(c, pos)
	lg.kick()
}

// Dropped is the number of lines lost because the queue was full.
func (lg *Logger) Dropped() uint64 { return lg.dropped.Load() }

// WriteErrors is the number of lines lost to failing targets (full disk,
// no syslog daemon): refused, or skipped while the target rested after a
// failure, and the last error.
func (lg *Logger) WriteErrors() (uint64, string) {
	n := lg.errors.Load()
	if s := lg.lastErr.Load(); s != nil {
		return n, *s
	}
	return n, ""
}

// failPause is how long a target that failed a write is left alone.
const failPause = time.Second

// Anonymizer is the configuration's address anonymizer (nil when off).
func (lg *Logger) Anonymizer() *Anonymizer { return lg.anon }

// Reopen closes every log file so that the next line opens its path again
// (SIGUSR2 after an external logrotate).
func (lg *Logger) Reopen() error {
	var first error
	for _, f := range lg.files {
		if err := f.Reopen(); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// closeWait bounds how long Close waits for the writer: a target that
// blocks for good (a pipe nobody reads) must not keep fjord from exiting.
const closeWait = 2 * time.Second

// Close writes what is queued, stops the writer and closes the targets.
// It reports false when the writer was stuck in a target and was left.
func (lg *Logger) Close() bool {
	ok := true
	lg.closeOnce.Do(func() {
		close(lg.stop)
		done := make(chan struct{})
		go func() { lg.done.Wait(); close(done) }()
		select {
		case <-done:
			lg.closeSinks()
		case <-time.After(closeWait):
			ok = false // the writer still uses the sinks: leave them
		}
	})
	return ok
}

func (lg *Logger) closeSinks() {
	for _, s := range lg.sinks {
		s.Close()
	}
}

// pollRounds is how many 1 ms naps the writer takes on an empty queue
// before it sleeps until a producer kicks it. While traffic flows the
// writer polls, so that producers find no sleeper to wake; an idle fjord
// costs nothing after a moment.
const pollRounds = 50

// run is the writer goroutine.
func (lg *Logger) run() {
	defer lg.done.Done()
	tick := time.NewTicker(lg.tickEvery)
	defer tick.Stop()
	nap := time.NewTimer(time.Millisecond)
	defer nap.Stop()
	w := &writer{lg: lg, env: lineEnv{anon: lg.anon, host: lg.hdr.hostname, pid: lg.pid}}
	empty := 0
	for {
		if it := lg.q.peek(); it != nil {
			w.write(it)
			lg.q.release()
			empty = 0
			continue
		}
		var wait <-chan time.Time
		var woken <-chan struct{}
		if empty < pollRounds {
			empty++
			nap.Reset(time.Millisecond)
			wait = nap.C
		} else {
			// Announce the sleep, then look once more: a producer
			// that published before seeing the flag is caught here.
			lg.sleeping.Store(true)
			if lg.q.peek() != nil {
				lg.sleeping.Store(false)
				continue
			}
			woken = lg.wake
		}
		select {
		case <-wait:
		case <-woken:
			empty = 0
		case <-tick.C:
			lg.tick()
		case <-lg.stop:
			for it := lg.q.peek(); it != nil; it = lg.q.peek() {
				w.write(it)
				lg.q.release()
			}
			return
		}
		lg.sleeping.Store(false)
	}
}

// tick rotates files whose day ended and purges old ones.
func (lg *Logger) tick() {
	for _, f := range lg.files {
		if err := f.Tick(); err != nil {
			lg.fail(err)
		}
	}
}

func (lg *Logger) fail(err error) {
	lg.errors.Add(1)
	s := err.Error()
	lg.lastErr.Store(&s)
}

// writer holds the writer goroutine's buffers.
type writer struct {
	lg        *Logger
	line, out []byte
	jsonLine  []byte
	sd        []byte
	sdDone    bool // sd holds the current item's structured data
	env       lineEnv
}

func (w *writer) write(it *item) {
	lg := w.lg
	targets := lg.global
	pxJSON := false
	if it.px != nil {
		targets, pxJSON = it.px.targets, it.px.json
	}
	level := levelInfo
	at := lg.now()
	if it.event {
		level, at = it.level, it.at
	} else if it.rec.Level > 0 {
		level = it.rec.Level - 1 // http-request set-log-level
	}
	w.line, w.jsonLine, w.sdDone = w.line[:0], w.jsonLine[:0], false
	if !it.event && it.px != nil {
		// %lc counts the lines built, whether or not a target takes them.
		w.env.count = it.px.lines.Add(1) - 1
	}
	for _, t := range targets {
		sent, ok := t.accepts(level)
		if !ok {
			continue
		}
		if smp := t.conf.Sample; smp != nil && !it.event {
			// "sample": traffic lines only; events always go.
			n := t.sampled
			t.sampled++
			if !smp.Keeps(n) {
				continue
			}
		}
		h := t.health
		if at.Before(h.failedUntil) {
			lg.errors.Add(1)
			continue
		}
		msg, isJSON := w.text(it), t.json || pxJSON
		if isJSON {
			msg = w.asJSON(it, at, level)
		}
		var sd []byte
		if t.conf.Format == config.LogRFC5424 && !isJSON {
			sd = w.structuredData(it)
		}
		w.out = t.frame(w.out[:0], &lg.hdr, at, sent, msg, isJSON, sd)
		if _, err := t.sink.Write(w.out); err != nil {
			// A full disk or a refused datagram is not retried line by
			// line: the target rests, and what it misses is counted.
			lg.fail(err)
			h.failedUntil = at.Add(failPause)
			if !h.failing && lg.report != nil {
				lg.report(fmt.Sprintf("%s: %v; lines are lost (counted) until it works again", h.name, err))
			}
			h.failing = true
		} else if h.failing {
			h.failing = false
			if lg.report != nil {
				lg.report(h.name + ": works again")
			}
		}
	}
}

// text is the HAProxy line of it, formatted once for all targets.
func (w *writer) text(it *item) []byte {
	if len(w.line) == 0 {
		switch {
		case it.event:
			w.line = append(w.line, it.msg...)
		case it.px.format != nil && (it.rec.Kind == engine.RecordHTTP || it.rec.Kind == engine.RecordTCP):
			w.line = it.px.format.Append(w.line, &it.rec, &w.env)
		case it.rec.Kind == engine.RecordHTTP:
			w.line = httpLogFormat.Append(w.line, &it.rec, &w.env)
		case it.rec.Kind == engine.RecordTCP:
			w.line = tcpLogFormat.Append(w.line, &it.rec, &w.env)
		default:
			w.line = AppendRecord(w.line, &it.rec, w.lg.anon)
		}
	}
	return w.line
}

// structuredData is the RFC 5424 structured data of a traffic line of a
// proxy with "log-format-sd", rendered once for all targets; nil for
// others. Trailing spaces are left out, as HAProxy does.
func (w *writer) structuredData(it *item) []byte {
	if it.event || it.px.sd == nil || (it.rec.Kind != engine.RecordHTTP && it.rec.Kind != engine.RecordTCP) {
		return nil
	}
	if !w.sdDone {
		w.sd = it.px.sd.Append(w.sd[:0], &it.rec, &w.env)
		for len(w.sd) > 0 && w.sd[len(w.sd)-1] == ' ' {
			w.sd = w.sd[:len(w.sd)-1]
		}
		w.sdDone = true
	}
	return w.sd
}

func (w *writer) asJSON(it *item, at time.Time, level int) []byte {
	if len(w.jsonLine) == 0 {
		if it.event {
			w.jsonLine = w.lg.json.event(w.jsonLine, at, level, it.msg)
		} else {
			w.jsonLine = w.lg.json.record(w.jsonLine, &it.rec, w.lg.anon)
		}
	}
	return w.jsonLine
}

// targetName names a target for messages, with its "log" line.
func targetName(c config.LogTarget) string {
	switch c.Kind {
	case config.LogUDP:
		return fmt.Sprintf("log %s (%s)", c.Addr, c.Pos)
	case config.LogStdout:
		return fmt.Sprintf("log stdout (%s)", c.Pos)
	case config.LogStderr:
		return fmt.Sprintf("log stderr (%s)", c.Pos)
	}
	return fmt.Sprintf("log %s (%s)", c.Path, c.Pos)
}
