package object

import (
	"math/rand"
	"reflect"
	"sort"
	"testing"

	"github.com/ssefs/ssefs/chunkstore"
)

func TestOverlay(t *testing.T) {
	r := func(off, n int64, p uint64, po int64) Run {
		return Run{Off: off, Len: n, Part: chunkstore.PartID(p), PartOff: po, PartLen: 1 << 20}
	}
	tests := []struct {
		name string
		runs []Run
		nrs  []Run
		want []Run
	}{
		{"empty", nil, []Run{r(3, 2, 9, 0)}, []Run{r(3, 2, 9, 0)}},
		{"append", []Run{r(0, 2, 1, 0)}, []Run{r(2, 1, 9, 0)}, []Run{r(0, 2, 1, 0), r(2, 1, 9, 0)}},
		{"prepend", []Run{r(5, 2, 1, 0)}, []Run{r(0, 1, 9, 0)}, []Run{r(0, 1, 9, 0), r(5, 2, 1, 0)}},
		{"middle split", []Run{r(0, 10, 1, 0)}, []Run{r(4, 2, 9, 0)}, []Run{r(0, 4, 1, 0), r(4, 2, 9, 0), r(6, 4, 1, 6)}},
		{"cover exact", []Run{r(0, 4, 1, 0)}, []Run{r(0, 4, 9, 0)}, []Run{r(0, 4, 9, 0)}},
		{"cover many", []Run{r(0, 2, 1, 0), r(2, 2, 2, 0), r(4, 2, 3, 0)}, []Run{r(1, 4, 9, 0)}, []Run{r(0, 1, 1, 0), r(1, 4, 9, 0), r(5, 1, 3, 1)}},
		{"gap fill", []Run{r(0, 1, 1, 0), r(5, 1, 2, 0)}, []Run{r(2, 2, 9, 0)}, []Run{r(0, 1, 1, 0), r(2, 2, 9, 0), r(5, 1, 2, 0)}},
		{"overlap tail", []Run{r(0, 4, 1, 0)}, []Run{r(3, 4, 9, 0)}, []Run{r(0, 3, 1, 0), r(3, 4, 9, 0)}},
		{"overlap head", []Run{r(2, 4, 1, 0)}, []Run{r(0, 3, 9, 0)}, []Run{r(0, 3, 9, 0), r(3, 3, 1, 1)}},
		{"two patches in one run", []Run{r(0, 100, 1, 0)}, []Run{r(10, 5, 9, 0), r(50, 5, 9, 5)},
			[]Run{r(0, 10, 1, 0), r(10, 5, 9, 0), r(15, 35, 1, 15), r(50, 5, 9, 5), r(55, 45, 1, 55)}},
		{"patches across runs", []Run{r(0, 10, 1, 0), r(10, 10, 2, 0), r(30, 10, 3, 0)}, []Run{r(5, 10, 9, 0), r(25, 10, 9, 10)},
			[]Run{r(0, 5, 1, 0), r(5, 10, 9, 0), r(15, 5, 2, 5), r(25, 10, 9, 10), r(35, 5, 3, 5)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := overlay(tt.runs, tt.nrs...)
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

// TestOverlayModel checks overlay and truncateRuns against a byte array
// recording which part byte each file byte maps to.
func TestOverlayModel(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	type loc struct {
		part chunkstore.PartID
		off  int64
	}
	const span = 400
	for iter := 0; iter < 300; iter++ {
		model := map[int64]loc{}
		var runs []Run
		for op := 0; op < 60; op++ {
			if rng.Intn(8) == 0 {
				n := int64(rng.Intn(span))
				runs = truncateRuns(runs, n)
				for b := range model {
					if b >= n {
						delete(model, b)
					}
				}
				continue
			}
			// A batch of disjoint sorted runs, as one spill installs.
			var nrs []Run
			starts := rng.Perm(span)[:1+rng.Intn(4)]
			sort.Ints(starts)
			partOff := int64(rng.Intn(30))
			for k, s := range starts {
				n := int64(1 + rng.Intn(40))
				if k+1 < len(starts) {
					n = min(n, int64(starts[k+1]-s))
				}
				nrs = append(nrs, Run{Off: int64(s), Len: n, Part: chunkstore.PartID(op + 1), PartOff: partOff, PartLen: 1 << 20})
				partOff += n
			}
			runs = overlay(runs, nrs...)
			for _, nr := range nrs {
				for i := int64(0); i < nr.Len; i++ {
					model[nr.Off+i] = loc{nr.Part, nr.PartOff + i}
				}
			}
		}
		if err := checkRuns(runs); err != nil {
			t.Fatalf("%v: %+v", err, runs)
		}
		for b := int64(0); b < span+50; b++ {
			want, ok := model[b]
			i := firstRunAfter(runs, b)
			mapped := i < len(runs) && runs[i].Off <= b
			if mapped != ok {
				t.Fatalf("byte %d mapped=%v, model=%v", b, mapped, ok)
			}
			if ok {
				r := runs[i]
				if got := (loc{r.Part, r.PartOff + b - r.Off}); got != want {
					t.Fatalf("byte %d → %+v, want %+v", b, got, want)
				}
			}
		}
	}
}

func TestCheckRuns(t *testing.T) {
	ok := Run{Off: 0, Len: 10, Part: 1, PartOff: 0, PartLen: 10}
	tests := []struct {
		name string
		runs []Run
		bad  bool
	}{
		{"fine", []Run{ok, {Off: 10, Len: 5, Part: 2, PartOff: 5, PartLen: 10}}, false},
		{"overlap", []Run{ok, {Off: 9, Len: 5, Part: 2, PartLen: 10}}, true},
		{"unsorted", []Run{{Off: 20, Len: 1, PartLen: 1}, ok}, true},
		{"empty run", []Run{{Off: 0, Len: 0, PartLen: 1}}, true},
		{"past part end", []Run{{Off: 0, Len: 10, PartOff: 1, PartLen: 10}}, true},
		{"negative part offset", []Run{{Off: 0, Len: 1, PartOff: -1, PartLen: 10}}, true},
	}
	for _, tt := range tests {
		if err := checkRuns(tt.runs); (err != nil) != tt.bad {
			t.Errorf("%s: err=%v", tt.name, err)
		}
	}
}
