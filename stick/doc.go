// Package stick is the store of HAProxy-style stick tables: entries found
// by a typed key (ip, ipv6, integer, string, binary), each keeping the
// counters, rates and markers its table stores (conn_cnt, http_req_rate(T),
// gpc0, server_id, ...), bounded by the table's size, evicted least
// recently touched first and expired after the table's expire. It is the
// foundation of issue 21 (track-sc, sc_* fetches, stick rules); it knows
// nothing of configuration files, samples or sessions.
//
// # Concurrency
//
// A table is split into shards by a hash of the key, each a mutex, a map
// and a list of its entries in the order they were last touched: one shard
// per 256 entries of size, a power of two up to 64. A small table has one
// shard, so its eviction order is exactly HAProxy's. Locks are held for
// memory work only, never across a call out of the package, and one at a
// time. Finding an existing entry, updating and reading its data allocate
// nothing.
//
// # Eviction and expiry
//
// Entries a session tracks (handed out by GetOrCreate or Lookup, not yet
// Released: HAProxy's ref_cnt) are never evicted, expired or cleared. A new
// key in a full table evicts the least recently touched entry not in use,
// looked for in its own shard first, then in the others; HAProxy steps
// over at most twice its batch of (size>>8)+1 entries in use before giving
// up, and so does this. With nopurge, or when no entry can go, the key is
// refused (ErrFull, counted by Refused). HAProxy evicts that batch at once;
// fjord evicts one entry per new key, which keeps more entries and costs
// the same per key. The number of entries never exceeds size.
//
// An entry expires expire ms after it was last touched: created, or
// updated (every update method touches; reads do not), or Touch. Expiry is
// lazy, an expired entry is never returned, and Sweep removes expired
// entries in bounded batches from the engine's timer.
//
// # Rates
//
// Rates are HAProxy's freq_ctr period counters with its exact integer
// arithmetic over wrapping millisecond ticks (FreqCtr), so the same events
// at the same times read the same rates. The clock is the table's Now.
//
// # Memory per entry
//
// HAProxy 2.6 on 64-bit Linux allocates each entry of
// "stick-table type ip size 1m store http_req_rate(10s)" from a pool of
// sizeof(struct stksess) + round8(data) + key_size bytes: struct stksess is
// 136 (expire, ref_cnt, an 8-byte rwlock, two 40-byte eb32 nodes for the
// expiry and update trees, a 40-byte ebmb key node), the freq_ctr 12
// rounded to 16, the IPv4 key 4: 156 bytes, 164 with the pool tag its
// default build (DEBUG_MEMORY_POOLS) adds, 176 once malloc has rounded it
// and added its header.
//
// fjord's entry of the same table is a 64-byte Entry, its 16-byte data
// words (the rate's 3, the expiry tick's 1), its 4-byte key string packed
// by Go's tiny allocator, and its slot in the shard's map (24 bytes at the
// map's load factor): 131 to 152 bytes measured on the Go heap between 30
// thousand and a million entries (TestMemoryPerEntry, BenchmarkMemoryPerEntry).
package stick
