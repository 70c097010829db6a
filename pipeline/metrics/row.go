package metrics

import "math"

// logprobSlack is how far above 0 a log-probability may be and still count
// as 0 (SPEC §3: a logprob in (0, 1e-6] counts as 0).
const logprobSlack = 1e-6

// sumTolerance is how far class probabilities (or a soft target) may sum
// away from 1.
const sumTolerance = 1e-3

// WeightOK reports whether w is a usable row weight: finite and >= 0.
func WeightOK(w float64) bool { return w >= 0 && w <= math.MaxFloat64 }

// Bin returns the calibration bin of confidence c among bins equal-width bins:
// min(floor(c·bins), bins-1), and 0 for c·bins < 0 or NaN.
func Bin(c float64, bins int) int {
	x := c * float64(bins)
	switch {
	case !(x >= 0):
		return 0
	case x >= float64(bins):
		return max(bins-1, 0)
	}
	return int(x)
}

// clip limits a probability to [eps, 1-eps].
func clip(p, eps float64) float64 {
	switch {
	case p < eps:
		return eps
	case p > 1-eps:
		return 1 - eps
	}
	return p
}

// sigmoid is 1/(1+e^-s), computed without overflow for any s.
func sigmoid(s float64) float64 {
	if s >= 0 {
		return 1 / (1 + math.Exp(-s))
	}
	e := math.Exp(s)
	return e / (1 + e)
}

// log1mexp is ln(1 - e^a) for a <= 0, accurate near 0 and for large -a
// (Mächler, "Accurately computing log(1 - exp(-|a|))").
func log1mexp(a float64) float64 {
	if a > -math.Ln2 {
		return math.Log(-math.Expm1(a))
	}
	return math.Log1p(-math.Exp(a))
}

// checkLogprob validates a log-probability and returns it with (0, 1e-6]
// counted as 0.
func checkLogprob(a float64) (float64, Invalid) {
	switch {
	case math.IsNaN(a):
		return 0, NaNValue
	case a > logprobSlack:
		return 0, LogprobRange
	case a > 0:
		return 0, Valid
	}
	return a, Valid
}

// checkProb validates a probability.
func checkProb(p float64) Invalid {
	switch {
	case math.IsNaN(p):
		return NaNValue
	case p < 0 || p > 1:
		return ProbRange
	}
	return Valid
}

// checkLogit validates a logit: finite (a multiclass caller allows -Inf).
func checkLogit(z float64) Invalid {
	switch {
	case math.IsNaN(z):
		return NaNValue
	case math.IsInf(z, 0):
		return InfiniteLogit
	}
	return Valid
}
