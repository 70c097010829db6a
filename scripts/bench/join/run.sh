#!/usr/bin/env bash
# make bench (second part): the join benchmark of issue #7 — 10M label rows
# joined to 10M prediction rows in another shuffled order (SPEC 2, "Labels in
# their own files"), evaljob against DuckDB.
#
#   bash scripts/bench/join/run.sh                 # 10M x 10M
#   SCALE=0.01 bash scripts/bench/join/run.sh      # CI-sized smoke run (100k x 100k)
#   REPEAT=3 bash scripts/bench/join/run.sh
#
# It generates the two inputs once (scripts/bench/join/gen; cached in the
# scratch folder by name, scale and generator version), then times, one
# after the other with a warm page cache:
#   - evaljob: /usr/bin/time -v bin/evaljob run --config <generated YAML>
#              (task binary, label from the label file, prediction prob,
#              grouped by model, labels: {inputs: [labels], join: [request_id]};
#              process wall time: startup, loading the labels, streaming the
#              predictions, writing outputs). Its log line "msg=labels ...
#              rows=N bytes=B" gives the label store's size: B/N bytes per
#              label row.
#   - DuckDB:  scripts/bench/join/duckdb.mjs, the same join and log-loss sums
#              in SQL with threads=THREADS (DuckDB's in-process query time;
#              peak RSS is the node process's)
# then compares evaljob's summary.parquet (rows, loss_sum, label_sum,
# cross_entropy per model and overall) with DuckDB's numbers at relative
# RTOL, and prints a Markdown table and the machine. Exits 1 when a tool
# failed or the numbers disagree.
#
# Environment (defaults in brackets):
#   SCALE         [1] size relative to the full workload (0.01 for CI)
#   BENCH_DIR     [/tmp/evaljob-bench] scratch: inputs, configs, outputs, logs
#   REPEAT        [1] timed runs per tool; the table shows medians
#   WORKERS       [0] evaljob's workers (0 = number of CPUs, its default)
#   THREADS       [2] DuckDB threads
#   RTOL          [1e-9] relative tolerance of the comparison
#   EVALJOB       use this evaljob binary instead of building bin/evaljob
#   DUCKDB        [1] 0 skips DuckDB (no comparison, evaljob's figures only)
#   DUCKDB_NODE_MODULES [scripts/interop] where @duckdb/node-api is installed
#   GO            [go]
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
here=$root/scripts/bench/join
cd "$root"

SCALE=${SCALE:-1}
BENCH_DIR=${BENCH_DIR:-/tmp/evaljob-bench}
REPEAT=${REPEAT:-1}
WORKERS=${WORKERS:-0}
THREADS=${THREADS:-2}
RTOL=${RTOL:-1e-9}
DUCKDB=${DUCKDB:-1}
GO=${GO:-go}
GEN_VERSION=1 # bump when scripts/bench/join/gen changes its output

log() { echo "bench join: $*" >&2; }
die() { echo "bench join: error: $*" >&2; exit 2; }

[[ -x /usr/bin/time ]] || die "/usr/bin/time not found (GNU time; apt-get install time)"
[[ "$SCALE" =~ ^[0-9]*\.?[0-9]+([eE][-+]?[0-9]+)?$ ]] || die "SCALE=$SCALE is not a positive number"
[[ "$REPEAT" =~ ^[1-9][0-9]*$ ]] || die "REPEAT=$REPEAT is not a positive integer"
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
log "building the generator"
$GO build -o "$BENCH_DIR/bin/join-gen" ./scripts/bench/join/gen || die "go build ./scripts/bench/join/gen failed"

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

# ---- helpers (as in scripts/bench/run.sh) ----
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
fmt_rows() { awk -v n="$1" 'BEGIN { if (n >= 1e6) printf "%.3gM\n", n / 1e6; else if (n >= 1e3) printf "%.3gk\n", n / 1e3; else print n }'; }
# per_sec ROWS SECS: rows per second, as 1.23M/s.
per_sec() { awk -v n="$1" -v s="$2" 'BEGIN { if (s !~ /^[0-9.]+$/ || s + 0 == 0) { print "-"; exit } r = n / s; if (r >= 1e6) printf "%.2fM/s\n", r / 1e6; else if (r >= 1e3) printf "%.1fk/s\n", r / 1e3; else printf "%.0f/s\n", r }'; }
# labels_log FILE KEY: the KEY=value of evaljob's "msg=labels" log line.
labels_log() { awk -v k="$2" '/msg=labels/ { for (i = 1; i <= NF; i++) if (index($i, k "=") == 1) { print substr($i, length(k) + 2); exit } }' "$1"; }

# ---- inputs ----
# Rows of each file: the generator's count, round(10M * SCALE), at least 1.
pred_rows=$(awk -v s="$SCALE" 'BEGIN { n = int(10000000 * s + 0.5); print (n < 1 ? 1 : n) }')
name=join-s$SCALE-v$GEN_VERSION
pred=$BENCH_DIR/$name-predictions.parquet
labels=$BENCH_DIR/$name-labels.parquet
out=$BENCH_DIR/out/$name
cfg=$BENCH_DIR/$name.yaml
logs=$BENCH_DIR/logs/$name
mkdir -p "$logs"
if [[ ! -s "$pred" || ! -s "$labels" ]]; then
  log "generating $pred and $labels (scale $SCALE)"
  "$BENCH_DIR/bin/join-gen" -scale "$SCALE" -predictions "$pred" -labels "$labels" || die "generating the inputs failed"
else
  log "reusing $pred and $labels"
fi
{
  echo "# generated by scripts/bench/join/run.sh"
  echo "inputs: ['$pred']"
  echo "task: binary"
  echo "columns: {label: label, prediction: prob, prediction_kind: prob}"
  echo "group_by: [[model]]"
  echo "labels: {inputs: ['$labels'], join: [request_id], unmatched: error}"
  echo "output: {dir: '$out', per_row: false, overwrite: true}"
  echo "workers: $WORKERS"
} >"$cfg"
cat "$pred" "$labels" >/dev/null # warm the page cache: every tool reads from memory

# ---- run ----
status=0
problems=()
duckdb_version=""
ej_t=() ej_r=() dd_t=() dd_r=()
ej_ok=1 dd_ok=1 agree="-"
label_rows="" label_bytes=""
for ((i = 1; i <= REPEAT; i++)); do
  log "run $i/$REPEAT: evaljob"
  if timed "$logs/evaljob" "$evaljob" run --config "$cfg"; then
    ej_t+=("$secs") ej_r+=("$(rss "$logs/evaljob.time")")
    label_rows=$(labels_log "$logs/evaljob.err" rows)
    label_bytes=$(labels_log "$logs/evaljob.err" bytes)
    if [[ -z "$label_rows" || -z "$label_bytes" ]]; then
      problems+=("evaljob logged no 'msg=labels ... rows= bytes=' line (see $logs/evaljob.err)")
      status=1
    elif [[ "$label_rows" != "$pred_rows" ]]; then
      problems+=("evaljob loaded $label_rows label rows, the label file has $pred_rows")
      status=1
    fi
  else
    ej_ok=0
    log "evaljob FAILED: $(tail -3 "$logs/evaljob.err" | tr '\n' ' ')(log: $logs/evaljob.err)"
    problems+=("evaljob failed (see $logs/evaljob.err)")
    break
  fi

  if [[ "$DUCKDB" != 0 ]]; then
    log "run $i/$REPEAT: DuckDB"
    rc=0
    timed "$logs/duckdb" node "$here/duckdb.mjs" "$pred" "$labels" "$out" || rc=$?
    cp "$logs/duckdb.out" "$logs/duckdb.json"
    if [[ $rc -le 1 && -s "$logs/duckdb.json" ]]; then
      dd_t+=("$(json "$logs/duckdb.json" this.seconds)") dd_r+=("$(rss "$logs/duckdb.time")")
      duckdb_version=$(json "$logs/duckdb.json" this.duckdb_version)
      if [[ "$(json "$logs/duckdb.json" this.compare.ok)" == true ]]; then
        agree="yes (max rel $(json "$logs/duckdb.json" 'this.compare.max_rel.toExponential(1)'))"
      else
        agree="NO"
        problems+=("numbers disagree: $(json "$logs/duckdb.json" "this.compare.failures.slice(0, 5).join('; ')")")
      fi
    else
      dd_ok=0
      log "DuckDB FAILED (exit $rc): $(tail -3 "$logs/duckdb.err" | tr '\n' ' ')"
      problems+=("DuckDB failed (see $logs/duckdb.err)")
    fi
  fi
done
[[ "$agree" == NO || $ej_ok == 0 || $dd_ok == 0 ]] && status=1

e=$([[ $ej_ok == 1 ]] && median "${ej_t[@]}" || echo FAILED)
er=$([[ $ej_ok == 1 ]] && maxof "${ej_r[@]}" || echo -)
if [[ -n "$label_rows" && -n "$label_bytes" && "$label_rows" -gt 0 ]]; then
  bpr=$(awk -v b="$label_bytes" -v n="$label_rows" 'BEGIN { printf "%.1f (%.0f MB)\n", b / n, b / 1e6 }')
else
  bpr=-
fi
if [[ "$DUCKDB" != 0 && $dd_ok == 1 && ${#dd_t[@]} -gt 0 ]]; then
  d=$(median "${dd_t[@]}") dr=$(maxof "${dd_r[@]}")
  d=$(awk -v x="$d" 'BEGIN { printf "%.3f\n", x }')
else
  d=- dr=-
fi
row="| join $(fmt_rows "$pred_rows") x $(fmt_rows "${label_rows:-$pred_rows}") | $pred_rows | ${label_rows:--} | $e | $(per_sec "$pred_rows" "$e") | $(mb "$er") | $bpr | $d | $(mb "$dr") | $agree |"

# ---- report ----
cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null || echo unknown)
{
  echo
  echo "## evaljob join vs DuckDB (SCALE=$SCALE, REPEAT=$REPEAT: medians)"
  echo
  echo "| workload | prediction rows | label rows | evaljob s | evaljob rows/s | evaljob peak RSS | label store bytes/row | DuckDB s | DuckDB peak RSS | numbers agree (rtol $RTOL) |"
  echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|"
  echo "$row"
  echo
  echo "Prediction and label files hold the same request ids in two different shuffled orders (scripts/bench/join/gen);"
  echo "evaljob: task binary grouped by model, labels joined on request_id. evaljob s: process wall time"
  echo "(/usr/bin/time -v), loading the labels included; rows/s: prediction rows / evaljob s. Label store bytes/row:"
  echo "the bytes of evaljob's 'msg=labels' log line / label rows. DuckDB s: query time inside the process"
  echo "(threads=$THREADS; both files read, joined, aggregated), excluding node startup; DuckDB peak RSS includes node."
  echo "evaljob workers=$WORKERS (0 = CPUs). Page cache warm. Inputs and logs: $BENCH_DIR."
  [[ -n "$duckdb_note" ]] && echo "DuckDB: $duckdb_note."
  if [[ "$DUCKDB" != 0 && $dd_ok == 1 && -s "$logs/duckdb.json" ]]; then
    echo
    echo "| | overall |"
    echo "|---|---|"
    echo "| evaljob | \`$(json "$logs/duckdb.json" 'JSON.stringify(this.evaljob_overall)')\` |"
    echo "| DuckDB | \`$(json "$logs/duckdb.json" 'JSON.stringify(this.overall)')\` |"
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
} | tee "$BENCH_DIR/last-join-table.md"

if [[ $status -ne 0 ]]; then
  log "FAILED: a tool failed or the numbers disagree (details above)"
fi
exit $status
