package rules

import (
	"net/netip"

	"github.com/fjordlb/fjord/config"
)

// Addresses. HAProxy 2.6 keeps a client's addresses at three levels: the
// connection's (fc_src, fc_dst; tcp-request connection rules change
// them), the session's (a PROXY header, tcp-request session rules) and
// the stream's (tcp-request content and http-request rules, one stream a
// request). src and dst read the stream's, which start as the session's,
// which start as the connection's. The engine keeps the levels; a Txn
// carries what the rules being run see.

// AddrLevel is the level the address actions of a rule set change.
type AddrLevel uint8

const (
	AddrStream     AddrLevel = iota // tcp-request content, http-request
	AddrSession                     // tcp-request session
	AddrConnection                  // tcp-request connection: fc_src and fc_dst change too
)

// AddrBits say which addresses an action changed.
type AddrBits uint8

const (
	AddrSrc AddrBits = 1 << iota
	AddrDst
)

// LocalAddr gives the address a client connected to. The engine's asks
// the kernel once per connection.
type LocalAddr interface{ LocalAddr() netip.AddrPort }

// dst is what dst reads.
func (t *Txn) dst() netip.AddrPort {
	if t.DstIsConn {
		return t.connDst()
	}
	return t.Dst
}

// connDst is what fc_dst reads.
func (t *Txn) connDst() netip.AddrPort {
	if t.Local != nil {
		t.ConnDst, t.Local = t.Local.LocalAddr(), nil
	}
	return t.ConnDst
}

// setSrc changes the client's address at the rules' level.
func (t *Txn) setSrc(a netip.AddrPort) {
	t.Src = a
	if t.AddrLevel == AddrConnection {
		t.ConnSrc = a
	}
	t.AddrsSet |= AddrSrc
}

// setDst changes the destination at the rules' level.
func (t *Txn) setDst(a netip.AddrPort) {
	if t.AddrLevel == AddrConnection {
		t.ConnDst, t.Local = a, nil
	}
	t.Dst, t.DstIsConn = a, false
	t.AddrsSet |= AddrDst
}

// AddrSet is a compiled set-src, set-src-port, set-dst or set-dst-port.
type AddrSet struct {
	dst, port bool
	expr      *Expr
}

// AddrSet compiles an address action; nil for any other.
func (cp *Compiler) AddrSet(what config.TCPAction, e *config.Expr) *AddrSet {
	switch what {
	case config.TCPSetSrc, config.TCPSetSrcPort, config.TCPSetDst, config.TCPSetDstPort:
		return &AddrSet{dst: what == config.TCPSetDst || what == config.TCPSetDstPort,
			port: what == config.TCPSetSrcPort || what == config.TCPSetDstPort, expr: CompileExpr(e)}
	}
	return nil
}

// httpAddrSet compiles the address action of an http-request rule; nil
// for any other.
func httpAddrSet(r *config.HTTPRule) *AddrSet {
	switch r.Action {
	case config.ActSetSrc:
		return &AddrSet{expr: CompileExpr(r.Var.Expr)}
	case config.ActSetSrcPort:
		return &AddrSet{port: true, expr: CompileExpr(r.Var.Expr)}
	case config.ActSetDst:
		return &AddrSet{dst: true, expr: CompileExpr(r.Var.Expr)}
	case config.ActSetDstPort:
		return &AddrSet{dst: true, port: true, expr: CompileExpr(r.Var.Expr)}
	}
	return nil
}

// Apply carries out the action on t, as HAProxy's tcp_action_req_set_src
// and its siblings: a new address keeps the port (0 when there was no IP
// address, a Unix socket's client); a new port keeps the address, or is
// given 0.0.0.0 when there was none. A sample that casts to no address
// (no integer, for a port) changes nothing.
func (a *AddrSet) Apply(t *Txn) {
	v, ok := a.expr.Eval(t)
	if !ok {
		return
	}
	old := t.Src
	if a.dst {
		old = t.dst()
	}
	var next netip.AddrPort
	if a.port {
		n, ok := v.asInt()
		if !ok {
			return
		}
		ip := old.Addr()
		if !ip.IsValid() {
			ip = netip.IPv4Unspecified()
		}
		next = netip.AddrPortFrom(ip, uint16(n)) // htons() keeps the low 16 bits
	} else {
		ip, ok := v.asAddr()
		if !ok {
			return
		}
		next = netip.AddrPortFrom(ip, old.Port())
	}
	if a.dst {
		t.setDst(next)
	} else {
		t.setSrc(next)
	}
}
