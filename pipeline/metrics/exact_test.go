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
