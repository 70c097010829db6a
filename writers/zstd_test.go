package writers

import (
	"bytes"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/apache/arrow/go/v17/parquet/compress"
	"github.com/klauspost/compress/zstd"
)

// TestZstdCodecSameBytes: the registered zstd codec is ours, and its
// EncodeLevel gives the bytes of Arrow v17's (a new encoder with zero
// frames and the level, per call), for pages of many sizes and kinds, at
// the default level and others, called from several goroutines at once,
// each reusing a dst of another size; and they decode to the input.
func TestZstdCodecSameBytes(t *testing.T) {
	codec, err := compress.GetCodec(compress.Codecs.Zstd)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := codec.(*zstdCodec); !ok {
		t.Fatalf("registered zstd codec is %T", codec)
	}
	arrow := func(src []byte, level int) []byte { // compress.zstdCodec.EncodeLevel
		l := zstd.EncoderLevelFromZstd(level)
		if level == compress.DefaultCompressionLevel {
			l = zstd.SpeedDefault
		}
		enc, err := zstd.NewWriter(nil, zstd.WithZeroFrames(true), zstd.WithEncoderLevel(l))
		if err != nil {
			t.Error(err)
			return nil
		}
		return enc.EncodeAll(src, nil)
	}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(g), 9))
			dst := make([]byte, rng.IntN(1<<16))
			for trial := range 40 {
				n := []int{0, 1, 100, 4096, 1 << 17, 1<<20 + 3, 3 << 20}[trial%7]
				src := make([]byte, n)
				for i := range src {
					switch g % 3 {
					case 0: // random: stored blocks
						src[i] = byte(rng.Uint32())
					case 1: // few distinct values: a dictionary page
						src[i] = byte(rng.IntN(4))
					default: // runs: long matches across the history
						src[i] = byte(i / 1000 % 7)
					}
				}
				level := []int{compress.DefaultCompressionLevel, 1, 3, 9}[trial%4]
				got := codec.EncodeLevel(dst, src, level)
				if want := arrow(src, level); !bytes.Equal(got, want) {
					t.Errorf("goroutine %d, %d bytes, level %d: %d bytes, Arrow's codec %d", g, n, level, len(got), len(want))
					return
				}
				if back := codec.Decode(nil, got); !bytes.Equal(back, src) {
					t.Errorf("goroutine %d, %d bytes: does not decode to its input", g, n)
					return
				}
				dst = got
			}
		})
	}
	wg.Wait()
}
