package pipeline

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/decimal128"
	"github.com/apache/arrow/go/v17/arrow/memory"
	"github.com/apache/arrow/go/v17/parquet"
	"github.com/apache/arrow/go/v17/parquet/pqarrow"

	"github.com/evaljob/evaljob/config"
	"github.com/evaljob/evaljob/evalerr"
)

// ---- fixtures written with Arrow's Parquet writer (independent of our reader) ----

func writeParquet(t testing.TB, path string, rec arrow.Record, rowGroupRows int64) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tbl := array.NewTableFromRecords(rec.Schema(), []arrow.Record{rec})
	defer tbl.Release()
	props := parquet.NewWriterProperties(parquet.WithDictionaryDefault(true))
	if err := pqarrow.WriteTable(tbl, f, rowGroupRows, props, pqarrow.DefaultWriterProps()); err != nil {
		t.Fatal(err)
	}
}

func readParquet(t testing.TB, path string) arrow.Table {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tbl, err := pqarrow.ReadTable(context.Background(), f, nil, pqarrow.ArrowReadProperties{}, memory.DefaultAllocator)
	if err != nil {
		t.Fatal(err)
	}
	return tbl
}

// table is a read-back summary, addressed by column name.
type table struct {
	t    testing.TB
	tbl  arrow.Table
	cols map[string]arrow.Array
}

func openTable(t testing.TB, path string) *table {
	tbl := readParquet(t, path)
	tb := &table{t: t, tbl: tbl, cols: map[string]arrow.Array{}}
	for i, f := range tbl.Schema().Fields() {
		chunks := tbl.Column(i).Data().Chunks()
		if len(chunks) != 1 {
			a, err := array.Concatenate(chunks, memory.DefaultAllocator)
			if err != nil {
				t.Fatal(err)
			}
			tb.cols[f.Name] = a
		} else {
			tb.cols[f.Name] = chunks[0]
		}
	}
	return tb
}

func (tb *table) names() []string {
	var n []string
	for _, f := range tb.tbl.Schema().Fields() {
		n = append(n, f.Name)
	}
	return n
}

// float returns column name at row i, and false for null.
func (tb *table) float(name string, i int) (float64, bool) {
	a, ok := tb.cols[name]
	if !ok {
		tb.t.Fatalf("no column %q in %v", name, tb.names())
	}
	if a.IsNull(i) {
		return 0, false
	}
	return a.(*array.Float64).Value(i), true
}

func (tb *table) int(name string, i int) int64 { return tb.cols[name].(*array.Int64).Value(i) }

func (tb *table) str(name string, i int) (string, bool) {
	a := tb.cols[name]
	if a.IsNull(i) {
		return "", false
	}
	return a.(interface{ Value(int) string }).Value(i), true // string or large_string
}

// ---- independent reference ----

// exactMean is sum(w*x)/sum(w) computed with big floats wide enough to be
// exact, rounded once.
func exactMean(ws, xs []float64) (float64, bool) {
	const prec = 4096
	num, den := new(big.Float).SetPrec(prec), new(big.Float).SetPrec(prec)
	for i := range ws {
		w := new(big.Float).SetPrec(prec).SetFloat64(ws[i])
		x := new(big.Float).SetPrec(prec).SetFloat64(xs[i])
		num.Add(num, new(big.Float).SetPrec(prec).Mul(w, x))
		den.Add(den, w)
	}
	if den.Sign() == 0 {
		return 0, false
	}
	q, _ := new(big.Float).SetPrec(prec).Quo(num, den).Float64()
	return q, true
}

// refStderr is the SPEC formula, two-pass around the exact mean, in big
// floats: sqrt( sum w (l-m)^2 / (sum w * (n_eff - 1)) ), n_eff = W^2/sum w^2.
func refStderr(ws, ls []float64) (float64, bool) {
	const prec = 4096
	bf := func(v float64) *big.Float { return new(big.Float).SetPrec(prec).SetFloat64(v) }
	mul := func(a, b *big.Float) *big.Float { return new(big.Float).SetPrec(prec).Mul(a, b) }
	W, W2, S1 := bf(0), bf(0), bf(0)
	for i, w := range ws {
		W.Add(W, bf(w))
		W2.Add(W2, mul(bf(w), bf(w)))
		S1.Add(S1, mul(bf(w), bf(ls[i])))
	}
	if W.Sign() == 0 {
		return 0, false
	}
	mean := new(big.Float).SetPrec(prec).Quo(S1, W)
	num := bf(0)
	for i, w := range ws {
		d := new(big.Float).SetPrec(prec).Sub(bf(ls[i]), mean)
		num.Add(num, mul(mul(d, d), bf(w)))
	}
	neff := new(big.Float).SetPrec(prec).Quo(mul(W, W), W2)
	if neff.Cmp(bf(1)) <= 0 {
		return 0, false
	}
	den := mul(W, new(big.Float).SetPrec(prec).Sub(neff, bf(1)))
	v := new(big.Float).SetPrec(prec).Quo(num, den)
	v.Sqrt(v)
	f, _ := v.Float64()
	return f, true
}

func closeTo(got, want float64) bool {
	if got == want {
		return true
	}
	return math.Abs(got-want) <= 1e-12*math.Abs(want)
}

// ---- binary ----

type binaryRow struct {
	model, slice string
	sliceNull    bool
	label        int64
	prob         float64
	weight       float64
	id           int64
}

func binaryRows(n int, seed uint64) []binaryRow {
	r := rand.New(rand.NewPCG(seed, 7))
	rows := make([]binaryRow, n)
	for i := range rows {
		row := binaryRow{model: []string{"m-a", "m-b", "m-c"}[r.IntN(3)], slice: fmt.Sprintf("s%d", r.IntN(4)),
			label: int64(r.IntN(2)), prob: r.Float64(), weight: 0.25 + 2*r.Float64(), id: int64(i)}
		switch r.IntN(40) {
		case 0:
			row.label = -100 // ignored
		case 1:
			row.sliceNull = true
		case 2:
			row.prob = 0 // clipped
		case 3:
			row.prob = 1
		case 4:
			row.label = -1 // a negative
		}
		rows[i] = row
	}
	return rows
}

func binaryRecord(rows []binaryRow) arrow.Record {
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "model", Type: arrow.BinaryTypes.String},
		{Name: "slice", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "label", Type: arrow.PrimitiveTypes.Int64},
		{Name: "prob", Type: arrow.PrimitiveTypes.Float64},
		{Name: "weight", Type: arrow.PrimitiveTypes.Float64},
		{Name: "request_id", Type: arrow.PrimitiveTypes.Int64},
	}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	for _, r := range rows {
		b.Field(0).(*array.StringBuilder).Append(r.model)
		if r.sliceNull {
			b.Field(1).AppendNull()
		} else {
			b.Field(1).(*array.StringBuilder).Append(r.slice)
		}
		b.Field(2).(*array.Int64Builder).Append(r.label)
		b.Field(3).(*array.Float64Builder).Append(r.prob)
		b.Field(4).(*array.Float64Builder).Append(r.weight)
		b.Field(5).(*array.Int64Builder).Append(r.id)
	}
	return b.NewRecord()
}

// refBinaryLoss is SPEC §3's binary prob loss written out directly.
func refBinaryLoss(p, y float64) float64 {
	eps := math.Ldexp(1, -52)
	q := math.Min(math.Max(p, eps), 1-eps)
	var l float64
	if y > 0 {
		l -= y * math.Log(q)
	}
	if y < 1 {
		l -= (1 - y) * math.Log1p(-q)
	}
	return l
}

func binaryConfig(t *testing.T, inputs []string, out string) *config.Config {
	cfg := config.Default()
	cfg.Inputs = inputs
	cfg.Task = "binary"
	cfg.Columns.Label = "label"
	cfg.Columns.Prediction = config.StringList{"prob"}
	cfg.Columns.Weight = "weight"
	cfg.Columns.Keep = []string{"request_id"}
	cfg.GroupBy = config.GroupSets{{"model"}, {"model", "slice"}}
	cfg.Output = config.Output{Dir: out, PerRow: true}
	if err := cfg.Check(); err != nil {
		t.Fatal(err)
	}
	return cfg
}

func TestBinaryAgainstReference(t *testing.T) {
	dir := t.TempDir()
	rows := binaryRows(2000, 1)
	rec1, rec2 := binaryRecord(rows[:1300]), binaryRecord(rows[1300:])
	defer rec1.Release()
	defer rec2.Release()
	writeParquet(t, filepath.Join(dir, "in", "a.parquet"), rec1, 250)
	writeParquet(t, filepath.Join(dir, "in", "b.parquet"), rec2, 300)
	cfg := binaryConfig(t, []string{filepath.Join(dir, "in")}, filepath.Join(dir, "out"))
	res, err := Run(context.Background(), cfg, Options{BatchRows: 97, Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	if res.InputRows != 2000 {
		t.Errorf("input rows = %d, want 2000", res.InputRows)
	}
	sum := openTable(t, filepath.Join(dir, "out", SummaryFile))

	wantCols := []string{"model", "slice", "group_set", "rows", "invalid_rows", "ignored_rows", "clipped_rows",
		"weight_sum", "cross_entropy", "log_loss", "perplexity", "cross_entropy_stderr", "accuracy", "brier", "ece",
		"mean_prediction", "label_rate", "loss_sum", "loss_sq_sum", "weight_sq_sum", "correct_sum", "brier_sum",
		"prediction_sum", "label_sum", "calibration_weight", "calibration_confidence_sum", "calibration_outcome_sum"}
	if got := strings.Join(sum.names(), ","); got != strings.Join(wantCols, ",") {
		t.Fatalf("summary columns\n got %s\nwant %s", got, strings.Join(wantCols, ","))
	}

	// Expected groups in SPEC order: overall, per model, per (model, slice) with null slices last.
	type key struct{ set, model, slice string }
	var order []key
	order = append(order, key{})
	for _, m := range []string{"m-a", "m-b", "m-c"} {
		order = append(order, key{set: "model", model: m})
	}
	for _, m := range []string{"m-a", "m-b", "m-c"} {
		for _, s := range []string{"s0", "s1", "s2", "s3", "<null>"} {
			order = append(order, key{set: "model,slice", model: m, slice: s})
		}
	}
	if int(sum.tbl.NumRows()) != len(order) {
		t.Fatalf("summary has %d rows, want %d", sum.tbl.NumRows(), len(order))
	}
	for i, k := range order {
		t.Run(fmt.Sprintf("%s/%s/%s", k.set, k.model, k.slice), func(t *testing.T) {
			gs, _ := sum.str("group_set", i)
			m, mok := sum.str("model", i)
			s, sok := sum.str("slice", i)
			if !sok {
				s = "<null>"
			}
			if gs != k.set || (k.set != "" && m != k.model) || (k.set == "model,slice" && s != k.slice) ||
				(k.set == "" && (mok || sok)) || (k.set == "model" && sok) {
				t.Fatalf("row %d is (%q, %q/%v, %q/%v), want %+v", i, gs, m, mok, s, sok, k)
			}
			var ws, ls, corr, brier, ps, ys, w2 []float64
			var ignored, clipped int64
			for _, r := range rows {
				if k.set != "" && r.model != k.model {
					continue
				}
				rs := r.slice
				if r.sliceNull {
					rs = "<null>"
				}
				if k.set == "model,slice" && rs != k.slice {
					continue
				}
				if r.label == -100 {
					ignored++
					continue
				}
				y := float64(max(r.label, 0))
				ws = append(ws, r.weight)
				ls = append(ls, refBinaryLoss(r.prob, y))
				c := 0.0
				if (r.prob >= 0.5) == (y >= 0.5) {
					c = 1
				}
				corr = append(corr, c)
				brier = append(brier, (r.prob-y)*(r.prob-y))
				ps = append(ps, r.prob)
				ys = append(ys, y)
				w2 = append(w2, r.weight*r.weight)
				if r.prob == 0 || r.prob == 1 {
					clipped++
				}
			}
			if got := sum.int("rows", i); got != int64(len(ws)) {
				t.Errorf("rows = %d, want %d", got, len(ws))
			}
			if got := sum.int("ignored_rows", i); got != ignored {
				t.Errorf("ignored_rows = %d, want %d", got, ignored)
			}
			if got := sum.int("clipped_rows", i); got != clipped {
				t.Errorf("clipped_rows = %d, want %d", got, clipped)
			}
			check := func(name string, want float64) {
				t.Helper()
				got, ok := sum.float(name, i)
				if !ok || !closeTo(got, want) {
					t.Errorf("%s = %v (non-null %v), want %v", name, got, ok, want)
				}
			}
			ce, _ := exactMean(ws, ls)
			check("cross_entropy", ce)
			check("log_loss", ce)
			check("perplexity", math.Exp(ce))
			acc, _ := exactMean(ws, corr)
			check("accuracy", acc)
			br, _ := exactMean(ws, brier)
			check("brier", br)
			mp, _ := exactMean(ws, ps)
			check("mean_prediction", mp)
			lr, _ := exactMean(ws, ys)
			check("label_rate", lr)
			se, _ := refStderr(ws, ls)
			check("cross_entropy_stderr", se)
			// ECE from its definition: 15 bins of p.
			var binW, binP, binY [15]float64
			var W float64
			for j := range ws {
				b := min(int(math.Floor(ps[j]*15)), 14)
				binW[b] += ws[j]
				binP[b] += ws[j] * ps[j]
				binY[b] += ws[j] * ys[j]
				W += ws[j]
			}
			var ece float64
			for b := range 15 {
				ece += math.Abs(binY[b] - binP[b])
			}
			ece /= W
			if got, _ := sum.float("ece", i); math.Abs(got-ece) > 1e-12 {
				t.Errorf("ece = %v, want %v", got, ece)
			}
			var wsum, w2sum float64
			for j := range ws {
				wsum += ws[j]
				w2sum += w2[j]
			}
			if got, _ := sum.float("weight_sum", i); math.Abs(got-wsum) > 1e-9*wsum {
				t.Errorf("weight_sum = %v, want %v", got, wsum)
			}
			if got, _ := sum.float("loss_sum", i); !closeTo(got/wsum, ce) && math.Abs(got-ce*wsum) > 1e-9*got {
				t.Errorf("loss_sum = %v, want about %v", got, ce*wsum)
			}
		})
	}

	// rows.parquet: one row per input row, in input order, null for ignored rows.
	rt := openTable(t, filepath.Join(dir, "out", RowsFile))
	if got := strings.Join(rt.names(), ","); got != "request_id,model,slice,cross_entropy" {
		t.Errorf("rows.parquet columns = %s", got)
	}
	if rt.tbl.NumRows() != int64(len(rows)) {
		t.Fatalf("rows.parquet has %d rows, want %d", rt.tbl.NumRows(), len(rows))
	}
	for i, r := range rows {
		if id := rt.int("request_id", i); id != r.id {
			t.Fatalf("row %d: request_id %d, want %d (input order)", i, id, r.id)
		}
		got, ok := rt.float("cross_entropy", i)
		if r.label == -100 {
			if ok {
				t.Errorf("row %d: ignored row has loss %v, want null", i, got)
			}
			continue
		}
		// refBinaryLoss takes math.Log and math.Log1p, evaljob its own log
		// (within 0.51 ulp of a 256-bit ln: metrics.TestLogFast): the two
		// may differ in the last bit, and no more. (At q = 1 - 2^-52 the
		// loss is 2^-52(1 + 2^-53 + ...): math.Log1p gives 2^-52, evaljob
		// the correctly rounded 2^-52 + 2^-104.)
		want := refBinaryLoss(r.prob, float64(max(r.label, 0)))
		if ulp := math.Nextafter(want, math.Inf(1)) - want; !ok || math.Abs(got-want) > ulp {
			t.Errorf("row %d: loss %v, want %v", i, got, want)
		}
	}
}

// checkDeterminism runs the job for a grid of workers x batch sizes (and
// summary.parquet's groups per record) and fails when summary.parquet or
// rows.parquet differ in a single byte. newConfig gives a fresh config
// with per_row on.
func checkDeterminism(t *testing.T, newConfig func() *config.Config, batches []int) {
	t.Helper()
	defer func(n int) { summaryBatch = n }(summaryBatch)
	var first []byte
	for _, workers := range []int{1, 2, 5} {
		for k, batch := range batches {
			summaryBatch = []int{1 << 16, 1, 2}[(workers+k)%3]
			cfg := newConfig()
			cfg.Workers = workers
			cfg.Output = config.Output{Dir: t.TempDir(), PerRow: true}
			if _, err := Run(context.Background(), cfg, Options{BatchRows: batch}); err != nil {
				t.Fatal(err)
			}
			var got []byte
			for _, name := range []string{SummaryFile, RowsFile} {
				b, err := os.ReadFile(filepath.Join(cfg.Output.Dir, name))
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, b...)
			}
			if first == nil {
				first = got
			} else if !bytes.Equal(got, first) {
				t.Errorf("workers=%d batch=%d: outputs differ from workers=1 batch=%d", workers, batch, batches[0])
			}
		}
	}
}

// TestDeterminism: output bytes do not depend on workers or batch size.
func TestDeterminism(t *testing.T) {
	dir := t.TempDir()
	rec := binaryRecord(binaryRows(3000, 2))
	defer rec.Release()
	writeParquet(t, filepath.Join(dir, "in", "a.parquet"), rec, 400)
	checkDeterminism(t, func() *config.Config {
		return binaryConfig(t, []string{filepath.Join(dir, "in")}, filepath.Join(dir, "out"))
	}, []int{1, 7, 333, 0})
}

// ---- multiclass: SPEC's worked examples, through the whole job ----

func TestMulticlassWorkedExamples(t *testing.T) {
	dir := t.TempDir()
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "label", Type: arrow.PrimitiveTypes.Int32},
		{Name: "probs", Type: arrow.ListOf(arrow.PrimitiveTypes.Float64)},
		{Name: "case", Type: arrow.BinaryTypes.String},
	}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	cases := []struct {
		label int32
		probs []float64
		want  float64 // -ln of the label's probability, by hand
	}{
		{1, []float64{0.1, 0.8, 0.1}, 0.2231435513142097},    // -ln 0.8
		{1, []float64{0.7, 0.2, 0.1}, 1.6094379124341003},    // -ln 0.2
		{1, []float64{0.01, 0.99, 0.0}, 0.01005033585350145}, // -ln 0.99
	}
	for i, c := range cases {
		b.Field(0).(*array.Int32Builder).Append(c.label)
		lb := b.Field(1).(*array.ListBuilder)
		lb.Append(true)
		lb.ValueBuilder().(*array.Float64Builder).AppendValues(c.probs, nil)
		b.Field(2).(*array.StringBuilder).Append(fmt.Sprint(i))
	}
	rec := b.NewRecord()
	b.Release()
	defer rec.Release()
	writeParquet(t, filepath.Join(dir, "mc.parquet"), rec, 2)

	cfg := config.Default()
	cfg.Inputs = []string{filepath.Join(dir, "mc.parquet")}
	cfg.Task = "multiclass"
	cfg.Columns.Label = "label"
	cfg.Columns.Prediction = config.StringList{"probs"}
	cfg.GroupBy = config.GroupSets{{"case"}}
	cfg.Output = config.Output{Dir: filepath.Join(dir, "out")}
	if _, err := Run(context.Background(), cfg, Options{}); err != nil {
		t.Fatal(err)
	}
	sum := openTable(t, filepath.Join(dir, "out", SummaryFile))
	if names := strings.Join(sum.names(), ","); strings.Contains(names, "label_rate") || strings.Contains(names, "label_sum") {
		t.Errorf("multiclass summary has binary-only columns: %s", names)
	}
	var total float64
	for i, c := range cases {
		got, ok := sum.float("cross_entropy", i+1)
		if !ok || math.Abs(got-c.want) > 1e-15 {
			t.Errorf("case %d: cross_entropy %v, want %v", i, got, c.want)
		}
		total += c.want
	}
	if got, _ := sum.float("cross_entropy", 0); math.Abs(got-total/3) > 1e-15 {
		t.Errorf("overall cross_entropy %v, want %v", got, total/3)
	}
	// argmax: case 0 correct (1), case 1 wrong (0), case 2 correct (1).
	if got, _ := sum.float("accuracy", 0); math.Abs(got-2.0/3) > 1e-15 {
		t.Errorf("accuracy %v, want 2/3", got)
	}
}

// ---- bad data ----

func TestInvalidValues(t *testing.T) {
	dir := t.TempDir()
	rows := binaryRows(50, 3)
	rows[37].prob = 1.5
	rows[37].label = 1
	rec := binaryRecord(rows)
	defer rec.Release()
	in := filepath.Join(dir, "bad.parquet")
	writeParquet(t, in, rec, 20)

	cfg := binaryConfig(t, []string{in}, filepath.Join(dir, "out"))
	_, err := Run(context.Background(), cfg, Options{})
	var ie *evalerr.InputError
	if !errors.As(err, &ie) || !errors.Is(err, evalerr.ErrInput) {
		t.Fatalf("err = %v, want an input error", err)
	}
	if ie.Path != in || ie.RowGroup != 1 || ie.Row != 37 || ie.Column != "prob" || ie.Value != "1.5" {
		t.Errorf("error names %+v, want file %s row group 1 row 37 column prob value 1.5", ie, in)
	}
	if _, err := os.Stat(filepath.Join(dir, "out", SummaryFile)); !os.IsNotExist(err) {
		t.Errorf("a failed run left %s behind (stat err %v)", SummaryFile, err)
	}

	cfg.Options.OnInvalid = "skip"
	if _, err := Run(context.Background(), cfg, Options{}); err != nil {
		t.Fatal(err)
	}
	sum := openTable(t, filepath.Join(dir, "out", SummaryFile))
	if got := sum.int("invalid_rows", 0); got != 1 {
		t.Errorf("invalid_rows = %d, want 1", got)
	}
}

func TestSchemaErrors(t *testing.T) {
	dir := t.TempDir()
	rec := binaryRecord(binaryRows(10, 4))
	defer rec.Release()
	in := filepath.Join(dir, "a.parquet")
	writeParquet(t, in, rec, 10)
	// A column of a type evaljob does not read: the message names it.
	decimal := filepath.Join(dir, "dec.parquet")
	dt := &arrow.Decimal128Type{Precision: 5, Scale: 2}
	db := array.NewRecordBuilder(memory.DefaultAllocator, arrow.NewSchema([]arrow.Field{
		{Name: "label", Type: arrow.PrimitiveTypes.Int64}, {Name: "dec", Type: dt}}, nil))
	db.Field(0).(*array.Int64Builder).Append(1)
	db.Field(1).(*array.Decimal128Builder).Append(decimal128.FromI64(42))
	decRec := db.NewRecord()
	db.Release()
	defer decRec.Release()
	writeParquet(t, decimal, decRec, 10)
	for _, tc := range []struct {
		name   string
		input  string
		modify func(*config.Config)
		want   string
	}{
		{"missing column", in, func(c *config.Config) { c.Columns.Label = "nope" }, `column "nope": missing column`},
		{"wrong type", in, func(c *config.Config) { c.Columns.Prediction = config.StringList{"model"} }, `column "model": wrong type utf8`},
		{"unsupported type", decimal, func(c *config.Config) { c.Columns.Prediction = config.StringList{"dec"} }, `column "dec": column type FIXED_LEN_BYTE_ARRAY DECIMAL(5,2) is not supported`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := tc.input
			cfg := binaryConfig(t, []string{in}, filepath.Join(dir, "out"))
			tc.modify(cfg)
			err := Validate(context.Background(), cfg)
			if !errors.Is(err, evalerr.ErrInput) || !strings.Contains(err.Error(), in) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want an input error naming %s and %q", err, in, tc.want)
			}
		})
	}
}

func TestOverwrite(t *testing.T) {
	dir := t.TempDir()
	rec := binaryRecord(binaryRows(10, 5))
	defer rec.Release()
	in := filepath.Join(dir, "a.parquet")
	writeParquet(t, in, rec, 10)
	cfg := binaryConfig(t, []string{in}, filepath.Join(dir, "out"))
	if _, err := Run(context.Background(), cfg, Options{}); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(filepath.Join(dir, "out", SummaryFile))
	if _, err := Run(context.Background(), cfg, Options{}); !errors.Is(err, evalerr.ErrConfig) {
		t.Errorf("second run without overwrite: err %v, want a config error", err)
	}
	after, _ := os.ReadFile(filepath.Join(dir, "out", SummaryFile))
	if !bytes.Equal(before, after) {
		t.Error("a refused run changed the earlier output")
	}
	cfg.Output.Overwrite = true
	if _, err := Run(context.Background(), cfg, Options{}); err != nil {
		t.Errorf("overwrite: %v", err)
	}
}

// TestTokenLongKeepRefused: with one row per token, rows.parquet has a row
// per sequence, so columns.keep has nowhere to go: exit 2 naming it when
// per_row is on (it was silently dropped), nothing without per_row; the
// list layout (a row per sequence in the input) keeps them.
func TestTokenLongKeepRefused(t *testing.T) {
	for _, tc := range []struct {
		input, pred string
		perRow      bool
		refused     bool
	}{
		{"long.parquet", "logprob_f64", true, true},
		{"long.parquet", "logprob_f64", false, false},
		{"list.parquet", "logprobs", true, false},
	} {
		cfg, err := config.Load(filepath.Join("..", "configs", "token-long.yaml"), []string{"output.dir=" + t.TempDir()})
		if err != nil {
			t.Fatal(err)
		}
		cfg.Inputs = []string{fixture(filepath.Join("token", tc.input))}
		cfg.Columns.Prediction = []string{tc.pred}
		cfg.Columns.Keep = []string{"model"}
		cfg.Output.PerRow = tc.perRow
		if tc.input == "list.parquet" {
			cfg.Columns.Sequence, cfg.Columns.Bytes, cfg.Columns.Words = "", "", ""
		}
		_, err = Run(context.Background(), cfg, Options{})
		if tc.refused != (err != nil) || err != nil && (!errors.Is(err, evalerr.ErrConfig) || !strings.Contains(err.Error(), "config key columns.keep")) {
			t.Errorf("%s, per_row %v: %v; want refused %v (exit 2 naming columns.keep)", tc.input, tc.perRow, err, tc.refused)
		}
	}
}

// TestValidateExistingOutput: validate stops on what run would stop on
// before any work: an earlier run's output with overwrite false is exit 2
// (validate said "valid", then run refused); it creates nothing.
func TestValidateExistingOutput(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out")
	cfg, err := config.Load(filepath.Join("..", "configs", "example.yaml"), []string{"output.dir=" + dir, "output.overwrite=false"})
	if err != nil {
		t.Fatal(err)
	}
	if err := Validate(context.Background(), cfg); err != nil {
		t.Fatalf("no output yet: %v", err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("validate created %s", dir)
	}
	if _, err := Run(context.Background(), cfg, Options{}); err != nil {
		t.Fatal(err)
	}
	if err := Validate(context.Background(), cfg); !errors.Is(err, evalerr.ErrConfig) || !strings.Contains(err.Error(), "output.overwrite") {
		t.Errorf("an earlier run's output: %v, want a config error", err)
	}
	cfg.Output.Overwrite = true
	if err := Validate(context.Background(), cfg); err != nil {
		t.Errorf("overwrite: %v", err)
	}
}
