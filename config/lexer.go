package config

import (
	"fmt"
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

// lex splits a configuration file into lines of words the way HAProxy does:
// words are separated by spaces or tabs; '#' starts a comment outside quotes;
// double quotes group words and honour escapes; single quotes group words
// literally; outside single quotes a backslash escapes the next character and
// understands \r \n \t \xHH. Lexical errors are returned per line and the
// line is skipped, so that one mistake does not hide the ones after it.
func lex(file string, data []byte) ([]line, []*Error) {
	var (
		lines []line
		errs  []*Error
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
		words, err := splitWords(raw)
		if err != nil {
			errs = append(errs, errorf(pos, "%v", err))
			continue
		}
		if len(words) > 0 {
			lines = append(lines, line{pos: pos, words: words})
		}
	}
	return lines, errs
}

func splitWords(s string) ([]string, error) {
	// A NUL byte is refused wherever it is, quotes included: words end up
	// in C-string-like places (paths, header values) where it truncates.
	if i := strings.IndexByte(s, 0); i >= 0 {
		return nil, fmt.Errorf("NUL byte at column %d", i+1)
	}
	var (
		words []string
		cur   strings.Builder
		inTok bool // a word has started (possibly empty, as in "")
	)
	flush := func() {
		if inTok {
			words = append(words, cur.String())
			cur.Reset()
			inTok = false
		}
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == 0:
			return nil, fmt.Errorf("NUL byte at column %d", i+1)
		case c == ' ' || c == '\t':
			flush()
		case c == '#':
			flush()
			return words, nil
		case c == '\'':
			inTok = true
			end := strings.IndexByte(s[i+1:], '\'')
			if end < 0 {
				return nil, fmt.Errorf("unmatched quote ' at column %d", i+1)
			}
			cur.WriteString(s[i+1 : i+1+end])
			i += end + 1
		case c == '"':
			inTok = true
			j := i + 1
			for ; j < len(s) && s[j] != '"'; j++ {
				if s[j] == '\\' {
					r, n, err := unescape(s, j)
					if err != nil {
						return nil, err
					}
					cur.WriteString(r)
					j += n - 1
					continue
				}
				if s[j] == 0 {
					return nil, fmt.Errorf("NUL byte at column %d", j+1)
				}
				cur.WriteByte(s[j])
			}
			if j >= len(s) {
				return nil, fmt.Errorf("unmatched quote \" at column %d", i+1)
			}
			i = j
		case c == '\\':
			inTok = true
			r, n, err := unescape(s, i)
			if err != nil {
				return nil, err
			}
			cur.WriteString(r)
			i += n - 1
		default:
			inTok = true
			cur.WriteByte(c)
		}
	}
	flush()
	return words, nil
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
