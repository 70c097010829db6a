package gates_test

import (
	"fmt"

	"github.com/evaljob/evaljob/config"
	"github.com/evaljob/evaljob/gates"
)

// A gate on one model's rows, judged on every grouping set that has the
// model column.
func ExampleEvaluate() {
	maxLoss := 0.35
	gs := []config.Gate{{Metric: "log_loss", Where: map[string]string{"model": "candidate"}, Max: &maxLoss}}
	rows := []gates.Row{
		{GroupSet: "", Values: map[string]gates.Value{"log_loss": {V: 0.33}, "rows": {V: 900}}},
		{GroupSet: "model", Group: []gates.KV{{Column: "model", Text: "candidate", JSON: "candidate"}},
			Values: map[string]gates.Value{"log_loss": {V: 0.31}, "rows": {V: 450}}},
		{GroupSet: "model,lang", Group: []gates.KV{{Column: "model", Text: "candidate", JSON: "candidate"}, {Column: "lang", Text: "de", JSON: "de"}},
			Values: map[string]gates.Value{"log_loss": {V: 0.412}, "rows": {V: 120}}},
	}
	results := gates.Evaluate(gs, rows, nil)
	fmt.Println(gates.Describe(gs[0]))
	for _, r := range results {
		fmt.Printf("%s: %v: %s\n", r.GroupText(), r.Passed, r.Reason)
	}
	fmt.Println("failed:", gates.Failed(results))
	// Output:
	// log_loss <= 0.35 where model=candidate
	// model=candidate: true: passed: log_loss 0.31 <= max 0.35
	// model=candidate, lang=de: false: log_loss 0.412 > max 0.35
	// failed: 1
}
