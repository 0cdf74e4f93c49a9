package engine

import "time"

// The timer wheel: one per loop, driven by epoll_wait's timeout. Each
// session owns one timer entry; deadlines are checked lazily when an entry
// fires, so that traffic, which pushes deadlines later, never touches the
// wheel. Only a deadline moving earlier re-links the entry.
const (
	wheelTick  = 5 * time.Millisecond
	wheelSlots = 1024 // one round is about 5 s
)

type timerEntry struct {
	prev, next *timerEntry
	at         int64 // tick at which the entry fires
	linked     bool
	fire       func(now time.Time)
}

type timerWheel struct {
	base  time.Time
	cur   int64 // last tick processed
	slots [wheelSlots]timerEntry
	count int
	// next is a lower bound of the first tick after cur whose slot holds
	// an entry, so that timeout, called before every epoll_wait, need not
	// scan the empty slots again (a session's timer is often a whole
	// round of slots away).
	next int64
}

func newTimerWheel(now time.Time) *timerWheel {
	w := &timerWheel{base: now}
	for i := range w.slots {
		s := &w.slots[i]
		s.next, s.prev = s, s
	}
	return w
}

func (w *timerWheel) tickOf(t time.Time) int64 {
	return int64(t.Sub(w.base) / wheelTick)
}

// schedule arms e to fire at t (rounded up to the next tick), replacing any
// earlier schedule.
func (w *timerWheel) schedule(e *timerEntry, t time.Time) {
	w.cancel(e)
	at := w.tickOf(t) + 1
	if at <= w.cur {
		at = w.cur + 1
	}
	e.at = at
	head := &w.slots[at%wheelSlots]
	e.prev, e.next = head.prev, head
	head.prev.next = e
	head.prev = e
	e.linked = true
	w.count++
	// The entry's slot comes up next at the first tick after cur that
	// maps to it (at itself or an earlier round).
	if first := w.cur + 1 + (at-w.cur-1)%wheelSlots; first < w.next {
		w.next = first
	}
}

func (w *timerWheel) cancel(e *timerEntry) {
	if !e.linked {
		return
	}
	e.prev.next = e.next
	e.next.prev = e.prev
	e.prev, e.next, e.linked = nil, nil, false
	w.count--
}

// advance fires every entry due at or before now.
func (w *timerWheel) advance(now time.Time) {
	target := w.tickOf(now)
	if target <= w.cur {
		return
	}
	from := w.cur + 1
	if target-from >= wheelSlots {
		from = target - wheelSlots + 1 // every slot is visited once
	}
	w.cur = target
	for t := from; t <= target; t++ {
		head := &w.slots[t%wheelSlots]
		for e := head.next; e != head; {
			next := e.next
			if e.at <= target {
				w.cancel(e)
				e.fire(now)
			}
			e = next
		}
	}
}

// timeout returns how long epoll_wait may sleep before the next entry is
// due, or -1 when nothing is scheduled.
func (w *timerWheel) timeout(now time.Time) int {
	if w.count == 0 {
		return -1
	}
	// Scan from the first tick advance has not processed, not from now's
	// tick: an entry that fell due since the last advance (time moved on
	// while events were handled) must wake the loop at once, not be taken
	// for an entry of the next round.
	for t := max(w.cur+1, w.next); t <= w.cur+wheelSlots; t++ {
		head := &w.slots[t%wheelSlots]
		if head.next != head {
			w.next = t
			d := w.base.Add(time.Duration(t) * wheelTick).Sub(now)
			if d <= 0 {
				return 0
			}
			return int((d + time.Millisecond - 1) / time.Millisecond)
		}
	}
	return int(wheelTick / time.Millisecond)
}
