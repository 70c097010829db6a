// Package pipeline runs an evaluation job: it plans the run (inputs,
// columns, types), scores chunks on a bounded worker pool, groups the rows
// into grouping sets, and hands the summary and per-row tables to writers.
//
// A chunk travels like this: readers decode one unit (row group, record
// batch) into typed slices → a worker turns its group keys into dense cell
// ids → the task's loop scores each row with the pure functions of
// pipeline/metrics and adds it to its cell's exact sums → when all units
// are done the cells of all workers are merged and rolled up into the
// grouping sets. Because the sums are exact, the result does not depend on
// how rows were split into chunks or spread over workers. Per-row results
// travel to a single writer that puts them back in input order.
package pipeline
