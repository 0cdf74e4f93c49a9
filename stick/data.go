package stick

// The data methods read and update one entry's stored data under its
// shard's lock. Updates touch the entry (renew its expiry, make it the most
// recently used) as HAProxy's stktable_touch_local after each update does;
// reads do not. Each reports false when the table does not store the type
// or the type is not of the method's kind. None allocates.

// lock locks e's shard and returns it.
func (t *Table) lock(e *Entry) *shard {
	s := &t.shards[e.shard]
	s.mu.Lock()
	return s
}

// off returns d's word offset if the table stores it with value kind k.
func (t *Table) off(d DataType, k ValueKind) (int, bool) {
	if d >= NumDataTypes || t.offs[d] < 0 || d.Kind() != k {
		return 0, false
	}
	return int(t.offs[d]), true
}

// freq returns the counter stored at o; setFreq stores it back.
func (e *Entry) freq(o int) FreqCtr {
	return FreqCtr{CurrTick: e.data[o], CurrCtr: e.data[o+1], PrevCtr: e.data[o+2]}
}

func (e *Entry) setFreq(o int, f FreqCtr) {
	e.data[o], e.data[o+1], e.data[o+2] = f.CurrTick, f.CurrCtr, f.PrevCtr
}

// updateFreq adds n events at now to the rate at o, of period p.
func (e *Entry) updateFreq(o int, now, p, n uint32) {
	f := e.freq(o)
	f.Update(now, p, n)
	e.setFreq(o, f)
}

func (e *Entry) u64(o int) uint64 {
	return uint64(e.data[o])<<32 | uint64(e.data[o+1])
}

func (e *Entry) setU64(o int, v uint64) {
	e.data[o], e.data[o+1] = uint32(v>>32), uint32(v)
}

// update32 replaces 32-bit data type d, of kind k, by fn of its value and
// touches the entry, under the shard's lock; it returns the value before
// and after.
func (t *Table) update32(e *Entry, d DataType, k ValueKind, fn func(uint32) uint32) (old, v uint32, ok bool) {
	o, ok := t.off(d, k)
	if !ok {
		return 0, 0, false
	}
	s := t.lock(e)
	old = e.data[o]
	v = fn(old)
	e.data[o] = v
	t.touchLocked(s, e, t.now())
	s.mu.Unlock()
	return old, v, true
}

// read returns d's value as value does, if the table stores it with kind
// k, under the shard's lock.
func (t *Table) read(e *Entry, d DataType, k ValueKind) (uint64, bool) {
	if _, ok := t.off(d, k); !ok {
		return 0, false
	}
	s := t.lock(e)
	v := t.value(e, d, t.now())
	s.mu.Unlock()
	return v, true
}

// AddCount adds n to counter d (an unsigned 32-bit counter, which wraps as
// HAProxy's unsigned int does, or a 64-bit bytes count) and returns the
// new value.
func (t *Table) AddCount(e *Entry, d DataType, n uint64) (uint64, bool) {
	switch d.Kind() {
	case UInt:
		_, v, ok := t.update32(e, d, UInt, func(v uint32) uint32 { return v + uint32(n) })
		return uint64(v), ok
	case ULL:
		o, ok := t.off(d, ULL)
		if !ok {
			return 0, false
		}
		s := t.lock(e)
		v := e.u64(o) + n
		e.setU64(o, v)
		t.touchLocked(s, e, t.now())
		s.mu.Unlock()
		return v, true
	}
	return 0, false
}

// Count returns counter d (UInt or ULL).
func (t *Table) Count(e *Entry, d DataType) (uint64, bool) {
	if k := d.Kind(); k == UInt || k == ULL {
		return t.read(e, d, k)
	}
	return 0, false
}

// AddRate adds n events now to rate d, as update_freq_ctr_period does.
func (t *Table) AddRate(e *Entry, d DataType, n uint32) bool {
	o, ok := t.off(d, Freq)
	if !ok {
		return false
	}
	s := t.lock(e)
	now := t.now()
	e.updateFreq(o, now, t.specs[d].Period, n)
	t.touchLocked(s, e, now)
	s.mu.Unlock()
	return true
}

// Rate returns rate d now: events per period, as read_freq_ctr_period.
func (t *Table) Rate(e *Entry, d DataType) (uint32, bool) {
	v, ok := t.read(e, d, Freq)
	return uint32(v), ok
}

// Inc counts one event in the counter and the rate HAProxy updates together
// for it (a connection: conn_cnt and conn_rate; a request: http_req_cnt and
// http_req_rate; ...): whichever of the pair the table stores. It reports
// whether the table stores either.
func (t *Table) Inc(e *Entry, cnt, rate DataType) bool {
	oc, okc := t.off(cnt, UInt)
	or, okr := t.off(rate, Freq)
	if !okc && !okr {
		return false
	}
	s := t.lock(e)
	now := t.now()
	if okc {
		e.data[oc]++
	}
	if okr {
		e.updateFreq(or, now, t.specs[rate].Period, 1)
	}
	t.touchLocked(s, e, now)
	s.mu.Unlock()
	return true
}

// IncGPC0 increments gpc0 and feeds gpc0_rate, as sc-inc-gpc0 does, and
// returns gpc0's new value (0 when only the rate is stored).
func (t *Table) IncGPC0(e *Entry) (uint32, bool) {
	oc, okc := t.off(GPC0, UInt)
	or, okr := t.off(GPC0Rate, Freq)
	if !okc && !okr {
		return 0, false
	}
	s := t.lock(e)
	now := t.now()
	var v uint32
	if okr {
		e.updateFreq(or, now, t.specs[GPC0Rate].Period, 1)
	}
	if okc {
		e.data[oc]++
		v = e.data[oc]
	}
	t.touchLocked(s, e, now)
	s.mu.Unlock()
	return v, true
}

// ClearGPC0 sets gpc0 to 0 and returns its previous value, as the
// sc_clr_gpc0 fetch does.
func (t *Table) ClearGPC0(e *Entry) (uint32, bool) {
	old, _, ok := t.update32(e, GPC0, UInt, func(uint32) uint32 { return 0 })
	return old, ok
}

// SetGPT0 sets gpt0, as sc-set-gpt0 does.
func (t *Table) SetGPT0(e *Entry, v uint32) bool {
	_, _, ok := t.update32(e, GPT0, UInt, func(uint32) uint32 { return v })
	return ok
}

// SetServerID records the server a sticky key goes to.
func (t *Table) SetServerID(e *Entry, id int32) bool {
	_, _, ok := t.update32(e, ServerID, SInt, func(uint32) uint32 { return uint32(id) })
	return ok
}

// ServerID returns the server a sticky key goes to.
func (t *Table) ServerID(e *Entry) (int32, bool) {
	v, ok := t.read(e, ServerID, SInt)
	return int32(v), ok
}

// IncConnCur counts a connection the key has open and returns the new count.
func (t *Table) IncConnCur(e *Entry) (uint32, bool) {
	_, v, ok := t.update32(e, ConnCur, UInt, func(v uint32) uint32 { return v + 1 })
	return v, ok
}

// DecConnCur counts a connection the key closed. As HAProxy's does, it
// never goes below 0 (a "clear table" may have zeroed it meanwhile).
func (t *Table) DecConnCur(e *Entry) (uint32, bool) {
	_, v, ok := t.update32(e, ConnCur, UInt, func(v uint32) uint32 {
		if v > 0 {
			v--
		}
		return v
	})
	return v, ok
}

// Set sets data type d to v, as "set table T key K data.TYPE V" does: an
// integer type takes v converted to its C type; a rate restarts a period
// now holding v events and none before.
func (t *Table) Set(e *Entry, d DataType, v int64) bool {
	if d >= NumDataTypes || t.offs[d] < 0 {
		return false
	}
	o := int(t.offs[d])
	s := t.lock(e)
	now := t.now()
	switch d.Kind() {
	case SInt, UInt:
		e.data[o] = uint32(v)
	case ULL:
		e.setU64(o, uint64(v))
	case Freq:
		// HAProxy: curr_tick = now_ms; prev_ctr = 0; curr_ctr = value.
		e.setFreq(o, FreqCtr{CurrTick: now, CurrCtr: uint32(v)})
	}
	t.touchLocked(s, e, now)
	s.mu.Unlock()
	return true
}

// value returns d's value at now for show table: int32 as int64 bits for
// server_id, counts, and rates read at now. s's lock is held.
func (t *Table) value(e *Entry, d DataType, now uint32) uint64 {
	o := int(t.offs[d])
	switch d.Kind() {
	case SInt:
		return uint64(int64(int32(e.data[o])))
	case UInt:
		return uint64(e.data[o])
	case ULL:
		return e.u64(o)
	case Freq:
		f := e.freq(o)
		return uint64(f.Read(now, t.specs[d].Period))
	}
	return 0
}
