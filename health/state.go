package health

import "time"

// tracker is HAProxy's rise/fall bookkeeping for one server, without
// clocks or sockets so that it can be tested on its own. health runs from
// 0 to rise+fall-1; the server is UP while health >= rise. A server starts
// UP with health == rise: "up, but will fall at the first failure", as in
// HAProxy, so that a dead server at startup is found after one check.
type tracker struct {
	rise, fall int
	health     int
	up         bool
}

func newTracker(rise, fall int) tracker {
	rise, fall = max(rise, 1), max(fall, 1)
	return tracker{rise: rise, fall: fall, health: rise, up: true}
}

// success records a passed check and reports whether the server just
// went UP.
func (t *tracker) success() bool {
	top := t.rise + t.fall - 1
	if t.health < top {
		t.health++
	}
	if !t.up && t.health >= t.rise {
		t.up = true
		t.health = top
		return true
	}
	return false
}

// failure records a failed check and reports whether the server just went
// DOWN.
func (t *tracker) failure() bool {
	if t.health > 0 {
		t.health--
	}
	if t.up && t.health < t.rise {
		t.up = false
		t.health = 0
		return true
	}
	return false
}

// suddenDeath leaves an UP server one failure away from DOWN
// ("on-error sudden-death").
func (t *tracker) suddenDeath() {
	if t.up {
		t.health = t.rise
	}
}

// markDown takes the server DOWN at once ("on-error mark-down") and
// reports whether it was UP.
func (t *tracker) markDown() bool {
	was := t.up
	t.up, t.health = false, 0
	return was
}

// transitional reports a server on its way up or down, which HAProxy
// checks at "fastinter".
func (t *tracker) transitional() bool {
	if t.up {
		return t.health < t.rise+t.fall-1
	}
	return t.health > 0
}

// intervals are a server's check periods (HAProxy's inter, fastinter,
// downinter; the latter two default to inter).
type intervals struct {
	inter, fast, down time.Duration
}

// next is the period until the next check.
func (iv intervals) next(t *tracker) time.Duration {
	switch {
	case t.transitional():
		return iv.fast
	case !t.up:
		return iv.down
	}
	return iv.inter
}
