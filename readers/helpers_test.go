package readers

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/ipc"
	"github.com/apache/arrow/go/v17/arrow/memory"
	pq "github.com/apache/arrow/go/v17/parquet"
	"github.com/apache/arrow/go/v17/parquet/compress"
	"github.com/apache/arrow/go/v17/parquet/pqarrow"
	"github.com/parquet-go/parquet-go"
)

// The test data: one Go value per cell, computed without the reader.
// Cells are nil (null), bool, int64 (every integer, date and timestamp
// type; uint64 as its bit pattern), float32, float64, string, or []any.

type testCol struct {
	name string
	typ  arrow.DataType
	vals []any
}

func i64(x int64) any { return x }

// testTable builds n rows of every type the reader supports.
func testTable(n int) []testCol {
	strsSet := []string{"alpha", "beta", "", "δέλτα", "epsilon"}
	cols := []testCol{
		{name: "i8", typ: arrow.PrimitiveTypes.Int8},
		{name: "i16", typ: arrow.PrimitiveTypes.Int16},
		{name: "i32", typ: arrow.PrimitiveTypes.Int32},
		{name: "i64", typ: arrow.PrimitiveTypes.Int64},
		{name: "u8", typ: arrow.PrimitiveTypes.Uint8},
		{name: "u16", typ: arrow.PrimitiveTypes.Uint16},
		{name: "u32", typ: arrow.PrimitiveTypes.Uint32},
		{name: "u64", typ: arrow.PrimitiveTypes.Uint64},
		{name: "b", typ: arrow.FixedWidthTypes.Boolean},
		{name: "d32", typ: arrow.FixedWidthTypes.Date32},
		{name: "ts", typ: &arrow.TimestampType{Unit: arrow.Millisecond, TimeZone: "UTC"}},
		{name: "f32", typ: arrow.PrimitiveTypes.Float32},
		{name: "f64", typ: arrow.PrimitiveTypes.Float64},
		{name: "s", typ: arrow.BinaryTypes.String},
		{name: "bin", typ: arrow.BinaryTypes.Binary},
		{name: "dict", typ: &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int32, ValueType: arrow.BinaryTypes.String}},
		{name: "lf64", typ: arrow.ListOf(arrow.PrimitiveTypes.Float64)},
		{name: "ll", typ: arrow.LargeListOf(arrow.PrimitiveTypes.Int64)},
		{name: "fsl", typ: arrow.FixedSizeListOf(3, arrow.PrimitiveTypes.Float32)},
		{name: "ls", typ: arrow.ListOf(arrow.BinaryTypes.String)},
		{name: "fsln", typ: arrow.FixedSizeListOf(2, arrow.PrimitiveTypes.Float64)},
	}
	for i := 0; i < n; i++ {
		null := func(k int) bool { return i%k == 3 }
		put := func(c int, v any, k int) {
			if k > 0 && null(k) {
				v = nil
			}
			cols[c].vals = append(cols[c].vals, v)
		}
		x := int64(i)
		put(0, i64(int64(int8(x*37))), 7)
		put(1, i64(int64(int16(x*1237))), 5)
		put(2, i64(int64(int32(x*7919*65537))), 6)
		put(3, i64(x*1_000_000_007-5), 0)
		put(4, i64(int64(uint8(x*3))), 8)
		put(5, i64(int64(uint16(x*4099))), 9)
		put(6, i64(int64(uint32(x*2654435761))), 4)
		put(7, i64(int64(uint64(x)*0x9E3779B97F4A7C15)), 10)
		put(8, i%3 == 0, 5)
		put(9, i64(18000+x), 7)
		put(10, i64(1_700_000_000_000+x*1000), 6)
		put(11, float32(x)*0.25-3, 4)
		put(12, math.Sqrt(float64(i))-1.5, 9)
		put(13, strsSet[i%len(strsSet)]+fmt.Sprint(i%13), 6)
		put(14, string([]byte{byte(i), 0, byte(i >> 8)}), 7)
		put(15, strsSet[(i*7)%len(strsSet)], 5)
		// lists: null (k=11), empty (i%5==0), 1..4 elements, some null
		list := func(mk func(j int) any, nullElem bool) any {
			if null(11) {
				return nil
			}
			if i%5 == 0 {
				return []any{}
			}
			var l []any
			for j := 0; j < 1+i%4; j++ {
				if nullElem && j == 1 && i%3 == 0 {
					l = append(l, nil)
				} else {
					l = append(l, mk(j))
				}
			}
			return l
		}
		put(16, list(func(j int) any { return float64(i) + float64(j)/8 }, true), 0)
		put(17, list(func(j int) any { return int64(i*10 + j) }, false), 0)
		var fsl any
		if !null(9) {
			l := []any{}
			for j := 0; j < 3; j++ {
				if j == 2 && i%4 == 0 {
					l = append(l, nil)
				} else {
					l = append(l, float32(i)+float32(j))
				}
			}
			fsl = l
		}
		put(18, fsl, 0)
		put(19, list(func(j int) any { return strsSet[(i+j)%len(strsSet)] }, true), 0)
		if i%6 == 1 {
			put(20, []any{nil, float64(-i)}, 0)
		} else {
			put(20, []any{float64(i), float64(-i)}, 0)
		}
	}
	return cols
}

func appendAny(b array.Builder, v any) {
	if v == nil {
		b.AppendNull()
		return
	}
	switch bb := b.(type) {
	case *array.Int8Builder:
		bb.Append(int8(v.(int64)))
	case *array.Int16Builder:
		bb.Append(int16(v.(int64)))
	case *array.Int32Builder:
		bb.Append(int32(v.(int64)))
	case *array.Int64Builder:
		bb.Append(v.(int64))
	case *array.Uint8Builder:
		bb.Append(uint8(v.(int64)))
	case *array.Uint16Builder:
		bb.Append(uint16(v.(int64)))
	case *array.Uint32Builder:
		bb.Append(uint32(v.(int64)))
	case *array.Uint64Builder:
		bb.Append(uint64(v.(int64)))
	case *array.BooleanBuilder:
		bb.Append(v.(bool))
	case *array.Date32Builder:
		bb.Append(arrow.Date32(v.(int64)))
	case *array.TimestampBuilder:
		bb.Append(arrow.Timestamp(v.(int64)))
	case *array.Float32Builder:
		bb.Append(v.(float32))
	case *array.Float64Builder:
		bb.Append(v.(float64))
	case *array.StringBuilder:
		bb.Append(v.(string))
	case *array.StringViewBuilder:
		bb.Append(v.(string))
	case *array.BinaryBuilder:
		bb.Append([]byte(v.(string)))
	case *array.BinaryDictionaryBuilder:
		if err := bb.AppendString(v.(string)); err != nil {
			panic(err)
		}
	case *array.ListBuilder:
		bb.Append(true)
		for _, e := range v.([]any) {
			appendAny(bb.ValueBuilder(), e)
		}
	case *array.LargeListBuilder:
		bb.Append(true)
		for _, e := range v.([]any) {
			appendAny(bb.ValueBuilder(), e)
		}
	case *array.FixedSizeListBuilder:
		bb.Append(true)
		for _, e := range v.([]any) {
			appendAny(bb.ValueBuilder(), e)
		}
	default:
		panic(fmt.Sprintf("appendAny: %T", b))
	}
}

// testRecords builds Arrow records of the rows [lo, hi) for each batch.
// fresh: every record gets its own arrays (pqarrow v17 writes sliced
// fixed-size lists wrongly); else the records are slices of one record (an
// IPC file allows one dictionary per field).
func testRecords(mem memory.Allocator, cols []testCol, batches [][2]int, fresh bool) (*arrow.Schema, []arrow.Record) {
	var fields []arrow.Field
	for _, c := range cols {
		fields = append(fields, arrow.Field{Name: c.name, Type: c.typ, Nullable: true})
	}
	schema := arrow.NewSchema(fields, nil)
	if fresh {
		var recs []arrow.Record
		for _, bt := range batches {
			var arrs []arrow.Array
			for _, c := range cols {
				b := array.NewBuilder(mem, c.typ)
				for _, v := range c.vals[bt[0]:bt[1]] {
					appendAny(b, v)
				}
				arrs = append(arrs, b.NewArray())
				b.Release()
			}
			recs = append(recs, array.NewRecord(schema, arrs, int64(bt[1]-bt[0])))
			for _, a := range arrs {
				a.Release()
			}
		}
		return schema, recs
	}
	var arrs []arrow.Array
	n := len(cols[0].vals)
	for _, c := range cols {
		b := array.NewBuilder(mem, c.typ)
		for _, v := range c.vals {
			appendAny(b, v)
		}
		arrs = append(arrs, b.NewArray())
		b.Release()
	}
	full := array.NewRecord(schema, arrs, int64(n))
	for _, a := range arrs {
		a.Release()
	}
	defer full.Release()
	var recs []arrow.Record
	for _, bt := range batches {
		recs = append(recs, full.NewSlice(int64(bt[0]), int64(bt[1])))
	}
	return schema, recs
}

func splits(n int, sizes ...int) [][2]int {
	var out [][2]int
	lo := 0
	for i := 0; lo < n; i++ {
		hi := min(lo+sizes[i%len(sizes)], n)
		out = append(out, [2]int{lo, hi})
		lo = hi
	}
	return out
}

func writeIPC(t testing.TB, path string, cols []testCol, batches [][2]int, stream bool) {
	mem := memory.NewGoAllocator()
	schema, recs := testRecords(mem, cols, batches, false)
	writeRecordsIPC(t, path, schema, recs, stream, mem)
}

// writeRecordsIPC writes recs as an Arrow IPC file, or stream, and
// releases them.
func writeRecordsIPC(t testing.TB, path string, schema *arrow.Schema, recs []arrow.Record, stream bool, mem memory.Allocator) {
	t.Helper()
	out, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	var w interface {
		Write(arrow.Record) error
		Close() error
	}
	if stream {
		w = ipc.NewWriter(out, ipc.WithSchema(schema), ipc.WithAllocator(mem))
	} else {
		fw, err := ipc.NewFileWriter(out, ipc.WithSchema(schema), ipc.WithAllocator(mem))
		if err != nil {
			t.Fatal(err)
		}
		w = fw
	}
	for _, r := range recs {
		if err := w.Write(r); err != nil {
			t.Fatal(err)
		}
		r.Release()
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

// writePQArrow writes the table with Arrow's pqarrow writer.
func writePQArrow(t testing.TB, path string, cols []testCol, rowGroup int64, props ...pq.WriterProperty) {
	mem := memory.NewGoAllocator()
	n := len(cols[0].vals)
	// pqarrow v17 cannot write LARGE_LIST: write it as LIST.
	cols = append([]testCol(nil), cols...)
	for i, c := range cols {
		if t, ok := c.typ.(*arrow.LargeListType); ok {
			cols[i].typ = arrow.ListOf(t.Elem())
		}
		// nor a fixed-size list with null rows (fsln has none).
		if t, ok := c.typ.(*arrow.FixedSizeListType); ok && c.name == "fsl" {
			cols[i].typ = arrow.ListOf(t.Elem())
		}
	}
	schema, recs := testRecords(mem, cols, splits(n, int(rowGroup)), true)
	var buf bytes.Buffer
	props = append([]pq.WriterProperty{pq.WithMaxRowGroupLength(rowGroup)}, props...)
	w, err := pqarrow.NewFileWriter(schema, &buf, pq.NewWriterProperties(props...), pqarrow.DefaultWriterProps())
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		if err := w.Write(r); err != nil {
			t.Fatal(err)
		}
		r.Release()
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

var pqArrowOptions = map[string][]pq.WriterProperty{
	"v1-snappy-dict": {pq.WithDataPageVersion(pq.DataPageV1), pq.WithCompression(compress.Codecs.Snappy),
		pq.WithDictionaryDefault(true), pq.WithDataPageSize(256), pq.WithBatchSize(64)},
	// Arrow Go v17 cuts v2 pages of list columns inside a row, which the
	// format forbids and parquet-go rejects: keep its v2 pages large.
	"v2-zstd-plain": {pq.WithDataPageVersion(pq.DataPageV2), pq.WithCompression(compress.Codecs.Zstd),
		pq.WithDictionaryDefault(false), pq.WithDataPageSize(1 << 20), pq.WithBatchSize(50)},
}

// parquet-go fixtures ----------------------------------------------------

type pgRow struct {
	I8    *int8     `parquet:"i8,optional"`
	I16   int16     `parquet:"i16"`
	U8    *uint8    `parquet:"u8,optional"`
	U16   uint16    `parquet:"u16"`
	U32   *uint32   `parquet:"u32,optional"`
	U64   uint64    `parquet:"u64"`
	I32   *int32    `parquet:"i32,optional"`
	I64   int64     `parquet:"i64"`
	B     *bool     `parquet:"b,optional"`
	D32   *int32    `parquet:"d32,optional,date"`
	TS    *int64    `parquet:"ts,optional,timestamp(millisecond)"`
	F32   *float32  `parquet:"f32,optional"`
	F64   *float64  `parquet:"f64,optional"`
	S     *string   `parquet:"s,optional,dict"`
	Plain *string   `parquet:"plain,optional"`
	Enum  string    `parquet:"enum,enum"`
	Bin   []byte    `parquet:"bin"`
	LF64  []float64 `parquet:"lf64,list"`
	LS    []string  `parquet:"ls,list,dict"`
	Rep   []int32   `parquet:"rep"`
	I96   [12]byte  `parquet:"fixed"`
}

func ptr[T any](v T) *T { return &v }

// pgTable returns n rows and the expected cells per column name.
func pgTable(n int) ([]pgRow, map[string][]any) {
	exp := map[string][]any{}
	add := func(name string, v any) { exp[name] = append(exp[name], v) }
	rows := make([]pgRow, n)
	words := []string{"red", "green", "blue", "cyan", "magenta", "yellow", ""}
	for i := range rows {
		r := &rows[i]
		x := int64(i)
		nul := func(k int) bool { return i%k == 2 }
		if !nul(5) {
			r.I8 = ptr(int8(x * 31))
			add("i8", int64(int8(x*31)))
		} else {
			add("i8", nil)
		}
		r.I16 = int16(x * 999)
		add("i16", int64(int16(x*999)))
		if !nul(3) {
			r.U8 = ptr(uint8(x * 7))
			add("u8", int64(uint8(x*7)))
		} else {
			add("u8", nil)
		}
		r.U16 = uint16(x * 4001)
		add("u16", int64(uint16(x*4001)))
		if !nul(4) {
			r.U32 = ptr(uint32(x * 2654435761))
			add("u32", int64(uint32(x*2654435761)))
		} else {
			add("u32", nil)
		}
		r.U64 = uint64(x) * 0x9E3779B97F4A7C15
		add("u64", int64(uint64(x)*0x9E3779B97F4A7C15))
		if !nul(7) {
			r.I32 = ptr(int32(x*7919) - 100000)
			add("i32", int64(int32(x*7919)-100000))
		} else {
			add("i32", nil)
		}
		r.I64 = x*1_000_003 - 77
		add("i64", x*1_000_003-77)
		if !nul(6) {
			r.B = ptr(i%4 == 1)
			add("b", i%4 == 1)
		} else {
			add("b", nil)
		}
		if !nul(8) {
			r.D32 = ptr(int32(19000 + i))
			add("d32", int64(19000+i))
		} else {
			add("d32", nil)
		}
		if !nul(9) {
			r.TS = ptr(1_600_000_000_000 + x)
			add("ts", 1_600_000_000_000+x)
		} else {
			add("ts", nil)
		}
		if !nul(10) {
			r.F32 = ptr(float32(x) / 4)
			add("f32", float32(x)/4)
		} else {
			add("f32", nil)
		}
		if !nul(3) {
			r.F64 = ptr(float64(x)/3 - 7)
			add("f64", float64(x)/3-7)
		} else {
			add("f64", nil)
		}
		if !nul(4) {
			r.S = ptr(words[i%len(words)])
			add("s", words[i%len(words)])
		} else {
			add("s", nil)
		}
		if !nul(5) {
			r.Plain = ptr(fmt.Sprintf("row-%d", i))
			add("plain", fmt.Sprintf("row-%d", i))
		} else {
			add("plain", nil)
		}
		r.Enum = words[(i/3)%len(words)]
		add("enum", r.Enum)
		r.Bin = []byte{byte(i), byte(i >> 8), 0xFF}
		add("bin", string(r.Bin))
		var l, ls, rep []any
		for j := 0; j < i%5; j++ {
			r.LF64 = append(r.LF64, float64(i)*0.5+float64(j))
			l = append(l, float64(i)*0.5+float64(j))
			r.LS = append(r.LS, words[(i+j)%len(words)])
			ls = append(ls, words[(i+j)%len(words)])
		}
		for j := 0; j < (i+2)%4; j++ {
			r.Rep = append(r.Rep, int32(i-j))
			rep = append(rep, int64(i-j))
		}
		add("lf64", orEmpty(l))
		add("ls", orEmpty(ls))
		add("rep", orEmpty(rep))
	}
	return rows, exp
}

func orEmpty(l []any) []any {
	if l == nil {
		return []any{}
	}
	return l
}

func writePG(t testing.TB, path string, rows []pgRow, opts ...parquet.WriterOption) {
	var buf bytes.Buffer
	w := parquet.NewGenericWriter[pgRow](&buf, opts...)
	// Write in slices so that MaxRowsPerRowGroup cuts row groups.
	for lo := 0; lo < len(rows); lo += 100 {
		if _, err := w.Write(rows[lo:min(lo+100, len(rows))]); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

var pgOptions = map[string][]parquet.WriterOption{
	"v1-snappy": {parquet.DataPageVersion(1), parquet.Compression(&parquet.Snappy), parquet.PageBufferSize(256),
		parquet.MaxRowsPerRowGroup(300)},
	"v2-zstd": {parquet.DataPageVersion(2), parquet.Compression(&parquet.Zstd), parquet.PageBufferSize(512),
		parquet.MaxRowsPerRowGroup(256)},
	"v2-uncompressed-dictfallback": {parquet.DataPageVersion(2), parquet.PageBufferSize(200),
		parquet.DictionaryMaxBytes(64), parquet.MaxRowsPerRowGroup(1000)},
}

// reading ------------------------------------------------------------------

// cell returns row i of c as a test value.
func cell(c *Column, i int) any {
	if c.Null(i) {
		return nil
	}
	if c.Elem != nil {
		l := []any{}
		for j := c.Offsets[i]; j < c.Offsets[i+1]; j++ {
			l = append(l, cell(c.Elem, j))
		}
		return l
	}
	switch {
	case c.Bools != nil:
		return c.Bools[i]
	case c.Ints != nil:
		return c.Ints[i]
	case c.F32 != nil:
		return c.F32[i]
	case c.F64 != nil:
		return c.F64[i]
	case c.Strs != nil, c.Codes != nil:
		return c.String(i)
	}
	panic(fmt.Sprintf("column %q has no values", c.Name))
}

// readAll reads every unit of a file and returns the cells per column. It
// checks the chunk invariants on the way.
func readAll(t testing.TB, f *File, columns []string, batchRows int) map[string][]any {
	t.Helper()
	got := map[string][]any{}
	var next int64
	for u := 0; u < f.NumUnits(); u++ {
		err := f.ReadUnit(context.Background(), u, columns, batchRows, func(c *Chunk) error {
			if c.Path != f.Path() {
				t.Fatalf("chunk path %q", c.Path)
			}
			if f.Format() != IPCStream && c.RowGroup != u {
				t.Fatalf("chunk row group %d in unit %d", c.RowGroup, u)
			}
			if c.FirstRow != next {
				t.Fatalf("unit %d: FirstRow %d, want %d", u, c.FirstRow, next)
			}
			if batchRows > 0 && c.Len > batchRows {
				t.Fatalf("chunk of %d rows, batchRows %d", c.Len, batchRows)
			}
			next += int64(c.Len)
			if len(c.Columns) != len(columns) {
				t.Fatalf("%d columns", len(c.Columns))
			}
			for k, col := range c.Columns {
				checkColumn(t, col, c.Len)
				if col.Name != columns[k] {
					t.Fatalf("column %d named %q, want %q", k, col.Name, columns[k])
				}
				for i := 0; i < c.Len; i++ {
					got[col.Name] = append(got[col.Name], cell(col, i))
				}
			}
			return nil
		})
		if err != nil {
			t.Fatalf("unit %d: %v", u, err)
		}
	}
	if n := f.NumRows(); n >= 0 && n != next {
		t.Fatalf("NumRows %d, read %d", n, next)
	}
	return got
}

func checkColumn(t testing.TB, c *Column, n int) {
	t.Helper()
	if c.Len != n {
		t.Fatalf("column %q: Len %d, chunk %d", c.Name, c.Len, n)
	}
	if c.Valid != nil {
		if len(c.Valid) != n {
			t.Fatalf("column %q: %d validity entries", c.Name, len(c.Valid))
		}
		if !hasFalse(c.Valid) {
			t.Fatalf("column %q: Valid set without nulls", c.Name)
		}
	}
	if c.Elem != nil {
		if len(c.Offsets) != n+1 || c.Offsets[0] != 0 || c.Offsets[n] != c.Elem.Len {
			t.Fatalf("column %q: offsets %v (elem len %d)", c.Name, c.Offsets, c.Elem.Len)
		}
		for i := 0; i < n; i++ {
			if c.Null(i) && c.Offsets[i] != c.Offsets[i+1] {
				t.Fatalf("column %q: null list %d owns slots", c.Name, i)
			}
		}
		checkColumn(t, c.Elem, c.Elem.Len)
	}
}

func compareCells(t testing.TB, name string, got, want []any) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("column %q: %d rows, want %d", name, len(got), len(want))
	}
	for i := range want {
		if !reflect.DeepEqual(got[i], want[i]) {
			t.Fatalf("column %q row %d: got %#v, want %#v", name, i, got[i], want[i])
		}
	}
}

func tempPath(t testing.TB, name string) string {
	return filepath.Join(t.TempDir(), name)
}
