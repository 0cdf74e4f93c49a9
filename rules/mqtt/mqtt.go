// Package mqtt reads the first MQTT packet of a connection as HAProxy's
// mqtt_is_valid and mqtt_field_value converters do (src/mqtt.c): a
// CONNECT from the client or a CONNACK from the server, MQTT 3.1, 3.1.1
// or 5.0. Other packet types are never valid, as in HAProxy, which looks
// only at the first packet of each side. It never allocates, and its
// input may be any bytes: what a peer sent so far, possibly cut short.
//
// It follows HAProxy 2.6 with the fixes HAProxy made since: a CONNACK
// property it does not know makes the packet invalid (2.6 waited for
// more data), and a PUBLISH may have any flags.
package mqtt

import (
	"bytes"
	"strconv"
)

// Status is what a packet, or the bytes so far, are.
type Status int8

const (
	Invalid  Status = -1 // not a packet fjord can read, and more bytes will not make one
	NeedMore Status = 0  // the start of a packet: more bytes may complete it
	Valid    Status = 1  // a whole CONNECT or CONNACK that passes the checks
)

// Control packet types.
const (
	Connect = iota + 1
	Connack
	Publish
	Puback
	Pubrec
	Pubrel
	Pubcomp
	Subscribe
	Suback
	Unsubscribe
	Unsuback
	Pingreq
	Pingresp
	Disconnect
	Auth
	numTypes
)

// Fields mqtt_field_value reads. MQTT 5.0's properties are numbered by
// their identifiers; the fields of the headers and of CONNECT's payload,
// which have none, from 0x100. config reads the same numbers from the
// names HAProxy gives them (its MQTT table; a test keeps the two in
// step).
const (
	FieldFlags = 0x100 + iota
	FieldReasonCode
	FieldProtocolName
	FieldProtocolVersion
	FieldClientIdentifier
	FieldWillTopic
	FieldWillPayload
	FieldUsername
	FieldPassword
	FieldKeepalive
)

// Property identifiers (MQTT 5.0, section 2.2.2.2).
const (
	PropPayloadFormatIndicator          = 0x01
	PropMessageExpiryInterval           = 0x02
	PropContentType                     = 0x03
	PropResponseTopic                   = 0x08
	PropCorrelationData                 = 0x09
	PropSubscriptionIdentifier          = 0x0B
	PropSessionExpiryInterval           = 0x11
	PropAssignedClientIdentifier        = 0x12
	PropServerKeepalive                 = 0x13
	PropAuthenticationMethod            = 0x15
	PropAuthenticationData              = 0x16
	PropRequestProblemInformation       = 0x17
	PropWillDelayInterval               = 0x18
	PropRequestResponseInformation      = 0x19
	PropResponseInformation             = 0x1A
	PropServerReference                 = 0x1C
	PropReasonString                    = 0x1F
	PropReceiveMaximum                  = 0x21
	PropTopicAliasMaximum               = 0x22
	PropTopicAlias                      = 0x23
	PropMaximumQoS                      = 0x24
	PropRetainAvailable                 = 0x25
	PropUserProperty                    = 0x26
	PropMaximumPacketSize               = 0x27
	PropWildcardSubscriptionAvailable   = 0x28
	PropSubscriptionIdentifierAvailable = 0x29
	PropSharedSubscriptionAvailable     = 0x2A
)

// CONNECT flags.
const (
	flagReserved = 0x01
	flagWill     = 0x04
	flagWillQoS  = 0x18
	flagRetain   = 0x20
	flagPassword = 0x40
	flagUsername = 0x80
)

// Protocol versions ("levels").
const (
	version31  = 3
	version311 = 4
	version50  = 5
)

// typeFlags are the flags each packet type must have in its first byte;
// a PUBLISH may have any.
var typeFlags = [numTypes]byte{Pubrel: 0x02, Subscribe: 0x02, Unsubscribe: 0x02}

// packet is what a CONNECT or a CONNACK holds that fields are read from;
// the values of the other are zero. Strings alias the input.
type packet struct {
	typ       byte
	remaining uint32

	version, flags byte
	keepalive      uint16 // CONNECT
	reasonCode     byte   // CONNACK
	protocolName   []byte

	// Properties (5.0).
	sessionExpiry, maxPacketSize                         uint32
	receiveMax, topicAliasMax, serverKeepalive           uint16
	reqResponseInfo, reqProblemInfo                      byte
	maxQoS, retainAvailable, wildcardAvailable           byte
	subIDsAvailable, sharedAvailable                     byte
	authMethod, authData, assignedClientID, reasonString []byte
	responseInfo, serverReference                        []byte

	// CONNECT's payload.
	clientID, willTopic, willPayload, username, password []byte
	// Its will properties (5.0).
	willDelay, messageExpiry                    uint32
	payloadFormat                               byte
	contentType, responseTopic, correlationData []byte
}

// reader reads a packet's fields in order; a read past the end clears ok
// and every read after it gives zeros.
type reader struct {
	b  []byte
	ok bool
}

func (r *reader) byte1() byte {
	if !r.ok || len(r.b) < 1 {
		r.ok = false
		return 0
	}
	v := r.b[0]
	r.b = r.b[1:]
	return v
}

func (r *reader) int2() uint16 {
	if !r.ok || len(r.b) < 2 {
		r.ok = false
		return 0
	}
	v := uint16(r.b[0])<<8 | uint16(r.b[1])
	r.b = r.b[2:]
	return v
}

func (r *reader) int4() uint32 {
	if !r.ok || len(r.b) < 4 {
		r.ok = false
		return 0
	}
	v := uint32(r.b[0])<<24 | uint32(r.b[1])<<16 | uint32(r.b[2])<<8 | uint32(r.b[3])
	r.b = r.b[4:]
	return v
}

// str reads a string: its length in two bytes, then its bytes.
func (r *reader) str() []byte {
	n := int(r.int2())
	if !r.ok || len(r.b) < n {
		r.ok = false
		return nil
	}
	v := r.b[:n:n]
	r.b = r.b[n:]
	return v
}

// varint reads a variable byte integer, at most four bytes, as HAProxy's
// mqtt_read_varint: bytes running out before its last byte is no error
// (the value is what was read), a fifth byte is.
func (r *reader) varint() uint32 {
	if !r.ok {
		return 0
	}
	var v uint32
	shift, off := 0, 0
	for ; off < 4 && len(r.b) > 0; off++ {
		c := r.b[0]
		v += uint32(c&127) << shift
		shift += 7
		r.b = r.b[1:]
		if c <= 127 {
			break
		}
	}
	if off == 4 {
		r.ok = false
	}
	return v
}

// props reads a property list's length and returns a reader over it,
// having skipped it in r.
func (r *reader) props() reader {
	n := r.varint()
	if !r.ok || uint32(len(r.b)) < n {
		r.ok = false
		return reader{}
	}
	p := reader{b: r.b[:n:n], ok: true}
	r.b = r.b[n:]
	return p
}

// Validate is HAProxy's mqtt_validate_message without a packet to fill.
func Validate(msg []byte) Status {
	var p packet
	return parse(msg, &p)
}

// parse is HAProxy's mqtt_validate_message: the fixed header (a known type
// with its flags, the remaining length), then a CONNECT or a CONNACK.
func parse(msg []byte, p *packet) Status {
	if len(msg) < 2 {
		return NeedMore
	}
	typ, flags := msg[0]>>4, msg[0]&0x0f
	if typ == 0 || typ >= numTypes || typ != Publish && flags != typeFlags[typ] {
		return Invalid
	}
	p.typ = typ
	r := reader{b: msg[1:], ok: true}
	p.remaining = r.varint()
	if !r.ok {
		return Invalid
	}
	if uint32(len(r.b)) < p.remaining {
		return NeedMore
	}
	// The parsers get all that follows, as HAProxy's: a packet whose
	// fields run past its remaining length is refused by the length
	// check at their end.
	switch typ {
	case Connect:
		return parseConnect(r.b, p)
	case Connack:
		return parseConnack(r.b, p)
	}
	return Invalid
}

// parseConnect reads a CONNECT's variable header and payload.
func parseConnect(b []byte, p *packet) Status {
	r := reader{b: b, ok: true}
	p.protocolName = r.str()
	if !r.ok || !bytes.EqualFold(p.protocolName, []byte("MQTT")) && !bytes.EqualFold(p.protocolName, []byte("MQIsdp")) {
		return Invalid
	}
	p.version = r.byte1()
	if !r.ok || p.version != version31 && p.version != version311 && p.version != version50 {
		return Invalid
	}
	p.flags = r.byte1()
	if !r.ok || p.flags&flagReserved != 0 {
		return Invalid
	}
	// A will QoS needs the will flag.
	if p.flags&(flagWill|flagWillQoS|flagRetain) == flagWillQoS {
		return Invalid
	}
	p.keepalive = r.int2()
	if !r.ok {
		return Invalid
	}
	if p.version == version50 {
		props := r.props()
		if !r.ok || !connectProps(&props, p) {
			return Invalid
		}
	}
	if len(p.authMethod) == 0 && len(p.authData) > 0 {
		return Invalid // authentication data without a method
	}
	p.clientID = r.str()
	if !r.ok {
		return Invalid
	}
	if p.version == version50 && p.flags&flagWill != 0 {
		props := r.props()
		if !r.ok || !willProps(&props, p) {
			return Invalid
		}
	}
	if p.flags&flagWill != 0 {
		p.willTopic = r.str()
		p.willPayload = r.str()
	}
	if p.flags&flagUsername != 0 {
		p.username = r.str()
	}
	if p.flags&flagPassword != 0 {
		p.password = r.str()
	}
	if !r.ok || uint32(len(b)-len(r.b)) != p.remaining {
		return Invalid
	}
	return Valid
}

// seen guards against a property given twice, which is invalid.
type seen uint64

func (s *seen) first(id byte) bool {
	bit := seen(1) << (id & 63)
	if *s&bit != 0 {
		return false
	}
	*s |= bit
	return true
}

// connectProps reads a CONNECT's properties; false for an invalid one.
func connectProps(r *reader, p *packet) bool {
	var s seen
	for len(r.b) > 0 {
		id := r.byte1()
		switch id {
		case PropSessionExpiryInterval:
			p.sessionExpiry = r.int4()
		case PropReceiveMaximum:
			p.receiveMax = r.int2()
			if p.receiveMax == 0 {
				return false
			}
		case PropMaximumPacketSize:
			p.maxPacketSize = r.int4()
			if p.maxPacketSize == 0 {
				return false
			}
		case PropTopicAliasMaximum:
			p.topicAliasMax = r.int2()
		case PropRequestResponseInformation:
			if p.reqResponseInfo = r.byte1(); p.reqResponseInfo > 1 {
				return false
			}
		case PropRequestProblemInformation:
			if p.reqProblemInfo = r.byte1(); p.reqProblemInfo > 1 {
				return false
			}
		case PropUserProperty:
			r.str() // name and value: kept by HAProxy, read by none of its fetches
			r.str()
			if !r.ok {
				return false
			}
			continue // may repeat
		case PropAuthenticationMethod:
			p.authMethod = r.str()
		case PropAuthenticationData:
			p.authData = r.str()
		default:
			return false
		}
		if !r.ok || !s.first(id) {
			return false
		}
	}
	return r.ok
}

// willProps reads a CONNECT's will properties.
func willProps(r *reader, p *packet) bool {
	var s seen
	for len(r.b) > 0 {
		id := r.byte1()
		switch id {
		case PropWillDelayInterval:
			p.willDelay = r.int4()
		case PropPayloadFormatIndicator:
			if p.payloadFormat = r.byte1(); p.payloadFormat > 1 {
				return false
			}
		case PropMessageExpiryInterval:
			p.messageExpiry = r.int4()
		case PropContentType:
			p.contentType = r.str()
		case PropResponseTopic:
			p.responseTopic = r.str()
		case PropCorrelationData:
			p.correlationData = r.str()
		case PropUserProperty:
			r.str()
			r.str()
			if !r.ok {
				return false
			}
			continue
		default:
			return false
		}
		if !r.ok || !s.first(id) {
			return false
		}
	}
	return r.ok
}

// parseConnack reads a CONNACK: its flags and reason code, and for 5.0
// (a remaining length above 2) its properties.
func parseConnack(b []byte, p *packet) Status {
	switch {
	case len(b) < 2:
		return Invalid
	case len(b) == 2:
		p.version = version311
	default:
		p.version = version50
	}
	r := reader{b: b, ok: true}
	p.flags = r.byte1()
	if p.flags&0xfe != 0 {
		return Invalid // bits 7 to 1 are reserved
	}
	p.reasonCode = r.byte1()
	if p.version == version50 {
		props := r.props()
		if !r.ok || !connackProps(&props, p) {
			return Invalid
		}
	}
	if !r.ok || uint32(len(b)-len(r.b)) != p.remaining {
		return Invalid
	}
	return Valid
}

// connackProps reads a CONNACK's properties.
func connackProps(r *reader, p *packet) bool {
	var s seen
	for len(r.b) > 0 {
		id := r.byte1()
		switch id {
		case PropSessionExpiryInterval:
			p.sessionExpiry = r.int4()
		case PropReceiveMaximum:
			p.receiveMax = r.int2()
			if p.receiveMax == 0 {
				return false
			}
		case PropMaximumQoS:
			if p.maxQoS = r.byte1(); p.maxQoS > 1 {
				return false
			}
		case PropRetainAvailable:
			if p.retainAvailable = r.byte1(); p.retainAvailable > 1 {
				return false
			}
		case PropMaximumPacketSize:
			p.maxPacketSize = r.int4()
			if p.maxPacketSize == 0 {
				return false
			}
		case PropAssignedClientIdentifier:
			p.assignedClientID = r.str()
			if len(p.assignedClientID) == 0 {
				return false
			}
		case PropTopicAliasMaximum:
			p.topicAliasMax = r.int2()
		case PropReasonString:
			p.reasonString = r.str()
		case PropWildcardSubscriptionAvailable:
			if p.wildcardAvailable = r.byte1(); p.wildcardAvailable > 1 {
				return false
			}
		case PropSubscriptionIdentifierAvailable:
			if p.subIDsAvailable = r.byte1(); p.subIDsAvailable > 1 {
				return false
			}
		case PropSharedSubscriptionAvailable:
			if p.sharedAvailable = r.byte1(); p.sharedAvailable > 1 {
				return false
			}
		case PropServerKeepalive:
			p.serverKeepalive = r.int2()
		case PropResponseInformation:
			p.responseInfo = r.str()
		case PropServerReference:
			p.serverReference = r.str()
		case PropUserProperty:
			r.str()
			r.str()
			if !r.ok {
				return false
			}
			continue
		case PropAuthenticationMethod:
			p.authMethod = r.str()
		case PropAuthenticationData:
			p.authData = r.str()
		default:
			return false // HAProxy 2.6 waited for more data here; fixed since
		}
		if !r.ok || !s.first(id) {
			return false
		}
	}
	return r.ok
}

// Value is a field's value: a string, which aliases the packet, or a
// number, which HAProxy writes in decimal.
type Value struct {
	Str   []byte
	Num   uint32
	IsNum bool
}

// AppendText appends v as HAProxy's converter gives it.
func (v Value) AppendText(dst []byte) []byte {
	if v.IsNum {
		return strconv.AppendUint(dst, uint64(v.Num), 10)
	}
	return append(dst, v.Str...)
}

// FieldValue is HAProxy's mqtt_field_value: the value of field in msg if
// msg is a valid packet of type typ. st is Valid when the field is
// there; an empty string counts as none, a number always is. Otherwise
// st is NeedMore when msg is the start of a packet that may still come
// whole, Invalid when there is no such field or packet.
func FieldValue(msg []byte, typ, field int) (v Value, st Status) {
	var p packet
	switch parse(msg, &p) {
	case NeedMore:
		return Value{}, NeedMore
	case Invalid:
		return Value{}, Invalid
	}
	if int(p.typ) != typ {
		return Value{}, Invalid
	}
	var s []byte
	num := func(n uint32) { v = Value{Num: n, IsNum: true} }
	v5 := p.version == version50
	will := v5 && p.flags&flagWill != 0
	switch {
	case field == FieldFlags:
		num(uint32(p.flags))
	case field == FieldProtocolVersion:
		num(uint32(p.version))
	case typ == Connect:
		switch {
		case field == FieldProtocolName:
			s = p.protocolName
		case field == FieldClientIdentifier:
			s = p.clientID
		case field == FieldWillTopic:
			s = p.willTopic
		case field == FieldWillPayload:
			s = p.willPayload
		case field == FieldUsername:
			s = p.username
		case field == FieldPassword:
			s = p.password
		case field == FieldKeepalive:
			num(uint32(p.keepalive))
		case !v5:
			return Value{}, Invalid // the rest are 5.0's properties
		case field == PropPayloadFormatIndicator && will:
			num(uint32(p.payloadFormat))
		case field == PropMessageExpiryInterval && will:
			num(p.messageExpiry)
		case field == PropContentType && will:
			s = p.contentType
		case field == PropResponseTopic && will:
			s = p.responseTopic
		case field == PropCorrelationData && will:
			s = p.correlationData
		case field == PropWillDelayInterval && will:
			num(p.willDelay)
		case field == PropSessionExpiryInterval:
			num(p.sessionExpiry)
		case field == PropAuthenticationMethod:
			s = p.authMethod
		case field == PropAuthenticationData:
			s = p.authData
		case field == PropRequestProblemInformation:
			num(uint32(p.reqProblemInfo))
		case field == PropRequestResponseInformation:
			num(uint32(p.reqResponseInfo))
		case field == PropReceiveMaximum:
			num(uint32(p.receiveMax))
		case field == PropTopicAliasMaximum:
			num(uint32(p.topicAliasMax))
		case field == PropMaximumPacketSize:
			num(p.maxPacketSize)
		}
	case typ == Connack:
		switch {
		case field == FieldReasonCode:
			num(uint32(p.reasonCode))
		case !v5:
			return Value{}, Invalid
		case field == PropSessionExpiryInterval:
			num(p.sessionExpiry)
		case field == PropAssignedClientIdentifier:
			s = p.assignedClientID
		case field == PropServerKeepalive:
			num(uint32(p.serverKeepalive))
		case field == PropAuthenticationMethod:
			s = p.authMethod
		case field == PropAuthenticationData:
			s = p.authData
		case field == PropResponseInformation:
			s = p.responseInfo
		case field == PropServerReference:
			s = p.serverReference
		case field == PropReasonString:
			s = p.reasonString
		case field == PropReceiveMaximum:
			num(uint32(p.receiveMax))
		case field == PropTopicAliasMaximum:
			num(uint32(p.topicAliasMax))
		case field == PropMaximumQoS:
			num(uint32(p.maxQoS))
		case field == PropRetainAvailable:
			num(uint32(p.retainAvailable))
		case field == PropMaximumPacketSize:
			num(p.maxPacketSize)
		case field == PropWildcardSubscriptionAvailable:
			num(uint32(p.wildcardAvailable))
		case field == PropSubscriptionIdentifierAvailable:
			num(uint32(p.subIDsAvailable))
		case field == PropSharedSubscriptionAvailable:
			num(uint32(p.sharedAvailable))
		}
	}
	if v.IsNum {
		return v, Valid
	}
	if len(s) == 0 {
		return Value{}, Invalid
	}
	return Value{Str: s}, Valid
}

// typeNames are the packet types by number.
var typeNames = [numTypes]string{
	Connect: "CONNECT", Connack: "CONNACK", Publish: "PUBLISH", Puback: "PUBACK", Pubrec: "PUBREC",
	Pubrel: "PUBREL", Pubcomp: "PUBCOMP", Subscribe: "SUBSCRIBE", Suback: "SUBACK",
	Unsubscribe: "UNSUBSCRIBE", Unsuback: "UNSUBACK", Pingreq: "PINGREQ", Pingresp: "PINGRESP",
	Disconnect: "DISCONNECT", Auth: "AUTH",
}

// TypeID is HAProxy's mqtt_typeid: the packet type a number or a name
// (in any case) stands for, 0 for none. The number is read as HAProxy's
// strl2ui reads it, every byte taken for a digit.
func TypeID(name string) int {
	var n uint32
	for i := 0; i < len(name); i++ {
		n = n*10 - '0' + uint32(name[i])
	}
	if n >= Connect && n < numTypes {
		return int(n)
	}
	for id, t := range typeNames {
		if t != "" && equalFold(name, t) {
			return id
		}
	}
	return 0
}

// fieldName is a field's name in the configuration, and the packet
// types it may be read from (a bit per type).
type fieldName struct {
	name  string
	id    int
	types uint16
}

const (
	inConnect    = 1 << Connect
	inConnack    = 1 << Connack
	inPublish    = 1 << Publish
	inAcks       = 1<<Puback | 1<<Pubrec | 1<<Pubrel | 1<<Pubcomp
	inSubscribe  = 1 << Subscribe
	inSuback     = 1 << Suback
	inUnsub      = 1 << Unsubscribe
	inUnsuback   = 1 << Unsuback
	inDisconnect = 1 << Disconnect
	inAuth       = 1 << Auth
	allAcked     = inAcks | inSubscribe | inSuback | inUnsub | inUnsuback | inDisconnect | inAuth
)

// fieldNames are HAProxy's mqtt_fields_string and mqtt_fields_per_packet:
// the names of the fields, MQTT 5.0's properties by their number, and
// where each may be asked for. Some may be asked for and are never found
// (user properties, the fields of packets that are never valid).
var fieldNames = [...]fieldName{
	{"flags", FieldFlags, inConnect | inConnack},
	{"reason_code", FieldReasonCode, inConnack | inAcks | inDisconnect},
	{"protocol_name", FieldProtocolName, inConnect},
	{"protocol_version", FieldProtocolVersion, inConnect | inConnack},
	{"client_identifier", FieldClientIdentifier, inConnect},
	{"will_topic", FieldWillTopic, inConnect},
	{"will_payload", FieldWillPayload, inConnect},
	{"username", FieldUsername, inConnect},
	{"password", FieldPassword, inConnect},
	{"keepalive", FieldKeepalive, inConnect},
	{"1", PropPayloadFormatIndicator, inConnect | inPublish},
	{"2", PropMessageExpiryInterval, inConnect | inPublish},
	{"3", PropContentType, inConnect | inPublish},
	{"8", PropResponseTopic, inConnect | inPublish},
	{"9", PropCorrelationData, inConnect | inPublish},
	{"11", PropSubscriptionIdentifier, inPublish | inSubscribe},
	{"17", PropSessionExpiryInterval, inConnect | inConnack | inDisconnect},
	{"18", PropAssignedClientIdentifier, inConnack},
	{"19", PropServerKeepalive, inConnack},
	{"21", PropAuthenticationMethod, inConnect | inConnack | inAuth},
	{"22", PropAuthenticationData, inConnect | inConnack | inAuth},
	{"23", PropRequestProblemInformation, inConnect},
	{"24", PropWillDelayInterval, inConnect},
	{"25", PropRequestResponseInformation, inConnect},
	{"26", PropResponseInformation, inConnack},
	{"28", PropServerReference, inConnack | inDisconnect},
	{"31", PropReasonString, inConnack | inAcks | inSuback | inUnsuback | inDisconnect | inAuth},
	{"33", PropReceiveMaximum, inConnect | inConnack},
	{"34", PropTopicAliasMaximum, inConnect | inConnack},
	{"35", PropTopicAlias, inPublish},
	{"36", PropMaximumQoS, inConnack},
	{"37", PropRetainAvailable, inConnack},
	{"38", PropUserProperty, inConnect | inConnack | inPublish | allAcked},
	{"39", PropMaximumPacketSize, inConnect | inConnack},
	{"40", PropWildcardSubscriptionAvailable, inConnack},
	{"41", PropSubscriptionIdentifierAvailable, inConnack},
	{"42", PropSharedSubscriptionAvailable, inConnack},
}

// FieldID is HAProxy's mqtt_check_type_fieldname: the field a name stands
// for (in any case) if packets of type typ have it, 0 otherwise.
func FieldID(typ int, name string) int {
	for _, f := range fieldNames {
		if equalFold(name, f.name) {
			if f.types&(1<<typ) != 0 {
				return f.id
			}
			return 0
		}
	}
	return 0
}

// Fields calls fn with every field name and the packet types that have
// it, for the tests that keep config's table in step.
func Fields(fn func(name string, id int, types []int)) {
	for _, f := range fieldNames {
		var ts []int
		for t := Connect; t < numTypes; t++ {
			if f.types&(1<<t) != 0 {
				ts = append(ts, t)
			}
		}
		fn(f.name, f.id, ts)
	}
}

func equalFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}
