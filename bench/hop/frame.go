package hop

import (
	"errors"
	"fmt"
)

// framer finds where HTTP/1.1 messages end in one direction of a
// connection. It is fed the bytes as they pass through the hop and keeps
// none of them: a head that arrives in pieces is scanned piece by piece,
// one byte at a time, and a body is skipped by its length. It knows just
// enough of HTTP/1.1 for that (RFC 9112): the start line, Content-Length,
// Transfer-Encoding: chunked with its size lines and trailers, and which
// responses have no body. Everything else in a head is passed on unread.
type framer struct {
	resp bool // parses responses; else requests
	// noBody says that the response about to be parsed answers a HEAD
	// request: set by the caller before its first byte.
	noBody bool

	st      state
	headLen int // bytes of the current head (or trailer section) so far

	// The start line: which field (method, target, version; or version,
	// status, reason) and how long it is so far.
	field    int
	fieldLen int
	method   [8]byte // the first bytes of a request's method
	version  [8]byte // "HTTP/1.1"
	status   int

	// The header being read: which names it still matches, and the
	// value's state for the two headers that frame a body.
	name      uint8
	nameLen   int
	hdr       uint8 // hdrCL, hdrTE or 0 once the colon is passed
	valueLen  int
	clValue   int64
	clDigits  int
	teToken   [8]byte
	teLen     int
	teTooLong bool

	cl      int64 // Content-Length, -1 when absent
	te      bool  // a Transfer-Encoding header was seen
	chunked bool  // and its last coding is chunked

	// interim says that the response that just ended was a 1xx: the
	// exchange goes on with another response. wasHEAD says that the
	// request whose head just ended is a HEAD. Both outlive reset, until
	// the next head ends.
	interim bool
	wasHEAD bool

	remaining   int64 // body or chunk bytes still to come
	chunkDigits int   // digits of a chunk-size so far
	chunkExt    int   // bytes of a chunk extension so far
}

type state uint8

const (
	stIdle         state = iota // between messages
	stStartLine                 // in the start line
	stStartLF                   // after the start line's CR
	stLineStart                 // at the start of a header line
	stName                      // in a header name
	stValue                     // in a header value
	stValueLF                   // after a header line's CR
	stHeadLF                    // after the empty line's CR
	stBody                      // in a Content-Length body
	stChunkSize                 // in a chunk-size
	stChunkExt                  // in a chunk extension
	stChunkSizeLF               // after a chunk-size line's CR
	stChunkData                 // in a chunk's data
	stChunkCR                   // after a chunk's data: CRLF
	stChunkLF                   // after that CR
	stTrailerStart              // at the start of a trailer line
	stTrailer                   // in a trailer line
	stTrailerLF                 // after a trailer line's CR
	stTrailerEndLF              // after the trailer section's last CR
	stUntilClose                // in a body that the server's close ends
)

// event is what a feed stopped at. A request's framer reports the end
// of each head (the caller learns whether it was a HEAD request); a
// response's reports the end of each message (the caller learns whether
// it was a 1xx). Neither needs the other event.
type event uint8

const (
	evNone event = iota // p was taken whole, the message goes on
	evHead              // a request's head ended (after its empty line)
	evEnd               // a response ended
)

// Limits: a head larger than HAProxy's default buffer would be refused by
// any proxy the hop stands for; the numbers are bounded so that no input
// overflows.
const (
	maxHead        = 64 << 10
	maxChunkExt    = 4 << 10
	maxChunkDigits = 32
	maxBodyValue   = 1 << 62
)

// A framing error ends the connection: the hop forwards only what it
// could frame.
var (
	errHeadTooLarge = errors.New("head larger than 64 KiB")
	errTunnel       = errors.New("tunnels (CONNECT, 101 Switching Protocols) are not carried")
)

// syntaxError names the byte that broke a message.
type syntaxError struct {
	what string
	b    byte
}

func (e *syntaxError) Error() string { return fmt.Sprintf("%s: unexpected byte %q", e.what, e.b) }

func bad(what string, b byte) error { return &syntaxError{what, b} }

// newFramer returns a framer of requests, or of responses with resp.
func newFramer(resp bool) framer { return framer{resp: resp, cl: -1} }

// atStart reports whether the next byte begins a new message.
func (f *framer) atStart() bool { return f.st == stIdle }

// eof says what the end of the stream means here: ended when it ends a
// message whose body runs until the close, clean when no message was cut
// short.
func (f *framer) eof() (ended, clean bool) {
	switch f.st {
	case stIdle:
		return false, true
	case stUntilClose:
		f.reset()
		return true, true
	}
	return false, false
}

// feed takes bytes of p up to the end of the next head or message, and
// returns how many and which of the two it reached (evNone: all of p, in
// the middle of a message).
func (f *framer) feed(p []byte) (int, event, error) {
	for i := 0; i < len(p); {
		switch f.st {
		case stBody, stChunkData, stUntilClose:
			n := f.skip(p[i:])
			i += n
			if f.st == stIdle {
				return i, f.ended(), nil
			}
			continue
		}
		ev, err := f.step(p[i])
		i++
		if err != nil {
			return i, evNone, err
		}
		if ev != evNone {
			return i, ev, nil
		}
	}
	return len(p), evNone, nil
}

// skip takes body bytes without looking at them.
func (f *framer) skip(p []byte) int {
	if f.st == stUntilClose {
		return len(p)
	}
	n := int(min(int64(len(p)), f.remaining))
	f.remaining -= int64(n)
	if f.remaining == 0 {
		if f.st == stBody {
			f.reset()
		} else {
			f.st = stChunkCR
		}
	}
	return n
}

// step takes one byte of a head, a chunk line or a trailer.
func (f *framer) step(b byte) (event, error) {
	if f.inHead() {
		f.headLen++
		if f.headLen > maxHead {
			return evNone, errHeadTooLarge
		}
	}
	switch f.st {
	case stIdle:
		return evNone, f.begin(b)
	case stStartLine:
		return evNone, f.startLine(b)
	case stStartLF:
		if b != '\n' {
			return evNone, bad("start line: CR without LF", b)
		}
		return evNone, f.endStartLine()
	case stLineStart:
		return f.lineStart(b)
	case stName:
		return evNone, f.headerName(b)
	case stValue:
		return evNone, f.headerValue(b)
	case stValueLF:
		if b != '\n' {
			return evNone, bad("header: CR without LF", b)
		}
		return evNone, f.endValue()
	case stHeadLF:
		if b != '\n' {
			return evNone, bad("end of head: CR without LF", b)
		}
		return f.endHead()
	case stChunkSize, stChunkExt, stChunkSizeLF:
		return f.chunkLine(b)
	case stChunkCR, stChunkLF:
		return evNone, f.chunkEnd(b)
	case stTrailerStart, stTrailer, stTrailerLF, stTrailerEndLF:
		return f.trailer(b)
	}
	return evNone, fmt.Errorf("framer in state %d", f.st)
}

// inHead reports whether the byte about to be read counts against
// maxHead: the head and the trailer section.
func (f *framer) inHead() bool {
	return f.st <= stHeadLF || f.st >= stTrailerStart && f.st <= stTrailerEndLF
}

// reset readies the framer for the next message.
func (f *framer) reset() {
	*f = framer{resp: f.resp, cl: -1, interim: f.interim, wasHEAD: f.wasHEAD}
}

// ended is the event of a message's end: evEnd for a response, nothing
// for a request (whose head was its event).
func (f *framer) ended() event {
	if f.resp {
		return evEnd
	}
	return evNone
}

// begin reads the first byte of a message. Empty lines before a request
// are skipped (RFC 9112, section 2.2); a response starts at once.
func (f *framer) begin(b byte) error {
	if !f.resp && (b == '\r' || b == '\n') {
		f.headLen = 0
		return nil
	}
	f.st = stStartLine
	return f.startLine(b)
}

// startLine reads "METHOD SP target SP HTTP/1.x" or "HTTP/1.x SP 3DIGIT
// [SP reason]" up to its CR or LF.
func (f *framer) startLine(b byte) error {
	switch b {
	case '\r':
		f.st = stStartLF
		return nil
	case '\n':
		return f.endStartLine()
	case ' ':
		// A response's reason may hold spaces.
		if f.resp && f.field == 2 {
			return nil
		}
		if f.fieldLen == 0 || f.field == 2 {
			return bad("start line: space", b)
		}
		f.field++
		f.fieldLen = 0
		return nil
	}
	if b < ' ' && b != '\t' || b == 0x7f {
		return bad("start line: control character", b)
	}
	if f.resp {
		return f.statusLine(b)
	}
	return f.requestLine(b)
}

func (f *framer) requestLine(b byte) error {
	switch f.field {
	case 0:
		if !isTchar(b) {
			return bad("method", b)
		}
		if f.fieldLen < len(f.method) {
			f.method[f.fieldLen] = b
		}
	case 1:
		if b == '\t' {
			return bad("request target", b)
		}
	case 2:
		if f.fieldLen >= len(f.version) {
			return bad("version", b)
		}
		f.version[f.fieldLen] = b
	}
	f.fieldLen++
	return nil
}

func (f *framer) statusLine(b byte) error {
	switch f.field {
	case 0:
		if f.fieldLen >= len(f.version) {
			return bad("version", b)
		}
		f.version[f.fieldLen] = b
	case 1:
		if b < '0' || b > '9' || f.fieldLen >= 3 {
			return bad("status", b)
		}
		f.status = f.status*10 + int(b-'0')
	}
	f.fieldLen++
	return nil
}

// endStartLine checks the start line as a whole once its LF is read.
func (f *framer) endStartLine() error {
	if f.resp {
		if f.field == 0 || f.field == 1 && f.fieldLen != 3 || f.status < 100 {
			return bad("status line: no status", '\n')
		}
	} else if f.field != 2 || f.fieldLen == 0 {
		return bad("request line: not METHOD target HTTP/1.x", '\n')
	}
	v := f.version
	if string(v[:7]) != "HTTP/1." || v[7] < '0' || v[7] > '9' {
		return bad("version: not HTTP/1.x", v[7])
	}
	if !f.resp && string(f.method[:]) == "CONNECT\x00" {
		return errTunnel
	}
	f.st = stLineStart
	return nil
}

// The header names that frame a body, as bits of framer.name.
const (
	hdrCL = 1 << iota // Content-Length
	hdrTE             // Transfer-Encoding
)

const (
	nameCL = "content-length"
	nameTE = "transfer-encoding"
)

// lineStart reads the first byte of a header line: the empty line ends
// the head.
func (f *framer) lineStart(b byte) (event, error) {
	switch b {
	case '\r':
		f.st = stHeadLF
		return evNone, nil
	case '\n':
		return f.endHead()
	case ' ', '\t':
		// obs-fold: RFC 9112 lets a recipient reject it, and a proxy
		// that passed it on unframed could be told two stories.
		return evNone, bad("header: obsolete line folding", b)
	}
	f.st = stName
	f.name = hdrCL | hdrTE
	f.nameLen = 0
	return evNone, f.headerName(b)
}

// headerName reads a field name up to its colon, keeping track of whether
// it is one of the two that frame a body (case-insensitively).
func (f *framer) headerName(b byte) error {
	if b == ':' {
		if f.nameLen == 0 {
			return bad("header: empty name", b)
		}
		f.hdr = 0
		switch {
		case f.name&hdrCL != 0 && f.nameLen == len(nameCL):
			f.hdr = hdrCL
			f.clValue, f.clDigits = 0, 0
		case f.name&hdrTE != 0 && f.nameLen == len(nameTE):
			f.hdr = hdrTE
			f.te = true
			f.chunked = false
			f.teLen, f.teTooLong = 0, false
		}
		f.st = stValue
		f.valueLen = 0
		return nil
	}
	if !isTchar(b) {
		// Includes a space before the colon, which RFC 9112 says to
		// reject.
		return bad("header name", b)
	}
	c := lower(b)
	if f.nameLen >= len(nameCL) || nameCL[f.nameLen] != c {
		f.name &^= hdrCL
	}
	if f.nameLen >= len(nameTE) || nameTE[f.nameLen] != c {
		f.name &^= hdrTE
	}
	f.nameLen++
	return nil
}

// headerValue reads a field value up to its line end.
func (f *framer) headerValue(b byte) error {
	switch b {
	case '\r':
		f.st = stValueLF
		return nil
	case '\n':
		return f.endValue()
	}
	if b < ' ' && b != '\t' || b == 0x7f {
		return bad("header value: control character", b)
	}
	switch f.hdr {
	case hdrCL:
		return f.contentLength(b)
	case hdrTE:
		f.transferEncoding(b)
	}
	return nil
}

// contentLength reads 1*DIGIT surrounded by optional white space. A list
// ("5, 5") is refused: no server the hop stands in front of sends one.
func (f *framer) contentLength(b byte) error {
	switch {
	case b == ' ' || b == '\t':
		if f.clDigits > 0 {
			f.valueLen++ // trailing white space: no digit may follow
		}
		return nil
	case b >= '0' && b <= '9':
		if f.valueLen > 0 {
			return bad("Content-Length: space inside the number", b)
		}
		f.clValue = f.clValue*10 + int64(b-'0')
		f.clDigits++
		if f.clValue > maxBodyValue {
			return bad("Content-Length: too large", b)
		}
		return nil
	}
	return bad("Content-Length", b)
}

// transferEncoding keeps the last coding of the list, lower-cased, so
// that the line's end can tell whether it is chunked.
func (f *framer) transferEncoding(b byte) {
	switch b {
	case ',':
		f.teLen, f.teTooLong = 0, false
	case ' ', '\t':
		// white space around the codings; one inside a coding's
		// parameters makes it no "chunked" anyway.
		if f.teLen > 0 {
			f.teTooLong = true
		}
	default:
		if f.teTooLong || f.teLen >= len(f.teToken) {
			f.teTooLong = true
			return
		}
		f.teToken[f.teLen] = lower(b)
		f.teLen++
	}
}

// endValue closes a header line.
func (f *framer) endValue() error {
	switch f.hdr {
	case hdrCL:
		if f.clDigits == 0 {
			return bad("Content-Length: no digits", '\n')
		}
		if f.cl >= 0 && f.cl != f.clValue {
			return bad("Content-Length: two different values", '\n')
		}
		f.cl = f.clValue
	case hdrTE:
		f.chunked = !f.teTooLong && string(f.teToken[:f.teLen]) == "chunked"
	}
	f.hdr = 0
	f.st = stLineStart
	return nil
}

// endHead decides how the body is framed once the head has ended.
func (f *framer) endHead() (event, error) {
	if f.resp {
		return f.endResponseHead()
	}
	head := string(f.method[:]) == "HEAD\x00\x00\x00\x00"
	f.wasHEAD = head
	switch {
	case f.te && f.cl >= 0:
		// Both: the classic request smuggling; RFC 9112 lets a
		// server reject it, and a hop must not pick one.
		return evNone, bad("request with both Transfer-Encoding and Content-Length", '\n')
	case f.te && !f.chunked:
		return evNone, bad("request Transfer-Encoding whose last coding is not chunked", '\n')
	case f.chunked:
		f.st = stChunkSize
	case f.cl > 0:
		f.st, f.remaining = stBody, f.cl
	default:
		f.reset() // no body: the request has ended too
	}
	return evHead, nil
}

// endResponseHead frames a response's body (RFC 9112, section 6.3): none
// for a 1xx, a 204 or 304, or an answer to HEAD; else chunked, or
// Content-Length, or until the server closes.
func (f *framer) endResponseHead() (event, error) {
	f.interim = f.status < 200
	switch {
	case f.status == 101:
		return evNone, errTunnel
	case f.interim, f.noBody, f.status == 204, f.status == 304, f.cl == 0 && !f.te:
		f.reset()
		return evEnd, nil
	case f.chunked:
		f.st = stChunkSize
	case f.te:
		f.st = stUntilClose // a coding other than chunked: until the close
	case f.cl > 0:
		f.st, f.remaining = stBody, f.cl
	default:
		f.st = stUntilClose
	}
	return evNone, nil
}

// chunkLine reads "chunk-size [BWS ; ext] CRLF". The extension is passed
// on unread, bounded.
func (f *framer) chunkLine(b byte) (event, error) {
	switch f.st {
	case stChunkSizeLF:
		if b != '\n' {
			return evNone, bad("chunk size: CR without LF", b)
		}
		return evNone, f.endChunkLine()
	case stChunkExt:
		return evNone, f.chunkExtension(b)
	}
	if d, ok := unhex(b); ok {
		f.chunkDigits++
		if f.chunkDigits > maxChunkDigits || f.remaining > maxBodyValue>>4 {
			return evNone, bad("chunk size: too large", b)
		}
		f.remaining = f.remaining<<4 | int64(d)
		return evNone, nil
	}
	if f.chunkDigits == 0 {
		return evNone, bad("chunk size", b)
	}
	switch b {
	case '\r':
		f.st = stChunkSizeLF
	case '\n':
		return evNone, f.endChunkLine()
	case ';', ' ', '\t':
		f.st = stChunkExt
	default:
		return evNone, bad("chunk size", b)
	}
	return evNone, nil
}

// chunkExtension skips a chunk extension up to its line's end.
func (f *framer) chunkExtension(b byte) error {
	switch {
	case b == '\r':
		f.st = stChunkSizeLF
	case b == '\n':
		return f.endChunkLine()
	case b < ' ' && b != '\t' || b == 0x7f:
		return bad("chunk extension", b)
	default:
		f.chunkExt++
		if f.chunkExt > maxChunkExt {
			return bad("chunk extension: longer than 4 KiB", b)
		}
	}
	return nil
}

// endChunkLine starts the chunk's data, or the trailers after the last
// chunk.
func (f *framer) endChunkLine() error {
	f.chunkDigits, f.chunkExt = 0, 0
	if f.remaining == 0 {
		f.st = stTrailerStart
		f.headLen = 0
		return nil
	}
	f.st = stChunkData
	return nil
}

// chunkEnd reads the CRLF after a chunk's data.
func (f *framer) chunkEnd(b byte) error {
	switch {
	case f.st == stChunkCR && b == '\r':
		f.st = stChunkLF
	case b == '\n':
		f.st = stChunkSize
	default:
		return bad("chunk data: no CRLF after it", b)
	}
	return nil
}

// trailer reads the trailer section up to its empty line; its fields are
// passed on unread.
func (f *framer) trailer(b byte) (event, error) {
	switch f.st {
	case stTrailerStart:
		switch b {
		case '\r':
			f.st = stTrailerEndLF
			return evNone, nil
		case '\n':
			f.reset()
			return f.ended(), nil
		case ' ', '\t':
			return evNone, bad("trailer: obsolete line folding", b)
		}
		f.st = stTrailer
	case stTrailer:
		switch {
		case b == '\r':
			f.st = stTrailerLF
		case b == '\n':
			f.st = stTrailerStart
		case b < ' ' && b != '\t' || b == 0x7f:
			return evNone, bad("trailer: control character", b)
		}
	case stTrailerLF:
		if b != '\n' {
			return evNone, bad("trailer: CR without LF", b)
		}
		f.st = stTrailerStart
	case stTrailerEndLF:
		if b != '\n' {
			return evNone, bad("end of trailers: CR without LF", b)
		}
		f.reset()
		return f.ended(), nil
	}
	return evNone, nil
}

// isTchar: the token characters of RFC 9110, section 5.6.2.
func isTchar(b byte) bool {
	switch {
	case b >= 'a' && b <= 'z', b >= 'A' && b <= 'Z', b >= '0' && b <= '9':
		return true
	}
	switch b {
	case '!', '#', '$', '%', '&', '\'', '*', '+', '-', '.', '^', '_', '`', '|', '~':
		return true
	}
	return false
}

func lower(b byte) byte {
	if b >= 'A' && b <= 'Z' {
		return b + 'a' - 'A'
	}
	return b
}

func unhex(b byte) (byte, bool) {
	switch {
	case b >= '0' && b <= '9':
		return b - '0', true
	case b >= 'a' && b <= 'f':
		return b - 'a' + 10, true
	case b >= 'A' && b <= 'F':
		return b - 'A' + 10, true
	}
	return 0, false
}
