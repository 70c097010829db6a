package metrics

import (
	"math"
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

// Widen sets dst[i] = float64(src[i]) for every i of src (dst at least as
// long): exact (a NaN stays a NaN, quieted as Go's conversion does on
// amd64), 8 at a time with AVX-512 (widenVector).
func Widen(dst []float64, src []float32) {
	dst = dst[:len(src)]
	for i := widenVector(dst, src); i < len(src); i++ {
		dst[i] = float64(src[i])
	}
}

// argmaxBelowInf returns the lowest index of the largest value of z, and
// whether every value is below +Inf (no +Inf, no NaN; best is then
// meaningless). argmaxVector does it 8 at a time where it can (-0 and +0
// are equal there, as for the comparisons of the loop below).
func argmaxBelowInf(z []float64) (best int, ok bool) {
	if best, ok, done := argmaxVector(z); done {
		return best, ok
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
