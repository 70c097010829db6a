//go:build goexperiment.simd && amd64

package metrics

import (
	"math"
	"simd/archsimd"
)

// The vector kernels of expSlice and argmaxBelowInf (AVX-512).

// expVectorized reports whether expSlice uses vector instructions.
func expVectorized() bool { return archsimd.X86.AVX512() }

// expSliceVector does expSlice's work 8 arguments at a time with AVX-512,
// and returns how many it did (a multiple of 8; 0 without AVX-512). Each
// lane performs expFast's operations in expFast's order: the same products,
// sums and FMAs, each rounded once, so the same bits. A group of 8 with an
// argument outside [-708, 709] (or NaN) is done by expFast one at a time.
// The table T[k&63] is looked up with two-register permutes (16 entries
// each) merged on bits 4 and 5 of the index.
func expSliceVector(dst, src []float64, shift float64) int {
	if !archsimd.X86.AVX512() {
		return 0
	}
	const (
		invLn2x64 = 64 / math.Ln2
		round     = 0x1.8p52
	)
	vInv := archsimd.BroadcastFloat64x8(invLn2x64)
	vRound := archsimd.BroadcastFloat64x8(round)
	// FMA(kf, -hi, x) is FMA(-kf, hi, x): negation is exact.
	vHi := archsimd.BroadcastFloat64x8(-ln2By64Hi)
	vLo := archsimd.BroadcastFloat64x8(-ln2By64Lo)
	vShift := archsimd.BroadcastFloat64x8(shift)
	vMin := archsimd.BroadcastFloat64x8(-708)
	vMax := archsimd.BroadcastFloat64x8(709)
	one := archsimd.BroadcastFloat64x8(1)
	c2 := archsimd.BroadcastFloat64x8(1.0 / 2)
	c3 := archsimd.BroadcastFloat64x8(1.0 / 6)
	c4 := archsimd.BroadcastFloat64x8(1.0 / 24)
	c5 := archsimd.BroadcastFloat64x8(1.0 / 120)
	c6 := archsimd.BroadcastFloat64x8(1.0 / 720)
	bias := archsimd.BroadcastInt64x8(1023 << 6) // k>>6 + 1023 = (k + 1023·64)>>6
	v16, v32, zero := archsimd.BroadcastUint64x8(16), archsimd.BroadcastUint64x8(32), archsimd.BroadcastUint64x8(0)
	var tHi, tLo [8]archsimd.Float64x8
	for g := range tHi {
		tHi[g] = archsimd.LoadFloat64x8Slice(expTableHi[8*g:])
		tLo[g] = archsimd.LoadFloat64x8Slice(expTableLo[8*g:])
	}
	n := len(src) &^ 7
	for i := 0; i < n; i += 8 {
		x := archsimd.LoadFloat64x8Slice(src[i:]).Sub(vShift)
		if x.GreaterEqual(vMin).And(x.LessEqual(vMax)).ToBits() != 0xff {
			for j := i; j < i+8; j++ {
				dst[j] = expFast(src[j] - shift)
			}
			continue
		}
		kf := x.Mul(vInv).Add(vRound).Sub(vRound)
		k := kf.ConvertToInt64() // kf is an integer: exact
		r := kf.MulAdd(vHi, x)
		r = kf.MulAdd(vLo, r)
		q := c5.Add(r.Mul(c6))
		q = c4.Add(r.Mul(q))
		q = c3.Add(r.Mul(q))
		q = c2.Add(r.Mul(q))
		q = one.Add(r.Mul(q))
		p := r.Mul(q)
		idx := k.AsUint64x8() // the permutes use its low 4 bits
		b4, b5 := idx.And(v16).NotEqual(zero), idx.And(v32).NotEqual(zero)
		// a.Merge(b, m) is a where m, b elsewhere.
		th := tHi[6].ConcatPermute(tHi[7], idx).Merge(tHi[4].ConcatPermute(tHi[5], idx), b4).
			Merge(tHi[2].ConcatPermute(tHi[3], idx).Merge(tHi[0].ConcatPermute(tHi[1], idx), b4), b5)
		tl := tLo[6].ConcatPermute(tLo[7], idx).Merge(tLo[4].ConcatPermute(tLo[5], idx), b4).
			Merge(tLo[2].ConcatPermute(tLo[3], idx).Merge(tLo[0].ConcatPermute(tLo[1], idx), b4), b5)
		s := th.MulAdd(p, tl).Add(th)
		scale := k.Add(bias).ShiftAllRight(6).ShiftAllLeft(52).AsFloat64x8()
		s.Mul(scale).StoreSlice(dst[i:])
	}
	return n
}

// maxBelowInfVector returns, over the first n = len(z) &^ 7 values, 8 at a
// time (n is 0 without AVX-512), their largest and whether every one is
// below +Inf (neither +Inf nor NaN; m is meaningless otherwise).
func maxBelowInfVector(z []float64) (m float64, ok bool, n int) {
	m, ok = math.Inf(-1), true
	if !archsimd.X86.AVX512() || len(z) < 8 {
		return m, ok, 0
	}
	inf := archsimd.BroadcastFloat64x8(math.Inf(1))
	vmax := archsimd.BroadcastFloat64x8(math.Inf(-1))
	below := inf.Less(inf).Or(inf.Equal(inf)) // all true
	n = len(z) &^ 7
	for i := 0; i < n; i += 8 {
		x := archsimd.LoadFloat64x8Slice(z[i:])
		below = below.And(x.Less(inf))
		vmax = vmax.Max(x)
	}
	var lanes [8]float64
	vmax.Store(&lanes)
	for _, v := range lanes {
		m = max(m, v)
	}
	return m, below.ToBits() == 0xff, n
}
