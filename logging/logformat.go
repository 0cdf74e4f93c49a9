package logging

import (
	"net/netip"
	"strconv"
	"time"

	"github.com/fjordlb/fjord/config"
	"github.com/fjordlb/fjord/engine"
)

// Custom log formats: a config.LineFormat rendered for an access record,
// node by node, as HAProxy's sess_build_logline (src/log.c) renders
// them, appending to a buffer the caller keeps: no allocation per line.

// SampleRenderer evaluates the %[expr] nodes of a format: the rule
// language hooks in here. expr is the node's number in its format
// (config.FormatNode.Sample); the value is appended raw, and quoted,
// escaped or encoded as the node's flags say by the format.
type SampleRenderer interface {
	AppendSample(dst []byte, expr int, r *engine.AccessRecord) []byte
}

// Format is a compiled log format, ready to render records.
type Format struct {
	ops     []op
	samples SampleRenderer // nil: a sample renders as an empty value
	// header: the format is a unique-id-format, whose samples' values
	// are encoded for an HTTP header field (HAProxy's LOG_OPT_HTTP).
	header bool
}

// op is a node as the renderer runs it: space says a separator follows
// that always writes its space, so that it needs no turn of its own.
type op struct {
	config.FormatNode
	space bool
}

// NewFormat prepares f for rendering; samples evaluates its %[expr]
// nodes (nil: none can be, and they render empty).
func NewFormat(f *config.LineFormat, samples SampleRenderer) *Format {
	fm := &Format{samples: samples, header: f.Keyword == "unique-id-format"}
	for _, n := range f.Nodes {
		if n.Var == config.FormatSeparator {
			if len(fm.ops) == 0 {
				continue // at the start of a line a separator writes nothing
			}
			// After a node that always counts as written (all but the
			// captures, which may write nothing at all), the separator
			// always writes its space: it joins that node.
			prev := &fm.ops[len(fm.ops)-1]
			if !prev.space && prev.Var != config.FormatSeparator && !maySkip(prev.Var) {
				prev.space = true
				continue
			}
		}
		fm.ops = append(fm.ops, op{FormatNode: n})
	}
	return fm
}

// maySkip reports whether a node may write nothing and leave the line as
// it was, separator due included: the captures without capture lines.
func maySkip(v config.FormatVar) bool {
	return v == config.VarReqHeaders || v == config.VarRspHeaders || v == config.VarReqHeaderList || v == config.VarRspHeaderList
}

// lineEnv is what a line needs beyond its record.
type lineEnv struct {
	anon  *Anonymizer
	host  string // %H
	pid   int    // %pid
	count uint64 // %lc: lines the frontend wrote before this one
	tmp   []byte // scratch for sample values, kept between lines
	// days keep the last second written of each kind of date: lines
	// written one after the other mostly fall in the same second.
	days [2]dayCache // local, GMT
}

// dayCache is "06/Feb/2009:12:14:14" for one second in one zone.
type dayCache struct {
	sec  int64
	loc  *time.Location
	text [20]byte
}

// appendDay writes t's "06/Feb/2009:12:14:14", from the cache when t is
// in the second it holds.
func (c *dayCache) appendDay(dst []byte, t time.Time) []byte {
	if sec, loc := t.Unix(), t.Location(); sec != c.sec || loc != c.loc || c.loc == nil {
		appendDay(c.text[:0], t)
		c.sec, c.loc = sec, loc
	}
	return append(dst, c.text[:]...)
}

// Append renders r with the format.
func (fm *Format) Append(dst []byte, r *engine.AccessRecord, e *lineEnv) []byte {
	lastSpace := true // HAProxy's last_isspace: a separator writes nothing at the start or after one
	ops := fm.ops
	for i := range ops {
		n := &ops[i]
		fl := n.Flags
		switch n.Var {
		case config.FormatSeparator:
			if !lastSpace {
				dst = append(dst, ' ')
				lastSpace = true
			}
			continue
		case config.FormatText:
			dst = append(dst, n.Text...)
		case config.FormatSample:
			e.tmp = e.tmp[:0]
			if fm.samples != nil {
				e.tmp = fm.samples.AppendSample(e.tmp, n.Sample, r)
			}
			if fm.header {
				dst = appendEncoded(dst, e.tmp, &httpEncode, fl)
			} else {
				dst = appendText(dst, e.tmp, fl)
			}

		case config.VarClientIP:
			if !r.Client.IsValid() {
				dst = appendText(dst, "unix", fl) // a Unix socket's client
				break
			}
			dst = appendClientIP(dst, r.Client.Addr(), e.anon, fl)
		case config.VarClientPort:
			if !r.Client.IsValid() {
				dst = strconv.AppendInt(dst, int64(r.Listener), 10)
				break
			}
			dst = appendPort(dst, r.Client.Port(), fl)
		case config.VarFrontendIP:
			switch {
			case r.Local.IsValid():
				dst = appendIP(dst, r.Local.Addr(), fl)
			case !r.Client.IsValid():
				dst = appendText(dst, "unix", fl) // a Unix socket bind
			default:
				dst = appendText(dst, "", fl)
			}
		case config.VarFrontendPort:
			switch {
			case r.Local.IsValid():
				dst = appendPort(dst, r.Local.Port(), fl)
			case !r.Client.IsValid():
				dst = strconv.AppendInt(dst, int64(r.Listener), 10)
			default:
				dst = appendText(dst, "", fl)
			}
		case config.VarBackendIP:
			if r.BackendSrc.IsValid() {
				dst = appendIP(dst, r.BackendSrc.Addr(), fl)
			} else {
				dst = appendText(dst, "", fl)
			}
		case config.VarBackendPort:
			if r.BackendSrc.IsValid() {
				dst = appendPort(dst, r.BackendSrc.Port(), fl)
			} else {
				dst = appendText(dst, "", fl)
			}
		case config.VarServerIP:
			switch {
			case r.ServerAddr.IsValid():
				dst = appendIP(dst, r.ServerAddr.Addr(), fl)
			case r.ServerUnix:
				dst = appendText(dst, "unix", fl)
			default:
				dst = appendText(dst, "", fl)
			}
		case config.VarServerPort:
			switch {
			case r.ServerAddr.IsValid():
				dst = appendPort(dst, r.ServerAddr.Port(), fl)
			case r.ServerUnix:
				dst = append(dst, '0') // HAProxy's port of a Unix address
			default:
				dst = appendText(dst, "", fl)
			}

		case config.VarDate:
			dst = e.appendDate(dst, r.Accept)
		case config.VarReqDate:
			dst = e.appendDate(dst, requestDate(r))
		case config.VarDateGMT:
			dst = e.appendZoned(dst, r.Accept.UTC())
		case config.VarReqDateGMT:
			dst = e.appendZoned(dst, requestDate(r).UTC())
		case config.VarDateLocal:
			dst = e.appendZoned(dst, r.Accept)
		case config.VarReqDateLocal:
			dst = e.appendZoned(dst, requestDate(r))
		case config.VarTimestamp:
			dst = appendNumber(dst, r.Accept.Unix(), 4, fl)
		case config.VarAcceptMS:
			ms := int64(r.Accept.Nanosecond() / 1e6)
			if fl&config.FlagHex != 0 {
				dst = appendHex(dst, uint64(ms), 2)
			} else {
				dst = appendPadded(dst, int(ms), 3)
			}

		case config.VarFrontend:
			dst = appendText(dst, r.Frontend, fl)
		case config.VarFrontendXprt:
			if fl&config.FlagQuote != 0 {
				dst = append(dst, '"')
			}
			dst = append(dst, r.Frontend...)
			if r.TLS {
				dst = append(dst, '~')
			}
			if fl&config.FlagQuote != 0 {
				dst = append(dst, '"')
			}
		case config.VarBackend:
			dst = appendText(dst, r.Backend, fl)
		case config.VarServer:
			dst = appendText(dst, r.Server, fl)
		case config.VarSSLCipher:
			dst = appendText(dst, r.TLSCipher, fl)
		case config.VarSSLVersion:
			dst = appendText(dst, r.TLSVersion, fl)
		case config.VarHostname:
			dst = appendText(dst, e.host, fl)
		case config.VarPID:
			dst = appendNumber(dst, int64(e.pid), 4, fl)
		case config.VarLogCounter:
			dst = appendNumber(dst, int64(e.count), 4, fl)
		case config.VarCounter:
			dst = appendNumber(dst, int64(r.Counter), 4, fl)
		case config.VarUniqueID:
			dst = appendText(dst, r.UniqueIDBytes(), fl)

		case config.VarTh:
			dst = strconv.AppendInt(dst, r.Th, 10)
		case config.VarTi:
			dst = strconv.AppendInt(dst, r.Ti, 10)
		case config.VarTR:
			tr := int64(-1)
			if r.Tq >= 0 {
				tr = r.Tq - max(r.Ti, 0) - max(r.Th, 0)
			}
			dst = strconv.AppendInt(dst, tr, 10)
		case config.VarTq:
			dst = strconv.AppendInt(dst, r.Tq, 10)
		case config.VarTw:
			dst = strconv.AppendInt(dst, r.Tw, 10)
		case config.VarTc:
			dst = strconv.AppendInt(dst, r.Tc, 10)
		case config.VarTr:
			dst = strconv.AppendInt(dst, r.Tr, 10)
		case config.VarTd:
			dst = strconv.AppendInt(dst, r.Td, 10)
		case config.VarTa: // Tt - Th - Ti
			dst = appendPartial(dst, r.Tt-idleTime(r), r.ASAP)
		case config.VarTt:
			dst = appendPartial(dst, r.Tt, r.ASAP)
		case config.VarTu: // Tt - Ti
			dst = appendPartial(dst, r.Tt-max(r.Ti, 0), r.ASAP)
		case config.VarStatus:
			st := int64(r.Status)
			if r.Kind != engine.RecordHTTP && !r.HTTPMode {
				st = 0 // HAProxy's, where there is no HTTP transaction
			}
			dst = strconv.AppendInt(dst, st, 10)
		case config.VarBytes:
			dst = appendPartial(dst, r.Bytes, r.ASAP)
		case config.VarBytesUp:
			dst = strconv.AppendInt(dst, r.BytesUp, 10)
		case config.VarClientCookie, config.VarServerCookie:
			dst = appendText(dst, "", fl) // fjord captures no cookie
		case config.VarTermState:
			dst = append(dst, r.Term[0], r.Term[1])
		case config.VarTermStateCk:
			// No cookie persistence: its two characters are "--".
			dst = append(dst, r.Term[0], r.Term[1], '-', '-')
		case config.VarActConn:
			dst = strconv.AppendInt(dst, r.ActConn, 10)
		case config.VarFeConn:
			dst = strconv.AppendInt(dst, r.FeConn, 10)
		case config.VarBeConn:
			dst = strconv.AppendInt(dst, r.BeConn, 10)
		case config.VarSrvConn:
			dst = strconv.AppendInt(dst, r.SrvConn, 10)
		case config.VarRetries:
			if r.Redispatched {
				dst = append(dst, '+')
			}
			dst = strconv.AppendInt(dst, int64(r.Retries), 10)
		case config.VarSrvQueue:
			dst = strconv.AppendInt(dst, r.SrvQueue, 10)
		case config.VarBeQueue:
			dst = strconv.AppendInt(dst, r.BeQueue, 10)

		case config.VarReqHeaders, config.VarRspHeaders:
			c := &r.Caps
			from, cnt := 0, int(c.NReq)
			if n.Var == config.VarRspHeaders {
				from, cnt = int(c.NReq), int(c.NRsp)
			}
			if cnt == 0 {
				continue // no captures: nothing, not even a separator's due
			}
			if fl&config.FlagQuote != 0 {
				dst = append(dst, '"')
			}
			dst = append(dst, '{')
			for i := from; i < from+cnt; i++ {
				if i > from {
					dst = append(dst, '|')
				}
				if v, ok := c.Slot(i); ok {
					dst = appendEncoded(dst, v, &hdrEncode, fl)
				}
			}
			dst = append(dst, '}')
			if fl&config.FlagQuote != 0 {
				dst = append(dst, '"')
			}
		case config.VarReqHeaderList, config.VarRspHeaderList:
			c := &r.Caps
			from, cnt := 0, int(c.NReq)
			if n.Var == config.VarRspHeaderList {
				from, cnt = int(c.NReq), int(c.NRsp)
			}
			if cnt == 0 {
				continue
			}
			for i := from; i < from+cnt; i++ {
				if i > from {
					dst = append(dst, ' ')
				}
				if fl&config.FlagQuote != 0 {
					dst = append(dst, '"')
				}
				if v, ok := c.Slot(i); ok {
					dst = appendEncoded(dst, v, &hdrEncode, fl)
				} else if fl&config.FlagQuote == 0 {
					dst = append(dst, '-')
				}
				if fl&config.FlagQuote != 0 {
					dst = append(dst, '"')
				}
			}

		case config.VarRequest:
			if fl&config.FlagQuote != 0 {
				dst = append(dst, '"')
			}
			if r.RequestLen == 0 {
				dst = append(dst, badReq...)
			} else {
				dst = appendEncoded(dst, r.RequestLine(), &urlEncode, fl)
			}
			if fl&config.FlagQuote != 0 {
				dst = append(dst, '"')
			}
		case config.VarMethod, config.VarURI, config.VarPath, config.VarPathOnly, config.VarQuery, config.VarVersion:
			if fl&config.FlagQuote != 0 {
				dst = append(dst, '"')
			}
			dst = appendRequestPart(dst, r, n.Var, fl)
			if fl&config.FlagQuote != 0 {
				dst = append(dst, '"')
			}
		}
		lastSpace = n.space
		if n.space {
			dst = append(dst, ' ')
		}
	}
	return dst
}

const badReq = "<BADREQ>"

// idleTime is what %Ta and %tr leave out: the handshakes and the idle
// time before the request, when there was one.
func idleTime(r *engine.AccessRecord) int64 {
	if r.Ti < 0 {
		return 0
	}
	return r.Ti + max(r.Th, 0)
}

// requestDate is when the request's first byte came (%tr): the accept
// date after the handshakes and the idle time.
func requestDate(r *engine.AccessRecord) time.Time {
	return r.Accept.Add(time.Duration(idleTime(r)) * time.Millisecond)
}

// appendPartial writes a number that "option logasap" may cut short,
// with HAProxy's '+' then.
func appendPartial(dst []byte, v int64, partial bool) []byte {
	if partial {
		dst = append(dst, '+')
	}
	return strconv.AppendInt(dst, v, 10)
}

// appendNumber writes v in decimal, or with +X in upper-case hexadecimal
// of at least digits digits (HAProxy's "%04X").
func appendNumber(dst []byte, v int64, digits int, fl config.FormatFlags) []byte {
	if fl&config.FlagHex != 0 {
		return appendHex(dst, uint64(uint32(v)), digits)
	}
	return strconv.AppendInt(dst, v, 10)
}

const hexDigits = "0123456789ABCDEF"

func appendHex(dst []byte, v uint64, digits int) []byte {
	var b [16]byte
	i := len(b)
	for v > 0 || len(b)-i < digits {
		i--
		b[i] = hexDigits[v&15]
		v >>= 4
	}
	return append(dst, b[i:]...)
}

// appendText is HAProxy's lf_text_len: the value, in quotes with +Q,
// with '"', '\' and ']' escaped with +E; an empty value is "-" under
// the M flag (the default of log-format) unless quoted.
func appendText[T string | []byte](dst []byte, s T, fl config.FormatFlags) []byte {
	if fl&config.FlagQuote != 0 {
		dst = append(dst, '"')
	}
	switch {
	case len(s) > 0 && fl&config.FlagEscape != 0:
		for i := 0; i < len(s); i++ {
			if c := s[i]; rfc5424Escape[c] {
				dst = append(dst, '\\', c)
			} else {
				dst = append(dst, c)
			}
		}
	case len(s) > 0:
		dst = append(dst, s...)
	case fl&(config.FlagQuote|config.FlagMandatory) == config.FlagMandatory:
		dst = append(dst, '-')
	}
	if fl&config.FlagQuote != 0 {
		dst = append(dst, '"')
	}
	return dst
}

// appendEncoded is HAProxy's lf_encode_string: bytes of the map become
// '#' and two hex digits; with +E, '"', '\' and ']' are escaped with '\'.
func appendEncoded[T string | []byte](dst []byte, s T, m *[256]bool, fl config.FormatFlags) []byte {
	esc := fl&config.FlagEscape != 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case m[c]:
			dst = append(dst, '#', hexDigits[c>>4], hexDigits[c&15])
		case esc && rfc5424Escape[c]:
			dst = append(dst, '\\', c)
		default:
			dst = append(dst, c)
		}
	}
	return dst
}

// The encoding maps of HAProxy's log.c: hdrEncode for captured headers,
// urlEncode for the request line, httpEncode for a unique id's samples,
// and the characters +E escapes.
var hdrEncode, urlEncode, httpEncode, rfc5424Escape [256]bool

func init() {
	for i := 0; i < 256; i++ {
		ctl := i < 32 || i >= 127
		hdrEncode[i], urlEncode[i] = ctl, ctl
		httpEncode[i] = i <= 8 || i >= 0x0a && i <= 0x1f || i == 0x7f
	}
	for _, c := range []byte(`"#{|}`) {
		hdrEncode[c] = true
	}
	for _, c := range []byte(`"#`) {
		urlEncode[c] = true
	}
	for _, c := range []byte(`"\]`) {
		rfc5424Escape[c] = true
	}
}

// appendIP writes an address, with +X as 8 or 32 hex digits.
func appendIP(dst []byte, a netip.Addr, fl config.FormatFlags) []byte {
	a = a.Unmap()
	if fl&config.FlagHex != 0 {
		if a.Is4() {
			b := a.As4()
			for _, c := range b {
				dst = append(dst, hexDigits[c>>4], hexDigits[c&15])
			}
			return dst
		}
		b := a.As16()
		for _, c := range b {
			dst = append(dst, hexDigits[c>>4], hexDigits[c&15])
		}
		return dst
	}
	var b [64]byte
	return appendText(dst, a.AppendTo(b[:0]), fl)
}

// appendClientIP writes the client's address, anonymised by a: a hashed
// address is its hash whatever the flags say.
func appendClientIP(dst []byte, addr netip.Addr, a *Anonymizer, fl config.FormatFlags) []byte {
	if a == nil {
		return appendIP(dst, addr, fl)
	}
	if masked, ok := a.truncate(addr); ok {
		return appendIP(dst, masked, fl)
	}
	var b [64]byte
	return appendText(dst, a.AppendAddr(b[:0], addr), fl)
}

// appendPort writes a port, with +X as 4 hex digits.
func appendPort(dst []byte, p uint16, fl config.FormatFlags) []byte {
	if fl&config.FlagHex != 0 {
		return appendHex(dst, uint64(p), 4)
	}
	return strconv.AppendUint(dst, uint64(p), 10)
}

var monthNames = [...]string{"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"}

// appendDay writes "06/Feb/2009:12:14:14", the part of HAProxy's dates
// they all share.
func appendDay(dst []byte, t time.Time) []byte {
	y, mo, d := t.Date()
	h, mi, s := t.Clock()
	dst = appendPadded(dst, d, 2)
	dst = append(dst, '/')
	dst = append(dst, monthNames[mo-1]...)
	dst = append(dst, '/')
	dst = appendPadded(dst, y, 4)
	dst = append(dst, ':')
	dst = appendPadded(dst, h, 2)
	dst = append(dst, ':')
	dst = appendPadded(dst, mi, 2)
	dst = append(dst, ':')
	return appendPadded(dst, s, 2)
}

// appendDate is HAProxy's date2str_log: "06/Feb/2009:12:14:14.655".
func appendDate(dst []byte, t time.Time) []byte {
	var e lineEnv
	return e.appendDate(dst, t)
}

func (e *lineEnv) appendDate(dst []byte, t time.Time) []byte {
	dst = e.days[0].appendDay(dst, t)
	dst = append(dst, '.')
	return appendPadded(dst, t.Nanosecond()/1e6, 3)
}

// appendZoned is gmt2str_log and localdate2str_log:
// "06/Feb/2009:12:14:14 +0100", in t's zone.
func (e *lineEnv) appendZoned(dst []byte, t time.Time) []byte {
	c := &e.days[0]
	if t.Location() == time.UTC {
		c = &e.days[1]
	}
	dst = c.appendDay(dst, t)
	_, off := t.Zone()
	sign := byte('+')
	if off < 0 {
		sign, off = '-', -off
	}
	dst = append(dst, ' ', sign)
	dst = appendPadded(dst, off/3600, 2)
	return appendPadded(dst, off/60%60, 2)
}

// appendPadded writes v in decimal, left-padded with zeros to width.
func appendPadded(dst []byte, v, width int) []byte {
	var b [20]byte
	i := len(b)
	for v > 0 || len(b)-i < width {
		i--
		b[i] = byte('0' + v%10)
		v /= 10
	}
	return append(dst, b[i:]...)
}

// appendRequestPart writes a part of the request line as HAProxy's %HM,
// %HU, %HP, %HPO, %HQ and %HV find it, URL-encoded.
func appendRequestPart(dst []byte, r *engine.AccessRecord, v config.FormatVar, fl config.FormatFlags) []byte {
	line := r.RequestLine()
	if len(line) == 0 {
		return append(dst, badReq...)
	}
	isSP := func(c byte) bool { return c == ' ' || c == '\t' }
	method := 0 // end of the method
	for method < len(line) && !isSP(line[method]) {
		method++
	}
	if v == config.VarMethod {
		if method == len(line) {
			return append(dst, badReq...)
		}
		return appendEncoded(dst, line[:method], &urlEncode, fl)
	}
	if v == config.VarQuery {
		// From the first '?' of the line to the blank after it.
		q := method
		for q < len(line) && line[q] != '?' {
			q++
		}
		end := q
		for end < len(line) && !isSP(line[end]) {
			end++
		}
		return appendEncoded(dst, line[q:end], &urlEncode, fl)
	}
	uri := method
	for uri < len(line) && isSP(line[uri]) {
		uri++
	}
	if uri == method {
		return append(dst, badReq...) // no blank after the method
	}
	end := uri
	for end < len(line) && !isSP(line[end]) {
		end++
	}
	target := line[uri:end]
	switch v {
	case config.VarURI:
		return appendEncoded(dst, target, &urlEncode, fl)
	case config.VarPath:
		p := 0
		for p < len(target) && target[p] != '?' {
			p++
		}
		return appendEncoded(dst, target[:p], &urlEncode, fl)
	case config.VarPathOnly:
		path := pathOnly(target)
		for i, c := range path {
			if c == '?' {
				path = path[:i]
				break
			}
		}
		return appendEncoded(dst, path, &urlEncode, fl)
	}
	// VarVersion: what follows the target and its blanks.
	for end < len(line) && isSP(line[end]) {
		end++
	}
	if end == len(line) {
		return append(dst, "HTTP/0.9"...)
	}
	return appendEncoded(dst, line[end:], &urlEncode, fl)
}

// pathOnly is HAProxy's http_parse_path: an origin-form target as it is,
// the path of an absolute-form one, nothing for the others.
func pathOnly(t []byte) []byte {
	if len(t) == 0 || t[0] == '*' {
		return nil
	}
	if t[0] == '/' {
		return t
	}
	// scheme "://" authority path
	i := 0
	if !isLetter(t[0]) {
		return nil
	}
	for i++; i < len(t) && (isLetter(t[i]) || t[i] >= '0' && t[i] <= '9' || t[i] == '+' || t[i] == '-' || t[i] == '.'); i++ {
	}
	if len(t) < i+3 || t[i] != ':' || t[i+1] != '/' || t[i+2] != '/' {
		return nil // an authority alone (CONNECT)
	}
	i += 3
	for i < len(t) && t[i] != '/' {
		i++
	}
	return t[i:]
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
