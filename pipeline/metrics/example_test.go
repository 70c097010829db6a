package metrics_test

import (
	"fmt"

	"github.com/evaljob/evaljob/pipeline/metrics"
)

func ExampleBinary() {
	row, inv := metrics.Binary(metrics.Prob, 0.9, 1, 0x1p-52, 0.5)
	fmt.Println(row.Loss, row.Correct, inv)
	_, inv = metrics.Binary(metrics.Prob, 1.5, 1, 0x1p-52, 0.5)
	fmt.Println(inv)
	// Output:
	// 0.10536051565782628 true valid
	// probability outside [0, 1]
}

func ExampleMulticlass() {
	scratch := make([]float64, 3)
	row, _ := metrics.Multiclass(metrics.Prob, []float64{0.1, 0.8, 0.1}, 1, nil, 0, 0x1p-52, scratch)
	fmt.Printf("%.4f %v %.2f\n", row.Loss, row.Correct, row.Confidence)
	row, _ = metrics.Multiclass(metrics.Logit, []float64{1000, 0, -1000}, 2, nil, 0, 0, scratch)
	fmt.Println(row.Loss)
	// Output:
	// 0.2231 true 0.80
	// 2000
}

func ExampleSum() {
	var s metrics.Sum
	for _, x := range []float64{1e100, 1, -1e100} {
		s.Add(x)
	}
	fmt.Println(s.Float64())
	// Output: 1
}

func ExampleClassStats_Summary() {
	s := metrics.NewClassStats(15)
	for _, p := range []float64{0.9, 0.8, 0.3} {
		row, _ := metrics.Binary(metrics.Prob, p, 1, 0x1p-52, 0.5)
		s.Add(1, row.Loss, row.Correct, metrics.BinaryBrier(row.P, 1), row.P, 1, 1, row.Clipped)
	}
	sum := s.Summary()
	fmt.Printf("cross_entropy %.4f accuracy %.4f stderr %.4f\n", sum.CrossEntropy.V, sum.Accuracy.V, sum.Stderr.V)
	empty := metrics.NewClassStats(15).Summary()
	fmt.Println(empty.CrossEntropy.OK, empty.WeightSum)
	// Output:
	// cross_entropy 0.5108 accuracy 0.6667 stderr 0.3482
	// false 0
}
