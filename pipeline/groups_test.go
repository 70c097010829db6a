package pipeline

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/apache/arrow/go/v17/arrow"

	"github.com/evaljob/evaljob/readers"
)

// TestAssignDenseMatchesMap: the table-indexed assignment (assignDense) gives
// every row the same cell, and creates the cells in the same order, as the
// map-based one, over chunks of dictionary, integer and string key columns
// with nulls.
func TestAssignDenseMatchesMap(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	types := []arrow.DataType{arrow.BinaryTypes.String, arrow.PrimitiveTypes.Int64, arrow.BinaryTypes.String}
	newStats := func() *stats { return newStats("binary", 3, false) }
	dense, byMap := newGrouper(newCellTable(types, newStats)), newGrouper(newCellTable(types, newStats))
	for chunk := range 40 {
		n := rng.IntN(300)
		dict := []string{"a", "b", "c", "d", "e"}[:1+rng.IntN(5)]
		cols := []*readers.Column{
			{Type: types[0], Len: n, Codes: make([]int32, n), Dict: dict},
			{Type: types[1], Len: n, Ints: make([]int64, n)},
			{Type: types[2], Len: n, Strs: make([]string, n)},
		}
		for _, c := range cols {
			if rng.IntN(2) == 0 {
				c.Valid = make([]bool, n)
			}
		}
		for r := range n {
			cols[0].Codes[r] = int32(rng.IntN(len(dict)))
			cols[1].Ints[r] = int64(rng.IntN(1 + chunk))
			cols[2].Strs[r] = fmt.Sprint("s", rng.IntN(4))
			for _, c := range cols {
				if c.Valid != nil {
					c.Valid[r] = rng.IntN(8) != 0
				}
			}
		}
		got, want := make([]int, n), make([]int, n)
		radix := 1
		for j, c := range cols {
			dense.codes[j], dense.vals[j] = denseCodes(c, n, dense.codes[j][:0], dense.vals[j][:0])
			byMap.codes[j], byMap.vals[j] = denseCodes(c, n, byMap.codes[j][:0], byMap.vals[j][:0])
			radix *= len(dense.vals[j])
		}
		dense.localTo, byMap.localTo = dense.localTo[:0], byMap.localTo[:0]
		clear(byMap.local)
		dense.assignDense(cols, n, radix, got)
		byMap.assignMap(cols, n, true, want)
		if !slices.Equal(got, want) {
			t.Fatalf("chunk %d: cells %v, want %v", chunk, got, want)
		}
		// and through assign, which picks one of them
		assigned := make([]int, n)
		dense.assign(cols, n, assigned)
		if !slices.Equal(assigned, want) {
			t.Fatalf("chunk %d: assign gives %v, want %v", chunk, assigned, want)
		}
	}
	sameCells(t, dense.table, byMap.table)
}

// sameCells fails t unless got has want's cells, in want's order.
func sameCells(t *testing.T, got, want *cellTable) {
	t.Helper()
	if len(got.cells) != len(want.cells) {
		t.Fatalf("%d cells, want %d", len(got.cells), len(want.cells))
	}
	for i, c := range got.cells {
		if !slices.Equal(c.key, want.cells[i].key) {
			t.Fatalf("cell %d: key %v, want %v", i, c.key, want.cells[i].key)
		}
	}
}

// TestAssignDictMatchesMap: one dictionary column without nulls takes
// assignDict, which gives every row the same cell, and creates the cells in
// the same order, as the map-based assignment; a dictionary may repeat a
// value, and a chunk may not use every entry.
func TestAssignDictMatchesMap(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 8))
	types := []arrow.DataType{arrow.BinaryTypes.String}
	newStats := func() *stats { return newStats("binary", 3, false) }
	byDict, byMap := newGrouper(newCellTable(types, newStats)), newGrouper(newCellTable(types, newStats))
	for chunk := range 60 {
		n := 1 + rng.IntN(300)
		dict := make([]string, 1+rng.IntN(8))
		for i := range dict {
			dict[i] = fmt.Sprint("v", rng.IntN(10)) // repeats, and new values over the chunks
		}
		c := &readers.Column{Type: types[0], Len: n, Codes: make([]int32, n), Dict: dict}
		for r := range n {
			c.Codes[r] = int32(rng.IntN(len(dict)))
		}
		cols := []*readers.Column{c}
		got, want := make([]int, n), make([]int, n)
		byDict.assign(cols, n, got)
		byMap.codes[0], byMap.vals[0] = denseCodes(c, n, byMap.codes[0][:0], byMap.vals[0][:0])
		byMap.localTo = byMap.localTo[:0]
		clear(byMap.local)
		byMap.assignMap(cols, n, true, want)
		if !slices.Equal(got, want) {
			t.Fatalf("chunk %d: cells %v, want %v", chunk, got, want)
		}
	}
	sameCells(t, byDict.table, byMap.table)
}

// BenchmarkGrouperAssign assigns chunks of 64k rows with two dictionary key
// columns (4 x 50 values, as the binary bench workload) to cells, through
// the table (dense) and through the map.
func BenchmarkGrouperAssign(b *testing.B) {
	const n = 1 << 16
	types := []arrow.DataType{arrow.BinaryTypes.String, arrow.BinaryTypes.String}
	models, slices := make([]string, 4), make([]string, 50)
	for i := range models {
		models[i] = fmt.Sprint("model-", i)
	}
	for i := range slices {
		slices[i] = fmt.Sprint("slice-", i)
	}
	cols := []*readers.Column{
		{Type: types[0], Len: n, Codes: make([]int32, n), Dict: models},
		{Type: types[1], Len: n, Codes: make([]int32, n), Dict: slices},
	}
	for r := range n {
		cols[0].Codes[r] = int32(r % 4)
		cols[1].Codes[r] = int32((r / 4) % 50)
	}
	cells := make([]int, n)
	for _, dense := range []bool{true, false} {
		name := "dense"
		if !dense {
			name = "map"
		}
		b.Run(name, func(b *testing.B) {
			g := newGrouper(newCellTable(types, func() *stats { return newStats("binary", 15, false) }))
			for b.Loop() {
				if dense {
					g.assign(cols, n, cells)
					continue
				}
				for j, c := range cols {
					g.codes[j], g.vals[j] = denseCodes(c, n, g.codes[j][:0], g.vals[j][:0])
				}
				clear(g.local)
				g.localTo = g.localTo[:0]
				g.assignMap(cols, n, true, cells)
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}

// TestSequencesApart: a sequence value in two cells sends the roll-up down
// the merging path; values in one cell each, or a single cell, do not. Cells
// whose sequences moved into another table (cellTable.merge) count as they
// are after the move. Sequences found by their integer value (getInt) and
// by their encoded value (get) alike.
func TestSequencesApart(t *testing.T) {
	for _, tc := range []struct{ ints, descending bool }{{false, false}, {true, false}, {true, true}} {
		ints := tc.ints
		types := []arrow.DataType{arrow.BinaryTypes.String}
		newTable := func() *cellTable {
			return newCellTable(types, func() *stats { return newStats("token", 0, true) })
		}
		add := func(tb *cellTable, model string, seqs ...int) {
			c := tb.cells[tb.lookup([]keyValue{{s: model}}, new([]byte))]
			if tc.descending { // indexed integer tables
				slices.Reverse(seqs)
			}
			for _, s := range seqs {
				if ints {
					c.stats.seqs.getInt(keyValue{i: int64(s)}, rowPos{})
				} else {
					key := fmt.Sprint("d", s)
					c.stats.seqs.get([]byte(key), keyValue{s: key}, rowPos{})
				}
			}
		}
		one := newTable()
		add(one, "a", 1, 2)
		if !sequencesApart(one) {
			t.Errorf("ints %v: one cell: not apart", ints)
		}
		add(one, "b", 3)
		if !sequencesApart(one) {
			t.Errorf("ints %v: 1, 2 in a and 3 in b: not apart", ints)
		}
		other := newTable()
		add(other, "a", 4)
		add(other, "b", 2)
		one.merge(other)
		if sequencesApart(one) {
			t.Errorf("ints %v: 2 in a and, after the merge, in b: apart", ints)
		}
		if n := one.cells[0].stats.seqs.len(); n != 3 {
			t.Errorf("ints %v: cell a holds %d sequences after the merge, want 3 (1, 2, 4)", ints, n)
		}
	}
}

// TestSeqTableModes: integer tables fed values in increasing order (with
// the last one repeated) stay unindexed and sorted, one value out of order
// indexes them, and either way every sequence holds its tokens and its
// first appearance, also after merge (copies) and take (adopts) between
// tables in any mix of the two modes. The reference is a plain map.
func TestSeqTableModes(t *testing.T) {
	type ref struct {
		tokens int64
		first  rowPos
	}
	rng := rand.New(rand.NewPCG(21, 8))
	// fill feeds tb a stream of values: increasing (each step 0 to 3, so
	// the last value repeats), with an out-of-order value at the end when
	// shuffled is set.
	fill := func(tb *seqTable, want map[int64]ref, unit int, shuffled bool) (outOfOrder bool) {
		v := int64(rng.IntN(20)) - 10
		for row := range 1 + rng.IntN(60) {
			v += int64(rng.IntN(4))
			if shuffled && row == 20 {
				v -= 30
				outOfOrder = true
			}
			at := rowPos{unit: unit, row: int64(row)}
			k := int64(1 + rng.IntN(5))
			e := tb.getInt(keyValue{i: v}, at)
			e.stats.Tokens += k
			r, ok := want[v]
			if !ok || at.compare(r.first) < 0 {
				r.first = at
			}
			r.tokens += k
			want[v] = r
		}
		return outOfOrder
	}
	check := func(trial int, what string, tb *seqTable, want map[int64]ref) {
		t.Helper()
		if tb.len() != len(want) {
			t.Fatalf("trial %d, %s: %d sequences, want %d", trial, what, tb.len(), len(want))
		}
		seen := map[int64]bool{}
		for i, e := range tb.order {
			if seen[e.value.i] {
				t.Fatalf("trial %d, %s: value %d twice", trial, what, e.value.i)
			}
			seen[e.value.i] = true
			if r := want[e.value.i]; e.stats.Tokens != r.tokens || e.first != r.first {
				t.Fatalf("trial %d, %s: value %d has %d tokens from %v, want %d from %v", trial, what, e.value.i, e.stats.Tokens, e.first, r.tokens, r.first)
			}
			if tb.sortedInts() && i > 0 && tb.order[i-1].value.i >= e.value.i {
				t.Fatalf("trial %d, %s: unindexed but not sorted at %d", trial, what, i)
			}
		}
		if tb.indexed && len(tb.ints) != len(want) {
			t.Fatalf("trial %d, %s: map holds %d, want %d", trial, what, len(tb.ints), len(want))
		}
	}
	for trial := range 300 {
		tables := make([]*seqTable, 3)
		wants := make([]map[int64]ref, 3)
		for i := range tables {
			tables[i], wants[i] = &seqTable{}, map[int64]ref{}
			outOfOrder := fill(tables[i], wants[i], i, rng.IntN(3) == 0)
			check(trial, fmt.Sprint("table ", i), tables[i], wants[i])
			if tables[i].indexed != outOfOrder {
				t.Fatalf("trial %d: table %d indexed %v, out of order %v", trial, i, tables[i].indexed, outOfOrder)
			}
		}
		for _, i := range []int{1, 2} {
			sorted := tables[0].sortedInts() && tables[i].sortedInts()
			if i == 1 {
				tables[0].merge(tables[1])
			} else {
				tables[0].take(tables[2])
			}
			for v, r := range wants[i] {
				w, ok := wants[0][v]
				if !ok || r.first.compare(w.first) < 0 {
					w.first = r.first
				}
				w.tokens += r.tokens
				wants[0][v] = w
			}
			check(trial, fmt.Sprint("after adding table ", i), tables[0], wants[0])
			if sorted && tables[0].indexed {
				t.Fatalf("trial %d: two sorted tables merged into an indexed one", trial)
			}
		}
		check(trial, "table 1 after merge", tables[1], wants[1]) // merge copies
		// Taken whole into an empty table, which then gains more.
		moved := &seqTable{}
		moved.take(tables[0])
		fill(moved, wants[0], 3, rng.IntN(2) == 0)
		check(trial, "the table taken whole, then filled", moved, wants[0])
	}
}

// TestSortSequences checks sortSequences (the radix sort, or the
// comparison sort when the packed keys do not fit) against a comparison
// sort: the same rows in the same order, each row's cell and entry kept
// with its position.
func TestSortSequences(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 11))
	cases := []struct {
		name     string
		n        int
		units    int
		rows     int64
		radixing bool
	}{
		{"empty", 0, 1, 1, true},
		{"one", 1, 1, 1, true},
		{"one unit", 5000, 1, 1 << 20, true},
		{"many units", 100_000, 400, 1 << 17, true},
		{"wide rows", 3000, 3, 1 << 40, true},
		{"too wide", 3000, 1 << 20, 1 << 50, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			seen := make(map[rowPos]bool)
			rows := make([]seqRow, 0, tc.n)
			for len(rows) < tc.n {
				pos := rowPos{unit: r.IntN(tc.units), row: r.Int64N(tc.rows)}
				if len(rows) == 0 {
					pos = rowPos{unit: tc.units - 1, row: tc.rows - 1} // the widest key
				}
				if seen[pos] {
					continue
				}
				seen[pos] = true
				rows = append(rows, seqRow{first: pos, cell: &cell{}, seq: &seqEntry{first: pos}})
			}
			want := slices.Clone(rows)
			slices.SortFunc(want, func(a, b seqRow) int { return a.first.compare(b.first) })
			got := slices.Clone(rows)
			if radixed := radixSequences(got); radixed != tc.radixing {
				t.Fatalf("radixSequences took them: %v, want %v", radixed, tc.radixing)
			}
			if !tc.radixing && !slices.Equal(got, rows) {
				t.Fatal("radixSequences refused the rows but changed them")
			}
			got = slices.Clone(rows)
			sortSequences(got)
			for i := range want {
				if got[i] != want[i] || got[i].seq.first != got[i].first {
					t.Fatalf("row %d: got %+v, want %+v", i, got[i].first, want[i].first)
				}
			}
		})
	}
}

// TestRadixSort checks radixSort against slices.Sort over whole uint64s
// (six 11-bit digits, the last narrower) and over a band of bits.
func TestRadixSort(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 5))
	keys := make([]uint64, 20_000)
	for i := range keys {
		keys[i] = r.Uint64() >> (i % 64) // every width, many short keys
	}
	want := slices.Clone(keys)
	slices.Sort(want)
	if got := radixSort(slices.Clone(keys), make([]uint64, len(keys)), 0, 64); !slices.Equal(got, want) {
		t.Fatal("radixSort over bits 0-64 differs from slices.Sort")
	}
	// Bits 8 to 33 only (digits of 11, 11 and 3 bits): ties keep their
	// input order (stable).
	band := func(k uint64) uint64 { return k >> 8 & (1<<25 - 1) }
	want = slices.Clone(keys)
	slices.SortStableFunc(want, func(a, b uint64) int { return cmp.Compare(band(a), band(b)) })
	if got := radixSort(slices.Clone(keys), make([]uint64, len(keys)), 8, 33); !slices.Equal(got, want) {
		t.Fatal("radixSort over bits 8-33 differs from a stable sort by them")
	}
}
