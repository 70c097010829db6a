package readers

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/encoding"
)

// colBuf holds one column of one row group, decoded from its pages into
// slices it owns (reused from one ReadUnit call to the next). A slot is a
// row for a flat column and an element for a list column.
type colBuf struct {
	rows   int
	valid  []bool // per row; filled when the column (or list) is nullable
	nulls  int
	offs   []int  // list: row starts, then the end
	ev     []bool // list: per element, when elements are nullable
	enulls int
	slots  int
	hollow bool // list: the current row is null or empty
	rowDef byte // list: the definition level the current row started with

	bools []bool
	ints  []int64
	f32   []float32
	f64   []float64
	strs  []string
	codes []int32
	dict  []string
	// byte-array columns stay in codes mode while every page is dictionary
	// encoded with one dictionary; a plain page switches to strs.
	codesMode bool

	dictObj  parquet.Dictionary // the dictionary the d* slices were built from
	dictLen  int
	dInts    []int64
	dF32     []float32
	dF64     []float64
	dBools   []bool
	dictStrs []string

	tmpInts  []int64
	tmpF32   []float32
	tmpF64   []float64
	tmpBools []bool
	tmpStrs  []string

	check  [2][]byte    // checkPages' page buffers (raw, decompressed)
	stream []byte       // streamPage's read buffer
	window []byte       // checkPages' read window
	direct []directPage // checkPages' direct pages
}

func (cb *colBuf) reset() {
	cb.rows, cb.nulls, cb.enulls, cb.slots, cb.hollow = 0, 0, 0, 0, false
	cb.valid, cb.offs, cb.ev = cb.valid[:0], cb.offs[:0], cb.ev[:0]
	cb.bools, cb.ints, cb.f32, cb.f64 = cb.bools[:0], cb.ints[:0], cb.f32[:0], cb.f64[:0]
	clear(cb.strs)
	cb.strs, cb.codes, cb.dict = cb.strs[:0], cb.codes[:0], nil
	cb.codesMode = true
	cb.dictObj, cb.dictLen, cb.dictStrs = nil, 0, nil
}

// reserve makes room for the values of a column chunk whose pages declare
// values values in all (checked against the limits by checkPages), so that
// the buffers are allocated once at their final size, not grown by doubling
// (which copies them and leaves the smaller ones as garbage: for a 64 MB row
// group of list values, as much again). Only the slice of c's kind is
// reserved; byte arrays reserve their dictionary codes.
func (cb *colBuf) reserve(c *pqColumn, values int) {
	switch c.kind {
	case kBytes:
		cb.codes = slices.Grow(cb.codes, values)
	case kBool:
		cb.bools = slices.Grow(cb.bools, values)
	case kInt32, kUint32, kInt64:
		cb.ints = slices.Grow(cb.ints, values)
	case kFloat:
		cb.f32 = slices.Grow(cb.f32, values)
	case kDouble:
		cb.f64 = slices.Grow(cb.f64, values)
	}
}

// grow extends s by n elements.
func grow[T any](s []T, n int) []T {
	return slices.Grow(s, n)[:len(s)+n]
}

// scatter appends len(valid) slots to dst: the next value of src for each
// valid slot, the zero value for the others. valid == nil: all of src.
func scatter[T any](dst, src []T, valid []bool) []T {
	if valid == nil {
		return append(dst, src...)
	}
	start := len(dst)
	dst = grow(dst, len(valid))
	out := dst[start:]
	j := 0
	var zero T
	for i, ok := range valid {
		if ok {
			out[i] = src[j]
			j++
		} else {
			out[i] = zero
		}
	}
	return dst
}

// lookup appends dict[codes[i]] to dst, failing on an index out of range.
func lookup[T any](dst, dict []T, codes []int32) ([]T, error) {
	start := len(dst)
	dst = grow(dst, len(codes))
	out := dst[start:]
	n := uint32(len(dict))
	for i, c := range codes {
		if uint32(c) >= n {
			return dst, fmt.Errorf("dictionary index %d out of range [0, %d)", c, n)
		}
		out[i] = dict[c]
	}
	return dst, nil
}

var errLevels = errors.New("repetition and definition levels disagree")

// addPage appends one data page.
func (cb *colBuf) addPage(c *pqColumn, pg parquet.Page) error {
	if c.list {
		return cb.addListPage(c, pg)
	}
	if c.maxDef == 0 { // required
		n := int(pg.NumValues())
		if n < 0 {
			return errors.New("negative value count")
		}
		cb.rows += n
		cb.slots += n
		return cb.appendValues(c, pg, n, nil)
	}
	defs := pg.DefinitionLevels()
	start := len(cb.valid)
	cb.valid = grow(cb.valid, len(defs))
	valid := cb.valid[start:]
	md := byte(c.maxDef)
	m := 0
	for i, d := range defs {
		ok := d >= md
		valid[i] = ok
		if ok {
			m++
		}
	}
	cb.nulls += len(defs) - m
	cb.rows += len(defs)
	cb.slots += len(defs)
	if m == len(defs) {
		valid = nil
	}
	return cb.appendValues(c, pg, m, valid)
}

func (cb *colBuf) addListPage(c *pqColumn, pg parquet.Page) error {
	m, valid, err := cb.listLevels(c, pg.DefinitionLevels(), pg.RepetitionLevels())
	if err != nil {
		return err
	}
	return cb.appendValues(c, pg, m, valid)
}

// listLevels adds a list page's rows and element slots from its levels,
// and returns the number of values the page holds and, with nullable
// elements some of which are null, the elements' validity.
func (cb *colBuf) listLevels(c *pqColumn, defs, reps []byte) (int, []bool, error) {
	if len(defs) != len(reps) {
		return 0, nil, errLevels
	}
	dOuter, dElem, md := byte(c.dOuter), byte(c.dOuter+1), byte(c.maxDef)
	estart := len(cb.ev)
	m, k := 0, 0
	// Eight levels at a time while they continue a row (repetition 1, the
	// only level above 0 of a one-level list) with present values (the
	// largest definition level): most levels of a wide list.
	const ones = 0x0101010101010101
	repWord, defWord := uint64(ones), uint64(md)*ones
	for i := 0; i < len(defs); i++ {
		if reps[i] != 0 && cb.rows != 0 && !cb.hollow {
			j := i
			for j+8 <= len(defs) && binary.LittleEndian.Uint64(reps[j:]) == repWord && binary.LittleEndian.Uint64(defs[j:]) == defWord {
				j += 8
			}
			if j > i {
				if c.elemOptional {
					start := len(cb.ev)
					cb.ev = grow(cb.ev, j-i)
					for e := range cb.ev[start:] {
						cb.ev[start+e] = true
					}
				}
				k, m = k+j-i, m+j-i
				if i = j; i == len(defs) {
					break
				}
			}
		}
		d := defs[i]
		if reps[i] == 0 {
			cb.offs = append(cb.offs, cb.slots+k)
			ok := d >= dOuter
			cb.valid = append(cb.valid, ok)
			if !ok {
				cb.nulls++
			}
			cb.rows++
			cb.hollow, cb.rowDef = d < dElem, d
		} else if cb.rows == 0 {
			return 0, nil, errors.New("column chunk starts inside a list (first repetition level is not 0)")
		} else if d < dElem && cb.hollow && d == cb.rowDef && d < dOuter {
			// DuckDB writes a null ARRAY (fixed size n) as n levels, the
			// n-1 after the first repeating it: the row stays null.
			continue
		} else if d < dElem {
			return 0, nil, errors.New("empty or null list marker inside a list")
		} else if cb.hollow {
			return 0, nil, errors.New("a list element inside a null or empty list")
		}
		if d >= dElem {
			k++
			ok := d >= md
			if c.elemOptional {
				cb.ev = append(cb.ev, ok)
			}
			if ok {
				m++
			}
		}
	}
	cb.slots += k
	var valid []bool
	if c.elemOptional {
		cb.enulls += k - m
		if m < k {
			valid = cb.ev[estart:]
		}
	}
	return m, valid, nil
}

// appendValues appends the page's m values to the slots described by valid
// (nil: m slots, all present).
func (cb *colBuf) appendValues(c *pqColumn, pg parquet.Page, m int, valid []bool) error {
	v := pg.Data()
	dict := pg.Dictionary()
	if dict != nil {
		codes := v.Int32()
		if len(codes) < m {
			return fmt.Errorf("page holds %d dictionary indexes, levels need %d", len(codes), m)
		}
		codes = codes[:m]
		if err := cb.useDict(c, dict); err != nil {
			return err
		}
		var err error
		switch c.kind {
		case kBytes:
			if cb.codesMode {
				n := uint32(cb.dictLen)
				for _, x := range codes {
					if uint32(x) >= n {
						return fmt.Errorf("dictionary index %d out of range [0, %d)", x, n)
					}
				}
				cb.codes = scatter(cb.codes, codes, valid)
				return nil
			}
			cb.tmpStrs, err = lookup(cb.tmpStrs[:0], cb.dictStrs, codes)
			cb.strs = scatter(cb.strs, cb.tmpStrs, valid)
		case kBool:
			cb.tmpBools, err = lookup(cb.tmpBools[:0], cb.dBools, codes)
			cb.bools = scatter(cb.bools, cb.tmpBools, valid)
		case kInt32, kUint32, kInt64:
			cb.tmpInts, err = lookup(cb.tmpInts[:0], cb.dInts, codes)
			cb.ints = scatter(cb.ints, cb.tmpInts, valid)
		case kFloat:
			cb.tmpF32, err = lookup(cb.tmpF32[:0], cb.dF32, codes)
			cb.f32 = scatter(cb.f32, cb.tmpF32, valid)
		case kDouble:
			cb.tmpF64, err = lookup(cb.tmpF64[:0], cb.dF64, codes)
			cb.f64 = scatter(cb.f64, cb.tmpF64, valid)
		}
		return err
	}
	if v.Kind() != kindOf(c.kind) {
		return fmt.Errorf("page holds %s values, schema says %s", v.Kind(), kindOf(c.kind))
	}
	switch c.kind {
	case kBytes:
		var err error
		if cb.tmpStrs, err = byteArrayStrings(cb.tmpStrs[:0], &v, m); err != nil {
			return err
		}
		cb.toStrs()
		cb.strs = scatter(cb.strs, cb.tmpStrs, valid)
	case kBool:
		bits := v.Boolean()
		if len(bits)*8 < m {
			return fmt.Errorf("page holds %d booleans, levels need %d", len(bits)*8, m)
		}
		cb.tmpBools = unpackBools(cb.tmpBools[:0], bits, m)
		cb.bools = scatter(cb.bools, cb.tmpBools, valid)
	case kInt32, kUint32:
		src := v.Int32()
		if len(src) < m {
			return fmt.Errorf("page holds %d values, levels need %d", len(src), m)
		}
		if valid == nil {
			cb.ints = appendInt32(cb.ints, src[:m], c.kind == kUint32)
		} else {
			cb.tmpInts = appendInt32(cb.tmpInts[:0], src[:m], c.kind == kUint32)
			cb.ints = scatter(cb.ints, cb.tmpInts, valid)
		}
	case kInt64:
		src := v.Int64()
		if len(src) < m {
			return fmt.Errorf("page holds %d values, levels need %d", len(src), m)
		}
		cb.ints = scatter(cb.ints, src[:m], valid)
	case kFloat:
		src := v.Float()
		if len(src) < m {
			return fmt.Errorf("page holds %d values, levels need %d", len(src), m)
		}
		cb.f32 = scatter(cb.f32, src[:m], valid)
	case kDouble:
		src := v.Double()
		if len(src) < m {
			return fmt.Errorf("page holds %d values, levels need %d", len(src), m)
		}
		cb.f64 = scatter(cb.f64, src[:m], valid)
	}
	return nil
}

func kindOf(k pqKind) encoding.Kind {
	switch k {
	case kBool:
		return encoding.Boolean
	case kInt32, kUint32:
		return encoding.Int32
	case kInt64:
		return encoding.Int64
	case kFloat:
		return encoding.Float
	case kDouble:
		return encoding.Double
	default:
		return encoding.ByteArray
	}
}

func appendInt32(dst []int64, src []int32, unsigned bool) []int64 {
	start := len(dst)
	dst = grow(dst, len(src))
	out := dst[start:]
	if unsigned {
		for i, x := range src {
			out[i] = int64(uint32(x))
		}
	} else {
		for i, x := range src {
			out[i] = int64(x)
		}
	}
	return dst
}

func unpackBools(dst []bool, bits []byte, n int) []bool {
	start := len(dst)
	dst = grow(dst, n)
	out := dst[start:]
	for i := range out {
		out[i] = bits[i>>3]>>(i&7)&1 != 0
	}
	return dst
}

// byteArrayStrings copies the first m values of a BYTE_ARRAY page into Go
// strings: one allocation for the page, each value a substring of it.
func byteArrayStrings(dst []string, v *encoding.Values, m int) ([]string, error) {
	data, offs := v.ByteArray()
	if m == 0 {
		return dst, nil
	}
	if len(offs) < m+1 {
		return dst, fmt.Errorf("page holds %d byte arrays, levels need %d", max(len(offs)-1, 0), m)
	}
	o0, on := offs[0], offs[m]
	if o0 > on || int64(on) > int64(len(data)) {
		return dst, errors.New("corrupt byte array offsets")
	}
	big := string(data[o0:on])
	start := len(dst)
	dst = grow(dst, m)
	out := dst[start:]
	prev := o0
	for i := range out {
		next := offs[i+1]
		if next < prev || next > on {
			return dst, errors.New("corrupt byte array offsets")
		}
		out[i] = big[prev-o0 : next-o0]
		prev = next
	}
	return dst, nil
}

// useDict makes the d* slices hold the values of dict.
func (cb *colBuf) useDict(c *pqColumn, dict parquet.Dictionary) error {
	if dict == cb.dictObj {
		return nil
	}
	if c.kind == kBytes && cb.codesMode && cb.dictObj != nil {
		cb.toStrs() // a second dictionary in one chunk: codes would not line up
	}
	dv := dict.Page().Data()
	n := dict.Len()
	if n < 0 {
		return errors.New("negative dictionary length")
	}
	if dv.Kind() != kindOf(c.kind) {
		return fmt.Errorf("dictionary holds %s values, schema says %s", dv.Kind(), kindOf(c.kind))
	}
	var err error
	switch c.kind {
	case kBytes:
		cb.dictStrs, err = byteArrayStrings(nil, &dv, n)
		cb.dict = cb.dictStrs
	case kBool:
		bits := dv.Boolean()
		if len(bits)*8 < n {
			return errors.New("short boolean dictionary")
		}
		cb.dBools = unpackBools(cb.dBools[:0], bits, n)
	case kInt32, kUint32:
		src := dv.Int32()
		if len(src) < n {
			return errors.New("short dictionary")
		}
		cb.dInts = appendInt32(cb.dInts[:0], src[:n], c.kind == kUint32)
	case kInt64:
		src := dv.Int64()
		if len(src) < n {
			return errors.New("short dictionary")
		}
		cb.dInts = append(cb.dInts[:0], src[:n]...)
	case kFloat:
		src := dv.Float()
		if len(src) < n {
			return errors.New("short dictionary")
		}
		cb.dF32 = append(cb.dF32[:0], src[:n]...)
	case kDouble:
		src := dv.Double()
		if len(src) < n {
			return errors.New("short dictionary")
		}
		cb.dF64 = append(cb.dF64[:0], src[:n]...)
	}
	if err != nil {
		return err
	}
	cb.dictObj, cb.dictLen = dict, n
	return nil
}

// toStrs switches a byte-array column from codes to strings.
func (cb *colBuf) toStrs() {
	if !cb.codesMode {
		return
	}
	cb.codesMode = false
	cb.strs = grow(cb.strs[:0], len(cb.codes))
	for i, x := range cb.codes {
		if int(x) < len(cb.dictStrs) {
			cb.strs[i] = cb.dictStrs[x]
		}
	}
	cb.codes = cb.codes[:0]
	cb.dict = nil
}

func (cb *colBuf) finish(c *pqColumn) {
	if c.list {
		cb.offs = append(cb.offs, cb.slots)
	}
	if c.kind == kBytes && cb.codesMode && cb.dict == nil {
		cb.dict = []string{}
	}
}

// drop removes the first d rows, which must be complete (d < rows, or the
// chunk ended): their slots, validity and list offsets, rebasing the
// offsets of the rows kept. The counts of nulls stay as they were: they
// only tell slice whether to look for one.
func (cb *colBuf) drop(c *pqColumn, d int) {
	if d == 0 {
		return
	}
	if len(cb.valid) > 0 {
		cb.valid = cb.valid[:copy(cb.valid, cb.valid[d:])]
	}
	e := d // slots to drop
	if c.list {
		e = cb.offs[d]
		cb.offs = cb.offs[:copy(cb.offs, cb.offs[d:])]
		for i := range cb.offs {
			cb.offs[i] -= e
		}
		if len(cb.ev) > 0 {
			cb.ev = cb.ev[:copy(cb.ev, cb.ev[e:])]
		}
	}
	cb.rows -= d
	cb.slots -= e
	cb.bools = dropFront(cb.bools, e)
	cb.ints = dropFront(cb.ints, e)
	cb.f32 = dropFront(cb.f32, e)
	cb.f64 = dropFront(cb.f64, e)
	cb.codes = dropFront(cb.codes, e)
	if n := len(cb.strs); n > 0 {
		cb.strs = dropFront(cb.strs, e)
		clear(cb.strs[len(cb.strs):n]) // (for the garbage collector)
	}
}

// dropFront removes the first e values of s (none if s is empty: a slice
// of a kind the column does not use).
func dropFront[T any](s []T, e int) []T {
	if len(s) == 0 {
		return s
	}
	return s[:copy(s, s[e:])]
}

// slice fills col with rows [lo, hi) of the decoded column.
func (cb *colBuf) slice(col, elem *Column, offs *[]int, c *pqColumn, lo, hi int) {
	*col = Column{Name: c.name, Type: c.typ, Len: hi - lo}
	if cb.nulls > 0 && hasFalse(cb.valid[lo:hi]) {
		col.Valid = cb.valid[lo:hi]
	}
	if !c.list {
		cb.values(col, c, lo, hi)
		return
	}
	rowOffs := cb.offs[lo : hi+1]
	e0, e1 := rowOffs[0], rowOffs[len(rowOffs)-1]
	if e0 == 0 {
		col.Offsets = rowOffs
	} else {
		o := (*offs)[:0]
		for _, x := range rowOffs {
			o = append(o, x-e0)
		}
		*offs = o
		col.Offsets = o
	}
	*elem = Column{Name: c.name, Len: e1 - e0}
	if lt, ok := c.typ.(interface{ Elem() arrow.DataType }); ok {
		elem.Type = lt.Elem()
	}
	if cb.enulls > 0 && hasFalse(cb.ev[e0:e1]) {
		elem.Valid = cb.ev[e0:e1]
	}
	cb.values(elem, c, e0, e1)
	col.Elem = elem
}

func (cb *colBuf) values(col *Column, c *pqColumn, lo, hi int) {
	switch c.kind {
	case kBool:
		col.Bools = cb.bools[lo:hi]
	case kInt32, kUint32, kInt64:
		col.Ints = cb.ints[lo:hi]
	case kFloat:
		col.F32 = cb.f32[lo:hi]
	case kDouble:
		col.F64 = cb.f64[lo:hi]
	case kBytes:
		if cb.codesMode {
			col.Codes = cb.codes[lo:hi]
			col.Dict = cb.dict
		} else {
			col.Strs = cb.strs[lo:hi]
		}
	}
}

func hasFalse(v []bool) bool {
	for _, ok := range v {
		if !ok {
			return true
		}
	}
	return false
}
