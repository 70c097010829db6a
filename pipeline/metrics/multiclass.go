package metrics

import "math"

// MulticlassRow is the per-row result of a multiclass prediction.
type MulticlassRow struct {
	Loss       float64 // cross-entropy (natural log), >= 0, possibly +Inf
	Confidence float64 // max_k p_k, p unclipped: p as given / softmax(z) / exp(a)
	Correct    bool    // argmax_k pred == y (soft: argmax_k t); lowest index wins ties
	Brier      float64 // sum_k (p_k - t_k)^2, t the unsmoothed target (one-hot for a hard label)
	Clipped    bool    // prob kind: some evaluated p_k (smoothed target weight > 0) was moved by the clip
}

// MulticlassTarget validates a soft (or one-hot) target: NaN entries give
// NaNValue; an entry outside [0, 1], or a sum off 1 by more than 1e-3, gives
// TargetSum.
func MulticlassTarget(t []float64) Invalid {
	sum := 0.0
	for _, v := range t {
		switch {
		case math.IsNaN(v):
			return NaNValue
		case v < 0 || v > 1:
			return TargetSum
		}
		sum += v
	}
	if math.Abs(sum-1) > sumTolerance {
		return TargetSum
	}
	return Valid
}

// Multiclass scores one multiclass prediction pred (length C, one value per
// class) of the given kind. The target is either the hard label y in [0, C)
// with t == nil (else LabelDomain), or the soft target t (length C, checked
// with MulticlassTarget; y is then ignored). The target is checked before the
// prediction.
//
// smoothing e in [0, 1] smooths the target for the loss only (PyTorch): each
// class gets weight (1-e)·t_k + e/C. The loss is -sum_k w_k ln p_k over the
// classes with w_k > 0, with p_k = clip(pred_k, eps, 1-eps) for prob (eps is
// used by no other kind), ln p_k = z_k - logsumexp(z) for logit and
// ln p_k = a_k for logprob. A logprob in (0, 1e-6] counts as 0 everywhere,
// argmax included; otherwise the argmax is over the raw values.
//
// scratch is caller-owned with len >= C; Multiclass does not allocate.
func Multiclass(kind Kind, pred []float64, y int, t []float64, smoothing, eps float64, scratch []float64) (MulticlassRow, Invalid) {
	c := len(pred)
	if c == 0 {
		return MulticlassRow{}, LengthMismatch
	}
	g := classTarget{y: y, t: t}
	if t == nil {
		if y < 0 || y >= c {
			return MulticlassRow{}, LabelDomain
		}
	} else {
		if len(t) != c {
			return MulticlassRow{}, LengthMismatch
		}
		if v := MulticlassTarget(t); v != Valid {
			return MulticlassRow{}, v
		}
		g.y = argmax(t)
	}
	if smoothing != 0 {
		g.keep = 1 - smoothing
		g.spread = smoothing / float64(c)
	}
	switch kind {
	case Prob:
		return multiclassProb(pred, g, eps)
	case Logit:
		return multiclassLogit(pred, g, scratch[:c])
	case Logprob:
		return multiclassLogprob(pred, g, scratch[:c])
	}
	panic("metrics: unknown prediction kind")
}

// classTarget is a multiclass target: a hard label y (t == nil) or a soft
// target t whose argmax is y, with optional label smoothing.
type classTarget struct {
	y      int
	t      []float64
	keep   float64 // 1 - e; unused when spread == 0
	spread float64 // e / C; 0 without smoothing
}

// base is the unsmoothed target of class k.
func (g classTarget) base(k int) float64 {
	if g.t != nil {
		return g.t[k]
	}
	if k == g.y {
		return 1
	}
	return 0
}

// weight is the smoothed target of class k, the weight of its loss term.
func (g classTarget) weight(k int) float64 {
	b := g.base(k)
	if g.spread == 0 {
		return b
	}
	return g.keep*b + g.spread
}

// argmax returns the index of the largest value, the lowest on ties. Values
// must not be NaN.
func argmax(v []float64) int {
	best := 0
	for k, x := range v {
		if x > v[best] {
			best = k
		}
	}
	return best
}

func multiclassProb(p []float64, g classTarget, eps float64) (MulticlassRow, Invalid) {
	sum := 0.0
	for _, pk := range p {
		if v := checkProb(pk); v != Valid {
			return MulticlassRow{}, v
		}
		sum += pk
	}
	if math.Abs(sum-1) > sumTolerance {
		return MulticlassRow{}, ProbSum
	}
	var r MulticlassRow
	best := 0
	for k, pk := range p {
		if w := g.weight(k); w > 0 {
			q := clip(pk, eps)
			r.Clipped = r.Clipped || q != pk
			r.Loss -= w * logFast(q)
		}
		d := pk - g.base(k)
		r.Brier += d * d
		if pk > p[best] {
			best = k
		}
	}
	r.Confidence = p[best]
	r.Correct = best == g.y
	return r, Valid
}

// multiclassLogit uses ln p_k = -((m - z_k) + log1p(rest)) with m the largest
// logit and rest = sum over the other classes of e^(z_j - m), which keeps both
// the loss of a confident correct prediction and logits of ±1000 accurate.
//
// A hard label's Brier score comes from sums kept in the exp loop (see
// hardBrier), so it needs neither a division per class nor a second pass;
// soft targets take the general loop.
func multiclassLogit(z []float64, g classTarget, scratch []float64) (MulticlassRow, Invalid) {
	best, ok := argmaxBelowInf(z)
	if !ok {
		for _, zk := range z { // NaN or +Inf: the first one decides
			if math.IsNaN(zk) {
				return MulticlassRow{}, NaNValue
			}
			if zk > math.MaxFloat64 {
				break
			}
		}
		return MulticlassRow{}, InfiniteLogit
	}
	m := z[best]
	if math.IsInf(m, -1) {
		return MulticlassRow{}, InfiniteLogit
	}
	// e_k = e^(z_k - m), exactly 1 for best; rest and sq are the sums of
	// e_k and e_k^2 over the other classes.
	expSlice(scratch, z, m)
	scratch[best] = 0 // out of the sums (adding 0 changes nothing)
	rest, sq := sums8(scratch[:len(z)])
	scratch[best] = 1
	// ln(1 + rest) as logPlus of sum = 1 + rest and, for rest <= 1, its
	// rounding error c (Fast2Sum: exact when 1 >= rest), which keeps a
	// confident row's ln(1 + rest) ~ rest to full precision; above, the
	// error of sum is at most 2^-53 of ln(sum) >= ln 2 relative.
	sum, c := 1+rest, 0.0
	if rest <= 1 {
		c = (1 - sum) + rest
	}
	logSum := logPlus(sum, c)
	r := MulticlassRow{Confidence: 1 / sum, Correct: best == g.y}
	if g.t == nil {
		r.Brier = hardBrier(scratch[g.y], g.y == best, rest, sq, sum)
		if g.spread == 0 {
			r.Loss = (m - z[g.y]) + logSum
			return r, Valid
		}
	}
	for k, zk := range z {
		if w := g.weight(k); w > 0 {
			r.Loss += w * ((m - zk) + logSum)
		}
		if g.t != nil {
			d := scratch[k]/sum - g.t[k]
			r.Brier += d * d
		}
	}
	return r, Valid
}

// sums8 returns the sums of e and of its squares, each in eight interleaved
// parts (part j adds e[i] for i = j mod 8, in order) added at the end as
// ((s0+s4) + (s2+s6)) + ((s1+s5) + (s3+s7)): one running sum waits for
// every add before it, eight let eight adds run at a time. With AVX-512,
// sums8Vector does the same adds in the same order, 8 at a time.
func sums8(e []float64) (sum, sq float64) {
	if sum, sq, ok := sums8Vector(e); ok {
		return sum, sq
	}
	var s, q [8]float64
	i := 0
	for ; i+8 <= len(e); i += 8 {
		for j, v := range e[i : i+8] {
			s[j] += v
			q[j] += float64(v * v)
		}
	}
	for j, v := range e[i:] {
		s[j] += v
		q[j] += float64(v * v)
	}
	return fold8(s), fold8(q)
}

// fold8 adds sums8's eight parts.
func fold8(s [8]float64) float64 {
	return ((s[0] + s[4]) + (s[2] + s[6])) + ((s[1] + s[5]) + (s[3] + s[7]))
}

// hardBrier is the Brier score sum_k (p_k - [k = y])^2 of p_k = e_k / sum
// against a hard label y, from the sums over the classes other than the
// largest logit's (whose e_k is 1): rest of e_k and sq of e_k^2. It is
//
//	(sum_{k≠y} e_k^2 + (sum_{k≠y} e_k)^2) / sum^2,
//
// since 1 - p_y = sum_{k≠y} e_k / sum. Computing p_y - 1 instead loses the
// low digits of a confident correct row to cancellation (logits [20, 0]:
// about 1e-7 relative). The subtractions below lose nothing comparable:
// when y is not the largest, sum_{k≠y} e_k >= 1 holds the largest's 1, and
// the error of rest - e_y or sq - e_y^2 is a few ulps of rest, which is at
// most sum_{k≠y} e_k + 1.
func hardBrier(ey float64, yBest bool, rest, sq, sum float64) float64 {
	if yBest {
		return (sq + float64(rest*rest)) / float64(sum*sum)
	}
	other := 1 + (rest - ey)
	return (1 + (sq - float64(ey*ey)) + float64(other*other)) / float64(sum*sum)
}

func multiclassLogprob(a []float64, g classTarget, scratch []float64) (MulticlassRow, Invalid) {
	for _, ak := range a {
		if _, v := checkLogprob(ak); v != Valid {
			return MulticlassRow{}, v
		}
	}
	sum := 0.0
	best := 0
	for k, ak := range a {
		ak = min(ak, 0)
		scratch[k] = expFast(ak)
		sum += scratch[k]
		if ak > min(a[best], 0) {
			best = k
		}
	}
	if math.Abs(sum-1) > sumTolerance {
		return MulticlassRow{}, ProbSum
	}
	var r MulticlassRow
	for k, ak := range a {
		if w := g.weight(k); w > 0 {
			r.Loss -= w * min(ak, 0)
		}
		switch {
		case g.t != nil:
			d := scratch[k] - g.t[k]
			r.Brier += d * d
		case k != g.y:
			r.Brier += float64(scratch[k] * scratch[k])
		}
	}
	if g.t == nil {
		// 1 - p_y as -expm1(a_y): e^a_y - 1 cancels when p_y is close to 1.
		d := math.Expm1(min(a[g.y], 0))
		r.Brier += float64(d * d)
	}
	r.Confidence = scratch[best]
	r.Correct = best == g.y
	return r, Valid
}
