// Package metrics is evaljob's math: per-row losses and companions for each
// task, exact accumulators for the sufficient statistics of a group, and the
// finalisation of those statistics into the metrics of SPEC §3 and §4.
//
// It imports nothing but the standard library. Functions are pure and work on
// float64 values; the pipeline converts column types and handles nulls and
// ignore_index before calling in.
//
// Sums are exact: Sum is a fixed-point superaccumulator over the whole
// float64 range, so merging partial sums in any order gives the same bits,
// and a mean is the exactly rounded quotient of exact sums. This is what
// makes output bytes independent of workers and chunk sizes.
//
// ClassStats serves binary, multiclass and multilabel (rows through AddLoss,
// their (row, label) pairs through AddPair); RegStats serves regression; the
// token task accumulates each sequence in a SeqStats and a group's sequences
// in a TokenStats, whose unit for the standard error and
// seq_perplexity_mean is the sequence.
//
// Memory grows with the number of groups (SPEC §5), so the accumulators are
// compact: a Sum stores only the window of 32-bit limbs its values touched
// (32 bytes plus 8 per limb; typical data needs 3 to 8 limbs), and a
// ClassStats allocates a calibration bin's sums only when a row reaches it.
// A group costs about 0.3 KB empty, 0.9 to 1.1 KB after a handful of rows and
// 3 to 4 KB after many rows of typical values.
package metrics
