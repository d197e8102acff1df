package object

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/ssefs/ssefs/chunkstore"
	"github.com/ssefs/ssefs/chunkstore/storetest"
)

// TestPartStores runs the chunkstore.Store suite against both stores the
// content code reaches parts through, as it uses them: part files, and
// inline parts, which become durable in a metadata transaction.
func TestPartStores(t *testing.T) {
	t.Run("files", func(t *testing.T) {
		var storeDir string // of the last New
		storetest.Run(t, storetest.Harness{
			New: func(t *testing.T) chunkstore.Store {
				l := newTestLayer(t)
				storeDir = l.st.Dir
				return l.fileParts()
			},
			Persist: func(t *testing.T, s chunkstore.Store, ids ...chunkstore.PartID) chunkstore.Store {
				if err := s.Sync(ids...); err != nil {
					t.Fatal(err)
				}
				return s
			},
			Replace: func(t *testing.T, s chunkstore.Store, id chunkstore.PartID, b []byte) {
				path := filepath.Join(shardOf(storeDir, id), id.String())
				if err := os.WriteFile(path, b, 0o600); err != nil {
					t.Fatal(err)
				}
			},
		})
	})
	t.Run("inline", func(t *testing.T) {
		storetest.Run(t, storetest.Harness{
			New: func(t *testing.T) chunkstore.Store { return newInlineParts(newTestLayer(t).db, 1) },
			Persist: func(t *testing.T, s chunkstore.Store, ids ...chunkstore.PartID) chunkstore.Store {
				in := s.(*inlineParts)
				if err := s.Sync(ids...); err != nil {
					t.Fatal(err)
				}
				err := in.db.mutate(commitNow, func(txn *metaTxn) error {
					for _, id := range ids {
						if err := in.commitIn(txn, id); err != nil {
							return err
						}
					}
					return nil
				})
				if err != nil {
					t.Fatal(err)
				}
				return newInlineParts(in.db, in.ino) // reads only the records
			},
			Replace: func(t *testing.T, s chunkstore.Store, id chunkstore.PartID, b []byte) {
				err := s.(*inlineParts).db.mutate(commitNow, func(txn *metaTxn) error { return txn.putBytes(inlineKey(id), b) })
				if err != nil {
					t.Fatal(err)
				}
			},
		})
	})
}
