package pipeline

import (
	"fmt"

	"github.com/evaljob/evaljob/pipeline/metrics"
	"github.com/evaljob/evaljob/readers"
)

// ---- multilabel ----

func (s *scorer) scoreMultilabel(ch *readers.Chunk, tables []*stats, eps float64) error {
	p := s.p
	if p.weightCol >= 0 {
		toFloat64(ch.Columns[p.weightCol], s.weight)
	}
	for i := range ch.Len {
		st := tables[s.cells[i]]
		if skip, err := s.unlabeled(ch, st, i); skip || err != nil {
			if err != nil {
				return err
			}
			continue
		}
		loss, clipped, w, v := s.multilabelRow(ch, i, p.numClasses, eps)
		if v.why != "" {
			if err := s.bad(ch, st, i, v.col, v.value, v.why); err != nil {
				return err
			}
			continue
		}
		st.class.AddLoss(w, loss, clipped)
		for k, r := range s.pairs[:p.numClasses] {
			t := s.targetRow[k]
			st.class.AddPair(w, r.Correct, s.pairBrier[k], r.P, t, t)
		}
		s.loss[i], s.scored[i] = loss, true
	}
	return nil
}

// multilabelRow checks and scores row i with l labels: its loss is the mean
// of the labels' binary losses; the labels' own results are left in s.pairs
// and s.pairBrier, and their targets in s.targetRow.
func (s *scorer) multilabelRow(ch *readers.Chunk, i, l int, eps float64) (float64, bool, float64, verdict) {
	p := s.p
	if len(s.predRow) < l {
		s.predRow, s.targetRow, s.probs = make([]float64, l), make([]float64, l), make([]float64, l)
		s.pairs, s.pairBrier = make([]metrics.BinaryRow, l), make([]float64, l)
	}
	label, pred := ch.Columns[p.labelCol], ch.Columns[p.predCols[0]]
	if label.Null(i) {
		return 0, false, 0, verdict{why: "label is null", col: p.labelCol, value: nullValue}
	}
	targets, why := listRow(label, i, l, s.targetRow)
	if why != "" {
		return 0, false, 0, s.invalid(ch, i, p.labelCol, why)
	}
	for k, y := range targets { // targets may alias s.targetRow: entry k is read before it is written
		t, ok := metrics.BinaryTarget(y)
		if !ok {
			return 0, false, 0, entryFault(p.labelCol, k, formatFloat(y), "a label must be 1/true, 0/false/-1 or a soft target in (0, 1)")
		}
		s.targetRow[k] = t
	}
	if pred.Null(i) {
		return 0, false, 0, verdict{why: "prediction is null", col: p.predCols[0], value: nullValue}
	}
	preds, why := listRow(pred, i, l, s.predRow)
	if why != "" {
		return 0, false, 0, s.invalid(ch, i, p.predCols[0], why)
	}
	w, ok := s.weightAt(ch, i)
	if !ok {
		return 0, false, 0, s.invalid(ch, i, p.weightCol, metrics.WeightDomain.String())
	}
	var sum float64
	clipped := false
	for k, x := range preds {
		r, inv := metrics.Binary(p.kind, x, s.targetRow[k], eps, p.cfg.Options.Threshold)
		if inv != metrics.Valid {
			return 0, false, 0, entryFault(p.predCols[0], k, formatFloat(x), inv.String())
		}
		s.pairs[k], s.pairBrier[k] = r, metrics.BinaryBrierOf(p.kind, x, r.P, s.targetRow[k])
		sum += r.Loss
		clipped = clipped || r.Clipped
	}
	return sum / float64(l), clipped, w, verdict{}
}

// ---- regression ----

func (s *scorer) scoreRegression(ch *readers.Chunk, tables []*stats) error {
	p := s.p
	label, pred := ch.Columns[p.labelCol], ch.Columns[p.predCols[0]]
	toFloat64(label, s.label)
	toFloat64(pred, s.pred)
	if p.weightCol >= 0 {
		toFloat64(ch.Columns[p.weightCol], s.weight)
	}
	for i := range ch.Len {
		st := tables[s.cells[i]]
		if skip, err := s.unlabeled(ch, st, i); skip || err != nil {
			if err != nil {
				return err
			}
			continue
		}
		var v verdict
		switch {
		case label.Null(i):
			v = verdict{why: "label is null", col: p.labelCol, value: nullValue}
		case pred.Null(i):
			v = verdict{why: "prediction is null", col: p.predCols[0], value: nullValue}
		default:
			if inv := metrics.RegressionOK(s.pred[i], s.label[i]); inv != metrics.Valid {
				col := p.predCols[0]
				if metrics.RegressionOK(s.pred[i], 0) == metrics.Valid {
					col = p.labelCol
				}
				v = s.invalid(ch, i, col, inv.String())
			}
		}
		w, ok := 0.0, false
		if v.why == "" {
			if w, ok = s.weightAt(ch, i); !ok {
				v = s.invalid(ch, i, p.weightCol, metrics.WeightDomain.String())
			}
		}
		if v.why != "" {
			if err := s.bad(ch, st, i, v.col, v.value, v.why); err != nil {
				return err
			}
			continue
		}
		st.reg.Add(w, s.pred[i], s.label[i])
		e := s.pred[i] - s.label[i]
		s.loss[i], s.scored[i] = e*e, true
	}
	return nil
}

// ---- token ----

// tokenLayout is how a token task's rows are shaped.
type tokenLayout int

const (
	tokenLong   tokenLayout = iota // one row per token, a scalar log-probability
	tokenLogits                    // one row per token, a logit list and the target id in label
	tokenList                      // one row per sequence, a list of log-probabilities
)

// textAt reads row i's bytes and words (0 without those columns); ok is
// false, naming the column, for a null or negative value.
func (s *scorer) textAt(ch *readers.Chunk, i int) (bytes, words float64, v verdict) {
	p := s.p
	if p.bytesCol < 0 && p.wordsCol < 0 {
		return 0, 0, verdict{}
	}
	for _, c := range []struct {
		col  int
		vals []float64
		dst  *float64
	}{{p.bytesCol, s.bytes, &bytes}, {p.wordsCol, s.words, &words}} {
		if c.col < 0 {
			continue
		}
		col := ch.Columns[c.col]
		if col.Null(i) || !(c.vals[i] >= 0) || c.vals[i] > 1e300 {
			return 0, 0, s.invalid(ch, i, c.col, "must be a count >= 0")
		}
		*c.dst = c.vals[i]
	}
	return bytes, words, verdict{}
}

// sequence finds row i's sequence in its cell: by the sequence column's
// value, or (list layout without one) the row itself.
//
// Consecutive rows usually belong to one sequence, so the previous row's
// sequence is remembered: a row with the same cell and value skips the
// lookup. (A worker reads its rows in increasing input order, so the
// remembered sequence's first appearance cannot move earlier.)
func (s *scorer) sequence(ch *readers.Chunk, st *stats, unit, i int) (*seqEntry, verdict) {
	p := s.p
	at := rowPos{unit: unit, row: ch.FirstRow + int64(i)}
	s.seqKey = s.seqKey[:0]
	var value keyValue
	if p.seqCol >= 0 {
		col := ch.Columns[p.seqCol]
		if col.Null(i) {
			return nil, verdict{why: "sequence is null", col: p.seqCol, value: nullValue}
		}
		value = keyAt(col, i)
		if value.f != value.f { // NaN: only a float sequence column has one
			return nil, verdict{why: "sequence is NaN", col: p.seqCol, value: "NaN"}
		}
		if s.lastSeq != nil && s.lastStats == st && s.lastValue == value {
			return s.lastSeq, verdict{}
		}
		var e *seqEntry
		if p.seqInts {
			e = st.seqs.getInt(value, at)
		} else {
			s.seqKey = encodeKey(s.seqKey, p.seqType, []keyValue{value})
			e = st.seqs.get(s.seqKey, value, at)
		}
		s.lastSeq, s.lastStats, s.lastValue = e, st, value
		return e, verdict{}
	}
	s.seqKey = fmt.Appendf(s.seqKey, "%d/%d", at.unit, at.row) // the row is its own sequence
	return st.seqs.get(s.seqKey, value, at), verdict{}
}

// seenSequence records that row i, which is not scored (ignored, invalid
// or unlabeled), belongs to its sequence, in the long layouts: the
// sequence's row in rows.parquet comes in order of its first appearance in
// the input, and is there (0 tokens, null loss) when none of its rows was
// scored (SPEC §4). A row whose sequence value is itself null or NaN
// belongs to none. The summary does not change: a sequence without a
// scored token adds nothing to it, so without per-row output none is made
// (2M invalid rows of 2M sequences: 65 MB, not 329).
func (s *scorer) seenSequence(ch *readers.Chunk, st *stats, unit, i int) {
	if s.p.layout != tokenList && s.p.cfg.Output.PerRow { // only rows.parquet shows it
		s.sequence(ch, st, unit, i)
	}
}

// scoreToken is the token task's general loop, row by row (the worker
// tries the fast path first: worker.scoreToken).
func (s *scorer) scoreToken(ch *readers.Chunk, unit int, tables []*stats) error {
	p := s.p
	if p.weightCol >= 0 {
		toFloat64(ch.Columns[p.weightCol], s.weight)
	}
	if p.bytesCol >= 0 {
		toFloat64(ch.Columns[p.bytesCol], s.bytes)
	}
	if p.wordsCol >= 0 {
		toFloat64(ch.Columns[p.wordsCol], s.words)
	}
	if p.layout == tokenLong {
		toFloat64(ch.Columns[p.predCols[0]], s.pred)
	}
	for i := range ch.Len {
		st := tables[s.cells[i]]
		if skip, err := s.unlabeled(ch, st, i); skip || err != nil {
			if err != nil {
				return err
			}
			s.seenSequence(ch, st, unit, i)
			continue
		}
		if p.layout == tokenLogits {
			if skip, err := s.ignoredOrNull(ch, st, ch.Columns[p.labelCol], i); skip || err != nil {
				if err != nil {
					return err
				}
				s.seenSequence(ch, st, unit, i)
				continue
			}
		}
		nll, tokens, v := s.tokenRow(ch, i)
		var bytes, words, w float64
		if v.why == "" {
			bytes, words, v = s.textAt(ch, i)
		}
		if v.why == "" {
			var ok bool
			if w, ok = s.weightAt(ch, i); !ok {
				v = s.invalid(ch, i, p.weightCol, metrics.WeightDomain.String())
			}
		}
		var seq *seqEntry
		if v.why == "" {
			seq, v = s.sequence(ch, st, unit, i)
		}
		if v.why != "" {
			if err := s.bad(ch, st, i, v.col, v.value, v.why); err != nil {
				return err
			}
			s.seenSequence(ch, st, unit, i)
			continue
		}
		st.tok.Rows++
		if p.layout == tokenList {
			var rowNLL float64
			for _, a := range s.lps[:tokens] {
				seq.stats.AddToken(w, -a)
				rowNLL -= a
			}
			if tokens > 0 {
				s.loss[i], s.scored[i] = rowNLL/float64(tokens), true
			}
		} else {
			seq.stats.AddToken(w, nll)
		}
		if (p.bytesCol >= 0 || p.wordsCol >= 0) && tokens > 0 { // bytes of the scored text only
			seq.stats.AddText(w, bytes, words)
		}
	}
	return nil
}

// tokenRow checks row i's prediction. Long and logit layouts give the
// token's nll; the list layout leaves the scored log-probabilities in s.lps
// and gives their number.
func (s *scorer) tokenRow(ch *readers.Chunk, i int) (float64, int, verdict) {
	p := s.p
	pc := p.predCols[0]
	pred := ch.Columns[pc]
	if pred.Null(i) {
		return 0, 0, verdict{why: "prediction is null", col: pc, value: nullValue}
	}
	switch p.layout {
	case tokenLong:
		a, inv := metrics.TokenLogprob(s.pred[i])
		if inv != metrics.Valid {
			return 0, 0, s.invalid(ch, i, pc, inv.String())
		}
		return -a, 1, verdict{}
	case tokenLogits:
		n := pred.Offsets[i+1] - pred.Offsets[i]
		if cap(s.logits) < n {
			s.logits = make([]float64, n)
		}
		z, why := listRow(pred, i, n, s.logits[:n])
		if why != "" {
			return 0, 0, s.invalid(ch, i, pc, why)
		}
		nll, inv := metrics.TokenLogitNLL(z, int(ch.Columns[p.labelCol].Ints[i]))
		switch inv {
		case metrics.Valid:
			return nll, 1, verdict{}
		case metrics.LabelDomain:
			return 0, 0, s.invalid(ch, i, p.labelCol, fmt.Sprintf("target token id outside [0, %d)", n))
		}
		for k, v := range z {
			if outOfDomain(metrics.Logit, v) {
				return 0, 0, entryFault(pc, k, formatFloat(v), inv.String())
			}
		}
		return 0, 0, s.invalid(ch, i, pc, inv.String())
	}
	// list layout
	lo, hi := pred.Offsets[i], pred.Offsets[i+1]
	var mask *readers.Column
	if p.maskCol >= 0 {
		mask = ch.Columns[p.maskCol]
		if mask.Null(i) {
			return 0, 0, verdict{why: "mask is null", col: p.maskCol, value: nullValue}
		}
		if m := mask.Offsets[i+1] - mask.Offsets[i]; m != hi-lo {
			return 0, 0, s.invalid(ch, i, p.maskCol, fmt.Sprintf("mask has %d entries, the prediction %d", m, hi-lo))
		}
	}
	s.lps = s.lps[:0]
	e := pred.Elem
	for k := lo; k < hi; k++ {
		if mask != nil {
			on, ok := maskAt(mask, mask.Offsets[i]+k-lo)
			if !ok {
				return 0, 0, entryFault(p.maskCol, k-lo, scalarText(mask.Elem, mask.Offsets[i]+k-lo), "a mask entry must be true/1 (scored) or false/0")
			}
			if !on {
				continue // a masked-out position is not checked
			}
		}
		if e.Valid != nil && !e.Valid[k] {
			return 0, 0, entryFault(pc, k-lo, nullValue, "log-probability is null")
		}
		var raw float64
		if e.F64 != nil {
			raw = e.F64[k]
		} else {
			raw = float64(e.F32[k])
		}
		a, inv := metrics.TokenLogprob(raw)
		if inv != metrics.Valid {
			return 0, 0, entryFault(pc, k-lo, formatFloat(raw), inv.String())
		}
		s.lps = append(s.lps, a)
	}
	return 0, len(s.lps), verdict{}
}

// maskAt reads mask slot k: true or 1 is scored, false or 0 is not; ok is
// false for a null or any other value.
func maskAt(mask *readers.Column, k int) (on, ok bool) {
	e := mask.Elem
	switch {
	case e.Valid != nil && !e.Valid[k]:
		return false, false
	case e.Bools != nil:
		return e.Bools[k], true
	}
	var v float64
	switch {
	case e.Ints != nil:
		v = float64(e.Ints[k])
	case e.F32 != nil:
		v = float64(e.F32[k])
	case e.F64 != nil:
		v = e.F64[k]
	}
	return v == 1, v == 0 || v == 1
}
