package writers

import (
	"bytes"
	"encoding/json"

	"github.com/evaljob/evaljob/evalerr"
)

// WriteJSON writes v to s as JSON indented by two spaces, with a trailing
// newline. HTML characters (<, >, &) are not escaped, so config values read
// as written. A value that cannot be marshalled is an evalerr.ErrOutput
// error, as is a failed write.
func WriteJSON(s *Staged, v any) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return evalerr.Outputf("encoding %s: %w", s.Path(), err)
	}
	_, err := s.Write(buf.Bytes())
	return err
}
