package readers

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"unsafe"

	"github.com/klauspost/compress/snappy"
	"github.com/parquet-go/parquet-go/format"
)

// Direct pages. The most common column of a prediction dump is a required
// number (a label, a probability, a sequence id, a log-probability) in
// PLAIN pages, uncompressed or snappy. Through parquet-go such a page is
// read into a buffer, decompressed into another, and copied into the
// column's values: for a 400 MB int64 column that is 800 MB of copies
// beside the decompression itself. A chunk whose every page is such a page
// (checkPages finds out, see pageCheck.noteDirect) is read here instead:
// each payload through the chunk's read window, its checksum verified as
// parquet-go does, and decompressed straight into the values' slice.
//
// What is accepted is what parquet-go accepts, no more: a page is direct
// only when its payload holds exactly its declared number of values
// (snappy's declared length, or the payload's), so a page parquet-go would
// refuse, or read otherwise, keeps going through parquet-go.

// snappyOwnRatio is the decompression ratio from which a direct page's
// snappy payload goes to decodeSnappy first: long runs of a value (copies
// 8 bytes back, 64 bytes a tag) decode ~2.5x faster there, but short ones
// (many short literals and copies) 1.4-2x slower than in klauspost's
// decoder (BenchmarkDecodeSnappy: ids, shortruns, labels); the two were
// even at a ratio of about 14.
const snappyOwnRatio = 16

// directPage is one data page of a direct chunk.
type directPage struct {
	body       int64  // the payload's offset in the file
	size       int    // the payload's bytes in the file
	values     int    // declared values, all present
	crc        uint32 // the header's checksum, when hasCRC
	hasCRC     bool   // (a zero CRC field is no checksum, as for parquet-go)
	compressed bool   // snappy; otherwise the payload is the values
}

// directPages turns direct pages on; tests turn it off to compare.
var directPages = true

// nativeLittleEndian: PLAIN values are little-endian, and are copied as
// they are into the values' slices.
var nativeLittleEndian = binary.NativeEndian.Uint16([]byte{1, 0}) == 1

// directWidth is the bytes per value of c when its pages may be read
// directly, and 0 when they may not: a flat required int64, float or double.
func directWidth(c *pqColumn) int {
	if !directPages || c.list || c.maxDef != 0 || !nativeLittleEndian {
		return 0
	}
	switch c.kind {
	case kInt64, kDouble:
		return 8
	case kFloat:
		return 4
	}
	return 0
}

// noteDirect records page h (checked), whose payload starts at body and
// which declares nv values, as a direct page, or marks the chunk as not
// direct. Reading the payload's first bytes costs nothing: checkPageData
// has just read them through the window.
func (pc *pageCheck) noteDirect(h *format.PageHeader, body, nv int64) error {
	if !pc.directOK {
		return nil
	}
	pc.directOK = false
	d := directPage{body: body, size: int(h.CompressedPageSize), values: int(nv), compressed: pc.codec == format.Snappy,
		crc: uint32(h.CRC), hasCRC: h.CRC != 0}
	switch {
	case h.DataPageHeader.Valid:
		if h.DataPageHeader.V.Encoding != format.Plain {
			return nil
		}
	case h.DataPageHeaderV2.Valid:
		v := &h.DataPageHeaderV2.V
		if v.Encoding != format.Plain || v.NumNulls != 0 || v.RepetitionLevelsByteLength != 0 || v.DefinitionLevelsByteLength != 0 {
			return nil
		}
		if v.IsCompressed.Valid && !v.IsCompressed.V {
			d.compressed = false
		}
	default:
		return nil // a dictionary page: the chunk is dictionary encoded
	}
	want := uint64(nv) * uint64(pc.width)
	got := uint64(d.size)
	if d.compressed {
		head, err := pc.win.bytes(body, min(d.size, binary.MaxVarintLen64), nil)
		if err != nil {
			return err
		}
		var k int
		if got, k = binary.Uvarint(head); k <= 0 {
			return nil
		}
	}
	if got != want {
		return nil
	}
	pc.direct = append(pc.direct, d)
	pc.directOK = true
	return nil
}

// fillDirect is fill for a direct chunk: it reads pages until cb holds n
// rows or the chunk ends.
func (s *colStream) fillDirect(ctx context.Context, n int) error {
	p, c, cb := s.p, s.c, s.cb
	width := directWidth(c)
	for !s.ended && cb.rows < n {
		if err := ctx.Err(); err != nil {
			return err
		}
		if s.page == len(s.direct) {
			s.ended = true
			cb.finish(c)
			break
		}
		d := s.direct[s.page]
		raw, err := s.win.bytes(d.body, d.size, &cb.check[0])
		if err != nil {
			return p.errf(s.unit, c.name, "reading page %d: %w", s.page, err)
		}
		if d.hasCRC {
			if sum := crc32.ChecksumIEEE(raw); sum != d.crc {
				return p.errf(s.unit, c.name, "page %d: crc32 checksum mismatch: want=0x%08X got=0x%08X", s.page, d.crc, sum)
			}
		}
		dst := cb.growDirect(c, d.values, width)
		if d.compressed && (len(dst) < snappyOwnRatio*len(raw) || !decodeSnappy(dst, raw)) {
			out, err := snappy.Decode(dst, raw)
			if err == nil && len(out) != len(dst) {
				err = errors.New("decompressed size differs from the declared one")
			}
			if err != nil {
				return p.errf(s.unit, c.name, "page %d: decompressing: %w", s.page, err)
			}
			if len(dst) > 0 && &out[0] != &dst[0] {
				copy(dst, out) // not reached: a block of len(dst) bytes decodes in place
			}
		} else if !d.compressed {
			copy(dst, raw)
		}
		cb.rows += d.values
		cb.slots += d.values
		s.page++
		if int64(s.done+cb.rows) > p.rgRows[s.unit] {
			return p.errf(s.unit, c.name, "column chunk holds %d rows, row group declares %d", s.done+cb.rows, p.rgRows[s.unit])
		}
	}
	return nil
}

// growDirect extends c's values by n and returns their bytes (n·width).
func (cb *colBuf) growDirect(c *pqColumn, n, width int) []byte {
	var p unsafe.Pointer
	switch c.kind {
	case kInt64:
		cb.ints = grow(cb.ints, n)
		p = unsafe.Pointer(unsafe.SliceData(cb.ints[len(cb.ints)-n:]))
	case kFloat:
		cb.f32 = grow(cb.f32, n)
		p = unsafe.Pointer(unsafe.SliceData(cb.f32[len(cb.f32)-n:]))
	case kDouble:
		cb.f64 = grow(cb.f64, n)
		p = unsafe.Pointer(unsafe.SliceData(cb.f64[len(cb.f64)-n:]))
	default:
		panic(fmt.Sprintf("readers: no direct pages for kind %d", c.kind))
	}
	return unsafe.Slice((*byte)(p), n*width)
}
