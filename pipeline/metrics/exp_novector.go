//go:build !(goexperiment.simd && amd64)

package metrics

// expSliceVector does none of expSlice's work without GOEXPERIMENT=simd on
// amd64 (see exp_simd.go).
func expSliceVector(dst, src []float64, shift float64) int { return 0 }

// expVectorized reports whether expSlice uses vector instructions.
func expVectorized() bool { return false }
