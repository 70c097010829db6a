package readers

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/apache/arrow/go/v17/arrow/memory"
	"github.com/evaljob/evaljob/evalerr"
)

// open opens in with mem as the allocator of Arrow IPC buffers (tests pass
// a checked allocator).
func open(in Input, mem memory.Allocator) (*File, error) {
	// Not a regular file: refused before it is opened (a device may act on
	// an open); then opened without blocking (a named pipe's open would
	// wait for a writer, a hang no signal ends) and checked again, so a
	// file replaced by a pipe in between is caught too.
	if st, err := os.Stat(in.Path); err == nil && !st.Mode().IsRegular() && !st.IsDir() {
		return nil, &evalerr.InputError{Path: in.Path, RowGroup: -1, Row: -1, Err: fmt.Errorf("not a regular file: %s", fileKind(st.Mode()))}
	}
	osf, err := os.OpenFile(in.Path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, &evalerr.InputError{Path: in.Path, RowGroup: -1, Row: -1, Err: err}
	}
	st, err := osf.Stat()
	if err != nil {
		osf.Close()
		return nil, &evalerr.InputError{Path: in.Path, RowGroup: -1, Row: -1, Err: err}
	}
	if !st.Mode().IsRegular() && !st.IsDir() {
		osf.Close()
		return nil, &evalerr.InputError{Path: in.Path, RowGroup: -1, Row: -1, Err: fmt.Errorf("not a regular file: %s", fileKind(st.Mode()))}
	}
	if st.IsDir() {
		osf.Close()
		return nil, &evalerr.InputError{Path: in.Path, RowGroup: -1, Row: -1, Err: errors.New("is a directory")}
	}
	size := st.Size()
	format, err := detectFormat(in.Path, osf, size)
	if err != nil {
		osf.Close()
		return nil, &evalerr.InputError{Path: in.Path, RowGroup: -1, Row: -1, Err: err}
	}
	var impl fileImpl
	switch format {
	case Parquet:
		var p *pqFile
		p, err = openParquet(in, osf, size)
		impl = p
	default:
		var f *ipcFile
		f, err = openIPC(in, osf, size, format == IPCStream, mem)
		impl = f
	}
	if err != nil {
		osf.Close()
		return nil, err
	}
	return &File{impl: impl, info: st}, nil
}

// fileKind names what a file that is not a regular file is.
func fileKind(m os.FileMode) string {
	switch {
	case m&os.ModeNamedPipe != 0:
		return "a named pipe"
	case m&os.ModeSocket != 0:
		return "a socket"
	case m&os.ModeDevice != 0:
		return "a device"
	}
	return "mode " + m.String()
}

// formatOfExt maps a file extension to its format.
func formatOfExt(path string) (Format, bool) {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".parquet":
		return Parquet, true
	case ".arrow", ".feather", ".ipc":
		return IPCFile, true
	case ".arrows":
		return IPCStream, true
	}
	return 0, false
}

// detectFormat uses the extension, else the magic bytes.
func detectFormat(path string, r io.ReaderAt, size int64) (Format, error) {
	if f, ok := formatOfExt(path); ok {
		return f, nil
	}
	var b [8]byte
	n, _ := r.ReadAt(b[:], 0)
	switch {
	case n >= 4 && string(b[:4]) == "PAR1":
		return Parquet, nil
	case n >= 6 && string(b[:6]) == "ARROW1":
		return IPCFile, nil
	case n >= 4 && b[0] == 0xFF && b[1] == 0xFF && b[2] == 0xFF && b[3] == 0xFF:
		return IPCStream, nil
	}
	return 0, fmt.Errorf("unknown file format: extension %q and no Parquet or Arrow IPC magic bytes", filepath.Ext(path))
}

// recoverInput turns a panic raised by a library on corrupt data into an
// input error. It is deferred only around decoding, never around yield, so
// a bug in a caller still panics.
func recoverInput(err *error, path string, rowGroup int, column *string, what string) {
	r := recover()
	if r == nil {
		return
	}
	col := ""
	if column != nil {
		col = *column
	}
	cause, ok := r.(error)
	if !ok {
		cause = fmt.Errorf("%v", r)
	}
	*err = &evalerr.InputError{Path: path, RowGroup: rowGroup, Row: -1, Column: col,
		Err: fmt.Errorf("%s: corrupt or unsupported data: %w", what, cause)}
}

// hiveFields appends the partition keys the file does not have as columns
// (the innermost folder wins when a key repeats).
func hiveFields(part []KV, have map[string]bool, flds []Field) ([]KV, []Field) {
	var keys []KV
	for _, kv := range part {
		if have[kv.Key] {
			continue
		}
		dup := false
		for i := range keys {
			if keys[i].Key == kv.Key {
				keys[i], dup = kv, true
			}
		}
		if !dup {
			keys = append(keys, kv)
		}
	}
	for _, kv := range keys {
		flds = append(flds, Field{Name: kv.Key, Type: stringType, Nullable: kv.Null})
	}
	return keys, flds
}
