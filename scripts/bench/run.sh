#!/usr/bin/env bash
# make bench: evaljob against DuckDB on large generated inputs (issue #4).
#
#   bash scripts/bench/run.sh                          # all workloads, full size
#   SCALE=0.01 bash scripts/bench/run.sh               # CI-sized smoke run
#   WORKLOADS="binary tokens" REPEAT=3 bash scripts/bench/run.sh
#
# For each workload it generates the input once (cached in the scratch
# folder by name, scale and generator version), then times, one after the
# other on the same file with a warm page cache:
#   - evaljob:   /usr/bin/time -v bin/evaljob run --config <generated YAML>
#                (process wall time: startup, reading, math, writing outputs)
#   - scan-only: /usr/bin/time -v of scripts/bench/scan, which only decodes the
#                same columns with evaljob's readers package on SCAN_WORKERS
#                goroutines (process wall time)
#   - DuckDB:    scripts/bench/duckdb.mjs, the same numbers in SQL with
#                threads=THREADS (DuckDB's in-process query time; peak RSS is
#                the node process's)
# then compares evaljob's summary.parquet (and, for tokens, rows.parquet)
# with DuckDB's numbers at relative RTOL, and prints a Markdown table and the
# machine. Exits 1 when a tool failed or the numbers disagree.
#
# Workloads (scripts/bench/gen has the details):
#   binary      50M rows, model (4) x slice (50) dictionary strings, int label,
#               double prob; grouping sets (model), (model, slice)
#   multiclass  2M rows, int label, 100-wide float logits; grouped by model
#   tokens      50M rows long layout, 100k sequences, float logprob; grouped by
#               model, per-sequence perplexity in rows.parquet
#   vocab       20k tokens long layout, 32k-wide float logits; grouped by model
#
# Environment (defaults in brackets):
#   WORKLOADS     [binary multiclass tokens vocab]
#   SCALE         [1] size relative to the full workloads (0.01 for CI)
#   BENCH_DIR     [/tmp/evaljob-bench] scratch: inputs, configs, outputs, logs
#   REPEAT        [1] timed runs per tool; the table shows medians
#   WORKERS       [0] evaljob's workers (0 = number of CPUs, its default)
#   SCAN_WORKERS  [2] goroutines of the scan-only baseline
#   THREADS       [2] DuckDB threads
#   RTOL          [1e-9] relative tolerance of the comparison
#   EVALJOB       use this evaljob binary instead of building bin/evaljob
#   DUCKDB        [1] 0 skips DuckDB (no comparison, evaljob's figures only)
#   DUCKDB_NODE_MODULES [scripts/interop] where @duckdb/node-api is installed
#   GO            [go]
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
here=$root/scripts/bench
cd "$root"

WORKLOADS=${WORKLOADS:-binary multiclass tokens vocab}
SCALE=${SCALE:-1}
BENCH_DIR=${BENCH_DIR:-/tmp/evaljob-bench}
REPEAT=${REPEAT:-1}
WORKERS=${WORKERS:-0}
SCAN_WORKERS=${SCAN_WORKERS:-2}
THREADS=${THREADS:-2}
RTOL=${RTOL:-1e-9}
DUCKDB=${DUCKDB:-1}
GO=${GO:-go}
GEN_VERSION=1 # bump when scripts/bench/gen changes its output

log() { echo "bench: $*" >&2; }
die() { echo "bench: error: $*" >&2; exit 2; }

[[ -x /usr/bin/time ]] || die "/usr/bin/time not found (GNU time; apt-get install time)"
[[ "$SCALE" =~ ^[0-9]*\.?[0-9]+([eE][-+]?[0-9]+)?$ ]] || die "SCALE=$SCALE is not a positive number"
[[ "$REPEAT" =~ ^[1-9][0-9]*$ ]] || die "REPEAT=$REPEAT is not a positive integer"
for w in $WORKLOADS; do
  case $w in binary | multiclass | tokens | vocab) ;; *) die "unknown workload '$w' (want binary, multiclass, tokens or vocab)" ;; esac
done
mkdir -p "$BENCH_DIR/bin" "$BENCH_DIR/out" "$BENCH_DIR/logs"
BENCH_DIR=$(cd "$BENCH_DIR" && pwd)

# ---- build ----
if [[ -n "${EVALJOB:-}" ]]; then
  [[ -x "$EVALJOB" ]] || die "EVALJOB=$EVALJOB is not an executable"
  evaljob=$(cd "$(dirname "$EVALJOB")" && pwd)/$(basename "$EVALJOB")
  log "using $evaljob (EVALJOB)"
else
  log "building bin/evaljob"
  $GO build -o bin/evaljob ./cmd/evaljob || die "go build ./cmd/evaljob failed (set EVALJOB=path to benchmark a prebuilt binary)"
  evaljob=$root/bin/evaljob
fi
log "building the generator and the scan-only baseline"
$GO build -o "$BENCH_DIR/bin/gen" ./scripts/bench/gen || die "go build ./scripts/bench/gen failed"
$GO build -o "$BENCH_DIR/bin/scan" ./scripts/bench/scan || die "go build ./scripts/bench/scan failed"

# ---- DuckDB (npm @duckdb/node-api, the install scripts/interop.sh uses) ----
duckdb_note=""
modules=${DUCKDB_NODE_MODULES:-$root/scripts/interop}
if [[ "$DUCKDB" != 0 ]]; then
  if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    duckdb_note="node/npm not found: DuckDB skipped"
  else
    version=$(node -p "require('$root/scripts/interop/package.json').dependencies['@duckdb/node-api']")
    installed=$(node -p "try { require('$modules/node_modules/@duckdb/node-api/package.json').version } catch { '' }" 2>/dev/null || true)
    if [[ "$installed" != "$version" ]]; then
      log "installing @duckdb/node-api@$version into $modules"
      if [[ "$modules" != "$root/scripts/interop" ]]; then
        mkdir -p "$modules" && cp "$root/scripts/interop/package.json" "$modules/"
      fi
      npm install --prefix "$modules" --no-audit --no-fund --no-package-lock --loglevel=error >&2 ||
        duckdb_note="npm install of @duckdb/node-api@$version failed: DuckDB skipped"
    fi
  fi
  if [[ -n "$duckdb_note" ]]; then
    log "WARNING: $duckdb_note; printing evaljob's figures only"
    DUCKDB=0
  fi
else
  duckdb_note="DUCKDB=0: DuckDB skipped"
fi
export DUCKDB_NODE_MODULES=$modules THREADS RTOL

# ---- helpers ----
# timed LOG_PREFIX CMD...: run CMD under /usr/bin/time -v (report in
# LOG_PREFIX.time, stdout in LOG_PREFIX.out, stderr in LOG_PREFIX.err); sets
# secs to its wall time in seconds (ns clock: /usr/bin/time's is 10 ms).
timed() {
  local prefix=$1 t0 t1 rc=0
  shift
  t0=$(date +%s%N)
  /usr/bin/time -v -o "$prefix.time" "$@" >"$prefix.out" 2>"$prefix.err" || rc=$?
  t1=$(date +%s%N)
  secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f\n", (b - a) / 1e9 }')
  return $rc
}
# rss FILE: peak RSS in MB from a /usr/bin/time -v report.
rss() { awk -F': ' '/Maximum resident set size/ { printf "%.0f\n", $NF / 1024 }' "$1"; }
# median of the arguments.
median() { printf '%s\n' "$@" | sort -g | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
mb() { [[ "$1" == - ]] && echo - || echo "$1 MB"; }
maxof() { printf '%s\n' "$@" | sort -g | tail -1; }
# json FILE EXPR: a value of the JSON object in FILE (node; sed fallback for flat keys).
json() {
  if command -v node >/dev/null; then
    node -e "const o = JSON.parse(require('fs').readFileSync(process.argv[1], 'utf8')); const v = (function () { return $2 }).call(o); console.log(v === undefined ? '' : typeof v === 'object' ? JSON.stringify(v) : v)" "$1"
  else
    sed -n "s/.*\"${2#this.}\":\([^,}]*\).*/\1/p" "$1"
  fi
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { num = "^[0-9.]+([eE][-+]?[0-9]+)?$"; if (a !~ num || b !~ num || b + 0 == 0) print "-"; else printf "%.2f\n", a / b }'; }
fmt_rows() { awk -v n="$1" 'BEGIN { if (n >= 1e6) printf "%.3gM\n", n / 1e6; else if (n >= 1e3) printf "%.3gk\n", n / 1e3; else print n }'; }

columns_of() {
  case $1 in
    binary) echo model,slice,label,prob ;;
    multiclass) echo model,label,logits ;;
    tokens) echo model,doc_id,logprob ;;
    vocab) echo model,doc_id,label,logits ;;
  esac
}

# config WORKLOAD INPUT OUT_DIR: evaljob's YAML config for the workload.
config() {
  local w=$1 in=$2 out=$3
  echo "# generated by scripts/bench/run.sh"
  echo "inputs: ['$in']"
  case $w in
    binary)
      echo "task: binary"
      echo "columns: {label: label, prediction: prob, prediction_kind: prob}"
      echo "group_by: [[model], [model, slice]]"
      echo "output: {dir: '$out', per_row: false, overwrite: true}" ;;
    multiclass)
      echo "task: multiclass"
      echo "columns: {label: label, prediction: logits, prediction_kind: logit}"
      echo "group_by: [[model]]"
      echo "output: {dir: '$out', per_row: false, overwrite: true}" ;;
    tokens)
      echo "task: token"
      echo "columns: {prediction: logprob, prediction_kind: logprob, sequence: doc_id}"
      echo "group_by: [[model]]"
      echo "output: {dir: '$out', per_row: true, overwrite: true}" ;;
    vocab)
      echo "task: token"
      echo "columns: {label: label, prediction: logits, prediction_kind: logit, sequence: doc_id}"
      echo "group_by: [[model]]"
      echo "output: {dir: '$out', per_row: false, overwrite: true}" ;;
  esac
  echo "workers: $WORKERS"
}

# ---- run ----
status=0
duckdb_version=""
rows_md=()
numbers_md=()
problems=()
for w in $WORKLOADS; do
  name=$w-s$SCALE-v$GEN_VERSION
  input=$BENCH_DIR/$name.parquet
  out=$BENCH_DIR/out/$name
  cfg=$BENCH_DIR/$name.yaml
  logs=$BENCH_DIR/logs/$name
  mkdir -p "$logs"
  if [[ ! -s "$input" ]]; then
    log "$w: generating $input (scale $SCALE)"
    "$BENCH_DIR/bin/gen" -workload "$w" -scale "$SCALE" -out "$input" || die "$w: generating the input failed"
  else
    log "$w: reusing $input"
  fi
  config "$w" "$input" "$out" >"$cfg"
  cat "$input" >/dev/null # warm the page cache: every tool reads from memory

  ej_t=() ej_r=() sc_t=() sc_r=() dd_t=() dd_r=()
  ej_ok=1 sc_ok=1 dd_ok=1 agree="-"
  rows=""
  for ((i = 1; i <= REPEAT; i++)); do
    log "$w: run $i/$REPEAT: evaljob"
    if timed "$logs/evaljob" "$evaljob" run --config "$cfg"; then
      ej_t+=("$secs") ej_r+=("$(rss "$logs/evaljob.time")")
    else
      ej_ok=0
      log "$w: evaljob FAILED: $(tail -3 "$logs/evaljob.err" | tr '\n' ' ')(log: $logs/evaljob.err)"
      problems+=("$w: evaljob failed (see $logs/evaljob.err)")
      break
    fi

    log "$w: run $i/$REPEAT: scan-only"
    if timed "$logs/scan" "$BENCH_DIR/bin/scan" -columns "$(columns_of "$w")" -workers "$SCAN_WORKERS" "$input"; then
      sc_t+=("$secs") sc_r+=("$(rss "$logs/scan.time")")
      rows=$(json "$logs/scan.out" this.rows)
    else
      sc_ok=0
      log "$w: scan-only FAILED: $(tail -3 "$logs/scan.err" | tr '\n' ' ')"
      problems+=("$w: scan-only failed (see $logs/scan.err)")
    fi

    if [[ "$DUCKDB" != 0 ]]; then
      log "$w: run $i/$REPEAT: DuckDB"
      rc=0
      timed "$logs/duckdb" node "$here/duckdb.mjs" "$w" "$input" "$BENCH_DIR" "$out" || rc=$?
      cp "$logs/duckdb.out" "$logs/duckdb.json"
      if [[ $rc -le 1 && -s "$logs/duckdb.json" ]]; then
        dd_t+=("$(json "$logs/duckdb.json" this.seconds)") dd_r+=("$(rss "$logs/duckdb.time")")
        duckdb_version=$(json "$logs/duckdb.json" this.duckdb_version)
        if [[ "$(json "$logs/duckdb.json" this.compare.ok)" == true ]]; then
          agree="yes (max rel $(json "$logs/duckdb.json" 'this.compare.max_rel.toExponential(1)'))"
        else
          agree="NO"
          problems+=("$w: numbers disagree: $(json "$logs/duckdb.json" "this.compare.failures.slice(0, 5).join('; ')")")
        fi
      else
        dd_ok=0
        log "$w: DuckDB FAILED (exit $rc): $(tail -3 "$logs/duckdb.err" | tr '\n' ' ')"
        problems+=("$w: DuckDB failed (see $logs/duckdb.err)")
      fi
    fi
  done
  [[ "$agree" == NO || $ej_ok == 0 || $sc_ok == 0 || $dd_ok == 0 ]] && status=1

  e=$([[ $ej_ok == 1 ]] && median "${ej_t[@]}" || echo FAILED)
  er=$([[ $ej_ok == 1 ]] && maxof "${ej_r[@]}" || echo -)
  s=$([[ $sc_ok == 1 && ${#sc_t[@]} -gt 0 ]] && median "${sc_t[@]}" || echo -)
  if [[ "$DUCKDB" != 0 && $dd_ok == 1 && ${#dd_t[@]} -gt 0 ]]; then
    d=$(median "${dd_t[@]}") dr=$(maxof "${dd_r[@]}")
    d=$(awk -v x="$d" 'BEGIN { printf "%.3f\n", x }')
  else
    d=- dr=-
  fi
  rows_md+=("| $w | $(fmt_rows "${rows:-0}") | $e | $d | $(ratio "$d" "$e") | $s | $(ratio "$e" "$s") | $(mb "$er") | $(mb "$dr") | $agree |")
  if [[ "$DUCKDB" != 0 && $dd_ok == 1 && -s "$logs/duckdb.json" ]]; then
    numbers_md+=("| $w | \`$(json "$logs/duckdb.json" 'JSON.stringify(this.evaljob_overall)')\` | \`$(json "$logs/duckdb.json" 'JSON.stringify(this.overall)')\` |")
  fi
done

# ---- report ----
cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null || echo unknown)
{
  echo
  echo "## evaljob vs DuckDB (SCALE=$SCALE, REPEAT=$REPEAT: medians)"
  echo
  echo "| workload | rows | evaljob s | DuckDB s | DuckDB/evaljob | scan-only s | evaljob/scan | evaljob peak RSS | DuckDB peak RSS | numbers agree (rtol $RTOL) |"
  echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|"
  printf '%s\n' "${rows_md[@]}"
  echo
  echo "evaljob s and scan-only s: process wall time (/usr/bin/time -v); DuckDB s: query time inside the"
  echo "process (threads=$THREADS), excluding node startup; DuckDB peak RSS includes node. evaljob workers=$WORKERS"
  echo "(0 = CPUs), scan-only goroutines=$SCAN_WORKERS. Page cache warm. Inputs and logs: $BENCH_DIR."
  [[ -n "$duckdb_note" ]] && echo "DuckDB: $duckdb_note."
  if [[ ${#numbers_md[@]} -gt 0 ]]; then
    echo
    echo "| workload | evaljob overall | DuckDB overall |"
    echo "|---|---|---|"
    printf '%s\n' "${numbers_md[@]}"
  fi
  echo
  echo "Machine: $(nproc) CPUs, $cpu, $(awk '/MemTotal/ { printf "%.0f GB", $2 / 1048576 }' /proc/meminfo); $($GO version | awk '{ print $3 }');" \
    "$("$evaljob" version 2>/dev/null | head -1 || echo 'evaljob ?'); DuckDB ${duckdb_version:-not run};" \
    "$(date -u '+%Y-%m-%d %H:%M UTC')"
  if [[ ${#problems[@]} -gt 0 ]]; then
    echo
    echo "Problems:"
    printf -- '- %s\n' "${problems[@]}"
  fi
} | tee "$BENCH_DIR/last-table.md"

if [[ $status -ne 0 ]]; then
  log "FAILED: a tool failed or the numbers disagree (details above)"
fi
exit $status
