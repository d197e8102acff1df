package object

import (
	"context"
	"errors"
	"reflect"
	"testing"

	"github.com/ssefs/ssefs/store"
)

// The layer hands every hook event to Options.SealHook, in order, with the
// store's identity; a failing run is audited. Without a runner (Open) no
// hook runs and the events still succeed.
func TestSealHookRunner(t *testing.T) {
	r := newReopenable(t)
	r.close(t)
	var runs []SealHookRun
	fail := errors.New("hook failed")
	var err error
	if r.st, err = store.Open(r.dir, r.mk); err != nil {
		t.Fatal(err)
	}
	if r.l, err = OpenWith(r.st, Options{SealHook: func(ctx context.Context, run SealHookRun) ([]byte, error) {
		if _, ok := ctx.Deadline(); !ok {
			t.Error("hook run without a deadline")
		}
		runs = append(runs, run)
		return nil, fail
	}}); err != nil {
		t.Fatal(err)
	}
	if err := r.l.SetSealHook("/bin/true"); err != nil {
		t.Fatal(err)
	}
	for _, op := range []func(string) error{r.l.KeyCreate, r.l.KeySeal, r.l.KeyUnseal, r.l.KeyDelete} {
		if err := op("k"); err != nil {
			t.Fatal(err)
		}
	}
	base := SealHookRun{Path: "/bin/true", Key: "k", StoreDir: r.dir, StoreID: r.st.Config.ID}
	var want []SealHookRun
	for _, ev := range []string{"seal", "unseal", "delete"} {
		w := base
		w.Event = ev
		want = append(want, w)
	}
	if !reflect.DeepEqual(runs, want) {
		t.Fatalf("runs = %+v\nwant %+v", runs, want)
	}
	recs, _ := r.l.Audit(0)
	if last := recs[len(recs)-1]; last.Op != "hook" || last.Result != fail.Error() || last.Detail != "delete" {
		t.Fatalf("failed hook not audited: %+v", last)
	}

	r.close(t)
	if r.st, err = store.Open(r.dir, r.mk); err != nil {
		t.Fatal(err)
	}
	if r.l, err = Open(r.st); err != nil {
		t.Fatal(err)
	}
	if err := r.l.KeyCreate("j"); err != nil {
		t.Fatal(err)
	}
	if err := r.l.KeySeal("j"); err != nil {
		t.Fatalf("seal without a hook runner: %v", err)
	}
}
