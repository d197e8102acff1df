package bench

import (
	"encoding/xml"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// sampleResults has ssefs, two encrypted peers and loopback, two runs of
// seqwrite and one tarball figure, one failure and one note.
func sampleResults() *Results {
	r := &Results{
		Started: time.Date(2026, 1, 2, 3, 4, 0, 0, time.UTC), Runs: 2,
		Machine:   Machine{CPU: "Test CPU", Cores: 2, Kernel: "6.1", ScratchFS: "ext4", Versions: map[string]string{"gocryptfs": "2.3"}},
		Systems:   []string{"ssefs", "gocryptfs", "securefs", "loopback"},
		Workloads: []string{"seqwrite", "tarball"},
		SeqSize:   1 << 30, RandSize: 256 << 20, Files: 10000,
		Notes:    []string{"a <note>"},
		Failures: []Failure{{Run: 1, System: "cryfs", Workload: "tarball", Error: "tar: boom"}},
	}
	add := func(run int, sys, wl, fig, unit string, hb bool, v float64) {
		r.Measurements = append(r.Measurements, Measurement{run, sys, wl, fig, unit, hb, v})
	}
	for run, f := range []float64{1, 1.1} {
		add(run+1, "ssefs", "seqwrite", "write", "MB/s", true, 400*f)
		add(run+1, "gocryptfs", "seqwrite", "write", "MB/s", true, 200*f)
		add(run+1, "securefs", "seqwrite", "write", "MB/s", true, 250*f)
		add(run+1, "loopback", "seqwrite", "write", "MB/s", true, 500*f)
		add(run+1, "ssefs", "seqwrite", figRSS, "MiB", false, 100)
		add(run+1, "gocryptfs", "seqwrite", figRSS, "MiB", false, 50)
	}
	add(1, "ssefs", "tarball", "extract", "s", false, 3)
	add(1, "gocryptfs", "tarball", "extract", "s", false, 6)
	add(1, "securefs", "tarball", "extract", "s", false, 5)
	return r
}

func TestMarkdown(t *testing.T) {
	md := sampleResults().Markdown()
	for _, want := range []string{
		"| write (MB/s) ↑ | 420 ±5% | 210 ±5% | 262 ±5% | 525 ±5% | 1.60× (securefs) | 0.80× |",
		"| extract (s) ↓ | 3.00 | 6.00 | 5.00 | — | 0.60× (securefs) |  |",
		"| daemon peak RSS (MiB) ↓ | 100 ±0% | 50.0 ±0% | — | — | 2.00× (gocryptfs) |  |",
		"## seqwrite: sequential write",
		"Test CPU · 2 cores",
		"- cryfs tarball (run 1): tar: boom",
		"- a <note>",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
	// Daemon rows come after the workload's own figures.
	if strings.Index(md, "daemon peak RSS") < strings.Index(md, "| write (MB/s)") {
		t.Error("daemon row before the workload figure")
	}
}

func TestMarkdownWithoutSSEFS(t *testing.T) {
	r := sampleResults()
	r.Systems = r.Systems[1:]
	if md := r.Markdown(); strings.Contains(md, "ssefs ÷") {
		t.Error("ratio columns without ssefs in the comparison")
	}
}

func TestSVGWellFormed(t *testing.T) {
	svg := sampleResults().SVG()
	dec := xml.NewDecoder(strings.NewReader(svg))
	rects, texts := 0, []string{}
	inText := false
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("SVG is not well-formed XML: %v\n%s", err, svg)
		}
		switch el := tok.(type) {
		case xml.StartElement:
			inText = el.Name.Local == "text"
			if el.Name.Local == "rect" {
				rects++
			}
		case xml.CharData:
			if inText {
				texts = append(texts, string(el))
			}
		case xml.EndElement:
			inText = false
		}
	}
	// Background, 3 panels (seqwrite, tarball, RSS), 4+3+2 bars.
	if want := 1 + 3 + 9; rects != want {
		t.Errorf("%d rects, want %d", rects, want)
	}
	all := strings.Join(texts, "|")
	for _, want := range []string{"seqwrite: sequential write", "MB/s, higher is better", "s, lower is better", "daemon peak RSS per workload", "420", "securefs"} {
		if !strings.Contains(all, want) {
			t.Errorf("SVG texts lack %q: %s", want, all)
		}
	}
}

func TestSVGBarScale(t *testing.T) {
	svg := sampleResults().SVG()
	// The longest bar in the seqwrite panel is loopback's median (525) and
	// its whisker reaches the max (550), the panel's scale.
	full := float64(svgPanelW - svgLabelW - svgValueW - 8)
	for _, want := range []string{
		fmt.Sprintf(`width="%.1f" height="%d" fill="#7f7f7f"`, 525/550.0*full, svgBarH),
		fmt.Sprintf(`x2="%.1f"`, float64(svgLabelW)+full),
	} {
		if !strings.Contains(svg, want) {
			t.Errorf("SVG lacks %s", want)
		}
	}
}

func TestWriteAndRead(t *testing.T) {
	dir := t.TempDir()
	r := sampleResults()
	if err := r.Write(dir); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"results.json", "results.md", "results.svg"} {
		if fi, err := os.Stat(filepath.Join(dir, f)); err != nil || fi.Size() == 0 {
			t.Errorf("%s: %v", f, err)
		}
	}
	back, err := ReadResults(filepath.Join(dir, "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	if back.Markdown() != r.Markdown() {
		t.Error("markdown differs after a JSON round trip")
	}
}

// TestBigfileReport checks that bigfile's checkpoint rows come before the
// whole-workload daemon rows and that its MB/s and MiB figures get charts
// of their own rather than one scale.
func TestBigfileReport(t *testing.T) {
	r := &Results{
		Started: time.Date(2026, 1, 2, 3, 4, 0, 0, time.UTC), Runs: 1,
		Systems: []string{"ssefs", "gocryptfs", "plain"}, Workloads: []string{"bigfile"},
		SeqSize: 1 << 30, RandSize: 256 << 20, Files: 10000, BigSize: 8 << 30,
	}
	add := func(sys, fig, unit string, hb bool, v float64) {
		r.Measurements = append(r.Measurements, Measurement{1, sys, "bigfile", fig, unit, hb, v})
	}
	for _, sys := range []string{"ssefs", "gocryptfs"} {
		add(sys, "write", "MB/s", true, 300)
		for _, m := range bigCheckpoints(r.BigSize) {
			add(sys, bigRSSFigure(m), "MiB", false, 90)
		}
		add(sys, figCPU, "s", false, 40)
		add(sys, figRSS, "MiB", false, 95)
	}
	add("plain", "write", "MB/s", true, 900)
	md := r.Markdown()
	for _, want := range []string{
		"big file 8 GiB.",
		"## bigfile: one big file",
		"| write (MB/s) ↑ | 300 | 300 | 900 |",
		"| daemon peak RSS, 1 GiB written (MiB) ↓ | 90.0 | 90.0 | — |",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
	if strings.Index(md, "8 GiB written") > strings.Index(md, "| daemon CPU") {
		t.Error("checkpoint rows after the daemon rows")
	}
	var subs []string
	for _, p := range newView(r).panels() {
		subs = append(subs, p.Sub)
	}
	want := []string{"MB/s, higher is better", "MiB, lower is better", "seconds, lower is better", "MiB, lower is better"}
	if !slices.Equal(subs, want) {
		t.Errorf("panels %q, want %q", subs, want)
	}
}
