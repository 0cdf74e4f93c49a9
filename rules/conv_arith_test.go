package rules

import (
	"testing"

	"github.com/fjordlb/fjord/config"
)

func TestConvertersArith(t *testing.T) {
	vars := func(tx *Txn) {
		tx.Sess = &Vars{}
		tx.Sess.Set(sessVar("n"), intValue(10))
		tx.Sess.Set(sessVar("s"), strValue([]byte("12abc")))
		tx.Sess.Set(sessVar("b"), binValue([]byte("12")))
		tx.Sess.Set(sessVar("ip"), addrValue(v4Client))
	}
	i, b := config.TypeInt, config.TypeBool
	const max, min = "9223372036854775807", "-9223372036854775808"
	runSampleCases(t, "", vars, []sampleCase{
		{"int(5),add(3)", "8", i},
		{"int(5),add(-3)", "2", i},
		{"int(-1),add(-1)", "-2", i}, // HAProxy 2.6.0 gave the largest integer here
		{"int(" + max + "),add(1)", max, i},
		{"int(" + min + "),add(-1)", min, i},
		{"int(5),sub(7)", "-2", i},
		{"int(-5),sub(7)", "-12", i},
		{"int(0),sub(" + min + ")", max, i},
		{"int(-1),sub(" + min + ")", max, i},
		{"int(-2),sub(" + max + ")", min, i},
		{"int(3),mul(-4)", "-12", i},
		{"int(0),mul(-4)", "0", i},
		{"int(4611686018427387904),mul(2)", max, i},
		{"int(-4611686018427387905),mul(2)", min, i},
		{"int(" + min + "),mul(-1)", max, i},
		{"int(7),div(2)", "3", i},
		{"int(-7),div(2)", "-3", i},
		{"int(7),div(0)", max, i},
		{"int(-7),div(0)", max, i},
		{"int(" + min + "),div(-1)", max, i},
		{"int(7),mod(3)", "1", i},
		{"int(-7),mod(3)", "-1", i},
		{"int(7),mod(0)", "0", i},
		{"int(" + min + "),mod(-1)", "0", i},
		{"int(5),neg", "-5", i},
		{"int(" + min + "),neg", max, i},
		{"int(0),bool", "0", b},
		{"int(-3),bool", "1", b},
		{"int(0),not", "1", b},
		{"int(3),not", "0", b},
		// A variable as the operand, cast to an integer.
		{"int(5),add(sess.n)", "15", i},
		{"int(5),mul(sess.s)", "60", i},
		{"int(5),add(sess.none)", noSample, 0},
		{"int(5),add(sess.b)", noSample, 0}, // bytes have no integer value
		{"int(0),add(sess.ip)", "2130706433", i},
		// The input cast to an integer.
		{"str(12abc),add(1)", "13", i},
		{"str(abc),add(1)", "1", i},
		{"str(),add(1)", noSample, 0},
		{"str(99999999999999999999),add(0)", max, i},
		{"src,add(0)", "2130706433", i},
		{"str(::1),ipmask(0,64),add(1)", noSample, 0}, // IPv6 has no integer value
		{"always_true,add(1)", "2", b},                // a boolean stays one, as in HAProxy
	})
	runErrorCases(t, map[string][]string{
		"req.body,add(1)":    {"converter 'add' cannot be applied", "takes an integer sample, and is given a binary one"},
		"int(1),add(x)":      {"argument 1 of 'add'", "neither an integer nor a variable"},
		"int(1),add":         {"'add' takes 1 argument(s), found 0"},
		"int(1),neg(1)":      {"'neg' takes no argument"},
		"req.body,bool":      {"converter 'bool' cannot be applied"},
		"int(1),div(txn.d)":  nil,
		"path,mod(-3)":       nil,
		"always_false,not":   nil,
		"int(1),bool,add(1)": nil,
	})
}

func TestArithAddSaturates(t *testing.T) {
	const max, min = 1<<63 - 1, -1 << 63
	for _, tc := range []struct{ a, b, want int64 }{
		{1, 2, 3}, {-1, -2, -3}, {max, 1, max}, {min, -1, min}, {max, min, -1},
		{min, min, min}, {max, max, max}, {-5, 3, -2}, {max - 1, 1, max},
	} {
		if got := arithAdd(tc.a, tc.b); got != tc.want {
			t.Errorf("arithAdd(%d, %d) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
}
