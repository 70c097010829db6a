package main

import (
	"math"
	"math/rand/v2"
)

// fixtures lists every generated file, in README order.
func fixtures() []fixture {
	fs := []fixture{
		{path: "example/part-0.parquet", build: example(0), covers: "Main example (`make run`), first half: binary task, `prob` kind, int64 0/1 labels, sample weights, string group keys `model` and `slice`, `request_id` for `keep`."},
		{path: "example/part-1.parquet", build: example(1), covers: "Main example, second half; model b is noisier than model a. Row 0 has prob 0 with label 1 (clipped: loss -ln(2^-52)), rows 1 and 2 have prob 0 / 1 with the matching label."},

		{path: "binary/labels_types.parquet", build: binaryTypes, covers: "Binary (SPEC 3): every accepted label type for the same outcomes (bool; int8, int64, uint8, float32, float64 as 0/1; int32 and float64 as -1/+1 with -1 negative; `label_soft`: soft targets in (0,1)) and every prediction kind in float32 and float64 (`prob_*`, `logit_*`, `logprob_*`, all the same prediction). Group keys `model`, `slice` (string) and `key_int` (int32)."},
		{path: "binary/edges.parquet", build: binaryEdges, covers: "Binary edge values, one per row, described in `note`: probabilities 0 and 1 (clipping by eps = 2^-52), logits of +-800 (stable softplus), logprob -inf with y = 0 (valid, loss 0) and with y = 1 (valid, infinite loss), a zero weight. All rows are valid; with `logprob` the mean is +inf."},
		{path: "binary/nullable.parquet", build: binaryNullable, covers: "Nullable columns: null group keys `model` (string) and `key_int` (int32) form their own group, sorted last; a null `label`, `prob` or `weight` makes the row invalid (rows 13*k, 17*k, 19*k; see `expect`)."},
		{path: "binary/invalid.parquet", build: binaryInvalid, covers: "on_invalid and ignore_index: the first invalid row is row 3 (prob 1.5); labels -100 are ignored even with a NaN or out-of-range prob; invalid labels (2, -2), probs (-0.1, NaN) and weights (-1, NaN, +inf); a zero weight is valid. `expect` says which is which."},
		{path: "binary/rowgroups.parquet", rowGroupRows: 50, build: binaryRowGroups, covers: "Several row groups (8 of 50 rows) and a dictionary-encoded string key: `model` is an Arrow dictionary<int32, utf8> column, Parquet dictionary pages."},

		{path: "hive/model=a/date=2026-11-20/part-0.parquet", build: hive(0), covers: "Hive partitions (SPEC 2): `model` and `date` come from the folder names as strings; the files hold only label, prob, weight."},
		{path: "hive/model=a/date=2026-11-21/part-0.parquet", build: hive(1), covers: "Hive partition model=a, second date."},
		{path: "hive/model=b/date=2026-11-20/part-0.parquet", build: hive(2), covers: "Hive partition model=b."},

		{path: "join/predictions.parquet", build: joinPredictions, covers: "Labels in their own files (SPEC 2), prediction side: 150 rows, `request_id` 1..150 with ids 50, 100, 150 null. Joined with `join/labels.parquet` on request_id, 15 prediction rows have no label (3 null keys + ids 10, 20, 30, 40, 60, 70, 80, 90, 110, 120, 130, 140): `unmatched: skip` gives unlabeled_rows = 15, 135 scored rows."},
		{path: "join/labels.parquet", build: joinLabels(false), covers: "Label side: ids 1..150 except multiples of 10, in shuffled order, plus ids 1001..1005 that match no prediction (labels_unmatched = 5); columns label and weight."},
		{path: "join/labels_dup.parquet", build: joinLabels(true), covers: "Label side with errors: the labels of `join/labels.parquet` plus a second row for request_id 7 (row 140) and a row with a null request_id (row 141): an input error naming the key."},

		{path: "multiclass/list_f64.parquet", build: multiclass(list, false), covers: "Multiclass (SPEC 3), C = 3: int64 class index label; predictions as List<float64> in three kinds (`probs`, `logits`, `logprobs`)."},
		{path: "multiclass/list_f64.arrow", seed: "multiclass/list_f64.parquet", batches: 3, build: multiclass(list, false), covers: "The same rows as `multiclass/list_f64.parquet` as an Arrow IPC file."},
		{path: "multiclass/list_f64.arrows", seed: "multiclass/list_f64.parquet", batches: 3, build: multiclass(list, false), covers: "The same rows as `multiclass/list_f64.parquet` as an Arrow IPC stream."},
		{path: "multiclass/largelist_f32.arrow", seed: "multiclass/f32", batches: 2, build: multiclass(largeList, true), covers: "Multiclass with an int32 label and LargeList<float32> predictions (prob, logit, logprob) as an Arrow IPC file: epsilon auto = 2^-23. (Arrow Go v17 cannot write LargeList to Parquet, and Parquet has no large list: `multiclass/list_f32.parquet` holds the same rows as List<float32>.)"},
		{path: "multiclass/largelist_f32.arrows", seed: "multiclass/f32", batches: 2, build: multiclass(largeList, true), covers: "The same rows as `multiclass/largelist_f32.arrow` as an Arrow IPC stream."},
		{path: "multiclass/list_f32.parquet", seed: "multiclass/f32", build: multiclass(list, true), covers: "The same rows as `multiclass/largelist_f32.arrow` with List<float32> predictions, in Parquet."},
		{path: "multiclass/fixed_f64.parquet", build: multiclass(fixedList, false), covers: "Multiclass with FixedSizeList<float64>[3] predictions (prob, logit, logprob)."},
		{path: "multiclass/fixed_f64.arrow", seed: "multiclass/fixed_f64.parquet", batches: 3, build: multiclass(fixedList, false), covers: "The same rows as `multiclass/fixed_f64.parquet` as an Arrow IPC file."},
		{path: "multiclass/fixed_f64.arrows", seed: "multiclass/fixed_f64.parquet", batches: 3, build: multiclass(fixedList, false), covers: "The same rows as `multiclass/fixed_f64.parquet` as an Arrow IPC stream."},
		{path: "multiclass/columns.parquet", build: multiclassColumns, covers: "Multiclass with one scalar column per class (`columns.prediction: [p0, p1, p2]`): float64 probabilities p0..p2, float32 logits z0..z2, float64 logprobs lp0..lp2; int8 label."},
		{path: "multiclass/soft_labels.parquet", build: multiclassSoft, covers: "Multiclass list labels: `label_onehot` (List<float64>, one-hot, same classes as `label`), `label_soft` (List<float64>, distributions with every entry > 0), `label_soft_f32` (FixedSizeList<float32>[3], distributions with a zero entry)."},
		{path: "multiclass/invalid.parquet", build: multiclassInvalid, covers: "Multiclass invalid and ignored rows (see `expect`, `note`): null label, label 3 with C = 3, label -100 with a null list (ignored), null list, null element, length 2, sum 0.9, a negative and a NaN probability; row 11 sums to 1 + 5e-4 (valid, within 1e-3)."},
	}
	return append(fs, taskFixtures()...)
}

// ---- binary ----

func example(part int) func(r *rand.Rand) *table {
	return func(r *rand.Rand) *table {
		const n = 250
		y, s := binaryRows(r, n)
		model := pick(r, n, "a", "b")
		slice := pick(r, n, "head", "tail")
		prob := make([]float64, n)
		for i := range prob {
			if model[i] == "b" {
				s[i] += r.NormFloat64() * 0.8
			}
			prob[i] = sigmoid(s[i])
		}
		if part == 1 {
			y[0], prob[0] = 1, 0
			y[1], prob[1] = 0, 0
			y[2], prob[2] = 1, 1
		}
		ids := make([]int64, n)
		for i := range ids {
			ids[i] = int64(100000 + part*n + i)
		}
		t := &table{}
		t.add("model", false, strs(model, nil))
		t.add("slice", false, strs(slice, nil))
		t.add("label", false, i64s(y, nil))
		t.add("prob", false, f64s(prob, nil))
		t.add("weight", false, f64s(weights(r, n), nil))
		t.add("request_id", false, i64s(ids, nil))
		return t
	}
}

func binaryTypes(r *rand.Rand) *table {
	const n = 200
	y, s := binaryRows(r, n)
	pm1 := mapf(y, func(v int64) int64 { return 2*v - 1 })
	soft := mapf(s, func(v float64) float64 { return sigmoid(v + r.NormFloat64()) })
	t := &table{}
	t.add("model", false, strs(pick(r, n, "a", "b", "c"), nil))
	t.add("slice", false, strs(pick(r, n, "head", "tail"), nil))
	t.add("key_int", false, i32s(mapf(make([]int64, n), func(int64) int64 { return int64(r.IntN(4)) }), nil))
	t.add("request_id", false, i64s(mapf(make([]int64, n), func(int64) int64 { return r.Int64N(1 << 40) }), nil))
	t.add("weight", false, f64s(weights(r, n), nil))
	t.add("label_bool", false, bools(y, nil))
	t.add("label_int8", false, i8s(y, nil))
	t.add("label_int32_pm1", false, i32s(pm1, nil))
	t.add("label_int64", false, i64s(y, nil))
	t.add("label_uint8", false, u8s(y, nil))
	t.add("label_float32", false, f32s(mapf(y, func(v int64) float64 { return float64(v) }), nil))
	t.add("label_float64", false, f64s(mapf(y, func(v int64) float64 { return float64(v) }), nil))
	t.add("label_float64_pm1", false, f64s(mapf(pm1, func(v int64) float64 { return float64(v) }), nil))
	t.add("label_soft", false, f64s(soft, nil))
	prob := mapf(s, sigmoid)
	logprob := mapf(s, logSigmoid)
	t.add("prob_f64", false, f64s(prob, nil))
	t.add("prob_f32", false, f32s(prob, nil))
	t.add("logit_f64", false, f64s(s, nil))
	t.add("logit_f32", false, f32s(s, nil))
	t.add("logprob_f64", false, f64s(logprob, nil))
	t.add("logprob_f32", false, f32s(logprob, nil))
	return t
}

func binaryEdges(*rand.Rand) *table {
	eps := math.Ldexp(1, -52)
	inf := math.Inf(1)
	type row struct {
		y                    int64
		p, logit, logprob, w float64
		note                 string
	}
	rows := []row{
		{0, 0, -800, -inf, 1, "p=0, y=0: prob loss -ln(1-eps), clipped; logprob -inf with y=0 is valid, loss 0"},
		{1, 1, 800, 0, 1, "p=1, y=1: prob loss -ln(1-eps), clipped; logit +800 loss ~0 (no overflow)"},
		{1, 0, -800, -inf, 1, "p=0, y=1: prob loss -ln(eps) = 36.04 (clipped); logit loss 800; logprob loss +inf"},
		{0, 1, 800, 0, 1, "p=1, y=0: prob loss -ln(eps) (clipped); logit loss 800; logprob loss +inf"},
		{1, eps, math.Log(eps / (1 - eps)), math.Log(eps), 1, "p = eps exactly: not moved by clipping"},
		{0, 0.5, 0, math.Log(0.5), 1, "p=0.5: loss ln 2 in every kind; accuracy counts it as positive (p >= 0.5)"},
		{1, 1e-300, math.Log(1e-300), math.Log(1e-300), 1, "p=1e-300, y=1: prob clipped to eps; logit and logprob give 690.8"},
		{0, 0.25, math.Log(1.0 / 3), math.Log(0.25), 0, "weight 0: counts in rows, adds nothing to the sums"},
		{1, 0.999999, math.Log(0.999999 / 0.000001), math.Log(0.999999), 1, "p close to 1"},
		{0, 1e-12, math.Log(1e-12 / (1 - 1e-12)), math.Log(1e-12), 1, "p=1e-12, y=0: ln(1-p) must use log1p"},
	}
	t := &table{}
	t.add("label", false, i64s(mapf(rows, func(r row) int64 { return r.y }), nil))
	t.add("prob", false, f64s(mapf(rows, func(r row) float64 { return r.p }), nil))
	t.add("logit", false, f64s(mapf(rows, func(r row) float64 { return r.logit }), nil))
	t.add("logprob", false, f64s(mapf(rows, func(r row) float64 { return r.logprob }), nil))
	t.add("weight", false, f64s(mapf(rows, func(r row) float64 { return r.w }), nil))
	t.add("note", false, strs(mapf(rows, func(r row) string { return r.note }), nil))
	return t
}

func binaryNullable(r *rand.Rand) *table {
	const n = 120
	y, s := binaryRows(r, n)
	labelOK, probOK, weightOK := nullEvery(n, 13, 13), nullEvery(n, 17, 17), nullEvery(n, 19, 19)
	expect := make([]string, n)
	for i := range expect {
		expect[i] = "valid"
		if !labelOK[i] || !probOK[i] || !weightOK[i] {
			expect[i] = "invalid"
		}
	}
	t := &table{}
	t.add("model", true, strs(pick(r, n, "a", "b"), nullEvery(n, 9, 4)))
	t.add("key_int", true, i32s(mapf(make([]int64, n), func(int64) int64 { return int64(r.IntN(3)) }), nullEvery(n, 11, 5)))
	t.add("label", true, i64s(y, labelOK))
	t.add("prob", true, f64s(mapf(s, sigmoid), probOK))
	t.add("weight", true, f64s(weights(r, n), weightOK))
	t.add("expect", false, strs(expect, nil))
	return t
}

func binaryInvalid(r *rand.Rand) *table {
	nan, inf := math.NaN(), math.Inf(1)
	type row struct {
		y      int64
		p, w   float64
		expect string
		note   string
	}
	rows := []row{
		{1, 0.9, 1, "valid", ""},
		{0, 0.2, 1, "valid", ""},
		{1, 0.6, 1, "valid", ""},
		{1, 1.5, 1, "invalid", "prob 1.5 > 1 (first invalid row: row 3)"},
		{0, -0.1, 1, "invalid", "prob -0.1 < 0"},
		{1, nan, 1, "invalid", "prob NaN"},
		{-100, 7, 1, "ignored", "label -100 = ignore_index; its prob is not checked"},
		{2, 0.5, 1, "invalid", "label 2"},
		{-2, 0.5, 1, "invalid", "label -2"},
		{1, 0.7, -1, "invalid", "weight -1"},
		{0, 0.3, nan, "invalid", "weight NaN"},
		{1, 0.8, inf, "invalid", "weight +inf"},
		{0, 0.1, 0, "valid", "weight 0 is valid"},
		{-100, nan, 1, "ignored", "label -100 with a NaN prob"},
	}
	for len(rows) < 30 {
		z := r.NormFloat64() * 1.6
		var y int64
		if r.Float64() < sigmoid(z) {
			y = 1
		}
		rows = append(rows, row{y, sigmoid(z + r.NormFloat64()*0.5), 0.5 + 2*r.Float64(), "valid", ""})
	}
	t := &table{}
	t.add("label", false, i64s(mapf(rows, func(r row) int64 { return r.y }), nil))
	t.add("prob", false, f64s(mapf(rows, func(r row) float64 { return r.p }), nil))
	t.add("weight", false, f64s(mapf(rows, func(r row) float64 { return r.w }), nil))
	t.add("expect", false, strs(mapf(rows, func(r row) string { return r.expect }), nil))
	t.add("note", false, strs(mapf(rows, func(r row) string { return r.note }), nil))
	return t
}

func binaryRowGroups(r *rand.Rand) *table {
	const n = 400
	y, s := binaryRows(r, n)
	t := &table{}
	t.add("model", false, dictStrs(pick(r, n, "a", "b", "c")))
	t.add("label", false, i64s(y, nil))
	t.add("prob", false, f64s(mapf(s, sigmoid), nil))
	t.add("weight", false, f64s(weights(r, n), nil))
	t.add("request_id", false, i64s(mapf(make([]int64, n), func(int64) int64 { return r.Int64N(1 << 40) }), nil))
	return t
}

func hive(part int) func(r *rand.Rand) *table {
	return func(r *rand.Rand) *table {
		n := 60 + 10*part
		y, s := binaryRows(r, n)
		t := &table{}
		t.add("label", false, i64s(y, nil))
		t.add("prob", false, f64s(mapf(s, sigmoid), nil))
		t.add("weight", false, f64s(weights(r, n), nil))
		return t
	}
}

func joinPredictions(r *rand.Rand) *table {
	const n = 150
	_, s := binaryRows(r, n)
	ids := make([]int64, n)
	valid := make([]bool, n)
	for i := range ids {
		ids[i] = int64(i + 1)
		valid[i] = (i+1)%50 != 0
	}
	t := &table{}
	t.add("request_id", true, i64s(ids, valid))
	t.add("model", false, strs(pick(r, n, "a", "b"), nil))
	t.add("prob", false, f64s(mapf(s, sigmoid), nil))
	return t
}

func joinLabels(dup bool) func(r *rand.Rand) *table {
	return func(*rand.Rand) *table {
		// The same labels in both files: seeded by the plain labels file.
		r := rand.New(rand.NewPCG(20261120, seedOf("join/labels.parquet")))
		var ids []int64
		for id := int64(1); id <= 150; id++ {
			if id%10 != 0 {
				ids = append(ids, id)
			}
		}
		for id := int64(1001); id <= 1005; id++ {
			ids = append(ids, id)
		}
		r.Shuffle(len(ids), func(i, j int) { ids[i], ids[j] = ids[j], ids[i] })
		y, _ := binaryRows(r, len(ids))
		w := weights(r, len(ids))
		valid := make([]bool, len(ids))
		for i := range valid {
			valid[i] = true
		}
		if dup {
			ids = append(ids, 7, 0)
			y = append(y, 1, 0)
			w = append(w, 1, 1)
			valid = append(valid, true, false)
		}
		t := &table{}
		t.add("request_id", dup, i64s(ids, valid))
		t.add("label", false, i64s(y, nil))
		t.add("weight", false, f64s(w, nil))
		return t
	}
}

// ---- multiclass ----

const numClasses = 3

func multiclass(kind listKind, f32 bool) func(r *rand.Rand) *table {
	return func(r *rand.Rand) *table {
		const n = 120
		y, z := multiclassRows(r, n, numClasses)
		t := &table{}
		t.add("model", false, strs(pick(r, n, "a", "b"), nil))
		t.add("slice", false, strs(pick(r, n, "head", "tail"), nil))
		t.add("weight", false, f64s(weights(r, n), nil))
		if f32 {
			t.add("label", false, i32s(y, nil))
		} else {
			t.add("label", false, i64s(y, nil))
		}
		t.add("probs", false, lists(kind, f32, mapf(z, softmax), nil, numClasses))
		t.add("logits", false, lists(kind, f32, z, nil, numClasses))
		t.add("logprobs", false, lists(kind, f32, mapf(z, logSoftmax), nil, numClasses))
		return t
	}
}

func multiclassColumns(r *rand.Rand) *table {
	const n = 120
	y, z := multiclassRows(r, n, numClasses)
	p := mapf(z, softmax)
	lp := mapf(z, logSoftmax)
	t := &table{}
	t.add("model", false, strs(pick(r, n, "a", "b"), nil))
	t.add("weight", false, f64s(weights(r, n), nil))
	t.add("label", false, i8s(y, nil))
	for k, name := range []string{"p0", "p1", "p2"} {
		t.add(name, false, f64s(column(p, k), nil))
	}
	for k, name := range []string{"z0", "z1", "z2"} {
		t.add(name, false, f32s(column(z, k), nil))
	}
	for k, name := range []string{"lp0", "lp1", "lp2"} {
		t.add(name, false, f64s(column(lp, k), nil))
	}
	return t
}

func multiclassSoft(r *rand.Rand) *table {
	const n = 120
	y, z := multiclassRows(r, n, numClasses)
	soft := make([][]float64, n)
	sparse := make([][]float64, n)
	for i := range soft {
		noise := softmax([]float64{r.NormFloat64(), r.NormFloat64(), r.NormFloat64()})
		soft[i] = make([]float64, numClasses)
		for k := range soft[i] {
			soft[i][k] = 0.3 * noise[k]
		}
		soft[i][y[i]] += 0.7
		// A distribution over two classes (the third is 0), exact in float32.
		sparse[i] = make([]float64, numClasses)
		sparse[i][y[i]] = 0.75
		sparse[i][(y[i]+1)%numClasses] = 0.25
	}
	t := &table{}
	t.add("weight", false, f64s(weights(r, n), nil))
	t.add("label", false, i64s(y, nil))
	t.add("label_onehot", false, lists(list, false, oneHot(y, numClasses), nil, numClasses))
	t.add("label_soft", false, lists(list, false, soft, nil, numClasses))
	t.add("label_soft_f32", false, lists(fixedList, true, sparse, nil, numClasses))
	t.add("probs", false, lists(list, false, mapf(z, softmax), nil, numClasses))
	t.add("logits", false, lists(list, false, z, nil, numClasses))
	return t
}

func multiclassInvalid(r *rand.Rand) *table {
	nan := math.NaN()
	type row struct {
		y      int64
		yValid bool
		p      []float64 // nil: null list
		expect string
		note   string
	}
	rows := []row{
		{0, true, []float64{0.7, 0.2, 0.1}, "valid", ""},
		{2, true, []float64{0.1, 0.3, 0.6}, "valid", ""},
		{0, false, []float64{0.7, 0.2, 0.1}, "invalid", "null label"},
		{3, true, []float64{0.7, 0.2, 0.1}, "invalid", "label 3 with 3 classes"},
		{-100, true, nil, "ignored", "label -100 = ignore_index; its null prediction is not checked"},
		{1, true, nil, "invalid", "null prediction list"},
		{1, true, []float64{0.5, nullMark, 0.5}, "invalid", "null element"},
		{1, true, []float64{0.5, 0.5}, "invalid", "length 2, not 3"},
		{1, true, []float64{0.5, 0.2, 0.2}, "invalid", "sums to 0.9"},
		{1, true, []float64{-0.1, 0.6, 0.5}, "invalid", "negative probability"},
		{1, true, []float64{nan, 0.5, 0.5}, "invalid", "NaN probability"},
		{1, true, []float64{0.2, 0.5005, 0.3}, "valid", "sums to 1.0005, within 1e-3"},
	}
	for len(rows) < 24 {
		y, z := multiclassRows(r, 1, numClasses)
		rows = append(rows, row{y[0], true, softmax(z[0]), "valid", ""})
	}
	n := len(rows)
	labels := make([]int64, n)
	labelOK := make([]bool, n)
	ps := make([][]float64, n)
	pOK := make([]bool, n)
	for i, rw := range rows {
		labels[i], labelOK[i] = rw.y, rw.yValid
		ps[i], pOK[i] = rw.p, rw.p != nil
	}
	t := &table{}
	t.add("label", true, i64s(labels, labelOK))
	t.add("probs", true, lists(list, false, ps, pOK, numClasses))
	t.add("expect", false, strs(mapf(rows, func(r row) string { return r.expect }), nil))
	t.add("note", false, strs(mapf(rows, func(r row) string { return r.note }), nil))
	return t
}
