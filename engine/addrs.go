package engine

import (
	"net/netip"

	"github.com/fjordlb/fjord/rules"
)

// A session's addresses at HAProxy 2.6's three levels. The connection's
// (session.clientAddr and localAddr, fc_src and fc_dst) are the socket's,
// as tcp-request connection rules left them. A PROXY header and
// tcp-request session rules put the session's over them; tcp-request
// content and http-request rules put the stream's over those, for one
// request in mode http (HAProxy makes a stream of each request), for the
// whole connection in mode tcp. Everything that names the client or its
// destination (src and dst, the logs, X-Forwarded-For, option
// originalto, send-proxy, balance source) reads the top one.

// addrLevels are the session's and the stream's addresses: [0] the
// client's, [1] the one it connected to, each valid when its bit is set.
type addrLevels struct {
	sess, strm       [2]netip.AddrPort
	sessSet, strmSet rules.AddrBits
}

// src is the client's address as the session sees it now.
func (s *session) src() netip.AddrPort {
	switch a := &s.addrs; {
	case a.strmSet&rules.AddrSrc != 0:
		return a.strm[0]
	case a.sessSet&rules.AddrSrc != 0:
		return a.sess[0]
	}
	return s.clientAddr
}

// dst is the address the client connected to as the session sees it
// now; the connection's costs a getsockname the first time.
func (s *session) dst() netip.AddrPort {
	switch a := &s.addrs; {
	case a.strmSet&rules.AddrDst != 0:
		return a.strm[1]
	case a.sessSet&rules.AddrDst != 0:
		return a.sess[1]
	}
	return s.localAddress()
}

// newStream forgets the previous request's addresses: a new request
// starts from the session's.
func (s *session) newStream() { s.addrs.strmSet = 0 }

// fillAddrs gives t the addresses, for rules that change those of level.
// The connection's destination is left for t to ask for (localView)
// when the session does not know it yet.
func (s *session) fillAddrs(t *rules.Txn, level rules.AddrLevel) {
	t.AddrLevel = level
	t.ConnSrc, t.Src = s.clientAddr, s.src()
	t.ConnDst, t.Local = s.localAddr, nil
	if !s.localAddr.IsValid() && !s.ln.unix {
		t.Local = localView{s}
	}
	a := &s.addrs
	switch {
	case a.strmSet&rules.AddrDst != 0:
		t.Dst, t.DstIsConn = a.strm[1], false
	case a.sessSet&rules.AddrDst != 0:
		t.Dst, t.DstIsConn = a.sess[1], false
	default:
		t.Dst, t.DstIsConn = netip.AddrPort{}, true
	}
}

// keepAddrs keeps what t's address actions changed, at t's level.
func (s *session) keepAddrs(t *rules.Txn) {
	set := t.AddrsSet
	if set == 0 {
		return
	}
	a := &s.addrs
	switch t.AddrLevel {
	case rules.AddrConnection:
		if set&rules.AddrSrc != 0 {
			s.clientAddr = t.ConnSrc
		}
		if set&rules.AddrDst != 0 {
			s.localAddr = t.ConnDst
		}
	case rules.AddrSession:
		keepLevel(&a.sess, &a.sessSet, t)
	default:
		keepLevel(&a.strm, &a.strmSet, t)
	}
}

func keepLevel(lv *[2]netip.AddrPort, bits *rules.AddrBits, t *rules.Txn) {
	if t.AddrsSet&rules.AddrSrc != 0 {
		lv[0] = t.Src
	}
	if t.AddrsSet&rules.AddrDst != 0 {
		lv[1] = t.Dst
	}
	*bits |= t.AddrsSet
}

// localView gives rules the connection's destination when they read it.
// A struct of one pointer: making it an interface allocates nothing.
type localView struct{ s *session }

func (v localView) LocalAddr() netip.AddrPort { return v.s.localAddress() }
