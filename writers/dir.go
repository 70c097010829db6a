package writers

import (
	"bufio"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/evaljob/evaljob/evalerr"
)

// stagedBufferBytes is the write buffer of a staged file.
const stagedBufferBytes = 256 << 10

// renameFile is os.Rename; tests replace it to observe or fail renames.
var renameFile = os.Rename

// Dir stages output files in an output folder and publishes them atomically.
//
// A Dir is safe for concurrent use: Create, Commit and Abort may be called
// from different goroutines, and different Staged files may be written
// concurrently (each Staged by one goroutine at a time).
type Dir struct {
	path      string
	overwrite bool
	finals    []string
	created   []string // folders OpenDir created, deepest first

	mu     sync.Mutex
	staged []*Staged
	state  dirState
}

type dirState uint8

const (
	dirOpen dirState = iota
	dirCommitted
	dirAborted
	dirFailed
)

// OpenDir creates dir (with its parents) and checks that none of finals
// (e.g. "summary.parquet", "rows.parquet", "manifest.json") exists unless
// overwrite is set. An existing one with overwrite false is an
// evalerr.ErrConfig error naming the file and the output.overwrite key.
// finals should name every file a run may publish: one that this run does
// not stage is an earlier run's leftover, and Commit removes it, so the
// folder always holds one run's outputs.
//
// OpenDir also creates and removes a probe file, so that an unwritable
// folder fails now, with an evalerr.ErrOutput error, rather than after the
// run has computed everything. The folders it created are removed again
// by Abort when they are still empty, so a failed run leaves no trace.
func OpenDir(dir string, overwrite bool, finals []string) (*Dir, error) {
	if err := CheckDir(dir, overwrite, finals); err != nil {
		return nil, err
	}
	dir = filepath.Clean(dir) // "new/../out" does not make new
	created := missingDirs(dir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, evalerr.Outputf("creating output folder %s: %w", dir, err)
	}
	probe := filepath.Join(dir, ".evaljob-probe-"+randomSuffix())
	f, err := os.OpenFile(probe, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		removeEmpty(created)
		return nil, evalerr.Outputf("output folder %s is not writable: %w", dir, err)
	}
	f.Close()
	if err := os.Remove(probe); err != nil {
		return nil, evalerr.Outputf("output folder %s: removing probe file: %w", dir, err)
	}
	return &Dir{path: dir, overwrite: overwrite, finals: finals, created: created}, nil
}

// CheckDir is OpenDir's check of the outputs already in dir, without
// creating anything (for validate): an existing one of finals with
// overwrite false is an evalerr.ErrConfig error, one that is a folder an
// evalerr.ErrOutput error. A dir that does not exist yet passes.
func CheckDir(dir string, overwrite bool, finals []string) error {
	if dir == "" {
		return evalerr.Configf("output.dir is empty")
	}
	// The nearest folder that exists must be a folder (as MkdirAll finds).
	for d := filepath.Clean(dir); ; d = filepath.Dir(d) {
		if fi, err := os.Stat(d); err == nil {
			if !fi.IsDir() {
				return evalerr.Outputf("output folder %s: %s is not a folder", dir, d)
			}
			break
		}
		if filepath.Dir(d) == d {
			break
		}
	}
	for _, name := range finals {
		if err := checkName(name); err != nil {
			return err
		}
		p := filepath.Join(dir, name)
		fi, err := os.Lstat(p)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			continue
		case errors.Is(err, syscall.ENOTDIR):
			continue // dir (or a parent) is a file: OpenDir's MkdirAll says so
		case err != nil:
			return evalerr.Outputf("checking output %s: %w", p, err)
		case fi.IsDir():
			return evalerr.Outputf("output %s is a folder; it cannot be replaced by a file", p)
		case !overwrite:
			return evalerr.Configf("output %s already exists and output.overwrite is false (set output.overwrite: true, or --set output.overwrite=true, to replace it)", p)
		}
	}
	return nil
}

// missingDirs lists dir and its parents that do not exist, deepest first.
func missingDirs(dir string) []string {
	var out []string
	for d := filepath.Clean(dir); ; {
		if _, err := os.Lstat(d); err == nil || !errors.Is(err, fs.ErrNotExist) {
			return out
		}
		out = append(out, d)
		parent := filepath.Dir(d)
		if parent == d {
			return out
		}
		d = parent
	}
}

// removeEmpty removes the folders dirs, deepest first, while they are
// empty.
func removeEmpty(dirs []string) {
	for _, d := range dirs {
		if os.Remove(d) != nil {
			return
		}
	}
}

// Path is the output folder as given to OpenDir.
func (d *Dir) Path() string { return d.path }

// Create stages a file to be published as name. It is written under a
// temporary name in the same folder (".<name>.tmp-<random>"), never under
// its final name, until Commit. The file is created now, so a folder that
// has become unwritable fails here.
func (d *Dir) Create(name string) (*Staged, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.state != dirOpen {
		return nil, evalerr.Outputf("staging %s: output folder %s is already %s", name, d.path, d.state)
	}
	for _, s := range d.staged {
		if s.name == name {
			return nil, evalerr.Outputf("staging %s in %s: staged twice", name, d.path)
		}
	}
	tmp := filepath.Join(d.path, "."+name+".tmp-"+randomSuffix())
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return nil, evalerr.Outputf("creating %s: %w", filepath.Join(d.path, name), err)
	}
	lockFile(f) // until it is closed, after its rename: removeDebris leaves it alone
	h := sha256.New()
	s := &Staged{
		name:  name,
		final: filepath.Join(d.path, name),
		tmp:   tmp,
		f:     f,
		hash:  h,
	}
	s.buf = bufio.NewWriterSize(f, stagedBufferBytes)
	d.staged = append(d.staged, s)
	return s, nil
}

// Published describes a file that Commit put in place.
type Published struct {
	Name   string // final name inside the folder, e.g. "summary.parquet"
	Path   string // folder joined with Name
	Bytes  int64  // size of the file
	SHA256 string // lowercase hex SHA-256 of its bytes
}

// Commit publishes all staged files, in the order they were created.
//
// It runs in two phases so that the likely failures (a full disk, an I/O
// error) happen before anything is renamed: first every staged file is
// flushed, fsynced and closed; then the files are renamed to their final
// names in creation order and the folder is fsynced. The last staged file
// is the commit marker (by convention manifest.json): an earlier run's copy
// of it is removed before the first rename, so that a reader never finds an
// old manifest beside new data, even after a crash in the middle of the
// renames. If a rename fails, the files already renamed are rolled back (an
// earlier run's file is restored from a hard link taken before the renames,
// a new one is removed) and the remaining temporary files are removed.
//
// On any error nothing is left under a final name that was not there
// before, and the error matches evalerr.ErrOutput (or evalerr.ErrConfig when
// a final name appeared meanwhile and overwrite is false). Commit returns,
// per file, its name, path, size and SHA-256 (hashed as it was written).
func (d *Dir) Commit() ([]Published, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.state != dirOpen {
		return nil, evalerr.Outputf("committing output folder %s: it is already %s", d.path, d.state)
	}
	fail := func(err error) ([]Published, error) {
		d.abortLocked()
		d.state = dirFailed
		return nil, err
	}

	// Phase 1: make every file durable under its temporary name.
	out := make([]Published, len(d.staged))
	for i, s := range d.staged {
		if err := s.finish(); err != nil {
			return fail(err)
		}
		out[i] = Published{Name: s.name, Path: s.final, Bytes: s.n, SHA256: hex.EncodeToString(s.hash.Sum(nil))}
	}

	// Phase 2: put them in place. Earlier files under the final names are
	// hard-linked aside first, so that a failed rename can be rolled back.
	type backup struct{ final, path string }
	var backups []backup
	removeBackups := func() {
		for _, b := range backups {
			os.Remove(b.path)
		}
	}
	rollback := func(renamed []*Staged) {
		for _, s := range renamed {
			os.Remove(s.final)
			s.renamed = false
		}
		for _, b := range backups {
			// When final and backup are still the same file, rename does
			// nothing; the Remove then drops the extra link.
			os.Rename(b.path, b.final)
			os.Remove(b.path)
		}
	}
	for _, s := range d.staged {
		_, err := os.Lstat(s.final)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			removeBackups()
			return fail(evalerr.Outputf("checking output %s: %w", s.final, err))
		}
		if !d.overwrite {
			removeBackups()
			return fail(evalerr.Configf("output %s already exists and output.overwrite is false", s.final))
		}
		b := filepath.Join(d.path, "."+s.name+".old-"+randomSuffix())
		if err := os.Link(s.final, b); err == nil {
			backups = append(backups, backup{s.final, b})
		}
		// Without hard links (some file systems) a failed rename cannot
		// restore the earlier file; each rename itself stays atomic.
	}
	// Outputs of an earlier run that this run does not publish go too
	// (after the manifest, before the renames; restored on rollback).
	var stale []string
	for _, name := range d.finals {
		if slices.ContainsFunc(d.staged, func(s *Staged) bool { return s.name == name }) {
			continue
		}
		p := filepath.Join(d.path, name)
		if _, err := os.Lstat(p); err != nil {
			continue
		}
		b := filepath.Join(d.path, "."+name+".old-"+randomSuffix())
		if err := os.Link(p, b); err == nil {
			backups = append(backups, backup{p, b})
		}
		stale = append(stale, p)
	}
	if n := len(d.staged); n > 0 {
		marker := d.staged[n-1].final
		if err := os.Remove(marker); err != nil && !errors.Is(err, fs.ErrNotExist) {
			rollback(nil)
			return fail(evalerr.Outputf("removing earlier %s: %w", marker, err))
		}
	}
	for _, p := range stale {
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			rollback(nil)
			return fail(evalerr.Outputf("removing earlier output %s: %w", p, err))
		}
	}
	for i, s := range d.staged {
		if err := renameFile(s.tmp, s.final); err != nil {
			rollback(d.staged[:i])
			return fail(evalerr.Outputf("publishing %s: %w", s.final, err))
		}
		s.renamed = true
	}
	for _, s := range d.staged {
		s.release()
	}
	removeBackups()
	d.removeDebris()
	if err := syncDir(d.path); err != nil {
		d.state = dirCommitted
		return out, evalerr.Outputf("syncing output folder %s: %w", d.path, err)
	}
	d.state = dirCommitted
	return out, nil
}

// removeDebris removes what a run killed without a chance to clean up
// (SIGKILL, a power cut) left: the temporary files and backups of the final
// names (".rows.parquet.tmp-...", ".rows.parquet.old-..."), those untouched
// for debrisAge that no process
// holds a lock on (a run holds one on each of its own until it is renamed
// or removed: lockFile), so a run writing to the same folder at the same
// time keeps its own.
func (d *Dir) removeDebris() {
	entries, err := os.ReadDir(d.path)
	if err != nil {
		return
	}
	for _, e := range entries {
		var tmp, backup bool
		for _, name := range d.finals {
			tmp = tmp || strings.HasPrefix(e.Name(), "."+name+".tmp-")
			backup = backup || strings.HasPrefix(e.Name(), "."+name+".old-")
		}
		p := filepath.Join(d.path, e.Name())
		if !(tmp || backup) || !e.Type().IsRegular() {
			continue
		}
		fi, err := e.Info()
		if err != nil {
			continue
		}
		// Not written for a minute, too: a run's file is locked right
		// after it is created, and must not be found in between. A
		// backup (a hard link Commit makes of an earlier output, and
		// removes once its own files are in place) has the output's
		// mtime: it is aged by its inode's change time, which the link
		// set.
		at := fi.ModTime()
		if backup {
			at = changed(fi)
		}
		if time.Since(at) > debrisAge && unlocked(p) {
			os.Remove(p)
		}
	}
}

// debrisAge is how long a temporary file must be untouched to be debris
// (a variable for tests).
var debrisAge = time.Minute

// Abort removes every staged temporary file. It leaves files under final
// names (an earlier run's, or this run's after Commit) alone, so it is safe
// to call after Commit (then it does nothing) and more than once; a typical
// caller defers it right after OpenDir.
func (d *Dir) Abort() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.state == dirOpen {
		d.state = dirAborted
	}
	d.abortLocked()
	if d.state != dirCommitted {
		removeEmpty(d.created)
	}
}

func (d *Dir) abortLocked() {
	for _, s := range d.staged {
		s.discard()
	}
}

func (st dirState) String() string {
	switch st {
	case dirOpen:
		return "open"
	case dirCommitted:
		return "committed"
	case dirAborted:
		return "aborted"
	}
	return "failed"
}

// Staged is a file being written under a temporary name. It implements
// io.Writer; it is not closed by its writer but by Dir.Commit or Dir.Abort.
type Staged struct {
	name, final, tmp string

	mu      sync.Mutex
	f       *os.File
	buf     *bufio.Writer
	hash    hash.Hash
	n       int64
	err     error // first write error, sticky
	closed  bool
	renamed bool
}

// Name is the final name of the file inside its folder.
func (s *Staged) Name() string { return s.name }

// Path is the final path (folder joined with Name) the file will have after
// Commit.
func (s *Staged) Path() string { return s.final }

// Write appends p to the file. The first error is kept: later writes and
// Commit return it. Errors match evalerr.ErrOutput and name the file.
func (s *Staged) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return 0, s.err
	}
	if s.closed {
		s.err = evalerr.Outputf("writing %s: the output folder was already committed or aborted", s.final)
		return 0, s.err
	}
	n, err := s.buf.Write(p)
	s.hash.Write(p[:n])
	s.n += int64(n)
	if err != nil {
		s.err = evalerr.Outputf("writing %s: %w", s.final, err)
		return n, s.err
	}
	return n, nil
}

// Err is the first error a Write met, or nil.
func (s *Staged) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// Bytes is the number of bytes written so far.
func (s *Staged) Bytes() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.n
}

// SHA256 is the lowercase hex SHA-256 of the bytes written so far. Once the
// file's writer is done it is the hash Commit will report, so a manifest
// staged after the data files can list them.
func (s *Staged) SHA256() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return hex.EncodeToString(s.hash.Sum(nil))
}

// finish flushes, fsyncs and closes the temporary file.
func (s *Staged) finish() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return s.err
	}
	if s.closed {
		return evalerr.Outputf("writing %s: already closed", s.final)
	}
	s.closed = true
	if err := s.buf.Flush(); err != nil {
		s.f.Close()
		s.err = evalerr.Outputf("writing %s: %w", s.final, err)
		return s.err
	}
	if err := s.f.Sync(); err != nil {
		s.f.Close()
		s.err = evalerr.Outputf("syncing %s: %w", s.final, err)
		return s.err
	}
	return nil // the file stays open, and locked, until it is renamed (release) or discarded
}

// release closes the file after its rename (its lock goes with it).
func (s *Staged) release() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.f != nil {
		s.f.Close()
		s.f = nil
	}
}

// discard closes and removes the temporary file unless it was published.
func (s *Staged) discard() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.renamed {
		return
	}
	s.closed = true
	os.Remove(s.tmp)
	if s.f != nil {
		s.f.Close() // after the remove: no other run finds it unlocked first
		s.f = nil
	}
}

func checkName(name string) error {
	if name == "" || name == "." || name == ".." || strings.ContainsAny(name, `/\`) || strings.HasPrefix(name, ".") {
		return evalerr.Outputf("output file name %q: must be a plain file name not starting with '.'", name)
	}
	return nil
}

func randomSuffix() string {
	var b [8]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// syncDir fsyncs a folder so that renames in it are durable. File systems
// that cannot sync a folder (EINVAL, ENOTSUP) are not an error.
func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := f.Sync(); err != nil && !errors.Is(err, syscall.EINVAL) && !errors.Is(err, syscall.ENOTSUP) {
		return fmt.Errorf("fsync: %w", err)
	}
	return nil
}
