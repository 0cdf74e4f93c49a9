package rules

import (
	"bytes"
	"crypto/subtle"
	"encoding/base64"

	"github.com/fjordlb/fjord/config"
	"github.com/fjordlb/fjord/rules/passwd"
)

// HTTP Basic authentication against a userlist: http_auth(),
// http_auth_group() and http_auth_user().
//
// A password is checked on the event loop, as HAProxy checks it on its
// thread. rules/passwd keeps the outcome of recent successful checks,
// so a client repeating its Authorization header costs one hash, not
// one a request; a wrong password costs a full hash each time.

func init() {
	fetchFns["http_auth"] = func(t *Txn, a []config.Arg, _ *iter) (Value, bool) {
		_, ok := authUser(t, a[0].Userlist)
		return boolValue(ok), t.Req != nil
	}
	// http_auth_group gives the user's name; in an ACL its patterns are
	// group names and it matches a user in any of them (matchGroups).
	fetchFns["http_auth_group"] = func(t *Txn, a []config.Arg, _ *iter) (Value, bool) {
		u, ok := authUser(t, a[0].Userlist)
		if !ok {
			return Value{}, false
		}
		return strValue(strBytes(u.Name)), true
	}
	fetchFns["http_auth_user"] = func(t *Txn, _ []config.Arg, _ *iter) (Value, bool) {
		user, _, ok := basicCredentials(t)
		return strValue(user), ok
	}
}

// basicCredentials decodes the request's "Authorization: Basic" field
// into the Txn's scratch.
func basicCredentials(t *Txn) (user, pass []byte, ok bool) {
	if t.Req == nil {
		return nil, nil, false
	}
	v, found := firstHeader(t.Req, "authorization")
	if !found || len(v) < 6 || !equalFold(v[:6], "basic ") {
		return nil, nil, false
	}
	enc := trimOWS(v[6:])
	off := len(t.scratch)
	n := base64.StdEncoding.DecodedLen(len(enc))
	t.scratch = append(t.scratch, make([]byte, n)...)
	m, err := base64.StdEncoding.Decode(t.scratch[off:], enc)
	if err != nil {
		t.scratch = t.scratch[:off]
		return nil, nil, false
	}
	t.scratch = t.scratch[:off+m]
	dec := t.built(off)
	i := bytes.IndexByte(dec, ':')
	if i < 0 {
		return nil, nil, false
	}
	return dec[:i], dec[i+1:], true
}

// authUser returns the userlist's user whose credentials the request
// carries.
func authUser(t *Txn, ul *config.Userlist) (*config.User, bool) {
	user, pass, ok := basicCredentials(t)
	if !ok || ul == nil {
		return nil, false
	}
	for _, u := range ul.Users {
		if u.Name != string(user) {
			continue
		}
		if u.Insecure {
			return u, subtle.ConstantTimeCompare([]byte(u.Password), pass) == 1
		}
		return u, passwd.Check(u.Password, string(pass))
	}
	return nil, false
}

// matchGroups is http_auth_group's ACL match: the authenticated user
// belongs to one of the pattern groups.
func matchGroups(ul *config.Userlist, user []byte, groups []string) bool {
	for _, u := range ul.Users {
		if u.Name != string(user) {
			continue
		}
		for _, g := range u.Groups {
			for _, p := range groups {
				if g == p {
					return true
				}
			}
		}
	}
	return false
}
