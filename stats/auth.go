package stats

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"

	"github.com/fjordlb/fjord/config"
)

// basicAuth checks "stats auth" credentials (RFC 7617 Basic).
type basicAuth struct {
	creds     []credDigest
	challenge string // the WWW-Authenticate value
}

// credDigest holds SHA-256 digests rather than the strings: comparing
// fixed-size digests in constant time reveals neither the content nor the
// length of a configured user or password.
type credDigest struct{ user, pass [sha256.Size]byte }

func newBasicAuth(st *config.Stats) *basicAuth {
	realm := st.Realm
	if realm == "" {
		realm = config.DefaultStatsRealm
	}
	a := &basicAuth{challenge: `Basic realm="` + realm + `"`}
	for _, c := range st.Auth {
		a.creds = append(a.creds, credDigest{sha256.Sum256([]byte(c.User)), sha256.Sum256([]byte(c.Password))})
	}
	return a
}

// open reports whether the page needs no credentials (no "stats auth").
func (a *basicAuth) open() bool { return len(a.creds) == 0 }

// allowed reports whether an Authorization header value carries one of the
// configured credentials. Every credential is compared, user and password
// both, with no early exit, so timing tells nothing about which one came
// close or which half matched.
func (a *basicAuth) allowed(header []byte) bool {
	if a.open() {
		return true
	}
	user, pass, ok := parseBasic(header)
	if !ok {
		return false
	}
	u, p := sha256.Sum256(user), sha256.Sum256(pass)
	match := 0
	for i := range a.creds {
		c := &a.creds[i]
		match |= subtle.ConstantTimeCompare(u[:], c.user[:]) & subtle.ConstantTimeCompare(p[:], c.pass[:])
	}
	return match == 1
}

// parseBasic decodes "Basic base64(user:password)". The scheme name is
// case-insensitive (RFC 9110 §11.1); the password may contain ':'.
func parseBasic(h []byte) (user, pass []byte, ok bool) {
	h = bytes.TrimSpace(h)
	const scheme = "basic "
	if len(h) < len(scheme) || !bytes.EqualFold(h[:len(scheme)], []byte(scheme)) {
		return nil, nil, false
	}
	enc := bytes.TrimSpace(h[len(scheme):])
	dec := make([]byte, base64.StdEncoding.DecodedLen(len(enc)))
	n, err := base64.StdEncoding.Decode(dec, enc)
	if err != nil {
		return nil, nil, false
	}
	user, pass, ok = bytes.Cut(dec[:n], []byte(":"))
	return user, pass, ok
}
