package rules

import (
	"github.com/fjordlb/fjord/config"
)

// url_dec and json: decoding and escaping text, as HAProxy's url_decode
// (src/tools.c) and sample_conv_json (src/sample.c).

func init() {
	convFns["url_dec"] = func(t *Txn, a []config.Arg, v Value) (Value, bool) {
		inForm := len(a) > 0 && a[0].Int != 0
		off := len(t.scratch)
		var ok bool
		if t.scratch, ok = appendURLDecode(t.scratch, v.B, inForm); !ok {
			t.scratch = t.scratch[:off]
			return Value{}, false
		}
		return strValue(t.built(off)), true
	}
	convFns["json"] = func(t *Txn, a []config.Arg, v Value) (Value, bool) {
		mode := config.JSONASCII
		if len(a) > 0 {
			mode = config.JSONMode(a[0].Int)
		}
		off := len(t.scratch)
		var ok bool
		if t.scratch, ok = appendJSON(t.scratch, v.B, mode); !ok {
			t.scratch = t.scratch[:off]
			return Value{}, false
		}
		return strValue(t.built(off)), true
	}
}

// appendURLDecode is HAProxy's url_decode: "%XX" is a byte and any other
// '%' fails; '+' is a space in a form, which the input is when inForm is
// set and from its first '?' on. The input ends at its first NUL, a C
// string's end.
func appendURLDecode(dst, in []byte, inForm bool) ([]byte, bool) {
	for i := 0; i < len(in) && in[i] != 0; i++ {
		switch c := in[i]; c {
		case '+':
			if inForm {
				c = ' '
			}
			dst = append(dst, c)
		case '%':
			if i+2 >= len(in) || unhex(in[i+1]) < 0 || unhex(in[i+2]) < 0 {
				return dst, false
			}
			dst = append(dst, byte(unhex(in[i+1])<<4|unhex(in[i+2])))
			i += 2
		case '?':
			inForm = true
			dst = append(dst, c)
		default:
			dst = append(dst, c)
		}
	}
	return dst, true
}

func unhex(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

// The UTF-8 decoder's findings, as HAProxy's utf8_next.
const (
	utf8Overlong = 1 << iota // more bytes than the value needs
	utf8InvRange             // a surrogate, U+FFFE or U+FFFF
	utf8BadSeq               // not UTF-8
)

// utf8Next is HAProxy's utf8_next: the value of the sequence at the start
// of s, what is wrong with it, and how many bytes it spans (at least 1).
// Sequences of up to 6 bytes are read, as the original UTF-8.
func utf8Next(s []byte) (c rune, code int, n int) {
	lead := s[0]
	var dec int
	switch {
	case lead <= 0x7f:
		return rune(lead), 0, 1
	case lead <= 0xbf:
		return rune(lead), utf8BadSeq, 1
	case lead <= 0xdf:
		c, dec = rune(lead&0x1f), 1
	case lead <= 0xef:
		c, dec = rune(lead&0x0f), 2
	case lead <= 0xf7:
		c, dec = rune(lead&0x07), 3
	case lead <= 0xfb:
		c, dec = rune(lead&0x03), 4
	case lead <= 0xfd:
		c, dec = rune(lead&0x01), 5
	default:
		return rune(lead), utf8BadSeq, 1
	}
	if len(s) < dec+1 {
		return rune(lead), utf8BadSeq, 1
	}
	n = 1
	for ; dec > 0; dec-- {
		if s[n]&0xc0 != 0x80 {
			return c, utf8BadSeq, n
		}
		c = c<<6 | rune(s[n]&0x3f)
		n++
	}
	switch {
	case c <= 0x7f && n > 1, c >= 0x80 && c <= 0x7ff && n > 2,
		c >= 0x800 && c <= 0xffff && n > 3, c >= 0x10000 && c <= 0x1fffff && n > 4:
		code |= utf8Overlong
	}
	if c >= 0xd800 && c <= 0xdfff || c >= 0xfffe && c <= 0xffff {
		code |= utf8InvRange
	}
	return c, code, n
}

// appendJSON is HAProxy's json converter: the input escaped to be put
// between double quotes in JSON, in ASCII. In mode ascii every byte is a
// character (0x80 and above become \u00XX); the utf8 modes decode UTF-8
// and fail (utf8, utf8p) or drop (utf8s, utf8ps) what is not, the "p"
// modes accepting overlong forms; characters above U+FFFF, which a
// single \uXXXX cannot write, fail or are dropped the same way.
func appendJSON(dst, in []byte, mode config.JSONMode) ([]byte, bool) {
	for len(in) > 0 {
		c := rune(in[0])
		n := 1
		if mode != config.JSONASCII {
			var code int
			c, code, n = utf8Next(in)
			bad := code != 0
			if mode == config.JSONUTF8P || mode == config.JSONUTF8PS {
				bad = code&(utf8InvRange|utf8BadSeq) != 0
			}
			if bad || c > 0xffff {
				if mode == config.JSONUTF8 || mode == config.JSONUTF8P {
					return dst, false
				}
				in = in[n:]
				continue
			}
		}
		in = in[n:]
		switch c {
		case '"':
			dst = append(dst, '\\', '"')
		case '\\':
			dst = append(dst, '\\', '\\')
		case '/':
			dst = append(dst, '\\', '/')
		case '\b':
			dst = append(dst, '\\', 'b')
		case '\f':
			dst = append(dst, '\\', 'f')
		case '\r':
			dst = append(dst, '\\', 'r')
		case '\n':
			dst = append(dst, '\\', 'n')
		case '\t':
			dst = append(dst, '\\', 't')
		default:
			if c < 0x20 || c > 0x7e {
				const lowerHex = "0123456789abcdef"
				dst = append(dst, '\\', 'u',
					lowerHex[c>>12&15], lowerHex[c>>8&15], lowerHex[c>>4&15], lowerHex[c&15])
			} else {
				dst = append(dst, byte(c))
			}
		}
	}
	return dst, true
}
