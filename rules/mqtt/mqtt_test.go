package mqtt

import (
	"encoding/hex"
	"strings"
	"testing"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The packets of HAProxy's reg-test converter/mqtt.vtc.
const (
	connect311Long = "10d40100044d5154540402003c00c8746573745f737562" + "616161616161616161616161616161616161616161616161616161616161616161616161616161616161616161616161616161616161616161616161616161616161616161616161616161616161616161616161616161616161616161616161616161616161616161616161616161616161616161616161616161616161616161616161616161616161616161616161616161616161616161616161616161616161616161616161616161616161616161616161616161616161616161616161616161616161616161616161616161616161"
	connect311User = "101a00044d51545404c2003c00000004746573740006706173737764"
	connect311Will = "103a00044d51545404ee003c0008746573745f737562000977696c6c746f706963000b77696c6c7061796c6f61640004746573740006706173737764"
	connect50      = "101800044d5154540502003c032100140008746573745f737562"
	connect50User  = "102600044d51545405c2003c032100140008746573745f7375620004746573740006706173737764"
	connect50Full  = "107e00044d51545405ee003c182700000014170126000161000162260001630001642100140008746573745f7375622a03000a746578742f706c61696e08000c77696c6c727370746f7069632600016500016626000167000168000977696c6c746f706963000b77696c6c7061796c6f61640004746573740006706173737764"
	connect31      = "102400064d514973647003c200000008746573745f7375620004746573740006706173737764"
	connack311     = "20020000"
	connack50      = "200600000322000a"
	connack50Full  = "20250000221100000078217fff24012501270000ffff22000a2600016100016226000163000164"
)

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		name, hex string
		want      Status
	}{
		{"3.1.1 CONNECT, a client id of 200 bytes", connect311Long, Valid},
		{"3.1.1 CONNECT, empty client id, user and password", connect311User, Valid},
		{"3.1.1 CONNECT with a will", connect311Will, Valid},
		{"5.0 CONNECT", connect50, Valid},
		{"5.0 CONNECT with user and password", connect50User, Valid},
		{"5.0 CONNECT with properties and will properties", connect50Full, Valid},
		{"3.1 CONNECT (MQIsdp)", connect31, Valid},
		{"3.1.1 CONNACK", connack311, Valid},
		{"5.0 CONNACK", connack50, Valid},
		{"5.0 CONNACK with properties", connack50Full, Valid},
		// mqtt.vtc's invalid ones.
		{"PINGREQ with flags", "d000", Invalid},
		{"CONNECT with flags in its first byte", "111400044d5154540402003c0008746573745f737562", Invalid},
		{"a CONNACK's first byte with its flags", "21020000", Invalid},
		{"a remaining length of five bytes", "10ffffffff1400044d5154540402003c0008746573745f737562", Invalid},
		{"a remaining length shorter than its fields", "101300044d5154540402003c0008746573745f737562", Invalid},
		{"a remaining length longer than its fields", "101800044d5154540402003c0008746573745f737562ffffffff", Invalid},
		// Cut short, and other ways to be wrong.
		{"one byte", "10", NeedMore},
		{"nothing", "", NeedMore},
		{"cut in the remaining length", "10ff", NeedMore},
		{"cut in the packet", connect50Full[:60], NeedMore},
		{"a PINGREQ", "c000", Invalid}, // a known type, never parsed
		{"a PUBLISH with any flags", "3d00", Invalid},
		{"type 0", "0000", Invalid},
		{"another protocol name", "101400044d5154580402003c0008746573745f737562", Invalid},
		{"protocol version 6", "101400044d5154540602003c0008746573745f737562", Invalid},
		{"the reserved connect flag", "101400044d5154540403003c0008746573745f737562", Invalid},
		{"a will QoS of 3 without a will", "101400044d5154540418003c0008746573745f737562", Invalid},
		{"a will QoS of 1 without a will (HAProxy checks 3 only)", "101400044d5154540408003c0008746573745f737562", Valid},
		{"a CONNACK with reserved flag bits", "20020200", Invalid},
		{"a CONNACK of one byte", "200100", Invalid},
		{"an unknown CONNACK property", "2005000002ff00", Invalid},
		{"a CONNACK property twice", "2009000006220001220002", Invalid},
		{"a CONNACK maximum QoS of 2", "20050000022402", Invalid},
		{"a CONNACK receive maximum of 0", "2006000003210000", Invalid},
		{"an empty assigned client id", "2006000003120000", Invalid},
		{"a CONNECT receive maximum of 0", "101400044d5154540502003c03210000000474657374", Invalid},
		{"auth data without a method", "101100044d5154540502003c04160001610000", Invalid},
		// A CONNACK of 3.1.1 followed by another packet's bytes is read
		// as 5.0, as HAProxy reads it.
		{"a 3.1.1 CONNACK and more", "20020000c0", Invalid},
	} {
		if got := Validate(unhex(t, tc.hex)); got != tc.want {
			t.Errorf("%s: %d, want %d", tc.name, got, tc.want)
		}
	}
}

func TestFieldValue(t *testing.T) {
	full, ack := unhex(t, connect50Full), unhex(t, connack50Full)
	for _, tc := range []struct {
		name  string
		msg   []byte
		typ   int
		field string
		want  string
		st    Status
	}{
		// What mqtt.vtc's fe2 and be2 read.
		{"flags", full, Connect, "flags", "238", Valid},
		{"protocol name", full, Connect, "protocol_name", "MQTT", Valid},
		{"protocol version", full, Connect, "protocol_version", "5", Valid},
		{"client id", full, Connect, "client_identifier", "test_sub", Valid},
		{"will topic", full, Connect, "will_topic", "willtopic", Valid},
		{"will payload", full, Connect, "will_payload", "willpayload", Valid},
		{"username", full, Connect, "username", "test", Valid},
		{"password", full, Connect, "password", "passwd", Valid},
		{"maximum packet size", full, Connect, "39", "20", Valid},
		{"request problem information", full, Connect, "23", "1", Valid},
		{"content type", full, Connect, "3", "text/plain", Valid},
		{"response topic", full, Connect, "8", "willrsptopic", Valid},
		{"connack flags", ack, Connack, "flags", "0", Valid},
		{"connack version", ack, Connack, "protocol_version", "5", Valid},
		{"reason code", ack, Connack, "reason_code", "0", Valid},
		{"session expiry", ack, Connack, "17", "120", Valid},
		{"receive maximum", ack, Connack, "33", "32767", Valid},
		{"maximum QoS", ack, Connack, "36", "1", Valid},
		{"retain available", ack, Connack, "37", "1", Valid},
		{"connack maximum packet size", ack, Connack, "39", "65535", Valid},
		{"topic alias maximum", ack, Connack, "34", "10", Valid},
		// Numbers are always found, strings only when not empty.
		{"keepalive", full, Connect, "keepalive", "60", Valid},
		{"an absent number", full, Connect, "17", "0", Valid},
		{"an absent string", full, Connect, "21", "", Invalid},
		{"an empty client id", unhex(t, connect311User), Connect, "client_identifier", "", Invalid},
		{"user properties are never found", full, Connect, "38", "", Invalid},
		{"a 5.0 property of a 3.1.1 packet", unhex(t, connect311Will), Connect, "39", "", Invalid},
		{"a will property without a will", unhex(t, connect50), Connect, "3", "", Invalid},
		{"3.1.1 connack version", unhex(t, connack311), Connack, "protocol_version", "4", Valid},
		{"3.1 connect name", unhex(t, connect31), Connect, "protocol_name", "MQIsdp", Valid},
		{"another packet type", full, Connack, "flags", "", Invalid},
		{"cut short", full[:40], Connect, "username", "", NeedMore},
		{"not MQTT", []byte("GET / HTTP/1.1\r\n"), Connect, "username", "", Invalid},
	} {
		field := FieldID(tc.typ, tc.field)
		if field == 0 {
			t.Fatalf("%s: no field %q in type %d", tc.name, tc.field, tc.typ)
		}
		v, st := FieldValue(tc.msg, tc.typ, field)
		if got := string(v.AppendText(nil)); got != tc.want || st != tc.st {
			t.Errorf("%s: %q %d, want %q %d", tc.name, got, st, tc.want, tc.st)
		}
	}
}

func TestTypeAndFieldIDs(t *testing.T) {
	for name, want := range map[string]int{
		"connect": Connect, "CONNACK": Connack, "Auth": Auth, "1": Connect, "15": Auth,
		"0": 0, "16": 0, "": 0, "connects": 0,
	} {
		if got := TypeID(name); got != want {
			t.Errorf("TypeID(%q) = %d, want %d", name, got, want)
		}
	}
	for _, tc := range []struct {
		typ  int
		name string
		want int
	}{
		{Connect, "FLAGS", FieldFlags},
		{Connect, "client_identifier", FieldClientIdentifier},
		{Connect, "39", PropMaximumPacketSize},
		{Connack, "reason_code", FieldReasonCode},
		{Connect, "reason_code", 0}, // a CONNACK's, not a CONNECT's
		{Connack, "username", 0},
		{Publish, "35", PropTopicAlias},
		{Pingreq, "38", 0},
		{Connect, "", 0},
		{Connect, "unknown", 0},
	} {
		if got := FieldID(tc.typ, tc.name); got != tc.want {
			t.Errorf("FieldID(%d, %q) = %d, want %d", tc.typ, tc.name, got, tc.want)
		}
	}
}

// Validating and reading a field allocate nothing.
func TestNoAllocs(t *testing.T) {
	full := unhex(t, connect50Full)
	buf := make([]byte, 0, 16)
	if n := testing.AllocsPerRun(100, func() {
		Validate(full)
		v, _ := FieldValue(full, Connect, PropMaximumPacketSize)
		buf = v.AppendText(buf[:0])
		FieldValue(full, Connect, FieldUsername)
	}); n != 0 {
		t.Errorf("%v allocations", n)
	}
}

// Any input: no panic; a field is found only in a valid packet, never
// as an empty string; and a valid packet cut anywhere after its fixed
// header is NeedMore, so that a rule waiting for it waits.
func FuzzMQTT(f *testing.F) {
	for _, h := range []string{connect311Long, connect311User, connect311Will, connect50, connect50User, connect50Full, connect31, connack311, connack50, connack50Full} {
		b, _ := hex.DecodeString(h)
		f.Add(b, uint8(Connect), "username")
	}
	f.Add([]byte{0x20, 0x02, 0, 0}, uint8(Connack), "reason_code")
	f.Fuzz(func(t *testing.T, in []byte, typ uint8, name string) {
		st := Validate(in)
		field := FieldID(int(typ%numTypes), strings.ToLower(name))
		v, fst := FieldValue(in, int(typ%numTypes), field)
		if fst == Valid && !v.IsNum && len(v.Str) == 0 {
			t.Fatalf("%q: an empty string found", in)
		}
		if fst == Valid && st != Valid {
			t.Fatalf("%q: a field found in a packet that is %d", in, st)
		}
		if st != Valid {
			return
		}
		// From the end of the fixed header: cut inside the remaining
		// length, a value whose first byte is 0x80 reads as 0, and the
		// packet as an empty one, as in HAProxy.
		r := reader{b: in[1:], ok: true}
		remaining := int(r.varint())
		head := len(in) - len(r.b)
		for n := head; n < head+remaining; n++ {
			if got := Validate(in[:n]); got != NeedMore {
				t.Fatalf("%q is valid, but its first %d bytes are %d", in, n, got)
			}
		}
	})
}
