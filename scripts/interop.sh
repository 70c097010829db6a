#!/usr/bin/env bash
# Interop check: open evaljob's output of a binary run (default) or a token
# long-layout run (TASK=token) with DuckDB (Node.js @duckdb/node-api), check
# the schema against SPEC.md section 4, and recompute the metrics in DuckDB
# SQL from the input Parquet files.
#
#   bash scripts/interop.sh OUT_DIR INPUT_GLOB
#   bash scripts/interop.sh out/example 'testdata/example/*.parquet'
#
#   # token task, long layout (configs/token-long.yaml: prediction logprob_f64,
#   # sequence doc_id, bytes n_bytes, words n_words, group_by [model], per_row):
#   evaljob run --config configs/token-long.yaml
#   TASK=token PREDICTION=logprob_f64 bash scripts/interop.sh out/token-long 'testdata/token/long*.parquet'
#
# Environment: TASK (binary | token), RTOL, WEIGHT; binary: LABEL,
# PREDICTION, THRESHOLD, EPSILON; token: PREDICTION (default logprob),
# SEQUENCE, BYTES, WORDS (see scripts/interop/check.mjs);
# INTEROP_NODE_MODULES=DIR to reuse an install.
# Needs node >= 18 and npm with access to the npm registry. Exits non-zero
# on any mismatch.
set -euo pipefail

if [[ $# -ne 2 ]]; then
  echo "usage: $0 OUT_DIR INPUT_GLOB" >&2
  exit 2
fi
out_dir=$1
input_glob=$2
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

command -v node >/dev/null || { echo "interop: node not found" >&2; exit 2; }
command -v npm >/dev/null || { echo "interop: npm not found" >&2; exit 2; }

# Install the pinned @duckdb/node-api next to check.mjs (gitignored), once.
prefix=${INTEROP_NODE_MODULES:-$here/interop}
version=$(node -p "require('$here/interop/package.json').dependencies['@duckdb/node-api']")
installed=$(node -p "try { require('$prefix/node_modules/@duckdb/node-api/package.json').version } catch { '' }" 2>/dev/null || true)
if [[ "$installed" != "$version" ]]; then
  echo "interop: installing @duckdb/node-api@$version into $prefix" >&2
  if [[ "$prefix" != "$here/interop" ]]; then
    mkdir -p "$prefix"
    cp "$here/interop/package.json" "$prefix/"
  fi
  npm install --prefix "$prefix" --no-audit --no-fund --no-package-lock --loglevel=error >&2
fi

# check.mjs resolves its import from the folder it is in; when the modules
# live elsewhere, run a copy from there.
script=$here/interop/check.mjs
if [[ "$prefix" != "$here/interop" ]]; then
  cp "$script" "$prefix/check.mjs"
  script=$prefix/check.mjs
fi
exec node "$script" "$out_dir" "$input_glob"
