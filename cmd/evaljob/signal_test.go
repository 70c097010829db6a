package main

import (
	"bufio"
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/memory"
	"github.com/apache/arrow/go/v17/parquet"
	"github.com/apache/arrow/go/v17/parquet/pqarrow"
)

// TestSIGTERM runs the real binary on an input with many groups, sends
// SIGTERM while it works, and checks SPEC §5: exit 143, nothing new under a
// final name, no temporary file left, an earlier run's outputs unchanged.
func TestSIGTERM(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs a multi-second job")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "evaljob")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	in := filepath.Join(dir, "many-groups.parquet")
	writeManyGroups(t, in, 400_000)
	out := filepath.Join(dir, "out")
	args := []string{"run", "--input", in, "--task", "binary", "--label", "label", "--prediction", "prob",
		"--group-by", "id", "--out", out, "--overwrite", "--log-format", "json"}

	// An earlier run's outputs, from a small input.
	small := filepath.Join(dir, "small.parquet")
	writeManyGroups(t, small, 100)
	early := append([]string{}, args...)
	early[2] = small
	if b, err := exec.Command(bin, early...).CombinedOutput(); err != nil {
		t.Fatalf("earlier run: %v\n%s", err, b)
	}
	before := snapshot(t, out)

	cmd := exec.Command(bin, args...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := bufio.NewScanner(stderr)
	for lines.Scan() && !strings.Contains(lines.Text(), `"msg":"plan"`) {
	}
	time.Sleep(300 * time.Millisecond) // well inside a run of several seconds
	start := time.Now()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	for lines.Scan() {
	}
	err = cmd.Wait()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 143 {
		t.Fatalf("exit: %v, want 143", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %v to stop after SIGTERM", d)
	}
	after := snapshot(t, out)
	if len(after) != len(before) {
		t.Errorf("files before %v, after %v", keys(before), keys(after))
	}
	for name, b := range before {
		if !bytes.Equal(after[name], b) {
			t.Errorf("%s changed", name)
		}
	}
}

func snapshot(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string][]byte{}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		m[e.Name()] = b
	}
	return m
}

func keys(m map[string][]byte) []string {
	var k []string
	for n := range m {
		k = append(k, n)
	}
	return k
}

// writeManyGroups writes n rows with a unique int64 id each.
func writeManyGroups(t *testing.T, path string, n int) {
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "label", Type: arrow.PrimitiveTypes.Int64},
		{Name: "prob", Type: arrow.PrimitiveTypes.Float64},
	}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	for i := range n {
		b.Field(0).(*array.Int64Builder).Append(int64(i))
		b.Field(1).(*array.Int64Builder).Append(int64(i % 2))
		b.Field(2).(*array.Float64Builder).Append(float64(i%997+1) / 1000)
	}
	rec := b.NewRecord()
	defer rec.Release()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tbl := array.NewTableFromRecords(schema, []arrow.Record{rec})
	defer tbl.Release()
	if err := pqarrow.WriteTable(tbl, f, 1<<16, parquet.NewWriterProperties(), pqarrow.DefaultWriterProps()); err != nil {
		t.Fatal(err)
	}
}
