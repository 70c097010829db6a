package readers

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math/bits"
	"sync/atomic"
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
	rl, dl     int    // a v2 list page's repetition and definition level bytes, before its values
	prefix     int    // a v1 page with levels: their bytes (with their lengths) at the start of the decompressed payload
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
// directly, and 0 when they may not: an int64, float or double column, or
// a one-level list of them. Which pages are direct is noteDirect's
// choice: of a flat required column, PLAIN pages; of a nullable column or
// a list, PLAIN pages whose levels say no value is null (v2 lists, and v1
// pages of either).
func directWidth(c *pqColumn) int {
	if !directPages || !nativeLittleEndian {
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
//
// v1page is a v1 page's payload as checkPageData decompressed it (nil if
// it did not check its levels).
func (pc *pageCheck) noteDirect(h *format.PageHeader, body, nv int64, v1page []byte) error {
	if !pc.directOK {
		return nil
	}
	pc.directOK = false
	d := directPage{body: body, size: int(h.CompressedPageSize), values: int(nv), compressed: pc.codec == format.Snappy,
		crc: uint32(h.CRC), hasCRC: h.CRC != 0}
	switch {
	case h.DataPageHeader.Valid:
		v := &h.DataPageHeader.V
		if v.Encoding != format.Plain {
			return nil
		}
		if pc.c.list || pc.c.maxDef > 0 {
			// The levels are compressed with the values: they are at the
			// start of what checkPageData decompressed (the levels alone,
			// or the whole page when it is not snappy).
			prefix, ok := pc.v1Levels(v, v1page, nv)
			if !ok || prefix == 0 {
				return nil
			}
			d.prefix = prefix
		}
	case h.DataPageHeaderV2.Valid:
		v := &h.DataPageHeaderV2.V
		if v.Encoding != format.Plain || v.NumNulls != 0 {
			return nil
		}
		d.rl, d.dl = int(v.RepetitionLevelsByteLength), int(v.DefinitionLevelsByteLength)
		if pc.c.list {
			if ok, err := pc.directLevels(body, d.rl, d.dl, d.size, nv, v.NumRows); !ok || err != nil {
				return err
			}
		} else if d.rl != 0 || d.dl != 0 || pc.c.maxDef > 0 {
			return nil
		}
		if v.IsCompressed.Valid && !v.IsCompressed.V {
			d.compressed = false
		}
	default:
		return nil // a dictionary page: the chunk is dictionary encoded
	}
	want := uint64(nv)*uint64(pc.width) + uint64(d.prefix)
	levels := d.rl + d.dl
	got := uint64(d.size - levels)
	if d.compressed {
		head, err := pc.win.bytes(body+int64(levels), min(d.size-levels, binary.MaxVarintLen64), nil)
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

// directLevels reports whether a v2 list page's levels (rl bytes of
// repetition levels at body, then dl of definition levels) are what a
// direct page needs: nv definition levels all the largest (every list
// present, every element present: parquet-go reads the levels, not the
// header's null count), and nv repetition levels of 0 or 1, the first 0,
// as many 0s as the header's rows, both streams whole; size is the page's
// bytes.
func (pc *pageCheck) directLevels(body int64, rl, dl, size int, nv int64, numRows int32) (bool, error) {
	if rl < 0 || dl < 0 || rl+dl > size {
		return false, nil
	}
	b, err := pc.win.bytes(body, rl+dl, nil)
	if err != nil {
		return false, err
	}
	if !allLevels(b[rl:], pc.c.maxDef, int(nv)) {
		return false, nil
	}
	// A v2 page starts a row (parquet-go refuses one that does not) and
	// declares its rows.
	starts, ok := listStarts(b[:rl], int(nv), pc.starts[:0], 0)
	pc.starts = starts
	return ok && len(starts) == int(numRows) && startsRow(starts, nv), nil
}

// startsRow reports whether a page's n levels, whose row starts are
// starts (listStarts), begin with a row's: a page of none does.
func startsRow(starts []int, n int64) bool {
	return n == 0 || len(starts) > 0 && starts[0] == 0
}

// v1Levels reports whether the levels at the start of a v1 page's payload
// page (decompressed) are what a direct page needs, and their bytes: RLE
// repetition levels (a list) of 0 and 1, the chunk's first 0, then RLE
// definition levels, nv of them all the largest (no null row, list or
// element), each stream whole.
func (pc *pageCheck) v1Levels(v *format.DataPageHeader, page []byte, nv int64) (prefix int, ok bool) {
	if page == nil || v.DefinitionLevelEncoding != format.RLE || (pc.c.list && v.RepetitionLevelEncoding != format.RLE) {
		return 0, false
	}
	reps, defs, prefix, ok := v1Streams(page, pc.c.list)
	if !ok || !allLevels(defs, pc.c.maxDef, int(nv)) {
		return 0, false
	}
	if pc.c.list {
		// A v1 page may go on with the previous page's last list; the
		// chunk's first may not.
		starts, ok := listStarts(reps, int(nv), pc.starts[:0], 0)
		pc.starts = starts
		if !ok || (len(pc.direct) == 0 && !startsRow(starts, nv)) {
			return 0, false
		}
	}
	return prefix, true
}

// v1Streams splits the levels at the start of a v1 page's decompressed
// payload page: the repetition levels of a list, then the definition
// levels, each a 4-byte length and the stream; prefix is their bytes.
func v1Streams(page []byte, list bool) (reps, defs []byte, prefix int, ok bool) {
	rest := page
	if list {
		if reps, rest, ok = levelStream(rest); !ok {
			return nil, nil, 0, false
		}
	}
	if defs, rest, ok = levelStream(rest); !ok {
		return nil, nil, 0, false
	}
	return reps, defs, len(page) - len(rest), true
}

// allLevels reports whether the RLE/bit-packed stream b holds n levels,
// all max, in whole runs.
func allLevels(b []byte, max, n int) bool { return maxLevels(b, max, n) == int64(n) }

// maxLevels is how many of the first n levels of the RLE/bit-packed
// stream b are max, or -1 if b does not hold n levels in whole runs.
func maxLevels(b []byte, max, n int) int64 {
	m, k := byte(max), int64(0)
	if !walkLevels(b, bitsLen(max), n, func(level byte, count int) bool {
		if level == m {
			k += int64(count)
		}
		return true
	}) {
		return -1
	}
	return k
}

// listStarts appends base+k to starts for each k < n where level k of an
// RLE/bit-packed hybrid stream of 1-bit repetition levels is 0: where the
// page's rows start among its elements. It reports whether the stream held
// n levels in whole runs, none above 1, and the runs after them are whole
// too: as walkLevels(b, 1, n, f) does for an f that refuses levels above 1,
// but a bit-packed run's levels are taken 64 at a time and only their 0s
// cost anything (a 100-wide list is a 0 and 99 1s).
func listStarts(b []byte, n int, starts []int, base int) ([]int, bool) {
	for k := 0; k < n; {
		h, w := uint64(0), 1
		if len(b) > 0 && b[0] < 0x80 { // a header of one byte: most
			h = uint64(b[0])
		} else if h, w = binary.Uvarint(b); w <= 0 {
			return starts, false
		}
		b = b[w:]
		if h&1 == 0 { // a run of one level, in 1 byte
			count := h >> 1
			if len(b) < 1 || count == 0 || b[0] > 1 {
				return starts, false
			}
			c := int(min(count, uint64(n-k)))
			if b[0] == 0 {
				for j := range c {
					starts = append(starts, base+k+j)
				}
			}
			b, k = b[1:], k+c
			continue
		}
		groups := h >> 1 // of 8 levels, in 1 byte each
		if groups == 0 || groups > uint64(len(b)) {
			return starts, false
		}
		m := int(min(8*groups, uint64(n-k))) // the levels wanted from this run (8·groups as an int could wrap on 32 bits)
		for off := 0; m > 0; off += 8 {
			// The next (up to) 64 levels, a bit each, read 8 bytes at a
			// time where the stream has them (bytes past the levels
			// wanted are masked off).
			var x uint64
			if off+8 <= len(b) {
				x = binary.LittleEndian.Uint64(b[off:])
			} else {
				for i, c := range b[off:] {
					x |= uint64(c) << (8 * i)
				}
			}
			l := min(64, m)
			zeros := ^x
			if l < 64 {
				zeros &= 1<<l - 1
			}
			for ; zeros != 0; zeros &= zeros - 1 {
				starts = append(starts, base+k+bits.TrailingZeros64(zeros))
			}
			k, m = k+l, m-l
		}
		b = b[groups:]
	}
	return starts, wholeRuns(b, 1)
}

// walkLevels walks the first n levels of an RLE/bit-packed hybrid stream
// of bitWidth-bit levels, calling f for each run of one level (adjacent
// runs and bit-packed levels of one level merged: a list's repetition
// levels are a run of 0s and a run of 1s a row, in RLE runs and bit-packed
// groups alike) until it returns false. It reports whether the stream held
// n levels in whole runs, f took them all, and the runs after them are
// whole too (parquet-go decodes the whole stream, and fails on a broken
// run after the levels it needs).
func walkLevels(b []byte, bitWidth, n int, f func(level byte, count int) bool) bool {
	if bitWidth < 1 || bitWidth > 8 {
		return false
	}
	mask := uint64(1)<<bitWidth - 1
	m := runMerger{f: f}
	for n > 0 {
		h, k := binary.Uvarint(b)
		if k <= 0 {
			return false
		}
		b = b[k:]
		if h&1 == 0 { // a run of one level, in (bitWidth+7)/8 = 1 byte
			count := h >> 1
			if len(b) < 1 || count == 0 || uint64(b[0]) > mask {
				return false
			}
			c := int(min(count, uint64(n)))
			if !m.add(b[0], c) {
				return false
			}
			b, n = b[1:], n-c
			continue
		}
		groups := h >> 1 // of 8 levels, in bitWidth bytes each
		if groups == 0 || groups > uint64(len(b)/bitWidth) {
			return false
		}
		for g := 0; g < int(groups) && n > 0; g++ {
			var x uint64
			for i, c := range b[g*bitWidth : (g+1)*bitWidth] {
				x |= uint64(c) << (8 * i)
			}
			if bitWidth == 1 { // the group's runs of equal bits, not its bits
				for left := min(8, n); left > 0; {
					level, r := byte(x&1), bits.TrailingZeros64(x)
					if level == 1 {
						r = bits.TrailingZeros64(^x)
					}
					r = min(r, left)
					if !m.add(level, r) {
						return false
					}
					x >>= r
					left -= r
					n -= r
				}
				continue
			}
			for j := 0; j < 8 && n > 0; j++ {
				if !m.add(byte(x>>(j*bitWidth)&mask), 1) {
					return false
				}
				n--
			}
		}
		b = b[int(groups)*bitWidth:]
	}
	return m.flush() && wholeRuns(b, bitWidth)
}

// wholeRuns reports whether b is whole runs of an RLE/bit-packed hybrid
// stream of bitWidth-bit levels (each header complete, each run's bytes
// there, no run of no levels).
func wholeRuns(b []byte, bitWidth int) bool {
	for len(b) > 0 {
		h, k := binary.Uvarint(b)
		if k <= 0 || h>>1 == 0 {
			return false
		}
		b = b[k:]
		need := uint64(1) // an RLE run's level, in (bitWidth+7)/8 = 1 byte
		if h&1 == 1 {
			need = (h >> 1) * uint64(bitWidth)
		}
		if need > uint64(len(b)) {
			return false
		}
		b = b[need:]
	}
	return true
}

// runMerger merges adjacent runs of one level before handing them to f.
type runMerger struct {
	level byte
	count int
	f     func(level byte, count int) bool
}

func (m *runMerger) add(level byte, count int) bool {
	if m.count > 0 {
		if level == m.level {
			m.count += count
			return true
		}
		if !m.f(m.level, m.count) {
			return false
		}
	}
	m.level, m.count = level, count
	return true
}

func (m *runMerger) flush() bool { return m.count == 0 || m.f(m.level, m.count) }

// addDirectLevels adds a direct list page's rows and elements from its n
// repetition levels (walked whole by directLevels): as addListPage does
// for levels whose definition levels are all the largest.
func (cb *colBuf) addDirectLevels(reps []byte, n int) error {
	if n == 0 { // a page of no levels (directLevels takes it): no rows
		return nil
	}
	from := len(cb.offs)
	offs, ok := listStarts(reps, n, cb.offs, cb.slots)
	cb.offs = offs
	rows := len(offs) - from
	switch {
	case !ok:
		return fmt.Errorf("page does not hold %d whole repetition levels", n)
	case cb.rows == 0 && (rows == 0 || offs[from] != cb.slots):
		return errors.New("column chunk starts inside a list (first repetition level is not 0)")
	}
	for range rows {
		cb.valid = append(cb.valid, true)
	}
	cb.rows += rows
	cb.slots += n
	return nil
}

// fillDirect is fill for a direct chunk: it reads pages until cb holds n
// rows or the chunk ends.
func (s *colStream) fillDirect(ctx context.Context, n int) error {
	p, c, cb := s.p, s.c, s.cb
	width := directWidth(c)
	for !s.ended && (cb.rows < n || c.list && cb.rows == n) {
		if err := ctx.Err(); err != nil {
			return err
		}
		if s.page == len(s.direct) {
			s.ended = true
			cb.finish(c)
			break
		}
		d := s.direct[s.page]
		var err error
		if d.compressed && d.rl+d.dl == 0 && d.size > streamPageBytes {
			err = cb.fill(c, d, width, nil, func(dst []byte) error { return s.streamPage(dst, d) })
		} else {
			var raw []byte
			if raw, err = s.win.bytes(d.body, d.size, &cb.check[0]); err != nil {
				return p.errf(s.unit, c.name, "reading page %d: %w", s.page, err)
			}
			if err := checkCRC(d, raw); err != nil {
				return p.errf(s.unit, c.name, "page %d: %w", s.page, err)
			}
			err = cb.fill(c, d, width, raw[:d.rl], func(dst []byte) error {
				return decompressDirect(dst, raw[d.rl+d.dl:], d.compressed)
			})
		}
		if err != nil {
			return p.errf(s.unit, c.name, "page %d: %w", s.page, err)
		}
		s.page++
		if s.overDeclared() {
			return s.wrongCount()
		}
	}
	return nil
}

// streamPageBytes is the compressed size from which a direct page is
// decompressed as it is read (decodeSnappyAt), not read whole first.
const streamPageBytes = fileWindowBytes / 2

// streamPage decompresses the snappy payload of page d (no levels before
// it) into dst while reading it; a payload it cannot decode (an S2 block)
// is read whole and given to decompressDirect.
func (s *colStream) streamPage(dst []byte, d directPage) error {
	cb := s.cb
	cb.stream = grow(cb.stream[:0], streamBufBytes)
	streamedPages.Add(1)
	crc, ok, err := decodeSnappyAt(dst, s.win.f, d.body, int64(d.size), cb.stream, 0)
	if err != nil {
		return fmt.Errorf("reading: %w", err)
	}
	if ok {
		if d.hasCRC && crc != d.crc {
			return crcMismatch(d, crc)
		}
		return nil
	}
	raw, err := s.win.bytes(d.body, d.size, &cb.check[0])
	if err != nil {
		return fmt.Errorf("reading: %w", err)
	}
	if err := checkCRC(d, raw); err != nil {
		return err
	}
	return decompressDirect(dst, raw, true)
}

// streamBufBytes is streamPage's read buffer.
const streamBufBytes = 256 << 10

// streamedPages counts streamPage's pages, for tests.
var streamedPages atomic.Int64

// checkCRC checks payload raw against page d's checksum, when it has one.
func checkCRC(d directPage, raw []byte) error {
	if !d.hasCRC {
		return nil
	}
	if sum := crc32.ChecksumIEEE(raw); sum != d.crc {
		return crcMismatch(d, sum)
	}
	return nil
}

func crcMismatch(d directPage, sum uint32) error {
	return fmt.Errorf("crc32 checksum mismatch: want=0x%08X got=0x%08X", d.crc, sum)
}

// fill adds direct page d: fillV1's when it has levels in its payload,
// else fillPage's. reps is a v2 list page's repetition levels; payload
// fills its argument with the page's decompressed payload (after the
// levels of a v2 page, with them for a v1 page).
func (cb *colBuf) fill(c *pqColumn, d directPage, width int, reps []byte, payload func([]byte) error) error {
	if d.prefix > 0 {
		return cb.fillV1(c, d, width, payload)
	}
	return cb.fillPage(c, d, width, reps, payload)
}

// fillPage adds a direct page without levels in its payload (a flat
// required column's, or a v2 list page's, whose levels come first,
// uncompressed): the rows, then the values decompressed into place.
func (cb *colBuf) fillPage(c *pqColumn, d directPage, width int, reps []byte, payload func([]byte) error) error {
	if err := cb.addDirectRows(c, reps, d.values); err != nil {
		return err
	}
	return payload(cb.growDirect(c, d.values, width))
}

// addDirectRows adds a direct page's n values as rows: a list's from its
// repetition levels reps, a flat column's one a value.
func (cb *colBuf) addDirectRows(c *pqColumn, reps []byte, n int) error {
	if c.list {
		return cb.addDirectLevels(reps, n)
	}
	cb.rows += n
	cb.slots += n
	return nil
}

// decompressDirect fills dst with a direct page's payload raw: snappy
// (exactly len(dst) bytes) when compressed, else a copy.
func decompressDirect(dst, raw []byte, compressed bool) error {
	if compressed && (len(dst) < snappyOwnRatio*len(raw) || !decodeSnappy(dst, raw)) {
		out, err := snappy.Decode(dst, raw)
		if err == nil && len(out) != len(dst) {
			err = errors.New("decompressed size differs from the declared one")
		}
		if err != nil {
			return fmt.Errorf("decompressing: %w", err)
		}
		if len(dst) > 0 && &out[0] != &dst[0] {
			copy(dst, out) // not reached: a block of len(dst) bytes decodes in place
		}
	} else if !compressed {
		if len(raw) != len(dst) {
			return fmt.Errorf("payload of %d bytes, %d expected", len(raw), len(dst))
		}
		copy(dst, raw)
	}
	return nil
}

// fillV1 adds a direct v1 page with levels (d.prefix > 0): its payload
// is decompressed into the column's values, grown by the values and
// as many more as the levels take, which come first; the levels give the
// rows (and are checked again: the page was read anew), then the values
// move down over them and the extra slots go.
func (cb *colBuf) fillV1(c *pqColumn, d directPage, width int, payload func([]byte) error) error {
	extra := (d.prefix + width - 1) / width
	buf := cb.growDirect(c, d.values+extra, width)
	page := buf[:d.prefix+d.values*width]
	err := payload(page)
	if err == nil {
		reps, defs, prefix, ok := v1Streams(page, c.list)
		if ok && prefix == d.prefix && allLevels(defs, c.maxDef, d.values) {
			err = cb.addDirectRows(c, reps, d.values)
		} else {
			err = errors.New("levels differ from when the page was checked (file changed while reading?)")
		}
	}
	copy(buf, page[d.prefix:])
	cb.trimDirect(c, extra)
	return err
}

// trimDirect drops the last n of c's values (growDirect's extra).
func (cb *colBuf) trimDirect(c *pqColumn, n int) {
	switch c.kind {
	case kInt64:
		cb.ints = cb.ints[:len(cb.ints)-n]
	case kFloat:
		cb.f32 = cb.f32[:len(cb.f32)-n]
	case kDouble:
		cb.f64 = cb.f64[:len(cb.f64)-n]
	}
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
