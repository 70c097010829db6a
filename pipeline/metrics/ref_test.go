package metrics

// High-precision references, written from the definitions with math/big and
// sharing no code with the package: a 256-bit natural log (atanh series) and
// exp (Taylor series), exact sums, and the per-row losses of SPEC §3 in the
// plainest form (no stable rewrites).

import (
	"math"
	"math/big"
	"testing"
)

const refPrec = 256

func bf(x float64) *big.Float { return new(big.Float).SetPrec(refPrec).SetFloat64(x) }

func bfInt(n int64) *big.Float { return new(big.Float).SetPrec(refPrec).SetInt64(n) }

func add(a, b *big.Float) *big.Float { return new(big.Float).SetPrec(refPrec).Add(a, b) }
func sub(a, b *big.Float) *big.Float { return new(big.Float).SetPrec(refPrec).Sub(a, b) }
func mul(a, b *big.Float) *big.Float { return new(big.Float).SetPrec(refPrec).Mul(a, b) }
func quo(a, b *big.Float) *big.Float { return new(big.Float).SetPrec(refPrec).Quo(a, b) }

func round64(x *big.Float) float64 {
	v, _ := x.Float64()
	return v
}

// refAtanh is z + z^3/3 + z^5/5 + ..., for |z| <= 1/3 (120 terms: 3^-241 < 2^-380).
func refAtanh(z *big.Float) *big.Float {
	z2 := mul(z, z)
	term := new(big.Float).SetPrec(refPrec).Set(z)
	sum := new(big.Float).SetPrec(refPrec)
	for k := int64(0); k < 120; k++ {
		sum = add(sum, quo(term, bfInt(2*k+1)))
		term = mul(term, z2)
	}
	return sum
}

var refLn2 = mul(bfInt(2), refAtanh(quo(bfInt(1), bfInt(3)))) // ln 2 = 2 atanh(1/3)

// refLn is ln x for x > 0: x = m·2^e with m in [0.5, 1), ln m = 2 atanh((m-1)/(m+1)).
func refLn(x *big.Float) *big.Float {
	if x.Sign() <= 0 {
		panic("refLn of a non-positive number")
	}
	m := new(big.Float) // takes x's precision: no rounding before m - 1
	e := x.MantExp(m)
	z := quo(sub(m, bfInt(1)), add(m, bfInt(1)))
	return add(mul(bfInt(2), refAtanh(z)), mul(bfInt(int64(e)), refLn2))
}

// refExp is e^x: x = k ln 2 + r with |r| <= ln 2 / 2, e^r by 80 Taylor terms.
func refExp(x *big.Float) *big.Float {
	kf, _ := quo(x, refLn2).Float64()
	k := math.Round(kf)
	r := sub(x, mul(bf(k), refLn2))
	sum := bfInt(1)
	term := bfInt(1)
	for n := int64(1); n < 80; n++ {
		term = quo(mul(term, r), bfInt(n))
		sum = add(sum, term)
	}
	return sum.SetMantExp(sum, int(k))
}

// TestRefFunctions pins the references to values known independently.
func TestRefFunctions(t *testing.T) {
	// ln 2 = 0.693147180559945309417232121458176568..., e = 2.718281828459045235360287...
	if got := round64(refLn2); got != math.Ln2 {
		t.Errorf("ref ln 2 = %v, want %v", got, math.Ln2)
	}
	if got := round64(refExp(bfInt(1))); got != math.E {
		t.Errorf("ref e = %v, want %v", got, math.E)
	}
	// ln 10 = 2.302585092994045684017991454684364207...
	if got := round64(refLn(bfInt(10))); got != math.Ln10 {
		t.Errorf("ref ln 10 = %v, want %v", got, math.Ln10)
	}
	// ln(e^-3) = -3 to 200 bits.
	d := sub(refLn(refExp(bfInt(-3))), bfInt(-3))
	if d.Sign() != 0 && d.MantExp(nil) > -200 {
		t.Errorf("ref ln(exp(-3)) + 3 = %v", d)
	}
}

// refLog1p is ln(1 + r) for r >= 0; for r < 1/4 by the series
// r - r^2/2 + r^3/3 - ... (250 terms), which keeps a tiny r's relative
// precision that 1 + r at 256 bits would lose.
func refLog1p(r *big.Float) *big.Float {
	if r.Cmp(quo(bfInt(1), bfInt(4))) >= 0 {
		return refLn(add(bfInt(1), r))
	}
	sum, pow := bfInt(0), bfInt(1)
	for n := int64(1); n <= 250; n++ {
		pow = mul(pow, r)
		term := quo(pow, bfInt(n))
		if n%2 == 0 {
			term.Neg(term)
		}
		sum = add(sum, term)
	}
	return sum
}

// refSoftplus is ln(1 + e^x). Beyond |x| = 5000 the exponential term is below
// 2^-7000 and it is dropped: ln(1+e^x) = x + ln(1+e^-x) ≈ x, or ≈ e^x ≈ 0.
func refSoftplus(x float64) *big.Float {
	switch {
	case x > 5000:
		return bf(x)
	case x < -5000:
		return bfInt(0)
	}
	return refLog1p(refExp(bf(x)))
}

// refLog1mExp is ln(1 - e^a) for a < 0: for a < -1 by the series
// -(u + u^2/2 + u^3/3 + ...) with u = e^a < 0.37 (250 terms); otherwise
// ln of 1 - e^a = -(a + a^2/2! + ...), which keeps a tiny |a| precise.
func refLog1mExp(a float64) *big.Float {
	if a < -1 {
		u := refExp(bf(a))
		sum, pow := bfInt(0), bfInt(1)
		for n := int64(1); n <= 250; n++ {
			pow = mul(pow, u)
			sum = sub(sum, quo(pow, bfInt(n)))
		}
		return sum
	}
	return refLn(refOneMinusExp(a))
}

// refOneMinusExp is 1 - e^a for a <= 0: 1 - refExp(a) for a < -1, else the
// series -(a + a^2/2! + ...), which keeps a tiny |a| precise.
// (refExp takes arguments of at most about 1e6.)
func refOneMinusExp(a float64) *big.Float {
	if a < -800 { // e^a < 1e-347: 1 to far more than 256 bits
		return bfInt(1)
	}
	if a < -1 {
		return sub(bfInt(1), refExp(bf(a)))
	}
	sum, term := bfInt(0), bfInt(1)
	for n := int64(1); n <= 80; n++ {
		term = quo(mul(term, bf(a)), bfInt(n))
		sum = sub(sum, term)
	}
	return sum
}

// oneMinus is 1 - x exactly (a float64 needs at most 1100 bits for it).
func oneMinus(x float64) *big.Float {
	return new(big.Float).SetPrec(1200).Sub(big.NewFloat(1), big.NewFloat(x))
}

// refSigmoid is 1/(1+e^-s).
func refSigmoid(s float64) float64 {
	if s < -5000 {
		return 0
	}
	if s > 5000 {
		return 1
	}
	return round64(quo(bfInt(1), add(bfInt(1), refExp(bf(-s)))))
}

// refClip is clip(p, eps, 1-eps), part of the definition (done in float64).
func refClip(p, eps float64) float64 { return math.Min(math.Max(p, eps), 1-eps) }

// refBinary is the binary loss from the definition -(t ln p + (1-t) ln(1-p)),
// p = clip(pred) / 1/(1+e^-s) / e^a, skipping zero-weight terms; +Inf as +Inf.
func refBinary(kind Kind, pred, t, eps float64) float64 {
	var lnP, ln1mP func() *big.Float
	switch kind {
	case Prob:
		q := refClip(pred, eps)
		if t > 0 && q == 0 || t < 1 && q == 1 {
			return math.Inf(1) // ln 0 with a positive weight
		}
		lnP = func() *big.Float { return refLn(bf(q)) }
		ln1mP = func() *big.Float { return refLn(oneMinus(q)) }
	case Logit:
		// ln sigmoid(s) = -ln(1 + e^-s); ln(1 - sigmoid(s)) = -ln(1 + e^s).
		lnP = func() *big.Float { return new(big.Float).Neg(refSoftplus(-pred)) }
		ln1mP = func() *big.Float { return new(big.Float).Neg(refSoftplus(pred)) }
	case Logprob:
		a := math.Min(pred, 0)
		if t > 0 && math.IsInf(a, -1) || t < 1 && a == 0 {
			return math.Inf(1)
		}
		lnP = func() *big.Float { return bf(a) }
		ln1mP = func() *big.Float {
			if math.IsInf(a, -1) {
				return bfInt(0) // ln(1 - 0)
			}
			return refLog1mExp(a)
		}
	}
	loss := bfInt(0)
	if t > 0 {
		loss = sub(loss, mul(bf(t), lnP()))
	}
	if t < 1 {
		loss = sub(loss, mul(sub(bfInt(1), bf(t)), ln1mP()))
	}
	return round64(loss)
}

// refTargetWeights is (1-e)·base + e/C in exact arithmetic, base = one-hot(y) or t.
func refTargetWeights(c, y int, target []float64, e float64) []*big.Float {
	w := make([]*big.Float, c)
	for k := range w {
		base := bfInt(0)
		switch {
		case target != nil:
			base = bf(target[k])
		case k == y:
			base = bfInt(1)
		}
		w[k] = add(mul(sub(bfInt(1), bf(e)), base), quo(bf(e), bfInt(int64(c))))
	}
	return w
}

// refMulticlass is -sum_k w_k ln p_k over w_k > 0, with ln p_k = ln clip(p_k)
// / z_k - ln sum_j e^(z_j) / a_k. The log-sum-exp is m + ln(1 + r), m the
// largest logit, and ln p_k = (z_k - m) - ln(1 + r) keeps tiny losses exact. It returns +Inf when some w_k > 0 has
// ln p_k = -Inf.
func refMulticlass(kind Kind, pred []float64, y int, target []float64, e, eps float64) float64 {
	c := len(pred)
	w := refTargetWeights(c, y, target, e)
	var maxLogit float64
	var logR *big.Float
	if kind == Logit {
		// ln sum_j e^(z_j) = m + ln(1 + r), r = sum over j != first argmax of e^(z_j - m).
		m, first := math.Inf(-1), -1
		for k, z := range pred {
			if z > m {
				m, first = z, k
			}
		}
		r := bfInt(0)
		for k, z := range pred {
			if k != first && !math.IsInf(z, -1) {
				r = add(r, refExp(sub(bf(z), bf(m))))
			}
		}
		maxLogit, logR = m, refLog1p(r)
	}
	loss := bfInt(0)
	for k, pk := range pred {
		if w[k].Sign() == 0 {
			continue
		}
		var lnp *big.Float
		switch kind {
		case Prob:
			q := refClip(pk, eps)
			if q == 0 {
				return math.Inf(1)
			}
			lnp = refLn(bf(q))
		case Logit:
			if math.IsInf(pk, -1) {
				return math.Inf(1)
			}
			lnp = sub(sub(bf(pk), bf(maxLogit)), logR) // (z_k - m) - ln(1 + r), exact first difference
		case Logprob:
			if math.IsInf(pk, -1) {
				return math.Inf(1)
			}
			lnp = bf(math.Min(pk, 0))
		}
		loss = sub(loss, mul(w[k], lnp))
	}
	return round64(loss)
}

// ulps is the number of float64 steps between a and b (0 for equal values,
// including equal infinities; huge for NaN or a sign mismatch).
func ulps(a, b float64) uint64 {
	if a == b {
		return 0
	}
	if math.IsNaN(a) || math.IsNaN(b) || math.Signbit(a) != math.Signbit(b) {
		return math.MaxUint64
	}
	ua, ub := math.Float64bits(math.Abs(a)), math.Float64bits(math.Abs(b))
	if ua > ub {
		return ua - ub
	}
	return ub - ua
}
