package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// errMark ends the line an error is expected on. It is a comment, so the
// parser never sees it.
const errMark = "#ERR"

// okTail is a valid frontend and backend, appended to configurations whose
// mistake is elsewhere.
var okTail = lines(
	"frontend ok_fe",
	"  bind 127.0.0.1:7999",
	"  default_backend ok_be",
	"backend ok_be",
	"  server ok 127.0.0.1:9999",
)

// httpFE returns a valid mode-http frontend "fe" bound to 127.0.0.1:8000
// using backend "be", with extra lines, followed by backend "be".
func httpFE(l ...string) string {
	return lines("frontend fe", "  mode http", "  bind 127.0.0.1:8000", "  default_backend be") + lines(l...) +
		lines("backend be", "  mode http")
}

// tcpBE returns a valid configuration whose mode-tcp backend "be" holds the
// given lines.
func tcpBE(l ...string) string {
	return lines("frontend fe", "  bind 127.0.0.1:8000", "  default_backend be", "backend be") + lines(l...)
}

// global returns a valid configuration with the given global lines.
func global(l ...string) string { return lines("global") + lines(l...) + okTail }

type errCase struct {
	name string
	text string   // every line that must carry an error ends with errMark
	want []string // phrases the error message must contain
}

// checkErrors parses tc.text and checks that there is exactly one error per
// marked line, in testFile at that line, containing every wanted phrase.
func checkErrors(t *testing.T, r Resolver, tc errCase) {
	t.Helper()
	var marked []int
	for i, l := range strings.Split(tc.text, "\n") {
		if strings.HasSuffix(strings.TrimSpace(l), errMark) {
			marked = append(marked, i+1)
		}
	}
	if len(marked) == 0 {
		t.Fatalf("test case %q marks no line with %s", tc.name, errMark)
	}
	_, errs := parseWith(t, r, tc.text)
	if len(errs) != len(marked) {
		t.Fatalf("got %d errors, want %d (lines %v):\n%v\nconfiguration:\n%s", len(errs), len(marked), marked, errs, numbered(tc.text))
	}
	for i, e := range errs {
		if e.Pos != at(marked[i]) {
			t.Errorf("error %q at %v, want %v\nconfiguration:\n%s", e.Msg, e.Pos, at(marked[i]), numbered(tc.text))
		}
		for _, w := range tc.want {
			if !strings.Contains(e.Msg, w) {
				t.Errorf("error %q does not contain %q", e.Msg, w)
			}
		}
		if !strings.HasPrefix(e.Error(), "parsing ["+at(marked[i]).String()+"] : ") {
			t.Errorf("Error() = %q", e.Error())
		}
	}
}

func runErrorCases(t *testing.T, r Resolver, cases []errCase) {
	t.Helper()
	seen := map[string]bool{}
	for _, tc := range cases {
		if seen[tc.name] {
			t.Fatalf("duplicate test case name %q", tc.name)
		}
		seen[tc.name] = true
		t.Run(tc.name, func(t *testing.T) { checkErrors(t, r, tc) })
	}
}

// TestRequiredErrors covers the errors the configuration language promises:
// each is reported with its file, its line and a message naming the problem.
func TestRequiredErrors(t *testing.T) {
	runErrorCases(t, NoResolver, []errCase{
		// Unknown keywords name the section.
		{"unknown keyword out of section", "maxconn 10 #ERR\n" + okTail, []string{"unknown keyword 'maxconn'", "out of section"}},
		{"unknown keyword in global", global("  bogus 1 #ERR"), []string{"unknown keyword 'bogus'", "'global' section"}},
		{"unknown keyword in defaults", lines("defaults", "  bogus #ERR") + okTail, []string{"unknown keyword 'bogus'", "'defaults' section"}},
		{"unknown keyword in frontend", httpFE("  bogus on #ERR"), []string{"unknown keyword 'bogus'", "'frontend' section"}},
		{"unknown keyword in backend", tcpBE("  bogus #ERR"), []string{"unknown keyword 'bogus'", "'backend' section"}},
		{"unknown keyword in listen", lines("listen l", "  bind 127.0.0.1:8000", "  bogus #ERR"), []string{"unknown keyword 'bogus'", "'listen' section"}},
		{"misspelt keyword", httpFE("  default-backend be #ERR"), []string{"unknown keyword 'default-backend'", "'frontend' section"}},

		// Undefined backends are named.
		{"use_backend undefined backend", httpFE("  use_backend static_servers if TRUE #ERR"), []string{"undefined backend 'static_servers'", "use_backend", "frontend 'fe'"}},
		{"unconditional use_backend undefined backend", httpFE("  use_backend nowhere #ERR"), []string{"undefined backend 'nowhere'"}},
		{"default_backend undefined backend", lines("frontend fe", "  bind 127.0.0.1:8000", "  default_backend web_servers #ERR"), []string{"default_backend", "undefined backend 'web_servers'"}},
		{"use_backend names a frontend", lines("frontend fe", "  bind 127.0.0.1:8000", "  default_backend other #ERR", "frontend other", "  bind 127.0.0.1:8001", "  default_backend be", "backend be"), []string{"undefined backend 'other'"}},
		{"listen default_backend undefined", lines("listen l", "  bind 127.0.0.1:8000", "  default_backend gone #ERR"), []string{"listen 'l'", "undefined backend 'gone'"}},
		{"default_backend inherited from defaults", lines("defaults", "  default_backend missing #ERR", "frontend fe", "  bind 127.0.0.1:8000"), []string{"undefined backend 'missing'"}},

		// Conditions naming undefined ACLs.
		{"undefined ACL", httpFE("  use_backend be if is_static #ERR"), []string{"undefined ACL 'is_static'", "frontend 'fe'"}},
		{"undefined negated ACL", httpFE("  acl a path /", "  use_backend be if a !nope #ERR"), []string{"undefined ACL 'nope'"}},
		{"undefined ACL after or", httpFE("  acl a path /", "  use_backend be if a || nope #ERR"), []string{"undefined ACL 'nope'"}},
		{"undefined ACL in stats admin", lines("listen l", "  mode http", "  bind 127.0.0.1:8000", "  stats auth a:b", "  stats admin if LOCALHOSTS #ERR"), []string{"undefined ACL 'LOCALHOSTS'"}},
		{"ACL of another frontend", lines("frontend a", "  mode http", "  bind 127.0.0.1:8001", "  acl x path /", "  default_backend be") + httpFE("  use_backend be if x #ERR"), []string{"undefined ACL 'x'"}},

		// Addresses and ports.
		{"bad bind address", httpFE("  bind 1.2.3:80 #ERR"), []string{"bind '1.2.3:80'", "invalid address '1.2.3'"}},
		{"bad bind address octet", httpFE("  bind 256.0.0.1:80 #ERR"), []string{"invalid address '256.0.0.1'"}},
		{"bad bind IPv6 address", httpFE("  bind [::g]:80 #ERR"), []string{"invalid address '::g'"}},
		{"bad bind host character", httpFE("  bind web/1:80 #ERR"), []string{"invalid address 'web/1'"}},
		{"unclosed bracket", httpFE("  bind [::1:80 #ERR"), []string{"missing ']'"}},
		{"bind without port", httpFE("  bind 127.0.0.1 #ERR"), []string{"missing port"}},
		{"bind star without port", httpFE("  bind * #ERR"), []string{"missing port in bind address '*'"}},
		{"server without host", tcpBE("  server s1 :80 #ERR"), []string{"server 's1': missing address"}},
		{"bind empty list item", httpFE("  bind 127.0.0.1:80,,127.0.0.1:81 #ERR"), []string{"empty address"}},
		{"bind without address", lines("frontend fe", "  bind #ERR", "  default_backend be", "  bind 127.0.0.1:8000", "backend be"), []string{"'bind' expects an address"}},
		{"bind zone", httpFE("  bind [fe80::1%eth0]:80 #ERR"), []string{"zones are not supported"}},
		{"bind fd@ without number", httpFE("  bind fd@ #ERR"), []string{"bind 'fd@'", "fd@ expects a descriptor number"}},
		{"bind fd@ with a name", httpFE("  bind fd@web #ERR"), []string{"'web' is not a descriptor number"}},
		{"bind fd@ unexpanded variable", httpFE("  bind fd@${fe1} #ERR"), []string{"'${fe1}' is not a descriptor number"}},
		{"bind fd@ signed", httpFE("  bind fd@+3 #ERR"), []string{"'+3' is not a descriptor number"}},
		{"bind fd@ with a port", httpFE("  bind fd@3:80 #ERR"), []string{"'3:80' is not a descriptor number"}},
		{"bind fd@ too large", httpFE("  bind fd@1073741824 #ERR"), []string{"descriptor 1073741824 is out of range"}},
		{"bind fd@ overflow", httpFE("  bind fd@99999999999999999999 #ERR"), []string{"out of range"}},
		{"bind fd@ standard output", httpFE("  bind fd@1 #ERR"), []string{"bind 'fd@1'", "descriptor 1 is standard output", "descriptor 3 or above"}},
		{"bind sockpair@", httpFE("  bind sockpair@4 #ERR"), []string{"sockpair@ addresses are not supported", "use fd@N"}},
		{"bind unix@ without a path", httpFE("  bind unix@ #ERR"), []string{"bind 'unix@'", "unix@ expects a path"}},
		{"bind unix@ without a path in a list", httpFE("  bind 127.0.0.1:81,unix@ #ERR"), []string{"'unix@': unix@ expects a path"}},
		{"bind abns@ without a name", httpFE("  bind abns@ #ERR"), []string{"abns@ expects a name"}},
		{"bind a Unix path longer than its temporary name allows", httpFE("  bind /" + strings.Repeat("p", 97) + " #ERR"),
			[]string{"Unix socket path '/" + strings.Repeat("p", 97) + "' is 98 bytes long: at most 97", "PATH.PID.tmp", "sun_path's 108 bytes"}},
		{"bind an abstract name longer than sun_path", httpFE("  bind abns@" + strings.Repeat("n", 108) + " #ERR"), []string{"abstract name", "108 bytes long: at most 107"}},
		{"bind a Unix prefix HAProxy 2.6 lacks", httpFE("  bind abnsz@fjord #ERR"), []string{"'abnsz@' addresses are not supported", "path, unix@PATH or abns@NAME"}},
		{"bind mode on a TCP address", httpFE("  bind 127.0.0.1:81,unix@fjord.sock mode 600 #ERR"), []string{"set the file of a Unix socket, and cannot apply to a TCP address"}},
		{"bind mode on an inherited socket", httpFE("  bind fd@3 mode 600 #ERR"), []string{"cannot apply to fd@3"}},
		{"bind mode on an abstract socket", httpFE("  bind abns@fjord mode 600 #ERR"), []string{"abns@fjord is an abstract socket, which has none"}},
		{"bind mode not octal", httpFE("  bind /run/fjord.sock mode 800 #ERR"), []string{"invalid mode '800'"}},
		{"bind mode without a value", httpFE("  bind /run/fjord.sock mode #ERR"), []string{"bind option 'mode' expects a value"}},
		{"bind uid not a number", httpFE("  bind /run/fjord.sock uid www #ERR"), []string{"bind option 'uid'"}},
		{"bind user unknown", httpFE("  bind /run/fjord.sock user no-such-user-fjord #ERR"), []string{"unknown user 'no-such-user-fjord'"}},
		{"bind group unknown", httpFE("  bind /run/fjord.sock group no-such-group-fjord #ERR"), []string{"unknown group 'no-such-group-fjord'"}},
		{"bind v6only on a Unix socket", httpFE("  bind /run/fjord.sock v6only #ERR"), []string{"'v6only' applies to IPv6 addresses, not to the Unix socket /run/fjord.sock"}},
		{"bind the same Unix socket twice", lines("frontend a", "  bind /run/fe.sock", "  default_backend be", "frontend b", "  bind unix@/run/fe.sock #ERR", "  default_backend be", "backend be"),
			[]string{"frontend 'b'", "Unix socket /run/fe.sock is already bound by frontend 'a' at " + at(2).String()}},
		{"bind on the runtime API's socket", lines("global", "  stats socket /run/fjord.sock", "frontend a", "  bind /run/fjord.sock #ERR", "  default_backend be", "backend be"),
			[]string{"Unix socket /run/fjord.sock is the runtime API's ('stats socket' at " + at(2).String() + ")"}},
		{"bind sockpair@ in a list", httpFE("  bind 127.0.0.1:81,sockpair@4 #ERR"), []string{"sockpair@"}},
		{"bind fd@ v6only", httpFE("  bind fd@3 v6only #ERR"), []string{"'v6only' cannot apply to fd@3", "already bound"}},
		{"bind fd@ v4v6", httpFE("  bind 127.0.0.1:81,fd@4 v4v6 #ERR"), []string{"'v4v6' cannot apply to fd@4"}},
		{"bind fd@ twice", lines("frontend a", "  bind fd@3", "  default_backend be", "frontend b", "  bind fd@3 #ERR", "  default_backend be", "backend be"), []string{"frontend 'b'", "fd@3 is already used at " + at(2).String()}},
		{"bind fd@ twice on a line", httpFE("  bind fd@5,fd@5 #ERR"), []string{"fd@5 is already used at " + at(5).String()}},
		{"bad server address", tcpBE("  server s1 10.0.0.300:80 #ERR"), []string{"server 's1'", "invalid address '10.0.0.300'"}},
		{"server unix@ without a path", tcpBE("  server s1 unix@ #ERR"), []string{"server 's1': 'unix@': unix@ expects a path"}},
		{"server Unix path longer than sun_path", tcpBE("  server s1 /" + strings.Repeat("p", 107) + " #ERR"),
			[]string{"server 's1'", "Unix socket path '/" + strings.Repeat("p", 107) + "' is 108 bytes long: at most 107", "sun_path holds 108 bytes"}},
		{"server Unix socket with a check port", tcpBE("  server s1 /run/app.sock check port 80 #ERR"), []string{"server 's1': 'port' sets where the checks of a server with an IP address connect", "connect to that Unix socket"}},
		{"server Unix socket with a check addr", tcpBE("  server s1 /run/app.sock check addr 127.0.0.1 #ERR"), []string{"'addr' sets where the checks"}},
		{"unspecified server address", tcpBE("  server s1 0.0.0.0:80 #ERR"), []string{"unspecified address"}},
		{"server host without resolver", tcpBE("  server s1 web1.test:80 #ERR"), []string{"could not resolve address 'web1.test'"}},
		{"bad log address", global("  log 10.0.0:514 local0 #ERR"), []string{"log target", "invalid address '10.0.0'"}},
		{"bad check addr", tcpBE("  server s1 10.0.0.1:80 addr 10.0.0 #ERR"), []string{"'addr'", "invalid address '10.0.0'"}},
		{"bad bind port", httpFE("  bind *:http #ERR"), []string{"invalid port 'http'", "'h'"}},
		{"bad bind port character", httpFE("  bind *:80a #ERR"), []string{"invalid port '80a'", "'a'"}},
		{"bad bind port range", httpFE("  bind *:90-80 #ERR"), []string{"invalid port range '90-80'"}},
		{"bad server port", tcpBE("  server s1 10.0.0.1:8o #ERR"), []string{"server 's1'", "invalid port '8o'"}},
		{"bad server port offset", tcpBE("  server s1 10.0.0.1:+x #ERR"), []string{"port offset", "'x'"}},
		{"bad log port", global("  log 127.0.0.1:syslog local0 #ERR"), []string{"invalid port 'syslog'"}},
		{"bind port 0", httpFE("  bind *:0 #ERR"), []string{"port 0 out of range (1-65535)"}},
		{"bind port 65536", httpFE("  bind *:65536 #ERR"), []string{"port 65536 out of range (1-65535)"}},
		{"bind port 99999", httpFE("  bind *:99999 #ERR"), []string{"port 99999 out of range (1-65535)"}},
		{"bind port range end 65536", httpFE("  bind *:65530-65536 #ERR"), []string{"port 65536 out of range"}},
		{"bind port huge", httpFE("  bind *:99999999999999999999 #ERR"), []string{"out of range (1-65535)"}},
		{"server port 0", tcpBE("  server s1 10.0.0.1:0 #ERR"), []string{"port 0 out of range (1-65535)"}},
		{"server port 65536", tcpBE("  server s1 10.0.0.1:65536 #ERR"), []string{"port 65536 out of range (1-65535)"}},
		{"server port 99999", tcpBE("  server s1 10.0.0.1:99999 #ERR"), []string{"port 99999 out of range (1-65535)"}},
		{"server check port 0", tcpBE("  server s1 10.0.0.1:80 check port 0 #ERR"), []string{"port 0 out of range (1-65535)"}},
		{"server check port 65536", tcpBE("  server s1 10.0.0.1:80 check port 65536 #ERR"), []string{"port 65536 out of range (1-65535)"}},
		{"server check port 99999", tcpBE("  server s1 10.0.0.1:80 check port 99999 #ERR"), []string{"port 99999 out of range (1-65535)"}},
		{"log port 0", global("  log 127.0.0.1:0 local0 #ERR"), []string{"port 0 out of range"}},
		{"log port 65536", global("  log 127.0.0.1:65536 local0 #ERR"), []string{"port 65536 out of range"}},

		// Time values name the bad character.
		{"bad time unit", httpFE("  timeout client 5x #ERR"), []string{"timeout client", "invalid time value '5x'", "unexpected character 'x'"}},
		{"bad time after valid unit", httpFE("  timeout client 5sec #ERR"), []string{"invalid time value '5sec'", "unexpected character 'e'"}},
		{"bad time after ms", httpFE("  timeout client 10msx #ERR"), []string{"unexpected character 'x'"}},
		{"bad time decimal", httpFE("  timeout client 1.5s #ERR"), []string{"unexpected character '.'"}},
		{"bad time negative", httpFE("  timeout client -5 #ERR"), []string{"unexpected character '-'"}},
		{"bad time word", httpFE("  timeout client never #ERR"), []string{"unexpected character 'n'"}},
		{"bad time overflow", httpFE("  timeout client 9999999999999d #ERR"), []string{"too large"}},
		{"bad legacy time", lines("defaults", "  contimeout 5 s #ERR") + okTail, []string{"'timeout connect' expects one time value"}},
		{"bad legacy time unit", lines("defaults", "  clitimeout 50q #ERR") + okTail, []string{"timeout client", "unexpected character 'q'"}},
		{"bad server inter", tcpBE("  server s1 10.0.0.1:80 check inter 2k #ERR"), []string{"'inter'", "unexpected character 'k'"}},
		{"bad hard-stop-after", global("  hard-stop-after 1w #ERR"), []string{"hard-stop-after", "unexpected character 'w'"}},
		{"bad stats refresh", lines("listen l", "  mode http", "  bind 127.0.0.1:8000", "  stats refresh 5y #ERR", "  stats auth a:b"), []string{"stats refresh", "unexpected character 'y'"}},

		// Duplicate names.
		{"duplicate backend", tcpBE("backend be #ERR"), []string{"backend 'be' has the same name as backend 'be' declared at test.cfg:4"}},
		{"duplicate frontend", httpFE() + lines("frontend fe #ERR", "  mode http", "  bind 127.0.0.1:8001", "  default_backend be"), []string{"frontend 'fe' has the same name as frontend 'fe'"}},
		{"listen named as frontend", httpFE() + lines("listen fe #ERR", "  bind 127.0.0.1:8001"), []string{"listen 'fe' has the same name as frontend 'fe' declared at test.cfg:1"}},
		{"listen named as backend", httpFE() + lines("listen be #ERR", "  bind 127.0.0.1:8001"), []string{"listen 'be' has the same name as backend 'be'"}},
		{"backend named as listen", lines("listen l", "  bind 127.0.0.1:8000", "backend l #ERR"), []string{"backend 'l' has the same name as listen 'l'"}},
		{"duplicate server", tcpBE("  server web01 10.0.0.1:80", "  server web01 10.0.0.2:80 #ERR"), []string{"backend 'be' has two servers named 'web01'", "test.cfg:5"}},
		{"duplicate server in listen", lines("listen l", "  bind 127.0.0.1:8000", "  server a 10.0.0.1", "  server a 10.0.0.2 #ERR"), []string{"listen 'l' has two servers named 'a'"}},

		// Keywords in the wrong kind of section.
		{"server in frontend", httpFE("  server s1 10.0.0.1:80 #ERR"), []string{"'server' is not allowed in a 'frontend' section", "backend, listen"}},
		{"bind in backend", tcpBE("  bind *:81 #ERR"), []string{"'bind' is not allowed in a 'backend' section", "frontend, listen"}},
		{"use_backend in backend", tcpBE("  use_backend be #ERR"), []string{"'use_backend' is not allowed in a 'backend' section"}},
		{"balance in frontend", httpFE("  balance roundrobin #ERR"), []string{"'balance' is not allowed in a 'frontend' section"}},
		{"maxconn in backend", tcpBE("  maxconn 10 #ERR"), []string{"'maxconn' is not allowed in a 'backend' section"}},
		{"server in defaults", lines("defaults", "  server s 10.0.0.1 #ERR") + okTail, []string{"'server' is not allowed in a 'defaults' section"}},
		{"global keyword in frontend", httpFE("  tune.pipesize 1m #ERR"), []string{"'tune.pipesize' is not allowed in a 'frontend' section", "(allowed in: global)"}},
		{"daemon in backend", tcpBE("  daemon #ERR"), []string{"'daemon' is not allowed in a 'backend' section", "(allowed in: global)"}},
		{"proxy keyword in global", global("  balance roundrobin #ERR"), []string{"'balance' is not allowed in a 'global' section", "defaults, backend, listen"}},
		{"refused global keyword in frontend", httpFE("  nbproc 2 #ERR"), []string{"unknown keyword 'nbproc' in 'frontend' section"}},

		// Balance.
		{"unsupported balance", tcpBE("  balance fastest #ERR"), []string{"unsupported balance algorithm 'fastest'"}},
		{"unsupported balance rdp-cookie", tcpBE("  balance rdp-cookie #ERR"), []string{"unsupported balance algorithm 'rdp-cookie'"}},
		{"balance without algorithm", tcpBE("  balance #ERR"), []string{"'balance' expects an algorithm"}},
		{"balance with extra argument", tcpBE("  balance roundrobin 2 #ERR"), []string{"'balance roundrobin' takes no argument"}},
		{"balance uri bad argument", httpFE() + "  balance uri deep #ERR\n", []string{"'balance uri': unknown argument 'deep'"}},
		{"balance uri len missing", httpFE() + "  balance uri len #ERR\n", []string{"'balance uri len' expects a number"}},
		{"balance url_param without name", httpFE() + "  balance url_param #ERR\n", []string{"expects a parameter name"}},
		{"balance hdr empty", httpFE() + "  balance hdr() #ERR\n", []string{"expects a header name"}},
		{"balance random unclosed", tcpBE("  balance random(3 #ERR"), []string{"missing ')'"}},
		{"balance random zero", tcpBE("  balance random(0) #ERR"), []string{"random draws 0 out of range"}},
		{"balance uri in tcp", lines("frontend fe", "  bind 127.0.0.1:8000", "  default_backend be", "backend be #ERR", "  balance uri"), []string{"'balance uri' reads the HTTP request and needs 'mode http'"}},
		{"balance hdr in tcp", lines("listen l #ERR", "  bind 127.0.0.1:8000", "  balance hdr(host)"), []string{"'balance hdr'", "needs 'mode http'"}},
		{"bad hash-type", tcpBE("  hash-type ring #ERR"), []string{"'hash-type' expects map-based or consistent, not 'ring'"}},
		{"bad hash function", tcpBE("  hash-type consistent md5 #ERR"), []string{"unknown argument 'md5'"}},

		// ACL syntax.
		{"ACL bad CIDR length", httpFE("  acl lan src 10.0.0.0/33 #ERR"), []string{"acl 'lan'", "invalid network '10.0.0.0/33'"}},
		{"ACL bad CIDR address", httpFE("  acl lan src 10.0.0/8 #ERR"), []string{"invalid network '10.0.0/8'"}},
		{"ACL bad netmask", httpFE("  acl lan src 10.0.0.0/255.0.255.0 #ERR"), []string{"invalid network '10.0.0.0/255.0.255.0'"}},
		{"ACL bad IPv6 CIDR", httpFE("  acl lan src 2001:db8::/129 #ERR"), []string{"invalid network '2001:db8::/129'"}},
		{"ACL bad address", httpFE("  acl lan src 10.0.0.256 #ERR"), []string{"invalid address '10.0.0.256'"}},
		{"anonymous ACL bad CIDR", httpFE("  use_backend be if { src 10.0.0.0/40 } #ERR"), []string{"anonymous ACL", "invalid network '10.0.0.0/40'"}},
		{"ACL bad regex", httpFE("  acl api path_reg ^/(api #ERR"), []string{"acl 'api'", "invalid regular expression '^/(api'"}},
		{"ACL bad regex repetition", httpFE("  acl api path_reg -i *.php #ERR"), []string{"invalid regular expression '*.php'"}},
		{"anonymous ACL bad regex", httpFE("  use_backend be if { path_reg [a- } #ERR"), []string{"anonymous ACL", "invalid regular expression '[a-'"}},
		{"ACL unknown fetch", httpFE("  acl a uri_beg /x #ERR"), []string{"unknown sample fetch 'uri_beg'", "valid: ", "path, pathq"}},
		{"ACL unknown converter", httpFE("  acl a path,lowr /x #ERR"), []string{"unknown converter 'lowr'", "valid: ", "lower"}},
		{"ACL bad regsub", httpFE("  acl a path,regsub(\"[\",x) /x #ERR"), []string{"argument 1 of 'regsub'", "invalid regular expression"}},
		{"ACL wrong argument count", httpFE("  acl a req.fhdr /x #ERR"), []string{"'req.fhdr' takes 1 to 2 argument(s), found 0"}},
		{"ACL bad argument type", httpFE("  acl a req.hdr(host,last) /x #ERR"), []string{"argument 2 of 'req.hdr'", "'last' is not an integer"}},
		{"ACL unknown match method", httpFE("  acl a path -m begins /x #ERR"), []string{"unknown match method '-m begins'"}},
		{"ACL header with an empty name", httpFE("  acl a req.fhdr(,1) /x #ERR"), []string{"argument 1 of 'req.fhdr'", "a name is required"}},
		{"ACL unterminated criterion", httpFE("  acl a hdr(host x #ERR"), []string{"missing ')' after the arguments of 'hdr'"}},
		{"ACL argument to path", httpFE("  acl a path(x) / #ERR"), []string{"'path' takes no argument"}},
		{"ACL without criterion", httpFE("  acl a #ERR"), []string{"'acl' expects a name, a criterion and values"}},
		{"ACL without value", httpFE("  acl a path_beg #ERR"), []string{"acl 'a'", "'path_beg' needs at least one pattern"}},
		{"ACL flag without value", httpFE("  acl a path_beg -i #ERR"), []string{"'path_beg' needs at least one pattern"}},
		{"ACL unknown flag", httpFE("  acl a path_beg -x /a #ERR"), []string{"unknown ACL flag '-x'"}},
		{"ACL pattern file missing", httpFE("  acl a path_beg -f /nonexistent/list #ERR"), []string{"cannot read file '/nonexistent/list'", "no such file"}},
		{"ACL match flag without method", httpFE("  acl a path -m #ERR"), []string{"ACL flag '-m' needs an argument"}},
		{"ACL bad method", httpFE("  acl a method GET/1 #ERR"), []string{"invalid HTTP method 'GET/1'"}},
		{"ACL reserved name", httpFE("  acl TRUE path / #ERR"), []string{"ACL name 'TRUE' is reserved"}},
		{"ACL bad name", httpFE("  acl a/b path / #ERR"), []string{"invalid character '/' in ACL name 'a/b'"}},

		// Condition syntax.
		{"condition without if", httpFE("  acl a path /", "  use_backend be when a #ERR"), []string{"expected 'if' or 'unless'", "'when'"}},
		{"condition empty", httpFE("  use_backend be if #ERR"), []string{"missing condition after 'if'"}},
		{"condition trailing or", httpFE("  acl a path /", "  use_backend be if a or #ERR"), []string{"condition ends with 'or'"}},
		{"condition leading or", httpFE("  acl a path /", "  use_backend be if || a #ERR"), []string{"'||' without a term before it"}},
		{"condition trailing bang", httpFE("  acl a path /", "  use_backend be if a ! #ERR"), []string{"'!' at the end of the condition"}},
		{"condition double bang", httpFE("  acl a path /", "  use_backend be if ! ! a #ERR"), []string{"expected an ACL name after '!', found '!'"}},
		{"condition unclosed brace", httpFE("  use_backend be if { path / #ERR"), []string{"missing '}'"}},
		{"condition stray brace", httpFE("  use_backend be if } #ERR"), []string{"'}' without a matching '{'"}},
		{"dynamic use_backend with a bad expression", httpFE("  use_backend be_%[nope] #ERR"), []string{"use_backend be_%[nope]", "unknown sample fetch 'nope'"}},

		// Missing or misplaced listeners.
		{"no listener", lines("global", "  maxconn 10", "backend be", "  server s1 127.0.0.1:80 #ERR"), []string{"no frontend or listen section"}},
		{"no listener, only defaults", lines("defaults", "  mode http #ERR"), []string{"no frontend or listen section"}},
		{"no listener, trailing comments", lines("backend be #ERR", "", "# nothing else", ""), []string{"no frontend or listen section"}},
		{"frontend without bind", lines("frontend fe #ERR", "  default_backend be", "backend be"), []string{"frontend 'fe' has no 'bind' line"}},
		{"listen without bind", lines("listen app #ERR", "  server s1 127.0.0.1:80") + okTail, []string{"listen 'app' has no 'bind' line"}},

		// Modes.
		{"mode mismatch http frontend, tcp backend", lines("frontend fe", "  mode http", "  bind 127.0.0.1:8000", "  default_backend be #ERR", "backend be", "  mode tcp"),
			[]string{"frontend 'fe' (mode http) cannot use backend 'be' (mode tcp)", "modes must match"}},
		{"mode mismatch tcp frontend, http backend", lines("frontend fe", "  bind 127.0.0.1:8000", "  default_backend be #ERR", "backend be", "  mode http"),
			[]string{"(mode tcp) cannot use backend 'be' (mode http)"}},
		{"mode mismatch in use_backend", lines("frontend fe", "  mode http", "  bind 127.0.0.1:8000", "  use_backend raw if TRUE #ERR", "  default_backend be", "backend be", "  mode http", "backend raw"),
			[]string{"cannot use backend 'raw' (mode tcp)"}},
		{"mode mismatch with listen", lines("listen l", "  mode http", "  bind 127.0.0.1:8000", "  default_backend l2 #ERR", "listen l2", "  bind 127.0.0.1:8001"),
			[]string{"listen 'l' (mode http) cannot use backend 'l2' (mode tcp)"}},
		{"bad mode", httpFE("  mode udp #ERR"), []string{"'mode' expects tcp or http, not 'udp'"}},
		{"mode health", httpFE("  mode health #ERR"), []string{"'mode health' was removed"}},

		// Overlapping binds.
		{"same bind twice", lines("frontend fe", "  bind *:80", "  bind *:80 #ERR", "  default_backend be", "backend be"), []string{"address 0.0.0.0:80 is already bound by frontend 'fe' at test.cfg:2"}},
		{"same address on one line", lines("frontend fe", "  bind 127.0.0.1:80,127.0.0.1:80 #ERR", "  default_backend be", "backend be"), []string{"127.0.0.1:80 is already bound"}},
		{"same bind in two frontends", lines("frontend a", "  bind 127.0.0.1:80", "  default_backend be", "frontend b", "  bind 127.0.0.1:80 #ERR", "  default_backend be", "backend be"),
			[]string{"frontend 'b': address 127.0.0.1:80 is already bound by frontend 'a' at test.cfg:2"}},
		{"star and empty address", lines("frontend a", "  bind *:80", "  default_backend b", "listen b", "  bind :80 #ERR"), []string{"listen 'b': address 0.0.0.0:80 is already bound by frontend 'a'"}},
		{"ipv4@ and star", lines("listen a", "  bind ipv4@:80", "  bind *:80 #ERR"), []string{"0.0.0.0:80 is already bound by listen 'a'"}},
		{"IPv6 wildcard twice", lines("frontend a", "  bind :::80", "  default_backend be", "frontend b", "  bind [::]:80 v6only #ERR", "  default_backend be", "backend be"), []string{"[::]:80 is already bound"}},
		{"IPv6 address twice", lines("listen a", "  bind [::1]:80", "  bind ::1:80 #ERR"), []string{"[::1]:80 is already bound"}},
		{"port in range", lines("frontend a", "  bind 127.0.0.1:8080-8085", "  default_backend be", "frontend b", "  bind 127.0.0.1:8083 #ERR", "  default_backend be", "backend be"), []string{"127.0.0.1:8083 is already bound"}},

		// Stats and HTTP features in mode tcp.
		{"stats in mode tcp", lines("listen l #ERR", "  bind 127.0.0.1:8000", "  stats enable", "  stats auth a:b"), []string{"listen 'l': the stats page needs 'mode http'"}},
		{"stats uri in tcp backend", lines("frontend fe", "  bind 127.0.0.1:8000", "  default_backend be", "backend be #ERR", "  stats uri /s"), []string{"backend 'be': the stats page needs 'mode http'"}},
		{"stats inherited in tcp", lines("defaults", "  stats enable", "listen l #ERR", "  bind 127.0.0.1:8000"), []string{"the stats page needs 'mode http'"}},
		{"HTTP ACL in tcp frontend", lines("frontend fe", "  bind 127.0.0.1:8000", "  acl static path_beg /static", "  use_backend be if static #ERR", "  default_backend be", "backend be"),
			[]string{"frontend 'fe' is in mode tcp but the use_backend condition reads the HTTP request"}},
		{"anonymous HTTP ACL in tcp frontend", lines("frontend fe", "  bind 127.0.0.1:8000", "  use_backend be if { hdr(host) a } #ERR", "backend be"), []string{"mode tcp", "reads the HTTP request"}},
		{"predefined HTTP ACL in tcp listen", lines("listen l", "  bind 127.0.0.1:8000", "  use_backend l if METH_GET #ERR"), []string{"listen 'l' is in mode tcp", "reads the HTTP request"}},
		{"HTTP ACL in second OR group", lines("frontend fe", "  bind 127.0.0.1:8000", "  acl lan src 10.0.0.0/8", "  acl api path /api", "  use_backend be if lan || !api #ERR", "backend be"), []string{"reads the HTTP request"}},
		{"observe layer7 in tcp", tcpBE("  server s1 10.0.0.1:80 check observe layer7 #ERR"), []string{"server 's1': 'observe layer7' needs 'mode http'"}},
		{"observe without check", tcpBE("  server s1 10.0.0.1:80 observe layer4 #ERR"), []string{"server 's1': 'observe' needs 'check' on the same server"}},
	})
}

// TestKeywordValueErrors covers malformed values of each keyword.
func TestKeywordValueErrors(t *testing.T) {
	runErrorCases(t, NoResolver, []errCase{
		// global
		{"global argument", lines("global x #ERR") + okTail, []string{"'global' takes no argument"}},
		{"maxconn missing", global("  maxconn #ERR"), []string{"'maxconn' expects one integer"}},
		{"maxconn zero", global("  maxconn 0 #ERR"), []string{"maxconn 0 out of range"}},
		{"maxconn word", global("  maxconn lots #ERR"), []string{"invalid maxconn 'lots'", "'l'"}},
		{"maxconn overflow", global("  maxconn 99999999999999999999 #ERR"), []string{"out of range"}},
		{"user missing", global("  user #ERR"), []string{"'user' expects a name"}},
		{"group two names", global("  group a b #ERR"), []string{"'group' expects a name"}},
		{"uid negative", global("  uid -1 #ERR"), []string{"uid -1 out of range"}},
		{"gid word", global("  gid staff #ERR"), []string{"invalid gid 'staff'"}},
		{"daemon argument", global("  daemon yes #ERR"), []string{"'daemon' takes no argument (found 'yes')"}},
		{"nbthread too many", global("  nbthread 65 #ERR"), []string{"nbthread 65 out of range (1-64)"}},
		{"nbproc", global("  nbproc 2 #ERR"), []string{"'nbproc' was removed"}},
		{"ignored keyword with a bad value", global("  tune.idle-pool.shared maybe #ERR"), []string{"'tune.idle-pool.shared' expects on or off"}},
		{"ignored keyword without its value", global("  tune.maxaccept #ERR"), []string{"'tune.maxaccept' expects one integer (-1 to 2147483647)"}},
		{"ignored keyword out of HAProxy's range", global("  tune.pool-low-fd-ratio 101 #ERR"), []string{"'tune.pool-low-fd-ratio' expects an integer from 0 to 100", "101"}},
		{"ignored time keyword with a number", global("  tune.idletimer 70s #ERR"), []string{"'tune.idletimer' expects a time value of at most 1m5.535s, not 70s"}},
		{"chroot", global("  chroot /var/empty #ERR"), []string{"'chroot' is not supported"}},
		{"pidfile missing", global("  pidfile #ERR"), []string{"'pidfile' expects a file path"}},
		{"ulimit-n zero", global("  ulimit-n 0 #ERR"), []string{"ulimit-n 0 out of range"}},
		{"pipesize too small", global("  tune.pipesize 1k #ERR"), []string{"tune.pipesize 1k out of range"}},
		{"pipesize word", global("  tune.pipesize big #ERR"), []string{"invalid tune.pipesize 'big'"}},
		{"bufsize too large", global("  tune.bufsize 2m #ERR"), []string{"tune.bufsize 2m out of range"}},
		{"maxrewrite negative", global("  tune.maxrewrite -1 #ERR"), []string{"tune.maxrewrite"}},
		{"maxrewrite not a number", global("  tune.maxrewrite 1k #ERR"), []string{"tune.maxrewrite"}},
		{"maxpollevents zero", global("  tune.maxpollevents 0 #ERR"), []string{"tune.maxpollevents 0 out of range"}},
		{"sysctl bad", global("  tune.sysctl maybe #ERR"), []string{"'tune.sysctl' expects on, off or check, not 'maybe'"}},
		{"sched-batch bad", global("  tune.sched-batch yes #ERR"), []string{"'tune.sched-batch' expects on or off"}},
		{"busy-polling argument", global("  busy-polling on #ERR"), []string{"'busy-polling' takes no argument, or 'adaptive [TIME]' (fjord), not 'on'"}},
		{"busy-polling window too long", global("  busy-polling adaptive 1s #ERR"), []string{"the window must be above 0 and at most 10ms"}},
		{"busy-polling window zero", global("  busy-polling adaptive 0 #ERR"), []string{"the window must be above 0"}},
		{"busy-polling window bad", global("  busy-polling adaptive 5x #ERR"), []string{"'busy-polling adaptive': invalid time value '5x'"}},
		{"sched-batch bare", global("  tune.sched-batch #ERR"), []string{"'tune.sched-batch' expects on or off"}},
		{"sockmap bad", global("  tune.sockmap yes #ERR"), []string{"'tune.sockmap' expects off, auto or on, not 'yes'"}},
		{"sockmap bare", global("  tune.sockmap #ERR"), []string{"'tune.sockmap' expects off, auto or on"}},
		{"sockmap two words", global("  tune.sockmap on off #ERR"), []string{"'tune.sockmap' expects off, auto or on"}},
		{"hard-stop-after missing", global("  hard-stop-after #ERR"), []string{"'hard-stop-after' expects one time value"}},
		{"stats alone", global("  stats #ERR"), []string{"'stats' expects 'socket', 'timeout' or 'maxconn'"}},
		{"stats socket no path", global("  stats socket #ERR"), []string{"'stats socket' expects a path"}},
		{"stats socket on every address", global("  stats socket ipv4@*:9999 #ERR"), []string{"'stats socket ipv4@*:9999'", "only on a loopback address", "no authentication"}},
		{"stats socket on a port alone", global("  stats socket :9999 #ERR"), []string{"only on a loopback address"}},
		{"stats socket on a public address", global("  stats socket 192.0.2.1:9999 #ERR"), []string{"only on a loopback address"}},
		{"stats socket on a port range", global("  stats socket 127.0.0.1:9998-9999 #ERR"), []string{"expects one address and one port"}},
		{"stats socket on two addresses", global("  stats socket 127.0.0.1:9998,127.0.0.1:9999 #ERR"), []string{"expects one address and one port"}},
		{"stats socket without port", global("  stats socket ipv4@127.0.0.1 #ERR"), []string{"missing port"}},
		{"stats socket abstract", global("  stats socket abns@fjord #ERR"), []string{"unsupported address prefix 'abns@'"}},
		{"stats socket udp", global("  stats socket udp@127.0.0.1:9999 #ERR"), []string{"unsupported address prefix 'udp@'"}},
		{"stats socket empty unix@", global("  stats socket unix@ #ERR"), []string{"expects a path after unix@"}},
		{"stats socket fd@ without number", global("  stats socket fd@${cli} #ERR"), []string{"'stats socket fd@${cli}'", "is not a descriptor number"}},
		{"stats socket sockpair@", global("  stats socket sockpair@3 #ERR"), []string{"sockpair@ addresses are not supported"}},
		{"stats socket fd@ standard input", global("  stats socket fd@0 #ERR"), []string{"'stats socket fd@0'", "descriptor 0 is standard input"}},
		{"stats socket fd@ with mode", global("  stats socket fd@3 mode 600 #ERR"), []string{"'stats socket fd@3': 'mode'", "has none"}},
		{"stats socket TCP with mode", global("  stats socket 127.0.0.1:9999 mode 600 #ERR"), []string{"'stats socket 127.0.0.1:9999': 'mode'"}},
		{"stats socket fd@ twice", global("  stats socket fd@3", "  stats socket fd@3 #ERR"), []string{"stats socket: fd@3 is already used at " + at(2).String()}},
		{"stats socket and bind on one fd@", lines("global", "  stats socket fd@3", "frontend fe", "  bind fd@3 #ERR", "  default_backend be", "backend be"), []string{"frontend 'fe': fd@3 is already used at " + at(2).String(), "one bind or one stats socket"}},
		{"stats socket bad mode", global("  stats socket /s mode 999 #ERR"), []string{"invalid mode '999'"}},
		{"stats socket bad level", global("  stats socket /s level root #ERR"), []string{"level must be user, operator or admin, not 'root'"}},
		{"stats socket bad option", global("  stats socket /s expose-fd listeners #ERR"), []string{"unknown option 'expose-fd'"}},
		{"stats socket option without value", global("  stats socket /s mode #ERR"), []string{"option 'mode' expects a value"}},
		{"stats timeout bad", global("  stats timeout 1x #ERR"), []string{"stats timeout", "unexpected character 'x'"}},
		{"stats maxconn zero", global("  stats maxconn 0 #ERR"), []string{"stats maxconn"}},
		{"stats enable in global", global("  stats enable #ERR"), []string{"unknown 'stats enable' in 'global' section"}},
		{"log-anonymize bad mask", global("  log-anonymize ipv4-mask 33 #ERR"), []string{"ipv4-mask 33 out of range (0-32)"}},
		{"log-anonymize bad option", global("  log-anonymize keep 1 #ERR"), []string{"unknown option 'keep'"}},
		{"log-anonymize missing value", global("  log-anonymize ipv6-mask #ERR"), []string{"'ipv6-mask' expects a prefix length"}},
		{"log-anonymize short rotation", global("  log-anonymize hash 30s #ERR"), []string{"shorter than a minute"}},
		{"log-anonymize bad rotation", global("  log-anonymize hash 1y #ERR"), []string{"unexpected character 'y'"}},
		{"log-retention zero", global("  log-retention 0 #ERR"), []string{"log-retention (days) 0 out of range"}},
		{"log global in global", global("  log global #ERR"), []string{"'log global' is only meaningful in a proxy section"}},
		{"log without target", global("  log #ERR"), []string{"'log' expects a target"}},
		{"log without facility", global("  log 127.0.0.1 #ERR"), []string{"expects a syslog facility"}},
		{"log bad facility", global("  log 127.0.0.1 local8 #ERR"), []string{"unknown log facility 'local8'"}},
		{"log bad level", global("  log 127.0.0.1 local0 loud #ERR"), []string{"unknown log level 'loud'"}},
		{"log bad minimum level", global("  log 127.0.0.1 local0 info quiet #ERR"), []string{"unknown log minimum level 'quiet'"}},
		{"log inverted levels", global("  log 127.0.0.1 local0 err info #ERR"), []string{"less severe than the maximum level"}},
		{"log extra argument", global("  log 127.0.0.1 local0 info err x #ERR"), []string{"unexpected argument 'x'"}},
		{"log bad format", global("  log stdout format xml local0 #ERR"), []string{"unknown log format 'xml'"}},
		{"log bad len", global("  log stdout len 10 local0 #ERR"), []string{"log line length 10 out of range"}},
		{"log sample size", global("  log stdout sample 1:x local0 #ERR"), []string{"'log ... sample 1:x': wrong sample size 'x'"}},
		{"log sample no size", global("  log stdout sample 1 local0 #ERR"), []string{"missing sample size"}},
		{"log sample small", global("  log stdout sample 1,4:3 local0 #ERR"), []string{"sample size 3 should be greater or equal to 4"}},
		{"log sample overlap", global("  log stdout sample 1-3,2:3 local0 #ERR"), []string{"ranges are overlapping"}},
		{"log sample range", global("  log stdout sample 0:3 local0 #ERR"), []string{"wrong sample range '0'"}},
		{"log sample empty range", global("  log stdout sample 2-2:3 local0 #ERR"), []string{"wrong sample range '2-2'"}},
		{"log sample missing", global("  log stdout sample #ERR"), []string{"'log ... sample' expects RANGES:SIZE"}},
		{"log empty unix path", global("  log unix@ local0 #ERR"), []string{"missing path"}},

		// proxy sections
		{"section without name", lines("backend #ERR") + okTail, []string{"'backend' needs a name"}},
		{"section with an address", lines("listen l 127.0.0.1:80 #ERR", "  bind 127.0.0.1:8000"), []string{"'listen l': unexpected argument '127.0.0.1:80'", "'bind' lines"}},
		{"section bad name", lines("backend b/e #ERR") + okTail, []string{"invalid character '/' in backend name 'b/e'"}},
		{"defaults two names", lines("defaults a b #ERR") + okTail, []string{"'defaults a': unexpected argument 'b'", "expected 'from DEFAULTS'"}},
		{"maxconn bad", httpFE("  maxconn -5 #ERR"), []string{"maxconn -5 out of range"}},
		{"retries bad", tcpBE("  retries many #ERR"), []string{"invalid retries 'many'"}},
		{"retries too many", tcpBE("  retries 101 #ERR"), []string{"retries 101 out of range (0-100)"}},
		{"default_backend two names", httpFE("  default_backend a b #ERR"), []string{"'default_backend' expects a backend name"}},
		{"use_backend without name", httpFE("  use_backend #ERR"), []string{"'use_backend' expects a backend name"}},
		{"timeout unknown", httpFE("  timeout forever 1s #ERR"), []string{"unknown timeout 'forever'"}},
		{"timeout missing value", httpFE("  timeout client #ERR"), []string{"'timeout client' expects one time value"}},
		{"timeout alone", httpFE("  timeout #ERR"), []string{"'timeout' expects a name"}},
		{"log-format-json argument", httpFE("  log-format-json yes #ERR"), []string{"takes no argument"}},
		{"too many global logs", global("  log 127.0.0.1 local0", "  log 127.0.0.1 local1", "  log 127.0.0.1 local2 #ERR"), []string{"too many 'log' lines in the global section"}},
		{"too many logs with log global", lines("global", "  log 127.0.0.1 local0", "  log 127.0.0.1 local1", "listen l #ERR", "  bind 127.0.0.1:8000", "  log global", "  log 10.0.0.1 local5"),
			[]string{"listen 'l' has 3 log targets with 'log global'"}},
		{"too many logs", httpFE("  log global", "  log 127.0.0.1 local0", "  log 127.0.0.1 local1 #ERR"), []string{"too many 'log' lines in frontend 'fe'"}},

		// bind
		{"bind unknown option", httpFE("  bind *:81 transparent #ERR"), []string{"unknown bind option 'transparent'"}},
		{"bind crt without ssl", httpFE("  bind *:443 crt /x.pem #ERR"), []string{"bind option 'crt' configures TLS, but the line has no 'ssl'"}},
		{"bind backlog missing", httpFE("  bind *:81 backlog #ERR"), []string{"'backlog' expects a value"}},
		{"bind backlog zero", httpFE("  bind *:81 backlog 0 #ERR"), []string{"backlog 0 out of range"}},

		// server
		{"server alone", tcpBE("  server s1 #ERR"), []string{"'server' expects a name and an address"}},
		{"server bad name", tcpBE("  server s/1 10.0.0.1 #ERR"), []string{"invalid character '/' in server name"}},
		{"server unknown option", tcpBE("  server s1 10.0.0.1:80 fast #ERR"), []string{"server 's1'", "unknown option 'fast'"}},
		{"server cookie", tcpBE("  server s1 10.0.0.1:80 cookie s1 #ERR"), []string{"option 'cookie' is not supported"}},
		{"server inter missing", tcpBE("  server s1 10.0.0.1:80 check inter #ERR"), []string{"option 'inter' expects a value"}},
		{"server inter zero", tcpBE("  server s1 10.0.0.1:80 inter 0 #ERR"), []string{"'inter' must be greater than zero"}},
		{"server rise zero", tcpBE("  server s1 10.0.0.1:80 rise 0 #ERR"), []string{"rise 0 out of range"}},
		{"server fall word", tcpBE("  server s1 10.0.0.1:80 fall x #ERR"), []string{"invalid fall 'x'"}},
		{"server weight 257", tcpBE("  server s1 10.0.0.1:80 weight 257 #ERR"), []string{"weight 257 out of range (0-256)"}},
		{"server maxconn negative", tcpBE("  server s1 10.0.0.1:80 maxconn -1 #ERR"), []string{"maxconn -1 out of range"}},
		{"server error-limit zero", tcpBE("  server s1 10.0.0.1:80 error-limit 0 #ERR"), []string{"error-limit 0 out of range"}},
		{"server observe bad", tcpBE("  server s1 10.0.0.1:80 observe layer3 #ERR"), []string{"'observe' expects none, layer4 or layer7, not 'layer3'"}},
		{"server on-error bad", tcpBE("  server s1 10.0.0.1:80 on-error ignore #ERR"), []string{"'on-error' expects fail-check, fastinter, sudden-death or mark-down, not 'ignore'"}},
		{"default-server bad option", tcpBE("  default-server inter 0 #ERR"), []string{"default-server", "'inter' must be greater than zero"}},

		// options
		{"option alone", httpFE("  option #ERR"), []string{"'option' expects an option name"}},
		{"option unknown", httpFE("  option fastpath #ERR"), []string{"unknown option 'fastpath'"}},
		{"option unsupported", httpFE("  option abortonclose #ERR"), []string{"'option abortonclose' is not supported"}},
		{"option flag with argument", httpFE("  option dontlognull yes #ERR"), []string{"'option dontlognull' takes no argument (found 'yes')"}},
		{"option httplog clf x", httpFE("  option httplog clf x #ERR"), []string{"'option httplog' takes no argument but 'clf' (found 'x')"}},
		{"option httplog x", httpFE("  option httplog x #ERR"), []string{"'option httplog' takes no argument but 'clf' (found 'x')"}},
		{"no option with argument", httpFE("  no option forwardfor except 1.2.3.4 #ERR"), []string{"'no option forwardfor' takes no argument"}},
		{"no alone", httpFE("  no #ERR"), []string{"'no' expects 'option NAME' or 'log'"}},
		{"no unknown option", httpFE("  no option fastpath #ERR"), []string{"unknown option 'fastpath'"}},
		{"forwardfor bad except", httpFE("  option forwardfor except 10.0.0.0/99 #ERR"), []string{"'option forwardfor except'", "invalid network"}},
		{"forwardfor bad header", httpFE("  option forwardfor header X:Y #ERR"), []string{"invalid header name 'X:Y'"}},
		{"forwardfor missing value", httpFE("  option forwardfor header #ERR"), []string{"'option forwardfor header' expects a value"}},
		{"forwardfor unknown argument", httpFE("  option forwardfor always #ERR"), []string{"unknown argument 'always'"}},
		{"forwardfor bad IPv6 except", httpFE("  option forwardfor except 2001:db8::/129 #ERR"), []string{"'option forwardfor except'", "invalid network '2001:db8::/129'"}},
		{"originalto bad except", httpFE("  option originalto except 10.0.0.300 #ERR"), []string{"'option originalto except'", "invalid address '10.0.0.300'"}},
		{"originalto missing except", httpFE("  option originalto except #ERR"), []string{"'option originalto except' expects a value"}},
		{"originalto bad header", httpFE("  option originalto header X(Y) #ERR"), []string{"'option originalto header': invalid header name 'X(Y)'"}},
		{"originalto if-none", httpFE("  option originalto if-none #ERR"), []string{"'option originalto': unknown argument 'if-none' (supported: except NETWORK, header NAME)"}},
		{"no originalto with argument", httpFE("  no option originalto header X #ERR"), []string{"'no option originalto' takes no argument"}},
		{"restrict header names without mode", httpFE("  option http-restrict-req-hdr-names #ERR"), []string{"expects 'preserve', 'delete' or 'reject'"}},
		{"restrict header names bad mode", httpFE("  option http-restrict-req-hdr-names drop #ERR"), []string{"invalid parameter 'drop' (expects 'preserve', 'delete' or 'reject')"}},
		{"restrict header names two modes", httpFE("  option http-restrict-req-hdr-names delete reject #ERR"), []string{"expects 'preserve', 'delete' or 'reject'"}},
		{"httpchk too many arguments", tcpBE("  option httpchk GET / HTTP/1.1 extra #ERR"), []string{"'option httpchk' expects at most METHOD URI VERSION"}},
		{"httpchk bad URI", tcpBE("  option httpchk GET health #ERR"), []string{"URI 'health' must start with '/'"}},
		{"httpchk bad method", tcpBE("  option httpchk G(T / #ERR"), []string{"invalid method 'G(T'"}},
		{"httpchk URI with space", tcpBE(`  option httpchk GET "/a b" #ERR`), []string{"must not contain spaces"}},
		{"http-check without expect", tcpBE("  http-check send meth GET #ERR"), []string{"'http-check' supports only 'expect' (found 'send')"}},
		{"http-check expect alone", tcpBE("  http-check expect #ERR"), []string{"'http-check expect' expects [!] status|rstatus|string|rstring PATTERN"}},
		{"http-check expect unknown kind", tcpBE("  http-check expect body OK #ERR"), []string{"unknown match 'body'"}},
		{"http-check expect bad status", tcpBE("  http-check expect status 2xx #ERR"), []string{"invalid status code '2xx'"}},
		{"http-check expect status out of range", tcpBE("  http-check expect status 600 #ERR"), []string{"status code 600 out of range"}},
		{"http-check expect bad range", tcpBE("  http-check expect status 200-99 #ERR"), []string{"status code 99 out of range"}},
		{"http-check expect bad rstatus", tcpBE("  http-check expect rstatus ^(2 #ERR"), []string{"'http-check expect rstatus': invalid regular expression '^(2'"}},
		{"http-check expect bad rstring", tcpBE("  http-check expect ! rstring a** #ERR"), []string{"invalid regular expression 'a**'"}},

		// stats
		{"stats alone in proxy", httpFE("  stats #ERR"), []string{"'stats' expects a sub-keyword"}},
		{"stats uri relative", httpFE("  stats uri stats #ERR"), []string{"the URI must start with '/'"}},
		{"stats auth without colon", httpFE("  stats auth admin #ERR"), []string{"'stats auth' expects USER:PASSWORD, found 'admin'"}},
		{"stats auth empty user", httpFE("  stats auth :pw #ERR"), []string{"expects USER:PASSWORD"}},
		{"stats realm with quote", httpFE(`  stats realm 'a"b' #ERR`), []string{"must not contain quotes"}},
		{"stats admin without condition", httpFE("  stats admin #ERR"), []string{"'stats admin' expects 'if COND'"}},
		{"stats socket in proxy", httpFE("  stats socket /s #ERR"), []string{"'stats socket' is only allowed in the 'global' section"}},
		{"stats unsupported", httpFE("  stats show-legends #ERR"), []string{"'stats show-legends' is not supported"}},
		{"stats unknown", httpFE("  stats graph #ERR"), []string{"unknown 'stats graph'"}},
		{"stats prometheus-uri relative", httpFE("  stats prometheus-uri metrics #ERR"), []string{"the URI must start with '/'"}},
		{"stats enable argument", httpFE("  stats enable now #ERR"), []string{"'stats enable' takes no argument"}},

		// lexical errors are reported and the line skipped
		{"unmatched quote", httpFE(`  stats uri "/x #ERR`), []string{"unmatched quote"}},
	})
}

func TestErrorsDoNotStopParsing(t *testing.T) {
	// One mistake per line, each reported; the valid lines around them
	// still take effect.
	text := lines(
		"global",
		"  maxconn x #ERR",
		"  nbthread 2",
		"frontend fe",
		"  bind *:0 #ERR",
		"  bind 127.0.0.1:8000",
		"  timeout client 5q #ERR",
		"  timeout client 5s",
		"  use_backend nope #ERR",
		"  default_backend be",
		"backend be",
		"  server s1 10.0.0.1:99999 #ERR",
		"  server s2 10.0.0.2:80",
		"  bogus #ERR",
	)
	checkErrors(t, NoResolver, errCase{name: "several", text: text})
	cfg, _ := parse(t, text)
	fe := proxy(t, cfg, "frontend", "fe")
	if cfg.Global.NbThread != 2 || len(fe.Binds) != 1 || fe.Timeouts.Client != 5e9 || len(cfg.Backend("be").Servers) != 1 {
		t.Errorf("valid lines were lost: global %+v, frontend %+v", cfg.Global, fe)
	}
}

func TestMissingFile(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "does-not-exist.cfg")
	_, err := Load([]string{missing}, Options{Resolver: NoResolver})
	var list ErrorList
	if !errors.As(err, &list) {
		t.Fatalf("Load(missing) = %v, want an ErrorList", err)
	}
	if len(list) != 1 {
		t.Fatalf("got %d errors, want 1:\n%v", len(list), list)
	}
	e := list[0]
	if e.Pos != (Pos{File: missing}) || !strings.Contains(e.Msg, "cannot read configuration file") || !strings.Contains(e.Msg, "no such file or directory") {
		t.Errorf("error = %+v", e)
	}
	if want := "parsing [" + missing + "] : "; !strings.HasPrefix(e.Error(), want) {
		t.Errorf("Error() = %q, want the file named as %q", e.Error(), want)
	}

	// A missing file among valid ones is reported in order, alone.
	good := filepath.Join(dir, "good.cfg")
	if err := os.WriteFile(good, []byte(okTail), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = Load([]string{good, missing}, Options{Resolver: NoResolver})
	if !errors.As(err, &list) || len(list) != 1 || list[0].Pos.File != missing {
		t.Errorf("Load(good, missing) = %v", err)
	}

	// An unreadable path (a directory holding no *.cfg) is not silently valid.
	empty := filepath.Join(dir, "empty")
	if err := os.Mkdir(empty, 0o755); err != nil {
		t.Fatal(err)
	}
	_, err = Load([]string{empty}, Options{Resolver: NoResolver})
	if !errors.As(err, &list) || len(list) != 1 || list[0].Pos.File != empty {
		t.Errorf("Load(empty dir) = %v, want one error naming %s", err, empty)
	}
}
