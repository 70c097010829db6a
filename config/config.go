package config

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/evaljob/evaljob/evalerr"
)

// Tasks named in SPEC §3, and the ones this version computes.
var (
	allTasks       = []string{"binary", "multiclass", "multilabel", "token", "regression"}
	supportedTasks = allTasks
)

// reservedColumns are the summary's own column names (SPEC §4, every task):
// a group_by column of the same name would give two columns of one name.
var reservedColumns = []string{
	"group_set", "rows", "invalid_rows", "ignored_rows", "clipped_rows", "unlabeled_rows", "sequences", "tokens",
	"weight_sum", "cross_entropy", "log_loss", "perplexity", "cross_entropy_stderr", "accuracy", "brier", "ece",
	"mean_prediction", "label_rate", "bits_per_token", "seq_perplexity_mean", "bits_per_byte", "word_perplexity",
	"mse", "mae", "rmse", "loss_sum", "loss_sq_sum", "weight_sq_sum", "correct_sum", "brier_sum", "prediction_sum",
	"label_sum", "nll_sum", "bytes_sum", "words_sum", "seq_perplexity_sum", "abs_error_sum",
	"calibration_weight", "calibration_confidence_sum", "calibration_outcome_sum",
}

// Config is one evaluation job.
type Config struct {
	Inputs  []string  `yaml:"inputs" json:"inputs"`
	Task    string    `yaml:"task" json:"task"`
	Columns Columns   `yaml:"columns" json:"columns"`
	GroupBy GroupSets `yaml:"group_by" json:"group_by"`
	Options Options   `yaml:"options" json:"options"`
	Labels  *Labels   `yaml:"labels" json:"labels,omitempty"`
	Output  Output    `yaml:"output" json:"output"`
	Workers int       `yaml:"workers" json:"workers"`
	Gates   []Gate    `yaml:"gates" json:"gates"`
}

// Columns names the input columns.
type Columns struct {
	Label          string     `yaml:"label" json:"label"`
	Prediction     StringList `yaml:"prediction" json:"prediction"`
	PredictionKind string     `yaml:"prediction_kind" json:"prediction_kind"`
	Weight         string     `yaml:"weight" json:"weight,omitempty"`
	Sequence       string     `yaml:"sequence" json:"sequence,omitempty"`
	Mask           string     `yaml:"mask" json:"mask,omitempty"`
	Bytes          string     `yaml:"bytes" json:"bytes,omitempty"`
	Words          string     `yaml:"words" json:"words,omitempty"`
	Keep           []string   `yaml:"keep" json:"keep"`
}

// Options are the numeric choices of SPEC §2.
type Options struct {
	Epsilon         Epsilon   `yaml:"epsilon" json:"epsilon"`
	NumClasses      int       `yaml:"num_classes" json:"num_classes"`
	IgnoreIndex     int64     `yaml:"ignore_index" json:"ignore_index"`
	LabelSmoothing  float64   `yaml:"label_smoothing" json:"label_smoothing"`
	ClassWeights    []float64 `yaml:"class_weights" json:"class_weights"`
	Threshold       float64   `yaml:"threshold" json:"threshold"`
	CalibrationBins int       `yaml:"calibration_bins" json:"calibration_bins"`
	OnInvalid       string    `yaml:"on_invalid" json:"on_invalid"`
}

// Labels describes label files joined to the predictions (SPEC §2).
type Labels struct {
	Inputs    []string `yaml:"inputs" json:"inputs"`
	Join      []string `yaml:"join" json:"join"`
	Unmatched string   `yaml:"unmatched" json:"unmatched"`
}

// check validates the labels section and fills in the default of unmatched.
func (l *Labels) check(c *Config) error {
	bad := func(key, format string, args ...any) error {
		return evalerr.Configf("config key labels.%s: %s", key, fmt.Sprintf(format, args...))
	}
	if len(l.Inputs) == 0 {
		return bad("inputs", "at least one label file is required")
	}
	if len(l.Join) == 0 {
		return bad("join", "at least one key column is required")
	}
	for i, col := range l.Join {
		switch {
		case col == "":
			return bad("join", "empty column name")
		case slices.Contains(l.Join[:i], col):
			return bad("join", "column %q appears twice", col)
		case col == c.Columns.Label || col == c.Columns.Weight:
			return bad("join", "column %q is the label or weight column, which the label files supply", col)
		}
	}
	switch l.Unmatched {
	case "":
		l.Unmatched = "error"
	case "error", "skip":
	default:
		return bad("unmatched", "%q is not one of error, skip", l.Unmatched)
	}
	return nil
}

// Output is where and how results are written.
type Output struct {
	Dir       string `yaml:"dir" json:"dir"`
	PerRow    bool   `yaml:"per_row" json:"per_row"`
	Overwrite bool   `yaml:"overwrite" json:"overwrite"`
}

// Gate is one quality gate (SPEC §6).
type Gate struct {
	Metric         string            `yaml:"metric" json:"metric"`
	Where          map[string]string `yaml:"where" json:"where,omitempty"`
	Max            *float64          `yaml:"max" json:"max,omitempty"`
	Min            *float64          `yaml:"min" json:"min,omitempty"`
	Baseline       string            `yaml:"baseline" json:"baseline,omitempty"`
	MaxIncrease    *float64          `yaml:"max_increase" json:"max_increase,omitempty"`
	MaxIncreaseAbs *float64          `yaml:"max_increase_abs" json:"max_increase_abs,omitempty"`
	Significance   *float64          `yaml:"significance" json:"significance,omitempty"`
	MinRows        *int64            `yaml:"min_rows" json:"min_rows,omitempty"`
	BaselineRows   string            `yaml:"baseline_rows" json:"baseline_rows,omitempty"`
	Join           []string          `yaml:"join" json:"join,omitempty"`
}

// StringList is one string or a list of strings.
type StringList []string

// UnmarshalYAML accepts a scalar or a sequence.
func (l *StringList) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		*l = StringList{n.Value}
		return nil
	}
	var s []string
	if err := n.Decode(&s); err != nil {
		return err
	}
	*l = s
	return nil
}

// GroupSets is a list of grouping sets. In YAML it is one set ([a, b]) or a
// list of sets ([[a], [a, b]]).
type GroupSets [][]string

// UnmarshalYAML accepts a flat list (one set) or a list of lists.
func (g *GroupSets) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		if n.Tag == "!!null" || n.Value == "" {
			*g = nil
			return nil
		}
		*g = GroupSets{{n.Value}}
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		return fmt.Errorf("line %d: group_by must be a list of columns or a list of lists", n.Line)
	}
	nested := len(n.Content) > 0 && n.Content[0].Kind == yaml.SequenceNode
	if !nested {
		var set []string
		if err := n.Decode(&set); err != nil {
			return err
		}
		if len(set) > 0 {
			*g = GroupSets{set}
		}
		return nil
	}
	var sets [][]string
	if err := n.Decode(&sets); err != nil {
		return err
	}
	*g = sets
	return nil
}

// Epsilon is the probability clip: Auto, or a fixed value.
type Epsilon struct {
	Auto  bool
	Value float64
}

// UnmarshalYAML accepts "auto" or a number.
func (e *Epsilon) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode && n.Value == "auto" {
		*e = Epsilon{Auto: true}
		return nil
	}
	var v float64
	if err := n.Decode(&v); err != nil {
		return fmt.Errorf("line %d: epsilon must be auto or a number", n.Line)
	}
	*e = Epsilon{Value: v}
	return nil
}

// MarshalJSON writes "auto" or the number.
func (e Epsilon) MarshalJSON() ([]byte, error) {
	if e.Auto {
		return []byte(`"auto"`), nil
	}
	return []byte(strconv.FormatFloat(e.Value, 'g', -1, 64)), nil
}

// Default returns a Config with every default of SPEC §2.
func Default() *Config {
	return &Config{
		Columns: Columns{PredictionKind: "prob", Keep: []string{}},
		Options: Options{
			Epsilon:         Epsilon{Auto: true},
			IgnoreIndex:     -100,
			ClassWeights:    []float64{},
			Threshold:       0.5,
			CalibrationBins: 15,
			OnInvalid:       "error",
		},
		Gates: []Gate{},
	}
}

// GroupColumns lists every column of every grouping set once, in order of
// first appearance.
func (c *Config) GroupColumns() []string {
	var cols []string
	for _, set := range c.GroupBy {
		for _, col := range set {
			if !slices.Contains(cols, col) {
				cols = append(cols, col)
			}
		}
	}
	return cols
}

// Check validates the config as a whole. It is called by Load and
// FromFlags; call it again after changing a Config by hand.
func (c *Config) Check() error {
	bad := func(key, format string, args ...any) error {
		return evalerr.Configf("config key %s: %s", key, fmt.Sprintf(format, args...))
	}
	if len(c.Inputs) == 0 {
		return bad("inputs", "at least one input is required")
	}
	for i, p := range c.Inputs {
		if p == "" {
			return bad(fmt.Sprintf("inputs[%d]", i), "an empty path (an empty ${VAR}?)")
		}
	}
	if c.Labels != nil {
		for i, p := range c.Labels.Inputs {
			if p == "" {
				return bad(fmt.Sprintf("labels.inputs[%d]", i), "an empty path (an empty ${VAR}?)")
			}
		}
	}
	switch {
	case c.Task == "":
		return bad("task", "required (one of %s)", strings.Join(allTasks, ", "))
	case !slices.Contains(allTasks, c.Task):
		return bad("task", "unknown task %q (one of %s)", c.Task, strings.Join(allTasks, ", "))
	case !slices.Contains(supportedTasks, c.Task):
		return bad("task", "task %q is not available in this version (available: %s)", c.Task, strings.Join(supportedTasks, ", "))
	}
	if c.Columns.Label == "" && c.Task != "token" {
		return bad("columns.label", "required")
	}
	if len(c.Columns.Prediction) == 0 {
		return bad("columns.prediction", "required")
	}
	for _, p := range c.Columns.Prediction {
		if p == "" {
			return bad("columns.prediction", "empty column name")
		}
	}
	if c.Task != "multiclass" && len(c.Columns.Prediction) != 1 {
		return bad("columns.prediction", "the %s task takes one prediction column, got %d", c.Task, len(c.Columns.Prediction))
	}
	if c.Task == "token" && c.Columns.PredictionKind != "logprob" && c.Columns.PredictionKind != "logit" {
		return bad("columns.prediction_kind", "the token task takes logprob or logit, got %q", c.Columns.PredictionKind)
	}
	switch c.Columns.PredictionKind {
	case "prob", "logit", "logprob":
	default:
		return bad("columns.prediction_kind", "%q is not one of prob, logit, logprob", c.Columns.PredictionKind)
	}
	for key, col := range map[string]string{"columns.sequence": c.Columns.Sequence, "columns.mask": c.Columns.Mask,
		"columns.bytes": c.Columns.Bytes, "columns.words": c.Columns.Words} {
		if col != "" && c.Task != "token" {
			return bad(key, "only used by the token task")
		}
	}
	for i, set := range c.GroupBy {
		if len(set) == 0 {
			return bad(fmt.Sprintf("group_by[%d]", i), "empty grouping set")
		}
		for j, col := range set {
			if col == "" {
				return bad(fmt.Sprintf("group_by[%d][%d]", i, j), "empty column name")
			}
			if slices.Contains(set[:j], col) {
				return bad(fmt.Sprintf("group_by[%d]", i), "column %q appears twice", col)
			}
		}
	}
	for _, col := range c.GroupColumns() {
		if slices.Contains(reservedColumns, col) {
			return bad("group_by", "column %q has the name of a summary column; rename it in the input", col)
		}
	}
	for _, col := range c.Columns.Keep {
		if col == "cross_entropy" {
			return bad("columns.keep", "column %q has the name of the per-row loss column", col)
		}
	}
	if err := c.Options.check(c.Task); err != nil {
		return err
	}
	if c.Labels != nil {
		if err := c.Labels.check(c); err != nil {
			return err
		}
	}
	if c.Output.Dir == "" {
		return bad("output.dir", "required")
	}
	if c.Workers < 0 {
		return bad("workers", "must be >= 0, got %d", c.Workers)
	}
	for i, g := range c.Gates {
		key := fmt.Sprintf("gates[%d]", i)
		if err := g.check(key); err != nil {
			return err
		}
		if g.BaselineRows == "" {
			continue
		}
		if !c.Output.PerRow || c.Task == "token" {
			return bad(key+".baseline_rows", "a paired gate needs output.per_row: true (one row per input row; not the token task)")
		}
		for _, col := range g.Join {
			if !slices.Contains(c.Columns.Keep, col) && !slices.Contains(c.GroupColumns(), col) {
				return bad(key+".join", "column %q must be in columns.keep (or group_by), so rows.parquet carries it", col)
			}
		}
	}
	return nil
}

// check validates one gate's shape; that its metric is a summary column
// of the task is checked by the pipeline, which knows the columns.
func (g *Gate) check(key string) error {
	bad := func(sub, format string, args ...any) error {
		return evalerr.Configf("config key %s%s: %s", key, sub, fmt.Sprintf(format, args...))
	}
	if g.Metric == "" {
		return bad(".metric", "required")
	}
	relative := g.MaxIncrease != nil || g.MaxIncreaseAbs != nil
	if g.BaselineRows != "" || len(g.Join) > 0 {
		switch {
		case g.BaselineRows == "" || len(g.Join) == 0:
			return bad(".baseline_rows", "a paired gate needs both baseline_rows and join")
		case g.Baseline != "":
			return bad(".baseline", "a gate compares with a baseline summary or with baseline rows, not both")
		case g.Metric != "cross_entropy" && g.Metric != "log_loss":
			return bad(".metric", "a paired gate compares the per-row loss: cross_entropy or log_loss, got %q", g.Metric)
		case !relative:
			return bad(".baseline_rows", "needs max_increase or max_increase_abs")
		case g.Max != nil || g.Min != nil:
			return bad(".max", "a paired gate takes max_increase / max_increase_abs, not max or min")
		}
		return nil
	}
	switch {
	case g.Baseline == "" && relative:
		return bad(".max_increase", "needs a baseline")
	case g.Baseline != "" && !relative:
		return bad(".baseline", "needs max_increase or max_increase_abs")
	case g.Max == nil && g.Min == nil && !relative:
		return bad("", "needs max, min, or a baseline with max_increase / max_increase_abs")
	case g.Significance != nil && (g.Baseline == "" || !(*g.Significance >= 0)):
		return bad(".significance", "needs a baseline and a number >= 0")
	case g.MinRows != nil && *g.MinRows < 0:
		return bad(".min_rows", "must be >= 0")
	case g.Min != nil && g.Max != nil && *g.Min > *g.Max:
		return bad(".min", "%v is above max %v: no value can pass", *g.Min, *g.Max)
	}
	for _, v := range []*float64{g.Max, g.Min, g.MaxIncrease, g.MaxIncreaseAbs} {
		if v != nil && (math.IsNaN(*v) || math.IsInf(*v, 0)) {
			return bad("", "limits must be finite numbers")
		}
	}
	return nil
}

func (o *Options) check(task string) error {
	bad := func(key, format string, args ...any) error {
		return evalerr.Configf("config key options.%s: %s", key, fmt.Sprintf(format, args...))
	}
	if !o.Epsilon.Auto && !(o.Epsilon.Value > 0 && o.Epsilon.Value < 0.5) {
		return bad("epsilon", "must be auto or a number in (0, 0.5), got %v", o.Epsilon.Value)
	}
	if o.NumClasses < 0 {
		return bad("num_classes", "must be >= 0, got %d", o.NumClasses)
	}
	if task == "binary" && o.NumClasses != 0 && o.NumClasses != 2 {
		return bad("num_classes", "the binary task has 2 classes, got %d", o.NumClasses)
	}
	if !(o.LabelSmoothing >= 0 && o.LabelSmoothing < 1) {
		return bad("label_smoothing", "must be in [0, 1), got %v", o.LabelSmoothing)
	}
	if o.LabelSmoothing != 0 && task != "multiclass" {
		return bad("label_smoothing", "only used by the multiclass task")
	}
	for i, w := range o.ClassWeights {
		if !(w >= 0) || math.IsInf(w, 0) {
			return bad(fmt.Sprintf("class_weights[%d]", i), "must be finite and >= 0, got %v", w)
		}
	}
	if len(o.ClassWeights) != 0 && task != "binary" && task != "multiclass" {
		return bad("class_weights", "only used by the binary and multiclass tasks")
	}
	if task == "binary" && len(o.ClassWeights) != 0 && len(o.ClassWeights) != 2 {
		return bad("class_weights", "the binary task takes 2 class weights [negative, positive], got %d", len(o.ClassWeights))
	}
	if task == "multiclass" && len(o.ClassWeights) != 0 && o.NumClasses != 0 && len(o.ClassWeights) != o.NumClasses {
		return bad("class_weights", "%d weights for num_classes %d", len(o.ClassWeights), o.NumClasses)
	}
	if !(o.Threshold >= 0 && o.Threshold <= 1) {
		return bad("threshold", "must be in [0, 1], got %v", o.Threshold)
	}
	if o.CalibrationBins < 1 || o.CalibrationBins > 10000 {
		return bad("calibration_bins", "must be in [1, 10000], got %d", o.CalibrationBins)
	}
	switch o.OnInvalid {
	case "error", "skip":
	default:
		return bad("on_invalid", "%q is not one of error, skip", o.OnInvalid)
	}
	return nil
}
