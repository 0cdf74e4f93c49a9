package rules

import (
	"strings"
	"testing"

	"github.com/fjordlb/fjord/config"
	"github.com/fjordlb/fjord/engine/h1"
)

// Helpers to evaluate sample expressions written as in a configuration:
// the expression is an ACL's sample ("acl x EXPR -m found") in a mode
// http frontend, read by config and compiled here.

// noSample is the want of a case whose expression gives no sample.
const noSample = "<no sample>"

type sampleCase struct {
	expr string // as the first word of an acl line
	want string // the result as text (bytes as they are), or noSample
	typ  config.SampleType
}

// compileSample reads expr with config and compiles it.
func compileSample(t testing.TB, expr string) *Expr {
	t.Helper()
	c := parseCond(t, []string{"x " + expr + " -m found"}, "if x")
	return NewCompiler().Expr(c.Or[0][0].ACL.Terms[0].Expr)
}

// sampleText renders an evaluation for comparison with a case's want.
func sampleText(v Value, ok bool) string {
	if !ok {
		return noSample
	}
	return string(v.appendText(nil))
}

// runSampleCases evaluates each case on the request head (empty: none),
// from 127.0.0.1; prepare, when not nil, completes the transaction.
func runSampleCases(t *testing.T, head string, prepare func(*Txn), cases []sampleCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.expr, func(t *testing.T) {
			e := compileSample(t, tc.expr)
			var tx Txn
			var m Msg
			var req = mustRequestOrNil(t, head)
			fillTxn(&tx, &m, v4Client, req)
			if prepare != nil {
				prepare(&tx)
			}
			v, ok := e.Eval(&tx)
			if got := sampleText(v, ok); got != tc.want {
				t.Fatalf("%s: got %q, want %q", tc.expr, got, tc.want)
			}
			if ok && tc.typ != 0 && v.Type != tc.typ {
				t.Fatalf("%s: type %v, want %v", tc.expr, v.Type, tc.typ)
			}
		})
	}
}

func mustRequestOrNil(t testing.TB, head string) *h1.Request {
	if head == "" {
		return nil
	}
	return mustRequest(t, head)
}

// configError reads a frontend with the acl line "acl x EXPR -m found"
// and returns config's error.
func configError(t testing.TB, expr string) string {
	t.Helper()
	text := "defaults\n  mode http\n  timeout connect 1s\n  timeout client 1s\n  timeout server 1s\n" +
		"frontend fe\n  bind 127.0.0.1:8080\n  acl x " + expr + " -m found\n  use_backend be if x\n  default_backend be\n" +
		"backend be\n  server s1 127.0.0.1:8081\n"
	_, err := config.Parse("sample.cfg", []byte(text), config.Options{Resolver: config.NoResolver})
	if err == nil {
		return ""
	}
	return err.Error()
}

// runErrorCases checks that each expression is refused with a message
// holding every want, or accepted when wants is nil.
func runErrorCases(t *testing.T, cases map[string][]string) {
	t.Helper()
	for expr, wants := range cases {
		msg := configError(t, expr)
		if wants == nil {
			if msg != "" {
				t.Errorf("%s: %s", expr, msg)
			}
			continue
		}
		if msg == "" {
			t.Errorf("%s: accepted, want an error", expr)
			continue
		}
		for _, w := range wants {
			if !strings.Contains(msg, w) {
				t.Errorf("%s: error %q does not say %q", expr, msg, w)
			}
		}
	}
}

// A converter never writes into its input: the request it read from
// is as it was, and so is a variable's value.
func TestConvertersLeaveInputs(t *testing.T) {
	head := getHead("/Path", "Host: MiXeD.example\r\n")
	req := mustRequest(t, head)
	for _, expr := range []string{"req.hdr(host),lower", "req.hdr(host),upper", "path,lower,upper"} {
		e := compileSample(t, expr)
		var tx Txn
		var m Msg
		fillTxn(&tx, &m, v4Client, req)
		e.Eval(&tx)
		e.Eval(&tx)
		if got := string(m.Headers[0].Value); got != "MiXeD.example" {
			t.Fatalf("%s changed the Host header to %q", expr, got)
		}
		if got := string(m.Path); got != "/Path" {
			t.Fatalf("%s changed the path to %q", expr, got)
		}
	}
}

func TestConvertersBytes(t *testing.T) {
	head := getHead("/A/b?x=1", "Host: Www.Example.COM\r\n", "X-B64: aGVsbG8gd29ybGQ=\r\n")
	s, b, i := config.TypeStr, config.TypeBin, config.TypeInt
	runSampleCases(t, head, nil, []sampleCase{
		{"req.hdr(host),lower", "www.example.com", s},
		{"req.hdr(host),upper", "WWW.EXAMPLE.COM", s},
		{"str(déjà),upper", "DéJà", s}, // ASCII letters only, as HAProxy
		{"path,length", "4", i},
		{"str(),length", "0", i},
		{"int(1234),length", "4", i}, // the integer cast to a string
		{"str(abc),hex", "616263", s},
		{"str(\xff\x01),hex", "FF01", s},      // upper case, as HAProxy
		{"int(1),hex", "0000000000000001", s}, // an integer is 8 bytes in network order
		{"src,hex", "7F000001", s},            // an address is its bytes
		{"str(),hex", "", s},
		{"str(hello),base64", "aGVsbG8=", s},
		{"str(hell),base64", "aGVsbA==", s},
		{"str(hel),base64", "aGVs", s},
		{"str(),base64", "", s},
		{"req.hdr(x-b64),b64dec", "hello world", b},
		{"str(aGVsbG8=),b64dec", "hello", b},
		{"str(aGVsbA==),b64dec", "hell", b},
		{"str(),b64dec", "", b},
		{"str(aGVsbG8),b64dec", noSample, 0},    // not a multiple of 4
		{"str(aGVs\\ bG8),b64dec", noSample, 0}, // white space
		{"str(aGVs*G8=),b64dec", noSample, 0},   // out of the alphabet
		{"str(====),b64dec", noSample, 0},
		{"str(aGU=aGU=),b64dec", "hehe", b}, // padding may end any group, as in HAProxy
		{"str(aGU=aG=a),b64dec", noSample, 0},
		{"str(YQ==),b64dec,base64", "YQ==", s},
		{"str(abcdef),bytes(2)", "cdef", s},
		{"str(abcdef),bytes(2,3)", "cde", s},
		{"str(abcdef),bytes(2,10)", "cdef", s},
		{"str(abcdef),bytes(6)", "", s},
		{"str(abcdef),bytes(0,0)", "", s},
		{"str(abcdef),bytes(-1)", "", s}, // HAProxy 2.6 compares unsigned
		{"str(abcdef),bytes(1,-1)", "bcdef", s},
		{"str(aGVsbG8=),b64dec,bytes(1,3)", "ell", b},
	})
}

func TestConverterErrors(t *testing.T) {
	runErrorCases(t, map[string][]string{
		"path,lowr":        {"unknown converter 'lowr'", "valid: ", "lower"},
		"req.body,length":  nil, // bytes are cast to a string
		"path,bytes":       {"'bytes' takes 1 to 2 argument(s), found 0"},
		"path,bytes(x)":    {"argument 1 of 'bytes'", "'x' is not an integer"},
		"path,lower(1)":    {"'lower' takes no argument"},
		"always_true,hex":  nil, // to 8 bytes
		"str(a),bytes(1,)": nil, // an empty optional integer is no argument
		"req.body,b64dec":  nil,
		"path,b64dec,hex":  nil,
		"path,base64,lowr": {"unknown converter 'lowr'"},
	})
}

// Casting to a string: bytes end at a NUL, a string keeps it.
func TestCastStr(t *testing.T) {
	var tx Txn
	for _, tc := range []struct {
		v    Value
		want string
	}{
		{strValue([]byte("a\x00b")), "a\x00b"},
		{binValue([]byte("a\x00b")), "a"},
		{intValue(-7), "-7"},
		{boolValue(true), "1"},
		{addrValue(v6Client), "2001:db8::5"},
	} {
		if got := tx.castStr(tc.v); string(got.B) != tc.want || got.Type != config.TypeStr {
			t.Errorf("castStr(%v) = %q (%v), want %q", tc.v, got.B, got.Type, tc.want)
		}
	}
}
