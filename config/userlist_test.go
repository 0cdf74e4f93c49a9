package config

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// Hashes made by mkpasswd (libxcrypt) and htpasswd, as in rules/passwd's
// tests.
const (
	testSHA512 = "$6$saltsaltsaltsalt$GkzgkzVbauGAKXpOTbypQEKy/9yJWVjcvXvDw7CxoJjnJ1.w.g1rV8bhCVTpHrRrO/h6b3DAwPN3y5qmHXZ1R1"
	testSHA256 = "$5$saltsaltsaltsalt$vzxOvVGSAthqKsVBFh1uWPorUBPL5g6mz42rSF1xpk5"
	testBCrypt = "$2y$04$VMmuIYbgniRia6j8pQRPz.7zpzGZMrUp.WGGsaN1tA2jRxkR3vCe."
)

// userSummary is what a test compares of a user.
type userSummary struct {
	Pos      Pos
	Name     string
	Password string
	Insecure bool
	Groups   []string
}

func summarize(ul *Userlist) []userSummary {
	var out []userSummary
	for _, u := range ul.Users {
		out = append(out, userSummary{u.Pos, u.Name, u.Password, u.Insecure, u.Groups})
	}
	return out
}

func TestUserlist(t *testing.T) {
	cfg := mustParse(t, lines(
		"userlist L1",
		"  group G1 users tiger,scott",
		"  group G2 users xdb,scott",
		"  user tiger password "+testSHA512,
		"  user scott insecure-password elgato",
		"  user xdb insecure-password hello",
		"",
		"userlist L2",
		"  group G1",
		"  group G2",
		"  user tiger password "+testSHA256+" groups G1",
		"  user scott insecure-password elgato groups G1,G2",
		"  user xdb insecure-password hello groups G2",
		"  user bob password "+testBCrypt,
	)+okTail)
	if len(cfg.Userlists) != 2 {
		t.Fatalf("userlists = %v", cfg.Userlists)
	}
	l1, l2 := cfg.Userlist("L1"), cfg.Userlist("L2")
	if l1 != cfg.Userlists[0] || l2 != cfg.Userlists[1] || cfg.Userlist("L3") != nil {
		t.Fatalf("Userlist(L1) = %p, Userlist(L2) = %p, want %p, %p; Userlist(L3) = %v", l1, l2, cfg.Userlists[0], cfg.Userlists[1], cfg.Userlist("L3"))
	}
	if l1.Pos != at(1) || l1.Name != "L1" || l2.Pos != at(8) || l2.Name != "L2" {
		t.Errorf("userlists at %v %q and %v %q", l1.Pos, l1.Name, l2.Pos, l2.Name)
	}
	for _, ul := range []*Userlist{l1, l2} {
		if !reflect.DeepEqual(ul.Groups, []string{"G1", "G2"}) {
			t.Errorf("%s: groups = %q", ul.Name, ul.Groups)
		}
	}
	// The same memberships, said from either side.
	want1 := []userSummary{
		{at(4), "tiger", testSHA512, false, []string{"G1"}},
		{at(5), "scott", "elgato", true, []string{"G1", "G2"}},
		{at(6), "xdb", "hello", true, []string{"G2"}},
	}
	if got := summarize(l1); !reflect.DeepEqual(got, want1) {
		t.Errorf("L1 users =\n%+v\nwant\n%+v", got, want1)
	}
	want2 := []userSummary{
		{at(11), "tiger", testSHA256, false, []string{"G1"}},
		{at(12), "scott", "elgato", true, []string{"G1", "G2"}},
		{at(13), "xdb", "hello", true, []string{"G2"}},
		{at(14), "bob", testBCrypt, false, nil},
	}
	if got := summarize(l2); !reflect.DeepEqual(got, want2) {
		t.Errorf("L2 users =\n%+v\nwant\n%+v", got, want2)
	}
}

// Membership: both directions add up, each group is listed once, in the
// order the groups are declared, whatever order the lists name them in;
// names are resolved when the section ends, so lists may name what is
// declared after them; empty list items are skipped as HAProxy skips them.
func TestUserlistMembership(t *testing.T) {
	cfg := mustParse(t, lines(
		"userlist L",
		"  group early users ann,,cid,",
		"  user ann insecure-password a groups late,early,late",
		"  user bea insecure-password b groups ,late",
		"  user cid insecure-password c",
		"  user dan insecure-password d",
		"  group late users ann,bea",
		"  group empty",
	)+okTail)
	ul := cfg.Userlist("L")
	if ul == nil {
		t.Fatal("no userlist L")
	}
	if !reflect.DeepEqual(ul.Groups, []string{"early", "late", "empty"}) {
		t.Errorf("groups = %q", ul.Groups)
	}
	want := map[string][]string{"ann": {"early", "late"}, "bea": {"late"}, "cid": {"early"}, "dan": nil}
	for _, u := range ul.Users {
		if !reflect.DeepEqual(u.Groups, want[u.Name]) {
			t.Errorf("user %s: groups = %q, want %q", u.Name, u.Groups, want[u.Name])
		}
	}
}

// A userlist section ends at the next section keyword, like any other;
// "user" and "group" keep their global meaning in the global section; a
// userlist with neither users nor groups is valid; '.SECTION' names it.
func TestUserlistIsASection(t *testing.T) {
	cfg := mustParse(t, lines(
		"userlist empty",
		"global",
		"  user fjord",
		"  group fjord",
		"userlist L",
		"  user u insecure-password \"${.SECTION}\"",
		"frontend fe",
		"  bind 127.0.0.1:8000",
		"  default_backend be",
		"backend be",
	))
	if cfg.Global.User != "fjord" || cfg.Global.Group != "fjord" {
		t.Errorf("global user %q group %q", cfg.Global.User, cfg.Global.Group)
	}
	if ul := cfg.Userlist("empty"); ul == nil || len(ul.Users) != 0 || len(ul.Groups) != 0 {
		t.Errorf("userlist empty = %+v", ul)
	}
	ul := cfg.Userlist("L")
	if ul == nil || len(ul.Users) != 1 || ul.Users[0].Password != "L" {
		t.Fatalf("userlist L = %+v", ul)
	}
	if len(cfg.Proxies) != 2 || cfg.Backend("be") == nil {
		t.Errorf("proxies = %v", cfg.Proxies)
	}
}

// Every hash format fjord checks is accepted, with its parameters.
func TestUserlistAcceptedHashes(t *testing.T) {
	for _, h := range []string{
		testSHA512, testSHA256, testBCrypt,
		"$6$rounds=1000$shortsalt$sxgVNA.elRuAoQliwiVDv2qy6K09wf27THkw3fcRZcd1OX/T3R3CrejmpGbD.YNtlIuE6Tb8jwP5JgeCXup2V1",
		"$6$$KvRrc0bxRLyTUhO8OJOmRczh7oCol5BACiR8rmdfVzvuGgm8JmLDumsL/ah.jFtT.DswxoP9Nv3ByfU4j5hm/0",
		"$5$rounds=10000$x$qLWJlXF6oG.VOc6WmmZzZ/U1lefzstJY.lFMxmlCGv8",
		"$2b$05$abcdefghijklmnopqrstuuHNbAKRhpaujgo33bRWs.NLUTJO3lOy2",
		"$2a$04$abcdefghijklmnopqrstuujydOTSfIH/d5oUHpsygqV5X9xJLQc6e",
		"$2b$31$abcdefghijklmnopqrstuujydOTSfIH/d5oUHpsygqV5X9xJLQc6e",
	} {
		cfg := mustParse(t, lines("userlist L", "  user u password "+h)+okTail)
		if u := cfg.Userlist("L").Users[0]; u.Password != h || u.Insecure {
			t.Errorf("user = %+v, want password %q", u, h)
		}
	}
}

func TestUserlistErrors(t *testing.T) {
	ul := func(l ...string) string { return lines("userlist L") + lines(l...) + okTail }
	runErrorCases(t, NoResolver, []errCase{
		// The section.
		{"userlist without name", lines("userlist #ERR", "  user u insecure-password p") + okTail, []string{"'userlist' needs a name"}},
		{"userlist with two names", lines("userlist a b #ERR") + okTail, []string{"'userlist a': unexpected argument 'b'"}},
		{"userlist name character", lines("userlist a/b #ERR") + okTail, []string{"invalid character '/' in userlist name 'a/b'"}},
		{"duplicate userlist", lines("userlist L", "  user u insecure-password p", "userlist L #ERR", "  user u insecure-password p") + okTail,
			[]string{"userlist 'L' is already declared at test.cfg:1"}},
		{"unknown keyword in userlist", ul("  bogus x #ERR"), []string{"unknown keyword 'bogus' in 'userlist' section"}},
		{"misspelt users keyword", ul("  users u #ERR"), []string{"unknown keyword 'users' in 'userlist' section"}},
		{"proxy keyword in userlist", ul("  server s 127.0.0.1:80 #ERR"), []string{"'server' is not allowed in a 'userlist' section (allowed in: backend, listen)"}},
		{"global keyword in userlist", ul("  daemon #ERR"), []string{"'daemon' is not allowed in a 'userlist' section (allowed in: global)"}},
		{"user in a frontend", httpFE("  user u insecure-password p #ERR"), []string{"'user' is not allowed in a 'frontend' section (allowed in: global, userlist)"}},
		{"group in a backend", tcpBE("  group g #ERR"), []string{"'group' is not allowed in a 'backend' section (allowed in: global, userlist)"}},

		// group lines.
		{"group without name", ul("  group #ERR"), []string{"userlist 'L': 'group' needs a name"}},
		{"group empty name", ul(`  group "" #ERR`), []string{"'group' needs a name"}},
		{"group name character", ul("  group a/b #ERR"), []string{"userlist 'L': invalid character '/' in group name 'a/b'"}},
		{"duplicate group", ul("  group g", "  group g #ERR"), []string{"userlist 'L': group 'g' is already declared at test.cfg:2"}},
		{"group unknown option", ul("  group g user u #ERR", "  user u insecure-password p"), []string{"group 'g': unknown option 'user' ('users' is the only one)"}},
		{"group users without list", ul("  group g users #ERR"), []string{"group 'g': 'users' needs a comma-separated list of user names"}},
		{"group users empty", ul(`  group g users "" #ERR`), []string{"'users' needs a comma-separated list"}},
		{"group users twice", ul("  group g users u users u #ERR", "  user u insecure-password p"), []string{"group 'g': 'users' given twice"}},
		{"group lists undeclared user", ul("  group admins users alice,bob #ERR", "  user alice insecure-password p"),
			[]string{"userlist 'L': group 'admins' lists user 'bob', which is not declared"}},

		// user lines.
		{"user without name", ul("  user #ERR"), []string{"userlist 'L': 'user' needs a name"}},
		{"user empty name", ul(`  user "" insecure-password p #ERR`), []string{"'user' needs a name"}},
		{"duplicate user", ul("  user u insecure-password p", "  user u password "+testSHA512+" #ERR"),
			[]string{"userlist 'L': user 'u' is already declared at test.cfg:2"}},
		{"user name with colon", ul("  user a:b insecure-password p #ERR"), []string{"user name 'a:b' has a ':'", "basic authentication"}},
		{"user without password", ul("  user u #ERR"), []string{"userlist 'L': user 'u' has no password", "'password HASH' or 'insecure-password PASSWORD'"}},
		{"user with groups but no password", ul("  group g", "  user u groups g #ERR"), []string{"user 'u' has no password"}},
		{"password without hash", ul("  user u password #ERR"), []string{"user 'u': 'password' needs a crypt(3) hash"}},
		{"password empty", ul(`  user u password "" #ERR`), []string{"'password' needs a crypt(3) hash"}},
		{"insecure-password without password", ul("  user u insecure-password #ERR"), []string{"user 'u': 'insecure-password' needs a password"}},
		{"two kinds of password", ul("  user u password " + testSHA512 + " insecure-password p #ERR"),
			[]string{"user 'u': 'insecure-password' after 'password': give one password"}},
		{"password twice", ul("  user u insecure-password p insecure-password q #ERR"), []string{"'insecure-password' after 'insecure-password'"}},
		{"groups twice", ul("  group g", "  user u insecure-password p groups g groups g #ERR"), []string{"user 'u': 'groups' given twice"}},
		{"groups without list", ul("  user u insecure-password p groups #ERR"), []string{"user 'u': 'groups' needs a comma-separated list of group names"}},
		{"user unknown option", ul("  user u insecure-password p group g #ERR", "  group g"),
			[]string{"user 'u': unknown option 'group' ('password', 'insecure-password' and 'groups' are)"}},
		{"user in undeclared group", ul("  group ops", "  user alice insecure-password p groups ops,admins #ERR"),
			[]string{"userlist 'L': user 'alice' is in group 'admins', which is not declared (add 'group admins')"}},
		{"group of another userlist", lines("userlist A", "  group g", "userlist B", "  user u insecure-password p groups g #ERR") + okTail,
			[]string{"userlist 'B': user 'u' is in group 'g', which is not declared"}},
		{"user of another userlist", lines("userlist A", "  user u insecure-password p", "userlist B", "  group g users u #ERR") + okTail,
			[]string{"userlist 'B': group 'g' lists user 'u', which is not declared"}},

		// A line with a mistake still declares its user or group, so
		// that the lists naming it give no second error.
		{"bad user still declared", ul("  user u insecure-password p bogus x #ERR", "  group g users u"), []string{"unknown option 'bogus'"}},
		{"bad group still declared", ul("  group g users #ERR", "  user u insecure-password p groups g"), []string{"'users' needs"}},
		{"user with colon still declared", ul("  user a:b insecure-password p #ERR", "  group g users a:b"), []string{"has a ':'"}},

		// Password hashes.
		{"md5 crypt", ul("  user u password $1$abcdefgh$y6iHhJNbuC0xpbk0w9pm80 #ERR"),
			[]string{"userlist 'L': user 'u': MD5 crypt ($1$) is weak and refused", "mkpasswd -m sha-512"}},
		{"des crypt", ul("  user u password abhfCpXqd4GrI #ERR"), []string{"traditional DES crypt", "weak and refused"}},
		{"bsdi crypt", ul("  user u password _J9..KwOSuxJfN0Cc8IM #ERR"), []string{"BSDi extended DES crypt (_) is weak"}},
		{"apache md5", ul("  user u password $apr1$.KfMWXwb$TFQA2o8fMwX8IWcaz1oLx0 #ERR"), []string{"Apache MD5 ($apr1$) is weak"}},
		{"bcrypt 2x", ul("  user u password $2x$04$abcdefghijklmnopqrstuujydOTSfIH/d5oUHpsygqV5X9xJLQc6e #ERR"), []string{"bcrypt $2x$", "weak"}},
		{"yescrypt", ul("  user u password $y$j9T$z0bySsAtSyHEzY.zPIC7x.$1gPvdzlGKq6AFRFSPhqUhe3P/rSox73buW3PVAvc3IA #ERR"),
			[]string{"yescrypt ($y$) is not supported", "SHA-512 crypt"}},
		{"clear text as hash", ul("  user u password secret #ERR"), []string{"user 'u': unknown password hash format"}},
		{"sha512 truncated", ul("  user u password " + testSHA512[:len(testSHA512)-1] + " #ERR"),
			[]string{"malformed SHA-512 crypt hash: the hash after the salt has 85 characters, not 86"}},
		{"sha512 long salt", ul("  user u password $6$saltsaltsaltsaltEXTRA$GkzgkzVbauGAKXpOTbypQEKy/9yJWVjcvXvDw7CxoJjnJ1.w.g1rV8bhCVTpHrRrO/h6b3DAwPN3y5qmHXZ1R1 #ERR"),
			[]string{"a salt of 21 characters (crypt(3) writes at most 16)"}},
		{"sha512 rounds too low", ul("  user u password $6$rounds=999$x$GkzgkzVbauGAKXpOTbypQEKy/9yJWVjcvXvDw7CxoJjnJ1.w.g1rV8bhCVTpHrRrO/h6b3DAwPN3y5qmHXZ1R1 #ERR"),
			[]string{"rounds=999 is outside 1000-999999999"}},
		{"sha256 wrong length", ul("  user u password $5$saltsaltsaltsalt$vzxOvVGSAthqKsVBFh1uWPorUBPL5g6mz42rSF1xpk #ERR"),
			[]string{"malformed SHA-256 crypt hash", "42 characters, not 43"}},
		{"bcrypt cost", ul("  user u password $2b$32$abcdefghijklmnopqrstuuHNbAKRhpaujgo33bRWs.NLUTJO3lOy2 #ERR"), []string{"malformed bcrypt hash: cost 32 is outside 4-31"}},
		{"bcrypt short", ul("  user u password $2b$05$abcdefghijklmnopqrstuu #ERR"), []string{"22 characters of salt and hash after the cost, not 53"}},
	})
}

// Every error of a userlist is reported, each at its line, in line
// order, those found when the section ends among those found before.
func TestUserlistErrorsAreAllReported(t *testing.T) {
	text := lines(
		"userlist L",
		"  group g users nobody",
		"  user u password $1$abcdefgh$y6iHhJNbuC0xpbk0w9pm80",
		"  user v insecure-password p groups nogroup",
		"  bogus",
		"userlist L",
	) + okTail
	_, errs := parse(t, text)
	var got []int
	for _, e := range errs {
		got = append(got, e.Pos.Line)
	}
	if want := []int{2, 3, 4, 5, 6}; !reflect.DeepEqual(got, want) {
		t.Errorf("error lines = %v, want %v\n%v", got, want, errs)
	}
}

// Userlist names are unique across every file read.
func TestUserlistAcrossFiles(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.cfg"), filepath.Join(dir, "b.cfg")
	if err := os.WriteFile(a, []byte(lines("userlist L", "  user u insecure-password p")+okTail), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(b, []byte(lines("userlist L", "  user u insecure-password p")), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Load([]string{a, b}, Options{Resolver: NoResolver})
	var list ErrorList
	if !errors.As(err, &list) || len(list) != 1 {
		t.Fatalf("errors = %v", err)
	}
	if list[0].Pos != (Pos{File: b, Line: 1}) || !strings.Contains(list[0].Msg, "userlist 'L' is already declared at "+a+":1") {
		t.Errorf("error = %v", list[0])
	}
	// Names resolve within their section: M's group cannot name L's
	// user.
	if err := os.WriteFile(b, []byte(lines("userlist M", "  group g users u")), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load([]string{a, b}, Options{Resolver: NoResolver}); err == nil || !strings.Contains(err.Error(), "group 'g' lists user 'u', which is not declared") {
		t.Errorf("err = %v", err)
	}
}
