package metrics

import (
	"math"
	"math/big"
	"math/bits"
)

// Layout of the superaccumulator. Every finite float64 is an integer multiple
// of 2^-1074 below 2^1024, so it is a signed integer of at most 2098 bits in
// units of 2^-1074. Limb i holds a base-2^32 digit of weight 2^(32i-1074).
// A float64 touches at most three limbs (53 mantissa bits shifted by up to 31),
// and its lowest limb index is at most 2045/32 = 63, so limbs 0..65 receive
// digits and limb 66 only receives carries.
const (
	sumLimbs     = 67
	sumTopLimb   = sumLimbs - 1
	digitBits    = 32
	digitMask    = 1<<digitBits - 1
	unitExponent = -1074 // the weight of bit 0 of limb 0
	// sumCarryEvery bounds the adds between carry normalisations: each add moves a
	// limb by less than 2^32, so |limb| < (2^30+1)·2^32 < 2^63 stays in an int64.
	sumCarryEvery = 1 << 30
)

// Sum is an exact accumulator of float64 values: a fixed-point
// superaccumulator of 67 int64 limbs holding 32-bit digits, covering the whole
// float64 exponent range, carry-normalised every 2^30 adds. The zero value is an
// empty sum ready to use. The order of Add and Merge calls never changes the
// result bits.
//
// NaN and ±Inf are not held in the limbs; they are tracked as flags (see
// Float64, Inf and IsNaN).
type Sum struct {
	limbs  [sumLimbs]int64
	adds   int64 // adds since the last normalisation; |limbs[i]| < (adds+1)·2^32 for i < sumTopLimb
	posInf bool
	negInf bool
	nan    bool
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
	pos := exp - 1
	idx := pos / digitBits
	shift := uint(pos % digitBits)
	lo := mant << shift
	hi := mant >> (64 - shift) // 0 when shift == 0 (Go shifts of >= 64 give 0)
	l := s.limbs[idx : idx+3 : idx+3]
	d0, d1, d2 := int64(lo&digitMask), int64(lo>>digitBits), int64(hi)
	if b>>63 != 0 {
		l[0] -= d0
		l[1] -= d1
		l[2] -= d2
	} else {
		l[0] += d0
		l[1] += d1
		l[2] += d2
	}
	s.adds++
	if s.adds >= sumCarryEvery {
		s.normalize()
	}
}

func (s *Sum) addSpecial(x float64) {
	switch {
	case math.IsNaN(x):
		s.nan = true
	case x > 0:
		s.posInf = true
	default:
		s.negInf = true
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
	s.Add(math.FMA(a, b, -hi))
}

// Merge adds the value and flags of o to s. o is not modified.
func (s *Sum) Merge(o *Sum) {
	if s.adds+o.adds+1 >= sumCarryEvery {
		s.normalize()
	}
	for i := range s.limbs {
		s.limbs[i] += o.limbs[i]
	}
	s.adds += o.adds + 1
	if s.adds >= sumCarryEvery {
		s.normalize()
	}
	s.posInf = s.posInf || o.posInf
	s.negInf = s.negInf || o.negInf
	s.nan = s.nan || o.nan
}

// Reset empties the sum.
func (s *Sum) Reset() { *s = Sum{} }

// Inf reports +1 if +Inf (and no -Inf or NaN) was added, -1 if -Inf (and no
// +Inf or NaN) was added, and 0 otherwise.
func (s *Sum) Inf() int {
	if s.IsNaN() {
		return 0
	}
	switch {
	case s.posInf:
		return 1
	case s.negInf:
		return -1
	}
	return 0
}

// IsNaN reports whether the sum is NaN: a NaN was added, or both +Inf and -Inf.
func (s *Sum) IsNaN() bool { return s.nan || (s.posInf && s.negInf) }

// IsFinite reports whether only finite values were added.
func (s *Sum) IsFinite() bool { return !s.nan && !s.posInf && !s.negInf }

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
	neg, mag := s.magnitude()
	v := roundDigits(&mag)
	if neg {
		return -v
	}
	return v
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
	neg, mag := s.magnitude()
	// Big-endian bytes: the top limb (a non-negative int64) then 66 digits.
	var buf [8 + 4*sumTopLimb]byte
	top := uint64(mag[sumTopLimb])
	for i := 0; i < 8; i++ {
		buf[i] = byte(top >> (56 - 8*i))
	}
	for i := 0; i < sumTopLimb; i++ {
		d := uint32(mag[sumTopLimb-1-i])
		o := 8 + 4*i
		buf[o], buf[o+1], buf[o+2], buf[o+3] = byte(d>>24), byte(d>>16), byte(d>>8), byte(d)
	}
	n := new(big.Int).SetBytes(buf[:])
	if neg {
		n.Neg(n)
	}
	return n
}

// normalize propagates carries so that limbs 0..65 lie in [0, 2^32); the
// signed remainder ends in the top limb.
func (s *Sum) normalize() {
	carryLimbs(&s.limbs)
	s.adds = 0
}

func carryLimbs(l *[sumLimbs]int64) {
	for i := 0; i < sumTopLimb; i++ {
		c := l[i] >> digitBits // arithmetic shift: floor division
		l[i] -= c << digitBits
		l[i+1] += c
	}
}

// magnitude returns the sign of the finite part and its absolute value as
// normalised limbs (digits in [0, 2^32), a non-negative top limb).
func (s *Sum) magnitude() (neg bool, mag [sumLimbs]int64) {
	mag = s.limbs
	carryLimbs(&mag)
	if mag[sumTopLimb] < 0 {
		neg = true
		for i := range mag {
			mag[i] = -mag[i]
		}
		carryLimbs(&mag)
	}
	return neg, mag
}

// roundDigits rounds a normalised non-negative limb array (in units of
// 2^-1074) to the nearest float64, ties to even.
func roundDigits(mag *[sumLimbs]int64) float64 {
	if mag[sumTopLimb] != 0 {
		return math.Inf(1) // at least 2^(32·66-1074) = 2^1038
	}
	h := sumTopLimb - 1
	for h >= 0 && mag[h] == 0 {
		h--
	}
	if h < 0 {
		return 0
	}
	msb := digitBits*h + bits.Len64(uint64(mag[h])) - 1 // bit index of the leading 1
	// Take the 64-bit window of bits msb-63 .. msb, and whether any bit below it is set.
	base := msb - 63
	var window uint64
	sticky := false
	for i := h; i >= 0; i-- {
		d := uint64(mag[i])
		off := digitBits*i - base
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
	drop := uint(low - base) // 11 for normal results, up to 63 for subnormal ones
	q := window >> drop
	rem := window & (1<<drop - 1)
	half := uint64(1) << (drop - 1)
	if rem > half || (rem == half && (sticky || q&1 == 1)) {
		q++
	}
	// q <= 2^53 and q·2^(low-1074) is a float64 (or overflows to +Inf).
	return math.Ldexp(float64(q), low+unitExponent)
}
