package suite

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
	"github.com/fjordlb/fjord/bench/load"
	"github.com/fjordlb/fjord/bench/peers"
	"github.com/fjordlb/fjord/bench/proc"
	"github.com/fjordlb/fjord/bench/report"
)

// saturated is the generator's CPU share above which a round's figures say
// more about the generator than about the proxy.
const saturated = 0.9

func (r *runner) scenario(ctx context.Context, name string) error {
	if name == Latency {
		return r.latency(ctx)
	}
	o := r.o
	s := &report.Scenario{Name: name, PerRound: o.PerRound}
	switch name {
	case KeepAlive:
		s.Title, s.Kind = "Keep-alive small requests, closed loop (maximum throughput)", report.Requests
		s.Params = fmt.Sprintf("%d keep-alive connections, each sending its next request when the last is answered; %s; %v warm-up, %v measured, median of %s.", o.Conns, sizes(o), o.Warmup, o.Duration, rounds(o.Rounds))
	case Close:
		s.Title, s.Kind = "One connection per request, closed loop", report.Requests
		s.Params = fmt.Sprintf("%d concurrent requests, each on a new connection (Connection: close); %s; %v warm-up, %v measured, median of %s.", o.Conns, sizes(o), o.Warmup, o.Duration, rounds(o.Rounds))
	case Bulk:
		s.Title, s.Kind = "Bulk transfer", report.Bulk
		s.Params = fmt.Sprintf("%s through %d keep-alive connections as GETs of a %s object; median of %s.", bytesText(o.BulkBytes), o.BulkConns, bytesText(int64(o.LargeSize)), rounds(o.Rounds))
	case Idle:
		s.Title, s.Kind = "Idle connections", report.Idle
		s.Params = fmt.Sprintf("%d connections opened, one small request each, then left idle; the proxy's RSS and descriptors before and after; median of %s.", o.IdleConns, rounds(o.Rounds))
	}
	return r.rounds(ctx, name, s)
}

// latency runs the latency scenario once per rate, each a table of its
// own: at a fixed rate every proxy and direct carry the same load, so
// that the latency each adds is its percentiles minus direct's.
func (r *runner) latency(ctx context.Context) error {
	o := r.o
	passes, err := r.latencyRates(ctx)
	if err != nil {
		return err
	}
	for _, p := range passes {
		s := &report.Scenario{Name: Latency, Variant: p.variant, Kind: report.Requests, Rate: p.rate, PerRound: o.PerRound}
		s.Title = fmt.Sprintf("Latency at a fixed %.0f req/s%s, open loop", p.rate, p.titleText)
		s.Params = fmt.Sprintf("%d keep-alive connections, requests due every %.1f µs whatever the proxy does, latency counted from when each was due (no coordinated omission); the rate is %s; %s; %v warm-up, %v measured, median of %s; "+
			"\"added\" is a percentile minus direct's in the same round, at the same rate (the median of the rounds' differences); a round whose answers came at less than %.0f%% of the rate fell behind its schedule (a note says so).",
			o.Conns, 1e6/p.rate, p.how, sizes(o), o.Warmup, o.Duration, rounds(o.Rounds), 100*report.OnScheduleMin)
		r.rate = p.rate
		if err := r.rounds(ctx, Latency, s); err != nil {
			return err
		}
	}
	return nil
}

// rounds runs scenario name's rounds into s, every participant in turn
// in each round, and adds s to the results.
func (r *runner) rounds(ctx context.Context, name string, s *report.Scenario) error {
	o := r.o
	env, run := r.env, r.participants(name)
	r.tls, r.refused, r.checkNotes = nil, nil, nil
	if isHTTPS(name) {
		var skip bool
		var err error
		if env, run, skip, err = r.httpsSetup(ctx, s); err != nil || skip {
			return err
		}
	}
	if name == RulesKeepAlive {
		var skip bool
		var err error
		if run, skip, err = r.rulesSetup(ctx, s, run); err != nil || skip {
			return err
		}
	}
	r.res.Scenarios = append(r.res.Scenarios, s)

	rows := map[string]*report.Row{}
	var sat []string    // the rounds whose load side was saturated
	var others []string // the rounds in which other tasks took a share of the machine
	var stolen []string // the rounds in which the hypervisor froze the CPUs
	var held []string   // the open-loop rounds whose generator was held up
	othersLo, othersHi := 1.0, 0.0
	for _, p := range peersInOrder(r, name) {
		row := &report.Row{Peer: p.Name, Mode: string(p.Mode), Ref: p.Ref}
		if err, ok := r.missing[p.Name]; ok {
			row.Status = "not installed"
			row.Notes = []string{err.Error()}
		} else if err, ok := r.refused[p.Name]; ok {
			refusedRow(row, err)
		}
		row.Notes = append(row.Notes, r.checkNotes[p.Name]...)
		rows[p.Name] = row
		s.Rows = append(s.Rows, row)
	}
	if name == HTTPSFlood {
		if err := r.floodParams(ctx, s, env, run); err != nil {
			return err
		}
	}
	// Rounds alternate the peers: A B C A B C, so that a slow minute on a
	// shared machine hits every peer rather than one.
	dropped := map[string]bool{} // HTTPS peers that failed to start
	for round := 1; round <= o.Rounds; round++ {
		for _, p := range run {
			if err := ctx.Err(); err != nil {
				return err
			}
			r.step++
			if dropped[p.Name] {
				continue
			}
			if o.Live {
				r.progress(s.Key(), round, p.Name, "starting")
			}
			row := rows[p.Name]
			in, err := p.Start(env)
			if err != nil {
				if r.refused == nil {
					return err
				}
				// A proxy whose configuration is new (TLS, rules) may
				// accept it and still fail: its rows say so, the others
				// go on.
				dropped[p.Name] = true
				if len(row.Rounds) == 0 {
					row.Status = "failed: " + firstLineOf(err.Error())
				}
				row.Notes = append(row.Notes, fmt.Sprintf("round %d: %v", round, err))
				r.progress(s.Key(), round, p.Name, "failed to start: "+firstLineOf(err.Error()))
				continue
			}
			if r.tls != nil && round == 1 {
				row.Notes = append(row.Notes, r.probeResumption(in))
			}
			mr, err := r.measure(name, s.Key(), round, in)
			in.Stop()
			if err != nil {
				return fmt.Errorf("%s, %s round %d: %w", name, p.Name, round, err)
			}
			m, h, note := mr.m, mr.h, mr.note
			row.AddTLS(mr.tls...)
			row.AddBaseline(mr.base)
			if note != "" {
				row.Notes = append(row.Notes, fmt.Sprintf("round %d: %s", round, note))
			}
			if share, ok := m[report.GenCPU]; ok && share > saturated {
				w := fmt.Sprintf("%s, %s round %d: the generator used %.0f%% of its CPUs (%s): this round measures the generator as much as the proxy", name, p.Name, round, 100*share, o.LoadCPUs)
				r.res.Warnings = append(r.res.Warnings, w)
			} else if share, ok := m[report.LoadCPU]; ok && share > saturated {
				sat = append(sat, fmt.Sprintf("%s %d", p.Name, round))
			}
			if late, ok := m[report.PacerLate]; ok && late > float64(pacerHeld.Microseconds()) {
				held = append(held, fmt.Sprintf("%s %d: %.0f ms", p.Name, round, late/1000))
			}
			if ms, ok := m[report.MachineStolen]; ok && ms > report.StolenMax {
				stolen = append(stolen, fmt.Sprintf("%s %d: %.0f ms", p.Name, round, ms))
			}
			if share, ok := m[report.MachineOthers]; ok && share > report.OthersMax {
				others = append(others, fmt.Sprintf("%s %d: %.0f%%", p.Name, round, 100*share))
				othersLo, othersHi = min(othersLo, share), max(othersHi, share)
			}
			if len(m) > 0 {
				row.AddRound(round, m, h)
			}
			r.progress(s.Key(), round, p.Name, summary(s.Kind, m, note))
			if o.Live {
				fmt.Fprintln(o.Progress) // keep the step's figures on screen
			}
		}
	}
	if len(sat) > 0 {
		which := fmt.Sprintf("in %d of %d runs (%s)", len(sat), o.Rounds*len(run), strings.Join(sat, ", "))
		if len(sat) == o.Rounds*len(run) {
			which = "in every run"
		}
		r.res.Warnings = append(r.res.Warnings, fmt.Sprintf("%s: the generator and the web nodes together kept their CPUs (%s) more than %.0f%% busy %s: throughput there is bounded by the load side as much as by the proxy; the proxy's CPU per request and per GB are not",
			s.Key(), o.LoadCPUs, 100*saturated, which))
	}
	if len(held) > 0 {
		r.res.Warnings = append(r.res.Warnings, heldWarning(s.Key(), held, o.Rounds*len(run)))
	}
	if len(stolen) > 0 {
		r.res.Warnings = append(r.res.Warnings, fmt.Sprintf("%s: the hypervisor froze the machine's CPUs for more than %.0f ms in %d of %d runs (%s): every latency of those rounds may hold the freeze, and it is nobody's on this machine (see the per-round tables)",
			s.Key(), report.StolenMax, len(stolen), o.Rounds*len(run), strings.Join(stolen, ", ")))
	}
	if len(others) > 0 {
		which := fmt.Sprintf("in %d of %d runs (%s)", len(others), o.Rounds*len(run), strings.Join(others, ", "))
		if len(others) == o.Rounds*len(run) {
			which = fmt.Sprintf("in every run (%.0f%% to %.0f%%)", 100*othersLo, 100*othersHi)
		}
		r.res.Warnings = append(r.res.Warnings, fmt.Sprintf("%s: processes other than the run's took more than %.0f%% of the machine's CPU time %s: the machine CPU figures there hold their work as well; the per-process figures do not",
			s.Key(), 100*report.OthersMax, which))
	}
	s.Finish()
	for _, row := range s.Rows {
		if row.Status == "" && len(row.Rounds) == 0 {
			row.Status = "failed: no round gave figures (see the notes)"
		}
	}
	return nil
}

// peersInOrder is every peer named that takes part in scenario name
// (takesPart), installed or not, in report order.
func peersInOrder(r *runner, name string) []*peers.Peer {
	var out []*peers.Peer
	for _, p := range peers.All {
		if !takesPart(name, p) {
			continue
		}
		if _, ok := r.missing[p.Name]; ok {
			out = append(out, p)
			continue
		}
		for _, q := range r.peers {
			if q == p {
				out = append(out, p)
			}
		}
	}
	return out
}

func sizes(o Options) string {
	req := "GET"
	if o.ReqSize > 0 {
		req = fmt.Sprintf("POST of %d bytes", o.ReqSize)
	}
	return fmt.Sprintf("%s /body answered with %d bytes", req, o.RespSize)
}

func bytesText(n int64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return fmt.Sprintf("%d GiB", n>>30)
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	}
	return fmt.Sprintf("%d bytes", n)
}

func summary(k report.Kind, m report.Round, note string) string {
	var s string
	switch k {
	case report.Requests:
		s = fmt.Sprintf("%.0f req/s, p99 %.0f µs", m[report.ReqPerSec], m[report.P99])
		if _, ok := m[report.OnSchedule]; ok {
			s = fmt.Sprintf("%.0f req/s, p50 %.0f µs, p99 %.0f µs", m[report.ReqPerSec], m[report.P50], m[report.P99])
		}
		if v, ok := m[report.CPUPerReq]; ok {
			s += fmt.Sprintf(", CPU %.2f µs/req", v)
		}
		if v, ok := m[report.MachinePerReq]; ok {
			s += fmt.Sprintf(", machine %.2f µs/req", v)
		}
	case report.Handshakes:
		s = fmt.Sprintf("%.0f handshakes/s, p99 %.0f µs", m[report.ReqPerSec], m[report.P99])
		if v, ok := m[report.CPUPerReq]; ok {
			s += fmt.Sprintf(", CPU %.1f µs/handshake", v)
		}
	case report.Flood:
		s = fmt.Sprintf("p99 %.0f µs alone, %.0f µs during %.0f handshakes/s", m[report.AloneP99], m[report.P99], m[report.FloodPerSec])
	case report.Bulk:
		s = fmt.Sprintf("%.2f GB/s", m[report.GBPerSec])
		if v, ok := m[report.CPUPerGB]; ok {
			s += fmt.Sprintf(", CPU %.3f s/GB", v)
		}
		if v, ok := m[report.MachinePerGB]; ok {
			s += fmt.Sprintf(", machine %.3f s/GB", v)
		}
	case report.Idle:
		s = fmt.Sprintf("held %.0f", m[report.Held])
		if v, ok := m[report.RSSPerConn]; ok {
			s += fmt.Sprintf(", %.0f B RSS/conn", v)
		}
	}
	if note != "" {
		s += " (" + note + ")"
	}
	return s
}

// measured is one round's outcome: its figures, its latencies (and, for
// the flood, those without it), a note on anything that went wrong in the
// load (errors), and what its TLS sessions negotiated.
type measured struct {
	m       report.Round
	h, base *hdrhistogram.Histogram
	note    string
	tls     []string
}

// measure runs one round of scenario name against a started peer. The
// error is for the harness failing, not the proxy.
func (r *runner) measure(name, key string, round int, in *peers.Instance) (*measured, error) {
	switch name {
	case Bulk, HTTPSBulk:
		return r.bulk(in)
	case Idle:
		m, note, err := r.idle(in)
		return &measured{m: m, note: note}, err
	case HTTPSFlood:
		return r.flood(round, in)
	}
	o := r.o
	cfg := load.Config{
		Addrs: in.Addrs, Conns: o.Conns, Warmup: o.Warmup, Duration: o.Duration,
		KeepAlive: name != Close && !isHandshake(name), ReqSize: o.ReqSize, RespSize: o.RespSize,
		TLS: r.clientTLS(),
	}
	if name == Latency {
		cfg.Rate = r.rate
	}
	var done atomic.Int64
	cfg.Done = &done
	var u0, w0 proc.Usage
	var sampleErr, webErr error
	var mw machineWindow
	cfg.Measuring = func() {
		w0, webErr = proc.Sample(r.web.Pid())
		if in.Proc != nil {
			u0, sampleErr = proc.Sample(in.Proc.Pid())
		}
		// Last: the harness's own reading of /proc above is outside the
		// machine's window.
		mw.start(o.MachineCPUs)
	}
	stop := r.live(key, round, in.Peer.Name, &done, o.Warmup+o.Duration)
	res, err := load.Run(r.ctx, cfg)
	if err != nil {
		stop()
		return nil, err
	}
	machine, machineErr := mw.end()
	stop()
	m := report.Round{}
	var notes []string
	if res.Errors > 0 {
		notes = append(notes, fmt.Sprintf("%d of %d requests failed (%v)", res.Errors, res.Errors+res.Requests, res.FirstError))
	}
	note := strings.Join(notes, "; ")
	tls := slices.Sorted(maps.Keys(res.TLS))
	if res.Requests == 0 {
		return &measured{note: note, tls: tls}, nil
	}
	for k, v := range report.Latency(res.Hist) {
		m[k] = v
	}
	m[report.ReqPerSec] = res.ReqPerSec()
	m[report.Errors] = float64(res.Errors)
	m[report.GenCPU] = genShare(res.GenCPU, res.Elapsed, o.LoadCPUs)
	// ours is the CPU of every process of the run: the generator, the
	// web nodes, the proxy.
	ours, oursKnown := res.GenCPU, true
	if w1, err := proc.Sample(r.web.Pid()); err == nil && webErr == nil {
		m[report.LoadCPU] = genShare(res.GenCPU+w1.CPU-w0.CPU, res.Elapsed, o.LoadCPUs)
		ours += w1.CPU - w0.CPU
	} else {
		oursKnown = false
	}
	if in.Proc != nil {
		u1, err := proc.Sample(in.Proc.Pid())
		if err == nil {
			err = sampleErr
		}
		if err != nil {
			return nil, fmt.Errorf("sampling %s: %w (its log: %s)", in.Peer.Name, err, in.Log)
		}
		m[report.CPUPerReq] = float64((u1.CPU - u0.CPU).Microseconds()) / float64(res.Requests+res.Errors)
		m[report.RSS] = float64(u1.RSS)
		ours += u1.CPU - u0.CPU
	}
	if !oursKnown {
		ours = -1
	}
	r.addMachine(m, report.MachinePerReq, machine, machineErr, float64(res.Requests+res.Errors)/1e6, ours)
	if cfg.Rate > 0 {
		m[report.OnSchedule] = onSchedule(res, cfg.Rate)
		m[report.PacerLate] = float64(res.PacerLate.Microseconds())
		if report.Behind(m) {
			notes = append(notes, behindText(res, cfg, m))
		}
		note = strings.Join(notes, "; ")
	}
	return &measured{m: m, h: res.Hist, note: note, tls: tls}, nil
}

// onSchedule is the rate at which an open loop's requests were answered
// (or failed) over the rate they were due at. The generator sends every
// request due in the window whatever happens, so below 1 the last answer
// came after the window's end: requests queued in the generator faster
// than the proxy answered them.
func onSchedule(res *load.Result, rate float64) float64 {
	if res.Elapsed <= 0 || rate <= 0 {
		return math.NaN()
	}
	return float64(res.Requests+res.Errors) / res.Elapsed.Seconds() / rate
}

// behindText is the note of an open-loop round that fell behind its
// schedule.
func behindText(res *load.Result, cfg load.Config, m report.Round) string {
	late := max(0, res.Elapsed-cfg.Duration).Round(time.Millisecond)
	return fmt.Sprintf("fell behind the schedule: answered %.0f of the %.0f req/s due (%.1f%%), the last answer %v after the window's end; p50 %.0f µs, generator CPU %.0f%%",
		m[report.ReqPerSec], cfg.Rate, 100*m[report.OnSchedule], late, m[report.P50], 100*m[report.GenCPU])
}

// pacerHeld is how late the open loop's pacer may hand a request out
// before a round says the generator itself was held up. The pacer sleeps
// with no timer slack and wakes tens of µs late on an idle machine; a
// wait of milliseconds is its thread kept off the CPU.
const pacerHeld = 10 * time.Millisecond

// heldWarning is the warning of a scenario in some of whose open-loop
// rounds the generator was held up: held names them, with how late.
func heldWarning(key string, held []string, runs int) string {
	which := fmt.Sprintf("in %d of %d runs (%s)", len(held), runs, strings.Join(held, ", "))
	if len(held) == runs {
		which = fmt.Sprintf("in every run (%s)", strings.Join(held, ", "))
	}
	return fmt.Sprintf("%s: the generator itself was held up %s: its pacer handed a request out more than %v after it was due, and those rounds' latencies hold that wait as well as the proxy's (on a shared machine: other processes on the load side's CPUs)",
		key, which, pacerHeld)
}

// machineWindow reads the whole machine's CPU time at the start and the
// end of a measured window.
type machineWindow struct {
	cpus proc.CPUSet
	m0   proc.Machine
	err  error
	set  bool
}

func (w *machineWindow) start(cpus proc.CPUSet) {
	w.cpus = cpus
	w.m0, w.err = proc.ReadMachine(cpus)
	w.set = true
}

// end is the machine's CPU time since start: an error when either
// reading failed, or start was never called (the run ended before its
// window began).
func (w *machineWindow) end() (proc.Machine, error) {
	if !w.set {
		return proc.Machine{}, errors.New("the measured window never began")
	}
	m1, err := proc.ReadMachine(w.cpus)
	if w.err != nil {
		return proc.Machine{}, w.err
	}
	if err != nil {
		return proc.Machine{}, err
	}
	return m1.Sub(w.m0), nil
}

// addMachine adds the machine's CPU per unit (units: millions of
// requests, or GB), its busy share, and the share other processes took
// (ours is the CPU of the run's own processes over the window; below 0:
// unknown) to m. A machine that could not be read is a warning, once per
// run, and no figure.
func (r *runner) addMachine(m report.Round, metric string, d proc.Machine, err error, units float64, ours time.Duration) {
	if err != nil {
		if !r.machineWarned {
			r.machineWarned = true
			r.res.Warnings = append(r.res.Warnings, fmt.Sprintf("the machine's CPU time could not be read (%v): no machine CPU figures where it failed", err))
		}
		return
	}
	if units <= 0 || d.Total <= 0 {
		return
	}
	m[metric] = d.BusyTime().Seconds() / units
	m[report.MachineBusy] = d.Share()
	m[report.MachineStolen] = float64(d.StealTime().Milliseconds())
	if ours >= 0 {
		m[report.MachineOthers] = othersShare(d, ours)
	}
}

// othersShare is the share of the machine's time that tasks other than
// the run's own used: the tasks' time in /proc/stat less ours. An upper
// bound: ksoftirqd, processing the run's packets under load, is another
// task. /proc/stat is a sample taken at each tick, and the run's
// processes are read a moment apart from it, so a small difference either
// way is the measurement's: below 0 is 0.
func othersShare(d proc.Machine, ours time.Duration) float64 {
	if d.Total <= 0 {
		return 0
	}
	return max(0, (d.TasksTime()-ours).Seconds()/d.TotalTime().Seconds())
}

func genShare(cpu, elapsed time.Duration, cpus proc.CPUSet) float64 {
	n := max(1, len(cpus))
	if elapsed <= 0 {
		return math.NaN()
	}
	return cpu.Seconds() / (elapsed.Seconds() * float64(n))
}

func (r *runner) bulk(in *peers.Instance) (*measured, error) {
	o := r.o
	var u0 proc.Usage
	if in.Proc != nil {
		var err error
		if u0, err = proc.Sample(in.Proc.Pid()); err != nil {
			return nil, err
		}
	}
	w0, webErr := proc.Sample(r.web.Pid())
	var mw machineWindow
	mw.start(o.MachineCPUs)
	res, err := load.Bulk(r.ctx, load.BulkConfig{Addrs: in.Addrs, Conns: o.BulkConns, ObjectSize: int64(o.LargeSize), Total: o.BulkBytes, TLS: r.clientTLS()})
	machine, machineErr := mw.end()
	if err != nil {
		return &measured{note: err.Error()}, nil
	}
	m := report.Round{report.GBPerSec: res.GBPerSec(), report.GenCPU: genShare(res.GenCPU, res.Elapsed, o.LoadCPUs)}
	ours, oursKnown := res.GenCPU, true
	if w1, err := proc.Sample(r.web.Pid()); err == nil && webErr == nil {
		m[report.LoadCPU] = genShare(res.GenCPU+w1.CPU-w0.CPU, res.Elapsed, o.LoadCPUs)
		ours += w1.CPU - w0.CPU
	} else {
		oursKnown = false
	}
	if in.Proc != nil {
		u1, err := proc.Sample(in.Proc.Pid())
		if err != nil {
			return nil, err
		}
		m[report.CPUPerGB] = (u1.CPU - u0.CPU).Seconds() / (float64(res.Bytes) / 1e9)
		m[report.RSS] = float64(u1.RSS)
		ours += u1.CPU - u0.CPU
	}
	if !oursKnown {
		ours = -1
	}
	r.addMachine(m, report.MachinePerGB, machine, machineErr, float64(res.Bytes)/1e9, ours)
	return &measured{m: m, tls: slices.Sorted(maps.Keys(res.TLS))}, nil
}

func (r *runner) idle(in *peers.Instance) (report.Round, string, error) {
	o := r.o
	var u0 proc.Usage
	if in.Proc != nil {
		time.Sleep(200 * time.Millisecond) // let the workers settle
		var err error
		if u0, err = proc.Sample(in.Proc.Pid()); err != nil {
			return nil, "", err
		}
	}
	set := load.OpenIdle(r.ctx, in.Addrs, o.IdleConns, "/body", 16, 50, 3*time.Second)
	defer set.Close()
	var note string
	if set.Failed > 0 {
		note = fmt.Sprintf("held %d of %d connections; %d failed (%v)", set.Held(), o.IdleConns, set.Failed, set.FirstError)
	}
	m := report.Round{report.Held: float64(set.Held())}
	if in.Proc != nil && set.Held() > 0 {
		time.Sleep(time.Second) // buffers freed after the first request are returned
		u1, err := proc.Sample(in.Proc.Pid())
		if err != nil {
			return nil, "", err
		}
		n := float64(set.Held())
		m[report.RSS] = float64(u1.RSS)
		m[report.RSSPerConn] = float64(u1.RSS-u0.RSS) / n
		m[report.FDsPerConn] = float64(u1.FDs-u0.FDs) / n
	}
	return m, note, nil
}

// latencyPass is one rate of the latency scenario.
type latencyPass struct {
	rate      float64
	how       string // where the rate comes from
	titleText string // for the table's title: " (20% of the slowest maximum)"
	variant   string // tells the tables apart when there are several: "20pct", "5000rps"
}

// percent writes a fraction as a percentage to a tenth: 0.2 is "20",
// 0.125 "12.5".
func percent(f float64) string {
	return strconv.FormatFloat(math.Round(1000*f)/10, 'f', -1, 64)
}

// latencyRates are the latency scenario's rates: those given, or the
// fractions of the slowest proxy's keep-alive maximum, from the
// keep-alive scenario when it ran, else from a short probe of each proxy.
func (r *runner) latencyRates(ctx context.Context) ([]latencyPass, error) {
	o := r.o
	var out []latencyPass
	if len(o.Rates) > 0 {
		for _, rate := range o.Rates {
			out = append(out, latencyPass{rate: rate, how: "given with -rate", variant: fmt.Sprintf("%.0frps", rate)})
		}
	} else {
		slowest, who, from, err := r.slowestMax(ctx, rateSpec{
			givenFlag: "-rate", scenario: Latency,
			from: KeepAlive, fromText: "the keep-alive scenario's medians", env: r.env, peers: r.participants(Latency),
		})
		if err != nil {
			return nil, err
		}
		for _, f := range o.RateFractions {
			pct := percent(f)
			out = append(out, latencyPass{
				rate:      math.Round(f * slowest),
				how:       fmt.Sprintf("%s%% of the slowest maximum (%s, %.0f req/s, from %s)", pct, who, slowest, from),
				titleText: fmt.Sprintf(" (%s%% of the slowest maximum)", pct),
				variant:   pct + "pct",
			})
		}
	}
	if len(out) == 1 {
		out[0].variant = "" // one table: named as the scenario
	}
	for _, p := range out {
		if p.rate < 1 {
			return nil, fmt.Errorf("%s: a rate of %.0f req/s (%s) sends nothing; give -rate", Latency, p.rate, p.how)
		}
	}
	return out, nil
}

// rateSpec says where an open-loop scenario's rate comes from.
type rateSpec struct {
	given     float64 // > 0: this rate
	givenFlag string
	fraction  float64 // of the slowest maximum
	scenario  string  // the scenario the rate is for, for messages
	from      string  // the closed-loop scenario whose medians are the maxima
	fromText  string
	env       *peers.Env
	peers     []*peers.Peer // probed when from did not run
	tls       *tls.Config   // the probe's
}

// fixedRate is an open-loop scenario's rate: the one given, or the
// fraction of the slowest proxy's maximum (slowestMax).
func (r *runner) fixedRate(ctx context.Context, rs rateSpec) (float64, string, error) {
	if rs.given > 0 {
		return rs.given, "given with " + rs.givenFlag, nil
	}
	slowest, who, from, err := r.slowestMax(ctx, rs)
	if err != nil {
		return 0, "", err
	}
	return math.Round(rs.fraction * slowest), fmt.Sprintf("%.0f%% of the slowest maximum (%s, %.0f req/s, from %s)", 100*rs.fraction, who, slowest, from), nil
}

// slowestMax is the slowest proxy's maximum throughput, who it is and
// where the figure comes from: a closed-loop scenario of this run when
// it ran, else a short probe of each proxy.
func (r *runner) slowestMax(ctx context.Context, rs rateSpec) (slowest float64, who, from string, err error) {
	o := r.o
	maxOf := map[string]float64{}
	for _, s := range r.res.Scenarios {
		if s.Name != rs.from {
			continue
		}
		for _, row := range s.Rows {
			if v, ok := row.Median[report.ReqPerSec]; ok {
				maxOf[row.Peer] = v
			}
		}
	}
	from = rs.fromText
	if len(maxOf) == 0 {
		from = "a 2 s closed-loop probe of each proxy"
		for _, p := range rs.peers {
			if err := ctx.Err(); err != nil {
				return 0, "", "", err
			}
			if p.Mode == peers.None {
				continue
			}
			r.progress(rs.scenario, 0, p.Name, "probing the maximum")
			in, err := p.Start(rs.env)
			if err != nil {
				if rs.tls != nil {
					continue // its rows will say why
				}
				return 0, "", "", err
			}
			res, err := load.Run(ctx, load.Config{Addrs: in.Addrs, Conns: o.Conns, Warmup: 500 * time.Millisecond, Duration: 2 * time.Second, KeepAlive: true, RespSize: o.RespSize, ReqSize: o.ReqSize, TLS: rs.tls})
			in.Stop()
			if err != nil {
				return 0, "", "", err
			}
			if res.Requests > 0 {
				maxOf[p.Name] = res.ReqPerSec()
			}
		}
	}
	slowest = math.Inf(1)
	for peer, v := range maxOf {
		if peer != report.Direct && v < slowest {
			slowest, who = v, peer
		}
	}
	if who == "" {
		// Only direct ran: its own maximum is the slowest there is.
		v, ok := maxOf[report.Direct]
		if !ok {
			return 0, "", "", fmt.Errorf("%s: no proxy gave a maximum throughput to take a share of; give %s", rs.scenario, rs.givenFlag)
		}
		slowest, who = v, report.Direct
	}
	return slowest, who, from, nil
}

func rounds(n int) string {
	if n == 1 {
		return "1 round (no median)"
	}
	return fmt.Sprintf("%d rounds", n)
}
