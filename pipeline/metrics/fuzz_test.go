package metrics

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// The fuzz harness: each check* function states the invariants of one kernel
// for arbitrary input. The Fuzz* targets feed it from the fuzzer; the Test*Random
// tests feed it from a seeded generator so that plain `go test` covers it too.

var fuzzEps = [...]float64{eps64, eps32, 0, 1e-7}

// refBinaryValid is the domain of a binary prediction (SPEC §3).
func refBinaryValid(kind Kind, pred float64) bool {
	switch kind {
	case Prob:
		return pred >= 0 && pred <= 1
	case Logit:
		return !math.IsNaN(pred) && !math.IsInf(pred, 0)
	}
	return pred <= 1e-6 // logprob; false for NaN
}

// checkBinary: a valid input gives a loss that is >= 0 and finite or +Inf
// (never NaN), finite whenever it must be, and close to the 256-bit reference;
// an invalid one gives the zero row.
func checkBinary(t *testing.T, kind Kind, pred, label, eps float64) {
	t.Helper()
	tgt, ok := BinaryTarget(label)
	if !ok {
		if _, inv := Binary(kind, pred, label, eps, 0.5); inv != LabelDomain {
			t.Fatalf("label %v: Invalid %v, want LabelDomain", label, inv)
		}
		return
	}
	row, inv := Binary(kind, pred, tgt, eps, 0.5)
	if valid := refBinaryValid(kind, pred); (inv == Valid) != valid {
		t.Fatalf("Binary(%v, %v, %v): Invalid %v, domain says valid=%v", kind, pred, tgt, inv, valid)
	}
	if inv != Valid {
		if row != (BinaryRow{}) {
			t.Fatalf("invalid row not zero: %+v", row)
		}
		return
	}
	if math.IsNaN(row.Loss) || row.Loss < 0 || math.IsNaN(row.P) || row.P < 0 || row.P > 1 || !(BinaryBrier(row.P, tgt) >= 0 && BinaryBrier(row.P, tgt) <= 1) {
		t.Fatalf("Binary(%v, %v, %v, eps %v) = %+v", kind, pred, tgt, eps, row)
	}
	mustBeFinite := (kind == Prob && eps > 0) || kind == Logit
	if mustBeFinite && math.IsInf(row.Loss, 0) {
		t.Fatalf("Binary(%v, %v, %v, eps %v): infinite loss", kind, pred, tgt, eps)
	}
	if row.Clipped && kind != Prob {
		t.Fatalf("%v row clipped", kind)
	}
	if kind != Prob && math.Abs(pred) > 700 {
		return // outside the reference's exp range
	}
	want := refBinary(kind, pred, tgt, eps)
	if !closeTo(row.Loss, want, 1e-13) {
		t.Fatalf("Binary(%v, %v, %v, eps %v) loss %v, reference %v", kind, pred, tgt, eps, row.Loss, want)
	}
}

// closeTo is |got - want| <= rel·|want| (exact for infinities), or within a
// few subnormal steps of a tiny want.
func closeTo(got, want, rel float64) bool {
	if math.IsInf(want, 0) || math.IsInf(got, 0) {
		return got == want
	}
	return math.Abs(got-want) <= rel*math.Abs(want) || math.Abs(got-want) <= 0x1p-1070
}

func FuzzBinary(f *testing.F) {
	for _, s := range []struct {
		kind      uint8
		pred, lbl float64
	}{{0, 0.9, 1}, {0, 0, 0}, {0, 1, -1}, {0, 0.3, 0.7}, {1, 1000, 0}, {1, -1000, 1}, {1, 2.5, 0.25}, {2, -0.1, 1}, {2, 0, 0.5}, {2, math.Inf(-1), 1}, {0, math.NaN(), 1}, {2, 5e-7, 0}} {
		f.Add(s.kind, s.pred, s.lbl, uint8(0))
	}
	f.Fuzz(func(t *testing.T, kind uint8, pred, label float64, epsSel uint8) {
		checkBinary(t, Kind(kind%3), pred, label, fuzzEps[int(epsSel)%len(fuzzEps)])
	})
}

func TestBinaryRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(17, 18))
	labels := []float64{0, 1, -1, 0.5, 2, math.NaN()}
	for i := 0; i < 3000; i++ {
		kind := Kind(rng.IntN(3))
		var pred float64
		switch kind {
		case Prob:
			pred = []float64{rng.Float64(), 0, 1, math.Ldexp(rng.Float64(), -rng.IntN(1070)), 1 - math.Ldexp(rng.Float64(), -rng.IntN(60))}[rng.IntN(5)]
		case Logit:
			pred = (rng.Float64()*2 - 1) * math.Pow(10, float64(rng.IntN(6)-2))
		case Logprob:
			pred = -math.Ldexp(rng.Float64(), rng.IntN(20)-10)
		}
		label := labels[rng.IntN(len(labels))]
		if rng.IntN(3) == 0 {
			label = rng.Float64()
		}
		checkBinary(t, kind, pred, label, fuzzEps[rng.IntN(len(fuzzEps))])
	}
}

// multiclassCase decodes fuzz bytes into a multiclass input: up to 12 float64
// predictions, optionally normalised into the domain of the kind, and an
// optional soft target.
func multiclassCase(kind Kind, raw []byte, mode uint8) (pred, target []float64) {
	for len(raw) >= 8 && len(pred) < 12 {
		pred = append(pred, math.Float64frombits(binary.LittleEndian.Uint64(raw)))
		raw = raw[8:]
	}
	if mode&1 != 0 { // make the prediction valid when possible
		sum := 0.0
		for _, x := range pred {
			sum += math.Abs(x)
		}
		if sum > 0 && !math.IsInf(sum, 0) {
			for k, x := range pred {
				switch kind {
				case Prob:
					pred[k] = math.Abs(x) / sum
				case Logprob:
					pred[k] = math.Log(math.Abs(x) / sum)
				case Logit:
					pred[k] = math.Max(-1e4, math.Min(1e4, x))
				}
			}
		}
	}
	if mode&2 != 0 && len(pred) > 0 { // soft target: the reverse of |pred|, normalised
		target = make([]float64, len(pred))
		sum := 0.0
		for k := range target {
			target[k] = float64(k*k + 1)
			sum += target[k]
		}
		for k := range target {
			target[k] /= sum
		}
	}
	return pred, target
}

// refMulticlassValid reports whether the input is in the domain (SPEC §3) and
// which Invalid codes would describe it.
func refMulticlassValid(kind Kind, pred []float64, y int, target []float64) (bool, map[Invalid]bool) {
	why := map[Invalid]bool{}
	c := len(pred)
	if c == 0 {
		why[LengthMismatch] = true
		return false, why
	}
	if target == nil && (y < 0 || y >= c) {
		why[LabelDomain] = true
	}
	total, allNegInf := 0.0, true
	for _, x := range pred {
		if math.IsNaN(x) {
			why[NaNValue] = true
			continue
		}
		switch kind {
		case Prob:
			if x < 0 || x > 1 {
				why[ProbRange] = true
			}
			total += x
		case Logit:
			if math.IsInf(x, 1) {
				why[InfiniteLogit] = true
			}
			allNegInf = allNegInf && math.IsInf(x, -1)
		case Logprob:
			if x > 1e-6 {
				why[LogprobRange] = true
			}
			total += math.Exp(math.Min(x, 0))
		}
	}
	if kind == Logit && allNegInf {
		why[InfiniteLogit] = true
	}
	if kind != Logit && len(why) == 0 && math.Abs(total-1) > 1e-3 {
		why[ProbSum] = true
	}
	return len(why) == 0, why
}

// checkMulticlass: validity matches the domain; a valid row has a loss >= 0
// (finite or +Inf, never NaN) close to the reference, a confidence in [0, 1]
// equal to the probability of the argmax, and a finite Brier score.
func checkMulticlass(t *testing.T, kind Kind, pred []float64, y int, target []float64, smoothing, eps float64) {
	t.Helper()
	scratch := make([]float64, len(pred))
	row, inv := Multiclass(kind, pred, y, target, smoothing, eps, scratch)
	valid, why := refMulticlassValid(kind, pred, y, target)
	if (inv == Valid) != valid || (!valid && !why[inv]) {
		t.Fatalf("Multiclass(%v, %v, y %d, t %v): Invalid %v, domain says %v", kind, pred, y, target, inv, why)
	}
	if inv != Valid {
		if row != (MulticlassRow{}) {
			t.Fatalf("invalid row not zero: %+v", row)
		}
		return
	}
	if math.IsNaN(row.Loss) || row.Loss < 0 || !(row.Confidence >= 0 && row.Confidence <= 1) || !(row.Brier >= 0 && row.Brier <= 2+1e-9) {
		t.Fatalf("Multiclass(%v, %v, y %d, t %v, e %v) = %+v", kind, pred, y, target, smoothing, row)
	}
	if kind == Prob && eps > 0 && math.IsInf(row.Loss, 0) {
		t.Fatalf("clipped prob loss is infinite: %+v", row)
	}
	for _, x := range pred {
		if kind == Logit && math.Abs(x) > 700 && !math.IsInf(x, -1) {
			return // outside the reference's exp range
		}
	}
	want := refMulticlass(kind, pred, y, target, smoothing, eps)
	if !closeTo(row.Loss, want, 1e-13) {
		t.Fatalf("Multiclass(%v, %v, y %d, t %v, e %v) loss %v, reference %v", kind, pred, y, target, smoothing, row.Loss, want)
	}
	// A hard label's Brier score is accurate relative to itself, however
	// small; against a soft target p_k - t_k cancels (absolute accuracy).
	_, brier := refConfidenceBrier(kind, pred, y, target)
	if target == nil && !closeTo(row.Brier, brier, 1e-13) || math.Abs(row.Brier-brier) > 1e-14 {
		t.Fatalf("Multiclass(%v, %v, y %d, t %v) Brier %v, reference %v", kind, pred, y, target, row.Brier, brier)
	}
}

var fuzzSmoothing = [...]float64{0, 0.1, 0.5, 1}

func FuzzMulticlass(f *testing.F) {
	seed := func(xs ...float64) []byte {
		var b []byte
		for _, x := range xs {
			b = binary.LittleEndian.AppendUint64(b, math.Float64bits(x))
		}
		return b
	}
	f.Add(uint8(0), seed(0.1, 0.8, 0.1), 1, uint8(0))
	f.Add(uint8(0), seed(0.01, 0.99, 0), 1, uint8(4))
	f.Add(uint8(1), seed(1000, 0, -1000), 2, uint8(0))
	f.Add(uint8(1), seed(1, math.Inf(-1), 0), 1, uint8(2))
	f.Add(uint8(2), seed(math.Log(0.5), math.Log(0.5)), 0, uint8(8))
	f.Add(uint8(0), seed(3, -1, 7, 2), 3, uint8(1))
	f.Fuzz(func(t *testing.T, kind uint8, raw []byte, y int, mode uint8) {
		k := Kind(kind % 3)
		pred, target := multiclassCase(k, raw, mode)
		e := fuzzSmoothing[int(mode>>2)%len(fuzzSmoothing)]
		eps := fuzzEps[int(mode>>4)%2]
		checkMulticlass(t, k, pred, y, target, e, eps)
	})
}

func TestMulticlassRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(19, 20))
	for i := 0; i < 2000; i++ {
		c := 1 + rng.IntN(8)
		raw := make([]byte, 0, 8*c)
		for k := 0; k < c; k++ {
			x := rng.NormFloat64() * math.Pow(10, float64(rng.IntN(5)-1))
			if rng.IntN(20) == 0 {
				x = 0
			}
			raw = binary.LittleEndian.AppendUint64(raw, math.Float64bits(x))
		}
		kind := Kind(rng.IntN(3))
		mode := uint8(rng.IntN(256)) | 1
		pred, target := multiclassCase(kind, raw, mode)
		checkMulticlass(t, kind, pred, rng.IntN(c+1)-rng.IntN(2), target, fuzzSmoothing[rng.IntN(4)], fuzzEps[rng.IntN(2)])
	}
}

// checkSum: one pass, and the same values split in three parts merged in
// another order, give the same bits and flags; a finite sum equals the exact
// sum rounded once.
func checkSum(t *testing.T, xs []float64, cut1, cut2 int) {
	t.Helper()
	one := sumOf(xs)
	cut1 = min(cut1, len(xs))
	cut2 = min(max(cut2, cut1), len(xs))
	var merged Sum
	merged.Merge(sumOf(xs[cut2:]))
	merged.Merge(sumOf(xs[:cut1]))
	merged.Merge(sumOf(xs[cut1:cut2]))
	a, b := one.Float64(), merged.Float64()
	if math.Float64bits(a) != math.Float64bits(b) && !(math.IsNaN(a) && math.IsNaN(b)) {
		t.Fatalf("one pass %v, merged %v", a, b)
	}
	if one.Inf() != merged.Inf() || one.IsNaN() != merged.IsNaN() || one.IsFinite() != merged.IsFinite() {
		t.Fatalf("flags differ")
	}
	checkSliceSums(t, xs, one)
	finite, nan, pos, neg := true, false, false, false
	for _, x := range xs {
		finite = finite && !math.IsNaN(x) && !math.IsInf(x, 0)
		nan = nan || math.IsNaN(x)
		pos = pos || math.IsInf(x, 1)
		neg = neg || math.IsInf(x, -1)
	}
	switch {
	case nan || (pos && neg):
		if !math.IsNaN(a) {
			t.Fatalf("sum with NaN or both infinities = %v", a)
		}
	case pos || neg:
		if !math.IsInf(a, 0) || (a > 0) != pos {
			t.Fatalf("sum with an infinity = %v", a)
		}
	}
	if !finite {
		return
	}
	want := refSum(xs)
	if w := round64(want); math.Float64bits(a) != math.Float64bits(w) && !(a == 0 && w == 0) {
		t.Fatalf("sum = %v, want %v", a, w)
	}
	if one.Big(0).Cmp(want) != 0 || merged.Big(0).Cmp(want) != 0 {
		t.Fatalf("Big differs from the exact sum")
	}
}

// checkSliceSums: AddSlice of xs, onto an empty sum and onto one that
// already holds a value, is Add of each value in turn (one is the sum of xs
// by Add), SubSlice is Add of each negated value, and addSquares is
// addSquare of each value: the same exact value and flags.
func checkSliceSums(t *testing.T, xs []float64, one *Sum) {
	t.Helper()
	var sliced, sub Sum
	sliced.AddSlice(xs)
	sub.SubSlice(xs)
	neg := make([]float64, len(xs))
	for i, x := range xs {
		neg[i] = -x
	}
	sameSum(t, "AddSlice", &sliced, one)
	sameSum(t, "SubSlice", &sub, sumOf(neg))
	var sq, sqRef Sum
	sq.addSquares(xs)
	for _, x := range xs {
		addSquare(&sqRef, x)
	}
	sameSum(t, "addSquares", &sq, &sqRef)
	// Onto a sum whose window is elsewhere: 1e300 is far above most values.
	pre := sumOf([]float64{1e300})
	pre.AddSlice(xs)
	sameSum(t, "AddSlice after 1e300", pre, sumOf(append([]float64{1e300}, xs...)))
}

// sameSum fails unless got and want hold the same exact value and flags.
func sameSum(t *testing.T, what string, got, want *Sum) {
	t.Helper()
	if got.Inf() != want.Inf() || got.IsNaN() != want.IsNaN() || got.IsFinite() != want.IsFinite() {
		t.Fatalf("%s: flags differ", what)
	}
	if got.IsFinite() && got.Big(0).Cmp(want.Big(0)) != 0 {
		t.Fatalf("%s = %v, want %v", what, got.Big(0), want.Big(0))
	}
	if a, b := got.Float64(), want.Float64(); math.Float64bits(a) != math.Float64bits(b) && !(math.IsNaN(a) && math.IsNaN(b)) {
		t.Fatalf("%s: Float64 %v, want %v", what, a, b)
	}
}

// TestAddSquaresLossLike: addSquares is addSquare of each value (the same
// exact value and flags) on slices of loss-like values (exponential, at
// three scales), cut at every place near binSumsEvery, with values among
// them whose parts are special (tiny, huge, subnormal, zero, -0, ±Inf,
// NaN).
func TestAddSquaresLossLike(t *testing.T) {
	rng := rand.New(rand.NewPCG(51, 52))
	odd := []float64{0, math.Copysign(0, -1), 1e-12, 3e-20, 0x1p-1074, 33, 1e5, 1e200, -7, math.Inf(1), math.Inf(-1), math.NaN()}
	for trial := range 400 {
		n := []int{rng.IntN(64), binSumsEvery - 2 + rng.IntN(5), 1 + rng.IntN(3000)}[trial%3]
		xs := make([]float64, n)
		for i := range xs {
			xs[i] = rng.ExpFloat64() * []float64{1, 1e-3, 10}[rng.IntN(3)]
			if trial%4 > 0 && rng.IntN(200) == 0 {
				xs[i] = odd[rng.IntN(len(odd))]
			}
		}
		if trial%50 == 7 && n > 0 {
			xs[rng.IntN(n)] = odd[len(odd)-1-rng.IntN(3)] // NaN or an infinity
		}
		var sq, ref Sum
		sq.addSquares(xs)
		for _, x := range xs {
			addSquare(&ref, x)
		}
		sameSum(t, fmt.Sprintf("trial %d (n %d): addSquares", trial, n), &sq, &ref)
	}
}

// TestSumSliceLong: AddSlice (and addSquares) over slices longer than their flush,
// with the largest significands at one exponent (where the per-exponent
// int64 sums come closest to overflowing), both signs, and zeros,
// subnormals and infinities among them, against the exact sum.
func TestSumSliceLong(t *testing.T) {
	rng := rand.New(rand.NewPCG(31, 32))
	top := math.Nextafter(2, 0) // significand 2^53-1
	for trial := range 40 {
		xs := make([]float64, 1000+rng.IntN(4000))
		for i := range xs {
			switch {
			case trial%4 == 0:
				xs[i] = top
			case trial%4 == 1:
				xs[i] = -top * 0x1p-600
			default:
				xs[i] = []float64{top, -top, rng.ExpFloat64(), rng.Float64() * 1e-300}[rng.IntN(4)]
			}
		}
		if trial%2 == 1 {
			for range 5 {
				xs[rng.IntN(len(xs))] = []float64{0, math.Copysign(0, -1), 0x1p-1074, -0x1p-1060}[rng.IntN(4)]
			}
		}
		var s, sq, sqRef Sum
		sq.addSquares(xs)
		for _, x := range xs {
			addSquare(&sqRef, x)
		}
		sameSum(t, "addSquares", &sq, &sqRef)
		s.AddSlice(xs)
		if s.Big(0).Cmp(refSum(xs)) != 0 {
			t.Fatalf("trial %d: AddSlice = %v, want %v", trial, s.Big(0), refSum(xs))
		}
		sameSum(t, "AddSlice", &s, sumOf(xs))
		if trial == 3 {
			xs[len(xs)/2] = math.Inf(-1)
			s.Reset()
			s.AddSlice(xs)
			if s.Inf() != -1 {
				t.Fatalf("AddSlice with -Inf: Inf() = %d", s.Inf())
			}
		}
	}
}

func FuzzSum(f *testing.F) {
	f.Add([]byte{}, uint16(0), uint16(0))
	f.Add(binary.LittleEndian.AppendUint64(binary.LittleEndian.AppendUint64(nil, math.Float64bits(1e100)), math.Float64bits(-1e100)), uint16(1), uint16(2))
	f.Add(binary.LittleEndian.AppendUint64(nil, math.Float64bits(math.MaxFloat64)), uint16(0), uint16(1))
	f.Fuzz(func(t *testing.T, raw []byte, cut1, cut2 uint16) {
		var xs []float64
		for ; len(raw) >= 8; raw = raw[8:] {
			xs = append(xs, math.Float64frombits(binary.LittleEndian.Uint64(raw)))
		}
		checkSum(t, xs, int(cut1), int(cut2))
	})
}

func TestSumRandomSplits(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	for i := 0; i < 300; i++ {
		xs := randomFloats(rng, rng.IntN(50))
		if rng.IntN(10) == 0 && len(xs) > 0 {
			xs[rng.IntN(len(xs))] = []float64{math.Inf(1), math.Inf(-1), math.NaN()}[rng.IntN(3)]
		}
		checkSum(t, xs, rng.IntN(50), rng.IntN(50))
	}
}

// checkTokenLogitNLL: validity matches the domain (the label first, then the
// first NaN or +Inf logit, or all -Inf); a valid row has a loss that is >= 0
// and finite or +Inf (+Inf exactly when max(z) - z[y] is: z[y] = -Inf, or
// the spread overflows), never NaN; for moderate logits (|z| <= 1000) it agrees with the
// naive two-pass logsumexp within 1e-12 relative, and for short rows within
// reach of the reference's exp, with the 256-bit reference to 1e-14.
func checkTokenLogitNLL(t *testing.T, z []float64, y int) {
	t.Helper()
	got, inv := TokenLogitNLL(z, y)
	want := Valid
	switch {
	case y < 0 || y >= len(z):
		want = LabelDomain
	default:
		allNegInf := true
		for _, x := range z {
			if math.IsNaN(x) {
				want = NaNValue
				break
			}
			if math.IsInf(x, 1) {
				want = InfiniteLogit
				break
			}
			allNegInf = allNegInf && math.IsInf(x, -1)
		}
		if want == Valid && allNegInf {
			want = InfiniteLogit
		}
	}
	if inv != want {
		t.Fatalf("TokenLogitNLL(%v, %d): Invalid %v, want %v", z, y, inv, want)
	}
	if inv != Valid {
		if got != 0 {
			t.Fatalf("invalid row with loss %v", got)
		}
		return
	}
	if math.IsNaN(got) || got < 0 {
		t.Fatalf("TokenLogitNLL(%v, %d) = %v", z, y, got)
	}
	if math.IsInf(got, 1) != math.IsInf(slices.Max(z)-z[y], 1) {
		t.Fatalf("TokenLogitNLL(%v, %d) = %v", z, y, got)
	}
	moderate, short := true, len(z) <= 8
	for _, x := range z {
		if !math.IsInf(x, -1) {
			moderate = moderate && math.Abs(x) <= 1000
			short = short && math.Abs(x) <= 700
		}
	}
	if moderate {
		naive := naiveTokenNLL(z, y)
		if math.IsInf(naive, 1) != math.IsInf(got, 1) || (!math.IsInf(got, 1) && math.Abs(got-naive) > 1e-12*math.Max(1, naive)) {
			t.Fatalf("TokenLogitNLL(%v, %d) = %v, naive two-pass %v", z, y, got, naive)
		}
	}
	if short {
		if ref := refMulticlass(Logit, z, y, nil, 0, 0); !closeTo(got, ref, 1e-14) {
			t.Fatalf("TokenLogitNLL(%v, %d) = %v, reference %v", z, y, got, ref)
		}
	}
}

// tokenLogits decodes raw bytes as float64 logits (at most 4096).
func tokenLogits(raw []byte) []float64 {
	var z []float64
	for ; len(raw) >= 8 && len(z) < 4096; raw = raw[8:] {
		z = append(z, math.Float64frombits(binary.LittleEndian.Uint64(raw)))
	}
	return z
}

func FuzzTokenLogitNLL(f *testing.F) {
	seed := func(xs ...float64) []byte {
		var b []byte
		for _, x := range xs {
			b = binary.LittleEndian.AppendUint64(b, math.Float64bits(x))
		}
		return b
	}
	f.Add(seed(1, 2, 3), 0)
	f.Add(seed(1000, 0, -1000), 2)
	f.Add(seed(math.Inf(-1), 5, 0), 0)
	f.Add(seed(0, 40, 0, 0), 1)
	f.Add(seed(-300, 100, 400, 50), 2)
	f.Add(seed(math.NaN(), 1), 1)
	f.Add(seed(math.Inf(-1), math.Inf(-1)), 1)
	f.Add(seed(math.MaxFloat64, -math.MaxFloat64), 1)
	f.Fuzz(func(t *testing.T, raw []byte, y int) {
		checkTokenLogitNLL(t, tokenLogits(raw), y)
	})
}

func TestTokenLogitNLLRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(23, 24))
	for i := 0; i < 2000; i++ {
		c := 1 + rng.IntN(12)
		z := make([]float64, c)
		for k := range z {
			z[k] = rng.NormFloat64() * math.Pow(10, float64(rng.IntN(5)-1))
			switch rng.IntN(30) {
			case 0:
				z[k] = math.Inf(-1)
			case 1:
				z[k] = 0
			case 2:
				z[k] = []float64{math.Inf(1), math.NaN(), 1e308, -1e308}[rng.IntN(4)]
			}
		}
		checkTokenLogitNLL(t, z, rng.IntN(c+1)-rng.IntN(2))
	}
}

// TestSumFixedWindow: AddSlice and SubSlice of values in and around the
// fixed-point window of fixedSumVector ([2^-76, 2^10) and +0): every
// exponent of the window with random and extreme significands, runs long
// enough to carry out of every word, and values outside it (negative,
// -0, just below and above the window, subnormal, infinite) anywhere, are
// Add of each value, exactly.
func TestSumFixedWindow(t *testing.T) {
	rng := rand.New(rand.NewPCG(33, 34))
	inWindow := func() float64 {
		e := uint64(fixedExpMin + rng.IntN(fixedExpMax-fixedExpMin+1))
		frac := rng.Uint64() & (1<<52 - 1)
		switch rng.IntN(4) {
		case 0:
			frac = 1<<52 - 1
		case 1:
			frac = 0
		}
		return math.Float64frombits(e<<52 | frac)
	}
	outside := []float64{-1, math.Copysign(0, -1), 0x1p-77, math.Nextafter(0x1p-76, 0), 0x1p10,
		math.Nextafter(0x1p10, 0) * 2, 0x1p-1074, math.Inf(1), 1e300}
	for trial := range 300 {
		n := 8 + rng.IntN(3000)
		if trial%50 == 0 {
			n = 200000 // carries out of w0 and w1 in every lane
		}
		xs := make([]float64, n)
		for i := range xs {
			xs[i] = inWindow()
			if trial%3 == 0 && rng.IntN(10) == 0 {
				xs[i] = 0
			}
			if trial%50 == 0 {
				xs[i] = math.Nextafter(0x1p10, 0) // the largest, for the most carries
			}
		}
		if trial%4 == 1 {
			xs[rng.IntN(n)] = outside[rng.IntN(len(outside))]
		}
		if hasVector := fixedSumVector(xs[:8:8], 0, new(fixedAcc)) > 0; hasVector && trial%4 != 1 {
			if got := fixedSumVector(xs, 0, new(fixedAcc)); got != n {
				t.Fatalf("trial %d: the vector path took %d of %d values in its window", trial, got, n)
			}
		}
		var s, sub Sum
		s.AddSlice(xs)
		neg := make([]float64, n)
		for i, x := range xs {
			neg[i] = -x
		}
		sub.SubSlice(neg)
		if math.IsInf(s.Float64(), 0) {
			sameSum(t, "AddSlice", &s, sumOf(xs))
			continue
		}
		if s.Big(0).Cmp(refSum(xs)) != 0 {
			t.Fatalf("trial %d: AddSlice = %v, want %v", trial, s.Big(0), refSum(xs))
		}
		sameSum(t, "AddSlice", &s, sumOf(xs))
		sameSum(t, "SubSlice", &sub, sumOf(xs))
	}
}
