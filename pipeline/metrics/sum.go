package metrics

import (
	"math"
	"math/big"
	"math/bits"
	"sync"
)

// Layout of the superaccumulator. Every finite float64 is an integer multiple
// of 2^-1074 below 2^1024, so it is a signed integer of at most 2098 bits in
// units of 2^-1074. Limb i holds a base-2^32 digit of weight 2^(32i-1074).
// A float64 touches at most three limbs (53 mantissa bits shifted by up to 31),
// and its lowest limb index is at most 2045/32 = 63, so limbs 0..65 receive
// digits and limbs from 66 up only carries.
//
// A Sum stores only a window of consecutive limbs, base .. base+n-1: every
// limb outside it is zero. The window covers the three limbs of each value
// added (Add grows it when a value falls outside), so values at positions
// seen before take the fast path. Typical data (values within a few powers of
// ten of each other, with the low halves of exact products) need 3 to 8 limbs.
const (
	sumLimbs     = 67 // limbs 0..66 hold any sum of fewer than 2^30 float64 values
	digitBits    = 32
	digitMask    = 1<<digitBits - 1
	unitExponent = -1074 // the weight of bit 0 of limb 0
	// sumCarryEvery bounds the adds between carry normalisations: each add moves a
	// limb by less than 2^32, so |limb| < (2^30+1)·2^32 < 2^63 stays in an int64.
	sumCarryEvery = 1 << 30
	// sumMaxLimbs bounds the window: base and n are bytes. It is far above
	// what any sum reaches (limb 255 has weight 2^7086).
	sumMaxLimbs = 255
)

// Flag bits of Sum.flags.
const (
	flagPosInf = 1 << iota
	flagNegInf
	flagNaN
)

// Sum is an exact accumulator of float64 values: a fixed-point
// superaccumulator of int64 limbs holding 32-bit digits, covering the whole
// float64 exponent range, carry-normalised every 2^30 adds. It stores only
// the window of limbs that its values touched, grown on demand in either
// direction (a few limbs at a time), so a Sum costs 32 bytes plus 8 bytes per
// limb of its window: 24 to 64 bytes of limbs for typical data, at most about
// 550 for values spanning the whole float64 range. Add allocates only when
// the window grows, so not in the steady state.
//
// The zero value is an empty sum ready to use. The order of Add and Merge
// calls never changes the result bits.
//
// A copy of a Sum (c := s) shares its limbs with the original: once either is
// changed, the other is no longer valid, except as the argument of the
// original's Merge (s.Merge(&c) doubles s). To copy a Sum, Merge it into an
// empty one.
//
// NaN and ±Inf are not held in the limbs; they are tracked as flags (see
// Float64, Inf and IsNaN).
type Sum struct {
	// l is the window: limb base+i is l[i], and |limb| < (adds+1)·2^32. Its
	// spare capacity is room to grow. A plain slice keeps every limb access
	// bounds-checked.
	l     []int64
	adds  int32 // adds since the last normalisation, < sumCarryEvery
	base  uint8 // limb index of the first window limb
	flags uint8 // flagPosInf | flagNegInf | flagNaN
}

// limbs returns the window.
func (s *Sum) limbs() []int64 { return s.l }

// setLimbs makes l the window, from limb index base, with l's spare
// capacity as room to grow.
func (s *Sum) setLimbs(l []int64, base int) {
	s.l = l
	s.base = uint8(base)
}

// Add adds x exactly. NaN and ±Inf set flags instead.
func (s *Sum) Add(x float64) {
	b := math.Float64bits(x)
	exp := int(b>>52) & 0x7ff
	mant := b & (1<<52 - 1)
	switch {
	case exp == 0x7ff:
		s.addSpecial(x)
		return
	case exp == 0:
		if mant == 0 {
			return // ±0
		}
		exp = 1 // subnormal: mant·2^-1074
	default:
		mant |= 1 << 52
	}
	// x = ±mant · 2^(exp-1075) = ±mant · 2^(pos-1074).
	pos := uint(exp - 1)
	idx := int(pos / digitBits)
	shift := pos % digitBits
	lo := mant << shift
	hi := mant >> (64 - shift) // 0 when shift == 0 (Go shifts of >= 64 give 0)
	i := idx - int(s.base)
	if i < 0 || i+3 > len(s.l) {
		s.addGrow(idx, x) // a call with nothing live after it keeps this path lean
		return
	}
	addDigits((*[3]int64)(s.l[i:i+3]), lo, hi, b>>63 != 0)
	s.adds++
	if s.adds >= sumCarryEvery {
		s.normalize()
	}
}

// AddSlice adds every value of xs exactly: the same bits as Add of each in
// turn, at about a third of the cost.
func (s *Sum) AddSlice(xs []float64) { s.addSlice(xs, 0) }

// SubSlice subtracts every value of xs exactly: Add(-x) for each x.
func (s *Sum) SubSlice(xs []float64) { s.addSlice(xs, 1<<63) }

// binSums is AddSlice's scratch: per biased exponent e, the sum of the
// signed 53-bit significands of the values with that exponent, whose weight
// is 2^(max(e,1)-1075). An int64 takes 1024 of them without overflow.
type binSums [2048]int64

var binSumsPool = sync.Pool{New: func() any { return new(binSums) }}

// binSumsEvery is the values per flush of binSums: |sum| <= 1024·(2^53-1) < 2^63.
const binSumsEvery = 1024

// addSlice adds the values of xs with their sign bits flipped by flip (0 or
// 1<<63). It sums the significands of each exponent in an int64 (one add
// per value, no carry chain through the limbs) and adds those sums to the
// limbs every binSumsEvery values. Zeros, subnormals, ±Inf and NaN go to Add
// one by one, without a flush.
func (s *Sum) addSlice(xs []float64, flip uint64) {
	if len(xs) < 8 {
		for _, x := range xs {
			s.Add(math.Float64frombits(math.Float64bits(x) ^ flip))
		}
		return
	}
	if len(xs) >= fixedMin {
		// Most values (losses, Brier scores, nlls) are in fixedSumVector's
		// window: it takes them up to the first that is not.
		var acc fixedAcc
		n := fixedSumVector(xs, flip, &acc)
		s.addFixed(&acc)
		if xs = xs[n:]; len(xs) == 0 {
			return
		}
	}
	s.perExponent(xs,
		func(a *binSums, xs []float64) (int, uint64, uint64) { return a.add(xs, flip) },
		func(x float64) { s.Add(math.Float64frombits(math.Float64bits(x) ^ flip)) })
}

// addSquares adds x·x exactly for each value x of xs, the same bits as
// addSquare of each: hi = x·x and lo = FMA(x, x, -hi), or hi alone when it
// is not finite, through binSums as AddSlice does. Each x puts at most one
// value at an exponent (lo is below hi), so runs of binSumsEvery values
// keep the int64s from overflowing.
func (s *Sum) addSquares(xs []float64) {
	s.perExponent(xs, (*binSums).addSquares, func(x float64) { s.addSpecial(x * x) })
}

// perExponent is the loop of addSlice and addSquares: in runs of
// binSumsEvery values, take puts values of xs into the per-exponent sums
// up to one it leaves (returning how many it took and the exponents it
// touched), which goes to slow one by one; the sums go to the limbs after
// each run.
func (s *Sum) perExponent(xs []float64, take func(*binSums, []float64) (n int, lo, hi uint64), slow func(float64)) {
	acc := binSumsPool.Get().(*binSums)
	for len(xs) > 0 {
		run := xs[:min(len(xs), binSumsEvery)]
		lo, hi := uint64(0x7ff), uint64(0)
		for k := 0; k < len(run); k++ { // k++: past the value take left
			n, l, h := take(acc, run[k:])
			lo, hi = min(lo, l), max(hi, h)
			if k += n; k < len(run) {
				slow(run[k])
			}
		}
		s.flush(acc, lo, hi)
		xs = xs[len(run):]
	}
	binSumsPool.Put(acc)
}

// fixedMin is the fewest values for which addSlice tries fixedSumVector
// (whose flush, addFixed, costs about as much as 30 values).
const fixedMin = 32

// fixedAcc is fixedSumVector's accumulator: per lane j of 8, the sum of its
// values in units of 2^-128 is w0[j] + (w1[j] + c1[j])·2^64 +
// (w2[j] + c2[j])·2^128, c1 and c2 counting the carries out of w0 and w1.
type fixedAcc struct {
	w0, w1, w2, c1, c2 [8]uint64
}

// fixedWindow is the biased exponents of the values fixedSumVector takes
// (and zero): [2^-76, 2^10), whose significands fall within 128 + 10 bits
// in units of 2^-128.
const fixedExpMin, fixedExpMax = 1023 - 76, 1023 + 9

// addFixed adds a's sum to s exactly.
func (s *Sum) addFixed(a *fixedAcc) {
	// t0..t3, 64 bits each from the unit 2^-128: the lanes' total.
	var t0, t1, t2, t3, c uint64
	for j := range 8 {
		t0, c = bits.Add64(t0, a.w0[j], 0)
		t1, c = bits.Add64(t1, a.w1[j], c)
		t2, c = bits.Add64(t2, a.w2[j], c)
		t3 += c
		t1, c = bits.Add64(t1, a.c1[j], 0)
		t2, c = bits.Add64(t2, a.c2[j], c)
		t3 += c
	}
	// 2^-128 is 2^(946-1074): addInt's position 946 for bit 0 of t0.
	for k, w := range [4]uint64{t0, t1, t2, t3} {
		pos := uint(946 + 64*k)
		if lo := w & digitMask; lo != 0 {
			s.addInt(int64(lo), pos)
		}
		if hi := w >> digitBits; hi != 0 {
			s.addInt(int64(hi), pos+digitBits)
		}
	}
}

// flush adds a's sums for exponents lo to hi to the limbs and zeroes them.
func (s *Sum) flush(a *binSums, lo, hi uint64) {
	for e := lo; e <= hi; e++ {
		if v := a[e]; v != 0 {
			s.addInt(v, uint(max(e, 1)-1))
			a[e] = 0
		}
	}
}

// put adds the significand of the finite value with bits b to a, negated
// for a negative value without a branch (sign is 0 or -1, and (m ^ sign) -
// sign is m or -m), and returns its exponent field e. A zero or subnormal
// value (e == 0) has no implicit bit and the weight of e == 1.
func (a *binSums) put(b uint64) uint64 {
	e := b >> 52 & 0x7ff
	m := int64(b&(1<<52-1) | uint64(b2i(e != 0))<<52)
	sign := int64(b) >> 63
	a[e] += (m ^ sign) - sign
	return e
}

// addSquares puts hi and lo (when not zero) of the square of each value of
// xs into a, up to the first whose square is not finite, and returns how
// many values it took and the lowest and highest exponent it touched (lo >
// hi if none).
func (a *binSums) addSquares(xs []float64) (n int, lo, hi uint64) {
	lo, hi = 0x7ff, 0
	for i, x := range xs {
		h := x * x
		if math.Float64bits(h)>>52&0x7ff == 0x7ff {
			return i, lo, hi
		}
		e := a.put(math.Float64bits(h))
		lo, hi = min(lo, e), max(hi, e)
		if l := math.FMA(x, x, -h); l != 0 { // often exactly 0; below h's exponent
			lo = min(lo, a.put(math.Float64bits(l)))
		}
	}
	return len(xs), lo, hi
}

// add adds the significands of xs's values (sign bits flipped by flip) to
// a up to the first zero, subnormal, infinite or NaN value, and returns how
// many it added and the lowest and highest exponent it touched (lo > hi if
// none).
func (a *binSums) add(xs []float64, flip uint64) (n int, lo, hi uint64) {
	lo, hi = 0x7ff, 0
	for i, x := range xs {
		b := math.Float64bits(x) ^ flip
		e := b >> 52 & 0x7ff
		if e-1 >= 0x7fe { // e == 0 or 0x7ff
			return i, lo, hi
		}
		// The significand, negated for a negative value without a branch:
		// sign is 0 or -1, and (m ^ sign) - sign is m or -m.
		m := int64(b&(1<<52-1) | 1<<52)
		sign := int64(b) >> 63
		a[e] += (m ^ sign) - sign
		lo, hi = min(lo, e), max(hi, e)
	}
	return len(xs), lo, hi
}

// addInt adds v·2^(pos-1074) exactly (|v| < 2^63, pos <= 2045): like Add,
// whose values are this with |v| < 2^53, it touches three limbs by less than
// 2^32 each.
func (s *Sum) addInt(v int64, pos uint) {
	u := uint64(v)
	if v < 0 {
		u = -u
	}
	idx := int(pos / digitBits)
	shift := pos % digitBits
	lo := u << shift
	hi := u >> (64 - shift) // 0 when shift == 0; below 2^31 as u < 2^63
	s.cover(idx, idx+3)
	i := idx - int(s.base)
	addDigits((*[3]int64)(s.l[i:i+3]), lo, hi, v < 0)
	s.adds++
	if s.adds >= sumCarryEvery {
		s.normalize()
	}
}

// addDigits adds lo + hi·2^64 (hi < 2^32), negated when neg, to the three
// limbs l as base-2^32 digits.
func addDigits(l *[3]int64, lo, hi uint64, neg bool) {
	d0, d1, d2 := int64(lo&digitMask), int64(lo>>digitBits), int64(hi)
	if neg {
		l[0] -= d0
		l[1] -= d1
		l[2] -= d2
	} else {
		l[0] += d0
		l[1] += d1
		l[2] += d2
	}
}

// addGrow is Add of x when its limbs idx .. idx+2 are not all in the window.
// It grows the window to them, even where x's digits are zero, so that later
// values at this position take the fast path, and adds x again.
func (s *Sum) addGrow(idx int, x float64) {
	s.cover(idx, idx+3)
	s.Add(x)
}

// cover grows the window to include limbs lo .. hi-1 (lo < hi), keeping the
// value. It uses the allocation's spare room when that is enough (moving the
// window up if it grows down); otherwise it reallocates with an eighth more
// room than needed, plus the allocator's size-class rounding (a first window
// gets just the three limbs of its first value). A window only grows and has
// at most about 70 limbs, so a Sum reallocates a bounded number of times.
func (s *Sum) cover(lo, hi int) {
	n := len(s.l)
	if n == 0 {
		s.setLimbs(newLimbs(hi-lo, 0), lo)
		return
	}
	base, top := int(s.base), int(s.base)+n
	if lo >= base && hi <= top {
		return
	}
	newBase, newTop := min(lo, base), max(hi, top)
	if newTop > sumMaxLimbs {
		panic("metrics: Sum out of range") // needs more than 2^6000 adds
	}
	if newTop-newBase <= cap(s.l) {
		k := base - newBase
		l := s.l[:newTop-newBase]
		copy(l[k:], l[:n])
		clear(l[:k])
		clear(l[k+n:])
		s.setLimbs(l, newBase)
		return
	}
	l := newLimbs(newTop-newBase, (newTop-newBase)/8)
	copy(l[base-newBase:], s.limbs())
	s.setLimbs(l, newBase)
}

// newLimbs returns n zero limbs with room for at least spare more, rounded up
// to the allocator's size class (which would be allocated anyway).
func newLimbs(n, spare int) []int64 {
	return append([]int64(nil), make([]int64, n+spare)...)[:n]
}

func (s *Sum) addSpecial(x float64) {
	switch {
	case math.IsNaN(x):
		s.flags |= flagNaN
	case x > 0:
		s.flags |= flagPosInf
	default:
		s.flags |= flagNegInf
	}
}

// AddProduct adds a·b. It adds hi = a·b and lo = FMA(a, b, -hi), which together
// are the exact product whenever lo is representable: always when the product of
// the two least significant mantissa bits is at least 2^-1074, e.g. whenever
// |a·b| >= 2^-969. Below that the part under 2^-1074 is lost (less than 2^-1074
// per call). When hi is not finite (overflow, an infinite or NaN operand, 0·Inf)
// hi alone is added, which sets the matching flag.
func (s *Sum) AddProduct(a, b float64) {
	hi := a * b
	if math.IsInf(hi, 0) || math.IsNaN(hi) {
		s.addSpecial(hi)
		return
	}
	s.Add(hi)
	if lo := math.FMA(a, b, -hi); lo != 0 { // often exactly 0; adding ±0 does nothing
		s.Add(lo)
	}
}

// Merge adds the value and flags of o to s. o is not modified.
func (s *Sum) Merge(o *Sum) {
	if o != s && sameArray(o.l, s.l) {
		// o is a copy of s sharing its limbs: take a private snapshot first, as
		// growing or normalising s may rewrite them.
		c := *o
		c.setLimbs(append([]int64(nil), o.limbs()...), int(o.base))
		o = &c
	}
	if int64(s.adds)+int64(o.adds)+1 >= sumCarryEvery {
		s.normalize()
	}
	// Only o's limbs from its lowest to its highest non-zero one matter.
	ol := o.limbs()
	lo, hi := 0, len(ol)
	for lo < hi && ol[lo] == 0 {
		lo++
	}
	for hi > lo && ol[hi-1] == 0 {
		hi--
	}
	if lo < hi {
		ob := int(o.base)
		s.cover(ob+lo, ob+hi)
		sl := s.limbs()[ob+lo-int(s.base):]
		for i, v := range ol[lo:hi] {
			sl[i] += v
		}
	}
	s.adds += o.adds + 1
	if s.adds >= sumCarryEvery {
		s.normalize()
	}
	s.flags |= o.flags
}

// Reset empties the sum and releases its limbs.
func (s *Sum) Reset() { *s = Sum{} }

// Inf reports +1 if +Inf (and no -Inf or NaN) was added, -1 if -Inf (and no
// +Inf or NaN) was added, and 0 otherwise.
func (s *Sum) Inf() int {
	if s.IsNaN() {
		return 0
	}
	switch {
	case s.flags&flagPosInf != 0:
		return 1
	case s.flags&flagNegInf != 0:
		return -1
	}
	return 0
}

// IsNaN reports whether the sum is NaN: a NaN was added, or both +Inf and -Inf.
func (s *Sum) IsNaN() bool {
	return s.flags&flagNaN != 0 || s.flags&(flagPosInf|flagNegInf) == flagPosInf|flagNegInf
}

// IsFinite reports whether only finite values were added.
func (s *Sum) IsFinite() bool { return s.flags == 0 }

// Float64 returns the exact sum rounded to the nearest float64 (ties to even),
// ±Inf when it overflows. It is +Inf or -Inf if such infinities were added, and
// NaN if a NaN or both infinities were added. An exact zero is +0.
func (s *Sum) Float64() float64 {
	if s.IsNaN() {
		return math.NaN()
	}
	switch s.Inf() {
	case 1:
		return math.Inf(1)
	case -1:
		return math.Inf(-1)
	}
	var buf [sumLimbs + 2]int64
	neg, mag, base := s.magnitude(buf[:0])
	v := roundDigits(mag, base)
	if neg {
		return -v
	}
	return v
}

// float64Exact returns the sum as a float64 and whether that is its exact
// value: a finite sum (no Inf or NaN added) that needs no rounding. It does
// not allocate.
func (s *Sum) float64Exact() (float64, bool) {
	if !s.IsFinite() {
		return s.Float64(), false
	}
	var buf [sumLimbs + 2]int64
	neg, mag, base := s.magnitude(buf[:0])
	v, exact := roundDigitsExact(mag, base)
	if neg {
		v = -v
	}
	return v, exact
}

// float64Pair returns a finite sum as hi + lo + d: hi is the sum rounded to
// the nearest float64 and lo the rest, sum - hi, rounded likewise, so |d| is
// at most half an ulp of lo (half the smallest subnormal when lo is one).
// ok is false when hi overflows. It does not allocate.
func (s *Sum) float64Pair() (hi, lo float64, ok bool) {
	var buf [sumLimbs + 5]int64
	neg, mag, base := s.magnitude(buf[:0])
	hi = roundDigits(mag, base)
	if hi == 0 || math.IsInf(hi, 0) {
		return hi, 0, hi == 0
	}
	// hi as sig·2^p in units of 2^-1074, sig odd: its lowest bit lies in the
	// window, since the window holds every bit of the sum and hi is either
	// the sum itself or has no bit below the sum's 53rd.
	b := math.Float64bits(hi)
	sig, p := b&(1<<52-1), 0
	if e := int(b >> 52); e != 0 {
		sig, p = sig|1<<52, e-1
	}
	tz := bits.TrailingZeros64(sig)
	sig, p = sig>>uint(tz), p+tz
	lp := p - digitBits*base
	if lp < 0 {
		return hi, 0, false // cannot happen (see above); the caller takes the slow path
	}
	i, off := lp/digitBits, uint(lp%digitBits)
	for len(mag) < i+3 {
		mag = append(mag, 0)
	}
	// Subtract sig << off, at most 84 bits, from digits i, i+1, i+2.
	low, high := sig<<off, sig>>(64-off) // high is 0 when off is 0 (a shift by 64)
	mag[i] -= int64(low & (1<<digitBits - 1))
	mag[i+1] -= int64(low >> digitBits)
	mag[i+2] -= int64(high)
	mag = carryAll(mag)
	restNeg := mag[len(mag)-1] < 0
	if restNeg {
		for j := range mag {
			mag[j] = -mag[j]
		}
		mag = carryAll(mag)
	}
	lo = roundDigits(mag, base)
	if restNeg {
		lo = -lo
	}
	if neg {
		hi, lo = -hi, -lo
	}
	return hi, lo, true
}

// Big returns the exact value of a finite sum as a big.Float whose precision is
// at least prec and large enough to hold it exactly. Call it only when
// IsFinite reports true; it panics otherwise.
func (s *Sum) Big(prec uint) *big.Float {
	if !s.IsFinite() {
		panic("metrics: Sum.Big called on a sum holding Inf or NaN")
	}
	n := s.bigInt()
	if need := uint(n.BitLen()); need > prec {
		prec = need
	}
	if prec == 0 {
		prec = 64
	}
	f := new(big.Float).SetPrec(prec).SetInt(n)
	return f.SetMantExp(f, unitExponent)
}

// bigInt returns the finite part of the sum as an integer count of 2^-1074.
func (s *Sum) bigInt() *big.Int {
	var buf [sumLimbs + 2]int64
	neg, mag, base := s.magnitude(buf[:0])
	// Big-endian bytes of the digits, then shifted to the window's base.
	b := make([]byte, 4*len(mag))
	for i := range mag {
		d := uint32(mag[len(mag)-1-i])
		o := 4 * i
		b[o], b[o+1], b[o+2], b[o+3] = byte(d>>24), byte(d>>16), byte(d>>8), byte(d)
	}
	n := new(big.Int).SetBytes(b)
	n.Lsh(n, uint(digitBits*base))
	if neg {
		n.Neg(n)
	}
	return n
}

// normalize propagates carries so that every limb of the window but the top
// one lies in [0, 2^32) and the top one in (-2^32, 2^32), holding the sign;
// a carry out of the top limb extends the window by one limb.
func (s *Sum) normalize() {
	s.adds = 0
	n := len(s.l)
	if n == 0 {
		return
	}
	if c := carryUp(s.limbs()); c != 0 {
		top := int(s.base) + n
		s.cover(top, top+1)
		s.limbs()[top-int(s.base)] = c
	}
}

// carryUp propagates carries so that every limb but the top one lies in
// [0, 2^32). If the top limb then lies outside (-2^32, 2^32) it keeps its low
// digit and the rest is returned, a carry in (-2^31, 2^31] into the next
// limb; otherwise carryUp returns 0. Limbs must be below 2^63 - 2^32 in
// magnitude.
func carryUp(l []int64) int64 {
	n := len(l)
	for i := 0; i < n-1; i++ {
		c := l[i] >> digitBits // arithmetic shift: floor division
		l[i] -= c << digitBits
		l[i+1] += c
	}
	if t := l[n-1]; t >= 1<<digitBits || t <= -1<<digitBits {
		c := t >> digitBits
		l[n-1] = t - c<<digitBits
		return c
	}
	return 0
}

// magnitude returns the sign of the finite part and its absolute value as
// digits in [0, 2^32), mag[i] of weight 2^(32(base+i)-1074), using buf's
// storage when it is large enough.
func (s *Sum) magnitude(buf []int64) (neg bool, mag []int64, base int) {
	mag = append(buf, s.limbs()...)
	base = int(s.base)
	if len(mag) == 0 {
		return false, mag, base
	}
	mag = carryAll(mag)
	if mag[len(mag)-1] < 0 {
		neg = true
		for i := range mag {
			mag[i] = -mag[i]
		}
		mag = carryAll(mag)
	}
	return neg, mag, base
}

// carryAll propagates carries through l, appending limbs at the top until
// every limb but a negative top one lies in [0, 2^32).
func carryAll(l []int64) []int64 {
	for {
		c := carryUp(l)
		if c == 0 {
			break
		}
		l = append(l, c)
	}
	return l
}

// roundDigits rounds non-negative digits (in [0, 2^32), mag[i] of weight
// 2^(32(base+i)-1074)) to the nearest float64, ties to even.
func roundDigits(mag []int64, base int) float64 {
	v, _ := roundDigitsExact(mag, base)
	return v
}

// roundDigitsExact is roundDigits, and whether the result is exact (no bit
// was rounded off and it did not overflow).
func roundDigitsExact(mag []int64, base int) (float64, bool) {
	h := len(mag) - 1
	for h >= 0 && mag[h] == 0 {
		h--
	}
	if h < 0 {
		return 0, true
	}
	msb := digitBits*(base+h) + bits.Len64(uint64(mag[h])) - 1 // bit index of the leading 1
	if msb+unitExponent >= 1024 {
		return math.Inf(1), false
	}
	// Take the 64-bit window of bits msb-63 .. msb, and whether any bit below it is set.
	bottom := msb - 63
	var window uint64
	sticky := false
	for i := h; i >= 0; i-- {
		d := uint64(mag[i])
		off := digitBits*(base+i) - bottom
		switch {
		case off >= 0:
			window |= d << uint(off)
		case off > -digitBits:
			window |= d >> uint(-off)
			if d&(1<<uint(-off)-1) != 0 {
				sticky = true
			}
		case d != 0:
			sticky = true
		}
		if off <= -digitBits && sticky {
			break
		}
	}
	// Keep bits from low = max(msb-52, 0) up: 53 bits, or fewer for a subnormal.
	low := max(msb-52, 0)
	drop := uint(low - bottom) // 11 for normal results, up to 63 for subnormal ones
	q := window >> drop
	rem := window & (1<<drop - 1)
	half := uint64(1) << (drop - 1)
	if rem > half || (rem == half && (sticky || q&1 == 1)) {
		q++
	}
	exact := rem == 0 && !sticky
	// q <= 2^53 and q·2^(low-1074) is a float64 (or overflows to +Inf).
	v := math.Ldexp(float64(q), low+unitExponent)
	return v, exact && !math.IsInf(v, 0)
}

// sameArray reports whether a and b start at the same array element (a Sum
// and a copy of it).
func sameArray(a, b []int64) bool {
	return cap(a) > 0 && cap(b) > 0 && &a[:1][0] == &b[:1][0]
}
