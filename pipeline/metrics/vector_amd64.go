//go:build !purego

package metrics

import "math"

// The vector kernels of expSlice and argmaxBelowInf: AVX-512 assembly
// (vector_amd64.s), used when the CPU and the operating system support it
// (checked once, at start).

var hasAVX512 = detectAVX512()

// detectAVX512 reports whether the CPU has AVX-512F and the operating system
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
	return ebx7&(1<<16) != 0 // AVX512F
}

func cpuid(eaxArg, ecxArg uint32) (eax, ebx, ecx, edx uint32)

func xgetbv() (eax, edx uint32)

// expAVX512 sets dst[i] = expFast(src[i] - shift), 8 arguments at a time,
// for the groups of 8 of src (len(src) a multiple of 8) up to the first
// with an argument outside [-708, 709] or NaN, and returns how many it set.
// Each lane performs expFast's operations in expFast's order (the same
// products, sums and FMAs, each rounded once), so the bits are the same;
// the table is looked up with gathers from expVector.
//
//go:noescape
func expAVX512(dst, src []float64, shift float64, c *[expVectorLen]float64) int

// maxAVX512 returns the largest of z (len(z) a positive multiple of 8) and
// whether every value is below +Inf (neither +Inf nor NaN; m is meaningless
// otherwise).
//
//go:noescape
func maxAVX512(z []float64) (m float64, below bool)

// expVectorized reports whether expSlice uses vector instructions.
func expVectorized() bool { return hasAVX512 }

// expSliceVector does expSlice's work 8 arguments at a time with AVX-512,
// and returns how many it did (a multiple of 8; 0 without AVX-512). A
// group of 8 with an argument outside [-708, 709] (or NaN) is done by
// expFast one at a time.
func expSliceVector(dst, src []float64, shift float64) int {
	if !hasAVX512 {
		return 0
	}
	n := len(src) &^ 7
	dst, src = dst[:n], src[:n]
	for i := 0; i < n; {
		i += expAVX512(dst[i:], src[i:], shift, &expVector)
		if i < n {
			for j := i; j < i+8; j++ {
				dst[j] = expFast(src[j] - shift)
			}
			i += 8
		}
	}
	return n
}

// maxBelowInfVector returns, over the first n = len(z) &^ 7 values, 8 at a
// time (n is 0 without AVX-512), their largest and whether every one is
// below +Inf (neither +Inf nor NaN; m is meaningless otherwise).
func maxBelowInfVector(z []float64) (m float64, ok bool, n int) {
	n = len(z) &^ 7
	if !hasAVX512 || n == 0 {
		return math.Inf(-1), true, 0
	}
	m, ok = maxAVX512(z[:n])
	return m, ok, n
}
