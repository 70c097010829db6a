package readers

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"unsafe"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/ipc"
	"github.com/apache/arrow/go/v17/arrow/memory"
	"github.com/evaljob/evaljob/evalerr"
)

// limitAllocator refuses (by panicking, which the reader recovers into an
// input error) any single allocation larger than a file could need, so a
// hostile length in an IPC message cannot exhaust memory.
//
// It also tracks what it hands out: arrow v17's FileReader.Close does not
// release the dictionaries it read, so close frees what is left.
type limitAllocator struct {
	memory.Allocator
	limit int
	mu    sync.Mutex
	live  map[*byte][]byte
}

func (a *limitAllocator) track(b []byte) []byte {
	if cap(b) > 0 {
		a.mu.Lock()
		if a.live == nil {
			a.live = map[*byte][]byte{}
		}
		a.live[unsafe.SliceData(b)] = b
		a.mu.Unlock()
	}
	return b
}

func (a *limitAllocator) untrack(b []byte) {
	if cap(b) > 0 {
		a.mu.Lock()
		delete(a.live, unsafe.SliceData(b))
		a.mu.Unlock()
	}
}

func (a *limitAllocator) Free(b []byte) {
	a.untrack(b)
	a.Allocator.Free(b)
}

// freeAll frees what is still allocated; nothing may use it afterwards.
func (a *limitAllocator) freeAll() {
	a.mu.Lock()
	live := a.live
	a.live = nil
	a.mu.Unlock()
	for _, b := range live {
		a.Allocator.Free(b)
	}
}

type allocLimitError struct{ size, limit int }

func (e allocLimitError) Error() string {
	return fmt.Sprintf("declared buffer of %d bytes exceeds the %d bytes the file can hold", e.size, e.limit)
}

func (a *limitAllocator) Allocate(n int) []byte {
	if n < 0 || n > a.limit {
		panic(allocLimitError{n, a.limit})
	}
	return a.track(a.Allocator.Allocate(n))
}

func (a *limitAllocator) Reallocate(n int, b []byte) []byte {
	if n < 0 || n > a.limit {
		panic(allocLimitError{n, a.limit})
	}
	a.untrack(b)
	return a.track(a.Allocator.Reallocate(n, b))
}

// ipcColumn is one field of an IPC schema.
type ipcColumn struct {
	name string
	typ  arrow.DataType // as reported in Fields; nil: unsupported
	why  string
}

type ipcFile struct {
	fpath  string
	osf    *os.File
	sz     int64
	stream bool
	mem    memory.Allocator
	lim    *limitAllocator
	fr     *ipc.FileReader // IPC file only
	blocks []ipcBlock
	first  []int64
	rows   int64
	cols   []ipcColumn
	hive   []KV
	flds   []Field
	mu     sync.Mutex // an IPC stream is read by one ReadUnit at a time
	// recMu serializes fr.RecordAt: Arrow v17's FileReader is not safe for
	// concurrent use with dictionary columns (its dictionary mapper shares
	// one hash), which failed valid files at random with several workers.
	recMu sync.Mutex
}

func (f *ipcFile) path() string { return f.fpath }
func (f *ipcFile) format() Format {
	if f.stream {
		return IPCStream
	}
	return IPCFile
}
func (f *ipcFile) size() int64     { return f.sz }
func (f *ipcFile) numRows() int64  { return f.rows }
func (f *ipcFile) fields() []Field { return f.flds }
func (f *ipcFile) numUnits() int {
	if f.stream {
		return 1
	}
	return len(f.blocks)
}
func (f *ipcFile) close() error {
	if f.fr != nil {
		f.fr.Close()
	}
	f.lim.freeAll()
	return f.osf.Close()
}

func (f *ipcFile) errf(rg int, col string, format string, args ...any) error {
	return &evalerr.InputError{Path: f.fpath, RowGroup: rg, Row: -1, Column: col, Err: fmt.Errorf(format, args...)}
}

func openIPC(in Input, osf *os.File, size int64, stream bool, mem memory.Allocator) (_ *ipcFile, err error) {
	lim := &limitAllocator{Allocator: mem, limit: ipcAllocLimit(size)}
	f := &ipcFile{fpath: in.Path, osf: osf, sz: size, stream: stream, rows: -1, mem: lim, lim: lim}
	defer func() {
		if err != nil {
			if f.fr != nil {
				f.fr.Close()
			}
			lim.freeAll()
		}
	}()
	defer recoverInput(&err, in.Path, -1, nil, "reading Arrow IPC schema")
	var schema *arrow.Schema
	if stream {
		if err := scanIPCStream(osf, size); err != nil {
			return nil, f.errf(-1, "", "not a valid Arrow IPC stream: %w", err)
		}
		rdr, err := ipc.NewReader(bufio.NewReaderSize(io.NewSectionReader(osf, 0, size), 1<<16), ipc.WithAllocator(f.mem))
		if err != nil {
			return nil, f.errf(-1, "", "not a valid Arrow IPC stream: %w", err)
		}
		schema = rdr.Schema()
		rdr.Release()
	} else {
		if f.blocks, err = scanIPCFile(osf, size); err != nil {
			return nil, f.errf(-1, "", "not a valid Arrow IPC file: %w", err)
		}
		fr, err := ipc.NewFileReader(osf, ipc.WithAllocator(f.mem))
		if err != nil {
			return nil, f.errf(-1, "", "not a valid Arrow IPC file: %w", err)
		}
		if fr.NumRecords() != len(f.blocks) {
			fr.Close()
			return nil, f.errf(-1, "", "footer lists %d record batches, arrow reads %d", len(f.blocks), fr.NumRecords())
		}
		f.fr = fr
		schema = fr.Schema()
		f.rows = 0
		for _, b := range f.blocks {
			f.first = append(f.first, f.rows)
			f.rows += b.rows
		}
	}
	have := map[string]bool{}
	for _, fld := range schema.Fields() {
		t, why := ipcType(fld.Type)
		f.cols = append(f.cols, ipcColumn{name: fld.Name, typ: t, why: why})
		f.flds = append(f.flds, Field{Name: fld.Name, Type: t, Nullable: fld.Nullable, Unsupported: why})
		have[fld.Name] = true
	}
	f.hive, f.flds = hiveFields(in.Partition, have, f.flds)
	return f, nil
}

// ipcAllocLimit bounds one allocation: a body buffer can be no larger than
// the file unless it is compressed.
func ipcAllocLimit(size int64) int {
	l := size*256 + 64<<20
	if l > 1<<40 || l < 0 {
		l = 1 << 40
	}
	return int(l)
}

// ipcType returns the type Fields reports for an Arrow type, or nil and a
// description when evaljob cannot read it.
func ipcType(dt arrow.DataType) (arrow.DataType, string) {
	if isIPCScalar(dt) {
		return dt, ""
	}
	switch t := dt.(type) {
	case *arrow.StringViewType: // Polars' strings: read as utf8
		return arrow.BinaryTypes.String, ""
	case *arrow.BinaryViewType:
		return arrow.BinaryTypes.Binary, ""
	case *arrow.DictionaryType:
		switch t.ValueType.ID() {
		case arrow.STRING, arrow.LARGE_STRING, arrow.BINARY, arrow.LARGE_BINARY:
			if arrow.IsInteger(t.IndexType.ID()) {
				return t.ValueType, ""
			}
		}
	case *arrow.ListType:
		if isIPCScalar(t.Elem()) {
			return dt, ""
		}
		return nil, "list<" + t.Elem().String() + ">"
	case *arrow.LargeListType:
		if isIPCScalar(t.Elem()) {
			return dt, ""
		}
		return nil, "large_list<" + t.Elem().String() + ">"
	case *arrow.FixedSizeListType:
		if isIPCScalar(t.Elem()) && t.Len() > 0 {
			return dt, ""
		}
		return nil, dt.String()
	}
	return nil, dt.String()
}

func isIPCScalar(dt arrow.DataType) bool {
	switch dt.ID() {
	case arrow.BOOL, arrow.INT8, arrow.INT16, arrow.INT32, arrow.INT64,
		arrow.UINT8, arrow.UINT16, arrow.UINT32, arrow.UINT64,
		arrow.DATE32, arrow.TIMESTAMP, arrow.FLOAT32, arrow.FLOAT64,
		arrow.STRING, arrow.LARGE_STRING, arrow.BINARY, arrow.LARGE_BINARY:
		return true
	}
	return false
}

func (f *ipcFile) resolve(columns []string) ([]int, error) {
	idx := make([]int, len(columns))
outer:
	for i, name := range columns {
		for j, c := range f.cols {
			if c.name == name {
				if c.typ == nil {
					return nil, f.errf(-1, name, "unsupported Arrow type %s", c.why)
				}
				idx[i] = j
				continue outer
			}
		}
		for j, kv := range f.hive {
			if kv.Key == name {
				idx[i] = -1 - j
				continue outer
			}
		}
		return nil, f.errf(-1, name, "no such column")
	}
	return idx, nil
}

// readHead is readUnit's first chunk of at most rows rows (a record batch
// is decoded whole).
func (f *ipcFile) readHead(ctx context.Context, unit int, columns []string, rows int, yield func(*Chunk) error) error {
	err := f.readUnit(ctx, unit, columns, max(rows, 1), func(ch *Chunk) error {
		if err := yield(ch); err != nil {
			return err
		}
		return errHeadRead
	})
	if err == errHeadRead {
		return nil
	}
	return err
}

// errHeadRead stops readHead's readUnit after the first chunk.
var errHeadRead = errors.New("head read")

func (f *ipcFile) readUnit(ctx context.Context, unit int, columns []string, batchRows int, yield func(*Chunk) error) error {
	if unit < 0 || unit >= f.numUnits() {
		return fmt.Errorf("readers: %s: unit %d out of range [0, %d)", f.fpath, unit, f.numUnits())
	}
	idx, err := f.resolve(columns)
	if err != nil {
		return err
	}
	sc := newIPCScratch(columns)
	if !f.stream {
		if err := ctx.Err(); err != nil {
			return err
		}
		rec, err := f.record(unit)
		if err != nil {
			return err
		}
		defer rec.Release()
		if rec.NumRows() != f.blocks[unit].rows {
			return f.errf(unit, "", "record batch has %d rows, its metadata declares %d", rec.NumRows(), f.blocks[unit].rows)
		}
		return f.yieldRecord(ctx, sc, rec, idx, unit, f.first[unit], batchRows, yield)
	}

	f.mu.Lock()
	defer f.mu.Unlock()
	rdr, err := f.openStream()
	if err != nil {
		return err
	}
	defer rdr.Release()
	var firstRow int64
	for batch := 0; ; batch++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		rec, err := f.next(rdr, batch)
		if err != nil {
			return err
		}
		if rec == nil {
			return nil
		}
		// The reader keeps ownership: the record is valid until the next Next.
		if err := f.yieldRecord(ctx, sc, rec, idx, batch, firstRow, batchRows, yield); err != nil {
			return err
		}
		firstRow += rec.NumRows()
	}
}

func (f *ipcFile) record(unit int) (rec arrow.Record, err error) {
	defer recoverInput(&err, f.fpath, unit, nil, "reading record batch")
	f.recMu.Lock()
	defer f.recMu.Unlock()
	rec, err = f.fr.RecordAt(unit)
	if err != nil {
		return nil, f.errf(unit, "", "reading record batch: %w", err)
	}
	return rec, nil
}

func (f *ipcFile) openStream() (rdr *ipc.Reader, err error) {
	defer recoverInput(&err, f.fpath, -1, nil, "reading Arrow IPC stream")
	rdr, err = ipc.NewReader(bufio.NewReaderSize(io.NewSectionReader(f.osf, 0, f.sz), 1<<20), ipc.WithAllocator(f.mem))
	if err != nil {
		return nil, f.errf(-1, "", "not a valid Arrow IPC stream: %w", err)
	}
	return rdr, nil
}

func (f *ipcFile) next(rdr *ipc.Reader, batch int) (rec arrow.Record, err error) {
	defer recoverInput(&err, f.fpath, batch, nil, "reading record batch")
	if rdr.Next() {
		return rdr.Record(), nil
	}
	if err := rdr.Err(); err != nil && !errors.Is(err, io.EOF) {
		return nil, f.errf(batch, "", "reading record batch: %w", err)
	}
	return nil, nil
}

// yieldRecord converts the requested columns of rec and yields them in
// batches.
func (f *ipcFile) yieldRecord(ctx context.Context, sc *ipcScratch, rec arrow.Record, idx []int, unit int, firstRow int64, batchRows int, yield func(*Chunk) error) error {
	rows := int(rec.NumRows())
	if err := f.convertRecord(sc, rec, idx, unit); err != nil {
		return err
	}
	step := rows
	if batchRows > 0 && batchRows < step {
		step = batchRows
	}
	for lo := 0; lo < rows; lo += step {
		if err := ctx.Err(); err != nil {
			return err
		}
		hi := min(lo+step, rows)
		if lo == 0 && hi == rows {
			copy(sc.out, sc.full)
		} else {
			for i := range sc.full {
				sliceColumn(&sc.out[i], &sc.elems[i], &sc.offs[i], &sc.full[i], lo, hi)
			}
		}
		sc.chunk = Chunk{Path: f.fpath, RowGroup: unit, FirstRow: firstRow + int64(lo), Len: hi - lo, Columns: sc.ptrs}
		if err := yield(&sc.chunk); err != nil {
			return err
		}
	}
	return nil
}

func (f *ipcFile) convertRecord(sc *ipcScratch, rec arrow.Record, idx []int, unit int) (err error) {
	col := ""
	defer recoverInput(&err, f.fpath, unit, &col, "decoding record batch")
	rows := int(rec.NumRows())
	if int(rec.NumCols()) != len(f.cols) {
		return f.errf(unit, "", "record batch has %d columns, schema %d", rec.NumCols(), len(f.cols))
	}
	for i, j := range idx {
		col = sc.names[i]
		if j < 0 {
			kv := f.hive[-1-j]
			sc.hiveColumn(&sc.full[i], kv, col, rows)
			continue
		}
		arr := rec.Column(j)
		if arr.Len() != rows {
			return f.errf(unit, col, "column has %d rows, record batch %d", arr.Len(), rows)
		}
		if err := sc.bufs[i].convert(&sc.full[i], arr, col); err != nil {
			return f.errf(unit, col, "%w", err)
		}
	}
	return nil
}

type ipcScratch struct {
	names []string
	bufs  []ipcBuf
	full  []Column // whole record
	out   []Column // the batch handed to yield
	elems []Column
	offs  [][]int
	ptrs  []*Column
	codes []int32
	nulls []bool
	chunk Chunk
}

func newIPCScratch(names []string) *ipcScratch {
	n := len(names)
	sc := &ipcScratch{names: names, bufs: make([]ipcBuf, n), full: make([]Column, n), out: make([]Column, n),
		elems: make([]Column, n), offs: make([][]int, n), ptrs: make([]*Column, n)}
	for i := range sc.out {
		sc.ptrs[i] = &sc.out[i]
	}
	return sc
}

func (sc *ipcScratch) hiveColumn(col *Column, kv KV, name string, n int) {
	for len(sc.codes) < n {
		sc.codes = append(sc.codes, 0)
		sc.nulls = append(sc.nulls, false)
	}
	*col = Column{Name: name, Type: arrow.BinaryTypes.String, Len: n, Codes: sc.codes[:n], Dict: []string{kv.Value}}
	if kv.Null {
		col.Valid = sc.nulls[:n]
		col.Dict = []string{""}
	}
}

// sliceColumn sets dst to rows [lo, hi) of src.
func sliceColumn(dst, elem *Column, offs *[]int, src *Column, lo, hi int) {
	*dst = Column{Name: src.Name, Type: src.Type, Len: hi - lo, Dict: src.Dict}
	if src.Valid != nil && hasFalse(src.Valid[lo:hi]) {
		dst.Valid = src.Valid[lo:hi]
	}
	if src.Elem == nil {
		sliceValues(dst, src, lo, hi)
		return
	}
	so := src.Offsets[lo : hi+1]
	e0, e1 := so[0], so[len(so)-1]
	o := (*offs)[:0]
	for _, x := range so {
		o = append(o, x-e0)
	}
	*offs = o
	dst.Offsets = o
	*elem = Column{Name: src.Elem.Name, Type: src.Elem.Type, Len: e1 - e0, Dict: src.Elem.Dict}
	if src.Elem.Valid != nil && hasFalse(src.Elem.Valid[e0:e1]) {
		elem.Valid = src.Elem.Valid[e0:e1]
	}
	sliceValues(elem, src.Elem, e0, e1)
	dst.Elem = elem
}

func sliceValues(dst, src *Column, lo, hi int) {
	switch {
	case src.Bools != nil:
		dst.Bools = src.Bools[lo:hi]
	case src.Ints != nil:
		dst.Ints = src.Ints[lo:hi]
	case src.F32 != nil:
		dst.F32 = src.F32[lo:hi]
	case src.F64 != nil:
		dst.F64 = src.F64[lo:hi]
	case src.Strs != nil:
		dst.Strs = src.Strs[lo:hi]
	case src.Codes != nil:
		dst.Codes = src.Codes[lo:hi]
	}
}
