package rules

import (
	"encoding/hex"
	"testing"

	"github.com/fjordlb/fjord/config"
)

// bytesOf is what tcp mode peeked: the client's data and the server's,
// in a buffer of 64 bytes.
func bytesOf(req, res string, partial bool) func(*Txn) {
	return func(t *Txn) {
		t.Req = nil // tcp mode
		t.ReqData, t.ResData = []byte(req), []byte(res)
		t.DataCap, t.Partial = 64, partial
	}
}

// req.payload, req.payload_lv, req.len and their res. twins, as
// HAProxy's smp_fetch_payload*: what is not all there gives no sample
// (for now), what the buffer cannot hold none (for good).
func TestFetchesPayload(t *testing.T) {
	b, i := config.TypeBin, config.TypeInt
	runSampleCases(t, "", bytesOf("\x00\x05hello world", "\x03abcdef", false), []sampleCase{
		{"req.payload(0,2),hex", "0005", config.TypeStr},
		{"req.payload(2,5)", "hello", b},
		{"req.payload(2,0)", "hello world", b}, // length 0: all that came
		{"req.payload(13,0)", "", b},
		{"req.payload(10,5)", noSample, b}, // not all there
		{"req.payload(14,0)", noSample, b},
		{"req.payload(60,5)", noSample, b}, // beyond the buffer
		{"req.payload_lv(0,2)", "hello", b},
		{"req.payload_lv(0,2,8)", "world", b},     // from an absolute offset
		{"req.payload_lv(0,2,+6)", "world", b},    // after the length, plus 6
		{"req.payload_lv(0,2,-1)", "\x05hell", b}, // before the data, as HAProxy's relative offsets may
		{"req.payload_lv(1,1)", "hello", b},
		{"req.payload_lv(0,1)", noSample, b},  // a length of 0
		{"req.payload_lv(12,2)", noSample, b}, // the length is not all there
		{"req.len", "13", i},
		{"res.payload(1,3)", "abc", b},
		{"res.payload_lv(0,1)", "abc", b},
		{"res.len", "7", i},
	})
	// Outside tcp content inspection there are no bytes to read.
	runSampleCases(t, getHead("/", "Host: a\r\n"), nil, []sampleCase{
		{"req.payload(0,0)", noSample, b},
		{"res.payload(0,1)", noSample, b},
		{"req.payload_lv(0,1)", noSample, b},
		{"res.len", noSample, i},
		{"req.len", "0", i}, // in HTTP mode, the body's length
		{"wait_end", "1", config.TypeBool},
	})
	runSampleCases(t, "", bytesOf("x", "", true), []sampleCase{
		{"wait_end", noSample, config.TypeBool}, // until the inspection is final
	})
	runErrorCases(t, map[string][]string{
		"req.payload(0)":           {"'req.payload' takes 2 argument(s), found 1"},
		"req.payload(-1,2)":        {"argument 1 of 'req.payload': the offset must be 0 to"},
		"res.payload(0,-2)":        {"argument 2 of 'res.payload': the length must be 0 to"},
		"req.payload_lv(-1,2)":     {"argument 1 of 'req.payload_lv': the length's offset must be 0"},
		"req.payload_lv(0,0)":      {"argument 2 of 'req.payload_lv': the length's size must be 1"},
		"req.payload_lv(0,2,x)":    {"argument 3 of 'req.payload_lv': the data's offset 'x' is not a number"},
		"req.payload_lv(0,2,+)":    {"the data's offset '+' is not a number"},
		"req.payload_lv(0,2,-3)":   {"the data's offset '-3' points before the start of the buffer"},
		"req.payload_lv(1,2,-3)":   nil,
		"req.payload_lv(0,2,5)":    nil,
		"req.payload(0,0),hex":     nil,
		"req.payload(0,0),add(1)":  {"converter 'add' cannot be applied"},
		"res.payload_lv(0,2,+2,1)": {"takes 2 to 3 argument(s), found 4"},
	})
}

// A sample of bytes that are not all there yet leaves a condition
// undecided while the inspection is partial (HAProxy's MISS), and
// decided once it is final; a value that matches decides at once, and so
// does a converter that decides on what it has.
func TestEvalMissesPartialPayload(t *testing.T) {
	for _, tc := range []struct {
		cond    string
		data    string
		partial bool
		want    Result
	}{
		{"if { req.payload(0,3) -m str abc }", "ab", true, Miss},
		{"if { req.payload(0,3) -m str abc }", "ab", false, Fail},
		{"if { req.payload(0,3) -m str abc }", "abc", true, Pass},
		{"if { req.payload(0,3) -m str abd }", "abc", true, Fail}, // a fixed length: decided
		{"if { req.payload(0,0) -m beg abd }", "abc", true, Miss}, // all that came: may grow
		{"unless { req.payload(0,3) -m str abc }", "ab", true, Miss},
		{"unless { req.payload(0,3) -m str abc }", "abc", true, Fail},
		{"if ! { req.payload(0,3) -m str abc }", "ab", true, Miss},
		{"if { req.len gt 3 }", "ab", true, Miss},
		{"if { req.len gt 3 }", "ab", false, Fail},
		{"if { req.len gt 1 }", "ab", true, Pass},
		{"if { always_false } { req.len gt 3 }", "ab", true, Fail}, // a failed term decides the and
		{"if { req.len gt 3 } || { always_true }", "ab", true, Pass},
		{"if { req.len gt 3 } || { always_false }", "ab", true, Miss},
		{"if WAIT_END", "", true, Miss},
		{"if WAIT_END", "", false, Pass},
		// fix_is_valid decides on what it has, whatever may follow.
		{"if { req.payload(0,0),fix_is_valid }", "8=FIX.4.4\x019=5\x01", true, Miss},
		{"if { req.payload(0,0),fix_is_valid }", "9=FIX.4.4\x018=102\x0135=A\x0149=CLIENT1\x01", true, Fail},
		// No '=' yet: HAProxy's parser waits for one.
		{"if { req.payload(0,0),fix_is_valid }", "GET / HTTP/1.1\r\nHost: example.com\r\n", true, Miss},
		{"unless { req.payload(0,0),mqtt_is_valid }", "\x10", true, Miss},
		{"unless { req.payload(0,0),mqtt_is_valid }", "\x10", false, Pass},
		{"unless { req.payload(0,0),mqtt_is_valid }", "\x20\x02\x00\x00", true, Fail}, // a CONNACK from a client still parses
	} {
		c := NewCompiler().Cond(parseCond(t, nil, tc.cond))
		var tx Txn
		bytesOf(tc.data, "", tc.partial)(&tx)
		if got := c.Eval(&tx); got != tc.want {
			t.Errorf("%s on %q (partial %v): %d, want %d", tc.cond, tc.data, tc.partial, got, tc.want)
		}
	}
}

// The FIX and MQTT converters on the messages of HAProxy's reg-tests:
// what fix.vtc's and mqtt.vtc's frontends and backends read.
func TestConvertersFIXAndMQTT(t *testing.T) {
	s, b, bl := config.TypeStr, config.TypeBin, config.TypeBool
	unhex := func(h string) string {
		out, err := hex.DecodeString(h)
		if err != nil {
			t.Fatal(err)
		}
		return string(out)
	}
	logon := unhex("383d4649582e342e3401393d3130320133353d410134393d434c49454e54310135363d4558454355544f520133343d310135323d32303230313032392d31333a30323a34342e3532380139383d30013130383d3330013134313d59013535333d557365726e616d65013535343d50617373776f72640131303d32353201")
	connect := unhex("107e00044d51545405ee003c182700000014170126000161000162260001630001642100140008746573745f7375622a03000a746578742f706c61696e08000c77696c6c727370746f7069632600016500016626000167000168000977696c6c746f706963000b77696c6c7061796c6f61640004746573740006706173737764")
	connack := unhex("20250000221100000078217fff24012501270000ffff22000a2600016100016226000163000164")
	runSampleCases(t, "", bytesOf(logon, connack, false), []sampleCase{
		{"req.payload(0,0),fix_is_valid", "1", bl},
		{"req.payload(0,0),fix_tag_value(BeginString)", "FIX.4.4", b},
		{"req.payload(0,0),fix_tag_value(bodylength)", "102", b},
		{"req.payload(0,0),fix_tag_value(MsgType)", "A", b},
		{"req.payload(0,0),fix_tag_value(SenderCompID)", "CLIENT1", b},
		{"req.payload(0,0),fix_tag_value(56)", "EXECUTOR", b},
		{"req.payload(0,0),fix_tag_value(CheckSum)", "252", b},
		{"req.payload(0,0),fix_tag_value(999)", noSample, b},
		{"req.payload(0,20),fix_is_valid", noSample, bl}, // the start of a message
		{"res.payload(0,0),fix_is_valid", noSample, bl},  // no '=': still the start of a message
		{"res.payload(0,0),mqtt_is_valid", "1", bl},
		{"res.payload(0,0),mqtt_field_value(connack,flags)", "0", s},
		{"res.payload(0,0),mqtt_field_value(connack,protocol_version)", "5", s},
		{"res.payload(0,0),mqtt_field_value(connack,reason_code)", "0", s},
		{"res.payload(0,0),mqtt_field_value(connack,17)", "120", s},
		{"res.payload(0,0),mqtt_field_value(CONNACK,33)", "32767", s},
		{"res.payload(0,0),mqtt_field_value(2,36)", "1", s},
		{"res.payload(0,0),mqtt_field_value(connack,37)", "1", s},
		{"res.payload(0,0),mqtt_field_value(connack,39)", "65535", s},
		{"res.payload(0,0),mqtt_field_value(connack,34)", "10", s},
		{"res.payload(0,0),mqtt_field_value(connect,username)", noSample, s}, // not a CONNECT
		{"req.payload(0,0),mqtt_is_valid", "0", bl},
	})
	runSampleCases(t, "", bytesOf(connect, "", false), []sampleCase{
		{"req.payload(0,0),mqtt_is_valid", "1", bl},
		{"req.payload(0,0),mqtt_field_value(connect,flags)", "238", s},
		{"req.payload(0,0),mqtt_field_value(connect,protocol_name)", "MQTT", s},
		{"req.payload(0,0),mqtt_field_value(connect,protocol_version)", "5", s},
		{"req.payload(0,0),mqtt_field_value(connect,client_identifier)", "test_sub", s},
		{"req.payload(0,0),mqtt_field_value(connect,will_topic)", "willtopic", s},
		{"req.payload(0,0),mqtt_field_value(connect,will_payload)", "willpayload", s},
		{"req.payload(0,0),mqtt_field_value(connect,username)", "test", s},
		{"req.payload(0,0),mqtt_field_value(connect,password)", "passwd", s},
		{"req.payload(0,0),mqtt_field_value(connect,39)", "20", s},
		{"req.payload(0,0),mqtt_field_value(connect,23)", "1", s},
		{"req.payload(0,0),mqtt_field_value(connect,3)", "text/plain", s},
		{"req.payload(0,0),mqtt_field_value(connect,8)", "willrsptopic", s},
		{"req.payload(0,0),mqtt_field_value(connect,keepalive),add(1)", "61", config.TypeInt},
	})
	runErrorCases(t, map[string][]string{
		"req.payload(0,0),fix_tag_value(Password)":               {"unknown FIX tag name 'Password'"},
		"req.payload(0,0),fix_tag_value(0)":                      {"unknown FIX tag name '0'"},
		"req.payload(0,0),fix_tag_value":                         {"unknown FIX tag name ''"},
		"req.payload(0,0),mqtt_field_value(connect)":             {"'mqtt_field_value' takes 2 argument(s), found 1"},
		"req.payload(0,0),mqtt_field_value(connected,flags)":     {"unknown MQTT packet type 'connected'"},
		"req.payload(0,0),mqtt_field_value(connect,reason_code)": {"unknown MQTT field name 'reason_code' for packet type 'connect'"},
		"req.payload(0,0),mqtt_field_value(pingreq,38)":          {"unknown MQTT field name '38'"},
		"req.payload(0,0),mqtt_field_value(publish,35)":          nil, // accepted, never found
		"req.payload(0,0),mqtt_is_valid(1)":                      {"'mqtt_is_valid' takes no argument(s), found 1"},
	})
}

// Inspecting bytes allocates nothing, numbers from MQTT fields included.
func TestPayloadAllocs(t *testing.T) {
	connack, _ := hex.DecodeString("20250000221100000078217fff24012501270000ffff22000a2600016100016226000163000164")
	for _, expr := range []string{"res.payload(0,0),mqtt_field_value(connack,33)", "res.payload(0,0),mqtt_is_valid", "res.payload_lv(1,1)", "req.len", "res.payload(0,0),fix_tag_value(8)"} {
		e := compileSample(t, expr)
		var tx Txn
		if allocs := testing.AllocsPerRun(100, func() {
			tx.Reset()
			tx.ReqData, tx.ResData, tx.DataCap = connack, connack, 1024
			e.Eval(&tx)
		}); allocs != 0 {
			t.Errorf("%s: %v allocations per evaluation", expr, allocs)
		}
	}
}
