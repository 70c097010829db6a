package pipeline

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/memory"

	"github.com/evaljob/evaljob/config"
	"github.com/evaljob/evaljob/evalerr"
)

func ptr[T any](v T) *T { return &v }

// gateJob runs the bundled example with the given gates into a fresh folder.
func gateJob(t *testing.T, gs []config.Gate, prob string) (*Result, string) {
	t.Helper()
	cfg := jobConfig("binary", []string{fixture("example")}, "label", prob)
	cfg.Columns.Weight = "weight"
	cfg.GroupBy = config.GroupSets{{"model"}, {"model", "slice"}}
	cfg.Gates = gs
	cfg.Output = config.Output{Dir: t.TempDir()}
	if err := cfg.Check(); err != nil {
		t.Fatal(err)
	}
	res, err := Run(context.Background(), cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	return res, cfg.Output.Dir
}

type gateJSON struct {
	Gate     int            `json:"gate"`
	Metric   string         `json:"metric"`
	GroupSet string         `json:"group_set"`
	Group    map[string]any `json:"group"`
	Value    *float64       `json:"value"`
	Baseline *float64       `json:"baseline"`
	Limit    *float64       `json:"limit"`
	Passed   bool           `json:"passed"`
	Reason   string         `json:"reason"`
}

func readGates(t *testing.T, dir string) []gateJSON {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, GatesFile))
	if err != nil {
		t.Fatal(err)
	}
	var out []gateJSON
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestGatesThresholds(t *testing.T) {
	// testdata/README.md: overall log_loss 0.668062..., model=a 0.557233...,
	// model=b 0.787888...
	res, dir := gateJob(t, []config.Gate{
		{Metric: "log_loss", Max: ptr(0.7)},                                         // overall: passes
		{Metric: "log_loss", Where: map[string]string{"model": "b"}, Max: ptr(0.7)}, // model=b and model=b,slice=*: b fails
		{Metric: "accuracy", Min: ptr(0.5)},                                         // passes
	}, "prob")
	got := readGates(t, dir)
	if len(got) != len(res.Gates) || res.GatesFailed == 0 {
		t.Fatalf("%d results in gates.json, %d in Result, %d failed", len(got), len(res.Gates), res.GatesFailed)
	}
	if !got[0].Passed || got[0].GroupSet != "" || got[0].Value == nil || math.Abs(*got[0].Value-0.66806240731202193) > 1e-13 || *got[0].Limit != 0.7 {
		t.Errorf("overall max gate: %+v", got[0])
	}
	var modelB *gateJSON
	for i := range got {
		if got[i].Gate == 1 && got[i].GroupSet == "model" {
			modelB = &got[i]
		}
		if got[i].Gate == 1 && got[i].Group["model"] != "b" {
			t.Errorf("where model=b selected %+v", got[i].Group)
		}
	}
	if modelB == nil || modelB.Passed || !strings.Contains(modelB.Reason, "0.7") {
		t.Errorf("model=b log_loss 0.788 > 0.7 should fail: %+v", modelB)
	}
	for _, name := range []string{SummaryFile, ManifestFile, ReportFile, JUnitFile} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Errorf("a failed gate must still write %s: %v", name, err)
		}
	}
	man, _ := os.ReadFile(filepath.Join(dir, ManifestFile))
	if !strings.Contains(string(man), `"status": "gates_failed"`) {
		t.Errorf("manifest status is not gates_failed")
	}
	var m struct {
		Outputs []struct{ Path, SHA256 string } `json:"outputs"`
	}
	if err := json.Unmarshal(man, &m); err != nil {
		t.Fatal(err)
	}
	listed := map[string]string{}
	for _, o := range m.Outputs {
		listed[o.Path] = o.SHA256
	}
	for _, name := range []string{SummaryFile, GatesFile, ReportFile, JUnitFile} {
		b, _ := os.ReadFile(filepath.Join(dir, name))
		if sum := sha256.Sum256(b); listed[name] != hex.EncodeToString(sum[:]) {
			t.Errorf("manifest lists %s with sha256 %q, the file has %x", name, listed[name], sum)
		}
	}
	if !strings.Contains(res.Report, "FAILED") {
		t.Errorf("report does not start with the verdict:\n%s", res.Report)
	}
}

func TestGatesBaseline(t *testing.T) {
	_, base := gateJob(t, nil, "prob")
	baseline := filepath.Join(base, SummaryFile)
	// The same data against itself: no change, passes.
	res, _ := gateJob(t, []config.Gate{{Metric: "perplexity", Baseline: baseline, MaxIncrease: ptr(0.01)}}, "prob")
	if res.GatesFailed != 0 || len(res.Gates) != 1 {
		t.Fatalf("unchanged data fails: %+v", res.Gates)
	}
	// Every group against the baseline; where selects both sets' rows.
	res, _ = gateJob(t, []config.Gate{{Metric: "log_loss", Where: map[string]string{"model": "a"}, Baseline: baseline, MaxIncreaseAbs: ptr(0.0)}}, "prob")
	if res.GatesFailed != 0 || len(res.Gates) < 2 {
		t.Errorf("where model=a against the same baseline: %d failed of %d", res.GatesFailed, len(res.Gates))
	}
	// A missing baseline file is a failing result with a reason, not a crash.
	res, _ = gateJob(t, []config.Gate{{Metric: "log_loss", Baseline: filepath.Join(base, "nope.parquet"), MaxIncrease: ptr(0.01)}}, "prob")
	if res.GatesFailed != 1 || !strings.Contains(res.Gates[0].Reason, "nope.parquet") {
		t.Errorf("missing baseline: %+v", res.Gates)
	}
}

func TestGatesConfigErrors(t *testing.T) {
	for _, g := range []config.Gate{
		{Metric: "auc", Max: ptr(1.0)},
		{Metric: "accuracy", Baseline: "x.parquet", MaxIncrease: ptr(0.1), Significance: ptr(2.0)},
		{Metric: "log_loss", Where: map[string]string{"region": "eu"}, Max: ptr(1.0)},
	} {
		cfg := jobConfig("binary", []string{fixture("example")}, "label", "prob")
		cfg.GroupBy = config.GroupSets{{"model"}}
		cfg.Gates = []config.Gate{g}
		cfg.Output = config.Output{Dir: t.TempDir()}
		if err := cfg.Check(); err != nil {
			t.Fatal(err)
		}
		_, err := Run(context.Background(), cfg, Options{})
		if !errors.Is(err, evalerr.ErrConfig) || !strings.Contains(err.Error(), "gates[0]") {
			t.Errorf("gate %+v: err %v, want a config error naming gates[0]", g, err)
		}
	}
}

// The paired gate compares per-row losses with an earlier rows.parquet on
// the rows both runs scored, matched by request_id.
func TestPairedGate(t *testing.T) {
	dir := t.TempDir()
	base := binaryRows(1200, 31)
	for i := range base {
		base[i].model = []string{"m-a", "m-b"}[i%2]
		if base[i].label == -100 {
			base[i].label = 1
		}
	}
	// The candidate: the same requests in another order, a different
	// prediction for every third one, 100 requests the baseline never saw,
	// and the baseline's last 50 requests missing.
	cand := make([]binaryRow, 0, len(base))
	for i := len(base) - 51; i >= 0; i-- {
		r := base[i]
		if i%3 == 0 {
			r.prob = math.Min(1, r.prob*1.3+0.01)
		}
		cand = append(cand, r)
	}
	for i := range 100 {
		r := base[i]
		r.id = int64(100000 + i)
		cand = append(cand, r)
	}
	writeRec := func(name string, rows []binaryRow) string {
		rec := binaryRecord(rows)
		defer rec.Release()
		path := filepath.Join(dir, name)
		writeParquet(t, path, rec, 256)
		return path
	}
	baseIn, candIn := writeRec("base.parquet", base), writeRec("cand.parquet", cand)
	cfgFor := func(in string, gs []config.Gate) *config.Config {
		cfg := binaryConfig(t, []string{in}, filepath.Join(dir, "unused"))
		cfg.GroupBy = config.GroupSets{{"model"}}
		cfg.Gates = gs
		cfg.Output = config.Output{Dir: t.TempDir(), PerRow: true}
		if err := cfg.Check(); err != nil {
			t.Fatal(err)
		}
		return cfg
	}
	baseCfg := cfgFor(baseIn, nil)
	if _, err := Run(context.Background(), baseCfg, Options{}); err != nil {
		t.Fatal(err)
	}
	baseRows := filepath.Join(baseCfg.Output.Dir, RowsFile)

	// Reference: per-row losses from the definition, matched by id, model m-a.
	baseLoss := map[int64]float64{}
	for _, r := range base {
		baseLoss[r.id] = refBinaryLoss(r.prob, float64(max(r.label, 0)))
	}
	var n, unmatched float64
	var sumNew, sumBase, sumD, sumD2 float64
	for _, r := range cand {
		if r.model != "m-a" {
			continue
		}
		b, ok := baseLoss[r.id]
		if !ok {
			unmatched++
			continue
		}
		l := refBinaryLoss(r.prob, float64(max(r.label, 0)))
		n++
		sumNew += l
		sumBase += b
		sumD += l - b
		sumD2 += (l - b) * (l - b)
	}
	meanD := sumD / n
	se := math.Sqrt((sumD2 - sumD*sumD/n) / (n - 1) / n)

	gate := config.Gate{Metric: "log_loss", Where: map[string]string{"model": "m-a"}, BaselineRows: baseRows,
		Join: []string{"request_id"}, MaxIncreaseAbs: ptr(meanD / 2)}
	res, err := Run(context.Background(), cfgFor(candIn, []config.Gate{gate}), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Gates) != 1 {
		t.Fatalf("%d results", len(res.Gates))
	}
	r := res.Gates[0]
	if r.Passed || r.Value == nil || math.Abs(*r.Value-sumNew/n) > 1e-12 || math.Abs(*r.Baseline-sumBase/n) > 1e-12 ||
		math.Abs(*r.Change-meanD) > 1e-12 {
		t.Errorf("paired result %+v\nwant value %v baseline %v change %v, failing", r, sumNew/n, sumBase/n, meanD)
	}
	if want := fmt.Sprintf("paired over %d matched rows (%d unmatched)", int(n), int(unmatched)); !strings.Contains(r.Reason, want) {
		t.Errorf("reason %q does not say %q", r.Reason, want)
	}
	// The same rise is not significant at k = meanD/se + 1 standard errors.
	gate.Significance = ptr(meanD/se + 1)
	res, _ = Run(context.Background(), cfgFor(candIn, []config.Gate{gate}), Options{})
	if !res.Gates[0].Passed || !strings.Contains(res.Gates[0].Reason, "within") {
		t.Errorf("within noise: %+v", res.Gates[0])
	}
	gate.Significance = ptr(meanD/se - 1)
	res, _ = Run(context.Background(), cfgFor(candIn, []config.Gate{gate}), Options{})
	if res.Gates[0].Passed {
		t.Errorf("beyond noise passes: %+v", res.Gates[0])
	}

	// Without per_row, or with a join column rows.parquet does not carry:
	// config errors.
	cfg := cfgFor(candIn, nil)
	cfg.Output.PerRow = false
	cfg.Gates = []config.Gate{gate}
	if err := cfg.Check(); !errors.Is(err, evalerr.ErrConfig) {
		t.Errorf("paired gate without per_row: %v", err)
	}
	cfg.Output.PerRow = true
	cfg.Gates[0].Join = []string{"slice"}
	if err := cfg.Check(); !errors.Is(err, evalerr.ErrConfig) || !strings.Contains(err.Error(), "slice") {
		t.Errorf("join column not in rows.parquet: %v", err)
	}
	// A baseline with a duplicate key fails the gate with the reason.
	dup := writeRec("dup.parquet", append(base[:10:10], base[3]))
	dupCfg := cfgFor(dup, nil)
	if _, err := Run(context.Background(), dupCfg, Options{}); err != nil {
		t.Fatal(err)
	}
	gate.BaselineRows = filepath.Join(dupCfg.Output.Dir, RowsFile)
	res, _ = Run(context.Background(), cfgFor(candIn, []config.Gate{gate}), Options{})
	if res.Gates[0].Passed || !strings.Contains(res.Gates[0].Reason, "occurs twice") {
		t.Errorf("duplicate baseline key: %+v", res.Gates[0])
	}
}

// TestGateWhereTyped: a where value selects a key by its value, whatever
// its spelling in YAML, for every key type (2.50 the float 2.5, True the
// bool true, 007 the int 7, a timestamp as a date and time in any of the
// usual spellings or as its integer), and gates.json shows timestamps as
// dates and times; a value that is not one of the column's type is exit 2
// naming the key.
func TestGateWhereTyped(t *testing.T) {
	mem := memory.DefaultAllocator
	tsUS := &arrow.TimestampType{Unit: arrow.Microsecond}
	tsMS := &arrow.TimestampType{Unit: arrow.Millisecond, TimeZone: "UTC"}
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "label", Type: arrow.PrimitiveTypes.Int64},
		{Name: "prob", Type: arrow.PrimitiveTypes.Float64},
		{Name: "ki", Type: arrow.PrimitiveTypes.Int32},
		{Name: "kf", Type: arrow.PrimitiveTypes.Float64},
		{Name: "kb", Type: arrow.FixedWidthTypes.Boolean},
		{Name: "kd", Type: arrow.FixedWidthTypes.Date32},
		{Name: "kt", Type: tsUS},
		{Name: "ktz", Type: tsMS},
		{Name: "kf32", Type: arrow.PrimitiveTypes.Float32},
	}, nil)
	b := array.NewRecordBuilder(mem, schema)
	defer b.Release()
	// 2024-01-01T10:00:00Z = 1704103200 s; 2024-01-02 = day 19724.
	for i := range 4 {
		b.Field(0).(*array.Int64Builder).Append(int64(i % 2))
		b.Field(1).(*array.Float64Builder).Append(0.25 + 0.1*float64(i))
		b.Field(2).(*array.Int32Builder).Append(int32(7 + i%2))
		b.Field(3).(*array.Float64Builder).Append(2.5 + float64(i%2))
		b.Field(4).(*array.BooleanBuilder).Append(i%2 == 0)
		b.Field(5).(*array.Date32Builder).Append(arrow.Date32(19724 + i%2))
		b.Field(6).(*array.TimestampBuilder).Append(arrow.Timestamp(1704103200_000000 + int64(i%2)*1_500_000))
		b.Field(7).(*array.TimestampBuilder).Append(arrow.Timestamp(1704103200_500 + int64(i%2)))
		b.Field(8).(*array.Float32Builder).Append(0.1 + 0.1*float32(i%2))
	}
	rec := b.NewRecord()
	defer rec.Release()
	path := filepath.Join(t.TempDir(), "keys.parquet")
	writeParquet(t, path, rec, 100)

	run := func(where ...map[string]string) ([]gateJSON, error) {
		cfg := jobConfig("binary", []string{path}, "label", "prob")
		cfg.GroupBy = config.GroupSets{{"ki"}, {"kf"}, {"kb"}, {"kd"}, {"kt"}, {"ktz"}, {"kf32"}}
		for _, w := range where {
			cfg.Gates = append(cfg.Gates, config.Gate{Metric: "rows", Where: w, Max: ptr(10.0)})
		}
		cfg.Output = config.Output{Dir: t.TempDir()}
		if err := cfg.Check(); err != nil {
			t.Fatal(err)
		}
		if _, err := Run(context.Background(), cfg, Options{}); err != nil {
			return nil, err
		}
		return readGates(t, cfg.Output.Dir), nil
	}
	cases := []struct {
		col, value, want string // want: the selected key as gates.json shows it
	}{
		{"ki", "007", "7"}, {"ki", "8", "8"},
		{"kf", "2.50", "2.5"}, {"kf", "3.5e0", "3.5"},
		{"kb", "True", "true"}, {"kb", "FALSE", "false"},
		{"kd", "2024-01-02", "2024-01-02"},
		{"kt", "2024-01-01 10:00:00", "2024-01-01T10:00:00"},
		{"kt", "2024-01-01T10:00:01.5Z", "2024-01-01T10:00:01.5"},
		{"kt", "1704103200000000", "2024-01-01T10:00:00"},
		{"ktz", "2024-01-01T10:00:00.5Z", "2024-01-01T10:00:00.5Z"},
		{"ktz", "2024-01-01 11:00:00.501+01:00", "2024-01-01T10:00:00.501Z"},
		{"kf32", "0.1", "0.10000000149011612"}, {"kf32", "0.2", "0.20000000298023224"},
	}
	var where []map[string]string
	for _, tc := range cases {
		where = append(where, map[string]string{tc.col: tc.value})
	}
	got, err := run(where...)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(cases) {
		t.Fatalf("%d results, want one per gate (%d): %+v", len(got), len(cases), got)
	}
	for i, tc := range cases {
		r := got[i]
		if !r.Passed || r.GroupSet != tc.col || fmt.Sprint(r.Group[tc.col]) != tc.want || r.Value == nil || *r.Value != 2 {
			t.Errorf("where %s: %s: got %+v, want the row %s=%s with 2 rows", tc.col, tc.value, r, tc.col, tc.want)
		}
	}

	for _, tc := range []struct{ col, value, why string }{
		{"kf", "abc", "invalid syntax"},
		{"ki", "7.5", "invalid syntax"},
		{"kb", "yes", "invalid syntax"},
		{"kd", "2024-13-01", "month out of range"},
		{"kt", "2024-01-01T10:00:00.0000001Z", "finer than the column's unit (us)"},
		{"kt", "yesterday", "not a date and time"},
		{"ki", "3000000000", "value out of range"},
	} {
		_, err := run(map[string]string{tc.col: tc.value})
		want := fmt.Sprintf("config key gates[0].where.%s: %q is not a value of the column's type", tc.col, tc.value)
		if !errors.Is(err, evalerr.ErrConfig) || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), tc.why) {
			t.Errorf("where %s: %s: got %v, want a config error %q ... %q", tc.col, tc.value, err, want, tc.why)
		}
	}
}

// TestTimestampText: the same instant in any unit is the same text, which
// parseTimestamp reads back; before 1970 too.
func TestTimestampText(t *testing.T) {
	for _, tc := range []struct {
		v    int64
		unit arrow.TimeUnit
		want string
	}{
		{1704103200, arrow.Second, "2024-01-01T10:00:00"},
		{1704103200_000, arrow.Millisecond, "2024-01-01T10:00:00"},
		{1704103200_000_000_000, arrow.Nanosecond, "2024-01-01T10:00:00"},
		{-1, arrow.Microsecond, "1969-12-31T23:59:59.999999"},
		{-1500, arrow.Millisecond, "1969-12-31T23:59:58.5"},
	} {
		tt := &arrow.TimestampType{Unit: tc.unit}
		if got := timestampText(tc.v, tt); got != tc.want {
			t.Errorf("%d %s: %s, want %s", tc.v, tc.unit, got, tc.want)
		}
		if back, err := parseTimestamp(tc.want, tt); err != nil || back != tc.v {
			t.Errorf("%s in %s: read back %d (%v), want %d", tc.want, tc.unit, back, err, tc.v)
		}
	}
	// The extremes of nanoseconds read back; one past them is refused.
	ns := &arrow.TimestampType{Unit: arrow.Nanosecond}
	for _, v := range []int64{math.MaxInt64, math.MinInt64} {
		if back, err := parseTimestamp(timestampText(v, ns), ns); err != nil || back != v {
			t.Errorf("%d ns: read back %d (%v)", v, back, err)
		}
	}
	if _, err := parseTimestamp("2262-04-11T23:47:16.854775808Z", ns); err == nil {
		t.Error("one ns past the largest: no error")
	}
	// A column with a time zone and one without: the same key text (a
	// baseline of either matches a run of the other), the zone marked in
	// gates.json.
	naive, utc := &arrow.TimestampType{Unit: arrow.Millisecond}, &arrow.TimestampType{Unit: arrow.Millisecond, TimeZone: "UTC"}
	a, b := keyKV("k", keyValue{i: 1000}, naive), keyKV("k", keyValue{i: 1000}, utc)
	if a.Text != b.Text || a.JSON != "1970-01-01T00:00:01" || b.JSON != "1970-01-01T00:00:01Z" {
		t.Errorf("naive %+v, with a zone %+v", a, b)
	}
}
