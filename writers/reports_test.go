package writers

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"flag"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/evaljob/evaljob/config"
	"github.com/evaljob/evaljob/gates"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

func fp(v float64) *float64 { return &v }

// reportGates and reportRows give results of every kind: pass and fail,
// overall and grouped, relative and absolute baseline gates, a null metric,
// a where that selects nothing, and a | in a key.
func reportResults(t *testing.T) ([]gates.Result, []string) {
	t.Helper()
	kv := func(col, text string) gates.KV { return gates.KV{Column: col, Text: text, JSON: text} }
	v := func(m map[string]float64) map[string]gates.Value {
		out := map[string]gates.Value{}
		for k, x := range m {
			out[k] = gates.Value{V: x}
		}
		return out
	}
	rows := []gates.Row{
		{GroupSet: "", Values: v(map[string]float64{"log_loss": 0.31, "perplexity": 12.32, "cross_entropy": 2.5112, "rows": 900})},
		{GroupSet: "model", Group: []gates.KV{kv("model", "a")}, Values: v(map[string]float64{"log_loss": 0.412, "perplexity": 10.05, "rows": 450})},
		{GroupSet: "model,slice", Group: []gates.KV{kv("model", "a"), kv("slice", "x|y")}, Values: v(map[string]float64{"log_loss": 0.2, "perplexity": 9, "rows": 40})},
		{GroupSet: "model", Group: []gates.KV{kv("model", "b")}, Values: map[string]gates.Value{"log_loss": {Null: true}, "perplexity": {V: 11}, "rows": {V: 0}}},
	}
	base := []gates.Row{
		{GroupSet: "", Values: v(map[string]float64{"perplexity": 12.1, "log_loss": 0.3})},
		{GroupSet: "model", Group: []gates.KV{kv("model", "a")}, Values: v(map[string]float64{"perplexity": 10, "log_loss": 0.4})},
	}
	cfg := []config.Gate{
		{Metric: "log_loss", Max: fp(0.35)},
		{Metric: "log_loss", Where: map[string]string{"model": "a"}, Max: fp(0.35)},
		{Metric: "perplexity", Baseline: "base/summary.parquet", MaxIncrease: fp(0.01)},
		{Metric: "log_loss", Where: map[string]string{"model": "a"}, Baseline: "base/summary.parquet", MaxIncreaseAbs: fp(0.02)},
		{Metric: "log_loss", Where: map[string]string{"model": "b"}, Max: fp(0.35)},
		{Metric: "log_loss", Where: map[string]string{"model": "candidate"}, Max: fp(0.35)},
	}
	results := gates.Evaluate(cfg, rows, func(string) ([]gates.Row, error) { return base, nil })
	describe := make([]string, len(cfg))
	for i, g := range cfg {
		describe[i] = gates.Describe(g)
	}
	return results, describe
}

// golden compares got with testdata/name, or rewrites the file under -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs (go test -update rewrites it):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

func TestReportGolden(t *testing.T) {
	results, describe := reportResults(t)
	golden(t, "report.md", Report(results, describe))

	passed := []gates.Result{{Gate: 0, Metric: "accuracy", Group: map[string]any{}, Value: fp(0.91), Limit: fp(0.85), Passed: true, Reason: "passed: accuracy 0.91 >= min 0.85"}}
	golden(t, "report_passed.md", Report(passed, []string{"accuracy >= 0.85"}))
	golden(t, "report_empty.md", Report(nil, nil))
}

func TestReportCells(t *testing.T) {
	// Results, by hand: 0 pass (0.31 <= 0.35); 1 fail (0.412); 2 pass (0.2);
	// 3 fail (perplexity +0.22/12.1 = 1.82% > 1%); 4 pass (+0.012 <= 0.02);
	// 5 fail (no baseline row for model=a,slice=x|y); 6 fail (null);
	// 7 fail (no row for model=candidate): 5 of 8 fail.
	results, describe := reportResults(t)
	text := Report(results, describe)
	lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	if want := "**evaljob gates: FAILED** — 5 of 8 checks failed"; lines[0] != want {
		t.Errorf("verdict %q, want %q", lines[0], want)
	}
	// Every table line has 9 cells: 10 unescaped pipes.
	for _, l := range lines[2:] {
		if got := strings.Count(l, "|") - strings.Count(l, `\|`); got != 10 {
			t.Errorf("%d unescaped | in %q", got, l)
		}
	}
	if len(lines) != 2+2+len(results) {
		t.Errorf("%d lines for %d results", len(lines), len(results))
	}
}

func newStaged(t *testing.T, name string) (*Dir, *Staged) {
	t.Helper()
	d, err := OpenDir(t.TempDir(), false, []string{name})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Abort)
	s, err := d.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	return d, s
}

func commitRead(t *testing.T, d *Dir, s *Staged) []byte {
	t.Helper()
	if _, err := d.Commit(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(s.Path())
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestWriteGatesJSON(t *testing.T) {
	results, _ := reportResults(t)
	d, s := newStaged(t, "gates.json")
	if err := WriteGatesJSON(s, results); err != nil {
		t.Fatal(err)
	}
	b := commitRead(t, d, s)
	if !bytes.HasPrefix(b, []byte("[\n  {\n    \"gate\": 0,")) || !bytes.HasSuffix(b, []byte("}\n]\n")) {
		t.Errorf("not a 2-space indented list with a trailing newline:\n%s", b)
	}
	if !bytes.Contains(b, []byte(`"reason": "log_loss 0.412 > max 0.35"`)) {
		t.Errorf("reason escaped or missing:\n%s", b)
	}
	var got []map[string]any
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if len(got) != len(results) {
		t.Fatalf("%d entries, want %d", len(got), len(results))
	}
	// Exactly SPEC §6's fields, in its order, in every entry.
	fields := []string{"gate", "metric", "group_set", "group", "value", "baseline", "limit", "passed", "reason"}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.Token() // [
	for i := 0; dec.More(); i++ {
		var keys []string
		dec.Token() // {
		for dec.More() {
			k, _ := dec.Token()
			keys = append(keys, k.(string))
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				t.Fatal(err)
			}
		}
		dec.Token() // }
		if !slices.Equal(keys, fields) {
			t.Errorf("entry %d has keys %q, want %q", i, keys, fields)
		}
	}
	// Entry 1: gate 1 on model=a, 0.412 > 0.35.
	want1 := map[string]any{"gate": 1.0, "metric": "log_loss", "group_set": "model", "group": map[string]any{"model": "a"},
		"value": 0.412, "baseline": nil, "limit": 0.35, "passed": false, "reason": "log_loss 0.412 > max 0.35"}
	if !reflect.DeepEqual(got[1], want1) {
		t.Errorf("entry 1:\n got %v\nwant %v", got[1], want1)
	}
	// Entry 0: the overall row has group {}.
	if g, ok := got[0]["group"].(map[string]any); !ok || len(g) != 0 {
		t.Errorf("overall group = %#v, want {}", got[0]["group"])
	}
	// The null metric of model=b: value null.
	var nullEntry map[string]any
	for _, e := range got {
		if e["gate"] == 4.0 {
			nullEntry = e
		}
	}
	if nullEntry == nil || nullEntry["value"] != nil || nullEntry["passed"] != false {
		t.Errorf("null metric entry: %v", nullEntry)
	}
	// The perplexity baseline gate on the overall row: limit 12.1 * 1.01.
	if l, ok := got[3]["limit"].(float64); !ok || got[3]["gate"] != 2.0 || l < 12.2209 || l > 12.2211 {
		t.Errorf("entry 3 limit: %v", got[3])
	}
	// A where that selects no row: group_set is the where's columns, not
	// the overall row's "".
	last := got[len(got)-1]
	if last["gate"] != 5.0 || last["group_set"] != "model" || !reflect.DeepEqual(last["group"], map[string]any{"model": "candidate"}) {
		t.Errorf("no-row entry: %v", last)
	}
	if first := got[0]; first["group_set"] != "" {
		t.Errorf("overall entry's group_set = %#v, want \"\"", first["group_set"])
	}

	// No results: [] rather than null.
	d, s = newStaged(t, "gates.json")
	if err := WriteGatesJSON(s, nil); err != nil {
		t.Fatal(err)
	}
	if b := commitRead(t, d, s); string(b) != "[]\n" {
		t.Errorf("empty gates.json = %q, want \"[]\\n\"", b)
	}
}

// The JUnit shapes CI importers read.
type xSuites struct {
	XMLName  xml.Name `xml:"testsuites"`
	Tests    int      `xml:"tests,attr"`
	Failures int      `xml:"failures,attr"`
	Suites   []struct {
		Name     string `xml:"name,attr"`
		Tests    int    `xml:"tests,attr"`
		Failures int    `xml:"failures,attr"`
		Cases    []struct {
			ClassName string `xml:"classname,attr"`
			Name      string `xml:"name,attr"`
			Failure   *struct {
				Message string `xml:"message,attr"`
				Type    string `xml:"type,attr"`
			} `xml:"failure"`
			SystemOut string `xml:"system-out"`
		} `xml:"testcase"`
	} `xml:"testsuite"`
}

func TestWriteJUnit(t *testing.T) {
	results, _ := reportResults(t)       // 8 results, 5 failing (see TestReportCells)
	results[0].Reason += ` & <"quoted">` // must survive escaping
	d, s := newStaged(t, "junit.xml")
	if err := WriteJUnit(s, results); err != nil {
		t.Fatal(err)
	}
	b := commitRead(t, d, s)
	if !bytes.HasPrefix(b, []byte(`<?xml version="1.0" encoding="UTF-8"?>`)) {
		t.Errorf("no XML header:\n%s", b)
	}
	var got xSuites
	if err := xml.Unmarshal(b, &got); err != nil {
		t.Fatalf("%v\n%s", err, b)
	}
	if got.Tests != 8 || got.Failures != 5 || len(got.Suites) != 1 {
		t.Fatalf("testsuites tests=%d failures=%d suites=%d, want 8 5 1", got.Tests, got.Failures, len(got.Suites))
	}
	suite := got.Suites[0]
	if suite.Name != "evaljob gates" || suite.Tests != 8 || suite.Failures != 5 || len(suite.Cases) != 8 {
		t.Fatalf("testsuite %q tests=%d failures=%d cases=%d", suite.Name, suite.Tests, suite.Failures, len(suite.Cases))
	}
	failures := 0
	for i, c := range suite.Cases {
		r := results[i]
		if c.ClassName != "evaljob.gates" {
			t.Errorf("case %d classname %q", i, c.ClassName)
		}
		if r.Passed {
			if c.Failure != nil || c.SystemOut != r.Reason {
				t.Errorf("case %d (pass): failure %v, system-out %q", i, c.Failure, c.SystemOut)
			}
			continue
		}
		failures++
		if c.Failure == nil || c.Failure.Message != r.Reason || c.Failure.Type != "gate" {
			t.Errorf("case %d: failure %+v, want message %q", i, c.Failure, r.Reason)
		}
	}
	if failures != 5 {
		t.Errorf("%d failures, want 5", failures)
	}
	names := []string{suite.Cases[0].Name, suite.Cases[1].Name, suite.Cases[2].Name}
	want := []string{"gates[0] log_loss overall", "gates[1] log_loss model=a", "gates[1] log_loss model=a, slice=x|y"}
	if !reflect.DeepEqual(names, want) {
		t.Errorf("names %q, want %q", names, want)
	}
	if suite.Cases[0].SystemOut != "passed: log_loss 0.31 <= max 0.35 & <\"quoted\">" {
		t.Errorf("escaped reason came back as %q", suite.Cases[0].SystemOut)
	}
}

func TestCellText(t *testing.T) {
	tests := []struct{ in, want string }{
		{"log_loss 0.31 <= max 0.35", "log_loss 0.31 <= max 0.35"},
		{"accuracy 0.7 < min 0.8", "accuracy 0.7 < min 0.8"},
		{"model=a|b", `model=a\|b`},
		{"model=<b>x</b>", "model=&lt;b>x&lt;/b>"},
		{"line one\nline two", "line one line two"},
	}
	for _, tt := range tests {
		if got := cellText(tt.in); got != tt.want {
			t.Errorf("cellText(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestReportChange(t *testing.T) {
	tests := []struct {
		r    gates.Result
		want string
	}{
		{gates.Result{}, "—"},
		// (12.32-12.1)/12.1 = 1.818...%
		{gates.Result{Change: fp(12.32 - 12.1), Baseline: fp(12.1), Relative: true}, "+1.82%"},
		{gates.Result{Change: fp(-0.5), Baseline: fp(10), Relative: true}, "-5%"},
		{gates.Result{Change: fp(0.012), Baseline: fp(0.4)}, "+0.012"},
		{gates.Result{Change: fp(-0.012), Baseline: fp(0.4)}, "-0.012"},
		// A relative gate on a 0 baseline shows the difference.
		{gates.Result{Change: fp(0.1), Baseline: fp(0), Relative: true}, "+0.1"},
		// From a +Inf baseline (it showed NaN%): a fall of 100%, or none.
		{gates.Result{Change: fp(math.Inf(-1)), Value: fp(0.55), Baseline: fp(math.Inf(1)), Relative: true}, "-100%"},
		{gates.Result{Change: fp(0), Value: fp(math.Inf(1)), Baseline: fp(math.Inf(1)), Relative: true}, "+0%"},
	}
	for _, tt := range tests {
		if got := cellChange(tt.r); got != tt.want {
			t.Errorf("cellChange(%+v) = %q, want %q", tt.r, got, tt.want)
		}
	}
}
