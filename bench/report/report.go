// Package report turns the harness's measurements into figures: medians of
// rounds, latency percentiles and jitter from HdrHistograms, ratios to
// HAProxy and to a direct connection, and writes them as Markdown, JSON and
// plots.
package report

import (
	"math"
	"slices"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// The metrics a round can hold. A metric a round did not measure is absent
// from its map, never 0: the tables print "—" for it.
const (
	ReqPerSec  = "req_per_s"
	P50        = "p50_us"
	P99        = "p99_us"
	P999       = "p99.9_us"
	Max        = "max_us"
	StdDev     = "stddev_us"
	Spread     = "p99_minus_p50_us" // jitter: how far the tail is from the middle
	CPUPerReq  = "proxy_cpu_us_per_req"
	CPUPerGB   = "proxy_cpu_s_per_gb"
	GBPerSec   = "gb_per_s"
	RSS        = "proxy_rss_bytes"
	RSSPerConn = "proxy_rss_bytes_per_idle_conn"
	FDsPerConn = "proxy_fds_per_idle_conn"
	Held       = "idle_conns_held"
	GenCPU     = "generator_cpu_share" // of the CPUs the generator may use
	LoadCPU    = "load_cpu_share"      // generator and web nodes together, of the same CPUs
	Errors     = "errors"

	// The whole machine's CPU (every CPU's busy time in /proc/stat, see
	// proc.Machine) over the measured window, per request or per GB, and
	// the same above direct's in the same round: what the proxy hop
	// costs the machine, softirq and the other processes' extra work
	// included. MachineBusy is the share of the machine's CPU time that
	// was busy.
	MachinePerReq        = "machine_cpu_us_per_req"
	MachineAboveDirect   = "machine_cpu_us_per_req_above_direct"
	MachinePerGB         = "machine_cpu_s_per_gb"
	MachineGBAboveDirect = "machine_cpu_s_per_gb_above_direct"
	MachineBusy          = "machine_cpu_share"
	// MachineOthers is the share of the machine's CPU time that tasks
	// other than the run's own took: on a shared machine, how much of
	// the machine's figure is someone else's.
	MachineOthers = "machine_others_share"
	// MachineStolen is the time, in ms summed over the machine's CPUs,
	// that the hypervisor froze them while they had work (steal in
	// /proc/stat): a VM's pause, which every latency of its round holds.
	MachineStolen = "machine_stolen_ms"

	// The open loop's: the latency a proxy adds, its percentile minus
	// direct's in the same round at the same rate; and the answered
	// rate over the due rate (below OnScheduleMin, the round fell
	// behind its schedule).
	AddedP50   = "added_p50_us"
	AddedP99   = "added_p99_us"
	AddedP999  = "added_p99.9_us"
	OnSchedule = "answered_over_due_rate"
	// PacerLate is the most the generator's pacer handed a request out
	// after its due time: above a few ms, the generator itself was held
	// off its CPU, and the round's latencies hold that wait.
	PacerLate = "pacer_late_max_us"

	// The flood-latency scenario's: the established sessions' latency
	// alone (P50, P99, ... hold it during the flood), its ratio, and the
	// flood itself.
	AloneP50      = "alone_p50_us"
	AloneP99      = "alone_p99_us"
	AloneP999     = "alone_p99.9_us"
	P99OverAlone  = "p99_flood_over_alone"
	P999OverAlone = "p99.9_flood_over_alone"
	FloodPerSec   = "flood_handshakes_per_s"
	FloodErrors   = "flood_errors"
	ProxyBusy     = "proxy_cpu_share" // the proxy's CPU time over its CPUs' time
)

// Round is one measurement of one peer in one scenario.
type Round map[string]float64

// Kind says which table a scenario's rows go into.
type Kind string

const (
	Requests Kind = "requests" // req/s and latency
	Bulk     Kind = "bulk"     // bytes moved
	Idle     Kind = "idle"     // connections held
	// Handshakes is Requests where each request is a new TLS connection:
	// the same figures, per handshake.
	Handshakes Kind = "handshakes"
	// Flood is established sessions' latency alone and during a
	// handshake flood.
	Flood Kind = "flood"
)

// Row is one peer in one scenario.
type Row struct {
	Peer string `json:"peer"`
	Mode string `json:"mode"` // none, tcp, http
	// Ref names the row that this row's ×HAProxy ratios are over; ""
	// is haproxy-<Mode>.
	Ref string `json:"ref,omitempty"`
	// Status is empty for a peer that ran; otherwise why there are no
	// figures: "not installed: ...", "failed: ...".
	Status string  `json:"status,omitempty"`
	Rounds []Round `json:"rounds"`
	// RoundNumbers are the Rounds' numbers in the run (1, 2, ...): a
	// round that gave no figures is missing from Rounds, and a figure
	// over direct pairs rounds of the same number.
	RoundNumbers []int    `json:"round_numbers,omitempty"`
	Median       Round    `json:"median"`
	Notes        []string `json:"notes,omitempty"`
	// Spectrum is the latency percentile spectrum of all rounds' requests
	// together.
	Spectrum []Point `json:"spectrum,omitempty"`
	// Baseline is the spectrum to compare Spectrum with (Flood: the
	// latencies without the flood).
	Baseline []Point `json:"baseline_spectrum,omitempty"`
	// TLS is what the peer's TLS sessions negotiated, over all rounds.
	TLS []string `json:"tls,omitempty"`

	hist, base *hdrhistogram.Histogram
}

// Point is one point of a percentile spectrum.
type Point struct {
	Percentile float64 `json:"percentile"`
	Micros     int64   `json:"us"`
}

// Scenario is one scenario's rows.
type Scenario struct {
	Name string `json:"name"`
	// Variant tells apart the tables of one scenario run at several
	// settings (the latency scenario at several rates): "20pct".
	Variant string `json:"variant,omitempty"`
	Title   string `json:"title"`
	Kind    Kind   `json:"kind"`
	Params  string `json:"params"`
	// TLS, for the HTTPS scenarios, says what every proxy was told to
	// negotiate.
	TLS string `json:"tls,omitempty"`
	// Rate is an open-loop scenario's fixed rate (req/s); 0 for a
	// closed loop.
	Rate float64 `json:"rate,omitempty"`
	// PerRound asks for a table of every round besides the medians.
	PerRound bool   `json:"per_round,omitempty"`
	Rows     []*Row `json:"rows"`
}

// Key names the scenario's table in file names: its name, and its
// variant when it has one.
func (s *Scenario) Key() string {
	if s.Variant != "" {
		return s.Name + "-" + s.Variant
	}
	return s.Name
}

// Results is a whole run.
type Results struct {
	Started   time.Time   `json:"started"`
	Finished  time.Time   `json:"finished"`
	Command   string      `json:"command"`
	Machine   []string    `json:"machine"` // lines about the machine and the peers' versions
	Scenarios []*Scenario `json:"scenarios"`
	// Summaries gather figures of several scenarios against a reference
	// peer and targets (the HTTPS scenarios').
	Summaries []*Summary `json:"summaries,omitempty"`
	// Targets set one peer's figures against the best of others' (issue
	// 20's machine CPU targets).
	Targets  []*Targets `json:"targets,omitempty"`
	Warnings []string   `json:"warnings,omitempty"`
}

// AddRound adds round n's figures, and its latencies (h may be nil) to
// the row's spectrum.
func (r *Row) AddRound(n int, m Round, h *hdrhistogram.Histogram) {
	r.Rounds = append(r.Rounds, m)
	r.RoundNumbers = append(r.RoundNumbers, n)
	if h != nil {
		if r.hist == nil {
			r.hist = hdrhistogram.New(h.LowestTrackableValue(), h.HighestTrackableValue(), int(h.SignificantFigures()))
		}
		r.hist.Merge(h)
	}
}

// AddBaseline adds latencies to the row's baseline spectrum.
func (r *Row) AddBaseline(h *hdrhistogram.Histogram) {
	if h == nil {
		return
	}
	if r.base == nil {
		r.base = hdrhistogram.New(h.LowestTrackableValue(), h.HighestTrackableValue(), int(h.SignificantFigures()))
	}
	r.base.Merge(h)
}

// AddTLS records what a round's sessions negotiated.
func (r *Row) AddTLS(negotiated ...string) {
	for _, n := range negotiated {
		if n != "" && !slices.Contains(r.TLS, n) {
			r.TLS = append(r.TLS, n)
		}
	}
}

// Finish computes the medians and the spectra.
func (r *Row) Finish() {
	r.Median = Medians(r.Rounds)
	if r.hist != nil && r.hist.TotalCount() > 0 {
		r.Spectrum = Spectrum(r.hist)
	}
	if r.base != nil && r.base.TotalCount() > 0 {
		r.Baseline = Spectrum(r.base)
	}
}

// Direct is the peer every proxy's cost is measured above: the
// generator talking to the web nodes with no proxy.
const Direct = "direct"

// overDirect are the figures each round has above direct's round of the
// same number. Pairing rounds, rather than subtracting medians, takes out
// what changed on a shared machine between one round and the next.
var overDirect = []struct {
	metric, above string
	openLoop      bool // only at a fixed rate: a closed loop's latency depends on its throughput
}{
	{MachinePerReq, MachineAboveDirect, false},
	{MachinePerGB, MachineGBAboveDirect, false},
	{P50, AddedP50, true},
	{P99, AddedP99, true},
	{P999, AddedP999, true},
}

// Finish computes every row's figures above direct's, round by round,
// then the medians and spectra (Row.Finish).
func (s *Scenario) Finish() {
	s.subtractDirect()
	for _, r := range s.Rows {
		r.Finish()
	}
}

func (s *Scenario) subtractDirect() {
	d := s.Find(Direct)
	if d == nil || d.Status != "" {
		return
	}
	base := map[int]Round{}
	for i, m := range d.Rounds {
		if i < len(d.RoundNumbers) {
			base[d.RoundNumbers[i]] = m
		}
	}
	for _, r := range s.Rows {
		if r == d {
			continue
		}
		for i, m := range r.Rounds {
			if i >= len(r.RoundNumbers) {
				break
			}
			dm, ok := base[r.RoundNumbers[i]]
			if !ok {
				continue // direct failed that round: no pair, no figure
			}
			for _, o := range overDirect {
				if o.openLoop && s.Rate <= 0 {
					continue
				}
				v, ok1 := m[o.metric]
				dv, ok2 := dm[o.metric]
				if ok1 && ok2 && finite(v) && finite(dv) {
					m[o.above] = v - dv
				}
			}
		}
	}
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// OnScheduleMin is the answered share of an open loop's due rate below
// which a round fell behind its schedule: requests queued up in the
// generator faster than the proxy answered them, and every later one
// waited longer than the last.
const OnScheduleMin = 0.95

// OthersMax is the share of the machine's time other tasks may take in a
// round before the run warns that its machine figures hold their work.
const OthersMax = 0.10

// StolenMax is the time the hypervisor may take from the machine's CPUs
// in a round before the round is said to hold a freeze: on the VM these
// figures come from, a freeze lasts about 100 ms (a host's scheduling
// period), and a round without one loses a few ms.
const StolenMax = 30.0

// Behind says whether an open-loop round fell behind its schedule.
func Behind(m Round) bool {
	v, ok := m[OnSchedule]
	return ok && v < OnScheduleMin
}

// Find returns the scenario's row for peer, or nil.
func (s *Scenario) Find(peer string) *Row {
	for _, r := range s.Rows {
		if r.Peer == peer {
			return r
		}
	}
	return nil
}

// Median is the median of vs: the middle value, or the mean of the two
// middle values. ok is false for no values.
func Median(vs []float64) (m float64, ok bool) {
	if len(vs) == 0 {
		return 0, false
	}
	s := slices.Clone(vs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2], true
	}
	return (s[n/2-1] + s[n/2]) / 2, true
}

// Medians takes the median of each metric over the rounds that measured
// it. Each metric's median is its own: the median round for p99 need not
// be the median round for req/s.
func Medians(rounds []Round) Round {
	vals := map[string][]float64{}
	for _, r := range rounds {
		for k, v := range r {
			if !math.IsNaN(v) && !math.IsInf(v, 0) {
				vals[k] = append(vals[k], v)
			}
		}
	}
	out := Round{}
	for k, vs := range vals {
		if m, ok := Median(vs); ok {
			out[k] = m
		}
	}
	return out
}

// Ratio is a/b, when both are figures and b is not 0.
func Ratio(a, b float64) (float64, bool) {
	if b == 0 || math.IsNaN(a) || math.IsNaN(b) || math.IsInf(a, 0) || math.IsInf(b, 0) {
		return 0, false
	}
	return a / b, true
}

// Latency reads the latency figures from a histogram of microseconds: the
// percentiles, the maximum, and jitter as the standard deviation and as
// the distance from p50 to p99. An empty histogram has no figures.
func Latency(h *hdrhistogram.Histogram) Round {
	m := Round{}
	if h == nil || h.TotalCount() == 0 {
		return m
	}
	m[P50] = float64(h.ValueAtQuantile(50))
	m[P99] = float64(h.ValueAtQuantile(99))
	m[P999] = float64(h.ValueAtQuantile(99.9))
	m[Max] = float64(h.Max())
	m[StdDev] = h.StdDev()
	m[Spread] = m[P99] - m[P50]
	return m
}

// Spectrum samples the percentile spectrum the way HdrHistogram's plots
// do: evenly in log(1/(1-p)), five points per decade (90%, 99%, 99.9%,
// ...), from p0 up to the percentile of the last recorded value.
func Spectrum(h *hdrhistogram.Histogram) []Point {
	n := h.TotalCount()
	if n == 0 {
		return nil
	}
	// Beyond 1-1/n every percentile is the maximum.
	top := math.Log10(float64(n))
	var pts []Point
	for x := 0.0; x <= top+1e-9; x += 0.2 {
		p := 100 * (1 - math.Pow(10, -x))
		pts = append(pts, Point{Percentile: p, Micros: h.ValueAtQuantile(p)})
	}
	pts = append(pts, Point{Percentile: 100 * (1 - 1/float64(n)), Micros: h.Max()})
	return pts
}
