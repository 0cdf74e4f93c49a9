package config

import (
	"fmt"
	"strings"
)

// The arguments of the fetches that read a tcp connection's bytes
// (HAProxy's src/payload.c) and of the converters that read FIX and MQTT
// messages in them (src/sample.c, src/fix.c, src/mqtt.c). The packages
// rules/fix and rules/mqtt read the messages; the names of FIX tags and
// of MQTT packet types and fields are read here, with the configuration,
// and their tests keep both in step.

// checkPayload is req.payload's: HAProxy reads the offset and the length
// as unsigned numbers, so that a negative one is a huge one that never
// matches (or, added to the other, one that wraps around); fjord refuses
// them.
func checkPayload(name string) func(*exprContext, []Arg) error {
	return func(_ *exprContext, args []Arg) error {
		for i, what := range []string{"offset", "length"} {
			if args[i].Int < 0 || args[i].Int > maxPayload {
				return fmt.Errorf("argument %d of '%s': the %s must be 0 to %d, not %d", i+1, name, what, maxPayload, args[i].Int)
			}
		}
		return nil
	}
}

// maxPayload bounds offsets and lengths: far beyond any buffer, and small
// enough that sums of them stay exact.
const maxPayload = 1 << 30

// checkPayloadLV is HAProxy's val_payload_lv: the length's offset is not
// negative, its size is not 0, and the data's offset, when given, is a
// number, relative to the end of the length when it has a sign (its Int
// then holds it, and Str keeps the sign), and does not point before the
// start.
func checkPayloadLV(name string) func(*exprContext, []Arg) error {
	return func(_ *exprContext, args []Arg) error {
		if args[0].Int < 0 || args[0].Int > maxPayload {
			return fmt.Errorf("argument 1 of '%s': the length's offset must be 0 to %d, not %d", name, maxPayload, args[0].Int)
		}
		if args[1].Int <= 0 || args[1].Int > maxPayload {
			return fmt.Errorf("argument 2 of '%s': the length's size must be 1 to %d bytes, not %d", name, maxPayload, args[1].Int)
		}
		if len(args) < 3 || args[2].Str == "" {
			return nil
		}
		s := args[2].Str
		n, ok := parsePayloadOffset(s)
		if !ok {
			return fmt.Errorf("argument 3 of '%s': the data's offset '%s' is not a number (a sign makes it relative to the end of the length)", name, s)
		}
		if s[0] == '+' || s[0] == '-' {
			if args[0].Int+args[1].Int+n < 0 {
				return fmt.Errorf("argument 3 of '%s': the data's offset '%s' points before the start of the buffer", name, s)
			}
		} else if n > maxPayload {
			return fmt.Errorf("argument 3 of '%s': the data's offset must be at most %d, not %d", name, maxPayload, n)
		}
		args[2].Int = n
		return nil
	}
}

// parsePayloadOffset reads an optionally signed decimal number, all of s.
func parsePayloadOffset(s string) (int64, bool) {
	neg := false
	if s[0] == '+' || s[0] == '-' {
		neg, s = s[0] == '-', s[1:]
	}
	if s == "" {
		return 0, false
	}
	var n int64
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		if n = n*10 + int64(s[i]-'0'); n > maxPayload {
			return 0, false
		}
	}
	if neg {
		n = -n
	}
	return n, true
}

// fixTags are the FIX tags HAProxy knows by name (fix_tagid).
var fixTags = map[string]int64{
	"msgtype": 35, "checksum": 10, "bodylength": 9, "targetcompid": 56, "beginstring": 8, "sendercompid": 49,
}

// checkFixTag is HAProxy's sample_conv_fix_value_check: the tag is a
// number (all digits, not 0) or one of the names HAProxy knows, in any
// case; its Int gets the number.
func checkFixTag(_ *exprContext, args []Arg) error {
	s := args[0].Str
	var id uint32
	all := s != ""
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			all = false
			break
		}
		id = id*10 + uint32(s[i]-'0') // wraps as HAProxy's read_uint
	}
	if all && id != 0 {
		args[0].Int = int64(id)
		return nil
	}
	if n, ok := fixTags[strings.ToLower(s)]; ok {
		args[0].Int = n
		return nil
	}
	return fmt.Errorf("argument 1 of 'fix_tag_value': unknown FIX tag name '%s' (a tag number, or BeginString, BodyLength, CheckSum, MsgType, SenderCompID, TargetCompID)", s)
}

// mqttTypes are the MQTT control packet types, by number.
var mqttTypes = [...]string{"", "CONNECT", "CONNACK", "PUBLISH", "PUBACK", "PUBREC", "PUBREL", "PUBCOMP",
	"SUBSCRIBE", "SUBACK", "UNSUBSCRIBE", "UNSUBACK", "PINGREQ", "PINGRESP", "DISCONNECT", "AUTH"}

// Packet type sets of mqttFields.
const (
	mqConnect    = 1 << 1
	mqConnack    = 1 << 2
	mqPublish    = 1 << 3
	mqAcks       = 1<<4 | 1<<5 | 1<<6 | 1<<7 // PUBACK, PUBREC, PUBREL, PUBCOMP
	mqSubscribe  = 1 << 8
	mqSuback     = 1 << 9
	mqUnsub      = 1 << 10
	mqUnsuback   = 1 << 11
	mqDisconnect = 1 << 14
	mqAuth       = 1 << 15
	mqAllAcked   = mqAcks | mqSubscribe | mqSuback | mqUnsub | mqUnsuback | mqDisconnect | mqAuth
)

// mqttField is a field mqtt_field_value may be asked for: its name, its
// number (MQTT 5.0's property identifier, or from 0x100 for the fields
// of the headers and of CONNECT's payload, as package rules/mqtt numbers
// them), and the packet types that have it.
type mqttField struct {
	name  string
	id    int64
	types uint16
}

// mqttFields are HAProxy's mqtt_fields_string and mqtt_fields_per_packet.
var mqttFields = [...]mqttField{
	{"flags", 0x100, mqConnect | mqConnack},
	{"reason_code", 0x101, mqConnack | mqAcks | mqDisconnect},
	{"protocol_name", 0x102, mqConnect},
	{"protocol_version", 0x103, mqConnect | mqConnack},
	{"client_identifier", 0x104, mqConnect},
	{"will_topic", 0x105, mqConnect},
	{"will_payload", 0x106, mqConnect},
	{"username", 0x107, mqConnect},
	{"password", 0x108, mqConnect},
	{"keepalive", 0x109, mqConnect},
	{"1", 0x01, mqConnect | mqPublish},
	{"2", 0x02, mqConnect | mqPublish},
	{"3", 0x03, mqConnect | mqPublish},
	{"8", 0x08, mqConnect | mqPublish},
	{"9", 0x09, mqConnect | mqPublish},
	{"11", 0x0B, mqPublish | mqSubscribe},
	{"17", 0x11, mqConnect | mqConnack | mqDisconnect},
	{"18", 0x12, mqConnack},
	{"19", 0x13, mqConnack},
	{"21", 0x15, mqConnect | mqConnack | mqAuth},
	{"22", 0x16, mqConnect | mqConnack | mqAuth},
	{"23", 0x17, mqConnect},
	{"24", 0x18, mqConnect},
	{"25", 0x19, mqConnect},
	{"26", 0x1A, mqConnack},
	{"28", 0x1C, mqConnack | mqDisconnect},
	{"31", 0x1F, mqConnack | mqAcks | mqSuback | mqUnsuback | mqDisconnect | mqAuth},
	{"33", 0x21, mqConnect | mqConnack},
	{"34", 0x22, mqConnect | mqConnack},
	{"35", 0x23, mqPublish},
	{"36", 0x24, mqConnack},
	{"37", 0x25, mqConnack},
	{"38", 0x26, mqConnect | mqConnack | mqPublish | mqAllAcked},
	{"39", 0x27, mqConnect | mqConnack},
	{"40", 0x28, mqConnack},
	{"41", 0x29, mqConnack},
	{"42", 0x2A, mqConnack},
}

// mqttTypeID is HAProxy's mqtt_typeid: a number (read as its strl2ui
// reads one, every byte taken for a digit) or a name in any case; 0 for
// none.
func mqttTypeID(s string) int {
	var n uint32
	for i := 0; i < len(s); i++ {
		n = n*10 - '0' + uint32(s[i])
	}
	if n >= 1 && n < uint32(len(mqttTypes)) {
		return int(n)
	}
	for id, name := range mqttTypes {
		if name != "" && strings.EqualFold(s, name) {
			return id
		}
	}
	return 0
}

// checkMQTTField is HAProxy's sample_conv_mqtt_field_value_check: a known
// packet type, and a field that type has (the first name that matches
// decides); the arguments' Ints get their numbers.
func checkMQTTField(_ *exprContext, args []Arg) error {
	typ := mqttTypeID(args[0].Str)
	if typ == 0 {
		return fmt.Errorf("argument 1 of 'mqtt_field_value': unknown MQTT packet type '%s' (a number 1 to 15, or CONNECT, CONNACK, PUBLISH, ...)", args[0].Str)
	}
	for _, f := range mqttFields {
		if !strings.EqualFold(args[1].Str, f.name) {
			continue
		}
		if f.types&(1<<typ) == 0 {
			break
		}
		args[0].Int, args[1].Int = int64(typ), f.id
		return nil
	}
	return fmt.Errorf("argument 2 of 'mqtt_field_value': unknown MQTT field name '%s' for packet type '%s'", args[1].Str, args[0].Str)
}
