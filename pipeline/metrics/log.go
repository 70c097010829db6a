package metrics

import (
	"math"
	"math/big"
)

// logFast is ln x within 0.52 ulp (measured against a 256-bit reference in
// log_test.go) for x in the normal range, and math.Log(x) outside it (0,
// subnormals, negatives, ±Inf, NaN). It is the log of the binary and
// multiclass prob kinds, where one log per row is a third of the work:
// math.Log costs about 9 ns a call here, math.Log1p 12, logFast about 3
// (BenchmarkLog). It gives the same bits on every architecture.
func logFast(x float64) float64 { return logPlus(x, 0) }

// logPlus is ln(x + c) for an x that stands for x + c, a sum rounded to x
// (|c| at most half an ulp of x): ln(1 - q) for a probability q is
// logPlus(complement(q)), which keeps a tiny q's ln(1-q) = -q(1 + ...) to
// full precision, as math.Log1p(-q) does. c must
// be 0 unless x lies in [0.5, 2].
//
// The method is glibc's (Szabolcs Nagy, 2018) without its lookup of a
// second table: x = 2^k·z with z in [0.6875, 1.375) split into 128
// subintervals; for the one holding z, 1/c to 9 bits (invc) and
// logc = -ln(invc) as a double-double come from logTable, r = z·invc - 1
// (one FMA, exact, |r| < 0.0049), and ln x = k·ln2 + logc + ln(1 + r) with
// a degree-7 Taylor polynomial for ln(1 + r) (truncation below 3e-20
// absolute, where |ln x| >= 2^-7). Within 2^-7 of 1 the result is small
// and is ln(1 + r) with r = x - 1, exact, and a degree-9 polynomial
// (truncation below 2^-66 relative).
func logPlus(x, c float64) float64 {
	if !(x >= 0x1p-1022 && x <= math.MaxFloat64) {
		return math.Log(x + c)
	}
	if r := x - 1; r > -0x1p-7 && r < 0x1p-7 { // x - 1 is exact here
		r += c
		r2 := r * r
		return r + float64(r2*logNear1(r))
	}
	const off = 0x3fe6000000000000 // the bits of 0.6875
	ix := math.Float64bits(x)
	tmp := ix - off
	t := &logTable[(tmp>>45)&(logTableSize-1)]
	k := int64(tmp) >> 52 // x = 2^k·z
	z := math.Float64frombits(ix - tmp&(0xfff<<52))
	r := math.FMA(z, t.invc, -1) // exact: invc has 9 significant bits
	// c·2^-k·invc (k is -1, 0 or 1 on [0.5, 2]) is z's transformation
	// applied to c, and ln(1 + r + d) = ln(1 + r) + d·(1 - r) to far below
	// an ulp (|d| <= 2^-53). No branch on c (see BinaryProbHard): when it is
	// 0, d is 0 (2^-k is kept finite for the k of huge x).
	d := float64(float64(c*math.Float64frombits(uint64(1023-min(k, 1022))<<52)) * t.invc)
	d -= float64(d * r)
	// hi = k·ln2Hi + logcHi + r, and lo the rounding errors of its two
	// additions (exactly, by Fast2Sum: |k·ln2Hi| >= ln 2 > |logc| unless k
	// is 0, and |w| >= |r| away from 1) plus the low parts. k·ln2Hi is
	// exact.
	kf := float64(k)
	a := float64(kf * ln2Hi)
	w := a + t.logcHi
	hi := w + r
	lo := float64(a-w) + t.logcHi + (float64(w-hi) + r) + float64(kf*ln2Lo) + t.logcLo + d
	// ln(1 + r) - r = r^2·(-1/2 + r/3 - r^2/4 + ...), in pairs of terms
	// (Estrin's scheme: a shorter chain of dependent operations than Horner's).
	r2 := r * r
	p := float64(r2 * (-0.5 + float64(r*(1.0/3)) + float64(r2*(-0.25+float64(r*0.2)+float64(r2*(-1.0/6+float64(r*(1.0/7))))))))
	return hi + (lo + p)
}

// logNear1 is (ln(1 + r) - r)/r^2 for |r| < 2^-7, to degree 7 in r, by
// Estrin's scheme.
func logNear1(r float64) float64 {
	r2 := r * r
	r4 := r2 * r2
	a := -0.5 + float64(r*(1.0/3)) + float64(r2*(-0.25+float64(r*0.2)))
	b := -1.0/6 + float64(r*(1.0/7)) + float64(r2*(-1.0/8+float64(r*(1.0/9))))
	return a + float64(r4*b)
}

// logTableSize is the number of subintervals of [0.6875, 1.375): the 7 bits
// of x's mantissa (offset) above bit 45.
const logTableSize = 128

// logTable[i] holds, for subinterval i, invc = 1/(its midpoint) rounded to
// float64 and logc = -ln(invc) as logcHi + logcLo; set by init to 256 bits.
var logTable [logTableSize]struct{ invc, logcHi, logcLo float64 }

// logVector is logPlus's constants and table for the vector kernel of
// BinaryProbHardRows, which reads them at these indexes (times 8 bytes:
// vector_amd64.s). Integers are held as their bits.
var logVector [lvLen]float64

const (
	lvOne     = 0  // 1
	lvMin     = 1  // 0x1p-1022, the least normal
	lvMax     = 2  // math.MaxFloat64
	lvNear    = 3  // 0x1p-7
	lvNegNear = 4  // -0x1p-7
	lvOff     = 5  // the bits of 0.6875
	lvExpMask = 6  // 0xfff<<52
	lvIdxMask = 7  // logTableSize - 1
	lv1022    = 8  // 1022
	lv1023    = 9  // 1023
	lvLn2     = 10 // ln2Hi, ln2Lo
	lvPoly    = 12 // -1/2, 1/3, -1/4, 1/5, -1/6, 1/7, -1/8, 1/9
	lvIntOne  = 20 // the int64 1 (a positive label)
	lvInvc    = 21 // logTable[i].invc
	lvLogcHi  = lvInvc + logTableSize
	lvLogcLo  = lvLogcHi + logTableSize
	lvLen     = lvLogcLo + logTableSize
)

// ln2 = ln2Hi + ln2Lo with ln2Hi to 42 bits, so that k·ln2Hi is exact for
// every exponent k of a float64.
var ln2Hi, ln2Lo float64

func init() {
	const prec = 256
	ln2, _ := new(big.Float).SetPrec(prec).SetString(ln2Digits)
	ln2Hi = math.Float64frombits(math.Float64bits(bigFloat64(ln2)) &^ (1<<11 - 1))
	ln2Lo = bigFloat64(new(big.Float).SetPrec(prec).Sub(ln2, new(big.Float).SetFloat64(ln2Hi)))
	f := func(v float64) *big.Float { return new(big.Float).SetPrec(prec).SetFloat64(v) }
	for i := range logTable {
		const off = 0x3fe6000000000000
		lo := math.Float64frombits(off + uint64(i)<<45)
		hi := math.Float64frombits(off + uint64(i+1)<<45)
		// 1/midpoint to 9 significant bits, so that z·invc - 1 (|z·invc - 1|
		// < 2^-7.5) is a float64 exactly.
		invc := 1 / ((lo + hi) / 2)
		e := math.Ilogb(invc)
		invc = math.Ldexp(math.Round(math.Ldexp(invc, 8-e)), e-8)
		// ln(invc) = 2·atanh(y) with y = (invc-1)/(invc+1), |y| < 0.19.
		y := new(big.Float).SetPrec(prec).Quo(new(big.Float).SetPrec(prec).Sub(f(invc), f(1)), new(big.Float).SetPrec(prec).Add(f(invc), f(1)))
		y2 := new(big.Float).SetPrec(prec).Mul(y, y)
		sum, pow := new(big.Float).SetPrec(prec), new(big.Float).SetPrec(prec).Set(y)
		for n := int64(1); n < 120; n += 2 {
			sum.Add(sum, new(big.Float).SetPrec(prec).Quo(pow, f(float64(n))))
			pow.Mul(pow, y2)
		}
		logc := sum.Mul(sum, f(-2)) // -ln(invc)
		logcHi := bigFloat64(logc)
		logTable[i].invc = invc
		logTable[i].logcHi = logcHi
		logTable[i].logcLo = bigFloat64(new(big.Float).SetPrec(prec).Sub(logc, f(logcHi)))
		logVector[lvInvc+i], logVector[lvLogcHi+i], logVector[lvLogcLo+i] = logTable[i].invc, logTable[i].logcHi, logTable[i].logcLo
	}
	bits := math.Float64frombits
	v := &logVector
	v[lvOne], v[lvMin], v[lvMax], v[lvNear], v[lvNegNear] = 1, 0x1p-1022, math.MaxFloat64, 0x1p-7, -0x1p-7
	v[lvOff], v[lvExpMask], v[lvIdxMask] = bits(0x3fe6000000000000), bits(0xfff<<52), bits(logTableSize-1)
	v[lv1022], v[lv1023], v[lvIntOne] = bits(1022), bits(1023), bits(1)
	v[lvLn2], v[lvLn2+1] = ln2Hi, ln2Lo
	copy(v[lvPoly:lvIntOne], []float64{-0.5, 1.0 / 3, -0.25, 0.2, -1.0 / 6, 1.0 / 7, -1.0 / 8, 1.0 / 9})
}

// bigFloat64 is x rounded to the nearest float64.
func bigFloat64(x *big.Float) float64 {
	v, _ := x.Float64()
	return v
}
