package readers

import (
	"bytes"
	"encoding/binary"
	"os"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/memory"
)

// compact is a minimal Thrift compact-protocol writer for hand-made
// footers.
type compact struct{ bytes.Buffer }

func (c *compact) field(delta, typ byte) { c.WriteByte(delta<<4 | typ) }
func (c *compact) varint(v uint64)       { c.Write(binary.AppendUvarint(nil, v)) }
func (c *compact) i32(v int32)           { c.varint(uint64(uint32(v<<1) ^ uint32(v>>31))) }
func (c *compact) list(n int, et byte) {
	if n < 15 {
		c.WriteByte(byte(n)<<4 | et)
		return
	}
	c.WriteByte(0xf0 | et)
	c.varint(uint64(n))
}

// footer is a FileMetaData whose schema is a root with chains (each a
// run of groups of one child, depth deep, ending in a leaf) and
// rowGroups row groups of chunks column chunks each.
func footer(chains, depth, rowGroups, chunks int) []byte {
	var c compact
	c.field(2, 9) // schema
	c.list(1+chains*(depth+1), 12)
	c.field(5, 5) // root: num_children
	c.i32(int32(chains))
	c.WriteByte(0)
	for range chains {
		for range depth {
			c.field(5, 5)
			c.i32(1)
			c.WriteByte(0)
		}
		c.WriteByte(0) // the leaf: no children
	}
	c.field(2, 9) // field 4: row groups
	c.list(rowGroups, 12)
	for range rowGroups {
		c.field(1, 9) // columns
		c.list(chunks, 12)
		for range chunks {
			c.WriteByte(0)
		}
		c.WriteByte(0)
	}
	c.WriteByte(0)
	return c.Bytes()
}

// TestFooterShape: a footer's schema and row groups are bounded before
// parquet-go reads them (an audit: a 160 KB footer of a 20,000-deep schema
// took 3.2 GB; 60,000 columns x 100,000 row groups a fatal 48 GB; 3.3M
// chunks in a row group 1.86 GB), and a sound one passes.
func TestFooterShape(t *testing.T) {
	for _, tc := range []struct {
		name string
		b    []byte
		want string
	}{
		{"sound", footer(3, 2, 4, 3), ""},
		{"no row groups", footer(2, 0, 0, 0), ""},
		{"deep", footer(1, 300, 0, 0), "nests more than 255 levels"},
		{"wide", footer(70000, 0, 0, 0), "more than 65534 columns"},
		{"columns x row groups", footer(60000, 0, 300, 0), "column chunks"},
		{"chunks for columns", footer(2, 0, 1, 5), "row group 0 has 5 column chunks for 2 columns"},
	} {
		if n, err := skimThriftStruct(tc.b); err != nil || n != len(tc.b) {
			t.Fatalf("%s: the test's footer does not skim: %v", tc.name, err)
		}
		err := checkFooterShape(tc.b)
		if (tc.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
	}
}

// TestIPCOverlappingBlocks: footer entries that point at one record batch
// again (an audit: 2,000 of them made a 622 KB file of 16 billion rows)
// are refused.
func TestIPCOverlappingBlocks(t *testing.T) {
	path := tempPath(t, "two.arrow")
	writeIPC(t, path, testTable(20), splits(20, 10), false)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	blocks, err := scanIPCFile(bytes.NewReader(b), int64(len(b)))
	if err != nil || len(blocks) != 2 {
		t.Fatalf("%d blocks, %v", len(blocks), err)
	}
	var second [8]byte
	binary.LittleEndian.PutUint64(second[:], uint64(blocks[1].offset))
	i := bytes.LastIndex(b, second[:])
	if i < 0 {
		t.Fatal("the second block's offset is not in the footer")
	}
	binary.LittleEndian.PutUint64(b[i:], uint64(blocks[0].offset))
	if _, err := scanIPCFile(bytes.NewReader(b), int64(len(b))); err == nil || !strings.Contains(err.Error(), "overlaps the block before it") {
		t.Errorf("a repeated block: %v", err)
	}
}

// TestIPCSchemaFields: a schema of more than maxSchemaFields fields,
// children included, is refused before Arrow builds them (an audit: child
// tables shared at each of 22 levels made 2^22 fields of 1.2 KB, 6.4 GB).
func TestIPCSchemaFields(t *testing.T) {
	fields := make([]arrow.Field, maxSchemaFields+1)
	for i := range fields {
		fields[i] = arrow.Field{Name: "f", Type: arrow.Null}
	}
	schema := arrow.NewSchema(fields, nil)
	path := tempPath(t, "wide.arrows")
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	writeRecordsIPC(t, path, schema, []arrow.Record{b.NewRecord()}, true, memory.DefaultAllocator)
	if _, err := Open(Input{Path: path}); err == nil || !strings.Contains(err.Error(), "more than 65536 fields") {
		t.Errorf("%d fields: %v", len(fields), err)
	}
}
