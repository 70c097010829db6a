package metrics

import (
	"fmt"
	"maps"
	"math"
	"math/big"
	"math/rand/v2"
	"slices"
	"testing"
)

// bigExp is e^x to 256 bits (refExp of ref_test.go).
func bigExp(x float64) *big.Float { return refExp(new(big.Float).SetPrec(256).SetFloat64(x)) }

// ulpErr is |got - want| in units of the last place of want (a float64
// rounding of the exact value).
func ulpErr(got float64, want *big.Float) float64 {
	w, _ := want.Float64()
	d := new(big.Float).SetPrec(256).SetFloat64(got)
	d.Sub(d, want)
	df, _ := d.Float64()
	ulp := math.Nextafter(math.Abs(w), math.Inf(1)) - math.Abs(w)
	return math.Abs(df) / ulp
}

// TestExpFast: within 1 ulp of the exact value over the whole range where it
// computes (random arguments, arguments at the reduction's boundaries, the
// range ends), and exactly math.Exp outside it: subnormal results,
// overflow, ±Inf, NaN.
func TestExpFast(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var xs []float64
	for range 20000 {
		xs = append(xs, -708+r.Float64()*(709+708))
	}
	for range 5000 {
		xs = append(xs, (r.Float64()*2-1)*math.Pow(2, float64(-r.IntN(60))))
	}
	for k := -65000; k <= 65000; k += 997 {
		mid := float64(k) * math.Ln2 / 64
		xs = append(xs, mid, math.Nextafter(mid, 0), mid+math.Ln2/128, mid-math.Ln2/128)
	}
	// The reference, pinned: e, and e^x at a large |x| whose value was
	// checked with Python's decimal module (60 digits).
	if e := ulpErr(math.E, bigExp(1)); e > 0.5 {
		t.Fatalf("the reference is wrong: e is %.2f ulp from bigExp(1)", e)
	}
	if e := ulpErr(8.60410862730669476468289439524336197e-290, bigExp(-665.5974371317375)); e > 0.5 {
		t.Fatalf("the reference is wrong at -665.5974371317375: %.2f ulp", e)
	}
	xs = append(xs, 0, math.Copysign(0, -1), 5e-324, -5e-324, 1e-300, -708, 709, 1, -1, 0.5, -745.1)
	worst, worstMath := 0.0, 0.0
	for _, x := range xs {
		if x < -708 || x > 709 {
			continue
		}
		ref := bigExp(x)
		e := ulpErr(expFast(x), ref)
		worst = max(worst, e)
		if e > 1 {
			t.Errorf("expFast(%v) = %v: %.2f ulp from e^x", x, expFast(x), e)
		}
		// math.Exp as a second reference: the two differ by no more than
		// their errors against the exact value add up to.
		m := math.Exp(x)
		em := ulpErr(m, ref)
		worstMath = max(worstMath, em)
		if d := math.Abs(expFast(x)-m) / (math.Nextafter(m, math.Inf(1)) - m); d > e+em+0.01 {
			t.Errorf("expFast(%v) = %v, math.Exp %v: %.2f ulp apart", x, expFast(x), m, d)
		}
	}
	t.Logf("worst error over %d arguments: expFast %.3f ulp, math.Exp %.3f ulp", len(xs), worst, worstMath)
	for _, x := range []float64{-708.0000001, -720, -745.13, -746, -1e300, 709.0000001, 709.78, 710, 1e300,
		math.Inf(-1), math.Inf(1), math.NaN(), -math.MaxFloat64} {
		got, want := expFast(x), math.Exp(x)
		if math.Float64bits(got) != math.Float64bits(want) && !(math.IsNaN(got) && math.IsNaN(want)) {
			t.Errorf("expFast(%v) = %v, want math.Exp's %v", x, got, want)
		}
	}
}

func BenchmarkExp(b *testing.B) {
	xs := make([]float64, 1024)
	r := rand.New(rand.NewPCG(3, 4))
	for i := range xs {
		xs[i] = -30 * r.Float64()
	}
	benchUnary(b, xs, "exps/s", map[string]func(float64) float64{"math.Exp": math.Exp, "expFast": expFast})
}

// benchUnary runs each of fns over xs as a sub-benchmark reporting calls/s
// under the given unit.
func benchUnary(b *testing.B, xs []float64, unit string, fns map[string]func(float64) float64) {
	for _, name := range slices.Sorted(maps.Keys(fns)) {
		f := fns[name]
		b.Run(name, func(b *testing.B) {
			s := 0.0
			for b.Loop() {
				for _, x := range xs {
					s += f(x)
				}
			}
			b.ReportMetric(float64(len(xs))*float64(b.N)/b.Elapsed().Seconds(), unit)
			if s == 0 {
				b.Fatal("no sum")
			}
		})
	}
}

// FuzzExpFast: on any argument expFast is within 2 ulp of math.Exp (they
// are within 0.52 and 1.5 ulp of e^x) and is math.Exp bit for bit outside
// [-708, 709].
func FuzzExpFast(f *testing.F) {
	for _, x := range []float64{0, 1, -1, 709, -708, -745, 710, 1e-300, -0.5} {
		f.Add(x)
	}
	f.Fuzz(func(t *testing.T, x float64) {
		got, want := expFast(x), math.Exp(x)
		if !(x >= -708 && x <= 709) {
			if math.Float64bits(got) != math.Float64bits(want) && !(math.IsNaN(got) && math.IsNaN(want)) {
				t.Fatalf("expFast(%v) = %v, math.Exp %v", x, got, want)
			}
			return
		}
		if d := math.Abs(got-want) / (math.Nextafter(want, math.Inf(1)) - want); d > 2.02 {
			t.Fatalf("expFast(%v) = %v, math.Exp %v: %.2f ulp apart", x, got, want, d)
		}
	})
}

// TestExpSlice: expSlice is expFast of every shifted argument, bit for bit,
// whichever way it runs (AVX-512 assembly, or -tags purego), on
// lengths around the 8-wide groups, arguments over the whole range, and
// groups holding an out-of-range argument, NaN or ±Inf.
func TestExpSlice(t *testing.T) {
	t.Logf("vector path: %v", expVectorized())
	rng := rand.New(rand.NewPCG(61, 62))
	specials := []float64{-800, 800, 709, -708, 709.5, -708.5, 0, math.NaN(), math.Inf(1), math.Inf(-1), 1e-300, -1e-300}
	for trial := range 3000 {
		n := trial % 40
		if trial%100 == 0 {
			n = 1000 + rng.IntN(100)
		}
		src := make([]float64, n)
		for i := range src {
			switch rng.IntN(4) {
			case 0:
				src[i] = (rng.Float64() - 0.5) * 1500
			case 1:
				src[i] = rng.NormFloat64() * 5
			default:
				src[i] = -rng.ExpFloat64() * 10
			}
			if rng.IntN(50) == 0 {
				src[i] = specials[rng.IntN(len(specials))]
			}
		}
		shift := []float64{0, 3.5, -2, 700, rng.NormFloat64() * 100}[trial%5]
		dst := make([]float64, n+1)
		dst[n] = 42
		expSlice(dst, src, shift)
		for i, x := range src {
			want := expFast(x - shift)
			if math.Float64bits(dst[i]) != math.Float64bits(want) && !(math.IsNaN(want) && math.IsNaN(dst[i])) {
				t.Fatalf("trial %d, n %d: expSlice(%v - %v) = %v, expFast %v", trial, n, x, shift, dst[i], want)
			}
		}
		if dst[n] != 42 {
			t.Fatalf("trial %d: wrote past the arguments", trial)
		}
	}
}

// TestExpSliceSweep: expSlice against expFast on the arguments where the
// reduction is closest to a tie (around every k·ln2/64, a few ulps either
// way) and on a dense grid over the whole in-range interval.
func TestExpSliceSweep(t *testing.T) {
	var src []float64
	for k := -65370; k <= 65470; k += 7 {
		x := float64(k) * (math.Ln2 / 64)
		src = append(src, x, math.Nextafter(x, -1000), math.Nextafter(x, 1000),
			x+float64(math.Ln2/128), x-float64(math.Ln2/128))
	}
	for x := -708.0; x <= 709; x += 0.0013 {
		src = append(src, x)
	}
	src = append(src, -708, 709, math.Nextafter(-708, 0), math.Nextafter(709, 0))
	dst := make([]float64, len(src))
	expSlice(dst, src, 0)
	for i, x := range src {
		if want := expFast(x); math.Float64bits(dst[i]) != math.Float64bits(want) {
			t.Fatalf("expSlice(%v) = %v, expFast %v", x, dst[i], want)
		}
	}
}

func BenchmarkExpSlice(b *testing.B) {
	rng := rand.New(rand.NewPCG(7, 8))
	src, dst := make([]float64, 100), make([]float64, 100)
	for i := range src {
		src[i] = rng.NormFloat64() * 3
	}
	b.Run(fmt.Sprint("vector=", expVectorized()), func(b *testing.B) {
		for b.Loop() {
			expSlice(dst, src, 5)
		}
		b.ReportMetric(float64(b.N*len(src))/b.Elapsed().Seconds(), "exps/s")
	})
}

// TestArgmaxBelowInf: the lowest index of the largest value and the
// validity (no NaN, no +Inf) agree with the plain loop, whichever way it
// runs, with ties, ±0, -Inf, +Inf and NaN anywhere in the 8-wide groups.
func TestArgmaxBelowInf(t *testing.T) {
	rng := rand.New(rand.NewPCG(63, 64))
	specials := []float64{math.Copysign(0, -1), 0, math.Inf(-1), math.Inf(1), math.NaN(), 3, -3}
	for trial := range 20000 {
		z := make([]float64, 1+trial%40)
		for i := range z {
			z[i] = float64(rng.IntN(7) - 3) // many ties
			if rng.IntN(3) == 0 {
				z[i] = rng.NormFloat64()
			}
			if rng.IntN(30) == 0 {
				z[i] = specials[rng.IntN(len(specials))]
			}
		}
		want, wantOK := 0, true
		for k, v := range z {
			if math.IsNaN(v) || math.IsInf(v, 1) {
				wantOK = false
				break
			}
			if v > z[want] {
				want = k
			}
		}
		got, ok := argmaxBelowInf(z)
		if ok != wantOK || (ok && got != want) {
			t.Fatalf("argmaxBelowInf(%v) = %d, %v; want %d, %v", z, got, ok, want, wantOK)
		}
	}
}

// TestWiden: Widen is float64(v) of every value, bit for bit (NaNs stay
// NaN), on lengths around the 8-wide groups, without writing past them.
func TestWiden(t *testing.T) {
	rng := rand.New(rand.NewPCG(65, 66))
	specials := []float32{0, float32(math.Copysign(0, -1)), float32(math.Inf(1)), float32(math.Inf(-1)),
		float32(math.NaN()), math.MaxFloat32, math.SmallestNonzeroFloat32, -math.SmallestNonzeroFloat32, 1e-40}
	for n := range 70 {
		src := make([]float32, n)
		for i := range src {
			src[i] = math.Float32frombits(rng.Uint32())
			if rng.IntN(4) == 0 {
				src[i] = specials[rng.IntN(len(specials))]
			}
		}
		dst := make([]float64, n+1)
		dst[n] = 42
		Widen(dst, src)
		for i, v := range src {
			want := float64(v)
			if math.Float64bits(dst[i]) != math.Float64bits(want) && !(math.IsNaN(want) && math.IsNaN(dst[i])) {
				t.Fatalf("n %d: Widen(%v) = %v, want %v", n, v, dst[i], want)
			}
		}
		if dst[n] != 42 {
			t.Fatalf("n %d: wrote past the values", n)
		}
	}
}
