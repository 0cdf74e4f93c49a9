package stats

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/fjordlb/fjord/balancer"
	"github.com/fjordlb/fjord/config"
)

func TestShowStat(t *testing.T) {
	// testSources: "listen web" (iid 1) with web01 (sid 1, weight 10) and
	// web02 (sid 2).
	csvRows := func(t *testing.T, out string) []string {
		t.Helper()
		if !strings.HasPrefix(out, CSVHeader()) {
			t.Fatalf("not the CSV: %q", out)
		}
		var names []string
		for _, l := range strings.Split(strings.TrimSuffix(strings.TrimPrefix(out, CSVHeader()), "\n"), "\n") {
			if l != "" {
				f := strings.Split(l, ",")
				names = append(names, f[0]+"/"+f[1])
			}
		}
		return names
	}
	rows := func(want ...string) func(t *testing.T, out string) {
		return func(t *testing.T, out string) {
			if got := strings.Join(csvRows(t, out), " "); got != strings.Join(want, " ") {
				t.Errorf("rows %s, want %s", got, strings.Join(want, " "))
			}
		}
	}
	has := func(lines ...string) func(t *testing.T, out string) {
		return func(t *testing.T, out string) {
			for _, l := range lines {
				if !strings.Contains("\n"+out, "\n"+l+"\n") {
					t.Errorf("no line %q in\n%s", l, out)
				}
			}
		}
	}
	message := func(want string) func(t *testing.T, out string) {
		return func(t *testing.T, out string) {
			if out != want {
				t.Errorf("got %q, want %q", out, want)
			}
		}
	}
	all := []string{"web/FRONTEND", "web/web01", "web/web02", "web/BACKEND"}
	tests := []struct {
		name  string
		cmd   string
		setup func(src *Sources)
		check func(t *testing.T, out string)
	}{
		{"the CSV by default", "show stat", nil, rows(all...)},
		{"domain proxy is the default", "show stat domain proxy", nil, rows(all...)},
		{"one proxy, servers only", "show stat web 4 -1", nil, rows("web/web01", "web/web02")},
		{"one proxy by id, one server", "show stat 1 4 2", nil, rows("web/web02")},
		{"every proxy, frontends and backends", "show stat -1 3 -1", nil, rows("web/FRONTEND", "web/BACKEND")},
		{"up hides servers down or in maintenance", "show stat up", func(src *Sources) {
			src.Backends["web"].Server("web02").SetUp(false)
		}, rows("web/FRONTEND", "web/web01", "web/BACKEND")},
		{"no-maint hides servers in maintenance only", "show stat no-maint", func(src *Sources) {
			src.Backends["web"].Server("web01").SetAdmin(balancer.Maint)
			src.Backends["web"].Server("web02").SetUp(false)
		}, rows("web/FRONTEND", "web/web02", "web/BACKEND")},
		{"typed is HAProxy's typed lines", "show stat typed", nil, has(
			"F.1.0.0.pxname.1:KNS:str:web",
			"F.1.0.17.status.1:SGP:str:OPEN",
			"S.1.1.1.svname.1:KNS:str:web01",
			"S.1.1.18.weight.1:MaP:u32:10",
			"S.1.1.19.act.1:SGP:u32:1",
			"S.1.2.17.status.1:SGP:str:no check",
			"B.1.0.19.act.1:MGP:u32:2",
			"B.1.0.32.type.1:CGS:u32:1",
		)},
		{"typed with a selection", "show stat web 2 -1 typed", nil, func(t *testing.T, out string) {
			for _, l := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
				if !strings.HasPrefix(l, "B.1.0.") {
					t.Fatalf("line %q, want only the backend", l)
				}
			}
		}},
		{"typed twice is typed", "show stat typed typed", nil, has("B.1.0.19.act.1:MGP:u32:2")},
		{"json and typed together", "show stat json typed", nil, message("show stat: 'typed' and 'json' cannot be combined.\n")},
		{"an unknown word", "show stat xml", nil, message("show stat: unknown argument 'xml': expected typed, json, up or no-maint (after an optional '<proxy> <type> <sid>').\n")},
		{"desc", "show stat typed desc", nil, message("show stat: 'desc' is not supported by fjord (it has no field descriptions).\n")},
		{"an unknown proxy", "show stat nope 4 -1", nil, message("No such proxy.\n")},
		{"a proxy id out of range", "show stat 2 4 -1", nil, message("No such proxy.\n")},
		{"a type that is not a number", "show stat web servers -1", nil, message("show stat: 'servers' is not an object type: 1 frontends, 2 backends, 4 servers, their sum, or -1 for all.\n")},
		{"a server id that is not a number", "show stat web 4 web01", nil, message("show stat: 'web01' is not a server id (-1 for all).\n")},
		{"resolvers", "show stat domain resolvers", nil, message("fjord has no resolvers: 'show stat domain proxy' is the only domain.\n")},
		{"an unknown domain", "show stat domain foo", nil, message("Invalid statistics domain.\n")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := testSources(t)
			if tt.setup != nil {
				tt.setup(src)
			}
			tt.check(t, (&API{Src: src, Level: config.LevelUser}).Exec(tt.cmd))
		})
	}
}

// "show stat json" is the stats page's ";json", from the same encoder,
// with the same selections as the CSV.
func TestShowStatJSONIsThePageJSON(t *testing.T) {
	src := testSources(t)
	api := &API{Src: src, Level: config.LevelUser}
	if got, want := api.Exec("show stat json"), string(appendJSON(nil, src.Snapshot())); got != want {
		t.Fatalf("show stat json:\n%s\nthe page's ;json:\n%s", got, want)
	}
	var objs []map[string]any
	if err := json.Unmarshal([]byte(api.Exec("show stat web 4 2 json")), &objs); err != nil {
		t.Fatal(err)
	}
	if len(objs) != 1 || objs[0]["svname"] != "web02" || objs[0]["weight"] != 1.0 || objs[0]["status"] != "no check" {
		t.Fatalf("show stat web 4 2 json: %v", objs)
	}
}
