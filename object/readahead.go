package object

import (
	"slices"
	"sync"

	"github.com/ssefs/ssefs/chunkstore"
	"github.com/ssefs/ssefs/keyring"
)

// Read-ahead: a reader going through a file in order gets the next windows
// of stored plaintext decrypted in the background, on another core, while
// the kernel copies the previous read's reply. Without it every read reads
// and decrypts its parts and only then replies, so a sequential reader
// keeps one core busy at a time.
//
// A window is plaintext of the stored runs only (never of write buffers):
// ReadAt serves buffered chunks from their buffers as before and takes a
// window only for spans it would otherwise read with readStored. A window
// is used only while the file's run list is the one it was decrypted from
// (runsGen) and its key is still the file's (gen), and a seal drops them
// all (ForgetKeys), so it can never show bytes a direct read would not.

const (
	// raWindow is the plaintext one window holds, aligned in the file.
	raWindow = 1 << 20
	// raAhead is how many windows past the one a read ends in are decrypted.
	raAhead = 2
	// raMinRead is the smallest read that counts as sequential: the kernel
	// reads ahead in requests of at least 128 KiB; smaller reads are random
	// access or a tool's own small buffer, whose page cache does the rest.
	raMinRead = 128 << 10
	// raMinSize is the smallest file read ahead: below it one read holds it.
	raMinSize = 2 * raWindow
	// raPrefetch is how far past a window the part files it will need are
	// handed to the kernel to read: a whole part (4 MiB) ahead keeps a few
	// disk reads in flight, which the VM disks we measure on need for
	// their speed (one 1 MiB read at a time: ~450 MB/s; three: 1.1 GB/s).
	raPrefetch = 3 * partChunks * ChunkSize
)

var raPool = sync.Pool{New: func() any { b := make([]byte, raWindow); return &b }}

// raWin is one window: plaintext [off, off+n) of the runs of
// generation runsGen under key generation gen, ready once done is closed.
type raWin struct {
	off     int64
	buf     *[]byte
	n       int
	runsGen uint64
	gen     uint64
	done    chan struct{}
	err     error
	dead    bool // dropped while decrypting: the decrypter returns buf
}

// readAhead is a file's read-ahead state, guarded by its own mutex since
// readers hold f.mu only for reading.
type readAhead struct {
	mu   sync.Mutex
	next int64 // where the last read of raMinRead or more ended
	wins map[int64]*raWin
	// advised holds the parts last given to Prefetch, so a part that
	// several windows read is advised once.
	advised [8]chunkstore.PartID
	nextAdv int
}

// readAheadFrom copies stored plaintext at off into dst from a window, if
// one holds all of it for the current runs and key; it reports whether it
// did. Callers hold f.mu for reading.
func (f *File) readAheadFrom(dst []byte, off int64) bool {
	k := off / raWindow
	if (off+int64(len(dst))-1)/raWindow != k {
		return false
	}
	f.ra.mu.Lock()
	w := f.ra.wins[k]
	f.ra.mu.Unlock()
	if w == nil || w.runsGen != f.runsGen || w.gen != f.gen {
		return false
	}
	<-w.done
	if w.err != nil || off+int64(len(dst)) > w.off+int64(w.n) {
		return false
	}
	f.ra.mu.Lock()
	defer f.ra.mu.Unlock()
	if w.dead { // dropped (seal, release) while we waited
		return false
	}
	copy(dst, (*w.buf)[off-w.off:])
	return true
}

// readAheadAfter notes a read of [off, end) and, when it continues a
// sequential reader, starts decrypting the windows after it. Callers hold
// f.mu for reading.
func (f *File) readAheadAfter(off, end int64) {
	if f.detached || end-off < raMinRead || f.size < raMinSize {
		return
	}
	f.ra.mu.Lock()
	defer f.ra.mu.Unlock()
	sequential := off == f.ra.next
	f.ra.next = end
	if !sequential {
		return
	}
	if f.ra.wins == nil {
		f.ra.wins = map[int64]*raWin{}
	}
	for k, w := range f.ra.wins { // behind the reader, or stale
		if k < off/raWindow || w.runsGen != f.runsGen || w.gen != f.gen {
			f.dropWinLocked(k, w)
		}
	}
	// From the window holding the next byte: what this read covered is
	// already in the kernel's hands.
	for k := end / raWindow; k <= (end-1)/raWindow+raAhead && k*raWindow < f.size; k++ {
		if _, ok := f.ra.wins[k]; ok {
			continue
		}
		w := &raWin{off: k * raWindow, buf: raPool.Get().(*[]byte), runsGen: f.runsGen, gen: f.gen, done: make(chan struct{})}
		w.n = int(min(raWindow, f.size-w.off))
		f.ra.wins[k] = w
		go f.decryptWindow(w, f.oek, f.runs)
	}
}

// decryptWindow fills w from runs under key (copies: it runs without f.mu;
// run lists are never modified in place).
func (f *File) decryptWindow(w *raWin, key keyring.ObjectKey, runs []Run) {
	f.prefetchParts(runs, w.off, w.off+int64(w.n)+raPrefetch)
	w.err = f.readRuns(key[:], runs, (*w.buf)[:w.n], w.off)
	key.Zero()
	f.ra.mu.Lock()
	defer f.ra.mu.Unlock()
	close(w.done)
	if w.dead {
		clear(*w.buf)
		raPool.Put(w.buf)
	}
}

// dropWinLocked forgets window k; its buffer goes back to the pool now, or
// when its decryption ends. Callers hold f.ra.mu.
func (f *File) dropWinLocked(k int64, w *raWin) {
	delete(f.ra.wins, k)
	w.dead = true
	select {
	case <-w.done:
		clear(*w.buf)
		raPool.Put(w.buf)
	default:
	}
}

// dropReadAhead forgets every window, clearing their plaintext: on a seal,
// and when the file's last handle is released.
func (f *File) dropReadAhead() {
	f.ra.mu.Lock()
	defer f.ra.mu.Unlock()
	for k, w := range f.ra.wins {
		f.dropWinLocked(k, w)
	}
	f.ra.next = 0
}

// prefetchParts has the kernel read every part file that runs map into
// [from, to) as a whole, the first time a window needs it: one large read
// per part, going on while earlier windows are decrypted, instead of a
// synchronous read per window (cold sequential reads waited on the disk a
// third of the time).
func (f *File) prefetchParts(runs []Run, from, to int64) {
	for i := firstRunAfter(runs, from); i < len(runs) && runs[i].Off < to; i++ {
		r := runs[i]
		f.ra.mu.Lock()
		seen := slices.Contains(f.ra.advised[:], r.Part)
		if !seen {
			f.ra.advised[f.ra.nextAdv] = r.Part
			f.ra.nextAdv = (f.ra.nextAdv + 1) % len(f.ra.advised)
		}
		f.ra.mu.Unlock()
		if !seen {
			f.storeOf(r).Prefetch(r.Part)
		}
	}
}
