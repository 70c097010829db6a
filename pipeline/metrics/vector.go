package metrics

import (
	"math"
	"slices"
)

// expSlice sets dst[i] = expFast(src[i] - shift) for every i of src (dst at
// least as long): the same bits as that loop, which it is without AVX-512
// (or built with -tags purego). On amd64 with AVX-512, expSliceVector
// (vector_amd64.s) does the same operations, in the same order, 8
// arguments at a time, about 4x the speed (BenchmarkExpSlice); TestExpSlice
// checks the bits are the same.
func expSlice(dst, src []float64, shift float64) {
	dst = dst[:len(src)]
	for i := expSliceVector(dst, src, shift); i < len(src); i++ {
		dst[i] = expFast(src[i] - shift)
	}
}

// argmaxBelowInf returns the lowest index of the largest value of z, and
// whether every value is below +Inf (no +Inf, no NaN; best is then
// meaningless). maxBelowInfVector finds the largest 8 at a time where it
// can, and the index is looked up after (-0 and +0 are equal there, as for
// the comparisons of the scalar loop).
func argmaxBelowInf(z []float64) (best int, ok bool) {
	if m, ok, n := maxBelowInfVector(z); n > 0 {
		for _, v := range z[n:] {
			if !(v < math.Inf(1)) {
				return 0, false
			}
			if v > m {
				m = v
			}
		}
		if !ok {
			return 0, false
		}
		return slices.Index(z, m), true
	}
	for k, v := range z {
		if !(v < math.Inf(1)) {
			return 0, false
		}
		if v > z[best] {
			best = k
		}
	}
	return best, true
}
