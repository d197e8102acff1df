package bench

import (
	"fmt"
	"html"
	"strings"
)

// SVG layout, in pixels.
const (
	svgCols      = 2
	svgPanelW    = 520
	svgGap       = 16
	svgTitleH    = 40
	svgGroupH    = 18
	svgBarH      = 12
	svgBarGap    = 3
	svgLabelW    = 96
	svgValueW    = 72
	svgPanelPadB = 10
)

// systemColors keeps each system's colour stable across charts; ssefs
// stands out in red.
var systemColors = map[string]string{
	"ssefs": "#d62728", "gocryptfs": "#1f77b4", "securefs": "#2ca02c", "cryfs": "#9467bd",
	"encfs": "#8c564b", "rclone-crypt": "#e377c2", "loopback": "#7f7f7f", "plain": "#bcbd22",
}

// panel is one box of the chart: groups of bars sharing a unit and scale.
type panel struct {
	Title, Sub string
	Groups     []barGroup
}

type barGroup struct {
	Label string
	Bars  []bar
}

type bar struct {
	System        string
	Med, Min, Max float64
	N             int
}

func (p panel) height() int {
	h := svgTitleH + svgPanelPadB
	for _, g := range p.Groups {
		h += svgGroupH + len(g.Bars)*(svgBarH+svgBarGap)
	}
	return h
}

// panels arranges the summaries: one panel per workload and unit (bars
// share a scale only when they share a unit: bigfile has MB/s and MiB),
// then daemon CPU and daemon peak RSS across workloads.
func (v *view) panels() []panel {
	var out []panel
	daemon := map[string]*panel{
		figCPU: {Title: "daemon CPU time per workload", Sub: "seconds, lower is better"},
		figRSS: {Title: "daemon peak RSS per workload", Sub: "MiB, lower is better"},
	}
	for _, wl := range v.r.Workloads {
		var units []string
		byUnit := map[string]*panel{}
		for _, k := range v.rows[wl] {
			g := barGroup{Label: k.Figure}
			for _, sys := range v.r.Systems {
				if s, ok := v.get(sys, k); ok {
					g.Bars = append(g.Bars, bar{sys, s.Median, s.Min, s.Max, s.N})
				}
			}
			if len(g.Bars) == 0 {
				continue
			}
			if dp := daemon[k.Figure]; dp != nil {
				g.Label = wl
				dp.Groups = append(dp.Groups, g)
				continue
			}
			p := byUnit[k.Unit]
			if p == nil {
				p = &panel{Title: wl + ": " + workloadTitle(wl)}
				byUnit[k.Unit] = p
				units = append(units, k.Unit)
			}
			p.Groups = append(p.Groups, g)
			better := "lower is better"
			if k.HigherBetter {
				better = "higher is better"
			}
			p.Sub = k.Unit + ", " + better
		}
		for _, u := range units {
			out = append(out, *byUnit[u])
		}
	}
	for _, f := range []string{figCPU, figRSS} {
		if len(daemon[f].Groups) > 0 {
			out = append(out, *daemon[f])
		}
	}
	return out
}

// SVG renders the results as a grouped horizontal bar chart, one panel per
// workload, each bar labelled with its system and median, a whisker
// spanning min to max when there were several runs.
func (r *Results) SVG() string {
	ps := newView(r).panels()
	width := svgCols*svgPanelW + (svgCols+1)*svgGap
	var body strings.Builder
	y := 44
	for i := 0; i < len(ps); i += svgCols {
		rowH := 0
		for j := i; j < min(i+svgCols, len(ps)); j++ {
			x := svgGap + (j-i)*(svgPanelW+svgGap)
			writePanel(&body, ps[j], x, y)
			rowH = max(rowH, ps[j].height())
		}
		y += rowH + svgGap
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="11">`+"\n", width, y, width, y)
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="#ffffff"/>`+"\n")
	m := r.Machine
	fmt.Fprintf(&b, `<text x="%d" y="20" font-size="15" font-weight="bold">ssefs bench: %s</text>`+"\n", svgGap, esc(r.Started.Format("2006-01-02")))
	fmt.Fprintf(&b, `<text x="%d" y="36" fill="#555">%s</text>`+"\n", svgGap,
		esc(fmt.Sprintf("%s, %d cores, Linux %s, scratch on %s; median of %d run(s), whiskers span min–max", orUnknown(m.CPU), m.Cores, m.Kernel, m.ScratchFS, r.Runs)))
	b.WriteString(body.String())
	b.WriteString("</svg>\n")
	return b.String()
}

func writePanel(b *strings.Builder, p panel, x, y int) {
	fmt.Fprintf(b, `<g transform="translate(%d,%d)">`+"\n", x, y)
	fmt.Fprintf(b, `<rect width="%d" height="%d" fill="#fafafa" stroke="#ddd"/>`+"\n", svgPanelW, p.height())
	fmt.Fprintf(b, `<text x="8" y="17" font-size="13" font-weight="bold">%s</text>`+"\n", esc(p.Title))
	fmt.Fprintf(b, `<text x="8" y="32" fill="#555">%s</text>`+"\n", esc(p.Sub))
	scale := 0.0
	for _, g := range p.Groups {
		for _, br := range g.Bars {
			scale = max(scale, br.Max, br.Med)
		}
	}
	barW := float64(svgPanelW - svgLabelW - svgValueW - 8)
	px := func(v float64) float64 {
		if scale <= 0 || v <= 0 {
			return 0
		}
		return v / scale * barW
	}
	cy := svgTitleH
	for _, g := range p.Groups {
		fmt.Fprintf(b, `<text x="8" y="%d" font-weight="bold" fill="#333">%s</text>`+"\n", cy+13, esc(g.Label))
		cy += svgGroupH
		for _, br := range g.Bars {
			color := systemColors[br.System]
			if color == "" {
				color = "#17becf"
			}
			fmt.Fprintf(b, `<text x="%d" y="%d" text-anchor="end">%s</text>`+"\n", svgLabelW-4, cy+svgBarH-2, esc(br.System))
			w := px(br.Med)
			fmt.Fprintf(b, `<rect x="%d" y="%d" width="%.1f" height="%d" fill="%s"/>`+"\n", svgLabelW, cy, w, svgBarH, color)
			end := w
			if br.N > 1 {
				lo, hi := px(br.Min), px(br.Max)
				mid := cy + svgBarH/2
				fmt.Fprintf(b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#222"/>`+"\n", float64(svgLabelW)+lo, mid, float64(svgLabelW)+hi, mid)
				end = max(end, hi)
			}
			fmt.Fprintf(b, `<text x="%.1f" y="%d">%s</text>`+"\n", float64(svgLabelW)+end+4, cy+svgBarH-2, esc(formatValue(br.Med)))
			cy += svgBarH + svgBarGap
		}
	}
	b.WriteString("</g>\n")
}

func esc(s string) string { return html.EscapeString(s) }
