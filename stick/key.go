package stick

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
)

// KeyKind is the kind of key a table is indexed by: HAProxy's
// "stick-table type" argument.
type KeyKind uint8

// The key kinds, in HAProxy's spelling. The zero KeyKind is invalid, so a
// KeyType left unset is caught by NewTable.
const (
	KeyIPv4    KeyKind = iota + 1 // "ip": an IPv4 address, 4 bytes
	KeyIPv6                       // "ipv6": an IPv6 address, 16 bytes
	KeyInteger                    // "integer": a 32-bit integer
	KeyString                     // "string [len N]": up to N bytes of text
	KeyBinary                     // "binary [len N]": exactly N bytes, zero-padded
)

var keyKindNames = [...]string{
	KeyIPv4:    "ip",
	KeyIPv6:    "ipv6",
	KeyInteger: "integer",
	KeyString:  "string",
	KeyBinary:  "binary",
}

// String returns the kind's HAProxy name, as "show table" prints it.
func (k KeyKind) String() string {
	if k == 0 || int(k) >= len(keyKindNames) {
		return "KeyKind(" + strconv.Itoa(int(k)) + ")"
	}
	return keyKindNames[k]
}

// ParseKeyKind returns the key kind HAProxy calls name ("ip", "ipv6",
// "integer", "string", "binary").
func ParseKeyKind(name string) (KeyKind, error) {
	for k := KeyIPv4; k <= KeyBinary; k++ {
		if keyKindNames[k] == name {
			return k, nil
		}
	}
	return 0, fmt.Errorf("unknown stick-table key type %q (expected ip, ipv6, integer, string or binary)", name)
}

// DefaultKeyLen is HAProxy's key size for string and binary tables declared
// without "len". For a string table it counts the terminating NUL HAProxy
// stores, so such a table keeps 31 characters of each key; "len N" keeps N.
const DefaultKeyLen = 32

// MaxKeyLen bounds "len N". HAProxy takes any size its memory allows; fjord
// refuses more than 64 KiB a key so that size×entry stays a sane amount of
// memory and a typo (len 32000000) is caught at load time.
const MaxKeyLen = 65536

// KeyType is a table's key kind and, for string and binary keys, the number
// of bytes a stored key keeps.
type KeyType struct {
	Kind KeyKind
	// Len is the number of key bytes stored: 4 (ip, integer), 16 (ipv6),
	// at most Len characters (string), exactly Len bytes (binary).
	Len int
}

// NewKeyType returns the key type of kind with HAProxy's sizes. length is the
// argument of "len", or 0 when the configuration has none; only string and
// binary keys take one.
func NewKeyType(kind KeyKind, length int) (KeyType, error) {
	switch kind {
	case KeyIPv4, KeyInteger:
		if length != 0 {
			return KeyType{}, fmt.Errorf("stick-table key type %s takes no len (got len %d)", kind, length)
		}
		return KeyType{Kind: kind, Len: 4}, nil
	case KeyIPv6:
		if length != 0 {
			return KeyType{}, fmt.Errorf("stick-table key type %s takes no len (got len %d)", kind, length)
		}
		return KeyType{Kind: kind, Len: 16}, nil
	case KeyString, KeyBinary:
		if length < 0 || length > MaxKeyLen {
			return KeyType{}, fmt.Errorf("stick-table key len %d out of range (1 to %d)", length, MaxKeyLen)
		}
		if length == 0 {
			// HAProxy's default key_size is 32 for both, and a string's
			// includes its NUL.
			if kind == KeyString {
				return KeyType{Kind: kind, Len: DefaultKeyLen - 1}, nil
			}
			return KeyType{Kind: kind, Len: DefaultKeyLen}, nil
		}
		return KeyType{Kind: kind, Len: length}, nil
	}
	return KeyType{}, fmt.Errorf("invalid stick-table key kind %d", kind)
}

// ParseKeyType parses the words after "type" on a stick-table line: a kind,
// then for string and binary an optional "len N". It returns how many words
// it used, so the caller goes on with the rest of the line.
func ParseKeyType(args []string) (KeyType, int, error) {
	if len(args) == 0 {
		return KeyType{}, 0, errors.New("stick-table type: missing key type (expected ip, ipv6, integer, string or binary)")
	}
	kind, err := ParseKeyKind(args[0])
	if err != nil {
		return KeyType{}, 0, err
	}
	if (kind != KeyString && kind != KeyBinary) || len(args) < 2 || args[1] != "len" {
		kt, err := NewKeyType(kind, 0)
		return kt, 1, err
	}
	if len(args) < 3 {
		return KeyType{}, 0, fmt.Errorf("stick-table type %s: 'len' needs a length", kind)
	}
	n, err := strconv.ParseUint(args[2], 10, 32)
	if err != nil || n == 0 {
		return KeyType{}, 0, fmt.Errorf("stick-table type %s: invalid len %q (expected a positive integer)", kind, args[2])
	}
	if n > MaxKeyLen {
		return KeyType{}, 0, fmt.Errorf("stick-table type %s: len %s is more than fjord's limit of %d", kind, args[2], MaxKeyLen)
	}
	kt, err := NewKeyType(kind, int(n))
	return kt, 3, err
}

// String returns the type as a configuration spells it.
func (kt KeyType) String() string {
	switch kt.Kind {
	case KeyString:
		if kt.Len == DefaultKeyLen-1 {
			return "string"
		}
	case KeyBinary:
		if kt.Len == DefaultKeyLen {
			return "binary"
		}
	default:
		return kt.Kind.String()
	}
	return kt.Kind.String() + " len " + strconv.Itoa(kt.Len)
}

// ErrKeyKind reports a key of another kind than the table's. Converting a
// sample to the table's kind (an IPv4 address to an ipv6 table, say) is the
// caller's work, as it is HAProxy's sample casts'.
var ErrKeyKind = errors.New("stick: key of another kind than the table's")

// A Key is a key encoded for one table: the bytes its entries are found by.
// Build one with the KeyType's Append methods into a reused buffer, so a
// lookup allocates nothing.

// AppendIPv4 appends the key of IPv4 address a.
func (kt KeyType) AppendIPv4(dst []byte, a [4]byte) ([]byte, error) {
	if kt.Kind != KeyIPv4 {
		return dst, ErrKeyKind
	}
	return append(dst, a[:]...), nil
}

// AppendIPv6 appends the key of IPv6 address a.
func (kt KeyType) AppendIPv6(dst []byte, a [16]byte) ([]byte, error) {
	if kt.Kind != KeyIPv6 {
		return dst, ErrKeyKind
	}
	return append(dst, a[:]...), nil
}

// AppendInt appends the key of integer v. HAProxy's samples are 64-bit and
// its integer keys 32-bit: it keeps the low 32 bits ((unsigned int)v), and
// so does this.
func (kt KeyType) AppendInt(dst []byte, v int64) ([]byte, error) {
	if kt.Kind != KeyInteger {
		return dst, ErrKeyKind
	}
	return binary.BigEndian.AppendUint32(dst, uint32(v)), nil
}

// AppendString appends the key of string s: its bytes up to the first NUL
// (HAProxy stores keys as C strings), truncated to Len.
func (kt KeyType) AppendString(dst []byte, s []byte) ([]byte, error) {
	if kt.Kind != KeyString {
		return dst, ErrKeyKind
	}
	for i, c := range s {
		if c == 0 {
			s = s[:i]
			break
		}
	}
	if len(s) > kt.Len {
		s = s[:kt.Len]
	}
	return append(dst, s...), nil
}

// AppendBinary appends the key of b: exactly Len bytes, b truncated or
// padded with zeros as HAProxy's smp_to_stkey does.
func (kt KeyType) AppendBinary(dst []byte, b []byte) ([]byte, error) {
	if kt.Kind != KeyBinary {
		return dst, ErrKeyKind
	}
	if len(b) > kt.Len {
		b = b[:kt.Len]
	}
	dst = append(dst, b...)
	for i := len(b); i < kt.Len; i++ {
		dst = append(dst, 0)
	}
	return dst, nil
}

// ParseKey appends the key written as text, as the runtime API's
// "show table T key K" and "clear table T key K" take it: an address for ip
// and ipv6, a decimal 0..4294967295 for integer, the text itself for string.
// HAProxy's runtime API takes no binary key, and neither does this.
func (kt KeyType) ParseKey(dst []byte, text string) ([]byte, error) {
	switch kt.Kind {
	case KeyIPv4:
		a, err := netip.ParseAddr(text)
		if err != nil || !a.Is4() {
			return dst, fmt.Errorf("invalid ip key %q", text)
		}
		return kt.AppendIPv4(dst, a.As4())
	case KeyIPv6:
		a, err := netip.ParseAddr(text)
		if err != nil || !a.Is6() || a.Zone() != "" {
			return dst, fmt.Errorf("invalid ipv6 key %q", text)
		}
		return kt.AppendIPv6(dst, a.As16())
	case KeyInteger:
		v, err := strconv.ParseUint(text, 10, 32)
		if err != nil {
			return dst, fmt.Errorf("invalid integer key %q (expected 0 to 4294967295)", text)
		}
		return kt.AppendInt(dst, int64(v))
	case KeyString:
		return kt.AppendString(dst, []byte(text))
	}
	return dst, fmt.Errorf("a %s key cannot be given as text", kt.Kind)
}

// AppendKeyText appends key as "show table" prints it after "key=": dotted
// or colon form for addresses, the unsigned value for integers, HAProxy's
// dump_text escaping for strings and upper-case hex for binary keys.
func (kt KeyType) AppendKeyText(dst []byte, key []byte) []byte {
	switch kt.Kind {
	case KeyIPv4:
		if len(key) == 4 {
			return netip.AddrFrom4([4]byte(key)).AppendTo(dst)
		}
	case KeyIPv6:
		if len(key) == 16 {
			return netip.AddrFrom16([16]byte(key)).AppendTo(dst)
		}
	case KeyInteger:
		if len(key) == 4 {
			return strconv.AppendUint(dst, uint64(binary.BigEndian.Uint32(key)), 10)
		}
	case KeyString:
		return appendDumpText(dst, key)
	case KeyBinary:
		return appendHex(dst, key)
	}
	// Not a key of this type: show its bytes rather than lie.
	return appendHex(dst, key)
}

const upperHex = "0123456789ABCDEF"

// appendDumpText escapes like HAProxy's dump_text: printable ASCII as is
// except '\\', ' ' and '=' (so the "key=value" fields stay parseable),
// which get a backslash, as do \t \n \r \e; other bytes become \xHH.
func appendDumpText(dst []byte, s []byte) []byte {
	for _, c := range s {
		switch {
		case c == 0:
			return dst
		case c == '\\' || c == ' ' || c == '=':
			dst = append(dst, '\\', c)
		case c == '\t':
			dst = append(dst, '\\', 't')
		case c == '\n':
			dst = append(dst, '\\', 'n')
		case c == '\r':
			dst = append(dst, '\\', 'r')
		case c == 0x1b:
			dst = append(dst, '\\', 'e')
		case c > ' ' && c < 0x7f:
			dst = append(dst, c)
		default:
			dst = append(dst, '\\', 'x', upperHex[c>>4], upperHex[c&0xf])
		}
	}
	return dst
}

func appendHex(dst []byte, b []byte) []byte {
	for _, c := range b {
		dst = append(dst, upperHex[c>>4], upperHex[c&0xf])
	}
	return dst
}
