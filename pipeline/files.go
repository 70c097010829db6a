package pipeline

import (
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/apache/arrow/go/v17/arrow"

	"github.com/evaljob/evaljob/evalerr"
	"github.com/evaljob/evaljob/readers"
)

// fileSet is the input files of a run (the predictions', or the labels').
// What the plan needs of every file (size, rows, units, columns) is learned
// by opening each in turn, and kept; after that a file is open only while
// it is read: at most max(keep, files in use) are open at once, so that
// neither file handles nor memory grow with the number of files (SPEC §5:
// a Parquet footer of 10,000 row groups is tens of MB, and a nightly run
// may list thousands of files against a limit of 1,024 open ones).
//
// The units are read in file order, so a file is opened once more to be
// read (the last keep files stay open from learn); a file opened again is
// checked against what was learned of it.
type fileSet struct {
	inputs []readers.Input
	meta   []fileMeta
	keep   int

	mu    sync.Mutex
	open  map[int]*openFile
	clock int64
	// for tests: the most files open at once, and the opens so far
	maxOpen, opens int
}

// fileMeta is what the plan keeps of a file that may be closed.
type fileMeta struct {
	info   os.FileInfo // identity and modification time
	size   int64
	rows   int64 // -1 when the file does not say (IPC streams)
	units  int
	fields []readers.Field
}

type openFile struct {
	ready chan struct{} // closed once f or err is set
	f     *readers.File
	err   error
	refs  int
	used  int64 // the clock at the last release, for eviction
}

// discoverFiles finds the files of patterns, but a run's own outputs in
// the output folder out; keep is the number of idle files kept open.
// Nothing is opened yet: learn does.
func discoverFiles(patterns []string, keep int, out string) (*fileSet, error) {
	inputs, err := readers.DiscoverExcept(patterns, "", out, OutputFiles)
	if err != nil {
		return nil, err
	}
	return &fileSet{inputs: inputs, meta: make([]fileMeta, len(inputs)), keep: max(keep, 1), open: map[int]*openFile{}}, nil
}

// learn opens each file in turn, records its metadata and hands it to
// check (which may be nil); it stops at the first error.
func (s *fileSet) learn(check func(fi int, f *readers.File) error) error {
	for fi, in := range s.inputs {
		f, err := readers.Open(in)
		if err != nil {
			return err
		}
		s.meta[fi] = metaOf(f)
		// Idle in the set from the start: the last files checked are
		// still open when the run begins (all of them, when few).
		s.mu.Lock()
		s.open[fi] = &openFile{ready: closedChan, f: f, refs: 1}
		s.evict()
		s.opened()
		s.mu.Unlock()
		if check != nil {
			err = check(fi, f)
		}
		s.release(fi)
		if err != nil {
			return err
		}
	}
	return nil
}

var closedChan = func() chan struct{} {
	c := make(chan struct{})
	close(c)
	return c
}()

func (s *fileSet) len() int                      { return len(s.inputs) }
func (s *fileSet) path(fi int) string            { return s.inputs[fi].Path }
func (s *fileSet) size(fi int) int64             { return s.meta[fi].size }
func (s *fileSet) rows(fi int) int64             { return s.meta[fi].rows }
func (s *fileSet) units(fi int) int              { return s.meta[fi].units }
func (s *fileSet) fields(fi int) []readers.Field { return s.meta[fi].fields }

// with calls fn with file fi open.
func (s *fileSet) with(fi int, fn func(*readers.File) error) error {
	f, err := s.acquire(fi)
	if err != nil {
		return err
	}
	defer s.release(fi)
	return fn(f)
}

// acquire returns file fi, opened if it is not open; release gives it
// back. Files are opened outside the lock, so workers opening different
// files do not wait for each other.
func (s *fileSet) acquire(fi int) (*readers.File, error) {
	s.mu.Lock()
	e := s.open[fi]
	if e != nil {
		e.refs++
		s.mu.Unlock()
		<-e.ready
	} else {
		e = &openFile{ready: make(chan struct{}), refs: 1}
		s.open[fi] = e
		s.evict() // first: the new file is in use, the others may be idle
		s.opened()
		s.mu.Unlock()
		e.f, e.err = s.openFile(fi)
		close(e.ready)
	}
	if e.err != nil {
		s.mu.Lock()
		e.refs--
		if s.open[fi] == e && e.refs == 0 {
			delete(s.open, fi) // a later acquire tries again
		}
		s.mu.Unlock()
		return nil, e.err
	}
	return e.f, nil
}

func (s *fileSet) release(fi int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.open[fi]
	if e == nil {
		return // the set was closed
	}
	e.refs--
	s.clock++
	e.used = s.clock
	s.evict()
}

// opened counts an open. Called with the lock held.
func (s *fileSet) opened() {
	s.opens++
	s.maxOpen = max(s.maxOpen, len(s.open))
}

// evict closes the least recently used idle files beyond keep. Called
// with the lock held.
func (s *fileSet) evict() {
	for len(s.open) > s.keep {
		victim, oldest := -1, int64(0)
		for fi, e := range s.open {
			if e.refs == 0 && (victim < 0 || e.used < oldest) {
				victim, oldest = fi, e.used
			}
		}
		if victim < 0 {
			return // every open file is being read
		}
		s.open[victim].f.Close()
		delete(s.open, victim)
	}
}

// openFile opens file fi again and checks that it is the file the plan
// learned of, so that a file replaced while the run reads it is an input
// error rather than rows of another shape.
func (s *fileSet) openFile(fi int) (*readers.File, error) {
	f, err := readers.Open(s.inputs[fi])
	if err != nil {
		return nil, err
	}
	m := metaOf(f)
	if why := s.meta[fi].changed(m); why != "" {
		f.Close()
		return nil, &evalerr.InputError{Path: f.Path(), RowGroup: -1, Row: -1,
			Err: fmt.Errorf("the file changed while evaljob was running: %s", why)}
	}
	return f, nil
}

func metaOf(f *readers.File) fileMeta {
	return fileMeta{info: f.Info(), size: f.Size(), rows: f.NumRows(), units: f.NumUnits(), fields: f.Fields()}
}

// changed says how m differs from what was learned of the file first, or
// "" when it does not: another file under the path (replaced by a
// rename), a later modification time (rewritten in place), or another
// shape.
func (old *fileMeta) changed(m fileMeta) string {
	switch {
	case old.info != nil && m.info != nil && !os.SameFile(old.info, m.info):
		return "another file is now under its path"
	case old.info != nil && m.info != nil && !m.info.ModTime().Equal(old.info.ModTime()):
		return fmt.Sprintf("modified at %s, after the run began", m.info.ModTime().UTC().Format(time.RFC3339Nano))
	case m.size != old.size:
		return fmt.Sprintf("%d bytes, was %d", m.size, old.size)
	case m.rows != old.rows:
		return fmt.Sprintf("%d rows, was %d", m.rows, old.rows)
	case m.units != old.units:
		return fmt.Sprintf("%d row groups or batches, was %d", m.units, old.units)
	case len(m.fields) != len(old.fields):
		return fmt.Sprintf("%d columns, was %d", len(m.fields), len(old.fields))
	}
	for i, fd := range m.fields {
		was := old.fields[i]
		if fd.Name != was.Name || fd.Nullable != was.Nullable || (fd.Type == nil) != (was.Type == nil) ||
			(fd.Type != nil && !arrow.TypeEqual(fd.Type, was.Type)) {
			return fmt.Sprintf("column %d is %s %v, was %s %v", i, fd.Name, fd.Type, was.Name, was.Type)
		}
	}
	return ""
}

// close closes the open files, waiting for those being opened; no file
// may be in use (the callers' goroutines are done).
func (s *fileSet) close() {
	s.mu.Lock()
	open := s.open
	s.open = map[int]*openFile{}
	s.mu.Unlock()
	for _, e := range open {
		<-e.ready
		if e.f != nil {
			e.f.Close()
		}
	}
}
