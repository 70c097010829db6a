// Command gen writes the two Parquet inputs of the join benchmark
// (scripts/bench/join/run.sh, issue #7): a prediction file and a label file
// with the same request ids in two different shuffled orders,
// deterministically (fixed seeds, one random stream per row group, the ids'
// orders and the labels pure functions of the row number and the id).
//
//	go run ./scripts/bench/join/gen -scale 0.01 \
//	    -predictions /tmp/evaljob-bench/join-s0.01-v1-predictions.parquet \
//	    -labels /tmp/evaljob-bench/join-s0.01-v1-labels.parquet
//
// At -scale 1 both files have N = 10M rows:
//
//	predictions  request_id int64 (0..N-1 in a scrambled order), model
//	             (4 values, dictionary string), prob float64 in (0,1)
//	labels       request_id int64 (the same ids, another scrambled order),
//	             label int64 (0/1)
//
// The orders are two keyed Feistel permutations of 0..N-1 (cycle-walking on
// the next power of four), so every id occurs exactly once in each file, no
// id order is shared between the files, and nothing of size N is held in
// memory. A row's label depends on its id alone (a hash, positive rate 30%),
// and its prob is a noisy sigmoid that leans towards the label, more so for
// the later models: the join has to pair the right rows for the loss to come
// out right.
//
// Files are written with parquet-go: snappy, dictionary-encoded strings,
// required columns, row groups of 1M rows, each under a temporary name
// renamed into place when complete.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"math"
	"math/bits"
	"math/rand/v2"
	"os"
	"path/filepath"
	"time"

	"github.com/parquet-go/parquet-go"
)

const (
	baseRows    = 10_000_000
	rowGroupRow = 1_000_000
	seed        = 20261207

	// Keys of the two permutations, and the salt of the label hash.
	predictionsKey = 0x5EED_0001
	labelsKey      = 0x5EED_0002
	labelSalt      = 0xD6E8_FEB8_6659_FD93

	positiveRate = 0.3
)

var models = []string{"model-a", "model-b", "model-c", "model-d"}

type predictionRow struct {
	RequestID int64   `parquet:"request_id"`
	Model     string  `parquet:"model,dict"`
	Prob      float64 `parquet:"prob"`
}

type labelRow struct {
	RequestID int64 `parquet:"request_id"`
	Label     int64 `parquet:"label"`
}

func main() {
	scale := flag.Float64("scale", 1, "size relative to the full workload (0.01 = CI smoke size)")
	rows := flag.Int64("rows", 0, "exact number of rows of each file (overrides -scale)")
	rgRows := flag.Int("rowgroup-rows", rowGroupRow, "rows per row group")
	predOut := flag.String("predictions", "", "output prediction .parquet file")
	labelOut := flag.String("labels", "", "output label .parquet file")
	flag.Parse()
	if *predOut == "" || *labelOut == "" || *scale <= 0 || *rgRows <= 0 {
		fmt.Fprintln(os.Stderr, "usage: gen [-scale S | -rows N] -predictions FILE.parquet -labels FILE.parquet")
		os.Exit(2)
	}
	n := *rows
	if n <= 0 {
		n = max(1, int64(math.Round(baseRows**scale)))
	}
	for _, f := range []struct {
		what, out string
		write     func(w *bufio.Writer, n int64, rgRows int) error
	}{
		{"predictions", *predOut, writePredictions},
		{"labels", *labelOut, writeLabels},
	} {
		start := time.Now()
		if err := writeFile(f.out, func(w *bufio.Writer) error { return f.write(w, n, *rgRows) }); err != nil {
			fmt.Fprintf(os.Stderr, "gen: %s: %v\n", f.what, err)
			os.Exit(1)
		}
		var size int64
		if st, err := os.Stat(f.out); err == nil {
			size = st.Size()
		}
		fmt.Fprintf(os.Stderr, "gen: join %s: %d rows, %.1f MB in %.1f s -> %s\n",
			f.what, n, float64(size)/1e6, time.Since(start).Seconds(), f.out)
	}
}

// writeFile writes out under a temporary name and renames it into place.
func writeFile(out string, write func(w *bufio.Writer) error) error {
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return err
	}
	tmp := out + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	defer os.Remove(tmp) // no-op after the rename
	bw := bufio.NewWriterSize(f, 4<<20)
	err = write(bw)
	if err == nil {
		err = bw.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return os.Rename(tmp, out)
}

func writerOptions() []parquet.WriterOption {
	return []parquet.WriterOption{
		parquet.Compression(&parquet.Snappy),
		parquet.CreatedBy("evaljob-bench-join-gen", "1", ""),
	}
}

// rowGroups calls fill for each row group [lo, hi) with its own random
// stream (stream ids offset by stream), then flushes the row group.
func rowGroups(n int64, rgRows int, stream uint64, flush func() error, fill func(rng *rand.Rand, lo, hi int64) error) error {
	for rg, lo := uint64(0), int64(0); lo < n; rg, lo = rg+1, lo+int64(rgRows) {
		hi := min(n, lo+int64(rgRows))
		rng := rand.New(rand.NewPCG(seed, stream<<32|rg))
		if err := fill(rng, lo, hi); err != nil {
			return err
		}
		if err := flush(); err != nil {
			return err
		}
	}
	return nil
}

// mix is the splitmix64 finalizer: a bijection of uint64 with good avalanche.
func mix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xBF58476D1CE4E5B9
	x ^= x >> 27
	x *= 0x94D049BB133111EB
	x ^= x >> 31
	return x
}

// permutation is a keyed bijection of [0, n): a 4-round balanced Feistel
// network on 2*half bits (4^half >= n), cycle-walking until the value falls
// in [0, n) (fewer than 4 steps on average).
type permutation struct {
	n    uint64
	half uint
	mask uint64
	key  uint64
}

func newPermutation(n int64, key uint64) permutation {
	b := uint(bits.Len64(uint64(max(n-1, 1))))
	half := (b + 1) / 2
	return permutation{n: uint64(n), half: half, mask: 1<<half - 1, key: key}
}

func (p permutation) at(i int64) int64 {
	x := uint64(i)
	for {
		l, r := x>>p.half, x&p.mask
		for round := uint64(0); round < 4; round++ {
			l, r = r, l^(mix(r^p.key*0x9E3779B97F4A7C15^round<<56)&p.mask)
		}
		x = l<<p.half | r
		if x < p.n {
			return int64(x)
		}
	}
}

// labelOf is the label of an id: positive for positiveRate of the ids.
func labelOf(id int64) int64 {
	if float64(mix(uint64(id)^labelSalt)>>11)*0x1p-53 < positiveRate {
		return 1
	}
	return 0
}

func sigmoid(z float64) float64 { return 1 / (1 + math.Exp(-z)) }

func writePredictions(w *bufio.Writer, n int64, rgRows int) error {
	perm := newPermutation(n, predictionsKey)
	base := math.Log(positiveRate / (1 - positiveRate))
	return writeRows(w, n, rgRows, 1, func(rng *rand.Rand, row int64) predictionRow {
		id := perm.at(row)
		m := rng.IntN(len(models))
		y := labelOf(id)
		z := base + rng.NormFloat64()*1.5 + float64(2*y-1)*(0.4+0.4*float64(m))
		// Clamp away from exactly 0 and 1: prob stays in (0,1).
		p := min(max(sigmoid(z), 1e-12), 1-1e-12)
		return predictionRow{RequestID: id, Model: models[m], Prob: p}
	})
}

func writeLabels(w *bufio.Writer, n int64, rgRows int) error {
	perm := newPermutation(n, labelsKey)
	return writeRows(w, n, rgRows, 2, func(_ *rand.Rand, row int64) labelRow {
		id := perm.at(row)
		return labelRow{RequestID: id, Label: labelOf(id)}
	})
}

// writeRows writes rows 0..n-1, row(rng, i) each, in row groups of
// rgRows drawing from random stream stream, 8192 rows per write.
func writeRows[T any](w *bufio.Writer, n int64, rgRows int, stream uint64, row func(rng *rand.Rand, i int64) T) error {
	pw := parquet.NewGenericWriter[T](w, writerOptions()...)
	batch := make([]T, 8192)
	err := rowGroups(n, rgRows, stream, pw.Flush, func(rng *rand.Rand, lo, hi int64) error {
		for lo < hi {
			k := int(min(hi-lo, int64(len(batch))))
			for i := range batch[:k] {
				batch[i] = row(rng, lo+int64(i))
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
