package readers

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/memory"
	pq "github.com/apache/arrow/go/v17/parquet"
	"github.com/apache/arrow/go/v17/parquet/compress"
	"github.com/parquet-go/parquet-go"

	"github.com/evaljob/evaljob/evalerr"
)

// seedFiles writes small valid files with the tests' helpers.
func seedFiles(t testing.TB) map[string][]byte {
	dir := t.TempDir()
	cols := testTable(24)
	rows, _ := pgTable(24)
	writePQArrow(t, filepath.Join(dir, "a.parquet"), cols, 10, pqArrowOptions["v1-snappy-dict"]...)
	writePQArrow(t, filepath.Join(dir, "b.parquet"), cols[:6], 12, pqArrowOptions["v2-zstd-plain"]...)
	writePG(t, filepath.Join(dir, "c.parquet"), rows, pgOptions["v2-zstd"]...)
	writePG(t, filepath.Join(dir, "d.parquet"), rows[:9], pgOptions["v2-uncompressed-dictfallback"]...)
	writePG(t, filepath.Join(dir, "h.parquet"), rows[:20], pgOptions["v1-snappy"]...) // direct pages, checksummed
	directFile(t, filepath.Join(dir, "i.parquet"), 120, 50, pq.WithDataPageVersion(pq.DataPageV2),
		pq.WithCompression(compress.Codecs.Snappy), pq.WithDataPageSize(200)) // direct pages, long snappy copies
	writeLists(t, filepath.Join(dir, "j.parquet"), 30, false, parquet.DataPageVersion(2),
		parquet.Compression(&parquet.Snappy), parquet.PageBufferSize(300)) // direct list pages
	nullableFile(t, filepath.Join(dir, "k.parquet"), 40, 20, pq.WithDataPageVersion(pq.DataPageV1),
		pq.WithCompression(compress.Codecs.Snappy), pq.WithDataPageSize(150)) // direct v1 pages with levels
	writeIPC(t, filepath.Join(dir, "e.arrow"), cols, splits(24, 10), false)
	writeIPC(t, filepath.Join(dir, "f.arrows"), cols, splits(24, 10), true)
	writeIPC(t, filepath.Join(dir, "g.arrows"), cols[:3], splits(24, 30), true)
	view := testCol{name: "sv", typ: arrow.BinaryTypes.StringView} // Polars' strings
	for i, v := range cols[13].vals {                              // "s", with nulls; views over 12 bytes live in data buffers
		if s, ok := v.(string); ok && i%2 == 1 {
			v = s + " and a tail past the inline twelve"
		}
		view.vals = append(view.vals, v)
	}
	writeIPC(t, filepath.Join(dir, "l.arrows"), []testCol{cols[3], view}, splits(24, 10), true)
	writeIPC(t, filepath.Join(dir, "m.arrow"), []testCol{view}, splits(24, 24), false)
	out := map[string][]byte{}
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out[e.Name()] = b
	}
	return out
}

var errEnough = errors.New("enough")

// fuzzRead opens data as a file with extension ext and reads every unit.
// It may fail only with an input error, and must leave no Arrow memory.
func fuzzRead(t *testing.T, data []byte, ext string) {
	path := filepath.Join(t.TempDir(), "fuzz"+ext)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	err := readBounded(path, mem, 1<<20)
	if err != nil && !errors.Is(err, evalerr.ErrInput) && err != errEnough {
		t.Fatalf("not an input error: %v", err)
	}
	mem.AssertSize(t, 0)
}

// readBounded reads like readEverything, stopping after maxCells cells.
func readBounded(path string, mem memory.Allocator, maxCells int) error {
	f, err := open(Input{Path: path, Partition: []KV{{Key: "k", Value: "v"}}}, mem)
	if err != nil {
		return err
	}
	defer f.Close()
	var cols []string
	for _, fld := range f.Fields() {
		if fld.Type != nil {
			cols = append(cols, fld.Name)
		}
	}
	cells := 0
	for u := 0; u < f.NumUnits(); u++ {
		// The head (pages checked one at a time as they are decoded) first.
		err := f.ReadHead(context.Background(), u, cols, 3, func(c *Chunk) error {
			for _, col := range c.Columns {
				checkColumnShape(col, c.Len)
			}
			return nil
		})
		if err != nil {
			return err
		}
		err = f.ReadUnit(context.Background(), u, cols, 16, func(c *Chunk) error {
			for _, col := range c.Columns {
				checkColumnShape(col, c.Len)
				for i := 0; i < c.Len; i++ {
					_ = cell(col, i)
				}
			}
			cells += c.Len * len(c.Columns)
			if cells > maxCells {
				return errEnough
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// checkColumnShape panics when a chunk breaks the Column contract.
func checkColumnShape(c *Column, n int) {
	if c.Len != n || (c.Valid != nil && len(c.Valid) != n) {
		panic("column length")
	}
	if c.Codes != nil {
		for i, x := range c.Codes {
			if !c.Null(i) && (x < 0 || int(x) >= len(c.Dict)) {
				panic("code out of range")
			}
		}
	}
	if c.Elem != nil {
		if len(c.Offsets) != n+1 || c.Offsets[0] != 0 || c.Offsets[n] != c.Elem.Len {
			panic("offsets")
		}
		for i := 0; i < n; i++ {
			if c.Offsets[i] > c.Offsets[i+1] {
				panic("offsets decrease")
			}
		}
		checkColumnShape(c.Elem, c.Elem.Len)
	}
}

// fixtureSeeds adds the committed fixtures with the given extensions (the
// small ones: under 64 KiB) to the seed corpus.
func fixtureSeeds(f *testing.F, exts ...string) {
	root := filepath.Join("..", "testdata")
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !slices.Contains(exts, filepath.Ext(path)) {
			return err
		}
		if info, err := d.Info(); err != nil || info.Size() > 64<<10 {
			return err
		}
		b, err := os.ReadFile(path)
		if err == nil {
			f.Add(b)
		}
		return err
	})
	if err != nil {
		f.Fatal(err)
	}
}

func FuzzParquet(f *testing.F) {
	for n, b := range seedFiles(f) {
		if filepath.Ext(n) == ".parquet" {
			f.Add(b)
		}
	}
	fixtureSeeds(f, ".parquet")
	f.Fuzz(func(t *testing.T, data []byte) { fuzzRead(t, data, ".parquet") })
}

func FuzzIPC(f *testing.F) {
	for n, b := range seedFiles(f) {
		if filepath.Ext(n) != ".parquet" {
			f.Add(b)
		}
	}
	fixtureSeeds(f, ".arrow", ".arrows")
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzRead(t, data, ".arrow")
		fuzzRead(t, data, ".arrows")
	})
}
