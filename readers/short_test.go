package readers

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/andybalholm/brotli"
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
// pages and without, uncompressed, snappy, zstd (with frames that declare
// their content size, and with one that does not, decompressed to tell),
// gzip or brotli (whose check decompresses them). parquet-go reads such a page and takes the missing
// value from whatever its reused buffer held (a different value from one
// read to the next); checkPageData refuses it first. Found by a review.
func TestShortPlainPage(t *testing.T) {
	defer func() { directPages = true }()
	dir := t.TempDir()
	for _, kind := range []arrow.DataType{arrow.PrimitiveTypes.Int64, arrow.PrimitiveTypes.Float32} {
		for _, nullable := range []bool{true, false} {
			for _, codec := range []string{"snappy", "plain", "zstd", "zstd-nofcs", "gzip", "brotli"} {
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
				case "zstd", "zstd-nofcs":
					props = append(props, pq.WithCompression(compress.Codecs.Zstd))
				case "gzip":
					props = append(props, pq.WithCompression(compress.Codecs.Gzip))
				case "brotli":
					props = append(props, pq.WithCompression(compress.Codecs.Brotli))
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
				case "zstd", "zstd-nofcs":
					page, err = zstdDec.DecodeAll(p.body, nil)
				case "gzip":
					var r *gzip.Reader
					if r, err = gzip.NewReader(bytes.NewReader(p.body)); err == nil {
						page, err = io.ReadAll(r)
					}
				case "brotli":
					page, err = io.ReadAll(brotli.NewReader(bytes.NewReader(p.body)))
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
				case "zstd-nofcs":
					p.body = rawZstd(page)
				case "gzip":
					p.body = compressWith(gzip.NewWriter, page)
				case "brotli":
					p.body = compressWith(brotli.NewWriter, page)
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

// compressWith compresses b with a stream writer of the codec.
func compressWith[W io.WriteCloser](newWriter func(io.Writer) W, b []byte) []byte {
	var buf bytes.Buffer
	w := newWriter(&buf)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

// rawZstd is b as one zstd frame of one raw block, without a content
// size (as streaming encoders write frames): b must be under 128 KB.
func rawZstd(b []byte) []byte {
	out := []byte{0x28, 0xb5, 0x2f, 0xfd, 0x00, 0x38} // magic; no content size, a window of 128 KB
	h := uint32(1 | len(b)<<3)                        // last block, raw, its size
	out = append(out, byte(h), byte(h>>8), byte(h>>16))
	return append(out, b...)
}

// TestZstdContentSize: zstd payloads declare their decompressed length when
// every frame has a content size: one frame, two, a skippable frame between
// them; a frame without one (klauspost leaves it out of tiny frames)
// declares none, nor does a truncated payload.
func TestZstdContentSize(t *testing.T) {
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
		{"raw block, no content size", rawZstd(b), -1},
		{"sized, then none", append(zstdEnc.EncodeAll(a, nil), tiny...), -1},
	} {
		if got, err := checkZstd(tc.payload, 1<<30); got != tc.want || err != nil {
			t.Errorf("%s: %d (%v), want %d", tc.name, got, err, tc.want)
		}
	}
	if got, err := checkZstd(zstdEnc.EncodeAll(a, nil)[:20], 1<<30); err == nil {
		t.Errorf("truncated: %d, want an error", got)
	}
	if out, err := zstdDec.DecodeAll(rawZstd(b), nil); err != nil || !bytes.Equal(out, b) {
		t.Errorf("rawZstd does not decode to its input: %v", err)
	}
}
