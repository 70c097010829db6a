package pipeline

import (
	"hash/maphash"
	"testing"

	"github.com/apache/arrow/go/v17/arrow"

	"github.com/evaljob/evaljob/readers"
)

// benchStore builds a label store of n rows with scrambled int64 keys and
// an int64 label, as loadLabels would from files, and the keys in
// prediction order (another scramble).
func benchStore(b *testing.B, n int) (*labelStore, *readers.Column) {
	st := &labelStore{join: []string{"id"}, seed: maphash.MakeSeed(), keyArena: keyArena{width: intKeyBytes},
		keyTypes: []arrow.DataType{arrow.PrimitiveTypes.Int64}}
	st.files = &fileSet{inputs: []readers.Input{{}}, meta: []fileMeta{{}}}
	st.label.col.Name = "label"
	st.label.setType(arrow.PrimitiveTypes.Int64)
	st.allocate(n)
	scramble := func(i, mult int) int64 { return int64(uint64(i) * uint64(mult) % uint64(n)) } // mult coprime to n
	keys := &readers.Column{Name: "id", Type: arrow.PrimitiveTypes.Int64, Len: n, Ints: make([]int64, n)}
	labels := &readers.Column{Name: "label", Type: arrow.PrimitiveTypes.Int64, Len: n, Ints: make([]int64, n)}
	for i := range n {
		keys.Ints[i] = scramble(i, 999_983)*7919 - 1<<40
		labels.Ints[i] = int64(i & 1)
	}
	st.fileRows = []int64{0}
	lu := &labelUnit{chunks: []labelChunk{{}}}
	lu.label.col.Name = "label"
	lu.label.setType(arrow.PrimitiveTypes.Int64)
	lu.keys.width = st.width
	lu.keys.add([]*readers.Column{keys}, n, st.seed)
	lu.label.append(labels)
	if err := st.enter(lu); err != nil {
		b.Fatal(err)
	}
	if st.rows != n {
		b.Fatalf("%d label rows in the store, want %d", st.rows, n)
	}
	st.matched = make([]uint64, (n+63)/64)
	pred := &readers.Column{Name: "id", Type: arrow.PrimitiveTypes.Int64, Len: n, Ints: make([]int64, n)}
	for i := range n {
		pred.Ints[i] = scramble(i, 1_000_003)*7919 - 1<<40
	}
	return st, pred
}

// BenchmarkJoinBuild: loading label rows into the store (keys encoded,
// hashed and inserted, labels packed), without the file decoding.
func BenchmarkJoinBuild(b *testing.B) {
	const n = 1 << 20
	for b.Loop() {
		benchStore(b, n)
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}

// BenchmarkJoinLookup: one worker joining prediction chunks of 64k rows
// against a store of 1M label rows (int64 key, int64 label); bytes/row is
// the store's memory per label row.
func BenchmarkJoinLookup(b *testing.B) {
	const n, chunk = 1 << 20, 1 << 16
	st, pred := benchStore(b, n)
	p := &plan{labels: st, joinCols: []int{0}, labelFromLabels: true}
	var j joiner
	rows := 0
	for b.Loop() {
		for lo := 0; lo < n; lo += chunk {
			c := &readers.Column{Name: "id", Type: pred.Type, Len: chunk, Ints: pred.Ints[lo : lo+chunk]}
			ch := &readers.Chunk{Len: chunk, Columns: []*readers.Column{c}}
			_, got := p.join(ch, &j, true)
			if got[0] < 0 {
				b.Fatal("unmatched")
			}
			rows += chunk
		}
	}
	if st.unmatched() != 0 {
		b.Fatalf("%d label rows unmatched", st.unmatched())
	}
	b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric(float64(st.bytes())/float64(n), "bytes/row")
}
