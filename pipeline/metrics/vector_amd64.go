//go:build !purego

package metrics

import "math"

// The vector kernels of expSlice, argmaxBelowInf, Widen, TokenLogprobs,
// BinaryProbHardRows, Sum.AddSlice, the calibration bins of
// ClassStats.AddBinaryUnits and sums8: AVX-512 assembly (vector_amd64.s),
// used when the CPU and the operating system support it (checked once, at
// start).

var hasAVX512 = detectAVX512()

// detectAVX512 reports whether the CPU has AVX-512F and DQ, and BMI2 (every
// AVX-512 CPU since the first server ones has all three), and the operating system
// saves its registers (XMM, YMM, opmask and ZMM state enabled in XCR0), as
// the standard library's internal/cpu checks it.
func detectAVX512() bool {
	maxID, _, _, _ := cpuid(0, 0)
	if maxID < 7 {
		return false
	}
	if _, _, ecx1, _ := cpuid(1, 0); ecx1&(1<<27) == 0 { // OSXSAVE
		return false
	}
	if xcr0, _ := xgetbv(); xcr0&0xe6 != 0xe6 {
		return false
	}
	_, ebx7, _, _ := cpuid(7, 0)
	return ebx7&(1<<16) != 0 && ebx7&(1<<17) != 0 && ebx7&(1<<8) != 0 // AVX512F, AVX512DQ, BMI2
}

func cpuid(eaxArg, ecxArg uint32) (eax, ebx, ecx, edx uint32)

func xgetbv() (eax, edx uint32)

// expAVX512 sets dst[i] = expFast(src[i] - shift), 8 arguments at a time,
// for the groups of 8 of src (the last one may be shorter) up to the first
// with an argument outside [-708, 709] or NaN, and returns how many it set.
// Each lane performs expFast's operations in expFast's order (the same
// products, sums and FMAs, each rounded once), so the bits are the same;
// the table is looked up with permutes of it held in registers.
//
//go:noescape
func expAVX512(dst, src []float64, shift float64, c *[expVectorLen]float64) int

// argmaxAVX512 is argmaxBelowInf for len(z) >= 1.
//
//go:noescape
func argmaxAVX512(z []float64) (best int, below bool)

// expVectorized reports whether expSlice uses vector instructions.
func expVectorized() bool { return hasAVX512 }

// expSliceVector does expSlice's work 8 arguments at a time with AVX-512,
// and returns how many it did (all of them; 0 without AVX-512). A group of
// 8 with an argument outside [-708, 709] (or NaN) is done by expFast one at
// a time.
func expSliceVector(dst, src []float64, shift float64) int {
	if !hasAVX512 {
		return 0
	}
	n := len(src)
	dst = dst[:n]
	for i := 0; i < n; {
		i += expAVX512(dst[i:], src[i:], shift, &expVector)
		if i < n {
			for end := min(i+8, n); i < end; i++ {
				dst[i] = expFast(src[i] - shift)
			}
		}
	}
	return n
}

// argmaxVector is argmaxBelowInf with AVX-512, 8 values at a time; done
// is false without AVX-512 (or for an empty z).
func argmaxVector(z []float64) (best int, ok, done bool) {
	if !hasAVX512 || len(z) == 0 {
		return 0, false, false
	}
	best, ok = argmaxAVX512(z)
	return best, ok, true
}

//go:noescape
func widenAVX512(dst []float64, src []float32)

// widenVector does Widen's work with AVX-512, and returns how many it did
// (all of them; 0 without AVX-512).
func widenVector(dst []float64, src []float32) int {
	if !hasAVX512 {
		return 0
	}
	widenAVX512(dst, src)
	return len(src)
}

// logprobsAVX512 does TokenLogprobs' work, 8 values at a time, for the
// groups of 8 (the last one may be shorter) up to the first with a value
// that is NaN or above slack, and returns how many values it did.
//
//go:noescape
func logprobsAVX512(xs []float64, slack float64) int

// logprobsVector does logprobsAVX512's work; 0 without AVX-512.
func logprobsVector(xs []float64) int {
	if !hasAVX512 {
		return 0
	}
	return logprobsAVX512(xs, logprobSlack)
}

// hardRowsAVX512 does BinaryProbHardRows' work, 8 rows at a time, for the
// groups of 8 (the last one may be shorter) up to the first with a p that
// is not a probability or whose evaluated probability (q or 1 - q) is not
// a normal float64, and returns how many rows it did. Each lane performs
// clip's, hardLoss's and logPlus's operations in their order, both of
// logPlus's ways (near 1 and the table's), and keeps the one logPlus takes;
// the table is looked up with gathers from logVector.
//
//go:noescape
func hardRowsAVX512(loss, brier, q, p []float64, label []int64, eps float64, c *[lvLen]float64) int

// hardRowsVector does BinaryProbHardRows' work with AVX-512 up to the first
// group of 8 it cannot do, and returns how many rows it did (0 without
// AVX-512).
func hardRowsVector(loss, brier, q, p []float64, label []int64, eps float64) int {
	if !hasAVX512 {
		return 0
	}
	return hardRowsAVX512(loss, brier, q, p, label, eps, &logVector)
}

// fixedSumAVX512 adds the values of xs (sign bits flipped by flip) to acc,
// 8 at a time as 8 lanes of 192-bit fixed point, for the groups of 8 (the
// last one may be shorter) up to the first with a value that is neither
// +0 nor in [2^-76, 2^10), and returns how many it added.
//
//go:noescape
func fixedSumAVX512(xs []float64, flip uint64, acc *fixedAcc) int

// fixedSumVector does fixedSumAVX512's work; 0 without AVX-512.
func fixedSumVector(xs []float64, flip uint64, acc *fixedAcc) int {
	if !hasAVX512 {
		return 0
	}
	return fixedSumAVX512(xs, flip, acc)
}

// binsVectorConst is binsAVX512's constants (bv* indexes), broadcast from
// memory; the kernel hard-codes their byte offsets.
var binsVectorConst = func() (c [bvLen]uint64) {
	c[bvConfMin] = unitConfMin
	c[bvConfSpan] = unitConfMax - unitConfMin
	c[bvFrac] = 1<<52 - 1
	c[bvImplicit] = 1 << 52
	c[bvLow32] = 1<<32 - 1
	c[bvRow] = 1
	c[bvPositive] = 1 << 32
	c[bvZero] = math.Float64bits(0)
	c[bvOne] = math.Float64bits(1)
	for k := range binAccBins {
		c[bvIndex+k] = uint64(k)
	}
	return c
}()

const (
	bvConfMin  = iota // unitConfMin: byte offset 0
	bvConfSpan        // unitConfMax - unitConfMin: 8
	bvFrac            // a float64's fraction bits: 16
	bvImplicit        // its implicit bit: 24
	bvLow32           // 32
	bvRow             // a row's count, 1: 40
	bvPositive        // an outcome's count, 1<<32: 48
	bvZero            // 0.0: 56
	bvOne             // 1.0: 64
	bvIndex           // the bin indexes 0 .. binAccBins-1: 72
	bvLen      = bvIndex + binAccBins
)

// binsAVX512 adds rows (confidence, target) to acc's bins from .. from+7 (8
// per pass), 8 rows at a time, for the groups of 8 (the last one may be
// shorter) up to the first with a confidence outside [2^-11, 2) or a
// target other than 0 and 1, and returns how many rows it took. A row's
// bin is min(int(c·bins), bins-1), Bin's for such a c; rows in other bins
// than the pass's are passed over.
//
//go:noescape
func binsAVX512(conf, target []float64, bins float64, last int64, c *[bvLen]uint64, acc *binAcc, from int) int

// binsVector counts rows into acc (binAcc) with AVX-512, for at most
// binAccBins bins, up to the first group of 8 it cannot take, and returns
// how many rows it took (0 without AVX-512, or with more bins).
func binsVector(conf, target []float64, bins int, acc *binAcc) int {
	if !hasAVX512 || bins > binAccBins || bins < 1 {
		return 0
	}
	target = target[:len(conf)]
	n := binsAVX512(conf, target, float64(bins), int64(bins-1), &binsVectorConst, acc, 0)
	if bins > 8 && n > 0 {
		binsAVX512(conf[:n], target[:n], float64(bins), int64(bins-1), &binsVectorConst, acc, 8)
	}
	return n
}

// sums8AVX512 is sums8: lane j of two registers adds e[i] and e[i]·e[i]
// (rounded, then added: no FMA) for i = j mod 8, the last group's lanes
// past the end adding +0; then the lanes are added as fold8 does.
//
//go:noescape
func sums8AVX512(e []float64) (sum, sq float64)

// sums8Vector does sums8's work with AVX-512; ok is false without it.
func sums8Vector(e []float64) (sum, sq float64, ok bool) {
	if !hasAVX512 {
		return 0, 0, false
	}
	sum, sq = sums8AVX512(e)
	return sum, sq, true
}
