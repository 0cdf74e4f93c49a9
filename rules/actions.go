package rules

import (
	"bytes"
	"regexp"
	"time"

	"github.com/fjordlb/fjord/config"
)

// HTTP rules: "http-request", "http-response" and "http-after-response"
// evaluated in order on a message head, HAProxy's first-final-action
// semantics: header and URI actions change the head and evaluation goes
// on; allow stops this rule set; deny, return and redirect end the
// message with an answer the engine writes.

// Outcome is how a rule set ended.
type Outcome uint8

const (
	Continue   Outcome = iota // every rule ran (or none applied): the message goes on
	Allow                     // an allow rule stopped the rule set: the message goes on
	Deny                      // answer Verdict.Status and close
	Return                    // answer the rule's response
	Redirect                  // answer the rule's redirect
	Failed                    // a rewrite could not be done: answer 500 (HAProxy's behaviour)
	Auth                      // answer 401 asking for credentials
	Reject                    // close the connection, no answer
	Tarpit                    // hold the request, then answer Verdict.Status
	Invalid                   // a rule found the request invalid (normalize-uri ... strict): answer 400
	SilentDrop                // close the client's connection without telling it (silent-drop)
	// WaitBody: a wait-for-body rule applies. The engine waits for the
	// message's body as the rule says (or not, when it is there), then
	// goes on with RunFrom(Verdict.Resume()).
	WaitBody
)

// Verdict is a rule set's outcome and the rule that decided it.
type Verdict struct {
	Outcome Outcome
	Rule    *config.HTTPRule // nil for Continue
	Status  int              // Deny, Return, Auth, Invalid: the status to answer
	index   int              // the rule's place in its set
	soft    bool             // WaitBody: strict-mode was off
}

// Resume is where an evaluation a wait-for-body rule held goes on: at
// the rule after it, in the strict mode it was in (HAProxy resets the
// mode only when a rule set's evaluation ends, not when it yields). The
// zero Resume is a rule set's start.
type Resume struct {
	next int
	soft bool
}

// Resume is where the evaluation goes on after a WaitBody verdict.
func (v Verdict) Resume() Resume { return Resume{next: v.index + 1, soft: v.soft} }

// HTTPRules is a compiled rule set.
type HTTPRules struct {
	rules []httpRule
}

type httpRule struct {
	conf  *config.HTTPRule
	cond  *Cond
	name  string // header name
	value *Format
	re    *regexp.Regexp
	vars  *VarSet     // set-var, set-var-fmt, unset-var
	tmo   *Expr       // set-timeout's expression
	reply *Reply      // return, deny, tarpit: the response the rule builds
	norm  *normalizer // normalize-uri
	addr  *AddrSet    // set-src, set-src-port, set-dst, set-dst-port
}

type returnHeader struct {
	name  string
	value *Format
}

// Len is the number of rules.
func (rs *HTTPRules) Len() int {
	if rs == nil {
		return 0
	}
	return len(rs.rules)
}

// CompileHTTPRules compiles a rule set; an empty one is nil.
func (cp *Compiler) HTTPRules(list []*config.HTTPRule) *HTTPRules {
	if len(list) == 0 {
		return nil
	}
	rs := &HTTPRules{}
	for _, r := range list {
		hr := httpRule{
			conf: r, cond: cp.Cond(r.Cond), name: r.Name, value: compileFormat(r.Value),
			re: r.Regex,
		}
		switch r.Action {
		case config.ActSetVar, config.ActSetVarFmt, config.ActUnsetVar:
			hr.vars = compileVarSet(r.Var, r.Action == config.ActUnsetVar)
		case config.ActSetTimeout:
			hr.tmo = compileOptExpr(r.Var.Expr)
		case config.ActCapture:
			hr.vars = &VarSet{expr: CompileExpr(r.Var.Expr)}
		case config.ActNormalizeURI:
			hr.norm = compileNormalizer(r.Normalize)
		case config.ActSetSrc, config.ActSetSrcPort, config.ActSetDst, config.ActSetDstPort:
			hr.addr = httpAddrSet(r)
		case config.ActReturn, config.ActDeny, config.ActTarpit:
			hr.reply = cp.Reply(r)
		}
		rs.rules = append(rs.rules, hr)
	}
	return rs
}

func compileOptExpr(e *config.Expr) *Expr {
	if e == nil {
		return nil
	}
	return CompileExpr(e)
}

// Run evaluates the rules on m (t.Req for request rules, t.Res for
// response rules, with t.Response set). A rule that decides becomes the
// Txn's LastRule.
func (rs *HTTPRules) Run(t *Txn, m *Msg) Verdict { return rs.RunFrom(t, m, Resume{}) }

// RunFrom evaluates the rules from where a wait-for-body rule held them
// (the zero Resume: from the first).
func (rs *HTTPRules) RunFrom(t *Txn, m *Msg, from Resume) Verdict {
	v := rs.runFrom(t, m, from)
	if v.Rule != nil && v.Outcome != WaitBody {
		t.LastRule = &v.Rule.Pos // last_rule_file, last_rule_line
	}
	return v
}

func (rs *HTTPRules) runFrom(t *Txn, m *Msg, from Resume) Verdict {
	if rs == nil {
		return Verdict{}
	}
	// Every evaluation of a rule set starts in strict mode, as HAProxy's
	// http_req_get_intercept_rule does: a strict-mode rule changes it for
	// the rules after it, in this rule set only.
	soft := from.soft
	for i := from.next; i < len(rs.rules); i++ {
		r := &rs.rules[i]
		if !r.cond.Match(t) {
			continue
		}
		c := r.conf
		switch c.Action {
		case config.ActStrictMode:
			soft = !c.Strict
		case config.ActWaitForBody:
			return Verdict{Outcome: WaitBody, Rule: c, index: i, soft: soft}
		case config.ActAllow:
			return Verdict{Outcome: Allow, Rule: c}
		case config.ActDeny:
			return Verdict{Outcome: Deny, Rule: c, Status: c.Status, index: i}
		case config.ActReturn:
			return Verdict{Outcome: Return, Rule: c, Status: c.Status, index: i}
		case config.ActRedirect:
			return Verdict{Outcome: Redirect, Rule: c}
		case config.ActAuth:
			return Verdict{Outcome: Auth, Rule: c, Status: 401}
		case config.ActReject:
			return Verdict{Outcome: Reject, Rule: c}
		case config.ActTarpit:
			return Verdict{Outcome: Tarpit, Rule: c, Status: c.Status, index: i}
		case config.ActCapture:
			if v, ok := r.vars.expr.Eval(t); ok && len(t.captures) < cap(t.captures) {
				off := len(t.rendered)
				t.rendered = v.appendText(t.rendered)
				t.captures = append(t.captures, Capture{Slot: c.CaptureSlot, Value: t.rendered[off:len(t.rendered):len(t.rendered)]})
			}
		case config.ActSetLogLevel:
			t.LogLevel, t.LogLevelSet = c.LogLevel, true
		case config.ActSetTimeout:
			d := c.Timeout
			if r.tmo != nil {
				v, ok := r.tmo.Eval(t)
				n, isInt := v.asInt()
				if !ok || !isInt || n <= 0 {
					continue // no usable value: the timeout stays, as in HAProxy
				}
				d = time.Duration(n) * time.Millisecond
			}
			if c.Name == "server" {
				t.Timeouts.Server = d
			} else {
				t.Timeouts.Tunnel = d
			}
		case config.ActEarlyHint:
			// Sent by the engine in one 103 response once the rules
			// ran (EarlyHints): rendered now, as the rule sees the
			// request.
			v := r.value.render(t)
			if fieldValue(v) {
				t.hints = append(t.hints, r.name...)
				t.hints = append(t.hints, ": "...)
				t.hints = append(t.hints, v...)
				t.hints = append(t.hints, "\r\n"...)
			}
		case config.ActSetVar, config.ActSetVarFmt, config.ActUnsetVar:
			r.vars.Apply(t)
		case config.ActSetSrc, config.ActSetSrcPort, config.ActSetDst, config.ActSetDstPort:
			r.addr.Apply(t)
		case config.ActSilentDrop:
			return Verdict{Outcome: SilentDrop, Rule: c}
		case config.ActNormalizeURI:
			// As HAProxy: invalid input (strict) is a bad request; an
			// already normal target is left as it is.
			uri, path := m.URI, m.Path
			switch r.norm.apply(t, m) {
			case normInvalid:
				return Verdict{Outcome: Invalid, Rule: c, Status: 400}
			case normChanged:
				if !m.fits(0) { // fragment-encode grows the target
					m.URI, m.Path = uri, path
					if !soft {
						return Verdict{Outcome: Failed, Rule: c}
					}
					continue
				}
				m.Edited = true
			}
		default:
			if !r.edit(t, m) {
				if !soft {
					// HAProxy's ACT_RET_ERR: the rule is the last one.
					return Verdict{Outcome: Failed, Rule: c}
				}
				// Skipped, as HAProxy skips a failed rewrite in soft
				// mode; what the action did before it failed (the
				// fields set-header removed) stays done, as there.
				m.Edited = true
				continue
			}
			m.Edited = true
		}
	}
	return Verdict{}
}

// edit carries out a header, URI or status action; false: the result
// cannot be sent (a CR, LF or NUL in a value, an empty method or path)
// or does not fit the head's room (Msg.Room).
func (r *httpRule) edit(t *Txn, m *Msg) bool {
	c := r.conf
	switch c.Action {
	case config.ActSetHeader, config.ActAddHeader:
		v := r.value.render(t)
		if !fieldValue(v) {
			return false
		}
		if c.Action == config.ActSetHeader {
			delHeaders(m, r.name, config.MatchStr, nil)
		}
		if !m.fits(len(r.name) + len(": ") + len(v) + len("\r\n")) {
			return false
		}
		m.Headers = append(m.Headers, Header{Name: strBytes(r.name), Value: v})
	case config.ActDelHeader:
		delHeaders(m, r.name, c.DelMatch, r.re)
	case config.ActReplaceHeader, config.ActReplaceValue:
		return replaceHeaders(t, m, r)
	case config.ActSetMethod:
		v := r.value.render(t)
		if len(v) == 0 || !token(v) || !m.fits(len(v)-len(m.Method)) {
			return false
		}
		m.Method = v
	case config.ActSetPath, config.ActSetPathQ, config.ActSetQuery, config.ActSetURI:
		return setTarget(t, m, c.Action, r.value.render(t))
	case config.ActReplacePath, config.ActReplacePathQ, config.ActReplaceURI:
		subject, act := m.Path, config.ActSetPath
		switch c.Action {
		case config.ActReplaceURI:
			subject, act = m.URI, config.ActSetURI
		case config.ActReplacePathQ:
			subject, act = pathqOf(m), config.ActSetPathQ
		}
		out, ok := regexReplace(t, r.re, subject, r.value)
		if !ok {
			return true // no match: nothing to do
		}
		return setTarget(t, m, act, out)
	case config.ActSetStatus:
		before, status, reason := m.headSize(), m.Status, m.Reason
		m.Status, m.Reason = c.Status, strBytes(c.Reason)
		if m.headSize() > before && !m.fits(0) { // a longer reason
			m.Status, m.Reason = status, reason
			return false
		}
	}
	return true
}

// delHeaders removes the fields whose name matches.
func delHeaders(m *Msg, name string, how config.MatchMethod, re *regexp.Regexp) {
	out := m.Headers[:0]
	for _, h := range m.Headers {
		var match bool
		switch how {
		case config.MatchReg:
			match = re.Match(h.Name)
		case config.MatchBeg, config.MatchEnd, config.MatchSub:
			match = matchString(how, true, h.Name, name)
		default:
			match = equalFold(h.Name, name)
		}
		if !match {
			out = append(out, h)
		}
	}
	m.Headers = out
}

// replaceHeaders is replace-header (each whole value of the field) and
// replace-value (each comma-separated value): a value the regex matches
// is replaced by the replacement, its \N references expanded, as HAProxy.
func replaceHeaders(t *Txn, m *Msg, r *httpRule) bool {
	for i := range m.Headers {
		h := &m.Headers[i]
		if !equalFold(h.Name, r.name) {
			continue
		}
		if r.conf.Action == config.ActReplaceHeader {
			out, ok := regexReplace(t, r.re, h.Value, r.value)
			if ok {
				if !fieldValue(out) || !m.fits(len(out)-len(h.Value)) {
					return false
				}
				h.Value = out
			}
			continue
		}
		off := len(t.rendered)
		changed := false
		for pos := 0; pos <= len(h.Value); {
			item, next := nextItem(h.Value, pos)
			pos = next
			if len(t.rendered) > off {
				t.rendered = append(t.rendered, ", "...)
			}
			start := len(t.rendered)
			if out, ok := regexReplace(t, r.re, item, r.value); ok {
				changed = true
				// regexReplace may have grown rendered: copy the
				// replacement to the end of the list being built.
				t.rendered = append(t.rendered[:start], out...)
			} else {
				t.rendered = append(t.rendered, item...)
			}
		}
		if changed {
			out := t.rendered[off:len(t.rendered):len(t.rendered)]
			if !fieldValue(out) || !m.fits(len(out)-len(h.Value)) {
				return false
			}
			h.Value = out
		}
	}
	return true
}

// regexReplace matches re against subject and, when it matches, builds
// the replacement with \0-\9 expanded. ok is false when it does not
// match.
func regexReplace(t *Txn, re *regexp.Regexp, subject []byte, repl *Format) ([]byte, bool) {
	loc := re.FindSubmatchIndex(subject)
	if loc == nil {
		return nil, false
	}
	tmpl := repl.render(t)
	off := len(t.rendered)
	for i := 0; i < len(tmpl); i++ {
		c := tmpl[i]
		if c == '\\' && i+1 < len(tmpl) && tmpl[i+1] >= '0' && tmpl[i+1] <= '9' {
			n := int(tmpl[i+1] - '0')
			if 2*n+1 < len(loc) && loc[2*n] >= 0 {
				t.rendered = append(t.rendered, subject[loc[2*n]:loc[2*n+1]]...)
			}
			i++
			continue
		}
		t.rendered = append(t.rendered, c)
	}
	return t.rendered[off:len(t.rendered):len(t.rendered)], true
}

// setTarget changes the request target: the path (keeping the query),
// the path and query, the query, or the whole URI.
func setTarget(t *Txn, m *Msg, act config.HTTPAction, v []byte) bool {
	if !targetBytes(v) {
		return false
	}
	query := []byte(nil)
	if i := bytes.IndexByte(m.URI, '?'); i >= 0 {
		query = m.URI[i:]
	}
	off := len(t.rendered)
	if act != config.ActSetURI {
		// An absolute-form target keeps its scheme and authority.
		if pq := pathqOf(m); len(pq) < len(m.URI) && bytes.HasSuffix(m.URI, pq) {
			t.rendered = append(t.rendered, m.URI[:len(m.URI)-len(pq)]...)
		}
	}
	switch act {
	case config.ActSetPath:
		if len(v) == 0 {
			return false
		}
		t.rendered = append(append(t.rendered, v...), query...)
	case config.ActSetQuery:
		t.rendered = append(t.rendered, m.Path...)
		if len(v) > 0 {
			t.rendered = append(append(t.rendered, '?'), v...)
		}
	default: // set-pathq, set-uri
		if len(v) == 0 {
			return false
		}
		t.rendered = append(t.rendered, v...)
	}
	uri := t.rendered[off:len(t.rendered):len(t.rendered)]
	if !m.fits(len(uri) - len(m.URI)) {
		return false
	}
	m.URI = uri
	m.Path = pathOf(m.URI)
	return true
}

// pathOf is the path of a target: before '?' in origin form, after the
// authority in absolute form.
func pathOf(uri []byte) []byte {
	p := uri
	if len(p) > 0 && p[0] != '/' {
		if i := bytes.Index(p, []byte("://")); i > 0 {
			p = p[i+3:]
			j := bytes.IndexByte(p, '/')
			if j < 0 {
				return []byte("/")
			}
			p = p[j:]
		}
	}
	if i := bytes.IndexByte(p, '?'); i >= 0 {
		p = p[:i]
	}
	return p
}

// fieldValue reports whether v may be sent as a field value: no CR, LF
// or NUL, which would end the field or the head (a request smuggled in a
// sample).
func fieldValue(v []byte) bool {
	for _, c := range v {
		if c == '\r' || c == '\n' || c == 0 {
			return false
		}
	}
	return true
}

// targetBytes reports whether v may stand in a request line.
func targetBytes(v []byte) bool {
	for _, c := range v {
		if c <= ' ' || c == 0x7f {
			return false
		}
	}
	return true
}

func token(v []byte) bool {
	for _, c := range v {
		if c <= ' ' || c >= 0x7f || bytes.IndexByte([]byte("\"(),/:;<=>?@[\\]{}"), c) >= 0 {
			return false
		}
	}
	return true
}

// AppendReturn appends the answer of the return (deny, tarpit) rule v
// decided, built from the rule's arguments (Reply.Append).
func (rs *HTTPRules) AppendReturn(dst []byte, t *Txn, v Verdict, conn string) []byte {
	return rs.rules[v.index].reply.Append(dst, t, conn, false)
}

// pathqOf is the path and query of the target (all of an origin-form
// target; after the authority of an absolute-form one).
func pathqOf(m *Msg) []byte {
	if len(m.URI) > 0 && m.URI[0] == '/' {
		return m.URI
	}
	if i := bytes.Index(m.URI, []byte("://")); i > 0 {
		if j := bytes.IndexByte(m.URI[i+3:], '/'); j >= 0 {
			return m.URI[i+3+j:]
		}
	}
	return m.Path
}

// EarlyHints returns the fields early-hint rules gathered ("name:
// value" lines), empty when none ran.
func (t *Txn) EarlyHints() []byte { return t.hints }
