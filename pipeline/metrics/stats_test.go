package metrics

import (
	"math"
	"math/big"
	"math/rand/v2"
	"reflect"
	"testing"
)

// statRow is one argument list of ClassStats.Add.
type statRow struct {
	w, loss                         float64
	correct                         bool
	brier, confidence, outcome, lbl float64
	clipped                         bool
}

func addRows(s *ClassStats, rows []statRow) {
	for _, r := range rows {
		s.Add(r.w, r.loss, r.correct, r.brier, r.confidence, r.outcome, r.lbl, r.clipped)
	}
}

// checkNoNaN fails if any value of a summary (ClassSummary, RegSummary,
// TokenSummary) is NaN, or a null Opt carries a value.
func checkNoNaN(t *testing.T, s any) {
	t.Helper()
	v := reflect.ValueOf(s)
	for i := 0; i < v.NumField(); i++ {
		f := v.Field(i)
		name := v.Type().Field(i).Name
		switch x := f.Interface().(type) {
		case float64:
			if math.IsNaN(x) {
				t.Errorf("%s is NaN", name)
			}
		case Opt:
			if math.IsNaN(x.V) || (!x.OK && x.V != 0) {
				t.Errorf("%s = %+v", name, x)
			}
		case []float64:
			for _, y := range x {
				if math.IsNaN(y) {
					t.Errorf("%s has NaN", name)
				}
			}
		}
	}
}

func TestClassStatsHandExample(t *testing.T) {
	// Three binary rows (w, P, t) = (1, 0.75, 1), (2, 0.25, 0), (0.5, 0.5, 0),
	// losses 0.5, 1.25, 2 (chosen exactly representable), two calibration bins,
	// plus a zero-weight row with an infinite loss.
	//   W = 3.5, sum w^2 = 1 + 4 + 0.25 = 5.25
	//   cross_entropy = (0.5 + 2.5 + 1) / 3.5 = 8/7
	//   accuracy: 0.75 >= 0.5 with t = 1 ✓; 0.25 < 0.5 with t = 0 ✓; 0.5 >= 0.5
	//     with t = 0 ✗ → (1 + 2) / 3.5 = 6/7
	//   brier: (0.0625·1 + 0.0625·2 + 0.25·0.5) / 3.5 = 0.3125 / 3.5 = 5/56
	//   mean_prediction: (0.75 + 0.5 + 0.25) / 3.5 = 3/7; label_rate 1/3.5 = 2/7
	//   bins: 0.75 → 1, 0.25 → 0, 0.5 → floor(1) = 1.
	//     bin 0: W 2, confidence 0.5, outcome 0; bin 1: W 1.5, confidence
	//     0.75 + 0.25 = 1, outcome 1.
	//   ece = (|0 - 0.5| + |1 - 1|) / 3.5 = 1/7
	//     (= sum_b W_b/W |mean outcome - mean conf| = 2/3.5 · 0.25)
	//   stderr: m = 8/7; sum w (l-m)^2 = 81/196 + 2·9/784 + 0.5·36/49 = 45/56;
	//     n_eff = 3.5^2/5.25 = 7/3; stderr^2 = (45/56) / (3.5 · 4/3) = 135/784,
	//     stderr = sqrt(135)/28 = 0.4149625013793661.
	s := NewClassStats(2)
	addRows(s, []statRow{
		{w: 1, loss: 0.5, correct: true, brier: 0.0625, confidence: 0.75, outcome: 1, lbl: 1},
		{w: 2, loss: 1.25, correct: true, brier: 0.0625, confidence: 0.25, outcome: 0, lbl: 0, clipped: true},
		{w: 0.5, loss: 2, correct: false, brier: 0.25, confidence: 0.5, outcome: 0, lbl: 0},
		{w: 0, loss: math.Inf(1), confidence: 0.9, clipped: true},
	})
	got := s.Summary()
	checkNoNaN(t, got)
	want := ClassSummary{
		WeightSum:      3.5,
		CrossEntropy:   some(8.0 / 7),
		Perplexity:     some(math.Exp(8.0 / 7)),
		Stderr:         some(0.4149625013793661),
		Accuracy:       some(6.0 / 7),
		Brier:          some(5.0 / 56),
		ECE:            some(1.0 / 7),
		MeanPrediction: some(3.0 / 7),
		LabelRate:      some(2.0 / 7),
		LossSum:        4,
		LossSqSum:      0.25 + 2*1.5625 + 0.5*4,
		WeightSqSum:    5.25,
		CorrectSum:     3,
		BrierSum:       0.3125,
		PredictionSum:  1.5,
		LabelSum:       1,
		CalWeight:      []float64{2, 1.5},
		CalConfidence:  []float64{0.5, 1},
		CalOutcome:     []float64{0, 1},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("summary\n got %+v\nwant %+v", got, want)
	}
	if s.Rows != 4 || s.ClippedRows != 2 {
		t.Errorf("Rows, ClippedRows = %d, %d; want 4, 2", s.Rows, s.ClippedRows)
	}
}

func TestClassStatsNullRules(t *testing.T) {
	tests := []struct {
		name       string
		rows       []statRow
		ce, stderr Opt
		nullOthers bool
	}{
		{name: "no rows", nullOthers: true},
		{name: "zero weights only", rows: []statRow{{w: 0, loss: math.Inf(1)}, {w: 0, loss: 3}}, nullOthers: true},
		{name: "one row: n_eff = 1", rows: []statRow{{w: 2, loss: 3}}, ce: some(3)},
		{name: "one weighted row: n_eff = 1", rows: []statRow{{w: 2, loss: 3}, {w: 0, loss: 1}}, ce: some(3)},
		// Two equal losses: variance 0, stderr 0.
		{name: "no variance", rows: []statRow{{w: 1, loss: 3}, {w: 1, loss: 3}}, ce: some(3), stderr: some(0)},
		// Two unit rows 1 and 3: sample sd sqrt(2), stderr sqrt(2)/sqrt(2) = 1.
		{name: "two rows", rows: []statRow{{w: 1, loss: 1}, {w: 1, loss: 3}}, ce: some(2), stderr: some(1)},
		{name: "infinite mean", rows: []statRow{{w: 1, loss: math.Inf(1)}, {w: 1, loss: 3}}, ce: some(math.Inf(1))},
		// A loss whose square overflows float64: the mean stays, the stderr is not computable.
		{name: "square overflow", rows: []statRow{{w: 1, loss: 1e200}, {w: 1, loss: 1e200}}, ce: some(1e200)},
		// Weights whose squares underflow to 0 (an audit: stderr 0): n_eff
		// is not computable in float64, so the stderr is null.
		{name: "weight squares underflow", rows: []statRow{{w: 1e-200, loss: 1}, {w: 1e-200, loss: 2}, {w: 1e-200, loss: 4}}, ce: some(7.0 / 3)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := NewClassStats(3)
			addRows(s, tc.rows)
			got := s.Summary()
			checkNoNaN(t, got)
			if got.CrossEntropy != tc.ce || got.Stderr != tc.stderr {
				t.Errorf("cross_entropy, stderr = %+v, %+v; want %+v, %+v", got.CrossEntropy, got.Stderr, tc.ce, tc.stderr)
			}
			wantPerplexity := Opt{}
			if tc.ce.OK {
				wantPerplexity = some(math.Exp(tc.ce.V))
			}
			if got.Perplexity != wantPerplexity {
				t.Errorf("perplexity = %+v, want %+v", got.Perplexity, wantPerplexity)
			}
			others := []Opt{got.Accuracy, got.Brier, got.ECE, got.MeanPrediction, got.LabelRate}
			for i, o := range others {
				if o.OK == tc.nullOthers {
					t.Errorf("companion %d = %+v, want null: %v", i, o, tc.nullOthers)
				}
			}
			if len(got.CalWeight) != 3 || len(got.CalConfidence) != 3 || len(got.CalOutcome) != 3 {
				t.Errorf("calibration lists have lengths %d %d %d", len(got.CalWeight), len(got.CalConfidence), len(got.CalOutcome))
			}
			if int(s.Rows) != len(tc.rows) {
				t.Errorf("Rows = %d", s.Rows)
			}
		})
	}
	// Perplexity may overflow to +Inf; the mean stays finite.
	s := NewClassStats(1)
	s.Add(1, 1000, false, 0, 0, 0, 0, false)
	if got := s.Summary(); got.CrossEntropy != some(1000) || got.Perplexity != some(math.Inf(1)) {
		t.Errorf("ce 1000: %+v %+v", got.CrossEntropy, got.Perplexity)
	}
}

// refStderr is the SPEC formula evaluated with exact rationals in two passes:
// m = sum w l / sum w; V = sum w (l-m)^2; n_eff = W^2/Q;
// stderr = sqrt(V / (W (n_eff - 1))), the root taken at 300 bits.
func refStderr(ws, ls []float64) float64 {
	W, Q, S := new(big.Rat), new(big.Rat), new(big.Rat)
	for i := range ws {
		w, l := new(big.Rat).SetFloat64(ws[i]), new(big.Rat).SetFloat64(ls[i])
		W.Add(W, w)
		Q.Add(Q, new(big.Rat).Mul(w, w))
		S.Add(S, new(big.Rat).Mul(w, l))
	}
	m := new(big.Rat).Quo(S, W)
	V := new(big.Rat)
	for i := range ws {
		d := new(big.Rat).Sub(new(big.Rat).SetFloat64(ls[i]), m)
		V.Add(V, new(big.Rat).Mul(new(big.Rat).SetFloat64(ws[i]), new(big.Rat).Mul(d, d)))
	}
	nEff := new(big.Rat).Quo(new(big.Rat).Mul(W, W), Q)
	den := new(big.Rat).Mul(W, new(big.Rat).Sub(nEff, big.NewRat(1, 1)))
	v2 := new(big.Float).SetPrec(300).SetRat(new(big.Rat).Quo(V, den))
	return round64(new(big.Float).SetPrec(300).Sqrt(v2))
}

// refMean is sum w x / sum w, exact then rounded once.
func refMean(ws, xs []float64) float64 {
	W, S := new(big.Rat), new(big.Rat)
	for i := range ws {
		w := new(big.Rat).SetFloat64(ws[i])
		W.Add(W, w)
		S.Add(S, new(big.Rat).Mul(w, new(big.Rat).SetFloat64(xs[i])))
	}
	v, _ := new(big.Rat).Quo(S, W).Float64()
	return v
}

func TestClassStatsStderr(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	n := 1000
	unit := make([]float64, n)
	for i := range unit {
		unit[i] = 1
	}
	random := func(f func(i int) float64) []float64 {
		xs := make([]float64, n)
		for i := range xs {
			xs[i] = f(i)
		}
		return xs
	}
	tinyVar := random(func(i int) float64 { return 0.1 + float64(i)*1e-12 })
	tests := []struct {
		name   string
		ws, ls []float64
	}{
		{"unit weights", unit, random(func(int) float64 { return rng.ExpFloat64() })},
		{"random weights", random(func(int) float64 { return rng.Float64() * 3 }), random(func(int) float64 { return rng.ExpFloat64() * 2 })},
		{"integer weights", random(func(int) float64 { return float64(rng.IntN(5)) }), random(func(int) float64 { return rng.Float64() })},
		{"tiny variance unit", unit, tinyVar},
		{"tiny variance weighted", random(func(int) float64 { return 0.5 + rng.Float64() }), tinyVar},
		{"huge weights", random(func(int) float64 { return 1e150 * rng.Float64() }), random(func(int) float64 { return rng.Float64() })},
		{"tiny weights", random(func(int) float64 { return 1e-150 * (1 + rng.Float64()) }), random(func(int) float64 { return rng.Float64() })},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := NewClassStats(15)
			for i := range tc.ws {
				s.Add(tc.ws[i], tc.ls[i], false, 0, 0.5, 0, 0, false)
			}
			got := s.Summary()
			if want := refStderr(tc.ws, tc.ls); !got.Stderr.OK || got.Stderr.V != want {
				t.Errorf("stderr = %+v, want %v", got.Stderr, want)
			}
			if want := refMean(tc.ws, tc.ls); got.CrossEntropy.V != want {
				t.Errorf("cross_entropy = %v, want %v", got.CrossEntropy.V, want)
			}
		})
	}
	// The tiny-variance case is one where a one-pass float64 formula fails:
	// sqrt((sum l^2 - n m^2) / (n (n-1))) loses every digit to cancellation.
	var s1, s2 float64
	for _, l := range tinyVar {
		s1 += l
		s2 += l * l
	}
	m := s1 / float64(n)
	naive := math.Sqrt(math.Max(s2-float64(n)*m*m, 0) / float64(n*(n-1)))
	if want := refStderr(unit, tinyVar); math.Abs(naive-want) < 1e-3*want {
		t.Errorf("naive one-pass stderr %v is close to %v: the test case is too easy", naive, want)
	}
}

func TestClassStatsMergeOrder(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	rows := make([]statRow, 2000)
	for i := range rows {
		w := []float64{0, 1, 1, rng.Float64() * 4}[rng.IntN(4)]
		p := rng.Float64()
		rows[i] = statRow{w: w, loss: rng.ExpFloat64(), correct: rng.IntN(2) == 0, brier: p * p,
			confidence: p, outcome: float64(rng.IntN(2)), lbl: rng.Float64(), clipped: rng.IntN(9) == 0}
	}
	one := NewClassStats(10)
	addRows(one, rows)
	one.InvalidRows, one.IgnoredRows = 5, 7
	want := one.Summary()
	checkNoNaN(t, want)
	for trial := 0; trial < 20; trial++ {
		var parts []*ClassStats
		for lo := 0; lo < len(rows); {
			hi := min(len(rows), lo+1+rng.IntN(300))
			p := NewClassStats(10)
			addRows(p, rows[lo:hi])
			parts = append(parts, p)
			lo = hi
		}
		parts[0].InvalidRows, parts[len(parts)-1].IgnoredRows = 5, 7
		rng.Shuffle(len(parts), func(i, j int) { parts[i], parts[j] = parts[j], parts[i] })
		merged := NewClassStats(10)
		for _, p := range parts {
			merged.Merge(p)
		}
		if got := merged.Summary(); !reflect.DeepEqual(got, want) {
			t.Fatalf("trial %d: merged summary differs\n got %+v\nwant %+v", trial, got, want)
		}
		if merged.Rows != one.Rows || merged.ClippedRows != one.ClippedRows || merged.InvalidRows != 5 || merged.IgnoredRows != 7 {
			t.Fatalf("trial %d: counts differ", trial)
		}
	}
}

// TestClassStatsFromRows feeds real per-row results (binary and multiclass)
// and checks every mean against an exact rational reference.
func TestClassStatsFromRows(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	const n, bins = 500, 5
	ws, losses, corrects, briers, confs, outcomes, labels := make([]float64, n), make([]float64, n), make([]float64, n), make([]float64, n), make([]float64, n), make([]float64, n), make([]float64, n)
	s := NewClassStats(bins)
	for i := 0; i < n; i++ {
		w := rng.Float64() * 2
		p := rng.Float64()
		tgt := []float64{0, 1, rng.Float64()}[rng.IntN(3)]
		row, inv := Binary(Prob, p, tgt, eps64, 0.5)
		if inv != Valid {
			t.Fatal(inv)
		}
		brier := BinaryBrier(row.P, tgt)
		s.Add(w, row.Loss, row.Correct, brier, row.P, tgt, tgt, row.Clipped)
		ws[i], losses[i], briers[i], confs[i], outcomes[i], labels[i] = w, row.Loss, brier, row.P, tgt, tgt
		if row.Correct {
			corrects[i] = 1
		}
	}
	got := s.Summary()
	checks := []struct {
		name string
		got  Opt
		xs   []float64
	}{
		{"cross_entropy", got.CrossEntropy, losses},
		{"accuracy", got.Accuracy, corrects},
		{"brier", got.Brier, briers},
		{"mean_prediction", got.MeanPrediction, confs},
		{"label_rate", got.LabelRate, labels},
	}
	for _, c := range checks {
		if want := refMean(ws, c.xs); !c.got.OK || c.got.V != want {
			t.Errorf("%s = %+v, want %v", c.name, c.got, want)
		}
	}
	// ECE from the definition: sum_b (W_b/W) |mean outcome_b - mean conf_b|, exact.
	W := new(big.Rat)
	wb, cb, ob := make([]*big.Rat, bins), make([]*big.Rat, bins), make([]*big.Rat, bins)
	for b := range wb {
		wb[b], cb[b], ob[b] = new(big.Rat), new(big.Rat), new(big.Rat)
	}
	for i := 0; i < n; i++ {
		b := int(math.Min(math.Floor(confs[i]*bins), bins-1))
		w := new(big.Rat).SetFloat64(ws[i])
		W.Add(W, w)
		wb[b].Add(wb[b], w)
		cb[b].Add(cb[b], new(big.Rat).Mul(w, new(big.Rat).SetFloat64(confs[i])))
		ob[b].Add(ob[b], new(big.Rat).Mul(w, new(big.Rat).SetFloat64(outcomes[i])))
	}
	ece := new(big.Rat)
	for b := range wb {
		if wb[b].Sign() == 0 {
			continue
		}
		gap := new(big.Rat).Sub(new(big.Rat).Quo(ob[b], wb[b]), new(big.Rat).Quo(cb[b], wb[b]))
		ece.Add(ece, new(big.Rat).Mul(new(big.Rat).Quo(wb[b], W), gap.Abs(gap)))
	}
	if want, _ := ece.Float64(); !got.ECE.OK || got.ECE.V != want {
		t.Errorf("ece = %+v, want %v", got.ECE, want)
	}

	// Multiclass: outcome = correct, label unused.
	m := NewClassStats(bins)
	scratch := make([]float64, 4)
	var mws, mconf, mcorrect []float64
	for i := 0; i < 300; i++ {
		z := []float64{rng.NormFloat64(), rng.NormFloat64(), rng.NormFloat64(), rng.NormFloat64()}
		row, inv := Multiclass(Logit, z, rng.IntN(4), nil, 0, 0, scratch)
		if inv != Valid {
			t.Fatal(inv)
		}
		outcome := 0.0
		if row.Correct {
			outcome = 1
		}
		m.Add(1, row.Loss, row.Correct, row.Brier, row.Confidence, outcome, 0, row.Clipped)
		mws, mconf, mcorrect = append(mws, 1), append(mconf, row.Confidence), append(mcorrect, outcome)
	}
	ms := m.Summary()
	if want := refMean(mws, mcorrect); ms.Accuracy.V != want {
		t.Errorf("multiclass accuracy = %v, want %v", ms.Accuracy.V, want)
	}
	if want := refMean(mws, mconf); ms.MeanPrediction.V != want {
		t.Errorf("multiclass mean_prediction = %v, want %v", ms.MeanPrediction.V, want)
	}
	if ms.LabelRate != some(0) {
		t.Errorf("multiclass label_rate = %+v (label unused: 0)", ms.LabelRate)
	}
}

func TestAllocs(t *testing.T) {
	scratch := make([]float64, 100)
	z := make([]float64, 100)
	for i := range z {
		z[i] = float64(i%7) - 3
	}
	p := []float64{0.1, 0.8, 0.1}
	a := []float64{math.Log(0.1), math.Log(0.8), math.Log(0.1)}
	soft := []float64{0.2, 0.8, 0}
	s := NewClassStats(15)
	ml := NewClassStats(15)
	var reg RegStats
	var seq, piece, exactSeq SeqStats
	var tok TokenStats
	for i := 0; i < 4; i++ { // the Sums' windows and the bins reached, as in the steady state
		ml.AddLoss(0.3, 0.7, false)
		ml.AddPair(0.3, true, 0.1, 0.8, 1, 1)
		ml.AddPair(1, true, 0.1, 0.2, 1, 1)
		piece.AddToken(0.3, 0.7)
		piece.AddText(0.3, 12, 3)
		exactSeq.AddToken(1, 0.5) // sums that are float64 values exactly: Final and AddSequence take the fast path
		tok.AddSequence(&exactSeq)
	}
	var sink float64
	cases := map[string]func(){
		"Binary prob":       func() { r, _ := Binary(Prob, 0.3, 1, eps64, 0.5); sink += r.Loss },
		"Binary logit":      func() { r, _ := Binary(Logit, 0.3, 1, 0, 0.5); sink += r.Loss },
		"Binary logprob":    func() { r, _ := Binary(Logprob, -0.3, 0.2, 0, 0.5); sink += r.Loss },
		"Multiclass prob":   func() { r, _ := Multiclass(Prob, p, 1, nil, 0.1, eps64, scratch); sink += r.Loss },
		"Multiclass soft":   func() { r, _ := Multiclass(Prob, p, 0, soft, 0, eps64, scratch); sink += r.Loss },
		"Multiclass logit":  func() { r, _ := Multiclass(Logit, z, 3, nil, 0, 0, scratch); sink += r.Loss },
		"Multiclass lprob":  func() { r, _ := Multiclass(Logprob, a, 2, nil, 0, 0, scratch); sink += r.Loss },
		"ClassStats.Add w1": func() { s.Add(1, 0.7, true, 0.1, 0.8, 1, 1, false) },
		"ClassStats.Add w":  func() { s.Add(0.3, 0.7, true, 0.1, 0.8, 1, 1, true) },
		"ClassStats.Add w0": func() { s.Add(0, math.Inf(1), true, 0.1, 0.8, 1, 1, true) },
		"Sum.Add":           func() { s.Loss.Add(1.5) },
		"AddLoss w1":        func() { ml.AddLoss(1, 0.7, false) },
		"AddLoss w":         func() { ml.AddLoss(0.3, 0.7, true) },
		"AddPair w1":        func() { ml.AddPair(1, true, 0.1, 0.8, 1, 1) },
		"AddPair w":         func() { ml.AddPair(0.3, false, 0.1, 0.2, 0, 1) },
		"Add after AddPair": func() { ml.Add(0.3, 0.7, true, 0.1, 0.8, 1, 1, false) },
		"RegStats.Add w1":   func() { reg.Add(1, 2.5, 1) },
		"RegStats.Add w":    func() { reg.Add(0.3, 2.5, 1) },
		"RegressionOK":      func() { sink += float64(RegressionOK(1, 2)) },
		"TokenLogprob":      func() { a, _ := TokenLogprob(-0.3); sink += a },
		"TokenLogitNLL":     func() { l, _ := TokenLogitNLL(z, 3); sink += l },
		"AddToken w1":       func() { seq.AddToken(1, 0.7) },
		"AddToken w":        func() { seq.AddToken(0.3, 0.7) },
		"AddToken w0":       func() { seq.AddToken(0, math.Inf(1)) },
		"AddText":           func() { seq.AddText(0.3, 12, 3) },
		"SeqStats.Merge":    func() { seq.Merge(&piece) },
		"SeqStats.Final":    func() { _, ce, _ := exactSeq.Final(); sink += ce.V },
		"AddSequence":       func() { tok.AddSequence(&exactSeq) },
		"Sum.Float64":       func() { sink += s.Loss.Float64() },
	}
	for name, f := range cases {
		if n := testing.AllocsPerRun(100, f); n != 0 {
			t.Errorf("%s: %v allocations per call", name, n)
		}
	}
	_ = sink
}

// TestAddBinaryUnitsMatchesAdd: AddBinaryUnits of columns gives the same
// summary bits as Add of each row with weight 1: hard and soft targets,
// clipped rows, runs longer than AddSlice's 1024-value flush, statistics
// that already hold weighted rows or a materialised pair sum, and a loss of
// +Inf.
func TestAddBinaryUnitsMatchesAdd(t *testing.T) {
	rng := rand.New(rand.NewPCG(41, 42))
	for trial := range 60 {
		bins := 1 + rng.IntN(50) // on both sides of localBins
		byRow, byCols := NewClassStats(bins), NewClassStats(bins)
		switch trial % 3 {
		case 1: // earlier weighted rows
			for _, s := range []*ClassStats{byRow, byCols} {
				s.Add(0.5, 0.7, true, 0.09, 0.7, 1, 1, false)
			}
		case 2: // a materialised pair-weight sum
			for _, s := range []*ClassStats{byRow, byCols} {
				s.AddLoss(1, 0.2, false)
				s.AddPair(2, false, 0.25, 0.5, 0, 0)
			}
		}
		n := rng.IntN(3000)
		loss, brier, conf, tgt := make([]float64, n), make([]float64, n), make([]float64, n), make([]float64, n)
		var correct, clipped int64
		for i := range n {
			p := rng.Float64()
			if rng.IntN(50) == 0 {
				p = []float64{0, 1, 1e-300, 0.5}[rng.IntN(4)]
			}
			y := []float64{0, 1, rng.Float64()}[rng.IntN(3)]
			if trial%5 == 0 {
				y = float64(rng.IntN(2))
			}
			row, inv := Binary(Prob, p, y, eps64, 0.5)
			if inv != Valid {
				t.Fatal(inv)
			}
			if trial == 7 && i == n/2 {
				row.Loss = math.Inf(1)
			}
			loss[i], brier[i], conf[i], tgt[i] = row.Loss, BinaryBrier(row.P, y), row.P, y
			correct += b2i(row.Correct)
			clipped += b2i(row.Clipped)
			byRow.Add(1, row.Loss, row.Correct, brier[i], row.P, y, y, row.Clipped)
		}
		byCols.AddBinaryUnits(loss, brier, conf, tgt, correct, clipped)
		if byRow.Rows != byCols.Rows || byRow.ClippedRows != byCols.ClippedRows {
			t.Fatalf("trial %d: rows %d/%d clipped %d/%d", trial, byCols.Rows, byRow.Rows, byCols.ClippedRows, byRow.ClippedRows)
		}
		if got, want := summaryText(byCols.Summary()), summaryText(byRow.Summary()); got != want {
			t.Fatalf("trial %d (n %d): AddBinaryUnits summary %s\nAdd summary %s", trial, n, got, want)
		}
	}
}

// TestAddMulticlassUnitsMatchesAdd: AddMulticlassUnits of columns gives
// the same summary bits as Add row by row with outcome 1 for a correct row
// and label 0, for bins on both sides of localBins, after weighted rows
// and with a materialised pair-weight sum, including the label terms a
// multiclass row must not add.
func TestAddMulticlassUnitsMatchesAdd(t *testing.T) {
	rng := rand.New(rand.NewPCG(43, 44))
	for trial := range 60 {
		bins := 1 + rng.IntN(50)
		byRow, byCols := NewClassStats(bins), NewClassStats(bins)
		switch trial % 3 {
		case 1:
			for _, s := range []*ClassStats{byRow, byCols} {
				s.Add(0.5, 0.7, true, 0.09, 0.7, 1, 0, false)
			}
		case 2:
			for _, s := range []*ClassStats{byRow, byCols} {
				s.AddLoss(1, 0.2, false)
				s.AddPair(2, false, 0.25, 0.5, 0, 0)
			}
		}
		classes := 2 + rng.IntN(20)
		n := rng.IntN(3000)
		loss, brier, conf, outcome := make([]float64, n), make([]float64, n), make([]float64, n), make([]float64, n)
		z, scratch := make([]float64, classes), make([]float64, classes)
		var correct, clipped int64
		for i := range n {
			for k := range z {
				z[k] = rng.NormFloat64() * 4
			}
			row, inv := Multiclass(Logit, z, rng.IntN(classes), nil, 0, eps64, scratch)
			if inv != Valid {
				t.Fatal(inv)
			}
			o := float64(b2i(row.Correct))
			loss[i], brier[i], conf[i], outcome[i] = row.Loss, row.Brier, row.Confidence, o
			correct += b2i(row.Correct)
			clipped += b2i(row.Clipped)
			byRow.Add(1, row.Loss, row.Correct, row.Brier, row.Confidence, o, 0, row.Clipped)
		}
		byCols.AddMulticlassUnits(loss, brier, conf, outcome, correct, clipped)
		if byRow.Rows != byCols.Rows || byRow.ClippedRows != byCols.ClippedRows {
			t.Fatalf("trial %d: rows %d/%d clipped %d/%d", trial, byCols.Rows, byRow.Rows, byCols.ClippedRows, byRow.ClippedRows)
		}
		if got, want := summaryText(byCols.Summary()), summaryText(byRow.Summary()); got != want {
			t.Fatalf("trial %d (n %d): AddMulticlassUnits summary %s\nAdd summary %s", trial, n, got, want)
		}
	}
}

// TestCalibrationConfidenceSums checks the bins' confidence sums and their
// total (PredictionSum) against sums kept in big.Float, for confidences on
// both sides of the fixed-point range of addUnitConfidence ([2^-11, 2)):
// its edges, tiny and subnormal values, zeros, values above 1 (not a
// probability, but the API takes them), and long runs of 1 that
// carry out of the low word, added row by row, as columns, and merged.
func TestCalibrationConfidenceSums(t *testing.T) {
	for _, bins := range []int{7, localBins + 1} {
		calibrationConfidenceSums(t, bins)
	}
}

func calibrationConfidenceSums(t *testing.T, bins int) {
	lowEdge := math.Ldexp(1, -11)
	special := []float64{0, math.Copysign(0, -1), 1, lowEdge, math.Nextafter(lowEdge, 0), math.Nextafter(lowEdge, 1),
		math.Nextafter(1, 0), 5e-324, 1e-300, 0.5, math.Nextafter(0.5, 0), 1.0 / 3, 1.75, 3}
	rng := rand.New(rand.NewPCG(5, 6))
	for trial := range 40 {
		n := 1 + rng.IntN(5000)
		if trial < 2 {
			n = 300000 // runs of 1 below: the low word overflows every second term
		}
		conf := make([]float64, n)
		for i := range conf {
			switch {
			case trial < 2:
				conf[i] = []float64{1, math.Nextafter(1, 0)}[trial]
			case rng.IntN(4) == 0:
				conf[i] = special[rng.IntN(len(special))]
			case rng.IntN(3) == 0:
				conf[i] = math.Ldexp(rng.Float64(), -rng.IntN(60)) // often below 2^-11
			default:
				conf[i] = rng.Float64()
			}
		}
		want := make([]*big.Float, bins)
		for b := range want {
			want[b] = new(big.Float).SetPrec(2200)
		}
		total := new(big.Float).SetPrec(2200)
		for _, c := range conf {
			want[Bin(c, bins)].Add(want[Bin(c, bins)], new(big.Float).SetFloat64(c))
			total.Add(total, new(big.Float).SetFloat64(c))
		}
		// Three ways to the same statistics: row by row; as columns; and
		// in parts (row by row and as columns) merged.
		byRow, byCols, merged := NewClassStats(bins), NewClassStats(bins), NewClassStats(bins)
		zeros := make([]float64, n)
		var part [2]*ClassStats
		cut := rng.IntN(n + 1)
		for i, c := range conf {
			byRow.Add(1, 0, false, 0, c, 0, 0, false)
			if i < cut {
				if part[0] == nil {
					part[0] = NewClassStats(bins)
				}
				part[0].Add(1, 0, false, 0, c, 0, 0, false)
			}
		}
		byCols.AddBinaryUnits(zeros, zeros, conf, zeros, 0, 0)
		part[1] = NewClassStats(bins)
		part[1].AddBinaryUnits(zeros[cut:], zeros[cut:], conf[cut:], zeros[cut:], 0, 0)
		for _, p := range part {
			if p != nil {
				merged.Merge(p)
			}
		}
		for name, s := range map[string]*ClassStats{"Add": byRow, "AddBinaryUnits": byCols, "Merge": merged} {
			got := s.Summary()
			if w, _ := total.Float64(); got.PredictionSum != w {
				t.Errorf("%d bins, trial %d, %s: PredictionSum %v, want %v", bins, trial, name, got.PredictionSum, w)
			}
			for b := range bins {
				if w, _ := want[b].Float64(); got.CalConfidence[b] != w {
					t.Errorf("%d bins, trial %d, %s: bin %d confidence sum %v, want %v", bins, trial, name, b, got.CalConfidence[b], w)
				}
			}
		}
	}
}

// TestSummaryFastMeans: the means of a summary are the same bits with
// quotientPair (denom.mean's fast path) as from the big integers alone,
// for unit and other weights, multilabel pairs, groups of one row (means
// of 0 and 1), sums that are integers, tiny and huge values, and an
// infinite loss.
func TestSummaryFastMeans(t *testing.T) {
	rng := rand.New(rand.NewPCG(71, 72))
	for trial := range 400 {
		s := NewClassStats(1 + rng.IntN(15))
		rows := 1 + rng.IntN([]int{1, 10, 1000}[trial%3])
		for range rows {
			p := rng.Float64()
			if rng.IntN(20) == 0 {
				p = []float64{0, 1, 1e-300, 0.5, 1.0 / 3}[rng.IntN(5)]
			}
			y := float64(rng.IntN(2))
			if trial%4 == 1 {
				y = rng.Float64()
			}
			row, _ := Binary(Prob, p, y, eps64, 0.5)
			if trial == 9 {
				row.Loss = math.Inf(1)
			}
			w := 1.0
			switch trial % 5 {
			case 2:
				w = []float64{0.5, 3, 1e-3, 1e200, 0x1p-1000}[rng.IntN(5)]
			case 3:
				w = float64(rng.IntN(4)) // some 0, integers
			}
			if trial%7 == 4 {
				s.AddLoss(w, row.Loss, row.Clipped)
				s.AddPair(w, row.Correct, BinaryBrier(row.P, y), row.P, y, y)
				s.AddPair(1, !row.Correct, BinaryBrier(1-row.P, 1-y), 1-row.P, 1-y, 1-y)
				continue
			}
			s.Add(w, row.Loss, row.Correct, BinaryBrier(row.P, y), row.P, y, y, row.Clipped)
		}
		fast := s.summary(true)
		slow := s.summary(false)
		if summaryText(fast) != summaryText(slow) {
			t.Fatalf("trial %d: with quotientPair %+v\nwith big integers %+v", trial, fast, slow)
		}
	}
}
