package config

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Userlist is a "userlist" section: users with their password hashes and
// the groups they belong to, for http_auth() and "http-request auth".
type Userlist struct {
	Pos    Pos
	Name   string
	Users  []*User
	Groups []string // declared groups, in order
}

// User is a "user" line of a userlist.
type User struct {
	Pos  Pos
	Name string
	// Password is the crypt(3) hash ("$6$...", "$5$...", "$2y$..."), or
	// the clear text of "insecure-password" when Insecure is set.
	// A hash is of a scheme fjord checks (rules/passwd), which the
	// parser made sure of.
	Password string
	Insecure bool
	// Groups are the groups the user is in, each once, in the order
	// the userlist declares them: those of its own "groups" list and
	// those whose "users" list names it, as HAProxy reads both.
	Groups []string
}

// userlistState is what the parser keeps of the userlist section being
// read, until the section ends and the names its lines use are resolved.
type userlistState struct {
	ul     *Userlist
	groups map[string]Pos // declared groups
	users  map[string]*User
	// refs are the names of "group ... users" and "user ... groups"
	// lists, resolved when the section ends: a group may list users
	// declared after it, and the other way round.
	refs []memberRef
}

// memberRef is one list of a "group" or "user" line.
type memberRef struct {
	pos   Pos
	owner string   // the group of a "users" list, the user of a "groups" list
	names []string // users of owner, or groups owner is in
	users bool     // a group's "users" list (else a user's "groups" list)
}

func (s *userlistState) String() string { return "userlist '" + s.ul.Name + "'" }

// openUserlist starts a "userlist NAME" section. A userlist that cannot
// be kept (no name, a name already taken) is still read, for the errors
// of its lines, but not added to the configuration.
func (p *parser) openUserlist(pos Pos, args []string) {
	ul := &Userlist{Pos: pos}
	p.ul = &userlistState{ul: ul, groups: map[string]Pos{}, users: map[string]*User{}}
	if len(args) == 0 {
		ul.Name = fmt.Sprintf("<unnamed userlist at line %d>", pos.Line)
		p.errorf(pos, "'userlist' needs a name")
		return
	}
	ul.Name = args[0]
	switch {
	case len(args) > 1:
		p.errorf(pos, "'userlist %s': unexpected argument '%s'", args[0], args[1])
	case checkName("userlist", ul.Name) != nil:
		p.errorf(pos, "%v", checkName("userlist", ul.Name))
	case p.cfg.Userlist(ul.Name) != nil:
		p.errorf(pos, "userlist '%s' is already declared at %s", ul.Name, p.cfg.Userlist(ul.Name).Pos)
	default:
		p.cfg.Userlists = append(p.cfg.Userlists, ul)
	}
}

// ulGroup reads "group NAME [users USER,...]".
func ulGroup(p *parser, _ *Proxy, pos Pos, args []string) error {
	s := p.ul
	if len(args) == 0 || args[0] == "" {
		return fmt.Errorf("%s: 'group' needs a name", s)
	}
	name := args[0]
	if prev, ok := s.groups[name]; ok {
		return fmt.Errorf("%s: group '%s' is already declared at %s", s, name, prev)
	}
	// Declared before the rest of its line is checked, so that a mistake
	// there does not also make every reference to the group an error.
	s.groups[name] = pos
	s.ul.Groups = append(s.ul.Groups, name)
	if err := checkName("group", name); err != nil {
		return fmt.Errorf("%s: %v", s, err)
	}
	sawUsers := false
	for i := 1; i < len(args); i += 2 {
		switch args[i] {
		case "users":
			if sawUsers {
				return fmt.Errorf("%s: group '%s': 'users' given twice", s, name)
			}
			sawUsers = true
			if i+1 >= len(args) || args[i+1] == "" {
				return fmt.Errorf("%s: group '%s': 'users' needs a comma-separated list of user names", s, name)
			}
			s.refs = append(s.refs, memberRef{pos: pos, owner: name, names: nameList(args[i+1]), users: true})
		default:
			return fmt.Errorf("%s: group '%s': unknown option '%s' ('users' is the only one)", s, name, args[i])
		}
	}
	return nil
}

// ulUser reads "user NAME [password HASH | insecure-password PASSWORD]
// [groups GROUP,...]".
func ulUser(p *parser, _ *Proxy, pos Pos, args []string) error {
	s := p.ul
	if len(args) == 0 || args[0] == "" {
		return fmt.Errorf("%s: 'user' needs a name", s)
	}
	name := args[0]
	if prev, ok := s.users[name]; ok {
		return fmt.Errorf("%s: user '%s' is already declared at %s", s, name, prev.Pos)
	}
	// Declared first, as a group is.
	u := &User{Pos: pos, Name: name}
	s.users[name] = u
	s.ul.Users = append(s.ul.Users, u)
	if strings.ContainsRune(name, ':') {
		return fmt.Errorf("%s: user name '%s' has a ':', which HTTP basic authentication cannot carry in a user name", s, name)
	}
	var password, groups string // the option that set each
	for i := 1; i < len(args); i += 2 {
		opt := args[i]
		missing := i+1 >= len(args)
		switch opt {
		case "password", "insecure-password":
			if password != "" {
				return fmt.Errorf("%s: user '%s': '%s' after '%s': give one password", s, name, opt, password)
			}
			password = opt
			if opt == "insecure-password" {
				if missing {
					return fmt.Errorf("%s: user '%s': 'insecure-password' needs a password", s, name)
				}
				u.Password, u.Insecure = args[i+1], true
				continue
			}
			if missing || args[i+1] == "" {
				return fmt.Errorf("%s: user '%s': 'password' needs a crypt(3) hash", s, name)
			}
			if err := checkPasswordHash(args[i+1]); err != nil {
				return fmt.Errorf("%s: user '%s': %v", s, name, err)
			}
			u.Password = args[i+1]
		case "groups":
			if groups != "" {
				return fmt.Errorf("%s: user '%s': 'groups' given twice", s, name)
			}
			groups = opt
			if missing || args[i+1] == "" {
				return fmt.Errorf("%s: user '%s': 'groups' needs a comma-separated list of group names", s, name)
			}
			s.refs = append(s.refs, memberRef{pos: pos, owner: name, names: nameList(args[i+1])})
		default:
			return fmt.Errorf("%s: user '%s': unknown option '%s' ('password', 'insecure-password' and 'groups' are)", s, name, opt)
		}
	}
	if password == "" {
		return fmt.Errorf("%s: user '%s' has no password: add 'password HASH' or 'insecure-password PASSWORD'", s, name)
	}
	return nil
}

// nameList splits a comma-separated list, skipping empty items as
// HAProxy (strtok) does.
func nameList(s string) []string {
	var out []string
	for _, n := range strings.Split(s, ",") {
		if n != "" {
			out = append(out, n)
		}
	}
	return out
}

// endUserlist resolves the group and user names the section's lists
// use, and gives each user its groups.
func (p *parser) endUserlist() {
	s := p.ul
	p.ul = nil
	member := map[string]map[string]bool{} // user -> groups
	join := func(user, group string) {
		if member[user] == nil {
			member[user] = map[string]bool{}
		}
		member[user][group] = true
	}
	for _, r := range s.refs {
		for _, n := range r.names {
			_, isGroup := s.groups[n]
			switch {
			case r.users && s.users[n] == nil:
				p.errorf(r.pos, "%s: group '%s' lists user '%s', which is not declared", s, r.owner, n)
			case r.users:
				join(n, r.owner)
			case !isGroup:
				p.errorf(r.pos, "%s: user '%s' is in group '%s', which is not declared (add 'group %s')", s, r.owner, n, n)
			default:
				join(r.owner, n)
			}
		}
	}
	for _, u := range s.ul.Users {
		for _, g := range s.ul.Groups {
			if member[u.Name][g] {
				u.Groups = append(u.Groups, g)
			}
		}
	}
}

// checkPasswordHash refuses a "password" hash that rules/passwd cannot
// check (see PasswordHash).
func checkPasswordHash(hash string) error {
	_, _, err := PasswordHash(hash)
	return err
}

// Password hash schemes fjord checks (PasswordHash).
const (
	SHA512Crypt = "SHA-512 crypt"
	SHA256Crypt = "SHA-256 crypt"
	BCrypt      = "bcrypt"
)

// PasswordHash reads the structure of a crypt(3) hash: its scheme
// (SHA512Crypt, SHA256Crypt or BCrypt) and its cost (SHA-crypt's rounds,
// bcrypt's log2 cost). A scheme other than these, or a hash of one of
// them that crypt(3) cannot have written, is an error that says why.
// rules/passwd checks passwords against what it accepts.
func PasswordHash(hash string) (scheme string, cost int, err error) {
	switch {
	case hash == "":
		return "", 0, errors.New("empty password hash")
	case strings.HasPrefix(hash, "$6$"):
		cost, err = checkSHACrypt(SHA512Crypt, hash[3:], 86)
		return SHA512Crypt, cost, err
	case strings.HasPrefix(hash, "$5$"):
		cost, err = checkSHACrypt(SHA256Crypt, hash[3:], 43)
		return SHA256Crypt, cost, err
	case strings.HasPrefix(hash, "$2a$"), strings.HasPrefix(hash, "$2b$"), strings.HasPrefix(hash, "$2y$"):
		cost, err = checkBCrypt(hash[4:])
		return BCrypt, cost, err
	}
	return "", 0, hashRefusal(hash)
}

// cryptAlphabet is crypt(3)'s base-64 alphabet, of salts and hashes.
const cryptAlphabet = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

func inCryptAlphabet(s string) bool {
	for i := 0; i < len(s); i++ {
		if strings.IndexByte(cryptAlphabet, s[i]) < 0 {
			return false
		}
	}
	return true
}

// hashHint ends every refusal of a hash.
const hashHint = "use SHA-512 crypt ($6$, made by 'mkpasswd -m sha-512' or 'openssl passwd -6') or bcrypt ($2b$, 'mkpasswd -m bcrypt' or 'htpasswd -nB')"

// checkSHACrypt reads "[rounds=N$]SALT$HASH" of a $5$ or $6$ hash:
// crypt(3) writes rounds from 1000 to 999999999 without leading zeros, a
// salt of at most 16 characters, and a hash of a fixed length.
func checkSHACrypt(scheme, rest string, hashLen int) (int, error) {
	rounds := 5000 // crypt(3)'s default
	if r, ok := strings.CutPrefix(rest, "rounds="); ok {
		n, tail, found := strings.Cut(r, "$")
		if !found {
			return 0, fmt.Errorf("malformed %s hash: no '$' after rounds=%s", scheme, n)
		}
		v, err := strconv.Atoi(n)
		if err != nil || strconv.Itoa(v) != n {
			return 0, fmt.Errorf("malformed %s hash: rounds=%s is not a number as crypt(3) writes one", scheme, n)
		}
		if v < 1000 || v > 999999999 {
			return 0, fmt.Errorf("malformed %s hash: rounds=%d is outside 1000-999999999, so crypt(3) cannot have made it", scheme, v)
		}
		rounds, rest = v, tail
	}
	salt, sum, found := strings.Cut(rest, "$")
	switch {
	case !found:
		return 0, fmt.Errorf("malformed %s hash: no '$' between the salt and the hash", scheme)
	case len(salt) > 16:
		return 0, fmt.Errorf("malformed %s hash: a salt of %d characters (crypt(3) writes at most 16)", scheme, len(salt))
	case !inCryptAlphabet(salt):
		return 0, fmt.Errorf("malformed %s hash: the salt has a character outside [./0-9A-Za-z]", scheme)
	case len(sum) != hashLen:
		return 0, fmt.Errorf("malformed %s hash: the hash after the salt has %d characters, not %d", scheme, len(sum), hashLen)
	case !inCryptAlphabet(sum):
		return 0, fmt.Errorf("malformed %s hash: the hash has a character outside [./0-9A-Za-z]", scheme)
	}
	return rounds, nil
}

// checkBCrypt reads what follows "$2?$": a two-digit cost from 04 to 31,
// '$', and 53 characters of salt and hash.
func checkBCrypt(rest string) (int, error) {
	if len(rest) < 3 || rest[2] != '$' {
		return 0, errors.New("malformed bcrypt hash: no two-digit cost after the version")
	}
	c := rest[:2]
	if c[0] < '0' || c[0] > '9' || c[1] < '0' || c[1] > '9' {
		return 0, fmt.Errorf("malformed bcrypt hash: cost '%s' is not two digits", c)
	}
	cost := int(c[0]-'0')*10 + int(c[1]-'0')
	if cost < 4 || cost > 31 {
		return 0, fmt.Errorf("malformed bcrypt hash: cost %d is outside 4-31", cost)
	}
	sum := rest[3:]
	if len(sum) != 53 {
		return 0, fmt.Errorf("malformed bcrypt hash: %d characters of salt and hash after the cost, not 53", len(sum))
	}
	if !inCryptAlphabet(sum) {
		return 0, errors.New("malformed bcrypt hash: a character outside [./0-9A-Za-z]")
	}
	return cost, nil
}

// hashRefusal says why a hash of no accepted scheme is refused.
func hashRefusal(hash string) error {
	weak := func(name string) error { return fmt.Errorf("%s is weak and refused: %s", name, hashHint) }
	unsupported := func(name string) error { return fmt.Errorf("%s is not supported: %s", name, hashHint) }
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
	if len(hash) == 20 && hash[0] == '_' && inCryptAlphabet(hash[1:]) {
		return weak("BSDi extended DES crypt (_)")
	}
	if len(hash) == 13 && inCryptAlphabet(hash) {
		return weak("traditional DES crypt (it reads only the first 8 characters of a password)")
	}
	return fmt.Errorf("unknown password hash format: %s", hashHint)
}
