package pipeline

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/memory"

	"github.com/evaljob/evaljob/config"
)

// runBothPaths runs cfg with the fast paths on and off, for a grid of
// workers x batch sizes, and fails unless summary.parquet and rows.parquet
// are the same bytes every time. With each batch size the per-sequence
// rows.parquet is built in records of another size (seqBatch), so records
// that complete out of order would show.
func runBothPaths(t *testing.T, newConfig func() *config.Config) {
	t.Helper()
	defer func(b int) { fastPaths, seqBatch = true, b }(seqBatch)
	var first []byte
	for _, fast := range []bool{false, true} {
		fastPaths = fast
		for _, workers := range []int{1, 3} {
			for i, batch := range []int{0, 1, 13, 500} {
				seqBatch = []int{1 << 14, 1, 3, 7}[i]
				cfg := newConfig()
				cfg.Workers = workers
				cfg.Output = config.Output{Dir: t.TempDir(), PerRow: true}
				if _, err := Run(context.Background(), cfg, Options{BatchRows: batch}); err != nil {
					t.Fatalf("fast=%v workers=%d batch=%d: %v", fast, workers, batch, err)
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
					t.Fatalf("fast=%v workers=%d batch=%d: outputs differ from the general path", fast, workers, batch)
				}
			}
		}
	}
}

// TestMulticlassFastPathJoin: labels in their own files, some prediction
// rows without a label row (unmatched: skip): a chunk with such a row
// takes the general loop, which counts it; the outputs match the general
// loop's throughout. (The label files supply the label, so such a row's
// label is null and the label guard refuses the chunk before
// someUnlabeled does: dropping either guard alone passes.)
func TestMulticlassFastPathJoin(t *testing.T) {
	const classes = 4
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(9, 10))
	pb := array.NewRecordBuilder(memory.DefaultAllocator, arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "model", Type: arrow.BinaryTypes.String},
		{Name: "scores", Type: arrow.ListOf(arrow.PrimitiveTypes.Float32)},
	}, nil))
	lb := array.NewRecordBuilder(memory.DefaultAllocator, arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "label", Type: arrow.PrimitiveTypes.Int64},
	}, nil))
	for i := range 2000 {
		pb.Field(0).(*array.Int64Builder).Append(int64(i))
		pb.Field(1).(*array.StringBuilder).Append(fmt.Sprint("m", rng.IntN(3)))
		list := pb.Field(2).(*array.ListBuilder)
		list.Append(true)
		for range classes {
			list.ValueBuilder().(*array.Float32Builder).Append(float32(rng.NormFloat64() * 2))
		}
		if i < 1000 || i%150 != 7 { // the second half: a few rows without labels
			lb.Field(0).(*array.Int64Builder).Append(int64(i))
			lb.Field(1).(*array.Int64Builder).Append(int64(rng.IntN(classes)))
		}
	}
	preds := builtFile(t, pb, filepath.Join(dir, "preds.parquet"), 300)
	labels := builtFile(t, lb, filepath.Join(dir, "labels.parquet"), 700)
	runBothPaths(t, func() *config.Config {
		cfg := jobConfig("multiclass", []string{preds}, "label", "scores")
		cfg.Columns.PredictionKind = "logit"
		cfg.GroupBy = config.GroupSets{{"model"}}
		cfg.Labels = &config.Labels{Inputs: []string{labels}, Join: []string{"id"}, Unmatched: "skip"}
		return cfg
	})
}

// keyedBuilder builds records of the fast path tests' columns: model
// (string), slice (int64), label (of labelType, nullable), the prediction
// column pred, weight (float64).
func keyedBuilder(labelType arrow.DataType, pred arrow.Field) *array.RecordBuilder {
	return array.NewRecordBuilder(memory.DefaultAllocator, arrow.NewSchema([]arrow.Field{
		{Name: "model", Type: arrow.BinaryTypes.String},
		{Name: "slice", Type: arrow.PrimitiveTypes.Int64},
		{Name: "label", Type: labelType, Nullable: true},
		pred,
		{Name: "weight", Type: arrow.PrimitiveTypes.Float64},
	}, nil))
}

// builtFile writes b's record to a Parquet file at path in row groups of
// groupRows rows, releases both, and returns path.
func builtFile(t *testing.T, b *array.RecordBuilder, path string, groupRows int64) string {
	t.Helper()
	rec := b.NewRecord()
	b.Release()
	defer rec.Release()
	writeParquet(t, path, rec, groupRows)
	return path
}

// TestTokenLongFastPath: the long-layout token fast path against the general
// loop, on sequences in runs that cross chunks and files, interleaved
// sequences, integer and dictionary sequence values, float32 and float64
// log-probabilities, and (in some files) nulls, invalid values, values in
// (0, 1e-6] and -Inf, under on_invalid: skip.
func TestTokenLongFastPath(t *testing.T) {
	for _, tc := range []struct {
		name          string
		stringSeq     bool
		f32, specials bool
		mixedModels   bool // the model changes within sequences too
	}{
		{"int seq f64", false, false, false, false},
		{"int seq f32", false, true, false, false},
		{"dict seq f64", true, false, false, false},
		{"int seq specials", false, false, true, false},
		{"dict seq f32 specials", true, true, true, false},
		{"int seq mixed models", false, false, false, true},
		{"dict seq mixed models", true, true, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			rng := rand.New(rand.NewPCG(5, uint64(len(tc.name))))
			seqType := arrow.DataType(arrow.PrimitiveTypes.Int64)
			if tc.stringSeq {
				seqType = arrow.BinaryTypes.String
			}
			predType := arrow.DataType(arrow.PrimitiveTypes.Float64)
			if tc.f32 {
				predType = arrow.PrimitiveTypes.Float32
			}
			schema := arrow.NewSchema([]arrow.Field{
				{Name: "model", Type: arrow.BinaryTypes.String},
				{Name: "doc_id", Type: seqType, Nullable: true},
				{Name: "logprob", Type: predType, Nullable: true},
			}, nil)
			var paths []string
			doc := 0
			for f := range 3 {
				b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
				for range 300 + rng.IntN(300) {
					if rng.IntN(8) == 0 { // a new sequence, or back to an earlier one
						doc = rng.IntN(doc + 2)
					}
					model := doc % 3
					if tc.mixedModels && rng.IntN(10) == 0 {
						model = rng.IntN(4)
					}
					b.Field(0).(*array.StringBuilder).Append(fmt.Sprint("m", model))
					switch {
					case tc.specials && rng.IntN(200) == 0:
						b.Field(1).AppendNull()
					case tc.stringSeq:
						b.Field(1).(*array.StringBuilder).Append(fmt.Sprint("doc-", doc))
					default:
						b.Field(1).(*array.Int64Builder).Append(int64(doc))
					}
					a := -rng.ExpFloat64() * 2
					if tc.specials {
						switch rng.IntN(100) {
						case 0:
							a = math.Inf(-1)
						case 1:
							a = 5e-7 // counts as 0
						case 2:
							a = 0.5 // invalid
						case 3:
							a = math.NaN()
						}
					}
					if tc.specials && rng.IntN(150) == 0 {
						b.Field(2).AppendNull()
					} else if tc.f32 {
						b.Field(2).(*array.Float32Builder).Append(float32(a))
					} else {
						b.Field(2).(*array.Float64Builder).Append(a)
					}
				}
				paths = append(paths, builtFile(t, b, filepath.Join(dir, fmt.Sprintf("t-%d.parquet", f)), 97))
			}
			runBothPaths(t, func() *config.Config {
				cfg := jobConfig("token", paths, "", "logprob")
				cfg.Columns.PredictionKind = "logprob"
				cfg.Columns.Sequence = "doc_id"
				cfg.GroupBy = config.GroupSets{{"model"}, {}}
				cfg.Options.OnInvalid = "skip"
				return cfg
			})
		})
	}
}

// TestBinaryFastPath: the binary fast path against the general loop, for
// each prediction kind, int and soft float labels, float32 and float64
// predictions, with and without (in some chunks) nulls, ignored labels and
// invalid values (NaN, and probabilities outside [0, 1]), under
// on_invalid: skip, and with a weight column (where only the general loop
// runs).
func TestBinaryFastPath(t *testing.T) {
	for _, tc := range []struct {
		name             string
		kind             string
		soft, specials   bool
		weighted, f32Col bool
		invalidOnly      bool // specials are invalid predictions only, no null or ignored label
		ignoreZero       bool // ignore_index 0: the rows of label 0 are ignored
	}{
		{"prob", "prob", false, false, false, false, false, false},
		{"prob soft f32", "prob", true, false, false, true, false, false},
		{"prob specials", "prob", false, true, false, false, false, false},
		{"prob f32 specials", "prob", false, true, false, true, false, false},
		{"prob invalid", "prob", false, true, false, false, true, false},
		{"logit", "logit", false, false, false, false, false, false},
		{"logprob soft specials", "logprob", true, true, false, false, false, false},
		{"prob weighted", "prob", false, false, true, false, false, false},
		{"prob ignore_index 0", "prob", false, false, false, false, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			rng := rand.New(rand.NewPCG(6, uint64(len(tc.name))))
			labelType := arrow.DataType(arrow.PrimitiveTypes.Int64)
			if tc.soft {
				labelType = arrow.PrimitiveTypes.Float64
			}
			predType := arrow.DataType(arrow.PrimitiveTypes.Float64)
			if tc.f32Col {
				predType = arrow.PrimitiveTypes.Float32
			}
			b := keyedBuilder(labelType, arrow.Field{Name: "pred", Type: predType, Nullable: true})
			for i := range 2000 {
				b.Field(0).(*array.StringBuilder).Append(fmt.Sprint("m", rng.IntN(3)))
				b.Field(1).(*array.Int64Builder).Append(int64(rng.IntN(7)))
				special := tc.specials && i >= 1000 && rng.IntN(40) == 0 // the first half is clean
				nulls := special && !tc.invalidOnly
				y := float64(rng.IntN(2))
				switch {
				case nulls && rng.IntN(3) == 0:
					b.Field(2).AppendNull()
				case tc.soft:
					if rng.IntN(3) == 0 {
						y = rng.Float64()
					}
					if special && rng.IntN(2) == 0 {
						y = 3 // invalid
					}
					b.Field(2).(*array.Float64Builder).Append(y)
				default:
					v := int64(y)
					if v == 0 && rng.IntN(4) == 0 {
						v = -1 // negative too
					}
					if nulls && rng.IntN(2) == 0 {
						v = -100 // ignored
					}
					b.Field(2).(*array.Int64Builder).Append(v)
				}
				var x float64
				switch tc.kind {
				case "prob":
					x = rng.Float64()
					if rng.IntN(50) == 0 {
						x = float64(rng.IntN(2)) // clipped
					}
				case "logit":
					x = rng.NormFloat64() * 4
				case "logprob":
					x = math.Log(rng.Float64())
				}
				if tc.kind == "prob" && rng.IntN(60) == 0 {
					x = math.Copysign(0, -1) // a probability, clipped
				}
				if special && (tc.invalidOnly || rng.IntN(2) == 0) {
					x = []float64{math.NaN(), 1.5, -0.25, math.Inf(1)}[rng.IntN(4)]
				}
				switch {
				case nulls && rng.IntN(4) == 0:
					b.Field(3).AppendNull()
				case tc.f32Col:
					b.Field(3).(*array.Float32Builder).Append(float32(x))
				default:
					b.Field(3).(*array.Float64Builder).Append(x)
				}
				b.Field(4).(*array.Float64Builder).Append(0.5 + rng.Float64())
			}
			path := builtFile(t, b, filepath.Join(dir, "in.parquet"), 300)
			runBothPaths(t, func() *config.Config {
				cfg := jobConfig("binary", []string{path}, "label", "pred")
				cfg.Columns.PredictionKind = tc.kind
				if tc.weighted {
					cfg.Columns.Weight = "weight"
				}
				cfg.GroupBy = config.GroupSets{{"model"}, {"model", "slice"}}
				cfg.Options.OnInvalid = "skip"
				if tc.ignoreZero {
					cfg.Options.IgnoreIndex = 0
				}
				return cfg
			})
		})
	}
}

// TestMulticlassFastPath: the multiclass fast path against the general
// loop, on float32 and float64 lists of each kind, with label
// smoothing, more calibration bins than addUnits counts on its stack, and
// (in the second half of some files) rows the general loop must take: a
// null label or list, a null entry, a list of the wrong length, a label
// out of range or ignored, NaN or out-of-domain scores, under on_invalid:
// skip, in chunks with many such rows and (lone) in a chunk with just one.
// Weights and class weights keep the general loop throughout.
func TestMulticlassFastPath(t *testing.T) {
	const classes = 5
	for _, tc := range []struct {
		name     string
		kind     string
		elem     arrow.DataType
		specials bool // problem rows of every kind in the second half
		lone     int  // >= 0: row 1150 alone has problem lone (its chunk has no other)
		edit     func(cfg *config.Config)
	}{
		{"logit f32", "logit", arrow.PrimitiveTypes.Float32, false, -1, nil},
		{"logit f64 specials", "logit", arrow.PrimitiveTypes.Float64, true, -1, nil},
		{"prob f32", "prob", arrow.PrimitiveTypes.Float32, false, -1, nil},
		{"prob specials", "prob", arrow.PrimitiveTypes.Float64, true, -1, nil},
		{"logprob smoothing", "logprob", arrow.PrimitiveTypes.Float64, false, -1, func(cfg *config.Config) { cfg.Options.LabelSmoothing = 0.1 }},
		{"logit 40 bins", "logit", arrow.PrimitiveTypes.Float32, true, -1, func(cfg *config.Config) { cfg.Options.CalibrationBins = 40 }},
		{"logit ignore_index 0", "logit", arrow.PrimitiveTypes.Float32, false, -1, func(cfg *config.Config) { cfg.Options.IgnoreIndex = 0 }},
		{"logit weighted", "logit", arrow.PrimitiveTypes.Float32, true, -1, func(cfg *config.Config) { cfg.Columns.Weight = "weight" }},
		{"lone null label", "logit", arrow.PrimitiveTypes.Float32, false, 0, nil},
		{"lone label out of range", "logit", arrow.PrimitiveTypes.Float32, false, 1, nil},
		{"lone short list", "logit", arrow.PrimitiveTypes.Float32, false, 2, nil},
		{"lone long list", "logit", arrow.PrimitiveTypes.Float32, false, 3, nil},
		{"lone bad score", "prob", arrow.PrimitiveTypes.Float64, false, 4, nil},
		{"lone null list", "logit", arrow.PrimitiveTypes.Float32, false, 5, nil},
		{"lone null entry", "logit", arrow.PrimitiveTypes.Float32, false, 6, nil},
		{"logit class weights", "logit", arrow.PrimitiveTypes.Float32, false, -1, func(cfg *config.Config) { cfg.Options.ClassWeights = []float64{1, 2, 0.5, 1, 3} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			rng := rand.New(rand.NewPCG(8, uint64(len(tc.name))))
			b := keyedBuilder(arrow.PrimitiveTypes.Int64, arrow.Field{Name: "scores",
				Type: arrow.ListOfField(arrow.Field{Name: "element", Type: tc.elem, Nullable: true}), Nullable: true})
			for i := range 2000 {
				b.Field(0).(*array.StringBuilder).Append(fmt.Sprint("m", rng.IntN(3)))
				b.Field(1).(*array.Int64Builder).Append(int64(rng.IntN(7)))
				special := -1 // which problem the row has, if any
				if tc.specials && i >= 1000 && rng.IntN(40) == 0 {
					special = rng.IntN(8)
				}
				if tc.lone >= 0 && i == 1150 {
					special = tc.lone
				}
				switch label := int64(rng.IntN(classes)); special {
				case 0:
					b.Field(2).AppendNull()
				case 1:
					b.Field(2).(*array.Int64Builder).Append([]int64{-1, classes, -100}[rng.IntN(3)])
				default:
					b.Field(2).(*array.Int64Builder).Append(label)
				}
				scores := make([]float64, classes, classes+1)
				for k := range scores {
					switch tc.kind {
					case "logit":
						scores[k] = rng.NormFloat64() * 3
					default:
						scores[k] = rng.Float64()
					}
				}
				if tc.kind != "logit" { // probabilities summing to 1 (some 0: clipped)
					if rng.IntN(20) == 0 {
						scores[rng.IntN(classes)] = 0
					}
					var sum float64
					for _, v := range scores {
						sum += v
					}
					for k := range scores {
						scores[k] /= sum
						if tc.kind == "logprob" {
							scores[k] = math.Log(scores[k])
						}
					}
				}
				switch special {
				case 2:
					scores = scores[:classes-1]
				case 3:
					scores = append(scores, 0)
				case 4:
					scores[rng.IntN(classes)] = []float64{math.NaN(), math.Inf(1), 1.5, -0.25}[rng.IntN(4)]
				}
				lb := b.Field(3).(*array.ListBuilder)
				if special == 5 {
					lb.AppendNull()
				} else {
					lb.Append(true)
					for k, v := range scores {
						switch vb := lb.ValueBuilder().(type) {
						case *array.Float32Builder:
							vb.Append(float32(v))
						case *array.Float64Builder:
							vb.Append(v)
						}
						if special == 6 && k == 2 {
							lb.ValueBuilder().AppendNull()
						}
					}
				}
				b.Field(4).(*array.Float64Builder).Append(0.5 + rng.Float64())
			}
			path := builtFile(t, b, filepath.Join(dir, "in.parquet"), 300)
			runBothPaths(t, func() *config.Config {
				cfg := jobConfig("multiclass", []string{path}, "label", "scores")
				cfg.Columns.PredictionKind = tc.kind
				cfg.GroupBy = config.GroupSets{{"model"}, {"model", "slice"}}
				cfg.Options.OnInvalid = "skip"
				if tc.edit != nil {
					tc.edit(cfg)
				}
				return cfg
			})
		})
	}
}

// TestRunEnd: runEnd against a row-by-row scan, at every row of random
// chunks of runs (runs of about 6 rows: they end at every place in a group of 8).
func TestRunEnd(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	for range 2000 {
		n := 1 + rng.IntN(100)
		cells, keys := make([]int, n), make([]int64, n)
		for r := 1; r < n; r++ {
			cells[r], keys[r] = cells[r-1], keys[r-1]
			switch rng.IntN(12) {
			case 0:
				cells[r] = rng.IntN(3)
			case 1:
				keys[r] = int64(rng.IntN(3)) - 1
			}
		}
		codes, groups := make([]int32, n), make([]int32, n)
		for r, k := range keys {
			codes[r], groups[r] = int32(k), int32(cells[r])
		}
		for i := range n {
			want := i + 1
			for want < n && cells[want] == cells[i] && keys[want] == keys[i] {
				want++
			}
			if got := runEnd(cells, keys, i); got != want {
				t.Fatalf("cells %v keys %v: runEnd from %d = %d, want %d", cells, keys, i, got, want)
			}
			if got := runEnd(cells, codes, i); got != want {
				t.Fatalf("cells %v codes %v: runEnd from %d = %d, want %d", cells, codes, i, got, want)
			}
			if got := runEnd(groups, keys, i); got != want {
				t.Fatalf("group codes %v keys %v: runEnd from %d = %d, want %d", groups, keys, i, got, want)
			}
		}
	}
}
