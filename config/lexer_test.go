package config

import (
	"reflect"
	"strings"
	"testing"
)

func TestSplitWords(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    []string
		wantErr string // substring of the error; "" means no error
	}{
		{name: "empty", in: "", want: nil},
		{name: "only blanks", in: " \t  \t", want: nil},
		{name: "spaces", in: "server web01 10.0.0.2:80", want: []string{"server", "web01", "10.0.0.2:80"}},
		{name: "tabs and runs of blanks", in: "\t bind \t\t*:80   \t", want: []string{"bind", "*:80"}},
		{name: "comment line", in: "# a comment", want: nil},
		{name: "indented comment", in: "   \t# a comment", want: nil},
		{name: "trailing comment", in: "maxconn 10 # the limit", want: []string{"maxconn", "10"}},
		{name: "comment glued to a word", in: "maxconn 10#x", want: []string{"maxconn", "10"}},
		{name: "hash in double quotes", in: `stats realm "a # b"`, want: []string{"stats", "realm", "a # b"}},
		{name: "hash in single quotes", in: `stats realm 'a # b' # c`, want: []string{"stats", "realm", "a # b"}},
		{name: "escaped hash", in: `path_beg /a\#b`, want: []string{"path_beg", "/a#b"}},
		{name: "double quotes group words", in: `a "b c" d`, want: []string{"a", "b c", "d"}},
		{name: "double quotes glued to text", in: `x"y z"w`, want: []string{"xy zw"}},
		{name: "escaped double quote", in: `"say \"hi\""`, want: []string{`say "hi"`}},
		{name: "escaped backslash in double quotes", in: `"a\\b"`, want: []string{`a\b`}},
		{name: "escapes in double quotes", in: `"\r\n\t\x41"`, want: []string{"\r\n\tA"}},
		{name: "single quotes are literal", in: `'a\tb\x41 "c"'`, want: []string{`a\tb\x41 "c"`}},
		{name: "single quote inside double quotes", in: `"it's"`, want: []string{"it's"}},
		{name: "double quote inside single quotes", in: `'say "hi"'`, want: []string{`say "hi"`}},
		{name: "backslash space", in: `a\ b c`, want: []string{"a b", "c"}},
		{name: "backslash before a tab is kept and the tab separates", in: "a\\\tb", want: []string{`a\`, "b"}},
		{name: "escapes outside quotes", in: `\r\n\t`, want: []string{"\r\n\t"}},
		{name: "hex escapes", in: `\x41\x62\x7E\x7e`, want: []string{"Ab~~"}},
		{name: "hex escape high byte", in: `\xff`, want: []string{"\xff"}},
		{name: "backslash before an ordinary character is kept", in: `\a\b`, want: []string{`\a\b`}},
		{name: "regular expression escapes reach the regexp", in: `path_reg \.php$ "^/v\d+/"`, want: []string{"path_reg", `\.php$`, `^/v\d+/`}},
		{name: "escaped dollar outside double quotes is kept", in: `\$`, want: []string{`\$`}},
		{name: "escaped quotes outside quotes", in: `\"\'`, want: []string{`"'`}},
		{name: "escaped backslash", in: `a\\b`, want: []string{`a\b`}},
		{name: "empty double-quoted word", in: `""`, want: []string{""}},
		{name: "empty single-quoted word", in: `''`, want: []string{""}},
		{name: "empty words between words", in: `a "" b '' c`, want: []string{"a", "", "b", "", "c"}},
		{name: "adjacent quotes form one word", in: `"a"'b'"c"`, want: []string{"abc"}},

		{name: "bad hex digit", in: `x \xZ1`, wantErr: `invalid \x escape at column 3`},
		{name: "bad second hex digit", in: `\x4g`, wantErr: `invalid \x escape at column 1`},
		{name: "short hex escape", in: `ab\x4`, wantErr: `invalid \x escape at column 3`},
		{name: "hex escape without digits", in: `\x`, wantErr: `invalid \x escape at column 1`},
		{name: "bad hex in double quotes", in: `a "\xq0"`, wantErr: `invalid \x escape at column 4`},
		{name: "backslash at end of line", in: `abc\`, wantErr: "backslash at end of line (column 4)"},
		{name: "backslash at end in double quotes", in: `"abc\`, wantErr: "backslash at end of line (column 5)"},
		{name: "unmatched double quote", in: `stats realm "abc`, wantErr: `unmatched quote " at column 13`},
		{name: "unmatched single quote", in: `a 'bc`, wantErr: "unmatched quote ' at column 3"},
		{name: "escaped closing double quote", in: `"abc\"`, wantErr: `unmatched quote " at column 1`},
		{name: "NUL byte", in: "ab\x00c", wantErr: "NUL byte at column 3"},
		{name: "NUL byte in double quotes", in: "x \"a\x00\"", wantErr: "NUL byte at column 5"},
		{name: "NUL byte in single quotes", in: "x 'a\x00'", wantErr: "NUL byte at column 5"},
		{name: "NUL from hex escape", in: `a\x00`, wantErr: `NUL byte`},
		{name: "NUL from hex escape in double quotes", in: `"\x00"`, wantErr: `NUL byte`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, undefined, err := wordSplitter{comments: true}.split(tt.in)
			if len(undefined) > 0 {
				t.Fatalf("split(%q) finds undefined variables %q in a line without any", tt.in, undefined)
			}
			if tt.wantErr != "" {
				if err == nil {
					t.Fatalf("split(%q) = %q, want an error containing %q", tt.in, got, tt.wantErr)
				}
				if !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("split(%q) error = %q, want it to contain %q", tt.in, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("split(%q) error: %v", tt.in, err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("split(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

// lexLine is what a test expects lex to produce for one line.
type lexLine struct {
	line  int
	words []string
}

func TestLex(t *testing.T) {
	tooLong := strings.Repeat("a", maxLineLen+1)
	justFits := strings.Repeat("b", maxLineLen)
	tests := []struct {
		name     string
		in       string
		want     []lexLine
		wantErrs []lexLine // words[0] is a substring of the error message
	}{
		{name: "empty file", in: ""},
		{name: "only newlines", in: "\n\n\n"},
		{name: "no final newline", in: "global\n  maxconn 10", want: []lexLine{
			{1, []string{"global"}}, {2, []string{"maxconn", "10"}},
		}},
		{name: "blank and comment lines keep line numbers", in: "global\n\n# comment\n   \n\t# indented\n  maxconn 10\n\n", want: []lexLine{
			{1, []string{"global"}}, {6, []string{"maxconn", "10"}},
		}},
		{name: "CRLF line endings", in: "global\r\n\tmaxconn 10\r\n\r\ndefaults\r\n", want: []lexLine{
			{1, []string{"global"}}, {2, []string{"maxconn", "10"}}, {4, []string{"defaults"}},
		}},
		{name: "a bare CR ends the line, as in HAProxy", in: "a b\rc d\r\n", want: []lexLine{
			{1, []string{"a", "b"}},
		}},
		{name: "vertical tab and form feed separate words", in: "a\vb\fc\n", want: []lexLine{
			{1, []string{"a", "b", "c"}},
		}},
		{name: "CRLF after a quoted word", in: "realm \"x y\"\r\nnext\r\n", want: []lexLine{
			{1, []string{"realm", "x y"}}, {2, []string{"next"}},
		}},
		{name: "final line with CR and no LF", in: "a\r", want: []lexLine{{1, []string{"a"}}}},
		{name: "empty quoted word is a line", in: "\"\"\n", want: []lexLine{{1, []string{""}}}},
		{
			name:     "bad lines are skipped and reported, later lines still read",
			in:       "a \"b\nok 1\nc 'd\nok 2\nbad \\x4\n",
			want:     []lexLine{{2, []string{"ok", "1"}}, {4, []string{"ok", "2"}}},
			wantErrs: []lexLine{{1, []string{`unmatched quote " at column 3`}}, {3, []string{"unmatched quote ' at column 3"}}, {5, []string{`invalid \x escape at column 5`}}},
		},
		{
			name:     "NUL byte",
			in:       "global\nmax\x00conn 1\nnext\n",
			want:     []lexLine{{1, []string{"global"}}, {3, []string{"next"}}},
			wantErrs: []lexLine{{2, []string{"NUL byte at column 4"}}},
		},
		{
			name:     "over-long line",
			in:       "first\n" + tooLong + "\nlast\n",
			want:     []lexLine{{1, []string{"first"}}, {3, []string{"last"}}},
			wantErrs: []lexLine{{2, []string{"line too long (65537 bytes, at most 65536)"}}},
		},
		{
			name: "line of exactly the maximum length",
			in:   justFits + "\r\n",
			want: []lexLine{{1, []string{justFits}}},
		},
		{
			name:     "over-long line without newline",
			in:       tooLong,
			wantErrs: []lexLine{{1, []string{"line too long"}}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lines, errs, _ := (&lexer{}).lex("test.cfg", []byte(tt.in))
			var got []lexLine
			for _, l := range lines {
				if l.pos.File != "test.cfg" {
					t.Errorf("line %d: file = %q, want test.cfg", l.pos.Line, l.pos.File)
				}
				got = append(got, lexLine{l.pos.Line, l.words})
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("lines = %+v, want %+v", got, tt.want)
			}
			if len(errs) != len(tt.wantErrs) {
				t.Fatalf("got %d errors %v, want %d", len(errs), errs, len(tt.wantErrs))
			}
			for i, e := range errs {
				w := tt.wantErrs[i]
				if e.Pos.File != "test.cfg" || e.Pos.Line != w.line {
					t.Errorf("error %d at %s, want test.cfg:%d", i, e.Pos, w.line)
				}
				if !strings.Contains(e.Msg, w.words[0]) {
					t.Errorf("error %d = %q, want it to contain %q", i, e.Msg, w.words[0])
				}
				if want := "parsing [test.cfg:"; !strings.HasPrefix(e.Error(), want) {
					t.Errorf("error %d renders as %q, want prefix %q", i, e.Error(), want)
				}
			}
		})
	}
}

func TestUnescape(t *testing.T) {
	tests := []struct {
		in   string
		i    int
		want string
		n    int
	}{
		{`\r`, 0, "\r", 2},
		{`\n`, 0, "\n", 2},
		{`\t`, 0, "\t", 2},
		{`ab\x4Fz`, 2, "O", 4},
		{`\xaB`, 0, "\xab", 4},
		{`\ `, 0, " ", 2},
		{`\"`, 0, `"`, 2},
		{`\'`, 0, `'`, 2},
		{`\#`, 0, "#", 2},
		{`\\`, 0, `\`, 2},
		{`\.`, 0, `\`, 1},
		{`\$`, 0, `\`, 1},
	}
	for _, tt := range tests {
		got, n, err := wordSplitter{comments: true}.unescape(tt.in, tt.i, false)
		if err != nil || got != tt.want || n != tt.n {
			t.Errorf("unescape(%q, %d) = %q, %d, %v; want %q, %d, nil", tt.in, tt.i, got, n, err, tt.want, tt.n)
		}
	}
}
