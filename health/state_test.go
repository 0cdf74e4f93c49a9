package health

import (
	"testing"
	"time"
)

func TestTracker(t *testing.T) {
	for _, tc := range []struct {
		name       string
		rise, fall int
		steps      string // s: success, f: failure
		want       string // state after each step: U up, D down
	}{
		{"starts up, falls at the first failure", 2, 3, "f", "D"},
		{"one success is not yet stable", 2, 3, "sff", "UUD"},
		{"a stable server needs fall failures", 2, 3, "ssffff", "UUUUDD"},
		{"a down server needs rise successes", 2, 3, "fss", "DDU"},
		{"a success in between resets nothing but one step", 2, 3, "ssffsfff", "UUUUUUDD"},
		{"rise 1 fall 1", 1, 1, "fsfs", "DUDU"},
		{"seed: rise 2 fall 3, down then back", 2, 3, "sssfffss", "UUUUUDDU"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr := newTracker(tc.rise, tc.fall)
			got := ""
			for _, c := range tc.steps {
				if c == 's' {
					tr.success()
				} else {
					tr.failure()
				}
				if tr.up {
					got += "U"
				} else {
					got += "D"
				}
			}
			if got != tc.want {
				t.Fatalf("steps %s: got %s, want %s", tc.steps, got, tc.want)
			}
		})
	}
}

func TestTrackerTransitionsReported(t *testing.T) {
	tr := newTracker(2, 3)
	tr.success()
	tr.success() // health at its top: stable now
	for i := 1; i < 3; i++ {
		if tr.failure() {
			t.Fatalf("down after %d failures, fall is 3", i)
		}
	}
	if !tr.failure() {
		t.Fatal("third failure did not report the fall")
	}
	if tr.success() {
		t.Fatal("up after one success with rise 2")
	}
	if !tr.success() {
		t.Fatal("second success did not report the rise")
	}
}

func TestOnErrorActions(t *testing.T) {
	tr := newTracker(2, 3)
	tr.success()
	tr.suddenDeath()
	if !tr.up || !tr.failure() {
		t.Fatal("sudden-death: one failure must take the server down")
	}
	tr = newTracker(2, 3)
	if !tr.markDown() || tr.up {
		t.Fatal("mark-down did not take the server down")
	}
}

func TestIntervals(t *testing.T) {
	iv := intervals{inter: 2 * time.Second, fast: 500 * time.Millisecond, down: 5 * time.Second}
	tr := newTracker(2, 3)
	tr.success()
	tr.success() // health at its top: stable
	if got := iv.next(&tr); got != iv.inter {
		t.Fatalf("stable up: %v", got)
	}
	tr.failure()
	if got := iv.next(&tr); got != iv.fast {
		t.Fatalf("going down: %v", got)
	}
	tr.failure()
	tr.failure()
	if got := iv.next(&tr); got != iv.down {
		t.Fatalf("down: %v", got)
	}
	tr.success()
	if got := iv.next(&tr); got != iv.fast {
		t.Fatalf("going up: %v", got)
	}
}
