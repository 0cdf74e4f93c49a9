package stats

import (
	"strings"
	"testing"
	"time"

	"github.com/fjordlb/fjord/health"
)

// TestTLSCheckStatusShown: a failed TLS check's L6RSP has its series
// among Prometheus' check states, next to the other L6 ones.
func TestTLSCheckStatusShown(t *testing.T) {
	env := newPageEnv(t, false)
	const info = "SSL handshake failure (x509: certificate signed by unknown authority)"
	web02 := env.backends["web"].Servers[1]
	env.checks.mu.Lock()
	env.checks.st[web02] = health.ServerStatus{
		Last:   health.Result{Status: health.StatusL6Rsp, Info: info, Duration: 2 * time.Millisecond},
		Health: 0, Rise: 2, Fall: 3, Layer7: true, Failed: 3, Downs: 1,
	}
	env.checks.mu.Unlock()

	metrics := env.get(t, "/metrics").body
	for _, want := range []string{
		`fjord_server_check_status{proxy="web",server="web02",state="L6RSP"} 1`,
		`fjord_server_check_status{proxy="web",server="web02",state="L6OK"} 0`,
		`fjord_server_check_status{proxy="web",server="web02",state="L6TOUT"} 0`,
		`fjord_server_check_status{proxy="web",server="web02",state="L7OK"} 0`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}
