package pipeline

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/memory"
	"github.com/apache/arrow/go/v17/parquet"
	"github.com/apache/arrow/go/v17/parquet/pqarrow"

	"github.com/evaljob/evaljob/config"
	"github.com/evaljob/evaljob/evalerr"
	"github.com/evaljob/evaljob/readers"
)

// copyFiles copies the example's part files into a new folder n times
// over, as c000-part-0.parquet, ..., so that they sort in copy order;
// rewritten in row groups of rowGroup rows when rowGroup > 0.
func copyFiles(t *testing.T, n int, rowGroup int64) string {
	t.Helper()
	dir := t.TempDir()
	for _, part := range []string{"part-0", "part-1"} {
		src := fixture(filepath.Join("example", part+".parquet"))
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		if rowGroup > 0 {
			tbl := readParquet(t, src)
			var buf bytes.Buffer
			err := pqarrow.WriteTable(tbl, &buf, rowGroup, parquet.NewWriterProperties(), pqarrow.DefaultWriterProps())
			tbl.Release()
			if err != nil {
				t.Fatal(err)
			}
			b = buf.Bytes()
		}
		for i := range n {
			if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("c%03d-%s.parquet", i, part)), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	return dir
}

// testPlan plans cfg, closed when the test ends.
func testPlan(t *testing.T, cfg *config.Config) *plan {
	t.Helper()
	p, err := newPlan(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.close)
	return p
}

// exampleRows is the rows of each example part file, as its footer says.
func exampleRows(t *testing.T) [2]int64 {
	t.Helper()
	var rows [2]int64
	for i, part := range []string{"part-0", "part-1"} {
		f, err := readers.Open(readers.Input{Path: fixture(filepath.Join("example", part+".parquet"))})
		if err != nil {
			t.Fatal(err)
		}
		rows[i] = f.NumRows()
		f.Close()
	}
	return rows
}

// TestManyInputsFewOpen: a run over many files of many row groups keeps
// only about one file per worker open, opens each about once to read it, (it kept every input open, and 400 files under a limit
// of 256 open ones failed with "too many open files"), reads every row of
// every file, and its summary is the one of the same rows in fewer files.
func TestManyInputsFewOpen(t *testing.T) {
	const copies, workers = 30, 2
	dir := copyFiles(t, copies, 16)
	cfg := jobConfig("binary", []string{dir}, "label", "prob")
	cfg.Columns.Weight = "weight"
	cfg.GroupBy = [][]string{{"model"}}
	cfg.Workers = workers
	cfg.Output.Dir = t.TempDir()
	if err := cfg.Check(); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	p := testPlan(t, cfg)
	_, rows, err := p.execute(ctx, memory.DefaultAllocator, 37, workers, nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := exampleRows(t)
	if len(rows) != 2*copies {
		t.Fatalf("%d files read, want %d", len(rows), 2*copies)
	}
	for i, n := range rows {
		if n != want[i%2] || p.files.rows(i) != want[i%2] {
			t.Errorf("file %d (%s): %d rows read, footer %d, want %d", i, p.files.path(i), n, p.files.rows(i), want[i%2])
		}
	}
	if p.files.maxOpen > workers {
		t.Errorf("%d files open at once, want at most %d (one per worker)", p.files.maxOpen, workers)
	}
	// Each file (of ~16 row groups, read by both workers) is opened to be
	// learned and once more to be read, but for the last ones, still open
	// from learning. A worker that stalls between taking a unit and its
	// file may find the file closed (the other went on through two more
	// files) and open it again: a review counted 3 opens of a file in 18
	// of 280 runs, 4 once; this run saw 123 opens of 60 files. Opening a
	// file per unit (keeping no idle file) gave 632.
	if units := len(p.units); units < 10*2*copies || p.files.opens > 2*2*copies+units/8 {
		t.Errorf("%d opens of %d files of %d units, want about 2 each, far fewer than one a unit", p.files.opens, 2*copies, units)
	}

	// The same rows in one file: the same summary, byte for byte.
	var recs []arrow.Record
	for _, part := range []string{"part-0", "part-1"} {
		tbl := readParquet(t, fixture(filepath.Join("example", part+".parquet")))
		defer tbl.Release()
		tr := array.NewTableReader(tbl, -1)
		defer tr.Release()
		for tr.Next() {
			rec := tr.Record()
			rec.Retain()
			defer rec.Release()
			recs = append(recs, rec)
		}
	}
	var all []arrow.Record
	for range copies {
		all = append(all, recs...)
	}
	whole := array.NewTableFromRecords(recs[0].Schema(), all)
	defer whole.Release()
	one := filepath.Join(t.TempDir(), "all.parquet")
	f, err := os.Create(one)
	if err != nil {
		t.Fatal(err)
	}
	if err := pqarrow.WriteTable(whole, f, 1<<20, parquet.NewWriterProperties(), pqarrow.DefaultWriterProps()); err != nil {
		t.Fatal(err)
	}
	f.Close()
	many := runJob(t, cfg)
	cfg.Inputs = []string{one}
	if string(runJob(t, cfg)) != string(many) {
		t.Errorf("the summary of %d files differs from the one of their rows in one file", 2*copies)
	}
}

// TestFileChanged: a file reopened to be read is checked against what the
// plan learned of it: another file renamed over it (even of the same
// bytes), the file rewritten in place, or of another shape, is an input
// error naming it, not rows of another version; the same file untouched
// reads as before.
func TestFileChanged(t *testing.T) {
	dir := copyFiles(t, 1, 0)
	s, err := discoverFiles([]string{dir}, 1, "")
	if err != nil {
		t.Fatal(err)
	}
	defer s.close()
	if err := s.learn(nil); err != nil {
		t.Fatal(err)
	}
	if len(s.open) != 1 {
		t.Fatalf("%d files open after learning, want keep = 1", len(s.open))
	}
	// The first file is closed now.
	first := s.path(0)
	orig, err := os.ReadFile(first)
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(first)
	if err != nil {
		t.Fatal(err)
	}
	reopen := func() error {
		// The second file first, so that the first is opened again.
		if err := s.with(1, func(*readers.File) error { return nil }); err != nil {
			t.Fatal(err)
		}
		return s.with(0, func(*readers.File) error { return nil })
	}
	refused := func(what, why string) {
		t.Helper()
		err := reopen()
		if !errors.Is(err, evalerr.ErrInput) || !strings.Contains(err.Error(), first) || !strings.Contains(err.Error(), why) {
			t.Errorf("%s: got %v, want an input error naming %s: %q", what, err, first, why)
		}
	}
	write := func(b []byte, mtime time.Time) { // in place: the same file
		t.Helper()
		if err := os.WriteFile(first, b, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(first, mtime, mtime); err != nil {
			t.Fatal(err)
		}
	}

	// Untouched, and rewritten with its bytes and time: the same file.
	write(orig, st.ModTime())
	if err := reopen(); err != nil {
		t.Fatalf("the file as it was: %v", err)
	}
	// Rewritten in place, later.
	write(orig, st.ModTime().Add(time.Second))
	refused("rewritten", "after the run began")
	// Another shape, at its old time.
	other, err := os.ReadFile(s.path(1))
	if err != nil {
		t.Fatal(err)
	}
	write(other, st.ModTime())
	refused("another shape", "bytes, was")
	// The same bytes and time, renamed over it: another file.
	write(orig, st.ModTime())
	tmp := first + ".tmp"
	if err := os.WriteFile(tmp, orig, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(tmp, st.ModTime(), st.ModTime()); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, first); err != nil {
		t.Fatal(err)
	}
	refused("renamed over", "another file is now under its path")
	// Gone: the open's own error.
	if err := os.Remove(first); err != nil {
		t.Fatal(err)
	}
	refused("removed", "no such file")
}

// TestFileMetaChanged: what fileMeta.changed compares, one difference at a
// time.
func TestFileMetaChanged(t *testing.T) {
	i64, f64 := arrow.PrimitiveTypes.Int64, arrow.PrimitiveTypes.Float64
	base := fileMeta{size: 100, rows: 10, units: 2, fields: []readers.Field{{Name: "a", Type: i64}, {Name: "b", Type: f64, Nullable: true}}}
	if why := base.changed(base); why != "" {
		t.Errorf("unchanged: %q", why)
	}
	for _, tc := range []struct {
		name   string
		change func(m *fileMeta)
		want   string
	}{
		{"size", func(m *fileMeta) { m.size++ }, "101 bytes, was 100"},
		{"rows", func(m *fileMeta) { m.rows = -1 }, "-1 rows, was 10"},
		{"units", func(m *fileMeta) { m.units = 3 }, "3 row groups or batches, was 2"},
		{"a column more", func(m *fileMeta) { m.fields = append(m.fields, readers.Field{Name: "c", Type: i64}) }, "3 columns, was 2"},
		{"name", func(m *fileMeta) { m.fields[0].Name = "x" }, "column 0 is x"},
		{"type", func(m *fileMeta) { m.fields[1].Type = i64 }, "column 1 is b int64, was b float64"},
		{"unsupported type", func(m *fileMeta) { m.fields[0].Type = nil }, "column 0 is a <nil>"},
		{"nullable", func(m *fileMeta) { m.fields[0].Nullable = true }, "column 0 is a"},
	} {
		m := base
		m.fields = slices.Clone(base.fields)
		tc.change(&m)
		if why := base.changed(m); !strings.Contains(why, tc.want) {
			t.Errorf("%s: %q, want %q", tc.name, why, tc.want)
		}
	}
}

// TestFileSetConcurrent: goroutines taking files in any order get the file
// they ask for, open, and no more stay open than keep or those in use
// (run it with -race).
func TestFileSetConcurrent(t *testing.T) {
	const goroutines, keep = 6, 2
	s, err := discoverFiles([]string{copyFiles(t, 4, 0)}, keep, "")
	if err != nil {
		t.Fatal(err)
	}
	defer s.close()
	if err := s.learn(nil); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, goroutines)
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(g), 1))
			for range 200 {
				fi := r.IntN(s.len())
				err := s.with(fi, func(f *readers.File) error {
					if f.Path() != s.path(fi) {
						return fmt.Errorf("asked for %s, got %s", s.path(fi), f.Path())
					}
					return f.ReadHead(context.Background(), 0, []string{"prob"}, 3, func(ch *readers.Chunk) error {
						if ch.Len != 3 {
							return fmt.Errorf("%s: %d rows read, want 3", f.Path(), ch.Len)
						}
						return nil
					})
				})
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if s.maxOpen > goroutines {
		t.Errorf("%d files open at once, want at most %d", s.maxOpen, goroutines)
	}
	if len(s.open) > keep {
		t.Errorf("%d files open when none is in use, want at most keep = %d", len(s.open), keep)
	}
	for fi, e := range s.open {
		if e.refs != 0 {
			t.Errorf("file %d: %d references left", fi, e.refs)
		}
	}
}

// TestLabelFilesClosedAfterLoad: the label files are read once, before the
// predictions: none stays open past the load (they held workers more
// handles, and footers, through the whole run).
func TestLabelFilesClosedAfterLoad(t *testing.T) {
	cfg, err := config.Load(filepath.Join("..", "configs", "join.yaml"), []string{"output.dir=" + t.TempDir(), "workers=4"})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	p := testPlan(t, cfg)
	if len(p.labels.files.open) == 0 {
		t.Fatal("no label file open after the plan: the test shows nothing")
	}
	if err := p.labels.load(ctx, 4); err != nil {
		t.Fatal(err)
	}
	if n := len(p.labels.files.open); n != 0 {
		t.Errorf("%d label files open after the load, want 0", n)
	}
	if p.labels.files.path(0) == "" || p.labels.files.rows(0) <= 0 {
		t.Error("the label files' metadata went with them")
	}
}

// TestFileSetCloseWaitsForOpens: close while a file is being opened waits
// for it and closes it (it was dropped, open, from the set).
func TestFileSetCloseWaitsForOpens(t *testing.T) {
	s, err := discoverFiles([]string{copyFiles(t, 1, 0)}, 1, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.learn(nil); err != nil {
		t.Fatal(err)
	}
	// An entry being opened, as acquire leaves it until the open returns.
	f, err := readers.Open(readers.Input{Path: s.path(0)})
	if err != nil {
		t.Fatal(err)
	}
	e := &openFile{ready: make(chan struct{}), refs: 1}
	s.mu.Lock()
	s.open[0] = e
	s.mu.Unlock()
	closed := make(chan struct{})
	go func() {
		s.close()
		close(closed)
	}()
	select {
	case <-closed:
		t.Fatal("close returned while a file was being opened")
	case <-time.After(50 * time.Millisecond):
	}
	e.f = f
	close(e.ready)
	<-closed
	if err := f.Close(); err == nil {
		t.Error("the file opened during close was left open")
	}
	s.release(0) // after close: nothing to release
}
