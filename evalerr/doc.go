// Package evalerr holds evaljob's error categories and its one positional
// error type.
//
// Every layer wraps its failures so that errors.Is finds exactly one of the
// category sentinels (ErrConfig, ErrInput, ErrOutput); cmd/evaljob maps the
// category to the exit code of SPEC §1. An input problem that has a place in
// a file is an *InputError, which names the file, row group, row offset,
// column and value, in the spirit of encoding/csv's ParseError.
package evalerr
