package report

import (
	"fmt"
	"image/color"
	"os"
	"slices"
	"strings"

	"github.com/roomcast/sse/bench/internal/load"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// Colours: roomcast red, the floors grey, the peers in turn from peerColors.
var (
	roomcastColor = color.RGBA{R: 0xd6, G: 0x27, B: 0x28, A: 0xff}
	denseColor    = color.RGBA{R: 0x8c, G: 0x10, B: 0x10, A: 0xff} // roomcast-dense, a darker red
	floorColors   = map[string]color.Color{
		"floor":      color.RGBA{R: 0x60, G: 0x60, B: 0x60, A: 0xff},
		"floor-chan": color.RGBA{R: 0xb0, G: 0xb0, B: 0xb0, A: 0xff},
		"floor-park": color.RGBA{R: 0x20, G: 0x20, B: 0x20, A: 0xff},
	}
	peerColors = []color.Color{
		color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff}, // blue
		color.RGBA{R: 0x2c, G: 0xa0, B: 0x2c, A: 0xff}, // green
		color.RGBA{R: 0x94, G: 0x67, B: 0xbd, A: 0xff}, // purple
		color.RGBA{R: 0xff, G: 0x7f, B: 0x0e, A: 0xff}, // orange
		color.RGBA{R: 0x17, G: 0xbe, B: 0xcf, A: 0xff}, // cyan
	}
)

func (r *Report) color(impl string) color.Color {
	switch impl {
	case "roomcast":
		return roomcastColor
	case "roomcast-dense":
		return denseColor
	}
	if c, ok := floorColors[impl]; ok {
		return c
	}
	i := max(0, slices.Index(r.Peers(), impl))
	return peerColors[i%len(peerColors)]
}

// panel is one chart: one group of bars per scenario, one bar per
// implementation.
type panel struct {
	title, ylabel string
	scenarios     []Scenario
	value         func(*Run) (float64, bool)
	// limit, if positive, caps the axis; longer bars are cut there and
	// the title says so, so that one slow implementation does not
	// flatten the others.
	limit float64
}

// WritePlot draws the throughput, latency, memory and CPU charts into one
// PNG at path.
func (r *Report) WritePlot(path string) error {
	panels := []panel{
		{
			title: "Fan-out throughput (higher is better)", ylabel: "million deliveries / s",
			scenarios: r.OfKind(Throughput),
			value:     func(run *Run) (float64, bool) { return run.Result.DeliveriesPerS / 1e6, true },
		},
		{
			title: "p99 latency (lower is better)", ylabel: "ms",
			scenarios: r.OfKind(Latency),
			value:     func(run *Run) (float64, bool) { return run.Result.Latency.P99, true },
		},
		{
			title: "Idle memory per connection (lower is better)", ylabel: "KiB heap + stacks",
			scenarios: r.OfKind(Idle),
			value: func(run *Run) (float64, bool) {
				if run.Result.Server == nil {
					return 0, false
				}
				return run.Result.Server.HeapStacksPerConn / 1024, true
			},
		},
		{
			title: "Server CPU per million deliveries (lower is better)", ylabel: "CPU s",
			scenarios: r.OfKind(Throughput), limit: 15,
			value: func(run *Run) (float64, bool) {
				if run.Result.Server == nil {
					return 0, false
				}
				return run.Result.Server.CPUPerMillion, true
			},
		},
	}
	plots := [][]*plot.Plot{make([]*plot.Plot, 2), make([]*plot.Plot, 2)}
	for i, pn := range panels {
		p, err := r.barChart(pn)
		if err != nil {
			return err
		}
		plots[i/2][i%2] = p
	}
	const w, h = 30 * vg.Centimeter, 20 * vg.Centimeter
	img := vgimg.New(w, h)
	dc := draw.New(img)
	tiles := draw.Tiles{Rows: 2, Cols: 2, PadX: vg.Centimeter, PadY: vg.Centimeter,
		PadTop: vg.Centimeter / 2, PadBottom: vg.Centimeter, PadLeft: vg.Centimeter / 2, PadRight: vg.Centimeter / 2}
	canvases := plot.Align(plots, tiles, dc)
	for i := range plots {
		for j := range plots[i] {
			plots[i][j].Draw(canvases[i][j])
		}
	}
	// The machine, along the bottom edge.
	m := r.Machine
	caption := plot.New().Title.TextStyle
	caption.Font.Size = vg.Points(9)
	caption.XAlign = draw.XCenter
	dc.FillText(caption, vg.Point{X: w / 2, Y: vg.Centimeter / 3},
		fmt.Sprintf("%s, %d cores, %s, %s; server and load generator on the same machine", m.CPU, m.Cores, m.Go, m.Date))
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func (r *Report) barChart(pn panel) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = pn.title
	p.Y.Label.Text = pn.ylabel
	p.Legend.Top = true
	p.Legend.TextStyle.Font.Size = vg.Points(8)
	if len(pn.scenarios) == 0 {
		p.X.Label.Text = "not measured"
		return p, nil
	}
	labels := make([]string, len(pn.scenarios))
	for i, sc := range pn.scenarios {
		labels[i] = strings.ReplaceAll(sc.Label, " / ", "\n")
	}
	n := len(r.Impls)
	width := vg.Points(min(14, 220/float64(n*len(pn.scenarios))))
	top, cut := 0.0, false
	for k, im := range r.Impls {
		vals := make(plotter.Values, len(pn.scenarios))
		for i, sc := range pn.scenarios {
			if run := r.Pick(sc.Name, im); run != nil {
				if v, ok := pn.value(run); ok {
					if pn.limit > 0 && v > pn.limit {
						v, cut = pn.limit, true
					}
					vals[i] = v
					top = max(top, v)
				}
			}
		}
		bars, err := plotter.NewBarChart(vals, width)
		if err != nil {
			return nil, fmt.Errorf("report: %s: %w", pn.title, err)
		}
		bars.LineStyle.Width = 0
		bars.Color = r.color(im)
		bars.Offset = width * vg.Length(float64(k)-float64(n-1)/2)
		p.Add(bars)
		p.Legend.Add(im, bars)
	}
	if cut {
		p.Title.Text += fmt.Sprintf(", cut at %g", pn.limit)
	}
	p.NominalX(labels...)
	// Room for the legend above the bars, and for the outer bars.
	p.Y.Min, p.Y.Max = 0, top*1.35
	p.X.Min, p.X.Max = -0.6, float64(len(labels))-0.4
	return p, nil
}

// ConnsPlot is the file name of the memory-per-connection line chart,
// beside the bar charts.
const ConnsPlot = "conns.png"

// WriteConnsPlot draws heap + stacks and RSS per connection against the
// number of connections, one line per implementation, into a PNG at path.
func (r *Report) WriteConnsPlot(path string) error {
	scs := r.OfKind(Conns)
	mk := func(title string, value func(*load.ServerResult) float64) (*plot.Plot, error) {
		p := plot.New()
		p.Title.Text = title
		p.X.Label.Text = "connections"
		p.Y.Label.Text = "KiB per connection"
		p.Legend.Top = true
		p.Legend.Left = true
		p.Legend.TextStyle.Font.Size = vg.Points(8)
		top := 0.0
		for _, im := range r.Impls {
			var pts plotter.XYs
			for _, sc := range scs {
				run := r.Pick(sc.Name, im)
				if run == nil || run.Result.Server == nil || run.Result.Ready == 0 {
					continue
				}
				v := value(run.Result.Server) / 1024
				pts = append(pts, plotter.XY{X: float64(sc.Conns), Y: v})
				top = max(top, v)
			}
			if len(pts) == 0 {
				continue
			}
			line, points, err := plotter.NewLinePoints(pts)
			if err != nil {
				return nil, err
			}
			line.Color, points.Color = r.color(im), r.color(im)
			line.Width = vg.Points(1.5)
			p.Add(line, points)
			p.Legend.Add(im, line, points)
		}
		p.Y.Min, p.Y.Max = 0, top*1.3
		p.X.Min = 0
		return p, nil
	}
	heap, err := mk("Go heap + stacks per connection (lower is better)", func(s *load.ServerResult) float64 { return s.HeapStacksPerConn })
	if err != nil {
		return err
	}
	rss, err := mk("RSS per connection (lower is better)", func(s *load.ServerResult) float64 { return s.RSSPerConn })
	if err != nil {
		return err
	}
	const w, h = 30 * vg.Centimeter, 11 * vg.Centimeter
	img := vgimg.New(w, h)
	dc := draw.New(img)
	tiles := draw.Tiles{Rows: 1, Cols: 2, PadX: vg.Centimeter, PadTop: vg.Centimeter / 2,
		PadBottom: vg.Centimeter, PadLeft: vg.Centimeter / 2, PadRight: vg.Centimeter / 2}
	plots := [][]*plot.Plot{{heap, rss}}
	canvases := plot.Align(plots, tiles, dc)
	heap.Draw(canvases[0][0])
	rss.Draw(canvases[0][1])
	m := r.Machine
	caption := plot.New().Title.TextStyle
	caption.Font.Size = vg.Points(9)
	caption.XAlign = draw.XCenter
	dc.FillText(caption, vg.Point{X: w / 2, Y: vg.Centimeter / 3},
		fmt.Sprintf("%s, %d cores, %s, %s, commit %s; server and load generator on the same machine", m.CPU, m.Cores, m.Go, m.Date, m.Commit))
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
