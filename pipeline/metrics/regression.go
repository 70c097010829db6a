package metrics

import (
	"math"
	"math/big"
)

// RegressionOK checks a regression row's prediction and label: both must be
// finite. A NaN in either gives NaNValue (checked first), an infinity
// InfiniteValue.
func RegressionOK(prediction, label float64) Invalid {
	switch {
	case math.IsNaN(prediction) || math.IsNaN(label):
		return NaNValue
	case math.IsInf(prediction, 0) || math.IsInf(label, 0):
		return InfiniteValue
	}
	return Valid
}

// RegStats holds the sufficient statistics of one group of a regression task
// (SPEC §3: per-row loss l = (prediction - label)^2). Counts are plain; every
// sum is exact, so partials merge in any order to the same bits. It costs
// 176 bytes plus 8 bytes per limb of each Sum's window.
type RegStats struct {
	Rows, InvalidRows int64

	Weight   Sum // sum w
	WeightSq Sum // sum w^2
	Loss     Sum // sum w·l
	LossSq   Sum // sum w·l^2
	AbsError Sum // sum w·|e|
}

// Add adds one scored row, checked with RegressionOK and a weight accepted by
// WeightOK. With e = prediction - label and l = e·e (both rounded to float64,
// as the per-row loss), it adds w, w^2, w·l, w·l^2 and w·|e|, every product
// exactly. A row with w == 0 counts in Rows only. e or l may overflow to
// +Inf; the sums then hold +Inf, never NaN.
func (s *RegStats) Add(w, prediction, label float64) {
	s.Rows++
	if w == 0 {
		return
	}
	e := prediction - label
	l := e * e
	a := math.Abs(e)
	if w == 1 {
		s.Weight.Add(1)
		s.WeightSq.Add(1)
		s.Loss.Add(l)
		addSquare(&s.LossSq, l)
		s.AbsError.Add(a)
		return
	}
	s.Weight.Add(w)
	s.WeightSq.AddProduct(w, w)
	s.Loss.AddProduct(w, l)
	addWeightedSquare(&s.LossSq, w, l)
	s.AbsError.AddProduct(w, a)
}

// Merge adds o's statistics to s.
func (s *RegStats) Merge(o *RegStats) {
	s.Rows += o.Rows
	s.InvalidRows += o.InvalidRows
	s.Weight.Merge(&o.Weight)
	s.WeightSq.Merge(&o.WeightSq)
	s.Loss.Merge(&o.Loss)
	s.LossSq.Merge(&o.LossSq)
	s.AbsError.Merge(&o.AbsError)
}

// RegSummary is the finalised metrics and sufficient statistics of a
// RegStats (SPEC §4). Metrics are null when the weight sum is 0; no field is
// ever NaN; MSE, RMSE and MAE (and the sums) may be +Inf when a row's error
// or squared error overflowed float64.
type RegSummary struct {
	WeightSum float64

	MSE  Opt // sum w·l / sum w
	MAE  Opt // sum w·|e| / sum w
	RMSE Opt // sqrt(MSE), from the exact ratio

	LossSum, LossSqSum, WeightSqSum, AbsErrorSum float64
}

// Summary finalises the statistics. MSE and MAE are the correctly rounded
// quotients of the exact sums. RMSE is sqrt(sum w·l / sum w) correctly
// rounded from the exact ratio (not math.Sqrt of the rounded MSE, which
// rounds twice): it is the float64 nearest the true root, and within one ulp
// of math.Sqrt(MSE), with which it agrees in most cases.
func (s *RegStats) Summary() RegSummary {
	out := RegSummary{
		WeightSum:   s.Weight.Float64(),
		LossSum:     s.Loss.Float64(),
		LossSqSum:   s.LossSq.Float64(),
		WeightSqSum: s.WeightSq.Float64(),
		AbsErrorSum: s.AbsError.Float64(),
	}
	if !s.Weight.IsFinite() {
		return out
	}
	w := s.Weight.bigInt()
	if w.Sign() <= 0 {
		return out
	}
	switch {
	case s.Loss.Inf() == 1:
		out.MSE, out.RMSE = some(math.Inf(1)), some(math.Inf(1))
	case s.Loss.IsFinite():
		l := s.Loss.bigInt()
		out.MSE = some(ratioFloat64(l, w, 0))
		out.RMSE = some(sqrtRatioFloat64(l, w, 0))
	}
	out.MAE = meanOrInf(&s.AbsError, w)
	return out
}

// meanOrInf is sum/w correctly rounded, +Inf when +Inf was added, and null
// for a NaN (or -Inf) sum.
func meanOrInf(sum *Sum, w *big.Int) Opt {
	if sum.Inf() == 1 {
		return some(math.Inf(1))
	}
	return mean(sum, w)
}
