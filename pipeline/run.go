package pipeline

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/memory"
	"golang.org/x/sync/errgroup"

	"github.com/evaljob/evaljob/config"
	"github.com/evaljob/evaljob/evalerr"
	"github.com/evaljob/evaljob/gates"
	"github.com/evaljob/evaljob/readers"
	"github.com/evaljob/evaljob/writers"
)

// Options tune a run without changing its results.
type Options struct {
	Version   string       // recorded in the manifest
	BatchRows int          // rows per chunk; 0 = DefaultBatchRows
	Logger    *slog.Logger // nil = discard
	// Allocator for Arrow buffers; nil = memory.DefaultAllocator. Tests
	// pass a checked allocator to prove every record is released.
	Allocator memory.Allocator
	// Progress, when set, counts the rows read, for a progress display.
	Progress *Progress
}

// Progress counts a run's rows as they are read. Total is known from the
// files' metadata once the run is planned (-1 when a file does not say,
// like an IPC stream). Safe for concurrent use.
type Progress struct {
	total, done atomic.Int64
}

// Total is the number of input rows the files declare, 0 before the run is
// planned, -1 when unknown.
func (p *Progress) Total() int64 { return p.total.Load() }

// Done is the number of rows read so far.
func (p *Progress) Done() int64 { return p.done.Load() }

// DefaultBatchRows is the chunk size when Options.BatchRows is 0.
const DefaultBatchRows = 1 << 16

// summaryBatch is the groups per record of summary.parquet (a variable
// for tests, which check that it does not change the bytes).
var summaryBatch = 1 << 16

// Output file names (SPEC §4).
const (
	SummaryFile  = "summary.parquet"
	RowsFile     = "rows.parquet"
	ManifestFile = "manifest.json"
)

// OutputFiles names every file a run may publish (gates add the last
// three). A run replaces all of them: one it does not write is removed, so
// the folder never mixes two runs.
var OutputFiles = []string{SummaryFile, RowsFile, ManifestFile, GatesFile, ReportFile, JUnitFile}

// Result describes a finished run.
type Result struct {
	Dir         string
	InputRows   int64
	SummaryRows int
	Outputs     []writers.Published
	// Gates: every gate judged on every summary row it selects; Report is
	// report.md's text. GatesFailed > 0 means exit 1 (outputs are written).
	Gates       []gates.Result
	GatesFailed int
	Report      string
}

// Gate output file names (SPEC §4).
const (
	GatesFile  = "gates.json"
	ReportFile = "report.md"
	JUnitFile  = "junit.xml"
)

// Validate checks the config against the input files' schemas without
// computing anything.
func Validate(ctx context.Context, cfg *config.Config) error {
	// An earlier run's outputs with overwrite false: the config error run
	// would stop on (nothing is created).
	if err := writers.CheckDir(cfg.Output.Dir, cfg.Output.Overwrite, OutputFiles); err != nil {
		return err
	}
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
	dir, err := writers.OpenDir(cfg.Output.Dir, cfg.Output.Overwrite, OutputFiles)
	if err != nil {
		return nil, err
	}
	defer dir.Abort()

	p, err := newPlan(ctx, cfg)
	if err != nil {
		return nil, err
	}
	defer p.close()
	log.Info("plan", "files", p.files.len(), "units", len(p.units), "task", p.task)
	if p.labels != nil {
		defer gcForStore(p.labels.declaredBytes())()
		if err := p.labels.load(ctx, p.workers()); err != nil {
			return nil, err
		}
		log.Info("labels", "files", p.labels.files.len(), "rows", p.labels.rows, "bytes", p.labels.bytes())
		defer gcForStore(p.labels.bytes())() // restored before the first call's
	}
	if opt.Progress != nil {
		opt.Progress.total.Store(p.declaredRows())
	}

	mem := opt.Allocator
	if mem == nil {
		mem = memory.DefaultAllocator
	}
	// rows.parquet has a row per input row, written as the units finish,
	// except for the token task with one row per token: there it has a row
	// per sequence, written at the end.
	perSequence := p.task == "token" && p.layout != tokenList
	var rowsOut *parquetOut
	if cfg.Output.PerRow && !perSequence {
		if rowsOut, err = createParquet(mem, dir, RowsFile, rowsSchema(p)); err != nil {
			return nil, err
		}
		defer rowsOut.pw.Close() // releases buffered rows on every path; a no-op once closed
	}
	pairs := newPairing(ctx, p)
	table, fileRows, err := p.execute(ctx, mem, batchRows, cfg.Workers, rowsOut, pairs, opt.Progress)
	readers.ReleaseBuffers() // the reading is over: their memory serves the roll-up
	if err != nil {
		return nil, err
	}

	if err := ctx.Err(); err != nil {
		return nil, err
	}
	// Token sequences: when none is in two cells, each cell finishes its own
	// (see finishSequences) while rows.parquet is written in the background
	// (both only read the sequences' statistics), and the roll-up, which
	// then reads no sequence, runs beside the writing. Otherwise
	// rows.parquet is written first, and the roll-up merges the cells'
	// sequences into the groups'.
	writeSeqs := p.task == "token" && cfg.Output.PerRow && perSequence
	apartc := make(chan bool, 1) // checked while the rows are listed: both only read the table
	go func() { apartc <- p.task == "token" && sequencesApart(table) }()
	var seqs []seqRow
	sorted := make(chan struct{})
	if writeSeqs {
		// Sorted while the cells' sequences are finished (the sort reads
		// only the rows).
		seqs = sequenceRows(table)
		go func() {
			sortSequences(seqs)
			close(sorted)
		}()
	} else {
		close(sorted)
	}
	apart := <-apartc
	var seqsDone chan error // rows.parquet is being written in the background
	if apart && writeSeqs {
		seqsDone = make(chan error, 1)
		go func() {
			<-sorted
			out, err := writeSequences(mem, dir, p, seqs)
			rowsOut = out
			seqsDone <- err
		}()
		defer func() {
			if seqsDone != nil {
				<-seqsDone // a return on an error must not leave it writing
			}
		}()
	}
	if apart {
		finishSequences(cellStats(table))
	}
	if writeSeqs && seqsDone == nil {
		<-sorted
		if rowsOut, err = writeSequences(mem, dir, p, seqs); err != nil {
			return nil, err
		}
	}
	groups, err := rollUp(ctx, table, p.groupNames, cfg.GroupBy, func() *stats { return p.newStats(true) })
	if err != nil {
		return nil, err
	}
	finishSequences(groupStats(groups))
	// Gates need every group's metrics after the table is built; without
	// gates each group's are made while its row is written, not all held.
	var sums []groupSummary
	if len(cfg.Gates) > 0 {
		sums = summaries(groups)
	}
	summaryOut, err := createParquet(mem, dir, SummaryFile, summarySchema(p))
	if err != nil {
		return nil, err
	}
	defer summaryOut.pw.Close()
	// In records of summaryBatch groups: the file's bytes do not depend on
	// the records (writers.ParquetWriter), and the builders stay small (1M
	// groups: 700 MB in one record, most of it copied as it grew).
	for lo := 0; lo == 0 || lo < len(groups); lo += summaryBatch {
		hi := min(lo+summaryBatch, len(groups))
		var part []groupSummary
		if sums != nil {
			part = sums[lo:hi]
		}
		rec := summaryRecord(mem, p, groups[lo:hi], part)
		err := summaryOut.pw.Write(rec)
		rec.Release()
		if err != nil {
			return nil, err
		}
	}
	if err := summaryOut.pw.Close(); err != nil {
		return nil, err
	}

	if seqsDone != nil {
		err := <-seqsDone
		seqsDone = nil
		if err != nil {
			return nil, err
		}
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
	var gateOutputs []writers.ManifestOutput
	if len(cfg.Gates) > 0 {
		rows := gateRows(p, groups, sums)
		if pairs != nil {
			pairs.attach(groups, rows)
		}
		res.Gates = gates.Evaluate(p.gates(), rows, func(path string) ([]gates.Row, error) {
			return loadBaseline(ctx, path)
		})
		res.GatesFailed = gates.Failed(res.Gates)
		reports, err := writeGateReports(dir, cfg.Gates, res)
		if err != nil {
			return nil, err
		}
		gateOutputs = reports
		for _, r := range res.Gates {
			man.Gates = append(man.Gates, r)
		}
		if res.GatesFailed > 0 {
			man.Status = "gates_failed"
		}
		log.Info("gates", "checks", len(res.Gates), "failed", res.GatesFailed)
		for _, r := range res.Gates {
			if !r.Passed { // the reason in the job's log (CI), not only in report.md
				log.Warn("gate failed", "gate", r.Gate, "metric", r.Metric, "group", r.GroupText(), "reason", r.Reason)
			}
		}
	}
	for i := range p.files.len() {
		man.Inputs = append(man.Inputs, writers.ManifestInput{Path: p.files.path(i), Bytes: p.files.size(i), Rows: fileRows[i]})
		res.InputRows += fileRows[i]
	}
	if p.labels != nil {
		for i := range p.labels.files.len() {
			man.Labels = append(man.Labels, writers.ManifestInput{Path: p.labels.files.path(i), Bytes: p.labels.files.size(i), Rows: p.labels.fileRows[i]})
		}
		n := p.labels.unmatched()
		man.LabelsUnmatched = &n
	}
	if rowsOut != nil {
		man.Outputs = append(man.Outputs, rowsOut.manifestEntry())
	}
	man.Outputs = append(man.Outputs, summaryOut.manifestEntry())
	man.Outputs = append(man.Outputs, gateOutputs...)
	man.FinishedAt = writers.Timestamp(time.Now())
	mf, err := dir.Create(ManifestFile)
	if err != nil {
		return nil, err
	}
	if err := writers.WriteJSON(mf, man); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err // cancelled: publish nothing
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
//
// An input error does not cancel the run at once: units before the failing
// one still finish and units after it are skipped, so the error reported
// is the first one in input order, whatever the scheduling.
func (p *plan) execute(ctx context.Context, mem memory.Allocator, batchRows, workers int, rowsOut *parquetOut, pairs *pairing, progress *Progress) (*cellTable, []int64, error) {
	if workers <= 0 {
		workers = runtime.NumCPU()
	}
	fileRows := make([]atomic.Int64, p.files.len())
	tables := make([]*cellTable, workers)
	bad := newFirstError()
	g, ctx := errgroup.WithContext(ctx)

	// At most inFlight units are between dispatch and done (for per-row
	// output: done = written), which bounds memory.
	inFlight := 2 * workers
	tokens := make(chan struct{}, inFlight)
	release := func() { <-tokens }
	units := make(chan int)
	g.Go(func() (err error) {
		defer recoverInternal(&err)
		defer close(units)
		for u := range p.units {
			select {
			case tokens <- struct{}{}:
			case <-bad.stop:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
			select {
			case units <- u:
			case <-bad.stop:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		return nil
	})

	var parts chan rowsPart
	var schema *arrow.Schema
	if rowsOut != nil {
		parts = make(chan rowsPart, inFlight)
		schema = rowsSchema(p)
		sink := &rowsSink{out: rowsOut, pairs: pairs}
		g.Go(func() (err error) {
			defer recoverInternal(&err)
			return sink.run(ctx, parts, release)
		})
	}

	var wg sync.WaitGroup
	for w := range workers {
		tables[w] = newCellTable(p.groupTypes, func() *stats { return p.newStats(true) })
		wg.Add(1)
		g.Go(func() (err error) {
			defer wg.Done()
			defer recoverInternal(&err)
			wk := &worker{p: p, mem: mem, table: tables[w], grouper: newGrouper(tables[w]), schema: schema}
			for u := range units {
				if !bad.skip(u) {
					ref := p.units[u]
					err := p.files.with(ref.file, func(f *readers.File) error {
						return f.ReadUnit(ctx, ref.unit, p.columns[:p.readCols], batchRows, func(ch *readers.Chunk) error {
							fileRows[ref.file].Add(int64(ch.Len))
							if progress != nil {
								progress.done.Add(int64(ch.Len))
							}
							return wk.chunk(ctx, u, ch, p.eps[ref.file], parts)
						})
					})
					if errors.Is(err, evalerr.ErrInput) {
						bad.record(u, err)
					} else if err != nil {
						return err
					}
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
	if err == nil {
		err = bad.err
	}
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

// declaredRows sums the rows the files' metadata declare; -1 if a file
// does not say.
func (p *plan) declaredRows() int64 {
	var n int64
	for fi := range p.files.len() {
		if p.files.rows(fi) < 0 {
			return -1
		}
		n += p.files.rows(fi)
	}
	return n
}

// firstError keeps the input error of the lowest unit.
type firstError struct {
	mu   sync.Mutex
	unit int
	err  error
	stop chan struct{} // closed at the first error
}

func newFirstError() *firstError { return &firstError{unit: -1, stop: make(chan struct{})} }

func (f *firstError) record(unit int, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.unit < 0 {
		close(f.stop)
	}
	if f.unit < 0 || unit < f.unit {
		f.unit, f.err = unit, err
	}
}

// skip reports whether unit comes after a unit that already failed.
func (f *firstError) skip(unit int) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.unit >= 0 && unit > f.unit
}

// recoverInternal turns a panic in a pipeline goroutine (a bug: bad data
// never panics) into an error, so the process exits with the internal
// error code instead of crashing.
func recoverInternal(err *error) {
	if r := recover(); r != nil {
		*err = fmt.Errorf("internal error (please report): %v\n%s", r, debug.Stack())
	}
}

// newStats makes the statistics of a cell or of a rolled-up group
// (withSeqs: for the token task, it also collects sequences).
func (p *plan) newStats(withSeqs bool) *stats { return newStats(p.task, p.bins, withSeqs) }

// worker scores chunks into its own cell table.
type worker struct {
	p       *plan
	mem     memory.Allocator
	table   *cellTable
	grouper *grouper
	scorer  scorer
	stats   []*stats
	groupIn []*readers.Column
	joiner  joiner
	schema  *arrow.Schema // rows.parquet, nil without per-row output
}

func (w *worker) chunk(ctx context.Context, unit int, ch *readers.Chunk, eps float64, parts chan<- rowsPart) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s := &w.scorer
	s.p = w.p
	s.perRow = w.schema != nil
	if w.p.labels != nil {
		ch, s.labelRows = w.p.join(ch, &w.joiner, true)
	}
	s.grow(ch.Len)
	w.groupIn = w.groupIn[:0]
	for _, c := range w.p.groupCols {
		w.groupIn = append(w.groupIn, ch.Columns[c])
	}
	if w.p.task != "token" {
		w.assign(ch.Len)
	}
	var err error
	switch w.p.task {
	case "binary":
		err = s.scoreBinary(ch, w.stats, eps)
	case "multiclass":
		err = s.scoreMulticlass(ch, w.stats, eps)
	case "multilabel":
		err = s.scoreMultilabel(ch, w.stats, eps)
	case "regression":
		err = s.scoreRegression(ch, w.stats)
	case "token":
		err = w.scoreToken(ch, unit)
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

// assign gives the chunk's n rows their cells (scorer.cells).
func (w *worker) assign(n int) {
	w.grouper.assign(w.groupIn, n, w.scorer.cells)
	w.newCells()
}

// newCells adds the stats of the cells added to the table since the last
// call to w.stats.
func (w *worker) newCells() {
	for _, c := range w.table.cells[len(w.stats):] { // cells are only ever appended
		w.stats = append(w.stats, c.stats)
	}
}

// scoreToken scores a chunk of the token task: the fast path if the chunk
// takes it, else the general loop. With one dictionary group column (as
// assign would take it) the fast path finds a run's cell from its code,
// and the rows are not given cells one by one: a pass over every row, for
// a key that changes every few hundred rows.
func (w *worker) scoreToken(ch *readers.Chunk, unit int) error {
	s := &w.scorer
	if c := dictKey(w.groupIn, ch.Len); c != nil {
		w.grouper.byCode(c)
		if tokenLongFast(s, ch, unit, c.Codes, func(code int32) *stats {
			id := w.grouper.dictCell(c, code)
			w.newCells()
			return w.stats[id]
		}) {
			return nil
		}
		w.assign(ch.Len)
	} else {
		w.assign(ch.Len)
		if s.scoreTokenLongFast(ch, unit, w.stats) {
			return nil
		}
	}
	return s.scoreToken(ch, unit, w.stats)
}

// writeGateReports stages gates.json, report.md and junit.xml and returns
// their manifest entries (rows: one per result in each).
func writeGateReports(dir *writers.Dir, gs []config.Gate, res *Result) ([]writers.ManifestOutput, error) {
	describe := make([]string, len(gs))
	for i, g := range gs {
		describe[i] = gates.Describe(g)
	}
	res.Report = writers.Report(res.Gates, describe)
	var out []writers.ManifestOutput
	for _, f := range []struct {
		name  string
		write func(*writers.Staged) error
	}{
		{GatesFile, func(s *writers.Staged) error { return writers.WriteGatesJSON(s, res.Gates) }},
		{ReportFile, func(s *writers.Staged) error { return writers.WriteReport(s, res.Report) }},
		{JUnitFile, func(s *writers.Staged) error { return writers.WriteJUnit(s, res.Gates) }},
	} {
		s, err := dir.Create(f.name)
		if err != nil {
			return nil, err
		}
		if err := f.write(s); err != nil {
			return nil, err
		}
		out = append(out, writers.ManifestOutput{Path: f.name, Rows: int64(len(res.Gates)), SHA256: s.SHA256()})
	}
	return out, nil
}

// parquetOut is a Parquet file staged in the output folder.
type parquetOut struct {
	staged *writers.Staged
	pw     *writers.ParquetWriter
}

func createParquet(mem memory.Allocator, dir *writers.Dir, name string, schema *arrow.Schema) (*parquetOut, error) {
	staged, err := dir.Create(name)
	if err != nil {
		return nil, err
	}
	pw, err := writers.NewParquetWriter(staged, schema, writers.WithAllocator(mem))
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
