package report

import (
	"fmt"
	"math"
	"strings"
)

// Targets is a table of one peer's figures against the best of other
// peers' in the same table of the same run: a plan's targets, such as
// issue 20's "machine CPU above direct at most 0.70× HAProxy's".
type Targets struct {
	Title string         `json:"title"`
	Text  string         `json:"text,omitempty"`
	Rows  []*TargetCheck `json:"rows"`
}

// TargetCheck is one target: Peer's Metric in scenario Scenario over the
// lowest figure among Against (the best of them; one peer: that peer's),
// at most Max, or at least Min.
type TargetCheck struct {
	Figure   string   `json:"figure"`
	Scenario string   `json:"scenario"` // the table's key: "latency-20pct"
	Metric   string   `json:"metric"`
	Peer     string   `json:"peer"`
	Against  []string `json:"against"`
	// HigherIsBetter compares with the highest figure of Against, not
	// the lowest (throughput).
	HigherIsBetter bool    `json:"higher_is_better,omitempty"`
	Max            float64 `json:"target_max_ratio,omitempty"`
	Min            float64 `json:"target_min_ratio,omitempty"`

	// Filled by Check: the figures, the peer they are compared with,
	// the ratio and whether it meets the target; or why there is none.
	Value     float64 `json:"value,omitempty"`
	Best      string  `json:"best,omitempty"`
	BestValue float64 `json:"best_value,omitempty"`
	Ratio     float64 `json:"ratio,omitempty"`
	Met       *bool   `json:"met,omitempty"`
	Status    string  `json:"status,omitempty"`
	// Missing are peers of Against that had no figure: the best is of
	// the others.
	Missing []string `json:"missing,omitempty"`
}

// Check computes the target's figures from sc (nil: the scenario did not
// run).
func (t *TargetCheck) Check(sc *Scenario) {
	value, status := figure(sc, t.Peer, t.Metric)
	if status != "" {
		t.Status = t.Peer + " " + status
		return
	}
	t.Value = value
	found := false
	for _, p := range t.Against {
		v, st := figure(sc, p, t.Metric)
		if st != "" {
			t.Missing = append(t.Missing, p+" "+st)
			continue
		}
		better := v < t.BestValue
		if t.HigherIsBetter {
			better = v > t.BestValue
		}
		if !found || better {
			t.Best, t.BestValue, found = p, v, true
		}
	}
	if !found {
		t.Status = "no peer's figure: " + strings.Join(t.Missing, ", ")
		return
	}
	// A ratio to a figure of 0 or below (a cost above direct's within the
	// noise) says nothing, and a negative one would read as met.
	if t.BestValue <= 0 || t.Value < 0 {
		t.Status = fmt.Sprintf("%s %s, %s %s: at or below 0, within the noise; no ratio", t.Peer, plainFigure(t.Value), t.Best, plainFigure(t.BestValue))
		return
	}
	t.Ratio = t.Value / t.BestValue
	met := true
	if t.Max > 0 {
		met = met && t.Ratio <= t.Max
	}
	if t.Min > 0 {
		met = met && t.Ratio >= t.Min
	}
	if t.Max > 0 || t.Min > 0 {
		t.Met = &met
	}
}

// figure is peer's median of metric in sc, or why there is none.
func figure(sc *Scenario, peer, metric string) (float64, string) {
	if sc == nil {
		return 0, "not run"
	}
	r := sc.Find(peer)
	switch {
	case r == nil:
		return 0, "not run"
	case r.Status != "":
		return 0, shortStatus(r.Status)
	}
	v, ok := r.Median[metric]
	if !ok || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, "no figure"
	}
	return v, ""
}

// plainFigure prints a figure of any unit: with commas from 1,000 on,
// else to three decimals without trailing zeros.
func plainFigure(v float64) string {
	if math.Abs(v) >= 1000 {
		return thousands(v)
	}
	return strings.TrimRight(strings.TrimRight(fmt.Sprintf("%.3f", v), "0"), ".")
}

func (t *TargetCheck) target() string {
	switch {
	case t.Max > 0 && t.Min > 0:
		return fmt.Sprintf("%.2f× to %.2f×", t.Min, t.Max)
	case t.Max > 0:
		return fmt.Sprintf("≤ %.2f×", t.Max)
	case t.Min > 0:
		return fmt.Sprintf("≥ %.2f×", t.Min)
	}
	return "—"
}

// markdown writes the targets as a table: each figure, the peer's, the
// best peer's and which, the ratio, the target, and whether it is met.
func (ts *Targets) markdown(b *strings.Builder) {
	fmt.Fprintf(b, "### %s\n\n", ts.Title)
	if ts.Text != "" {
		fmt.Fprintf(b, "%s\n\n", ts.Text)
	}
	b.WriteString("| figure | table | proxy | its figure | against | their figure | ratio | target | met |\n|---|---|---|---:|---|---:|---:|---|---|\n")
	for _, t := range ts.Rows {
		against := strings.Join(t.Against, ", ")
		if len(t.Against) > 1 {
			against = "best of " + against
		}
		if t.Status != "" {
			fmt.Fprintf(b, "| %s | %s | %s | %s | %s | | | %s | — |\n", t.Figure, t.Scenario, t.Peer, firstLine(t.Status), against, t.target())
			continue
		}
		met := "—"
		if t.Met != nil {
			met = "yes"
			if !*t.Met {
				met = "**no**"
			}
		}
		best := t.Best
		if len(t.Against) > 1 {
			best = "best: " + t.Best
		}
		fmt.Fprintf(b, "| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", t.Figure, t.Scenario, t.Peer, plainFigure(t.Value), best, plainFigure(t.BestValue), ratio(t.Ratio), t.target(), met)
	}
	var notes []string
	for _, t := range ts.Rows {
		if t.Status == "" && len(t.Missing) > 0 {
			notes = append(notes, fmt.Sprintf("%s, %s: best of the peers with a figure (%s)", t.Figure, t.Scenario, strings.Join(t.Missing, ", ")))
		}
	}
	for _, n := range notes {
		fmt.Fprintf(b, "\n- %s", n)
	}
	if len(notes) > 0 {
		b.WriteString("\n")
	}
	b.WriteString("\n")
}
