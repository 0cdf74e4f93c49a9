package engine

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// wheelRecorder builds timer entries whose firing is recorded in order.
type wheelRecorder struct {
	w     *timerWheel
	fired []string
	at    map[string]time.Time // when each entry fired
}

func newWheelRecorder(base time.Time) *wheelRecorder {
	return &wheelRecorder{w: newTimerWheel(base), at: map[string]time.Time{}}
}

func (r *wheelRecorder) entry(name string) *timerEntry {
	e := &timerEntry{}
	e.fire = func(now time.Time) {
		r.fired = append(r.fired, name)
		r.at[name] = now
	}
	return e
}

// take returns the names fired since the last call.
func (r *wheelRecorder) take() []string {
	f := r.fired
	r.fired = nil
	return f
}

var wheelBase = time.Unix(1_000_000, 0)

func ms(n int) time.Time { return wheelBase.Add(time.Duration(n) * time.Millisecond) }

func TestTimerWheelFireOrder(t *testing.T) {
	r := newWheelRecorder(wheelBase)
	a, b, c := r.entry("a"), r.entry("b"), r.entry("c")
	r.w.schedule(a, ms(30))
	r.w.schedule(b, ms(10))
	r.w.schedule(c, ms(20))
	if r.w.count != 3 {
		t.Fatalf("count = %d, want 3", r.w.count)
	}

	// Nothing fires before its deadline.
	r.w.advance(ms(9))
	if got := r.take(); len(got) != 0 {
		t.Fatalf("fired before any deadline: %v", got)
	}
	// Each entry fires no later than one tick after its deadline, in
	// deadline order.
	r.w.advance(ms(10).Add(2 * wheelTick))
	if got := r.take(); !slices.Equal(got, []string{"b"}) {
		t.Fatalf("after b's deadline fired %v, want [b]", got)
	}
	r.w.advance(ms(30).Add(2 * wheelTick))
	if got := r.take(); !slices.Equal(got, []string{"c", "a"}) {
		t.Fatalf("after a's deadline fired %v, want [c a]", got)
	}
	if r.w.count != 0 || a.linked || b.linked || c.linked {
		t.Fatalf("entries still linked after firing: count %d", r.w.count)
	}
	for name, deadline := range map[string]time.Time{"a": ms(30), "b": ms(10), "c": ms(20)} {
		if r.at[name].Before(deadline) {
			t.Errorf("%s fired at %v, before its deadline %v", name, r.at[name].Sub(wheelBase), deadline.Sub(wheelBase))
		}
	}
}

func TestTimerWheelOneAdvanceFiresInOrder(t *testing.T) {
	r := newWheelRecorder(wheelBase)
	// Deadlines scheduled out of order, two sharing a tick (those keep
	// their scheduling order).
	for i, d := range []int{47, 3, 250, 18, 19, 120, 999} {
		r.w.schedule(r.entry(fmt.Sprintf("e%d", i)), ms(d))
	}
	want := []string{"e1", "e3", "e4", "e0", "e5", "e2", "e6"}
	r.w.advance(ms(2000))
	if got := r.take(); !slices.Equal(got, want) {
		t.Fatalf("fired %v, want %v", got, want)
	}
}

func TestTimerWheelCancel(t *testing.T) {
	r := newWheelRecorder(wheelBase)
	a, b := r.entry("a"), r.entry("b")

	// Cancelling an entry that was never scheduled is a no-op.
	r.w.cancel(a)
	if r.w.count != 0 || a.linked {
		t.Fatalf("cancel of an unlinked entry changed the wheel: count %d", r.w.count)
	}

	r.w.schedule(a, ms(50))
	r.w.schedule(b, ms(50))
	r.w.cancel(a)
	r.w.cancel(a) // twice: still a no-op
	if r.w.count != 1 || a.linked || !b.linked {
		t.Fatalf("after cancel: count %d, a linked %v, b linked %v", r.w.count, a.linked, b.linked)
	}
	r.w.advance(ms(500))
	if got := r.take(); !slices.Equal(got, []string{"b"}) {
		t.Fatalf("fired %v, want [b]", got)
	}
	// Cancel after firing is a no-op too.
	r.w.cancel(b)
	if r.w.count != 0 {
		t.Fatalf("count = %d after cancelling a fired entry", r.w.count)
	}
}

func TestTimerWheelReschedule(t *testing.T) {
	r := newWheelRecorder(wheelBase)
	a := r.entry("a")
	r.w.schedule(a, ms(400))
	r.w.schedule(a, ms(40)) // earlier: replaces the first schedule
	if r.w.count != 1 {
		t.Fatalf("count = %d after rescheduling, want 1", r.w.count)
	}
	r.w.advance(ms(100))
	if got := r.take(); !slices.Equal(got, []string{"a"}) {
		t.Fatalf("fired %v, want [a]", got)
	}
	r.w.advance(ms(1000))
	if got := r.take(); len(got) != 0 {
		t.Fatalf("a fired again at its old deadline: %v", got)
	}

	// A deadline in the past fires at the next advance.
	r.w.schedule(a, ms(10))
	if a.at <= r.w.cur {
		t.Fatalf("entry scheduled in the past at tick %d, not after the current tick %d", a.at, r.w.cur)
	}
	r.w.advance(ms(1000).Add(wheelTick))
	if got := r.take(); !slices.Equal(got, []string{"a"}) {
		t.Fatalf("past deadline: fired %v, want [a]", got)
	}
}

// An entry that reschedules itself from its callback fires once per
// advance, not in a loop.
func TestTimerWheelRescheduleFromFire(t *testing.T) {
	w := newTimerWheel(wheelBase)
	n := 0
	e := &timerEntry{}
	e.fire = func(now time.Time) {
		n++
		w.schedule(e, now) // due "now" again
	}
	w.schedule(e, ms(10))
	w.advance(ms(100))
	if n != 1 {
		t.Fatalf("fired %d times in one advance, want 1", n)
	}
	w.advance(ms(100).Add(wheelTick))
	if n != 2 {
		t.Fatalf("fired %d times after the next tick, want 2", n)
	}
	w.cancel(e)
}

func TestTimerWheelBeyondOneRound(t *testing.T) {
	round := wheelSlots * wheelTick
	r := newWheelRecorder(wheelBase)
	near, far, farther := r.entry("near"), r.entry("far"), r.entry("farther")
	r.w.schedule(near, wheelBase.Add(10*wheelTick))
	r.w.schedule(far, wheelBase.Add(round+10*wheelTick)) // same slot as near, next round
	r.w.schedule(farther, wheelBase.Add(3*round+round/2))

	// Step through the first round tick by tick-ish: only near fires, far
	// shares its slot but is one round later.
	for at := wheelBase; at.Before(wheelBase.Add(round)); at = at.Add(7 * wheelTick) {
		r.w.advance(at)
	}
	if got := r.take(); !slices.Equal(got, []string{"near"}) {
		t.Fatalf("first round fired %v, want [near]", got)
	}
	r.w.advance(wheelBase.Add(round + 9*wheelTick))
	if got := r.take(); len(got) != 0 {
		t.Fatalf("fired %v before far's deadline", got)
	}
	r.w.advance(wheelBase.Add(round + 12*wheelTick))
	if got := r.take(); !slices.Equal(got, []string{"far"}) {
		t.Fatalf("second round fired %v, want [far]", got)
	}

	// One jump of more than a round (the loop slept long) visits every
	// slot once and fires only what is due.
	r.w.advance(wheelBase.Add(3 * round))
	if got := r.take(); len(got) != 0 {
		t.Fatalf("jump to round 3 fired %v, want nothing", got)
	}
	r.w.advance(wheelBase.Add(5*round + 3*wheelTick))
	if got := r.take(); !slices.Equal(got, []string{"farther"}) {
		t.Fatalf("jump past round 3.5 fired %v, want [farther]", got)
	}
	if r.w.count != 0 {
		t.Fatalf("count = %d, want 0", r.w.count)
	}
	if r.at["farther"].Before(wheelBase.Add(3*round + round/2)) {
		t.Fatalf("farther fired before its deadline")
	}
}

func TestTimerWheelTimeout(t *testing.T) {
	w := newTimerWheel(wheelBase)
	if got := w.timeout(wheelBase); got != -1 {
		t.Fatalf("empty wheel: timeout = %d, want -1", got)
	}
	e := &timerEntry{fire: func(time.Time) {}}

	// bound is how long epoll_wait may sleep at most without missing the
	// entry: until the tick it fires at, and never negative.
	bound := func(now time.Time) int {
		due := wheelBase.Add(time.Duration(e.at) * wheelTick)
		d := due.Sub(now)
		if d < 0 {
			return 0
		}
		return int((d + time.Millisecond - 1) / time.Millisecond)
	}
	check := func(what string, now time.Time) {
		t.Helper()
		got := w.timeout(now)
		if got < 0 || got > bound(now) {
			t.Fatalf("%s: timeout = %d ms, want 0..%d", what, got, bound(now))
		}
	}

	w.schedule(e, ms(100))
	check("100 ms ahead", wheelBase)
	if got := w.timeout(wheelBase); got < 50 {
		t.Fatalf("100 ms ahead: timeout = %d ms, a needless busy wake-up", got)
	}
	check("a little later", ms(37))

	// The entry is due but advance has not run yet (time moved on between
	// the last advance and this epoll_wait): do not sleep.
	check("due, not yet advanced", ms(107))
	check("overdue by several ticks", ms(160))
	w.advance(ms(200))
	if w.count != 0 {
		t.Fatalf("entry did not fire")
	}
	if got := w.timeout(ms(200)); got != -1 {
		t.Fatalf("emptied wheel: timeout = %d, want -1", got)
	}

	// Far ahead (several rounds): a bound no later than the deadline, and
	// positive.
	w.schedule(e, wheelBase.Add(3*wheelSlots*wheelTick))
	check("three rounds ahead", ms(200))
	if got := w.timeout(ms(200)); got <= 0 {
		t.Fatalf("three rounds ahead: timeout = %d, want > 0", got)
	}
	w.cancel(e)
	if got := w.timeout(ms(200)); got != -1 {
		t.Fatalf("after cancel: timeout = %d, want -1", got)
	}
}

// TestTimerWheelTimeoutHint checks timeout, which starts its scan at the
// wheel's remembered next tick, against a scan of every slot, through
// random schedules, cancels and advances (deadlines up to several rounds
// away).
func TestTimerWheelTimeoutHint(t *testing.T) {
	base := time.Unix(1000, 0)
	w := newTimerWheel(base)
	rng := rand.New(rand.NewPCG(1, 2))
	entries := make([]timerEntry, 64)
	for i := range entries {
		entries[i].fire = func(time.Time) {}
	}
	full := func(now time.Time) int {
		if w.count == 0 {
			return -1
		}
		for tk := w.cur + 1; tk <= w.cur+wheelSlots; tk++ {
			if head := &w.slots[tk%wheelSlots]; head.next != head {
				d := w.base.Add(time.Duration(tk) * wheelTick).Sub(now)
				if d <= 0 {
					return 0
				}
				return int((d + time.Millisecond - 1) / time.Millisecond)
			}
		}
		return int(wheelTick / time.Millisecond)
	}
	now := base
	for i := 0; i < 20000; i++ {
		e := &entries[rng.IntN(len(entries))]
		switch rng.IntN(4) {
		case 0, 1:
			w.schedule(e, now.Add(time.Duration(rng.Int64N(int64(3*wheelSlots*wheelTick)))))
		case 2:
			w.cancel(e)
		case 3:
			now = now.Add(time.Duration(rng.Int64N(int64(wheelSlots * wheelTick / 8))))
			w.advance(now)
		}
		if got, want := w.timeout(now), full(now); got != want {
			t.Fatalf("step %d: timeout %d, full scan %d", i, got, want)
		}
	}
}
