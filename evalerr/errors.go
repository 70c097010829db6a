package evalerr

import (
	"errors"
	"fmt"
	"strings"
)

// Category sentinels. Test with errors.Is.
var (
	// ErrConfig is a usage or configuration error (exit 2).
	ErrConfig = errors.New("config error")
	// ErrInput is an input data error (exit 3).
	ErrInput = errors.New("input data error")
	// ErrOutput is an output that could not be written (exit 4).
	ErrOutput = errors.New("output error")
)

// Configf returns a config error with a formatted message.
func Configf(format string, args ...any) error {
	return &categorized{cat: ErrConfig, err: fmt.Errorf(format, args...)}
}

// Outputf returns an output error with a formatted message.
func Outputf(format string, args ...any) error {
	return &categorized{cat: ErrOutput, err: fmt.Errorf(format, args...)}
}

// Inputf returns an input error without a position (use InputError when the
// place in a file is known).
func Inputf(format string, args ...any) error {
	return &categorized{cat: ErrInput, err: fmt.Errorf(format, args...)}
}

type categorized struct {
	cat error
	err error
}

func (e *categorized) Error() string   { return e.err.Error() }
func (e *categorized) Unwrap() []error { return []error{e.cat, e.err} }

// InputError is an input data problem at a place in a file. It always
// matches ErrInput under errors.Is.
type InputError struct {
	Path     string // file
	RowGroup int    // Parquet row group or Arrow record batch, 0-based; -1 when unknown
	Row      int64  // row offset inside the file, 0-based; -1 when unknown
	Column   string // "" when unknown
	Value    string // the offending value as text; "" when not applicable
	Err      error  // what is wrong
}

// Error reads like
// `data/a.parquet: row group 2, row 1234, column "prob", value -0.5: probability outside [0, 1]`.
func (e *InputError) Error() string {
	var b strings.Builder
	b.WriteString(e.Path)
	var parts []string
	if e.RowGroup >= 0 {
		parts = append(parts, fmt.Sprintf("row group %d", e.RowGroup))
	}
	if e.Row >= 0 {
		parts = append(parts, fmt.Sprintf("row %d", e.Row))
	}
	if e.Column != "" {
		parts = append(parts, fmt.Sprintf("column %q", e.Column))
	}
	if e.Value != "" {
		parts = append(parts, "value "+e.Value)
	}
	if len(parts) > 0 {
		b.WriteString(": ")
		b.WriteString(strings.Join(parts, ", "))
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

func (e *InputError) Unwrap() []error {
	if e.Err == nil {
		return []error{ErrInput}
	}
	return []error{ErrInput, e.Err}
}
