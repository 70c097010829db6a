package pipeline

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/memory"

	"github.com/evaljob/evaljob/config"
	"github.com/evaljob/evaljob/evalerr"
)

// Regression tests for defects found in review, named after what they
// caught.

// multiclassRecord builds label + probs list rows.
func multiclassRecord(labels []int64, probs [][]float64) arrow.Record {
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "label", Type: arrow.PrimitiveTypes.Int64},
		{Name: "probs", Type: arrow.ListOf(arrow.PrimitiveTypes.Float64)},
	}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	lb := b.Field(1).(*array.ListBuilder)
	for i, y := range labels {
		b.Field(0).(*array.Int64Builder).Append(y)
		lb.Append(true)
		lb.ValueBuilder().(*array.Float64Builder).AppendValues(probs[i], nil)
	}
	return b.NewRecord()
}

// The class count came from the first row even when that row was invalid.
func TestClassesFromFirstScoredRow(t *testing.T) {
	dir := t.TempDir()
	rec := multiclassRecord([]int64{5, 0, 2, 1}, [][]float64{{0.5, 0.5}, {0.2, 0.3, 0.5}, {0.1, 0.1, 0.8}, {0.3, 0.4, 0.3}})
	defer rec.Release()
	in := filepath.Join(dir, "mc.parquet")
	writeParquet(t, in, rec, 10)

	cfg := jobConfig("multiclass", []string{in}, "label", "probs")
	cfg.Options.OnInvalid = "skip"
	sum := summaryOf(t, cfg)
	if sum.int("rows", 0) != 3 || sum.int("invalid_rows", 0) != 1 {
		t.Errorf("rows %d invalid %d, want 3 and 1 (C = 3 from row 1)", sum.int("rows", 0), sum.int("invalid_rows", 0))
	}
	cfg.Options.OnInvalid = "error"
	cfg.Output.Dir = t.TempDir()
	_, err := Run(context.Background(), cfg, Options{})
	var ie *evalerr.InputError
	if !errors.As(err, &ie) || ie.Row != 0 || !strings.Contains(err.Error(), "2 entries, the task has 3 classes") {
		t.Errorf("err = %v, want row 0 named for its list length against C = 3", err)
	}
}

// firstRowClasses reads a unit's head (classHeadRows rows) before the whole
// unit: when no row of the head can be scored, the whole unit decides.
func TestClassesFromBeyondTheHead(t *testing.T) {
	n, first := classHeadRows+500, classHeadRows+100
	labels, probs := make([]int64, n), make([][]float64, n)
	for i := range n {
		labels[i], probs[i] = 5, []float64{0.5, 0.5} // label outside [0, 2): invalid
		if i >= first {
			labels[i], probs[i] = int64(i%3), []float64{0.2, 0.3, 0.5}
		}
	}
	rec := multiclassRecord(labels, probs)
	defer rec.Release()
	in := filepath.Join(t.TempDir(), "mc.parquet")
	writeParquet(t, in, rec, int64(n)) // one row group
	cfg := jobConfig("multiclass", []string{in}, "label", "probs")
	cfg.Options.OnInvalid = "skip"
	sum := summaryOf(t, cfg)
	if got, want := sum.int("rows", 0), int64(n-first); got != want || sum.int("invalid_rows", 0) != int64(first) {
		t.Errorf("rows %d invalid %d, want %d and %d (C = 3 from row %d)", got, sum.int("invalid_rows", 0), want, first, first)
	}
}

// With one column per class, the error named the first column, not the bad one.
func TestClassColumnAtFault(t *testing.T) {
	dir := t.TempDir()
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "label", Type: arrow.PrimitiveTypes.Int64},
		{Name: "p0", Type: arrow.PrimitiveTypes.Float64},
		{Name: "p1", Type: arrow.PrimitiveTypes.Float64},
		{Name: "p2", Type: arrow.PrimitiveTypes.Float64},
	}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	for _, row := range [][4]float64{{0, 0.2, 0.3, 0.5}, {1, 0.2, 1.5, 0.3}, {2, 0.2, 0.2, 0.2}} {
		b.Field(0).(*array.Int64Builder).Append(int64(row[0]))
		for k := 1; k < 4; k++ {
			b.Field(k).(*array.Float64Builder).Append(row[k])
		}
	}
	rec := b.NewRecord()
	b.Release()
	defer rec.Release()
	in := filepath.Join(dir, "cols.parquet")
	writeParquet(t, in, rec, 10)

	cfg := jobConfig("multiclass", []string{in}, "label", "p0", "p1", "p2")
	cfg.Output.Dir = t.TempDir()
	_, err := Run(context.Background(), cfg, Options{})
	var ie *evalerr.InputError
	if !errors.As(err, &ie) || ie.Row != 1 || ie.Column != "p1" || ie.Value != "1.5" {
		t.Errorf("err = %v, want row 1 column p1 value 1.5", err)
	}
	// A row-level problem (the sum) lists every class column.
	cfg.Options.OnInvalid = "skip"
	if sum := summaryOf(t, cfg); sum.int("invalid_rows", 0) != 2 {
		t.Errorf("invalid_rows %d, want 2", sum.int("invalid_rows", 0))
	}
}

// An overwrite run without per_row left the earlier run's rows.parquet.
func TestOverwriteRemovesStaleRows(t *testing.T) {
	cfg := jobConfig("binary", []string{fixture("example")}, "label", "prob")
	cfg.Output = config.Output{Dir: t.TempDir(), PerRow: true}
	if _, err := Run(context.Background(), cfg, Options{}); err != nil {
		t.Fatal(err)
	}
	cfg.Output.PerRow, cfg.Output.Overwrite = false, true
	if _, err := Run(context.Background(), cfg, Options{}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(cfg.Output.Dir, RowsFile)); !os.IsNotExist(err) {
		t.Errorf("rows.parquet of the earlier run is still there (stat err %v)", err)
	}
}

// Which invalid row was reported depended on scheduling: the first bad row
// is the last row of its unit, the next one the first row of the next unit,
// so a worker on the later unit usually finds its bad row first.
func TestFirstInvalidRowIsReported(t *testing.T) {
	dir := t.TempDir()
	rows := binaryRows(16000, 11)
	for i := range rows {
		if rows[i].label == -100 {
			rows[i].label = 0
		}
	}
	for _, i := range []int{3999, 4000, 6000, 8000, 10000, 12000} {
		rows[i].prob = -0.5
	}
	rec := binaryRecord(rows)
	defer rec.Release()
	in := filepath.Join(dir, "bad.parquet")
	writeParquet(t, in, rec, 2000)
	for range 8 {
		cfg := binaryConfig(t, []string{in}, t.TempDir())
		cfg.Workers = 4
		_, err := Run(context.Background(), cfg, Options{})
		var ie *evalerr.InputError
		if !errors.As(err, &ie) || ie.Row != 3999 || ie.RowGroup != 1 {
			t.Fatalf("err = %v, want row 3999 (row group 1), the first invalid row", err)
		}
	}
}

// A cancelled run publishes nothing, even when the cancel comes after the
// rows were scored.
func TestCancelledRunPublishesNothing(t *testing.T) {
	cfg := jobConfig("binary", []string{fixture("example")}, "label", "prob")
	cfg.Output = config.Output{Dir: t.TempDir(), PerRow: true}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Run(ctx, cfg, Options{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	entries, _ := os.ReadDir(cfg.Output.Dir)
	if len(entries) != 0 {
		t.Errorf("a cancelled run left %d files, e.g. %s", len(entries), entries[0].Name())
	}
}

// A uint64 label of 2^64-100 has the bits of int64 -100 but is not ignore_index.
func TestUint64LabelIsNotIgnoreIndex(t *testing.T) {
	dir := t.TempDir()
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "label", Type: arrow.PrimitiveTypes.Uint64},
		{Name: "prob", Type: arrow.PrimitiveTypes.Float64},
	}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	b.Field(0).(*array.Uint64Builder).AppendValues([]uint64{1, 1<<64 - 100}, nil)
	b.Field(1).(*array.Float64Builder).AppendValues([]float64{0.9, 0.9}, nil)
	rec := b.NewRecord()
	b.Release()
	defer rec.Release()
	in := filepath.Join(dir, "u.parquet")
	writeParquet(t, in, rec, 10)
	cfg := jobConfig("binary", []string{in}, "label", "prob")
	cfg.Options.OnInvalid = "skip"
	sum := summaryOf(t, cfg)
	if sum.int("ignored_rows", 0) != 0 || sum.int("invalid_rows", 0) != 1 {
		t.Errorf("ignored %d invalid %d, want 0 and 1", sum.int("ignored_rows", 0), sum.int("invalid_rows", 0))
	}
}

// TestNoLeaks: every Arrow buffer is released and every goroutine has
// ended, after a successful run, an input error and a cancelled run.
func TestNoLeaks(t *testing.T) {
	dir := t.TempDir()
	rows := binaryRows(3000, 12)
	rows[2500].prob = 2
	rec := binaryRecord(rows)
	writeParquet(t, filepath.Join(dir, "bad.parquet"), rec, 300)
	rec.Release()
	good := []string{fixture("example"), fixture("multiclass/list_f64.arrows")}

	for _, tc := range []struct {
		name   string
		inputs []string
		cancel bool
		task   string
	}{
		{"success", good[:1], false, "binary"},
		{"success ipc", good[1:], false, "multiclass"},
		{"input error", []string{filepath.Join(dir, "bad.parquet")}, false, "binary"},
		{"cancelled", good[:1], true, "binary"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := runtime.NumGoroutine()
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			cfg := jobConfig(tc.task, tc.inputs, "label", "prob")
			if tc.task == "multiclass" {
				cfg.Columns.Prediction = config.StringList{"probs"}
			}
			cfg.Output = config.Output{Dir: t.TempDir(), PerRow: true}
			cfg.Workers = 3
			ctx, cancel := context.WithCancel(context.Background())
			if tc.cancel {
				cancel()
			}
			_, err := Run(ctx, cfg, Options{Allocator: mem, BatchRows: 50})
			cancel()
			if (err != nil) != (tc.name == "input error" || tc.cancel) {
				t.Fatalf("err = %v", err)
			}
			mem.AssertSize(t, 0)
			for range 100 {
				if runtime.NumGoroutine() <= before {
					break
				}
				time.Sleep(10 * time.Millisecond)
			}
			if n := runtime.NumGoroutine(); n > before {
				t.Errorf("%d goroutines before the run, %d after", before, n)
			}
		})
	}
}

// Token sequences were keyed by every group_by column of every grouping
// set, so adding a set changed another set's rows. A sequence is
// identified by its group's keys and its sequence value (SPEC §3).
func TestTokenSequencesPerGroupingSet(t *testing.T) {
	dir := t.TempDir()
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "model", Type: arrow.BinaryTypes.String},
		{Name: "slice", Type: arrow.BinaryTypes.String},
		{Name: "doc", Type: arrow.PrimitiveTypes.Int64},
		{Name: "lp", Type: arrow.PrimitiveTypes.Float64},
	}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	for _, r := range []struct {
		model, slice string
		doc          int64
		lp           float64
	}{{"a", "x", 1, -1}, {"a", "y", 1, -2}, {"a", "x", 1, -3}, {"a", "x", 2, -0.5}, {"b", "x", 1, -1.5}, {"b", "x", 1, -0.25}} {
		b.Field(0).(*array.StringBuilder).Append(r.model)
		b.Field(1).(*array.StringBuilder).Append(r.slice)
		b.Field(2).(*array.Int64Builder).Append(r.doc)
		b.Field(3).(*array.Float64Builder).Append(r.lp)
	}
	rec := b.NewRecord()
	b.Release()
	defer rec.Release()
	in := filepath.Join(dir, "sets.parquet")
	writeParquet(t, in, rec, 10)
	run := func(sets config.GroupSets) *table {
		cfg := jobConfig("token", []string{in}, "", "lp")
		cfg.Columns.PredictionKind = "logprob"
		cfg.Columns.Sequence = "doc"
		cfg.GroupBy = sets
		return summaryOf(t, cfg)
	}
	one := run(config.GroupSets{{"model"}})
	two := run(config.GroupSets{{"model"}, {"model", "slice"}})
	for i := range 3 { // overall, model=a, model=b
		for _, name := range []string{"seq_perplexity_mean", "cross_entropy_stderr", "seq_perplexity_sum", "cross_entropy"} {
			x, xok := one.float(name, i)
			y, yok := two.float(name, i)
			if x != y || xok != yok {
				t.Errorf("row %d %s: %v with one grouping set, %v with two", i, name, x, y)
			}
		}
		if one.int("sequences", i) != two.int("sequences", i) {
			t.Errorf("row %d: sequences %d with one grouping set, %d with two", i, one.int("sequences", i), two.int("sequences", i))
		}
	}
	// By hand: model a has sequences doc 1 (-1, -2, -3: ce 2) and doc 2
	// (ce 0.5); overall (no keys) doc 1 also takes model b's tokens:
	// (1+2+3+1.5+0.25)/5 = 1.55, doc 2: 0.5.
	for i, want := range []struct {
		seqs int64
		mean float64
	}{{2, (math.Exp(1.55) + math.Exp(0.5)) / 2}, {2, (math.Exp(2) + math.Exp(0.5)) / 2}, {1, math.Exp(0.875)}} {
		got, _ := two.float("seq_perplexity_mean", i)
		if two.int("sequences", i) != want.seqs || math.Abs(got-want.mean) > 1e-15*want.mean {
			t.Errorf("row %d: %d sequences, seq_perplexity_mean %v; want %d, %v", i, two.int("sequences", i), got, want.seqs, want.mean)
		}
		sum, _ := two.float("seq_perplexity_sum", i)
		if got != sum/float64(two.int("sequences", i)) {
			t.Errorf("row %d: seq_perplexity_mean %v is not seq_perplexity_sum / sequences = %v", i, got, sum/float64(two.int("sequences", i)))
		}
	}
}

// Errors on list values showed up to 8 entries of the list, not the
// offending one (SPEC §1: the message names the offending value).
func TestListErrorsNameTheEntry(t *testing.T) {
	dir := t.TempDir()
	// 20 entries; entry 15 is bad.
	list := func(bad float64, fill float64) []float64 {
		v := make([]float64, 20)
		for k := range v {
			v[k] = fill
		}
		v[15] = bad
		return v
	}
	write := func(name string, label arrow.DataType, labels []any, pred [][]float64, extra func(*array.RecordBuilder)) string {
		fields := []arrow.Field{{Name: "label", Type: label}, {Name: "pred", Type: arrow.ListOf(arrow.PrimitiveTypes.Float64)}, {Name: "doc", Type: arrow.PrimitiveTypes.Int64}}
		if extra != nil {
			fields = append(fields, arrow.Field{Name: "mask", Type: arrow.ListOf(arrow.PrimitiveTypes.Int32)})
		}
		b := array.NewRecordBuilder(memory.DefaultAllocator, arrow.NewSchema(fields, nil))
		defer b.Release()
		for i, p := range pred {
			switch l := labels[i].(type) {
			case int64:
				b.Field(0).(*array.Int64Builder).Append(l)
			case []float64:
				lb := b.Field(0).(*array.ListBuilder)
				lb.Append(true)
				lb.ValueBuilder().(*array.Float64Builder).AppendValues(l, nil)
			}
			pb := b.Field(1).(*array.ListBuilder)
			pb.Append(true)
			pb.ValueBuilder().(*array.Float64Builder).AppendValues(p, nil)
			b.Field(2).(*array.Int64Builder).Append(int64(i))
		}
		if extra != nil {
			extra(b)
		}
		rec := b.NewRecord()
		defer rec.Release()
		path := filepath.Join(dir, name+".parquet")
		writeParquet(t, path, rec, 10)
		return path
	}
	ones := func(n int, v float64) []float64 {
		out := make([]float64, n)
		for k := range out {
			out[k] = v
		}
		return out
	}
	for _, tc := range []struct {
		name, task, kind, column, value, why string
		path                                 string
		seq                                  bool
		mask                                 bool
	}{
		{name: "multiclass prob", task: "multiclass", kind: "prob", column: "pred", value: "-0.25", why: "entry 15: probability outside [0, 1]",
			path: write("mc", arrow.PrimitiveTypes.Int64, []any{int64(1)}, [][]float64{list(-0.25, 0.05)}, nil)},
		{name: "multilabel prob", task: "multilabel", kind: "prob", column: "pred", value: "1.5", why: "entry 15: probability outside [0, 1]",
			path: write("ml", arrow.ListOf(arrow.PrimitiveTypes.Float64), []any{ones(20, 1)}, [][]float64{list(1.5, 0.5)}, nil)},
		{name: "multilabel label", task: "multilabel", kind: "prob", column: "label", value: "2", why: "entry 3: a label must be",
			path: write("mll", arrow.ListOf(arrow.PrimitiveTypes.Float64), []any{append(ones(3, 1), ones(17, 2)...)}, [][]float64{ones(20, 0.5)}, nil)},
		{name: "token logits", task: "token", kind: "logit", column: "pred", value: "NaN", why: "entry 15: NaN value", seq: true,
			path: write("tl", arrow.PrimitiveTypes.Int64, []any{int64(2)}, [][]float64{list(math.NaN(), 0)}, nil)},
		{name: "token list", task: "token", kind: "logprob", column: "pred", value: "0.5", why: "entry 15: log-probability above 1e-6",
			path: write("tlist", arrow.PrimitiveTypes.Int64, []any{int64(0)}, [][]float64{list(0.5, -1)}, nil)},
		{name: "token mask", task: "token", kind: "logprob", column: "mask", value: "2", why: "entry 4: a mask entry must be", mask: true,
			path: write("tmask", arrow.PrimitiveTypes.Int64, []any{int64(0)}, [][]float64{ones(20, -1)}, func(b *array.RecordBuilder) {
				mb := b.Field(3).(*array.ListBuilder)
				mb.Append(true)
				m := []int32{1, 1, 0, 1, 2, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1}
				mb.ValueBuilder().(*array.Int32Builder).AppendValues(m, nil)
			})},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := jobConfig(tc.task, []string{tc.path}, "label", "pred")
			cfg.Columns.PredictionKind = tc.kind
			if tc.task == "token" && tc.kind == "logprob" {
				cfg.Columns.Label = ""
			}
			if tc.seq {
				cfg.Columns.Sequence = "doc"
			}
			if tc.mask {
				cfg.Columns.Mask = "mask"
			}
			cfg.Output.Dir = t.TempDir()
			_, err := Run(context.Background(), cfg, Options{})
			var ie *evalerr.InputError
			if !errors.As(err, &ie) || ie.Column != tc.column || ie.Value != tc.value || !strings.Contains(err.Error(), tc.why) {
				t.Errorf("err = %v\nwant column %q value %q and %q", err, tc.column, tc.value, tc.why)
			}
		})
	}
}

// label_smoothing with class_weights, as SPEC §3 defines them: the row's
// weight is its sample weight times class_weights[y], and its loss the
// cross-entropy against the smoothed target (1-e)·onehot + e/C, with no
// class weight inside (PyTorch's cross_entropy(weight=cw,
// label_smoothing=e) weights the smoothing term's classes by cw_k too:
// README). Computed here from that definition, with math.Log.
func TestClassWeightsWithSmoothing(t *testing.T) {
	dir := t.TempDir()
	labels := []int64{0, 1, 2, 1, 0, 2, 2}
	probs := [][]float64{{0.5, 0.5, 0}, {0.2, 0.3, 0.5}, {0.1, 0.1, 0.8}, {0.3, 0.4, 0.3}, {0.7, 0.2, 0.1}, {0.25, 0.25, 0.5}, {0.6, 0.3, 0.1}}
	rec := multiclassRecord(labels, probs)
	defer rec.Release()
	in := filepath.Join(dir, "mc.parquet")
	writeParquet(t, in, rec, 3)
	cw := []float64{1, 3, 0.5}
	const e, c, eps = 0.2, 3, 0x1p-52
	var ws, ls []float64
	for i, y := range labels {
		l := 0.0
		for k := range c {
			target := e / c
			if k == int(y) {
				target += 1 - e
			}
			l -= target * math.Log(min(max(probs[i][k], eps), 1-eps))
		}
		ws, ls = append(ws, cw[y]), append(ls, l)
	}
	want, _ := exactMean(ws, ls)
	cfg := jobConfig("multiclass", []string{in}, "label", "probs")
	cfg.Options.LabelSmoothing = e
	cfg.Options.ClassWeights = cw
	sum := summaryOf(t, cfg)
	if got, _ := sum.float("cross_entropy", 0); math.Abs(got-want) > 1e-14*want {
		t.Errorf("cross_entropy %v, SPEC's %v", got, want)
	}
	if got, _ := sum.float("weight_sum", 0); got != 1+3+0.5+3+1+0.5+0.5 {
		t.Errorf("weight_sum %v, want %v", got, 1+3+0.5+3+1+0.5+0.5)
	}
}

// Token long layout, rows.parquet: a sequence came in order of its first
// *scored* row, and one with no scored row was missing (an audit). SPEC §4:
// one row per sequence, in order of first appearance. The rows of the
// audit: s2's first row is invalid (a logprob above 1e-6), s4's only row
// too, and a null sequence belongs to none; the summary counts only the
// sequences with a scored token.
func TestTokenSequencesInOrderOfFirstAppearance(t *testing.T) {
	dir := t.TempDir()
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "model", Type: arrow.BinaryTypes.String},
		{Name: "doc_id", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "lp", Type: arrow.PrimitiveTypes.Float64},
	}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	docs := []string{"s1", "s2", "s1", "s3", "s2", "", "s4", "s5"}
	lps := []float64{-1, 0.5, -2, -1, -1, -1, 0.7, -0.5}
	for i, d := range docs {
		b.Field(0).(*array.StringBuilder).Append("m")
		if d == "" {
			b.Field(1).AppendNull()
		} else {
			b.Field(1).(*array.StringBuilder).Append(d)
		}
		b.Field(2).(*array.Float64Builder).Append(lps[i])
	}
	rec := b.NewRecord()
	b.Release()
	defer rec.Release()
	in := filepath.Join(dir, "t.parquet")
	writeParquet(t, in, rec, 3)

	cfg := jobConfig("token", []string{in}, "", "lp")
	cfg.Columns.PredictionKind = "logprob"
	cfg.Columns.Sequence = "doc_id"
	cfg.Options.OnInvalid = "skip"
	cfg.Output.PerRow = true
	sum := summaryOf(t, cfg)
	if sum.int("sequences", 0) != 4 || sum.int("tokens", 0) != 5 || sum.int("invalid_rows", 0) != 3 {
		t.Errorf("sequences %d tokens %d invalid %d, want 4 5 3", sum.int("sequences", 0), sum.int("tokens", 0), sum.int("invalid_rows", 0))
	}
	rt := openTable(t, filepath.Join(cfg.Output.Dir, RowsFile))
	want := []struct {
		doc    string
		tokens int64
		ce     float64 // -1: null
	}{{"s1", 2, 1.5}, {"s2", 1, 1}, {"s3", 1, 1}, {"s4", 0, -1}, {"s5", 1, 0.5}}
	if rt.tbl.NumRows() != int64(len(want)) {
		t.Fatalf("rows.parquet has %d rows, want %d", rt.tbl.NumRows(), len(want))
	}
	for i, w := range want {
		doc, _ := rt.str("doc_id", i)
		ce, ok := rt.float("cross_entropy", i)
		if doc != w.doc || rt.int("tokens", i) != w.tokens || ok != (w.ce >= 0) || (ok && ce != w.ce) {
			t.Errorf("row %d: %s, %d tokens, cross_entropy %v (%v); want %s, %d, %v", i, doc, rt.int("tokens", i), ce, ok, w.doc, w.tokens, w.ce)
		}
	}
}

// A large_utf8 group or kept column in an Arrow file and a string one in a
// Parquet file are the same column ("mixed formats allowed", SPEC §2; an
// audit: exit 3, "type large_utf8 differs from utf8"). The run reads as
// if both were strings: the same summary and rows as all-Parquet inputs.
func TestLargeStringsAcrossFormats(t *testing.T) {
	dir := t.TempDir()
	build := func(strType arrow.DataType, models []string) arrow.Record {
		schema := arrow.NewSchema([]arrow.Field{
			{Name: "model", Type: strType},
			{Name: "label", Type: arrow.PrimitiveTypes.Int64},
			{Name: "prob", Type: arrow.PrimitiveTypes.Float64},
			{Name: "id", Type: strType},
		}, nil)
		b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
		defer b.Release()
		for i, m := range models {
			id := fmt.Sprintf("%s-%d-request-id", models[0], i) // unique across the two files of a run; over 12 bytes (a view then points into a data buffer)
			for _, f := range []int{0, 3} {
				v := m
				if f == 3 {
					v = id
				}
				b.Field(f).(interface{ Append(string) }).Append(v)
			}
			b.Field(1).(*array.Int64Builder).Append(int64(i % 2))
			b.Field(2).(*array.Float64Builder).Append(0.1 + 0.8*float64(i%5)/4)
		}
		return b.NewRecord()
	}
	first := []string{"a", "b", "a", "c"}
	second := []string{"b", "b", "c", "a", "a"}
	p1, p2, arrowFile := filepath.Join(dir, "1.parquet"), filepath.Join(dir, "2.parquet"), filepath.Join(dir, "2.arrow")
	viewFile := filepath.Join(dir, "2v.arrows")
	for _, w := range []struct {
		path    string
		strType arrow.DataType
		models  []string
	}{
		{p1, arrow.BinaryTypes.String, first},
		{p2, arrow.BinaryTypes.String, second},
		{arrowFile, arrow.BinaryTypes.LargeString, second},
		{viewFile, arrow.BinaryTypes.StringView, second}, // Polars writes its strings so
	} {
		rec := build(w.strType, w.models)
		if strings.Contains(w.path, ".arrow") {
			writeIPC(t, w.path, rec, strings.HasSuffix(w.path, ".arrows"))
		} else {
			writeParquet(t, w.path, rec, 2)
		}
		rec.Release()
	}
	run := func(inputs ...string) ([]byte, []byte) {
		cfg := jobConfig("binary", inputs, "label", "prob")
		cfg.GroupBy = config.GroupSets{{"model"}}
		cfg.Columns.Keep = []string{"model"}
		cfg.Output.PerRow = true
		sum := runJob(t, cfg)
		rows, err := os.ReadFile(filepath.Join(cfg.Output.Dir, RowsFile))
		if err != nil {
			t.Fatal(err)
		}
		return sum, rows
	}
	wantSum, wantRows := run(p1, p2)
	gotSum, gotRows := run(p1, arrowFile)
	if !bytes.Equal(gotSum, wantSum) || !bytes.Equal(gotRows, wantRows) {
		t.Error("a large_utf8 column in an Arrow file read differently from a string one")
	}
	// string_view reads as utf8, second or first (it was refused): the
	// same bytes as the Parquet copy of its rows.
	for _, order := range [][2][]string{{{p1, viewFile}, {p1, p2}}, {{viewFile, p1}, {p2, p1}}} {
		gotSum, gotRows := run(order[0]...)
		wantSum, wantRows := run(order[1]...)
		if !bytes.Equal(gotSum, wantSum) || !bytes.Equal(gotRows, wantRows) {
			t.Errorf("%v: a string_view column read differently from a string one", order[0])
		}
	}
	// The Arrow file first: its large_utf8 is the type written, and a
	// paired gate joins its rows to a Parquet run's by the string id (it
	// failed: "join column is utf8 there, large_utf8 here").
	base := jobConfig("binary", []string{p2, p1}, "label", "prob")
	base.Columns.Keep = []string{"id"}
	base.Output.PerRow = true
	runJob(t, base)
	cfg := jobConfig("binary", []string{arrowFile, p1}, "label", "prob")
	cfg.GroupBy = config.GroupSets{{"model"}}
	cfg.Columns.Keep = []string{"id"}
	cfg.Output.PerRow = true
	cfg.Gates = []config.Gate{{Metric: "log_loss", BaselineRows: filepath.Join(base.Output.Dir, RowsFile), Join: []string{"id"}, MaxIncreaseAbs: ptr(0.0)}}
	sum := summaryOf(t, cfg)
	if got, _ := sum.str("model", 1); got != "a" || sum.int("rows", 1) != 4 {
		t.Errorf("large_utf8 first: model %q rows %d, want a, 4", got, sum.int("rows", 1))
	}
	gatesJSON, err := os.ReadFile(filepath.Join(cfg.Output.Dir, "gates.json"))
	if err != nil || !strings.Contains(string(gatesJSON), `"passed": true`) || !strings.Contains(string(gatesJSON), "paired over 9 matched rows (0 unmatched)") {
		t.Errorf("paired gate: %v\n%s", err, gatesJSON)
	}
}

// The same in the logit layout, for a sequence whose rows are all ignored
// (ignore_index) and one whose rows found no label row (labels in their own
// files, unmatched: skip); without per-row output no sequence is made for
// them (the summary is the same either way).
func TestTokenSequencesIgnoredAndUnlabeled(t *testing.T) {
	dir := t.TempDir()
	predSchema := arrow.NewSchema([]arrow.Field{
		{Name: "req", Type: arrow.PrimitiveTypes.Int64},
		{Name: "doc_id", Type: arrow.BinaryTypes.String},
		{Name: "logits", Type: arrow.ListOf(arrow.PrimitiveTypes.Float64)},
	}, nil)
	pb := array.NewRecordBuilder(memory.DefaultAllocator, predSchema)
	docs := []string{"s1", "s2", "s3", "s1", "s2", "s3", "s4"}
	for i, d := range docs {
		pb.Field(0).(*array.Int64Builder).Append(int64(i))
		pb.Field(1).(*array.StringBuilder).Append(d)
		lb := pb.Field(2).(*array.ListBuilder)
		lb.Append(true)
		lb.ValueBuilder().(*array.Float64Builder).AppendValues([]float64{0, 0}, nil)
	}
	preds := pb.NewRecord()
	pb.Release()
	defer preds.Release()
	// Labels: s2's rows (1, 4) have none, s3's (2, 5) are ignored.
	labelSchema := arrow.NewSchema([]arrow.Field{
		{Name: "req", Type: arrow.PrimitiveTypes.Int64},
		{Name: "target", Type: arrow.PrimitiveTypes.Int64},
	}, nil)
	lb := array.NewRecordBuilder(memory.DefaultAllocator, labelSchema)
	for _, row := range [][2]int64{{0, 1}, {2, -100}, {3, 0}, {5, -100}, {6, 1}} {
		lb.Field(0).(*array.Int64Builder).Append(row[0])
		lb.Field(1).(*array.Int64Builder).Append(row[1])
	}
	labels := lb.NewRecord()
	lb.Release()
	defer labels.Release()
	predPath, labelPath := filepath.Join(dir, "p.parquet"), filepath.Join(dir, "l.parquet")
	writeParquet(t, predPath, preds, 2)
	writeParquet(t, labelPath, labels, 10)

	run := func(perRow bool) ([]byte, *table) {
		cfg := jobConfig("token", []string{predPath}, "target", "logits")
		cfg.Columns.PredictionKind = "logit"
		cfg.Columns.Sequence = "doc_id"
		cfg.Labels = &config.Labels{Inputs: []string{labelPath}, Join: []string{"req"}, Unmatched: "skip"}
		cfg.Output.PerRow = perRow
		sum := runJob(t, cfg)
		if !perRow {
			return sum, nil
		}
		return sum, openTable(t, filepath.Join(cfg.Output.Dir, RowsFile))
	}
	withRows, rt := run(true)
	without, _ := run(false)
	if !bytes.Equal(withRows, without) {
		t.Error("the summary depends on per-row output")
	}
	want := []struct {
		doc    string
		tokens int64
	}{{"s1", 2}, {"s2", 0}, {"s3", 0}, {"s4", 1}}
	if rt.tbl.NumRows() != int64(len(want)) {
		t.Fatalf("rows.parquet has %d rows, want %d", rt.tbl.NumRows(), len(want))
	}
	for i, w := range want {
		doc, _ := rt.str("doc_id", i)
		ce, ok := rt.float("cross_entropy", i)
		if doc != w.doc || rt.int("tokens", i) != w.tokens || ok != (w.tokens > 0) || (ok && math.Abs(ce-math.Ln2) > 1e-15) {
			t.Errorf("row %d: %s, %d tokens, cross_entropy %v (%v); want %s, %d", i, doc, rt.int("tokens", i), ce, ok, w.doc, w.tokens)
		}
	}
}

// A job whose output folder sits inside its input folder ran once: the
// next run read the last one's summary.parquet as input (exit 3, missing
// column). The output folder is never an input.
func TestOutputInsideInputFolder(t *testing.T) {
	dir := t.TempDir()
	rec := multiclassRecord([]int64{0, 1, 2}, [][]float64{{0.5, 0.25, 0.25}, {0.2, 0.3, 0.5}, {0.1, 0.1, 0.8}})
	defer rec.Release()
	writeParquet(t, filepath.Join(dir, "data", "model=a", "p.parquet"), rec, 10)
	cfg := jobConfig("multiclass", []string{filepath.Join(dir, "data")}, "label", "probs")
	cfg.Output.Dir = filepath.Join(dir, "data", "results")
	cfg.Output.Overwrite = true
	cfg.Output.PerRow = true
	var first []byte
	for run := range 2 {
		if _, err := Run(context.Background(), cfg, Options{}); err != nil {
			t.Fatalf("run %d: %v", run, err)
		}
		b, err := os.ReadFile(filepath.Join(cfg.Output.Dir, SummaryFile))
		if err != nil {
			t.Fatal(err)
		}
		if run == 0 {
			first = b
		} else if !bytes.Equal(b, first) {
			t.Error("the second run's summary differs")
		}
	}
}
