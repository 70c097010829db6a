// Package config loads and checks an evaljob job description: the YAML file
// of SPEC §2 with its `--set` overrides and ${VAR} expansion, or the flags of
// the flags-only command line. The result is a Config whose paths are
// absolute and whose defaults are filled in, ready for the pipeline.
//
// Every problem is an evalerr.ErrConfig error naming the key.
package config
