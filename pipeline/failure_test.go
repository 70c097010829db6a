package pipeline

import (
	"context"
	"errors"
	"math"
	"math/big"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/memory"

	"github.com/evaljob/evaljob/config"
	"github.com/evaljob/evaljob/evalerr"
	"github.com/evaljob/evaljob/pipeline/metrics"
)

// TestInvalidValueRules: every invalid-value rule of SPEC §3, one row each
// after a valid row: under on_invalid error the run stops naming the row,
// column and value; under skip the row is counted in invalid_rows.
func TestInvalidValueRules(t *testing.T) {
	nan := math.NaN()
	type row struct {
		label  any // int64, float64, []float64 or nil (null)
		pred   any // float64, []float64 or nil
		weight any // float64 or nil
	}
	for _, tc := range []struct {
		name, task, kind string
		bad              row
		column, value    string
	}{
		{"null label", "binary", "prob", row{nil, 0.5, 1.0}, "label", "null"},
		{"null prediction", "binary", "prob", row{int64(1), nil, 1.0}, "prob", "null"},
		{"NaN prediction", "binary", "prob", row{int64(1), nan, 1.0}, "prob", "NaN"},
		{"probability above 1", "binary", "prob", row{int64(1), 1.25, 1.0}, "prob", "1.25"},
		{"negative probability", "binary", "prob", row{int64(0), -0.01, 1.0}, "prob", "-0.01"},
		{"binary label 2", "binary", "prob", row{int64(2), 0.5, 1.0}, "label", "2"},
		{"binary float label 1.5", "binary", "prob", row{1.5, 0.5, 1.0}, "label", "1.5"},
		{"positive logprob", "binary", "logprob", row{int64(1), 0.5, 1.0}, "prob", "0.5"},
		{"infinite logit", "binary", "logit", row{int64(1), math.Inf(1), 1.0}, "prob", "+Inf"},
		{"negative weight", "binary", "prob", row{int64(1), 0.5, -1.0}, "weight", "-1"},
		{"NaN weight", "binary", "prob", row{int64(1), 0.5, nan}, "weight", "NaN"},
		{"infinite weight", "binary", "prob", row{int64(1), 0.5, math.Inf(1)}, "weight", "+Inf"},
		{"null weight", "binary", "prob", row{int64(1), 0.5, nil}, "weight", "null"},
		{"class out of range", "multiclass", "prob", row{int64(3), []float64{0.2, 0.3, 0.5}, 1.0}, "label", "3"},
		{"probabilities sum to 0.9", "multiclass", "prob", row{int64(0), []float64{0.2, 0.2, 0.5}, 1.0}, "prob", "[0.2 0.2 0.5]"},
		{"ragged list", "multiclass", "prob", row{int64(0), []float64{0.5, 0.5}, 1.0}, "prob", "[0.5 0.5]"},
		{"NaN class probability", "multiclass", "prob", row{int64(0), []float64{0.5, nan, 0.5}, 1.0}, "prob", "NaN"},
		{"soft target off 1", "multiclass", "prob", row{[]float64{0.5, 0.2, 0.2}, []float64{0.2, 0.3, 0.5}, 1.0}, "label", "[0.5 0.2 0.2]"},
		{"regression NaN", "regression", "prob", row{1.0, nan, 1.0}, "prob", "NaN"},
		{"regression infinite label", "regression", "prob", row{math.Inf(-1), 1.0, 1.0}, "label", "-Inf"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			good := row{int64(1), 0.7, 1.0}
			switch {
			case tc.task == "multiclass":
				good = row{int64(1), []float64{0.2, 0.5, 0.3}, 1.0}
				if _, soft := tc.bad.label.([]float64); soft {
					good.label = []float64{0, 1, 0}
				}
			case tc.task == "regression":
				good = row{2.0, 2.5, 1.0}
			case tc.kind == "logprob":
				good.pred = -0.3
			case tc.kind == "logit":
				good.pred = 1.2
			}
			if _, isFloat := tc.bad.label.(float64); isFloat && tc.task == "binary" {
				good.label = 1.0
			}
			in := writeRows(t, []row{good, tc.bad}, func(r row) (any, any, any) { return r.label, r.pred, r.weight })
			cfg := jobConfig(tc.task, []string{in}, "label", "prob")
			cfg.Columns.PredictionKind = tc.kind
			cfg.Columns.Weight = "weight"
			cfg.Output.Dir = t.TempDir()
			_, err := Run(context.Background(), cfg, Options{})
			var ie *evalerr.InputError
			if !errors.As(err, &ie) || ie.Row != 1 || ie.Column != tc.column || !strings.Contains(ie.Value, tc.value) {
				t.Errorf("on_invalid error: %v\nwant row 1, column %q, value %q", err, tc.column, tc.value)
			}
			cfg.Options.OnInvalid = "skip"
			sum := summaryOf(t, cfg)
			if sum.int("rows", 0) != 1 || sum.int("invalid_rows", 0) != 1 {
				t.Errorf("skip: rows %d invalid %d, want 1 and 1", sum.int("rows", 0), sum.int("invalid_rows", 0))
			}
		})
	}
}

// writeRows writes label/prob/weight columns whose types follow the first
// non-null value of each (int64, float64 or list<float64>).
func writeRows[R any](t *testing.T, rows []R, get func(R) (any, any, any)) string {
	t.Helper()
	typeOf := func(k int) arrow.DataType {
		for _, r := range rows {
			vals := [3]any{}
			vals[0], vals[1], vals[2] = get(r)
			switch vals[k].(type) {
			case int64:
				return arrow.PrimitiveTypes.Int64
			case float64:
				return arrow.PrimitiveTypes.Float64
			case []float64:
				return arrow.ListOf(arrow.PrimitiveTypes.Float64)
			}
		}
		return arrow.PrimitiveTypes.Float64
	}
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "label", Type: typeOf(0), Nullable: true},
		{Name: "prob", Type: typeOf(1), Nullable: true},
		{Name: "weight", Type: typeOf(2), Nullable: true},
	}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	for _, r := range rows {
		vals := [3]any{}
		vals[0], vals[1], vals[2] = get(r)
		for k, v := range vals {
			fb := b.Field(k)
			switch v := v.(type) {
			case nil:
				fb.AppendNull()
			case int64:
				fb.(*array.Int64Builder).Append(v)
			case float64:
				fb.(*array.Float64Builder).Append(v)
			case []float64:
				lb := fb.(*array.ListBuilder)
				lb.Append(true)
				lb.ValueBuilder().(*array.Float64Builder).AppendValues(v, nil)
			}
		}
	}
	rec := b.NewRecord()
	defer rec.Release()
	path := filepath.Join(t.TempDir(), "rows.parquet")
	writeParquet(t, path, rec, 10)
	return path
}

// The determinism grid for the tasks the other grids do not cover.
func TestMultilabelRegressionDeterminism(t *testing.T) {
	checkDeterminism(t, func() *config.Config {
		cfg := jobConfig("multilabel", []string{fixture("multilabel/probs.parquet")}, "labels", "logits")
		cfg.Columns.PredictionKind = "logit"
		cfg.Columns.Weight = "weight"
		cfg.GroupBy = config.GroupSets{{"model"}}
		return cfg
	}, []int{1, 11, 0})
	checkDeterminism(t, func() *config.Config {
		cfg := jobConfig("regression", []string{fixture("regression/preds.parquet")}, "target_int", "pred_f32")
		cfg.Columns.Weight = "weight"
		cfg.GroupBy = config.GroupSets{{"model"}}
		return cfg
	}, []int{1, 11, 0})
}

// TestManyMagnitudes: 2M rows whose weights span 1e-8..1e8 and whose losses
// span 1e-12..36, summed by the job in any chunking, against an exact
// rational reference: cross_entropy, accuracy and the stderr stay within
// 1e-12 relative (SPEC §3), where a plain float64 sum is off by far more.
func TestManyMagnitudes(t *testing.T) {
	if testing.Short() {
		t.Skip("2M rows and an exact reference")
	}
	const n = 2_000_000
	r := rand.New(rand.NewPCG(41, 5))
	rows := make([]binaryRow, n)
	for i := range rows {
		rows[i] = binaryRow{model: "m", slice: "s", label: int64(r.IntN(2)), prob: math.Pow(10, -r.Float64()*15),
			weight: math.Pow(10, r.Float64()*16-8), id: int64(i)}
		if rows[i].label == 0 && rows[i].prob > 0.5 {
			rows[i].prob = 1 - rows[i].prob
		}
	}
	rec := binaryRecord(rows)
	in := filepath.Join(t.TempDir(), "mag.parquet")
	writeParquet(t, in, rec, 1<<18)
	rec.Release()

	cfg := jobConfig("binary", []string{in}, "label", "prob")
	cfg.Columns.Weight = "weight"
	sum := summaryOf(t, cfg)

	// Exact reference: sums of exact float64 products as big.Rat are too
	// slow for 2M rows; metrics.Sum is exact but under test, so use
	// big.Float with enough bits to hold every partial sum exactly.
	const prec = 3000
	W, L, C := new(big.Float).SetPrec(prec), new(big.Float).SetPrec(prec), new(big.Float).SetPrec(prec)
	var naive, naiveW float64
	tmp := new(big.Float).SetPrec(prec)
	for _, row := range rows {
		y := float64(row.label)
		l := refBinaryLoss(row.prob, y)
		w := new(big.Float).SetPrec(prec).SetFloat64(row.weight)
		W.Add(W, w)
		L.Add(L, tmp.Mul(w, new(big.Float).SetPrec(prec).SetFloat64(l)))
		if (row.prob >= 0.5) == (y >= 0.5) {
			C.Add(C, w)
		}
		naive += row.weight * l
		naiveW += row.weight
	}
	ce, _ := new(big.Float).SetPrec(prec).Quo(L, W).Float64()
	acc, _ := new(big.Float).SetPrec(prec).Quo(C, W).Float64()
	if got, _ := sum.float("cross_entropy", 0); math.Abs(got-ce) > 1e-12*ce {
		t.Errorf("cross_entropy %v, exact %v (a plain float64 loop gives %v)", got, ce, naive/naiveW)
	}
	if got, _ := sum.float("accuracy", 0); math.Abs(got-acc) > 1e-12*acc {
		t.Errorf("accuracy %v, exact %v", got, acc)
	}
	var s metrics.Sum // and the job's weight_sum is the exactly rounded sum
	for _, row := range rows {
		s.Add(row.weight)
	}
	wExact, _ := W.Float64()
	if got, _ := sum.float("weight_sum", 0); got != wExact || s.Float64() != wExact {
		t.Errorf("weight_sum %v, Sum %v, exact %v", got, s.Float64(), wExact)
	}
}
