package h1

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
	r.Chunked, r.Close, r.KeepAlive = false, false, false
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
			}
		case len(hdrTransferEncoding):
			if equalFold(h.Name, hdrTransferEncoding) {
				f.te = true
				f.transferCodings(h.Value)
			}
		}
	}
	r.ContentLength = f.cl
	r.Close = f.close
	r.KeepAlive = f.keep
	if f.te {
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
// Transfer-Encoding value is chunked. Empty list elements are skipped, as
// RFC 9110 §5.6.1 asks of recipients.
func (f *framing) transferCodings(v []byte) {
	for i := 0; i <= len(v); {
		e, _, next := nextElem(v, i)
		if len(e) > 0 {
			f.teLast = equalFold(e, "chunked")
		}
		i = next
	}
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
