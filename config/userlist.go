package config

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
	Password string
	Insecure bool
	Groups   []string
}
