package config

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/evaljob/evaljob/evalerr"
	"github.com/evaljob/evaljob/readers"
)

func writeConfig(t *testing.T, text string) string {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "job.yaml")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

const minimal = `
inputs: [data/*.parquet]
task: binary
columns: {label: y, prediction: p}
output: {dir: out/run-1}
`

func TestLoadDefaults(t *testing.T) {
	path := writeConfig(t, minimal)
	cfg, err := Load(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Dir(path)
	want := Default()
	want.Inputs = []string{filepath.Join(dir, "data/*.parquet")}
	want.Task = "binary"
	want.Columns.Label = "y"
	want.Columns.Prediction = StringList{"p"}
	want.Output.Dir = filepath.Join(dir, "out/run-1")
	if !reflect.DeepEqual(cfg, want) {
		t.Errorf("Load =\n%+v\nwant\n%+v", cfg, want)
	}
	// The defaults of SPEC §2, spelled out independently of Default().
	o := cfg.Options
	if !o.Epsilon.Auto || o.NumClasses != 0 || o.IgnoreIndex != -100 || o.LabelSmoothing != 0 ||
		len(o.ClassWeights) != 0 || o.Threshold != 0.5 || o.CalibrationBins != 15 || o.OnInvalid != "error" {
		t.Errorf("options defaults = %+v", o)
	}
	if cfg.Columns.PredictionKind != "prob" || cfg.Output.PerRow || cfg.Output.Overwrite || cfg.Workers != 0 {
		t.Errorf("defaults: kind %q per_row %v overwrite %v workers %d", cfg.Columns.PredictionKind, cfg.Output.PerRow, cfg.Output.Overwrite, cfg.Workers)
	}
}

func TestLoadErrors(t *testing.T) {
	for _, tc := range []struct {
		name, text, want string
	}{
		{"unknown top key", minimal + "bogus: 1\n", `unknown key "bogus"`},
		{"unknown nested key", minimal + "options: {epsilonn: 1}\n", `unknown key "options.epsilonn"`},
		{"unknown gate key", minimal + "gates: [{metric: log_loss, maxx: 1}]\n", `unknown key "gates[0].maxx"`},
		{"bad task", strings.Replace(minimal, "binary", "ranking", 1), `unknown task "ranking"`},
		{"bad kind", minimal + "columns: {label: y, prediction: p, prediction_kind: odds}\n", `key "columns" appears twice`},
		{"kind", strings.Replace(minimal, "prediction: p}", "prediction: p, prediction_kind: odds}", 1), "columns.prediction_kind"},
		{"epsilon", minimal + "options: {epsilon: 0.7}\n", "options.epsilon"},
		{"epsilon word", minimal + "options: {epsilon: tiny}\n", "epsilon must be auto or a number"},
		{"bins", minimal + "options: {calibration_bins: 0}\n", "options.calibration_bins"},
		{"on_invalid", minimal + "options: {on_invalid: warn}\n", "options.on_invalid"},
		{"binary weights", minimal + "options: {class_weights: [1, 2, 3]}\n", "options.class_weights"},
		{"no output", strings.Replace(minimal, "output: {dir: out/run-1}", "", 1), "output.dir"},
		{"no inputs", strings.Replace(minimal, "inputs: [data/*.parquet]", "", 1), "inputs"},
		{"type", minimal + "workers: many\n", "workers"},
		{"nested type", minimal + "options: {threshold: abc}\n", "config key options.threshold: "},
		{"bool type", strings.Replace(minimal, "output: {dir: out/run-1}", "output: {dir: out/run-1, per_row: maybe}", 1), "config key output.per_row: "},
		{"gate type", minimal + "gates: [{metric: log_loss, max: 1}, {metric: log_loss, max: lots}]\n", "config key gates[1].max: "},
		{"labels type", minimal + "labels: {inputs: [l.parquet], join: {a: b}}\n", "config key labels.join: "},
		{"fractional workers", minimal + "workers: 1.5\n", "config key workers: line "},
		{"fractional num_classes", minimal + "options: {num_classes: 2.5}\n", "config key options.num_classes: line 6: 2.5 is not a whole number"},
		{"fractional bins", minimal + "options: {calibration_bins: 7.9}\n", "options.calibration_bins"},
		{"fractional ignore_index", minimal + "options: {ignore_index: 1.5}\n", "options.ignore_index"},
		{"min above max", minimal + "gates: [{metric: accuracy, min: 0.9, max: 0.5}]\n", "config key gates[0].min: 0.9 is above max 0.5: no value can pass"},
		{"fractional min_rows", minimal + "gates: [{metric: log_loss, max: 1, min_rows: 0.5}]\n", "config key gates[0].min_rows"},
		{"null where value", minimal + "gates: [{metric: log_loss, max: 1, where: {model: a, slice: ~}}]\n", "config key gates[0].where.slice: line 6: null is not a value here"},
		{"infinite workers", minimal + "workers: .inf\n", "config key workers"},
		{"not a mapping", "- a\n- b\n", "mapping"},
		{"reserved group name", minimal + "group_by: [model, rows]\n", `group_by: column "rows" has the name of a summary column`},
		{"reserved keep name", strings.Replace(minimal, "prediction: p}", "prediction: p, keep: [cross_entropy]}", 1), "columns.keep"},
		{"labels without inputs", minimal + "labels: {join: [id]}\n", "labels.inputs"},
		{"labels without join", minimal + "labels: {inputs: [l.parquet]}\n", "labels.join"},
		{"labels join twice", minimal + "labels: {inputs: [l.parquet], join: [id, id]}\n", `labels.join: column "id" appears twice`},
		{"labels join on label", minimal + "labels: {inputs: [l.parquet], join: [y]}\n", "labels.join"},
		{"labels unmatched", minimal + "labels: {inputs: [l.parquet], join: [id], unmatched: drop}\n", "labels.unmatched"},
		{"labels unknown key", minimal + "labels: {inputs: [l.parquet], join: [id], on: id}\n", `unknown key "labels.on"`},
		{"env unset", minimal + "columns: {weight: '${EVALJOB_TEST_UNSET_VAR}'}\n", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load(writeConfig(t, tc.text), nil)
			if err == nil {
				t.Fatal("no error")
			}
			if !errors.Is(err, evalerr.ErrConfig) {
				t.Errorf("error %v is not a config error", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not mention %q", err, tc.want)
			}
		})
	}
}

// TestSyntaxErrorLines: a YAML syntax error names the 1-based line of the
// file, whether yaml.v3's scanner or its parser found it (the parser's
// lines came out one early, and line 1 not at all).
func TestSyntaxErrorLines(t *testing.T) {
	for _, tc := range []struct {
		name, text, want string
	}{
		{"scanner", "task: binary\ninputs: [a]\ncolumns:\n  label: y\n   prediction: p\n", "line 5: mapping values are not allowed"},
		{"tab", "task: binary\n\tinputs: x\n", "line 2: found a tab character"},
		{"flow sequence", "task: binary\ninputs: [a.parquet\ncolumns: {label: y}\n", "line 2: did not find expected ',' or ']'"},
		{"flow mapping on line 1", "columns: {label: y\ntask: binary\n", "line 2: did not find expected ',' or '}'"},
		{"block mapping", "task: binary\ncolumns:\n  label: y\n - p\n", "line 4: did not find expected key"},
		{"one line", "task: [a, b}", "line 1: did not find expected ',' or ']'"},
		// Scanner errors that read like the parser's: yaml.v3 counts these from 1.
		{"scanner anchor", "task: binary\ninputs: [a]\ncolumns: {label: &, prediction: p}\n", "line 3: did not find expected alphabetic or numeric character"},
		{"scanner block scalar", "task: binary\ninputs: [a]\ncolumns: |x\n", "line 3: did not find expected comment or line break"},
		{"flow mapping open", "task: binary\ncolumns: {label: y,\n  prediction: p\ninputs: [a]\n", "line 2: did not find expected"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load(writeConfig(t, tc.text), nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want %q", err, tc.want)
			}
		})
	}
}

// TestSetErrorsNameTheSet: a key or value that came from --set is named by
// the --set, not by a line of the file (it was "line 0", "line 1").
func TestSetErrorsNameTheSet(t *testing.T) {
	path := writeConfig(t, minimal)
	for _, tc := range []struct {
		sets []string
		want string
	}{
		{[]string{"workers=2", "options.thresh=0.3"}, `--set options.thresh=0.3: unknown key "options.thresh"`},
		{[]string{"options.threshold=abc"}, "config key options.threshold: --set options.threshold=abc: cannot unmarshal"},
		{[]string{"workers=1.5"}, "config key workers: --set workers=1.5: 1.5 is not a whole number"},
		{[]string{"options={threshold: x}", "workers=1"}, "config key options.threshold: --set options={threshold: x}: cannot unmarshal"},
		{[]string{"gates=[{metric: rows, maxx: 1}]"}, `--set gates=[{metric: rows, maxx: 1}]: unknown key "gates[0].maxx"`},
	} {
		_, err := Load(path, tc.sets)
		if !errors.Is(err, evalerr.ErrConfig) || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "line ") {
			t.Errorf("--set %q: got %v, want a config error with %q and no line", tc.sets, err, tc.want)
		}
	}
	// A key or value that says "line -1" is left as it is.
	_, err := Load(writeConfig(t, minimal+"deadline -1: 3\n"), []string{"workers=2"})
	if err == nil || !strings.Contains(err.Error(), `unknown key "deadline -1"`) {
		t.Errorf("a key with line -1 in it: got %v", err)
	}
	_, err = Load(path, []string{`options.threshold="offline -1"`})
	if err == nil || !strings.Contains(err.Error(), "offline -1") || !strings.Contains(err.Error(), `--set options.threshold="offline -1": cannot unmarshal`) {
		t.Errorf("a value with line -1 in it: got %v", err)
	}
	// From the file: its line.
	_, err = Load(writeConfig(t, minimal+"workers: 1.5\n"), []string{"options.threshold=0.3"})
	if err == nil || !strings.Contains(err.Error(), "config key workers: line 6: 1.5 is not a whole number") {
		t.Errorf("got %v, want the file's line 6", err)
	}
}

func TestLoadEnv(t *testing.T) {
	t.Setenv("RUN_DATE", "2026-11-20")
	t.Setenv("EMPTY", "")
	os.Unsetenv("EVALJOB_TEST_UNSET_VAR")
	path := writeConfig(t, `
inputs: ["data/date=${RUN_DATE}/*.parquet"]
task: binary
columns: {label: "y${EMPTY}", prediction: p, keep: [$HOME]}
output: {dir: "out/date=${RUN_DATE}"}
`)
	cfg, err := Load(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Dir(path)
	if got, want := cfg.Output.Dir, filepath.Join(dir, "out/date=2026-11-20"); got != want {
		t.Errorf("output.dir = %q, want %q", got, want)
	}
	if got, want := cfg.Inputs[0], filepath.Join(dir, "data/date=2026-11-20/*.parquet"); got != want {
		t.Errorf("inputs = %q, want %q", got, want)
	}
	if cfg.Columns.Label != "y" {
		t.Errorf("empty variable: label = %q, want y", cfg.Columns.Label)
	}
	if cfg.Columns.Keep[0] != "$HOME" {
		t.Errorf("only the ${VAR} form expands: keep = %q", cfg.Columns.Keep)
	}

	_, err = Load(writeConfig(t, minimal+"columns: {label: y, prediction: p, weight: '${EVALJOB_TEST_UNSET_VAR}'}\n"), nil)
	if err == nil || !strings.Contains(err.Error(), "EVALJOB_TEST_UNSET_VAR") {
		t.Errorf("unset variable: error %v does not name it", err)
	}
}

func TestLoadSet(t *testing.T) {
	path := writeConfig(t, minimal)
	cwd, _ := os.Getwd()
	cfg, err := Load(path, []string{
		"options.epsilon=1e-7",
		"options.on_invalid=skip",
		"output.dir=elsewhere",
		"output.per_row=true",
		"group_by=[[model], [model, slice]]",
		"workers=3",
		"columns.keep=[request_id]",
	})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Options.Epsilon.Auto || cfg.Options.Epsilon.Value != 1e-7 {
		t.Errorf("epsilon = %+v", cfg.Options.Epsilon)
	}
	if cfg.Options.OnInvalid != "skip" || !cfg.Output.PerRow || cfg.Workers != 3 {
		t.Errorf("set values not applied: %+v %+v %d", cfg.Options, cfg.Output, cfg.Workers)
	}
	if want := filepath.Join(cwd, "elsewhere"); cfg.Output.Dir != want {
		t.Errorf("--set path is relative to the working directory: got %q want %q", cfg.Output.Dir, want)
	}
	if want := (GroupSets{{"model"}, {"model", "slice"}}); !reflect.DeepEqual(cfg.GroupBy, want) {
		t.Errorf("group_by = %v", cfg.GroupBy)
	}
	if !reflect.DeepEqual(cfg.Columns.Keep, []string{"request_id"}) {
		t.Errorf("keep = %v", cfg.Columns.Keep)
	}
	// --set on a list element or a whole mapping is relative to the working
	// directory too, while the other paths stay relative to the file.
	two := writeConfig(t, strings.Replace(minimal, "inputs: [data/*.parquet]", "inputs: [a.parquet, b.parquet]", 1))
	cfg, err = Load(two, []string{"inputs.1=here.parquet", "output={dir: o}"})
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Dir(two)
	if want := []string{filepath.Join(dir, "a.parquet"), filepath.Join(cwd, "here.parquet")}; !reflect.DeepEqual(cfg.Inputs, want) {
		t.Errorf("inputs = %v, want %v", cfg.Inputs, want)
	}
	if want := filepath.Join(cwd, "o"); cfg.Output.Dir != want {
		t.Errorf("output.dir = %q, want %q", cfg.Output.Dir, want)
	}
	// A whole number written as a float is that integer; a fraction is
	// refused, not truncated (yaml.v3 alone would make 0.5 a 0).
	if cfg, err := Load(path, []string{"workers=2.0", "options.calibration_bins=1e1"}); err != nil || cfg.Workers != 2 || cfg.Options.CalibrationBins != 10 {
		t.Errorf("workers=2.0, calibration_bins=1e1: %v, %v", cfg, err)
	}
	// A null gate is no gate (as yaml.v3 decodes lists); an alias is its
	// value, whole numbers and all.
	gates := writeConfig(t, minimal+"gates: [{metric: log_loss, max: &x 1.5}, ~]\n")
	if cfg, err := Load(gates, nil); err != nil || len(cfg.Gates) != 1 || *cfg.Gates[0].Max != 1.5 {
		t.Errorf("a null gate: %v, %v", cfg, err)
	}
	alias := writeConfig(t, minimal+"gates: [{metric: log_loss, max: &x 1.5}]\nworkers: *x\n")
	if _, err := Load(alias, nil); err == nil || !strings.Contains(err.Error(), "config key workers") {
		t.Errorf("workers: an alias to 1.5: %v", err)
	}
	for _, bad := range []string{"options.nope=1", "noequals", "task.x=1", "workers=0.5", "options.ignore_index=-0.5"} {
		if _, err := Load(path, []string{bad}); !errors.Is(err, evalerr.ErrConfig) {
			t.Errorf("--set %s: err %v, want a config error", bad, err)
		}
	}
}

func TestGroupByForms(t *testing.T) {
	for text, want := range map[string]GroupSets{
		"group_by: [model]\n":                   {{"model"}},
		"group_by: [model, slice]\n":            {{"model", "slice"}},
		"group_by: [[model], [model, slice]]\n": {{"model"}, {"model", "slice"}},
		"group_by: model\n":                     {{"model"}},
		"group_by: []\n":                        nil,
	} {
		cfg, err := Load(writeConfig(t, minimal+text), nil)
		if err != nil {
			t.Fatalf("%s: %v", text, err)
		}
		if !reflect.DeepEqual(cfg.GroupBy, want) {
			t.Errorf("%s: group_by = %v, want %v", text, cfg.GroupBy, want)
		}
	}
	cfg, _ := Load(writeConfig(t, minimal+"group_by: [[model, slice], [day, model]]\n"), nil)
	if got := cfg.GroupColumns(); !reflect.DeepEqual(got, []string{"model", "slice", "day"}) {
		t.Errorf("GroupColumns = %v", got)
	}
}

func TestFromFlags(t *testing.T) {
	cwd, _ := os.Getwd()
	cfg, err := FromFlags(Flags{Inputs: []string{"a.parquet"}, Task: "multiclass", Label: "y",
		Prediction: []string{"p0", "p1"}, GroupBy: [][]string{{"model", "slice"}}, Out: "out"})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Columns.PredictionKind != "prob" {
		t.Errorf("flags mode prediction_kind defaults to prob, got %q", cfg.Columns.PredictionKind)
	}
	if cfg.Inputs[0] != filepath.Join(cwd, "a.parquet") || cfg.Output.Dir != filepath.Join(cwd, "out") {
		t.Errorf("paths: %v %v", cfg.Inputs, cfg.Output.Dir)
	}
	if _, err := FromFlags(Flags{Inputs: []string{"a"}, Task: "binary", Label: "y"}); !errors.Is(err, evalerr.ErrConfig) {
		t.Errorf("missing flags: %v", err)
	}
	// An empty path read the working directory ("--input $DIR", DIR unset).
	for _, f := range []Flags{
		{Inputs: []string{"a", ""}, Task: "binary", Label: "y", Prediction: []string{"p"}, Out: "out"},
		{Inputs: []string{"a"}, Task: "binary", Label: "y", Prediction: []string{"p"}, Out: "out", Labels: []string{""}, Join: []string{"id"}},
	} {
		if _, err := FromFlags(f); !errors.Is(err, evalerr.ErrConfig) || !strings.Contains(err.Error(), "an empty path") {
			t.Errorf("empty path: %v, want a config error", err)
		}
	}
}

// TestEmptyInputPath: an input or label pattern that expands to nothing is
// a config error naming its key (it was exit 3 naming "").
func TestEmptyInputPath(t *testing.T) {
	t.Setenv("EVALJOB_TEST_EMPTY", "")
	for _, tc := range []struct{ text, want string }{
		{strings.Replace(minimal, "inputs: [data/*.parquet]", "inputs: [data/*.parquet, '${EVALJOB_TEST_EMPTY}']", 1), "config key inputs[1]: an empty path"},
		{minimal + "labels: {inputs: ['${EVALJOB_TEST_EMPTY}'], join: [id]}\n", "config key labels.inputs[0]: an empty path"},
	} {
		_, err := Load(writeConfig(t, tc.text), nil)
		if !errors.Is(err, evalerr.ErrConfig) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("got %v, want %q", err, tc.want)
		}
	}
}

// TestLabels: the labels section resolves its paths like inputs, defaults
// unmatched to error, and flags mode builds the same section.
func TestLabels(t *testing.T) {
	path := writeConfig(t, minimal+"labels: {inputs: ['${EVALJOB_TEST_LABEL_DIR}/*.parquet'], join: [request_id, day]}\n")
	t.Setenv("EVALJOB_TEST_LABEL_DIR", "labels/2026-11-20")
	cfg, err := Load(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := &Labels{Inputs: []string{filepath.Join(filepath.Dir(path), "labels/2026-11-20/*.parquet")},
		Join: []string{"request_id", "day"}, Unmatched: "error"}
	if !reflect.DeepEqual(cfg.Labels, want) {
		t.Errorf("labels = %+v, want %+v", cfg.Labels, want)
	}
	cfg, err = Load(path, []string{"labels.unmatched=skip"})
	if err != nil || cfg.Labels.Unmatched != "skip" {
		t.Errorf("--set labels.unmatched=skip: %v, %+v", err, cfg.Labels)
	}

	cwd, _ := os.Getwd()
	cfg, err = FromFlags(Flags{Inputs: []string{"p.parquet"}, Task: "binary", Label: "y", Prediction: []string{"p"}, Out: "out",
		Labels: []string{"l.parquet"}, Join: []string{"id"}, Unmatched: "skip"})
	if err != nil {
		t.Fatal(err)
	}
	want = &Labels{Inputs: []string{filepath.Join(cwd, "l.parquet")}, Join: []string{"id"}, Unmatched: "skip"}
	if !reflect.DeepEqual(cfg.Labels, want) {
		t.Errorf("flags: labels = %+v, want %+v", cfg.Labels, want)
	}
	for _, f := range []Flags{
		{Join: []string{"id"}},
		{Labels: []string{"l.parquet"}},
		{Labels: []string{"l.parquet"}, Join: []string{"id"}, Unmatched: "maybe"},
	} {
		f.Inputs, f.Task, f.Label, f.Prediction, f.Out = []string{"p.parquet"}, "binary", "y", []string{"p"}, "out"
		if _, err := FromFlags(f); !errors.Is(err, evalerr.ErrConfig) {
			t.Errorf("flags %+v: %v, want a config error", f, err)
		}
	}
}

// TestInputsUnderWildcardFolder: a relative input pattern in a config whose
// folder has wildcard characters in its name ("runs[1]", a backslash, a
// leading "_") matches the files of that folder, through the readers'
// discovery: only the pattern's own wildcards are wildcards, "**" too, and
// a missing file is not a sibling folder's ("runs[12]" once read "runs1").
func TestInputsUnderWildcardFolder(t *testing.T) {
	if filepath.Separator == '\\' {
		t.Skip("folder names with wildcards")
	}
	root := t.TempDir()
	for _, folder := range []string{"runs[1]*?", `a\b`, "_runs[1]", "runs[12]"} {
		dir := filepath.Join(root, folder)
		for _, name := range []string{"data/a.parquet", "data/sub/b[2].parquet", "l/x.parquet"} {
			writeFile(t, filepath.Join(dir, name))
		}
		writeFile(t, filepath.Join(root, "runs1", "data", "c.parquet")) // what runs[12] matches as a pattern
		text := minimal + "labels: {inputs: ['l/*.parquet'], join: [id]}\n"
		text = strings.Replace(text, "inputs: [data/*.parquet]", "inputs: ['data/*.parquet', 'data/**/*.parquet', 'data/sub/b[2].parquet', 'data/c.parquet']", 1)
		path := filepath.Join(dir, "job.yaml")
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		cfg, err := Load(path, nil)
		if err != nil {
			t.Fatal(err)
		}
		for i, want := range [][]string{
			{"data/a.parquet"},
			{"data/a.parquet", "data/sub/b[2].parquet"},
			{"data/sub/b[2].parquet"}, // exists as named
			nil,                       // missing: no file (runs1/data/c.parquet is not it)
		} {
			checkDiscover(t, folder, cfg.Inputs[i], dir, want)
		}
		checkDiscover(t, folder, cfg.Labels.Inputs[0], dir, []string{"l/x.parquet"})
	}
}

func writeFile(t *testing.T, p string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, nil, 0o644); err != nil {
		t.Fatal(err)
	}
}

func checkDiscover(t *testing.T, folder, pattern, dir string, want []string) {
	t.Helper()
	got, err := readers.Discover([]string{pattern}, "")
	var paths []string
	for _, in := range got {
		paths = append(paths, in.Path)
	}
	var wantPaths []string
	for _, w := range want {
		wantPaths = append(wantPaths, filepath.Join(dir, w))
	}
	if want == nil {
		if err == nil || !strings.Contains(err.Error(), "matches no files") {
			t.Errorf("%s: %s matches %q (%v), want no file", folder, pattern, paths, err)
		}
		return
	}
	if err != nil || !slices.Equal(paths, wantPaths) {
		t.Errorf("%s: %s matches %q (%v), want %q", folder, pattern, paths, err, wantPaths)
	}
}
