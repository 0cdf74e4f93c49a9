package config

import (
	"fmt"
	"strings"
)

// The address actions: set-src, set-src-port, set-dst and set-dst-port,
// in http-request and tcp-request rules (HAProxy 2.6's tcp_act.c). Each
// takes one sample expression; the rule changes the address its rule set
// owns (the connection's, the session's or the stream's), and every
// later reader (src, dst, the logs, X-Forwarded-For, option originalto,
// send-proxy) sees the new one.

// addrActionExpr reads the sample expression of an address action. At
// run time HAProxy casts the sample to an address (set-src, set-dst) or
// an integer (the -port actions) and changes nothing when it cannot; an
// expression whose type never casts is accepted by HAProxy, and given a
// warning here, since such a rule can never act.
func (p *parser) addrActionExpr(pos Pos, what, word string, rest []string) (*Expr, error) {
	if len(rest) != 1 {
		return nil, fmt.Errorf("%s expects one sample expression", what)
	}
	e, err := p.parseExpr(pos, rest[0])
	if err != nil {
		return nil, fmt.Errorf("%s: %v", what, err)
	}
	want, noun := TypeAddr, "an address"
	if strings.HasSuffix(word, "-port") {
		want, noun = TypeInt, "a port number"
	}
	if out := e.Out(); !castable(out, want) {
		p.notice(Warning, pos, "%s: '%s' gives %s %s sample, which is never %s: the rule changes nothing (HAProxy accepts it too)",
			what, rest[0], article(out), out, noun)
	}
	return e, nil
}
