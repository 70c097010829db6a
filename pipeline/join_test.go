package pipeline

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/maphash"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/ipc"
	"github.com/apache/arrow/go/v17/arrow/memory"
	"github.com/parquet-go/parquet-go/encoding/thrift"
	"github.com/parquet-go/parquet-go/format"

	"github.com/evaljob/evaljob/config"
	"github.com/evaljob/evaljob/evalerr"
	"github.com/evaljob/evaljob/readers"
)

// Labels in their own files (SPEC §2): the same rows evaluated once from
// one file and once split into a prediction side and a shuffled label side
// (over several files, with label rows that match nothing) must give the
// same summary and per-row output.

// readRecord reads every input file into one record (columns concatenated).
func readRecord(t *testing.T, paths []string) arrow.Record {
	t.Helper()
	var recs []arrow.Record
	for _, p := range paths {
		tbl := readParquet(t, p)
		defer tbl.Release()
		tr := array.NewTableReader(tbl, -1)
		defer tr.Release()
		for tr.Next() {
			r := tr.Record()
			r.Retain()
			recs = append(recs, r)
		}
	}
	schema := recs[0].Schema()
	cols := make([]arrow.Array, schema.NumFields())
	for k := range cols {
		var parts []arrow.Array
		for _, r := range recs {
			parts = append(parts, r.Column(k))
		}
		a, err := array.Concatenate(parts, memory.DefaultAllocator)
		if err != nil {
			t.Fatal(err)
		}
		cols[k] = a
	}
	n := int64(0)
	for _, r := range recs {
		n += r.NumRows()
		r.Release()
	}
	return array.NewRecord(schema, cols, n)
}

// takeRows builds a record of the named columns of rec (all when names is
// nil) and the extra columns, holding rows idx of rec in that order.
func takeRows(t *testing.T, rec arrow.Record, names []string, extra map[string]arrow.Array, extraOrder []string, idx []int) arrow.Record {
	t.Helper()
	var fields []arrow.Field
	var cols []arrow.Array
	take := func(f arrow.Field, a arrow.Array) {
		parts := make([]arrow.Array, len(idx))
		for k, i := range idx {
			parts[k] = array.NewSlice(a, int64(i), int64(i+1))
		}
		var out arrow.Array
		if len(parts) == 0 {
			out = array.MakeArrayOfNull(memory.DefaultAllocator, f.Type, 0)
		} else {
			var err error
			if out, err = array.Concatenate(parts, memory.DefaultAllocator); err != nil {
				t.Fatal(err)
			}
		}
		fields = append(fields, arrow.Field{Name: f.Name, Type: f.Type, Nullable: true})
		cols = append(cols, out)
	}
	for k, f := range rec.Schema().Fields() {
		if names == nil || slices.Contains(names, f.Name) {
			take(f, rec.Column(k))
		}
	}
	for _, name := range extraOrder {
		take(arrow.Field{Name: name, Type: extra[name].DataType()}, extra[name])
	}
	return array.NewRecord(arrow.NewSchema(fields, nil), cols, int64(len(idx)))
}

// joinCase describes how a fixture is split into two sides.
type joinCase struct {
	name      string
	cfg       func() *config.Config
	labelCols []string // moved to the label side
	// keys makes the key columns of n prediction rows plus extra label-only
	// keys (rows n.. of the arrays), in this order.
	keys  func(n, extra int) ([]string, map[string]arrow.Array)
	bogus string // a prediction-side column with a label column's name, filled with garbage
}

func int64Keys(name string) func(n, extra int) ([]string, map[string]arrow.Array) {
	return func(n, extra int) ([]string, map[string]arrow.Array) {
		b := array.NewInt64Builder(memory.DefaultAllocator)
		for i := range n + extra {
			b.Append(int64(i)*7919 - 100000) // negative and positive, not in row order
		}
		return []string{name}, map[string]arrow.Array{name: b.NewArray()}
	}
}

func stringKeys(name string) func(n, extra int) ([]string, map[string]arrow.Array) {
	return func(n, extra int) ([]string, map[string]arrow.Array) {
		b := array.NewStringBuilder(memory.DefaultAllocator)
		for i := range n + extra {
			b.Append(fmt.Sprintf("req-%x", i*104729))
		}
		return []string{name}, map[string]arrow.Array{name: b.NewArray()}
	}
}

// pairKeys is a two-column key: a string shard and an int32 number.
func pairKeys(n, extra int) ([]string, map[string]arrow.Array) {
	s := array.NewStringBuilder(memory.DefaultAllocator)
	v := array.NewInt32Builder(memory.DefaultAllocator)
	for i := range n + extra {
		s.Append(fmt.Sprintf("shard%d", i%3))
		v.Append(int32(i / 3))
	}
	return []string{"shard", "num"}, map[string]arrow.Array{"shard": s.NewArray(), "num": v.NewArray()}
}

func joinCases() []joinCase {
	load := func(name string) func() *config.Config {
		return func() *config.Config {
			cfg, err := config.Load(filepath.Join("..", "configs", name), nil)
			if err != nil {
				panic(err)
			}
			cfg.Gates = nil
			return cfg
		}
	}
	return []joinCase{
		{name: "binary", cfg: load("binary.yaml"), labelCols: []string{"label", "weight"}, keys: int64Keys("rid"), bogus: "label"},
		{name: "multiclass", cfg: load("multiclass.yaml"), labelCols: []string{"label", "weight"}, keys: stringKeys("rid")},
		{name: "multilabel", cfg: load("multilabel.yaml"), labelCols: []string{"labels"}, keys: pairKeys},
		{name: "regression", cfg: load("regression.yaml"), labelCols: []string{"target", "weight"}, keys: int64Keys("rid"), bogus: "target"},
		{name: "token logits", cfg: func() *config.Config {
			cfg := jobConfig("token", []string{fixture("token/logits.parquet")}, "target", "logits")
			cfg.Columns.PredictionKind = "logit"
			cfg.Columns.Sequence = "doc_id"
			cfg.GroupBy = config.GroupSets{{"model"}}
			cfg.Output.PerRow = true
			return cfg
		}, labelCols: []string{"target"}, keys: pairKeys},
	}
}

// splitSides writes the fixture of cfg as one combined file (with the key
// columns) and as predictions plus label files; it returns the combined
// file, the prediction file, the label files and how many prediction rows
// have no label (every dropEvery-th row, when dropEvery > 0).
func splitSides(t *testing.T, c joinCase, cfg *config.Config, labelFiles, dropEvery int, seed uint64) (string, string, []string, []int) {
	t.Helper()
	inputs := cfg.Inputs
	var paths []string
	for _, in := range inputs {
		m, err := filepath.Glob(in)
		if err != nil || len(m) == 0 {
			t.Fatalf("%s: %v", in, err)
		}
		paths = append(paths, m...)
	}
	rec := readRecord(t, paths)
	defer rec.Release()
	n := int(rec.NumRows())
	const extra = 5
	keyNames, keys := c.keys(n, extra)
	dir := t.TempDir()

	all := make([]int, n)
	for i := range all {
		all[i] = i
	}
	var kept, dropped []int
	for i := range n {
		if dropEvery > 0 && i%dropEvery == dropEvery-1 {
			dropped = append(dropped, i)
		} else {
			kept = append(kept, i)
		}
	}
	// The combined file has only the rows that have labels: the reference.
	combined := filepath.Join(dir, "combined.parquet")
	writeRecord(t, combined, takeRows(t, rec, nil, keys, keyNames, kept))

	var predNames []string
	for _, f := range rec.Schema().Fields() {
		if !slices.Contains(c.labelCols, f.Name) {
			predNames = append(predNames, f.Name)
		}
	}
	extraCols, extraOrder := keys, keyNames
	if c.bogus != "" {
		b := array.NewStringBuilder(memory.DefaultAllocator)
		for range n + extra {
			b.Append("not a label")
		}
		extraCols = maps2(keys, c.bogus, b.NewArray())
		extraOrder = append(slices.Clone(keyNames), c.bogus)
	}
	preds := filepath.Join(dir, "predictions.parquet")
	writeRecord(t, preds, takeRows(t, rec, predNames, extraCols, extraOrder, all))

	// Label side: the kept rows plus label rows for keys n..n+extra-1
	// (copies of row 0's labels), shuffled, split over labelFiles files.
	order := slices.Clone(kept)
	for i := range extra {
		order = append(order, n+i)
	}
	rand.New(rand.NewPCG(seed, 1)).Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
	var labelPaths []string
	per := (len(order) + labelFiles - 1) / labelFiles
	for f := range labelFiles {
		part := order[min(f*per, len(order)):min((f+1)*per, len(order))]
		keyIdx := part
		valIdx := make([]int, len(part))
		for k, i := range part {
			valIdx[k] = i
			if i >= n {
				valIdx[k] = 0
			}
		}
		vals := takeRows(t, rec, c.labelCols, nil, nil, valIdx)
		var fields []arrow.Field
		var cols []arrow.Array
		for _, name := range keyNames {
			fields = append(fields, arrow.Field{Name: name, Type: keys[name].DataType(), Nullable: true})
			cols = append(cols, takeArray(t, keys[name], keyIdx))
		}
		fields = append(fields, vals.Schema().Fields()...)
		cols = append(cols, vals.Columns()...)
		lrec := array.NewRecord(arrow.NewSchema(fields, nil), cols, int64(len(part)))
		p := filepath.Join(dir, fmt.Sprintf("labels/part-%d.parquet", f))
		writeRecord(t, p, lrec)
		labelPaths = append(labelPaths, p)
	}
	return combined, preds, labelPaths, dropped
}

func maps2(m map[string]arrow.Array, k string, v arrow.Array) map[string]arrow.Array {
	out := map[string]arrow.Array{k: v}
	for kk, vv := range m {
		out[kk] = vv
	}
	return out
}

func takeArray(t *testing.T, a arrow.Array, idx []int) arrow.Array {
	t.Helper()
	f := arrow.Field{Name: "x", Type: a.DataType()}
	r := array.NewRecord(arrow.NewSchema([]arrow.Field{f}, nil), []arrow.Array{a}, int64(a.Len()))
	return takeRows(t, r, nil, nil, nil, idx).Column(0)
}

// writeRecord writes rec in row groups of 64 rows.
func writeRecord(t *testing.T, path string, rec arrow.Record) {
	t.Helper()
	writeParquet(t, path, rec, 64)
}

// runTo runs cfg into a fresh folder with the given workers and batch size.
func runTo(t *testing.T, cfg *config.Config, workers, batch int) (*Result, string, error) {
	t.Helper()
	cfg.Output.Dir = t.TempDir()
	cfg.Output.Overwrite = true
	cfg.Workers = workers
	if err := cfg.Check(); err != nil {
		t.Fatal(err)
	}
	res, err := Run(context.Background(), cfg, Options{BatchRows: batch})
	return res, cfg.Output.Dir, err
}

// sameSummary checks that the joined summary equals the reference one in
// every column, and has unlabeled_rows after ignored_rows.
func sameSummary(t *testing.T, refDir, joinedDir string, wantUnlabeled int64) {
	t.Helper()
	ref := openTable(t, filepath.Join(refDir, SummaryFile))
	got := openTable(t, filepath.Join(joinedDir, SummaryFile))
	want := slices.Clone(ref.names())
	k := slices.Index(want, "ignored_rows")
	want = slices.Insert(want, k+1, "unlabeled_rows")
	if !slices.Equal(got.names(), want) {
		t.Fatalf("columns\n got %v\nwant %v", got.names(), want)
	}
	for _, name := range ref.names() {
		if !array.Equal(ref.cols[name], got.cols[name]) {
			t.Errorf("column %s differs:\n ref %v\n got %v", name, ref.cols[name], got.cols[name])
		}
	}
	if u := got.int("unlabeled_rows", 0); u != wantUnlabeled {
		t.Errorf("overall unlabeled_rows = %d, want %d", u, wantUnlabeled)
	}
}

func joinedConfig(c joinCase, preds string, labels []string, unmatched string) *config.Config {
	cfg := c.cfg()
	cfg.Inputs = []string{preds}
	keys, _ := c.keys(0, 0)
	cfg.Labels = &config.Labels{Inputs: labels, Join: keys, Unmatched: unmatched}
	return cfg
}

// TestJoinMatchesCombined: every task, label side shuffled over three
// files with five label rows that match nothing, gives the combined file's
// summary and rows.parquet, whatever the workers, batch size and order of
// the label files; labels_unmatched is 5.
func TestJoinMatchesCombined(t *testing.T) {
	for _, c := range joinCases() {
		t.Run(c.name, func(t *testing.T) {
			combined, preds, labels, _ := splitSides(t, c, c.cfg(), 3, 0, 1)
			refCfg := c.cfg()
			refCfg.Inputs = []string{combined}
			_, refDir, err := runTo(t, refCfg, 2, 0)
			if err != nil {
				t.Fatal(err)
			}
			var first []byte
			for _, run := range []struct {
				workers, batch int
				labels         []string
			}{{1, 0, labels}, {2, 7, labels}, {5, 64, reversed(labels)}, {3, 1000, []string{filepath.Dir(labels[0])}}} {
				res, dir, err := runTo(t, joinedConfig(c, preds, run.labels, "error"), run.workers, run.batch)
				if err != nil {
					t.Fatal(err)
				}
				sameSummary(t, refDir, dir, 0)
				if run.workers == 1 {
					checkManifestUnmatched(t, dir, 5)
				}
				if refCfg.Output.PerRow {
					a, _ := os.ReadFile(filepath.Join(refDir, RowsFile))
					b, _ := os.ReadFile(filepath.Join(dir, RowsFile))
					if len(a) == 0 || !bytes.Equal(a, b) {
						t.Errorf("rows.parquet differs from the combined file's (%d vs %d bytes)", len(a), len(b))
					}
				}
				got, _ := os.ReadFile(filepath.Join(dir, SummaryFile))
				if first == nil {
					first = got
				} else if !bytes.Equal(got, first) {
					t.Errorf("workers=%d batch=%d labels %v: summary bytes differ from the first run", run.workers, run.batch, run.labels)
				}
				if res.InputRows == 0 {
					t.Error("no input rows")
				}
			}
		})
	}
}

func reversed(s []string) []string {
	r := slices.Clone(s)
	slices.Reverse(r)
	return r
}

func checkManifestUnmatched(t *testing.T, dir string, want int64) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, ManifestFile))
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		LabelsUnmatched *int64 `json:"labels_unmatched"`
		Labels          []struct {
			Path string `json:"path"`
			Rows int64  `json:"rows"`
		} `json:"labels"`
	}
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	if m.LabelsUnmatched == nil || *m.LabelsUnmatched != want {
		t.Errorf("manifest labels_unmatched = %v, want %d", m.LabelsUnmatched, want)
	}
	if len(m.Labels) == 0 {
		t.Error("manifest lists no label files")
	}
}

// TestJoinSkipUnmatched: with unmatched: skip, prediction rows without a
// label row (every 7th) are counted in unlabeled_rows and are otherwise
// absent: the summary equals that of the combined file holding only the
// labelled rows; in rows.parquet they have a null loss. Under error the
// first of them is the error.
func TestJoinSkipUnmatched(t *testing.T) {
	c := joinCases()[0]
	combined, preds, labels, dropped := splitSides(t, c, c.cfg(), 2, 7, 2)
	refCfg := c.cfg()
	refCfg.Inputs = []string{combined}
	_, refDir, err := runTo(t, refCfg, 2, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, dir, err := runTo(t, joinedConfig(c, preds, labels, "skip"), 2, 50)
	if err != nil {
		t.Fatal(err)
	}
	sameSummary(t, refDir, dir, int64(len(dropped)))
	checkManifestUnmatched(t, dir, 5)
	rows := openTable(t, filepath.Join(dir, RowsFile))
	for i := range rows.tbl.NumRows() {
		_, ok := rows.float("cross_entropy", int(i))
		if want := !slices.Contains(dropped, int(i)); ok != want {
			t.Fatalf("rows.parquet row %d: loss present %v, want %v", i, ok, want)
		}
	}

	_, _, err = runTo(t, joinedConfig(c, preds, labels, "error"), 2, 50)
	var ie *evalerr.InputError
	if !errors.As(err, &ie) {
		t.Fatalf("unmatched: error gave %v, want an input error", err)
	}
	_, keys := c.keys(dropped[0]+1, 0)
	wantKey := keys["rid"].(*array.Int64).Value(dropped[0])
	if ie.Row != int64(dropped[0]) || ie.Column != "rid" || ie.Value != fmt.Sprint(wantKey) || !strings.HasSuffix(ie.Path, "predictions.parquet") {
		t.Errorf("error %v: want row %d, column rid, value %d", err, dropped[0], wantKey)
	}
}

// TestJoinPerSequence: in the token long layout the key may name a
// sequence instead of a token: one label row per (model, doc_id) supplies
// the weight of all its tokens, and the summary and per-sequence rows are
// those of the file that carries the weight on every token.
func TestJoinPerSequence(t *testing.T) {
	refCfg, err := config.Load(filepath.Join("..", "configs", "token-long.yaml"), nil)
	if err != nil {
		t.Fatal(err)
	}
	paths, _ := filepath.Glob(fixture("token/long*.parquet"))
	rec := readRecord(t, paths)
	defer rec.Release()
	schema := rec.Schema()
	col := func(name string) arrow.Array { return rec.Column(schema.FieldIndices(name)[0]) }
	model, doc, weight := col("model").(*array.String), col("doc_id").(*array.Int64), col("weight").(*array.Float64)
	seen := map[string]bool{}
	var first []int // the first row of each sequence
	for i := range int(rec.NumRows()) {
		k := fmt.Sprint(model.Value(i), "/", doc.Value(i))
		if !seen[k] {
			seen[k] = true
			first = append(first, i)
		}
	}
	slices.Reverse(first) // not in input order
	dir := t.TempDir()
	labels := filepath.Join(dir, "weights.parquet")
	writeRecord(t, labels, takeRows(t, rec, []string{"model", "doc_id", "weight"}, nil, nil, first))
	var predNames []string
	for _, f := range schema.Fields() {
		if f.Name != "weight" {
			predNames = append(predNames, f.Name)
		}
	}
	all := make([]int, rec.NumRows())
	for i := range all {
		all[i] = i
	}
	preds := filepath.Join(dir, "tokens.parquet")
	writeRecord(t, preds, takeRows(t, rec, predNames, nil, nil, all))
	// The weights must be constant within a sequence for this to hold.
	for i := range int(rec.NumRows()) {
		for _, f := range first {
			if model.Value(f) == model.Value(i) && doc.Value(f) == doc.Value(i) && weight.Value(f) != weight.Value(i) {
				t.Fatalf("fixture: weight varies within sequence %s/%d", model.Value(i), doc.Value(i))
			}
		}
	}

	_, refDir, err := runTo(t, refCfg, 2, 0)
	if err != nil {
		t.Fatal(err)
	}
	cfg, _ := config.Load(filepath.Join("..", "configs", "token-long.yaml"), nil)
	cfg.Inputs = []string{preds}
	cfg.Labels = &config.Labels{Inputs: []string{labels}, Join: []string{"model", "doc_id"}}
	_, joined, err := runTo(t, cfg, 2, 33)
	if err != nil {
		t.Fatal(err)
	}
	sameSummary(t, refDir, joined, 0)
	a, _ := os.ReadFile(filepath.Join(refDir, RowsFile))
	b, _ := os.ReadFile(filepath.Join(joined, RowsFile))
	if len(a) == 0 || !bytes.Equal(a, b) {
		t.Errorf("per-sequence rows differ from the reference (%d vs %d bytes)", len(a), len(b))
	}
	checkManifestUnmatched(t, joined, 0)
}

// TestJoinFixture: testdata/join (README there): with skip, 15 prediction
// rows have no label (3 null keys, 12 missing ids), 135 are scored, and 5
// label rows match nothing; the label file's weight wins.
func TestJoinFixture(t *testing.T) {
	cfg := jobConfig("binary", []string{fixture("join/predictions.parquet")}, "label", "prob")
	cfg.Columns.Weight = "weight"
	cfg.Labels = &config.Labels{Inputs: []string{fixture("join/labels.parquet")}, Join: []string{"request_id"}, Unmatched: "skip"}
	cfg.GroupBy = config.GroupSets{{"model"}}
	_, dir, err := runTo(t, cfg, 2, 16)
	if err != nil {
		t.Fatal(err)
	}
	sum := openTable(t, filepath.Join(dir, SummaryFile))
	if got := [2]int64{sum.int("rows", 0), sum.int("unlabeled_rows", 0)}; got != [2]int64{135, 15} {
		t.Errorf("rows, unlabeled_rows = %v, want [135 15]", got)
	}
	if sum.int("unlabeled_rows", 1)+sum.int("unlabeled_rows", 2) != 15 {
		t.Error("the groups' unlabeled_rows do not add up to the overall row's")
	}
	checkManifestUnmatched(t, dir, 5)

	// The same labels as an Arrow IPC file and an IPC stream: the same bytes.
	want, _ := os.ReadFile(filepath.Join(dir, SummaryFile))
	rec := readRecord(t, []string{fixture("join/labels.parquet")})
	defer rec.Release()
	for _, name := range []string{"labels.arrow", "labels.arrows"} {
		p := filepath.Join(t.TempDir(), name)
		writeIPC(t, p, rec, strings.HasSuffix(name, "s"))
		cfg.Labels.Inputs = []string{p}
		_, dir, err := runTo(t, cfg, 2, 16)
		if err != nil {
			t.Fatal(err)
		}
		if got, _ := os.ReadFile(filepath.Join(dir, SummaryFile)); !bytes.Equal(got, want) {
			t.Errorf("labels from %s: summary differs from the Parquet labels'", name)
		}
	}
}

// writeIPC writes rec as an Arrow IPC file, or stream, in batches of 50 rows.
func writeIPC(t *testing.T, path string, rec arrow.Record, stream bool) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var w interface {
		Write(arrow.Record) error
		Close() error
	}
	if stream {
		w = ipc.NewWriter(f, ipc.WithSchema(rec.Schema()))
	} else if w, err = ipc.NewFileWriter(f, ipc.WithSchema(rec.Schema())); err != nil {
		t.Fatal(err)
	}
	for lo := int64(0); lo < rec.NumRows(); lo += 50 {
		part := rec.NewSlice(lo, min(lo+50, rec.NumRows()))
		if err := w.Write(part); err != nil {
			t.Fatal(err)
		}
		part.Release()
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestJoinErrors: duplicate and null label keys, keys of another kind,
// a prediction-side key column that is missing, and a label file without
// the label column are input errors naming the file, the column and (for
// values) the row and value.
func TestJoinErrors(t *testing.T) {
	dir := t.TempDir()
	// Label files with a null key at row 2, and a string key.
	mk := func(name string, keys arrow.Array) string {
		lb := array.NewInt64Builder(memory.DefaultAllocator)
		for range keys.Len() {
			lb.Append(1)
		}
		rec := array.NewRecord(arrow.NewSchema([]arrow.Field{
			{Name: "request_id", Type: keys.DataType(), Nullable: true},
			{Name: "label", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		}, nil), []arrow.Array{keys, lb.NewArray()}, int64(keys.Len()))
		p := filepath.Join(dir, name)
		writeRecord(t, p, rec)
		return p
	}
	ib := array.NewInt64Builder(memory.DefaultAllocator)
	ib.AppendValues([]int64{1, 2, 0, 4}, []bool{true, true, false, true})
	nullKeys := mk("null.parquet", ib.NewArray())
	sb := array.NewStringBuilder(memory.DefaultAllocator)
	sb.AppendValues([]string{"1", "2"}, nil)
	stringKeys := mk("strings.parquet", sb.NewArray())

	for _, c := range []struct {
		name, labels, join string
		wantPath, wantCol  string
		wantRow            int64
		wantValue, wantMsg string
	}{
		{"duplicate", fixture("join/labels_dup.parquet"), "request_id", "labels_dup.parquet", "request_id", 140, "7", "also in " + fixture("join/labels_dup.parquet") + ", row group 0, row 74"},
		{"null key", nullKeys, "request_id", "null.parquet", "request_id", 2, "null", "label key is null"},
		{"key kinds differ", stringKeys, "request_id", "predictions.parquet", "request_id", -1, "", "but it is utf8 in the label file"},
		{"key missing in predictions", fixture("join/labels.parquet"), "label", "", "", -1, "", ""},
		{"no label column", nullKeys, "request_id", "null.parquet", "prob", -1, "", "missing column"},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg := jobConfig("binary", []string{fixture("join/predictions.parquet")}, "label", "prob")
			cfg.Labels = &config.Labels{Inputs: []string{c.labels}, Join: []string{c.join}}
			if c.name == "no label column" {
				cfg.Columns.Label = "prob"
				cfg.Columns.Prediction = []string{"label"}
			}
			cfg.Output.Dir = t.TempDir()
			err := cfg.Check()
			if c.name == "key missing in predictions" {
				if !errors.Is(err, evalerr.ErrConfig) {
					t.Fatalf("join on the label column: %v, want a config error", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			_, err = Run(context.Background(), cfg, Options{})
			var ie *evalerr.InputError
			if !errors.As(err, &ie) {
				t.Fatalf("got %v, want an input error", err)
			}
			if !strings.HasSuffix(ie.Path, c.wantPath) || ie.Column != c.wantCol || ie.Row != c.wantRow || ie.Value != c.wantValue || !strings.Contains(err.Error(), c.wantMsg) {
				t.Errorf("got %q (path %s, row %d, column %q, value %q)", err, ie.Path, ie.Row, ie.Column, ie.Value)
			}
			if _, statErr := os.Stat(filepath.Join(cfg.Output.Dir, SummaryFile)); statErr == nil {
				t.Error("a summary was written")
			}
		})
	}
}

// TestLabelValuesPacked: integer label columns are stored in their type's
// width and come back as the same values (signed and unsigned, extremes,
// nulls), as a plain column copy would give them.
func TestLabelValuesPacked(t *testing.T) {
	types := []arrow.DataType{arrow.PrimitiveTypes.Int8, arrow.PrimitiveTypes.Uint8, arrow.PrimitiveTypes.Int16,
		arrow.PrimitiveTypes.Uint16, arrow.PrimitiveTypes.Int32, arrow.PrimitiveTypes.Uint32,
		arrow.PrimitiveTypes.Int64, arrow.PrimitiveTypes.Uint64}
	r := rand.New(rand.NewPCG(7, 7))
	for _, typ := range types {
		bitsz := typ.(arrow.FixedWidthDataType).BitWidth()
		// Values as the readers decode them: sign- or zero-extended into int64.
		value := func() int64 {
			u := r.Uint64() >> (64 - bitsz)
			if isSigned(typ) && bitsz < 64 {
				return int64(u<<(64-bitsz)) >> (64 - bitsz)
			}
			return int64(u)
		}
		var v labelValues
		v.col.Name = "y"
		v.setType(typ)
		if v.width != bitsz/8 {
			t.Fatalf("%s: width %d", typ, v.width)
		}
		var plain readers.Column
		plain.Type = typ
		for chunk := range 3 {
			c := &readers.Column{Type: typ, Len: 50}
			for i := range c.Len {
				c.Ints = append(c.Ints, value())
				if chunk == 1 {
					c.Valid = append(c.Valid, i%5 != 0)
				}
			}
			// the signed minimum, or only the top bit of an unsigned type
			c.Ints[0] = int64(uint64(1) << (bitsz - 1))
			if isSigned(typ) {
				c.Ints[0] = -1 << (bitsz - 1)
			}
			v.append(c)
			appendRows(&plain, c, nil)
		}
		rows := []int32{149, 0, -1, 57, 50, 3, 100, -1, 120}
		var got, want readers.Column
		v.gather(&got, rows)
		appendRows(&want, &plain, rows)
		for k, row := range rows {
			if got.Null(k) != want.Null(k) || (!want.Null(k) && got.Ints[k] != want.Ints[k]) {
				t.Errorf("%s: row %d: got %d (null %v), want %d (null %v)", typ, row, got.Ints[k], got.Null(k), want.Ints[k], want.Null(k))
			}
		}
		if v.bytes() >= columnBytes(&plain) && bitsz < 64 {
			t.Errorf("%s: packed %d bytes, not below the plain column's %d", typ, v.bytes(), columnBytes(&plain))
		}
	}
}

// TestJoinLabelValueError: an invalid label value reached through the join
// is reported at the prediction row, and the message names the label row.
func TestJoinLabelValueError(t *testing.T) {
	dir := t.TempDir()
	ids := array.NewInt64Builder(memory.DefaultAllocator)
	ys := array.NewInt8Builder(memory.DefaultAllocator)
	for i := range 10 {
		ids.Append(int64(9 - i))
		ys.Append(int8(i % 2))
	}
	// id 3 is at row 6 of the label file: give it label 7.
	yarr := ys.NewArray().(*array.Int8)
	vals := make([]int8, 10)
	for i := range vals {
		vals[i] = yarr.Value(i)
	}
	vals[6] = 7
	ys.AppendValues(vals, nil)
	labels := filepath.Join(dir, "labels.parquet")
	writeRecord(t, labels, array.NewRecord(arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64}, {Name: "y", Type: arrow.PrimitiveTypes.Int8}}, nil),
		[]arrow.Array{ids.NewArray(), ys.NewArray()}, 10))
	pids := array.NewInt32Builder(memory.DefaultAllocator)
	probs := array.NewFloat64Builder(memory.DefaultAllocator)
	for i := range 10 {
		pids.Append(int32(i))
		probs.Append(0.5)
	}
	preds := filepath.Join(dir, "preds.parquet")
	writeRecord(t, preds, array.NewRecord(arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int32}, {Name: "p", Type: arrow.PrimitiveTypes.Float64}}, nil),
		[]arrow.Array{pids.NewArray(), probs.NewArray()}, 10))
	cfg := jobConfig("binary", []string{preds}, "y", "p")
	cfg.Labels = &config.Labels{Inputs: []string{labels}, Join: []string{"id"}}
	_, _, err := runTo(t, cfg, 2, 0)
	var ie *evalerr.InputError
	if !errors.As(err, &ie) || ie.Row != 3 || ie.Column != "y" || ie.Value != "7" ||
		!strings.Contains(err.Error(), "label file "+labels+", row group 0, row 6") {
		t.Fatalf("got %v", err)
	}
}

// TestLabelStoreAgainstMap: the open-addressed store finds exactly what a
// Go map finds, for fixed- and variable-width keys, through the resizes of
// a store that did not know its size (an IPC stream) and one that did.
func TestLabelStoreAgainstMap(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, variable := range []bool{false, true} {
		for _, declared := range []int{0, 5000} {
			st := &labelStore{join: []string{"a", "b"}, seed: maphash.MakeSeed(), files: &fileSet{inputs: []readers.Input{{}}, meta: []fileMeta{{}}}, chunks: []labelChunk{{}}}
			st.keyTypes = []arrow.DataType{arrow.PrimitiveTypes.Int64, arrow.PrimitiveTypes.Uint64}
			st.width = 2 * intKeyBytes
			if variable {
				st.keyTypes[1] = arrow.BinaryTypes.String
				st.width = 0
			}
			st.allocate(declared)
			ref := map[string]int{}
			a := &readers.Column{Type: arrow.PrimitiveTypes.Int64, Len: 1, Ints: []int64{0}}
			b := &readers.Column{Type: st.keyTypes[1], Len: 1, Ints: []int64{0}, Strs: []string{""}}
			if variable {
				b.Ints = nil
			}
			keyOf := func(x, y int64) []byte {
				a.Ints[0] = x
				if variable {
					b.Strs[0] = strings.Repeat("k", int(uint64(y)%7)) + fmt.Sprint(y)
				} else {
					b.Ints[0] = y
				}
				k, _ := appendJoinKey(nil, []*readers.Column{a, b}, 0)
				return k
			}
			for i := range 5000 {
				k := keyOf(int64(r.IntN(3000))-1500, int64(r.Uint64()>>r.IntN(64)))
				if want, dup := ref[string(k)]; dup {
					// insert would report it (TestJoinErrors): it is found
					if got := st.lookup(k); got != want {
						t.Fatalf("duplicate key %d found at %d, want %d", i, got, want)
					}
					continue
				}
				if err := st.insert(k, maphash.Bytes(st.seed, k)); err != nil {
					t.Fatal(err)
				}
				ref[string(k)] = st.rows - 1
			}
			for k, want := range ref {
				if got := st.lookup([]byte(k)); got != want {
					t.Fatalf("variable %v declared %d: lookup got %d, want %d", variable, declared, got, want)
				}
			}
			for range 5000 {
				k := keyOf(int64(r.IntN(3000))+2000, int64(r.Uint64()))
				if got := st.lookup(k); got != -1 {
					t.Fatalf("absent key found at %d", got)
				}
			}
			// -1 as int64 and 2^64-1 as uint64 have the same bits but differ.
			if st.keyText(keyOf(-1, -1)) != `-1,18446744073709551615` && !variable {
				t.Errorf("keyText = %s", st.keyText(keyOf(-1, -1)))
			}
		}
	}
}

// TestJoinErrorStopsLoading: a duplicate key in the first of many label row
// groups stops the parallel load (no hang, no goroutine left behind), and
// a null key after a duplicate does not hide it: the first error in input
// order is reported.
func TestJoinErrorStopsLoading(t *testing.T) {
	before := runtime.NumGoroutine()
	dir := t.TempDir()
	ids := array.NewInt64Builder(memory.DefaultAllocator)
	ys := array.NewInt64Builder(memory.DefaultAllocator)
	for i := range 4000 {
		switch i {
		case 10:
			ids.Append(3) // duplicate of row 3
		case 11:
			ids.AppendNull()
		default:
			ids.Append(int64(i))
		}
		ys.Append(int64(i % 2))
	}
	labels := filepath.Join(dir, "labels.parquet") // row groups of 64 rows: 63 units
	writeRecord(t, labels, array.NewRecord(arrow.NewSchema([]arrow.Field{
		{Name: "request_id", Type: arrow.PrimitiveTypes.Int64, Nullable: true}, {Name: "y", Type: arrow.PrimitiveTypes.Int64}}, nil),
		[]arrow.Array{ids.NewArray(), ys.NewArray()}, 4000))
	cfg := jobConfig("binary", []string{fixture("join/predictions.parquet")}, "y", "prob")
	cfg.Labels = &config.Labels{Inputs: []string{labels}, Join: []string{"request_id"}}
	_, _, err := runTo(t, cfg, 2, 0)
	var ie *evalerr.InputError
	if !errors.As(err, &ie) || ie.Row != 10 || ie.Value != "3" || !strings.Contains(err.Error(), "row group 0, row 3") {
		t.Fatalf("got %v, want the duplicate at row 10", err)
	}
	for range 100 {
		if runtime.NumGoroutine() <= before {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Errorf("goroutines: %d before, %d after", before, runtime.NumGoroutine())
}

// ---- regressions from the review of the join ----

// smallRecord builds a record of the named arrays.
func smallRecord(names []string, cols ...arrow.Array) arrow.Record {
	var fields []arrow.Field
	for i, name := range names {
		fields = append(fields, arrow.Field{Name: name, Type: cols[i].DataType(), Nullable: true})
	}
	return array.NewRecord(arrow.NewSchema(fields, nil), cols, int64(cols[0].Len()))
}

func int64s(v ...int64) arrow.Array {
	b := array.NewInt64Builder(memory.DefaultAllocator)
	b.AppendValues(v, nil)
	return b.NewArray()
}

func float64s(v ...float64) arrow.Array {
	b := array.NewFloat64Builder(memory.DefaultAllocator)
	b.AppendValues(v, nil)
	return b.NewArray()
}

// TestJoinWeightSide: the weight comes from the label files when all have
// it (whatever their order), from the predictions when none has it, and
// some having it is an error naming one without; a weight that is the
// label column works as it does without labels.
func TestJoinWeightSide(t *testing.T) {
	dir := t.TempDir()
	path := func(name string, rec arrow.Record) string {
		p := filepath.Join(dir, name)
		writeRecord(t, p, rec)
		return p
	}
	preds := path("p.parquet", smallRecord([]string{"id", "p", "w"}, int64s(1, 2), float64s(0.3, 0.4), float64s(1, 1)))
	withW := path("a.parquet", smallRecord([]string{"id", "y", "w"}, int64s(1), float64s(1), float64s(2)))
	withW2 := path("c.parquet", smallRecord([]string{"id", "y", "w"}, int64s(2), float64s(0), float64s(3)))
	noW := path("b.parquet", smallRecord([]string{"id", "y"}, int64s(2), float64s(0)))
	noW1 := path("d.parquet", smallRecord([]string{"id", "y"}, int64s(1), float64s(1)))
	run := func(labels ...string) (float64, error) {
		cfg := jobConfig("binary", []string{preds}, "y", "p")
		cfg.Columns.Weight = "w"
		cfg.Labels = &config.Labels{Inputs: labels, Join: []string{"id"}}
		_, dir, err := runTo(t, cfg, 2, 0)
		if err != nil {
			return 0, err
		}
		ws, _ := openTable(t, filepath.Join(dir, SummaryFile)).float("weight_sum", 0)
		return ws, nil
	}
	for _, order := range [][]string{{withW, withW2}, {withW2, withW}} {
		if ws, err := run(order...); err != nil || ws != 5 {
			t.Errorf("all label files have w: weight_sum %v, %v; want 5 (the label side's)", ws, err)
		}
	}
	if ws, err := run(noW1, noW); err != nil || ws != 2 {
		t.Errorf("no label file has w: weight_sum %v, %v; want 2 (the predictions')", ws, err)
	}
	for _, order := range [][]string{{withW, noW}, {noW, withW}} {
		_, err := run(order...)
		var ie *evalerr.InputError
		if !errors.As(err, &ie) || ie.Path != noW || ie.Column != "w" {
			t.Errorf("only some label files have w (%v): %v, want an input error naming %s", order, err, noW)
		}
	}

	// columns.weight = columns.label: the same as in one file.
	combined := path("combined.parquet", smallRecord([]string{"id", "p", "y"}, int64s(1, 2), float64s(0.3, 0.4), float64s(1, 2)))
	labels := path("y.parquet", smallRecord([]string{"id", "y"}, int64s(2, 1), float64s(2, 1)))
	ref := jobConfig("regression", []string{combined}, "y", "p")
	ref.Columns.Weight = "y"
	_, refDir, err := runTo(t, ref, 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	cfg := jobConfig("regression", []string{preds}, "y", "p")
	cfg.Columns.Weight = "y"
	cfg.Labels = &config.Labels{Inputs: []string{labels}, Join: []string{"id"}}
	_, dir2, err := runTo(t, cfg, 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	sameSummary(t, refDir, dir2, 0)
}

// TestJoinTypeErrorsNameTheirFile: a label or weight column of the wrong
// type in the label files is reported against the label file; a join key
// missing on the prediction side against the prediction file.
func TestJoinTypeErrorsNameTheirFile(t *testing.T) {
	dir := t.TempDir()
	sb := array.NewStringBuilder(memory.DefaultAllocator)
	sb.AppendValues([]string{"yes"}, nil)
	labels := filepath.Join(dir, "l.parquet")
	writeRecord(t, labels, smallRecord([]string{"request_id", "y", "w"}, int64s(1), sb.NewArray(), float64s(1)))
	preds := fixture("join/predictions.parquet")
	for _, c := range []struct {
		label, weight, join, wantPath, wantCol string
	}{
		{"y", "", "request_id", labels, "y"},
		{"w", "y", "request_id", labels, "y"},
	} {
		cfg := jobConfig("binary", []string{preds}, c.label, "prob")
		cfg.Columns.Weight = c.weight
		cfg.Labels = &config.Labels{Inputs: []string{labels}, Join: []string{c.join}}
		_, _, err := runTo(t, cfg, 1, 0)
		var ie *evalerr.InputError
		if !errors.As(err, &ie) || ie.Path != c.wantPath || ie.Column != c.wantCol || !strings.Contains(err.Error(), "wrong type utf8") {
			t.Errorf("label %s weight %s: %v, want a wrong type of %s in %s", c.label, c.weight, err, c.wantCol, c.wantPath)
		}
	}
	// A weight column on neither side: the error names both.
	cfgW := jobConfig("binary", []string{preds}, "label", "prob")
	cfgW.Columns.Weight = "importance"
	cfgW.Labels = &config.Labels{Inputs: []string{fixture("join/labels.parquet")}, Join: []string{"request_id"}}
	_, _, errW := runTo(t, cfgW, 1, 0)
	var ieW *evalerr.InputError
	if !errors.As(errW, &ieW) || ieW.Column != "importance" || !strings.Contains(errW.Error(), "join/labels.parquet") {
		t.Errorf("weight on neither side: %v, want an input error naming the label file too", errW)
	}
	// A key the label files have and the predictions do not.
	keyed := filepath.Join(dir, "k.parquet")
	writeRecord(t, keyed, smallRecord([]string{"session", "label"}, int64s(1), int64s(1)))
	cfg := jobConfig("binary", []string{preds}, "label", "prob")
	cfg.Labels = &config.Labels{Inputs: []string{keyed}, Join: []string{"session"}}
	_, _, err := runTo(t, cfg, 1, 0)
	var ie *evalerr.InputError
	if !errors.As(err, &ie) || !strings.HasSuffix(ie.Path, "predictions.parquet") || ie.Column != "session" || !strings.Contains(err.Error(), "missing join key column") {
		t.Errorf("key missing in the predictions: %v", err)
	}
}

// TestJoinUint64Keys: keys compare by value across integer types: uint64
// values above MaxInt64 never match negative int64 keys with the same bits.
func TestJoinUint64Keys(t *testing.T) {
	dir := t.TempDir()
	ub := array.NewUint64Builder(memory.DefaultAllocator)
	ub.AppendValues([]uint64{1<<64 - 1, 1 << 63, 5}, nil)
	labels := filepath.Join(dir, "l.parquet")
	writeRecord(t, labels, smallRecord([]string{"id", "y"}, ub.NewArray(), int64s(1, 0, 1)))
	preds := filepath.Join(dir, "p.parquet")
	writeRecord(t, preds, smallRecord([]string{"id", "p"}, int64s(-1, -1<<63, 5), float64s(0.5, 0.5, 0.5)))
	cfg := jobConfig("binary", []string{preds}, "y", "p")
	cfg.Labels = &config.Labels{Inputs: []string{labels}, Join: []string{"id"}, Unmatched: "skip"}
	_, out, err := runTo(t, cfg, 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	sum := openTable(t, filepath.Join(out, SummaryFile))
	if got := [2]int64{sum.int("rows", 0), sum.int("unlabeled_rows", 0)}; got != [2]int64{1, 2} {
		t.Errorf("rows, unlabeled_rows = %v, want [1 2]", got)
	}
	checkManifestUnmatched(t, out, 2)
}

// TestJoinForgedRowCount: a label file whose footer declares 7 row groups
// of 2^28 rows over one real row is an input error, and the store does not
// reserve memory for the declared rows first (it used to ask for ~40 GB,
// fatal under a memory limit).
func TestJoinForgedRowCount(t *testing.T) {
	dir := t.TempDir()
	labels := filepath.Join(dir, "forged.parquet")
	writeRecord(t, labels, smallRecord([]string{"request_id", "label"}, int64s(1), int64s(1)))
	b, err := os.ReadFile(labels)
	if err != nil {
		t.Fatal(err)
	}
	n := int(binary.LittleEndian.Uint32(b[len(b)-8:]))
	var md format.FileMetaData
	if err := thrift.Unmarshal(new(thrift.CompactProtocol), b[len(b)-8-n:len(b)-8], &md); err != nil {
		t.Fatal(err)
	}
	rg := md.RowGroups[0]
	rg.NumRows = 1 << 28
	for i := range rg.Columns {
		rg.Columns[i].MetaData.NumValues = 1 << 28
	}
	md.RowGroups = []format.RowGroup{rg, rg, rg, rg, rg, rg, rg}
	md.NumRows = 7 << 28
	foot, err := thrift.Marshal(new(thrift.CompactProtocol), &md)
	if err != nil {
		t.Fatal(err)
	}
	forged := append(append([]byte{}, b[:len(b)-8-n]...), foot...)
	forged = binary.LittleEndian.AppendUint32(forged, uint32(len(foot)))
	forged = append(forged, "PAR1"...)
	if err := os.WriteFile(labels, forged, 0o644); err != nil {
		t.Fatal(err)
	}

	cfg := jobConfig("binary", []string{fixture("join/predictions.parquet")}, "label", "prob")
	cfg.Labels = &config.Labels{Inputs: []string{labels}, Join: []string{"request_id"}}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, _, err = runTo(t, cfg, 2, 0)
	runtime.ReadMemStats(&after)
	if !errors.Is(err, evalerr.ErrInput) || !strings.Contains(err.Error(), "forged.parquet") {
		t.Errorf("got %v, want an input error naming the file", err)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 256<<20 {
		t.Errorf("allocated %d MB for a %d-byte file", alloc>>20, len(forged))
	}
}

// TestJoinFastPath: joined chunks take the binary and token fast paths
// when every row found its label row, and the general loop when one did
// not; either way the bytes are those of the general loop alone.
func TestJoinFastPath(t *testing.T) {
	c := joinCases()[0] // binary
	base := c.cfg
	noWeight := func() *config.Config {
		cfg := base()
		cfg.Columns.Weight = ""
		return cfg
	}
	c.cfg, c.labelCols = noWeight, []string{"label"}
	for _, drop := range []int{0, 7} {
		combined, preds, labels, dropped := splitSides(t, c, c.cfg(), 2, drop, 5)
		refCfg := c.cfg()
		refCfg.Inputs = []string{combined}
		_, refDir, err := runTo(t, refCfg, 2, 0)
		if err != nil {
			t.Fatal(err)
		}
		var outs [2][]byte
		for k, fast := range []bool{true, false} {
			fastPaths = fast
			_, dir, err := runTo(t, joinedConfig(c, preds, labels, "skip"), 2, 100)
			fastPaths = true
			if err != nil {
				t.Fatal(err)
			}
			sameSummary(t, refDir, dir, int64(len(dropped)))
			for _, name := range []string{SummaryFile, RowsFile} {
				b, _ := os.ReadFile(filepath.Join(dir, name))
				outs[k] = append(outs[k], b...)
			}
		}
		if !bytes.Equal(outs[0], outs[1]) {
			t.Errorf("drop every %d: the fast paths change the output", drop)
		}
	}
}

// TestJoinKeepLabel: keep naming the label (or the label files' weight)
// copies the joined value into rows.parquet, the one that was scored
// (SPEC §2: the label side supplies the label and wins over a column of
// its name); it was read from the prediction files, which need not have
// one (exit 3, "missing column"). Unmatched rows have nulls there.
func TestJoinKeepLabel(t *testing.T) {
	cfg, err := config.Load(filepath.Join("..", "configs", "join.yaml"), []string{"output.dir=" + t.TempDir(), "columns.keep=[request_id, label, weight]"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Run(context.Background(), cfg, Options{}); err != nil {
		t.Fatal(err)
	}
	labels := openTable(t, fixture(filepath.Join("join", "labels.parquet")))
	want := map[int64][2]float64{}
	ids, ls, ws := labels.cols["request_id"].(*array.Int64), labels.cols["label"].(*array.Int64), labels.cols["weight"].(*array.Float64)
	for i := range ids.Len() {
		want[ids.Value(i)] = [2]float64{float64(ls.Value(i)), ws.Value(i)}
	}
	rows := openTable(t, filepath.Join(cfg.Output.Dir, RowsFile))
	rid, rl, rw := rows.cols["request_id"].(*array.Int64), rows.cols["label"].(*array.Int64), rows.cols["weight"].(*array.Float64)
	matched := 0
	for i := range rid.Len() {
		w, ok := want[rid.Value(i)]
		if rid.IsNull(i) || !ok {
			if rl.IsValid(i) || rw.IsValid(i) {
				t.Errorf("row %d (unmatched): label %v, weight %v, want nulls", i, rl.Value(i), rw.Value(i))
			}
			continue
		}
		matched++
		if rl.IsNull(i) || float64(rl.Value(i)) != w[0] || rw.IsNull(i) || rw.Value(i) != w[1] {
			t.Errorf("row %d, request_id %d: label %v, weight %v, want %v", i, rid.Value(i), rl.Value(i), rw.Value(i), w)
		}
	}
	if matched != 135 {
		t.Errorf("%d matched rows, want 135 (testdata/README.md)", matched)
	}
}

// TestJoinGroupByLabel: group_by naming the label, with label files,
// groups by the joined label (the label side wins, SPEC §2), as keep does:
// a review found keep: [label] giving the prediction side's column as soon
// as the label was also a group_by column.
func TestJoinGroupByLabel(t *testing.T) {
	cfg, err := config.Load(filepath.Join("..", "configs", "join.yaml"),
		[]string{"output.dir=" + t.TempDir(), "columns.keep=[request_id, label]", "group_by=[[label]]"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Run(context.Background(), cfg, Options{}); err != nil {
		t.Fatal(err)
	}
	labels := openTable(t, fixture(filepath.Join("join", "labels.parquet")))
	ids, ls := labels.cols["request_id"].(*array.Int64), labels.cols["label"].(*array.Int64)
	want := map[int64]int64{} // label -> matched prediction rows (ids 1..150 but multiples of 10)
	for i := range ids.Len() {
		if id := ids.Value(i); id <= 150 && id%10 != 0 {
			want[ls.Value(i)]++
		}
	}
	sum := openTable(t, filepath.Join(cfg.Output.Dir, SummaryFile))
	key, rows := sum.cols["label"].(*array.Int64), sum.cols["rows"].(*array.Int64)
	got := map[int64]int64{}
	for i := 1; i < key.Len(); i++ { // after the overall row
		if key.IsValid(i) {
			got[key.Value(i)] = rows.Value(i)
		}
	}
	if !maps.Equal(got, want) {
		t.Errorf("rows by joined label %v, want %v", got, want)
	}
	rowsOut := openTable(t, filepath.Join(cfg.Output.Dir, RowsFile))
	if rowsOut.cols["label"].DataType().ID() != arrow.INT64 || rowsOut.cols["label"].NullN() != 15 {
		t.Errorf("rows.parquet label: %s with %d nulls, want the joined int64 with 15 (unmatched)", rowsOut.cols["label"].DataType(), rowsOut.cols["label"].NullN())
	}
}
