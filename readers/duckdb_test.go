package readers

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// Files written by DuckDB (scripts/interop/duckdb-fixtures.mjs) lay out
// their level and dictionary runs differently from Go writers: the last
// run is padded past the page's end. Every value is checked against the
// formula that generated it.
func TestDuckDBWrittenFile(t *testing.T) {
	f, err := Open(Input{Path: filepath.Join("..", "testdata", "duckdb", "lists.parquet")})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cols := []string{"label", "probs", "labels", "nw", "model", "p", "y"}
	for _, batch := range []int{0, 7, 1000} {
		row := 0
		for u := range f.NumUnits() {
			err := f.ReadUnit(context.Background(), u, cols, batch, func(ch *Chunk) error {
				for i := range ch.Len {
					r := int(ch.FirstRow) + i
					if r != row {
						return fmt.Errorf("row %d arrives as %d", row, r)
					}
					c := ch.Columns
					probsNull := r%50 == 7
					switch {
					case c[0].Ints[i] != int64(r%3):
						return fmt.Errorf("row %d: label %d", r, c[0].Ints[i])
					case c[1].Null(i) != probsNull:
						return fmt.Errorf("row %d: probs null %v", r, c[1].Null(i))
					case c[3].Ints[i] != int64(r%7):
						return fmt.Errorf("row %d: nw %d", r, c[3].Ints[i])
					case c[4].String(i) != fmt.Sprintf("m%d", r%4):
						return fmt.Errorf("row %d: model %q", r, c[4].String(i))
					case math.Abs(c[5].F64[i]-float64(r*7919%1000)/1000) > 1e-15:
						return fmt.Errorf("row %d: p %v", r, c[5].F64[i])
					case (c[6].Ints[i] == 1) != (r%3 == 0):
						return fmt.Errorf("row %d: y %d", r, c[6].Ints[i])
					}
					if !probsNull {
						lo, hi := c[1].Offsets[i], c[1].Offsets[i+1]
						if got := c[1].Elem.F64[lo:hi]; len(got) != 3 || got[0] != 0.2 || got[1] != 0.3 || got[2] != 0.5 {
							return fmt.Errorf("row %d: probs %v", r, got)
						}
					}
					lo, hi := c[2].Offsets[i], c[2].Offsets[i+1]
					if got := c[2].Elem.F64[lo:hi]; len(got) != 3 || got[0] != float64(r%2) || got[1] != float64((r+1)%2) {
						return fmt.Errorf("row %d: labels %v", r, got)
					}
					row++
				}
				return nil
			})
			if err != nil {
				t.Fatalf("batch %d, unit %d: %v", batch, u, err)
			}
		}
		if row != 5000 {
			t.Errorf("batch %d: read %d rows, want 5000", batch, row)
		}
	}
}

func TestCheckRLE(t *testing.T) {
	run := func(header uint64, payload ...byte) []byte {
		return append(binary.AppendUvarint(nil, header), payload...)
	}
	for _, tc := range []struct {
		name   string
		stream []byte
		width  int
		values int64
		ok     bool
	}{
		{"exact RLE run", run(100<<1, 1), 1, 100, true},
		{"padded bit-packed run past the page (DuckDB)", run(32<<1|1, make([]byte, 32)...), 1, 13, true},
		{"RLE padding within the slack", run(2060<<1, 1), 1, 2048, true},
		{"RLE run far beyond the page", run(1<<40, 1), 1, 1000, false},
		{"bit-packed run declaring bytes that are not there", run(1<<30|1, 0, 0), 8, 1000, false},
		{"bad bit width", run(2, 1), 40, 10, false},
	} {
		err := checkRLE(tc.stream, tc.width, tc.values)
		if (err == nil) != tc.ok {
			t.Errorf("%s: err = %v, want ok %v", tc.name, err, tc.ok)
		}
	}
}

// A valid file whose page headers are longer than 256 bytes (long string
// min/max statistics) was rejected as corrupt: the header window did not
// grow past its first buffer. Found by the corruption campaign.
func TestLongPageHeader(t *testing.T) {
	f, err := Open(Input{Path: filepath.Join("..", "testdata", "regressions", "valid-long-page-header.parquet")})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows := 0
	for u := range f.NumUnits() {
		err := f.ReadUnit(context.Background(), u, []string{"key", "label", "prob"}, 0, func(ch *Chunk) error {
			for i := range ch.Len {
				if len(ch.Columns[0].String(i)) < 300 {
					return fmt.Errorf("row %d: key of %d bytes", rows, len(ch.Columns[0].String(i)))
				}
				rows++
			}
			return nil
		})
		if err != nil {
			t.Fatalf("unit %d: %v", u, err)
		}
	}
	if int64(rows) != f.NumRows() || rows == 0 {
		t.Errorf("read %d rows of %d", rows, f.NumRows())
	}
}

// TestDuckDBNullArray: DuckDB writes a null fixed-size ARRAY (FLOAT[3]) as
// three levels, the two after the first repeating it, where Parquet's list
// layout has one; the row is null (it was "empty or null list marker
// inside a list": the whole file refused). testdata/duckdb/arrays.parquet
// (scripts/interop/duckdb-fixtures.mjs): row i null when i % 50 == 7, else
// [0.2, 0.3, (i % 10) / 10] as float32.
func TestDuckDBNullArray(t *testing.T) {
	f, err := Open(Input{Path: filepath.Join("..", "testdata", "duckdb", "arrays.parquet")})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, batch := range []int{0, 7} {
		row := 0
		for u := range f.NumUnits() {
			err := f.ReadUnit(context.Background(), u, []string{"label", "logits"}, batch, func(ch *Chunk) error {
				c := ch.Columns[1]
				for i := range ch.Len {
					r := int(ch.FirstRow) + i
					null := r%50 == 7
					if c.Null(i) != null {
						return fmt.Errorf("row %d: null %v", r, c.Null(i))
					}
					lo, hi := c.Offsets[i], c.Offsets[i+1]
					got := c.Elem.F32[lo:hi]
					switch {
					case null && hi != lo:
						return fmt.Errorf("row %d: null with %d elements", r, hi-lo)
					case !null && (len(got) != 3 || got[0] != 0.2 || got[1] != 0.3 || got[2] != float32(float64(r%10)/10)):
						return fmt.Errorf("row %d: %v", r, got)
					}
					row++
				}
				return nil
			})
			if err != nil {
				t.Fatalf("batch %d, unit %d: %v", batch, u, err)
			}
		}
		if row != 300 {
			t.Errorf("batch %d: %d rows, want 300", batch, row)
		}
	}
}

// TestListLevels: the rows and element slots of a nullable list of
// nullable elements (definition levels: 0 null list, 1 empty list, 2 null
// element, 3 value) from its levels, pages continuing rows, and the level
// runs that are refused.
func TestListLevels(t *testing.T) {
	c := &pqColumn{list: true, maxDef: 3, dOuter: 1, elemOptional: true}
	type page struct{ defs, reps []byte }
	for _, tc := range []struct {
		name   string
		pages  []page
		offs   []int  // row starts, then the end
		valid  []bool // rows
		values int
		err    string
	}{
		{name: "plain", pages: []page{{[]byte{3, 3, 0, 1, 3, 2}, []byte{0, 1, 0, 0, 0, 1}}},
			offs: []int{0, 2, 2, 2, 4}, valid: []bool{true, false, true, true}, values: 3},
		{name: "a row across pages", pages: []page{{[]byte{3, 3}, []byte{0, 1}}, {[]byte{3, 0}, []byte{1, 0}}},
			offs: []int{0, 3, 3}, valid: []bool{true, false}, values: 3},
		// DuckDB's null FLOAT[3]: three levels, within a page and across.
		{name: "DuckDB null array", pages: []page{{[]byte{3, 3, 3, 0, 0, 0, 3, 3, 3}, []byte{0, 1, 1, 0, 1, 1, 0, 1, 1}}},
			offs: []int{0, 3, 3, 6}, valid: []bool{true, false, true}, values: 6},
		{name: "DuckDB null array across pages", pages: []page{{[]byte{0, 0}, []byte{0, 1}}, {[]byte{0, 3}, []byte{1, 0}}},
			offs: []int{0, 0, 1}, valid: []bool{false, true}, values: 1},
		{name: "empty marker inside a list", pages: []page{{[]byte{3, 1}, []byte{0, 1}}}, err: "empty or null list marker inside a list"},
		{name: "element inside a null list", pages: []page{{[]byte{0, 3}, []byte{0, 1}}}, err: "a list element inside a null or empty list"},
		// Only a null row's own level repeats (DuckDB's): not an empty
		// list's, nor another level.
		{name: "empty list repeated", pages: []page{{[]byte{1, 1}, []byte{0, 1}}}, err: "empty or null list marker inside a list"},
		{name: "null then empty marker", pages: []page{{[]byte{0, 1}, []byte{0, 1}}}, err: "empty or null list marker inside a list"},
		{name: "element inside an empty list, next page", pages: []page{{[]byte{1}, []byte{0}}, {[]byte{3}, []byte{1}}}, err: "a list element inside a null or empty list"},
		{name: "starts inside a list", pages: []page{{[]byte{3}, []byte{1}}}, err: "starts inside a list"},
	} {
		var cb colBuf
		values := 0
		var err error
		for _, p := range tc.pages {
			var m int
			if m, _, err = cb.listLevels(c, p.defs, p.reps); err != nil {
				break
			}
			values += m
		}
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: %v, want %q", tc.name, err, tc.err)
			}
			continue
		}
		offs := append(slices.Clone(cb.offs), cb.slots)
		if err != nil || !slices.Equal(offs, tc.offs) || !slices.Equal(cb.valid, tc.valid) || values != tc.values {
			t.Errorf("%s: %v, offsets %v valid %v values %d; want %v %v %d", tc.name, err, offs, cb.valid, values, tc.offs, tc.valid, tc.values)
		}
	}
}
