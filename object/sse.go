package object

import (
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/ssefs/ssefs/keyring"
)

// SSEChoice is how a new or re-wrapped object key is to be protected: the SSE type
// and, for SSE-KMS, the key name or, for SSE-C, the client key's fingerprint.
type SSEChoice struct {
	Domain      keyring.Domain
	KeyName     string // SSE-S3: keyring.DefaultKeyName; SSE-KMS: the key; SSE-C: ""
	Fingerprint []byte // SSE-C only: CustomerKeyFingerprint of the client key
}

// defaultChoice is what a file gets when nothing else applies: SSE-S3.
var defaultChoice = SSEChoice{Domain: keyring.DomainSSES3, KeyName: keyring.DefaultKeyName}

// sseState is the layer's SSE bookkeeping beyond the OEK cache. The zero value is
// ready to use.
type sseState struct {
	// gen is bumped (under keysMu) by every event that can make a key unusable: KMS or
	// key seal, key deletion, rotation retirement. Open files compare it with the value
	// their OEK was fetched at and re-check through the KMS when it moved.
	gen atomic.Uint64

	mu    sync.Mutex
	dirs  map[Ino]*SSEChoice     // cache of directory defaults; a nil value means none
	ckeys map[[32]byte]*[32]byte // SSE-C client keys by fingerprint, memory only
	md5   map[Ino]string         // customer-key-md5 set ahead of the key, per object
	// listeners run at the end of ForgetKeys: the frontend drops the kernel's page cache.
	listeners []func()

	hookMu  sync.Mutex     // serialises hook runs so their order matches the events'
	hookRun SealHookRunner // runs the seal hook (Options.SealHook); nil: none
	rot     rotations
}

// newObjectKey makes the OEK of a new regular file and seals it as the parent
// directory's default says (SSE-KMS, SSE-C), or under the SSE-S3 deployment key.
func (l *Layer) newObjectKey(parent, ino Ino) (SSE, error) {
	choice, err := l.dirChoice(parent)
	if err != nil {
		return SSE{}, err
	}
	oek, err := keyring.NewObjectKey()
	if err != nil {
		return SSE{}, err
	}
	g := l.sse.gen.Load()
	sse, err := l.sealFor(ino, choice, oek)
	if err != nil {
		oek.Zero()
		return SSE{}, err
	}
	l.cacheKey(ino, oek, g)
	return sse, nil
}

// sealFor seals oek for object ino as choice says: under a fresh DEK of the named
// KMS key, or under a client key held in memory.
func (l *Layer) sealFor(ino Ino, choice SSEChoice, oek keyring.ObjectKey) (SSE, error) {
	var ext, dekCT []byte
	switch choice.Domain {
	case keyring.DomainSSEC:
		ck, err := l.customerKey(choice.Fingerprint)
		if err != nil {
			return SSE{}, fmt.Errorf("object %d: %w", ino, err)
		}
		ext, dekCT = ck[:], append([]byte(nil), choice.Fingerprint...)
	case keyring.DomainSSES3, keyring.DomainSSEKMS:
		dek, err := l.kms.GenerateKey(choice.KeyName, keyring.DEKContext(l.storeID, uint64(ino)))
		if err != nil {
			return SSE{}, fmt.Errorf("object: generating data key for object %d: %w", ino, err)
		}
		defer clear(dek.Plaintext)
		ext, dekCT = dek.Plaintext, dek.Ciphertext
	default:
		return SSE{}, fmt.Errorf("object: unknown SSE type %q: %w", choice.Domain, ErrInvalid)
	}
	sealed, err := keyring.SealObjectKey(l.cipher, ext, choice.Domain, l.storeID, uint64(ino), oek)
	if err != nil {
		return SSE{}, fmt.Errorf("object: sealing key of object %d: %w", ino, err)
	}
	b, err := sealed.MarshalBinary()
	if err != nil {
		return SSE{}, err
	}
	return SSE{Domain: string(choice.Domain), KeyName: choice.KeyName, SealedDEK: dekCT, SealedOEK: b}, nil
}

// objectKey returns the unsealed OEK of n, asking the KMS (or the SSE-C key held in
// memory) when it is not cached.
func (l *Layer) objectKey(n *Inode) (keyring.ObjectKey, error) {
	l.keysMu.Lock()
	oek, ok := l.oeks[n.Ino]
	l.keysMu.Unlock()
	if ok {
		return oek, nil
	}
	g := l.sse.gen.Load()
	oek, err := l.unsealKey(n)
	if err != nil {
		return oek, err
	}
	l.cacheKey(n.Ino, oek, g)
	return oek, nil
}

// unsealKey unseals n's OEK without the cache.
func (l *Layer) unsealKey(n *Inode) (keyring.ObjectKey, error) {
	var oek keyring.ObjectKey
	var sk keyring.SealedKey
	if n.SSE.Domain == "" {
		return oek, fmt.Errorf("object %d has no key: %w", n.Ino, ErrInvalid)
	}
	if err := sk.UnmarshalBinary(n.SSE.SealedOEK); err != nil {
		return oek, fmt.Errorf("object: sealed key of object %d: %w", n.Ino, err)
	}
	var ext []byte
	if keyring.Domain(n.SSE.Domain) == keyring.DomainSSEC {
		ck, err := l.customerKey(n.SSE.SealedDEK)
		if err != nil {
			return oek, fmt.Errorf("object %d: %w", n.Ino, err)
		}
		ext = ck[:]
	} else {
		dek, err := l.kms.Decrypt(n.SSE.KeyName, n.SSE.SealedDEK, keyring.DEKContext(l.storeID, uint64(n.Ino)))
		if err != nil {
			return oek, fmt.Errorf("object: unsealing data key of object %d: %w", n.Ino, err)
		}
		defer clear(dek)
		ext = dek
	}
	oek, err := sk.Unseal(ext, keyring.Domain(n.SSE.Domain), l.storeID, uint64(n.Ino))
	if err != nil {
		return oek, fmt.Errorf("object: unsealing key of object %d: %w", n.Ino, err)
	}
	return oek, nil
}

// cacheKey caches an OEK unless a seal (or other key event) happened since gen was
// read: a key fetched just before a seal must not outlive it.
func (l *Layer) cacheKey(ino Ino, oek keyring.ObjectKey, gen uint64) {
	l.keysMu.Lock()
	if l.sse.gen.Load() == gen {
		l.oeks[ino] = oek
	}
	l.keysMu.Unlock()
}

func (l *Layer) forgetKey(ino Ino) {
	l.keysMu.Lock()
	if k, ok := l.oeks[ino]; ok {
		k.Zero()
		delete(l.oeks, ino)
	}
	l.keysMu.Unlock()
}

// ForgetKeys zeroises every cached object key, in the layer's cache and in open
// files, so that a seal takes effect at once: the next access must ask the KMS
// again. Last, the frontend is told to drop the page cache of every open file, so
// a read on an already open descriptor reaches the key check instead of cached
// plaintext (a new open always does).
//
// It must not run inside a FUSE request: kernel notifications from there can
// deadlock (ForgetCustomerKey runs it in a goroutine).
func (l *Layer) ForgetKeys() {
	l.keysMu.Lock()
	g := l.sse.gen.Add(1)
	for ino, k := range l.oeks {
		k.Zero()
		delete(l.oeks, ino)
	}
	l.keysMu.Unlock()
	files := l.openFiles()
	for _, f := range files {
		f.mu.Lock()
		if f.gen != g { // else it was re-checked after the event (an SSE-C file)
			f.oek.Zero()
		}
		f.mu.Unlock()
		f.dropReadAhead() // no plaintext decrypted ahead outlives the key
	}
	for _, f := range files {
		l.notify(Change{Ino: f.ino})
	}
	l.sse.mu.Lock()
	ls := append([]func(){}, l.sse.listeners...)
	l.sse.mu.Unlock()
	for _, fn := range ls {
		fn()
	}
}

// OnForgetKeys registers fn to run at the end of every ForgetKeys (seal, key seal,
// key deletion). The FUSE frontend uses it to drop the page cache of every file the
// kernel knows, old-version views included, not only of open files.
func (l *Layer) OnForgetKeys(fn func()) {
	l.sse.mu.Lock()
	l.sse.listeners = append(l.sse.listeners, fn)
	l.sse.mu.Unlock()
}

// openFiles returns the content states of all open files.
func (l *Layer) openFiles() []*File {
	l.filesMu.Lock()
	defer l.filesMu.Unlock()
	out := make([]*File, 0, len(l.files))
	for _, f := range l.files {
		out = append(out, f)
	}
	return out
}

// refreshKeyLocked re-checks f's key after a key event (f.mu held for writing): it
// fails with the KMS's reason (sealed, deleted, SSE-C key missing) while the key is
// unusable, and restores the OEK once it is usable again.
func (f *File) refreshKeyLocked() error {
	g := f.l.sse.gen.Load()
	if f.gen == g {
		return nil
	}
	n, err := f.l.Inode(f.ino)
	if err != nil {
		return err
	}
	oek, err := f.l.objectKey(n)
	if err != nil {
		return err
	}
	f.oek, f.gen = oek, g
	return nil
}

// rlockKeyed takes f.mu for reading with a usable key, re-checking it first when a
// key event happened since it was fetched.
func (f *File) rlockKeyed() error {
	f.mu.RLock()
	for f.gen != f.l.sse.gen.Load() {
		f.mu.RUnlock()
		f.mu.Lock()
		err := f.refreshKeyLocked()
		f.mu.Unlock()
		if err != nil {
			return err
		}
		f.mu.RLock()
	}
	return nil
}
