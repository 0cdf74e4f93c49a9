package config

import (
	"fmt"
	"strconv"
	"strings"
)

// version is a HAProxy version split the way HAProxy's split_version
// (src/haproxy.c) does, so that versions order as HAProxy orders them:
// major, minor, patch, sub-patch, release stage (1 dev, 2 pre or rc, 3 a
// release), stage number, and a commit count. Missing numbers are zero, so
// 2.5 and 2.5.0 are the same version, and 2.5-dev0 < 2.5-rc1 < 2.5.
type version [7]uint64

const (
	stageDev     = 1
	stageRC      = 2 // "rc" and "pre"
	stageRelease = 3
)

// parseVersion reads <a>[.<b>[.<c>[.<d>]]][-{dev,pre,rc}<f>][-*][-<g>],
// the syntax 'haproxy -v' shows: 1.5-dev18-43, 2.4-dev18-f6818d-20,
// 2.6.0. Where HAProxy's strtol-based parser lets a malformed version
// through (" 2.5", "2.", "2.5-"), this refuses it: a condition that
// compares with a version nobody can have is a mistake to report.
func parseVersion(s string) (version, error) {
	v := version{4: stageRelease}
	bad := func(why string) (version, error) {
		return version{}, fmt.Errorf("'%s' is not a version (%s; versions look like 2.6, 2.5-dev3 or 2.4.18)", s, why)
	}
	rest := s
	for i := 0; ; i++ {
		end := strings.IndexAny(rest, ".-")
		num := rest
		if end >= 0 {
			num = rest[:end]
		}
		n, err := versionNumber(num)
		if err != nil {
			return bad(err.Error())
		}
		v[i] = n
		if end < 0 {
			return v, nil
		}
		sep := rest[end]
		rest = rest[end+1:]
		if sep == '-' {
			break
		}
		if i == 3 {
			return bad("at most four numbers before the '-'")
		}
	}
	// After the first '-': a stage (dev, pre, rc) and its number, then
	// anything up to the last '-', whose number is a commit count.
	switch {
	case rest == "":
		return bad("nothing after '-'")
	case rest[0] >= '0' && rest[0] <= '9':
	default:
		for _, st := range []struct {
			name  string
			stage uint64
		}{{"dev", stageDev}, {"rc", stageRC}, {"pre", stageRC}} {
			if !strings.HasPrefix(rest, st.name) {
				continue
			}
			v[4] = st.stage
			rest = rest[len(st.name):]
			num, after, more := strings.Cut(rest, "-")
			n := uint64(0)
			if num != "" { // "2.5-dev" is dev0, as in HAProxy
				var err error
				if n, err = versionNumber(num); err != nil {
					return bad(st.name + " " + err.Error())
				}
			}
			v[5] = n
			if !more {
				return v, nil
			}
			rest = after
			break
		}
	}
	if i := strings.LastIndexByte(rest, '-'); i >= 0 {
		rest = rest[i+1:]
	}
	if rest == "" {
		return bad("nothing after the last '-'")
	}
	// A commit part that is not a number (a hash, a distribution's
	// suffix) counts as zero, as in HAProxy.
	if n, err := versionNumber(rest); err == nil {
		v[6] = n
	}
	return v, nil
}

func versionNumber(s string) (uint64, error) {
	if s == "" {
		return 0, fmt.Errorf("a number is missing")
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, fmt.Errorf("'%s' is not a number", s)
		}
	}
	n, err := strconv.ParseUint(s, 10, 32)
	if err != nil {
		return 0, fmt.Errorf("'%s' is too large", s)
	}
	return n, nil
}

// compare returns -1, 0 or 1 as v is older than, the same as, or newer
// than w.
func (v version) compare(w version) int {
	for i := range v {
		switch {
		case v[i] < w[i]:
			return -1
		case v[i] > w[i]:
			return 1
		}
	}
	return 0
}

// currentVersion is HAProxyVersion, split. It is checked by a test, so
// that a bad HAProxyVersion cannot make every comparison wrong.
var currentVersion, _ = parseVersion(HAProxyVersion)
