package logging

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"net/netip"
	"strconv"
	"sync"
	"time"

	"github.com/fjordlb/fjord/config"
)

// Anonymizer makes client addresses non-personal before they reach a log
// line ("log-anonymize"): it truncates them to a prefix, or replaces them
// with a keyed hash whose key lives only in memory and is replaced every
// KeyRotation, so that once a period ends nobody (fjord included) can link
// its hashes back to addresses. A nil *Anonymizer leaves addresses intact.
type Anonymizer struct {
	conf config.LogAnonymize
	now  func() time.Time

	mu     sync.Mutex
	period int64 // the rotation period the key belongs to
	key    [32]byte
}

// NewAnonymizer returns the anonymizer of a "log-anonymize" setting, or
// nil when it is off. now is the clock deciding key rotation (time.Now
// outside tests).
func NewAnonymizer(conf config.LogAnonymize, now func() time.Time) *Anonymizer {
	if !conf.Enabled {
		return nil
	}
	if now == nil {
		now = time.Now
	}
	if conf.Hash && conf.KeyRotation <= 0 {
		conf.KeyRotation = 24 * time.Hour
	}
	return &Anonymizer{conf: conf, now: now, period: -1}
}

// AppendAddr appends the anonymised form of a (no port) to dst.
func (a *Anonymizer) AppendAddr(dst []byte, addr netip.Addr) []byte {
	addr = addr.Unmap()
	if a == nil {
		return addr.AppendTo(dst)
	}
	if a.conf.Hash {
		return a.appendHash(dst, addr)
	}
	bits := a.conf.IPv6Mask
	if addr.Is4() {
		bits = a.conf.IPv4Mask
	}
	p, err := addr.Prefix(bits)
	if err != nil {
		return append(dst, '-')
	}
	return p.Addr().AppendTo(dst)
}

// truncate is addr cut to its prefix, false when a hashes addresses.
func (a *Anonymizer) truncate(addr netip.Addr) (netip.Addr, bool) {
	if a.conf.Hash {
		return netip.Addr{}, false
	}
	addr = addr.Unmap()
	bits := a.conf.IPv6Mask
	if addr.Is4() {
		bits = a.conf.IPv4Mask
	}
	p, err := addr.Prefix(bits)
	if err != nil {
		return netip.Addr{}, false
	}
	return p.Addr(), true
}

// AppendAddrPort appends ADDR:PORT as HAProxy writes it (an IPv6 address
// without brackets), with ADDR anonymised.
func (a *Anonymizer) AppendAddrPort(dst []byte, ap netip.AddrPort) []byte {
	dst = a.AppendAddr(dst, ap.Addr())
	dst = append(dst, ':')
	return strconv.AppendUint(dst, uint64(ap.Port()), 10)
}

// hashLen is the hex digits of a hashed address kept: 64 bits, enough to
// tell a day's clients apart, short enough to read.
const hashLen = 16

// appendHash appends "h" and the HMAC-SHA256 of addr under the current
// period's key. The "h" keeps the result from looking like an address.
func (a *Anonymizer) appendHash(dst []byte, addr netip.Addr) []byte {
	var key [32]byte
	a.mu.Lock()
	if p := a.now().UnixNano() / int64(a.conf.KeyRotation); p != a.period {
		// A new period: a new random key, and the old one is gone.
		if _, err := rand.Read(a.key[:]); err != nil {
			a.mu.Unlock()
			return append(dst, '-') // never fall back to the address
		}
		a.period = p
	}
	key = a.key
	a.mu.Unlock()
	m := hmac.New(sha256.New, key[:])
	b := addr.As16()
	m.Write(b[:])
	var sum [sha256.Size]byte
	var hexed [hashLen]byte
	hex.Encode(hexed[:], m.Sum(sum[:0])[:hashLen/2])
	dst = append(dst, 'h')
	return append(dst, hexed[:]...)
}
