package balancer

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/fjordlb/fjord/config"
)

// hostHeader is a HeaderGetter as the engine would pass: no allocation.
type hostHeader struct{ host []byte }

func (h *hostHeader) Header(name string) ([]byte, bool) {
	if name == "host" {
		return h.host, true
	}
	return nil, false
}

var benchAlgos = []struct {
	name string
	px   config.Proxy
}{
	{"roundrobin", algo(config.BalanceRoundRobin)},
	{"static-rr", algo(config.BalanceStaticRR)},
	{"leastconn", algo(config.BalanceLeastConn)},
	{"first", algo(config.BalanceFirst)},
	{"random", config.Proxy{Balance: config.Balance{Algorithm: config.BalanceRandom, Draws: 2}}},
	{"source", algo(config.BalanceSource)},
	{"uri", algo(config.BalanceURI)},
	{"url_param", config.Proxy{Balance: config.Balance{Algorithm: config.BalanceURLParam, Param: "user"}}},
	{"hdr", config.Proxy{Balance: config.Balance{Algorithm: config.BalanceHdr, Param: "host", UseDomainOnly: true}}},
	{"source/consistent", config.Proxy{Balance: config.Balance{Algorithm: config.BalanceSource}, HashType: config.HashType{Method: config.HashConsistent}}},
	{"uri/consistent", config.Proxy{Balance: config.Balance{Algorithm: config.BalanceURI}, HashType: config.HashType{Method: config.HashConsistent}}},
	{"url_param/consistent", config.Proxy{Balance: config.Balance{Algorithm: config.BalanceURLParam, Param: "user"}, HashType: config.HashType{Method: config.HashConsistent}}},
	{"hdr/consistent", config.Proxy{Balance: config.Balance{Algorithm: config.BalanceHdr, Param: "host", UseDomainOnly: true}, HashType: config.HashType{Method: config.HashConsistent}}},
	{"uri/wt6+avalanche", config.Proxy{Balance: config.Balance{Algorithm: config.BalanceURI}, HashType: config.HashType{Function: config.HashWT6, Avalanche: true}}},
	{"source/crc32", config.Proxy{Balance: config.Balance{Algorithm: config.BalanceSource}, HashType: config.HashType{Function: config.HashCRC32}}},
}

// benchSetup returns a backend of 10 servers and a ring of requests.
func benchSetup(tb testing.TB, px config.Proxy) (*Backend, []Request) {
	servers := make([]config.Server, 10)
	for i := range servers {
		servers[i] = config.Server{Weight: 1 + i%3, MaxConn: 1000}
	}
	b := mk(tb, px, servers...)
	r := rand.New(rand.NewPCG(12, 13))
	reqs := make([]Request, 1024)
	for i := range reqs {
		reqs[i] = Request{
			Src:     randIPv4(r),
			URI:     fmt.Appendf(nil, "/static/img/%d.png?user=u%d&x=1", r.IntN(1e6), r.IntN(1e4)),
			Headers: &hostHeader{fmt.Appendf(nil, "www.site%d.example.com", r.IntN(1e4))},
		}
	}
	return b, reqs
}

// BenchmarkPick is the choice path: Pick then Release, 10 servers.
func BenchmarkPick(b *testing.B) {
	for _, a := range benchAlgos {
		b.Run(a.name, func(b *testing.B) {
			be, reqs := benchSetup(b, a.px)
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				s, err := be.Pick(reqs[i&1023], nil)
				if err != nil {
					b.Fatal(err)
				}
				be.Release(s)
				i++
			}
		})
	}
}

// TestPickAllocs: choosing a server allocates nothing, on any algorithm.
func TestPickAllocs(t *testing.T) {
	for _, a := range benchAlgos {
		be, reqs := benchSetup(t, a.px)
		i := 0
		allocs := testing.AllocsPerRun(2000, func() {
			s, err := be.Pick(reqs[i&1023], nil)
			if err != nil {
				t.Fatal(err)
			}
			be.Release(s)
			i++
		})
		if allocs != 0 {
			t.Errorf("%s: %v allocations per pick", a.name, allocs)
		}
	}
}
