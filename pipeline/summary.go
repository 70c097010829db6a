package pipeline

import (
	"slices"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/memory"

	"github.com/evaljob/evaljob/pipeline/metrics"
)

// groupSummary holds a group's finished metrics; the field of its task is
// set.
type groupSummary struct {
	class metrics.ClassSummary
	reg   metrics.RegSummary
	tok   metrics.TokenSummary
}

func summarize(st *stats) groupSummary {
	switch {
	case st.class != nil:
		return groupSummary{class: st.class.Summary()}
	case st.reg != nil:
		return groupSummary{reg: st.reg.Summary()}
	}
	return groupSummary{tok: st.tok.Summary()}
}

// summaryMetric is one float64 column of the summary. Metrics take an Opt
// (null when undefined); sums are never null.
type summaryMetric struct {
	name string
	opt  func(*groupSummary) metrics.Opt
	sum  func(*groupSummary) float64
}

func opt(name string, f func(*groupSummary) metrics.Opt) summaryMetric {
	return summaryMetric{name: name, opt: f}
}

func sum(name string, f func(*groupSummary) float64) summaryMetric {
	return summaryMetric{name: name, sum: f}
}

// metricColumns lists the float64 columns of SPEC §4 (3 and 4) for a task,
// in order.
func metricColumns(task string) []summaryMetric {
	switch task {
	case "regression":
		return []summaryMetric{
			sum("weight_sum", func(g *groupSummary) float64 { return g.reg.WeightSum }),
			opt("mse", func(g *groupSummary) metrics.Opt { return g.reg.MSE }),
			opt("mae", func(g *groupSummary) metrics.Opt { return g.reg.MAE }),
			opt("rmse", func(g *groupSummary) metrics.Opt { return g.reg.RMSE }),
			sum("loss_sum", func(g *groupSummary) float64 { return g.reg.LossSum }),
			sum("loss_sq_sum", func(g *groupSummary) float64 { return g.reg.LossSqSum }),
			sum("weight_sq_sum", func(g *groupSummary) float64 { return g.reg.WeightSqSum }),
			sum("abs_error_sum", func(g *groupSummary) float64 { return g.reg.AbsErrorSum }),
		}
	case "token":
		return []summaryMetric{
			sum("weight_sum", func(g *groupSummary) float64 { return g.tok.WeightSum }),
			opt("cross_entropy", func(g *groupSummary) metrics.Opt { return g.tok.CrossEntropy }),
			opt("perplexity", func(g *groupSummary) metrics.Opt { return g.tok.Perplexity }),
			opt("bits_per_token", func(g *groupSummary) metrics.Opt { return g.tok.BitsPerToken }),
			opt("seq_perplexity_mean", func(g *groupSummary) metrics.Opt { return g.tok.SeqPerplexityMean }),
			opt("bits_per_byte", func(g *groupSummary) metrics.Opt { return g.tok.BitsPerByte }),
			opt("word_perplexity", func(g *groupSummary) metrics.Opt { return g.tok.WordPerplexity }),
			opt("cross_entropy_stderr", func(g *groupSummary) metrics.Opt { return g.tok.Stderr }),
			sum("loss_sum", func(g *groupSummary) float64 { return g.tok.LossSum }),
			sum("loss_sq_sum", func(g *groupSummary) float64 { return g.tok.LossSqSum }),
			sum("weight_sq_sum", func(g *groupSummary) float64 { return g.tok.WeightSqSum }),
			sum("nll_sum", func(g *groupSummary) float64 { return g.tok.NLLSum }),
			sum("bytes_sum", func(g *groupSummary) float64 { return g.tok.BytesSum }),
			sum("words_sum", func(g *groupSummary) float64 { return g.tok.WordsSum }),
			sum("seq_perplexity_sum", func(g *groupSummary) float64 { return g.tok.SeqPerplexitySum }),
		}
	}
	// binary, multiclass, multilabel; label_rate and label_sum are not
	// defined for multiclass.
	hasLabelRate := task != "multiclass"
	cols := []summaryMetric{
		sum("weight_sum", func(g *groupSummary) float64 { return g.class.WeightSum }),
		opt("cross_entropy", func(g *groupSummary) metrics.Opt { return g.class.CrossEntropy }),
		opt("log_loss", func(g *groupSummary) metrics.Opt { return g.class.CrossEntropy }),
		opt("perplexity", func(g *groupSummary) metrics.Opt { return g.class.Perplexity }),
		opt("cross_entropy_stderr", func(g *groupSummary) metrics.Opt { return g.class.Stderr }),
		opt("accuracy", func(g *groupSummary) metrics.Opt { return g.class.Accuracy }),
		opt("brier", func(g *groupSummary) metrics.Opt { return g.class.Brier }),
		opt("ece", func(g *groupSummary) metrics.Opt { return g.class.ECE }),
		opt("mean_prediction", func(g *groupSummary) metrics.Opt { return g.class.MeanPrediction }),
	}
	if hasLabelRate {
		cols = append(cols, opt("label_rate", func(g *groupSummary) metrics.Opt { return g.class.LabelRate }))
	}
	cols = append(cols,
		sum("loss_sum", func(g *groupSummary) float64 { return g.class.LossSum }),
		sum("loss_sq_sum", func(g *groupSummary) float64 { return g.class.LossSqSum }),
		sum("weight_sq_sum", func(g *groupSummary) float64 { return g.class.WeightSqSum }),
		sum("correct_sum", func(g *groupSummary) float64 { return g.class.CorrectSum }),
		sum("brier_sum", func(g *groupSummary) float64 { return g.class.BrierSum }),
		sum("prediction_sum", func(g *groupSummary) float64 { return g.class.PredictionSum }),
	)
	if hasLabelRate {
		cols = append(cols, sum("label_sum", func(g *groupSummary) float64 { return g.class.LabelSum }))
	}
	return cols
}

// countColumns are the int64 counts of SPEC §4 (2).
// With labels in their own files, unlabeled_rows follows ignored_rows.
func countColumns(task string, labels bool) []string {
	cols := []string{"rows", "invalid_rows", "ignored_rows", "clipped_rows"}
	if labels {
		cols = slices.Insert(cols, 3, "unlabeled_rows")
	}
	if task == "token" {
		cols = append(cols, "sequences", "tokens")
	}
	return cols
}

func counts(st *stats, labels bool) []int64 {
	rows, invalid, ignored, clipped := st.counts()
	out := []int64{rows, invalid, ignored, clipped}
	if labels {
		out = slices.Insert(out, 3, st.unlabeled)
	}
	if st.tok != nil {
		out = append(out, st.tok.Sequences, st.tok.Tokens)
	}
	return out
}

// calibrationColumns are the classification tasks' list columns.
var calibrationColumns = []string{"calibration_weight", "calibration_confidence_sum", "calibration_outcome_sum"}

func hasCalibration(task string) bool {
	return task == "binary" || task == "multiclass" || task == "multilabel"
}

// summarySchema is the schema of summary.parquet.
func summarySchema(p *plan) *arrow.Schema {
	var fields []arrow.Field
	for j, name := range p.groupNames {
		fields = append(fields, arrow.Field{Name: name, Type: p.groupTypes[j], Nullable: true})
	}
	fields = append(fields, arrow.Field{Name: "group_set", Type: arrow.BinaryTypes.String})
	for _, name := range countColumns(p.task, p.labels != nil) {
		fields = append(fields, arrow.Field{Name: name, Type: arrow.PrimitiveTypes.Int64})
	}
	for _, m := range metricColumns(p.task) {
		fields = append(fields, arrow.Field{Name: m.name, Type: arrow.PrimitiveTypes.Float64, Nullable: m.opt != nil})
	}
	if hasCalibration(p.task) {
		for _, name := range calibrationColumns {
			fields = append(fields, arrow.Field{Name: name, Type: arrow.ListOfNonNullable(arrow.PrimitiveTypes.Float64)})
		}
	}
	return arrow.NewSchema(fields, nil)
}

// summaries finishes every group's metrics once.
func summaries(groups []*group) []groupSummary {
	out := make([]groupSummary, len(groups))
	for i, g := range groups {
		out[i] = summarize(g.stats)
	}
	return out
}

// summaryRecord builds the summary table from the rolled-up groups and
// their summaries (nil: each group's is made when its row is written).
func summaryRecord(mem memory.Allocator, p *plan, groups []*group, sums []groupSummary) arrow.Record {
	schema := summarySchema(p)
	b := array.NewRecordBuilder(mem, schema)
	defer b.Release()
	metricCols := metricColumns(p.task)
	for gi, g := range groups {
		col := 0
		for j := range p.groupNames {
			appendKey(b.Field(col), g.key[j])
			col++
		}
		name := ""
		if g.set >= 0 {
			name = groupSetName(p.cfg.GroupBy[g.set])
		}
		b.Field(col).(*array.StringBuilder).Append(name)
		col++
		for _, n := range counts(g.stats, p.labels != nil) {
			b.Field(col).(*array.Int64Builder).Append(n)
			col++
		}
		var sum *groupSummary
		if sums != nil {
			sum = &sums[gi]
		} else {
			one := summarize(g.stats)
			sum = &one
		}
		for _, m := range metricCols {
			fb := b.Field(col).(*array.Float64Builder)
			if m.opt != nil {
				appendOpt(fb, m.opt(sum))
			} else {
				fb.Append(m.sum(sum))
			}
			col++
		}
		if hasCalibration(p.task) {
			for _, vals := range [][]float64{sum.class.CalWeight, sum.class.CalConfidence, sum.class.CalOutcome} {
				lb := b.Field(col).(*array.ListBuilder)
				lb.Append(true)
				lb.ValueBuilder().(*array.Float64Builder).AppendValues(vals, nil)
				col++
			}
		}
	}
	return b.NewRecord()
}
