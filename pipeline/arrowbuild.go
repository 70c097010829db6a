package pipeline

import (
	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"

	"github.com/evaljob/evaljob/pipeline/metrics"
	"github.com/evaljob/evaljob/readers"
)

// appendColumn appends n rows of a scalar column to a builder of the
// column's own arrow type.
func appendColumn(b array.Builder, c *readers.Column, n int) {
	b.Reserve(n)
	for i := range n {
		appendKey(b, keyAt(c, i))
	}
}

// appendOpt appends v, or a null.
func appendOpt(b *array.Float64Builder, v metrics.Opt) {
	if v.OK {
		b.Append(v.V)
	} else {
		b.AppendNull()
	}
}

// appendKey appends one key value (see keyAt) to a builder of its
// column's type.
func appendKey(b array.Builder, v keyValue) {
	if v.null {
		b.AppendNull()
		return
	}
	switch b := b.(type) {
	case *array.BooleanBuilder:
		b.Append(v.i != 0)
	case *array.Int8Builder:
		b.Append(int8(v.i))
	case *array.Int16Builder:
		b.Append(int16(v.i))
	case *array.Int32Builder:
		b.Append(int32(v.i))
	case *array.Int64Builder:
		b.Append(v.i)
	case *array.Uint8Builder:
		b.Append(uint8(v.i))
	case *array.Uint16Builder:
		b.Append(uint16(v.i))
	case *array.Uint32Builder:
		b.Append(uint32(v.i))
	case *array.Uint64Builder:
		b.Append(uint64(v.i))
	case *array.Date32Builder:
		b.Append(arrow.Date32(v.i))
	case *array.TimestampBuilder:
		b.Append(arrow.Timestamp(v.i))
	case *array.Float32Builder:
		b.Append(float32(v.f))
	case *array.Float64Builder:
		b.Append(v.f)
	case *array.StringBuilder:
		b.Append(v.s)
	case *array.LargeStringBuilder:
		b.Append(v.s)
	case *array.BinaryBuilder:
		b.AppendString(v.s)
	}
}
