package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/ipc"
	"github.com/apache/arrow/go/v17/parquet/file"
	"github.com/apache/arrow/go/v17/parquet/pqarrow"
)

// TestFixturesRoundTrip reads every rendered fixture back with Arrow and
// compares types and values with what was built, renders it twice to prove
// determinism, and keeps the whole set small.
func TestFixturesRoundTrip(t *testing.T) {
	total := 0
	for _, f := range fixtures() {
		t.Run(f.path, func(t *testing.T) {
			b1, err := render(f)
			if err != nil {
				t.Fatal(err)
			}
			b2, err := render(f)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(b1, b2) {
				t.Fatal("two renders differ")
			}
			total += len(b1)
			want := f.table().record()
			defer want.Release()
			got := readBack(t, f.path, b1)
			defer got.Release()
			if got.NumRows() != want.NumRows() || got.NumCols() != want.NumCols() {
				t.Fatalf("read back %d rows x %d cols, want %d x %d", got.NumRows(), got.NumCols(), want.NumRows(), want.NumCols())
			}
			for i, wf := range want.Schema().Fields() {
				gf := got.Schema().Field(i)
				if gf.Name != wf.Name || !arrow.TypeEqual(gf.Type, wf.Type) {
					t.Errorf("column %d read back as %s, want %s", i, gf, wf)
					continue
				}
				if !array.ApproxEqual(got.Column(i), want.Column(i), array.WithNaNsEqual(true)) {
					t.Errorf("column %s: values differ after the round trip", wf.Name)
				}
			}
			if f.rowGroupRows > 0 && formatOf(f.path) == parquetFile {
				r, err := file.NewParquetReader(bytes.NewReader(b1))
				if err != nil {
					t.Fatal(err)
				}
				wantGroups := int((want.NumRows() + f.rowGroupRows - 1) / f.rowGroupRows)
				if r.NumRowGroups() != wantGroups {
					t.Errorf("%d row groups, want %d", r.NumRowGroups(), wantGroups)
				}
			}
		})
	}
	if total > 400<<10 {
		t.Errorf("fixtures total %d bytes, over 400 KiB", total)
	}
}

// readBack decodes a rendered file into one record.
func readBack(t *testing.T, path string, b []byte) arrow.Record {
	t.Helper()
	var tbl arrow.Table
	switch formatOf(path) {
	case parquetFile:
		var err error
		tbl, err = pqarrow.ReadTable(context.Background(), bytes.NewReader(b), nil, pqarrow.ArrowReadProperties{BatchSize: 1 << 16}, mem)
		if err != nil {
			t.Fatal(err)
		}
	case ipcFile:
		r, err := ipc.NewFileReader(bytes.NewReader(b), ipc.WithAllocator(mem))
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		var recs []arrow.Record
		for i := 0; i < r.NumRecords(); i++ {
			rec, err := r.Record(i) // valid until the next call
			if err != nil {
				t.Fatal(err)
			}
			rec.Retain()
			recs = append(recs, rec)
		}
		tbl = array.NewTableFromRecords(r.Schema(), recs)
		for _, rec := range recs {
			rec.Release()
		}
	case ipcStream:
		r, err := ipc.NewReader(bytes.NewReader(b), ipc.WithAllocator(mem))
		if err != nil {
			t.Fatal(err)
		}
		defer r.Release()
		var recs []arrow.Record
		for r.Next() {
			rec := r.Record()
			rec.Retain()
			recs = append(recs, rec)
		}
		tbl = array.NewTableFromRecords(r.Schema(), recs)
		for _, rec := range recs {
			rec.Release()
		}
	}
	defer tbl.Release()
	cols := make([]arrow.Array, tbl.NumCols())
	for i := range cols {
		c, err := array.Concatenate(tbl.Column(i).Data().Chunks(), mem)
		if err != nil {
			t.Fatal(err)
		}
		cols[i] = c
		defer c.Release()
	}
	return array.NewRecord(tbl.Schema(), cols, tbl.NumRows())
}

// TestCheckedInFixturesAreCurrent fails when testdata/ is stale.
func TestCheckedInFixturesAreCurrent(t *testing.T) {
	dir := filepath.Join("..", "..", "testdata")
	if _, err := os.Stat(filepath.Join(dir, "README.md")); err != nil {
		t.Skip("no testdata folder:", err)
	}
	files := map[string][]byte{}
	for _, f := range fixtures() {
		b, err := render(f)
		if err != nil {
			t.Fatal(err)
		}
		files[f.path] = b
	}
	files["README.md"] = readme(files)
	for p, want := range files {
		got, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(p)))
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("testdata/%s is stale or missing; run: go run ./scripts/gentestdata -out testdata", p)
		}
	}
}
