package stick

import (
	"reflect"
	"slices"
	"strconv"
	"strings"
)

// Snapshot is one entry as the runtime API's "show table" shows it, read
// in one go under the entry's lock.
type Snapshot struct {
	Key    []byte
	Use    int32  // sessions tracking the entry
	Expire uint32 // ms until it expires; 0 when the table does not expire
	// Values holds each stored type's value by DataType: server_id as an
	// int64's bits, counts, rates read at the time of the snapshot.
	Values [NumDataTypes]uint64
	// id identifies the entry in the dump as HAProxy's pointer does.
	id uintptr
}

// Walk calls fn with a snapshot of every live entry, in HAProxy's order
// (its key tree's: by key bytes, integers by their little-endian bytes as
// HAProxy stores them), until fn returns false. Each snapshot is taken
// under its shard's lock, so it is consistent; entries created or removed
// during the walk may or may not be seen. fn runs with no lock held, and
// may use the table.
func (t *Table) Walk(fn func(*Snapshot) bool) {
	type ref struct {
		key string
		e   *Entry
	}
	var refs []ref
	for i := range t.shards {
		s := &t.shards[i]
		s.mu.Lock()
		for k, e := range s.m {
			refs = append(refs, ref{k, e})
		}
		s.mu.Unlock()
	}
	cmp := strings.Compare
	if t.key.Kind == KeyInteger {
		cmp = compareLE
	}
	slices.SortFunc(refs, func(a, b ref) int { return cmp(a.key, b.key) })
	var snap Snapshot
	for _, r := range refs {
		if t.snapshot(r.e, &snap) && !fn(&snap) {
			return
		}
	}
}

// compareLE orders 4-byte integer keys as HAProxy's tree does: it stores
// them in host (little-endian) order and compares bytes.
func compareLE(a, b string) int {
	for i := len(a) - 1; i >= 0 && i < len(b); i-- {
		if a[i] != b[i] {
			return int(a[i]) - int(b[i])
		}
	}
	return len(a) - len(b)
}

// snapshot fills snap from e, if e is still in the table and not expired.
func (t *Table) snapshot(e *Entry, snap *Snapshot) bool {
	s := &t.shards[e.shard]
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m[e.key] != e {
		return false
	}
	now := t.now()
	if e.ref == 0 && t.expired(e, now) {
		return false
	}
	snap.Key = append(snap.Key[:0], e.key...)
	snap.Use = e.ref
	snap.Expire = 0
	if x := e.expireTick(); t.expire != 0 && int32(x-now) > 0 {
		snap.Expire = x - now
	}
	snap.Values = [NumDataTypes]uint64{}
	for _, d := range t.stored {
		snap.Values[d] = t.value(e, d, now)
	}
	snap.id = entryID(e)
	return true
}

// entryID is the entry's address, which "show table" prints where HAProxy
// prints its struct stksess pointer: unique among live entries, and stable
// for an entry's life since Go's collector does not move heap objects.
func entryID(e *Entry) uintptr {
	return reflect.ValueOf(e).Pointer()
}

// AppendHeader appends "show table"'s line about the table, as HAProxy
// 2.6's table_dump_head_to_buffer prints it:
//
//	# table: NAME, type: ip, size:1024, used:1
func (t *Table) AppendHeader(dst []byte) []byte {
	dst = append(dst, "# table: "...)
	dst = append(dst, t.name...)
	dst = append(dst, ", type: "...)
	dst = append(dst, t.key.Kind.String()...)
	dst = append(dst, ", size:"...)
	dst = strconv.AppendInt(dst, t.size, 10)
	dst = append(dst, ", used:"...)
	dst = strconv.AppendInt(dst, t.used.Load(), 10)
	return append(dst, '\n')
}

// AppendEntry appends "show table"'s line about one entry, as HAProxy 2.6's
// table_dump_entry_to_buffer prints it:
//
//	0xc000118000: key=127.0.0.1 use=0 exp=9990 server_id=0 http_req_rate(10000)=1
//
// The leading hexadecimal number is the entry's address in fjord's memory
// as HAProxy's is in its own: an identifier, the same for the entry's whole
// life. use counts the sessions tracking it (HAProxy prints its reference
// count less the one its dump holds: the same number). exp is the ms left
// before it expires, 0 when the table does not expire entries.
func (t *Table) AppendEntry(dst []byte, s *Snapshot) []byte {
	dst = append(dst, "0x"...)
	dst = strconv.AppendUint(dst, uint64(s.id), 16)
	dst = append(dst, ": key="...)
	dst = t.key.AppendKeyText(dst, s.Key)
	dst = append(dst, " use="...)
	dst = strconv.AppendInt(dst, int64(s.Use), 10)
	dst = append(dst, " exp="...)
	dst = strconv.AppendUint(dst, uint64(s.Expire), 10)
	for _, d := range t.stored {
		dst = append(dst, ' ')
		dst = append(dst, d.String()...)
		if d.IsRate() {
			dst = append(dst, '(')
			dst = strconv.AppendUint(dst, uint64(t.specs[d].Period), 10)
			dst = append(dst, ')')
		}
		dst = append(dst, '=')
		if d.Kind() == SInt {
			dst = strconv.AppendInt(dst, int64(s.Values[d]), 10)
		} else {
			dst = strconv.AppendUint(dst, s.Values[d], 10)
		}
	}
	return append(dst, '\n')
}
