package readers

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/memory"
	pq "github.com/apache/arrow/go/v17/parquet"
	"github.com/apache/arrow/go/v17/parquet/compress"
	"github.com/klauspost/compress/snappy"
	"github.com/parquet-go/parquet-go/format"

	"github.com/evaljob/evaljob/evalerr"
)

// TestShortPlainPage: a PLAIN page of a fixed-width type one value short
// of what its levels (or value count) say is an input error, with direct
// pages and without. parquet-go reads such a page and takes the missing
// value from whatever its reused buffer held (a different value from one
// read to the next); checkPageData refuses it first. Found by a review.
func TestShortPlainPage(t *testing.T) {
	defer func() { directPages = true }()
	dir := t.TempDir()
	for _, kind := range []arrow.DataType{arrow.PrimitiveTypes.Int64, arrow.PrimitiveTypes.Float32} {
		for _, nullable := range []bool{true, false} {
			for _, snappyPages := range []bool{true, false} {
				schema := arrow.NewSchema([]arrow.Field{{Name: "x", Type: kind, Nullable: nullable}}, nil)
				b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
				for i := range 3000 {
					switch x := b.Field(0).(type) {
					case *array.Int64Builder:
						x.Append(int64(i / 3))
					case *array.Float32Builder:
						x.Append(float32(i))
					}
				}
				props := []pq.WriterProperty{pq.WithDataPageVersion(pq.DataPageV1), pq.WithDataPageSize(600)}
				if snappyPages {
					props = append(props, pq.WithCompression(compress.Codecs.Snappy))
				}
				base := filepath.Join(dir, "base.parquet")
				writeBuilt(t, base, b, 3000, props...)
				data, err := os.ReadFile(base)
				if err != nil {
					t.Fatal(err)
				}
				md, pages := splitPages(t, data)
				k := 0
				for pages[k].h.Type != format.DataPage {
					k++
				}
				p := &pages[k]
				page := bytes.Clone(p.body)
				if snappyPages {
					if page, err = snappy.Decode(nil, p.body); err != nil {
						t.Fatal(err)
					}
				}
				page = page[:len(page)-kind.(arrow.FixedWidthDataType).Bytes()] // one value short
				p.body = page
				if snappyPages {
					p.body = snappy.Encode(nil, page)
				}
				p.h.CompressedPageSize, p.h.UncompressedPageSize = int32(len(p.body)), int32(len(page))
				short := joinPages(t, data, md, pages)
				for _, direct := range []bool{true, false} {
					directPages = direct
					f, err := open(Input{Path: short}, memory.DefaultAllocator)
					if err != nil {
						t.Fatal(err)
					}
					err = f.ReadUnit(t.Context(), 0, []string{"x"}, 0, func(*Chunk) error { return nil })
					f.Close()
					if !errors.Is(err, evalerr.ErrInput) || !strings.Contains(err.Error(), "bytes of values") {
						t.Errorf("%s nullable %v snappy %v direct %v: %v", kind, nullable, snappyPages, direct, err)
					}
				}
			}
		}
	}
}
