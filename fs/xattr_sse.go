package fs

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"syscall"

	"github.com/ssefs/ssefs/keyring"
	"github.com/ssefs/ssefs/object"
)

// The SSE attributes (docs/SSE.md). On a file they describe and change its own key;
// on a directory its default for files (and subdirectories) created under it.
// None of them ever returns key material.
const (
	xattrSSE            = VirtualPrefix + "sse"                          // JSON summary (read-only)
	xattrSSEType        = VirtualPrefix + "sse.type"                     // SSE-S3 | SSE-KMS | SSE-C
	xattrSSEKMSKeyID    = VirtualPrefix + "sse.kms-key-id"               // the KMS key name
	xattrSSECustomerKey = VirtualPrefix + "sse.customer-key"             // write-only: base64 SSE-C key
	xattrSSECustomerMD5 = VirtualPrefix + "sse.customer-key-md5"         // write-only: base64 MD5 of it
	xattrSSEFingerprint = VirtualPrefix + "sse.customer-key-fingerprint" // read-only
	xattrSSEKeyStatus   = VirtualPrefix + "sse.key-status"               // read-only
)

// sseXattrs serves the SSE attributes named above.
func sseXattrs() virtualXattrTable {
	return virtualXattrTable{
		xattrSSE: {get: func(ctx context.Context, n *Node) ([]byte, error) {
			info, err := n.l.SSEInfo(n.ino)
			if err != nil {
				return nil, err
			}
			return json.Marshal(info)
		}},
		xattrSSEType: {
			get: sseField(func(i object.SSEInfo) string { return i.Type }),
			set: func(ctx context.Context, n *Node, v []byte) error {
				if strings.TrimSpace(string(v)) != string(keyring.DomainSSES3) {
					return object.ErrInvalid // SSE-KMS and SSE-C are chosen by giving a key
				}
				return setSSE(n, nil)
			},
		},
		xattrSSEKMSKeyID: {
			get: sseField(func(i object.SSEInfo) string {
				if i.Type == string(keyring.DomainSSEKMS) {
					return i.KeyName
				}
				return ""
			}),
			set: func(ctx context.Context, n *Node, v []byte) error {
				name := strings.TrimSpace(string(v))
				if name == keyring.DefaultKeyName {
					return setSSE(n, nil)
				}
				return setSSE(n, &object.SSEChoice{Domain: keyring.DomainSSEKMS, KeyName: name})
			},
			del: func(ctx context.Context, n *Node) error { return setSSE(n, nil) },
		},
		xattrSSECustomerKey: {
			set: func(ctx context.Context, n *Node, v []byte) error {
				defer clear(v)
				return n.l.SupplyCustomerKey(n.ino, v)
			},
			del: func(ctx context.Context, n *Node) error {
				in, err := n.l.Inode(n.ino)
				if err != nil {
					return err
				}
				if in.Mode&syscall.S_IFMT == syscall.S_IFDIR {
					c, err := n.l.DirDefault(n.ino)
					if err != nil {
						return err
					}
					if c == nil || c.Domain != keyring.DomainSSEC {
						return object.ErrNoData
					}
					return n.l.SetDirDefault(n.ino, nil)
				}
				return n.l.ForgetCustomerKey(n.ino)
			},
		},
		xattrSSECustomerMD5: {
			set: func(ctx context.Context, n *Node, v []byte) error {
				n.l.SetCustomerKeyMD5(n.ino, string(bytes.TrimSpace(v)))
				return nil
			},
		},
		xattrSSEFingerprint: {get: sseField(func(i object.SSEInfo) string { return i.Fingerprint })},
		xattrSSEKeyStatus:   {get: sseField(func(i object.SSEInfo) string { return i.Status })},
	}
}

// sseField reads one field of the node's SSEInfo; an empty field is ENODATA.
func sseField(f func(object.SSEInfo) string) func(context.Context, *Node) ([]byte, error) {
	return func(ctx context.Context, n *Node) ([]byte, error) {
		info, err := n.l.SSEInfo(n.ino)
		if err != nil {
			return nil, err
		}
		v := f(info)
		if v == "" {
			return nil, object.ErrNoData
		}
		return []byte(v), nil
	}
}

// setSSE re-wraps a file onto c, or sets a directory's default to c (nil: SSE-S3).
func setSSE(n *Node, c *object.SSEChoice) error {
	in, err := n.l.Inode(n.ino)
	if err != nil {
		return err
	}
	if in.Mode&syscall.S_IFMT == syscall.S_IFDIR {
		return n.l.SetDirDefault(n.ino, c)
	}
	choice := object.SSEChoice{Domain: keyring.DomainSSES3, KeyName: keyring.DefaultKeyName}
	if c != nil {
		choice = *c
	}
	_, err = n.l.SetFileSSE(n.ino, choice)
	return err
}
