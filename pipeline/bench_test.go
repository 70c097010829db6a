package pipeline

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/memory"
	"github.com/apache/arrow/go/v17/parquet"
	"github.com/apache/arrow/go/v17/parquet/pqarrow"

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

// BenchmarkRunTokenLogits32k runs the token task on logit lists of a
// 32k vocabulary (float32), one row per token, row groups of 32 tokens, for
// two file sizes 4x apart. It reports the peak Go heap during the run:
// memory is bounded by the row group (x workers), not by the file, so the
// two sizes report about the same peak.
func BenchmarkRunTokenLogits32k(b *testing.B) {
	const vocab = 32000
	for _, tokens := range []int{256, 1024} {
		b.Run(fmt.Sprintf("tokens=%d", tokens), func(b *testing.B) {
			dir := b.TempDir()
			path := filepath.Join(dir, "logits.parquet")
			writeLogits(b, path, tokens, vocab, 32)
			cfg := config.Default()
			cfg.Inputs = []string{path}
			cfg.Task = "token"
			cfg.Columns.Label = "target"
			cfg.Columns.Prediction = config.StringList{"logits"}
			cfg.Columns.PredictionKind = "logit"
			cfg.Columns.Sequence = "doc_id"
			cfg.Output = config.Output{Dir: filepath.Join(dir, "out"), Overwrite: true}
			runtime.GC()
			peak := samplePeakHeap()
			b.ResetTimer()
			for b.Loop() {
				if _, err := Run(context.Background(), cfg, Options{}); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(tokens)*float64(b.N)/b.Elapsed().Seconds(), "tokens/s")
			b.ReportMetric(float64(peak())/(1<<20), "peak-heap-MB")
		})
	}
}

// BenchmarkRunTokenLong runs the whole job on 1M tokens in the long layout
// (model, doc_id, float32 logprob; 2k sequences of contiguous rows, grouped
// by model, per-sequence rows.parquet), with the fast path (fast) and with
// the general per-row loop (general).
func BenchmarkRunTokenLong(b *testing.B) {
	const n, seqLen = 1 << 20, 512
	dir := b.TempDir()
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "model", Type: arrow.BinaryTypes.String},
		{Name: "doc_id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "logprob", Type: arrow.PrimitiveTypes.Float32},
	}, nil)
	bld := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	for i := range n {
		doc := i / seqLen
		bld.Field(0).(*array.StringBuilder).Append(fmt.Sprintf("model-%d", doc%4))
		bld.Field(1).(*array.Int64Builder).Append(int64(doc))
		bld.Field(2).(*array.Float32Builder).Append(-float32(i%1000) / 300)
	}
	rec := bld.NewRecord()
	bld.Release()
	writeParquet(b, filepath.Join(dir, "in.parquet"), rec, 1<<17)
	rec.Release()
	for _, fast := range []bool{true, false} {
		name := "fast"
		if !fast {
			name = "general"
		}
		b.Run(name, func(b *testing.B) {
			defer func() { fastPaths = true }()
			fastPaths = fast
			cfg := config.Default()
			cfg.Inputs = []string{filepath.Join(dir, "in.parquet")}
			cfg.Task = "token"
			cfg.Columns.Prediction = config.StringList{"logprob"}
			cfg.Columns.PredictionKind = "logprob"
			cfg.Columns.Sequence = "doc_id"
			cfg.GroupBy = config.GroupSets{{"model"}}
			cfg.Output = config.Output{Dir: filepath.Join(dir, "out"), Overwrite: true, PerRow: true}
			b.ResetTimer()
			for b.Loop() {
				if _, err := Run(context.Background(), cfg, Options{}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}

// writeLogits writes tokens rows of (doc_id, target, logits list<float32>)
// in Parquet row groups of rowGroup rows, one row group at a time.
func writeLogits(b *testing.B, path string, tokens, vocab, rowGroup int) {
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "doc_id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "target", Type: arrow.PrimitiveTypes.Int64},
		{Name: "logits", Type: arrow.ListOf(arrow.PrimitiveTypes.Float32)},
	}, nil)
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	props := parquet.NewWriterProperties(parquet.WithDictionaryDefault(false), parquet.WithMaxRowGroupLength(int64(rowGroup)))
	w, err := pqarrow.NewFileWriter(schema, f, props, pqarrow.DefaultWriterProps())
	if err != nil {
		b.Fatal(err)
	}
	for start := 0; start < tokens; start += rowGroup {
		bld := array.NewRecordBuilder(memory.DefaultAllocator, schema)
		lb := bld.Field(2).(*array.ListBuilder)
		vb := lb.ValueBuilder().(*array.Float32Builder)
		for i := start; i < min(start+rowGroup, tokens); i++ {
			bld.Field(0).(*array.Int64Builder).Append(int64(i / 100))
			bld.Field(1).(*array.Int64Builder).Append(int64((i * 7919) % vocab))
			lb.Append(true)
			for k := range vocab {
				vb.Append(float32((i*31+k*17)%1000) / 100)
			}
		}
		rec := bld.NewRecord()
		bld.Release()
		if err := w.Write(rec); err != nil {
			b.Fatal(err)
		}
		rec.Release()
	}
	if err := w.Close(); err != nil {
		b.Fatal(err)
	}
}

// samplePeakHeap samples the Go heap in use every few milliseconds until
// the returned function is called, which returns the peak.
func samplePeakHeap() func() uint64 {
	stop := make(chan struct{})
	done := make(chan uint64)
	go func() {
		var peak uint64
		var ms runtime.MemStats
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		for {
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapInuse)
			select {
			case <-stop:
				done <- peak
				return
			case <-t.C:
			}
		}
	}()
	return func() uint64 { close(stop); return <-done }
}
