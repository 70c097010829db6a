package readers

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/memory"
	pq "github.com/apache/arrow/go/v17/parquet"
	"github.com/apache/arrow/go/v17/parquet/compress"
	"github.com/apache/arrow/go/v17/parquet/pqarrow"
	"github.com/klauspost/compress/snappy"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/encoding/thrift"
	"github.com/parquet-go/parquet-go/format"

	"github.com/evaljob/evaljob/evalerr"
)

// directFile writes n rows of required int64 (runs of one id: the long
// copies of decodeSnappy), float32 and float64 columns, and an optional
// int64 (never direct), with pqarrow under props.
func directFile(t testing.TB, path string, n int, rowGroup int64, props ...pq.WriterProperty) {
	t.Helper()
	r := rand.New(rand.NewPCG(uint64(n), 1))
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "f32", Type: arrow.PrimitiveTypes.Float32},
		{Name: "f64", Type: arrow.PrimitiveTypes.Float64},
		{Name: "opt", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	id := int64(0)
	for i := range n {
		if r.IntN(300) == 0 {
			id = r.Int64N(1 << 40)
		}
		b.Field(0).(*array.Int64Builder).Append(id)
		b.Field(1).(*array.Float32Builder).Append(float32(-r.ExpFloat64()))
		b.Field(2).(*array.Float64Builder).Append(r.NormFloat64())
		if i%5 == 0 {
			b.Field(3).AppendNull()
		} else {
			b.Field(3).(*array.Int64Builder).Append(int64(i))
		}
	}
	writeBuilt(t, path, b, rowGroup, props...)
}

// encRow has required numbers in encodings other than PLAIN, whose pages
// must not be direct (a BYTE_STREAM_SPLIT page holds exactly n·width
// bytes too), beside a PLAIN one that is.
type encRow struct {
	Plain  int64   `parquet:"plain"`
	Split  float64 `parquet:"split,split"`
	SplitI int64   `parquet:"spliti,split"`
	Delta  int64   `parquet:"delta,delta"`
}

// writeEnc writes n encRows with parquet-go.
func writeEnc(t testing.TB, path string, n int, opts ...parquet.WriterOption) {
	t.Helper()
	rows := make([]encRow, n)
	for i := range rows {
		rows[i] = encRow{Plain: int64(i / 7), Split: float64(i) * 1.5, SplitI: int64(i) << 20, Delta: int64(i * i)}
	}
	var buf bytes.Buffer
	w := parquet.NewGenericWriter[encRow](&buf, opts...)
	if _, err := w.Write(rows); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// listRow has lists of required numbers, direct in v2 pages without
// an empty list.
type listRow struct {
	ID int64     `parquet:"id"`
	L  []float32 `parquet:"l,list"`
	D  []float64 `parquet:"d,list"`
}

// writeLists writes n listRows with parquet-go, lists of 1 to 40 elements
// (0 to 40 with empty), so that rows cross the small pages' ends.
func writeLists(t testing.TB, path string, n int, empty bool, opts ...parquet.WriterOption) {
	t.Helper()
	r := rand.New(rand.NewPCG(uint64(n), 2))
	rows := make([]listRow, n)
	for i := range rows {
		k := 1 + r.IntN(40)
		if empty && r.IntN(5) == 0 {
			k = 0
		}
		rows[i].ID = int64(i / 3)
		for j := range k {
			rows[i].L = append(rows[i].L, float32(i)+float32(j)/8)
			rows[i].D = append(rows[i].D, r.NormFloat64())
		}
	}
	var buf bytes.Buffer
	w := parquet.NewGenericWriter[listRow](&buf, opts...)
	for lo := 0; lo < n; lo += 100 {
		if _, err := w.Write(rows[lo:min(lo+100, n)]); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// writeBuilt writes b's record to path through Arrow's Parquet writer in
// row groups of rowGroup rows, without dictionaries unless props ask.
func writeBuilt(t testing.TB, path string, b *array.RecordBuilder, rowGroup int64, props ...pq.WriterProperty) {
	t.Helper()
	rec := b.NewRecord()
	defer rec.Release()
	var buf bytes.Buffer
	props = append([]pq.WriterProperty{pq.WithMaxRowGroupLength(rowGroup), pq.WithDictionaryDefault(false)}, props...)
	w, err := pqarrow.NewFileWriter(rec.Schema(), &buf, pq.NewWriterProperties(props...), pqarrow.DefaultWriterProps())
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(rec); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// nullableFile writes n rows in row groups of rowGroup through Arrow's
// writer (no dictionaries) with nullable columns: nid (int64) and nf
// (float32) and lf (a list of float32, nullable list and elements) without
// a null, and lists that are not direct: ln with a null element, le with
// an empty list, lnull with a null list (one each, in the first row group).
func nullableFile(t testing.TB, path string, n int, rowGroup int64, props ...pq.WriterProperty) {
	t.Helper()
	r := rand.New(rand.NewPCG(uint64(n), 3))
	nullableList := func(e arrow.DataType) arrow.DataType {
		return arrow.ListOfField(arrow.Field{Name: "element", Type: e, Nullable: true})
	}
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "nid", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "nf", Type: arrow.PrimitiveTypes.Float32, Nullable: true},
		{Name: "lf", Type: nullableList(arrow.PrimitiveTypes.Float32), Nullable: true},
		{Name: "ln", Type: nullableList(arrow.PrimitiveTypes.Float64), Nullable: true},
		{Name: "le", Type: nullableList(arrow.PrimitiveTypes.Float64), Nullable: true},
		{Name: "lnull", Type: nullableList(arrow.PrimitiveTypes.Float64), Nullable: true},
	}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	for i := range n {
		b.Field(0).(*array.Int64Builder).Append(int64(i / 7))
		b.Field(1).(*array.Float32Builder).Append(float32(r.NormFloat64()))
		k := 1 + r.IntN(30)
		lf := b.Field(2).(*array.ListBuilder)
		lf.Append(true)
		for range k {
			lf.ValueBuilder().(*array.Float32Builder).Append(float32(r.ExpFloat64()))
		}
		for j, name := range []string{"ln", "le", "lnull"} {
			lb := b.Field(3 + j).(*array.ListBuilder)
			switch {
			case name == "lnull" && i == 300:
				lb.AppendNull()
				continue
			case name == "le" && i == 500:
				lb.Append(true) // empty
				continue
			}
			lb.Append(true)
			for e := range k {
				if name == "ln" && i == 777 && e == 0 {
					lb.ValueBuilder().AppendNull()
					continue
				}
				lb.ValueBuilder().(*array.Float64Builder).Append(r.NormFloat64())
			}
		}
	}
	writeBuilt(t, path, b, rowGroup, props...)
}

// directCase is a file with direct chunks (or chunks that must not be),
// read in chunks of each of batches rows.
type directCase struct {
	path    string
	batches []int
}

// directCases: Arrow-written v1 and v2 pages, snappy and uncompressed, of
// a few hundred bytes; chunks over the 1 MiB read window, of small pages
// (the window read again partway) and of 1 MiB pages (a payload over half
// the window, read on its own); parquet-go's files of pgTable (whose
// required int64 columns are direct in the snappy one, with page
// checksums) and of encRow.
func directCases(t *testing.T) map[string]directCase {
	dir := t.TempDir()
	cases := map[string]directCase{}
	small := []int{0, 1, 7, 333, 5000}
	for name, props := range map[string][]pq.WriterProperty{
		"v1-snappy-small": {pq.WithDataPageVersion(pq.DataPageV1), pq.WithCompression(compress.Codecs.Snappy), pq.WithDataPageSize(700), pq.WithBatchSize(50)},
		"v2-snappy-small": {pq.WithDataPageVersion(pq.DataPageV2), pq.WithCompression(compress.Codecs.Snappy), pq.WithDataPageSize(900), pq.WithBatchSize(64)},
		"v1-plain-small":  {pq.WithDataPageVersion(pq.DataPageV1), pq.WithDataPageSize(500), pq.WithBatchSize(40)},
		// Dictionary pages first, then (past 2 KB of dictionary) PLAIN
		// pages: no chunk is direct.
		"v1-snappy-dict": {pq.WithDataPageVersion(pq.DataPageV1), pq.WithCompression(compress.Codecs.Snappy), pq.WithDictionaryDefault(true),
			pq.WithDictionaryPageSizeLimit(2 << 10), pq.WithDataPageSize(900)},
	} {
		path := filepath.Join(dir, name+".parquet")
		directFile(t, path, 20_000, 7_000, props...)
		cases[name] = directCase{path, small}
	}
	for name, props := range map[string][]pq.WriterProperty{
		"v1-snappy-wide":  {pq.WithDataPageVersion(pq.DataPageV1), pq.WithCompression(compress.Codecs.Snappy), pq.WithDataPageSize(40 << 10)},
		"v2-snappy-large": {pq.WithDataPageVersion(pq.DataPageV2), pq.WithCompression(compress.Codecs.Snappy)},
	} {
		path := filepath.Join(dir, name+".parquet")
		directFile(t, path, 160_000, 160_000, props...)
		cases[name] = directCase{path, []int{0, 4093}}
	}
	rows, _ := pgTable(700)
	for name, opts := range pgOptions {
		path := filepath.Join(dir, "pg-"+name+".parquet")
		writePG(t, path, rows, opts...)
		cases["pg-"+name] = directCase{path, small}
	}
	for name, tc := range map[string]struct {
		empty bool
		opts  []parquet.WriterOption
	}{
		"list-v2-snappy":       {false, []parquet.WriterOption{parquet.DataPageVersion(2), parquet.Compression(&parquet.Snappy), parquet.PageBufferSize(700), parquet.MaxRowsPerRowGroup(1500)}},
		"list-v2-plain":        {false, []parquet.WriterOption{parquet.DataPageVersion(2), parquet.PageBufferSize(1500)}},
		"list-v2-snappy-empty": {true, []parquet.WriterOption{parquet.DataPageVersion(2), parquet.Compression(&parquet.Snappy), parquet.PageBufferSize(700)}},
		"list-v1-snappy":       {false, []parquet.WriterOption{parquet.DataPageVersion(1), parquet.Compression(&parquet.Snappy), parquet.PageBufferSize(700)}},
	} {
		path := filepath.Join(dir, name+".parquet")
		writeLists(t, path, 4000, tc.empty, tc.opts...)
		cases[name] = directCase{path, small}
	}
	// Pages of MBs, with checksums: decompressed as they are read.
	big := filepath.Join(dir, "list-v1-snappy-big.parquet")
	writeLists(t, big, 20_000, false, parquet.DataPageVersion(1), parquet.Compression(&parquet.Snappy), parquet.PageBufferSize(32<<20))
	cases["list-v1-snappy-big"] = directCase{big, []int{0, 4093}}
	for name, props := range map[string][]pq.WriterProperty{
		"nullable-v1-snappy": {pq.WithDataPageVersion(pq.DataPageV1), pq.WithCompression(compress.Codecs.Snappy), pq.WithDataPageSize(3000)},
		"nullable-v1-plain":  {pq.WithDataPageVersion(pq.DataPageV1), pq.WithDataPageSize(2000)},
		// One page per column chunk, as DuckDB writes them.
		"nullable-v1-onepage": {pq.WithDataPageVersion(pq.DataPageV1), pq.WithCompression(compress.Codecs.Snappy), pq.WithDataPageSize(64 << 20)},
	} {
		path := filepath.Join(dir, name+".parquet")
		nullableFile(t, path, 6000, 2500, props...)
		cases[name] = directCase{path, small}
	}
	// As DuckDB's, of MBs: the list's page decompressed as it is read.
	big = filepath.Join(dir, "nullable-v1-onepage-big.parquet")
	nullableFile(t, big, 40_000, 40_000, pq.WithDataPageVersion(pq.DataPageV1), pq.WithCompression(compress.Codecs.Snappy), pq.WithDataPageSize(64<<20))
	cases["nullable-v1-onepage-big"] = directCase{big, []int{0, 4093}}
	for name, opts := range map[string][]parquet.WriterOption{
		"enc-v1-snappy": {parquet.DataPageVersion(1), parquet.Compression(&parquet.Snappy), parquet.PageBufferSize(512)},
		"enc-v2-plain":  {parquet.DataPageVersion(2), parquet.PageBufferSize(512)},
	} {
		path := filepath.Join(dir, name+".parquet")
		writeEnc(t, path, 3000, opts...)
		cases[name] = directCase{path, small}
	}
	return cases
}

// TestDirectPages: every file reads the same with direct pages and through
// parquet-go alone, whole and in chunks of several sizes (streamed: pages
// decoded as far as a chunk needs, rows dropped as they are yielded), and
// the columns meant to be direct are.
func TestDirectPages(t *testing.T) {
	defer func() { directPages = true }()
	wantDirect := map[string][]string{
		"v1-snappy-small": {"id", "f32", "f64"}, "v2-snappy-small": {"id", "f32", "f64"},
		"v1-plain-small": {"id", "f32", "f64"}, "v2-snappy-large": {"id", "f32", "f64"},
		"pg-v1-snappy": {"u64", "i64"}, "pg-v2-uncompressed-dictfallback": {"u64", "i64"},
		"v1-snappy-wide": {"id", "f32", "f64"},
		"enc-v1-snappy":  {"plain"}, "enc-v2-plain": {"plain"},
		"list-v2-snappy": {"id", "l", "d"}, "list-v2-plain": {"id", "l", "d"},
		"list-v2-snappy-empty": {"id"}, "list-v1-snappy": {"id", "l", "d"},
		// Arrow's defaults: nullable columns and list elements. Without a
		// null their v1 pages are direct. (Arrow v17's v2 pages split
		// lists across pages, which parquet-go refuses.)
		"nullable-v1-snappy": {"nid", "nf", "lf"}, "nullable-v1-plain": {"nid", "nf", "lf"},
		"nullable-v1-onepage": {"nid", "nf", "lf"},
		"list-v1-snappy-big":  {"id", "l", "d"}, "nullable-v1-onepage-big": {"nid", "nf", "lf"},
	}
	// The pages over streamPageBytes are decompressed as they are read.
	wantStreamed := map[string]bool{"list-v1-snappy-big": true, "nullable-v1-onepage-big": true, "v2-snappy-large": true}
	for name, tc := range directCases(t) {
		f, err := open(Input{Path: tc.path}, memory.DefaultAllocator)
		if err != nil {
			t.Fatal(err)
		}
		// Which chunks are direct.
		p := f.impl.(*pqFile)
		var columns []string
		direct := map[string]bool{}
		for _, c := range p.cols {
			if c.typ == nil {
				continue // a type evaljob does not read
			}
			columns = append(columns, c.name)
			var cb colBuf
			_, ok, err := p.checkPages(0, &c, &cb)
			if err != nil {
				t.Fatalf("%s: %s: %v", name, c.name, err)
			}
			direct[c.name] = ok
		}
		for _, c := range wantDirect[name] {
			if !direct[c] {
				t.Errorf("%s: column %s is not direct", name, c)
			}
			delete(direct, c)
		}
		for c, ok := range direct {
			if ok {
				t.Errorf("%s: column %s is direct", name, c)
			}
		}
		for _, batch := range tc.batches {
			directPages = false
			want := readAll(t, f, columns, batch)
			directPages = true
			before := streamedPages.Load()
			got := readAll(t, f, columns, batch)
			if streamed := streamedPages.Load() > before; streamed != wantStreamed[name] {
				t.Errorf("%s batch %d: pages streamed: %v, want %v", name, batch, streamed, wantStreamed[name])
			}
			// A head read takes the direct pages too (parquet-go's read of
			// one 50 MB page cost ~190 MB).
			before = streamedPages.Load()
			err := f.ReadHead(t.Context(), 0, columns, 10, func(*Chunk) error { return nil })
			if streamed := streamedPages.Load() > before; err != nil || streamed != wantStreamed[name] {
				t.Errorf("%s: head read: pages streamed: %v, want %v (%v)", name, streamed, wantStreamed[name], err)
			}
			for _, c := range columns {
				compareCells(t, fmt.Sprintf("%s batch %d: %s", name, batch, c), got[c], want[c])
			}
		}
		f.Close()
	}
}

// firstPage finds the first page of column col of row group 0 in a
// Parquet file: its header and where its payload is.
func firstPage(t *testing.T, data []byte, col string) (format.PageHeader, int, int) {
	t.Helper()
	md, _ := readFooter(t, data)
	for _, c := range md.RowGroups[0].Columns {
		if c.MetaData.PathInSchema[0] != col {
			continue
		}
		start, end, _ := chunkRange(&c.MetaData)
		var h format.PageHeader
		r := bytes.NewReader(data[start:end])
		if err := thrift.NewDecoder(new(thrift.CompactProtocol).NewReader(r)).Decode(&h); err != nil {
			t.Fatal(err)
		}
		body := int(end-start) - r.Len() + int(start)
		return h, body, int(h.CompressedPageSize)
	}
	t.Fatalf("no column %s", col)
	return format.PageHeader{}, 0, 0
}

// TestDirectPageCorrupt: a direct page whose payload changed fails its
// checksum (parquet-go's files carry one); without a checksum (Arrow's), a
// snappy payload that no longer decodes is an input error naming the
// column and the page.
func TestDirectPageCorrupt(t *testing.T) {
	dir := t.TempDir()
	pgPath := filepath.Join(dir, "pg.parquet")
	rows, _ := pgTable(700)
	writePG(t, pgPath, rows, pgOptions["v1-snappy"]...)
	arrowPath := filepath.Join(dir, "arrow.parquet")
	directFile(t, arrowPath, 3000, 3000, pq.WithDataPageVersion(pq.DataPageV1), pq.WithCompression(compress.Codecs.Snappy))
	// Pages over streamPageBytes, decompressed as they are read.
	pgBig := filepath.Join(dir, "pg-big.parquet")
	writeLists(t, pgBig, 20_000, false, parquet.DataPageVersion(1), parquet.Compression(&parquet.Snappy), parquet.PageBufferSize(32<<20))
	arrowBig := filepath.Join(dir, "arrow-big.parquet")
	directFile(t, arrowBig, 100_000, 100_000, pq.WithDataPageVersion(pq.DataPageV1), pq.WithCompression(compress.Codecs.Snappy), pq.WithDataPageSize(64<<20))
	copyBack := func(b []byte) {
		_, k := binary.Uvarint(b)
		for i := k; i+3 <= len(b); i += 3 {
			copy(b[i:], []byte{0x02, 0xff, 0xff}) // 1-byte copies 65535 back
		}
	}
	for _, tc := range []struct {
		name, path, col string
		crc             bool
		corrupt         func(body []byte)
		errText         string
	}{
		{"checksum", pgPath, "i64", true, func(b []byte) { b[len(b)-1] ^= 0x55 }, "checksum mismatch"},
		{"copy from before the start", arrowPath, "id", false, copyBack, "page 0: decompressing"},
		{"streamed, checksum", pgBig, "d", true, func(b []byte) { b[len(b)-1] ^= 0x55 }, "page 0: crc32 checksum mismatch"},
		{"streamed, copy from before the start", arrowBig, "f64", false, copyBack, "page 0: decompressing"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data, err := os.ReadFile(tc.path)
			if err != nil {
				t.Fatal(err)
			}
			h, at, n := firstPage(t, data, tc.col)
			if strings.HasPrefix(tc.name, "streamed") != (n > streamPageBytes) {
				t.Fatalf("page of %d bytes", n)
			}
			if (h.CRC != 0) != tc.crc || !h.DataPageHeader.Valid {
				t.Fatalf("page: CRC %x, v1 %v", h.CRC, h.DataPageHeader.Valid)
			}
			tc.corrupt(data[at : at+n])
			bad := filepath.Join(dir, tc.name+".parquet")
			if err := os.WriteFile(bad, data, 0o644); err != nil {
				t.Fatal(err)
			}
			f, err := open(Input{Path: bad}, memory.DefaultAllocator)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			err = f.ReadUnit(t.Context(), 0, []string{tc.col}, 0, func(*Chunk) error { return nil })
			if err == nil || !errors.Is(err, evalerr.ErrInput) || !strings.Contains(err.Error(), tc.errText) || !strings.Contains(err.Error(), tc.col) {
				t.Fatalf("got %v, want an input error about %q", err, tc.errText)
			}
		})
	}
}

// rleRun and bitPacked build an RLE/bit-packed hybrid level stream.
func rleRun(count int, level byte) []byte {
	return append(binary.AppendUvarint(nil, uint64(count)<<1), level)
}

func bitPacked(width int, levels ...byte) []byte {
	groups := (len(levels) + 7) / 8
	out := binary.AppendUvarint(nil, uint64(groups)<<1|1)
	for g := range groups {
		var x uint64
		for j := range 8 {
			if k := g*8 + j; k < len(levels) {
				x |= uint64(levels[k]) << (j * width)
			}
		}
		for i := range width {
			out = append(out, byte(x>>(8*i)))
		}
	}
	return out
}

// TestWalkLevels: walkLevels yields the levels of RLE runs and bit-packed
// groups (1 and 2 bits), stops after n, and refuses streams that end early,
// a run of 0, a level wider than the width, or a group cut short.
func TestWalkLevels(t *testing.T) {
	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	for _, tc := range []struct {
		name   string
		b      []byte
		width  int
		n      int
		want   []byte
		wantOK bool
	}{
		{"runs", cat(rleRun(1, 0), rleRun(3, 1), rleRun(2, 0)), 1, 6, []byte{0, 1, 1, 1, 0, 0}, true},
		{"runs past n", cat(rleRun(1, 0), rleRun(99, 1)), 1, 10, []byte{0, 1, 1, 1, 1, 1, 1, 1, 1, 1}, true},
		{"bit-packed", bitPacked(1, 0, 1, 1, 0, 1, 0, 0, 1, 1, 0), 1, 10, []byte{0, 1, 1, 0, 1, 0, 0, 1, 1, 0}, true},
		{"width 2", cat(bitPacked(2, 2, 1, 0, 2, 2, 2, 2, 1), rleRun(3, 2)), 2, 11, []byte{2, 1, 0, 2, 2, 2, 2, 1, 2, 2, 2}, true},
		{"ends early", rleRun(3, 1), 1, 4, nil, false},
		{"run of 0", cat(rleRun(0, 1), rleRun(2, 1)), 1, 2, nil, false},
		{"level too wide", rleRun(2, 2), 1, 2, nil, false},
		{"group cut short", bitPacked(2, 1, 1, 1, 1, 1, 1, 1, 1)[:2], 2, 8, nil, false},
		{"whole runs after n", cat(rleRun(2, 1), rleRun(3, 0), bitPacked(1, 1, 0)), 1, 2, []byte{1, 1}, true},
		{"a broken run after n", cat(rleRun(2, 1), []byte{0x03}), 1, 2, nil, false},
		{"a run header cut after n", cat(rleRun(2, 1), []byte{0x80}), 1, 2, nil, false},
	} {
		var got []byte
		ok := walkLevels(tc.b, tc.width, tc.n, func(level byte, count int) bool {
			for range count {
				got = append(got, level)
			}
			return true
		})
		if ok != tc.wantOK || (ok && !bytes.Equal(got, tc.want)) {
			t.Errorf("%s: ok %v levels %v, want %v %v", tc.name, ok, got, tc.wantOK, tc.want)
		}
	}
}

// TestListStarts: listStarts finds the 0s of a 1-bit level stream and
// accepts exactly the streams walkLevels does (refusing levels above 1):
// random runs of both kinds (bit-packed ones of up to 40 groups, past the
// 64 levels it takes at a time), cut or with a byte changed, walked to a
// random n (sometimes past their end).
func TestListStarts(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	for trial := range 3000 {
		var b []byte
		levels := 0
		for range rng.IntN(6) + 1 {
			if rng.IntN(2) == 0 {
				c := rng.IntN(150) + 1
				b = append(b, rleRun(c, byte(rng.IntN(2)))...)
				levels += c
				continue
			}
			lv := make([]byte, 8*(rng.IntN(40)+1))
			for i := range lv {
				lv[i] = byte(rng.IntN(2))
				if rng.IntN(4) > 0 && i > 0 { // runs of 1s, as in lists
					lv[i] = lv[i-1] | byte(rng.IntN(2))
				}
			}
			b = append(b, bitPacked(1, lv...)...)
			levels += len(lv)
		}
		switch trial % 5 {
		case 3:
			b = b[:rng.IntN(len(b)+1)]
		case 4:
			b[rng.IntN(len(b))] ^= byte(1) << rng.IntN(8)
		}
		n := rng.IntN(levels + 10)
		checkListStarts(t, b, n, trial)
	}
}

// checkListStarts compares listStarts with walkLevels on one stream.
func checkListStarts(t *testing.T, b []byte, n, base int) {
	t.Helper()
	var want []int
	k := 0
	wantOK := walkLevels(b, 1, n, func(level byte, count int) bool {
		for range count {
			if level == 0 {
				want = append(want, base+k)
			}
			k++
		}
		return level <= 1
	})
	prefix := []int{-1}
	got, ok := listStarts(b, n, prefix, base)
	if ok != wantOK || (ok && !slices.Equal(got[1:], want)) {
		t.Fatalf("stream %x, n %d: ok %v starts %v, want %v %v", b, n, ok, got[1:], wantOK, want)
	}
	if got[0] != -1 {
		t.Fatalf("stream %x, n %d: what was in starts changed", b, n)
	}
}

// FuzzListStarts: listStarts against walkLevels on any stream.
func FuzzListStarts(f *testing.F) {
	f.Add(bytes.Join([][]byte{bitPacked(1, 0, 1, 1, 0, 1, 0, 0, 1, 1, 0), rleRun(70, 1)}, nil), uint16(80), 3)
	f.Add(bitPacked(1, make([]byte, 200)...), uint16(199), 0)
	f.Fuzz(func(t *testing.T, b []byte, n uint16, base int) {
		checkListStarts(t, b, int(n), base)
	})
}

// TestDirectLevels: a v2 list page is direct only with every definition
// level the largest (a page whose header claims no nulls but whose levels
// hold an empty list is not), its first repetition level 0, and as many
// rows as it declares.
func TestDirectLevels(t *testing.T) {
	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	reps := cat(rleRun(1, 0), rleRun(2, 1), rleRun(1, 0), rleRun(1, 1)) // rows of 3 and 2 levels
	for _, tc := range []struct {
		name       string
		reps, defs []byte
		rows       int32
		want       bool
	}{
		{"direct", reps, rleRun(5, 1), 2, true},
		{"an empty list", reps, cat(rleRun(3, 1), rleRun(1, 0), rleRun(1, 1)), 2, false},
		{"starts inside a list", cat(rleRun(1, 1), rleRun(1, 0), rleRun(3, 1)), rleRun(5, 1), 1, false},
		{"rows not as declared", reps, rleRun(5, 1), 3, false},
		{"levels short", reps, rleRun(4, 1), 2, false},
		{"no row starts", rleRun(5, 1), rleRun(5, 1), 0, false},
	} {
		path := filepath.Join(t.TempDir(), "levels")
		if err := os.WriteFile(path, cat(tc.reps, tc.defs), 0o644); err != nil {
			t.Fatal(err)
		}
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		size := len(tc.reps) + len(tc.defs)
		pc := &pageCheck{c: &pqColumn{list: true, maxDef: 1}, win: &fileWindow{f: f, end: int64(size)}}
		got, err := pc.directLevels(0, len(tc.reps), len(tc.defs), size, 5, tc.rows)
		f.Close()
		if err != nil || got != tc.want {
			t.Errorf("%s: direct %v (%v), want %v", tc.name, got, err, tc.want)
		}
	}
}

// TestV1Levels: the levels at the start of a v1 page's payload, for a
// list of optional elements (maxDef 2): direct with every definition
// level the largest and the repetition levels of whole rows; a page that
// goes on with the last list only after the chunk's first; not with a
// null element, a short stream, or bit-packed (legacy) levels.
func TestV1Levels(t *testing.T) {
	stream := func(b []byte) []byte { return append(binary.LittleEndian.AppendUint32(nil, uint32(len(b))), b...) }
	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	rows := cat(rleRun(1, 0), rleRun(2, 1), rleRun(1, 0), rleRun(1, 1)) // rows of 3 and 2 levels
	goesOn := cat(rleRun(2, 1), rleRun(1, 0), rleRun(2, 1))
	values := make([]byte, 5*4)
	rle := format.DataPageHeader{RepetitionLevelEncoding: format.RLE, DefinitionLevelEncoding: format.RLE}
	for _, tc := range []struct {
		name      string
		page      []byte
		enc       format.DataPageHeader
		afterPage bool // not the chunk's first page
		want      bool
	}{
		{"rows", cat(stream(rows), stream(rleRun(5, 2)), values), rle, false, true},
		{"goes on, first page", cat(stream(goesOn), stream(rleRun(5, 2)), values), rle, false, false},
		{"goes on", cat(stream(goesOn), stream(rleRun(5, 2)), values), rle, true, true},
		{"null element", cat(stream(rows), stream(cat(rleRun(4, 2), rleRun(1, 1))), values), rle, false, false},
		{"short", cat(stream(rows), stream(rleRun(4, 2))), rle, false, false},
		{"bit-packed levels", cat(stream(rows), stream(rleRun(5, 2)), values), format.DataPageHeader{DefinitionLevelEncoding: format.BitPacked, RepetitionLevelEncoding: format.RLE}, false, false},
		{"cut", stream(rows)[:3], rle, false, false},
	} {
		pc := &pageCheck{c: &pqColumn{list: true, maxDef: 2, elemOptional: true}, width: 4}
		if tc.afterPage {
			pc.direct = []directPage{{}}
		}
		prefix, ok := pc.v1Levels(&tc.enc, tc.page, 5)
		if ok != tc.want || (ok && prefix != len(tc.page)-len(values)) {
			t.Errorf("%s: ok %v, prefix %d", tc.name, ok, prefix)
		}
	}
}

// TestAddDirectLevels: a direct list page's rows and offsets, including a
// first page of no levels (which directLevels takes as direct) and a
// chunk whose first level continues a list.
func TestAddDirectLevels(t *testing.T) {
	var cb colBuf
	if err := cb.addDirectLevels(nil, 0); err != nil || cb.rows != 0 || cb.slots != 0 {
		t.Fatalf("empty first page: %v, %d rows, %d slots", err, cb.rows, cb.slots)
	}
	reps := bytes.Join([][]byte{rleRun(1, 0), rleRun(2, 1), rleRun(1, 0), rleRun(1, 1)}, nil)
	if err := cb.addDirectLevels(reps, 5); err != nil {
		t.Fatal(err)
	}
	if err := cb.addDirectLevels(rleRun(2, 0), 2); err != nil {
		t.Fatal(err)
	}
	if want := []int{0, 3, 5, 6}; !slices.Equal(cb.offs, want) || cb.rows != 4 || cb.slots != 7 || len(cb.valid) != 4 {
		t.Fatalf("offsets %v, %d rows, %d slots, %d valid; want %v, 4, 7, 4", cb.offs, cb.rows, cb.slots, len(cb.valid), want)
	}
	var inside colBuf
	if err := inside.addDirectLevels(bytes.Join([][]byte{rleRun(1, 1), rleRun(1, 0)}, nil), 2); err == nil {
		t.Fatal("a chunk starting inside a list was taken")
	}
	if err := inside.addDirectLevels(rleRun(3, 0), 4); err == nil {
		t.Fatal("a page short of its levels was taken")
	}
}

// BenchmarkListStarts walks the repetition levels of 100-wide lists as
// parquet-go writes them (per two rows: a bit-packed run of 2 groups
// holding a row's start, 80 1s, a group holding the next start, 96 1s).
func BenchmarkListStarts(b *testing.B) {
	var stream []byte
	ones := func(n int) []byte { return bytes.Repeat([]byte{1}, n) }
	rows := 0
	for range 224 {
		stream = append(stream, bitPacked(1, append(append(ones(4), 0), ones(11)...)...)...)
		stream = append(stream, rleRun(80, 1)...)
		stream = append(stream, bitPacked(1, append(append(ones(3), 0), ones(4)...)...)...)
		stream = append(stream, rleRun(96, 1)...)
		rows += 2
	}
	n := 224 * 200
	starts := make([]int, 0, rows)
	for b.Loop() {
		var ok bool
		if starts, ok = listStarts(stream, n, starts[:0], 0); !ok || len(starts) != rows {
			b.Fatalf("ok %v, %d rows, want %d", ok, len(starts), rows)
		}
	}
	b.ReportMetric(float64(b.N*rows)/b.Elapsed().Seconds(), "rows/s")
}

// TestV1Prefix: the levels at the start of a snappy v1 page, decompressed
// from a first read of a few bytes, reading more of the page as they need
// (levels of ~200 KB, past v1HeadBytes); a length past the page is
// "truncated levels", a block that is not snappy is refused.
func TestV1Prefix(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 9))
	stream := func(b []byte) []byte { return append(binary.LittleEndian.AppendUint32(nil, uint32(len(b))), b...) }
	reps := make([]byte, 200_000)
	for i := range reps {
		reps[i] = byte(r.IntN(256)) // bit-packed levels of no pattern
	}
	levels := bytes.Join([][]byte{stream(reps), stream(rleRun(5, 2))}, nil)
	values := make([]byte, 40_000)
	page := append(slices.Clone(levels), values...)
	block := snappy.Encode(nil, page)
	path := filepath.Join(t.TempDir(), "page")
	junk := []byte("not a snappy block at all, and long enough to be read")
	if err := os.WriteFile(path, append(slices.Clone(block), junk...), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, first := range []int{1, 100, v1HeadBytes, len(block)} {
		win := &fileWindow{f: f, end: int64(len(block) + len(junk))}
		var scratch [2][]byte
		got, err := v1Prefix(win, 0, len(block), block[:first], 2, int64(len(page)), &scratch)
		if err != nil || !bytes.Equal(got, levels) {
			t.Fatalf("first %d bytes: %d bytes of levels (%v), want %d", first, len(got), err, len(levels))
		}
	}
	win := &fileWindow{f: f, end: int64(len(block) + len(junk))}
	var scratch [2][]byte
	if _, err := v1Prefix(win, 0, len(block), block[:100], 2, int64(len(levels))-1, &scratch); err == nil || !strings.Contains(err.Error(), "truncated levels") {
		t.Fatalf("levels past the page: %v", err)
	}
	if _, err := v1Prefix(win, int64(len(block)), len(junk), junk, 2, 1000, &scratch); err == nil || !strings.Contains(err.Error(), "decompressing") {
		t.Fatalf("not a snappy block: %v", err)
	}
	// S2's repeat codes (a 1-byte-offset copy of offset 0: the last
	// offset again), which klauspost's decoder, parquet-go's, accepts in a
	// snappy page: snappyPrefix does not, and the whole page decides.
	s2Levels := bytes.Join([][]byte{stream(bytes.Repeat([]byte{0xff}, 40)), stream(rleRun(5, 2))}, nil)
	s2Page := append(slices.Clone(s2Levels), values[:40]...)
	s2 := binary.AppendUvarint(nil, uint64(len(s2Page)))
	s2 = append(append(s2, 4<<2), s2Page[:5]...) // a literal: the length and the first 0xff
	s2 = append(s2, 0<<2|1, 1)                   // a copy of 4 bytes, 1 back
	for range 8 {
		s2 = append(s2, 0<<2|1, 0) // S2: 4 bytes more at the same offset
	}
	rest := s2Page[5+4+32:]
	s2 = append(append(s2, byte(len(rest)-1)<<2), rest...)
	if back, err := snappy.Decode(nil, s2); err != nil || !bytes.Equal(back, s2Page) {
		t.Fatalf("the S2 block does not decode to its page: %v", err)
	}
	s2Path := filepath.Join(t.TempDir(), "s2")
	if err := os.WriteFile(s2Path, s2, 0o644); err != nil {
		t.Fatal(err)
	}
	s2f, err := os.Open(s2Path)
	if err != nil {
		t.Fatal(err)
	}
	defer s2f.Close()
	win = &fileWindow{f: s2f, end: int64(len(s2))}
	got, err := v1Prefix(win, 0, len(s2), s2[:20], 2, int64(len(s2Page)), &scratch)
	if err != nil || !bytes.HasPrefix(got, s2Levels) {
		t.Fatalf("an S2 block: %v", err)
	}
}
