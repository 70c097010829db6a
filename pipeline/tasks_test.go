package pipeline

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/memory"

	"github.com/evaljob/evaljob/config"
)

// ---- regression ----

func TestRegressionAgainstReference(t *testing.T) {
	dir := t.TempDir()
	r := rand.New(rand.NewPCG(21, 1))
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "model", Type: arrow.BinaryTypes.String},
		{Name: "target", Type: arrow.PrimitiveTypes.Int32},
		{Name: "pred", Type: arrow.PrimitiveTypes.Float64},
		{Name: "weight", Type: arrow.PrimitiveTypes.Float64},
	}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	type row struct {
		model   string
		y, p, w float64
	}
	var rows []row
	for i := range 1500 {
		rw := row{model: []string{"x", "y"}[i%2], y: float64(r.IntN(100)), w: 0.5 + r.Float64()}
		rw.p = rw.y + r.NormFloat64()*3
		rows = append(rows, rw)
		b.Field(0).(*array.StringBuilder).Append(rw.model)
		b.Field(1).(*array.Int32Builder).Append(int32(rw.y))
		b.Field(2).(*array.Float64Builder).Append(rw.p)
		b.Field(3).(*array.Float64Builder).Append(rw.w)
	}
	rec := b.NewRecord()
	b.Release()
	defer rec.Release()
	writeParquet(t, filepath.Join(dir, "reg.parquet"), rec, 200)

	cfg := jobConfig("regression", []string{filepath.Join(dir, "reg.parquet")}, "target", "pred")
	cfg.Columns.Weight = "weight"
	cfg.GroupBy = config.GroupSets{{"model"}}
	sum := summaryOf(t, cfg)
	want := "model,group_set,rows,invalid_rows,ignored_rows,clipped_rows,weight_sum,mse,mae,rmse,loss_sum,loss_sq_sum,weight_sq_sum,abs_error_sum"
	if got := strings.Join(sum.names(), ","); got != want {
		t.Fatalf("columns\n got %s\nwant %s", got, want)
	}
	for i, model := range []string{"", "x", "y"} {
		var ws, sq, ab []float64
		for _, rw := range rows {
			if model == "" || rw.model == model {
				e := rw.p - rw.y
				ws, sq, ab = append(ws, rw.w), append(sq, e*e), append(ab, math.Abs(e))
			}
		}
		mse, _ := exactMean(ws, sq)
		mae, _ := exactMean(ws, ab)
		for name, want := range map[string]float64{"mse": mse, "mae": mae} {
			if got, ok := sum.float(name, i); !ok || !closeTo(got, want) {
				t.Errorf("%s %s = %v, want %v", model, name, got, want)
			}
		}
		if got, _ := sum.float("rmse", i); math.Abs(got-math.Sqrt(mse)) > 1e-12*math.Sqrt(mse) {
			t.Errorf("%s rmse = %v, want %v", model, got, math.Sqrt(mse))
		}
		if got := sum.int("rows", i); got != int64(len(ws)) {
			t.Errorf("%s rows = %d, want %d", model, got, len(ws))
		}
	}
}

// ---- multilabel ----

func TestMultilabelAgainstReference(t *testing.T) {
	dir := t.TempDir()
	r := rand.New(rand.NewPCG(22, 1))
	const l = 3
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "labels", Type: arrow.ListOf(arrow.FixedWidthTypes.Boolean)},
		{Name: "probs", Type: arrow.ListOf(arrow.PrimitiveTypes.Float64)},
		{Name: "weight", Type: arrow.PrimitiveTypes.Float64},
	}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	var ys, ps [][]float64
	var ws []float64
	for range 400 {
		y, p := make([]float64, l), make([]float64, l)
		b.Field(0).(*array.ListBuilder).Append(true)
		b.Field(1).(*array.ListBuilder).Append(true)
		for k := range l {
			y[k] = float64(r.IntN(2))
			p[k] = r.Float64()
			b.Field(0).(*array.ListBuilder).ValueBuilder().(*array.BooleanBuilder).Append(y[k] == 1)
			b.Field(1).(*array.ListBuilder).ValueBuilder().(*array.Float64Builder).Append(p[k])
		}
		w := 0.5 + r.Float64()
		b.Field(2).(*array.Float64Builder).Append(w)
		ys, ps, ws = append(ys, y), append(ps, p), append(ws, w)
	}
	rec := b.NewRecord()
	b.Release()
	defer rec.Release()
	writeParquet(t, filepath.Join(dir, "ml.parquet"), rec, 64)

	cfg := jobConfig("multilabel", []string{filepath.Join(dir, "ml.parquet")}, "labels", "probs")
	cfg.Columns.Weight = "weight"
	sum := summaryOf(t, cfg)
	var ls, pairW, correct, brier, label []float64
	for i := range ys {
		var rowLoss float64
		for k := range l {
			rowLoss += refBinaryLoss(ps[i][k], ys[i][k])
			pairW = append(pairW, ws[i])
			c := 0.0
			if (ps[i][k] >= 0.5) == (ys[i][k] >= 0.5) {
				c = 1
			}
			correct = append(correct, c)
			brier = append(brier, (ps[i][k]-ys[i][k])*(ps[i][k]-ys[i][k]))
			label = append(label, ys[i][k])
		}
		ls = append(ls, rowLoss/l)
	}
	ce, _ := exactMean(ws, ls)
	acc, _ := exactMean(pairW, correct)
	br, _ := exactMean(pairW, brier)
	lr, _ := exactMean(pairW, label)
	se, _ := refStderr(ws, ls)
	for name, want := range map[string]float64{"cross_entropy": ce, "accuracy": acc, "brier": br, "label_rate": lr, "cross_entropy_stderr": se} {
		if got, ok := sum.float(name, 0); !ok || !closeTo(got, want) {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
}

// ---- token ----

// tokenSeq is one sequence of the token tests.
type tokenSeq struct {
	model       string
	doc         int64
	lps         []float64 // log-probabilities
	weight      float64
	bytes, word []int32
}

// tokenSeqs makes sequences, the first "The cat sat on the mat".
func tokenSeqs(n int, seed uint64) []tokenSeq {
	r := rand.New(rand.NewPCG(seed, 3))
	cat := tokenSeq{model: "m0", doc: 0, weight: 1,
		lps:   []float64{math.Log(0.2), math.Log(0.5), math.Log(0.1), math.Log(0.4), math.Log(0.6), math.Log(0.3)},
		bytes: []int32{3, 4, 4, 3, 4, 4}, word: []int32{1, 1, 1, 1, 1, 1}}
	seqs := []tokenSeq{cat}
	for d := 1; d < n; d++ {
		s := tokenSeq{model: fmt.Sprintf("m%d", d%2), doc: int64(d), weight: 0.5 + r.Float64()}
		for range 3 + r.IntN(20) {
			s.lps = append(s.lps, -r.ExpFloat64()*2)
			s.bytes = append(s.bytes, int32(1+r.IntN(6)))
			s.word = append(s.word, int32(r.IntN(2)))
		}
		seqs = append(seqs, s)
	}
	return seqs
}

// writeTokenLong writes the sequences one row per token, interleaved
// round-robin so a sequence's rows are not contiguous, over files of
// perFile rows and row groups of 17 rows.
func writeTokenLong(t *testing.T, dir string, seqs []tokenSeq, perFile int) []string {
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "model", Type: arrow.BinaryTypes.String},
		{Name: "doc_id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "logprob", Type: arrow.PrimitiveTypes.Float64},
		{Name: "weight", Type: arrow.PrimitiveTypes.Float64},
		{Name: "n_bytes", Type: arrow.PrimitiveTypes.Int32},
		{Name: "n_words", Type: arrow.PrimitiveTypes.Int32},
	}, nil)
	var paths []string
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	rows := 0
	flush := func() {
		rec := b.NewRecord()
		path := filepath.Join(dir, fmt.Sprintf("long-%02d.parquet", len(paths)))
		writeParquet(t, path, rec, 17)
		rec.Release()
		paths = append(paths, path)
		rows = 0
	}
	for pos := 0; ; pos++ {
		any := false
		for _, s := range seqs {
			if pos >= len(s.lps) {
				continue
			}
			any = true
			b.Field(0).(*array.StringBuilder).Append(s.model)
			b.Field(1).(*array.Int64Builder).Append(s.doc)
			b.Field(2).(*array.Float64Builder).Append(s.lps[pos])
			b.Field(3).(*array.Float64Builder).Append(s.weight)
			b.Field(4).(*array.Int32Builder).Append(s.bytes[pos])
			b.Field(5).(*array.Int32Builder).Append(s.word[pos])
			if rows++; rows == perFile {
				flush()
			}
		}
		if !any {
			break
		}
	}
	if rows > 0 {
		flush()
	}
	b.Release()
	return paths
}

// writeTokenList writes one row per sequence with a list of log-probabilities
// and a mask (two padding positions, masked out, with invalid values).
func writeTokenList(t *testing.T, path string, seqs []tokenSeq) {
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "model", Type: arrow.BinaryTypes.String},
		{Name: "doc_id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "logprobs", Type: arrow.ListOf(arrow.PrimitiveTypes.Float64)},
		{Name: "mask", Type: arrow.ListOf(arrow.FixedWidthTypes.Boolean)},
		{Name: "weight", Type: arrow.PrimitiveTypes.Float64},
		{Name: "n_bytes", Type: arrow.PrimitiveTypes.Int32},
		{Name: "n_words", Type: arrow.PrimitiveTypes.Int32},
	}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	for _, s := range seqs {
		b.Field(0).(*array.StringBuilder).Append(s.model)
		b.Field(1).(*array.Int64Builder).Append(s.doc)
		lp, mk := b.Field(2).(*array.ListBuilder), b.Field(3).(*array.ListBuilder)
		lp.Append(true)
		mk.Append(true)
		var nb, nw int32
		for k, a := range s.lps {
			lp.ValueBuilder().(*array.Float64Builder).Append(a)
			mk.ValueBuilder().(*array.BooleanBuilder).Append(true)
			nb += s.bytes[k]
			nw += s.word[k]
		}
		lp.ValueBuilder().(*array.Float64Builder).AppendValues([]float64{5, math.NaN()}, nil) // padding: not checked
		mk.ValueBuilder().(*array.BooleanBuilder).AppendValues([]bool{false, false}, nil)
		b.Field(4).(*array.Float64Builder).Append(s.weight)
		b.Field(5).(*array.Int32Builder).Append(nb)
		b.Field(6).(*array.Int32Builder).Append(nw)
	}
	rec := b.NewRecord()
	b.Release()
	writeParquet(t, path, rec, 7)
	rec.Release()
}

func tokenConfig(inputs []string, pred string) *config.Config {
	cfg := jobConfig("token", inputs, "", pred)
	cfg.Columns.PredictionKind = "logprob"
	cfg.Columns.Sequence = "doc_id"
	cfg.Columns.Weight = "weight"
	cfg.Columns.Bytes = "n_bytes"
	cfg.Columns.Words = "n_words"
	cfg.GroupBy = config.GroupSets{{"model"}}
	return cfg
}

func TestTokenAgainstReference(t *testing.T) {
	dir := t.TempDir()
	seqs := tokenSeqs(30, 1)
	paths := writeTokenLong(t, dir, seqs, 150) // several files: sequences cross files and row groups
	cfg := tokenConfig(paths, "logprob")
	cfg.Output.PerRow = true
	sum := summaryOf(t, cfg)
	want := "model,group_set,rows,invalid_rows,ignored_rows,clipped_rows,sequences,tokens,weight_sum,cross_entropy," +
		"perplexity,bits_per_token,seq_perplexity_mean,bits_per_byte,word_perplexity,cross_entropy_stderr,loss_sum," +
		"loss_sq_sum,weight_sq_sum,nll_sum,bytes_sum,words_sum,seq_perplexity_sum"
	if got := strings.Join(sum.names(), ","); got != want {
		t.Fatalf("columns\n got %s\nwant %s", got, want)
	}
	for i, model := range []string{"", "m0", "m1"} {
		var tokW, nll, bytesW, wordsW, seqW, seqCE []float64
		var seqPPL float64
		var nseq, ntok int64
		for _, s := range seqs {
			if model != "" && s.model != model {
				continue
			}
			nseq++
			var sn float64
			for k, a := range s.lps {
				ntok++
				tokW = append(tokW, s.weight)
				nll = append(nll, -a)
				bytesW = append(bytesW, float64(s.bytes[k]))
				wordsW = append(wordsW, float64(s.word[k]))
				sn -= a
			}
			ce := sn / float64(len(s.lps)) // constant weight within a sequence
			seqW = append(seqW, s.weight*float64(len(s.lps)))
			seqCE = append(seqCE, ce)
			seqPPL += math.Exp(ce)
		}
		ce, _ := exactMean(tokW, nll)
		nllSum, _ := exactMean(tokW, nll)
		var wsum float64
		for _, w := range tokW {
			wsum += w
		}
		nllSum *= wsum
		bw, _ := exactMean(tokW, bytesW)
		ww, _ := exactMean(tokW, wordsW)
		se, _ := refStderr(seqW, seqCE)
		if sum.int("sequences", i) != nseq || sum.int("tokens", i) != ntok || sum.int("rows", i) != ntok {
			t.Errorf("%q: sequences %d tokens %d rows %d, want %d %d %d", model, sum.int("sequences", i), sum.int("tokens", i), sum.int("rows", i), nseq, ntok, ntok)
		}
		for name, want := range map[string]float64{
			"cross_entropy":        ce,
			"perplexity":           math.Exp(ce),
			"bits_per_token":       ce / math.Ln2,
			"bits_per_byte":        ce / (bw * math.Ln2), // sum nll/(ln2 sum bytes), weights cancel
			"word_perplexity":      math.Exp(ce / ww),
			"seq_perplexity_mean":  seqPPL / float64(nseq),
			"cross_entropy_stderr": se,
		} {
			got, ok := sum.float(name, i)
			if !ok || math.Abs(got-want) > 1e-12*math.Abs(want) {
				t.Errorf("%q: %s = %v, want %v", model, name, got, want)
			}
		}
		if got, _ := sum.float("loss_sum", i); got != mustFloat(sum.float("nll_sum", i)) {
			t.Errorf("%q: loss_sum %v differs from nll_sum", model, got)
		}
	}

	// rows.parquet: one row per sequence, in order of first appearance;
	// "The cat sat on the mat" is the mean of its six -ln p.
	rt := openTable(t, filepath.Join(cfg.Output.Dir, RowsFile))
	if got := strings.Join(rt.names(), ","); got != "model,doc_id,tokens,cross_entropy,perplexity" {
		t.Fatalf("rows.parquet columns %s", got)
	}
	if rt.tbl.NumRows() != int64(len(seqs)) {
		t.Fatalf("rows.parquet has %d rows, want %d sequences", rt.tbl.NumRows(), len(seqs))
	}
	for i, s := range seqs { // interleaved writing: first appearance is doc order
		if d := rt.int("doc_id", i); d != s.doc {
			t.Fatalf("row %d: doc_id %d, want %d", i, d, s.doc)
		}
	}
	catCE := -(math.Log(0.2) + math.Log(0.5) + math.Log(0.1) + math.Log(0.4) + math.Log(0.6) + math.Log(0.3)) / 6
	if got, _ := rt.float("cross_entropy", 0); math.Abs(got-catCE) > 1e-15 {
		t.Errorf("The cat sat on the mat: cross_entropy %v, want %v", got, catCE)
	}
	if got, _ := rt.float("perplexity", 0); math.Abs(got-math.Exp(catCE)) > 1e-14 {
		t.Errorf("The cat sat on the mat: perplexity %v, want %v", got, math.Exp(catCE))
	}
	if rt.int("tokens", 0) != 6 {
		t.Errorf("The cat sat on the mat: %d tokens", rt.int("tokens", 0))
	}
}

func mustFloat(v float64, _ bool) float64 { return v }

// The long and the list layouts of the same tokens give the same group
// results; so does splitting the long rows over more files.
func TestTokenLayoutsAgree(t *testing.T) {
	dir := t.TempDir()
	seqs := tokenSeqs(25, 2)
	one := writeTokenLong(t, filepath.Join(dir, "one"), seqs, 1<<20)
	split := writeTokenLong(t, filepath.Join(dir, "split"), seqs, 40)
	list := filepath.Join(dir, "list.parquet")
	writeTokenList(t, list, seqs)

	a := runJob(t, tokenConfig(one, "logprob"))
	if b := runJob(t, tokenConfig(split, "logprob")); !bytes.Equal(a, b) {
		t.Error("splitting the sequences over files and row groups changed the summary")
	}
	cfg := tokenConfig([]string{list}, "logprobs")
	cfg.Columns.Mask = "mask"
	longSum := summaryOf(t, tokenConfig(one, "logprob"))
	listSum := summaryOf(t, cfg)
	for _, name := range metricColumns("token") {
		for i := range 3 {
			x, xok := longSum.float(name.name, i)
			y, yok := listSum.float(name.name, i)
			if x != y || xok != yok {
				t.Errorf("row %d %s: long %v, list %v", i, name.name, x, y)
			}
		}
	}
	for i := range 3 {
		if longSum.int("sequences", i) != listSum.int("sequences", i) || longSum.int("tokens", i) != listSum.int("tokens", i) {
			t.Errorf("row %d: sequences/tokens differ between layouts", i)
		}
	}
}

func TestTokenDeterminism(t *testing.T) {
	paths := writeTokenLong(t, t.TempDir(), tokenSeqs(40, 3), 200)
	checkDeterminism(t, func() *config.Config { return tokenConfig(paths, "logprob") }, []int{1, 9, 0})
}

// Token logits: nll = logsumexp(z) - z[target]; ignore_index applies.
func TestTokenLogits(t *testing.T) {
	dir := t.TempDir()
	r := rand.New(rand.NewPCG(23, 1))
	const vocab = 50
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "doc_id", Type: arrow.BinaryTypes.String},
		{Name: "target", Type: arrow.PrimitiveTypes.Int64},
		{Name: "logits", Type: arrow.ListOf(arrow.PrimitiveTypes.Float32)},
	}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	var nll []float64
	ignored := 0
	for i := range 300 {
		y := int64(r.IntN(vocab))
		if i%37 == 5 {
			y = -100
			ignored++
		}
		z := make([]float32, vocab)
		lb := b.Field(2).(*array.ListBuilder)
		lb.Append(true)
		for k := range z {
			z[k] = float32(r.NormFloat64() * 3)
			lb.ValueBuilder().(*array.Float32Builder).Append(z[k])
		}
		b.Field(0).(*array.StringBuilder).Append(fmt.Sprintf("d%d", i%7))
		b.Field(1).(*array.Int64Builder).Append(y)
		if y >= 0 {
			var s float64
			for _, v := range z {
				s += math.Exp(float64(v))
			}
			nll = append(nll, math.Log(s)-float64(z[y]))
		}
	}
	rec := b.NewRecord()
	b.Release()
	defer rec.Release()
	writeParquet(t, filepath.Join(dir, "logits.parquet"), rec, 50)

	cfg := jobConfig("token", []string{filepath.Join(dir, "logits.parquet")}, "target", "logits")
	cfg.Columns.PredictionKind = "logit"
	cfg.Columns.Sequence = "doc_id"
	sum := summaryOf(t, cfg)
	ones := make([]float64, len(nll))
	for i := range ones {
		ones[i] = 1
	}
	want, _ := exactMean(ones, nll)
	if got, _ := sum.float("cross_entropy", 0); math.Abs(got-want) > 1e-12*want {
		t.Errorf("cross_entropy %v, want %v", got, want)
	}
	if sum.int("ignored_rows", 0) != int64(ignored) || sum.int("sequences", 0) != 7 || sum.int("tokens", 0) != int64(len(nll)) {
		t.Errorf("ignored %d sequences %d tokens %d, want %d 7 %d", sum.int("ignored_rows", 0), sum.int("sequences", 0), sum.int("tokens", 0), ignored, len(nll))
	}
}
