package config

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// "http-request", "http-response" and "http-after-response" rules: an
// action, its arguments and an optional condition, evaluated in order
// (package rules). HAProxy 2.6's syntax and semantics
// (doc/configuration.txt 4.2, http_act.c); the actions fjord does not
// carry out yet are refused by name, never ignored.

// HTTPAction is what a rule does.
type HTTPAction uint8

const (
	ActAllow         HTTPAction = iota // stop evaluating this rule set: the message goes on
	ActDeny                            // answer an error (403 by default, 502 for a response) and close
	ActReturn                          // answer a response built from the rule
	ActRedirect                        // answer a redirect
	ActSetHeader                       // replace every field of the name with one
	ActAddHeader                       // append a field
	ActDelHeader                       // remove every field of the name
	ActReplaceHeader                   // rewrite whole field values with a regex
	ActReplaceValue                    // rewrite each comma-separated value with a regex
	ActSetPath                         // the path, keeping the query
	ActSetPathQ                        // the path and the query
	ActSetQuery                        // the query (after '?')
	ActSetURI                          // the whole target
	ActSetMethod                       // the method
	ActReplacePath                     // rewrite the path with a regex
	ActReplaceURI                      // rewrite the target with a regex
	ActSetVar                          // store a sample in a variable
	ActUnsetVar                        // forget a variable
	ActSetStatus                       // the response's status (and reason)
	ActAuth                            // answer 401 asking for credentials (Reason: the realm)
	ActSetVarFmt                       // store a log-format string in a variable
	ActReplacePathQ                    // rewrite the path and query with a regex
	ActReject                          // close the connection without an answer
	ActEarlyHint                       // send a field in a 103 Early Hints response
	ActTarpit                          // hold the request for 'timeout tarpit', then answer an error
	ActSetTimeout                      // this request's 'timeout server' or 'timeout tunnel'
	ActNormalizeURI                    // normalize the target (HTTPRule.Normalize)
	ActCapture                         // keep a sample in a capture slot (%hr, %hs)
	ActSetLogLevel                     // the level of the request's log line, or silent
	ActSetSrc                          // the client's address the session sees from then on (Var.Expr)
	ActSetSrcPort                      // the client's port (Var.Expr)
	ActSetDst                          // the address the client connected to (Var.Expr)
	ActSetDstPort                      // the port the client connected to (Var.Expr)
	ActSilentDrop                      // close the client's connection without telling it
	ActStrictMode                      // whether a failed rewrite fails the message (HTTPRule.Strict)
	ActWaitForBody                     // wait for the message's body before the next rules (Timeout, AtLeast)
)

var httpActionNames = [...]string{
	"allow", "deny", "return", "redirect", "set-header", "add-header", "del-header",
	"replace-header", "replace-value", "set-path", "set-pathq", "set-query", "set-uri",
	"set-method", "replace-path", "replace-uri", "set-var", "unset-var", "set-status", "auth", "set-var-fmt",
	"replace-pathq", "reject", "early-hint", "tarpit", "set-timeout", "normalize-uri", "capture", "set-log-level",
	"set-src", "set-src-port", "set-dst", "set-dst-port", "silent-drop",
	"strict-mode", "wait-for-body",
}

func (a HTTPAction) String() string { return httpActionNames[a] }

// The names must follow the constants: a name out of place would give a
// keyword another action's meaning.
var _ = [1]struct{}{}[len(httpActionNames)-int(ActWaitForBody)-1]

// HTTPRuleSet says which rules a rule belongs to.
type HTTPRuleSet uint8

const (
	RequestRules       HTTPRuleSet = iota // http-request
	ResponseRules                         // http-response
	AfterResponseRules                    // http-after-response
)

func (s HTTPRuleSet) String() string {
	return [...]string{"http-request", "http-response", "http-after-response"}[s]
}

// HTTPRule is one rule.
type HTTPRule struct {
	Pos    Pos
	Set    HTTPRuleSet
	Action HTTPAction
	// Name is the header of the header actions.
	Name string
	// Value is the value of set-header/add-header, the new path, query,
	// URI or method, a replacement (replace-*: with \1 references).
	Value *Format
	Regex *regexp.Regexp // replace-*; del-header with -m reg
	// DelMatch is del-header's "-m" method: str (the default), beg,
	// end, sub or reg.
	DelMatch MatchMethod
	// Status is deny's deny_status, return's and set-status's status;
	// Reason set-status's reason ("" for the standard one).
	Status int
	Reason string
	// Return's answer: content type, body (string or file contents) and
	// the fields to add.
	ContentType string
	Body        string
	BodyFormat  *Format // lf-string, lf-file: the body built per request
	Headers     []ReturnHeader
	// The answer is an error page: the proxy's for Status
	// (default-errorfiles, and a deny or tarpit without a response of
	// its own), a file's (errorfile), or an http-errors section's
	// (errorfiles: the name, and the page for Status once resolved; nil
	// when the section has none, and the proxy's page answers).
	DefaultErrorfiles bool
	Errorfile         *ErrorPage
	Errorfiles        string
	Redirect          *Redirect // redirect
	// Var is what set-var, set-var-fmt and unset-var set; its Expr is
	// also the sample of capture, set-timeout (when not a time) and the
	// address actions (set-src, set-src-port, set-dst, set-dst-port).
	Var VarSet
	// Timeout is set-timeout's value when it is a time; Var.Expr holds
	// it when it is an expression (milliseconds). Name is "server" or
	// "tunnel". It is also wait-for-body's "time" (0: no time of its
	// own, as HAProxy reads 0), and AtLeast its "at-least" (0: the
	// whole body).
	Timeout time.Duration
	AtLeast int
	// CaptureSlot is capture's slot among the frontend's request (or, in
	// response rules, response) captures, numbered as HAProxy numbers
	// them: "capture ... header" and "declare capture" lines in order,
	// "http-request capture ... len N" adding one.
	CaptureSlot int
	// Strict is strict-mode's value: on (a failed rewrite fails the
	// message) or off (it is skipped), for the rules after it in the
	// rule set.
	Strict bool
	// LogLevel is set-log-level's syslog level, or LogSilent.
	LogLevel  int
	Normalize NormalizeURI
	Cond      *Condition
}

// NormalizeURI is what a normalize-uri rule does (HAProxy 2.6's
// act_normalize_uri): a normalizer and its option.
type NormalizeURI struct {
	Normalizer URINormalizer
	// Full is path-strip-dotdot's "full": a "/../" with no segment
	// left to remove is dropped rather than kept.
	Full bool
	// Strict is percent-decode-unreserved's and percent-to-uppercase's
	// "strict": a '%' not followed by two hex digits makes the request
	// invalid (400) rather than being left as it is.
	Strict bool
}

// URINormalizer is one of normalize-uri's normalizers.
type URINormalizer uint8

const (
	NormFragmentEncode          URINormalizer = iota // '#' becomes "%23", in the path and query
	NormFragmentStrip                                // cut the target at the first '#'
	NormPathMergeSlashes                             // "//" becomes "/" in the path
	NormPathStripDot                                 // remove "." segments from the path
	NormPathStripDotdot                              // a ".." segment removes itself and the segment before
	NormPercentDecodeUnreserved                      // %XX of an unreserved character becomes the character
	NormPercentToUppercase                           // %xx becomes %XX
	NormQuerySortByName                              // sort the query's parameters by name, stably
)

var uriNormalizerNames = [...]string{
	"fragment-encode", "fragment-strip", "path-merge-slashes", "path-strip-dot", "path-strip-dotdot",
	"percent-decode-unreserved", "percent-to-uppercase", "query-sort-by-name",
}

func (n URINormalizer) String() string { return uriNormalizerNames[n] }

// uriNormalizerUsage lists the normalizers with their options, for errors.
const uriNormalizerUsage = "fragment-encode, fragment-strip, path-merge-slashes, path-strip-dot, " +
	"path-strip-dotdot [full], percent-decode-unreserved [strict], percent-to-uppercase [strict], query-sort-by-name"

// normalizeArgs reads "NORMALIZER [full|strict]". HAProxy 2.6's parser
// leaves the rule on path-merge-slashes when path-strip-dotdot,
// percent-to-uppercase or percent-decode-unreserved is written without
// its option and followed by a condition (the action stays 0): fjord
// does what the rule says.
func normalizeArgs(r *HTTPRule, what string, rest []string) error {
	if len(rest) == 0 {
		return fmt.Errorf("%s expects a normalizer (%s)", what, uriNormalizerUsage)
	}
	found := false
	for i, name := range uriNormalizerNames {
		if name == rest[0] {
			r.Normalize.Normalizer, found = URINormalizer(i), true
		}
	}
	if !found {
		return fmt.Errorf("%s: unknown normalizer '%s' (valid: %s)", what, rest[0], uriNormalizerUsage)
	}
	n := r.Normalize.Normalizer
	option := ""
	switch n {
	case NormPathStripDotdot:
		option = "full"
	case NormPercentDecodeUnreserved, NormPercentToUppercase:
		option = "strict"
	}
	if len(rest) > 1 {
		what := fmt.Sprintf("'%s normalize-uri %s'", r.Set, n)
		if option == "" {
			return fmt.Errorf("%s: unexpected '%s' (this normalizer takes no option)", what, rest[1])
		}
		if rest[1] != option {
			return fmt.Errorf("%s: unknown argument '%s' (expects '%s' or nothing)", what, rest[1], option)
		}
		if len(rest) > 2 {
			return fmt.Errorf("%s: unexpected '%s' after '%s'", what, rest[2], option)
		}
		r.Normalize.Full, r.Normalize.Strict = option == "full", option == "strict"
	}
	return nil
}

// ReturnHeader is a "hdr NAME VALUE" of a return rule.
type ReturnHeader struct {
	Name  string
	Value *Format
}

// httpActionSets are the actions each rule set takes, as HAProxy 2.6.
var httpActionSets = map[HTTPRuleSet][]HTTPAction{
	RequestRules: {ActAllow, ActDeny, ActReturn, ActRedirect, ActSetHeader, ActAddHeader, ActDelHeader,
		ActReplaceHeader, ActReplaceValue, ActSetPath, ActSetPathQ, ActSetQuery, ActSetURI, ActSetMethod,
		ActReplacePath, ActReplacePathQ, ActReplaceURI, ActSetVar, ActSetVarFmt, ActUnsetVar, ActAuth,
		ActReject, ActEarlyHint, ActTarpit, ActSetTimeout, ActNormalizeURI, ActCapture, ActSetLogLevel,
		ActSetSrc, ActSetSrcPort, ActSetDst, ActSetDstPort, ActSilentDrop, ActStrictMode, ActWaitForBody},
	ResponseRules: {ActCapture, ActSetLogLevel, ActAllow, ActDeny, ActReturn, ActSetHeader, ActAddHeader, ActDelHeader,
		ActReplaceHeader, ActReplaceValue, ActSetStatus, ActSetVar, ActSetVarFmt, ActUnsetVar, ActSilentDrop, ActRedirect,
		ActStrictMode, ActWaitForBody},
	AfterResponseRules: {ActAllow, ActSetHeader, ActAddHeader, ActDelHeader, ActReplaceHeader,
		ActReplaceValue, ActSetStatus, ActSetVar, ActSetVarFmt, ActUnsetVar, ActSetLogLevel, ActStrictMode},
}

// laterActions are HAProxy actions fjord does not carry out yet, with
// what brings them.
var laterActions = map[string]string{

	"set-nice": "", "set-tos": "", "set-mark": "",
	"set-map": "", "del-map": "",
	"add-acl": "", "del-acl": "", "track-sc0": "stick tables", "track-sc1": "stick tables",
	"track-sc2": "stick tables", "sc-inc-gpc0": "stick tables", "sc-inc-gpc1": "stick tables",
	"sc-set-gpt0": "stick tables", "cache-use": "", "cache-store": "", "wait-for-handshake": "",
	"do-resolve": "", "use-service": "", "send-spoe-group": "",
	"set-bandwidth-limit": "", "disable-l7-retry": "", "set-priority-class": "",
	"set-priority-offset": "", "sc-add-gpc": "stick tables", "sc-inc-gpc": "stick tables",
	"sc-set-gpt": "stick tables", "set-fc-mark": "", "set-fc-tos": "",
}

func (p *parser) kwHTTPRequest(px *Proxy, pos Pos, args []string) error {
	return p.httpRule(px, pos, RequestRules, args)
}

func (p *parser) kwHTTPResponse(px *Proxy, pos Pos, args []string) error {
	return p.httpRule(px, pos, ResponseRules, args)
}

func (p *parser) kwHTTPAfterResponse(px *Proxy, pos Pos, args []string) error {
	return p.httpRule(px, pos, AfterResponseRules, args)
}

func (p *parser) httpRule(px *Proxy, pos Pos, set HTTPRuleSet, args []string) error {
	valid := func() string {
		var n []string
		for _, a := range httpActionSets[set] {
			n = append(n, a.String())
		}
		n = append(n, "set-var(NAME)", "unset-var(NAME)")
		return strings.Join(n[:len(n)-2], ", ")
	}
	if err := anonymousDefaults(px, fmt.Sprintf("'%s'", set)); err != nil {
		return err
	}
	if len(args) == 0 {
		return fmt.Errorf("'%s' expects an action (%s)", set, valid())
	}
	word := args[0]
	r := &HTTPRule{Pos: pos, Set: set}
	var act HTTPAction
	found := false
	for i, n := range httpActionNames {
		if n == word {
			act, found = HTTPAction(i), true
		}
	}
	vk := ""
	if !found {
		if vk = varActionKind(word); vk != "" {
			act, found = map[string]HTTPAction{"set-var": ActSetVar, "set-var-fmt": ActSetVarFmt, "unset-var": ActUnsetVar}[vk], true
		}
	}
	if !found {
		base := word
		if i := strings.IndexByte(base, '('); i >= 0 {
			base = base[:i]
		}
		if why, later := laterActions[base]; later {
			if why != "" {
				return fmt.Errorf("'%s %s': this action comes with %s, not built yet (fjord carries out: %s)", set, word, why, valid())
			}
			return fmt.Errorf("'%s %s': this action is not supported by fjord yet (fjord carries out: %s)", set, word, valid())
		}
		return fmt.Errorf("'%s': unknown action '%s' (valid: %s)", set, word, valid())
	}
	allowed := false
	for _, a := range httpActionSets[set] {
		allowed = allowed || a == act
	}
	if !allowed {
		return fmt.Errorf("'%s %s': this action is not available in %s rules (valid: %s)", set, word, set, valid())
	}
	r.Action = act
	rest := args[1:]
	// The condition is whatever follows "if" or "unless" at the end.
	var cond []string
	for i, w := range rest {
		if (w == "if" || w == "unless") && act != ActRedirect {
			cond, rest = rest[i:], rest[:i]
			break
		}
	}
	if err := p.httpRuleArgs(px, pos, r, word, vk, rest); err != nil {
		return err
	}
	if cond != nil {
		c, err := p.parseCondition(px, pos, cond)
		if err != nil {
			return fmt.Errorf("'%s %s': %v", set, word, err)
		}
		r.Cond = c
	}
	if r.Redirect != nil {
		r.Cond, r.Redirect.Cond = r.Redirect.Cond, nil
	}
	switch set {
	case RequestRules:
		px.HTTPRequest = append(px.HTTPRequest, r)
	case ResponseRules:
		px.HTTPResponse = append(px.HTTPResponse, r)
	default:
		px.HTTPAfterResponse = append(px.HTTPAfterResponse, r)
	}
	return nil
}

// httpRuleArgs reads the words between the action and the condition.
func (p *parser) httpRuleArgs(px *Proxy, pos Pos, r *HTTPRule, word, varKind string, rest []string) error {
	what := fmt.Sprintf("'%s %s'", r.Set, word)
	nargs := func(n int, usage string) error {
		if len(rest) != n {
			return fmt.Errorf("%s expects %s", what, usage)
		}
		return nil
	}
	format := func(s string) (*Format, error) {
		f, err := p.parseFormat(pos, s)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", what, err)
		}
		return f, nil
	}
	headerName := func(s string) error {
		if s == "" || strings.IndexFunc(s, func(c rune) bool { return !isTokenChar(c) }) >= 0 {
			return fmt.Errorf("%s: invalid header name '%s'", what, s)
		}
		r.Name = s
		return nil
	}
	regex := func(s string) error {
		re, err := regexp.Compile(s)
		if err != nil {
			return fmt.Errorf("%s: invalid regular expression '%s': %v", what, s, err)
		}
		r.Regex = re
		return nil
	}
	var err error
	switch r.Action {
	case ActAllow, ActReject, ActSilentDrop:
		return nargs(0, "no argument")
	case ActSetSrc, ActSetSrcPort, ActSetDst, ActSetDstPort:
		r.Var.Expr, err = p.addrActionExpr(pos, what, word, rest)
	case ActWaitForBody:
		return waitForBodyArgs(r, what, rest)
	case ActStrictMode:
		if err := nargs(1, "'on' or 'off'"); err != nil {
			return err
		}
		switch strings.ToLower(rest[0]) { // HAProxy compares without case
		case "on":
			r.Strict = true
		case "off":
		default:
			return fmt.Errorf("%s: unexpected value '%s' (only 'on' and 'off' are supported)", what, rest[0])
		}
	case ActSetLogLevel:
		if err := nargs(1, "a level (emerg, alert, crit, err, warning, notice, info, debug) or 'silent'"); err != nil {
			return err
		}
		if rest[0] == "silent" {
			r.LogLevel = LogSilent
			return nil
		}
		lv := indexOf(levels, rest[0])
		if lv < 0 {
			return fmt.Errorf("%s: unknown level '%s' (emerg, alert, crit, err, warning, notice, info, debug or silent)", what, rest[0])
		}
		r.LogLevel = lv
	case ActCapture:
		if len(rest) != 3 || rest[1] != "len" && rest[1] != "id" {
			return fmt.Errorf("%s expects a sample expression, then 'len LENGTH' or 'id ID'", what)
		}
		if r.Var.Expr, err = p.parseExpr(pos, rest[0]); err != nil {
			return fmt.Errorf("%s: %v", what, err)
		}
		if rest[1] == "len" {
			if r.Set != RequestRules {
				return fmt.Errorf("%s: 'len' makes a request capture slot; in response rules, name a 'declare capture response' slot with 'id'", what)
			}
			if px.Caps&CapFrontend == 0 {
				return fmt.Errorf("%s: 'len' adds a capture slot to the frontend, and %s is not one: use 'id' and the frontend's 'declare capture'", what, px)
			}
			if err := addCapture(px, what, true, "", rest[2], pos); err != nil {
				return err
			}
			r.CaptureSlot = len(px.CaptureRequest) - 1
			return nil
		}
		id, cerr := strconv.Atoi(rest[2])
		if cerr != nil || id < 0 || id >= MaxCaptures {
			return fmt.Errorf("%s: 'id %s' is not a capture slot number (0 to %d)", what, rest[2], MaxCaptures-1)
		}
		// A slot the frontend at hand does not have is left alone at
		// run time: a backend's rule serves several frontends.
		r.CaptureSlot = id
	case ActSetTimeout:
		if err := nargs(2, "'server' or 'tunnel', then a time or a sample expression"); err != nil {
			return err
		}
		if rest[0] != "server" && rest[0] != "tunnel" {
			return fmt.Errorf("%s: '%s' is not a timeout this action sets (server, tunnel; HAProxy 2.6 has no others)", what, rest[0])
		}
		r.Name = rest[0]
		if d, derr := parseDuration(rest[1]); derr == nil {
			if d <= 0 {
				return fmt.Errorf("%s: the timeout must be positive", what)
			}
			r.Timeout = d
			return nil
		}
		if r.Var.Expr, err = p.parseExpr(pos, rest[1]); err != nil {
			return fmt.Errorf("%s: '%s' is neither a time nor a sample expression: %v", what, rest[1], err)
		}
	case ActEarlyHint:
		if err := nargs(2, "a header name and a value"); err != nil {
			return err
		}
		if err := headerName(rest[0]); err != nil {
			return err
		}
		r.Value, err = format(rest[1])
	case ActAuth:
		r.Reason = px.Name // HAProxy's default realm: the proxy's name
		if len(rest) == 2 && rest[0] == "realm" {
			r.Reason = rest[1]
		} else if len(rest) != 0 {
			return fmt.Errorf("%s expects nothing or 'realm REALM'", what)
		}
		if strings.ContainsAny(r.Reason, "\"\r\n") {
			return fmt.Errorf("%s: the realm must not contain quotes or line breaks", what)
		}
	case ActDeny, ActTarpit:
		r.Status = 403
		switch {
		case r.Action == ActTarpit:
			r.Status = 500 // HAProxy's tarpit answer
		case r.Set == ResponseRules:
			r.Status = 502
		}
		return p.ruleReplyArgs(r, what, rest, format)
	case ActReturn:
		r.Status = 200
		return p.ruleReplyArgs(r, what, rest, format)
	case ActRedirect:
		if r.Redirect, err = p.parseRedirect(px, pos, rest); err != nil {
			return fmt.Errorf("%s: %v", what, err)
		}
		if r.Set == ResponseRules && r.Redirect.Kind != RedirectLocation {
			// HAProxy's http_parse_redirect_rule: a response has no
			// request target to build a prefix or scheme redirect from.
			return fmt.Errorf("%s: a response is redirected with 'location' only, as in HAProxy (found '%s')", what, r.Redirect.Kind)
		}
	case ActSetHeader, ActAddHeader:
		if err := nargs(2, "a header name and a value"); err != nil {
			return err
		}
		if err := headerName(rest[0]); err != nil {
			return err
		}
		r.Value, err = format(rest[1])
	case ActDelHeader:
		if len(rest) != 1 && len(rest) != 3 {
			return fmt.Errorf("%s expects a header name, then optionally '-m str|beg|end|sub|reg'", what)
		}
		r.Name, r.DelMatch = rest[0], MatchStr
		if len(rest) == 3 {
			m, ok := matchByName(rest[2])
			if rest[1] != "-m" || !ok || !(m == MatchStr || m == MatchBeg || m == MatchEnd || m == MatchSub || m == MatchReg) {
				return fmt.Errorf("%s: expects '-m str|beg|end|sub|reg' after the name, found '%s %s'", what, rest[1], rest[2])
			}
			r.DelMatch = m
			if m == MatchReg {
				return regex(rest[0])
			}
		}
		if r.DelMatch == MatchStr {
			return headerName(rest[0])
		}
	case ActReplaceHeader, ActReplaceValue:
		if err := nargs(3, "a header name, a regular expression and a replacement"); err != nil {
			return err
		}
		if err := headerName(rest[0]); err != nil {
			return err
		}
		if err := regex(rest[1]); err != nil {
			return err
		}
		r.Value, err = format(rest[2])
	case ActSetPath, ActSetPathQ, ActSetQuery, ActSetURI, ActSetMethod:
		if err := nargs(1, "one value (a log-format string)"); err != nil {
			return err
		}
		r.Value, err = format(rest[0])
	case ActReplacePath, ActReplacePathQ, ActReplaceURI:
		if err := nargs(2, "a regular expression and a replacement"); err != nil {
			return err
		}
		if err := regex(rest[0]); err != nil {
			return err
		}
		r.Value, err = format(rest[1])
	case ActSetVar, ActSetVarFmt, ActUnsetVar:
		if r.Var, err = parseVarAction(word, varKind); err != nil {
			return fmt.Errorf("%s: %v", what, err)
		}
		switch r.Action {
		case ActUnsetVar:
			return nargs(0, "no argument")
		case ActSetVar:
			if len(rest) != 1 {
				return fmt.Errorf("%s expects one sample expression", what)
			}
			if r.Var.Expr, err = p.parseExpr(pos, rest[0]); err != nil {
				return fmt.Errorf("%s: %v", what, err)
			}
		default:
			if len(rest) != 1 {
				return fmt.Errorf("%s expects one log-format string", what)
			}
			r.Var.Format, err = format(rest[0])
		}
	case ActNormalizeURI:
		return normalizeArgs(r, what, rest)
	case ActSetStatus:
		if len(rest) != 1 && !(len(rest) == 3 && rest[1] == "reason") {
			return fmt.Errorf("%s expects a status code, then optionally 'reason TEXT'", what)
		}
		if r.Status, err = statusCode(rest[0], 100, 999); err != nil {
			return fmt.Errorf("%s: %v", what, err)
		}
		if len(rest) == 3 {
			r.Reason = rest[2]
			if strings.ContainsAny(r.Reason, "\r\n") {
				return fmt.Errorf("%s: the reason must not hold a line break", what)
			}
		}
	}
	return err
}

// maxWaitTime is the longest wait-for-body "time" HAProxy takes: its
// timers count milliseconds in a signed 32-bit tick.
const maxWaitTime = math.MaxInt32 * time.Millisecond

// waitForBodyArgs reads "time TIME [at-least SIZE]", in any order, a
// later word replacing an earlier one, as HAProxy's
// parse_http_wait_for_body reads them; "time" is required.
func waitForBodyArgs(r *HTTPRule, what string, rest []string) error {
	const usage = "'time TIME', then optionally 'at-least SIZE'"
	timed := false
	for i := 0; i < len(rest); i += 2 {
		kw := rest[i]
		if kw != "time" && kw != "at-least" {
			return fmt.Errorf("%s: unexpected '%s' (expects %s)", what, kw, usage)
		}
		if i+1 == len(rest) {
			return fmt.Errorf("%s: missing argument for '%s'", what, kw)
		}
		v := rest[i+1]
		if kw == "at-least" {
			n, err := parseSize("at-least", v, 0, math.MaxInt32)
			if err != nil {
				return fmt.Errorf("%s: %v", what, err)
			}
			r.AtLeast = n
			continue
		}
		d, err := parseDuration(v)
		switch {
		case err != nil:
			return fmt.Errorf("%s: %v", what, err)
		case d > maxWaitTime:
			return fmt.Errorf("%s: 'time %s' is too large (at most 2147483647 ms, about 24.8 days)", what, v)
		case d > 0 && d < time.Millisecond:
			return fmt.Errorf("%s: 'time %s' is less than 1 ms, the least non-zero time", what, v)
		}
		r.Timeout, timed = d, true
	}
	if !timed {
		return fmt.Errorf("%s expects %s", what, usage)
	}
	return nil
}

// ruleReplyArgs reads the answer of a deny, tarpit or return rule.
func (p *parser) ruleReplyArgs(r *HTTPRule, what string, rest []string, format func(string) (*Format, error)) error {
	if err := p.replyArgs(r, what, rest, format); err != nil {
		return err
	}
	if r.Errorfiles != "" {
		p.replyErrorfiles = append(p.replyErrorfiles, r) // resolved once every section is read
	}
	return nil
}

// replyArgs reads HAProxy's http-reply arguments: "[status N]
// [content-type T] [default-errorfiles | errorfile F | errorfiles NAME |
// string S | file F | lf-string FMT | lf-file F] [hdr NAME VALUE]...",
// for rules and for http-error (where r.Status starts at 0: it has no
// default). A return rule (r.Action) takes no deny_status.
func (p *parser) replyArgs(r *HTTPRule, what string, rest []string, format func(string) (*Format, error)) error {
	body := ""
	isReturn := r.Action == ActReturn
	for i := 0; i < len(rest); i++ {
		kw := rest[i]
		if kw == "default-errorfiles" {
			if body != "" {
				return fmt.Errorf("%s: '%s' after '%s': a response has one body", what, kw, body)
			}
			body, r.DefaultErrorfiles = kw, true
			continue
		}
		need := 1
		if kw == "hdr" {
			need = 2
		}
		if i+need >= len(rest) {
			return fmt.Errorf("%s: '%s' expects %d argument(s)", what, kw, need)
		}
		v := rest[i+1]
		var err error
		switch kw {
		case "status", "deny_status":
			if kw == "deny_status" && isReturn {
				return fmt.Errorf("%s: unexpected 'deny_status' (the status is set with 'status')", what)
			}
			r.Status, err = statusCode(v, 200, 599)
		case "content-type":
			r.ContentType = v
		case "string", "file", "lf-string", "lf-file":
			if body != "" {
				return fmt.Errorf("%s: '%s' after '%s': a response has one body", what, kw, body)
			}
			body = kw
			text := v
			if strings.HasSuffix(kw, "file") {
				data, rerr := readSmallFile(v)
				if rerr != nil {
					return fmt.Errorf("%s: %v", what, rerr)
				}
				text = data
			}
			if strings.HasPrefix(kw, "lf-") {
				if r.BodyFormat, err = format(text); err != nil {
					return err
				}
			} else {
				r.Body = text
			}
		case "hdr":
			name := v
			if strings.IndexFunc(name, func(c rune) bool { return !isTokenChar(c) }) >= 0 || name == "" {
				return fmt.Errorf("%s: invalid header name '%s'", what, name)
			}
			switch strings.ToLower(name) {
			case "content-length", "transfer-encoding", "content-type":
				return fmt.Errorf("%s: 'hdr %s' is not allowed: fjord writes that field itself", what, name)
			}
			f, ferr := format(rest[i+2])
			if ferr != nil {
				return ferr
			}
			r.Headers = append(r.Headers, ReturnHeader{Name: name, Value: f})
		case "errorfile", "errorfiles":
			if body != "" {
				return fmt.Errorf("%s: '%s' after '%s': a response has one body", what, kw, body)
			}
			body = kw
			if kw == "errorfiles" {
				r.Errorfiles = v // resolved once every section is read
				break
			}
			pg, perr := p.errorfileAny(r.Pos, v)
			if perr != nil {
				return fmt.Errorf("%s: %v", what, perr)
			}
			r.Errorfile = pg
		default:
			return fmt.Errorf("%s: unexpected '%s' (expects status, content-type, default-errorfiles, errorfile, errorfiles, string, lf-string, file, lf-file or hdr)", what, kw)
		}
		if err != nil {
			return fmt.Errorf("%s: %v", what, err)
		}
		i += need
	}
	if r.Status == 0 { // http-error's, which has no default
		return fmt.Errorf("%s expects 'status CODE'", what)
	}
	if r.DefaultErrorfiles || r.Errorfile != nil || r.Errorfiles != "" {
		if r.ContentType != "" || len(r.Headers) > 0 {
			return fmt.Errorf("%s: '%s' is a whole response: 'content-type' and 'hdr' cannot go with it", what, body)
		}
		if !IsErrorCode(r.Status) && body != "errorfile" {
			return fmt.Errorf("%s: '%s' needs a status with an error page (%s), not %d", what, body, errorCodeList(), r.Status)
		}
		return nil
	}
	if !isReturn && body == "" && len(r.Headers) == 0 && r.ContentType == "" {
		// A deny or tarpit without a response of its own answers the
		// proxy's error page for its status, as default-errorfiles.
		r.DefaultErrorfiles = true
		return nil
	}
	hasBody := r.Body != "" || r.BodyFormat != nil
	if hasBody && r.ContentType == "" {
		return fmt.Errorf("%s: a body needs a 'content-type', as in HAProxy", what)
	}
	if !hasBody && r.ContentType != "" {
		// HAProxy ignores it too (with a warning): an empty response
		// has no type. An empty file is no body either.
		if body == "" {
			p.notice(Warning, r.Pos, "%s: 'content-type' without a body is ignored, as in HAProxy", what)
		}
		r.ContentType = ""
	}
	if (r.Status == 204 || r.Status == 304) && hasBody {
		return fmt.Errorf("%s: a %d response has no body", what, r.Status)
	}
	return nil
}

// statusCode reads an HTTP status within [lo, hi].
func statusCode(v string, lo, hi int) (int, error) {
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		return 0, fmt.Errorf("'%s' is not a status code between %d and %d", v, lo, hi)
	}
	return n, nil
}

// LogSilent is set-log-level silent: the request is not logged.
const LogSilent = -1
