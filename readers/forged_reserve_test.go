package readers

import (
	"bytes"
	"context"
	"runtime"
	"testing"

	"github.com/apache/arrow/go/v17/arrow/memory"
	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/encoding/thrift"
	"github.com/parquet-go/parquet-go/format"
)

// forgedReserveFile is a snappy Parquet file of one required double column
// whose pages each declare 2^26 values and an inflated uncompressed size
// while holding one value, in a row group declaring 2^28 rows (a review
// found a 493-byte one made the reader reserve 1.2 GB).
func forgedReserveFile(t *testing.T, pages int) string {
	t.Helper()
	type row struct {
		X float64 `parquet:"x"`
	}
	var buf bytes.Buffer
	w := parquet.NewGenericWriter[row](&buf, parquet.Compression(&parquet.Snappy), parquet.DataPageVersion(1))
	if _, err := w.Write([]row{{1.5}}); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	md, _ := readFooter(t, b)
	cc := &md.RowGroups[0].Columns[0]
	start := cc.MetaData.DataPageOffset
	var h format.PageHeader
	if err := thrift.NewDecoder(new(thrift.CompactProtocol).NewReader(bytes.NewReader(b[start:]))).Decode(&h); err != nil {
		t.Fatal(err)
	}
	hb, err := thrift.Marshal(new(thrift.CompactProtocol), &h)
	if err != nil {
		t.Fatal(err)
	}
	payload := b[start+int64(len(hb)) : start+int64(len(hb))+int64(h.CompressedPageSize)]
	h.DataPageHeader.V.NumValues = 1 << 26
	h.UncompressedPageSize = int32(int64(h.CompressedPageSize)*(1<<16) + (4 << 20))
	h.CRC = 0
	hb, err = thrift.Marshal(new(thrift.CompactProtocol), &h)
	if err != nil {
		t.Fatal(err)
	}
	out := append([]byte{}, b[:start]...)
	for range pages {
		out = append(append(out, hb...), payload...)
	}
	cc.MetaData.TotalCompressedSize = int64(len(out)) - start
	cc.MetaData.TotalUncompressedSize = int64(pages) * int64(h.UncompressedPageSize)
	cc.MetaData.NumValues = int64(pages) << 26
	md.RowGroups[0].NumRows = 1 << 28
	md.RowGroups[0].TotalByteSize = cc.MetaData.TotalUncompressedSize
	md.NumRows = 1 << 28
	return writeWithFooter(t, out, md)
}

// TestForgedValueCountsReserveLittle: reading such a file is an error, and
// the buffers reserved for it stay within a few MB (the reservation is
// bounded by the column chunk's bytes in the file, not by its headers).
func TestForgedValueCountsReserveLittle(t *testing.T) {
	for _, pages := range []int{1, 4} {
		path := forgedReserveFile(t, pages)
		f, err := open(Input{Path: path}, memory.NewGoAllocator())
		if err != nil {
			continue // refused on open: nothing was reserved either
		}
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		err = f.ReadUnit(context.Background(), 0, []string{"x"}, 1024, func(*Chunk) error { return nil })
		runtime.ReadMemStats(&after)
		f.Close()
		ReleaseBuffers()
		if err == nil {
			t.Errorf("%d forged pages: read without an error", pages)
		}
		if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 64<<20 {
			t.Errorf("%d forged pages: %d MB allocated while reading a file of a few hundred bytes", pages, alloc>>20)
		}
	}
}
