// Package proxyproto builds and parses PROXY protocol headers (versions 1
// and 2, https://www.haproxy.org/download/3.0/doc/proxy-protocol.txt) for
// fjord's `accept-proxy` binds and `send-proxy`/`send-proxy-v2` servers.
//
// The event loop calls it, so it never blocks and never does I/O: Parse
// looks at bytes the caller peeked with recv(MSG_PEEK) and says whether they
// hold a complete header, a valid prefix of one (ErrNeedMore: peek again
// when more bytes arrive) or something that can never become one
// (ErrInvalid). Parse does not allocate unless it returns an ErrInvalid
// error.
//
// Headers are built with github.com/pires/go-proxyproto. Parsing is done
// here, by hand, because the library reads from a bufio.Reader and
// allocates on every header; the tests cross-check both ways against it.
//
// What Parse accepts:
//
//   - v1: "PROXY TCP4 <ipv4> <ipv4> <port> <port>\r\n",
//     "PROXY TCP6 <ipv6> <ipv6> <port> <port>\r\n", "PROXY UNKNOWN\r\n" and
//     "PROXY UNKNOWN <anything without CR or LF>\r\n", at most 107 bytes
//     including the CRLF. Fields are separated by exactly one space.
//     Addresses must match the announced family (an IPv4 literal in a TCP6
//     line is rejected, "::ffff:192.0.2.1" is accepted); IPv4 octets and
//     ports have no leading zeros and no sign; IPv6 may use "::" and an
//     embedded dotted quad but no zone. Upper- and lower-case hex are both
//     accepted.
//   - v2: the 12-byte signature, version 2, command LOCAL or PROXY, and a
//     total length of at most MaxHeaderLen. PROXY must announce TCP over
//     IPv4 (0x11) or IPv6 (0x21) with a long enough address block; the
//     TLVs after it are skipped, but their framing must exactly fill the
//     block and a PP2_TYPE_CRC32C TLV, if present, must be 4 bytes long,
//     appear once and match (HAProxy checks framing and checksum too).
//     LOCAL may announce any family the
//     specification defines (the block is ignored, per the specification:
//     "discard the protocol block including the family"), so it is not
//     parsed, TLVs included.
//
// Where this differs from HAProxy: HAProxy accepts a v2 PROXY command for
// families it cannot use (UDP, UNIX, UNSPEC) and then keeps the
// connection's own addresses; fjord rejects such a header as invalid.
// HAProxy accepts v2 headers up to its buffer size (16 KiB by default);
// fjord up to MaxHeaderLen bytes. Like go-proxyproto, fjord rejects v1
// ports with leading zeros ("080").
package proxyproto

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"net"
	"net/netip"

	pp "github.com/pires/go-proxyproto"
)

// MaxHeaderLen is the most bytes Parse may need to see, and thus the size a
// caller's peek buffer needs. A v1 header is at most 107 bytes. A v2 header
// is 16 bytes plus a 16-bit length, so up to 65551 bytes in theory; fjord
// accepts v2 headers of up to 4096 bytes in total, which leaves 4044 bytes
// of TLVs after an IPv6 address block: plenty for the TLVs proxies and
// cloud load balancers send (ALPN, authority, unique ID, SSL details, AWS
// VPC endpoint and Azure link IDs), none of which comes close. Parse
// rejects a v2 header announcing more as soon as it sees the length field.
const MaxHeaderLen = 4096

// Header is what a PROXY header announces.
type Header struct {
	Version int  // 1 or 2
	Local   bool // v1 UNKNOWN or v2 LOCAL: use the connection's own addresses
	// Src and Dst are the original client and the address it connected
	// to. They are zero when Local is set.
	Src, Dst netip.AddrPort
}

var (
	// ErrNeedMore says the bytes seen so far are a valid beginning of a
	// PROXY header and more are needed to decide.
	ErrNeedMore = errors.New("proxyproto: incomplete PROXY header")
	// ErrInvalid is wrapped by every error saying the bytes cannot be a
	// PROXY header.
	ErrInvalid = errors.New("proxyproto: invalid PROXY header")
)

const (
	v1MaxLen = 107 // "PROXY UNKNOWN" + 2 × 39 + 2 × 5 + spaces + CRLF
	v2HdrLen = 16
	v2Sig    = "\r\n\r\n\x00\r\nQUIT\n"

	v2CmdLocal = 0x0
	v2CmdProxy = 0x1

	v2FamTCP4 = 0x11
	v2FamTCP6 = 0x21

	v2AddrLen4 = 12 // 2 × 4 address bytes + 2 × 2 port bytes
	v2AddrLen6 = 36 // 2 × 16 + 2 × 2

	tlvCRC32C = 0x03
)

var (
	castagnoli = crc32.MakeTable(crc32.Castagnoli)
	crcZero    [4]byte // stands for the CRC32C field while summing; never written
)

// Build returns the PROXY header (version 1 or 2) announcing a TCP
// connection from src to dst. When either is unset (a client of a Unix
// socket, or a bind on one), the header announces no address, as
// HAProxy's does: "PROXY UNKNOWN" in v1, a LOCAL command in v2.
//
// The family follows HAProxy: when both addresses are IPv4 the header is
// TCP4 (v2: AF_INET); otherwise it is TCP6 (v2: AF_INET6) and an IPv4
// address is sent IPv4-mapped (::ffff:a.b.c.d). An IPv4-mapped IPv6
// address, as accepted on a dual-stack socket, counts as IPv6 (as the
// socket's family does for HAProxy); call Unmap first to send it as IPv4.
// IPv6 zones cannot be expressed in a PROXY header and are dropped.
func Build(version int, src, dst netip.AddrPort) ([]byte, error) {
	if version != 1 && version != 2 {
		return nil, fmt.Errorf("proxyproto: unsupported PROXY protocol version %d (want 1 or 2)", version)
	}
	if !src.IsValid() || !dst.IsValid() {
		if version == 1 {
			return []byte("PROXY UNKNOWN\r\n"), nil
		}
		// Version 2, command LOCAL, family UNSPEC, no address block.
		return append([]byte(v2Sig), 0x20, 0x00, 0x00, 0x00), nil
	}
	sa, da := src.Addr().WithZone(""), dst.Addr().WithZone("")
	proto := pp.TCPv4
	if !sa.Is4() || !da.Is4() {
		proto = pp.TCPv6
		sa, da = netip.AddrFrom16(sa.As16()), netip.AddrFrom16(da.As16())
	}
	h := &pp.Header{
		Version:           byte(version),
		Command:           pp.PROXY,
		TransportProtocol: proto,
		SourceAddr:        &net.TCPAddr{IP: sa.AsSlice(), Port: int(src.Port())},
		DestinationAddr:   &net.TCPAddr{IP: da.AsSlice(), Port: int(dst.Port())},
	}
	b, err := h.Format()
	if err != nil {
		return nil, fmt.Errorf("proxyproto: building v%d header for %v -> %v: %w", version, src, dst, err)
	}
	return b, nil
}

// Parse looks at the first bytes received on an accept-proxy connection.
//
// It returns n > 0 and what the header announces when buf starts with a
// complete valid header of n bytes (bytes after it are not looked at);
// ErrNeedMore when buf is a valid beginning of a header (an empty buf
// included) and more bytes are needed; or an error wrapping ErrInvalid,
// naming what is wrong, as soon as buf cannot be the beginning of a valid
// header. ErrNeedMore is never returned for MaxHeaderLen bytes or more.
//
// ErrNeedMore is exact: some continuation of buf is a valid header (a v1
// line must be able to end within 107 bytes, a v2 length, TLV length or
// address must be able to fit). The one exception is a v2 header with a
// CRC32C TLV, whose last bytes may be unable to match the checksum: that
// is known only once the header is complete.
//
// A v1 "PROXY UNKNOWN" line or a v2 LOCAL command returns Local set and
// zero addresses. Parse does not modify buf and does not keep it.
func Parse(buf []byte) (h Header, n int, err error) {
	if len(buf) == 0 {
		return Header{}, 0, ErrNeedMore
	}
	switch buf[0] {
	case 'P':
		return parseV1(buf)
	case '\r':
		return parseV2(buf)
	}
	return Header{}, 0, invalid("byte %s at offset 0 starts neither a v1 (\"PROXY \") nor a v2 signature", quoted(buf[0]))
}

// invalid returns an error wrapping ErrInvalid. The message is formatted
// only if asked for, so a flood of bad connections stays cheap; args must
// therefore not refer to the caller's buffer (copy such bytes to a string).
func invalid(format string, args ...any) error {
	return &parseError{format, args}
}

type parseError struct {
	format string
	args   []any
}

func (e *parseError) Error() string {
	return ErrInvalid.Error() + ": " + fmt.Sprintf(e.format, e.args...)
}

func (e *parseError) Unwrap() error { return ErrInvalid }

// quoted shows a byte as a Go character literal with its hex value.
type quoted byte

func (c quoted) String() string { return fmt.Sprintf("%q (0x%02x)", rune(c), byte(c)) }

// literal checks that buf continues with lit at off.
func literal(buf []byte, off int, lit, what string) error {
	for i := 0; i < len(lit); i++ {
		if off+i >= len(buf) {
			return ErrNeedMore
		}
		if c := buf[off+i]; c != lit[i] {
			return invalid("%s: byte %s at offset %d, want %q", what, quoted(c), off+i, lit[i])
		}
	}
	return nil
}

// ---- version 1 ----

// Fewest bytes that can follow each field of a TCP4/TCP6 line, including
// the separator after the field: " 0.0.0.0 0 0\r\n", " :: 0 0\r\n",
// " 0 0\r\n", " 0\r\n", "\r\n".
var (
	v1Rest4 = [4]int{14, 6, 4, 2}
	v1Rest6 = [4]int{9, 6, 4, 2}
)

// v1NeedMore returns ErrNeedMore when buf can still be completed within
// v1MaxLen bytes by appending at least more bytes.
func v1NeedMore(buf []byte, more int) error {
	if len(buf)+more > v1MaxLen {
		return invalid("v1: no CRLF within %d bytes (%d seen, at least %d more needed)", v1MaxLen, len(buf), more)
	}
	return ErrNeedMore
}

func parseV1(buf []byte) (Header, int, error) {
	// Nothing beyond the longest line matters; cutting there makes every
	// incomplete line fail v1NeedMore's bound.
	if len(buf) > v1MaxLen {
		buf = buf[:v1MaxLen]
	}
	if err := literal(buf, 0, "PROXY ", "v1 signature"); err != nil {
		return Header{}, 0, err
	}
	if len(buf) == 6 {
		return Header{}, 0, ErrNeedMore
	}
	switch buf[6] {
	case 'T':
		return parseV1TCP(buf)
	case 'U':
		return parseV1Unknown(buf)
	}
	return Header{}, 0, invalid("v1: protocol: byte %s at offset 6, want TCP4, TCP6 or UNKNOWN", quoted(buf[6]))
}

func parseV1Unknown(buf []byte) (Header, int, error) {
	const off = len("PROXY UNKNOWN")
	if err := literal(buf, 6, "UNKNOWN", "v1 protocol"); err != nil {
		return Header{}, 0, err
	}
	if len(buf) == off {
		return Header{}, 0, v1NeedMore(buf, 2)
	}
	switch buf[off] {
	case '\r':
	case ' ':
		// The specification has the receiver ignore whatever follows
		// UNKNOWN up to the CRLF (a sender may add the addresses).
	default:
		return Header{}, 0, invalid("v1: byte %s at offset %d after UNKNOWN, want ' ' or CRLF", quoted(buf[off]), off)
	}
	for i := off; i < len(buf); i++ {
		switch buf[i] {
		case '\n':
			return Header{}, 0, invalid("v1: LF without CR at offset %d", i)
		case '\r':
			if i+1 == len(buf) {
				return Header{}, 0, v1NeedMore(buf, 1)
			}
			if buf[i+1] != '\n' {
				return Header{}, 0, invalid("v1: CR at offset %d followed by %s, want LF", i, quoted(buf[i+1]))
			}
			return Header{Version: 1, Local: true}, i + 2, nil
		}
	}
	return Header{}, 0, v1NeedMore(buf, 2)
}

func parseV1TCP(buf []byte) (Header, int, error) {
	if err := literal(buf, 6, "TCP", "v1 protocol"); err != nil {
		return Header{}, 0, err
	}
	if len(buf) == 9 {
		return Header{}, 0, ErrNeedMore
	}
	six := false
	rest := &v1Rest4
	switch buf[9] {
	case '4':
	case '6':
		six, rest = true, &v1Rest6
	default:
		return Header{}, 0, invalid("v1: protocol: byte %s at offset 9, want TCP4 or TCP6", quoted(buf[9]))
	}
	if err := literal(buf, 10, " ", "v1 after protocol"); err != nil {
		return Header{}, 0, err
	}

	var (
		ips   [2]netip.Addr
		ports [2]uint16
		off   = len("PROXY TCP4 ")
	)
	for f := 0; f < 4; f++ {
		delim := byte(' ')
		if f == 3 {
			delim = '\r'
		}
		end := off
		for end < len(buf) && buf[end] != ' ' && buf[end] != '\r' && buf[end] != '\n' {
			end++
		}
		tok := buf[off:end]
		partial := end == len(buf)
		if !partial && end == off {
			return Header{}, 0, invalid("v1: %s: byte %s at offset %d, want %s", v1Fields[f], quoted(buf[end]), end, v1FieldWant[f])
		}
		var (
			more int
			err  error
		)
		switch {
		case f >= 2:
			ports[f-2], more, err = parsePort(tok, off, partial)
		case six:
			var a [16]byte
			a, more, err = parseIP6(tok, off, partial)
			ips[f] = netip.AddrFrom16(a)
		default:
			var a [4]byte
			a, more, err = parseIP4(tok, off, partial)
			ips[f] = netip.AddrFrom4(a)
		}
		if err != nil {
			return Header{}, 0, err
		}
		if partial {
			return Header{}, 0, v1NeedMore(buf, more+rest[f])
		}
		if buf[end] != delim {
			return Header{}, 0, invalid("v1: %s: byte %s at offset %d, want %s", v1Fields[f], quoted(buf[end]), end, v1Want[f])
		}
		off = end + 1
	}
	// off is past the CR.
	if off == len(buf) {
		return Header{}, 0, v1NeedMore(buf, 1)
	}
	if buf[off] != '\n' {
		return Header{}, 0, invalid("v1: CR at offset %d followed by %s, want LF", off-1, quoted(buf[off]))
	}
	return Header{
		Version: 1,
		Src:     netip.AddrPortFrom(ips[0], ports[0]),
		Dst:     netip.AddrPortFrom(ips[1], ports[1]),
	}, off + 1, nil
}

var (
	v1Fields    = [4]string{"source address", "destination address", "source port", "destination port"}
	v1FieldWant = [4]string{"an address", "an address", "a port", "a port"}
	v1Want      = [4]string{"one space and the destination address", "one space and the source port", "one space and the destination port", "CRLF"}
)

// The token parsers below take a field of a v1 line, tok, found at offset
// base of the line. When partial is set, tok may be the beginning of the
// field: they then return the fewest bytes that complete it (0 if it is
// already complete) or an error if nothing can. Otherwise tok must be the
// whole field.

// parsePort parses a decimal port, 0 to 65535, without sign or leading
// zeros.
func parsePort(tok []byte, base int, partial bool) (port uint16, more int, err error) {
	v := 0
	for i, c := range tok {
		if c < '0' || c > '9' {
			return 0, 0, invalid("v1: port: byte %s at offset %d, want a decimal digit", quoted(c), base+i)
		}
		if i == 1 && v == 0 {
			return 0, 0, invalid("v1: port: leading zero at offset %d", base)
		}
		v = v*10 + int(c-'0')
		if v > 65535 {
			return 0, 0, invalid("v1: port %q at offset %d is greater than 65535", string(tok[:i+1]), base)
		}
	}
	if len(tok) == 0 {
		if partial {
			return 0, 1, nil
		}
		return 0, 0, invalid("v1: empty port at offset %d", base)
	}
	return uint16(v), 0, nil
}

// parseIP4 parses a dotted quad: four decimal octets, 0 to 255, without
// leading zeros (as inet_pton and netip.ParseAddr).
func parseIP4(tok []byte, base int, partial bool) (ip [4]byte, more int, err error) {
	k, d, v := 0, 0, 0 // octets done, digits in the current one, its value
	for i, c := range tok {
		switch {
		case c >= '0' && c <= '9':
			if d == 1 && v == 0 {
				return ip, 0, invalid("v1: IPv4 address: octet with a leading zero at offset %d", base+i-1)
			}
			v = v*10 + int(c-'0')
			d++
			if v > 255 {
				return ip, 0, invalid("v1: IPv4 address: octet greater than 255 at offset %d", base+i-d+1)
			}
		case c == '.':
			if d == 0 {
				return ip, 0, invalid("v1: IPv4 address: empty octet at offset %d", base+i)
			}
			if k == 3 {
				return ip, 0, invalid("v1: IPv4 address: more than four octets at offset %d", base+i)
			}
			ip[k] = byte(v)
			k, d, v = k+1, 0, 0
		default:
			return ip, 0, invalid("v1: IPv4 address: byte %s at offset %d, want a digit or '.'", quoted(c), base+i)
		}
	}
	if partial {
		more = 2 * (3 - k) // ".0" per missing octet
		if d == 0 {
			more++
		}
		if more == 0 {
			ip[3] = byte(v)
		}
		return ip, more, nil
	}
	if k != 3 || d == 0 {
		return ip, 0, invalid("v1: IPv4 address %q at offset %d is incomplete", string(tok), base)
	}
	ip[3] = byte(v)
	return ip, 0, nil
}

// parseIP6 parses an IPv6 address in the text form of RFC 4291 section 2.2
// (as inet_pton and netip.ParseAddr, without zones): up to eight groups of
// one to four hex digits, at most one "::" standing for at least one zero
// group, and optionally a dotted quad as the last two groups.
func parseIP6(tok []byte, base int, partial bool) (ip [16]byte, more int, err error) {
	var (
		g      = 0  // groups stored in ip
		ell    = -1 // group index where "::" stands, or -1
		d      = 0  // hex digits in the current group
		acc    = 0  // its value
		colons = 0  // consecutive colons just seen
		start  = 0  // offset of the current group in tok
	)
	limit := func() int { // groups that may be written explicitly
		if ell >= 0 {
			return 7
		}
		return 8
	}
	for i := 0; i < len(tok); i++ {
		c := tok[i]
		if c == ':' {
			switch {
			case d > 0:
				ip[2*g], ip[2*g+1] = byte(acc>>8), byte(acc)
				g, d, acc, colons = g+1, 0, 0, 1
				if g >= limit() {
					return ip, 0, invalid("v1: IPv6 address: too many groups at offset %d", base+i)
				}
			case colons == 1:
				if ell >= 0 {
					return ip, 0, invalid("v1: IPv6 address: second \"::\" at offset %d", base+i-1)
				}
				ell, colons = g, 2
			case colons == 2:
				return ip, 0, invalid("v1: IPv6 address: \":::\" at offset %d", base+i-2)
			default: // a leading colon, which must start "::"
				colons = 1
			}
			continue
		}
		if c == '.' {
			if d == 0 {
				return ip, 0, invalid("v1: IPv6 address: '.' at offset %d does not follow a digit", base+i)
			}
			if ell < 0 && g != 6 || ell >= 0 && g > 5 {
				return ip, 0, invalid("v1: IPv6 address: embedded IPv4 address at offset %d is not in the last 32 bits", base+start)
			}
			v4, more, err := parseIP4(tok[start:], base+start, partial)
			if err != nil {
				return ip, 0, err
			}
			copy(ip[2*g:], v4[:])
			g += 2
			if partial {
				return ip, more, nil
			}
			d, colons = 0, 0
			break // parseIP4 took the rest of tok
		}
		v := hexVal(c)
		if v < 0 {
			return ip, 0, invalid("v1: IPv6 address: byte %s at offset %d, want a hex digit, ':' or '.'", quoted(c), base+i)
		}
		if d == 0 {
			if colons == 1 && g == 0 && ell < 0 {
				return ip, 0, invalid("v1: IPv6 address: leading ':' at offset %d is not \"::\"", base+i-1)
			}
			if g >= limit() {
				return ip, 0, invalid("v1: IPv6 address: too many groups at offset %d", base+i)
			}
			start = i
		}
		if d == 4 {
			return ip, 0, invalid("v1: IPv6 address: group of more than 4 hex digits at offset %d", base+start)
		}
		acc = acc<<4 | v
		d++
		colons = 0
	}
	if partial {
		switch {
		case colons == 1: // a digit or a second colon
			return ip, 1, nil
		case colons == 2:
			return ip, 0, nil
		case d == 0: // nothing yet: "::"
			return ip, 2, nil
		case ell >= 0 || g+1 == 8:
			return ip, 0, nil
		default: // "::"
			return ip, 2, nil
		}
	}
	if colons == 1 {
		return ip, 0, invalid("v1: IPv6 address %q at offset %d ends with a single ':'", string(tok), base)
	}
	if d > 0 {
		ip[2*g], ip[2*g+1] = byte(acc>>8), byte(acc)
		g++
	}
	if ell < 0 {
		if g != 8 {
			return ip, 0, invalid("v1: IPv6 address %q at offset %d is incomplete", string(tok), base)
		}
		return ip, 0, nil
	}
	// Move the groups after "::" to the end and zero the gap.
	n := 2 * (8 - g)
	for j := 2*g - 1; j >= 2*ell; j-- {
		ip[j+n] = ip[j]
	}
	clear(ip[2*ell : 2*ell+n])
	return ip, 0, nil
}

func hexVal(c byte) int {
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

// ---- version 2 ----

func parseV2(buf []byte) (Header, int, error) {
	if err := literal(buf, 0, v2Sig, "v2 signature"); err != nil {
		return Header{}, 0, err
	}
	if len(buf) < 13 {
		return Header{}, 0, ErrNeedMore
	}
	verCmd := buf[12]
	if verCmd>>4 != 2 {
		return Header{}, 0, invalid("v2: version %d in byte 0x%02x at offset 12, want 2", verCmd>>4, verCmd)
	}
	cmd := verCmd & 0x0f
	if cmd != v2CmdLocal && cmd != v2CmdProxy {
		return Header{}, 0, invalid("v2: command %d in byte 0x%02x at offset 12, want LOCAL (0) or PROXY (1)", cmd, verCmd)
	}
	if len(buf) < 14 {
		return Header{}, 0, ErrNeedMore
	}
	fam := buf[13]
	addrLen := 0
	switch {
	case cmd == v2CmdProxy && fam == v2FamTCP4:
		addrLen = v2AddrLen4
	case cmd == v2CmdProxy && fam == v2FamTCP6:
		addrLen = v2AddrLen6
	case cmd == v2CmdProxy:
		return Header{}, 0, invalid("v2: PROXY command with family/protocol byte 0x%02x at offset 13, want TCP over IPv4 (0x11) or IPv6 (0x21)", fam)
	default:
		switch fam {
		case 0x00, 0x11, 0x12, 0x21, 0x22, 0x31, 0x32:
		default:
			return Header{}, 0, invalid("v2: undefined family/protocol byte 0x%02x at offset 13", fam)
		}
	}
	const maxLen = MaxHeaderLen - v2HdrLen
	if len(buf) < 15 {
		return Header{}, 0, ErrNeedMore
	}
	if int(buf[14])<<8 > maxLen {
		return Header{}, 0, invalid("v2: length of at least %d bytes (byte 0x%02x at offset 14): fjord accepts at most %d", int(buf[14])<<8, buf[14], maxLen)
	}
	if len(buf) < 16 {
		return Header{}, 0, ErrNeedMore
	}
	blockLen := int(binary.BigEndian.Uint16(buf[14:16]))
	if blockLen > maxLen {
		return Header{}, 0, invalid("v2: length %d at offset 14: fjord accepts at most %d", blockLen, maxLen)
	}
	total := v2HdrLen + blockLen
	if cmd == v2CmdLocal {
		if len(buf) < total {
			return Header{}, 0, ErrNeedMore
		}
		return Header{Version: 2, Local: true}, total, nil
	}
	if blockLen < addrLen {
		return Header{}, 0, invalid("v2: length %d at offset 14 is shorter than the %d-byte address block of family 0x%02x", blockLen, addrLen, fam)
	}

	// Walk the TLVs as far as buf goes: each must fit in the block and the
	// last must end exactly at its end.
	crcAt := -1
	for p := v2HdrLen + addrLen; p < total; {
		left := total - p
		if left < 3 {
			return Header{}, 0, invalid("v2: %d byte(s) at offset %d left in the header, too few for a TLV", left, p)
		}
		if len(buf) <= p {
			break
		}
		typ := buf[p]
		if typ == tlvCRC32C {
			if crcAt >= 0 {
				return Header{}, 0, invalid("v2: second CRC32C TLV at offset %d", p)
			}
			// Its 7 bytes must end the header or leave room for a TLV.
			if left != 3+4 && left < 3+4+3 {
				return Header{}, 0, invalid("v2: CRC32C TLV at offset %d: %d byte(s) left in the header, want 7 or at least 10", p, left)
			}
		}
		if len(buf) < p+2 {
			break
		}
		if int(buf[p+1])<<8 > left-3 {
			return Header{}, 0, invalid("v2: TLV type 0x%02x at offset %d is longer than the %d bytes left in the header", typ, p, left-3)
		}
		if typ == tlvCRC32C && buf[p+1] != 0 {
			return Header{}, 0, invalid("v2: CRC32C TLV at offset %d is longer than 4 bytes", p)
		}
		if len(buf) < p+3 {
			break
		}
		tlvLen := int(binary.BigEndian.Uint16(buf[p+1 : p+3]))
		if tlvLen > left-3 {
			return Header{}, 0, invalid("v2: TLV type 0x%02x at offset %d has length %d, more than the %d bytes left in the header", typ, p, tlvLen, left-3)
		}
		if typ == tlvCRC32C {
			if tlvLen != 4 {
				return Header{}, 0, invalid("v2: CRC32C TLV at offset %d has length %d, want 4", p, tlvLen)
			}
			crcAt = p + 3
		}
		p += 3 + tlvLen
	}
	if len(buf) < total {
		return Header{}, 0, ErrNeedMore
	}
	if crcAt >= 0 {
		// The checksum covers the whole header with the CRC field zeroed.
		sum := crc32.Update(0, castagnoli, buf[:crcAt])
		sum = crc32.Update(sum, castagnoli, crcZero[:])
		sum = crc32.Update(sum, castagnoli, buf[crcAt+4:total])
		if want := binary.BigEndian.Uint32(buf[crcAt:]); sum != want {
			return Header{}, 0, invalid("v2: CRC32C TLV at offset %d holds 0x%08x, the header's checksum is 0x%08x", crcAt-3, want, sum)
		}
	}

	a := buf[v2HdrLen:]
	h := Header{Version: 2}
	if fam == v2FamTCP4 {
		h.Src = netip.AddrPortFrom(netip.AddrFrom4([4]byte(a[0:4])), binary.BigEndian.Uint16(a[8:10]))
		h.Dst = netip.AddrPortFrom(netip.AddrFrom4([4]byte(a[4:8])), binary.BigEndian.Uint16(a[10:12]))
	} else {
		h.Src = netip.AddrPortFrom(netip.AddrFrom16([16]byte(a[0:16])), binary.BigEndian.Uint16(a[32:34]))
		h.Dst = netip.AddrPortFrom(netip.AddrFrom16([16]byte(a[16:32])), binary.BigEndian.Uint16(a[34:36]))
	}
	return h, total, nil
}
