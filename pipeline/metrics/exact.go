package metrics

import (
	"math"
	"math/big"
)

// Exact finalisation. Sums are integers in units of 2^-1074 (Sum.bigInt), so a
// quotient of sums is a quotient of integers. The helpers below round such
// rationals (and their square roots) to float64 once, correctly: they compute
// an integer part with at least 59 significant bits plus a sticky bit for the
// discarded remainder ("round to odd"), which a single round-to-nearest-even
// step then turns into the correctly rounded float64.

// ratioFloat64 returns num/den · 2^exp rounded to the nearest float64.
// den > 0.
func ratioFloat64(num, den *big.Int, exp int) float64 {
	if num.Sign() == 0 {
		return 0
	}
	shift := max(0, 60-(num.BitLen()-den.BitLen()))
	q := new(big.Int).Abs(num)
	q.Lsh(q, uint(shift))
	r := new(big.Int)
	q.QuoRem(q, den, r)
	v := roundOdd(q, r.Sign() != 0, exp-shift)
	if num.Sign() < 0 {
		return -v
	}
	return v
}

// sqrtRatioFloat64 returns sqrt(num/den · 2^exp) rounded to the nearest
// float64. num >= 0, den > 0, exp even.
func sqrtRatioFloat64(num, den *big.Int, exp int) float64 {
	if exp%2 != 0 {
		panic("metrics: sqrtRatioFloat64 needs an even exponent")
	}
	if num.Sign() == 0 {
		return 0
	}
	// x = floor(num·4^k / den) has at least 120 bits, so its root has at least 60.
	k := max(0, (121-(num.BitLen()-den.BitLen()))/2)
	x := new(big.Int).Lsh(num, uint(2*k))
	r := new(big.Int)
	x.QuoRem(x, den, r)
	root := new(big.Int).Sqrt(x)
	inexact := r.Sign() != 0 || new(big.Int).Mul(root, root).Cmp(x) != 0
	return roundOdd(root, inexact, exp/2-k)
}

// roundOdd returns (q + f)·2^exp rounded to the nearest float64, where f is 0
// when inexact is false and some value in (0, 1) otherwise. q must have at
// least 55 significant bits when inexact is true.
func roundOdd(q *big.Int, inexact bool, exp int) float64 {
	t := new(big.Int).Lsh(q, 1)
	if inexact {
		t.SetBit(t, 0, 1)
	}
	f := new(big.Float).SetInt(t) // precision max(64, bits of t): exact
	f.SetMantExp(f, exp-1)
	v, _ := f.Float64()
	return v
}

// quotient returns num/den rounded to the nearest float64, for finite sums
// with den > 0. When both sums are float64 values exactly, the IEEE
// division is that correctly rounded quotient. When only den is, the
// quotient usually follows from num as a float64 pair (quotientPair);
// otherwise, or when that cannot decide, it is computed from the exact
// integers.
func quotient(num, den *Sum) float64 {
	d, exact := den.float64Exact()
	return quotientBy(num, d, exact, den.bigInt)
}

// quotientBy is quotient for a denominator given as d, its float64 value
// when exact, and as the exact integer (units of 2^-1074) made on demand.
func quotientBy(num *Sum, d float64, exact bool, den func() *big.Int) float64 {
	if exact {
		if n, ok := num.float64Exact(); ok {
			return n / d
		}
		if q, ok := quotientPair(num, d); ok {
			return q
		}
	}
	return ratioFloat64(num.bigInt(), den(), 0)
}

// quotientPair returns num/d correctly rounded, with ok false when it
// cannot be sure (then the exact integers decide). A sequence's mean
// token loss, an exact sum over a token count, takes it: ~0.1 µs, where
// the big.Int division costs ~1 µs and 11 allocations.
//
// With num = hi + lo + δ (Sum.float64Pair) and q0 = hi/d rounded, r = hi -
// q0·d is a float64 exactly (the remainder of a correctly rounded
// division; one FMA gives it), so num/d = q0 + (r + lo + δ)/d. c, that
// correction in float64, is within err of the true one, err being twice
// the bound of its rounding errors and of δ. Rounding is monotonic, so if
// q0 + (c - err) and q0 + (c + err) round to the same float64, that is the
// correctly rounded quotient. Only a quotient within about 2^-100 of its
// own ulp of a rounding boundary fails the test.
func quotientPair(num *Sum, d float64) (float64, bool) {
	hi, lo, ok := num.float64Pair()
	// Keep away from overflow and from underflow (where the FMA's
	// remainder would not be exact).
	const small, large = 0x1p-900, 0x1p1000
	if !ok || !(d >= small && d <= large) || !(math.Abs(hi) >= small && math.Abs(hi) <= large) {
		return 0, false
	}
	q0 := hi / d
	if !(math.Abs(q0) >= small && math.Abs(q0) <= large) {
		return 0, false
	}
	r := math.FMA(-q0, d, hi)
	t := r + lo
	c := t / d
	err := ((math.Abs(t)+math.Abs(lo))*0x1p-52+0x1p-1074)/d + math.Abs(c)*0x1p-52
	qa, qb := q0+(c-err), q0+(c+err)
	return qa, qa == qb
}

// ln2Mant is ln 2 · 2^128 rounded down: ln 2 = ln2Mant · 2^-128 + d with
// 0 < d < 2^-128 (0x0.b17217f7d1cf79abc9e3b39803f2f6af40f3...).
var ln2Mant, _ = new(big.Int).SetString("b17217f7d1cf79abc9e3b39803f2f6af", 16)

// ratioLn2Float64 returns num / (den · ln 2) rounded to the nearest float64
// (num and den in the same units, den > 0), with ln 2 to 128 bits: the
// result is the correctly rounded value unless the true quotient lies within
// a relative 2^-127 of a rounding boundary.
func ratioLn2Float64(num, den *big.Int) float64 {
	return ratioFloat64(num, new(big.Int).Mul(den, ln2Mant), 128)
}
