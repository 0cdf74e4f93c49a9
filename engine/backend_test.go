package engine

import (
	"net/netip"
	"testing"

	"github.com/fjordlb/fjord/balancer"
	"github.com/fjordlb/fjord/config"
	"github.com/fjordlb/fjord/rules"
)

// Choosing a server costs no allocation: the request goes to the balancer
// through the engine's serverPool interface by value, so nothing of the
// session's escapes (a pointer there cost one allocation per connection).
func TestAcquireAllocs(t *testing.T) {
	cfg, err := config.Parse("t.cfg", []byte("defaults\n  mode http\nlisten be\n  bind 127.0.0.1:1\n  balance uri\n  server a 127.0.0.1:1\n  server b 127.0.0.1:2\n"), config.Options{Resolver: config.NoResolver})
	if err != nil {
		t.Fatal(err)
	}
	be := newBackend(balancer.New(cfg.Backend("be")), rules.NewCompiler())
	uri := []byte("/some/path?x=1")
	allocs := testing.AllocsPerRun(1000, func() {
		req := balancer.Request{Src: netip.MustParseAddr("10.0.0.1"), URI: uri}
		sv, err := be.Acquire(req, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		be.Release(sv)
	})
	if allocs != 0 {
		t.Errorf("%v allocations per Acquire through the engine's backend", allocs)
	}
}
