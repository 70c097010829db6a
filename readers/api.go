package readers

import (
	"context"
	"os"
	"path/filepath"
	"slices"

	"github.com/apache/arrow/go/v17/arrow/memory"
)

// Discover expands input patterns into files, in pattern order, each
// pattern's matches sorted by path, duplicates dropped. A relative pattern is
// joined to baseDir. A pattern may be a file, a folder (walked recursively
// for .parquet, .arrow, .feather, .ipc and .arrows files, skipping names that
// start with "." or "_"), or a glob. Folder names of the form key=value
// become the Input's Partition. A pattern that matches nothing is an input
// error naming it.
func Discover(patterns []string, baseDir string) ([]Input, error) {
	return discover(patterns, baseDir, nil)
}

// DiscoverExcept is Discover without the files named names directly in
// the folder except (a run's own outputs, in its output folder, which may
// sit inside an input folder: a re-run must not read the last run's
// summary). The folder is compared as a file (os.SameFile), so a link to
// it is it.
func DiscoverExcept(patterns []string, baseDir, except string, names []string) ([]Input, error) {
	var skip func(p string) bool
	if fi, err := os.Stat(except); except != "" && err == nil {
		skip = func(p string) bool {
			if !slices.Contains(names, filepath.Base(p)) {
				return false
			}
			d, err := os.Stat(filepath.Dir(p))
			return err == nil && os.SameFile(d, fi)
		}
	}
	return discover(patterns, baseDir, skip)
}

// File is an opened input: its footer or schema has been read, no data yet.
// A File is safe for concurrent ReadUnit calls on different units.
type File struct {
	impl fileImpl
	info os.FileInfo
}

type fileImpl interface {
	path() string
	format() Format
	size() int64
	numRows() int64
	fields() []Field
	numUnits() int
	readUnit(ctx context.Context, unit int, columns []string, batchRows int, yield func(*Chunk) error) error
	readHead(ctx context.Context, unit int, columns []string, rows int, yield func(*Chunk) error) error
	close() error
}

// Open opens an input file and reads its schema (Parquet footer, IPC
// schema). The format comes from the extension, or from the magic bytes when
// the extension is unknown. Hive partition keys are appended to Fields as
// string columns, unless the file has a column of that name.
func Open(in Input) (*File, error) { return open(in, memory.DefaultAllocator) }

// Info is the file's os.FileInfo as it was opened: its identity
// (os.SameFile) and modification time tell whether a file opened again
// under the same path is the same file.
func (f *File) Info() os.FileInfo { return f.info }

// Path of the file.
func (f *File) Path() string { return f.impl.path() }

// Format of the file.
func (f *File) Format() Format { return f.impl.format() }

// Size of the file in bytes.
func (f *File) Size() int64 { return f.impl.size() }

// NumRows is the number of rows declared by the file's metadata, or -1 when
// it is not known without reading the data (IPC streams).
func (f *File) NumRows() int64 { return f.impl.numRows() }

// Fields lists the columns the file offers, hive keys last.
func (f *File) Fields() []Field { return f.impl.fields() }

// NumUnits is the number of units of work: Parquet row groups, IPC file
// record batches, or 1 for an IPC stream (read sequentially).
func (f *File) NumUnits() int { return f.impl.numUnits() }

// ReadUnit decodes the named columns of one unit and calls yield with
// chunks of at most batchRows rows (batchRows <= 0: the whole unit), in row
// order; a Parquet unit of wide lists comes in chunks of fewer rows, about
// a million values of each list column (chunkValues). Chunk.Columns follow
// the order of columns. The chunk and its aliased slices are only valid
// during the call to yield. An error returned
// by yield stops the read and is returned as is. An error in the unit's
// data (a page that does not decode, a column with more or fewer rows than
// the unit declares) may come after chunks of its first rows were yielded.
func (f *File) ReadUnit(ctx context.Context, unit int, columns []string, batchRows int, yield func(*Chunk) error) error {
	return f.impl.readUnit(ctx, unit, columns, batchRows, yield)
}

// ReadHead is ReadUnit for the unit's first rows rows only (all of them if
// it has fewer), in one chunk, decoding no more of the unit than holds them
// where the format allows (Parquet: the pages up to those rows, each
// checked just before it is decoded, except that an int64, float or double
// column's pages, which may be direct, are all checked first): a look at a
// unit's first rows need not cost the whole unit.
func (f *File) ReadHead(ctx context.Context, unit int, columns []string, rows int, yield func(*Chunk) error) error {
	return f.impl.readHead(ctx, unit, columns, rows, yield)
}

// Close releases the file.
func (f *File) Close() error { return f.impl.close() }
