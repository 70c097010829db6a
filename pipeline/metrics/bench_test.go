package metrics

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

func reportRows(b *testing.B) {
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}

// expFloats returns 1024 exponentially distributed values (mean 1).
func expFloats() []float64 {
	rng := rand.New(rand.NewPCG(1, 1))
	xs := make([]float64, 1024)
	for i := range xs {
		xs[i] = rng.ExpFloat64()
	}
	return xs
}

func BenchmarkSumAdd(b *testing.B) {
	xs := expFloats()
	var s Sum
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		s.Add(xs[i&1023])
	}
	reportRows(b)
	if math.IsNaN(s.Float64()) {
		b.Fatal("NaN")
	}
}

// BenchmarkSumAddSlice adds runs of 1024 values: values/s is comparable
// with BenchmarkSumAdd's rows/s.
func BenchmarkSumAddSlice(b *testing.B) {
	xs := expFloats()
	var s Sum
	b.ResetTimer()
	for b.Loop() {
		s.AddSlice(xs)
	}
	b.ReportMetric(float64(b.N)*float64(len(xs))/b.Elapsed().Seconds(), "rows/s")
	if math.IsNaN(s.Float64()) {
		b.Fatal("NaN")
	}
}

func BenchmarkBinaryProb(b *testing.B) {
	rng := rand.New(rand.NewPCG(2, 2))
	ps := make([]float64, 1024)
	for i := range ps {
		ps[i] = rng.Float64()
	}
	var sink float64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		row, _ := Binary(Prob, ps[i&1023], float64(i&1), eps64, 0.5)
		sink += row.Loss
	}
	reportRows(b)
	_ = sink
}

func BenchmarkMulticlassLogit100(b *testing.B) {
	rng := rand.New(rand.NewPCG(3, 3))
	const rows, classes = 64, 100
	z := make([]float64, rows*classes)
	for i := range z {
		z[i] = rng.NormFloat64() * 3
	}
	scratch := make([]float64, classes)
	var sink float64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r := i % rows
		row, _ := Multiclass(Logit, z[r*classes:(r+1)*classes], i%classes, nil, 0, 0, scratch)
		sink += row.Loss
	}
	reportRows(b)
	_ = sink
}

func BenchmarkClassStatsAdd(b *testing.B) {
	for _, w := range []float64{1, 0.75} {
		name := "unit"
		if w != 1 {
			name = "weighted"
		}
		b.Run(name, func(b *testing.B) {
			s := NewClassStats(15)
			for i := 0; i < b.N; i++ {
				c := float64(i&1023) / 1024
				s.Add(w, 0.3+c, i&1 == 0, c*c, c, float64(i&1), float64(i&1), false)
			}
			reportRows(b)
		})
	}
}

// BenchmarkClassStatsAddBinaryUnits adds runs of 512 binary rows of weight 1
// as columns, as the binary fast path does per cell.
func BenchmarkClassStatsAddBinaryUnits(b *testing.B) {
	rng := rand.New(rand.NewPCG(5, 5))
	const n = 512
	loss, brier, conf, tgt := make([]float64, n), make([]float64, n), make([]float64, n), make([]float64, n)
	var correct int64
	for i := range n {
		y := float64(rng.IntN(2))
		row, _ := Binary(Prob, rng.Float64(), y, eps64, 0.5)
		loss[i], brier[i], conf[i], tgt[i] = row.Loss, BinaryBrier(row.P, y), row.P, y
		correct += b2i(row.Correct)
	}
	s := NewClassStats(15)
	b.ResetTimer()
	for b.Loop() {
		s.AddBinaryUnits(loss, brier, conf, tgt, correct, 0)
	}
	b.ReportMetric(float64(b.N)*n/b.Elapsed().Seconds(), "rows/s")
}

// BenchmarkCalibrationBins counts a cell's run of 320 rows into 15
// calibration bins (AddBinaryUnits' bin terms: binsVector with AVX-512),
// with confidences spread as a model's are, most near 0 and 1.
func BenchmarkCalibrationBins(b *testing.B) {
	rng := rand.New(rand.NewPCG(5, 5))
	const n = 320
	conf, tgt := make([]float64, n), make([]float64, n)
	for i := range n {
		y := float64(rng.IntN(2))
		z := rng.NormFloat64()*1.5 + (2*y-1)*0.8
		conf[i], tgt[i] = 1/(1+math.Exp(-z)), y
	}
	s := NewClassStats(15)
	b.Run(fmt.Sprint("vector=", expVectorized()), func(b *testing.B) {
		for b.Loop() {
			s.addBinaryBinsLocal(conf, tgt, true)
		}
		b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "rows/s")
	})
}

// BenchmarkSummary finalises a group's statistics: weighted rows, and unit
// weights (a group of one row, as with one group per request id).
func BenchmarkSummary(b *testing.B) {
	for _, c := range []struct {
		name string
		rows int
		w    func(c float64) float64
	}{
		{"weighted/10k", 10000, func(c float64) float64 { return 0.5 + c }},
		{"unit/1", 1, func(float64) float64 { return 1 }},
		{"unit/10k", 10000, func(float64) float64 { return 1 }},
	} {
		b.Run(c.name, func(b *testing.B) {
			s := NewClassStats(15)
			for i := range c.rows {
				x := float64(i&1023)/1024 + 0x1p-40
				s.Add(c.w(x), 0.3+x, i&1 == 0, x*x, x, float64(i&1), float64(i&1), false)
			}
			for b.Loop() {
				_ = s.Summary()
			}
		})
	}
}

// BenchmarkTokenLogitNLL32k scores rows of a 32k vocabulary (logits ~ N(0, 9)).
func BenchmarkTokenLogitNLL32k(b *testing.B) {
	rng := rand.New(rand.NewPCG(4, 4))
	const rows, vocab = 8, 32000
	z := make([]float64, rows*vocab)
	for i := range z {
		z[i] = rng.NormFloat64() * 3
	}
	var sink float64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r := i % rows
		l, _ := TokenLogitNLL(z[r*vocab:(r+1)*vocab], (i*7919)%vocab)
		sink += l
	}
	reportRows(b)
	b.ReportMetric(float64(b.N)*vocab/b.Elapsed().Seconds(), "logits/s")
	_ = sink
}

func BenchmarkSeqStatsAddToken(b *testing.B) {
	rng := rand.New(rand.NewPCG(5, 5))
	nlls := make([]float64, 1024)
	for i := range nlls {
		nlls[i] = -math.Log(rng.Float64())
	}
	for _, w := range []float64{1, 0.75} {
		name := "unit"
		if w != 1 {
			name = "weighted"
		}
		b.Run(name, func(b *testing.B) {
			var s SeqStats
			for i := 0; i < b.N; i++ {
				s.AddToken(w, nlls[i&1023])
			}
			reportRows(b)
		})
	}
}

// BenchmarkSeqStatsAddUnitLogprobs adds runs of 64 unit-weight tokens, as
// the long-layout token fast path does (rows/s is tokens/s).
func BenchmarkSeqStatsAddUnitLogprobs(b *testing.B) {
	rng := rand.New(rand.NewPCG(5, 6))
	lps := make([]float64, 1024)
	for i := range lps {
		lps[i] = math.Log(rng.Float64())
	}
	var s SeqStats
	for i := 0; i < b.N; i += 64 {
		k := i & 1023
		s.AddUnitLogprobs(lps[k : k+min(64, b.N-i)])
	}
	reportRows(b)
}

// BenchmarkTokenStatsAddSequence adds finished sequences of 16 tokens whose
// sums are float64 values exactly (float32 nlls, unit weights: the fast
// path) or not (float64 nlls: the exact big-integer quotient).
func BenchmarkTokenStatsAddSequence(b *testing.B) {
	for _, exact := range []bool{true, false} {
		name := "exact"
		if !exact {
			name = "inexact"
		}
		b.Run(name, func(b *testing.B) {
			rng := rand.New(rand.NewPCG(6, 6))
			seqs := make([]SeqStats, 64)
			for i := range seqs {
				for k := 0; k < 16; k++ {
					nll := -math.Log(rng.Float64())
					if exact {
						nll = float64(float32(nll))
					}
					seqs[i].AddToken(1, nll)
				}
			}
			var g TokenStats
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				g.AddSequence(&seqs[i&63])
			}
			reportRows(b)
		})
	}
}

func BenchmarkRegStatsAdd(b *testing.B) {
	var s RegStats
	for i := 0; i < b.N; i++ {
		c := float64(i&1023) / 1024
		s.Add(0.5+c, c, 0.3)
	}
	reportRows(b)
}

// BenchmarkClassStatsMultilabel adds rows of 8 labels with AddLoss and AddPair.
func BenchmarkClassStatsMultilabel(b *testing.B) {
	s := NewClassStats(15)
	for i := 0; i < b.N; i++ {
		c := float64(i&1023) / 1024
		s.AddLoss(0.75, 0.3+c, false)
		for k := 0; k < 8; k++ {
			s.AddPair(0.75, k&1 == 0, c*c, c, float64(k&1), float64(k&1))
		}
	}
	reportRows(b)
}
