package balancer

import (
	"testing"

	"github.com/fjordlb/fjord/config"
)

// TestRoundRobinAvoidUnderContention: a redispatch must leave the avoided
// server even when other goroutines move the round-robin cursor between
// its steps (the cursor is shared by every event loop).
func TestRoundRobinAvoidUnderContention(t *testing.T) {
	b := mk(t, algo(config.BalanceRoundRobin), ones(2)...)
	avoid := b.Servers[0]
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			default:
				b.rr.Add(1) // another loop picking
			}
		}
	}()
	for i := 0; i < 100000; i++ {
		s, err := b.Acquire(Request{}, avoid, nil)
		if err != nil {
			t.Fatal(err)
		}
		if s == avoid {
			close(stop)
			<-done
			t.Fatalf("pick %d went to the avoided server", i)
		}
		b.Release(s)
	}
	close(stop)
	<-done
}
