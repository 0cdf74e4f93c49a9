package config

import (
	"fmt"
	"strings"
	"time"
)

// TCPAction is what a "tcp-request" rule does when its condition holds.
type TCPAction uint8

const (
	TCPAccept      TCPAction = iota // stop evaluating the rules: the connection goes on
	TCPReject                       // close the connection at once
	TCPSetVar                       // set-var(NAME) EXPR
	TCPSetVarFmt                    // set-var-fmt(NAME) FMT
	TCPUnsetVar                     // unset-var(NAME)
	TCPExpectProxy                  // expect-proxy layer4: the connection starts with a PROXY header
	TCPSetSrc                       // set-src EXPR: the client's address the rules' level sees from then on
	TCPSetSrcPort                   // set-src-port EXPR
	TCPSetDst                       // set-dst EXPR: the address the client connected to
	TCPSetDstPort                   // set-dst-port EXPR
	TCPSilentDrop                   // silent-drop: close the connection without telling the client
)

var tcpActionNames = [...]string{"accept", "reject", "set-var", "set-var-fmt", "unset-var", "expect-proxy layer4",
	"set-src", "set-src-port", "set-dst", "set-dst-port", "silent-drop"}

func (a TCPAction) String() string { return tcpActionNames[a] }

// TCPRule is one "tcp-request connection", "session" or "content" rule.
type TCPRule struct {
	Pos    Pos
	Action TCPAction
	// Var is what set-var, set-var-fmt and unset-var set; its Expr is
	// also the sample of the address actions (set-src, ...).
	Var  VarSet
	Cond *Condition // nil: always
}

// VarSet is what a set-var, set-var-fmt or unset-var action stores: the
// variable, its value (an expression or a log-format string) and the
// conditions of "set-var(NAME,ifnotexists,...)".
type VarSet struct {
	Name   VarName
	Expr   *Expr
	Format *Format
	Conds  int64 // set-var's conditions, the config.VarIf* bits (convchecks.go)
}

// parseVarAction reads "set-var(NAME[,COND...])", "set-var-fmt(...)" or
// "unset-var(NAME)", the action word, and returns the variable and the
// conditions.
func parseVarAction(word, kind string) (VarSet, error) {
	var vs VarSet
	inner := word[len(kind)+1 : len(word)-1]
	parts := strings.Split(inner, ",")
	var err error
	if vs.Name, err = parseVarName(parts[0]); err != nil {
		return vs, err
	}
	if len(parts) > 1 && kind == "unset-var" {
		return vs, fmt.Errorf("'unset-var' takes no condition")
	}
	if len(parts) > 5 {
		return vs, fmt.Errorf("at most four conditions, as in HAProxy")
	}
	for _, c := range parts[1:] {
		bit, ok := varConds[c]
		if !ok {
			return vs, fmt.Errorf("unknown set-var condition '%s' (valid: ifexists, ifnotexists, ifempty, ifnotempty, ifset, ifnotset, ifgt, iflt)", c)
		}
		vs.Conds |= bit
	}
	return vs, nil
}

// varActionKind returns "set-var", "set-var-fmt" or "unset-var" when
// word is one of these actions with its parentheses, else "".
func varActionKind(word string) string {
	for _, k := range []string{"set-var-fmt", "set-var", "unset-var"} {
		if strings.HasPrefix(word, k+"(") && strings.HasSuffix(word, ")") {
			return k
		}
	}
	return ""
}

// tcpActionWords are the actions fjord carries out besides the variable
// ones; HAProxy's others are named in the error (stick tables bring
// track-sc*).
var tcpActionWords = map[string]TCPAction{"accept": TCPAccept, "reject": TCPReject, "expect-proxy": TCPExpectProxy,
	"set-src": TCPSetSrc, "set-src-port": TCPSetSrcPort, "set-dst": TCPSetDst, "set-dst-port": TCPSetDstPort,
	"silent-drop": TCPSilentDrop}

// tcpRequestActions lists them for errors.
const tcpRequestActions = "accept, reject, set-var(NAME), set-var-fmt(NAME), unset-var(NAME), set-src, set-src-port, " +
	"set-dst, set-dst-port, silent-drop, expect-proxy layer4 (connection rules only)"

// maxInspectDelay bounds "tcp-request inspect-delay": a client's first
// bytes are held at most this long before a decision.
const maxInspectDelay = 24 * time.Hour

func (p *parser) kwTCPRequest(px *Proxy, pos Pos, args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("'tcp-request' expects 'inspect-delay', 'connection' or 'content'")
	}
	if err := anonymousDefaults(px, fmt.Sprintf("'tcp-request %s'", args[0])); err != nil {
		return err
	}
	switch args[0] {
	case "inspect-delay":
		if len(args) != 2 {
			return fmt.Errorf("'tcp-request inspect-delay' expects one time value, as in 'tcp-request inspect-delay 5s'")
		}
		d, err := parseDuration(args[1])
		if err != nil {
			return fmt.Errorf("'tcp-request inspect-delay': %v", err)
		}
		if d > maxInspectDelay {
			return fmt.Errorf("'tcp-request inspect-delay %s' is more than a day", args[1])
		}
		px.InspectDelay = d
		return nil
	case "connection", "session", "content":
	default:
		return fmt.Errorf("unknown 'tcp-request %s' (supported: inspect-delay, connection, session, content)", args[0])
	}
	kind := args[0]
	if (kind == "connection" || kind == "session") && px.Caps&CapFrontend == 0 {
		return fmt.Errorf("'tcp-request %s' applies to accepted connections: it is allowed in frontend and listen sections only, as in HAProxy", kind)
	}
	if len(args) < 2 {
		return fmt.Errorf("'tcp-request %s' expects an action (%s)", kind, tcpRequestActions)
	}
	word := args[1]
	what := fmt.Sprintf("'tcp-request %s %s'", kind, word)
	rule := &TCPRule{Pos: pos}
	rest := args[2:]
	if vk := varActionKind(word); vk != "" {
		var err error
		if rest, err = p.tcpVarAction(pos, rule, what, word, vk, rest); err != nil {
			return err
		}
	} else {
		action, ok := tcpActionWords[word]
		if !ok {
			return fmt.Errorf("%s: the action '%s' is not supported yet (fjord carries out %s; track-sc and the others come with stick tables)", what, word, tcpRequestActions)
		}
		rule.Action = action
		switch action {
		case TCPSetSrc, TCPSetSrcPort, TCPSetDst, TCPSetDstPort:
			n := len(rest)
			for i, w := range rest {
				if w == "if" || w == "unless" {
					n = i
					break
				}
			}
			e, err := p.addrActionExpr(pos, what, word, rest[:n])
			if err != nil {
				return err
			}
			rule.Var.Expr, rest = e, rest[n:]
		case TCPExpectProxy:
			if kind != "connection" {
				return fmt.Errorf("%s: only 'tcp-request connection' rules may expect a PROXY header, as in HAProxy", what)
			}
			if len(rest) == 0 || rest[0] != "layer4" {
				return fmt.Errorf("%s expects 'layer4'", what)
			}
			rest = rest[1:]
		}
	}
	if len(rest) > 0 {
		cond, err := p.parseCondition(px, pos, rest)
		if err != nil {
			return fmt.Errorf("%s: %v", what, err)
		}
		rule.Cond = cond
	}
	switch kind {
	case "connection":
		px.TCPConnection = append(px.TCPConnection, rule)
	case "session":
		px.TCPSession = append(px.TCPSession, rule)
	default:
		px.TCPContent = append(px.TCPContent, rule)
	}
	return nil
}

// tcpVarAction reads a set-var(), set-var-fmt() or unset-var() action of
// a tcp-request or tcp-response rule (word, of kind vk) and its value,
// and returns the words after them.
func (p *parser) tcpVarAction(pos Pos, rule *TCPRule, what, word, vk string, rest []string) ([]string, error) {
	vs, err := parseVarAction(word, vk)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", what, err)
	}
	rule.Var = vs
	if vk == "unset-var" {
		rule.Action = TCPUnsetVar
		return rest, nil
	}
	if len(rest) == 0 || rest[0] == "if" || rest[0] == "unless" {
		return nil, fmt.Errorf("%s expects a value", what)
	}
	if vk == "set-var" {
		rule.Action = TCPSetVar
		rule.Var.Expr, err = p.parseExpr(pos, rest[0])
	} else {
		rule.Action = TCPSetVarFmt
		rule.Var.Format, err = p.parseFormat(pos, rest[0])
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %v", what, err)
	}
	return rest[1:], nil
}

// validateTCPRules checks what the rules' conditions read against when
// they are evaluated.
func (p *parser) validateTCPRules(px *Proxy) {
	for _, set := range []struct {
		kind  string
		rules []*TCPRule
	}{{"connection", px.TCPConnection}, {"session", px.TCPSession}} {
		for _, r := range set.rules {
			if r.need()&(ReadsReq|ReadsBody|ReadsMsg|ReadsRes|ReadsHello|ReadsTLS|ReadsCapture|ReadsPayload|ReadsResPayload) != 0 {
				p.errorf(r.Pos, "%s: 'tcp-request %s' is evaluated when the connection is accepted, before any byte is read: it may only read the addresses (src) and variables; use 'tcp-request content'", px, set.kind)
			}
		}
	}
	for _, r := range px.TCPResponse {
		if r.need()&(ReadsReq|ReadsBody|ReadsMsg|ReadsRes|ReadsHello|ReadsPayload) != 0 {
			p.errorf(r.Pos, "%s: 'tcp-response content' is evaluated on the server's first bytes: it may read them (res.payload), the addresses, the TLS session and variables, not the request or an HTTP message", px)
		}
	}
	hello := false
	for _, r := range px.TCPContent {
		need := r.need()
		// A backend's rules run for each request routed to it, once
		// its head is read; a frontend's once per connection, before.
		httpBackend := px.Mode == ModeHTTP && px.Caps&CapFrontend == 0
		if need&(ReadsReq|ReadsMsg|ReadsRes) != 0 && !httpBackend || need&(ReadsBody|ReadsRes) != 0 {
			p.errorf(r.Pos, "%s: 'tcp-request content' rules of a frontend cannot read the HTTP request in fjord: use http-request rules (a backend's may: they run once the request head is read)", px)
		}
		if need&ReadsResPayload != 0 {
			p.errorf(r.Pos, "%s: 'tcp-request content' rules read the client's bytes, not the server's: res.payload belongs in 'tcp-response content' rules", px)
		}
		hello = hello || need&ReadsHello != 0
	}
	for _, r := range px.UseBackends {
		hello = hello || r.Cond != nil && r.Cond.ReadsHello() || r.Dynamic != nil && r.Dynamic.Need()&ReadsHello != 0
	}
	switch {
	case hello && px.Mode == ModeHTTP:
		p.errorf(px.Pos, "%s: req.ssl_* reads the TLS ClientHello that tcp mode peeks before forwarding; in mode http the TLS session is fjord's own: use ssl_fc_sni and the other ssl_fc fetches", px)
	case hello && px.InspectDelay == 0:
		p.notice(Warning, px.Pos, "%s: a condition reads the ClientHello (req.ssl_*) but there is no 'tcp-request inspect-delay': it is evaluated on what the first packet holds, and a hello that has not all arrived does not match (add 'tcp-request inspect-delay 5s', as in HAProxy)", px)
	}
}

// need is what evaluating the rule reads: its condition and its value.
func (r *TCPRule) need() Reads {
	need := r.Var.need()
	if r.Cond != nil {
		need |= r.Cond.Need()
	}
	return need
}

// need is what evaluating the value reads.
func (vs *VarSet) need() Reads {
	switch {
	case vs.Expr != nil:
		return vs.Expr.Need()
	case vs.Format != nil:
		return vs.Format.Need()
	}
	return 0
}

// glSetVar reads the global "set-var proc.NAME EXPR".
func glSetVar(p *parser, _ *Proxy, pos Pos, args []string) error {
	return p.globalSetVar(pos, "set-var", args)
}

// glSetVarFmt reads the global "set-var-fmt proc.NAME FMT".
func glSetVarFmt(p *parser, _ *Proxy, pos Pos, args []string) error {
	return p.globalSetVar(pos, "set-var-fmt", args)
}

func (p *parser) globalSetVar(pos Pos, kw string, args []string) error {
	if len(args) != 2 {
		return fmt.Errorf("'%s' expects a variable name and a value", kw)
	}
	var vs VarSet
	var err error
	if vs.Name, err = parseVarName(args[0]); err != nil {
		return fmt.Errorf("'%s': %v", kw, err)
	}
	if vs.Name.Scope != ScopeProc {
		return fmt.Errorf("'%s %s': only proc variables exist before any connection", kw, args[0])
	}
	if kw == "set-var" {
		vs.Expr, err = p.parseExpr(pos, args[1])
	} else {
		vs.Format, err = p.parseFormat(pos, args[1])
	}
	if err != nil {
		return fmt.Errorf("'%s': %v", kw, err)
	}
	if vs.need() != 0 {
		return fmt.Errorf("'%s %s': the value reads a connection or a message, which does not exist at startup", kw, args[0])
	}
	p.cfg.Global.SetVars = append(p.cfg.Global.SetVars, vs)
	return nil
}

// kwTCPResponse reads "tcp-response inspect-delay TIME" and "tcp-response
// content ACTION [if|unless COND]", ACTION being accept, reject,
// silent-drop or a variable action.
func (p *parser) kwTCPResponse(px *Proxy, pos Pos, args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("'tcp-response' expects 'inspect-delay' or 'content'")
	}
	if err := anonymousDefaults(px, fmt.Sprintf("'tcp-response %s'", args[0])); err != nil {
		return err
	}
	switch args[0] {
	case "inspect-delay":
		if len(args) != 2 {
			return fmt.Errorf("'tcp-response inspect-delay' expects one time value")
		}
		d, err := parseDuration(args[1])
		if err != nil {
			return fmt.Errorf("'tcp-response inspect-delay': %v", err)
		}
		if d > maxInspectDelay {
			return fmt.Errorf("'tcp-response inspect-delay %s' is more than a day", args[1])
		}
		px.ResponseInspectDelay = d
		return nil
	case "content":
	default:
		return fmt.Errorf("unknown 'tcp-response %s' (supported: inspect-delay, content)", args[0])
	}
	if len(args) < 2 {
		return fmt.Errorf("'tcp-response content' expects an action (accept, reject, silent-drop, set-var(NAME), set-var-fmt(NAME), unset-var(NAME))")
	}
	word := args[1]
	what := fmt.Sprintf("'tcp-response content %s'", word)
	rule := &TCPRule{Pos: pos}
	rest := args[2:]
	switch vk := varActionKind(word); {
	case vk != "":
		var err error
		if rest, err = p.tcpVarAction(pos, rule, what, word, vk, rest); err != nil {
			return err
		}
	case word == "accept":
		rule.Action = TCPAccept
	case word == "reject":
		rule.Action = TCPReject
	case word == "silent-drop":
		rule.Action = TCPSilentDrop
	default:
		return fmt.Errorf("%s: the action is not supported (fjord carries out accept, reject, silent-drop, set-var(), set-var-fmt() and unset-var())", what)
	}
	if len(rest) > 0 {
		cond, err := p.parseCondition(px, pos, rest)
		if err != nil {
			return fmt.Errorf("%s: %v", what, err)
		}
		rule.Cond = cond
	}
	px.TCPResponse = append(px.TCPResponse, rule)
	return nil
}
