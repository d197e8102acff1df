package object

import (
	"errors"
	"fmt"
	"io/fs"
	"log"
	"os"

	"github.com/ssefs/ssefs/chunkstore"
)

// maxTakenParts bounds how many taken part names one part write skips
// before it fails. A skip costs an id and an lstat; the part is sealed
// again only once a free-looking name is found.
const maxTakenParts = 1024

// storePart writes sealed, part id of an object whose key is oek, to the
// part store. Part ids are never reused, so a file already at id's name
// was planted by someone who can write the store, or left by a crash: it
// is never overwritten (chunkstore refuses) and must not block writes
// either. storePart logs its path, takes fresh ids (skipping names that
// are taken too), seals the part again under the new id (a part's key is
// bound to its id) and tries again. Each id given up is released; the id
// returned, with the sealed bytes written, stays reserved, also with an
// error, for the caller to release as it would have released id.
func (l *Layer) storePart(oek []byte, id chunkstore.PartID, sealed []byte) (chunkstore.PartID, []byte, error) {
	skipped := 0
	for {
		err := l.st.Parts.Write(id, sealed)
		if !errors.Is(err, chunkstore.ErrPartExists) {
			return id, sealed, err
		}
		from := id
		for {
			log.Printf("ssefs: part %v: %s already exists (planted in the store, or left by a crash); left alone, the part goes to a fresh id", id, l.st.Parts.Path(id))
			if skipped++; skipped > maxTakenParts {
				return id, sealed, fmt.Errorf("%w: %d part names in a row are taken", err, maxTakenParts)
			}
			next, rerr := l.reservePart()
			if rerr != nil {
				return id, sealed, fmt.Errorf("%w (%w)", err, rerr)
			}
			l.releaseParts(id)
			id = next
			if _, serr := os.Lstat(l.st.Parts.Path(id)); errors.Is(serr, fs.ErrNotExist) {
				break
			}
		}
		resealed, rerr := chunkstore.ResealPart(l.cipher, oek, from, id, sealed)
		if rerr != nil {
			return id, sealed, rerr
		}
		sealed = resealed
	}
}
