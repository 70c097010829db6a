package gates

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/evaljob/evaljob/config"
)

func f(v float64) *float64 { return &v }
func n(v int64) *int64     { return &v }

// row builds a summary row. keys are "col=text" ("col=<null>" for a null
// key); the set is the key columns joined by ",".
func row(vals map[string]float64, keys ...string) Row {
	r := Row{Values: map[string]Value{}}
	var cols []string
	for _, k := range keys {
		col, text, _ := strings.Cut(k, "=")
		cols = append(cols, col)
		if text == "<null>" {
			r.Group = append(r.Group, KV{Column: col, Null: true})
		} else {
			r.Group = append(r.Group, KV{Column: col, Text: text, JSON: text})
		}
	}
	r.GroupSet = strings.Join(cols, ",")
	for k, v := range vals {
		r.Values[k] = Value{V: v}
	}
	return r
}

func withNull(r Row, cols ...string) Row {
	for _, c := range cols {
		r.Values[c] = Value{Null: true}
	}
	return r
}

func noBaseline(string) ([]Row, error) { panic("baseline loaded for a gate without one") }

func near(p *float64, want float64) bool {
	return p != nil && (*p == want || math.Abs(*p-want) <= 1e-12*math.Max(1, math.Abs(want)))
}

func TestAbsolute(t *testing.T) {
	overall := func(metric string, v float64) []Row {
		return []Row{row(map[string]float64{metric: v, "rows": 100})}
	}
	tests := []struct {
		name   string
		gate   config.Gate
		rows   []Row
		passed bool
		limit  float64
		reason string
	}{
		{"max pass", config.Gate{Metric: "log_loss", Max: f(0.35)}, overall("log_loss", 0.31),
			true, 0.35, "passed: log_loss 0.31 <= max 0.35"},
		{"max fail", config.Gate{Metric: "log_loss", Max: f(0.35)}, overall("log_loss", 0.412),
			false, 0.35, "log_loss 0.412 > max 0.35"},
		{"max equal passes", config.Gate{Metric: "log_loss", Max: f(0.35)}, overall("log_loss", 0.35),
			true, 0.35, "passed: log_loss 0.35 <= max 0.35"},
		// 6 digits would print both as 0.35; 8 tell them apart.
		{"max fail by a hair", config.Gate{Metric: "log_loss", Max: f(0.35)}, overall("log_loss", 0.35000001),
			false, 0.35, "log_loss 0.35000001 > max 0.35"},
		{"min pass", config.Gate{Metric: "accuracy", Min: f(0.85)}, overall("accuracy", 0.9),
			true, 0.85, "passed: accuracy 0.9 >= min 0.85"},
		{"min fail", config.Gate{Metric: "accuracy", Min: f(0.85)}, overall("accuracy", 0.81),
			false, 0.85, "accuracy 0.81 < min 0.85"},
		{"min and max pass, limit is max", config.Gate{Metric: "accuracy", Min: f(0.8), Max: f(0.95)}, overall("accuracy", 0.9),
			true, 0.95, "passed: accuracy 0.9 >= min 0.8 and <= max 0.95"},
		{"min and max, below min: the limit is the min", config.Gate{Metric: "accuracy", Min: f(0.8), Max: f(0.95)}, overall("accuracy", 0.7),
			false, 0.8, "accuracy 0.7 < min 0.8"},
		{"min and max, above max", config.Gate{Metric: "accuracy", Min: f(0.8), Max: f(0.95)}, overall("accuracy", 0.97),
			false, 0.95, "accuracy 0.97 > max 0.95"},
		{"+Inf loss fails", config.Gate{Metric: "log_loss", Max: f(0.35)}, overall("log_loss", math.Inf(1)),
			false, 0.35, "log_loss +Inf > max 0.35"},
		{"min_rows: too few rows, not judged", config.Gate{Metric: "log_loss", Max: f(0.35), MinRows: n(50)},
			[]Row{row(map[string]float64{"log_loss": 0.9, "rows": 12})},
			true, 0.35, "not judged: 12 rows < min_rows 50"},
		{"min_rows: enough rows, judged", config.Gate{Metric: "log_loss", Max: f(0.35), MinRows: n(50)},
			[]Row{row(map[string]float64{"log_loss": 0.9, "rows": 50})},
			false, 0.35, "log_loss 0.9 > max 0.35"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := Evaluate([]config.Gate{tt.gate}, tt.rows, noBaseline)
			if len(res) != 1 {
				t.Fatalf("got %d results, want 1: %+v", len(res), res)
			}
			r := res[0]
			if r.Passed != tt.passed || r.Reason != tt.reason {
				t.Errorf("got passed=%v reason %q, want %v %q", r.Passed, r.Reason, tt.passed, tt.reason)
			}
			if !near(r.Limit, tt.limit) {
				t.Errorf("limit %v, want %v", r.Limit, tt.limit)
			}
			if r.Value == nil || *r.Value != tt.rows[0].Values[tt.gate.Metric].V {
				t.Errorf("value %v, want the row's", r.Value)
			}
			if r.Baseline != nil || r.Change != nil {
				t.Errorf("baseline %v change %v, want nil for a gate without baseline", r.Baseline, r.Change)
			}
			if r.Gate != 0 || r.Metric != tt.gate.Metric || r.GroupSet != "" || r.Group == nil || len(r.Group) != 0 {
				t.Errorf("identity fields: %+v", r)
			}
		})
	}
}

func TestBaseline(t *testing.T) {
	// One row per grouping set "model"; base and new metric values by test.
	rows := func(metric string, v float64) []Row {
		return []Row{row(map[string]float64{metric: v, "rows": 100}, "model=a")}
	}
	tests := []struct {
		name      string
		gate      config.Gate
		base, now float64
		passed    bool
		limit     float64 // NaN: nil
		change    float64
		reason    string
	}{
		// change = (10.05-10)/10 = 0.5% <= 1%; limit = 10*(1+0.01) = 10.1.
		{"max_increase pass", config.Gate{Metric: "perplexity", MaxIncrease: f(0.01)}, 10, 10.05,
			true, 10.1, 0.05, "passed: perplexity rose 0.5% <= max_increase 1% (baseline 10, now 10.05)"},
		// change = 0.2/10 = 2% > 1%.
		{"max_increase fail", config.Gate{Metric: "perplexity", MaxIncrease: f(0.01)}, 10, 10.2,
			false, 10.1, 0.2, "perplexity rose 2% > max_increase 1% (baseline 10, now 10.2)"},
		// A fall always passes a max_increase gate: -0.5/10 = -5%.
		{"max_increase fall", config.Gate{Metric: "perplexity", MaxIncrease: f(0.01)}, 10, 9.5,
			true, 10.1, -0.5, "passed: perplexity fell 5%, within max_increase 1% (baseline 10, now 9.5)"},
		// delta 0.005 <= 0.01; limit 0.5+0.01 = 0.51.
		{"max_increase_abs pass", config.Gate{Metric: "log_loss", MaxIncreaseAbs: f(0.01)}, 0.5, 0.505,
			true, 0.51, 0.005, "passed: log_loss rose 0.005 <= max_increase_abs 0.01 (baseline 0.5, now 0.505)"},
		// delta 0.02 > 0.01.
		{"max_increase_abs fail", config.Gate{Metric: "log_loss", MaxIncreaseAbs: f(0.01)}, 0.5, 0.52,
			false, 0.51, 0.02, "log_loss rose 0.02 > max_increase_abs 0.01 (baseline 0.5, now 0.52)"},
		// Limits 0.5*1.05 = 0.525 and 0.5+0.01 = 0.51: the smaller is
		// reported. 0.505: +1% <= 5% and +0.005 <= 0.01.
		{"both pass", config.Gate{Metric: "log_loss", MaxIncrease: f(0.05), MaxIncreaseAbs: f(0.01)}, 0.5, 0.505,
			true, 0.51, 0.005, "passed: log_loss rose 1% <= max_increase 5% and rose 0.005 <= max_increase_abs 0.01 (baseline 0.5, now 0.505)"},
		// 0.515: +3% <= 5% holds, +0.015 > 0.01 does not.
		{"both, abs fails", config.Gate{Metric: "log_loss", MaxIncrease: f(0.05), MaxIncreaseAbs: f(0.01)}, 0.5, 0.515,
			false, 0.51, 0.015, "log_loss rose 3% <= max_increase 5% and rose 0.015 > max_increase_abs 0.01 (baseline 0.5, now 0.515)"},
		// Limits 0.5*1.01 = 0.505 and 0.5+0.1 = 0.6: 0.505 reported.
		// 0.52: +4% > 1%, +0.02 <= 0.1.
		{"both, relative fails", config.Gate{Metric: "log_loss", MaxIncrease: f(0.01), MaxIncreaseAbs: f(0.1)}, 0.5, 0.52,
			false, 0.505, 0.02, "log_loss rose 4% > max_increase 1% and rose 0.02 <= max_increase_abs 0.1 (baseline 0.5, now 0.52)"},
		// On a baseline of 0 the limit is 0*(1+0.01) = 0 (SPEC §6): a rise
		// is +Inf%, no change passes, a fall (-0.1/0 = -Inf%) passes.
		{"relative on a zero baseline, rise", config.Gate{Metric: "brier", MaxIncrease: f(0.01)}, 0, 0.1,
			false, 0, 0.1, "brier rose +Inf% > max_increase 1% (baseline 0, now 0.1)"},
		{"relative on a zero baseline, unchanged", config.Gate{Metric: "invalid_rows", MaxIncrease: f(0.01)}, 0, 0,
			true, 0, 0, "passed: invalid_rows rose 0% <= max_increase 1% (baseline 0, now 0)"},
		{"relative on a zero baseline, unchanged, a required fall", config.Gate{Metric: "invalid_rows", MaxIncrease: f(-0.1)}, 0, 0,
			true, 0, 0, "passed: invalid_rows rose 0% <= max_increase -10% (baseline 0, now 0)"},
		{"relative on a zero baseline, fall", config.Gate{Metric: "mean_prediction", MaxIncrease: f(0.01)}, 0, -0.5,
			true, 0, -0.5, "passed: mean_prediction fell Inf%, within max_increase 1% (baseline 0, now -0.5)"},
		// A +Inf baseline (a logprob of -Inf is a valid, infinite loss):
		// a finite loss is a fall of 100%, the limit of (v - b) / |b|
		// (it was NaN%, and failed); +Inf again is no change (+Inf - +Inf
		// was NaN, "undefined", and failed); the limit +Inf * 1.05 is +Inf.
		{"relative on a +Inf baseline, finite now", config.Gate{Metric: "log_loss", MaxIncrease: f(0.05)}, math.Inf(1), 0.55,
			true, math.Inf(1), math.Inf(-1), "passed: log_loss fell 100%, within max_increase 5% (baseline +Inf, now 0.55)"},
		{"relative on a +Inf baseline, +Inf now", config.Gate{Metric: "log_loss", MaxIncrease: f(0.05)}, math.Inf(1), math.Inf(1),
			true, math.Inf(1), 0, "passed: log_loss rose 0% <= max_increase 5% (baseline +Inf, now +Inf)"},
		{"relative on a +Inf baseline, +Inf now, a required fall", config.Gate{Metric: "log_loss", MaxIncrease: f(-0.1)}, math.Inf(1), math.Inf(1),
			true, math.Inf(1), 0, "passed: log_loss rose 0% <= max_increase -10% (baseline +Inf, now +Inf)"},
		{"absolute on a +Inf baseline, +Inf now", config.Gate{Metric: "perplexity", MaxIncreaseAbs: f(0.05)}, math.Inf(1), math.Inf(1),
			true, math.Inf(1), 0, "passed: perplexity rose 0 <= max_increase_abs 0.05 (baseline +Inf, now +Inf)"},
		{"relative from finite to +Inf", config.Gate{Metric: "log_loss", MaxIncrease: f(0.05)}, 0.5, math.Inf(1),
			false, 0.525, math.Inf(1), "log_loss rose +Inf% > max_increase 5% (baseline 0.5, now +Inf)"},
		// min/max and baseline in one gate: min/max first.
		{"max and baseline, max fails", config.Gate{Metric: "log_loss", Max: f(0.4), MaxIncreaseAbs: f(0.1)}, 0.5, 0.52,
			false, 0.4, 0.02, "log_loss 0.52 > max 0.4"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := tt.gate
			g.Baseline = "/b/summary.parquet"
			g.Where = map[string]string{"model": "a"}
			load := func(path string) ([]Row, error) {
				if path != g.Baseline {
					t.Errorf("loaded %q", path)
				}
				return rows(g.Metric, tt.base), nil
			}
			res := Evaluate([]config.Gate{g}, rows(g.Metric, tt.now), load)
			if len(res) != 1 {
				t.Fatalf("got %d results, want 1", len(res))
			}
			r := res[0]
			if r.Passed != tt.passed || r.Reason != tt.reason {
				t.Errorf("got passed=%v reason\n%q, want %v\n%q", r.Passed, r.Reason, tt.passed, tt.reason)
			}
			if math.IsNaN(tt.limit) != (r.Limit == nil) || (r.Limit != nil && !near(r.Limit, tt.limit)) {
				t.Errorf("limit %v, want %v", deref(r.Limit), tt.limit)
			}
			if !near(r.Value, tt.now) || !near(r.Baseline, tt.base) || !near(r.Change, tt.change) {
				t.Errorf("value %v baseline %v change %v, want %v %v %v", deref(r.Value), deref(r.Baseline), deref(r.Change), tt.now, tt.base, tt.change)
			}
			if r.Relative != (g.MaxIncrease != nil) {
				t.Errorf("Relative = %v", r.Relative)
			}
			if r.GroupSet != "model" || !reflect.DeepEqual(r.Group, map[string]any{"model": "a"}) {
				t.Errorf("group %q %v", r.GroupSet, r.Group)
			}
		})
	}
}

func deref(p *float64) any {
	if p == nil {
		return nil
	}
	return *p
}

// perplexity = exp(cross_entropy) throughout.
func ceRow(ce float64, stderr *float64) Row {
	r := row(map[string]float64{"cross_entropy": ce, "log_loss": ce, "perplexity": math.Exp(ce), "rows": 1000}, "model=a")
	if stderr == nil {
		r = withNull(r, "cross_entropy_stderr")
	} else {
		r.Values["cross_entropy_stderr"] = Value{V: *stderr}
	}
	return r
}

func TestSignificance(t *testing.T) {
	// Baseline cross_entropy 2.0, new 2.02: perplexity rises by
	// exp(0.02)-1 = 2.02% > 1% (from 7.38906 to 7.53832), so every case
	// exceeds the limit; the cross_entropy change is 0.02.
	tests := []struct {
		name           string
		metric         string
		k              *float64
		seBase, seNew  *float64
		passed         bool
		reasonContains string
	}{
		{"without significance the rise fails", "perplexity", nil, f(0.012), f(0.016),
			false, "perplexity rose 2.02% > max_increase 1% (baseline 7.38906, now 7.53832)"},
		// se = sqrt(0.012^2 + 0.016^2) = 0.02; 2*0.02 = 0.04 >= 0.02. The
		// perplexity change, 0.149, would exceed 0.04: the test is on the
		// cross_entropy scale.
		{"within noise passes", "perplexity", f(2), f(0.012), f(0.016),
			true, "passed: perplexity rose 2.02% > max_increase 1% (baseline 7.38906, now 7.53832), but the cross_entropy change 0.02 is within 2 x combined stderr 0.02 = 0.04"},
		// se = sqrt(0.003^2 + 0.004^2) = 0.005; 2*0.005 = 0.01 < 0.02.
		{"beyond noise fails", "perplexity", f(2), f(0.003), f(0.004),
			false, "perplexity rose 2.02% > max_increase 1% (baseline 7.38906, now 7.53832), and the cross_entropy change 0.02 exceeds 2 x combined stderr 0.005 = 0.01"},
		// Null new stderr counts as 0: se = 0.03, 2*0.03 = 0.06 >= 0.02.
		{"null stderr counts as 0", "perplexity", f(2), f(0.03), nil,
			true, "within 2 x combined stderr 0.03 = 0.06"},
		// Both null: se = 0, any rise is significant.
		{"both stderr null", "perplexity", f(2), nil, nil,
			false, "exceeds 2 x combined stderr 0 = 0"},
		// log_loss: the metric itself; +0.02/2 = 1% > 0.5%.
		{"log_loss within noise", "log_loss", f(2), f(0.012), f(0.016),
			true, "passed: log_loss rose 1% > max_increase 0.5% (baseline 2, now 2.02), but the cross_entropy change 0.02 is within 2 x combined stderr 0.02 = 0.04"},
		{"not a cross-entropy metric", "accuracy", f(2), f(0.012), f(0.016),
			false, "significance applies only to cross-entropy metrics"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inc := 0.01
			if tt.metric == "log_loss" {
				inc = 0.005
			}
			g := config.Gate{Metric: tt.metric, Where: map[string]string{"model": "a"}, Baseline: "b.parquet", MaxIncrease: f(inc), Significance: tt.k}
			base, now := ceRow(2.0, tt.seBase), ceRow(2.02, tt.seNew)
			if tt.metric == "accuracy" {
				base.Values["accuracy"] = Value{V: 0.5}
				now.Values["accuracy"] = Value{V: 0.6}
			}
			res := Evaluate([]config.Gate{g}, []Row{now}, func(string) ([]Row, error) { return []Row{base}, nil })
			r := res[0]
			if r.Passed != tt.passed || !strings.Contains(r.Reason, tt.reasonContains) {
				t.Errorf("got passed=%v reason\n%q, want %v and\n%q", r.Passed, r.Reason, tt.passed, tt.reasonContains)
			}
		})
	}

	// Within the limit, significance is not mentioned.
	g := config.Gate{Metric: "perplexity", Where: map[string]string{"model": "a"}, Baseline: "b", MaxIncrease: f(0.05), Significance: f(2)}
	res := Evaluate([]config.Gate{g}, []Row{ceRow(2.02, f(0.003))}, func(string) ([]Row, error) { return []Row{ceRow(2, f(0.004))}, nil })
	if !res[0].Passed || strings.Contains(res[0].Reason, "stderr") {
		t.Errorf("within the limit: %+v", res[0])
	}

	// A null cross_entropy cannot be tested for noise: the exceeded limit stands.
	now := ceRow(2.02, f(1))
	now.Values["cross_entropy"] = Value{Null: true}
	g = config.Gate{Metric: "perplexity", Where: map[string]string{"model": "a"}, Baseline: "b", MaxIncrease: f(0.01), Significance: f(2)}
	res = Evaluate([]config.Gate{g}, []Row{now}, func(string) ([]Row, error) { return []Row{ceRow(2, f(1))}, nil })
	if res[0].Passed || !strings.Contains(res[0].Reason, "cannot be tested for noise: cross_entropy is null") {
		t.Errorf("null cross_entropy: %+v", res[0])
	}
}

func TestWhere(t *testing.T) {
	v := func(x float64) map[string]float64 { return map[string]float64{"log_loss": x, "rows": 10} }
	rows := []Row{
		row(v(0.30)),                            // 0 overall
		row(v(0.31), "model=a"),                 // 1
		row(v(0.50), "model=b"),                 // 2
		row(v(0.32), "slice=x"),                 // 3
		row(v(0.40), "model=a", "slice=x"),      // 4
		row(v(0.20), "model=a", "slice=y"),      // 5
		row(v(0.60), "model=b", "slice=x"),      // 6
		row(v(0.70), "model=<null>", "slice=x"), // 7
	}
	gs := []config.Gate{
		{Metric: "log_loss", Where: map[string]string{"model": "a"}, Max: f(0.35)},               // rows 1, 4, 5
		{Metric: "log_loss", Max: f(0.35)},                                                       // row 0
		{Metric: "log_loss", Where: map[string]string{"slice": "x", "model": "b"}, Max: f(0.35)}, // row 6
		{Metric: "log_loss", Where: map[string]string{"model": "candidate"}, Max: f(0.35)},       // none
		{Metric: "log_loss", Where: map[string]string{"model": ""}, Max: f(0.35)},                // none: a null key never matches
		{Metric: "log_loss", Where: map[string]string{}, Max: f(0.35)},                           // empty = omitted: row 0
	}
	res := Evaluate(gs, rows, noBaseline)
	type want struct {
		gate   int
		set    string
		group  map[string]any
		passed bool
		reason string
	}
	wants := []want{
		{0, "model", map[string]any{"model": "a"}, true, "passed: log_loss 0.31 <= max 0.35"},
		{0, "model,slice", map[string]any{"model": "a", "slice": "x"}, false, "log_loss 0.4 > max 0.35"},
		{0, "model,slice", map[string]any{"model": "a", "slice": "y"}, true, "passed: log_loss 0.2 <= max 0.35"},
		{1, "", map[string]any{}, true, "passed: log_loss 0.3 <= max 0.35"},
		{2, "model,slice", map[string]any{"model": "b", "slice": "x"}, false, "log_loss 0.6 > max 0.35"},
		{3, "model", map[string]any{"model": "candidate"}, false, "no summary row has model = candidate"},
		{4, "model", map[string]any{"model": ""}, false, "no summary row has model = "},
		{5, "", map[string]any{}, true, "passed: log_loss 0.3 <= max 0.35"},
	}
	if len(res) != len(wants) {
		t.Fatalf("got %d results, want %d: %+v", len(res), len(wants), res)
	}
	for i, w := range wants {
		r := res[i]
		if r.Gate != w.gate || r.GroupSet != w.set || !reflect.DeepEqual(r.Group, w.group) || r.Passed != w.passed || r.Reason != w.reason {
			t.Errorf("result %d: got %+v\nwant %+v", i, r, w)
		}
	}
	if res[5].Value != nil || res[5].Limit != nil {
		t.Errorf("no-row result has numbers: %+v", res[5])
	}
	if got := Failed(res); got != 4 {
		t.Errorf("Failed = %d, want 4", got)
	}

	// Several where columns are listed in order in the reason; the
	// group_set is that of the grouping set of those columns.
	res = Evaluate([]config.Gate{{Metric: "log_loss", Where: map[string]string{"slice": "z", "model": "a"}, Max: f(1)}}, rows, noBaseline)
	if res[0].Reason != "no summary row has model = a and slice = z" || res[0].GroupSet != "model,slice" {
		t.Errorf("reason %q, group_set %q", res[0].Reason, res[0].GroupSet)
	}
	swapped := []Row{row(map[string]float64{"log_loss": 0.3}, "slice=x", "model=a")}
	res = Evaluate([]config.Gate{{Metric: "log_loss", Where: map[string]string{"slice": "z", "model": "a"}, Max: f(1)}}, swapped, noBaseline)
	if res[0].GroupSet != "slice,model" {
		t.Errorf("group_set %q, want the grouping set's order slice,model", res[0].GroupSet)
	}
}

func TestFailures(t *testing.T) {
	loadErr := errors.New("reading baselines/summary.parquet: open baselines/summary.parquet: no such file or directory")
	rowsA := []Row{
		row(map[string]float64{"log_loss": 0.3, "rows": 10}, "model=a"),
		row(map[string]float64{"log_loss": 0.4, "rows": 10}, "model=b"),
	}
	t.Run("baseline load error fails every selected row, loaded once", func(t *testing.T) {
		calls := 0
		load := func(string) ([]Row, error) { calls++; return nil, loadErr }
		g := config.Gate{Metric: "log_loss", Where: map[string]string{"model": "a"}, Baseline: "b", MaxIncrease: f(0.1), MinRows: n(100)}
		g2 := g
		g2.Where = map[string]string{"model": "b"}
		res := Evaluate([]config.Gate{g, g2, g}, append(rowsA, rowsA[0]), load)
		if calls != 1 {
			t.Errorf("loader called %d times, want 1", calls)
		}
		if len(res) != 5 {
			t.Fatalf("got %d results, want 5", len(res))
		}
		for _, r := range res {
			if r.Passed || r.Reason != "cannot read baseline b: "+loadErr.Error() || r.Value == nil {
				t.Errorf("got %+v", r)
			}
		}
	})
	t.Run("missing baseline row", func(t *testing.T) {
		load := func(string) ([]Row, error) { return rowsA[1:], nil }
		g := config.Gate{Metric: "log_loss", Where: map[string]string{"model": "a"}, Baseline: "b", MaxIncreaseAbs: f(0.1)}
		res := Evaluate([]config.Gate{g}, rowsA, load)
		if len(res) != 1 || res[0].Passed || res[0].Reason != "no baseline row for model=a (group_set model)" || res[0].Baseline != nil {
			t.Errorf("got %+v", res)
		}
		// The overall row, missing from the baseline.
		res = Evaluate([]config.Gate{{Metric: "log_loss", Baseline: "b", MaxIncreaseAbs: f(0.1)}},
			[]Row{row(map[string]float64{"log_loss": 0.3})}, load)
		if res[0].Passed || res[0].Reason != `no baseline row for the overall row (group_set "")` {
			t.Errorf("got %+v", res)
		}
		// A null key matches only a null key, not an empty text.
		nullRow := row(map[string]float64{"log_loss": 0.3}, "model=<null>")
		emptyRow := row(map[string]float64{"log_loss": 0.3}, "model=")
		g = config.Gate{Metric: "log_loss", Where: map[string]string{"slice": "x"}, Baseline: "b", MaxIncreaseAbs: f(0.1)}
		withSlice := func(r Row) Row {
			r.GroupSet += ",slice"
			r.Group = append(r.Group, KV{Column: "slice", Text: "x", JSON: "x"})
			return r
		}
		res = Evaluate([]config.Gate{g}, []Row{withSlice(nullRow)}, func(string) ([]Row, error) { return []Row{withSlice(emptyRow)}, nil })
		if res[0].Passed || res[0].Reason != "no baseline row for model=null,slice=x (group_set model,slice)" {
			t.Errorf("got %+v", res[0])
		}
		res = Evaluate([]config.Gate{g}, []Row{withSlice(nullRow)}, func(string) ([]Row, error) { return []Row{withSlice(emptyRow), withSlice(nullRow)}, nil })
		if !res[0].Passed || !near(res[0].Baseline, 0.3) {
			t.Errorf("got %+v", res[0])
		}
	})
	t.Run("null metric", func(t *testing.T) {
		r := withNull(row(map[string]float64{"rows": 0, "invalid_rows": 3}), "cross_entropy")
		res := Evaluate([]config.Gate{{Metric: "cross_entropy", Max: f(1)}}, []Row{r}, noBaseline)
		if res[0].Passed || res[0].Value != nil || res[0].Reason != "cross_entropy is null (no value for this row: rows 0, invalid_rows 3)" {
			t.Errorf("got %+v", res[0])
		}
	})
	t.Run("null baseline metric", func(t *testing.T) {
		base := withNull(row(map[string]float64{"rows": 0}, "model=a"), "log_loss")
		g := config.Gate{Metric: "log_loss", Where: map[string]string{"model": "a"}, Baseline: "b", MaxIncreaseAbs: f(0.1)}
		res := Evaluate([]config.Gate{g}, rowsA, func(string) ([]Row, error) { return []Row{base}, nil })
		if res[0].Passed || res[0].Reason != "baseline log_loss is null" || res[0].Baseline != nil || res[0].Change != nil {
			t.Errorf("got %+v", res[0])
		}
	})
	t.Run("unknown metric", func(t *testing.T) {
		res := Evaluate([]config.Gate{{Metric: "logloss", Where: map[string]string{"model": "a"}, Max: f(1)}}, rowsA, noBaseline)
		if res[0].Passed || res[0].Reason != "the summary has no metric logloss" {
			t.Errorf("got %+v", res[0])
		}
	})
	t.Run("no limit", func(t *testing.T) {
		res := Evaluate([]config.Gate{{Metric: "log_loss", Where: map[string]string{"model": "a"}}}, rowsA, noBaseline)
		if res[0].Passed {
			t.Errorf("a gate without a limit passed: %+v", res[0])
		}
	})
}

func TestResultJSON(t *testing.T) {
	rows := []Row{
		withNull(row(map[string]float64{"rows": 0}), "log_loss"),
		row(map[string]float64{"log_loss": math.Inf(1), "rows": 5}, "model=a<b>"),
	}
	rows[1].Group[0].JSON = "a<b>"
	rows = append(rows, Row{GroupSet: "n", Group: []KV{{Column: "n", Text: "7", JSON: int64(7)}}, Values: map[string]Value{"log_loss": {V: 0.1}}})
	res := Evaluate([]config.Gate{{Metric: "log_loss", Max: f(0.35)}, {Metric: "log_loss", Where: map[string]string{"model": "a<b>"}, Max: f(0.35)},
		{Metric: "log_loss", Where: map[string]string{"n": "7"}, Max: f(0.35)}}, rows, noBaseline)
	// An encoder that does not escape HTML gets the reason as written.
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(res); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	if !strings.Contains(string(b), `"log_loss +Inf > max 0.35"`) {
		t.Errorf("reason escaped or missing: %s", b)
	}
	var got []map[string]any
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	want := []map[string]any{
		{"gate": 0.0, "metric": "log_loss", "group_set": "", "group": map[string]any{}, "value": nil, "baseline": nil, "limit": 0.35,
			"passed": false, "reason": "log_loss is null (no value for this row: rows 0)"},
		{"gate": 1.0, "metric": "log_loss", "group_set": "model", "group": map[string]any{"model": "a<b>"}, "value": nil, "baseline": nil, "limit": 0.35,
			"passed": false, "reason": "log_loss +Inf > max 0.35"},
		{"gate": 2.0, "metric": "log_loss", "group_set": "n", "group": map[string]any{"n": 7.0}, "value": 0.1, "baseline": nil, "limit": 0.35,
			"passed": true, "reason": "passed: log_loss 0.1 <= max 0.35"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %v\nwant %v", got, want)
	}
}

func TestGroupText(t *testing.T) {
	tests := []struct {
		r    Result
		want string
	}{
		{Result{Group: map[string]any{}}, "overall"},
		{Result{GroupSet: "slice,model", Group: map[string]any{"model": "a", "slice": int64(3)}}, "slice=3, model=a"},
		{Result{GroupSet: "model", Group: map[string]any{"model": nil}}, "model=null"},
		{Result{Group: map[string]any{"z": "1", "b": 2.5, "t": true}}, "b=2.5, t=true, z=1"},
	}
	for _, tt := range tests {
		if got := tt.r.GroupText(); got != tt.want {
			t.Errorf("GroupText(%v) = %q, want %q", tt.r.Group, got, tt.want)
		}
	}
}

func TestDescribe(t *testing.T) {
	tests := []struct {
		g    config.Gate
		want string
	}{
		{config.Gate{Metric: "log_loss", Where: map[string]string{"model": "candidate"}, Max: f(0.35)}, "log_loss <= 0.35 where model=candidate"},
		{config.Gate{Metric: "perplexity", Baseline: "b", MaxIncrease: f(0.01), Significance: f(2)}, "perplexity +1% vs baseline (significance 2)"},
		{config.Gate{Metric: "accuracy", Min: f(0.8), Max: f(0.95), MinRows: n(50)}, "0.8 <= accuracy <= 0.95 (min_rows 50)"},
		{config.Gate{Metric: "accuracy", Min: f(0.8), Where: map[string]string{"slice": "x", "model": "a"}}, "accuracy >= 0.8 where model=a, slice=x"},
		{config.Gate{Metric: "log_loss", Baseline: "b", MaxIncrease: f(0.07), MaxIncreaseAbs: f(0.01)}, "log_loss +7% and +0.01 vs baseline"},
	}
	for _, tt := range tests {
		if got := Describe(tt.g); got != tt.want {
			t.Errorf("Describe = %q, want %q", got, tt.want)
		}
	}
}

func TestCrossEntropyScale(t *testing.T) {
	for _, m := range []string{"cross_entropy", "log_loss", "perplexity", "bits_per_token", "bits_per_byte", "word_perplexity"} {
		if !CrossEntropyScale(m) {
			t.Errorf("%s: false", m)
		}
	}
	for _, m := range []string{"accuracy", "brier", "seq_perplexity_mean", "mse", ""} {
		if CrossEntropyScale(m) {
			t.Errorf("%s: true", m)
		}
	}
}

// TestBaselineWithoutTheColumn: a baseline summary without the gated
// metric's column (another task's) fails the gate saying so, not that the
// baseline's value is null; a null value still says null.
func TestBaselineWithoutTheColumn(t *testing.T) {
	g := config.Gate{Metric: "log_loss", Baseline: "/b/summary.parquet", MaxIncrease: f(0.1)}
	now := []Row{row(map[string]float64{"log_loss": 0.5, "rows": 10})}
	for _, tc := range []struct {
		base   Row
		reason string
	}{
		{row(map[string]float64{"cross_entropy": 0.5, "rows": 10}), "the baseline summary has no column log_loss"},
		{Row{Values: map[string]Value{"log_loss": {Null: true}}}, "baseline log_loss is null"},
	} {
		res := Evaluate([]config.Gate{g}, now, func(string) ([]Row, error) { return []Row{tc.base}, nil })
		if len(res) != 1 || res[0].Passed || res[0].Reason != tc.reason || res[0].Baseline != nil {
			t.Errorf("got %+v, want a failure: %q", res, tc.reason)
		}
	}
}
