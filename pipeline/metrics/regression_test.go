package metrics

import (
	"math"
	"math/big"
	"math/rand/v2"
	"reflect"
	"testing"
)

// refSqrt is sqrt(x) for an exact rational x, correctly rounded (300 bits).
func refSqrt(x *big.Rat) float64 {
	return round64(new(big.Float).SetPrec(300).Sqrt(new(big.Float).SetPrec(300).SetRat(x)))
}

func TestRegressionHandExample(t *testing.T) {
	// (w, prediction, label): (1, 3, 1), (2, 0.5, 1), (0.5, -1, 2), and a
	// zero-weight row.
	//   e = 2, -0.5, -3; l = 4, 0.25, 9; |e| = 2, 0.5, 3
	//   W = 3.5, sum w^2 = 1 + 4 + 0.25 = 5.25
	//   loss_sum = 4 + 0.5 + 4.5 = 9, mse = 9/3.5 = 18/7 = 2.5714285714285716
	//   abs_error_sum = 2 + 1 + 1.5 = 4.5, mae = 4.5/3.5 = 9/7
	//   loss_sq_sum = 16 + 2·0.0625 + 0.5·81 = 56.625
	//   rmse = sqrt(18/7) = 1.6035674514745464
	var s RegStats
	s.Add(1, 3, 1)
	s.Add(2, 0.5, 1)
	s.Add(0.5, -1, 2)
	s.Add(0, 1e300, -1e300)
	got := s.Summary()
	checkNoNaN(t, got)
	want := RegSummary{
		WeightSum:   3.5,
		MSE:         some(18.0 / 7),
		MAE:         some(9.0 / 7),
		RMSE:        some(1.6035674514745464),
		LossSum:     9,
		LossSqSum:   56.625,
		WeightSqSum: 5.25,
		AbsErrorSum: 4.5,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("summary\n got %+v\nwant %+v", got, want)
	}
	if r := refSqrt(big.NewRat(18, 7)); r != want.RMSE.V {
		t.Errorf("reference sqrt(18/7) = %v", r)
	}
	if s.Rows != 4 {
		t.Errorf("Rows = %d", s.Rows)
	}
}

func TestRegressionNullRules(t *testing.T) {
	inf := math.Inf(1)
	tests := []struct {
		name           string
		rows           [][3]float64 // w, prediction, label
		mse, mae, rmse Opt
	}{
		{name: "no rows"},
		{name: "zero weights", rows: [][3]float64{{0, 1, 2}, {0, 1e308, -1e308}}},
		{name: "exact fit", rows: [][3]float64{{1, 2, 2}}, mse: some(0), mae: some(0), rmse: some(0)},
		// e = 2e300 is finite but e^2 overflows: mse and rmse +Inf, mae finite.
		{name: "square overflow", rows: [][3]float64{{1, 1e300, -1e300}, {1, 0, 0}}, mse: some(inf), mae: some(1e300), rmse: some(inf)},
		// e itself overflows.
		{name: "error overflow", rows: [][3]float64{{0.5, 1.7e308, -1.7e308}}, mse: some(inf), mae: some(inf), rmse: some(inf)},
		// Tiny weights: the means are exact quotients, not 0/0.
		{name: "tiny weights", rows: [][3]float64{{0x1p-1074, 3, 1}, {0x1p-1074, 1, 1}}, mse: some(2), mae: some(1), rmse: some(math.Sqrt2)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var s RegStats
			for _, r := range tc.rows {
				if inv := RegressionOK(r[1], r[2]); inv != Valid {
					t.Fatal(inv)
				}
				s.Add(r[0], r[1], r[2])
			}
			got := s.Summary()
			checkNoNaN(t, got)
			if got.MSE != tc.mse || got.MAE != tc.mae || got.RMSE != tc.rmse {
				t.Errorf("mse, mae, rmse = %+v %+v %+v; want %+v %+v %+v", got.MSE, got.MAE, got.RMSE, tc.mse, tc.mae, tc.rmse)
			}
		})
	}
}

func TestRegressionOK(t *testing.T) {
	nan, inf := math.NaN(), math.Inf(1)
	tests := []struct {
		p, l float64
		want Invalid
	}{
		{1, 2, Valid},
		{-1e308, 1e308, Valid},
		{0, -0, Valid},
		{nan, 1, NaNValue},
		{1, nan, NaNValue},
		{inf, nan, NaNValue}, // NaN is checked first
		{inf, 1, InfiniteValue},
		{1, -inf, InfiniteValue},
		{-inf, inf, InfiniteValue},
	}
	for _, tc := range tests {
		if got := RegressionOK(tc.p, tc.l); got != tc.want {
			t.Errorf("RegressionOK(%v, %v) = %v, want %v", tc.p, tc.l, got, tc.want)
		}
	}
	if s := InfiniteValue.String(); s != "value is infinite" {
		t.Errorf("InfiniteValue.String() = %q", s)
	}
	// InfiniteValue's description is its own.
	for v := Valid; v < InfiniteValue; v++ {
		if v.String() == InfiniteValue.String() {
			t.Errorf("Invalid(%d) shares InfiniteValue's description", v)
		}
	}
}

// TestRegressionRandom checks every mean against exact rationals, rmse
// against the correctly rounded root of the exact mse (and within an ulp of
// math.Sqrt of the rounded mse), and merge-order independence.
func TestRegressionRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(61, 62))
	const n = 1000
	ws, ps, ls := make([]float64, n), make([]float64, n), make([]float64, n)
	W, S, A := new(big.Rat), new(big.Rat), new(big.Rat)
	for i := range ws {
		ws[i] = []float64{0, 1, rng.Float64() * 5}[rng.IntN(3)]
		ps[i] = rng.NormFloat64() * 10
		ls[i] = rng.NormFloat64() * 10
		e := ps[i] - ls[i]
		w := new(big.Rat).SetFloat64(ws[i])
		W.Add(W, w)
		S.Add(S, new(big.Rat).Mul(w, new(big.Rat).SetFloat64(e*e)))
		A.Add(A, new(big.Rat).Mul(w, new(big.Rat).SetFloat64(math.Abs(e))))
	}
	var one RegStats
	for i := range ws {
		one.Add(ws[i], ps[i], ls[i])
	}
	got := one.Summary()
	checkNoNaN(t, got)
	mse := new(big.Rat).Quo(S, W)
	wantMSE, _ := mse.Float64()
	wantMAE, _ := new(big.Rat).Quo(A, W).Float64()
	if got.MSE != some(wantMSE) || got.MAE != some(wantMAE) || got.RMSE != some(refSqrt(mse)) {
		t.Errorf("mse, mae, rmse = %+v %+v %+v; want %v %v %v", got.MSE, got.MAE, got.RMSE, wantMSE, wantMAE, refSqrt(mse))
	}
	if u := ulps(got.RMSE.V, math.Sqrt(got.MSE.V)); u > 1 {
		t.Errorf("rmse %v is %d ulps from sqrt(mse) %v", got.RMSE.V, u, math.Sqrt(got.MSE.V))
	}
	for trial := 0; trial < 10; trial++ {
		var parts []*RegStats
		for lo := 0; lo < n; {
			hi := min(n, lo+1+rng.IntN(200))
			p := new(RegStats)
			for i := lo; i < hi; i++ {
				p.Add(ws[i], ps[i], ls[i])
			}
			parts = append(parts, p)
			lo = hi
		}
		parts[0].InvalidRows = 2
		rng.Shuffle(len(parts), func(i, j int) { parts[i], parts[j] = parts[j], parts[i] })
		var m RegStats
		for _, p := range parts {
			m.Merge(p)
		}
		if g := m.Summary(); !reflect.DeepEqual(g, got) || m.Rows != n || m.InvalidRows != 2 {
			t.Fatalf("trial %d: merged summary differs\n got %+v\nwant %+v", trial, g, got)
		}
	}
}
