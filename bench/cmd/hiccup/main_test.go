package main

import (
	"strings"
	"testing"
	"time"
)

// TestWatchFindsGapsAboveTheThreshold drives watch with a clock that
// steps 1 ms, then jumps 100 ms once and 3 ms once.
func TestWatchFindsGapsAboveTheThreshold(t *testing.T) {
	base := time.Unix(0, 0)
	steps := []time.Duration{0, 1, 2, 102, 103, 106, 107, 300}
	i := 0
	now := func() time.Time {
		t := base.Add(steps[i] * time.Millisecond)
		i++
		return t
	}
	hs := watch(now, 300*time.Millisecond, 2*time.Millisecond)
	want := []hiccup{{102 * time.Millisecond, 100 * time.Millisecond}, {106 * time.Millisecond, 3 * time.Millisecond}, {300 * time.Millisecond, 193 * time.Millisecond}}
	if len(hs) != len(want) {
		t.Fatalf("gaps %v, want %v", hs, want)
	}
	for j := range want {
		if hs[j] != want[j] {
			t.Errorf("gap %d: %v, want %v", j, hs[j], want[j])
		}
	}
	var b strings.Builder
	report(&b, hs)
	if !strings.Contains(b.String(), "3 gaps, 296ms in all, the longest 193ms") {
		t.Errorf("report:\n%s", b.String())
	}
}
