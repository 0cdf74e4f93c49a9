package h1

import "strconv"

// Response is a parsed response head. Its byte slices alias the parsed
// input and are valid only while that input is.
type Response struct {
	Minor  int    // HTTP/1.<Minor>: 0 or 1
	Status int    // 100..599
	Reason []byte // nil when the status line has none
	// Headers are the fields in order, a slice of an array inside the
	// Response, so they are overwritten by the next parse.
	Headers []Header
	// ContentLength is -1 when absent, and also when Transfer-Encoding
	// is present, which overrides it (RFC 9112 §6.3).
	ContentLength int64
	Chunked       bool // Transfer-Encoding whose final coding is chunked
	// Close is set when Connection has the "close" token, and also for an
	// HTTP/1.0 response carrying Transfer-Encoding, whose framing RFC 9112
	// §6.1 says to distrust beyond this one message.
	Close     bool
	KeepAlive bool // Connection has the "keep-alive" token
	// Reframe is set when the framing fields must not be forwarded as
	// they came: Content-Length beside Transfer-Encoding (RFC 9112 §6.3
	// has an intermediary remove it), framing fields on a status that
	// has no body (1xx, 204, 304), or fields not in canonical form (see
	// Request.Reframe). Forward AppendFraming's instead.
	Reframe bool

	framed bool // the head has Content-Length or Transfer-Encoding fields
	tunnel bool // OpensTunnel was called

	hdrs [MaxHeaders]Header
}

// ParseResponse parses the response head at the start of b. It returns
// the head's length including the final CRLF CRLF, ErrNeedMore when b
// holds only a valid prefix of a head, or *Error. r is reset first; its
// slices alias b.
func ParseResponse(b []byte, r *Response) (int, error) {
	stale := min(len(r.Headers), MaxHeaders)
	r.Minor, r.Status, r.Reason = 0, 0, nil
	r.Headers = r.hdrs[:0]
	r.ContentLength = -1
	r.Chunked, r.Close, r.KeepAlive, r.Reframe, r.framed, r.tunnel = false, false, false, false, false, false
	n, err := r.parse(b)
	if k := len(r.Headers); k < stale {
		clear(r.hdrs[k:stale])
	}
	return n, err
}

func (r *Response) parse(b []byte) (int, error) {
	minor, off, err := parseVersion(b, 0, msgStatusLine)
	if err != nil {
		return 0, err
	}
	r.Minor = minor
	if off >= len(b) {
		return 0, ErrNeedMore
	}
	if b[off] != ' ' {
		return 0, errAt(off, msgStatusLine)
	}
	off++
	status := 0
	for i := range 3 {
		if off >= len(b) {
			return 0, ErrNeedMore
		}
		c := b[off]
		if c < '0' || c > '9' || i == 0 && (c < '1' || c > '5') {
			return 0, errAt(off, msgStatusLine)
		}
		status = status*10 + int(c-'0')
		off++
	}
	r.Status = status
	if off >= len(b) {
		return 0, ErrNeedMore
	}
	// The reason phrase is optional, and so, in practice, is the space
	// before it ("HTTP/1.1 200\r\n").
	if b[off] == ' ' {
		off++
		start := off
		for off < len(b) && vchar[b[off]] {
			off++
		}
		r.Reason = b[start:off]
	}
	if off, err = endLine(b, off, msgStatusLine); err != nil {
		return 0, err
	}

	n, off, err := parseFields(b, off, &r.hdrs)
	r.Headers = r.hdrs[:n]
	if err != nil {
		return 0, err
	}
	if err := r.interpret(b); err != nil {
		return 0, err
	}
	return off, nil
}

// interpret sets the fields derived from the header fields.
func (r *Response) interpret(b []byte) error {
	f := framing{cl: -1}
	for i := range r.Headers {
		h := &r.Headers[i]
		switch len(h.Name) {
		case len(hdrConnection):
			if equalFold(h.Name, hdrConnection) {
				f.connection(h.Value)
			}
		case len(hdrContentLength):
			// Checked even when Transfer-Encoding overrides it: a bad value
			// is a sign of a confused or hostile server.
			if equalFold(h.Name, hdrContentLength) {
				if err := f.contentLength(b, h.Value); err != nil {
					return err
				}
				f.reframe = f.reframe || !plainField(b, h)
			}
		case len(hdrTransferEncoding):
			if equalFold(h.Name, hdrTransferEncoding) {
				f.te = true
				f.teFields++
				if err := f.transferCodings(b, h.Value); err != nil {
					return err
				}
				f.reframe = f.reframe || f.teFields > 1 || !plainField(b, h)
			}
		}
	}
	r.ContentLength = f.cl
	r.Close = f.close
	r.KeepAlive = f.keep
	r.Reframe = f.reframe
	r.framed = f.te || f.cl >= 0
	noBody := r.Status < 200 || r.Status == 204 || r.Status == 304
	if noBody && (f.te || f.cl >= 0) {
		// No body, whatever the fields say: they are dropped, so that no
		// agent behind fjord is tempted to read one.
		r.Reframe = true
	}
	if f.te {
		if f.cl >= 0 && !noBody {
			// A length beside codings that leave it unknown (a body to
			// the close, or a coding nobody can undo) is a confused or
			// hostile server: refused, as HAProxy does. Beside a final
			// chunked it is dropped (RFC 9112 §6.3).
			if !f.teLast || f.teOther {
				return errAt(f.clAt, msgTECLResponse)
			}
			r.Reframe = true
		}
		// RFC 9112 §6.3: Transfer-Encoding overrides Content-Length, and
		// a body whose final coding is not chunked runs to the close.
		r.ContentLength = -1
		r.Chunked = f.teLast
		if r.Minor == 0 {
			r.Close = true
		}
	}
	return nil
}

// transferCodings notes whether the last coding of a response's
// Transfer-Encoding value is chunked, and whether every coding is a known
// one written in canonical form (lower case, ", " between codings).
// Empty list elements are skipped, as RFC 9110 §5.6.1 asks of recipients.
// A coding that is not a bare token (parameters: "chunked;x=y") or chunked
// applied twice is refused: agents differ on whether such a body is
// chunked, which is what framing must never leave open.
func (f *framing) transferCodings(b, v []byte) error {
	plain := true
	base := offsetIn(b, v)
	for i := 0; i <= len(v); {
		e, start, next := nextElem(v, i)
		if len(e) > 0 {
			for j, c := range e {
				if !tchar[c] {
					return errAt(base+start+j, msgTEResponse)
				}
			}
			f.teLast = equalFold(e, "chunked")
			if f.teLast {
				f.teChunked++
				if f.teChunked > 1 {
					return errAt(base+start, msgTEResponse)
				}
			}
			f.teOther = f.teOther || !knownCoding(e)
			plain = plain && isLower(e) && (start == 0 || start >= 2 && v[start-2] == ',' && v[start-1] == ' ')
		} else {
			plain = false
		}
		i = next
	}
	f.reframe = f.reframe || !plain
	return nil
}

// knownCoding reports whether e names a transfer coding of the IANA
// registry (RFC 9112 §7), ignoring case.
func knownCoding(e []byte) bool {
	for _, c := range [...]string{"chunked", "gzip", "deflate", "compress", "x-gzip", "x-compress"} {
		if equalFold(e, c) {
			return true
		}
	}
	return false
}

func isLower(b []byte) bool {
	for _, c := range b {
		if 'A' <= c && c <= 'Z' {
			return false
		}
	}
	return true
}

// OpensTunnel marks a response that turns the connection into a tunnel (a
// 2xx to CONNECT): it carries no body, and RFC 9110 §9.3.6 forbids
// framing fields in it, so any it has are dropped (Reframe).
func (r *Response) OpensTunnel() {
	r.tunnel = true
	r.Reframe = r.Reframe || r.framed
}

// AppendFraming appends the framing fields fjord forwards for the
// response: its Transfer-Encoding codings in lower case, or its
// Content-Length, or nothing for a status without a body.
func (r *Response) AppendFraming(dst []byte) []byte {
	if r.Status < 200 || r.Status == 204 || r.Status == 304 || r.tunnel {
		return dst
	}
	first := true
	for i := range r.Headers {
		h := &r.Headers[i]
		if !equalFold(h.Name, hdrTransferEncoding) {
			continue
		}
		for j := 0; j <= len(h.Value); {
			e, _, next := nextElem(h.Value, j)
			j = next
			if len(e) == 0 {
				continue
			}
			if first {
				dst = append(dst, "transfer-encoding: "...)
				first = false
			} else {
				dst = append(dst, ", "...)
			}
			for _, c := range e {
				dst = append(dst, lower[c])
			}
		}
	}
	if !first {
		return append(dst, "\r\n"...)
	}
	if r.ContentLength >= 0 {
		dst = append(dst, "content-length: "...)
		dst = strconv.AppendInt(dst, r.ContentLength, 10)
		dst = append(dst, "\r\n"...)
	}
	return dst
}

// Header returns the first value of the field called name, compared
// without regard to ASCII case, and whether there is one.
func (r *Response) Header(name string) ([]byte, bool) {
	return lookup(r.Headers, name)
}

// Body says how the response's body is delimited; head reports whether it
// answers a HEAD request. The answer to a CONNECT, which turns the
// connection into a tunnel on 2xx, is left to the caller.
func (r *Response) Body(head bool) BodyKind {
	switch {
	case head, r.Status < 200, r.Status == 204, r.Status == 304:
		return BodyNone
	case r.Chunked:
		return BodyChunked
	case r.ContentLength >= 0:
		return BodyLength
	}
	return BodyClose
}
