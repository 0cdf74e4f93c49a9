package fix

import (
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
)

// msg builds a message from "|"-separated fields, the delimiter written
// as '|' for reading; a "9=" field gets the body's length and a "10="
// field the checksum when they are given as "9=?" and "10=?".
func msg(fields string) []byte {
	parts := strings.Split(strings.TrimSuffix(fields, "|"), "|")
	var body, head strings.Builder
	for _, f := range parts[2:] {
		if f != "10=?" {
			body.WriteString(f + "\x01")
		}
	}
	for _, f := range parts[:2] {
		if f == "9=?" {
			f = fmt.Sprintf("9=%d", body.Len())
		}
		head.WriteString(f + "\x01")
	}
	out := head.String() + body.String()
	if strings.HasSuffix(fields, "10=?|") || strings.HasSuffix(fields, "10=?") {
		var sum byte
		for i := 0; i < len(out); i++ {
			sum += out[i]
		}
		out += fmt.Sprintf("10=%03d\x01", sum)
	}
	return []byte(out)
}

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The messages of HAProxy's reg-test converter/fix.vtc, and what
// fix_is_valid says of them.
var regtestMessages = []struct {
	name string
	hex  string
	want Status
}{
	{"4.0 logon", "383d4649582e342e3001393d37300133353d410134393d434c49454e54310135363d4558454355544f520133343d310135323d32303230313032392d31303a35343a31392e3631370139383d30013130383d33300131303d30393001", Valid},
	{"4.1 logon", "383d4649582e342e3101393d37360133353d410134393d434c49454e54310135363d4558454355544f520133343d310135323d32303230313032392d31323a34333a30372e3934300139383d30013130383d3330013134313d590131303d31333801", Valid},
	{"4.3 logon", "383d4649582e342e3301393d3130320133353d410134393d434c49454e54310135363d4558454355544f520133343d310135323d32303230313032392d31323a35383a35302e3838390139383d30013130383d3330013134313d59013535333d557365726e616d65013535343d50617373776f72640131303d30313201", Valid},
	{"5.0 logon", "383d464958542e312e3101393d3131360133353d410134393d434c49454e54310135363d4558454355544f520133343d310135323d32303230313032392d31333a31333a32322e36323401313132383d370139383d30013130383d3330013134313d59013535333d557365726e616d65013535343d50617373776f726401313133373d370131303d32303401", Valid},
	{"server 4.4 logon", "383d4649582e342e3401393d37390133353d410133343d310134393d4558454355544f520135323d32303230313032392d31333a30323a34342e3533353336300135363d434c49454e54310139383d30013130383d3330013134313d590131303d30333801", Valid},
	{"empty tag", "383d4649582e342e3401393d3130300133353d410134393d434c49454e54310135363d4558454355544f520133343d310135323d32303230313032392d31333a30323a34342e353238013d30013130383d3330013134313d59013535333d557365726e616d65013535343d50617373776f72640131303d32353201", Invalid},
	{"empty value", "383d4649582e342e3401393d3130310133353d410134393d434c49454e54310135363d4558454355544f520133343d310135323d32303230313032392d31333a30323a34342e3532380139383d013130383d3330013134313d59013535333d557365726e616d65013535343d50617373776f72640131303d32353201", Invalid},
	{"no '=' in a field", "383d4649582e342e3401393d3130300133353d410134393d434c49454e54310135363d4558454355544f520133343d310135323d32303230313032392d31333a30323a34342e353238013938013130383d3330013134313d59013535333d557365726e616d65013535343d50617373776f72640131303d32353201", Invalid},
	{"BodyLength first", "393d31303201383d4649582e342e340133353d410134393d434c49454e54310135363d4558454355544f520133343d310135323d32303230313032392d31333a30323a34342e3532380139383d30013130383d3330013134313d59013535333d557365726e616d65013535343d50617373776f72640131303d32353201", Invalid},
	{"MsgType second", "383d4649582e342e340133353d4101393d3130320134393d434c49454e54310135363d4558454355544f520133343d310135323d32303230313032392d31333a30323a34342e3532380139383d30013130383d3330013134313d59013535333d557365726e616d65013535343d50617373776f72640131303d32353201", Invalid},
	{"SenderCompID third", "383d4649582e342e3401393d3130320134393d434c49454e54310133353d410135363d4558454355544f520133343d310135323d32303230313032392d31333a30323a34342e3532380139383d30013130383d3330013134313d59013535333d557365726e616d65013535343d50617373776f72640131303d32353201", Invalid},
	{"body length short", "383d4649582e342e3401393d3130300133353d410134393d434c49454e54310135363d4558454355544f520133343d310135323d32303230313032392d31333a30323a34342e3532380139383d30013130383d3330013134313d59013535333d557365726e616d65013535343d50617373776f72640131303d32353201", Invalid},
	{"body length long", "383d4649582e342e3401393d3130350133353d410134393d434c49454e54310135363d4558454355544f520133343d310135323d32303230313032392d31333a30323a34342e3532380139383d30013130383d3330013134313d59013535333d557365726e616d65013535343d50617373776f72640131303d32353201585858", Invalid},
	{"checksum of two digits", "383d4649582e342e3401393d3130320133353d410134393d434c49454e54310135363d4558454355544f520133343d310135323d32303230313032392d31333a30323a34342e3532380139383d30013130383d3330013134313d59013535333d557365726e616d65013535343d50617373776f72640131303d323501", Invalid},
	{"checksum of four digits", "383d4649582e342e3401393d3130320133353d410134393d434c49454e54310135363d4558454355544f520133343d310135323d32303230313032392d31333a30323a34342e3532380139383d30013130383d3330013134313d59013535333d557365726e616d65013535343d50617373776f72640131303d3235323001", Invalid},
	{"wrong checksum", "383d4649582e342e3401393d3130320133353d410134393d434c49454e54310135363d4558454355544f520133343d310135323d32303230313032392d31333a30323a34342e3532380139383d30013130383d3330013134313d59013535333d557365726e616d65013535343d50617373776f72640131303d32353301", Invalid},
}

func TestValidateRegtestMessages(t *testing.T) {
	for _, tc := range regtestMessages {
		if got := Validate(unhex(t, tc.hex)); got != tc.want {
			t.Errorf("%s: %d, want %d", tc.name, got, tc.want)
		}
	}
}

func TestValidate(t *testing.T) {
	logon := msg("8=FIX.4.4|9=?|35=A|49=CLIENT1|56=EXECUTOR|34=1|98=0|108=30|10=?")
	for _, tc := range []struct {
		name string
		in   []byte
		want Status
	}{
		{"a logon", logon, Valid},
		{"bytes after it", append(append([]byte(nil), logon...), "8=FIX"...), Valid},
		{"shorter than 26 bytes", logon[:25], NeedMore},
		{"cut in its body", logon[:40], NeedMore},
		{"cut before the CheckSum's delimiter", logon[:len(logon)-1], NeedMore},
		{"nothing", nil, NeedMore},
		{"an unknown version", msg("8=FIX.9.9|9=?|35=A|49=CLIENT1|56=EXECUTOR|34=1|10=?"), Invalid},
		{"a tag beyond 4.0's range", msg("8=FIX.4.0|9=?|35=A|49=CLIENT1|141=Y|56=EXECUTOR|10=?"), Invalid},
		{"that tag in 4.1", msg("8=FIX.4.1|9=?|35=A|49=CLIENT1|141=Y|56=EXECUTOR|10=?"), Valid},
		{"a user-defined tag in 4.0", msg("8=FIX.4.0|9=?|35=A|49=CLIENT1|10001=x|56=EXECUTOR|10=?"), Valid},
		{"FIXT.1.1's range", msg("8=FIXT.1.1|9=?|35=A|49=CLIENT1|1621=x|56=EXECUTOR|10=?"), Valid},
		{"a tag 0", msg("8=FIX.4.4|9=?|35=A|49=CLIENT1|0=x|56=EXECUTOR|10=?"), Invalid},
		{"a tag with a letter", msg("8=FIX.4.4|9=?|35=A|49=CLIENT1|4x=x|56=EXECUTOR|10=?"), Invalid},
		{"a body length 0", msg("8=FIX.4.4|9=0|35=A|49=CLIENT1|56=EXECUTOR|10=?"), Invalid},
		{"a body length with a letter", msg("8=FIX.4.4|9=1x|35=A|49=CLIENT1|56=EXECUTOR|10=?"), Invalid},
		{"an empty value (the checksum still counts)", msg("8=FIX.4.4|9=?|35=A|49=CLIENT1|56=EXECUTOR|98=|10=?"), Valid},
		{"a CheckSum third", msg("8=FIX.4.4|9=?|10=000|35=A|49=CLIENT1|56=EXECUTOR|10=?"), Invalid},
		{"no CheckSum, the input whole", []byte("8=FIX.4.4\x019=5\x0135=A\x0149=CLIENT1\x01"), NeedMore},
		{"one field of 26 bytes", []byte("8=FIX.4.4\x01"), NeedMore},
		{"a first field alone, long", []byte("8=FIX.4.4xxxxxxxxxxxxxxxxxxxxxx\x01"), Invalid},
	} {
		if got := Validate(tc.in); got != tc.want {
			t.Errorf("%s (%q): %d, want %d", tc.name, tc.in, got, tc.want)
		}
	}
}

func TestTagValue(t *testing.T) {
	// The client's 4.4 logon of fix.vtc, and what fe2 reads of it.
	logon := unhex(t, "383d4649582e342e3401393d3130320133353d410134393d434c49454e54310135363d4558454355544f520133343d310135323d32303230313032392d31333a30323a34342e3532380139383d30013130383d3330013134313d59013535333d557365726e616d65013535343d50617373776f72640131303d32353201")
	for _, tc := range []struct {
		name string
		in   []byte
		tag  uint32
		want string
		st   Status
	}{
		{"BeginString", logon, TagBeginString, "FIX.4.4", Valid},
		{"BodyLength", logon, TagBodyLength, "102", Valid},
		{"MsgType", logon, TagMsgType, "A", Valid},
		{"SenderCompID", logon, TagSenderCompID, "CLIENT1", Valid},
		{"TargetCompID", logon, TagTargetCompID, "EXECUTOR", Valid},
		{"CheckSum", logon, TagCheckSum, "252", Valid},
		{"a later tag", logon, 554, "Password", Valid},
		{"absent: the CheckSum ends the search", logon, 999, "", Invalid},
		{"not yet arrived", logon[:30], TagTargetCompID, "", NeedMore},
		{"an empty value", []byte("8=FIX.4.4\x0198=\x01"), 98, "", NeedMore},
		{"an empty tag before", []byte("8=FIX.4.4\x01=x\x0135=A\x01"), TagMsgType, "", Invalid},
		{"a tag with a letter before", []byte("8=FIX.4.4\x01x=x\x0135=A\x01"), TagMsgType, "", Invalid},
		{"nothing", nil, TagMsgType, "", NeedMore},
	} {
		v, st := TagValue(tc.in, tc.tag)
		if string(v) != tc.want || st != tc.st {
			t.Errorf("%s: %q %d, want %q %d", tc.name, v, st, tc.want, tc.st)
		}
	}
}

func TestTagID(t *testing.T) {
	for name, want := range map[string]uint32{
		"BeginString": 8, "bodylength": 9, "CHECKSUM": 10, "MsgType": 35, "SenderCompID": 49, "TargetCompID": 56,
		"8": 8, "08": 8, "554": 554, "0": 0, "": 0, "-1": 0, "8x": 0, "Password": 0,
	} {
		if got := TagID(name); got != want {
			t.Errorf("TagID(%q) = %d, want %d", name, got, want)
		}
	}
}

// Validating and reading a tag allocate nothing.
func TestNoAllocs(t *testing.T) {
	logon := msg("8=FIX.4.4|9=?|35=A|49=CLIENT1|56=EXECUTOR|34=1|98=0|108=30|10=?")
	if n := testing.AllocsPerRun(100, func() {
		Validate(logon)
		TagValue(logon, TagTargetCompID)
	}); n != 0 {
		t.Errorf("%v allocations", n)
	}
}

// Any input: no panic; a valid message stays valid whatever follows it,
// and then its first two tags can be read (the third, MsgType, may be
// empty, which HAProxy's validation lets pass and fix_tag_value reads as
// more data needed).
func FuzzFIX(f *testing.F) {
	for _, tc := range regtestMessages {
		b, _ := hex.DecodeString(tc.hex)
		f.Add(b, uint32(35))
	}
	f.Add([]byte("8=FIX.4.4\x019=5\x0135=A\x0110=000\x01"), uint32(10))
	f.Fuzz(func(t *testing.T, in []byte, tag uint32) {
		st := Validate(in)
		TagValue(in, tag)
		if st != Valid {
			return
		}
		if Validate(append(in[:len(in):len(in)], "junk"...)) != Valid {
			t.Fatalf("%q is valid, but not with bytes after it", in)
		}
		for _, tg := range []uint32{TagBeginString, TagBodyLength} {
			if _, st := TagValue(in, tg); st != Valid {
				t.Fatalf("%q is valid, but its tag %d reads %d", in, tg, st)
			}
		}
	})
}
