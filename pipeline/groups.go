package pipeline

import (
	"cmp"
	"context"
	"encoding/binary"
	"math"
	"runtime"
	"slices"
	"strings"

	"github.com/apache/arrow/go/v17/arrow"
	"golang.org/x/sync/errgroup"

	"github.com/evaljob/evaljob/readers"
)

// keyValue is one group key value, typed by its column's arrow type.
type keyValue struct {
	null bool
	i    int64 // ints (uint64 as bits), bool (0/1), date32, timestamp
	f    float64
	s    string
}

// cell is the finest group: one combination of every group_by column.
type cell struct {
	key   []keyValue
	stats *stats
}

// cellTable maps encoded keys to cells. Each worker has its own.
type cellTable struct {
	types    []arrow.DataType
	newStats func() *stats
	index    map[string]int
	cells    []*cell
}

func newCellTable(types []arrow.DataType, newStats func() *stats) *cellTable {
	return &cellTable{types: types, newStats: newStats, index: map[string]int{}}
}

// lookup returns the index of key's cell, made on first use. *buf is
// scratch for the encoded key, kept for the next lookup (a new buffer per
// lookup was an allocation per chunk and cell).
func (t *cellTable) lookup(key []keyValue, buf *[]byte) int {
	b := encodeKey((*buf)[:0], t.types, key)
	*buf = b
	if i, ok := t.index[string(b)]; ok {
		return i
	}
	t.index[string(b)] = len(t.cells)
	t.cells = append(t.cells, &cell{key: slices.Clone(key), stats: t.newStats()})
	return len(t.cells) - 1
}

// merge adds every cell of o into t. o is consumed: its sequences move
// into t's cells rather than being copied.
func (t *cellTable) merge(o *cellTable) {
	var buf []byte
	for _, c := range o.cells {
		i := t.lookup(c.key, &buf)
		dst := t.cells[i].stats
		seqs := c.stats.seqs
		c.stats.seqs = nil
		dst.merge(c.stats)
		if seqs != nil {
			if dst.seqs == nil {
				dst.seqs = &seqTable{}
			}
			dst.seqs.take(seqs)
		}
	}
}

func encodeKey(buf []byte, types []arrow.DataType, key []keyValue) []byte {
	for j, v := range key {
		if v.null {
			buf = append(buf, 0)
			continue
		}
		buf = append(buf, 1)
		switch {
		case isFloat(types[j]):
			f := v.f
			if f == 0 {
				f = 0 // -0 and +0 are one key
			}
			buf = binary.LittleEndian.AppendUint64(buf, math.Float64bits(f))
		case isStringType(types[j]):
			buf = binary.AppendUvarint(buf, uint64(len(v.s)))
			buf = append(buf, v.s...)
		default:
			buf = binary.LittleEndian.AppendUint64(buf, uint64(v.i))
		}
	}
	return buf
}

// intKeyed reports whether encodeKey encodes a value of type t by its
// keyValue.i alone (integers, bool, date32, timestamp), so that i
// identifies it.
func intKeyed(t arrow.DataType) bool { return !isFloat(t) && !isStringType(t) }

func isStringType(t arrow.DataType) bool {
	switch t.ID() {
	case arrow.STRING, arrow.LARGE_STRING, arrow.BINARY:
		return true
	}
	return false
}

// keyAt reads row i of a group column.
func keyAt(c *readers.Column, i int) keyValue {
	if c.Null(i) {
		return keyValue{null: true}
	}
	switch {
	case c.Bools != nil:
		if c.Bools[i] {
			return keyValue{i: 1}
		}
		return keyValue{}
	case c.Ints != nil:
		return keyValue{i: c.Ints[i]}
	case c.F32 != nil:
		return keyValue{f: float64(c.F32[i])}
	case c.F64 != nil:
		return keyValue{f: c.F64[i]}
	default:
		return keyValue{s: c.String(i)}
	}
}

// grouper assigns each row of a chunk to a cell of a worker's table. It
// first turns every group column into dense per-chunk codes (a dictionary
// column's codes are used as they are), then combines the codes of a row
// into one number, so the encoded key is built once per distinct
// combination in the chunk, not once per row.
type grouper struct {
	table   *cellTable
	codes   [][]int32
	vals    [][]keyValue
	local   map[uint64]int32
	dense   []int32 // local as a table indexed by the combined code, when that is small
	localTo []int
	key     []keyValue
	buf     []byte
}

func newGrouper(t *cellTable) *grouper {
	n := len(t.types)
	return &grouper{table: t, codes: make([][]int32, n), vals: make([][]keyValue, n),
		local: map[uint64]int32{}, key: make([]keyValue, n)}
}

// assign fills cells[i] with the cell index of row i.
func (g *grouper) assign(cols []*readers.Column, n int, cells []int) {
	if len(cols) == 0 {
		i := g.table.lookup(nil, &g.buf)
		for r := range n {
			cells[r] = i
		}
		return
	}
	if c := dictKey(cols, n); c != nil {
		g.assignDict(c, n, cells)
		return
	}
	radix := uint64(1)
	fits := true
	for j, c := range cols {
		g.codes[j], g.vals[j] = denseCodes(c, n, g.codes[j][:0], g.vals[j][:0])
		size := uint64(len(g.vals[j]))
		if radix > math.MaxUint64/size {
			fits = false
		}
		radix *= size
	}
	clear(g.local)
	g.localTo = g.localTo[:0]
	if fits && radix <= uint64(n)+denseSlack {
		g.assignDense(cols, n, int(radix), cells)
		return
	}
	g.assignMap(cols, n, fits, cells)
}

// assignMap is assign through a map from the combined code (fits: the
// product of the columns' numbers of distinct values fits a uint64) or from
// the codes' bytes.
func (g *grouper) assignMap(cols []*readers.Column, n int, fits bool, cells []int) {
	var composite []byte
	var byBytes map[string]int32
	if !fits {
		byBytes = map[string]int32{}
	}
	for r := range n {
		var id int32
		var ok bool
		var code uint64
		if fits {
			for j := range cols {
				code = code*uint64(len(g.vals[j])) + uint64(g.codes[j][r])
			}
			id, ok = g.local[code]
		} else {
			composite = composite[:0]
			for j := range cols {
				composite = binary.LittleEndian.AppendUint32(composite, uint32(g.codes[j][r]))
			}
			id, ok = byBytes[string(composite)]
		}
		if !ok {
			for j := range cols {
				g.key[j] = g.vals[j][g.codes[j][r]]
			}
			id = int32(len(g.localTo))
			g.localTo = append(g.localTo, g.table.lookup(g.key, &g.buf))
			if fits {
				g.local[code] = id
			} else {
				byBytes[string(composite)] = id
			}
		}
		cells[r] = g.localTo[id]
	}
}

// denseSlack is how many more combined codes than rows a chunk may have
// for assignDense: clearing its table then costs about as much as the rows.
const denseSlack = 4096

// assignDense is assign when the combined codes of the group columns (the
// product of their numbers of distinct values, radix) are few, as with
// dictionary-encoded keys: the code indexes a table of cells instead of a
// map, which is the same assignment at a fraction of the cost per row. One
// and two columns, the common cases, have loops of their own.
func (g *grouper) assignDense(cols []*readers.Column, n, radix int, cells []int) {
	dense := g.denseTable(radix)
	cells = cells[:n]
	switch len(cols) {
	case 1:
		for r, code := range g.codes[0][:n] {
			c := dense[code]
			if c < 0 {
				c = g.denseCell(r)
				dense[code] = c
			}
			cells[r] = int(c)
		}
	case 2:
		c0, c1, k := g.codes[0][:n], g.codes[1][:n], int32(len(g.vals[1]))
		for r := range c0 {
			code := c0[r]*k + c1[r]
			c := dense[code]
			if c < 0 {
				c = g.denseCell(r)
				dense[code] = c
			}
			cells[r] = int(c)
		}
	default:
		for r := range n {
			code := 0
			for j := range cols {
				code = code*len(g.vals[j]) + int(g.codes[j][r])
			}
			c := dense[code]
			if c < 0 {
				c = g.denseCell(r)
				dense[code] = c
			}
			cells[r] = int(c)
		}
	}
}

// dictKey returns the chunk's group column when it is the only one, is
// dictionary-encoded and has no nulls (the most common key), and nil
// otherwise. assign gives such rows their cells by code (assignDict).
func dictKey(cols []*readers.Column, n int) *readers.Column {
	if c := cols; len(c) == 1 && c[0].Codes != nil && c[0].Valid == nil && len(c[0].Dict) < n+denseSlack {
		return c[0]
	}
	return nil
}

// assignDict is assignDense for dictKey's column: a row's code indexes the
// table of cells as it is, with no pass over the rows to make codes first.
// It assigns the same cells, created in the same order.
func (g *grouper) assignDict(c *readers.Column, n int, cells []int) {
	dense := g.denseTable(len(c.Dict))
	cells = cells[:n]
	for r, code := range c.Codes[:n] {
		id := dense[code]
		if id < 0 {
			id = g.newDictCell(c, code)
		}
		cells[r] = int(id)
	}
}

// byCode readies dictCode for a chunk whose group column is c (dictKey's),
// for a caller that needs the cell of a run of rows with one code, not of
// every row: it gives the cells assign would, created in the same order
// as long as the runs are taken in row order.
func (g *grouper) byCode(c *readers.Column) { g.denseTable(len(c.Dict)) }

// dictCell is the cell of code in byCode's column.
func (g *grouper) dictCell(c *readers.Column, code int32) int {
	id := g.dense[code]
	if id < 0 {
		id = g.newDictCell(c, code)
	}
	return int(id)
}

// newDictCell finds (or adds) the cell of code of c, a code new to the
// chunk.
func (g *grouper) newDictCell(c *readers.Column, code int32) int32 {
	g.key[0] = keyValue{s: c.Dict[code]}
	id := int32(g.table.lookup(g.key, &g.buf))
	g.dense[code] = id
	return id
}

// denseTable returns g.dense with size entries, each -1 (no cell yet).
func (g *grouper) denseTable(size int) []int32 {
	if cap(g.dense) < size {
		g.dense = make([]int32, size)
	}
	dense := g.dense[:size]
	for i := range dense {
		dense[i] = -1
	}
	return dense
}

// denseCell is the cell of row r's key, found from its codes.
func (g *grouper) denseCell(r int) int32 {
	for j := range g.key {
		g.key[j] = g.vals[j][g.codes[j][r]]
	}
	return int32(g.table.lookup(g.key, &g.buf))
}

// denseCodes gives every row of c a code into vals, one code per distinct
// value (code 0 is null).
func denseCodes(c *readers.Column, n int, codes []int32, vals []keyValue) ([]int32, []keyValue) {
	codes = slices.Grow(codes, n)[:n]
	vals = append(vals, keyValue{null: true})
	if c.Codes != nil {
		for _, s := range c.Dict {
			vals = append(vals, keyValue{s: s})
		}
		if c.Valid == nil {
			for r, code := range c.Codes[:n] {
				codes[r] = code + 1
			}
			return codes, vals
		}
		for r := range n {
			if c.Null(r) {
				codes[r] = 0
			} else {
				codes[r] = c.Codes[r] + 1
			}
		}
		return codes, vals
	}
	seen := map[keyValue]int32{}
	for r := range n {
		v := keyAt(c, r)
		if v.null {
			codes[r] = 0
			continue
		}
		switch {
		case v.f == 0:
			v.f = 0 // -0 and +0 are one key
		case math.IsNaN(v.f):
			v.f = math.NaN() // one NaN key, whatever its payload
		}
		id, ok := seen[v]
		if !ok {
			id = int32(len(vals))
			seen[v] = id
			vals = append(vals, v)
		}
		codes[r] = id
	}
	return codes, vals
}

// group is one summary row: a grouping set and its key.
type group struct {
	set   int        // -1 for the overall row
	key   []keyValue // over all group columns; null where not in the set
	stats *stats
}

// rollUp builds the overall row and every grouping set's groups from the
// cells, in SPEC §4 order: overall first, then each set in config order
// with keys ascending, nulls last.
func rollUp(ctx context.Context, cells *cellTable, names []string, sets [][]string, newStats func() *stats) ([]*group, error) {
	// The overall row and each grouping set are built from the cells,
	// which they only read, each into its own slot: concurrently, as with
	// many sequences (token task) each is a pass of map merges.
	parts := make([][]*group, len(sets)+1)
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(runtime.GOMAXPROCS(0))
	g.Go(func() error {
		all := &group{set: -1, key: nullKey(len(names)), stats: newStats()}
		for ci, c := range cells.cells {
			if ci%4096 == 0 && ctx.Err() != nil {
				return ctx.Err()
			}
			all.stats.merge(c.stats)
		}
		parts[0] = []*group{all}
		return nil
	})
	for si, set := range sets {
		g.Go(func() error {
			groups, err := rollUpSet(ctx, cells, names, si, set, newStats)
			parts[si+1] = groups
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return slices.Concat(parts...), nil
}

// rollUpSet builds the groups of grouping set si (the columns set) from the
// cells, sorted by key.
func rollUpSet(ctx context.Context, cells *cellTable, names []string, si int, set []string, newStats func() *stats) ([]*group, error) {
	var buf []byte
	cols := make([]int, len(set))
	for k, name := range set {
		cols[k] = slices.Index(names, name)
	}
	index := map[string]*group{}
	var groups []*group
	for ci, c := range cells.cells {
		if ci%4096 == 0 && ctx.Err() != nil {
			return nil, ctx.Err()
		}
		key := nullKey(len(names))
		for _, j := range cols {
			key[j] = c.key[j]
		}
		buf = encodeKey(buf[:0], cells.types, key)
		g, ok := index[string(buf)]
		if !ok {
			g = &group{set: si, key: key, stats: newStats()}
			index[string(buf)] = g
			groups = append(groups, g)
		}
		g.stats.merge(c.stats)
	}
	slices.SortFunc(groups, func(a, b *group) int {
		for _, j := range cols {
			if c := compareKey(a.key[j], b.key[j], cells.types[j]); c != 0 {
				return c
			}
		}
		return 0
	})
	return groups, nil
}

func nullKey(n int) []keyValue {
	k := make([]keyValue, n)
	for i := range k {
		k[i].null = true
	}
	return k
}

// compareKey orders values ascending with nulls last (NaN just before null).
func compareKey(a, b keyValue, t arrow.DataType) int {
	switch {
	case a.null || b.null:
		return boolOrder(a.null, b.null)
	case isFloat(t):
		an, bn := math.IsNaN(a.f), math.IsNaN(b.f)
		if an || bn {
			return boolOrder(an, bn)
		}
		return cmp.Compare(a.f, b.f)
	case isStringType(t):
		return strings.Compare(a.s, b.s)
	case t.ID() == arrow.UINT64:
		return cmp.Compare(uint64(a.i), uint64(b.i))
	default:
		return cmp.Compare(a.i, b.i)
	}
}

// boolOrder puts true after false.
func boolOrder(a, b bool) int {
	switch {
	case a == b:
		return 0
	case a:
		return 1
	}
	return -1
}

func groupSetName(set []string) string { return strings.Join(set, ",") }
