package logging

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/fjordlb/fjord/config"
)

func TestTruncate(t *testing.T) {
	a := NewAnonymizer(config.LogAnonymize{Enabled: true, IPv4Mask: 24, IPv6Mask: 48}, nil)
	for in, want := range map[string]string{
		"192.0.2.77:5000":             "192.0.2.0:5000",
		"[2001:db8:1:2:3:4:5:6]:80":   "2001:db8:1:::80",
		"[::ffff:198.51.100.9]:12345": "198.51.100.0:12345",
	} {
		if got := string(a.AppendAddrPort(nil, netip.MustParseAddrPort(in))); got != want {
			t.Errorf("%s: got %s, want %s", in, got, want)
		}
	}
	a16 := NewAnonymizer(config.LogAnonymize{Enabled: true, IPv4Mask: 16, IPv6Mask: 32}, nil)
	if got := string(a16.AppendAddr(nil, netip.MustParseAddr("192.0.2.77"))); got != "192.0.0.0" {
		t.Errorf("/16: %s", got)
	}
	var off *Anonymizer
	if got := string(off.AppendAddr(nil, netip.MustParseAddr("192.0.2.77"))); got != "192.0.2.77" {
		t.Errorf("off: %s", got)
	}
	if NewAnonymizer(config.LogAnonymize{}, nil) != nil {
		t.Error("an anonymizer without log-anonymize")
	}
}

func TestHashRotation(t *testing.T) {
	now := time.Date(2026, 5, 1, 0, 0, 1, 0, time.UTC)
	a := NewAnonymizer(config.LogAnonymize{Enabled: true, Hash: true, KeyRotation: 24 * time.Hour}, func() time.Time { return now })
	ip := netip.MustParseAddr("192.0.2.77")
	other := netip.MustParseAddr("192.0.2.78")
	h1 := string(a.AppendAddr(nil, ip))
	if !strings.HasPrefix(h1, "h") || len(h1) != 1+hashLen || strings.Contains(h1, "192") {
		t.Fatalf("hash %q", h1)
	}
	now = now.Add(23 * time.Hour) // same day
	if h := string(a.AppendAddr(nil, ip)); h != h1 {
		t.Errorf("hash changed within the day: %s then %s", h1, h)
	}
	if h := string(a.AppendAddr(nil, other)); h == h1 {
		t.Errorf("two addresses share hash %s", h)
	}
	now = now.Add(2 * time.Hour) // the next day
	h2 := string(a.AppendAddr(nil, ip))
	if h2 == h1 {
		t.Errorf("hash did not change across days: %s", h1)
	}
	if h := string(a.AppendAddr(nil, ip)); h != h2 {
		t.Errorf("hash unstable in the new day: %s then %s", h2, h)
	}
	// Two processes (or restarts) never share a key.
	b := NewAnonymizer(config.LogAnonymize{Enabled: true, Hash: true, KeyRotation: 24 * time.Hour}, func() time.Time { return now })
	if h := string(b.AppendAddr(nil, ip)); h == h2 {
		t.Error("two anonymizers gave the same hash: the key is not random")
	}
	if got := string(a.AppendAddrPort(nil, netip.AddrPortFrom(ip, 80))); got != h2+":80" {
		t.Errorf("with port: %s", got)
	}
}

func TestScrub(t *testing.T) {
	a := NewAnonymizer(config.LogAnonymize{Enabled: true, IPv4Mask: 24, IPv6Mask: 48}, nil)
	for in, want := range map[string]string{
		"frontend www: client 192.0.2.77:40000: 408: timeout": "frontend www: client 192.0.2.0:40000: 408: timeout",
		"from 192.0.2.77.":                          "from 192.0.2.0.",
		"client:10.1.2.3 and [2001:db8:1:2::9]:443": "client:10.1.2.0 and [2001:db8:1::]:443",
		"face:10.1.2.3":                             "face:10.1.2.0",
		"at 12:14:14.655 nothing":                   "at 12:14:14.655 nothing",
		"version 1.2.3 build abc1.2.3.4":            "version 1.2.3 build abc1.2.3.4",
		"10.0.0.1abc":                               "10.0.0.1abc",
		"2001:db8::1":                               "2001:db8::",
		"":                                          "",
	} {
		if got := a.Scrub(in); got != want {
			t.Errorf("Scrub(%q) = %q, want %q", in, got, want)
		}
	}
	var off *Anonymizer
	if got := off.Scrub("client 192.0.2.77"); got != "client 192.0.2.77" {
		t.Errorf("off: %q", got)
	}
}

// FuzzScrub: Scrub never panics, is idempotent when truncating, and leaves
// no address of the input standing when hashing.
func FuzzScrub(f *testing.F) {
	for _, s := range []string{"client 192.0.2.77:40000", "[2001:db8::1]:80", "a:1.2.3.4:5", "::ffff:1.2.3.4", "12:14:14", "1.2.3.4.5.6"} {
		f.Add(s)
	}
	trunc := NewAnonymizer(config.LogAnonymize{Enabled: true, IPv4Mask: 24, IPv6Mask: 48}, nil)
	hash := NewAnonymizer(config.LogAnonymize{Enabled: true, Hash: true, KeyRotation: time.Hour}, nil)
	f.Fuzz(func(t *testing.T, s string) {
		once := trunc.Scrub(s)
		if twice := trunc.Scrub(once); twice != once {
			t.Errorf("not idempotent: %q -> %q -> %q", s, once, twice)
		}
		h := hash.Scrub(s)
		if h2 := hash.Scrub(h); h2 != h {
			t.Errorf("hash output rescrubbed: %q -> %q -> %q", s, h, h2)
		}
	})
}
