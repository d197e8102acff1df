package chunkstore

// PartPath exposes where Dir keeps a part, for tests outside the package.
func (d *Dir) PartPath(id PartID) string { return d.path(id) }
