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

// sequenceRows lists every cell's sequences in order of first appearance,
// for rows.parquet: a sequence there is identified by all group_by columns
// and its sequence value.
func sequenceRows(cells *cellTable) []seqRow {
	var out []seqRow
	for _, c := range cells.cells {
		if c.stats.seqs == nil {
			continue
		}
		for _, e := range c.stats.seqs.index {
			out = append(out, seqRow{cell: c, seq: e})
		}
	}
	slices.SortFunc(out, func(a, b seqRow) int { return a.seq.first.compare(b.seq.first) })
	return out
}

// finishSequences adds a group's complete sequences to its token stats. A
// group's sequences were merged from its cells by sequence value alone, so
// within a grouping set a sequence is identified by the set's keys and its
// sequence value (SPEC §3), and in the overall row by its value only.
//
// Groups own their sequences, so they are finished concurrently (a
// sequence costs an exact quotient and an exp; there may be 100k and more).
func finishSequences(groups []*group) {
	var wg sync.WaitGroup
	next := make(chan *group)
	for range min(runtime.GOMAXPROCS(0), len(groups)) {
		wg.Go(func() {
			for g := range next {
				for _, e := range g.stats.seqs.index {
					g.stats.tok.AddSequence(&e.stats)
				}
				g.stats.seqs = nil
			}
		})
	}
	for _, g := range groups {
		if g.stats.seqs != nil {
			next <- g
		}
	}
	close(next)
	wg.Wait()
}

// seqRow is one sequence for rows.parquet.
type seqRow struct {
	cell *cell
	seq  *seqEntry
}
