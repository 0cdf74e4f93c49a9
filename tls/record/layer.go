package record

import (
	"crypto/tls"
	"encoding/binary"
	"fmt"
	"io"
	"slices"
)

// Role is which end of the session this layer is: fjord is the server to
// its clients and the client of a TLS server.
type Role uint8

const (
	Server Role = iota
	Client
)

// Record content types (RFC 8446, section 5.1).
const (
	typeChangeCipherSpec = 20
	typeAlert            = 21
	typeHandshake        = 22
	typeApplicationData  = 23
)

// Handshake message types seen after the handshake.
const (
	msgHelloRequest     = 0
	msgClientHello      = 1
	msgNewSessionTicket = 4
	msgKeyUpdate        = 24
)

// Alert descriptions the layer sends or reads itself.
const (
	alertCloseNotify       = 0
	alertUnexpectedMessage = 10
	alertBadRecordMAC      = 20
	alertRecordOverflow    = 22
	alertDecodeError       = 50
	alertIllegalParameter  = 47
	alertUserCanceled      = 90
	alertNoRenegotiation   = 100

	levelWarning = 1
	levelFatal   = 2
)

const (
	headerLen = 5
	// MaxPlaintext is the most application data one record carries.
	MaxPlaintext = 16384
	// A record longer than this is refused with record_overflow: RFC
	// 8446 allows 256 bytes of expansion, RFC 5246 2048.
	maxCiphertext13 = MaxPlaintext + 256
	maxCiphertext12 = MaxPlaintext + 2048
	// maxPostHandshake bounds a post-handshake message that arrives in
	// pieces: the largest one a peer may send here is a renegotiating
	// ClientHello, refused anyway.
	maxPostHandshake = 1 << 16
	// keyUpdateAfter is when the layer renews its own TLS 1.3 write key:
	// RFC 8446 (section 5.5) limits AES-GCM to 2^24.5 full records per
	// key, and the same bound is harmless for ChaCha20-Poly1305.
	keyUpdateAfter = 1 << 24
)

// Error is a failure of the session's record stream. Remote says the
// peer sent the alert; otherwise the layer found the fault, and the
// caller should send Alert (AppendAlert) before it closes.
type Error struct {
	Alert  uint8
	Remote bool
	Detail string
}

func (e *Error) Error() string {
	name := tls.AlertError(e.Alert).Error()
	if e.Remote {
		return "the peer sent the alert " + name
	}
	return name + ": " + e.Detail
}

func fault(alert uint8, format string, args ...any) *Error {
	return &Error{Alert: alert, Detail: fmt.Sprintf(format, args...)}
}

// Layer seals and opens one session's records. It is not safe for
// concurrent use: a session belongs to one loop.
type Layer struct {
	version uint16
	suite   suite
	suiteID uint16
	// inUpdates counts the peer's KeyUpdates, so that a kernel that
	// opens records can be given the new keys (see Handle).
	inUpdates int
	// forget: the raw keys are wiped as soon as they are derived (see
	// ForgetKeys); the AEADs are all the layer needs to seal itself.
	forget  bool
	role    Role
	in, out direction

	// hs holds a post-handshake message that arrived in pieces.
	hs []byte
	// What the layer owes the peer before its next record: an answer to
	// a KeyUpdate that asked for one, or a key update of its own, and
	// no_renegotiation warnings.
	updateOut     bool
	requestUpdate bool // ask the peer to update its keys too
	refusals      int
	maxRecord     int // the most plaintext a record carries, MaxPlaintext unless limited

	// tickets takes the server's first records while they carry only
	// tickets (SetTicketSink); nil once one carries anything else.
	tickets TicketSink
}

// TicketSink takes the NewSessionTicket messages a TLS 1.3 server sends
// after the handshake, as the records that carried them, sealed as they
// came: only the crypto/tls connection that made the handshake knows
// the resumption secret that makes resumable sessions of them. Ticket
// reports whether the sink takes more.
type TicketSink interface {
	Ticket(rec []byte) bool
}

// SetTicketSink has a TLS 1.3 client layer hand s the server's records
// from the first one the layer opens, as long as each carries nothing
// but whole tickets: s must have read the session's records up to there
// itself (the handshake's), so that the two stay in step. The first
// record that carries anything else, or a KeyUpdate, ends it.
func (l *Layer) SetTicketSink(s TicketSink) {
	if l.role == Client && l.version == tls.VersionTLS13 {
		l.tickets = s
	}
}

// New makes the layer of one session from the keys its handshake
// produced.
func New(role Role, k Keys) (*Layer, error) {
	if !Supported(k.Version, k.Suite) {
		return nil, fmt.Errorf("no record layer for %s with %s", tls.VersionName(k.Version), tls.CipherSuiteName(k.Suite))
	}
	l := &Layer{version: k.Version, suite: suites[k.Suite], suiteID: k.Suite, role: role, maxRecord: MaxPlaintext}
	var client, server direction
	var err error
	if k.Version == tls.VersionTLS13 {
		if client, err = direction13(l.suite, k.ClientSecret, k.ClientSeq); err == nil {
			server, err = direction13(l.suite, k.ServerSecret, k.ServerSeq)
		}
	} else {
		client, server, err = directions12(l.suite, k)
	}
	if err != nil {
		return nil, fmt.Errorf("deriving traffic keys: %w", err)
	}
	if role == Server {
		l.in, l.out = client, server
	} else {
		l.in, l.out = server, client
	}
	return l, nil
}

// SetMaxRecord limits the plaintext of each record the layer seals to n
// bytes ('tune.ssl.maxrecord'): smaller records reach a client's parser
// sooner over a slow link. n outside 1..MaxPlaintext means no limit.
func (l *Layer) SetMaxRecord(n int) {
	if n <= 0 || n > MaxPlaintext {
		n = MaxPlaintext
	}
	l.maxRecord = n
}

// Version is the session's TLS version.
func (l *Layer) Version() uint16 { return l.version }

func (l *Layer) maxCiphertext() int {
	if l.version == tls.VersionTLS13 {
		return maxCiphertext13
	}
	return maxCiphertext12
}

// Open reads the first record of buf, decrypting it in place. n is how
// many bytes of buf the record took: 0 when buf does not yet hold a
// whole record (read more and call again, from the same start). data is
// its application data, within buf, and may be empty: a record may carry
// only an alert or a post-handshake message, which Open handles itself.
// err is io.EOF at the peer's close_notify, else an *Error.
func (l *Layer) Open(buf []byte) (n int, data []byte, err error) {
	if len(buf) < headerLen {
		return 0, nil, nil
	}
	length := int(binary.BigEndian.Uint16(buf[3:5]))
	if buf[1] != 3 {
		return 0, nil, fault(alertDecodeError, "a record of version %d.%d, not TLS", buf[1], buf[2])
	}
	if length > l.maxCiphertext() {
		return 0, nil, fault(alertRecordOverflow, "a record of %d bytes, more than the %d TLS allows", length, l.maxCiphertext())
	}
	if len(buf) < headerLen+length {
		return 0, nil, nil
	}
	n = headerLen + length
	var sealed []byte
	if l.tickets != nil {
		sealed = slices.Clone(buf[:n]) // decrypt opens it in place
	}
	ctype, plain, err := l.decrypt(buf[:n])
	if l.tickets != nil {
		if err == nil && ctype == typeHandshake && len(l.hs) == 0 && onlyTickets(plain) {
			if !l.tickets.Ticket(sealed) {
				l.tickets = nil
			}
		} else {
			l.tickets = nil
		}
	}
	if err != nil {
		return n, nil, err
	}
	switch ctype {
	case typeApplicationData:
		return n, plain, nil
	case typeAlert:
		return n, nil, l.alert(plain)
	case typeHandshake:
		return n, nil, l.postHandshake(plain)
	}
	return n, nil, fault(alertUnexpectedMessage, "a record of type %d after the handshake", ctype)
}

// decrypt opens one whole record in place and returns its real content
// type and plaintext.
func (l *Layer) decrypt(rec []byte) (byte, []byte, error) {
	overhead := l.in.aead.Overhead()
	var nonce [12]byte
	if l.version == tls.VersionTLS13 {
		if rec[0] != typeApplicationData {
			return 0, nil, fault(alertUnexpectedMessage, "an unprotected record of type %d after the handshake", rec[0])
		}
		if len(rec) < headerLen+overhead+1 {
			return 0, nil, fault(alertBadRecordMAC, "a record too short to be sealed")
		}
		l.in.nonce(false, &nonce)
		plain, err := l.in.aead.Open(rec[headerLen:headerLen], nonce[:], rec[headerLen:], rec[:headerLen])
		if err != nil {
			return 0, nil, fault(alertBadRecordMAC, "record %d does not authenticate", l.in.seq)
		}
		l.in.seq++
		// TLSInnerPlaintext: the content, its type, then zero padding.
		i := len(plain) - 1
		for i >= 0 && plain[i] == 0 {
			i--
		}
		if i < 0 {
			return 0, nil, fault(alertUnexpectedMessage, "a record with no content type")
		}
		if len(plain) > MaxPlaintext+1 {
			return 0, nil, fault(alertRecordOverflow, "a record of %d bytes of plaintext", i)
		}
		return plain[i], plain[:i], nil
	}
	body := rec[headerLen:]
	explicit := l.suite.explicitNonce
	if explicit {
		if len(body) < 8+overhead {
			return 0, nil, fault(alertBadRecordMAC, "a record too short to be sealed")
		}
		copy(nonce[:4], l.in.iv[:4])
		copy(nonce[4:], body[:8])
		body = body[8:]
	} else {
		if len(body) < overhead {
			return 0, nil, fault(alertBadRecordMAC, "a record too short to be sealed")
		}
		l.in.nonce(false, &nonce)
	}
	ad := l.additionalData12(l.in.seq, rec[0], len(body)-overhead)
	plain, err := l.in.aead.Open(body[:0], nonce[:], body, ad[:])
	if err != nil {
		return 0, nil, fault(alertBadRecordMAC, "record %d does not authenticate", l.in.seq)
	}
	if len(plain) > MaxPlaintext {
		return 0, nil, fault(alertRecordOverflow, "a record of %d bytes of plaintext", len(plain))
	}
	l.in.seq++
	return rec[0], plain, nil
}

// additionalData12 is TLS 1.2's AEAD additional data (RFC 5246,
// section 6.2.3.3).
func (l *Layer) additionalData12(seq uint64, ctype byte, n int) [13]byte {
	var ad [13]byte
	binary.BigEndian.PutUint64(ad[:8], seq)
	ad[8], ad[9], ad[10] = ctype, 3, 3
	binary.BigEndian.PutUint16(ad[11:], uint16(n))
	return ad
}

// alert handles an alert record from the peer.
func (l *Layer) alert(p []byte) error {
	if len(p) != 2 {
		return fault(alertDecodeError, "an alert of %d bytes", len(p))
	}
	level, desc := p[0], p[1]
	switch {
	case desc == alertCloseNotify:
		return io.EOF
	case desc == alertUserCanceled:
		// Always followed by close_notify (RFC 8446, section 6.1).
		return nil
	case l.version == tls.VersionTLS12 && level == levelWarning:
		// TLS 1.2 lets a warning pass (no_renegotiation, mostly).
		return nil
	}
	return &Error{Alert: desc, Remote: true}
}

// postHandshake handles handshake messages after the handshake: TLS
// 1.3's KeyUpdate and tickets, and refuses renegotiation.
func (l *Layer) postHandshake(p []byte) error {
	if len(p) == 0 {
		return fault(alertUnexpectedMessage, "an empty handshake record")
	}
	if len(l.hs)+len(p) > maxPostHandshake {
		return fault(alertUnexpectedMessage, "a post-handshake message of more than %d bytes", maxPostHandshake)
	}
	l.hs = append(l.hs, p...)
	for len(l.hs) >= 4 {
		mlen := int(l.hs[1])<<16 | int(l.hs[2])<<8 | int(l.hs[3])
		if len(l.hs) < 4+mlen {
			if 4+mlen > maxPostHandshake {
				return fault(alertUnexpectedMessage, "a post-handshake message of %d bytes", mlen)
			}
			break
		}
		typ, body := l.hs[0], l.hs[4:4+mlen]
		l.hs = l.hs[4+mlen:]
		if err := l.message(typ, body); err != nil {
			return err
		}
	}
	if len(l.hs) == 0 {
		l.hs = nil // hold no memory between messages
	}
	return nil
}

func (l *Layer) message(typ byte, body []byte) error {
	if l.version == tls.VersionTLS12 {
		if l.role == Server && typ == msgClientHello || l.role == Client && typ == msgHelloRequest {
			// Refused as OpenSSL refuses it under HAProxy
			// (SSL_OP_NO_RENEGOTIATION): a warning, and the session
			// goes on with its keys.
			l.refusals++
			return nil
		}
		return fault(alertUnexpectedMessage, "handshake message %d after the handshake", typ)
	}
	switch {
	case typ == msgKeyUpdate:
		if len(body) != 1 || body[0] > 1 {
			return fault(alertDecodeError, "a malformed KeyUpdate")
		}
		if len(l.hs) != 0 {
			// RFC 8446, section 5.1: not across a key change.
			return fault(alertUnexpectedMessage, "a record that goes on after a KeyUpdate")
		}
		next, err := l.update(l.in)
		if err != nil {
			return fault(alertIllegalParameter, "KeyUpdate: %v", err)
		}
		l.in = next
		l.inUpdates++
		if body[0] == 1 {
			l.updateOut = true
		}
		return nil
	case typ == msgNewSessionTicket && l.role == Client:
		// The layer itself has no use for a ticket: a TicketSink, if
		// any, took the record before.
		return nil
	}
	return fault(alertUnexpectedMessage, "handshake message %d after the handshake", typ)
}

// onlyTickets reports whether p is one or more whole NewSessionTicket
// messages.
func onlyTickets(p []byte) bool {
	if len(p) == 0 {
		return false
	}
	for len(p) > 0 {
		if len(p) < 4 || p[0] != msgNewSessionTicket {
			return false
		}
		mlen := int(p[1])<<16 | int(p[2])<<8 | int(p[3])
		if len(p) < 4+mlen {
			return false
		}
		p = p[4+mlen:]
	}
	return true
}

// update derives a direction's next keys (RFC 8446, section 7.2).
func (l *Layer) update(d direction) (direction, error) {
	secret, err := expandLabel(l.suite.hash, d.secret, "traffic upd", l.suite.hash().Size())
	if err != nil {
		return direction{}, err
	}
	clear(d.secret)
	clear(d.key)
	next, err := direction13(l.suite, secret, 0)
	clear(secret)
	if l.forget {
		clear(next.key)
		next.key = nil
	}
	return next, err
}

// UpdateKeys renews the layer's TLS 1.3 write keys before its next
// record and, with requestPeer, asks the peer to renew its own. It
// reports false for TLS 1.2, which has no key update.
func (l *Layer) UpdateKeys(requestPeer bool) bool {
	if l.version != tls.VersionTLS13 {
		return false
	}
	l.updateOut = true
	l.requestUpdate = l.requestUpdate || requestPeer
	return true
}

// Pending reports whether the layer owes the peer records (an answer
// to its KeyUpdate, a refusal of renegotiation): the caller should
// AppendControl and send them even when it has no data.
func (l *Layer) Pending() bool { return l.updateOut || l.refusals > 0 }

// AppendControl appends the records the layer owes the peer to dst.
func (l *Layer) AppendControl(dst []byte) []byte {
	if !l.Pending() {
		return dst
	}
	l.owed(func(ctype byte, p []byte) { dst = l.seal(dst, ctype, p) })
	return dst
}

// owed passes the records the layer owes the peer to send, in plaintext
// and in order, and moves to the next write keys after a KeyUpdate.
func (l *Layer) owed(send func(ctype byte, p []byte)) {
	for ; l.refusals > 0; l.refusals-- {
		send(typeAlert, []byte{levelWarning, alertNoRenegotiation})
	}
	if l.updateOut {
		var requested byte
		if l.requestUpdate {
			requested = 1
		}
		l.updateOut, l.requestUpdate = false, false
		send(typeHandshake, []byte{msgKeyUpdate, 0, 0, 1, requested})
		next, err := l.update(l.out)
		if err != nil {
			// expandLabel fails only for a length HKDF cannot give,
			// which the suite table rules out.
			panic("record: KeyUpdate: " + err.Error())
		}
		l.out = next
	}
}

// Seal appends to dst the records that carry p, and first what the
// layer owes the peer.
func (l *Layer) Seal(dst, p []byte) []byte {
	if l.version == tls.VersionTLS13 && l.out.seq >= keyUpdateAfter {
		l.updateOut = true
	}
	dst = l.AppendControl(dst)
	for len(p) > 0 {
		n := min(len(p), l.maxRecord)
		dst = l.seal(dst, typeApplicationData, p[:n])
		p = p[n:]
	}
	return dst
}

// AppendClose appends close_notify to dst: the layer sends nothing more.
func (l *Layer) AppendClose(dst []byte) []byte {
	ctype, p := CloseNotify()
	return l.seal(l.AppendControl(dst), ctype, p)
}

// AppendAlert appends the fatal alert desc, the answer to an *Error the
// layer found.
func (l *Layer) AppendAlert(dst []byte, desc uint8) []byte {
	ctype, p := FatalAlert(desc)
	return l.seal(dst, ctype, p)
}

// Overhead is how many bytes a full record adds to its plaintext.
func (l *Layer) Overhead() int {
	n := headerLen + l.out.aead.Overhead()
	if l.version == tls.VersionTLS13 {
		n++ // the inner content type
	} else if l.suite.explicitNonce {
		n += 8
	}
	return n
}

// seal appends one record of type ctype carrying p.
func (l *Layer) seal(dst []byte, ctype byte, p []byte) []byte {
	overhead := l.out.aead.Overhead()
	var nonce [12]byte
	start := len(dst)
	dst = slices.Grow(dst, len(p)+l.Overhead())
	if l.version == tls.VersionTLS13 {
		n := len(p) + 1 + overhead
		dst = append(dst, typeApplicationData, 3, 3, byte(n>>8), byte(n))
		body := len(dst)
		dst = append(dst, p...)
		dst = append(dst, ctype)
		l.out.nonce(false, &nonce)
		dst = l.out.aead.Seal(dst[:body], nonce[:], dst[body:], dst[start:body])
		l.out.seq++
		return dst
	}
	n := len(p) + overhead
	if l.suite.explicitNonce {
		n += 8
	}
	dst = append(dst, ctype, 3, 3, byte(n>>8), byte(n))
	if l.suite.explicitNonce {
		l.out.nonce(true, &nonce)
		dst = append(dst, nonce[4:]...)
	} else {
		l.out.nonce(false, &nonce)
	}
	body := len(dst)
	dst = append(dst, p...)
	ad := l.additionalData12(l.out.seq, ctype, len(p))
	dst = l.out.aead.Seal(dst[:body], nonce[:], dst[body:], ad[:])
	l.out.seq++
	return dst
}
