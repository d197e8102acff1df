package bench

import (
	"fmt"
	"sort"
	"strings"
)

// figKey names one row of the table: a figure of a workload.
type figKey struct {
	Workload, Figure, Unit string
	HigherBetter           bool
}

// view indexes summaries for rendering.
type view struct {
	r    *Results
	sums map[[3]string]Summary // system, workload, figure
	rows map[string][]figKey   // per workload, in measurement order
}

func newView(r *Results) *view {
	if r.Summaries == nil {
		r.Summaries = summarize(r.Measurements)
	}
	v := &view{r: r, sums: map[[3]string]Summary{}, rows: map[string][]figKey{}}
	seen := map[[2]string]bool{}
	for _, s := range r.Summaries {
		v.sums[[3]string{s.System, s.Workload, s.Figure}] = s
		if k := [2]string{s.Workload, s.Figure}; !seen[k] {
			seen[k] = true
			v.rows[s.Workload] = append(v.rows[s.Workload], figKey{s.Workload, s.Figure, s.Unit, s.HigherBetter})
		}
	}
	// Daemon figures last in each workload, whichever system came first.
	for _, rows := range v.rows {
		sort.SliceStable(rows, func(i, j int) bool { return !isDaemonFig(rows[i].Figure) && isDaemonFig(rows[j].Figure) })
	}
	return v
}

func isDaemonFig(f string) bool { return f == figCPU || f == figRSS }

func (v *view) get(sys string, k figKey) (Summary, bool) {
	s, ok := v.sums[[3]string{sys, k.Workload, k.Figure}]
	return s, ok
}

// bestPeer returns the encrypted peer with the best median for k.
func (v *view) bestPeer(k figKey) (string, Summary, bool) {
	var name string
	var best Summary
	found := false
	for _, sys := range v.r.Systems {
		if def := systems[sys]; def == nil || !def.Encrypted {
			continue
		}
		s, ok := v.get(sys, k)
		if !ok {
			continue
		}
		if !found || (k.HigherBetter && s.Median > best.Median) || (!k.HigherBetter && s.Median < best.Median) {
			name, best, found = sys, s, true
		}
	}
	return name, best, found
}

// ratio is ssefs's median over other's, or "" when either is missing.
func (v *view) ratio(k figKey, other Summary, ok bool) string {
	me, mine := v.get("ssefs", k)
	if !mine || !ok || other.Median == 0 {
		return ""
	}
	return fmt.Sprintf("%.2f×", me.Median/other.Median)
}

func workloadTitle(name string) string {
	if w := workloads[name]; w != nil {
		return w.Title
	}
	return name
}

func arrow(higherBetter bool) string {
	if higherBetter {
		return "↑"
	}
	return "↓"
}

// cell prints a summary as "median ±spread%".
func cell(s Summary) string {
	out := formatValue(s.Median)
	if sp := s.Spread(); s.N > 1 {
		out += fmt.Sprintf(" ±%.0f%%", sp*100)
	}
	return out
}

// Markdown renders one table per workload: a row per figure, a column per
// system, and ssefs's ratio to the best encrypted peer and to loopback.
func (r *Results) Markdown() string {
	v := newView(r)
	var b strings.Builder
	b.WriteString("# ssefs bench results\n\n")
	m := r.Machine
	fmt.Fprintf(&b, "%s · %d run(s) · %s · %d cores · %d MiB RAM · Linux %s · scratch on %s · %s\n\n",
		r.Started.Format("2006-01-02 15:04 MST"), r.Runs, orUnknown(m.CPU), m.Cores, m.MemoryMiB, m.Kernel, m.ScratchFS, m.Go)
	if len(m.Versions) > 0 {
		var vs []string
		for _, sys := range append(append([]string(nil), r.Systems...), "fio") {
			if ver, ok := m.Versions[sys]; ok {
				vs = append(vs, sys+" "+ver)
			}
		}
		fmt.Fprintf(&b, "Versions: %s.\n\n", strings.Join(vs, ", "))
	}
	fmt.Fprintf(&b, "Sequential file %s, random-I/O file %s, %d small files", sizeString(r.SeqSize), sizeString(r.RandSize), r.Files)
	if r.BigSize > 0 {
		fmt.Fprintf(&b, ", big file %s", sizeString(r.BigSize))
	}
	b.WriteString(".\n")
	b.WriteString("Each cell is the median over the runs, ± half the min–max range as a percentage of the median. ")
	b.WriteString("↑ higher is better, ↓ lower is better. The ratio columns divide ssefs's median by the best encrypted peer's (named) and by loopback's.\n")
	hasSSEFS := false
	for _, s := range r.Systems {
		hasSSEFS = hasSSEFS || s == "ssefs"
	}
	for _, wl := range r.Workloads {
		rows := v.rows[wl]
		if len(rows) == 0 {
			continue
		}
		fmt.Fprintf(&b, "\n## %s: %s\n\n|  |", wl, workloadTitle(wl))
		for _, sys := range r.Systems {
			b.WriteString(" " + sys + " |")
		}
		if hasSSEFS {
			b.WriteString(" ssefs ÷ best peer | ssefs ÷ loopback |")
		}
		b.WriteString("\n|---|")
		for range r.Systems {
			b.WriteString("--:|")
		}
		if hasSSEFS {
			b.WriteString("--:|--:|")
		}
		b.WriteString("\n")
		for _, k := range rows {
			fmt.Fprintf(&b, "| %s (%s) %s |", k.Figure, k.Unit, arrow(k.HigherBetter))
			for _, sys := range r.Systems {
				if s, ok := v.get(sys, k); ok {
					b.WriteString(" " + cell(s) + " |")
				} else {
					b.WriteString(" — |")
				}
			}
			if hasSSEFS {
				peer, best, ok := v.bestPeer(k)
				rb := v.ratio(k, best, ok)
				if rb != "" {
					rb += " (" + peer + ")"
				}
				lb, lok := v.get("loopback", k)
				fmt.Fprintf(&b, " %s | %s |", rb, v.ratio(k, lb, lok))
			}
			b.WriteString("\n")
		}
	}
	if len(r.Notes) > 0 {
		b.WriteString("\n## Notes\n\n")
		for _, n := range r.Notes {
			b.WriteString("- " + n + "\n")
		}
	}
	if len(r.Failures) > 0 {
		b.WriteString("\n## Failures\n\n")
		for _, f := range r.Failures {
			where := f.System
			if f.Workload != "" {
				where += " " + f.Workload
			}
			if f.Run > 0 {
				where += fmt.Sprintf(" (run %d)", f.Run)
			}
			fmt.Fprintf(&b, "- %s: %s\n", where, strings.ReplaceAll(f.Error, "\n", " "))
		}
	}
	return b.String()
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown CPU"
	}
	return s
}

// sizeString prints a byte count in the largest binary unit dividing it.
func sizeString(n int64) string {
	for _, u := range []struct {
		shift uint
		name  string
	}{{40, "TiB"}, {30, "GiB"}, {20, "MiB"}, {10, "KiB"}} {
		if n >= 1<<u.shift && n%(1<<u.shift) == 0 {
			return fmt.Sprintf("%d %s", n>>u.shift, u.name)
		}
	}
	return fmt.Sprintf("%d B", n)
}
