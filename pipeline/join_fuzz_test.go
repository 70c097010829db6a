package pipeline

import (
	"encoding/binary"
	"hash/maphash"
	"testing"

	"github.com/apache/arrow/go/v17/arrow"

	"github.com/evaljob/evaljob/readers"
)

// FuzzLabelStore: keys made from the fuzzer's bytes (an int64 and a string
// column, values that collide in bits across signed and unsigned, repeats)
// go into a store that did not know its size; it must find exactly what a
// Go map finds, refuse exactly the repeated keys, and show every key.
func FuzzLabelStore(f *testing.F) {
	f.Add([]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}, false)
	f.Add([]byte("\xff\xff\xff\xff\xff\xff\xff\xffabc\x00\x00\x00\x00\x00\x00\x00\x00abc"), true)
	f.Fuzz(func(t *testing.T, data []byte, unsigned bool) {
		st := &labelStore{join: []string{"a", "b"}, seed: maphash.MakeSeed()}
		st.keyTypes = []arrow.DataType{arrow.PrimitiveTypes.Int64, arrow.BinaryTypes.String}
		if unsigned {
			st.keyTypes[0] = arrow.PrimitiveTypes.Uint64
		}
		st.allocate(0)
		a := &readers.Column{Type: st.keyTypes[0], Len: 1, Ints: []int64{0}}
		b := &readers.Column{Type: arrow.BinaryTypes.String, Len: 1, Strs: []string{""}}
		ref := map[string]int{}
		for len(data) >= 9 {
			a.Ints[0] = int64(binary.LittleEndian.Uint64(data))
			n := int(data[8]) % 4
			data = data[9:]
			n = min(n, len(data))
			b.Strs[0] = string(data[:n])
			data = data[n:]
			key, _ := appendJoinKey(nil, []*readers.Column{a, b}, 0)
			_, dup := ref[string(key)]
			err := st.insert(key, maphash.Bytes(st.seed, key))
			if dup != (err == errDuplicate) || (!dup && err != nil) {
				t.Fatalf("key %q: duplicate %v, insert error %v", key, dup, err)
			}
			if !dup {
				ref[string(key)] = st.rows - 1
			}
			if txt := st.keyText(key); txt == "" {
				t.Fatalf("key %q shows as nothing", key)
			}
		}
		for k, want := range ref {
			if got := st.lookup([]byte(k)); got != want {
				t.Fatalf("key %q: found row %d, want %d", k, got, want)
			}
		}
	})
}
