package rules

import (
	"fmt"
	"unsafe"

	"github.com/fjordlb/fjord/config"
)

// Values are read-only: a converter that changes a sample builds the
// result in the Txn's scratch and never writes into its input, which may
// alias the request, a variable or a string of the configuration.

// fetchFn gives a fetch's value. In an ACL (it.all) a fetch with several
// values (hdr(), a cookie, the ALPN list) gives them one a call, setting
// it.more while another may follow; elsewhere it gives the one HAProxy
// gives (for hdr(), the last).
type fetchFn func(t *Txn, args []config.Arg, it *iter) (Value, bool)

// convFn applies a converter to v, which has been cast to the type the
// converter takes (Txn.cast). ok false: no sample.
type convFn func(t *Txn, args []config.Arg, v Value) (Value, bool)

// convMaker builds a converter's function once, when an expression is
// compiled, for converters that prepare something from their arguments
// (a map's lookup structure, a regular expression's variants).
type convMaker func(cp *Compiler, args []config.Arg) convFn

// iter is a multi-valued fetch's position.
type iter struct {
	all    bool
	more   bool
	h, off int // hdr(), cookies: the header, and the offset in its value; url_param: the offset in the URI
	end    int // cookies: the end of the header's element being read, 0 for none
}

// fetchFns, convFns and convMakers are the implementations, by config's
// names (fetch_*.go, conv_*.go register theirs in init). A converter is in
// convFns or in convMakers.
var (
	fetchFns   = map[string]fetchFn{}
	convFns    = map[string]convFn{}
	convMakers = map[string]convMaker{}
)

// Expr is a compiled sample expression.
type Expr struct {
	conf  *config.Expr
	fetch fetchFn
	args  []config.Arg
	convs []convStep
}

type convStep struct {
	fn   convFn
	args []config.Arg
	in   config.SampleType // what fn takes: the value is cast to it first
}

// CompileExpr compiles an expression config read, on its own (see
// Compiler.Expr).
func CompileExpr(e *config.Expr) *Expr { return NewCompiler().Expr(e) }

// Expr compiles an expression config read. Every name config accepts has
// an implementation (a test checks it); a missing one is a programming
// error.
func (cp *Compiler) Expr(e *config.Expr) *Expr {
	f := fetchFns[e.Fetch.Name]
	if f == nil {
		panic(fmt.Sprintf("rules: no implementation of sample fetch %q", e.Fetch.Name))
	}
	x := &Expr{conf: e, fetch: f, args: e.Fetch.Args}
	for _, c := range e.Convs {
		fn := convFns[c.Name]
		if mk := convMakers[c.Name]; mk != nil {
			fn = mk(cp, c.Args)
		}
		spec := config.ConverterSpec(c.Name)
		if fn == nil || spec == nil {
			panic(fmt.Sprintf("rules: no implementation of converter %q", c.Name))
		}
		x.convs = append(x.convs, convStep{fn: fn, args: c.Args, in: spec.In})
	}
	return x
}

// String is the expression as written.
func (e *Expr) String() string { return e.conf.Text }

// Eval evaluates the expression; ok is false when there is no sample.
func (e *Expr) Eval(t *Txn) (Value, bool) {
	t.it = iter{}
	return e.next(t, &t.it)
}

// next gives the expression's next value (see fetchFn).
func (e *Expr) next(t *Txn, it *iter) (Value, bool) {
	for {
		it.more = false
		t.mayChange = false
		v, ok := e.fetch(t, e.args, it)
		if ok {
			for i := range e.convs {
				c := &e.convs[i]
				if v.Type != c.in && c.in != config.TypeAny {
					if v, ok = t.cast(v, c.in); !ok {
						break
					}
				}
				if v, ok = c.fn(t, c.args, v); !ok {
					break
				}
			}
		}
		if ok || !it.more {
			return v, ok
		}
		// A converter refused this value: try the next one.
	}
}

// AppendText evaluates the expression and appends its text, nothing
// when there is no sample (log-format's %[...]).
func (e *Expr) AppendText(dst []byte, t *Txn) []byte {
	v, ok := e.Eval(t)
	if !ok {
		return dst
	}
	return v.appendText(dst)
}

// strBytes is a read-only view of s as bytes, without copying.
func strBytes(s string) []byte {
	if s == "" {
		return nil
	}
	return unsafe.Slice(unsafe.StringData(s), len(s))
}
