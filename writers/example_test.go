package writers_test

import (
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/memory"

	"github.com/evaljob/evaljob/writers"
)

// A run stages its outputs, writes them, and publishes them together, the
// manifest last.
func Example() {
	tmp, _ := os.MkdirTemp("", "evaljob-example")
	defer os.RemoveAll(tmp)
	dir, err := writers.OpenDir(filepath.Join(tmp, "out"), false, []string{"summary.parquet", "manifest.json"})
	if err != nil {
		log.Fatal(err)
	}
	defer dir.Abort() // removes temporary files unless Commit succeeded

	schema := arrow.NewSchema([]arrow.Field{
		{Name: "group_set", Type: arrow.BinaryTypes.String},
		{Name: "rows", Type: arrow.PrimitiveTypes.Int64},
		{Name: "cross_entropy", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
	}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	b.Field(0).(*array.StringBuilder).Append("")
	b.Field(1).(*array.Int64Builder).Append(500)
	b.Field(2).(*array.Float64Builder).Append(0.4213)
	rec := b.NewRecord()
	defer rec.Release()

	summary, err := dir.Create("summary.parquet")
	if err != nil {
		log.Fatal(err)
	}
	pw, err := writers.NewParquetWriter(summary, schema)
	if err != nil {
		log.Fatal(err)
	}
	if err := pw.Write(rec); err != nil {
		log.Fatal(err)
	}
	if err := pw.Close(); err != nil {
		log.Fatal(err)
	}

	manifest, err := dir.Create("manifest.json")
	if err != nil {
		log.Fatal(err)
	}
	// The manifest lists the other outputs with the hash of their bytes.
	m := writers.Manifest{
		RunID:   "example",
		Status:  "ok",
		Outputs: []writers.ManifestOutput{{Path: summary.Name(), Rows: pw.Rows(), SHA256: summary.SHA256()}},
	}
	if err := writers.WriteJSON(manifest, m); err != nil {
		log.Fatal(err)
	}

	pub, err := dir.Commit()
	if err != nil {
		log.Fatal(err)
	}
	for _, p := range pub {
		fmt.Println(p.Name, len(p.SHA256))
	}
	fmt.Println(pub[0].SHA256 == m.Outputs[0].SHA256)
	// Output:
	// summary.parquet 64
	// manifest.json 64
	// true
}
