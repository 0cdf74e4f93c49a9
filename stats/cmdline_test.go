package stats

import (
	"slices"
	"strings"
	"testing"
)

func TestSplitCommands(t *testing.T) {
	for _, tt := range []struct {
		line string
		want []string
	}{
		{"", []string{""}},
		{"show info", []string{"show info"}},
		{"show info;show stat", []string{"show info", "show stat"}},
		{"show info;", []string{"show info", ""}},
		{";;", []string{"", "", ""}},
		{`a\;b;c`, []string{`a\;b`, "c"}},   // an escaped ';' does not split
		{`a\\;b`, []string{`a\\`, "b"}},     // an escaped '\' does not escape the ';'
		{`a\\\;b`, []string{`a\\\;b`}},      // '\\' then '\;'
		{`a\`, []string{`a\`}},              // a final backslash stays for commandWords
		{"a\\\n;b", []string{"a\\\n", "b"}}, // any byte may be escaped
		{"set weight a/b 1 ;get weight a/b", []string{"set weight a/b 1 ", "get weight a/b"}},
	} {
		if got := splitCommands(tt.line); !slices.Equal(got, tt.want) {
			t.Errorf("splitCommands(%q) = %q, want %q", tt.line, got, tt.want)
		}
	}
}

func TestCommandWords(t *testing.T) {
	for _, tt := range []struct {
		cmd  string
		want []string
	}{
		{"", nil},
		{" \t ", nil},
		{"show stat", []string{"show", "stat"}},
		{"  show\t\tstat  ", []string{"show", "stat"}},
		{`a\ b c`, []string{"a b", "c"}}, // an escaped space joins
		{`a\;b`, []string{"a;b"}},        // the escape goes
		{`a\\b`, []string{`a\b`}},        // "\\" is one backslash
		{`a\b`, []string{"ab"}},          // escaping an ordinary byte keeps the byte
		{`a \`, []string{"a"}},           // a final backslash escapes nothing
		{`\ `, []string{" "}},            // a word that is one space
		{"a\x00b", []string{"a\x00b"}},   // only space and tab separate
		{"a\r\nb", []string{"a\r\nb"}},
	} {
		if got := commandWords(tt.cmd); !slices.Equal(got, tt.want) {
			t.Errorf("commandWords(%q) = %q, want %q", tt.cmd, got, tt.want)
		}
	}
}

// escapeWord is the inverse of commandWords for one word.
func escapeWord(w string) string {
	var b strings.Builder
	for i := 0; i < len(w); i++ {
		if strings.IndexByte(" \t\\;", w[i]) >= 0 {
			b.WriteByte('\\')
		}
		b.WriteByte(w[i])
	}
	return b.String()
}

// FuzzCommandLine: splitting a line into commands only removes the
// separating ';' (joining them back gives the line), words are never
// empty, and words escaped and joined split back into the same words.
func FuzzCommandLine(f *testing.F) {
	for _, s := range []string{"", "show stat", "a;b", `a\;b`, `a\\;b`, `a\ b\`, "\t;\\", "show stat json;help;;", "set weight web/web01 50%"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		cmds := splitCommands(line)
		if got := strings.Join(cmds, ";"); got != line {
			t.Fatalf("splitCommands(%q) = %q joins back to %q", line, cmds, got)
		}
		for _, cmd := range cmds {
			words := commandWords(cmd)
			escaped := make([]string, len(words))
			for i, w := range words {
				if w == "" {
					t.Fatalf("commandWords(%q) = %q: an empty word", cmd, words)
				}
				escaped[i] = escapeWord(w)
			}
			again := strings.Join(escaped, " ")
			if c := splitCommands(again); len(c) != 1 {
				t.Fatalf("escaped words %q split into %q", again, c)
			}
			if back := commandWords(again); !slices.Equal(back, words) {
				t.Fatalf("commandWords(%q) = %q; escaped %q gives %q", cmd, words, again, back)
			}
		}
	})
}
