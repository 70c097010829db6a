package pipeline

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow/go/v17/arrow"

	"github.com/evaljob/evaljob/config"
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
		where := map[string]string{}
		for col, text := range g.Where {
			j := slices.Index(p.groupNames, col)
			if j < 0 {
				return evalerr.Configf("config key gates[%d].where: %q is not a group_by column", i, col)
			}
			key, err := whereText(col, text, p.groupTypes[j])
			if err != nil {
				return evalerr.Configf("config key gates[%d].where.%s: %q is not a value of the column's type %s: %v", i, col, text, p.groupTypes[j], err)
			}
			where[col] = key
		}
		p.where = append(p.where, where)
	}
	return nil
}

// gates are the config's gates with each where value as the key text of
// its column (whereText), for gates.Evaluate.
func (p *plan) gates() []config.Gate {
	gs := slices.Clone(p.cfg.Gates)
	for i := range gs {
		gs[i].Where = p.where[i]
	}
	return gs
}

// whereText is the key text (keyKV's) of the value a gate's where gives
// as text for a key column col of type t, so that a where value selects
// by value, not by spelling: 2.50 selects the key 2.5, True selects true,
// 007 selects 7, and a timestamp is a date and time (see parseTimestamp).
func whereText(col, text string, t arrow.DataType) (string, error) {
	var v keyValue
	var err error
	switch {
	case isStringType(t):
		return text, nil
	case isFloat(t):
		bits := 64
		if t.ID() == arrow.FLOAT32 {
			bits = 32 // 0.1 is the float32 key 0.1, 0.10000000149011612 as a float64
		}
		v.f, err = strconv.ParseFloat(text, bits)
	case t.ID() == arrow.BOOL:
		var b bool
		b, err = strconv.ParseBool(text)
		if b {
			v.i = 1
		}
	case t.ID() == arrow.UINT8, t.ID() == arrow.UINT16, t.ID() == arrow.UINT32, t.ID() == arrow.UINT64:
		var u uint64
		u, err = strconv.ParseUint(text, 10, t.(arrow.FixedWidthDataType).BitWidth())
		v.i = int64(u)
	case t.ID() == arrow.DATE32:
		var d time.Time
		d, err = time.Parse(time.DateOnly, text)
		v.i = d.Unix() / 86400
	case t.ID() == arrow.TIMESTAMP:
		v.i, err = parseTimestamp(text, t.(*arrow.TimestampType))
	default: // INT8 to INT64
		v.i, err = strconv.ParseInt(text, 10, t.(arrow.FixedWidthDataType).BitWidth())
	}
	if err != nil {
		return "", err
	}
	return keyKV(col, v, t).Text, nil
}

// timestampText writes a timestamp key as ISO 8601 date and time in UTC
// (as many fraction digits as it has).
func timestampText(v int64, t *arrow.TimestampType) string {
	per := int64(time.Second / t.Unit.Multiplier()) // units a second
	sec, frac := v/per, v%per
	if frac < 0 {
		sec, frac = sec-1, frac+per
	}
	return time.Unix(sec, frac*int64(t.Unit.Multiplier())).UTC().Format("2006-01-02T15:04:05.999999999")
}

// timestampLayouts are the spellings parseTimestamp reads: ISO 8601 with
// T or a space, with or without a zone, or a date (midnight).
var timestampLayouts = []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04:05.999999999Z07:00", "2006-01-02 15:04:05.999999999", time.DateOnly}

// parseTimestamp reads a timestamp of type t: a date and time (without a
// zone: UTC, as the column's values are), or the value itself, an integer
// of the column's unit since the epoch. A time finer than the unit, or out
// of its range, is an error.
func parseTimestamp(text string, t *arrow.TimestampType) (int64, error) {
	if n, err := strconv.ParseInt(text, 10, 64); err == nil {
		return n, nil
	}
	for _, layout := range timestampLayouts {
		tm, err := time.Parse(layout, text)
		if err != nil {
			continue
		}
		unit := int64(t.Unit.Multiplier())
		per := int64(time.Second) / unit
		sec, ns := tm.Unix(), int64(tm.Nanosecond())
		if ns%unit != 0 {
			return 0, fmt.Errorf("finer than the column's unit (%s)", t.Unit)
		}
		// sec*per + r in int64, r = ns/unit in [0, per); before 1970 as
		// (sec+1)*per + (r-per), so the product stays in range down to
		// the smallest value.
		r := ns / unit
		if sec < 0 && r > 0 {
			sec, r = sec+1, r-per
		}
		if sec > math.MaxInt64/per || sec < math.MinInt64/per || sec*per > math.MaxInt64-max(r, 0) || sec*per < math.MinInt64-min(r, 0) {
			return 0, fmt.Errorf("out of the range of the column's unit (%s)", t.Unit)
		}
		return sec*per + r, nil
	}
	return 0, errors.New("not a date and time (2026-11-20T10:00:00Z, 2026-11-20 10:00:00, 2026-11-20) nor an integer")
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
	case t.ID() == arrow.TIMESTAMP:
		// Matched (where, baseline rows) by the instant: the same text for
		// a column with a time zone and one without; gates.json marks the
		// former's as UTC.
		tt := t.(*arrow.TimestampType)
		text := timestampText(v.i, tt)
		if tt.TimeZone != "" {
			return gates.KV{Column: col, Text: text, JSON: text + "Z"}
		}
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
