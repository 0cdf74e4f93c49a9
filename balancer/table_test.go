package balancer

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/fjordlb/fjord/config"
)

// picked returns the sorted set of servers chosen over n picks.
func picked(t testing.TB, b *Backend, req *Request, n int) []string {
	t.Helper()
	var set []string
	for range n {
		if s := pick(t, b, req, nil); !slices.Contains(set, s) {
			set = append(set, s)
		}
	}
	slices.Sort(set)
	return set
}

func TestBackup(t *testing.T) {
	tests := []struct {
		name       string
		allBackups bool
		down       []string
		maint      []string
		drain      []string
		zero       []string // weight set to 0
		up         []string // brought back after down
		want       []string
	}{
		{name: "actives up", want: []string{"a", "b"}},
		{name: "one active down", down: []string{"a"}, want: []string{"b"}},
		{name: "actives down: first backup", down: []string{"a", "b"}, want: []string{"bk1"}},
		{name: "allbackups", allBackups: true, down: []string{"a", "b"}, want: []string{"bk1", "bk2"}},
		{name: "allbackups, actives up", allBackups: true, want: []string{"a", "b"}},
		{name: "first backup down", down: []string{"a", "b", "bk1"}, want: []string{"bk2"}},
		{name: "first backup in maintenance", down: []string{"a", "b"}, maint: []string{"bk1"}, want: []string{"bk2"}},
		{name: "actives drained", drain: []string{"a"}, maint: []string{"b"}, want: []string{"bk1"}},
		{name: "actives weight 0", zero: []string{"a", "b"}, want: []string{"bk1"}},
		{name: "active back", down: []string{"a", "b"}, up: []string{"a"}, want: []string{"a"}},
		{name: "everything down", down: []string{"a", "b", "bk1", "bk2"}, want: []string{"-"}},
	}
	for _, tt := range tests {
		for _, a := range []config.BalanceAlgorithm{config.BalanceRoundRobin, config.BalanceLeastConn, config.BalanceFirst, config.BalanceSource, config.BalanceRandom} {
			t.Run(tt.name+"/"+a.String(), func(t *testing.T) {
				px := algo(a)
				px.AllBackups = tt.allBackups
				b := mk(t, px,
					config.Server{Name: "a", Weight: 1},
					config.Server{Name: "b", Weight: 1},
					config.Server{Name: "bk1", Weight: 1, Backup: true},
					config.Server{Name: "bk2", Weight: 1, Backup: true},
				)
				for _, n := range tt.down {
					b.Server(n).SetUp(false)
				}
				for _, n := range tt.maint {
					b.Server(n).SetAdmin(Maint)
				}
				for _, n := range tt.drain {
					b.Server(n).SetAdmin(Drain)
				}
				for _, n := range tt.zero {
					b.Server(n).SetWeight(0)
				}
				for _, n := range tt.up {
					b.Server(n).SetUp(true)
				}
				want := tt.want
				var got []string
				switch a {
				case config.BalanceSource:
					// Many clients: the set of servers any of them reach.
					r := rand.New(rand.NewPCG(1, 1))
					for range 64 {
						req := &Request{Src: randIPv4(r)}
						if s := pick(t, b, req, nil); !slices.Contains(got, s) {
							got = append(got, s)
						}
					}
					slices.Sort(got)
				case config.BalanceFirst:
					// first always takes the first usable server.
					want = want[:1]
					got = picked(t, b, nil, 20)
				default:
					got = picked(t, b, nil, 200)
				}
				if !slices.Equal(got, want) {
					t.Errorf("servers used %v, want %v", got, want)
				}
			})
		}
	}
}

// TestOutOfService: a server in maintenance or drain never gets a new
// connection, whatever the algorithm and even for keys that hashed to it.
func TestOutOfService(t *testing.T) {
	bals := map[string]config.Proxy{
		"roundrobin":     algo(config.BalanceRoundRobin),
		"static-rr":      algo(config.BalanceStaticRR),
		"leastconn":      algo(config.BalanceLeastConn),
		"first":          algo(config.BalanceFirst),
		"random":         {Balance: config.Balance{Algorithm: config.BalanceRandom, Draws: 2}},
		"source":         algo(config.BalanceSource),
		"uri/consistent": {Balance: config.Balance{Algorithm: config.BalanceURI}, HashType: config.HashType{Method: config.HashConsistent}},
		"hdr":            {Balance: config.Balance{Algorithm: config.BalanceHdr, Param: "host"}},
	}
	reqs := make([]*Request, 100)
	for i := range reqs {
		reqs[i] = &Request{Src: srcReq(fmt.Sprintf("192.0.2.%d", i)).Src, URI: fmt.Appendf(nil, "/%d", i), Headers: headers{"host": fmt.Sprint(i)}}
	}
	for name, px := range bals {
		for _, admin := range []Admin{Maint, Drain} {
			t.Run(name+"/"+admin.String(), func(t *testing.T) {
				b := mk(t, px, ones(3)...)
				// s1 holds a session when it leaves: it finishes normally.
				s1 := b.Servers[0]
				hold(s1, 1)
				s1.SetAdmin(admin)
				if s1.Eligible() || b.Available() != 2 {
					t.Fatalf("%s: eligible %v, available %d", admin, s1.Eligible(), b.Available())
				}
				for _, req := range reqs {
					if s := pick(t, b, req, nil); s == "s1" || s == "-" {
						t.Fatalf("%s server picked for %s: %s", admin, req.URI, s)
					}
				}
				b.Release(s1)
				if n := s1.Counters.CurSessions.Load(); n != 0 {
					t.Errorf("s1 has %d sessions after release", n)
				}
				s1.SetAdmin(Ready)
				found := false
				for _, req := range reqs {
					found = found || pick(t, b, req, nil) == "s1"
				}
				if !found {
					t.Errorf("s1 back to READY never picked")
				}
			})
		}
	}

	t.Run("disabled in configuration", func(t *testing.T) {
		b := mk(t, algo(config.BalanceRoundRobin), config.Server{Weight: 1, Disabled: true}, config.Server{Weight: 1})
		if b.Servers[0].Admin() != Maint {
			t.Fatalf("disabled server admin %v", b.Servers[0].Admin())
		}
		if got := picked(t, b, nil, 10); !slices.Equal(got, []string{"s2"}) {
			t.Errorf("picked %v", got)
		}
		b.Servers[0].SetAdmin(Ready)
		if got := picked(t, b, nil, 10); !slices.Equal(got, []string{"s1", "s2"}) {
			t.Errorf("after READY picked %v", got)
		}
	})
}

func TestSetWeight(t *testing.T) {
	b := mk(t, algo(config.BalanceRoundRobin), ones(2)...)
	s1, s2 := b.Servers[0], b.Servers[1]
	pick(t, b, nil, nil) // the cycle is under way
	s1.SetWeight(3)
	var seq []string
	for range 8 {
		seq = append(seq, pick(t, b, nil, nil))
	}
	for c := range 2 {
		if n := count(seq[4*c:4*c+4], "s1"); n != 3 {
			t.Fatalf("weights 3,1: picks %v", seq)
		}
	}
	s2.SetWeight(0)
	if got := picked(t, b, nil, 20); !slices.Equal(got, []string{"s1"}) {
		t.Errorf("s2 at weight 0: picked %v", got)
	}
	s2.SetWeight(1)
	if got := picked(t, b, nil, 20); !slices.Equal(got, []string{"s1", "s2"}) {
		t.Errorf("s2 at weight 1 again: picked %v", got)
	}

	for _, tt := range []struct{ set, want int }{{300, 256}, {256, 256}, {-5, 0}, {7, 7}} {
		s1.SetWeight(tt.set)
		if got := s1.Weight(); got != tt.want {
			t.Errorf("SetWeight(%d): weight %d, want %d", tt.set, got, tt.want)
		}
	}

	// The very next pick sees the new weight, for every algorithm.
	for _, a := range []config.BalanceAlgorithm{config.BalanceRoundRobin, config.BalanceStaticRR, config.BalanceLeastConn, config.BalanceFirst, config.BalanceRandom, config.BalanceSource, config.BalanceURI} {
		b := mk(t, algo(a), ones(3)...)
		for i := range 30 {
			req := uriReq(fmt.Sprintf("/%d", i))
			req.Src = srcReq(fmt.Sprintf("10.0.0.%d", i)).Src
			victim := b.Servers[i%3]
			victim.SetWeight(0)
			if s := pick(t, b, req, nil); s == victim.Name {
				t.Fatalf("%s: %s picked right after its weight became 0", a, s)
			}
			victim.SetWeight(1)
		}
	}

	// leastconn compares sessions per weight with the new weight.
	b = mk(t, algo(config.BalanceLeastConn), ones(2)...)
	hold(b.Servers[0], 2)
	hold(b.Servers[1], 1)
	if s := pick(t, b, nil, nil); s != "s2" {
		t.Errorf("leastconn 2/1 vs 1/1 picked %s", s)
	}
	b.Servers[0].SetWeight(4)
	if s := pick(t, b, nil, nil); s != "s1" {
		t.Errorf("leastconn 2/4 vs 1/1 picked %s", s)
	}
}

func TestEffectiveWeight(t *testing.T) {
	const since = int64(1_000_000_000_000)
	ms := int64(time.Millisecond)
	tests := []struct {
		name      string
		weight    int
		slowstart time.Duration
		since     int64 // 0: up since the start
		now       int64
		want      int // in 1/rampSteps of the weight
		ramping   bool
	}{
		{"no slowstart", 1, 0, since, since, 1 * rampSteps, false},
		{"up since start", 1, time.Second, 0, since, 1 * rampSteps, false},
		{"weight 0", 0, time.Second, since, since, 0, false},
		{"just up", 1, time.Second, since, since, 1, true},
		{"just up weight 10", 10, time.Second, since, since, 10, true},
		{"first step", 1, time.Second, since, since + 49*ms, 1, true},
		{"second step", 1, time.Second, since, since + 50*ms, 2, true},
		{"half way", 1, time.Second, since, since + 500*ms, 11, true},
		{"half way weight 10", 10, time.Second, since, since + 500*ms, 110, true},
		{"last step", 4, time.Second, since, since + 999*ms, 4 * rampSteps, true},
		{"done", 4, time.Second, since, since + 1000*ms, 4 * rampSteps, false},
		{"long done", 256, time.Second, since, since + int64(time.Hour), 256 * rampSteps, false},
		{"clock stepped back", 3, time.Second, since, since - 10*ms, 3, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := mk(t, algo(config.BalanceRoundRobin), config.Server{Weight: tt.weight, SlowStart: tt.slowstart})
			s := b.Servers[0]
			s.upSince.Store(tt.since)
			w, ramping := s.effectiveWeight(tt.now)
			if w != tt.want || ramping != tt.ramping {
				t.Errorf("effectiveWeight = %d, %v; want %d, %v", w, ramping, tt.want, tt.ramping)
			}
		})
	}
}

func TestSlowStartMaxConn(t *testing.T) {
	const since = int64(1_000_000_000_000)
	ms := int64(time.Millisecond)
	tests := []struct {
		maxconn   int
		slowstart time.Duration
		since     int64
		now       int64
		want      int64
	}{
		{0, time.Second, since, since, 0},
		{100, 0, since, since, 100},
		{100, time.Second, 0, since, 100},
		{100, time.Second, since, since, 1},
		{100, time.Second, since, since + 500*ms, 50},
		{100, time.Second, since, since + 1000*ms, 100},
		{100, time.Second, since, since - 5*ms, 1},
	}
	for _, tt := range tests {
		b := mk(t, algo(config.BalanceRoundRobin), config.Server{Weight: 1, MaxConn: tt.maxconn, SlowStart: tt.slowstart})
		s := b.Servers[0]
		s.upSince.Store(tt.since)
		if got := s.maxConn(tt.now); got != tt.want {
			t.Errorf("maxconn %d slowstart %v at %+dms: %d, want %d", tt.maxconn, tt.slowstart, (tt.now-tt.since)/ms, got, tt.want)
		}
	}
}

// TestSlowStartShare: a server back from down with slowstart gets much
// less than its weighted share at first, and its full share after.
func TestSlowStartShare(t *testing.T) {
	for _, w := range []int{1, 2, 10, 256} {
		t.Run(fmt.Sprintf("weight=%d", w), func(t *testing.T) {
			b := mk(t, algo(config.BalanceRoundRobin),
				config.Server{Weight: w},
				config.Server{Weight: w},
				config.Server{Weight: w, SlowStart: time.Hour},
			)
			s3 := b.Servers[2]
			// Up since the start: no ramp.
			if got := count(cycles(t, b, 3*w), "s3"); got != w {
				t.Fatalf("before: s3 got %d of %d, want %d", got, 3*w, w)
			}
			s3.SetUp(false)
			s3.SetUp(true)
			const n = 3000
			got := count(cycles(t, b, n), "s3")
			if got == 0 || got > n/3/4 {
				t.Errorf("right after up: s3 got %d of %d picks; its weight share is %d", got, n, n/3)
			}
			// The ramp is over: the table refreshes on the next pick.
			s3.upSince.Store(time.Now().Add(-2 * time.Hour).UnixNano())
			b.lastRamp.Store(0)
			pick(t, b, nil, nil)
			if b.tbl.Load().ramping {
				t.Fatalf("table still ramping after slowstart ended")
			}
			if got := count(cycles(t, b, 3*w), "s3"); got != w {
				t.Errorf("after the ramp: s3 got %d of %d, want %d", got, 3*w, w)
			}
		})
	}
}

func cycles(t testing.TB, b *Backend, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = pick(t, b, nil, nil)
	}
	return out
}

// TestSmoothSequence checks the round robin cycle for many weight sets:
// exact counts, no server twice in a row when the weights allow it, and
// each server within two picks of its share at every point.
func TestSmoothSequence(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for range 3000 {
		ws := make([]int, 1+r.IntN(8))
		for i := range ws {
			ws[i] = 1 + r.IntN(1+r.IntN(40))
		}
		checkSequence(t, ws)
	}
	checkSequence(t, []int{256, 256, 256, 256, 256, 256, 256, 256, 256, 256})
	checkSequence(t, []int{5120, 20, 20, 20, 1})
}

func checkSequence(t *testing.T, ws []int) {
	t.Helper()
	seq := smoothSequence(ws)
	total, top := 0, 0
	for _, w := range ws {
		total += w
		top = max(top, w)
	}
	if len(seq) != total {
		t.Fatalf("%v: cycle of %d, want %d", ws, len(seq), total)
	}
	got := make([]int, len(ws))
	for k, s := range seq {
		got[s]++
		for i, w := range ws {
			if d := got[i]*total - (k+1)*w; d > 2*total || d < -2*total {
				t.Fatalf("%v: after %d picks server %d has %d", ws, k+1, i, got[i])
			}
		}
		if k > 0 && seq[k-1] == s && top <= total-top+1 {
			t.Fatalf("%v: server %d twice in a row at %d: %v", ws, s, k, seq)
		}
	}
	if total > 1 && seq[0] == seq[total-1] && top <= total-top {
		t.Fatalf("%v: server %d twice in a row across cycles: %v", ws, seq[0], seq)
	}
	if !slices.Equal(got, ws) {
		t.Fatalf("%v: counts %v", ws, got)
	}
}

// assign returns, for each request, the server it goes to.
func assign(t testing.TB, b *Backend, reqs []*Request) []string {
	out := make([]string, len(reqs))
	for i, req := range reqs {
		out[i] = pick(t, b, req, nil)
	}
	return out
}

func named(n int, weight func(i int) int) []config.Server {
	out := make([]config.Server, n)
	for i := range out {
		out[i] = config.Server{Name: fmt.Sprintf("srv%02d", i+1), Weight: weight(i)}
	}
	return out
}

func TestConsistentHashing(t *testing.T) {
	const nkeys = 100000
	r := rand.New(rand.NewPCG(7, 8))
	keys := map[string][]*Request{"source": {}, "uri": {}}
	for i := range nkeys {
		keys["source"] = append(keys["source"], &Request{Src: randIPv4(r)})
		keys["uri"] = append(keys["uri"], uriReq(fmt.Sprintf("/object/%d.jpg", i)))
	}
	servers := named(10, func(int) int { return 1 })
	for _, kind := range []config.BalanceAlgorithm{config.BalanceSource, config.BalanceURI} {
		t.Run(kind.String(), func(t *testing.T) {
			t.Parallel()
			px := config.Proxy{Balance: config.Balance{Algorithm: kind}, HashType: config.HashType{Method: config.HashConsistent, Function: config.HashSDBM}}
			reqs := keys[kind.String()]
			base := assign(t, mk(t, px, servers...), reqs)
			// Built independently, the same servers agree on every key.
			if other := assign(t, mk(t, px, servers...), reqs); !slices.Equal(base, other) {
				t.Fatalf("two balancers with the same servers disagree")
			}
			// Servers listed in another order: same names, same keys.
			rev := slices.Clone(servers)
			slices.Reverse(rev)
			if other := assign(t, mk(t, px, rev...), reqs); !slices.Equal(base, other) {
				t.Fatalf("servers in another order move keys")
			}
			for _, k := range []int{0, 4, 9} {
				gone := servers[k].Name
				without := slices.Delete(slices.Clone(servers), k, k+1)
				removals := map[string]func() (*Backend, func()){
					"rebuilt without": func() (*Backend, func()) { return mk(t, px, without...), nil },
					"down": func() (*Backend, func()) {
						b := mk(t, px, servers...)
						b.Servers[k].SetUp(false)
						return b, func() { b.Servers[k].SetUp(true) }
					},
					"maint": func() (*Backend, func()) {
						b := mk(t, px, servers...)
						b.Servers[k].SetAdmin(Maint)
						return b, func() { b.Servers[k].SetAdmin(Ready) }
					},
					"weight 0": func() (*Backend, func()) {
						b := mk(t, px, servers...)
						b.Servers[k].SetWeight(0)
						return b, func() { b.Servers[k].SetWeight(1) }
					},
				}
				for how, remove := range removals {
					b, restore := remove()
					moved := 0
					for i, req := range reqs {
						got := pick(t, b, req, nil)
						switch {
						case got == gone || got == "-":
							t.Fatalf("%s %s: key %d went to %s", gone, how, i, got)
						case base[i] != gone && got != base[i]:
							t.Fatalf("%s %s: key %d moved from %s to %s", gone, how, i, base[i], got)
						case got != base[i]:
							moved++
						}
					}
					if limit := nkeys/10 + nkeys*2/100; moved > limit {
						t.Errorf("%s %s: %d keys moved, more than %d", gone, how, moved, limit)
					}
					if restore != nil {
						restore()
						if back := assign(t, b, reqs); !slices.Equal(back, base) {
							t.Errorf("%s back from %s: keys do not return", gone, how)
						}
					}
				}
			}
		})
	}

	t.Run("weighted", func(t *testing.T) {
		t.Parallel()
		px := config.Proxy{Balance: config.Balance{Algorithm: config.BalanceURI}, HashType: config.HashType{Method: config.HashConsistent, Function: config.HashSDBM}}
		servers := named(4, func(i int) int { return i + 1 }) // 1,2,3,4
		b := mk(t, px, servers...)
		reqs := keys["uri"]
		base := assign(t, b, reqs)
		for _, s := range servers {
			share := float64(count(base, s.Name)) / nkeys
			if want := float64(s.Weight) / 10; share < want-0.02 || share > want+0.02 {
				t.Errorf("%s weight %d: %.1f%% of keys, want %.0f%%", s.Name, s.Weight, 100*share, 100*want)
			}
		}
		// Raising one weight only moves keys to that server.
		b.Server("srv02").SetWeight(6)
		for i, got := range assign(t, b, reqs) {
			if got != base[i] && got != "srv02" {
				t.Fatalf("key %d moved from %s to %s when srv02 grew", i, base[i], got)
			}
		}
		b.Server("srv02").SetWeight(2)
		if back := assign(t, b, reqs); !slices.Equal(back, base) {
			t.Errorf("keys do not return with the weight")
		}
		// Removing one only moves its own keys.
		b.Server("srv03").SetUp(false)
		for i, got := range assign(t, b, reqs) {
			if base[i] != "srv03" && got != base[i] {
				t.Fatalf("key %d moved from %s to %s when srv03 went down", i, base[i], got)
			}
		}
	})
}

func TestCounters(t *testing.T) {
	b := mk(t, algo(config.BalanceRoundRobin), config.Server{Weight: 1, MaxConn: 3})
	s := b.Servers[0]
	for range 3 {
		if _, err := b.Pick(Request{}, nil); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := b.Pick(Request{}, nil); err != ErrNoServer {
		t.Fatalf("fourth pick on maxconn 3: %v", err)
	}
	check := func(when string, sel, cur, max, tot int64) {
		t.Helper()
		c := &s.Counters
		if c.Selected.Load() != sel || c.CurSessions.Load() != cur || c.MaxSessions.Load() != max || c.TotSessions.Load() != tot {
			t.Errorf("%s: lbtot %d scur %d smax %d stot %d; want %d %d %d %d", when,
				c.Selected.Load(), c.CurSessions.Load(), c.MaxSessions.Load(), c.TotSessions.Load(), sel, cur, max, tot)
		}
	}
	check("three held", 3, 3, 3, 3)
	release(b, s, 3)
	check("released", 3, 0, 3, 3)
	pick(t, b, nil, nil)
	check("one more", 4, 0, 3, 4)

	// State changes: last change and downtime.
	if s.Counters.LastChange.Load() != 0 || s.Counters.Downtime.Load() != 0 {
		t.Fatalf("fresh server: lastchg %d downtime %d", s.Counters.LastChange.Load(), s.Counters.Downtime.Load())
	}
	start := time.Now().UnixNano()
	s.SetUp(false)
	down := s.Counters.LastChange.Load()
	if down < start || down > time.Now().UnixNano() {
		t.Errorf("lastchg %d not the time of going down", down)
	}
	if s.Counters.Downtime.Load() != 0 {
		t.Errorf("downtime %d while first down", s.Counters.Downtime.Load())
	}
	time.Sleep(2 * time.Millisecond)
	s.SetUp(false) // no change
	if s.Counters.LastChange.Load() != down {
		t.Errorf("SetUp(false) twice changed lastchg")
	}
	s.SetUp(true)
	end := time.Now().UnixNano()
	dt := s.Counters.Downtime.Load()
	if dt < int64(2*time.Millisecond) || dt > end-start {
		t.Errorf("downtime %v after a down period of at least 2ms and at most %v", time.Duration(dt), time.Duration(end-start))
	}
	if lc := s.Counters.LastChange.Load(); lc < down || lc > end {
		t.Errorf("lastchg %d not the time of coming up", lc)
	}

	// A second down period adds to the first, even with administrative
	// changes while down.
	s.SetUp(false)
	time.Sleep(2 * time.Millisecond)
	s.SetAdmin(Maint)
	time.Sleep(2 * time.Millisecond)
	s.SetAdmin(Ready)
	s.SetUp(true)
	if got := s.Counters.Downtime.Load(); got < dt+int64(4*time.Millisecond) {
		t.Errorf("downtime %v after a second down period of 4ms, was %v", time.Duration(got), time.Duration(dt))
	}
}
