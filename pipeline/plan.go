package pipeline

import (
	"context"
	"errors"
	"fmt"
	"math"
	"runtime"
	"slices"

	"github.com/apache/arrow/go/v17/arrow"

	"github.com/evaljob/evaljob/config"
	"github.com/evaljob/evaljob/evalerr"
	"github.com/evaljob/evaljob/pipeline/metrics"
	"github.com/evaljob/evaljob/readers"
)

// plan is everything decided before the first row is scored.
type plan struct {
	cfg   *config.Config
	task  string
	kind  metrics.Kind
	files *fileSet
	units []unitRef

	// columns read from every file, in this order; the index fields point
	// into it (-1 when absent).
	columns   []string
	labelCol  int
	weightCol int
	predCols  []int
	groupCols []int // one per union group column
	outCols   []int // keep columns, then group columns not kept: rows.parquet

	groupNames []string
	groupTypes []arrow.DataType
	outNames   []string
	outTypes   []arrow.DataType

	// token task
	layout                              tokenLayout
	seqCol, maskCol, bytesCol, wordsCol int
	seqType                             []arrow.DataType // one entry, for encodeKey
	seqInts                             bool             // sequences are found by their value's i (intKeyed)

	// labels in their own files (nil without): the columns from index
	// readCols on are not read from the prediction files but joined from
	// the label store (the label, and the weight when the label files
	// have it), on the prediction-side key columns joinCols.
	labels          *labelStore
	readCols        int
	joinCols        []int
	labelFromLabels bool
	skipUnmatched   bool

	where        []map[string]string // per gate: its where as key texts (whereText)
	eps          []float64           // per file
	numClasses   int                 // multiclass classes, multilabel labels
	classWeights []float64
	bins         int
	skipInvalid  bool
}

type unitRef struct{ file, unit int }

// newPlan discovers and opens the inputs and checks their schemas. On error
// the opened files are closed.
func newPlan(ctx context.Context, cfg *config.Config) (_ *plan, err error) {
	p := &plan{
		cfg:          cfg,
		task:         cfg.Task,
		labelCol:     -1,
		weightCol:    -1,
		seqCol:       -1,
		maskCol:      -1,
		bytesCol:     -1,
		wordsCol:     -1,
		classWeights: cfg.Options.ClassWeights,
		bins:         cfg.Options.CalibrationBins,
		skipInvalid:  cfg.Options.OnInvalid == "skip",
	}
	switch cfg.Columns.PredictionKind {
	case "logit":
		p.kind = metrics.Logit
	case "logprob":
		p.kind = metrics.Logprob
	default:
		p.kind = metrics.Prob
	}
	defer func() {
		if err != nil {
			p.close()
		}
	}()

	if p.files, err = discoverFiles(cfg.Inputs, p.workers(), cfg.Output.Dir); err != nil {
		return nil, err
	}

	add := func(name string) int {
		if i := slices.Index(p.columns, name); i >= 0 {
			return i
		}
		p.columns = append(p.columns, name)
		return len(p.columns) - 1
	}
	optional := func(name string) int {
		if name == "" {
			return -1
		}
		return add(name)
	}
	if cfg.Labels != nil {
		if p.labels, err = openLabels(cfg, p.workers()); err != nil {
			return nil, err
		}
		p.skipUnmatched = cfg.Labels.Unmatched == "skip"
	}
	if p.labels == nil {
		p.labelCol = optional(cfg.Columns.Label)
	}
	for _, c := range cfg.Columns.Prediction {
		p.predCols = append(p.predCols, add(c))
	}
	weightFromLabels := p.labels != nil && (p.labels.weight != nil || (cfg.Columns.Weight != "" && cfg.Columns.Weight == cfg.Columns.Label))
	if !weightFromLabels {
		p.weightCol = optional(cfg.Columns.Weight)
	}
	p.seqCol = optional(cfg.Columns.Sequence)
	p.maskCol = optional(cfg.Columns.Mask)
	p.bytesCol = optional(cfg.Columns.Bytes)
	p.wordsCol = optional(cfg.Columns.Words)
	// A group or kept column that the label files supply (the label, or
	// their weight) is theirs, joined: SPEC §2's label side wins over a
	// prediction-side column of that name (and the prediction files need
	// not have one). Its index (-1 here) is set once the joined columns
	// have theirs.
	keyCol := func(c string) int {
		if p.labels != nil && (c == cfg.Columns.Label || weightFromLabels && c == cfg.Columns.Weight) {
			return -1
		}
		return add(c)
	}
	p.groupNames = cfg.GroupColumns()
	for _, c := range p.groupNames {
		p.groupCols = append(p.groupCols, keyCol(c))
	}
	if cfg.Output.PerRow {
		for _, c := range append(slices.Clone(cfg.Columns.Keep), p.groupNames...) {
			if !slices.Contains(p.outNames, c) {
				p.outNames = append(p.outNames, c)
				p.outCols = append(p.outCols, keyCol(c))
			}
		}
	}

	p.readCols = len(p.columns)
	if p.labels != nil {
		for _, c := range cfg.Labels.Join {
			p.joinCols = append(p.joinCols, add(c))
		}
		p.readCols = len(p.columns)
		if cfg.Columns.Label != "" {
			p.columns = append(p.columns, cfg.Columns.Label)
			p.labelCol = len(p.columns) - 1
			p.labelFromLabels = true
		}
		switch {
		case p.labels.weight != nil:
			p.columns = append(p.columns, cfg.Columns.Weight)
			p.weightCol = len(p.columns) - 1
		case weightFromLabels:
			p.weightCol = p.labelCol // the label column is the weight too
		}
		joined := func(names []string, cols []int) {
			for i, c := range names {
				switch {
				case cols[i] >= 0:
				case c == cfg.Columns.Label:
					cols[i] = p.labelCol
				default:
					cols[i] = p.weightCol
				}
			}
		}
		joined(p.groupNames, p.groupCols)
		joined(p.outNames, p.outCols)
	}

	if err := p.files.learn(p.checkFile); err != nil {
		return nil, err
	}
	for fi := range p.files.len() {
		for u := range p.files.units(fi) {
			p.units = append(p.units, unitRef{fi, u})
		}
	}
	if err := p.checkGates(); err != nil {
		return nil, err
	}
	if p.task == "multiclass" || p.task == "multilabel" {
		if err := p.resolveClasses(ctx); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// workers is the number of worker goroutines: workers, or one per CPU (as
// in execute).
func (p *plan) workers() int {
	if p.cfg.Workers > 0 {
		return p.cfg.Workers
	}
	return runtime.NumCPU()
}

func (p *plan) close() {
	if p.files != nil {
		p.files.close()
	}
	if p.labels != nil {
		p.labels.close()
	}
}

// checkFile checks that f has every column with an accepted type, and that
// group and kept columns have the same type in every file.
func (p *plan) checkFile(fi int, f *readers.File) error {
	fields := map[string]readers.Field{}
	for _, fd := range f.Fields() {
		fields[fd.Name] = fd
	}
	if p.labels != nil {
		if err := p.labels.checkKeys(f); err != nil {
			return err
		}
	}
	types := make([]arrow.DataType, len(p.columns))
	if p.labelFromLabels {
		types[p.labelCol] = p.labels.label.col.Type
	}
	if p.labels != nil && p.labels.weight != nil {
		types[p.weightCol] = p.labels.weight.col.Type
	}
	for i, name := range p.columns[:p.readCols] {
		fd, ok := fields[name]
		if !ok {
			why := errors.New("missing column")
			if p.labels != nil && name == p.cfg.Columns.Weight {
				why = fmt.Errorf("missing column: the weight is in neither the prediction files nor the label files (%s)", p.labels.files.path(0))
			}
			return &evalerr.InputError{Path: f.Path(), RowGroup: -1, Row: -1, Column: name, Err: why}
		}
		if fd.Type == nil {
			return &evalerr.InputError{Path: f.Path(), RowGroup: -1, Row: -1, Column: name,
				Err: fmt.Errorf("column type %s is not supported by evaljob", fd.Unsupported)}
		}
		types[i] = fd.Type
	}
	wrongType := func(col int, want string) error {
		path := f.Path()
		if col >= p.readCols {
			path = p.labels.files.path(0) // every label file has its types
		}
		return &evalerr.InputError{Path: path, RowGroup: -1, Row: -1, Column: p.columns[col],
			Err: fmt.Errorf("wrong type %s, want %s", types[col], want)}
	}

	if err := p.checkTask(fi, f, types, wrongType); err != nil {
		return err
	}
	if p.weightCol >= 0 && !isInteger(types[p.weightCol]) && !isFloat(types[p.weightCol]) {
		return wrongType(p.weightCol, "numeric weight")
	}

	eps := math.Ldexp(1, -52)
	for _, c := range p.predCols {
		t := types[c]
		if isList(t) {
			t = listElem(t)
		}
		if t.ID() == arrow.FLOAT32 {
			eps = math.Ldexp(1, -23)
		}
	}
	if !p.cfg.Options.Epsilon.Auto {
		eps = p.cfg.Options.Epsilon.Value
	}
	p.eps = append(p.eps, eps)

	check := func(names []string, cols []int, seen *[]arrow.DataType, role string) error {
		for i, c := range cols {
			t := types[c]
			if !isKeyType(t) {
				return wrongType(c, role+" of a scalar type (bool, integer, float, string, date, timestamp)")
			}
			if fi == 0 {
				*seen = append(*seen, t)
			} else if !sameType((*seen)[i], t) {
				return &evalerr.InputError{Path: f.Path(), RowGroup: -1, Row: -1, Column: names[i],
					Err: fmt.Errorf("type %s differs from %s in %s", t, (*seen)[i], p.files.path(0))}
			}
		}
		return nil
	}
	if err := check(p.groupNames, p.groupCols, &p.groupTypes, "group_by column"); err != nil {
		return err
	}
	return check(p.outNames, p.outCols, &p.outTypes, "kept column")
}

// sameType reports whether a column has the same type in two files: equal
// types, or UTF-8 strings of either offset width (Arrow IPC's large_utf8
// and Parquet's string: values, keys and output are the same). The first
// file's type is the one written.
func sameType(a, b arrow.DataType) bool {
	utf8 := func(t arrow.DataType) bool { return t.ID() == arrow.STRING || t.ID() == arrow.LARGE_STRING }
	return arrow.TypeEqual(a, b) || utf8(a) && utf8(b)
}

// checkTask checks the label and prediction types the task accepts, and
// for the token task decides the layout.
func (p *plan) checkTask(fi int, f *readers.File, types []arrow.DataType, wrongType func(int, string) error) error {
	var label arrow.DataType
	if p.labelCol >= 0 {
		label = types[p.labelCol]
	}
	pred := types[p.predCols[0]]
	numeric := func(t arrow.DataType) bool { return isInteger(t) || isFloat(t) }
	floatList := func(t arrow.DataType) bool { return isList(t) && isFloat(listElem(t)) }
	switch p.task {
	case "binary":
		if !isBool(label) && !numeric(label) {
			return wrongType(p.labelCol, "bool, integer or float label")
		}
		if !isFloat(pred) {
			return wrongType(p.predCols[0], "float32 or float64 prediction")
		}
	case "multiclass":
		if !isInteger(label) && !(isList(label) && isNumericOrBool(listElem(label))) {
			return wrongType(p.labelCol, "integer class index, or list of numbers (one-hot or soft target)")
		}
		if len(p.predCols) == 1 {
			if !floatList(pred) {
				return wrongType(p.predCols[0], "list of float32/float64 (or one scalar column per class)")
			}
		} else {
			for _, c := range p.predCols {
				if !isFloat(types[c]) {
					return wrongType(c, "float32 or float64 (one column per class)")
				}
			}
		}
	case "multilabel":
		if !isList(label) || !isNumericOrBool(listElem(label)) {
			return wrongType(p.labelCol, "list of labels (bool, integer or float)")
		}
		if !floatList(pred) {
			return wrongType(p.predCols[0], "list of float32/float64")
		}
	case "regression":
		if !numeric(label) {
			return wrongType(p.labelCol, "integer or float label")
		}
		if !numeric(pred) {
			return wrongType(p.predCols[0], "integer or float prediction")
		}
	case "token":
		return p.checkToken(fi, f, types, wrongType)
	}
	return nil
}

// checkToken decides the token layout from the prediction's type: a
// scalar log-probability (long), a list of log-probabilities (list), or a
// list of logits with the target id in label (long, logits).
func (p *plan) checkToken(fi int, f *readers.File, types []arrow.DataType, wrongType func(int, string) error) error {
	pred := types[p.predCols[0]]
	var layout tokenLayout
	switch {
	case p.kind == metrics.Logprob && isFloat(pred):
		layout = tokenLong
	case p.kind == metrics.Logprob && isList(pred) && isFloat(listElem(pred)):
		layout = tokenList
	case p.kind == metrics.Logit && isList(pred) && isFloat(listElem(pred)):
		layout = tokenLogits
	case p.kind == metrics.Logit:
		return wrongType(p.predCols[0], "list of float32/float64 logits (one row per token)")
	default:
		return wrongType(p.predCols[0], "float32/float64 log-probability (one row per token) or a list of them (one row per sequence)")
	}
	if fi > 0 && layout != p.layout {
		return &evalerr.InputError{Path: f.Path(), RowGroup: -1, Row: -1, Column: p.columns[p.predCols[0]],
			Err: fmt.Errorf("type %s gives another token layout than in %s", pred, p.files.path(0))}
	}
	p.layout = layout
	if layout == tokenLogits && (p.labelCol < 0 || !isInteger(types[p.labelCol])) {
		if p.labelCol < 0 {
			return evalerr.Configf("config key columns.label: the token task with logits needs the target token id column")
		}
		return wrongType(p.labelCol, "integer target token id")
	}
	if layout != tokenList && p.seqCol < 0 {
		return evalerr.Configf("config key columns.sequence: the token task with one row per token needs the sequence column")
	}
	if layout != tokenList && p.cfg.Output.PerRow && len(p.cfg.Columns.Keep) > 0 {
		return evalerr.Configf("config key columns.keep: with one row per token, rows.parquet has a row per sequence (its keys, %s, tokens, cross_entropy, perplexity), with no place for kept columns",
			p.cfg.Columns.Sequence)
	}
	if p.maskCol >= 0 {
		if layout != tokenList {
			return evalerr.Configf("config key columns.mask: only used with a list of log-probabilities per row")
		}
		if t := types[p.maskCol]; !isList(t) || !isNumericOrBool(listElem(t)) {
			return wrongType(p.maskCol, "list of bool or numbers (true/1 = scored)")
		}
	}
	for _, c := range []int{p.bytesCol, p.wordsCol} {
		if c >= 0 && !isInteger(types[c]) && !isFloat(types[c]) {
			return wrongType(c, "integer or float count")
		}
	}
	if p.seqCol >= 0 {
		t := types[p.seqCol]
		if !isKeyType(t) {
			return wrongType(p.seqCol, "scalar sequence id (integer, string, ...)")
		}
		if fi == 0 {
			p.seqType = []arrow.DataType{t}
			p.seqInts = intKeyed(t)
		} else if !sameType(p.seqType[0], t) {
			return &evalerr.InputError{Path: f.Path(), RowGroup: -1, Row: -1, Column: p.columns[p.seqCol],
				Err: fmt.Errorf("type %s differs from %s in %s", t, p.seqType[0], p.files.path(0))}
		}
	}
	return nil
}

// classHeadRows is how many rows of a unit firstRowClasses reads before
// reading the whole unit.
const classHeadRows = 1024

// errFound stops the class-count scan early.
var errFound = errors.New("found")

// resolveClasses fixes C: num_classes, the number of prediction columns, a
// fixed list size, or the length of the first scored row in input order.
func (p *plan) resolveClasses(ctx context.Context) error {
	o := p.cfg.Options
	p.numClasses = o.NumClasses
	if len(p.predCols) > 1 {
		if o.NumClasses != 0 && o.NumClasses != len(p.predCols) {
			return evalerr.Configf("config key options.num_classes: %d, but columns.prediction names %d columns", o.NumClasses, len(p.predCols))
		}
		p.numClasses = len(p.predCols)
	}
	if p.numClasses == 0 {
		if err := p.firstRowClasses(ctx); err != nil {
			return err
		}
	}
	if len(p.classWeights) > 0 && len(p.classWeights) != p.numClasses {
		return evalerr.Configf("config key options.class_weights: %d weights, but the data has %d classes", len(p.classWeights), p.numClasses)
	}
	return nil
}

// firstRowClasses reads units in input order until the first row that is
// scored when C is the length of its own prediction list (not ignored, and
// valid in every other way), and takes that length.
func (p *plan) firstRowClasses(ctx context.Context) error {
	s := &scorer{p: p}
	var j joiner
	if p.labels != nil {
		if err := p.labels.load(ctx, p.workers()); err != nil {
			return err
		}
	}
	pred := p.predCols[0]
	fallback := 0 // the first prediction list's length, when no row can be scored
	for _, u := range p.units {
		eps := p.eps[u.file]
		scan := func(ch *readers.Chunk) error {
			if p.labels != nil {
				ch, s.labelRows = p.join(ch, &j, false)
			}
			s.grow(ch.Len)
			if p.weightCol >= 0 {
				toFloat64(ch.Columns[p.weightCol], s.weight)
			}
			list := ch.Columns[pred]
			for i := range ch.Len {
				if list.Null(i) || (s.labelRows != nil && s.labelRows[i] < 0) {
					continue
				}
				n := list.Offsets[i+1] - list.Offsets[i]
				if n == 0 {
					continue
				}
				if fallback == 0 {
					fallback = n
				}
				var v verdict
				if p.task == "multilabel" {
					_, _, _, v = s.multilabelRow(ch, i, n, eps)
				} else {
					_, _, v = s.multiclassRow(ch, i, n, eps)
				}
				if !v.ignored && v.why == "" {
					p.numClasses = n
					return errFound
				}
			}
			return nil
		}
		// The unit's head first: a row group is tens of MB to decode, and
		// its first row usually settles it. If not, the whole unit.
		err := p.files.with(u.file, func(f *readers.File) error {
			err := f.ReadHead(ctx, u.unit, p.columns[:p.readCols], classHeadRows, scan)
			if err == nil {
				err = f.ReadUnit(ctx, u.unit, p.columns[:p.readCols], 0, scan)
			}
			return err
		})
		if errors.Is(err, errFound) {
			return nil
		}
		if err != nil {
			return err
		}
	}
	// No row can be scored: every row is ignored or invalid. Take the first
	// list's length, so each row is reported for its own problem.
	p.numClasses = max(fallback, 1)
	return nil
}

func isBool(t arrow.DataType) bool { return t.ID() == arrow.BOOL }

func isInteger(t arrow.DataType) bool {
	switch t.ID() {
	case arrow.INT8, arrow.INT16, arrow.INT32, arrow.INT64, arrow.UINT8, arrow.UINT16, arrow.UINT32, arrow.UINT64:
		return true
	}
	return false
}

func isFloat(t arrow.DataType) bool { return t.ID() == arrow.FLOAT32 || t.ID() == arrow.FLOAT64 }

func isNumericOrBool(t arrow.DataType) bool { return isBool(t) || isInteger(t) || isFloat(t) }

func isList(t arrow.DataType) bool {
	switch t.ID() {
	case arrow.LIST, arrow.LARGE_LIST, arrow.FIXED_SIZE_LIST:
		return true
	}
	return false
}

func listElem(t arrow.DataType) arrow.DataType {
	return t.(arrow.ListLikeType).Elem()
}

func isKeyType(t arrow.DataType) bool {
	if isNumericOrBool(t) {
		return true
	}
	switch t.ID() {
	case arrow.STRING, arrow.LARGE_STRING, arrow.BINARY, arrow.DATE32, arrow.TIMESTAMP:
		return true
	}
	return false
}
