package metrics

import (
	"math"
	"math/rand/v2"
	"reflect"
	"testing"
)

// pairRow is one argument list of ClassStats.AddPair.
type pairRow struct {
	correct                         bool
	brier, confidence, outcome, lbl float64
}

func TestMultilabelHandExample(t *testing.T) {
	// Two rows of three labels, threshold 0.5, two calibration bins.
	//   row 1: w = 2,   y = (1, 0, 1), p = (0.75, 0.25, 0.5),  loss 0.5
	//   row 2: w = 0.5, y = (0, 0, 1), p = (0.5, 0.125, 0.875), loss 2 (clipped)
	// (the row losses stand for the means of the three binary losses; they are
	// chosen exactly representable), plus a zero-weight row with an infinite loss.
	// Over rows: W = 2.5, sum w^2 = 4.25, loss_sum = 1 + 1 = 2,
	//   cross_entropy = 2 / 2.5 = 0.8, loss_sq_sum = 2·0.25 + 0.5·4 = 2.5;
	//   stderr^2 = (S2·W - S1^2)·Q / (W^2 (W^2 - Q)) = (6.25 - 4)·4.25 / (6.25·2) = 0.765.
	// Over pairs (pair weight 3·2 + 3·0.5 = 7.5):
	//   correct (p >= 0.5) == (y >= 0.5): row 1 all three; row 2 (0.5, 0) wrong:
	//     correct sum 6 + 1 = 7, accuracy 7/7.5 = 14/15
	//   brier (p-y)^2: row 1 0.0625 + 0.0625 + 0.25 = 0.375; row 2 0.25 + 0.015625 +
	//     0.015625 = 0.28125; sum 0.75 + 0.140625 = 0.890625, brier 0.11875
	//   prediction sum 2·1.5 + 0.5·1.5 = 3.75, mean 0.5
	//   label sum 2·2 + 0.5·1 = 4.5, label_rate 0.6
	//   bins: 0.25 (w 2), 0.125 (w 0.5) -> bin 0: W 2.5, confidence 0.5 + 0.0625 =
	//     0.5625, outcome 0; 0.75, 0.5 (w 2), 0.5, 0.875 (w 0.5) -> bin 1: W 5,
	//     confidence 1.5 + 1 + 0.25 + 0.4375 = 3.1875, outcome 2 + 2 + 0 + 0.5 = 4.5
	//   ece = (|0 - 0.5625| + |4.5 - 3.1875|) / 7.5 = 1.875 / 7.5 = 0.25
	type row struct {
		w, loss float64
		clipped bool
		pairs   []pairRow
	}
	rows := []row{
		{2, 0.5, false, []pairRow{{true, 0.0625, 0.75, 1, 1}, {true, 0.0625, 0.25, 0, 0}, {true, 0.25, 0.5, 1, 1}}},
		{0.5, 2, true, []pairRow{{false, 0.25, 0.5, 0, 0}, {true, 0.015625, 0.125, 0, 0}, {true, 0.015625, 0.875, 1, 1}}},
		{0, math.Inf(1), true, []pairRow{{false, 1, 0.9, 0, 0}, {true, 0, 0, 0, 0}, {false, 1, 1, 0, 1}}},
	}
	s := NewClassStats(2)
	for _, r := range rows {
		s.AddLoss(r.w, r.loss, r.clipped)
		for _, p := range r.pairs {
			s.AddPair(r.w, p.correct, p.brier, p.confidence, p.outcome, p.lbl)
		}
	}
	got := s.Summary()
	checkNoNaN(t, got)
	want := ClassSummary{
		WeightSum:      2.5,
		CrossEntropy:   some(0.8),
		Perplexity:     some(math.Exp(0.8)),
		Stderr:         some(math.Sqrt(0.765)), // a correctly rounded sqrt of the double nearest 0.765
		Accuracy:       some(14.0 / 15),
		Brier:          some(0.11875),
		ECE:            some(0.25),
		MeanPrediction: some(0.5),
		LabelRate:      some(0.6),
		LossSum:        2,
		LossSqSum:      2.5,
		WeightSqSum:    4.25,
		CorrectSum:     7,
		BrierSum:       0.890625,
		PredictionSum:  3.75,
		LabelSum:       4.5,
		CalWeight:      []float64{2.5, 5},
		CalConfidence:  []float64{0.5625, 3.1875},
		CalOutcome:     []float64{0, 4.5},
	}
	// sqrt(0.765) = 0.87464278422679...; the two-pass exact reference agrees.
	if ref := refStderr([]float64{2, 0.5}, []float64{0.5, 2}); ref != want.Stderr.V {
		t.Errorf("stderr: reference %v, math.Sqrt(0.765) %v", ref, want.Stderr.V)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("summary\n got %+v\nwant %+v", got, want)
	}
	if s.Rows != 3 || s.ClippedRows != 2 {
		t.Errorf("Rows, ClippedRows = %d, %d; want 3, 2", s.Rows, s.ClippedRows)
	}

	// Split in two groups (row by row) and merged either way round, and merged
	// into statistics built with Add, the sums are the same.
	a, b := NewClassStats(2), NewClassStats(2)
	for i, r := range rows {
		part := a
		if i == 1 {
			part = b
		}
		part.AddLoss(r.w, r.loss, r.clipped)
		for _, p := range r.pairs {
			part.AddPair(r.w, p.correct, p.brier, p.confidence, p.outcome, p.lbl)
		}
	}
	for _, order := range [][2]*ClassStats{{a, b}, {b, a}} {
		m := NewClassStats(2)
		m.Merge(order[0])
		m.Merge(order[1])
		if g := m.Summary(); !reflect.DeepEqual(g, got) {
			t.Errorf("merged summary\n got %+v\nwant %+v", g, got)
		}
	}
}

// A multilabel group with rows but no pairs (or pairs but no row weight)
// has null companions (or null cross-entropy), never NaN.
func TestMultilabelNullRules(t *testing.T) {
	s := NewClassStats(3)
	s.AddLoss(1, 0.5, false)
	s.AddLoss(1, 1.5, false)
	got := s.Summary()
	checkNoNaN(t, got)
	if got.CrossEntropy != some(1) || got.Stderr != some(0.5) {
		t.Errorf("cross_entropy, stderr = %+v, %+v", got.CrossEntropy, got.Stderr)
	}
	for i, o := range []Opt{got.Accuracy, got.Brier, got.ECE, got.MeanPrediction, got.LabelRate} {
		if o.OK {
			t.Errorf("companion %d = %+v without pairs, want null", i, o)
		}
	}
	p := NewClassStats(3)
	p.AddPair(1, true, 0.25, 0.5, 1, 1)
	got = p.Summary()
	checkNoNaN(t, got)
	if got.CrossEntropy.OK || got.Stderr.OK || got.Accuracy != some(1) || got.Brier != some(0.25) || got.LabelRate != some(1) {
		t.Errorf("pairs only: %+v", got)
	}
	// Zero-weight calls add nothing and keep the fast layout.
	z := NewClassStats(3)
	z.AddLoss(0, math.Inf(1), true)
	z.AddPair(0, true, 1, 1, 1, 1)
	if z.pair != nil || z.Rows != 1 || z.ClippedRows != 1 {
		t.Errorf("zero weights: pair %v, rows %d, clipped %d", z.pair, z.Rows, z.ClippedRows)
	}
	if got := z.Summary(); got.CrossEntropy.OK || got.Accuracy.OK {
		t.Errorf("zero weights: %+v", got)
	}
}

// randomStatRows returns rows for ClassStats.Add: weights 0, 1 or random,
// random losses, companions and clip flags.
func randomStatRows(rng *rand.Rand, n int) []statRow {
	rows := make([]statRow, n)
	for i := range rows {
		w := []float64{0, 1, 1, rng.Float64() * 4, 0.5}[rng.IntN(5)]
		p := rng.Float64()
		rows[i] = statRow{w: w, loss: rng.ExpFloat64(), correct: rng.IntN(2) == 0, brier: p * p,
			confidence: p, outcome: float64(rng.IntN(2)), lbl: rng.Float64(), clipped: rng.IntN(9) == 0}
	}
	return rows
}

// addRowMode adds r with Add (mode 0) or AddLoss + AddPair (mode 1), or
// AddPair before AddLoss (mode 2).
func addRowMode(s *ClassStats, r statRow, mode int) {
	switch mode {
	case 0:
		s.Add(r.w, r.loss, r.correct, r.brier, r.confidence, r.outcome, r.lbl, r.clipped)
	case 1:
		s.AddLoss(r.w, r.loss, r.clipped)
		s.AddPair(r.w, r.correct, r.brier, r.confidence, r.outcome, r.lbl)
	default:
		s.AddPair(r.w, r.correct, r.brier, r.confidence, r.outcome, r.lbl)
		s.AddLoss(r.w, r.loss, r.clipped)
	}
}

// TestAddIsAddLossAddPair: with one pair per row, Add and AddLoss + AddPair
// give bit-identical summaries and counts, whichever way each row is added
// and however parts built either way are merged.
func TestAddIsAddLossAddPair(t *testing.T) {
	rng := rand.New(rand.NewPCG(51, 52))
	rows := randomStatRows(rng, 3000)
	ref := NewClassStats(10)
	for _, r := range rows {
		addRowMode(ref, r, 0)
	}
	ref.InvalidRows, ref.IgnoredRows = 3, 4
	want := ref.Summary()
	checkNoNaN(t, want)
	if ref.pair != nil {
		t.Fatal("Add materialised the pair-weight sum")
	}
	check := func(name string, s *ClassStats) {
		t.Helper()
		if got := s.Summary(); !reflect.DeepEqual(got, want) {
			t.Fatalf("%s: summary differs\n got %+v\nwant %+v", name, got, want)
		}
		if s.Rows != ref.Rows || s.ClippedRows != ref.ClippedRows || s.InvalidRows != 3 || s.IgnoredRows != 4 {
			t.Fatalf("%s: counts %d %d %d %d", name, s.Rows, s.ClippedRows, s.InvalidRows, s.IgnoredRows)
		}
	}
	for _, mode := range []int{1, 2} {
		s := NewClassStats(10)
		for _, r := range rows {
			addRowMode(s, r, mode)
		}
		s.InvalidRows, s.IgnoredRows = 3, 4
		check("split", s)
	}
	mixed := NewClassStats(10)
	for _, r := range rows {
		addRowMode(mixed, r, rng.IntN(3))
	}
	mixed.InvalidRows, mixed.IgnoredRows = 3, 4
	check("mixed per row", mixed)
	for trial := 0; trial < 30; trial++ {
		var parts []*ClassStats
		for lo := 0; lo < len(rows); {
			hi := min(len(rows), lo+1+rng.IntN(400))
			p := NewClassStats(10)
			mode := rng.IntN(4) // 3: a different mode per row
			for _, r := range rows[lo:hi] {
				m := mode
				if m == 3 {
					m = rng.IntN(3)
				}
				addRowMode(p, r, m)
			}
			parts = append(parts, p)
			lo = hi
		}
		parts[0].InvalidRows, parts[len(parts)-1].IgnoredRows = 3, 4
		rng.Shuffle(len(parts), func(i, j int) { parts[i], parts[j] = parts[j], parts[i] })
		merged := NewClassStats(10)
		if rng.IntN(2) == 0 {
			merged = parts[0]
			parts = parts[1:]
		}
		for _, p := range parts {
			merged.Merge(p)
		}
		check("merged parts", merged)
	}
}

// TestMultilabelRandom checks multilabel means against exact references:
// companions over pairs, cross-entropy and stderr over rows, with merges of
// parts in any order giving the same bits.
func TestMultilabelRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(53, 54))
	const n, labels, bins = 400, 4, 5
	type mlRow struct {
		w, loss float64
		pairs   [labels]pairRow
	}
	rows := make([]mlRow, n)
	var rowW, rowL, pairW, corrects, briers, confs, lbls []float64
	for i := range rows {
		r := &rows[i]
		r.w = []float64{0, 1, rng.Float64() * 3}[rng.IntN(3)]
		for k := range r.pairs {
			p := rng.Float64()
			y := float64(rng.IntN(2))
			row, inv := Binary(Prob, p, y, eps64, 0.5)
			if inv != Valid {
				t.Fatal(inv)
			}
			r.loss += row.Loss
			r.pairs[k] = pairRow{row.Correct, BinaryBrier(row.P, y), row.P, y, y}
			c := 0.0
			if row.Correct {
				c = 1
			}
			pairW, corrects, briers, confs, lbls = append(pairW, r.w), append(corrects, c), append(briers, BinaryBrier(row.P, y)), append(confs, row.P), append(lbls, y)
		}
		r.loss /= labels
		rowW, rowL = append(rowW, r.w), append(rowL, r.loss)
	}
	build := func(rs []mlRow) *ClassStats {
		s := NewClassStats(bins)
		for _, r := range rs {
			s.AddLoss(r.w, r.loss, false)
			for _, p := range r.pairs {
				s.AddPair(r.w, p.correct, p.brier, p.confidence, p.outcome, p.lbl)
			}
		}
		return s
	}
	got := build(rows).Summary()
	checkNoNaN(t, got)
	checks := []struct {
		name   string
		got    Opt
		ws, xs []float64
	}{
		{"cross_entropy", got.CrossEntropy, rowW, rowL},
		{"accuracy", got.Accuracy, pairW, corrects},
		{"brier", got.Brier, pairW, briers},
		{"mean_prediction", got.MeanPrediction, pairW, confs},
		{"label_rate", got.LabelRate, pairW, lbls},
	}
	for _, c := range checks {
		if want := refMean(c.ws, c.xs); !c.got.OK || c.got.V != want {
			t.Errorf("%s = %+v, want %v", c.name, c.got, want)
		}
	}
	if want := refStderr(rowW, rowL); got.Stderr != some(want) {
		t.Errorf("stderr = %+v, want %v", got.Stderr, want)
	}
	for trial := 0; trial < 10; trial++ {
		cut := rng.IntN(n)
		a, b := build(rows[:cut]), build(rows[cut:])
		// Merged into statistics that had only Add (no pair-weight sum yet).
		c := NewClassStats(bins)
		c.Add(0, 0, false, 0, 0, 0, 0, false)
		c.Merge(b)
		c.Merge(a)
		c.Rows--
		if g := c.Summary(); !reflect.DeepEqual(g, got) {
			t.Fatalf("trial %d: merged summary differs", trial)
		}
	}
}
