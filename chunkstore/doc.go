// Package chunkstore holds ssefs's encrypted parts: how a part's key is
// derived from its object's key, how a part is sealed (one DARE 2.0 stream),
// and where part files live on disk.
//
// A part is written once under an id that is never reused, then only read
// and eventually removed; it is never rewritten. That write-once rule is
// what makes "one random nonce per part key" safe (docs/FORMAT.md).
package chunkstore
