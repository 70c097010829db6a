package metrics

import (
	"math"
	"math/big"
	"math/bits"
)

// ClassStats holds the sufficient statistics of one group of a classification
// task (binary, multiclass; multilabel pairs). Counts are plain; every sum is
// exact, so partials merge in any order to the same bits.
//
// Its memory grows with the data it saw, not with the number of bins: about
// 330 bytes; once a row with a non-zero weight arrives, 8 bytes per bin for
// the bin table and 128 bytes for each bin that a row reached; and 8 bytes per
// limb of each Sum's window (3 to 8 limbs for typical data). A group that saw
// a handful of rows costs 0.8 to 1.25 KB, one that saw many rows of typical
// values (losses, weights and probabilities within a few powers of ten) 2.5
// to 4.2 KB with 15 bins (measured in memory_test.go).
type ClassStats struct {
	Rows, InvalidRows, IgnoredRows, ClippedRows int64

	// The exact sums. Terms that are exactly 1 (those of rows with weight 1:
	// their weight, its square, a correct row's weight, a label or outcome of
	// 1) are not in the Sums but counted in the unit counters below, as an
	// integer add is ~10x cheaper than Sum.Add; the sum's value is the Sum
	// plus its counter, folded together exactly (units) when statistics are
	// summarised. Read them through Summary.
	Weight   Sum // sum w (+ units)
	WeightSq Sum // sum w^2 (+ units)
	Loss     Sum // sum w·loss
	LossSq   Sum // sum w·loss^2
	Correct  Sum // sum w over correct rows (+ unitCorrect)
	Brier    Sum // sum w·brier
	Label    Sum // sum w·label (+ unitLabel)
	// The sum of w·confidence is not kept apart: every pair adds
	// w·confidence to exactly one calibration bin, so it is the sum of the
	// bins' confidence sums (prediction).

	units       int64 // rows of weight 1 (AddLoss, Add): terms 1 of Weight and WeightSq
	unitCorrect int64 // correct pairs of weight 1: terms 1 of Correct
	unitLabel   int64 // pairs of weight 1 with label 1: terms 1 of Label
	unitPairs   int64 // pairs of weight 1 once pair is materialised: terms 1 of pair

	// pair is the companion denominator, the sum of the pair weights, once it
	// differs from Weight. While every row has exactly one pair (Add) it is nil
	// and Weight is the denominator; the first direct AddLoss or AddPair with a
	// non-zero weight (or a Merge with such statistics) materialises it as a
	// copy of Weight, and from then on Add adds to it too.
	pair *Sum

	// cal[b] holds the sums of calibration bin b; cal and each bin are
	// allocated when a row with a non-zero weight first reaches them.
	cal  []*calBin
	bins int
}

// calBin holds the sums of one calibration bin.
type calBin struct {
	weight     Sum // sum w (+ units)
	confidence Sum // sum w·confidence
	outcome    Sum // sum w·outcome (+ unitOutcome)

	units       int64 // pairs of weight 1: terms 1 of weight
	unitOutcome int64 // pairs of weight 1 with outcome 1: terms 1 of outcome

	// The confidences of weight-1 pairs in [2^-11, 2), terms of
	// confidence kept apart in units of 2^-63: each is an integer below
	// 2^64 in those units, so adding one is an integer add with carry,
	// where Sum.Add costs ~4 ns.
	unitConf fixed128
}

// fixed128 is an unsigned 128-bit integer hi·2^64 + lo. As a sum of fewer
// than 2^63 terms below 2^64 it cannot overflow.
type fixed128 struct{ lo, hi uint64 }

// add adds o.
func (x *fixed128) add(o fixed128) {
	var carry uint64
	x.lo, carry = bits.Add64(x.lo, o.lo, 0)
	x.hi += o.hi + carry
}

// unitConfMin and unitConfMax bound the biased exponents of the
// confidences that addUnitConfidence keeps in the fixed-point sum: those of
// [2^-11, 2), whose significands shifted left by e - unitConfMin are the
// values in units of 2^-63.
const (
	unitConfMin = 1023 - 11
	unitConfMax = 1023
)

// unitConfFixed returns x in units of 2^-63 when x is in [2^-11, 2), the
// range of the fixed-point confidence sums, and false otherwise (a
// smaller, negative, zero or non-finite x).
func unitConfFixed(x float64) (uint64, bool) {
	b := math.Float64bits(x)
	shift := b>>52 - unitConfMin // (unsigned: huge below unitConfMin, and for a sign bit)
	return (b&(1<<52-1) | 1<<52) << (shift & 63), shift <= unitConfMax-unitConfMin
}

// addUnitConfidence adds the confidence x of a weight-1 pair to c's
// confidence sum: to the fixed-point sum when it is in its range, to the
// Sum otherwise.
func (c *calBin) addUnitConfidence(x float64) {
	if u, ok := unitConfFixed(x); ok {
		c.unitConf.add(fixed128{lo: u})
		return
	}
	c.confidence.Add(x)
}

// foldConfidence moves the fixed-point confidence sum into the Sum.
func (c *calBin) foldConfidence() {
	const pos = -63 - unitExponent // the position of the unit 2^-63 (see Sum.addInt)
	f := c.unitConf
	for i, v := range [3]uint64{f.lo & digitMask, f.lo >> digitBits, f.hi} {
		if v != 0 {
			c.confidence.addInt(int64(v), uint(pos+digitBits*i))
		}
	}
	c.unitConf = fixed128{}
}

// b2i is 1 for true, 0 for false.
func b2i(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// addCount adds the integer n >= 0 to s exactly: as two float64 parts,
// each exact, so that any int64 count is exact.
func addCount(s *Sum, n int64) {
	if n == 0 {
		return
	}
	s.Add(float64(n &^ (1<<32 - 1)))
	s.Add(float64(n & (1<<32 - 1)))
}

// plusCount returns a new Sum holding s + n; s does not change.
func plusCount(s *Sum, n int64) *Sum {
	var c Sum
	c.Merge(s)
	addCount(&c, n)
	return &c
}

// fold moves the unit counters into the Sums (the value does not change),
// so that the Sums alone hold the statistics.
func (s *ClassStats) fold() {
	addCount(&s.Weight, s.units)
	addCount(&s.WeightSq, s.units)
	addCount(&s.Correct, s.unitCorrect)
	addCount(&s.Label, s.unitLabel)
	if s.pair != nil {
		addCount(s.pair, s.unitPairs)
	}
	s.units, s.unitCorrect, s.unitLabel, s.unitPairs = 0, 0, 0, 0
	for _, c := range s.cal {
		if c != nil {
			addCount(&c.weight, c.units)
			addCount(&c.outcome, c.unitOutcome)
			c.units, c.unitOutcome = 0, 0
			c.foldConfidence()
		}
	}
}

// NewClassStats returns empty statistics with bins calibration bins.
// bins must be at least 1.
func NewClassStats(bins int) *ClassStats {
	if bins < 1 {
		panic("metrics: NewClassStats needs at least one calibration bin")
	}
	return &ClassStats{bins: bins}
}

// bin returns the sums of calibration bin b, allocating them on first use.
func (s *ClassStats) bin(b int) *calBin {
	if s.cal == nil {
		s.cal = make([]*calBin, s.bins)
	}
	c := s.cal[b]
	if c == nil {
		c = new(calBin)
		s.cal[b] = c
	}
	return c
}

// Add adds one scored row. w is the final row weight (sample weight × class
// weight), already accepted by WeightOK. For binary rows confidence is P,
// outcome and label are the target t; for multiclass rows confidence is the
// top-label confidence, outcome is 1 if correct else 0, and label is unused (0).
//
// Every product is added exactly (Sum.AddProduct). A row with w == 0 counts
// in Rows (and ClippedRows) and adds nothing to the sums, so 0·Inf never
// makes a NaN.
//
// Add is AddLoss followed by AddPair: a row with exactly one (row, label)
// pair. The results are the same bits, but Add does not keep a separate
// pair-weight sum while every row is added this way.
func (s *ClassStats) Add(w, loss float64, correct bool, brier, confidence, outcome, label float64, clipped bool) {
	s.Rows++
	if clipped {
		s.ClippedRows++
	}
	switch w {
	case 0:
		return
	case 1:
		s.addUnit(loss, correct, brier, confidence, outcome, label)
		return
	}
	s.Weight.Add(w)
	s.WeightSq.AddProduct(w, w)
	s.Loss.AddProduct(w, loss)
	addWeightedSquare(&s.LossSq, w, loss)
	if s.pair != nil {
		s.pair.Add(w)
	}
	s.addCompanions(w, correct, brier, confidence, outcome, label)
}

// addCompanions adds the companion terms of one pair with weight w (not 0 or 1).
func (s *ClassStats) addCompanions(w float64, correct bool, brier, confidence, outcome, label float64) {
	if correct {
		s.Correct.Add(w)
	}
	s.Brier.AddProduct(w, brier)
	s.Label.AddProduct(w, label)
	c := s.bin(Bin(confidence, s.bins))
	c.weight.Add(w)
	c.confidence.AddProduct(w, confidence)
	c.outcome.AddProduct(w, outcome)
}

// addUnit is Add for w == 1, where every product is the value itself.
func (s *ClassStats) addUnit(loss float64, correct bool, brier, confidence, outcome, label float64) {
	s.units++
	s.Loss.Add(loss)
	addSquare(&s.LossSq, loss)
	if s.pair != nil {
		s.unitPairs++
	}
	s.addUnitCompanions(correct, brier, confidence, outcome, label)
}

// addUnitCompanions is addCompanions for w == 1.
func (s *ClassStats) addUnitCompanions(correct bool, brier, confidence, outcome, label float64) {
	// The 0/1 values are counted without a branch on them: they are as
	// random as the data, and a mispredicted branch costs more than the add.
	s.unitCorrect += b2i(correct)
	s.Brier.Add(brier)
	if label == 0 || label == 1 {
		s.unitLabel += int64(label)
	} else {
		s.Label.Add(label)
	}
	c := s.bin(Bin(confidence, s.bins))
	c.units++
	c.addUnitConfidence(confidence)
	if outcome == 0 || outcome == 1 {
		c.unitOutcome += int64(outcome)
	} else {
		c.outcome.Add(outcome)
	}
}

// AddBinaryUnits adds binary rows of weight 1 given as columns: the same
// bits as Add(1, loss[i], correct_i, brier[i], confidence[i], target[i],
// target[i], clipped_i) for each i, where correct and clipped count the
// rows that are correct and clipped. The columns have one length. It adds
// each column with Sum.AddSlice, where Add pays a call per term.
func (s *ClassStats) AddBinaryUnits(loss, brier, confidence, target []float64, correct, clipped int64) {
	s.addUnits(loss, brier, confidence, target, correct, clipped, true)
}

// AddMulticlassUnits is AddBinaryUnits for multiclass rows: the same bits
// as Add(1, loss[i], correct_i, brier[i], confidence[i], outcome[i], 0,
// clipped_i) for each i, where outcome[i] is 1 for a correct row and 0
// otherwise, and correct and clipped count the rows that are correct and
// clipped.
func (s *ClassStats) AddMulticlassUnits(loss, brier, confidence, outcome []float64, correct, clipped int64) {
	s.addUnits(loss, brier, confidence, outcome, correct, clipped, false)
}

// addUnits is AddBinaryUnits, with the outcomes also the labels when
// labels is true, and the labels 0 otherwise.
func (s *ClassStats) addUnits(loss, brier, confidence, target []float64, correct, clipped int64, labels bool) {
	n := int64(len(loss))
	s.Rows += n
	s.ClippedRows += clipped
	s.units += n
	if s.pair != nil {
		s.unitPairs += n
	}
	s.unitCorrect += correct
	s.Loss.AddSlice(loss)
	s.LossSq.addSquares(loss)
	s.Brier.AddSlice(brier)
	if s.bins <= localBins {
		s.addBinaryBinsLocal(confidence, target, labels)
		return
	}
	// addUnitCompanions' label and bin terms, inline with outcome = t and
	// label = t or 0 (a call per row here measured 13 -> 20 ns per row).
	target = target[:len(confidence)]
	for i, c := range confidence {
		t := target[i]
		b := s.bin(Bin(c, s.bins))
		b.units++
		b.addUnitConfidence(c)
		if t == 0 || t == 1 {
			if labels {
				s.unitLabel += int64(t)
			}
			b.unitOutcome += int64(t)
		} else {
			if labels {
				s.Label.Add(t)
			}
			b.outcome.Add(t)
		}
	}
}

// localBins is the most calibration bins that addBinaryBinsLocal counts in
// arrays on its stack.
const localBins = 32

// addBinaryBinsLocal is addUnits' label (when labels) and bin terms for
// at most localBins bins: the counts and fixed-point confidence sums of the bins
// go to arrays on the stack, then to the bins they reached, so that a row
// costs no pointer to its bin and no store that the next row must wait for
// (BenchmarkClassStatsAddBinaryUnits: 12.6 -> 10.7 ns a row). With AVX-512
// and at most binAccBins bins, binsVector counts the rows 8 at a time; a
// group of 8 it cannot take (a confidence outside [2^-11, 2) or a target
// other than 0 and 1) is counted here, one row at a time.
func (s *ClassStats) addBinaryBinsLocal(confidence, target []float64, labels bool) {
	var (
		units, outcome [localBins]int64
		conf           [localBins]fixed128
		label          int64
		acc            binAcc
		vector         bool
	)
	n := len(confidence)
	target = target[:n]
	for i := 0; i < n; {
		if d := binsVector(confidence[i:min(n, i+binsVectorMax)], target[i:min(n, i+binsVectorMax)], s.bins, &acc); d > 0 {
			i += d
			vector = true
		}
		for end := min(i+8, n); i < end; i++ {
			c, t := confidence[i], target[i]
			k := Bin(c, s.bins) & (localBins - 1) // (in range already; the mask drops the bounds checks)
			units[k]++
			if u, ok := unitConfFixed(c); ok {
				conf[k].add(fixed128{lo: u})
			} else {
				s.bin(k).confidence.Add(c)
			}
			if t == 0 || t == 1 {
				label += int64(t)
				outcome[k] += int64(t)
			} else {
				if labels {
					s.Label.Add(t)
				}
				s.bin(k).outcome.Add(t)
			}
		}
	}
	if vector {
		for k := range min(s.bins, binAccBins) {
			u, o, c := acc.total(k)
			units[k] += u
			outcome[k] += o
			label += o
			conf[k].add(c)
		}
	}
	if labels {
		s.unitLabel += label
	}
	for k := range s.bins {
		if units[k] == 0 {
			continue
		}
		b := s.bin(k)
		b.units += units[k]
		b.unitOutcome += outcome[k]
		b.unitConf.add(conf[k])
	}
}

// binAccBins is the most bins binsVector counts: two passes of 8.
const binAccBins = 16

// binsVectorMax is the most rows binsVector takes in a call, so that no
// lane's count (below 2^32) or sum of 32-bit halves (below 2^60 per lane)
// can overflow.
const binsVectorMax = 1 << 30

// binAcc is binsVector's accumulator: per bin k and lane j, the lane's rows
// in the bin with confidence c (in [2^-11, 2)) and target t (0 or 1) add
// the low and high 32 bits of c in units of 2^-63 to lo[k][j] and hi[k][j],
// and 1 + t·2^32 to co[k][j] (the count below, the outcomes above).
type binAcc struct {
	lo, hi, co [binAccBins][8]uint64
}

// total returns bin k's count, outcomes and confidence sum (in units of
// 2^-63) over the lanes.
func (a *binAcc) total(k int) (units, outcome int64, conf fixed128) {
	var lo, hi uint64
	for j := range 8 {
		lo += a.lo[k][j]
		hi += a.hi[k][j]
		units += int64(a.co[k][j] & (1<<32 - 1))
		outcome += int64(a.co[k][j] >> 32)
	}
	conf = fixed128{lo: lo}
	conf.add(fixed128{lo: hi << 32, hi: hi >> 32})
	return units, outcome, conf
}

// AddLoss adds a row's loss only (multilabel: the mean over its labels of the
// binary loss): Rows, ClippedRows when clipped, and the sums Weight,
// WeightSq, Loss and LossSq, by the same exact rules as Add. A row with
// w == 0 counts in Rows (and ClippedRows) only. Its companion terms are added
// with AddPair, once per (row, label) pair.
func (s *ClassStats) AddLoss(w, loss float64, clipped bool) {
	s.Rows++
	if clipped {
		s.ClippedRows++
	}
	switch w {
	case 0:
		return
	case 1:
		s.split()
		s.units++
		s.Loss.Add(loss)
		addSquare(&s.LossSq, loss)
		return
	}
	s.split()
	s.Weight.Add(w)
	s.WeightSq.AddProduct(w, w)
	s.Loss.AddProduct(w, loss)
	addWeightedSquare(&s.LossSq, w, loss)
}

// AddPair adds the companion terms of one (row, label) pair, a binary
// prediction weighted by its row's weight w: Correct (w if correct), Brier
// (w·brier), Label (w·label), the calibration bin
// of confidence (weight w, confidence w·confidence, outcome w·outcome), and w
// to the companion denominator, the pair-weight sum. It does not count a row.
// w == 0 adds nothing.
//
// Accuracy, brier, ece, mean_prediction and label_rate are means over pairs:
// they divide by the pair-weight sum, while cross_entropy and its stderr
// divide by the row-weight sum (Weight).
func (s *ClassStats) AddPair(w float64, correct bool, brier, confidence, outcome, label float64) {
	switch w {
	case 0:
		return
	case 1:
		s.split()
		s.unitPairs++
		s.addUnitCompanions(correct, brier, confidence, outcome, label)
		return
	}
	s.split()
	s.pair.Add(w)
	s.addCompanions(w, correct, brier, confidence, outcome, label)
}

// split materialises the pair-weight sum as a copy of Weight (and of its
// unit counter), if it is not there yet, so that rows and pairs can diverge.
func (s *ClassStats) split() {
	if s.pair == nil {
		p := new(Sum)
		p.Merge(&s.Weight)
		s.pair = p
		s.unitPairs = s.units
	}
}

// pairWeight is the companion denominator: a Sum and its unit counter.
func (s *ClassStats) pairWeight() (*Sum, int64) {
	if s.pair != nil {
		return s.pair, s.unitPairs
	}
	return &s.Weight, s.units
}

// addSquare adds x^2 exactly as hi + lo (lo = FMA(x, x, -hi)).
func addSquare(s *Sum, x float64) {
	hi := x * x
	if math.IsInf(hi, 0) || math.IsNaN(hi) {
		s.addSpecial(hi)
		return
	}
	s.Add(hi)
	if lo := math.FMA(x, x, -hi); lo != 0 { // often exactly 0; adding ±0 does nothing
		s.Add(lo)
	}
}

// addWeightedSquare adds w·x^2 exactly: x^2 = hi + lo, then w·hi and w·lo.
func addWeightedSquare(s *Sum, w, x float64) {
	hi := x * x
	if math.IsInf(hi, 0) || math.IsNaN(hi) {
		s.AddProduct(w, hi)
		return
	}
	s.AddProduct(w, hi)
	s.AddProduct(w, math.FMA(x, x, -hi))
}

// Merge adds o's statistics to s. Both must have the same number of bins.
func (s *ClassStats) Merge(o *ClassStats) {
	if s.bins != o.bins {
		panic("metrics: merging ClassStats with different calibration bins")
	}
	s.Rows += o.Rows
	s.InvalidRows += o.InvalidRows
	s.IgnoredRows += o.IgnoredRows
	s.ClippedRows += o.ClippedRows
	if s.pair != nil || o.pair != nil {
		// Before Weight changes: s's pairs so far are its rows.
		s.split()
		op, on := o.pairWeight()
		s.pair.Merge(op)
		s.unitPairs += on
	}
	s.units += o.units
	s.unitCorrect += o.unitCorrect
	s.unitLabel += o.unitLabel
	s.Weight.Merge(&o.Weight)
	s.WeightSq.Merge(&o.WeightSq)
	s.Loss.Merge(&o.Loss)
	s.LossSq.Merge(&o.LossSq)
	s.Correct.Merge(&o.Correct)
	s.Brier.Merge(&o.Brier)
	s.Label.Merge(&o.Label)
	for b, oc := range o.cal {
		if oc != nil {
			c := s.bin(b)
			c.weight.Merge(&oc.weight)
			c.confidence.Merge(&oc.confidence)
			c.outcome.Merge(&oc.outcome)
			c.units += oc.units
			c.unitOutcome += oc.unitOutcome
			c.unitConf.add(oc.unitConf)
		}
	}
}

// Opt is a float64 that may be null (OK == false).
type Opt struct {
	V  float64
	OK bool
}

// some returns a non-null Opt.
func some(v float64) Opt { return Opt{V: v, OK: true} }

// ClassSummary is the finalised metrics and sufficient statistics of a
// ClassStats (SPEC §4). Metrics are null when the weight sum is 0; no field is
// ever NaN; CrossEntropy and Perplexity may be +Inf.
//
// For multilabel statistics (AddLoss and AddPair) the companion metrics
// (Accuracy, Brier, ECE, MeanPrediction, LabelRate) are means over (row,
// label) pairs, divided by the pair-weight sum, which equals the sum of
// CalWeight; they are null when it is 0. CrossEntropy, Perplexity and Stderr
// are over rows, divided by WeightSum.
type ClassSummary struct {
	WeightSum float64

	CrossEntropy   Opt // sum w·loss / sum w
	Perplexity     Opt // exp(CrossEntropy)
	Stderr         Opt // standard error of CrossEntropy; null when n_eff <= 1 or the mean is infinite
	Accuracy       Opt // sum w·correct / sum w
	Brier          Opt // sum w·brier / sum w
	ECE            Opt // sum_b |outcome sum_b - confidence sum_b| / sum w
	MeanPrediction Opt // sum w·confidence / sum w
	LabelRate      Opt // sum w·label / sum w (binary, multilabel; 0 for multiclass, whose label is unused)

	LossSum, LossSqSum, WeightSqSum, CorrectSum, BrierSum, PredictionSum, LabelSum float64

	CalWeight, CalConfidence, CalOutcome []float64 // per bin, len = bins
}

// prediction returns the sum of w·confidence over the pairs: the sum of
// the calibration bins' confidence sums.
func (s *ClassStats) prediction() *Sum {
	var p Sum
	for _, c := range s.cal {
		if c != nil {
			p.Merge(&c.confidence)
		}
	}
	return &p
}

// Summary finalises the statistics. Every mean is the correctly rounded
// quotient of the exact sums; the reported sums are the exact sums rounded.
// It folds the unit counters into the Sums first (s keeps its value).
func (s *ClassStats) Summary() ClassSummary { return s.summary(true) }

// summary is Summary, with the means' fast path (denom.mean) on or off:
// the bits are the same (TestSummaryFastMeans).
func (s *ClassStats) summary(fast bool) ClassSummary {
	s.fold()
	pred := s.prediction()
	out := ClassSummary{
		WeightSum:     s.Weight.Float64(),
		LossSum:       s.Loss.Float64(),
		LossSqSum:     s.LossSq.Float64(),
		WeightSqSum:   s.WeightSq.Float64(),
		CorrectSum:    s.Correct.Float64(),
		BrierSum:      s.Brier.Float64(),
		PredictionSum: pred.Float64(),
		LabelSum:      s.Label.Float64(),
		CalWeight:     make([]float64, s.bins),
		CalConfidence: make([]float64, s.bins),
		CalOutcome:    make([]float64, s.bins),
	}
	for b, c := range s.cal {
		if c != nil {
			out.CalWeight[b] = c.weight.Float64()
			out.CalConfidence[b] = c.confidence.Float64()
			out.CalOutcome[b] = c.outcome.Float64()
		}
	}
	var w *denom
	if s.Weight.IsFinite() {
		if w = newDenom(&s.Weight, fast); w.positive() {
			out.CrossEntropy, out.Perplexity = s.crossEntropy(w)
			out.Stderr = s.stderr(w.int())
		}
	}
	if s.pair != nil {
		w = nil
		if s.pair.IsFinite() {
			w = newDenom(s.pair, fast)
		}
	}
	if w == nil || !w.positive() {
		return out
	}
	out.Accuracy = w.mean(&s.Correct)
	out.Brier = w.mean(&s.Brier)
	out.MeanPrediction = w.mean(pred)
	out.LabelRate = w.mean(&s.Label)
	out.ECE = s.ece(w.int())
	return out
}

// mean is sum/w correctly rounded; null unless the sum is finite.
func mean(sum *Sum, w *big.Int) Opt {
	if !sum.IsFinite() {
		return Opt{}
	}
	return some(ratioFloat64(sum.bigInt(), w, 0))
}

// denom is the denominator of a summary's means: a finite weight sum, as
// the float64 it equals when it is one (unit weights: a count), and as a
// big integer in units of 2^-1074 when needed.
type denom struct {
	sum   *Sum
	f     float64  // the sum, when exact
	exact bool     // (false also when the fast path is off)
	n     *big.Int // the sum in units of 2^-1074, once made
}

// newDenom makes sum a denominator; fast lets its means take quotientPair.
func newDenom(sum *Sum, fast bool) *denom {
	f, exact := sum.float64Exact()
	return &denom{sum: sum, f: f, exact: exact && fast}
}

// int returns the sum in units of 2^-1074.
func (d *denom) int() *big.Int {
	if d.n == nil {
		d.n = d.sum.bigInt()
	}
	return d.n
}

func (d *denom) positive() bool {
	if d.exact {
		return d.f > 0
	}
	return d.int().Sign() > 0
}

// mean is num/d correctly rounded, null unless num is finite, by
// quotient's rules: from float64s or float64 pairs (~0.1 µs and no
// allocation) when d is a float64 and they decide it, from the big
// integers otherwise (~1 µs). Both give the same bits.
func (d *denom) mean(num *Sum) Opt {
	if !num.IsFinite() {
		return Opt{}
	}
	return some(quotientBy(num, d.f, d.exact, d.int))
}

// crossEntropy returns the mean loss and its exp; +Inf for both when an
// infinite loss was added.
func (s *ClassStats) crossEntropy(w *denom) (ce, perplexity Opt) {
	switch {
	case s.Loss.Inf() == 1:
		return some(math.Inf(1)), some(math.Inf(1))
	case !s.Loss.IsFinite():
		return Opt{}, Opt{}
	}
	m := w.mean(&s.Loss)
	return m, some(math.Exp(m.V))
}

// stderr is the standard error of the weighted mean loss (SPEC §3):
//
//	stderr^2 = sum w (l-m)^2 / (W (n_eff - 1)),  n_eff = W^2 / Q
//	         = (S2·W - S1^2)·Q / (W^2 (W^2 - Q))
//
// with W = sum w, Q = sum w^2, S1 = sum w·l, S2 = sum w·l^2. In integer units
// of u = 2^-1074 (W = Nw·u, ...) this is
//
//	(Ns2·Nw - Ns1^2)·Nq / (Nw^2 (Nw^2 - Nq·2^1074)) · 2^1074,
//
// evaluated exactly and rounded once. Null when n_eff <= 1 or a sum is not
// finite (an infinite mean, or a square that overflowed float64), or when Q
// is 0 (weights whose squares underflowed float64).
func (s *ClassStats) stderr(nw *big.Int) Opt {
	return stderrOf(nw, &s.Loss, &s.LossSq, &s.WeightSq)
}

// stderrOf is the standard error of the weighted mean from the exact sums
// W (as nw, in units of 2^-1074), S1 = loss, S2 = lossSq and Q = weightSq;
// see ClassStats.stderr.
func stderrOf(nw *big.Int, loss, lossSq, weightSq *Sum) Opt {
	if !loss.IsFinite() || !lossSq.IsFinite() || !weightSq.IsFinite() {
		return Opt{}
	}
	ns1, ns2, nq := loss.bigInt(), lossSq.bigInt(), weightSq.bigInt()
	if nq.Sign() == 0 {
		// No weight, or every w^2 below 2^-1075 (w < ~1e-162), which
		// float64 rounds to 0: n_eff = W^2 / 0 is undefined, not a
		// stderr of 0.
		return Opt{}
	}
	w2 := new(big.Int).Mul(nw, nw)
	excess := new(big.Int).Lsh(nq, -unitExponent)
	excess.Sub(w2, excess) // (W^2 - Q) / u^2
	if excess.Sign() <= 0 {
		return Opt{} // n_eff <= 1
	}
	num := new(big.Int).Mul(ns2, nw)
	num.Sub(num, new(big.Int).Mul(ns1, ns1))
	if num.Sign() < 0 {
		num.SetInt64(0) // only from products below 2^-1074 that Sum cannot hold
	}
	num.Mul(num, nq)
	den := w2.Mul(w2, excess)
	return some(sqrtRatioFloat64(num, den, -unitExponent))
}

// ece is sum_b |outcome_b - confidence_b| / W, the weighted mean of the
// per-bin gaps (SPEC §3), from the exact bin sums. A bin no row reached has
// no gap.
func (s *ClassStats) ece(w *big.Int) Opt {
	total := new(big.Int)
	for _, c := range s.cal {
		if c == nil {
			continue
		}
		if !c.outcome.IsFinite() || !c.confidence.IsFinite() {
			return Opt{}
		}
		gap := c.outcome.bigInt()
		gap.Sub(gap, c.confidence.bigInt())
		total.Add(total, gap.Abs(gap))
	}
	return some(ratioFloat64(total, w, 0))
}
