package config

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// The error files of testdata/errors, as the configurations name them
// (relative to the package directory, where tests run).
const (
	err503   = "testdata/errors/503.http"
	err400LF = "testdata/errors/400-lf.http"
	err404e1 = "testdata/errors/404-errors-1.http"
	err500e1 = "testdata/errors/500-errors-1.http"
	err404e2 = "testdata/errors/404-errors-2.http"
)

// pageKey names where a proxy's page for one status comes from: the file
// or the errorloc target, and the line that declared it.
func pageKey(pg *ErrorPage) string {
	if pg == nil {
		return "-"
	}
	if pg.File != "" {
		return pg.File + "@" + pg.Pos.String()
	}
	return pg.Location + "@" + pg.Pos.String()
}

func TestErrorPagesResolution(t *testing.T) {
	// HAProxy's reg-test http-errorfiles/http_errors.vtc, in fjord's
	// files: a defaults section imports a whole http-errors section,
	// then replaces some of its pages; proxies import more after it.
	text := lines(
		"http-errors errors-1", // 1
		"  errorfile 404 "+err404e1,
		"  errorfile 500 "+err500e1,
		"defaults",
		"  mode http", // 5
		"  errorfiles errors-2",
		"  errorfile 400 "+err400LF,
		"frontend fe1",
		"  bind 127.0.0.1:8001",
		"  default_backend be", // 10
		"frontend fe2",
		"  bind 127.0.0.1:8002",
		"  errorfiles errors-1",
		"  errorfile 503 "+err503,
		"  default_backend be", // 15
		"frontend fe3",
		"  bind 127.0.0.1:8003",
		"  errorfile 500 "+err503,
		"  errorfiles errors-1 500",
		"  errorloc303 503 https://status.example.com/", // 20
		"  errorloc 408 /slow",
		"  default_backend be",
		"backend be",
		"  errorloc302 504 /timeout",
		"http-errors errors-2", // 25: declared after its users
		"  errorfile 404 "+err404e2,
	)
	cfg := mustParse(t, text)
	for _, tc := range []struct {
		section, name string
		want          map[int]string
	}{
		{"frontend", "fe1", map[int]string{
			400: err400LF + "@" + at(7).String(),
			404: err404e2 + "@" + at(26).String(),
		}},
		{"frontend", "fe2", map[int]string{
			400: err400LF + "@" + at(7).String(),
			404: err404e1 + "@" + at(2).String(),
			500: err500e1 + "@" + at(3).String(),
			503: err503 + "@" + at(14).String(),
		}},
		{"frontend", "fe3", map[int]string{
			400: err400LF + "@" + at(7).String(),
			404: err404e2 + "@" + at(26).String(),
			500: err500e1 + "@" + at(3).String(),
			503: "https://status.example.com/@" + at(20).String(),
			408: "/slow@" + at(21).String(),
		}},
		{"backend", "be", map[int]string{
			400: err400LF + "@" + at(7).String(),
			404: err404e2 + "@" + at(26).String(),
			504: "/timeout@" + at(24).String(),
		}},
	} {
		px := proxy(t, cfg, tc.section, tc.name)
		got := map[int]string{}
		for code, pg := range px.ErrorPages {
			if pg.Code != code {
				t.Errorf("%s: page for %d says code %d", px, code, pg.Code)
			}
			got[code] = pageKey(pg)
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: pages\n got %v\nwant %v", px, got, tc.want)
		}
	}
	if n := len(cfg.HTTPErrors); n != 2 || cfg.HTTPErrors[0].Name != "errors-1" || cfg.HTTPErrors[1].Pos != at(25) {
		t.Errorf("http-errors sections: %+v", cfg.HTTPErrors)
	}
	if len(cfg.Diagnostics) != 0 {
		t.Errorf("diagnostics: %v", cfg.Diagnostics)
	}
}

func TestErrorPageContents(t *testing.T) {
	cfg := mustParse(t, httpFE(
		"  errorfile 503 "+err503,
		"  errorfile 400 "+err400LF,
		"  errorfile 408 /dev/null",
		"  errorloc 502 /oops?from=lb",
		"  errorloc303 200 https://example.com/up",
	))
	pages := proxy(t, cfg, "frontend", "fe").ErrorPages
	for _, tc := range []struct {
		code int
		want ErrorPage
	}{
		// The Connection field is kept: its "close" closes the
		// connection after the page, as in HAProxy.
		{503, ErrorPage{Code: 503, File: err503, Version: "HTTP/1.1", Status: 503, Reason: "Service Unavailable",
			Fields: []Field{{"Cache-Control", "no-cache"}, {"Connection", "close"}, {"Content-Type", "text/html"}, {"X-Err-Type", "site"}},
			Body:   []byte("<html><body><h1>Sorry</h1>\nBack soon.\n</body></html>\n")}},
		// Lines may end in LF alone; the version is kept.
		{400, ErrorPage{Code: 400, File: err400LF, Version: "HTTP/1.0", Status: 400, Reason: "Bad request",
			Fields: []Field{{"Content-Length", "4"}, {"Connection", "keep-alive"}, {"X-Err-Type", "lf"}}, Body: []byte("bad\n")}},
		{408, ErrorPage{Code: 408, File: "/dev/null", Empty: true}},
		// HAProxy's errorloc message (http_parse_errorloc).
		{502, ErrorPage{Code: 502, Location: "/oops?from=lb", Version: "HTTP/1.1", Status: 302, Reason: "Found",
			Fields: []Field{{"Cache-Control", "no-cache"}, {"Content-length", "0"}, {"Location", "/oops?from=lb"}}}},
		{200, ErrorPage{Code: 200, Location: "https://example.com/up", Version: "HTTP/1.1", Status: 303, Reason: "See Other",
			Fields: []Field{{"Cache-Control", "no-cache"}, {"Content-length", "0"}, {"Location", "https://example.com/up"}}}},
	} {
		got := pages[tc.code]
		if got == nil {
			t.Errorf("no page for %d", tc.code)
			continue
		}
		g := *got
		g.Pos = Pos{}
		if len(g.Body) == 0 {
			g.Body = nil
		}
		if !reflect.DeepEqual(g, tc.want) {
			t.Errorf("page for %d:\n got %+v\nwant %+v", tc.code, g, tc.want)
		}
	}
}

// A status line without a reason, a 204 and a close-delimited body are
// valid responses.
func TestErrorFilesValidEdges(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name, body string
		check      func(*ErrorPage) bool
	}{
		{"no reason", "HTTP/1.1 503\r\n\r\n", func(pg *ErrorPage) bool { return pg.Reason == "" && pg.Status == 503 }},
		{"empty reason", "HTTP/1.1 503 \r\n\r\n", func(pg *ErrorPage) bool { return pg.Reason == "" }},
		{"204", "HTTP/1.1 204 No Content\r\nContent-Length: 7\r\n\r\n", func(pg *ErrorPage) bool { return pg.Status == 204 }},
		{"101 as HAProxy allows", "HTTP/1.1 101 Switching Protocols\r\n\r\n", func(pg *ErrorPage) bool { return pg.Status == 101 }},
		{"close-delimited body", "HTTP/1.1 500 Oops\r\n\r\nanything\r\n", func(pg *ErrorPage) bool { return string(pg.Body) == "anything\r\n" }},
		{"repeated Content-Length", "HTTP/1.1 500 Oops\r\nContent-Length: 2\r\ncontent-length: 2\r\n\r\nok", func(pg *ErrorPage) bool { return len(pg.Fields) == 2 }},
		{"tab in value", "HTTP/1.1 500 Oops\r\nX-A: a\tb \r\n\r\n", func(pg *ErrorPage) bool { return pg.Fields[0].Value == "a\tb" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "_"))
			if err := os.WriteFile(f, []byte(tc.body), 0o644); err != nil {
				t.Fatal(err)
			}
			cfg := mustParse(t, httpFE("  errorfile 500 "+f))
			if pg := proxy(t, cfg, "frontend", "fe").ErrorPages[500]; pg == nil || !tc.check(pg) {
				t.Errorf("page: %+v", pg)
			}
		})
	}
}

func TestErrorFileErrors(t *testing.T) {
	dir := t.TempDir()
	file := func(name, body string) string {
		f := filepath.Join(dir, name)
		if err := os.WriteFile(f, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return f
	}
	big := file("big.http", "HTTP/1.1 503 Busy\r\nContent-Length: 2000\r\n\r\n"+strings.Repeat("x", 2000))
	cases := []errCase{
		{"missing file", httpFE("  errorfile 503 testdata/errors/nope.http #ERR"),
			[]string{"'errorfile 503 testdata/errors/nope.http': cannot read the file: no such file or directory"}},
		{"directory", httpFE("  errorfile 503 testdata/errors #ERR"), []string{"'errorfile 503 testdata/errors'", "it is a directory"}},
		{"no file", httpFE("  errorfile 503 #ERR"), []string{"'errorfile' expects a status code and a file"}},
		{"too many arguments", httpFE("  errorfile 503 " + err503 + " extra #ERR"), []string{"'errorfile' expects a status code and a file"}},
		{"code not a number", httpFE("  errorfile 5xx " + err503 + " #ERR"), []string{"'errorfile': expects an HTTP status code, not '5xx'"}},
		{"code with a sign", httpFE("  errorfile +503 " + err503 + " #ERR"), []string{"not '+503'"}},
		{"code fjord never answers", httpFE("  errorfile 418 " + err503 + " #ERR"), []string{"status code 418 is not one", "200, 400, 401"}},
		{"larger than tune.bufsize", lines("global", "  tune.bufsize 1k") + httpFE("  errorfile 503 "+big+" #ERR"),
			[]string{"'errorfile 503 " + big + "': the response has 2043 bytes, more than tune.bufsize (1024)"}},
		{"larger than tune.bufsize set after", httpFE("  errorfile 503 "+big+" #ERR") + lines("global", "  tune.bufsize 1024"),
			[]string{"more than tune.bufsize (1024)"}},
		{"in global", lines("global", "  errorfile 503 "+err503+" #ERR") + okTail, []string{"'errorfile' is not allowed in a 'global' section"}},

		// Not a valid HTTP response: the message names the file and
		// what is wrong, with its line in the file.
		{"not HTTP", httpFE("  errorfile 503 " + file("html", "<html>sorry</html>\n") + " #ERR"),
			[]string{"not a valid HTTP response: line 1: expects a status line", `"<html>sorry</html>"`}},
		{"HTTP/2", httpFE("  errorfile 503 " + file("h2", "HTTP/2 503 Busy\r\n\r\n") + " #ERR"), []string{"line 1: expects a status line"}},
		{"two-digit status", httpFE("  errorfile 503 " + file("st2", "HTTP/1.1 53 Busy\r\n\r\n") + " #ERR"), []string{"line 1: expects a status line"}},
		{"no line break", httpFE("  errorfile 503 " + file("nolf", "HTTP/1.1 503 Busy") + " #ERR"), []string{"line 1: the status line does not end with a line break"}},
		{"head not ended", httpFE("  errorfile 503 " + file("noend", "HTTP/1.1 503 Busy\r\nX-A: b\r\n") + " #ERR"), []string{"line 3: the head does not end with an empty line"}},
		{"interim status", httpFE("  errorfile 503 " + file("100", "HTTP/1.1 100 Continue\r\n\r\n") + " #ERR"), []string{"line 1: status 100 cannot be an error page's"}},
		{"control byte in reason", httpFE("  errorfile 503 " + file("ctl", "HTTP/1.1 503 Bu\x01sy\r\n\r\n") + " #ERR"), []string{`line 1: the reason phrase holds '\x01'`}},
		{"not a field", httpFE("  errorfile 503 " + file("nofield", "HTTP/1.1 503 Busy\r\nno colon here\r\n\r\n") + " #ERR"), []string{"line 2: expects a header field 'Name: value'"}},
		{"space in a name", httpFE("  errorfile 503 " + file("sp", "HTTP/1.1 503 Busy\r\nX A: b\r\n\r\n") + " #ERR"), []string{`line 2: the field name "X A" holds ' '`}},
		{"space before the colon", httpFE("  errorfile 503 " + file("spc", "HTTP/1.1 503 Busy\r\nX-A : b\r\n\r\n") + " #ERR"), []string{"line 2: the field name"}},
		{"CR in a value", httpFE("  errorfile 503 " + file("cr", "HTTP/1.1 503 Busy\r\nX-A: a\rb\r\n\r\n") + " #ERR"), []string{`line 2: the value of X-A holds '\r'`}},
		{"obs-fold", httpFE("  errorfile 503 " + file("fold", "HTTP/1.1 503 Busy\r\nX-A: a\r\n b\r\n\r\n") + " #ERR"), []string{"line 3: a header line folded"}},
		{"chunked", httpFE("  errorfile 503 " + file("te", "HTTP/1.1 503 Busy\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n") + " #ERR"), []string{"line 2: Transfer-Encoding is not supported"}},
		{"bad Content-Length", httpFE("  errorfile 503 " + file("badcl", "HTTP/1.1 503 Busy\r\nContent-Length: -1\r\n\r\n") + " #ERR"), []string{`line 2: invalid Content-Length "-1"`}},
		{"two Content-Lengths", httpFE("  errorfile 503 " + file("twocl", "HTTP/1.1 503 Busy\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab") + " #ERR"), []string{"line 3: a second Content-Length (2) differs from the first (1)"}},
		{"body shorter than announced", httpFE("  errorfile 503 " + file("short", "HTTP/1.1 503 Busy\r\nContent-Length: 10\r\n\r\nabc") + " #ERR"), []string{"the body has 3 bytes, and Content-Length says 10"}},
		{"body longer than announced", httpFE("  errorfile 503 " + file("long", "HTTP/1.1 503 Busy\r\nContent-Length: 0\r\n\r\nabc") + " #ERR"), []string{"the body has 3 bytes, and Content-Length says 0"}},
		{"304 with a body", httpFE("  errorfile 503 " + file("304", "HTTP/1.1 304 Not Modified\r\n\r\nabc") + " #ERR"), []string{"a 304 response has no body, and the file has 3 bytes after the head"}},
		{"the same bad file twice", httpFE("  errorfile 503 "+file("twice", "oops\n")+" #ERR", "  errorfile 502 "+filepath.Join(dir, "twice")+" #ERR"), []string{"not a valid HTTP response"}},

		// errorloc
		{"errorloc without a URL", httpFE("  errorloc 503 #ERR"), []string{"'errorloc' expects a status code and a URL"}},
		{"errorloc303 with an empty URL", httpFE(`  errorloc303 503 "" #ERR`), []string{"'errorloc303' expects a status code and a URL"}},
		{"errorloc302 with a bad code", httpFE("  errorloc302 302 /x #ERR"), []string{"'errorloc302': status code 302 is not one"}},
		{"errorloc with a space", httpFE(`  errorloc 503 "/a b" #ERR`), []string{"'errorloc 503': the URL holds ' '"}},
		{"errorloc with a line break", httpFE(`  errorloc 503 "/a\r\nX: y" #ERR`), []string{`the URL holds '\r'`}},
		{"errorloc larger than tune.bufsize", lines("global", "  tune.bufsize 1k") + httpFE("  errorloc 503 /"+strings.Repeat("a", 1000)+" #ERR"),
			[]string{"'errorloc 503': the response has 1079 bytes, more than tune.bufsize (1024)"}},

		// errorfiles and http-errors sections
		{"errorfiles without a name", httpFE("  errorfiles #ERR"), []string{"'errorfiles' expects the name of an http-errors section"}},
		{"errorfiles with a bad code", lines("http-errors e", "  errorfile 404 "+err404e1) + httpFE("  errorfiles e 404 999 #ERR"), []string{"'errorfiles e': status code 999 is not one"}},
		{"errorfiles of an unknown section", httpFE("  errorfiles nope #ERR"), []string{"'errorfiles nope': no http-errors section is named 'nope'"}},
		{"errorfiles of an unknown section in defaults", lines("defaults", "  mode http", "  errorfiles nope #ERR") + httpFE() + lines("frontend fe2", "  mode http", "  bind 127.0.0.1:8001", "  default_backend be"),
			[]string{"no http-errors section is named 'nope'"}},
		{"http-errors without a name", lines("http-errors #ERR", "  errorfile 404 "+err404e1) + okTail, []string{"'http-errors' needs a name"}},
		{"lines of an http-errors without a name", lines("http-errors #ERR", "  errorfile 404 nope.http #ERR") + okTail, []string{"'"}}, // each its own message
		{"http-errors with two names", lines("http-errors a b #ERR") + okTail, []string{"'http-errors a': unexpected argument 'b'"}},
		{"http-errors bad name", lines("http-errors a/b #ERR") + okTail, []string{"invalid character '/' in http-errors section name 'a/b'"}},
		{"http-errors twice", lines("http-errors a", "http-errors a #ERR") + okTail, []string{"http-errors section 'a' is already declared at test.cfg:1"}},
		{"http-errors with another keyword", lines("http-errors a", "  errorloc 503 /x #ERR", "  mode http #ERR") + okTail,
			[]string{"in 'http-errors' section (it holds only 'errorfile CODE FILE' lines)"}},
		{"http-errors with a bad file", lines("http-errors a", "  errorfile 503 nope.http #ERR") + okTail, []string{"'errorfile 503 nope.http': cannot read the file"}},
		{"http-errors with a bad code", lines("http-errors a", "  errorfile 302 "+err503+" #ERR") + okTail, []string{"status code 302 is not one"}},
	}
	runErrorCases(t, NoResolver, cases)
}

func TestErrorPageDiagnostics(t *testing.T) {
	text := lines(
		"http-errors e", // 1
		"  errorfile 404 "+err404e1,
		"  errorfile 404 "+err404e2,
		"defaults",
		"  errorfile 503 "+err503, // 5: mode tcp here, but proxies may be http
		"frontend fe",
		"  bind 127.0.0.1:8000",
		"  errorfiles e 404 500",
		"  errorloc 503 /x",
		"  default_backend be", // 10
		"backend be",
	)
	cfg, errs := parse(t, text)
	if errs != nil {
		t.Fatal(errs)
	}
	want := []Diagnostic{
		{Warning, at(3), "'errorfile 404' replaces the one at test.cfg:2: an http-errors section has one page per status, as in HAProxy"},
		{Warning, at(8), "'errorfiles e 500': http-errors section 'e' (at test.cfg:1) has no page for 500, so it keeps the one it had"},
		{Warning, at(8), "'errorfiles' has no effect in frontend 'fe': it is in mode tcp, where fjord answers nothing itself"},
		{Warning, at(9), "'errorloc' has no effect in frontend 'fe': it is in mode tcp, where fjord answers nothing itself"},
	}
	var got []Diagnostic
	for _, d := range cfg.Diagnostics {
		if strings.Contains(d.Msg, "errorfile") || strings.Contains(d.Msg, "errorloc") {
			got = append(got, d)
		}
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("diagnostics:\n got %v\nwant %v", got, want)
	}
}

// http-error lines take their place among errorfile, errorloc and
// errorfiles lines, the last for a status winning (HAProxy's
// proxy_check_errors): HAProxy's reg-test http-errorfiles/http-error.vtc,
// and default-errorfiles forgetting an inherited page.
func TestHTTPErrorResolution(t *testing.T) {
	text := lines(
		"http-errors errors-1", // 1
		"  errorfile 404 "+err404e1,
		"  errorfile 500 "+err500e1,
		"defaults",
		"  mode http", // 5
		"  errorfile 400 "+err400LF,
		"  errorfile 404 "+err404e2,
		"  errorfile 503 "+err503,
		"frontend fe1",
		"  bind 127.0.0.1:8001", // 10
		"  http-error status 400",
		"  http-error status 403 default-errorfiles",
		"  http-error status 404 errorfiles errors-1",
		"  http-error status 500 errorfile "+err503,
		`  http-error status 200 content-type "text/plain" hdr x-path "path=%[path]" lf-string "The path is \"%[path]\""`, // 15
		"  http-error status 503 default-errorfiles",
		"  default_backend be",
		"backend be",
		"  http-error status 502 content-type text/plain string gone",
		"  errorfile 502 "+err503, // 20: replaces the line before
		"  errorloc 504 /late",
		"  http-error status 504 string down content-type text/plain",
	)
	cfg := mustParse(t, text)
	fe := proxy(t, cfg, "frontend", "fe1").ErrorPages
	if got := pageKey(fe[404]); got != err404e1+"@"+at(2).String() {
		t.Errorf("404: %s", got)
	}
	if pg := fe[500]; pg == nil || pg.Code != 500 || pg.File != err503 || pg.Status != 503 || pg.Pos != at(14) {
		t.Errorf("500: the file's response, for 500: %+v", pg)
	}
	for code, line := range map[int]int{400: 11, 200: 15} {
		if pg := fe[code]; pg == nil || pg.Reply == nil || pg.Pos != at(line) || pg.Code != code || pg.Reply.Status != code {
			t.Errorf("%d: an http-error reply from line %d: %+v", code, line, pg)
		}
	}
	r := fe[200].Reply
	if r.ContentType != "text/plain" || r.BodyFormat == nil || len(r.Headers) != 1 || r.Headers[0].Name != "x-path" {
		t.Errorf("200's reply: %+v", r)
	}
	if r := fe[400].Reply; r.Body != "" || r.BodyFormat != nil || r.ContentType != "" {
		t.Errorf("400's reply has no body: %+v", r)
	}
	for _, code := range []int{403, 503} {
		if pg, ok := fe[code]; ok {
			t.Errorf("%d: default-errorfiles leaves no page of the proxy's, found %+v", code, pg)
		}
	}
	be := proxy(t, cfg, "backend", "be").ErrorPages
	if got := pageKey(be[502]); got != err503+"@"+at(20).String() {
		t.Errorf("502: the later errorfile wins, got %s", got)
	}
	if pg := be[504]; pg == nil || pg.Reply == nil || pg.Reply.Body != "down" {
		t.Errorf("504: the later http-error wins, got %+v", pg)
	}
	if len(cfg.Diagnostics) != 0 {
		t.Errorf("diagnostics: %v", cfg.Diagnostics)
	}
}

func TestHTTPErrorErrors(t *testing.T) {
	runErrorCases(t, NoResolver, []errCase{
		{"no status", httpFE("  http-error #ERR"), []string{"'http-error' expects 'status CODE'"}},
		{"no status with a body", httpFE("  http-error content-type text/plain string x #ERR"), []string{"'http-error' expects 'status CODE'"}},
		{"status without a code", httpFE("  http-error status #ERR"), []string{"'http-error': 'status' expects 1 argument(s)"}},
		{"status not a number", httpFE("  http-error status abc #ERR"), []string{"'http-error': 'abc' is not a status code between 200 and 599"}},
		{"status fjord never answers", httpFE("  http-error status 418 #ERR"),
			[]string{"'http-error': status code 418 is not one fjord or HAProxy answers itself (one of 200, 400, 401"}},
		{"deny_status", httpFE("  http-error deny_status 403 #ERR"), []string{"'http-error': unexpected 'deny_status' (the status is set with 'status')"}},
		{"unknown argument", httpFE("  http-error status 503 body x #ERR"), []string{"'http-error': unexpected 'body' (expects status, content-type"}},
		{"two bodies", httpFE("  http-error status 503 content-type text/plain string a string b #ERR"), []string{"'http-error': 'string' after 'string': a response has one body"}},
		{"body without a type", httpFE("  http-error status 503 string down #ERR"), []string{"'http-error': a body needs a 'content-type'"}},
		{"a type with an errorfile", httpFE("  http-error status 503 content-type text/plain errorfile " + err503 + " #ERR"),
			[]string{"'http-error': 'errorfile' is a whole response: 'content-type' and 'hdr' cannot go with it"}},
		{"an unreadable errorfile", httpFE("  http-error status 503 errorfile testdata/errors/nope.http #ERR"),
			[]string{"'http-error': 'errorfile testdata/errors/nope.http': cannot read the file"}},
		{"an unknown http-errors section", httpFE("  http-error status 503 errorfiles nope #ERR"),
			[]string{"'http-error status 503 errorfiles nope': no http-errors section is named 'nope'"}},
		{"a bad sample in the body", httpFE("  http-error status 503 content-type text/plain lf-string %[nope] #ERR"),
			[]string{"'http-error': log-format '%[nope]': unknown sample fetch 'nope'"}},
		{"a framing field", httpFE("  http-error status 503 hdr content-length 3 #ERR"), []string{"'hdr content-length' is not allowed"}},
		{"a 204 with a body", httpFE("  http-error status 204 content-type text/plain string x #ERR"), []string{"'http-error': a 204 response has no body"}},
		{"in global", lines("global", "  http-error status 503 #ERR") + okTail, []string{"'http-error' is not allowed in a 'global' section"}},
	})
}

func TestHTTPErrorDiagnostics(t *testing.T) {
	cfg, errs := parse(t, lines(
		"http-errors e", // 1
		"  errorfile 404 "+err404e1,
		"frontend fe",
		"  mode http",
		"  bind 127.0.0.1:8000", // 5
		"  http-error status 500 errorfiles e",
		"  http-error status 503 content-type text/plain",
		"  default_backend be",
		"backend be",
		"  mode http",
	))
	if errs != nil {
		t.Fatal(errs)
	}
	// The second is given as the line is read, the first once the
	// http-errors sections are all known.
	want := []Diagnostic{
		{Warning, at(7), "'http-error': 'content-type' without a body is ignored, as in HAProxy"},
		{Warning, at(6), "'http-error status 500 errorfiles e': http-errors section 'e' (at test.cfg:1) has no page for 500, so it keeps the one it had"},
	}
	if !reflect.DeepEqual(cfg.Diagnostics, want) {
		t.Errorf("diagnostics:\n got %v\nwant %v", cfg.Diagnostics, want)
	}
}
