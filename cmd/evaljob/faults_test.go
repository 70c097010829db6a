package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/ipc"
	"github.com/apache/arrow/go/v17/arrow/memory"
	"github.com/apache/arrow/go/v17/parquet"
	"github.com/apache/arrow/go/v17/parquet/pqarrow"
)

// Faults outside the input's bytes (SPEC §1 exit codes, §4 atomic writes,
// §5 operations): a SIGKILL in the middle of writing, an output that cannot
// be written, an input that changes under a running job. They run the real
// binary, built once per test.

// faultHang bounds every run of the binary: a run that takes this long is
// a hang, not a slow machine.
const faultHang = 60 * time.Second

// writeRandomRows writes n rows of incompressible binary predictions in row
// groups of 64Ki rows: id (int64), label (int64 0/1), prob (float64 in
// (0,1)), note (a short string, so rows.parquet with keep is large).
func writeRandomRows(t *testing.T, path string, n int, seed uint64) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w, err := pqarrow.NewFileWriter(randomSchema, f, parquet.NewWriterProperties(), pqarrow.DefaultWriterProps())
	if err != nil {
		t.Fatal(err)
	}
	writeRandomBatches(t, w, n, 1<<16, seed)
}

// randomSchema is the schema of writeRandomRows and writeRandomIPC.
var randomSchema = arrow.NewSchema([]arrow.Field{
	{Name: "id", Type: arrow.PrimitiveTypes.Int64},
	{Name: "label", Type: arrow.PrimitiveTypes.Int64},
	{Name: "prob", Type: arrow.PrimitiveTypes.Float64},
	{Name: "note", Type: arrow.BinaryTypes.String},
}, nil)

// writeRandomBatches writes n random rows to w in records of batch rows, and
// closes it.
func writeRandomBatches(t *testing.T, w interface {
	Write(arrow.Record) error
	Close() error
}, n, batch int, seed uint64) {
	t.Helper()
	r := rand.New(rand.NewPCG(seed, 1))
	b := array.NewRecordBuilder(memory.DefaultAllocator, randomSchema)
	defer b.Release()
	for done := 0; done < n; {
		m := min(batch, n-done)
		for range m {
			b.Field(0).(*array.Int64Builder).Append(int64(r.Uint64()))
			b.Field(1).(*array.Int64Builder).Append(int64(r.IntN(2)))
			b.Field(2).(*array.Float64Builder).Append(0.001 + 0.998*r.Float64())
			b.Field(3).(*array.StringBuilder).Append(fmt.Sprintf("n%x", r.Uint32()))
		}
		rec := b.NewRecord()
		err := w.Write(rec)
		rec.Release()
		if err != nil {
			t.Fatal(err)
		}
		done += m
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

// finalAndHidden splits a folder's entries into files under final (not
// hidden) names, with their bytes, and hidden names.
func finalAndHidden(t *testing.T, dir string) (map[string][]byte, []string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	finals := map[string][]byte{}
	var hidden []string
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			hidden = append(hidden, e.Name())
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		finals[e.Name()] = b
	}
	return finals, hidden
}

// checkManifest checks that manifest.json lists outputs whose SHA-256 is
// that of the files in the folder.
func checkManifest(t *testing.T, dir string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		Status  string `json:"status"`
		Outputs []struct {
			Path   string `json:"path"`
			SHA256 string `json:"sha256"`
		} `json:"outputs"`
	}
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("manifest.json: %v", err)
	}
	if len(m.Outputs) == 0 {
		t.Errorf("manifest.json lists no outputs")
	}
	for _, o := range m.Outputs {
		data, err := os.ReadFile(filepath.Join(dir, o.Path))
		if err != nil {
			t.Errorf("manifest lists %s: %v", o.Path, err)
			continue
		}
		if sum := sha256.Sum256(data); hex.EncodeToString(sum[:]) != o.SHA256 {
			t.Errorf("%s: sha256 differs from the manifest's", o.Path)
		}
	}
}

// leftoverName is what a killed run may leave: a staged file, a backup of
// an earlier output taken during a commit, or the writability probe.
var leftoverName = regexp.MustCompile(`^\.([a-z]+\.(parquet|json|md|xml)\.(tmp|old)|evaljob-probe)-[0-9a-f]{16}$`)

// TestKillMidWrite SIGKILLs the binary while it writes rows.parquet over an
// earlier run's outputs. Nothing can clean up after SIGKILL, so hidden
// temporary files may stay; but every file under a final name must still
// be the earlier run's, byte for byte, and a following run must succeed.
func TestKillMidWrite(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs a job over 2M rows")
	}
	bin := buildBinary(t)
	dir := t.TempDir()
	big := filepath.Join(dir, "big.parquet")
	writeRandomRows(t, big, 2_000_000, 7)
	small := filepath.Join(dir, "small.parquet")
	writeRandomRows(t, small, 1000, 8)
	job := func(in, out string) []string {
		return []string{"run", "--input", in, "--task", "binary", "--label", "label", "--prediction", "prob",
			"--keep", "id,note", "--per-row", "--out", out, "--overwrite", "--log-format", "json",
			"--workers", "1", "--batch-rows", "4096"}
	}

	// When to kill: at the plan log line, or once the staged rows file has
	// reached a size (so the kill lands mid-write, whatever the speed of
	// the machine).
	for _, tc := range []struct {
		name   string
		staged int64 // bytes of .rows.parquet.tmp-* before the kill; 0: kill at plan
		delay  time.Duration
	}{
		{"at plan", 0, 0},
		{"plan plus 50ms", 0, 50 * time.Millisecond},
		{"rows staged 64KiB", 64 << 10, 0},
		{"rows staged 4MiB", 4 << 20, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "out")
			// An earlier run's outputs, and a file of the user's.
			if b, err := exec.Command(bin, job(small, out)...).CombinedOutput(); err != nil {
				t.Fatalf("earlier run: %v\n%s", err, b)
			}
			notes := filepath.Join(out, "notes.txt")
			if err := os.WriteFile(notes, []byte("kept by the user\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			before, hiddenBefore := finalAndHidden(t, out)
			if len(hiddenBefore) > 0 {
				t.Fatalf("the earlier run left %v", hiddenBefore)
			}

			ctx, cancel := context.WithTimeout(context.Background(), faultHang)
			defer cancel()
			cmd := exec.CommandContext(ctx, bin, job(big, out)...)
			stderr, err := cmd.StderrPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			lines := bufio.NewScanner(stderr)
			var log strings.Builder
			for lines.Scan() {
				log.WriteString(lines.Text() + "\n")
				if strings.Contains(lines.Text(), `"msg":"plan"`) {
					break
				}
			}
			// The rest of the log, until the process ends (EOF).
			exited := make(chan struct{})
			go func() {
				defer close(exited)
				for lines.Scan() {
					log.WriteString(lines.Text() + "\n")
				}
			}()
			time.Sleep(tc.delay)
			stagedAt := int64(-1)
			if tc.staged > 0 {
				stagedAt = waitStaged(out, "rows.parquet", tc.staged, exited)
			}
			if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			<-exited
			err = cmd.Wait()
			var exit *exec.ExitError
			ws, _ := cmd.ProcessState.Sys().(syscall.WaitStatus)
			if !errors.As(err, &exit) || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
				t.Fatalf("the job was not killed mid-run (%v); it finished first:\n%s", err, log.String())
			}
			if tc.staged > 0 && stagedAt < tc.staged {
				t.Errorf("killed with %d bytes of rows.parquet staged, want >= %d", stagedAt, tc.staged)
			}

			after, hidden := finalAndHidden(t, out)
			for name := range after {
				if _, ok := before[name]; !ok {
					t.Errorf("new file under a final name after SIGKILL: %s", name)
				}
			}
			for name, b := range before {
				got, ok := after[name]
				switch {
				case !ok:
					t.Errorf("%s is gone after SIGKILL", name)
				case !bytes.Equal(got, b):
					t.Errorf("%s changed after SIGKILL (%d bytes, was %d)", name, len(got), len(b))
				}
			}
			for _, h := range hidden {
				if !leftoverName.MatchString(h) {
					t.Errorf("SIGKILL left %q, not a hidden temporary name", h)
				}
			}
			t.Logf("killed with rows staged: %d bytes; left behind: %v", stagedAt, hidden)

			// A following run publishes over the leftovers and keeps the
			// user's file.
			b, err := exec.Command(bin, job(small, out)...).CombinedOutput()
			if err != nil {
				t.Fatalf("run after SIGKILL: %v\n%s", err, b)
			}
			final, hiddenNow := finalAndHidden(t, out)
			if got := string(final["notes.txt"]); got != "kept by the user\n" {
				t.Errorf("notes.txt after the next run: %q", got)
			}
			for _, name := range []string{"summary.parquet", "rows.parquet", "manifest.json"} {
				if _, ok := final[name]; !ok {
					t.Errorf("the run after SIGKILL did not publish %s", name)
				}
			}
			checkManifest(t, out)
			for _, h := range hiddenNow {
				if !slices.Contains(hidden, h) {
					t.Errorf("the run after SIGKILL left a new hidden file %s", h)
				}
			}
		})
	}
}

// waitStaged polls out for a hidden staged file of name until it holds at
// least size bytes, and returns its size then (-1 if the process ended
// first).
func waitStaged(out, name string, size int64, exited <-chan struct{}) int64 {
	pattern := filepath.Join(out, "."+name+".tmp-*")
	for {
		select {
		case <-exited:
			return -1
		default:
		}
		matches, _ := filepath.Glob(pattern)
		for _, m := range matches {
			if fi, err := os.Stat(m); err == nil && fi.Size() >= size {
				return fi.Size()
			}
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// TestUnwritableOutput: an output that cannot be written is exit 4 naming
// it, and nothing is left half-written: no file under a final name that was
// not there, an earlier run's files unchanged, no temporary file.
func TestUnwritableOutput(t *testing.T) {
	tmp := t.TempDir()
	file := filepath.Join(tmp, "file")
	if err := os.WriteFile(file, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	args := func(out string, extra ...string) []string {
		return append([]string{"run", "--input", fixture("example"), "--task", "binary", "--label", "label",
			"--prediction", "prob", "--group-by", "model,slice", "--per-row", "--out", out}, extra...)
	}
	folderFinal := filepath.Join(tmp, "folder-final")
	if err := os.MkdirAll(filepath.Join(folderFinal, "rows.parquet"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, out, mention string
		extra              []string
	}{
		{"parent is a file, deeper", filepath.Join(file, "a", "b"), file, nil},
		{"output is a file", file, file, nil},
		{"under /proc", "/proc/self/evaljob-out", "/proc/self/evaljob-out", nil},
		{"existing unwritable folder /proc/self", "/proc/self", "/proc/self", []string{"--overwrite"}},
		{"under /dev/full", "/dev/full/out", "/dev/full", nil},
		{"a final name is a folder", folderFinal, filepath.Join(folderFinal, "rows.parquet"), []string{"--overwrite"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := evaljob(t, args(tc.out, tc.extra...)...)
			if code != exitOutput {
				t.Errorf("exit %d, want 4; stderr:\n%s", code, stderr)
			}
			if !strings.Contains(stderr, tc.mention) {
				t.Errorf("stderr does not name %s:\n%s", tc.mention, stderr)
			}
		})
	}
	if b, _ := os.ReadFile(file); string(b) != "x" {
		t.Errorf("the file in the way was changed: %q", b)
	}
	if entries, _ := os.ReadDir(folderFinal); len(entries) != 1 {
		t.Errorf("folder with a folder as final name: %d entries after the run", len(entries))
	}

	t.Run("folder without write permission", func(t *testing.T) {
		if os.Geteuid() == 0 {
			t.Skip("root writes through permissions")
		}
		ro := filepath.Join(tmp, "ro")
		if err := os.Mkdir(ro, 0o555); err != nil {
			t.Fatal(err)
		}
		defer os.Chmod(ro, 0o755)
		code, _, stderr := evaljob(t, args(filepath.Join(ro, "out"))...)
		if code != exitOutput || !strings.Contains(stderr, ro) {
			t.Errorf("exit %d, want 4 naming %s; stderr:\n%s", code, ro, stderr)
		}
	})

	// Disk full while rows.parquet is written: the file size limit
	// (RLIMIT_FSIZE, set by prlimit for the child only) makes writes past
	// it fail with EFBIG, as a full disk fails them with ENOSPC. The Go
	// runtime ignores SIGXFSZ, so the write itself reports the error.
	t.Run("write fails midway (file size limit)", func(t *testing.T) {
		if testing.Short() {
			t.Skip("builds the binary")
		}
		prlimit, err := exec.LookPath("prlimit")
		if err != nil {
			t.Skip("no prlimit")
		}
		bin := buildBinary(t)
		in := filepath.Join(t.TempDir(), "in.parquet")
		writeRandomRows(t, in, 200_000, 9)
		small := filepath.Join(t.TempDir(), "small.parquet")
		writeRandomRows(t, small, 100, 10)
		out := filepath.Join(t.TempDir(), "out")
		job := func(in string) []string {
			return []string{"run", "--input", in, "--task", "binary", "--label", "label", "--prediction", "prob",
				"--keep", "id,note", "--per-row", "--out", out, "--overwrite"}
		}
		if b, err := exec.Command(bin, job(small)...).CombinedOutput(); err != nil {
			t.Fatalf("earlier run: %v\n%s", err, b)
		}
		before, _ := finalAndHidden(t, out)
		ctx, cancel := context.WithTimeout(context.Background(), faultHang)
		defer cancel()
		const limit = 256 << 10
		cmd := exec.CommandContext(ctx, prlimit, append([]string{fmt.Sprintf("--fsize=%d:%d", limit, limit), "--", bin}, job(in)...)...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		err = cmd.Run()
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() != exitOutput {
			t.Fatalf("exit %v, want 4; stderr:\n%s", err, stderr.String())
		}
		if !strings.Contains(stderr.String(), filepath.Join(out, "rows.parquet")) {
			t.Errorf("stderr does not name rows.parquet:\n%s", stderr.String())
		}
		after, hidden := finalAndHidden(t, out)
		if len(after) != len(before) {
			t.Errorf("files before %v, after %v", slices.Sorted(maps.Keys(before)), slices.Sorted(maps.Keys(after)))
		}
		for name, b := range before {
			if !bytes.Equal(after[name], b) {
				t.Errorf("%s changed", name)
			}
		}
		if len(hidden) > 0 {
			t.Errorf("temporary files left: %v", hidden)
		}
		t.Logf("%s", strings.TrimSpace(stderr.String()))
	})
}

// TestFileDisappears: an input that changes under a running job fails with
// exit 3 naming it. The plan opens every input to read its footer, then
// closes it; the workers open it again to read it (pipeline/files.go), and
// a file deleted, or replaced by one of another shape, in between is an
// input error; one truncated or overwritten while open too. The job is stopped
// (SIGSTOP) at its plan log line while the last file is changed, so the
// file is certainly read after the change: a job over twelve files has not
// reached the last one the moment it logs its plan.
func TestFileDisappears(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := buildBinary(t)
	src := t.TempDir()
	const files = 12
	for i := range files - 1 {
		writeRandomRows(t, filepath.Join(src, fmt.Sprintf("part-%02d.parquet", i)), 100_000, uint64(100+i))
	}
	last := fmt.Sprintf("part-%02d", files-1)
	writeRandomRows(t, filepath.Join(src, last+".parquet"), 100_000, 200)
	writeRandomIPC(t, filepath.Join(src, last+".arrow"), 100_000, false, 201)
	writeRandomIPC(t, filepath.Join(src, last+".arrows"), 100_000, true, 202)

	half := func(p string) error {
		fi, err := os.Stat(p)
		if err != nil {
			return err
		}
		return os.Truncate(p, fi.Size()/2)
	}
	for _, tc := range []struct {
		name   string
		ext    string
		change func(path string) error
		code   int
	}{
		{"parquet truncated to zero", ".parquet", func(p string) error { return os.Truncate(p, 0) }, exitInput},
		{"parquet truncated to half", ".parquet", half, exitInput},
		{"parquet pages overwritten with zeros", ".parquet", func(p string) error {
			f, err := os.OpenFile(p, os.O_WRONLY, 0)
			if err != nil {
				return err
			}
			defer f.Close()
			fi, err := f.Stat()
			if err != nil {
				return err
			}
			_, err = f.WriteAt(make([]byte, fi.Size()-4096), 4)
			return err
		}, exitInput},
		{"arrow file truncated to half", ".arrow", half, exitInput},
		{"arrow stream truncated to half", ".arrows", half, exitInput},
		{"arrow stream truncated to zero", ".arrows", func(p string) error { return os.Truncate(p, 0) }, exitInput},
		{"parquet deleted", ".parquet", os.Remove, exitInput},
		{"parquet replaced by a file of other rows", ".parquet", func(p string) error {
			writeRandomRows(t, p, 50_000, 300)
			return nil
		}, exitInput},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir, out := t.TempDir(), filepath.Join(t.TempDir(), "out")
			var target string
			for i := range files {
				name := fmt.Sprintf("part-%02d.parquet", i)
				if i == files-1 {
					name = last + tc.ext
				}
				b, err := os.ReadFile(filepath.Join(src, name))
				if err != nil {
					t.Fatal(err)
				}
				target = filepath.Join(dir, name)
				if err := os.WriteFile(target, b, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			ctx, cancel := context.WithTimeout(context.Background(), faultHang)
			defer cancel()
			cmd := exec.CommandContext(ctx, bin, "run", "--input", dir, "--task", "binary", "--label", "label",
				"--prediction", "prob", "--keep", "id", "--per-row", "--out", out,
				"--log-format", "json", "--workers", "1")
			stderr, err := cmd.StderrPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			var log strings.Builder
			r := bufio.NewReader(stderr)
			for {
				line, err := r.ReadString('\n')
				log.WriteString(line)
				if strings.Contains(line, `"msg":"plan"`) {
					cmd.Process.Signal(syscall.SIGSTOP)
					break
				}
				if err != nil {
					t.Fatalf("no plan line: %v\n%s", err, log.String())
				}
			}
			changeErr := tc.change(target)
			cmd.Process.Signal(syscall.SIGCONT)
			if changeErr != nil {
				t.Fatal(changeErr)
			}
			rest, _ := io.ReadAll(r)
			log.Write(rest)
			err = cmd.Wait()
			se := log.String()
			if ctx.Err() != nil {
				t.Fatalf("hang:\n%s", se)
			}
			code := 0
			var exit *exec.ExitError
			if errors.As(err, &exit) {
				code = exit.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			if code != tc.code {
				t.Fatalf("exit %d, want %d:\n%s", code, tc.code, se)
			}
			if strings.Contains(se, "panic:") || strings.Contains(se, "goroutine ") {
				t.Errorf("panic:\n%s", se)
			}
			if code == exitOK {
				checkManifest(t, out)
				return
			}
			if !strings.Contains(se, target) {
				t.Errorf("stderr does not name %s:\n%s", target, se)
			}
			if entries, err := os.ReadDir(out); err == nil && len(entries) > 0 {
				t.Errorf("output folder after a failed run: %v", entries)
			}
			t.Logf("%s", firstLine(se, "evaljob: "))
		})
	}
}

// writeRandomIPC writes the rows of writeRandomRows as an Arrow IPC file
// (or stream) in record batches of 16Ki rows.
func writeRandomIPC(t *testing.T, path string, n int, stream bool, seed uint64) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var w interface {
		Write(arrow.Record) error
		Close() error
	}
	if stream {
		w = ipc.NewWriter(f, ipc.WithSchema(randomSchema))
	} else if w, err = ipc.NewFileWriter(f, ipc.WithSchema(randomSchema)); err != nil {
		t.Fatal(err)
	}
	writeRandomBatches(t, w, n, 1<<14, seed)
}
