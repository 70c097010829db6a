package writers

import (
	"encoding/base64"
	"slices"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/bitutil"
	"github.com/apache/arrow/go/v17/arrow/flight"
	"github.com/apache/arrow/go/v17/arrow/memory"
)

// Arrow Go v17's Parquet writer writes the values of a FixedSizeList column
// as nulls (apache/arrow-go#584, fixed in later arrow-go releases). Parquet
// stores a FixedSizeList as a plain LIST anyway; so top-level FixedSizeList
// columns are written as List columns, and the footer's ARROW:schema holds
// the original schema, as pyarrow does, so Arrow readers get the
// FixedSizeList type back. (FixedSizeList nested inside other types is not
// handled.)

// fixedSizeListView returns the schema to write and whether it differs from
// schema.
func fixedSizeListView(schema *arrow.Schema, mem memory.Allocator) (*arrow.Schema, bool) {
	fields := slices.Clone(schema.Fields())
	changed := false
	for i, f := range fields {
		if t, ok := f.Type.(*arrow.FixedSizeListType); ok {
			fields[i].Type = arrow.ListOfField(t.ElemField())
			changed = true
		}
	}
	if !changed {
		return schema, false
	}
	keys := slices.Clone(schema.Metadata().Keys())
	values := slices.Clone(schema.Metadata().Values())
	keys = append(keys, "ARROW:schema")
	values = append(values, base64.StdEncoding.EncodeToString(flight.SerializeSchema(schema, mem)))
	md := arrow.NewMetadata(keys, values)
	return arrow.NewSchema(fields, &md), true
}

// asLists converts the FixedSizeList columns of rec to List columns of the
// given schema. Null entries become empty lists (their slots dropped).
func asLists(rec arrow.Record, schema *arrow.Schema, mem memory.Allocator) (arrow.Record, error) {
	cols := make([]arrow.Array, rec.NumCols())
	defer func() {
		for _, c := range cols {
			if c != nil {
				c.Release()
			}
		}
	}()
	for i, c := range rec.Columns() {
		fsl, ok := c.(*array.FixedSizeList)
		if !ok {
			c.Retain()
			cols[i] = c
			continue
		}
		l, err := fixedToList(fsl, schema.Field(i).Type.(*arrow.ListType), mem)
		if err != nil {
			return nil, err
		}
		cols[i] = l
	}
	return array.NewRecord(schema, cols, rec.NumRows()), nil
}

func fixedToList(fsl *array.FixedSizeList, lt *arrow.ListType, mem memory.Allocator) (arrow.Array, error) {
	n := fsl.Len()
	w := int64(fsl.DataType().(*arrow.FixedSizeListType).Len())
	child := fsl.ListValues()
	offsets := memory.NewResizableBuffer(mem)
	defer offsets.Release()
	offsets.Resize(arrow.Int32Traits.BytesRequired(n + 1))
	offs := arrow.Int32Traits.CastFromBytes(offsets.Bytes())

	// The values of the non-null entries, in runs.
	var parts []arrow.Array
	defer func() {
		for _, p := range parts {
			p.Release()
		}
	}()
	var total int32
	runStart := -1
	flush := func(end int) {
		if runStart >= 0 {
			from := (int64(fsl.Offset()) + int64(runStart)) * w
			parts = append(parts, array.NewSlice(child, from, from+int64(end-runStart)*w))
			runStart = -1
		}
	}
	for i := 0; i < n; i++ {
		offs[i] = total
		if fsl.IsNull(i) {
			flush(i)
			continue
		}
		if runStart < 0 {
			runStart = i
		}
		total += int32(w)
	}
	offs[n] = total
	flush(n)

	var values arrow.Array
	if len(parts) == 0 {
		values = array.MakeArrayOfNull(mem, child.DataType(), 0)
	} else {
		var err error
		if values, err = array.Concatenate(parts, mem); err != nil {
			return nil, err
		}
	}
	defer values.Release()

	var validity *memory.Buffer
	if fsl.NullN() > 0 {
		validity = memory.NewResizableBuffer(mem)
		defer validity.Release()
		validity.Resize(int(bitutil.CeilByte(n) / 8))
		bits := validity.Bytes()
		for i := 0; i < n; i++ {
			bitutil.SetBitTo(bits, i, fsl.IsValid(i))
		}
	}
	data := array.NewData(lt, n, []*memory.Buffer{validity, offsets}, []arrow.ArrayData{values.Data()}, fsl.NullN(), 0)
	defer data.Release()
	return array.MakeFromData(data), nil
}
