package main

import (
	"net/http"

	"github.com/hanwen/go-fuse/v2/fuse"

	"github.com/ssefs/ssefs/control"
	"github.com/ssefs/ssefs/object"
)

// mountCtx is what a control route can reach inside a live mount.
type mountCtx struct {
	l      *object.Layer
	mnt    string
	server *fuse.Server
}

// adminRoutes are registered by each command's file in its init(), so a
// command's client and server sides live together.
var adminRoutes = map[string]func(*mountCtx) http.Handler{}

func registerRoute(pattern string, h func(*mountCtx) http.Handler) { adminRoutes[pattern] = h }

// newAdminAPI is the control API a mount serves.
func newAdminAPI(l *object.Layer, mnt string, server *fuse.Server) http.Handler {
	mc := &mountCtx{l: l, mnt: mnt, server: server}
	mux := http.NewServeMux()
	for pattern, h := range adminRoutes {
		mux.Handle(pattern, h(mc))
	}
	return mux
}

func init() {
	registerRoute("GET /status", func(mc *mountCtx) http.Handler {
		return control.Handle(func(struct{}) (*control.Status, error) { return storeStatus(mc.l, mc.mnt) })
	})
}

// storeStatus gathers the figures `ssefs status` shows, mounted or not.
func storeStatus(l *object.Layer, mnt string) (*control.Status, error) {
	st := l.Store()
	s, err := l.Stats()
	if err != nil {
		return nil, err
	}
	ks := st.KMS.Status()
	sse := sseStatus(l)
	return &control.Status{
		SealedKeys: ks.SealedKeys, Unrecoverable: sse.Unrecoverable, Rotations: sse.Rotations,
		StoreID: st.Config.ID, Store: st.Dir, Mountpoint: mnt,
		Cipher: st.Config.Cipher, ObjectLock: st.Config.ObjectLock,
		KMS: ks.Backend, KMSSealed: ks.Sealed, Keys: ks.Keys,
		Objects: s.Objects, Files: s.Files, Versions: s.Versions, Deleted: s.DeletedObject, Locked: s.Locked,
		PlainBytes: s.PlainBytes, StoredBytes: s.StoredBytes, PartFiles: s.PartFiles, InlineParts: s.InlineParts,
	}, nil
}
