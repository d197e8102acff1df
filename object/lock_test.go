package object

import (
	"crypto/rand"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ssefs/ssefs/dare"
	"github.com/ssefs/ssefs/keyring"
	"github.com/ssefs/ssefs/store"
)

// closers closes a layer opened by newLockStore exactly once.
var closers = map[*Layer]func(){}

// newLockStore creates a store with object lock and returns a function
// that opens it (again, for remount tests).
func newLockStore(tb testing.TB) func() *Layer {
	tb.Helper()
	dir := filepath.Join(tb.TempDir(), "store")
	var mk keyring.MasterKey
	rand.Read(mk[:])
	if err := store.Init(dir, mk, store.InitOptions{Cipher: dare.DefaultCipher(), KDF: keyring.KeyFileKDF(), ObjectLock: true}); err != nil {
		tb.Fatal(err)
	}
	return func() *Layer {
		st, err := store.Open(dir, mk)
		if err != nil {
			tb.Fatal(err)
		}
		l, err := Open(st)
		if err != nil {
			tb.Fatal(err)
		}
		var once sync.Once
		tb.Cleanup(func() { once.Do(func() { l.Close(); st.Close() }) })
		closers[l] = func() { once.Do(func() { l.Close(); st.Close() }) }
		return l
	}
}

func versionIDs(t *testing.T, l *Layer, ino Ino) []uint64 {
	t.Helper()
	vs, err := l.Versions(ino)
	if err != nil {
		t.Fatal(err)
	}
	var ids []uint64
	for _, v := range vs {
		ids = append(ids, v.ID)
	}
	return ids
}

func TestLockRequiresObjectLockStore(t *testing.T) {
	l := newTestLayer(t)
	n := createFile(t, l, RootIno, "f")
	commitVersions(t, l, n.Ino, 1)
	if _, err := l.SetRetention(n.Ino, 0, ModeGovernance, time.Now().Add(time.Hour), false); !errors.Is(err, ErrLockDisabled) {
		t.Fatalf("retention on a store without object lock: %v", err)
	}
	if _, err := l.SetLegalHold(n.Ino, 0, true); !errors.Is(err, ErrLockDisabled) {
		t.Fatalf("legal hold on a store without object lock: %v", err)
	}
}

func TestRetentionRules(t *testing.T) {
	l := newLockStore(t)()
	n := createFile(t, l, RootIno, "f")
	commitVersions(t, l, n.Ino, 1)
	now := time.Now()
	day := 24 * time.Hour
	steps := []struct {
		name   string
		mode   string
		until  time.Time
		bypass bool
		want   error // nil: accepted
	}{
		{"past until refused", ModeGovernance, now.Add(-time.Minute), false, ErrLockPastUntil},
		{"bad mode", "FOREVER", now.Add(day), false, ErrLockBadMode},
		{"governance set", ModeGovernance, now.Add(10 * day), false, nil},
		{"governance extended", ModeGovernance, now.Add(20 * day), false, nil},
		{"governance shortened without bypass", ModeGovernance, now.Add(5 * day), false, ErrLocked},
		{"governance removed without bypass", "", time.Time{}, false, ErrLocked},
		{"governance shortened with bypass", ModeGovernance, now.Add(5 * day), true, nil},
		{"governance to compliance", ModeCompliance, now.Add(5 * day), false, nil},
		{"compliance extended", ModeCompliance, now.Add(30 * day), false, nil},
		{"compliance shortened with bypass", ModeCompliance, now.Add(2 * day), true, ErrLocked},
		{"compliance to governance with bypass", ModeGovernance, now.Add(30 * day), true, ErrLocked},
		{"compliance removed with bypass", "", time.Time{}, true, ErrLocked},
	}
	for _, s := range steps {
		_, err := l.SetRetention(n.Ino, 0, s.mode, s.until, s.bypass)
		if (s.want == nil) != (err == nil) || (s.want != nil && !errors.Is(err, s.want)) {
			t.Fatalf("%s: err = %v, want %v", s.name, err, s.want)
		}
	}
	st, err := l.LockOf(n.Ino, 0)
	if err != nil || st.Mode != ModeCompliance || st.RetainUntil.Sub(now.Add(30*day)).Abs() > time.Second {
		t.Fatalf("final state %+v, %v", st, err)
	}
	recs, _ := l.Audit(0)
	bypassed, refused := 0, 0
	for _, r := range recs {
		if r.Op == "retention-set" && strings.Contains(r.Detail, "bypass-governance") && r.Result == "ok" {
			bypassed++
		}
		if r.Op == "retention-set" && r.Result != "ok" {
			refused++
		}
	}
	if bypassed != 1 || refused != 7 {
		t.Fatalf("audit: %d bypasses, %d refusals; want 1, 7", bypassed, refused)
	}
}

func TestLockedVersionCannotBePurged(t *testing.T) {
	l := newLockStore(t)()
	n := createFile(t, l, RootIno, "f")
	commitVersions(t, l, n.Ino, 3)
	ids := versionIDs(t, l, n.Ino)
	if _, err := l.SetRetention(n.Ino, ids[0], ModeGovernance, time.Now().Add(time.Hour), false); err != nil {
		t.Fatal(err)
	}
	if _, err := l.SetLegalHold(n.Ino, ids[1], true); err != nil {
		t.Fatal(err)
	}
	for _, id := range ids[:2] {
		if _, _, err := l.Purge(n.Ino, id, false); !errors.Is(err, ErrLocked) {
			t.Fatalf("purge of locked version %d: %v", id, err)
		}
	}
	if _, _, err := l.Purge(n.Ino, 0, true); !errors.Is(err, ErrLocked) {
		t.Fatalf("purge --all-noncurrent with locked versions: %v", err)
	}
	// Lifecycle and gc keep them; an unlocked noncurrent version goes.
	commitVersions(t, l, n.Ino, 1) // ids[2] becomes noncurrent and unlocked
	if err := l.SetRule(RootIno, Rule{KeepNoncurrent: 1}); err != nil {
		t.Fatal(err)
	}
	rep, err := l.CollectGarbage(time.Now().Add(365 * 24 * time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	got := versionIDs(t, l, n.Ino)
	if len(got) != 4 || got[0] != ids[0] || got[1] != ids[1] {
		t.Fatalf("after gc: versions %v (report %+v), locked %v must stay", got, rep, ids[:2])
	}
	for _, id := range ids[:2] {
		f, err := l.OpenVersion(n.Ino, id)
		if err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 1)
		if _, err := f.ReadAt(buf, 0); err != nil {
			t.Fatalf("locked version %d unreadable: %v", id, err)
		}
	}
	// The legal hold blocks purge whatever the retention says.
	if _, err := l.SetRetention(n.Ino, ids[1], ModeGovernance, time.Now().Add(time.Hour), false); err != nil {
		t.Fatal(err)
	}
	if _, err := l.SetRetention(n.Ino, ids[1], "", time.Time{}, true); err != nil {
		t.Fatal(err)
	}
	if _, _, err := l.Purge(n.Ino, ids[1], false); !errors.Is(err, ErrLocked) {
		t.Fatalf("purge under legal hold without retention: %v", err)
	}
	if _, err := l.SetLegalHold(n.Ino, ids[1], false); err != nil {
		t.Fatal(err)
	}
	if _, _, err := l.Purge(n.Ino, ids[1], false); err != nil {
		t.Fatalf("purge after the hold is lifted: %v", err)
	}
}

func TestLockSurvivesReopenAndCounts(t *testing.T) {
	open := newLockStore(t)
	l := open()
	n := createFile(t, l, RootIno, "f")
	commitVersions(t, l, n.Ino, 2)
	if _, err := l.SetRetention(n.Ino, 0, ModeCompliance, time.Now().Add(time.Hour), false); err != nil {
		t.Fatal(err)
	}
	if _, err := l.SetLegalHold(n.Ino, 0, true); err != nil {
		t.Fatal(err)
	}
	closers[l]()
	l = open()
	s, err := l.LockOf(n.Ino, 0)
	if err != nil || s.Mode != ModeCompliance || !s.LegalHold {
		t.Fatalf("after reopen: %+v, %v", s, err)
	}
	st, err := l.Stats()
	if err != nil || st.Locked != 1 {
		t.Fatalf("Stats.Locked = %d, %v; want 1", st.Locked, err)
	}
}

func TestKeyDeleteRefusedForLockedVersion(t *testing.T) {
	l := newLockStore(t)()
	if err := l.KeyCreate("k"); err != nil {
		t.Fatal(err)
	}
	if err := l.SetDirDefault(RootIno, &SSEChoice{Domain: keyring.DomainSSEKMS, KeyName: "k"}); err != nil {
		t.Fatal(err)
	}
	n := createFile(t, l, RootIno, "f")
	commitVersions(t, l, n.Ino, 1)
	if _, err := l.SetRetention(n.Ino, 0, ModeGovernance, time.Now().Add(time.Hour), false); err != nil {
		t.Fatal(err)
	}
	if err := l.KeyDelete("k"); !errors.Is(err, ErrLocked) {
		t.Fatalf("delete of a key protecting a locked version: %v", err)
	}
	if _, err := l.SetRetention(n.Ino, 0, "", time.Time{}, true); err != nil {
		t.Fatal(err)
	}
	if err := l.KeyDelete("k"); err != nil {
		t.Fatalf("delete once unlocked: %v", err)
	}
}

func TestLockedVersionNotCompacted(t *testing.T) {
	l := newLockStore(t)()
	n := createFile(t, l, RootIno, "f")
	f, err := l.OpenFile(n.Ino)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 64; i++ { // many small commits of random writes fragment the file
		if _, err := f.WriteAt([]byte{byte(i)}, int64(i)*(64<<10)); err != nil {
			t.Fatal(err)
		}
		if err := f.Commit(); err != nil {
			t.Fatal(err)
		}
	}
	f.Release()
	if _, err := l.SetLegalHold(n.Ino, 0, true); err != nil {
		t.Fatal(err)
	}
	if ok, _, err := l.Compact(n.Ino); ok || err != nil {
		t.Fatalf("compacted a locked version: %v %v", ok, err)
	}
}

func TestLockDefaultInherited(t *testing.T) {
	l := newLockStore(t)()
	d, err := l.Create(RootIno, "d", CreateArgs{Mode: syscall.S_IFDIR | 0o755})
	if err != nil {
		t.Fatal(err)
	}
	if err := l.SetLockDefault(d.Ino, LockDefault{Mode: "compliance", Days: 2}); err != nil {
		t.Fatal(err)
	}
	sub, err := l.Create(d.Ino, "sub", CreateArgs{Mode: syscall.S_IFDIR | 0o755})
	if err != nil {
		t.Fatal(err)
	}
	before := createFile(t, l, RootIno, "outside")
	f := createFile(t, l, sub.Ino, "f")
	commitVersions(t, l, f.Ino, 2)
	commitVersions(t, l, before.Ino, 1)
	ids := versionIDs(t, l, f.Ino)
	for _, id := range ids {
		s, err := l.LockOf(f.Ino, id)
		if err != nil || s.Mode != ModeCompliance || s.RetainUntil.Sub(time.Now().Add(48*time.Hour)).Abs() > time.Minute {
			t.Fatalf("version %d under a default: %+v, %v", id, s, err)
		}
	}
	if _, _, err := l.Purge(f.Ino, ids[0], false); !errors.Is(err, ErrLocked) {
		t.Fatalf("purge of a default-locked version: %v", err)
	}
	if s, _ := l.LockOf(before.Ino, 0); s.Mode != "" {
		t.Fatalf("file outside the directory got %+v", s)
	}
	plain := newTestLayer(t)
	if err := plain.SetLockDefault(RootIno, LockDefault{Mode: ModeGovernance, Days: 1}); !errors.Is(err, ErrLockDisabled) {
		t.Fatalf("default on a store without object lock: %v", err)
	}
}
