package rules

import (
	"bytes"
	"math"
	"net/netip"
	"strings"

	"github.com/fjordlb/fjord/config"
)

// HTTP fetches: the request line, header fields, the response status.

var versions = [...][]byte{[]byte("1.0"), []byte("1.1")}

func init() {
	req := func(get func(m *Msg) ([]byte, bool)) fetchFn {
		return func(t *Txn, _ []config.Arg, _ *iter) (Value, bool) {
			if t.Req == nil {
				return Value{}, false
			}
			b, ok := get(t.Req)
			return strValue(b), ok
		}
	}
	fetchFns["method"] = req(func(m *Msg) ([]byte, bool) { return m.Method, true })
	fetchFns["path"] = req(func(m *Msg) ([]byte, bool) { return m.Path, true })
	fetchFns["url"] = req(func(m *Msg) ([]byte, bool) { return m.URI, true })
	fetchFns["query"] = req(func(m *Msg) ([]byte, bool) {
		i := bytes.IndexByte(m.URI, '?')
		if i < 0 {
			return nil, false
		}
		return m.URI[i+1:], true
	})
	fetchFns["req.ver"] = req(func(m *Msg) ([]byte, bool) { return versions[m.Minor&1], true })
	fetchFns["pathq"] = func(t *Txn, _ []config.Arg, _ *iter) (Value, bool) {
		if t.Req == nil {
			return Value{}, false
		}
		q := t.Req.URI
		if i := bytes.IndexByte(q, '?'); i >= 0 {
			q = q[i:]
		} else {
			return strValue(t.Req.Path), true
		}
		off := len(t.scratch)
		t.scratch = append(append(t.scratch, t.Req.Path...), q...)
		return strValue(t.built(off)), true
	}
	// base: the first Host and the path, as HAProxy's.
	fetchFns["base"] = func(t *Txn, _ []config.Arg, _ *iter) (Value, bool) {
		if t.Req == nil {
			return Value{}, false
		}
		host, ok := firstHeader(t.Req, "host")
		if !ok || len(host) == 0 {
			return strValue(t.Req.Path), true
		}
		off := len(t.scratch)
		t.scratch = append(append(t.scratch, host...), t.Req.Path...)
		return strValue(t.built(off)), true
	}

	fetchFns["status"] = func(t *Txn, _ []config.Arg, _ *iter) (Value, bool) {
		if t.Res == nil {
			return Value{}, false
		}
		return intValue(int64(t.Res.Status)), true
	}
	fetchFns["res.ver"] = func(t *Txn, _ []config.Arg, _ *iter) (Value, bool) {
		if t.Res == nil {
			return Value{}, false
		}
		return strValue(versions[t.Res.Minor&1]), true
	}
	fetchFns["req.body"] = func(t *Txn, _ []config.Arg, _ *iter) (Value, bool) {
		if t.Req == nil {
			return Value{}, false
		}
		return Value{Type: config.TypeBin, B: t.Body}, true
	}
	fetchFns["unique-id"] = func(t *Txn, _ []config.Arg, _ *iter) (Value, bool) {
		if t.UniqueID == nil {
			return Value{}, false
		}
		id := t.UniqueID.UniqueID()
		return strValue(id), id != nil
	}

	// Header fields. The "req." fetches read the request, the "res."
	// ones the response, the bare ones the message the rule acts on.
	for _, side := range []struct {
		prefix string
		msg    func(t *Txn) *Msg
	}{
		{"req.", func(t *Txn) *Msg { return t.Req }},
		{"res.", func(t *Txn) *Msg { return t.Res }},
		{"", func(t *Txn) *Msg {
			if t.Response {
				return t.Res
			}
			return t.Req
		}},
	} {
		msg := side.msg
		fetchFns[side.prefix+"hdr"] = func(t *Txn, a []config.Arg, it *iter) (Value, bool) {
			m := msg(t)
			if m == nil {
				return Value{}, false
			}
			return headerValue(m, a, it, true)
		}
		fetchFns[side.prefix+"fhdr"] = func(t *Txn, a []config.Arg, it *iter) (Value, bool) {
			m := msg(t)
			if m == nil {
				return Value{}, false
			}
			return headerValue(m, a, it, false)
		}
		fetchFns[side.prefix+"hdr_cnt"] = func(t *Txn, a []config.Arg, _ *iter) (Value, bool) {
			m := msg(t)
			if m == nil {
				return Value{}, false
			}
			return intValue(int64(countValues(m, a, true))), true
		}
		if side.prefix != "res." {
			fetchFns[side.prefix+"fhdr_cnt"] = func(t *Txn, a []config.Arg, _ *iter) (Value, bool) {
				m := msg(t)
				if m == nil {
					return Value{}, false
				}
				return intValue(int64(countValues(m, a, false))), true
			}
		}
	}
	delete(fetchFns, "fhdr_cnt") // not an HAProxy name
	// req.hdr_ip([name[,occ]]): the header value read as an address: an
	// IPv4 address alone or followed by ":port", or an IPv6 address.
	// In an ACL, values that are not addresses are skipped.
	fetchFns["req.hdr_ip"] = func(t *Txn, a []config.Arg, it *iter) (Value, bool) {
		if t.Req == nil {
			return Value{}, false
		}
		for {
			v, ok := headerValue(t.Req, a, it, true)
			if !ok {
				return v, false
			}
			if addr, ok := hdrIP(v.B); ok {
				return addrValue(addr), true
			}
			if !it.all {
				return Value{}, false
			}
		}
	}
	fetchFns["req.hdr_val"] = func(t *Txn, a []config.Arg, it *iter) (Value, bool) {
		if t.Req == nil {
			return Value{}, false
		}
		v, ok := headerValue(t.Req, a, it, true)
		if !ok {
			return v, false
		}
		// As HAProxy's strl2ic: leading digits, 0 without any; a
		// header that is there always gives a sample.
		n, _ := atoi(v.B)
		return intValue(n), true
	}
}

// firstHeader returns the first value of the header named name (lower
// case).
func firstHeader(m *Msg, name string) ([]byte, bool) {
	for i := range m.Headers {
		if equalFold(m.Headers[i].Name, name) {
			return m.Headers[i].Value, true
		}
	}
	return nil, false
}

// headerValue is hdr() and fhdr(). Without a name every field counts.
// split: values are cut at commas, as hdr() does; fhdr() takes whole
// lines. In an ACL every value is given in turn; elsewhere the occ-th
// one (negative: from the last; default: the last).
//
// A whole value (fhdr) is given without the blanks around it, as
// HAProxy's http_find_header gives it: a parsed field has none, but one
// a rule set may ("set-header x \"a \"").
func headerValue(m *Msg, a []config.Arg, it *iter, split bool) (Value, bool) {
	name := ""
	if len(a) > 0 {
		name = a[0].Str
	}
	if it.all {
		for ; it.h < len(m.Headers); it.h, it.off = it.h+1, 0 {
			h := &m.Headers[it.h]
			if name != "" && !equalFold(h.Name, name) {
				continue
			}
			if !split {
				it.h++
				it.more = true
				return strValue(trimOWS(h.Value)), true
			}
			if it.off > len(h.Value) {
				continue
			}
			item, next := nextItem(h.Value, it.off)
			it.off = next
			it.more = true
			return strValue(item), true
		}
		return Value{}, false
	}
	occ := int64(-1)
	if len(a) > 1 {
		occ = a[1].Int
	}
	if occ == 0 {
		return Value{}, false
	}
	if occ < 0 {
		occ += int64(countValues(m, a[:min(len(a), 1)], split)) + 1
		if occ <= 0 {
			return Value{}, false
		}
	}
	n := int64(0)
	for i := range m.Headers {
		h := &m.Headers[i]
		if name != "" && !equalFold(h.Name, name) {
			continue
		}
		if !split {
			if n++; n == occ {
				return strValue(trimOWS(h.Value)), true
			}
			continue
		}
		for off := 0; off <= len(h.Value); {
			item, next := nextItem(h.Value, off)
			off = next
			if n++; n == occ {
				return strValue(item), true
			}
		}
	}
	return Value{}, false
}

// nextItem cuts the comma-separated element at off, trimmed of white
// space, and returns where the next one starts (past the end after the
// last).
func nextItem(v []byte, off int) ([]byte, int) {
	end := valueEnd(v, off)
	return trimOWS(v[off:end]), end + 1
}

// valueEnd is HAProxy's http_find_hdr_value_end: the index of the comma
// that ends the element starting at off, or len(v). A comma inside a
// quoted string (where a backslash escapes the next byte) ends nothing:
// `W/"a,b", "c"` holds two elements.
func valueEnd(v []byte, off int) int {
	quoted, escaped := false, false
	for i := off; i < len(v); i++ {
		switch c := v[i]; {
		case escaped:
			escaped = false
		case quoted && c == '\\':
			escaped = true
		case c == '"':
			quoted = !quoted
		case !quoted && c == ',':
			return i
		}
	}
	return len(v)
}

// countValues counts the values hdr() (split) or fhdr() would give.
func countValues(m *Msg, a []config.Arg, split bool) int {
	name := ""
	if len(a) > 0 {
		name = a[0].Str
	}
	n := 0
	for i := range m.Headers {
		h := &m.Headers[i]
		if name != "" && !equalFold(h.Name, name) {
			continue
		}
		if split {
			for off := 0; off <= len(h.Value); off = valueEnd(h.Value, off) + 1 {
				n++
			}
		} else {
			n++
		}
	}
	return n
}

func trimOWS(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}

// equalFold compares ASCII case-insensitively without allocating.
func equalFold(s []byte, p string) bool {
	if len(s) != len(p) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if a, b := s[i], p[i]; a != b && lower(a) != lower(b) {
			return false
		}
	}
	return true
}

func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// hdrIP is smp_fetch_hdr_ip's reading of a value: url2ipv4 over the
// whole value, or followed by ':' and a port strl2irc reads, else
// inet_pton's IPv6.
func hdrIP(b []byte) (netip.Addr, bool) {
	if a, n := url2ipv4(b); n > 0 {
		if n == len(b) {
			return a, true
		}
		if b[n] == ':' {
			if port, ok := strl2irc(b[n+1:]); ok && port >= 0 && port <= 65535 {
				return a, true
			}
		}
	}
	s := bytesStr(b)
	if len(s) > 45 || strings.IndexByte(s, ':') < 0 || strings.IndexByte(s, '%') >= 0 {
		return netip.Addr{}, false
	}
	a, err := netip.ParseAddr(s)
	if err != nil || !a.Is6() {
		return netip.Addr{}, false
	}
	return a, true
}

// url2ipv4 is HAProxy's url2ipv4: four dotted decimal octets at the
// start of b, and the length read (0: none).
func url2ipv4(b []byte) (netip.Addr, int) {
	var tmp [4]byte
	octets, sawDigit, tp := 0, false, 0
	i := 0
	for ; i < len(b) && b[i] != 0; i++ {
		c := b[i]
		if (c < '0' || c > '9') && c != '.' {
			break
		}
		if c >= '0' && c <= '9' {
			n := int(tmp[tp])*10 + int(c-'0')
			if n > 255 {
				return netip.Addr{}, 0
			}
			tmp[tp] = byte(n)
			if !sawDigit {
				if octets++; octets > 4 {
					return netip.Addr{}, 0
				}
				sawDigit = true
			}
		} else if sawDigit {
			if octets == 4 {
				return netip.Addr{}, 0
			}
			tp++
			tmp[tp] = 0
			sawDigit = false
		} else {
			return netip.Addr{}, 0
		}
	}
	if octets < 4 {
		return netip.Addr{}, 0
	}
	return netip.AddrFrom4(tmp), i
}

// strl2irc is HAProxy's strl2irc: an int in decimal, with an optional
// '-', refusing anything else and overflows; an empty string fails.
func strl2irc(s []byte) (int, bool) {
	if len(s) == 0 {
		return 0, false
	}
	n := 0
	neg := s[0] == '-'
	if neg {
		s = s[1:]
	}
	for _, c := range s {
		if c < '0' || c > '9' || n > math.MaxInt32/10 || n < math.MinInt32/10 {
			return 0, false
		}
		n *= 10
		d := int(c - '0')
		if neg {
			if n-d < math.MinInt32 {
				return 0, false
			}
			n -= d
		} else {
			if n+d > math.MaxInt32 {
				return 0, false
			}
			n += d
		}
	}
	return n, true
}
