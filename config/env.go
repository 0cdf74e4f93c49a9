package config

import (
	"fmt"
	"os"
	"regexp"
	"strings"
)

// Environment variables, as HAProxy expands them (configuration.txt 2.3,
// parse_line in src/tools.c): only inside double quotes, as "$NAME" or
// "${NAME}", with "${NAME-default}" for a variable that is not set and
// "${NAME[*]}" to make a value of several words several words.

// pseudoVars are the variables HAProxy resolves itself, from where the
// line is; they are the only names that start with a dot.
var pseudoVars = []string{".FILE", ".LINE", ".SECTION"}

// expansion is one "$NAME" or "${...}" read from a line.
type expansion struct {
	n       int    // bytes of the line it spans
	name    string // the variable's name
	value   string // its value, its default, or "" when neither
	defined bool   // it has a value or a default
	split   bool   // "${NAME[*]}": the value is several words
}

// expand reads the variable reference at s[i], which is '$' inside double
// quotes.
func (ws wordSplitter) expand(s string, i int) (expansion, error) {
	j := i + 1
	brace := j < len(s) && s[j] == '{'
	if brace {
		j++
	}
	if j >= len(s) || !isVarStart(s[j]) {
		next := "the end of the line"
		if j < len(s) {
			next = fmt.Sprintf("%q", s[j:j+1])
			if ' ' < s[j] && s[j] < 0x7f {
				next = fmt.Sprintf("'%c'", s[j])
			}
		}
		return expansion{}, fmt.Errorf("'%s' at column %d is followed by %s, not by a variable name (a letter, '_' or '.'); write \\$ for a '$' inside double quotes", s[i:j], i+1, next)
	}
	start := j
	if s[j] == '.' {
		j++
	}
	for j < len(s) && isVarChar(s[j]) {
		j++
	}
	x := expansion{name: s[start:j]}
	if x.name[0] == '.' && !contains(pseudoVars, x.name) {
		return expansion{}, fmt.Errorf("unknown variable '%s' at column %d: the names HAProxy resolves itself are %s", x.name, start+1, strings.Join(pseudoVars, ", "))
	}
	if ws.vars != nil {
		x.value, x.defined = ws.vars(x.name)
	}
	if brace {
		if j < len(s) && s[j] == '[' {
			if !strings.HasPrefix(s[j:], "[*]") {
				return expansion{}, fmt.Errorf("'${%s' followed by '[' at column %d: only '[*]' may follow a variable's name", x.name, j+1)
			}
			x.split = true
			j += len("[*]")
		}
		if j < len(s) && s[j] == '-' {
			// The default runs to the first '}', taken as written.
			end := strings.IndexByte(s[j:], '}')
			if end < 0 {
				return expansion{}, fmt.Errorf("'${' at column %d has no closing '}'", i+1)
			}
			if !x.defined {
				x.value, x.defined = s[j+1:j+end], true
			}
			j += end
		}
		if j >= len(s) || s[j] != '}' {
			return expansion{}, fmt.Errorf("'${' at column %d has no closing '}' after the name '%s'", i+1, x.name)
		}
		j++
	}
	if strings.IndexByte(x.value, 0) >= 0 {
		return expansion{}, fmt.Errorf("variable '%s' at column %d holds a NUL byte", x.name, start+1)
	}
	x.n = j - i
	return x, nil
}

func isVarStart(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '_' || c == '.'
}

func isVarChar(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_'
}

// add appends an expanded variable to the words. A "[*]" value is split at
// every run of white space, as HAProxy does; unlike HAProxy, white space at
// its ends and an empty value make no empty word, since fjord would read an
// empty word as an argument where HAProxy stops reading the line. exact
// makes them as HAProxy does, to tell where it would read a line otherwise.
func (w *wordList) add(x expansion, exact bool) {
	if !x.split {
		w.cur.WriteString(x.value)
		return
	}
	v := x.value
	for len(v) > 0 {
		if k := strings.IndexFunc(v, isSpace); k != 0 {
			if k < 0 {
				k = len(v)
			}
			w.cur.WriteString(v[:k])
			v = v[k:]
			continue
		}
		if exact || w.cur.Len() > 0 {
			w.inTok = true
			w.flush()
		}
		v = strings.TrimLeftFunc(v, isSpace)
	}
	w.inTok = exact || w.cur.Len() > 0
}

// readsMoreThanHAProxy returns a notice when "[*]" values make HAProxy
// read less of the line at pos than fjord does, as its empty words do.
func (ws wordSplitter) readsMoreThanHAProxy(pos Pos, raw string, words []string) *Diagnostic {
	hw := ws.haproxyReading(raw, words)
	if hw == nil {
		return nil
	}
	read := "would skip this line"
	if len(hw) > 0 {
		read = fmt.Sprintf("would read only '%s' here", strings.Join(hw, " "))
	}
	return &Diagnostic{Severity: Notice, Pos: pos, Msg: fmt.Sprintf(
		"HAProxy %s: it stops at the empty word that %s makes when it is empty or has white space at an end; fjord makes no empty word and reads '%s'",
		read, splitVarsIn(raw), strings.Join(words, " "))}
}

// haproxyReading returns the words HAProxy would read on a line whose
// "[*]" values make empty words, when they are not fjord's words: HAProxy's
// keyword parsers stop at the first empty word. It returns nil when HAProxy
// reads the line as fjord does.
func (ws wordSplitter) haproxyReading(s string, words []string) []string {
	if !strings.Contains(s, "[*]") {
		return nil
	}
	ws.exact = true
	exact, _, err := ws.split(s)
	if err != nil || equalWords(exact, words) {
		return nil
	}
	for i, w := range exact {
		if w == "" {
			exact = exact[:i]
			break
		}
	}
	if equalWords(exact, words) {
		return nil
	}
	return exact
}

// splitVarsIn names the "${NAME[*]}" of a line, for messages.
func splitVarsIn(s string) string {
	var names []string
	for _, m := range splitVarRE.FindAllString(s, -1) {
		if m += "}"; !contains(names, m) {
			names = append(names, m)
		}
	}
	if len(names) == 0 {
		return "a '${NAME[*]}' value"
	}
	return "the value of '" + strings.Join(names, "' or '") + "'"
}

var splitVarRE = regexp.MustCompile(`\$\{[A-Za-z_][A-Za-z0-9_]*\[\*\]`)

func equalWords(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// isSpace is C's isspace, which HAProxy splits "[*]" values with.
func isSpace(r rune) bool {
	return r == ' ' || r == '\t' || r == '\n' || r == '\v' || r == '\f' || r == '\r'
}

// undefinedVar is the error for a variable used without a value or a
// default. HAProxy substitutes an empty string, which silently changes
// what the line means (an address without its port, a timeout of zero).
func undefinedVar(pos Pos, name string) *Error {
	return errorf(pos, "environment variable '%s' is not set (HAProxy would use an empty string; write \"${%s-}\" if that is meant, or give a default: \"${%s-DEFAULT}\")", name, name, name)
}

// environment is where a configuration's variables come from: the
// process environment (or what Options.LookupEnv gives) and the variables
// HAProxy defines itself before it reads its files.
func environment(opts Options) func(string) (string, bool) {
	lookup := opts.LookupEnv
	if lookup == nil {
		lookup = os.LookupEnv
	}
	peer := opts.LocalPeer
	if peer == "" {
		// As HAProxy does when '-L' is not given; an error leaves
		// the name empty, as gethostname's does there.
		peer, _ = os.Hostname()
	}
	return func(name string) (string, bool) {
		if name == "HAPROXY_LOCALPEER" {
			return peer, true
		}
		return lookup(name)
	}
}
