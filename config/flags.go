package config

import (
	"os"
	"path/filepath"

	"github.com/evaljob/evaljob/evalerr"
)

// Flags are the values of the flags-only form of `evaljob run`.
type Flags struct {
	Inputs         []string
	Task           string
	Label          string
	Prediction     []string
	PredictionKind string
	Weight         string
	Sequence       string
	Mask           string
	Bytes          string
	Words          string
	GroupBy        [][]string // each --group-by a,b is one grouping set
	Keep           []string
	PerRow         bool
	Out            string
	Overwrite      bool
	OnInvalid      string
	Workers        int
	// Label files (SPEC §2): --labels (repeatable), --join a,b, --unmatched.
	Labels    []string
	Join      []string
	Unmatched string
}

// FromFlags builds a Config from the flags-only command line. Paths are
// relative to the working directory.
func FromFlags(f Flags) (*Config, error) {
	cfg := Default()
	cfg.Inputs = f.Inputs
	cfg.Task = f.Task
	cfg.Columns.Label = f.Label
	cfg.Columns.Prediction = f.Prediction
	if f.PredictionKind != "" {
		cfg.Columns.PredictionKind = f.PredictionKind
	}
	cfg.Columns.Weight = f.Weight
	cfg.Columns.Sequence = f.Sequence
	cfg.Columns.Mask = f.Mask
	cfg.Columns.Bytes = f.Bytes
	cfg.Columns.Words = f.Words
	if f.Keep != nil {
		cfg.Columns.Keep = f.Keep
	}
	cfg.GroupBy = f.GroupBy
	cfg.Output = Output{Dir: f.Out, PerRow: f.PerRow, Overwrite: f.Overwrite}
	if f.OnInvalid != "" {
		cfg.Options.OnInvalid = f.OnInvalid
	}
	cfg.Workers = f.Workers
	if f.Labels != nil || f.Join != nil || f.Unmatched != "" {
		if f.Labels == nil {
			return nil, evalerr.Configf("--join and --unmatched need --labels")
		}
		cfg.Labels = &Labels{Inputs: f.Labels, Join: f.Join, Unmatched: f.Unmatched}
	}
	if f.Out == "" {
		return nil, evalerr.Configf("--out is required")
	}
	// An empty path is none ("--input $DIR" with DIR unset), not the
	// working directory.
	for _, p := range f.Inputs {
		if p == "" {
			return nil, evalerr.Configf("--input: an empty path")
		}
	}
	for _, p := range f.Labels {
		if p == "" {
			return nil, evalerr.Configf("--labels: an empty path")
		}
	}
	cwd, err := os.Getwd()
	if err != nil {
		return nil, evalerr.Configf("working directory: %w", err)
	}
	cfg.resolvePaths(func(string) string { return cwd })
	for i, p := range cfg.Inputs {
		cfg.Inputs[i] = filepath.Clean(p)
	}
	if cfg.Labels != nil {
		for i, p := range cfg.Labels.Inputs {
			cfg.Labels.Inputs[i] = filepath.Clean(p)
		}
	}
	if err := cfg.Check(); err != nil {
		return nil, err
	}
	return cfg, nil
}
