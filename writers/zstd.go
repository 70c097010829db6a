package writers

import (
	"sync"

	"github.com/apache/arrow/go/v17/parquet/compress"
	"github.com/klauspost/compress/zstd"
)

// Arrow v17's zstd codec compresses each Parquet page with a new encoder
// (compress.zstdCodec.EncodeLevel calls zstd.NewWriter), which allocates
// and clears its match tables and history every page: for a 100k-row
// rows.parquet that was 23 ms of 50, for tables of a few kilobytes. The
// codec registered here instead keeps one encoder per level, made with the
// same options: EncodeAll starts afresh at every call, so the bytes are
// the same (TestZstdCodecSameBytes) without the setup. The encoder has one
// block encoder (about 18 MB once used), so concurrent calls take turns:
// a pool of them held 40-60 MB more at peak on a per-row run. Everything
// else goes to Arrow's codec.
func init() {
	base, err := compress.GetCodec(compress.Codecs.Zstd)
	if err != nil {
		panic("writers: Arrow has no zstd codec: " + err.Error())
	}
	compress.RegisterCodec(compress.Codecs.Zstd, &zstdCodec{Codec: base})
}

// zstdCodec is Arrow's zstd codec with EncodeLevel's encoders kept.
type zstdCodec struct {
	compress.Codec
	mu       sync.Mutex
	encoders map[int]*zstd.Encoder
}

// EncodeLevel compresses src as Arrow's codec does (one frame, level
// level, compress.DefaultCompressionLevel being zstd's default), appending
// to dst[:0].
func (c *zstdCodec) EncodeLevel(dst, src []byte, level int) []byte {
	return c.encoder(level).EncodeAll(src, dst[:0])
}

// encoder returns the encoder of level, made on first use with Arrow's
// options and a single block encoder (the concurrency option does not
// change EncodeAll's output).
func (c *zstdCodec) encoder(level int) *zstd.Encoder {
	c.mu.Lock()
	defer c.mu.Unlock()
	if enc, ok := c.encoders[level]; ok {
		return enc
	}
	l := zstd.EncoderLevelFromZstd(level)
	if level == compress.DefaultCompressionLevel {
		l = zstd.SpeedDefault
	}
	enc, err := zstd.NewWriter(nil, zstd.WithZeroFrames(true), zstd.WithEncoderLevel(l), zstd.WithEncoderConcurrency(1))
	if err != nil {
		panic("writers: zstd encoder: " + err.Error()) // only for invalid options, and these are Arrow's
	}
	if c.encoders == nil {
		c.encoders = make(map[int]*zstd.Encoder)
	}
	c.encoders[level] = enc
	return enc
}
