package sysctl

import (
	"strings"
	"testing"
)

func TestMerge(t *testing.T) {
	tests := []struct {
		name    string
		s       Setting
		cur     string
		next    string
		done    bool
		wantErr string
	}{
		{"at least: raised", Setting{Kind: AtLeast, Want: "100000"}, "8192\n", "100000", false, ""},
		{"at least: higher kept", Setting{Kind: AtLeast, Want: "100000"}, "2000000\n", "2000000", true, ""},
		{"at least: equal", Setting{Kind: AtLeast, Want: "4096"}, "4096", "4096", true, ""},
		{"at least: zero is a value", Setting{Kind: AtLeast, Want: "16384"}, "0", "16384", false, ""},
		{"at least: zero is unlimited", Setting{Kind: AtLeast, Want: "16384", ZeroIsUnlimited: true}, "0", "0", true, ""},
		{"at most: lowered", Setting{Kind: AtMost, Want: "30"}, "60", "30", false, ""},
		{"at most: lower kept", Setting{Kind: AtMost, Want: "30"}, "10", "10", true, ""},
		{"exactly: 2 is not above 1", Setting{Kind: Exactly, Want: "1"}, "2", "1", false, ""},
		{"exactly: 0", Setting{Kind: Exactly, Want: "1"}, "0", "1", false, ""},
		{"exactly: same", Setting{Kind: Exactly, Want: "1"}, "1\n", "1", true, ""},
		{"range: widened", Setting{Kind: Range, Want: "1024 65023"}, "32768\t60999\n", "1024 65023", false, ""},
		{"range: wider kept", Setting{Kind: Range, Want: "1024 65023"}, "1024\t65535", "1024 65535", true, ""},
		{"range: never narrowed at one end", Setting{Kind: Range, Want: "1024 65023"}, "2000 65535", "1024 65535", false, ""},
		{"range: never narrowed at the other", Setting{Kind: Range, Want: "1024 65023"}, "1000 61000", "1000 65023", false, ""},
		{"ports: added to empty", Setting{Kind: PortSet, Want: "8080,8443"}, "\n", "8080,8443", false, ""},
		{"ports: merged", Setting{Kind: PortSet, Want: "8080,8443"}, "8081-8090,9000", "8080-8090,8443,9000", false, ""},
		{"ports: covered", Setting{Kind: PortSet, Want: "8080,8443"}, "8000-9000", "8000-9000", true, ""},
		{"bad current number", Setting{Kind: AtLeast, Want: "1"}, "many", "", false, "current value: want one number"},
		{"two numbers for one", Setting{Kind: AtLeast, Want: "1"}, "1 2", "", false, "current value"},
		{"bad range", Setting{Kind: Range, Want: "1 2"}, "5", "", false, "want two numbers"},
		{"reversed range", Setting{Kind: Range, Want: "1 2"}, "9 5", "", false, "ends before it starts"},
		{"bad port", Setting{Kind: PortSet, Want: "80"}, "80,x", "", false, "bad port"},
		{"port out of range", Setting{Kind: PortSet, Want: "80"}, "70000", "", false, "bad port"},
		{"reversed port range", Setting{Kind: PortSet, Want: "80"}, "90-80", "", false, "bad port range"},
		{"bad want", Setting{Kind: AtLeast, Want: "x"}, "1", "", false, "wanted value"},
		{"unknown kind", Setting{Kind: Kind(42), Want: "1"}, "1", "", false, "unknown kind"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			next, done, err := tt.s.Merge(tt.cur)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Merge(%q) error %v, want one containing %q", tt.cur, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Merge(%q): %v", tt.cur, err)
			}
			if next != tt.next || done != tt.done {
				t.Errorf("Merge(%q) = %q, %v; want %q, %v", tt.cur, next, done, tt.next, tt.done)
			}
			// Whatever is to be written must satisfy the setting.
			if !tt.s.satisfied(next) {
				t.Errorf("Merge(%q) = %q, which does not satisfy %v %q", tt.cur, next, tt.s.Kind, tt.s.Want)
			}
		})
	}
}

func TestParsePorts(t *testing.T) {
	for _, tt := range []struct{ in, out string }{
		{"", ""},
		{"80", "80"},
		{"443,80", "80,443"},
		{"80,81,82", "80-82"},
		{"8000-8010,8005-8020, 9000", "8000-8020,9000"},
		{"65535,0", "0,65535"},
	} {
		got, err := parsePorts(tt.in)
		if err != nil {
			t.Errorf("parsePorts(%q): %v", tt.in, err)
			continue
		}
		if s := formatPorts(got); s != tt.out {
			t.Errorf("parsePorts(%q) = %q, want %q", tt.in, s, tt.out)
		}
	}
}

// FuzzMerge checks the promise the tuner makes for any value a kernel (or
// a fake tree) may hold: no panic, the value to write satisfies the
// setting, and nothing already better is made worse.
func FuzzMerge(f *testing.F) {
	for _, seed := range []struct {
		kind      int
		want, cur string
	}{
		{0, "100000", "2466116\n"}, {1, "30", "60"}, {2, "1", "2"},
		{3, "1024 65023", "32768\t60999\n"}, {4, "8080,8443", "8000-8010,9000"},
		{4, "80", ""}, {3, "1 2", "9 5"}, {0, "1", "-1"},
	} {
		f.Add(seed.kind, seed.want, seed.cur)
	}
	f.Fuzz(func(t *testing.T, kind int, want, cur string) {
		s := Setting{Kind: Kind(kind % 6), Want: want, ZeroIsUnlimited: kind%2 == 0}
		next, done, err := s.Merge(cur)
		if err != nil {
			return
		}
		if done && next != normalize(cur) {
			t.Fatalf("done but next %q differs from current %q", next, cur)
		}
		if !s.satisfied(next) {
			t.Fatalf("Merge(%q) = %q does not satisfy %v %q", cur, next, s.Kind, want)
		}
		switch s.Kind {
		case AtLeast, AtMost:
			c, _ := parseUint(cur)
			n, _ := parseUint(next)
			if (s.Kind == AtLeast && n < c && !(s.ZeroIsUnlimited && c == 0)) || (s.Kind == AtMost && n > c) {
				t.Fatalf("%v: %d made worse as %d", s.Kind, c, n)
			}
		case Range:
			clo, chi, _ := parseRange(cur)
			nlo, nhi, _ := parseRange(next)
			if nlo > clo || nhi < chi {
				t.Fatalf("range %q narrowed to %q", cur, next)
			}
		case PortSet:
			c, _ := parsePorts(cur)
			n, _ := parsePorts(next)
			if !covers(n, c) {
				t.Fatalf("ports %q lost in %q", cur, next)
			}
		}
	})
}
