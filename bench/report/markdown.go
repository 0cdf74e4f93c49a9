package report

import (
	"fmt"
	"io"
	"math"
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

func directRef(s *Scenario, _ *Row) *Row { return s.Find("direct") }

func ratio(v float64) string { return fmt.Sprintf("%.3f", v) }

func micros(v float64) string {
	if v < 100 {
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

func columns(s *Scenario) []column {
	switch s.Kind {
	case Bulk:
		return []column{
			{"GB/s", GBPerSec, nil, func(v float64) string { return strconv.FormatFloat(v, 'f', 2, 64) }},
			{"×direct", GBPerSec, directRef, ratio},
			{"CPU s/GB", CPUPerGB, nil, func(v float64) string { return strconv.FormatFloat(v, 'f', 3, 64) }},
			{"×HAProxy", CPUPerGB, haproxyRef, ratio},
			{"RSS MiB", RSS, nil, mib},
			{"gen CPU", GenCPU, nil, share},
			{"load CPU", LoadCPU, nil, share},
		}
	case Idle:
		return []column{
			{"held", Held, nil, plain},
			{"RSS MiB", RSS, nil, mib},
			{"RSS B/conn", RSSPerConn, nil, thousands},
			{"×HAProxy", RSSPerConn, haproxyRef, ratio},
			{"fds/conn", FDsPerConn, nil, func(v float64) string { return strconv.FormatFloat(v, 'f', 2, 64) }},
		}
	case Flood:
		return []column{
			{"req/s", ReqPerSec, nil, thousands},
			{"p50 µs alone", AloneP50, nil, micros},
			{"p99 µs alone", AloneP99, nil, micros},
			{"p99.9 µs alone", AloneP999, nil, micros},
			{"p50 µs flood", P50, nil, micros},
			{"p99 µs flood", P99, nil, micros},
			{"p99.9 µs flood", P999, nil, micros},
			{"max µs flood", Max, nil, micros},
			{"p99 ×alone", P99OverAlone, nil, ratio},
			{"p99.9 ×alone", P999OverAlone, nil, ratio},
			{"p99 flood ×HAProxy", P99, haproxyRef, ratio},
			{"handshakes/s", FloodPerSec, nil, thousands},
			{"×HAProxy", FloodPerSec, haproxyRef, ratio},
			{"proxy CPU", ProxyBusy, nil, share},
			{"gen CPU", GenCPU, nil, share},
			{"load CPU", LoadCPU, nil, share},
		}
	}
	cols := []column{
		{"req/s", ReqPerSec, nil, thousands},
		{"×HAProxy", ReqPerSec, haproxyRef, ratio},
		{"×direct", ReqPerSec, directRef, ratio},
		{"p50 µs", P50, nil, micros},
		{"p99 µs", P99, nil, micros},
		{"p99.9 µs", P999, nil, micros},
		{"max µs", Max, nil, micros},
		{"stddev µs", StdDev, nil, micros},
		{"p99−p50 µs", Spread, nil, micros},
		{"p99 ×HAProxy", P99, haproxyRef, ratio},
		{"CPU µs/req", CPUPerReq, nil, func(v float64) string { return strconv.FormatFloat(v, 'f', 2, 64) }},
		{"×HAProxy", CPUPerReq, haproxyRef, ratio},
		{"RSS MiB", RSS, nil, mib},
		{"gen CPU", GenCPU, nil, share},
		{"load CPU", LoadCPU, nil, share},
	}
	if s.TLS != "" || s.Find("direct") == nil {
		// No direct connection speaks TLS, and a scenario that compares
		// only proxies (rules-keepalive) runs none: no ×direct.
		cols = append(cols[:2], cols[3:]...)
	}
	if s.Kind == Handshakes {
		for i := range cols {
			switch cols[i].head {
			case "req/s":
				cols[i].head = "handshakes/s"
			case "CPU µs/req":
				cols[i].head = "CPU µs/handshake"
			}
		}
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
		if !ok {
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
	}
	for _, sum := range res.Summaries {
		sum.markdown(&b)
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
