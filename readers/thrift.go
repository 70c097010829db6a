package readers

import (
	"errors"
	"fmt"
)

// Parquet footers and page headers are Thrift compact-protocol structs.
// parquet-go's decoder trusts the lengths it reads (a list of 2^31 elements
// or a binary of 2 GiB is allocated before the bytes behind it are read), so
// every struct is first skimmed here: a walk that allocates nothing and
// checks that each declared length fits in the bytes that are left.

var errThriftTruncated = errors.New("thrift struct runs past the end of its bytes")

const maxThriftDepth = 64

// skimThriftStruct checks the Thrift compact struct at the start of b and
// returns its length in bytes.
func skimThriftStruct(b []byte) (int, error) {
	s := thriftSkimmer{b: b}
	if err := s.structure(0); err != nil {
		return 0, err
	}
	return s.pos, nil
}

type thriftSkimmer struct {
	b   []byte
	pos int
}

func (s *thriftSkimmer) byte() (byte, error) {
	if s.pos >= len(s.b) {
		return 0, errThriftTruncated
	}
	c := s.b[s.pos]
	s.pos++
	return c, nil
}

func (s *thriftSkimmer) uvarint() (uint64, error) {
	var x uint64
	for shift := uint(0); shift < 64; shift += 7 {
		c, err := s.byte()
		if err != nil {
			return 0, err
		}
		x |= uint64(c&0x7f) << shift
		if c < 0x80 {
			return x, nil
		}
	}
	return 0, errors.New("thrift varint overflows 64 bits")
}

func (s *thriftSkimmer) skip(n uint64) error {
	if n > uint64(len(s.b)-s.pos) {
		return errThriftTruncated
	}
	s.pos += int(n)
	return nil
}

func (s *thriftSkimmer) remaining() uint64 { return uint64(len(s.b) - s.pos) }

func (s *thriftSkimmer) structure(depth int) error {
	if depth > maxThriftDepth {
		return errors.New("thrift structs nested too deeply")
	}
	for {
		c, err := s.byte()
		if err != nil {
			return err
		}
		if c == 0 { // stop field
			return nil
		}
		if c>>4 == 0 { // long form: field id follows as a zigzag varint
			if _, err := s.uvarint(); err != nil {
				return err
			}
		}
		if err := s.value(c&0x0f, depth, false); err != nil {
			return err
		}
	}
}

// value skips one value of compact type t. Inside lists a bool is one byte;
// as a struct field it is carried by the type nibble.
func (s *thriftSkimmer) value(t byte, depth int, inList bool) error {
	switch t {
	case 1, 2: // bool true / false
		if inList {
			return s.skip(1)
		}
		return nil
	case 3: // i8
		return s.skip(1)
	case 4, 5, 6: // i16, i32, i64
		_, err := s.uvarint()
		return err
	case 7: // double
		return s.skip(8)
	case 8: // binary
		n, err := s.uvarint()
		if err != nil {
			return err
		}
		return s.skip(n)
	case 9, 10: // list, set
		h, err := s.byte()
		if err != nil {
			return err
		}
		n := uint64(h >> 4)
		if n == 15 {
			if n, err = s.uvarint(); err != nil {
				return err
			}
		}
		if n > s.remaining() { // every element takes at least one byte
			return fmt.Errorf("thrift list declares %d elements in %d bytes", n, s.remaining())
		}
		et := h & 0x0f
		for i := uint64(0); i < n; i++ {
			if err := s.value(et, depth+1, true); err != nil {
				return err
			}
		}
		return nil
	case 11: // map
		n, err := s.uvarint()
		if err != nil {
			return err
		}
		if n == 0 {
			return nil
		}
		kv, err := s.byte()
		if err != nil {
			return err
		}
		if n > s.remaining()/2 {
			return fmt.Errorf("thrift map declares %d entries in %d bytes", n, s.remaining())
		}
		for i := uint64(0); i < n; i++ {
			if err := s.value(kv>>4, depth+1, true); err != nil {
				return err
			}
			if err := s.value(kv&0x0f, depth+1, true); err != nil {
				return err
			}
		}
		return nil
	case 12: // struct
		return s.structure(depth + 1)
	default:
		return fmt.Errorf("invalid thrift type %d", t)
	}
}
