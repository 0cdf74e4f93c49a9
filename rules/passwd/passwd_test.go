package passwd

import (
	"strings"
	"sync"
	"testing"
)

// Reference hashes, made by crypt(3) implementations other than the ones
// fjord uses: mkpasswd (Debian's whois package, on libxcrypt), openssl
// passwd, htpasswd (apache2-utils) and Python's crypt module (libxcrypt).
var known = []struct {
	name, hash, password, scheme string
}{
	{"sha512 mkpasswd", "$6$saltsaltsaltsalt$GkzgkzVbauGAKXpOTbypQEKy/9yJWVjcvXvDw7CxoJjnJ1.w.g1rV8bhCVTpHrRrO/h6b3DAwPN3y5qmHXZ1R1",
		"correct horse", SHA512Crypt},
	{"sha512 rounds=1000", "$6$rounds=1000$shortsalt$sxgVNA.elRuAoQliwiVDv2qy6K09wf27THkw3fcRZcd1OX/T3R3CrejmpGbD.YNtlIuE6Tb8jwP5JgeCXup2V1",
		"correct horse", SHA512Crypt},
	{"sha512 explicit default rounds", "$6$rounds=5000$saltsaltsaltsalt$GkzgkzVbauGAKXpOTbypQEKy/9yJWVjcvXvDw7CxoJjnJ1.w.g1rV8bhCVTpHrRrO/h6b3DAwPN3y5qmHXZ1R1",
		"correct horse", SHA512Crypt},
	{"sha512 utf-8 password", "$6$Ab./9z$HRxIpALH9cUeGOm1nz8ACba.fKJGGTeHLMJCp0YpLSn2oLP9ps4M9B7Z5fNclJCA67cpmEUllacGRYHyVaxu0.",
		"pässwörd✓", SHA512Crypt},
	{"sha512 empty salt", "$6$$KvRrc0bxRLyTUhO8OJOmRczh7oCol5BACiR8rmdfVzvuGgm8JmLDumsL/ah.jFtT.DswxoP9Nv3ByfU4j5hm/0",
		"x", SHA512Crypt},
	{"sha512 empty password", "$6$emptyemptyempty$IHpYTSsZ1tOAvdLDsdVAlx5/xWD8Jbyaoe2hD/RiHEUYKa3d4CPjO06hDAIYqcygUqHpscHMJa2u/iQ0vYB/i1",
		"", SHA512Crypt},
	{"sha512 colon and space", "$6$colon$GbY4qoD05pY4Xv2YXdBqDs5VQdgn3yBaFtH8d4bcQB1n4U3.BVjHZK2T8fEw5iOBzLlOQcUSrcRlQsA8XQUus0",
		"a:b c", SHA512Crypt},
	{"sha512 openssl", "$6$opensslsalt$mbFgdtB7374e3Q0X1/z/Leyntc6dLriOxpL.EmwTE0KJxA0QqPndKJMetwHJh0TX5A.MZ3V7fmtxi8FdAEcm71",
		"openssl pw", SHA512Crypt},
	{"sha256 mkpasswd", "$5$saltsaltsaltsalt$vzxOvVGSAthqKsVBFh1uWPorUBPL5g6mz42rSF1xpk5", "correct horse", SHA256Crypt},
	{"sha256 rounds=10000", "$5$rounds=10000$x$qLWJlXF6oG.VOc6WmmZzZ/U1lefzstJY.lFMxmlCGv8", "hunter2", SHA256Crypt},
	{"sha256 openssl", "$5$opensslsalt$/2dh8yDumUNfZd0O9aVP1tnmcFnbu2KUnN9RoeoT4u8", "openssl pw", SHA256Crypt},
	{"bcrypt 2b", "$2b$05$abcdefghijklmnopqrstuuHNbAKRhpaujgo33bRWs.NLUTJO3lOy2", "correct horse", BCrypt},
	{"bcrypt 2a", "$2a$04$abcdefghijklmnopqrstuujydOTSfIH/d5oUHpsygqV5X9xJLQc6e", "correct horse", BCrypt},
	{"bcrypt 2y", "$2y$04$abcdefghijklmnopqrstuujydOTSfIH/d5oUHpsygqV5X9xJLQc6e", "correct horse", BCrypt},
	{"bcrypt htpasswd", "$2y$04$VMmuIYbgniRia6j8pQRPz.7zpzGZMrUp.WGGsaN1tA2jRxkR3vCe.", "s3cret", BCrypt},
}

func TestKnownHashes(t *testing.T) {
	for _, tc := range known {
		t.Run(tc.name, func(t *testing.T) {
			checked = newCache(CacheSize)
			scheme, err := Format(tc.hash)
			if err != nil || scheme != tc.scheme {
				t.Fatalf("Format = %q, %v; want %q", scheme, err, tc.scheme)
			}
			if !Check(tc.hash, tc.password) {
				t.Errorf("Check(%q) = false, want true", tc.password)
			}
			wrong := []string{tc.password + "x", strings.ToUpper(tc.password) + "!", " " + tc.password}
			if tc.password != "" {
				wrong = append(wrong, "", tc.password[:len(tc.password)-1])
			}
			for _, w := range wrong {
				if Check(tc.hash, w) {
					t.Errorf("Check(%q) = true, want false", w)
				}
			}
		})
	}
}

// bcrypt reads at most 72 bytes of a password, in libxcrypt as in
// golang.org/x/crypto: the 73rd byte changes nothing.
func TestBCryptReadsSeventyTwoBytes(t *testing.T) {
	checked = newCache(CacheSize)
	// python3: crypt.crypt('a'*80, ...), and the same with 'a'*72.
	h := "$2b$04$abcdefghijklmnopqrstuuBzzIgyKkz7xMWYSzkIjUSnxEQFQ0WNe"
	for _, n := range []int{72, 73, 80} {
		if !Check(h, strings.Repeat("a", n)) {
			t.Errorf("a %d-byte password whose first 72 bytes match is refused", n)
		}
	}
	if Check(h, strings.Repeat("a", 71)) {
		t.Error("a 71-byte prefix matches")
	}
}

func TestRefusedHashes(t *testing.T) {
	sha512 := known[0].hash
	tests := []struct {
		name, hash string
		want       []string
	}{
		{"empty", "", []string{"empty password hash"}},
		{"md5 crypt", "$1$abcdefgh$y6iHhJNbuC0xpbk0w9pm80", []string{"MD5 crypt ($1$) is weak and refused", "mkpasswd -m sha-512"}},
		{"des crypt", "abhfCpXqd4GrI", []string{"traditional DES crypt", "weak and refused", "first 8 characters"}},
		{"bsdi crypt", "_J9..KwOSuxJfN0Cc8IM", []string{"BSDi extended DES crypt", "weak"}},
		{"apache md5", "$apr1$.KfMWXwb$TFQA2o8fMwX8IWcaz1oLx0", []string{"Apache MD5", "weak"}},
		{"unsalted sha1", "{SHA}/vNB+F2HQ559kaLUZbmHHvZrXpg=", []string{"unsalted SHA-1", "weak"}},
		{"sun md5", "$md5,rounds=93796$7raovi.d$$UFAslu0/qKgXvIEjOnI3r/", []string{"Sun MD5", "weak"}},
		{"nt hash", "$3$$cfc43211ba8dc470832267827cac1407", []string{"NT hash", "weak"}},
		{"bcrypt 2x", "$2x$04$abcdefghijklmnopqrstuujydOTSfIH/d5oUHpsygqV5X9xJLQc6e", []string{"$2x$", "weak"}},
		{"yescrypt", "$y$j9T$z0bySsAtSyHEzY.zPIC7x.$1gPvdzlGKq6AFRFSPhqUhe3P/rSox73buW3PVAvc3IA", []string{"yescrypt ($y$) is not supported", "SHA-512 crypt"}},
		{"gost yescrypt", "$gy$j9T$sp2SJTX//Fq4KCxT4Z//30$48wDTGouJfLWCZkQL.sHQI8uX.VhLQj3jXat6E9Dq3D", []string{"GOST yescrypt", "not supported"}},
		{"scrypt", "$7$CU..../....LT6/A.iDROic4O/XrpSt00$8brQDOGVz/C3O2PC2P5uyRHRYLDLuDt85w259G2muWC", []string{"scrypt ($7$) is not supported"}},
		{"argon2", "$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA", []string{"Argon2 is not supported"}},
		{"clear text", "secret", []string{"unknown password hash format"}},
		{"unknown id", "$9$abc$def", []string{"unknown password hash format"}},
		// Malformed hashes of accepted schemes.
		{"sha512 truncated", sha512[:len(sha512)-1], []string{"malformed SHA-512 crypt hash", "85 characters, not 86"}},
		{"sha512 too long", sha512 + "A", []string{"87 characters, not 86"}},
		{"sha512 no hash", "$6$saltsaltsaltsalt", []string{"no '$' between the salt and the hash"}},
		{"sha512 long salt", strings.Replace(sha512, "saltsaltsaltsalt", "saltsaltsaltsaltEXTRA", 1), []string{"a salt of 21 characters", "at most 16"}},
		{"sha512 salt character", strings.Replace(sha512, "saltsaltsaltsalt", "salt-salt", 1), []string{"the salt has a character outside"}},
		{"sha512 hash character", strings.Replace(sha512, "Gkzg", "Gk_g", 1), []string{"the hash has a character outside"}},
		{"sha512 rounds too low", strings.Replace(sha512, "$6$", "$6$rounds=999$", 1), []string{"rounds=999 is outside 1000-999999999"}},
		{"sha512 rounds too high", strings.Replace(sha512, "$6$", "$6$rounds=1000000000$", 1), []string{"outside 1000-999999999"}},
		{"sha512 rounds leading zero", strings.Replace(sha512, "$6$", "$6$rounds=05000$", 1), []string{"rounds=05000 is not a number as crypt(3) writes one"}},
		{"sha512 rounds sign", strings.Replace(sha512, "$6$", "$6$rounds=+5000$", 1), []string{"not a number"}},
		{"sha512 rounds without salt", "$6$rounds=5000", []string{"no '$' after rounds=5000"}},
		{"sha256 with sha512 length", "$5$" + sha512[3:], []string{"malformed SHA-256 crypt hash", "not 43"}},
		{"bcrypt cost too low", "$2b$03$abcdefghijklmnopqrstuuHNbAKRhpaujgo33bRWs.NLUTJO3lOy2", []string{"cost 3 is outside 4-31"}},
		{"bcrypt cost too high", "$2b$32$abcdefghijklmnopqrstuuHNbAKRhpaujgo33bRWs.NLUTJO3lOy2", []string{"cost 32 is outside 4-31"}},
		{"bcrypt cost not digits", "$2b$+5$abcdefghijklmnopqrstuuHNbAKRhpaujgo33bRWs.NLUTJO3lOy2", []string{"cost '+5' is not two digits"}},
		{"bcrypt one-digit cost", "$2b$5$abcdefghijklmnopqrstuuHNbAKRhpaujgo33bRWs.NLUTJO3lOy2", []string{"no two-digit cost"}},
		{"bcrypt truncated", "$2b$05$abcdefghijklmnopqrstuuHNbAKRhpaujgo33bRWs.NLUTJO3lOy", []string{"52 characters", "not 53"}},
		{"bcrypt bad character", "$2b$05$abcdefghijklmnopqrstuuHNbAKRhpaujgo33bRWs-NLUTJO3lOy2", []string{"a character outside"}},
		{"bcrypt prefix only", "$2b$", []string{"no two-digit cost"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			scheme, err := Format(tc.hash)
			if err == nil {
				t.Fatalf("Format = %q, want an error", scheme)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Format error %q does not contain %q", err, w)
				}
			}
			for _, pw := range []string{"", "correct horse", "s3cret", tc.hash} {
				if Check(tc.hash, pw) {
					t.Errorf("Check(%q) = true for a refused hash", pw)
				}
			}
		})
	}
}

// A successful check is remembered: the next one with the same hash and
// password does not hash again (here: is answered from the cache even
// though the cache was told something verify would deny).
func TestCheckUsesTheCache(t *testing.T) {
	checked = newCache(CacheSize)
	h, pw := known[0].hash, known[0].password
	if !Check(h, pw) || checked.len() != 1 || !checked.hit(cacheKey(h, pw)) {
		t.Fatalf("a successful check is not cached (%d entries)", checked.len())
	}
	if Check(h, "wrong") || checked.len() != 1 {
		t.Fatalf("a failed check is cached (%d entries)", checked.len())
	}
	checked.add(cacheKey(h, "planted"))
	if !Check(h, "planted") {
		t.Error("Check does not consult the cache")
	}
	if Check(known[1].hash, "planted") {
		t.Error("a cache entry for one hash answers for another")
	}
}

// libxcrypt refuses passwords of 512 bytes or more; so does Check,
// before hashing them.
func TestLongPasswords(t *testing.T) {
	checked = newCache(CacheSize)
	// python3: crypt.crypt('p'*511, '$6$long'); with 'p'*512 it fails.
	h := "$6$long$EBAWmu662ovYgSOBAXHGKT0gKTMjr.dRtPtOkEk2VlfyM84jwWd5y/3a6fL5HjE0C4QPbq1.uP6aXgSAVkiNi."
	if !Check(h, strings.Repeat("p", 511)) {
		t.Error("a 511-byte password is refused")
	}
	long := strings.Repeat("p", 512)
	checked.add(cacheKey(h, long))
	if Check(h, long) {
		t.Error("a 512-byte password reaches the cache or the hash")
	}
}

func TestCacheKey(t *testing.T) {
	a, b := cacheKey("ab", "c"), cacheKey("a", "bc")
	if a == b {
		t.Error("(ab, c) and (a, bc) share a cache key")
	}
	if cacheKey("ab", "c") != a {
		t.Error("cacheKey is not deterministic")
	}
	if cacheKey("ab", "C") == a {
		t.Error("the password does not change the key")
	}
}

func TestCacheForgetsLeastRecentlyUsed(t *testing.T) {
	c := newCache(3)
	k := func(i int) [32]byte { return cacheKey("h", string(rune('a'+i))) }
	for i := 0; i < 3; i++ {
		c.add(k(i))
	}
	c.hit(k(0)) // 0 is now the most recently used; 1 the least
	c.add(k(3))
	if c.len() != 3 {
		t.Fatalf("len = %d, want 3", c.len())
	}
	if c.hit(k(1)) {
		t.Error("the least recently used key was kept")
	}
	for _, i := range []int{0, 2, 3} {
		if !c.hit(k(i)) {
			t.Errorf("key %d was forgotten", i)
		}
	}
	c.add(k(3)) // again: no duplicate
	if c.len() != 3 {
		t.Errorf("len = %d after adding a key twice", c.len())
	}
}

// The cache is bounded whatever the number of successful checks.
func TestCacheIsBounded(t *testing.T) {
	checked = newCache(CacheSize)
	for i := 0; i < CacheSize+10; i++ {
		checked.add(cacheKey("h", strings.Repeat("x", i)))
	}
	if checked.len() != CacheSize {
		t.Errorf("len = %d, want %d", checked.len(), CacheSize)
	}
}

func TestCheckConcurrently(t *testing.T) {
	checked = newCache(2)
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 4; i++ {
				tc := known[(g+i)%3]
				if !Check(tc.hash, tc.password) || Check(tc.hash, tc.password+"x") {
					t.Errorf("%s: wrong answer under concurrency", tc.name)
				}
			}
		}()
	}
	wg.Wait()
}

// FuzzFormatCheck: Format and Check never panic, Check never accepts
// what Format refuses, and Check agrees with an uncached verification.
func FuzzFormatCheck(f *testing.F) {
	for _, tc := range known {
		f.Add(tc.hash, tc.password)
	}
	f.Add("$1$abcdefgh$y6iHhJNbuC0xpbk0w9pm80", "correct horse")
	f.Add("$6$rounds=$$", "")
	f.Add("$2b$", "x")
	f.Add("abhfCpXqd4GrI", "correct horse")
	f.Fuzz(func(t *testing.T, hash, password string) {
		scheme, err := Format(hash)
		if (err == nil) == (scheme == "") {
			t.Fatalf("Format(%q) = %q, %v", hash, scheme, err)
		}
		p, perr := parse(hash)
		// What the structure check passes, the libraries read.
		if (err == nil) != (perr == nil) {
			t.Fatalf("Format and parse disagree on %q: %v, %v", hash, err, perr)
		}
		// Checking costs what the hash asks for: only cheap ones.
		if perr == nil && (p.scheme == BCrypt && p.rounds > 6 || p.scheme != BCrypt && (p.rounds > 5000 || len(password) > 64)) {
			return
		}
		ok := Check(hash, password)
		if err != nil && ok {
			t.Fatalf("Check accepts a password for %q, which Format refuses: %v", hash, err)
		}
		if ok != verify(hash, password) {
			t.Fatalf("Check and verify disagree on %q", hash)
		}
	})
}
