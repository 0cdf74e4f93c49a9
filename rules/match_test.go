package rules

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"github.com/fjordlb/fjord/config"
	"github.com/fjordlb/fjord/engine/h1"
)

// parseConds parses a mode http frontend whose use_backend lines are the
// given condition texts ("if ...", "unless ...") after the acl lines, and
// returns the conditions in order.
func parseConds(t testing.TB, acls []string, conds ...string) []*config.Condition {
	t.Helper()
	var sb strings.Builder
	sb.WriteString("defaults\n  mode http\n  timeout connect 1s\n  timeout client 1s\n  timeout server 1s\n")
	sb.WriteString("frontend fe\n  bind 127.0.0.1:8080\n")
	for _, a := range acls {
		fmt.Fprintf(&sb, "  acl %s\n", a)
	}
	for _, c := range conds {
		fmt.Fprintf(&sb, "  use_backend be %s\n", c)
	}
	sb.WriteString("  default_backend be\nbackend be\n  server s1 127.0.0.1:8081\n")
	cfg, err := config.Parse("match.cfg", []byte(sb.String()), config.Options{Resolver: config.NoResolver})
	if err != nil {
		t.Fatalf("config: %v\n%s", err, sb.String())
	}
	fe := cfg.Frontends()[0]
	if len(fe.UseBackends) != len(conds) {
		t.Fatalf("%d use_backend rules, want %d", len(fe.UseBackends), len(conds))
	}
	out := make([]*config.Condition, len(conds))
	for i, ub := range fe.UseBackends {
		out[i] = ub.Cond
	}
	return out
}

// parseCond parses one condition.
func parseCond(t testing.TB, acls []string, cond string) *config.Condition {
	t.Helper()
	return parseConds(t, acls, cond)[0]
}

// mustRequest parses a request head; the head is kept alive by the Request.
func mustRequest(t testing.TB, head string) *h1.Request {
	t.Helper()
	req := new(h1.Request)
	if _, err := h1.ParseRequest([]byte(head), req); err != nil {
		t.Fatalf("request %q: %v", head, err)
	}
	return req
}

func getHead(path string, headers ...string) string {
	return "GET " + path + " HTTP/1.1\r\n" + strings.Join(headers, "") + "\r\n"
}

var (
	v4Client     = netip.MustParseAddr("127.0.0.1")
	otherV4      = netip.MustParseAddr("192.0.2.7")
	v6Client     = netip.MustParseAddr("2001:db8::5")
	mappedClient = netip.MustParseAddr("::ffff:10.1.2.3")
)

type matchCase struct {
	name string
	acls []string
	cond string
	head string
	src  netip.Addr // zero: 127.0.0.1
	want bool
}

func runMatchCases(t *testing.T, cases []matchCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := parseCond(t, tc.acls, tc.cond)
			src := tc.src
			if !src.IsValid() {
				src = v4Client
			}
			var req *h1.Request
			if tc.head != "" {
				req = mustRequest(t, tc.head)
			}
			if got := evalCond(c, src, req); got != tc.want {
				t.Fatalf("%s over %q from %v: got %v, want %v", tc.cond, tc.head, src, got, tc.want)
			}
		})
	}
}

func TestMatchPath(t *testing.T) {
	h := func(p string) string { return getHead(p, "Host: x\r\n") }
	runMatchCases(t, []matchCase{
		{"path exact", nil, "if { path /a/b }", h("/a/b"), netip.Addr{}, true},
		{"path exact ignores query", nil, "if { path /a/b }", h("/a/b?x=1"), netip.Addr{}, true},
		{"path exact longer", nil, "if { path /a/b }", h("/a/bc"), netip.Addr{}, false},
		{"path exact case", nil, "if { path /A/b }", h("/a/b"), netip.Addr{}, false},
		{"path exact -i", nil, "if { path -i /A/B }", h("/a/b"), netip.Addr{}, true},
		{"path absolute-form", nil, "if { path /p }", getHead("http://example.com/p?q", "Host: example.com\r\n"), netip.Addr{}, true},

		{"path_beg prefix", nil, "if { path_beg /images }", h("/images/logo.png"), netip.Addr{}, true},
		{"path_beg prefix without slash", nil, "if { path_beg /images }", h("/imagesX"), netip.Addr{}, true},
		{"path_beg equal", nil, "if { path_beg /images }", h("/images"), netip.Addr{}, true},
		{"path_beg shorter path", nil, "if { path_beg /images }", h("/ima"), netip.Addr{}, false},
		{"path_beg not at start", nil, "if { path_beg /images }", h("/a/images"), netip.Addr{}, false},
		{"path_beg any value", nil, "if { path_beg /images /stylesheets /javascripts }", h("/javascripts/a.js"), netip.Addr{}, true},
		{"path_beg case", nil, "if { path_beg /Images }", h("/images/a"), netip.Addr{}, false},
		{"path_beg -i", nil, "if { path_beg -i /Images }", h("/IMAGES/a"), netip.Addr{}, true},
		{"path_beg query not path", nil, "if { path_beg /a?x }", h("/a?x=1"), netip.Addr{}, false},

		{"path_end", nil, "if { path_end .css .js }", h("/s/a.css"), netip.Addr{}, true},
		{"path_end query stripped", nil, "if { path_end .css }", h("/s/a.css?v=3"), netip.Addr{}, true},
		{"path_end no", nil, "if { path_end .css }", h("/s/a.css/x"), netip.Addr{}, false},
		{"path_end -i", nil, "if { path_end -i .CSS }", h("/s/a.css"), netip.Addr{}, true},
		{"path_end longer than path", nil, "if { path_end /very/long/suffix }", h("/x"), netip.Addr{}, false},

		{"path_sub", nil, "if { path_sub admin }", h("/a/xadminx/b"), netip.Addr{}, true},
		{"path_sub no", nil, "if { path_sub admin }", h("/a/admi/n"), netip.Addr{}, false},
		{"path_sub -i", nil, "if { path_sub -i ADMIN }", h("/a/Admin"), netip.Addr{}, true},
		{"path_sub case", nil, "if { path_sub ADMIN }", h("/a/admin"), netip.Addr{}, false},

		// path_dir: the value must be a run of whole '/'-delimited
		// components of the path.
		{"path_dir exact", nil, "if { path_dir /images }", h("/images"), netip.Addr{}, true},
		{"path_dir below", nil, "if { path_dir /images }", h("/images/x"), netip.Addr{}, true},
		{"path_dir inside", nil, "if { path_dir /images }", h("/a/images/b"), netip.Addr{}, true},
		{"path_dir last component", nil, "if { path_dir /images }", h("/a/images"), netip.Addr{}, true},
		{"path_dir trailing slash", nil, "if { path_dir /images }", h("/images/"), netip.Addr{}, true},
		{"path_dir not a prefix match", nil, "if { path_dir /images }", h("/imagesX"), netip.Addr{}, false},
		{"path_dir not a suffix match", nil, "if { path_dir /images }", h("/Ximages/a"), netip.Addr{}, false},
		{"path_dir later occurrence", nil, "if { path_dir /images }", h("/imagesX/images/a"), netip.Addr{}, true},
		{"path_dir pattern slashes ignored", nil, "if { path_dir images/ }", h("/a/images/b"), netip.Addr{}, true},
		{"path_dir two components", nil, "if { path_dir /a/b }", h("/x/a/b/c"), netip.Addr{}, true},
		{"path_dir two components split", nil, "if { path_dir /a/b }", h("/x/a/bc"), netip.Addr{}, false},
		{"path_dir query stripped", nil, "if { path_dir /images }", h("/images?x"), netip.Addr{}, true},
		{"path_dir case", nil, "if { path_dir /Images }", h("/images/a"), netip.Addr{}, false},
		{"path_dir -i", nil, "if { path_dir -i /Images }", h("/x/IMAGES/a"), netip.Addr{}, true},

		{"path_reg", nil, `if { path_reg ^/api/v[0-9]+/ }`, h("/api/v12/users"), netip.Addr{}, true},
		{"path_reg no", nil, `if { path_reg ^/api/v[0-9]+/ }`, h("/api/vX/users"), netip.Addr{}, false},
		{"path_reg unanchored", nil, `if { path_reg \.php$ }`, h("/a/index.php"), netip.Addr{}, true},
		{"path_reg sees no query", nil, `if { path_reg \.php$ }`, h("/a/index.php?x=1"), netip.Addr{}, true},
		{"path_reg case", nil, `if { path_reg \.PHP$ }`, h("/a/index.php"), netip.Addr{}, false},
		{"path_reg -i", nil, `if { path_reg -i \.PHP$ }`, h("/a/index.php"), netip.Addr{}, true},
	})
}

func TestMatchHeaders(t *testing.T) {
	host := func(v string) string { return getHead("/", "Host: "+v+"\r\n") }
	runMatchCases(t, []matchCase{
		{"hdr(host) exact", nil, "if { hdr(host) example.com }", host("example.com"), netip.Addr{}, true},
		{"hdr(host) name case-insensitive", nil, "if { hdr(Host) example.com }", getHead("/", "HOST: example.com\r\n"), netip.Addr{}, true},
		{"hdr(host) value case", nil, "if { hdr(host) example.com }", host("Example.COM"), netip.Addr{}, false},
		{"hdr(host) -i", nil, "if { hdr(host) -i example.com }", host("Example.COM"), netip.Addr{}, true},
		{"hdr(host) subdomain is not equal", nil, "if { hdr(host) -i example.com }", host("www.example.com"), netip.Addr{}, false},
		{"hdr(host) with port is not equal", nil, "if { hdr(host) -i example.com }", host("example.com:8080"), netip.Addr{}, false},
		{"hdr(host) OWS trimmed", nil, "if { hdr(host) example.com }", getHead("/", "Host: \t example.com \t\r\n"), netip.Addr{}, true},
		{"hdr(host) absent", nil, "if { hdr(host) example.com }", getHead("/"), netip.Addr{}, false},
		{"hdr(host) absent negated", nil, "if !{ hdr(host) example.com }", getHead("/"), netip.Addr{}, true},
		{"hdr of another header", nil, "if { hdr(x-env) prod }", getHead("/", "Host: prod\r\nX-Env: prod\r\n"), netip.Addr{}, true},
		{"hdr name must match whole", nil, "if { hdr(x-env) prod }", getHead("/", "X-Env2: prod\r\n"), netip.Addr{}, false},

		{"hdr_beg", nil, "if { hdr_beg(host) www. }", host("www.example.com"), netip.Addr{}, true},
		{"hdr_beg no", nil, "if { hdr_beg(host) www. }", host("api.www.example.com"), netip.Addr{}, false},
		{"hdr_beg -i", nil, "if { hdr_beg(host) -i WWW. }", host("www.example.com"), netip.Addr{}, true},

		{"hdr_end", nil, "if { hdr_end(host) .example.com }", host("www.example.com"), netip.Addr{}, true},
		{"hdr_end no", nil, "if { hdr_end(host) .example.com }", host("example.com"), netip.Addr{}, false},
		{"hdr_end -i", nil, "if { hdr_end(host) -i .EXAMPLE.com }", host("www.example.com"), netip.Addr{}, true},

		{"hdr_sub", nil, "if { hdr_sub(user-agent) curl }", getHead("/", "User-Agent: x curl/8.0\r\n"), netip.Addr{}, true},
		{"hdr_sub no", nil, "if { hdr_sub(user-agent) curl }", getHead("/", "User-Agent: wget\r\n"), netip.Addr{}, false},
		{"hdr_sub -i", nil, "if { hdr_sub(user-agent) -i CURL }", getHead("/", "User-Agent: x curl/8.0\r\n"), netip.Addr{}, true},

		// hdr_dom: the value is a run of whole dot-delimited labels.
		{"hdr_dom subdomain", nil, "if { hdr_dom(host) example.com }", host("www.example.com"), netip.Addr{}, true},
		{"hdr_dom equal", nil, "if { hdr_dom(host) example.com }", host("example.com"), netip.Addr{}, true},
		{"hdr_dom label prefix", nil, "if { hdr_dom(host) example.com }", host("badexample.com"), netip.Addr{}, false},
		{"hdr_dom label suffix", nil, "if { hdr_dom(host) example.com }", host("example.community"), netip.Addr{}, false},
		{"hdr_dom inside", nil, "if { hdr_dom(host) example }", host("www.example.com"), netip.Addr{}, true},
		{"hdr_dom later occurrence", nil, "if { hdr_dom(host) example.com }", host("badexample.com.example.com"), netip.Addr{}, true},
		{"hdr_dom pattern dots ignored", nil, "if { hdr_dom(host) .example.com. }", host("www.example.com"), netip.Addr{}, true},
		{"hdr_dom case", nil, "if { hdr_dom(host) Example.com }", host("www.example.com"), netip.Addr{}, false},
		{"hdr_dom -i", nil, "if { hdr_dom(host) -i Example.COM }", host("WWW.example.com"), netip.Addr{}, true},
		{"hdr_dom spec example", nil, "if { hdr_dom(host) -i old.example.com }", host("www.old.example.com"), netip.Addr{}, true},

		// A header present twice: every occurrence is a sample.
		{"twice, first matches", nil, "if { hdr(x-tag) a }", getHead("/", "X-Tag: a\r\nX-Tag: b\r\n"), netip.Addr{}, true},
		{"twice, second matches", nil, "if { hdr(x-tag) b }", getHead("/", "X-Tag: a\r\nX-Tag: b\r\n"), netip.Addr{}, true},
		{"twice, none matches", nil, "if { hdr(x-tag) c }", getHead("/", "X-Tag: a\r\nX-Tag: b\r\n"), netip.Addr{}, false},
		{"twice, beg on second", nil, "if { hdr_beg(x-tag) be }", getHead("/", "X-Tag: alpha\r\nX-Tag: beta\r\n"), netip.Addr{}, true},
		{"twice, dom on second", nil, "if { hdr_dom(x-origin) example.com }", getHead("/", "X-Origin: a.b\r\nX-Origin: www.example.com\r\n"), netip.Addr{}, true},
		{"twice, negated: any match makes the ACL true", nil, "if !{ hdr(x-tag) b }", getHead("/", "X-Tag: a\r\nX-Tag: b\r\n"), netip.Addr{}, false},
	})
}

// HAProxy's "dom" matching treats '/', '?', '.' and ':' as delimiters
// (src/pattern.c, pat_match_dom), so a Host header with a port still
// matches its domain: "hdr_dom(host) -i example.com" routes
// "www.example.com:8080". fjord's matchDelimited only knows '.'.
func TestMatchHdrDomHostWithPort(t *testing.T) {
	host := func(v string) string { return getHead("/", "Host: "+v+"\r\n") }
	runMatchCases(t, []matchCase{
		{"hdr_dom host with port", nil, "if { hdr_dom(host) -i example.com }", host("www.example.com:8080"), netip.Addr{}, true},
		{"hdr_dom bare host with port", nil, "if { hdr_dom(host) -i example.com }", host("example.com:443"), netip.Addr{}, true},
		{"hdr_dom port does not glue labels", nil, "if { hdr_dom(host) -i example.com }", host("badexample.com:443"), netip.Addr{}, false},
	})
}

// HAProxy's hdr() takes every comma-separated value of a header as a
// sample of its own (unlike fhdr()), so "hdr(x-tag) b" matches
// "X-Tag: a, b".
func TestMatchHdrCommaSeparatedValues(t *testing.T) {
	runMatchCases(t, []matchCase{
		{"hdr list second value", nil, "if { hdr(x-tag) b }", getHead("/", "X-Tag: a, b\r\n"), netip.Addr{}, true},
		{"hdr list first value", nil, "if { hdr(x-tag) a }", getHead("/", "X-Tag: a, b\r\n"), netip.Addr{}, true},
		{"hdr_beg list second value", nil, "if { hdr_beg(x-tag) be }", getHead("/", "X-Tag: alpha,beta\r\n"), netip.Addr{}, true},
		// A comma in a quoted string does not split (http_find_hdr_value_end).
		{"hdr quoted comma kept", nil, `if { hdr(if-match) 'W/"a,b"' }`, getHead("/", "If-Match: W/\"a,b\", \"c\"\r\n"), netip.Addr{}, true},
		{"hdr quoted comma is no split", nil, `if { hdr(if-match) 'b"' }`, getHead("/", "If-Match: W/\"a,b\", \"c\"\r\n"), netip.Addr{}, false},
		{"hdr escaped quote stays quoted", nil, `if { hdr(x-q) '"a\",b"' }`, getHead("/", "X-Q: \"a\\\",b\", c\r\n"), netip.Addr{}, true},
		// hdr_val reads leading digits as HAProxy's strl2ic: text is 0.
		{"hdr_val text is 0", nil, "if { hdr_val(x-n) 0 }", getHead("/", "X-N: abc\r\n"), netip.Addr{}, true},
		{"hdr_val leading digits", nil, "if { hdr_val(x-n) 12 }", getHead("/", "X-N: 12abc\r\n"), netip.Addr{}, true},
		{"hdr_val negative", nil, "if { hdr_val(x-n) lt 0 }", getHead("/", "X-N: -3\r\n"), netip.Addr{}, true},
		{"hdr_val absent header", nil, "if { hdr_val(x-n) 0 }", getHead("/"), netip.Addr{}, false},
		{"hdr_cnt counts quoted elements", nil, "if { hdr_cnt(if-match) 2 }", getHead("/", "If-Match: W/\"a,b\", \"c\"\r\n"), netip.Addr{}, true},
	})
}

func TestMatchSrcMethodAndLogic(t *testing.T) {
	g := getHead("/", "Host: x\r\n")
	post := "POST /form HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"
	head := "HEAD / HTTP/1.1\r\nHost: x\r\n\r\n"
	runMatchCases(t, []matchCase{
		{"src v4 network", nil, "if { src 127.0.0.0/8 }", g, v4Client, true},
		{"src v4 other", nil, "if { src 127.0.0.0/8 }", g, otherV4, false},
		{"src v4 address", nil, "if { src 192.0.2.7 }", g, otherV4, true},
		{"src dotted mask", nil, "if { src 192.0.2.0/255.255.255.0 }", g, otherV4, true},
		{"src v6 network", nil, "if { src 2001:db8::/32 }", g, v6Client, true},
		{"src v6 other", nil, "if { src 2001:db9::/32 }", g, v6Client, false},
		{"src v6 client, v4 pattern", nil, "if { src 0.0.0.0/0 }", g, v6Client, false},
		{"src v4-mapped client, v4 pattern", nil, "if { src 10.0.0.0/8 }", g, mappedClient, true},
		{"src v4-mapped client, other v4", nil, "if { src 192.168.0.0/16 }", g, mappedClient, false},
		{"src several values", nil, "if { src 10.0.0.0/8 192.0.2.0/24 }", g, otherV4, true},
		{"src without request (tcp)", nil, "if { src 127.0.0.1 }", "", v4Client, true},
		{"http criterion without request", nil, "if { path_beg / }", "", v4Client, false},

		{"method", nil, "if { method POST }", post, netip.Addr{}, true},
		{"method no", nil, "if { method POST }", g, netip.Addr{}, false},
		{"method several", nil, "if { method PUT POST }", post, netip.Addr{}, true},
		{"METH_GET covers HEAD", nil, "if METH_GET", head, netip.Addr{}, true},
		{"METH_GET not POST", nil, "if METH_GET", post, netip.Addr{}, false},
		{"METH_POST", nil, "if METH_POST", post, netip.Addr{}, true},
		{"TRUE", nil, "if TRUE", g, netip.Addr{}, true},
		{"FALSE", nil, "if FALSE", g, netip.Addr{}, false},

		// Named ACLs, AND, OR, negation, unless.
		{"and both", []string{"st path_beg /s", "lo src 127.0.0.0/8"}, "if st lo", getHead("/s/a"), v4Client, true},
		{"and one", []string{"st path_beg /s", "lo src 127.0.0.0/8"}, "if st lo", getHead("/s/a"), otherV4, false},
		{"or second", []string{"st path_beg /s", "lo src 127.0.0.0/8"}, "if st or lo", getHead("/x"), v4Client, true},
		{"or none", []string{"st path_beg /s", "lo src 127.0.0.0/8"}, "if st or lo", getHead("/x"), otherV4, false},
		{"|| spelling", []string{"st path_beg /s", "lo src 127.0.0.0/8"}, "if st || lo", getHead("/x"), v4Client, true},
		{"not", []string{"st path_beg /s"}, "if !st", getHead("/x"), netip.Addr{}, true},
		{"not separate", []string{"st path_beg /s"}, "if ! st", getHead("/s"), netip.Addr{}, false},
		{"and not", []string{"st path_beg /s", "lo src 127.0.0.0/8"}, "if st !lo", getHead("/s/a"), otherV4, true},
		{"or binds looser than and", []string{"a path_beg /a", "b path_end .b", "c method POST"}, "if a b or c", post, netip.Addr{}, true},
		{"or binds looser than and 2", []string{"a path_beg /a", "b path_end .b", "c method POST"}, "if a b or c", getHead("/a/x.c"), netip.Addr{}, false},
		{"or binds looser than and 3", []string{"a path_beg /a", "b path_end .b", "c method POST"}, "if a b or c", getHead("/a/x.b"), netip.Addr{}, true},
		{"unless true", []string{"st path_beg /s"}, "unless st", getHead("/s/a"), netip.Addr{}, false},
		{"unless false", []string{"st path_beg /s"}, "unless st", getHead("/x"), netip.Addr{}, true},
		{"unless not", []string{"lo src 127.0.0.0/8"}, "unless !lo", getHead("/x"), v4Client, true},
		{"unless or", []string{"st path_beg /s", "lo src 127.0.0.0/8"}, "unless st or lo", getHead("/x"), otherV4, true},
		{"unless or 2", []string{"st path_beg /s", "lo src 127.0.0.0/8"}, "unless st or lo", getHead("/x"), v4Client, false},
		// An ACL declared on several lines is the OR of its lines.
		{"acl lines ORed", []string{"st path_beg /images", "st path_end .css"}, "if st", getHead("/x/a.css"), netip.Addr{}, true},
		{"acl lines ORed none", []string{"st path_beg /images", "st path_end .css"}, "if st", getHead("/x/a.js"), netip.Addr{}, false},
		{"acl flags per line", []string{"st path_beg -i /IMAGES", "st path_end .CSS"}, "if st", getHead("/x/a.css"), netip.Addr{}, false},
		{"anonymous and named", []string{"lo src 127.0.0.0/8"}, "if { hdr(host) -i example.com } lo", getHead("/", "Host: EXAMPLE.com\r\n"), v4Client, true},
	})
}

// HAProxy matches an IPv4 client against IPv6 patterns through its
// IPv4-mapped form (src/pattern.c, pat_match_ip), so "src ::ffff:127.0.0.1"
// and "src ::ffff:0:0/96" (and "::/0", which contains every mapped address)
// match the IPv4 client 127.0.0.1.
func TestMatchSrcMappedPatternIPv4Client(t *testing.T) {
	g := getHead("/", "Host: x\r\n")
	runMatchCases(t, []matchCase{
		{"mapped address pattern", nil, "if { src ::ffff:127.0.0.1 }", g, v4Client, true},
		{"mapped network pattern", nil, "if { src ::ffff:0:0/96 }", g, v4Client, true},
		{"mapped network pattern, mapped client", nil, "if { src ::ffff:10.0.0.0/104 }", g, mappedClient, true},
		{"all of IPv6", nil, "if { src ::/0 }", g, v4Client, true},
		{"v6 network not covering the mapped range", nil, "if { src 2001:db8::/32 }", g, v4Client, false},
	})
}

// Single ACL terms, and matchDelimited directly.
func TestMatchTermDirect(t *testing.T) {
	req := mustRequest(t, "GET /static/img/logo.png?v=1 HTTP/1.1\r\nHost: cdn.Example.com\r\nX-A: 1\r\nX-A: 2\r\n\r\n")
	for _, tc := range []struct {
		term string
		want bool
	}{
		{"path /static/img/logo.png", true},
		{"path_beg /nope /static/", true},
		{"path_end .png", true},
		{"path_sub img/lo", true},
		{"path_dir img", true},
		{"path_dir im", false},
		{"path_dir //", false},
		{"hdr(host) -i cdn.example.com", true},
		{"hdr(host) cdn.example.com", false},
		{"hdr_dom(host) -i example.com", true},
		{"hdr(x-a) 2", true},
		{"method GET", true},
		{"method get", false},
		{"src 127.0.0.0/8", true},
		{"always_true", true},
		{"always_false", false},
	} {
		c := parseCond(t, nil, "if { "+tc.term+" }")
		if got := evalCond(c, v4Client, req); got != tc.want {
			t.Errorf("%s: got %v, want %v", tc.term, got, tc.want)
		}
	}

	// HAProxy's delimiters: '/' and '?' for dir, '/', '?', '.' and ':' for
	// dom (src/pattern.c).
	for _, tc := range []struct {
		s, p   string
		delims string
		fold   bool
		want   bool
	}{
		{"/images", "/images", dirDelims, false, true},
		{"/images/x", "/images", dirDelims, false, true},
		{"/a/images/b", "/images", dirDelims, false, true},
		{"/imagesX", "/images", dirDelims, false, false},
		{"/Ximages", "/images", dirDelims, false, false},
		{"/a/images", "images/", dirDelims, false, true},
		{"/images?x=1", "images", dirDelims, false, true},
		{"/", "/", dirDelims, false, false},
		{"", "x", dirDelims, false, false},
		{"x", "", dirDelims, false, false},
		{"/A/IMAGES/b", "/images", dirDelims, true, true},
		{"/A/IMAGES/b", "/images", dirDelims, false, false},
		{"www.example.com", "example.com", domDelims, false, true},
		{"example.com", "example.com", domDelims, false, true},
		{"badexample.com", "example.com", domDelims, false, false},
		{"example.com.", "example.com", domDelims, false, true},
		{"www.example.com:8080", "example.com", domDelims, false, true},
		{"badexample.com:8080", "example.com", domDelims, false, false},
		{"aexample.com.example.com", "example.com", domDelims, false, true},
		{"ex", "example", domDelims, false, false},
		{"WWW.EXAMPLE.COM", ".example.com.", domDelims, true, true},
	} {
		if got := matchDelimited([]byte(tc.s), tc.p, tc.delims, tc.fold); got != tc.want {
			t.Errorf("matchDelimited(%q, %q, %q, %v) = %v, want %v", tc.s, tc.p, tc.delims, tc.fold, got, tc.want)
		}
	}
}

// The routing of a typical request allocates nothing.
func TestMatchEvalConditionAllocs(t *testing.T) {
	acls := []string{
		"url_static path_beg /images /stylesheets /javascripts",
		"url_static path_end .css .js .png",
		"internal src 10.0.0.0/8 192.168.0.0/16",
	}
	conds := parseConds(t, acls,
		"if url_static METH_GET",
		"if { hdr_dom(host) -i old.example.com } || { path_beg /v1/ }",
		"unless !internal",
	)
	req := mustRequest(t, "GET /javascripts/app.js?v=2 HTTP/1.1\r\nHost: www.example.com\r\nUser-Agent: test\r\nAccept: */*\r\n\r\n")
	if !evalCond(conds[0], v4Client, req) {
		t.Fatal("url_static METH_GET does not match")
	}
	var tx Txn
	var m Msg
	for i, c := range conds {
		cc := NewCompiler().Cond(c)
		allocs := testing.AllocsPerRun(1000, func() {
			fillTxn(&tx, &m, v4Client, req)
			cc.Match(&tx)
		})
		if allocs != 0 {
			t.Errorf("condition %d: %v allocations per evaluation", i, allocs)
		}
	}
}

// evalCond compiles c and evaluates it for req (nil: none) from src.
func evalCond(c *config.Condition, src netip.Addr, req *h1.Request) bool {
	var tx Txn
	var m Msg
	fillTxn(&tx, &m, src, req)
	return NewCompiler().Cond(c).Match(&tx)
}

// fillTxn makes tx the transaction of req from src, as the engine does.
func fillTxn(tx *Txn, m *Msg, src netip.Addr, req *h1.Request) {
	tx.Reset()
	tx.Src = netip.AddrPortFrom(src, 40000)
	if req == nil {
		return
	}
	m.Method, m.URI, m.Path, m.Minor = req.Method, req.URI, req.Path, req.Minor
	m.Headers = m.Headers[:0]
	for _, h := range req.Headers {
		m.Headers = append(m.Headers, Header{Name: h.Name, Value: h.Value})
	}
	tx.Req = m
}

// parseTCPCond parses "if { TERM }" in a tcp frontend that inspects the
// ClientHello.
func parseTCPCond(t testing.TB, term string) *config.Condition {
	t.Helper()
	text := "defaults\n  mode tcp\n  timeout connect 1s\n  timeout client 1s\n  timeout server 1s\n" +
		"frontend fe\n  bind 127.0.0.1:8080\n  tcp-request inspect-delay 1s\n  tcp-request content accept if { " + term + " }\n  default_backend be\n" +
		"backend be\n  server s1 127.0.0.1:8081\n"
	cfg, err := config.Parse("tcp.cfg", []byte(text), config.Options{Resolver: config.NoResolver})
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	return cfg.Frontends()[0].TCPContent[0].Cond
}

// fhdr() gives a whole value without the blanks around it, as HAProxy's
// http_find_header: a value a rule set with a trailing space
// ("set-header sl1 \"sl1: \"", http_after_response.vtc) is read back
// without it; hdr()'s elements were trimmed already.
func TestFhdrTrimsSetValues(t *testing.T) {
	s := config.TypeStr
	runSampleCases(t, getHead("/", "Host: a\r\n"), func(tx *Txn) {
		tx.Req.Headers = append(tx.Req.Headers, Header{Name: []byte("sl1"), Value: []byte("sl1: ")},
			Header{Name: []byte("x"), Value: []byte(" \ta, b \t")})
	}, []sampleCase{
		{"req.fhdr(sl1)", "sl1:", s},
		{"req.fhdr(x)", "a, b", s},
		{"req.fhdr(x,1)", "a, b", s},
		{"req.hdr(x,1)", "a", s},
		{"req.hdr(x)", "b", s},
		{"req.fhdr(sl1),length", "4", config.TypeInt},
	})
	cond := func(line string) bool {
		c := NewCompiler().Cond(parseCond(t, []string{line}, "if x"))
		var tx Txn
		var m Msg
		fillTxn(&tx, &m, v4Client, mustRequest(t, getHead("/", "Host: a\r\n")))
		m.Headers = append(m.Headers, Header{Name: []byte("sl1"), Value: []byte("sl1: ")})
		return c.Match(&tx)
	}
	if !cond("x req.fhdr(sl1) -m str sl1:") {
		t.Error("in an ACL, fhdr() does not give the trimmed value")
	}
}
