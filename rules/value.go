package rules

import (
	"encoding/binary"
	"math"
	"net/netip"
	"strconv"
	"unsafe"

	"github.com/fjordlb/fjord/config"
)

// Value is a sample: a fetch's result after its converters.
type Value struct {
	Type config.SampleType
	B    []byte // TypeStr, TypeBin: may alias the message or the Txn's scratch
	I    int64  // TypeInt, TypeBool (0 or 1)
	A    netip.Addr
}

func strValue(b []byte) Value { return Value{Type: config.TypeStr, B: b} }
func binValue(b []byte) Value { return Value{Type: config.TypeBin, B: b} }
func intValue(i int64) Value  { return Value{Type: config.TypeInt, I: i} }
func addrValue(a netip.Addr) Value {
	return Value{Type: config.TypeAddr, A: a}
}

func boolValue(b bool) Value {
	v := Value{Type: config.TypeBool}
	if b {
		v.I = 1
	}
	return v
}

// The casts below are HAProxy's sample_casts (src/sample.c): what a
// converter or a match method is given when the sample has another type.
// config refuses the casts HAProxy has none for when it reads an
// expression; at run time they fail (no sample).

// asInt casts v to an integer: a boolean is its 0 or 1, a string is read
// as HAProxy's c_str2int reads it (a sign and the leading digits, the rest
// ignored, 0 without digits, saturated at the int64 bounds; an empty
// string fails), an IPv4 address is its 32-bit value. Bytes and IPv6
// addresses have no integer value.
func (v Value) asInt() (int64, bool) {
	switch v.Type {
	case config.TypeInt, config.TypeBool:
		return v.I, true
	case config.TypeStr:
		if len(v.B) == 0 {
			return 0, false
		}
		return readInt64(v.B), true
	case config.TypeAddr:
		if v.A.Is4() {
			b := v.A.As4()
			return int64(binary.BigEndian.Uint32(b[:])), true
		}
	}
	return 0, false
}

// readInt64 is HAProxy's read_int64: an optional sign and the digits that
// follow, saturated at the int64 bounds.
func readInt64(b []byte) int64 {
	i, neg := 0, false
	if i < len(b) && (b[i] == '-' || b[i] == '+') {
		neg = b[i] == '-'
		i++
	}
	var n uint64
	for ; i < len(b) && b[i] >= '0' && b[i] <= '9'; i++ {
		d := uint64(b[i] - '0')
		if n > (math.MaxUint64-d)/10 {
			n = math.MaxUint64
			break
		}
		n = n*10 + d
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

// atoi reads a sign and digits, the rest ignored; ok is false when there
// are no digits (n is then 0, which req.hdr_val gives, as HAProxy does).
func atoi(b []byte) (int64, bool) {
	i, neg := 0, false
	if i < len(b) && (b[i] == '-' || b[i] == '+') {
		neg = b[i] == '-'
		i++
	}
	start := i
	var n int64
	for i < len(b) && b[i] >= '0' && b[i] <= '9' {
		n = n*10 + int64(b[i]-'0')
		i++
	}
	if i == start {
		return 0, false
	}
	if neg {
		n = -n
	}
	return n, true
}

// asBool is HAProxy's boolean cast: non-zero integers, non-empty strings.
func (v Value) asBool() bool {
	switch v.Type {
	case config.TypeInt, config.TypeBool:
		return v.I != 0
	case config.TypeStr, config.TypeBin:
		return len(v.B) > 0
	case config.TypeAddr:
		return v.A.IsValid()
	}
	return false
}

// appendText writes v as text, as HAProxy casts a sample to a string.
func (v Value) appendText(dst []byte) []byte {
	switch v.Type {
	case config.TypeInt, config.TypeBool:
		return strconv.AppendInt(dst, v.I, 10)
	case config.TypeAddr:
		return v.A.Unmap().AppendTo(dst)
	}
	return append(dst, v.B...)
}

// asAddr casts v to an address: a string is read as HAProxy's c_str2addr
// reads it (config.ParseSampleAddr), an integer is an IPv4 address.
// Booleans and bytes have no address.
func (v Value) asAddr() (netip.Addr, bool) {
	switch v.Type {
	case config.TypeAddr:
		return v.A, v.A.IsValid()
	case config.TypeStr:
		return config.ParseSampleAddr(bytesStr(v.B))
	case config.TypeInt:
		var b [4]byte
		binary.BigEndian.PutUint32(b[:], uint32(v.I))
		return netip.AddrFrom4(b), true
	}
	return netip.Addr{}, false
}

// cast gives v as a converter taking type to receives it.
func (t *Txn) cast(v Value, to config.SampleType) (Value, bool) {
	switch to {
	case config.TypeStr:
		return t.castStr(v), true
	case config.TypeBin:
		return t.castBin(v), true
	case config.TypeInt:
		n, ok := v.asInt()
		if v.Type == config.TypeBool {
			// HAProxy passes a boolean on as it is (c_none): the
			// converter's result stays a boolean.
			return Value{Type: config.TypeBool, I: n}, ok
		}
		return intValue(n), ok
	case config.TypeAddr:
		a, ok := v.asAddr()
		return addrValue(a), ok
	case config.TypeBool:
		// HAProxy's c_str2int for a string; an integer is passed on
		// as it is (c_none); an address has no boolean.
		n, ok := v.asInt()
		if v.Type == config.TypeAddr {
			ok = false
		}
		return Value{Type: config.TypeBool, I: n}, ok
	}
	return v, true
}

// castStr gives v as a string: bytes end at their first NUL, as HAProxy's
// c_bin2str; numbers and addresses are written out in the scratch.
func (t *Txn) castStr(v Value) Value {
	switch v.Type {
	case config.TypeStr:
		return v
	case config.TypeBin:
		for i, c := range v.B {
			if c == 0 {
				return strValue(v.B[:i])
			}
		}
		return strValue(v.B)
	}
	off := len(t.scratch)
	t.scratch = v.appendText(t.scratch)
	return strValue(t.built(off))
}

// castBin gives v as bytes: a string as it is (it stays a string, as with
// HAProxy's c_none), an integer or a boolean as 8 bytes in network order,
// an address as its 4 or 16 bytes.
func (t *Txn) castBin(v Value) Value {
	off := len(t.scratch)
	switch v.Type {
	case config.TypeStr, config.TypeBin:
		return v
	case config.TypeInt, config.TypeBool:
		t.scratch = binary.BigEndian.AppendUint64(t.scratch, uint64(v.I))
	case config.TypeAddr:
		if v.A.Is4() {
			b := v.A.As4()
			t.scratch = append(t.scratch, b[:]...)
		} else {
			b := v.A.As16()
			t.scratch = append(t.scratch, b[:]...)
		}
	}
	return binValue(t.built(off))
}

// bytesStr is a read-only view of b as a string, without copying, for
// functions that take a string and do not keep it.
func bytesStr(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}
