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
	return s.fields(func(_ int16, t byte) error { return s.value(t, depth, false) })
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
		return s.list(func(et byte) error { return s.value(et, depth+1, true) })
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

// Bounds on a footer's shape, checked before parquet-go reads it: it
// allocates by the schema's total path length (sum of the leaves' depths)
// and by leaves x row groups before it checks either, so a 160 KB footer
// of a 20,000-deep schema took 3.2 GB, and 60,000 leaves x 100,000 empty
// row groups (1.1 MB) a fatal 48 GB.
const (
	maxSchemaDepth  = 255     // parquet-go's own limit on nesting, checked late
	maxSchemaPaths  = 1 << 22 // sum of the leaves' depths
	maxColumnChunks = 1 << 24 // leaves x row groups
	maxColumns      = 65534   // parquet-go's own limit, checked late (1.4M leaves: 570 MB first)
)

// checkFooterShape walks a footer the skimmer accepted (FileMetaData: field
// 2 the schema's elements, 5 in each their number of children; field 4 the
// row groups, 1 in each their column chunks) and checks the schema tree and
// the bounds above, and that every row group has one chunk per leaf.
func checkFooterShape(b []byte) error {
	s := thriftSkimmer{b: b}
	var children []int64
	var rgCols []int64
	err := s.fields(func(id int16, t byte) error {
		switch {
		case id == 2 && t == 9: // schema: list<SchemaElement>
			return s.list(func(et byte) error {
				if et != 12 {
					return s.value(et, 1, true)
				}
				n := int64(0)
				err := s.fields(func(id int16, t byte) error {
					if id == 5 && t == 5 { // num_children: i32
						v, err := s.uvarint()
						n = int64(v>>1) ^ -int64(v&1)
						return err
					}
					return s.value(t, 1, false)
				})
				children = append(children, n)
				return err
			})
		case id == 4 && t == 9: // row_groups: list<RowGroup>
			return s.list(func(et byte) error {
				if et != 12 {
					return s.value(et, 1, true)
				}
				cols := int64(0)
				err := s.fields(func(id int16, t byte) error {
					if id == 1 && t == 9 { // columns: list<ColumnChunk>
						return s.list(func(et byte) error { cols++; return s.value(et, 2, true) })
					}
					return s.value(t, 1, false)
				})
				rgCols = append(rgCols, cols)
				return err
			})
		}
		return s.value(t, 0, false)
	})
	if err != nil {
		return err
	}
	// The schema is its elements in preorder: the root, then each
	// element's children after it.
	var leaves, paths int64
	var open []int64 // children still to come, per level below the root
	for i, n := range children {
		if n < 0 || n > int64(len(children)) {
			return fmt.Errorf("schema element %d declares %d children", i, n)
		}
		depth := int64(len(open))
		if i > 0 && depth == 0 {
			return errors.New("schema elements after the root's last child")
		}
		if depth > 0 {
			open[len(open)-1]--
		}
		if n > 0 || i == 0 {
			open = append(open, n)
		} else {
			leaves++
			paths += depth
			if leaves > maxColumns {
				return fmt.Errorf("schema has more than %d columns", maxColumns)
			}
		}
		for len(open) > 0 && open[len(open)-1] == 0 {
			open = open[:len(open)-1]
		}
		switch {
		case len(open) > maxSchemaDepth:
			return fmt.Errorf("schema nests more than %d levels", maxSchemaDepth)
		case paths > maxSchemaPaths:
			return fmt.Errorf("schema's column paths exceed %d elements", maxSchemaPaths)
		}
	}
	if len(open) > 0 {
		return errors.New("schema ends before its elements' children")
	}
	if len(rgCols) > 0 && leaves > maxColumnChunks/int64(len(rgCols)) {
		return fmt.Errorf("%d columns x %d row groups is more than %d column chunks", leaves, len(rgCols), maxColumnChunks)
	}
	for i, n := range rgCols {
		if n != leaves {
			return fmt.Errorf("row group %d has %d column chunks for %d columns", i, n, leaves)
		}
	}
	return nil
}

// fields reads a struct's fields up to its stop field, calling fn with each
// field's id and compact type; fn must consume the value.
func (s *thriftSkimmer) fields(fn func(id int16, t byte) error) error {
	var id int16
	for {
		c, err := s.byte()
		if err != nil {
			return err
		}
		if c == 0 {
			return nil
		}
		if d := c >> 4; d != 0 {
			id += int16(d)
		} else {
			v, err := s.uvarint()
			if err != nil {
				return err
			}
			id = int16(int64(v>>1) ^ -int64(v&1))
		}
		if err := fn(id, c&0x0f); err != nil {
			return err
		}
	}
}

// list reads a list header and calls elem once per element, with the
// elements' compact type; elem must consume the element.
func (s *thriftSkimmer) list(elem func(et byte) error) error {
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
	for range n {
		if err := elem(h & 0x0f); err != nil {
			return err
		}
	}
	return nil
}
