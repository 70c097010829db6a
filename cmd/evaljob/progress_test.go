package main

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestProgressLine(t *testing.T) {
	for _, tc := range []struct {
		done, total int64
		elapsed     time.Duration
		want        string
	}{
		// 12.3M of 50M in 1.5 s: 8.2M rows/s, 37.7M left / 8.2M/s = 4.6 s.
		{12_300_000, 50_000_000, 1500 * time.Millisecond, "evaljob: 12.30M / 50.00M rows (24.6%), 8.20M rows/s, ETA 5s"},
		{999, 0, time.Second, "evaljob: 999 rows, 999 rows/s"},
		{2500, -1, 2 * time.Second, "evaljob: 2.5k rows, 1.2k rows/s"},
		{50, 50, time.Second, "evaljob: 50 / 50 rows (100.0%), 50 rows/s"},
	} {
		if got := progressLine(tc.done, tc.total, tc.elapsed); got != tc.want {
			t.Errorf("progressLine(%d, %d, %v) = %q, want %q", tc.done, tc.total, tc.elapsed, got, tc.want)
		}
	}
}

// Output that is not a terminal gets no progress line.
func TestNoProgressWhenPiped(t *testing.T) {
	var b bytes.Buffer
	if isTerminal(&b) {
		t.Error("a buffer is not a terminal")
	}
	code, _, stderr := evaljob(t, "run", "--config", exampleConfig, "--set", "output.dir="+t.TempDir(), "--log-level", "warn")
	if code != 0 || stderr != "" {
		t.Errorf("exit %d; stderr %q, want nothing when piped at --log-level warn", code, stderr)
	}
}

// TestTerminalLogOnItsOwnLine: a log record written while the progress
// line shows erases it first (it read "...ETA 0stime=... msg=done"); the
// next redraw draws the line again.
func TestTerminalLogOnItsOwnLine(t *testing.T) {
	var b strings.Builder
	term := &terminal{w: &b}
	term.progress("evaljob: 1.0M rows")
	fmt.Fprint(term, "time=now msg=done\n")
	fmt.Fprint(term, "time=now msg=next\n")
	term.progress("evaljob: 2.0M rows")
	term.progress("")
	want := "\r\033[Kevaljob: 1.0M rows" + "\r\033[K" + "time=now msg=done\n" + "time=now msg=next\n" +
		"\r\033[Kevaljob: 2.0M rows" + "\r\033[K"
	if got := b.String(); got != want {
		t.Errorf("got %q\nwant %q", got, want)
	}
}
