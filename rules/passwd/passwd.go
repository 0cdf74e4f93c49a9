// Package passwd checks passwords against the crypt(3) hashes that the
// "user NAME password HASH" lines of a userlist hold.
//
// Three schemes are accepted: SHA-512 crypt ("$6$"), SHA-256 crypt ("$5$")
// and bcrypt ("$2a$", "$2b$", "$2y$"). HAProxy hands the hash to the
// system's crypt(3) and so accepts whatever its libc does; fjord refuses
// the weak schemes (MD5 crypt, DES crypt and their kin) and the ones it
// has no implementation of (yescrypt, scrypt, ...), and Format says which
// and why.
//
// The hashing is done by libraries, never here: SHA-crypt by
// github.com/go-crypt/crypt, bcrypt by golang.org/x/crypto/bcrypt. Both
// compare the computed hash with the stored one in constant time.
//
// A check costs what the hash was made to cost (5000 SHA-512 rounds by
// default, 2^cost Blowfish key schedules for bcrypt: milliseconds each).
// A browser sends the same Authorization header with every request, so
// Check remembers the last CacheSize successful checks; see Check.
package passwd

import (
	"fmt"

	"github.com/fjordlb/fjord/config"
	"github.com/go-crypt/crypt/algorithm/shacrypt"
	"golang.org/x/crypto/bcrypt"
)

// Scheme names of Format.
const (
	SHA512Crypt = config.SHA512Crypt
	SHA256Crypt = config.SHA256Crypt
	BCrypt      = config.BCrypt
)

// MaxPasswordLen is the longest password Check hashes, in bytes: as in
// libxcrypt (below CRYPT_MAX_PASSPHRASE_SIZE, 512 with the terminating
// NUL), a longer one matches nothing.
// SHA-crypt's cost grows with the password's length, so without a bound
// a client could make every check cost as much as a header can hold.
const MaxPasswordLen = 511

// Check reports whether password matches hash. A hash Format refuses
// matches no password, and neither does a password longer than
// MaxPasswordLen.
//
// A successful check is remembered (see the cache in cache.go), so that a
// client repeating its Authorization header costs one hash, not one per
// request; a failed one is not, so that wrong passwords cannot push the
// right ones out. The cache never holds the password: its key is a keyed
// SHA-256 of the hash and the password.
//
// Check is safe for concurrent use. It may take milliseconds (more for a
// hash made with many rounds or a high cost): callers on an event loop
// should run it elsewhere.
func Check(hash, password string) bool {
	if len(password) > MaxPasswordLen {
		return false
	}
	key := cacheKey(hash, password)
	if checked.hit(key) {
		return true
	}
	if !verify(hash, password) {
		return false
	}
	checked.add(key)
	return true
}

// verify computes the hash of password with hash's scheme and parameters
// and compares it with hash, in constant time, without the cache.
func verify(hash, password string) bool {
	h, err := parse(hash)
	if err != nil {
		return false
	}
	switch h.scheme {
	case SHA512Crypt, SHA256Crypt:
		d, err := shacrypt.Decode(hash)
		if err != nil {
			return false
		}
		return d.Match(password)
	case BCrypt:
		return bcrypt.CompareHashAndPassword([]byte(hash), []byte(password)) == nil
	}
	return false
}

// Format names the scheme of hash (SHA512Crypt, SHA256Crypt or BCrypt),
// or says why fjord refuses it: a weak scheme, one fjord does not
// implement, or a hash of a known scheme that is malformed (and so could
// never match, whatever crypt(3) would make of it).
func Format(hash string) (string, error) {
	h, err := parse(hash)
	if err != nil {
		return "", err
	}
	// What parse accepts, the libraries must read: make sure of it
	// rather than fail every check later.
	switch h.scheme {
	case SHA512Crypt, SHA256Crypt:
		_, err = shacrypt.Decode(hash)
	case BCrypt:
		_, err = bcrypt.Cost([]byte(hash))
	}
	if err != nil {
		return "", fmt.Errorf("malformed %s hash: %v", h.scheme, err)
	}
	return h.scheme, nil
}

// parsed is what parse learns of a hash.
type parsed struct {
	scheme string
	rounds int // SHA-crypt rounds; bcrypt: the cost (log2 of the rounds)
}

// parse checks the structure of hash: its scheme, parameters, salt and
// hash lengths, as crypt(3) writes them. config reads it, so that
// 'fjord -c' refuses what Check could never match.
func parse(hash string) (parsed, error) {
	scheme, cost, err := config.PasswordHash(hash)
	return parsed{scheme: scheme, rounds: cost}, err
}
