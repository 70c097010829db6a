package readers

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"io"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/klauspost/compress/snappy"
)

// snappyInputs are the shapes of PLAIN values a direct page holds, and a
// few others: runs of int64 ids (the copies 8 bytes back), 0/1 labels,
// random floats (literals), short patterns (copies 1 to 7 bytes back),
// text, zeros, and sizes around the 8-byte steps.
func snappyInputs(r *rand.Rand) map[string][]byte {
	in := map[string][]byte{}
	var ids []byte
	for id := range 300 {
		for range 1 + r.IntN(900) {
			ids = binary.LittleEndian.AppendUint64(ids, uint64(id*7919))
		}
	}
	in["ids"] = ids
	var short []byte // runs of 1 to 7, most bytes in literals
	for len(short) < 1<<19 {
		v := uint64(r.IntN(1000))
		for range 1 + r.IntN(7) {
			short = binary.LittleEndian.AppendUint64(short, v)
		}
	}
	in["shortruns"] = short
	var labels, floats []byte
	for range 50_000 {
		labels = binary.LittleEndian.AppendUint64(labels, uint64(r.IntN(2)))
		floats = binary.LittleEndian.AppendUint32(floats, math.Float32bits(-float32(r.ExpFloat64())))
	}
	in["labels"], in["floats"] = labels, floats
	for period := 1; period <= 9; period++ {
		var p []byte
		for i := range 5000 + period {
			p = append(p, byte(i%period*37))
		}
		in["period"+string(rune('0'+period))] = p
	}
	in["text"] = bytes.Repeat([]byte("the cross-entropy of a sequence, in nats per token; "), 400)
	in["zeros"] = make([]byte, 70_000)
	for n := range 40 {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(r.IntN(3))
		}
		in["small"+string(rune('A'+n))] = b
	}
	in["empty"] = nil
	return in
}

// TestDecodeSnappy: decodeSnappy decodes klauspost's snappy encodings of
// every input to the input, and so does klauspost's decoder.
func TestDecodeSnappy(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for name, want := range snappyInputs(r) {
		enc := snappy.Encode(nil, want)
		got := make([]byte, len(want))
		if !decodeSnappy(got, enc) {
			t.Errorf("%s: refused a valid block", name)
			continue
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s: decoded wrong", name)
		}
	}
}

// TestDecodeSnappyRefuses: a block of another length than dst, one cut
// short, a copy from before the start, and an S2 repeat (offset 0) are
// refused.
func TestDecodeSnappyRefuses(t *testing.T) {
	want := bytes.Repeat([]byte{1, 2, 3, 4, 5, 6, 7, 8, 9}, 100)
	enc := snappy.Encode(nil, want)
	if decodeSnappy(make([]byte, len(want)-1), enc) || decodeSnappy(make([]byte, len(want)+1), enc) {
		t.Error("accepted a block of another length than dst")
	}
	if decodeSnappy(make([]byte, len(want)), enc[:len(enc)-1]) {
		t.Error("accepted a block cut short")
	}
	// 4 bytes: varint 4, then a copy1 of 4 bytes 1 back with nothing before.
	if decodeSnappy(make([]byte, 4), []byte{4, 0x01, 0x01}) {
		t.Error("accepted a copy from before the start")
	}
	// literal "ab", then copy1 with offset 0 (S2's repeat).
	if decodeSnappy(make([]byte, 6), []byte{6, 0x04, 'a', 'b', 0x01, 0x00}) {
		t.Error("accepted an S2 repeat")
	}
	// An 8-byte literal, then literals whose 4-byte lengths are 2^32 and
	// 2^32-5 (0 and -5 in a 32-bit int), and a copy4 from 2^32-1 back.
	lit := []byte{8, 0x1c, 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'}
	for _, tail := range [][]byte{{0xfc, 0xff, 0xff, 0xff, 0xff}, {0xfc, 0xfa, 0xff, 0xff, 0xff}, {0x0f, 0xff, 0xff, 0xff, 0xff}} {
		if decodeSnappy(make([]byte, 8), append(append([]byte(nil), lit...), tail...)) {
			t.Errorf("accepted the tag % x", tail)
		}
	}
}

// FuzzDecodeSnappy: whatever decodeSnappy accepts, klauspost's decoder
// decodes to the same bytes; a valid encoding of the input is accepted.
func FuzzDecodeSnappy(f *testing.F) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, in := range snappyInputs(r) {
		if len(in) < 4096 {
			f.Add(snappy.Encode(nil, in), false)
		}
		f.Add(in[:min(len(in), 64)], true)
	}
	f.Fuzz(func(t *testing.T, b []byte, encode bool) {
		src := b
		if encode {
			src = snappy.Encode(nil, b)
		}
		n, err := snappy.DecodedLen(src)
		if err != nil || n > 1<<20 {
			// klauspost's decoder would allocate the declared length (up
			// to 4 GiB) before looking further; ours must refuse it in
			// a buffer of another length.
			if decodeSnappy(make([]byte, len(b)), src) && len(b) != n {
				t.Fatalf("accepted a block declaring %d bytes into %d", n, len(b))
			}
			return
		}
		got := make([]byte, n)
		ok := decodeSnappy(got, src)
		want, err := snappy.Decode(nil, src)
		if encode && (!ok || !bytes.Equal(got, b)) {
			t.Fatalf("a valid encoding of %d bytes: ok %v", len(b), ok)
		}
		if ok && (err != nil || !bytes.Equal(got, want)) {
			t.Fatalf("accepted what klauspost decodes otherwise (err %v)", err)
		}
	})
}

func BenchmarkDecodeSnappy(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	in := snappyInputs(r)
	for _, name := range []string{"ids", "shortruns", "labels", "floats", "text"} {
		want := in[name]
		enc := snappy.Encode(nil, want)
		dst := make([]byte, len(want))
		b.Run(name+"/ours", func(b *testing.B) {
			b.SetBytes(int64(len(want)))
			for range b.N {
				decodeSnappy(dst, enc)
			}
		})
		b.Run(name+"/klauspost", func(b *testing.B) {
			b.SetBytes(int64(len(want)))
			for range b.N {
				snappy.Decode(dst, enc)
			}
		})
	}
}

// TestSnappyPrefix: every prefix of every input's block, decoded from
// every cut of the block a few sizes apart, is the input's prefix (and
// all of it once the block is whole); a prefix longer than the block, or
// bytes that are not a block, are refused.
func TestSnappyPrefix(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for name, in := range snappyInputs(r) {
		in = in[:min(len(in), 5000)]
		src := snappy.Encode(nil, in)
		for _, want := range []int{0, 1, 4, 7, 63, 64, 65, len(in) / 2, len(in)} {
			if want > len(in) {
				continue
			}
			dst := make([]byte, want)
			for cut := 0; cut <= len(src); cut += 1 + cut/3 {
				got, ok := snappyPrefix(dst, src[:cut])
				if !ok || got > want || !bytes.Equal(dst[:got], in[:got]) {
					t.Fatalf("%s: prefix %d from %d of %d bytes: %d, ok %v", name, want, cut, len(src), got, ok)
				}
			}
			if got, ok := snappyPrefix(dst, src); !ok || got != want {
				t.Fatalf("%s: prefix %d of the whole block: %d, ok %v", name, want, got, ok)
			}
		}
		if _, ok := snappyPrefix(make([]byte, len(in)+1), src); ok {
			t.Fatalf("%s: a prefix past the block's length was taken", name)
		}
	}
	// A copy from before the start.
	if _, ok := snappyPrefix(make([]byte, 8), []byte{8, 0x02, 0x01, 0x00}); ok {
		t.Fatal("a copy from before the start was taken")
	}
}

// FuzzSnappyPrefix: whatever snappyPrefix decodes of a block klauspost
// decodes is the start of klauspost's output, from any cut of the block,
// and it never panics on other bytes.
func FuzzSnappyPrefix(f *testing.F) {
	r := rand.New(rand.NewPCG(7, 8))
	for _, in := range snappyInputs(r) {
		f.Add(snappy.Encode(nil, in[:min(len(in), 2000)]), uint16(100), uint16(50))
	}
	f.Fuzz(func(t *testing.T, src []byte, want, cut uint16) {
		dst := make([]byte, want)
		c := min(int(cut), len(src))
		got, ok := snappyPrefix(dst, src[:c])
		// klauspost's decoder allocates the declared length (up to 4 GiB)
		// before looking further: only blocks of a sane size go to it.
		if n, err := snappy.DecodedLen(src); err != nil || n > 1<<20 {
			return // anything but a panic
		}
		full, err := snappy.Decode(nil, src)
		if err != nil {
			return // not a block: anything but a panic
		}
		if int(want) > len(full) {
			if ok && got > 0 {
				t.Fatalf("a prefix of %d of a %d-byte block: %d", want, len(full), got)
			}
			return
		}
		if !ok || got > int(want) || !bytes.Equal(dst[:got], full[:got]) {
			t.Fatalf("prefix %d from %d bytes: %d, ok %v", want, c, got, ok)
		}
		if got2, ok := snappyPrefix(dst, src); !ok || got2 != int(want) {
			t.Fatalf("prefix %d of the whole block: %d, ok %v", want, got2, ok)
		}
	})
}

// TestDecodeSnappyAt: decodeSnappyAt reads every input's encoding from
// inside a file, through buffers from 5 bytes (an element's largest
// header) to more than the block, to the input, with the block's CRC.
func TestDecodeSnappyAt(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	in := snappyInputs(r)
	long := make([]byte, 300_000) // literals longer than any buffer
	for i := range long {
		long[i] = byte(r.Uint32())
	}
	in["long literals"] = long
	for name, want := range in {
		enc := snappy.Encode(nil, want)
		file := append(append([]byte("junk before"), enc...), "junk after"...)
		for _, bs := range []int{5, 6, 13, 64, 4096, 1 << 20} {
			got := make([]byte, len(want))
			crc, ok, err := decodeSnappyAt(got, bytes.NewReader(file), 11, int64(len(enc)), make([]byte, bs), 7)
			if err != nil || !ok {
				t.Errorf("%s, buffer %d: ok %v, err %v", name, bs, ok, err)
				continue
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s, buffer %d: decoded wrong", name, bs)
			}
			if want := crc32.Update(7, crc32.IEEETable, enc); crc != want {
				t.Errorf("%s, buffer %d: crc %08x, want %08x", name, bs, crc, want)
			}
		}
	}
}

// TestDecodeSnappyAtRefuses: what decodeSnappy refuses, and a block
// followed by more bytes than it, or cut by the file's end.
func TestDecodeSnappyAtRefuses(t *testing.T) {
	want := bytes.Repeat([]byte{1, 2, 3, 4, 5, 6, 7, 8, 9}, 100)
	enc := snappy.Encode(nil, want)
	at := func(dst, src []byte, size int) (bool, error) {
		_, ok, err := decodeSnappyAt(dst, bytes.NewReader(src), 0, int64(size), make([]byte, 8), 0)
		return ok, err
	}
	for _, tc := range []struct {
		name string
		dst  int
		src  []byte
	}{
		{"shorter dst", len(want) - 1, enc},
		{"longer dst", len(want) + 1, enc},
		{"cut short", len(want), enc[:len(enc)-1]},
		{"trailing byte", len(want), append(slices.Clone(enc), 0)},
		{"copy from before the start", 4, []byte{4, 0x01, 0x01}},
		{"S2 repeat", 6, []byte{6, 0x04, 'a', 'b', 0x01, 0x00}},
		{"literal of 2^32", 8, []byte{8, 0x1c, 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 0xfc, 0xff, 0xff, 0xff, 0xff}},
		{"copy from 2^32-1 back", 8, []byte{8, 0x1c, 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 0x0f, 0xff, 0xff, 0xff, 0xff}},
		{"empty", 0, nil},
		{"copy past the end", 6, []byte{6, 0x08, 'a', 'b', 'c', 0x11, 0x03}},            // 3 literal bytes, then 8 copied
		{"literal past the end", 2, []byte{2, 0x08, 'a', 'b', 'c'}},                     // 3 literal bytes into 2
		{"literal past the block", 100, append([]byte{100, 0xf0, 99}, "only ten b"...)}, // 100 declared, 10 there
	} {
		if ok, err := at(make([]byte, tc.dst), tc.src, len(tc.src)); ok || err != nil {
			t.Errorf("%s: ok %v, err %v; want refused", tc.name, ok, err)
		}
	}
	// A block that goes on past the file's end: a read error.
	if ok, err := at(make([]byte, len(want)), enc[:len(enc)-3], len(enc)); ok || !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("past the end of the file: ok %v, err %v; want io.ErrUnexpectedEOF", ok, err)
	}
}

// FuzzDecodeSnappyAt: decodeSnappyAt, through any buffer, accepts what
// decodeSnappy accepts and decodes it to the same bytes.
func FuzzDecodeSnappyAt(f *testing.F) {
	r := rand.New(rand.NewPCG(9, 10))
	for _, in := range snappyInputs(r) {
		if len(in) < 4096 {
			f.Add(snappy.Encode(nil, in), uint8(3))
		}
	}
	f.Fuzz(func(t *testing.T, src []byte, bs uint8) {
		n, k := binary.Uvarint(src)
		if k <= 0 || n > 1<<20 {
			n = uint64(len(src))
		}
		want := make([]byte, n)
		wantOK := decodeSnappy(want, src)
		got := make([]byte, n)
		crc, ok, err := decodeSnappyAt(got, bytes.NewReader(src), 0, int64(len(src)), make([]byte, 5+int(bs)), 0)
		if err != nil {
			t.Fatal(err)
		}
		if ok != wantOK || ok && !bytes.Equal(got, want) {
			t.Fatalf("ok %v, decodeSnappy %v (or other bytes)", ok, wantOK)
		}
		if ok && crc != crc32.ChecksumIEEE(src) {
			t.Fatalf("crc %08x, want %08x", crc, crc32.ChecksumIEEE(src))
		}
	})
}
