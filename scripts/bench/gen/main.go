// Command gen writes the large Parquet inputs of the benchmark harness
// (scripts/bench/run.sh, issue #4), one workload per call, deterministically:
// the same workload and size always give the same values (fixed seeds, one
// random stream per row group).
//
//	go run ./scripts/bench/gen -workload binary -scale 0.01 -out /tmp/evaljob-bench/binary-0.01.parquet
//
// Workloads (sizes at -scale 1):
//
//	binary      50M rows: model (4 values), slice (50 values) as dictionary
//	            strings, int64 label (0/1), float64 prob
//	multiclass  2M rows: model, int64 label (0..99), list<float32> logits (100)
//	tokens      50M rows, long layout, 100k sequences (contiguous, varying
//	            lengths): model, int64 doc_id, float32 logprob
//	vocab       20k tokens, long layout with logits, 100 sequences: model,
//	            int64 doc_id, int64 label (target token id), list<float32>
//	            logits (32000)
//
// Files are written with parquet-go: snappy, dictionary-encoded strings,
// required columns, row groups of 1M rows for scalar workloads and fewer for
// list workloads (a row group stays under ~64 MB of values). The file is
// written under a temporary name and renamed into place when complete, so an
// interrupted run never leaves a truncated file behind.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"time"

	"github.com/parquet-go/parquet-go"
)

// Base sizes at scale 1.
const (
	binaryRows     = 50_000_000
	multiclassRows = 2_000_000
	tokensRows     = 50_000_000
	tokensSeqs     = 100_000
	vocabRows      = 20_000
	vocabSeqs      = 100

	numClasses = 100
	vocabSize  = 32_000

	scalarRowGroupRows = 1_000_000
	// maxRowGroupValueBytes bounds a list workload's row group (raw values).
	maxRowGroupValueBytes = 64 << 20

	seed = 20261121
)

var (
	models = []string{"model-a", "model-b", "model-c", "model-d"}
	slices = func() []string {
		s := make([]string, 50)
		for i := range s {
			s[i] = fmt.Sprintf("slice-%02d", i)
		}
		return s
	}()
)

type binaryRow struct {
	Model string  `parquet:"model,dict"`
	Slice string  `parquet:"slice,dict"`
	Label int64   `parquet:"label"`
	Prob  float64 `parquet:"prob"`
}

type multiclassRow struct {
	Model  string    `parquet:"model,dict"`
	Label  int64     `parquet:"label"`
	Logits []float32 `parquet:"logits,list"`
}

type tokenRow struct {
	Model   string  `parquet:"model,dict"`
	DocID   int64   `parquet:"doc_id"`
	Logprob float32 `parquet:"logprob"`
}

type vocabRow struct {
	Model  string    `parquet:"model,dict"`
	DocID  int64     `parquet:"doc_id"`
	Label  int64     `parquet:"label"`
	Logits []float32 `parquet:"logits,list"`
}

func main() {
	workload := flag.String("workload", "", "binary | multiclass | tokens | vocab")
	scale := flag.Float64("scale", 1, "size relative to the full workload (0.01 = CI smoke size)")
	rows := flag.Int64("rows", 0, "exact number of rows (overrides -scale for the row count)")
	rgRows := flag.Int("rowgroup-rows", 0, "rows per row group (0 = workload default)")
	out := flag.String("out", "", "output .parquet file")
	flag.Parse()
	if *workload == "" || *out == "" || *scale <= 0 {
		fmt.Fprintln(os.Stderr, "usage: gen -workload binary|multiclass|tokens|vocab [-scale S | -rows N] -out FILE.parquet")
		os.Exit(2)
	}
	start := time.Now()
	n, err := generate(*workload, *scale, *rows, *rgRows, *out)
	if err != nil {
		fmt.Fprintf(os.Stderr, "gen: %s: %v\n", *workload, err)
		os.Exit(1)
	}
	st, _ := os.Stat(*out)
	var size int64
	if st != nil {
		size = st.Size()
	}
	fmt.Fprintf(os.Stderr, "gen: %s: %d rows, %.1f MB in %.1f s -> %s\n",
		*workload, n, float64(size)/1e6, time.Since(start).Seconds(), *out)
}

func scaled(base int64, scale float64, exact int64) int64 {
	if exact > 0 {
		return exact
	}
	return max(1, int64(math.Round(float64(base)*scale)))
}

func generate(workload string, scale float64, exactRows int64, rgRows int, out string) (int64, error) {
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return 0, err
	}
	tmp := out + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return 0, err
	}
	defer os.Remove(tmp) // no-op after the rename
	bw := bufio.NewWriterSize(f, 4<<20)

	var n int64
	switch workload {
	case "binary":
		n = scaled(binaryRows, scale, exactRows)
		err = writeBinary(bw, n, pick(rgRows, scalarRowGroupRows))
	case "multiclass":
		n = scaled(multiclassRows, scale, exactRows)
		err = writeMulticlass(bw, n, pick(rgRows, listRowGroupRows(numClasses)))
	case "tokens":
		n = scaled(tokensRows, scale, exactRows)
		seqs := min(n, max(scaled(tokensSeqs, scale, 0), 4))
		err = writeTokens(bw, n, seqs, pick(rgRows, scalarRowGroupRows))
	case "vocab":
		n = scaled(vocabRows, scale, exactRows)
		seqs := min(n, max(scaled(vocabSeqs, scale, 0), 4))
		err = writeVocab(bw, n, seqs, pick(rgRows, listRowGroupRows(vocabSize)))
	default:
		err = fmt.Errorf("unknown workload (want binary, multiclass, tokens or vocab)")
	}
	if err == nil {
		err = bw.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return 0, err
	}
	return n, os.Rename(tmp, out)
}

func pick(v, def int) int {
	if v > 0 {
		return v
	}
	return def
}

// listRowGroupRows keeps a row group of float32 lists of the given width
// under maxRowGroupValueBytes, as a power of two.
func listRowGroupRows(width int) int {
	n := 1
	for n*2*width*4 <= maxRowGroupValueBytes {
		n *= 2
	}
	return n
}

func writerOptions() []parquet.WriterOption {
	return []parquet.WriterOption{
		parquet.Compression(&parquet.Snappy),
		parquet.CreatedBy("evaljob-bench-gen", "1", ""),
	}
}

// rowGroups calls fill for each row group [lo, hi) with its own random
// stream, then flushes the row group.
func rowGroups(n int64, rgRows int, flush func() error, fill func(rng *rand.Rand, lo, hi int64) error) error {
	for rg, lo := uint64(0), int64(0); lo < n; rg, lo = rg+1, lo+int64(rgRows) {
		hi := min(n, lo+int64(rgRows))
		rng := rand.New(rand.NewPCG(seed, rg))
		if err := fill(rng, lo, hi); err != nil {
			return err
		}
		if err := flush(); err != nil {
			return err
		}
	}
	return nil
}

func sigmoid(z float64) float64 { return 1 / (1 + math.Exp(-z)) }

func writeBinary(w *bufio.Writer, n int64, rgRows int) error {
	pw := parquet.NewGenericWriter[binaryRow](w, writerOptions()...)
	batch := make([]binaryRow, 8192)
	// Models differ in sharpness, slices in base rate.
	rate := make([]float64, len(slices))
	for i := range rate {
		rate[i] = 0.1 + 0.8*float64(i)/float64(len(slices)-1)
	}
	err := rowGroups(n, rgRows, pw.Flush, func(rng *rand.Rand, lo, hi int64) error {
		for lo < hi {
			k := int(min(hi-lo, int64(len(batch))))
			for i := range batch[:k] {
				m := rng.IntN(len(models))
				s := rng.IntN(len(slices))
				var y int64
				if rng.Float64() < rate[s] {
					y = 1
				}
				z := math.Log(rate[s]/(1-rate[s])) + rng.NormFloat64()*1.5 + float64(2*y-1)*(0.4+0.4*float64(m))
				batch[i] = binaryRow{Model: models[m], Slice: slices[s], Label: y, Prob: sigmoid(z)}
			}
			if _, err := pw.Write(batch[:k]); err != nil {
				return err
			}
			lo += int64(k)
		}
		return nil
	})
	if err != nil {
		return err
	}
	return pw.Close()
}

func writeMulticlass(w *bufio.Writer, n int64, rgRows int) error {
	pw := parquet.NewGenericWriter[multiclassRow](w, writerOptions()...)
	const batchRows = 1024
	batch := make([]multiclassRow, batchRows)
	values := make([]float32, batchRows*numClasses)
	err := rowGroups(n, rgRows, pw.Flush, func(rng *rand.Rand, lo, hi int64) error {
		for lo < hi {
			k := int(min(hi-lo, batchRows))
			for i := range batch[:k] {
				m := rng.IntN(len(models))
				y := rng.IntN(numClasses)
				z := values[i*numClasses : (i+1)*numClasses : (i+1)*numClasses]
				for c := range z {
					z[c] = float32(rng.NormFloat64() * 2)
				}
				z[y] += float32(1.5 + 0.75*float64(m))
				batch[i] = multiclassRow{Model: models[m], Label: int64(y), Logits: z}
			}
			if _, err := pw.Write(batch[:k]); err != nil {
				return err
			}
			lo += int64(k)
		}
		return nil
	})
	if err != nil {
		return err
	}
	return pw.Close()
}

// seqLengths splits n tokens into seqs contiguous sequences of varying
// length (uniform around the mean), summing exactly to n.
func seqLengths(n, seqs int64) []int64 {
	rng := rand.New(rand.NewPCG(seed, 1<<40))
	lens := make([]int64, seqs)
	mean := float64(n) / float64(seqs)
	var total int64
	for i := range lens {
		lens[i] = max(1, int64(mean*(0.25+1.5*rng.Float64())))
		total += lens[i]
	}
	// Adjust to the exact total, one token at a time spread over sequences.
	for i := 0; total != n; i = (i + 1) % int(seqs) {
		if total < n {
			lens[i]++
			total++
		} else if lens[i] > 1 {
			lens[i]--
			total--
		}
	}
	return lens
}

// modelOf assigns each sequence one model, so a sequence is the same with
// and without the model key.
func modelOf(doc int64) string { return models[(uint64(doc)*0x9E3779B97F4A7C15)>>62] }

func writeTokens(w *bufio.Writer, n, seqs int64, rgRows int) error {
	pw := parquet.NewGenericWriter[tokenRow](w, writerOptions()...)
	batch := make([]tokenRow, 8192)
	lens := seqLengths(n, seqs)
	doc, left := int64(0), lens[0]
	err := rowGroups(n, rgRows, pw.Flush, func(rng *rand.Rand, lo, hi int64) error {
		for lo < hi {
			k := int(min(hi-lo, int64(len(batch))))
			for i := range batch[:k] {
				for left == 0 {
					doc++
					left = lens[doc]
				}
				left--
				m := modelOf(doc)
				scale := 1.5 + 0.25*float64(m[len(m)-1]-'a')
				batch[i] = tokenRow{Model: m, DocID: doc, Logprob: -float32(rng.ExpFloat64() * scale)}
			}
			if _, err := pw.Write(batch[:k]); err != nil {
				return err
			}
			lo += int64(k)
		}
		return nil
	})
	if err != nil {
		return err
	}
	return pw.Close()
}

func writeVocab(w *bufio.Writer, n, seqs int64, rgRows int) error {
	pw := parquet.NewGenericWriter[vocabRow](w, writerOptions()...)
	const batchRows = 16
	batch := make([]vocabRow, batchRows)
	values := make([]float32, batchRows*vocabSize)
	lens := seqLengths(n, seqs)
	doc, left := int64(0), lens[0]
	err := rowGroups(n, rgRows, pw.Flush, func(rng *rand.Rand, lo, hi int64) error {
		for lo < hi {
			k := int(min(hi-lo, batchRows))
			for i := range batch[:k] {
				for left == 0 {
					doc++
					left = lens[doc]
				}
				left--
				z := values[i*vocabSize : (i+1)*vocabSize : (i+1)*vocabSize]
				// Two uniform logits in [-4, 4) per random draw.
				for c := 0; c < vocabSize; c += 2 {
					u := rng.Uint64()
					z[c] = float32(uint32(u))*(8.0/(1<<32)) - 4
					z[c+1] = float32(uint32(u>>32))*(8.0/(1<<32)) - 4
				}
				y := rng.IntN(vocabSize)
				z[y] += 6 + 4*float32(rng.Float64())
				m := modelOf(doc)
				batch[i] = vocabRow{Model: m, DocID: doc, Label: int64(y), Logits: z}
			}
			if _, err := pw.Write(batch[:k]); err != nil {
				return err
			}
			lo += int64(k)
		}
		return nil
	})
	if err != nil {
		return err
	}
	return pw.Close()
}
