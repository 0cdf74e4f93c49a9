package health

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/fjordlb/fjord/balancer"
	"github.com/fjordlb/fjord/config"
)

type eventLogger struct {
	testLogger
	mu     sync.Mutex
	events []string
}

func (l *eventLogger) Event(level int, proxy, msg string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.events = append(l.events, fmt.Sprintf("%d %s %s", level, proxy, msg))
}

// TestTransitionLevels: with an EventLogger, UP is a notice, DOWN an alert
// and an empty backend an emergency, each for the backend concerned, as
// HAProxy logs them.
func TestTransitionLevels(t *testing.T) {
	cfg, err := config.Parse("t.cfg", []byte(`defaults
  mode tcp
frontend fe
  bind 127.0.0.1:1
  default_backend app
backend app
  server a 127.0.0.1:1 check
`), config.Options{Resolver: config.NoResolver})
	if err != nil {
		t.Fatal(err)
	}
	backends := map[string]*balancer.Backend{"app": balancer.New(cfg.Backends()[0])}
	lg := &eventLogger{}
	m, err := New(cfg, backends, lg, nil)
	if err != nil {
		t.Fatal(err)
	}
	c := m.checks[0]
	c.setUp(false, "reason: test")
	c.setUp(true, "reason: back")
	want := []string{
		"1 app Server app/a is DOWN, reason: test.",
		"0 app backend app has no server available!",
		"5 app Server app/a is UP, reason: back.",
	}
	if len(lg.events) != len(want) {
		t.Fatalf("events %q", lg.events)
	}
	for i, w := range want {
		if !strings.HasPrefix(lg.events[i], w) {
			t.Errorf("event %d: %q, want prefix %q", i, lg.events[i], w)
		}
	}
	if len(lg.lines) != 0 {
		t.Errorf("events also printed: %q", lg.lines)
	}
}
