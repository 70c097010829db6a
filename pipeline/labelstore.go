package pipeline

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/maphash"
	"math"
	"math/bits"
	"os"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/apache/arrow/go/v17/arrow"

	"github.com/evaljob/evaljob/config"
	"github.com/evaljob/evaljob/evalerr"
	"github.com/evaljob/evaljob/readers"
)

// labelStore is the label side of a join (SPEC §2, "Labels in their own
// files"), held in memory while the prediction side streams past it.
//
// It is compact by construction, not a Go map: every key is encoded into
// one byte arena (9 bytes per integer key column, a length and the bytes
// per string key column), found through an open-addressed table of uint32
// row numbers, and the label (and weight) values sit in one typed column
// holding every label row. For one int64 key and an int64 label that is
// 9 + 8 bytes, plus 5.3 to 10.7 bytes of table, plus 1 bit of the matched
// set, per label row (README, "Labels in their own files", has the measured
// figure).
type labelStore struct {
	join     []string
	keyTypes []arrow.DataType // from the first label file
	files    *fileSet
	columns  []string // read from the label files: keys, label, weight

	loaded   bool
	loadErr  error
	fileRows []int64 // label rows read from each file

	label  labelValues  // every label row, in load order
	weight *labelValues // nil when the weight is read from the predictions

	keyArena          // the encoded keys, row after row
	slots    []uint32 // open addressing: fingerprint | label row + 1, 0 when empty (see resize)
	rowBits  uint     // bits of a slot that hold the row
	seed     maphash.Seed
	rows     int

	// where each loaded chunk starts, to name a label row's place
	chunks []labelChunk

	// sink keeps the reads of touch from being optimised away.
	sink uint32

	// matched has one bit per label row, set (atomically, by the workers)
	// when a prediction row found it.
	matched []uint64
}
type labelChunk struct {
	start    int // label row of the chunk's first row
	file     int
	rowGroup int
	firstRow int64
}

// intKeyBytes is the encoded size of one integer key value: a byte that
// tells values above MaxInt64 (uint64 columns only) from the rest, then the
// value's 64 bits. Integers of any width therefore match by value.
const intKeyBytes = 9

// maxLabelRows keeps label row numbers in an int32 and the table's slots in a
// uint32.
const maxLabelRows = 1<<31 - 1

// openLabels discovers and opens the label files of cfg.Labels and checks
// their schemas; load reads them (keep: the idle files kept open, see
// fileSet). The label column, the weight column when the label files have
// it, and the key columns are read.
func openLabels(cfg *config.Config, keep int) (_ *labelStore, err error) {
	l := cfg.Labels
	st := &labelStore{join: l.Join, seed: maphash.MakeSeed()}
	defer func() {
		if err != nil {
			st.close()
		}
	}()
	if st.files, err = discoverFiles(l.Inputs, keep, cfg.Output.Dir); err != nil {
		return nil, err
	}
	if err := st.files.learn(nil); err != nil {
		return nil, err
	}

	// The columns read: keys, label, then the weight when the label files
	// have it (decided by the first file, required of the others).
	st.columns = slices.Clone(l.Join)
	labelName, weightName := cfg.Columns.Label, cfg.Columns.Weight
	if labelName != "" {
		st.columns = append(st.columns, labelName)
	}
	// The weight comes from the label files when they all have it, from the
	// predictions when none has it; decided over every file, so that the
	// order of the label files does not matter. A weight that is the label
	// column is the label side's, read once.
	if weightName != "" && weightName != labelName {
		var with, without []string
		for fi := range st.files.len() {
			if slices.ContainsFunc(st.files.fields(fi), func(fd readers.Field) bool { return fd.Name == weightName }) {
				with = append(with, st.files.path(fi))
			} else {
				without = append(without, st.files.path(fi))
			}
		}
		if len(with) > 0 && len(without) > 0 {
			return nil, &evalerr.InputError{Path: without[0], RowGroup: -1, Row: -1, Column: weightName,
				Err: fmt.Errorf("missing column: the weight is in the label file %s, so every label file must have it", with[0])}
		}
		if len(with) > 0 {
			st.columns = append(st.columns, weightName)
			st.weight = &labelValues{col: readers.Column{Name: weightName}}
		}
	}
	if labelName == "" && st.weight == nil {
		return nil, evalerr.Configf("config key labels: the label files supply neither columns.label nor columns.weight (%q), so there is nothing to join", weightName)
	}
	st.label.col.Name = labelName
	for fi := range st.files.len() {
		if err := st.checkFile(fi, st.columns); err != nil {
			return nil, err
		}
	}
	st.width = intKeyBytes * len(st.join)
	for _, t := range st.keyTypes {
		if !isInteger(t) {
			st.width = 0
		}
	}
	return st, nil
}

// load reads every label row into the store, once; later calls return the
// first call's error. Duplicate and null keys are input errors naming
// their places.
func (st *labelStore) load(ctx context.Context, workers int) error {
	if st.loaded {
		return st.loadErr
	}
	st.loaded = true
	st.loadErr = st.read(ctx, workers)
	st.files.close() // read once: none is opened again
	return st.loadErr
}
func (st *labelStore) read(ctx context.Context, workers int) error {
	// The rows the files declare are what the store is sized for up front,
	// but only as many as could plausibly be in the file's bytes: a forged
	// footer must not reserve gigabytes before its row groups fail to read.
	// A store that needs more grows as rows arrive.
	total, reserve := int64(0), int64(0)
	var units []unitRef
	for fi := range st.files.len() {
		if n := st.files.rows(fi); n > 0 {
			total += n
			reserve += min(n, rowsPerByte*st.files.size(fi))
		}
		for u := range st.files.units(fi) {
			units = append(units, unitRef{fi, u})
		}
	}
	if total > maxLabelRows {
		return evalerr.Inputf("label files: %d rows, more than evaljob joins (%d)", total, maxLabelRows)
	}
	st.allocate(int(reserve))
	st.fileRows = make([]int64, st.files.len())

	// Units are decoded, their keys encoded and hashed, in parallel; they
	// are entered into the store one after the other in input order, so
	// the store and the first error do not depend on the decoding's timing.
	ready := make([]chan *labelUnit, len(units))
	for u := range ready {
		ready[u] = make(chan *labelUnit, 1)
	}
	permits := make(chan struct{}, workers+1) // units decoded but not yet entered
	var next atomic.Int64
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer func() {
		cancel() // first: a producer may wait for a permit
		wg.Wait()
	}()
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				// A permit first, then the next unit: the units holding
				// permits are always the lowest ones not yet entered.
				select {
				case permits <- struct{}{}:
				case <-ctx.Done():
					return
				}
				u := int(next.Add(1) - 1)
				if u >= len(units) {
					return
				}
				ready[u] <- st.decode(ctx, units[u])
			}
		}()
	}
	for u := range units {
		var lu *labelUnit
		select {
		case lu = <-ready[u]:
		case <-ctx.Done():
			return ctx.Err()
		}
		if err := st.enter(lu); err != nil {
			return err
		}
		<-permits
	}
	st.matched = make([]uint64, (st.rows+63)/64)
	return nil
}

// rowsPerByte bounds the rows reserved for a label file by its size. Real
// files hold far fewer rows per byte (a distinct key costs bytes).
const rowsPerByte = 16

// labelUnit is one decoded unit of a label file, ready to enter the store.
type labelUnit struct {
	file   int
	chunks []labelChunk // start relative to the unit's first row
	keys   keyBatch
	label  labelValues
	weight labelValues
	err    error // reported when the unit's turn comes
	// nullKey: err is a null key at row nullAt; the rows before it are
	// entered first (one of them may be an earlier duplicate).
	nullKey bool
	nullAt  int
}

// decode reads unit u of a label file: keys encoded and hashed, values
// copied (a chunk's slices do not outlive the read).
func (st *labelStore) decode(ctx context.Context, u unitRef) (lu *labelUnit) {
	lu = &labelUnit{file: u.file}
	lu.keys.width = st.width
	defer recoverInternal(&lu.err)
	lu.label.col.Name, lu.label.width = st.label.col.Name, st.label.width
	lu.label.col.Type = st.label.col.Type
	if st.weight != nil {
		lu.weight.col.Name, lu.weight.width, lu.weight.col.Type = st.weight.col.Name, st.weight.width, st.weight.col.Type
	}
	nk := len(st.join)
	add := func(ch *readers.Chunk) error {
		start := len(lu.keys.hash)
		lu.chunks = append(lu.chunks, labelChunk{start: start, file: u.file, rowGroup: ch.RowGroup, firstRow: ch.FirstRow})
		if i := lu.keys.add(ch.Columns[:nk], ch.Len, st.seed); i >= 0 {
			lu.nullKey, lu.nullAt = true, start+i
			c := firstNullKey(ch.Columns[:nk], i)
			return &evalerr.InputError{Path: ch.Path, RowGroup: ch.RowGroup, Row: ch.FirstRow + int64(i),
				Column: c.Name, Value: nullValue, Err: errors.New("label key is null")}
		}
		if st.label.col.Name != "" {
			lu.label.append(ch.Columns[nk])
		}
		if st.weight != nil {
			lu.weight.append(ch.Columns[len(st.columns)-1])
		}
		return nil
	}
	lu.err = st.files.with(u.file, func(f *readers.File) error {
		return f.ReadUnit(ctx, u.unit, st.columns, 0, add)
	})
	return lu
}

// enter adds a decoded unit's rows to the store.
func (st *labelStore) enter(lu *labelUnit) error {
	if lu.err != nil && !lu.nullKey {
		return lu.err
	}
	base := st.rows
	for _, c := range lu.chunks {
		c.start += base
		st.chunks = append(st.chunks, c)
	}
	b := &lu.keys
	n := len(b.hash)
	if lu.nullKey {
		n = lu.nullAt // a duplicate before the null key is the first error
	}
	st.fileRows[lu.file] += int64(n)
	const group = 16
	var touch uint32
	for lo := 0; lo < n; lo += group {
		hi := min(lo+group, n)
		if (st.rows+hi-lo)*4 > len(st.slots)*3 || st.rows+hi-lo >= 1<<st.rowBits {
			st.resize(2 * (st.rows + hi - lo))
		}
		touch += st.touch(b, lo, hi)
		for k := lo; k < hi; k++ {
			if err := st.insert(b.at(k), b.hash[k]); err != nil {
				if err != errDuplicate {
					return err
				}
				path, rg, row := st.place(st.lookup(b.at(k)))
				c := lu.chunks[chunkOf(lu.chunks, k)]
				return &evalerr.InputError{Path: st.files.path(lu.file), RowGroup: c.rowGroup, Row: c.firstRow + int64(k-c.start),
					Column: strings.Join(st.join, ","), Value: st.keyText(b.at(k)),
					Err: fmt.Errorf("duplicate label key: also in %s, row group %d, row %d", path, rg, row)}
			}
		}
	}
	st.sink += touch
	if lu.err != nil {
		return lu.err
	}
	if st.label.col.Name != "" {
		st.label.appendValues(&lu.label)
	}
	if st.weight != nil {
		st.weight.appendValues(&lu.weight)
	}
	return nil
}

// chunkOf returns the index of the chunk holding row k (chunks in order of
// their start rows).
func chunkOf(chunks []labelChunk, k int) int {
	i, _ := slices.BinarySearchFunc(chunks, k, func(c labelChunk, k int) int {
		if c.start > k {
			return 1
		}
		return -1
	})
	return i - 1
}

// touch reads the slots of keys lo..hi of b, then the first byte of the key
// each slot's fingerprint points to, and returns a value made of them. The
// reads are independent of each other, so the memory system serves them
// in parallel; the probes that follow then find their slots and keys in
// the cache instead of waiting for one miss after another (a probe depends
// on its slot, the key compare on the probe).
func (st *labelStore) touch(b *keyBatch, lo, hi int) uint32 {
	mask := len(st.slots) - 1
	rowMask := uint32(1)<<st.rowBits - 1
	var t uint32
	for k := lo; k < hi; k++ {
		t += st.slots[int(b.hash[k])&mask]
	}
	for k := lo; k < hi; k++ {
		h := b.hash[k]
		v := st.slots[int(h)&mask]
		if v != 0 && v&^rowMask == st.fingerprint(h) {
			r := int(v&rowMask) - 1
			if st.width > 0 {
				t += uint32(st.keys[r*st.width])
			} else {
				t += st.ends[r]
			}
		}
	}
	return t
}

// keyBatch holds the encoded keys of a run of rows and their hashes.
// A null key is zeros with fixed-width keys, empty otherwise.
type keyBatch struct {
	keyArena
	hash  []uint64
	nulls []bool // fixed width: which rows have a null key; nil while none has
}

// keyArena holds encoded keys one after another. With a fixed width (width
// > 0: every key column is an integer) key i is keys[i*width:(i+1)*width];
// otherwise it is keys[ends[i-1]:ends[i]].
type keyArena struct {
	width int
	keys  []byte
	ends  []uint32
}

// at returns key i.
func (a *keyArena) at(i int) []byte {
	if a.width > 0 {
		return a.keys[i*a.width : (i+1)*a.width]
	}
	start := uint32(0)
	if i > 0 {
		start = a.ends[i-1]
	}
	return a.keys[start:a.ends[i]]
}

func (b *keyBatch) reset() {
	b.keys, b.ends, b.hash, b.nulls = b.keys[:0], b.ends[:0], b.hash[:0], b.nulls[:0]
}

// add appends the keys of rows 0..n-1 of the key columns; it returns the
// first row with a null key value (hash 0), or -1.
func (b *keyBatch) add(cols []*readers.Column, n int, seed maphash.Seed) int {
	firstNull := -1
	for i := range n {
		start := len(b.keys)
		var ok bool
		b.keys, ok = appendJoinKey(b.keys, cols, i)
		var h uint64
		if ok {
			h = maphash.Bytes(seed, b.keys[start:])
		} else {
			if firstNull < 0 {
				firstNull = i
			}
			b.keys = b.keys[:start]
			if b.width > 0 {
				if b.nulls == nil {
					b.nulls = make([]bool, len(b.hash), cap(b.hash))
				}
				b.keys = append(b.keys, make([]byte, b.width)...)
			}
		}
		if b.width == 0 {
			b.ends = append(b.ends, uint32(len(b.keys)))
		} else if b.nulls != nil {
			b.nulls = append(b.nulls, !ok)
		}
		b.hash = append(b.hash, h)
	}
	return firstNull
}

// null reports whether row k's key is null.
func (b *keyBatch) null(k int) bool {
	if b.width > 0 {
		return b.nulls != nil && b.nulls[k]
	}
	return len(b.at(k)) == 0
}

// checkFile checks that label file fi has the columns with the types of the
// first label file, and key columns of an integer or string type.
func (st *labelStore) checkFile(fi int, columns []string) error {
	fields := map[string]readers.Field{}
	for _, fd := range st.files.fields(fi) {
		fields[fd.Name] = fd
	}
	for i, name := range columns {
		fd, ok := fields[name]
		t := fd.Type
		var why string
		switch {
		case !ok:
			why = "missing column"
		case t == nil:
			why = fmt.Sprintf("column type %s is not supported by evaljob", fd.Unsupported)
		case i < len(st.join) && !isInteger(t) && !isStringType(t):
			why = fmt.Sprintf("join key of type %s, want an integer or string type", t)
		case i < len(st.join) && fi == 0:
			st.keyTypes = append(st.keyTypes, t)
		case i >= len(st.join) && fi == 0:
			if name == st.label.col.Name {
				st.label.setType(t)
			} else {
				st.weight.setType(t)
			}
		}
		if why == "" && fi > 0 {
			want := st.label.col.Type
			switch {
			case i < len(st.join):
				want = st.keyTypes[i]
			case name != st.label.col.Name:
				want = st.weight.col.Type
			}
			if !sameType(t, want) {
				why = fmt.Sprintf("type %s differs from %s in %s", t, want, st.files.path(0))
			}
		}
		if why != "" {
			return &evalerr.InputError{Path: st.files.path(fi), RowGroup: -1, Row: -1, Column: name, Err: errors.New(why)}
		}
	}
	return nil
}

// checkKeys checks that prediction file f has every join key column with a
// type of the same kind (integer or string) as in the label files.
func (st *labelStore) checkKeys(f *readers.File) error {
	types := map[string]arrow.DataType{}
	for _, fd := range f.Fields() {
		types[fd.Name] = fd.Type
	}
	for i, name := range st.join {
		t, ok := types[name]
		var why string
		switch {
		case !ok:
			why = "missing join key column"
		case t == nil || (!isInteger(t) && !isStringType(t)):
			why = fmt.Sprintf("join key of type %s, want an integer or string type", t)
		case isInteger(t) != isInteger(st.keyTypes[i]):
			why = fmt.Sprintf("join key of type %s, but it is %s in the label file %s", t, st.keyTypes[i], st.files.path(0))
		}
		if why != "" {
			return &evalerr.InputError{Path: f.Path(), RowGroup: -1, Row: -1, Column: name, Err: errors.New(why)}
		}
	}
	return nil
}

// allocate sizes the key arena and the table for n label rows (the rows
// the label files declare; an IPC stream's are not known, and the table
// then grows as rows arrive).
func (st *labelStore) allocate(n int) {
	if st.width > 0 {
		st.keys = make([]byte, 0, n*st.width)
	} else {
		st.ends = make([]uint32, 0, n)
	}
	st.label.reserve(n)
	if st.weight != nil {
		st.weight.reserve(n)
	}
	st.resize(n)
}

// resize makes a table for n label rows and enters the rows held. A slot
// is a uint32: its low rowBits bits are the label row + 1 (0: empty), the
// bits above them the top bits of the key's hash, a fingerprint, so that a
// probe reads a key in the arena (a cache miss) almost only when it is the
// one looked for. The table is a power of two of slots, at most 3/4 full.
func (st *labelStore) resize(n int) {
	st.rowBits = uint(bits.Len(uint(max(n, st.rows, 1))))
	st.slots = make([]uint32, 1<<bits.Len(uint(max(n+n/3+1, 16)-1)))
	for r := range st.rows {
		h := maphash.Bytes(st.seed, st.at(r))
		_, slot := st.find(st.at(r), h)
		st.slots[slot] = st.fingerprint(h) | uint32(r+1)
	}
}

// fingerprint is the slot bits above the row of a key with hash h (the top
// bits of its high half; the slot index comes from the low half).
func (st *labelStore) fingerprint(h uint64) uint32 {
	if st.rowBits >= 32 {
		return 0
	}
	return uint32(h>>32) >> st.rowBits << st.rowBits
}

// lookup returns the label row with key, or -1.
func (st *labelStore) lookup(key []byte) int {
	r, _ := st.find(key, maphash.Bytes(st.seed, key))
	return r
}

// find returns the label row with key (whose hash is h), or -1, and the
// slot where the probe stopped (the key's slot, or the empty slot where it
// would go).
func (st *labelStore) find(key []byte, h uint64) (int, int) {
	mask := len(st.slots) - 1
	rowMask := uint32(1)<<st.rowBits - 1
	fp := st.fingerprint(h)
	i := int(h) & mask
	for {
		v := st.slots[i]
		if v == 0 {
			return -1, i
		}
		if v&^rowMask == fp {
			if r := int(v&rowMask) - 1; string(st.at(r)) == string(key) {
				return r, i
			}
		}
		i = (i + 1) & mask
	}
}

// insert adds the next label row with key (whose hash is h); errDuplicate
// when the key is there already.
func (st *labelStore) insert(key []byte, h uint64) error {
	if st.rows >= maxLabelRows {
		return evalerr.Inputf("label files: more than %d rows, more than evaljob joins", maxLabelRows)
	}
	if (st.rows+1)*4 > len(st.slots)*3 || st.rows+1 >= 1<<st.rowBits {
		st.resize(2 * (st.rows + 1))
	}
	prev, slot := st.find(key, h)
	if prev >= 0 {
		return errDuplicate
	}
	if st.width == 0 && uint64(len(st.keys))+uint64(len(key)) > math.MaxUint32 {
		return evalerr.Inputf("label files: the join keys take more than 4 GiB")
	}
	st.keys = append(st.keys, key...)
	if st.width == 0 {
		st.ends = append(st.ends, uint32(len(st.keys)))
	}
	st.rows++
	st.slots[slot] = st.fingerprint(h) | uint32(st.rows)
	return nil
}

var errDuplicate = errors.New("duplicate label key")

// place returns the file, row group and row of label row r.
func (st *labelStore) place(r int) (string, int, int64) {
	c := st.chunks[chunkOf(st.chunks, r)]
	return st.files.path(c.file), c.rowGroup, c.firstRow + int64(r-c.start)
}

// keyText shows an encoded key as the user wrote it: the values, separated
// by commas, strings quoted.
func (st *labelStore) keyText(key []byte) string {
	var parts []string
	for _, t := range st.keyTypes {
		if isInteger(t) {
			v := binary.BigEndian.Uint64(key[1:intKeyBytes])
			if key[0] == 1 {
				parts = append(parts, strconv.FormatUint(v, 10))
			} else {
				parts = append(parts, strconv.FormatInt(int64(v), 10))
			}
			key = key[intKeyBytes:]
			continue
		}
		n, k := binary.Uvarint(key)
		parts = append(parts, strconv.Quote(string(key[k:k+int(n)])))
		key = key[k+int(n):]
	}
	return strings.Join(parts, ",")
}

// appendJoinKey appends the encoded key of row i of the key columns to buf;
// false when a key value is null.
func appendJoinKey(buf []byte, cols []*readers.Column, i int) ([]byte, bool) {
	for _, c := range cols {
		if c.Null(i) {
			return buf, false
		}
		if c.Ints != nil {
			v := c.Ints[i]
			tag := byte(0)
			if v < 0 && c.Type.ID() == arrow.UINT64 {
				tag = 1 // above MaxInt64
			}
			buf = append(buf, tag)
			buf = binary.BigEndian.AppendUint64(buf, uint64(v))
			continue
		}
		s := c.String(i)
		buf = binary.AppendUvarint(buf, uint64(len(s)))
		buf = append(buf, s...)
	}
	return buf, true
}
func firstNullKey(cols []*readers.Column, i int) *readers.Column {
	for _, c := range cols {
		if c.Null(i) {
			return c
		}
	}
	return cols[0]
}
func (st *labelStore) close() {
	if st.files != nil {
		st.files.close()
	}
}

// bytes is the memory the store holds: keys, table, values, matched set.
func (st *labelStore) bytes() int64 {
	n := cap(st.keys) + 4*cap(st.ends) + 4*cap(st.slots) + 8*cap(st.matched) + 40*cap(st.chunks)
	n += st.label.bytes()
	if st.weight != nil {
		n += st.weight.bytes()
	}
	return int64(n)
}

// declaredBytes estimates the store's size from the rows the label files
// declare, before they are read.
func (st *labelStore) declaredBytes() int64 {
	n := int64(0)
	for fi := range st.files.len() {
		n += max(st.files.rows(fi), 0)
	}
	per := int64(max(st.width, 16)) + 6 + int64(max(st.label.width, 8))
	return n * per
}

// gcHeadroom is the heap growth the garbage collector allows above a
// label store: a store is long-lived and pointer-free, so it costs the
// collector nothing to scan but, under the default GOGC=100, it would
// double the heap target (a 250 MB store: 500 MB before the next cycle).
const gcHeadroom = 128 << 20

// gcForStore lowers the collector's target percentage so that the heap may
// grow about gcHeadroom (at least a fifth) above a label store of the given
// size, and returns a function restoring the previous setting. It leaves
// an explicit GOGC alone, and never raises the percentage.
func gcForStore(bytes int64) (restore func()) {
	if os.Getenv("GOGC") != "" || bytes <= gcHeadroom {
		return func() {}
	}
	pct := max(int(100*gcHeadroom/bytes), 20)
	old := debug.SetGCPercent(pct)
	if old >= 0 && old < pct {
		debug.SetGCPercent(old)
	}
	return func() { debug.SetGCPercent(old) }
}

// unmatched counts the label rows no prediction row found.
func (st *labelStore) unmatched() int64 {
	n := 0
	for _, w := range st.matched {
		n += bits.OnesCount64(w)
	}
	return int64(st.rows - n)
}

// markMatched records that label row r was found.
func (st *labelStore) markMatched(r int32) {
	w, b := &st.matched[r>>6], uint64(1)<<(r&63)
	if atomic.LoadUint64(w)&b == 0 {
		atomic.OrUint64(w, b)
	}
}
