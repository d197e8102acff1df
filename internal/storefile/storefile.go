// Package storefile opens files of the untrusted store directory so that no
// special file planted there can block or redirect the daemon: a FIFO whose
// open waits for a partner forever, a symbolic link to a device or to a
// file outside the store, a directory where a file should be.
package storefile

import (
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"
)

// ErrNotRegular reports a store path that is not a regular file: a FIFO, a
// device, a socket, a directory or a symbolic link. It means the store was
// tampered with, never a file that may be used anyway.
var ErrNotRegular = errors.New("not a regular file")

// Open is os.OpenFile for a file of the store. It opens with O_NOFOLLOW (a
// symbolic link fails) and O_NONBLOCK (a FIFO opens at once instead of
// waiting for a writer or reader), then fstats the descriptor: anything but
// a regular file is closed again and fails with ErrNotRegular. The file
// returned is in blocking mode, like one from os.OpenFile. O_NONBLOCK makes
// a write-only open of a FIFO with no reader fail with ENXIO, also an error.
func Open(path string, flag int, perm os.FileMode) (*os.File, error) {
	fd, err := open(path, flag|syscall.O_NOFOLLOW|syscall.O_NONBLOCK|syscall.O_CLOEXEC, uint32(perm.Perm()))
	if err != nil {
		switch {
		case errors.Is(err, syscall.ELOOP):
			return nil, &os.PathError{Op: "open", Path: path, Err: fmt.Errorf("%w: a symbolic link (%w)", ErrNotRegular, err)}
		case errors.Is(err, syscall.ENXIO): // a FIFO no one reads, or a device without its hardware
			return nil, &os.PathError{Op: "open", Path: path, Err: fmt.Errorf("%w: a FIFO or device (%w)", ErrNotRegular, err)}
		case errors.Is(err, syscall.EISDIR):
			return nil, &os.PathError{Op: "open", Path: path, Err: fmt.Errorf("%w: a directory (%w)", ErrNotRegular, err)}
		}
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	var st syscall.Stat_t
	if err := fstat(fd, &st); err != nil {
		syscall.Close(fd)
		return nil, &os.PathError{Op: "fstat", Path: path, Err: err}
	}
	if uint32(st.Mode)&syscall.S_IFMT != syscall.S_IFREG {
		syscall.Close(fd)
		return nil, &os.PathError{Op: "open", Path: path, Err: fmt.Errorf("%w: %s", ErrNotRegular, kind(uint32(st.Mode)))}
	}
	if err := syscall.SetNonblock(fd, false); err != nil {
		syscall.Close(fd)
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	return os.NewFile(uintptr(fd), path), nil
}

// OpenDir opens a directory of the store read-only, to fsync it or list it.
// O_DIRECTORY makes anything else (a FIFO planted at a directory's name)
// fail at once with ENOTDIR instead of blocking; a symbolic link to a
// directory is followed, since the store directory itself may be one.
func OpenDir(path string) (*os.File, error) {
	fd, err := open(path, syscall.O_RDONLY|syscall.O_DIRECTORY|syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	if err := syscall.SetNonblock(fd, false); err != nil {
		syscall.Close(fd)
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	return os.NewFile(uintptr(fd), path), nil
}

// ReadFile is os.ReadFile through Open.
func ReadFile(path string) ([]byte, error) {
	f, err := Open(path, os.O_RDONLY, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(f)
}

// Lstat is os.Lstat that fails with ErrNotRegular unless path is a regular
// file (not following a symbolic link).
func Lstat(path string) (os.FileInfo, error) {
	fi, err := os.Lstat(path)
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, &os.PathError{Op: "lstat", Path: path, Err: fmt.Errorf("%w: %s", ErrNotRegular, fi.Mode().Type())}
	}
	return fi, nil
}

func open(path string, flag int, perm uint32) (int, error) {
	for {
		fd, err := syscall.Open(path, flag, perm)
		if err != syscall.EINTR {
			return fd, err
		}
	}
}

func fstat(fd int, st *syscall.Stat_t) error {
	for {
		err := syscall.Fstat(fd, st)
		if err != syscall.EINTR {
			return err
		}
	}
}

// kind names a file type for error messages.
func kind(mode uint32) string {
	switch mode & syscall.S_IFMT {
	case syscall.S_IFIFO:
		return "a FIFO"
	case syscall.S_IFCHR:
		return "a character device"
	case syscall.S_IFBLK:
		return "a block device"
	case syscall.S_IFDIR:
		return "a directory"
	case syscall.S_IFSOCK:
		return "a socket"
	case syscall.S_IFLNK:
		return "a symbolic link"
	}
	return fmt.Sprintf("file type %#o", mode&syscall.S_IFMT)
}
