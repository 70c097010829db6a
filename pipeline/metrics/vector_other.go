//go:build !amd64 || purego

package metrics

import "math"

// Off amd64 (or with the purego tag) the vector kernels (vector_amd64.s) do
// none of the work: the scalar loops after them do all of it.

func expSliceVector(dst, src []float64, shift float64) int { return 0 }

func maxBelowInfVector(z []float64) (m float64, ok bool, n int) { return math.Inf(-1), true, 0 }

// expVectorized reports whether expSlice uses vector instructions.
func expVectorized() bool { return false }
