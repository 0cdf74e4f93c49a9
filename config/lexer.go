package config

import (
	"fmt"
	"sort"
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
// splits each line into words, expands the variables in them, and applies
// conditional blocks and the directives that report messages, so that the
// parser sees only the lines in force.
type lexer struct {
	// vars looks up environment variables (HAProxy's implicit ones
	// included); nil means that none is set.
	vars func(name string) (string, bool)
	// diag keeps the messages of '.diag' lines, which HAProxy prints
	// only in diagnostic mode (-dD).
	diag bool
}

func (lx *lexer) lookup(name string) (string, bool) {
	if lx.vars == nil {
		return "", false
	}
	return lx.vars(name)
}

// lex splits a configuration file into lines of words the way HAProxy does:
// words are separated by blanks (space, tab, vertical tab, form feed); a
// carriage return ends the line; '#' starts a comment outside quotes;
// double quotes group words, honour escapes and expand variables; single
// quotes group words literally; outside single quotes a backslash escapes
// a blank, a quote, '#' or itself and understands \r \n \t \xHH. Lexical errors are
// returned per line and the line is skipped, so that one mistake does not
// hide the ones after it.
//
// Lines between '.if' and '.endif' are kept or dropped as the conditions
// say. A dropped line is still split into words, as HAProxy does, so that
// the directives in it are found and a quoting mistake is reported
// wherever it is; but its variables need no value, and its keywords are
// not read.
func (lx *lexer) lex(file string, data []byte) ([]line, []*Error, []Diagnostic) {
	var (
		lines   []line
		errs    []*Error
		diags   []Diagnostic
		blocks  []condBlock // the '.if' blocks open, outermost first
		section string      // what .SECTION names: the current section's name, or its keyword
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
			return lx.lookup(name)
		}}
		words, undefined, err := ws.split(raw)
		if err != nil {
			errs = append(errs, errorf(pos, "%v", err))
			continue
		}
		if len(words) == 0 {
			continue
		}
		if kw := words[0]; kw == ".if" || kw == ".elif" || kw == ".else" || kw == ".endif" {
			var e []*Error
			var d *Diagnostic
			blocks, e, d = lx.conditional(blocks, pos, words, undefined)
			errs = append(errs, e...)
			if d != nil {
				diags = append(diags, *d)
			}
			continue
		}
		if len(blocks) > 0 && blocks[len(blocks)-1].state != blockTaking {
			continue // a dropped branch
		}
		if len(undefined) > 0 {
			for _, name := range undefined {
				errs = append(errs, undefinedVar(pos, name))
			}
			continue
		}
		if d := ws.readsMoreThanHAProxy(pos, raw, words); d != nil {
			diags = append(diags, *d)
		}
		if strings.HasPrefix(words[0], ".") {
			d, e := lx.message(pos, words)
			if d != nil {
				diags = append(diags, *d)
			}
			if e != nil {
				errs = append(errs, e)
			}
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
	// Blocks do not run across files: each file is read on its own, as
	// in HAProxy.
	for _, b := range blocks {
		errs = append(errs, errorf(b.pos, "'.if' is never closed: no '.endif' for it before the end of the file"))
	}
	sort.SliceStable(errs, func(i, j int) bool { return errs[i].Pos.Line < errs[j].Pos.Line })
	return lines, errs, diags
}

// condBlock is one '.if' ... '.endif' block being read.
type condBlock struct {
	pos     Pos // of its '.if'
	state   blockState
	sawElse bool
}

type blockState int

const (
	blockTaking  blockState = iota // the lines of the current branch are read
	blockWaiting                   // no branch taken yet: a later '.elif' or '.else' may be
	blockDone                      // a branch was taken, an outer block drops this one, or its condition was wrong: the rest is dropped
)

// maxCondBlocks bounds how deeply '.if' blocks nest. HAProxy's
// MAXNESTEDCONDS is 100, but it counts the level being opened and refuses
// the 100th, so 99 is what a configuration can use there.
const maxCondBlocks = 99

// conditional applies a '.if', '.elif', '.else' or '.endif' line to the
// open blocks. A wrong directive is reported and applied as well as it can
// be, so that the lines after it are kept or dropped as meant: a block
// whose condition is wrong drops all its branches, so that none of them
// adds errors of its own. A condition that is missing is false, as in
// HAProxy, with a notice, since a bare '.if' is more likely a slip than
// meant.
func (lx *lexer) conditional(blocks []condBlock, pos Pos, words, undefined []string) ([]condBlock, []*Error, *Diagnostic) {
	var (
		errs []*Error
		note *Diagnostic
	)
	kw := words[0]
	var top *condBlock
	if len(blocks) > 0 {
		top = &blocks[len(blocks)-1]
	}
	// evaluate reads the condition of a '.if' or '.elif' whose branch
	// might be taken.
	evaluate := func() blockState {
		if len(words) == 1 {
			note = &Diagnostic{Severity: Notice, Pos: pos, Msg: fmt.Sprintf("'%s' has no condition, so it is false, as in HAProxy", kw)}
			return blockWaiting
		}
		if len(undefined) > 0 {
			for _, name := range undefined {
				errs = append(errs, undefinedVar(pos, name))
			}
			return blockDone
		}
		v, err := evalCfgCond(strings.Join(words[1:], " "), lx.lookup)
		switch {
		case err != nil:
			errs = append(errs, errorf(pos, "'%s' %v", kw, err))
			return blockDone
		case v:
			return blockTaking
		default:
			return blockWaiting
		}
	}
	switch kw {
	case ".if":
		b := condBlock{pos: pos, state: blockDone}
		switch {
		case len(blocks) == maxCondBlocks:
			// Once: the blocks inside are dropped, and say nothing.
			errs = append(errs, errorf(pos, "'.if' nested more than %d deep", maxCondBlocks))
		case top == nil || top.state == blockTaking:
			b.state = evaluate()
		}
		return append(blocks, b), errs, note
	case ".elif":
		switch {
		case top == nil:
			return blocks, append(errs, errorf(pos, "'.elif' without an '.if' before it")), nil
		case top.sawElse:
			errs = append(errs, errorf(pos, "'.elif' after the '.else' of the '.if' at %s", top.pos))
			top.state = blockDone
		case top.state == blockWaiting:
			top.state = evaluate()
		default:
			top.state = blockDone
		}
		return blocks, errs, note
	}
	if len(words) > 1 {
		errs = append(errs, errorf(pos, "unexpected argument '%s' after '%s', which takes none", words[1], kw))
	}
	if top == nil {
		return blocks, append(errs, errorf(pos, "'%s' without an '.if' before it", kw)), nil
	}
	if kw == ".endif" {
		return blocks[:len(blocks)-1], errs, nil
	}
	switch {
	case top.sawElse:
		errs = append(errs, errorf(pos, "a second '.else' for the '.if' at %s", top.pos))
		top.state = blockDone
	case top.state == blockWaiting:
		top.state = blockTaking
	default:
		top.state = blockDone
	}
	top.sawElse = true
	return blocks, errs, note
}

// message handles the directives that report a message, '.diag',
// '.notice', '.warning' and '.alert': a message at that level, the alert
// making the configuration invalid. Any other word starting with a dot is
// an unknown directive.
func (lx *lexer) message(pos Pos, words []string) (*Diagnostic, *Error) {
	kw := words[0]
	var sev Severity
	switch kw {
	case ".diag":
		sev = Diag
	case ".notice":
		sev = Notice
	case ".warning":
		sev = Warning
	case ".alert":
	default:
		return nil, errorf(pos, "unknown directive '%s' (there are .if, .elif, .else, .endif, .diag, .notice, .warning and .alert)", kw)
	}
	// A directive without a message reports an empty one, as HAProxy's
	// does.
	if len(words) == 1 {
		words = append(words, "")
	}
	switch {
	case len(words) > 2:
		return nil, errorf(pos, "unexpected argument '%s' after the message of '%s': put a message with spaces in quotes", words[2], kw)
	}
	msg := "'" + words[1] + "'"
	switch {
	case kw == ".alert":
		return nil, errorf(pos, "%s", msg)
	case sev == Diag && !lx.diag:
		return nil, nil
	}
	return &Diagnostic{Severity: sev, Pos: pos, Msg: msg}, nil
}

// wordSplitter splits one line into words.
type wordSplitter struct {
	// comments makes '#' outside quotes start a comment; 'fjord -cc'
	// reads its expression without them, as 'haproxy -cc' does.
	comments bool
	// vars looks up the variables "${NAME}" names, pseudo-variables
	// (.FILE, .LINE, .SECTION) included; nil means none is set.
	vars func(name string) (string, bool)
	// exact splits "[*]" values as HAProxy does, empty words included.
	exact bool
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
		case c == ' ' || c == '\t' || c == '\v' || c == '\f':
			// HAProxy's parse_line splits on every isspace byte.
			w.flush()
		case c == '#' && ws.comments, c == '\r':
			// A carriage return ends the line there, as in HAProxy,
			// rather than becoming part of a word nobody can see.
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
					r, n, err := ws.unescape(s, j, true)
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
					w.add(x, ws.exact)
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
			r, n, err := ws.unescape(s, i, false)
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
// text and the number of input bytes it used. As in HAProxy's parse_line,
// a backslash only escapes what would otherwise mean something (a blank, a
// backslash, a quote, '#', and '$' inside double quotes) and writes \r, \n,
// \t and \xHH; before anything else it is an ordinary character, so that
// '\.' in a regular expression reaches it as written.
func (ws wordSplitter) unescape(s string, i int, inDouble bool) (string, int, error) {
	if i+1 >= len(s) {
		return "", 0, fmt.Errorf("backslash at end of line (column %d)", i+1)
	}
	switch c := s[i+1]; c {
	case ' ', '\\', '\'', '"':
		return string(c), 2, nil
	case '#':
		if ws.comments {
			return "#", 2, nil
		}
	case '$':
		if inDouble {
			return "$", 2, nil
		}
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
	}
	return "\\", 1, nil
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
