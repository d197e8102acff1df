package fs

import (
	"context"
	"errors"
	"log"
	"os"
	"syscall"

	"github.com/ssefs/ssefs/chunkstore"
	"github.com/ssefs/ssefs/dare"
	"github.com/ssefs/ssefs/keyring"
	"github.com/ssefs/ssefs/object"
	"github.com/ssefs/ssefs/store"
)

// errnoTable maps the typed errors of the lower layers onto errnos, in the
// order DESIGN.md §7 gives them precedence.
var errnoTable = []struct {
	err   error
	errno syscall.Errno
}{
	{object.ErrNotFound, syscall.ENOENT},
	{object.ErrExists, syscall.EEXIST},
	{object.ErrNotEmpty, syscall.ENOTEMPTY},
	{object.ErrNotDir, syscall.ENOTDIR},
	{object.ErrIsDir, syscall.EISDIR},
	{object.ErrInvalid, syscall.EINVAL},
	{object.ErrLockDisabled, syscall.EOPNOTSUPP},
	{object.ErrLockPastUntil, syscall.EINVAL},
	{object.ErrLockBadMode, syscall.EINVAL},
	{object.ErrLockNotVersion, syscall.EINVAL},
	{object.ErrNoData, syscall.ENODATA},
	{object.ErrTooBig, syscall.E2BIG},
	{object.ErrFileTooBig, syscall.EFBIG},
	{object.ErrNameTooLong, syscall.ENAMETOOLONG},
	{keyring.ErrKeyDeleted, syscall.EKEYREVOKED},
	{keyring.ErrSealed, syscall.ENOKEY},
	{keyring.ErrKeySealed, syscall.ENOKEY},
	{keyring.ErrKeyNotFound, syscall.ENOKEY},
	{keyring.ErrUnseal, syscall.EACCES},
	{object.ErrNoCustomerKey, syscall.ENOKEY},
	{object.ErrWrongCustomerKey, syscall.EACCES},
	{object.ErrCustomerKeyFormat, syscall.EINVAL},
	{keyring.ErrInvalidKeyName, syscall.EINVAL},
	{keyring.ErrKeyExists, syscall.EEXIST},
	{store.ErrNoSpace, syscall.ENOSPC},
	{syscall.ENOSPC, syscall.ENOSPC},
	{syscall.EDQUOT, syscall.EDQUOT},
	{syscall.EROFS, syscall.EROFS},
}

// integrityErrors are missing or tampered data: always EIO with a log line
// naming the object and part (the wrapped message does), and checked
// before anything else, because such an error may also wrap a cause that
// looks like an answer (a missing part file carries ENOENT, which must
// never reach the caller as "no such file").
var integrityErrors = []error{
	dare.ErrAuthentication,
	dare.ErrFormat,
	object.ErrCorrupt,
	chunkstore.ErrPartNotFound,
	chunkstore.ErrPartSize,
	chunkstore.ErrPartNotRegular,
}

// toErrno turns an error from the object layer into the errno the caller
// sees. Integrity failures and anything unexpected are EIO with a log
// line, so that a tampered or missing part is never silent.
func toErrno(ctx context.Context, op string, err error) syscall.Errno {
	if err == nil {
		return 0
	}
	// A key that does not open an object's sealed key wraps the DARE
	// failure of that unseal: it is the key's answer (EACCES, as before),
	// not lost data. Only a customer's own wrong key goes unlogged.
	if errors.Is(err, object.ErrWrongCustomerKey) {
		return syscall.EACCES
	}
	if errors.Is(err, keyring.ErrUnseal) {
		log.Printf("ssefs: %s: object key does not unseal (wrong key or tampered key record): %v", op, err)
		return syscall.EACCES
	}
	for _, e := range integrityErrors {
		if errors.Is(err, e) {
			log.Printf("ssefs: %s: INTEGRITY FAILURE (missing, tampered or corrupt data): %v", op, err)
			return syscall.EIO
		}
	}
	if errors.Is(err, object.ErrLocked) {
		log.Printf("ssefs: %s: refused by object lock: %v", op, err) // the message names the rule
		return syscall.EPERM
	}
	for _, e := range errnoTable {
		if errors.Is(err, e.err) {
			return e.errno
		}
	}
	if errors.Is(err, os.ErrNotExist) {
		// Before the errno unwrap below: a file of the store that is gone
		// is missing data, not an answer for the caller.
		log.Printf("ssefs: %s: missing data: %v", op, err)
		return syscall.EIO
	}
	var errno syscall.Errno
	if errors.As(err, &errno) {
		return errno
	}
	log.Printf("ssefs: %s: %v", op, err)
	return syscall.EIO
}
