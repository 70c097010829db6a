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
// per token. Row i's cell is s.cells[i].
func (s *scorer) scoreTokenLongFast(ch *readers.Chunk, unit int, tables []*stats) bool {
	return tokenLongFast(s, ch, unit, s.cells, func(c int) *stats { return tables[c] })
}

// tokenLongFast is scoreTokenLongFast with the rows' cells given as group
// numbers: row i is in group groups[i], whose stats are statsOf(groups[i]),
// asked once per run in row order. The group numbers are the cells, or the
// codes of the one dictionary group column (worker.scoreToken), which then
// spares giving every row its cell.
func tokenLongFast[G int | int32](s *scorer, ch *readers.Chunk, unit int, groups []G, statsOf func(G) *stats) bool {
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
	if !metrics.TokenLogprobs(lps) {
		return false
	}
	groups = groups[:n]
	for i := 0; i < n; {
		var j int
		if seqCol.Ints != nil {
			j = runEnd(groups, seqCol.Ints[:n], i)
		} else {
			j = runEnd(groups, seqCol.Codes[:n], i)
		}
		st := statsOf(groups[i])
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

// runEnd returns the end of the run of rows from i on that have row i's
// group and key: the first j > i with another group or key, or
// len(groups). It compares 8 rows at a time, with one branch per 8.
func runEnd[G int | int32, K int32 | int64](groups []G, keys []K, i int) int {
	n := len(groups)
	keys = keys[:n]
	c, k := groups[i], keys[i]
	j := i + 1
	for ; j+8 <= n; j += 8 {
		cs, ks := groups[j:j+8:j+8], keys[j:j+8:j+8]
		d := (cs[0] ^ c) | (cs[1] ^ c) | (cs[2] ^ c) | (cs[3] ^ c) | (cs[4] ^ c) | (cs[5] ^ c) | (cs[6] ^ c) | (cs[7] ^ c)
		e := (ks[0] ^ k) | (ks[1] ^ k) | (ks[2] ^ k) | (ks[3] ^ k) | (ks[4] ^ k) | (ks[5] ^ k) | (ks[6] ^ k) | (ks[7] ^ k)
		if d != 0 || e != 0 {
			break
		}
	}
	for j < n && groups[j] == c && keys[j] == k {
		j++
	}
	return j
}

// someUnlabeled reports whether a row of the chunk has no label row (labels
// in their own files): such rows take the general loop, which counts them.
func (s *scorer) someUnlabeled() bool {
	return s.labelRows != nil && slices.Contains(s.labelRows, -1)
}

// fastScratch is the fast paths' scratch space, part of a worker's scorer.
type fastScratch struct {
	start []int32 // per cell: where its rows begin in the columns below, then a cursor
	// The chunk's rows as columns, grouped by cell: soft labels' scored
	// rows (loss, brier, p, t); hard labels' probabilities and labels (p,
	// label) and, for per-row output, their rows' indexes.
	loss, brier, p, t []float64
	label             []int64
	row               []int32
	// Hard labels: one cell's clipped probabilities, losses, Brier scores
	// and targets at a time.
	cq, closs, cbrier, ct []float64
	// Per cell: its correct and clipped rows.
	correct, clipped []int64
}

// scoreBinaryFast is scoreBinary for chunks without a weight column or
// class weights, with no null, ignored or invalid row. It groups the rows
// by cell (a counting sort), then scores and adds them cell by cell: a
// cell's sums and calibration bins stay in cache for its run of rows, where
// adding rows in input order touches another cell's ~10 cache lines at
// every row. The sums are exact, so the order of the adds does not change
// them.
func (s *scorer) scoreBinaryFast(ch *readers.Chunk, tables []*stats, eps float64) bool {
	p := s.p
	if !fastPaths || p.weightCol >= 0 || len(p.classWeights) > 0 || len(tables) > ch.Len || s.someUnlabeled() {
		return false // (more cells than rows: grouping by cell gains nothing and costs per cell)
	}
	label, pred := ch.Columns[p.labelCol], ch.Columns[p.predCols[0]]
	if label.Valid != nil || pred.Valid != nil {
		return false
	}
	n, cells := ch.Len, len(tables)
	f := &s.fast
	f.countCells(s.cells[:n], cells)
	f.p = slices.Grow(f.p[:0], n)[:n]
	prob := pred.F64
	if prob == nil {
		toFloat64(pred, s.pred)
		prob = s.pred
	}
	prob = prob[:n]
	// Integer labels of the prob kind: hard targets, scored with no branch
	// on the label (metrics.BinaryProbHard), read as integers.
	if p.kind == metrics.Prob && label.Ints != nil && label.Type.ID() != arrow.UINT64 {
		return s.scoreBinaryHard(tables, label.Ints[:n], prob, eps)
	}
	f.growScored(n, cells)
	o := &p.cfg.Options
	toFloat64(label, s.label)
	for i := range n {
		if s.isIgnored(label, i) {
			return false
		}
		t, ok := metrics.BinaryTarget(s.label[i])
		if !ok {
			return false
		}
		row, inv := metrics.Binary(p.kind, prob[i], t, eps, o.Threshold)
		if inv != metrics.Valid {
			return false
		}
		f.place(s.cells[i], row.Loss, metrics.BinaryBrierOf(p.kind, prob[i], row.P, t), row.P, t, row.Correct, row.Clipped)
		if s.perRow {
			s.loss[i] = row.Loss
		}
	}
	// Every row is valid: now, and only now, add them.
	f.addRuns(tables, (*metrics.ClassStats).AddBinaryUnits)
	s.scoredAll(n)
	return true
}

// scoreMulticlassFast is scoreMulticlass for chunks of integer labels and
// one list column of class scores, without a weight column or class
// weights, with no null, ignored or invalid row. Like scoreBinaryFast it
// scores the rows in order into their cells' runs, then adds each cell's
// run as columns (metrics.ClassStats.AddMulticlassUnits), not a row at a
// time with a call per sum.
func (s *scorer) scoreMulticlassFast(ch *readers.Chunk, tables []*stats, eps float64) bool {
	p := s.p
	if !fastPaths || p.weightCol >= 0 || len(p.classWeights) > 0 || len(p.predCols) != 1 || len(tables) > ch.Len || s.someUnlabeled() {
		return false
	}
	label, pred := ch.Columns[p.labelCol], ch.Columns[p.predCols[0]]
	if label.Ints == nil || label.Valid != nil || pred.Offsets == nil || pred.Valid != nil || pred.Elem.Valid != nil {
		return false
	}
	n, c := ch.Len, p.numClasses
	// What the general loop refuses without scoring the row is checked
	// first, so that a chunk it must take costs no scoring twice: the
	// labels (ignored, or no class: a uint64 above MaxInt64 reads as
	// negative) and the lists' lengths.
	labels, offs := label.Ints[:n], pred.Offsets[:n+1]
	for i, v := range labels {
		if v < 0 || v >= int64(c) || s.isIgnored(label, i) || offs[i+1]-offs[i] != c {
			return false
		}
	}
	s.growRow(c)
	f := &s.fast
	f.countCells(s.cells[:n], len(tables))
	f.growScored(n, len(tables))
	o := &p.cfg.Options
	for i, v := range labels {
		scores, why := listRow(pred, i, c, s.predRow)
		if why != "" {
			return false
		}
		row, inv := metrics.Multiclass(p.kind, scores, int(v), nil, o.LabelSmoothing, eps, s.probs)
		if inv != metrics.Valid {
			return false
		}
		f.place(s.cells[i], row.Loss, row.Brier, row.Confidence, float64(b2i(row.Correct)), row.Correct, row.Clipped)
		if s.perRow {
			s.loss[i] = row.Loss
		}
	}
	f.addRuns(tables, (*metrics.ClassStats).AddMulticlassUnits)
	s.scoredAll(n)
	return true
}

// countCells sets start[c] to where cell c's rows begin when a chunk's
// rows (in cells) are grouped by cell; cells is the number of cells.
func (f *fastScratch) countCells(rows []int, cells int) {
	f.start = slices.Grow(f.start[:0], cells+1)[:cells+1]
	clear(f.start)
	for _, c := range rows {
		f.start[c+1]++
	}
	for c := 1; c <= cells; c++ {
		f.start[c] += f.start[c-1]
	}
}

// growScored readies the scored rows' columns (loss, brier, p, t) for n
// rows and the per-cell counts for cells cells.
func (f *fastScratch) growScored(n, cells int) {
	f.p = slices.Grow(f.p[:0], n)[:n]
	f.loss = slices.Grow(f.loss[:0], n)[:n]
	f.brier = slices.Grow(f.brier[:0], n)[:n]
	f.t = slices.Grow(f.t[:0], n)[:n]
	f.correct = slices.Grow(f.correct[:0], cells)[:cells]
	f.clipped = slices.Grow(f.clipped[:0], cells)[:cells]
	clear(f.correct)
	clear(f.clipped)
}

// place puts a scored row of cell c at the next place of the cell's run.
func (f *fastScratch) place(c int, loss, brier, p, t float64, correct, clipped bool) {
	k := f.start[c]
	f.start[c]++
	f.loss[k], f.brier[k], f.p[k], f.t[k] = loss, brier, p, t
	f.correct[c] += b2i(correct)
	f.clipped[c] += b2i(clipped)
}

// addRuns adds each cell's run of placed rows to its statistics with add,
// once every row is placed (start[c] is then where cell c's rows end).
func (f *fastScratch) addRuns(tables []*stats, add func(s *metrics.ClassStats, loss, brier, p, t []float64, correct, clipped int64)) {
	from := int32(0)
	for c, st := range tables {
		to := f.start[c]
		if to > from {
			add(st.class, f.loss[from:to], f.brier[from:to], f.p[from:to], f.t[from:to], f.correct[c], f.clipped[c])
		}
		from = to
	}
}

// scoreBinaryHard is scoreBinaryFast for hard labels (integers) of
// probabilities. It checks every row first, so that scoring cannot refuse
// one once a cell's rows are added; it then moves only the probabilities
// and labels to their cells' runs, and scores each cell's rows
// (metrics.BinaryProbHardRows, 8 at a time) into scratch that stays in L1
// while the cell's sums take them.
func (s *scorer) scoreBinaryHard(tables []*stats, label []int64, prob []float64, eps float64) bool {
	o := &s.p.cfg.Options
	f := &s.fast
	n := len(prob)
	f.label = slices.Grow(f.label[:0], n)[:n]
	// (Locals, not f's fields, which the compiler reloads after every store.)
	start, ps, labels, cells := f.start, f.p, f.label, s.cells[:n]
	label, ignore := label[:n], o.IgnoreIndex
	// Each row is checked as it is moved to its cell's run: the general
	// loop's refusals (not a hard label, ignored, not a probability:
	// checkProb) stop the fast path, which has then changed nothing but
	// its scratch space.
	if s.perRow {
		f.row = slices.Grow(f.row[:0], n)[:n]
		rows := f.row
		for i, c := range cells {
			v, q := label[i], prob[i]
			if !hardRowOK(v, q, ignore) {
				return false
			}
			k := start[c]
			start[c] = k + 1
			ps[k], labels[k], rows[k] = q, v, int32(i)
		}
	} else {
		for i, c := range cells {
			v, q := label[i], prob[i]
			if !hardRowOK(v, q, ignore) {
				return false
			}
			k := start[c]
			start[c] = k + 1
			ps[k], labels[k] = q, v
		}
	}
	// start[c] is now where cell c's rows end.
	from := int32(0)
	for c, st := range tables {
		to := f.start[c]
		if to == from {
			continue
		}
		m := int(to - from)
		if cap(f.cq) < m {
			f.cq, f.closs, f.cbrier, f.ct = make([]float64, m), make([]float64, m), make([]float64, m), make([]float64, m)
		}
		ps, labels := f.p[from:to], f.label[from:to]
		q, loss, brier, t := f.cq[:m], f.closs[:m], f.cbrier[:m], f.ct[:m]
		if !metrics.BinaryProbHardRows(loss, brier, q, ps, labels, eps) {
			panic("pipeline: a probability checked to be in [0, 1] was refused")
		}
		var correct, clipped int64
		for k, pk := range ps {
			positive := labels[k] == 1
			correct += b2i((pk >= o.Threshold) == positive)
			clipped += b2i(q[k] != pk)
			t[k] = float64(b2i(positive))
		}
		st.class.AddBinaryUnits(loss, brier, ps, t, correct, clipped)
		if s.perRow {
			for k, i := range f.row[from:to] {
				s.loss[i] = loss[k]
			}
		}
		from = to
	}
	s.scoredAll(n)
	return true
}

// hardRowOK reports whether the general loop would score a row of hard
// label v and probability q as it is: a label in {-1, 0, 1} other than
// the ignore index, a probability in [0, 1] (checkProb).
func hardRowOK(v int64, q float64, ignore int64) bool {
	return v >= -1 && v <= 1 && v != ignore && q >= 0 && q <= 1 // (false for a NaN q)
}

// scoredAll marks the chunk's n rows scored, for per-row output.
func (s *scorer) scoredAll(n int) {
	if s.perRow {
		for i := range n {
			s.scored[i] = true
		}
	}
}

// b2i is 1 for true, 0 for false.
func b2i(b bool) int64 {
	if b {
		return 1
	}
	return 0
}
