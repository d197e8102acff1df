package object

import (
	"bytes"
	"math/rand"
	"reflect"
	"testing"
)

func TestCompact(t *testing.T) {
	l := newTestLayer(t)
	rng := rand.New(rand.NewSource(3))
	n, f, model := committedRandomFile(t, l, "frag", 8<<20, rng)
	v1 := append([]byte(nil), model...)
	// Random 4 KiB writes in every other chunk: one part per chunk.
	for c := 0; c < 128; c += 2 {
		off := int64(c)*ChunkSize + int64(rng.Intn(60000))
		p := make([]byte, 4096)
		rng.Read(p)
		f.WriteAt(p, off)
		copy(model[off:], p)
	}
	// This version records 0600 of uid 1000, which compaction must keep.
	perm, uid := uint32(0o600), uint32(1000)
	if _, err := l.SetAttr(n.Ino, SetAttrArgs{Mode: &perm, UID: &uid, GID: &uid}); err != nil {
		t.Fatal(err)
	}
	if err := f.Commit(); err != nil {
		t.Fatal(err)
	}
	if !fragmented(f.runs) {
		t.Fatalf("%d runs not considered fragmented", len(f.runs))
	}
	// Open files are left alone.
	if ok, _, err := l.Compact(n.Ino); ok || err != nil {
		t.Fatalf("compacted an open file: %v %v", ok, err)
	}
	f.Release()
	ok, _, err := l.Compact(n.Ino)
	if !ok || err != nil {
		t.Fatalf("Compact = %v, %v", ok, err)
	}
	g, err := l.OpenFile(n.Ino)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Release()
	if len(g.runs) > 3 {
		t.Fatalf("after compaction %d runs", len(g.runs))
	}
	got := make([]byte, len(model))
	if k, _ := g.ReadAt(got, 0); k != len(model) || !bytes.Equal(got, model) {
		t.Fatal("content changed by compaction")
	}
	vs, _ := l.Versions(n.Ino)
	old, err := l.OpenVersion(n.Ino, vs[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	if k, _ := old.ReadAt(got, 0); k != len(v1) || !bytes.Equal(got, v1) {
		t.Fatal("old version damaged by compaction")
	}
	if ok, _, _ := l.Compact(n.Ino); ok {
		t.Fatal("compacted an already compact file")
	}
	owned := &VersionOwner{Mode: 0o100600, UID: 1000, GID: 1000}
	if cur, err := l.OpenVersion(n.Ino, vs[1].ID); err != nil || !reflect.DeepEqual(cur.VersionOwner(), owned) {
		t.Fatalf("compacted version's owner: %+v, %v; want %+v", cur.VersionOwner(), err, owned)
	}
	// A restore is a new commit: it records the file's owner now.
	perm, uid = 0o644, 2000
	if _, err := l.SetAttr(n.Ino, SetAttrArgs{Mode: &perm, UID: &uid}); err != nil {
		t.Fatal(err)
	}
	vi, err := l.Restore(n.Ino, vs[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	want := &VersionOwner{Mode: 0o100644, UID: 2000, GID: 1000}
	if r, err := l.OpenVersion(n.Ino, vi.ID); err != nil || !reflect.DeepEqual(r.VersionOwner(), want) {
		t.Fatalf("restored version's owner: %+v, %v; want %+v", r.VersionOwner(), err, want)
	}
}
