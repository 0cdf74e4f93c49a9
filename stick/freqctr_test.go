package stick

import "testing"

// The worked examples below follow freq_ctr.h's update_freq_ctr_period and
// freq_ctr.c's freq_ctr_total by hand, with a 10 s period (10000 ticks).

func TestFreqCtrUpdate(t *testing.T) {
	const p = 10000
	tests := []struct {
		name   string
		period uint32 // p when 0
		from   FreqCtr
		now    uint32
		inc    uint32
		want   FreqCtr
		ret    uint32
	}{
		{
			// now - curr_tick = 100000 >= p: rotate; prev = 0, curr = 1,
			// tick = 0 + p, and now - tick = 90000 >= p: two periods
			// missed, so prev = 0 and tick = now.
			name: "first event starts a period at now",
			from: FreqCtr{}, now: 100000, inc: 1,
			want: FreqCtr{CurrTick: 100000, CurrCtr: 1}, ret: 1,
		},
		{
			// As above but tick = now = 100001, stored & ~1.
			name: "period start keeps its low bit clear",
			from: FreqCtr{}, now: 100001, inc: 1,
			want: FreqCtr{CurrTick: 100000, CurrCtr: 1}, ret: 1,
		},
		{
			// now - tick = 9999 < p: curr += 2.
			name: "within the period counts",
			from: FreqCtr{CurrTick: 100000, CurrCtr: 4}, now: 109999, inc: 2,
			want: FreqCtr{CurrTick: 100000, CurrCtr: 6}, ret: 6,
		},
		{
			// now - tick = 12000 >= p: rotate; prev = 4, curr = 1,
			// tick = 110000, now - tick = 2000 < p: kept.
			name: "next period rotates and keeps the previous count",
			from: FreqCtr{CurrTick: 100000, CurrCtr: 4}, now: 112000, inc: 1,
			want: FreqCtr{CurrTick: 110000, CurrCtr: 1, PrevCtr: 4}, ret: 1,
		},
		{
			// now - tick = 20000 >= p: rotate; tick = 110000 and
			// now - tick = 10000 >= p: prev = 0, tick = now.
			name: "two periods later forgets the past",
			from: FreqCtr{CurrTick: 100000, CurrCtr: 4, PrevCtr: 9}, now: 120000, inc: 3,
			want: FreqCtr{CurrTick: 120000, CurrCtr: 3}, ret: 3,
		},
		{
			// tick = 4294963200 (2^32 - 4096); now = 904 is 5000 ticks
			// later modulo 2^32: now - tick = 5000 < p.
			name: "tick wrap stays within the period",
			from: FreqCtr{CurrTick: 4294963200, CurrCtr: 1}, now: 904, inc: 1,
			want: FreqCtr{CurrTick: 4294963200, CurrCtr: 2}, ret: 2,
		},
		{
			// Odd period 3: rotate at now 7 from tick 2: tick = 5,
			// now - tick = 2 < 3, stored 5 & ~1 = 4.
			name: "odd period boundary loses its low bit", period: 3,
			from: FreqCtr{CurrTick: 2, CurrCtr: 5}, now: 7, inc: 1,
			want: FreqCtr{CurrTick: 4, CurrCtr: 1, PrevCtr: 5}, ret: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			period := tt.period
			if period == 0 {
				period = p
			}
			f := tt.from
			if got := f.Update(tt.now, period, tt.inc); got != tt.ret {
				t.Errorf("Update returned %d, want %d", got, tt.ret)
			}
			if f != tt.want {
				t.Errorf("counter %+v, want %+v", f, tt.want)
			}
		})
	}
}

func TestFreqCtrRead(t *testing.T) {
	const p = 10000
	tests := []struct {
		name string
		f    FreqCtr
		now  uint32
		want uint32
	}{
		// remain = 100000 + p - 100000 = 10000; total = 0*10000 + 1*p.
		{"one event now reads 1", FreqCtr{CurrTick: 100000, CurrCtr: 1}, 100000, 1},
		// remain = 8000; total = 4*8000 + 1*10000 = 42000; 42000/p = 4.
		{"previous period weighs what is left of it", FreqCtr{CurrTick: 110000, CurrCtr: 1, PrevCtr: 4}, 112000, 4},
		// remain = 2000; total = 4*2000 + 1*10000 = 18000 -> 1.
		{"previous period fades", FreqCtr{CurrTick: 110000, CurrCtr: 1, PrevCtr: 4}, 118000, 1},
		// remain = 110000 + p - 125000 = -5000 < 0: + p = 5000 >= 0, so
		// past = curr = 1, curr = 0; flapping correction: curr == 0 and
		// past <= 1 gives past * p, which reads 1.
		{"lone event of the last period reads 1", FreqCtr{CurrTick: 110000, CurrCtr: 1, PrevCtr: 4}, 125000, 1},
		// As above with curr 3: past = 3, total = 3*5000 = 15000 -> 1.
		{"last period's count fades once over", FreqCtr{CurrTick: 110000, CurrCtr: 3, PrevCtr: 4}, 125000, 1},
		// remain = -11000 + p = -1000 < 0: past = 0 -> 0.
		{"two periods later reads 0", FreqCtr{CurrTick: 110000, CurrCtr: 3, PrevCtr: 4}, 131000, 0},
		// remain = 4294963200 + 10000 - 904 modulo 2^32 = 5904 - 904
		// = 5000; total = 0*5000 + 2*p -> 2.
		{"reads across the tick wrap", FreqCtr{CurrTick: 4294963200, CurrCtr: 2}, 904, 2},
		// The zero counter: remain = 0 + p - 50000 < 0, + p still < 0:
		// past = 0, curr = 0 -> 0.
		{"zero counter reads 0", FreqCtr{}, 50000, 0},
		// 25 events in the current period, 30 in the previous, 2500
		// ticks in: remain = 7500; total = 30*7500 + 25*10000 = 475000 -> 47.
		{"sliding window sum", FreqCtr{CurrTick: 200000, CurrCtr: 25, PrevCtr: 30}, 202500, 47},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := tt.f
			if got := f.Read(tt.now, p); got != tt.want {
				t.Errorf("Read = %d, want %d", got, tt.want)
			}
		})
	}
}

func TestFreqCtrRemain(t *testing.T) {
	// curr 8, prev 0 at remain 10000: total with pend 1 = (8+1)*p -> 9
	// events; 10 - 9 = 1 left.
	f := FreqCtr{CurrTick: 1000, CurrCtr: 8}
	if got := f.Remain(1000, 10000, 10, 1); got != 1 {
		t.Errorf("Remain = %d, want 1", got)
	}
	// Over the limit: none left, never negative.
	if got := f.Remain(1000, 10000, 5, 0); got != 0 {
		t.Errorf("Remain over the limit = %d, want 0", got)
	}
}

// TestFreqCtrSequence plays 1 event every 100 ms for 25 s through Update
// and checks Read every second against the same arithmetic recomputed from
// the definition (events in the current period plus the previous period's
// weighted by the time left), so a refactoring that changes a rounding
// fails here.
func TestFreqCtrSequence(t *testing.T) {
	const p = 10000
	var f FreqCtr
	for now := uint32(1000); now <= 26000; now += 100 {
		f.Update(now, p, 1)
		if now%1000 != 0 {
			continue
		}
		remain := uint64(f.CurrTick + p - now)
		want := uint32((uint64(f.PrevCtr)*remain + uint64(f.CurrCtr)*p) / p)
		if got := f.Read(now, p); got != want {
			t.Fatalf("at %d: Read = %d, want %d (%+v)", now, got, want, f)
		}
	}
	// A steady 10 events/s over a 10 s period converges to 100.
	if got := f.Read(26000, p); got < 99 || got > 101 {
		t.Errorf("steady rate reads %d, want about 100", got)
	}
}

func TestSWRate(t *testing.T) {
	// n = 8: 0 - (0+7)/8 + 100 = 100; 100 - 107/8 + 100 = 100 - 13 + 100
	// = 187; the average is (187 + 7)/8 = 24.
	var sum uint32
	if got := SWRateAdd(&sum, 8, 100); got != 100 {
		t.Fatalf("first add = %d, want 100", got)
	}
	if got := SWRateAdd(&sum, 8, 100); got != 187 {
		t.Fatalf("second add = %d, want 187", got)
	}
	if got := SWRateAvg(sum, 8); got != 24 {
		t.Errorf("avg = %d, want 24", got)
	}
	if got := SWRateAvg(sum, 0); got != 0 {
		t.Errorf("avg over 0 samples = %d, want 0", got)
	}
}
