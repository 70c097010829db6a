package readers

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strings"
	"sync"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/evaljob/evaljob/evalerr"
	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/deprecated"
	"github.com/parquet-go/parquet-go/encoding/thrift"
	"github.com/parquet-go/parquet-go/format"
)

// Limits on what a Parquet footer or page header may declare. They keep a
// hostile file from making the reader allocate far more than the file holds;
// every legitimate writer stays well inside them.
const (
	maxUnitRows   = 1 << 28 // rows in one row group
	maxUnitValues = 1 << 28 // levels in one column chunk
	maxPageValues = 1 << 26 // levels in one page
	maxPageBytes  = 1 << 30 // uncompressed bytes of one page
	// A compressed page may expand by at most this factor (zstd's RLE blocks
	// reach ~32768), plus a fixed allowance.
	maxPageRatio = 1 << 16
	pageSlack    = 4 << 20
)

// physical decode kinds of a Parquet leaf.
type pqKind int

const (
	kBool pqKind = iota
	kInt32
	kUint32
	kInt64
	kFloat
	kDouble
	kBytes
)

// pqColumn is one top-level column of a Parquet file.
type pqColumn struct {
	name     string
	typ      arrow.DataType // nil: unsupported
	why      string         // the unsupported type, for the error message
	nullable bool
	leaf     int // leaf (column chunk) index
	kind     pqKind

	list         bool
	maxDef       int
	dOuter       int // list: definition level at or above which the list is not null
	elemOptional bool
}

type pqFile struct {
	fpath   string
	osf     *os.File
	sz      int64
	pf      *parquet.File
	cols    []pqColumn
	hive    []KV // partition keys the file does not have as columns
	flds    []Field
	rgRows  []int64
	rgFirst []int64
	rows    int64
}

func (p *pqFile) path() string    { return p.fpath }
func (p *pqFile) format() Format  { return Parquet }
func (p *pqFile) size() int64     { return p.sz }
func (p *pqFile) numRows() int64  { return p.rows }
func (p *pqFile) fields() []Field { return p.flds }
func (p *pqFile) numUnits() int   { return len(p.rgRows) }
func (p *pqFile) close() error    { return p.osf.Close() }

func (p *pqFile) errf(rg int, col string, format string, args ...any) error {
	return &evalerr.InputError{Path: p.fpath, RowGroup: rg, Row: -1, Column: col, Err: fmt.Errorf(format, args...)}
}

// openParquet reads and checks the footer. The file is closed on error.
func openParquet(in Input, osf *os.File, size int64) (_ *pqFile, err error) {
	p := &pqFile{fpath: in.Path, osf: osf, sz: size}
	defer recoverInput(&err, in.Path, -1, nil, "reading Parquet footer")

	if size < 12 {
		return nil, p.errf(-1, "", "not a Parquet file: %d bytes is too short", size)
	}
	var head, tail [8]byte
	if _, err := osf.ReadAt(head[:4], 0); err != nil {
		return nil, p.errf(-1, "", "reading magic header: %w", err)
	}
	if _, err := osf.ReadAt(tail[:], size-8); err != nil {
		return nil, p.errf(-1, "", "reading magic footer: %w", err)
	}
	if string(tail[4:]) == "PARE" {
		return nil, p.errf(-1, "", "encrypted Parquet files are not supported")
	}
	if string(head[:4]) != "PAR1" || string(tail[4:]) != "PAR1" {
		return nil, p.errf(-1, "", "not a Parquet file: missing PAR1 magic bytes (truncated or another format)")
	}
	footerLen := int64(binary.LittleEndian.Uint32(tail[:4]))
	if footerLen <= 0 || footerLen > size-12 {
		return nil, p.errf(-1, "", "footer length %d does not fit in a file of %d bytes", footerLen, size)
	}
	footer := make([]byte, footerLen)
	if _, err := osf.ReadAt(footer, size-8-footerLen); err != nil {
		return nil, p.errf(-1, "", "reading footer: %w", err)
	}
	if n, err := skimThriftStruct(footer); err != nil {
		return nil, p.errf(-1, "", "corrupt footer: %w", err)
	} else if n != len(footer) {
		return nil, p.errf(-1, "", "corrupt footer: %d trailing bytes", len(footer)-n)
	}
	if err := checkFooterShape(footer); err != nil {
		return nil, p.errf(-1, "", "corrupt or hostile footer: %w", err)
	}

	pf, err := parquet.OpenFile(osf, size,
		parquet.SkipPageIndex(true),
		parquet.SkipBloomFilters(true),
		parquet.ReadBufferSize(1<<20))
	if err != nil {
		return nil, p.errf(-1, "", "corrupt footer: %w", err)
	}
	p.pf = pf
	md := pf.Metadata()
	if err := p.buildSchema(md.Schema); err != nil {
		return nil, err
	}
	if err := p.checkRowGroups(md, size-8-footerLen); err != nil {
		return nil, err
	}
	if len(pf.RowGroups()) != len(md.RowGroups) {
		return nil, p.errf(-1, "", "corrupt footer: %d row groups opened, %d declared", len(pf.RowGroups()), len(md.RowGroups))
	}
	p.rows = md.NumRows
	if p.rows < 0 {
		p.rows = -1
	}

	have := map[string]bool{}
	for _, c := range p.cols {
		have[c.name] = true
		p.flds = append(p.flds, Field{Name: c.name, Type: c.typ, Nullable: c.nullable, Unsupported: c.why})
	}
	p.hive, p.flds = hiveFields(in.Partition, have, p.flds)
	return p, nil
}

// schema ------------------------------------------------------------------

type schemaNode struct {
	el       *format.SchemaElement
	children []*schemaNode
	leaf     int // first leaf index in the subtree
}

func (p *pqFile) buildSchema(els []format.SchemaElement) error {
	if len(els) == 0 {
		return p.errf(-1, "", "corrupt footer: empty schema")
	}
	pos, leaves := 0, 0
	var build func(depth int) (*schemaNode, error)
	build = func(depth int) (*schemaNode, error) {
		if pos >= len(els) {
			return nil, errors.New("schema ends early")
		}
		if depth > 64 {
			return nil, errors.New("schema nested too deeply")
		}
		n := &schemaNode{el: &els[pos], leaf: leaves}
		pos++
		nc := 0
		if n.el.NumChildren.Valid {
			nc = int(n.el.NumChildren.V)
		}
		if nc < 0 || nc > len(els)-pos {
			return nil, fmt.Errorf("schema element %q declares %d children", n.el.Name, nc)
		}
		if nc == 0 && (depth == 0 || n.el.Type.Valid) {
			if depth > 0 {
				leaves++
			}
			return n, nil
		}
		if nc == 0 {
			return nil, fmt.Errorf("schema group %q has no children", n.el.Name)
		}
		for i := 0; i < nc; i++ {
			c, err := build(depth + 1)
			if err != nil {
				return nil, err
			}
			n.children = append(n.children, c)
		}
		return n, nil
	}
	root, err := build(0)
	if err != nil {
		return p.errf(-1, "", "corrupt schema: %w", err)
	}
	if pos != len(els) {
		return p.errf(-1, "", "corrupt schema: %d elements after the root's subtree", len(els)-pos)
	}
	for _, n := range root.children {
		p.cols = append(p.cols, mapColumn(n))
	}
	return nil
}

func repetition(el *format.SchemaElement) format.FieldRepetitionType {
	if el.RepetitionType.Valid {
		return el.RepetitionType.V
	}
	return format.Required
}

func isList(el *format.SchemaElement) bool {
	if _, ok := el.LogicalType.Value.(*format.ListType); ok {
		return true
	}
	return el.ConvertedType.Valid && el.ConvertedType.V == deprecated.List
}

// mapColumn decides how evaljob reads one top-level Parquet field.
func mapColumn(n *schemaNode) pqColumn {
	// The name is a copy: parquet-go's strings point into the footer's
	// bytes, which a Field kept after the file is closed would hold on to
	// (2.5 MB for 10,000 row groups, per file of a run).
	c := pqColumn{name: strings.Clone(n.el.Name), leaf: n.leaf}
	rep := repetition(n.el)
	c.nullable = rep == format.Optional
	unsupported := func(why string) pqColumn {
		c.typ, c.why = nil, why
		return c
	}
	if n.children == nil { // primitive
		t, kind, why := scalarType(n.el)
		if t == nil {
			return unsupported(why)
		}
		c.kind = kind
		if rep == format.Repeated { // bare repeated primitive: a non-null list of required elements
			c.list, c.nullable = true, false
			c.dOuter, c.maxDef = 0, 1
			c.typ = arrow.ListOfNonNullable(t)
			return c
		}
		c.typ = t
		if c.nullable {
			c.maxDef = 1
		}
		return c
	}
	if rep == format.Repeated {
		return unsupported("repeated group")
	}
	if !isList(n.el) {
		if _, ok := n.el.LogicalType.Value.(*format.MapType); ok || (n.el.ConvertedType.Valid &&
			(n.el.ConvertedType.V == deprecated.Map || n.el.ConvertedType.V == deprecated.MapKeyValue)) {
			return unsupported("map")
		}
		return unsupported("struct")
	}
	// LIST: one repeated child.
	if len(n.children) != 1 || repetition(n.children[0].el) != format.Repeated {
		return unsupported("malformed LIST")
	}
	r := n.children[0]
	var elem *schemaNode
	switch {
	case r.children == nil: // 2-level: repeated primitive is the element
		elem = r
	case len(r.children) == 1 && r.el.Name != "array" && !hasSuffix(r.el.Name, "_tuple"):
		elem = r.children[0] // 3-level
	default:
		return unsupported("list of struct")
	}
	if elem.children != nil {
		if isList(elem.el) {
			return unsupported("nested list")
		}
		return unsupported("list of struct")
	}
	erep := repetition(elem.el)
	if elem != r && erep == format.Repeated {
		return unsupported("nested list")
	}
	t, kind, why := scalarType(elem.el)
	if t == nil {
		return unsupported("list of " + why)
	}
	c.list, c.kind = true, kind
	if c.nullable {
		c.dOuter = 1
	}
	c.maxDef = c.dOuter + 1
	if elem != r && erep == format.Optional {
		c.elemOptional = true
		c.maxDef++
		c.typ = arrow.ListOf(t)
	} else {
		c.typ = arrow.ListOfNonNullable(t)
	}
	return c
}

func hasSuffix(s, suf string) bool { return len(s) >= len(suf) && s[len(s)-len(suf):] == suf }

// scalarType maps a primitive schema element to its Arrow type.
func scalarType(el *format.SchemaElement) (arrow.DataType, pqKind, string) {
	if !el.Type.Valid {
		return nil, 0, "untyped"
	}
	lt := el.LogicalType.Value
	ct := deprecated.ConvertedType(-1)
	if el.ConvertedType.Valid {
		ct = el.ConvertedType.V
	}
	describe := func() string {
		s := el.Type.V.String()
		if lt != nil {
			s += " " + lt.String()
		} else if ct >= 0 {
			s += fmt.Sprintf(" converted type %d", int(ct))
		}
		return s
	}
	switch el.Type.V {
	case format.Boolean:
		if lt == nil {
			return arrow.FixedWidthTypes.Boolean, kBool, ""
		}
	case format.Int32:
		switch t := lt.(type) {
		case nil:
			switch ct {
			case -1, deprecated.Int32:
				return arrow.PrimitiveTypes.Int32, kInt32, ""
			case deprecated.Int8:
				return arrow.PrimitiveTypes.Int8, kInt32, ""
			case deprecated.Int16:
				return arrow.PrimitiveTypes.Int16, kInt32, ""
			case deprecated.Uint8:
				return arrow.PrimitiveTypes.Uint8, kInt32, ""
			case deprecated.Uint16:
				return arrow.PrimitiveTypes.Uint16, kInt32, ""
			case deprecated.Uint32:
				return arrow.PrimitiveTypes.Uint32, kUint32, ""
			case deprecated.Date:
				return arrow.FixedWidthTypes.Date32, kInt32, ""
			}
		case *format.IntType:
			switch {
			case t.BitWidth == 8 && t.IsSigned:
				return arrow.PrimitiveTypes.Int8, kInt32, ""
			case t.BitWidth == 16 && t.IsSigned:
				return arrow.PrimitiveTypes.Int16, kInt32, ""
			case t.BitWidth == 32 && t.IsSigned:
				return arrow.PrimitiveTypes.Int32, kInt32, ""
			case t.BitWidth == 8:
				return arrow.PrimitiveTypes.Uint8, kInt32, ""
			case t.BitWidth == 16:
				return arrow.PrimitiveTypes.Uint16, kInt32, ""
			case t.BitWidth == 32:
				return arrow.PrimitiveTypes.Uint32, kUint32, ""
			}
		case *format.DateType:
			return arrow.FixedWidthTypes.Date32, kInt32, ""
		}
	case format.Int64:
		switch t := lt.(type) {
		case nil:
			switch ct {
			case -1, deprecated.Int64:
				return arrow.PrimitiveTypes.Int64, kInt64, ""
			case deprecated.Uint64:
				return arrow.PrimitiveTypes.Uint64, kInt64, ""
			case deprecated.TimestampMillis:
				return &arrow.TimestampType{Unit: arrow.Millisecond, TimeZone: "UTC"}, kInt64, ""
			case deprecated.TimestampMicros:
				return &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}, kInt64, ""
			}
		case *format.IntType:
			if t.BitWidth == 64 {
				if t.IsSigned {
					return arrow.PrimitiveTypes.Int64, kInt64, ""
				}
				return arrow.PrimitiveTypes.Uint64, kInt64, ""
			}
		case *format.TimestampType:
			tz := ""
			if t.IsAdjustedToUTC {
				tz = "UTC"
			}
			switch t.Unit.Value.(type) {
			case *format.MilliSeconds:
				return &arrow.TimestampType{Unit: arrow.Millisecond, TimeZone: tz}, kInt64, ""
			case *format.MicroSeconds:
				return &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: tz}, kInt64, ""
			case *format.NanoSeconds:
				return &arrow.TimestampType{Unit: arrow.Nanosecond, TimeZone: tz}, kInt64, ""
			}
		}
	case format.Float:
		if lt == nil && ct < 0 {
			return arrow.PrimitiveTypes.Float32, kFloat, ""
		}
	case format.Double:
		if lt == nil && ct < 0 {
			return arrow.PrimitiveTypes.Float64, kDouble, ""
		}
	case format.ByteArray:
		switch lt.(type) {
		case *format.StringType, *format.EnumType, *format.JsonType:
			return arrow.BinaryTypes.String, kBytes, ""
		case nil:
			switch ct {
			case deprecated.UTF8, deprecated.Enum, deprecated.Json:
				return arrow.BinaryTypes.String, kBytes, ""
			case -1:
				return arrow.BinaryTypes.Binary, kBytes, ""
			}
		case *format.BsonType:
			return arrow.BinaryTypes.Binary, kBytes, ""
		}
	}
	return nil, 0, describe()
}

// checkRowGroups validates the row-group metadata against the file size.
func (p *pqFile) checkRowGroups(md *format.FileMetaData, dataEnd int64) error {
	leaves := 0
	for _, c := range p.cols {
		if c.leaf+1 > leaves {
			leaves = c.leaf + 1
		}
	}
	var first int64
	for i := range md.RowGroups {
		rg := &md.RowGroups[i]
		if rg.NumRows < 0 || rg.NumRows > maxUnitRows {
			return p.errf(i, "", "row group declares %d rows (limit %d)", rg.NumRows, maxUnitRows)
		}
		if len(rg.Columns) < leaves {
			return p.errf(i, "", "row group has %d column chunks, schema has at least %d leaves", len(rg.Columns), leaves)
		}
		if len(rg.Columns) == 0 && rg.NumRows > 0 {
			return p.errf(i, "", "row group declares %d rows but has no columns", rg.NumRows)
		}
		for j := range rg.Columns {
			cc := &rg.Columns[j]
			name := ""
			for _, c := range p.cols {
				if c.leaf == j {
					name = c.name
				}
			}
			if cc.FilePath != "" {
				return p.errf(i, name, "column chunk stored in another file (%q) is not supported", cc.FilePath)
			}
			m := &cc.MetaData
			if rg.NumRows == 0 && m.NumValues == 0 && m.TotalCompressedSize == 0 {
				continue // an empty chunk of an empty row group (Arrow writes one for 0 rows): no bytes to place
			}
			start, end, ok := chunkRange(m)
			if !ok || start < 4 || end > dataEnd {
				return p.errf(i, name, "column chunk at offset %d, %d bytes, lies outside the file's %d data bytes",
					start, m.TotalCompressedSize, dataEnd)
			}
			if m.NumValues < rg.NumRows { // every row has at least one level
				return p.errf(i, name, "column chunk declares %d values for %d rows", m.NumValues, rg.NumRows)
			}
		}
		p.rgRows = append(p.rgRows, rg.NumRows)
		p.rgFirst = append(p.rgFirst, first)
		first += rg.NumRows
	}
	return nil
}

// chunkRange is the byte range parquet-go reads for a column chunk.
func chunkRange(m *format.ColumnMetaData) (start, end int64, ok bool) {
	start = m.DataPageOffset
	if m.DictionaryPageOffset != 0 {
		start = m.DictionaryPageOffset
	}
	if start < 0 || m.TotalCompressedSize < 0 || start > (1<<62) || m.TotalCompressedSize > (1<<62) {
		return start, 0, false
	}
	return start, start + m.TotalCompressedSize, true
}

// checkPages walks the page headers of one column chunk before parquet-go
// decodes them, so that no page can make it allocate more than the limits.
//
// It returns how many values to make room for (see colBuf.reserve). scratch
// holds the page buffers, reused from one call to the next.
//
// It also finds out whether the chunk's pages may be read directly
// (parquet_direct.go): if so it reports true, and cb.direct lists them.
func (p *pqFile) checkPages(rg int, c *pqColumn, cb *colBuf) (int64, bool, error) {
	pc := p.newPageCheck(rg, c, &cb.check, &cb.window)
	defer pc.close()
	if pc.width = directWidth(c); pc.width > 0 && (pc.codec == format.Snappy || pc.codec == format.Uncompressed) {
		pc.directOK, pc.direct = true, cb.direct[:0]
	}
	for {
		if _, done, err := pc.next(); err != nil || done {
			if err != nil {
				return 0, false, err
			}
			break
		}
	}
	cb.direct = pc.direct
	// What to reserve: the declared values, but no more than one per bit of
	// declared page data, nor one per bit of the column chunk's bytes in
	// the file: a small file whose headers declare many values (which its
	// pages then fail to hold) must not reserve much, and the declared
	// uncompressed sizes are the forger's to choose. A real chunk that
	// holds more values than that (long runs compress well) grows its
	// buffers as it decodes instead.
	return min(pc.values, 8*pc.bytesU, 8*(pc.end-pc.start)), pc.directOK, nil
}

// pageCheck checks the pages of one column chunk one at a time (next), for
// checkPages, and for a head read, which checks each page just before
// parquet-go decodes it.
type pageCheck struct {
	p              *pqFile
	c              *pqColumn
	win            *fileWindow
	window         *[]byte // where the window's buffer goes back (close)
	scratch        *[2][]byte
	codec          format.CompressionCodec
	compressed     bool
	rows           int64 // the row group's
	start, end     int64 // the chunk's bytes
	pos            int64 // the next page's header
	i              int   // the next page's index
	values, bytesU int64 // declared so far: values, uncompressed bytes
	buf            []byte
	proto          thrift.CompactProtocol
	// checkPages: the chunk's pages as direct pages, while directOK
	// (noteDirect), for a column of width bytes a value.
	width    int
	directOK bool
	direct   []directPage
	starts   []int // directLevels' scratch
}

func (p *pqFile) newPageCheck(rg int, c *pqColumn, scratch *[2][]byte, window *[]byte) *pageCheck {
	m := &p.pf.Metadata().RowGroups[rg].Columns[c.leaf].MetaData
	start, end, _ := chunkRange(m)
	// parquet-go decompresses every chunk of a column with the codec of its
	// first row group's chunk.
	codec := p.pf.Metadata().RowGroups[0].Columns[c.leaf].MetaData.Codec
	return &pageCheck{p: p, c: c, win: &fileWindow{f: p.osf, buf: *window, end: end}, window: window, scratch: scratch,
		codec: codec, compressed: codec != format.Uncompressed, rows: p.rgRows[rg],
		start: start, end: end, pos: start, buf: make([]byte, 0, 512)}
}

// close gives the window's buffer back for the next chunk.
func (pc *pageCheck) close() { *pc.window = pc.win.buf }

// next checks the next page of the chunk and reports whether it was a data
// page (v1 or v2); done reports that the chunk has no more pages (and
// nothing was checked).
func (pc *pageCheck) next() (data, done bool, err error) {
	if pc.pos >= pc.end {
		return false, true, nil
	}
	pos, end, i := pc.pos, pc.end, pc.i
	pc.i++
	// Read a window, growing it until the header fits.
	var n int
	for w := int64(256); ; w *= 4 {
		w = min(w, end-pos) // at most the column chunk, which fits in the file
		if int64(cap(pc.buf)) < w {
			pc.buf = make([]byte, w)
		}
		pc.buf = pc.buf[:w]
		got, err := pc.win.ReadAt(pc.buf, pos)
		if err != nil && err != io.EOF {
			return false, false, fmt.Errorf("reading page %d header: %w", i, err)
		}
		if int64(got) < w {
			return false, false, fmt.Errorf("the file ends at byte %d, inside the column chunk that ends at %d (truncated, or changed while reading)", pos+int64(got), end)
		}
		n, err = skimThriftStruct(pc.buf)
		if err == nil {
			break
		}
		if !errors.Is(err, errThriftTruncated) || w == end-pos {
			return false, false, fmt.Errorf("corrupt header of page %d: %w", i, err)
		}
	}
	var h format.PageHeader
	if err := thrift.NewDecoder(pc.proto.NewReader(bytes.NewReader(pc.buf[:n]))).Decode(&h); err != nil {
		return false, false, fmt.Errorf("corrupt header of page %d: %w", i, err)
	}
	body := end - pos - int64(n)
	if h.CompressedPageSize < 0 || int64(h.CompressedPageSize) > body {
		return false, false, fmt.Errorf("page %d declares %d compressed bytes, %d left in the column chunk", i, h.CompressedPageSize, body)
	}
	u := int64(h.UncompressedPageSize)
	if u < 0 || u > maxPageBytes || (pc.compressed && u > int64(h.CompressedPageSize)*maxPageRatio+pageSlack) {
		return false, false, fmt.Errorf("page %d declares %d uncompressed bytes from %d compressed", i, u, h.CompressedPageSize)
	}
	// The page's type decides what it is, as for parquet-go (which reads
	// no other types): it must carry that type's header and no other, or a
	// page could be checked as one kind and decoded as another (a dictionary
	// page with a data page header was checked as a data page, its
	// dictionary size never, and a head read fell out of step).
	data = h.Type == format.DataPage || h.Type == format.DataPageV2
	if h.Type != format.DataPage && h.Type != format.DataPageV2 && h.Type != format.DictionaryPage ||
		h.DataPageHeader.Valid != (h.Type == format.DataPage) ||
		h.DataPageHeaderV2.Valid != (h.Type == format.DataPageV2) ||
		h.DictionaryPageHeader.Valid != (h.Type == format.DictionaryPage) {
		return false, false, fmt.Errorf("page %d: type %v without its header alone", i, h.Type)
	}
	var nv int64
	switch {
	case h.DataPageHeader.Valid:
		nv = int64(h.DataPageHeader.V.NumValues)
	case h.DataPageHeaderV2.Valid:
		v := &h.DataPageHeaderV2.V
		nv = int64(v.NumValues)
		if v.NumNulls < 0 || v.NumNulls > v.NumValues || v.NumRows < 0 || int64(v.NumRows) > pc.rows ||
			v.DefinitionLevelsByteLength < 0 || v.RepetitionLevelsByteLength < 0 ||
			int64(v.DefinitionLevelsByteLength)+int64(v.RepetitionLevelsByteLength) > int64(h.CompressedPageSize) {
			return false, false, fmt.Errorf("page %d has an inconsistent data page v2 header", i)
		}
	case h.DictionaryPageHeader.Valid:
		d := int64(h.DictionaryPageHeader.V.NumValues)
		if d < 0 || d > 8*u+8 || d > maxPageValues {
			return false, false, fmt.Errorf("dictionary page %d declares %d values in %d bytes", i, d, u)
		}
	}
	if nv < 0 || nv > maxPageValues {
		return false, false, fmt.Errorf("page %d declares %d values (limit %d)", i, nv, maxPageValues)
	}
	pc.values += nv
	pc.bytesU += u
	if pc.values > maxUnitValues || (!pc.c.list && pc.values > pc.rows) {
		return false, false, fmt.Errorf("pages declare %d values, more than the row group's %d rows allow", pc.values, pc.rows)
	}
	if !pc.compressed && u > int64(h.CompressedPageSize) {
		return false, false, fmt.Errorf("uncompressed page %d declares %d bytes in %d", i, u, h.CompressedPageSize)
	}
	var v1page []byte
	if *pc.scratch, v1page, err = pc.p.checkPageData(pc.win, &h, pc.codec, pc.c, pos+int64(n), u, nv, *pc.scratch); err != nil {
		return false, false, fmt.Errorf("page %d: %w", i, err)
	}
	if err := pc.noteDirect(&h, pos+int64(n), nv, v1page); err != nil {
		return false, false, fmt.Errorf("page %d: %w", i, err)
	}
	pc.pos = pos + int64(n) + int64(h.CompressedPageSize)
	return data, false, nil
}

// fileWindowBytes is how much of a column chunk fileWindow reads at once;
// sparseWindowBytes how much when it is sparse: after a page of which at
// least sparseGap bytes were not needed, so that the next header is not
// read with the rest of that page (pages are often 100-300 KB, of which a
// snappy data page v2 of plain values needs its levels and a few bytes).
const (
	fileWindowBytes   = 1 << 20
	sparseWindowBytes = 16 << 10
	sparseGap         = 64 << 10
)

// fileWindow reads a column chunk (up to end) for checkPages through a
// window of up to fileWindowBytes: one pread per window, not one or two per
// page (pages are often a few KB; a pread per page cost half of the CPU
// time of a scan).
type fileWindow struct {
	f      *os.File
	sparse bool   // read sparseWindowBytes at a time, not fileWindowBytes
	buf    []byte // the window's storage, reused; buf[:n] holds the file from off
	off    int64
	n      int
	end    int64
}

// ReadAt is os.File.ReadAt, through the window.
func (w *fileWindow) ReadAt(p []byte, off int64) (int, error) {
	b, err := w.bytes(off, len(p), nil)
	return copy(p, b), err
}

// bytes returns the n bytes of the file at off: an alias into the window
// when they fit in it, else read into *scratch (a nil scratch: a new slice).
// Fewer than n bytes come with an error (io.EOF at the end of the file).
func (w *fileWindow) bytes(off int64, n int, scratch *[]byte) ([]byte, error) {
	if off >= w.off && off+int64(n) <= w.off+int64(w.n) {
		i := int(off - w.off)
		return w.buf[i : i+n], nil
	}
	if n > fileWindowBytes/2 || off < 0 || off >= w.end {
		var dst []byte
		if scratch != nil {
			dst = grow((*scratch)[:0], n)
			*scratch = dst
		} else {
			dst = make([]byte, n)
		}
		got, err := w.f.ReadAt(dst, off)
		return dst[:got], err
	}
	size := int64(fileWindowBytes)
	if w.sparse {
		size = sparseWindowBytes
	}
	size = max(int64(n), min(size, w.end-off))
	if int64(cap(w.buf)) < size {
		w.buf = make([]byte, fileWindowBytes)
	}
	got, err := w.f.ReadAt(w.buf[:int(size)], off)
	w.off, w.n = off, got
	if got >= n {
		return w.buf[:n], nil
	}
	if err == nil {
		err = io.ErrUnexpectedEOF
	}
	return w.buf[:got], err
}

// checkPageData checks what parquet-go would trust inside a page: the
// compressed payload's declared sizes, and the run lengths of the level and
// dictionary-index RLE streams. It decompresses the page when the streams
// to check are compressed (v1 levels, dictionary indexes).
//
// For a data page v1 whose levels it checked (all RLE) it also returns the
// page's payload, decompressed (in scratch[1]) or as read (in the window),
// for noteDirect to look at before the next read.
func (p *pqFile) checkPageData(win *fileWindow, h *format.PageHeader, codec format.CompressionCodec, c *pqColumn, at, u, nv int64, scratch [2][]byte) (_ [2][]byte, v1page []byte, _ error) {
	need := int64(h.CompressedPageSize)
	streams := v1LevelStreams(h, codec, c)
	if streams > 0 {
		// Only the levels at the start of the page are decompressed and
		// checked (v1Prefix), from the first bytes read; more are read if
		// they need more.
		need = min(need, v1HeadBytes)
	}
	if v := &h.DataPageHeader; v.Valid && codec == format.Snappy && c.maxDef == 0 && !c.list && !isDictEncoding(v.V.Encoding) {
		// A required column's snappy v1 page: only the block's declared
		// length is checked (it was read whole, and again to be decoded).
		need = min(need, binary.MaxVarintLen64)
	}
	if v := &h.DataPageHeaderV2; v.Valid && skimsValues(v.V, codec) {
		// Only the levels and the start of the values are checked: the
		// snappy block's declared length, or nothing.
		need = min(need, int64(v.V.RepetitionLevelsByteLength)+int64(v.V.DefinitionLevelsByteLength)+binary.MaxVarintLen64)
	}
	// The next page's header is far when most of a large page is not
	// read: read it through a small window, not the page (sparse).
	win.sparse = int64(h.CompressedPageSize)-need >= sparseGap
	raw, err := win.bytes(at, int(need), &scratch[0])
	if err != nil {
		return scratch, nil, err
	}
	if h.DictionaryPageHeader.Valid {
		if codec != format.Uncompressed {
			_, err := checkCompressed(codec, raw, u)
			return scratch, nil, err
		}
		return scratch, nil, nil
	}
	maxRep := 0
	if c.list {
		maxRep = 1
	}
	defWidth, repWidth := bitsLen(c.maxDef), bitsLen(maxRep)
	var body []byte // decompressed part holding what remains to check
	var dataEnc format.Encoding
	if v := &h.DataPageHeaderV2; v.Valid {
		dataEnc = v.V.Encoding
		rl, dl := int(v.V.RepetitionLevelsByteLength), int(v.V.DefinitionLevelsByteLength)
		if maxRep > 0 {
			if err := checkRLE(raw[:rl], repWidth, nv); err != nil {
				return scratch, nil, err
			}
		}
		if c.maxDef > 0 {
			if err := checkRLE(raw[rl:rl+dl], defWidth, nv); err != nil {
				return scratch, nil, err
			}
		}
		body = raw[rl+dl:]
		compressed := codec != format.Uncompressed && (!v.V.IsCompressed.Valid || v.V.IsCompressed.V)
		valueBytes := int64(h.CompressedPageSize) - int64(rl) - int64(dl)
		if compressed {
			var err error
			if valueBytes, err = valueLen(c, dataEnc, codec, body, u, &scratch); err != nil {
				return scratch, nil, err
			}
		}
		if err := plainShort(c, dataEnc, valueBytes, present(c, raw[rl:rl+dl], nv)); err != nil {
			return scratch, nil, err
		}
		if compressed {
			if !isDictEncoding(dataEnc) {
				return scratch, nil, nil
			}
			var err error
			if body, err = parquet.LookupCompressionCodec(codec).Decode(scratch[1][:0], body); err != nil {
				return scratch, nil, fmt.Errorf("decompressing: %w", err)
			}
			scratch[1] = body
		}
	} else {
		v := &h.DataPageHeader.V
		dataEnc = v.Encoding
		body = raw
		if codec != format.Uncompressed {
			if maxRep == 0 && c.maxDef == 0 && !isDictEncoding(dataEnc) {
				n, err := valueLen(c, dataEnc, codec, raw, u, &scratch)
				if err != nil {
					return scratch, nil, err
				}
				return scratch, nil, plainShort(c, dataEnc, n, nv)
			}
			// With levels: decompressed below (the levels only, for
			// snappy), which tells the values' length.
			if _, err := checkCompressed(codec, raw, u); err != nil {
				return scratch, nil, err
			}
			var err error
			if streams > 0 {
				body, err = v1Prefix(win, at, int(h.CompressedPageSize), raw, streams, u, &scratch)
				if err != nil {
					return scratch, nil, err
				}
			} else if body, err = parquet.LookupCompressionCodec(codec).Decode(scratch[1][:0], raw); err != nil {
				return scratch, nil, fmt.Errorf("decompressing: %w", err)
			}
			scratch[1] = body
		}
		v1page = body
		var defs []byte
		for _, lv := range []struct {
			max, width int
			enc        format.Encoding
		}{{maxRep, repWidth, v.RepetitionLevelEncoding}, {c.maxDef, defWidth, v.DefinitionLevelEncoding}} {
			if lv.max == 0 {
				continue
			}
			if lv.enc != format.RLE { // legacy BIT_PACKED: sized by the value count
				return scratch, nil, nil
			}
			levels, rest, ok := levelStream(body)
			if !ok {
				return scratch, nil, errors.New("truncated levels")
			}
			if err := checkRLE(levels, lv.width, nv); err != nil {
				return scratch, nil, err
			}
			body, defs = rest, levels // (the second stream, when there are two, is the definition levels)
		}
		// The values' bytes: after the levels of the page (its declared
		// length for snappy, whose levels alone may have been decoded).
		total := int64(len(v1page))
		if codec == format.Snappy {
			total = snappyLen(raw)
		}
		valueBytes := total - int64(len(v1page)-len(body))
		if total < 0 {
			valueBytes = -1
		}
		if err := plainShort(c, dataEnc, valueBytes, present(c, defs, nv)); err != nil {
			return scratch, nil, err
		}
	}
	if isDictEncoding(dataEnc) && len(body) > 0 {
		return scratch, nil, checkRLE(body[1:], int(body[0]), nv)
	}
	return scratch, v1page, nil
}

// plainShort refuses a PLAIN page of a fixed-width type whose values take
// fewer bytes (valueBytes, -1 if unknown) than its present values need:
// parquet-go reads such a page, taking the missing values from whatever
// its reused buffer held before.
func plainShort(c *pqColumn, enc format.Encoding, valueBytes, present int64) error {
	if !fixedPlain(c, enc) || valueBytes < 0 || present < 0 {
		return nil
	}
	var need int64
	switch c.kind {
	case kInt32, kUint32, kFloat:
		need = 4 * present
	case kInt64, kDouble:
		need = 8 * present
	case kBool:
		need = (present + 7) / 8
	}
	if valueBytes < need {
		return fmt.Errorf("page holds %d bytes of values, its %d values need %d", valueBytes, present, need)
	}
	return nil
}

// fixedPlain reports whether c's values in encoding enc are PLAIN values
// of a fixed width, which plainShort checks.
func fixedPlain(c *pqColumn, enc format.Encoding) bool {
	if enc != format.Plain {
		return false
	}
	switch c.kind {
	case kInt32, kUint32, kFloat, kInt64, kDouble, kBool:
		return true
	}
	return false
}

// valueLen checks a compressed payload (checkCompressed) and returns its
// decompressed length: as checkCompressed learned it (snappy's declared
// length, zstd's declared content sizes, or by decompressing: gzip,
// brotli, LZ4), else, for zstd frames without a content size, by
// decompressing it when plainShort needs it (into scratch[1]); -1 when not
// known and not needed.
func valueLen(c *pqColumn, enc format.Encoding, codec format.CompressionCodec, payload []byte, limit int64, scratch *[2][]byte) (int64, error) {
	n, err := checkCompressed(codec, payload, limit)
	if err != nil || n >= 0 || !fixedPlain(c, enc) {
		return n, err
	}
	out, err := parquet.LookupCompressionCodec(codec).Decode(scratch[1][:0], payload)
	if err != nil {
		return -1, fmt.Errorf("decompressing: %w", err)
	}
	scratch[1] = out
	return int64(len(out)), nil
}

// present is how many of a page's nv values are present: all of a
// required column's, else the definition levels defs that are the
// largest; -1 if defs is not nv levels in whole runs.
func present(c *pqColumn, defs []byte, nv int64) int64 {
	if c.maxDef == 0 {
		return nv
	}
	return maxLevels(defs, c.maxDef, int(nv))
}

// snappyLen is the decompressed length a snappy block declares, -1 if it
// declares none.
func snappyLen(block []byte) int64 {
	n, k := binary.Uvarint(block)
	if k <= 0 || n > math.MaxInt64 {
		return -1
	}
	return int64(n)
}

// v1HeadBytes is how much of a v1 page checkPageData reads first when it
// needs only its levels.
const v1HeadBytes = 64 << 10

// v1LevelStreams is the number of level streams at the start of data page
// h when checkPageData needs only them of its payload, decompressed: a v1
// page, snappy, not dictionary indexes, of a column with levels, all RLE
// (each then a 4-byte length and the stream). 0 otherwise.
func v1LevelStreams(h *format.PageHeader, codec format.CompressionCodec, c *pqColumn) int {
	v := &h.DataPageHeader.V
	if !h.DataPageHeader.Valid || codec != format.Snappy || isDictEncoding(v.Encoding) {
		return 0
	}
	streams := 0
	if c.list {
		if v.RepetitionLevelEncoding != format.RLE {
			return 0
		}
		streams++
	}
	if c.maxDef > 0 {
		if v.DefinitionLevelEncoding != format.RLE {
			return 0
		}
		streams++
	}
	return streams
}

// v1Prefix decompresses the levels at the start of a snappy v1 page of
// size bytes at at, declaring u bytes decompressed: streams level streams,
// each a 4-byte length and its bytes. raw is the page's first bytes, read;
// more are read through win (into scratch[0]) as the levels need them.
// The rest of the page is decompressed (and checked) when it is read.
func v1Prefix(win *fileWindow, at int64, size int, raw []byte, streams int, u int64, scratch *[2][]byte) ([]byte, error) {
	want := int64(4)
	for {
		if want > u {
			return nil, errors.New("truncated levels")
		}
		buf := grow(scratch[1][:0], int(want))
		scratch[1] = buf
		got, ok := snappyPrefix(buf, raw)
		if !ok || (int64(got) < want && len(raw) >= size) {
			// Not the start of a snappy block as snappyPrefix reads them:
			// parquet-go's decoder (klauspost's, which also takes S2's
			// repeat codes) decides, on the whole page.
			return v1Whole(win, at, size, scratch)
		}
		if int64(got) < want {
			var err error
			if raw, err = win.bytes(at, int(min(int64(size), max(2*int64(len(raw)), want+want/8+64))), &scratch[0]); err != nil {
				return nil, err
			}
			continue
		}
		next := levelsLen(buf, streams)
		if next == want {
			return buf, nil
		}
		want = next
	}
}

// v1Whole reads and decompresses a whole snappy v1 page, as checkPageData
// did for every page before v1Prefix.
func v1Whole(win *fileWindow, at int64, size int, scratch *[2][]byte) ([]byte, error) {
	raw, err := win.bytes(at, size, &scratch[0])
	if err != nil {
		return nil, err
	}
	body, err := parquet.LookupCompressionCodec(format.Snappy).Decode(scratch[1][:0], raw)
	if err != nil {
		return nil, fmt.Errorf("decompressing: %w", err)
	}
	scratch[1] = body
	return body, nil
}

// levelsLen is how many bytes the levels at the start of b take, streams
// streams of a 4-byte length and the stream: their total once b holds
// every length, else where the next length b lacks ends.
func levelsLen(b []byte, streams int) int64 {
	pos := int64(0)
	for range streams {
		if int64(len(b)) < pos+4 {
			return pos + 4
		}
		pos += 4 + int64(binary.LittleEndian.Uint32(b[pos:]))
	}
	return pos
}

// skimsValues reports whether checkPageData checks nothing of a data page
// v2's values but, for snappy, the declared length at their start: neither
// dictionary indexes (which it decompresses to check) nor a codec whose
// check reads the whole block.
func skimsValues(v format.DataPageHeaderV2, codec format.CompressionCodec) bool {
	compressed := codec != format.Uncompressed && (!v.IsCompressed.Valid || v.IsCompressed.V)
	return !isDictEncoding(v.Encoding) && (!compressed || codec == format.Snappy)
}

func isDictEncoding(e format.Encoding) bool {
	return e == format.RLEDictionary || e == format.PlainDictionary
}

func bitsLen(x int) int {
	n := 0
	for ; x > 0; x >>= 1 {
		n++
	}
	return n
}

// reading -------------------------------------------------------------------

// pqScratch is the reusable state of one ReadUnit call.
//
// Its buffers hold a whole row group per column (64 MB of values for a wide
// list column), so they are kept on a free list (scratchFree) rather than in
// a sync.Pool: a pool drops its items at every GC, and each worker would
// then allocate and grow its buffers again while the dropped ones are still
// garbage on the heap, for about twice the memory and a memmove per
// growth. The free list holds at most one scratch per concurrent reader.
type pqScratch struct {
	bufs  []colBuf
	cols  []Column
	elems []Column
	offs  [][]int
	ptrs  []*Column
	codes []int32 // zeros, for hive columns
	nulls []bool  // all false, for null hive columns
	chunk Chunk
}

type colRef struct {
	col  *pqColumn // nil for a hive key
	hive KV
}

func (p *pqFile) readUnit(ctx context.Context, unit int, columns []string, batchRows int, yield func(*Chunk) error) error {
	return p.readRows(ctx, unit, columns, batchRows, 0, yield)
}

// readHead reads the unit's first rows rows (all of them if it has fewer)
// as one chunk, decoding only the pages that hold them.
func (p *pqFile) readHead(ctx context.Context, unit int, columns []string, rows int, yield func(*Chunk) error) error {
	return p.readRows(ctx, unit, columns, 0, max(rows, 1), yield)
}

// readRows is readUnit, and readHead when limit > 0: then each column is
// decoded page by page, each page checked just before (or all first, see
// colStream.open), until it holds the first limit rows complete (or ends),
// and only its first min(limit, rows) rows are yielded.
func (p *pqFile) readRows(ctx context.Context, unit int, columns []string, batchRows, limit int, yield func(*Chunk) error) error {
	if unit < 0 || unit >= len(p.rgRows) {
		return fmt.Errorf("readers: %s: row group %d out of range [0, %d)", p.fpath, unit, len(p.rgRows))
	}
	refs := make([]colRef, len(columns))
	for i, name := range columns {
		ref, err := p.resolve(name)
		if err != nil {
			return err
		}
		refs[i] = ref
	}
	rows := p.rgRows[unit]
	if rows == 0 {
		// Nothing to read, and an empty chunk's offsets were not checked
		// (checkRowGroups): its pages are not looked for.
		return nil
	}
	sc := getScratch()
	defer putScratch(sc)
	sc.prepare(len(columns))

	step, end := int(rows), int(rows)
	switch {
	case limit > 0:
		step, end = min(end, limit), min(end, limit)
	case batchRows > 0 && batchRows < step:
		step = batchRows
	}
	if limit == 0 {
		step = p.capChunkValues(unit, refs, step)
	}
	// A unit of more than two chunks is streamed: its pages decoded only as
	// far as the next chunk needs, and the rows yielded dropped from the
	// buffers (colStream.consume), which then hold about two chunks and a
	// page per column, not the row group. Otherwise each column is decoded
	// whole (or up to its head) before the next column's page reader, and
	// its 1 MiB buffer, opens.
	stream := limit == 0 && 2*int64(step) < rows
	streams := make([]colStream, len(refs))
	defer func() {
		for i := range streams {
			streams[i].close()
		}
	}()
	for i, ref := range refs {
		if ref.col == nil {
			continue
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		s := &streams[i]
		if err := s.open(p, unit, ref.col, &sc.bufs[i], step, limit > 0); err != nil {
			return err
		}
		if stream {
			continue
		}
		upTo := math.MaxInt // the whole chunk
		if limit > 0 {
			upTo = limit
		}
		if err := s.fill(ctx, upTo); err != nil {
			return err
		}
		s.close()
		// A head read stops early with more than limit rows: more than the
		// row group declares is as wrong as a whole chunk's count off it.
		if s.ended && int64(s.cb.rows) != rows {
			return s.wrongCount()
		}
	}
	for lo := 0; lo < end; lo += step {
		if err := ctx.Err(); err != nil {
			return err
		}
		n := min(step, end-lo)
		for i, ref := range refs {
			col := &sc.cols[i]
			if ref.col == nil {
				sc.hiveColumn(col, ref.hive, columns[i], n)
				continue
			}
			s := &streams[i]
			if stream {
				if err := s.fill(ctx, s.start+n); err != nil {
					return err
				}
			}
			if s.cb.rows-s.start < n {
				return s.wrongCount()
			}
			s.cb.slice(col, &sc.elems[i], &sc.offs[i], ref.col, s.start, s.start+n)
		}
		sc.chunk = Chunk{Path: p.fpath, RowGroup: unit, FirstRow: p.rgFirst[unit] + int64(lo), Len: n, Columns: sc.ptrs}
		if err := yield(&sc.chunk); err != nil {
			return err
		}
		for i := range streams {
			if s := &streams[i]; s.c != nil {
				s.consume(n, stream)
			}
		}
	}
	if !stream {
		return nil
	}
	// No column may hold rows beyond the declared ones.
	for i := range streams {
		s := &streams[i]
		if s.c == nil {
			continue
		}
		if err := s.fill(ctx, math.MaxInt); err != nil {
			return err
		}
		if int64(s.done+s.cb.rows) != rows {
			return s.wrongCount()
		}
	}
	return nil
}

// colStream decodes one column chunk a page at a time, into cb.
type colStream struct {
	p     *pqFile
	unit  int
	c     *pqColumn // nil: not opened (a hive key)
	cb    *colBuf
	pages parquet.Pages
	pc    *pageCheck // a head read's page checks, one page at a time
	page  int        // pages read
	start int        // cb's first row not yielded yet
	done  int        // rows dropped from the front of cb (yielded)
	ended bool       // every page read
	// A direct chunk (parquet_direct.go): its pages, read through win.
	direct   []directPage
	isDirect bool
	win      fileWindow
}

// consume marks the next n rows yielded. Streaming (drop), they are
// dropped from cb once they are at least as many as the rows after them,
// so that each row is moved at most once on average, even when one page
// holds many chunks.
func (s *colStream) consume(n int, drop bool) {
	s.start += n
	if drop && s.start >= s.cb.rows-s.start {
		s.cb.drop(s.c, s.start)
		s.done += s.start
		s.start = 0
	}
}

// open starts reading c in unit. A head read checks each page just before
// it is decoded (pageCheck); any other checks every page first
// (checkPages) and reserves room for the values of two chunks of step rows
// (at the chunk's average values per row; all of them when that is more
// than the chunk's), so that the buffers seldom grow.
func (s *colStream) open(p *pqFile, unit int, c *pqColumn, cb *colBuf, step int, head bool) (err error) {
	defer recoverInput(&err, p.fpath, unit, &c.name, "checking pages")
	cb.reset()
	*s = colStream{p: p, unit: unit, c: c, cb: cb}
	if head && directPages && directWidth(c) > 0 {
		// A column whose pages may be direct is checked whole, so that
		// they are: DuckDB writes a list column's row group as one page
		// (50 MB), which parquet-go reads, decompresses and decodes into
		// buffers of ~190 MB before the head's first row; direct, it is
		// decompressed as it is read into the values. Checking the other
		// pages costs reading their headers (and their levels).
		head = false
	}
	if head {
		s.pc = p.newPageCheck(unit, c, &cb.check, &cb.window)
	} else {
		values, direct, err := p.checkPages(unit, c, cb)
		if err != nil {
			return p.errf(unit, c.name, "%w", err)
		}
		if direct {
			_, end, _ := chunkRange(&p.pf.Metadata().RowGroups[unit].Columns[c.leaf].MetaData)
			s.direct, s.isDirect = cb.direct, true
			s.win = fileWindow{f: p.osf, buf: cb.window, end: end}
		}
		if rows := p.rgRows[unit]; 2*int64(step) < rows {
			// values <= maxUnitValues (2^28) and step < rows: no overflow.
			values = (values*2*int64(step) + rows - 1) / rows
		}
		cb.reserve(c, int(values))
	}
	chunks := p.pf.RowGroups()[unit].ColumnChunks()
	if c.leaf >= len(chunks) {
		return p.errf(unit, c.name, "row group has no column chunk %d", c.leaf)
	}
	if !s.isDirect {
		s.pages = chunks[c.leaf].Pages()
	}
	return nil
}

// fill decodes pages until cb holds n complete rows or the chunk ends: n
// rows of a flat column, more than n of a list column (its last row may go
// on in the next page).
func (s *colStream) fill(ctx context.Context, n int) (err error) {
	p, c, cb := s.p, s.c, s.cb
	defer recoverInput(&err, p.fpath, s.unit, &c.name, "decoding column chunk")
	if s.isDirect {
		return s.fillDirect(ctx, n)
	}
	for !s.ended && (cb.rows < n || c.list && cb.rows == n) {
		if err := ctx.Err(); err != nil {
			return err
		}
		if s.pc != nil {
			// Check the pages up to and including the next data page (a
			// dictionary page before it is read with it).
			data, done := false, false
			for !data && !done {
				if data, done, err = s.pc.next(); err != nil {
					return p.errf(s.unit, c.name, "%w", err)
				}
			}
			if done {
				s.ended = true
				cb.finish(c)
				break
			}
		}
		pg, err := s.pages.ReadPage()
		if err == io.EOF {
			s.ended = true
			cb.finish(c)
			break
		}
		if err != nil {
			return p.errf(s.unit, c.name, "reading page %d: %w", s.page, err)
		}
		err = cb.addPage(c, pg)
		parquet.Release(pg)
		if err != nil {
			return p.errf(s.unit, c.name, "page %d: %w", s.page, err)
		}
		s.page++
		if s.overDeclared() {
			return s.wrongCount() // stop here, before they fill memory
		}
	}
	return nil
}

// overDeclared reports whether the column has more rows than its row
// group declares.
func (s *colStream) overDeclared() bool { return int64(s.done+s.cb.rows) > s.p.rgRows[s.unit] }

// wrongCount is the error of a column chunk whose rows are not the row
// group's.
func (s *colStream) wrongCount() error {
	return s.p.errf(s.unit, s.c.name, "column chunk holds %d rows, row group declares %d", s.done+s.cb.rows, s.p.rgRows[s.unit])
}

// close closes the page reader and the page checks; it may be called more
// than once.
func (s *colStream) close() {
	if s.pages != nil {
		s.pages.Close()
		s.pages = nil
	}
	if s.pc != nil {
		s.pc.close()
		s.pc = nil
	}
	if s.isDirect {
		s.cb.window = s.win.buf // the window's buffer goes back for the next chunk
		s.win = fileWindow{}
		s.isDirect = false
	}
}

func (p *pqFile) resolve(name string) (colRef, error) {
	for i := range p.cols {
		c := &p.cols[i]
		if c.name != name {
			continue
		}
		if c.typ == nil {
			return colRef{}, p.errf(-1, name, "unsupported Parquet type %s", c.why)
		}
		return colRef{col: c}, nil
	}
	for _, kv := range p.hive {
		if kv.Key == name {
			return colRef{hive: kv}, nil
		}
	}
	return colRef{}, p.errf(-1, name, "no such column")
}

// scratchFree is the free list of pqScratch, shared by all files: a scratch
// holds nothing of a file between ReadUnit calls (colBuf.reset drops the
// dictionary and strings).
var scratchFree struct {
	mu   sync.Mutex
	list []*pqScratch
}

// maxFreeScratch bounds the free list: more readers at once than this
// (workers) leave their scratch to the GC.
const maxFreeScratch = 64

func getScratch() *pqScratch {
	scratchFree.mu.Lock()
	defer scratchFree.mu.Unlock()
	l := scratchFree.list
	if len(l) == 0 {
		return new(pqScratch)
	}
	sc := l[len(l)-1]
	l[len(l)-1] = nil
	scratchFree.list = l[:len(l)-1]
	return sc
}

// ReleaseBuffers drops the decode buffers kept for reuse between ReadUnit
// calls (a row group per column per reader: tens of MB), so that their
// memory serves what a program does after reading. Reading afterwards works
// and allocates them again. It is safe to call at any time.
func ReleaseBuffers() {
	scratchFree.mu.Lock()
	defer scratchFree.mu.Unlock()
	clear(scratchFree.list)
	scratchFree.list = nil
}

func putScratch(sc *pqScratch) {
	scratchFree.mu.Lock()
	defer scratchFree.mu.Unlock()
	if len(scratchFree.list) < maxFreeScratch {
		scratchFree.list = append(scratchFree.list, sc)
	}
}

// chunkValues is about the most values of one column a chunk holds: wide
// list columns get chunks of fewer rows than batchRows, so that a worker's
// buffers stay a few MB (first touches of fresh memory are costly, and a
// chunk in cache is scored faster), not a row group of list values.
const chunkValues = 1 << 20

// capChunkValues lowers step so that no column's chunk holds much more than
// chunkValues values, at the unit's average values per row as the footer
// declares them (a wrong declaration only changes the chunk size: the pages
// are checked against the rows when they are read).
func (p *pqFile) capChunkValues(unit int, refs []colRef, step int) int {
	rows := p.rgRows[unit]
	chunks := p.pf.RowGroups()[unit].ColumnChunks()
	for _, ref := range refs {
		if ref.col == nil || !ref.col.list || ref.col.leaf >= len(chunks) {
			continue
		}
		values := chunks[ref.col.leaf].NumValues()
		if values <= rows || values > maxUnitValues {
			continue
		}
		// rows < values <= 2^28: no overflow.
		step = max(1, min(step, int(rows*chunkValues/values)))
	}
	return step
}

func (sc *pqScratch) prepare(n int) {
	for len(sc.bufs) < n {
		sc.bufs = append(sc.bufs, colBuf{})
		sc.cols = append(sc.cols, Column{})
		sc.elems = append(sc.elems, Column{})
		sc.offs = append(sc.offs, nil)
	}
	sc.ptrs = sc.ptrs[:0]
	for i := 0; i < n; i++ {
		sc.ptrs = append(sc.ptrs, &sc.cols[i])
	}
}

func (sc *pqScratch) hiveColumn(col *Column, kv KV, name string, n int) {
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
