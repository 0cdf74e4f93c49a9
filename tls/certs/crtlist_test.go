package certs

import (
	"reflect"
	"strings"
	"testing"
)

func filters(words ...string) []Filter {
	var out []Filter
	for _, w := range words {
		if strings.HasPrefix(w, "!") {
			out = append(out, Filter{Name: w[1:], Negative: true})
		} else {
			out = append(out, Filter{Name: w})
		}
	}
	return out
}

// TestCrtListLine: one line, as HAProxy's crtlist_parse_line splits it.
func TestCrtListLine(t *testing.T) {
	tests := []struct {
		line    string
		want    CrtListEntry
		warning string
		err     string
	}{
		{line: "cert.pem", want: CrtListEntry{Path: "cert.pem"}},
		{line: "  /etc/ssl/cert.pem  ", want: CrtListEntry{Path: "/etc/ssl/cert.pem"}},
		{line: "cert.pem www.example.com example.com", want: CrtListEntry{Path: "cert.pem", Filters: filters("www.example.com", "example.com")}},
		{line: "certW.pem\t*.domain.tld !secure.domain.tld", want: CrtListEntry{Path: "certW.pem", Filters: filters("*.domain.tld", "!secure.domain.tld")}},
		{line: "cert2.pem [alpn h2,http/1.1]", want: CrtListEntry{Path: "cert2.pem", Options: []string{"alpn", "h2,http/1.1"}}},
		{
			line: "certS.pem [curves X25519:P-256 ciphers ECDHE-ECDSA-AES256-GCM-SHA384] secure.domain.tld",
			want: CrtListEntry{Path: "certS.pem", Options: []string{"curves", "X25519:P-256", "ciphers", "ECDHE-ECDSA-AES256-GCM-SHA384"}, Filters: filters("secure.domain.tld")},
		},
		{line: "cert.pem[verify required ca-file ca.pem no-ca-names]a.example.com", want: CrtListEntry{Path: "cert.pem", Options: []string{"verify", "required", "ca-file", "ca.pem", "no-ca-names"}, Filters: filters("a.example.com")}},
		{line: "cert.pem [ allow-0rtt ] ", want: CrtListEntry{Path: "cert.pem", Options: []string{"allow-0rtt"}}},
		{line: "cert.pem [] x.example.com", want: CrtListEntry{Path: "cert.pem", Filters: filters("x.example.com")}},
		{line: "cert1.pem !*", want: CrtListEntry{Path: "cert1.pem", Filters: filters("!*")}},
		{line: "cert.pem\r", want: CrtListEntry{Path: "cert.pem"}},
		{line: "cert.pem WWW.Example.COM", want: CrtListEntry{Path: "cert.pem", Filters: filters("WWW.Example.COM")}},

		{line: "cert.pem extra [alpn h2] a.example.com", want: CrtListEntry{Path: "cert.pem", Options: []string{"alpn", "h2"}, Filters: filters("a.example.com")}, warning: `"extra", between the file and '[', is ignored, as HAProxy ignores it`},
		{line: "cert.pem a.example.com # the main site", want: CrtListEntry{Path: "cert.pem", Filters: filters("a.example.com", "#", "the", "main", "site")}, warning: "'#' is an SNI filter"},
		{line: "cert.pem *", want: CrtListEntry{Path: "cert.pem", Filters: filters("*")}, warning: "SNI filter '*' matches nothing: HAProxy ignores it"},
		{line: "cert.pem a.example.com !", want: CrtListEntry{Path: "cert.pem", Filters: filters("a.example.com", "!")}, warning: "SNI filter '!' matches nothing"},
		{line: "cert.pem *.example.com !*.a.example.com", want: CrtListEntry{Path: "cert.pem", Filters: filters("*.example.com", "!*.a.example.com")}, warning: "negative wildcard '!*.a.example.com' excludes nothing"},
		{line: "cert.pem *example.com", want: CrtListEntry{Path: "cert.pem", Filters: filters("*example.com")}, warning: "SNI filter '*example.com' can never match"},
		{line: "cert.pem *.", want: CrtListEntry{Path: "cert.pem", Filters: filters("*.")}, warning: "SNI filter '*.' can never match"},

		{line: "[alpn h2] cert.pem", err: "list:7: the line must start with the certificate file, before '['"},
		{line: "cert.pem [alpn h2] [npn h2]", err: "list:7: too many '['"},
		{line: "cert.pem [alpn h2]]", err: "list:7: too many ']'"},
		{line: "cert.pem alpn h2]", err: "list:7: ']' without '['"},
		{line: "cert.pem [alpn h2 a.example.com", err: "list:7: '[' without ']': HAProxy would take the options for SNI filters"},
		{line: "cert.pem [alpn]", err: "list:7: 'alpn' expects a value before ']'"},
		{line: "cert.pem [verify] a.example.com", err: "list:7: 'verify' expects a value before ']'"},
		{line: "cert.pem [strict-sni]", err: "list:7: unknown option 'strict-sni' between brackets (a crt-list line takes allow-0rtt, alpn,"},
		{line: "cert.pem [alpn h2 h3]", err: "list:7: unknown option 'h3'"},
		{line: "cert.pem" + strings.Repeat(" a", crtWordsMax), err: "list:7: too many words: HAProxy's limit is 2048"},
	}
	for _, tc := range tests {
		t.Run(tc.line, func(t *testing.T) {
			var w warnings
			got, ok, err := parseCrtListLine("list", 7, tc.line, &w)
			if tc.err != "" {
				wantErr(t, err, tc.err)
				return
			}
			if err != nil || !ok {
				t.Fatalf("ok %v, err %v", ok, err)
			}
			tc.want.Line = 7
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("= %#v\nwant %#v", got, tc.want)
			}
			switch {
			case tc.warning == "" && len(w.list) > 0:
				t.Fatalf("warnings %q", w.list)
			case tc.warning != "":
				if len(w.list) != 1 || w.list[0].Line != 7 || w.list[0].File != "list" {
					t.Fatalf("warnings %q, want one at list:7", w.list)
				}
				wantWarning(t, w.list, "list", tc.warning)
			}
		})
	}
}

// TestCrtListFile: comments, blank lines and line numbers, as HAProxy
// counts them.
func TestCrtListFile(t *testing.T) {
	data := "# certificates of the frontend\r\n" +
		"cert1.pem !*\n" +
		"\n" +
		"   \t\n" +
		"\r\n" +
		"  # an indented comment, which HAProxy would take for a file named '#'\n" +
		"cert2.pem [alpn h2,http/1.1]\r\n" +
		"certW.pem *.domain.tld !secure.domain.tld\n" +
		"# the last line is a comment without a newline"
	got, ws, err := ParseCrtList("/etc/fjord/crt-list.txt", []byte(data))
	if err != nil {
		t.Fatal(err)
	}
	if len(ws) != 0 {
		t.Errorf("warnings %q", ws)
	}
	want := []CrtListEntry{
		{Line: 2, Path: "cert1.pem", Filters: filters("!*")},
		{Line: 7, Path: "cert2.pem", Options: []string{"alpn", "h2,http/1.1"}},
		{Line: 8, Path: "certW.pem", Filters: filters("*.domain.tld", "!secure.domain.tld")},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("= %#v\nwant %#v", got, want)
	}
}

func TestCrtListFileErrors(t *testing.T) {
	tests := []struct {
		name, data string
		err        string
		warning    string
	}{
		{name: "error names the line", data: "a.pem\n# x\nb.pem [alpn]\n", err: "list.txt:3: 'alpn' expects a value before ']'"},
		{name: "NUL", data: "a.pem\nb.pem\x00c\n", err: "list.txt:2: a NUL character at column 6"},
		{name: "long line", data: "a.pem " + strings.Repeat("x", crtLineMax) + "\n", err: "list.txt:1: line too long (65540 characters): HAProxy's limit is 65535, newline included"},
		{name: "longest line", data: strings.Repeat("x", crtLineMax) + "\n"},
		{name: "no final newline", data: "a.pem\nb.pem", warning: "list.txt:2: the last line has no newline: HAProxy 2.6 refuses such a file"},
		{name: "empty", data: ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, ws, err := ParseCrtList("list.txt", []byte(tc.data))
			if tc.err != "" {
				wantErr(t, err, tc.err)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tc.warning == "" {
				if len(ws) > 0 {
					t.Fatalf("warnings %q", ws)
				}
				return
			}
			if len(ws) != 1 || !strings.Contains(ws[0].String(), tc.warning) {
				t.Fatalf("warnings %q, want %q", ws, tc.warning)
			}
		})
	}
}

// FuzzCrtList: the crt-list reader never panics; every line it accepts
// reads back the same from CrtListEntry.String, and its words hold no
// blank nor bracket.
func FuzzCrtList(f *testing.F) {
	for _, s := range []string{
		"cert1.pem !*\n# comment\ncert2.pem [alpn h2,http/1.1]\n",
		"certW.pem *.domain.tld !secure.domain.tld\r\n",
		"certS.pem [curves X25519:P-256 ciphers ECDHE-ECDSA-AES256-GCM-SHA384] secure.domain.tld",
		"a.pem x [verify required] y\n",
		"[",
		"a ] [",
		"a [b",
		"a.pem\x00",
		"  # x\n\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		entries, _, err := ParseCrtList("f", data)
		if err != nil {
			return
		}
		for _, e := range entries {
			if e.Path == "" || e.Path[0] == '#' {
				t.Fatalf("line %d: path %q", e.Line, e.Path)
			}
			words := append([]string{e.Path}, e.Options...)
			for _, f := range e.Filters {
				words = append(words, f.String())
			}
			for _, w := range words {
				if w == "" || strings.ContainsAny(w, " \t\n\v\f\r[]\x00") {
					t.Fatalf("line %d: word %q", e.Line, w)
				}
			}
			var ws warnings
			back, ok, err := parseCrtListLine("f", e.Line, e.String(), &ws)
			if err != nil || !ok {
				t.Fatalf("line %d: %q reads back as %v, %v", e.Line, e.String(), ok, err)
			}
			if !reflect.DeepEqual(back, e) {
				t.Fatalf("line %d: %#v reads back as %#v", e.Line, e, back)
			}
		}
	})
}
