// duckdb.mjs — the DuckDB side of the join benchmark
// (scripts/bench/join/run.sh, issue #7): joins the prediction file to the
// label file on request_id with DuckDB (threads=2 unless THREADS is set),
// computes the binary log-loss sums per model and overall, times that, and,
// given evaljob's output folder, compares evaljob's summary numbers with
// DuckDB's.
//
//   node scripts/bench/join/duckdb.mjs PREDICTIONS.parquet LABELS.parquet [EVALJOB_OUT_DIR]
//
// Prints one JSON object on stdout:
//   { seconds, threads, duckdb_version, overall: {...}, evaljob_overall: {...},
//     compare: { ok, checked, failures: [...], max_rel } }   (compare only
//   with EVALJOB_OUT_DIR)
// Exit status: 0, 1 when the numbers disagree (RTOL, default 1e-9, relative),
// 2 on a usage or DuckDB error.
//
// What is timed is the query alone (DuckDB's in-process time, after the
// database is open): reading both Parquet files, the inner join on
// request_id, and per grouping set (), (model) the row count, the log-loss
// sum (SPEC 3: p clipped to [eps, 1-eps], eps = 2^-52 for float64; a term
// whose target weight is zero is not evaluated) and the label sum. Compared
// with evaljob's summary.parquet: rows, loss_sum, label_sum, cross_entropy,
// and unlabeled_rows = 0 when evaljob reports it; and manifest.json's
// labels_unmatched = 0 (every id is in both generated files).
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { existsSync, readFileSync } from 'node:fs';

const here = dirname(fileURLToPath(import.meta.url));
const modulesDir = resolve(process.env.DUCKDB_NODE_MODULES || join(here, '..', '..', 'interop'));
let DuckDBInstance;
try {
  ({ DuckDBInstance } = createRequire(join(modulesDir, 'package.json'))('@duckdb/node-api'));
} catch (e) {
  console.error(`duckdb.mjs: cannot load @duckdb/node-api from ${modulesDir}/node_modules: ${e.message}`);
  process.exit(2);
}

const [predictions, labels, evaljobOut] = process.argv.slice(2);
if (!predictions || !labels) {
  console.error('usage: node scripts/bench/join/duckdb.mjs PREDICTIONS.parquet LABELS.parquet [EVALJOB_OUT_DIR]');
  process.exit(2);
}
const THREADS = Number(process.env.THREADS || 2);
const RTOL = Number(process.env.RTOL || 1e-9);
const EPS = 2 ** -52;

const sq = (s) => `'${String(s).replaceAll("'", "''")}'`;
const num = (v) => (typeof v === 'bigint' ? Number(v) : v);

let db;
let version;
const all = async (sql) => (await db.runAndReadAll(sql)).getRowObjectsJS()
  .map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, num(v)])));
try {
  const inst = await DuckDBInstance.create(':memory:', { threads: String(THREADS) });
  db = await inst.connect();
  version = (await all('SELECT version() AS v'))[0].v;
} catch (e) {
  console.error(`duckdb.mjs: opening DuckDB: ${e.message}`);
  process.exit(2);
}

const timed = `CREATE TEMP TABLE res AS
  WITH j AS (
    SELECT p.model, CAST(l.label AS DOUBLE) AS y,
           least(greatest(p.prob, ${EPS}), 1 - ${EPS}) AS pc
    FROM read_parquet(${sq(predictions)}) p
    JOIN read_parquet(${sq(labels)}) l USING (request_id)
  ), s AS (
    SELECT model, y,
      -((CASE WHEN y > 0 THEN y * ln(pc) ELSE 0 END)
        + (CASE WHEN 1 - y > 0 THEN (1 - y) * ln(1 - pc) ELSE 0 END)) AS loss
    FROM j
  )
  SELECT model, GROUPING(model) AS gid, count(*) AS rows, sum(loss) AS loss_sum, sum(y) AS label_sum
  FROM s GROUP BY GROUPING SETS ((), (model))`;

let seconds;
try {
  const t0 = performance.now();
  await db.run(timed);
  seconds = (performance.now() - t0) / 1000;
} catch (e) {
  console.error(`duckdb.mjs: join query: ${e.message}`);
  process.exit(2);
}

const mine = await all(`SELECT CASE gid WHEN 1 THEN '' ELSE 'model' END AS group_set, *,
  loss_sum / rows AS cross_entropy FROM res`);
const compare = ['rows', 'loss_sum', 'label_sum', 'cross_entropy'];
const overallCols = ['rows', 'loss_sum', 'cross_entropy'];
const keyOf = (r, gs) => JSON.stringify([gs, gs === '' ? null : (r.model ?? null)]);
const overallRow = mine.find((r) => r.group_set === '');
const out = {
  workload: 'join',
  predictions,
  labels,
  duckdb_version: version,
  threads: THREADS,
  seconds,
  groups: mine.length,
  overall: Object.fromEntries(overallCols.map((c) => [c, overallRow?.[c] ?? null])),
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
    out.evaljob_overall = Object.fromEntries(overallCols.map((c) => [c, theirOverall?.[c] ?? null]));
    if (theirs.length !== mine.length) failures.push(`evaljob has ${theirs.length} summary rows, DuckDB ${mine.length} groups`);
    for (const r of mine) {
      const k = keyOf(r, r.group_set);
      const e = byKey.get(k);
      if (!e) { failures.push(`group ${k}: not in evaljob's summary`); continue; }
      for (const c of compare) {
        checked++;
        if (!(c in e)) { failures.push(`group ${k}: evaljob's summary has no column ${c}`); continue; }
        if (Number.isFinite(e[c]) && Number.isFinite(r[c])) maxRel = Math.max(maxRel, rel(e[c], r[c]));
        if (!close(e[c], r[c])) failures.push(`group ${k} ${c}: evaljob ${e[c]} vs DuckDB ${r[c]}`);
      }
      if ('unlabeled_rows' in e) {
        checked++;
        if (e.unlabeled_rows !== 0) failures.push(`group ${k}: evaljob's unlabeled_rows = ${e.unlabeled_rows}, want 0`);
      }
    }
  }
  const manifestPath = join(evaljobOut, 'manifest.json');
  try {
    const m = JSON.parse(readFileSync(manifestPath, 'utf8'));
    checked++;
    if (m.labels_unmatched !== 0) failures.push(`manifest.json: labels_unmatched = ${m.labels_unmatched}, want 0`);
  } catch (e) {
    failures.push(`${manifestPath}: ${e.message}`);
  }
  ok = failures.length === 0;
  out.compare = { ok, rtol: RTOL, checked, max_rel: maxRel, failures: failures.slice(0, 20), failures_total: failures.length };
}
console.log(JSON.stringify(out));
process.exit(ok ? 0 : 1);
