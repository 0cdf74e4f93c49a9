package engine

import (
	"net/netip"
	"time"

	"github.com/fjordlb/fjord/config"
	"github.com/fjordlb/fjord/engine/h1"
	"github.com/fjordlb/fjord/rules"
)

// AccessLog receives access records: one per HTTP request ("option
// httplog"), one per connection in tcp mode and for HTTP tunnels ("option
// tcplog", or httplog on a tunnel), or one "Connect from" record per
// connection when a frontend logs without either option, as HAProxy does.
//
// Log is called on an event loop with a record owned by the loop, or for a
// request answered off the loop (the stats page) from that request's
// goroutine: it must be safe for concurrent use, must not block, and must
// copy what it keeps before returning.
type AccessLog interface {
	Log(r *AccessRecord)
}

// UniqueID renders a frontend's "unique-id-format" for a request: the
// logging package compiles the format, and the engine, which must send
// the id to the server, calls it on its loops. AppendUniqueID appends the
// id of the request r describes (its ID not set yet) to dst; it must be
// safe for concurrent use and must not block.
type UniqueID interface {
	AppendUniqueID(dst []byte, r *AccessRecord) []byte
}

// RecordKind says which of HAProxy's formats a record is for.
type RecordKind uint8

const (
	RecordConnect RecordKind = iota // "Connect from CLIENT to LOCAL (FRONTEND/MODE)"
	RecordTCP                       // option tcplog
	RecordHTTP                      // option httplog
	// RecordConnError is a connection that failed before it carried
	// anything, HAProxy's "FRONTEND/BIND: SSL handshake failure" line.
	RecordConnError
)

// MaxRequestLine bounds the request line kept for the log, as HAProxy's
// default line length bounds the whole line.
const MaxRequestLine = 1024

// AccessRecord is one line's worth of facts, fixed in size so that building
// and handing it over allocates nothing. Strings point into the
// configuration and the balancer, which outlive the record.
type AccessRecord struct {
	Kind     RecordKind
	HTTPMode bool // the frontend's mode, for the connect line

	Frontend string
	Backend  string // the frontend's name when no backend was chosen
	Server   string // "<NOSRV>" when none was reached

	// Client is unset for a client of a Unix socket, which HAProxy
	// logs as "unix:" and the listener's id, Listener.
	Client netip.AddrPort
	// Local is the address the client connected to (%fi:%fp): always set
	// on RecordConnect, on the others only for a frontend whose formats
	// read it (config.NeedFrontendAddr). Unset for a Unix socket.
	Local netip.AddrPort
	// Listener is the bind's number in its frontend, from 1 (HAProxy's
	// listener id, %cp of a Unix socket's client).
	Listener int

	// Accept is the date of the connection's accept, or in keep-alive
	// the end of the previous response (HAProxy 1.5's accept_date).
	Accept time.Time

	// Timers in milliseconds from Accept, HAProxy's Tq/Tw/Tc/Tr/Tt; -1
	// means the phase was never reached. Tq and Tr are HTTP only.
	Tq, Tw, Tc, Tr, Tt int64
	// Th is the time the handshakes took (PROXY header, TLS) on the
	// connection's first request, 0 on the others. Ti is the idle time
	// before the request's first byte, after Th (HTTP; -1 in tcp mode),
	// so that Th+Ti+TR = Tq. Td is the time from the response head (in
	// tcp mode from the server's connection) to the end; -1 if it never
	// came.
	Th, Ti, Td int64

	Status  int   // HTTP status sent to the client; -1: none
	Bytes   int64 // bytes sent to the client (response headers included)
	BytesUp int64 // bytes sent to the server (%U: request headers included)
	// ASAP: the frontend has "option logasap", and Tt and Bytes may be
	// less than the request's or connection's whole (the line writes
	// them with a '+'). Like HAProxy, every record of such a frontend
	// has it, also one written at the end.
	ASAP bool

	// Term is the session state at disconnection: the first event that
	// ended it (C, S, P, R, I, D, L, K, c, s or '-') and the phase it was
	// in (R, Q, C, H, D, L, T or '-'), HAProxy's two characters.
	Term [2]byte

	Retries      int
	Redispatched bool // shown as '+' before the retry count

	ActConn, FeConn, BeConn, SrvConn int64
	SrvQueue, BeQueue                int64

	// TLS: the client came through a bind with "ssl" (%ft's '~'), and
	// the version and suite it negotiated, by OpenSSL's names ("" when
	// unknown).
	TLS                   bool
	TLSVersion, TLSCipher string

	// ServerAddr is the address of the server of the request (%si:%sp),
	// unset when there is none or it is on a Unix socket (ServerUnix);
	// BackendSrc is the source address of the connection to it (%bi:%bp,
	// for a frontend whose formats read it: config.NeedBackendSrc).
	ServerAddr, BackendSrc netip.AddrPort
	ServerUnix             bool

	// Counter is the request's number in the process, from 0: each
	// HTTP request or tcp connection takes one (%rt, for a frontend
	// whose formats read it: config.NeedCounter).
	Counter uint64

	// Request is the request line ("GET / HTTP/1.1"); Request[:RequestLen].
	// A zero length with Kind RecordHTTP means no complete request
	// arrived (HAProxy's "<BADREQ>").
	Request    [MaxRequestLine]byte
	RequestLen int

	// RecordConnError: the bind (its name, else its number in the
	// frontend) and what failed, in HAProxy's words.
	Bind  string
	Error string

	// Caps are the request's captured headers (%hr, %hs).
	Caps Captures
	// Level is the syslog level set-log-level gave the line, plus one;
	// 0 for the default (info).
	Level int

	// Samples are the values of the frontend's %[expr] nodes, slot i in
	// Samples[SampleOff[i]:SampleOff[i+1]] (config.SampleSlot), for a
	// frontend whose formats have any.
	Samples   [MaxSampleBytes]byte
	SampleOff [config.MaxSampleSlots + 1]uint16

	// ID is the request's unique id (%ID), ID[:IDLen], for a frontend
	// with "unique-id-format".
	ID    [config.MaxUniqueIDLen]byte
	IDLen int
}

// UniqueIDBytes is the recorded unique id.
func (r *AccessRecord) UniqueIDBytes() []byte { return r.ID[:r.IDLen] }

// RequestLine is the recorded request line.
func (r *AccessRecord) RequestLine() []byte { return r.Request[:r.RequestLen] }

// Captures are the values of a frontend's "capture request header" and
// "capture response header" lines for one request: NReq request slots
// then NRsp response slots, in the order of the lines, each the last
// occurrence of its header cut to the line's length, in a fixed buffer.
type Captures struct {
	NReq, NRsp uint8
	// Len is a slot's length, -1 when its header was absent (or the
	// slot is one capture actions fill and none did); Off
	// is where its value starts in Text.
	Len  [2 * config.MaxCaptures]int16
	Off  [2 * config.MaxCaptures]uint16
	Text [config.MaxCaptureBytes]byte
}

// Slot is the value of slot i, the request's slots first, false when it
// holds nothing.
func (c *Captures) Slot(i int) ([]byte, bool) {
	if c.Len[i] < 0 {
		return nil, false
	}
	off := int(c.Off[i])
	return c.Text[off : off+int(c.Len[i])], true
}

// copyTo copies c to d, the bytes of its values only.
func (c *Captures) copyTo(d *Captures) {
	d.NReq, d.NRsp, d.Len, d.Off = c.NReq, c.NRsp, c.Len, c.Off
	for i := 0; i < int(c.NReq+c.NRsp); i++ {
		if n := c.Len[i]; n > 0 {
			off := c.Off[i]
			copy(d.Text[off:off+uint16(n)], c.Text[off:])
		}
	}
}

// captureSlots are a frontend's captures: per slot its header ("" for a
// declared slot) and where its value goes.
type captureSlots struct {
	nReq, nRsp int
	name       [2 * config.MaxCaptures]string
	max        [2 * config.MaxCaptures]int
	off        [2 * config.MaxCaptures]uint16
}

func newCaptureSlots(px *config.Proxy) *captureSlots {
	if len(px.CaptureRequest)+len(px.CaptureResponse) == 0 {
		return nil
	}
	cs := &captureSlots{nReq: len(px.CaptureRequest), nRsp: len(px.CaptureResponse)}
	off := 0
	for i, c := range append(append([]config.Capture(nil), px.CaptureRequest...), px.CaptureResponse...) {
		cs.name[i], cs.max[i], cs.off[i] = c.Header, c.Len, uint16(off)
		off += c.Len
	}
	return cs
}

// reset empties every slot of c.
func (cs *captureSlots) reset(c *Captures) {
	c.NReq, c.NRsp, c.Off = uint8(cs.nReq), uint8(cs.nRsp), cs.off
	for i := 0; i < cs.nReq+cs.nRsp; i++ {
		c.Len[i] = -1
	}
}

// capture keeps in c the last occurrence of each captured header among
// hdrs: the request's slots, or the response's.
func (cs *captureSlots) capture(c *Captures, hdrs []h1.Header, response bool) {
	from, to := 0, cs.nReq
	if response {
		from, to = cs.nReq, cs.nReq+cs.nRsp
	}
	for _, hd := range hdrs {
		for i := from; i < to; i++ {
			if cs.name[i] == "" || !asciiEqualFold(hd.Name, cs.name[i]) {
				continue
			}
			v := hd.Value
			if len(v) > cs.max[i] {
				v = v[:cs.max[i]]
			}
			c.Len[i] = int16(copy(c.Text[cs.off[i]:], v))
		}
	}
}

// set keeps v in slot i of c (a capture action's), cut to the slot's
// length; i counts the request's slots, then the response's.
func (cs *captureSlots) set(c *Captures, i int, v []byte) {
	if i < 0 || i >= cs.nReq+cs.nRsp {
		return // a slot this frontend does not have
	}
	if len(v) > cs.max[i] {
		v = v[:cs.max[i]]
	}
	c.Len[i] = int16(copy(c.Text[cs.off[i]:], v))
}

// accessTimes are a request's (or tcp connection's) timestamps, all copies
// of the loop's "now": taking them costs no clock read.
type accessTimes struct {
	begin time.Time // accept, or the start of this keep-alive request
	first time.Time // the request's first byte (HTTP; zero: none came)
	head  time.Time // request head complete (HTTP)
	slot  time.Time // server slot granted (end of queueing)
	conn  time.Time // server connection established or reused
	resp  time.Time // response head received (HTTP)

	term         [2]byte // set where the cause is known; 0: derive at the end
	redispatched bool
	beQueue      int64    // requests ahead in the backend's queues when queued
	status       int      // HTTP status given to the client, -1: none
	pending      bool     // a request (or tunnel) is under way and not logged yet
	routed       bool     // s.be is this request's backend
	localBe      *backend // the backend whose stats page claimed the request
	handedOff    bool     // answered off the loop (the stats page): "<STATS>"
	// logLevel is what set-log-level set: 0 none, 1 silent, else the
	// syslog level + 2.
	logLevel int

	// counter is the request's number in the process (%rt), taken from
	// the engine's count the first time it is asked for (counted).
	counter uint64
	counted bool
}

// counter is the request's (or tcp connection's) number in the process,
// HAProxy's uniq_id: taken when first asked for, so that frontends that
// never ask cost no shared counter update.
func (s *session) counter() uint64 {
	if !s.at.counted {
		s.at.counter = s.l.eng.requests.Add(1) - 1
		s.at.counted = true
	}
	return s.at.counter
}

// logsTraffic reports whether this frontend writes access records.
func (s *session) logsTraffic() bool { return s.fe.log != nil }

// logRequestStart begins a request's access record: its timers restart
// and its line is copied now, before the head is consumed.
func (s *session) logRequestStart(req *h1.Request) {
	t := &s.at
	if s.h.requests <= 1 {
		t.begin = s.start
	} else {
		t.begin = s.h.idleSince
	}
	t.head = s.l.now
	t.first = s.h.headStart // an incomplete head was seen before this one
	if t.first.IsZero() {
		t.first = t.head
	}
	t.slot, t.conn, t.resp = time.Time{}, time.Time{}, time.Time{}
	t.term = [2]byte{}
	t.logLevel = 0
	t.redispatched = false
	t.beQueue = 0
	t.status = -1
	t.pending = true
	t.routed = false
	t.localBe = nil
	t.handedOff = false
	s.keepRequestLine(req)
}

// keepRequestLine copies the request line, before the head is consumed:
// the access log writes it, capture.req.* read it.
func (s *session) keepRequestLine(req *h1.Request) {
	line := s.h.line[:0]
	line = appendCapped(line, req.Method)
	line = appendCapped(line, []byte{' '})
	line = appendCapped(line, req.URI)
	if req.Minor == 0 {
		line = appendCapped(line, []byte(" HTTP/1.0"))
	} else {
		line = appendCapped(line, []byte(" HTTP/1.1"))
	}
	s.h.line = line
}

func appendCapped(dst, b []byte) []byte {
	if room := cap(dst) - len(dst); len(b) > room {
		b = b[:room]
	}
	return append(dst, b...)
}

// setTerm records why the session or request ends, unless an earlier
// cause was recorded: HAProxy logs the first event.
func (s *session) setTerm(cause, phase byte) {
	if s.at.term[0] == 0 {
		s.at.term = [2]byte{cause, phase}
	}
}

// phase is HAProxy's second termination character for the current state.
func (s *session) phase() byte {
	switch s.state {
	case stQueued:
		return 'Q'
	case stConnecting, stRetryWait:
		return 'C'
	case stEstablished:
		if h := s.h; h != nil && !h.tunnel && h.rs == rsHead {
			if h.rq == rqBody {
				return 'D'
			}
			return 'H'
		}
		return 'D'
	case stHTTPHead:
		if s.h != nil && s.h.bodyWait {
			return 'D' // the head came; its body is awaited
		}
		return 'R'
	case stProxyHeader:
		return 'R'
	}
	return '-'
}

// timedOut records which timeout fired: the client's or the server's.
func (s *session) timedOut(now time.Time) {
	if !s.logsTraffic() || s.state == stRetryWait {
		return // the end of a retry pause is no timeout
	}
	cause := byte('s')
	switch s.state {
	case stQueued:
		s.at.slot = now // Tw is the time spent queued, as in HAProxy
	case stProxyHeader, stHTTPHead:
		cause = 'c'
	case stEstablished:
		t := &s.fe.conf.Timeouts
		cli := t.Client
		if s.h == nil || s.h.tunnel {
			if bt := &s.be.Conf.Timeouts; bt.Tunnel > 0 {
				cli = bt.Tunnel
			}
			if s.c2s.eof && t.ClientFin > 0 {
				cli = t.ClientFin
			}
		} else if h := s.h; h.rs == rsHead && h.rq == rqDone {
			break // waiting for the response head: the server's timeout
		}
		if cli > 0 && !s.serverBlocks() && !now.Before(s.lastCli.Add(cli)) {
			cause = 'c'
		}
	}
	s.setTerm(cause, s.phase())
}

// aborted records a reset or error that ends the session: a peer that hung
// up or failed is the cause; the endpoint flags say which one.
func (s *session) aborted() {
	if !s.cli.hup && s.svr.fd >= 0 {
		s.setTerm('S', s.phase())
		return
	}
	s.setTerm('C', s.phase())
}

// logClose writes what is left to log when the session closes: the tcp
// connection, an HTTP tunnel, a request cut short, or a first request that
// never came.
func (s *session) logClose(reset bool) {
	if s.h == nil {
		if s.fe.conf.DontLogNull && s.c2s.bytes == 0 && s.s2c.bytes == 0 {
			return
		}
		if reset {
			s.aborted()
		}
		s.emit(RecordTCP)
		return
	}
	h := s.h
	switch {
	case s.at.pending:
		if reset {
			s.aborted()
		}
		s.emit(RecordHTTP)
	case h.requests == 0 && s.state != stLinger:
		// No complete request: HAProxy logs "<BADREQ>" unless the
		// connection carried nothing and dontlognull is on.
		if h.headStart.IsZero() && s.fe.conf.DontLogNull {
			return
		}
		s.at.begin = s.start
		s.at.first = h.headStart
		s.at.head = time.Time{}
		s.at.status = -1
		s.h.line = s.h.line[:0]
		s.noRequest()
		s.setTerm('C', 'R')
		s.emit(RecordHTTP)
	}
}

// noRequest empties the captures and the unique id for a line without a
// request: none of an earlier request's may show in it.
func (s *session) noRequest() {
	if s.h.caps != nil {
		s.fe.caps.reset(s.h.caps)
	}
	if s.h.uid != nil {
		s.h.uid.set = false
	}
}

// logHTTPFail logs a request answered with one of fjord's own errors
// (page bytes sent on top of what the flows moved).
func (s *session) logHTTPFail(code, status int, page int) {
	if !s.at.pending {
		// The head never became a request: its line is unknown.
		s.at.begin = s.start
		if s.h.requests > 0 {
			s.at.begin = s.h.idleSince
		}
		s.at.head = time.Time{}
		s.at.first = s.h.headStart
		s.h.line = s.h.line[:0]
		s.noRequest()
		if code == 400 {
			s.at.head = s.l.now // the head came, but was refused
			if s.at.first.IsZero() {
				s.at.first = s.l.now
			}
		}
	}
	s.at.status = status
	switch code {
	case 400:
		s.setTerm('P', 'R')
	case 408:
		s.setTerm('c', 'R')
	case 502:
		s.setTerm('S', 'H')
	case 503:
		s.setTerm('S', 'C')
	case 504:
		s.setTerm('s', 'H')
	}
	s.emitBytes(RecordHTTP, int64(page))
}

func (s *session) emit(kind RecordKind) { s.emitBytes(kind, 0) }

// emitBytes fills the loop's record and hands it to the frontend's sink.
func (s *session) emitBytes(kind RecordKind, extra int64) {
	r := s.record(kind, extra)
	if r == nil || s.at.logLevel == 1 { // set-log-level silent
		return
	}
	r.Level = 0
	if s.at.logLevel > 1 {
		r.Level = s.at.logLevel - 1
	}
	s.fe.log.Log(r)
}

// record fills the loop's record for the request or connection that ends
// now, nil when the frontend writes only connect lines.
func (s *session) record(kind RecordKind, extra int64) *AccessRecord {
	s.at.pending = false
	if s.fe.logKind == RecordConnect {
		return nil // the connect line was written at accept
	}
	kind = min(kind, s.fe.logKind) // tcplog on an HTTP frontend
	r := &s.l.rec
	s.fill(r, kind, extra)
	return r
}

// uniqueIDBuf holds a request's unique id once it is made.
type uniqueIDBuf struct {
	b   [config.MaxUniqueIDLen]byte
	n   int
	set bool
}

// uniqueID is the current request's unique id (or the tcp connection's),
// rendered the first time it is asked for: when the request goes to its
// server, or when its line is written if it never went. r is a record of
// the request as it stands, filled but for its ID.
func (s *session) uniqueID(r *AccessRecord) []byte {
	if s.h == nil {
		// tcp mode: one id per connection, made for its one line.
		s.l.uid = s.fe.uid.AppendUniqueID(s.l.uid[:0], r)
		return s.l.uid[:min(len(s.l.uid), config.MaxUniqueIDLen)]
	}
	u := s.h.uid
	if !u.set {
		s.l.uid = s.fe.uid.AppendUniqueID(s.l.uid[:0], r)
		u.n = copy(u.b[:], s.l.uid)
		u.set = true
	}
	return u.b[:u.n]
}

// requestUniqueID makes the unique id of the request about to go to its
// server, for its header.
func (s *session) requestUniqueID() []byte {
	r := &s.l.rec
	s.fill(r, RecordHTTP, 0)
	return s.uniqueID(r)
}

// fill sets every field of r for the current request (or connection).
func (s *session) fill(r *AccessRecord, kind RecordKind, extra int64) {
	l, t := s.l, &s.at
	r.Kind = kind
	r.Level = 0
	r.HTTPMode = s.fe.conf.Mode == config.ModeHTTP
	r.Frontend = s.fe.conf.Name
	r.Backend, r.Server = s.fe.conf.Name, "<NOSRV>"
	r.BeConn, r.SrvConn, r.Retries = 0, 0, 0
	if t.routed && s.be != nil {
		r.Backend = s.be.Name
		r.BeConn = s.be.Counters.CurSessions.Load()
		r.Retries = s.be.Conf.Retries - s.retriesLeft
	}
	if t.routed && s.srv != nil {
		r.Server = s.srv.Name
		r.SrvConn = s.srv.Counters.CurSessions.Load()
	}
	r.Client, r.Listener = s.src(), s.ln.id
	r.ActConn = l.eng.global.cur.Load()
	r.FeConn = s.fe.limit.cur.Load()
	r.SrvQueue, r.BeQueue = 0, t.beQueue
	r.Redispatched = t.redispatched
	r.Bytes = s.s2c.bytes + extra
	r.BytesUp = s.c2s.bytes
	r.TLS = s.ln.tls != nil
	r.TLSVersion, r.TLSCipher = "", ""
	if i := s.cli.tlsInfo(); i != nil {
		r.TLSVersion, r.TLSCipher = protocolName(i.Version), opensslSuiteName(i.CipherSuite)
	}
	needs := s.fe.needs
	r.Local = netip.AddrPort{}
	if needs&config.NeedFrontendAddr != 0 {
		r.Local = s.dst()
	}
	r.ServerAddr, r.ServerUnix, r.BackendSrc = netip.AddrPort{}, false, netip.AddrPort{}
	if needs&config.NeedServerAddr != 0 && t.routed && s.srv != nil {
		r.ServerAddr, r.ServerUnix = s.serverAddr(s.srv), s.srv.Conf.Unix.IsValid()
	}
	if needs&config.NeedBackendSrc != 0 && t.routed {
		r.BackendSrc = s.serverSource()
	}
	r.Counter = 0
	if needs&config.NeedCounter != 0 {
		r.Counter = s.counter()
	}
	r.ASAP = s.fe.conf.LogASAP
	r.Status = t.status
	if s.h == nil {
		r.Status = -1
	}
	r.Term = t.term
	if r.Term[0] == 0 {
		r.Term[0] = '-'
	}
	if r.Term[1] == 0 {
		r.Term[1] = '-'
	}
	if t.localBe != nil { // claimed by the stats page of this backend
		r.Backend = t.localBe.Name
	}
	if t.handedOff { // the stats page: HAProxy names its applet
		r.Server = "<STATS>"
	}
	begin := t.begin
	if kind != RecordHTTP {
		begin = s.start
	}
	r.Accept = begin
	ms := func(from, to time.Time) int64 {
		if from.IsZero() || to.IsZero() {
			return -1
		}
		return to.Sub(from).Milliseconds()
	}
	r.Tt = ms(begin, l.now)
	r.Tq, r.Tr = -1, -1
	// Th: the handshakes, counted in the connection's first request
	// only (HAProxy resets it for the next ones); in tcp mode Ti is -1.
	r.Th, r.Ti = 0, -1
	if s.h == nil || s.h.requests <= 1 || kind != RecordHTTP {
		r.Th = ms(s.start, s.ready)
	}
	from := begin // the end of the previous phase
	if kind == RecordHTTP {
		r.Tq = ms(begin, t.head)
		from = t.head
		if idle := ms(begin, t.first); idle >= 0 {
			r.Ti = idle - max(r.Th, 0)
		}
	}
	r.Tw = ms(from, t.slot)
	r.Tc = ms(t.slot, t.conn)
	if kind == RecordHTTP {
		r.Tr = ms(t.conn, t.resp)
		r.Td = ms(t.resp, l.now)
	} else {
		r.Td = ms(t.conn, l.now)
	}
	r.RequestLen = 0
	r.Caps.NReq, r.Caps.NRsp = 0, 0
	if s.h != nil {
		r.RequestLen = copy(r.Request[:], s.h.line)
		if s.h.caps != nil {
			s.h.caps.copyTo(&r.Caps)
		}
	} else if cs := s.fe.caps; cs != nil {
		cs.reset(&r.Caps) // captures in tcp mode: the slots, empty
	}
	s.fillSamples(r) // before the id, which may read them
	r.IDLen = 0
	if s.fe.uid != nil {
		r.IDLen = copy(r.ID[:], s.uniqueID(r))
	}
}

// handedOffRecord takes the record of a request that leaves the loop to be
// answered by fjord itself (the stats page), nil when nothing logs it. The
// record is a copy, completed and logged by handOff's goroutine once the
// answer is sent: only then are its status and size known.
func (s *session) handedOffRecord() *AccessRecord {
	if !s.logsTraffic() || !s.at.pending {
		return nil
	}
	r := s.record(RecordHTTP, 0)
	if r == nil {
		return nil
	}
	c := *r // one allocation, on the stats page's path only
	return &c
}

// logASAP writes, for a frontend with "option logasap", the record of the
// request or connection under way before its data moves, as HAProxy
// does: in HTTP once the response head is forwarded (its bytes, and the
// time so far, are the line's), in tcp mode once the server connection
// is up. Nothing is logged for it at its end.
func (s *session) logASAP() {
	if !s.fe.conf.LogASAP || !s.logsTraffic() {
		return
	}
	if s.h != nil {
		if s.at.pending {
			s.emit(RecordHTTP)
		}
		return
	}
	s.emit(RecordTCP)
	s.quiet = true // the connection's line is written
}

// logConnect writes HAProxy's connection line for frontends that log
// without httplog or tcplog.
func (s *session) logConnect() {
	l := s.l
	r := &l.rec
	*r = AccessRecord{Kind: RecordConnect, HTTPMode: s.fe.conf.Mode == config.ModeHTTP,
		Frontend: s.fe.conf.Name, Client: s.src(), Listener: s.ln.id, Local: s.dst(), Accept: s.start}
	s.fe.log.Log(r)
}

// logConnError writes the line of a connection that failed before it
// carried anything (a TLS handshake), and no other for it.
func (s *session) logConnError(reason string) {
	l := s.l
	r := &l.rec
	*r = AccessRecord{Kind: RecordConnError, HTTPMode: s.fe.conf.Mode == config.ModeHTTP,
		Frontend: s.fe.conf.Name, Bind: s.ln.name, Client: s.src(), Listener: s.ln.id, Accept: s.start, Error: reason}
	s.fe.log.Log(r)
	s.quiet = true
}

// logKindOf is the format a frontend's records take.
func logKindOf(px *config.Proxy) RecordKind {
	switch {
	case px.LogFormat != nil && px.Mode == config.ModeHTTP:
		return RecordHTTP
	case px.LogFormat != nil:
		return RecordTCP
	case px.HTTPLog && px.Mode == config.ModeHTTP:
		return RecordHTTP
	case px.HTTPLog || px.TCPLog:
		return RecordTCP
	}
	return RecordConnect
}

// MaxSampleBytes bounds the text of a record's samples, and
// maxSampleLen one sample's: HAProxy cuts a log line at its length too.
const (
	MaxSampleBytes = 1024
	maxSampleLen   = 256
)

// Sample is slot i's text.
func (r *AccessRecord) Sample(i int) []byte {
	if i < 0 || i >= config.MaxSampleSlots {
		return nil
	}
	return r.Samples[r.SampleOff[i]:r.SampleOff[i+1]]
}

// logSample is a %[expr] of a frontend's formats, compiled, and when it
// is evaluated: with the request head (it reads the request), the
// response head, or when the record is filled (anything else).
type logSample struct {
	slot  int
	expr  *rules.Expr
	phase samplePhase
}

type samplePhase uint8

const (
	atRecord samplePhase = iota
	atRequest
	atResponse
)

// compileLogSamples gathers the %[expr] nodes of px's formats.
func compileLogSamples(px *config.Proxy, cp *rules.Compiler) []logSample {
	var out []logSample
	for _, f := range []*config.LineFormat{px.LogFormat, px.LogFormatSD, px.UniqueIDFormat} {
		if f == nil {
			continue
		}
		for _, n := range f.Nodes {
			if n.Var != config.FormatSample || n.Expr == nil {
				continue
			}
			ls := logSample{slot: config.SampleSlot(f.Keyword, n.Sample), expr: cp.Expr(n.Expr)}
			switch need := n.Expr.Need(); {
			case need&(config.ReadsReq|config.ReadsBody|config.ReadsMsg) != 0:
				ls.phase = atRequest
			case need&config.ReadsRes != 0:
				ls.phase = atResponse
			}
			out = append(out, ls)
		}
	}
	return out
}

// sampleVals are a session's sample values of the current request, kept
// from the phase that evaluated them to the record.
type sampleVals [config.MaxSampleSlots][]byte

// captureSamples evaluates the frontend's samples of phase on t.
func (s *session) captureSamples(t *rules.Txn, phase samplePhase) {
	if len(s.fe.logSamples) == 0 {
		return
	}
	if s.samples == nil {
		s.samples = new(sampleVals)
	}
	for _, ls := range s.fe.logSamples {
		if ls.phase != phase {
			continue
		}
		v := ls.expr.AppendText(s.samples[ls.slot][:0], t)
		s.samples[ls.slot] = v[:min(len(v), maxSampleLen)]
	}
}

// clearSamples forgets the previous request's values.
func (s *session) clearSamples() {
	if s.samples != nil {
		for i := range s.samples {
			s.samples[i] = s.samples[i][:0]
		}
	}
}

// fillSamples evaluates the samples that need no message and copies
// every value into r.
func (s *session) fillSamples(r *AccessRecord) {
	if len(s.fe.logSamples) == 0 {
		return
	}
	t := s.txnIn(&s.l.recTxn, nil)
	s.sessionVars(t, false)
	if s.be != nil && s.at.routed {
		t.Backend = s.be.Name
	}
	t.Server = s.srvName()
	s.captureSamples(t, atRecord)
	off := 0
	for i := range s.samples {
		r.SampleOff[i] = uint16(off)
		off += copy(r.Samples[off:], s.samples[i])
	}
	r.SampleOff[len(s.samples)] = uint16(off)
}
