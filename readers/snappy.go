package readers

import (
	"encoding/binary"
	"hash/crc32"
	"io"
)

// decodeSnappy decodes the snappy block src into dst, whose length must be
// the block's declared length, and reports whether it could. It is the
// snappy format's block decoder (no S2 extensions), for the direct pages'
// snappy payloads: their values repeat (a sequence id, a label), and a
// repeated int64 is a chain of overlapping copies 8 bytes back, which
// klauspost's decoder moves 8 bytes at a time, each load waiting for the
// store before it (~13 ns a 64-byte copy). Here a copy from 8 or more
// bytes back moves 8 bytes at a time with loads that never wait on the
// copy's own stores (they read at least 8 bytes behind them), and one from
// fewer bytes back repeats its pattern from a register.
//
// It refuses (false) anything that is not a valid snappy block of exactly
// len(dst) bytes, having possibly written to dst; the caller then decodes
// with klauspost's decoder, which decides what the block is (it accepts S2
// blocks as well), so a page reads the same either way.
func decodeSnappy(dst, src []byte) bool {
	n, k := binary.Uvarint(src)
	if k <= 0 || n != uint64(len(dst)) {
		return false
	}
	s, d := k, 0
	for s < len(src) {
		tag := src[s]
		var length, offset int
		switch tag & 3 {
		case 0: // literal
			x := uint64(tag >> 2)
			s++
			if x >= 60 {
				b := int(x) - 59 // 1 to 4 bytes of length-1
				if b > len(src)-s {
					return false
				}
				x = 0
				for i := range b {
					x |= uint64(src[s+i]) << (8 * i)
				}
				s += b
			}
			// In uint64: length-1 may be up to 2^32-1, past a 32-bit int.
			if x+1 > uint64(len(dst)-d) || x+1 > uint64(len(src)-s) {
				return false
			}
			length = int(x) + 1
			if length <= 16 && len(dst)-d >= 16 && len(src)-s >= 16 {
				// A short literal as two 8-byte moves (up to 15 bytes past
				// it, rewritten later), not a call to memmove.
				binary.LittleEndian.PutUint64(dst[d:], binary.LittleEndian.Uint64(src[s:]))
				binary.LittleEndian.PutUint64(dst[d+8:], binary.LittleEndian.Uint64(src[s+8:]))
			} else {
				copy(dst[d:d+length], src[s:s+length])
			}
			d += length
			s += length
			continue
		case 1:
			if len(src)-s < 2 {
				return false
			}
			length = 4 + int(tag>>2&7)
			offset = int(tag&0xe0)<<3 | int(src[s+1])
			s += 2
		case 2:
			if len(src)-s < 3 {
				return false
			}
			length = 1 + int(tag>>2)
			offset = int(binary.LittleEndian.Uint16(src[s+1:]))
			s += 3
		default:
			if len(src)-s < 5 {
				return false
			}
			length = 1 + int(tag>>2)
			if o := binary.LittleEndian.Uint32(src[s+1:]); uint64(o) <= uint64(d) {
				offset = int(o)
			} // else offset stays 0: refused below (also where int is 32 bits)
			s += 5
		}
		if offset <= 0 || offset > d || length > len(dst)-d {
			return false
		}
		copyBack(dst, d, offset, length)
		d += length
	}
	return d == len(dst)
}

// copyBack writes dst[d:d+length] as a copy of the bytes offset back,
// repeating them when offset < length (0 < offset <= d, d+length <=
// len(dst)). Steps of 8 bytes may write up to 7 bytes past the copy:
// bytes that a later tag writes (or this one's byte loop, at the end of
// dst).
func copyBack(dst []byte, d, offset, length int) {
	end := d + length
	switch {
	case offset <= 8 && offset < length:
		// 8 bytes of the repeating pattern in a register, stored at steps
		// of the largest multiple of offset up to 8: no load waits on a
		// store (a copy 8 bytes back, an id repeated, loads what the step
		// before stored, ~5 cycles a step).
		var v uint64
		switch offset {
		case 1:
			v = uint64(dst[d-1]) * 0x0101010101010101
		case 2:
			v = uint64(binary.LittleEndian.Uint16(dst[d-2:])) * 0x0001000100010001
		case 4:
			v = uint64(binary.LittleEndian.Uint32(dst[d-4:])) * 0x0000000100000001
		case 8:
			v = binary.LittleEndian.Uint64(dst[d-8:])
		default:
			for i, k := 0, 0; i < 8; i++ {
				v |= uint64(dst[d-offset+k]) << (8 * i)
				if k++; k == offset {
					k = 0
				}
			}
		}
		step := patternStep[offset]
		if step == 8 {
			for ; d+32 <= end && d+32 <= len(dst); d += 32 {
				b := dst[d : d+32 : d+32]
				binary.LittleEndian.PutUint64(b[0:], v)
				binary.LittleEndian.PutUint64(b[8:], v)
				binary.LittleEndian.PutUint64(b[16:], v)
				binary.LittleEndian.PutUint64(b[24:], v)
			}
		}
		for ; d < end && d+8 <= len(dst); d += step {
			binary.LittleEndian.PutUint64(dst[d:], v)
		}
	case offset >= 8:
		// Each load reads at least 8 bytes behind the store of its step:
		// bytes already final, also when the copy overlaps its source.
		for ; d < end && d+8 <= len(dst); d += 8 {
			binary.LittleEndian.PutUint64(dst[d:], binary.LittleEndian.Uint64(dst[d-offset:]))
		}
	}
	for ; d < end; d++ {
		dst[d] = dst[d-offset]
	}
}

// patternStep is, for an offset from 1 to 8, the largest multiple of it up
// to 8: how far a register of the repeating pattern is stored each step.
var patternStep = [9]int{0, 8, 8, 6, 8, 5, 6, 7, 8}

// snappyPrefix decodes the first len(dst) bytes of the snappy block that
// src starts, where src may be cut short (the start of a page read so
// far). It returns how many bytes it decoded: len(dst), or fewer where src
// ended first. ok is false where what src holds is not the start of a
// snappy block of at least len(dst) bytes. It checks nothing past the
// prefix: the whole block is decoded (and checked) when the page is read.
func snappyPrefix(dst, src []byte) (got int, ok bool) {
	n, k := binary.Uvarint(src)
	if k == 0 {
		return 0, true // the header is cut
	}
	if k < 0 || n < uint64(len(dst)) {
		return 0, false
	}
	s, d := k, 0
	for d < len(dst) && s < len(src) {
		e, whole := snappyElem(src[s:])
		if !whole {
			return d, true
		}
		if e.length > n-uint64(d) || !e.literal && (e.offset == 0 || e.offset > uint64(d)) {
			return d, false
		}
		m := int(min(e.length, uint64(len(dst)-d)))
		if e.literal {
			m = min(m, len(src)-s-e.hdr)
			copy(dst[d:], src[s+e.hdr:s+e.hdr+m])
			d += m
			if uint64(m) < e.length { // dst is full, or src ended
				return d, true
			}
			s += e.hdr + m
			continue
		}
		offset := int(e.offset)
		for i := range m {
			dst[d+i] = dst[d+i-offset]
		}
		d += m
		s += e.hdr
	}
	return d, true
}

// snappyTag is one element of a snappy block: a literal of length bytes
// after its hdr header bytes, or a copy of length bytes from offset back
// (hdr bytes in all). Lengths and offsets are up to 2^32, past a 32-bit int.
type snappyTag struct {
	literal        bool
	hdr            int
	length, offset uint64
}

// snappyElem parses the element src starts with; whole is false when src
// ends inside its header.
func snappyElem(src []byte) (e snappyTag, whole bool) {
	if len(src) == 0 {
		return e, false
	}
	tag := src[0]
	switch tag & 3 {
	case 0:
		e.literal, e.hdr, e.length = true, 1, uint64(tag>>2)
		if e.length >= 60 {
			b := int(e.length) - 59 // 1 to 4 bytes of length-1
			if b >= len(src) {
				return e, false
			}
			e.length = 0
			for i := range b {
				e.length |= uint64(src[1+i]) << (8 * i)
			}
			e.hdr += b
		}
		e.length++
	case 1:
		if len(src) < 2 {
			return e, false
		}
		e.hdr, e.length = 2, 4+uint64(tag>>2&7)
		e.offset = uint64(tag&0xe0)<<3 | uint64(src[1])
	case 2:
		if len(src) < 3 {
			return e, false
		}
		e.hdr, e.length = 3, 1+uint64(tag>>2)
		e.offset = uint64(binary.LittleEndian.Uint16(src[1:]))
	default:
		if len(src) < 5 {
			return e, false
		}
		e.hdr, e.length = 5, 1+uint64(tag>>2)
		e.offset = uint64(binary.LittleEndian.Uint32(src[1:]))
	}
	return e, true
}

// decodeSnappyAt decodes the snappy block of size bytes at off in r into
// dst, as decodeSnappy does, without holding the block: it is read through
// buf, a piece at a time, and a literal longer than what buf holds is
// read straight into dst. A page of 50 MB (DuckDB writes a list column's
// row group as one page) then costs its values, not its bytes twice.
// crc is the CRC-32 (IEEE) of the bytes read, continuing seed. ok is false
// where the block is not a snappy block (no S2 extensions) of exactly
// len(dst) bytes that ends at off+size, having possibly written to dst;
// err is a read error.
func decodeSnappyAt(dst []byte, r io.ReaderAt, off, size int64, buf []byte, seed uint32) (crc uint32, ok bool, err error) {
	crc = seed
	end := off + size
	s, e := 0, 0 // buf[s:e] holds the file up to off
	read := func(p []byte) error {
		got, err := r.ReadAt(p, off)
		crc = crc32.Update(crc, crc32.IEEETable, p[:got])
		off += int64(got)
		switch {
		case got == len(p):
			return nil // also io.EOF with the last bytes
		case err == nil || err == io.EOF:
			return io.ErrUnexpectedEOF
		}
		return err
	}
	fill := func() error {
		e = copy(buf, buf[s:e])
		s = 0
		k := int(min(int64(len(buf)-e), end-off))
		err := read(buf[e : e+k])
		e += k
		return err
	}
	if err := fill(); err != nil {
		return crc, false, err
	}
	n, k := binary.Uvarint(buf[s:e])
	if k <= 0 || n != uint64(len(dst)) {
		return crc, false, nil
	}
	s += k
	for d := 0; d < len(dst); {
		if e-s < 5 && off < end {
			if err := fill(); err != nil {
				return crc, false, err
			}
		}
		t, whole := snappyElem(buf[s:e])
		if !whole || t.length > uint64(len(dst)-d) {
			return crc, false, nil
		}
		length := int(t.length)
		if !t.literal {
			if t.offset == 0 || t.offset > uint64(d) {
				return crc, false, nil
			}
			copyBack(dst, d, int(t.offset), length)
			d += length
			s += t.hdr
			continue
		}
		s += t.hdr
		m := copy(dst[d:d+length], buf[s:e])
		s += m
		d += m
		if rest := length - m; rest > 0 {
			if int64(rest) > end-off {
				return crc, false, nil
			}
			if err := read(dst[d : d+rest]); err != nil {
				return crc, false, err
			}
			d += rest
		}
	}
	return crc, s == e && off == end, nil
}
