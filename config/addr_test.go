package config

import (
	"strconv"
	"strings"
	"testing"
)

func TestFDAddr(t *testing.T) {
	tests := []struct {
		in      string
		fd      int
		isFD    bool
		wantErr string
	}{
		{in: "fd@3", fd: 3, isFD: true},
		{in: "fd@0", isFD: true, wantErr: "descriptor 0 is standard input"},
		{in: "fd@2", isFD: true, wantErr: "descriptor 2 is standard error"},
		{in: "fd@00", isFD: true, wantErr: "descriptor 0 is standard input"},
		{in: "fd@007", fd: 7, isFD: true},
		{in: "127.0.0.1:80"},
		{in: "/run/fjord.sock"},
		{in: "unix@fd@3"}, // a path that happens to contain fd@
		{in: "fd@", isFD: true, wantErr: "expects a descriptor number"},
		{in: "fd@-1", isFD: true, wantErr: "not a descriptor number"},
		{in: "fd@ 3", isFD: true, wantErr: "not a descriptor number"},
		{in: "fd@3 ", isFD: true, wantErr: "not a descriptor number"},
		{in: "fd@0x3", isFD: true, wantErr: "not a descriptor number"},
		{in: "fd@1073741824", isFD: true, wantErr: "out of range"},
		{in: "sockpair@3", wantErr: "sockpair@ addresses are not supported"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			fd, isFD, err := parseFDAddr(tc.in)
			if isFD != tc.isFD {
				t.Errorf("isFD = %v, want %v", isFD, tc.isFD)
			}
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want one saying %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || fd != tc.fd {
				t.Fatalf("= %d, %v; want %d", fd, err, tc.fd)
			}
		})
	}
}

// FuzzFDAddr: whatever parseFDAddr accepts as fd@N is a descriptor in
// range that reads back the same; what it does not take for one is
// neither fd@ nor sockpair@.
func FuzzFDAddr(f *testing.F) {
	for _, s := range []string{"fd@3", "fd@", "fd@${cli}", "sockpair@4", "fd@99999999999999999999", "127.0.0.1:80", "fd@0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		fd, isFD, err := parseFDAddr(s)
		switch {
		case err != nil:
			if !strings.HasPrefix(s, fdPrefix) && !strings.HasPrefix(s, sockpairPrefix) {
				t.Fatalf("%q: refused (%v) though it is neither fd@ nor sockpair@", s, err)
			}
		case isFD:
			if fd < 0 || fd >= maxFD {
				t.Fatalf("%q: descriptor %d out of range", s, fd)
			}
			back, again, err := parseFDAddr("fd@" + strconv.Itoa(fd))
			if err != nil || !again || back != fd {
				t.Fatalf("%q: fd@%d reads back as %d, %v, %v", s, fd, back, again, err)
			}
		default:
			if strings.HasPrefix(s, fdPrefix) || strings.HasPrefix(s, sockpairPrefix) {
				t.Fatalf("%q: not taken for an address with its prefix", s)
			}
		}
	})
}
