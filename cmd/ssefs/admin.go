package main

import (
	"net/http"

	"github.com/hanwen/go-fuse/v2/fuse"

	"github.com/ssefs/ssefs/control"
	"github.com/ssefs/ssefs/object"
)

// newAdminAPI is the control API a mount serves.
func newAdminAPI(l *object.Layer, mnt string, server *fuse.Server) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /status", control.Handle(func(struct{}) (*control.Status, error) {
		return storeStatus(l, mnt)
	}))
	return mux
}

// storeStatus gathers the figures `ssefs status` shows, mounted or not.
func storeStatus(l *object.Layer, mnt string) (*control.Status, error) {
	st := l.Store()
	s, err := l.Stats()
	if err != nil {
		return nil, err
	}
	ks := st.KMS.Status()
	return &control.Status{
		StoreID: st.Config.ID, Store: st.Dir, Mountpoint: mnt,
		Cipher: st.Config.Cipher, ObjectLock: st.Config.ObjectLock,
		KMS: ks.Backend, KMSSealed: ks.Sealed, Keys: ks.Keys,
		Objects: s.Objects, Files: s.Files, Versions: s.Versions, Deleted: s.DeletedObject,
		PlainBytes: s.PlainBytes, StoredBytes: s.StoredBytes, PartFiles: s.PartFiles, InlineParts: s.InlineParts,
	}, nil
}
