package metrics

import (
	"math"
	"math/big"
	"math/rand/v2"
	"testing"
)

func bigPow2(e uint) *big.Int { return new(big.Int).Lsh(big.NewInt(1), e) }

func TestRatioFloat64(t *testing.T) {
	p200 := bigPow2(200)
	plus := func(xs ...*big.Int) *big.Int {
		s := new(big.Int)
		for _, x := range xs {
			s.Add(s, x)
		}
		return s
	}
	one := big.NewInt(1)
	tests := []struct {
		name     string
		num, den *big.Int
		exp      int
		want     float64
	}{
		// (2^200 + 2^147)/2^200 = 1 + 2^-53: a tie, to even.
		{"tie", plus(p200, bigPow2(147)), p200, 0, 1},
		// 2^-200 above the tie: up. Without the sticky bit this would be a tie.
		{"just above tie", plus(p200, bigPow2(147), one), p200, 0, 1 + 0x1p-52},
		{"just below tie", new(big.Int).Sub(plus(p200, bigPow2(147)), one), p200, 0, 1},
		{"negative", big.NewInt(-1), big.NewInt(4), 0, -0.25},
		{"zero", new(big.Int), big.NewInt(7), 0, 0},
		// Subnormal results: 1/3, 2/3 and 3/2 of 2^-1074.
		{"third of tiny", big.NewInt(1), big.NewInt(3), -1074, 0},
		{"two thirds of tiny", big.NewInt(2), big.NewInt(3), -1074, 0x1p-1074},
		{"1.5 tiny ties to even", big.NewInt(3), big.NewInt(2), -1074, 0x1p-1073},
		{"overflow", big.NewInt(1), big.NewInt(1), 1024, math.Inf(1)},
	}
	for _, tc := range tests {
		if got := ratioFloat64(tc.num, tc.den, tc.exp); math.Float64bits(got) != math.Float64bits(tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
	// IEEE division of integers below 2^53 is correctly rounded.
	rng := rand.New(rand.NewPCG(13, 14))
	for i := 0; i < 10000; i++ {
		a, b := rng.Int64N(1<<53), 1+rng.Int64N(1<<53)
		if i%2 == 0 {
			b = 1 + rng.Int64N(1000)
		}
		if got, want := ratioFloat64(big.NewInt(a), big.NewInt(b), 0), float64(a)/float64(b); got != want {
			t.Fatalf("%d/%d = %v, want %v", a, b, got, want)
		}
	}
}

func TestSqrtRatioFloat64(t *testing.T) {
	// (2^53+1)^2 / 2^106 = (1 + 2^-53)^2: the root is a tie (to even: 1);
	// adding 2^-126 to the radicand puts it just above (1 + 2^-52).
	sq := new(big.Int).Mul(big.NewInt(1<<53+1), big.NewInt(1<<53+1))
	sq.Lsh(sq, 20)
	den := bigPow2(126)
	if got := sqrtRatioFloat64(sq, den, 0); got != 1 {
		t.Errorf("tie: %v, want 1", got)
	}
	if got := sqrtRatioFloat64(new(big.Int).Add(sq, big.NewInt(1)), den, 0); got != 1+0x1p-52 {
		t.Errorf("above tie: %v, want 1+2^-52", got)
	}
	if got := sqrtRatioFloat64(big.NewInt(9), big.NewInt(4), 2); got != 3 {
		t.Errorf("sqrt(9/4·4) = %v", got)
	}
	// math.Sqrt is correctly rounded; compare on integers and on quotients
	// (against a 300-bit root).
	rng := rand.New(rand.NewPCG(15, 16))
	for i := 0; i < 10000; i++ {
		a := rng.Int64N(1 << 53)
		if got, want := sqrtRatioFloat64(big.NewInt(a), big.NewInt(1), 0), math.Sqrt(float64(a)); got != want {
			t.Fatalf("sqrt(%d) = %v, want %v", a, got, want)
		}
		b := 1 + rng.Int64N(1<<40)
		r := new(big.Float).SetPrec(300).SetRat(big.NewRat(a, b))
		want := round64(r.Sqrt(r))
		if got := sqrtRatioFloat64(big.NewInt(a), big.NewInt(b), 0); got != want {
			t.Fatalf("sqrt(%d/%d) = %v, want %v", a, b, got, want)
		}
	}
}

// TestFloat64Pair checks hi + lo against the exact sum: hi is the sum
// rounded, lo the rest rounded (the rest minus lo within half an ulp of lo).
func TestFloat64Pair(t *testing.T) {
	rng := rand.New(rand.NewPCG(31, 32))
	for i := 0; i < 20000; i++ {
		n := 1 + rng.IntN(40)
		xs := make([]float64, n)
		for k := range xs {
			xs[k] = rng.NormFloat64() * math.Ldexp(1, rng.IntN(120)-60)
			if i%4 == 0 {
				xs[k] = math.Ldexp(rng.Float64(), rng.IntN(2000)-1070) // the whole range, subnormals too
			}
			if rng.IntN(3) == 0 {
				xs[k] = -xs[k]
			}
		}
		s := sumOf(xs)
		hi, lo, ok := s.float64Pair()
		exact := s.Big(0)
		if math.IsInf(hi, 0) {
			if ok {
				t.Fatalf("%v: hi %v with ok", xs, hi)
			}
			continue
		}
		if !ok || hi != s.Float64() {
			t.Fatalf("%v: hi %v (ok %v), Float64 %v", xs, hi, ok, s.Float64())
		}
		rest := new(big.Float).SetPrec(4000).Sub(exact, big.NewFloat(hi))
		if want, _ := rest.Float64(); lo != want {
			t.Fatalf("%v: lo %v, rest rounds to %v", xs, lo, want)
		}
	}
}

// TestQuotientPair checks quotient against the exact integers' division,
// bit for bit, on sums that are not float64 values over denominators that
// are (token counts, and other values), and on quotients placed at and
// next to rounding boundaries, where quotientPair must decline. The fast
// path must decide nearly all of the random cases.
func TestQuotientPair(t *testing.T) {
	rng := rand.New(rand.NewPCG(33, 34))
	decided, total := 0, 0
	check := func(num *Sum, d float64) {
		t.Helper()
		var den Sum
		den.Add(d)
		want := ratioFloat64(num.bigInt(), den.bigInt(), 0)
		if got := quotient(num, &den); math.Float64bits(got) != math.Float64bits(want) {
			t.Fatalf("quotient(%v, %v) = %v, exact %v", num.Big(0), d, got, want)
		}
		if q, ok := quotientPair(num, d); ok {
			decided++
			if math.Float64bits(q) != math.Float64bits(want) {
				t.Fatalf("quotientPair(%v, %v) = %v, exact %v", num.Big(0), d, q, want)
			}
		}
		total++
	}
	for i := 0; i < 20000; i++ {
		xs := make([]float64, 2+rng.IntN(500))
		for k := range xs {
			xs[k] = -math.Log(rng.Float64()) * math.Ldexp(1, rng.IntN(40)-20)
		}
		d := float64(1 + rng.IntN(5000)) // a token count
		if i%3 == 0 {
			d = rng.ExpFloat64() * math.Ldexp(1, rng.IntN(200)-100)
		}
		check(sumOf(xs), d)
	}
	if decided < total*999/1000 {
		t.Errorf("quotientPair decided %d of %d random quotients", decided, total)
	}
	// num = d·(q + (f + g)·ulp(q)) exactly: f = 1/2 is a tie, and g moves
	// the quotient off it by less than a float64 correction can show, which
	// quotientPair must notice (f = 1: an exact float64 quotient).
	for i := 0; i < 2000; i++ {
		q := 1 + rng.Float64()
		d := float64(3 + 2*rng.IntN(1000)) // odd, so d·q·2^-53 is not a float64 sum
		u := math.Nextafter(q, 2) - q
		for _, f := range []float64{0.5, 1, 0.25} {
			for _, g := range []float64{0, 0x1p-40, -0x1p-40, 0x1p-60, -0x1p-60, 0x1p-100, -0x1p-100} {
				var num Sum
				num.AddProduct(q, d)
				num.AddProduct(f*u, d)
				num.AddProduct(g*u, d)
				check(&num, d)
			}
		}
	}
}
