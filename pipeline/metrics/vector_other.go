//go:build !amd64 || purego

package metrics

// Off amd64 (or with the purego tag) the vector kernels (vector_amd64.s) do
// none of the work: the scalar loops after them do all of it.

func expSliceVector(dst, src []float64, shift float64) int { return 0 }

func argmaxVector(z []float64) (best int, ok, done bool) { return 0, false, false }

// expVectorized reports whether expSlice uses vector instructions.
func expVectorized() bool { return false }

func widenVector(dst []float64, src []float32) int { return 0 }

func logprobsVector(xs []float64) int { return 0 }

func hardRowsVector(loss, brier, q, p []float64, label []int64, eps float64) int { return 0 }

func fixedSumVector(xs []float64, flip uint64, acc *fixedAcc) int { return 0 }

func binsVector(conf, target []float64, bins int, acc *binAcc) int { return 0 }

func sums8Vector(e []float64) (sum, sq float64, ok bool) { return 0, 0, false }
