package config

import (
	"slices"
	"strings"
	"testing"
)

// FuzzUserlist mutates configurations with userlist sections: Parse's
// invariants hold (fuzzCheckResult), and a valid configuration's
// userlists are consistent.
func FuzzUserlist(f *testing.F) {
	for _, s := range []string{
		"userlist L1\n group G1 users tiger,scott\n group G2 users xdb,scott\n user tiger password " + testSHA512 + "\n user scott insecure-password elgato\n user xdb insecure-password hello\n",
		"userlist L2\n group G1\n group G2\n user tiger password " + testSHA256 + " groups G1\n user scott insecure-password elgato groups G1,G2\n user bob password " + testBCrypt + " groups ,G2,\nuserlist L3\n",
		"userlist L\n user u password $6$rounds=1000$s$x\n user v password $2b$04$" + strings.Repeat("a", 53) + "\n group g users u,v,w\n",
	} {
		f.Add(s + okTail)
	}
	f.Fuzz(func(t *testing.T, text string) {
		const name = "fuzz.cfg"
		cfg, err := Parse(name, []byte(text), Options{Resolver: NoResolver, LookupEnv: lookupIn(testEnv)})
		fuzzCheckResult(t, name, []byte(text), cfg, err)
		if err != nil {
			return
		}
		seen := map[string]bool{}
		for _, ul := range cfg.Userlists {
			if seen[ul.Name] || ul.Name == "" || checkName("userlist", ul.Name) != nil || cfg.Userlist(ul.Name) != ul {
				t.Fatalf("userlist %q: duplicate, empty or invalid name", ul.Name)
			}
			seen[ul.Name] = true
			users := map[string]bool{}
			for _, u := range ul.Users {
				if users[u.Name] || u.Name == "" || strings.Contains(u.Name, ":") {
					t.Fatalf("userlist %s: user %q", ul.Name, u.Name)
				}
				users[u.Name] = true
				if !u.Insecure && checkPasswordHash(u.Password) != nil {
					t.Fatalf("userlist %s: user %s has hash %q", ul.Name, u.Name, u.Password)
				}
				// Groups: declared ones, each once, in declared order.
				last := -1
				for _, g := range u.Groups {
					i := slices.Index(ul.Groups, g)
					if i <= last {
						t.Fatalf("userlist %s: user %s has groups %q of %q", ul.Name, u.Name, u.Groups, ul.Groups)
					}
					last = i
				}
			}
		}
	})
}
