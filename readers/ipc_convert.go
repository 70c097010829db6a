package readers

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"unsafe"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
)

// ipcBuf is the storage one column owns when an Arrow array cannot be
// aliased (booleans, narrow integers, strings, dictionary codes, offsets).
type ipcBuf struct {
	valid []bool
	bools []bool
	ints  []int64
	f32   []float32
	f64   []float64
	strs  []string
	codes []int32
	offs  []int
	elem  *ipcBuf
	elemC Column

	dictData arrow.ArrayData // the dictionary dict was built from
	dict     []string
}

// convert fills col with all rows of arr.
func (b *ipcBuf) convert(col *Column, arr arrow.Array, name string) error {
	*col = Column{Name: name, Type: arr.DataType(), Len: arr.Len()}
	n := arr.Len()
	switch a := arr.(type) {
	case *array.List:
		off := a.Data().Offset()
		offs := a.Offsets()
		if len(offs) < off+n+1 {
			return errors.New("short list offsets")
		}
		return b.list(col, a, offs[off:off+n+1], a.ListValues(), name)
	case *array.LargeList:
		off := a.Data().Offset()
		offs := a.Offsets()
		if len(offs) < off+n+1 {
			return errors.New("short list offsets")
		}
		return b.list(col, a, offs[off:off+n+1], a.ListValues(), name)
	case *array.FixedSizeList:
		return b.fixedList(col, a, name)
	}
	b.validity(col, arr, 0, n)
	return b.scalar(col, arr, 0, n)
}

func (b *ipcBuf) validity(col *Column, arr arrow.Array, lo, hi int) {
	if arr.NullN() == 0 {
		return
	}
	b.valid = grow(b.valid[:0], hi-lo)
	nulls := false
	for i := lo; i < hi; i++ {
		ok := arr.IsValid(i)
		b.valid[i-lo] = ok
		nulls = nulls || !ok
	}
	if nulls {
		col.Valid = b.valid
	}
}

func list[O int32 | int64](b *ipcBuf, col *Column, arr arrow.Array, offs []O, values arrow.Array) error {
	n := arr.Len()
	e0, e1 := int64(offs[0]), int64(offs[n])
	if e0 < 0 || e1 < e0 || e1 > int64(values.Len()) {
		return errors.New("list offsets out of range")
	}
	b.offs = grow(b.offs[:0], n+1)
	prev := e0
	for i, x := range offs {
		if int64(x) < prev || int64(x) > e1 {
			return errors.New("list offsets not increasing")
		}
		prev = int64(x)
		b.offs[i] = int(int64(x) - e0)
	}
	col.Offsets = b.offs
	b.validity(col, arr, 0, n)
	if col.Valid != nil { // a null list owns no slots
		for i, ok := range col.Valid {
			if !ok && b.offs[i] != b.offs[i+1] {
				return errors.New("null list with elements")
			}
		}
	}
	return b.elements(col, values, int(e0), int(e1))
}

func (b *ipcBuf) list(col *Column, arr arrow.Array, offs any, values arrow.Array, name string) error {
	switch o := offs.(type) {
	case []int32:
		return list(b, col, arr, o, values)
	case []int64:
		return list(b, col, arr, o, values)
	}
	return fmt.Errorf("unexpected offsets %T", offs)
}

func (b *ipcBuf) elements(col *Column, values arrow.Array, lo, hi int) error {
	if b.elem == nil {
		b.elem = new(ipcBuf)
	}
	e := &b.elemC
	*e = Column{Name: col.Name, Type: values.DataType(), Len: hi - lo}
	b.elem.validity(e, values, lo, hi)
	if err := b.elem.scalar(e, values, lo, hi); err != nil {
		return err
	}
	col.Elem = e
	return nil
}

func (b *ipcBuf) fixedList(col *Column, a *array.FixedSizeList, name string) error {
	n := a.Len()
	w := int(a.DataType().(*arrow.FixedSizeListType).Len())
	off := a.Data().Offset()
	values := a.ListValues()
	lo, hi := off*w, (off+n)*w
	if w <= 0 || hi > values.Len() {
		return errors.New("fixed-size list values out of range")
	}
	b.validity(col, a, 0, n)
	b.offs = grow(b.offs[:0], n+1)
	if col.Valid == nil {
		for i := range b.offs {
			b.offs[i] = i * w
		}
		col.Offsets = b.offs
		return b.elements(col, values, lo, hi)
	}
	// Null rows own slots in Arrow but none in a Column: keep the others.
	if err := b.elements(col, values, lo, hi); err != nil {
		return err
	}
	// Compaction writes into the element slices: copy aliased ones first.
	e, eb := col.Elem, b.elem
	switch {
	case e.Ints != nil:
		eb.ints = append(eb.ints[:0], e.Ints...)
		e.Ints = eb.ints
	case e.F32 != nil:
		eb.f32 = append(eb.f32[:0], e.F32...)
		e.F32 = eb.f32
	case e.F64 != nil:
		eb.f64 = append(eb.f64[:0], e.F64...)
		e.F64 = eb.f64
	}
	keep := 0
	b.offs[0] = 0
	for i, ok := range col.Valid {
		if ok {
			if keep != i {
				moveSlots(e, keep*w, i*w, w)
			}
			keep++
		}
		b.offs[i+1] = keep * w
	}
	e.Len = keep * w
	truncSlots(e, e.Len)
	col.Offsets = b.offs
	return nil
}

// moveSlots copies w slots of c from src to dst (dst < src).
func moveSlots(c *Column, dst, src, w int) {
	if c.Valid != nil {
		copy(c.Valid[dst:dst+w], c.Valid[src:src+w])
	}
	switch {
	case c.Bools != nil:
		copy(c.Bools[dst:dst+w], c.Bools[src:src+w])
	case c.Ints != nil:
		copy(c.Ints[dst:dst+w], c.Ints[src:src+w])
	case c.F32 != nil:
		copy(c.F32[dst:dst+w], c.F32[src:src+w])
	case c.F64 != nil:
		copy(c.F64[dst:dst+w], c.F64[src:src+w])
	case c.Strs != nil:
		copy(c.Strs[dst:dst+w], c.Strs[src:src+w])
	case c.Codes != nil:
		copy(c.Codes[dst:dst+w], c.Codes[src:src+w])
	}
}

func truncSlots(c *Column, n int) {
	if c.Valid != nil {
		c.Valid = c.Valid[:n]
		if !hasFalse(c.Valid) {
			c.Valid = nil
		}
	}
	switch {
	case c.Bools != nil:
		c.Bools = c.Bools[:n]
	case c.Ints != nil:
		c.Ints = c.Ints[:n]
	case c.F32 != nil:
		c.F32 = c.F32[:n]
	case c.F64 != nil:
		c.F64 = c.F64[:n]
	case c.Strs != nil:
		c.Strs = c.Strs[:n]
	case c.Codes != nil:
		c.Codes = c.Codes[:n]
	}
}

func castSlice[D, S any](s []S) []D {
	if len(s) == 0 {
		return []D{}
	}
	return unsafe.Slice((*D)(unsafe.Pointer(&s[0])), len(s))
}

func widen[T int8 | int16 | int32 | uint8 | uint16 | uint32 | arrow.Date32](dst []int64, src []T) []int64 {
	dst = grow(dst[:0], len(src))
	for i, x := range src {
		dst[i] = int64(x)
	}
	return dst
}

// scalar fills the value slice of col with rows [lo, hi) of arr. Floats and
// 64-bit integers alias arr's buffers; the rest are copied into b.
func (b *ipcBuf) scalar(col *Column, arr arrow.Array, lo, hi int) error {
	switch a := arr.(type) {
	case *array.Boolean:
		b.bools = grow(b.bools[:0], hi-lo)
		for i := lo; i < hi; i++ {
			b.bools[i-lo] = a.Value(i)
		}
		col.Bools = b.bools
	case *array.Int8:
		col.Ints = widen(b.ints, a.Int8Values()[lo:hi])
		b.ints = col.Ints
	case *array.Int16:
		col.Ints = widen(b.ints, a.Int16Values()[lo:hi])
		b.ints = col.Ints
	case *array.Int32:
		col.Ints = widen(b.ints, a.Int32Values()[lo:hi])
		b.ints = col.Ints
	case *array.Uint8:
		col.Ints = widen(b.ints, a.Uint8Values()[lo:hi])
		b.ints = col.Ints
	case *array.Uint16:
		col.Ints = widen(b.ints, a.Uint16Values()[lo:hi])
		b.ints = col.Ints
	case *array.Uint32:
		col.Ints = widen(b.ints, a.Uint32Values()[lo:hi])
		b.ints = col.Ints
	case *array.Date32:
		col.Ints = widen(b.ints, a.Date32Values()[lo:hi])
		b.ints = col.Ints
	case *array.Int64:
		col.Ints = a.Int64Values()[lo:hi]
	case *array.Uint64:
		col.Ints = castSlice[int64](a.Uint64Values()[lo:hi])
	case *array.Timestamp:
		col.Ints = castSlice[int64](a.TimestampValues()[lo:hi])
	case *array.Float32:
		col.F32 = a.Float32Values()[lo:hi]
	case *array.Float64:
		col.F64 = a.Float64Values()[lo:hi]
	case *array.String:
		return b.strings(col, a.ValueOffsets(), a.ValueBytes(), lo, hi)
	case *array.LargeString:
		return b.strings64(col, a.ValueOffsets(), a.ValueBytes(), lo, hi)
	case *array.Binary:
		return b.strings(col, a.ValueOffsets(), a.ValueBytes(), lo, hi)
	case *array.LargeBinary:
		return b.strings64(col, a.ValueOffsets(), a.ValueBytes(), lo, hi)
	case *array.StringView:
		col.Type = arrow.BinaryTypes.String
		return b.views(col, a, lo, hi)
	case *array.BinaryView:
		col.Type = arrow.BinaryTypes.Binary
		return b.views(col, a, lo, hi)
	case *array.Dictionary:
		return b.dictionary(col, a, lo, hi)
	default:
		return fmt.Errorf("unsupported Arrow type %s", arr.DataType())
	}
	if hi > lo && col.Bools == nil && col.Ints == nil && col.F32 == nil && col.F64 == nil {
		return errors.New("empty value buffer")
	}
	return nil
}

func (b *ipcBuf) strings(col *Column, offs []int32, data []byte, lo, hi int) error {
	return stringsOf(b, col, offs, data, lo, hi)
}

func (b *ipcBuf) strings64(col *Column, offs []int64, data []byte, lo, hi int) error {
	return stringsOf(b, col, offs, data, lo, hi)
}

// stringsOf copies rows [lo, hi) of a string or binary array into Go
// strings: one allocation, each value a substring. offs and data are the
// array's offset-adjusted ValueOffsets and ValueBytes.
func stringsOf[O int32 | int64](b *ipcBuf, col *Column, offs []O, data []byte, lo, hi int) error {
	if hi > lo && len(offs) < hi+1 {
		return errors.New("short string offsets")
	}
	b.strs = grow(b.strs[:0], hi-lo)
	col.Strs = b.strs
	if hi == lo {
		return nil
	}
	base := int64(offs[0])
	s0, s1 := int64(offs[lo])-base, int64(offs[hi])-base
	if s0 < 0 || s1 < s0 || s1 > int64(len(data)) {
		return errors.New("string offsets out of range")
	}
	big := string(data[s0:s1])
	prev := s0
	for i := lo; i < hi; i++ {
		next := int64(offs[i+1]) - base
		if next < prev || next > s1 {
			return errors.New("string offsets not increasing")
		}
		b.strs[i-lo] = big[prev-s0 : next-s0]
		prev = next
	}
	return nil
}

// viewArray is a string or binary view array.
type viewArray interface {
	arrow.Array
	ValueHeader(int) *arrow.ViewHeader
}

// views copies rows [lo, hi) of a string or binary view array into Go
// strings (a view's bytes live in the batch's buffers, which do not outlive
// it). Each data buffer's part the rows point into is copied once, and a
// value is a substring of it: views that overlap (a hostile file's 2,000
// rows over one 1 MB buffer) cost the buffer, not 2,000 copies of it.
// Inline values (12 bytes or fewer) are copied into one string. A view
// outside its buffers is an error; null rows are not read.
func (b *ipcBuf) views(col *Column, a viewArray, lo, hi int) error {
	data := a.Data().Buffers()[2:]
	type span struct {
		lo, hi int64
		s      string
	}
	spans := make([]span, len(data))
	for k := range spans {
		spans[k].lo, spans[k].hi = math.MaxInt64, -1
	}
	present := func(i int) bool { return col.Valid == nil || col.Valid[i-lo] }
	inline := 0
	for i := lo; i < hi; i++ {
		if !present(i) {
			continue
		}
		h := a.ValueHeader(i)
		n := int64(h.Len())
		switch {
		case n < 0:
			return fmt.Errorf("view of %d bytes", n)
		case h.IsInline():
			inline += int(n)
			continue
		}
		k, off := int(h.BufferIndex()), int64(h.BufferOffset())
		if k < 0 || k >= len(data) || data[k] == nil || off < 0 || off > int64(data[k].Len())-n {
			return fmt.Errorf("view of %d bytes at offset %d of buffer %d lies outside the batch's %d data buffers", n, off, k, len(data))
		}
		spans[k].lo, spans[k].hi = min(spans[k].lo, off), max(spans[k].hi, off+n)
	}
	for k := range spans {
		if spans[k].hi >= 0 {
			spans[k].s = string(data[k].Bytes()[spans[k].lo:spans[k].hi])
		}
	}
	b.strs = grow(b.strs[:0], hi-lo)
	col.Strs = b.strs
	var inl strings.Builder
	inl.Grow(inline)
	ends := make([]int32, hi-lo) // inline values: their ends in inl; -1 otherwise
	for i := lo; i < hi; i++ {
		ends[i-lo] = -1
		b.strs[i-lo] = ""
		if !present(i) {
			continue
		}
		h := a.ValueHeader(i)
		if h.IsInline() {
			inl.Write(h.InlineBytes())
			ends[i-lo] = int32(inl.Len())
			continue
		}
		sp := &spans[h.BufferIndex()]
		start := int64(h.BufferOffset()) - sp.lo
		b.strs[i-lo] = sp.s[start : start+int64(h.Len())]
	}
	all, prev := inl.String(), int32(0)
	for i, end := range ends {
		if end >= 0 {
			b.strs[i] = all[prev:end]
			prev = end
		}
	}
	return nil
}

func (b *ipcBuf) dictionary(col *Column, a *array.Dictionary, lo, hi int) error {
	col.Type = a.DataType().(*arrow.DictionaryType).ValueType
	d := a.Dictionary()
	if d.Data() != b.dictData || b.dict == nil {
		var tmp Column
		b.dictData = nil
		if err := b.scalar(&tmp, d, 0, d.Len()); err != nil {
			return fmt.Errorf("dictionary: %w", err)
		}
		if tmp.Strs == nil {
			return fmt.Errorf("dictionary of %s is not supported", d.DataType())
		}
		b.dict = append([]string(nil), tmp.Strs...)
		b.dictData = d.Data()
	}
	idx := a.Indices()
	b.codes = grow(b.codes[:0], hi-lo)
	nd := int64(len(b.dict))
	put := func(i int, x int64) error {
		if x < 0 || x >= nd {
			if idx.IsNull(i) {
				x = 0
			} else {
				return fmt.Errorf("dictionary index %d out of range [0, %d)", x, nd)
			}
		}
		b.codes[i-lo] = int32(x)
		return nil
	}
	var err error
	switch ix := idx.(type) {
	case *array.Int8:
		err = codesOf(ix.Int8Values(), lo, hi, put)
	case *array.Int16:
		err = codesOf(ix.Int16Values(), lo, hi, put)
	case *array.Int32:
		err = codesOf(ix.Int32Values(), lo, hi, put)
	case *array.Int64:
		err = codesOf(ix.Int64Values(), lo, hi, put)
	case *array.Uint8:
		err = codesOf(ix.Uint8Values(), lo, hi, put)
	case *array.Uint16:
		err = codesOf(ix.Uint16Values(), lo, hi, put)
	case *array.Uint32:
		err = codesOf(ix.Uint32Values(), lo, hi, put)
	case *array.Uint64:
		err = codesOf(castSlice[int64](ix.Uint64Values()), lo, hi, put)
	default:
		return fmt.Errorf("unsupported dictionary index type %s", idx.DataType())
	}
	if err != nil {
		return err
	}
	col.Codes, col.Dict = b.codes, b.dict
	return nil
}

func codesOf[T int8 | int16 | int32 | int64 | uint8 | uint16 | uint32](v []T, lo, hi int, put func(int, int64) error) error {
	for i := lo; i < hi; i++ {
		if err := put(i, int64(v[i])); err != nil {
			return err
		}
	}
	return nil
}
