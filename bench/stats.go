package bench

import (
	"math"
	"sort"
)

// Summary condenses the runs of one figure on one system; the median
// resists the odd slow run that a shared 2-core machine produces.
type Summary struct {
	System       string  `json:"system"`
	Workload     string  `json:"workload"`
	Figure       string  `json:"figure"`
	Unit         string  `json:"unit"`
	HigherBetter bool    `json:"higher_better"`
	N            int     `json:"n"`
	Median       float64 `json:"median"`
	Min          float64 `json:"min"`
	Max          float64 `json:"max"`
}

// Spread is half the min–max range as a fraction of the median, the
// "±" shown next to each median; 0 for a single run.
func (s Summary) Spread() float64 {
	if s.N < 2 || s.Median == 0 {
		return 0
	}
	return (s.Max - s.Min) / 2 / math.Abs(s.Median)
}

// median returns the middle value (mean of the two middle values for an
// even count) and NaN for none.
func median(v []float64) float64 {
	if len(v) == 0 {
		return math.NaN()
	}
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	m := len(s) / 2
	if len(s)%2 == 1 {
		return s[m]
	}
	return (s[m-1] + s[m]) / 2
}

// summarize groups measurements by system and figure, keeping the order in
// which each pair was first measured.
func summarize(ms []Measurement) []Summary {
	type key struct{ sys, wl, fig string }
	idx := map[key]int{}
	var out []Summary
	vals := map[key][]float64{}
	for _, m := range ms {
		k := key{m.System, m.Workload, m.Figure}
		if _, ok := idx[k]; !ok {
			idx[k] = len(out)
			out = append(out, Summary{System: m.System, Workload: m.Workload, Figure: m.Figure, Unit: m.Unit, HigherBetter: m.HigherBetter})
		}
		vals[k] = append(vals[k], m.Value)
	}
	for k, i := range idx {
		v := vals[k]
		s := &out[i]
		s.N = len(v)
		s.Median = median(v)
		s.Min, s.Max = v[0], v[0]
		for _, x := range v {
			s.Min = math.Min(s.Min, x)
			s.Max = math.Max(s.Max, x)
		}
	}
	return out
}
