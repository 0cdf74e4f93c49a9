package report

import (
	"fmt"
	"image/color"
	"math"
	"path/filepath"
	"slices"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"

	"github.com/fjordlb/fjord/bench/peers"
)

// Plots writes, into dir, each request scenario's latency spectrum and,
// at a fixed rate, the latency each proxy adds over direct; the bar
// charts of proxy CPU per request, of the machine's CPU per request above
// direct's and, when handshake scenarios ran, of proxy CPU per handshake;
// each as PNG and SVG. It returns the file names written, without
// extension.
func Plots(dir string, res *Results) ([]string, error) {
	var names []string
	add := func(p *plot.Plot, name string) error {
		if p == nil {
			return nil
		}
		if err := save(p, dir, name); err != nil {
			return err
		}
		names = append(names, name)
		return nil
	}
	for _, s := range res.Scenarios {
		if s.Kind != Requests && s.Kind != Handshakes && s.Kind != Flood {
			continue
		}
		if err := add(spectrumPlot(s), "latency-"+s.Key()); err != nil {
			return names, err
		}
		if err := add(addedPlot(s), "latency-added-"+s.Key()); err != nil {
			return names, err
		}
	}
	for _, c := range []struct {
		kind        Kind
		metric      string
		name, title string
		label       string
	}{
		{Requests, CPUPerReq, "cpu-per-request", "Proxy CPU per request (median of rounds)", "CPU µs per request"},
		{Requests, MachineAboveDirect, "machine-cpu-per-request", "Whole machine's CPU per request above direct's (median of rounds)", "machine CPU µs per request above direct"},
		{Handshakes, CPUPerReq, "cpu-per-handshake", "Proxy CPU per full TLS handshake and its request (median of rounds)", "CPU µs per handshake"},
	} {
		if err := add(cpuPlot(res, c.kind, c.metric, c.title, c.label), c.name); err != nil {
			return names, err
		}
	}
	return names, nil
}

func save(p *plot.Plot, dir, name string) error {
	for _, ext := range []string{".png", ".svg"} {
		if err := p.Save(9*vg.Inch, 5.5*vg.Inch, filepath.Join(dir, name+ext)); err != nil {
			return fmt.Errorf("plot %s%s: %w", name, ext, err)
		}
	}
	return nil
}

// spectrumTicks label the x axis, 1/(1-p), with the percentile.
type spectrumTicks struct{}

func (spectrumTicks) Ticks(lo, hi float64) []plot.Tick {
	var ts []plot.Tick
	labels := []string{"0%", "90%", "99%", "99.9%", "99.99%", "99.999%", "99.9999%", "99.99999%"}
	for i, l := range labels {
		x := math.Pow(10, float64(i))
		if x >= lo/1.0001 && x <= hi*1.0001 {
			ts = append(ts, plot.Tick{Value: x, Label: l})
		}
	}
	return ts
}

// spectrumPlot draws latency against percentile on a log 1/(1-p) axis, so
// that each "nine" takes the same width: one line per peer, and for a
// flood scenario a thin dotted one per peer for its latencies without the
// flood.
func spectrumPlot(s *Scenario) *plot.Plot {
	p := plot.New()
	p.Title.Text = "Latency by percentile: " + s.Title
	p.X.Label.Text = "percentile"
	p.Y.Label.Text = "latency (µs)"
	p.X.Scale = plot.LogScale{}
	p.X.Tick.Marker = spectrumTicks{}
	p.Y.Min = 0
	p.Legend.Top = true
	p.Legend.Left = true
	p.Add(plotter.NewGrid())
	lines := 0
	for _, r := range s.Rows {
		i := peerIndex(r.Peer)
		name := r.Peer
		if s.Kind == Flood {
			name += " during the flood"
		}
		if l := spectrumLine(r.Spectrum); l != nil {
			l.Color = peerColor(i)
			l.Dashes = plotutil.Dashes(i % 3)
			l.Width = vg.Points(1.5)
			p.Add(l)
			p.Legend.Add(name, l)
			lines++
		}
		if l := spectrumLine(r.Baseline); l != nil && s.Kind == Flood {
			l.Color = peerColor(i)
			l.Dashes = []vg.Length{vg.Points(1), vg.Points(3)}
			l.Width = vg.Points(1)
			p.Add(l)
			p.Legend.Add(r.Peer+" alone", l)
			lines++
		}
	}
	if lines == 0 {
		return nil
	}
	return p
}

// spectrumLine is a spectrum's line, or nil for fewer than two points.
func spectrumLine(pts []Point) *plotter.Line {
	xys := make(plotter.XYs, 0, len(pts))
	for _, pt := range pts {
		x := 1 / (1 - pt.Percentile/100)
		if math.IsInf(x, 0) || pt.Micros < 1 {
			continue
		}
		xys = append(xys, plotter.XY{X: x, Y: float64(pt.Micros)})
	}
	if len(xys) < 2 {
		return nil
	}
	l, err := plotter.NewLine(xys)
	if err != nil {
		return nil
	}
	return l
}

// cpuPlot is a grouped bar chart: for each scenario of kind, one bar per
// proxy, the proxy's metric (direct has no proxy, so no bar).
func cpuPlot(res *Results, kind Kind, metric, title, label string) *plot.Plot {
	var scen []*Scenario
	var groups []string
	for _, s := range res.Scenarios {
		// A table without the figure (no direct to be above) is no
		// group of empty bars.
		if s.Kind == kind && s.anyHas(metric) {
			scen = append(scen, s)
			groups = append(groups, s.Key())
		}
	}
	return barPlot(title, label, groups, func(g int, peer string) (float64, bool) {
		if r := scen[g].Find(peer); r != nil && peer != Direct {
			v, ok := r.Median[metric]
			return v, ok
		}
		return 0, false
	}, peersOf(scen))
}

// addedPlot is, for an open-loop scenario, the latency each proxy adds
// over direct's at the same rate: p50, p99 and p99.9, one bar per proxy.
func addedPlot(s *Scenario) *plot.Plot {
	if s.Rate <= 0 {
		return nil
	}
	metrics := []string{AddedP50, AddedP99, AddedP999}
	title := fmt.Sprintf("Latency added over direct: %s (median of rounds)", s.Title)
	return barPlot(title, "µs added over direct", []string{"p50", "p99", "p99.9"}, func(g int, peer string) (float64, bool) {
		if r := s.Find(peer); r != nil {
			v, ok := r.Median[metrics[g]]
			return v, ok
		}
		return 0, false
	}, peersOf([]*Scenario{s}))
}

// barPlot is a grouped bar chart: one group per name in groups, in each
// one bar per peer of candidates that has a figure in some group, of
// height value(group, peer). A figure can be below 0 (one above direct's,
// within the noise); nil when no peer has a figure.
func barPlot(title, label string, groups []string, value func(g int, peer string) (float64, bool), candidates []string) *plot.Plot {
	var peers []string
	for _, peer := range candidates {
		for g := range groups {
			if _, ok := value(g, peer); ok {
				peers = append(peers, peer)
				break
			}
		}
	}
	if len(peers) == 0 {
		return nil
	}
	p := plot.New()
	p.Title.Text = title
	p.Y.Label.Text = label
	p.Legend.Top = true
	p.Legend.Left = true
	p.Legend.XOffs = vg.Points(10)
	p.Add(plotter.NewGrid())
	w := vg.Points(360 / float64(len(peers)*max(1, len(groups))))
	top, bottom := 0.0, 0.0
	for i, peer := range peers {
		vals := make(plotter.Values, len(groups))
		for g := range groups {
			// A missing figure is a gap, not a bar of 0; gonum draws a
			// 0-height bar as nothing.
			if v, ok := value(g, peer); ok && finite(v) {
				vals[g] = v
				top, bottom = max(top, v), min(bottom, v)
			}
		}
		bars, err := plotter.NewBarChart(vals, w)
		if err != nil {
			continue
		}
		bars.LineStyle.Width = 0
		bars.Color = peerColor(peerIndex(peer))
		bars.Offset = vg.Length(float64(i)-float64(len(peers)-1)/2) * w
		p.Add(bars)
		p.Legend.Add(peer, bars)
	}
	p.NominalX(groups...)
	// Room above the tallest bar, so that the legend and the bars do not
	// meet at the top.
	p.Y.Min, p.Y.Max = bottom*1.25, top*1.25
	if top == 0 {
		p.Y.Max = 1 // every figure at or below 0
	}
	return p
}

// peersOf are the peers of the scenarios, in the order they first
// appear.
func peersOf(scen []*Scenario) []string {
	var out []string
	for _, s := range scen {
		for _, r := range s.Rows {
			if !slices.Contains(out, r.Peer) {
				out = append(out, r.Peer)
			}
		}
	}
	return out
}

// peerIndex fixes each peer's colour and dash across every plot: its place
// in peers.All (which the palette below follows), or past the end.
func peerIndex(name string) int {
	names := peers.Names()
	if i := slices.Index(names, name); i >= 0 {
		return i
	}
	return len(names)
}

// palette: direct black, fjord blues, HAProxy reds, nginx greens, Go
// purple, then fjord and HAProxy with rules in a darker blue and red.
var palette = []color.Color{
	color.RGBA{0, 0, 0, 255},
	color.RGBA{31, 119, 180, 255}, color.RGBA{23, 190, 207, 255},
	color.RGBA{214, 39, 40, 255}, color.RGBA{255, 127, 14, 255},
	color.RGBA{44, 160, 44, 255}, color.RGBA{188, 189, 34, 255},
	color.RGBA{148, 103, 189, 255},
	color.RGBA{16, 60, 120, 255}, color.RGBA{140, 20, 25, 255},
}

func peerColor(i int) color.Color {
	if i < len(palette) {
		return palette[i]
	}
	return plotutil.Color(i)
}
