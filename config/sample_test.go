package config

import (
	"reflect"
	"testing"
)

// Arguments are unquoted as HAProxy's make_arg_list does: a backslash
// escapes only a backslash, a quote or a space (and writes \r, \n, \t);
// before anything else it stays, so that "\1" reaches regsub and "\."
// a regular expression. Single quotes take everything as written.
func TestSplitCallsArguments(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want [][]string // each call's name then its arguments
	}{
		{`path`, [][]string{{"path"}}},
		{`f()`, [][]string{{"f"}}},
		{`f(a,b),g,h(c)`, [][]string{{"f", "a", "b"}, {"g"}, {"h", "c"}}},
		{`f(a,,)`, [][]string{{"f", "a", "", ""}}},
		{`f("a,b",'c)d')`, [][]string{{"f", "a,b", "c)d"}}},
		{`f(\1,a\.b)`, [][]string{{"f", `\1`, `a\.b`}}},
		{`f("\2\1")`, [][]string{{"f", `\2\1`}}},
		{`f('\\x\"')`, [][]string{{"f", `\\x\"`}}},
		{`f(\\,\",\',\ )`, [][]string{{"f", `\`, `"`, `'`, ` `}}},
		{`f(\t\r\n)`, [][]string{{"f", "\t\r\n"}}},
		{`f("\"q\"")`, [][]string{{"f", `"q"`}}},
		// "\," is a lone backslash, and the comma ends the argument.
		{`f(a\,b)`, [][]string{{"f", `a\`, "b"}}},
		{`f(a\)`, [][]string{{"f", `a\`}}},
	} {
		calls, err := splitCalls(tc.in)
		if err != nil {
			t.Errorf("%s: %v", tc.in, err)
			continue
		}
		var got [][]string
		for _, c := range calls {
			got = append(got, append([]string{c.name}, c.args...))
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: got %q, want %q", tc.in, got, tc.want)
		}
	}
}
