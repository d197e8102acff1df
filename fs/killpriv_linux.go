package fs

import "github.com/hanwen/go-fuse/v2/fuse"

// extraCapabilities are asked of the kernel on top of go-fuse's defaults:
// the daemon clears privileges on write itself (killpriv_fast.go).
const extraCapabilities = fuse.CAP_HANDLE_KILLPRIV_V2
