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
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/go-crypt/crypt/algorithm/shacrypt"
	"golang.org/x/crypto/bcrypt"
)

// Scheme names of Format.
const (
	SHA512Crypt = "SHA-512 crypt"
	SHA256Crypt = "SHA-256 crypt"
	BCrypt      = "bcrypt"
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

// alphabet is crypt(3)'s base-64 alphabet, which salts and hashes use.
const alphabet = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

func inAlphabet(s string) bool {
	for i := 0; i < len(s); i++ {
		if strings.IndexByte(alphabet, s[i]) < 0 {
			return false
		}
	}
	return true
}

// The hint every refusal ends with.
const hint = "use SHA-512 crypt ($6$, made by 'mkpasswd -m sha-512' or 'openssl passwd -6') or bcrypt ($2b$, 'mkpasswd -m bcrypt' or 'htpasswd -nB')"

// parse checks the structure of hash: its scheme, parameters, salt and
// hash lengths, as crypt(3) writes them.
func parse(hash string) (parsed, error) {
	switch {
	case hash == "":
		return parsed{}, errors.New("empty password hash")
	case strings.HasPrefix(hash, "$6$"):
		return parseSHACrypt(SHA512Crypt, hash[3:], 86)
	case strings.HasPrefix(hash, "$5$"):
		return parseSHACrypt(SHA256Crypt, hash[3:], 43)
	case strings.HasPrefix(hash, "$2a$"), strings.HasPrefix(hash, "$2b$"), strings.HasPrefix(hash, "$2y$"):
		return parseBCrypt(hash)
	}
	return parsed{}, refusal(hash)
}

// SHA-crypt's bounds on rounds, as crypt(3) applies them: it clamps a
// request outside them and writes the clamped value, so a hash naming
// one outside them cannot have come from it.
const (
	minRounds     = 1000
	maxRounds     = 999999999
	defaultRounds = 5000
	maxSaltLen    = 16
)

// parseSHACrypt reads "[rounds=N$]SALT$HASH" of a $5$ or $6$ hash.
func parseSHACrypt(scheme, rest string, hashLen int) (parsed, error) {
	p := parsed{scheme: scheme, rounds: defaultRounds}
	if r, ok := strings.CutPrefix(rest, "rounds="); ok {
		n, tail, found := strings.Cut(r, "$")
		if !found {
			return parsed{}, fmt.Errorf("malformed %s hash: no '$' after rounds=%s", scheme, n)
		}
		v, err := strconv.Atoi(n)
		if err != nil || strconv.Itoa(v) != n {
			return parsed{}, fmt.Errorf("malformed %s hash: rounds=%s is not a number as crypt(3) writes one", scheme, n)
		}
		if v < minRounds || v > maxRounds {
			return parsed{}, fmt.Errorf("malformed %s hash: rounds=%d is outside %d-%d, so crypt(3) cannot have made it", scheme, v, minRounds, maxRounds)
		}
		p.rounds, rest = v, tail
	}
	salt, sum, found := strings.Cut(rest, "$")
	switch {
	case !found:
		return parsed{}, fmt.Errorf("malformed %s hash: no '$' between the salt and the hash", scheme)
	case len(salt) > maxSaltLen:
		return parsed{}, fmt.Errorf("malformed %s hash: a salt of %d characters (crypt(3) writes at most %d)", scheme, len(salt), maxSaltLen)
	case !inAlphabet(salt):
		return parsed{}, fmt.Errorf("malformed %s hash: the salt has a character outside [./0-9A-Za-z]", scheme)
	case len(sum) != hashLen:
		return parsed{}, fmt.Errorf("malformed %s hash: the hash after the salt has %d characters, not %d", scheme, len(sum), hashLen)
	case !inAlphabet(sum):
		return parsed{}, fmt.Errorf("malformed %s hash: the hash has a character outside [./0-9A-Za-z]", scheme)
	}
	return p, nil
}

// bcrypt's bounds on its cost, as every implementation applies them.
const minCost, maxCost = 4, 31

// parseBCrypt reads "$2?$CC$" and the 53 characters of salt and hash.
func parseBCrypt(hash string) (parsed, error) {
	rest := hash[4:]
	if len(rest) < 3 || rest[2] != '$' {
		return parsed{}, errors.New("malformed bcrypt hash: no two-digit cost after the version")
	}
	c := rest[:2]
	cost, err := strconv.Atoi(c)
	if err != nil || c[0] < '0' || c[0] > '9' || c[1] < '0' || c[1] > '9' {
		return parsed{}, fmt.Errorf("malformed bcrypt hash: cost '%s' is not two digits", c)
	}
	if cost < minCost || cost > maxCost {
		return parsed{}, fmt.Errorf("malformed bcrypt hash: cost %d is outside %d-%d", cost, minCost, maxCost)
	}
	sum := rest[3:]
	if len(sum) != 53 {
		return parsed{}, fmt.Errorf("malformed bcrypt hash: %d characters of salt and hash after the cost, not 53", len(sum))
	}
	if !inAlphabet(sum) {
		return parsed{}, errors.New("malformed bcrypt hash: a character outside [./0-9A-Za-z]")
	}
	return parsed{scheme: BCrypt, rounds: cost}, nil
}

// refusal says why a hash of no accepted scheme is refused.
func refusal(hash string) error {
	weak := func(name string) error {
		return fmt.Errorf("%s is weak and refused: %s", name, hint)
	}
	unsupported := func(name string) error {
		return fmt.Errorf("%s is not supported: %s", name, hint)
	}
	for _, s := range []struct {
		prefix string
		err    func(string) error
		name   string
	}{
		{"$1$", weak, "MD5 crypt ($1$)"},
		{"$apr1$", weak, "Apache MD5 ($apr1$)"},
		{"$md5", weak, "Sun MD5 crypt ($md5)"},
		{"$sha1$", weak, "SHA-1 crypt ($sha1$)"},
		{"$3$", weak, "NT hash ($3$)"},
		{"{SHA}", weak, "unsalted SHA-1 ({SHA})"},
		{"$2x$", weak, "bcrypt $2x$ (made by a crypt_blowfish with a known bug)"},
		{"$2$", unsupported, "the original bcrypt ($2$)"},
		{"$y$", unsupported, "yescrypt ($y$)"},
		{"$gy$", unsupported, "GOST yescrypt ($gy$)"},
		{"$7$", unsupported, "scrypt ($7$)"},
		{"$argon2", unsupported, "Argon2"},
		{"$pbkdf2", unsupported, "PBKDF2"},
	} {
		if strings.HasPrefix(hash, s.prefix) {
			return s.err(s.name)
		}
	}
	if len(hash) == 20 && hash[0] == '_' && inAlphabet(hash[1:]) {
		return weak("BSDi extended DES crypt (_)")
	}
	if len(hash) == 13 && inAlphabet(hash) {
		return weak("traditional DES crypt (it reads only the first 8 characters of a password)")
	}
	return fmt.Errorf("unknown password hash format: %s", hint)
}
