package bench

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// Measurement is one figure of one run of one workload on one system.
type Measurement struct {
	Run          int     `json:"run"`
	System       string  `json:"system"`
	Workload     string  `json:"workload"`
	Figure       string  `json:"figure"`
	Unit         string  `json:"unit"`
	HigherBetter bool    `json:"higher_better"`
	Value        float64 `json:"value"`
}

// Failure records a system or workload that could not be measured, so a
// missing bar in the chart has a stated reason.
type Failure struct {
	Run      int    `json:"run,omitempty"`
	System   string `json:"system"`
	Workload string `json:"workload,omitempty"`
	Error    string `json:"error"`
}

// Machine describes where the figures were taken; they mean little
// without it.
type Machine struct {
	CPU       string            `json:"cpu"`
	Cores     int               `json:"cores"`
	MemoryMiB int64             `json:"memory_mib"`
	Kernel    string            `json:"kernel"`
	ScratchFS string            `json:"scratch_fs"`
	Go        string            `json:"go"`
	Versions  map[string]string `json:"versions"`
}

// Results is everything one `ssefs bench` run produced; results.json
// holds it verbatim so figures can be re-rendered or compared later.
type Results struct {
	Started      time.Time     `json:"started"`
	Finished     time.Time     `json:"finished"`
	Machine      Machine       `json:"machine"`
	Systems      []string      `json:"systems"`
	Workloads    []string      `json:"workloads"`
	Runs         int           `json:"runs"`
	SeqSize      int64         `json:"seq_size"`
	RandSize     int64         `json:"rand_size"`
	BigSize      int64         `json:"big_size,omitempty"` // set when bigfile ran
	Files        int           `json:"files"`
	Notes        []string      `json:"notes,omitempty"`
	Measurements []Measurement `json:"measurements"`
	Failures     []Failure     `json:"failures,omitempty"`
	Summaries    []Summary     `json:"summaries"`
}

// Write stores results.json, results.md and results.svg in dir.
func (r *Results) Write(dir string) error {
	r.Summaries = summarize(r.Measurements)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("bench: creating %s: %w", dir, err)
	}
	js, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("bench: encoding results: %w", err)
	}
	files := map[string][]byte{
		"results.json": append(js, '\n'),
		"results.md":   []byte(r.Markdown()),
		"results.svg":  []byte(r.SVG()),
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			return fmt.Errorf("bench: writing %s: %w", name, err)
		}
	}
	return nil
}

// ReadResults loads a results.json, to re-render it with new templates.
func ReadResults(path string) (*Results, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	var r Results
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("bench: parsing %s: %w", path, err)
	}
	return &r, nil
}
