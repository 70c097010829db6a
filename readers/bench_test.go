package readers

import (
	"bytes"
	"context"
	"math/rand"
	"os"
	"path/filepath"
	"testing"

	"github.com/parquet-go/parquet-go"
)

type benchRow struct {
	Key   string  `parquet:"key,dict"`
	Label int64   `parquet:"label"`
	Prob  float64 `parquet:"prob"`
}

func writeBenchFile(b *testing.B, path string, n int) {
	var buf bytes.Buffer
	w := parquet.NewGenericWriter[benchRow](&buf, parquet.Compression(&parquet.Snappy),
		parquet.MaxRowsPerRowGroup(128<<10))
	rng := rand.New(rand.NewSource(1))
	keys := []string{"model-a", "model-b", "model-c", "model-d"}
	rows := make([]benchRow, 0, 8192)
	for i := 0; i < n; i++ {
		rows = append(rows, benchRow{Key: keys[rng.Intn(len(keys))], Label: int64(rng.Intn(2)), Prob: rng.Float64()})
		if len(rows) == cap(rows) || i == n-1 {
			if _, err := w.Write(rows); err != nil {
				b.Fatal(err)
			}
			rows = rows[:0]
		}
	}
	if err := w.Close(); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkParquetBinaryScan decodes the columns of a binary log-loss job:
// a dictionary string key, an int64 label and a double probability.
func BenchmarkParquetBinaryScan(b *testing.B) {
	const n = 1 << 20
	path := filepath.Join(b.TempDir(), "bench.parquet")
	writeBenchFile(b, path, n)
	f, err := Open(Input{Path: path})
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	cols := []string{"key", "label", "prob"}
	b.ReportAllocs()
	b.ResetTimer()
	var sum float64
	for it := 0; it < b.N; it++ {
		rows := 0
		for u := 0; u < f.NumUnits(); u++ {
			err := f.ReadUnit(context.Background(), u, cols, 64<<10, func(c *Chunk) error {
				codes, labels, probs := c.Columns[0].Codes, c.Columns[1].Ints, c.Columns[2].F64
				for i := range probs {
					sum += probs[i] + float64(labels[i]) + float64(codes[i])
				}
				rows += c.Len
				return nil
			})
			if err != nil {
				b.Fatal(err)
			}
		}
		if rows != n {
			b.Fatalf("%d rows", rows)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
	_ = sum
}
