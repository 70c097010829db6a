package writers

import (
	"errors"
	"fmt"
	"io"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/memory"
	"github.com/apache/arrow/go/v17/parquet"
	"github.com/apache/arrow/go/v17/parquet/compress"
	"github.com/apache/arrow/go/v17/parquet/pqarrow"

	"github.com/evaljob/evaljob/evalerr"
)

// CreatedBy is the created_by string of every Parquet file evaljob writes.
// It is constant, so that a re-run gives byte-identical files.
const CreatedBy = "evaljob (parquet via apache arrow go v17)"

// DefaultRowGroupRows is the number of rows per row group.
const DefaultRowGroupRows = 128 << 10

// DefaultDictionaryBytes bounds a row group's bytes of each
// dictionary-encoded (string or binary) column, counted as a dictionary
// page counts them: 4 + length per value. A row group is cut before a row
// that would reach it, so the column's dictionary, at most that size,
// never falls back to plain pages (Arrow's fallback limit is set to the
// same bound). A chunk that fell back would have two data page encodings,
// and Arrow v17 lists their page counts (ColumnMetaData.encoding_stats) in
// Go map order: the file's bytes would differ from run to run (the values
// never do); 100k distinct group keys did it at Arrow's default of 1 MB.
// Only a single value of this size or more can still make a chunk fall back.
const DefaultDictionaryBytes = 64 << 20

// ParquetWriter writes Arrow records as one Parquet file.
//
// Settings: zstd compression (default level), column statistics on (but
// for unsigned integer columns: see NewParquetWriter), PLAIN
// encoding for numbers and dictionary encoding for string and binary
// columns, data page v1, format version 2.6, required root, the Arrow schema
// stored in the footer (key "ARROW:schema") so that types such as uint64,
// int8 and date32 round-trip exactly, and created_by = CreatedBy.
//
// Row groups: Write buffers rows and cuts a row group every RowGroupRows
// rows, or earlier where a string column's values would reach
// DefaultDictionaryBytes (Close writes the remainder), concatenating or slicing the records it
// was given as needed. So the file's bytes depend only on the sequence of
// rows written, not on how they were split into records; memory is bounded
// by one row group of the given schema. Write retains what it keeps: the
// caller may release its record as soon as Write returns.
//
// A ParquetWriter is not safe for concurrent use.
type ParquetWriter struct {
	w            io.Writer
	fw           fileWriter // a flatWriter for a schema of flat columns, else pqarrow's
	schema       *arrow.Schema
	fileSchema   *arrow.Schema // FixedSizeList columns as List; nil when none
	mem          memory.Allocator
	rowGroupRows int64
	dictBytes    int64 // the bound on each dictCols column's bytes per row group
	dictCols     []int // the dictionary-encoded columns

	pending     []arrow.Record
	pendingRows int64
	pendingDict []int64 // per dictCols column: its pending bytes (an upper bound)
	rows        int64
	err         error
	closed      bool
}

// fileWriter writes a Parquet file a row group at a time: pqarrow's
// FileWriter, or flatWriter.
type fileWriter interface {
	Write(rec arrow.Record) error // rec as one row group
	Close() error                 // the footer
}

// ParquetOption changes a ParquetWriter setting.
type ParquetOption func(*parquetConfig)

type parquetConfig struct {
	mem          memory.Allocator
	rowGroupRows int64
	dictBytes    int64
}

// WithAllocator sets the allocator for buffers the writer creates
// (default memory.DefaultAllocator).
func WithAllocator(mem memory.Allocator) ParquetOption {
	return func(c *parquetConfig) { c.mem = mem }
}

// WithRowGroupRows sets the number of rows per row group (default
// DefaultRowGroupRows; values < 1 mean the default).
func WithRowGroupRows(n int64) ParquetOption {
	return func(c *parquetConfig) {
		if n > 0 {
			c.rowGroupRows = n
		}
	}
}

// WithDictionaryBytes sets the bound on a row group's bytes of each
// dictionary-encoded column (default DefaultDictionaryBytes; values < 1
// mean the default).
func WithDictionaryBytes(n int64) ParquetOption {
	return func(c *parquetConfig) {
		if n > 0 {
			c.dictBytes = n
		}
	}
}

// NewParquetWriter starts a Parquet file with schema on w. Usually w is a
// *Staged; its write errors (which name the file) are then the ones
// returned.
func NewParquetWriter(w io.Writer, schema *arrow.Schema, opts ...ParquetOption) (pw *ParquetWriter, err error) {
	cfg := parquetConfig{mem: memory.DefaultAllocator, rowGroupRows: DefaultRowGroupRows, dictBytes: DefaultDictionaryBytes}
	for _, o := range opts {
		o(&cfg)
	}
	props := []parquet.WriterProperty{
		parquet.WithAllocator(cfg.mem),
		parquet.WithCompression(compress.Codecs.Zstd),
		parquet.WithStats(true),
		parquet.WithCreatedBy(CreatedBy),
		parquet.WithVersion(parquet.V2_LATEST),
		parquet.WithDataPageVersion(parquet.DataPageV1),
		parquet.WithRootRepetition(parquet.Repetitions.Required),
		parquet.WithMaxRowGroupLength(cfg.rowGroupRows),
		parquet.WithDictionaryDefault(false),
		parquet.WithDictionaryPageSizeLimit(cfg.dictBytes),
	}
	var dictCols []int
	for i, f := range schema.Fields() {
		switch f.Type.ID() {
		case arrow.STRING, arrow.LARGE_STRING, arrow.BINARY, arrow.LARGE_BINARY:
			props = append(props, parquet.WithDictionaryFor(f.Name, true))
			dictCols = append(dictCols, i)
		case arrow.UINT8, arrow.UINT16, arrow.UINT32, arrow.UINT64:
			// Arrow v17 writes an unsigned column's statistics as min
			// MaxUint, max 0 (always with nulls, and through
			// pqarrow.FileWriter.Write without): a reader that prunes row
			// groups by them would skip rows that match. None is better.
			props = append(props, parquet.WithStatsFor(f.Name, false))
		}
	}
	fileSchema, hasFSL := fixedSizeListView(schema, cfg.mem)
	arrowOpts := []pqarrow.WriterOption{pqarrow.WithAllocator(cfg.mem)}
	if !hasFSL {
		arrowOpts = append(arrowOpts, pqarrow.WithStoreSchema())
	}
	arrowProps := pqarrow.NewArrowWriterProperties(arrowOpts...)
	// The underlying writer panics when the 4-byte header cannot be written.
	defer func() {
		if r := recover(); r != nil {
			pw, err = nil, outputErr(w, fmt.Errorf("starting Parquet file: %v", r))
		}
	}()
	p := &ParquetWriter{w: w, schema: schema, mem: cfg.mem, rowGroupRows: cfg.rowGroupRows,
		dictBytes: cfg.dictBytes, dictCols: dictCols, pendingDict: make([]int64, len(dictCols))}
	if flatColumns && !hasFSL && flatSchema(schema) {
		p.fw, err = newFlatWriter(w, fileSchema, parquet.NewWriterProperties(props...), arrowProps)
	} else {
		p.fw, err = pqarrow.NewFileWriter(fileSchema, w, parquet.NewWriterProperties(props...), arrowProps)
	}
	if err != nil {
		return nil, outputErr(w, fmt.Errorf("starting Parquet file: %w", err))
	}
	if hasFSL {
		p.fileSchema = fileSchema
	}
	return p, nil
}

// Write adds the rows of rec, whose schema must equal the writer's.
func (p *ParquetWriter) Write(rec arrow.Record) error {
	if p.err != nil {
		return p.err
	}
	if p.closed {
		return p.fail(errors.New("write after Close"))
	}
	if !rec.Schema().Equal(p.schema) {
		return p.fail(fmt.Errorf("record schema %s does not match the file's %s", rec.Schema(), p.schema))
	}
	if rec.NumRows() == 0 {
		return nil
	}
	rec.Retain()
	p.pending = append(p.pending, rec)
	p.pendingRows += rec.NumRows()
	for k, c := range p.dictCols {
		p.pendingDict[k] += dictBytes(rec.Column(c), 0, int(rec.NumRows()))
	}
	for p.pendingRows >= p.rowGroupRows || p.overDict() {
		n := p.rowGroupRows
		if p.overDict() {
			n = min(n, p.dictRows())
		}
		if err := p.flush(n); err != nil {
			return err
		}
		clear(p.pendingDict)
		for _, r := range p.pending {
			for k, c := range p.dictCols {
				p.pendingDict[k] += dictBytes(r.Column(c), 0, int(r.NumRows()))
			}
		}
	}
	return nil
}

// dictBytes is an upper bound of what rows lo..hi-1 of a string or binary
// column add to a dictionary page: 4 + length per value (nulls add
// nothing there, and their length here is 0 or counted too).
func dictBytes(a arrow.Array, lo, hi int) int64 {
	if hi <= lo {
		return 0
	}
	b := a.(array.BinaryLike)
	return b.ValueOffset64(hi-1) + int64(b.ValueLen(hi-1)) - b.ValueOffset64(lo) + 4*int64(hi-lo)
}

// overDict reports whether a dictionary column's pending rows reach
// dictBytes.
func (p *ParquetWriter) overDict() bool {
	for _, n := range p.pendingDict {
		if n >= p.dictBytes {
			return true
		}
	}
	return false
}

// dictRows is the most pending rows (at least 1) whose values of every
// dictionary column stay below dictBytes.
func (p *ParquetWriter) dictRows() int64 {
	sums := make([]int64, len(p.dictCols))
	var rows int64
	cols := make([]array.BinaryLike, len(p.dictCols))
	for _, r := range p.pending {
		for k, c := range p.dictCols {
			cols[k] = r.Column(c).(array.BinaryLike)
		}
		for i := range int(r.NumRows()) {
			for k, b := range cols {
				if sums[k] += 4 + int64(b.ValueLen(i)); sums[k] >= p.dictBytes {
					return max(rows, 1)
				}
			}
			rows++
		}
	}
	return rows
}

// Rows is the number of rows written so far (buffered ones included).
func (p *ParquetWriter) Rows() int64 { return p.rows + p.pendingRows }

// Close writes the buffered rows and the footer. It does not close the
// underlying writer. Close releases everything the writer holds, also after
// an error, and may be called more than once.
func (p *ParquetWriter) Close() error {
	if p.closed {
		return p.err
	}
	p.closed = true
	if p.err == nil && p.pendingRows > 0 {
		p.flush(p.pendingRows)
	}
	p.releasePending()
	if err := guard(p.fw.Close); err != nil && p.err == nil {
		p.err = outputErr(p.w, fmt.Errorf("writing Parquet footer: %w", err))
	}
	if p.err == nil {
		// Row group writers drop some write errors; the sink keeps them.
		if s, ok := p.w.(interface{ Err() error }); ok && s.Err() != nil {
			p.err = s.Err()
		}
	}
	return p.err
}

// flush writes the first n pending rows as one row group.
func (p *ParquetWriter) flush(n int64) error {
	rec, err := p.take(n)
	if err != nil {
		return p.fail(fmt.Errorf("assembling a row group: %w", err))
	}
	defer rec.Release()
	if p.fileSchema != nil {
		if rec, err = asLists(rec, p.fileSchema, p.mem); err != nil {
			return p.fail(fmt.Errorf("assembling a row group: %w", err))
		}
		defer rec.Release()
	}
	if err := guard(func() error { return p.fw.Write(rec) }); err != nil {
		return p.fail(fmt.Errorf("writing a row group: %w", err))
	}
	p.rows += n
	return nil
}

// take removes the first n pending rows and returns them as one record.
func (p *ParquetWriter) take(n int64) (arrow.Record, error) {
	first := p.pending[0]
	if first.NumRows() >= n {
		out := first.NewSlice(0, n)
		p.dropFront(n)
		return out, nil
	}
	parts := make([]arrow.Record, 0, len(p.pending))
	defer func() {
		for _, r := range parts {
			r.Release()
		}
	}()
	for need := n; need > 0; {
		r := p.pending[0]
		k := min(r.NumRows(), need)
		parts = append(parts, r.NewSlice(0, k))
		p.dropFront(k)
		need -= k
	}
	cols := make([]arrow.Array, p.schema.NumFields())
	defer func() {
		for _, c := range cols {
			if c != nil {
				c.Release()
			}
		}
	}()
	arrs := make([]arrow.Array, len(parts))
	for i := range cols {
		for j, r := range parts {
			arrs[j] = r.Column(i)
		}
		c, err := array.Concatenate(arrs, p.mem)
		if err != nil {
			return nil, err
		}
		cols[i] = c
	}
	return array.NewRecord(p.schema, cols, n), nil
}

// dropFront removes k rows (at most the first record's) from the front of
// pending.
func (p *ParquetWriter) dropFront(k int64) {
	r := p.pending[0]
	if k == r.NumRows() {
		r.Release()
		p.pending[0] = nil
		p.pending = p.pending[1:]
	} else {
		p.pending[0] = r.NewSlice(k, r.NumRows())
		r.Release()
	}
	p.pendingRows -= k
}

// guard runs f, turning a panic into an error: the Parquet writer panics
// on some failed writes of its sink.
func guard(f func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("Parquet writer failed: %v", r)
		}
	}()
	return f()
}

func (p *ParquetWriter) releasePending() {
	for _, r := range p.pending {
		r.Release()
	}
	p.pending = nil
	p.pendingRows = 0
}

func (p *ParquetWriter) fail(err error) error {
	if p.err == nil {
		p.err = outputErr(p.w, err)
	}
	return p.err
}

// outputErr makes err an evalerr.ErrOutput error. When w is a *Staged that
// met a write error, that error (which names the file) is the cause.
func outputErr(w io.Writer, err error) error {
	if s, ok := w.(interface{ Err() error }); ok && s.Err() != nil {
		return s.Err()
	}
	if errors.Is(err, evalerr.ErrOutput) {
		return err
	}
	if s, ok := w.(*Staged); ok {
		return evalerr.Outputf("%s: %w", s.Path(), err)
	}
	return evalerr.Outputf("%w", err)
}
