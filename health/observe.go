package health

import (
	"strconv"

	"github.com/fjordlb/fjord/balancer"
	"github.com/fjordlb/fjord/config"
)

// Passive checks: the event loops report what real traffic saw. These
// methods run on the loops, so they only count; the server's check
// goroutine acts when the error limit is reached.

// ConnectResult reports a connection attempt to srv ("observe layer4",
// and layer7, which includes it).
func (m *Monitor) ConnectResult(srv *balancer.Server, ok bool) {
	c := m.byServer[srv]
	if c == nil || c.errorLimit == 0 {
		return
	}
	// As in HAProxy, a successful connection only counts as a success
	// for layer-4 observation; layer 7 waits for the answer.
	if ok && c.observe7 {
		return
	}
	c.outcome(!ok)
}

// HTTPResult reports a response status from srv ("observe layer7"). As in
// HAProxy, 5xx answers count as errors except 501 and 505, which blame
// the request; 0 stands for no valid response (timeout, invalid head).
func (m *Monitor) HTTPResult(srv *balancer.Server, status int) {
	c := m.byServer[srv]
	if c == nil || !c.observe7 {
		return
	}
	c.outcome(status == 0 || (status >= 500 && status != 501 && status != 505))
}

func (c *serverCheck) outcome(failed bool) {
	if !failed {
		if c.errors.Load() != 0 {
			c.errors.Store(0)
		}
		return
	}
	if c.errors.Add(1) == c.errorLimit {
		select {
		case c.passive <- struct{}{}:
		default: // already signalled
		}
	}
}

// applyOnError runs the "on-error" action once the error limit is hit.
func (c *serverCheck) applyOnError() {
	c.errors.Store(0)
	why := "reason: Health analyze, info: \"Detected " + strconv.FormatInt(c.errorLimit, 10) + " consecutive errors\""
	c.mu.Lock()
	var wentDown bool
	switch c.onError {
	case config.OnErrorFastInter:
		c.fast = true
	case config.OnErrorFailCheck:
		wentDown = c.t.failure()
		c.fast = true
	case config.OnErrorSuddenDeath:
		c.t.suddenDeath()
		c.fast = true
	case config.OnErrorMarkDown:
		wentDown = c.t.markDown()
		c.fast = true
	}
	if wentDown {
		c.downs++
	}
	c.mu.Unlock()
	if wentDown {
		c.setUp(false, why)
	}
}
