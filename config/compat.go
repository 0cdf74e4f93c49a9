package config

// HAProxyVersion is the HAProxy release whose configuration language fjord
// follows. Conditions compare with it (version_atleast, version_before in
// '.if' blocks and 'fjord -cc'), and 'fjord -vv' names it, so that a file
// or a script written for HAProxy asks the question it means: does this
// program read what HAProxy 2.6 reads?
const HAProxyVersion = "2.6.0"

// Feature is one entry of fjord's feature list, in HAProxy's names: what
// feature(NAME) answers in a condition, and what 'fjord -vv' lists as
// "+NAME" or "-NAME".
type Feature struct {
	Name string
	On   bool
	Why  string // what it means for fjord, for the docs and -vv
}

// Features is fjord's feature list, in the order 'fjord -vv' prints it.
// A name not in the list is a feature fjord does not have.
var Features = []Feature{
	{"EPOLL", true, "event loops on epoll(7)"},
	{"LINUX_SPLICE", true, "payloads forwarded with splice(2)"},
	{"THREAD", true, "one event loop per thread (nbthread)"},
	{"ACCEPT4", true, "accept4(2) with non-blocking, close-on-exec sockets"},
	{"GETADDRINFO", true, "names resolved by the system resolver at startup"},
	{"SYSTEMD", true, "sd_notify readiness and reload notifications"},
	{"LINUX_TPROXY", false, "no transparent proxying"},
	{"OPENSSL", false, "TLS is Go's crypto/tls with fjord's own record layer, not OpenSSL: a test of OpenSSL's own behaviour does not apply"},
	{"LUA", false, "no Lua"},
	{"PCRE", false, "regular expressions are Go's RE2"},
	{"PCRE2", false, "regular expressions are Go's RE2"},
	{"ZLIB", false, "no compression"},
	{"SLZ", false, "no compression"},
	{"PROMEX", false, "Prometheus metrics come from 'stats prometheus-uri', not HAProxy's service"},
	{"QUIC", false, "no QUIC"},
}

// HasFeature reports whether fjord has the feature called name, as
// feature(name) does in a condition.
func HasFeature(name string) bool {
	for _, f := range Features {
		if f.Name == name {
			return f.On
		}
	}
	return false
}

// MaxThreads is the highest 'nbthread', for 'fjord -vv'.
const MaxThreads = maxThreads
