package chunkstore_test

import (
	"os"
	"testing"

	"github.com/ssefs/ssefs/chunkstore"
	"github.com/ssefs/ssefs/chunkstore/storetest"
)

// TestDirStore runs the Store suite against part files in a directory.
func TestDirStore(t *testing.T) {
	storetest.Run(t, storetest.Harness{
		New: func(t *testing.T) chunkstore.Store {
			d, err := chunkstore.OpenDir(t.TempDir() + "/parts")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { d.Close() })
			return d
		},
		Persist: func(t *testing.T, s chunkstore.Store, ids ...chunkstore.PartID) chunkstore.Store {
			if err := s.Sync(ids...); err != nil {
				t.Fatal(err)
			}
			return s
		},
		Replace: func(t *testing.T, s chunkstore.Store, id chunkstore.PartID, b []byte) {
			if err := os.WriteFile(s.(*chunkstore.Dir).PartPath(id), b, 0o600); err != nil {
				t.Fatal(err)
			}
		},
	})
}
