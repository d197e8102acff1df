package object

import (
	"context"
	"log"
	"sync/atomic"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// AuditRecord is one key operation: what, on which key, and how it ended. It never
// holds key material (SSE-C keys appear as nothing at all).
type AuditRecord struct {
	Time   time.Time `json:"time"`
	Op     string    `json:"op"`
	Key    string    `json:"key,omitempty"`
	Result string    `json:"result"` // "ok" or the error
	Detail string    `json:"detail,omitempty"`
}

var lastAudit atomic.Int64

// audit appends one record; a failure to write it is logged, never hidden.
func (l *Layer) audit(op, key string, err error, detail string) {
	r := AuditRecord{Time: time.Now().UTC(), Op: op, Key: key, Result: "ok", Detail: detail}
	if err != nil {
		r.Result = err.Error()
	}
	ns := r.Time.UnixNano()
	for {
		prev := lastAudit.Load()
		if ns <= prev {
			ns = prev + 1
		}
		if lastAudit.CompareAndSwap(prev, ns) {
			break
		}
	}
	b, _ := auditRecord(r).MarshalBinary()
	k := auditKey(ns)
	if werr := l.db.mutate(commitNow, func(txn *metaTxn) error { return txn.putBytes(k, b) }); werr != nil {
		log.Printf("ssefs: audit record %s %s lost: %v", op, key, werr)
	}
}

// Audit returns the audit log, oldest first; limit > 0 keeps only the newest limit.
func (l *Layer) Audit(limit int) ([]AuditRecord, error) {
	var out []AuditRecord
	err := l.db.View(func(txn *metaTxn) error {
		it, err := txn.iterate(badger.IteratorOptions{Prefix: prefixKey(pfxAudit), PrefetchValues: true})
		if err != nil {
			return err
		}
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			var r auditRecord
			if err := it.Item().Value(r.UnmarshalBinary); err != nil {
				return err
			}
			out = append(out, AuditRecord(r))
		}
		return nil
	})
	if limit > 0 && len(out) > limit {
		out = out[len(out)-limit:]
	}
	return out, err
}

// SetSealHook records the seal hook in store.json ("" removes it).
func (l *Layer) SetSealHook(path string) error {
	l.sse.hookMu.Lock()
	err := l.st.Config.SetSealHook(l.st.Dir, path)
	l.sse.hookMu.Unlock()
	l.audit("hook-set", "", err, path)
	return err
}

// SealHook returns the configured seal hook.
func (l *Layer) SealHook() string {
	l.sse.hookMu.Lock()
	defer l.sse.hookMu.Unlock()
	return l.st.Config.SealHook
}

// hookTimeout bounds one run of the seal hook.
const hookTimeout = 30 * time.Second

// runHook runs the store's seal hook, if any, with the event ("seal", "unseal",
// "delete") and the key name ("" for the whole KMS) through Options.SealHook.
// A failing hook is logged and audited, never fatal: the event has already
// happened.
func (l *Layer) runHook(event, key string) {
	l.sse.hookMu.Lock()
	defer l.sse.hookMu.Unlock()
	path := l.st.Config.SealHook
	if path == "" || l.sse.hookRun == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), hookTimeout)
	defer cancel()
	run := SealHookRun{Path: path, Event: event, Key: key, StoreDir: l.st.Dir, StoreID: l.st.Config.ID}
	out, err := l.sse.hookRun(ctx, run)
	if err != nil {
		log.Printf("ssefs: seal hook %s %s %q failed: %v: %.200s", path, event, key, err, out)
		l.audit("hook", key, err, event)
	}
}
