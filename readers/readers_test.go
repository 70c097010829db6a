package readers

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/ipc"
	"github.com/apache/arrow/go/v17/arrow/memory"
	pq "github.com/apache/arrow/go/v17/parquet"
	"github.com/evaljob/evaljob/evalerr"
	"github.com/parquet-go/parquet-go"
)

func names(cols []testCol) []string {
	var out []string
	for _, c := range cols {
		out = append(out, c.name)
	}
	return out
}

// wantType is the type Fields reports after a Parquet round trip through
// pqarrow (lists become LIST, dictionaries their value type).
func wantParquetType(c testCol) string {
	switch t := c.typ.(type) {
	case *arrow.DictionaryType:
		return t.ValueType.String()
	case *arrow.LargeListType:
		return arrow.ListOf(t.Elem()).String()
	case *arrow.FixedSizeListType:
		return arrow.ListOf(t.Elem()).String()
	}
	return c.typ.String()
}

func TestParquetArrowRoundTrip(t *testing.T) {
	cols := testTable(1000)
	for name, props := range pqArrowOptions {
		path := tempPath(t, name+".parquet")
		writePQArrow(t, path, cols, 300, props...)
		f, err := Open(Input{Path: path})
		if err != nil {
			t.Fatal(err)
		}
		if f.Format() != Parquet || f.NumRows() != 1000 || f.NumUnits() != 4 {
			t.Fatalf("%s: format %v rows %d units %d", name, f.Format(), f.NumRows(), f.NumUnits())
		}
		for i, fld := range f.Fields() {
			if fld.Name != cols[i].name || fld.Type == nil || fld.Type.String() != wantParquetType(cols[i]) {
				t.Errorf("%s: field %d = %s %v, want %s %s", name, i, fld.Name, fld.Type, cols[i].name, wantParquetType(cols[i]))
			}
		}
		for _, batch := range []int{0, 1, 7, 128, 299, 5000} {
			t.Run(fmt.Sprintf("%s/batch=%d", name, batch), func(t *testing.T) {
				got := readAll(t, f, names(cols), batch)
				for _, c := range cols {
					compareCells(t, c.name, got[c.name], c.vals)
				}
			})
		}
		// A subset, in another order.
		got := readAll(t, f, []string{"ls", "i64", "s"}, 33)
		compareCells(t, "ls", got["ls"], cols[19].vals)
		compareCells(t, "i64", got["i64"], cols[3].vals)
		f.Close()
	}
}

func TestParquetGoRoundTrip(t *testing.T) {
	rows, want := pgTable(1000)
	columns := []string{"i8", "i16", "u8", "u16", "u32", "u64", "i32", "i64", "b", "d32", "ts", "f32", "f64",
		"s", "plain", "enum", "bin", "lf64", "ls", "rep"}
	wantTypes := map[string]string{
		"i8": "int8", "i16": "int16", "u8": "uint8", "u16": "uint16", "u32": "uint32", "u64": "uint64",
		"i32": "int32", "i64": "int64", "b": "bool", "d32": "date32", "ts": "timestamp[ms, tz=UTC]",
		"f32": "float32", "f64": "float64", "s": "utf8", "plain": "utf8", "enum": "utf8", "bin": "binary",
		"lf64": "list<item: float64>", "ls": "list<item: utf8>", "rep": "list<item: int32>",
	}
	for name, opts := range pgOptions {
		path := tempPath(t, name+".parquet")
		writePG(t, path, rows, opts...)
		f, err := Open(Input{Path: path})
		if err != nil {
			t.Fatal(err)
		}
		if f.NumUnits() < 2 && name != "v2-uncompressed-dictfallback" {
			t.Fatalf("%s: %d row groups", name, f.NumUnits())
		}
		for _, fld := range f.Fields() {
			w, ok := wantTypes[fld.Name]
			switch {
			case fld.Name == "fixed":
				if fld.Type != nil {
					t.Errorf("fixed: type %v, want nil", fld.Type)
				}
			case !ok || fld.Type == nil:
				t.Errorf("%s: unexpected field %s %v", name, fld.Name, fld.Type)
			case fld.Type.String() != w:
				t.Errorf("%s: field %s type %s, want %s", name, fld.Name, fld.Type, w)
			}
		}
		for _, batch := range []int{0, 3, 100, 257} {
			t.Run(fmt.Sprintf("%s/batch=%d", name, batch), func(t *testing.T) {
				got := readAll(t, f, columns, batch)
				for _, c := range columns {
					compareCells(t, c, got[c], want[c])
				}
			})
		}
		err = f.ReadUnit(context.Background(), 0, []string{"fixed"}, 0, func(*Chunk) error { return nil })
		var ie *evalerr.InputError
		if !errors.As(err, &ie) || ie.Column != "fixed" || !strings.Contains(err.Error(), "FIXED_LEN_BYTE_ARRAY") {
			t.Errorf("reading fixed: %v", err)
		}
		f.Close()
	}
}

func TestParquetDictionaryStringsAsCodes(t *testing.T) {
	rows, _ := pgTable(500)
	path := tempPath(t, "d.parquet")
	writePG(t, path, rows, pgOptions["v1-snappy"]...)
	f, err := Open(Input{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	err = f.ReadUnit(context.Background(), 0, []string{"s", "plain"}, 0, func(c *Chunk) error {
		if c.Columns[0].Codes == nil || c.Columns[0].Strs != nil {
			t.Errorf("dictionary column s: codes %v strs %v", c.Columns[0].Codes != nil, c.Columns[0].Strs != nil)
		}
		if c.Columns[1].Strs == nil {
			t.Errorf("plain column: no Strs")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestIPCRoundTrip(t *testing.T) {
	cols := testTable(700)
	batches := splits(700, 250, 1, 0+99, 350)
	for _, stream := range []bool{false, true} {
		ext := ".arrow"
		if stream {
			ext = ".arrows"
		}
		path := tempPath(t, "t"+ext)
		writeIPC(t, path, cols, batches, stream)
		for _, batch := range []int{0, 1, 64, 1000} {
			t.Run(fmt.Sprintf("%s/batch=%d", ext, batch), func(t *testing.T) {
				mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
				defer mem.AssertSize(t, 0)
				f, err := open(Input{Path: path}, mem)
				if err != nil {
					t.Fatal(err)
				}
				defer f.Close()
				if stream && (f.NumUnits() != 1 || f.NumRows() != -1 || f.Format() != IPCStream) {
					t.Fatalf("stream: units %d rows %d", f.NumUnits(), f.NumRows())
				}
				if !stream && (f.NumUnits() != len(batches) || f.NumRows() != 700 || f.Format() != IPCFile) {
					t.Fatalf("file: units %d rows %d", f.NumUnits(), f.NumRows())
				}
				for i, fld := range f.Fields() {
					want := cols[i].typ
					if d, ok := want.(*arrow.DictionaryType); ok {
						want = d.ValueType
					}
					if !arrow.TypeEqual(fld.Type, want) {
						t.Errorf("field %s: %v, want %v", fld.Name, fld.Type, want)
					}
				}
				got := readAll(t, f, names(cols), batch)
				for _, c := range cols {
					compareCells(t, c.name, got[c.name], c.vals)
				}
			})
		}
	}
}

func TestIPCStreamRowGroupIsBatch(t *testing.T) {
	cols := testTable(30)
	path := tempPath(t, "s.arrows")
	writeIPC(t, path, cols, splits(30, 10), true)
	f, err := Open(Input{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var groups []int
	var firsts []int64
	err = f.ReadUnit(context.Background(), 0, []string{"i64"}, 4, func(c *Chunk) error {
		groups = append(groups, c.RowGroup)
		firsts = append(firsts, c.FirstRow)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	wantG := []int{0, 0, 0, 1, 1, 1, 2, 2, 2}
	wantF := []int64{0, 4, 8, 10, 14, 18, 20, 24, 28}
	if !reflect.DeepEqual(groups, wantG) || !reflect.DeepEqual(firsts, wantF) {
		t.Fatalf("row groups %v first rows %v", groups, firsts)
	}
}

func TestYieldErrorAndCancel(t *testing.T) {
	cols := testTable(100)
	dir := t.TempDir()
	pqPath := filepath.Join(dir, "a.parquet")
	writePQArrow(t, pqPath, cols, 100)
	ipcPath := filepath.Join(dir, "a.arrows")
	writeIPC(t, ipcPath, cols, splits(100, 30), true)
	stop := errors.New("stop")
	for _, p := range []string{pqPath, ipcPath} {
		f, err := Open(Input{Path: p})
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		err = f.ReadUnit(context.Background(), 0, []string{"f64"}, 10, func(*Chunk) error { n++; return stop })
		if err != stop || n != 1 {
			t.Errorf("%s: yield error: %v after %d chunks", p, err, n)
		}
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		err = f.ReadUnit(ctx, 0, []string{"f64"}, 10, func(*Chunk) error { return nil })
		if !errors.Is(err, context.Canceled) {
			t.Errorf("%s: cancelled read: %v", p, err)
		}
		err = f.ReadUnit(context.Background(), 0, []string{"nope"}, 10, func(*Chunk) error { return nil })
		if !errors.Is(err, evalerr.ErrInput) || !strings.Contains(err.Error(), `"nope"`) {
			t.Errorf("%s: missing column: %v", p, err)
		}
		f.Close()
	}
}

func TestHivePartitionColumns(t *testing.T) {
	cols := testTable(50)[:4]
	dir := t.TempDir()
	sub := filepath.Join(dir, "model=a%2Fb", "date="+hiveNull, "i64=shadowed")
	if err := os.MkdirAll(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	writePQArrow(t, filepath.Join(sub, "p.parquet"), cols, 20)
	writeIPC(t, filepath.Join(sub, "p.arrow"), cols, splits(50, 20), false)
	ins, err := Discover([]string{"."}, dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(ins) != 2 {
		t.Fatalf("inputs %v", ins)
	}
	wantPart := []KV{{Key: "model", Value: "a/b"}, {Key: "date", Null: true}, {Key: "i64", Value: "shadowed"}}
	for _, in := range ins {
		if !reflect.DeepEqual(in.Partition, wantPart) {
			t.Fatalf("partition %+v", in.Partition)
		}
		f, err := Open(in)
		if err != nil {
			t.Fatal(err)
		}
		flds := f.Fields()
		if len(flds) != 6 || flds[4].Name != "model" || flds[5].Name != "date" ||
			!arrow.TypeEqual(flds[4].Type, arrow.BinaryTypes.String) || flds[4].Nullable || !flds[5].Nullable {
			t.Fatalf("fields %+v", flds)
		}
		got := readAll(t, f, []string{"model", "date", "i64"}, 7)
		for i := 0; i < 50; i++ {
			if got["model"][i] != "a/b" || got["date"][i] != nil {
				t.Fatalf("row %d: model %v date %v", i, got["model"][i], got["date"][i])
			}
		}
		compareCells(t, "i64", got["i64"], cols[3].vals)
		f.Close()
	}
}

func TestDiscover(t *testing.T) {
	dir := t.TempDir()
	files := []string{
		"b/model=x/part-1.parquet",
		"b/model=x/part-0.parquet",
		"b/model=y/sub/part-0.arrow",
		"b/model=y/.hidden.parquet",
		"b/model=y/_SUCCESS",
		"b/_tmp/part-9.parquet",
		"b/.git/part-9.parquet",
		"b/notes.txt",
		"a.arrows",
		"c/one.feather",
		"c/two.ipc",
		"c/_skip.ipc",
	}
	touchFiles(t, dir, files...)
	abs := func(ps ...string) []string {
		var out []string
		for _, p := range ps {
			out = append(out, filepath.Join(dir, p))
		}
		return out
	}
	tests := []struct {
		patterns []string
		want     []string
	}{
		{[]string{"b"}, abs("b/model=x/part-0.parquet", "b/model=x/part-1.parquet", "b/model=y/sub/part-0.arrow")},
		{[]string{"a.arrows", "b/model=x/*.parquet", "a.arrows"}, abs("a.arrows", "b/model=x/part-0.parquet", "b/model=x/part-1.parquet")},
		{[]string{"c/*", filepath.Join(dir, "b/model=y")}, abs("c/one.feather", "c/two.ipc", "b/model=y/sub/part-0.arrow")},
		{[]string{"b/model=*"}, abs("b/model=x/part-0.parquet", "b/model=x/part-1.parquet", "b/model=y/sub/part-0.arrow")},
		{[]string{"b/notes.txt"}, abs("b/notes.txt")},
		// ** matches any number of folders, none too; hidden names stay
		// hidden; a folder it matches is read whole.
		{[]string{"b/**/*.parquet"}, abs("b/model=x/part-0.parquet", "b/model=x/part-1.parquet")},
		{[]string{"**/part-0.*"}, abs("b/model=x/part-0.parquet", "b/model=y/sub/part-0.arrow")},
		{[]string{"b/**/sub/*"}, abs("b/model=y/sub/part-0.arrow")},
		{[]string{"b/model=y/**"}, abs("b/model=y/sub/part-0.arrow")},
		{[]string{"b/**/model=y"}, abs("b/model=y/sub/part-0.arrow")},
		// A wildcard does not match a hidden name (an audit: "*" read a
		// _staging folder a walk skips) unless its element is itself
		// hidden: "_*" names them on purpose.
		{[]string{"c/_skip*"}, abs("c/_skip.ipc")},
		{[]string{"b/_*/*.parquet"}, abs("b/_tmp/part-9.parquet")},
		{[]string{"b/.*/*.parquet", "b/_tmp/*"}, abs("b/.git/part-9.parquet", "b/_tmp/part-9.parquet")},
	}
	for _, tt := range tests {
		got, err := Discover(tt.patterns, dir)
		if err != nil {
			t.Fatalf("%v: %v", tt.patterns, err)
		}
		var paths []string
		for _, in := range got {
			paths = append(paths, in.Path)
		}
		if !reflect.DeepEqual(paths, tt.want) {
			t.Errorf("%v:\n got %v\nwant %v", tt.patterns, paths, tt.want)
		}
	}
	got, _ := Discover([]string{"b/model=x/part-0.parquet"}, dir)
	if !reflect.DeepEqual(got[0].Partition, []KV{{Key: "model", Value: "x"}}) {
		t.Errorf("partition %+v", got[0].Partition)
	}
	for _, bad := range []string{"missing.parquet", "b/*.nothing", "b/_tmp/../model=z", "b/*/part-9.parquet", "nothere/**/*.parquet", "b/**/[", "b/**/*.nothing"} {
		_, err := Discover([]string{"b", bad}, dir)
		if !errors.Is(err, evalerr.ErrInput) || !strings.Contains(err.Error(), bad) {
			t.Errorf("%s: %v", bad, err)
		}
	}
}

// corrupt inputs ---------------------------------------------------------

func goodFiles(t testing.TB, dir string) map[string][]byte {
	cols := testTable(200)
	rows, _ := pgTable(200)
	writePQArrow(t, filepath.Join(dir, "pqarrow.parquet"), cols, 64, pqArrowOptions["v1-snappy-dict"]...)
	writePG(t, filepath.Join(dir, "pg.parquet"), rows, pgOptions["v2-zstd"]...)
	writeIPC(t, filepath.Join(dir, "f.arrow"), cols, splits(200, 70), false)
	writeIPC(t, filepath.Join(dir, "s.arrows"), cols, splits(200, 70), true)
	out := map[string][]byte{}
	for _, n := range []string{"pqarrow.parquet", "pg.parquet", "f.arrow", "s.arrows"} {
		b, err := os.ReadFile(filepath.Join(dir, n))
		if err != nil {
			t.Fatal(err)
		}
		out[n] = b
	}
	return out
}

// readEverything opens path and reads every readable column of every unit.
func readEverything(path string, mem memory.Allocator) error {
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
	for u := 0; u < f.NumUnits(); u++ {
		err := f.ReadUnit(context.Background(), u, cols, 50, func(c *Chunk) error {
			for _, col := range c.Columns {
				for i := 0; i < c.Len; i++ {
					_ = cell(col, i)
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

func TestCorruptInputs(t *testing.T) {
	dir := t.TempDir()
	good := goodFiles(t, dir)
	type tc struct {
		name, file string
		data       []byte
		mustFail   bool
	}
	var cases []tc
	for n, b := range good {
		ext := filepath.Ext(n)
		cases = append(cases,
			tc{"empty", "empty" + ext, nil, true},
			tc{"text", "text" + ext, []byte("model,label,prob\na,1,0.5\n"), true},
			tc{"truncated-half", "half-" + n, b[:len(b)/2], true},
			tc{"truncated-tail", "tail-" + n, b[:len(b)-3], true},
		)
		for seed := 0; seed < 40; seed++ {
			c := append([]byte(nil), b...)
			// flip bytes in the footer / trailing metadata
			for k := 0; k < 1+seed%3; k++ {
				pos := len(c) - 1 - ((seed*7919 + k*104729) % min(len(c), 600))
				c[pos] ^= byte(1 << (seed % 8))
			}
			cases = append(cases, tc{fmt.Sprintf("flip-%d", seed), fmt.Sprintf("flip%d-%s", seed, n), c, false})
		}
		for seed := 0; seed < 40; seed++ {
			c := append([]byte(nil), b...)
			pos := int(uint64(seed) * 2654435761 % uint64(len(c)))
			c[pos] ^= 0xFF
			cases = append(cases, tc{fmt.Sprintf("body-%d", seed), fmt.Sprintf("body%d-%s", seed, n), c, false})
		}
	}
	cases = append(cases, tc{"unknown-ext-text", "data.bin", []byte("hello"), true})
	for _, c := range cases {
		path := filepath.Join(dir, c.file)
		if err := os.WriteFile(path, c.data, 0o644); err != nil {
			t.Fatal(err)
		}
		mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
		err := readEverything(path, mem)
		if err == nil && c.mustFail {
			t.Errorf("%s %s: no error", c.name, c.file)
		}
		if err != nil {
			if !errors.Is(err, evalerr.ErrInput) || !strings.Contains(err.Error(), path) {
				t.Errorf("%s %s: %v (not an input error naming the file)", c.name, c.file, err)
			}
		}
		mem.AssertSize(t, 0)
	}
}

func TestSniffFormat(t *testing.T) {
	dir := t.TempDir()
	good := goodFiles(t, dir)
	for n, b := range good {
		path := filepath.Join(dir, "noext-"+strings.TrimSuffix(n, filepath.Ext(n)))
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		f, err := Open(Input{Path: path})
		if err != nil {
			t.Fatalf("%s: %v", n, err)
		}
		want := map[string]Format{".parquet": Parquet, ".arrow": IPCFile, ".arrows": IPCStream}[filepath.Ext(n)]
		if f.Format() != want {
			t.Errorf("%s: format %v, want %v", n, f.Format(), want)
		}
		f.Close()
	}
}

func TestConcurrentUnits(t *testing.T) {
	cols := testTable(1000)
	path := tempPath(t, "c.parquet")
	writePQArrow(t, path, cols, 100)
	f, err := Open(Input{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	errs := make(chan error, f.NumUnits())
	for u := 0; u < f.NumUnits(); u++ {
		go func(u int) {
			row := int64(u * 100)
			errs <- f.ReadUnit(context.Background(), u, []string{"i64", "s", "lf64"}, 33, func(c *Chunk) error {
				for i := 0; i < c.Len; i++ {
					if got, want := cell(c.Columns[0], i), cols[3].vals[row]; got != want {
						return fmt.Errorf("row %d: %v, want %v", row, got, want)
					}
					if got, want := cell(c.Columns[2], i), cols[16].vals[row]; !reflect.DeepEqual(got, want) {
						return fmt.Errorf("row %d: %v, want %v", row, got, want)
					}
					row++
				}
				return nil
			})
		}(u)
	}
	for u := 0; u < f.NumUnits(); u++ {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}

// TestReadHead: a unit's head is its first rows, the same cells as in the
// whole unit, for every column type, Parquet files with many small pages
// (v1 and v2, dictionary and plain, lists) and an IPC file, and limits from
// one row to more than the unit holds.
// chunkFixtures writes the same 1000 rows of every column type with
// several writers and page settings (Arrow: row groups of 300; parquet-go:
// 200-512-byte pages, v1 and v2, dictionary fallback, lists; IPC) and opens
// them, with the columns to read from each.
func chunkFixtures(t *testing.T) ([]*File, [][]string) {
	cols := testTable(1000)
	rows, _ := pgTable(1000)
	pgColumns := []string{"i8", "u64", "i64", "b", "ts", "f32", "f64", "s", "plain", "enum", "bin", "lf64", "ls", "rep"}
	var files []*File
	var columns [][]string
	open := func(path string, cs []string) {
		f, err := Open(Input{Path: path})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		files, columns = append(files, f), append(columns, cs)
	}
	for name, props := range pqArrowOptions {
		path := tempPath(t, name+".parquet")
		writePQArrow(t, path, cols, 300, props...)
		open(path, names(cols))
	}
	for name, opts := range pgOptions {
		path := tempPath(t, "pg-"+name+".parquet")
		writePG(t, path, rows, opts...)
		open(path, pgColumns)
	}
	ipcPath := tempPath(t, "head.arrow")
	writeIPC(t, ipcPath, cols, splits(1000, 300), false)
	open(ipcPath, names(cols))
	return files, columns
}

// unitRows reads unit u of f in chunks of batch rows and returns its rows
// as text, checking each chunk's shape and position.
func unitRows(t *testing.T, f *File, u int, columns []string, batch int) []string {
	t.Helper()
	var out []string
	next := int64(-1)
	err := f.ReadUnit(context.Background(), u, columns, batch, func(c *Chunk) error {
		if next >= 0 && c.FirstRow != next {
			t.Fatalf("%s unit %d batch %d: chunk at row %d, want %d", f.Path(), u, batch, c.FirstRow, next)
		}
		if batch > 0 && c.Len > batch {
			t.Fatalf("%s unit %d batch %d: a chunk of %d rows", f.Path(), u, batch, c.Len)
		}
		next = c.FirstRow + int64(c.Len)
		for _, col := range c.Columns {
			checkColumn(t, col, c.Len)
		}
		for i := range c.Len {
			out = append(out, chunkRow(c, i))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// chunkRow is row i of c as text: name=value for each column.
func chunkRow(c *Chunk, i int) string {
	var row []string
	for _, col := range c.Columns {
		row = append(row, col.Name+"="+fmt.Sprint(cell(col, i)))
	}
	return strings.Join(row, " ")
}

// TestReadUnitInChunks: a unit read in chunks of any size (its pages
// decoded as the chunks need them, and dropped once yielded) gives the rows
// of the unit decoded whole, the head read of the whole unit (each column
// decoded page by page in one go) included.
func TestReadUnitInChunks(t *testing.T) {
	files, columns := chunkFixtures(t)
	for fi, f := range files {
		for u := range f.NumUnits() {
			whole := unitRows(t, f, u, columns[fi], 0)
			var head []string
			err := f.ReadHead(context.Background(), u, columns[fi], 1<<30, func(c *Chunk) error {
				for i := range c.Len {
					head = append(head, chunkRow(c, i))
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(head, whole) {
				t.Fatalf("%s unit %d: the whole unit differs from its head read", f.Path(), u)
			}
			for _, batch := range []int{1, 2, 3, 7, 64, 299, 300, 301} {
				got := unitRows(t, f, u, columns[fi], batch)
				if len(got) != len(whole) {
					t.Fatalf("%s unit %d batch %d: %d rows, want %d", f.Path(), u, batch, len(got), len(whole))
				}
				for i := range got {
					if got[i] != whole[i] {
						t.Fatalf("%s unit %d batch %d: row %d is\n%s\nwant\n%s", f.Path(), u, batch, i, got[i], whole[i])
					}
				}
			}
		}
	}
}

func TestReadHead(t *testing.T) {
	files, columns := chunkFixtures(t)
	for fi, f := range files {
		for u := range f.NumUnits() {
			var whole []map[string]any
			first := int64(-1)
			err := f.ReadUnit(context.Background(), u, columns[fi], 0, func(c *Chunk) error {
				first = c.FirstRow
				for i := range c.Len {
					row := map[string]any{}
					for _, col := range c.Columns {
						row[col.Name] = cell(col, i)
					}
					whole = append(whole, row)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			for _, limit := range []int{1, 2, 7, 50, 299, 300, 5000} {
				calls := 0
				err := f.ReadHead(context.Background(), u, columns[fi], limit, func(c *Chunk) error {
					calls++
					if want := min(limit, len(whole)); c.Len != want || c.FirstRow != first {
						t.Fatalf("%s unit %d limit %d: %d rows from %d, want %d from %d", f.Path(), u, limit, c.Len, c.FirstRow, want, first)
					}
					for k, col := range c.Columns {
						checkColumn(t, col, c.Len)
						if col.Name != columns[fi][k] {
							t.Fatalf("column %d named %q", k, col.Name)
						}
						for i := range c.Len {
							if got, want := fmt.Sprint(cell(col, i)), fmt.Sprint(whole[i][col.Name]); got != want {
								t.Fatalf("%s unit %d limit %d: %s row %d = %s, whole unit %s", f.Path(), u, limit, col.Name, i, got, want)
							}
						}
					}
					return nil
				})
				if err != nil || calls != 1 {
					t.Fatalf("%s unit %d limit %d: %d chunks, %v", f.Path(), u, limit, calls, err)
				}
			}
		}
	}
}

// TestColStreamConsumeMovesEachRowOnce: chunks of one row taken from a
// page of 100k (a page may hold far more rows than a chunk) move, in all,
// fewer values than the page holds when the yielded rows are dropped:
// dropping after every chunk would move ~5e9.
func TestColStreamConsumeMovesEachRowOnce(t *testing.T) {
	const n = 100_000
	c := &pqColumn{name: "x", kind: kInt64}
	cb := &colBuf{rows: n, slots: n, ints: make([]int64, n)}
	for i := range cb.ints {
		cb.ints[i] = int64(i)
	}
	s := &colStream{c: c, cb: cb, ended: true}
	moved := 0
	for k := range n {
		if got := cb.ints[s.start]; got != int64(k) {
			t.Fatalf("row %d holds %d", k, got)
		}
		s.consume(1, true)
		if s.start == 0 {
			moved += cb.rows // what that drop copied
		}
	}
	if moved > n {
		t.Errorf("moved %d values for %d rows", moved, n)
	}
	if s.done != n || cb.rows != 0 {
		t.Errorf("done %d, %d rows left", s.done, cb.rows)
	}
}

// TestReadUnitWideListChunks: a unit of wide lists comes in chunks of
// about chunkValues values, fewer rows than batchRows, with every row
// once and in order; flat columns beside it follow the same chunks.
func TestReadUnitWideListChunks(t *testing.T) {
	const rows, width = 4000, 1000 // 4M values: chunks of 1048 rows
	ids := testCol{name: "id", typ: arrow.PrimitiveTypes.Int64}
	lists := testCol{name: "v", typ: arrow.ListOf(arrow.PrimitiveTypes.Float32)}
	for i := range rows {
		ids.vals = append(ids.vals, i64(int64(i)))
		l := make([]any, width)
		for j := range l {
			l[j] = float32(i*width + j) // exact: below 2^24
		}
		lists.vals = append(lists.vals, l)
	}
	path := tempPath(t, "wide.parquet")
	writePQArrow(t, path, []testCol{ids, lists}, rows)
	f, err := Open(Input{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	wantStep := rows * chunkValues / (rows * width)
	for _, batch := range []int{1 << 16, 2000, 500} {
		var chunks []int
		var next int64
		err := f.ReadUnit(context.Background(), 0, []string{"id", "v"}, batch, func(c *Chunk) error {
			if c.FirstRow != next {
				t.Fatalf("batch %d: FirstRow %d, want %d", batch, c.FirstRow, next)
			}
			id, v := c.Columns[0], c.Columns[1]
			for i := range c.Len {
				r := next + int64(i)
				if id.Ints[i] != r {
					t.Fatalf("batch %d: row %d has id %d", batch, r, id.Ints[i])
				}
				lo, hi := v.Offsets[i], v.Offsets[i+1]
				if hi-lo != width || v.Elem.F32[lo] != float32(r*width) || v.Elem.F32[hi-1] != float32(r*width+width-1) {
					t.Fatalf("batch %d: row %d list is wrong", batch, r)
				}
			}
			chunks = append(chunks, c.Len)
			next += int64(c.Len)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if next != rows {
			t.Fatalf("batch %d: %d rows, want %d", batch, next, rows)
		}
		step := min(batch, wantStep)
		for k, n := range chunks {
			if n != min(step, rows-k*step) {
				t.Fatalf("batch %d: chunks of %v rows, want %d each", batch, chunks, step)
			}
		}
	}
}

// TestReadLongLists: lists long enough for addListPage's eight levels at a
// time, with null lists, empty lists, null elements anywhere in a run
// (nullable elements) and pages cut inside rows, read back cell for cell at
// several batch sizes.
func TestReadLongLists(t *testing.T) {
	rng := rand.New(rand.NewPCG(71, 72))
	nullable := testCol{name: "ln", typ: arrow.ListOf(arrow.PrimitiveTypes.Float64)}
	required := testCol{name: "lr", typ: arrow.ListOfNonNullable(arrow.PrimitiveTypes.Float32)}
	const rows = 3000
	for i := range rows {
		var ln, lr []any
		for j := range rng.IntN(60) {
			if rng.IntN(40) == 0 {
				ln = append(ln, nil)
			} else {
				ln = append(ln, float64(i)+float64(j)/64)
			}
		}
		for j := range []int{0, 1, 8, 9, 16, 17, 33, 100}[rng.IntN(8)] {
			lr = append(lr, float32(i*100+j))
		}
		switch rng.IntN(20) {
		case 0:
			nullable.vals = append(nullable.vals, nil)
		case 1:
			nullable.vals = append(nullable.vals, []any{})
		default:
			nullable.vals = append(nullable.vals, orEmpty(ln))
		}
		required.vals = append(required.vals, orEmpty(lr))
	}
	path := tempPath(t, "long.parquet")
	writePQArrow(t, path, []testCol{nullable, required}, 1000, pq.WithDataPageSize(700))
	f, err := Open(Input{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, batch := range []int{0, 1, 7, 64, 400} {
		got := readAll(t, f, []string{"ln", "lr"}, batch)
		compareCells(t, "ln", got["ln"], nullable.vals)
		compareCells(t, "lr", got["lr"], required.vals)
	}
}

// bigPageRow is a row of TestReadLargePagesV2's file.
type bigPageRow struct {
	ID    int64     `parquet:"id"`
	P     *float64  `parquet:"p,optional"`
	Probs []float32 `parquet:"probs,list"`
}

// TestReadLargePagesV2: snappy data pages v2 of hundreds of KB, whose
// values checkPages skims (it reads their levels and the snappy length,
// then the next header through a small window), read back value for
// value; and such a page with its values corrupted in the part the check
// does not read fails with an input error, not a panic.
func TestReadLargePagesV2(t *testing.T) {
	rng := rand.New(rand.NewPCG(73, 74))
	const n = 200000 // row groups of 100k rows: column chunks of 0.8-2.8 MB
	rows := make([]bigPageRow, n)
	for i := range rows {
		rows[i].ID = int64(i)
		if i%7 != 0 {
			p := rng.Float64()
			rows[i].P = &p
		}
		rows[i].Probs = make([]float32, 1+i%13)
		for j := range rows[i].Probs {
			rows[i].Probs[j] = rng.Float32()
		}
	}
	var buf bytes.Buffer
	w := parquet.NewGenericWriter[bigPageRow](&buf, parquet.DataPageVersion(2), parquet.Compression(&parquet.Snappy),
		parquet.PageBufferSize(300<<10), parquet.MaxRowsPerRowGroup(100000))
	if _, err := w.Write(rows); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	path := tempPath(t, "bigpages.parquet")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := Open(Input{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	got := readAll(t, f, []string{"id", "p", "probs"}, 4096)
	f.Close()
	for i, r := range rows {
		if got["id"][i] != r.ID {
			t.Fatalf("row %d: id %v", i, got["id"][i])
		}
		if (r.P == nil) != (got["p"][i] == nil) || r.P != nil && got["p"][i] != *r.P {
			t.Fatalf("row %d: p %v", i, got["p"][i])
		}
		l := got["probs"][i].([]any)
		if len(l) != len(r.Probs) || l[len(l)-1] != r.Probs[len(r.Probs)-1] {
			t.Fatalf("row %d: probs %v, want %v", i, l, r.Probs)
		}
	}

	// Corrupt the middle of the file, where page values lie.
	bad := bytes.Clone(buf.Bytes())
	for i := len(bad) / 3; i < len(bad)/3+4096; i++ {
		bad[i] ^= 0x5a
	}
	badPath := tempPath(t, "bigpages-bad.parquet")
	if err := os.WriteFile(badPath, bad, 0o644); err != nil {
		t.Fatal(err)
	}
	f, err = Open(Input{Path: badPath})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var failed error
	for u := range f.NumUnits() {
		if err := f.ReadUnit(context.Background(), u, []string{"id", "p", "probs"}, 4096, func(*Chunk) error { return nil }); err != nil {
			failed = err
		}
	}
	var ie *evalerr.InputError
	if !errors.As(failed, &ie) {
		t.Fatalf("corrupt page values: error %v, want an input error", failed)
	}
}

// TestIPCFileConcurrentDictionaries: the record batches of an IPC file
// with dictionary columns read from several goroutines at once (as the
// workers do) read as they do one at a time. Arrow v17's FileReader is not
// safe for that (its dictionary mapper shares a hash): unserialized, most
// runs failed with "dictionary field not found" (or a race under -race).
func TestIPCFileConcurrentDictionaries(t *testing.T) {
	mem := memory.NewGoAllocator()
	dictType := &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int32, ValueType: arrow.BinaryTypes.String}
	var fields []arrow.Field
	for k := range 4 {
		fields = append(fields, arrow.Field{Name: fmt.Sprint("d", k), Type: dictType})
	}
	fields = append(fields, arrow.Field{Name: "x", Type: arrow.PrimitiveTypes.Float64})
	schema := arrow.NewSchema(fields, nil)
	path := filepath.Join(t.TempDir(), "dicts.arrow")
	out, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w, err := ipc.NewFileWriter(out, ipc.WithSchema(schema), ipc.WithAllocator(mem))
	if err != nil {
		t.Fatal(err)
	}
	// One dictionary per column for the whole file (the IPC file format
	// allows no replacement), indexed differently in each batch.
	sb := array.NewStringBuilder(mem)
	sb.AppendValues([]string{"v0", "v1", "v2", "v3", "v4"}, nil)
	dict := sb.NewArray()
	defer dict.Release()
	const batches, rows = 120, 20
	for bt := range batches {
		var cols []arrow.Array
		for k := range 4 {
			ib := array.NewInt32Builder(mem)
			for i := range rows {
				ib.Append(int32((bt + i + k) % 5))
			}
			idx := ib.NewArray()
			cols = append(cols, array.NewDictionaryArray(dictType, idx, dict))
			idx.Release()
		}
		xb := array.NewFloat64Builder(mem)
		for i := range rows {
			xb.Append(float64(bt*rows + i))
		}
		cols = append(cols, xb.NewArray())
		rec := array.NewRecord(schema, cols, rows)
		if err := w.Write(rec); err != nil {
			t.Fatal(err)
		}
		rec.Release()
		for _, c := range cols {
			c.Release()
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	out.Close()
	f, err := open(Input{Path: path}, memory.DefaultAllocator)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	columns := []string{"d0", "d1", "d2", "d3", "x"}
	want := readAll(t, f, columns, 0)
	for trial := range 5 {
		got := make([][]string, f.NumUnits())
		errs := make([]error, f.NumUnits())
		var wg sync.WaitGroup
		for g := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for u := g; u < f.NumUnits(); u += 8 {
					errs[u] = f.ReadUnit(context.Background(), u, columns, 0, func(c *Chunk) error {
						for i := range c.Len {
							var row []string
							for _, col := range c.Columns {
								row = append(row, fmt.Sprint(cell(col, i)))
							}
							got[u] = append(got[u], strings.Join(row, ","))
						}
						return nil
					})
				}
			}()
		}
		wg.Wait()
		r := 0
		for u := range got {
			if errs[u] != nil {
				t.Fatalf("trial %d, unit %d: %v", trial, u, errs[u])
			}
			for _, row := range got[u] {
				var w []string
				for _, c := range columns {
					w = append(w, fmt.Sprint(want[c][r]))
				}
				if row != strings.Join(w, ",") {
					t.Fatalf("trial %d, row %d: %s, want %s", trial, r, row, strings.Join(w, ","))
				}
				r++
			}
		}
	}
}

// TestZeroRowFile: a Parquet file of no rows as Arrow's writer makes it
// (one row group of 0 rows whose column chunks have no bytes, at offset 0)
// is a file of 0 rows, not a corrupt one; with and without dictionaries.
func TestZeroRowFile(t *testing.T) {
	for _, dict := range []bool{true, false} {
		schema := arrow.NewSchema([]arrow.Field{
			{Name: "label", Type: arrow.PrimitiveTypes.Int64},
			{Name: "prob", Type: arrow.PrimitiveTypes.Float64},
			{Name: "model", Type: arrow.BinaryTypes.String, Nullable: true},
		}, nil)
		b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
		path := tempPath(t, fmt.Sprintf("zero-%v.parquet", dict))
		writeBuilt(t, path, b, 1000, pq.WithDictionaryDefault(dict))
		b.Release()
		f, err := Open(Input{Path: path})
		if err != nil {
			t.Fatalf("dictionaries %v: %v", dict, err)
		}
		if f.NumRows() != 0 {
			t.Errorf("dictionaries %v: %d rows", dict, f.NumRows())
		}
		rows := 0
		for u := range f.NumUnits() {
			err := f.ReadUnit(context.Background(), u, []string{"label", "prob", "model"}, 0, func(c *Chunk) error {
				rows += c.Len
				return nil
			})
			if err != nil {
				t.Errorf("dictionaries %v: unit %d: %v", dict, u, err)
			}
			if err := f.ReadHead(context.Background(), u, []string{"prob"}, 10, func(c *Chunk) error {
				rows += c.Len
				return nil
			}); err != nil {
				t.Errorf("dictionaries %v: head of unit %d: %v", dict, u, err)
			}
		}
		if rows != 0 {
			t.Errorf("dictionaries %v: %d rows read", dict, rows)
		}
		f.Close()
	}
}

// TestDiscoverLiteralBrackets: a path that exists is read as it is, even
// with wildcard characters in its folders (a config in "runs[1]" made
// every relative input "match no files"); a glob below such a folder
// still needs them escaped.
func TestDiscoverLiteralBrackets(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "runs[1]")
	p := filepath.Join(dir, "in", "a.parquet")
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, pat := range []string{"in/a.parquet", "in"} {
		got, err := Discover([]string{pat}, dir)
		if err != nil || len(got) != 1 || got[0].Path != p {
			t.Errorf("%s: %v, %v; want %s", pat, got, err, p)
		}
	}
}

// TestDiscoverSymlinks: below a folder input or a ** pattern's root, a
// link to a folder is not followed (a review: following them read a hive
// tree's "latest" partition twice, and links between sibling folders
// listed 109,600 inputs for 8 files), as filepath.WalkDir does; a * glob
// goes through one as filepath.Glob does; the root may be a link; a link
// to a file, broken or not, is a file.
func TestDiscoverSymlinks(t *testing.T) {
	dir := t.TempDir()
	touchFiles(t, dir, "real/x.parquet", "real/deep/y.parquet", "data/own/z.parquet", "data/notes.txt", "data/d0/f.parquet", "data/d1/f.parquet")
	for link, target := range map[string]string{
		"data/link":          "../real",
		"real/deep/loop":     "..",
		"data/broken":        "nowhere",
		"data/d0/l1":         "../d1",
		"data/d1/l0":         "../d0",
		"data/own/y.parquet": "../../real/deep/y.parquet",
		"rlink":              "data",
	} {
		if err := os.Symlink(target, filepath.Join(dir, link)); err != nil {
			t.Skip(err)
		}
	}
	abs := func(ps ...string) []string {
		var out []string
		for _, p := range ps {
			out = append(out, filepath.Join(dir, p))
		}
		return out
	}
	for _, tc := range []struct {
		patterns []string
		want     []string
	}{
		{[]string{"data"}, abs("data/d0/f.parquet", "data/d1/f.parquet", "data/own/y.parquet", "data/own/z.parquet")},
		{[]string{"data/**/*.parquet"}, abs("data/d0/f.parquet", "data/d1/f.parquet", "data/own/y.parquet", "data/own/z.parquet")},
		{[]string{"data/*/*.parquet"}, abs("data/d0/f.parquet", "data/d1/f.parquet", "data/link/x.parquet", "data/own/y.parquet", "data/own/z.parquet")},
		{[]string{"rlink/**/z.parquet"}, abs("rlink/own/z.parquet")},
		{[]string{"rlink"}, abs("rlink/d0/f.parquet", "rlink/d1/f.parquet", "rlink/own/y.parquet", "rlink/own/z.parquet")},
		{[]string{"data/**"}, abs("data/broken", "data/d0/f.parquet", "data/d1/f.parquet", "data/notes.txt", "data/own/y.parquet", "data/own/z.parquet")},
		{[]string{"real/**"}, abs("real/deep/y.parquet", "real/x.parquet")},
	} {
		got, err := Discover(tc.patterns, dir)
		if err != nil {
			t.Fatalf("%v: %v", tc.patterns, err)
		}
		var paths []string
		for _, in := range got {
			paths = append(paths, in.Path)
		}
		if !reflect.DeepEqual(paths, tc.want) {
			t.Errorf("%v:\n got %v\nwant %v", tc.patterns, paths, tc.want)
		}
	}
}

// TestHiveKeyText: a folder key=value's %-escapes are decoded, unless the
// bytes they give are not UTF-8 (an audit: "m=%C3" wrote the byte 0xC3
// into a string column, and DuckDB refused the whole summary).
func TestHiveKeyText(t *testing.T) {
	for dir, want := range map[string]KV{
		"m=a%2Fb":       {Key: "m", Value: "a/b"},
		"m=%C3%A9":      {Key: "m", Value: "é"},
		"m=%C3":         {Key: "m", Value: "%C3"},
		"m=100%":        {Key: "m", Value: "100%"},
		"m%3D=x":        {Key: "m=", Value: "x"},
		"%FF=x":         {Key: "%FF", Value: "x"},
		"m=" + hiveNull: {Key: "m", Null: true},
		"m=":            {Key: "m", Value: ""},
	} {
		got := partition(filepath.Join("/data", dir, "part-0.parquet"))
		if len(got) != 1 || got[0] != want {
			t.Errorf("%s: %+v, want %+v", dir, got, want)
		}
	}
}

// TestDiscoverExcept: a run's own outputs in its output folder are not
// inputs (an audit: the second run of a job whose output folder sat inside
// its input folder read the first run's summary.parquet, exit 3), through
// a link to the folder too; other files there are, and so are the outputs
// when the output folder is the inputs' own (a review: excluding the
// whole folder refused such a run).
func TestDiscoverExcept(t *testing.T) {
	dir := t.TempDir()
	touchFiles(t, dir, "data/model=a/part-0.parquet", "data/results/summary.parquet", "data/results/rows.parquet", "data/results/mine.parquet", "data/resultsX/summary.parquet")
	if err := os.Symlink(filepath.Join(dir, "data", "results"), filepath.Join(dir, "out")); err != nil {
		t.Skip(err)
	}
	names := []string{"summary.parquet", "rows.parquet", "manifest.json"}
	abs := func(ps ...string) []string {
		var out []string
		for _, p := range ps {
			out = append(out, filepath.Join(dir, p))
		}
		return out
	}
	for _, tc := range []struct {
		pattern, out string
		want         []string
	}{
		{"data", "data/results", abs("data/model=a/part-0.parquet", "data/results/mine.parquet", "data/resultsX/summary.parquet")},
		{"data/**/*.parquet", "out", abs("data/model=a/part-0.parquet", "data/results/mine.parquet", "data/resultsX/summary.parquet")},
		{"data/results/*.parquet", "data", abs("data/results/mine.parquet", "data/results/rows.parquet", "data/results/summary.parquet")},
		{"data/results/*.parquet", "nothere", abs("data/results/mine.parquet", "data/results/rows.parquet", "data/results/summary.parquet")},
	} {
		got, err := DiscoverExcept([]string{tc.pattern}, dir, filepath.Join(dir, tc.out), names)
		var paths []string
		for _, in := range got {
			paths = append(paths, in.Path)
		}
		if err != nil || !reflect.DeepEqual(paths, tc.want) {
			t.Errorf("%s, output %s: %v, %v; want %v", tc.pattern, tc.out, paths, err, tc.want)
		}
	}
	_, err := DiscoverExcept([]string{"data/results/s*.parquet"}, dir, filepath.Join(dir, "data/results"), names)
	if !errors.Is(err, evalerr.ErrInput) || !strings.Contains(err.Error(), "matches only the outputs of an earlier run") {
		t.Errorf("only outputs: %v", err)
	}
}

// touchFiles creates empty files at the paths names below dir, and their
// folders.
func touchFiles(t *testing.T, dir string, names ...string) {
	t.Helper()
	for _, name := range names {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
