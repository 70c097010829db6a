package pipeline

import (
	"context"
	"fmt"
	"math"
	"slices"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"

	"github.com/evaljob/evaljob/config"
	"github.com/evaljob/evaljob/gates"
	"github.com/evaljob/evaljob/pipeline/metrics"
	"github.com/evaljob/evaljob/readers"
)

// pairing computes the paired gates (baseline_rows + join): for every
// grouping set's groups, the differences between this run's per-row losses
// and an earlier rows.parquet's, on the rows both scored, matched by the
// join keys. The rows sink feeds it every per-row record in input order.
type pairing struct {
	p     *plan
	gates []*pairedGate
}

type pairedGate struct {
	index    int              // in the config's gates
	join     []int            // join columns' positions in rows.parquet
	joinType []arrow.DataType //
	base     map[string]float64
	err      string
	groups   map[string]*pairAcc // by set index and group key
}

type pairAcc struct {
	matched, unmatched    int64
	sumNew, sumBase, sumD metrics.Sum
	sumD2                 metrics.Sum
}

// newPairing loads the baseline rows of every paired gate. A baseline that
// cannot be used fails its gate later, with the reason; it does not stop
// the run.
func newPairing(ctx context.Context, p *plan) *pairing {
	var out *pairing
	for i, g := range p.cfg.Gates {
		if g.BaselineRows == "" {
			continue
		}
		if out == nil {
			out = &pairing{p: p}
		}
		pg := &pairedGate{index: i, groups: map[string]*pairAcc{}}
		for _, col := range g.Join {
			j := slices.Index(p.outNames, col)
			pg.join = append(pg.join, j)
			pg.joinType = append(pg.joinType, p.outTypes[j])
		}
		if err := pg.loadBase(ctx, g); err != nil {
			pg.err = err.Error()
		}
		out.gates = append(out.gates, pg)
	}
	return out
}

// loadBase reads the baseline rows.parquet: join key -> cross_entropy.
func (pg *pairedGate) loadBase(ctx context.Context, g config.Gate) error {
	f, err := readers.Open(readers.Input{Path: g.BaselineRows})
	if err != nil {
		return err
	}
	defer f.Close()
	types := map[string]arrow.DataType{}
	for _, fd := range f.Fields() {
		types[fd.Name] = fd.Type
	}
	for k, col := range g.Join {
		if t := types[col]; t == nil || !sameType(t, pg.joinType[k]) {
			return fmt.Errorf("join column %q is %v there, %v here", col, t, pg.joinType[k])
		}
	}
	if t := types["cross_entropy"]; t == nil || t.ID() != arrow.FLOAT64 {
		return fmt.Errorf("no float64 cross_entropy column")
	}
	pg.base = map[string]float64{}
	cols := append(slices.Clone(g.Join), "cross_entropy")
	key := make([]keyValue, len(g.Join))
	var buf []byte
	for u := range f.NumUnits() {
		err := f.ReadUnit(ctx, u, cols, 0, func(ch *readers.Chunk) error {
			loss := ch.Columns[len(g.Join)]
			for i := range ch.Len {
				for k := range g.Join {
					key[k] = keyAt(ch.Columns[k], i)
				}
				buf = encodeKey(buf[:0], pg.joinType, key)
				if _, dup := pg.base[string(buf)]; dup {
					return fmt.Errorf("row %d: join key %s occurs twice", ch.FirstRow+int64(i), keyString(key))
				}
				v := math.NaN() // a row the baseline did not score
				if !loss.Null(i) {
					v = loss.F64[i]
				}
				pg.base[string(buf)] = v
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

func keyString(key []keyValue) string {
	s := ""
	for k, v := range key {
		if k > 0 {
			s += ", "
		}
		switch {
		case v.null:
			s += "null"
		case v.s != "":
			s += fmt.Sprintf("%q", v.s)
		default:
			s += fmt.Sprint(v.i)
		}
	}
	return s
}

// add takes one per-row record (rows.parquet's columns) in input order.
func (pr *pairing) add(rec arrow.Record) {
	p := pr.p
	n := int(rec.NumRows())
	loss := rec.Column(int(rec.NumCols()) - 1).(*array.Float64)
	var buf, gbuf []byte
	for _, pg := range pr.gates {
		if pg.err != "" {
			continue
		}
		key := make([]keyValue, len(pg.join))
		for i := range n {
			if loss.IsNull(i) {
				continue // not scored here: not part of the comparison
			}
			for k, j := range pg.join {
				key[k] = arrowKey(rec.Column(j), i)
			}
			buf = encodeKey(buf[:0], pg.joinType, key)
			base, ok := pg.base[string(buf)]
			matched := ok && !math.IsNaN(base)
			l := loss.Value(i)
			for si := -1; si < len(p.cfg.GroupBy); si++ {
				gbuf = pr.groupKey(gbuf[:0], si, rec, i)
				acc := pg.groups[string(gbuf)]
				if acc == nil {
					acc = &pairAcc{}
					pg.groups[string(gbuf)] = acc
				}
				if !matched {
					acc.unmatched++
					continue
				}
				d := l - base
				acc.matched++
				acc.sumNew.Add(l)
				acc.sumBase.Add(base)
				acc.sumD.Add(d)
				acc.sumD2.AddProduct(d, d)
			}
		}
	}
}

// groupKey encodes row i's keys for grouping set si (-1: the overall row),
// prefixed by the set, from the record's group_by columns.
func (pr *pairing) groupKey(buf []byte, si int, rec arrow.Record, i int) []byte {
	buf = append(buf, byte(si+1))
	if si < 0 {
		return buf
	}
	p := pr.p
	for _, col := range p.cfg.GroupBy[si] {
		j := slices.Index(p.outNames, col)
		buf = encodeKey(buf, p.outTypes[j:j+1], []keyValue{arrowKey(rec.Column(j), i)})
	}
	return buf
}

// groupKeyOf encodes a summary group's key the way groupKey does.
func (pr *pairing) groupKeyOf(g *group) []byte {
	buf := []byte{byte(g.set + 1)}
	if g.set < 0 {
		return buf
	}
	p := pr.p
	for _, col := range p.cfg.GroupBy[g.set] {
		j := slices.Index(p.groupNames, col)
		buf = encodeKey(buf, p.groupTypes[j:j+1], []keyValue{g.key[j]})
	}
	return buf
}

// attach puts every paired gate's statistics on the gate rows.
func (pr *pairing) attach(groups []*group, rows []gates.Row) {
	for gi, g := range groups {
		key := pr.groupKeyOf(g)
		rows[gi].Paired = map[int]*gates.Paired{}
		for _, pg := range pr.gates {
			out := &gates.Paired{Err: pg.err}
			if acc := pg.groups[string(key)]; acc != nil {
				out.Matched, out.Unmatched = acc.matched, acc.unmatched
				if n := float64(acc.matched); n > 0 {
					out.MeanNew = acc.sumNew.Float64() / n
					out.MeanBase = acc.sumBase.Float64() / n
					out.MeanDiff = acc.sumD.Float64() / n
					if n > 1 {
						s1, s2 := acc.sumD.Float64(), acc.sumD2.Float64()
						v := max((s2-s1*s1/n)/(n-1), 0)
						out.StderrDiff = math.Sqrt(v / n)
					}
				}
			}
			rows[gi].Paired[pg.index] = out
		}
	}
}

// arrowKey reads row i of a scalar Arrow array as a key value, like keyAt
// does for a readers.Column.
func arrowKey(a arrow.Array, i int) keyValue {
	if a.IsNull(i) {
		return keyValue{null: true}
	}
	switch a := a.(type) {
	case *array.String:
		return keyValue{s: a.Value(i)}
	case *array.LargeString:
		return keyValue{s: a.Value(i)}
	case *array.Binary:
		return keyValue{s: string(a.Value(i))}
	case *array.Boolean:
		if a.Value(i) {
			return keyValue{i: 1}
		}
		return keyValue{}
	case *array.Int8:
		return keyValue{i: int64(a.Value(i))}
	case *array.Int16:
		return keyValue{i: int64(a.Value(i))}
	case *array.Int32:
		return keyValue{i: int64(a.Value(i))}
	case *array.Int64:
		return keyValue{i: a.Value(i)}
	case *array.Uint8:
		return keyValue{i: int64(a.Value(i))}
	case *array.Uint16:
		return keyValue{i: int64(a.Value(i))}
	case *array.Uint32:
		return keyValue{i: int64(a.Value(i))}
	case *array.Uint64:
		return keyValue{i: int64(a.Value(i))}
	case *array.Date32:
		return keyValue{i: int64(a.Value(i))}
	case *array.Timestamp:
		return keyValue{i: int64(a.Value(i))}
	case *array.Float32:
		return keyValue{f: float64(a.Value(i))}
	case *array.Float64:
		return keyValue{f: a.Value(i)}
	}
	panic(fmt.Sprintf("pipeline: no key reader for %T", a))
}
