package balancer

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/fjordlb/fjord/config"
)

// mk builds a backend from px and servers. Servers without a name are
// called s1, s2, ... and every server gets a loopback address of its own.
// Weights are taken as given: 0 is a real weight.
func mk(t testing.TB, px config.Proxy, servers ...config.Server) *Backend {
	t.Helper()
	if px.Name == "" {
		px.Name = "be"
	}
	for i := range servers {
		s := servers[i]
		if s.Name == "" {
			s.Name = fmt.Sprintf("s%d", i+1)
		}
		s.Addr = netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, 1}), uint16(8001+i))
		px.Servers = append(px.Servers, &s)
	}
	return New(&px)
}

// weighted returns servers s1.. with the given weights.
func weighted(ws ...int) []config.Server {
	out := make([]config.Server, len(ws))
	for i, w := range ws {
		out[i] = config.Server{Weight: w}
	}
	return out
}

// ones returns n servers of weight 1.
func ones(n int) []config.Server {
	ws := make([]int, n)
	for i := range ws {
		ws[i] = 1
	}
	return weighted(ws...)
}

func algo(a config.BalanceAlgorithm) config.Proxy {
	return config.Proxy{Balance: config.Balance{Algorithm: a}}
}

// reqOf is the request a test means by r: none (the zero Request) for nil.
func reqOf(r *Request) Request {
	if r == nil {
		return Request{}
	}
	return *r
}

// pick is Pick then Release: the name of the server chosen, "-" for none.
func pick(t testing.TB, b *Backend, req *Request, avoid *Server) string {
	t.Helper()
	s, err := b.Pick(reqOf(req), avoid)
	if err != nil {
		if s != nil {
			t.Fatalf("Pick returned %s with error %v", s.Name, err)
		}
		return "-"
	}
	b.Release(s)
	return s.Name
}

// hold takes n connection slots on s, as n established sessions would.
func hold(s *Server, n int) {
	for range n {
		if !s.tryTake(time.Now().UnixNano()) {
			panic("hold: server full")
		}
	}
}

func release(b *Backend, s *Server, n int) {
	for range n {
		b.Release(s)
	}
}

func index(b *Backend, name string) int {
	for i, s := range b.Servers {
		if s.Name == name {
			return i
		}
	}
	return -1
}

func TestWeightedRoundRobin(t *testing.T) {
	tests := []struct {
		weights []int
		want    []string // the exact first cycle, when it is fixed
	}{
		{[]int{1}, []string{"s1"}},
		{[]int{1, 1, 1}, []string{"s1", "s2", "s3"}},
		{[]int{3, 2}, []string{"s1", "s2", "s1", "s2", "s1"}},
		{[]int{2, 1}, []string{"s1", "s2", "s1"}},
		{[]int{5, 1, 1}, nil},
		{[]int{256, 1}, nil},
		{[]int{1, 0, 2}, []string{"s3", "s1", "s3"}},
		{[]int{0, 4, 0, 4}, nil},
		{[]int{4, 10, 8}, nil},
		{[]int{3, 1, 3, 1, 7}, nil},
		{[]int{2, 2, 1, 1}, nil},
		{[]int{9, 2, 1, 6, 2, 1}, nil},
		{[]int{15, 9, 6, 2}, nil},
		{[]int{1, 8, 9, 5, 17}, nil},
		{[]int{12, 14, 5, 1, 1, 8}, nil},
		{[]int{256, 256, 256, 256, 256, 256, 256, 256, 256, 256}, nil},
		{[]int{256, 255, 1}, nil},
		{[]int{7, 1, 1, 1, 1, 1, 1, 1}, nil},
	}
	for _, alg := range []config.BalanceAlgorithm{config.BalanceRoundRobin, config.BalanceStaticRR} {
		for _, tt := range tests {
			t.Run(fmt.Sprintf("%v/%v", alg, tt.weights), func(t *testing.T) {
				b := mk(t, algo(alg), weighted(tt.weights...)...)
				total, top := 0, 0
				for _, w := range tt.weights {
					total += w
					top = max(top, w)
				}
				var seq []string
				for range 3 * total {
					seq = append(seq, pick(t, b, nil, nil))
				}
				if tt.want != nil && !slices.Equal(seq[:total], tt.want) {
					t.Errorf("first cycle %v, want %v", seq[:total], tt.want)
				}
				// Every cycle gives each server exactly its weight.
				for c := range 3 {
					cycle := seq[c*total : (c+1)*total]
					for i, w := range tt.weights {
						if n := count(cycle, fmt.Sprintf("s%d", i+1)); n != w {
							t.Fatalf("cycle %d: s%d chosen %d times, want its weight %d (%v)", c, i+1, n, w, cycle)
						}
					}
				}
				// Smooth: no server twice in a row when the weights allow
				// it, within a cycle (top <= others+1) and across cycles
				// (top <= others).
				for i := 1; i < len(seq); i++ {
					if seq[i] != seq[i-1] {
						continue
					}
					if i%total != 0 && top <= total-top+1 {
						t.Fatalf("%s twice in a row at %d within a cycle: %v", seq[i], i, seq[:total])
					}
					if i%total == 0 && top <= total-top {
						t.Fatalf("%s twice in a row across cycles at %d: %v", seq[i], i, seq[:total])
					}
				}
				// Spread: at every point of the cycle each server is within
				// two picks of its weighted share.
				got := make([]int, len(tt.weights))
				for k, name := range seq[:total] {
					got[index(b, name)]++
					for i, w := range tt.weights {
						if d := got[i]*total - (k+1)*w; d > 2*total || d < -2*total {
							t.Fatalf("after %d picks s%d has %d, share %.1f: %v", k+1, i+1, got[i], float64((k+1)*w)/float64(total), seq[:total])
						}
					}
				}
			})
		}
	}
}

func count(names []string, name string) int {
	n := 0
	for _, s := range names {
		if s == name {
			n++
		}
	}
	return n
}

// headers is a HeaderGetter over a map.
type headers map[string]string

func (h headers) Header(name string) ([]byte, bool) {
	v, ok := h[name]
	return []byte(v), ok
}

func srcReq(a string) *Request { return &Request{Src: netip.MustParseAddr(a)} }

func uriReq(u string) *Request { return &Request{URI: []byte(u)} }

func hostReq(host string) *Request { return &Request{Headers: headers{"host": host}} }

// hashProxies are the configurations hashing tests run under: map-based
// and consistent, with and without avalanche, every function.
func hashProxies(bal config.Balance) map[string]config.Proxy {
	out := map[string]config.Proxy{}
	for _, method := range []config.HashMethod{config.HashMapBased, config.HashConsistent} {
		for _, fn := range []config.HashFunction{config.HashSDBM, config.HashDJB2, config.HashWT6, config.HashCRC32} {
			for _, aval := range []bool{false, true} {
				name := method.String() + "/" + fn.String()
				if aval {
					name += "+avalanche"
				}
				out[name] = config.Proxy{Balance: bal, HashType: config.HashType{Method: method, Function: fn, Avalanche: aval}}
			}
		}
	}
	return out
}

func randIPv4(r *rand.Rand) netip.Addr {
	var a [4]byte
	v := r.Uint32()
	a[0], a[1], a[2], a[3] = byte(v>>24), byte(v>>16), byte(v>>8), byte(v)
	return netip.AddrFrom4(a)
}

func TestSourceStableAndSpread(t *testing.T) {
	for name, px := range hashProxies(config.Balance{Algorithm: config.BalanceSource}) {
		t.Run(name, func(t *testing.T) {
			b := mk(t, px, ones(3)...)
			r := rand.New(rand.NewPCG(1, 2))
			const n = 10000
			first := map[netip.Addr]string{}
			counts := map[string]int{}
			var addrs []netip.Addr
			for range n {
				a := randIPv4(r)
				addrs = append(addrs, a)
				s := pick(t, b, &Request{Src: a}, nil)
				if prev, ok := first[a]; ok && prev != s {
					t.Fatalf("%s went to %s then %s", a, prev, s)
				}
				first[a] = s
				counts[s]++
			}
			for _, s := range []string{"s1", "s2", "s3"} {
				if share := float64(counts[s]) / n; share < 0.20 || share > 0.50 {
					t.Errorf("%s got %.1f%% of %d addresses: %v", s, 100*share, n, counts)
				}
			}
			// Stable: asked again, in another order and interleaved with
			// other traffic, every address lands where it did.
			for i := len(addrs) - 1; i >= 0; i -= 7 {
				pick(t, b, nil, nil)
				if s := pick(t, b, &Request{Src: addrs[i]}, nil); s != first[addrs[i]] {
					t.Fatalf("%s went to %s, earlier %s", addrs[i], s, first[addrs[i]])
				}
			}
			// An IPv4-mapped IPv6 address is the same client.
			a := addrs[0]
			mapped := netip.AddrFrom16(a.As16())
			if s := pick(t, b, &Request{Src: mapped}, nil); s != first[a] {
				t.Errorf("%s went to %s, %s to %s", mapped, s, a, first[a])
			}
			// IPv6 sources hash too and are stable.
			v6 := netip.MustParseAddr("2001:db8::1234")
			s6 := pick(t, b, &Request{Src: v6}, nil)
			for range 10 {
				if s := pick(t, b, &Request{Src: v6}, nil); s != s6 {
					t.Fatalf("%s went to %s then %s", v6, s6, s)
				}
			}
		})
	}
}

func TestURIKey(t *testing.T) {
	tests := []struct {
		uri        string
		len, depth int
		whole      bool
		want       string
	}{
		{"/a/b/c?x=1", 0, 0, false, "/a/b/c"},
		{"/a/b/c?x=1", 0, 0, true, "/a/b/c?x=1"},
		{"/a/b/c?x=1", 4, 0, false, "/a/b"},
		{"/a/b/c?x=1", 8, 0, true, "/a/b/c?x"},
		{"/a/b/c?x=1", 100, 0, true, "/a/b/c?x=1"},
		{"/a/b/c?x=1", 0, 1, false, "/a"},
		{"/a/b/c?x=1", 0, 2, false, "/a/b"},
		{"/a/b/c?x=1", 0, 3, false, "/a/b/c"},
		{"/a/b/c?x=1", 0, 9, false, "/a/b/c"},
		{"/a/b/c?x=1", 0, 2, true, "/a/b"},
		{"/a/b?x=/y/z", 0, 2, true, "/a/b?x="},
		{"/a/b?x=/y/z", 0, 2, false, "/a/b"},
		{"/aaaa/bbbb/c", 3, 2, false, "/aa"},
		{"?q", 0, 0, false, ""},
		{"/", 0, 1, false, "/"},
		{"", 0, 0, false, ""},
	}
	for _, tt := range tests {
		got := uriKey([]byte(tt.uri), tt.len, tt.depth, tt.whole)
		if string(got) != tt.want {
			t.Errorf("uriKey(%q, len %d, depth %d, whole %v) = %q, want %q", tt.uri, tt.len, tt.depth, tt.whole, got, tt.want)
		}
	}
}

func TestURLParam(t *testing.T) {
	tests := []struct {
		uri, name string
		want      string
		ok        bool
	}{
		{"/p?user=bob", "user", "bob", true},
		{"/p?a=1&user=bob&x", "user", "bob", true},
		{"/p?a=1&user=bob&user=eve", "user", "bob", true},
		{"/p?username=bob&user=eve", "user", "eve", true},
		{"/p?xuser=bob", "user", "", false},
		{"/p?user=", "user", "", false},
		{"/p?user", "user", "", false},
		{"/p?a=1", "user", "", false},
		{"/p/user=bob", "user", "", false},
		{"", "user", "", false},
		{"/p?&&user=a&", "user", "a", true},
	}
	for _, tt := range tests {
		got, ok := urlParam([]byte(tt.uri), tt.name)
		if string(got) != tt.want || ok != tt.ok {
			t.Errorf("urlParam(%q, %q) = %q, %v; want %q, %v", tt.uri, tt.name, got, ok, tt.want, tt.ok)
		}
	}
}

func TestDomainOnly(t *testing.T) {
	tests := []struct{ host, want string }{
		{"www.example.com", "example"},
		{"img.example.com", "example"},
		{"www.example.com:8080", "example"},
		{"example.com", "example"},
		{"a.b.example.co", "example"},
		{"localhost", "localhost"},
		{"localhost:80", "localhost"},
		{"[::1]:80", "[::1]"},
		{"[2001:db8::1]", "[2001:db8::1]"},
		{"", ""},
		{".", ""},
	}
	for _, tt := range tests {
		if got := domainOnly([]byte(tt.host)); string(got) != tt.want {
			t.Errorf("domainOnly(%q) = %q, want %q", tt.host, got, tt.want)
		}
	}
}

// TestHashKeys checks every key-hashing algorithm: requests with the same
// key go to the same server, different keys spread over all servers.
func TestHashKeys(t *testing.T) {
	type group []*Request // requests sharing a key
	tests := []struct {
		name string
		bal  config.Balance
		key  func(i int) group
	}{
		{"uri", config.Balance{Algorithm: config.BalanceURI}, func(i int) group {
			return group{uriReq(fmt.Sprintf("/obj/%d", i)), uriReq(fmt.Sprintf("/obj/%d?v=%d", i, i+1)), uriReq(fmt.Sprintf("/obj/%d?", i))}
		}},
		{"uri whole", config.Balance{Algorithm: config.BalanceURI, URIWhole: true}, func(i int) group {
			return group{uriReq(fmt.Sprintf("/obj?id=%d", i))}
		}},
		{"uri len", config.Balance{Algorithm: config.BalanceURI, URILen: 8}, func(i int) group {
			return group{uriReq(fmt.Sprintf("/%07d/a", i)), uriReq(fmt.Sprintf("/%07d/b?c", i))}
		}},
		{"uri depth", config.Balance{Algorithm: config.BalanceURI, URIDepth: 2}, func(i int) group {
			return group{uriReq(fmt.Sprintf("/d/%d/x", i)), uriReq(fmt.Sprintf("/d/%d/y/z", i)), uriReq(fmt.Sprintf("/d/%d", i))}
		}},
		{"url_param", config.Balance{Algorithm: config.BalanceURLParam, Param: "user"}, func(i int) group {
			return group{uriReq(fmt.Sprintf("/a?user=u%d", i)), uriReq(fmt.Sprintf("/b?x=1&user=u%d&y=2", i))}
		}},
		{"hdr", config.Balance{Algorithm: config.BalanceHdr, Param: "host"}, func(i int) group {
			return group{hostReq(fmt.Sprintf("h%d.example.com", i))}
		}},
		{"hdr use_domain_only", config.Balance{Algorithm: config.BalanceHdr, Param: "host", UseDomainOnly: true}, func(i int) group {
			return group{hostReq(fmt.Sprintf("www.site%d.com", i)), hostReq(fmt.Sprintf("img.site%d.com", i)), hostReq(fmt.Sprintf("site%d.org:8080", i))}
		}},
	}
	for _, tt := range tests {
		for name, px := range hashProxies(tt.bal) {
			t.Run(tt.name+"/"+name, func(t *testing.T) {
				b := mk(t, px, ones(3)...)
				counts := map[string]int{}
				const n = 3000
				for i := range n {
					g := tt.key(i)
					s := pick(t, b, g[0], nil)
					counts[s]++
					for _, req := range g[1:] {
						pick(t, b, nil, nil) // move the round robin on
						if got := pick(t, b, req, nil); got != s {
							t.Fatalf("key %d: %+v went to %s, %+v to %s", i, g[0], s, req, got)
						}
					}
				}
				for _, s := range []string{"s1", "s2", "s3"} {
					if share := float64(counts[s]) / n; share < 0.15 || share > 0.55 {
						t.Errorf("%s got %.1f%% of %d keys: %v", s, 100*share, n, counts)
					}
				}
			})
		}
	}
}

// TestHashMissingKey: without a key the hash algorithms rotate round
// robin, as HAProxy does.
func TestHashMissingKey(t *testing.T) {
	tests := []struct {
		name string
		bal  config.Balance
		req  *Request
	}{
		{"source nil request", config.Balance{Algorithm: config.BalanceSource}, nil},
		{"source no address", config.Balance{Algorithm: config.BalanceSource}, &Request{URI: []byte("/x")}},
		{"uri nil request", config.Balance{Algorithm: config.BalanceURI}, nil},
		{"uri empty", config.Balance{Algorithm: config.BalanceURI}, &Request{Src: netip.MustParseAddr("10.0.0.1")}},
		{"url_param absent", config.Balance{Algorithm: config.BalanceURLParam, Param: "user"}, uriReq("/a?x=1")},
		{"url_param empty", config.Balance{Algorithm: config.BalanceURLParam, Param: "user"}, uriReq("/a?user=")},
		{"url_param no query", config.Balance{Algorithm: config.BalanceURLParam, Param: "user"}, uriReq("/a")},
		{"hdr tcp mode", config.Balance{Algorithm: config.BalanceHdr, Param: "host"}, &Request{Src: netip.MustParseAddr("10.0.0.1")}},
		{"hdr absent", config.Balance{Algorithm: config.BalanceHdr, Param: "host"}, &Request{Headers: headers{"x": "y"}}},
		{"hdr empty", config.Balance{Algorithm: config.BalanceHdr, Param: "host"}, hostReq("")},
	}
	for _, tt := range tests {
		for _, method := range []config.HashMethod{config.HashMapBased, config.HashConsistent} {
			t.Run(tt.name+"/"+method.String(), func(t *testing.T) {
				b := mk(t, config.Proxy{Balance: tt.bal, HashType: config.HashType{Method: method}}, weighted(2, 1, 1)...)
				var seq []string
				for range 8 {
					seq = append(seq, pick(t, b, tt.req, nil))
				}
				for c := range 2 {
					cycle := seq[4*c : 4*c+4]
					if count(cycle, "s1") != 2 || count(cycle, "s2") != 1 || count(cycle, "s3") != 1 {
						t.Fatalf("picks %v do not rotate over weights 2,1,1", seq)
					}
				}
			})
		}
	}
}

func TestLeastConn(t *testing.T) {
	tests := []struct {
		name    string
		weights []int
		load    []int
		want    []string // successive picks, each released at once
	}{
		{"least loaded", []int{1, 1, 1}, []int{2, 0, 1}, []string{"s2", "s2", "s2"}},
		{"least loaded last", []int{1, 1, 1}, []int{3, 3, 2}, []string{"s3", "s3"}},
		{"per weight", []int{2, 1}, []int{1, 1}, []string{"s1", "s1"}},
		{"per weight other", []int{3, 1}, []int{4, 1}, []string{"s2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := mk(t, algo(config.BalanceLeastConn), weighted(tt.weights...)...)
			for i, n := range tt.load {
				hold(b.Servers[i], n)
			}
			var got []string
			for range tt.want {
				got = append(got, pick(t, b, nil, nil))
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("picks %v, want %v", got, tt.want)
			}
		})
	}

	t.Run("ties rotate", func(t *testing.T) {
		for _, load := range [][]int{{0, 0, 0}, {1, 1, 1}, {5, 5, 5}} {
			b := mk(t, algo(config.BalanceLeastConn), ones(3)...)
			for i, n := range load {
				hold(b.Servers[i], n)
			}
			for round := range 4 {
				var got []string
				for range 3 {
					got = append(got, pick(t, b, nil, nil))
				}
				slices.Sort(got)
				if !slices.Equal(got, []string{"s1", "s2", "s3"}) {
					t.Fatalf("load %v round %d: equal servers chosen %v, want each once", load, round, got)
				}
			}
		}
	})

	t.Run("held slots fill evenly", func(t *testing.T) {
		b := mk(t, algo(config.BalanceLeastConn), weighted(1, 2, 1)...)
		for range 40 {
			if _, err := b.Pick(Request{}, nil); err != nil {
				t.Fatal(err)
			}
		}
		want := []int64{10, 20, 10}
		for i, s := range b.Servers {
			if got := s.Counters.CurSessions.Load(); got != want[i] {
				t.Errorf("%s holds %d sessions, want %d", s.Name, got, want[i])
			}
		}
	})
}

func TestFirst(t *testing.T) {
	b := mk(t, algo(config.BalanceFirst), config.Server{MaxConn: 2, Weight: 1}, config.Server{MaxConn: 2, Weight: 1}, config.Server{MaxConn: 1, Weight: 1})
	var got []string
	var held []*Server
	for range 6 {
		s, err := b.Pick(Request{}, nil)
		if err != nil {
			got = append(got, "-")
			continue
		}
		held = append(held, s)
		got = append(got, s.Name)
	}
	if want := []string{"s1", "s1", "s2", "s2", "s3", "-"}; !slices.Equal(got, want) {
		t.Fatalf("picks %v, want %v", got, want)
	}
	// A slot freed on the first server is used before any other.
	b.Release(held[0])
	if s := pick(t, b, nil, nil); s != "s1" {
		t.Errorf("after a release on s1, picked %s", s)
	}
	for _, s := range held[1:] {
		b.Release(s)
	}

	// Without maxconn the first server takes everything.
	b = mk(t, algo(config.BalanceFirst), ones(3)...)
	for range 10 {
		if _, err := b.Pick(Request{}, nil); err != nil {
			t.Fatal(err)
		}
	}
	if n := b.Servers[0].Counters.CurSessions.Load(); n != 10 {
		t.Errorf("s1 holds %d sessions, want 10", n)
	}

	// A server down is skipped; the next in order fills.
	b = mk(t, algo(config.BalanceFirst), config.Server{MaxConn: 1, Weight: 1}, config.Server{MaxConn: 1, Weight: 1}, config.Server{MaxConn: 1, Weight: 1})
	b.Servers[0].SetUp(false)
	if s := pick(t, b, nil, nil); s != "s2" {
		t.Errorf("first with s1 down picked %s, want s2", s)
	}
}

func TestRandom(t *testing.T) {
	for _, draws := range []int{0, 1, 2, 3} {
		t.Run(fmt.Sprintf("draws=%d", draws), func(t *testing.T) {
			px := config.Proxy{Balance: config.Balance{Algorithm: config.BalanceRandom, Draws: draws}}
			b := mk(t, px, ones(4)...)
			b.Servers[1].SetUp(false)
			b.Servers[3].SetAdmin(Maint)
			counts := map[string]int{}
			for range 4000 {
				counts[pick(t, b, nil, nil)]++
			}
			if counts["s2"] != 0 || counts["s4"] != 0 || counts["-"] != 0 {
				t.Fatalf("random picked a server out of service: %v", counts)
			}
			if counts["s1"] < 1000 || counts["s3"] < 1000 {
				t.Errorf("random does not spread: %v", counts)
			}
		})
	}

	t.Run("prefers less loaded", func(t *testing.T) {
		b := mk(t, config.Proxy{Balance: config.Balance{Algorithm: config.BalanceRandom, Draws: 2}}, ones(2)...)
		hold(b.Servers[0], 5)
		counts := map[string]int{}
		const n = 10000
		for range n {
			counts[pick(t, b, nil, nil)]++
		}
		// Two draws both land on s1 a quarter of the time.
		if share := float64(counts["s2"]) / n; share < 0.70 {
			t.Errorf("unloaded s2 got %.1f%% of picks, want about 75%%: %v", 100*share, counts)
		}
		release(b, b.Servers[0], 5)
	})

	t.Run("weights", func(t *testing.T) {
		b := mk(t, config.Proxy{Balance: config.Balance{Algorithm: config.BalanceRandom, Draws: 1}}, weighted(3, 1)...)
		counts := map[string]int{}
		const n = 10000
		for range n {
			counts[pick(t, b, nil, nil)]++
		}
		if share := float64(counts["s1"]) / n; share < 0.70 || share > 0.80 {
			t.Errorf("weight 3 of 4 got %.1f%%: %v", 100*share, counts)
		}
	})
}

// TestAvoid: a retry never goes back to the server it leaves when another
// one can take it, whatever the algorithm and the key.
func TestAvoid(t *testing.T) {
	bals := map[string]config.Proxy{
		"roundrobin":        algo(config.BalanceRoundRobin),
		"static-rr":         algo(config.BalanceStaticRR),
		"leastconn":         algo(config.BalanceLeastConn),
		"first":             algo(config.BalanceFirst),
		"random":            {Balance: config.Balance{Algorithm: config.BalanceRandom, Draws: 2}},
		"source":            algo(config.BalanceSource),
		"source/consistent": {Balance: config.Balance{Algorithm: config.BalanceSource}, HashType: config.HashType{Method: config.HashConsistent}},
		"uri":               algo(config.BalanceURI),
		"uri/consistent":    {Balance: config.Balance{Algorithm: config.BalanceURI}, HashType: config.HashType{Method: config.HashConsistent}},
		"url_param":         {Balance: config.Balance{Algorithm: config.BalanceURLParam, Param: "k"}},
		"hdr":               {Balance: config.Balance{Algorithm: config.BalanceHdr, Param: "host"}},
		"hdr/consistent":    {Balance: config.Balance{Algorithm: config.BalanceHdr, Param: "host"}, HashType: config.HashType{Method: config.HashConsistent}},
	}
	r := rand.New(rand.NewPCG(3, 4))
	for name, px := range bals {
		t.Run(name, func(t *testing.T) {
			b := mk(t, px, weighted(1, 3, 1)...)
			for i := range 600 {
				req := &Request{
					Src:     randIPv4(r),
					URI:     fmt.Appendf(nil, "/o/%d?k=%d", i, i),
					Headers: headers{"host": fmt.Sprintf("h%d.example", i)},
				}
				for _, avoid := range b.Servers {
					if got := pick(t, b, req, avoid); got == avoid.Name || got == "-" {
						t.Fatalf("request %d avoiding %s got %s", i, avoid.Name, got)
					}
				}
			}
			// The avoided server is used when it is the only one.
			b.Servers[0].SetUp(false)
			b.Servers[2].SetAdmin(Maint)
			if got := pick(t, b, uriReq("/x?k=1"), b.Servers[1]); got != "s2" {
				t.Errorf("only s2 up, avoiding it: got %s", got)
			}
		})
	}

	t.Run("avoided server full elsewhere", func(t *testing.T) {
		// The other servers are full: the avoided one is all that is left,
		// as HAProxy falls back to the server it avoided.
		for _, a := range []config.BalanceAlgorithm{config.BalanceRoundRobin, config.BalanceLeastConn, config.BalanceFirst, config.BalanceRandom} {
			b := mk(t, algo(a), config.Server{Weight: 1, MaxConn: 1}, config.Server{Weight: 1}, config.Server{Weight: 1, MaxConn: 1})
			hold(b.Servers[0], 1)
			hold(b.Servers[2], 1)
			for range 5 {
				if got := pick(t, b, nil, b.Servers[1]); got != "s2" {
					t.Errorf("%s: s1 and s3 full, avoiding s2: got %s", a, got)
				}
			}
		}
	})
}

// TestNoServer: every algorithm reports ErrNoServer when nothing can
// take a connection.
func TestNoServer(t *testing.T) {
	for a := config.BalanceRoundRobin; a <= config.BalanceRandom; a++ {
		px := config.Proxy{Balance: config.Balance{Algorithm: a, Param: "p"}}
		req := &Request{Src: netip.MustParseAddr("10.1.2.3"), URI: []byte("/a?p=1"), Headers: headers{"p": "v"}}
		for _, b := range []*Backend{
			mk(t, px),
			mk(t, px, config.Server{Weight: 1, Disabled: true}),
			mk(t, px, weighted(0, 0)...),
		} {
			if s, err := b.Pick(reqOf(req), nil); s != nil || !errors.Is(err, ErrNoServer) {
				t.Errorf("%s with %d servers: Pick = %v, %v; want ErrNoServer", a, len(b.Servers), s, err)
			}
		}
		b := mk(t, px, ones(2)...)
		b.Servers[0].SetUp(false)
		b.Servers[1].SetUp(false)
		if s, err := b.Pick(reqOf(req), nil); s != nil || !errors.Is(err, ErrNoServer) {
			t.Errorf("%s all down: Pick = %v, %v; want ErrNoServer", a, s, err)
		}
		if b.Available() != 0 {
			t.Errorf("%s all down: Available = %d", a, b.Available())
		}
	}
}
