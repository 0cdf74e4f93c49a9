package stick

import (
	"runtime"
	"testing"
)

// haproxyEntryBytes is what HAProxy 2.6 takes per entry of
// "stick-table type ip size 1m store http_req_rate(10s)" on 64-bit Linux
// (see the package comment for the sum): the pool item with the default
// build's pool tag, before malloc's own rounding and header.
const haproxyEntryBytes = 164

// heapPerEntry returns the heap bytes n entries of tb take, counted from
// the live heap before and after, the table's own shard maps included.
func heapPerEntry(t testing.TB, tb *Table, n int) float64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for i := 0; i < n; i++ {
		e, _, err := tb.GetOrCreate(ipKey(uint32(i)))
		if err != nil {
			t.Fatal(err)
		}
		tb.Inc(e, HTTPReqCnt, HTTPReqRate)
		tb.Release(e)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(tb)
	return float64(after.HeapAlloc-before.HeapAlloc) / float64(n)
}

// TestMemoryPerEntry: issue 21 wants an entry to take no more memory than
// HAProxy's. The figure includes the map slots, at the load factor the
// maps reach for this many entries.
func TestMemoryPerEntry(t *testing.T) {
	if testing.Short() {
		t.Skip("allocates 262144 entries")
	}
	tb := newTable(t, Config{Size: 1 << 20, Expire: 60000, Store: specs(t, "http_req_rate(10s)")}, &clock{})
	per := heapPerEntry(t, tb, 262144)
	t.Logf("%.1f bytes per entry (HAProxy 2.6: %d)", per, haproxyEntryBytes)
	if per > haproxyEntryBytes {
		t.Errorf("%.1f bytes per entry, more than HAProxy's %d", per, haproxyEntryBytes)
	}
}

// BenchmarkMemoryPerEntry reports bytes per entry as a metric.
func BenchmarkMemoryPerEntry(b *testing.B) {
	for i := 0; i < b.N; i++ {
		tb := newTable(b, Config{Size: 1 << 20, Expire: 60000, Store: specs(b, "http_req_rate(10s)")}, &clock{})
		b.ReportMetric(heapPerEntry(b, tb, 100000), "bytes/entry")
	}
}

// BenchmarkGetOrCreateHit is the per-request work of "track-sc0 src" plus
// a rate update and read on a known client: 0 allocs/op.
func BenchmarkGetOrCreateHit(b *testing.B) {
	tb := newTable(b, Config{Size: 1 << 20, Expire: 60000, Store: specs(b, "http_req_rate(10s)")}, &clock{})
	const keys = 10000
	for i := 0; i < keys; i++ {
		create(b, tb, ipKey(uint32(i)))
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		key := make([]byte, 4)
		i := uint32(0)
		for pb.Next() {
			i = (i + 7) % keys
			key[0], key[1], key[2], key[3] = 0, 0, byte(i>>8), byte(i)
			e, created, err := tb.GetOrCreate(key[:4])
			if created {
				b.Fatalf("key %d was created: the benchmark measures hits", i)
			}
			if err != nil {
				b.Fatal(err)
			}
			tb.Inc(e, HTTPReqCnt, HTTPReqRate)
			tb.Rate(e, HTTPReqRate)
			tb.Release(e)
		}
	})
}
