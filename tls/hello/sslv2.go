package hello

import (
	"fmt"

	"golang.org/x/crypto/cryptobyte"
)

// parseSSLv2 reads an SSLv2 CLIENT-HELLO (draft-hickman-netscape-ssl-00,
// and RFC 6101 appendix E.2 for the backwards-compatible hello of SSL 3.0
// and TLS clients) exactly as HAProxy 2.6's smp_fetch_req_ssl_ver does,
// the only fetch that recognises one: the checks, their order and how
// much of the stream each waits for are the same, so that req.ssl_ver
// has the same value at the same time. Like HAProxy, it reads neither the
// cipher specs nor the challenge.
func parseSSLv2(b []byte) (Hello, error) {
	s := cryptobyte.String(b)
	var hdr uint16
	var pad uint8
	var rlen, plen int
	if b[0]&0x80 != 0 {
		// The two-byte header: 15 bits of length, no padding.
		if !s.ReadUint16(&hdr) {
			return Hello{}, ErrNeedMore
		}
		rlen = int(hdr & 0x7fff)
	} else {
		// The three-byte header: 14 bits of length and the length of
		// the padding at the end of the record.
		if !s.ReadUint16(&hdr) || !s.ReadUint8(&pad) {
			return Hello{}, ErrNeedMore
		}
		rlen, plen = int(hdr&0x3fff), int(pad)
	}
	var msgType uint8
	if !s.ReadUint8(&msgType) {
		return Hello{}, ErrNeedMore
	}
	if msgType != 1 {
		return Hello{}, notTLS(b[:len(b)-len(s)])
	}
	var version, cipherLen, sessionLen, challengeLen uint16
	if !s.ReadUint16(&version) || !s.ReadUint16(&cipherLen) || !s.ReadUint16(&sessionLen) || !s.ReadUint16(&challengeLen) {
		return Hello{}, ErrNeedMore
	}
	switch {
	case cipherLen%3 != 0:
		return Hello{}, malformed("SSLv2 hello: its cipher specs are %d bytes long, not a multiple of 3", cipherLen)
	case sessionLen != 0 && sessionLen != 16:
		return Hello{}, malformed("SSLv2 hello: its session id is %d bytes long, not 0 or 16", sessionLen)
	case challengeLen < 16 || challengeLen > 32:
		return Hello{}, malformed("SSLv2 hello: its challenge is %d bytes long, not 16 to 32", challengeLen)
	case rlen != 9+int(cipherLen)+int(sessionLen)+int(challengeLen):
		return Hello{}, malformed("SSLv2 hello: its record is %d bytes long, its fields %d", rlen, 9+int(cipherLen)+int(sessionLen)+int(challengeLen))
	}
	// The rest of the record must be there, or as much of it as fits in
	// what is read: HAProxy likewise settles for what fits in its
	// buffer, so that this answer never waits for bytes it cannot hold.
	rest := int(cipherLen) + int(sessionLen) + int(challengeLen) + plen
	if len(s) < rest && len(b) < MaxInput {
		return Hello{}, ErrNeedMore
	}
	return Hello{SSLv2: true, Version: versionOf(version)}, nil
}

// notTLS is the error for a stream that is neither TLS nor SSLv2, quoting
// the bytes that showed it (always the same ones for a given stream, so
// that a longer peek of it gives the same error).
func notTLS(seen []byte) error {
	text := true
	for _, c := range seen {
		if c < ' ' || c > '~' {
			text = false
		}
	}
	if text {
		return fmt.Errorf("%w: the stream starts with text, %q (an HTTP request?), not a TLS handshake record nor an SSLv2 hello", ErrNotTLS, seen)
	}
	return fmt.Errorf("%w: the stream starts with % x, not a TLS handshake record nor an SSLv2 hello", ErrNotTLS, seen)
}
