package stats

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/fjordlb/fjord/balancer"
)

// A backend's status is the same in every rendering, and a backend
// without servers is UP, as in HAProxy.
func TestBackendStatusInEveryRendering(t *testing.T) {
	tests := []struct {
		name    string
		backend string
		setup   func(env *pageEnv)
		want    string
	}{
		{"no servers is UP", "stats", func(*pageEnv) {}, "UP"},
		{"a server up is UP", "web", func(*pageEnv) {}, "UP"},
		{"only server in maintenance is DOWN", "db", func(env *pageEnv) {
			env.backends["db"].Servers[0].SetAdmin(balancer.Maint)
		}, "DOWN"},
		{"only server down is DOWN", "db", func(env *pageEnv) {
			env.backends["db"].Servers[0].SetUp(false)
		}, "DOWN"},
		{"only server at weight 0 is DOWN", "db", func(env *pageEnv) {
			env.backends["db"].Servers[0].SetWeight(0)
		}, "DOWN"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newPageEnv(t, false)
			tt.setup(env)

			csvBody := env.get(t, "/haproxy?stats;csv").body
			cols, rows := csvRecords(t, csvBody)
			if r := findRecord(rows, cols, tt.backend, "BACKEND"); r == nil || r[cols["status"]] != tt.want {
				t.Errorf("CSV: %s BACKEND row %v, want status %s", tt.backend, r, tt.want)
			}

			var objs []map[string]any
			if err := json.Unmarshal([]byte(env.get(t, "/haproxy?stats;json").body), &objs); err != nil {
				t.Fatal(err)
			}
			found := false
			for _, o := range objs {
				if o["pxname"] == tt.backend && o["svname"] == "BACKEND" {
					found = true
					if o["status"] != tt.want {
						t.Errorf("JSON: %s status %v, want %s", tt.backend, o["status"], tt.want)
					}
				}
			}
			if !found {
				t.Errorf("JSON: no %s BACKEND object", tt.backend)
			}

			html := env.get(t, "/haproxy?stats").body
			wantClass := map[string]string{"UP": "px", "DOWN": "down"}[tt.want]
			if row := `<tr class="` + wantClass + `" id="` + tt.backend + `/BACKEND">`; !strings.Contains(html, row) {
				t.Errorf("HTML: no %s", row)
			}

			parser := expfmt.NewTextParser(model.UTF8Validation)
			mfs, err := parser.TextToMetricFamilies(strings.NewReader(env.get(t, "/metrics").body))
			if err != nil {
				t.Fatal(err)
			}
			wantUp := map[string]float64{"UP": 1, "DOWN": 0}[tt.want]
			got, ok := -1.0, false
			for _, m := range mfs["fjord_backend_up"].GetMetric() {
				for _, l := range m.GetLabel() {
					if l.GetName() == "proxy" && l.GetValue() == tt.backend {
						got, ok = m.GetGauge().GetValue(), true
					}
				}
			}
			if !ok || got != wantUp {
				t.Errorf("Prometheus: fjord_backend_up{proxy=%q} = %v (present %v), want %v", tt.backend, got, ok, wantUp)
			}
		})
	}
}
