package rules

import (
	"github.com/fjordlb/fjord/config"
)

// Converters of strings and bytes that keep no state: case, length,
// slices, hexadecimal and base64 (HAProxy's src/sample.c).

const upperHex = "0123456789ABCDEF" // HAProxy's hextab

// HAProxy's base64 alphabet, and its reverse (-1: not in the alphabet).
const base64Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

var base64Rev = func() (r [256]int8) {
	for i := range r {
		r[i] = -1
	}
	for i := 0; i < len(base64Alphabet); i++ {
		r[base64Alphabet[i]] = int8(i)
	}
	return r
}()

func init() {
	convFns["lower"] = func(t *Txn, _ []config.Arg, v Value) (Value, bool) {
		return mapBytes(t, v, 'A', 'Z', 'a'-'A'), true
	}
	convFns["upper"] = func(t *Txn, _ []config.Arg, v Value) (Value, bool) {
		return mapBytes(t, v, 'a', 'z', 'A'-'a'), true
	}
	convFns["length"] = func(_ *Txn, _ []config.Arg, v Value) (Value, bool) {
		return intValue(int64(len(v.B))), true
	}
	convFns["hex"] = func(t *Txn, _ []config.Arg, v Value) (Value, bool) {
		off := len(t.scratch)
		for _, c := range v.B {
			t.scratch = append(t.scratch, upperHex[c>>4], upperHex[c&15])
		}
		return strValue(t.built(off)), true
	}
	convFns["base64"] = func(t *Txn, _ []config.Arg, v Value) (Value, bool) {
		off := len(t.scratch)
		t.scratch = appendBase64(t.scratch, v.B)
		return strValue(t.built(off)), true
	}
	convFns["b64dec"] = func(t *Txn, _ []config.Arg, v Value) (Value, bool) {
		off := len(t.scratch)
		var ok bool
		if t.scratch, ok = appendBase64Decode(t.scratch, v.B); !ok {
			t.scratch = t.scratch[:off]
			return Value{}, false
		}
		return binValue(t.built(off)), true
	}
	// bytes(offset[,length]): as HAProxy 2.6, which compares the offset
	// and the length with the size as unsigned numbers, a negative offset
	// gives nothing and a negative length everything after the offset.
	// The sample keeps its type.
	convFns["bytes"] = func(_ *Txn, a []config.Arg, v Value) (Value, bool) {
		off := a[0].Int
		if off < 0 || int64(len(v.B)) <= off {
			v.B = v.B[:0]
			return v, true
		}
		v.B = v.B[off:]
		if len(a) > 1 && a[1].Int >= 0 && a[1].Int < int64(len(v.B)) {
			v.B = v.B[:a[1].Int]
		}
		return v, true
	}
}

// mapBytes gives v with the bytes from lo to hi shifted by d, built in
// the scratch only when one changes.
func mapBytes(t *Txn, v Value, lo, hi byte, d int) Value {
	i := 0
	for i < len(v.B) && (v.B[i] < lo || v.B[i] > hi) {
		i++
	}
	if i == len(v.B) {
		return v
	}
	off := len(t.scratch)
	t.scratch = append(t.scratch, v.B...)
	out := t.built(off)
	for ; i < len(out); i++ {
		if c := out[i]; c >= lo && c <= hi {
			out[i] = byte(int(c) + d)
		}
	}
	v.B = out
	return v
}

// appendBase64 is HAProxy's a2base64: standard alphabet, padded.
func appendBase64(dst, in []byte) []byte {
	for len(in) >= 3 {
		dst = append(dst,
			base64Alphabet[in[0]>>2],
			base64Alphabet[(in[0]&3)<<4|in[1]>>4],
			base64Alphabet[(in[1]&15)<<2|in[2]>>6],
			base64Alphabet[in[2]&63])
		in = in[3:]
	}
	switch len(in) {
	case 1:
		dst = append(dst, base64Alphabet[in[0]>>2], base64Alphabet[(in[0]&3)<<4], '=', '=')
	case 2:
		dst = append(dst, base64Alphabet[in[0]>>2], base64Alphabet[(in[0]&3)<<4|in[1]>>4], base64Alphabet[(in[1]&15)<<2], '=')
	}
	return dst
}

// appendBase64Decode is HAProxy's base64dec: the input is groups of four
// characters of the standard alphabet, and a group may end with padding
// ("XYZ=", "XY==", and "X===", which gives no byte), any group, not only
// the last; nothing else is accepted, white space included. Bits after
// the last byte are ignored.
func appendBase64Decode(dst, in []byte) ([]byte, bool) {
	if len(in)%4 != 0 {
		return dst, false
	}
	for ; len(in) > 0; in = in[4:] {
		var q [4]byte
		pad := 0
		for i := 0; i < 4; i++ {
			c := in[i]
			if c == '=' {
				if i == 0 {
					return dst, false // "====": a group has a character
				}
				pad++
				continue
			}
			if pad > 0 {
				return dst, false // padding must end the group
			}
			r := base64Rev[c]
			if r < 0 {
				return dst, false
			}
			q[i] = byte(r)
		}
		b := [3]byte{q[0]<<2 | q[1]>>4, q[1]<<4 | q[2]>>2, q[2]<<6 | q[3]}
		dst = append(dst, b[:3-pad]...)
	}
	return dst, true
}
