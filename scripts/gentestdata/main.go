// Command gentestdata writes evaljob's small test fixtures and their
// README. It is deterministic: every file is built from a fixed PCG seed of
// its own, so a re-run gives byte-identical files and adding a fixture does
// not change the others.
//
//	go run ./scripts/gentestdata -out testdata          # (re)write the fixtures
//	go run ./scripts/gentestdata -out testdata -check   # fail if they are stale
package main

import (
	"bytes"
	"encoding/base64"
	"flag"
	"fmt"
	"hash/fnv"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/flight"
	"github.com/apache/arrow/go/v17/arrow/ipc"
	"github.com/apache/arrow/go/v17/arrow/memory"
	"github.com/apache/arrow/go/v17/parquet"
	"github.com/apache/arrow/go/v17/parquet/compress"
	"github.com/apache/arrow/go/v17/parquet/pqarrow"
)

var mem = memory.DefaultAllocator

// format of a fixture file, from its extension.
type format int

const (
	parquetFile format = iota
	ipcFile            // .arrow
	ipcStream          // .arrows
)

// fixture is one generated file.
type fixture struct {
	path         string // relative to the output folder
	seed         string // names the random stream; "" = path (same seed, same rows)
	covers       string // which SPEC case, for the README
	rowGroupRows int64  // Parquet row group size; 0 = one row group
	batches      int    // IPC record batches (default 1)
	build        func(r *rand.Rand) *table
	ref          func() string // reference values for the README, or nil
}

// table is a list of named columns.
type table struct {
	fields []arrow.Field
	cols   []arrow.Array
}

func (t *table) add(name string, nullable bool, a arrow.Array) *table {
	t.fields = append(t.fields, arrow.Field{Name: name, Type: a.DataType(), Nullable: nullable})
	t.cols = append(t.cols, a)
	return t
}

func (t *table) record() arrow.Record {
	n := int64(0)
	if len(t.cols) > 0 {
		n = int64(t.cols[0].Len())
	}
	for i, c := range t.cols {
		if int64(c.Len()) != n {
			panic(fmt.Sprintf("column %s has %d rows, want %d", t.fields[i].Name, c.Len(), n))
		}
	}
	return array.NewRecord(arrow.NewSchema(t.fields, nil), t.cols, n)
}

func main() {
	out := flag.String("out", "testdata", "output folder")
	check := flag.Bool("check", false, "compare with the files in -out instead of writing; exit 1 when any differs")
	flag.Parse()
	files := map[string][]byte{}
	var order []string
	for _, f := range fixtures() {
		b, err := render(f)
		if err != nil {
			fmt.Fprintf(os.Stderr, "gentestdata: %s: %v\n", f.path, err)
			os.Exit(1)
		}
		files[f.path] = b
		order = append(order, f.path)
	}
	files["README.md"] = readme(files)
	order = append(order, "README.md")

	stale := 0
	for _, p := range order {
		full := filepath.Join(*out, filepath.FromSlash(p))
		old, err := os.ReadFile(full)
		if err == nil && bytes.Equal(old, files[p]) {
			continue
		}
		if *check {
			fmt.Fprintf(os.Stderr, "gentestdata: %s is stale or missing (run: go run ./scripts/gentestdata -out %s)\n", full, *out)
			stale++
			continue
		}
		if err := writeFile(full, files[p]); err != nil {
			fmt.Fprintf(os.Stderr, "gentestdata: %v\n", err)
			os.Exit(1)
		}
		fmt.Printf("wrote %s (%d bytes)\n", full, len(files[p]))
	}
	if stale > 0 {
		os.Exit(1)
	}
}

// writeFile replaces path atomically.
func writeFile(path string, b []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// seedOf gives every fixture its own stream.
func seedOf(path string) uint64 {
	h := fnv.New64a()
	io.WriteString(h, path)
	return h.Sum64()
}

func (f fixture) table() *table {
	key := f.seed
	if key == "" {
		key = f.path
	}
	return f.build(rand.New(rand.NewPCG(20261120, seedOf(key))))
}

func render(f fixture) ([]byte, error) {
	t := f.table()
	rec := t.record()
	defer rec.Release()
	var buf bytes.Buffer
	switch formatOf(f.path) {
	case parquetFile:
		opts := []parquet.WriterProperty{
			parquet.WithCompression(compress.Codecs.Snappy),
			parquet.WithCreatedBy("evaljob gentestdata"),
			parquet.WithStats(true),
		}
		chunk := rec.NumRows()
		if f.rowGroupRows > 0 {
			chunk = f.rowGroupRows
			opts = append(opts, parquet.WithMaxRowGroupLength(chunk))
		}
		rec = parquetView(rec)
		defer rec.Release()
		w, err := pqarrow.NewFileWriter(rec.Schema(), &buf, parquet.NewWriterProperties(opts...),
			pqarrow.NewArrowWriterProperties(storeSchema(rec.Schema())...))
		if err != nil {
			return nil, err
		}
		for off := int64(0); off < rec.NumRows(); off += chunk {
			s := rec.NewSlice(off, min(off+chunk, rec.NumRows()))
			err := w.Write(s)
			s.Release()
			if err != nil {
				return nil, err
			}
		}
		if err := w.Close(); err != nil {
			return nil, err
		}
	case ipcFile, ipcStream:
		var w interface {
			Write(arrow.Record) error
			Close() error
		}
		ws := &seekBuffer{}
		if formatOf(f.path) == ipcFile {
			fw, err := ipc.NewFileWriter(ws, ipc.WithSchema(rec.Schema()), ipc.WithAllocator(mem))
			if err != nil {
				return nil, err
			}
			w = fw
		} else {
			w = ipc.NewWriter(ws, ipc.WithSchema(rec.Schema()), ipc.WithAllocator(mem))
		}
		n := max(f.batches, 1)
		per := (rec.NumRows() + int64(n) - 1) / int64(n)
		for off := int64(0); off < rec.NumRows(); off += per {
			s := rec.NewSlice(off, min(off+per, rec.NumRows()))
			err := w.Write(s)
			s.Release()
			if err != nil {
				return nil, err
			}
		}
		if err := w.Close(); err != nil {
			return nil, err
		}
		return ws.b, nil
	}
	return buf.Bytes(), nil
}

// parquetView works around apache/arrow-go#584: Arrow Go v17's Parquet
// writer writes the values of a FixedSizeList column as nulls. Such columns
// are written as List (which is what Parquet stores for both) with the
// original Arrow schema in the footer's ARROW:schema, exactly like a file
// pyarrow writes, so Arrow readers get the FixedSizeList type back.
func parquetView(rec arrow.Record) arrow.Record {
	hasFSL := false
	for _, f := range rec.Schema().Fields() {
		hasFSL = hasFSL || f.Type.ID() == arrow.FIXED_SIZE_LIST
	}
	if !hasFSL {
		rec.Retain()
		return rec
	}
	fields := slices.Clone(rec.Schema().Fields())
	cols := make([]arrow.Array, len(fields))
	for i, c := range rec.Columns() {
		fsl, ok := c.(*array.FixedSizeList)
		if !ok {
			c.Retain()
			cols[i] = c
			continue
		}
		if fsl.NullN() > 0 || fsl.Offset() != 0 {
			panic("parquetView: FixedSizeList with nulls or an offset")
		}
		w := int32(fsl.DataType().(*arrow.FixedSizeListType).Len())
		offsets := make([]int32, fsl.Len()+1)
		for k := range offsets {
			offsets[k] = int32(k) * w
		}
		elem := fsl.DataType().(*arrow.FixedSizeListType).ElemField()
		lt := arrow.ListOfField(elem)
		data := array.NewData(lt, fsl.Len(),
			[]*memory.Buffer{nil, memory.NewBufferBytes(arrow.Int32Traits.CastToBytes(offsets))},
			[]arrow.ArrayData{fsl.ListValues().Data()}, 0, 0)
		cols[i] = array.MakeFromData(data)
		data.Release()
		fields[i].Type = lt
	}
	md := arrow.NewMetadata([]string{"ARROW:schema"},
		[]string{base64.StdEncoding.EncodeToString(flight.SerializeSchema(rec.Schema(), mem))})
	out := array.NewRecord(arrow.NewSchema(fields, &md), cols, rec.NumRows())
	for _, c := range cols {
		c.Release()
	}
	return out
}

// storeSchema stores the record's Arrow schema unless parquetView already
// put one in its metadata.
func storeSchema(s *arrow.Schema) []pqarrow.WriterOption {
	if s.HasMetadata() && s.Metadata().FindKey("ARROW:schema") >= 0 {
		return nil
	}
	return []pqarrow.WriterOption{pqarrow.WithStoreSchema()}
}

func formatOf(p string) format {
	switch filepath.Ext(p) {
	case ".arrow":
		return ipcFile
	case ".arrows":
		return ipcStream
	}
	return parquetFile
}

// seekBuffer is an in-memory io.WriteSeeker for the IPC file writer.
type seekBuffer struct {
	b   []byte
	pos int
}

func (s *seekBuffer) Write(p []byte) (int, error) {
	if need := s.pos + len(p); need > len(s.b) {
		s.b = append(s.b, make([]byte, need-len(s.b))...)
	}
	copy(s.b[s.pos:], p)
	s.pos += len(p)
	return len(p), nil
}

func (s *seekBuffer) Seek(off int64, whence int) (int64, error) {
	switch whence {
	case io.SeekStart:
		s.pos = int(off)
	case io.SeekCurrent:
		s.pos += int(off)
	case io.SeekEnd:
		s.pos = len(s.b) + int(off)
	}
	return int64(s.pos), nil
}

// ---- README ----

func readme(files map[string][]byte) []byte {
	var b strings.Builder
	b.WriteString(readmeIntro)
	b.WriteString(exampleExpectations())
	for _, f := range fixtures() {
		t := f.table()
		rows := 0
		if len(t.cols) > 0 {
			rows = t.cols[0].Len()
		}
		fmt.Fprintf(&b, "### `%s`\n\n", f.path)
		fmt.Fprintf(&b, "%d rows, %d bytes", rows, len(files[f.path]))
		switch {
		case f.rowGroupRows > 0:
			fmt.Fprintf(&b, ", row groups of %d rows", f.rowGroupRows)
		case formatOf(f.path) != parquetFile && f.batches > 1:
			fmt.Fprintf(&b, ", %d record batches", f.batches)
		}
		fmt.Fprintf(&b, ". %s\n\n", f.covers)
		b.WriteString("| column | type | nulls |\n| --- | --- | --- |\n")
		for i, fl := range t.fields {
			fmt.Fprintf(&b, "| `%s` | `%s` | %d |\n", fl.Name, fl.Type, t.cols[i].NullN())
		}
		b.WriteString("\n")
		if f.ref != nil {
			b.WriteString(f.ref())
		}
		for _, c := range t.cols {
			c.Release()
		}
	}
	return []byte(b.String())
}

const readmeIntro = `# testdata

Small fixtures for evaljob's tests and examples. **Generated** by
` + "`go run ./scripts/gentestdata -out testdata`" + ` (also ` + "`make testdata`" + `);
do not edit them by hand. The generator is deterministic (math/rand/v2 PCG
with a fixed seed per file, fixed Parquet created_by, no timestamps), so a
re-run gives byte-identical files; ` + "`-check`" + ` fails when a file is stale.
This README is generated too, from the same table as the files.

Conventions shared by the fixtures:

- Binary data: a true log-odds z ~ N(0, 1.6^2) per row, label y ~ Bernoulli(sigmoid(z)), and
  a prediction s = z + N(0, 0.5^2). ` + "`prob`" + ` = sigmoid(s), ` + "`logit`" + ` = s,
  ` + "`logprob`" + ` = ln sigmoid(s) = -log1p(exp(-s)); all three columns of a row describe the
  same prediction, so prob, logit and logprob configs must give (nearly) the same loss
  (float32 columns are the float64 values rounded).
- Multiclass data: C = 3 classes, logits z_k = N(0, 1) + 1.2 on the true class; ` + "`probs`" + ` = softmax(z),
  ` + "`logits`" + ` = z, ` + "`logprobs`" + ` = log_softmax(z).
- ` + "`weight`" + ` is a sample weight in [0.5, 2.5) (some fixtures include a weight of 0).
- ` + "`expect`" + ` (where present) says what SPEC section 3 makes of the row: ` + "`valid`" + `,
  ` + "`invalid`" + ` (null / NaN / out of domain: exit 3 under on_invalid: error, counted in
  invalid_rows under skip) or ` + "`ignored`" + ` (label equals ignore_index -100).
- Multilabel data: L = 4 labels per row, each drawn like a binary row (log-odds shifted by
  -0.4 per label index); ` + "`probs`" + ` = sigmoid(s), ` + "`logits`" + ` = s (float32-exact), ` + "`logprobs`" + ` =
  ln sigmoid(s).
- Regression data: target ~ N(10, 3^2), prediction = target + 0.3 + N(0, sd^2), sd 1 (model a) or 2 (model b).
- Token data: 20 documents (5-30 tokens; per token UTF-8 bytes, a word-start flag and a
  difficulty d), each scored by model a (logprob = -d e^(0.3 N)) and model b (logprob =
  -1.25 d e^(0.45 N)); the same 40 sequences in the long layout (` + "`token/long*.parquet`" + `)
  and the list layout (` + "`token/list.parquet`" + `).
- Hive folders expose ` + "`model`" + ` and ` + "`date`" + ` as string columns.

The main example for ` + "`make run`" + ` is ` + "`example/`" + ` (two files, 500 rows): binary
predictions with columns model (string: a, b), slice (string: head, tail),
label (int64 0/1), prob (float64), weight (float64), request_id (int64, unique);
a few rows have prob exactly 0 or 1 (clipping).

`

// exampleExpectations recomputes the main example's weighted log-loss and
// accuracy per group with plain float64 loops (SPEC 3: p' = clip(p, eps,
// 1-eps), eps = 2^-52, a term with zero target weight skipped), as a
// reference for golden tests and the DuckDB interop check.
func exampleExpectations() string {
	type acc struct{ rows, w, loss, correct float64 }
	groups := map[string]*acc{}
	var keys []string
	eps := math.Ldexp(1, -52)
	for _, f := range fixtures() {
		if !strings.HasPrefix(f.path, "example/") {
			continue
		}
		t := f.table()
		model := t.cols[0].(*array.String)
		label := t.cols[2].(*array.Int64)
		prob := t.cols[3].(*array.Float64)
		weight := t.cols[4].(*array.Float64)
		for i := 0; i < model.Len(); i++ {
			y, p, w := float64(label.Value(i)), prob.Value(i), weight.Value(i)
			pc := min(max(p, eps), 1-eps)
			var l float64
			if y > 0 {
				l -= y * math.Log(pc)
			}
			if 1-y > 0 {
				l -= (1 - y) * math.Log1p(-pc)
			}
			c := 0.0
			if (p >= 0.5) == (y >= 0.5) {
				c = 1
			}
			for _, k := range []string{"overall", "model=" + model.Value(i)} {
				if groups[k] == nil {
					groups[k] = &acc{}
					keys = append(keys, k)
				}
				g := groups[k]
				g.rows++
				g.w += w
				g.loss += w * l
				g.correct += w * c
			}
		}
		for _, c := range t.cols {
			c.Release()
		}
	}
	slices.Sort(keys)
	var b strings.Builder
	b.WriteString("Reference values for `example/` (weighted, eps = 2^-52, threshold 0.5; computed by the\n")
	b.WriteString("generator with plain float64 loops, independently of evaljob):\n\n")
	b.WriteString("| group | rows | weight_sum | log_loss | accuracy |\n| --- | --- | --- | --- | --- |\n")
	for _, k := range keys {
		g := groups[k]
		fmt.Fprintf(&b, "| %s | %.0f | %.17g | %.17g | %.17g |\n", k, g.rows, g.w, g.loss/g.w, g.correct/g.w)
	}
	b.WriteString("\n## Files\n\n")
	return b.String()
}

// ---- random helpers ----

func sigmoid(s float64) float64 {
	if s >= 0 {
		return 1 / (1 + math.Exp(-s))
	}
	e := math.Exp(s)
	return e / (1 + e)
}

// logSigmoid is ln sigmoid(s), stable for both signs.
func logSigmoid(s float64) float64 {
	if s >= 0 {
		return -math.Log1p(math.Exp(-s))
	}
	return s - math.Log1p(math.Exp(s))
}

// binaryRows draws n (label, logit) pairs.
func binaryRows(r *rand.Rand, n int) (y []int64, s []float64) {
	y = make([]int64, n)
	s = make([]float64, n)
	for i := range n {
		z := r.NormFloat64() * 1.6
		if r.Float64() < sigmoid(z) {
			y[i] = 1
		}
		s[i] = z + r.NormFloat64()*0.5
	}
	return y, s
}

func weights(r *rand.Rand, n int) []float64 {
	w := make([]float64, n)
	for i := range w {
		w[i] = 0.5 + 2*r.Float64()
	}
	return w
}

func pick(r *rand.Rand, n int, choices ...string) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = choices[r.IntN(len(choices))]
	}
	return out
}

func mapf[T, U any](xs []T, f func(T) U) []U {
	out := make([]U, len(xs))
	for i, x := range xs {
		out[i] = f(x)
	}
	return out
}

// nullEvery returns a validity mask with every k-th row (from offset) null.
func nullEvery(n, k, offset int) []bool {
	v := make([]bool, n)
	for i := range v {
		v[i] = (i-offset)%k != 0 || i < offset
	}
	return v
}

// ---- column builders (valid == nil: no nulls) ----

func f64s(xs []float64, valid []bool) arrow.Array {
	b := array.NewFloat64Builder(mem)
	defer b.Release()
	b.AppendValues(xs, valid)
	return b.NewArray()
}

func f32s(xs []float64, valid []bool) arrow.Array {
	b := array.NewFloat32Builder(mem)
	defer b.Release()
	b.AppendValues(mapf(xs, func(x float64) float32 { return float32(x) }), valid)
	return b.NewArray()
}

func i64s(xs []int64, valid []bool) arrow.Array {
	b := array.NewInt64Builder(mem)
	defer b.Release()
	b.AppendValues(xs, valid)
	return b.NewArray()
}

func i32s(xs []int64, valid []bool) arrow.Array {
	b := array.NewInt32Builder(mem)
	defer b.Release()
	b.AppendValues(mapf(xs, func(x int64) int32 { return int32(x) }), valid)
	return b.NewArray()
}

func i8s(xs []int64, valid []bool) arrow.Array {
	b := array.NewInt8Builder(mem)
	defer b.Release()
	b.AppendValues(mapf(xs, func(x int64) int8 { return int8(x) }), valid)
	return b.NewArray()
}

func u8s(xs []int64, valid []bool) arrow.Array {
	b := array.NewUint8Builder(mem)
	defer b.Release()
	b.AppendValues(mapf(xs, func(x int64) uint8 { return uint8(x) }), valid)
	return b.NewArray()
}

func bools(xs []int64, valid []bool) arrow.Array {
	b := array.NewBooleanBuilder(mem)
	defer b.Release()
	b.AppendValues(mapf(xs, func(x int64) bool { return x == 1 }), valid)
	return b.NewArray()
}

func strs(xs []string, valid []bool) arrow.Array {
	b := array.NewStringBuilder(mem)
	defer b.Release()
	b.AppendValues(xs, valid)
	return b.NewArray()
}

func dictStrs(xs []string) arrow.Array {
	dt := &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int32, ValueType: arrow.BinaryTypes.String}
	b := array.NewDictionaryBuilder(mem, dt).(*array.BinaryDictionaryBuilder)
	defer b.Release()
	for _, x := range xs {
		if err := b.AppendString(x); err != nil {
			panic(err)
		}
	}
	return b.NewArray()
}

// listKind is the Arrow list layout of a prediction or label column.
type listKind int

const (
	list listKind = iota
	largeList
	fixedList
)

// lists builds a list column of float64 (f32: float32) rows. rows[i] == nil
// with valid[i] false is a null list; a NaN element in nullElems positions is
// written as a null element.
func lists(kind listKind, f32 bool, rows [][]float64, valid []bool, width int) arrow.Array {
	et := arrow.DataType(arrow.PrimitiveTypes.Float64)
	if f32 {
		et = arrow.PrimitiveTypes.Float32
	}
	var lb array.Builder
	var vb array.Builder
	var appendRow func(i int)
	switch kind {
	case list:
		b := array.NewListBuilder(mem, et)
		lb, vb = b, b.ValueBuilder()
		appendRow = func(i int) { b.Append(true) }
	case largeList:
		b := array.NewLargeListBuilder(mem, et)
		lb, vb = b, b.ValueBuilder()
		appendRow = func(i int) { b.Append(true) }
	case fixedList:
		b := array.NewFixedSizeListBuilder(mem, int32(width), et)
		lb, vb = b, b.ValueBuilder()
		appendRow = func(i int) { b.Append(true) }
	}
	defer lb.Release()
	for i, row := range rows {
		if valid != nil && !valid[i] {
			lb.AppendNull()
			continue
		}
		appendRow(i)
		for _, x := range row {
			switch v := vb.(type) {
			case *array.Float64Builder:
				if isNullMark(x) {
					v.AppendNull()
				} else {
					v.Append(x)
				}
			case *array.Float32Builder:
				if isNullMark(x) {
					v.AppendNull()
				} else {
					v.Append(float32(x))
				}
			}
		}
	}
	return lb.NewArray()
}

// nullMark in a list row stands for a null element.
var nullMark = math.Float64frombits(0x7ff8dead00000001)

func isNullMark(x float64) bool { return math.Float64bits(x) == math.Float64bits(nullMark) }

// multiclassRows draws n rows of C classes: labels and logits.
func multiclassRows(r *rand.Rand, n, c int) (y []int64, z [][]float64) {
	y = make([]int64, n)
	z = make([][]float64, n)
	for i := range n {
		y[i] = int64(r.IntN(c))
		z[i] = make([]float64, c)
		for k := range c {
			z[i][k] = r.NormFloat64()
		}
		z[i][y[i]] += 1.2
	}
	return y, z
}

func logSoftmax(z []float64) []float64 {
	m := slices.Max(z)
	var s float64
	for _, v := range z {
		s += math.Exp(v - m)
	}
	lse := m + math.Log(s)
	return mapf(z, func(v float64) float64 { return v - lse })
}

func softmax(z []float64) []float64 {
	return mapf(logSoftmax(z), math.Exp)
}

func column(rows [][]float64, k int) []float64 {
	return mapf(rows, func(r []float64) float64 { return r[k] })
}

func oneHot(y []int64, c int) [][]float64 {
	return mapf(y, func(l int64) []float64 {
		row := make([]float64, c)
		row[l] = 1
		return row
	})
}
