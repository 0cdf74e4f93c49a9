package rules

import (
	"testing"

	"github.com/fjordlb/fjord/config"
)

// frontendRules reads a mode http frontend with the given lines and
// returns it.
func frontendRules(t *testing.T, lines string) *config.Proxy {
	t.Helper()
	text := "defaults\n  mode http\n  timeout connect 1s\n  timeout client 1s\n  timeout server 1s\n" +
		"frontend fe\n  bind 127.0.0.1:8080\n" + lines + "  default_backend be\nbackend be\n  server s1 127.0.0.1:8081\n"
	cfg, err := config.Parse("reply.cfg", []byte(text), config.Options{Resolver: config.NoResolver})
	if err != nil {
		t.Fatalf("config: %v\n%s", err, text)
	}
	return cfg.Frontends()[0]
}

// A reply is HAProxy's http_reply_to_htx's: a content type only with a
// body, no field whose value renders empty (or would break the head),
// the body rendered per request and left out for HEAD.
func TestReplyAppend(t *testing.T) {
	for _, tc := range []struct {
		name, rule, head string
		forHead          bool
		want             string
	}{
		{"empty", "http-request return status 400", "", false,
			"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"},
		{"string", "http-request return status 503 content-type text/plain string down", "", false,
			"HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain\r\ncontent-length: 4\r\nconnection: close\r\n\r\ndown"},
		{"lf-string and hdr", `http-request return status 200 content-type text/plain hdr x-path "p=%[path]" lf-string "at %[path]"`,
			"GET /a?b HTTP/1.1\r\nHost: h\r\n\r\n", false,
			"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 5\r\nx-path: p=/a\r\nconnection: close\r\n\r\nat /a"},
		{"an empty field is left out", `http-request return status 200 hdr x-a "%[req.hdr(nope)]" hdr x-b b`, "GET / HTTP/1.1\r\n\r\n", false,
			"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nx-b: b\r\nconnection: close\r\n\r\n"},
		{"an empty body has no type", `http-request return status 200 content-type text/plain lf-string "%[req.hdr(nope)]"`, "GET / HTTP/1.1\r\n\r\n", false,
			"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"},
		{"HEAD", "http-request return status 503 content-type text/plain string down", "", true,
			"HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain\r\ncontent-length: 4\r\nconnection: close\r\n\r\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rp := NewCompiler().Reply(frontendRules(t, "  "+tc.rule+"\n").HTTPRequest[0])
			var tx Txn
			var m Msg
			fillTxn(&tx, &m, v4Client, mustRequestOrNil(t, tc.head))
			if got := string(rp.Append(nil, &tx, "connection: close\r\n", tc.forHead)); got != tc.want {
				t.Errorf("got  %q\nwant %q", got, tc.want)
			}
		})
	}
}
