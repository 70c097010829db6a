package writers

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/evaljob/evaljob/evalerr"
)

var finals = []string{"summary.parquet", "rows.parquet", "manifest.json"}

// snapshot maps every file name in dir (hidden ones included) to its content.
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	m := make(map[string]string, len(ents))
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		m[e.Name()] = string(b)
	}
	return m
}

func names(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func earlierRun(t *testing.T, dir string) map[string]string {
	t.Helper()
	for _, n := range finals {
		if err := os.WriteFile(filepath.Join(dir, n), []byte("earlier run: "+n), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return snapshot(t, dir)
}

func stageAll(t *testing.T, d *Dir, content func(name string) string) []*Staged {
	t.Helper()
	var out []*Staged
	for _, n := range finals {
		s, err := d.Create(n)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Write([]byte(content(n))); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	return out
}

func newContent(n string) string { return "new run: " + n }

func TestCommitPublishesInCreationOrder(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out", "run-1") // parents are created
	d, err := OpenDir(dir, false, finals)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Abort()
	stageAll(t, d, newContent)

	var order []string
	renameFile = func(from, to string) error {
		order = append(order, filepath.Base(to))
		return os.Rename(from, to)
	}
	defer func() { renameFile = os.Rename }()

	pub, err := d.Commit()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(order, finals) {
		t.Errorf("rename order %v, want %v", order, finals)
	}
	if len(pub) != len(finals) {
		t.Fatalf("published %d files, want %d", len(pub), len(finals))
	}
	for i, p := range pub {
		want := newContent(finals[i])
		sum := sha256.Sum256([]byte(want))
		if p.Name != finals[i] || p.Path != filepath.Join(dir, finals[i]) || p.Bytes != int64(len(want)) || p.SHA256 != hex.EncodeToString(sum[:]) {
			t.Errorf("published[%d] = %+v", i, p)
		}
	}
	got := snapshot(t, dir)
	if !slices.Equal(names(got), []string{"manifest.json", "rows.parquet", "summary.parquet"}) {
		t.Errorf("folder holds %v after Commit", names(got))
	}
	for _, n := range finals {
		if got[n] != newContent(n) {
			t.Errorf("%s = %q", n, got[n])
		}
	}
	d.Abort() // no-op after Commit
	if after := snapshot(t, dir); len(after) != 3 {
		t.Errorf("Abort after Commit changed the folder: %v", names(after))
	}
	if _, err := d.Commit(); !errors.Is(err, evalerr.ErrOutput) {
		t.Errorf("second Commit: %v", err)
	}
}

func TestStagedFileInvisibleUntilCommit(t *testing.T) {
	dir := t.TempDir()
	d, err := OpenDir(dir, false, finals)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Abort()
	s, err := d.Create("summary.parquet")
	if err != nil {
		t.Fatal(err)
	}
	// More than the write buffer, so bytes reach the disk before Commit.
	big := strings.Repeat("x", 3*stagedBufferBytes)
	if _, err := s.Write([]byte(big)); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(filepath.Join(dir, "summary.parquet")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("final name exists before Commit: %v", err)
	}
	got := names(snapshot(t, dir))
	if len(got) != 1 || !strings.HasPrefix(got[0], ".summary.parquet.tmp-") {
		t.Fatalf("folder holds %v, want one .summary.parquet.tmp-* file", got)
	}
	if _, err := d.Commit(); err != nil {
		t.Fatal(err)
	}
	if got := snapshot(t, dir); len(got) != 1 || got["summary.parquet"] != big {
		t.Fatalf("after Commit folder holds %v", names(got))
	}
}

func TestAbortKeepsEarlierRun(t *testing.T) {
	dir := t.TempDir()
	before := earlierRun(t, dir)
	d, err := OpenDir(dir, true, finals)
	if err != nil {
		t.Fatal(err)
	}
	stageAll(t, d, newContent)
	d.Abort()
	d.Abort()
	if after := snapshot(t, dir); !mapsEqual(before, after) {
		t.Fatalf("Abort changed the folder: before %v, after %v", names(before), names(after))
	}
	if _, err := d.Create("x.json"); !errors.Is(err, evalerr.ErrOutput) {
		t.Errorf("Create after Abort: %v", err)
	}
	if _, err := d.Commit(); !errors.Is(err, evalerr.ErrOutput) {
		t.Errorf("Commit after Abort: %v", err)
	}
}

func TestOverwriteReplacesEarlierRun(t *testing.T) {
	dir := t.TempDir()
	earlierRun(t, dir)
	d, err := OpenDir(dir, true, finals)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Abort()
	stageAll(t, d, newContent)
	// The earlier manifest is gone before the first file is renamed.
	renameFile = func(from, to string) error {
		if filepath.Base(to) == "summary.parquet" {
			if _, err := os.Lstat(filepath.Join(dir, "manifest.json")); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("earlier manifest still present while publishing: %v", err)
			}
		}
		return os.Rename(from, to)
	}
	defer func() { renameFile = os.Rename }()
	if _, err := d.Commit(); err != nil {
		t.Fatal(err)
	}
	got := snapshot(t, dir)
	if len(got) != 3 {
		t.Errorf("folder holds %v", names(got))
	}
	for _, n := range finals {
		if got[n] != newContent(n) {
			t.Errorf("%s = %q", n, got[n])
		}
	}
}

func TestFailedRenameRollsBack(t *testing.T) {
	dir := t.TempDir()
	before := earlierRun(t, dir)
	d, err := OpenDir(dir, true, finals)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Abort()
	stageAll(t, d, newContent)
	renameFile = func(from, to string) error {
		if filepath.Base(to) == "rows.parquet" {
			return &os.LinkError{Op: "rename", Old: from, New: to, Err: errors.New("injected failure")}
		}
		return os.Rename(from, to)
	}
	defer func() { renameFile = os.Rename }()
	_, err = d.Commit()
	if !errors.Is(err, evalerr.ErrOutput) || !strings.Contains(err.Error(), "rows.parquet") {
		t.Fatalf("Commit error %v, want an output error naming rows.parquet", err)
	}
	if after := snapshot(t, dir); !mapsEqual(before, after) {
		t.Fatalf("failed Commit changed the folder: before %v, after %v", names(before), names(after))
	}
}

func TestFailedRenameFreshFolderLeavesNothing(t *testing.T) {
	dir := t.TempDir()
	d, err := OpenDir(dir, false, finals)
	if err != nil {
		t.Fatal(err)
	}
	stageAll(t, d, newContent)
	renameFile = func(from, to string) error {
		if filepath.Base(to) == "manifest.json" {
			return errors.New("injected failure")
		}
		return os.Rename(from, to)
	}
	defer func() { renameFile = os.Rename }()
	if _, err := d.Commit(); !errors.Is(err, evalerr.ErrOutput) {
		t.Fatalf("Commit error %v", err)
	}
	if after := snapshot(t, dir); len(after) != 0 {
		t.Fatalf("failed Commit left %v", names(after))
	}
}

func TestOverwriteFalseIsConfigError(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "rows.parquet"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := OpenDir(dir, false, finals)
	if !errors.Is(err, evalerr.ErrConfig) || errors.Is(err, evalerr.ErrOutput) {
		t.Fatalf("error %v, want a config error", err)
	}
	for _, want := range []string{filepath.Join(dir, "rows.parquet"), "output.overwrite"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %q", err, want)
		}
	}
	// A file that appears between OpenDir and Commit is not clobbered.
	dir2 := t.TempDir()
	d, err := OpenDir(dir2, false, finals)
	if err != nil {
		t.Fatal(err)
	}
	stageAll(t, d, newContent)
	if err := os.WriteFile(filepath.Join(dir2, "rows.parquet"), []byte("other"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Commit(); !errors.Is(err, evalerr.ErrConfig) {
		t.Fatalf("Commit error %v, want a config error", err)
	}
	if got := snapshot(t, dir2); len(got) != 1 || got["rows.parquet"] != "other" {
		t.Fatalf("folder holds %v", got)
	}
}

func TestUnwritableFolderIsOutputError(t *testing.T) {
	parent := t.TempDir()
	if err := os.Chmod(parent, 0o500); err != nil {
		t.Fatal(err)
	}
	defer os.Chmod(parent, 0o700)
	if f, err := os.Create(filepath.Join(parent, "probe")); err == nil {
		f.Close()
		os.Remove(filepath.Join(parent, "probe"))
		t.Skip("a folder with mode 0500 is writable here (running as root)")
	}
	for _, dir := range []string{parent, filepath.Join(parent, "out")} {
		_, err := OpenDir(dir, false, finals)
		if !errors.Is(err, evalerr.ErrOutput) || !strings.Contains(err.Error(), parent) {
			t.Errorf("OpenDir(%s) error %v, want an output error naming the folder", dir, err)
		}
	}
}

func TestFolderUnderAFileIsOutputError(t *testing.T) {
	file := filepath.Join(t.TempDir(), "plain")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := OpenDir(filepath.Join(file, "out"), false, finals)
	if !errors.Is(err, evalerr.ErrOutput) || !strings.Contains(err.Error(), file) {
		t.Fatalf("error %v, want an output error naming %s", err, file)
	}
}

func TestFinalNameIsAFolder(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "summary.parquet"), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenDir(dir, true, finals); !errors.Is(err, evalerr.ErrOutput) {
		t.Fatalf("error %v, want an output error", err)
	}
}

// TestDiskFullIsOutputError swaps a staged file's descriptor for /dev/full,
// which fails every write with ENOSPC.
func TestDiskFullIsOutputError(t *testing.T) {
	full, err := os.OpenFile("/dev/full", os.O_WRONLY, 0)
	if err != nil {
		t.Skip("no /dev/full:", err)
	}
	dir := t.TempDir()
	before := earlierRun(t, dir)
	d, err := OpenDir(dir, true, finals)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Abort()
	ss := stageAll(t, d, newContent)
	s := ss[1]
	s.f.Close()
	s.f = full
	s.buf.Reset(full)
	_, err = s.Write(make([]byte, 2*stagedBufferBytes))
	if !errors.Is(err, evalerr.ErrOutput) || !strings.Contains(err.Error(), filepath.Join(dir, "rows.parquet")) || !strings.Contains(err.Error(), "no space left") {
		t.Fatalf("write error %v, want an output error naming rows.parquet and ENOSPC", err)
	}
	if _, err2 := s.Write([]byte("more")); err2 != err {
		t.Errorf("later write error %v, want the first one", err2)
	}
	if _, err := d.Commit(); !errors.Is(err, evalerr.ErrOutput) {
		t.Fatalf("Commit error %v", err)
	}
	if after := snapshot(t, dir); !mapsEqual(before, after) {
		t.Fatalf("failed Commit changed the folder: %v", names(after))
	}
}

// TestFlushErrorAtCommit loses the descriptor before the buffered bytes
// reach it: the error appears at Commit and nothing is published.
func TestFlushErrorAtCommit(t *testing.T) {
	dir := t.TempDir()
	d, err := OpenDir(dir, false, finals)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Abort()
	ss := stageAll(t, d, newContent)
	ss[2].f.Close()
	_, err = d.Commit()
	if !errors.Is(err, evalerr.ErrOutput) || !strings.Contains(err.Error(), "manifest.json") {
		t.Fatalf("Commit error %v, want an output error naming manifest.json", err)
	}
	if after := snapshot(t, dir); len(after) != 0 {
		t.Fatalf("failed Commit left %v", names(after))
	}
}

func TestBadNames(t *testing.T) {
	d, err := OpenDir(t.TempDir(), false, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Abort()
	for _, n := range []string{"", ".", "..", "a/b", ".hidden"} {
		if _, err := d.Create(n); !errors.Is(err, evalerr.ErrOutput) {
			t.Errorf("Create(%q) error %v", n, err)
		}
	}
	if _, err := d.Create("a.json"); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Create("a.json"); err == nil {
		t.Error("staging a name twice succeeded")
	}
}

func TestWriteJSON(t *testing.T) {
	dir := t.TempDir()
	d, err := OpenDir(dir, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Abort()
	s, err := d.Create("manifest.json")
	if err != nil {
		t.Fatal(err)
	}
	m := Manifest{RunID: "r1", Version: "v0", Status: "ok", Config: map[string]any{"where": "a&b<c"}}
	if err := WriteJSON(s, m); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Commit(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	want := `{
  "run_id": "r1",
  "version": "v0",
  "started_at": "",
  "finished_at": "",
  "status": "ok",
  "config": {
    "where": "a&b<c"
  },
  "inputs": [],
  "outputs": [],
  "gates": []
}
`
	if string(b) != want {
		t.Errorf("manifest.json =\n%s\nwant\n%s", b, want)
	}
	s2, _ := OpenDir(t.TempDir(), false, nil)
	st, _ := s2.Create("bad.json")
	if err := WriteJSON(st, func() {}); !errors.Is(err, evalerr.ErrOutput) {
		t.Errorf("marshal error %v", err)
	}
	s2.Abort()
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// An earlier run published rows.parquet; this run does not: Commit removes
// it, so the folder holds one run's outputs only.
func TestCommitRemovesStaleOutputs(t *testing.T) {
	dir := t.TempDir()
	earlierRun(t, dir)
	d, err := OpenDir(dir, true, finals)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Abort()
	for _, name := range []string{"summary.parquet", "manifest.json"} {
		s, err := d.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(s, newContent(name))
	}
	if _, err := d.Commit(); err != nil {
		t.Fatal(err)
	}
	got := snapshot(t, dir)
	want := map[string]string{"summary.parquet": newContent("summary.parquet"), "manifest.json": newContent("manifest.json")}
	if !mapsEqual(got, want) {
		t.Errorf("folder after commit = %v, want only this run's %v", names(got), names(want))
	}
}

// A failed rename restores the stale output along with the rest.
func TestFailedCommitRestoresStaleOutputs(t *testing.T) {
	dir := t.TempDir()
	before := earlierRun(t, dir)
	d, err := OpenDir(dir, true, finals)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Abort()
	for _, name := range []string{"summary.parquet", "manifest.json"} {
		s, err := d.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(s, newContent(name))
	}
	renameFile = func(from, to string) error {
		return &os.LinkError{Op: "rename", Old: from, New: to, Err: errors.New("injected failure")}
	}
	defer func() { renameFile = os.Rename }()
	if _, err := d.Commit(); !errors.Is(err, evalerr.ErrOutput) {
		t.Fatalf("Commit error %v, want an output error", err)
	}
	if after := snapshot(t, dir); !mapsEqual(before, after) {
		t.Fatalf("failed Commit changed the folder: before %v, after %v", names(before), names(after))
	}
}

// TestAbortRemovesCreatedFolders: the folders OpenDir created for a run
// that then failed are removed (a failed run left an empty output folder);
// a folder that existed, or that holds anything, stays; a committed run's
// stays.
func TestAbortRemovesCreatedFolders(t *testing.T) {
	base := t.TempDir()
	deep := filepath.Join(base, "a", "b", "c")
	d, err := OpenDir(deep, false, finals)
	if err != nil {
		t.Fatal(err)
	}
	stageAll(t, d, newContent)
	d.Abort()
	if _, err := os.Stat(filepath.Join(base, "a")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("after Abort: %s: %v, want it gone", filepath.Join(base, "a"), err)
	}
	if _, err := os.Stat(base); err != nil {
		t.Errorf("the folder that existed went: %v", err)
	}

	// Something else was put in a created folder: it stays, with it.
	d, err = OpenDir(deep, false, finals)
	if err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(base, "a", "b", "other.txt")
	if err := os.WriteFile(other, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	d.Abort()
	if _, err := os.Stat(other); err != nil {
		t.Errorf("a file in a created folder: %v", err)
	}
	if _, err := os.Stat(deep); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the empty created folder stayed: %v", err)
	}

	// A path through a folder it would not need: that folder is not made.
	dotdot := filepath.Join(base, "new") + "/../out"
	d, err = OpenDir(dotdot, false, finals)
	if err != nil {
		t.Fatal(err)
	}
	d.Abort()
	for _, p := range []string{"new", "out"} {
		if _, err := os.Stat(filepath.Join(base, p)); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s after Abort: %v, want none", p, err)
		}
	}

	// Committed: stays.
	fresh := filepath.Join(base, "x", "y")
	d, err = OpenDir(fresh, false, finals)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Commit(); err != nil {
		t.Fatal(err)
	}
	d.Abort()
	if _, err := os.Stat(fresh); err != nil {
		t.Errorf("a committed run's folder: %v", err)
	}
}

// TestCheckDir: OpenDir's checks without creating anything (validate).
func TestCheckDir(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "rows.parquet"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := CheckDir(dir, false, finals); !errors.Is(err, evalerr.ErrConfig) || !strings.Contains(err.Error(), "output.overwrite") {
		t.Errorf("existing output: %v, want a config error", err)
	}
	if err := CheckDir(dir, true, finals); err != nil {
		t.Errorf("existing output, overwrite: %v", err)
	}
	missing := filepath.Join(dir, "not", "yet")
	if err := CheckDir(missing, false, finals); err != nil {
		t.Errorf("a folder not made yet: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "not")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("CheckDir created %s", filepath.Join(dir, "not"))
	}
	under := filepath.Join(dir, "rows.parquet", "out", "deeper")
	if err := CheckDir(under, false, finals); !errors.Is(err, evalerr.ErrOutput) || !strings.Contains(err.Error(), filepath.Join(dir, "rows.parquet")+" is not a folder") {
		t.Errorf("under a file: %v, want an output error naming the file (as run's)", err)
	}
}

// TestCommitRemovesDebris: a run killed without a chance to clean up
// (SIGKILL) leaves ".NAME.tmp-..." files (55 MB of rows in an audit); the
// next run that commits removes those no process holds a lock on, and
// leaves a live run's (a review: an mtime rule removed a paused run's
// file, which then failed to publish) and other files alone.
func TestCommitRemovesDebris(t *testing.T) {
	dir := t.TempDir()
	old := time.Now().Add(-time.Hour)
	write := func(name string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, old, old); err != nil {
			t.Fatal(err)
		}
		return p
	}
	gone := []string{write(".rows.parquet.tmp-abc"), write(".summary.parquet.tmp-def")}
	// A file just created, not yet locked by its run: left alone.
	fresh := filepath.Join(dir, ".manifest.json.tmp-fresh")
	if err := os.WriteFile(fresh, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	// A backup made just now (its ctime, which Chtimes sets, is new).
	kept := []string{write(".other.tmp-abc"), write("notes.txt"), write(".manifest.json.old-def"), fresh}
	folder := filepath.Join(dir, ".summary.parquet.tmp-folder") // not a file: not ours
	if err := os.Mkdir(folder, 0o755); err != nil {
		t.Fatal(err)
	}
	kept = append(kept, folder)
	// Another run, alive, writing to the same folder.
	other, err := OpenDir(dir, true, finals)
	if err != nil {
		t.Fatal(err)
	}
	live, err := other.Create("rows.parquet")
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprint(live, "rows being written")
	kept = append(kept, live.tmp)

	d, err := OpenDir(dir, true, finals)
	if err != nil {
		t.Fatal(err)
	}
	stageAll(t, d, newContent)
	if _, err := d.Commit(); err != nil {
		t.Fatal(err)
	}
	for _, p := range gone {
		if _, err := os.Lstat(p); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s: %v, want it removed", filepath.Base(p), err)
		}
	}
	for _, p := range kept {
		if _, err := os.Lstat(p); err != nil {
			t.Errorf("%s: %v, want it kept", filepath.Base(p), err)
		}
	}
	// The other run still publishes its file.
	if _, err := other.Commit(); err != nil {
		t.Errorf("the other run's commit: %v", err)
	}
}

// TestCommitRemovesOldBackups: a run killed inside Commit leaves the hard
// links it made of the earlier outputs (".NAME.old-..."); the next commit
// removes those made over debrisAge ago, as it does temporary files.
func TestCommitRemovesOldBackups(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("backups are aged by ctime on Linux only")
	}
	dir := t.TempDir()
	backup := filepath.Join(dir, ".summary.parquet.old-abc")
	if err := os.WriteFile(backup, []byte("earlier summary"), 0o644); err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(dir, ".notes.old-abc") // not an output's
	if err := os.WriteFile(other, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	defer func(age time.Duration) { debrisAge = age }(debrisAge)
	debrisAge = 50 * time.Millisecond
	time.Sleep(2 * debrisAge)
	d, err := OpenDir(dir, true, finals)
	if err != nil {
		t.Fatal(err)
	}
	stageAll(t, d, newContent)
	if _, err := d.Commit(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(backup); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("%s: %v, want it removed", filepath.Base(backup), err)
	}
	if _, err := os.Lstat(other); err != nil {
		t.Errorf("%s: %v, want it kept", filepath.Base(other), err)
	}
}
