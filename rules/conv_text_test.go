package rules

import (
	"testing"

	"github.com/fjordlb/fjord/config"
)

func setVars(tx *Txn) {
	tx.Vars = &Vars{}
	tx.setVar(config.VarName{Scope: config.ScopeTxn, Name: "v"}, strValue([]byte("var_content")))
	tx.setVar(config.VarName{Scope: config.ScopeTxn, Name: "abc"}, strValue([]byte("abc")))
	tx.setVar(config.VarName{Scope: config.ScopeTxn, Name: "key"}, strValue([]byte("bXlfc3VwZXJfc2VjcmV0X2xvbmdfa2V5")))
	tx.setVar(config.VarName{Scope: config.ScopeTxn, Name: "sha"}, binValue([]byte("\xa9\x99\x3e\x36\x47\x06\x81\x6a\xba\x3e\x25\x71\x78\x50\xc2\x6c\x9c\xd0\xd8\x9d")))
}

func TestConvertersText(t *testing.T) {
	head := getHead("/", "Cookie: a=12; b=-7x; c=abc\r\n", "X-IP: 10.0.0.1:8080\r\n", "X-IP6: 2001:db8::1\r\n", "X-Bad: 1.2.3.4:99999\r\n")
	s, b, i, a, bo := config.TypeStr, config.TypeBin, config.TypeInt, config.TypeAddr, config.TypeBool
	runSampleCases(t, head, setVars, []sampleCase{
		{"bin(14fb9c03d97f12d97e),ub64enc", "FPucA9l_Etl-", s},
		{"str(FPucA9l_Etl-),ub64dec,hex", "14FB9C03D97F12D97E", s},
		{"str(YQ),ub64dec", "a", b},
		{"str(YWI),ub64dec", "ab", b},
		{"str(Y),ub64dec", noSample, 0},
		{"str(Y+==),ub64dec", noSample, 0},
		{"str(foo=bar+42\\ 42\\ ),url_enc", "foo%3Dbar%2B42%2042%20", s},
		{"str(a-._~Z),url_enc(query)", "a-._~Z", s},
		{"bin(0102030405060708090a),be2dec(:,1)", "1:2:3:4:5:6:7:8:9:10", s},
		{"bin(0102030405060708090a),be2dec(-,3)", "66051-263430-460809-10", s},
		{"bin(0102030405060708090a),be2dec(::,3,1)", "66051::263430::460809", s},
		{"bin(0102030405060708090a),be2hex", "0102030405060708090A", s},
		{"bin(0102030405060708090a),be2hex(:,1)", "01:02:03:04:05:06:07:08:09:0A", s},
		{"bin(0102030405060708090a),be2hex(--,3)", "010203--040506--070809--0A", s},
		{"bin(0102030405060708090a),be2hex(.,3,1)", "010203.040506.070809", s},
		{"int(1),iif(yes,no)", "yes", s},
		{"int(0),iif(yes,no)", "no", s},
		{"str(7),iif(yes,no)", "yes", s},
		{"str(abc),iif(yes,no)", "no", s}, // c_str2int: 0
		{"str(in),add_item(;,txn.v,_suff_)", "in;var_content_suff_", s},
		{"str(in),add_item(;,txn.v)", "in;var_content", s},
		{"str(in),add_item(;,,_suff_)", "in;_suff_", s},
		{"str(),add_item(;,txn.v)", "var_content", s},
		{"str(in),add_item(;,txn.unset)", "in", s},
		{"str(abc),strcmp(txn.abc)", "0", i},
		{"str(abd),strcmp(txn.abc)", "1", i},
		{"str(ab),strcmp(txn.abc)", "-1", i},
		{"str(abcd),strcmp(txn.abc)", "1", i},
		{"str(abc),strcmp(txn.unset)", noSample, 0},
		{"str(xxabcxx),ltrim(x)", "abcxx", s},
		{"str(xxabcxx),rtrim(x)", "xxabc", s},
		{"str(xyx),ltrim(xy)", "", s},
		{"str(ab\\r\\ncd),cut_crlf", "ab", s},
		{"str(abc),cut_crlf", "abc", s},
		{"req.cook_val(a)", "12", i},
		{"req.cook_val(b)", "-7", i},
		{"cook_val(c)", "0", i}, // strl2ic stops at a byte above '9'
		{"req.cook_val", "12", i},
		{"req.cook_val(none)", noSample, 0},
		{"req.hdr_ip(x-ip)", "10.0.0.1", a},
		{"hdr_ip(x-ip6)", "2001:db8::1", a},
		{"req.hdr_ip(x-bad)", noSample, 0},
		{"req.hdr_ip(host)", noSample, 0},
		{"fe_id", noSample, 0},
		{"so_name", noSample, 0},
		{"str(a),secure_memcmp(txn.abc)", "0", bo},
		{"str(abc),secure_memcmp(txn.abc)", "1", bo},
	})
	runSampleCases(t, "", func(tx *Txn) {
		tx.FrontendID, tx.BackendID, tx.ServerID, tx.BindName = 1, 3, 2, "web"
	}, []sampleCase{
		{"fe_id", "1", i}, {"be_id", "3", i}, {"srv_id", "2", i}, {"so_name", "web", s},
	})
	runErrorCases(t, map[string][]string{
		"bin(123)":                 {"an even number of hex digit"},
		"bin(zz)":                  {"an hex digit is expected (found 'z')"},
		"str(a),be2dec(:)":         {"chunk_size out of [1..8] range (0)"},
		"str(a),be2dec(:,9)":       {"chunk_size out of [1..8] range (9)"},
		"str(a),be2dec(:,1,2)":     {"unsupported truncate value (2)"},
		"str(a),be2hex(:)":         {"chunk_size needs to be positive"},
		"str(a),be2hex":            nil,
		"str(a),url_enc(path)":     {"Allowed value is 'query'"},
		"str(a),add_item(;)":       {"'add_item' takes 2 to 3 argument(s)"},
		"str(a),add_item(;,)":      {"one of the optional arguments has to be nonempty"},
		"str(a),add_item(;,x)":     {"argument 2 of 'add_item'", "invalid variable name"},
		"str(a),strcmp(abc)":       {"argument 1 of 'strcmp'"},
		"str(a),iif(a)":            {"'iif' takes 2 argument(s)"},
		"src,iif(a,b)":             {"converter 'iif' cannot be applied"},
		"str(a),json_query()":      {"json_path must not be empty"},
		"str(a),json_query($,x)":   {"output_type only supports \"int\""},
		"str(a),json_query($,int)": nil,
	})
}

func TestConvertersCrypto(t *testing.T) {
	s, b, bo := config.TypeStr, config.TypeBin, config.TypeBool
	runSampleCases(t, "", setVars, []sampleCase{
		{"str(abc),sha1,hex", "A9993E364706816ABA3E25717850C26C9CD0D89D", s},
		{"str(abc),sha1", "\xa9\x99\x3e\x36\x47\x06\x81\x6a\xba\x3e\x25\x71\x78\x50\xc2\x6c\x9c\xd0\xd8\x9d", b},
		{"str(abc),sha2,hex,lower", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", s},
		{"str(abc),sha2(224),hex,lower", "23097d223405d8228642a477bda255b32aadbce4bda0b3f7e36c9da7", s},
		{"str(abc),digest(sha256),hex,lower", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", s},
		{"str(abc),digest(MD5),hex,lower", "900150983cd24fb0d6963f7d28e17f72", s},
		{"str(abc),sha2(384),hex,length", "96", 0},
		// RFC 4231 test case 2: key "Jefe".
		{"str(what\\ do\\ ya\\ want\\ for\\ nothing?),hmac(sha256,SmVmZQ==),hex,lower", "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843", s},
		{"str(2),hmac(sha1,a2V5),hex,lower", "311219c4a80c5ef81b1cee5505236c1d0ab1922c", s},
		{"str(2),hmac(sha1,txn.key),hex,lower", "c5758af565ba4b87b3db49c8b32d4a94d430cb78", s},
		{"str(2),hmac(sha1,txn.unset),hex", noSample, 0},
		{"str(abc),sha1,secure_memcmp(txn.sha)", "1", bo},
		{"str(abd),sha1,secure_memcmp(txn.sha)", "0", bo},
	})
	runErrorCases(t, map[string][]string{
		"str(a),sha2(100)":       {"unsupported number of bits"},
		"str(a),digest(sha3)":    {"must be a valid OpenSSL message digest name"},
		"str(a),hmac(sha1,abc)":  {"argument 2 of 'hmac'", "base64"},
		"str(a),hmac(md4,a2V5)":  {"'hmac'", "digest name"},
		"str(a),secure_memcmp()": {"'secure_memcmp' takes 1 argument(s)"},
	})
}

// Long keys are hashed first, as RFC 2104 says (RFC 4231 test case 6).
func TestHMACLongKey(t *testing.T) {
	key := make([]byte, 131)
	for i := range key {
		key[i] = 0xaa
	}
	got := appendHMAC([]byte("prefix"), config.DigestSHA256, key, []byte("Test Using Larger Than Block-Size Key - Hash Key First"))
	want := "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
	if string(got[:6]) != "prefix" || len(got) != 38 {
		t.Fatalf("appendHMAC changed the prefix or has the wrong length: %q", got)
	}
	var h []byte
	for _, c := range got[6:] {
		h = append(h, hexDigits[c>>4], hexDigits[c&15])
	}
	if string(h) != want {
		t.Fatalf("HMAC = %s, want %s", h, want)
	}
}

func TestConverterJSONQuery(t *testing.T) {
	body := `{"iss":"kubernetes/serviceaccount","integer":4,"negativ-integer":-4,"double":3.14,"boolean-true":true,"boolean-false":false,"my.key":"myvalue","arr":[1,{"x":"y"},"z"],"o":{"a":{"b":"deep"}},"esc":"a\"b\u0041","u":"\u0100","n":null,"oct":010,"big":9007199254740992,"e":1.5e3}`
	s, i, bo := config.TypeStr, config.TypeInt, config.TypeBool
	q := func(p string) string { return "req.body,json_query('" + p + "')" }
	qi := func(p string) string { return "req.body,json_query('" + p + "',int)" }
	runSampleCases(t, getHead("/"), func(tx *Txn) { tx.Body = []byte(body) }, []sampleCase{
		{q("$.iss"), "kubernetes/serviceaccount", s},
		{qi("$.integer"), "4", i},
		{qi("$.negativ-integer"), "-4", i},
		{q("$.integer"), "4", s},
		{q("$.double"), "3.14", s},
		{q("$.e"), "1500", s},
		{q("$.boolean-true"), "1", bo},
		{q("$.boolean-false"), "0", bo},
		{q(`$.my\\.key`), "myvalue", s},
		{q("$.arr[0]"), "1", s},
		{q("$.arr[1].x"), "y", s},
		{q("$.arr[2]"), "z", s},
		{q("$.arr[3]"), noSample, 0},
		{q("$.o.a.b"), "deep", s},
		{q("$.o"), noSample, 0},
		{q("$.esc"), `a"bA`, s},
		{q("$.u"), noSample, 0},
		{q("$.n"), noSample, 0},
		{q("$.missing"), noSample, 0},
		{qi("$.oct"), "8", i}, // strtoll base 0
		{qi("$.big"), noSample, 0},
		{q("x"), noSample, 0},
	})
	runSampleCases(t, getHead("/"), func(tx *Txn) { tx.Body = []byte(`{"a":`) }, []sampleCase{{q("$.a"), noSample, 0}})
}

func FuzzJSONQuery(f *testing.F) {
	f.Add([]byte(`{"a":[1,{"b":"c"}],"d":-1.5e3}`), "$.a[1].b")
	f.Add([]byte(`[[[[1]]]]`), "$[0][0]")
	f.Add([]byte(`-`), "$")
	f.Add([]byte(`{"a\\.b":"x\u00e9"}`), `$.a\.b`)
	f.Fuzz(func(t *testing.T, in []byte, path string) {
		var tx Txn
		tok, v := mjsonFind(in, path)
		if tok == mjTokString {
			mjsonUnescape(nil, v[1:len(v)-1])
		}
		if tok == mjTokNumber {
			strtoll0(v)
			mystrtod(v)
		}
		_ = tx
	})
}
