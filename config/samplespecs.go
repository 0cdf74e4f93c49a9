package config

// The vocabulary of sample expressions: every fetch and converter fjord
// implements (package rules), with HAProxy 2.6's names and arguments
// (doc/configuration.txt, section 7.3). docs/configuration.md documents
// each; a test checks both against this table.

var fetchSpecs = map[string]*FetchSpec{}

// fetchAliases are HAProxy's other names for a fetch.
var fetchAliases = map[string]string{
	"req_ssl_sni":        "req.ssl_sni",
	"req_ssl_hello_type": "req.ssl_hello_type",
	"req_ssl_ver":        "req.ssl_ver",
	"urlp":               "url_param",
	"cook":               "req.cook",
	"cook_cnt":           "req.cook_cnt",
	"req_ver":            "req.ver",
	"resp_ver":           "res.ver",
	"shdr":               "res.hdr",
	"hdr_val":            "req.hdr_val",
	"req.payload_len":    "req.len",
	"req_len":            "req.len",
	"cook_val":           "req.cook_val",
	"hdr_ip":             "req.hdr_ip",
}

var convSpecs = map[string]*ConvSpec{}

func fetch(name string, out SampleType, need Reads, min int, args ...ArgKind) {
	fetchSpecs[name] = &FetchSpec{Name: name, Out: out, Need: need, Min: min, Args: args}
}

func conv(name string, in, out SampleType, min int, args ...ArgKind) {
	convSpecs[name] = &ConvSpec{Name: name, In: in, Out: out, Min: min, Args: args}
}

// mapConv declares a map converter: map_*_int read their default as an
// integer, the others as text (map_*_ip check it is an address).
func mapConv(name string, in, out SampleType, mc MapConv) {
	def := ArgStr
	if out == TypeInt {
		def = ArgInt
	}
	conv(name, in, out, 1, ArgMap, def)
	convSpecs[name].Map = &mc
	convSpecs[name].check = checkMap(name, mc, out)
}

func init() {
	// Layer 4: the connection's addresses.
	fetch("src", TypeAddr, ReadsConn, 0)
	fetch("src_port", TypeInt, ReadsConn, 0)
	fetch("dst", TypeAddr, ReadsConn, 0)
	fetch("dst_port", TypeInt, ReadsConn, 0)
	// The connection's own, which only tcp-request connection rules
	// change (src and dst are the session's, the stream's).
	fetch("fc_src", TypeAddr, ReadsConn, 0)
	fetch("fc_src_port", TypeInt, ReadsConn, 0)
	fetch("fc_dst", TypeAddr, ReadsConn, 0)
	fetch("fc_dst_port", TypeInt, ReadsConn, 0)

	// Constants and the process.
	fetch("always_true", TypeBool, 0, 0)
	fetch("always_false", TypeBool, 0, 0)
	fetch("int", TypeInt, 0, 1, ArgInt)
	fetch("str", TypeStr, 0, 1, ArgStr)
	fetch("bool", TypeBool, 0, 1, ArgBool)
	fetch("bin", TypeBin, 0, 1, ArgHex)
	fetch("env", TypeStr, 0, 1, ArgEnv)
	fetch("date", TypeInt, 0, 0, ArgInt, ArgTimeUnit)
	fetch("rand", TypeInt, 0, 0, ArgInt)
	fetch("var", TypeAny, 0, 1, ArgVar, ArgStr)
	fetch("uuid", TypeStr, 0, 0, ArgInt)
	fetch("fe_name", TypeStr, ReadsConn, 0)
	fetch("be_name", TypeStr, ReadsConn, 0)
	fetch("srv_name", TypeStr, ReadsServer, 0)
	fetch("fe_id", TypeInt, ReadsConn, 0)
	fetch("be_id", TypeInt, ReadsConn, 0)
	fetch("srv_id", TypeInt, ReadsServer, 0)
	fetch("so_name", TypeStr, ReadsConn, 0)
	fetch("nbsrv", TypeInt, 0, 0, ArgBackend)
	fetch("last_rule_file", TypeStr, 0, 0)
	fetch("last_rule_line", TypeInt, 0, 0)
	fetch("ipv4", TypeAddr, 0, 1, ArgIPv4)
	fetch("ipv6", TypeAddr, 0, 1, ArgIPv6)

	// The HTTP request.
	fetch("method", TypeStr, ReadsReq, 0)
	fetch("path", TypeStr, ReadsReq, 0)
	fetch("pathq", TypeStr, ReadsReq, 0)
	fetch("query", TypeStr, ReadsReq, 0)
	fetch("url", TypeStr, ReadsReq, 0)
	fetch("base", TypeStr, ReadsReq, 0)
	fetch("url_param", TypeStr, ReadsReq, 0, ArgStr, ArgStr)
	fetch("req.ver", TypeStr, ReadsReq, 0)
	fetch("req.hdr", TypeStr, ReadsReq, 0, ArgName, ArgInt)
	fetch("req.hdr_cnt", TypeInt, ReadsReq, 0, ArgName)
	fetch("req.hdr_val", TypeInt, ReadsReq, 1, ArgName, ArgInt)
	fetch("req.hdr_ip", TypeAddr, ReadsReq, 0, ArgStr, ArgInt)
	fetch("req.fhdr", TypeStr, ReadsReq, 1, ArgName, ArgInt)
	fetch("req.fhdr_cnt", TypeInt, ReadsReq, 0, ArgName)
	fetch("req.cook", TypeStr, ReadsReq, 0, ArgStr)
	fetch("req.cook_cnt", TypeInt, ReadsReq, 0, ArgStr)
	fetch("req.cook_val", TypeInt, ReadsReq, 0, ArgStr)
	fetch("req.body", TypeBin, ReadsReq|ReadsBody, 0)
	fetch("req.len", TypeInt, ReadsPayload, 0)
	fetch("unique-id", TypeStr, ReadsReq, 0)
	fetch("http_auth", TypeBool, ReadsReq, 1, ArgUserlist)
	fetch("http_auth_group", TypeStr, ReadsReq, 1, ArgUserlist)
	fetch("http_auth_user", TypeStr, ReadsReq, 0)

	// The message at hand: the request in request rules, the response
	// in response rules.
	fetch("hdr", TypeStr, ReadsMsg, 0, ArgName, ArgInt)
	fetch("hdr_cnt", TypeInt, ReadsMsg, 0, ArgName)
	fetch("fhdr", TypeStr, ReadsMsg, 1, ArgName, ArgInt)

	// What the frontend captured of the request and its response: the
	// slots of "capture request|response header" and of the capture
	// actions, the request line and the versions.
	fetch("capture.req.hdr", TypeStr, ReadsCapture, 1, ArgInt)
	fetch("capture.res.hdr", TypeStr, ReadsCapture, 1, ArgInt)
	fetch("capture.req.method", TypeStr, ReadsCapture, 0)
	fetch("capture.req.uri", TypeStr, ReadsCapture, 0)
	fetch("capture.req.ver", TypeStr, ReadsCapture, 0)
	fetch("capture.res.ver", TypeStr, ReadsCapture, 0)

	// The HTTP response.
	fetch("status", TypeInt, ReadsRes, 0)
	fetch("res.ver", TypeStr, ReadsRes, 0)
	fetch("res.hdr", TypeStr, ReadsRes, 0, ArgName, ArgInt)
	fetch("res.hdr_cnt", TypeInt, ReadsRes, 0, ArgName)
	fetch("res.fhdr", TypeStr, ReadsRes, 1, ArgName, ArgInt)
	fetch("res.cook", TypeStr, ReadsRes, 0, ArgStr)

	// The client's TLS session, on a bind with "ssl".
	fetch("ssl_fc", TypeBool, ReadsTLS, 0)
	fetch("ssl_fc_sni", TypeStr, ReadsTLS, 0)
	fetch("ssl_fc_protocol", TypeStr, ReadsTLS, 0)
	fetch("ssl_fc_cipher", TypeStr, ReadsTLS, 0)
	fetch("ssl_fc_alpn", TypeStr, ReadsTLS, 0)
	fetch("ssl_c_used", TypeBool, ReadsTLS, 0)
	fetch("ssl_c_verify", TypeInt, ReadsTLS, 0)
	fetch("ssl_c_s_dn", TypeStr, ReadsTLS, 0)

	// The ClientHello, peeked in tcp mode.
	fetch("req.ssl_sni", TypeStr, ReadsHello, 0)
	fetch("req.ssl_hello_type", TypeInt, ReadsHello, 0)
	fetch("req.ssl_ver", TypeInt, ReadsHello, 0)
	fetchSpecs["req.ssl_ver"].Version = true
	fetch("req.ssl_alpn", TypeStr, ReadsHello, 0)
	fetch("req.ssl_ec_ext", TypeBool, ReadsHello, 0)
	fetch("req.ssl_st_ext", TypeInt, ReadsHello, 0)

	// Converters: strings and bytes.
	conv("lower", TypeStr, TypeStr, 0)
	conv("upper", TypeStr, TypeStr, 0)
	conv("length", TypeStr, TypeInt, 0)
	conv("hex", TypeBin, TypeStr, 0)
	conv("base64", TypeBin, TypeStr, 0)
	conv("b64dec", TypeStr, TypeBin, 0)
	conv("bytes", TypeBin, TypeBin, 1, ArgInt, ArgInt)
	conv("url_dec", TypeStr, TypeStr, 0, ArgInt)
	conv("json", TypeStr, TypeStr, 0, ArgStr)
	convSpecs["json"].check = checkJSON
	conv("field", TypeStr, TypeStr, 2, ArgInt, ArgStr, ArgInt)
	convSpecs["field"].check = checkField("field")
	conv("word", TypeStr, TypeStr, 2, ArgInt, ArgStr, ArgInt)
	convSpecs["word"].check = checkField("word")
	conv("regsub", TypeStr, TypeStr, 2, ArgRegex, ArgStr, ArgStr)
	convSpecs["regsub"].check = checkRegsub

	conv("concat", TypeStr, TypeStr, 1, ArgStr, ArgStr, ArgStr)
	convSpecs["concat"].check = checkConcat
	conv("add_item", TypeStr, TypeStr, 2, ArgStr, ArgStr, ArgStr)
	convSpecs["add_item"].check = checkAddItem
	conv("iif", TypeBool, TypeStr, 2, ArgStr, ArgStr)
	conv("url_enc", TypeStr, TypeStr, 0, ArgStr)
	convSpecs["url_enc"].check = checkURLEnc
	conv("ub64enc", TypeBin, TypeStr, 0)
	conv("ub64dec", TypeStr, TypeBin, 0)
	conv("be2dec", TypeBin, TypeStr, 1, ArgStr, ArgInt, ArgInt)
	convSpecs["be2dec"].check = checkBe2dec
	conv("be2hex", TypeBin, TypeStr, 0, ArgStr, ArgInt, ArgInt)
	convSpecs["be2hex"].check = checkBe2hex
	conv("strcmp", TypeStr, TypeInt, 1, ArgVar)
	conv("ltrim", TypeStr, TypeStr, 1, ArgStr)
	conv("rtrim", TypeStr, TypeStr, 1, ArgStr)
	conv("cut_crlf", TypeStr, TypeStr, 0)
	conv("json_query", TypeStr, TypeAny, 1, ArgStr, ArgStr)
	convSpecs["json_query"].check = checkJSONQuery

	// Converters: variables.
	conv("set-var", TypeAny, TypeAny, 1, ArgVar, ArgStr, ArgStr, ArgStr, ArgStr)
	convSpecs["set-var"].check = checkSetVar

	// Converters: integers.
	conv("add", TypeInt, TypeInt, 1, ArgIntOrVar)
	conv("sub", TypeInt, TypeInt, 1, ArgIntOrVar)
	conv("mul", TypeInt, TypeInt, 1, ArgIntOrVar)
	conv("div", TypeInt, TypeInt, 1, ArgIntOrVar)
	conv("mod", TypeInt, TypeInt, 1, ArgIntOrVar)
	conv("neg", TypeInt, TypeInt, 0)
	conv("bool", TypeInt, TypeBool, 0)
	conv("not", TypeInt, TypeBool, 0)

	// Converters: hashes.
	conv("crc32", TypeBin, TypeInt, 0, ArgInt)
	conv("djb2", TypeBin, TypeInt, 0, ArgInt)
	conv("sdbm", TypeBin, TypeInt, 0, ArgInt)
	conv("xxh64", TypeBin, TypeInt, 0, ArgInt)
	conv("crc32c", TypeBin, TypeInt, 0, ArgInt)
	conv("wt6", TypeBin, TypeInt, 0, ArgInt)
	conv("xxh32", TypeBin, TypeInt, 0, ArgInt)
	conv("xxh3", TypeBin, TypeInt, 0, ArgInt)

	// Converters: cryptographic digests.
	conv("sha1", TypeBin, TypeBin, 0)
	conv("sha2", TypeBin, TypeBin, 0, ArgInt)
	convSpecs["sha2"].check = checkSHA2
	conv("digest", TypeBin, TypeBin, 1, ArgStr)
	convSpecs["digest"].check = checkDigest
	conv("hmac", TypeBin, TypeBin, 2, ArgStr, ArgStr)
	convSpecs["hmac"].check = checkHMAC
	conv("secure_memcmp", TypeBin, TypeBool, 1, ArgVar)

	// Converters: maps, with HAProxy's names (src/map.c): map_<match>
	// for str, beg, sub, dir, dom, end, reg, int and ip, with an
	// output of _int or _ip too, and map_regm; "map" is map_str.
	for _, m := range []struct {
		sfx   string
		match MatchMethod
		in    SampleType
	}{
		{"_str", MatchStr, TypeStr}, {"_beg", MatchBeg, TypeStr}, {"_sub", MatchSub, TypeStr},
		{"_dir", MatchDir, TypeStr}, {"_dom", MatchDom, TypeStr}, {"_end", MatchEnd, TypeStr},
		{"_reg", MatchReg, TypeStr}, {"_int", MatchInt, TypeInt}, {"_ip", MatchIP, TypeAddr},
	} {
		mapConv("map"+m.sfx, m.in, TypeStr, MapConv{Match: m.match})
		mapConv("map"+m.sfx+"_int", m.in, TypeInt, MapConv{Match: m.match})
		mapConv("map"+m.sfx+"_ip", m.in, TypeAddr, MapConv{Match: m.match})
	}
	mapConv("map", TypeStr, TypeStr, MapConv{Match: MatchStr})
	mapConv("map_regm", TypeStr, TypeStr, MapConv{Match: MatchReg, Regm: true})

	// Converters: addresses.
	conv("ipmask", TypeAddr, TypeAddr, 1, ArgMask4, ArgMask6)

	// The bytes of a tcp connection, which content rules inspect before
	// they are forwarded (HAProxy's src/payload.c), and the protocols
	// read in them.
	for _, side := range []struct {
		prefix string
		reads  Reads
	}{{"req.", ReadsPayload}, {"res.", ReadsResPayload}} {
		name := side.prefix + "payload"
		fetch(name, TypeBin, side.reads, 2, ArgInt, ArgInt)
		fetchSpecs[name].check = checkPayload(name)
		name = side.prefix + "payload_lv"
		fetch(name, TypeBin, side.reads, 2, ArgInt, ArgInt, ArgStr)
		fetchSpecs[name].check = checkPayloadLV(name)
	}
	fetch("res.len", TypeInt, ReadsResPayload, 0)
	fetch("wait_end", TypeBool, ReadsInspection, 0)
	conv("fix_is_valid", TypeBin, TypeBool, 0)
	conv("fix_tag_value", TypeBin, TypeBin, 1, ArgStr)
	convSpecs["fix_tag_value"].check = checkFixTag
	conv("mqtt_is_valid", TypeBin, TypeBool, 0)
	conv("mqtt_field_value", TypeBin, TypeStr, 2, ArgStr, ArgStr)
	convSpecs["mqtt_field_value"].check = checkMQTTField
}
