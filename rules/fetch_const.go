package rules

import (
	"math/rand/v2"
	"time"

	"github.com/fjordlb/fjord/config"
)

// The fetches of the process's environment, time and chance: env, date
// and rand (HAProxy's src/sample.c).

func init() {
	// env(name): HAProxy calls getenv at each evaluation; fjord reads
	// the variable once, with the configuration, from the environment
	// "$NAME" reads there. The process's environment does not change
	// afterwards (fjord has no setenv directive), so the value is the
	// same, without a lookup per request.
	fetchFns["env"] = func(_ *Txn, a []config.Arg, _ *iter) (Value, bool) {
		return strValue(strBytes(a[0].Env)), a[0].EnvSet
	}
	// date([offset[,unit]]): the time since the epoch in seconds, ms or
	// us, plus offset in that unit.
	fetchFns["date"] = func(t *Txn, a []config.Arg, _ *iter) (Value, bool) {
		now := t.Now
		if now.IsZero() {
			now = time.Now()
		}
		n := now.Unix()
		if len(a) > 1 {
			switch a[1].Str {
			case "ms":
				n = n*1000 + int64(now.Nanosecond()/1e6)
			case "us":
				n = n*1e6 + int64(now.Nanosecond()/1e3)
			}
		}
		if len(a) > 0 {
			n += a[0].Int
		}
		return intValue(n), true
	}
	// rand([range]): a random 32-bit integer, or one from 0 to range-1
	// as HAProxy reduces it: (r * range) >> 32, with range read as
	// unsigned.
	fetchFns["rand"] = func(_ *Txn, a []config.Arg, _ *iter) (Value, bool) {
		r := uint64(rand.Uint32())
		if len(a) > 0 {
			r = r * uint64(a[0].Int) >> 32
		}
		return intValue(int64(r)), true
	}
}
