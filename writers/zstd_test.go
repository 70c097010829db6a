package writers

import (
	"bytes"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/apache/arrow/go/v17/parquet/compress"
)

// TestZstdCodecSameBytes: the registered zstd codec is ours, and its
// EncodeLevel gives the bytes of Arrow v17's own (the codec it wraps, which
// makes a new encoder per call), for pages of many sizes and kinds, at the
// default level and others up to the best compression, over more than 256
// calls per level (the encoder resets its offsets every 256 or so), called
// from several goroutines at once, each reusing a dst of another size; and
// they decode to the input.
func TestZstdCodecSameBytes(t *testing.T) {
	codec, err := compress.GetCodec(compress.Codecs.Zstd)
	if err != nil {
		t.Fatal(err)
	}
	ours, ok := codec.(*zstdCodec)
	if !ok {
		t.Fatalf("registered zstd codec is %T", codec)
	}
	arrow := ours.Codec // Arrow's codec
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(g), 9))
			dst := make([]byte, rng.IntN(1<<16))
			for trial := range 400 {
				level := []int{compress.DefaultCompressionLevel, 1, 3, 11, 19}[trial%5]
				n := []int{0, 1, 100, 4096, 20000}[trial/5%5]
				if trial%50 == 7 && level <= 3 {
					n = []int{1 << 17, 1<<20 + 3, 3 << 20}[trial/50%3] // several blocks
				}
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
				got := codec.EncodeLevel(dst, src, level)
				if want := arrow.EncodeLevel(nil, src, level); !bytes.Equal(got, want) {
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
