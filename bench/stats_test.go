package bench

import (
	"math"
	"testing"
)

func TestMedian(t *testing.T) {
	for _, tc := range []struct {
		in   []float64
		want float64
	}{
		{[]float64{3}, 3},
		{[]float64{5, 1, 3}, 3},
		{[]float64{4, 1, 3, 2}, 2.5},
		{[]float64{10, 10, 1000}, 10},
	} {
		if got := median(tc.in); got != tc.want {
			t.Errorf("median(%v) = %v, want %v", tc.in, got, tc.want)
		}
	}
	if !math.IsNaN(median(nil)) {
		t.Error("median(nil) is not NaN")
	}
	in := []float64{3, 1, 2}
	median(in)
	if in[0] != 3 {
		t.Error("median reordered its input")
	}
}

func TestSummarize(t *testing.T) {
	ms := []Measurement{
		{Run: 1, System: "a", Workload: "w", Figure: "f", Unit: "MB/s", HigherBetter: true, Value: 100},
		{Run: 1, System: "b", Workload: "w", Figure: "f", Unit: "MB/s", HigherBetter: true, Value: 50},
		{Run: 2, System: "a", Workload: "w", Figure: "f", Unit: "MB/s", HigherBetter: true, Value: 120},
		{Run: 3, System: "a", Workload: "w", Figure: "f", Unit: "MB/s", HigherBetter: true, Value: 80},
	}
	got := summarize(ms)
	if len(got) != 2 || got[0].System != "a" || got[1].System != "b" {
		t.Fatalf("summaries out of order: %+v", got)
	}
	a := got[0]
	if a.N != 3 || a.Median != 100 || a.Min != 80 || a.Max != 120 || a.Unit != "MB/s" || !a.HigherBetter {
		t.Errorf("summary a = %+v", a)
	}
	if sp := a.Spread(); math.Abs(sp-0.2) > 1e-9 {
		t.Errorf("spread = %v, want 0.2", sp)
	}
	if sp := got[1].Spread(); sp != 0 {
		t.Errorf("single-run spread = %v, want 0", sp)
	}
}
