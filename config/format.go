package config

import (
	"fmt"
	"strings"
)

// Format is a log-format string as an action's argument takes it
// ("http-request set-header X-Client %[src]"): text and sample
// expressions, built per request.
type Format struct {
	Text  string // as written
	Parts []FormatPart
}

// FormatPart is literal text, or an expression when Expr is set.
type FormatPart struct {
	Lit  string
	Expr *Expr
}

// Constant reports whether the format has no expression, and so always
// gives Text's literal value.
func (f *Format) Constant() bool {
	for _, p := range f.Parts {
		if p.Expr != nil {
			return false
		}
	}
	return true
}

// parseFormat reads a log-format string: text, "%[expr]", "%%" for a
// percent sign and "\" escapes. The log-format aliases (%ci, %T, ...) are
// not available in actions yet: they are refused, naming the alias.
func (p *parser) parseFormat(pos Pos, s string) (*Format, error) {
	f := &Format{Text: s}
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			f.Parts = append(f.Parts, FormatPart{Lit: lit.String()})
			lit.Reset()
		}
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '%' {
			lit.WriteByte(c)
			continue
		}
		if i+1 < len(s) && s[i+1] == '%' {
			lit.WriteByte('%')
			i++
			continue
		}
		if i+1 < len(s) && s[i+1] == '[' {
			end := matchingBracket(s, i+1)
			if end < 0 {
				return nil, fmt.Errorf("log-format '%s': missing ']' after '%%[' at offset %d", s, i)
			}
			e, err := p.parseExpr(pos, s[i+2:end])
			if err != nil {
				return nil, fmt.Errorf("log-format '%s': %v", s, err)
			}
			flush()
			f.Parts = append(f.Parts, FormatPart{Expr: e})
			i = end
			continue
		}
		j := i + 1
		for j < len(s) && (s[j] >= 'a' && s[j] <= 'z' || s[j] >= 'A' && s[j] <= 'Z' || s[j] == '{') {
			j++
		}
		return nil, fmt.Errorf("log-format '%s': the alias '%s' is not available in actions yet (use a sample expression, as %%[src] for %%ci); write '%%%%' for a literal '%%'", s, s[i:j])
	}
	flush()
	return f, nil
}

// matchingBracket returns the index of the ']' closing the '[' at open,
// skipping brackets nested in arguments, or -1.
func matchingBracket(s string, open int) int {
	depth := 0
	for i := open; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '[':
			depth++
		case ']':
			depth--
			if depth == 0 {
				return i
			}
		}
	}
	return -1
}

// Need is what rendering the format reads.
func (f *Format) Need() Reads {
	var r Reads
	for _, p := range f.Parts {
		if p.Expr != nil {
			r |= p.Expr.Need()
		}
	}
	return r
}
