package pipeline

import (
	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/memory"

	"github.com/evaljob/evaljob/pipeline/metrics"
)

// summaryMetric is one float64 column of the summary built from a group's
// ClassSummary. Null columns take an Opt; sums are never null.
type summaryMetric struct {
	name string
	opt  func(*metrics.ClassSummary) metrics.Opt
	sum  func(*metrics.ClassSummary) float64
}

// classificationColumns lists the float64 columns of SPEC §4 (3 and 4) for
// the classification tasks, in order. label_rate and label_sum are binary
// (and multilabel) only.
func classificationColumns(task string) []summaryMetric {
	hasLabelRate := task == "binary" || task == "multilabel"
	cols := []summaryMetric{
		{name: "weight_sum", sum: func(s *metrics.ClassSummary) float64 { return s.WeightSum }},
		{name: "cross_entropy", opt: func(s *metrics.ClassSummary) metrics.Opt { return s.CrossEntropy }},
		{name: "log_loss", opt: func(s *metrics.ClassSummary) metrics.Opt { return s.CrossEntropy }},
		{name: "perplexity", opt: func(s *metrics.ClassSummary) metrics.Opt { return s.Perplexity }},
		{name: "cross_entropy_stderr", opt: func(s *metrics.ClassSummary) metrics.Opt { return s.Stderr }},
		{name: "accuracy", opt: func(s *metrics.ClassSummary) metrics.Opt { return s.Accuracy }},
		{name: "brier", opt: func(s *metrics.ClassSummary) metrics.Opt { return s.Brier }},
		{name: "ece", opt: func(s *metrics.ClassSummary) metrics.Opt { return s.ECE }},
		{name: "mean_prediction", opt: func(s *metrics.ClassSummary) metrics.Opt { return s.MeanPrediction }},
	}
	if hasLabelRate {
		cols = append(cols, summaryMetric{name: "label_rate", opt: func(s *metrics.ClassSummary) metrics.Opt { return s.LabelRate }})
	}
	cols = append(cols,
		summaryMetric{name: "loss_sum", sum: func(s *metrics.ClassSummary) float64 { return s.LossSum }},
		summaryMetric{name: "loss_sq_sum", sum: func(s *metrics.ClassSummary) float64 { return s.LossSqSum }},
		summaryMetric{name: "weight_sq_sum", sum: func(s *metrics.ClassSummary) float64 { return s.WeightSqSum }},
		summaryMetric{name: "correct_sum", sum: func(s *metrics.ClassSummary) float64 { return s.CorrectSum }},
		summaryMetric{name: "brier_sum", sum: func(s *metrics.ClassSummary) float64 { return s.BrierSum }},
		summaryMetric{name: "prediction_sum", sum: func(s *metrics.ClassSummary) float64 { return s.PredictionSum }},
	)
	if hasLabelRate {
		cols = append(cols, summaryMetric{name: "label_sum", sum: func(s *metrics.ClassSummary) float64 { return s.LabelSum }})
	}
	return cols
}

var countColumns = []string{"rows", "invalid_rows", "ignored_rows", "clipped_rows"}

var calibrationColumns = []string{"calibration_weight", "calibration_confidence_sum", "calibration_outcome_sum"}

// summarySchema is the schema of summary.parquet.
func summarySchema(p *plan) *arrow.Schema {
	var fields []arrow.Field
	for j, name := range p.groupNames {
		fields = append(fields, arrow.Field{Name: name, Type: p.groupTypes[j], Nullable: true})
	}
	fields = append(fields, arrow.Field{Name: "group_set", Type: arrow.BinaryTypes.String})
	for _, name := range countColumns {
		fields = append(fields, arrow.Field{Name: name, Type: arrow.PrimitiveTypes.Int64})
	}
	for _, m := range classificationColumns(p.task) {
		fields = append(fields, arrow.Field{Name: m.name, Type: arrow.PrimitiveTypes.Float64, Nullable: m.opt != nil})
	}
	for _, name := range calibrationColumns {
		fields = append(fields, arrow.Field{Name: name, Type: arrow.ListOfNonNullable(arrow.PrimitiveTypes.Float64)})
	}
	return arrow.NewSchema(fields, nil)
}

// summaryRecord builds the summary table from the rolled-up groups.
func summaryRecord(mem memory.Allocator, p *plan, groups []*group) arrow.Record {
	schema := summarySchema(p)
	b := array.NewRecordBuilder(mem, schema)
	defer b.Release()
	metricCols := classificationColumns(p.task)
	for _, g := range groups {
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
		st := g.stats
		for _, n := range []int64{st.Rows, st.InvalidRows, st.IgnoredRows, st.ClippedRows} {
			b.Field(col).(*array.Int64Builder).Append(n)
			col++
		}
		sum := st.Summary()
		for _, m := range metricCols {
			fb := b.Field(col).(*array.Float64Builder)
			if m.opt != nil {
				if v := m.opt(&sum); v.OK {
					fb.Append(v.V)
				} else {
					fb.AppendNull()
				}
			} else {
				fb.Append(m.sum(&sum))
			}
			col++
		}
		for _, vals := range [][]float64{sum.CalWeight, sum.CalConfidence, sum.CalOutcome} {
			lb := b.Field(col).(*array.ListBuilder)
			lb.Append(true)
			lb.ValueBuilder().(*array.Float64Builder).AppendValues(vals, nil)
			col++
		}
	}
	return b.NewRecord()
}
