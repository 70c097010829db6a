package pipeline

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/memory"
	"github.com/apache/arrow/go/v17/parquet"
	"github.com/apache/arrow/go/v17/parquet/pqarrow"

	"github.com/evaljob/evaljob/evalerr"
	"github.com/evaljob/evaljob/readers"
)

// copyFiles copies the example's part files into a new folder n times
// over, as c000-part-0.parquet, ..., so that they sort in copy order.
func copyFiles(t *testing.T, n int) string {
	t.Helper()
	dir := t.TempDir()
	for i := range n {
		for _, part := range []string{"part-0", "part-1"} {
			b, err := os.ReadFile(fixture(filepath.Join("example", part+".parquet")))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("c%03d-%s.parquet", i, part)), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	return dir
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

// TestManyInputsFewOpen: a run over many files keeps only about one file
// per worker open (it kept every input open, and 400 files under a limit
// of 256 open ones failed with "too many open files"), reads every row of
// every file, and its summary is the one of the same rows in fewer files.
func TestManyInputsFewOpen(t *testing.T) {
	const copies, workers = 30, 2
	dir := copyFiles(t, copies)
	cfg := jobConfig("binary", []string{dir}, "label", "prob")
	cfg.Columns.Weight = "weight"
	cfg.GroupBy = [][]string{{"model"}}
	cfg.Workers = workers
	cfg.Output.Dir = t.TempDir()
	if err := cfg.Check(); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	p, err := newPlan(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer p.close()
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
	// Each file is opened to be learned and once more to be read, but
	// for the last ones, still open from learning.
	if p.files.opens > 2*2*copies {
		t.Errorf("%d opens of %d files, want at most 2 each", p.files.opens, 2*copies)
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
// plan learned of it; one replaced by another file in between is an input
// error naming it, not rows of another shape.
func TestFileChanged(t *testing.T) {
	dir := copyFiles(t, 1)
	s, err := discoverFiles([]string{dir}, 1)
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
	// The first file is closed: replace it by the second.
	first := s.path(0)
	b, err := os.ReadFile(s.path(1))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(first, b, 0o644); err != nil {
		t.Fatal(err)
	}
	err = s.with(0, func(*readers.File) error { return nil })
	if !errors.Is(err, evalerr.ErrInput) || !strings.Contains(err.Error(), first) || !strings.Contains(err.Error(), "changed while evaljob was running") {
		t.Fatalf("replaced file: got %v, want an input error naming %s", err, first)
	}
	// Gone: the open's own error.
	if err := os.Remove(first); err != nil {
		t.Fatal(err)
	}
	if err := s.with(0, func(*readers.File) error { return nil }); !errors.Is(err, evalerr.ErrInput) || !strings.Contains(err.Error(), first) {
		t.Fatalf("removed file: got %v, want an input error naming %s", err, first)
	}
	// The same bytes again: read as before.
	orig, err := os.ReadFile(fixture(filepath.Join("example", "part-0.parquet")))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(first, orig, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := s.with(0, func(f *readers.File) error {
		if f.NumRows() != s.rows(0) {
			return fmt.Errorf("%d rows, want %d", f.NumRows(), s.rows(0))
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

// TestFileSetConcurrent: goroutines taking files in any order get the file
// they ask for, open, and no more stay open than keep or those in use
// (run it with -race).
func TestFileSetConcurrent(t *testing.T) {
	const goroutines, keep = 6, 2
	s, err := discoverFiles([]string{copyFiles(t, 4)}, keep)
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
