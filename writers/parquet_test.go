package writers

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/memory"
	"github.com/apache/arrow/go/v17/parquet/file"
	"github.com/apache/arrow/go/v17/parquet/metadata"
	"github.com/apache/arrow/go/v17/parquet/pqarrow"
	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/format"

	"github.com/evaljob/evaljob/evalerr"
)

// The columns a summary or per-row file can hold.
var testSchema = arrow.NewSchema([]arrow.Field{
	{Name: "model", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "k8", Type: arrow.PrimitiveTypes.Int8, Nullable: true},
	{Name: "k32", Type: arrow.PrimitiveTypes.Int32, Nullable: true},
	{Name: "ku64", Type: arrow.PrimitiveTypes.Uint64, Nullable: true},
	{Name: "day", Type: arrow.FixedWidthTypes.Date32, Nullable: true},
	{Name: "flag", Type: arrow.FixedWidthTypes.Boolean, Nullable: true},
	{Name: "group_set", Type: arrow.BinaryTypes.String},
	{Name: "rows", Type: arrow.PrimitiveTypes.Int64},
	{Name: "cross_entropy", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
	{Name: "calibration_weight", Type: arrow.ListOf(arrow.PrimitiveTypes.Float64), Nullable: true},
}, nil)

const testRows = 1000

// testRecord builds testRows rows; row i is a pure function of i.
func testRecord(mem memory.Allocator) arrow.Record {
	b := array.NewRecordBuilder(mem, testSchema)
	defer b.Release()
	models := []string{"a", "b", "long-model-name-é"}
	for i := 0; i < testRows; i++ {
		if i%7 == 3 {
			b.Field(0).AppendNull()
			b.Field(1).AppendNull()
			b.Field(2).AppendNull()
			b.Field(3).AppendNull()
			b.Field(4).AppendNull()
			b.Field(5).AppendNull()
		} else {
			b.Field(0).(*array.StringBuilder).Append(models[i%3])
			b.Field(1).(*array.Int8Builder).Append(int8(i%256 - 128))
			b.Field(2).(*array.Int32Builder).Append(int32(i*1000 - 7))
			b.Field(3).(*array.Uint64Builder).Append(math.MaxUint64 - uint64(i))
			b.Field(4).(*array.Date32Builder).Append(arrow.Date32(20412 + i%40))
			b.Field(5).(*array.BooleanBuilder).Append(i%2 == 0)
		}
		b.Field(6).(*array.StringBuilder).Append([]string{"", "model", "model,slice"}[i%3])
		b.Field(7).(*array.Int64Builder).Append(int64(i) * 1_000_003)
		ce := b.Field(8).(*array.Float64Builder)
		switch {
		case i%11 == 5:
			ce.AppendNull()
		case i%13 == 6:
			ce.Append(math.Inf(1))
		default:
			ce.Append(float64(i) / 7)
		}
		lb := b.Field(9).(*array.ListBuilder)
		vb := lb.ValueBuilder().(*array.Float64Builder)
		switch i % 5 {
		case 0:
			lb.AppendNull()
		case 1:
			lb.Append(true) // empty list
		default:
			lb.Append(true)
			for k := 0; k < i%5; k++ {
				vb.Append(float64(i) + float64(k)/4)
			}
		}
	}
	return b.NewRecord()
}

// writeParquet writes rec split into records of the given lengths (the
// rest in one record) and returns the file's bytes.
func writeParquet(t *testing.T, mem memory.Allocator, rec arrow.Record, split []int64, opts ...ParquetOption) []byte {
	t.Helper()
	var buf bytes.Buffer
	pw, err := NewParquetWriter(&buf, rec.Schema(), append([]ParquetOption{WithAllocator(mem)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	off := int64(0)
	for _, n := range append(split, rec.NumRows()) {
		end := min(off+n, rec.NumRows())
		s := rec.NewSlice(off, end)
		err := pw.Write(s)
		s.Release()
		if err != nil {
			t.Fatal(err)
		}
		off = end
	}
	if got := pw.Rows(); got != rec.NumRows() {
		t.Errorf("Rows() = %d, want %d", got, rec.NumRows())
	}
	if err := pw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestParquetBytesDoNotDependOnBatching(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	rec := testRecord(mem)
	defer rec.Release()

	for _, rg := range []int64{0, 300} { // 0: default, one row group
		opts := []ParquetOption{WithRowGroupRows(rg)}
		want := writeParquet(t, mem, rec, nil, opts...)
		for _, split := range [][]int64{nil, {1}, {299, 1, 1, 298}, {7, 7, 7, 500}, {333, 333}} {
			if got := writeParquet(t, mem, rec, split, opts...); !bytes.Equal(got, want) {
				t.Errorf("row groups %d, split %v: %d bytes differ from one write's %d", rg, split, len(got), len(want))
			}
		}
	}
}

func TestParquetReadBackWithArrow(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	rec := testRecord(mem)
	defer rec.Release()
	data := writeParquet(t, mem, rec, []int64{123, 456}, WithRowGroupRows(300))

	tbl, err := pqarrow.ReadTable(context.Background(), bytes.NewReader(data), nil, pqarrow.ArrowReadProperties{BatchSize: 64}, mem)
	if err != nil {
		t.Fatal(err)
	}
	defer tbl.Release()
	checkSchema(t, tbl.Schema())
	if tbl.NumRows() != testRows {
		t.Fatalf("%d rows, want %d", tbl.NumRows(), testRows)
	}
	for i := 0; i < int(tbl.NumCols()); i++ {
		col, err := array.Concatenate(tbl.Column(i).Data().Chunks(), mem)
		if err != nil {
			t.Fatal(err)
		}
		if !array.Equal(col, rec.Column(i)) {
			t.Errorf("column %s differs after the round trip", testSchema.Field(i).Name)
		}
		col.Release()
	}
}

func TestParquetReadBackWithParquetGo(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	rec := testRecord(mem)
	defer rec.Release()
	data := writeParquet(t, mem, rec, []int64{10}, WithRowGroupRows(300))

	f, err := parquet.OpenFile(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	md := f.Metadata()
	if md.CreatedBy != CreatedBy {
		t.Errorf("created_by %q", md.CreatedBy)
	}
	if f.NumRows() != testRows {
		t.Errorf("%d rows", f.NumRows())
	}
	if len(md.RowGroups) != 4 { // 300+300+300+100
		t.Errorf("%d row groups, want 4", len(md.RowGroups))
	}
	if _, ok := f.Lookup("ARROW:schema"); !ok {
		t.Error("no ARROW:schema in the footer")
	}
	for _, rg := range md.RowGroups {
		for _, cc := range rg.Columns {
			m := cc.MetaData
			if m.Codec != format.Zstd {
				t.Errorf("column %v: codec %v, want ZSTD", m.PathInSchema, m.Codec)
			}
			st := m.Statistics
			if m.PathInSchema[0] == "ku64" { // unsigned: none (TestParquetUnsignedNoStats)
				if st.MinValue != nil || st.MaxValue != nil {
					t.Errorf("column %v: min/max statistics", m.PathInSchema)
				}
				continue
			}
			if st.MinValue == nil || len(st.MaxValue) == 0 {
				t.Errorf("column %v: no min/max statistics", m.PathInSchema)
			}
		}
	}
	// Null counts and min/max of cross_entropy in the first row group.
	ce, ok := f.Schema().Lookup("cross_entropy")
	if !ok {
		t.Fatal("no cross_entropy leaf")
	}
	st := md.RowGroups[0].Columns[ce.ColumnIndex].MetaData.Statistics
	var wantNulls int64
	for i := 0; i < 300; i++ {
		if i%11 == 5 {
			wantNulls++
		}
	}
	if st.NullCount != wantNulls {
		t.Errorf("cross_entropy null count %d, want %d", st.NullCount, wantNulls)
	}
	if got := math.Float64frombits(leUint64(st.MaxValue)); !math.IsInf(got, 1) {
		t.Errorf("cross_entropy max %v, want +Inf", got)
	}

	// Every value, row by row.
	leaf := func(name string) int {
		path := []string{name}
		if name == "calibration_weight" {
			path = []string{name, "list", "element"}
		}
		c, ok := f.Schema().Lookup(path...)
		if !ok {
			t.Fatalf("no leaf %v", path)
		}
		return c.ColumnIndex
	}
	col := map[string]int{}
	for _, fl := range testSchema.Fields() {
		col[fl.Name] = leaf(fl.Name)
	}
	row := 0
	for _, rg := range f.RowGroups() {
		rows := rg.Rows()
		buf := make([]parquet.Row, 64)
		for {
			n, err := rows.ReadRows(buf)
			for _, r := range buf[:n] {
				checkParquetGoRow(t, rec, row, r, col)
				row++
			}
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
		}
		rows.Close()
	}
	if row != testRows {
		t.Errorf("read %d rows, want %d", row, testRows)
	}
}

func checkParquetGoRow(t *testing.T, rec arrow.Record, i int, r parquet.Row, col map[string]int) {
	t.Helper()
	vals := map[int][]parquet.Value{}
	for _, v := range r {
		vals[v.Column()] = append(vals[v.Column()], v)
	}
	one := func(name string) parquet.Value {
		vs := vals[col[name]]
		if len(vs) != 1 {
			t.Fatalf("row %d column %s: %d values", i, name, len(vs))
		}
		return vs[0]
	}
	fail := func(name string, got, want any) {
		t.Errorf("row %d column %s: parquet-go read %v, want %v", i, name, got, want)
	}
	for c, fl := range testSchema.Fields() {
		a := rec.Column(c)
		if fl.Name == "calibration_weight" {
			continue
		}
		v := one(fl.Name)
		if a.IsNull(i) != v.IsNull() {
			fail(fl.Name, v, "null="+map[bool]string{true: "true", false: "false"}[a.IsNull(i)])
			continue
		}
		if v.IsNull() {
			continue
		}
		switch a := a.(type) {
		case *array.String:
			if string(v.ByteArray()) != a.Value(i) {
				fail(fl.Name, string(v.ByteArray()), a.Value(i))
			}
		case *array.Int8:
			if v.Int32() != int32(a.Value(i)) {
				fail(fl.Name, v.Int32(), a.Value(i))
			}
		case *array.Int32:
			if v.Int32() != a.Value(i) {
				fail(fl.Name, v.Int32(), a.Value(i))
			}
		case *array.Uint64:
			if v.Uint64() != a.Value(i) {
				fail(fl.Name, v.Uint64(), a.Value(i))
			}
		case *array.Date32:
			if v.Int32() != int32(a.Value(i)) {
				fail(fl.Name, v.Int32(), a.Value(i))
			}
		case *array.Boolean:
			if v.Boolean() != a.Value(i) {
				fail(fl.Name, v.Boolean(), a.Value(i))
			}
		case *array.Int64:
			if v.Int64() != a.Value(i) {
				fail(fl.Name, v.Int64(), a.Value(i))
			}
		case *array.Float64:
			if v.Double() != a.Value(i) {
				fail(fl.Name, v.Double(), a.Value(i))
			}
		default:
			t.Fatalf("unhandled %T", a)
		}
	}
	// The list: null list has one value at definition level 0, an empty
	// list one at level 1, elements are at level 3 (list, element nullable).
	lst := rec.Column(9).(*array.List)
	vs := vals[col["calibration_weight"]]
	switch {
	case lst.IsNull(i):
		if len(vs) != 1 || vs[0].DefinitionLevel() != 0 {
			fail("calibration_weight", vs, "null")
		}
	default:
		start, end := lst.ValueOffsets(i)
		elems := lst.ListValues().(*array.Float64)
		if end == start {
			if len(vs) != 1 || !vs[0].IsNull() || vs[0].DefinitionLevel() != 1 {
				fail("calibration_weight", vs, "[]")
			}
			return
		}
		if len(vs) != int(end-start) {
			fail("calibration_weight", vs, end-start)
			return
		}
		for k, v := range vs {
			if v.Double() != elems.Value(int(start)+k) {
				fail("calibration_weight", v.Double(), elems.Value(int(start)+k))
			}
		}
	}
}

// checkSchema compares names, nullability and types (metadata such as
// PARQUET:field_id and list element names aside).
func checkSchema(t *testing.T, got *arrow.Schema) {
	t.Helper()
	if got.NumFields() != testSchema.NumFields() {
		t.Fatalf("schema read back:\n%s\nwant\n%s", got, testSchema)
	}
	for i, want := range testSchema.Fields() {
		g := got.Field(i)
		if g.Name != want.Name || g.Nullable != want.Nullable || !arrow.TypeEqual(g.Type, want.Type) {
			t.Errorf("field %d read back as %s, want %s", i, g, want)
		}
	}
}

func leUint64(b []byte) uint64 {
	var u uint64
	for i := len(b) - 1; i >= 0; i-- {
		u = u<<8 | uint64(b[i])
	}
	return u
}

func TestParquetEmptyFile(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	var buf bytes.Buffer
	pw, err := NewParquetWriter(&buf, testSchema, WithAllocator(mem))
	if err != nil {
		t.Fatal(err)
	}
	if err := pw.Close(); err != nil {
		t.Fatal(err)
	}
	tbl, err := pqarrow.ReadTable(context.Background(), bytes.NewReader(buf.Bytes()), nil, pqarrow.ArrowReadProperties{BatchSize: 64}, mem)
	if err != nil {
		t.Fatal(err)
	}
	defer tbl.Release()
	checkSchema(t, tbl.Schema())
	if tbl.NumRows() != 0 {
		t.Fatalf("empty file reads back as %d rows", tbl.NumRows())
	}
}

func TestParquetSchemaMismatch(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	rec := testRecord(mem)
	defer rec.Release()
	other := arrow.NewSchema([]arrow.Field{{Name: "x", Type: arrow.PrimitiveTypes.Int64}}, nil)
	pw, err := NewParquetWriter(io.Discard, other, WithAllocator(mem))
	if err != nil {
		t.Fatal(err)
	}
	if err := pw.Write(rec); !errors.Is(err, evalerr.ErrOutput) {
		t.Errorf("Write error %v", err)
	}
	if err := pw.Close(); !errors.Is(err, evalerr.ErrOutput) {
		t.Errorf("Close error %v", err)
	}
}

// errWriter fails after limit bytes.
type errWriter struct{ n, limit int }

func (w *errWriter) Write(p []byte) (int, error) {
	if w.n+len(p) > w.limit {
		return 0, errors.New("device on fire")
	}
	w.n += len(p)
	return len(p), nil
}

func TestParquetWriteErrorIsOutputError(t *testing.T) {
	// After a failed write the Parquet writer may keep references to the
	// record's buffers (it panics inside and is recovered), so this test
	// leaves them to the garbage collector instead of a checked allocator.
	rec := testRecord(memory.NewGoAllocator())
	defer rec.Release()
	for _, limit := range []int{0, 100, 3000} {
		pw, err := NewParquetWriter(&errWriter{limit: limit}, testSchema, WithRowGroupRows(100))
		if err != nil {
			if !errors.Is(err, evalerr.ErrOutput) {
				t.Errorf("limit %d: NewParquetWriter error %v", limit, err)
			}
			continue
		}
		werr := pw.Write(rec)
		cerr := pw.Close()
		if !errors.Is(werr, evalerr.ErrOutput) && !errors.Is(cerr, evalerr.ErrOutput) {
			t.Errorf("limit %d: Write %v, Close %v; want an output error", limit, werr, cerr)
		}
	}
}

// TestParquetToStagedDiskFull writes through a Staged file on /dev/full: the
// error names the output and Commit publishes nothing.
func TestParquetToStagedDiskFull(t *testing.T) {
	full, err := os.OpenFile("/dev/full", os.O_WRONLY, 0)
	if err != nil {
		t.Skip("no /dev/full:", err)
	}
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	rec := testRecord(mem)
	defer rec.Release()
	dir := t.TempDir()
	d, err := OpenDir(dir, false, []string{"summary.parquet"})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Abort()
	s, err := d.Create("summary.parquet")
	if err != nil {
		t.Fatal(err)
	}
	s.f.Close()
	s.f = full
	s.buf.Reset(full)
	pw, err := NewParquetWriter(s, testSchema, WithAllocator(mem))
	if err != nil {
		t.Fatal(err)
	}
	pw.Write(rec)
	err = pw.Close()
	if err == nil {
		_, err = d.Commit()
	}
	if !errors.Is(err, evalerr.ErrOutput) || !bytes.Contains([]byte(err.Error()), []byte(filepath.Join(dir, "summary.parquet"))) {
		t.Fatalf("error %v, want an output error naming summary.parquet", err)
	}
	if _, err := d.Commit(); err == nil {
		t.Fatal("Commit after a failed write succeeded")
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Fatalf("folder not empty: %v", ents)
	}
}

func TestParquetThroughDirIsDeterministic(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	rec := testRecord(mem)
	defer rec.Release()
	var sums []string
	for run := 0; run < 2; run++ {
		dir := t.TempDir()
		d, err := OpenDir(dir, false, []string{"summary.parquet"})
		if err != nil {
			t.Fatal(err)
		}
		s, err := d.Create("summary.parquet")
		if err != nil {
			t.Fatal(err)
		}
		pw, err := NewParquetWriter(s, testSchema, WithAllocator(mem), WithRowGroupRows(250))
		if err != nil {
			t.Fatal(err)
		}
		if err := pw.Write(rec); err != nil {
			t.Fatal(err)
		}
		if err := pw.Close(); err != nil {
			t.Fatal(err)
		}
		pub, err := d.Commit()
		if err != nil {
			t.Fatal(err)
		}
		data, _ := os.ReadFile(pub[0].Path)
		if int64(len(data)) != pub[0].Bytes {
			t.Errorf("published %d bytes, file has %d", pub[0].Bytes, len(data))
		}
		sums = append(sums, pub[0].SHA256)
	}
	if sums[0] != sums[1] {
		t.Errorf("two runs wrote different files: %s, %s", sums[0], sums[1])
	}
}

// fslRecord has a FixedSizeList<float64>[3] column with a null element in
// some rows and, with nullRows, null entries.
func fslRecord(mem memory.Allocator, nullRows bool) arrow.Record {
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "probs", Type: arrow.FixedSizeListOf(3, arrow.PrimitiveTypes.Float64), Nullable: true},
	}, nil)
	b := array.NewRecordBuilder(mem, schema)
	defer b.Release()
	lb := b.Field(1).(*array.FixedSizeListBuilder)
	vb := lb.ValueBuilder().(*array.Float64Builder)
	for i := 0; i < 50; i++ {
		b.Field(0).(*array.Int64Builder).Append(int64(i))
		if nullRows && i%7 == 2 {
			lb.AppendNull()
			continue
		}
		lb.Append(true)
		vb.Append(float64(i))
		if i%5 == 0 {
			vb.AppendNull()
		} else {
			vb.Append(0.5)
		}
		vb.Append(math.Inf(1))
	}
	return b.NewRecord()
}

func TestParquetFixedSizeList(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	rec := fslRecord(mem, false)
	defer rec.Release()
	data := writeParquet(t, mem, rec, []int64{3, 17}, WithRowGroupRows(20))
	if again := writeParquet(t, mem, rec, nil, WithRowGroupRows(20)); !bytes.Equal(data, again) {
		t.Error("FixedSizeList file depends on batching")
	}
	tbl, err := pqarrow.ReadTable(context.Background(), bytes.NewReader(data), nil, pqarrow.ArrowReadProperties{BatchSize: 64}, mem)
	if err != nil {
		t.Fatal(err)
	}
	defer tbl.Release()
	want := rec.Schema().Field(1).Type
	if got := tbl.Schema().Field(1).Type; !arrow.TypeEqual(got, want) {
		t.Fatalf("probs read back as %s, want %s", got, want)
	}
	for i := 0; i < 2; i++ {
		col, err := array.Concatenate(tbl.Column(i).Data().Chunks(), mem)
		if err != nil {
			t.Fatal(err)
		}
		if !array.Equal(col, rec.Column(i)) {
			t.Errorf("column %d differs after the round trip:\n got %v\nwant %v", i, col, rec.Column(i))
		}
		col.Release()
	}
}

// TestParquetFixedSizeListNullRows: null entries are null lists in the
// file (Arrow Go v17's own reader cannot rebuild a FixedSizeList with null
// entries from Parquet; parquet-go, DuckDB and pyarrow read them).
func TestParquetFixedSizeListNullRows(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	rec := fslRecord(mem, true)
	defer rec.Release()
	data := writeParquet(t, mem, rec, []int64{3, 17}, WithRowGroupRows(20))
	f, err := parquet.OpenFile(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	row := 0
	fsl := rec.Column(1).(*array.FixedSizeList)
	elems := fsl.ListValues().(*array.Float64)
	for _, rg := range f.RowGroups() {
		rows := rg.Rows()
		buf := make([]parquet.Row, 8)
		for {
			n, err := rows.ReadRows(buf)
			for _, r := range buf[:n] {
				var vs []parquet.Value
				for _, v := range r {
					if v.Column() == 1 {
						vs = append(vs, v)
					}
				}
				if fsl.IsNull(row) {
					if len(vs) != 1 || vs[0].DefinitionLevel() != 0 {
						t.Errorf("row %d: %v, want a null list", row, vs)
					}
				} else if len(vs) != 3 {
					t.Errorf("row %d: %d values, want 3", row, len(vs))
				} else {
					for k, v := range vs {
						j := row*3 + k
						if v.IsNull() != elems.IsNull(j) || (!v.IsNull() && v.Double() != elems.Value(j)) {
							t.Errorf("row %d element %d: %v", row, k, v)
						}
					}
				}
				row++
			}
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
		}
		rows.Close()
	}
	if row != 50 {
		t.Errorf("%d rows", row)
	}
}

// TestParquetManyDistinctStrings: a string column whose distinct values
// pass Arrow's default dictionary limit (1 MB), and one that passes the
// writer's bound on a row group's dictionary bytes (here 64 KB), stay
// dictionary encoded, the second in row groups cut before the bound: every
// column chunk has one data page encoding, the file the same bytes on every
// write, and the values read back. A chunk that falls back to plain pages
// has two encodings, whose page counts Arrow v17 lists in Go map order: the
// bytes differed about every second write.
func TestParquetManyDistinctStrings(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	schema := arrow.NewSchema([]arrow.Field{{Name: "id", Type: arrow.BinaryTypes.String, Nullable: true}}, nil)
	for _, c := range []struct {
		rows      int
		dictBytes int64
		minGroups int
	}{
		{60000, 0, 1},        // 60k distinct keys of 40 bytes: 2.6 MB, under the default bound
		{12000, 64 << 10, 8}, // 12k of 40 bytes in row groups of at most 64 KB of them
	} {
		b := array.NewRecordBuilder(mem, schema)
		for i := range c.rows {
			if i%97 == 5 {
				b.Field(0).AppendNull()
				continue
			}
			b.Field(0).(*array.StringBuilder).Append(fmt.Sprintf("request-%031d", i))
		}
		rec := b.NewRecord()
		b.Release()
		var first []byte
		for i := range 8 {
			var buf bytes.Buffer
			pw, err := NewParquetWriter(&buf, schema, WithAllocator(mem), WithDictionaryBytes(c.dictBytes))
			if err != nil {
				t.Fatal(err)
			}
			for off := int64(0); off < rec.NumRows(); off += 1000 { // in records of 1000 rows
				part := rec.NewSlice(off, min(off+1000, rec.NumRows()))
				err := pw.Write(part)
				part.Release()
				if err != nil {
					t.Fatal(err)
				}
			}
			if err := pw.Close(); err != nil {
				t.Fatal(err)
			}
			if i > 0 {
				if !bytes.Equal(buf.Bytes(), first) {
					t.Fatalf("%d rows: write %d: the bytes differ from the first write's", c.rows, i)
				}
				continue
			}
			first = buf.Bytes()
			f, err := parquet.OpenFile(bytes.NewReader(first), int64(len(first)))
			if err != nil {
				t.Fatal(err)
			}
			groups := f.Metadata().RowGroups
			if len(groups) < c.minGroups {
				t.Errorf("%d rows: %d row groups, want at least %d", c.rows, len(groups), c.minGroups)
			}
			for _, rg := range groups {
				m := rg.Columns[0].MetaData
				data := 0
				for _, st := range m.EncodingStats {
					if st.PageType == format.DataPage {
						data++
					}
				}
				if data != 1 {
					t.Fatalf("%d rows: %d data page encodings (%v): the dictionary fell back to plain pages", c.rows, data, m.EncodingStats)
				}
			}
			got := readStrings(t, f)
			if len(got) != c.rows {
				t.Fatalf("%d rows: read back %d", c.rows, len(got))
			}
			col := rec.Column(0).(*array.String)
			for r, v := range got {
				if want := col.Value(r); col.IsValid(r) && v != want || col.IsNull(r) && v != "<null>" {
					t.Fatalf("%d rows: row %d is %q, want %q", c.rows, r, v, want)
				}
			}
		}
		rec.Release()
	}
}

// readStrings reads the first column of f as strings ("<null>" for null).
func readStrings(t *testing.T, f *parquet.File) []string {
	t.Helper()
	var out []string
	for _, rg := range f.RowGroups() {
		pages := rg.ColumnChunks()[0].Pages()
		for {
			pg, err := pages.ReadPage()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			vals := make([]parquet.Value, pg.NumValues())
			n, _ := pg.Values().ReadValues(vals)
			for _, v := range vals[:n] {
				if v.IsNull() {
					out = append(out, "<null>")
				} else {
					out = append(out, v.String())
				}
			}
		}
		pages.Close()
	}
	return out
}

// flatRecord is testRecord without its list column, with more flat types
// beside (float32, a timestamp, small and unsigned ints, binary), over n
// rows; row i is a pure function of i.
func flatRecord(t *testing.T, mem memory.Allocator, n int) arrow.Record {
	t.Helper()
	base := testRecord(mem)
	defer base.Release()
	fields := append(slices.Clone(base.Schema().Fields()[:9]),
		arrow.Field{Name: "f32", Type: arrow.PrimitiveTypes.Float32, Nullable: true},
		arrow.Field{Name: "ts", Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}},
		arrow.Field{Name: "i16", Type: arrow.PrimitiveTypes.Int16},
		arrow.Field{Name: "u32", Type: arrow.PrimitiveTypes.Uint32, Nullable: true},
		arrow.Field{Name: "bin", Type: arrow.BinaryTypes.Binary, Nullable: true})
	schema := arrow.NewSchema(fields, nil)
	b := array.NewRecordBuilder(mem, schema)
	defer b.Release()
	for i := range n {
		j := int64(i % testRows)
		for c := range 9 {
			col := base.Column(c)
			if col.IsNull(int(j)) {
				b.Field(c).AppendNull()
				continue
			}
			switch a := col.(type) {
			case *array.String:
				b.Field(c).(*array.StringBuilder).Append(a.Value(int(j)))
			case *array.Int8:
				b.Field(c).(*array.Int8Builder).Append(a.Value(int(j)))
			case *array.Int32:
				b.Field(c).(*array.Int32Builder).Append(a.Value(int(j)))
			case *array.Uint64:
				b.Field(c).(*array.Uint64Builder).Append(a.Value(int(j)))
			case *array.Date32:
				b.Field(c).(*array.Date32Builder).Append(a.Value(int(j)))
			case *array.Boolean:
				b.Field(c).(*array.BooleanBuilder).Append(a.Value(int(j)))
			case *array.Int64:
				b.Field(c).(*array.Int64Builder).Append(a.Value(int(j)) + int64(i))
			case *array.Float64:
				b.Field(c).(*array.Float64Builder).Append(a.Value(int(j)) + float64(i)/3)
			default:
				t.Fatalf("column %d: %T", c, col)
			}
		}
		if i%9 == 4 {
			b.Field(9).AppendNull()
			b.Field(12).AppendNull()
			b.Field(13).AppendNull()
		} else {
			b.Field(9).(*array.Float32Builder).Append(float32(i) / 7)
			b.Field(12).(*array.Uint32Builder).Append(uint32(i) * 2654435761)
			b.Field(13).(*array.BinaryBuilder).Append([]byte{byte(i), byte(i >> 8), 0xff})
		}
		b.Field(10).(*array.TimestampBuilder).Append(arrow.Timestamp(1_700_000_000_000_000 + int64(i)*1_000_003))
		b.Field(11).(*array.Int16Builder).Append(int16(i))
	}
	return b.NewRecord()
}

// TestFlatWriterSameBytes: a schema of flat columns is written with its
// columns encoded concurrently (flatWriter), and the file is the bytes
// pqarrow.FileWriter writes: with nulls and without, many pages and row
// groups, row groups cut by the dictionary bound, one row and none.
func TestFlatWriterSameBytes(t *testing.T) {
	defer func() { flatColumns = true }()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	for _, tc := range []struct {
		name  string
		rows  int
		split []int64
		opts  []ParquetOption
	}{
		{"small", 1000, []int64{7, 300}, nil},
		{"pages and row groups", 300_000, []int64{65_536, 100_000}, []ParquetOption{WithRowGroupRows(90_000)}},
		{"dictionary bound", 20_000, nil, []ParquetOption{WithDictionaryBytes(3000)}},
		{"one row", 1, nil, nil},
		{"none", 0, nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := flatRecord(t, mem, tc.rows)
			defer rec.Release()
			nulls := arrow.NewSchema([]arrow.Field{{Name: "x", Type: arrow.Null, Nullable: true}}, nil)
			if !flatSchema(rec.Schema()) || flatSchema(testSchema) || flatSchema(nulls) {
				t.Fatal("flatSchema is wrong about the test schemas")
			}
			flatColumns = false
			want := writeParquet(t, mem, rec, tc.split, tc.opts...)
			flatColumns = true
			got := writeParquet(t, mem, rec, tc.split, tc.opts...)
			if !bytes.Equal(got, want) {
				t.Fatalf("%d bytes, pqarrow's %d: they differ", len(got), len(want))
			}
		})
	}
}

// TestParquetUnsignedNoStats: unsigned integer columns get no min/max
// statistics (Arrow v17 writes them as min MaxUint, max 0: with nulls
// through both writers, without through pqarrow.FileWriter.Write), the
// signed ones the right statistics.
func TestParquetUnsignedNoStats(t *testing.T) {
	defer func() { flatColumns = true }()
	mem := memory.NewGoAllocator()
	for _, n := range []int{2, 1000} { // without nulls, with
		rec := flatRecord(t, mem, n)
		for _, flat := range []bool{false, true} {
			flatColumns = flat
			r, err := file.NewParquetReader(bytes.NewReader(writeParquet(t, mem, rec, nil)))
			if err != nil {
				t.Fatal(err)
			}
			for col, want := range map[int]bool{1: true, 2: true, 3: false, 7: true, 11: true, 12: false} {
				md, err := r.MetaData().RowGroup(0).ColumnChunk(col)
				if err != nil {
					t.Fatal(err)
				}
				st, err := md.Statistics()
				if err != nil {
					t.Fatal(err)
				}
				if has := st != nil && st.HasMinMax(); has != want {
					t.Errorf("%d rows, flat %v: column %d has min/max statistics: %v", n, flat, col, has)
				}
			}
			if st, _ := r.MetaData().RowGroup(0).ColumnChunk(2); st != nil {
				s, _ := st.Statistics()
				if s, ok := s.(*metadata.Int32Statistics); ok && n == 2 && (s.Min() != -7 || s.Max() != 993) {
					t.Errorf("k32: min %d max %d, want -7 and 993", s.Min(), s.Max())
				}
			}
			r.Close()
		}
		rec.Release()
	}
}
