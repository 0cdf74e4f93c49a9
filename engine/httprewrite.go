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

// forwardFor returns the X-Forwarded-For header to add for this request,
// per "option forwardfor" on the frontend or the backend.
func (s *session) forwardFor() (*config.ForwardFor, bool) {
	ff := s.fe.conf.ForwardFor
	if ff == nil {
		ff = s.be.Conf.ForwardFor
	}
	if ff == nil {
		return nil, false
	}
	src := s.src().Addr().Unmap()
	if !src.IsValid() {
		return nil, false // a client of a Unix socket: HAProxy adds nothing either
	}
	if ff.Except != nil && ff.Except.Contains(src) {
		return nil, false
	}
	if ff.IfNone {
		for _, hd := range s.l.req.Headers {
			if asciiEqualFold(hd.Name, ff.Header) {
				return nil, false
			}
		}
	}
	return ff, true
}

// closeToServer reports whether the request must tell the server to close
// its connection after the response (http-server-close, httpclose).
func (s *session) closeToServer(req *h1.Request) bool {
	// An Upgrade request keeps its "Connection: upgrade": the connection
	// becomes a tunnel if the server agrees, whatever the mode.
	return (s.h.mode == config.HTTPServerClose || s.h.mode == config.HTTPClose) && !req.Close && !req.Upgrade
}

// rewriteRequest rebuilds head with the unique id's header (when the
// frontend has "unique-id-header") and the X-Forwarded-For header added
// (when xff is set), for the close modes "Connection: close" in place of the
// client's Connection header, and the framing fjord parsed in place of the
// client's when that was not in canonical form (h1.Request.Reframe): a
// server behind fjord must never frame the body differently.
func (s *session) rewriteRequest(req *h1.Request, head []byte, ff *config.ForwardFor, xff bool) []byte {
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
	if xff {
		out = append(out, ff.Header...)
		out = append(out, ": "...)
		out = appendAddr(out, s.src().Addr())
		out = append(out, crlf...)
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
