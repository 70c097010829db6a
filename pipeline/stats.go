package pipeline

import (
	"cmp"
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
			s.seqs = &seqTable{index: map[string]*seqEntry{}}
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
	// Once finished (finishSequences): its cross_entropy, kept for
	// rows.parquet.
	finished bool
	ce       metrics.Opt
}

// seqTable holds a cell's sequences by their encoded sequence value.
type seqTable struct {
	index map[string]*seqEntry
}

func (t *seqTable) get(key []byte, value keyValue, at rowPos) *seqEntry {
	e, ok := t.index[string(key)]
	if !ok {
		e = &seqEntry{value: value, first: at}
		t.index[string(key)] = e
	} else if at.compare(e.first) < 0 {
		e.first = at
	}
	return e
}

// merge adds o's sequences to t. A key new to t reuses o's key string, and
// an empty t is sized for o, so merging (once per grouping set, 100k
// sequences and more) allocates only the new entries.
func (t *seqTable) merge(o *seqTable) {
	if len(t.index) == 0 {
		t.index = make(map[string]*seqEntry, len(o.index))
	}
	for key, oe := range o.index {
		e, ok := t.index[key]
		if !ok {
			e = &seqEntry{value: oe.value, first: oe.first}
			t.index[key] = e
		} else if oe.first.compare(e.first) < 0 {
			e.first = oe.first
		}
		e.stats.Merge(&oe.stats)
	}
}

// take is merge for an o that is dropped afterwards: o's entries (and, if t
// is empty, o's map) become t's, so only sequences in both are merged.
func (t *seqTable) take(o *seqTable) {
	if len(t.index) == 0 {
		t.index = o.index
		return
	}
	for key, oe := range o.index {
		e, ok := t.index[key]
		if !ok {
			t.index[key] = oe
			continue
		}
		if oe.first.compare(e.first) < 0 {
			e.first = oe.first
		}
		e.stats.Merge(&oe.stats)
	}
}

// sequenceRows lists every cell's sequences, for rows.parquet, where a
// sequence is identified by all group_by columns and its sequence value;
// sortSequences puts them in order of first appearance.
func sequenceRows(cells *cellTable) []seqRow {
	n := 0
	for _, c := range cells.cells {
		if c.stats.seqs != nil {
			n += len(c.stats.seqs.index)
		}
	}
	out := make([]seqRow, 0, n)
	for _, c := range cells.cells {
		if c.stats.seqs == nil {
			continue
		}
		for _, e := range c.stats.seqs.index {
			out = append(out, seqRow{cell: c, seq: e, first: e.first})
		}
	}
	return out
}

// sortSequences sorts rows by first appearance. It reads only the rows,
// not their entries, so it may run while the entries are finished.
func sortSequences(rows []seqRow) {
	// Each row holds its sort key: comparing through the entries' pointers
	// was a cache miss per comparison (100k sequences: 45 -> 27 ms).
	slices.SortFunc(rows, func(a, b seqRow) int { return a.first.compare(b.first) })
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
				for _, e := range s.seqs.index {
					e.ce, e.finished = s.tok.AddSequence(&e.stats), true
				}
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

// sequencesApart reports whether no sequence value is in two cells.
func sequencesApart(cells *cellTable) bool {
	if len(cells.cells) < 2 {
		return true
	}
	n := 0
	for _, c := range cells.cells {
		if c.stats.seqs != nil {
			n += len(c.stats.seqs.index)
		}
	}
	seen := make(map[string]struct{}, n)
	for _, c := range cells.cells {
		if c.stats.seqs == nil {
			continue
		}
		for key := range c.stats.seqs.index {
			if _, ok := seen[key]; ok {
				return false
			}
			seen[key] = struct{}{}
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
