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

// routeTable maps a control route ("METHOD /path") to what builds its
// handler on one mount.
type routeTable map[string]func(*mountCtx) http.Handler

// newAdminRoutes is every route a mount serves. Each group lives in the file
// of its command, so a command's client and server sides stay together; a
// route claimed twice is a programming error.
func newAdminRoutes() routeTable {
	t := routeTable{}
	for _, group := range []routeTable{
		statusRoutes(), auditRoutes(), keyRoutes(), kmsRoutes(), lifecycleRoutes(),
		lockRoutes(), passphraseRoutes(), versionsRoutes(),
	} {
		for pattern, h := range group {
			if _, dup := t[pattern]; dup {
				panic("ssefs: control route " + pattern + " defined twice")
			}
			t[pattern] = h
		}
	}
	return t
}

// newAdminAPI is the control API a mount serves.
func newAdminAPI(l *object.Layer, mnt string, server *fuse.Server) http.Handler {
	mc := &mountCtx{l: l, mnt: mnt, server: server}
	mux := http.NewServeMux()
	for pattern, h := range newAdminRoutes() {
		mux.Handle(pattern, h(mc))
	}
	return mux
}

// statusRoutes serve `ssefs status` on a mount.
func statusRoutes() routeTable {
	return routeTable{
		"GET /status": func(mc *mountCtx) http.Handler {
			return control.Handle(func(struct{}) (*control.Status, error) { return storeStatus(mc.l, mc.mnt) })
		},
	}
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
