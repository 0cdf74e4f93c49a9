package report

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Summary is a table of figures from several scenarios: one column per
// peer, each peer's ratio to a reference peer, and for one peer a target
// ratio and whether it is met. The HTTPS scenarios end with one.
type Summary struct {
	Title  string   `json:"title"`
	Text   string   `json:"text,omitempty"`
	Peers  []string `json:"peers"`  // the columns, in order
	Ref    string   `json:"ref"`    // ratios are over this peer's figure
	Target string   `json:"target"` // the peer the targets are for
	// Ratioed are the peers that have a ratio to Ref; nil is every peer
	// but Ref.
	Ratioed []string      `json:"ratioed,omitempty"`
	Rows    []*SummaryRow `json:"rows"`
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

// AddPeerQuotient adds a row of one peer's metric over another's in the
// same scenario sc (nil: it did not run): what num costs relative to
// den, measured side by side. The quotient is num's figure, and the
// target max (0: none) is on the quotient itself, not on a ratio to
// Ref. The other peers have no figure in this row.
func (sum *Summary) AddPeerQuotient(figure string, sc *Scenario, metric, num, den string, max float64) *SummaryRow {
	row := &SummaryRow{Figure: figure, Unit: UnitRatio, Values: map[string]float64{}, Status: map[string]string{}, Ratios: map[string]float64{}, Max: max}
	if sc != nil {
		row.Scenario = sc.Name
	}
	for _, p := range sum.Peers {
		if p != num {
			row.Status[p] = "—"
		}
	}
	// Why num has no figure: its own row's reason first, then den's.
	status := func(p string) string {
		var r *Row
		if sc != nil {
			r = sc.Find(p)
		}
		switch {
		case r == nil:
			return "not run"
		case r.Status != "":
			return shortStatus(r.Status)
		}
		if _, ok := r.Median[metric]; !ok {
			return "no figure"
		}
		return ""
	}
	if st := status(num); st != "" {
		row.Status[num] = st
	} else if st := status(den); st != "" {
		row.Status[num] = den + " " + st
	} else if q, ok := Ratio(sc.Find(num).Median[metric], sc.Find(den).Median[metric]); ok {
		row.Values[num] = q
		if max > 0 && num == sum.Target {
			met := q <= max
			row.Met = &met
		}
	} else {
		row.Status[num] = "no figure"
	}
	sum.Rows = append(sum.Rows, row)
	return row
}

// ratioed are the peers with a ratio to Ref.
func (sum *Summary) ratioed() []string {
	if sum.Ratioed != nil {
		return sum.Ratioed
	}
	var out []string
	for _, p := range sum.Peers {
		if p != sum.Ref {
			out = append(out, p)
		}
	}
	return out
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
		if ok && (p == sum.Ref || slices.Contains(sum.ratioed(), p)) {
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
	others := sum.ratioed()
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
