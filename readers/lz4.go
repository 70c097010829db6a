package readers

import (
	"errors"
	_ "unsafe" // go:linkname

	parquet "github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress"
	pqlz4 "github.com/parquet-go/parquet-go/compress/lz4"
	"github.com/parquet-go/parquet-go/format"
	"github.com/pierrec/lz4/v4"
)

// pqCodecs is parquet-go's table of page codecs, indexed by codec
// (compress.go: compressionCodecs, which LookupCompressionCodec reads).
//
// parquet-go v0.32.0 reads LZ4_RAW pages wrong (its issue #608, fix
// unreleased): its decoder allocates a new buffer whenever the pooled
// one's capacity is below 3x the compressed size, which is every page of
// floats, and Column.decompress then keeps the pooled buffer, its old
// bytes, when the page has exactly its declared size. An audit read every
// probability of a parquet-go LZ4 file as 0 (exit 0), and DuckDB's LZ4
// files were refused or read a page left over from another column. The
// decoder also doubled its buffer for ever on a corrupt block. lz4Codec
// takes its place in the table.
//
//go:linkname pqCodecs github.com/parquet-go/parquet-go.compressionCodecs
var pqCodecs [format.Lz4Raw + 1]compress.Codec

// lz4Patched reports whether lz4Codec is in the table. When it is not (a
// parquet-go whose table is not v0.32.0's: the linker then makes a table
// of its own for the name, all nil, and the build does not fail), LZ4_RAW
// pages are refused (checkCompressed) rather than misread.
var lz4Patched bool

func init() {
	for i, c := range pqCodecs {
		if c != nil && c.CompressionCodec() != format.CompressionCodec(i) {
			return // not a table of codecs by code: leave it
		}
	}
	if _, ok := pqCodecs[format.Lz4Raw].(*pqlz4.Codec); !ok {
		return // not its LZ4 codec (patched already, or another version)
	}
	pqCodecs[format.Lz4Raw] = &lz4Codec{Codec: pqCodecs[format.Lz4Raw]}
	lz4Patched = parquet.LookupCompressionCodec(format.Lz4Raw) == pqCodecs[format.Lz4Raw]
}

// lz4Codec is parquet-go's LZ4_RAW codec with a decoder that decodes into
// the buffer it is given, and grows it only when the block does not fit,
// up to LZ4's largest ratio (255:1).
type lz4Codec struct{ compress.Codec }

func (c *lz4Codec) Decode(dst, src []byte) ([]byte, error) {
	dst = dst[:cap(dst)]
	if len(dst) == 0 { // no buffer given: start where parquet-go's decoder did
		dst = make([]byte, max(3*len(src), 64))
	}
	for {
		n, err := lz4.UncompressBlock(src, dst)
		if err == nil {
			return dst[:n], nil
		}
		if len(dst) >= 255*len(src)+16 {
			return nil, errors.New("corrupt LZ4 block")
		}
		dst = make([]byte, min(max(2*len(dst), 3*len(src), 64), 255*len(src)+16))
	}
}
