package engine

import (
	"strconv"
	"strings"

	"github.com/fjordlb/fjord/config"
	"github.com/fjordlb/fjord/engine/h1"
	"github.com/fjordlb/fjord/rules"
)

// The responses fjord writes itself, as complete messages built once
// when the engine starts. Without an error page configured, they are
// HAProxy 2.6's built-in pages (src/http.c), so that monitoring which
// greps for them keeps working; "errorfile", "errorloc", "errorfiles"
// and "http-error" replace them per proxy. A page says "Connection:
// close" when the connection must close after it (HAProxy's 400 and 408
// do, and errorfiles often do); otherwise the connection is kept when
// the request allows it, and the field fjord writes says so
// (prepareAnswer).

// errPage is one answer, prebuilt, or an http-error reply built for each
// request (reply).
type errPage struct {
	msg  []byte // the whole response; empty: close without answering (errorfile /dev/null)
	head int    // the length of msg's head, through the empty line: what a HEAD request gets
	// reply is an http-error line's response, rendered per request
	// (errorAnswer); msg is then nil.
	reply *rules.Reply
	// challengeHead is, for a configured 401 page, msg's head without
	// its WWW-Authenticate fields and its empty line: the stats page's
	// challenge goes after it (withChallenge).
	challengeHead []byte
}

// answer is what a request gets: the head alone for HEAD, as HAProxy's
// http_forward_proxy_resp skips a reply's payload then.
func (p *errPage) answer(head bool) []byte {
	if head {
		return p.msg[:p.head]
	}
	return p.msg
}

// errorPages are a proxy's answers by status, indexed as
// config.ErrorCodes. A frontend's are all set (its own pages over the
// built-in ones); a backend's are set only where it has a page of its own.
type errorPages [len(config.ErrorCodes)]*errPage

// errIndex is the index of code in config.ErrorCodes, or -1.
func errIndex(code int) int {
	for i, c := range config.ErrorCodes {
		if c == code {
			return i
		}
	}
	return -1
}

// builtinPages are HAProxy's pages: only the 400 and the 408 say
// "Connection: close", a request HAProxy could not read or that did not
// come being no ground for another.
var builtinPages = func() (p errorPages) {
	for _, b := range []struct {
		code         int
		reason, text string
	}{
		{200, "OK", "Service ready."},
		{400, "Bad request", "Your browser sent an invalid request."},
		{401, "Unauthorized", "You need a valid user and password to access this content."},
		{403, "Forbidden", "Request forbidden by administrative rules."},
		{404, "Not Found", "The resource could not be found."},
		{405, "Method Not Allowed", "A request was made of a resource using a request method not supported by that resource"},
		{407, "Unauthorized", "You need a valid user and password to access this content."},
		{408, "Request Time-out", "Your browser didn't send a complete request in time."},
		{410, "Gone", "The resource is no longer available and will not be available again."},
		{413, "Payload Too Large", "The request entity exceeds the maximum allowed."},
		{421, "Misdirected Request", "Request sent to a non-authoritative server."},
		{422, "Unprocessable Content", "The server cannot process the contained instructions."},
		{425, "Too Early", "Your browser sent early data."},
		{429, "Too Many Requests", "You have sent too many requests in a given amount of time."},
		{500, "Internal Server Error", "An internal server error occurred."},
		{501, "Not Implemented", ".The server does not support the functionality required to fulfill the request."},
		{502, "Bad Gateway", "The server returned an invalid or incomplete response."},
		{503, "Service Unavailable", "No server is available to handle this request."},
		{504, "Gateway Time-out", "The server didn't respond in time."},
	} {
		p[errIndex(b.code)] = builtinPage(b.code, b.reason, b.text)
	}
	for i, pg := range p {
		if pg == nil {
			panic("engine: no built-in page for status " + strconv.Itoa(config.ErrorCodes[i]))
		}
	}
	return p
}()

func builtinPage(code int, reason, text string) *errPage {
	c := strconv.Itoa(code)
	body := "<html><body><h1>" + c + " " + reason + "</h1>\n" + text + "\n</body></html>\n"
	conn := ""
	if code == 400 || code == 408 {
		conn = "Connection: close\r\n"
	}
	head := "HTTP/1.1 " + c + " " + reason + "\r\n" +
		"Content-length: " + strconv.Itoa(len(body)) + "\r\n" +
		"Cache-Control: no-cache\r\n" +
		conn +
		"Content-Type: text/html\r\n" +
		"\r\n"
	return &errPage{msg: []byte(head + body), head: len(head)}
}

// newErrorPages builds a proxy's answers: its configured pages over
// base's (nil: none).
func newErrorPages(px *config.Proxy, base *errorPages, cp *rules.Compiler) *errorPages {
	if len(px.ErrorPages) == 0 && base == nil {
		return nil
	}
	var p errorPages
	if base != nil {
		p = *base
	}
	for code, pg := range px.ErrorPages {
		i := errIndex(code)
		switch {
		case i < 0:
		case pg.Reply != nil:
			p[i] = &errPage{reply: cp.Reply(pg.Reply)}
		default:
			p[i] = configuredPage(pg)
		}
	}
	return &p
}

// configuredPage is an errorfile's or errorloc's response as fjord sends
// it: its status line and fields as written (its Connection field, if
// any, gets the value the connection calls for, and "close" keeps it
// closing), lines ending in CRLF, then its body.
func configuredPage(pg *config.ErrorPage) *errPage {
	if pg.Empty {
		return &errPage{}
	}
	b := appendPageHead(make([]byte, 0, 64+len(pg.Reason)+len(pg.Body)+32*len(pg.Fields)), pg, "")
	b = append(b, "\r\n"...)
	p := &errPage{head: len(b), msg: append(b, pg.Body...)}
	if pg.Code == 401 {
		p.challengeHead = appendPageHead(nil, pg, "WWW-Authenticate")
	}
	return p
}

// appendPageHead appends pg's status line and its fields but those
// named skip: its head but the empty line that ends it.
func appendPageHead(b []byte, pg *config.ErrorPage, skip string) []byte {
	b = append(b, pg.Version...)
	b = append(b, ' ')
	b = strconv.AppendInt(b, int64(pg.Status), 10)
	b = append(b, ' ')
	b = append(b, pg.Reason...)
	b = append(b, "\r\n"...)
	for _, f := range pg.Fields {
		if skip != "" && strings.EqualFold(f.Name, skip) {
			continue
		}
		b = append(b, f.Name...)
		b = append(b, ": "...)
		b = append(b, f.Value...)
		b = append(b, "\r\n"...)
	}
	return b
}

// withChallenge appends to dst the answer to a request that must
// authenticate: a configured 401 page with the WWW-Authenticate value
// challenge in place of its own, as HAProxy's http_action_auth builds
// the answer of "stats auth" (an http-error reply, rendered with t, gets
// the field after its own). nil for an empty page.
func (p *errPage) withChallenge(dst, challenge []byte, head bool, t *rules.Txn) []byte {
	if p.reply != nil {
		return p.reply.Append(dst, t, "WWW-Authenticate: "+string(challenge)+"\r\n", head)
	}
	if len(p.msg) == 0 {
		return nil
	}
	dst = append(dst, p.challengeHead...)
	dst = append(dst, "WWW-Authenticate: "...)
	dst = append(dst, challenge...)
	dst = append(dst, "\r\n\r\n"...)
	if !head {
		dst = append(dst, p.msg[p.head:]...)
	}
	return dst
}

// errorPage is the answer to the current request for code, as HAProxy's
// http_error_message chooses it: the page of the backend the request was
// routed to when it has one for code, else the frontend's (its own, or
// the built-in one).
func (s *session) errorPage(code int) *errPage {
	i := errIndex(code)
	if i < 0 {
		i = errIndex(500) // not a status fjord answers: a bug
	}
	if h := s.h; h != nil && h.routedTo != nil && h.routedTo.pages != nil {
		if p := h.routedTo.pages[i]; p != nil {
			return p
		}
	}
	return s.fe.pages[i]
}

// errorAnswer is the answer to the current request for code: its error
// page, or the page's http-error reply rendered with t (nil: with the
// request while fjord holds its head, else without it, as HAProxy's
// samples find no request once it is forwarded). The bytes are valid
// until the loop's next answer.
func (s *session) errorAnswer(code int, t *rules.Txn) []byte {
	p := s.errorPage(code)
	head := s.h != nil && s.h.isHead
	if p.reply == nil {
		return p.answer(head)
	}
	if t == nil {
		t = s.replyTxn()
	}
	out := p.reply.Append(s.l.out[:0], t, "", head)
	s.l.out = out[:0]
	return out
}

// replyTxn is a Txn for an answer built outside the rules: the request
// while fjord holds it (heldRequest), the backend and server it went
// to, the session's variables.
func (s *session) replyTxn() *rules.Txn {
	t := s.txn(s.heldRequest())
	s.sessionVars(t, false)
	if s.be != nil {
		t.Backend, t.BackendID = s.be.Name, s.be.id
	}
	t.Server, t.ServerID = s.srvName(), s.srvID()
	return t
}

// heldRequest is the current request as the loop's parse of it, while
// it is fjord's to answer: parsed in this turn (reqParsed), or its head
// still unsent while the session waits for a server, parsed again (from
// the client's socket, or as the rules rewrote it). nil otherwise: the
// request has gone to the server.
func (s *session) heldRequest() *h1.Request {
	h, l := s.h, s.l
	switch {
	case h == nil:
		return nil
	case h.reqParsed:
		return &l.req
	case h.rq != rqHead || h.headLen == 0:
		return nil
	}
	switch s.state {
	case stQueued, stConnecting, stRetryWait, stServerHandshake:
	default:
		return nil
	}
	head := h.edited
	if head == nil {
		buf := l.scratch[:h.headLen]
		if n, err := s.cli.peek(buf); err != nil || n != len(buf) {
			return nil
		}
		head = buf
	}
	if _, err := h1.ParseRequest(head, &l.req); err != nil {
		return nil
	}
	h.stale = true // as after any use of the loop's parse by another session
	return &l.req
}
