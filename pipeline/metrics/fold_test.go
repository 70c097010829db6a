package metrics

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// The unit counters of ClassStats and SeqStats (terms exactly 1 counted as
// integers, folded into the Sums when summarised) are a fast path: these
// tests compare them with the plain accumulation, every term added to a Sum,
// bit for bit.

// refClassStats is ClassStats without unit counters: the reference.
type refClassStats struct {
	rows, clipped                                               int64
	weight, weightSq, loss, lossSq, correct, brier, pred, label Sum
	pair                                                        *Sum
	cal                                                         [][3]Sum
}

func newRefClassStats(bins int) *refClassStats { return &refClassStats{cal: make([][3]Sum, bins)} }

func (r *refClassStats) addLoss(w, loss float64, clipped bool) {
	r.rows++
	if clipped {
		r.clipped++
	}
	if w == 0 {
		return
	}
	r.weight.Add(w)
	r.weightSq.AddProduct(w, w)
	r.loss.AddProduct(w, loss)
	addWeightedSquare(&r.lossSq, w, loss)
}

func (r *refClassStats) addPair(w float64, correct bool, brier, confidence, outcome, label float64) {
	if w == 0 {
		return
	}
	if r.pair != nil {
		r.pair.Add(w)
	}
	if correct {
		r.correct.Add(w)
	}
	r.brier.AddProduct(w, brier)
	r.pred.AddProduct(w, confidence)
	r.label.AddProduct(w, label)
	c := &r.cal[Bin(confidence, len(r.cal))]
	c[0].Add(w)
	c[1].AddProduct(w, confidence)
	c[2].AddProduct(w, outcome)
}

// split materialises the pair weight as a copy of the row weight.
func (r *refClassStats) split() {
	if r.pair == nil {
		r.pair = new(Sum)
		r.pair.Merge(&r.weight)
	}
}

// summaryText formats what a ClassSummary holds, floats by their bits.
func summaryText(s ClassSummary) string {
	return fmt.Sprintf("%x", fmt.Sprintf("%#v", s))
}

// refSummary is the ClassSummary the reference's sums make, computed by a
// ClassStats loaded with exactly these Sums (no unit counters).
func (r *refClassStats) summary() ClassSummary {
	s := NewClassStats(len(r.cal))
	s.Rows, s.ClippedRows = r.rows, r.clipped
	for _, p := range [][2]*Sum{{&s.Weight, &r.weight}, {&s.WeightSq, &r.weightSq}, {&s.Loss, &r.loss},
		{&s.LossSq, &r.lossSq}, {&s.Correct, &r.correct}, {&s.Brier, &r.brier}, {&s.Label, &r.label}} {
		p[0].Merge(p[1])
	}
	if r.pair != nil {
		s.pair = new(Sum)
		s.pair.Merge(r.pair)
	}
	for b := range r.cal {
		c := s.bin(b)
		c.weight.Merge(&r.cal[b][0])
		c.confidence.Merge(&r.cal[b][1])
		c.outcome.Merge(&r.cal[b][2])
	}
	// ClassStats takes the sum of w·confidence from its bins; the reference
	// keeps its own, which must be the same number.
	if p := s.prediction(); r.pred.IsFinite() != p.IsFinite() || (p.IsFinite() && r.pred.Big(0).Cmp(p.Big(0)) != 0) {
		panic(fmt.Sprintf("reference prediction sum %v, its bins' %v", r.pred.Float64(), p.Float64()))
	}
	return s.Summary()
}

// TestUnitCountersMatchPlainSums drives ClassStats (split into partials,
// merged in a random order, some summarised half way) and the reference with
// the same random rows: weights 0, 1 and others, hard and soft labels, Add
// mixed with AddLoss and AddPair. Every summary must be identical bits.
func TestUnitCountersMatchPlainSums(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 1))
	for trial := range 300 {
		const bins = 7
		ref := newRefClassStats(bins)
		parts := make([]*ClassStats, 1+rng.IntN(4))
		for i := range parts {
			parts[i] = NewClassStats(bins)
		}
		multilabel := trial%3 == 0
		n := rng.IntN(200)
		for range n {
			st := parts[rng.IntN(len(parts))]
			w := 1.0
			switch rng.IntN(6) {
			case 0:
				w = 0
			case 1:
				w = rng.Float64() * 3
			case 2:
				w = 2
			}
			y := float64(rng.IntN(2))
			if rng.IntN(5) == 0 {
				y = rng.Float64()
			}
			p := rng.Float64()
			row, inv := Binary(Prob, p, y, eps64, 0.5)
			if inv != Valid {
				t.Fatal(inv)
			}
			if multilabel && rng.IntN(2) == 0 {
				ref.split()
				ref.addLoss(w, row.Loss, row.Clipped)
				st.AddLoss(w, row.Loss, row.Clipped)
				for range rng.IntN(3) {
					q := rng.Float64()
					pr, _ := Binary(Prob, q, y, eps64, 0.5)
					ref.addPair(w, pr.Correct, BinaryBrier(pr.P, y), pr.P, y, y)
					st.AddPair(w, pr.Correct, BinaryBrier(pr.P, y), pr.P, y, y)
				}
				continue
			}
			outcome, brier := y, BinaryBrier(row.P, y)
			if trial%2 == 1 { // multiclass-like: outcome is correctness, label unused
				outcome = 0
				if row.Correct {
					outcome = 1
				}
				y = 0
			}
			ref.addLoss(w, row.Loss, row.Clipped)
			ref.addPair(w, row.Correct, brier, row.P, outcome, y)
			st.Add(w, row.Loss, row.Correct, brier, row.P, outcome, y, row.Clipped)
			if rng.IntN(50) == 0 {
				st.Summary() // folds the counters half way
			}
		}
		total := NewClassStats(bins)
		for _, i := range rng.Perm(len(parts)) {
			total.Merge(parts[i])
		}
		if got, want := summaryText(total.Summary()), summaryText(ref.summary()); got != want {
			t.Fatalf("trial %d (%d rows): summaries differ\ngot  %+v\nwant %+v", trial, n, total.Summary(), ref.summary())
		}
	}
}

// TestSeqUnitCountMatchesPlainSum: a sequence's tokens of weight 1 are
// counted, not added; Final, AddSequence and the group summary must be the
// same bits as with every weight added to the Sum.
func TestSeqUnitCountMatchesPlainSum(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 2))
	for trial := range 200 {
		var got, want TokenStats
		for range 1 + rng.IntN(5) {
			pieces := make([]SeqStats, 1+rng.IntN(3))
			var ref SeqStats // the plain accumulation, built by hand
			for range rng.IntN(100) {
				w := 1.0
				switch rng.IntN(4) {
				case 0:
					w = 0
				case 1:
					w = rng.Float64() * 2
				}
				nll := -math.Log(rng.Float64())
				pieces[rng.IntN(len(pieces))].AddToken(w, nll)
				ref.Tokens++
				if w != 0 {
					ref.rareSums().Weight.Add(w)
					ref.NLL.AddProduct(w, nll)
				}
			}
			var seq SeqStats
			for i := range pieces {
				seq.Merge(&pieces[i])
			}
			gt, gce, gppl := seq.Final()
			wt, wce, wppl := ref.Final()
			if gt != wt || gce != wce || gppl != wppl {
				t.Fatalf("trial %d: Final (%d %v %v), want (%d %v %v)", trial, gt, gce, gppl, wt, wce, wppl)
			}
			got.AddSequence(&seq)
			want.AddSequence(&ref)
		}
		if g, w := fmt.Sprintf("%#v", got.Summary()), fmt.Sprintf("%#v", want.Summary()); g != w {
			t.Fatalf("trial %d: summaries differ\ngot  %s\nwant %s", trial, g, w)
		}
	}
}

// TestAddUnitLogprobs: AddUnitLogprobs is AddToken(1, -a) per value.
func TestAddUnitLogprobs(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 3))
	for trial := range 100 {
		lps := make([]float64, rng.IntN(50))
		for i := range lps {
			lps[i] = -rng.ExpFloat64() * 3
			if rng.IntN(40) == 0 {
				lps[i] = math.Inf(-1)
			}
		}
		var got, want SeqStats
		got.AddToken(0.5, 1) // other tokens before
		want.AddToken(0.5, 1)
		got.AddUnitLogprobs(lps)
		for _, a := range lps {
			want.AddToken(1, -a)
		}
		gt, gce, gppl := got.Final()
		wt, wce, wppl := want.Final()
		if gt != wt || gce != wce || gppl != wppl || got.NLL.Float64() != want.NLL.Float64() {
			t.Fatalf("trial %d: (%d %v %v), want (%d %v %v)", trial, gt, gce, gppl, wt, wce, wppl)
		}
	}
}
