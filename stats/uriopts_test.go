package stats

import (
	"strings"
	"testing"
)

func TestParseURIOptions(t *testing.T) {
	tests := []struct {
		rest    string
		want    uriOptions
		wantErr string
	}{
		{"", uriOptions{}, ""},
		{"&x=1", uriOptions{}, ""}, // before the first ';': part of the prefix match
		{";csv", uriOptions{format: formatCSV}, ""},
		{";json", uriOptions{format: formatJSON}, ""},
		{";csv;up;norefresh", uriOptions{format: formatCSV, up: true, norefresh: true}, ""},
		{";norefresh;up;csv", uriOptions{format: formatCSV, up: true, norefresh: true}, ""},
		{";up;;csv;", uriOptions{format: formatCSV, up: true}, ""},
		{";csv;csv", uriOptions{format: formatCSV}, ""},
		{"/x;up", uriOptions{up: true}, ""},
		{";st=DONE", uriOptions{status: stDone}, ""},
		{";up;st=ERRP", uriOptions{up: true, status: stErrP}, ""},
		{";csv;json", uriOptions{}, "cannot be combined"},
		{";CSV", uriOptions{}, "unknown stats option ';CSV'"},
		{";csv&x", uriOptions{}, "unknown stats option"},
		{";st=", uriOptions{}, "unknown action status"},
		{";st=done", uriOptions{}, "unknown action status"},
		{";typed", uriOptions{}, "unknown stats option ';typed'"},
		{";\x01\x7f", uriOptions{}, "';??'"},
		{strings.Repeat(";up", 17), uriOptions{}, "too many"},
	}
	for _, tt := range tests {
		got, err := parseURIOptions([]byte(tt.rest))
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("%q: error %v, want %q", tt.rest, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("%q: %+v, %v; want %+v", tt.rest, got, err, tt.want)
		}
	}
}

func TestURIOptionsSuffix(t *testing.T) {
	o := uriOptions{format: formatJSON, up: true, norefresh: true, status: stDeny}
	for _, tt := range []struct {
		format, status bool
		want           string
	}{
		{true, true, ";json;up;norefresh;st=DENY"},
		{false, true, ";up;norefresh;st=DENY"},
		{false, false, ";up;norefresh"},
	} {
		if got := o.suffix(tt.format, tt.status); got != tt.want {
			t.Errorf("suffix(%v, %v) = %q, want %q", tt.format, tt.status, got, tt.want)
		}
	}
}

// FuzzStatsURI: parsing never panics, errors are printable, and what
// parses renders to a suffix that parses back to the same options.
func FuzzStatsURI(f *testing.F) {
	for _, s := range []string{"", ";csv", ";json;up", ";norefresh;up;csv", ";st=DONE", ";csv;json", ";;", "&a;b", ";st=\xff", strings.Repeat(";up", 20)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, rest string) {
		o, err := parseURIOptions([]byte(rest))
		if err != nil {
			for _, r := range err.Error() {
				if r < 0x20 || r == 0x7f {
					t.Fatalf("error with a control character: %q", err)
				}
			}
			return
		}
		back, err := parseURIOptions([]byte(o.suffix(true, true)))
		if err != nil || back != o {
			t.Fatalf("%q -> %+v -> %q -> %+v, %v", rest, o, o.suffix(true, true), back, err)
		}
	})
}

// FuzzStatsTarget: matching a request-target never panics and, for an
// origin-form target, is HAProxy's prefix match.
func FuzzStatsTarget(f *testing.F) {
	p := &Page{uri: "/haproxy?stats", promURI: "/metrics"}
	for _, s := range []string{"/haproxy?stats;csv", "http://h/metrics", "http://h?x", "*", "", "h:443", "://", "/metrics?a"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, target string) {
		got := p.Matches([]byte(target))
		if strings.HasPrefix(target, "/") {
			want := strings.HasPrefix(target, p.uri) || target == p.promURI || strings.HasPrefix(target, p.promURI+"?")
			if got != want {
				t.Fatalf("Matches(%q) = %v", target, got)
			}
		}
	})
}
