package certs

import (
	"bytes"
	"fmt"
	"strings"
)

// A CrtListEntry is one line of a crt-list file:
//
//	FILE [\[OPTION ...\]] [[!]FILTER ...]
type CrtListEntry struct {
	Line int // its line number in the file, from 1
	// Path is the certificate file as written; Load resolves it against
	// crt-base.
	Path string
	// Options are the words between '[' and ']', for the caller to
	// interpret: the ssl-bind options HAProxy takes there, checked for
	// their names and for a value where one is needed, and no further.
	Options []string
	// Filters are the SNI filters after ']' (or after the file): when
	// there are any, they name what the certificate is served for in
	// place of its own names.
	Filters []Filter
}

// A Filter is an SNI filter of a crt-list line: a server name (exact, or
// a wildcard "*.example.com" for one label), or with Negative a name the
// certificate must not be served for.
type Filter struct {
	Name     string // as written, without the '!'
	Negative bool
}

// Wildcard reports whether the filter is a wildcard, "*.example.com".
func (f Filter) Wildcard() bool { return strings.HasPrefix(f.Name, "*") }

func (f Filter) String() string {
	if f.Negative {
		return "!" + f.Name
	}
	return f.Name
}

// String is the line as a crt-list would hold it.
func (e CrtListEntry) String() string {
	var b strings.Builder
	b.WriteString(e.Path)
	if len(e.Options) > 0 {
		b.WriteString(" [")
		b.WriteString(strings.Join(e.Options, " "))
		b.WriteString("]")
	}
	for _, f := range e.Filters {
		b.WriteString(" ")
		b.WriteString(f.String())
	}
	return b.String()
}

// The limits of HAProxy's crt-list reader (CRT_LINESIZE and MAX_CRT_ARGS
// in include/haproxy/defaults.h): a line is read into 65536 bytes, with
// its newline and a NUL; a line holds at most 2048 words.
const (
	crtLineMax  = 65536 - 2
	crtWordsMax = 2048
)

// crtListOptions are the options HAProxy 2.6 takes between brackets, with
// how many values each takes (ssl_bind_kws in src/cfgparse-ssl.c).
var crtListOptions = map[string]int{
	"allow-0rtt":     0,
	"alpn":           1,
	"ca-file":        1,
	"ca-verify-file": 1,
	"ciphers":        1,
	"ciphersuites":   1,
	"crl-file":       1,
	"curves":         1,
	"ecdhe":          1,
	"no-ca-names":    0,
	"npn":            1,
	"ssl-min-ver":    1,
	"ssl-max-ver":    1,
	"verify":         1,
}

const crtListOptionNames = "allow-0rtt, alpn, ca-file, ca-verify-file, ciphers, ciphersuites, crl-file, curves, ecdhe, no-ca-names, npn, ssl-min-ver, ssl-max-ver, verify"

// ParseCrtList reads a crt-list file as HAProxy 2.6 does
// (crtlist_parse_file and crtlist_parse_line in src/ssl_crtlist.c):
// words split on blanks, '[' and ']'; lines that begin with '#' and blank
// lines skipped. file names the file in errors and warnings, which carry
// its line numbers.
//
// Where HAProxy accepts a line it surely misreads, fjord refuses it ('['
// without ']': HAProxy takes the options for SNI filters) or warns (words
// between the file and '[', which HAProxy drops). A last line without a
// newline, which HAProxy refuses as possibly truncated, is a warning.
// fjord also takes a line whose first non-blank is '#' for a comment,
// where HAProxy would look for a certificate file named '#'.
func ParseCrtList(file string, data []byte) ([]CrtListEntry, []Warning, error) {
	var out []CrtListEntry
	var w warnings
	for n := 1; len(data) > 0; n++ {
		line, rest, hasLF := bytes.Cut(data, []byte("\n"))
		data = rest
		if len(line) > crtLineMax {
			return nil, nil, fmt.Errorf("%s:%d: line too long (%d characters): HAProxy's limit is %d, newline included", file, n, len(line), crtLineMax+1)
		}
		if i := bytes.IndexByte(line, 0); i >= 0 {
			return nil, nil, fmt.Errorf("%s:%d: a NUL character at column %d", file, n, i+1)
		}
		e, ok, err := parseCrtListLine(file, n, string(line), &w)
		if err != nil {
			return nil, nil, err
		}
		if !ok {
			continue
		}
		if !hasLF {
			w.add(file, n, "the last line has no newline: HAProxy 2.6 refuses such a file, taking it for truncated")
		}
		out = append(out, e)
	}
	return out, w.list, nil
}

// isBlank is C's isspace in the C locale, which HAProxy splits words on.
func isBlank(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'
}

// parseCrtListLine reads one line; ok is false for a comment or a blank
// line.
func parseCrtListLine(file string, n int, line string, w *warnings) (e CrtListEntry, ok bool, err error) {
	errorf := func(format string, args ...any) (CrtListEntry, bool, error) {
		return CrtListEntry{}, false, fmt.Errorf("%s:%d: "+format, append([]any{file, n}, args...)...)
	}
	if t := strings.TrimLeft(line, " \t\v\f\r"); t == "" || t[0] == '#' {
		return CrtListEntry{}, false, nil
	}
	// Split as crtlist_parse_line does: openAt and closeAt are the number of
	// words before '[' and before ']', or -1.
	var words []string
	openAt, closeAt := -1, -1
	start := -1
	for i := 0; i <= len(line); i++ {
		c := byte(' ')
		if i < len(line) {
			c = line[i]
		}
		if !isBlank(c) && c != '[' && c != ']' {
			if start < 0 {
				start = i
			}
			continue
		}
		if start >= 0 {
			if len(words) == crtWordsMax {
				return errorf("too many words: HAProxy's limit is %d", crtWordsMax)
			}
			words = append(words, line[start:i])
			start = -1
		}
		switch c {
		case '[':
			switch {
			case openAt >= 0:
				return errorf("too many '['")
			case len(words) == 0:
				return errorf("the line must start with the certificate file, before '['")
			}
			openAt = len(words)
		case ']':
			switch {
			case closeAt >= 0:
				return errorf("too many ']'")
			case openAt < 0:
				return errorf("']' without '['")
			}
			closeAt = len(words)
		}
	}
	if openAt >= 0 && closeAt < 0 {
		return errorf("'[' without ']': HAProxy would take the options for SNI filters")
	}
	e = CrtListEntry{Line: n, Path: words[0]}
	filters := words[1:]
	if openAt >= 0 {
		if openAt > 1 {
			w.add(file, n, "%q, between the file and '[', is ignored, as HAProxy ignores it: SNI filters go after ']'", strings.Join(words[1:openAt], " "))
		}
		if e.Options, err = checkCrtListOptions(words[openAt:closeAt]); err != nil {
			return errorf("%v", err)
		}
		filters = words[closeAt:]
	}
	for _, f := range filters {
		e.Filters = append(e.Filters, parseFilter(file, n, f, w))
	}
	return e, true, nil
}

// checkCrtListOptions checks the options' names and that each has the
// value it needs within the brackets.
func checkCrtListOptions(opts []string) ([]string, error) {
	for i := 0; i < len(opts); i++ {
		nargs, ok := crtListOptions[opts[i]]
		if !ok {
			return nil, fmt.Errorf("unknown option '%s' between brackets (a crt-list line takes %s)", opts[i], crtListOptionNames)
		}
		if i+nargs >= len(opts) && nargs > 0 {
			return nil, fmt.Errorf("'%s' expects a value before ']'", opts[i])
		}
		i += nargs
	}
	if len(opts) == 0 {
		return nil, nil
	}
	return opts, nil
}

// parseFilter reads an SNI filter, and warns of those that HAProxy
// ignores or that can never match.
func parseFilter(file string, n int, word string, w *warnings) Filter {
	f := Filter{Name: word}
	if strings.HasPrefix(word, "!") {
		f = Filter{Name: word[1:], Negative: true}
	}
	switch {
	case strings.HasPrefix(word, "#"):
		w.add(file, n, "'%s' is an SNI filter, for HAProxy and for fjord: a comment takes a line of its own, starting with '#'", word)
	case f.Name == "" || f.Name == "*" && !f.Negative:
		w.add(file, n, "SNI filter '%s' matches nothing: HAProxy ignores it, and so does fjord", word)
	case f.Negative && f.Wildcard() && f.Name != "*":
		w.add(file, n, "negative wildcard '%s' excludes nothing: HAProxy ignores negative wildcards, and so does fjord (only '!*' has a meaning: not the certificate's own names)", word)
	case !f.Negative && f.Wildcard() && (!strings.HasPrefix(f.Name, "*.") || len(f.Name) == 2):
		w.add(file, n, "SNI filter '%s' can never match: a wildcard is '*.' and a domain, as in *.example.com", word)
	}
	return f
}
