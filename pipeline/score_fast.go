package pipeline

import (
	"slices"

	"github.com/apache/arrow/go/v17/arrow"

	"github.com/evaljob/evaljob/pipeline/metrics"
	"github.com/evaljob/evaljob/readers"
)

// Fast paths for the common shapes of the hot per-row loops of score.go and
// score_tasks.go. Each one handles a chunk whole or not at all: it first
// checks that every row of the chunk takes the plain way through the
// general loop (no null, no invalid value, no weight, no text columns), and
// otherwise reports false having changed nothing, so the general loop runs
// and settles errors and invalid rows as always. Where it does run, it adds
// the same terms to the same statistics as the general loop (tests compare
// the two paths' outputs byte for byte).
//
// Any new per-row rule in the general loops (a new column) must be excluded
// here in the guard, or the fast path taught it. A join is one: a chunk
// whose rows all found their label row takes the fast path like any other
// (the label column is gathered before scoring), one with an unlabeled row
// does not.

// fastPaths turns the fast paths on; tests turn it off to compare.
var fastPaths = true

// scoreTokenLongFast is scoreToken for the long layout (one row per token, a
// scalar log-probability) with an integer or dictionary sequence column and
// no weight, bytes or words column, in runs of consecutive rows of one cell
// and one sequence: one sequence lookup and one count per run, one exact add
// per token.
func (s *scorer) scoreTokenLongFast(ch *readers.Chunk, unit int, tables []*stats) bool {
	p := s.p
	if !fastPaths || p.layout != tokenLong || p.seqCol < 0 || p.weightCol >= 0 || p.bytesCol >= 0 || p.wordsCol >= 0 || s.someUnlabeled() {
		return false
	}
	pred, seqCol := ch.Columns[p.predCols[0]], ch.Columns[p.seqCol]
	if pred.Valid != nil || seqCol.Valid != nil || (seqCol.Ints == nil && seqCol.Codes == nil) {
		return false // nulls in the chunk, or a float or plain string sequence
	}
	n := ch.Len
	lps := s.pred[:n]
	toFloat64(pred, lps)
	for i, a := range lps {
		v, inv := metrics.TokenLogprob(a)
		if inv != metrics.Valid {
			return false
		}
		lps[i] = v
	}
	ints, codes := seqCol.Ints, seqCol.Codes
	for i := 0; i < n; {
		c := s.cells[i]
		j := i + 1
		if ints != nil {
			for j < n && s.cells[j] == c && ints[j] == ints[i] {
				j++
			}
		} else {
			for j < n && s.cells[j] == c && codes[j] == codes[i] {
				j++
			}
		}
		st := tables[c]
		seq, v := s.sequence(ch, st, unit, i)
		if v.why != "" {
			panic("pipeline: a non-null integer or dictionary sequence value was refused: " + v.why)
		}
		st.tok.Rows += int64(j - i)
		seq.stats.AddUnitLogprobs(lps[i:j])
		i = j
	}
	return true
}

// someUnlabeled reports whether a row of the chunk has no label row (labels
// in their own files): such rows take the general loop, which counts them.
func (s *scorer) someUnlabeled() bool {
	return s.labelRows != nil && slices.Contains(s.labelRows, -1)
}

// fastScratch is the fast paths' scratch space, part of a worker's scorer.
type fastScratch struct {
	start []int32 // per cell: where its rows begin in the columns below, then a cursor
	// The chunk's scored rows as columns, grouped by cell.
	loss, brier, p, t []float64
	// Hard labels: the chunk's clipped probabilities, losses and Brier
	// scores, in input order.
	q, rowLoss, rowBrier []float64
	// Per cell: its correct and clipped rows.
	correct, clipped []int64
}

// scoreBinaryFast is scoreBinary for chunks without a weight column or
// class weights, with no null, ignored or invalid row. It scores the rows in
// input order, then adds them to their cells' statistics cell by cell
// (rows grouped by a counting sort): a cell's sums and calibration bins
// stay in cache for its run of rows, where adding rows in input order
// touches another cell's ~10 cache lines at every row. The sums are exact,
// so the order of the adds does not change them.
func (s *scorer) scoreBinaryFast(ch *readers.Chunk, tables []*stats, eps float64) bool {
	p, o := s.p, &s.p.cfg.Options
	if !fastPaths || p.weightCol >= 0 || len(p.classWeights) > 0 || len(tables) > ch.Len || s.someUnlabeled() {
		return false // (more cells than rows: grouping by cell gains nothing and costs per cell)
	}
	label, pred := ch.Columns[p.labelCol], ch.Columns[p.predCols[0]]
	if label.Valid != nil || pred.Valid != nil {
		return false
	}
	n, cells := ch.Len, len(tables)
	f := &s.fast
	// Count the rows of each cell; start[c] becomes where cell c's rows go.
	f.start = slices.Grow(f.start[:0], cells+1)[:cells+1]
	clear(f.start)
	for _, c := range s.cells[:n] {
		f.start[c+1]++
	}
	for c := 1; c <= cells; c++ {
		f.start[c] += f.start[c-1]
	}
	if cap(f.loss) < n {
		f.loss, f.brier, f.p, f.t = make([]float64, n), make([]float64, n), make([]float64, n), make([]float64, n)
		f.q, f.rowLoss, f.rowBrier = make([]float64, n), make([]float64, n), make([]float64, n)
	}
	f.correct = slices.Grow(f.correct[:0], cells)[:cells]
	f.clipped = slices.Grow(f.clipped[:0], cells)[:cells]
	clear(f.correct)
	clear(f.clipped)
	// Integer labels of the prob kind: hard targets, scored with no branch
	// on the label (metrics.BinaryProbHard), read as integers.
	hard := p.kind == metrics.Prob && label.Ints != nil && label.Type.ID() != arrow.UINT64
	if !hard {
		toFloat64(label, s.label)
	}
	toFloat64(pred, s.pred)
	if hard {
		for _, v := range label.Ints[:n] {
			if v < -1 || v > 1 || v == o.IgnoreIndex {
				return false // not a hard label, or ignored: the general loop says
			}
		}
		// The rows of metrics.BinaryProbHard, 8 at a time.
		if !metrics.BinaryProbHardRows(f.rowLoss, f.rowBrier, f.q, s.pred[:n], label.Ints[:n], eps) {
			return false
		}
	}
	for i := range n {
		var row metrics.BinaryRow
		var t, brier float64
		if hard {
			prob, positive := s.pred[i], label.Ints[i] == 1
			row = metrics.BinaryRow{Loss: f.rowLoss[i], P: prob, Correct: (prob >= o.Threshold) == positive, Clipped: f.q[i] != prob}
			t, brier = float64(b2i(positive)), f.rowBrier[i]
		} else {
			if s.isIgnored(label, i) {
				return false
			}
			var ok bool
			if t, ok = metrics.BinaryTarget(s.label[i]); !ok {
				return false
			}
			var inv metrics.Invalid
			if row, inv = metrics.Binary(p.kind, s.pred[i], t, eps, o.Threshold); inv != metrics.Valid {
				return false
			}
			brier = metrics.BinaryBrierOf(p.kind, s.pred[i], row.P, t)
		}
		c := s.cells[i]
		k := f.start[c]
		f.start[c]++
		f.loss[k], f.brier[k], f.p[k], f.t[k] = row.Loss, brier, row.P, t
		f.correct[c] += b2i(row.Correct)
		f.clipped[c] += b2i(row.Clipped)
		if s.perRow {
			s.loss[i] = row.Loss
		}
	}
	// Every row is valid: now, and only now, add them. start[c] is now
	// where cell c's rows end.
	from := int32(0)
	for c, st := range tables {
		to := f.start[c]
		if to > from {
			st.class.AddBinaryUnits(f.loss[from:to], f.brier[from:to], f.p[from:to], f.t[from:to], f.correct[c], f.clipped[c])
		}
		from = to
	}
	if s.perRow {
		for i := range n {
			s.scored[i] = true
		}
	}
	return true
}

// b2i is 1 for true, 0 for false.
func b2i(b bool) int64 {
	if b {
		return 1
	}
	return 0
}
