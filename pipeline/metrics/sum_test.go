package metrics

import (
	"math"
	"math/big"
	"math/rand/v2"
	"testing"
)

// refSum is the exact sum of finite values (4200 bits hold any sum of fewer
// than 2^100 float64s exactly), rounded to nearest-even by big.Float.
func refSum(xs []float64) *big.Float {
	s := new(big.Float).SetPrec(4200)
	for _, x := range xs {
		s.Add(s, new(big.Float).SetFloat64(x))
	}
	return s
}

func sumOf(xs []float64) *Sum {
	var s Sum
	for _, x := range xs {
		s.Add(x)
	}
	return &s
}

const (
	tiny = 0x1p-1074 // smallest subnormal
)

func TestSumExact(t *testing.T) {
	maxF := math.MaxFloat64
	ones := func(n int) []float64 {
		xs := make([]float64, n)
		for i := range xs {
			xs[i] = 1
		}
		return xs
	}
	tests := []struct {
		name string
		xs   []float64
		want float64
	}{
		{"empty", nil, 0},
		{"zeros", []float64{0, math.Copysign(0, -1)}, 0},
		{"cancel 1e100", []float64{1e100, 1, -1e100}, 1},
		{"cancel order", []float64{1, -1e100, 1e100}, 1},
		// 1e16 lies in [2^53, 2^54): ulp 2, so naive float64 addition loses every
		// 1.0. 1e16+1001 is a tie between 1e16+1000 (mantissa 5000000000000500,
		// even) and 1e16+1002 (odd): even wins. 1e16+1003 goes up to 1e16+1004.
		{"1e16 + 1000 ones", append([]float64{1e16}, ones(1000)...), 1e16 + 1000},
		{"1e16 + 1001 ones tie to even", append([]float64{1e16}, ones(1001)...), 1e16 + 1000},
		{"1e16 + 1003 ones tie to even up", append([]float64{1e16}, ones(1003)...), 1e16 + 1004},
		// 1 + 2^-53 is exactly halfway between 1 and 1+2^-52: ties to even (1).
		{"tie to even down", []float64{1, 0x1p-53}, 1},
		{"tie broken by sticky", []float64{1, 0x1p-53, tiny}, 1 + 0x1p-52},
		{"tie to even up", []float64{1 + 0x1p-52, 0x1p-53}, 1 + 0x1p-51},
		{"below half", []float64{1, 0x1p-53, -tiny}, 1},
		{"subnormal pair", []float64{tiny, tiny}, 0x1p-1073},
		{"largest subnormal", []float64{0x1p-1022, -tiny}, 0x1p-1022 - tiny},
		{"subnormals to normal", []float64{0x1p-1023, 0x1p-1023}, 0x1p-1022},
		{"subnormal cancel", []float64{1, tiny, -1}, tiny},
		{"max no overflow in between", []float64{maxF, maxF, maxF, -maxF, -maxF}, maxF},
		{"max overflows", []float64{maxF, maxF}, math.Inf(1)},
		{"-max overflows", []float64{-maxF, -maxF}, math.Inf(-1)},
		// MaxFloat64 = (2^53-1)·2^971; + 2^970 is a tie with an odd mantissa: rounds up to 2^1024.
		{"max plus half ulp", []float64{maxF, 0x1p970}, math.Inf(1)},
		{"max plus less than half ulp", []float64{maxF, 0x1p969}, maxF},
		{"negative result", []float64{1, -3, 0.5}, -1.5},
		{"negative tiny", []float64{-tiny}, -tiny},
		// As float64s, 0.1 = 3602879701896397·2^-55, 0.2 = 3602879701896397·2^-54 and
		// 0.3 = 5404319552844595·2^-54, so the exact sum is
		// (3602879701896397 + 7205759403792794 - 10808639105689190)·2^-55 = 2^-55.
		{"0.1 + 0.2 - 0.3", []float64{0.1, 0.2, -0.3}, 0x1p-55},
		{"inf", []float64{1, math.Inf(1)}, math.Inf(1)},
		{"-inf", []float64{math.Inf(-1), 1e300}, math.Inf(-1)},
		{"both infs", []float64{math.Inf(1), math.Inf(-1)}, math.NaN()},
		{"nan", []float64{1, math.NaN()}, math.NaN()},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			want := tc.want
			got := sumOf(tc.xs).Float64()
			if math.Float64bits(got) != math.Float64bits(want) && !(math.IsNaN(got) && math.IsNaN(want)) {
				t.Errorf("sum %v = %v (%#x), want %v (%#x)", tc.xs, got, math.Float64bits(got), want, math.Float64bits(want))
			}
		})
	}
}

func TestSumFlags(t *testing.T) {
	tests := []struct {
		xs     []float64
		inf    int
		isNaN  bool
		finite bool
	}{
		{nil, 0, false, true},
		{[]float64{1, -1e308}, 0, false, true},
		{[]float64{math.Inf(1)}, 1, false, false},
		{[]float64{math.Inf(-1), 5}, -1, false, false},
		{[]float64{math.Inf(1), math.Inf(-1)}, 0, true, false},
		{[]float64{math.NaN()}, 0, true, false},
		{[]float64{math.NaN(), math.Inf(1)}, 0, true, false},
	}
	for _, tc := range tests {
		s := sumOf(tc.xs)
		if s.Inf() != tc.inf || s.IsNaN() != tc.isNaN || s.IsFinite() != tc.finite {
			t.Errorf("%v: Inf=%d IsNaN=%v IsFinite=%v, want %d %v %v", tc.xs, s.Inf(), s.IsNaN(), s.IsFinite(), tc.inf, tc.isNaN, tc.finite)
		}
	}
	// The finite part is kept apart from the flags.
	s := sumOf([]float64{2, math.Inf(1), 3})
	s.Reset()
	s.Add(4)
	if s.Float64() != 4 || !s.IsFinite() {
		t.Errorf("after Reset: %v finite=%v", s.Float64(), s.IsFinite())
	}
	defer func() {
		if recover() == nil {
			t.Error("Big on an infinite sum did not panic")
		}
	}()
	sumOf([]float64{math.Inf(1)}).Big(0)
}

// randomFloats returns finite values spread over the whole float64 range,
// subnormals included, plus clustered values that cancel.
func randomFloats(rng *rand.Rand, n int) []float64 {
	xs := make([]float64, 0, n)
	for len(xs) < n {
		switch rng.IntN(4) {
		case 0: // any finite bit pattern
			x := math.Float64frombits(rng.Uint64())
			if !math.IsNaN(x) && !math.IsInf(x, 0) {
				xs = append(xs, x)
			}
		case 1: // subnormal
			x := math.Float64frombits(rng.Uint64() & (1<<52 - 1))
			if rng.IntN(2) == 0 {
				x = -x
			}
			xs = append(xs, x)
		case 2: // ordinary magnitudes
			xs = append(xs, (rng.Float64()-0.5)*math.Pow(10, float64(rng.IntN(40)-20)))
		default: // a value and its near-negation
			x := rng.NormFloat64() * 1e10
			xs = append(xs, x, -x*(1+0x1p-50))
		}
	}
	return xs[:n]
}

func TestSumRandomVsBig(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for trial := 0; trial < 300; trial++ {
		xs := randomFloats(rng, 1+rng.IntN(200))
		if trial%3 == 0 { // keep some sums well inside the range
			for i := range xs {
				xs[i] = math.Ldexp(xs[i], -math.Ilogb(xs[i])/2)
			}
		}
		want := refSum(xs)
		rng.Shuffle(len(xs), func(i, j int) { xs[i], xs[j] = xs[j], xs[i] })
		s := sumOf(xs)
		got := s.Float64()
		if w := round64(want); math.Float64bits(got) != math.Float64bits(w) {
			t.Fatalf("trial %d: sum = %v, want %v (n=%d)", trial, got, w, len(xs))
		}
		if b := s.Big(0); b.Cmp(want) != 0 {
			t.Fatalf("trial %d: Big = %v, want %v", trial, b, want)
		}
		if b := s.Big(4000); b.Prec() < 4000 || b.Cmp(want) != 0 {
			t.Fatalf("trial %d: Big(4000) has precision %d", trial, b.Prec())
		}
	}
}

func TestSumMergeOrder(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for trial := 0; trial < 100; trial++ {
		xs := randomFloats(rng, 300)
		one := sumOf(xs)
		// Split into random partitions and merge them in a random order.
		var parts []*Sum
		for lo := 0; lo < len(xs); {
			hi := min(len(xs), lo+1+rng.IntN(60))
			parts = append(parts, sumOf(xs[lo:hi]))
			lo = hi
		}
		rng.Shuffle(len(parts), func(i, j int) { parts[i], parts[j] = parts[j], parts[i] })
		var merged Sum
		for _, p := range parts {
			merged.Merge(p)
		}
		if a, b := one.Float64(), merged.Float64(); math.Float64bits(a) != math.Float64bits(b) {
			t.Fatalf("trial %d: one pass %v, merged %v", trial, a, b)
		}
		if one.Big(0).Cmp(merged.Big(0)) != 0 {
			t.Fatalf("trial %d: exact values differ", trial)
		}
	}
}

// TestSumCarries drives the limbs to their limits: doubling a sum of large
// mantissas by merging it with itself 40 times (2^40 times the value, far past
// the 2^30 adds between normalisations), and a sum of 2^20 largest values.
func TestSumCarries(t *testing.T) {
	x := math.Nextafter(0x1p20, 0) // mantissa of all ones
	var s Sum
	s.Add(x)
	s.Add(-0x1p-1000)
	for i := 0; i < 40; i++ {
		c := s
		s.Merge(&c)
	}
	want := new(big.Float).SetPrec(4200).Sub(big.NewFloat(x), new(big.Float).SetMantExp(big.NewFloat(1), -1000))
	want.SetMantExp(want, 40)
	if s.Big(0).Cmp(want) != 0 {
		t.Errorf("doubled sum = %v, want %v", s.Big(0), want)
	}
	var m Sum
	for i := 0; i < 1<<20; i++ {
		m.Add(math.MaxFloat64)
	}
	for i := 0; i < 1<<20-1; i++ {
		m.Add(-math.MaxFloat64)
	}
	if got := m.Float64(); got != math.MaxFloat64 {
		t.Errorf("2^20 max - (2^20-1) max = %v", got)
	}
}

// TestSumManyAdds crosses the normalisation threshold with real adds.
func TestSumManyAdds(t *testing.T) {
	if testing.Short() {
		t.Skip("2^30 adds")
	}
	var s Sum
	n := sumCarryEvery + 1000
	x := math.Nextafter(1, 2) // all digits of the 3-limb window are used after shifting
	for i := 0; i < n; i++ {
		s.Add(x)
	}
	want := new(big.Float).SetPrec(200).Mul(big.NewFloat(x), new(big.Float).SetInt64(int64(n)))
	if s.Big(0).Cmp(want) != 0 {
		t.Errorf("sum of %d × %v = %v, want %v", n, x, s.Big(0), want)
	}
}

func TestSumAddProduct(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	var s Sum
	want := new(big.Float).SetPrec(4200)
	for i := 0; i < 2000; i++ {
		a := (rng.Float64() - 0.3) * math.Pow(2, float64(rng.IntN(400)-200))
		b := (rng.Float64() - 0.3) * math.Pow(2, float64(rng.IntN(400)-200))
		s.AddProduct(a, b)
		want.Add(want, new(big.Float).SetPrec(200).Mul(big.NewFloat(a), big.NewFloat(b)))
	}
	if s.Big(0).Cmp(want) != 0 {
		t.Errorf("sum of products = %v, want %v", s.Big(0), want)
	}
	// (1+2^-30)^2 = 1 + 2^-29 + 2^-60 needs 61 bits; hi alone would lose 2^-60.
	var p Sum
	p.AddProduct(1+0x1p-30, 1+0x1p-30)
	p.Add(-1 - 0x1p-29)
	if got := p.Float64(); got != 0x1p-60 {
		t.Errorf("(1+2^-30)^2 - 1 - 2^-29 = %v, want 2^-60", got)
	}
	// Overflowing and undefined products set flags.
	var o Sum
	o.AddProduct(1e200, 1e200)
	if o.Inf() != 1 {
		t.Errorf("1e200·1e200: Inf() = %d", o.Inf())
	}
	o.Reset()
	o.AddProduct(0, math.Inf(1))
	if !o.IsNaN() {
		t.Error("0·Inf: not NaN")
	}
	// Documented limit: a product below 2^-1074 is lost.
	o.Reset()
	o.AddProduct(0x1p-600, 0x1p-600)
	if got := o.Float64(); got != 0 {
		t.Errorf("2^-1200 = %v, want 0 (below the accumulator)", got)
	}
}
