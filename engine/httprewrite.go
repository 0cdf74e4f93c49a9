package engine

import (
	"bytes"
	"net/netip"

	"github.com/fjordlb/fjord/config"
	"github.com/fjordlb/fjord/engine/h1"
)

// Head rewriting. Only the head is rebuilt, in the loop's out buffer; the
// body still moves by splice or a single copy.

var crlf = []byte("\r\n")

// addrField is a field fjord adds with an address: X-Forwarded-For
// ("option forwardfor") or X-Original-To ("option originalto").
type addrField struct {
	name string
	addr netip.Addr
}

// forwardFor is the X-Forwarded-For field of this request, as HAProxy's
// http_process_request adds it: when the frontend or the backend has the
// option, named as the backend's says (else the frontend's), with the
// client's address as the session sees it now (set-src changes it),
// unless that address is in either proxy's except network, or the
// request has a field of that name and every proxy with the option says
// if-none.
func (s *session) forwardFor() (addrField, bool) {
	fe, be := s.fe.conf.ForwardFor, s.be.Conf.ForwardFor
	if fe == nil && be == nil {
		return addrField{}, false
	}
	f := addrField{addr: s.src().Addr().Unmap()}
	if be != nil {
		f.name = be.Header
	} else {
		f.name = fe.Header
	}
	if !f.addr.IsValid() || excepted(fe, f.addr) || excepted(be, f.addr) {
		return addrField{}, false // a Unix socket's client: HAProxy adds nothing either
	}
	always := fe != nil && !fe.IfNone || be != nil && !be.IfNone
	if !always {
		for _, hd := range s.l.req.Headers {
			if asciiEqualFold(hd.Name, f.name) {
				return addrField{}, false
			}
		}
	}
	return f, true
}

func excepted(ff *config.ForwardFor, a netip.Addr) bool {
	return ff != nil && ff.Except != nil && ff.Except.Contains(a)
}

// originalTo is the X-Original-To field of this request, the
// destination's counterpart of forwardFor (it has no if-none).
func (s *session) originalTo() (addrField, bool) {
	fe, be := s.fe.conf.OriginalTo, s.be.Conf.OriginalTo
	if fe == nil && be == nil {
		return addrField{}, false
	}
	f := addrField{addr: s.dst().Addr().Unmap()}
	if be != nil {
		f.name = be.Header
	} else {
		f.name = fe.Header
	}
	in := func(ot *config.OriginalTo) bool { return ot != nil && ot.Except != nil && ot.Except.Contains(f.addr) }
	if !f.addr.IsValid() || in(fe) || in(be) {
		return addrField{}, false
	}
	return f, true
}

// closeToServer reports whether the request must tell the server to close
// its connection after the response (http-server-close, httpclose).
func (s *session) closeToServer(req *h1.Request) bool {
	// An Upgrade request keeps its "Connection: upgrade": the connection
	// becomes a tunnel if the server agrees, whatever the mode.
	return (s.h.mode == config.HTTPServerClose || s.h.mode == config.HTTPClose) && !req.Close && !req.Upgrade
}

// rewriteRequest rebuilds head with the unique id's header (when the
// frontend has "unique-id-header"), then the X-Forwarded-For and
// X-Original-To fields (xff, xot: when their names are set), as HAProxy
// adds them; for the close modes "Connection: close" in place of the
// client's Connection header, and the framing fjord parsed in place of the
// client's when that was not in canonical form (h1.Request.Reframe): a
// server behind fjord must never frame the body differently.
func (s *session) rewriteRequest(req *h1.Request, head []byte, xff, xot addrField) []byte {
	l := s.l
	closeSrv := s.closeToServer(req)
	out := appendFirstLine(l.out[:0], head)
	for _, hd := range req.Headers {
		if closeSrv && asciiEqualFold(hd.Name, "connection") || req.Reframe && h1.IsFraming(hd.Name) {
			continue
		}
		out = appendHeader(out, hd.Name, hd.Value)
	}
	if req.Reframe {
		out = req.AppendFraming(out)
	}
	if name := s.fe.uidHeader; name != "" {
		// "unique-id-header": before X-Forwarded-For, as HAProxy adds it.
		out = append(out, name...)
		out = append(out, ": "...)
		out = append(out, s.requestUniqueID()...)
		out = append(out, crlf...)
	}
	for _, f := range [...]addrField{xff, xot} {
		if f.name != "" {
			out = append(out, f.name...)
			out = append(out, ": "...)
			out = appendAddr(out, f.addr)
			out = append(out, crlf...)
		}
	}
	if closeSrv {
		out = append(out, "Connection: close\r\n"...)
	}
	out = append(out, crlf...)
	l.out = out[:0] // keep a grown buffer
	return out
}

// rewriteResponse rebuilds a response head with "Connection: close" when
// addClose is set, and with the framing fjord parsed in place of the
// server's when that must not be forwarded (h1.Response.Reframe).
func rewriteResponse(dst, head []byte, resp *h1.Response, addClose bool) []byte {
	out := appendFirstLine(dst, head)
	for _, hd := range resp.Headers {
		if addClose && asciiEqualFold(hd.Name, "connection") || resp.Reframe && h1.IsFraming(hd.Name) {
			continue
		}
		out = appendHeader(out, hd.Name, hd.Value)
	}
	if resp.Reframe {
		out = resp.AppendFraming(out)
	}
	if addClose {
		out = append(out, "Connection: close\r\n"...)
	}
	return append(out, crlf...)
}

// appendFirstLine copies the request or status line, CRLF included.
func appendFirstLine(dst, head []byte) []byte {
	i := bytes.Index(head, crlf)
	for i == 0 { // empty lines tolerated before a request line
		head = head[2:]
		i = bytes.Index(head, crlf)
	}
	return append(dst, head[:i+2]...)
}

func appendHeader(dst, name, value []byte) []byte {
	dst = append(dst, name...)
	dst = append(dst, ": "...)
	dst = append(dst, value...)
	return append(dst, crlf...)
}

// appendAddr writes the client address as HAProxy does: IPv4 dotted, IPv6
// in its canonical text form, IPv4-mapped addresses as IPv4.
func appendAddr(dst []byte, a netip.Addr) []byte {
	return a.Unmap().AppendTo(dst)
}
