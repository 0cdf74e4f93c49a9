// Package h1 parses HTTP/1.x message heads and chunked-body framing in
// place, without allocating: every parsed field is a sub-slice of the
// caller's buffer, and the header array lives inside the Request or
// Response the caller owns, so a request that parses cleanly costs no
// garbage. Only a malformed message allocates, to build its *Error.
//
// The parsers are strict where leniency lets two implementations frame the
// same bytes differently (request smuggling): lines must end in CRLF,
// obs-fold, control bytes, whitespace before a header colon, ambiguous
// Content-Length values and any request Transfer-Encoding other than a
// single "chunked" are all rejected, in the manner of HAProxy.
//
// Syntax is checked byte by byte as it arrives, so a head with a malformed
// byte fails at once even before its end is buffered. The meaning of a
// field (Content-Length, Transfer-Encoding, Host, ...) is checked once the
// whole head is there; until then such a head reports ErrNeedMore.
package h1

import (
	"encoding/binary"
	"errors"
	"strconv"
)

// ErrNeedMore reports that the input holds only a valid prefix of what is
// being parsed; the caller should read more bytes and parse again from the
// start. The chunk functions return it too.
var ErrNeedMore = errors.New("h1: incomplete message head")

// Error is a malformed message. Off is the byte offset in the input of the
// offending byte.
type Error struct {
	Off int
	Msg string
}

func (e *Error) Error() string {
	return "h1: " + e.Msg + " at byte " + strconv.Itoa(e.Off)
}

// errAt returns the error for the malformed byte at off. It is the only
// allocation in the package, and is taken only on the way to closing a
// connection.
func errAt(off int, msg string) error {
	return &Error{Off: off, Msg: msg}
}

// MaxHeaders is the most header fields a head may carry; it is HAProxy's
// tune.http.maxhdr default. It also bounds a trailer section.
const MaxHeaders = 101

// Header is one header field. Value has its surrounding optional
// whitespace trimmed. Both alias the parsed input.
type Header struct{ Name, Value []byte }

// BodyKind says how a message's body is delimited.
type BodyKind int

const (
	BodyNone    BodyKind = iota // 1xx, 204, 304, the answer to HEAD, or a request without a body
	BodyLength                  // ContentLength bytes (ContentLength may be 0)
	BodyChunked                 // chunked transfer coding
	BodyClose                   // until the server closes the connection
)

// Error messages, shared so that tests and callers see one spelling.
const (
	msgBareLF          = "bare LF in header"
	msgBareLFStart     = "bare LF in start line"
	msgBareCR          = "CR not followed by LF"
	msgNUL             = "NUL byte in header value"
	msgCTL             = "control byte in header value"
	msgObsFold         = "obs-fold header continuation"
	msgName            = "invalid header name"
	msgTooMany         = "too many headers"
	msgCLTE            = "Content-Length and Transfer-Encoding together"
	msgCLConflict      = "conflicting Content-Length values"
	msgCLInvalid       = "invalid Content-Length"
	msgTE              = "unsupported Transfer-Encoding"
	msgTE10            = "Transfer-Encoding in HTTP/1.0 request"
	msgHost            = "duplicate Host header"
	msgRequestLine     = "invalid request line"
	msgStatusLine      = "invalid status line"
	msgVersion         = "unsupported HTTP version"
	msgChunkSize       = "invalid chunk size"
	msgChunkExt        = "invalid chunk extension"
	msgChunkLineLen    = "chunk size line too long"
	msgChunkBareLF     = "bare LF in chunk size line"
	msgFragment        = "fragment ('#') in request target"
	msgConnect         = "CONNECT target is not host:port"
	msgHostInvalid     = "invalid Host header (not host[:port])"
	msgTargetForm      = "request target is neither a path, '*' nor scheme://authority"
	msgTargetAuthority = "invalid authority in request target (not host[:port])"
	msgAuthority       = "Host header differs from the request target's authority"
	msgNoHost          = "absolute-form request target without a Host header"
	msgTECLResponse    = "Content-Length with a Transfer-Encoding that does not end in chunked"
	msgTEResponse      = "invalid Transfer-Encoding (chunked twice, or a coding with parameters)"
)

// Byte classes, as tables because a lookup beats a chain of comparisons in
// the loops that see every byte of a head.
var (
	// tchar holds RFC 9110 token characters (method, header name, coding).
	tchar [256]bool
	// vchar holds what may appear in a header value or reason phrase:
	// HTAB, SP, VCHAR and obs-text. Every other control byte is refused.
	vchar [256]bool
	// tgtchar holds what may appear in a request-target: VCHAR only, since
	// bytes beyond ASCII are not valid in a URI and are a smuggling vector
	// through agents that decode them differently.
	tgtchar [256]bool
	// lower maps ASCII upper-case letters to lower case, others to
	// themselves.
	lower [256]byte
	// unhex maps hex digits to their value and every other byte to 0xff.
	unhex [256]byte
)

func init() {
	for c := range 256 {
		b := byte(c)
		isAlnum := '0' <= b && b <= '9' || 'a' <= b && b <= 'z' || 'A' <= b && b <= 'Z'
		tchar[c] = isAlnum || b != 0 && indexByte("!#$%&'*+-.^_`|~", b)
		vchar[c] = b == '\t' || b >= 0x20 && b != 0x7f
		tgtchar[c] = b > 0x20 && b < 0x7f
		lower[c] = b
		if 'A' <= b && b <= 'Z' {
			lower[c] = b + 'a' - 'A'
		}
		unhex[c] = 0xff
		switch {
		case '0' <= b && b <= '9':
			unhex[c] = b - '0'
		case 'a' <= b && b <= 'f':
			unhex[c] = b - 'a' + 10
		case 'A' <= b && b <= 'F':
			unhex[c] = b - 'A' + 10
		}
	}
}

func indexByte(s string, c byte) bool {
	for i := range len(s) {
		if s[i] == c {
			return true
		}
	}
	return false
}

func isOWS(c byte) bool { return c == ' ' || c == '\t' }

// equalFold reports whether b equals s under ASCII case folding. Both
// sides are folded so that callers passing mixed-case names still match.
func equalFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range len(s) {
		if lower[b[i]] != lower[s[i]] {
			return false
		}
	}
	return true
}

// equalFoldBytes is equalFold for two byte slices.
func equalFoldBytes(a, b []byte) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if lower[a[i]] != lower[b[i]] {
			return false
		}
	}
	return true
}

// IsFraming reports whether a field name is Content-Length or
// Transfer-Encoding, the fields AppendFraming stands for.
func IsFraming(name []byte) bool {
	return equalFold(name, hdrContentLength) || equalFold(name, hdrTransferEncoding)
}

// lookup returns the first value of the field called name.
func lookup(hs []Header, name string) ([]byte, bool) {
	for i := range hs {
		if equalFold(hs[i].Name, name) {
			return hs[i].Value, true
		}
	}
	return nil, false
}

// offsetIn returns where sub, a sub-slice of b, starts in b. Fields record
// no offsets of their own; this recovers them for error reports from the
// capacity that slicing leaves behind.
func offsetIn(b, sub []byte) int {
	return cap(b) - cap(sub)
}

// SWAR constants: one in each byte, and each byte's high bit.
const (
	ones  = 0x0101010101010101
	highs = 0x8080808080808080
)

// skipValue returns the offset of the first byte at or after off that may
// not appear in a field value. Values are most of a head's bytes, so they
// are scanned eight at a time while no byte is a control (below 0x20, which
// includes HTAB, CR and LF, or DEL); the last bytes, and any word holding
// a control, go through the table.
func skipValue(b []byte, off int) int {
	for off+8 <= len(b) {
		x := binary.LittleEndian.Uint64(b[off:])
		// A byte below 0x20 borrows when 0x20 is taken away; x^0x7f..
		// zeroes DEL bytes, which then borrow when 1 is taken away. The
		// ^x and ^y masks keep bytes of 0x80 and above from counting.
		y := x ^ 0x7f*ones
		if (x-0x20*ones)&^x&highs|(y-ones)&^y&highs != 0 {
			break
		}
		off += 8
	}
	for off < len(b) && vchar[b[off]] {
		off++
	}
	return off
}

// skipTarget is skipValue for a request-target, where only VCHAR is
// allowed: no space and nothing of 0x7f or above.
func skipTarget(b []byte, off int) int {
	for off+8 <= len(b) {
		x := binary.LittleEndian.Uint64(b[off:])
		// Below 0x21 borrows as in skipValue; 0x7f and above have the high
		// bit set either before or after adding 1 (a carry out of 0xff
		// only happens in a byte that is flagged already).
		if (x-0x21*ones)&^x&highs|(x|(x+ones))&highs != 0 {
			break
		}
		off += 8
	}
	for off < len(b) && tgtchar[b[off]] {
		off++
	}
	return off
}

// parseFields parses the header fields starting at b[off:] up to and
// including the empty line that ends them, storing each in hdrs unless
// hdrs is nil. It returns how many fields there were (as far as it got,
// on error) and the offset after the empty line. The whole section is one
// loop, not a call per field, because a call's returns cost as much as
// scanning a short field.
func parseFields(b []byte, off int, hdrs *[MaxHeaders]Header) (n, next int, err error) {
	for {
		if off >= len(b) {
			return n, 0, ErrNeedMore
		}
		switch b[off] {
		case '\r':
			if off+1 >= len(b) {
				return n, 0, ErrNeedMore
			}
			if b[off+1] != '\n' {
				return n, 0, errAt(off, msgBareCR)
			}
			return n, off + 2, nil
		case '\n':
			return n, 0, errAt(off, msgBareLF)
		case ' ', '\t':
			// A line folded onto the previous one: RFC 9112 §5.2 lets a
			// proxy reject it, and joining it where the next hop does not
			// is how a field gets hidden from one of them.
			return n, 0, errAt(off, msgObsFold)
		}
		if n == MaxHeaders {
			return n, 0, errAt(off, msgTooMany)
		}
		start := off
		for off < len(b) && tchar[b[off]] {
			off++
		}
		if off >= len(b) {
			return n, 0, ErrNeedMore
		}
		if b[off] != ':' || off == start {
			// Includes "Name : v", which RFC 9112 §5.1 requires be
			// rejected.
			return n, 0, errAt(off, msgName)
		}
		nameEnd := off
		off++
		for off < len(b) && isOWS(b[off]) {
			off++
		}
		vs := off
		off = skipValue(b, off)
		if off+1 >= len(b) {
			if off < len(b) && b[off] != '\r' {
				return n, 0, valueError(b, off)
			}
			return n, 0, ErrNeedMore
		}
		if b[off] != '\r' {
			return n, 0, valueError(b, off)
		}
		if b[off+1] != '\n' {
			return n, 0, errAt(off, msgBareCR)
		}
		if hdrs != nil {
			ve := off
			for ve > vs && isOWS(b[ve-1]) {
				ve--
			}
			hdrs[n] = Header{Name: b[start:nameEnd], Value: b[vs:ve]}
		}
		n++
		off += 2
	}
}

// valueError reports the byte at b[off], which ended a field value
// without being a CR.
func valueError(b []byte, off int) error {
	switch b[off] {
	case '\n':
		return errAt(off, msgBareLF)
	case 0:
		return errAt(off, msgNUL)
	}
	return errAt(off, msgCTL)
}

// parseVersion parses "HTTP/1.0" or "HTTP/1.1" at b[off:] and returns the
// minor version and the offset after it. bad is the message for a line
// that is not HTTP at all.
func parseVersion(b []byte, off int, bad string) (minor, next int, err error) {
	const prefix = "HTTP/"
	for i := range len(prefix) {
		if off+i >= len(b) {
			return 0, 0, ErrNeedMore
		}
		if b[off+i] != prefix[i] {
			return 0, 0, errAt(off+i, bad)
		}
	}
	off += len(prefix)
	if off >= len(b) {
		return 0, 0, ErrNeedMore
	}
	switch c := b[off]; {
	case c < '0' || c > '9':
		return 0, 0, errAt(off, bad)
	case c != '1':
		return 0, 0, errAt(off, msgVersion)
	}
	off++
	if off >= len(b) {
		return 0, 0, ErrNeedMore
	}
	if b[off] != '.' {
		return 0, 0, errAt(off, bad)
	}
	off++
	if off >= len(b) {
		return 0, 0, ErrNeedMore
	}
	switch c := b[off]; {
	case c < '0' || c > '9':
		return 0, 0, errAt(off, bad)
	case c > '1':
		return 0, 0, errAt(off, msgVersion)
	}
	return int(b[off] - '0'), off + 1, nil
}

// endLine checks for the CRLF ending a start line at b[off:] and returns
// the offset after it.
func endLine(b []byte, off int, bad string) (int, error) {
	if off >= len(b) {
		return 0, ErrNeedMore
	}
	switch b[off] {
	case '\r':
	case '\n':
		return 0, errAt(off, msgBareLFStart)
	default:
		return 0, errAt(off, bad)
	}
	if off+1 >= len(b) {
		return 0, ErrNeedMore
	}
	if b[off+1] != '\n' {
		return 0, errAt(off, msgBareCR)
	}
	return off + 2, nil
}

// nextElem returns the list element of v starting at i, trimmed of OWS,
// where it starts in v, and the index after its comma (len(v)+1 after the
// last element). Empty elements are returned as they are; the callers
// decide whether they are acceptable.
func nextElem(v []byte, i int) (elem []byte, start, next int) {
	for i < len(v) && isOWS(v[i]) {
		i++
	}
	start = i
	for i < len(v) && v[i] != ',' {
		i++
	}
	end := i
	for end > start && isOWS(v[end-1]) {
		end--
	}
	return v[start:end], start, i + 1
}

// framing is the state the framing headers leave behind, shared by
// requests and responses while their fields are read.
type framing struct {
	cl        int64 // -1 until a Content-Length field is seen
	te        bool  // a Transfer-Encoding field is present
	teCount   int   // codings seen across every Transfer-Encoding field
	teLast    bool  // the last non-empty coding was "chunked"
	teOther   bool  // a coding not in the registry (RFC 9112 §7) was seen
	teChunked int   // "chunked" codings seen
	close     bool
	keep      bool
	upgrade   bool // Connection has the "upgrade" token
	reframe   bool // the framing fields are not in their canonical form
	clFields  int  // Content-Length fields seen
	clAt      int  // where the first one starts
	teFields  int  // Transfer-Encoding fields seen
}

// plainField reports whether a field is written "Name: value" with exactly
// one space after the colon and nothing after the value: the form fjord
// forwards framing fields in. Any other spelling is rewritten, so that an
// agent behind fjord that reads whitespace differently cannot frame the
// message differently.
func plainField(b []byte, h *Header) bool {
	colon := offsetIn(b, h.Name) + len(h.Name)
	v := offsetIn(b, h.Value)
	return v == colon+2 && b[colon+1] == ' ' && v+len(h.Value) < len(b) && b[v+len(h.Value)] == '\r'
}

// contentLength folds a Content-Length value into f. The value may be a
// list (RFC 9110 §8.6), as may repeated fields, but every element must be
// the same plain decimal number: anything a different parser could read
// as another length is refused.
func (f *framing) contentLength(b, v []byte) error {
	base := offsetIn(b, v)
	f.clFields++
	if f.clFields == 1 {
		f.clAt = base
	}
	// One plain decimal without leading zeros is forwarded as it is;
	// repeated fields, lists and "005" are forwarded as one number.
	if f.clFields > 1 || len(v) > 1 && v[0] == '0' {
		f.reframe = true
	}
	for i := 0; ; {
		for i < len(v) && isOWS(v[i]) {
			i++
		}
		start := i
		var n int64
		for i < len(v) && '0' <= v[i] && v[i] <= '9' {
			if i-start == 18 { // 18 digits cannot overflow an int64
				return errAt(base+i, msgCLInvalid)
			}
			n = n*10 + int64(v[i]-'0')
			i++
		}
		if i == start {
			return errAt(base+i, msgCLInvalid)
		}
		for i < len(v) && isOWS(v[i]) {
			i++
		}
		if i < len(v) && v[i] != ',' {
			return errAt(base+i, msgCLInvalid)
		}
		if f.cl >= 0 && n != f.cl {
			return errAt(base+start, msgCLConflict)
		}
		f.cl = n
		if i == len(v) {
			return nil
		}
		f.reframe = true // a list
		i++
	}
}

// connection folds a Connection value's tokens into f.
func (f *framing) connection(v []byte) {
	for i := 0; i <= len(v); {
		e, _, next := nextElem(v, i)
		switch len(e) {
		case 5:
			f.close = f.close || equalFold(e, "close")
		case 7:
			f.upgrade = f.upgrade || equalFold(e, "upgrade")
		case 10:
			f.keep = f.keep || equalFold(e, "keep-alive")
		}
		i = next
	}
}

// Field names the parsers act on, by length, so that most fields are
// passed over after one comparison.
const (
	hdrHost             = "host"
	hdrExpect           = "expect"
	hdrUpgrade          = "upgrade"
	hdrConnection       = "connection"
	hdrContentLength    = "content-length"
	hdrTransferEncoding = "transfer-encoding"
)
