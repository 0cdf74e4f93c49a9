package rules

import (
	"bytes"
	"strconv"

	"github.com/fjordlb/fjord/config"
)

// Converters of strings and bytes from HAProxy's src/sample.c and
// src/http_conv.c: iif, url_enc, the base64url pair, be2dec and be2hex,
// add_item, strcmp, ltrim, rtrim and cut_crlf.

// HAProxy's base64url alphabet (ubase64tab), and its reverse (ubase64rev,
// -1: not in it). HAProxy's table reads '=' as 63, as '_'.
const ubase64Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

var ubase64Rev = func() (r [256]int8) {
	for i := range r {
		r[i] = -1
	}
	for i := 0; i < len(ubase64Alphabet); i++ {
		r[ubase64Alphabet[i]] = int8(i)
	}
	r['='] = 63
	return r
}()

// urlEncKeep are the bytes url_enc(query) keeps: RFC 3986's unreserved
// characters.
var urlEncKeep = func() (k [256]bool) {
	for c := 0; c < 256; c++ {
		k[c] = c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			c == '-' || c == '.' || c == '_' || c == '~'
	}
	return k
}()

func init() {
	// iif(true,false): the first string when the boolean is true, the
	// second otherwise.
	convFns["iif"] = func(_ *Txn, a []config.Arg, v Value) (Value, bool) {
		if v.I != 0 {
			return strValue(strBytes(a[0].Str)), true
		}
		return strValue(strBytes(a[1].Str)), true
	}
	// url_enc([query]): every byte but the unreserved ones as %XX.
	convFns["url_enc"] = func(t *Txn, _ []config.Arg, v Value) (Value, bool) {
		off := len(t.scratch)
		for _, c := range v.B {
			if urlEncKeep[c] {
				t.scratch = append(t.scratch, c)
			} else {
				t.scratch = append(t.scratch, '%', upperHex[c>>4], upperHex[c&15])
			}
		}
		return strValue(t.built(off)), true
	}
	convFns["ub64enc"] = func(t *Txn, _ []config.Arg, v Value) (Value, bool) {
		off := len(t.scratch)
		t.scratch = appendBase64URL(t.scratch, v.B)
		return strValue(t.built(off)), true
	}
	convFns["ub64dec"] = func(t *Txn, _ []config.Arg, v Value) (Value, bool) {
		off := len(t.scratch)
		var ok bool
		if t.scratch, ok = appendBase64URLDecode(t.scratch, v.B); !ok {
			t.scratch = t.scratch[:off]
			return Value{}, false
		}
		return binValue(t.built(off)), true
	}
	convFns["be2dec"] = func(t *Txn, a []config.Arg, v Value) (Value, bool) {
		sep, chunk, trunc := beArgs(a)
		last := len(v.B)
		if trunc {
			last = len(v.B) - chunk + 1
		}
		off := len(t.scratch)
		for ptr := 0; ptr < last; {
			if ptr > 0 {
				t.scratch = append(t.scratch, sep...)
			}
			var n uint64
			for i := 0; i < chunk && ptr < len(v.B); i++ {
				n = n<<8 | uint64(v.B[ptr])
				ptr++
			}
			t.scratch = strconv.AppendUint(t.scratch, n, 10)
		}
		return strValue(t.built(off)), true
	}
	convFns["be2hex"] = func(t *Txn, a []config.Arg, v Value) (Value, bool) {
		sep, chunk, trunc := beArgs(a)
		last := len(v.B)
		if trunc {
			last = len(v.B) - chunk + 1
		}
		if sep == "" && !trunc {
			chunk = len(v.B)
		}
		off := len(t.scratch)
		for ptr := 0; ptr < last; {
			if ptr > 0 {
				t.scratch = append(t.scratch, sep...)
			}
			for i := 0; i < chunk && ptr < len(v.B); i++ {
				c := v.B[ptr]
				t.scratch = append(t.scratch, upperHex[c>>4], upperHex[c&15])
				ptr++
			}
		}
		return strValue(t.built(off)), true
	}
	// add_item(delim,[var][,suffix]): the input, the delimiter when the
	// input is not empty and something follows, the variable as a
	// string (when set), the suffix.
	convFns["add_item"] = func(t *Txn, a []config.Arg, v Value) (Value, bool) {
		var x Value
		found := false
		if a[1].Kind == config.ArgVar {
			x, found = t.getVar(a[1].Var)
		}
		suffix := ""
		if len(a) > 2 {
			suffix = a[2].Str
		}
		off := len(t.scratch)
		t.scratch = append(t.scratch, v.B...)
		if len(v.B) > 0 && (found && strLen(x) > 0 || suffix != "") {
			t.scratch = append(t.scratch, a[0].Str...)
		}
		if found {
			t.scratch = appendAsStr(t.scratch, x)
		}
		t.scratch = append(t.scratch, suffix...)
		return strValue(t.built(off)), true
	}
	// strcmp(var): 0 when the input and the variable as a string are
	// equal; else as strcmp(3), a shorter prefix being less.
	convFns["strcmp"] = func(t *Txn, a []config.Arg, v Value) (Value, bool) {
		x, ok := t.getVar(a[0].Var)
		if !ok {
			return Value{}, false
		}
		x = t.castStr(x)
		n := min(len(v.B), len(x.B))
		r := int64(0)
		for i := 0; i < n; i++ {
			if v.B[i] != x.B[i] {
				r = int64(v.B[i]) - int64(x.B[i])
				break
			}
			if v.B[i] == 0 {
				break // strncmp stops at a NUL
			}
		}
		if r == 0 && len(v.B) != len(x.B) {
			r = 1
			if len(v.B) < len(x.B) {
				r = -1
			}
		}
		return intValue(r), true
	}
	convFns["ltrim"] = func(_ *Txn, a []config.Arg, v Value) (Value, bool) {
		for len(v.B) > 0 && bytes.IndexByte(strBytes(a[0].Str), v.B[0]) >= 0 {
			v.B = v.B[1:]
		}
		return v, true
	}
	convFns["rtrim"] = func(_ *Txn, a []config.Arg, v Value) (Value, bool) {
		for len(v.B) > 0 && bytes.IndexByte(strBytes(a[0].Str), v.B[len(v.B)-1]) >= 0 {
			v.B = v.B[:len(v.B)-1]
		}
		return v, true
	}
	convFns["cut_crlf"] = func(_ *Txn, _ []config.Arg, v Value) (Value, bool) {
		if i := bytes.IndexAny(v.B, "\r\n"); i >= 0 {
			v.B = v.B[:i]
		}
		return v, true
	}
}

// beArgs reads be2dec's and be2hex's separator, chunk size and truncate
// flag.
func beArgs(a []config.Arg) (sep string, chunk int, trunc bool) {
	if len(a) > 0 {
		sep = a[0].Str
	}
	if len(a) > 1 {
		chunk = int(a[1].Int)
	}
	return sep, chunk, len(a) > 2 && a[2].Int != 0
}

// strLen is the length of v cast to a string; numbers and addresses are
// never empty.
func strLen(v Value) int {
	switch v.Type {
	case config.TypeStr:
		return len(v.B)
	case config.TypeBin:
		if i := bytes.IndexByte(v.B, 0); i >= 0 {
			return i
		}
		return len(v.B)
	}
	return 1
}

// appendBase64URL is HAProxy's a2base64url: the URL alphabet, no padding.
func appendBase64URL(dst, in []byte) []byte {
	for len(in) >= 3 {
		dst = append(dst,
			ubase64Alphabet[in[0]>>2],
			ubase64Alphabet[(in[0]&3)<<4|in[1]>>4],
			ubase64Alphabet[(in[1]&15)<<2|in[2]>>6],
			ubase64Alphabet[in[2]&63])
		in = in[3:]
	}
	switch len(in) {
	case 1:
		dst = append(dst, ubase64Alphabet[in[0]>>2], ubase64Alphabet[(in[0]&3)<<4])
	case 2:
		dst = append(dst, ubase64Alphabet[in[0]>>2], ubase64Alphabet[(in[0]&3)<<4|in[1]>>4], ubase64Alphabet[(in[1]&15)<<2])
	}
	return dst
}

// appendBase64URLDecode is HAProxy's base64urldec: the URL alphabet
// without padding, a length of 4N, 4N+2 or 4N+3 characters.
func appendBase64URLDecode(dst, in []byte) ([]byte, bool) {
	if len(in)%4 == 1 {
		return dst, false
	}
	for len(in) > 0 {
		var q [4]byte
		n := min(4, len(in))
		for i := 0; i < n; i++ {
			r := ubase64Rev[in[i]]
			if r < 0 {
				return dst, false
			}
			q[i] = byte(r)
		}
		b := [3]byte{q[0]<<2 | q[1]>>4, q[1]<<4 | q[2]>>2, q[2]<<6 | q[3]}
		dst = append(dst, b[:n-1]...)
		in = in[n:]
	}
	return dst, true
}
