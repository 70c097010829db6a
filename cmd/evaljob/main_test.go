package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func fixture(name string) string { return filepath.Join("..", "..", "testdata", name) }

const exampleConfig = "../../configs/example.yaml"

// evaljob runs the command in-process, piped, and returns its exit code
// and output.
func evaljob(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(args, &out, &errb)
	return code, out.String(), errb.String()
}

// ttyBuffer is a buffer that passes for a terminal.
type ttyBuffer struct{ bytes.Buffer }

func (*ttyBuffer) IsTerminal() bool { return true }

// evaljobTTY is evaljob with stdout on a terminal.
func evaljobTTY(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out ttyBuffer
	var errb bytes.Buffer
	code := run(args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestExitCodes(t *testing.T) {
	tmp := t.TempDir()
	notDir := filepath.Join(tmp, "file")
	if err := os.WriteFile(notDir, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	badConfig := filepath.Join(tmp, "bad.yaml")
	os.WriteFile(badConfig, []byte("inputs: [x]\ntask: binary\nbogus: 1\n"), 0o644)
	out := func(name string) string { return "output.dir=" + filepath.Join(tmp, name) }

	for _, tc := range []struct {
		name    string
		args    []string
		code    int
		mention string // in stderr
	}{
		{"version", []string{"version"}, 0, ""},
		{"version with an argument", []string{"version", "--bogus"}, 2, "version takes no arguments"},
		{"version --help", []string{"version", "--help"}, 0, ""},
		{"version -help", []string{"version", "-help"}, 0, ""},
		{"run --help", []string{"run", "--help"}, 0, ""},
		{"validate -h", []string{"validate", "-h"}, 0, ""},
		{"config twice", []string{"run", "--config", exampleConfig, "--config", badConfig}, 2, "-config: given twice"},
		{"empty input", []string{"run", "--input", "", "--task", "binary", "--label", "label", "--prediction", "prob", "--out", filepath.Join(tmp, "h")}, 2, "--input: an empty path"},
		{"no command", nil, 2, ""},
		{"unknown command", []string{"frobnicate"}, 2, "unknown command"},
		{"unknown flag", []string{"run", "--nope"}, 2, "nope"},
		{"config and flags", []string{"run", "--config", exampleConfig, "--task", "binary"}, 2, "either --config"},
		{"config and job flags", []string{"run", "--config", exampleConfig, "--per-row", "--label", "y"}, 2, "not both: --label --per-row"},
		{"unknown key", []string{"run", "--config", badConfig}, 2, `unknown key "bogus"`},
		{"missing config", []string{"run", "--config", filepath.Join(tmp, "none.yaml")}, 2, "none.yaml"},
		{"example", []string{"run", "--config", exampleConfig, "--set", out("ok")}, 0, ""},
		{"missing input", []string{"run", "--config", exampleConfig, "--set", out("a"), "--set", "inputs=[" + filepath.Join(tmp, "nothing*.parquet") + "]"}, 3, "nothing*.parquet"},
		{"missing column", []string{"run", "--config", exampleConfig, "--set", out("b"), "--set", "columns.label=truth"}, 3, `column "truth": missing column`},
		{"wrong type", []string{"run", "--config", exampleConfig, "--set", out("c"), "--set", "columns.prediction=model"}, 3, `column "model": wrong type`},
		{"invalid value", []string{"run", "--input", fixture("binary/invalid.parquet"), "--task", "binary", "--label", "label", "--prediction", "prob", "--out", filepath.Join(tmp, "d")}, 3, `invalid.parquet: row group 0, row 3, column "prob", value 1.5: probability outside [0, 1]`},
		{"not parquet", []string{"run", "--input", badConfig, "--task", "binary", "--label", "label", "--prediction", "prob", "--out", filepath.Join(tmp, "e")}, 3, "bad.yaml"},
		{"unwritable output", []string{"run", "--config", exampleConfig, "--set", "output.dir=" + filepath.Join(notDir, "out")}, 4, notDir},
		{"flags mode", []string{"run", "--input", fixture("example"), "--task", "binary", "--label", "label", "--prediction", "prob", "--group-by", "model,slice", "--per-row", "--out", filepath.Join(tmp, "f")}, 0, ""},
		{"labels skip", append(joinArgs(tmp, "g"), "--unmatched", "skip"), 0, ""},
		{"labels unmatched", joinArgs(tmp, "h"), 3, `predictions.parquet: row group 0, row 9, column "request_id", value 10: no label row has this key`},
		{"labels duplicate", joinArgs(tmp, "i", "join/labels_dup.parquet"), 3, `labels_dup.parquet: row group 0, row 140, column "request_id", value 7: duplicate label key: also in`},
		{"labels bad unmatched", append(joinArgs(tmp, "j"), "--unmatched", "drop"), 2, "labels.unmatched"},
		{"join without labels", []string{"run", "--input", fixture("join/predictions.parquet"), "--task", "binary", "--label", "label", "--prediction", "prob", "--join", "request_id", "--out", filepath.Join(tmp, "k")}, 2, "--labels"},
		{"validate", []string{"validate", "--config", exampleConfig}, 0, ""},
		{"validate bad column", []string{"validate", "--config", exampleConfig, "--set", "columns.weight=w"}, 3, `column "w"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := evaljob(t, tc.args...)
			if code != tc.code {
				t.Errorf("exit %d, want %d; stderr:\n%s", code, tc.code, stderr)
			}
			if !strings.Contains(stderr, tc.mention) {
				t.Errorf("stderr does not mention %q:\n%s", tc.mention, stderr)
			}
		})
	}
}

func TestOverwriteRefused(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out")
	args := []string{"run", "--input", fixture("example"), "--task", "binary", "--label", "label", "--prediction", "prob", "--out", dir}
	if code, _, stderr := evaljob(t, args...); code != 0 {
		t.Fatalf("first run: exit %d\n%s", code, stderr)
	}
	code, _, stderr := evaljob(t, args...)
	if code != 2 || !strings.Contains(stderr, "overwrite") {
		t.Errorf("second run: exit %d, want 2 naming overwrite; stderr:\n%s", code, stderr)
	}
	if code, _, stderr := evaljob(t, append(args, "--overwrite")...); code != 0 {
		t.Errorf("--overwrite: exit %d\n%s", code, stderr)
	}
}

// TestQuietWhenPiped: piped, a run draws no progress line and prints
// nothing on stdout (SPEC §5); its log records still go to stderr, for
// schedulers, a failing gate's reason among them (CI logs), and the error
// line names report.md.
func TestQuietWhenPiped(t *testing.T) {
	tmp := t.TempDir()
	code, stdout, stderr := evaljob(t, "run", "--config", exampleConfig, "--set", "output.dir="+filepath.Join(tmp, "a"))
	if code != 0 || stdout != "" || !strings.Contains(stderr, "msg=done") || strings.ContainsAny(stderr, "\r\033") {
		t.Errorf("exit %d, stdout %q, stderr %q; want 0, nothing, log records only", code, stdout, stderr)
	}
	dir := filepath.Join(tmp, "b")
	code, stdout, stderr = evaljob(t, "run", "--config", exampleConfig, "--set", "output.dir="+dir, "--set", "gates=[{metric: log_loss, max: 0.5}]")
	last := "evaljob: quality gate failed: 1 of 1 gate checks failed (outputs are written; see " + filepath.Join(dir, "report.md") + ")\n"
	if code != 1 || stdout != "" || !strings.HasSuffix(stderr, last) || !strings.Contains(stderr, `level=WARN msg="gate failed" gate=0 metric=log_loss group=overall reason="log_loss 0.`) {
		t.Errorf("exit %d, stdout %q, stderr %q; want 1, nothing, the gate's reason and %q", code, stdout, stderr, last)
	}
}

func TestRunPrintsSummaryPath(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out")
	code, stdout, stderr := evaljobTTY(t, "run", "--config", exampleConfig, "--set", "output.dir="+dir, "--log-format", "json")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	if !strings.Contains(stdout, filepath.Join(dir, "summary.parquet")) {
		t.Errorf("stdout does not say where the summary went:\n%s", stdout)
	}
	if !strings.Contains(stderr, `"msg":"done"`) {
		t.Errorf("--log-format json: stderr is not JSON logs:\n%s", stderr)
	}
	for _, name := range []string{"summary.parquet", "rows.parquet", "manifest.json"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Error(err)
		}
	}
}

// TestJSONLogsOnFailure: with --log-format json every line on stderr is a
// JSON record, the failure too (it was a plain "evaljob: ..." line, the
// one a scheduler's log pipeline most needs): level ERROR, the exit code
// and the error; for validate as for run, whatever --log-level.
func TestJSONLogsOnFailure(t *testing.T) {
	tmp := t.TempDir()
	for _, tc := range []struct {
		name    string
		args    []string
		code    int
		mention string
	}{
		{"input error", []string{"run", "--config", exampleConfig, "--set", "output.dir=" + filepath.Join(tmp, "a"), "--set", "columns.label=truth", "--log-format", "json"}, 3, `column \"truth\": missing column`},
		{"config error", []string{"run", "--config", exampleConfig, "--set", "options.nope=1", "--log-format", "json", "--log-level", "error"}, 2, `unknown key \"options.nope\"`},
		{"gate", []string{"run", "--config", exampleConfig, "--set", "output.dir=" + filepath.Join(tmp, "b"), "--set", "gates=[{metric: log_loss, max: 0.5}]", "--log-format", "json"}, 1, "1 of 1 gate checks failed"},
		{"validate", []string{"validate", "--config", exampleConfig, "--set", "columns.weight=w", "--log-format", "json"}, 3, `column \"w\"`},
		{"bad flag", []string{"run", "--log-format=json", "--bogus"}, 2, "bogus"},
		{"bad log level", []string{"run", "--log-format", "json", "--log-level", "loud"}, 2, "loud"},
	} {
		code, _, stderr := evaljob(t, tc.args...)
		if code != tc.code {
			t.Errorf("%s: exit %d, want %d\n%s", tc.name, code, tc.code, stderr)
		}
		lines := strings.Split(strings.TrimSpace(stderr), "\n")
		for _, line := range lines {
			var rec map[string]any
			if err := json.Unmarshal([]byte(line), &rec); err != nil {
				t.Errorf("%s: not a JSON record: %s", tc.name, line)
			}
		}
		last := lines[len(lines)-1]
		want := fmt.Sprintf(`"level":"ERROR","msg":"failed","exit_code":%d,"error":`, tc.code)
		if !strings.Contains(last, want) || !strings.Contains(last, tc.mention) {
			t.Errorf("%s: last record %s, want %s... %s", tc.name, last, want, tc.mention)
		}
	}
}

// A failing gate exits 1 with every output written, and the report is printed.
func TestGateExitCode(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out")
	code, stdout, stderr := evaljobTTY(t, "run", "--config", exampleConfig, "--set", "output.dir="+dir,
		"--set", "gates=[{metric: log_loss, max: 0.5}]")
	if code != 1 {
		t.Fatalf("exit %d, want 1\n%s", code, stderr)
	}
	if !strings.Contains(stdout, "FAILED") || !strings.Contains(stderr, "1 of 1 gate checks failed") {
		t.Errorf("stdout:\n%s\nstderr:\n%s", stdout, stderr)
	}
	for _, name := range []string{"summary.parquet", "rows.parquet", "manifest.json", "gates.json", "report.md", "junit.xml"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Error(err)
		}
	}
	code, _, stderr = evaljob(t, "run", "--config", exampleConfig, "--set", "output.dir="+dir,
		"--set", "gates=[{metric: log_loss, max: 0.9}]")
	if code != 0 {
		t.Errorf("passing gate: exit %d\n%s", code, stderr)
	}
	code, _, stderr = evaljob(t, "run", "--config", exampleConfig, "--set", "output.dir="+dir,
		"--set", "gates=[{metric: roc_auc, max: 0.9}]")
	if code != 2 || !strings.Contains(stderr, "roc_auc") {
		t.Errorf("unknown gate metric: exit %d, want 2 naming it\n%s", code, stderr)
	}
}

// joinArgs is flags mode with labels in their own file (testdata/join).
// labels is the label fixture (default join/labels.parquet).
func joinArgs(tmp, out string, labels ...string) []string {
	if labels == nil {
		labels = []string{"join/labels.parquet"}
	}
	return []string{"run", "--input", fixture("join/predictions.parquet"), "--task", "binary", "--label", "label",
		"--prediction", "prob", "--weight", "weight", "--labels", fixture(labels[0]), "--join", "request_id",
		"--out", filepath.Join(tmp, out)}
}

// TestJSONSignalRecord: a signal that ends a run under --log-format json is
// a WARN record with exit code 130/143, even at --log-level error (the
// last record says why the job ended, whatever the level).
func TestJSONSignalRecord(t *testing.T) {
	for _, tc := range []struct {
		sig  os.Signal
		code int
		msg  string
	}{
		{syscall.SIGTERM, 143, "terminated (SIGTERM); no output was published"},
		{os.Interrupt, 130, "interrupted (SIGINT); no output was published"},
	} {
		var b bytes.Buffer
		log := slog.New(slog.NewJSONHandler(&b, &slog.HandlerOptions{Level: slog.LevelError}))
		if code := exitCode(context.Canceled, tc.sig, &b, log); code != tc.code {
			t.Errorf("%v: exit %d, want %d", tc.sig, code, tc.code)
		}
		var rec map[string]any
		if err := json.Unmarshal(b.Bytes(), &rec); err != nil {
			t.Fatalf("%v: not one JSON record: %q", tc.sig, b.String())
		}
		if rec["level"] != "WARN" || rec["msg"] != tc.msg || rec["exit_code"] != float64(tc.code) {
			t.Errorf("%v: record %v", tc.sig, rec)
		}
	}
}

// panicWriter panics on Write: a stand-in for a bug inside a command.
type panicWriter struct{}

func (panicWriter) Write([]byte) (int, error) { panic("boom") }

// TestInternalErrorRecord: a panic is exit 70 with its message and stack,
// as a JSON record under --log-format json (it was plain text there).
func TestInternalErrorRecord(t *testing.T) {
	for _, format := range []string{"json", "text"} {
		var errb bytes.Buffer
		code := run([]string{"validate", "--config", exampleConfig, "--log-format", format}, panicWriter{}, &errb)
		if code != exitInternal {
			t.Errorf("%s: exit %d, want %d", format, code, exitInternal)
		}
		if format == "text" {
			if !strings.HasPrefix(errb.String(), "evaljob: internal error (please report): boom\n") {
				t.Errorf("text: stderr %q", errb.String())
			}
			continue
		}
		var rec map[string]any
		if err := json.Unmarshal(errb.Bytes(), &rec); err != nil {
			t.Fatalf("json: stderr is not one JSON record: %v\n%s", err, errb.String())
		}
		if rec["level"] != "ERROR" || rec["exit_code"] != float64(exitInternal) || rec["error"] != "internal error (please report): boom" || rec["stack"] == "" {
			t.Errorf("json: record %v", rec)
		}
	}
}

// TestFlagGivenTwice: --config twice is an error (one file would be
// ignored); any other flag takes its last value, so a wrapper can append
// overrides.
func TestFlagGivenTwice(t *testing.T) {
	tmp := t.TempDir()
	first, last := filepath.Join(tmp, "first"), filepath.Join(tmp, "last")
	code, _, stderr := evaljob(t, "run", "--input", fixture("example"), "--task", "binary", "--label", "label", "--prediction", "prob",
		"--out", first, "--workers", "1", "--out", last, "--workers", "2")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	if _, err := os.Stat(filepath.Join(last, "summary.parquet")); err != nil {
		t.Errorf("the last --out: %v", err)
	}
	if _, err := os.Stat(first); err == nil {
		t.Errorf("the first --out %s was written", first)
	}
}
