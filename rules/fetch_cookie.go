package rules

import (
	"github.com/fjordlb/fjord/config"
)

// The cookie fetches, as HAProxy's smp_fetch_cookie and
// smp_fetch_cookie_cnt (src/http_fetch.c) with http_extract_cookie_value
// (src/http.c). In an ACL a cookie fetch gives every occurrence in turn;
// elsewhere a named cookie gives the last, and a cookie without a name
// the first of any name.

func init() {
	cookie := func(msg func(*Txn) *Msg, header string) fetchFn {
		return func(t *Txn, a []config.Arg, it *iter) (Value, bool) {
			m := msg(t)
			if m == nil {
				return Value{}, false
			}
			name := ""
			if len(a) > 0 {
				name = a[0].Str
			}
			// HAProxy reads a list of cookies a line when the rule
			// acts on the request, one when it acts on the response,
			// whichever header it reads.
			list := !t.Response
			if it.all {
				v, ok := nextCookie(m, header, name, list, it)
				it.more = ok
				return strValue(v), ok
			}
			var c iter
			var last []byte
			found := false
			for {
				v, ok := nextCookie(m, header, name, list, &c)
				if !ok {
					break
				}
				last, found = v, true
				if name == "" {
					break // no name: the first cookie
				}
			}
			return strValue(last), found
		}
	}
	counter := func(msg func(*Txn) *Msg, header string) fetchFn {
		return func(t *Txn, a []config.Arg, _ *iter) (Value, bool) {
			m := msg(t)
			if m == nil {
				return Value{}, false
			}
			name := ""
			if len(a) > 0 {
				name = a[0].Str
			}
			var c iter
			n := 0
			for {
				if _, ok := nextCookie(m, header, name, !t.Response, &c); !ok {
					break
				}
				n++
			}
			return intValue(int64(n)), true
		}
	}
	req := func(t *Txn) *Msg { return t.Req }
	res := func(t *Txn) *Msg { return t.Res }
	fetchFns["req.cook"] = cookie(req, "cookie")
	fetchFns["req.cook_cnt"] = counter(req, "cookie")
	fetchFns["res.cook"] = cookie(res, "set-cookie")
	// req.cook_val([name]): the cookie read as an integer, as HAProxy's
	// strl2ic reads it.
	reqCook := fetchFns["req.cook"]
	fetchFns["req.cook_val"] = func(t *Txn, a []config.Arg, it *iter) (Value, bool) {
		v, ok := reqCook(t, a, it)
		if !ok {
			return v, false
		}
		return intValue(int64(strl2ic(v.B))), true
	}
}

// nextCookie gives the next cookie named name (any, when name is empty)
// of the header fields named header, from the position in it: a field is
// read element by element as HAProxy's http_find_header reads a list
// (cut at commas outside quotes), skipping elements shorter than name
// and '=', and each element as http_extract_cookie_value reads it: a
// list of cookies when list is set, else one (Set-Cookie's first
// attribute).
func nextCookie(m *Msg, header, name string, list bool, it *iter) ([]byte, bool) {
	for ; it.h < len(m.Headers); it.h, it.off, it.end = it.h+1, 0, 0 {
		h := &m.Headers[it.h]
		if !equalFold(h.Name, header) {
			continue
		}
		for {
			if it.end == 0 { // at the start of an element
				if it.off > len(h.Value) {
					break
				}
				start, end := headerElement(h.Value, it.off)
				if end-start < len(name)+1 {
					it.off = afterElement(h.Value, end)
					continue
				}
				it.off, it.end = start, end
			}
			v, next, ok := extractCookie(h.Value[:it.end], it.off, name, list)
			if ok {
				it.off = next
				return v, true
			}
			it.off, it.end = afterElement(h.Value, it.end), 0
		}
	}
	return nil, false
}

func isLWS(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

// headerElement is the element of a list-valued field that starts at
// off: up to the next comma outside a quoted string, without the white
// space around it (http_find_hdr_value_end).
func headerElement(v []byte, off int) (start, end int) {
	for off < len(v) && isLWS(v[off]) {
		off++
	}
	start, end = off, off
	quoted, pair := false, false
	for ; end < len(v); end++ {
		c := v[end]
		switch {
		case pair:
			pair = false
		case quoted:
			if c == '\\' {
				pair = true
			} else if c == '"' {
				quoted = false
			}
		case c == '"':
			quoted = true
		case c == ',':
			goto found
		}
	}
found:
	for end > start && isLWS(v[end-1]) {
		end--
	}
	return start, end
}

// afterElement is where the element after the one ending at end starts,
// past len(v) when there is none.
func afterElement(v []byte, end int) int {
	for end < len(v) && isLWS(v[end]) {
		end++
	}
	if end == len(v) {
		return len(v) + 1
	}
	if v[end] == ',' {
		end++
	}
	return end
}

func isSPHT(c byte) bool { return c == ' ' || c == '\t' }

// extractCookie is http_extract_cookie_value on v from the offset from:
// the value of the next cookie named name (any, when name is empty) and
// the offset to search on from. Attributes starting with '$' and
// cookies without '=' are skipped.
func extractCookie(v []byte, from int, name string, list bool) (val []byte, next int, ok bool) {
	end := len(v)
	for att := from; att+len(name)+1 < end; {
		for att < end && isSPHT(v[att]) {
			att++
		}
		eq, attEnd := att, att
		for eq < end {
			c := v[eq]
			if c == '=' || c == ';' || list && c == ',' {
				break
			}
			eq++
			if !isSPHT(c) {
				attEnd = eq
			}
		}
		vb, ve, nx := eq, eq, eq
		if eq < end && v[eq] == '=' {
			vb = eq + 1
			for vb < end && isSPHT(v[vb]) {
				vb++
			}
			nx = cookieValueEnd(v, vb)
			ve = nx
			for ve > vb && isSPHT(v[ve-1]) {
				ve--
			}
		}
		switch {
		case att < end && v[att] == '$', eq == nx: // an attribute, or no '='
		case name == "" || string(v[att:attEnd]) == name:
			return v[vb:ve], nx + 1, true
		case !list:
			return nil, 0, false // Set-Cookie: only the first attribute names the cookie
		}
		att = nx + 1
	}
	return nil, 0, false
}

// cookieValueEnd is http_find_cookie_value_end: the end of a value that
// starts at s, at a comma or a semicolon outside a quoted string.
func cookieValueEnd(v []byte, s int) int {
	quoted, pair := false, false
	for ; s < len(v); s++ {
		c := v[s]
		switch {
		case pair:
			pair = false
		case quoted:
			if c == '\\' {
				pair = true
			} else if c == '"' {
				quoted = false
			}
		case c == '"':
			quoted = true
		case c == ',' || c == ';':
			return s
		}
	}
	return s
}

// strl2ic is HAProxy's strl2ic: an optional '-' and the digits that
// follow, in a C int (wrapping). As in HAProxy, only bytes above '9'
// stop it: a byte below '0' is added as a negative digit.
func strl2ic(s []byte) int32 {
	var n int32
	if len(s) == 0 {
		return 0
	}
	if s[0] != '-' {
		for _, c := range s {
			j := int32(c) - '0'
			if j > 9 {
				break
			}
			n = n*10 + j
		}
		return n
	}
	for _, c := range s[1:] {
		j := int32(c) - '0'
		if j > 9 {
			break
		}
		n = n*10 - j
	}
	return n
}
