package writers

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/flight"
	"github.com/apache/arrow/go/v17/parquet"
	"github.com/apache/arrow/go/v17/parquet/file"
	"github.com/apache/arrow/go/v17/parquet/metadata"
	"github.com/apache/arrow/go/v17/parquet/pqarrow"
)

// Arrow's pqarrow.FileWriter encodes a row group's columns one after the
// other, and compresses each column's pages as it goes: the writer of a
// per-row file is a single goroutine doing all of a 50M-row file's
// dictionary encoding, statistics and zstd. For a schema of flat columns
// (no list, struct or map: every output but summary.parquet and a
// multiclass rows.parquet) flatWriter writes the same file with Parquet's
// buffered row groups instead, encoding the columns concurrently, each into
// its own buffer, then writing them in order. What it writes is what
// FileWriter.Write writes (TestFlatWriterSameBytes): the same schema and
// key-value metadata, the same page writers fed the same values with the
// same definition levels (those pqarrow's level builder gives a flat
// column: none when it is required, 1 for a value and 0 for a null).

// flatColumns turns flatWriter on; tests turn it off to compare.
var flatColumns = true

// flatSchema reports whether every field of schema is a flat column:
// a type Parquet stores as one leaf, not a list, struct, map, dictionary or
// extension type, nor Arrow's Null type (whose arrays have no validity
// bitmap: every row would get the level of a present value).
func flatSchema(schema *arrow.Schema) bool {
	for _, f := range schema.Fields() {
		switch f.Type.ID() {
		case arrow.NULL, arrow.LIST, arrow.LARGE_LIST, arrow.FIXED_SIZE_LIST, arrow.LIST_VIEW, arrow.LARGE_LIST_VIEW,
			arrow.STRUCT, arrow.MAP, arrow.DICTIONARY, arrow.EXTENSION, arrow.SPARSE_UNION, arrow.DENSE_UNION,
			arrow.RUN_END_ENCODED:
			return false
		}
	}
	return true
}

// flatWriter writes row groups of a flat schema with their columns encoded
// concurrently.
type flatWriter struct {
	fw         *file.Writer
	schema     *arrow.Schema
	arrowProps pqarrow.ArrowWriterProperties
	dict       []bool // per column: dictionary encoded (its pages wait for its dictionary)
}

// newFlatWriter starts a Parquet file of schema on w, as pqarrow.NewFileWriter
// does with arrowProps storing the schema.
func newFlatWriter(w io.Writer, schema *arrow.Schema, props *parquet.WriterProperties, arrowProps pqarrow.ArrowWriterProperties) (*flatWriter, error) {
	pqschema, err := pqarrow.ToParquet(schema, props, arrowProps)
	if err != nil {
		return nil, err
	}
	meta := make(metadata.KeyValueMetadata, 0)
	for i := range schema.Metadata().Len() {
		meta.Append(schema.Metadata().Keys()[i], schema.Metadata().Values()[i])
	}
	meta.Append("ARROW:schema", base64.StdEncoding.EncodeToString(flight.SerializeSchema(schema, props.Allocator())))
	fw := file.NewParquetWriter(w, pqschema.Root(), file.WithWriterProps(props), file.WithWriteMetadata(meta))
	dict := make([]bool, schema.NumFields())
	for i := range dict {
		dict[i] = props.DictionaryEnabledFor(pqschema.Column(i).Path())
	}
	return &flatWriter{fw: fw, schema: schema, arrowProps: arrowProps, dict: dict}, nil
}

// Write writes rec as one row group.
func (f *flatWriter) Write(rec arrow.Record) error {
	rgw := f.fw.AppendBufferedRowGroup()
	n := int(rec.NumCols())
	errs := make([]error, n)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), n) {
		wg.Go(func() {
			for i := int(next.Add(1) - 1); i < n; i = int(next.Add(1) - 1) {
				errs[i] = guard(func() error { return f.column(rgw, rec, i) })
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return rgw.Close()
}

// column writes column i of rec into rgw's column i, and, unless it is
// dictionary encoded (its pages are written after its dictionary, at the
// row group's Close), builds and compresses its last page here.
func (f *flatWriter) column(rgw file.BufferedRowGroupWriter, rec arrow.Record, i int) error {
	cw, err := rgw.Column(i)
	if err != nil {
		return err
	}
	arr, field := rec.Column(i), f.schema.Field(i)
	var def []int16
	if field.Nullable {
		def = make([]int16, arr.Len())
		for j := range def {
			if arr.IsValid(j) {
				def[j] = 1
			}
		}
	}
	ctx := pqarrow.NewArrowWriteContext(context.Background(), &f.arrowProps)
	if err := pqarrow.WriteArrowToColumn(ctx, cw, arr, def, nil, field.Nullable); err != nil {
		return err
	}
	if f.dict[i] {
		return nil
	}
	flusher, ok := cw.(interface{ FlushBufferedDataPages() error })
	if !ok {
		return fmt.Errorf("column %s: Arrow's column writer cannot flush its pages", field.Name)
	}
	return flusher.FlushBufferedDataPages()
}

// Close writes the footer.
func (f *flatWriter) Close() error { return f.fw.Close() }
