// duckdb.mjs — the DuckDB side of the benchmark harness (scripts/bench/run.sh,
// issue #4): runs one workload's SQL with DuckDB (threads=2 unless THREADS is
// set), times it, and, given evaljob's output folder, compares evaljob's
// summary numbers with DuckDB's.
//
//   node scripts/bench/duckdb.mjs WORKLOAD INPUT.parquet SCRATCH_DIR [EVALJOB_OUT_DIR]
//
// WORKLOAD is binary | multiclass | tokens | vocab (see scripts/bench/gen).
// Prints one JSON object on stdout:
//   { workload, seconds, threads, duckdb_version, overall: {...},
//     compare: { ok, checked, failures: [...], max_rel } }   (compare only
//   with EVALJOB_OUT_DIR)
// Exit status: 0, 1 when the numbers disagree (RTOL, default 1e-9, relative),
// 2 on a usage or DuckDB error.
//
// What is timed is the query alone (DuckDB's in-process time, after the
// database is open): reading the Parquet file and computing, per grouping set
// of the workload, the same sums evaljob reports — binary: rows, loss_sum
// (log-loss with eps = 2^-52 clipping, SPEC 3), loss_sq_sum, correct_sum,
// brier_sum, prediction_sum, label_sum over (), (model), (model, slice);
// multiclass: rows, loss_sum (max-shifted log-sum-exp minus the target
// logit), loss_sq_sum, correct_sum (argmax, lowest index on ties), brier_sum,
// prediction_sum (top-label confidence) over (), (model); tokens and vocab:
// per sequence (model, doc_id) tokens and nll (vocab: from the 32k logits),
// then per group tokens, nll_sum, token-weighted cross-entropy and the mean
// of per-sequence perplexities. For tokens the per-sequence table is written
// to SCRATCH_DIR/duckdb-tokens-rows.parquet, as evaljob writes rows.parquet.
// Not computed in SQL: ECE and the calibration bins, the standard error, and
// input validation (evaljob checks every value's domain; the SQL trusts the
// data).
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { existsSync } from 'node:fs';

const here = dirname(fileURLToPath(import.meta.url));
const modulesDir = resolve(process.env.DUCKDB_NODE_MODULES || join(here, '..', 'interop'));
let DuckDBInstance;
try {
  ({ DuckDBInstance } = createRequire(join(modulesDir, 'package.json'))('@duckdb/node-api'));
} catch (e) {
  console.error(`duckdb.mjs: cannot load @duckdb/node-api from ${modulesDir}/node_modules: ${e.message}`);
  process.exit(2);
}

const [workload, input, scratch, evaljobOut] = process.argv.slice(2);
if (!workload || !input || !scratch) {
  console.error('usage: node duckdb.mjs WORKLOAD INPUT.parquet SCRATCH_DIR [EVALJOB_OUT_DIR]');
  process.exit(2);
}
const THREADS = Number(process.env.THREADS || 2);
const RTOL = Number(process.env.RTOL || 1e-9);
const EPS = 2 ** -52;

const sq = (s) => `'${String(s).replaceAll("'", "''")}'`;
const num = (v) => (typeof v === 'bigint' ? Number(v) : v);
const src = `read_parquet(${sq(input)})`;

const inst = await DuckDBInstance.create(':memory:', { threads: String(THREADS) });
const db = await inst.connect();
const all = async (sql) => (await db.runAndReadAll(sql)).getRowObjectsJS()
  .map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, num(v)])));
const version = (await all('SELECT version() AS v'))[0].v;

// Each workload: the timed SQL (statements run in order), the query that
// reads its result as rows { group_set, keys..., sums }, and the columns to
// compare with evaljob's summary.parquet (DuckDB name -> evaljob column).
const workloads = {
  binary: {
    keys: ['model', 'slice'],
    timed: [`CREATE TEMP TABLE res AS
      WITH s AS (
        SELECT model, slice, CAST(label AS DOUBLE) AS y, prob AS p,
               least(greatest(prob, ${EPS}), 1 - ${EPS}) AS pc
        FROM ${src}
      ), l AS (
        SELECT model, slice, y, p,
          -((CASE WHEN y > 0 THEN y * ln(pc) ELSE 0 END)
            + (CASE WHEN 1 - y > 0 THEN (1 - y) * ln(1 - pc) ELSE 0 END)) AS loss
        FROM s
      )
      SELECT model, slice, GROUPING(model, slice) AS gid,
        count(*) AS rows, sum(loss) AS loss_sum, sum(loss * loss) AS loss_sq_sum,
        sum(CASE WHEN (p >= 0.5) = (y >= 0.5) THEN 1.0 ELSE 0.0 END) AS correct_sum,
        sum((p - y) * (p - y)) AS brier_sum, sum(p) AS prediction_sum, sum(y) AS label_sum
      FROM l GROUP BY GROUPING SETS ((), (model), (model, slice))`],
    result: `SELECT CASE gid WHEN 3 THEN '' WHEN 1 THEN 'model' ELSE 'model,slice' END AS group_set, *,
      loss_sum / rows AS cross_entropy, correct_sum / rows AS accuracy FROM res`,
    compare: ['rows', 'loss_sum', 'loss_sq_sum', 'correct_sum', 'brier_sum', 'prediction_sum', 'label_sum', 'cross_entropy', 'accuracy'],
    overall: ['rows', 'cross_entropy', 'accuracy'],
  },
  multiclass: {
    keys: ['model'],
    timed: [`CREATE TEMP TABLE res AS
      WITH s AS (
        SELECT model, label, logits, CAST(list_max(logits) AS DOUBLE) AS m FROM ${src}
      ), e AS (
        SELECT model, label, m, CAST(logits[label + 1] AS DOUBLE) AS zy,
          list_position(logits, CAST(m AS FLOAT)) - 1 AS argmax,
          list_transform(logits, lambda x: exp(x - m)) AS ex
        FROM s
      ), l AS (
        SELECT model, label, argmax, list_sum(ex) AS se, list_inner_product(ex, ex) AS ss,
          exp(zy - m) AS ey, ln(list_sum(ex)) + m - zy AS loss
        FROM e
      )
      SELECT model, GROUPING(model) AS gid,
        count(*) AS rows, sum(loss) AS loss_sum, sum(loss * loss) AS loss_sq_sum,
        sum(CASE WHEN argmax = label THEN 1.0 ELSE 0.0 END) AS correct_sum,
        sum(ss / (se * se) - 2 * ey / se + 1) AS brier_sum,
        sum(1 / se) AS prediction_sum
      FROM l GROUP BY GROUPING SETS ((), (model))`],
    result: `SELECT CASE gid WHEN 1 THEN '' ELSE 'model' END AS group_set, *,
      loss_sum / rows AS cross_entropy, correct_sum / rows AS accuracy FROM res`,
    compare: ['rows', 'loss_sum', 'loss_sq_sum', 'correct_sum', 'brier_sum', 'prediction_sum', 'cross_entropy', 'accuracy'],
    overall: ['rows', 'cross_entropy', 'accuracy'],
  },
  tokens: {
    keys: ['model'],
    timed: [
      `CREATE TEMP TABLE seq AS
        SELECT model, doc_id, count(*) AS tokens, -sum(CAST(logprob AS DOUBLE)) AS nll
        FROM ${src} GROUP BY model, doc_id`,
      `COPY (SELECT model, doc_id, tokens, nll / tokens AS cross_entropy, exp(nll / tokens) AS perplexity
             FROM seq ORDER BY doc_id)
        TO ${sq(join(scratch, 'duckdb-tokens-rows.parquet'))} (FORMAT parquet, COMPRESSION zstd)`,
      tokenSummary(),
    ],
    result: tokenResult(),
    compare: ['rows', 'tokens', 'sequences', 'nll_sum', 'cross_entropy', 'perplexity', 'seq_perplexity_mean', 'seq_perplexity_sum'],
    overall: ['rows', 'sequences', 'cross_entropy', 'perplexity', 'seq_perplexity_mean'],
  },
  vocab: {
    keys: ['model'],
    timed: [
      `CREATE TEMP TABLE seq AS
        WITH s AS (
          SELECT model, doc_id, label, logits, CAST(list_max(logits) AS DOUBLE) AS m FROM ${src}
        ), l AS (
          SELECT model, doc_id,
            ln(list_sum(list_transform(logits, lambda x: exp(x - m)))) + m - CAST(logits[label + 1] AS DOUBLE) AS nll
          FROM s
        )
        SELECT model, doc_id, count(*) AS tokens, sum(nll) AS nll FROM l GROUP BY model, doc_id`,
      tokenSummary(),
    ],
    result: tokenResult(),
    compare: ['rows', 'tokens', 'sequences', 'nll_sum', 'cross_entropy', 'perplexity', 'seq_perplexity_mean', 'seq_perplexity_sum'],
    overall: ['rows', 'sequences', 'cross_entropy', 'perplexity', 'seq_perplexity_mean'],
  },
};

// Per group over the sequences (model, doc_id). Every doc_id belongs to one
// model in the generated data, so the overall row's sequences (doc_id alone
// in evaljob) are the same sequences.
function tokenSummary() {
  return `CREATE TEMP TABLE res AS
    SELECT model, GROUPING(model) AS gid, sum(tokens) AS tokens, count(*) AS sequences,
      sum(nll) AS nll_sum, sum(nll) / sum(tokens) AS cross_entropy,
      exp(sum(nll) / sum(tokens)) AS perplexity,
      sum(exp(nll / tokens)) AS seq_perplexity_sum, avg(exp(nll / tokens)) AS seq_perplexity_mean
    FROM seq GROUP BY GROUPING SETS ((), (model))`;
}
function tokenResult() {
  return `SELECT CASE gid WHEN 1 THEN '' ELSE 'model' END AS group_set, *, tokens AS rows FROM res`;
}

const w = workloads[workload];
if (!w) {
  console.error(`duckdb.mjs: unknown workload ${workload} (want ${Object.keys(workloads).join(', ')})`);
  process.exit(2);
}

let seconds;
try {
  const t0 = performance.now();
  for (const sql of w.timed) await db.run(sql);
  seconds = (performance.now() - t0) / 1000;
} catch (e) {
  console.error(`duckdb.mjs: ${workload}: ${e.message}`);
  process.exit(2);
}

const mine = await all(w.result);
const keyOf = (r, gs) => JSON.stringify([gs, ...(gs === '' ? [] : gs.split(',')).map((k) => r[k] ?? null)]);
const overallRow = mine.find((r) => r.group_set === '');
const out = {
  workload,
  input,
  duckdb_version: version,
  threads: THREADS,
  seconds,
  groups: mine.length,
  overall: Object.fromEntries(w.overall.map((c) => [c, overallRow?.[c] ?? null])),
};

function close(a, b) {
  if (a === null || a === undefined || b === null || b === undefined) return a == null && b == null;
  if (!Number.isFinite(a) || !Number.isFinite(b)) return a === b;
  const scale = Math.max(Math.abs(a), Math.abs(b));
  return Math.abs(a - b) <= RTOL * scale || scale < 1e-300;
}
const rel = (a, b) => {
  const scale = Math.max(Math.abs(a), Math.abs(b));
  return scale === 0 ? 0 : Math.abs(a - b) / scale;
};

let ok = true;
if (evaljobOut) {
  const failures = [];
  let checked = 0;
  let maxRel = 0;
  const summaryPath = join(evaljobOut, 'summary.parquet');
  if (!existsSync(summaryPath)) {
    failures.push(`${summaryPath} does not exist`);
  } else {
    const theirs = await all(`SELECT * FROM read_parquet(${sq(summaryPath)})`);
    const byKey = new Map(theirs.map((r) => [keyOf(r, r.group_set), r]));
    const theirOverall = theirs.find((r) => r.group_set === '');
    out.evaljob_overall = Object.fromEntries(w.overall.map((c) => [c, theirOverall?.[c] ?? null]));
    if (theirs.length !== mine.length) failures.push(`evaljob has ${theirs.length} summary rows, DuckDB ${mine.length} groups`);
    for (const r of mine) {
      const k = keyOf(r, r.group_set);
      const e = byKey.get(k);
      if (!e) { failures.push(`group ${k}: not in evaljob's summary`); continue; }
      for (const c of w.compare) {
        checked++;
        if (!(c in e)) { failures.push(`group ${k}: evaljob's summary has no column ${c}`); continue; }
        if (Number.isFinite(e[c]) && Number.isFinite(r[c])) maxRel = Math.max(maxRel, rel(e[c], r[c]));
        if (!close(e[c], r[c])) failures.push(`group ${k} ${c}: evaljob ${e[c]} vs DuckDB ${r[c]}`);
      }
    }
    // Per-sequence results: evaljob's rows.parquet against DuckDB's table.
    const rowsPath = join(evaljobOut, 'rows.parquet');
    if (workload === 'tokens') {
      if (!existsSync(rowsPath)) {
        failures.push(`${rowsPath} does not exist (per_row: true expected)`);
      } else {
        const [d] = await all(`
          WITH e AS (SELECT * FROM read_parquet(${sq(rowsPath)})),
               d AS (SELECT * FROM read_parquet(${sq(join(scratch, 'duckdb-tokens-rows.parquet'))}))
          SELECT (SELECT count(*) FROM e) AS e_rows, (SELECT count(*) FROM d) AS d_rows,
            count(*) AS matched,
            count(*) FILTER (WHERE e.tokens <> d.tokens) AS token_diffs,
            max(abs(e.perplexity - d.perplexity) / greatest(abs(e.perplexity), abs(d.perplexity))) AS max_rel_ppl,
            max(abs(e.cross_entropy - d.cross_entropy) / greatest(abs(e.cross_entropy), abs(d.cross_entropy))) AS max_rel_ce
          FROM e JOIN d USING (model, doc_id)`);
        checked += 3;
        out.rows_compare = d;
        if (d.e_rows !== d.d_rows || d.matched !== d.d_rows) failures.push(`rows.parquet: ${d.e_rows} sequences, DuckDB ${d.d_rows}, ${d.matched} matched`);
        if (d.token_diffs) failures.push(`rows.parquet: ${d.token_diffs} sequences with other token counts`);
        for (const c of ['max_rel_ppl', 'max_rel_ce']) {
          if (d[c] !== null) maxRel = Math.max(maxRel, d[c]);
          if (!(d[c] <= RTOL)) failures.push(`rows.parquet: ${c} = ${d[c]} > ${RTOL}`);
        }
      }
    }
  }
  ok = failures.length === 0;
  out.compare = { ok, rtol: RTOL, checked, max_rel: maxRel, failures: failures.slice(0, 20), failures_total: failures.length };
}
console.log(JSON.stringify(out));
process.exit(ok ? 0 : 1);
