package rules

import (
	"math"
	"strconv"

	"github.com/fjordlb/fjord/config"
)

// json_query(path[,int]): a port of the mjson library HAProxy 2.6 uses
// (src/mjson.c: mjson, mjson_find, mjson_get_string, mystrtod), with
// its path subset ("$", ".key" with "\." for a dot in a key, "[N]") and
// its quirks. A number gives "%g" of its value, or with "int" the
// integer strtoll reads (base 0: a leading 0 is octal) within +-(2^53-1);
// true and false give a boolean, a string its unescaped value (\uXXXX
// only from \u0000 to \u00ff); null, an array or an object give no
// sample.

const (
	mjTokInvalid = 0
	mjTokKey     = 1
	mjTokString  = 11
	mjTokNumber  = 12
	mjTokTrue    = 13
	mjTokFalse   = 14
	mjTokNull    = 15
	mjMaxDepth   = 20
	jsonIntMax   = 1<<53 - 1
)

func init() {
	convFns["json_query"] = func(t *Txn, a []config.Arg, v Value) (Value, bool) {
		tok, p := mjsonFind(v.B, a[0].Str)
		switch tok {
		case mjTokNumber:
			if len(a) > 1 && a[1].Int == 1 {
				n := strtoll0(p)
				if n < -jsonIntMax || n > jsonIntMax {
					return Value{}, false
				}
				return intValue(n), true
			}
			d, _ := mystrtod(p)
			off := len(t.scratch)
			t.scratch = strconv.AppendFloat(t.scratch, d, 'g', 6, 64)
			return strValue(t.built(off)), true
		case mjTokTrue, mjTokFalse:
			return boolValue(tok == mjTokTrue), true
		case mjTokString:
			off := len(t.scratch)
			var ok bool
			if t.scratch, ok = mjsonUnescape(t.scratch, p[1:len(p)-1]); !ok {
				t.scratch = t.scratch[:off]
				return Value{}, false
			}
			return strValue(t.built(off)), true
		}
		return Value{}, false
	}
}

// mjsonGet is mjson_get_cb's state.
type mjsonGet struct {
	path           string
	pos            int
	d1, d2, i1, i2 int
	obj            int
	tok            int
	val            []byte
}

// at is the path's byte at i, 0 past its end (the C string's NUL).
func (g *mjsonGet) at(i int) byte {
	if i < len(g.path) {
		return g.path[i]
	}
	return 0
}

// mjsonFind is mjson_find: the token the path designates and its text.
func mjsonFind(s []byte, path string) (int, []byte) {
	if len(path) == 0 || path[0] != '$' {
		return mjTokInvalid, nil
	}
	g := mjsonGet{path: path, pos: 1, obj: -1}
	if mjsonWalk(s, &g) < 0 {
		return mjTokInvalid, nil
	}
	return g.tok, g.val
}

// cb is mjson_get_cb: true stops the walk.
func (g *mjsonGet) cb(tok int, s []byte, off, n int) bool {
	if g.tok != mjTokInvalid {
		return true
	}
	switch {
	case tok == '{':
		if g.at(g.pos) == 0 && g.d1 == g.d2 {
			g.obj = off
		}
		g.d1++
	case tok == '[':
		if g.d1 == g.d2 && g.at(g.pos) == '[' {
			g.i1 = 0
			d, _ := mystrtod(strBytes(g.path[min(g.pos+1, len(g.path)):]))
			g.i2 = int(d)
			if g.i1 == g.i2 {
				g.d2++
				g.pos += 3
			}
		}
		if g.at(g.pos) == 0 && g.d1 == g.d2 {
			g.obj = off
		}
		g.d1++
	case tok == ',':
		if g.d1 == g.d2+1 {
			g.i1++
			if g.i1 == g.i2 {
				for g.pos < len(g.path) && g.at(g.pos) != ']' {
					g.pos++
				}
				g.pos++
				g.d2++
			}
		}
	case tok == mjTokKey && g.d1 == g.d2+1 && g.at(g.pos) == '.' && s[off] == '"' &&
		s[off+n-1] == '"' && g.plen1(g.pos+1) == n-2 && g.kcmp(s[off+1:], g.pos+1, n-2):
		g.d2++
		g.pos += g.plen2(g.pos+1) + 1
	case tok == mjTokKey && g.d1 == g.d2:
		return true // the path is exhausted: not found
	case tok == '}' || tok == ']':
		g.d1--
		if g.at(g.pos) == 0 && g.d1 == g.d2 && g.obj != -1 {
			g.tok = tok - 2
			g.val = s[g.obj : off+1]
			return true
		}
	case tok > 10 && tok < 20:
		if g.d1 == g.d2 && g.at(g.pos) == 0 {
			g.tok = tok
			g.val = s[off : off+n]
			return true
		}
	}
	return false
}

// plen1 and plen2 are the length of the path's key at i, unescaped and
// as written.
func (g *mjsonGet) plen1(i int) int {
	n := 0
	for c := g.at(i); c != 0 && c != '.' && c != '['; c = g.at(i) {
		n++
		if c == '\\' {
			i += 2
		} else {
			i++
		}
	}
	return n
}

func (g *mjsonGet) plen2(i int) int {
	start := i
	for c := g.at(i); c != 0 && c != '.' && c != '['; c = g.at(i) {
		if c == '\\' {
			i += 2
		} else {
			i++
		}
	}
	return i - start
}

// kcmp compares n bytes of the key a with the path's key at i, whose
// backslashes escape the next byte.
func (g *mjsonGet) kcmp(a []byte, i, n int) bool {
	for j := 0; j < n; i, j = i+1, j+1 {
		if g.at(i) == '\\' {
			i++
		}
		if a[j] != g.at(i) {
			return false
		}
	}
	return true
}

// mjsonPassString is mjson_pass_string: the offset of the string's
// closing quote in s, -1 when it is invalid.
func mjsonPassString(s []byte) int {
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '\\' && i+1 < len(s) && mjsonEscape(s[i+1]) != 0:
			i++
		case s[i] == 0:
			return -1
		case s[i] == '"':
			return i
		}
	}
	return -1
}

const mjEsc1, mjEsc2 = "\b\f\n\r\t\\\"", "bfnrt\\\""

// mjsonEscape is mjson_esc(c, 1): the letter escaping c, 0 for none.
func mjsonEscape(c byte) byte {
	for i := 0; i < len(mjEsc1); i++ {
		if mjEsc1[i] == c {
			return mjEsc2[i]
		}
	}
	return 0
}

// mjsonUnescapeChar is mjson_esc(c, 0): the byte an escape letter
// stands for, 0 for none.
func mjsonUnescapeChar(c byte) byte {
	for i := 0; i < len(mjEsc2); i++ {
		if mjEsc2[i] == c {
			return mjEsc1[i]
		}
	}
	return 0
}

// mjsonWalk is mjson(): it reads one JSON value from s, calling g.cb for
// each token; a negative result is an error.
func mjsonWalk(s []byte, g *mjsonGet) int {
	const (
		sValue = iota
		sKey
		sColon
		sCommaOrEOO
	)
	expecting := sValue
	var nesting [mjMaxDepth]byte
	depth := 0
	for i := 0; i < len(s); i++ {
		start := i
		c := s[i]
		tok := int(c)
		if c == ' ' || c == '\t' || c == '\n' || c == '\r' {
			continue
		}
		// eoo closes an object or an array (MJSONEOO): done is set when
		// the walk ends, with its result.
		eoo := func() (int, bool) {
			if c != nesting[depth-1]+2 {
				return -1, true
			}
			depth--
			if depth == 0 {
				g.cb(tok, s, start, i-start+1)
				return i + 1, true
			}
			return 0, false
		}
		switch expecting {
		case sValue:
			switch {
			case c == '{' || c == '[':
				if depth >= mjMaxDepth {
					return -2
				}
				nesting[depth] = c
				depth++
				if c == '{' {
					expecting = sKey
				}
			default:
				switch {
				case c == ']' && depth > 0:
					if r, done := eoo(); done {
						return r
					}
				case c == 't' && i+3 < len(s) && string(s[i:i+4]) == "true":
					i += 3
					tok = mjTokTrue
				case c == 'n' && i+3 < len(s) && string(s[i:i+4]) == "null":
					i += 3
					tok = mjTokNull
				case c == 'f' && i+4 < len(s) && string(s[i:i+5]) == "false":
					i += 4
					tok = mjTokFalse
				case c == '-' || c >= '0' && c <= '9':
					_, end := mystrtod(s[i:])
					i += end - 1
					tok = mjTokNumber
				case c == '"':
					n := mjsonPassString(s[i+1:])
					if n < 0 {
						return n
					}
					i += n + 1
					tok = mjTokString
				default:
					return -1
				}
				if depth == 0 {
					g.cb(tok, s, start, i-start+1)
					return i + 1
				}
				expecting = sCommaOrEOO
			}
		case sKey:
			switch c {
			case '"':
				n := mjsonPassString(s[i+1:])
				if n < 0 {
					return n
				}
				i += n + 1
				tok = mjTokKey
				expecting = sColon
			case '}':
				if r, done := eoo(); done {
					return r
				}
				expecting = sCommaOrEOO
			default:
				return -1
			}
		case sColon:
			if c != ':' {
				return -1
			}
			expecting = sValue
		case sCommaOrEOO:
			if depth <= 0 {
				return -1
			}
			switch c {
			case ',':
				expecting = sValue
				if nesting[depth-1] == '{' {
					expecting = sKey
				}
			case ']', '}':
				if r, done := eoo(); done {
					return r
				}
			default:
				return -1
			}
		}
		if g.cb(tok, s, start, i-start+1) {
			return i + 1
		}
	}
	return -1
}

// mystrtod is mjson's strtod, reading s (not past its end): the value
// and the length read, 0 when s starts with no number.
func mystrtod(s []byte) (float64, int) {
	at := func(i int) byte {
		if i < len(s) {
			return s[i]
		}
		return 0
	}
	isDigit := func(c byte) bool { return c >= '0' && c <= '9' }
	d, sign := 0.0, 1.0
	p, a := 0, 0
	switch at(p) {
	case '-':
		sign = -1
		p++
	case '+':
		p++
	}
	if isDigit(at(p)) {
		d = float64(at(p) - '0')
		p++
		for isDigit(at(p)) {
			d = d*10 + float64(at(p)-'0')
			p++
		}
		a = p
	} else if at(p) != '.' {
		return d, a
	}
	d *= sign
	if at(p) == '.' {
		f, base := 0.0, 0.1
		p++
		for isDigit(at(p)) {
			f += base * float64(at(p)-'0')
			base /= 10
			p++
		}
		d += f * sign
		a = p
	}
	if c := at(p); c == 'E' || c == 'e' {
		e, neg := 0, false
		p++
		if at(p) == '-' {
			p++
			neg = true
		}
		if at(p) == '+' {
			p++
		}
		for isDigit(at(p)) {
			if e < 1e6 {
				e = e*10 + int(at(p)-'0')
			}
			p++
		}
		if neg {
			e = -e
		}
		for i := 0; i < e && !math.IsInf(d, 0); i++ {
			d *= 10
		}
		for i := 0; i < -e && d != 0; i++ {
			d /= 10
		}
		a = p
	} else if p > 0 && !isDigit(at(p-1)) {
		a = 0
	}
	return d, a
}

// strtoll0 is strtoll(s, NULL, 0) on a JSON number: a sign, then octal
// digits after a leading 0, else decimal ones, saturated.
func strtoll0(s []byte) int64 {
	i, neg := 0, false
	if i < len(s) && (s[i] == '-' || s[i] == '+') {
		neg = s[i] == '-'
		i++
	}
	base := uint64(10)
	if i < len(s) && s[i] == '0' {
		base = 8
	}
	var n uint64
	for ; i < len(s) && s[i] >= '0' && uint64(s[i]-'0') < base; i++ {
		d := uint64(s[i] - '0')
		if n > (math.MaxUint64-d)/base {
			n = math.MaxUint64
			break
		}
		n = n*base + d
	}
	if neg {
		if n > 1<<63 {
			return math.MinInt64
		}
		return -int64(n)
	}
	if n > math.MaxInt64 {
		return math.MaxInt64
	}
	return int64(n)
}

// mjsonUnescape is mjson_unescape: the escapes of a JSON string, \uXXXX
// only for \u00XX.
func mjsonUnescape(dst, s []byte) ([]byte, bool) {
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '\\' && i+5 < len(s) && s[i+1] == 'u':
			if s[i+2] != '0' || s[i+3] != '0' {
				return dst, false
			}
			dst = append(dst, mjsonNibble(s[i+4])<<4|mjsonNibble(s[i+5]))
			i += 5
		case s[i] == '\\' && i+1 < len(s):
			c := mjsonUnescapeChar(s[i+1])
			if c == 0 {
				return dst, false
			}
			dst = append(dst, c)
			i++
		default:
			dst = append(dst, s[i])
		}
	}
	return dst, true
}

// mjsonNibble is mjson_unhex_nimble's reading of one digit, which does
// not check it is one.
func mjsonNibble(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'A' && c <= 'F':
		return c - '7'
	}
	return c - 'W'
}
