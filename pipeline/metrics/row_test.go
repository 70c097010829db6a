package metrics

import (
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"testing"
)

const (
	eps64 = 0x1p-52 // options.epsilon auto for float64 predictions
	eps32 = 0x1p-23 // ... for float32 predictions
)

func TestWeightOK(t *testing.T) {
	for _, w := range []float64{0, 1, 0.5, math.MaxFloat64, tiny} {
		if !WeightOK(w) {
			t.Errorf("WeightOK(%v) = false", w)
		}
	}
	for _, w := range []float64{-1, -tiny, math.NaN(), math.Inf(1), math.Inf(-1)} {
		if WeightOK(w) {
			t.Errorf("WeightOK(%v) = true", w)
		}
	}
	if !WeightOK(math.Copysign(0, -1)) {
		t.Error("WeightOK(-0) = false") // -0 == 0 >= 0
	}
}

func TestBin(t *testing.T) {
	tests := []struct {
		c    float64
		bins int
		want int
	}{
		{0, 15, 0},
		{1, 15, 14},       // floor(15) = 15, clamped to 14
		{0.5, 2, 1},       // floor(1) = 1
		{0.4999, 2, 0},    // floor(0.9998)
		{0.2, 10, 2},      // 0.2·10 = 2 exactly in float64
		{1.0 / 15, 15, 1}, // (1/15)·15 rounds to 1
		{-0.1, 15, 0},
		{1.5, 15, 14},
		{math.NaN(), 15, 0},
		{math.Inf(1), 15, 14},
		{0.99, 1, 0},
	}
	for _, tc := range tests {
		if got := Bin(tc.c, tc.bins); got != tc.want {
			t.Errorf("Bin(%v, %d) = %d, want %d", tc.c, tc.bins, got, tc.want)
		}
	}
}

func TestBinaryTarget(t *testing.T) {
	tests := []struct {
		label float64
		want  float64
		ok    bool
	}{
		{1, 1, true},
		{0, 0, true},
		{-1, 0, true},
		{0.3, 0.3, true},
		{tiny, tiny, true},
		{math.Nextafter(1, 0), math.Nextafter(1, 0), true},
		{math.NaN(), 0, false},
		{2, 0, false},
		{-0.5, 0, false},
		{1.5, 0, false},
		{math.Inf(1), 0, false},
		{-2, 0, false},
	}
	for _, tc := range tests {
		got, ok := BinaryTarget(tc.label)
		if ok != tc.ok || (ok && got != tc.want) {
			t.Errorf("BinaryTarget(%v) = %v, %v; want %v, %v", tc.label, got, ok, tc.want, tc.ok)
		}
	}
}

func TestBinary(t *testing.T) {
	tests := []struct {
		name      string
		kind      Kind
		pred, t   float64
		eps       float64
		lit       float64 // a known literal value of the loss (0: none), within 2 ulps
		p         float64 // want P
		correct   bool
		clipped   bool
		maxUlps   uint64 // tolerance against the big reference (default 4)
		threshold float64
	}{
		// -ln 0.9 = 0.105360515657826301227... (float64 0.9 is 0.9 - 2.2e-17;
		// -ln of it rounds to 0.10536051565782628).
		{name: "prob p=0.9 y=1", kind: Prob, pred: 0.9, t: 1, eps: eps64, lit: 0.10536051565782628, p: 0.9, correct: true},
		// -ln 1e-4 = 4 ln 10 = 9.2103403719761827...; 9.210340371976182 is the
		// correctly rounded value, 9.210340371976184 (the value quoted in the
		// issue) is 1 ulp above it.
		{name: "prob p=1e-4 y=1", kind: Prob, pred: 0.0001, t: 1, eps: eps64, lit: 9.210340371976184, p: 0.0001},
		{name: "prob p=0.9 y=0", kind: Prob, pred: 0.9, t: 0, eps: eps64, p: 0.9},
		// p = 0, y = 0: only the (1-y) term; p' = eps, loss = -ln(1-eps) =
		// eps + eps^2/2 + ... : 2^-52 + 2^-105 + ... = 2.2204460492503136e-16
		// (just above the tie, so rounded up from 2^-52).
		{name: "prob p=0 y=0 eps64", kind: Prob, pred: 0, t: 0, eps: eps64, lit: 2.2204460492503136e-16, clipped: true, correct: true},
		// float32 eps: 2^-23 + 2^-47 + 2^-69/3 ... = 1.1920929665620916e-07.
		{name: "prob p=0 y=0 eps32", kind: Prob, pred: 0, t: 0, eps: eps32, lit: 1.1920929665620916e-07, clipped: true, correct: true},
		// p = 1, y = 1: -ln(1-eps) again, by symmetry.
		{name: "prob p=1 y=1", kind: Prob, pred: 1, t: 1, eps: eps64, lit: 2.2204460492503136e-16, p: 1, clipped: true, correct: true},
		// p = 0, y = 1: -ln eps = 52 ln 2 = 36.04365338911715.
		{name: "prob p=0 y=1", kind: Prob, pred: 0, t: 1, eps: eps64, lit: 36.04365338911715, clipped: true},
		{name: "prob p=1 y=0", kind: Prob, pred: 1, t: 0, eps: eps64, lit: 36.04365338911715, p: 1, clipped: true},
		{name: "prob no clip eps=0 p=0 y=1", kind: Prob, pred: 0, t: 1, eps: 0, lit: math.Inf(1)},
		{name: "prob eps=0 p=0 y=0", kind: Prob, pred: 0, t: 0, eps: 0, correct: true},
		// Soft target 0.3 at p = 0.8: -(0.3 ln 0.8 + 0.7 ln 0.2) = 1.1935496040981333.
		{name: "prob soft", kind: Prob, pred: 0.8, t: 0.3, eps: eps64, lit: 1.1935496040981333, p: 0.8},
		{name: "prob soft correct", kind: Prob, pred: 0.8, t: 0.6, eps: eps64, p: 0.8, correct: true},
		{name: "prob threshold", kind: Prob, pred: 0.3, t: 1, eps: eps64, p: 0.3, correct: true, threshold: 0.25},
		{name: "prob at threshold", kind: Prob, pred: 0.5, t: 1, eps: eps64, p: 0.5, correct: true},

		// logit s = 0: ln 2 = 0.6931471805599453 either way; P = 1/2 >= 0.5.
		{name: "logit 0 y=1", kind: Logit, pred: 0, t: 1, lit: math.Ln2, p: 0.5, correct: true},
		{name: "logit 0 y=0", kind: Logit, pred: 0, t: 0, lit: math.Ln2, p: 0.5},
		// s = ±1000: the loss is |s| + ln(1 + e^-1000) = 1000 (e^-1000 < 2^-1074).
		{name: "logit 1000 y=0", kind: Logit, pred: 1000, t: 0, lit: 1000, p: 1},
		{name: "logit -1000 y=1", kind: Logit, pred: -1000, t: 1, lit: 1000, p: 0},
		{name: "logit 1000 y=1", kind: Logit, pred: 1000, t: 1, p: 1, correct: true},
		{name: "logit -1000 y=0", kind: Logit, pred: -1000, t: 0, correct: true},
		{name: "logit 20 y=1", kind: Logit, pred: 20, t: 1, p: 1 / (1 + math.Exp(-20)), correct: true},
		{name: "logit -3 y=1", kind: Logit, pred: -3, t: 1, p: 1 / (1 + math.Exp(3))},
		{name: "logit 2.5 soft", kind: Logit, pred: 2.5, t: 0.25, p: 1 / (1 + math.Exp(-2.5))},
		// soft 0.3 at s = 1000: 0.7·1000 = 700 (+ e^-1000).
		{name: "logit 1000 soft", kind: Logit, pred: 1000, t: 0.3, lit: 700, p: 1},
		{name: "logit huge", kind: Logit, pred: 1e300, t: 0, lit: 1e300, p: 1},

		// logprob a = ln 0.9: loss -a.
		{name: "logprob ln0.9 y=1", kind: Logprob, pred: math.Log(0.9), t: 1, p: math.Exp(math.Log(0.9)), correct: true},
		{name: "logprob ln0.9 y=0", kind: Logprob, pred: math.Log(0.9), t: 0, p: math.Exp(math.Log(0.9))},
		{name: "logprob -1e-10 y=0", kind: Logprob, pred: -1e-10, t: 0, p: math.Exp(-1e-10)},
		{name: "logprob -50 y=0", kind: Logprob, pred: -50, t: 0, p: math.Exp(-50), correct: true},
		// P = e^-0.7 = 0.4966 < 0.5 and t = 0.4 < 0.5: both negative, correct.
		{name: "logprob soft", kind: Logprob, pred: -0.7, t: 0.4, p: math.Exp(-0.7), correct: true},
		{name: "logprob -inf y=1", kind: Logprob, pred: math.Inf(-1), t: 1, lit: math.Inf(1)},
		{name: "logprob -inf y=0", kind: Logprob, pred: math.Inf(-1), t: 0, correct: true},
		{name: "logprob 0 y=0", kind: Logprob, pred: 0, t: 0, lit: math.Inf(1), p: 1},
		{name: "logprob 0 y=1", kind: Logprob, pred: 0, t: 1, p: 1, correct: true},
		// (0, 1e-6] counts as 0, and is not clipping.
		{name: "logprob 1e-6 y=1", kind: Logprob, pred: 1e-6, t: 1, p: 1, correct: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			thr := tc.threshold
			if thr == 0 {
				thr = 0.5
			}
			row, inv := Binary(tc.kind, tc.pred, tc.t, tc.eps, thr)
			if inv != Valid {
				t.Fatalf("invalid: %v", inv)
			}
			want := refBinary(tc.kind, tc.pred, tc.t, tc.eps)
			tol := tc.maxUlps
			if tol == 0 {
				tol = 4
			}
			if d := ulps(row.Loss, want); d > tol {
				t.Errorf("loss = %v, reference %v (%d ulps)", row.Loss, want, d)
			}
			if tc.lit != 0 {
				if d := ulps(row.Loss, tc.lit); d > 2 {
					t.Errorf("loss = %v, want %v (%d ulps)", row.Loss, tc.lit, d)
				}
			}
			wantP := tc.p
			if tc.kind == Logit {
				wantP = refSigmoid(tc.pred)
				if ulps(wantP, tc.p) > 2 {
					t.Fatalf("test table: P %v, reference %v", tc.p, wantP)
				}
			}
			if ulps(row.P, wantP) > 2 || row.Correct != tc.correct || row.Clipped != tc.clipped {
				t.Errorf("P, Correct, Clipped = %v, %v, %v; want %v, %v, %v", row.P, row.Correct, row.Clipped, wantP, tc.correct, tc.clipped)
			}
			if d := row.P - tc.t; BinaryBrier(row.P, tc.t) != d*d {
				t.Errorf("Brier = %v, want (%v - %v)^2", BinaryBrier(row.P, tc.t), row.P, tc.t)
			}
		})
	}
}

// TestBinaryBrierOf checks the Brier score of logit and logprob rows
// against (p - t)^2 in 256-bit arithmetic, where a confident positive row's
// score (a logit of 10 and up) is far below p's rounding error.
func TestBinaryBrierOf(t *testing.T) {
	// refBrier is (p - t)^2, with p - t as (1-t) - (1-p) for t >= 1/2 so
	// that 1 - p, down to 1e-304, keeps its digits in 256 bits.
	refBrier := func(kind Kind, pred, tgt float64) float64 {
		var p, q *big.Float // p and 1 - p
		switch kind {
		case Logit:
			e := refExp(bf(-pred))
			p, q = quo(bfInt(1), add(bfInt(1), e)), quo(e, add(bfInt(1), e))
		case Logprob:
			a := math.Min(pred, 0)
			p, q = refExp(bf(a)), refOneMinusExp(a)
		}
		d := sub(p, bf(tgt))
		if tgt >= 0.5 {
			d = sub(oneMinus(tgt), q)
		}
		return round64(mul(d, d))
	}
	for _, kind := range []Kind{Logit, Logprob} {
		preds := []float64{0, 0.5, -0.5, 2, -2, 10, -10, 20, -20, 36.7, -36.7, 40, 100, -100, 700, -700}
		if kind == Logprob {
			preds = []float64{0, -1e-300, -1e-20, -1e-9, -4.5e-5, -0.01, -0.5, -2, -10, -100, -700, 5e-7}
		}
		for _, pred := range preds {
			for _, tgt := range []float64{1, 0, 0.9, 0.25} {
				row, inv := Binary(kind, pred, tgt, 0, 0.5)
				if inv != Valid {
					t.Fatalf("Binary(%v, %v, %v): %v", kind, pred, tgt, inv)
				}
				got, want := BinaryBrierOf(kind, pred, row.P, tgt), refBrier(kind, pred, tgt)
				// Against a hard target the score is accurate to a few ulps
				// however small; against a soft one, p - t cancels: a few
				// ulps of p (or 1 - p) times 2|p - t| more.
				slack := 0x1p-1070
				if tgt != 0 && tgt != 1 {
					slack = 0x1p-51 * math.Sqrt(want)
				}
				if d := ulps(got, want); d > 4 && math.Abs(got-want) > slack {
					t.Errorf("BinaryBrierOf(%v, %v, p %v, t %v) = %v, want %v (%d ulps)", kind, pred, row.P, tgt, got, want, d)
				}
			}
		}
	}
}

func TestBinaryInvalid(t *testing.T) {
	nan, inf := math.NaN(), math.Inf(1)
	tests := []struct {
		kind    Kind
		pred, t float64
		want    Invalid
	}{
		{Prob, nan, 1, NaNValue},
		{Prob, -0.1, 1, ProbRange},
		{Prob, 1.1, 0, ProbRange},
		{Prob, -tiny, 0, ProbRange},
		{Prob, inf, 0, ProbRange},
		{Prob, 0.5, nan, LabelDomain},
		{Prob, 0.5, 2, LabelDomain},
		{Prob, 0.5, -1, LabelDomain},
		{Logit, nan, 1, NaNValue},
		{Logit, inf, 1, InfiniteLogit},
		{Logit, -inf, 0, InfiniteLogit},
		{Logprob, nan, 1, NaNValue},
		{Logprob, 2e-6, 1, LogprobRange},
		{Logprob, inf, 1, LogprobRange},
	}
	for _, tc := range tests {
		row, got := Binary(tc.kind, tc.pred, tc.t, eps64, 0.5)
		if got != tc.want || row != (BinaryRow{}) {
			t.Errorf("Binary(%v, %v, %v) = %+v, %v; want zero row, %v", tc.kind, tc.pred, tc.t, row, got, tc.want)
		}
	}
}

func TestMulticlass(t *testing.T) {
	ninf := math.Inf(-1)
	tests := []struct {
		name      string
		kind      Kind
		pred      []float64
		y         int
		target    []float64
		smoothing float64
		eps       float64
		lit       float64 // known loss value (0: none), within 2 ulps
		conf      float64
		correct   bool
		clipped   bool
		brier     float64 // -1: not checked
	}{
		// SPEC worked examples. -ln 0.8 = 0.2231435513142097; brier 0.01+0.04+0.01.
		{name: "spec 0.8", kind: Prob, pred: []float64{0.1, 0.8, 0.1}, y: 1, eps: eps64, lit: 0.2231435513142097, conf: 0.8, correct: true, brier: -1},
		// -ln 0.2 = ln 5 = 1.6094379124341003.
		{name: "spec 0.2", kind: Prob, pred: []float64{0.7, 0.2, 0.1}, y: 1, eps: eps64, lit: 1.6094379124341003, conf: 0.7, brier: -1},
		// -ln 0.99 = 0.01005033585350145; the 0.0 entry has target 0: not evaluated, not clipped.
		{name: "spec 0.99 with zero", kind: Prob, pred: []float64{0.01, 0.99, 0.0}, y: 1, eps: eps64, lit: 0.01005033585350145, conf: 0.99, correct: true, brier: -1},
		// y = 2 on the same row: -ln 0.1 = ln 10 = 2.302585092994046.
		{name: "prob y=2", kind: Prob, pred: []float64{0.7, 0.2, 0.1}, y: 2, eps: eps64, lit: 2.302585092994046, conf: 0.7, brier: -1},
		{name: "prob clipped zero", kind: Prob, pred: []float64{1, 0, 0}, y: 1, eps: eps64, lit: 36.04365338911715, conf: 1, clipped: true, brier: 2},
		{name: "prob clipped one", kind: Prob, pred: []float64{1, 0, 0}, y: 0, eps: eps64, lit: 2.2204460492503136e-16, conf: 1, correct: true, clipped: true, brier: 0},
		{name: "prob tie lowest index wins", kind: Prob, pred: []float64{0.4, 0.4, 0.2}, y: 1, eps: eps64, conf: 0.4, brier: -1},
		{name: "prob tie lowest index correct", kind: Prob, pred: []float64{0.2, 0.4, 0.4}, y: 1, eps: eps64, conf: 0.4, correct: true, brier: -1},
		// Label smoothing e = 0.1, C = 3, y = 0 (PyTorch): weights 0.9 + 0.1/3 = 14/15,
		// 1/30, 1/30; loss = 14/15·0.35667494393873238 + (1.6094379124341003 +
		// 2.3025850929940457)/30 = 0.33289661434281689 + 0.13040076684760487
		// = 0.4632973811904218 (= 0.9·0.35667 + 0.1·mean(-ln p)).
		{name: "smoothing", kind: Prob, pred: []float64{0.7, 0.2, 0.1}, y: 0, smoothing: 0.1, eps: eps64, lit: 0.4632973811904218, conf: 0.7, correct: true, brier: -1},
		// Smoothing makes every class evaluated: the 0 is now clipped.
		{name: "smoothing evaluates zero", kind: Prob, pred: []float64{0.01, 0.99, 0.0}, y: 1, smoothing: 0.1, eps: eps64, conf: 0.99, correct: true, clipped: true, brier: -1},
		// Soft target [0.2, 0.8, 0]: -(0.2 ln 0.1 + 0.8 ln 0.8); argmax t = 1.
		{name: "soft", kind: Prob, pred: []float64{0.1, 0.8, 0.1}, target: []float64{0.2, 0.8, 0}, eps: eps64, conf: 0.8, correct: true, brier: -1},
		{name: "soft one-hot", kind: Prob, pred: []float64{0.1, 0.8, 0.1}, target: []float64{0, 1, 0}, y: -5, eps: eps64, lit: 0.2231435513142097, conf: 0.8, correct: true, brier: -1},
		{name: "soft smoothing", kind: Prob, pred: []float64{0.1, 0.6, 0.3}, target: []float64{0, 0.5, 0.5}, smoothing: 0.2, eps: eps64, conf: 0.6, correct: true, brier: -1},

		// Logits [1000, 0, -1000]: lse = 1000 + ln(1 + e^-1000 + e^-2000) = 1000 (to
		// far below an ulp), so the loss is 1000 - z_y.
		{name: "logit 1000 y=2", kind: Logit, pred: []float64{1000, 0, -1000}, y: 2, lit: 2000, conf: 1, brier: 2},
		{name: "logit 1000 y=1", kind: Logit, pred: []float64{1000, 0, -1000}, y: 1, lit: 1000, conf: 1, brier: 2},
		{name: "logit 1000 y=0", kind: Logit, pred: []float64{1000, 0, -1000}, y: 0, conf: 1, correct: true, brier: 0},
		{name: "logit -1000", kind: Logit, pred: []float64{-1000, -1000}, y: 1, lit: math.Ln2, conf: 0.5, brier: 0.5},
		// Equal logits: softmax is 1/C, loss ln 3 = 1.0986122886681098.
		{name: "logit equal", kind: Logit, pred: []float64{2, 2, 2}, y: 2, lit: 1.0986122886681098, conf: 1.0 / 3, brier: -1},
		{name: "logit ordinary", kind: Logit, pred: []float64{0.5, -1.25, 3, 0.1}, y: 0, conf: -1, brier: -1},
		// A confident correct row: ln(1 + e^-20 + e^-25) ≈ 2.06e-9, kept to full precision.
		{name: "logit confident", kind: Logit, pred: []float64{20, 0, -5}, y: 0, conf: -1, correct: true, brier: -1},
		{name: "logit masked", kind: Logit, pred: []float64{1, ninf, 0}, y: 0, conf: -1, correct: true, brier: -1},
		{name: "logit masked target", kind: Logit, pred: []float64{1, ninf, 0}, y: 1, lit: math.Inf(1), conf: -1, brier: -1},
		{name: "logit smoothing", kind: Logit, pred: []float64{1, 2, 3}, y: 0, smoothing: 0.25, conf: -1, brier: -1},
		{name: "logit soft", kind: Logit, pred: []float64{1, 2, 3}, target: []float64{0.1, 0.2, 0.7}, conf: -1, correct: true, brier: -1},

		{name: "logprob", kind: Logprob, pred: []float64{math.Log(0.1), math.Log(0.8), math.Log(0.1)}, y: 1, conf: math.Exp(math.Log(0.8)), correct: true, brier: -1},
		{name: "logprob y=0", kind: Logprob, pred: []float64{math.Log(0.1), math.Log(0.8), math.Log(0.1)}, y: 0, conf: math.Exp(math.Log(0.8)), brier: -1},
		{name: "logprob -inf other", kind: Logprob, pred: []float64{0, ninf}, y: 0, lit: 0, conf: 1, correct: true, brier: 0},
		{name: "logprob -inf target", kind: Logprob, pred: []float64{0, ninf}, y: 1, lit: math.Inf(1), conf: 1, brier: 2},
		// 1e-7 counts as 0: exp = 1, ties with nothing; loss 0.
		{name: "logprob slack", kind: Logprob, pred: []float64{ninf, 1e-7}, y: 1, conf: 1, correct: true, brier: 0},
		// p = [1 - 1e-9, 1e-9]: Brier 2e-18, which e^a - 1 gets wrong from the 8th digit.
		{name: "logprob confident", kind: Logprob, pred: []float64{math.Log1p(-1e-9), math.Log(1e-9)}, y: 0, conf: -1, correct: true, brier: -1},
		// A logprob of -1.6e308 is p = 0 (the reference must not overflow on it).
		{name: "logprob huge negative", kind: Logprob, pred: []float64{-1.5835561585037165e+308, 1.398043286095289e-76}, y: 1, lit: 0, conf: 1, correct: true, brier: 0},
		{name: "logprob smoothing", kind: Logprob, pred: []float64{math.Log(0.5), math.Log(0.25), math.Log(0.25)}, y: 0, smoothing: 0.3, conf: 0.5, correct: true, brier: -1},
	}
	scratch := make([]float64, 16)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			row, inv := Multiclass(tc.kind, tc.pred, tc.y, tc.target, tc.smoothing, tc.eps, scratch)
			if inv != Valid {
				t.Fatalf("invalid: %v", inv)
			}
			want := refMulticlass(tc.kind, tc.pred, tc.y, tc.target, tc.smoothing, tc.eps)
			if d := ulps(row.Loss, want); d > 4 {
				t.Errorf("loss = %v, reference %v (%d ulps)", row.Loss, want, d)
			}
			if tc.lit != 0 || tc.name == "logprob -inf other" {
				if d := ulps(row.Loss, tc.lit); d > 2 {
					t.Errorf("loss = %v, want %v (%d ulps)", row.Loss, tc.lit, d)
				}
			}
			conf, brier := refConfidenceBrier(tc.kind, tc.pred, tc.y, tc.target)
			if tc.conf >= 0 && conf != tc.conf {
				t.Fatalf("test table: reference confidence %v != %v", conf, tc.conf)
			}
			if tc.brier >= 0 && ulps(brier, tc.brier) > 2 {
				t.Fatalf("test table: reference brier %v != %v", brier, tc.brier)
			}
			if d := ulps(row.Confidence, conf); d > 2 {
				t.Errorf("confidence = %v, want %v", row.Confidence, conf)
			}
			// A hard label's Brier score is accurate to a few ulps; against a
			// soft target, p_k - t_k cancels and only its absolute error is small.
			if d := ulps(row.Brier, brier); d > 8 && (tc.target == nil || math.Abs(row.Brier-brier) > 1e-15) {
				t.Errorf("brier = %v, want %v (%d ulps)", row.Brier, brier, d)
			}
			if row.Correct != tc.correct || row.Clipped != tc.clipped {
				t.Errorf("Correct, Clipped = %v, %v; want %v, %v", row.Correct, row.Clipped, tc.correct, tc.clipped)
			}
		})
	}
}

// refConfidenceBrier is max_k p_k and sum_k (p_k - t_k)^2 with p the
// unclipped probabilities, in 256-bit arithmetic (softmax for logits, exp
// for logprobs); conf is rounded to float64, the Brier score is rounded
// once at the end. For a hard label y, 1 - p_y is computed without
// subtracting from 1 (the other classes' share of the softmax, or the
// series of 1 - e^a), which 256 bits would not hold for p_y within 1e-77
// of 1.
func refConfidenceBrier(kind Kind, pred []float64, y int, target []float64) (conf, brier float64) {
	p := make([]*big.Float, len(pred))
	var oneMinusPy *big.Float // 1 - p_y for a hard label
	switch kind {
	case Prob:
		for k, pk := range pred {
			p[k] = bf(pk)
		}
		if target == nil {
			oneMinusPy = sub(bfInt(1), p[y])
		}
	case Logprob:
		for k, a := range pred {
			p[k] = bfInt(0)
			if a >= -800 { // e^a below 1e-347 is 0 here: its square is far below any Brier score's ulp
				p[k] = refExp(bf(math.Min(a, 0)))
			}
		}
		if target == nil {
			oneMinusPy = refOneMinusExp(math.Min(pred[y], 0))
		}
	case Logit:
		total, others := bfInt(0), bfInt(0)
		e := make([]*big.Float, len(pred))
		for k, z := range pred {
			e[k] = bfInt(0)
			if !math.IsInf(z, -1) {
				e[k] = refExp(bf(z))
			}
			total = add(total, e[k])
			if k != y {
				others = add(others, e[k])
			}
		}
		for k := range p {
			p[k] = quo(e[k], total)
		}
		if target == nil {
			oneMinusPy = quo(others, total)
		}
	}
	b := bfInt(0)
	for k, pk := range p {
		conf = math.Max(conf, round64(pk))
		var d *big.Float
		switch {
		case target != nil:
			d = sub(pk, bf(target[k]))
		case k == y:
			d = oneMinusPy
		default:
			d = pk
		}
		b = add(b, mul(d, d))
	}
	return conf, round64(b)
}

func TestMulticlassInvalid(t *testing.T) {
	nan, inf := math.NaN(), math.Inf(1)
	tests := []struct {
		name   string
		kind   Kind
		pred   []float64
		y      int
		target []float64
		want   Invalid
	}{
		{"prob NaN", Prob, []float64{0.5, nan}, 0, nil, NaNValue},
		{"prob range", Prob, []float64{1.2, -0.2}, 0, nil, ProbRange},
		{"prob sum", Prob, []float64{0.5, 0.499}, 0, nil, ProbSum},
		{"prob sum high", Prob, []float64{0.5, 0.5011}, 0, nil, ProbSum},
		{"logit NaN", Logit, []float64{0, nan}, 0, nil, NaNValue},
		{"logit +Inf", Logit, []float64{0, inf}, 0, nil, InfiniteLogit},
		{"logit all -Inf", Logit, []float64{-inf, -inf}, 0, nil, InfiniteLogit},
		{"logprob NaN", Logprob, []float64{nan, 0}, 0, nil, NaNValue},
		{"logprob range", Logprob, []float64{-1, 2e-6}, 0, nil, LogprobRange},
		{"logprob sum", Logprob, []float64{math.Log(0.5), math.Log(0.4)}, 0, nil, ProbSum},
		{"label too big", Prob, []float64{0.5, 0.5}, 2, nil, LabelDomain},
		{"label negative", Prob, []float64{0.5, 0.5}, -1, nil, LabelDomain},
		{"target NaN", Prob, []float64{0.5, 0.5}, 0, []float64{nan, 1}, NaNValue},
		{"target range", Prob, []float64{0.5, 0.5}, 0, []float64{1.5, -0.5}, TargetSum},
		{"target sum", Prob, []float64{0.5, 0.5}, 0, []float64{0.5, 0.4}, TargetSum},
		{"target length", Prob, []float64{0.5, 0.5}, 0, []float64{1}, LengthMismatch},
		{"no classes", Prob, nil, 0, nil, LengthMismatch},
		// The target is checked first.
		{"target before prediction", Prob, []float64{nan, 0.5}, 7, nil, LabelDomain},
	}
	scratch := make([]float64, 4)
	for _, tc := range tests {
		row, got := Multiclass(tc.kind, tc.pred, tc.y, tc.target, 0, eps64, scratch)
		if got != tc.want || row != (MulticlassRow{}) {
			t.Errorf("%s: got %+v, %v; want zero row, %v", tc.name, row, got, tc.want)
		}
	}
}

func TestMulticlassTarget(t *testing.T) {
	tests := []struct {
		t    []float64
		want Invalid
	}{
		{[]float64{0, 1, 0}, Valid},
		{[]float64{0.2, 0.3, 0.5}, Valid},
		{[]float64{0.2, 0.3, 0.5009}, Valid},
		{[]float64{0.2, 0.3, 0.4989}, TargetSum},
		{[]float64{math.NaN(), 1}, NaNValue},
		{[]float64{-0.1, 1.1}, TargetSum},
		{[]float64{math.Inf(1)}, TargetSum},
		{[]float64{}, TargetSum},
	}
	for _, tc := range tests {
		if got := MulticlassTarget(tc.t); got != tc.want {
			t.Errorf("MulticlassTarget(%v) = %v, want %v", tc.t, got, tc.want)
		}
	}
}

func TestInvalidString(t *testing.T) {
	seen := map[string]Invalid{}
	for v := Valid; v <= WeightDomain; v++ {
		s := v.String()
		if s == "" || s == "invalid value" {
			t.Errorf("Invalid(%d) has no description", v)
		}
		if o, dup := seen[s]; dup {
			t.Errorf("Invalid(%d) and Invalid(%d) share %q", v, o, s)
		}
		seen[s] = v
	}
}

// TestBinaryProbHard: the branch-free hard-target row is Binary's row bit for
// bit (loss, P, Correct, Clipped), and refuses what Binary refuses.
func TestBinaryProbHard(t *testing.T) {
	rng := rand.New(rand.NewPCG(51, 52))
	ps := []float64{0, 1, 0.5, 1e-300, 0x1p-1074, math.Nextafter(1, 0), 1e-16, 1 - 1e-16, 0.9921875, 0.0078125, math.NaN(), -0.1, 1.5, math.Inf(1)}
	for range 20000 {
		ps = append(ps, rng.Float64(), math.Ldexp(rng.Float64(), -rng.IntN(60)), 1-math.Ldexp(rng.Float64(), -rng.IntN(60)))
	}
	for _, p := range ps {
		for _, eps := range []float64{0, 1e-15, 0x1p-52, 1e-7} {
			for _, positive := range []bool{false, true} {
				tgt := 0.0
				if positive {
					tgt = 1
				}
				thr := 0.5
				if rng.IntN(4) == 0 {
					thr = rng.Float64()
				}
				want, inv := Binary(Prob, p, tgt, eps, thr)
				got, ok := BinaryProbHard(p, positive, eps, thr)
				if ok != (inv == Valid) {
					t.Fatalf("BinaryProbHard(%v, %v): ok %v, Binary says %v", p, positive, ok, inv)
				}
				if ok && (math.Float64bits(got.Loss) != math.Float64bits(want.Loss) || math.Float64bits(got.P) != math.Float64bits(want.P) ||
					got.Correct != want.Correct || got.Clipped != want.Clipped) {
					t.Fatalf("BinaryProbHard(%v, %v, eps %v, thr %v) = %+v, Binary %+v", p, positive, eps, thr, got, want)
				}
			}
		}
	}
}

// TestBinaryProbHardRows: BinaryProbHardRows is BinaryProbHard's loss,
// clip's q and BinaryBrier of every row, bit for bit, whichever way it
// runs (AVX-512 assembly, or -tags purego): on lengths around the 8-wide
// groups, several eps, both ways of logPlus (within 2^-7 of 1 and the
// table's) and their boundaries, every table interval, tiny and subnormal
// probabilities, 0, -0 and 1, labels other than 0 and 1, and rows that are
// not probabilities.
func TestBinaryProbHardRows(t *testing.T) {
	rng := rand.New(rand.NewPCG(67, 68))
	specials := []float64{0, math.Copysign(0, -1), 1, 0.5, 0x1p-1022, 0x1p-1074, 1e-300, 1e-15, 1 - 1e-15,
		1 - 0x1p-7, 1 + 0x1p-7, 1 - 0x1p-8, math.Nextafter(1-0x1p-7, 0), math.Nextafter(1-0x1p-7, 1),
		0x1p-7, 1 - 0x1p-53, 0x1p-53, 0.6875, math.Nextafter(0.6875, 0), 1.375 / 2}
	check := func(trial int, p []float64, label []int64, eps float64) {
		n := len(p)
		loss, brier, q := make([]float64, n+1), make([]float64, n+1), make([]float64, n+1)
		loss[n], brier[n], q[n] = 42, 42, 42
		ok := BinaryProbHardRows(loss, brier, q, p, label, eps)
		wantOK := true
		for i := range p {
			row, rowOK := BinaryProbHard(p[i], label[i] == 1, eps, 0.5)
			if !rowOK {
				wantOK = false
				break
			}
			wantBrier := BinaryBrier(p[i], float64(b2i(label[i] == 1)))
			if math.Float64bits(loss[i]) != math.Float64bits(row.Loss) || math.Float64bits(brier[i]) != math.Float64bits(wantBrier) ||
				math.Float64bits(q[i]) != math.Float64bits(clip(p[i], eps)) {
				t.Fatalf("trial %d, eps %v: row (p %v, label %d) = loss %v, brier %v, q %v; want %v, %v, %v",
					trial, eps, p[i], label[i], loss[i], brier[i], q[i], row.Loss, wantBrier, clip(p[i], eps))
			}
		}
		if ok != wantOK {
			t.Fatalf("trial %d: ok %v, want %v", trial, ok, wantOK)
		}
		if ok && (loss[n] != 42 || brier[n] != 42 || q[n] != 42) {
			t.Fatalf("trial %d: wrote past the rows", trial)
		}
	}
	for trial := range 4000 {
		n := trial % 41
		if trial%100 == 0 {
			n = 1000 + rng.IntN(100)
		}
		p := make([]float64, n)
		label := make([]int64, n)
		for i := range p {
			switch rng.IntN(5) {
			case 0:
				p[i] = rng.Float64()
			case 1:
				p[i] = math.Exp(-rng.ExpFloat64() * 30) // near 0
			case 2:
				p[i] = 1 - math.Exp(-rng.ExpFloat64()*30) // near 1
			case 3:
				p[i] = min(1+(rng.Float64()-0.5)*0x1p-5, 1) // around the near-1 way
			default:
				p[i] = specials[rng.IntN(len(specials))]
			}
			label[i] = []int64{0, 1, 1, 0, -1, 2}[rng.IntN(6)]
		}
		if n > 0 && trial%97 == 0 {
			p[rng.IntN(n)] = []float64{math.NaN(), -0.1, 1.1, math.Inf(1)}[rng.IntN(4)]
		}
		check(trial, p, label, []float64{1e-15, 0, 1e-7, 0.25}[trial%4])
	}
	// Every table interval, from both sides (x = q and x = 1 - q).
	var p []float64
	for i := range logTableSize {
		lo := math.Float64frombits(0x3fe6000000000000 + uint64(i)<<45)
		for _, e := range []int{-3, -1, 0, 1, 2, 5} {
			v := math.Ldexp(lo, e)
			p = append(p, v, math.Nextafter(v, 0), math.Nextafter(v, 2))
		}
	}
	for i := range p {
		p[i] = min(p[i], 1)
	}
	for _, lab := range []int64{0, 1} {
		label := make([]int64, len(p))
		for i := range label {
			label[i] = lab
		}
		check(-1, p, label, 0)
	}
}

func BenchmarkBinaryProbHardRows(b *testing.B) {
	rng := rand.New(rand.NewPCG(9, 10))
	const n = 4096
	p, q, loss, brier, label := make([]float64, n), make([]float64, n), make([]float64, n), make([]float64, n), make([]int64, n)
	for i := range p {
		p[i] = rng.Float64()
		label[i] = int64(rng.IntN(2))
	}
	b.Run(fmt.Sprint("vector=", expVectorized()), func(b *testing.B) {
		for b.Loop() {
			BinaryProbHardRows(loss, brier, q, p, label, 1e-15)
		}
		b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "rows/s")
	})
}
