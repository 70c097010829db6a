// Command scan is the "scan-only" baseline of the benchmark harness
// (scripts/bench/run.sh): it decodes the named columns of the inputs with
// evaljob's own readers package, the way the pipeline does (one errgroup of
// -workers goroutines, units spread over them, chunks of -batch-rows rows),
// and does nothing else with the values but touch them (sum every number,
// count every string). Its time is the limit for a job over these columns
// with this reader.
//
//	go run ./scripts/bench/scan -columns model,slice,label,prob -workers 2 /tmp/evaljob-bench/binary-1.parquet
//
// Prints one JSON line: rows, units, seconds (decode time, after opening),
// and the touched sums (so the work cannot be optimised away).
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/evaljob/evaljob/readers"
)

type unitRef struct {
	file *readers.File
	unit int
}

// touched accumulates what one worker saw.
type touched struct {
	rows   int64
	sum    float64
	ints   int64
	strLen int64
}

func main() {
	columns := flag.String("columns", "", "comma-separated columns to decode")
	workers := flag.Int("workers", 0, "decoding goroutines (0 = number of CPUs)")
	batchRows := flag.Int("batch-rows", 1<<16, "rows per chunk (evaljob's default is 65536)")
	flag.Parse()
	if *columns == "" || flag.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "usage: scan -columns a,b,c [-workers N] INPUT...")
		os.Exit(2)
	}
	if *workers <= 0 {
		*workers = runtime.NumCPU()
	}
	if err := run(strings.Split(*columns, ","), *workers, *batchRows, flag.Args()); err != nil {
		fmt.Fprintf(os.Stderr, "scan: %v\n", err)
		os.Exit(1)
	}
}

func run(columns []string, workers, batchRows int, patterns []string) error {
	inputs, err := readers.Discover(patterns, ".")
	if err != nil {
		return err
	}
	var units []unitRef
	for _, in := range inputs {
		f, err := readers.Open(in)
		if err != nil {
			return err
		}
		defer f.Close()
		for u := range f.NumUnits() {
			units = append(units, unitRef{f, u})
		}
	}

	start := time.Now()
	parts := make([]touched, workers)
	var next atomic.Int64
	g, ctx := errgroup.WithContext(context.Background())
	for w := range workers {
		t := &parts[w]
		g.Go(func() error {
			for {
				i := int(next.Add(1) - 1)
				if i >= len(units) {
					return nil
				}
				if err := ctx.Err(); err != nil {
					return err
				}
				ref := units[i]
				err := ref.file.ReadUnit(ctx, ref.unit, columns, batchRows, func(ch *readers.Chunk) error {
					t.rows += int64(ch.Len)
					for _, c := range ch.Columns {
						t.touch(c)
					}
					return nil
				})
				if err != nil {
					return fmt.Errorf("%s: unit %d: %w", ref.file.Path(), ref.unit, err)
				}
			}
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	elapsed := time.Since(start)

	var all touched
	for _, t := range parts {
		all.rows += t.rows
		all.sum += t.sum
		all.ints += t.ints
		all.strLen += t.strLen
	}
	return json.NewEncoder(os.Stdout).Encode(map[string]any{
		"rows":    all.rows,
		"units":   len(units),
		"workers": workers,
		"seconds": elapsed.Seconds(),
		"sum":     all.sum,
		"int_sum": all.ints,
		"str_len": all.strLen,
		"columns": columns,
		"inputs":  len(inputs),
	})
}

// touch reads every value of a column once.
func (t *touched) touch(c *readers.Column) {
	t.sum += sum(c.F64) + sum(c.F32)
	var n int64
	for _, v := range c.Ints {
		n += v
	}
	for _, v := range c.Codes {
		n += int64(v)
	}
	t.ints += n
	for _, v := range c.Strs {
		t.strLen += int64(len(v))
	}
	if c.Elem != nil {
		t.touch(c.Elem)
	}
}

// sum adds the values with four independent accumulators, so touching a
// value costs about one add, not one add's latency.
func sum[T float32 | float64](v []T) float64 {
	var a, b, c, d float64
	i := 0
	for ; i+4 <= len(v); i += 4 {
		a += float64(v[i])
		b += float64(v[i+1])
		c += float64(v[i+2])
		d += float64(v[i+3])
	}
	for ; i < len(v); i++ {
		a += float64(v[i])
	}
	return (a + b) + (c + d)
}
