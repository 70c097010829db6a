package pipeline

import (
	"encoding/binary"

	"github.com/apache/arrow/go/v17/arrow"

	"github.com/evaljob/evaljob/readers"
)

func columnBytes(c *readers.Column) int {
	n := cap(c.Valid) + cap(c.Bools) + 8*cap(c.Ints) + 4*cap(c.F32) + 8*cap(c.F64) + 8*cap(c.Offsets)
	if c.Elem != nil {
		n += columnBytes(c.Elem)
	}
	return n
}

// resetColumn empties c's values, keeping their storage.
func resetColumn(c *readers.Column) {
	c.Len = 0
	c.Valid, c.Bools, c.Ints, c.F32, c.F64 = c.Valid[:0], c.Bools[:0], c.Ints[:0], c.F32[:0], c.F64[:0]
	c.Offsets = c.Offsets[:0]
	if c.Elem != nil {
		resetColumn(c.Elem)
	}
}

// appendRows appends rows of src to dst: rows[k] for each k, or every row
// when rows is nil. A row number below 0 appends a null. dst and src have
// the same type: a scalar of bool, integer or float type, or a list of one.
func appendRows(dst, src *readers.Column, rows []int32) {
	n := len(rows)
	if rows == nil {
		n = src.Len
	}
	at := func(k int) int {
		if rows == nil {
			return k
		}
		return int(rows[k])
	}
	appendValid(dst, src, n, at)
	switch t := src.Type; {
	case isList(t):
		if dst.Elem == nil {
			dst.Elem = &readers.Column{Name: src.Elem.Name, Type: src.Elem.Type}
		}
		if len(dst.Offsets) == 0 {
			dst.Offsets = append(dst.Offsets, 0)
		}
		elems := []int32{}
		for k := range n {
			if r := at(k); r >= 0 {
				for e := src.Offsets[r]; e < src.Offsets[r+1]; e++ {
					elems = append(elems, int32(e))
				}
			}
			dst.Offsets = append(dst.Offsets, dst.Elem.Len+len(elems))
		}
		appendRows(dst.Elem, src.Elem, elems)
	case isBool(t):
		for k := range n {
			r := at(k)
			dst.Bools = append(dst.Bools, r >= 0 && src.Bools[r])
		}
	case isInteger(t):
		for k := range n {
			var v int64
			if r := at(k); r >= 0 {
				v = src.Ints[r]
			}
			dst.Ints = append(dst.Ints, v)
		}
	case t.ID() == arrow.FLOAT32:
		for k := range n {
			var v float32
			if r := at(k); r >= 0 {
				v = src.F32[r]
			}
			dst.F32 = append(dst.F32, v)
		}
	default: // FLOAT64, the only other label or weight type
		for k := range n {
			var v float64
			if r := at(k); r >= 0 {
				v = src.F64[r]
			}
			dst.F64 = append(dst.F64, v)
		}
	}
	dst.Len += n
}

// appendValid appends the validity of rows at(0) .. at(n-1) of src to dst
// (a row number below 0 is null), keeping dst.Valid nil while every row is
// valid.
func appendValid(dst, src *readers.Column, n int, at func(int) int) {
	nulls := src.Valid != nil
	for k := 0; k < n && !nulls; k++ {
		nulls = at(k) < 0
	}
	if nulls && dst.Valid == nil {
		dst.Valid = make([]bool, dst.Len, dst.Len+n)
		for k := range dst.Valid {
			dst.Valid[k] = true
		}
	}
	if dst.Valid != nil {
		for k := range n {
			r := at(k)
			dst.Valid = append(dst.Valid, r >= 0 && !src.Null(r))
		}
	}
}

// labelValues is a label-side column (label or weight) of every label row.
// A scalar integer column is packed in as many bytes per value as its type
// has (an int8 label costs one byte a row, not the eight of a decoded
// chunk's Ints); any other column is held as a readers.Column, whose value
// slices already match their types (bool 1 byte, float32 4, float64 8).
type labelValues struct {
	col    readers.Column // Name, Type, Len and Valid always; the values when width is 0
	width  int            // bytes per packed integer value; 0 when not packed
	packed []byte
}

func (v *labelValues) setType(t arrow.DataType) {
	v.col.Type = t
	if fw, ok := t.(arrow.FixedWidthDataType); ok && isInteger(t) {
		v.width = fw.BitWidth() / 8
	}
}

// append appends every row of the label file chunk c.
func (v *labelValues) append(c *readers.Column) {
	if v.width == 0 {
		appendRows(&v.col, c, nil)
		return
	}
	appendValid(&v.col, c, c.Len, func(k int) int { return k })
	for _, x := range c.Ints[:c.Len] {
		v.packed = binary.LittleEndian.AppendUint64(v.packed, uint64(x))[:len(v.packed)+v.width]
	}
	v.col.Len += c.Len
}

// reserve makes room for n scalar values, so that loading the label files
// does not grow the slices past what they need.
func (v *labelValues) reserve(n int) {
	c := &v.col
	if c.Type == nil {
		return // no label column: the label files supply only the weight
	}
	switch t := c.Type; {
	case v.width > 0:
		v.packed = make([]byte, 0, n*v.width)
	case isBool(t):
		c.Bools = make([]bool, 0, n)
	case t.ID() == arrow.FLOAT32:
		c.F32 = make([]float32, 0, n)
	case t.ID() == arrow.FLOAT64:
		c.F64 = make([]float64, 0, n)
	}
}

// appendValues appends every row of o, which has v's name, type and width.
func (v *labelValues) appendValues(o *labelValues) {
	if v.width == 0 {
		appendRows(&v.col, &o.col, nil)
		return
	}
	appendValid(&v.col, &o.col, o.col.Len, func(k int) int { return k })
	v.packed = append(v.packed, o.packed...)
	v.col.Len += o.col.Len
}

// gather sets dst to the label rows rows (-1: null).
func (v *labelValues) gather(dst *readers.Column, rows []int32) {
	dst.Name, dst.Type = v.col.Name, v.col.Type
	resetColumn(dst)
	if v.width == 0 {
		appendRows(dst, &v.col, rows)
		return
	}
	appendValid(dst, &v.col, len(rows), func(k int) int { return int(rows[k]) })
	signed := isSigned(v.col.Type)
	for _, r := range rows {
		var x int64
		if r >= 0 {
			x = unpackInt(v.packed[int(r)*v.width:int(r+1)*v.width], signed)
		}
		dst.Ints = append(dst.Ints, x)
	}
	dst.Len = len(rows)
}
func (v *labelValues) bytes() int { return cap(v.packed) + columnBytes(&v.col) }

// unpackInt decodes a little-endian integer of len(b) bytes.
func unpackInt(b []byte, signed bool) int64 {
	var u uint64
	for i := len(b) - 1; i >= 0; i-- {
		u = u<<8 | uint64(b[i])
	}
	if shift := 64 - 8*uint(len(b)); signed && shift > 0 {
		return int64(u<<shift) >> shift
	}
	return int64(u)
}
func isSigned(t arrow.DataType) bool {
	switch t.ID() {
	case arrow.INT8, arrow.INT16, arrow.INT32, arrow.INT64:
		return true
	}
	return false
}
