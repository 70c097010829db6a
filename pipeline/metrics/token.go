package metrics

import (
	"math"
	"math/big"
)

// Token task (SPEC §3 token, §4): per-token values, the statistics of one
// sequence (SeqStats), and those of a group over its sequences (TokenStats).
//
// A sequence's weighted token count W_s = sum of its tokens' weights, its
// nll NLL_s = sum w·(-logprob), and its bytes and words (weighted the same
// way) are exact sums, so a sequence whose rows arrive in several pieces
// (chunks, workers) merges to the same bits in any order. A group then sums
// the sequences' exact sums: cross_entropy = sum NLL_s / sum W_s is
// token-weighted and exact, while the standard error and seq_perplexity_mean
// take the sequence as the unit.

// TokenLogprob checks one token log-probability a = ln p and returns the
// value to use: NaN is NaNValue and a value above 1e-6 (+Inf included) is
// LogprobRange; one in (0, 1e-6] counts as 0; -Inf is valid (an infinite
// loss). The token's nll is the negated result, >= 0 or +Inf.
func TokenLogprob(a float64) (float64, Invalid) {
	return checkLogprob(a)
}

// TokenLogprobs does TokenLogprob for every value of lps, in place: it
// reports whether all are valid and, if so, has replaced each with the
// value to use (those in (0, 1e-6] by 0). At the first invalid one it
// stops and reports false, with lps changed up to there.
func TokenLogprobs(lps []float64) bool {
	lps = lps[logprobsVector(lps):] // with AVX-512, 8 at a time up to the first invalid
	for i, a := range lps {
		v, inv := checkLogprob(a)
		if inv != Valid {
			return false
		}
		lps[i] = v
	}
	return true
}

// lseRebase is how far the running maximum may rise above TokenLogitNLL's
// reference point before the running sum is rescaled to it: the sum's terms
// stay below e^64 (no overflow for any length), and rescales, which each
// round, are rare.
const lseRebase = 64

// TokenLogitNLL returns -ln softmax(z)[y] = logsumexp(z) - z[y], the nll of
// target token y under the logits z, in one streaming pass over z without
// allocating (vocabularies of 32k-128k entries are read once).
//
// y outside [0, len(z)) is LabelDomain (checked first); a NaN logit is
// NaNValue and a +Inf one InfiniteLogit (the first in z decides), as are all
// logits -Inf. z[y] = -Inf with a finite maximum is a valid, infinite loss.
//
// As Multiclass(Logit, ...) does, it computes the loss as (m - z[y]) +
// log1p(rest), with m the largest logit and rest the sum over the other
// entries (all but the first maximum) of e^(z_k - m), which keeps both
// confident rows (a tiny loss, rest << 1) and logits of ±1000 accurate. The
// pass keeps the running maximum m, a reference point r <= m and rest as a
// sum of e^(z_k - r): a new maximum moves the old one's term e^(m - r) into
// rest, and only when m rises more than 64 above r is rest rescaled to
// r = m. At the end rest is scaled once by e^(r - m). Each term puts back the
// rounding error of z_k - r (which a plain e^(z_k - m) loses: up to 2^-45
// relative for z_k - m near -700), and rest is summed with compensation, so
// the loss is within a few ulps of the exact value for any vocabulary size,
// more accurate than Multiclass for confident rows and large C. The
// compensation costs about 40% of the time of a plain sum (about 9 ns per
// logit).
func TokenLogitNLL(z []float64, y int) (float64, Invalid) {
	if y < 0 || y >= len(z) {
		return 0, LabelDomain
	}
	// The first entry that is not -Inf starts the pass.
	first := -1
	for k, zk := range z {
		if zk >= -math.MaxFloat64 {
			if zk > math.MaxFloat64 {
				return 0, InfiniteLogit
			}
			first = k
			break
		}
		if zk != zk {
			return 0, NaNValue
		}
	}
	if first < 0 {
		return 0, InfiniteLogit // all -Inf
	}
	m := z[first] // the largest logit so far
	r := m        // the reference point of rest
	// rest + corr is the sum of e^(z_k - r) over the entries so far but the
	// first maximum; corr collects the rounding errors of the terms' exponents
	// and of the additions to rest (TwoSum), so rest is accurate to about an
	// ulp however many terms it has.
	rest, corr := 0.0, 0.0
	for _, zk := range z[first+1:] {
		switch {
		case zk <= m:
			// A term below e^-746 is 0 (so is that of -Inf).
			if d := zk - r; d > -746 {
				e := expFast(d)
				s := rest + e
				bb := s - rest
				corr += e*subError(zk, r, d) + ((rest - (s - bb)) + (e - bb))
				rest = s
			}
		case zk > m:
			if zk > math.MaxFloat64 {
				return 0, InfiniteLogit
			}
			// The old maximum joins the rest.
			e := expDiff(m, r)
			s := rest + e
			bb := s - rest
			corr += (rest - (s - bb)) + (e - bb)
			rest = s
			m = zk
			if m-r > lseRebase {
				f := expDiff(r, m)
				rest, corr = rest*f, corr*f
				r = m
			}
		default:
			return 0, NaNValue
		}
	}
	rest += corr
	if r != m {
		rest *= expDiff(r, m)
	}
	return (m - z[y]) + math.Log1p(rest), Valid
}

// subError is the rounding error of d = a - b: a - b = d + subError exactly
// (Knuth's TwoSum), for finite a, b and d.
func subError(a, b, d float64) float64 {
	bb := a - d // the part of b that made it into d
	return (a - (d + bb)) - (b - bb)
}

// expDiff is e^(a - b) for finite a, b, with the rounding error of a - b put
// back: e^(d + err) = e^d·(1 + err) to second order in err <= ulp(d)/2.
func expDiff(a, b float64) float64 {
	d := a - b
	if !(d > -746) {
		return 0 // also for a - b overflowing to -Inf
	}
	e := expFast(d)
	if math.IsInf(e, 0) {
		return e
	}
	return math.FMA(e, subError(a, b, d), e)
}

// SeqStats accumulates one sequence of the token task: its scored tokens and
// the exact sums of their weights, weighted nll, and the weighted bytes and
// words of its rows. The zero value is an empty sequence. It costs 56 bytes
// plus 8 bytes per limb of each Sum's window, and 96 more once a token of
// weight other than 0 and 1, or a row's bytes or words, is added.
type SeqStats struct {
	Tokens int64 // scored tokens, whatever their weight

	// units plus rare.Weight is the weighted token count W_s: tokens of
	// weight 1 are counted in units, not added to a Sum (an integer add is
	// ~10x cheaper). Read it through Final.
	units int64 // tokens of weight 1
	NLL   Sum   // sum w·nll over tokens
	// rare holds the sums a sequence without weights or text columns (most
	// of them: there may be 100k and more) never adds to: nil until then.
	rare *seqRare
}

// seqRare is the sums of a SeqStats that are often empty.
type seqRare struct {
	Weight Sum // sum w over tokens of weight other than 1
	Bytes  Sum // sum w·bytes over the rows that carry them
	Words  Sum // sum w·words over the rows that carry them
}

// rareSums returns s.rare, allocated on first use.
func (s *SeqStats) rareSums() *seqRare {
	if s.rare == nil {
		s.rare = new(seqRare)
	}
	return s.rare
}

// seqWeight is a sequence's weighted token count W_s (SeqStats.weight).
type seqWeight struct {
	d      float64 // W_s rounded to the nearest float64
	finite bool    // false when an Inf or NaN weight was added
	sum    *Sum    // W_s exactly; nil when it is units
	units  int64
}

// weight returns W_s. Without weights (Weight empty, the common case) it is
// the unit count, and nothing is allocated. s does not change, so a
// finished sequence may be read from several goroutines at once.
func (s *SeqStats) weight() seqWeight {
	if s.rare == nil || s.rare.Weight.l == nil && s.rare.Weight.IsFinite() { // Weight is 0
		return seqWeight{d: float64(s.units), finite: true, units: s.units}
	}
	w := plusCount(&s.rare.Weight, s.units)
	return seqWeight{d: w.Float64(), finite: w.IsFinite(), sum: w}
}

// unitsBig is W_s = units as an exact integer in Sum's units (2^-1074).
func (w *seqWeight) unitsBig() *big.Int {
	return new(big.Int).Lsh(big.NewInt(w.units), 1074)
}

// AddToken adds one scored token with weight w (accepted by WeightOK) and
// nll = -logprob (>= 0, or +Inf; see TokenLogprob). Its product is added
// exactly; w == 0 counts the token only, so 0·Inf never makes a NaN.
func (s *SeqStats) AddToken(w, nll float64) {
	s.Tokens++
	switch w {
	case 0:
		return
	case 1:
		s.units++
		s.NLL.Add(nll)
		return
	}
	s.rareSums().Weight.Add(w)
	s.NLL.AddProduct(w, nll)
}

// AddUnitLogprobs adds one scored token of weight 1 per log-probability
// (each already checked by TokenLogprob): AddToken(1, -a) for each a.
func (s *SeqStats) AddUnitLogprobs(lps []float64) {
	s.Tokens += int64(len(lps))
	s.units += int64(len(lps))
	s.NLL.SubSlice(lps)
}

// AddText adds a row's bytes (UTF-8 bytes of its scored text) and words,
// weighted like its tokens by w; the caller calls it once per row that
// carries them, with finite values >= 0. w == 0 adds nothing.
func (s *SeqStats) AddText(w, bytes, words float64) {
	if w == 0 {
		return
	}
	r := s.rareSums()
	r.Bytes.AddProduct(w, bytes)
	r.Words.AddProduct(w, words)
}

// Merge adds o (another piece of the same sequence) to s.
func (s *SeqStats) Merge(o *SeqStats) {
	s.Tokens += o.Tokens
	s.units += o.units
	s.NLL.Merge(&o.NLL)
	if o.rare != nil {
		s.rareSums().merge(o.rare)
	}
}

// merge adds o's sums to r's.
func (r *seqRare) merge(o *seqRare) {
	r.Weight.Merge(&o.Weight)
	r.Bytes.Merge(&o.Bytes)
	r.Words.Merge(&o.Words)
}

// Final returns the sequence's per-row values (SPEC §4 rows.parquet):
// tokens, cross_entropy = NLL/Weight correctly rounded (+Inf when a token's
// nll is +Inf) and perplexity = exp(cross_entropy); both null when the
// weighted token count is 0.
func (s *SeqStats) Final() (tokens int64, crossEntropy, perplexity Opt) {
	l, ok := s.crossEntropy()
	if !ok {
		return s.Tokens, Opt{}, Opt{}
	}
	return s.Tokens, some(l), SeqPerplexity(some(l))
}

// SeqPerplexity is a sequence's perplexity, exp of its cross_entropy
// (Final's, or AddSequence's), null with it.
func SeqPerplexity(crossEntropy Opt) Opt {
	if !crossEntropy.OK {
		return Opt{}
	}
	return some(math.Exp(crossEntropy.V))
}

// crossEntropy is NLL/Weight correctly rounded, or +Inf; ok is false when
// the weight is 0 (or the sums hold something other than +Inf nll).
func (s *SeqStats) crossEntropy() (float64, bool) {
	w := s.weight()
	return s.crossEntropyBy(&w)
}

// crossEntropyBy is crossEntropy for W_s = w.
func (s *SeqStats) crossEntropyBy(w *seqWeight) (float64, bool) {
	if !w.finite || !(w.d > 0) {
		return 0, false
	}
	switch {
	case s.NLL.Inf() == 1:
		return math.Inf(1), true
	case !s.NLL.IsFinite():
		return 0, false
	case w.sum != nil:
		return quotient(&s.NLL, w.sum), true
	}
	// A count up to 2^53 is its float64 exactly.
	return quotientBy(&s.NLL, w.d, w.units <= 1<<53, w.unitsBig), true
}

// TokenStats holds the sufficient statistics of one group of the token task
// over its sequences (SPEC §3: for the token task the unit is the sequence).
// Rows, InvalidRows and IgnoredRows are counted by the caller; AddSequence
// counts Tokens, and Sequences: the sequences that have a perplexity (a
// positive weighted token count), so that seq_perplexity_mean is exactly
// seq_perplexity_sum / sequences and re-aggregates in SQL. A sequence with
// no scored token, or only zero-weight tokens, is not a scored sequence. Every sum is exact, so partials merge in any
// order to the same bits. It costs about 340 bytes plus 8 bytes per limb of
// each Sum's window.
type TokenStats struct {
	Rows, InvalidRows, IgnoredRows int64
	Sequences, Tokens              int64

	weight Sum   // sum W_s: every token weight (weight_sum), but those of 1
	units  int64 // the tokens of weight 1 (weight_sum is weight + units)
	nll    Sum   // sum NLL_s (nll_sum = loss_sum)
	bytes  Sum   // sum of the sequences' weighted bytes
	words  Sum   // sum of the sequences' weighted words

	// The standard error's sums, over the sequences with W_s > 0, with
	// w_s = W_s and l_s = NLL_s/W_s each rounded once to float64 (l_s is the
	// sequence's cross_entropy): sum w_s^2 (weight_sq_sum), sum w_s·l_s^2
	// (loss_sq_sum), and sum w_s and sum w_s·l_s, which make the standard
	// error that of the pairs (w_s, l_s) exactly, as ClassStats' is of its
	// rows. (sum NLL_s and sum W_s may differ from the last two by roundings;
	// used in the variance they would make a spurious ~1e-8 relative stderr
	// out of identical sequences.)
	weightSq  Sum
	lossSq    Sum
	seqWeight Sum
	seqLoss   Sum

	seqPerplexity Sum // sum exp(l_s) over the sequences with W_s > 0
}

// AddSequence adds one finished sequence: Tokens += s.Tokens, its exact
// sums (weight, nll, bytes, words) merged, and, when W_s > 0, Sequences++,
// its terms of the standard error (w_s^2, w_s·l_s^2, exact products) and
// exp(l_s) to seq_perplexity_sum. s does not change. It returns l_s, the
// sequence's cross_entropy of Final (null when W_s is 0).
func (t *TokenStats) AddSequence(s *SeqStats) (crossEntropy Opt) {
	t.Tokens += s.Tokens
	t.units += s.units
	t.nll.Merge(&s.NLL)
	if r := s.rare; r != nil {
		t.weight.Merge(&r.Weight)
		t.bytes.Merge(&r.Bytes)
		t.words.Merge(&r.Words)
	}
	sw := s.weight()
	l, ok := s.crossEntropyBy(&sw)
	if !ok {
		return Opt{}
	}
	t.Sequences++
	// A weighted token count beyond the float64 range (only with weights near
	// 1e308) is taken as MaxFloat64, so no product is Inf·0; its square
	// overflows to +Inf and makes the standard error null.
	w := min(sw.d, math.MaxFloat64)
	addSquare(&t.weightSq, w)
	addWeightedSquare(&t.lossSq, w, l)
	t.seqWeight.Add(w)
	t.seqLoss.AddProduct(w, l)
	t.seqPerplexity.Add(math.Exp(l))
	return some(l)
}

// Merge adds o's statistics to t.
func (t *TokenStats) Merge(o *TokenStats) {
	t.Rows += o.Rows
	t.InvalidRows += o.InvalidRows
	t.IgnoredRows += o.IgnoredRows
	t.Sequences += o.Sequences
	t.Tokens += o.Tokens
	t.weight.Merge(&o.weight)
	t.units += o.units
	t.nll.Merge(&o.nll)
	t.bytes.Merge(&o.bytes)
	t.words.Merge(&o.words)
	t.weightSq.Merge(&o.weightSq)
	t.lossSq.Merge(&o.lossSq)
	t.seqWeight.Merge(&o.seqWeight)
	t.seqLoss.Merge(&o.seqLoss)
	t.seqPerplexity.Merge(&o.seqPerplexity)
}

// TokenSummary is the finalised metrics and sufficient statistics of a
// TokenStats (SPEC §4). Metrics are null when WeightSum is 0; no field is
// ever NaN; losses and perplexities may be +Inf (a token with logprob -Inf).
type TokenSummary struct {
	WeightSum float64 // sum of the token weights (over sequences: sum W_s)

	CrossEntropy      Opt // NLLSum / WeightSum, token-weighted
	Perplexity        Opt // exp(CrossEntropy)
	BitsPerToken      Opt // NLLSum / (WeightSum · ln 2)
	SeqPerplexityMean Opt // SeqPerplexitySum / sequences with W_s > 0 (unweighted)
	BitsPerByte       Opt // NLLSum / (BytesSum · ln 2); null when BytesSum is 0
	WordPerplexity    Opt // exp(NLLSum / WordsSum); null when WordsSum is 0
	Stderr            Opt // over sequences (w = W_s, l = l_s); null when n_eff <= 1 or the mean is infinite

	LossSum     float64 // = NLLSum (SPEC §3)
	LossSqSum   float64 // sum w_s · l_s^2
	WeightSqSum float64 // sum w_s^2
	NLLSum      float64
	BytesSum    float64
	WordsSum    float64

	SeqPerplexitySum float64 // sum over sequences of exp(l_s)
}

// Summary finalises the statistics. CrossEntropy, BitsPerToken,
// SeqPerplexityMean and BitsPerByte are correctly rounded quotients of the
// exact sums (the two in bits divide by ln 2 to 128 bits, not by the float64
// math.Ln2, so BitsPerToken may differ from CrossEntropy/math.Ln2 by an ulp);
// Perplexity and WordPerplexity are math.Exp of a correctly rounded quotient.
// Stderr is ClassStats' exact formula with the sequence as the unit.
func (t *TokenStats) Summary() TokenSummary {
	weight := plusCount(&t.weight, t.units) // weight_sum
	nllSum := t.nll.Float64()
	out := TokenSummary{
		WeightSum:        weight.Float64(),
		LossSum:          nllSum,
		LossSqSum:        t.lossSq.Float64(),
		WeightSqSum:      t.weightSq.Float64(),
		NLLSum:           nllSum,
		BytesSum:         t.bytes.Float64(),
		WordsSum:         t.words.Float64(),
		SeqPerplexitySum: t.seqPerplexity.Float64(),
	}
	if !weight.IsFinite() || !(out.WeightSum > 0) {
		return out
	}
	infinite := t.nll.Inf() == 1
	if !infinite && !t.nll.IsFinite() {
		return out // a NaN nll: not a valid input
	}
	var nll *big.Int
	if !infinite {
		nll = t.nll.bigInt()
	}
	// x / D and x / (D ln 2) for a positive divisor sum D; null otherwise.
	over := func(d *Sum, ln2 bool) Opt {
		if !d.IsFinite() || !(d.Float64() > 0) {
			return Opt{}
		}
		switch {
		case infinite:
			return some(math.Inf(1))
		case ln2:
			return some(ratioLn2Float64(nll, d.bigInt()))
		}
		return some(ratioFloat64(nll, d.bigInt(), 0))
	}
	out.CrossEntropy = over(weight, false)
	out.Perplexity = some(math.Exp(out.CrossEntropy.V))
	out.BitsPerToken = over(weight, true)
	out.BitsPerByte = over(&t.bytes, true)
	if wpl := over(&t.words, false); wpl.OK {
		out.WordPerplexity = some(math.Exp(wpl.V))
	}
	if t.Sequences > 0 {
		switch {
		case t.seqPerplexity.Inf() == 1:
			out.SeqPerplexityMean = some(math.Inf(1))
		case t.seqPerplexity.IsFinite():
			out.SeqPerplexityMean = some(ratioFloat64(t.seqPerplexity.bigInt(), big.NewInt(t.Sequences), unitExponent))
		}
	}
	if !infinite && t.seqWeight.IsFinite() {
		if nw := t.seqWeight.bigInt(); nw.Sign() > 0 {
			out.Stderr = stderrOf(nw, &t.seqLoss, &t.lossSq, &t.weightSq)
		}
	}
	return out
}
