package pipeline

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow/go/v17/arrow"

	"github.com/evaljob/evaljob/evalerr"
	"github.com/evaljob/evaljob/gates"
	"github.com/evaljob/evaljob/readers"
)

// checkGates checks that every gate names a summary column of the task
// (exit 2 naming it), and that significance is used on a loss.
func (p *plan) checkGates() error {
	var names []string
	names = append(names, countColumns(p.task, p.labels != nil)...)
	for _, m := range metricColumns(p.task) {
		names = append(names, m.name)
	}
	for i, g := range p.cfg.Gates {
		if !slices.Contains(names, g.Metric) {
			return evalerr.Configf("config key gates[%d].metric: %q is not a summary metric of the %s task (one of %s)",
				i, g.Metric, p.task, strings.Join(names, ", "))
		}
		if g.Significance != nil && !gates.CrossEntropyScale(g.Metric) {
			return evalerr.Configf("config key gates[%d].significance: works on the cross-entropy scale; %q is not a loss or perplexity", i, g.Metric)
		}
		if g.Significance != nil && !slices.Contains(names, "cross_entropy_stderr") {
			return evalerr.Configf("config key gates[%d].significance: the %s task has no cross_entropy_stderr", i, p.task)
		}
		for col := range g.Where {
			if !slices.Contains(p.groupNames, col) {
				return evalerr.Configf("config key gates[%d].where: %q is not a group_by column", i, col)
			}
		}
	}
	return nil
}

// gateRows turns the summary rows into what gates judge.
func gateRows(p *plan, groups []*group, sums []groupSummary) []gates.Row {
	metrics := metricColumns(p.task)
	countNames := countColumns(p.task, p.labels != nil)
	rows := make([]gates.Row, len(groups))
	for gi, g := range groups {
		r := gates.Row{Values: map[string]gates.Value{}}
		if g.set >= 0 {
			set := p.cfg.GroupBy[g.set]
			r.GroupSet = groupSetName(set)
			for _, col := range set {
				j := slices.Index(p.groupNames, col)
				r.Group = append(r.Group, keyKV(col, g.key[j], p.groupTypes[j]))
			}
		}
		for k, n := range counts(g.stats, p.labels != nil) {
			r.Values[countNames[k]] = gates.Value{V: float64(n)}
		}
		for _, m := range metrics {
			if m.opt != nil {
				v := m.opt(&sums[gi])
				r.Values[m.name] = gates.Value{V: v.V, Null: !v.OK}
			} else {
				r.Values[m.name] = gates.Value{V: m.sum(&sums[gi])}
			}
		}
		rows[gi] = r
	}
	return rows
}

// keyKV is a group key as gates see it: text for matching `where`, and a
// typed value for gates.json.
func keyKV(col string, v keyValue, t arrow.DataType) gates.KV {
	if v.null {
		return gates.KV{Column: col, Null: true}
	}
	switch {
	case isStringType(t):
		return gates.KV{Column: col, Text: v.s, JSON: v.s}
	case isFloat(t):
		text := strconv.FormatFloat(v.f, 'g', -1, 64)
		if math.IsNaN(v.f) || math.IsInf(v.f, 0) {
			return gates.KV{Column: col, Text: text, JSON: text}
		}
		return gates.KV{Column: col, Text: text, JSON: v.f}
	case t.ID() == arrow.BOOL:
		return gates.KV{Column: col, Text: strconv.FormatBool(v.i != 0), JSON: v.i != 0}
	case t.ID() == arrow.UINT64:
		return gates.KV{Column: col, Text: strconv.FormatUint(uint64(v.i), 10), JSON: uint64(v.i)}
	case t.ID() == arrow.DATE32:
		text := time.Unix(v.i*86400, 0).UTC().Format(time.DateOnly)
		return gates.KV{Column: col, Text: text, JSON: text}
	}
	return gates.KV{Column: col, Text: strconv.FormatInt(v.i, 10), JSON: v.i}
}

// loadBaseline reads an earlier summary.parquet into gate rows: its group
// keys are the columns before group_set, its values every int64 or float64
// column after it.
func loadBaseline(ctx context.Context, path string) ([]gates.Row, error) {
	f, err := readers.Open(readers.Input{Path: path})
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fields := f.Fields()
	gs := slices.IndexFunc(fields, func(fd readers.Field) bool { return fd.Name == "group_set" })
	if gs < 0 {
		return nil, evalerr.Inputf("%s: not an evaljob summary (no group_set column)", path)
	}
	var cols []string
	var types []arrow.DataType
	for i, fd := range fields {
		if fd.Type == nil {
			continue
		}
		id := fd.Type.ID()
		if i <= gs || id == arrow.INT64 || id == arrow.FLOAT64 {
			cols = append(cols, fd.Name)
			types = append(types, fd.Type)
		}
	}
	gsCol := slices.Index(cols, "group_set")
	var rows []gates.Row
	for u := range f.NumUnits() {
		err := f.ReadUnit(ctx, u, cols, 0, func(ch *readers.Chunk) error {
			for i := range ch.Len {
				r := gates.Row{GroupSet: ch.Columns[gsCol].String(i), Values: map[string]gates.Value{}}
				if r.GroupSet != "" {
					for _, col := range strings.Split(r.GroupSet, ",") {
						j := slices.Index(cols, col)
						if j < 0 || j > gsCol {
							return fmt.Errorf("%s: group_set names %q, which is not a key column", path, col)
						}
						r.Group = append(r.Group, keyKV(col, keyAt(ch.Columns[j], i), types[j]))
					}
				}
				for j := gsCol + 1; j < len(cols); j++ {
					c := ch.Columns[j]
					switch {
					case c.Null(i):
						r.Values[cols[j]] = gates.Value{Null: true}
					case c.F64 != nil:
						r.Values[cols[j]] = gates.Value{V: c.F64[i]}
					default:
						r.Values[cols[j]] = gates.Value{V: float64(c.Ints[i])}
					}
				}
				rows = append(rows, r)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return rows, nil
}
