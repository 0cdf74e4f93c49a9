package rules

import (
	"github.com/fjordlb/fjord/config"
	"github.com/fjordlb/fjord/rules/fix"
	"github.com/fjordlb/fjord/rules/mqtt"
)

// The bytes of a tcp connection that content rules inspect before they
// are forwarded (HAProxy's src/payload.c): req.payload and req.len read
// the client's, res.payload and res.len the server's, in Txn.ReqData and
// Txn.ResData. Bytes not there yet make a sample that may change
// (t.mayChange), which holds the rules back while the inspect-delay runs;
// bytes beyond what the buffer can hold (Txn.DataCap) make none, for
// good. In HTTP mode they have no bytes to read, as in HAProxy, where
// they are meaningless on its HTTP representation.

func init() {
	for _, side := range []struct {
		prefix string
		data   func(t *Txn) []byte
	}{
		{"req.", func(t *Txn) []byte { return t.ReqData }},
		{"res.", func(t *Txn) []byte { return t.ResData }},
	} {
		data := side.data
		fetchFns[side.prefix+"payload"] = func(t *Txn, a []config.Arg, _ *iter) (Value, bool) {
			return payload(t, data(t), a[0].Int, a[1].Int)
		}
		fetchFns[side.prefix+"payload_lv"] = func(t *Txn, a []config.Arg, _ *iter) (Value, bool) {
			return payloadLV(t, data(t), a)
		}
	}
	// req.len: in tcp mode the bytes the client sent so far, which may
	// grow; in HTTP mode the request body's length (HAProxy counts its
	// HTTP representation's bytes, which fjord does not have).
	fetchFns["req.len"] = func(t *Txn, _ []config.Arg, _ *iter) (Value, bool) {
		if t.Req != nil {
			return intValue(int64(len(t.Body))), true
		}
		t.mayChange = true
		return intValue(int64(len(t.ReqData))), true
	}
	fetchFns["res.len"] = func(t *Txn, _ []config.Arg, _ *iter) (Value, bool) {
		if t.ResData == nil {
			return Value{}, false
		}
		t.mayChange = true
		return intValue(int64(len(t.ResData))), true
	}
	// wait_end (the ACL WAIT_END): true once the inspection is final,
	// no sample before, so that a rule waits for the inspect-delay.
	fetchFns["wait_end"] = func(t *Txn, _ []config.Arg, _ *iter) (Value, bool) {
		if t.Partial {
			t.mayChange = true
			return Value{}, false
		}
		return boolValue(true), true
	}

	convFns["fix_is_valid"] = func(t *Txn, _ []config.Arg, v Value) (Value, bool) {
		st := fix.Validate(v.B)
		return decided(t, st == fix.Valid, st == fix.NeedMore)
	}
	convFns["fix_tag_value"] = func(t *Txn, a []config.Arg, v Value) (Value, bool) {
		val, st := fix.TagValue(v.B, uint32(a[0].Int))
		t.mayChange = st == fix.NeedMore
		return binValue(val), st == fix.Valid
	}
	convFns["mqtt_is_valid"] = func(t *Txn, _ []config.Arg, v Value) (Value, bool) {
		st := mqtt.Validate(v.B)
		return decided(t, st == mqtt.Valid, st == mqtt.NeedMore)
	}
	convFns["mqtt_field_value"] = func(t *Txn, a []config.Arg, v Value) (Value, bool) {
		val, st := mqtt.FieldValue(v.B, int(a[0].Int), int(a[1].Int))
		t.mayChange = st == mqtt.NeedMore
		if st != mqtt.Valid {
			return Value{}, false
		}
		if !val.IsNum {
			return strValue(val.Str), true
		}
		off := len(t.scratch)
		t.scratch = val.AppendText(t.scratch)
		return strValue(t.built(off)), true
	}
}

// decided is fix_is_valid's and mqtt_is_valid's result: a boolean once
// the bytes decide, whatever may follow them; no sample, one that may
// change, while they are the start of a message (more).
func decided(t *Txn, valid, more bool) (Value, bool) {
	t.mayChange = more
	if more {
		return Value{}, false
	}
	return boolValue(valid), true
}

// payload is HAProxy's smp_fetch_payload: length bytes from offset, or
// all from offset when length is 0. A sample of all that came may still
// grow.
func payload(t *Txn, data []byte, off, n int64) (Value, bool) {
	if data == nil {
		return Value{}, false // no bytes to read here (HTTP mode)
	}
	if c := int64(t.DataCap); c > 0 && (n > c || off+n > c) {
		return Value{}, false // never there
	}
	if off+n > int64(len(data)) {
		t.mayChange = true // not all there yet
		return Value{}, false
	}
	if n == 0 {
		t.mayChange = true
		return binValue(data[off:len(data):len(data)]), true
	}
	return binValue(data[off : off+n : off+n]), true
}

// payloadLV is HAProxy's smp_fetch_payload_lv: a length of a[1].Int bytes
// (big-endian, the low 32 bits kept) at a[0].Int, then as many bytes
// from just after it, or from the third argument: an offset from the
// start, or from just after the length when signed.
func payloadLV(t *Txn, data []byte, a []config.Arg) (Value, bool) {
	if data == nil {
		return Value{}, false
	}
	lenOff, lenSize := a[0].Int, a[1].Int
	if lenOff+lenSize > int64(len(data)) {
		t.mayChange = true
		return Value{}, false
	}
	var size uint32
	for _, c := range data[lenOff : lenOff+lenSize] {
		size = size<<8 + uint32(c)
	}
	off := lenOff + lenSize
	if len(a) > 2 && a[2].Str != "" {
		if s := a[2].Str[0]; s == '+' || s == '-' {
			off += a[2].Int
		} else {
			off = a[2].Int
		}
	}
	end := off + int64(size)
	if size == 0 || t.DataCap > 0 && end > int64(t.DataCap) {
		return Value{}, false // never there
	}
	if end > int64(len(data)) {
		t.mayChange = true
		return Value{}, false
	}
	return binValue(data[off:end:end]), true
}
