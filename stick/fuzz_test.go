package stick

import (
	"bytes"
	"strings"
	"testing"
)

// FuzzKey checks that key parsing never panics, that every key it accepts
// or encodes has the table's size, and that a parsed key shown as "show
// table" parses back to the same key (strings aside: dump_text
// escapes them).
func FuzzKey(f *testing.F) {
	for _, s := range []string{"127.0.0.1", "::1", "2001:db8::ff", "4294967295", "0", "abc", "a b=c", "", "\x00x", "1.2.3.4.5", "+7"} {
		for k := KeyIPv4; k <= KeyBinary; k++ {
			f.Add(uint8(k), uint16(0), s)
		}
	}
	f.Add(uint8(KeyString), uint16(3), "abcdef")
	f.Add(uint8(KeyBinary), uint16(65535), "x")
	f.Fuzz(func(t *testing.T, kind uint8, n uint16, text string) {
		kt, err := NewKeyType(KeyKind(kind), int(n))
		if err != nil {
			return
		}
		check := func(k []byte) {
			t.Helper()
			ok := len(k) == kt.Len
			if kt.Kind == KeyString {
				ok = len(k) <= kt.Len && bytes.IndexByte(k, 0) < 0
			}
			if !ok {
				t.Fatalf("%s key %q of %d bytes", kt, k, len(k))
			}
		}
		switch kt.Kind {
		case KeyString:
			k, _ := kt.AppendString(nil, []byte(text))
			check(k)
		case KeyBinary:
			k, _ := kt.AppendBinary(nil, []byte(text))
			check(k)
			if shown := kt.AppendKeyText(nil, k); len(shown) != 2*len(k) {
				t.Fatalf("binary key %x shown as %q", k, shown)
			}
		}
		k, err := kt.ParseKey(nil, text)
		if err != nil {
			return
		}
		check(k)
		shown := kt.AppendKeyText(nil, k)
		if kt.Kind == KeyString {
			if bytes.ContainsAny(shown, " =") && !bytes.Contains(shown, []byte(`\`)) {
				t.Fatalf("string key %q shown unescaped as %q", k, shown)
			}
			return
		}
		again, err := kt.ParseKey(nil, string(shown))
		if err != nil || !bytes.Equal(again, k) {
			t.Fatalf("%s key %q shown as %q parses back to %q, %v", kt, text, shown, again, err)
		}
	})
}

// FuzzDataSpec checks that store items never panic the parser and that an
// accepted one is a known type, with a period exactly when it is a rate,
// that prints back to a spec parsing to itself.
func FuzzDataSpec(f *testing.F) {
	for _, s := range []string{"http_req_rate(10s)", "gpc0", "conn_rate(0)", "x(", ")", "gpt0(1)", "bytes_in_rate(99999999999999d)", "sess_rate(1us)", "http_err_rate(10s,gpc0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, item string) {
		if specs, err := ParseDataSpecs(item); err == nil {
			if len(specs) != strings.Count(item, ",")+1 {
				t.Fatalf("%q gave %d specs", item, len(specs))
			}
		}
		s, err := ParseDataSpec(item)
		if err != nil {
			return
		}
		if s.Type >= NumDataTypes || s.Type.IsRate() != (s.Period > 0) {
			t.Fatalf("%q parsed as %+v", item, s)
		}
		again, err := ParseDataSpec(s.String())
		if err != nil || again != s {
			t.Fatalf("%q -> %q -> %+v, %v", item, s.String(), again, err)
		}
	})
}
