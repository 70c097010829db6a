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
	"github.com/klauspost/compress/zstd"
	"github.com/parquet-go/parquet-go/format"

	"github.com/evaljob/evaljob/evalerr"
)

// TestShortPlainPage: a PLAIN page of a fixed-width type one value short
// of what its levels (or value count) say is an input error, with direct
// pages and without, uncompressed, snappy or zstd (whose frames declare
// their content size). parquet-go reads such a page and takes the missing
// value from whatever its reused buffer held (a different value from one
// read to the next); checkPageData refuses it first. Found by a review.
func TestShortPlainPage(t *testing.T) {
	defer func() { directPages = true }()
	dir := t.TempDir()
	for _, kind := range []arrow.DataType{arrow.PrimitiveTypes.Int64, arrow.PrimitiveTypes.Float32} {
		for _, nullable := range []bool{true, false} {
			for _, codec := range []string{"snappy", "plain", "zstd"} {
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
				switch codec {
				case "snappy":
					props = append(props, pq.WithCompression(compress.Codecs.Snappy))
				case "zstd":
					props = append(props, pq.WithCompression(compress.Codecs.Zstd))
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
				switch codec {
				case "snappy":
					page, err = snappy.Decode(nil, p.body)
				case "zstd":
					page, err = zstdDec.DecodeAll(p.body, nil)
				}
				if err != nil {
					t.Fatal(err)
				}
				page = page[:len(page)-kind.(arrow.FixedWidthDataType).Bytes()] // one value short
				p.body = page
				switch codec {
				case "snappy":
					p.body = snappy.Encode(nil, page)
				case "zstd":
					p.body = zstdEnc.EncodeAll(page, nil)
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
						t.Errorf("%s nullable %v %s direct %v: %v", kind, nullable, codec, direct, err)
					}
				}
			}
		}
	}
}

var (
	zstdDec, _ = zstd.NewReader(nil)
	zstdEnc, _ = zstd.NewWriter(nil) // EncodeAll writes each frame's content size
)

// TestZstdDeclaredLen: zstd payloads declare their decompressed length when
// every frame has a content size: one frame, two, a skippable frame between
// them; a frame without one (klauspost leaves it out of tiny frames)
// declares none, nor does a truncated payload.
func TestZstdDeclaredLen(t *testing.T) {
	a, b := bytes.Repeat([]byte("evaljob "), 5000), bytes.Repeat([]byte("short "), 3000)
	tiny := zstdEnc.EncodeAll([]byte("short"), nil)
	skippable := []byte{0x50, 0x2a, 0x4d, 0x18, 3, 0, 0, 0, 'x', 'y', 'z'}
	for _, tc := range []struct {
		name    string
		payload []byte
		want    int64
	}{
		{"one frame", zstdEnc.EncodeAll(a, nil), int64(len(a))},
		{"two frames", zstdEnc.EncodeAll(b, zstdEnc.EncodeAll(a, nil)), int64(len(a) + len(b))},
		{"skippable between", zstdEnc.EncodeAll(b, append(zstdEnc.EncodeAll(a, nil), skippable...)), int64(len(a) + len(b))},
		{"no content size", tiny, -1},
		{"sized, then none", append(zstdEnc.EncodeAll(a, nil), tiny...), -1},
		{"truncated", zstdEnc.EncodeAll(a, nil)[:20], -1},
	} {
		if got := declaredLen(format.Zstd, tc.payload); got != tc.want {
			t.Errorf("%s: %d, want %d", tc.name, got, tc.want)
		}
	}
}
