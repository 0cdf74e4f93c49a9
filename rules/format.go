package rules

import "github.com/fjordlb/fjord/config"

// Format is a compiled log-format string of an action: literal text and
// sample expressions, rendered per request.
type Format struct {
	parts []fmtPart
	lit   []byte // the whole text when there is no expression
}

type fmtPart struct {
	lit  []byte
	expr *Expr
}

func compileFormat(f *config.Format) *Format {
	if f == nil {
		return nil
	}
	out := &Format{}
	if f.Constant() {
		for _, p := range f.Parts {
			out.lit = append(out.lit, p.Lit...)
		}
		if out.lit == nil {
			out.lit = []byte{}
		}
		return out
	}
	for _, p := range f.Parts {
		if p.Expr != nil {
			out.parts = append(out.parts, fmtPart{expr: CompileExpr(p.Expr)})
		} else {
			out.parts = append(out.parts, fmtPart{lit: []byte(p.Lit)})
		}
	}
	return out
}

// render builds the value in the Txn's rendered buffer (or returns the
// constant text as it is). Expressions build in scratch; the text is
// joined in another buffer so that one part's converters cannot land in
// the middle of the value.
func (f *Format) render(t *Txn) []byte {
	if f.lit != nil {
		return f.lit
	}
	off := len(t.rendered)
	for _, p := range f.parts {
		if p.expr != nil {
			if v, ok := p.expr.Eval(t); ok {
				t.rendered = v.appendText(t.rendered)
			}
			continue
		}
		t.rendered = append(t.rendered, p.lit...)
	}
	return t.rendered[off:len(t.rendered):len(t.rendered)]
}

// Format compiles a log-format string for the engine (a dynamic
// use_backend name).
func (cp *Compiler) Format(f *config.Format) *Format { return compileFormat(f) }

// Render builds the text; the result is valid until the Txn is reset.
func (f *Format) Render(t *Txn) []byte { return f.render(t) }
