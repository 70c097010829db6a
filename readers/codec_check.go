package readers

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/andybalholm/brotli"
	"github.com/parquet-go/parquet-go/format"
	"github.com/pierrec/lz4/v4"
)

// checkCompressed checks a compressed page payload before parquet-go
// decompresses it: its decoders trust the sizes a payload declares (snappy's
// length prefix, a zstd frame's content size), grow their output without a
// bound (gzip, brotli), or retry forever on corrupt input (LZ4_RAW). limit
// is the page's declared uncompressed size, already checked against the
// ratio limits. It returns the payload's decompressed length where it
// learns it (-1 where not: zstd frames without a content size).
func checkCompressed(codec format.CompressionCodec, payload []byte, limit int64) (int64, error) {
	switch codec {
	case format.Snappy:
		n, k := binary.Uvarint(payload)
		if k <= 0 || n > uint64(limit) {
			return -1, fmt.Errorf("snappy block declares %d bytes, page %d", n, limit)
		}
		return int64(n), nil
	case format.Zstd:
		return checkZstd(payload, limit)
	case format.Lz4Raw:
		if !lz4Patched {
			return -1, errors.New("LZ4_RAW pages are not read with this parquet-go (its decoder misreads them: readers/lz4.go)")
		}
		n, err := lz4.UncompressBlock(payload, make([]byte, limit))
		if err != nil {
			return -1, fmt.Errorf("corrupt LZ4 block: %w", err)
		}
		return int64(n), nil
	case format.Gzip:
		r, err := gzip.NewReader(bytes.NewReader(payload))
		if err != nil {
			return -1, fmt.Errorf("corrupt gzip stream: %w", err)
		}
		return checkStream(r, limit)
	case format.Brotli:
		return checkStream(brotli.NewReader(bytes.NewReader(payload)), limit)
	}
	return -1, nil
}

// checkStream reads a decompressing stream to its end and returns its
// length, refusing more than limit bytes.
func checkStream(r io.Reader, limit int64) (int64, error) {
	n, err := io.Copy(io.Discard, io.LimitReader(r, limit+1))
	if err != nil {
		return -1, fmt.Errorf("corrupt compressed page: %w", err)
	}
	if n > limit {
		return -1, fmt.Errorf("page decompresses to more than its declared %d bytes", limit)
	}
	return n, nil
}

// checkZstd walks the frames and block headers of a zstd payload and bounds
// what it can decompress to. size is what it decompresses to when every
// frame declares its content size (klauspost's decoder, parquet-go's,
// refuses a frame of another size), else -1.
func checkZstd(b []byte, limit int64) (size int64, err error) {
	const maxBlock = 128 << 10
	var bound int64
	for len(b) > 0 {
		if len(b) < 4 {
			return -1, errors.New("truncated zstd frame")
		}
		magic := binary.LittleEndian.Uint32(b)
		if magic&0xFFFFFFF0 == 0x184D2A50 { // skippable frame
			if len(b) < 8 {
				return -1, errors.New("truncated zstd frame")
			}
			n := int64(binary.LittleEndian.Uint32(b[4:]))
			if n > int64(len(b)-8) {
				return -1, errors.New("truncated zstd frame")
			}
			b = b[8+n:]
			continue
		}
		if magic != 0xFD2FB528 || len(b) < 5 {
			return -1, errors.New("not a zstd frame")
		}
		fhd := b[4]
		fcsFlag, single, checksum, dictFlag := fhd>>6, fhd>>5&1, fhd>>2&1, fhd&3
		p := 5
		if single == 0 {
			p++ // window descriptor
		}
		p += [4]int{0, 1, 2, 4}[dictFlag]
		fcsLen := [4]int{0, 2, 4, 8}[fcsFlag]
		if fcsFlag == 0 && single == 1 {
			fcsLen = 1
		}
		if p+fcsLen > len(b) {
			return -1, errors.New("truncated zstd frame header")
		}
		var fcs uint64
		for i := fcsLen - 1; i >= 0; i-- {
			fcs = fcs<<8 | uint64(b[p+i])
		}
		if fcsLen == 2 {
			fcs += 256
		}
		if fcsLen == 0 {
			size = -1
		} else if size >= 0 {
			size += int64(min(fcs, uint64(limit))) // limit: refused below otherwise
		}
		if fcsLen > 0 && fcs > uint64(limit) {
			return -1, fmt.Errorf("zstd frame declares %d bytes, page %d", fcs, limit)
		}
		p += fcsLen
		for last := false; !last; {
			if p+3 > len(b) {
				return -1, errors.New("truncated zstd block header")
			}
			h := uint32(b[p]) | uint32(b[p+1])<<8 | uint32(b[p+2])<<16
			p += 3
			last = h&1 == 1
			size := int64(h >> 3)
			switch h >> 1 & 3 {
			case 0: // raw
				bound += size
				p += int(size)
			case 1: // RLE: one byte repeated size times
				bound += size
				p++
			case 2: // compressed
				bound += maxBlock
				p += int(size)
			default:
				return -1, errors.New("reserved zstd block type")
			}
			if p > len(b) {
				return -1, errors.New("truncated zstd block")
			}
			if bound > limit+maxBlock {
				return -1, fmt.Errorf("zstd payload decompresses to more than its declared %d bytes", limit)
			}
		}
		if checksum == 1 {
			p += 4
			if p > len(b) {
				return -1, errors.New("truncated zstd checksum")
			}
		}
		b = b[p:]
	}
	return size, nil
}

// checkRLE checks the run headers of an RLE / bit-packed hybrid stream
// before parquet-go decodes it, because parquet-go allocates each run's
// values as declared. A bit-packed run carries its values in the bytes that
// follow its header, so it can ask for no more than the stream holds: one
// that declares more bytes than remain is malformed. An RLE run is a count
// and one value, so its count alone could ask for any amount: the RLE runs
// may add up to at most twice the page's values plus 1024. The slack is for
// writers that pad the last run past the page's end (DuckDB does, by up to
// a few hundred values); it bounds what a hostile header can ask for to a
// small multiple of what the page declares.
func checkRLE(b []byte, bitWidth int, maxValues int64) error {
	if bitWidth < 0 || bitWidth > 32 {
		return fmt.Errorf("invalid RLE bit width %d", bitWidth)
	}
	var repeated int64
	for i := 0; i < len(b); {
		h, n := binary.Uvarint(b[i:])
		if n <= 0 {
			return nil // truncated or overflowing: parquet-go reports it
		}
		i += n
		count := int64(h >> 1)
		if h&1 == 1 { // bit-packed: count groups of 8 values, bitWidth bytes each
			if count > int64(len(b)) {
				return fmt.Errorf("bit-packed run of %d groups in a stream of %d bytes", count, len(b))
			}
			need := count * int64(bitWidth)
			if need > int64(len(b)-i)+int64(bitWidth) {
				return fmt.Errorf("bit-packed run declares %d bytes, %d remain", need, len(b)-i)
			}
			i += int(min(need, int64(len(b)-i)))
			continue
		}
		repeated += count
		i += (bitWidth + 7) / 8
		if repeated > 2*maxValues+1024 {
			return fmt.Errorf("RLE runs repeat %d values, the page has %d", repeated, maxValues)
		}
	}
	return nil
}

// levelStream returns the level bytes of a data page v1 section prefixed by
// its 4-byte length, and the rest.
func levelStream(b []byte) (levels, rest []byte, ok bool) {
	if len(b) < 4 {
		return nil, nil, false
	}
	n := int64(binary.LittleEndian.Uint32(b))
	if n > int64(len(b)-4) {
		return nil, nil, false
	}
	return b[4 : 4+n], b[4+n:], true
}
