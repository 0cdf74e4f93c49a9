package config

import (
	"fmt"
	"strconv"
	"strings"
)

// Pos names a place in a configuration file. Line is 1-based; a zero Line
// means the whole file (for example when it cannot be read).
type Pos struct {
	File string
	Line int
}

func (p Pos) String() string {
	if p.Line == 0 {
		return p.File
	}
	return fmt.Sprintf("%s:%d", p.File, p.Line)
}

// line is one logical configuration line split into words.
type line struct {
	pos   Pos
	words []string
}

// maxLineLen bounds a single line, as HAProxy's LINESIZE does, so that a
// file without newlines cannot make the lexer hold an arbitrary token.
const maxLineLen = 64 * 1024

// lexer reads configuration files the way HAProxy's readcfgfile does: it
// splits each line into words and expands the variables in them, so that
// the parser sees the words in force.
type lexer struct {
	// vars looks up environment variables (HAProxy's implicit ones
	// included); nil means that none is set.
	vars func(name string) (string, bool)
}

// lex splits a configuration file into lines of words the way HAProxy does:
// words are separated by spaces or tabs; '#' starts a comment outside quotes;
// double quotes group words, honour escapes and expand variables; single
// quotes group words literally; outside single quotes a backslash escapes
// the next character and understands \r \n \t \xHH. Lexical errors are
// returned per line and the line is skipped, so that one mistake does not
// hide the ones after it.
func (lx *lexer) lex(file string, data []byte) ([]line, []*Error) {
	var (
		lines   []line
		errs    []*Error
		section string // what .SECTION names: the current section's name, or its keyword
	)
	text := string(data)
	for n := 1; len(text) > 0; n++ {
		raw := text
		if i := strings.IndexByte(text, '\n'); i >= 0 {
			raw, text = text[:i], text[i+1:]
		} else {
			text = ""
		}
		raw = strings.TrimSuffix(raw, "\r")
		pos := Pos{File: file, Line: n}
		if len(raw) > maxLineLen {
			errs = append(errs, errorf(pos, "line too long (%d bytes, at most %d)", len(raw), maxLineLen))
			continue
		}
		ws := wordSplitter{comments: true, vars: func(name string) (string, bool) {
			switch name {
			case ".FILE":
				return file, true
			case ".LINE":
				return strconv.Itoa(n), true
			case ".SECTION":
				return section, true
			}
			if lx.vars == nil {
				return "", false
			}
			return lx.vars(name)
		}}
		words, undefined, err := ws.split(raw)
		if err != nil {
			errs = append(errs, errorf(pos, "%v", err))
			continue
		}
		if len(undefined) > 0 {
			for _, name := range undefined {
				errs = append(errs, undefinedVar(pos, name))
			}
			continue
		}
		if len(words) == 0 {
			continue
		}
		// HAProxy names the section once its opening line is read, so
		// on that line .SECTION is still the previous one.
		if sectionKeywords[words[0]] {
			section = words[0]
			if len(words) > 1 && words[1] != "" {
				section = words[1]
			}
		}
		lines = append(lines, line{pos: pos, words: words})
	}
	return lines, errs
}

// wordSplitter splits one line into words.
type wordSplitter struct {
	// comments makes '#' outside quotes start a comment; 'fjord -cc'
	// reads its expression without them, as 'haproxy -cc' does.
	comments bool
	// vars looks up the variables "${NAME}" names, pseudo-variables
	// (.FILE, .LINE, .SECTION) included; nil means none is set.
	vars func(name string) (string, bool)
}

// wordList accumulates the words of a line.
type wordList struct {
	list  []string
	cur   strings.Builder
	inTok bool // a word has started (possibly empty, as in "")
}

func (w *wordList) flush() {
	if w.inTok {
		w.list = append(w.list, w.cur.String())
		w.cur.Reset()
		w.inTok = false
	}
}

// split returns the words of s and the names of the variables it uses
// that have no value and no default (each once, in order).
func (ws wordSplitter) split(s string) ([]string, []string, error) {
	// A NUL byte is refused wherever it is, quotes included: words end up
	// in C-string-like places (paths, header values) where it truncates.
	if i := strings.IndexByte(s, 0); i >= 0 {
		return nil, nil, fmt.Errorf("NUL byte at column %d", i+1)
	}
	var (
		w         wordList
		undefined []string
	)
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ' ' || c == '\t':
			w.flush()
		case c == '#' && ws.comments:
			w.flush()
			return w.list, undefined, nil
		case c == '\'':
			w.inTok = true
			end := strings.IndexByte(s[i+1:], '\'')
			if end < 0 {
				return nil, nil, fmt.Errorf("unmatched quote ' at column %d", i+1)
			}
			w.cur.WriteString(s[i+1 : i+1+end])
			i += end + 1
		case c == '"':
			w.inTok = true
			j := i + 1
			for ; j < len(s) && s[j] != '"'; j++ {
				switch s[j] {
				case '\\':
					r, n, err := unescape(s, j)
					if err != nil {
						return nil, nil, err
					}
					w.cur.WriteString(r)
					w.inTok = true
					j += n - 1
				case '$':
					x, err := ws.expand(s, j)
					if err != nil {
						return nil, nil, err
					}
					if !x.defined && !contains(undefined, x.name) {
						undefined = append(undefined, x.name)
					}
					w.add(x)
					j += x.n - 1
				default:
					// A "[*]" before may have ended the word.
					w.cur.WriteByte(s[j])
					w.inTok = true
				}
			}
			if j >= len(s) {
				return nil, nil, fmt.Errorf("unmatched quote \" at column %d", i+1)
			}
			i = j
		case c == '\\':
			w.inTok = true
			r, n, err := unescape(s, i)
			if err != nil {
				return nil, nil, err
			}
			w.cur.WriteString(r)
			i += n - 1
		default:
			w.inTok = true
			w.cur.WriteByte(c)
		}
	}
	w.flush()
	return w.list, undefined, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// unescape decodes the backslash sequence at s[i] and returns the decoded
// text and the number of input bytes it used.
func unescape(s string, i int) (string, int, error) {
	if i+1 >= len(s) {
		return "", 0, fmt.Errorf("backslash at end of line (column %d)", i+1)
	}
	switch c := s[i+1]; c {
	case 'r':
		return "\r", 2, nil
	case 'n':
		return "\n", 2, nil
	case 't':
		return "\t", 2, nil
	case 'x':
		if i+3 >= len(s) || !isHex(s[i+2]) || !isHex(s[i+3]) {
			return "", 0, fmt.Errorf("invalid \\x escape at column %d: two hex digits expected", i+1)
		}
		b := unhex(s[i+2])<<4 | unhex(s[i+3])
		if b == 0 {
			return "", 0, fmt.Errorf("invalid \\x00 escape at column %d: NUL bytes are not allowed", i+1)
		}
		return string([]byte{b}), 4, nil
	default:
		return string(c), 2, nil
	}
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c <= 'F':
		return c - 'A' + 10
	default:
		return c - 'a' + 10
	}
}
