// Package hello reads the TLS hello at the start of a connection without
// terminating TLS: for TLS passthrough in tcp mode, where the engine peeks
// the connection's first bytes (recv with MSG_PEEK, nothing consumed),
// hands them to Parse, and splices the connection untouched to the server
// the hello chose. It serves HAProxy's layer 6 sample fetches of section
// 7.3.5 of HAProxy 2.6's configuration manual:
//
//	req.ssl_hello_type, res.ssl_hello_type  Hello.Type
//	req.ssl_ver                             Hello.Version
//	req.ssl_sni                             Hello.SNI
//	req.ssl_alpn                            Hello.ALPN
//	req.ssl_ec_ext                          Hello.ECExt
//	req.ssl_st_ext                          Hello.SessionTicket
//
// (and their deprecated req_ssl_* spellings), with the semantics of their
// implementations in HAProxy 2.6's src/payload.c, where this package reads
// what the fetches read. Parse gives one answer for all of them once the
// whole hello message is there, rather than one per fetch as early as
// each could decide: the engine waits for it within tcp-request
// inspect-delay as HAProxy's rules wait for a fetch that may change.
//
// Where Parse deliberately differs from HAProxy 2.6, a comment at the
// place says so; in short, it reads a hello split across several records
// (HAProxy 2.6 reads the next record's header as if it were part of the
// hello), and it rejects a malformed hello that HAProxy's byte walk would
// still find a field in (some of those walks read past the bytes
// received: HAProxy fixed two such reads in 2026, commits 8f507ae75 and
// ed267f9bc). A malformed hello is one the server's TLS stack refuses
// anyway, so only where it is routed before that refusal changes.
//
// Parsing uses golang.org/x/crypto/cryptobyte; no handshake is ever run.
package hello

import (
	"errors"
	"fmt"
	"strconv"

	"golang.org/x/crypto/cryptobyte"
)

// Sizes that bound what Parse reads.
const (
	// MaxHelloLen is the largest hello message Parse reads, its 4-byte
	// handshake header included: HAProxy reads a hello from one buffer,
	// tune.bufsize, 16 KiB by default. A larger one is ErrTooLarge as
	// soon as its header says so.
	MaxHelloLen = 16 << 10

	// MaxInput is the most of the stream Parse ever needs: room for a
	// hello of MaxHelloLen and the headers of the records it is split
	// into. Given MaxInput bytes or more, Parse never returns
	// ErrNeedMore, so a caller that peeks MaxInput bytes always gets an
	// answer without waiting for inspect-delay.
	MaxInput = MaxHelloLen + 1024

	// maxRecordLen is the longest record HAProxy's req.ssl_ver accepts,
	// 2^14 + 2048 (a ciphertext record's limit; a hello is in plaintext
	// records of 2^14 at most, but HAProxy is lenient and so is fjord).
	maxRecordLen = 1<<14 + 2048
)

// Errors Parse returns. Every error other than ErrNeedMore wraps one of
// ErrNotTLS, ErrMalformed or ErrTooLarge and says what is wrong.
var (
	// ErrNeedMore: the bytes are a valid start of a hello, too short to
	// decide. Call Parse again with more of the stream.
	ErrNeedMore = errors.New("need more bytes of the TLS hello")

	// ErrNotTLS: the stream does not start with a TLS handshake record
	// nor an SSLv2 ClientHello (plain HTTP, for instance).
	ErrNotTLS = errors.New("not a TLS hello")

	// ErrMalformed: the stream starts like TLS, but its hello is
	// malformed.
	ErrMalformed = errors.New("malformed TLS hello")

	// ErrTooLarge: the hello is larger than Parse reads (MaxHelloLen,
	// MaxInput).
	ErrTooLarge = errors.New("TLS hello too large")
)

// Version is a protocol version as HAProxy's req.ssl_ver reports it: the
// major version times 65536 plus the minor, so TLS 1.2 (3.3) is 0x30003,
// 196611. HAProxy's ACLs write it "3.3", as String does.
type Version uint32

// versionOf converts a version as TLS sends it, major then minor byte.
func versionOf(wire uint16) Version { return Version(wire>>8)<<16 | Version(wire&0xff) }

// Major is the major version: 3 for SSL 3.0 and every TLS version.
func (v Version) Major() uint8 { return uint8(v >> 16) }

// Minor is the minor version: 1 for TLS 1.0, 3 for TLS 1.2.
func (v Version) Minor() uint8 { return uint8(v) }

// String writes v as HAProxy's req.ssl_ver ACLs match it: "3.1".
func (v Version) String() string {
	return strconv.Itoa(int(v.Major())) + "." + strconv.Itoa(int(v.Minor()))
}

// HandshakeType is a TLS handshake message type, the value of HAProxy's
// req.ssl_hello_type and res.ssl_hello_type.
type HandshakeType uint8

// The handshake types a stream can start with.
const (
	ClientHello HandshakeType = 1 // a client's first message
	ServerHello HandshakeType = 2 // a server's first message
)

// TicketExt is the value of HAProxy's req.ssl_st_ext: what the ClientHello
// says of the SessionTicket extension (RFC 5077).
type TicketExt uint8

// The values of req.ssl_st_ext.
const (
	TicketAbsent TicketExt = 0 // no SessionTicket extension
	TicketEmpty  TicketExt = 1 // the extension, empty: the client can take a ticket
	TicketSent   TicketExt = 2 // the extension with a ticket: the client resumes with it
)

// Hello is what Parse read from the start of a stream. Each field says
// which of HAProxy's fetches it answers, and when that fetch has a value.
type Hello struct {
	// RecordVersion is the version in the header of the first record,
	// often 3.1 even for TLS 1.3. Zero for an SSLv2 hello, which has no
	// such field. No HAProxy fetch reports it.
	RecordVersion Version

	// Type is the handshake message type, req.ssl_hello_type (and
	// res.ssl_hello_type for a server's stream): ClientHello or
	// ServerHello. Zero for an SSLv2 hello: HAProxy's
	// smp_fetch_ssl_hello_type only reads the SSLv3 record format, so the
	// fetch has no value there.
	Type HandshakeType

	// Version is req.ssl_ver: the version in the hello's body
	// (legacy_version), not the record's. As in HAProxy 2.6, the
	// supported_versions extension is not read, so a TLS 1.3 client
	// reports 3.3, the version it sends for compatibility. For an SSLv2
	// hello it is the version that hello offers (3.1 for a TLS 1.0
	// client's backwards-compatible hello).
	Version Version

	// SSLv2 is set when the stream starts with an SSLv2 ClientHello (the
	// two- or three-byte SSLv2 record header). HAProxy recognises it in
	// req.ssl_ver only, so Version is the only other field set.
	SSLv2 bool

	// Extensions is set when a ClientHello carries a list of extensions,
	// possibly empty, and has a version HAProxy reads extensions from
	// (minor version 1 or more: TLS 1.0 and later). Only then does
	// req.ssl_st_ext have a value; SNI, ALPN and ECExt are zero
	// otherwise.
	Extensions bool

	// SNI is req.ssl_sni: the host name in the server_name extension,
	// as sent (not lower-cased: HAProxy matches it with "-i" for that),
	// or "" when there is none (the fetch then has no value). As in
	// HAProxy, only the first entry of a server_name list is read, and
	// the first server_name extension whose first entry is a host_name
	// counts.
	SNI string

	// ALPN is req.ssl_alpn: the protocols the client offers in the
	// application_layer_protocol_negotiation extension, in its order of
	// preference (HAProxy returns them one by one, as successive values
	// of the fetch), or nil (no value) when there is none.
	ALPN []string

	// ECExt is req.ssl_ec_ext: whether the ClientHello carries the
	// extension RFC 4492 named elliptic_curves (type 10, supported_groups
	// since RFC 8422), as HAProxy's smp_fetch_req_ssl_ec_ext tests. Not
	// ec_point_formats (type 11). HAProxy's fetch has no value rather
	// than false when it is absent; a boolean ACL reads both alike.
	ECExt bool

	// SessionTicket is req.ssl_st_ext, which has a value only when
	// Extensions is set.
	SessionTicket TicketExt
}

// Content types of TLS records.
const (
	recordChangeCipherSpec = 20
	recordAlert            = 21
	recordHandshake        = 22
	recordApplicationData  = 23
)

// Extension types read (RFC 6066, 7301, 4492, 5077).
const (
	extServerName    = 0
	extSupportedGrps = 10
	extALPN          = 16
	extSessionTicket = 35
)

// Parse reads the hello at the start of b, which is the start of a
// stream. It returns ErrNeedMore while b is a valid start too short to
// decide, so that the caller peeks again when more bytes arrive; bytes
// after the hello are not read. Parse never returns a different answer
// for a longer b than for a shorter one it answered, and never needs more
// than MaxInput bytes.
func Parse(b []byte) (Hello, error) {
	if len(b) == 0 {
		return Hello{}, ErrNeedMore
	}
	switch b[0] {
	case recordHandshake:
		return parseTLS(b)
	case recordChangeCipherSpec, recordAlert, recordApplicationData, 0xff:
		// HAProxy's req.ssl_ver and req.ssl_hello_type take these
		// first bytes for the SSLv3 record format too, and read the
		// version and handshake type at the offsets a handshake would
		// have them, in whatever the record holds. No TLS stream starts
		// with such a record, so fjord says what it is instead.
		return Hello{}, fmt.Errorf("%w: the stream starts with a record of content type %d, not a handshake (22)", ErrNotTLS, b[0])
	}
	// Anything else may be an SSLv2 record header, as HAProxy's
	// smp_fetch_req_ssl_ver reads it.
	return parseSSLv2(b)
}

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrMalformed}, args...)...)
}

// parseTLS reads a hello in TLS records.
func parseTLS(b []byte) (Hello, error) {
	msg, recVer, err := readMessage(b)
	if err != nil {
		return Hello{}, err
	}
	h := Hello{RecordVersion: recVer, Type: HandshakeType(msg[0])}
	body := cryptobyte.String(msg[4:])
	if h.Type == ServerHello {
		// res.ssl_hello_type needs nothing more than the type and a
		// whole message; the version is read for symmetry.
		var v uint16
		if !body.ReadUint16(&v) {
			return Hello{}, malformed("the ServerHello ends before its version")
		}
		h.Version = versionOf(v)
		return h, nil
	}
	if err := h.readClientHello(body); err != nil {
		return Hello{}, err
	}
	return h, nil
}

// readMessage returns the first handshake message of the stream b (its
// 4-byte header included) and the version in its first record's header.
//
// A message may be split across several records, and Parse reassembles
// it. This is where fjord deliberately does better than HAProxy 2.6,
// whose fetches read the bytes after the first record's header as the
// message itself (smp_fetch_ssl_hello_sni and the others check only that
// the buffer holds as many bytes as the message's length says), so that a
// second record's header lands in the middle of the hello and its fields
// are misread or the hello is refused. HAProxy's req.ssl_ver answers as
// soon as the first record is whole; here it waits for the message, as
// the other fetches do.
func readMessage(b []byte) (msg []byte, recVer Version, err error) {
	// The stream bound: beyond MaxInput, say so rather than wait.
	s := cryptobyte.String(b[:min(len(b), MaxInput)])
	var msgLen int // the whole message's, once its header is in
	for n := 0; ; n++ {
		var typ, major, minor uint8
		var length uint16
		// The header is checked a byte at a time so that a stream that
		// is not TLS is refused as soon as it shows it.
		if !s.ReadUint8(&typ) {
			return nil, 0, needMore(b)
		}
		if typ != recordHandshake {
			// Not the first record: Parse sends here only a stream
			// that starts with a handshake record. A handshake
			// message's fragments are not interleaved with other
			// records (RFC 8446 section 5.1).
			return nil, 0, malformed("the hello is interrupted by a record of content type %d", typ)
		}
		if !s.ReadUint8(&major) {
			return nil, 0, needMore(b)
		}
		// SSL 3.0 and every TLS version since have major version 3.
		// HAProxy accepts any major version from 3 up, and so does
		// fjord.
		if major < 3 {
			return nil, 0, malformed("record %d has version %d.x, older than SSL 3.0", n+1, major)
		}
		if !s.ReadUint8(&minor) || !s.ReadUint16(&length) {
			return nil, 0, needMore(b)
		}
		if n == 0 {
			recVer = Version(major)<<16 | Version(minor)
		}
		// HAProxy's req.ssl_ver also refuses a first record shorter
		// than 6 bytes, and its other fetches one shorter than 49; a
		// hello split into small records is valid TLS, so only the
		// empty record, which RFC 8446 section 5.1 forbids for
		// handshakes, is refused here.
		if length == 0 {
			return nil, 0, malformed("record %d is empty", n+1)
		}
		if length > maxRecordLen {
			return nil, 0, malformed("record %d is %d bytes long, more than the %d a record may be", n+1, length, maxRecordLen)
		}
		var frag []byte
		whole := s.ReadBytes(&frag, int(length))
		if !whole {
			frag = s
			s = nil
		}
		if n == 0 {
			// The usual case, a hello in one record, is not copied:
			// msg is a slice of b, and capped so that appending the
			// next fragment copies.
			msg = frag[:len(frag):len(frag)]
		} else {
			msg = append(msg, frag...)
		}
		if msgLen == 0 {
			if msgLen, err = messageLen(msg); err != nil {
				return nil, 0, err
			}
		}
		if msgLen != 0 && len(msg) >= msgLen {
			// Bytes after the message, in its record or beyond, are
			// not the hello's and are not read.
			return msg[:msgLen], recVer, nil
		}
		if !whole {
			return nil, 0, needMore(b)
		}
	}
}

// needMore is ErrNeedMore, unless the caller already gave MaxInput bytes:
// then the hello is in records whose headers take it past what Parse
// reads.
func needMore(b []byte) error {
	if len(b) >= MaxInput {
		return fmt.Errorf("%w: the hello's records take more than the first %d bytes of the stream", ErrTooLarge, MaxInput)
	}
	return ErrNeedMore
}

// messageLen checks the handshake header at the start of msg, as much of
// it as is there, and returns the whole message's length, or 0 when the
// header is not all there.
func messageLen(msg []byte) (int, error) {
	s := cryptobyte.String(msg)
	var typ uint8
	if !s.ReadUint8(&typ) {
		return 0, nil
	}
	// HAProxy's req.ssl_hello_type reports any type, but no other
	// message can start a stream, and fjord says what the stream has
	// instead.
	if HandshakeType(typ) != ClientHello && HandshakeType(typ) != ServerHello {
		return 0, malformed("the first handshake message has type %d, not a ClientHello (1) nor a ServerHello (2)", typ)
	}
	var length uint32
	if !s.ReadUint24(&length) {
		return 0, nil
	}
	if 4+int(length) > MaxHelloLen {
		return 0, fmt.Errorf("%w: the hello is %d bytes long, more than the %d fjord reads (HAProxy's tune.bufsize)",
			ErrTooLarge, 4+int(length), MaxHelloLen)
	}
	return 4 + int(length), nil
}

// readClientHello reads a ClientHello's body (RFC 8446 section 4.1.2,
// RFC 5246 section 7.4.1.2) into h. Every length is checked against the
// bytes that hold it, which HAProxy 2.6 does not always do.
func (h *Hello) readClientHello(body cryptobyte.String) error {
	var version uint16
	var sessionID, suites, methods, exts cryptobyte.String
	if !body.ReadUint16(&version) {
		return malformed("the ClientHello ends before its version")
	}
	h.Version = versionOf(version)
	if !body.Skip(32) {
		return malformed("the ClientHello ends within its random")
	}
	if !body.ReadUint8LengthPrefixed(&sessionID) {
		return malformed("the ClientHello's session_id overruns it")
	}
	if len(sessionID) > 32 {
		return malformed("the ClientHello's session_id is %d bytes long, more than 32", len(sessionID))
	}
	if !body.ReadUint16LengthPrefixed(&suites) {
		return malformed("the ClientHello's cipher_suites overrun it")
	}
	if len(suites) < 2 || len(suites)%2 != 0 {
		return malformed("the ClientHello's cipher_suites are %d bytes long, not a non-empty list of 2-byte suites", len(suites))
	}
	if !body.ReadUint8LengthPrefixed(&methods) {
		return malformed("the ClientHello's compression_methods overrun it")
	}
	if len(methods) == 0 {
		return malformed("the ClientHello has no compression_methods")
	}
	if body.Empty() {
		// Extensions are optional before TLS 1.3: none of the
		// extension fetches has a value, req.ssl_st_ext included.
		return nil
	}
	if !body.ReadUint16LengthPrefixed(&exts) {
		return malformed("the ClientHello's extensions overrun it")
	}
	if !body.Empty() {
		return malformed("%d bytes follow the ClientHello's extensions", len(body))
	}
	// HAProxy reads extensions only when the hello's version passes
	// this test ("TLSv1 minimum"), which it writes on each byte, so that
	// 4.0 would fail it too. The extensions are still checked for being
	// well-formed.
	read := version>>8 >= 3 && version&0xff >= 1
	h.Extensions = read
	var seenTicket bool
	for !exts.Empty() {
		var typ uint16
		var data cryptobyte.String
		if !exts.ReadUint16(&typ) || !exts.ReadUint16LengthPrefixed(&data) {
			return malformed("an extension overruns the ClientHello's extensions")
		}
		if !read {
			continue
		}
		// Extensions of a type may not be repeated (RFC 8446 section
		// 4.2); where they are, the first one counts, as in HAProxy,
		// whose fetches return at the first one they find.
		switch typ {
		case extServerName:
			if h.SNI != "" {
				continue
			}
			name, err := readServerName(data)
			if err != nil {
				return err
			}
			h.SNI = name
		case extALPN:
			if h.ALPN != nil {
				continue
			}
			protos, err := readALPN(data)
			if err != nil {
				return err
			}
			h.ALPN = protos
		case extSupportedGrps:
			// Present is all req.ssl_ec_ext asks; what it holds is the
			// server's to judge.
			h.ECExt = true
		case extSessionTicket:
			if seenTicket {
				continue
			}
			seenTicket = true
			h.SessionTicket = TicketEmpty
			if len(data) > 0 {
				h.SessionTicket = TicketSent
			}
		}
	}
	return nil
}

// readServerName reads a server_name extension (RFC 6066 section 3) and
// returns its host name, or "" when its first entry is of another type.
func readServerName(data cryptobyte.String) (string, error) {
	var list, name cryptobyte.String
	var nameType uint8
	if !data.ReadUint16LengthPrefixed(&list) || !data.Empty() {
		return "", malformed("the server_name extension's list does not fill it")
	}
	// As in HAProxy, only the first entry is read: host_name is the
	// only type there is, and a list holds one name of each type.
	if !list.ReadUint8(&nameType) || !list.ReadUint16LengthPrefixed(&name) {
		return "", malformed("the server_name list's first entry overruns it")
	}
	if nameType != 0 {
		return "", nil
	}
	// HAProxy 2.6 returns whatever bytes are there, and read past the
	// extension when the name's length lied (fixed in ed267f9bc); fjord
	// asks for a host name as RFC 6066 defines it, so that what rules
	// match and logs show is one. Servers refuse most names that are not
	// (OpenSSL one with a NUL, crypto/tls one with a trailing dot).
	if !validHostName(name) {
		return "", malformed("the server_name %q is not a host name", []byte(name))
	}
	return string(name), nil
}

// validHostName reports whether name looks like a DNS host name: dot-
// separated labels of 1 to 63 letters, digits, hyphens or underscores
// (which are not in host names but are in names people use), 253 bytes at
// most, without the trailing dot RFC 6066 leaves out. IP addresses, which
// RFC 6066 forbids and some clients send, pass for IPv4.
func validHostName(name []byte) bool {
	if len(name) == 0 || len(name) > 253 {
		return false
	}
	label := 0
	for _, c := range name {
		switch {
		case c == '.':
			if label == 0 {
				return false
			}
			label = 0
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '-', c == '_':
			label++
			if label > 63 {
				return false
			}
		default:
			return false
		}
	}
	return label > 0
}

// readALPN reads an application_layer_protocol_negotiation extension
// (RFC 7301 section 3.1). HAProxy's smp_fetch_ssl_hello_alpn walks the
// names without reading the list's length and returns the names before a
// bad one; a list whose lengths do not add up is malformed here, and so
// is an empty name, which RFC 7301 does not allow (HAProxy would return
// it as an empty string).
func readALPN(data cryptobyte.String) ([]string, error) {
	var list cryptobyte.String
	if !data.ReadUint16LengthPrefixed(&list) || !data.Empty() {
		return nil, malformed("the ALPN extension's list does not fill it")
	}
	if list.Empty() {
		return nil, malformed("the ALPN extension's list is empty")
	}
	var protos []string
	for !list.Empty() {
		var p cryptobyte.String
		if !list.ReadUint8LengthPrefixed(&p) {
			return nil, malformed("an ALPN protocol name overruns the list")
		}
		if p.Empty() {
			return nil, malformed("the ALPN list has an empty protocol name")
		}
		protos = append(protos, string(p))
	}
	return protos, nil
}
