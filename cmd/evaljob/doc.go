// Command evaljob evaluates model predictions stored in Parquet and Arrow
// files: cross-entropy, log-loss, perplexity and their companions, per
// group, written to Parquet.
//
// Usage:
//
//	evaljob run --config FILE [--set key.path=value ...]
//	evaljob run --input PATH [--input PATH ...] --task T --label COL --prediction COL
//	            [--prediction-kind K] [--group-by a,b] [--per-row] --out DIR
//	evaljob validate --config FILE
//	evaljob version
//
// Exit codes: 0 success, 1 a quality gate failed, 2 usage or config error,
// 3 input data error, 4 output could not be written, 130/143 interrupted
// by SIGINT/SIGTERM, 70 internal error (a bug).
//
// This package is wiring only: flags, config loading, signals, logging and
// the mapping of error categories to exit codes.
package main
