package rules

import (
	"net/netip"
	"time"

	"github.com/fjordlb/fjord/config"
)

// Txn is what rules read and change for one request: the engine fills it
// from the session (one per event loop, reused) and hands it to every
// evaluation.
type Txn struct {
	// Src and Dst are what src and dst read: the client's address and
	// the one it connected to, as the session sees them now (a PROXY
	// header, set-src and set-dst change them). ConnSrc and ConnDst are
	// the connection's own (fc_src, fc_dst), which only tcp-request
	// connection rules change. Invalid for a client of a Unix socket.
	Src, Dst         netip.AddrPort
	ConnSrc, ConnDst netip.AddrPort
	// DstIsConn says Dst is the connection's destination: dst reads
	// ConnDst. Local, when not nil, gives ConnDst, unknown until a rule
	// reads it: the engine asks the kernel for it (getsockname) only
	// for the connections whose rules need it.
	DstIsConn bool
	Local     LocalAddr
	// AddrLevel is whose addresses set-src and the other address
	// actions change; AddrsSet says which of Src and Dst they changed
	// since Reset, for the engine to keep.
	AddrLevel AddrLevel
	AddrsSet  AddrBits

	Req *Msg // the request head; nil in tcp mode
	Res *Msg // the response head; nil until it arrives
	// Response is set while response rules run: hdr() then reads Res.
	Response bool
	Body     []byte // the request body, with "option http-buffer-request"

	TLS   TLSSession // the client's TLS session; nil when not TLS
	Hello *Hello     // the ClientHello peeked in tcp mode; nil when none

	// ReqData and ResData are the client's and the server's first
	// bytes in tcp mode, peeked and not yet forwarded, while content
	// rules inspect them (req.payload, req.len, res.payload, res.len);
	// nil otherwise. DataCap is the most they can hold (tune.bufsize):
	// what lies beyond it can never be read.
	ReqData, ResData []byte
	DataCap          int
	// Partial is set while content rules inspect bytes that more may
	// follow before the inspect-delay ends (HAProxy's evaluation
	// without SMP_OPT_FINAL): a condition whose sample may still change
	// is then undecided (Cond.Eval's Miss), and the engine evaluates
	// the rules again when more arrives.
	Partial bool

	Frontend, Backend, Server string
	// FrontendID, BackendID and ServerID are HAProxy's numeric ids
	// (fe_id, be_id, srv_id): a proxy's position in the configuration,
	// a server's in its backend, from 1; 0 while unknown.
	FrontendID, BackendID, ServerID int
	// BindName is the "name" of the bind the client came through
	// (so_name); empty when it has none.
	BindName string
	Env      Env // nil: nbsrv() and http_auth() find nothing

	Sess *Vars // the session's variables ("sess."); nil: none kept
	Vars *Vars // the transaction's ("txn.", "req.", "res.")
	Now  time.Time

	// UniqueID gives the request's unique id, made the first time it is
	// asked for (as HAProxy makes it); nil: no unique-id-format.
	UniqueID UniqueIDs
	// Captured is what the frontend captured of the HTTP request and
	// its response (capture.req.*, capture.res.*); nil in tcp mode.
	Captured Captured
	// LastRule is where the last final rule of the stream stands (a
	// tcp-request or tcp-response content rule, an HTTP rule that
	// stopped its set), nil while none decided: last_rule_file and
	// last_rule_line. Rule sets set it when one of their rules decides;
	// the engine keeps it from one evaluation to the next.
	LastRule *config.Pos

	// it is the position of the multi-valued fetch being evaluated: in
	// the Txn because a pointer passed to a fetch, an indirect call,
	// would escape, costing an allocation per evaluation.
	it iter
	// mayChange is HAProxy's SMP_F_MAY_CHANGE for the sample being
	// evaluated: more bytes could give another value (req.payload on
	// bytes that are not all there yet). Fetches set it, converters
	// that decide (fix_is_valid) clear it; see Partial.
	mayChange bool

	// scratch holds what converters build; reset at each evaluation's
	// start by the caller (Reset), grown once and kept.
	scratch []byte
	// rendered holds the values actions built (format.go): like
	// scratch, kept until Reset.
	rendered []byte
	// hints are the fields early-hint rules gathered.
	hints []byte
	// LogLevel is what set-log-level set (config.LogSilent: no line),
	// when LogLevelSet.
	LogLevel    int
	LogLevelSet bool
	// captures are what capture actions kept, for the engine to put in
	// the frontend's slots (Captures).
	captures []Capture
	// Timeouts are what set-timeout rules set for this request; zero:
	// the configured one.
	Timeouts struct{ Server, Tunnel time.Duration }
	// params are the query's parameters normalize-uri
	// query-sort-by-name sorts, kept between requests.
	params []span
}

// Reset forgets the previous request's derived data, keeping buffers.
func (t *Txn) Reset() {
	t.scratch = t.scratch[:0]
	t.rendered = t.rendered[:0]
	t.hints = t.hints[:0]
	t.LogLevel, t.LogLevelSet = 0, false
	if t.captures == nil {
		t.captures = make([]Capture, 0, maxCapturesPerRun)
	}
	t.captures = t.captures[:0]
	t.Timeouts.Server, t.Timeouts.Tunnel = 0, 0
	t.Req, t.Res, t.Response, t.Body = nil, nil, false, nil
	t.ReqData, t.ResData, t.DataCap, t.Partial = nil, nil, 0, false
	t.TLS, t.Hello = nil, nil
	t.Server, t.Backend = "", ""
	t.ServerID, t.BackendID = 0, 0
	t.UniqueID = nil
	t.Captured = nil
	t.LastRule = nil
	t.Local, t.DstIsConn, t.AddrLevel, t.AddrsSet = nil, false, AddrStream, 0
	t.Vars, t.Sess = nil, nil // the owner clears them when a transaction ends
}

// Converters build their results by appending to t.scratch and keep
// t.scratch[off:] (see built). A grown scratch is a new array: results
// built before stay valid in the old one, which is never written again.

// built returns what was appended to scratch since off.
func (t *Txn) built(off int) []byte { return t.scratch[off:len(t.scratch):len(t.scratch)] }

// Msg is an HTTP message head as rules read and edit it.
type Msg struct {
	Method []byte // request
	URI    []byte // request: the target as sent
	// Path is the target's path (h1.Request.Path): for an absolute-form
	// target the part after the authority.
	Path   []byte
	Status int // response
	Reason []byte
	Minor  int // HTTP/1.<Minor>

	Headers []Header
	// Edited is set by any action that changed the head: the engine
	// then writes it out from Msg instead of forwarding what it read.
	Edited bool
	// Room is the size the head may grow to, written out (headSize):
	// HAProxy's buffer (tune.bufsize) less the body bytes that came
	// with the head. A rewrite that would take the head past it fails,
	// as HAProxy's does when its buffer is full. 0: no limit.
	Room int
}

// headSize is the size of m written out as an HTTP/1 head: its first
// line (a response's with the standard reason when it has no other),
// its fields and the empty line.
func (m *Msg) headSize() int {
	n := 0
	if m.Method != nil {
		n = len(m.Method) + len(" ") + len(m.URI) + len(" HTTP/1.1\r\n")
	} else {
		reason := len(m.Reason)
		if m.Reason == nil {
			reason = len(Reason(m.Status))
		}
		n = len("HTTP/1.1 200 ") + reason + len("\r\n")
	}
	for i := range m.Headers {
		n += len(m.Headers[i].Name) + len(": ") + len(m.Headers[i].Value) + len("\r\n")
	}
	return n + len("\r\n")
}

// fits reports whether the head may grow by grow bytes (Room).
func (m *Msg) fits(grow int) bool {
	return m.Room <= 0 || m.headSize()+grow <= m.Room
}

// Header is one header field.
type Header struct{ Name, Value []byte }

// TLSSession is what the ssl_fc* and ssl_c_* fetches read of the
// client's TLS session.
type TLSSession interface {
	SNI() string
	Protocol() string // "TLSv1.3", as OpenSSL names it
	Cipher() string   // OpenSSL's name of the suite
	ALPN() string
	HasPeerCert() bool
	VerifyResult() int64 // OpenSSL's verify result: 0 is ok
	PeerSubjectDN() string
}

// Hello is what req.ssl_* reads of a ClientHello peeked in tcp mode.
type Hello struct {
	SNI       string
	HelloType int64
	Version   int64 // major<<16 | minor, as HAProxy's req.ssl_ver
	ALPN      []string
	// Ext: the hello has an extension list (TLS 1.0 and later); only
	// then do ECExt and STExt have a value, as in HAProxy.
	Ext, ECExt bool
	STExt      int64
}

// Captured is what the frontend kept of the current HTTP request and its
// response, as HAProxy keeps it in the stream for its logs: it outlives
// the request head, so response rules and log formats read it too.
type Captured interface {
	// RequestLine is the request line as received ("GET /a HTTP/1.1"),
	// cut to the access log's length; nil before a request was read.
	RequestLine() []byte
	// Minor is the minor version of HTTP/1 of the request or of the
	// response, -1 before its head was read.
	Minor(response bool) int
	// Header is the value of capture slot i among the request's
	// (response false) or the response's slots; false when the slot
	// does not exist or holds nothing.
	Header(response bool, i int) ([]byte, bool)
}

// Env is what rules read of the running proxy.
type Env interface {
	// UsableServers is the number of servers of a backend that may
	// take traffic (nbsrv), -1 for an unknown backend.
	UsableServers(backend string) int
}

// UniqueIDs makes the request's unique id (unique-id-format) when it is
// first asked for, and gives the same one after.
type UniqueIDs interface {
	UniqueID() []byte
}

// Capture is a value a capture action kept for slot Slot.
type Capture struct {
	Slot  int
	Value []byte
}

// maxCapturesPerRun bounds the captures one rule set keeps for the
// engine; more are dropped (a frontend has at most 16 a direction).
const maxCapturesPerRun = 16

// Captures returns what capture actions kept since the Txn was reset, and
// forgets them.
func (t *Txn) Captures() []Capture {
	c := t.captures
	t.captures = t.captures[:0]
	return c
}

// Keep copies m into dst with all its bytes in arena, reused and grown
// as needed and returned, so that dst outlives the buffers m points
// into: the engine keeps a message a wait-for-body rule holds while its
// loop serves other sessions.
func (m *Msg) Keep(dst *Msg, arena []byte) []byte {
	need := len(m.Method) + len(m.URI) + len(m.Path) + len(m.Reason)
	for i := range m.Headers {
		need += len(m.Headers[i].Name) + len(m.Headers[i].Value)
	}
	if cap(arena) < need {
		arena = make([]byte, 0, need)
	}
	arena = arena[:0]
	// The arena never grows past need: the slices taken stay in it.
	keep := func(b []byte) []byte {
		if b == nil {
			return nil
		}
		off := len(arena)
		arena = append(arena, b...)
		return arena[off:len(arena):len(arena)]
	}
	headers := dst.Headers[:0]
	*dst = *m
	dst.Method, dst.URI, dst.Path, dst.Reason = keep(m.Method), keep(m.URI), keep(m.Path), keep(m.Reason)
	for _, h := range m.Headers {
		headers = append(headers, Header{Name: keep(h.Name), Value: keep(h.Value)})
	}
	dst.Headers = headers
	return arena
}

// Load makes m the message src is, its fields in m's own array (which
// rules may edit), their bytes still src's.
func (m *Msg) Load(src *Msg) {
	headers := append(m.Headers[:0], src.Headers...)
	*m = *src
	m.Headers = headers
}
