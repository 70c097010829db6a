package metrics

import (
	"math"
	"math/big"
	"math/rand/v2"
	"testing"
)

// logULPs is |got - ln x| in ulps of the exact value (256-bit reference).
func logULPs(got float64, exact *big.Float) float64 {
	want := round64(exact)
	ulp := math.Abs(math.Nextafter(want, math.Inf(1)) - want)
	d := new(big.Float).SetPrec(refPrec).Sub(bf(got), exact)
	dv, _ := d.Float64()
	return math.Abs(dv) / ulp
}

// TestLogFast: logFast within 0.52 ulp of a 256-bit ln over the normal
// range, densely near 1 and at the table's subinterval edges; math.Log's
// results outside it.
func TestLogFast(t *testing.T) {
	rng := rand.New(rand.NewPCG(41, 42))
	var xs []float64
	for range 20000 {
		xs = append(xs, math.Ldexp(1+rng.Float64(), rng.IntN(2046)-1022)) // the whole range
		xs = append(xs, rng.Float64())                                    // probabilities
		xs = append(xs, 1+(rng.Float64()-0.5)*0x1p-6)                     // near 1, both paths
	}
	for k := 1; k < 200; k++ {
		xs = append(xs, 1+float64(k)*0x1p-52, 1-float64(k)*0x1p-53, 1+0x1p-7*(1+float64(k-100)*0x1p-52))
	}
	for i := range logTableSize + 1 { // subinterval edges, and next to them
		e := math.Float64frombits(0x3fe6000000000000 + uint64(i)<<45)
		xs = append(xs, e, math.Nextafter(e, 0), math.Nextafter(e, 2), e/2, e*8)
	}
	xs = append(xs, 0x1p-1022, math.MaxFloat64, 0.5, 2, 1e-15, 1-1e-15, math.Nextafter(1, 0))
	worst := 0.0
	for _, x := range xs {
		got := logFast(x)
		u := logULPs(got, refLn(bf(x)))
		if u > 0.52 {
			t.Errorf("logFast(%v) = %v, %.3f ulps from ln", x, got, u)
		}
		worst = max(worst, u)
	}
	t.Logf("%d arguments, worst %.3f ulps", len(xs), worst)
	for _, x := range []float64{0, math.Copysign(0, -1), 0x1p-1074, 0x1p-1030, -1, math.Inf(1), math.Inf(-1), math.NaN()} {
		if got, want := logFast(x), math.Log(x); math.Float64bits(got) != math.Float64bits(want) && !(math.IsNaN(got) && math.IsNaN(want)) {
			t.Errorf("logFast(%v) = %v, want math.Log's %v", x, got, want)
		}
	}
}

// TestLogPlus: logPlus(1-q rounded, the rounding error) is ln(1 - q) within
// 0.52 ulp for probabilities q, tiny ones included, as math.Log1p(-q).
func TestLogPlus(t *testing.T) {
	rng := rand.New(rand.NewPCG(43, 44))
	var qs []float64
	for range 20000 {
		qs = append(qs, rng.Float64(), math.Ldexp(rng.Float64(), -rng.IntN(60)))
	}
	qs = append(qs, 1e-300, 0x1p-54, 0x1p-53, 0x1p-52, 1e-15, 0.5, 1-1e-15, math.Nextafter(1, 0), 0x1p-7, 1-0x1p-7)
	worst := 0.0
	for _, q := range qs {
		got := logPlus(complement(q))
		exact := refLn(oneMinus(q)) // 1 - q held exactly
		if q < 0.25 {
			exact = refLog1p(new(big.Float).SetPrec(refPrec).Neg(bf(q)))
		}
		ulps := logULPs(got, exact)
		if ulps > 0.52 {
			t.Errorf("logPlus for ln(1 - %v) = %v, %.3f ulps", q, got, ulps)
		}
		worst = max(worst, ulps)
	}
	t.Logf("%d arguments, worst %.3f ulps", len(qs), worst)
}

func BenchmarkLog(b *testing.B) {
	xs := make([]float64, 1024)
	r := rand.New(rand.NewPCG(5, 6))
	for i := range xs {
		xs[i] = r.Float64()
	}
	benchUnary(b, xs, "logs/s", map[string]func(float64) float64{
		"math.Log": math.Log, "logFast": logFast,
		"math.Log1p": func(q float64) float64 { return math.Log1p(-q) },
		"logPlus":    func(q float64) float64 { return logPlus(complement(q)) },
	})
}

// FuzzLogFast: on any argument logFast is within 2 ulp of math.Log (both
// are within about an ulp of ln x), and is math.Log bit for bit outside the
// normal range; logPlus(1-q, ...) is within 2 ulp of math.Log1p(-q).
func FuzzLogFast(f *testing.F) {
	for _, x := range []float64{1, 0.5, 2, 0.99, 1.01, 1e-300, 0x1p-1030, 0, -1, math.MaxFloat64, 0.6875} {
		f.Add(x)
	}
	f.Fuzz(func(t *testing.T, x float64) {
		within2 := func(name string, got, want float64) {
			if d := math.Abs(got-want) / math.Abs(math.Nextafter(want, math.Inf(1))-want); d > 2 {
				t.Fatalf("%s(%v) = %v, math %v: %.2f ulp apart", name, x, got, want, d)
			}
		}
		got, want := logFast(x), math.Log(x)
		if !(x >= 0x1p-1022 && x <= math.MaxFloat64) {
			if math.Float64bits(got) != math.Float64bits(want) && !(math.IsNaN(got) && math.IsNaN(want)) {
				t.Fatalf("logFast(%v) = %v, math.Log %v", x, got, want)
			}
		} else {
			within2("logFast", got, want)
		}
		if q := math.Abs(x); q > 0 && q < 1 {
			within2("logPlus(1-q)", logPlus(complement(q)), math.Log1p(-q))
		}
	})
}
