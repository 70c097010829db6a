package pipeline

import (
	"cmp"
	"math/bits"
	"runtime"
	"slices"
	"sync"

	"github.com/evaljob/evaljob/pipeline/metrics"
)

// stats are the sufficient statistics of a cell or a group. Which field is
// set depends on the task: class for binary, multiclass and multilabel, reg
// for regression, tok (and, in cells, seqs) for token.
type stats struct {
	class *metrics.ClassStats
	reg   *metrics.RegStats
	tok   *metrics.TokenStats
	seqs  *seqTable // token cells only: sequences until they are complete
	// unlabeled counts the rows no label row matched (labels in their own
	// files, unmatched: skip).
	unlabeled int64
}

func newStats(task string, bins int, withSeqs bool) *stats {
	switch task {
	case "regression":
		return &stats{reg: &metrics.RegStats{}}
	case "token":
		s := &stats{tok: &metrics.TokenStats{}}
		if withSeqs {
			s.seqs = &seqTable{}
		}
		return s
	}
	return &stats{class: metrics.NewClassStats(bins)}
}

func (s *stats) merge(o *stats) {
	s.unlabeled += o.unlabeled
	switch {
	case s.class != nil:
		s.class.Merge(o.class)
	case s.reg != nil:
		s.reg.Merge(o.reg)
	default:
		s.tok.Merge(o.tok)
		if s.seqs != nil && o.seqs != nil {
			s.seqs.merge(o.seqs)
		}
	}
}

func (s *stats) addInvalid() {
	switch {
	case s.class != nil:
		s.class.InvalidRows++
	case s.reg != nil:
		s.reg.InvalidRows++
	default:
		s.tok.InvalidRows++
	}
}

func (s *stats) addIgnored() {
	switch {
	case s.class != nil:
		s.class.IgnoredRows++
	case s.tok != nil:
		s.tok.IgnoredRows++
	}
}

// counts are the int64 count columns of SPEC §4 (2).
func (s *stats) counts() (rows, invalid, ignored, clipped int64) {
	switch {
	case s.class != nil:
		return s.class.Rows, s.class.InvalidRows, s.class.IgnoredRows, s.class.ClippedRows
	case s.reg != nil:
		return s.reg.Rows, s.reg.InvalidRows, 0, 0
	default:
		return s.tok.Rows, s.tok.InvalidRows, s.tok.IgnoredRows, 0
	}
}

// rowPos is a row's place in the input: unit (in input order), then row.
type rowPos struct {
	unit int
	row  int64
}

func (a rowPos) compare(b rowPos) int {
	if c := cmp.Compare(a.unit, b.unit); c != 0 {
		return c
	}
	return cmp.Compare(a.row, b.row)
}

// seqEntry is one token sequence of a cell.
type seqEntry struct {
	value keyValue // the sequence column's value (unset without one)
	first rowPos   // where it first appears
	stats metrics.SeqStats
}

// seqTable holds a cell's sequences: by value for an integer sequence
// column (an int64 key hashes and compares without reaching into memory
// elsewhere), otherwise by the encoded sequence value (encodeKey, or a
// row's own key in the list layout without a sequence column). A plan uses
// one of the two for all its tables (plan.seqInts).
//
// An integer table whose sequences came in increasing order of value (a
// file written sequence by sequence in order of id, the usual case) has no
// map: order is sorted by value, a new sequence is one past the last, and
// no row pays a hash lookup (one was ~240 ns of cache misses a sequence).
// The first value out of order builds the map (index), for good.
type seqTable struct {
	ints map[int64]*seqEntry // an integer table's, once indexed
	keys map[string]*seqEntry
	// order is every entry, in the order they were added, or by value
	// while an integer table is not indexed. Passes over all of them
	// (entries) take it, not the maps, whose order is random: 100k
	// sequences finished in map order cost ~240 ns each in cache misses,
	// in this order they read their slabs front to back.
	order   []*seqEntry
	indexed bool // an integer table has ints (and order is not sorted)
	// slab is entries not handed out yet: allocated as many at a time as
	// the table holds, up to 256 (a table may gain 100k sequences and more
	// one by one, and a cell may have only one).
	slab []seqEntry
}

func (t *seqTable) len() int { return len(t.order) }

// entries calls yield for every sequence, in order (see seqTable.order).
func (t *seqTable) entries(yield func(*seqEntry)) {
	for _, e := range t.order {
		yield(e)
	}
}

// sortedInts reports whether t is an integer table without a map, its
// order sorted by value. An empty table is one.
func (t *seqTable) sortedInts() bool { return !t.indexed && len(t.keys) == 0 }

// alloc returns a new entry for value, first seen at at, from the slab.
func (t *seqTable) alloc(value keyValue, at rowPos) *seqEntry {
	if len(t.slab) == 0 {
		t.slab = make([]seqEntry, min(max(t.len(), 1), 256))
	}
	e := &t.slab[0]
	t.slab = t.slab[1:]
	e.value, e.first = value, at
	return e
}

// newEntry is alloc, the entry added to order (the caller adds it to its
// map).
func (t *seqTable) newEntry(value keyValue, at rowPos) *seqEntry {
	e := t.alloc(value, at)
	t.order = append(t.order, e)
	return e
}

// index gives an integer table its map, for good.
func (t *seqTable) index() {
	if t.indexed {
		return
	}
	t.ints = make(map[int64]*seqEntry, len(t.order))
	for _, e := range t.order {
		t.ints[e.value.i] = e
	}
	t.indexed = true
}

// getInt returns the sequence whose integer value is value.i, adding it if
// new, and moves its first appearance to at if at is earlier.
func (t *seqTable) getInt(value keyValue, at rowPos) *seqEntry {
	if !t.indexed {
		n := len(t.order)
		if n == 0 || value.i > t.order[n-1].value.i {
			return t.newEntry(value, at)
		}
		if e := t.order[n-1]; e.value.i == value.i {
			e.seenAt(at)
			return e
		}
		t.index()
	}
	e, ok := t.ints[value.i]
	if !ok {
		e = t.newEntry(value, at)
		t.ints[value.i] = e
	} else {
		e.seenAt(at)
	}
	return e
}

// get is getInt for a sequence by its encoded key.
func (t *seqTable) get(key []byte, value keyValue, at rowPos) *seqEntry {
	if t.keys == nil {
		t.keys = map[string]*seqEntry{}
	}
	e, ok := t.keys[string(key)]
	if !ok {
		e = t.newEntry(value, at)
		t.keys[string(key)] = e
	} else {
		e.seenAt(at)
	}
	return e
}

// merge adds o's sequences to t. A key new to t reuses o's key string, and
// an empty map of t is sized for o's, so merging (once per grouping set,
// 100k sequences and more) allocates only the new entries.
func (t *seqTable) merge(o *seqTable) { t.mergeFrom(o, false) }

// take is merge for an o that is dropped afterwards: o's entries (and
// all of o, where t is empty) become t's, so only sequences in both are
// merged.
func (t *seqTable) take(o *seqTable) {
	if t.len() == 0 {
		t.ints, t.keys, t.order, t.indexed = o.ints, o.keys, o.order, o.indexed
		return
	}
	t.mergeFrom(o, true)
}

// mergeFrom is merge, or take (adopt: o's entries new to t become t's).
// Two sorted integer tables merge as sorted lists, and stay unindexed;
// integer sequences otherwise are taken in o's order (their value is
// their key), so that new entries keep it; encoded keys in their map's.
func (t *seqTable) mergeFrom(o *seqTable, adopt bool) {
	from := func(oe *seqEntry) *seqEntry {
		if adopt {
			return oe
		}
		e := t.alloc(oe.value, oe.first)
		e.stats.Merge(&oe.stats)
		return e
	}
	switch {
	case o.len() == 0:
	case len(o.keys) > 0:
		if t.keys == nil {
			t.keys = make(map[string]*seqEntry, len(o.keys))
		}
		for key, oe := range o.keys {
			if e, ok := t.keys[key]; ok {
				mergeEntry(e, oe)
				continue
			}
			e := from(oe)
			t.keys[key] = e
			t.order = append(t.order, e)
		}
	case t.sortedInts() && o.sortedInts():
		a, b := t.order, o.order
		out := make([]*seqEntry, 0, len(a)+len(b))
		i, j := 0, 0
		for i < len(a) && j < len(b) {
			switch x, y := a[i].value.i, b[j].value.i; {
			case x < y:
				out = append(out, a[i])
				i++
			case x > y:
				out = append(out, from(b[j]))
				j++
			default:
				mergeEntry(a[i], b[j])
				out = append(out, a[i])
				i++
				j++
			}
		}
		out = append(out, a[i:]...)
		for _, oe := range b[j:] {
			out = append(out, from(oe))
		}
		t.order = out
	default:
		t.index()
		for _, oe := range o.order {
			if e, ok := t.ints[oe.value.i]; ok {
				mergeEntry(e, oe)
				continue
			}
			e := from(oe)
			t.ints[oe.value.i] = e
			t.order = append(t.order, e)
		}
	}
}

// mergeEntry adds o, a piece of e's sequence, to e.
func mergeEntry(e, o *seqEntry) {
	e.seenAt(o.first)
	e.stats.Merge(&o.stats)
}

// seenAt moves e's first appearance to at if at is earlier.
func (e *seqEntry) seenAt(at rowPos) {
	if at.compare(e.first) < 0 {
		e.first = at
	}
}

// sequenceRows lists every cell's sequences, for rows.parquet, where a
// sequence is identified by all group_by columns and its sequence value;
// sortSequences puts them in order of first appearance.
func sequenceRows(cells *cellTable) []seqRow {
	n := 0
	for _, c := range cells.cells {
		if c.stats.seqs != nil {
			n += c.stats.seqs.len()
		}
	}
	out := make([]seqRow, 0, n)
	for _, c := range cells.cells {
		if c.stats.seqs == nil {
			continue
		}
		c.stats.seqs.entries(func(e *seqEntry) {
			out = append(out, seqRow{cell: c, seq: e, first: e.first})
		})
	}
	return out
}

// sortSequences sorts rows by first appearance. It reads only the rows,
// not their entries, so it may run while the entries are finished.
func sortSequences(rows []seqRow) {
	if radixSequences(rows) {
		return
	}
	// Each row holds its sort key: comparing through the entries' pointers
	// was a cache miss per comparison (100k sequences: 45 -> 27 ms).
	slices.SortFunc(rows, func(a, b seqRow) int { return a.first.compare(b.first) })
}

// radixSequences is sortSequences by a radix sort of one uint64 per row:
// its unit, its row and its index in rows, packed. It reports false,
// leaving rows as they were, when they do not fit in 64 bits. (100k
// sequences: 10 ms of comparisons in slices.SortFunc, 1 ms here.)
//
// No two rows have the same first appearance (a row is in one cell and,
// there, in one sequence), so the order is the comparison sort's.
func radixSequences(rows []seqRow) bool {
	var maxUnit, maxRow uint64
	for _, r := range rows {
		if r.first.unit < 0 || r.first.row < 0 {
			return false
		}
		maxUnit = max(maxUnit, uint64(r.first.unit))
		maxRow = max(maxRow, uint64(r.first.row))
	}
	rowBits, idxBits := bits.Len64(maxRow), bits.Len(uint(max(len(rows), 1)-1))
	keyBits := bits.Len64(maxUnit) + rowBits
	if keyBits+idxBits > 64 {
		return false
	}
	keys := make([]uint64, len(rows))
	for i, r := range rows {
		keys[i] = (uint64(r.first.unit)<<rowBits|uint64(r.first.row))<<idxBits | uint64(i)
	}
	// The index bits need no pass: no two keys are equal above them.
	keys = radixSort(keys, make([]uint64, len(keys)), idxBits, idxBits+keyBits)
	sorted := make([]seqRow, len(rows))
	for i, k := range keys {
		sorted[i] = rows[k&(1<<idxBits-1)]
	}
	copy(rows, sorted)
	return true
}

// radixDigit is the width of radixSort's digits: 2^11 counts stay in L1.
const radixDigit = 11

// radixSort sorts keys by their bits lo to hi (hi exclusive), least
// significant digit first, each pass a stable counting sort into the other
// of keys and tmp (as long as keys); it returns the one holding the result.
// A digit that all keys share is skipped.
func radixSort(keys, tmp []uint64, lo, hi int) []uint64 {
	var count [1 << radixDigit]int
	for shift := lo; shift < hi; shift += radixDigit {
		width := min(radixDigit, hi-shift)
		mask := uint64(1)<<width - 1
		clear(count[:])
		for _, k := range keys {
			count[k>>shift&mask]++
		}
		if len(keys) > 0 && count[keys[0]>>shift&mask] == len(keys) {
			continue
		}
		at := 0
		for d, c := range count[:mask+1] {
			count[d] = at
			at += c
		}
		for _, k := range keys {
			d := k >> shift & mask
			tmp[count[d]] = k
			count[d]++
		}
		keys, tmp = tmp, keys
	}
	return keys
}

// finishSequences adds the complete sequences of each of the stats (groups'
// or cells') to its token stats and drops them.
//
// A group's sequences were merged from its cells by sequence value alone,
// so within a grouping set a sequence is identified by the set's keys and
// its sequence value (SPEC §3), and in the overall row by its value only.
// When no sequence value is in two cells (sequencesApart), a group's
// sequences are exactly its cells' sequences: then each cell's are
// finished in the cell, before the roll-up, whose exact sums give the
// groups the same bits without merging a sequence per group.
//
// The stats own their sequences, so they are finished concurrently (a
// sequence costs an exact quotient and an exp; there may be 100k and more).
func finishSequences(all []*stats) {
	var wg sync.WaitGroup
	next := make(chan *stats)
	for range min(runtime.GOMAXPROCS(0), len(all)) {
		wg.Go(func() {
			for s := range next {
				s.seqs.entries(func(e *seqEntry) { s.tok.AddSequence(&e.stats) })
				s.seqs = nil
			}
		})
	}
	for _, s := range all {
		if s.seqs != nil {
			next <- s
		}
	}
	close(next)
	wg.Wait()
}

func cellStats(t *cellTable) []*stats {
	all := make([]*stats, len(t.cells))
	for i, c := range t.cells {
		all[i] = c.stats
	}
	return all
}

func groupStats(groups []*group) []*stats {
	all := make([]*stats, len(groups))
	for i, g := range groups {
		all[i] = g.stats
	}
	return all
}

// sequencesApart reports whether no sequence value is in two cells. A
// cell holds a value once, so integer values are apart when, all cells'
// values sorted together, no two neighbours are equal; encoded keys go
// through a set.
func sequencesApart(cells *cellTable) bool {
	if len(cells.cells) < 2 {
		return true
	}
	ni, nk := 0, 0
	for _, c := range cells.cells {
		if t := c.stats.seqs; t != nil {
			if len(t.keys) > 0 {
				nk += len(t.keys)
			} else {
				ni += t.len()
			}
		}
	}
	ints := make([]uint64, 0, ni)
	keys := make(map[string]struct{}, nk)
	for _, c := range cells.cells {
		t := c.stats.seqs
		if t == nil {
			continue
		}
		if len(t.keys) == 0 {
			for _, e := range t.order {
				ints = append(ints, uint64(e.value.i))
			}
			continue
		}
		for key := range t.keys {
			if _, ok := keys[key]; ok {
				return false
			}
			keys[key] = struct{}{}
		}
	}
	ints = radixSort(ints, make([]uint64, len(ints)), 0, 64)
	for i := 1; i < len(ints); i++ {
		if ints[i] == ints[i-1] {
			return false
		}
	}
	return true
}

// seqRow is one sequence for rows.parquet.
type seqRow struct {
	first rowPos // seq.first
	cell  *cell
	seq   *seqEntry
}
