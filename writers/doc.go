// Package writers puts evaljob's results on disk: the summary and per-row
// Parquet files, manifest.json and the gate reports.
//
// Every output goes through a Dir. Dir.Create stages a file under a hidden
// temporary name (".summary.parquet.tmp-1f2e...") in the output folder, so a
// reader of the folder never sees a file under its final name before it is
// complete; Dir.Commit makes all staged files durable (fsync) and then
// renames them into place in the order they were created, the manifest last;
// Dir.Abort removes the temporary files and leaves an earlier run's output
// untouched.
//
// ParquetWriter turns Arrow records into Parquet through pqarrow with fixed
// settings (zstd, column statistics, the Arrow schema stored in the footer,
// a constant created_by) and with row groups cut at fixed row counts, so the
// bytes of a file depend only on the rows written: not on how the caller
// batched them, on timing or on the host.
//
// Failures to write come back as errors that match evalerr.ErrOutput and name
// the file; an output that exists while output.overwrite is false is an
// evalerr.ErrConfig error.
package writers
