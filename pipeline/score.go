package pipeline

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/apache/arrow/go/v17/arrow"

	"github.com/evaljob/evaljob/evalerr"
	"github.com/evaljob/evaljob/pipeline/metrics"
	"github.com/evaljob/evaljob/readers"
)

// scorer holds one worker's scratch space for scoring chunks. Nothing in
// it is shared between workers.
type scorer struct {
	p      *plan
	cells  []int
	loss   []float64
	scored []bool
	label  []float64
	pred   []float64
	weight []float64
	// multiclass and multilabel rows
	predRow   []float64
	targetRow []float64
	probs     []float64
	pairs     []metrics.BinaryRow
	pairBrier []float64 // multilabel: the Brier score of each pair
	// token
	bytes, words []float64
	logits       []float64
	lps          []float64
	seqKey       []byte
	// the previous row's sequence (see sequence)
	lastSeq   *seqEntry
	lastStats *stats
	lastValue keyValue
	// labelRows is the label row of each row when labels are in their own
	// files (-1: unmatched), nil otherwise.
	labelRows []int32
	fast      fastScratch // score_fast.go
	// perRow: rows.parquet has a row per input row, so loss and scored
	// must be filled (the binary fast path skips them otherwise).
	perRow bool
}

func (s *scorer) grow(n int) {
	if cap(s.cells) < n {
		s.cells = make([]int, n)
		s.loss = make([]float64, n)
		s.scored = make([]bool, n)
		s.label = make([]float64, n)
		s.pred = make([]float64, n)
		s.weight = make([]float64, n)
		s.bytes = make([]float64, n)
		s.words = make([]float64, n)
	}
	s.bytes, s.words = s.bytes[:n], s.words[:n]
	s.cells, s.loss, s.scored = s.cells[:n], s.loss[:n], s.scored[:n]
	s.label, s.pred, s.weight = s.label[:n], s.pred[:n], s.weight[:n]
	clear(s.scored)
}

// bad reports an invalid row: an error under on_invalid: error, a count
// under skip.
func (s *scorer) bad(ch *readers.Chunk, st *stats, row, col int, value string, why string) error {
	if s.p.skipInvalid {
		st.addInvalid()
		return nil
	}
	err := errors.New(why)
	if s.fromLabels(col) {
		path, rg, r := s.p.labels.place(int(s.labelRows[row]))
		err = fmt.Errorf("%s (the value is in the label file %s, row group %d, row %d)", why, path, rg, r)
	}
	return &evalerr.InputError{Path: ch.Path, RowGroup: ch.RowGroup, Row: ch.FirstRow + int64(row),
		Column: s.p.columns[col], Value: value, Err: err}
}

// fromLabels reports whether column col of the chunks comes from the label
// files.
func (s *scorer) fromLabels(col int) bool {
	return s.labelRows != nil && col >= s.p.readCols
}

// unlabeled settles a row that no label row matched (labels in their own
// files): an error under unmatched: error, counted in unlabeled_rows under
// skip.
func (s *scorer) unlabeled(ch *readers.Chunk, st *stats, i int) (bool, error) {
	if s.labelRows == nil || s.labelRows[i] >= 0 {
		return false, nil
	}
	if s.p.skipUnmatched {
		st.unlabeled++
		return true, nil
	}
	return true, s.p.unmatchedError(ch, i)
}

const nullValue = "null"

// ignoredOrNull settles rows that are not scored because of their label:
// an integer label equal to ignore_index is ignored (nothing else of the
// row is checked), a null label is invalid.
func (s *scorer) ignoredOrNull(ch *readers.Chunk, st *stats, label *readers.Column, i int) (bool, error) {
	if label.Null(i) {
		return true, s.bad(ch, st, i, s.p.labelCol, nullValue, "label is null")
	}
	if s.isIgnored(label, i) {
		st.addIgnored()
		return true, nil
	}
	return false, nil
}

// isIgnored reports whether row i of a (non-null) integer label column
// equals ignore_index. A uint64 label is compared by value, not by bits.
func (s *scorer) isIgnored(label *readers.Column, i int) bool {
	if label.Ints == nil {
		return false
	}
	v := label.Ints[i]
	if v < 0 && label.Type.ID() == arrow.UINT64 {
		return false
	}
	return v == s.p.cfg.Options.IgnoreIndex
}

// weightAt gives row i's sample weight (1 without a weight column).
func (s *scorer) weightAt(ch *readers.Chunk, i int) (float64, bool) {
	if s.p.weightCol < 0 {
		return 1, true
	}
	if ch.Columns[s.p.weightCol].Null(i) {
		return 0, false
	}
	return s.weight[i], metrics.WeightOK(s.weight[i])
}

func (s *scorer) scoreBinary(ch *readers.Chunk, tables []*stats, eps float64) error {
	if s.scoreBinaryFast(ch, tables, eps) {
		return nil
	}
	p, o := s.p, &s.p.cfg.Options
	label, pred := ch.Columns[p.labelCol], ch.Columns[p.predCols[0]]
	toFloat64(label, s.label)
	toFloat64(pred, s.pred)
	if p.weightCol >= 0 {
		toFloat64(ch.Columns[p.weightCol], s.weight)
	}
	cw := p.classWeights
	for i := range ch.Len {
		st := tables[s.cells[i]]
		if skip, err := s.unlabeled(ch, st, i); skip || err != nil {
			if err != nil {
				return err
			}
			continue
		}
		if skip, err := s.ignoredOrNull(ch, st, label, i); skip || err != nil {
			if err != nil {
				return err
			}
			continue
		}
		t, ok := metrics.BinaryTarget(s.label[i])
		if !ok {
			if err := s.bad(ch, st, i, p.labelCol, scalarText(label, i), "binary label must be 1/true, 0/false/-1 or a soft target in (0, 1)"); err != nil {
				return err
			}
			continue
		}
		if pred.Null(i) {
			if err := s.bad(ch, st, i, p.predCols[0], nullValue, "prediction is null"); err != nil {
				return err
			}
			continue
		}
		w, ok := s.weightAt(ch, i)
		if !ok {
			if err := s.bad(ch, st, i, p.weightCol, scalarText(ch.Columns[p.weightCol], i), metrics.WeightDomain.String()); err != nil {
				return err
			}
			continue
		}
		if len(cw) == 2 {
			w *= (1-t)*cw[0] + t*cw[1]
		}
		row, inv := metrics.Binary(p.kind, s.pred[i], t, eps, o.Threshold)
		if inv != metrics.Valid {
			if err := s.bad(ch, st, i, p.predCols[0], formatFloat(s.pred[i]), inv.String()); err != nil {
				return err
			}
			continue
		}
		st.class.Add(w, row.Loss, row.Correct, metrics.BinaryBrierOf(p.kind, s.pred[i], row.P, t), row.P, t, t, row.Clipped)
		s.loss[i], s.scored[i] = row.Loss, true
	}
	return nil
}

func (s *scorer) scoreMulticlass(ch *readers.Chunk, tables []*stats, eps float64) error {
	if s.scoreMulticlassFast(ch, tables, eps) {
		return nil
	}
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
		row, w, v := s.multiclassRow(ch, i, p.numClasses, eps)
		switch {
		case v.ignored:
			st.addIgnored()
		case v.why != "":
			if err := s.bad(ch, st, i, v.col, v.value, v.why); err != nil {
				return err
			}
		default:
			outcome := 0.0
			if row.Correct {
				outcome = 1
			}
			st.class.Add(w, row.Loss, row.Correct, row.Brier, row.Confidence, outcome, 0, row.Clipped)
			s.loss[i], s.scored[i] = row.Loss, true
		}
	}
	return nil
}

// verdict says why a row is not scored: ignored, or invalid (why, with the
// column at fault and its value).
type verdict struct {
	ignored bool
	why     string
	col     int
	value   string
}

func (s *scorer) invalid(ch *readers.Chunk, i, col int, why string) verdict {
	return verdict{why: why, col: col, value: rowText(ch.Columns[col], i)}
}

// growRow readies the per-row scratch (predRow, targetRow, probs) for c
// classes.
func (s *scorer) growRow(c int) {
	if len(s.predRow) < c {
		s.predRow, s.targetRow, s.probs = make([]float64, c), make([]float64, c), make([]float64, c)
	}
}

// multiclassRow scores row i with c classes. The weight column must have
// been converted into s.weight.
func (s *scorer) multiclassRow(ch *readers.Chunk, i, c int, eps float64) (metrics.MulticlassRow, float64, verdict) {
	p, o := s.p, &s.p.cfg.Options
	var none metrics.MulticlassRow
	s.growRow(c)
	label := ch.Columns[p.labelCol]
	if label.Null(i) {
		return none, 0, verdict{why: "label is null", col: p.labelCol, value: nullValue}
	}
	if s.isIgnored(label, i) {
		return none, 0, verdict{ignored: true}
	}
	predRow, col, why := s.predictionRow(ch, i, c)
	if why != "" {
		return none, 0, s.invalid(ch, i, col, why)
	}
	y := -1
	var target []float64
	if label.Ints != nil {
		v := label.Ints[i]
		if v < 0 || v >= int64(c) { // a uint64 above MaxInt64 reads as negative
			return none, 0, s.invalid(ch, i, p.labelCol, fmt.Sprintf("class index outside [0, %d)", c))
		}
		y = int(v)
	} else {
		target, why = listRow(label, i, c, s.targetRow)
		if why == "" {
			if inv := metrics.MulticlassTarget(target); inv != metrics.Valid {
				why = inv.String()
			}
		}
		if why != "" {
			return none, 0, s.invalid(ch, i, p.labelCol, why)
		}
	}
	w, ok := s.weightAt(ch, i)
	if !ok {
		return none, 0, s.invalid(ch, i, p.weightCol, metrics.WeightDomain.String())
	}
	if cw := p.classWeights; len(cw) == c {
		if target == nil {
			w *= cw[y]
		} else {
			var m float64
			for k, t := range target {
				m += t * cw[k]
			}
			w *= m
		}
	}
	row, inv := metrics.Multiclass(p.kind, predRow, y, target, o.LabelSmoothing, eps, s.probs)
	switch inv {
	case metrics.Valid:
		return row, w, verdict{}
	case metrics.LabelDomain, metrics.TargetSum:
		return none, 0, s.invalid(ch, i, p.labelCol, inv.String())
	}
	return none, 0, s.predictionFault(ch, i, predRow, inv)
}

// predictionFault names the prediction column at fault: with one column
// per class, the first column whose own value is out of its domain (or all
// of them, for a problem of the row as a whole, like the sum).
func (s *scorer) predictionFault(ch *readers.Chunk, i int, row []float64, inv metrics.Invalid) verdict {
	cols := s.p.predCols
	for k, v := range row {
		if outOfDomain(s.p.kind, v) {
			if len(cols) == 1 { // a list: name the entry
				return entryFault(cols[0], k, formatFloat(v), inv.String())
			}
			return s.invalid(ch, i, cols[k], inv.String())
		}
	}
	if len(cols) == 1 {
		return s.invalid(ch, i, cols[0], inv.String())
	}
	names := make([]string, len(cols))
	values := make([]string, len(cols))
	for k, c := range cols {
		names[k] = s.p.columns[c]
		values[k] = formatFloat(row[k])
	}
	// The verdict's col indexes s.p.columns; report the first and list all.
	return verdict{why: fmt.Sprintf("%s (columns %s)", inv, strings.Join(names, ", ")), col: cols[0],
		value: "[" + strings.Join(values, " ") + "]"}
}

// entryFault is a verdict on entry k of a list column: the message names
// the entry and shows its value, not the whole list.
func entryFault(col, k int, value, why string) verdict {
	return verdict{why: fmt.Sprintf("entry %d: %s", k, why), col: col, value: value}
}

// outOfDomain reports whether a single class score is invalid by itself.
func outOfDomain(kind metrics.Kind, v float64) bool {
	switch {
	case math.IsNaN(v):
		return true
	case kind == metrics.Prob:
		return v < 0 || v > 1
	case kind == metrics.Logprob:
		return v > 1e-6
	default:
		return math.IsInf(v, 1)
	}
}

// predictionRow gathers row i's class scores: a list column's slots, or
// one scalar column per class. On a problem it names the column and why.
func (s *scorer) predictionRow(ch *readers.Chunk, i, c int) ([]float64, int, string) {
	p := s.p
	if len(p.predCols) == 1 {
		col := ch.Columns[p.predCols[0]]
		if col.Null(i) {
			return nil, p.predCols[0], "prediction is null"
		}
		row, why := listRow(col, i, c, s.predRow)
		return row, p.predCols[0], why
	}
	for k, ci := range p.predCols {
		col := ch.Columns[ci]
		if col.Null(i) {
			return nil, ci, "prediction is null"
		}
		if col.F64 != nil {
			s.predRow[k] = col.F64[i]
		} else {
			s.predRow[k] = float64(col.F32[i])
		}
	}
	return s.predRow[:c], -1, ""
}

// listRow returns row i of a numeric list column as float64 (aliasing the
// column's storage when it is a float64 list without nulls).
func listRow(col *readers.Column, i, c int, scratch []float64) ([]float64, string) {
	if col.Null(i) {
		return nil, "list is null"
	}
	lo, hi := col.Offsets[i], col.Offsets[i+1]
	if hi-lo != c {
		return nil, fmt.Sprintf("list has %d entries, the task has %d classes", hi-lo, c)
	}
	e := col.Elem
	if e.Valid != nil {
		for k := lo; k < hi; k++ {
			if !e.Valid[k] {
				return nil, fmt.Sprintf("entry %d is null", k-lo)
			}
		}
	}
	dst := scratch[:c]
	switch {
	case e.F64 != nil:
		return e.F64[lo:hi], ""
	case e.F32 != nil:
		metrics.Widen(dst, e.F32[lo:hi])
	case e.Ints != nil:
		unsigned := e.Type.ID() == arrow.UINT64
		for k, v := range e.Ints[lo:hi] {
			if unsigned {
				dst[k] = float64(uint64(v))
			} else {
				dst[k] = float64(v)
			}
		}
	case e.Bools != nil:
		for k, v := range e.Bools[lo:hi] {
			dst[k] = 0
			if v {
				dst[k] = 1
			}
		}
	}
	return dst, ""
}

// toFloat64 converts a numeric or bool scalar column to float64, once per
// chunk (values of null rows are unspecified).
func toFloat64(c *readers.Column, dst []float64) {
	n := c.Len
	switch {
	case c.F64 != nil:
		copy(dst, c.F64[:n])
	case c.F32 != nil:
		metrics.Widen(dst, c.F32[:n])
	case c.Ints != nil:
		if c.Type.ID() == arrow.UINT64 {
			for i, v := range c.Ints[:n] {
				dst[i] = float64(uint64(v))
			}
			return
		}
		for i, v := range c.Ints[:n] {
			dst[i] = float64(v)
		}
	case c.Bools != nil:
		for i, v := range c.Bools[:n] {
			dst[i] = 0
			if v {
				dst[i] = 1
			}
		}
	}
}

func formatFloat(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

// scalarText formats row i of a scalar column for an error message.
func scalarText(c *readers.Column, i int) string {
	if c.Null(i) {
		return nullValue
	}
	switch {
	case c.F64 != nil:
		return formatFloat(c.F64[i])
	case c.F32 != nil:
		return strconv.FormatFloat(float64(c.F32[i]), 'g', -1, 32)
	case c.Ints != nil:
		if c.Type.ID() == arrow.UINT64 {
			return strconv.FormatUint(uint64(c.Ints[i]), 10)
		}
		return strconv.FormatInt(c.Ints[i], 10)
	case c.Bools != nil:
		return strconv.FormatBool(c.Bools[i])
	}
	return strconv.Quote(c.String(i))
}

// rowText formats row i of a scalar or list column for an error message,
// showing at most 8 list entries.
func rowText(c *readers.Column, i int) string {
	if c == nil || c.Offsets == nil || c.Null(i) {
		if c == nil {
			return ""
		}
		return scalarText(c, i)
	}
	lo, hi := c.Offsets[i], c.Offsets[i+1]
	var b strings.Builder
	b.WriteByte('[')
	for k := lo; k < hi && k < lo+8; k++ {
		if k > lo {
			b.WriteByte(' ')
		}
		b.WriteString(scalarText(c.Elem, k))
	}
	if hi-lo > 8 {
		fmt.Fprintf(&b, " ... (%d entries)", hi-lo)
	}
	b.WriteByte(']')
	return b.String()
}
