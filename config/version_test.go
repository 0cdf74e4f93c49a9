package config

import (
	"strings"
	"testing"
)

func TestParseVersion(t *testing.T) {
	tests := []struct {
		in   string
		want version
	}{
		// The examples of HAProxy's split_version.
		{"1.2.1-pre2", version{1, 2, 1, 0, 2, 2, 0}},
		{"1.2.1", version{1, 2, 1, 0, 3, 0, 0}},
		{"1.2.10.1", version{1, 2, 10, 1, 3, 0, 0}},
		{"1.3.16-rc1", version{1, 3, 16, 0, 2, 1, 0}},
		{"1.4-dev3", version{1, 4, 0, 0, 1, 3, 0}},
		{"1.5-dev18", version{1, 5, 0, 0, 1, 18, 0}},
		{"1.5-dev18-43", version{1, 5, 0, 0, 1, 18, 43}},
		{"2.4-dev18-f6818d-20", version{2, 4, 0, 0, 1, 18, 20}},
		// And what else HAProxy accepts.
		{"2", version{2, 0, 0, 0, 3, 0, 0}},
		{"1024", version{1024, 0, 0, 0, 3, 0, 0}},
		{"2.5-dev", version{2, 5, 0, 0, 1, 0, 0}},
		{"2.6-43", version{2, 6, 0, 0, 3, 0, 43}},
		{"2.6.0-1ubuntu1", version{2, 6, 0, 0, 3, 0, 0}},
		{"2.6.0-foo", version{2, 6, 0, 0, 3, 0, 0}},
		{"2.6-dev3-x-7", version{2, 6, 0, 0, 1, 3, 7}},
	}
	for _, tt := range tests {
		got, err := parseVersion(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("parseVersion(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
}

func TestParseVersionRefusesMalformedVersions(t *testing.T) {
	for _, in := range []string{
		"", "abc", "v2.6", " 2.6", "2.", "2..1", "2.x", ".5", "1.2.3.4.5", "2.5-",
		"2.5-dev3x", "2.5-dev3-", "2.5-1-", "2.6+1", "99999999999",
	} {
		if v, err := parseVersion(in); err == nil {
			t.Errorf("parseVersion(%q) = %v, want an error", in, v)
		} else if !strings.Contains(err.Error(), "'"+in+"' is not a version") {
			t.Errorf("parseVersion(%q) error %q does not name the input", in, err)
		}
	}
}

func TestVersionOrder(t *testing.T) {
	// Each version is older than the next.
	order := []string{
		"1.4", "1.5-dev18", "1.5-dev18-43", "2.4-dev18-f6818d-20", "2.4", "2.4.1",
		"2.5-dev0", "2.5-dev2", "2.5-dev10", "2.5-pre1", "2.5-rc2", "2.5", "2.5.0.1", "2.5.1",
		"2.6-dev0", "2.6.0", "2.6.0-43", "2.6.12", "2.10",
	}
	for i := 1; i < len(order); i++ {
		a, errA := parseVersion(order[i-1])
		b, errB := parseVersion(order[i])
		if errA != nil || errB != nil {
			t.Fatalf("parse: %v %v", errA, errB)
		}
		if a.compare(b) != -1 || b.compare(a) != 1 {
			t.Errorf("%s is not older than %s", order[i-1], order[i])
		}
	}
	same := [][2]string{{"2.5", "2.5.0"}, {"2.5", "2.5.0.0"}, {"2.5-rc1", "2.5-pre1"}, {"2.6.0-1ubuntu1", "2.6.0"}, {"2.5-dev", "2.5-dev0"}}
	for _, p := range same {
		a, _ := parseVersion(p[0])
		b, _ := parseVersion(p[1])
		if a.compare(b) != 0 {
			t.Errorf("%s and %s differ", p[0], p[1])
		}
	}
}

func TestHAProxyVersionIsAVersion(t *testing.T) {
	v, err := parseVersion(HAProxyVersion)
	if err != nil {
		t.Fatal(err)
	}
	if v != currentVersion || v[0] == 0 {
		t.Fatalf("currentVersion = %v, want %v", currentVersion, v)
	}
}
