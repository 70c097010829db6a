package pipeline

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/memory"

	"github.com/evaljob/evaljob/config"
)

// BenchmarkRunBinary runs the whole job (read, score, group, write) on a
// generated binary file: string keys model(4) x slice(50), int label,
// double prob, grouped by model and by (model, slice).
func BenchmarkRunBinary(b *testing.B) {
	const n = 1 << 20
	dir := b.TempDir()
	rows := binaryRows(n, 9)
	for i := range rows {
		rows[i].model = fmt.Sprintf("model-%d", i%4)
		rows[i].slice = fmt.Sprintf("slice-%02d", (i/4)%50)
	}
	rec := binaryRecord(rows)
	writeParquet(b, filepath.Join(dir, "in.parquet"), rec, 1<<17)
	rec.Release()

	cfg := config.Default()
	cfg.Inputs = []string{filepath.Join(dir, "in.parquet")}
	cfg.Task = "binary"
	cfg.Columns.Label = "label"
	cfg.Columns.Prediction = config.StringList{"prob"}
	cfg.GroupBy = config.GroupSets{{"model"}, {"model", "slice"}}
	cfg.Output = config.Output{Dir: filepath.Join(dir, "out"), Overwrite: true}
	b.ResetTimer()
	for b.Loop() {
		if _, err := Run(context.Background(), cfg, Options{}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}

// BenchmarkRunMulticlassLogits: 100-wide float32 logit lists.
func BenchmarkRunMulticlassLogits(b *testing.B) {
	const n, c = 1 << 16, 100
	dir := b.TempDir()
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "label", Type: arrow.PrimitiveTypes.Int64},
		{Name: "logits", Type: arrow.ListOf(arrow.PrimitiveTypes.Float32)},
	}, nil)
	bld := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	lb := bld.Field(1).(*array.ListBuilder)
	vb := lb.ValueBuilder().(*array.Float32Builder)
	for i := range n {
		bld.Field(0).(*array.Int64Builder).Append(int64(i % c))
		lb.Append(true)
		for k := range c {
			vb.Append(float32((i*7+k*13)%97) / 10)
		}
	}
	rec := bld.NewRecord()
	bld.Release()
	writeParquet(b, filepath.Join(dir, "in.parquet"), rec, 1<<14)
	rec.Release()

	cfg := config.Default()
	cfg.Inputs = []string{filepath.Join(dir, "in.parquet")}
	cfg.Task = "multiclass"
	cfg.Columns.Label = "label"
	cfg.Columns.Prediction = config.StringList{"logits"}
	cfg.Columns.PredictionKind = "logit"
	cfg.Output = config.Output{Dir: filepath.Join(dir, "out"), Overwrite: true}
	b.ResetTimer()
	for b.Loop() {
		if _, err := Run(context.Background(), cfg, Options{}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}
