package report

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
)

// column is one column of a table: a metric, or the ratio of a metric to
// a reference row.
type column struct {
	head   string
	metric string
	ref    func(s *Scenario, r *Row) *Row // nil: the value itself
	format func(float64) string
	// optional columns are left out of a table where no row has the
	// figure: a machine CPU figure where /proc/stat was not readable, a
	// figure above direct where direct did not run.
	optional bool
	// positive ratios need both figures above 0: a figure above
	// direct's can be 0 or below within the noise, and a ratio to it
	// means nothing.
	positive bool
}

func haproxyRef(s *Scenario, r *Row) *Row {
	if r.Ref != "" {
		return s.Find(r.Ref)
	}
	if r.Mode != "tcp" && r.Mode != "http" {
		return nil
	}
	return s.Find("haproxy-" + r.Mode)
}

func directRef(s *Scenario, _ *Row) *Row { return s.Find(Direct) }

func ratio(v float64) string { return fmt.Sprintf("%.3f", v) }

func micros(v float64) string {
	if math.Abs(v) < 100 {
		return strconv.FormatFloat(v, 'f', 1, 64)
	}
	return thousands(v)
}

func mib(v float64) string { return strconv.FormatFloat(v/(1<<20), 'f', 1, 64) }

func plain(v float64) string {
	if v == math.Trunc(v) {
		return thousands(v)
	}
	return strconv.FormatFloat(v, 'f', 2, 64)
}

func share(v float64) string { return fmt.Sprintf("%.0f%%", 100*v) }

// thousands prints v rounded, with commas: 45,123.
func thousands(v float64) string {
	s := strconv.FormatFloat(math.Round(v), 'f', 0, 64)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

func sPerGB(v float64) string { return strconv.FormatFloat(v, 'f', 3, 64) }

func cpuMicros(v float64) string { return strconv.FormatFloat(v, 'f', 2, 64) }

// machineMicros is cpuMicros, with commas from 1,000 on: a whole
// machine's CPU per request at a low fixed rate is in the thousands.
func machineMicros(v float64) string {
	if math.Abs(v) >= 1000 {
		return thousands(v)
	}
	return cpuMicros(v)
}

// machineColumns are the whole machine's CPU beside the proxy's own:
// per unit, above direct's, and that over HAProxy's; or, where direct
// did not run (HTTPS, rules), per unit and over HAProxy's.
func machineColumns(s *Scenario, unit, perUnit, above string, format func(float64) string) []column {
	if d := s.Find(Direct); d != nil && d.Status == "" {
		return []column{
			{head: "machine " + unit, metric: perUnit, format: format, optional: true},
			{head: "machine above direct " + unit, metric: above, format: format, optional: true},
			{head: "×HAProxy", metric: above, ref: haproxyRef, format: ratio, optional: true, positive: true},
		}
	}
	return []column{
		{head: "machine " + unit, metric: perUnit, format: format, optional: true},
		{head: "×HAProxy", metric: perUnit, ref: haproxyRef, format: ratio, optional: true},
	}
}

func columns(s *Scenario) []column {
	cols := allColumns(s)
	out := cols[:0]
	for _, c := range cols {
		if !c.optional || s.anyHas(c.metric) {
			out = append(out, c)
		}
	}
	return out
}

// anyHas says whether a row of the scenario has a median of metric.
func (s *Scenario) anyHas(metric string) bool {
	for _, r := range s.Rows {
		if _, ok := r.Median[metric]; ok && r.Status == "" {
			return true
		}
	}
	return false
}

func allColumns(s *Scenario) []column {
	switch s.Kind {
	case Bulk:
		cols := []column{
			{head: "GB/s", metric: GBPerSec, format: func(v float64) string { return strconv.FormatFloat(v, 'f', 2, 64) }},
			{head: "×direct", metric: GBPerSec, ref: directRef, format: ratio},
			{head: "CPU s/GB", metric: CPUPerGB, format: sPerGB},
			{head: "×HAProxy", metric: CPUPerGB, ref: haproxyRef, format: ratio},
		}
		cols = append(cols, machineColumns(s, "s/GB", MachinePerGB, MachineGBAboveDirect, sPerGB)...)
		return append(cols,
			column{head: "RSS MiB", metric: RSS, format: mib},
			column{head: "gen CPU", metric: GenCPU, format: share},
			column{head: "load CPU", metric: LoadCPU, format: share},
		)
	case Idle:
		return []column{
			{head: "held", metric: Held, format: plain},
			{head: "RSS MiB", metric: RSS, format: mib},
			{head: "RSS B/conn", metric: RSSPerConn, format: thousands},
			{head: "×HAProxy", metric: RSSPerConn, ref: haproxyRef, format: ratio},
			{head: "fds/conn", metric: FDsPerConn, format: func(v float64) string { return strconv.FormatFloat(v, 'f', 2, 64) }},
		}
	case Flood:
		return []column{
			{head: "req/s", metric: ReqPerSec, format: thousands},
			{head: "p50 µs alone", metric: AloneP50, format: micros},
			{head: "p99 µs alone", metric: AloneP99, format: micros},
			{head: "p99.9 µs alone", metric: AloneP999, format: micros},
			{head: "p50 µs flood", metric: P50, format: micros},
			{head: "p99 µs flood", metric: P99, format: micros},
			{head: "p99.9 µs flood", metric: P999, format: micros},
			{head: "max µs flood", metric: Max, format: micros},
			{head: "p99 ×alone", metric: P99OverAlone, format: ratio},
			{head: "p99.9 ×alone", metric: P999OverAlone, format: ratio},
			{head: "p99 flood ×HAProxy", metric: P99, ref: haproxyRef, format: ratio},
			{head: "handshakes/s", metric: FloodPerSec, format: thousands},
			{head: "×HAProxy", metric: FloodPerSec, ref: haproxyRef, format: ratio},
			{head: "proxy CPU", metric: ProxyBusy, format: share},
			{head: "gen CPU", metric: GenCPU, format: share},
			{head: "load CPU", metric: LoadCPU, format: share},
		}
	}
	unit := "µs/req"
	if s.Kind == Handshakes {
		unit = "µs/handshake"
	}
	cols := []column{
		{head: "req/s", metric: ReqPerSec, format: thousands},
		{head: "×HAProxy", metric: ReqPerSec, ref: haproxyRef, format: ratio},
		{head: "×direct", metric: ReqPerSec, ref: directRef, format: ratio},
		{head: "p50 µs", metric: P50, format: micros},
		{head: "p99 µs", metric: P99, format: micros},
		{head: "p99.9 µs", metric: P999, format: micros},
		{head: "max µs", metric: Max, format: micros},
		{head: "stddev µs", metric: StdDev, format: micros},
		{head: "p99−p50 µs", metric: Spread, format: micros},
		{head: "p99 ×HAProxy", metric: P99, ref: haproxyRef, format: ratio},
		// At a fixed rate: what each proxy adds to direct's latency.
		{head: "added p50 µs", metric: AddedP50, format: micros, optional: true},
		{head: "added p99 µs", metric: AddedP99, format: micros, optional: true},
		{head: "added p99.9 µs", metric: AddedP999, format: micros, optional: true},
		{head: "CPU " + unit, metric: CPUPerReq, format: cpuMicros},
		{head: "×HAProxy", metric: CPUPerReq, ref: haproxyRef, format: ratio},
	}
	cols = append(cols, machineColumns(s, unit, MachinePerReq, MachineAboveDirect, machineMicros)...)
	cols = append(cols,
		column{head: "RSS MiB", metric: RSS, format: mib},
		column{head: "gen CPU", metric: GenCPU, format: share},
		column{head: "load CPU", metric: LoadCPU, format: share},
	)
	if s.TLS != "" || s.Find(Direct) == nil {
		// No direct connection speaks TLS, and a scenario that compares
		// only proxies (rules-keepalive) runs none: no ×direct.
		cols = append(cols[:2], cols[3:]...)
	}
	if s.Kind == Handshakes {
		cols[0].head = "handshakes/s"
	}
	return cols
}

// cell is a row's figure in a column: "—" when the row has no such figure
// (direct has no proxy CPU) or its reference is missing.
func (c column) cell(s *Scenario, r *Row) string {
	v, ok := r.Median[c.metric]
	if !ok {
		return "—"
	}
	if c.ref != nil {
		ref := c.ref(s, r)
		if ref == nil || ref.Status != "" {
			return "—"
		}
		rv, ok := ref.Median[c.metric]
		if !ok || (c.positive && (v <= 0 || rv <= 0)) {
			return "—"
		}
		if v, ok = Ratio(v, rv); !ok {
			return "—"
		}
	}
	return c.format(v)
}

// Markdown writes one table per scenario. A peer that did not run has one
// cell saying why across the row: "not installed", never a 0.
func Markdown(w io.Writer, res *Results) error {
	var b strings.Builder
	for _, s := range res.Scenarios {
		fmt.Fprintf(&b, "### %s\n\n%s\n\n", s.Title, s.Params)
		cols := columns(s)
		b.WriteString("| proxy |")
		for _, c := range cols {
			b.WriteString(" " + c.head + " |")
		}
		b.WriteString("\n|---|")
		b.WriteString(strings.Repeat("---:|", len(cols)))
		b.WriteString("\n")
		var notes []string
		for _, r := range s.Rows {
			fmt.Fprintf(&b, "| %s |", r.Peer)
			for _, n := range r.Notes {
				notes = append(notes, r.Peer+": "+n)
			}
			if r.Status != "" {
				fmt.Fprintf(&b, " %s |%s\n", firstLine(r.Status), strings.Repeat(" |", len(cols)-1))
				continue
			}
			for _, c := range cols {
				b.WriteString(" " + c.cell(s, r) + " |")
			}
			b.WriteString("\n")
		}
		notes = append(tlsNotes(s), notes...)
		for _, n := range notes {
			fmt.Fprintf(&b, "\n- %s", n)
		}
		if len(notes) > 0 {
			b.WriteString("\n")
		}
		b.WriteString("\n")
		if s.PerRound {
			roundsTable(&b, s)
		}
	}
	for _, sum := range res.Summaries {
		sum.markdown(&b)
	}
	for _, ts := range res.Targets {
		ts.markdown(&b)
	}
	if len(res.Warnings) > 0 {
		b.WriteString("Warnings:\n\n")
		for _, w := range res.Warnings {
			fmt.Fprintf(&b, "- %s\n", w)
		}
		b.WriteString("\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// roundsTable writes every round of every row that ran, in the order
// they ran: the figures whose medians the scenario's table shows, for a
// reader looking for the one bad round (a stall) that a median hides.
func roundsTable(b *strings.Builder, s *Scenario) {
	type ran struct {
		n    int
		peer string
		m    Round
	}
	var all []ran
	for _, r := range s.Rows {
		for i, m := range r.Rounds {
			if i < len(r.RoundNumbers) {
				all = append(all, ran{r.RoundNumbers[i], r.Peer, m})
			}
		}
	}
	if len(all) == 0 {
		return
	}
	// Stable: within a round, the rows' order, which is the order they ran.
	slices.SortStableFunc(all, func(a, b ran) int { return a.n - b.n })
	var cols []column
	for _, c := range allColumns(s) {
		if c.ref != nil {
			continue // a ratio to another row is the medians' business
		}
		cols = append(cols, c)
		if c.metric == ReqPerSec {
			cols = append(cols,
				column{head: "answered ÷ due", metric: OnSchedule, format: share},
				column{head: "pacer late µs", metric: PacerLate, format: micros})
		}
	}
	cols = append(cols,
		column{head: "machine busy", metric: MachineBusy, format: share},
		column{head: "others' share", metric: MachineOthers, format: share},
		column{head: "stolen ms", metric: MachineStolen, format: plain})
	kept := cols[:0]
	for _, c := range cols {
		if slices.ContainsFunc(all, func(r ran) bool { _, ok := r.m[c.metric]; return ok }) {
			kept = append(kept, c)
		}
	}
	cols = kept
	fmt.Fprintf(b, "Every round of %s:\n\n| round | proxy |", s.Title)
	for _, c := range cols {
		b.WriteString(" " + c.head + " |")
	}
	if s.Rate > 0 {
		b.WriteString(" behind the schedule |")
	}
	b.WriteString("\n|---:|---|" + strings.Repeat("---:|", len(cols)))
	if s.Rate > 0 {
		b.WriteString("---|")
	}
	b.WriteString("\n")
	for _, r := range all {
		fmt.Fprintf(b, "| %d | %s |", r.n, r.peer)
		for _, c := range cols {
			if v, ok := r.m[c.metric]; ok {
				b.WriteString(" " + c.format(v) + " |")
			} else {
				b.WriteString(" — |")
			}
		}
		if s.Rate > 0 {
			behind := "no"
			if _, ok := r.m[OnSchedule]; !ok {
				behind = "—"
			} else if Behind(r.m) {
				behind = "**yes**"
			}
			b.WriteString(" " + behind + " |")
		}
		b.WriteString("\n")
	}
	b.WriteString("\n")
}

// tlsNotes say what the rows' TLS sessions negotiated: in one line when
// every peer agreed on the same, else one line per peer.
func tlsNotes(s *Scenario) []string {
	var ran []*Row
	for _, r := range s.Rows {
		if len(r.TLS) > 0 {
			ran = append(ran, r)
		}
	}
	if len(ran) == 0 {
		return nil
	}
	same := true
	for _, r := range ran {
		same = same && len(r.TLS) == 1 && r.TLS[0] == ran[0].TLS[0]
	}
	if same {
		return []string{fmt.Sprintf("every proxy that ran negotiated %s", ran[0].TLS[0])}
	}
	var out []string
	for _, r := range ran {
		out = append(out, fmt.Sprintf("%s negotiated %s", r.Peer, strings.Join(r.TLS, "; ")))
	}
	return out
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return strings.ReplaceAll(s, "|", "\\|")
}
