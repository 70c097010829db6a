package main

import (
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"strings"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
)

// Fixtures of the multilabel, regression and token tasks, and the reference
// values the README gives for them (plain float64 loops over the rendered
// tables, independently of evaljob).

func taskFixtures() []fixture {
	return []fixture{
		{path: "multilabel/probs.parquet", build: multilabel, ref: multilabelRef, covers: "Multilabel (SPEC 3), L = 4 labels per row: `labels` List<float64> of 0/1, `labels_bool` List<bool> (the same labels), `labels_soft` List<float64> soft targets in (0,1); the same predictions in three kinds: `probs` List<float64>, `logits` List<float32>, `logprobs` List<float64>. Group key `model`."},
		{path: "multilabel/invalid.parquet", build: multilabelInvalid, covers: "Multilabel invalid rows (see `expect`, `note`): null label list, null prediction list, ragged lengths (3 predictions for 4 labels; 3 labels and 3 predictions where the first scored row has 4), prob 1.5, NaN prob, null element, label 2, label NaN; the other rows are valid (with `probs` as prob kind)."},

		{path: "regression/preds.parquet", build: regression, ref: regressionRef, covers: "Regression (SPEC 3): `target` and `pred` float64, the same values as `target_int` (int32, the target rounded to the nearest integer) and `pred_f32` (float32); sample weights; group key `model` (model b is noisier)."},
		{path: "regression/invalid.parquet", build: regressionInvalid, covers: "Regression invalid rows (see `expect`, `note`): NaN, +Inf and -Inf in the target or prediction, null target, null prediction, null, NaN and negative weights; a zero weight is valid."},

		{path: "token/long.parquet", rowGroupRows: 128, build: tokenLong(0), ref: tokenLongRef, covers: tokenLongCovers},
		{path: "token/long-2.parquet", rowGroupRows: 40, build: tokenLong(1), covers: "Token long layout, second file: the tail of every sequence that `token/long.parquet` leaves unfinished (positions continue where that file stops), interleaved the same way, in row groups of 40. Note: by path, `long-2.parquet` sorts before `long.parquet` ('-' < '.'), so a glob reads the continuation first; sums do not care. Use both files (`token/long*.parquet`) for the reference values above."},
		{path: "token/list.parquet", build: tokenList, ref: tokenListRef, covers: "Token list layout (SPEC 3): one row per sequence with the same tokens as `token/long.parquet` + `token/long-2.parquet` (positions in order), sorted by (model, doc_id): `logprobs` List<float64> (= long `logprob_f64`), `logprobs_f32` List<float32> (= long `logprob`), `mask` List<bool>, true except 1-3 padding positions appended to every 5th sequence (logprob 0, mask false); `n_bytes`, `n_words` (int32) are the sums over the sequence's long rows, `weight` the sequence's weight. With `mask`, `bytes: n_bytes`, `words: n_words`, `weight` it must give exactly the reference values of the long layout."},
		{path: "token/logits.parquet", build: tokenLogits, ref: tokenLogitsRef, covers: "Token long layout with `logit` predictions: `logits` List<float32> over a vocabulary of 50 (values are multiples of 1/8, so they compress), `target` int64 token id as the label; targets of -100 are ignored (`expect` = ignored, first position of every third sequence); no weight column."},
		{path: "token/invalid.parquet", build: tokenInvalid, ref: tokenInvalidRef, covers: "Token long layout, logprob, invalid values (see `expect`, `note`): logprob 0.5 and 2e-6 (above 1e-6: invalid), NaN, null; 5e-7 and 1e-6 (valid, count as 0), 0 (valid), -Inf (valid, infinite loss: doc 3's cross_entropy and the overall cross_entropy are +inf)."},
	}
}

const tokenLongCovers = "Token long layout (SPEC 3), `logprob` kind: one row per token, `model` and `doc_id` (int64) name the sequence, `pos` (int32) its position; `logprob` float32 and `logprob_f64` float64 hold the same log-probabilities (the float32 rounded); `weight` is constant within a sequence (so the list layout can carry it per row); `n_bytes` = UTF-8 bytes of the token, `n_words` = 1 when it starts a word, else 0. 20 documents (doc_id 0..19) each scored by models a and b = 40 sequences of 5-30 tokens. Rows of a sequence are not contiguous (sequences are randomly interleaved), the file has row groups of 128 rows, and some sequences continue in `token/long-2.parquet`. doc_id 0 of model a is \"The cat sat on the mat\": tokens `The`, ` cat`, ` sat`, ` on`, ` the`, ` mat` with probabilities 0.2, 0.5, 0.1, 0.4, 0.6, 0.3, n_bytes 3, 4, 4, 3, 4, 4 (22 bytes: the leading space counts, so ` the` is 4 bytes), n_words 1 each, weight 1 (model b scores the same tokens with other probabilities)."

// col returns the column of that name.
func (t *table) col(name string) arrow.Array {
	for i, f := range t.fields {
		if f.Name == name {
			return t.cols[i]
		}
	}
	panic("no column " + name)
}

func (t *table) release() {
	for _, c := range t.cols {
		c.Release()
	}
}

// fixtureTable builds the table of the fixture at path.
func fixtureTable(path string) *table {
	for _, f := range fixtures() {
		if f.path == path {
			return f.table()
		}
	}
	panic("no fixture " + path)
}

// boolLists builds a List<bool> column; valid == nil: no null lists.
func boolLists(rows [][]bool, valid []bool) arrow.Array {
	b := array.NewListBuilder(mem, arrow.FixedWidthTypes.Boolean)
	defer b.Release()
	vb := b.ValueBuilder().(*array.BooleanBuilder)
	for i, row := range rows {
		if valid != nil && !valid[i] {
			b.AppendNull()
			continue
		}
		b.Append(true)
		vb.AppendValues(row, nil)
	}
	return b.NewArray()
}

// floatAt reads element i of a float32 or float64 column as float64.
func floatAt(a arrow.Array, i int) float64 {
	switch c := a.(type) {
	case *array.Float64:
		return c.Value(i)
	case *array.Float32:
		return float64(c.Value(i))
	case *array.Int32:
		return float64(c.Value(i))
	case *array.Int64:
		return float64(c.Value(i))
	}
	panic(fmt.Sprintf("floatAt: %T", a))
}

// listAt reads list row i of a List<float32|float64> column.
func listAt(a arrow.Array, i int) []float64 {
	l := a.(*array.List)
	lo, hi := l.ValueOffsets(i)
	out := make([]float64, 0, hi-lo)
	for k := lo; k < hi; k++ {
		out = append(out, floatAt(l.ListValues(), int(k)))
	}
	return out
}

// g17 formats a reference value with every digit.
func g17(x float64) string { return fmt.Sprintf("%.17g", x) }

// group accumulators keyed "overall" and "model=<m>", in that README order.
func groupKeys(model string) []string { return []string{"overall", "model=" + model} }

func sortedGroups[T any](m map[string]T) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int {
		if (a == "overall") != (b == "overall") {
			if a == "overall" {
				return -1
			}
			return 1
		}
		return strings.Compare(a, b)
	})
	return keys
}

// ---- multilabel ----

const numLabels = 4

func multilabel(r *rand.Rand) *table {
	const n = 120
	model := pick(r, n, "a", "b")
	labels := make([][]float64, n)
	labelsBool := make([][]bool, n)
	soft := make([][]float64, n)
	s := make([][]float64, n)
	for i := range n {
		labels[i] = make([]float64, numLabels)
		labelsBool[i] = make([]bool, numLabels)
		soft[i] = make([]float64, numLabels)
		s[i] = make([]float64, numLabels)
		for k := range numLabels {
			z := r.NormFloat64()*1.6 - 0.4*float64(k) // rarer labels further right
			if r.Float64() < sigmoid(z) {
				labels[i][k], labelsBool[i][k] = 1, true
			}
			noise := 0.5
			if model[i] == "b" {
				noise = 1.0
			}
			// float32-exact logits, so the three kinds are the same prediction.
			s[i][k] = float64(float32(z + r.NormFloat64()*noise))
			soft[i][k] = sigmoid(z + r.NormFloat64())
		}
	}
	t := &table{}
	t.add("model", false, strs(model, nil))
	t.add("weight", false, f64s(weights(r, n), nil))
	t.add("labels", false, lists(list, false, labels, nil, numLabels))
	t.add("labels_bool", false, boolLists(labelsBool, nil))
	t.add("labels_soft", false, lists(list, false, soft, nil, numLabels))
	t.add("probs", false, lists(list, false, mapf(s, func(v []float64) []float64 { return mapf(v, sigmoid) }), nil, numLabels))
	t.add("logits", false, lists(list, true, s, nil, numLabels))
	t.add("logprobs", false, lists(list, false, mapf(s, func(v []float64) []float64 { return mapf(v, logSigmoid) }), nil, numLabels))
	return t
}

// binaryProbLoss is SPEC 3's binary prob loss.
func binaryProbLoss(y, p, eps float64) float64 {
	pc := min(max(p, eps), 1-eps)
	var l float64
	if y > 0 {
		l -= y * math.Log(pc)
	}
	if 1-y > 0 {
		l -= (1 - y) * math.Log1p(-pc)
	}
	return l
}

func multilabelRef() string {
	t := fixtureTable("multilabel/probs.parquet")
	defer t.release()
	eps := math.Ldexp(1, -52)
	type acc struct{ rows, w, loss, soft, y float64 }
	g := map[string]*acc{}
	model := t.col("model").(*array.String)
	for i := 0; i < model.Len(); i++ {
		w := floatAt(t.col("weight"), i)
		y, ys, p := listAt(t.col("labels"), i), listAt(t.col("labels_soft"), i), listAt(t.col("probs"), i)
		var l, ls, ym float64
		for k := range p {
			l += binaryProbLoss(y[k], p[k], eps)
			ls += binaryProbLoss(ys[k], p[k], eps)
			ym += y[k]
		}
		l /= float64(len(p))
		ls /= float64(len(p))
		ym /= float64(len(p))
		for _, k := range groupKeys(model.Value(i)) {
			if g[k] == nil {
				g[k] = &acc{}
			}
			a := g[k]
			a.rows++
			a.w += w
			a.loss += w * l
			a.soft += w * ls
			a.y += w * ym
		}
	}
	var b strings.Builder
	b.WriteString("Reference values (`probs`, prob kind, eps = 2^-52; a row's loss is the mean over its 4 labels of the binary log-loss; weighted by `weight`):\n\n")
	b.WriteString("| group | rows | weight_sum | cross_entropy (`labels`) | cross_entropy (`labels_soft`) | label_rate (`labels`) |\n| --- | --- | --- | --- | --- | --- |\n")
	for _, k := range sortedGroups(g) {
		a := g[k]
		fmt.Fprintf(&b, "| %s | %.0f | %s | %s | %s | %s |\n", k, a.rows, g17(a.w), g17(a.loss/a.w), g17(a.soft/a.w), g17(a.y/a.w))
	}
	b.WriteString("\n")
	return b.String()
}

func multilabelInvalid(r *rand.Rand) *table {
	nan := math.NaN()
	type row struct {
		y, p   []float64 // nil: null list
		expect string
		note   string
	}
	rows := []row{
		{[]float64{1, 0, 0, 1}, []float64{0.8, 0.1, 0.3, 0.6}, "valid", "first scored row: L = 4"},
		{[]float64{0, 0, 1, 0}, []float64{0.2, 0.2, 0.7, 0.1}, "valid", ""},
		{nil, []float64{0.5, 0.5, 0.5, 0.5}, "invalid", "null label list"},
		{[]float64{1, 0, 0, 1}, nil, "invalid", "null prediction list"},
		{[]float64{1, 0, 0, 1}, []float64{0.5, 0.5, 0.5}, "invalid", "ragged: 3 predictions for 4 labels"},
		{[]float64{1, 0, 0}, []float64{0.5, 0.5, 0.5}, "invalid", "length 3 where the first scored row has 4"},
		{[]float64{1, 0, 0, 1}, []float64{0.5, 1.5, 0.5, 0.5}, "invalid", "prob 1.5"},
		{[]float64{1, 0, 0, 1}, []float64{0.5, 0.5, nan, 0.5}, "invalid", "prob NaN"},
		{[]float64{1, 0, 0, 1}, []float64{0.5, 0.5, 0.5, nullMark}, "invalid", "null prediction element"},
		{[]float64{1, 2, 0, 1}, []float64{0.5, 0.5, 0.5, 0.5}, "invalid", "label 2"},
		{[]float64{1, 0, nan, 1}, []float64{0.5, 0.5, 0.5, 0.5}, "invalid", "label NaN"},
		{[]float64{1, 0, 0, 1}, []float64{0, 1, 0, 1}, "valid", "probs 0 and 1: clipped"},
	}
	for len(rows) < 20 {
		y := make([]float64, numLabels)
		p := make([]float64, numLabels)
		for k := range y {
			z := r.NormFloat64() * 1.6
			if r.Float64() < sigmoid(z) {
				y[k] = 1
			}
			p[k] = sigmoid(z + r.NormFloat64()*0.5)
		}
		rows = append(rows, row{y, p, "valid", ""})
	}
	ys := mapf(rows, func(r row) []float64 { return r.y })
	ps := mapf(rows, func(r row) []float64 { return r.p })
	t := &table{}
	t.add("labels", true, lists(list, false, ys, mapf(ys, func(v []float64) bool { return v != nil }), numLabels))
	t.add("probs", true, lists(list, false, ps, mapf(ps, func(v []float64) bool { return v != nil }), numLabels))
	t.add("expect", false, strs(mapf(rows, func(r row) string { return r.expect }), nil))
	t.add("note", false, strs(mapf(rows, func(r row) string { return r.note }), nil))
	return t
}

// ---- regression ----

func regression(r *rand.Rand) *table {
	const n = 150
	model := pick(r, n, "a", "b")
	target := make([]float64, n)
	pred := make([]float64, n)
	for i := range n {
		target[i] = 10 + 3*r.NormFloat64()
		sd := 1.0
		if model[i] == "b" {
			sd = 2.0
		}
		pred[i] = target[i] + 0.3 + sd*r.NormFloat64()
	}
	t := &table{}
	t.add("model", false, strs(model, nil))
	t.add("weight", false, f64s(weights(r, n), nil))
	t.add("target", false, f64s(target, nil))
	t.add("pred", false, f64s(pred, nil))
	t.add("target_int", false, i32s(mapf(target, func(x float64) int64 { return int64(math.RoundToEven(x)) }), nil))
	t.add("pred_f32", false, f32s(pred, nil))
	return t
}

func regressionRef() string {
	t := fixtureTable("regression/preds.parquet")
	defer t.release()
	type acc struct{ rows, w, se, ae float64 }
	var b strings.Builder
	b.WriteString("Reference values (weighted by `weight`; mse = sum w (pred - target)^2 / sum w, mae = sum w |pred - target| / sum w, rmse = sqrt(mse)):\n\n")
	for _, cols := range [][2]string{{"target", "pred"}, {"target_int", "pred_f32"}} {
		g := map[string]*acc{}
		model := t.col("model").(*array.String)
		for i := 0; i < model.Len(); i++ {
			w := floatAt(t.col("weight"), i)
			d := floatAt(t.col(cols[1]), i) - floatAt(t.col(cols[0]), i)
			for _, k := range groupKeys(model.Value(i)) {
				if g[k] == nil {
					g[k] = &acc{}
				}
				a := g[k]
				a.rows++
				a.w += w
				a.se += w * d * d
				a.ae += w * math.Abs(d)
			}
		}
		fmt.Fprintf(&b, "label `%s`, prediction `%s`:\n\n", cols[0], cols[1])
		b.WriteString("| group | rows | weight_sum | mse | mae | rmse |\n| --- | --- | --- | --- | --- | --- |\n")
		for _, k := range sortedGroups(g) {
			a := g[k]
			fmt.Fprintf(&b, "| %s | %.0f | %s | %s | %s | %s |\n", k, a.rows, g17(a.w), g17(a.se/a.w), g17(a.ae/a.w), g17(math.Sqrt(a.se/a.w)))
		}
		b.WriteString("\n")
	}
	return b.String()
}

func regressionInvalid(r *rand.Rand) *table {
	nan, inf := math.NaN(), math.Inf(1)
	type row struct {
		y, p, w          float64
		yNull, pNull, wN bool
		expect, note     string
	}
	rows := []row{
		{y: 1, p: 1.5, w: 1, expect: "valid", note: ""},
		{y: -2, p: -1, w: 1, expect: "valid", note: ""},
		{y: nan, p: 1, w: 1, expect: "invalid", note: "target NaN"},
		{y: 1, p: nan, w: 1, expect: "invalid", note: "prediction NaN"},
		{y: 1, p: inf, w: 1, expect: "invalid", note: "prediction +Inf"},
		{y: -inf, p: 1, w: 1, expect: "invalid", note: "target -Inf"},
		{y: 0, p: 1, w: 1, yNull: true, expect: "invalid", note: "null target"},
		{y: 1, p: 0, w: 1, pNull: true, expect: "invalid", note: "null prediction"},
		{y: 1, p: 2, w: 1, wN: true, expect: "invalid", note: "null weight"},
		{y: 1, p: 2, w: nan, expect: "invalid", note: "weight NaN"},
		{y: 1, p: 2, w: -1, expect: "invalid", note: "weight -1"},
		{y: 1, p: 3, w: 0, expect: "valid", note: "weight 0 is valid"},
	}
	for len(rows) < 20 {
		y := 10 + 3*r.NormFloat64()
		rows = append(rows, row{y: y, p: y + r.NormFloat64(), w: 0.5 + 2*r.Float64(), expect: "valid"})
	}
	not := func(b bool) bool { return !b }
	t := &table{}
	t.add("target", true, f64s(mapf(rows, func(r row) float64 { return r.y }), mapf(rows, func(r row) bool { return not(r.yNull) })))
	t.add("pred", true, f64s(mapf(rows, func(r row) float64 { return r.p }), mapf(rows, func(r row) bool { return not(r.pNull) })))
	t.add("weight", true, f64s(mapf(rows, func(r row) float64 { return r.w }), mapf(rows, func(r row) bool { return not(r.wN) })))
	t.add("expect", false, strs(mapf(rows, func(r row) string { return r.expect }), nil))
	t.add("note", false, strs(mapf(rows, func(r row) string { return r.note }), nil))
	return t
}

// ---- token ----

// tokSeq is one scored sequence of the token corpus.
type tokSeq struct {
	model        string
	doc          int64
	weight       float64
	lp           []float64 // ln p of each token, float64
	bytes, words []int64
	split        int // tokens [0, split) are in long.parquet, [split, n) in long-2.parquet
	pad          int // padding positions appended in list.parquet
}

// catProbs are the probabilities of "The cat sat on the mat" (model a, doc 0).
var (
	catProbs = []float64{0.2, 0.5, 0.1, 0.4, 0.6, 0.3}
	catBytes = []int64{3, 4, 4, 3, 4, 4} // "The", " cat", " sat", " on", " the", " mat"
)

// tokenCorpus draws the 40 sequences shared by token/long*.parquet and
// token/list.parquet, from a seed of its own: 20 documents (token bytes,
// word starts and a per-token difficulty), each scored by models a and b.
func tokenCorpus() []tokSeq {
	r := rand.New(rand.NewPCG(20261120, seedOf("token/corpus")))
	const docs = 20
	type doc struct {
		bytes, words []int64
		diff         []float64
	}
	ds := make([]doc, docs)
	for d := range ds {
		n := 5 + r.IntN(26)
		if d == 0 {
			n = len(catProbs)
		}
		var dc doc
		for k := range n {
			start := k == 0 || r.Float64() < 0.7
			var by int64
			if start {
				by = 1 + int64(r.IntN(7))
				if k > 0 {
					by++ // the leading space
				}
			} else {
				by = 1 + int64(r.IntN(4))
			}
			w := int64(0)
			if start {
				w = 1
			}
			dc.bytes = append(dc.bytes, by)
			dc.words = append(dc.words, w)
			dc.diff = append(dc.diff, 0.05+2.2*r.ExpFloat64())
		}
		if d == 0 {
			dc.bytes = slices.Clone(catBytes)
			dc.words = []int64{1, 1, 1, 1, 1, 1}
		}
		ds[d] = dc
	}
	var seqs []tokSeq
	for _, m := range []string{"a", "b"} {
		for d, dc := range ds {
			s := tokSeq{model: m, doc: int64(d), weight: 0.5 + 2*r.Float64(), bytes: dc.bytes, words: dc.words}
			for _, df := range dc.diff {
				if m == "a" {
					s.lp = append(s.lp, -df*math.Exp(0.3*r.NormFloat64()))
				} else {
					s.lp = append(s.lp, -1.25*df*math.Exp(0.45*r.NormFloat64()))
				}
			}
			if m == "a" && d == 0 {
				s.weight = 1
				s.lp = mapf(catProbs, math.Log)
			}
			i := len(seqs)
			n := len(s.lp)
			s.split = n
			if n >= 10 && i%3 == 2 {
				s.split = n - n/3
			}
			if i%5 == 4 {
				s.pad = 1 + i%3
			}
			seqs = append(seqs, s)
		}
	}
	return seqs
}

// tokenLong writes part 0 (long.parquet) or 1 (long-2.parquet) of the long
// layout, sequences randomly interleaved, positions in order per sequence.
func tokenLong(part int) func(r *rand.Rand) *table {
	return func(r *rand.Rand) *table {
		type cursor struct{ seq, next, end int }
		seqs := tokenCorpus()
		var active []cursor
		for i, s := range seqs {
			lo, hi := 0, s.split
			if part == 1 {
				lo, hi = s.split, len(s.lp)
			}
			if lo < hi {
				active = append(active, cursor{i, lo, hi})
			}
		}
		var model []string
		var doc, pos, nb, nw []int64
		var lp, w []float64
		for len(active) > 0 {
			j := r.IntN(len(active))
			c := &active[j]
			s := seqs[c.seq]
			model = append(model, s.model)
			doc = append(doc, s.doc)
			pos = append(pos, int64(c.next))
			lp = append(lp, s.lp[c.next])
			w = append(w, s.weight)
			nb = append(nb, s.bytes[c.next])
			nw = append(nw, s.words[c.next])
			c.next++
			if c.next == c.end {
				active = slices.Delete(active, j, j+1)
			}
		}
		t := &table{}
		t.add("model", false, strs(model, nil))
		t.add("doc_id", false, i64s(doc, nil))
		t.add("pos", false, i32s(pos, nil))
		t.add("logprob", false, f32s(lp, nil))
		t.add("logprob_f64", false, f64s(lp, nil))
		t.add("weight", false, f64s(w, nil))
		t.add("n_bytes", false, i32s(nb, nil))
		t.add("n_words", false, i32s(nw, nil))
		return t
	}
}

func tokenList(*rand.Rand) *table {
	seqs := tokenCorpus()
	lp := make([][]float64, len(seqs))
	mask := make([][]bool, len(seqs))
	var nb, nw []int64
	for i, s := range seqs {
		lp[i] = slices.Clone(s.lp)
		for range s.lp {
			mask[i] = append(mask[i], true)
		}
		for range s.pad {
			lp[i] = append(lp[i], 0)
			mask[i] = append(mask[i], false)
		}
		var b, w int64
		for k := range s.lp {
			b += s.bytes[k]
			w += s.words[k]
		}
		nb = append(nb, b)
		nw = append(nw, w)
	}
	t := &table{}
	t.add("model", false, strs(mapf(seqs, func(s tokSeq) string { return s.model }), nil))
	t.add("doc_id", false, i64s(mapf(seqs, func(s tokSeq) int64 { return s.doc }), nil))
	t.add("logprobs", false, lists(list, false, lp, nil, 0))
	t.add("logprobs_f32", false, lists(list, true, lp, nil, 0))
	t.add("mask", false, boolLists(mask, nil))
	t.add("n_bytes", false, i32s(nb, nil))
	t.add("n_words", false, i32s(nw, nil))
	t.add("weight", false, f64s(mapf(seqs, func(s tokSeq) float64 { return s.weight }), nil))
	return t
}

// tokenStats are SPEC 3's token sums for one sequence or one group.
type tokenStats struct {
	tokens                 int64
	w, nll, bytes, words   float64
	seqs                   int64
	seqPPL                 float64 // sum over sequences of their perplexity
	seqW2, seqWCE, seqWCE2 float64 // sums over sequences of W_s^2, W_s ce_s, W_s ce_s^2
}

// tokenGroups folds token rows (model, seq, weight, logprob, bytes, words)
// into sequences and groups, overall and per model. SPEC 3: a sequence is
// identified by its group keys and sequence value, so per model it is
// (model, doc_id) and in the overall row (no group keys) doc_id alone.
type tokenRow struct {
	model         string
	seq           int64
	w, lp, by, wd float64
}

func tokenGroups(rows []tokenRow) (groups map[string]*tokenStats, seqs map[string]map[string]*tokenStats) {
	seqs = map[string]map[string]*tokenStats{}
	for _, r := range rows {
		lp := r.lp
		if lp > 0 && lp <= 1e-6 {
			lp = 0
		}
		for _, g := range groupKeys(r.model) {
			if seqs[g] == nil {
				seqs[g] = map[string]*tokenStats{}
			}
			k := fmt.Sprint(r.seq)
			if seqs[g][k] == nil {
				seqs[g][k] = &tokenStats{}
			}
			s := seqs[g][k]
			s.tokens++
			s.w += r.w
			s.nll += r.w * -lp
			s.bytes += r.w * r.by
			s.words += r.w * r.wd
		}
	}
	groups = map[string]*tokenStats{}
	for _, g := range slices.Sorted(maps.Keys(seqs)) {
		a := &tokenStats{}
		groups[g] = a
		for _, k := range slices.Sorted(maps.Keys(seqs[g])) {
			s := seqs[g][k]
			ce := s.nll / s.w
			a.tokens += s.tokens
			a.seqs++
			a.w += s.w
			a.nll += s.nll
			a.bytes += s.bytes
			a.words += s.words
			a.seqPPL += math.Exp(ce)
			a.seqW2 += s.w * s.w
			a.seqWCE += s.w * ce
			a.seqWCE2 += s.w * ce * ce
		}
	}
	return groups, seqs
}

func (a *tokenStats) ce() float64 { return a.nll / a.w }

// stderrOf is SPEC 3's cross_entropy_stderr with the sequence as the unit,
// from the deviations (not from the sums of squares), over a group's
// sequences.
func stderrOf(seqs map[string]*tokenStats, a *tokenStats) string {
	m := a.ce()
	neff := a.w * a.w / a.seqW2
	if !(neff > 1) || math.IsInf(m, 0) {
		return "null"
	}
	var ss float64
	for _, k := range slices.Sorted(maps.Keys(seqs)) {
		s := seqs[k]
		d := s.nll/s.w - m
		ss += s.w * d * d
	}
	return g17(math.Sqrt(ss / (a.w * (neff - 1))))
}

func tokenLongRows(pred string) []tokenRow {
	var rows []tokenRow
	for _, p := range []string{"token/long.parquet", "token/long-2.parquet"} {
		t := fixtureTable(p)
		model := t.col("model").(*array.String)
		doc := t.col("doc_id").(*array.Int64)
		for i := 0; i < model.Len(); i++ {
			rows = append(rows, tokenRow{model.Value(i), doc.Value(i), floatAt(t.col("weight"), i),
				floatAt(t.col(pred), i), floatAt(t.col("n_bytes"), i), floatAt(t.col("n_words"), i)})
		}
		t.release()
	}
	return rows
}

func tokenTable(b *strings.Builder, rows []tokenRow) {
	groups, seqs := tokenGroups(rows)
	b.WriteString("| group | tokens | sequences | weight_sum | cross_entropy | perplexity | bits_per_byte | word_perplexity | seq_perplexity_mean | cross_entropy_stderr |\n")
	b.WriteString("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n")
	for _, k := range sortedGroups(groups) {
		a := groups[k]
		fmt.Fprintf(b, "| %s | %d | %d | %s | %s | %s | %s | %s | %s | %s |\n", k, a.tokens, a.seqs, g17(a.w),
			g17(a.ce()), g17(math.Exp(a.ce())), g17(a.nll/(math.Ln2*a.bytes)), g17(math.Exp(a.nll/a.words)),
			g17(a.seqPPL/float64(a.seqs)), stderrOf(seqs[k], a))
	}
	b.WriteString("\n")
}

func tokenLongRef() string {
	var b strings.Builder
	b.WriteString("Reference values over both long files (`token/long*.parquet`), `sequence: doc_id`, `weight`, `bytes: n_bytes`, `words: n_words`, group_by [model]. A sequence is identified by its group keys and doc_id (SPEC 3): (model, doc_id) per model, doc_id alone in the overall row, where both models' tokens of a document form one sequence (20 sequences). Token-weighted: cross_entropy = sum w (-logprob) / sum w, bits_per_byte = sum w (-logprob) / (ln 2 sum w n_bytes), word_perplexity = exp(sum w (-logprob) / sum w n_words), seq_perplexity_mean = unweighted mean over sequences of exp(sequence cross_entropy), cross_entropy_stderr with the sequence as the unit (SPEC 3).\n\n")
	b.WriteString("Prediction `logprob_f64` (float64):\n\n")
	tokenTable(&b, tokenLongRows("logprob_f64"))
	b.WriteString("Prediction `logprob` (float32, widened exactly to float64):\n\n")
	tokenTable(&b, tokenLongRows("logprob"))
	// The cat sentence, from the rendered rows.
	_, seqs := tokenGroups(tokenLongRows("logprob_f64"))
	_, seqs32 := tokenGroups(tokenLongRows("logprob"))
	c, c32 := seqs["model=a"]["0"], seqs32["model=a"]["0"]
	fmt.Fprintf(&b, "\"The cat sat on the mat\" (model a, doc_id 0; weight 1): tokens %d, nll = -ln(0.2 * 0.5 * 0.1 * 0.4 * 0.6 * 0.3) = -ln(0.00072) = %s, cross_entropy = nll / 6 = %s, perplexity = %s (= 0.00072^(-1/6)); bits_per_byte = nll / (22 ln 2) = %s, word_perplexity = %s (6 words). From the float32 `logprob` column: cross_entropy %s, perplexity %s.\n\n",
		c.tokens, g17(c.nll), g17(c.ce()), g17(math.Exp(c.ce())), g17(c.nll/(math.Ln2*c.bytes)), g17(math.Exp(c.nll/c.words)),
		g17(c32.ce()), g17(math.Exp(c32.ce())))
	return b.String()
}

func tokenListRef() string {
	t := fixtureTable("token/list.parquet")
	defer t.release()
	var rows []tokenRow
	model := t.col("model").(*array.String)
	doc := t.col("doc_id").(*array.Int64)
	mask := t.col("mask").(*array.List)
	mv := mask.ListValues().(*array.Boolean)
	padded := 0
	for i := 0; i < model.Len(); i++ {
		lp := listAt(t.col("logprobs"), i)
		lo, _ := mask.ValueOffsets(i)
		var scored []float64
		for k := range lp {
			if mv.Value(int(lo) + k) {
				scored = append(scored, lp[k])
			} else {
				padded++
			}
		}
		// bytes and words are per sequence: put them on its first token.
		for k, x := range scored {
			var by, wd float64
			if k == 0 {
				by, wd = floatAt(t.col("n_bytes"), i), floatAt(t.col("n_words"), i)
			}
			rows = append(rows, tokenRow{model.Value(i), doc.Value(i), floatAt(t.col("weight"), i), x, by, wd})
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Reference values recomputed from this file (`logprobs`, `mask`: %d padding positions not scored; a sequence's weight and n_bytes/n_words apply to all of its scored tokens); they equal the long layout's `logprob_f64` table above up to summation order:\n\n", padded)
	tokenTable(&b, rows)
	return b.String()
}

func tokenLogits(r *rand.Rand) *table {
	const vocab = 50
	var model []string
	var doc, target []int64
	var logits [][]float64
	var expect []string
	q := func(x float64) float64 { return math.Round(x*8) / 8 }
	seq := 0
	for len(target) < 300 {
		m := []string{"a", "b"}[seq%2]
		n := 10 + r.IntN(21)
		for k := 0; k < n && len(target) < 300; k++ {
			y := int64(r.IntN(vocab))
			z := make([]float64, vocab)
			for v := range z {
				z[v] = q(1.5 * r.NormFloat64())
			}
			boost := 2.5
			if m == "b" {
				boost = 1.5
			}
			z[y] = q(z[y] + boost)
			e := "valid"
			if k == 0 && seq%3 == 0 {
				y, e = -100, "ignored"
			}
			model = append(model, m)
			doc = append(doc, int64(seq/2))
			target = append(target, y)
			logits = append(logits, z)
			expect = append(expect, e)
		}
		seq++
	}
	t := &table{}
	t.add("model", false, strs(model, nil))
	t.add("doc_id", false, i64s(doc, nil))
	t.add("target", false, i64s(target, nil))
	t.add("logits", false, lists(list, true, logits, nil, vocab))
	t.add("expect", false, strs(expect, nil))
	return t
}

func tokenLogitsRef() string {
	t := fixtureTable("token/logits.parquet")
	defer t.release()
	model := t.col("model").(*array.String)
	doc := t.col("doc_id").(*array.Int64)
	target := t.col("target").(*array.Int64)
	var rows []tokenRow
	ignored := map[string]int{}
	for i := 0; i < model.Len(); i++ {
		y := target.Value(i)
		if y == -100 {
			for _, k := range groupKeys(model.Value(i)) {
				ignored[k]++
			}
			continue
		}
		z := listAt(t.col("logits"), i)
		m := slices.Max(z)
		var s float64
		for _, v := range z {
			s += math.Exp(v - m)
		}
		rows = append(rows, tokenRow{model.Value(i), doc.Value(i), 1, -(m + math.Log(s) - z[y]), 0, 0})
	}
	groups, seqs := tokenGroups(rows)
	var b strings.Builder
	b.WriteString("Reference values (`prediction: logits`, `prediction_kind: logit`, `label: target`, `sequence: doc_id`, group_by [model], unit weights; loss = logsumexp(z) - z[target]; bits_per_byte and word_perplexity are null):\n\n")
	b.WriteString("| group | rows | ignored_rows | tokens | sequences | cross_entropy | perplexity | seq_perplexity_mean | cross_entropy_stderr |\n| --- | --- | --- | --- | --- | --- | --- | --- | --- |\n")
	for _, k := range sortedGroups(groups) {
		a := groups[k]
		fmt.Fprintf(&b, "| %s | %d | %d | %d | %d | %s | %s | %s | %s |\n", k, a.tokens, ignored[k], a.tokens, a.seqs,
			g17(a.ce()), g17(math.Exp(a.ce())), g17(a.seqPPL/float64(a.seqs)), stderrOf(seqs[k], a))
	}
	b.WriteString("\n")
	return b.String()
}

func tokenInvalid(r *rand.Rand) *table {
	nan, inf := math.NaN(), math.Inf(1)
	type row struct {
		doc          int64
		lp           float64
		null         bool
		expect, note string
	}
	rows := []row{
		{doc: 0, lp: -1.2, expect: "valid"},
		{doc: 0, lp: -0.7, expect: "valid"},
		{doc: 1, lp: -2.3, expect: "valid"},
		{doc: 1, lp: 0.5, expect: "invalid", note: "logprob 0.5 > 1e-6 (first invalid row: row 3)"},
		{doc: 2, lp: nan, expect: "invalid", note: "logprob NaN"},
		{doc: 1, lp: 5e-7, expect: "valid", note: "logprob 5e-7 in (0, 1e-6]: counts as 0 (not clipping)"},
		{doc: 2, lp: 1e-6, expect: "valid", note: "logprob 1e-6 exactly: counts as 0"},
		{doc: 2, lp: 2e-6, expect: "invalid", note: "logprob 2e-6 > 1e-6"},
		{doc: 2, lp: 0, expect: "valid", note: "logprob 0: p = 1, loss 0"},
		{doc: 3, lp: -inf, expect: "valid", note: "logprob -Inf: valid, infinite loss (doc 3 and the overall cross_entropy are +inf)"},
		{doc: 1, null: true, expect: "invalid", note: "null logprob"},
		{doc: 3, lp: -0.1, expect: "valid"},
	}
	for len(rows) < 20 {
		rows = append(rows, row{doc: int64(len(rows) % 3), lp: -(0.05 + 2*r.ExpFloat64()), expect: "valid"})
	}
	t := &table{}
	t.add("doc_id", false, i64s(mapf(rows, func(r row) int64 { return r.doc }), nil))
	t.add("logprob", true, f64s(mapf(rows, func(r row) float64 { return r.lp }), mapf(rows, func(r row) bool { return !r.null })))
	t.add("expect", false, strs(mapf(rows, func(r row) string { return r.expect }), nil))
	t.add("note", false, strs(mapf(rows, func(r row) string { return r.note }), nil))
	return t
}

func tokenInvalidRef() string {
	t := fixtureTable("token/invalid.parquet")
	defer t.release()
	doc := t.col("doc_id").(*array.Int64)
	lp := t.col("logprob").(*array.Float64)
	expect := t.col("expect").(*array.String)
	var rows []tokenRow
	invalid := 0
	for i := 0; i < doc.Len(); i++ {
		if expect.Value(i) != "valid" {
			invalid++
			continue
		}
		rows = append(rows, tokenRow{"", doc.Value(i), 1, lp.Value(i), 0, 0})
	}
	groups, seqs := tokenGroups(rows)
	a := groups["overall"]
	fin := tokenStats{}
	for _, k := range slices.Sorted(maps.Keys(seqs["overall"])) {
		s := seqs["overall"][k]
		if k == "3" {
			continue
		}
		fin.tokens += s.tokens
		fin.nll += s.nll
		fin.w += s.w
	}
	return fmt.Sprintf("Reference (`on_invalid: skip`, `sequence: doc_id`, no weight, no group_by): rows %d, invalid_rows %d, tokens %d, sequences %d, cross_entropy +inf, perplexity +inf, cross_entropy_stderr null; without doc 3 (the -Inf): tokens %d, cross_entropy %s. `on_invalid: error` fails on row 3 (logprob 0.5).\n\n",
		a.tokens, invalid, a.tokens, a.seqs, fin.tokens, g17(fin.nll/fin.w))
}
