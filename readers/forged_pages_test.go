package readers

import (
	"bytes"
	"context"
	"encoding/binary"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/encoding/thrift"
	"github.com/parquet-go/parquet-go/format"
)

// Files a review forged against the page checks (each page's type must be
// the kind of its header, and a head read must not get out of step with
// parquet-go's pages), and against the head read's row count.

// rawPage is one page of a column chunk: its header and its bytes.
type rawPage struct {
	h    format.PageHeader
	body []byte
}

// splitPages parses a one-column-chunk Parquet file into its footer and the
// pages of row group 0's first chunk.
func splitPages(t *testing.T, b []byte) (*format.FileMetaData, []rawPage) {
	t.Helper()
	md, _ := readFooter(t, b)
	start, end, _ := chunkRange(&md.RowGroups[0].Columns[0].MetaData)
	var pages []rawPage
	for pos := start; pos < end; {
		var h format.PageHeader
		r := bytes.NewReader(b[pos:end])
		if err := thrift.NewDecoder(new(thrift.CompactProtocol).NewReader(r)).Decode(&h); err != nil {
			t.Fatal(err)
		}
		hl := int64(len(b[pos:end])) - int64(r.Len())
		pages = append(pages, rawPage{h, b[pos+hl : pos+hl+int64(h.CompressedPageSize)]})
		pos += hl + int64(h.CompressedPageSize)
	}
	return md, pages
}

// joinPages writes the file back with pages in place of the chunk's (the
// first may be a dictionary page), their checksums dropped, and returns
// its path.
func joinPages(t *testing.T, b []byte, md *format.FileMetaData, pages []rawPage) string {
	t.Helper()
	cc := &md.RowGroups[0].Columns[0]
	start, _, _ := chunkRange(&cc.MetaData)
	out := append([]byte{}, b[:start]...)
	dict := len(pages) > 0 && pages[0].h.Type == format.DictionaryPage
	cc.MetaData.DataPageOffset, cc.MetaData.DictionaryPageOffset = start, 0
	for i, p := range pages {
		if i == 1 && dict {
			cc.MetaData.DataPageOffset = int64(len(out))
		}
		p.h.CRC = 0
		hb, err := thrift.Marshal(new(thrift.CompactProtocol), &p.h)
		if err != nil {
			t.Fatal(err)
		}
		out = append(append(out, hb...), p.body...)
	}
	if dict {
		cc.MetaData.DictionaryPageOffset = start
	}
	cc.MetaData.TotalCompressedSize = int64(len(out)) - start
	return writeWithFooter(t, out, md)
}

// readFooter parses a Parquet file's footer; dataEnd is where it starts.
func readFooter(t *testing.T, b []byte) (md *format.FileMetaData, dataEnd int) {
	t.Helper()
	n := int(binary.LittleEndian.Uint32(b[len(b)-8:]))
	md = new(format.FileMetaData)
	if err := thrift.Unmarshal(new(thrift.CompactProtocol), b[len(b)-8-n:len(b)-8], md); err != nil {
		t.Fatal(err)
	}
	return md, len(b) - 8 - n
}

// writeWithFooter writes data (the file up to its footer) followed by md's
// footer to a new file and returns its path.
func writeWithFooter(t *testing.T, data []byte, md *format.FileMetaData) string {
	t.Helper()
	foot, err := thrift.Marshal(new(thrift.CompactProtocol), md)
	if err != nil {
		t.Fatal(err)
	}
	out := append(append([]byte{}, data...), foot...)
	out = binary.LittleEndian.AppendUint32(out, uint32(len(foot)))
	out = append(out, "PAR1"...)
	path := filepath.Join(t.TempDir(), "forged.parquet")
	if err := os.WriteFile(path, out, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// readBoth reads unit 0 whole and its head of one row, and reports both
// errors and the bytes allocated meanwhile.
func readBoth(t *testing.T, path, column string) (unitErr, headErr error, allocated uint64) {
	t.Helper()
	f, err := Open(Input{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	unitErr = f.ReadUnit(context.Background(), 0, []string{column}, 0, func(*Chunk) error { return nil })
	headErr = f.ReadHead(context.Background(), 0, []string{column}, 1, func(*Chunk) error { return nil })
	runtime.ReadMemStats(&m1)
	return unitErr, headErr, m1.TotalAlloc - m0.TotalAlloc
}

// A page typed as a dictionary that carries the data page's header, then a
// data page declaring 2^31-1 values: the head read took the first for the
// data page to check, parquet-go skipped it (a dictionary was loaded) and
// decoded the unchecked second one, allocating 2.8 GB.
func TestForgedDictionaryTypedDataPage(t *testing.T) {
	type row struct {
		X *int64 `parquet:"x,optional,dict"`
	}
	var buf bytes.Buffer
	w := parquet.NewGenericWriter[row](&buf, parquet.DataPageVersion(1))
	v := int64(7)
	if _, err := w.Write([]row{{&v}, {&v}, {nil}, {&v}}); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	md, pages := splitPages(t, buf.Bytes())
	if len(pages) != 2 || pages[0].h.Type != format.DictionaryPage {
		t.Fatalf("%d pages, first %v", len(pages), pages[0].h.Type)
	}
	disguised, hostile := pages[1], pages[1]
	disguised.h.Type = format.DictionaryPage // with its data page header
	hostile.h.DataPageHeader.V.NumValues = 1<<31 - 1
	path := joinPages(t, buf.Bytes(), md, []rawPage{pages[0], disguised, hostile})
	unitErr, headErr, alloc := readBoth(t, path, "x")
	if unitErr == nil || headErr == nil || !strings.Contains(headErr.Error(), "without its header alone") {
		t.Errorf("ReadUnit: %v; ReadHead: %v; want both refused at the disguised page", unitErr, headErr)
	}
	if alloc > 64<<20 {
		t.Errorf("allocated %d MB", alloc>>20)
	}
}

// A dictionary page that also carries a data page header had its own
// value count (2^27 here) checked as neither, and parquet-go sized its
// dictionary buffers from it: 514 MB from a 266-byte file, whole-unit reads
// included.
func TestForgedDictionaryPageWithDataHeader(t *testing.T) {
	type row struct {
		X *string `parquet:"x,optional,dict"`
	}
	var buf bytes.Buffer
	w := parquet.NewGenericWriter[row](&buf, parquet.DataPageVersion(1))
	v := "a"
	if _, err := w.Write([]row{{&v}, {nil}, {&v}}); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	md, pages := splitPages(t, buf.Bytes())
	pages[0].h.DataPageHeader = pages[1].h.DataPageHeader
	pages[0].h.DataPageHeader.V.NumValues = 0
	pages[0].h.DictionaryPageHeader.V.NumValues = 1 << 27
	path := joinPages(t, buf.Bytes(), md, pages)
	unitErr, headErr, alloc := readBoth(t, path, "x")
	if unitErr == nil || headErr == nil {
		t.Errorf("ReadUnit: %v; ReadHead: %v; want both refused", unitErr, headErr)
	}
	if alloc > 64<<20 {
		t.Errorf("allocated %d MB", alloc>>20)
	}
}

// A list chunk of 3000 rows in a row group declaring 5: the whole unit was
// refused, its head (1024 rows asked) returned 5 rows and no error.
func TestHeadMoreRowsThanDeclared(t *testing.T) {
	type row struct {
		L []int64 `parquet:"l,list"`
	}
	var buf bytes.Buffer
	w := parquet.NewGenericWriter[row](&buf, parquet.DataPageVersion(1), parquet.PageBufferSize(256))
	rows := make([]row, 3000)
	for i := range rows {
		rows[i] = row{[]int64{int64(i), int64(i)}}
	}
	if _, err := w.Write(rows); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	md, dataEnd := readFooter(t, b)
	md.RowGroups[0].NumRows, md.NumRows = 5, 5
	f, err := Open(Input{Path: writeWithFooter(t, b[:dataEnd], md)})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.ReadUnit(context.Background(), 0, []string{"l"}, 0, func(*Chunk) error { return nil }); err == nil {
		t.Error("ReadUnit: no error")
	}
	err = f.ReadHead(context.Background(), 0, []string{"l"}, 1024, func(*Chunk) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "row group declares 5") {
		t.Errorf("ReadHead: %v, want the row count refused", err)
	}
}
