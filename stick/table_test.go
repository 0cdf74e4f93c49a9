package stick

import (
	"encoding/binary"
	"errors"
	"math"
	"sync"
	"sync/atomic"
	"testing"
)

// clock is a test's time, moved by hand.
type clock struct{ ms atomic.Uint32 }

func (c *clock) now() uint32       { return c.ms.Load() }
func (c *clock) advance(ms uint32) { c.ms.Add(ms) }
func (c *clock) set(ms uint32)     { c.ms.Store(ms) }
func ipKey(i uint32) []byte        { return binary.BigEndian.AppendUint32(nil, i) }
func specs(t testing.TB, s string) []DataSpec {
	t.Helper()
	d, err := ParseDataSpecs(s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func newTable(t testing.TB, c Config, clk *clock) *Table {
	t.Helper()
	if c.Key.Kind == 0 {
		c.Key = KeyType{KeyIPv4, 4}
	}
	if c.Name == "" {
		c.Name = "t"
	}
	if clk != nil {
		c.Now = clk.now
	}
	tb, err := NewTable(c)
	if err != nil {
		t.Fatal(err)
	}
	return tb
}

// create makes key's entry and releases it, as a request that tracked it
// and ended would.
func create(t testing.TB, tb *Table, key []byte) {
	t.Helper()
	e, _, err := tb.GetOrCreate(key)
	if err != nil {
		t.Fatalf("GetOrCreate(%x): %v", key, err)
	}
	tb.Touch(e)
	tb.Release(e)
}

func has(tb *Table, key []byte) bool {
	e, ok := tb.Lookup(key)
	if ok {
		tb.Release(e)
	}
	return ok
}

func TestNewTableRefusesBadConfig(t *testing.T) {
	tests := []struct {
		name string
		c    Config
	}{
		{"no key type", Config{Name: "t", Size: 10}},
		{"no size", Config{Name: "t", Key: KeyType{KeyIPv4, 4}}},
		{"negative size", Config{Name: "t", Key: KeyType{KeyIPv4, 4}, Size: -1}},
		{"data type twice", Config{Name: "t", Key: KeyType{KeyIPv4, 4}, Size: 10, Store: []DataSpec{{GPC0, 0}, {GPC0, 0}}}},
		{"rate without period", Config{Name: "t", Key: KeyType{KeyIPv4, 4}, Size: 10, Store: []DataSpec{{HTTPReqRate, 0}}}},
		{"expire too long", Config{Name: "t", Key: KeyType{KeyIPv4, 4}, Size: 10, Expire: math.MaxUint32}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := NewTable(tt.c); err == nil {
				t.Fatal("accepted")
			}
		})
	}
}

func TestGetOrCreateThenLookup(t *testing.T) {
	tb := newTable(t, Config{Size: 10, Store: specs(t, "gpc0")}, &clock{})
	e, created, err := tb.GetOrCreate(ipKey(1))
	if err != nil || !created {
		t.Fatalf("first GetOrCreate: created %v, %v", created, err)
	}
	tb.IncGPC0(e)
	tb.Release(e)
	e2, created, err := tb.GetOrCreate(ipKey(1))
	if err != nil || created || e2 != e {
		t.Fatalf("second GetOrCreate: %p created %v, %v; want %p", e2, created, err, e)
	}
	if v, _ := tb.Count(e2, GPC0); v != 1 {
		t.Errorf("gpc0 = %d, want 1", v)
	}
	tb.Release(e2)
	if has(tb, ipKey(2)) {
		t.Error("Lookup found a key never stored")
	}
	if tb.Len() != 1 {
		t.Errorf("Len = %d, want 1", tb.Len())
	}
	if _, _, err := tb.GetOrCreate([]byte{1, 2, 3}); !errors.Is(err, ErrKeySize) {
		t.Errorf("a 3-byte key for an ip table: err = %v, want ErrKeySize", err)
	}
}

func TestFullTableEvictsLeastRecentlyTouched(t *testing.T) {
	clk := &clock{}
	tb := newTable(t, Config{Size: 3}, clk)
	for i := uint32(1); i <= 3; i++ {
		clk.advance(10)
		create(t, tb, ipKey(i))
	}
	clk.advance(10)
	e, _ := tb.Lookup(ipKey(1))
	tb.Touch(e) // 1 is now the most recent: 2 is the oldest
	tb.Release(e)
	create(t, tb, ipKey(4))
	if has(tb, ipKey(2)) || !has(tb, ipKey(1)) || !has(tb, ipKey(3)) || !has(tb, ipKey(4)) {
		t.Error("evicted another entry than the least recently touched one")
	}
	if tb.Len() != 3 {
		t.Errorf("Len = %d, want 3", tb.Len())
	}
}

func TestEntryInUseIsNeverEvicted(t *testing.T) {
	tb := newTable(t, Config{Size: 2}, &clock{})
	held, _, _ := tb.GetOrCreate(ipKey(1)) // oldest, but tracked
	create(t, tb, ipKey(2))
	create(t, tb, ipKey(3))
	if !has(tb, ipKey(1)) || has(tb, ipKey(2)) {
		t.Fatal("evicted the entry in use instead of the free one")
	}
	held3, _, _ := tb.GetOrCreate(ipKey(3))
	if _, _, err := tb.GetOrCreate(ipKey(4)); !errors.Is(err, ErrFull) {
		t.Fatalf("every entry in use: err = %v, want ErrFull", err)
	}
	if tb.Refused() != 1 {
		t.Errorf("Refused = %d, want 1", tb.Refused())
	}
	tb.Release(held)
	tb.Release(held3)
	create(t, tb, ipKey(4))
}

func TestNoPurgeRefusesNewKeys(t *testing.T) {
	tb := newTable(t, Config{Size: 2, NoPurge: true}, &clock{})
	create(t, tb, ipKey(1))
	create(t, tb, ipKey(2))
	if _, _, err := tb.GetOrCreate(ipKey(3)); !errors.Is(err, ErrFull) {
		t.Fatalf("full nopurge table: err = %v, want ErrFull", err)
	}
	if !has(tb, ipKey(1)) || !has(tb, ipKey(2)) || tb.Refused() != 1 {
		t.Error("nopurge evicted an entry or did not count the refusal")
	}
	create(t, tb, ipKey(1)) // existing keys are still found
}

func TestExpiry(t *testing.T) {
	clk := &clock{}
	clk.set(5000)
	tb := newTable(t, Config{Size: 10, Expire: 1000}, clk)
	create(t, tb, ipKey(1)) // expires at 6000
	clk.set(5999)
	if !has(tb, ipKey(1)) {
		t.Fatal("gone before its expiry")
	}
	clk.set(6000)
	if has(tb, ipKey(1)) {
		t.Fatal("found at its expiry")
	}
	if tb.Len() != 0 {
		t.Errorf("Len = %d after a lazy expiry, want 0", tb.Len())
	}
}

func TestTouchRenewsExpiry(t *testing.T) {
	clk := &clock{}
	tb := newTable(t, Config{Size: 10, Expire: 1000, Store: specs(t, "http_req_cnt")}, clk)
	e, _, _ := tb.GetOrCreate(ipKey(1))
	clk.advance(900)
	tb.Inc(e, HTTPReqCnt, HTTPReqRate) // an update touches
	tb.Release(e)
	clk.advance(900)
	if !has(tb, ipKey(1)) {
		t.Fatal("an entry updated 900 ms ago expired with expire 1000")
	}
	// Reads do not touch.
	clk.advance(99)
	e, _ = tb.Lookup(ipKey(1))
	tb.Count(e, HTTPReqCnt)
	tb.Release(e)
	clk.advance(1)
	if has(tb, ipKey(1)) {
		t.Fatal("a read renewed the entry's expiry")
	}
}

func TestEntryInUseNeverExpires(t *testing.T) {
	clk := &clock{}
	tb := newTable(t, Config{Size: 10, Expire: 1000}, clk)
	held, _, _ := tb.GetOrCreate(ipKey(1))
	create(t, tb, ipKey(2))
	clk.advance(5000)
	if n := tb.Sweep(0); n != 1 {
		t.Errorf("Sweep removed %d, want 1 (the free entry)", n)
	}
	e, ok := tb.Lookup(ipKey(1))
	if !ok || e != held {
		t.Fatal("the entry in use expired")
	}
	tb.Release(e)
	tb.Release(held)
	if n := tb.Sweep(0); n != 1 || tb.Len() != 0 {
		t.Errorf("after release Sweep removed %d, Len %d; want 1, 0", n, tb.Len())
	}
}

func TestSweepIsBounded(t *testing.T) {
	clk := &clock{}
	tb := newTable(t, Config{Size: 100, Expire: 10}, clk)
	for i := uint32(0); i < 20; i++ {
		create(t, tb, ipKey(i))
	}
	clk.advance(10)
	if n := tb.Sweep(5); n != 5 {
		t.Errorf("Sweep(5) removed %d, want 5", n)
	}
	if n := tb.Sweep(0); n != 15 || tb.Len() != 0 {
		t.Errorf("Sweep(0) removed %d, left %d; want 15, 0", n, tb.Len())
	}
}

func TestClear(t *testing.T) {
	tb := newTable(t, Config{Size: 10}, &clock{})
	create(t, tb, ipKey(1))
	create(t, tb, ipKey(2))
	held, _, _ := tb.GetOrCreate(ipKey(3))
	if found, err := tb.Clear(ipKey(1)); !found || err != nil {
		t.Errorf("Clear of a free entry: %v, %v", found, err)
	}
	if found, err := tb.Clear(ipKey(3)); !found || !errors.Is(err, ErrInUse) {
		t.Errorf("Clear of an entry in use: %v, %v; want ErrInUse", found, err)
	}
	if found, err := tb.Clear(ipKey(9)); found || err != nil {
		t.Errorf("Clear of a missing key: %v, %v", found, err)
	}
	if n := tb.ClearAll(); n != 1 || tb.Len() != 1 {
		t.Errorf("ClearAll removed %d, left %d; want 1, 1 (the entry in use)", n, tb.Len())
	}
	tb.Release(held)
}

func TestDataHelpers(t *testing.T) {
	clk := &clock{}
	clk.set(100000)
	tb := newTable(t, Config{Size: 10, Store: specs(t,
		"server_id,gpt0,gpc0,gpc0_rate(10s),conn_cur,http_req_cnt,http_req_rate(10s),bytes_in_cnt")}, clk)
	e, _, _ := tb.GetOrCreate(ipKey(1))
	defer tb.Release(e)

	tb.Set(e, HTTPReqCnt, math.MaxUint32)
	if v, _ := tb.AddCount(e, HTTPReqCnt, 1); v != 0 {
		t.Errorf("an unsigned 32-bit counter past 2^32-1 = %d, want 0 (it wraps as HAProxy's)", v)
	}
	tb.AddCount(e, BytesInCnt, 3<<32)
	if v, _ := tb.AddCount(e, BytesInCnt, 5); v != 3<<32+5 {
		t.Errorf("bytes_in_cnt = %d, want %d (64-bit)", v, uint64(3<<32+5))
	}
	for i := 0; i < 4; i++ {
		tb.Inc(e, HTTPReqCnt, HTTPReqRate)
	}
	clk.advance(12000) // as TestFreqCtrRead: 4 last period, 1 now, 8000 left: 4
	tb.Inc(e, HTTPReqCnt, HTTPReqRate)
	if v, _ := tb.Rate(e, HTTPReqRate); v != 4 {
		t.Errorf("http_req_rate = %d, want 4", v)
	}
	if v, _ := tb.Count(e, HTTPReqCnt); v != 5 {
		t.Errorf("http_req_cnt = %d, want 5", v)
	}
	tb.IncGPC0(e)
	if v, _ := tb.IncGPC0(e); v != 2 {
		t.Errorf("gpc0 = %d, want 2", v)
	}
	if v, _ := tb.Rate(e, GPC0Rate); v != 2 {
		t.Errorf("gpc0_rate = %d, want 2 (sc-inc-gpc0 feeds it)", v)
	}
	if old, _ := tb.ClearGPC0(e); old != 2 {
		t.Errorf("ClearGPC0 returned %d, want 2", old)
	}
	tb.SetGPT0(e, 7)
	if v, _ := tb.Count(e, GPT0); v != 7 {
		t.Errorf("gpt0 = %d, want 7", v)
	}
	tb.SetServerID(e, -3)
	if v, _ := tb.ServerID(e); v != -3 {
		t.Errorf("server_id = %d, want -3 (signed)", v)
	}
	tb.IncConnCur(e)
	tb.DecConnCur(e)
	if v, _ := tb.DecConnCur(e); v != 0 {
		t.Errorf("conn_cur below 0 = %d, want 0", v)
	}
	if tb.Inc(e, ConnCnt, ConnRate) {
		t.Error("Inc reported updating types the table does not store")
	}
	if _, ok := tb.Rate(e, HTTPReqCnt); ok {
		t.Error("Rate read a counter")
	}
	// set table ... data.http_req_rate 9: a fresh period holding 9.
	tb.Set(e, HTTPReqRate, 9)
	if v, _ := tb.Rate(e, HTTPReqRate); v != 9 {
		t.Errorf("http_req_rate after Set = %d, want 9", v)
	}
}

// TestFloodNeverExceedsSize: many goroutines inserting distinct keys into
// a sharded table never make it hold more than size entries.
func TestFloodNeverExceedsSize(t *testing.T) {
	const size = 5000
	tb := newTable(t, Config{Size: size, Store: specs(t, "http_req_rate(10s)")}, &clock{})
	if len(tb.shards) < 2 {
		t.Fatalf("a %d-entry table has %d shard; the test wants several", size, len(tb.shards))
	}
	var wg sync.WaitGroup
	var over atomic.Int64
	for g := uint32(0); g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := uint32(0); i < 20000; i++ {
				e, _, err := tb.GetOrCreate(ipKey(g<<24 | i))
				if err != nil {
					t.Errorf("GetOrCreate: %v", err)
					return
				}
				tb.Inc(e, HTTPReqCnt, HTTPReqRate)
				tb.Release(e)
				if n := tb.Len(); n > size {
					over.Store(int64(n))
				}
			}
		}()
	}
	wg.Wait()
	if n := over.Load(); n != 0 {
		t.Errorf("the table held %d entries, more than its size %d", n, size)
	}
	entries := 0
	for i := range tb.shards {
		entries += len(tb.shards[i].m)
	}
	if entries != tb.Len() || entries > size {
		t.Errorf("%d entries in the shards, Len %d, size %d", entries, tb.Len(), size)
	}
}

// TestConcurrentSharedKeys: goroutines tracking the same few keys lose no
// update.
func TestConcurrentSharedKeys(t *testing.T) {
	tb := newTable(t, Config{Size: 100000, Expire: 60000, Store: specs(t, "http_req_cnt,conn_cur,gpc0")}, &clock{})
	const goroutines, rounds, keys = 8, 2000, 16
	var wg sync.WaitGroup
	for g := 0; g < goroutines; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < rounds; i++ {
				e, _, err := tb.GetOrCreate(ipKey(uint32(i % keys)))
				if err != nil {
					t.Error(err)
					return
				}
				tb.IncConnCur(e)
				tb.Inc(e, HTTPReqCnt, HTTPReqRate)
				tb.IncGPC0(e)
				tb.DecConnCur(e)
				tb.Release(e)
				if i%100 == 0 {
					tb.Sweep(10)
				}
			}
		}()
	}
	wg.Wait()
	var total uint64
	for k := uint32(0); k < keys; k++ {
		e, ok := tb.Lookup(ipKey(k))
		if !ok {
			t.Fatalf("key %d is gone", k)
		}
		n, _ := tb.Count(e, HTTPReqCnt)
		total += n
		if cur, _ := tb.Count(e, ConnCur); cur != 0 || e.ref != 1 {
			t.Errorf("key %d: conn_cur %d, ref %d after every session ended", k, cur, e.ref-1)
		}
		tb.Release(e)
	}
	if total != goroutines*rounds {
		t.Errorf("http_req_cnt sums to %d, want %d", total, goroutines*rounds)
	}
}

func TestHitsDoNotAllocate(t *testing.T) {
	tb := newTable(t, Config{Size: 1000, Expire: 10000, Store: specs(t, "http_req_cnt,http_req_rate(10s)")}, &clock{})
	key := ipKey(42)
	create(t, tb, key)
	allocs := testing.AllocsPerRun(1000, func() {
		e, _, _ := tb.GetOrCreate(key)
		tb.Inc(e, HTTPReqCnt, HTTPReqRate)
		tb.Rate(e, HTTPReqRate)
		tb.Release(e)
		if e, ok := tb.Lookup(key); ok {
			tb.Release(e)
		}
	})
	if allocs != 0 {
		t.Errorf("a hit allocates %.1f times, want 0", allocs)
	}
}

// TestEvictionCrossesShards: a new key whose shard is empty takes the slot
// of an entry of another shard, so a full table never refuses a key while
// an entry could go.
func TestEvictionCrossesShards(t *testing.T) {
	tb := newTable(t, Config{Size: 512}, &clock{})
	if len(tb.shards) != 2 {
		t.Fatalf("%d shards, the test wants 2", len(tb.shards))
	}
	var other []byte
	n := 0
	for i := uint32(0); n < 512 || other == nil; i++ {
		k := ipKey(i)
		if tb.shardOf(k) == 0 {
			if other == nil {
				other = k
			}
			continue
		}
		if n < 512 {
			create(t, tb, k)
			n++
		}
	}
	if tb.Len() != 512 || len(tb.shards[0].m) != 0 {
		t.Fatalf("setup: Len %d, shard 0 holds %d", tb.Len(), len(tb.shards[0].m))
	}
	create(t, tb, other)
	if !has(tb, other) || tb.Len() != 512 || len(tb.shards[1].m) != 511 {
		t.Errorf("after the new key: found %v, Len %d, shard 1 holds %d; want true, 512, 511",
			has(tb, other), tb.Len(), len(tb.shards[1].m))
	}
}
