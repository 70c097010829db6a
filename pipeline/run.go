package pipeline

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/memory"
	"golang.org/x/sync/errgroup"

	"github.com/evaljob/evaljob/config"
	"github.com/evaljob/evaljob/pipeline/metrics"
	"github.com/evaljob/evaljob/readers"
	"github.com/evaljob/evaljob/writers"
)

// Options tune a run without changing its results.
type Options struct {
	Version   string       // recorded in the manifest
	BatchRows int          // rows per chunk; 0 = DefaultBatchRows
	Logger    *slog.Logger // nil = discard
}

// DefaultBatchRows is the chunk size when Options.BatchRows is 0.
const DefaultBatchRows = 1 << 16

// Output file names (SPEC §4).
const (
	SummaryFile  = "summary.parquet"
	RowsFile     = "rows.parquet"
	ManifestFile = "manifest.json"
)

// Result describes a finished run.
type Result struct {
	Dir         string
	InputRows   int64
	SummaryRows int
	Outputs     []writers.Published
}

// Validate checks the config against the input files' schemas without
// computing anything.
func Validate(ctx context.Context, cfg *config.Config) error {
	p, err := newPlan(ctx, cfg)
	if err != nil {
		return err
	}
	p.close()
	return nil
}

// Run executes the job described by cfg and writes its outputs.
func Run(ctx context.Context, cfg *config.Config, opt Options) (*Result, error) {
	started := time.Now().UTC()
	log := opt.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	batchRows := opt.BatchRows
	if batchRows <= 0 {
		batchRows = DefaultBatchRows
	}
	finals := []string{SummaryFile, ManifestFile}
	if cfg.Output.PerRow {
		finals = append(finals, RowsFile)
	}
	dir, err := writers.OpenDir(cfg.Output.Dir, cfg.Output.Overwrite, finals)
	if err != nil {
		return nil, err
	}
	defer dir.Abort()

	p, err := newPlan(ctx, cfg)
	if err != nil {
		return nil, err
	}
	defer p.close()
	log.Info("plan", "files", len(p.files), "units", len(p.units), "task", p.task, "classes", p.numClasses)

	mem := memory.DefaultAllocator
	var rowsOut *parquetOut
	if cfg.Output.PerRow {
		if rowsOut, err = createParquet(dir, RowsFile, rowsSchema(p)); err != nil {
			return nil, err
		}
	}
	table, fileRows, err := p.execute(ctx, mem, batchRows, cfg.Workers, rowsOut)
	if err != nil {
		return nil, err
	}

	groups := rollUp(table, p.groupNames, cfg.GroupBy, p.bins)
	rec := summaryRecord(mem, p, groups)
	defer rec.Release()
	summaryOut, err := createParquet(dir, SummaryFile, rec.Schema())
	if err != nil {
		return nil, err
	}
	if err := summaryOut.pw.Write(rec); err != nil {
		return nil, err
	}
	if err := summaryOut.pw.Close(); err != nil {
		return nil, err
	}

	res := &Result{Dir: dir.Path(), SummaryRows: len(groups)}
	man := writers.Manifest{
		RunID:     newRunID(),
		Version:   opt.Version,
		StartedAt: writers.Timestamp(started),
		Status:    "succeeded",
		Config:    cfg,
		Gates:     []any{},
	}
	for i, f := range p.files {
		man.Inputs = append(man.Inputs, writers.ManifestInput{Path: f.Path(), Bytes: f.Size(), Rows: fileRows[i]})
		res.InputRows += fileRows[i]
	}
	if rowsOut != nil {
		man.Outputs = append(man.Outputs, rowsOut.manifestEntry())
	}
	man.Outputs = append(man.Outputs, summaryOut.manifestEntry())
	man.FinishedAt = writers.Timestamp(time.Now())
	mf, err := dir.Create(ManifestFile)
	if err != nil {
		return nil, err
	}
	if err := writers.WriteJSON(mf, man); err != nil {
		return nil, err
	}
	if res.Outputs, err = dir.Commit(); err != nil {
		return nil, err
	}
	log.Info("done", "rows", res.InputRows, "groups", res.SummaryRows,
		"seconds", time.Since(started).Seconds(), "dir", res.Dir)
	return res, nil
}

// execute scores every unit on a pool of workers and returns the merged
// cells and the number of rows read per file.
func (p *plan) execute(ctx context.Context, mem memory.Allocator, batchRows, workers int, rowsOut *parquetOut) (*cellTable, []int64, error) {
	if workers <= 0 {
		workers = runtime.NumCPU()
	}
	fileRows := make([]atomic.Int64, len(p.files))
	tables := make([]*cellTable, workers)
	g, ctx := errgroup.WithContext(ctx)

	// At most inFlight units are between dispatch and done (for per-row
	// output: done = written), which bounds memory.
	inFlight := 2 * workers
	tokens := make(chan struct{}, inFlight)
	release := func() { <-tokens }
	units := make(chan int)
	g.Go(func() error {
		defer close(units)
		for u := range p.units {
			select {
			case tokens <- struct{}{}:
			case <-ctx.Done():
				return ctx.Err()
			}
			select {
			case units <- u:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		return nil
	})

	var parts chan rowsPart
	var sink *rowsSink
	var schema *arrow.Schema
	if rowsOut != nil {
		parts = make(chan rowsPart, inFlight)
		sink = &rowsSink{out: rowsOut}
		schema = rowsSchema(p)
		g.Go(func() error { return sink.run(ctx, parts, release) })
	}

	var wg sync.WaitGroup
	for w := range workers {
		tables[w] = newCellTable(p.groupTypes, p.bins)
		wg.Add(1)
		g.Go(func() error {
			defer wg.Done()
			wk := &worker{p: p, mem: mem, table: tables[w], grouper: newGrouper(tables[w]), schema: schema}
			for u := range units {
				ref := p.units[u]
				f := p.files[ref.file]
				err := f.ReadUnit(ctx, ref.unit, p.columns, batchRows, func(ch *readers.Chunk) error {
					fileRows[ref.file].Add(int64(ch.Len))
					return wk.chunk(ctx, u, ch, p.eps[ref.file], parts)
				})
				if err != nil {
					return err
				}
				if parts == nil {
					release()
					continue
				}
				select {
				case parts <- rowsPart{unit: u}:
				case <-ctx.Done():
					return ctx.Err()
				}
			}
			return nil
		})
	}
	if parts != nil {
		g.Go(func() error {
			wg.Wait()
			close(parts)
			return nil
		})
	}
	err := g.Wait()
	if err == nil && rowsOut != nil {
		err = rowsOut.pw.Close()
	}
	if err != nil {
		return nil, nil, err
	}

	all := tables[0]
	for _, t := range tables[1:] {
		all.merge(t)
	}
	counts := make([]int64, len(fileRows))
	for i := range fileRows {
		counts[i] = fileRows[i].Load()
	}
	return all, counts, nil
}

// worker scores chunks into its own cell table.
type worker struct {
	p       *plan
	mem     memory.Allocator
	table   *cellTable
	grouper *grouper
	scorer  scorer
	stats   []*metrics.ClassStats
	groupIn []*readers.Column
	schema  *arrow.Schema // rows.parquet, nil without per-row output
}

func (w *worker) chunk(ctx context.Context, unit int, ch *readers.Chunk, eps float64, parts chan<- rowsPart) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s := &w.scorer
	s.p = w.p
	s.grow(ch.Len)
	w.groupIn = w.groupIn[:0]
	for _, c := range w.p.groupCols {
		w.groupIn = append(w.groupIn, ch.Columns[c])
	}
	w.grouper.assign(w.groupIn, ch.Len, s.cells)
	w.stats = w.stats[:0]
	for _, c := range w.table.cells {
		w.stats = append(w.stats, c.stats)
	}
	var err error
	switch w.p.task {
	case "binary":
		err = s.scoreBinary(ch, w.stats, eps)
	case "multiclass":
		err = s.scoreMulticlass(ch, w.stats, eps)
	default:
		err = fmt.Errorf("task %q has no scorer", w.p.task)
	}
	if err != nil || parts == nil {
		return err
	}
	rec := rowsRecord(w.mem, w.schema, w.p, ch, s.loss, s.scored)
	select {
	case parts <- rowsPart{unit: unit, rec: rec}:
		return nil
	case <-ctx.Done():
		rec.Release()
		return ctx.Err()
	}
}

// parquetOut is a Parquet file staged in the output folder.
type parquetOut struct {
	staged *writers.Staged
	pw     *writers.ParquetWriter
}

func createParquet(dir *writers.Dir, name string, schema *arrow.Schema) (*parquetOut, error) {
	staged, err := dir.Create(name)
	if err != nil {
		return nil, err
	}
	pw, err := writers.NewParquetWriter(staged, schema)
	if err != nil {
		return nil, err
	}
	return &parquetOut{staged: staged, pw: pw}, nil
}

// manifestEntry is valid after the writer was closed.
func (o *parquetOut) manifestEntry() writers.ManifestOutput {
	return writers.ManifestOutput{Path: o.staged.Name(), Rows: o.pw.Rows(), SHA256: o.staged.SHA256()}
}

func newRunID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "unknown"
	}
	return hex.EncodeToString(b[:])
}
