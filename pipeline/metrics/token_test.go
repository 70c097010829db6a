package metrics

import (
	"math"
	"math/big"
	"math/rand/v2"
	"slices"
	"testing"
)

// refTokenRat is the exact value of float64 x as a rational.
func refTokenRat(x float64) *big.Rat { return new(big.Rat).SetFloat64(x) }

// refQuoLn2 is num / (den · ln 2) at 256 bits, rounded once.
func refQuoLn2(num, den *big.Rat) float64 {
	q := new(big.Float).SetPrec(refPrec).SetRat(new(big.Rat).Quo(num, den))
	return round64(quo(q, refLn2))
}

// seqOf returns a sequence of unit-weight tokens with these probabilities
// (logprob = math.Log(p), checked by TokenLogprob), and the exact nll sum.
func seqOf(t *testing.T, ps ...float64) (*SeqStats, *big.Rat) {
	t.Helper()
	s := new(SeqStats)
	nll := new(big.Rat)
	for _, p := range ps {
		a, inv := TokenLogprob(math.Log(p))
		if inv != Valid {
			t.Fatal(inv)
		}
		s.AddToken(1, -a)
		nll.Add(nll, refTokenRat(-a))
	}
	return s, nll
}

func TestTokenLogprob(t *testing.T) {
	inf := math.Inf(1)
	tests := []struct {
		a, want float64
		inv     Invalid
	}{
		{-3, -3, Valid},
		{0, 0, Valid},
		{-inf, -inf, Valid}, // an infinite loss, valid
		{1e-6, 0, Valid},    // (0, 1e-6] counts as 0
		{5e-7, 0, Valid},
		{math.SmallestNonzeroFloat64, 0, Valid},
		{math.Nextafter(1e-6, 1), 0, LogprobRange},
		{0.5, 0, LogprobRange},
		{inf, 0, LogprobRange},
		{math.NaN(), 0, NaNValue},
	}
	for _, tc := range tests {
		got, inv := TokenLogprob(tc.a)
		if inv != tc.inv || got != tc.want {
			t.Errorf("TokenLogprob(%v) = %v, %v; want %v, %v", tc.a, got, inv, tc.want, tc.inv)
		}
	}
}

// randLogprob is a log-probability, often one of the edge cases of
// TokenLogprob (zeros, the slack and past it, infinities, NaN).
func randLogprob(rng *rand.Rand) float64 {
	if rng.IntN(8) == 0 {
		return []float64{0, math.Copysign(0, -1), 1e-6, 5e-7, math.SmallestNonzeroFloat64,
			-math.SmallestNonzeroFloat64, math.Nextafter(1e-6, 1), 0.5, math.Inf(1),
			math.Inf(-1), math.NaN(), -math.MaxFloat64}[rng.IntN(12)]
	}
	return -rng.ExpFloat64() * []float64{1, 1e-300, 1e300, 1e-10}[rng.IntN(4)]
}

// TestTokenLogprobs: the slice form gives TokenLogprob's values when every
// value is valid, and false when one is not.
func TestTokenLogprobs(t *testing.T) {
	rng := rand.New(rand.NewPCG(31, 32))
	for trial := range 20000 {
		n := rng.IntN(40)
		xs := make([]float64, n)
		valid := trial%2 == 0 // half the trials: valid values only
		for i := range xs {
			for {
				xs[i] = randLogprob(rng)
				if _, inv := TokenLogprob(xs[i]); inv == Valid || !valid {
					break
				}
			}
		}
		want := make([]float64, n)
		wantOK := true
		for i, a := range xs {
			var inv Invalid
			if want[i], inv = TokenLogprob(a); inv != Valid {
				wantOK = false
			}
		}
		got := slices.Clone(xs)
		if ok := TokenLogprobs(got); ok != wantOK {
			t.Fatalf("TokenLogprobs(%v) = %v, want %v", xs, ok, wantOK)
		}
		if !wantOK {
			continue
		}
		for i := range got {
			if math.Float64bits(got[i]) != math.Float64bits(want[i]) {
				t.Fatalf("TokenLogprobs(%v)[%d] = %v, want %v", xs, i, got[i], want[i])
			}
		}
	}
}

func TestTokenWorkedExamples(t *testing.T) {
	// One token each, unit weight: nll = -ln P, correctly rounded.
	//   P = 0.9:    -ln 0.9    = 0.105360515657826301227...
	//   P = 0.0001: -ln 0.0001 = 9.210340371976182736071...
	for _, tc := range []struct{ p, want float64 }{{0.9, 0.10536051565782628}, {0.0001, 9.210340371976182}} {
		if ref := -round64(refLn(bf(tc.p))); ref != tc.want {
			t.Errorf("reference -ln %v = %v, want %v", tc.p, ref, tc.want)
		}
		s, _ := seqOf(t, tc.p)
		n, ce, ppl := s.Final()
		if n != 1 || ce != some(tc.want) || ppl != some(math.Exp(tc.want)) {
			t.Errorf("P = %v: tokens %d, cross_entropy %+v, perplexity %+v; want %v", tc.p, n, ce, ppl, tc.want)
		}
		var g TokenStats
		g.AddSequence(s)
		if got := g.Summary(); got.CrossEntropy != some(tc.want) || got.NLLSum != tc.want || got.Stderr.OK {
			t.Errorf("P = %v: group %+v", tc.p, got)
		}
	}
}

func TestTokenSentence(t *testing.T) {
	// "The cat sat on the mat": six tokens with probabilities
	// 0.2, 0.5, 0.1, 0.4, 0.6, 0.3; 22 UTF-8 bytes, 6 words.
	//   nll = -ln(0.2·0.5·0.1·0.4·0.6·0.3) = -ln 0.00072 = 7.236259345954173109...
	//   cross_entropy = nll/6 = 1.206043224325695518...
	//   perplexity = 0.00072^(-1/6) = 3.340241882664012307...
	//   bits_per_token = 1.206043224325695518 / ln 2 = 1.739952578832416562...
	//   bits_per_byte = 7.236259345954173109 / (ln 2 · 22) = 0.474532521499749971...
	//   word_perplexity = exp(nll/6) = the perplexity (6 words, 6 tokens)
	s, nll := seqOf(t, 0.2, 0.5, 0.1, 0.4, 0.6, 0.3)
	s.AddText(1, 22, 6)
	wantCE, _ := new(big.Rat).Quo(nll, big.NewRat(6, 1)).Float64() // the six float64 nlls, summed exactly
	n, ce, ppl := s.Final()
	if n != 6 || ce != some(wantCE) || ppl != some(math.Exp(wantCE)) {
		t.Errorf("Final = %d, %+v, %+v; want 6, %v, exp of it", n, ce, ppl, wantCE)
	}
	// Against the hand values (the inputs are rounded logprobs: a few ulps).
	for _, c := range []struct {
		name      string
		got, want float64
	}{
		{"cross_entropy", ce.V, 1.206043224325695518},
		{"perplexity", ppl.V, 3.340241882664012307},
	} {
		if !closeTo(c.got, c.want, 1e-15) {
			t.Errorf("%s = %v, hand value %v", c.name, c.got, c.want)
		}
	}
	var g TokenStats
	g.AddSequence(s)
	got := g.Summary()
	checkNoNaN(t, got)
	wantBPT := refQuoLn2(nll, big.NewRat(6, 1))
	wantBPB := refQuoLn2(nll, big.NewRat(22, 1))
	nllF, _ := nll.Float64()
	if got.CrossEntropy != some(wantCE) || got.Perplexity != some(math.Exp(wantCE)) || got.BitsPerToken != some(wantBPT) ||
		got.BitsPerByte != some(wantBPB) || got.WordPerplexity != some(math.Exp(wantCE)) || got.NLLSum != nllF ||
		got.LossSum != nllF || got.BytesSum != 22 || got.WordsSum != 6 || got.WeightSum != 6 ||
		got.SeqPerplexityMean != some(math.Exp(wantCE)) || got.Stderr.OK {
		t.Errorf("summary %+v", got)
	}
	if !closeTo(got.BitsPerByte.V, 0.474532521499749971, 1e-15) || !closeTo(got.BitsPerToken.V, 1.739952578832416562, 1e-15) {
		t.Errorf("bits_per_byte %v, bits_per_token %v: hand values 0.4745325214997500, 1.7399525788324166", got.BitsPerByte.V, got.BitsPerToken.V)
	}
	if g.Sequences != 1 || g.Tokens != 6 {
		t.Errorf("sequences %d, tokens %d", g.Sequences, g.Tokens)
	}
	// Counted in words of 4 (say the tokenizer split differently): the word
	// perplexity is exp(nll/4), the token metrics do not change.
	s.AddText(1, 0, -2)
	g = TokenStats{}
	g.AddSequence(s)
	wantWPL, _ := new(big.Rat).Quo(nll, big.NewRat(4, 1)).Float64()
	if got := g.Summary(); got.WordPerplexity != some(math.Exp(wantWPL)) || got.CrossEntropy != some(wantCE) {
		t.Errorf("4 words: word_perplexity %+v, want exp(%v)", got.WordPerplexity, wantWPL)
	}
}

func TestSeqPerplexityMean(t *testing.T) {
	// Two sequences of different lengths:
	//   A: two tokens, P = 0.5 each: cross_entropy ln 2, perplexity 2
	//   B: the six tokens of TestTokenSentence: cross_entropy 1.2060432243...,
	//      perplexity 3.3402418826640123...
	// seq_perplexity_mean = (2 + 3.34024188266) / 2 = 2.670120941332006...
	// token-weighted: cross_entropy = (2 ln 2 + 7.236259345954173) / 8
	//   = 1.077819213384257966..., perplexity 2.938264830423647303...
	// The sequence mean gives the short sequence as much say as the long one.
	a, nllA := seqOf(t, 0.5, 0.5)
	b, nllB := seqOf(t, 0.2, 0.5, 0.1, 0.4, 0.6, 0.3)
	var g TokenStats
	g.AddSequence(a)
	g.AddSequence(b)
	got := g.Summary()
	checkNoNaN(t, got)
	_, ceA, _ := a.Final()
	_, ceB, _ := b.Final()
	if ceA != some(math.Ln2) {
		t.Errorf("A: cross_entropy %+v, want ln 2", ceA)
	}
	pA, pB := math.Exp(ceA.V), math.Exp(ceB.V)
	wantMean := refMean([]float64{1, 1}, []float64{pA, pB})
	total := new(big.Rat).Add(nllA, nllB)
	wantCE, _ := new(big.Rat).Quo(total, big.NewRat(8, 1)).Float64()
	if got.SeqPerplexityMean != some(wantMean) || got.CrossEntropy != some(wantCE) || got.Perplexity != some(math.Exp(wantCE)) {
		t.Errorf("seq_perplexity_mean %+v (want %v), cross_entropy %+v (want %v)", got.SeqPerplexityMean, wantMean, got.CrossEntropy, wantCE)
	}
	if !closeTo(got.SeqPerplexityMean.V, 2.670120941332006154, 1e-15) || !closeTo(got.Perplexity.V, 2.938264830423647303, 1e-15) ||
		!closeTo(got.CrossEntropy.V, 1.077819213384257966, 1e-15) {
		t.Errorf("hand values: seq_perplexity_mean %v, perplexity %v, cross_entropy %v", got.SeqPerplexityMean.V, got.Perplexity.V, got.CrossEntropy.V)
	}
	if math.Abs(got.SeqPerplexityMean.V-got.Perplexity.V) < 0.2 {
		t.Errorf("the two perplexities should differ: %v, %v", got.SeqPerplexityMean.V, got.Perplexity.V)
	}
	if got.SeqPerplexitySum != pA+pB { // exact: 2 + 3.34... needs no rounding beyond one add
		t.Errorf("seq_perplexity_sum %v, want %v", got.SeqPerplexitySum, pA+pB)
	}
	// Per sequence: w = 2 and 6, l = ln 2 and 1.206...; the stderr of the two.
	if want := refStderr([]float64{2, 6}, []float64{ceA.V, ceB.V}); got.Stderr != some(want) {
		t.Errorf("stderr %+v, want %v", got.Stderr, want)
	}
	if got.WeightSqSum != 40 || got.WeightSum != 8 {
		t.Errorf("weight_sq_sum %v, weight_sum %v; want 40, 8", got.WeightSqSum, got.WeightSum)
	}
}

// refSeq is one sequence of weighted tokens for the references.
type refSeq struct {
	ws, nlls []float64
	bytes    []float64 // one per token here, added as its row's text
}

func (r refSeq) stats() *SeqStats {
	s := new(SeqStats)
	for i := range r.ws {
		s.AddToken(r.ws[i], r.nlls[i])
		s.AddText(r.ws[i], r.bytes[i], 1)
	}
	return s
}

func randomSeqs(rng *rand.Rand, n int) []refSeq {
	seqs := make([]refSeq, n)
	for i := range seqs {
		k := 1 + rng.IntN(40)
		for j := 0; j < k; j++ {
			w := []float64{1, 1, 0, rng.Float64() * 2, 0.1}[rng.IntN(5)]
			nll := -math.Log(rng.Float64())
			if rng.IntN(3) == 0 {
				nll = float64(float32(nll))
			}
			seqs[i].ws = append(seqs[i].ws, w)
			seqs[i].nlls = append(seqs[i].nlls, nll)
			seqs[i].bytes = append(seqs[i].bytes, float64(1+rng.IntN(8)))
		}
	}
	return seqs
}

// TestTokenStderr checks every group metric and sum against a two-pass
// exact reference built from the tokens: per sequence W_s and NLL_s exact,
// w_s = W_s and l_s = NLL_s/W_s rounded once, then the SPEC stderr over
// (w_s, l_s) and the token-weighted means.
func TestTokenStderr(t *testing.T) {
	rng := rand.New(rand.NewPCG(71, 72))
	seqs := randomSeqs(rng, 300)
	var g TokenStats
	W, N, B := new(big.Rat), new(big.Rat), new(big.Rat)
	Q, S2, P := new(big.Rat), new(big.Rat), new(big.Rat)
	var ws, ls []float64
	defined := 0
	for _, r := range seqs {
		s := r.stats()
		g.AddSequence(s)
		Ws, Ns := new(big.Rat), new(big.Rat)
		for i := range r.ws {
			w := refTokenRat(r.ws[i])
			Ws.Add(Ws, w)
			Ns.Add(Ns, new(big.Rat).Mul(w, refTokenRat(r.nlls[i])))
			B.Add(B, new(big.Rat).Mul(w, refTokenRat(r.bytes[i])))
		}
		W.Add(W, Ws)
		N.Add(N, Ns)
		n, ce, _ := s.Final()
		if n != int64(len(r.ws)) {
			t.Fatalf("tokens %d, want %d", n, len(r.ws))
		}
		if Ws.Sign() == 0 {
			if ce.OK {
				t.Fatalf("zero-weight sequence has cross_entropy %+v", ce)
			}
			continue
		}
		defined++
		w, _ := Ws.Float64()
		l, _ := new(big.Rat).Quo(Ns, Ws).Float64()
		if ce != some(l) {
			t.Fatalf("sequence cross_entropy %+v, want %v", ce, l)
		}
		ws, ls = append(ws, w), append(ls, l)
		rw, rl := refTokenRat(w), refTokenRat(l)
		Q.Add(Q, new(big.Rat).Mul(rw, rw))
		S2.Add(S2, new(big.Rat).Mul(rw, new(big.Rat).Mul(rl, rl)))
		P.Add(P, refTokenRat(math.Exp(l)))
	}
	got := g.Summary()
	checkNoNaN(t, got)
	f := func(x *big.Rat) float64 { v, _ := x.Float64(); return v }
	wantCE := f(new(big.Rat).Quo(N, W))
	checks := []struct {
		name      string
		got, want Opt
	}{
		{"cross_entropy", got.CrossEntropy, some(wantCE)},
		{"perplexity", got.Perplexity, some(math.Exp(wantCE))},
		{"bits_per_token", got.BitsPerToken, some(refQuoLn2(N, W))},
		{"bits_per_byte", got.BitsPerByte, some(refQuoLn2(N, B))},
		{"word_perplexity", got.WordPerplexity, some(math.Exp(wantCE))}, // one word per token, same weights
		{"seq_perplexity_mean", got.SeqPerplexityMean, some(f(new(big.Rat).Quo(P, big.NewRat(int64(defined), 1))))},
		{"stderr", got.Stderr, some(refStderr(ws, ls))},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %+v, want %v", c.name, c.got, c.want.V)
		}
	}
	sums := []struct {
		name      string
		got, want float64
	}{
		{"weight_sum", got.WeightSum, f(W)},
		{"nll_sum", got.NLLSum, f(N)},
		{"loss_sum", got.LossSum, f(N)},
		{"bytes_sum", got.BytesSum, f(B)},
		{"words_sum", got.WordsSum, f(W)},
		{"weight_sq_sum", got.WeightSqSum, f(Q)},
		{"loss_sq_sum", got.LossSqSum, f(S2)},
		{"seq_perplexity_sum", got.SeqPerplexitySum, f(P)},
	}
	for _, c := range sums {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
	// Only sequences with a perplexity count, so that
	// seq_perplexity_mean == seq_perplexity_sum / sequences re-aggregates.
	if g.Sequences != int64(defined) || defined == len(seqs) {
		t.Errorf("sequences %d, want the %d (of %d) with a positive weight; want some zero-weight sequences", g.Sequences, defined, len(seqs))
	}
}

// TestTokenIdenticalSequences: sequences with the same cross-entropy have a
// stderr of exactly 0, even when their weighted token counts are not
// float64 values (0.1 + 0.2), where sum NLL_s and sum W_s·l_s differ.
func TestTokenIdenticalSequences(t *testing.T) {
	var g TokenStats
	for i := 0; i < 3; i++ {
		var s SeqStats
		s.AddToken(0.1, 0.3)
		s.AddToken(0.2, 0.7)
		g.AddSequence(&s)
	}
	if got := g.Summary(); got.Stderr != some(0) {
		t.Errorf("stderr %+v, want 0", got.Stderr)
	}
}

func TestTokenInfinite(t *testing.T) {
	// A token with logprob -Inf: its sequence and the group have an infinite
	// cross-entropy and perplexity, bits, word and sequence perplexity; the
	// stderr is null; nothing is NaN. A zero-weight -Inf token changes nothing.
	a, inv := TokenLogprob(math.Inf(-1))
	if inv != Valid {
		t.Fatal(inv)
	}
	inf := some(math.Inf(1))
	var s1, s2 SeqStats
	s1.AddToken(1, 0.5)
	s1.AddToken(0.5, -a)
	s1.AddText(1, 10, 2)
	s2.AddToken(1, 1)
	s2.AddToken(0, -a)
	s2.AddText(0, 5, 1)
	if n, ce, ppl := s1.Final(); n != 2 || ce != inf || ppl != inf {
		t.Errorf("s1 Final = %d, %+v, %+v", n, ce, ppl)
	}
	if n, ce, ppl := s2.Final(); n != 2 || ce != some(1) || ppl != some(math.E) {
		t.Errorf("s2 Final = %d, %+v, %+v", n, ce, ppl)
	}
	var g TokenStats
	g.AddSequence(&s1)
	g.AddSequence(&s2)
	got := g.Summary()
	checkNoNaN(t, got)
	for _, o := range []Opt{got.CrossEntropy, got.Perplexity, got.BitsPerToken, got.BitsPerByte, got.WordPerplexity, got.SeqPerplexityMean} {
		if o != inf {
			t.Errorf("%+v, want +Inf", o)
		}
	}
	if got.Stderr.OK || got.WeightSum != 2.5 || got.BytesSum != 10 || got.WordsSum != 2 || !math.IsInf(got.NLLSum, 1) || !math.IsInf(got.LossSqSum, 1) {
		t.Errorf("summary %+v", got)
	}
	// Only the finite sequence: all finite.
	var h TokenStats
	h.AddSequence(&s2)
	if got := h.Summary(); got.CrossEntropy != some(1) || got.BitsPerByte.OK || got.WordPerplexity.OK || got.Stderr.OK {
		t.Errorf("finite sequence, no text weight: %+v", got)
	}
}

func TestTokenNullRules(t *testing.T) {
	var empty TokenStats
	got := empty.Summary()
	checkNoNaN(t, got)
	if got != (TokenSummary{}) {
		t.Errorf("empty: %+v", got)
	}
	// Sequences whose tokens all have weight 0, or that have no tokens: their
	// tokens count, but they are not scored sequences and give no metric.
	var g TokenStats
	var s SeqStats
	s.AddToken(0, 3)
	s.AddToken(0, math.Inf(1))
	s.AddText(0, 4, 1)
	g.AddSequence(&s)
	g.AddSequence(new(SeqStats)) // no tokens at all
	if n, ce, ppl := s.Final(); n != 2 || ce.OK || ppl.OK {
		t.Errorf("zero-weight sequence Final = %d, %+v, %+v", n, ce, ppl)
	}
	got = g.Summary()
	checkNoNaN(t, got)
	if got != (TokenSummary{}) || g.Sequences != 0 || g.Tokens != 2 {
		t.Errorf("zero weights: %+v, sequences %d, tokens %d", got, g.Sequences, g.Tokens)
	}
	// One sequence: n_eff = 1, no stderr; no bytes or words: their metrics null.
	var one TokenStats
	var u SeqStats
	u.AddToken(1, 2)
	u.AddToken(1, 4)
	one.AddSequence(&u)
	got = one.Summary()
	if got.CrossEntropy != some(3) || got.Stderr.OK || got.BitsPerByte.OK || got.WordPerplexity.OK || got.SeqPerplexityMean != some(math.Exp(3)) {
		t.Errorf("one sequence: %+v", got)
	}
}

// TestTokenSplitMerge: a sequence's tokens spread over several SeqStats
// (chunks, workers) and merged in any order, and groups built from any
// partition of the sequences and merged in any order, give bit-identical
// Final values and summaries.
func TestTokenSplitMerge(t *testing.T) {
	rng := rand.New(rand.NewPCG(73, 74))
	seqs := randomSeqs(rng, 60)
	type final struct {
		n      int64
		ce, pp Opt
	}
	wantFinal := make([]final, len(seqs))
	var want TokenStats
	for i, r := range seqs {
		s := r.stats()
		wantFinal[i].n, wantFinal[i].ce, wantFinal[i].pp = s.Final()
		want.AddSequence(s)
	}
	want.Rows, want.InvalidRows, want.IgnoredRows = 100, 2, 3
	wantSum := want.Summary()
	checkNoNaN(t, wantSum)
	for trial := 0; trial < 20; trial++ {
		merged := make([]*SeqStats, len(seqs))
		for i, r := range seqs {
			// Deal the tokens into pieces, then merge the pieces in a random order.
			pieces := make([]*SeqStats, 1+rng.IntN(5))
			for k := range pieces {
				pieces[k] = new(SeqStats)
			}
			for j := range r.ws {
				p := pieces[rng.IntN(len(pieces))]
				p.AddToken(r.ws[j], r.nlls[j])
				p.AddText(r.ws[j], r.bytes[j], 1)
			}
			rng.Shuffle(len(pieces), func(a, b int) { pieces[a], pieces[b] = pieces[b], pieces[a] })
			m := pieces[0]
			for _, p := range pieces[1:] {
				m.Merge(p)
			}
			var f final
			if f.n, f.ce, f.pp = m.Final(); f != wantFinal[i] {
				t.Fatalf("trial %d sequence %d: Final %+v, want %+v", trial, i, f, wantFinal[i])
			}
			merged[i] = m
		}
		// Groups over a random partition of the sequences, merged in random order.
		parts := make([]*TokenStats, 1+rng.IntN(6))
		for k := range parts {
			parts[k] = new(TokenStats)
		}
		for _, i := range rng.Perm(len(seqs)) {
			parts[rng.IntN(len(parts))].AddSequence(merged[i])
		}
		parts[0].Rows, parts[0].InvalidRows = 60, 2
		parts[len(parts)-1].Rows += 40
		parts[len(parts)-1].IgnoredRows = 3
		rng.Shuffle(len(parts), func(a, b int) { parts[a], parts[b] = parts[b], parts[a] })
		var g TokenStats
		for _, p := range parts {
			g.Merge(p)
		}
		if got := g.Summary(); got != wantSum {
			t.Fatalf("trial %d: summary\n got %+v\nwant %+v", trial, got, wantSum)
		}
		if g.Rows != 100 || g.InvalidRows != 2 || g.IgnoredRows != 3 || g.Sequences != want.Sequences || g.Tokens != want.Tokens {
			t.Fatalf("trial %d: counts %d %d %d %d %d", trial, g.Rows, g.InvalidRows, g.IgnoredRows, g.Sequences, g.Tokens)
		}
	}
}

func TestLn2Mant(t *testing.T) {
	// ln2Mant · 2^-128 <= ln 2 < (ln2Mant + 1) · 2^-128.
	lo := new(big.Float).SetPrec(refPrec).SetInt(ln2Mant)
	lo.SetMantExp(lo, -128)
	hi := new(big.Float).SetPrec(refPrec).SetInt(new(big.Int).Add(ln2Mant, big.NewInt(1)))
	hi.SetMantExp(hi, -128)
	if lo.Cmp(refLn2) > 0 || hi.Cmp(refLn2) <= 0 {
		t.Errorf("ln2Mant is not floor(ln 2 · 2^128)")
	}
	if got := ratioLn2Float64(big.NewInt(1), big.NewInt(1)); got != 1/math.Ln2 || got != round64(quo(bfInt(1), refLn2)) {
		t.Errorf("1/ln 2 = %v", got)
	}
}

func TestSumFloat64Exact(t *testing.T) {
	tests := []struct {
		xs    []float64
		exact bool
	}{
		{nil, true},
		{[]float64{1, 2, 0.5}, true},
		{[]float64{0.1, 0.2}, false}, // 0.1 + 0.2 needs 55 bits
		{[]float64{1e300, 1e300}, true},
		{[]float64{math.MaxFloat64, math.MaxFloat64}, false}, // overflows
		{[]float64{1, 0x1p-60}, false},
		{[]float64{1, 0x1p-60, -0x1p-60}, true},
		{[]float64{0x1p-1074, 0x1p-1074}, true},
		{[]float64{-3, 1}, true},
		{[]float64{math.Inf(1)}, false},
	}
	for _, tc := range tests {
		var s Sum
		for _, x := range tc.xs {
			s.Add(x)
		}
		v, ok := s.float64Exact()
		if ok != tc.exact || (ok && v != s.Float64()) {
			t.Errorf("%v: float64Exact = %v, %v; want exact %v", tc.xs, v, ok, tc.exact)
		}
		if ok && s.IsFinite() && s.Big(0).Cmp(big.NewFloat(v)) != 0 {
			t.Errorf("%v: %v is not the exact value", tc.xs, v)
		}
	}
	// quotient agrees with the exact ratio on both paths.
	rng := rand.New(rand.NewPCG(75, 76))
	for i := 0; i < 2000; i++ {
		var n, d Sum
		for k := 0; k < 1+rng.IntN(5); k++ {
			x := rng.ExpFloat64()
			if rng.IntN(2) == 0 {
				x = float64(rng.IntN(100))
			}
			n.Add(x)
			d.Add(float64(1 + rng.IntN(3)))
		}
		if got, want := quotient(&n, &d), ratioFloat64(n.bigInt(), d.bigInt(), 0); got != want {
			t.Fatalf("quotient %v, exact %v", got, want)
		}
	}
}

// --- TokenLogitNLL

// naiveTokenNLL is the textbook two-pass logsumexp(z) - z[y] in float64.
func naiveTokenNLL(z []float64, y int) float64 {
	m := math.Inf(-1)
	for _, x := range z {
		m = math.Max(m, x)
	}
	s := 0.0
	for _, x := range z {
		s += math.Exp(x - m)
	}
	if math.IsInf(z[y], -1) {
		return math.Inf(1)
	}
	return (m + math.Log(s)) - z[y]
}

func TestTokenLogitNLL(t *testing.T) {
	rng := rand.New(rand.NewPCG(77, 78))
	type gen func(c int) ([]float64, int)
	normal := func(c int) ([]float64, int) {
		z := make([]float64, c)
		for i := range z {
			z[i] = rng.NormFloat64() * 3
		}
		return z, rng.IntN(c)
	}
	confident := func(c int) ([]float64, int) { // P(y) close to 1: a tiny loss
		z, y := normal(c)
		z[y] = 30 + 20*rng.Float64()
		return z, y
	}
	wide := func(c int) ([]float64, int) { // the maximum far above the first entry (rebases)
		z := make([]float64, c)
		for i := range z {
			z[i] = (rng.Float64()*2 - 1) * 300
		}
		y := rng.IntN(c)
		z[y] = 400
		return z, y
	}
	extreme := func(c int) ([]float64, int) {
		z := make([]float64, c)
		for i := range z {
			z[i] = (rng.Float64()*2 - 1) * 1000
		}
		return z, rng.IntN(c)
	}
	cases := []struct {
		name string
		c    int
		rows int
		g    gen
		// maxRel bounds |TokenLogitNLL - Multiclass| / loss. Multiclass rounds
		// each z_k - m and sums its terms plainly, so where the loss is tiny
		// (confident rows; z_k - m near -700 or -2000) they differ by
		// Multiclass's rounding errors: up to ulp(2000)/2 ≈ 1.1e-13 relative.
		maxRel float64
	}{
		{"normal", 3, 300, normal, 1e-15},
		{"normal", 100, 100, normal, 1e-15},
		{"normal", 32000, 1, normal, 1e-15},
		{"confident", 3, 300, confident, 1e-14},
		{"confident", 100, 100, confident, 1e-14},
		{"confident", 32000, 1, confident, 1e-14},
		{"wide", 3, 300, wide, 2e-13},
		{"wide", 100, 30, wide, 2e-13},
		{"extreme", 3, 300, extreme, 2e-13},
		{"extreme", 100, 30, extreme, 2e-13},
	}
	for _, tc := range cases {
		scratch := make([]float64, tc.c)
		worst := 0.0
		for r := 0; r < tc.rows; r++ {
			z, y := tc.g(tc.c)
			got, inv := TokenLogitNLL(z, y)
			mc, minv := Multiclass(Logit, z, y, nil, 0, 0, scratch)
			if inv != Valid || minv != Valid {
				t.Fatalf("%s C=%d: %v %v", tc.name, tc.c, inv, minv)
			}
			if d := math.Abs(got - mc.Loss); d > tc.maxRel*mc.Loss && d > 0x1p-1070 {
				t.Errorf("%s C=%d: %v, Multiclass %v", tc.name, tc.c, got, mc.Loss)
			}
			if tc.name == "extreme" && tc.c > 3 {
				continue // beyond the reference's exp range; checked against Multiclass
			}
			want := refMulticlass(Logit, z, y, nil, 0, 0)
			if u := ulps(got, want); u > 4 {
				t.Errorf("%s C=%d: %v is %d ulps from the reference %v", tc.name, tc.c, got, u, want)
			}
			if want > 0 {
				worst = math.Max(worst, math.Abs(got-want)/want)
			}
		}
		t.Logf("%s C=%d: worst relative error vs 256-bit reference %.2g", tc.name, tc.c, worst)
	}
}

func TestTokenLogitNLLSpecial(t *testing.T) {
	inf, nan := math.Inf(1), math.NaN()
	tests := []struct {
		z    []float64
		y    int
		want float64
		inv  Invalid
	}{
		{[]float64{1000, -1000, 0}, 2, 1000, Valid},
		{[]float64{1000, -1000, 0}, 1, 2000, Valid},
		{[]float64{1000, -1000, 0}, 0, 0, Valid}, // e^-1000 underflows: exactly 0
		{[]float64{-1000, 1000}, 0, 2000, Valid},
		{[]float64{5, 5}, 1, math.Ln2, Valid}, // ties
		{[]float64{5, 5}, 0, math.Ln2, Valid},
		{[]float64{0, 0, 0, 0}, 3, math.Log(4), Valid},
		{[]float64{7}, 0, 0, Valid},
		{[]float64{-inf, 2, -inf}, 1, 0, Valid},
		{[]float64{-inf, 2, 1}, 0, inf, Valid}, // z[y] = -Inf: an infinite loss
		{[]float64{math.MaxFloat64, -math.MaxFloat64}, 1, inf, Valid},
		{[]float64{-math.MaxFloat64, math.MaxFloat64}, 0, inf, Valid},
		{[]float64{1, 2}, 2, 0, LabelDomain},
		{[]float64{1, 2}, -1, 0, LabelDomain},
		{[]float64{nan}, 1, 0, LabelDomain}, // the label first
		{nil, 0, 0, LabelDomain},
		{[]float64{1, nan, 2}, 0, 0, NaNValue},
		{[]float64{nan, inf}, 0, 0, NaNValue},
		{[]float64{1, inf, nan}, 0, 0, InfiniteLogit},
		{[]float64{inf}, 0, 0, InfiniteLogit},
		{[]float64{-inf, -inf}, 0, 0, InfiniteLogit},
		{[]float64{-inf, nan}, 0, 0, NaNValue},
	}
	scratch := make([]float64, 4)
	for _, tc := range tests {
		got, inv := TokenLogitNLL(tc.z, tc.y)
		if inv != tc.inv || (got != tc.want && !(ulps(got, tc.want) <= 1 && tc.want != 0)) {
			t.Errorf("TokenLogitNLL(%v, %d) = %v, %v; want %v, %v", tc.z, tc.y, got, inv, tc.want, tc.inv)
		}
		if len(tc.z) > 0 {
			// Multiclass agrees on validity (its empty row is LengthMismatch).
			if _, minv := Multiclass(Logit, tc.z, tc.y, nil, 0, 0, scratch); minv != inv {
				t.Errorf("TokenLogitNLL(%v, %d): %v, Multiclass %v", tc.z, tc.y, inv, minv)
			}
		}
	}
	// A confident row: loss = log1p(e^-40 · 3) ≈ 1.2750463e-17, to the ulp.
	z := []float64{0, 40, 0, 0}
	got, _ := TokenLogitNLL(z, 1)
	if want := refMulticlass(Logit, z, 1, nil, 0, 0); ulps(got, want) > 1 {
		t.Errorf("confident: %v, reference %v", got, want)
	}
}
