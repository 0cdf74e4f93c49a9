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

func columns(k Kind) []column {
	switch k {
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
	}
	return []column{
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
		cols := columns(s.Kind)
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
		for _, n := range notes {
			fmt.Fprintf(&b, "\n- %s", n)
		}
		if len(notes) > 0 {
			b.WriteString("\n")
		}
		b.WriteString("\n")
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

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return strings.ReplaceAll(s, "|", "\\|")
}
