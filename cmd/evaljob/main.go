package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/evaljob/evaljob/config"
	"github.com/evaljob/evaljob/evalerr"
	"github.com/evaljob/evaljob/pipeline"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "0.1.0-dev"

// Exit codes of SPEC §1.
const (
	exitOK       = 0
	exitGate     = 1
	exitConfig   = 2
	exitInput    = 3
	exitOutput   = 4
	exitInternal = 70
	exitSIGINT   = 130
	exitSIGTERM  = 143
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) (code int) {
	defer func() {
		if r := recover(); r != nil {
			code = exitInternal
			msg := fmt.Sprintf("internal error (please report): %v", r)
			if len(args) > 0 && jsonAsked(args[1:]) {
				log := slog.New(slog.NewJSONHandler(stderr, nil))
				log.Error("failed", "exit_code", code, "error", msg, "stack", string(debug.Stack()))
				return
			}
			fmt.Fprintf(stderr, "evaljob: %s\n%s", msg, debug.Stack())
		}
	}()
	if len(args) == 0 {
		usage(stderr)
		return exitConfig
	}
	ctx, sig := withSignals(context.Background())
	var err error
	var log *slog.Logger // set by the command once its flags are read; nil: plain text
	switch args[0] {
	case "run":
		err = cmdRun(ctx, args[1:], stdout, stderr, &log)
	case "validate":
		err = cmdValidate(ctx, args[1:], stdout, stderr, &log)
	case "version", "--version", "-version":
		if len(args) > 1 && slices.Contains([]string{"-h", "-help", "--help"}, args[1]) {
			usage(stdout)
			return exitOK
		}
		if len(args) > 1 {
			fmt.Fprintf(stderr, "evaljob: version takes no arguments, got %q\n", args[1])
			return exitConfig
		}
		fmt.Fprintf(stdout, "evaljob %s\n", version)
		return exitOK
	case "help", "-h", "--help":
		usage(stdout)
		return exitOK
	default:
		fmt.Fprintf(stderr, "evaljob: unknown command %q\n", args[0])
		usage(stderr)
		return exitConfig
	}
	if log == nil && jsonAsked(args[1:]) {
		// The command stopped before its logger (a flag it could not
		// parse): the error is a JSON record all the same.
		log = slog.New(slog.NewJSONHandler(stderr, nil))
	}
	return exitCode(err, sig(), stderr, log)
}

// jsonAsked reports whether args ask for --log-format json.
func jsonAsked(args []string) bool {
	for i, a := range args {
		a = strings.TrimLeft(a, "-")
		if a == "log-format=json" || a == "log-format" && i+1 < len(args) && args[i+1] == "json" {
			return true
		}
	}
	return false
}

func usage(w io.Writer) {
	fmt.Fprint(w, `usage:
  evaljob run --config FILE [--set key.path=value ...]
  evaljob run --input PATH [--input PATH ...] --task T --label COL --prediction COL
              [--prediction-kind K] [--group-by a,b] [--per-row] --out DIR
  evaljob validate --config FILE
  evaljob version
`)
}

// withSignals cancels the context on SIGINT or SIGTERM and reports which
// signal arrived.
func withSignals(parent context.Context) (context.Context, func() os.Signal) {
	ctx, cancel := context.WithCancel(parent)
	ch := make(chan os.Signal, 1)
	got := make(chan os.Signal, 1)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	go func() {
		s := <-ch
		got <- s
		cancel()
	}()
	return ctx, func() os.Signal {
		select {
		case s := <-got:
			return s
		default:
			return nil
		}
	}
}

// exitCode prints err and maps it to an exit code. With a JSON logger
// (--log-format json) the message is a log record, with the exit code, so
// that a scheduler's log pipeline reads why the job failed too; otherwise
// a line "evaljob: ...".
func exitCode(err error, sig os.Signal, stderr io.Writer, log *slog.Logger) int {
	say := func(level slog.Level, code int, msg string) {
		if log != nil && jsonLogs(log) {
			// Whatever --log-level says: the last record is why it ended.
			r := slog.NewRecord(time.Now(), level, msg, 0)
			r.AddAttrs(slog.Int("exit_code", code))
			if err != nil {
				r.AddAttrs(slog.String("error", err.Error()))
			}
			log.Handler().Handle(context.Background(), r)
			return
		}
		fmt.Fprintf(stderr, "evaljob: %s\n", msg)
	}
	if sig != nil {
		code, name := exitSIGINT, "interrupted (SIGINT)"
		if sig == syscall.SIGTERM {
			code, name = exitSIGTERM, "terminated (SIGTERM)"
		}
		if err == nil {
			// The signal came after the outputs were published.
			say(slog.LevelWarn, code, name+" after the run had finished; its outputs are complete")
		} else {
			say(slog.LevelWarn, code, name+"; no output was published")
		}
		return code
	}
	if err == nil || errors.Is(err, errHelp) {
		return exitOK
	}
	var code int
	switch {
	case errors.Is(err, errGate):
		code = exitGate
	case errors.Is(err, errUsage) || errors.Is(err, evalerr.ErrConfig):
		code = exitConfig
	case errors.Is(err, evalerr.ErrInput):
		code = exitInput
	case errors.Is(err, evalerr.ErrOutput):
		code = exitOutput
	default:
		code = exitInternal
	}
	if log != nil && jsonLogs(log) {
		say(slog.LevelError, code, "failed")
	} else {
		fmt.Fprintf(stderr, "evaljob: %v\n", err)
	}
	return code
}

// jsonLogs reports whether log writes JSON records.
func jsonLogs(log *slog.Logger) bool {
	_, ok := log.Handler().(*slog.JSONHandler)
	return ok
}

var (
	errUsage = errors.New("usage error")
	errGate  = errors.New("quality gate failed")
	errHelp  = errors.New("help was printed") // -h / --help: exit 0
)

// listFlag collects a repeated flag.
// onceValue is a flag that takes one value: a second is an error.
type onceValue struct {
	flag.Value
	set bool
}

func (o *onceValue) Set(v string) error {
	if o.set {
		return errors.New("given twice (it takes one value)")
	}
	o.set = true
	return o.Value.Set(v)
}

type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, " ") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

type logFlags struct{ format, level string }

func (lf *logFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&lf.format, "log-format", "text", "log format: text or json")
	fs.StringVar(&lf.level, "log-level", "info", "log level: debug, info, warn, error")
}

func (lf *logFlags) logger(w io.Writer) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(lf.level)); err != nil {
		return nil, fmt.Errorf("%w: --log-level %q", errUsage, lf.level)
	}
	opts := &slog.HandlerOptions{Level: level}
	switch lf.format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("%w: --log-format %q is not text or json", errUsage, lf.format)
}

// parse parses a command's flags. -h or --help prints them to stdout and
// returns errHelp (exit 0). --config given twice is a usage error: one
// file would be silently ignored (any other flag given twice takes the
// last value, as Go's flag package has it, so a wrapper can append
// overrides).
func parse(fs *flag.FlagSet, args []string, stdout io.Writer) error {
	if f := fs.Lookup("config"); f != nil {
		f.Value = &onceValue{Value: f.Value}
	}
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.VisitAll(func(f *flag.Flag) { // for PrintDefaults' type names
				if o, ok := f.Value.(*onceValue); ok {
					f.Value = o.Value
				}
			})
			fmt.Fprintf(stdout, "usage: evaljob %s [flags]\n", fs.Name())
			fs.SetOutput(stdout)
			fs.PrintDefaults()
			return errHelp
		}
		return fmt.Errorf("%w: %s %v", errUsage, fs.Name(), err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: %s: unexpected argument %q", errUsage, fs.Name(), fs.Arg(0))
	}
	return nil
}

func cmdRun(ctx context.Context, args []string, stdout, stderr io.Writer, logOut **slog.Logger) error {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	var (
		configPath string
		sets       listFlag
		inputs     listFlag
		groupBy    listFlag
		keep       string
		labels     listFlag
		join       string
		f          config.Flags
		prediction string
		batchRows  int
		logs       logFlags
	)
	fs.StringVar(&configPath, "config", "", "YAML config file")
	fs.Var(&sets, "set", "override a config key: key.path=value (repeatable)")
	fs.Var(&inputs, "input", "input file, folder or glob (repeatable)")
	fs.StringVar(&f.Task, "task", "", "binary | multiclass | multilabel | token | regression")
	fs.StringVar(&f.Label, "label", "", "label column")
	fs.StringVar(&prediction, "prediction", "", "prediction column (or a,b,c: one column per class)")
	fs.StringVar(&f.PredictionKind, "prediction-kind", "prob", "prob | logit | logprob")
	fs.StringVar(&f.Weight, "weight", "", "sample weight column")
	fs.StringVar(&f.Sequence, "sequence", "", "token task: the sequence column")
	fs.StringVar(&f.Mask, "mask", "", "token task, list layout: the mask column")
	fs.StringVar(&f.Bytes, "bytes", "", "token task: UTF-8 bytes of the scored text")
	fs.StringVar(&f.Words, "words", "", "token task: words of the scored text")
	fs.Var(&groupBy, "group-by", "a grouping set, columns separated by commas (repeatable)")
	fs.StringVar(&keep, "keep", "", "columns copied into rows.parquet, separated by commas")
	fs.BoolVar(&f.PerRow, "per-row", false, "write rows.parquet")
	fs.StringVar(&f.Out, "out", "", "output folder")
	fs.BoolVar(&f.Overwrite, "overwrite", false, "replace an earlier run's output")
	fs.StringVar(&f.OnInvalid, "on-invalid", "error", "error | skip")
	fs.IntVar(&f.Workers, "workers", 0, "worker goroutines (0 = number of CPUs)")
	fs.Var(&labels, "labels", "label file, folder or glob, joined to the inputs (repeatable)")
	fs.StringVar(&join, "join", "", "key columns joining labels to inputs, separated by commas")
	fs.StringVar(&f.Unmatched, "unmatched", "", "prediction rows without a label: error (default) | skip")
	fs.IntVar(&batchRows, "batch-rows", 0, "rows per chunk (tuning only; results do not depend on it)")
	logs.register(fs)
	if err := parse(fs, args, stdout); err != nil {
		return err
	}
	// On a terminal, log records and the progress line share it.
	var term *terminal
	var log *slog.Logger
	var err error
	if isTerminal(stderr) {
		term = &terminal{w: stderr}
		log, err = logs.logger(term)
	} else {
		log, err = logs.logger(stderr)
	}
	if err != nil {
		return err
	}
	*logOut = log

	var cfg *config.Config
	if configPath != "" {
		var flagsMode []string
		fs.Visit(func(fl *flag.Flag) {
			switch fl.Name {
			case "config", "set", "batch-rows", "log-format", "log-level":
			default:
				flagsMode = append(flagsMode, "--"+fl.Name)
			}
		})
		if len(flagsMode) > 0 {
			return fmt.Errorf("%w: run takes either --config (with --set key=value to change it) or the job flags, not both: %s",
				errUsage, strings.Join(flagsMode, " "))
		}
		if cfg, err = config.Load(configPath, sets); err != nil {
			return err
		}
	} else {
		if len(sets) > 0 {
			return fmt.Errorf("%w: --set needs --config", errUsage)
		}
		f.Inputs = inputs
		f.Prediction = splitList(prediction)
		f.Keep = splitList(keep)
		f.Labels = labels
		f.Join = splitList(join)
		for _, g := range groupBy {
			f.GroupBy = append(f.GroupBy, splitList(g))
		}
		if cfg, err = config.FromFlags(f); err != nil {
			return err
		}
	}
	opt := pipeline.Options{Version: version, BatchRows: batchRows, Logger: log}
	if term != nil {
		opt.Progress = &pipeline.Progress{}
		stop := showProgress(term, opt.Progress)
		res, err := pipeline.Run(ctx, cfg, opt)
		stop()
		return report(cfg, res, err, stdout)
	}
	res, err := pipeline.Run(ctx, cfg, opt)
	return report(cfg, res, err, stdout)
}

// report prints where the outputs went and the gate report, on a terminal
// only (quiet when piped: SPEC §5), and turns failed gates into errGate.
func report(cfg *config.Config, res *pipeline.Result, err error, stdout io.Writer) error {
	if err != nil {
		return err
	}
	if isTerminal(stdout) {
		fmt.Fprintf(stdout, "evaljob: %d input rows, %d summary rows\nsummary: %s\n", res.InputRows, res.SummaryRows,
			filepath.Join(res.Dir, pipeline.SummaryFile))
		if cfg.Output.PerRow {
			fmt.Fprintf(stdout, "rows:    %s\n", filepath.Join(res.Dir, pipeline.RowsFile))
		}
		if res.Report != "" {
			fmt.Fprintf(stdout, "report:  %s\n\n%s", filepath.Join(res.Dir, pipeline.ReportFile), res.Report)
		}
	}
	if res.GatesFailed > 0 {
		return fmt.Errorf("%w: %d of %d gate checks failed (outputs are written; see %s)",
			errGate, res.GatesFailed, len(res.Gates), filepath.Join(res.Dir, pipeline.ReportFile))
	}
	return nil
}

func cmdValidate(ctx context.Context, args []string, stdout, stderr io.Writer, logOut **slog.Logger) error {
	fs := flag.NewFlagSet("validate", flag.ContinueOnError)
	var configPath string
	var sets listFlag
	var logs logFlags
	fs.StringVar(&configPath, "config", "", "YAML config file")
	fs.Var(&sets, "set", "override a config key: key.path=value (repeatable)")
	logs.register(fs)
	if err := parse(fs, args, stdout); err != nil {
		return err
	}
	log, err := logs.logger(stderr)
	if err != nil {
		return err
	}
	*logOut = log
	if configPath == "" {
		return fmt.Errorf("%w: validate needs --config", errUsage)
	}
	cfg, err := config.Load(configPath, sets)
	if err != nil {
		return err
	}
	if err := pipeline.Validate(ctx, cfg); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "evaljob: %s is valid\n", configPath)
	return nil
}

func splitList(s string) []string {
	if s == "" {
		return nil
	}
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
