package balancer

import (
	"hash/fnv"
	"math"
	"slices"
)

// table is an immutable snapshot of the servers eligible for new
// connections, with the lookup structures the algorithms need. It is
// rebuilt on every state or weight change and swapped in atomically, so
// picking reads it without a lock.
type table struct {
	servers []*Server  // eligible, in configuration order
	weights []int      // effective weights, parallel to servers
	seq     []uint16   // smooth weighted round robin cycle (indices into servers)
	chash   []uint16   // consistent-hash slots (indices into servers), or nil
	ramping bool       // a server is in slowstart: weights change with time
	backup  bool       // the servers are backups: no active server is up
	chashOf []chashKey // what chash was built from, to reuse it
}

// chashKey identifies a consistent-hash table's input: a server and its
// configured weight.
type chashKey struct {
	s *Server
	w int
}

// chashSlots is the size of the consistent-hash table. Each slot belongs to
// the server with the highest weighted rendezvous score for it, so removing
// a server moves exactly its own slots, and any two balancers with the same
// servers build the same table.
const chashSlots = 1 << 16

// buildTable computes the table for now. prev, the table it replaces, lends
// its consistent-hash slots when servers and configured weights are the
// same: a rebuild for slowstart, which may run on an event loop, then costs
// only the round robin cycle.
func buildTable(b *Backend, prev *table, now int64) *table {
	t := &table{}
	for _, s := range b.Servers {
		if s.Conf.Backup || !s.Eligible() {
			continue
		}
		if w, ramping := s.effectiveWeight(now); w > 0 {
			t.servers = append(t.servers, s)
			t.weights = append(t.weights, w)
			t.ramping = t.ramping || ramping
		}
	}
	if len(t.servers) == 0 {
		// Backups take over only when no active server is up: the first
		// one, or all of them with "option allbackups".
		for _, s := range b.Servers {
			if !s.Conf.Backup || !s.Eligible() {
				continue
			}
			if w, ramping := s.effectiveWeight(now); w > 0 {
				t.servers = append(t.servers, s)
				t.weights = append(t.weights, w)
				t.ramping = t.ramping || ramping
				t.backup = true
				if !b.Conf.AllBackups {
					break
				}
			}
		}
	}
	t.seq = smoothSequence(t.weights)
	if b.Conf.HashType.Method == "consistent" && len(t.servers) > 0 {
		// Configured weights, not slowstart's: keys must not move while a
		// server ramps up (its maxconn ramps instead).
		weights := make([]int, len(t.servers))
		for i, s := range t.servers {
			weights[i] = s.Weight()
			t.chashOf = append(t.chashOf, chashKey{s, weights[i]})
		}
		if prev != nil && slices.Equal(prev.chashOf, t.chashOf) {
			t.chash = prev.chash
		} else {
			t.chash = rendezvousTable(t.servers, weights)
		}
	}
	return t
}

// smoothSequence is one cycle of smooth weighted round robin (nginx's
// algorithm): each server appears weight times, spread out so that a server
// never comes twice in a row when the weights allow it.
func smoothSequence(weights []int) []uint16 {
	total := 0
	for _, w := range weights {
		total += w
	}
	seq := make([]uint16, 0, total)
	current := make([]int, len(weights))
	for range total {
		best := -1
		for i, w := range weights {
			current[i] += w
			if best < 0 || current[i] > current[best] {
				best = i
			}
		}
		current[best] -= total
		seq = append(seq, uint16(best))
	}
	return seq
}

// rendezvousTable gives each slot to the server with the highest weighted
// rendezvous score -w/ln(u), u uniform in (0,1) from hash(server, slot).
// Scores depend only on server names, weights and the slot.
func rendezvousTable(servers []*Server, weights []int) []uint16 {
	seeds := make([]uint64, len(servers))
	for i, s := range servers {
		h := fnv.New64a()
		h.Write([]byte(s.Name))
		seeds[i] = h.Sum64()
	}
	equal := true
	for _, w := range weights {
		equal = equal && w == weights[0]
	}
	out := make([]uint16, chashSlots)
	for slot := range out {
		best, bestScore := 0, math.Inf(-1)
		for i, seed := range seeds {
			u := mix64(seed ^ mix64(uint64(slot)+0x9e3779b97f4a7c15))
			var score float64
			if equal {
				score = float64(u)
			} else {
				f := (float64(u>>11) + 0.5) / (1 << 53) // (0,1)
				score = -float64(weights[i]) / math.Log(f)
			}
			if score > bestScore {
				best, bestScore = i, score
			}
		}
		out[slot] = uint16(best)
	}
	return out
}

// mix64 is the splitmix64 finaliser: a fast, well-mixed 64-bit hash.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}
