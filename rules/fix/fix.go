// Package fix reads Financial Information eXchange messages as HAProxy's
// fix_is_valid and fix_tag_value converters do (src/fix.c): a message is
// TAG=VALUE fields, each ended by the byte 0x01, that starts with
// BeginString (8), BodyLength (9) and MsgType (35) and ends with
// CheckSum (10). It never allocates, and its input may be any bytes: the
// first bytes a client or a server sent, which may be a message cut
// short.
package fix

import "bytes"

// Status is what a message, or the bytes so far, are.
type Status int8

const (
	Invalid  Status = -1 // not a FIX message, and more bytes will not make one
	NeedMore Status = 0  // the start of a message: more bytes may complete it
	Valid    Status = 1  // a whole message that passes the checks
)

// Tags HAProxy knows by name.
const (
	TagBeginString  = 8
	TagBodyLength   = 9
	TagCheckSum     = 10
	TagMsgType      = 35
	TagSenderCompID = 49
	TagTargetCompID = 56
)

// delimiter ends every field.
const delimiter = 0x01

// minSize is the shortest message HAProxy looks at (FIX_MSG_MINSIZE).
const minSize = 26

// version is a BeginString value and the highest tag it defines.
type version struct {
	name   string
	maxTag uint32
}

// versions are the BeginString values HAProxy knows, with the tag ranges
// of each: FIX.5.0 and its service packs share "FIXT.1.1" and the widest
// range.
var versions = [...]version{
	{"FIX.4.0", 140}, {"FIX.4.1", 211}, {"FIX.4.2", 446},
	{"FIX.4.3", 659}, {"FIX.4.4", 956}, {"FIXT.1.1", 1621},
}

// readUint is HAProxy's read_uint: the leading digits of b as an
// unsigned 32-bit number (wrapping as C's does), and how many bytes they
// took.
func readUint(b []byte) (uint32, int) {
	var n uint32
	i := 0
	for ; i < len(b) && b[i] >= '0' && b[i] <= '9'; i++ {
		n = n*10 + uint32(b[i]-'0')
	}
	return n, i
}

// strl2ui is HAProxy's __strl2ui, which reads every byte as a digit
// without looking: "25x" is a number too, not 25.
func strl2ui(b []byte) uint32 {
	var n uint32
	for _, c := range b {
		n = n*10 - '0' + uint32(c)
	}
	return n
}

// checkID is HAProxy's fix_check_id: the tag number tag is, 0 when it is
// not all digits, is 0, or is out of v's range (v nil: any number). The
// user-defined tags 10000 to 19999 are in every version's range.
func checkID(tag []byte, v *version) uint32 {
	id, n := readUint(tag)
	if n != len(tag) || id == 0 {
		return 0
	}
	if v == nil || id >= 10000 && id <= 19999 || id <= v.maxTag {
		return id
	}
	return 0
}

// versionOf is HAProxy's fix_version: the version a BeginString value
// names, nil for none.
func versionOf(value []byte) *version {
	for i := range versions {
		if string(value) == versions[i].name {
			return &versions[i]
		}
	}
	return nil
}

// field cuts the next field off msg, as HAProxy's parser does: the tag
// before the first '=', the value up to the delimiter. more is set when
// msg holds no whole field (no '=', or no delimiter after it); bad when
// the tag is empty.
func field(msg []byte) (tag, value, rest []byte, more, bad bool) {
	eq := bytes.IndexByte(msg, '=')
	if eq < 0 {
		return nil, nil, nil, true, false
	}
	end := bytes.IndexByte(msg[eq:], delimiter)
	if end < 0 {
		return nil, nil, nil, true, false
	}
	end += eq
	if eq == 0 {
		return nil, nil, nil, false, true
	}
	// An empty value ("98=") is not refused here: HAProxy's test for it
	// looks at the value with its '=', never empty.
	return msg[:eq], msg[eq+1 : end], msg[end+1:], false, false
}

// Validate is HAProxy's fix_validate_message: msg must begin with a whole
// message whose first fields are BeginString with a known version,
// BodyLength (which must count the bytes from MsgType to the CheckSum
// field) and MsgType, whose tags are numbers in the version's range, and
// whose CheckSum field holds three digits equal to the sum of the bytes
// before it, modulo 256. Bytes after the CheckSum field are not looked
// at.
func Validate(msg []byte) Status {
	if len(msg) < minSize {
		return NeedMore
	}
	var (
		v        *version
		tagnum   int
		bodylen  uint32
		checksum byte
		body     = -1 // where the body starts: after BodyLength
	)
	for p := msg; len(p) > 0; {
		tag, value, rest, more, bad := field(p)
		if more {
			return NeedMore
		}
		if bad {
			return Invalid
		}
		id := checkID(tag, v)
		if id == 0 {
			return Invalid
		}
		tagnum++
		switch {
		case tagnum == 1:
			if id != TagBeginString {
				return Invalid
			}
			if v = versionOf(value); v == nil {
				return Invalid
			}
		case tagnum == 2:
			if id != TagBodyLength {
				return Invalid
			}
			n, used := readUint(value)
			if used != len(value) || n == 0 {
				return Invalid // there is at least the message type
			}
			bodylen = n
			body = len(msg) - len(rest)
		case tagnum == 3:
			if id != TagMsgType {
				return Invalid
			}
		case id == TagCheckSum:
			// The last field, counted neither in the body nor in the
			// sum: three digits.
			if uint32(len(msg)-len(p)-body) != bodylen || len(value) != 3 {
				return Invalid
			}
			if uint32(checksum) != strl2ui(value) {
				return Invalid
			}
			return Valid
		}
		for _, c := range p[:len(p)-len(rest)] { // tag=value<delim>
			checksum += c
		}
		p = rest
	}
	if body >= 0 {
		return NeedMore // the body began, its CheckSum has not come
	}
	return Invalid
}

// TagValue is HAProxy's fix_tag_value: the value of the first field with
// tag in msg. found is false when there is none: NeedMore when msg ends
// before it (no CheckSum field yet), or when the field is there with an
// empty value; Invalid when a field before it has an empty or
// non-numeric tag, or the CheckSum field came first. Only these simple
// checks are made: TagValue does not validate the message.
func TagValue(msg []byte, tag uint32) (value []byte, st Status) {
	for p := msg; len(p) > 0; {
		t, v, rest, more, bad := field(p)
		if more {
			break
		}
		if bad {
			return nil, Invalid
		}
		id := checkID(t, nil)
		if id == 0 {
			return nil, Invalid
		}
		if id == tag {
			if len(v) == 0 {
				// HAProxy returns the empty value, which its
				// converter takes for "more data needed".
				return nil, NeedMore
			}
			return v, Valid
		}
		if id == TagCheckSum {
			return nil, Invalid
		}
		p = rest
	}
	return nil, NeedMore
}

// TagID is HAProxy's fix_tagid: the tag a name or number stands for, 0
// for none. Names are those HAProxy knows (BeginString, BodyLength,
// CheckSum, MsgType, SenderCompID, TargetCompID), in any case.
func TagID(name string) uint32 {
	if id := checkID([]byte(name), nil); id != 0 {
		return id
	}
	for _, t := range []struct {
		name string
		id   uint32
	}{
		{"MsgType", TagMsgType}, {"CheckSum", TagCheckSum}, {"BodyLength", TagBodyLength},
		{"TargetCompID", TagTargetCompID}, {"BeginString", TagBeginString}, {"SenderCompID", TagSenderCompID},
	} {
		if bytes.EqualFold([]byte(name), []byte(t.name)) {
			return t.id
		}
	}
	return 0
}
