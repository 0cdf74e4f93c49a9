// Package record is fjord's user-space TLS record layer: it seals and
// opens the application-data records of a TLS 1.2 or 1.3 session whose
// handshake crypto/tls has done, with the standard AEADs, in the
// caller's buffers and on the caller's goroutine (an event loop), so that
// an established TLS session costs no goroutine. It handles what a
// record layer must after the handshake: TLS 1.3 KeyUpdate, tickets
// sent to a client, alerts, close_notify, and the refusal of
// renegotiation.
//
// It does no handshake and has no key exchange: the keys come from
// crypto/tls (see package handshake), and the AEADs are the standard
// library's AES-GCM and x/crypto's ChaCha20-Poly1305.
package record

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/tls"
	"encoding/binary"
	"fmt"
	"hash"

	"golang.org/x/crypto/chacha20poly1305"
)

// Keys is what the handshake hands over: enough to derive both
// directions' traffic keys, and where each direction's sequence numbers
// stand.
type Keys struct {
	Version uint16 // tls.VersionTLS12 or tls.VersionTLS13
	Suite   uint16 // an AEAD suite: see Supported

	// TLS 1.3: the application traffic secrets
	// (client_application_traffic_secret_0, server_...).
	ClientSecret, ServerSecret []byte

	// TLS 1.2: the master secret and the hello randoms, from which the
	// key block is expanded (RFC 5246, section 6.3).
	MasterSecret               []byte
	ClientRandom, ServerRandom []byte

	// The number of records each direction has already carried under
	// these keys: the handshake's own (TLS 1.2 Finished, TLS 1.3
	// tickets).
	ClientSeq, ServerSeq uint64
}

// suite describes an AEAD cipher suite as the record layer needs it.
type suite struct {
	keyLen int
	hash   func() hash.Hash
	aead   func(key []byte) (cipher.AEAD, error)
	// explicitNonce: TLS 1.2 AES-GCM sends 8 bytes of nonce per record
	// and keeps 4 implicit; every other suite XORs the sequence number
	// into a 12-byte IV.
	explicitNonce bool
	gcm           bool
}

func aesGCM(key []byte) (cipher.AEAD, error) {
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(b)
}

var (
	aes128GCM = suite{keyLen: 16, hash: sha256.New, aead: aesGCM, gcm: true}
	aes256GCM = suite{keyLen: 32, hash: sha512.New384, aead: aesGCM, gcm: true}
	chacha    = suite{keyLen: chacha20poly1305.KeySize, hash: sha256.New, aead: chacha20poly1305.New}
)

func tls12(s suite) suite {
	s.explicitNonce = s.gcm
	return s
}

// suites are the AEAD suites with forward secrecy that fjord offers:
// every TLS 1.3 suite, and the ECDHE AEAD suites of TLS 1.2. CBC, RC4,
// 3DES and static-RSA suites have no record layer here, so a
// configuration cannot bring them back.
var suites = map[uint16]suite{
	tls.TLS_AES_128_GCM_SHA256:       aes128GCM,
	tls.TLS_AES_256_GCM_SHA384:       aes256GCM,
	tls.TLS_CHACHA20_POLY1305_SHA256: chacha,

	tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256:       tls12(aes128GCM),
	tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256:         tls12(aes128GCM),
	tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384:       tls12(aes256GCM),
	tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384:         tls12(aes256GCM),
	tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256: tls12(chacha),
	tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256:   tls12(chacha),
}

// Supported reports whether the record layer can carry suite id under
// version.
func Supported(version, id uint16) bool {
	if _, ok := suites[id]; !ok {
		return false
	}
	is13 := id>>8 == 0x13 // TLS 1.3's suites are 0x1301-0x1305
	return version == tls.VersionTLS13 && is13 || version == tls.VersionTLS12 && !is13
}

// direction is one way of a session: its AEAD, IV and sequence number.
type direction struct {
	aead   cipher.AEAD
	key    []byte   // the AEAD's key, for a kernel that seals (see Material), until ForgetKeys
	iv     [12]byte // TLS 1.2 AES-GCM: the 4-byte salt, then zeros
	seq    uint64
	secret []byte // TLS 1.3: the current traffic secret, for KeyUpdate
}

// nonce writes the nonce of the record with sequence number seq.
func (d *direction) nonce(explicit bool, out *[12]byte) {
	*out = d.iv
	if explicit {
		binary.BigEndian.PutUint64(out[4:], d.seq)
		return
	}
	var s [8]byte
	binary.BigEndian.PutUint64(s[:], d.seq)
	for i := range s {
		out[4+i] ^= s[i]
	}
}

// expandLabel is TLS 1.3's HKDF-Expand-Label (RFC 8446, section 7.1)
// with an empty context.
func expandLabel(h func() hash.Hash, secret []byte, label string, n int) ([]byte, error) {
	full := "tls13 " + label
	info := make([]byte, 0, 4+len(full))
	info = binary.BigEndian.AppendUint16(info, uint16(n))
	info = append(info, byte(len(full)))
	info = append(info, full...)
	info = append(info, 0) // context: none
	return hkdf.Expand(h, secret, string(info), n)
}

// direction13 derives a TLS 1.3 direction from its traffic secret
// (RFC 8446, section 7.3).
func direction13(s suite, secret []byte, seq uint64) (direction, error) {
	key, err := expandLabel(s.hash, secret, "key", s.keyLen)
	if err != nil {
		return direction{}, err
	}
	iv, err := expandLabel(s.hash, secret, "iv", 12)
	if err != nil {
		return direction{}, err
	}
	a, err := s.aead(key)
	if err != nil {
		return direction{}, err
	}
	// A copy: the layer wipes it at the next KeyUpdate, and the caller
	// wipes its own.
	d := direction{aead: a, key: key, seq: seq, secret: bytes.Clone(secret)}
	copy(d.iv[:], iv)
	return d, nil
}

// prf12 is TLS 1.2's PRF, P_hash over HMAC (RFC 5246, section 5).
func prf12(h func() hash.Hash, secret []byte, label string, seed []byte, n int) []byte {
	labelSeed := append([]byte(label), seed...)
	out := make([]byte, 0, n+h().Size())
	mac := hmac.New(h, secret)
	mac.Write(labelSeed)
	a := mac.Sum(nil) // A(1)
	for len(out) < n {
		mac.Reset()
		mac.Write(a)
		mac.Write(labelSeed)
		out = mac.Sum(out)
		mac.Reset()
		mac.Write(a)
		a = mac.Sum(a[:0])
	}
	return out[:n]
}

// directions12 expands a TLS 1.2 key block (RFC 5246, section 6.3; the
// AEAD suites have no MAC keys) into the client's and the server's
// write directions.
func directions12(s suite, k Keys) (client, server direction, err error) {
	if len(k.MasterSecret) != 48 || len(k.ClientRandom) != 32 || len(k.ServerRandom) != 32 {
		return client, server, fmt.Errorf("TLS 1.2 keys need a 48-byte master secret and two 32-byte randoms")
	}
	ivLen := 12
	if s.explicitNonce {
		ivLen = 4
	}
	seed := append(append([]byte{}, k.ServerRandom...), k.ClientRandom...)
	block := prf12(s.hash, k.MasterSecret, "key expansion", seed, 2*s.keyLen+2*ivLen)
	ck, sk := block[:s.keyLen], block[s.keyLen:2*s.keyLen]
	civ, siv := block[2*s.keyLen:2*s.keyLen+ivLen], block[2*s.keyLen+ivLen:]
	if client.aead, err = s.aead(ck); err != nil {
		return client, server, err
	}
	if server.aead, err = s.aead(sk); err != nil {
		return client, server, err
	}
	client.key, server.key = bytes.Clone(ck), bytes.Clone(sk)
	clear(block[:2*s.keyLen])
	copy(client.iv[:], civ)
	copy(server.iv[:], siv)
	client.seq, server.seq = k.ClientSeq, k.ServerSeq
	return client, server, nil
}
