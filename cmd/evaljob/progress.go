package main

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"golang.org/x/term"

	"github.com/evaljob/evaljob/pipeline"
)

// isTerminal reports whether w is a terminal (not /dev/null, a pipe or a
// file): the progress line and the closing lines are for a terminal only,
// so that piped output stays quiet. A writer may say so itself
// (IsTerminal: the terminal below, tests).
func isTerminal(w io.Writer) bool {
	switch w := w.(type) {
	case interface{ IsTerminal() bool }:
		return w.IsTerminal()
	case *os.File:
		return term.IsTerminal(int(w.Fd()))
	}
	return false
}

// terminal is a terminal that shows a progress line and log records: a
// record first erases the line (it was "...ETA 0stime=... msg=done"), and
// the next redraw brings the line back below it.
type terminal struct {
	w     io.Writer
	mu    sync.Mutex
	shown bool // a progress line is on the screen
}

// IsTerminal says that t is a terminal.
func (t *terminal) IsTerminal() bool { return true }

// Write writes a log record, on a line of its own.
func (t *terminal) Write(b []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.shown {
		fmt.Fprint(t.w, "\r\033[K")
		t.shown = false
	}
	return t.w.Write(b)
}

// progress redraws the progress line ("" erases it).
func (t *terminal) progress(line string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	fmt.Fprint(t.w, "\r\033[K"+line)
	t.shown = line != ""
}

// showProgress redraws a one-line progress display on t four times a second
// until the returned stop is called, which erases it.
func showProgress(t *terminal, p *pipeline.Progress) (stop func()) {
	start := time.Now()
	quit, finished := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(finished)
		tick := time.NewTicker(250 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-quit:
				t.progress("")
				return
			case <-tick.C:
				t.progress(progressLine(p.Done(), p.Total(), time.Since(start)))
			}
		}
	}()
	return func() { close(quit); <-finished }
}

// progressLine is `evaljob: 12.3M / 50.0M rows (24.6%), 8.10M rows/s, ETA 5s`;
// without a known total it leaves out the share and the ETA.
func progressLine(done, total int64, elapsed time.Duration) string {
	rate := 0.0
	if s := elapsed.Seconds(); s > 0 {
		rate = float64(done) / s
	}
	if total <= 0 {
		return fmt.Sprintf("evaljob: %s rows, %s rows/s", count(float64(done)), count(rate))
	}
	line := fmt.Sprintf("evaljob: %s / %s rows (%.1f%%), %s rows/s", count(float64(done)), count(float64(total)),
		100*float64(done)/float64(total), count(rate))
	if rate > 0 && done < total {
		eta := time.Duration(float64(total-done) / rate * float64(time.Second))
		line += ", ETA " + eta.Round(time.Second).String()
	}
	return line
}

// count formats a number of rows with a k/M/G suffix.
func count(n float64) string {
	switch {
	case n >= 1e9:
		return fmt.Sprintf("%.2fG", n/1e9)
	case n >= 1e6:
		return fmt.Sprintf("%.2fM", n/1e6)
	case n >= 1e3:
		return fmt.Sprintf("%.1fk", n/1e3)
	}
	return fmt.Sprintf("%.0f", n)
}
