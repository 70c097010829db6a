package metrics

import (
	"math"
	"math/big"
	"math/rand/v2"
	"runtime"
	"testing"
	"unsafe"
)

// Memory footprint of the accumulators (SPEC §5: memory grows with the number
// of groups, so a group must be cheap).

// goSizeClasses are the Go allocator's small size classes up to 2 KB.
var goSizeClasses = []int{8, 16, 24, 32, 48, 64, 80, 96, 112, 128, 144, 160, 176, 192, 208, 224,
	240, 256, 288, 320, 352, 384, 416, 448, 480, 512, 576, 640, 704, 768, 896, 1024, 1152, 1280,
	1408, 1536, 1792, 2048}

// allocBytes is what an allocation of n bytes costs: n rounded up to its size class.
func allocBytes(n int) int {
	if n == 0 {
		return 0
	}
	for _, c := range goSizeClasses {
		if n <= c {
			return c
		}
	}
	return n
}

// footprintBytes is the heap a Sum's limbs take (its 32-byte header lives in
// its parent).
func (s *Sum) footprintBytes() int { return allocBytes(8 * cap(s.l)) }

// footprintBytes approximates the heap a ClassStats takes: the struct, the
// bin table, each allocated bin and every Sum's limbs, each rounded up to its
// size class.
func (s *ClassStats) footprintBytes() int {
	n := allocBytes(int(unsafe.Sizeof(*s))) + allocBytes(8*cap(s.cal))
	for _, sum := range []*Sum{&s.Weight, &s.WeightSq, &s.Loss, &s.LossSq, &s.Correct, &s.Brier, &s.Label} {
		n += sum.footprintBytes()
	}
	for _, c := range s.cal {
		if c != nil {
			n += allocBytes(int(unsafe.Sizeof(*c))) + c.weight.footprintBytes() + c.confidence.footprintBytes() + c.outcome.footprintBytes()
		}
	}
	return n
}

// typicalRow adds one binary row of typical values: a probability in [0, 1]
// (full float64 mantissa, or float32 precision), a 0/1 label, the loss and
// Brier score computed from them, and weight 1 or a random weight near 1.
func typicalRow(rng *rand.Rand, s *ClassStats, weighted bool) {
	p := rng.Float64()
	if rng.IntN(2) == 0 {
		p = float64(float32(p))
	}
	y := float64(rng.IntN(2))
	row, inv := Binary(Prob, p, y, eps64, 0.5)
	if inv != Valid {
		panic(inv)
	}
	w := 1.0
	if weighted {
		w = 0.5 + rng.Float64()
	}
	s.Add(w, row.Loss, row.Correct, BinaryBrier(row.P, y), row.P, y, y, row.Clipped)
}

// wideRow adds a row whose loss spans 1e-6 .. 1e3 (log-uniform).
func wideRow(rng *rand.Rand, s *ClassStats) {
	loss := math.Pow(10, -6+9*rng.Float64())
	p := rng.Float64()
	y := float64(rng.IntN(2))
	s.Add(0.5+rng.Float64(), loss, rng.IntN(2) == 0, (p-y)*(p-y), p, y, y, false)
}

// The budgets below are for Sum as a plain slice (a 32-byte header): a
// 16-byte pointer layout would save about 280 bytes per small group, but
// would take its limb accesses out of Go's bounds checks.
func TestClassStatsFootprint(t *testing.T) {
	if sz := unsafe.Sizeof(Sum{}); sz != 32 {
		t.Errorf("Sum header is %d bytes, want 32", sz)
	}
	empty := NewClassStats(15)
	if n := empty.footprintBytes(); n > 384 {
		t.Errorf("empty ClassStats(15): %d bytes, want <= 384", n)
	}
	tests := []struct {
		name     string
		rows     int
		weighted bool
		wide     bool
		limit    int
	}{
		{"3 unit rows", 3, false, false, 1280},
		{"3 weighted rows", 3, true, false, 1280},
		{"100k unit rows", 100_000, false, false, 4096},
		{"100k weighted rows", 100_000, true, false, 8192},
		{"100k weighted rows, losses 1e-6..1e3", 100_000, true, true, 8192},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(31, uint64(tc.rows)))
			s := NewClassStats(15)
			for i := 0; i < tc.rows; i++ {
				if tc.wide {
					wideRow(rng, s)
				} else {
					typicalRow(rng, s, tc.weighted)
				}
			}
			n := s.footprintBytes()
			t.Logf("%d bytes", n)
			if n >= tc.limit {
				t.Errorf("footprint %d bytes, want < %d", n, tc.limit)
			}
		})
	}
	// A merged (rolled-up) group is no bigger than the sum of its parts' windows.
	rng := rand.New(rand.NewPCG(33, 34))
	all := NewClassStats(15)
	for i := 0; i < 50; i++ {
		part := NewClassStats(15)
		for j := 0; j < 1000; j++ {
			typicalRow(rng, part, true)
		}
		all.Merge(part)
	}
	if n := all.footprintBytes(); n >= 8192 {
		t.Errorf("merged ClassStats: %d bytes, want < 8192", n)
	}
}

// TestClassStatsHeap checks footprintBytes against the heap really allocated.
func TestClassStatsHeap(t *testing.T) {
	const groups = 2000
	rng := rand.New(rand.NewPCG(35, 36))
	keep := make([]*ClassStats, groups)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for i := range keep {
		s := NewClassStats(15)
		for r := 0; r < 3; r++ {
			typicalRow(rng, s, i%2 == 0)
		}
		keep[i] = s
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	perGroup := float64(after.HeapAlloc-before.HeapAlloc) / groups
	total := 0
	for _, s := range keep {
		total += s.footprintBytes()
	}
	estimate := float64(total) / groups
	t.Logf("3 rows: %.0f bytes per group on the heap, footprintBytes %.0f", perGroup, estimate)
	if perGroup >= 1280 {
		t.Errorf("3 rows: %.0f bytes per group on the heap, want < 1280", perGroup)
	}
	if perGroup > 1.1*estimate+64 {
		t.Errorf("heap %.0f bytes per group, footprintBytes says %.0f", perGroup, estimate)
	}
	runtime.KeepAlive(keep)
}

// TestSumSteadyStateNoAllocs: once a Sum's window covers the values it sees,
// Add, AddProduct and Merge do not allocate, and the window stays small.
func TestSumSteadyStateNoAllocs(t *testing.T) {
	rng := rand.New(rand.NewPCG(37, 38))
	xs := make([]float64, 4096)
	for i := range xs {
		xs[i] = math.Pow(10, -6+9*rng.Float64()) // 1e-6 .. 1e3
		if i%3 == 0 {
			xs[i] = -xs[i]
		}
	}
	var s, part Sum
	for _, x := range xs {
		s.Add(x)
		s.AddProduct(x, 0.75+rng.Float64()/2)
		part.Add(x)
	}
	i := 0
	add := func() {
		s.Add(xs[i&4095])
		s.AddProduct(xs[i&4095], 1.25)
		i++
	}
	if n := testing.AllocsPerRun(10000, add); n != 0 {
		t.Errorf("Add in the steady state: %v allocations per call", n)
	}
	if n := testing.AllocsPerRun(100, func() { s.Merge(&part) }); n != 0 {
		t.Errorf("Merge in the steady state: %v allocations per call", n)
	}
	if len(s.l) > 9 {
		t.Errorf("window of %d limbs for values 1e-6..1e3 and their products", len(s.l))
	}
}

// TestSumWindow drives the window through growth in both directions, carries
// out of its top (positive and negative sums), normalisation at any point and
// merges of copies sharing limbs, against the exact value.
func TestSumWindow(t *testing.T) {
	rng := rand.New(rand.NewPCG(39, 40))
	for trial := 0; trial < 200; trial++ {
		var s Sum
		var xs []float64
		// Start in the middle, then wander up and down in exponent.
		e := rng.IntN(600) - 300
		for k := 0; k < 200; k++ {
			e += rng.IntN(41) - 20
			e = max(-1074, min(e, 1000))
			x := math.Ldexp(1+rng.Float64(), e)
			if rng.IntN(3) == 0 {
				x = -x
			}
			s.Add(x)
			xs = append(xs, x)
			if rng.IntN(20) == 0 {
				s.normalize()
			}
		}
		want := refSum(xs)
		if s.Big(0).Cmp(want) != 0 {
			t.Fatalf("trial %d: window sum differs from the exact sum", trial)
		}
		// Doubling by merging a copy that shares the limbs, with the carry
		// normalisation forced on the way, keeps the exact value.
		neg := rng.IntN(2) == 0
		if neg {
			s.Reset()
			for i := range xs {
				xs[i] = -xs[i]
				s.Add(xs[i])
			}
		}
		for d := 0; d < 70; d++ {
			c := s
			s.Merge(&c)
		}
		want = refSum(xs)
		want.SetMantExp(want, 70)
		if s.Big(0).Cmp(want) != 0 {
			t.Fatalf("trial %d (negative %v): doubled sum differs", trial, neg)
		}
		if f, w := s.Float64(), round64(want); math.Float64bits(f) != math.Float64bits(w) {
			t.Fatalf("trial %d: Float64 %v, want %v", trial, f, w)
		}
	}
	// A carry out of the top limb extends the window upward, for either sign.
	for _, sign := range []float64{1, -1} {
		var s Sum
		x := sign * math.Nextafter(1, 0) // 53 ones, the top 18 in the top limb of its window
		s.Add(x)
		n := len(s.l)
		for i := 0; i < 40; i++ {
			c := s
			s.Merge(&c)
		}
		s.normalize()
		if len(s.l) <= n {
			t.Errorf("sign %v: window did not grow upward (%d limbs)", sign, len(s.l))
		}
		want := new(big.Float).SetPrec(200).SetFloat64(x)
		want.SetMantExp(want, 40)
		if s.Big(0).Cmp(want) != 0 {
			t.Errorf("sign %v: %v, want %v", sign, s.Big(0), want)
		}
	}
}

// BenchmarkNewGroup is the cost of a new group that sees a few rows.
func BenchmarkNewGroup(b *testing.B) {
	rng := rand.New(rand.NewPCG(41, 42))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		s := NewClassStats(15)
		for r := 0; r < 3; r++ {
			typicalRow(rng, s, false)
		}
	}
}
