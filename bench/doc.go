// Package bench measures ssefs side by side with other encrypted FUSE
// filesystems (gocryptfs, securefs, CryFS, EncFS, rclone crypt), a go-fuse
// passthrough and the bare disk, on the workload shapes of the published
// gocryptfs, JuiceFS and fio recipes, and renders the results as JSON, a
// markdown table and an SVG chart. It also measures raw AEAD speed against
// the DARE part format (RunCrypto).
//
// Users choose an encrypted filesystem by its speed next to the ones they
// know, so the figures this package produces are the project's performance
// goals; see docs/BENCH.md for how to run and read them.
package bench
