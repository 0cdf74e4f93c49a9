package stick

// FreqCtr is HAProxy's period frequency counter (struct freq_ctr): events
// counted in the current period, the count of the previous one, and the
// tick the current period began at. Reading it weights the previous
// period's count by how much of it still lies within one period of now,
// which approximates a sliding window with two integers.
//
// The arithmetic is HAProxy 2.6's freq_ctr.h and freq_ctr.c, step for step,
// in 32-bit wrapping ticks (milliseconds), so the same events at the same
// ticks give the same rates. HAProxy's counters are updated lock-free with
// the tick's low bit as a rotation lock, and the tick it stores is therefore
// always even; fjord's are updated under their shard's lock but keep the
// cleared low bit, because it shifts period boundaries by a millisecond and
// so changes results.
//
// The zero FreqCtr is a counter that saw no events, as HAProxy's zeroed
// entries are.
type FreqCtr struct {
	CurrTick uint32 // start of the current period, low bit always clear
	CurrCtr  uint32 // events in the current period
	PrevCtr  uint32 // events in the previous period
}

// Update adds inc events at tick now to a counter measured over period
// ticks, as update_freq_ctr_period does, and returns the current period's
// count.
func (f *FreqCtr) Update(now, period, inc uint32) uint32 {
	// Still within the current period: count. The subtraction wraps, so
	// this holds across the 32-bit tick wrap as in C.
	if now-f.CurrTick < period {
		f.CurrCtr += inc
		return f.CurrCtr
	}
	// Rotate: the current period becomes the previous one.
	f.PrevCtr = f.CurrCtr
	f.CurrCtr = inc
	tick := f.CurrTick + period
	if now-tick >= period {
		// At least two periods were missed: nothing of them is recent.
		f.PrevCtr = 0
		tick = now
	}
	f.CurrTick = tick &^ 1
	return inc
}

// total is freq_ctr_total: the events over the current and previous
// periods, in units of 1/period events, with pend events assumed pending.
// pend < 0 asks for HAProxy's "flapping correction", which reports a lone
// event of the previous period as a full one instead of a fading fraction.
func (f *FreqCtr) total(now, period uint32, pend int32) uint64 {
	curr := uint64(f.CurrCtr)
	past := uint64(f.PrevCtr)
	// C: int remain = tick + period - global_now_ms, in unsigned
	// arithmetic converted to int.
	remain := int32(f.CurrTick + period - now)
	if remain < 0 {
		// Past the current period: the current one has become the
		// previous, if it is less than a period old.
		remain = int32(uint32(remain) + period)
		if remain >= 0 {
			past = curr
		} else {
			past = 0
		}
		curr = 0
	}
	if pend < 0 {
		pend = 0
		if curr == 0 && past <= 1 {
			return past * uint64(period)
		}
	}
	// remain is >= 0 here unless past is 0; C converts it to unsigned
	// long long, and so does Go, sign extension included.
	return past*uint64(int64(remain)) + (curr+uint64(pend))*uint64(period)
}

// Read returns the events per period at tick now, as read_freq_ctr_period
// does: the total divided by the period, rounded down.
func (f *FreqCtr) Read(now, period uint32) uint32 {
	if period == 0 {
		return 0 // HAProxy never has a zero period; ParsePeriod refuses it
	}
	return uint32(f.total(now, period, -1) / uint64(period))
}

// Remain returns how many more events may happen within period at tick now
// before freq per period is reached, pend events being already pending, as
// freq_ctr_remain_period does.
func (f *FreqCtr) Remain(now, period, freq uint32, pend int32) uint32 {
	if period == 0 {
		return 0
	}
	if pend < 0 {
		pend = 0 // HAProxy's callers never pass a negative pend here
	}
	avg := uint32(f.total(now, period, pend) / uint64(period))
	if avg > freq {
		avg = freq
	}
	return freq - avg
}

// SWRateAdd adds sample v to the sliding-window sum *sum of n samples, as
// swrate_add does: the sum loses its average (rounded up) and gains v, in
// wrapping 32-bit arithmetic. HAProxy uses it for queue and response time
// averages; it is here so fjord's averages are HAProxy's too. n = 0 is
// swrate_add_dynamic's case: nothing is taken off.
func SWRateAdd(sum *uint32, n, v uint32) uint32 {
	if n == 0 {
		*sum += v
		return *sum
	}
	*sum = *sum - (*sum+n-1)/n + v
	return *sum
}

// SWRateAvg returns the average sample of sliding-window sum sum over n
// samples, rounded up, as swrate_avg does; 0 when n is 0.
func SWRateAvg(sum, n uint32) uint32 {
	if n == 0 {
		return 0
	}
	return (sum + n - 1) / n
}
