// Package readers turns input files into chunks of typed Go slices.
//
// It finds the inputs (files, folders, globs, hive-partitioned folders),
// opens Parquet files with parquet-go's page API (the fast path measured in
// shared/notes/parquet-reading.md) and Arrow IPC files and streams with
// arrow/ipc, and decodes only the requested columns, one unit of work (a
// Parquet row group, an IPC record batch) at a time. A chunk is not an Arrow
// record: it is a set of Columns whose values sit in plain typed slices, so
// the pipeline's kernels can loop over them without interface calls.
//
// Every failure caused by the data is an *evalerr.InputError naming the file
// and, where known, row group, row and column. Corrupt files never panic out
// of this package.
package readers
