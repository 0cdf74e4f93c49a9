package balancer

import (
	"hash/fnv"
	"math"
	"slices"

	"github.com/fjordlb/fjord/config"
)

// table is an immutable snapshot of the servers eligible for new
// connections, with the lookup structures the algorithms need. It is
// rebuilt on every state or weight change and swapped in atomically, so
// picking reads it without a lock.
type table struct {
	servers []*Server  // eligible, in configuration order
	weights []int      // effective weights, parallel to servers; in 1/rampSteps units when ramping
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
	// Weights are in 1/rampSteps units. Nobody ramps: back to whole
	// weights. Someone does: down to the smallest proportional ones, for a
	// short cycle (a rebuild while ramping may run on an event loop).
	div := rampSteps
	if t.ramping {
		div = 0
		for _, w := range t.weights {
			div = gcd(div, w)
		}
	}
	for i := range t.weights {
		t.weights[i] /= div
	}
	t.seq = smoothSequence(t.weights)
	if b.Conf.HashType.Method == config.HashConsistent && len(t.servers) > 0 {
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
// algorithm): each server appears weight times, spread out. nginx's choice
// alone can put a server twice in a row when the weights would allow
// otherwise (4,10,8 does), so a server is only chosen when the rest of the
// cycle can still be arranged with no server twice in a row: within the
// cycle when the largest weight is at most the others' sum plus one, and
// across cycles too when it is at most the others' sum.
func smoothSequence(weights []int) []uint16 {
	total, top := 0, 0
	for _, w := range weights {
		total += w
		top = max(top, w)
	}
	seq := make([]uint16, 0, total)
	current := make([]int, len(weights))
	left := slices.Clone(weights)
	ring := 2*top <= total
	spread := ring || 2*top <= total+1
	prev, last := -1, -1 // last: the server the cycle must not end with
	for k := range total {
		rest := total - k - 1 // picks after this one
		best, most := -1, 0
		for i, w := range weights {
			current[i] += w
			most = max(most, left[i])
			if spread && (left[i] == 0 || i == prev) {
				continue
			}
			if best < 0 || current[i] > current[best] {
				best = i
			}
		}
		// With no server left with half the picks to come, any choice
		// but the previous one can be spread (see arrangeable).
		if spread && 2*most > rest-1 {
			// nginx's choice, unless it leaves a cycle that cannot be
			// spread: then the best of those that can.
			big := largest3(left)
			if best < 0 || !arrangeable(left, big, rest, best, last) {
				best = -1
				for i := range weights {
					if left[i] == 0 || i == prev || !arrangeable(left, big, rest, i, last) {
						continue
					}
					if best < 0 || current[i] > current[best] {
						best = i
					}
				}
			}
		}
		if best < 0 { // cannot happen; stay correct anyway
			best = slices.IndexFunc(left, func(n int) bool { return n > 0 })
		}
		current[best] -= total
		left[best]--
		seq = append(seq, uint16(best))
		prev = best
		if ring && last < 0 {
			last = best
		}
	}
	return seq
}

// largest3 returns the indices of the three largest positive counts, -1
// for missing ones.
func largest3(left []int) [3]int {
	m := [3]int{-1, -1, -1}
	for i, n := range left {
		switch {
		case n <= 0:
		case m[0] < 0 || n > left[m[0]]:
			m = [3]int{i, m[0], m[1]}
		case m[1] < 0 || n > left[m[1]]:
			m[1], m[2] = i, m[1]
		case m[2] < 0 || n > left[m[2]]:
			m[2] = i
		}
	}
	return m
}

// arrangeable reports whether, once c is chosen, the rest picks left (the
// counts in left, c's less one) can follow with no server twice in a row,
// c not first and last (-1: none) not at the end. A server fits in at most
// every other one of the places open to it. big holds the servers with
// the most picks left.
func arrangeable(left []int, big [3]int, rest, c, last int) bool {
	// c may not come next, nor at the end if it is last.
	open := rest - 1
	if c == last {
		open--
	}
	if left[c]-1 > (open+1)/2 {
		return false
	}
	if last >= 0 && last != c && left[last] > rest/2 {
		return false
	}
	for _, s := range big {
		if s >= 0 && s != c && s != last {
			return left[s] <= (rest+1)/2
		}
	}
	return true
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

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
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
