package fs

import (
	"context"
	"errors"
	"log"
	"os"
	"syscall"

	"github.com/ssefs/ssefs/dare"
	"github.com/ssefs/ssefs/keyring"
	"github.com/ssefs/ssefs/object"
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
	{syscall.ENOSPC, syscall.ENOSPC},
	{syscall.EDQUOT, syscall.EDQUOT},
	{syscall.EROFS, syscall.EROFS},
}

// toErrno turns an error from the object layer into the errno the caller
// sees. Authentication failures and anything unexpected are EIO with a log
// line, so that a tampered part is never silent.
func toErrno(ctx context.Context, op string, err error) syscall.Errno {
	if err == nil {
		return 0
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
	var errno syscall.Errno
	if errors.As(err, &errno) {
		return errno
	}
	if errors.Is(err, os.ErrNotExist) {
		log.Printf("ssefs: %s: missing data: %v", op, err)
		return syscall.EIO
	}
	if errors.Is(err, dare.ErrAuthentication) || errors.Is(err, object.ErrCorrupt) {
		log.Printf("ssefs: %s: AUTHENTICATION FAILURE (tampered or corrupt data): %v", op, err)
		return syscall.EIO
	}
	log.Printf("ssefs: %s: %v", op, err)
	return syscall.EIO
}
