package passwd

import (
	"strings"
	"testing"

	"github.com/fjordlb/fjord/config"
)

// config refuses at startup the hashes Format refuses, and only those, with
// Format's reason. It reads a hash's structure with its own code (config
// imports no other fjord package); these tests keep the two in step.

// configError parses a userlist whose one user has hash, and returns
// config's error ("" for none).
func configError(t *testing.T, hash string) string {
	t.Helper()
	text := "userlist L\n user u password " + hash + "\n" +
		"frontend fe\n bind 127.0.0.1:8000\n default_backend be\nbackend be\n"
	_, err := config.Parse("t.cfg", []byte(text), config.Options{Resolver: config.NoResolver})
	if err == nil {
		return ""
	}
	return err.Error()
}

// configWord reports whether hash is read by config as one word, as
// written (no quoting, escaping, comment or blank in it).
func configWord(hash string) bool {
	if hash == "" {
		return false
	}
	for i := 0; i < len(hash); i++ {
		if c := hash[i]; c <= ' ' || c > '~' || strings.IndexByte("\"'\\#", c) >= 0 {
			return false
		}
	}
	return true
}

func agree(t *testing.T, hash string) {
	t.Helper()
	_, ferr := Format(hash)
	cerr := configError(t, hash)
	switch {
	case ferr == nil && cerr != "":
		t.Errorf("%q: Format accepts it, config refuses it: %s", hash, cerr)
	case ferr != nil && cerr == "":
		t.Errorf("%q: Format refuses it (%v), config accepts it", hash, ferr)
	case ferr != nil && !strings.Contains(cerr, "user 'u': "+ferr.Error()):
		t.Errorf("%q: config's error %q does not give Format's reason %q", hash, cerr, ferr)
	}
}

func TestConfigAgreesWithFormat(t *testing.T) {
	hashes := []string{
		"$1$abcdefgh$y6iHhJNbuC0xpbk0w9pm80",
		"abhfCpXqd4GrI",
		"_J9..KwOSuxJfN0Cc8IM",
		"$apr1$.KfMWXwb$TFQA2o8fMwX8IWcaz1oLx0",
		"{SHA}/vNB+F2HQ559kaLUZbmHHvZrXpg=",
		"$md5,rounds=93796$7raovi.d$$UFAslu0/qKgXvIEjOnI3r/",
		"$3$$cfc43211ba8dc470832267827cac1407",
		"$y$j9T$z0bySsAtSyHEzY.zPIC7x.$1gPvdzlGKq6AFRFSPhqUhe3P/rSox73buW3PVAvc3IA",
		"$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA",
		"$2$04$abcdefghijklmnopqrstuujydOTSfIH/d5oUHpsygqV5X9xJLQc6e",
		"$2x$04$abcdefghijklmnopqrstuujydOTSfIH/d5oUHpsygqV5X9xJLQc6e",
		"secret",
		"$6$rounds=999$s$x",
		"$6$rounds=05000$s$x",
		"$6$rounds=5000",
		"$5$saltsaltsaltsalt$short",
		"$2b$03$abcdefghijklmnopqrstuuHNbAKRhpaujgo33bRWs.NLUTJO3lOy2",
		"$2b$+5$abcdefghijklmnopqrstuuHNbAKRhpaujgo33bRWs.NLUTJO3lOy2",
		"$2b$",
	}
	for _, k := range known {
		hashes = append(hashes, k.hash, k.hash[:len(k.hash)-1], k.hash+".")
	}
	// The bounds: salt length, rounds, cost, characters.
	sum512, sum256 := strings.Repeat("A", 86), strings.Repeat("A", 43)
	for _, salt := range []string{"", "s", strings.Repeat("s", 16), strings.Repeat("s", 17), "s-s", "s:s", "s$"} {
		hashes = append(hashes, "$6$"+salt+"$"+sum512, "$5$"+salt+"$"+sum256)
	}
	for _, r := range []string{"999", "1000", "5000", "999999999", "1000000000", "", "x", "-1000", "1e4"} {
		hashes = append(hashes, "$6$rounds="+r+"$salt$"+sum512, "$5$rounds="+r+"$salt$"+sum256)
	}
	for _, c := range []string{"00", "03", "04", "10", "31", "32", "99", "4$", "a4"} {
		for _, v := range []string{"2a", "2b", "2y"} {
			hashes = append(hashes, "$"+v+"$"+c+"$"+strings.Repeat("a", 53))
		}
	}
	for _, c := range []string{"-", "_", "+", "=", ":", "$", "!"} {
		hashes = append(hashes, "$6$salt$"+c+sum512[1:], "$2b$04$"+c+strings.Repeat("a", 52))
	}
	for _, h := range hashes {
		agree(t, h)
	}
}

// FuzzConfigAgreesWithFormat: for any hash config reads as one word,
// config and Format accept and refuse the same, for the same reason.
func FuzzConfigAgreesWithFormat(f *testing.F) {
	for _, k := range known {
		f.Add(k.hash)
	}
	f.Add("$1$abcdefgh$y6iHhJNbuC0xpbk0w9pm80")
	f.Add("$6$rounds=1000$$")
	f.Add("_J9..KwOSuxJfN0Cc8IM")
	f.Fuzz(func(t *testing.T, hash string) {
		if configWord(hash) {
			agree(t, hash)
		}
	})
}
