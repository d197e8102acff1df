package chunkstore

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/ssefs/ssefs/internal/storefile"
)

// Dir stores one file per part under root, at root/xx/yy/<id as 16 hex
// digits> where xx and yy are the id's third- and second-lowest bytes:
// 256 consecutive ids share a directory, so writing new parts rarely
// creates (and fsyncs) a directory, and no directory grows past 256 parts
// per 16 M ids. It is safe for concurrent use.
type Dir struct {
	root   string
	fds    *fdCache
	closed atomic.Bool

	shards sync.Map // shard dir path → struct{}: known to exist

	mu    sync.Mutex
	dirty map[string]struct{} // directories whose new entries (shard dirs) are not yet fsynced

	room func(n int64) error // refuses a part that the filesystem has no room for (SetRoom)
}

// SetRoom installs the check Write makes before storing n bytes; the store
// uses it to keep part files off the space its metadata needs. Call it
// before the Dir is used.
func (d *Dir) SetRoom(fn func(n int64) error) { d.room = fn }

// OpenDir opens the part directory root, creating it (0700) if missing.
func OpenDir(root string) (*Dir, error) {
	d := &Dir{root: root, fds: newFDCache(fdCacheSize), dirty: make(map[string]struct{})}
	switch err := os.Mkdir(root, 0o700); {
	case err == nil:
		d.dirty[filepath.Dir(root)] = struct{}{}
	case errors.Is(err, fs.ErrExist):
		st, err := os.Stat(root)
		if err != nil {
			return nil, fmt.Errorf("chunkstore: opening %s: %w", root, err)
		}
		if !st.IsDir() {
			return nil, fmt.Errorf("chunkstore: %s is not a directory", root)
		}
	default:
		return nil, fmt.Errorf("chunkstore: creating %s: %w", root, err)
	}
	return d, nil
}

// shardNames are the two directory levels holding id.
func shardNames(id PartID) (xx, yy string) {
	return fmt.Sprintf("%02x", uint8(id>>16)), fmt.Sprintf("%02x", uint8(id>>8))
}

func (d *Dir) shardDir(id PartID) string {
	xx, yy := shardNames(id)
	return filepath.Join(d.root, xx, yy)
}

// Path is where part id's file lives, for log messages.
func (d *Dir) Path(id PartID) string { return d.path(id) }

func (d *Dir) path(id PartID) string {
	return filepath.Join(d.shardDir(id), id.String())
}

// ensureShard creates id's shard directories, remembering each parent that
// gained an entry so Sync can make the new directory durable.
func (d *Dir) ensureShard(id PartID) error {
	shard := d.shardDir(id)
	if _, ok := d.shards.Load(shard); ok {
		return nil
	}
	for _, dir := range []string{filepath.Dir(shard), shard} {
		switch err := os.Mkdir(dir, 0o700); {
		case err == nil:
			d.mu.Lock()
			d.dirty[filepath.Dir(dir)] = struct{}{}
			d.mu.Unlock()
		case !errors.Is(err, fs.ErrExist):
			return fmt.Errorf("chunkstore: creating shard %s: %w", dir, err)
		}
	}
	d.shards.Store(shard, struct{}{})
	return nil
}

// Write stores a sealed part. It refuses to replace an existing file
// (ErrPartExists) and does not fsync: call Sync before metadata that
// references the part commits.
func (d *Dir) Write(id PartID, sealed []byte) error {
	if d.closed.Load() {
		return ErrClosed
	}
	if d.room != nil {
		if err := d.room(int64(len(sealed))); err != nil {
			return fmt.Errorf("chunkstore: writing part %v: %w", id, err)
		}
	}
	if err := d.ensureShard(id); err != nil {
		return err
	}
	p := d.path(id)
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL|syscall.O_NOFOLLOW|syscall.O_CLOEXEC, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("%w: %v: %w", ErrPartExists, id, err)
	}
	if err != nil {
		return fmt.Errorf("chunkstore: writing part %v: %w", id, err)
	}
	direct, err := writeDirect(f, sealed)
	if !direct && err == nil {
		_, err = f.Write(sealed)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(p) // a partial part must not look like a written one
		return fmt.Errorf("chunkstore: writing part %v: %w", id, err)
	}
	return nil
}

// ReadAt reads raw sealed bytes of a part, with io.ReaderAt semantics,
// through a small cache of open descriptors. It does not check the part's
// size; readers of content use Reader, which does.
func (d *Dir) ReadAt(id PartID, p []byte, off int64) (int, error) {
	return d.readAt(id, -1, p, off)
}

// readAt is ReadAt that first checks, when encSize ≥ 0, that the part file
// holds exactly encSize bytes (ErrPartSize otherwise). The size comes from
// the fstat at open, kept in the fd cache, so the check costs nothing per
// read.
func (d *Dir) readAt(id PartID, encSize int64, p []byte, off int64) (int, error) {
	e, err := d.fds.get(id, func() (*os.File, int64, error) { return d.open(id) })
	if err != nil {
		return 0, err
	}
	defer d.fds.release(e)
	if encSize >= 0 && e.size != encSize {
		return 0, fmt.Errorf("%w: part %v holds %d bytes, its record says %d", ErrPartSize, id, e.size, encSize)
	}
	n, err := e.f.ReadAt(p, off)
	if err != nil && err != io.EOF {
		err = fmt.Errorf("chunkstore: reading part %v: %w", id, err)
	}
	return n, err
}

// open opens part id's file read-only and returns its size. Anything but a
// regular file there (a FIFO, a symbolic link, a device, a directory) fails
// at once with ErrPartNotRegular, never blocks.
func (d *Dir) open(id PartID) (*os.File, int64, error) {
	f, err := storefile.Open(d.path(id), os.O_RDONLY, 0)
	if err != nil {
		return nil, 0, d.notFound(id, err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, fmt.Errorf("chunkstore: part %v: %w", id, err)
	}
	return f, st.Size(), nil
}

// Prefetch asks the kernel to start reading a whole part into the page
// cache in the background (posix_fadvise WILLNEED), so a sequential reader
// that will need it soon finds it there: one large read of the part
// instead of a read per request. It is only advice; errors are ignored.
func (d *Dir) Prefetch(id PartID) {
	e, err := d.fds.get(id, func() (*os.File, int64, error) { return d.open(id) })
	if err != nil {
		return
	}
	defer d.fds.release(e)
	fadviseWillNeed(e.f)
}

// Reader adapts one part to io.ReaderAt, e.g. for ReadPartAt. encSize is
// the sealed size the part's record promises (dare.EncryptedSize of its
// plaintext length): a file of any other size (appended to, cut short,
// another part copied over it) fails every read with ErrPartSize, since
// DARE alone never reads past the size it is given and would not notice
// bytes appended after the final package.
func (d *Dir) Reader(id PartID, encSize int64) io.ReaderAt {
	return partReader{d, id, max(encSize, 0)}
}

type partReader struct {
	d       *Dir
	id      PartID
	encSize int64
}

func (r partReader) ReadAt(p []byte, off int64) (int, error) {
	return r.d.readAt(r.id, r.encSize, p, off)
}

// Size is the sealed size of a part.
func (d *Dir) Size(id PartID) (int64, error) {
	if d.closed.Load() {
		return 0, ErrClosed
	}
	st, err := storefile.Lstat(d.path(id))
	if err != nil {
		return 0, d.notFound(id, err)
	}
	return st.Size(), nil
}

// Remove deletes a part; a missing part is not an error, so garbage
// collection can be re-run after a crash. The unlink is not fsynced: a part
// that reappears after power loss is simply collected again.
func (d *Dir) Remove(id PartID) error {
	if d.closed.Load() {
		return ErrClosed
	}
	d.fds.forget(id)
	if err := os.Remove(d.path(id)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("chunkstore: removing part %v: %w", id, err)
	}
	return nil
}

// Close releases cached descriptors; later calls fail with ErrClosed.
func (d *Dir) Close() error {
	d.closed.Store(true)
	d.fds.close()
	return nil
}

// notFound turns a missing file into ErrPartNotFound (still matching
// fs.ErrNotExist), a special file into ErrPartNotRegular, and wraps anything
// else with the id.
func (d *Dir) notFound(id PartID, err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%w: %v: %w", ErrPartNotFound, id, err)
	}
	if errors.Is(err, storefile.ErrNotRegular) {
		return fmt.Errorf("%w: %v: %w", ErrPartNotRegular, id, err)
	}
	return fmt.Errorf("chunkstore: part %v: %w", id, err)
}
