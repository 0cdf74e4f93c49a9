package h1

import (
	"bytes"
	"strconv"
)

// Request is a parsed request head. Its byte slices alias the parsed
// input and are valid only while that input is.
type Request struct {
	Method []byte
	URI    []byte // request-target as sent
	// Path is the path of URI: for origin-form the part before '?'; for
	// absolute-form (http://host/p?q) the "/p" part, or "/" if empty (a
	// shared slice, not part of the input: do not write to it); for
	// authority-form (CONNECT), asterisk-form ("*") and anything else, URI
	// itself.
	//
	// An absolute-form target is accepted only when its authority equals
	// the Host field (ignoring case), and CONNECT only with an
	// authority-form target, so that what routes the request (Host) and
	// what a server behind fjord acts on (the target's authority, RFC 9112
	// §3.2.2) are always the same.
	Path  []byte
	Minor int // HTTP/1.<Minor>: 0 or 1
	// Headers are the fields in order, a slice of an array inside the
	// Request, so they are overwritten by the next parse.
	Headers       []Header
	ContentLength int64  // -1 when absent
	Chunked       bool   // Transfer-Encoding: chunked
	Close         bool   // Connection has the "close" token
	KeepAlive     bool   // Connection has the "keep-alive" token
	Upgrade       bool   // Connection has the "upgrade" token and an Upgrade field is present
	Expect100     bool   // Expect: 100-continue
	Host          []byte // first Host field value, or nil
	// Reframe is set when Content-Length or Transfer-Encoding is not in
	// canonical form ("Content-Length: 5" once, "Transfer-Encoding:
	// chunked"): repeated, a list, leading zeros, other case or other
	// white space. Such a head must be forwarded with the framing fjord
	// parsed (AppendFraming), never verbatim.
	Reframe bool

	hdrs [MaxHeaders]Header
}

// slash is the Path of an absolute-form target with an empty path.
// Callers must not modify it.
var slash = []byte("/")[:1:1]

// ParseRequest parses the request head at the start of b. It returns the
// head's length including the final CRLF CRLF (and any empty lines before
// the request line), ErrNeedMore when b holds only a valid prefix of a
// head, or *Error. r is reset first; its slices alias b.
func ParseRequest(b []byte, r *Request) (int, error) {
	stale := min(len(r.Headers), MaxHeaders)
	// Field by field: assigning a whole Request would copy or zero the
	// 4.8 KB header array, which costs more than parsing a typical head.
	r.Method, r.URI, r.Path, r.Host = nil, nil, nil, nil
	r.Minor = 0
	r.Headers = r.hdrs[:0]
	r.ContentLength = -1
	r.Chunked, r.Close, r.KeepAlive, r.Upgrade, r.Expect100, r.Reframe = false, false, false, false, false, false
	n, err := r.parse(b)
	// Drop references into earlier inputs beyond the fields just parsed,
	// so an old buffer is not kept alive through the array.
	if k := len(r.Headers); k < stale {
		clear(r.hdrs[k:stale])
	}
	return n, err
}

func (r *Request) parse(b []byte) (int, error) {
	off := 0
	// RFC 9112 §2.2: empty lines before the request line are ignored, a
	// leftover of clients that end a POST body with an extra CRLF. A
	// bare LF counts as one, as in HAProxy (and 'echo | openssl
	// s_client' sends one); a CR must still come with its LF.
	for off < len(b) && (b[off] == '\r' || b[off] == '\n') {
		if b[off] == '\n' {
			off++
			continue
		}
		if off+1 >= len(b) {
			return 0, ErrNeedMore
		}
		if b[off+1] != '\n' {
			return 0, errAt(off, msgBareCR)
		}
		off += 2
	}

	start := off
	for off < len(b) && tchar[b[off]] {
		off++
	}
	if off >= len(b) {
		return 0, ErrNeedMore
	}
	if b[off] != ' ' || off == start {
		if b[off] == '\n' {
			return 0, errAt(off, msgBareLFStart)
		}
		return 0, errAt(off, msgRequestLine)
	}
	r.Method = b[start:off]
	off++

	start = off
	off = skipTarget(b, off)
	if off >= len(b) {
		return 0, ErrNeedMore
	}
	if b[off] != ' ' || off == start {
		return 0, errAt(off, msgRequestLine)
	}
	r.URI = b[start:off]
	// A fragment is never sent (RFC 9112 §3.2); agents that strip it and
	// agents that keep it would see two different targets.
	if i := bytes.IndexByte(r.URI, '#'); i >= 0 {
		return 0, errAt(start+i, msgFragment)
	}
	off++

	minor, off, err := parseVersion(b, off, msgRequestLine)
	if err != nil {
		return 0, err
	}
	r.Minor = minor
	if off, err = endLine(b, off, msgRequestLine); err != nil {
		return 0, err
	}

	// Header fields are parsed in one pass and stored; their meaning is
	// looked at only once the head is whole, so that a head arriving in
	// pieces is not interpreted again for each piece.
	n, off, err := parseFields(b, off, &r.hdrs)
	r.Headers = r.hdrs[:n]
	if err != nil {
		return 0, err
	}
	if err := r.interpret(b); err != nil {
		return 0, err
	}
	if err := r.target(b); err != nil {
		return 0, err
	}
	return off, nil
}

// target checks the request-target's form against the method and the Host
// field, and sets Path. Only origin-form, asterisk-form, absolute-form
// ("scheme://authority...") and, for CONNECT, authority-form are
// accepted: a server behind fjord must never find an authority in a target
// that fjord routed by a different Host. A Host field must be a valid
// host[:port], so that no rule reading it sees something a server would
// read differently.
func (r *Request) target(b []byte) error {
	if r.Host != nil && !validAuthority(r.Host) {
		return errAt(offsetIn(b, r.Host), msgHostInvalid)
	}
	uri := r.URI
	switch {
	case string(r.Method) == "CONNECT":
		if !validAuthority(uri) || len(portOf(uri)) == 0 {
			return errAt(offsetIn(b, uri), msgConnect)
		}
		if r.Host != nil && !sameAuthority(uri, r.Host, "80", "443") {
			return errAt(offsetIn(b, r.Host), msgAuthority)
		}
		r.Path = uri
	case uri[0] == '/':
		r.Path = cutQuery(uri)
	case len(uri) == 1 && uri[0] == '*':
		r.Path = uri
	default:
		scheme, authority, path, ok := splitAbsolute(uri)
		if !ok {
			return errAt(offsetIn(b, uri), msgTargetForm)
		}
		if !validAuthority(authority) {
			return errAt(offsetIn(b, authority), msgTargetAuthority)
		}
		if r.Host == nil {
			return errAt(offsetIn(b, authority), msgNoHost)
		}
		if !sameAuthority(authority, r.Host, defaultPort(scheme)) {
			return errAt(offsetIn(b, r.Host), msgAuthority)
		}
		r.Path = path
	}
	return nil
}

// interpret sets the fields derived from the header fields.
func (r *Request) interpret(b []byte) error {
	f := framing{cl: -1}
	var hasUpgrade bool
	for i := range r.Headers {
		h := &r.Headers[i]
		switch len(h.Name) {
		case len(hdrHost):
			if !equalFold(h.Name, hdrHost) {
				continue
			}
			// Two Host fields let two hops route one request differently.
			if r.Host != nil {
				return errAt(offsetIn(b, h.Name), msgHost)
			}
			r.Host = h.Value
		case len(hdrExpect):
			if equalFold(h.Name, hdrExpect) && equalFold(h.Value, "100-continue") {
				r.Expect100 = true
			}
		case len(hdrUpgrade):
			hasUpgrade = hasUpgrade || equalFold(h.Name, hdrUpgrade)
		case len(hdrConnection):
			if equalFold(h.Name, hdrConnection) {
				f.connection(h.Value)
			}
		case len(hdrContentLength):
			if !equalFold(h.Name, hdrContentLength) {
				continue
			}
			if f.te {
				return errAt(offsetIn(b, h.Name), msgCLTE)
			}
			if err := f.contentLength(b, h.Value); err != nil {
				return err
			}
			f.reframe = f.reframe || !plainField(b, h)
		case len(hdrTransferEncoding):
			if !equalFold(h.Name, hdrTransferEncoding) {
				continue
			}
			if err := r.transferEncoding(b, h, &f); err != nil {
				return err
			}
		}
	}
	r.ContentLength = f.cl
	r.Chunked = f.te
	r.Close = f.close
	r.KeepAlive = f.keep
	r.Upgrade = f.upgrade && hasUpgrade
	r.Reframe = f.reframe
	return nil
}

// AppendFraming appends the framing field fjord forwards for the request:
// "content-length: N" or "transfer-encoding: chunked", or nothing for a
// request without a body.
func (r *Request) AppendFraming(dst []byte) []byte {
	switch {
	case r.Chunked:
		return append(dst, "transfer-encoding: chunked\r\n"...)
	case r.ContentLength >= 0:
		dst = append(dst, "content-length: "...)
		dst = strconv.AppendInt(dst, r.ContentLength, 10)
		return append(dst, "\r\n"...)
	}
	return dst
}

// transferEncoding checks a request's Transfer-Encoding field. A request
// body can only be framed by exactly one "chunked": any other coding
// leaves its length unknowable (RFC 9112 §6.3 has the server answer 400),
// and lists like "chunked, identity" are read differently by different
// agents.
func (r *Request) transferEncoding(b []byte, h *Header, f *framing) error {
	if r.Minor == 0 {
		// HTTP/1.0 has no chunked coding; a 1.0 peer would read the body
		// some other way (RFC 9112 §6.1).
		return errAt(offsetIn(b, h.Name), msgTE10)
	}
	if f.cl >= 0 {
		return errAt(offsetIn(b, h.Name), msgCLTE)
	}
	f.te = true
	base := offsetIn(b, h.Value)
	for i := 0; i <= len(h.Value); {
		e, start, next := nextElem(h.Value, i)
		f.teCount++
		if f.teCount > 1 || !equalFold(e, "chunked") {
			return errAt(base+start, msgTE)
		}
		i = next
	}
	f.reframe = f.reframe || string(h.Value) != "chunked" || !plainField(b, h)
	return nil
}

// splitAbsolute splits an absolute-form target, scheme "://" authority
// [path-abempty] ["?" query], into its scheme, its authority and its path
// ("/" when empty). ok is false for any other form.
func splitAbsolute(uri []byte) (scheme, authority, path []byte, ok bool) {
	// A scheme starts with a letter and continues with letters, digits,
	// '+', '-' or '.'.
	i := 0
	for ; i < len(uri); i++ {
		c := uri[i]
		if 'a' <= lower[c] && lower[c] <= 'z' {
			continue
		}
		if i > 0 && ('0' <= c && c <= '9' || c == '+' || c == '-' || c == '.') {
			continue
		}
		break
	}
	if i == 0 || len(uri)-i < 3 || uri[i] != ':' || uri[i+1] != '/' || uri[i+2] != '/' {
		return nil, nil, nil, false
	}
	scheme = uri[:i]
	start := i + 3
	for j := start; j < len(uri); j++ {
		switch uri[j] {
		case '/':
			return scheme, uri[start:j], cutQuery(uri[j:]), true
		case '?':
			return scheme, uri[start:j], slash, true
		}
	}
	return scheme, uri[start:], slash, true
}

// validAuthority reports whether v is host [":" port] (RFC 3986 §3.2.2 and
// §3.2.3, without userinfo): an IP literal in brackets, or a name or IPv4
// address of unreserved characters, percent-encodings and sub-delims; then
// an optional port of at most five digits. The host may be empty, as a
// Host field may be.
func validAuthority(v []byte) bool {
	host, port := splitPort(v)
	if len(port) > 5 {
		return false
	}
	for _, c := range port {
		if c < '0' || c > '9' {
			return false
		}
	}
	if len(host) > 0 && host[0] == '[' {
		if len(host) < 3 || host[len(host)-1] != ']' {
			return false
		}
		for _, c := range host[1 : len(host)-1] {
			if unhex[c] == 0xff && c != ':' && c != '.' {
				return false
			}
		}
		return true
	}
	for i := 0; i < len(host); i++ {
		c := host[i]
		switch {
		case regName[c]:
		case c == '%' && i+2 < len(host) && unhex[host[i+1]] != 0xff && unhex[host[i+2]] != 0xff:
			i += 2
		default:
			return false
		}
	}
	return true
}

// regName holds what a reg-name may hold besides percent-encodings:
// unreserved characters and sub-delims (RFC 3986 §3.2.2).
var regName = func() (t [256]bool) {
	for c := range 256 {
		b := byte(c)
		t[c] = '0' <= b && b <= '9' || 'a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' || indexByte("-._~!$&'()*+,;=", b)
	}
	return t
}()

// splitPort splits host [":" port] at the colon that starts the port: the
// last one, outside an IP literal's brackets.
func splitPort(v []byte) (host, port []byte) {
	i := bytes.LastIndexByte(v, ':')
	if i < 0 || bytes.IndexByte(v[i:], ']') >= 0 {
		return v, nil
	}
	return v[:i], v[i+1:]
}

// portOf returns the port of host [":" port], or nil.
func portOf(v []byte) []byte {
	_, port := splitPort(v)
	return port
}

// sameAuthority reports whether a target's authority and a Host field name
// the same host and port, ignoring case. A port left out on one side
// stands for any of defaults (the scheme's default port), as RFC 9110
// §4.2 makes "a" and "a:80" the same origin for http.
func sameAuthority(authority, host []byte, defaults ...string) bool {
	ah, ap := splitPort(authority)
	hh, hp := splitPort(host)
	if !equalFoldBytes(ah, hh) {
		return false
	}
	if string(ap) == string(hp) {
		return true
	}
	if len(ap) > 0 && len(hp) > 0 {
		return false
	}
	given := string(ap) + string(hp) // the one port given
	for _, d := range defaults {
		if given == d {
			return true
		}
	}
	return false
}

// defaultPort is the port a scheme implies, "" when fjord knows none.
func defaultPort(scheme []byte) string {
	switch {
	case equalFold(scheme, "http"), equalFold(scheme, "ws"):
		return "80"
	case equalFold(scheme, "https"), equalFold(scheme, "wss"):
		return "443"
	}
	return ""
}

func cutQuery(p []byte) []byte {
	for i, c := range p {
		if c == '?' {
			return p[:i]
		}
	}
	return p
}

// Header returns the first value of the field called name, compared
// without regard to ASCII case, and whether there is one.
func (r *Request) Header(name string) ([]byte, bool) {
	return lookup(r.Headers, name)
}

// IsMethod reports whether the method is exactly m; methods are
// case-sensitive.
func (r *Request) IsMethod(m string) bool {
	return string(r.Method) == m
}

// Body says how the request's body is delimited. A request never has a
// close-delimited body: without Content-Length or chunked it has none.
func (r *Request) Body() BodyKind {
	switch {
	case r.ContentLength >= 0:
		return BodyLength
	case r.Chunked:
		return BodyChunked
	}
	return BodyNone
}
