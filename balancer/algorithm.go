package balancer

import (
	"math/rand/v2"

	"github.com/fjordlb/fjord/config"
)

// algorithm chooses among a table's servers: one implementation per
// "balance" algorithm, picked once when the backend is built, so that no
// setting is looked at, let alone compared as a string, per connection.
//
// The request is passed by value: through an interface call a pointer
// would escape, and every caller's Request would cost an allocation. Each
// hashing algorithm is its own type, calling its key and hash functions
// directly for the same reason (a key built in a stack buffer must not
// escape through a func value).
type algorithm interface {
	// choose returns the index in t.servers the algorithm designates,
	// and whether the choice is bound to the request (hashing) rather
	// than free. avoid is left when another server can take the
	// connection (a retry leaving a failed server).
	choose(b *Backend, t *table, req Request, avoid *Server, now int64) (int, bool)
}

func newAlgorithm(px *config.Proxy) algorithm {
	bal := px.Balance
	h := hasher(px.HashType.Function, px.HashType.Avalanche)
	switch bal.Algorithm {
	case config.BalanceLeastConn:
		return leastConn{}
	case config.BalanceFirst:
		return first{}
	case config.BalanceRandom:
		return random{draws: max(1, bal.Draws)}
	case config.BalanceSource:
		return sourceHash{h}
	case config.BalanceURI:
		return uriHash{h, bal.URILen, bal.URIDepth, bal.URIWhole}
	case config.BalanceURLParam:
		return urlParamHash{h, bal.Param}
	case config.BalanceHdr:
		return hdrHash{h, bal.Param, bal.UseDomainOnly}
	}
	return roundRobin{} // roundrobin and static-rr
}

// roundRobin takes servers in the table's weighted sequence, from a cursor
// shared by every event loop.
type roundRobin struct{}

func (roundRobin) choose(b *Backend, t *table, _ Request, avoid *Server, _ int64) (int, bool) {
	return b.nextInTurn(t, avoid), false
}

// nextInTurn is round robin: the next server of the weighted sequence that
// is not avoid. Hashing falls back to it for a request without a key.
func (b *Backend) nextInTurn(t *table, avoid *Server) int {
	n := len(t.servers)
	for range len(t.seq) {
		i := int(t.seq[(b.rr.Add(1)-1)%uint64(len(t.seq))])
		if t.servers[i] != avoid || n == 1 {
			return i
		}
	}
	// Other loops advanced the shared cursor between our steps, so that
	// every step landed on the server to avoid: take any other one.
	for i, s := range t.servers {
		if s != avoid {
			return i
		}
	}
	return 0
}

// byHash maps a key's hash to a server (source, uri, url_param, hdr):
// consistent when the table has the ring, else over the weighted sequence.
// A retry leaving the key's server goes round robin.
func (b *Backend) byHash(t *table, h uint32, avoid *Server) (int, bool) {
	var i int
	if t.chash != nil {
		i = int(t.chash[(h*2654435761)>>16])
	} else {
		i = int(t.seq[h%uint32(len(t.seq))])
	}
	if t.servers[i] != avoid || len(t.servers) == 1 {
		return i, true
	}
	return b.nextInTurn(t, avoid), false
}

// sourceHash is "balance source": the client address, hashed as HAProxy
// does (sourceSum). A connection without one goes round robin.
type sourceHash struct{ h keyHash }

func (a sourceHash) choose(b *Backend, t *table, req Request, avoid *Server, _ int64) (int, bool) {
	if !req.Src.IsValid() {
		return b.nextInTurn(t, avoid), false
	}
	var buf [16]byte
	key := buf[:]
	if v := req.Src.Unmap(); v.Is4() {
		a4 := v.As4()
		key = buf[:copy(buf[:], a4[:])]
	} else {
		buf = v.As16()
	}
	return b.byHash(t, a.h.sourceSum(key), avoid)
}

// uriHash is "balance uri [len N] [depth N] [whole]".
type uriHash struct {
	h             keyHash
	length, depth int
	whole         bool
}

func (a uriHash) choose(b *Backend, t *table, req Request, avoid *Server, _ int64) (int, bool) {
	if len(req.URI) == 0 {
		return b.nextInTurn(t, avoid), false
	}
	return b.byHash(t, a.h.sum(uriKey(req.URI, a.length, a.depth, a.whole)), avoid)
}

// urlParamHash is "balance url_param NAME": a request without the
// parameter, or with it empty, goes round robin.
type urlParamHash struct {
	h    keyHash
	name string
}

func (a urlParamHash) choose(b *Backend, t *table, req Request, avoid *Server, _ int64) (int, bool) {
	v, ok := urlParam(req.URI, a.name)
	if !ok {
		return b.nextInTurn(t, avoid), false
	}
	return b.byHash(t, a.h.sum(v), avoid)
}

// hdrHash is "balance hdr(NAME) [use_domain_only]": a request without the
// header, or with it empty, goes round robin, as does tcp mode.
type hdrHash struct {
	h          keyHash
	name       string
	domainOnly bool
}

func (a hdrHash) choose(b *Backend, t *table, req Request, avoid *Server, _ int64) (int, bool) {
	if req.Headers == nil {
		return b.nextInTurn(t, avoid), false
	}
	v, ok := req.Headers.Header(a.name)
	if !ok || len(v) == 0 {
		return b.nextInTurn(t, avoid), false
	}
	if a.domainOnly {
		v = domainOnly(v)
	}
	return b.byHash(t, a.h.sum(v), avoid)
}

// leastConn takes the server with the fewest sessions per unit of weight;
// ties go round robin.
type leastConn struct{}

func (leastConn) choose(b *Backend, t *table, _ Request, avoid *Server, _ int64) (int, bool) {
	n := len(t.servers)
	start := int(b.rr.Add(1) % uint64(n))
	best := -1
	for k := 0; k < n; k++ {
		i := (start + k) % n
		if t.servers[i] == avoid && n > 1 {
			continue
		}
		if best < 0 || lessLoaded(t, i, best) {
			best = i
		}
	}
	return best, false
}

// first takes the first server, in table order, with a free slot.
type first struct{}

func (first) choose(_ *Backend, t *table, _ Request, avoid *Server, now int64) (int, bool) {
	n := len(t.servers)
	for i, s := range t.servers {
		if s == avoid && n > 1 {
			continue
		}
		if mc := s.maxConn(now); mc == 0 || s.Counters.CurSessions.Load() < mc {
			return i, false
		}
	}
	return 0, false
}

// random draws servers from the weighted sequence and takes the least
// loaded draw ("power of two choices" with the default 2 draws).
type random struct{ draws int }

func (a random) choose(b *Backend, t *table, _ Request, avoid *Server, _ int64) (int, bool) {
	n := len(t.servers)
	best := -1
	for range a.draws {
		i := int(t.seq[rand.Uint64N(uint64(len(t.seq)))])
		if t.servers[i] == avoid && n > 1 {
			continue
		}
		if best < 0 || lessLoaded(t, i, best) {
			best = i
		}
	}
	if best >= 0 {
		return best, false
	}
	return b.nextInTurn(t, avoid), false
}
