package report

import (
	"fmt"
	"strconv"
	"strings"
)

// Summary is a table of figures from several scenarios: one column per
// peer, each peer's ratio to a reference peer, and for one peer a target
// ratio and whether it is met. The HTTPS scenarios end with one.
type Summary struct {
	Title  string        `json:"title"`
	Text   string        `json:"text,omitempty"`
	Peers  []string      `json:"peers"`  // the columns, in order
	Ref    string        `json:"ref"`    // ratios are over this peer's figure
	Target string        `json:"target"` // the peer the targets are for
	Rows   []*SummaryRow `json:"rows"`
}

// Units of a summary's figures, which say how to print them.
const (
	UnitMicros   = "us"
	UnitSPerGB   = "s/GB"
	UnitRatio    = "ratio"
	UnitPerSec   = "per_s"
	UnitFraction = "share"
)

// SummaryRow is one figure for every peer.
type SummaryRow struct {
	Figure   string             `json:"figure"`
	Scenario string             `json:"scenario"`
	Unit     string             `json:"unit"`
	Values   map[string]float64 `json:"values,omitempty"`
	// Status says why a peer has no figure: "refused", "not installed",
	// "failed", "not run".
	Status map[string]string `json:"status,omitempty"`
	// Ratios are each peer's figure over Ref's.
	Ratios map[string]float64 `json:"ratios,omitempty"`
	// Max, when above 0, is the target: Target's ratio is at most Max.
	Max float64 `json:"target_max_ratio,omitempty"`
	// Met says whether the target is met; nil without a target or a
	// ratio.
	Met *bool `json:"met,omitempty"`
}

// shortStatus is the first words of a row's status: "refused",
// "not installed", "failed".
func shortStatus(s string) string {
	if i := strings.IndexByte(s, ':'); i >= 0 {
		s = s[:i]
	}
	return strings.TrimSpace(s)
}

// Add adds a row of the figure metric from scenario sc (nil: it did not
// run), with the target max (0: none).
func (sum *Summary) Add(figure, unit string, sc *Scenario, metric string, max float64) *SummaryRow {
	return sum.add(figure, unit, sc, max, func(r *Row) (float64, bool) {
		v, ok := r.Median[metric]
		return v, ok
	})
}

// AddQuotient adds a row of a's metric over b's, peer by peer: what a
// costs relative to b (b nil: no figures).
func (sum *Summary) AddQuotient(figure string, a, b *Scenario, metric string) *SummaryRow {
	return sum.add(figure, UnitRatio, a, 0, func(r *Row) (float64, bool) {
		if b == nil {
			return 0, false
		}
		rb := b.Find(r.Peer)
		if rb == nil || rb.Status != "" {
			return 0, false
		}
		return Ratio(r.Median[metric], rb.Median[metric])
	})
}

func (sum *Summary) add(figure, unit string, sc *Scenario, max float64, value func(*Row) (float64, bool)) *SummaryRow {
	row := &SummaryRow{Figure: figure, Unit: unit, Values: map[string]float64{}, Status: map[string]string{}, Ratios: map[string]float64{}, Max: max}
	if sc != nil {
		row.Scenario = sc.Name
	}
	for _, p := range sum.Peers {
		var r *Row
		if sc != nil {
			r = sc.Find(p)
		}
		switch {
		case r == nil:
			row.Status[p] = "not run"
		case r.Status != "":
			row.Status[p] = shortStatus(r.Status)
		default:
			if v, ok := value(r); ok {
				row.Values[p] = v
			} else {
				row.Status[p] = "no figure"
			}
		}
	}
	ref, ok := row.Values[sum.Ref]
	for p, v := range row.Values {
		if ok {
			if q, ok := Ratio(v, ref); ok {
				row.Ratios[p] = q
			}
		}
	}
	if q, ok := row.Ratios[sum.Target]; ok && max > 0 {
		met := q <= max
		row.Met = &met
	}
	sum.Rows = append(sum.Rows, row)
	return row
}

func (row *SummaryRow) format(v float64) string {
	switch row.Unit {
	case UnitMicros:
		return micros(v)
	case UnitSPerGB:
		return strconv.FormatFloat(v, 'f', 3, 64)
	case UnitPerSec:
		return thousands(v)
	case UnitFraction:
		return share(v)
	}
	return ratio(v)
}

// markdown writes the summary as a table.
func (sum *Summary) markdown(b *strings.Builder) {
	fmt.Fprintf(b, "### %s\n\n", sum.Title)
	if sum.Text != "" {
		fmt.Fprintf(b, "%s\n\n", sum.Text)
	}
	var others []string
	for _, p := range sum.Peers {
		if p != sum.Ref {
			others = append(others, p)
		}
	}
	b.WriteString("| figure |")
	for _, p := range sum.Peers {
		fmt.Fprintf(b, " %s |", p)
	}
	for _, p := range others {
		fmt.Fprintf(b, " %s ×%s |", p, sum.Ref)
	}
	fmt.Fprintf(b, " target for %s | met |\n|---|%s---|---|\n", sum.Target, strings.Repeat("---:|", len(sum.Peers)+len(others)))
	for _, row := range sum.Rows {
		fmt.Fprintf(b, "| %s |", row.Figure)
		for _, p := range sum.Peers {
			if v, ok := row.Values[p]; ok {
				fmt.Fprintf(b, " %s |", row.format(v))
			} else {
				fmt.Fprintf(b, " %s |", row.Status[p])
			}
		}
		for _, p := range others {
			if q, ok := row.Ratios[p]; ok {
				fmt.Fprintf(b, " %s |", ratio(q))
			} else {
				b.WriteString(" — |")
			}
		}
		target, met := "—", "—"
		if row.Max > 0 {
			target = fmt.Sprintf("≤ %.2f×", row.Max)
		}
		if row.Met != nil {
			met = "yes"
			if !*row.Met {
				met = "**no**"
			}
		}
		fmt.Fprintf(b, " %s | %s |\n", target, met)
	}
	b.WriteString("\n")
}
