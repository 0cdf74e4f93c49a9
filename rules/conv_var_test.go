package rules

import (
	"testing"

	"github.com/fjordlb/fjord/config"
)

func sessVar(name string) config.VarName { return config.VarName{Scope: config.ScopeSess, Name: name} }

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
