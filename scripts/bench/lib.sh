# Shared by the make bench harnesses (scripts/bench/run.sh and
# scripts/bench/join/run.sh): building evaljob, installing DuckDB from npm,
# timing, and formatting. Sourced after the caller has set root, GO,
# BENCH_DIR, DUCKDB, THREADS and RTOL and defined log and die.

# build_evaljob sets evaljob to EVALJOB, or to bin/evaljob built from root.
build_evaljob() {
  if [[ -n "${EVALJOB:-}" ]]; then
    [[ -x "$EVALJOB" ]] || die "EVALJOB=$EVALJOB is not an executable"
    evaljob=$(cd "$(dirname "$EVALJOB")" && pwd)/$(basename "$EVALJOB")
    log "using $evaljob (EVALJOB)"
  else
    log "building bin/evaljob"
    $GO build -o bin/evaljob ./cmd/evaljob || die "go build ./cmd/evaljob failed (set EVALJOB=path to benchmark a prebuilt binary)"
    evaljob=$root/bin/evaljob
  fi
}

# setup_duckdb installs @duckdb/node-api (the version scripts/interop uses)
# unless DUCKDB=0; when that fails it sets DUCKDB=0 and duckdb_note says why.
setup_duckdb() {
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
}

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

# run_duckdb PREFIX LOGS ARGS...: one timed run of $here/duckdb.mjs ARGS...
# (logs under LOGS/duckdb.*). Appends its seconds and peak RSS to dd_t and
# dd_r and sets duckdb_version and agree; on a failure sets dd_ok=0.
# Problems go to the problems array, each after PREFIX.
run_duckdb() {
  local prefix=$1 logs=$2 rc=0
  shift 2
  timed "$logs/duckdb" node "$here/duckdb.mjs" "$@" || rc=$?
  cp "$logs/duckdb.out" "$logs/duckdb.json"
  if [[ $rc -le 1 && -s "$logs/duckdb.json" ]]; then
    dd_t+=("$(json "$logs/duckdb.json" this.seconds)") dd_r+=("$(rss "$logs/duckdb.time")")
    duckdb_version=$(json "$logs/duckdb.json" this.duckdb_version)
    if [[ "$(json "$logs/duckdb.json" this.compare.ok)" == true ]]; then
      agree="yes (max rel $(json "$logs/duckdb.json" 'this.compare.max_rel.toExponential(1)'))"
    else
      agree="NO"
      problems+=("${prefix}numbers disagree: $(json "$logs/duckdb.json" "this.compare.failures.slice(0, 5).join('; ')")")
    fi
  else
    dd_ok=0
    log "${prefix}DuckDB FAILED (exit $rc): $(tail -3 "$logs/duckdb.err" | tr '\n' ' ')"
    problems+=("${prefix}DuckDB failed (see $logs/duckdb.err)")
  fi
}
