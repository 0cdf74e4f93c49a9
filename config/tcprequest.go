package config

import (
	"fmt"
	"time"
)

// TCPAction is what a "tcp-request" rule does when its condition holds.
type TCPAction uint8

const (
	TCPAccept TCPAction = iota // stop evaluating the rules: the connection goes on
	TCPReject                  // close the connection at once
)

func (a TCPAction) String() string {
	if a == TCPReject {
		return "reject"
	}
	return "accept"
}

// TCPRule is one "tcp-request connection" or "tcp-request content" rule.
type TCPRule struct {
	Pos    Pos
	Action TCPAction
	Cond   *Condition // nil: always
}

// tcpActionWords are the actions fjord carries out; HAProxy's others are
// named in the error (the rule language and stick tables bring them).
var tcpActionWords = map[string]TCPAction{"accept": TCPAccept, "reject": TCPReject}

// maxInspectDelay bounds "tcp-request inspect-delay": a client's first
// bytes are held at most this long before a decision.
const maxInspectDelay = 24 * time.Hour

func (p *parser) kwTCPRequest(px *Proxy, pos Pos, args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("'tcp-request' expects 'inspect-delay', 'connection' or 'content'")
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
	case "connection", "content":
	case "session":
		return fmt.Errorf("'tcp-request session' rules are not supported yet: their actions (track-sc, set-var, ...) come with the rule language")
	default:
		return fmt.Errorf("unknown 'tcp-request %s' (supported: inspect-delay, connection, content)", args[0])
	}
	kind := args[0]
	if px.Section == "defaults" {
		return fmt.Errorf("'tcp-request %s' rules in a defaults section are not supported: write them in the frontend, listen or backend section", kind)
	}
	if kind == "connection" && px.Caps&CapFrontend == 0 {
		return fmt.Errorf("'tcp-request connection' applies to accepted connections: it is allowed in frontend and listen sections only, as in HAProxy")
	}
	if len(args) < 2 {
		return fmt.Errorf("'tcp-request %s' expects an action (accept, reject)", kind)
	}
	action, ok := tcpActionWords[args[1]]
	if !ok {
		return fmt.Errorf("'tcp-request %s %s': the action '%s' is not supported yet (fjord carries out accept and reject; track-sc, set-var and the others come with the rule language and stick tables)", kind, args[1], args[1])
	}
	rule := &TCPRule{Pos: pos, Action: action}
	if len(args) > 2 {
		cond, err := p.parseCondition(px, pos, args[2:])
		if err != nil {
			return fmt.Errorf("'tcp-request %s %s': %v", kind, args[1], err)
		}
		rule.Cond = cond
	}
	if kind == "connection" {
		px.TCPConnection = append(px.TCPConnection, rule)
	} else {
		px.TCPContent = append(px.TCPContent, rule)
	}
	return nil
}

// validateTCPRules checks what the rules' conditions read against when
// they are evaluated.
func (p *parser) validateTCPRules(px *Proxy) {
	for _, r := range px.TCPConnection {
		if r.Cond == nil {
			continue
		}
		if r.Cond.NeedsHTTP() || r.Cond.ReadsHello() || r.Cond.ReadsTLS() {
			p.errorf(r.Pos, "%s: 'tcp-request connection' is evaluated when the connection is accepted, before any byte is read: its condition may only read the addresses (src); use 'tcp-request content'", px)
		}
	}
	hello := false
	for _, r := range px.TCPContent {
		if r.Cond == nil {
			continue
		}
		if r.Cond.NeedsHTTP() {
			p.errorf(r.Pos, "%s: 'tcp-request content' conditions cannot read the HTTP request in fjord (http-request rules will)", px)
		}
		hello = hello || r.Cond.ReadsHello()
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
