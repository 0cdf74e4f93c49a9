package engine

import (
	"bytes"
	"strconv"
	"time"

	"github.com/fjordlb/fjord/config"
	"github.com/fjordlb/fjord/engine/h1"
	"github.com/fjordlb/fjord/rules"
)

// "redirect" rules, answered on the loop from the peeked request head, as
// HAProxy 2.6 answers them (http_ana.c, http_apply_redirect_rule, written
// out by mux_h1.c): a status line, "content-length: 0", the Location, a
// "cache-control: no-cache" for the temporary codes, the cookie, and the
// connection field the client's mode calls for. Header names are lower
// case because HAProxy's HTX stores them so and its H1 mux writes them as
// stored.

// redirectRule is a "redirect" rule with the parts of its answer that do
// not depend on the request built once.
type redirectRule struct {
	conf   *config.Redirect
	cond   *rules.Cond
	kind   config.RedirectKind
	flags  config.RedirectFlags
	code   int
	head   []byte // the status line, then "content-length: 0\r\nlocation: "
	target []byte // what the Location starts with; nil for "prefix /"
	tail   []byte // the end of the Location line and the fields after it
}

func newRedirects(rs []*config.Redirect, cp *rules.Compiler) []redirectRule {
	out := make([]redirectRule, 0, len(rs))
	for _, r := range rs {
		rr := redirectRule{conf: r, cond: cp.Cond(r.Cond), kind: r.Kind, flags: r.Flags, code: r.Code}
		rr.head = []byte("HTTP/1.1 " + strconv.Itoa(r.Code) + " " + config.RedirectReason(r.Code) +
			"\r\ncontent-length: 0\r\nlocation: ")
		// HAProxy adds nothing for "prefix /", so that a rule can send a
		// client back to the very URL it asked for.
		if r.Kind != config.RedirectPrefix || r.Target != "/" {
			rr.target = []byte(r.Target)
		}
		tail := "\r\n"
		if r.Code == 302 || r.Code == 303 || r.Code == 307 {
			tail += "cache-control: no-cache\r\n"
		}
		if c := r.SetCookie(); c != "" {
			tail += "set-cookie: " + c + "\r\n"
		}
		rr.tail = []byte(tail)
		out = append(out, rr)
	}
	return out
}

// matchRedirect returns the first rule that applies to the request, or nil.
func matchRedirect(rs []redirectRule, t *rules.Txn) *redirectRule {
	for i := range rs {
		r := &rs[i]
		if r.cond.Match(t) {
			return r
		}
	}
	return nil
}

// appendResponse appends the whole answer to req to dst, but the
// connection field, which the connection's fate decides
// (prepareAnswer).
func (r *redirectRule) appendResponse(dst []byte, req *h1.Request) []byte {
	dst = append(dst, r.head...)
	start := len(dst)
	dst = append(dst, r.target...)
	if r.kind != config.RedirectLocation {
		if r.kind == config.RedirectScheme {
			dst = append(dst, "://"...)
			dst = append(dst, redirectHost(req.Host)...)
		}
		path := redirectPath(req.URI)
		if r.flags&config.RedirectDropQuery != 0 {
			if i := bytes.IndexByte(path, '?'); i >= 0 {
				path = path[:i]
			}
		}
		dst = append(dst, path...)
		if r.flags&config.RedirectAppendSlash != 0 && len(dst) > start && dst[len(dst)-1] != '/' {
			dst = append(dst, '/')
		}
	}
	dst = append(dst, r.tail...)
	return append(dst, "\r\n"...)
}

var rootPath = []byte("/")

// redirectPath is the part of a request target a prefix or scheme redirect
// appends, as HAProxy's http_parse_path finds it: an origin-form target
// whole, query included; the path of an absolute-form target (what follows
// its authority); "/" for any target without a path ("*", CONNECT's
// authority, "http://host").
func redirectPath(uri []byte) []byte {
	if p := requestPath(uri); p != nil {
		return p
	}
	return rootPath
}

// requestPath is the path of a request target, its query string
// included, as HAProxy's http_parse_path finds it: an origin-form target
// whole, what follows the authority of an absolute-form one; nil for a
// target without a path ("*", CONNECT's authority, "http://host").
func requestPath(uri []byte) []byte {
	if len(uri) > 0 && uri[0] == '/' {
		return uri
	}
	if i := bytes.Index(uri, []byte("://")); i > 0 {
		if j := bytes.IndexByte(uri[i+3:], '/'); j >= 0 {
			return uri[i+3+j:]
		}
	}
	return nil
}

// redirectHost is the host a scheme redirect names: the first value of
// the Host field (HAProxy's http_find_header without "full" stops at a
// comma), its port included; empty without one.
func redirectHost(host []byte) []byte {
	if i := bytes.IndexByte(host, ','); i >= 0 {
		host = host[:i]
	}
	return trimOWS(host)
}

// httpRedirect answers the current request (its head peeked, hl bytes)
// with rule r of the frontend (be nil) or of backend be.
//
// As in HAProxy 2.6, the connection is kept unless the request has a
// body (fjord, like HAProxy, does not read it: "connection: close"), the
// client asked to close (Connection: close, or HTTP/1.0 without
// keep-alive), "option httpclose" applies, or a soft stop is under way.
func (s *session) httpRedirect(r *redirectRule, be *backend, hl int) {
	l := s.l
	out := r.appendResponse(l.out[:0], &l.req)
	l.out = out[:0]
	s.answerHere(out, r.code, be, hl, answerRedirect)
}

// answerHere answers the current request (its head peeked, hl bytes)
// with out, a response of status code a rule of the frontend (be nil)
// or of backend be gives, logged and counted as HAProxy logs such an
// answer: "LR", the status the client got, FRONTEND/<NOSRV> or
// BACKEND/<NOSRV>.
func (s *session) answerHere(out []byte, code int, be *backend, hl int, how answerHow) {
	h := s.h
	s.be = be
	s.at.routed = be != nil
	h.routedTo = be // its error pages, should the rules fail on the answer
	s.setTerm('L', 'R')
	if be != nil {
		s.retriesLeft = be.Conf.Retries // none were needed
		be.Counters.Requests.Add(1)
	}
	a := s.prepareAnswer(code, out, be, how)
	s.at.status = a.status
	s.fe.counters.CountStatus(a.status)
	if be != nil {
		be.Counters.CountStatus(a.status)
	}
	if !a.keep {
		s.c2s.bytes += int64(hl) // the head was received, and answered here
	}
	s.s2c.bytes += int64(len(a.msg))
	s.sendAnswer(a)
}

// httpLocalDone ends a request fjord answered on the loop once the whole
// answer is written: logged, counted, then the connection closes or goes
// on with the next request.
func (s *session) httpLocalDone() {
	h, l := s.h, s.l
	h.local = false
	if s.logsTraffic() && s.at.pending {
		s.emit(RecordHTTP)
	}
	s.endRequest()
	if h.closeAfter || l.draining {
		s.lingerClose()
		return
	}
	h.rq, h.rs = rqHead, rsNone
	h.headStart, h.continued = time.Time{}, false
	h.idleSince = l.now
	s.state = stHTTPHead
	s.rearm()
	s.nextHead()
}
