package readers

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Arrow IPC framing is read here before arrow/ipc sees it: the IPC file
// footer's record-batch blocks (their row counts give FirstRow without
// reading any data) and the stream's message lengths, all checked against
// the file size so that arrow never allocates for a length the file cannot
// hold. The flatbuffer access is bounds-checked by hand.

var errFlatbuffer = errors.New("corrupt flatbuffer")

type fbuf []byte

func (b fbuf) u16(pos int) (int, bool) {
	if pos < 0 || pos+2 > len(b) {
		return 0, false
	}
	return int(binary.LittleEndian.Uint16(b[pos:])), true
}

func (b fbuf) u32(pos int) (uint32, bool) {
	if pos < 0 || pos+4 > len(b) {
		return 0, false
	}
	return binary.LittleEndian.Uint32(b[pos:]), true
}

func (b fbuf) i64(pos int) (int64, bool) {
	if pos < 0 || pos+8 > len(b) {
		return 0, false
	}
	return int64(binary.LittleEndian.Uint64(b[pos:])), true
}

// fbTable is a flatbuffer table: its position and its vtable.
type fbTable struct {
	b      fbuf
	pos    int
	vt     int
	vtSize int
}

func (b fbuf) root() (fbTable, bool) {
	off, ok := b.u32(0)
	if !ok {
		return fbTable{}, false
	}
	return b.table(int(off))
}

func (b fbuf) table(pos int) (fbTable, bool) {
	so, ok := b.u32(pos)
	if !ok {
		return fbTable{}, false
	}
	vt := pos - int(int32(so))
	size, ok := b.u16(vt)
	if !ok || size < 4 || vt+size > len(b) {
		return fbTable{}, false
	}
	return fbTable{b: b, pos: pos, vt: vt, vtSize: size}, true
}

// field returns the position of field i, or 0 when it is absent.
func (t fbTable) field(i int) int {
	slot := 4 + 2*i
	if slot+2 > t.vtSize {
		return 0
	}
	off, _ := t.b.u16(t.vt + slot)
	if off == 0 {
		return 0
	}
	return t.pos + off
}

func (t fbTable) int64Field(i int) (int64, bool) {
	p := t.field(i)
	if p == 0 {
		return 0, true
	}
	return t.b.i64(p)
}

func (t fbTable) byteField(i int) (byte, bool) {
	p := t.field(i)
	if p == 0 {
		return 0, true
	}
	if p >= len(t.b) {
		return 0, false
	}
	return t.b[p], true
}

func (t fbTable) tableField(i int) (fbTable, bool) {
	p := t.field(i)
	if p == 0 {
		return fbTable{}, false
	}
	off, ok := t.b.u32(p)
	if !ok {
		return fbTable{}, false
	}
	return t.b.table(p + int(off))
}

// vectorField returns the start and length of a vector field.
func (t fbTable) vectorField(i int) (start, n int, ok bool) {
	p := t.field(i)
	if p == 0 {
		return 0, 0, true
	}
	off, ok := t.b.u32(p)
	if !ok {
		return 0, 0, false
	}
	v := p + int(off)
	ln, ok := t.b.u32(v)
	if !ok {
		return 0, 0, false
	}
	return v + 4, int(ln), true
}

// ipcMessage is what evaljob needs of one IPC message's metadata.
type ipcMessage struct {
	headerType byte  // 1 schema, 2 dictionary batch, 3 record batch
	bodyLen    int64 // bytes of body after the metadata
	rows       int64 // record batch length
}

const (
	ipcSchema      = 1
	ipcDictionary  = 2
	ipcRecordBatch = 3
)

func parseIPCMessage(meta []byte) (ipcMessage, error) {
	var m ipcMessage
	t, ok := fbuf(meta).root()
	if !ok {
		return m, errFlatbuffer
	}
	if m.headerType, ok = t.byteField(1); !ok {
		return m, errFlatbuffer
	}
	if m.bodyLen, ok = t.int64Field(3); !ok || m.bodyLen < 0 {
		return m, fmt.Errorf("message declares a body of %d bytes", m.bodyLen)
	}
	switch m.headerType {
	case ipcRecordBatch:
		h, ok := t.tableField(2)
		if !ok {
			return m, errFlatbuffer
		}
		if m.rows, ok = h.int64Field(0); !ok || m.rows < 0 {
			return m, fmt.Errorf("record batch declares %d rows", m.rows)
		}
		return m, checkBatchFB(h)
	case ipcDictionary:
		d, ok := t.tableField(2)
		if !ok {
			return m, errFlatbuffer
		}
		if data, ok := d.tableField(1); ok {
			return m, checkBatchFB(data)
		}
	}
	return m, nil
}

// checkBatchFB checks a RecordBatch table's variadic buffer counts (one per
// view column: its data buffers), which Arrow's loader sizes a slice by
// before it reads anything: each must be >= 0, and together no more than
// the batch's buffers (2^40 was a fatal out-of-memory, which no recover
// catches).
func checkBatchFB(h fbTable) error {
	_, nbuf, ok := h.vectorOK(2, 16)
	if !ok {
		return errors.New("record batch: corrupt buffer list")
	}
	start, n, ok := h.vectorOK(4, 8)
	if !ok {
		return errors.New("record batch: corrupt variadic buffer counts")
	}
	total := int64(0)
	for j := range n {
		c, _ := h.b.i64(start + 8*j)
		if c < 0 || c > int64(nbuf)-total {
			return fmt.Errorf("record batch: %d variadic buffers, of %d buffers", c, nbuf)
		}
		total += c
	}
	return nil
}

// readMessageMeta reads a message's metadata at pos (continuation marker
// and length prefix included) of at most limit bytes.
func readMessageMeta(r io.ReaderAt, pos, limit int64, buf []byte) (meta []byte, next int64, eos bool, err error) {
	var head [8]byte
	if limit-pos < 4 {
		return nil, 0, true, nil // no end-of-stream marker: arrow treats EOF as the end too
	}
	if _, err := r.ReadAt(head[:4], pos); err != nil {
		return nil, 0, false, err
	}
	n := binary.LittleEndian.Uint32(head[:4])
	p := pos + 4
	if n == 0xFFFFFFFF {
		if limit-p < 4 {
			return nil, 0, false, errors.New("truncated message length")
		}
		if _, err := r.ReadAt(head[4:], p); err != nil {
			return nil, 0, false, err
		}
		n = binary.LittleEndian.Uint32(head[4:])
		p += 4
	}
	if n == 0 {
		return nil, 0, true, nil
	}
	if int64(int32(n)) < 0 || int64(n) > limit-p {
		return nil, 0, false, fmt.Errorf("message metadata of %d bytes at offset %d does not fit in the file", int32(n), pos)
	}
	meta = buf[:0]
	if cap(meta) < int(n) {
		meta = make([]byte, n)
	}
	meta = meta[:n]
	if _, err := r.ReadAt(meta, p); err != nil {
		return nil, 0, false, err
	}
	return meta, p + int64(n), false, nil
}

// scanIPCStream checks the framing of a whole stream: every metadata and
// body length fits in the file.
func scanIPCStream(r io.ReaderAt, size int64) error {
	var buf []byte
	for pos, i := int64(0), 0; ; i++ {
		meta, next, eos, err := readMessageMeta(r, pos, size, buf)
		if err != nil {
			return fmt.Errorf("message %d: %w", i, err)
		}
		if eos {
			return nil
		}
		buf = meta
		m, err := parseIPCMessage(meta)
		if err != nil {
			return fmt.Errorf("message %d: %w", i, err)
		}
		if i == 0 {
			if m.headerType != ipcSchema {
				return errors.New("stream does not start with a schema message")
			}
			t, _ := fbuf(meta).root()
			s, ok := t.tableField(2)
			if !ok {
				return errors.New("schema message without a schema")
			}
			if err := checkSchemaFB(s); err != nil {
				return err
			}
		}
		if m.bodyLen > size-next {
			return fmt.Errorf("message %d declares a body of %d bytes, %d left in the file", i, m.bodyLen, size-next)
		}
		pos = next + m.bodyLen
	}
}

// ipcBlock is one record batch of an IPC file.
type ipcBlock struct {
	offset, rows int64
}

// scanIPCFile reads the footer's blocks and each record batch's metadata.
func scanIPCFile(r io.ReaderAt, size int64) ([]ipcBlock, error) {
	const magicLen = 6
	if size < 2*magicLen+4+2 {
		return nil, fmt.Errorf("file too small (%d bytes) for the Arrow IPC file format", size)
	}
	var tail [10]byte
	if _, err := r.ReadAt(tail[:], size-10); err != nil {
		return nil, err
	}
	var head [6]byte
	if _, err := r.ReadAt(head[:], 0); err != nil {
		return nil, err
	}
	if string(tail[4:]) != "ARROW1" || string(head[:]) != "ARROW1" {
		return nil, errors.New("not an Arrow IPC file: missing ARROW1 magic bytes (truncated or another format)")
	}
	flen := int64(binary.LittleEndian.Uint32(tail[:4]))
	footerStart := size - 10 - flen
	if flen <= 0 || footerStart < 8 {
		return nil, fmt.Errorf("footer of %d bytes does not fit in the file", flen)
	}
	footer := make([]byte, flen)
	if _, err := r.ReadAt(footer, footerStart); err != nil {
		return nil, err
	}
	t, ok := fbuf(footer).root()
	if !ok {
		return nil, fmt.Errorf("footer: %w", errFlatbuffer)
	}
	s, ok := t.tableField(1)
	if !ok {
		return nil, errors.New("footer without a schema")
	}
	if err := checkSchemaFB(s); err != nil {
		return nil, err
	}
	checkBlocks := func(field int, name string) (start, n int, err error) {
		start, n, ok := t.vectorField(field)
		if !ok || n < 0 || n > (len(footer)-start)/24 || start < 0 {
			return 0, 0, fmt.Errorf("footer: corrupt %s", name)
		}
		end := int64(0) // of the block before: blocks follow each other
		for i := 0; i < n; i++ {
			p := start + 24*i
			off, _ := fbuf(footer).i64(p)
			ml, _ := fbuf(footer).u32(p + 8)
			bl, _ := fbuf(footer).i64(p + 16)
			if off < 8 || int32(ml) <= 0 || bl < 0 || off > footerStart || int64(ml) > footerStart-off || bl > footerStart-off-int64(ml) {
				return 0, 0, fmt.Errorf("%s block %d (offset %d, %d+%d bytes) lies outside the file", name, i, off, int32(ml), bl)
			}
			// A block at or before the last one's end (2,000 entries of
			// one batch read 16 billion rows of a 622 KB file).
			if off < end {
				return 0, 0, fmt.Errorf("%s block %d (offset %d) overlaps the block before it, which ends at %d", name, i, off, end)
			}
			end = off + int64(ml) + bl
		}
		return start, n, nil
	}
	// message reads and checks the metadata of block i of a footer vector
	// at start: a message of type want.
	var buf []byte
	message := func(start, i int, want byte, name string) (off int64, m ipcMessage, err error) {
		p := start + 24*i
		off, _ = fbuf(footer).i64(p)
		ml, _ := fbuf(footer).u32(p + 8)
		meta, _, _, err := readMessageMeta(r, off, off+int64(ml), buf)
		if err != nil || meta == nil {
			return 0, m, fmt.Errorf("%s %d: corrupt message metadata: %v", name, i, err)
		}
		buf = meta
		if m, err = parseIPCMessage(meta); err != nil {
			return 0, m, fmt.Errorf("%s %d: %w", name, i, err)
		}
		if m.headerType != want {
			return 0, m, fmt.Errorf("%s block %d is of another message type", name, i)
		}
		return off, m, nil
	}
	dstart, dn, err := checkBlocks(2, "dictionary")
	if err != nil {
		return nil, err
	}
	for i := range dn {
		if _, _, err := message(dstart, i, ipcDictionary, "dictionary batch"); err != nil {
			return nil, err
		}
	}
	start, n, err := checkBlocks(3, "record batch")
	if err != nil {
		return nil, err
	}
	blocks := make([]ipcBlock, n)
	for i := range blocks {
		off, m, err := message(start, i, ipcRecordBatch, "record batch")
		if err != nil {
			return nil, err
		}
		blocks[i] = ipcBlock{offset: off, rows: m.rows}
	}
	return blocks, nil
}

// vectorOK checks that a vector field's length fits in the buffer (every
// element takes at least elemSize bytes).
func (t fbTable) vectorOK(i, elemSize int) (start, n int, ok bool) {
	start, n, ok = t.vectorField(i)
	if !ok || n < 0 || start < 0 || start > len(t.b) || n > (len(t.b)-start)/elemSize {
		return 0, 0, false
	}
	return start, n, true
}

// vectorTable returns element j of a vector of tables.
func (b fbuf) vectorTable(start, j int) (fbTable, bool) {
	p := start + 4*j
	off, ok := b.u32(p)
	if !ok {
		return fbTable{}, false
	}
	return b.table(p + int(off))
}

// checkSchemaFB checks the vector lengths of a Schema table: arrow/ipc
// allocates them before reading the elements, and follows children without
// a depth limit.
func checkSchemaFB(s fbTable) error {
	if _, _, ok := s.vectorOK(2, 4); !ok {
		return errors.New("schema: corrupt custom metadata")
	}
	start, n, ok := s.vectorOK(1, 4)
	if !ok {
		return errors.New("schema: corrupt field list")
	}
	fields := 0
	for j := 0; j < n; j++ {
		f, ok := s.b.vectorTable(start, j)
		if !ok {
			return errors.New("schema: corrupt field")
		}
		if err := checkFieldFB(f, 0, &fields); err != nil {
			return err
		}
	}
	return nil
}

// maxSchemaFields bounds the fields of a schema, children included: Arrow
// builds one per visit, and fields may share child tables (1.2 KB of
// schema made 2^22 fields and 6.4 GB).
const maxSchemaFields = 1 << 16

func checkFieldFB(f fbTable, depth int, fields *int) error {
	if depth > 32 {
		return errors.New("schema: fields nested too deeply")
	}
	if *fields++; *fields > maxSchemaFields {
		return fmt.Errorf("schema: more than %d fields", maxSchemaFields)
	}
	if _, _, ok := f.vectorOK(6, 4); !ok {
		return errors.New("schema: corrupt field metadata")
	}
	if _, _, ok := f.vectorOK(0, 1); !ok {
		return errors.New("schema: corrupt field name")
	}
	start, n, ok := f.vectorOK(5, 4)
	if !ok {
		return errors.New("schema: corrupt field children")
	}
	for j := 0; j < n; j++ {
		c, ok := f.b.vectorTable(start, j)
		if !ok {
			return errors.New("schema: corrupt child field")
		}
		if err := checkFieldFB(c, depth+1, fields); err != nil {
			return err
		}
	}
	return nil
}
