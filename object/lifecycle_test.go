package object

import (
	"reflect"
	"testing"
	"time"
)

func TestRuleExpired(t *testing.T) {
	day := int64(24 * time.Hour)
	now := time.Unix(0, 100*day)
	v := func(dayN int64, cur, marker bool) VersionInfo {
		return VersionInfo{ID: uint64(dayN * day), Current: cur, DeleteMarker: marker}
	}
	hist := []VersionInfo{v(1, false, false), v(50, false, false), v(90, false, false), v(99, true, false)}
	deleted := []VersionInfo{v(1, false, false), v(2, true, true)}
	tests := []struct {
		name string
		r    Rule
		vs   []VersionInfo
		want []uint64
	}{
		{"empty", Rule{}, hist, nil},
		{"keep 1", Rule{KeepNoncurrent: 1}, hist, []uint64{uint64(50 * day), uint64(1 * day)}},
		{"keep 5", Rule{KeepNoncurrent: 5}, hist, nil},
		{"days 30", Rule{NoncurrentDays: 30}, hist, []uint64{uint64(1 * day)}},                 // v1 noncurrent since day 50
		{"days 5", Rule{NoncurrentDays: 5}, hist, []uint64{uint64(50 * day), uint64(1 * day)}}, // v90 noncurrent since 99
		{"days and keep", Rule{NoncurrentDays: 5, KeepNoncurrent: 2}, hist, []uint64{uint64(1 * day)}},
		{"marker kept", Rule{ExpireDeleteMarkers: true}, deleted, nil},
		{"marker expired with its versions", Rule{KeepNoncurrent: 0, NoncurrentDays: 1, ExpireDeleteMarkers: true}, deleted, []uint64{uint64(1 * day), uint64(2 * day)}},
		{"only marker", Rule{ExpireDeleteMarkers: true}, []VersionInfo{v(2, true, true)}, []uint64{uint64(2 * day)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.r.expired(tt.vs, now); !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("expired = %v, want %v", got, tt.want)
			}
		})
	}
}
