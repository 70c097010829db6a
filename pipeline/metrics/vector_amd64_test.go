//go:build amd64 && !purego

package metrics

// Differential tests of the AVX-512 kernels (vector_amd64.s) against the
// scalar functions, bit for bit, from the review of the round that added
// them: slices that end at an unreadable page (a read past the end faults),
// dense sweeps of the inputs, carries of the fixed-point sums, and that the
// kernels take all the work they are meant to take (the scalar fallback
// gives the same bits, so a kernel that declined work would pass the other
// tests).

import (
	"math"
	"math/big"
	"math/rand/v2"
	"reflect"
	"slices"
	"syscall"
	"testing"
	"unsafe"
)

// guarded returns a []float64 of n values ending exactly at a PROT_NONE page
// (reads past the end fault), and one starting right after a PROT_NONE page.
type gkey struct{ n, slot int }

var gcache = map[gkey][]byte{}
var gslot int

// guardedEnd returns nbytes ending exactly at a PROT_NONE page (cached by
// size and a rotating slot; the caller gets up to 8 distinct buffers of one size).
func guardedEnd(t testing.TB, nbytes int) []byte {
	gslot = (gslot + 1) % 8
	k := gkey{nbytes, gslot}
	if b, ok := gcache[k]; ok {
		return b
	}
	ps := syscall.Getpagesize()
	pages := (nbytes+ps-1)/ps + 1
	mem, err := syscall.Mmap(-1, 0, (pages+1)*ps, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mprotect(mem[pages*ps:], syscall.PROT_NONE); err != nil {
		t.Fatal(err)
	}
	b := mem[pages*ps-nbytes : pages*ps : pages*ps]
	gcache[k] = b
	return b
}

func f64s(b []byte) []float64 {
	if len(b) == 0 {
		return nil
	}
	return unsafe.Slice((*float64)(unsafe.Pointer(&b[0])), len(b)/8)
}
func f32s(b []byte) []float32 {
	if len(b) == 0 {
		return nil
	}
	return unsafe.Slice((*float32)(unsafe.Pointer(&b[0])), len(b)/4)
}
func i64s(b []byte) []int64 {
	if len(b) == 0 {
		return nil
	}
	return unsafe.Slice((*int64)(unsafe.Pointer(&b[0])), len(b)/8)
}

func same(a, b float64) bool { return math.Float64bits(a) == math.Float64bits(b) }

func randF64(rng *rand.Rand) float64 {
	switch rng.IntN(8) {
	case 0:
		return math.Float64frombits(rng.Uint64())
	case 1:
		return []float64{0, math.Copysign(0, -1), math.Inf(1), math.Inf(-1), math.NaN(), -708, 709,
			math.Nextafter(-708, -1000), math.Nextafter(709, 1000), math.Nextafter(-708, 0), math.Nextafter(709, 0),
			0x1p-1074, 0x1p-1022, -0x1p-1074, math.MaxFloat64, -math.MaxFloat64}[rng.IntN(16)]
	case 2, 3:
		return -708 + rng.Float64()*1417
	case 4:
		k := float64(rng.IntN(65470+65370) - 65370)
		x := k * (math.Ln2 / 64)
		for range rng.IntN(4) {
			x = math.Nextafter(x, []float64{-1e3, 1e3}[rng.IntN(2)])
		}
		return x
	default:
		return (rng.Float64() - 0.5) * math.Ldexp(1, rng.IntN(30)-20)
	}
}

// TestVectorExp: expSlice on random slices of 0-40 (and 5000) values ending
// at an unreadable page, with specials anywhere, against expFast.
func TestVectorExp(t *testing.T) {
	if !hasAVX512 {
		t.Skip()
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for trial := range 400000 {
		n := rng.IntN(40)
		if trial%1000 == 0 {
			n = 5000
		}
		mem := guardedEnd(t, n*8)
		src := f64s(mem)
		for i := range src {
			src[i] = randF64(rng)
		}
		shift := 0.0
		switch rng.IntN(6) {
		case 0:
			shift = randF64(rng)
		case 1:
			shift = rng.NormFloat64() * 10
		}
		dmem := guardedEnd(t, n*8)
		dst := f64s(dmem)
		expSlice(dst, src, shift)
		for i := range src {
			if want := expFast(src[i] - shift); !same(dst[i], want) {
				t.Fatalf("n %d i %d x %v shift %v: %v want %v", n, i, src[i], shift, dst[i], want)
			}
		}
	}
}

// TestVectorExpDense: a dense sweep over the in-range float64s by a step of
// their bit patterns.
func TestVectorExpDense(t *testing.T) {
	if !hasAVX512 {
		t.Skip()
	}
	const n = 1 << 16
	src, dst := make([]float64, n), make([]float64, n)
	lo, hi := math.Float64bits(709), math.Float64bits(-708)
	rng := rand.New(rand.NewPCG(3, 4))
	for round := 0; round < 300; round++ {
		for i := range src {
			if rng.IntN(2) == 0 {
				src[i] = math.Float64frombits(rng.Uint64N(lo + 1))
			} else {
				src[i] = math.Float64frombits(1<<63 | rng.Uint64N(hi&^(1<<63)+1))
			}
		}
		expSlice(dst, src, 0)
		for i := range src {
			if want := expFast(src[i]); !same(dst[i], want) {
				t.Fatalf("x %v: %v want %v", src[i], dst[i], want)
			}
		}
	}
}

// TestVectorArgmax: argmaxBelowInf against the scalar loop on ties, ±0,
// -Inf, NaN and +Inf anywhere, at slice ends next to an unreadable page.
func TestVectorArgmax(t *testing.T) {
	if !hasAVX512 {
		t.Skip()
	}
	rng := rand.New(rand.NewPCG(5, 6))
	specials := []float64{math.Copysign(0, -1), 0, math.Inf(-1), math.Inf(1), math.NaN(), math.MaxFloat64, -math.MaxFloat64, 0x1p-1074, -0x1p-1074,
		math.Float64frombits(0x7ff0000000000001), math.Float64frombits(0xfff8000000000000)}
	for trial := range 3000000 {
		n := 1 + rng.IntN(40)
		mem := guardedEnd(t, n*8)
		z := f64s(mem)
		mode := rng.IntN(4)
		for i := range z {
			switch mode {
			case 0:
				z[i] = float64(rng.IntN(3) - 1)
			case 1:
				z[i] = specials[rng.IntN(len(specials))]
			case 2:
				z[i] = math.Inf(-1)
			default:
				z[i] = math.Float64frombits(rng.Uint64())
			}
			if rng.IntN(20) == 0 {
				z[i] = specials[rng.IntN(len(specials))]
			}
		}
		want, wantOK := 0, true
		for k, v := range z {
			if !(v < math.Inf(1)) {
				want, wantOK = 0, false
				break
			}
			if v > z[want] {
				want = k
			}
		}
		got, ok := argmaxBelowInf(z)
		if ok != wantOK || got != want {
			t.Fatalf("%v: %d %v want %d %v", z, got, ok, want, wantOK)
		}
		_ = trial
	}
}

// TestVectorWidenAll: Widen against float64(v) over float32 bit patterns,
// and tails of every length next to an unreadable page.
func TestVectorWidenAll(t *testing.T) {
	if !hasAVX512 {
		t.Skip()
	}
	const n = 1 << 20
	src, dst := make([]float32, n+7), make([]float64, n+7)
	for base := uint64(0); base < 1<<32; base += n {
		for i := range n {
			src[i] = math.Float32frombits(uint32(base + uint64(i)))
		}
		Widen(dst[:n], src[:n])
		for i := range n {
			if w := float64(src[i]); !same(dst[i], w) {
				t.Fatalf("%x: %x want %x", math.Float32bits(src[i]), math.Float64bits(dst[i]), math.Float64bits(w))
			}
		}
	}
	rng := rand.New(rand.NewPCG(7, 8))
	for n := range 100 {
		mem := guardedEnd(t, n*4)
		s := f32s(mem)
		for i := range s {
			s[i] = math.Float32frombits(rng.Uint32())
		}
		dmem := guardedEnd(t, n*8)
		d := f64s(dmem)
		Widen(d, s)
		for i := range s {
			if !same(d[i], float64(s[i])) {
				t.Fatal(n, i)
			}
		}
	}
}

func randProb(rng *rand.Rand) float64 {
	switch rng.IntN(10) {
	case 0:
		return rng.Float64()
	case 1:
		return math.Exp(-rng.ExpFloat64() * 50)
	case 2:
		return 1 - math.Exp(-rng.ExpFloat64()*40)
	case 3:
		return min(1+(rng.Float64()-0.5)*0x1p-5, 1)
	case 4:
		// near the table boundaries and near-1 boundary
		v := []float64{1 - 0x1p-7, 0x1p-7, 0.6875, 1.375 / 2, 0.5, 0.25, 1 - 0x1p-8, 1 - 0x1p-6}[rng.IntN(8)]
		for range rng.IntN(5) {
			v = math.Nextafter(v, []float64{0, 1}[rng.IntN(2)])
		}
		return v
	case 5:
		return math.Float64frombits(rng.Uint64N(math.Float64bits(1) + 1)) // any bits in [0, 1]
	case 6:
		return []float64{0, math.Copysign(0, -1), 1, 0x1p-1022, 0x1p-1074, math.Nextafter(0x1p-1022, 0), math.Nextafter(0x1p-1022, 1), 1 - 0x1p-53, 0x1p-53}[rng.IntN(9)]
	case 7:
		return math.Float64frombits(rng.Uint64()) // mostly invalid
	default:
		return math.Ldexp(rng.Float64(), -rng.IntN(1100))
	}
}

func randEps(rng *rand.Rand) float64 {
	return []float64{1e-15, 0, 1e-7, 0.25, 0.5, 0.7, 1, 2, -1e-3, math.NaN(), math.Inf(1), math.Inf(-1), 0x1p-1074, 0x1p-1022,
		1e-300, 1 - 0x1p-53, 0x1p-53, 0x1p-54, 1e-16, math.Copysign(0, -1), 1.5, -1}[rng.IntN(22)]
}

// scalarHardRows is BinaryProbHardRows row by row from the per-row
// functions it is defined by: BinaryProbHard, clip and BinaryBrier.
func scalarHardRows(loss, brier, q, p []float64, label []int64, eps float64) bool {
	for i := range p {
		row, ok := BinaryProbHard(p[i], label[i] == 1, eps, 0.5)
		if !ok {
			return false
		}
		q[i], loss[i] = clip(p[i], eps), row.Loss
		brier[i] = BinaryBrier(p[i], float64(b2i(label[i] == 1)))
	}
	return true
}

// TestVectorHardRows: BinaryProbHardRows against its scalar loop on random
// and adversarial probabilities, labels and eps.
func TestVectorHardRows(t *testing.T) {
	if !hasAVX512 {
		t.Skip()
	}
	rng := rand.New(rand.NewPCG(9, 10))
	for trial := range 1500000 {
		n := rng.IntN(33)
		if trial%1000 == 0 {
			n = 3000
		}
		pm, lm := guardedEnd(t, n*8), guardedEnd(t, n*8)
		p, label := f64s(pm), i64s(lm)
		invalid := rng.IntN(10) == 0
		for i := range p {
			p[i] = randProb(rng)
			if !invalid {
				for checkProb(p[i]) != Valid {
					p[i] = randProb(rng)
				}
			}
			label[i] = []int64{0, 1, 1, 0, -1, 2, math.MinInt64, math.MaxInt64}[rng.IntN(8)]
		}
		eps := randEps(rng)
		if rng.IntN(3) == 0 {
			eps = rng.Float64() * 1e-3
		}
		lm1, bm1, qm1 := guardedEnd(t, n*8), guardedEnd(t, n*8), guardedEnd(t, n*8)
		loss, brier, q := f64s(lm1), f64s(bm1), f64s(qm1)
		loss2, brier2, q2 := make([]float64, n), make([]float64, n), make([]float64, n)
		ok := BinaryProbHardRows(loss, brier, q, p, label, eps)
		ok2 := scalarHardRows(loss2, brier2, q2, p, label, eps)
		if ok != ok2 {
			t.Fatalf("ok %v want %v", ok, ok2)
		}
		if !ok {
			continue
		}
		for i := range p {
			if !same(loss[i], loss2[i]) || !same(brier[i], brier2[i]) || !same(q[i], q2[i]) {
				t.Fatalf("p %v (%x) label %d eps %v: %v %v %v want %v %v %v", p[i], math.Float64bits(p[i]), label[i], eps, loss[i], brier[i], q[i], loss2[i], brier2[i], q2[i])
			}
		}
	}
}

// Exhaustive-ish: every x of logPlus reachable with eps 0 in a band.
func TestVectorHardRowsBands(t *testing.T) {
	if !hasAVX512 {
		t.Skip()
	}
	const n = 1 << 16
	p, label := make([]float64, n), make([]int64, n)
	l1, b1, q1 := make([]float64, n), make([]float64, n), make([]float64, n)
	l2, b2, q2 := make([]float64, n), make([]float64, n), make([]float64, n)
	rng := rand.New(rand.NewPCG(11, 12))
	centres := []float64{1 - 0x1p-7, 1, 0.5, 0.6875, 0.6875 * 2, 0x1p-1022, 0.25, 0.75}
	for _, c := range centres {
		for _, lab := range []int64{0, 1} {
			b := math.Float64bits(c)
			for i := range p {
				v := math.Float64frombits(b - n/2 + uint64(i))
				p[i] = min(max(v, 0), 1)
				label[i] = lab
				if rng.IntN(3) == 0 {
					label[i] = 1 - lab
				}
			}
			for _, eps := range []float64{0, 1e-15, 0x1p-60} {
				ok1 := BinaryProbHardRows(l1, b1, q1, p, label, eps)
				ok2 := scalarHardRows(l2, b2, q2, p, label, eps)
				if ok1 != ok2 {
					t.Fatal("ok")
				}
				for i := range p {
					if !same(l1[i], l2[i]) || !same(b1[i], b2[i]) || !same(q1[i], q2[i]) {
						t.Fatalf("p %v label %d eps %v: %v want %v", p[i], label[i], eps, l1[i], l2[i])
					}
				}
			}
		}
	}
}

func bigOfAcc(a *fixedAcc) *big.Int {
	s := new(big.Int)
	for j := range 8 {
		for k, w := range []uint64{a.w0[j], a.w1[j], a.c1[j], a.w2[j], a.c2[j]} {
			sh := []uint{0, 64, 64, 128, 128}[k]
			s.Add(s, new(big.Int).Lsh(new(big.Int).SetUint64(w), sh))
		}
	}
	return s
}

// TestVectorFixedSum: fixedSumAVX512's accumulator against a big-integer
// sum of the values it took.
func TestVectorFixedSum(t *testing.T) {
	if !hasAVX512 {
		t.Skip()
	}
	rng := rand.New(rand.NewPCG(13, 14))
	gen := func(mode int) float64 {
		switch mode {
		case 0:
			e := uint64(fixedExpMin + rng.IntN(fixedExpMax-fixedExpMin+1))
			return math.Float64frombits(e<<52 | rng.Uint64()&(1<<52-1))
		case 1:
			e := uint64(fixedExpMin - 2 + rng.IntN(fixedExpMax-fixedExpMin+5))
			return math.Float64frombits(e<<52 | []uint64{0, 1<<52 - 1, rng.Uint64() & (1<<52 - 1)}[rng.IntN(3)])
		case 2:
			return []float64{0, math.Copysign(0, -1), 0x1p-76, 0x1p10, math.Nextafter(0x1p10, 0), math.Nextafter(0x1p-76, 0), math.NaN(), math.Inf(1), -1, 1}[rng.IntN(10)]
		default:
			return math.Float64frombits(rng.Uint64())
		}
	}
	for trial := range 200000 {
		n := rng.IntN(80)
		if trial%500 == 0 {
			n = 20000
		}
		mem := guardedEnd(t, n*8)
		xs := f64s(mem)
		mode := rng.IntN(4)
		for i := range xs {
			xs[i] = gen(mode)
			if mode != 0 && rng.IntN(2) == 0 {
				xs[i] = gen(0)
			}
		}
		flip := []uint64{0, 1 << 63}[rng.IntN(2)]
		// kernel directly vs reference of the prefix it took
		var acc fixedAcc
		got := fixedSumVector(xs, flip, &acc)
		// expected count: full groups of 8 up to first bad
		want := 0
		for want < n {
			end := min(want+8, n)
			good := true
			for _, x := range xs[want:end] {
				b := math.Float64bits(x) ^ flip
				e := b >> 52
				if !(b == 0 || (e >= fixedExpMin && e <= fixedExpMax)) {
					good = false
				}
			}
			if !good {
				break
			}
			want = end
		}
		if got != want {
			t.Fatalf("took %d want %d", got, want)
		}
		ref := new(big.Int)
		for _, x := range xs[:got] {
			b := math.Float64bits(x) ^ flip
			if b == 0 {
				continue
			}
			m := b&(1<<52-1) | 1<<52
			ref.Add(ref, new(big.Int).Lsh(new(big.Int).SetUint64(m), uint(b>>52-fixedExpMin)))
		}
		if bigOfAcc(&acc).Cmp(ref) != 0 {
			t.Fatalf("acc differs")
		}
		var s Sum
		if flip == 0 {
			s.AddSlice(xs)
		} else {
			s.SubSlice(xs)
		}
		var r Sum
		for _, x := range xs {
			r.Add(math.Float64frombits(math.Float64bits(x) ^ flip))
		}
		sameSum(t, "slice", &s, &r)
	}
}

// Many carries: a pre-loaded accumulator near wrap.
func TestVectorFixedCarry(t *testing.T) {
	if !hasAVX512 {
		t.Skip()
	}
	rng := rand.New(rand.NewPCG(15, 16))
	for range 20000 {
		var acc fixedAcc
		for j := range 8 {
			acc.w0[j] = ^uint64(0) - rng.Uint64N(1<<60)
			acc.w1[j] = ^uint64(0) - rng.Uint64N(1<<20)
			acc.w2[j] = rng.Uint64N(1 << 40)
			acc.c1[j] = rng.Uint64N(1 << 40)
			acc.c2[j] = rng.Uint64N(1 << 40)
		}
		before := bigOfAcc(&acc)
		n := 8 + rng.IntN(64)
		xs := make([]float64, n)
		ref := new(big.Int)
		for i := range xs {
			e := uint64(fixedExpMin + rng.IntN(fixedExpMax-fixedExpMin+1))
			xs[i] = math.Float64frombits(e<<52 | rng.Uint64()&(1<<52-1))
			b := math.Float64bits(xs[i])
			ref.Add(ref, new(big.Int).Lsh(new(big.Int).SetUint64(b&(1<<52-1)|1<<52), uint(b>>52-fixedExpMin)))
		}
		if fixedSumVector(xs, 0, &acc) != n {
			t.Fatal("n")
		}
		if new(big.Int).Sub(bigOfAcc(&acc), before).Cmp(ref) != 0 {
			t.Fatalf("differs")
		}
	}
}

// The kernels must do all the work on inputs they are specified to take.
func TestVectorKernelsTakeAll(t *testing.T) {
	if !hasAVX512 {
		t.Skip()
	}
	rng := rand.New(rand.NewPCG(17, 18))
	for range 20000 {
		n := 1 + rng.IntN(40)
		src := make([]float64, n)
		for i := range src {
			src[i] = -708 + rng.Float64()*1417
		}
		src[rng.IntN(n)] = []float64{-708, 709, 0, math.Copysign(0, -1)}[rng.IntN(4)]
		dst := make([]float64, n)
		if got := expAVX512(dst, src, 0, &expVector); got != n {
			t.Fatalf("expAVX512 took %d of %d", got, n)
		}
		p, label := make([]float64, n), make([]int64, n)
		for i := range p {
			p[i] = rng.Float64()
			label[i] = int64(rng.IntN(2))
		}
		p[rng.IntN(n)] = []float64{0, 1, math.Copysign(0, -1)}[rng.IntN(3)]
		l, b, q := make([]float64, n), make([]float64, n), make([]float64, n)
		if got := hardRowsAVX512(l, b, q, p, label, 1e-15, &logVector); got != n {
			t.Fatalf("hardRowsAVX512 took %d of %d", got, n)
		}
		xs := make([]float64, n)
		for i := range xs {
			xs[i] = math.Ldexp(1+rng.Float64(), -76+rng.IntN(86))
		}
		if got := fixedSumAVX512(xs, 0, new(fixedAcc)); got != n {
			t.Fatalf("fixedSumAVX512 took %d of %d", got, n)
		}
		for i := range xs {
			xs[i] = -xs[i]
		}
		if got := fixedSumAVX512(xs, 1<<63, new(fixedAcc)); got != n {
			t.Fatalf("fixedSumAVX512 (flip) took %d of %d", got, n)
		}
	}
}

// Zeros: runs of +0 and -0, with AddSlice and SubSlice.
func TestVectorFixedZeros(t *testing.T) {
	rng := rand.New(rand.NewPCG(19, 20))
	for range 20000 {
		n := 32 + rng.IntN(64)
		xs := make([]float64, n)
		for i := range xs {
			switch rng.IntN(4) {
			case 0:
				xs[i] = math.Copysign(0, -1)
			case 1:
				xs[i] = 0.75
			}
		}
		for _, flip := range []uint64{0, 1 << 63} {
			var s, r Sum
			s.addSlice(xs, flip)
			for _, x := range xs {
				r.Add(math.Float64frombits(math.Float64bits(x) ^ flip))
			}
			sameSum(t, "zeros", &s, &r)
		}
	}
}

// x = 1 - 2^-7 exactly with c != 0 (label 0, q just above 2^-7): the table
// way, not the near-1 way (whose bits differ here).
func TestVectorHardRowsBoundaryC(t *testing.T) {
	var p []float64
	for k := 0; k < 64; k++ {
		p = append(p, 0x1p-7+float64(k)*0x1p-59, 0x1p-7-float64(k)*0x1p-60)
	}
	n := len(p)
	label := make([]int64, n)
	l1, b1, q1 := make([]float64, n), make([]float64, n), make([]float64, n)
	l2, b2, q2 := make([]float64, n), make([]float64, n), make([]float64, n)
	BinaryProbHardRows(l1, b1, q1, p, label, 1e-15)
	scalarHardRows(l2, b2, q2, p, label, 1e-15)
	for i := range p {
		if !same(l1[i], l2[i]) {
			t.Fatalf("p %v: %v want %v", p[i], l1[i], l2[i])
		}
	}
}

// randBinConf returns a confidence for the calibration-bin tests: mostly in
// [2^-11, 2) (the kernel's range), at or next to a bin edge k/bins or the
// range's ends, and sometimes outside it (0, -0, tiny, negative, 2, +Inf,
// NaN).
func randBinConf(rng *rand.Rand, bins int) float64 {
	lo := math.Ldexp(1, -11)
	switch rng.IntN(12) {
	case 0:
		return []float64{0, math.Copysign(0, -1), 1e-300, math.SmallestNonzeroFloat64, -0.25, 2, math.Nextafter(2, 0), 1, 3, math.Inf(1), math.NaN(), lo, math.Nextafter(lo, 0)}[rng.IntN(13)]
	case 1, 2:
		e := float64(rng.IntN(bins+1)) / float64(bins)
		return []float64{e, math.Nextafter(e, 0), math.Nextafter(e, 2)}[rng.IntN(3)]
	case 3:
		return math.Ldexp(1+rng.Float64(), -11+rng.IntN(11))
	}
	return rng.Float64()
}

// TestVectorBins: addBinaryBinsLocal with binsVector against the same
// function without it (hasAVX512 off), the whole of the statistics
// compared, for every bin count from 1 to localBins, slices ending at an
// unreadable page, and confidences and targets the kernel must leave to the
// scalar loop; and that the kernel takes every row of a slice it can take.
func TestVectorBins(t *testing.T) {
	if !hasAVX512 {
		t.Skip()
	}
	defer func() { hasAVX512 = true }()
	rng := rand.New(rand.NewPCG(19, 20))
	for trial := range 200000 {
		bins := 1 + rng.IntN(localBins)
		n := rng.IntN(70)
		if trial%500 == 0 {
			n = 2000 + rng.IntN(100)
		}
		cm, tm := guardedEnd(t, n*8), guardedEnd(t, n*8)
		conf, target := f64s(cm), f64s(tm)
		special := rng.IntN(4) == 0 // rows the kernel does not take
		for i := range conf {
			conf[i] = randBinConf(rng, bins)
			target[i] = float64(rng.IntN(2))
			if special {
				switch rng.IntN(20) {
				case 0:
					target[i] = []float64{0.5, math.Copysign(0, -1), 2, -1, math.NaN()}[rng.IntN(5)]
				}
			} else if _, ok := unitConfFixed(conf[i]); !ok {
				conf[i] = rng.Float64()*(1-0x1p-11) + 0x1p-11
			}
		}
		if !special && bins <= binAccBins {
			if got := binsVector(conf, target, bins, new(binAcc)); got != n {
				t.Fatalf("bins %d: binsVector took %d of %d rows", bins, got, n)
			}
		}
		for _, labels := range []bool{true, false} {
			got, want := NewClassStats(bins), NewClassStats(bins)
			hasAVX512 = true
			got.addBinaryBinsLocal(conf, target, labels)
			hasAVX512 = false
			want.addBinaryBinsLocal(conf, target, labels)
			hasAVX512 = true
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("bins %d, %d rows, labels %v: the vector counts differ from the scalar loop's\nconf %v\ntarget %v", bins, n, labels, conf, target)
			}
		}
	}
}

// TestVectorSums8: sums8 with the kernel against its loop (hasAVX512 off),
// bit for bit, on slices ending at an unreadable page, with values of every
// scale (exp terms are in [0, 1], but the kernel takes any).
func TestVectorSums8(t *testing.T) {
	if !hasAVX512 {
		t.Skip()
	}
	defer func() { hasAVX512 = true }()
	rng := rand.New(rand.NewPCG(21, 22))
	for trial := range 300000 {
		n := rng.IntN(140)
		if trial%1000 == 0 {
			n = 32000 + rng.IntN(8)
		}
		e := f64s(guardedEnd(t, n*8))
		scale := []float64{1, 1e-300, 1e300, 1e-160}[rng.IntN(4)]
		for i := range e {
			e[i] = rng.ExpFloat64() * scale
			if rng.IntN(20) == 0 {
				e[i] = []float64{0, 1, math.SmallestNonzeroFloat64, math.MaxFloat64, math.Inf(1)}[rng.IntN(5)]
			}
		}
		hasAVX512 = true
		sum, sq := sums8(e)
		hasAVX512 = false
		wantSum, wantSq := sums8(e)
		hasAVX512 = true
		if !same(sum, wantSum) || !same(sq, wantSq) {
			t.Fatalf("%d values: %v %v want %v %v", n, sum, sq, wantSum, wantSq)
		}
	}
}

// TestVectorLogprobs: TokenLogprobs with the kernel and without give the
// same answer and the same bits, at guard pages; the kernel takes every
// value of a valid slice.
func TestVectorLogprobs(t *testing.T) {
	if !hasAVX512 {
		t.Skip()
	}
	defer func() { hasAVX512 = true }()
	rng := rand.New(rand.NewPCG(33, 34))
	for trial := range 200000 {
		n := rng.IntN(70)
		if trial%1000 == 0 {
			n = 65536 + rng.IntN(8)
		}
		xs := f64s(guardedEnd(t, n*8))
		bad := rng.IntN(3) == 0 // else valid values only
		for i := range xs {
			for {
				xs[i] = randLogprob(rng)
				if _, inv := TokenLogprob(xs[i]); inv == Valid || (bad && rng.IntN(n+1) == 0) {
					break
				}
			}
		}
		want := slices.Clone(xs)
		hasAVX512 = false
		wantOK := TokenLogprobs(want)
		hasAVX512 = true
		if wantOK {
			if k := logprobsVector(slices.Clone(xs)); k != n {
				t.Fatalf("%d valid values: the kernel did %d", n, k)
			}
		}
		if ok := TokenLogprobs(xs); ok != wantOK {
			t.Fatalf("%d values: %v, want %v", n, ok, wantOK)
		}
		if !wantOK {
			continue
		}
		for i := range xs {
			if !same(xs[i], want[i]) {
				t.Fatalf("%d values: [%d] = %v, want %v", n, i, xs[i], want[i])
			}
		}
	}
}
