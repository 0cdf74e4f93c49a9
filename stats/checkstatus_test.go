package stats

import (
	"html"
	"strings"
	"testing"
	"time"

	"github.com/fjordlb/fjord/health"
)

// TestTLSCheckStatusShown: a failed TLS check's L6RSP reaches every
// rendering, with the reason that says why: the stats page's LastChk tip
// (HAProxy's check_desc and last_chk), the CSV's last_chk, and its
// series among Prometheus' check states, next to the other L6 ones.
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

	page := env.get(t, "/haproxy?stats")
	if want := `title="` + html.EscapeString("Layer6 invalid response: "+info) + `">L6RSP in 2ms<`; !strings.Contains(page.body, want) {
		t.Errorf("stats page lacks %s", want)
	}
	if want := `title="Layer7 check passed">L7OK/200 in 3ms<`; !strings.Contains(page.body, want) {
		t.Errorf("stats page lacks %s", want)
	}

	cols, rows := csvRecords(t, env.get(t, "/haproxy?stats;csv").body)
	w2 := findRecord(rows, cols, "web", "web02")
	if w2 == nil || w2[cols["check_status"]] != "L6RSP" || w2[cols["last_chk"]] != info || w2[cols["check_code"]] != "" {
		t.Errorf("CSV web02 row %q", w2)
	}

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
