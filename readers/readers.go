package readers

import (
	"github.com/apache/arrow/go/v17/arrow"
)

// Format of an input file.
type Format int

const (
	Parquet   Format = iota // .parquet
	IPCFile                 // .arrow, .feather, .ipc: Arrow IPC file format
	IPCStream               // .arrows: Arrow IPC stream format
)

// Input is one input file found by Discover.
type Input struct {
	Path      string
	Partition []KV // hive partition keys from the folder names, outermost first
}

// KV is one hive partition key and its value ("model=a" gives {model, a}).
// Null is true for Hive's __HIVE_DEFAULT_PARTITION__.
type KV struct {
	Key, Value string
	Null       bool
}

// Field describes one column a file offers.
type Field struct {
	Name     string
	Type     arrow.DataType // nil when evaljob cannot read the column's type
	Nullable bool
	// Unsupported is the file's type of a column whose Type is nil (as
	// "decimal(5,2)" or "list of struct"), for messages.
	Unsupported string
}

// Column is one column of a chunk, decoded into typed slices.
//
// Scalar columns use exactly one of the value slices, chosen by Type, with
// one slot per row (the slot of a null row holds an unspecified value):
//
//	BOOL                                    Bools
//	INT8..INT64, UINT8..UINT64, DATE32,
//	TIMESTAMP                               Ints (uint64 as its bit pattern)
//	FLOAT32                                 F32
//	FLOAT64                                 F64
//	STRING, LARGE_STRING, BINARY            Strs, or Codes into Dict
//
// String columns come either as Strs or, when the source is dictionary
// encoded (or a hive key), as Codes (one per row) into Dict.
//
// List columns (Type is a LIST, LARGE_LIST or FIXED_SIZE_LIST) keep their
// elements in Elem, a column of Elem.Len element slots; row i owns slots
// Offsets[i]:Offsets[i+1] (len(Offsets) == Len+1). A null list has
// Valid[i] == false and an empty slot range; null elements are marked in
// Elem.Valid.
//
// The float and integer slices may alias buffers that are only valid during
// the yield call that delivered the chunk. Strings are ordinary Go strings
// and may be kept.
type Column struct {
	Name string
	Type arrow.DataType
	Len  int
	// Valid is nil when the column has no nulls in this chunk; otherwise
	// Valid[i] is false for a null row.
	Valid []bool

	Bools []bool
	Ints  []int64
	F32   []float32
	F64   []float64
	Strs  []string
	Codes []int32
	Dict  []string

	Offsets []int
	Elem    *Column
}

// Null reports whether row i is null.
func (c *Column) Null(i int) bool { return c.Valid != nil && !c.Valid[i] }

// String returns row i of a string column (either form).
func (c *Column) String(i int) string {
	if c.Codes != nil {
		return c.Dict[c.Codes[i]]
	}
	return c.Strs[i]
}

// Chunk is a run of consecutive rows of one file.
type Chunk struct {
	Path     string
	RowGroup int   // Parquet row group or IPC record batch index, 0-based
	FirstRow int64 // offset of row 0 of the chunk inside the file, 0-based
	Len      int
	Columns  []*Column // in the order they were requested
}
