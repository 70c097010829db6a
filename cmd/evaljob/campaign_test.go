package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The corruption campaign (SPEC §5: "Corrupt, truncated or hostile files
// fail with exit 3 and a clear message, never a panic, hang or runaway
// allocation"). A seeded generator mutates the committed fixtures and every
// mutant runs through a whole job in the real binary. The readers' own fuzz
// targets (readers.FuzzParquet, readers.FuzzIPC) cover the decoders; this
// covers the process: exit code, message, time and memory.
//
// Every mutant must exit 0 (the damage hit nothing the job reads, or only
// changed values) or 3 with the file's path in stderr. A failing mutant is
// written to $EVALJOB_CORRUPT_SAVE (a folder) when that is set, so it can
// be committed under testdata/corrupt/ as <job>--<what>.<ext>; every file
// there is replayed by TestCorruptionCampaign with the job named by <job>.

const (
	campaignSeed1, campaignSeed2 = 0x5eed_e7a1_00b5, 0xc0de_f00d
	campaignMutants              = 1000 // -short: 100
	campaignWorkers              = 2
	campaignRunLimit             = 20 * time.Second
	campaignRSSLimit             = 1 << 30 // bytes of peak resident memory per run
)

// campaignJob is one fixture and the job flags that read it (all but
// --input and --out).
type campaignJob struct {
	name    string // prefix of regression fixtures: <name>--<what>.<ext>
	fixture string // under testdata/
	args    []string
}

var (
	binaryFlags     = []string{"--task", "binary", "--label", "label", "--prediction", "prob", "--weight", "weight", "--per-row"}
	multiclassFlags = []string{"--task", "multiclass", "--label", "label", "--prediction", "probs", "--weight", "weight",
		"--group-by", "model", "--group-by", "model,slice", "--per-row"}
)

var campaignJobs = []campaignJob{
	{"example0", "example/part-0.parquet", append([]string{"--group-by", "model,slice", "--keep", "request_id"}, binaryFlags...)},
	{"example1", "example/part-1.parquet", append([]string{"--group-by", "model", "--keep", "request_id"}, binaryFlags...)},
	{"rowgroups", "binary/rowgroups.parquet", append([]string{"--group-by", "model", "--keep", "request_id"}, binaryFlags...)},
	{"token-long", "token/long.parquet", []string{"--task", "token", "--prediction", "logprob", "--prediction-kind", "logprob",
		"--sequence", "doc_id", "--weight", "weight", "--bytes", "n_bytes", "--words", "n_words", "--group-by", "model", "--per-row"}},
	{"duckdb-lists", "duckdb/lists.parquet", []string{"--task", "multiclass", "--label", "label", "--prediction", "probs",
		"--group-by", "model", "--keep", "y", "--on-invalid", "skip", "--per-row"}},
	{"fixed-file", "multiclass/fixed_f64.arrow", multiclassFlags},
	{"fixed-stream", "multiclass/fixed_f64.arrows", multiclassFlags},
	{"list-file", "multiclass/list_f64.arrow", multiclassFlags},
	{"list-stream", "multiclass/list_f64.arrows", multiclassFlags},
	{"large-file", "multiclass/largelist_f32.arrow", multiclassFlags},
	{"large-stream", "multiclass/largelist_f32.arrows", multiclassFlags},
	// The mutant is the label file, joined to join/predictions.parquet
	// (see campaignArgs).
	{"join-labels", "join/labels.parquet", []string{"--task", "binary", "--label", "label", "--prediction", "prob",
		"--weight", "weight", "--join", "request_id", "--unmatched", "skip", "--group-by", "model", "--per-row"}},
}

// joinPredictions is the prediction file of the campaign jobs whose
// fixture is a label file.
var joinPredictions = map[string]string{"join-labels": "join/predictions.parquet"}

// campaignArgs is the command line of job j reading in (the fixture or a
// mutant of it) into out.
func campaignArgs(j *campaignJob, in, out string) []string {
	if preds, ok := joinPredictions[j.name]; ok {
		return append([]string{"run", "--input", fixture(preds), "--labels", in, "--out", out}, j.args...)
	}
	return append([]string{"run", "--input", in, "--out", out}, j.args...)
}

// mutant is one hostile input file.
type mutant struct {
	job  *campaignJob
	what string // e.g. "truncate@1234"
	data []byte
}

func (m mutant) ext() string { return filepath.Ext(m.job.fixture) }

// region is a half-open byte range of a file.
type region struct{ lo, hi int }

func (r region) len() int { return r.hi - r.lo }

// layout finds the metadata region of a fixture (Parquet footer, IPC file
// footer, or the schema message of an IPC stream) and the offsets of 4-byte
// length fields (Parquet footer length, IPC message lengths after the
// 0xFFFFFFFF continuation marker, IPC file footer length).
func layout(data []byte, ext string) (meta region, lengths []int) {
	n := len(data)
	meta = region{n - min(n, 256), n}
	switch ext {
	case ".parquet":
		if n >= 12 {
			fl := int(binary.LittleEndian.Uint32(data[n-8:]))
			if fl > 0 && fl <= n-12 {
				meta = region{n - 8 - fl, n}
			}
			lengths = append(lengths, n-8)
		}
	case ".arrow", ".arrows":
		for i := 0; i+8 <= n; i++ {
			if binary.LittleEndian.Uint32(data[i:]) == 0xFFFFFFFF {
				lengths = append(lengths, i+4)
			}
		}
		if ext == ".arrow" && n >= 16 {
			fl := int(binary.LittleEndian.Uint32(data[n-10:]))
			if fl > 0 && fl <= n-16 {
				meta = region{n - 10 - fl, n}
			}
			lengths = append(lengths, n-10)
		} else if len(lengths) > 0 {
			ml := int(binary.LittleEndian.Uint32(data[lengths[0]:]))
			meta = region{0, min(n, lengths[0]+4+max(ml, 0))}
		}
	}
	return meta, lengths
}

var hugeValues = []uint32{0xFFFFFFFF, 0x7FFFFFFF, 0x80000000, 0x7FFFFFF8, 0x40000000, 0x10000000, 0xFFFFFFF0, 0x00FFFFFF}

// mutate applies one randomly chosen mutation to a copy of src.
func mutate(r *rand.Rand, src []byte, ext string) (string, []byte) {
	b := slices.Clone(src)
	n := len(b)
	meta, lengths := layout(b, ext)
	pos := func(reg region) int { return reg.lo + r.IntN(max(reg.len(), 1)) }
	body := region{0, n}
	pages := region{0, meta.lo} // before the footer; after an IPC stream's schema
	if meta.lo == 0 {
		pages = region{meta.hi, n}
	}
	if pages.len() <= 0 {
		pages = body
	}
	switch op := r.IntN(11); op {
	case 0: // truncation anywhere
		at := r.IntN(n)
		return fmt.Sprintf("truncate@%d", at), b[:at]
	case 1: // truncation in the last bytes (footer, magic, length)
		at := n - 1 - r.IntN(min(n-1, 96))
		return fmt.Sprintf("truncate-tail@%d", at), b[:at]
	case 2: // flipped bits in the metadata
		k := 1 + r.IntN(4)
		var at []string
		for range k {
			p := pos(meta)
			b[p] ^= 1 << r.IntN(8)
			at = append(at, strconv.Itoa(p))
		}
		return "flip-meta@" + strings.Join(at, ","), b
	case 3: // flipped bytes in the pages / record batch bodies
		k := 1 + r.IntN(8)
		var at []string
		for range k {
			p := pos(pages)
			b[p] ^= byte(1 + r.IntN(255))
			at = append(at, strconv.Itoa(p))
		}
		return "flip-body@" + strings.Join(at, ","), b
	case 4: // a length field overwritten with a huge value
		v := hugeValues[r.IntN(len(hugeValues))]
		var p int
		if len(lengths) > 0 && r.IntN(3) > 0 {
			p = lengths[r.IntN(len(lengths))]
		} else if r.IntN(2) == 0 {
			p = pos(region{meta.lo, max(meta.lo, n-4)})
		} else {
			p = pos(region{0, n - 4})
		}
		binary.LittleEndian.PutUint32(b[p:], v)
		return fmt.Sprintf("huge-len@%d=%#x", p, v), b
	case 5: // a huge Thrift/FlatBuffers varint or offset in the metadata
		p := pos(region{meta.lo, max(meta.lo, n-6)})
		copy(b[p:], []byte{0xFF, 0xFF, 0xFF, 0xFF, 0x0F})
		return fmt.Sprintf("huge-varint@%d", p), b
	case 6: // a zeroed range
		l := 1 + r.IntN(512)
		p := pos(body)
		end := min(n, p+l)
		clear(b[p:end])
		return fmt.Sprintf("zero@%d+%d", p, end-p), b
	case 7: // a zeroed range in the metadata
		l := 1 + r.IntN(64)
		p := pos(meta)
		end := min(n, p+l)
		clear(b[p:end])
		return fmt.Sprintf("zero-meta@%d+%d", p, end-p), b
	case 8: // wrong magic at the head, the tail or both
		magics := [][]byte{[]byte("PAR1"), []byte("ARROW1\x00\x00"), []byte("PAR0"), {0xFF, 0xFF, 0xFF, 0xFF}, []byte("XXXXXXXX")}
		m := magics[r.IntN(len(magics))]
		where := r.IntN(3)
		if where != 1 {
			copy(b, m)
		}
		if where != 0 {
			copy(b[n-min(n, len(m)):], m)
		}
		return fmt.Sprintf("magic-%d-%x", where, m), b
	case 9: // a duplicated block, inserted or written over other bytes
		l := 1 + r.IntN(min(n, 4096))
		from := r.IntN(n - l + 1)
		to := r.IntN(n)
		blk := slices.Clone(b[from : from+l])
		if r.IntN(2) == 0 {
			return fmt.Sprintf("dup-insert@%d+%d->%d", from, l, to), slices.Insert(b, to, blk...)
		}
		copy(b[to:], blk)
		return fmt.Sprintf("dup-over@%d+%d->%d", from, l, to), b
	default: // several of the above
		k := 2 + r.IntN(2)
		var whats []string
		for range k {
			var w string
			if len(b) < 16 {
				break
			}
			w, b = mutate(r, b, ext)
			whats = append(whats, w)
		}
		return "stack[" + strings.Join(whats, ";") + "]", b
	}
}

// fixedMutants are the same in every run: files that are not what their
// name says.
func fixedMutants(jobs []campaignJob, read func(string) []byte) []mutant {
	var out []mutant
	seenExt := map[string]bool{}
	for i := range jobs {
		j := &jobs[i]
		ext := filepath.Ext(j.fixture)
		if seenExt[ext] {
			continue
		}
		seenExt[ext] = true
		src := read(j.fixture)
		out = append(out,
			mutant{j, "empty", nil},
			mutant{j, "text", []byte("model,label,prob\na,1,0.5\nb,0,0.25\n")},
			mutant{j, "one-byte", []byte{'P'}},
			mutant{j, "magic-only", []byte("PAR1PAR1")},
			mutant{j, "arrow-magic-only", []byte("ARROW1\x00\x00ARROW1")},
			mutant{j, "stream-eos-only", []byte{0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0}},
			mutant{j, "head-only", slices.Clone(src[:min(len(src), 64)])},
			mutant{j, "zeros", make([]byte, len(src))},
		)
		// The other formats' bytes under this name.
		for _, o := range jobs {
			if filepath.Ext(o.fixture) != ext {
				out = append(out, mutant{j, "other-format-" + strings.TrimPrefix(filepath.Ext(o.fixture), "."), read(o.fixture)})
				break
			}
		}
	}
	return out
}

// outcome of one run.
type outcome struct {
	kind   string // ok, input-error, or a failure kind
	fail   bool
	detail string
	rss    int64 // peak resident bytes (getrusage), 0 if unknown
}

func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "evaljob")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// runLimited runs the binary with a time limit and a resident-memory
// watchdog, and classifies the result.
func runLimited(bin string, args []string, path string) outcome {
	ctx, cancel := context.WithTimeout(context.Background(), campaignRunLimit)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(os.Environ(), "GOMEMLIMIT=1GiB")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	cmd.Stdout = nil
	if err := cmd.Start(); err != nil {
		return outcome{kind: "start", fail: true, detail: err.Error()}
	}
	// The watchdog kills a run whose resident memory passes the limit
	// before it can take the machine down; getrusage below catches a
	// spike between two looks.
	overRSS := false
	done, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				if rssBytes(cmd.Process.Pid) > campaignRSSLimit {
					overRSS = true
					cmd.Process.Kill()
					return
				}
			}
		}
	}()
	err := cmd.Wait()
	close(done)
	<-stopped
	se := stderr.String()
	var peak int64
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		peak = ru.Maxrss * 1024
		if peak > campaignRSSLimit {
			overRSS = true
		}
	}
	o := classify(err, ctx.Err() != nil, overRSS, se, path)
	o.rss = peak
	return o
}

// classify turns a run's result into an outcome.
func classify(err error, timedOut, overRSS bool, se, path string) outcome {
	tail := se
	if len(tail) > 2000 {
		tail = tail[:2000] + "..."
	}
	switch {
	case overRSS:
		return outcome{kind: "memory", fail: true, detail: tail}
	case timedOut:
		return outcome{kind: "hang", fail: true, detail: tail}
	}
	code := 0
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		if ws, ok := exit.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return outcome{kind: "killed-" + ws.Signal().String(), fail: true, detail: tail}
		}
		code = exit.ExitCode()
	} else if err != nil {
		return outcome{kind: "wait", fail: true, detail: err.Error()}
	}
	switch {
	case strings.Contains(se, "panic:") || strings.Contains(se, "goroutine ") || code == exitInternal:
		return outcome{kind: "panic", fail: true, detail: tail}
	case code == 0:
		return outcome{kind: "ok"}
	case code == exitInput && !strings.Contains(se, path):
		return outcome{kind: "exit3-unnamed", fail: true, detail: tail}
	case code == exitInput && strings.Contains(se, "runtime error"):
		// A panic the reader recovered into an input error: allowed, but
		// counted, since it is a decoder bug caught by a safety net.
		return outcome{kind: "input-error(recovered)", detail: firstLine(se, "runtime error")}
	case code == exitInput:
		return outcome{kind: "input-error"}
	}
	return outcome{kind: "exit" + strconv.Itoa(code), fail: true, detail: tail}
}

// rssBytes is the resident set of a process, 0 when it is gone.
func rssBytes(pid int) int64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/statm")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return 0
	}
	pages, _ := strconv.ParseInt(f[1], 10, 64)
	return pages * int64(os.Getpagesize())
}

func TestCorruptionCampaign(t *testing.T) {
	bin := buildBinary(t)
	work := t.TempDir()
	read := func(name string) []byte {
		b, err := os.ReadFile(fixture(name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	// The unmutated fixtures must pass, or the campaign tests nothing.
	for i := range campaignJobs {
		j := &campaignJobs[i]
		args := campaignArgs(j, fixture(j.fixture), filepath.Join(work, "base-"+j.name))
		if o := runLimited(bin, args, fixture(j.fixture)); o.kind != "ok" {
			t.Fatalf("unmutated %s: %s\n%s", j.fixture, o.kind, o.detail)
		}
	}

	n := campaignMutants
	if testing.Short() {
		n = 100
	}
	// A longer or different campaign, e.g. overnight:
	// EVALJOB_CAMPAIGN_MUTANTS=50000 EVALJOB_CAMPAIGN_SEED=7 go test -run Campaign -timeout 0
	if v := os.Getenv("EVALJOB_CAMPAIGN_MUTANTS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil {
			t.Fatalf("EVALJOB_CAMPAIGN_MUTANTS: %v", err)
		}
	}
	seed1 := uint64(campaignSeed1)
	if v := os.Getenv("EVALJOB_CAMPAIGN_SEED"); v != "" {
		var err error
		if seed1, err = strconv.ParseUint(v, 0, 64); err != nil {
			t.Fatalf("EVALJOB_CAMPAIGN_SEED: %v", err)
		}
	}
	// Files that are not what their name says, regression fixtures found by
	// earlier campaigns, then seeded mutants, made as the workers ask.
	mutants := fixedMutants(campaignJobs, read)
	if reg, _ := filepath.Glob(fixture("corrupt/*--*")); len(reg) > 0 {
		for _, p := range reg {
			name, _, _ := strings.Cut(filepath.Base(p), "--")
			i := slices.IndexFunc(campaignJobs, func(j campaignJob) bool { return j.name == name })
			if i < 0 {
				t.Errorf("%s: no campaign job named %q", p, name)
				continue
			}
			mutants = append(mutants, mutant{&campaignJobs[i], "regression:" + filepath.Base(p), read(filepath.Join("corrupt", filepath.Base(p)))})
		}
	}
	sources := map[string][]byte{}
	for _, j := range campaignJobs {
		sources[j.fixture] = read(j.fixture)
	}
	r := rand.New(rand.NewPCG(seed1, campaignSeed2))
	total := len(mutants) + n
	next := func(i int) mutant {
		if i < len(mutants) {
			return mutants[i]
		}
		j := &campaignJobs[(i-len(mutants))%len(campaignJobs)]
		what, data := mutate(r, sources[j.fixture], filepath.Ext(j.fixture))
		return mutant{j, what, data}
	}

	type result struct {
		m mutant
		i int
		o outcome
	}
	type job struct {
		i int
		m mutant
	}
	jobs := make(chan job)
	results := make(chan result)
	var wg sync.WaitGroup
	for range campaignWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for jb := range jobs {
				i, m := jb.i, jb.m
				in := filepath.Join(work, fmt.Sprintf("m%04d-%s%s", i, m.job.name, m.ext()))
				out := filepath.Join(work, fmt.Sprintf("out%04d", i))
				if err := os.WriteFile(in, m.data, 0o644); err != nil {
					results <- result{m, i, outcome{kind: "setup", fail: true, detail: err.Error()}}
					continue
				}
				args := campaignArgs(m.job, in, out)
				o := runLimited(bin, args, in)
				if !o.fail {
					if err := checkOutputFolder(out, o.kind == "ok"); err != nil {
						o = outcome{kind: "half-written", fail: true, detail: err.Error()}
					}
				}
				if !o.fail {
					os.Remove(in)
				}
				os.RemoveAll(out)
				results <- result{m, i, o}
			}
		}()
	}
	go func() {
		for i := range total {
			jobs <- job{i, next(i)}
		}
		close(jobs)
		wg.Wait()
		close(results)
	}()

	start := time.Now()
	counts := map[string]int{}
	var peak int64
	var peakWhat string
	firstRecovered := map[string]bool{}
	perJob := map[string]map[string]int{}
	saveDir := os.Getenv("EVALJOB_CORRUPT_SAVE")
	for res := range results {
		counts[res.o.kind]++
		if res.o.rss > peak {
			peak = res.o.rss
			peakWhat = fmt.Sprintf("mutant %d of %s (%s)", res.i, res.m.job.fixture, res.m.what)
		}
		if perJob[res.m.job.name] == nil {
			perJob[res.m.job.name] = map[string]int{}
		}
		perJob[res.m.job.name][res.o.kind]++
		if !res.o.fail {
			if res.o.detail != "" && (counts[res.o.kind] <= 5 || !firstRecovered[res.m.job.name]) {
				firstRecovered[res.m.job.name] = true
				t.Logf("mutant %d of %s (%s): %s: %s", res.i, res.m.job.fixture, res.m.what, res.o.kind, res.o.detail)
			}
			continue
		}
		name := fmt.Sprintf("%s--%s-%x-%d%s", res.m.job.name, res.o.kind, seed1, res.i, res.m.ext())
		saved := filepath.Join(work, fmt.Sprintf("m%04d-%s%s", res.i, res.m.job.name, res.m.ext()))
		if saveDir != "" {
			if err := os.MkdirAll(saveDir, 0o755); err == nil {
				p := filepath.Join(saveDir, name)
				if os.WriteFile(p, res.m.data, 0o644) == nil {
					saved = p
				}
			}
		}
		t.Errorf("mutant %d of %s (%s): %s; saved as %s (commit as testdata/corrupt/%s)\n%s",
			res.i, res.m.job.fixture, res.m.what, res.o.kind, saved, name, res.o.detail)
	}
	kinds := make([]string, 0, len(counts))
	for k := range counts {
		kinds = append(kinds, k)
	}
	slices.Sort(kinds)
	var sb strings.Builder
	for _, k := range kinds {
		fmt.Fprintf(&sb, " %s=%d", k, counts[k])
	}
	t.Logf("%d mutants (seed %#x/%#x) in %v, peak RSS of a run %d MiB:%s", total, seed1, uint64(campaignSeed2),
		time.Since(start).Round(time.Millisecond), peak>>20, sb.String())
	t.Logf("  peak RSS: %s", peakWhat)
	for _, j := range campaignJobs {
		t.Logf("  %-13s %v", j.name, perJob[j.name])
	}
}

// firstLine is the first line of s containing sub.
func firstLine(s, sub string) string {
	for line := range strings.Lines(s) {
		if strings.Contains(line, sub) {
			return strings.TrimSpace(line)
		}
	}
	return ""
}

// checkOutputFolder checks a run's output folder: after a success, the
// manifest lists every published output with its SHA-256 and nothing else
// is there; after a failure, the folder holds nothing (no final name, no
// temporary file).
func checkOutputFolder(dir string, succeeded bool) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) && !succeeded {
		return nil
	}
	if err != nil {
		return err
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if !succeeded {
		if len(names) > 0 {
			return fmt.Errorf("failed run left %v", names)
		}
		return nil
	}
	b, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		return err
	}
	var m struct {
		Outputs []struct {
			Path   string `json:"path"`
			SHA256 string `json:"sha256"`
		} `json:"outputs"`
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return fmt.Errorf("manifest.json: %w", err)
	}
	want := []string{"manifest.json"}
	for _, o := range m.Outputs {
		data, err := os.ReadFile(filepath.Join(dir, o.Path))
		if err != nil {
			return err
		}
		if sum := sha256.Sum256(data); hex.EncodeToString(sum[:]) != o.SHA256 {
			return fmt.Errorf("%s: SHA-256 differs from the manifest's", o.Path)
		}
		want = append(want, o.Path)
	}
	slices.Sort(want)
	if !slices.Equal(names, want) {
		return fmt.Errorf("output folder holds %v, the manifest accounts for %v", names, want)
	}
	return nil
}

// TestCampaignClassify checks the campaign's judge on made-up results, so
// that a broken harness cannot pass every mutant.
func TestCampaignClassify(t *testing.T) {
	exitErr := func(code int) error {
		err := exec.Command("sh", "-c", "exit "+strconv.Itoa(code)).Run()
		if code == 0 {
			return nil
		}
		if err == nil {
			t.Fatalf("sh exit %d: no error", code)
		}
		return err
	}
	killed := exec.Command("sh", "-c", "kill -9 $$").Run()
	for _, tc := range []struct {
		err           error
		timedOut, rss bool
		stderr, kind  string
	}{
		{exitErr(0), false, false, "", "ok"},
		{exitErr(3), false, false, "evaljob: /x/m.parquet: row group 0: bad", "input-error"},
		{exitErr(3), false, false, "evaljob: /x/m.parquet: corrupt or unsupported data: runtime error: index out of range", "input-error(recovered)"},
		{exitErr(3), false, false, "evaljob: some file: bad", "exit3-unnamed"},
		{exitErr(2), false, false, "panic: runtime error\n\ngoroutine 1 [running]:", "panic"},
		{exitErr(70), false, false, "evaljob: internal error (please report): boom", "panic"},
		{exitErr(4), false, false, "evaljob: /x/m.parquet: ?", "exit4"},
		{exitErr(1), false, false, "", "exit1"},
		{killed, false, false, "", "killed-killed"},
		{killed, true, false, "", "hang"},
		{killed, false, true, "", "memory"},
	} {
		o := classify(tc.err, tc.timedOut, tc.rss, tc.stderr, "/x/m.parquet")
		if o.kind != tc.kind || o.fail != (tc.kind != "ok" && !strings.HasPrefix(tc.kind, "input-error")) {
			t.Errorf("classify(%v, %q) = %s (fail %v), want %s", tc.err, tc.stderr, o.kind, o.fail, tc.kind)
		}
	}
}
