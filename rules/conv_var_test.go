package rules

import (
	"testing"

	"github.com/fjordlb/fjord/config"
)

func sessVar(name string) config.VarName { return config.VarName{Scope: config.ScopeSess, Name: name} }
func txnVar(name string) config.VarName  { return config.VarName{Scope: config.ScopeTxn, Name: name} }

func TestConverterConcat(t *testing.T) {
	head := getHead("/", "Field1: f1_f2\r\n")
	vars := func(tx *Txn) {
		tx.Sess = &Vars{}
		tx.Sess.Set(sessVar("field2"), strValue([]byte("f3__f5")))
		tx.Sess.Set(sessVar("ip"), addrValue(v4Client))
		tx.Sess.Set(sessVar("n"), intValue(42))
		tx.Sess.Set(sessVar("bin"), binValue([]byte("ab\x00cd")))
	}
	s := config.TypeStr
	runSampleCases(t, head, vars, []sampleCase{
		// HAProxy's reg-test converters_ipmask_concat_strcmp_field_word.vtc.
		{"hdr(field1),concat(_,sess.field2,)", "f1_f2_f3__f5", s},
		// configuration.txt's example.
		{"str(),concat(<ip=,sess.ip,>),concat(<n=,sess.n,>)", "<ip=127.0.0.1><n=42>", s},
		{"str(a),concat(-)", "a-", s},
		{"str(a),concat(,,-)", "a-", s},
		{"str(a),concat(-,sess.none,+)", "a-+", s}, // an unset variable appends nothing
		{"str(a),concat(,sess.bin)", "aab", s},     // bytes end at a NUL, as a string
		{"str(a),concat", "a", s},
		{"int(7),concat(:)", "7:", s},
		{`str(a),concat(\",\",sess.n,\")\")`, "a,42)", s},
	})
	runErrorCases(t, map[string][]string{
		"str(a),concat(-,nope)":    {"argument 2 of 'concat'", "invalid variable name 'nope'"},
		"str(a),concat(-,txn.a-b)": {"argument 2 of 'concat'", "invalid character '-'"},
		"str(a),concat(,,,)":       {"'concat' takes 1 to 3 argument(s), found 4"},
	})
}

// set-var stores the sample and passes it on; its conditions, when they
// refuse, store nothing and give no sample.
func TestConverterSetVar(t *testing.T) {
	var tx Txn
	tx.Vars, tx.Sess = &Vars{}, &Vars{}
	eval := func(expr string) string {
		v, ok := compileSample(t, expr).Eval(&tx)
		return sampleText(v, ok)
	}
	varText := func(n config.VarName) string {
		v, ok := tx.getVar(n)
		return sampleText(v, ok)
	}
	steps := []struct{ expr, want string }{
		{"str(abc),set-var(txn.x),upper", "ABC"},
		{"var(txn.x)", "abc"},
		{"str(a),set-var(sess.y),concat(-,sess.y)", "a-a"},
		{"int(12),set-var(txn.n),concat(+,txn.n)", "12+12"},
		// ifexists / ifnotexists.
		{"str(1),set-var(txn.e,ifexists)", noSample},
		{"str(2),set-var(txn.e,ifexists)", noSample},
		{"var(txn.e)", noSample},
		{"str(3),set-var(txn.f,ifnotexists)", "3"},
		{"str(4),set-var(txn.f,ifnotexists)", noSample},
		{"var(txn.f)", "3"},
		// ifset / ifnotset.
		{"str(5),set-var(txn.g,ifset)", noSample},
		{"str(5),set-var(txn.g,ifnotexists)", noSample}, // the refused ifset created it, as var_set
		{"var(txn.g)", noSample},
		{"str(6),set-var(txn.g,ifnotset)", "6"},
		{"str(7),set-var(txn.g,ifset)", "7"},
		// ifempty / ifnotempty: scalars are never empty.
		{"str(),set-var(txn.h,ifempty)", ""},
		{"str(x),set-var(txn.h,ifempty)", noSample},
		{"int(0),set-var(txn.h,ifempty)", noSample},
		{"str(),set-var(txn.h,ifnotempty)", noSample},
		{"int(0),set-var(txn.h,ifnotempty)", "0"},
		// ifgt / iflt: "the variable is greater / less than the sample".
		{"int(10),set-var(txn.m)", "10"},
		{"int(5),set-var(txn.m,ifgt)", "5"},
		{"int(7),set-var(txn.m,ifgt)", noSample},
		{"int(9),set-var(txn.m,iflt)", "9"},
		{"int(9),set-var(txn.m,iflt)", noSample},
		{"var(txn.m)", "9"},
		{"str(s),set-var(txn.m,ifgt)", "s"}, // not two integers: true
		// Two conditions.
		{"str(z),set-var(txn.k,ifnotexists,ifnotempty)", "z"},
		{"str(z),set-var(txn.k,ifnotexists,ifnotempty)", noSample},
		// proc variables exist from the start, as HAProxy creates them.
		{"str(p),set-var(proc.convtest,ifexists)", "p"},
	}
	for _, st := range steps {
		if got := eval(st.expr); got != st.want {
			t.Fatalf("%s: got %q, want %q", st.expr, got, st.want)
		}
	}
	if got := varText(config.VarName{Scope: config.ScopeProc, Name: "convtest"}); got != "p" {
		t.Errorf("proc.convtest = %q", got)
	}
	if got := varText(txnVar("h")); got != "0" {
		t.Errorf("txn.h = %q, want 0", got)
	}
	// A Txn keeping no variables: set-var passes the sample on, and its
	// conditions see a variable that does not exist.
	tx = Txn{}
	for _, st := range []struct{ expr, want string }{
		{"str(a),set-var(txn.x)", "a"},
		{"str(a),set-var(txn.x,ifnotexists)", "a"},
		{"str(a),set-var(txn.x,ifexists)", noSample},
		{"str(a),set-var(sess.x),concat(-,sess.x)", "a-"},
	} {
		if got := eval(st.expr); got != st.want {
			t.Errorf("without variables, %s: got %q, want %q", st.expr, got, st.want)
		}
	}
	runErrorCases(t, map[string][]string{
		"str(a),set-var(x)":                              {"argument 1 of 'set-var'", "invalid variable name 'x'"},
		"str(a),set-var(txn.x,ifbad)":                    {"argument 2 of 'set-var'", `unknown condition "ifbad"`},
		"str(a),set-var":                                 {"'set-var' takes 1 to 5 argument(s), found 0"},
		"str(a),set-var(txn.x,ifgt,iflt,ifset,ifexists)": nil,
	})
}

// Variables cost no allocation once their buffers have grown.
func TestSetVarAllocs(t *testing.T) {
	e := compileSample(t, "req.hdr(host),set-var(txn.host),concat(:,txn.host)")
	req := mustRequest(t, getHead("/", "Host: example.com\r\n"))
	var tx Txn
	var m Msg
	vars := &Vars{}
	allocs := testing.AllocsPerRun(100, func() {
		fillTxn(&tx, &m, v4Client, req)
		vars.Clear() // a new transaction, as the engine begins one
		tx.Vars = vars
		if v, ok := e.Eval(&tx); !ok || string(v.B) != "example.com:example.com" {
			t.Fatalf("got %q, %v", v.B, ok)
		}
	})
	if allocs != 0 {
		t.Errorf("%v allocations per evaluation", allocs)
	}
}
