package metrics

import "math"

// BinaryTarget maps a binary label to its target probability: 1 is positive
// (1); 0 and -1 are negative (0); a value in (0, 1) is a soft target and stays
// as it is. Anything else (NaN, 2, -0.5, 1.5, ...) is not a label: ok is false.
func BinaryTarget(label float64) (t float64, ok bool) {
	switch {
	case label == 1:
		return 1, true
	case label == 0 || label == -1:
		return 0, true
	case label > 0 && label < 1:
		return label, true
	}
	return 0, false
}

// BinaryRow is the per-row result of a binary prediction. Its Brier score is
// BinaryBrier(P, t).
//
// It has four fields and 24 bytes, so the compiler keeps it in registers:
// a larger result is built on the stack and copied with 16-byte moves that
// stall on the 8-byte stores just made (measured: about a fifth of the
// binary workload's time).
type BinaryRow struct {
	Loss    float64 // cross-entropy (natural log), >= 0, possibly +Inf
	P       float64 // unclipped probability of the positive class: p, sigmoid(s), exp(a)
	Correct bool    // (P >= threshold) == (t >= 0.5)
	Clipped bool    // prob kind only: the clipped p' differs from p (every evaluated term uses p')
}

// BinaryBrier is the Brier score (p - t)^2 of a probability p of the
// positive class against the target t.
func BinaryBrier(p, t float64) float64 {
	d := p - t
	return d * d
}

// BinaryBrierOf is the Brier score of the row Binary scored from pred of the
// given kind, whose probability is p, against the target t. For a logit or
// logprob and t >= 1/2 it is ((1-t) - (1-p))^2 with 1-p computed from pred
// (sigmoid(-pred), -expm1(pred)) and 1-t exact: p - t, with p rounded near
// 1, would keep few digits of a confident positive row's score (a logit of
// 10: about 1e-11 relative). Otherwise it is BinaryBrier(p, t).
func BinaryBrierOf(kind Kind, pred, p, t float64) float64 {
	if t < 0.5 || kind == Prob {
		return BinaryBrier(p, t)
	}
	var q float64 // 1 - p
	switch kind {
	case Logit:
		q = sigmoid(-pred)
	case Logprob:
		q = -math.Expm1(min(pred, 0)) // a logprob in (0, 1e-6] counts as 0
	}
	d := q - (1 - t)
	return d * d
}

// Binary scores one binary prediction pred of the given kind against the target
// probability t (from BinaryTarget; a t outside [0, 1] is LabelDomain).
// eps is the probability clip (prob kind only); threshold decides Correct.
//
// The loss is -(t ln p + (1-t) ln(1-p)) with p = clip(pred, eps, 1-eps) for
// prob, sigmoid(pred) for logit (as a stable softplus, no clip) and exp(pred)
// for logprob (with a stable log1mexp, no clip). A term whose target weight
// (t or 1-t) is 0 is not evaluated, so no 0·ln 0 makes a NaN. Invalid values
// give a zero row and a non-zero Invalid.
func Binary(kind Kind, pred, t, eps, threshold float64) (BinaryRow, Invalid) {
	if !(t >= 0 && t <= 1) {
		return BinaryRow{}, LabelDomain
	}
	var r BinaryRow
	switch kind {
	case Prob:
		if v := checkProb(pred); v != Valid {
			return BinaryRow{}, v
		}
		q := clip(pred, eps)
		r.Loss = binaryProbLoss(q, t)
		r.P = pred
		r.Clipped = q != pred
	case Logit:
		if v := checkLogit(pred); v != Valid {
			return BinaryRow{}, v
		}
		r.Loss = binaryLogitLoss(pred, t)
		r.P = sigmoid(pred)
	case Logprob:
		a, v := checkLogprob(pred)
		if v != Valid {
			return BinaryRow{}, v
		}
		r.Loss = binaryLogprobLoss(a, t)
		r.P = math.Exp(a)
	default:
		panic("metrics: unknown prediction kind")
	}
	r.Correct = (r.P >= threshold) == (t >= 0.5)
	return r, Valid
}

// BinaryProbHard is Binary(Prob, p, t, eps, threshold) with the hard target
// t = 1 if positive, else 0: the same row, bit for bit, computed without a
// branch on the target. Labels are as good as random from one row to the
// next, so each branch on one is mispredicted about half the time (a
// chunk's rows cost several ns more per such branch). ok is false when p is
// not a probability (Binary says why).
func BinaryProbHard(p float64, positive bool, eps, threshold float64) (row BinaryRow, ok bool) {
	if checkProb(p) != Valid {
		return BinaryRow{}, false
	}
	q := clip(p, eps)
	return BinaryRow{Loss: hardLoss(q, positive), P: p, Correct: (p >= threshold) == positive, Clipped: q != p}, true
}

// hardLoss is the loss of a clipped probability q against the hard target
// 1 (positive) or 0: -ln q, or -ln(1 - q) with 1 - q = u + c
// (complement), the two chosen by a mask, not a branch.
func hardLoss(q float64, positive bool) float64 {
	u, c := complement(q)
	mask := -uint64(b2i(positive)) // all ones if positive
	x := math.Float64frombits(math.Float64bits(u) ^ (math.Float64bits(u)^math.Float64bits(q))&mask)
	c = math.Float64frombits(math.Float64bits(c) &^ mask) // +0 if positive
	return 0 - logPlus(x, c)
}

// BinaryProbHardRows scores rows of probabilities p against hard labels
// (positive when label[i] is 1): for every row q[i] = clip(p[i], eps),
// loss[i] = BinaryProbHard(p[i], label[i] == 1, eps, ·).Loss and brier[i]
// = BinaryBrier(p[i], t) with t = 1 if positive, else 0, the same bits.
// ok is false when a p[i] is not a probability (the slices are then partly
// set). With AVX-512 it does 8 rows at a time (hardRowsVector); a group of
// 8 it cannot do (a p outside [0, 1], or a probability to evaluate below
// the normal range) is done here, one row at a time.
func BinaryProbHardRows(loss, brier, q, p []float64, label []int64, eps float64) (ok bool) {
	n := len(p)
	loss, brier, q, label = loss[:n], brier[:n], q[:n], label[:n]
	for i := 0; i < n; {
		i += hardRowsVector(loss[i:], brier[i:], q[i:], p[i:], label[i:], eps)
		for end := min(i+8, n); i < end; i++ {
			row, ok := BinaryProbHard(p[i], label[i] == 1, eps, 0)
			if !ok {
				return false
			}
			q[i], loss[i] = clip(p[i], eps), row.Loss
			brier[i] = BinaryBrier(p[i], float64(b2i(label[i] == 1)))
		}
	}
	return true
}

// binaryProbLoss is -(t ln q + (1-t) ln(1-q)) for a clipped probability q,
// with ln(1-q) as logPlus(complement(q)).
func binaryProbLoss(q, t float64) float64 {
	loss := 0.0
	if t > 0 {
		loss -= t * logFast(q)
	}
	if t < 1 {
		loss -= (1 - t) * logPlus(complement(q))
	}
	return loss
}

// complement returns 1 - q as u + c for a probability q: u = 1 - q rounded
// and c = (1-u) - q, exactly its rounding error (u is exact for q >= 1/2;
// below, 1 - u is exact and within half an ulp of q).
func complement(q float64) (u, c float64) {
	u = 1 - q
	return u, (1 - u) - q
}

// binaryLogitLoss is max(s,0) - t·s + log1p(e^-|s|), the stable form of the
// cross-entropy of sigmoid(s). For s >= 0 the first two terms are computed as
// (1-t)·s, which cannot cancel (1-t is exact for t >= 1/2), so soft targets
// near 1 keep full precision at large s.
func binaryLogitLoss(s, t float64) float64 {
	softplus := math.Log1p(math.Exp(-math.Abs(s)))
	if s >= 0 {
		return (1-t)*s + softplus
	}
	return -(t * s) + softplus
}

// binaryLogprobLoss is -(t·a + (1-t) ln(1-e^a)) for a = ln p <= 0.
func binaryLogprobLoss(a, t float64) float64 {
	loss := 0.0
	if t > 0 {
		loss -= t * a
	}
	if t < 1 {
		loss -= (1 - t) * log1mexp(a)
	}
	return loss
}
