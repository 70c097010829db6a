package gates

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/evaljob/evaljob/config"
)

// Value is a summary cell: V, or null.
type Value struct {
	V    float64
	Null bool
}

// KV is one group key of a summary row: column, its value as text (for
// matching `where` and for reports), null flag, and JSON (the typed value for
// gates.json: string, float64, int64, bool, or nil).
type KV struct {
	Column, Text string
	Null         bool
	JSON         any
}

// Row is one summary row as gates see it: its grouping set ("" = the overall
// row), the set's keys in set order, and every numeric column by name
// (metrics, counts such as "rows", sums).
type Row struct {
	GroupSet string
	Group    []KV
	Values   map[string]Value
	// Paired holds, by gate index, the paired comparison of this row with
	// the gate's baseline_rows (gates with baseline_rows only).
	Paired map[int]*Paired
}

// Paired compares one summary row with an earlier run's rows.parquet,
// row by row: the per-row losses of the rows this run scored that match a
// baseline row (with a loss) by the gate's join keys.
type Paired struct {
	Matched, Unmatched int64
	MeanNew, MeanBase  float64 // mean loss of the matched rows, now and in the baseline
	MeanDiff           float64 // mean of (new - baseline) over the matched rows
	StderrDiff         float64 // standard error of MeanDiff (0 with fewer than 2 rows)
	Err                string  // the baseline rows could not be used (unreadable, duplicate key)
}

// Result is one gate judged on one summary row (SPEC §6).
type Result struct {
	Gate     int            `json:"gate"` // index of the gate in the config's gates list, 0-based
	Metric   string         `json:"metric"`
	GroupSet string         `json:"group_set"`
	Group    map[string]any `json:"group"`    // key column -> typed value ({} for the overall row)
	Value    *float64       `json:"value"`    // null when the metric is null or there is no row
	Baseline *float64       `json:"baseline"` // the baseline row's metric, for baseline gates
	Limit    *float64       `json:"limit"`    // the value the metric may not cross
	Passed   bool           `json:"passed"`
	Reason   string         `json:"reason"` // one line, in words

	// Change is value - baseline, for reports (0 when an infinite value
	// stayed so); Relative is set when the gate has max_increase, so that
	// reports show it as a percentage of the baseline (RelativeChange).
	// Neither is part of gates.json.
	Change   *float64 `json:"-"`
	Relative bool     `json:"-"`
}

// MarshalJSON writes the result with the fields of SPEC §6, and only
// those. JSON has no infinities: a non-finite number (a +Inf loss, say) is
// written as null, and the reason still says "+Inf". Group is {} rather than
// null for the overall row. HTML characters are not escaped, so reasons read
// "log_loss 0.41 > max 0.35".
func (r Result) MarshalJSON() ([]byte, error) {
	group := make(map[string]any, len(r.Group))
	for k, v := range r.Group {
		if f, ok := v.(float64); ok && (math.IsInf(f, 0) || math.IsNaN(f)) {
			v = strconv.FormatFloat(f, 'g', -1, 64)
		}
		group[k] = v
	}
	type plain Result // the same fields, without this method
	p := plain(r)
	p.Group, p.Value, p.Baseline, p.Limit = group, finite(r.Value), finite(r.Baseline), finite(r.Limit)
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(p); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

func finite(p *float64) *float64 {
	if p == nil || math.IsInf(*p, 0) || math.IsNaN(*p) {
		return nil
	}
	return p
}

// GroupText is the result's group as one line: "model=a, slice=b" in the
// order of the grouping set, "overall" for the overall row. A null key is
// written "model=null".
func (r Result) GroupText() string {
	if len(r.Group) == 0 {
		return "overall"
	}
	var cols []string
	if r.GroupSet != "" {
		for _, c := range strings.Split(r.GroupSet, ",") {
			if _, ok := r.Group[c]; ok && !slices.Contains(cols, c) {
				cols = append(cols, c)
			}
		}
	}
	var rest []string
	for c := range r.Group {
		if !slices.Contains(cols, c) {
			rest = append(rest, c)
		}
	}
	slices.Sort(rest)
	cols = append(cols, rest...)
	parts := make([]string, len(cols))
	for i, c := range cols {
		parts[i] = c + "=" + jsonText(r.Group[c])
	}
	return strings.Join(parts, ", ")
}

func jsonText(v any) string {
	switch v := v.(type) {
	case nil:
		return "null"
	case string:
		return v
	case float64:
		return strconv.FormatFloat(v, 'g', -1, 64)
	case float32:
		return strconv.FormatFloat(float64(v), 'g', -1, 32)
	}
	return fmt.Sprint(v)
}

// CrossEntropyScale reports whether metric is one of the cross-entropy
// family, tested on the cross-entropy scale under `significance`:
// cross_entropy, log_loss, perplexity, bits_per_token, bits_per_byte,
// word_perplexity.
func CrossEntropyScale(metric string) bool {
	switch metric {
	case "cross_entropy", "log_loss", "perplexity", "bits_per_token", "bits_per_byte", "word_perplexity":
		return true
	}
	return false
}

// Failed counts the results that did not pass.
func Failed(results []Result) int {
	n := 0
	for _, r := range results {
		if !r.Passed {
			n++
		}
	}
	return n
}

// Summary column names the gates read besides the gated metric.
const (
	rowsColumn   = "rows"
	ceColumn     = "cross_entropy"
	stderrColumn = "cross_entropy_stderr"
)

// baselineSet is a loaded baseline summary, indexed by row key.
type baselineSet struct {
	rows  []Row
	byKey map[string]int
	err   error
}

func (b *baselineSet) find(r Row) (Row, bool) {
	i, ok := b.byKey[rowKey(r)]
	if !ok {
		return Row{}, false
	}
	return b.rows[i], true
}

// rowKey identifies a summary row by its grouping set and keys (column, null
// flag, text).
func rowKey(r Row) string {
	var b strings.Builder
	b.WriteString(strconv.Quote(r.GroupSet))
	for _, kv := range r.Group {
		b.WriteByte(' ')
		b.WriteString(strconv.Quote(kv.Column))
		if kv.Null {
			b.WriteString("=null")
		} else {
			b.WriteByte('=')
			b.WriteString(strconv.Quote(kv.Text))
		}
	}
	return b.String()
}

// Evaluate judges every gate on the summary rows it selects (see the package
// documentation for the rules). baseline loads an earlier summary.parquet's
// rows; it is called at most once per path, and its error becomes a failing
// result, with the error as reason, for every row the gate selects.
// Results come in gate order, then summary row order.
func Evaluate(gates []config.Gate, rows []Row, baseline func(path string) ([]Row, error)) []Result {
	results := []Result{}
	loaded := map[string]*baselineSet{}
	load := func(path string) *baselineSet {
		if b, ok := loaded[path]; ok {
			return b
		}
		b := &baselineSet{}
		if baseline == nil {
			b.err = fmt.Errorf("no baseline reader was given")
		} else {
			b.rows, b.err = baseline(path)
		}
		b.byKey = make(map[string]int, len(b.rows))
		for i, r := range b.rows {
			k := rowKey(r)
			if _, dup := b.byKey[k]; !dup {
				b.byKey[k] = i
			}
		}
		loaded[path] = b
		return b
	}
	for i, g := range gates {
		selected := selectRows(g.Where, rows)
		if len(selected) == 0 {
			results = append(results, noRow(i, g, rows))
			continue
		}
		var base *baselineSet
		if g.Baseline != "" {
			base = load(g.Baseline)
		}
		for _, r := range selected {
			results = append(results, judge(i, g, r, base))
		}
	}
	return results
}

// selectRows returns the rows a gate's where selects: the overall row when
// where is empty, else every row whose grouping set has every where column
// with that (non-null) value.
func selectRows(where map[string]string, rows []Row) []Row {
	var out []Row
	for _, r := range rows {
		if len(where) == 0 {
			if r.GroupSet == "" {
				out = append(out, r)
			}
			continue
		}
		if matches(where, r) {
			out = append(out, r)
		}
	}
	return out
}

func matches(where map[string]string, r Row) bool {
	for col, want := range where {
		i := slices.IndexFunc(r.Group, func(kv KV) bool { return kv.Column == col })
		if i < 0 || r.Group[i].Null || r.Group[i].Text != want {
			return false
		}
	}
	return true
}

// noRow is the failing result of a gate whose where selects no row. Its
// group_set is the where's columns: in the order of a grouping set of
// exactly those columns if the summary has one, else by name.
func noRow(i int, g config.Gate, rows []Row) Result {
	res := Result{Gate: i, Metric: g.Metric, Group: map[string]any{}, Relative: g.MaxIncrease != nil}
	if len(g.Where) == 0 {
		res.Reason = "the summary has no overall row"
		return res
	}
	cols := sortedKeys(g.Where)
	res.GroupSet = strings.Join(cols, ",") // not "", the overall row's
	for _, r := range rows {
		set := strings.Split(r.GroupSet, ",")
		if r.GroupSet != "" && len(set) == len(cols) && !slices.ContainsFunc(set, func(c string) bool { _, ok := g.Where[c]; return !ok }) {
			res.GroupSet = r.GroupSet
			break
		}
	}
	conds := make([]string, len(cols))
	for j, c := range cols {
		res.Group[c] = g.Where[c]
		conds[j] = c + " = " + g.Where[c]
	}
	res.Reason = "no summary row has " + strings.Join(conds, " and ")
	return res
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// judge evaluates gate i on one selected row.
func judge(i int, g config.Gate, r Row, base *baselineSet) Result {
	res := Result{Gate: i, Metric: g.Metric, GroupSet: r.GroupSet, Group: map[string]any{}, Relative: g.MaxIncrease != nil}
	for _, kv := range r.Group {
		if kv.Null {
			res.Group[kv.Column] = nil
		} else {
			res.Group[kv.Column] = kv.JSON
		}
	}
	if g.BaselineRows != "" {
		res.Passed, res.Reason = judgePaired(i, g, r, &res)
		res.Reason = oneLine(res.Reason)
		return res
	}
	if base != nil && base.err != nil {
		if v, ok := r.Values[g.Metric]; ok && !v.Null {
			res.Value = ptr(v.V)
		}
		res.Reason = oneLine("cannot read baseline " + g.Baseline + ": " + base.err.Error())
		return res
	}
	passed, reason := check(g, r, base, &res)
	res.Passed, res.Reason = passed, oneLine(reason)
	if g.MinRows != nil {
		n := int64(0)
		if v, ok := r.Values[rowsColumn]; ok && !v.Null {
			n = int64(v.V)
		}
		if n < *g.MinRows {
			res.Passed = true
			res.Reason = fmt.Sprintf("not judged: %d rows < min_rows %d", n, *g.MinRows)
		}
	}
	return res
}

// check judges the row and fills res's numbers. It reports whether the gate
// holds, and why.
func check(g config.Gate, r Row, base *baselineSet, res *Result) (bool, string) {
	m := g.Metric
	hasAbs := g.Max != nil || g.Min != nil
	hasIncrease := g.MaxIncrease != nil || g.MaxIncreaseAbs != nil
	switch {
	case g.Baseline != "" && !hasIncrease:
		return false, "the gate has a baseline but neither max_increase nor max_increase_abs"
	case g.Baseline == "" && hasIncrease:
		return false, "max_increase and max_increase_abs need a baseline"
	case !hasAbs && !hasIncrease:
		return false, "the gate sets no limit (max, min, max_increase or max_increase_abs)"
	}
	if g.Max != nil {
		res.Limit = ptr(*g.Max)
	} else if g.Min != nil {
		res.Limit = ptr(*g.Min)
	}

	v, ok := r.Values[m]
	if !ok {
		return false, "the summary has no metric " + m
	}
	if !v.Null {
		res.Value = ptr(v.V)
	}
	var b Value
	var baseRow Row
	baseHas := true
	if base != nil {
		var found bool
		baseRow, found = base.find(r)
		if !found {
			return false, "no baseline row for " + rowText(r) + " (group_set " + setText(r.GroupSet) + ")"
		}
		b, baseHas = baseRow.Values[m]
		if !baseHas {
			b = Value{Null: true}
		}
		if !b.Null {
			res.Baseline = ptr(b.V)
		}
		if !v.Null && !b.Null {
			res.Change = ptr(change(v.V, b.V))
		}
	}
	if v.Null {
		return false, m + " is null (" + countsText(r) + ")"
	}

	var passes []string
	if hasAbs {
		ok, why := checkAbs(m, v.V, g.Min, g.Max)
		if !ok {
			if g.Min != nil && v.V < *g.Min {
				res.Limit = ptr(*g.Min) // the bound it crossed
			}
			return false, why
		}
		passes = append(passes, why)
	}
	if base == nil {
		return true, "passed: " + strings.Join(passes, "; ")
	}
	if !baseHas {
		return false, "the baseline summary has no column " + m
	}
	if b.Null {
		return false, "baseline " + m + " is null"
	}
	ok, why := checkIncrease(g, v.V, b.V, res)
	if !ok && g.Significance != nil {
		ok, why = checkNoise(g, r, baseRow, why)
	}
	if !ok {
		return false, why
	}
	if !strings.HasPrefix(why, "passed: ") {
		why = "passed: " + why
	}
	if len(passes) > 0 {
		why = "passed: " + strings.Join(passes, "; ") + "; " + strings.TrimPrefix(why, "passed: ")
	}
	return true, why
}

// checkAbs tests min <= v <= max.
func checkAbs(m string, v float64, lo, hi *float64) (bool, string) {
	if hi != nil && !(v <= *hi) {
		s := nums(6, v, *hi)
		return false, fmt.Sprintf("%s %s > max %s", m, s[0], s[1])
	}
	if lo != nil && !(v >= *lo) {
		s := nums(6, v, *lo)
		return false, fmt.Sprintf("%s %s < min %s", m, s[0], s[1])
	}
	switch {
	case lo != nil && hi != nil:
		s := nums(6, v, *lo, *hi)
		return true, fmt.Sprintf("%s %s >= min %s and <= max %s", m, s[0], s[1], s[2])
	case hi != nil:
		s := nums(6, v, *hi)
		return true, fmt.Sprintf("%s %s <= max %s", m, s[0], s[1])
	}
	s := nums(6, v, *lo)
	return true, fmt.Sprintf("%s %s >= min %s", m, s[0], s[1])
}

// judgePaired judges a paired gate on its row: the mean per-row loss over
// the matched rows against the baseline's mean over the same rows, with
// max_increase / max_increase_abs, and under significance k the mean
// difference against k paired standard errors.
func judgePaired(i int, g config.Gate, r Row, res *Result) (bool, string) {
	p := r.Paired[i]
	switch {
	case p == nil:
		return false, "no paired statistics for this row"
	case p.Err != "":
		return false, "cannot use baseline rows " + g.BaselineRows + ": " + p.Err
	case p.Matched == 0:
		return false, fmt.Sprintf("paired: no scored row of this group matched a baseline row by %s (%d unmatched)", strings.Join(g.Join, ", "), p.Unmatched)
	}
	res.Value, res.Baseline, res.Change = ptr(p.MeanNew), ptr(p.MeanBase), ptr(p.MeanDiff)
	head := fmt.Sprintf("paired over %d matched rows (%d unmatched): ", p.Matched, p.Unmatched)
	ok, why := checkIncrease(g, p.MeanNew, p.MeanBase, res)
	if ok || g.Significance == nil {
		if ok {
			return true, "passed: " + head + strings.TrimPrefix(why, "passed: ")
		}
		return false, head + why
	}
	k := *g.Significance
	threshold := k * p.StderrDiff
	s := nums(3, p.MeanDiff, threshold, p.StderrDiff)
	noise := fmt.Sprintf("%s x paired stderr %s = %s", strconv.FormatFloat(k, 'g', -1, 64), s[2], s[1])
	if p.MeanDiff > threshold || math.IsNaN(p.MeanDiff) {
		return false, fmt.Sprintf("%s%s, and the mean difference %s exceeds %s", head, why, s[0], noise)
	}
	return true, fmt.Sprintf("passed: %s%s, but the mean difference %s is within %s", head, why, s[0], noise)
}

// checkIncrease tests the change from base to v against max_increase and
// max_increase_abs, and sets res.Limit to the smaller limit.
func checkIncrease(g config.Gate, v, base float64, res *Result) (bool, string) {
	m := g.Metric
	delta := change(v, base)
	var limit float64
	var parts []string
	ok := true
	if x := g.MaxIncrease; x != nil {
		limit = base + *x*math.Abs(base)
		if math.IsInf(base, 0) {
			limit = base // base * (1 + x)
		}
		rel := RelativeChange(v, base)
		s := nums(3, 100*rel, 100**x)
		// A base of 0 or +-Inf that stayed so is its own limit, not
		// crossed, whatever x.
		hold := rel <= *x || (v == base && (base == 0 || math.IsInf(base, 0)))
		ok = ok && hold
		parts = append(parts, moved(delta, s[0]+"%", hold, "max_increase "+s[1]+"%"))
	}
	if d := g.MaxIncreaseAbs; d != nil {
		l := base + *d
		if g.MaxIncrease == nil || l < limit {
			limit = l
		}
		s := nums(6, delta, *d)
		hold := delta <= *d
		ok = ok && hold
		parts = append(parts, moved(delta, s[0], hold, "max_increase_abs "+s[1]))
	}
	res.Limit = ptr(limit)
	s := nums(6, base, v)
	why := fmt.Sprintf("%s %s (baseline %s, now %s)", m, strings.Join(parts, " and "), s[0], s[1])
	if math.IsNaN(delta) {
		return false, fmt.Sprintf("the change of %s from baseline %s to %s is undefined", m, s[0], s[1])
	}
	if ok {
		return true, "passed: " + why
	}
	return false, why
}

// change is v - base, and 0 when an infinite value stayed so (+Inf - +Inf
// is NaN, but a loss that was and is +Inf did not change).
func change(v, base float64) float64 {
	if v == base {
		return 0
	}
	return v - base
}

// RelativeChange is the change of a relative gate, (v - base) / |base|
// (SPEC §6), where that has a value: 0 when nothing changed (a base of 0 or
// +Inf that stayed so, whose limit base * (1 + x) is not crossed), and -1
// for a +Inf base that became finite (the ratio's limit: a fall of 100%).
// It is NaN only where v or base is.
func RelativeChange(v, base float64) float64 {
	switch {
	case v == base:
		return 0
	case math.IsInf(base, 0) && !math.IsInf(v, 0):
		return -math.Copysign(1, base)
	}
	return (v - base) / math.Abs(base)
}

// moved words a change: "rose 1.8% > max_increase 1%", "fell 2%, within
// max_increase 1%". amount is the signed change as text.
func moved(delta float64, amount string, hold bool, limit string) string {
	switch {
	case delta < 0 && hold:
		return "fell " + strings.TrimPrefix(amount, "-") + ", within " + limit
	case delta < 0:
		return "changed " + amount + " > " + limit
	case hold:
		return "rose " + amount + " <= " + limit
	}
	return "rose " + amount + " > " + limit
}

// checkNoise is called when a baseline limit is exceeded under
// significance k: the gate still passes when the cross-entropy change is
// within k combined standard errors.
func checkNoise(g config.Gate, r, baseRow Row, exceeded string) (bool, string) {
	k := *g.Significance
	if !CrossEntropyScale(g.Metric) {
		return false, exceeded + "; significance applies only to cross-entropy metrics, so it is not tested"
	}
	ceNew, okNew := r.Values[ceColumn]
	ceBase, okBase := baseRow.Values[ceColumn]
	switch {
	case !okNew || ceNew.Null:
		return false, exceeded + ", and the change cannot be tested for noise: cross_entropy is null"
	case !okBase || ceBase.Null:
		return false, exceeded + ", and the change cannot be tested for noise: baseline cross_entropy is null"
	}
	se := math.Hypot(stderr(r), stderr(baseRow))
	threshold := k * se
	d := ceNew.V - ceBase.V
	s := nums(3, d, threshold)
	ks := strconv.FormatFloat(k, 'g', -1, 64)
	ses := nums(3, se)[0]
	noise := fmt.Sprintf("%s x combined stderr %s = %s", ks, ses, s[1])
	if math.IsInf(d, 0) || math.IsNaN(d) || math.IsNaN(threshold) || d > threshold {
		return false, fmt.Sprintf("%s, and the cross_entropy change %s exceeds %s", exceeded, s[0], noise)
	}
	return true, fmt.Sprintf("passed: %s, but the cross_entropy change %s is within %s", exceeded, s[0], noise)
}

// stderr is the row's cross_entropy_stderr; null or missing counts as 0.
func stderr(r Row) float64 {
	v, ok := r.Values[stderrColumn]
	if !ok || v.Null {
		return 0
	}
	return v.V
}

// countsText explains a null metric with the row's counts.
func countsText(r Row) string {
	var parts []string
	for _, c := range []string{"rows", "invalid_rows", "ignored_rows"} {
		if v, ok := r.Values[c]; ok && !v.Null {
			parts = append(parts, c+" "+strconv.FormatFloat(v.V, 'g', -1, 64))
		}
	}
	if len(parts) == 0 {
		return "no value for this row"
	}
	return "no value for this row: " + strings.Join(parts, ", ")
}

// rowText is a row's keys as "model=a,slice=b", or "the overall row".
func rowText(r Row) string {
	if len(r.Group) == 0 {
		return "the overall row"
	}
	parts := make([]string, len(r.Group))
	for i, kv := range r.Group {
		if kv.Null {
			parts[i] = kv.Column + "=null"
		} else {
			parts[i] = kv.Column + "=" + kv.Text
		}
	}
	return strings.Join(parts, ",")
}

func setText(set string) string {
	if set == "" {
		return `""`
	}
	return set
}

// nums formats numbers with at least minDigits significant digits, and more
// (up to 17) when two different numbers would otherwise print the same, so
// that "0.35 > max 0.35" cannot happen.
func nums(minDigits int, vs ...float64) []string {
	out := make([]string, len(vs))
	for p := minDigits; ; p++ {
		for i, v := range vs {
			out[i] = strconv.FormatFloat(v, 'g', p, 64)
		}
		if p >= 17 || distinct(vs, out) {
			return out
		}
	}
}

func distinct(vs []float64, s []string) bool {
	for i := range vs {
		for j := i + 1; j < len(vs); j++ {
			if vs[i] != vs[j] && s[i] == s[j] {
				return false
			}
		}
	}
	return true
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(s, "\r", " ")), " ")
}

func ptr(v float64) *float64 { return &v }

// Describe words a gate for reports, e.g. "log_loss <= 0.35 where
// model=candidate" or "perplexity +1% vs baseline (significance 2)".
func Describe(g config.Gate) string {
	f := func(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
	var parts []string
	switch {
	case g.Min != nil && g.Max != nil:
		parts = append(parts, f(*g.Min)+" <= "+g.Metric+" <= "+f(*g.Max))
	case g.Max != nil:
		parts = append(parts, g.Metric+" <= "+f(*g.Max))
	case g.Min != nil:
		parts = append(parts, g.Metric+" >= "+f(*g.Min))
	}
	var inc []string
	signed := func(s string) string {
		if strings.HasPrefix(s, "-") {
			return s
		}
		return "+" + s
	}
	if g.MaxIncrease != nil {
		inc = append(inc, signed(nums(6, 100**g.MaxIncrease)[0])+"%")
	}
	if g.MaxIncreaseAbs != nil {
		inc = append(inc, signed(f(*g.MaxIncreaseAbs)))
	}
	if len(inc) > 0 || g.Baseline != "" || g.BaselineRows != "" {
		s := g.Metric
		if len(inc) > 0 {
			s += " " + strings.Join(inc, " and ")
		}
		if g.BaselineRows != "" {
			s += " vs baseline rows, paired by " + strings.Join(g.Join, ", ")
		} else {
			s += " vs baseline"
		}
		if g.Significance != nil {
			s += " (significance " + f(*g.Significance) + ")"
		}
		parts = append(parts, s)
	}
	if len(parts) == 0 {
		parts = append(parts, g.Metric)
	}
	s := strings.Join(parts, ", ")
	if len(g.Where) > 0 {
		cols := sortedKeys(g.Where)
		conds := make([]string, len(cols))
		for i, c := range cols {
			conds[i] = c + "=" + g.Where[c]
		}
		s += " where " + strings.Join(conds, ", ")
	}
	if g.MinRows != nil {
		s += fmt.Sprintf(" (min_rows %d)", *g.MinRows)
	}
	return s
}
