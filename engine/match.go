package engine

import (
	"github.com/fjordlb/fjord/engine/h1"
	"github.com/fjordlb/fjord/rules"
)

// Conditions and rules are the rules package's; the engine hands it a
// rules.Txn, one per loop, filled from the session for each evaluation.

// txn fills the loop's Txn for the session; req is nil outside HTTP (and
// for the tcp-request rules, which read no request).
func (s *session) txn(req *h1.Request) *rules.Txn { return s.txnIn(&s.l.txn, req) }

// txnIn fills t as txn fills the loop's Txn. A log line's samples are
// evaluated in a Txn of their own (loop.recTxn): the unique-id fetch may
// render the unique-id-format, and so a log line's samples, in the middle
// of a rule set evaluating the loop's.
func (s *session) txnIn(t *rules.Txn, req *h1.Request) *rules.Txn {
	s.fillTxn(t)
	if req != nil {
		t.Req = fillMsg(&s.l.reqMsg, req)
	}
	return t
}

// fillTxn fills t for the session, without a request.
func (s *session) fillTxn(t *rules.Txn) {
	l := s.l
	t.Reset()
	s.fillAddrs(t, rules.AddrStream)
	if info := s.cli.tlsInfo(); info != nil {
		t.TLS = tlsView{info}
	}
	if s.hello != nil {
		t.Hello = s.hello
	}
	if s.peeked != nil {
		t.ReqData, t.DataCap = s.peeked, l.eng.bufSize
	}
	if s.h != nil {
		t.Captured = captureView{s}
		if s.fe.uid != nil {
			t.UniqueID = uniqueIDView{s}
		}
	}
	t.LastRule = s.lastRule
	t.Frontend, t.FrontendID = s.fe.conf.Name, s.fe.id
	if s.ln != nil && s.ln.bind != nil {
		t.BindName = s.ln.bind.Name
	}
	t.Now = l.now
	t.Env = engineEnv{l.eng}
}

// engineEnv is what rules read of the running proxy (nbsrv()). A struct
// of one pointer: making it an interface allocates nothing.
type engineEnv struct{ e *Engine }

// UsableServers is the number of the backend's servers that may take
// new connections, -1 for an unknown backend.
func (v engineEnv) UsableServers(name string) int {
	b := v.e.backends[name]
	if b == nil {
		return -1
	}
	return b.Available()
}

// fillMsg points m at the parsed request, its header fields copied into
// m's own array so that rules may edit them.
func fillMsg(m *rules.Msg, req *h1.Request) *rules.Msg {
	m.Method, m.URI, m.Path, m.Minor = req.Method, req.URI, req.Path, req.Minor
	m.Room = 0
	m.Status, m.Reason, m.Edited = 0, nil, false
	m.Headers = m.Headers[:0]
	for _, h := range req.Headers {
		m.Headers = append(m.Headers, rules.Header{Name: h.Name, Value: h.Value})
	}
	return m
}

// uniqueIDView makes the request's unique id for the unique-id fetch,
// once per request: the same id goes to the server's header and the log.
type uniqueIDView struct{ s *session }

func (v uniqueIDView) UniqueID() []byte { return v.s.requestUniqueID() }

// captureView is what the frontend captured of the current request, as
// rules read it (capture.req.*, capture.res.*). A struct of one pointer:
// making it an interface allocates nothing.
type captureView struct{ s *session }

func (v captureView) RequestLine() []byte {
	if line := v.s.h.line; len(line) > 0 {
		return line
	}
	return nil
}

func (v captureView) Minor(response bool) int {
	if response {
		return int(v.s.h.rspMinor)
	}
	return int(v.s.h.reqMinor)
}

// Header is slot i of the request's or the response's captures: the
// frontend's "capture request|response header" lines, then the slots
// "declare capture" adds, as HAProxy numbers them.
func (v captureView) Header(response bool, i int) ([]byte, bool) {
	cs, c := v.s.fe.caps, v.s.h.caps
	if cs == nil || c == nil {
		return nil, false
	}
	n := cs.nReq
	if response {
		i += cs.nReq
		n = cs.nReq + cs.nRsp
	}
	if i < 0 || i >= n {
		return nil, false
	}
	return c.Slot(i)
}

// tlsView is the client's TLS session as rules read it. A struct of one
// pointer: making it an interface allocates nothing.
type tlsView struct{ i *TLSInfo }

func (v tlsView) SNI() string           { return v.i.ServerName }
func (v tlsView) Protocol() string      { return protocolName(v.i.Version) }
func (v tlsView) Cipher() string        { return opensslSuiteName(v.i.CipherSuite) }
func (v tlsView) ALPN() string          { return v.i.ALPN }
func (v tlsView) HasPeerCert() bool     { return v.i.PeerCertificate != nil }
func (v tlsView) VerifyResult() int64   { return v.i.VerifyResult }
func (v tlsView) PeerSubjectDN() string { return v.i.subjectDN() }

// asciiEqualFold compares ASCII case-insensitively without allocating.
func asciiEqualFold(s []byte, p string) bool {
	if len(s) != len(p) {
		return false
	}
	for i := 0; i < len(s); i++ {
		a, b := s[i], p[i]
		if a != b && lower(a) != lower(b) {
			return false
		}
	}
	return true
}

func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

func trimOWS(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}
