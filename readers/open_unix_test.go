//go:build unix

package readers

import (
	"errors"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/evaljob/evaljob/evalerr"
)

// TestOpenNamedPipe: a named pipe is an input error, at once: its open
// would wait for a writer, a hang that no signal ended (found by a
// black-box audit). So is a device.
func TestOpenNamedPipe(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "p.parquet")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Skip(err)
	}
	for path, kind := range map[string]string{fifo: "a named pipe", "/dev/null": "a device"} {
		var err error
		done := make(chan struct{})
		go func() {
			_, err = Open(Input{Path: path})
			close(done)
		}()
		select {
		case <-done:
		case <-time.After(time.Minute):
			t.Fatalf("%s: Open blocks", path)
		}
		if !errors.Is(err, evalerr.ErrInput) || !strings.Contains(err.Error(), "not a regular file: "+kind) || !strings.Contains(err.Error(), path) {
			t.Errorf("%s: got %v, want an input error: not a regular file: %s", path, err, kind)
		}
	}
}
