package readers

import (
	"bytes"
	"context"
	"math/rand/v2"
	"os"
	"strings"
	"testing"

	parquet "github.com/parquet-go/parquet-go"
	pqlz4 "github.com/parquet-go/parquet-go/compress/lz4"
	"github.com/parquet-go/parquet-go/format"
)

type lz4Row struct {
	Label int64    `parquet:"label"`
	Prob  float64  `parquet:"prob"`
	Opt   *float64 `parquet:"opt,optional"`
}

// TestLZ4RawPages: LZ4_RAW pages of random floats (incompressible: the case
// where parquet-go v0.32.0's decoder reallocated and its reader kept the
// stale pooled buffer) read back exactly, in one row group and in several,
// pages v1 and v2; an audit read every probability as 0. The replacement
// codec is in parquet-go's table.
func TestLZ4RawPages(t *testing.T) {
	if !lz4Patched {
		t.Fatal("the LZ4_RAW codec was not replaced: is parquet-go still v0.32.0?")
	}
	if _, ok := parquet.LookupCompressionCodec(format.Lz4Raw).(*lz4Codec); !ok {
		t.Fatal("LookupCompressionCodec does not return the replacement")
	}
	r := rand.New(rand.NewPCG(7, 7))
	rows := make([]lz4Row, 3000)
	for i := range rows {
		rows[i] = lz4Row{Label: int64(i % 2), Prob: r.Float64()}
		if i%3 != 0 {
			v := r.NormFloat64()
			rows[i].Opt = &v
		}
	}
	for name, opts := range map[string][]parquet.WriterOption{
		"v2 one row group": {parquet.DataPageVersion(2)},
		"v1 one row group": {parquet.DataPageVersion(1)},
		"v2 row groups":    {parquet.DataPageVersion(2), parquet.MaxRowsPerRowGroup(500)},
		"v1 small pages":   {parquet.DataPageVersion(1), parquet.PageBufferSize(4096), parquet.MaxRowsPerRowGroup(1000)},
	} {
		var buf bytes.Buffer
		w := parquet.NewGenericWriter[lz4Row](&buf, append(opts, parquet.Compression(&pqlz4.Codec{}))...)
		for lo := 0; lo < len(rows); lo += 500 {
			if _, err := w.Write(rows[lo : lo+500]); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		path := tempPath(t, "lz4.parquet")
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		f, err := Open(Input{Path: path})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		i := 0
		for u := range f.NumUnits() {
			err := f.ReadUnit(context.Background(), u, []string{"label", "prob", "opt"}, 0, func(c *Chunk) error {
				for k := range c.Len {
					want := rows[i]
					opt := c.Columns[2]
					if c.Columns[0].Ints[k] != want.Label || c.Columns[1].F64[k] != want.Prob ||
						opt.Null(k) != (want.Opt == nil) || (want.Opt != nil && opt.F64[k] != *want.Opt) {
						t.Fatalf("%s: row %d: %d %v %v, want %+v", name, i, c.Columns[0].Ints[k], c.Columns[1].F64[k], opt.F64[k], want)
					}
					i++
				}
				return nil
			})
			if err != nil {
				t.Fatalf("%s: unit %d: %v", name, u, err)
			}
		}
		f.Close()
		if i != len(rows) {
			t.Errorf("%s: %d rows read, want %d", name, i, len(rows))
		}
	}
	// Without the replacement, LZ4_RAW pages are refused, not misread.
	defer func(patched bool) { lz4Patched = patched }(lz4Patched)
	lz4Patched = false
	var buf bytes.Buffer
	w := parquet.NewGenericWriter[lz4Row](&buf, parquet.Compression(&pqlz4.Codec{}))
	if _, err := w.Write(rows[:100]); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	path := tempPath(t, "lz4-refused.parquet")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := Open(Input{Path: path})
	if err == nil {
		err = f.ReadUnit(context.Background(), 0, []string{"prob"}, 0, func(*Chunk) error { return nil })
		f.Close()
	}
	if err == nil || !strings.Contains(err.Error(), "LZ4_RAW pages are not read") {
		t.Errorf("without the replacement: %v, want LZ4_RAW refused", err)
	}
}

// TestLZ4CodecDecode: the replacement decodes into the buffer it is given
// when the block fits, grows it when not, and refuses a corrupt block
// instead of growing for ever.
func TestLZ4CodecDecode(t *testing.T) {
	c := &lz4Codec{Codec: &pqlz4.Codec{}}
	src := make([]byte, 10000)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 5000 {
		src[i] = byte(r.Uint32())
	}
	block, err := c.Encode(nil, src)
	if err != nil {
		t.Fatal(err)
	}
	for _, size := range []int{len(src), len(src) + 100, 10, 0} {
		dst := make([]byte, size)
		got, err := c.Decode(dst, block)
		if err != nil || !bytes.Equal(got, src) {
			t.Fatalf("buffer of %d: %v, equal %v", size, err, bytes.Equal(got, src))
		}
		if size >= len(src) && &got[0] != &dst[0] {
			t.Errorf("buffer of %d: decoded into a new buffer", size)
		}
	}
	if _, err := c.Decode(make([]byte, 16), []byte{0xf0, 0xff, 0xff, 0xff, 0x01}); err == nil {
		t.Error("a corrupt block decoded")
	}
}
