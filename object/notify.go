package object

// Change tells the frontend that something changed behind the kernel's
// back (restore, purge, lifecycle, sealing), so it can drop what it cached.
type Change struct {
	Ino    Ino    // content and attributes of Ino changed (0: none)
	Parent Ino    // the entry Name in Parent appeared or vanished (0: none)
	Name   string //
}

// SetNotifier installs the frontend's handler for changes; nil removes it.
func (l *Layer) SetNotifier(fn func(Change)) {
	l.notifyMu.Lock()
	l.notifier = fn
	l.notifyMu.Unlock()
}

func (l *Layer) notify(c Change) {
	l.notifyMu.Lock()
	fn := l.notifier
	l.notifyMu.Unlock()
	if fn != nil {
		fn(c)
	}
}
