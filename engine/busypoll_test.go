package engine

import (
	"strings"
	"testing"
	"time"
)

// A spinning loop still serves everything a sleeping one does: bytes both
// ways, timers (timeout client), and closes, with busy-polling always on
// and in its adaptive form.
func TestBusyPollingServesTrafficAndTimers(t *testing.T) {
	for _, line := range []string{"busy-polling", "busy-polling adaptive 200us"} {
		t.Run(line, func(t *testing.T) {
			cfg := timeoutConfig(t, "  timeout connect 5s\n  timeout client 200ms\n  timeout server 60s", echoServer(t))
			cfg = strings.Replace(cfg, "nbthread 2\n", "nbthread 2\n  "+line+"\n", 1)
			e, addr := startEngine(t, cfg)
			if !e.cfg.Global.BusyPolling.On {
				t.Fatalf("%q did not turn busy-polling on", line)
			}
			c := dial(t, addr)
			for i := 0; i < 20; i++ {
				if err := echoOnce(c, "ping", 5*time.Second); err != nil {
					t.Fatal(err)
				}
			}
			waitClosed(t, c, 5*time.Second) // the client timeout fired while spinning
			waitIdle(t, e)
		})
	}
}
