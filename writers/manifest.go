package writers

import (
	"bytes"
	"encoding/json"
	"time"
)

// Manifest is manifest.json: what a run read, what it wrote and how it
// ended. It is the last file published, so its presence marks a complete
// output folder, and its SHA-256 sums let a consumer check the other files.
type Manifest struct {
	RunID      string `json:"run_id"`
	Version    string `json:"version"`
	StartedAt  string `json:"started_at"`  // RFC 3339 with nanoseconds, UTC; see Timestamp
	FinishedAt string `json:"finished_at"` // RFC 3339 with nanoseconds, UTC
	Status     string `json:"status"`
	// Config is the resolved config, environment variables expanded.
	Config  any              `json:"config"`
	Inputs  []ManifestInput  `json:"inputs"`
	Outputs []ManifestOutput `json:"outputs"`
	// Labels lists the label files, when labels are in their own files
	// (one entry per file, like Inputs).
	Labels []ManifestInput `json:"labels,omitempty"`
	// LabelsUnmatched counts label rows that matched no prediction row;
	// only present when labels are in their own files.
	LabelsUnmatched *int64 `json:"labels_unmatched,omitempty"`
	// Gates holds the gate results; an empty list (never null) when none.
	Gates []any `json:"gates"`
}

// ManifestInput is one input file.
type ManifestInput struct {
	Path  string `json:"path"`
	Bytes int64  `json:"bytes"`
	Rows  int64  `json:"rows"`
}

// ManifestOutput is one output file other than the manifest.
type ManifestOutput struct {
	Path   string `json:"path"`
	Rows   int64  `json:"rows"`
	SHA256 string `json:"sha256"`
}

// Timestamp formats t for the manifest: RFC 3339 with nanoseconds, in UTC.
func Timestamp(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// MarshalJSON writes empty lists, not null, for missing inputs, outputs and
// gates.
func (m Manifest) MarshalJSON() ([]byte, error) {
	type plain Manifest
	if m.Inputs == nil {
		m.Inputs = []ManifestInput{}
	}
	if m.Outputs == nil {
		m.Outputs = []ManifestOutput{}
	}
	if m.Gates == nil {
		m.Gates = []any{}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(plain(m)); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}
