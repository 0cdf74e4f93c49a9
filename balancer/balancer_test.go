package balancer

import (
	"net/netip"
	"testing"

	"github.com/fjordlb/fjord/config"
)

func backend(t *testing.T, servers ...config.Server) *Backend {
	t.Helper()
	px := &config.Proxy{Name: "be"}
	for i := range servers {
		s := servers[i]
		if s.Weight == 0 && !s.Disabled {
			s.Weight = 1
		}
		s.Addr = netip.MustParseAddrPort("127.0.0.1:1")
		px.Servers = append(px.Servers, &s)
	}
	return New(px)
}

func names(b *Backend, n int, avoid *Server) []string {
	var out []string
	for i := 0; i < n; i++ {
		s := b.Pick(avoid)
		if s == nil {
			out = append(out, "-")
			continue
		}
		out = append(out, s.Name)
	}
	return out
}

func TestPick(t *testing.T) {
	tests := []struct {
		name    string
		servers []config.Server
		down    []int
		avoid   int // index or -1
		want    []string
	}{
		{"rotates", []config.Server{{Name: "a"}, {Name: "b"}, {Name: "c"}}, nil, -1, []string{"a", "b", "c", "a"}},
		{"skips down", []config.Server{{Name: "a"}, {Name: "b"}, {Name: "c"}}, []int{1}, -1, []string{"a", "c", "a", "c"}},
		{"skips disabled", []config.Server{{Name: "a", Disabled: true}, {Name: "b"}}, nil, -1, []string{"b", "b"}},
		{"skips backup", []config.Server{{Name: "a"}, {Name: "b", Backup: true}}, nil, -1, []string{"a", "a"}},
		{"avoids the failed server", []config.Server{{Name: "a"}, {Name: "b"}}, nil, 0, []string{"b", "b", "b"}},
		{"avoided server if it is the only one", []config.Server{{Name: "a"}}, nil, 0, []string{"a", "a"}},
		{"none up", []config.Server{{Name: "a"}, {Name: "b"}}, []int{0, 1}, -1, []string{"-", "-"}},
		{"empty backend", nil, nil, -1, []string{"-"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := backend(t, tt.servers...)
			for _, i := range tt.down {
				b.Servers[i].SetUp(false)
			}
			var avoid *Server
			if tt.avoid >= 0 {
				avoid = b.Servers[tt.avoid]
			}
			got := names(b, len(tt.want), avoid)
			for i := range got {
				if got[i] != tt.want[i] {
					t.Fatalf("picks = %v, want %v", got, tt.want)
				}
			}
		})
	}
}

func TestCountersMax(t *testing.T) {
	var c Counters
	c.SessionStart()
	c.SessionStart()
	c.SessionEnd()
	c.SessionStart()
	if got := c.MaxSessions.Load(); got != 2 {
		t.Fatalf("max sessions = %d, want 2", got)
	}
	if got := c.TotSessions.Load(); got != 3 {
		t.Fatalf("total sessions = %d, want 3", got)
	}
	if got := c.CurSessions.Load(); got != 2 {
		t.Fatalf("current sessions = %d, want 2", got)
	}
}
