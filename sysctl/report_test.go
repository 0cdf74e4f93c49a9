package sysctl

import (
	"strings"
	"testing"
)

func TestAbbreviatePorts(t *testing.T) {
	long := "8000,8002,8004,8006,8008,8010,8012,8014,8016,8018,9000-9009"
	for _, tt := range []struct {
		name, in string
		max      int
		want     string
	}{
		{"fits", "8080,8443", 40, "8080,8443"},
		{"empty", "", 40, ""},
		{"counted past the limit, ranges by their ports", long, 20, "8000,8002,8004,8006 and 16 more ports"},
		{"nothing fits", "8000-9000", 4, "1001 ports"},
		{"not a port list", "1024 65023 and more text than fits here", 10, "1024 65023 and more text than fits here"},
	} {
		if got := AbbreviatePorts(tt.in, tt.max); got != tt.want {
			t.Errorf("%s: AbbreviatePorts(%q, %d) = %q, want %q", tt.name, tt.in, tt.max, got, tt.want)
		}
	}
}

func TestShortChange(t *testing.T) {
	many := "1024,2000,3000,4000,5000,6000,7000,8000,9000,10000,11000,12000,13000,14000"
	for _, tt := range []struct {
		name string
		r    Result
		want string
	}{
		{"a number", Result{Setting: Setting{Kind: Exactly}, Current: "0", Wanted: "1", Status: Pending}, "change from 0 to 1"},
		{"a range", Result{Setting: Setting{Kind: Range}, Current: "32768 60999", Wanted: "1024 65023", Status: Pending}, "change from 32768 60999 to 1024 65023"},
		{"applied: the value read back", Result{Setting: Setting{Kind: AtLeast}, Current: "65536", Wanted: "100000", After: "131072", Status: Applied}, "change from 65536 to 131072"},
		{"ports: only those added", Result{Setting: Setting{Kind: PortSet}, Current: "80,443", Wanted: "80,443,8080,8443", Status: Pending}, "reserve 8080,8443"},
		{"ports: many, abbreviated", Result{Setting: Setting{Kind: PortSet}, Current: "", Wanted: many, Status: Pending}, "reserve 1024,2000,3000,4000,5000,6000,7000,8000 and 6 more ports"},
		{"ports: released", Result{Setting: Setting{Kind: PortSet}, Current: "8080,9000", After: "9000", Status: Applied}, "release 8080"},
		{"ports: unreadable", Result{Setting: Setting{Kind: PortSet}, Current: "x", Wanted: "8080", Status: Pending}, "change from x to 8080"},
	} {
		got := tt.r.ShortChange()
		if got != tt.want {
			t.Errorf("%s: %q, want %q", tt.name, got, tt.want)
		}
		if len(got) > 100 || strings.Contains(got, "\n") {
			t.Errorf("%s: %q is not short", tt.name, got)
		}
	}
}
