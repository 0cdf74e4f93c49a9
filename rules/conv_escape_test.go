package rules

import (
	"encoding/base64"
	"encoding/json"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/fjordlb/fjord/config"
)

func TestConverterURLDec(t *testing.T) {
	// HAProxy's reg-test converter/url_dec.vtc, on the URL.
	head := getHead("/bla+%20?foo%3Dbar%2B42+42%20")
	s := config.TypeStr
	runSampleCases(t, head, nil, []sampleCase{
		{"url,url_dec", "/bla+ ?foo=bar+42 42 ", s},
		{"url,url_dec(1)", "/bla  ?foo=bar+42 42 ", s},
		{"url,url_dec(0)", "/bla+ ?foo=bar+42 42 ", s},
		{"str(a%2fb%2Fc),url_dec", "a/b/c", s},
		{"str(a+b),url_dec", "a+b", s},
		{"str(a+b),url_dec(1)", "a b", s},
		{"str(a%3Fb+c),url_dec", "a?b+c", s}, // an encoded '?' starts no form
		{"str(%),url_dec", noSample, 0},
		{"str(a%2),url_dec", noSample, 0},
		{"str(a%zz),url_dec", noSample, 0},
		{"str(%00x),url_dec,length", "2", config.TypeInt},
		{"str(),url_dec", "", s},
	})
}

func TestConverterJSON(t *testing.T) {
	s := config.TypeStr
	runSampleCases(t, "", nil, []sampleCase{
		// HAProxy's reg-test converter/json.vtc.
		{`str(foo\ 1/2),json`, `foo 1\/2`, s},
		{`str(\xE0),json(utf8)`, noSample, 0},
		{`str(-\xE0-),json(utf8s)`, "--", s},
		// The example of configuration.txt.
		{`'str(Very \"Ugly\" UA 1/2),json(utf8s)'`, `Very \"Ugly\" UA 1\/2`, s},
		{`str(\t\\\r\n),json`, `\t\\\r\n`, s},
		{`str(\x01\x7f),json`, `\u0001\u007f`, s},
		{`str(d\xc3\xa9j\xc3\xa0),json`, `d\u00c3\u00a9j\u00c3\u00a0`, s}, // ascii: each byte
		{`str(d\xc3\xa9j\xc3\xa0),json(ascii)`, `d\u00c3\u00a9j\u00c3\u00a0`, s},
		{`str(d\xc3\xa9j\xc3\xa0),json(utf8)`, `d\u00e9j\u00e0`, s},
		{`str(\xe2\x82\xac),json(utf8)`, `\u20ac`, s},
		{`str(\xf0\x9f\x98\x80),json(utf8)`, noSample, 0}, // above U+FFFF
		{`str(a\xf0\x9f\x98\x80b),json(utf8s)`, "ab", s},
		{`str(\xc0\xaf),json(utf8)`, noSample, 0}, // overlong '/'
		{`str(\xc0\xaf),json(utf8p)`, `\/`, s},
		{`str(\xc0\xafx),json(utf8s)`, "x", s},
		{`str(\xc0\xafx),json(utf8ps)`, `\/x`, s},
		{`str(\xed\xa0\x80),json(utf8p)`, noSample, 0}, // a surrogate
		{`str(\xed\xa0\x80z),json(utf8ps)`, "z", s},
		{`str(\xe2\x82),json(utf8s)`, "", s}, // truncated
		{`str(\xe2(\x82),json(utf8s)`, "(", s},
		{"str(),json", "", s},
		{"str(x),json()", "x", s},
	})
	runErrorCases(t, map[string][]string{
		"str(x),json(latin1)": {"argument 1 of 'json'", "unknown input code 'latin1'", "utf8ps"},
		"str(x),json":         nil,
		"str(x),url_dec(x)":   {"argument 1 of 'url_dec'", "not an integer"},
	})
}

// url_dec against net/url: before the first literal '?' the input is a
// path (or a form, with in_form), after it a form; "%XX" must be whole.
func FuzzURLDec(f *testing.F) {
	for _, s := range []string{"", "/a%20b", "/bla+%20?foo%3Dbar%2B42+42%20", "%", "%4", "%zz", "a+b?c+d", "%3F+", "a\x00%zz"} {
		f.Add(s, false)
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, in string, form bool) {
		got, ok := appendURLDecode(nil, []byte(in), form)
		if i := strings.IndexByte(in, 0); i >= 0 {
			in = in[:i] // a C string's end
		}
		unescape := func(s string, form bool) (string, error) {
			if form {
				return url.QueryUnescape(s)
			}
			return url.PathUnescape(s)
		}
		head, tail, hasQuery := strings.Cut(in, "?")
		want, err := unescape(head, form)
		if err == nil && hasQuery {
			var w string
			if w, err = unescape(tail, true); err == nil {
				want += "?" + w
			}
		}
		if ok != (err == nil) || ok && string(got) != want {
			t.Fatalf("url_dec(%q, %v) = %q, %v; net/url: %q, %v", in, form, got, ok, want, err)
		}
	})
}

var b64Group = regexp.MustCompile(`^(?:[A-Za-z0-9+/]{4}|[A-Za-z0-9+/]{3}=|[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]===)$`)

// b64dec against encoding/base64, group by group, since HAProxy lets
// padding end any group and "X===" give nothing.
func FuzzB64Dec(f *testing.F) {
	for _, s := range []string{"", "aGVsbG8=", "aGVsbA==", "aGU=aGU=", "YQ==", "X===", "====", "a b=", "aGVsbG8", "+/+/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		got, ok := appendBase64Decode(nil, []byte(in))
		want, wantOK := []byte{}, len(in)%4 == 0
		for i := 0; wantOK && i < len(in); i += 4 {
			g := in[i : i+4]
			switch {
			case !b64Group.MatchString(g):
				wantOK = false
			case strings.HasSuffix(g, "==="):
			default:
				b, err := base64.StdEncoding.DecodeString(g)
				if err != nil {
					t.Fatalf("encoding/base64 refuses %q: %v", g, err)
				}
				want = append(want, b...)
			}
		}
		if ok != wantOK || ok && string(got) != string(want) {
			t.Fatalf("b64dec(%q) = %q, %v; want %q, %v", in, got, ok, want, wantOK)
		}
		if ok && !strings.Contains(in, "=") {
			if enc := appendBase64(nil, got); string(enc) != in {
				t.Fatalf("base64(b64dec(%q)) = %q", in, enc)
			}
		}
	})
}

// json's output is a JSON string's content in ASCII. In ascii mode it
// reads back as the input's bytes taken as code points; in utf8 mode it
// fails exactly when the input is not UTF-8 that \uXXXX can write, and
// reads back as the input.
func FuzzJSON(f *testing.F) {
	for _, s := range []string{"", "foo 1/2", "Very \"Ugly\" UA 1/2", "\xe0", "-\xe0-", "d\xc3\xa9j\xc3\xa0", "\xf0\x9f\x98\x80", "\xc0\xaf", "\xed\xa0\x80", "\x00\x1f\x7f"} {
		for m := config.JSONASCII; m <= config.JSONUTF8PS; m++ {
			f.Add(s, uint8(m))
		}
	}
	f.Fuzz(func(t *testing.T, in string, m uint8) {
		mode := config.JSONMode(m % 5)
		got, ok := appendJSON(nil, []byte(in), mode)
		if mode == config.JSONASCII || mode == config.JSONUTF8S || mode == config.JSONUTF8PS {
			if !ok {
				t.Fatalf("json(%q, %d) failed", in, mode)
			}
		}
		if !ok {
			return
		}
		for _, c := range got {
			if c < 0x20 || c > 0x7e {
				t.Fatalf("json(%q, %d) = %q: not printable ASCII", in, mode, got)
			}
		}
		var back string
		if err := json.Unmarshal([]byte(`"`+string(got)+`"`), &back); err != nil {
			t.Fatalf("json(%q, %d) = %q: not a JSON string: %v", in, mode, got, err)
		}
		switch mode {
		case config.JSONASCII:
			var want []rune
			for i := 0; i < len(in); i++ {
				want = append(want, rune(in[i]))
			}
			if back != string(want) {
				t.Fatalf("json(%q) reads back as %q", in, back)
			}
		case config.JSONUTF8:
			writable := utf8.ValidString(in)
			for _, r := range in {
				if r > 0xffff || r == 0xfffe || r == 0xffff {
					writable = false
				}
			}
			if !writable || back != in {
				t.Fatalf("json(%q, utf8) = %q (%q), but the input is not writable UTF-8", in, got, back)
			}
		}
	})
}

func TestJSONUTF8Refusals(t *testing.T) {
	for _, in := range []string{"\xf0\x9f\x98\x80", "\xef\xbf\xbe", "\xe0", "a\x80"} {
		if _, ok := appendJSON(nil, []byte(in), config.JSONUTF8); ok {
			t.Errorf("json(%q, utf8) succeeded", in)
		}
	}
}
