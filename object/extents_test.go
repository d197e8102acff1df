package object

import (
	"math/rand"
	"reflect"
	"testing"
)

func TestOverlay(t *testing.T) {
	r := func(c uint64, n uint32, p uint64, pc uint32) Run {
		return Run{Chunk: c, Count: n, Part: p, PartChunk: pc}
	}
	tests := []struct {
		name string
		runs []Run
		nr   Run
		want []Run
	}{
		{"empty", nil, r(3, 2, 9, 0), []Run{r(3, 2, 9, 0)}},
		{"append", []Run{r(0, 2, 1, 0)}, r(2, 1, 9, 0), []Run{r(0, 2, 1, 0), r(2, 1, 9, 0)}},
		{"prepend", []Run{r(5, 2, 1, 0)}, r(0, 1, 9, 0), []Run{r(0, 1, 9, 0), r(5, 2, 1, 0)}},
		{"middle split", []Run{r(0, 10, 1, 0)}, r(4, 2, 9, 0), []Run{r(0, 4, 1, 0), r(4, 2, 9, 0), r(6, 4, 1, 6)}},
		{"cover exact", []Run{r(0, 4, 1, 0)}, r(0, 4, 9, 0), []Run{r(0, 4, 9, 0)}},
		{"cover many", []Run{r(0, 2, 1, 0), r(2, 2, 2, 0), r(4, 2, 3, 0)}, r(1, 4, 9, 0), []Run{r(0, 1, 1, 0), r(1, 4, 9, 0), r(5, 1, 3, 1)}},
		{"gap fill", []Run{r(0, 1, 1, 0), r(5, 1, 2, 0)}, r(2, 2, 9, 0), []Run{r(0, 1, 1, 0), r(2, 2, 9, 0), r(5, 1, 2, 0)}},
		{"overlap tail", []Run{r(0, 4, 1, 0)}, r(3, 4, 9, 0), []Run{r(0, 3, 1, 0), r(3, 4, 9, 0)}},
		{"overlap head", []Run{r(2, 4, 1, 0)}, r(0, 3, 9, 0), []Run{r(0, 3, 9, 0), r(3, 3, 1, 1)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := overlay(tt.runs, tt.nr)
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("overlay = %+v, want %+v", got, tt.want)
			}
		})
	}
}

// TestOverlayModel checks overlay and truncateRuns against a chunk array.
func TestOverlayModel(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	type loc struct {
		part uint64
		pc   uint32
	}
	for iter := 0; iter < 200; iter++ {
		model := map[uint64]loc{}
		var runs []Run
		for op := 0; op < 50; op++ {
			if rng.Intn(8) == 0 {
				n := uint64(rng.Intn(40))
				runs = truncateRuns(runs, n)
				for c := range model {
					if c >= n {
						delete(model, c)
					}
				}
				continue
			}
			nr := Run{Chunk: uint64(rng.Intn(40)), Count: uint32(1 + rng.Intn(8)), Part: uint64(op + 1), PartChunk: uint32(rng.Intn(3))}
			runs = overlay(runs, nr)
			for i := uint32(0); i < nr.Count; i++ {
				model[nr.Chunk+uint64(i)] = loc{nr.Part, nr.PartChunk + i}
			}
		}
		for i := 1; i < len(runs); i++ {
			if runs[i-1].End() > runs[i].Chunk || runs[i].Count == 0 {
				t.Fatalf("runs not sorted/disjoint: %+v", runs)
			}
		}
		for c := uint64(0); c < 60; c++ {
			i := findRun(runs, c)
			want, ok := model[c]
			if (i >= 0) != ok {
				t.Fatalf("chunk %d mapped=%v, model=%v", c, i >= 0, ok)
			}
			if ok {
				r := runs[i]
				got := loc{r.Part, r.PartChunk + uint32(c-r.Chunk)}
				if got != want {
					t.Fatalf("chunk %d → %+v, want %+v", c, got, want)
				}
			}
		}
	}
}
