package pipeline

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/memory"

	"github.com/evaljob/evaljob/readers"
	"github.com/evaljob/evaljob/writers"
)

// rowsPart is a chunk's per-row results, or (rec == nil) the mark that a
// unit has sent all of its parts.
type rowsPart struct {
	unit int
	rec  arrow.Record
}

func rowsSchema(p *plan) *arrow.Schema {
	var fields []arrow.Field
	for j, name := range p.outNames {
		fields = append(fields, arrow.Field{Name: name, Type: p.outTypes[j], Nullable: true})
	}
	fields = append(fields, arrow.Field{Name: "cross_entropy", Type: arrow.PrimitiveTypes.Float64, Nullable: true})
	return arrow.NewSchema(fields, nil)
}

// rowsRecord copies a scored chunk's kept columns and losses into a record
// that outlives the chunk.
func rowsRecord(mem memory.Allocator, schema *arrow.Schema, p *plan, ch *readers.Chunk, loss []float64, scored []bool) arrow.Record {
	b := array.NewRecordBuilder(mem, schema)
	defer b.Release()
	for j, ci := range p.outCols {
		appendColumn(b.Field(j), ch.Columns[ci], ch.Len)
	}
	lb := b.Field(len(p.outCols)).(*array.Float64Builder)
	lb.AppendValues(loss[:ch.Len], scored[:ch.Len])
	return b.NewRecord()
}

// rowsSink receives parts from the workers in any order and writes them in
// input order. The Parquet writer cuts row groups at fixed row counts, so
// the file's bytes do not depend on how the input was chunked.
type rowsSink struct {
	out   *parquetOut
	pairs *pairing // paired gates, fed every record; nil without
}

// run consumes parts until in is closed. release is called once per unit
// after all its rows were handed on, which lets the dispatcher start
// another unit (bounding memory).
func (s *rowsSink) run(ctx context.Context, in <-chan rowsPart, release func()) error {
	next := 0
	waiting := map[int][]rowsPart{}
	defer func() {
		for _, parts := range waiting {
			for _, pt := range parts {
				if pt.rec != nil {
					pt.rec.Release()
				}
			}
		}
	}()
	for {
		var part rowsPart
		var ok bool
		select {
		case part, ok = <-in:
		case <-ctx.Done():
			return ctx.Err()
		}
		if !ok {
			return nil
		}
		waiting[part.unit] = append(waiting[part.unit], part)
		for len(waiting[next]) > 0 {
			parts := waiting[next]
			finished := false
			for len(parts) > 0 {
				pt := parts[0]
				parts = parts[1:]
				waiting[next] = parts
				if pt.rec == nil {
					finished = true
					continue
				}
				if s.pairs != nil {
					s.pairs.add(pt.rec)
				}
				err := s.out.pw.Write(pt.rec)
				pt.rec.Release()
				if err != nil {
					return err
				}
			}
			delete(waiting, next)
			if !finished {
				break
			}
			release()
			next++
		}
	}
}

// sequenceSchema is rows.parquet for the token task with one row per token:
// a row per sequence with its group keys, the sequence column, tokens,
// cross_entropy and perplexity (SPEC §4).
func sequenceSchema(p *plan) *arrow.Schema {
	var fields []arrow.Field
	seqName := p.columns[p.seqCol]
	for j, name := range p.groupNames {
		if name != seqName {
			fields = append(fields, arrow.Field{Name: name, Type: p.groupTypes[j], Nullable: true})
		}
	}
	fields = append(fields,
		arrow.Field{Name: seqName, Type: p.seqType[0], Nullable: true},
		arrow.Field{Name: "tokens", Type: arrow.PrimitiveTypes.Int64},
		arrow.Field{Name: "cross_entropy", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
		arrow.Field{Name: "perplexity", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
	)
	return arrow.NewSchema(fields, nil)
}

// seqBatch is the sequences per record of the per-sequence rows.parquet
// (tests vary it).
var seqBatch = 1 << 14

// writeSequences writes the per-sequence rows.parquet, sequences in order
// of first appearance. Records of seqBatch sequences are built
// concurrently (a sequence's cross_entropy is an exact quotient and its
// perplexity an exp; there may be 100k sequences and more), at most a
// record per goroutine and one more ahead of the writing, and written in
// order: the file's bytes do not depend on the records (writers.ParquetWriter).
func writeSequences(mem memory.Allocator, dir *writers.Dir, p *plan, seqs []seqRow) (*parquetOut, error) {
	schema := sequenceSchema(p)
	out, err := createParquet(mem, dir, RowsFile, schema)
	if err != nil {
		return nil, err
	}
	defer out.pw.Close()
	n := (len(seqs) + seqBatch - 1) / seqBatch
	recs := make([]chan arrow.Record, n)
	for k := range recs {
		recs[k] = make(chan arrow.Record, 1)
	}
	workers := min(runtime.GOMAXPROCS(0), n)
	slots := make(chan struct{}, workers+1) // records built and not yet written
	stop := make(chan struct{})
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				select {
				case slots <- struct{}{}:
				case <-stop:
					return
				}
				k := int(next.Add(1) - 1)
				if k >= n {
					return
				}
				recs[k] <- sequenceRecord(mem, schema, p, seqs[k*seqBatch:min((k+1)*seqBatch, len(seqs))])
			}
		})
	}
	for k := range n {
		rec := <-recs[k]
		<-slots
		err = out.pw.Write(rec)
		rec.Release()
		if err != nil {
			close(stop)
			wg.Wait()
			for _, c := range recs[k+1:] {
				select {
				case rec := <-c:
					rec.Release()
				default:
				}
			}
			return nil, err
		}
	}
	wg.Wait()
	return out, out.pw.Close()
}

// sequenceRecord is the rows of sequenceSchema for seqs.
func sequenceRecord(mem memory.Allocator, schema *arrow.Schema, p *plan, seqs []seqRow) arrow.Record {
	b := array.NewRecordBuilder(mem, schema)
	defer b.Release()
	seqName := p.columns[p.seqCol]
	last := schema.NumFields() - 1 // the columns after the keys: sequence, tokens, cross_entropy, perplexity
	seqb, tokb := b.Field(last-3), b.Field(last-2).(*array.Int64Builder)
	ceb, pplb := b.Field(last-1).(*array.Float64Builder), b.Field(last).(*array.Float64Builder)
	for _, sr := range seqs {
		col := 0
		for j, name := range p.groupNames {
			if name != seqName {
				appendKey(b.Field(col), sr.cell.key[j])
				col++
			}
		}
		appendKey(seqb, sr.seq.value)
		tokens, ce, ppl := sr.seq.stats.Final()
		tokb.Append(tokens)
		appendOpt(ceb, ce)
		appendOpt(pplb, ppl)
	}
	return b.NewRecord()
}
