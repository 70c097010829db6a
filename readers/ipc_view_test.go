package readers

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/memory"

	"github.com/evaljob/evaljob/evalerr"
)

// view is a raw view header: size, buffer index, offset.
type view struct{ size, idx, off int32 }

// viewFile writes an IPC file (or stream) of one view column s whose view
// headers are views, over the one data buffer data, as a hostile writer
// could.
func viewFile(t *testing.T, dt arrow.DataType, views []view, data []byte, stream bool) string {
	t.Helper()
	hb := make([]byte, 16*len(views))
	for i, v := range views {
		binary.LittleEndian.PutUint32(hb[16*i:], uint32(v.size))
		copy(hb[16*i+4:16*i+8], "abcd")
		binary.LittleEndian.PutUint32(hb[16*i+8:], uint32(v.idx))
		binary.LittleEndian.PutUint32(hb[16*i+12:], uint32(v.off))
	}
	d := array.NewData(dt, len(views), []*memory.Buffer{nil, memory.NewBufferBytes(hb), memory.NewBufferBytes(data)}, nil, 0, 0)
	defer d.Release()
	arr := array.MakeFromData(d)
	defer arr.Release()
	schema := arrow.NewSchema([]arrow.Field{{Name: "s", Type: dt, Nullable: true}}, nil)
	rec := array.NewRecord(schema, []arrow.Array{arr}, int64(len(views)))
	path := tempPath(t, "v.arrow")
	if stream {
		path += "s"
	}
	writeRecordsIPC(t, path, schema, []arrow.Record{rec}, stream, memory.DefaultAllocator)
	return path
}

// readViews reads column s of every unit and returns its values.
func readViews(path string) ([]string, error) {
	f, err := Open(Input{Path: path})
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var got []string
	for u := range f.NumUnits() {
		err := f.ReadUnit(context.Background(), u, []string{"s"}, 0, func(c *Chunk) error {
			for i := range c.Len {
				got = append(got, c.Columns[0].String(i))
			}
			return nil
		})
		if err != nil {
			return got, err
		}
	}
	return got, nil
}

// TestViews: inline and buffer views read as written, in file and stream.
func TestViews(t *testing.T) {
	data := []byte("0123456789abcdefghijklmnopqrstuvwxyz")
	views := []view{{3, 0, 0}, {20, 0, 2}, {16, 0, 20}, {0, 0, 0}, {20, 0, 2}}
	copy(data, "xyz") // the inline value's bytes are its header's, not the buffer's
	for _, stream := range []bool{false, true} {
		got, err := readViews(viewFile(t, arrow.BinaryTypes.StringView, views, data, stream))
		want := []string{"abc", string(data[2:22]), string(data[20:36]), "", string(data[2:22])}
		if err != nil || strings.Join(got, "|") != strings.Join(want, "|") {
			t.Errorf("stream %v: %q, %v; want %q", stream, got, err, want)
		}
	}
}

// TestHostileViews: a view outside its buffers is an input error, never a
// panic, for both view types, file and stream.
func TestHostileViews(t *testing.T) {
	data := make([]byte, 100)
	for _, dt := range []arrow.DataType{arrow.BinaryTypes.StringView, arrow.BinaryTypes.BinaryView} {
		for _, stream := range []bool{false, true} {
			for name, v := range map[string]view{
				"buffer index":        {20, 5, 0},
				"negative index":      {20, -1, 0},
				"offset outside":      {20, 0, 200},
				"negative offset":     {20, 0, -5},
				"negative length":     {-1, 0, 0},
				"large negative":      {-2000000000, 0, 0},
				"huge length":         {0x7fffffff, 0, 0},
				"offset + length":     {0x200, 0, 0x7fffff00},
				"past the buffer end": {20, 0, 90},
			} {
				_, err := readViews(viewFile(t, dt, []view{{3, 0, 0}, v}, data, stream))
				var ie *evalerr.InputError
				if !errors.As(err, &ie) {
					t.Errorf("%v, stream %v, %s: %v, want an input error", dt, stream, name, err)
				}
			}
		}
	}
}

// TestViewAmplification: 2,000 views over one 1 MB buffer (a 1 MB file)
// allocated 12 GB, a copy per view; the buffer is now copied once.
func TestViewAmplification(t *testing.T) {
	views := make([]view, 2000)
	for i := range views {
		views[i] = view{1 << 20, 0, 0}
	}
	path := viewFile(t, arrow.BinaryTypes.StringView, views, make([]byte, 1<<20), false)
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	got, err := readViews(path)
	runtime.ReadMemStats(&m1)
	if err != nil || len(got) != len(views) || len(got[1999]) != 1<<20 {
		t.Fatalf("%d values, %v", len(got), err)
	}
	if mb := (m1.TotalAlloc - m0.TotalAlloc) >> 20; mb > 64 {
		t.Errorf("reading a 1 MB file allocated %d MB", mb)
	}
}

// TestVariadicBufferCounts: a record batch whose variadic buffer count
// (Arrow sizes a slice by it before reading anything) is 2^40 was a fatal
// out-of-memory, which no recover catches; any count above the batch's
// buffers, or below 0, is now an input error before Arrow reads it.
func TestVariadicBufferCounts(t *testing.T) {
	path := viewFile(t, arrow.BinaryTypes.StringView, []view{{20, 0, 0}, {30, 0, 50}}, make([]byte, 100), false)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, val := range []int64{1 << 40, -1, 3} {
		// The count is an int64 1 after a vector length of 1; patch every
		// place that looks so (the others, if any, must not crash either).
		refused := false
		for i := 4; i+8 <= len(b); i++ {
			if binary.LittleEndian.Uint64(b[i:]) != 1 || binary.LittleEndian.Uint32(b[i-4:]) != 1 {
				continue
			}
			c := append([]byte(nil), b...)
			binary.LittleEndian.PutUint64(c[i:], uint64(val))
			q := tempPath(t, "m.arrow")
			if err := os.WriteFile(q, c, 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := readViews(q)
			var ie *evalerr.InputError
			switch {
			case strings.Contains(fmt.Sprint(err), "variadic buffers"):
				refused = true
			case val == 3 && errors.As(err, &ie): // within the batch's buffers: Arrow's own check
				refused = true
			}
		}
		if !refused {
			t.Errorf("a variadic buffer count of %d was not refused", val)
		}
	}
}
