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

// Plots writes, into dir, each request scenario's latency spectrum, the
// bar chart of proxy CPU per request and, when handshake scenarios ran,
// per handshake, each as PNG and SVG. It returns the file names written,
// without extension.
func Plots(dir string, res *Results) ([]string, error) {
	var names []string
	for _, s := range res.Scenarios {
		if s.Kind != Requests && s.Kind != Handshakes && s.Kind != Flood {
			continue
		}
		p := spectrumPlot(s)
		if p == nil {
			continue
		}
		name := "latency-" + s.Name
		if err := save(p, dir, name); err != nil {
			return names, err
		}
		names = append(names, name)
	}
	for _, c := range []struct {
		kind        Kind
		name, title string
		label       string
	}{
		{Requests, "cpu-per-request", "Proxy CPU per request (median of rounds)", "CPU µs per request"},
		{Handshakes, "cpu-per-handshake", "Proxy CPU per full TLS handshake and its request (median of rounds)", "CPU µs per handshake"},
	} {
		if p := cpuPlot(res, c.kind, c.title, c.label); p != nil {
			if err := save(p, dir, c.name); err != nil {
				return names, err
			}
			names = append(names, c.name)
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
// proxy, the proxy's CPU µs per request (direct has no proxy, so no bar).
func cpuPlot(res *Results, kind Kind, title, label string) *plot.Plot {
	var scen []*Scenario
	for _, s := range res.Scenarios {
		if s.Kind == kind {
			scen = append(scen, s)
		}
	}
	// The peers, in the order they first appear, that have a figure.
	var peers []string
	seen := map[string]bool{}
	for _, s := range scen {
		for _, r := range s.Rows {
			if _, ok := r.Median[CPUPerReq]; ok && !seen[r.Peer] {
				seen[r.Peer] = true
				peers = append(peers, r.Peer)
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
	w := vg.Points(360 / float64(len(peers)*max(1, len(scen))))
	top := 0.0
	for i, peer := range peers {
		vals := make(plotter.Values, len(scen))
		for j, s := range scen {
			// A missing figure is a gap, not a bar of 0; gonum draws a
			// 0-height bar as nothing.
			if r := s.Find(peer); r != nil {
				vals[j] = r.Median[CPUPerReq]
				top = max(top, vals[j])
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
	var names []string
	for _, s := range scen {
		names = append(names, s.Name)
	}
	p.NominalX(names...)
	// Room above the tallest bar, so that the legend and the bars do not
	// meet at the top.
	p.Y.Min, p.Y.Max = 0, top*1.25
	return p
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
