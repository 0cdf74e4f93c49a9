package proxyproto

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math/rand/v2"
	"net"
	"net/netip"
	"slices"
	"strings"
	"testing"

	pp "github.com/pires/go-proxyproto"
)

// ---- helpers ----

var ap = netip.MustParseAddrPort

// v2 assembles a version 2 header: signature, version/command, family,
// the length of the block and the block.
func v2(verCmd, fam byte, block ...[]byte) string {
	b := []byte(v2Sig)
	b = append(b, verCmd, fam)
	blk := bytes.Join(block, nil)
	b = binary.BigEndian.AppendUint16(b, uint16(len(blk)))
	return string(append(b, blk...))
}

// v2Len is v2 with an explicit length field (which may lie).
func v2Len(verCmd, fam byte, length int, block ...[]byte) string {
	b := []byte(v2(verCmd, fam, block...))
	binary.BigEndian.PutUint16(b[14:], uint16(length))
	return string(b)
}

// addrs4/addrs6 are v2 address blocks.
func addrs4(src, dst netip.AddrPort) []byte {
	s, d := src.Addr().As4(), dst.Addr().As4()
	b := append(s[:], d[:]...)
	b = binary.BigEndian.AppendUint16(b, src.Port())
	return binary.BigEndian.AppendUint16(b, dst.Port())
}

func addrs6(src, dst netip.AddrPort) []byte {
	s, d := src.Addr().As16(), dst.Addr().As16()
	b := append(s[:], d[:]...)
	b = binary.BigEndian.AppendUint16(b, src.Port())
	return binary.BigEndian.AppendUint16(b, dst.Port())
}

func tlv(typ byte, val string) []byte {
	b := []byte{typ}
	b = binary.BigEndian.AppendUint16(b, uint16(len(val)))
	return append(b, val...)
}

// withCRC appends a CRC32C TLV to a v2 header (fixing its length) and
// fills in the checksum; bad makes it wrong.
func withCRC(hdr string, bad bool) string {
	b := append([]byte(hdr), tlv(tlvCRC32C, "\x00\x00\x00\x00")...)
	binary.BigEndian.PutUint16(b[14:], uint16(len(b)-v2HdrLen))
	sum := crc32.Checksum(b, crc32.MakeTable(crc32.Castagnoli))
	if bad {
		sum ^= 1
	}
	binary.BigEndian.PutUint32(b[len(b)-4:], sum)
	return string(b)
}

const (
	cmdLocal = 0x20
	cmdProxy = 0x21
)

type result int

const (
	resOK result = iota
	resNeedMore
	resInvalid
)

func (r result) String() string { return [...]string{"ok", "ErrNeedMore", "ErrInvalid"}[r] }

// classify checks the shape of Parse's results and says which kind they are.
// (No t.Helper: it is called very often and its messages say enough.)
func classify(t testing.TB, buf []byte, h Header, n int, err error) result {
	switch {
	case err == nil:
		if n <= 0 || n > len(buf) || n > MaxHeaderLen {
			t.Fatalf("Parse(%q) = ok with n=%d (len %d)", buf, n, len(buf))
		}
		if h.Version != 1 && h.Version != 2 {
			t.Fatalf("Parse(%q) = version %d", buf, h.Version)
		}
		if h.Local != (!h.Src.IsValid() && !h.Dst.IsValid()) || !h.Local && (!h.Src.IsValid() || !h.Dst.IsValid()) {
			t.Fatalf("Parse(%q) = %+v: Local must go with zero addresses and only with them", buf, h)
		}
		return resOK
	case err == ErrNeedMore:
		if n != 0 || h != (Header{}) {
			t.Fatalf("Parse(%q) = %+v, %d with ErrNeedMore", buf, h, n)
		}
		if len(buf) >= MaxHeaderLen {
			t.Fatalf("Parse(%d bytes) = ErrNeedMore at MaxHeaderLen", len(buf))
		}
		return resNeedMore
	case errors.Is(err, ErrInvalid):
		if n != 0 || h != (Header{}) {
			t.Fatalf("Parse(%q) = %+v, %d with %v", buf, h, n, err)
		}
		return resInvalid
	}
	t.Fatalf("Parse(%q): unexpected error %v", buf, err)
	return 0
}

func parseKind(t testing.TB, buf []byte) (Header, int, result, error) {
	h, n, err := Parse(buf)
	return h, n, classify(t, buf, h, n, err), err
}

// ---- valid headers ----

type validCase struct {
	name string
	in   string
	want Header
}

var (
	src4, dst4 = ap("192.0.2.1:56324"), ap("198.51.100.2:443")
	src6, dst6 = ap("[2001:db8::1]:56324"), ap("[2001:db8:ffff::2]:443")
	mapS, mapD = ap("[::ffff:192.0.2.1]:1234"), ap("[::ffff:198.51.100.2]:80")
)

var validCases = []validCase{
	{"v1 TCP4", "PROXY TCP4 192.0.2.1 198.51.100.2 56324 443\r\n", Header{1, false, src4, dst4}},
	{"v1 TCP4 extremes", "PROXY TCP4 0.0.0.0 255.255.255.255 0 65535\r\n",
		Header{1, false, ap("0.0.0.0:0"), ap("255.255.255.255:65535")}},
	{"v1 TCP4 one-digit octets", "PROXY TCP4 1.2.3.4 10.0.200.9 1 10\r\n",
		Header{1, false, ap("1.2.3.4:1"), ap("10.0.200.9:10")}},
	{"v1 TCP6", "PROXY TCP6 2001:db8::1 2001:db8:ffff::2 56324 443\r\n", Header{1, false, src6, dst6}},
	{"v1 TCP6 loopback and any", "PROXY TCP6 ::1 :: 65535 0\r\n", Header{1, false, ap("[::1]:65535"), ap("[::]:0")}},
	{"v1 TCP6 v4-mapped", "PROXY TCP6 ::ffff:192.0.2.1 ::ffff:198.51.100.2 1234 80\r\n", Header{1, false, mapS, mapD}},
	{"v1 TCP6 hex forms", "PROXY TCP6 2001:DB8:0:0:0:0:0:1 2001:0db8:FFFF:0::0002 56324 443\r\n", Header{1, false, src6, dst6}},
	{"v1 TCP6 ellipsis ends", "PROXY TCP6 1:2:3:4:5:6:7:: ::2:3:4:5:6:7:8 1 2\r\n",
		Header{1, false, ap("[1:2:3:4:5:6:7:0]:1"), ap("[0:2:3:4:5:6:7:8]:2")}},
	{"v1 TCP6 embedded IPv4", "PROXY TCP6 1:2:3:4:5:6:1.2.3.4 ::1.2.3.4 1 2\r\n",
		Header{1, false, ap("[1:2:3:4:5:6:102:304]:1"), ap("[::102:304]:2")}},
	{"v1 TCP6 longest", "PROXY TCP6 ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff FFFF:FFFF:FFFF:FFFF:FFFF:FFFF:FFFF:FFFF 65535 65535\r\n",
		Header{1, false, ap("[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535"), ap("[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535")}},
	{"v1 TCP6 exactly 107 bytes", "PROXY TCP6 ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255 ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.25 1 2\r\n",
		Header{1, false, ap("[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:1"), ap("[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ff19]:2")}},
	{"v1 UNKNOWN", "PROXY UNKNOWN\r\n", Header{1, true, netip.AddrPort{}, netip.AddrPort{}}},
	{"v1 UNKNOWN with addresses", "PROXY UNKNOWN ::1 ::2 1 2\r\n", Header{Version: 1, Local: true}},
	{"v1 UNKNOWN worst case 107 bytes", "PROXY UNKNOWN ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n",
		Header{Version: 1, Local: true}},
	{"v1 UNKNOWN anything", "PROXY UNKNOWN \x00\xff any thing\t\r\n", Header{Version: 1, Local: true}},

	{"v2 TCP4", v2(cmdProxy, v2FamTCP4, addrs4(src4, dst4)), Header{2, false, src4, dst4}},
	{"v2 TCP6", v2(cmdProxy, v2FamTCP6, addrs6(src6, dst6)), Header{2, false, src6, dst6}},
	{"v2 TCP6 v4-mapped", v2(cmdProxy, v2FamTCP6, addrs6(mapS, mapD)), Header{2, false, mapS, mapD}},
	{"v2 TCP4 TLVs", v2(cmdProxy, v2FamTCP4, addrs4(src4, dst4), tlv(0x01, "h2"), tlv(0x02, "example.com"), tlv(0x04, ""), tlv(0xe0, "custom")),
		Header{2, false, src4, dst4}},
	{"v2 TCP6 TLVs and CRC32C", withCRC(v2(cmdProxy, v2FamTCP6, addrs6(src6, dst6), tlv(0x05, "unique-id"), tlv(0x20, "\x01\x00\x00\x00\x00")), false),
		Header{2, false, src6, dst6}},
	{"v2 TCP4 CRC32C only", withCRC(v2(cmdProxy, v2FamTCP4, addrs4(src4, dst4)), false), Header{2, false, src4, dst4}},
	{"v2 TCP4 MaxHeaderLen", v2(cmdProxy, v2FamTCP4, addrs4(src4, dst4), tlv(0x04, strings.Repeat("\xaa", MaxHeaderLen-v2HdrLen-v2AddrLen4-3))),
		Header{2, false, src4, dst4}},
	{"v2 LOCAL", v2(cmdLocal, 0x00), Header{Version: 2, Local: true}},
	{"v2 LOCAL TCP4 block ignored", v2(cmdLocal, v2FamTCP4, addrs4(src4, dst4)), Header{Version: 2, Local: true}},
	{"v2 LOCAL TLVs", v2(cmdLocal, 0x00, tlv(0x04, "pad")), Header{Version: 2, Local: true}},
	{"v2 LOCAL UNIX", v2(cmdLocal, 0x31, make([]byte, 216)), Header{Version: 2, Local: true}},
	{"v2 LOCAL UDP6 short block", v2(cmdLocal, 0x22, []byte("odd")), Header{Version: 2, Local: true}},
	{"v2 LOCAL MaxHeaderLen", v2(cmdLocal, 0x00, make([]byte, MaxHeaderLen-v2HdrLen)), Header{Version: 2, Local: true}},
}

func findValid(name string) validCase {
	for _, tc := range validCases {
		if tc.name == name {
			return tc
		}
	}
	panic("no valid case " + name)
}

func TestParseValid(t *testing.T) {
	for _, tc := range validCases {
		t.Run(tc.name, func(t *testing.T) {
			in := []byte(tc.in)
			h, n, _, err := parseKind(t, in)
			if err != nil || n != len(in) || h != tc.want {
				t.Fatalf("Parse = %+v, %d, %v; want %+v, %d, nil", h, n, err, tc.want, len(in))
			}
			// What follows the header is not looked at.
			for _, tail := range []string{"GET / HTTP/1.1\r\n", "\x00", "\r\n", tc.in, strings.Repeat("x", MaxHeaderLen)} {
				h2, n2, _, err2 := parseKind(t, []byte(tc.in+tail))
				if err2 != nil || n2 != n || h2 != h {
					t.Fatalf("with %q after it: Parse = %+v, %d, %v", tail[:min(len(tail), 20)], h2, n2, err2)
				}
			}
			// Every proper prefix is a valid beginning.
			for k := range len(in) {
				if _, _, err := Parse(in[:k]); err != ErrNeedMore {
					t.Fatalf("Parse(first %d of %d bytes %q) = %v, want ErrNeedMore", k, len(in), in[:k], err)
				}
			}
		})
	}
}

// ---- invalid input ----

type invalidCase struct {
	name string
	in   string
	at   int    // Parse of the first at bytes is the first to say invalid
	msg  string // in the error message
}

func pre(s string) int { return len(s) }

var invalidCases = []invalidCase{
	{"HTTP request", "GET / HTTP/1.1\r\n", 1, `'G' (0x47) at offset 0`},
	{"TLS hello", "\x16\x03\x01\x02\x00", 1, "offset 0"},
	{"lower-case proxy", "proxy TCP4 1.2.3.4 5.6.7.8 1 2\r\n", 1, "offset 0"},
	{"PROXZ", "PROXZ TCP4", 5, `v1 signature: byte 'Z' (0x5a) at offset 4, want 'Y'`},
	{"tab after PROXY", "PROXY\tTCP4", 6, "offset 5"},
	{"two spaces after PROXY", "PROXY  TCP4 1.2.3.4 5.6.7.8 1 2\r\n", 7, "protocol: byte ' ' (0x20) at offset 6"},
	{"lower-case protocol", "PROXY tcp4 1.2.3.4 5.6.7.8 1 2\r\n", 7, "protocol"},
	{"TCP5", "PROXY TCP5 1.2.3.4 5.6.7.8 1 2\r\n", 10, "'5' (0x35) at offset 9"},
	{"UDP4", "PROXY UDP4 1.2.3.4 5.6.7.8 1 2\r\n", 8, "v1 protocol: byte 'D' (0x44) at offset 7, want 'N'"},
	{"TCP4 without space", "PROXY TCP4\r\n", 11, "offset 10"},
	{"two spaces before source", "PROXY TCP4  1.2.3.4 5.6.7.8 1 2\r\n", 12, "source address: byte ' ' (0x20) at offset 11"},
	{"two spaces before destination", "PROXY TCP4 1.2.3.4  5.6.7.8 1 2\r\n", pre("PROXY TCP4 1.2.3.4  "), "destination address"},
	{"space before CRLF", "PROXY TCP4 1.2.3.4 5.6.7.8 1 2 \r\n", pre("PROXY TCP4 1.2.3.4 5.6.7.8 1 2 "), "want CRLF"},
	{"extra field", "PROXY TCP4 1.2.3.4 5.6.7.8 1 2 3\r\n", pre("PROXY TCP4 1.2.3.4 5.6.7.8 1 2 "), "destination port"},
	{"missing field", "PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n", pre("PROXY TCP4 1.2.3.4 5.6.7.8 1\r"), "source port: byte '\\r'"},
	{"LF without CR", "PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n", pre("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n"), "'\\n'"},
	{"CR without LF", "PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\r\n", pre("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\r"), "want LF"},
	{"IPv4 octet 256", "PROXY TCP4 256.1.1.1 5.6.7.8 1 2\r\n", 14, "greater than 255 at offset 11"},
	{"IPv4 octet 1000", "PROXY TCP4 1.2.3.1000 5.6.7.8 1 2\r\n", pre("PROXY TCP4 1.2.3.1000"), "greater than 255"},
	{"IPv4 leading zero", "PROXY TCP4 01.2.3.4 5.6.7.8 1 2\r\n", 13, "leading zero at offset 11"},
	{"IPv4 three octets", "PROXY TCP4 1.2.3 5.6.7.8 1 2\r\n", pre("PROXY TCP4 1.2.3 "), "incomplete"},
	{"IPv4 five octets", "PROXY TCP4 1.2.3.4.5 5.6.7.8 1 2\r\n", pre("PROXY TCP4 1.2.3.4."), "more than four octets"},
	{"IPv4 empty octet", "PROXY TCP4 1..2.3 5.6.7.8 1 2\r\n", pre("PROXY TCP4 1.."), "empty octet"},
	{"IPv4 trailing dot", "PROXY TCP4 1.2.3. 5.6.7.8 1 2\r\n", pre("PROXY TCP4 1.2.3. "), "incomplete"},
	{"IPv4 sign", "PROXY TCP4 +1.2.3.4 5.6.7.8 1 2\r\n", 12, "'+'"},
	{"IPv6 in TCP4", "PROXY TCP4 ::1 ::1 1 2\r\n", 12, "':' (0x3a) at offset 11"},
	{"IPv4 in TCP6", "PROXY TCP6 1.2.3.4 5.6.7.8 1 2\r\n", 13, "embedded IPv4"},
	{"IPv6 zone", "PROXY TCP6 fe80::1%eth0 ::1 1 2\r\n", pre("PROXY TCP6 fe80::1%"), "'%'"},
	{"IPv6 brackets", "PROXY TCP6 [::1] ::1 1 2\r\n", 12, "'['"},
	{"IPv6 nine groups", "PROXY TCP6 1:2:3:4:5:6:7:8:9 ::1 1 2\r\n", pre("PROXY TCP6 1:2:3:4:5:6:7:8:"), "too many groups"},
	{"IPv6 eight groups and ::", "PROXY TCP6 1:2:3:4::5:6:7:8 ::1 1 2\r\n", pre("PROXY TCP6 1:2:3:4::5:6:7:"), "too many groups"},
	{"IPv6 :: after eight groups", "PROXY TCP6 1:2:3:4:5:6:7:8:: ::1 1 2\r\n", pre("PROXY TCP6 1:2:3:4:5:6:7:8:"), "too many groups"},
	{"IPv6 two ::", "PROXY TCP6 1::2::3 ::1 1 2\r\n", pre("PROXY TCP6 1::2::"), `second "::"`},
	{"IPv6 :::", "PROXY TCP6 :::1 ::1 1 2\r\n", pre("PROXY TCP6 :::"), `":::"`},
	{"IPv6 five-digit group", "PROXY TCP6 12345::1 ::1 1 2\r\n", pre("PROXY TCP6 12345"), "more than 4 hex digits"},
	{"IPv6 leading single colon", "PROXY TCP6 :1::2 ::1 1 2\r\n", pre("PROXY TCP6 :1"), "leading ':'"},
	{"IPv6 trailing single colon", "PROXY TCP6 ::1 1: 1 2\r\n", pre("PROXY TCP6 ::1 1: "), "single ':'"},
	{"IPv6 seven groups", "PROXY TCP6 1:2:3:4:5:6:7 ::1 1 2\r\n", pre("PROXY TCP6 1:2:3:4:5:6:7 "), "incomplete"},
	{"IPv6 non-hex", "PROXY TCP6 ::g ::1 1 2\r\n", pre("PROXY TCP6 ::g"), "'g'"},
	{"IPv6 embedded IPv4 too early", "PROXY TCP6 1:2:3:4:5:1.2.3.4 ::1 1 2\r\n", pre("PROXY TCP6 1:2:3:4:5:1."), "embedded IPv4"},
	{"IPv6 embedded IPv4 hex", "PROXY TCP6 ::a.2.3.4 ::1 1 2\r\n", pre("PROXY TCP6 ::a."), "'a'"},
	{"IPv6 embedded IPv4 leading zero", "PROXY TCP6 ::1.02.3.4 ::1 1 2\r\n", pre("PROXY TCP6 ::1.02"), "leading zero"},
	{"IPv6 embedded IPv4 and more", "PROXY TCP6 ::1.2.3.4:1 ::1 1 2\r\n", pre("PROXY TCP6 ::1.2.3.4:"), "':'"},
	{"TCP6 line over 107 bytes", "PROXY TCP6 ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255 ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255 1 2\r\n",
		pre("PROXY TCP6 ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255 ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255"), "no CRLF within 107 bytes"},
	{"port 65536", "PROXY TCP4 1.2.3.4 5.6.7.8 65536 2\r\n", pre("PROXY TCP4 1.2.3.4 5.6.7.8 65536"), "greater than 65535"},
	{"port 100000", "PROXY TCP4 1.2.3.4 5.6.7.8 1 100000\r\n", pre("PROXY TCP4 1.2.3.4 5.6.7.8 1 100000"), "greater than 65535"},
	{"port +1", "PROXY TCP4 1.2.3.4 5.6.7.8 +1 2\r\n", pre("PROXY TCP4 1.2.3.4 5.6.7.8 +"), "'+'"},
	{"port -1", "PROXY TCP4 1.2.3.4 5.6.7.8 -1 2\r\n", pre("PROXY TCP4 1.2.3.4 5.6.7.8 -"), "'-'"},
	{"port leading zero", "PROXY TCP4 1.2.3.4 5.6.7.8 080 2\r\n", pre("PROXY TCP4 1.2.3.4 5.6.7.8 08"), "leading zero"},
	{"port 00", "PROXY TCP4 1.2.3.4 5.6.7.8 1 00\r\n", pre("PROXY TCP4 1.2.3.4 5.6.7.8 1 00"), "leading zero"},
	{"port hex", "PROXY TCP4 1.2.3.4 5.6.7.8 0x50 2\r\n", pre("PROXY TCP4 1.2.3.4 5.6.7.8 0x"), "'x'"},
	{"empty port", "PROXY TCP4 1.2.3.4 5.6.7.8  2\r\n", pre("PROXY TCP4 1.2.3.4 5.6.7.8  "), "source port"},
	{"UNKNOWN glued", "PROXY UNKNOWNX\r\n", 14, "after UNKNOWN"},
	{"UNKNOWN tab", "PROXY UNKNOWN\t\r\n", 14, "after UNKNOWN"},
	{"UNKNOWN bare LF", "PROXY UNKNOWN a\nb\r\n", 16, "LF without CR at offset 15"},
	{"UNKNOWN bare CR", "PROXY UNKNOWN a\rb\r\n", 17, "followed by 'b'"},
	{"UNKNOWN CR CR", "PROXY UNKNOWN\r\r\n", 15, "want LF"},
	{"UNKNOWN over 107 bytes", "PROXY UNKNOWN " + strings.Repeat("x", 92) + "\r\n", 106, "no CRLF within 107 bytes"},
	{"UNKNOWN far over 107 bytes", "PROXY UNKNOWN " + strings.Repeat("x", 200) + "\r\n", 106, "no CRLF within 107 bytes"},
	{"UNKNOWN CR at 107", "PROXY UNKNOWN " + strings.Repeat("x", 92) + "\r\n", 106, "(107 seen, at least 1 more needed)"},
	{"UNKNOWN 107 bytes without CR", "PROXY UNKNOWN " + strings.Repeat("x", 93), 106, "(107 seen, at least 2 more needed)"},

	{"v2 bad signature", v2Sig[:11] + "\r\x21\x11\x00\x0c", 12, "v2 signature: byte '\\r' (0x0d) at offset 11, want '\\n'"},
	{"v2 signature NUL", "\r\n\r\n\x01", 5, "offset 4"},
	{"v2 CRLF only", "\r\r", 2, "offset 1"},
	{"v2 version 1", v2Sig + "\x11\x11\x00\x0c", 13, "version 1 in byte 0x11 at offset 12"},
	{"v2 version 3", v2Sig + "\x31\x11\x00\x0c", 13, "version 3"},
	{"v2 version 0", v2Sig + "\x01\x11\x00\x0c", 13, "version 0"},
	{"v2 command 2", v2Sig + "\x22\x11\x00\x0c", 13, "command 2"},
	{"v2 command 15", v2Sig + "\x2f\x11\x00\x0c", 13, "command 15"},
	{"v2 PROXY UDP4", v2(cmdProxy, 0x12, addrs4(src4, dst4)), 14, "family/protocol byte 0x12"},
	{"v2 PROXY UDP6", v2(cmdProxy, 0x22, addrs6(src6, dst6)), 14, "0x22"},
	{"v2 PROXY UNIX", v2(cmdProxy, 0x31, make([]byte, 216)), 14, "0x31"},
	{"v2 PROXY UNSPEC", v2(cmdProxy, 0x00), 14, "0x00"},
	{"v2 PROXY INET unspecified protocol", v2(cmdProxy, 0x10, addrs4(src4, dst4)), 14, "0x10"},
	{"v2 LOCAL undefined family", v2(cmdLocal, 0x13), 14, "undefined family/protocol byte 0x13"},
	{"v2 LOCAL family 0x41", v2(cmdLocal, 0x41), 14, "0x41"},
	{"v2 length 4096", v2Len(cmdProxy, v2FamTCP4, 0x1000, addrs4(src4, dst4)), 15, "at least 4096 bytes"},
	{"v2 length 65535", v2Len(cmdLocal, 0, 0xffff), 15, "at offset 14"},
	{"v2 length 4081", v2Len(cmdProxy, v2FamTCP4, MaxHeaderLen-v2HdrLen+1, addrs4(src4, dst4)), 16, "length 4081 at offset 14: fjord accepts at most 4080"},
	{"v2 LOCAL length 4081", v2Len(cmdLocal, 0, MaxHeaderLen-v2HdrLen+1), 16, "length 4081"},
	{"v2 TCP4 length 0", v2Len(cmdProxy, v2FamTCP4, 0), 16, "shorter than the 12-byte address block"},
	{"v2 TCP4 length 11", v2Len(cmdProxy, v2FamTCP4, 11, addrs4(src4, dst4)), 16, "length 11"},
	{"v2 TCP6 length 12", v2(cmdProxy, v2FamTCP6, addrs4(src4, dst4)), 16, "36-byte address block"},
	{"v2 TCP4 length 13", v2(cmdProxy, v2FamTCP4, addrs4(src4, dst4), []byte{4}), 16, "1 byte(s) at offset 28 left"},
	{"v2 TCP4 length 14", v2(cmdProxy, v2FamTCP4, addrs4(src4, dst4), []byte{4, 0}), 16, "2 byte(s)"},
	{"v2 TLV too long", v2Len(cmdProxy, v2FamTCP4, 12+3+5, addrs4(src4, dst4), tlv(4, "123456")), 16 + 12 + 3, "length 6, more than the 5 bytes left"},
	{"v2 TLV far too long", v2Len(cmdProxy, v2FamTCP4, 12+3+5, addrs4(src4, dst4), tlv(4, strings.Repeat("x", 256))), 16 + 12 + 2, "longer than the 5 bytes left"},
	{"v2 TLV leaves 2 bytes", v2(cmdProxy, v2FamTCP4, addrs4(src4, dst4), tlv(4, "x"), []byte{4, 0}), 16 + 12 + 3, "2 byte(s) at offset 32 left"},
	{"v2 second TLV too long", v2Len(cmdProxy, v2FamTCP6, 36+4+3+1, addrs6(src6, dst6), tlv(1, "h"), tlv(2, "ab")), 16 + 36 + 4 + 3, "length 2, more than the 1 bytes left"},
	{"v2 CRC32C wrong", withCRC(v2(cmdProxy, v2FamTCP4, addrs4(src4, dst4), tlv(1, "h2")), true), 16 + 12 + 5 + 7, "CRC32C TLV at offset 33 holds"},
	{"v2 CRC32C short", v2(cmdProxy, v2FamTCP4, addrs4(src4, dst4), tlv(tlvCRC32C, "abc"), tlv(4, "x")), 16 + 12 + 3, "has length 3, want 4"},
	{"v2 CRC32C twice", v2(cmdProxy, v2FamTCP4, addrs4(src4, dst4), tlv(tlvCRC32C, "abcd"), tlv(tlvCRC32C, "abcd")), 16 + 12 + 7 + 1, "second CRC32C TLV at offset 35"},
	{"v2 CRC32C no room", v2(cmdProxy, v2FamTCP4, addrs4(src4, dst4), tlv(1, "abcdefgh"), tlv(tlvCRC32C, "")), 16 + 12 + 11 + 1, "CRC32C TLV at offset 39: 3 byte(s) left in the header, want 7 or at least 10"},
	{"v2 CRC32C leaves 2 bytes", v2(cmdProxy, v2FamTCP4, addrs4(src4, dst4), tlv(tlvCRC32C, "abcd"), []byte{4, 0}), 16 + 12 + 1, "9 byte(s) left"},
	{"v2 CRC32C length 256", v2(cmdProxy, v2FamTCP4, addrs4(src4, dst4), tlv(tlvCRC32C, strings.Repeat("x", 256))), 16 + 12 + 2, "longer than 4 bytes"},
}

func infindValid(name string) invalidCase {
	for _, tc := range invalidCases {
		if tc.name == name {
			return tc
		}
	}
	panic("no invalid case " + name)
}

func TestParseInvalid(t *testing.T) {
	for _, tc := range invalidCases {
		t.Run(tc.name, func(t *testing.T) {
			in := []byte(tc.in)
			_, _, kind, err := parseKind(t, in)
			if kind != resInvalid {
				t.Fatalf("Parse(%q) = %v, want ErrInvalid", in, err)
			}
			if !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("error %q does not contain %q", err, tc.msg)
			}
			if !strings.HasPrefix(err.Error(), ErrInvalid.Error()+": ") {
				t.Errorf("error %q does not start with %q", err, ErrInvalid.Error())
			}
			if tc.at > len(in) {
				t.Fatalf("bad test: at %d > len %d", tc.at, len(in))
			}
			// Invalid exactly from the first at bytes on, never before.
			for k := 0; k <= len(in); k++ {
				_, _, kind, err := parseKind(t, in[:k])
				want := resNeedMore
				if k >= tc.at {
					want = resInvalid
				}
				if kind != want {
					t.Fatalf("Parse(first %d bytes %q) = %v, want %v (invalid from %d bytes on)", k, in[:k], err, want, tc.at)
				}
			}
			// Nothing after it changes the verdict.
			if _, _, kind, err := parseKind(t, append(in[:tc.at:tc.at], "\r\n\r\nPROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n"...)); kind != resInvalid {
				t.Fatalf("with more bytes: %v", err)
			}
		})
	}
}

// TestErrorDoesNotKeepBuffer: errors are formatted lazily, so they must
// not refer to the caller's buffer, which the event loop reuses.
func TestErrorDoesNotKeepBuffer(t *testing.T) {
	for _, tc := range invalidCases {
		in := []byte(tc.in)
		_, _, err := Parse(in)
		before := err.Error()
		for i := range in {
			in[i] = '#'
		}
		if after := err.Error(); after != before {
			t.Errorf("%s: error changed with the buffer: %q, then %q", tc.name, before, after)
		}
	}
}

// TestParseNeedMore lists beginnings the tables above do not reach.
func TestParseNeedMore(t *testing.T) {
	for _, s := range []string{
		"", "P", "PROX", "PROXY", "PROXY ", "PROXY T", "PROXY U", "PROXY TCP", "PROXY UNKNOWN", "PROXY UNKNOWN ",
		"PROXY UNKNOWN \r", "PROXY TCP4 ", "PROXY TCP4 1", "PROXY TCP4 1.", "PROXY TCP4 25", "PROXY TCP4 0.0.0.0",
		"PROXY TCP4 0.0.0.0 0.0.0.0 0 0\r", "PROXY TCP6 :", "PROXY TCP6 ::", "PROXY TCP6 1:", "PROXY TCP6 1:2:3:4:5:6:7:8",
		"PROXY TCP6 1:2:3:4:5:6:7::", "PROXY TCP6 1:2:3:4:5:6:255.", "PROXY TCP6 ::ffff:1.2.3.4", "PROXY TCP4 1.2.3.4 5.6.7.8 6553",
		"PROXY UNKNOWN " + strings.Repeat("x", 91), "PROXY UNKNOWN " + strings.Repeat("x", 91) + "\r",
		"\r", "\r\n\r\n\x00\r\nQUIT", v2Sig, v2Sig + "\x20", v2Sig + "\x21\x21", v2Sig + "\x21\x11\x0f", v2Sig + "\x20\x32\x0f\xf0",
		v2(cmdProxy, v2FamTCP4, addrs4(src4, dst4), tlv(1, "abc"))[:16+12+3+2],
		withCRC(v2(cmdProxy, v2FamTCP4, addrs4(src4, dst4)), true)[:16+12+3+3],
	} {
		if _, _, kind, err := parseKind(t, []byte(s)); kind != resNeedMore {
			t.Errorf("Parse(%q) = %v, want ErrNeedMore", s, err)
		}
	}
}

// TestParseDoesNotModify checks that Parse leaves the caller's bytes alone,
// the CRC32C check included.
func TestParseDoesNotModify(t *testing.T) {
	for _, tc := range append(validCases, validCase{in: infindValid("v2 CRC32C wrong").in}) {
		in := []byte(tc.in)
		orig := bytes.Clone(in)
		Parse(in)
		if !bytes.Equal(in, orig) {
			t.Fatalf("Parse modified %q", orig)
		}
	}
}

// ---- Build ----

func TestBuild(t *testing.T) {
	tests := []struct {
		name     string
		version  int
		src, dst netip.AddrPort
		want     string
	}{
		{"v1 IPv4", 1, src4, dst4, "PROXY TCP4 192.0.2.1 198.51.100.2 56324 443\r\n"},
		{"v1 IPv6", 1, src6, dst6, "PROXY TCP6 2001:db8::1 2001:db8:ffff::2 56324 443\r\n"},
		{"v1 mixed", 1, src4, dst6, "PROXY TCP6 ::ffff:192.0.2.1 2001:db8:ffff::2 56324 443\r\n"},
		{"v1 mixed other way", 1, src6, dst4, "PROXY TCP6 2001:db8::1 ::ffff:198.51.100.2 56324 443\r\n"},
		{"v1 v4-mapped stays IPv6", 1, mapS, mapD, "PROXY TCP6 ::ffff:192.0.2.1 ::ffff:198.51.100.2 1234 80\r\n"},
		{"v1 zone dropped", 1, ap("[fe80::1%eth0]:1"), ap("[fe80::2%eth0]:2"), "PROXY TCP6 fe80::1 fe80::2 1 2\r\n"},
		{"v1 extremes", 1, ap("0.0.0.0:0"), ap("255.255.255.255:65535"), "PROXY TCP4 0.0.0.0 255.255.255.255 0 65535\r\n"},
		{"v2 IPv4", 2, src4, dst4, v2(cmdProxy, v2FamTCP4, addrs4(src4, dst4))},
		{"v2 IPv6", 2, src6, dst6, v2(cmdProxy, v2FamTCP6, addrs6(src6, dst6))},
		{"v2 mixed", 2, src4, dst6, v2(cmdProxy, v2FamTCP6, addrs6(ap("[::ffff:192.0.2.1]:56324"), dst6))},
		{"v2 v4-mapped stays IPv6", 2, mapS, mapD, v2(cmdProxy, v2FamTCP6, addrs6(mapS, mapD))},
		{"v2 zone dropped", 2, ap("[fe80::1%eth0]:1"), dst6, v2(cmdProxy, v2FamTCP6, addrs6(ap("[fe80::1]:1"), dst6))},
		// No IP address (a Unix socket) on either side: no address sent.
		{"v1 client without an address", 1, netip.AddrPort{}, dst4, "PROXY UNKNOWN\r\n"},
		{"v1 bind without an address", 1, src4, netip.AddrPort{}, "PROXY UNKNOWN\r\n"},
		{"v2 client without an address", 2, netip.AddrPort{}, dst6, v2(cmdLocal, 0x00)},
		{"v2 bind without an address", 2, src6, netip.AddrPort{}, v2(cmdLocal, 0x00)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Build(tc.version, tc.src, tc.dst)
			if err != nil || string(got) != tc.want {
				t.Fatalf("Build = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

func TestBuildErrors(t *testing.T) {
	for _, tc := range []struct {
		version  int
		src, dst netip.AddrPort
		msg      string
	}{
		{0, src4, dst4, "version 0"},
		{3, src4, dst4, "version 3"},
		{-1, src4, dst4, "version -1"},
		{3, netip.AddrPort{}, dst4, "version 3"},
	} {
		b, err := Build(tc.version, tc.src, tc.dst)
		if err == nil || b != nil || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("Build(%d, %v, %v) = %q, %v; want error with %q", tc.version, tc.src, tc.dst, b, err, tc.msg)
		}
	}
}

var roundTripAddrs = []netip.AddrPort{
	src4, dst4, src6, dst6, mapS, mapD,
	ap("0.0.0.0:0"), ap("255.255.255.255:65535"), ap("[::]:0"), ap("[::1]:1"),
	ap("[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535"), ap("[::ffff:0.0.0.0]:9"), ap("[64:ff9b::c000:201]:80"),
	ap("[fe80::1%lo]:22"), ap("[1:0:1:0:1:0:1:0]:8080"), ap("10.0.0.1:8080"),
}

// wantAddrs is what a header built from src and dst announces.
func wantAddrs(src, dst netip.AddrPort) (netip.AddrPort, netip.AddrPort) {
	s, d := src.Addr().WithZone(""), dst.Addr().WithZone("")
	if !s.Is4() || !d.Is4() {
		s, d = netip.AddrFrom16(s.As16()), netip.AddrFrom16(d.As16())
	}
	return netip.AddrPortFrom(s, src.Port()), netip.AddrPortFrom(d, dst.Port())
}

func TestRoundTrip(t *testing.T) {
	count := 0
	for _, version := range []int{1, 2} {
		for _, src := range roundTripAddrs {
			for _, dst := range roundTripAddrs {
				b, err := Build(version, src, dst)
				if err != nil {
					t.Fatalf("Build(%d, %v, %v): %v", version, src, dst, err)
				}
				ws, wd := wantAddrs(src, dst)
				h, n, err := Parse(b)
				if err != nil || n != len(b) || h != (Header{version, false, ws, wd}) {
					t.Fatalf("Parse(Build(%d, %v, %v) = %q) = %+v, %d, %v", version, src, dst, b, h, n, err)
				}
				count++
			}
		}
	}
	t.Logf("%d round trips", count)
}

// ---- cross-checks with github.com/pires/go-proxyproto ----

// libParse parses buf with the library. n is what it consumed.
func libParse(buf []byte) (h *pp.Header, n int, err error) {
	r := bytes.NewReader(buf)
	br := bufio.NewReaderSize(r, 2*MaxHeaderLen)
	h, err = pp.Read(br)
	return h, len(buf) - r.Len() - br.Buffered(), err
}

func tcpAddrPort(a net.Addr) netip.AddrPort {
	ta, ok := a.(*net.TCPAddr)
	if !ok {
		return netip.AddrPort{}
	}
	ip, _ := netip.AddrFromSlice(ta.IP)
	return netip.AddrPortFrom(ip, uint16(ta.Port))
}

// fromLib is what a header the library parsed announces, in our terms.
func fromLib(lh *pp.Header) Header {
	if lh.Command == pp.LOCAL {
		return Header{Version: int(lh.Version), Local: true}
	}
	return Header{Version: int(lh.Version), Src: tcpAddrPort(lh.SourceAddr), Dst: tcpAddrPort(lh.DestinationAddr)}
}

func libTCP(a netip.AddrPort) *net.TCPAddr {
	return &net.TCPAddr{IP: a.Addr().AsSlice(), Port: int(a.Port())}
}

// TestLibraryBuildsWeParse: headers the library formats parse here.
func TestLibraryBuildsWeParse(t *testing.T) {
	type libCase struct {
		h    *pp.Header
		tlvs []pp.TLV
		want Header
	}
	var cases []libCase
	for _, version := range []byte{1, 2} {
		for _, src := range roundTripAddrs {
			for _, dst := range roundTripAddrs {
				if src.Addr().Zone() != "" || dst.Addr().Zone() != "" {
					continue
				}
				lh := pp.HeaderProxyFromAddrs(version, libTCP(src), libTCP(dst))
				// The library picks the family with net.IP.To4, which
				// unmaps; the header then announces unmapped addresses.
				s, d := src, dst
				if lh.TransportProtocol == pp.TCPv4 {
					s = netip.AddrPortFrom(s.Addr().Unmap(), s.Port())
					d = netip.AddrPortFrom(d.Addr().Unmap(), d.Port())
				} else {
					s, d = wantAddrs(s, d)
				}
				cases = append(cases, libCase{h: lh, want: Header{int(version), false, s, d}})
				if version == 2 {
					cases = append(cases, libCase{
						h:    pp.HeaderProxyFromAddrs(version, libTCP(src), libTCP(dst)),
						tlvs: []pp.TLV{{Type: pp.PP2_TYPE_ALPN, Value: []byte("h2")}, {Type: pp.PP2_TYPE_AUTHORITY, Value: []byte("example.com")}, {Type: pp.PP2_TYPE_NOOP, Value: make([]byte, 100)}},
						want: Header{int(version), false, s, d},
					})
				}
			}
		}
	}
	cases = append(cases,
		libCase{h: &pp.Header{Version: 1, Command: pp.LOCAL, TransportProtocol: pp.UNSPEC}, want: Header{Version: 1, Local: true}},
		libCase{h: &pp.Header{Version: 2, Command: pp.LOCAL, TransportProtocol: pp.UNSPEC}, want: Header{Version: 2, Local: true}},
		libCase{h: &pp.Header{Version: 2, Command: pp.LOCAL, TransportProtocol: pp.UNSPEC}, tlvs: []pp.TLV{{Type: 0xee, Value: []byte("x")}}, want: Header{Version: 2, Local: true}},
		libCase{h: &pp.Header{Version: 2, Command: pp.LOCAL, TransportProtocol: pp.TCPv4, SourceAddr: libTCP(src4), DestinationAddr: libTCP(dst4)}, want: Header{Version: 2, Local: true}},
		libCase{h: &pp.Header{Version: 2, Command: pp.LOCAL, TransportProtocol: pp.UnixStream, SourceAddr: &net.UnixAddr{Net: "unix", Name: "/a"}, DestinationAddr: &net.UnixAddr{Net: "unix", Name: "/b"}}, want: Header{Version: 2, Local: true}},
	)
	for _, c := range cases {
		if c.tlvs != nil {
			if err := c.h.SetTLVs(c.tlvs); err != nil {
				t.Fatal(err)
			}
		}
		b, err := c.h.Format()
		if err != nil {
			t.Fatalf("library Format(%+v): %v", c.h, err)
		}
		h, n, err := Parse(b)
		if err != nil || n != len(b) || h != c.want {
			t.Fatalf("Parse(library's %q) = %+v, %d, %v; want %+v", b, h, n, err, c.want)
		}
	}
	// What the library builds and fjord refuses: PROXY over UDP and UNIX.
	for _, lh := range []*pp.Header{
		pp.HeaderProxyFromAddrs(2, &net.UDPAddr{IP: net.IPv4(1, 2, 3, 4), Port: 1}, &net.UDPAddr{IP: net.IPv4(5, 6, 7, 8), Port: 2}),
		pp.HeaderProxyFromAddrs(2, &net.UnixAddr{Net: "unix", Name: "/a"}, &net.UnixAddr{Net: "unix", Name: "/b"}),
	} {
		b, err := lh.Format()
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := Parse(b); !errors.Is(err, ErrInvalid) {
			t.Fatalf("Parse(library's %q) = %v, want ErrInvalid", b, err)
		}
	}
	t.Logf("%d library-built headers", len(cases))
}

// TestWeBuildLibraryParses: headers Build makes parse with the library.
func TestWeBuildLibraryParses(t *testing.T) {
	for _, version := range []int{1, 2} {
		for _, src := range roundTripAddrs {
			for _, dst := range roundTripAddrs {
				b, err := Build(version, src, dst)
				if err != nil {
					t.Fatal(err)
				}
				lh, n, err := libParse(b)
				if err != nil || n != len(b) {
					t.Fatalf("library Read(%q) = %v, consumed %d of %d", b, err, n, len(b))
				}
				ws, wd := wantAddrs(src, dst)
				if got := fromLib(lh); got != (Header{version, false, ws, wd}) {
					t.Fatalf("library Read(%q) = %+v", b, got)
				}
			}
		}
	}
}

// TestTablesAgainstLibrary runs the tables through the library: it accepts
// every header we accept, announcing the same, and rejects what we reject
// unless it is one of the documented differences.
func TestTablesAgainstLibrary(t *testing.T) {
	for _, tc := range validCases {
		lh, n, err := libParse([]byte(tc.in))
		if err != nil || n != len(tc.in) || fromLib(lh) != tc.want {
			t.Errorf("%s: library: %+v, %d, %v", tc.name, lh, n, err)
		}
	}
	for _, tc := range invalidCases {
		lh, _, err := libParse([]byte(tc.in))
		if err == nil && !libDivergence(lh, []byte(tc.in)) {
			t.Errorf("%s: library accepts %q as %+v", tc.name, tc.in, lh)
		}
	}
}

// libDivergence says whether the library accepting buf (as lh) while Parse
// refuses it is one of the known, documented differences.
func libDivergence(lh *pp.Header, buf []byte) bool {
	switch lh.Version {
	case 1:
		// UNKNOWN: the library allows a bare CR before the CRLF.
		line, _, _ := bytes.Cut(buf, []byte("\n"))
		return lh.Command == pp.LOCAL && bytes.Count(line, []byte("\r")) > 1
	case 2:
		if v2HdrLen+int(binary.BigEndian.Uint16(buf[14:16])) > MaxHeaderLen {
			return true // the library's bound is 4096 + 16
		}
		if lh.Command == pp.PROXY {
			if buf[13] != v2FamTCP4 && buf[13] != v2FamTCP6 {
				return true // we accept PROXY over TCP only
			}
			tlvs, err := lh.TLVs()
			if err != nil {
				return true // the library does not check TLV framing
			}
			for _, tv := range tlvs {
				if tv.Type == pp.PP2_TYPE_CRC32C {
					return true // nor the checksum
				}
			}
		}
	}
	return false
}

// ---- IPv6 literals ----

// TestParseIP6AgainstNetip compares parseIP6 with netip.ParseAddr on whole
// literals, listed and random.
func TestParseIP6AgainstNetip(t *testing.T) {
	list := []string{
		"", ":", "::", ":::", "::1", "1::", "1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7::", "::2:3:4:5:6:7:8", "1::8",
		"1:2:3:4:5:6:7:8:9", "1:2:3:4::5:6:7:8", "::1.2.3.4", "::ffff:1.2.3.4", "1:2:3:4:5:6:1.2.3.4", "1:2:3:4:5::1.2.3.4",
		"1:2:3:4:5:6:7:1.2.3.4", "1::2::3", "12345::", "0000:0000::", "::00000", "fe80::1%eth0", "1.2.3.4", "::1.2.3",
		"::1.2.3.4.5", "::256.1.1.1", "::01.1.1.1", "::0.0.0.0", ":1::", "1:", "1:2", "::1:", "ABCD:ef01::", "g::",
		"1:2:3:4:5:6::1.2.3.4", "::1:2:3:4:5:1.2.3.4", "::1:2:3:4:5:6:1.2.3.4", "1:2:3:4:5:6:7:8::", "::1.2.3.4:1",
		"::a.2.3.4", "::1234.1.1.1", "1::.1", "1:.", ":.", "::.",
	}
	rng := rand.New(rand.NewPCG(1, 2))
	const alphabet = "0123456789abcdefABCDEF:."
	const small = "01f:.:::"
	for range 200000 {
		n := rng.IntN(46)
		b := make([]byte, n)
		chars := alphabet
		if rng.IntN(2) == 0 {
			chars = small
		}
		for i := range b {
			b[i] = chars[rng.IntN(len(chars))]
		}
		list = append(list, string(b))
	}
	valid := 0
	for _, s := range list {
		ip, more, err := parseIP6([]byte(s), 0, false)
		want, werr := netip.ParseAddr(s)
		ok := werr == nil && want.Is6() && want.Zone() == ""
		if (err == nil) != ok || more != 0 {
			t.Fatalf("parseIP6(%q) = %v, %v; netip: %v, %v", s, ip, err, want, werr)
		}
		if ok {
			valid++
			if netip.AddrFrom16(ip) != want {
				t.Fatalf("parseIP6(%q) = %v, netip: %v", s, netip.AddrFrom16(ip), want)
			}
		}
	}
	t.Logf("%d literals, %d valid", len(list), valid)
}

// checkTokenStep checks, for one token beginning p, that the partial mode's
// answer is exact: more is 0 exactly when p is complete, no byte shortens
// the way by more than one, some byte shortens it by one, and no byte
// revives a dead beginning. By induction, more is then the length of the
// shortest completion and an error means there is none. Bytes outside
// alphabet are rejected by every token parser at once, so only alphabet is
// tried. It returns a random live continuation, or nil.
func checkTokenStep(t *testing.T, name string, parse func([]byte, int, bool) (int, error), p []byte, alphabet string, rng *rand.Rand) (next []byte) {
	t.Helper()
	more, err := parse(p, 0, true)
	_, ferr := parse(p, 0, false)
	if err != nil {
		if ferr == nil {
			t.Fatalf("%s(%q): partial error %v but complete", name, p, err)
		}
		for i := range len(alphabet) {
			if _, err := parse(append(p[:len(p):len(p)], alphabet[i]), 0, true); err == nil {
				t.Fatalf("%s(%q) is dead, %q is not", name, p, append(p, alphabet[i]))
			}
		}
		return nil
	}
	if (more == 0) != (ferr == nil) {
		t.Fatalf("%s(%q): more = %d, complete: %v", name, p, more, ferr)
	}
	var alive [][]byte
	closer := false
	for i := range len(alphabet) {
		q := append(p[:len(p):len(p)], alphabet[i])
		m, err := parse(q, 0, true)
		if err != nil {
			continue
		}
		if m < more-1 {
			t.Fatalf("%s: more(%q) = %d but more(%q) = %d", name, p, more, q, m)
		}
		closer = closer || m == more-1
		alive = append(alive, q)
	}
	if more > 0 && !closer {
		t.Fatalf("%s(%q): more = %d but no byte gets closer", name, p, more)
	}
	if len(alive) == 0 {
		return nil
	}
	return alive[rng.IntN(len(alive))]
}

// TestTokenPrefixes walks random token beginnings, checking every step.
func TestTokenPrefixes(t *testing.T) {
	ip6 := func(b []byte, base int, partial bool) (int, error) {
		_, m, err := parseIP6(b, base, partial)
		return m, err
	}
	ip4 := func(b []byte, base int, partial bool) (int, error) {
		_, m, err := parseIP4(b, base, partial)
		return m, err
	}
	port := func(b []byte, base int, partial bool) (int, error) {
		_, m, err := parsePort(b, base, partial)
		return m, err
	}
	const tokenBytes = "0123456789abcdefABCDEFgx:.%[ -+"
	rng := rand.New(rand.NewPCG(5, 6))
	for _, tc := range []struct {
		name  string
		parse func([]byte, int, bool) (int, error)
		walks int
	}{
		{"parseIP6", ip6, 1000},
		{"parseIP4", ip4, 300},
		{"parsePort", port, 100},
	} {
		steps := 0
		for range tc.walks {
			for p := []byte{}; p != nil; steps++ {
				p = checkTokenStep(t, tc.name, tc.parse, p, tokenBytes, rng)
			}
		}
		t.Logf("%s: %d steps", tc.name, steps)
	}
}

// ---- whole headers, byte by byte ----

// checkStep checks that a beginning Parse calls ErrNeedMore can be
// continued by some byte (so, as ErrNeedMore stops short of MaxHeaderLen,
// it can be completed), and that one it calls invalid is not revived by any
// byte. It tries the bytes in cands, or all 256 if cands is nil or none of
// them keeps buf alive, and returns those that keep it alive.
func checkStep(t testing.TB, buf []byte, cands []byte) (alive []byte) {
	t.Helper()
	_, _, kind, err := parseKind(t, buf)
	if kind == resOK {
		return nil
	}
	// One slot past buf is reused for every candidate; Parse keeps nothing.
	ext := append(buf[:len(buf):len(buf)], 0)
	try := func(cands []byte) {
		for _, c := range cands {
			ext[len(buf)] = c
			_, _, err2 := Parse(ext)
			switch {
			case kind == resInvalid && !errors.Is(err2, ErrInvalid):
				t.Fatalf("Parse(%q) = %v but with %q after it %v", buf, err, c, err2)
			case kind == resNeedMore && !errors.Is(err2, ErrInvalid):
				alive = append(alive, c)
			}
		}
	}
	if cands != nil {
		try(cands)
	}
	if len(alive) == 0 {
		try(allBytes)
	}
	if kind == resNeedMore && len(alive) == 0 && !hasCRC(buf) {
		t.Fatalf("Parse(%q) = ErrNeedMore but no byte continues it", buf)
	}
	return alive
}

var allBytes = func() []byte {
	b := make([]byte, 256)
	for i := range b {
		b[i] = byte(i)
	}
	return b
}()

// hasCRC says whether buf is the beginning of a v2 PROXY header with a
// CRC32C TLV: its last bytes may be unable to match the checksum.
func hasCRC(buf []byte) bool {
	if len(buf) < v2HdrLen+v2AddrLen4 || !bytes.HasPrefix(buf, []byte(v2Sig)) {
		return false
	}
	p := v2HdrLen + v2AddrLen4
	if buf[13] == v2FamTCP6 {
		p = v2HdrLen + v2AddrLen6
	}
	for p+3 <= len(buf) {
		if buf[p] == tlvCRC32C {
			return true
		}
		p += 3 + int(binary.BigEndian.Uint16(buf[p+1:]))
	}
	return false
}

// TestParseRandomWalks grows headers byte by byte, choosing at random among
// the bytes that keep them valid and checking each step, then cross-checks
// each complete header with the library and with Build.
func TestParseRandomWalks(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	const v1Bytes = "PROXY TCP46UNKOW0123456789abcdefABCDEF:.\r\n x"
	done := map[int]int{}
	walks := 1000
	if testing.Short() {
		walks = 100
	}
	for w := range walks {
		buf := make([]byte, 0, MaxHeaderLen)
		for {
			// Try v1's alphabet and a few random bytes; checkStep falls
			// back to all 256 when none of them fits.
			var cands []byte
			if w%2 == 0 {
				cands = append(cands, v1Bytes...)
			} else {
				cands = append(cands, '\r', 0, 0x20, 0x21, 0x11, 0x12, 0x22, 0x31, 0x03)
			}
			for range 4 {
				cands = append(cands, byte(rng.IntN(256)))
			}
			alive := checkStep(t, buf, cands)
			if len(alive) == 0 {
				break
			}
			pick := alive
			if len(buf) == 0 {
				pick = []byte{"P\r"[w%2]}
			}
			if len(buf) == 14 && buf[0] == '\r' && slices.Contains(pick, 0) {
				pick = []byte{0} // keep most v2 blocks under 256 bytes
			}
			buf = append(buf, pick[rng.IntN(len(pick))])
			if _, _, err := Parse(buf); err == nil {
				break
			}
		}
		h, n, err := Parse(buf)
		if err != nil {
			if !hasCRC(buf) {
				t.Fatalf("walk ended at %q: %v", buf, err)
			}
			continue
		}
		if n != len(buf) {
			t.Fatalf("walk %q: n = %d", buf, n)
		}
		done[h.Version]++
		checkLibraryAgrees(t, buf, h, n, err)
		checkRebuild(t, h)
	}
	t.Logf("complete headers: v1 %d, v2 %d", done[1], done[2])
}

// checkLibraryAgrees compares Parse's answer for buf with the library's.
func checkLibraryAgrees(t testing.TB, buf []byte, h Header, n int, err error) {
	t.Helper()
	lh, ln, lerr := libParse(buf)
	switch {
	case err == nil:
		if lerr != nil || ln != n || fromLib(lh) != h {
			t.Fatalf("Parse(%q) = %+v, %d; library: %+v, %d, %v", buf, h, n, lh, ln, lerr)
		}
	case lerr == nil && !libDivergence(lh, buf):
		t.Fatalf("Parse(%q) = %v; library accepts it as %+v", buf, err, lh)
	}
}

// checkRebuild builds a header from what h announces and parses it again.
func checkRebuild(t testing.TB, h Header) {
	t.Helper()
	if h.Local {
		return
	}
	b, err := Build(h.Version, h.Src, h.Dst)
	if err != nil {
		t.Fatalf("Build(%+v): %v", h, err)
	}
	h2, n2, err := Parse(b)
	if err != nil || n2 != len(b) || h2 != h {
		t.Fatalf("Parse(Build(%+v) = %q) = %+v, %d, %v", h, b, h2, n2, err)
	}
}

// ---- allocations and speed ----

var benchV1 = []byte("PROXY TCP4 192.0.2.1 198.51.100.2 56324 443\r\nGET / HTTP/1.1\r\n")
var benchV1TCP6 = []byte("PROXY TCP6 2001:db8::1 ::ffff:198.51.100.2 56324 443\r\n")
var benchV2 = []byte(withCRC(v2(cmdProxy, v2FamTCP6, addrs6(src6, dst6), tlv(1, "h2"), tlv(2, "example.com")), false))

func TestParseAllocs(t *testing.T) {
	inputs := [][]byte{benchV1, benchV1TCP6, benchV2, []byte("PROXY UNKNOWN\r\n"), []byte(v2(cmdLocal, 0)),
		benchV1[:30], benchV2[:40], []byte(findValid("v1 TCP6 exactly 107 bytes").in)}
	for _, in := range inputs {
		if a := testing.AllocsPerRun(100, func() { Parse(in) }); a != 0 {
			t.Errorf("Parse(%q) allocates %v times", in, a)
		}
	}
}

func BenchmarkParseV1(b *testing.B) {
	for _, bc := range []struct {
		name string
		in   []byte
	}{{"TCP4", benchV1}, {"TCP6", benchV1TCP6}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(bc.in)))
			for b.Loop() {
				if _, _, err := Parse(bc.in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkParseV2(b *testing.B) {
	b.ReportAllocs()
	b.SetBytes(int64(len(benchV2)))
	for b.Loop() {
		if _, _, err := Parse(benchV2); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLibraryRead is the library's parser on the same headers, for
// comparison.
func BenchmarkLibraryRead(b *testing.B) {
	for _, bc := range []struct {
		name string
		in   []byte
	}{{"V1TCP4", benchV1}, {"V2", benchV2}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			r := bytes.NewReader(bc.in)
			br := bufio.NewReader(r)
			for b.Loop() {
				r.Reset(bc.in)
				br.Reset(r)
				if _, err := pp.Read(br); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkBuild(b *testing.B) {
	for _, v := range []int{1, 2} {
		b.Run(fmt.Sprintf("V%d", v), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Build(v, src6, dst4); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
