package rules

import (
	"net/netip"
	"strconv"

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

// asInt casts v to an integer as HAProxy's c_str2int: a leading sign and
// digits, the rest ignored; ok is false when there are no digits.
func (v Value) asInt() (int64, bool) {
	switch v.Type {
	case config.TypeInt, config.TypeBool:
		return v.I, true
	case config.TypeStr, config.TypeBin:
		return atoi(v.B)
	case config.TypeAddr:
		if v.A.Is4() {
			b := v.A.As4()
			return int64(b[0])<<24 | int64(b[1])<<16 | int64(b[2])<<8 | int64(b[3]), true
		}
	}
	return 0, false
}

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

// asAddr reads v as an address.
func (v Value) asAddr() (netip.Addr, bool) {
	switch v.Type {
	case config.TypeAddr:
		return v.A, v.A.IsValid()
	case config.TypeStr, config.TypeBin:
		a, err := netip.ParseAddr(string(v.B))
		return a, err == nil
	case config.TypeInt:
		return netip.AddrFrom4([4]byte{byte(v.I >> 24), byte(v.I >> 16), byte(v.I >> 8), byte(v.I)}), true
	}
	return netip.Addr{}, false
}
