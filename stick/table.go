package stick

import (
	"errors"
	"fmt"
	"hash/maphash"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Config describes a table: HAProxy's "stick-table" line.
type Config struct {
	Name    string
	Key     KeyType
	Size    int        // the most entries the table holds; required
	Expire  uint32     // ms an entry lives after it was last touched; 0: forever
	NoPurge bool       // when full, refuse new keys instead of evicting
	Store   []DataSpec // the data each entry keeps
	// Now returns the current time in milliseconds as a wrapping 32-bit
	// tick (HAProxy's now_ms). It must not go backwards. nil uses a
	// monotonic clock; tests inject their own.
	Now func() uint32
}

// Errors GetOrCreate returns.
var (
	// ErrFull: the table is full and nopurge is set, or every entry that
	// could make room is in use. The caller counts it; HAProxy silently
	// does not track.
	ErrFull = errors.New("stick: table full")
	// ErrKeySize: the key is not a key of the table's type (wrong length).
	ErrKeySize = errors.New("stick: key size does not match the table's key type")
	// ErrInUse: Clear was asked to remove an entry a session tracks.
	ErrInUse = errors.New("stick: entry in use")
)

const maxShards = 64

// Table is a stick table's store: entries found by key, each with the data
// the table stores, bounded by size, evicted least recently touched first,
// expired after Expire. It is safe for concurrent use.
type Table struct {
	name    string
	key     KeyType
	size    int64
	expire  uint32
	nopurge bool
	now     func() uint32

	specs  [NumDataTypes]DataSpec
	offs   [NumDataTypes]int16 // word offset in Entry.data, -1 when not stored
	stored []DataType          // stored types in HAProxy's order
	words  int

	// evictSearch bounds how many in-use entries eviction steps over,
	// HAProxy's max_search: twice its batch of (size>>8)+1.
	evictSearch int

	used    atomic.Int64 // entries in all shards, <= size
	refused atomic.Uint64

	seed   maphash.Seed
	mask   uint64
	sweep  atomic.Uint32 // next shard Sweep starts at
	shards []shard
}

// shard is one lock's worth of the table: its entries by key, and a list of
// them from most (head) to least (tail) recently touched.
type shard struct {
	mu         sync.Mutex
	m          map[string]*Entry
	head, tail *Entry
	_          [64 - 8 - 8 - 16]byte // keep each lock on its own cache line
}

// Entry is one key's data. A handle from GetOrCreate or Lookup stays valid
// until the matching Release: an entry in use is never evicted, expired or
// cleared (HAProxy's ref_cnt).
type Entry struct {
	key        string
	prev, next *Entry
	// data holds the stored types' words at the table's offsets, then
	// the tick the entry expires at. Keeping the tick there rather than
	// in a field of its own makes an Entry 64 bytes, a size class, where
	// it would take 80; the words' allocation has room for it.
	data  []uint32
	ref   int32 // handles given out and not yet released
	shard uint8
}

// expireTick returns the tick e expires at, when the table expires entries.
func (e *Entry) expireTick() uint32 { return e.data[len(e.data)-1] }

// Key returns the entry's encoded key.
func (e *Entry) Key() string { return e.key }

var startTime = time.Now()

// monotonicMS is the default clock: ms since the process started, wrapping.
func monotonicMS() uint32 { return uint32(time.Since(startTime).Milliseconds()) }

// NewTable returns an empty table described by c.
func NewTable(c Config) (*Table, error) {
	if c.Key.Kind == 0 {
		return nil, fmt.Errorf("stick-table %q: missing key type", c.Name)
	}
	if c.Size <= 0 || c.Size > math.MaxInt32 {
		return nil, fmt.Errorf("stick-table %q: size %d out of range (1 to %d)", c.Name, c.Size, math.MaxInt32)
	}
	if c.Expire > math.MaxInt32 {
		return nil, fmt.Errorf("stick-table %q: expire %dms too large (at most 2147483647ms)", c.Name, c.Expire)
	}
	t := &Table{
		name:        c.Name,
		key:         c.Key,
		size:        int64(c.Size),
		expire:      c.Expire,
		nopurge:     c.NoPurge,
		now:         c.Now,
		seed:        maphash.MakeSeed(),
		evictSearch: 2 * ((c.Size >> 8) + 1),
	}
	if t.now == nil {
		t.now = monotonicMS
	}
	if err := t.layout(c.Store); err != nil {
		return nil, fmt.Errorf("stick-table %q: %w", c.Name, err)
	}
	n := shardCount(c.Size)
	t.mask = uint64(n - 1)
	t.shards = make([]shard, n)
	for i := range t.shards {
		t.shards[i].m = make(map[string]*Entry)
	}
	return t, nil
}

// shardCount picks a power of two, one shard per 256 entries up to 64. A
// small table keeps one shard, so its eviction order is exactly HAProxy's;
// a big one spreads its lock over many.
func shardCount(size int) int {
	n := 1
	for n < maxShards && n*256*2 <= size {
		n *= 2
	}
	return n
}

// layout gives each stored data type its words in an entry.
func (t *Table) layout(store []DataSpec) error {
	for i := range t.offs {
		t.offs[i] = -1
	}
	for _, s := range store {
		if s.Type >= NumDataTypes {
			return fmt.Errorf("invalid data type %d", s.Type)
		}
		if t.offs[s.Type] >= 0 {
			return fmt.Errorf("store %q: %w", s.Type.String(), ErrDuplicateData)
		}
		if s.Type.IsRate() != (s.Period != 0) {
			return fmt.Errorf("store %q: a period is required for rates and only for them", s.String())
		}
		t.specs[s.Type] = s
		t.offs[s.Type] = int16(t.words)
		t.words += s.Type.words()
	}
	for d := DataType(0); d < NumDataTypes; d++ {
		if t.offs[d] >= 0 {
			t.stored = append(t.stored, d)
		}
	}
	return nil
}

// Name returns the table's name.
func (t *Table) Name() string { return t.name }

// KeyType returns the table's key type.
func (t *Table) KeyType() KeyType { return t.key }

// Size returns the most entries the table holds.
func (t *Table) Size() int { return int(t.size) }

// Len returns the entries in the table, expired ones not yet swept included.
func (t *Table) Len() int { return int(t.used.Load()) }

// Refused returns how many new keys the table refused because it was full.
func (t *Table) Refused() uint64 { return t.refused.Load() }

// Stores reports whether entries keep data type d, and its period.
func (t *Table) Stores(d DataType) (DataSpec, bool) {
	if d >= NumDataTypes || t.offs[d] < 0 {
		return DataSpec{}, false
	}
	return t.specs[d], true
}

// Stored returns the stored data types in HAProxy's order.
func (t *Table) Stored() []DataType { return slices.Clone(t.stored) }

func (t *Table) checkKey(key []byte) bool {
	switch t.key.Kind {
	case KeyString:
		return len(key) <= t.key.Len
	default:
		return len(key) == t.key.Len
	}
}

func (t *Table) shardOf(key []byte) uint8 {
	return uint8(maphash.Bytes(t.seed, key) & t.mask)
}

// expired reports whether e has expired at now (tick_is_expired).
func (t *Table) expired(e *Entry, now uint32) bool {
	return t.expire != 0 && int32(now-e.expireTick()) >= 0
}

// expiry returns the tick an entry touched at now expires at (tick_add,
// which never gives 0, HAProxy's "eternity").
func (t *Table) expiry(now uint32) uint32 {
	x := now + t.expire
	if x == 0 {
		x = 1
	}
	return x
}

// Lookup returns the entry of key, or false when there is none. A found
// entry is in use until Release. It allocates nothing.
func (t *Table) Lookup(key []byte) (*Entry, bool) {
	if !t.checkKey(key) {
		return nil, false
	}
	s := &t.shards[t.shardOf(key)]
	s.mu.Lock()
	e := s.m[string(key)]
	if e != nil && e.ref == 0 && t.expired(e, t.now()) {
		t.removeLocked(s, e)
		e = nil
	}
	if e != nil {
		e.ref++
	}
	s.mu.Unlock()
	return e, e != nil
}

// GetOrCreate returns the entry of key, creating it with zeroed data when
// there is none (created is then true). The entry is in use until Release.
// Finding an existing entry allocates nothing. When the table is full it
// evicts the least recently touched entry not in use, or with nopurge
// refuses the key with ErrFull.
func (t *Table) GetOrCreate(key []byte) (e *Entry, created bool, err error) {
	if !t.checkKey(key) {
		return nil, false, ErrKeySize
	}
	idx := t.shardOf(key)
	s := &t.shards[idx]
	s.mu.Lock()
	now := t.now()
	if e = s.m[string(key)]; e != nil {
		if e.ref > 0 || !t.expired(e, now) {
			e.ref++
			s.mu.Unlock()
			return e, false, nil
		}
		// Expired: a new entry takes its slot.
		t.unlinkLocked(s, e)
		delete(s.m, e.key)
	} else if !t.reserve() {
		if !t.makeRoom(s, idx) {
			s.mu.Unlock()
			t.refused.Add(1)
			return nil, false, ErrFull
		}
		// makeRoom may have dropped the lock: the key may be there now.
		if e = s.m[string(key)]; e != nil {
			t.used.Add(-1) // give the slot back
			e.ref++
			s.mu.Unlock()
			return e, false, nil
		}
	}
	e = &Entry{
		key:   string(key),
		data:  make([]uint32, t.words+1),
		ref:   1,
		shard: idx,
	}
	e.data[t.words] = t.expiry(now)
	s.m[e.key] = e
	s.pushFront(e)
	s.mu.Unlock()
	return e, true, nil
}

// reserve takes a slot for a new entry if the table is not full.
func (t *Table) reserve() bool {
	for {
		u := t.used.Load()
		if u >= t.size {
			return false
		}
		if t.used.CompareAndSwap(u, u+1) {
			return true
		}
	}
}

// makeRoom frees a slot for a new entry in shard s (locked, index idx) by
// evicting an entry not in use, and keeps that slot. It tries s first, then
// the other shards, unlocking s meanwhile so that no two shard locks are
// ever held together. It returns with s locked.
func (t *Table) makeRoom(s *shard, idx uint8) bool {
	if t.nopurge {
		return false
	}
	if t.evictLocked(s) {
		return true
	}
	if len(t.shards) == 1 {
		return false
	}
	s.mu.Unlock()
	freed := false
	for i := 1; i < len(t.shards) && !freed; i++ {
		o := &t.shards[(int(idx)+i)&int(t.mask)]
		o.mu.Lock()
		freed = t.evictLocked(o)
		o.mu.Unlock()
	}
	s.mu.Lock()
	if !freed {
		// Another goroutine may have freed a slot meanwhile.
		return t.reserve()
	}
	return true
}

// evictLocked removes the least recently touched entry of s that is not in
// use, stepping over at most evictSearch entries in use, and keeps its slot
// (used is not decremented): the caller takes it.
func (t *Table) evictLocked(s *shard) bool {
	search := t.evictSearch
	for e := s.tail; e != nil && search > 0; e = e.prev {
		if e.ref > 0 {
			search--
			continue
		}
		t.unlinkLocked(s, e)
		delete(s.m, e.key)
		return true
	}
	return false
}

// removeLocked removes e from s and frees its slot.
func (t *Table) removeLocked(s *shard, e *Entry) {
	t.unlinkLocked(s, e)
	delete(s.m, e.key)
	t.used.Add(-1)
}

func (t *Table) unlinkLocked(s *shard, e *Entry) {
	if e.prev != nil {
		e.prev.next = e.next
	} else {
		s.head = e.next
	}
	if e.next != nil {
		e.next.prev = e.prev
	} else {
		s.tail = e.prev
	}
	e.prev, e.next = nil, nil
}

func (s *shard) pushFront(e *Entry) {
	e.prev = nil
	e.next = s.head
	if s.head != nil {
		s.head.prev = e
	} else {
		s.tail = e
	}
	s.head = e
}

// touchLocked renews e's expiry and makes it the most recently touched, as
// stktable_touch_local does.
func (t *Table) touchLocked(s *shard, e *Entry, now uint32) {
	e.data[len(e.data)-1] = t.expiry(now)
	if s.head != e {
		t.unlinkLocked(s, e)
		s.pushFront(e)
	}
}

// Release ends the use of a handle from GetOrCreate or Lookup. The handle
// must not be used after.
func (t *Table) Release(e *Entry) {
	s := &t.shards[e.shard]
	s.mu.Lock()
	if e.ref > 0 {
		e.ref--
	}
	s.mu.Unlock()
}

// Touch renews e's expiry, as HAProxy does when a tracked session ends.
// The update methods touch the entry themselves.
func (t *Table) Touch(e *Entry) {
	s := &t.shards[e.shard]
	s.mu.Lock()
	t.touchLocked(s, e, t.now())
	s.mu.Unlock()
}

// Clear removes the entry of key unless it is in use (ErrInUse), as
// "clear table T key K" does. It reports whether there was one.
func (t *Table) Clear(key []byte) (bool, error) {
	if !t.checkKey(key) {
		return false, ErrKeySize
	}
	s := &t.shards[t.shardOf(key)]
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.m[string(key)]
	if e == nil {
		return false, nil
	}
	if e.ref > 0 {
		return true, ErrInUse
	}
	t.removeLocked(s, e)
	return true, nil
}

// ClearAll removes every entry not in use, as "clear table T" does, and
// returns how many it removed.
func (t *Table) ClearAll() int {
	n := 0
	for i := range t.shards {
		s := &t.shards[i]
		s.mu.Lock()
		for e := s.tail; e != nil; {
			prev := e.prev
			if e.ref == 0 {
				t.removeLocked(s, e)
				n++
			}
			e = prev
		}
		s.mu.Unlock()
	}
	return n
}

// Sweep removes expired entries not in use, examining at most max entries
// (all of them when max <= 0), and returns how many it removed. Expiry is
// also applied lazily, an expired entry is never returned, so Sweep only
// bounds memory: the engine calls it from its timer (every second, say,
// with a budget of a few hundred entries, so that no lock is held long),
// and the runtime API calls Sweep(0) before it shows a table so that
// "used" counts live entries as HAProxy's does. Each call starts at the
// shard after the last one it visited.
func (t *Table) Sweep(max int) int {
	if t.expire == 0 {
		return 0
	}
	now := t.now()
	removed, seen := 0, 0
	start := int(t.sweep.Add(1))
	for i := 0; i < len(t.shards); i++ {
		s := &t.shards[(start+i)&int(t.mask)]
		s.mu.Lock()
		// The list is in touch order, so expired entries are at its tail.
		for e := s.tail; e != nil && (max <= 0 || seen < max); {
			prev := e.prev
			seen++
			if !t.expired(e, now) {
				break
			}
			if e.ref == 0 {
				t.removeLocked(s, e)
				removed++
			}
			e = prev
		}
		s.mu.Unlock()
		if max > 0 && seen >= max {
			break
		}
	}
	return removed
}
