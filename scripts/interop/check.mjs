// check.mjs — open evaljob's output of a *binary* (default) or *token*
// long-layout run with DuckDB and check it against SPEC.md section 4 and
// against metrics recomputed in DuckDB SQL straight from the input files.
//
//   node check.mjs OUT_DIR INPUT_GLOB
//   TASK=token node check.mjs OUT_DIR 'testdata/token/long*.parquet'
//
// Environment (defaults in brackets): TASK [binary | token], RTOL [1e-9],
// WEIGHT [weight; empty = unit weights; a missing column = unit weights].
// binary: LABEL [label], PREDICTION [prob, a probability column],
// THRESHOLD [0.5], EPSILON [2^-52].
// token (long layout, logprob kind): PREDICTION [logprob, the log-probability
// of the actual token], SEQUENCE [doc_id], BYTES [n_bytes], WORDS [n_words]
// (empty or a missing column = not configured: bits_per_byte /
// word_perplexity must be null). A sequence is its group_by keys (every
// group_by column of the summary) plus its SEQUENCE value, in every
// grouping set including the overall row.
// Prints one line per check and 'interop: N passed, M failed'; exits 1 on
// any failure, 2 on a usage error.
import { DuckDBInstance } from '@duckdb/node-api';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const [outDir, inputGlob] = process.argv.slice(2);
if (!outDir || !inputGlob) {
  console.error('usage: node check.mjs OUT_DIR INPUT_GLOB');
  process.exit(2);
}
const env = (k, d) => (process.env[k] === undefined ? d : process.env[k]);
const TASK = env('TASK', 'binary');
if (TASK !== 'binary' && TASK !== 'token') {
  console.error(`check.mjs: TASK=${TASK}: not binary or token`);
  process.exit(2);
}
const LABEL = env('LABEL', 'label');
const PRED = env('PREDICTION', TASK === 'token' ? 'logprob' : 'prob');
let WEIGHT = env('WEIGHT', 'weight');
const THRESHOLD = Number(env('THRESHOLD', '0.5'));
const EPS = Number(env('EPSILON', String(2 ** -52)));
const RTOL = Number(env('RTOL', '1e-9'));

let passed = 0;
let failed = 0;
const pass = (msg) => { passed++; console.log(`ok    ${msg}`); };
const fail = (msg) => { failed++; console.log(`FAIL  ${msg}`); };
const check = (cond, msg) => (cond ? pass(msg) : fail(msg));

const sq = (s) => `'${String(s).replaceAll("'", "''")}'`;
const id = (s) => `"${String(s).replaceAll('"', '""')}"`;
const num = (v) => (typeof v === 'bigint' ? Number(v) : v);

// close: equal within RTOL relative, nulls and infinities equal only to
// themselves.
function close(a, b) {
  a = num(a); b = num(b);
  if (a === null || a === undefined || b === null || b === undefined) return a == null && b == null;
  if (Number.isNaN(a) || Number.isNaN(b)) return false;
  if (!Number.isFinite(a) || !Number.isFinite(b)) return a === b;
  const scale = Math.max(Math.abs(a), Math.abs(b));
  return Math.abs(a - b) <= RTOL * scale || scale < 1e-300;
}
const fmt = (v) => (v === null || v === undefined ? 'null' : typeof v === 'bigint' ? v.toString() : Array.isArray(v) ? `[${v.map(fmt).join(',')}]` : String(v));

const inst = await DuckDBInstance.create(':memory:');
const db = await inst.connect();
const all = async (sql) => (await db.runAndReadAll(sql)).getRowObjectsJS();

const summaryPath = join(outDir, 'summary.parquet');
const rowsPath = join(outDir, 'rows.parquet');
const manifestPath = join(outDir, 'manifest.json');
if (!existsSync(summaryPath)) {
  fail(`${summaryPath} exists`);
  finish();
}

// ---- inputs, in evaljob's order (files by path, rows in file order) ----
await db.run(`CREATE VIEW input_raw AS SELECT * FROM read_parquet(${sq(inputGlob)},
  filename = true, file_row_number = true, hive_types_autocast = false)`);
const inputCols = await all(`DESCRIBE input_raw`);
const inputType = Object.fromEntries(inputCols.map((c) => [c.column_name, c.column_type]));
if (WEIGHT && !(WEIGHT in inputType)) WEIGHT = '';
if (TASK === 'token') {
  await tokenCheck();
  finish();
}
for (const c of [LABEL, PRED]) {
  if (!(c in inputType)) {
    fail(`input column ${c} exists (have ${Object.keys(inputType).join(', ')})`);
    finish();
  }
}
const labelIsInt = /INT/.test(inputType[LABEL]);
const w = WEIGHT ? `CAST(${id(WEIGHT)} AS DOUBLE)` : '1.0';
// y: -1 is a negative; bool -> 0/1.
const y = `(CASE WHEN CAST(${id(LABEL)} AS DOUBLE) = -1 THEN 0.0 ELSE CAST(${id(LABEL)} AS DOUBLE) END)`;
const p = `CAST(${id(PRED)} AS DOUBLE)`;
await db.run(`CREATE VIEW input AS
  SELECT *,
    row_number() OVER (ORDER BY filename, file_row_number) - 1 AS input_pos,
    ${labelIsInt ? `${id(LABEL)} = -100` : 'false'} AS ignored,
    ${y} AS y, ${p} AS p, ${w} AS w
  FROM input_raw`);
const validExpr = `(NOT ignored AND y IS NOT NULL AND p IS NOT NULL AND w IS NOT NULL
  AND NOT isnan(p) AND p >= 0 AND p <= 1
  AND NOT isnan(y) AND y >= 0 AND y <= 1 AND (y IN (0, 1) OR ${labelIsInt ? 'false' : 'true'})
  AND NOT isnan(w) AND isfinite(w) AND w >= 0)`;
const EPS_SQL = `CAST(${EPS} AS DOUBLE)`;
// The row loss (SPEC 3): p' = clip(p, eps, 1-eps) in both terms, and a term
// whose target weight is zero is not evaluated. So p=0, y=0 gives
// -ln(1-eps), as does p=1, y=1.
const pc = `least(greatest(p, ${EPS_SQL}), 1 - ${EPS_SQL})`;
await db.run(`CREATE VIEW scored AS
  SELECT *, ${validExpr} AS valid,
    CASE WHEN ${validExpr} THEN
      -( (CASE WHEN y > 0 THEN y * ln(${pc}) ELSE 0 END)
       + (CASE WHEN 1 - y > 0 THEN (1 - y) * ln(1 - ${pc}) ELSE 0 END) )
    END AS loss,
    (p < ${EPS_SQL} OR p > 1 - ${EPS_SQL}) AS clipped,
    CASE WHEN (p >= ${THRESHOLD}) = (y >= 0.5) THEN 1.0 ELSE 0.0 END AS correct
  FROM input`);

// ---- summary schema (SPEC 4) ----
const sumCols = await all(`DESCRIBE SELECT * FROM read_parquet(${sq(summaryPath)})`);
const names = sumCols.map((c) => c.column_name);
const types = Object.fromEntries(sumCols.map((c) => [c.column_name, c.column_type]));
const gsIdx = names.indexOf('group_set');
check(gsIdx >= 0, `summary has a group_set column`);
if (gsIdx < 0) finish();
const groupBy = names.slice(0, gsIdx);
for (const g of groupBy) {
  check(inputType[g] !== undefined && types[g] === inputType[g],
    `group_by column ${g} has its input type: ${types[g]} vs input ${inputType[g]}`);
}
const hasUnlabeled = names.includes('unlabeled_rows');
const expected = [
  ['group_set', 'VARCHAR'],
  ['rows', 'BIGINT'], ['invalid_rows', 'BIGINT'], ['ignored_rows', 'BIGINT'],
  ...(hasUnlabeled ? [['unlabeled_rows', 'BIGINT']] : []),
  ['clipped_rows', 'BIGINT'],
  ['weight_sum', 'DOUBLE'],
  ['cross_entropy', 'DOUBLE'], ['log_loss', 'DOUBLE'], ['perplexity', 'DOUBLE'],
  ['cross_entropy_stderr', 'DOUBLE'], ['accuracy', 'DOUBLE'], ['brier', 'DOUBLE'],
  ['ece', 'DOUBLE'], ['mean_prediction', 'DOUBLE'], ['label_rate', 'DOUBLE'],
  ['loss_sum', 'DOUBLE'], ['loss_sq_sum', 'DOUBLE'], ['weight_sq_sum', 'DOUBLE'],
];
const got = names.slice(gsIdx, gsIdx + expected.length).map((n) => [n, types[n]]);
check(JSON.stringify(got) === JSON.stringify(expected),
  `summary columns after the group_by columns (${groupBy.join(',') || 'none'}): ${got.map((g) => g.join(' ')).join(', ')}`);
const rest = names.slice(gsIdx + expected.length);
for (const c of ['calibration_weight', 'calibration_confidence_sum', 'calibration_outcome_sum']) {
  check(types[c] === 'DOUBLE[]', `summary column ${c} is DOUBLE[] (got ${types[c]})`);
}
const badRest = rest.filter((c) => !c.startsWith('calibration_') && types[c] !== 'DOUBLE');
check(badRest.length === 0, `other sufficient statistics are DOUBLE: ${rest.join(', ')}`);

// ---- Parquet properties ----
await checkParquetProps(summaryPath);

// ---- summary rows ----
const summary = await all(`SELECT * FROM read_parquet(${sq(summaryPath)}, file_row_number = true) ORDER BY file_row_number`);
checkSummaryRows(summary, groupBy);

// ---- recompute every group in SQL ----
const bins = Array.isArray(summary[0].calibration_weight) ? summary[0].calibration_weight.length : 15;
const metricsSQL = (keys) => `
  WITH g AS (
    SELECT ${keys.map(id).join(', ')}${keys.length ? ',' : ''}
      count(*) FILTER (WHERE valid) AS rows,
      count(*) FILTER (WHERE NOT valid AND NOT ignored) AS invalid_rows,
      count(*) FILTER (WHERE ignored) AS ignored_rows,
      count(*) FILTER (WHERE valid AND clipped) AS clipped_rows,
      coalesce(sum(w) FILTER (WHERE valid), 0) AS weight_sum,
      coalesce(sum(w * w) FILTER (WHERE valid), 0) AS weight_sq_sum,
      coalesce(sum(w * loss) FILTER (WHERE valid), 0) AS loss_sum,
      coalesce(sum(w * loss * loss) FILTER (WHERE valid), 0) AS loss_sq_sum,
      sum(w * correct) FILTER (WHERE valid) AS correct_sum,
      sum(w * (p - y) * (p - y)) FILTER (WHERE valid) AS brier_sum,
      sum(w * p) FILTER (WHERE valid) AS p_sum,
      sum(w * y) FILTER (WHERE valid) AS y_sum
    FROM scored ${keys.length ? `GROUP BY ${keys.map(id).join(', ')}` : ''}
  ), b AS (
    SELECT ${keys.map(id).join(', ')}${keys.length ? ',' : ''} least(floor(p * ${bins}), ${bins - 1}) AS bin,
      sum(w) AS b_w, sum(w * p) AS b_p, sum(w * y) AS b_y
    FROM scored WHERE valid ${keys.length ? `GROUP BY ${keys.map(id).join(', ')}, bin` : 'GROUP BY bin'}
  ), e AS (
    SELECT ${keys.map(id).join(', ')}${keys.length ? ',' : ''} sum(abs(b_y - b_p)) AS ece_num
    FROM b ${keys.length ? `GROUP BY ${keys.map(id).join(', ')}` : ''}
  )
  SELECT g.*, e.ece_num FROM g ${keys.length ? `LEFT JOIN e USING (${keys.map(id).join(', ')})` : ', e'}`;

const groupSets = [...new Set(summary.map((r) => r.group_set))];
for (const gs of groupSets) {
  const keys = gs === '' ? [] : gs.split(',');
  const exp = await all(metricsSQL(keys));
  const keyOf = (r) => JSON.stringify(keys.map((k) => fmt(r[k])));
  const mine = summary.filter((r) => r.group_set === gs);
  const byKey = new Map(mine.map((r) => [keyOf(r), r]));
  check(exp.length === mine.length, `group_set ${JSON.stringify(gs)}: ${mine.length} summary rows for ${exp.length} groups in the input`);
  const bad = [];
  let compared = 0;
  for (const e of exp) {
    const s = byKey.get(keyOf(e));
    const label = keys.length ? `${gs}=${keys.map((k) => fmt(e[k])).join(',')}` : 'overall';
    if (!s) { bad.push(`${label}: missing`); continue; }
    const W = num(e.weight_sum);
    const m = W > 0 ? num(e.loss_sum) / W : null;
    const neff = W > 0 ? (W * W) / num(e.weight_sq_sum) : 0;
    const want = {
      rows: num(e.rows), invalid_rows: num(e.invalid_rows), ignored_rows: num(e.ignored_rows),
      clipped_rows: num(e.clipped_rows),
      weight_sum: W, loss_sum: num(e.loss_sum), loss_sq_sum: num(e.loss_sq_sum), weight_sq_sum: num(e.weight_sq_sum),
      cross_entropy: m, log_loss: m, perplexity: m === null ? null : Math.exp(m),
      accuracy: W > 0 ? num(e.correct_sum) / W : null,
      brier: W > 0 ? num(e.brier_sum) / W : null,
      mean_prediction: W > 0 ? num(e.p_sum) / W : null,
      label_rate: W > 0 ? num(e.y_sum) / W : null,
      ece: W > 0 ? num(e.ece_num) / W : null,
    };
    for (const [k, v] of Object.entries(want)) {
      compared++;
      if (!close(s[k], v)) bad.push(`${label} ${k}: evaljob ${fmt(s[k])}, duckdb ${fmt(v)}`);
    }
    // The stderr from the rows (not from loss_sq_sum, which cancels).
    if (m !== null && Number.isFinite(m) && neff > 1) {
      const where = keys.map((k) => (e[k] === null ? `${id(k)} IS NULL` : `${id(k)} = ${typeof e[k] === 'string' ? sq(e[k]) : fmt(e[k])}`));
      const [r] = await all(`SELECT sum(w * (loss - ${m}) * (loss - ${m})) AS ss FROM scored WHERE valid ${where.map((x) => `AND ${x}`).join(' ')}`);
      const se = Math.sqrt(num(r.ss) / (W * (neff - 1)));
      compared++;
      if (!close(s.cross_entropy_stderr, se) && !(Math.abs(num(s.cross_entropy_stderr) - se) <= 1e-12 * m)) {
        bad.push(`${label} cross_entropy_stderr: evaljob ${fmt(s.cross_entropy_stderr)}, duckdb ${se}`);
      }
    } else {
      compared++;
      if (s.cross_entropy_stderr !== null) bad.push(`${label} cross_entropy_stderr: evaljob ${fmt(s.cross_entropy_stderr)}, want null`);
    }
    if (gs === '' || keys.length === 1) {
      console.log(`      ${label}: rows ${fmt(s.rows)}/${fmt(e.rows)}  log_loss ${fmt(s.log_loss)} / ${fmt(m)}  accuracy ${fmt(s.accuracy)} / ${fmt(want.accuracy)}`);
    }
  }
  check(bad.length === 0, `group_set ${JSON.stringify(gs)}: ${compared} values match DuckDB within ${RTOL}${bad.length ? `\n        ${bad.slice(0, 12).join('\n        ')}` : ''}`);
}

// ---- rows.parquet ----
if (!existsSync(rowsPath)) {
  fail(`${rowsPath} exists (run with output.per_row: true)`);
} else {
  const rc = await all(`DESCRIBE SELECT * FROM read_parquet(${sq(rowsPath)})`);
  const last = rc[rc.length - 1];
  check(last.column_name === 'cross_entropy' && last.column_type === 'DOUBLE', `rows.parquet ends with cross_entropy DOUBLE (got ${last.column_name} ${last.column_type})`);
  const rnames = rc.map((c) => c.column_name);
  const missing = groupBy.filter((g) => !rnames.includes(g));
  check(missing.length === 0, `rows.parquet has the group_by columns ${groupBy.join(', ')}${missing.length ? ` (missing ${missing.join(', ')})` : ''}`);
  const [cnt] = await all(`SELECT (SELECT count(*) FROM read_parquet(${sq(rowsPath)})) AS out_rows, (SELECT count(*) FROM input) AS in_rows`);
  check(cnt.out_rows === cnt.in_rows, `rows.parquet has one row per input row: ${fmt(cnt.out_rows)} vs ${fmt(cnt.in_rows)}`);
  const [mean] = await all(`SELECT (SELECT avg(cross_entropy) FROM read_parquet(${sq(rowsPath)})) AS out_mean, (SELECT avg(loss) FROM scored WHERE valid) AS in_mean`);
  check(close(mean.out_mean, mean.in_mean), `mean per-row cross_entropy equals the unweighted mean loss: ${fmt(mean.out_mean)} vs ${fmt(mean.in_mean)}`);
  // Row by row, in input order; the key columns must line up too.
  const shared = rnames.filter((c) => c !== 'cross_entropy' && c in inputType);
  const [rowwise] = await all(`
    WITH o AS (SELECT *, file_row_number AS pos FROM read_parquet(${sq(rowsPath)}, file_row_number = true))
    SELECT count(*) FILTER (WHERE NOT ((o.cross_entropy IS NULL AND s.loss IS NULL)
             OR abs(o.cross_entropy - s.loss) <= ${RTOL} * greatest(abs(o.cross_entropy), abs(s.loss))
             OR o.cross_entropy = s.loss)) AS loss_diff,
           count(*) FILTER (WHERE NOT (${shared.length ? shared.map((c) => `o.${id(c)} IS NOT DISTINCT FROM s.${id(c)}`).join(' AND ') : 'true'})) AS key_diff
    FROM o JOIN scored s ON o.pos = s.input_pos`);
  check(num(rowwise.loss_diff) === 0 && num(rowwise.key_diff) === 0,
    `rows.parquet lines up with the input row by row (${shared.join(', ') || 'no shared columns'} + cross_entropy): ${fmt(rowwise.loss_diff)} losses and ${fmt(rowwise.key_diff)} keys differ`);
}

// ---- manifest.json ----
checkManifest();

finish();

function finish() {
  console.log(`interop: ${passed} passed, ${failed} failed`);
  process.exit(failed > 0 ? 1 : 0);
}

// ---- checks shared by every task ----

// checkParquetProps: ZSTD column chunks with statistics (SPEC 4).
async function checkParquetProps(path) {
  const base = path.split('/').pop();
  const meta = await all(`SELECT path_in_schema, compression,
      coalesce(stats_min_value, stats_min) AS smin, coalesce(stats_max_value, stats_max) AS smax, stats_null_count, num_values
    FROM parquet_metadata(${sq(path)})`);
  check(meta.every((m) => m.compression === 'ZSTD'), `${base} column chunks are ZSTD`);
  const noStats = meta.filter((m) => m.stats_null_count === null || (num(m.stats_null_count) < num(m.num_values) && (m.smin === null || m.smax === null)));
  check(noStats.length === 0, `${base} column chunks carry statistics${noStats.length ? ` (missing: ${[...new Set(noStats.map((m) => m.path_in_schema))].join(', ')})` : ''}`);
}

// checkSummaryRows: the overall row first, grouping sets contiguous with
// keys ascending and nulls last, no NaN anywhere.
function checkSummaryRows(summary, groupBy) {
  check(summary.length > 0 && summary[0].group_set === '' && groupBy.every((g) => summary[0][g] === null),
    `the first summary row is the overall row (group_set "")`);
  // Grouping sets contiguous, keys ascending, nulls last.
  {
    let ok = true;
    const seen = new Set();
    let prev = null;
    for (const r of summary) {
      if (prev === null || r.group_set !== prev.group_set) {
        if (seen.has(r.group_set)) ok = false;
        seen.add(r.group_set);
        prev = r;
        continue;
      }
      const cols = r.group_set.split(',');
      for (const c of cols) {
        const a = prev[c]; const b = r[c];
        if (a === b) continue;
        if (a === null) { ok = false; break; } // nulls last
        if (b === null) break;
        if (!(a < b)) ok = false;
        break;
      }
      prev = r;
    }
    check(ok, `grouping sets are contiguous, keys ascending with nulls last (${[...seen].map((s) => JSON.stringify(s)).join(' ')})`);
  }
  const NAN = summary.flatMap((r) => Object.entries(r).filter(([, v]) => typeof v === 'number' && Number.isNaN(v)).map(([k]) => k));
  check(NAN.length === 0, `no NaN in the summary${NAN.length ? `: ${[...new Set(NAN)].join(', ')}` : ''}`);
}

// checkManifest: the manifest keys and the sha256 of every output.
function checkManifest() {
  if (!existsSync(manifestPath)) {
    fail(`${manifestPath} exists`);
  } else {
    let m = null;
    try { m = JSON.parse(readFileSync(manifestPath, 'utf8')); } catch (e) { fail(`manifest.json parses: ${e.message}`); }
    if (m) {
      const keys = ['run_id', 'version', 'started_at', 'finished_at', 'status', 'config', 'inputs', 'outputs', 'gates'];
      const miss = keys.filter((k) => !(k in m));
      check(miss.length === 0, `manifest.json has ${keys.join(', ')}${miss.length ? ` (missing ${miss.join(', ')})` : ''}`);
      const outs = Array.isArray(m.outputs) ? m.outputs : [];
      for (const f of [summaryPath, rowsPath].filter(existsSync)) {
        const base = f.split('/').pop();
        const entry = outs.find((o) => String(o.path).split('/').pop() === base);
        const sha = createHash('sha256').update(readFileSync(f)).digest('hex');
        check(entry && entry.sha256 === sha, `manifest.json lists ${base} with its sha256`);
      }
    }
  }
}

// ---- token task, long layout (logprob kind) ----

// tokenCheck recomputes every summary row and every rows.parquet row of a
// token long-layout run from the input rows:
//   per sequence s (the grouping set's keys + SEQUENCE): tokens, W_s = sum w,
//     nll_s = sum w (-logprob), ce_s = nll_s / W_s
//   per group: cross_entropy = sum nll_s / sum W_s, perplexity = exp(ce),
//     bits_per_token = ce / ln 2, bits_per_byte = sum nll / (ln 2 sum w n_bytes),
//     word_perplexity = exp(sum nll / sum w n_words),
//     seq_perplexity_mean = mean over sequences of exp(ce_s),
//     cross_entropy_stderr with the sequence as the unit (SPEC 3).
async function tokenCheck() {
  const SEQ = env('SEQUENCE', 'doc_id');
  let BYTES = env('BYTES', 'n_bytes');
  let WORDS = env('WORDS', 'n_words');
  if (BYTES && !(BYTES in inputType)) BYTES = '';
  if (WORDS && !(WORDS in inputType)) WORDS = '';
  for (const c of [PRED, SEQ]) {
    if (!(c in inputType)) {
      fail(`input column ${c} exists (have ${Object.keys(inputType).join(', ')})`);
      return;
    }
  }
  const wExpr = WEIGHT ? `CAST(${id(WEIGHT)} AS DOUBLE)` : '1.0';
  const bExpr = BYTES ? `CAST(${id(BYTES)} AS DOUBLE)` : '0.0';
  const dExpr = WORDS ? `CAST(${id(WORDS)} AS DOUBLE)` : '0.0';
  await db.run(`CREATE VIEW tok_in AS
    SELECT *, row_number() OVER (ORDER BY filename, file_row_number) - 1 AS input_pos,
      CAST(${id(PRED)} AS DOUBLE) AS lp_raw, ${wExpr} AS w, ${bExpr} AS nb, ${dExpr} AS nw
    FROM input_raw`);
  // A logprob above 1e-6 or NaN (or null) is invalid; one in (0, 1e-6]
  // counts as 0; -inf is valid. Weights finite and >= 0; bytes and words
  // (when configured) non-null and >= 0.
  const validExpr = `(lp_raw IS NOT NULL AND NOT isnan(lp_raw) AND lp_raw <= 1e-6
    AND w IS NOT NULL AND NOT isnan(w) AND isfinite(w) AND w >= 0
    AND nb IS NOT NULL AND nb >= 0 AND nw IS NOT NULL AND nw >= 0)`;
  await db.run(`CREATE VIEW tok AS
    SELECT *, ${validExpr} AS valid,
      CASE WHEN ${validExpr} THEN -least(lp_raw, 0.0) END AS nll
    FROM tok_in`);

  // ---- summary schema (SPEC 4) ----
  const sumCols = await all(`DESCRIBE SELECT * FROM read_parquet(${sq(summaryPath)})`);
  const names = sumCols.map((c) => c.column_name);
  const types = Object.fromEntries(sumCols.map((c) => [c.column_name, c.column_type]));
  const gsIdx = names.indexOf('group_set');
  check(gsIdx >= 0, `summary has a group_set column`);
  if (gsIdx < 0) return;
  const groupBy = names.slice(0, gsIdx);
  for (const g of groupBy) {
    check(inputType[g] !== undefined && types[g] === inputType[g],
      `group_by column ${g} has its input type: ${types[g]} vs input ${inputType[g]}`);
  }
  const hasUnlabeled = names.includes('unlabeled_rows');
  const D = 'DOUBLE';
  const expected = [
    ['group_set', 'VARCHAR'],
    ['rows', 'BIGINT'], ['invalid_rows', 'BIGINT'], ['ignored_rows', 'BIGINT'],
    ...(hasUnlabeled ? [['unlabeled_rows', 'BIGINT']] : []),
    ['clipped_rows', 'BIGINT'], ['sequences', 'BIGINT'], ['tokens', 'BIGINT'],
    ['weight_sum', D],
    ['cross_entropy', D], ['perplexity', D], ['bits_per_token', D], ['seq_perplexity_mean', D],
    ['bits_per_byte', D], ['word_perplexity', D], ['cross_entropy_stderr', D],
    ['loss_sum', D], ['loss_sq_sum', D], ['weight_sq_sum', D],
    ['nll_sum', D], ['bytes_sum', D], ['words_sum', D], ['seq_perplexity_sum', D],
  ];
  const got = names.slice(gsIdx).map((n) => [n, types[n]]);
  check(JSON.stringify(got) === JSON.stringify(expected),
    `summary columns after the group_by columns (${groupBy.join(',') || 'none'}): ${got.map((g) => g.join(' ')).join(', ')}`);

  await checkParquetProps(summaryPath);
  const summary = await all(`SELECT * FROM read_parquet(${sq(summaryPath)}, file_row_number = true) ORDER BY file_row_number`);
  checkSummaryRows(summary, groupBy);

  // ---- recompute every group in SQL ----
  // SPEC 3: a sequence is identified by its group keys and sequence value,
  // so within a grouping set by the set's keys + SEQ (the overall row: SEQ
  // alone); rows.parquet has one row per (every group_by column, SEQ).
  const seqSQLFor = (keys) => {
    const seqKeys = [...keys, SEQ].map(id).join(', ');
    return `SELECT ${seqKeys}, count(*) AS tokens, sum(w) AS W, sum(w * nll) AS nll,
      sum(w * nb) AS bytes, sum(w * nw) AS words,
      min(input_pos) AS first_pos
    FROM tok WHERE valid GROUP BY ${seqKeys}`;
  };
  const seqSQL = seqSQLFor(groupBy);
  // exp that gives +inf instead of an overflow error.
  const expSQL = (x) => `(CASE WHEN ${x} > 709 THEN 'inf'::DOUBLE ELSE exp(${x}) END)`;
  const groupSQL = (keys) => {
    const k = keys.map(id).join(', ');
    const part = keys.length ? `PARTITION BY ${k}` : '';
    return `
    WITH s AS (${seqSQLFor(keys)}),
    s2 AS (SELECT *, CASE WHEN W > 0 THEN nll / W END AS ce FROM s),
    s3 AS (SELECT *, sum(nll) OVER (${part}) / sum(W) OVER (${part}) AS m FROM s2),
    g AS (
      SELECT ${k}${keys.length ? ',' : ''}
        count(*) FILTER (WHERE W > 0) AS sequences, sum(tokens) AS tokens,
        sum(W) AS weight_sum, sum(W * W) AS weight_sq_sum,
        sum(nll) AS nll_sum, sum(bytes) AS bytes_sum, sum(words) AS words_sum,
        sum(W * ce) AS loss_sum, sum(W * ce * ce) AS loss_sq_sum,
        sum(${expSQL('ce')}) AS seq_ppl_sum,
        sum(W * (ce - m) * (ce - m)) AS ss
      FROM s3 ${keys.length ? `GROUP BY ${k}` : ''}
    ), c AS (
      SELECT ${k}${keys.length ? ',' : ''}
        count(*) FILTER (WHERE valid) AS rows,
        count(*) FILTER (WHERE NOT valid) AS invalid_rows
      FROM tok ${keys.length ? `GROUP BY ${k}` : ''}
    )
    SELECT c.*, ${keys.length ? `g.* EXCLUDE (${k})` : 'g.*'}
    FROM c LEFT JOIN g ON ${keys.length ? keys.map((x) => `c.${id(x)} IS NOT DISTINCT FROM g.${id(x)}`).join(' AND ') : 'true'}
    ${keys.length ? `ORDER BY ${keys.map((x) => `c.${id(x)} NULLS LAST`).join(', ')}` : ''}`;
  };
  const groupSets = [...new Set(summary.map((r) => r.group_set))];
  for (const gs of groupSets) {
    const keys = gs === '' ? [] : gs.split(',');
    const exp = await all(groupSQL(keys));
    const keyOf = (r) => JSON.stringify(keys.map((k) => fmt(r[k])));
    const mine = summary.filter((r) => r.group_set === gs);
    const byKey = new Map(mine.map((r) => [keyOf(r), r]));
    check(exp.length === mine.length, `group_set ${JSON.stringify(gs)}: ${mine.length} summary rows for ${exp.length} groups in the input`);
    const bad = [];
    let compared = 0;
    for (const e of exp) {
      const s = byKey.get(keyOf(e));
      const label = keys.length ? `${gs}=${keys.map((k) => fmt(e[k])).join(',')}` : 'overall';
      if (!s) { bad.push(`${label}: missing`); continue; }
      const W = num(e.weight_sum) ?? 0;
      const nll = num(e.nll_sum) ?? 0;
      const nseq = num(e.sequences) ?? 0;
      const by = num(e.bytes_sum) ?? 0;
      const wd = num(e.words_sum) ?? 0;
      const ce = W > 0 ? nll / W : null;
      const neff = W > 0 ? (W * W) / num(e.weight_sq_sum) : 0;
      const want = {
        rows: num(e.rows), invalid_rows: num(e.invalid_rows), ignored_rows: 0, clipped_rows: 0,
        sequences: nseq, tokens: num(e.tokens) ?? 0,
        weight_sum: W, loss_sum: nll, loss_sq_sum: num(e.loss_sq_sum) ?? 0, weight_sq_sum: num(e.weight_sq_sum) ?? 0,
        nll_sum: nll, bytes_sum: by, words_sum: wd, seq_perplexity_sum: num(e.seq_ppl_sum) ?? 0,
        cross_entropy: ce,
        perplexity: ce === null ? null : Math.exp(ce),
        bits_per_token: ce === null ? null : ce / Math.LN2,
        seq_perplexity_mean: nseq > 0 ? num(e.seq_ppl_sum) / nseq : null,
        bits_per_byte: BYTES && by > 0 ? nll / (Math.LN2 * by) : null,
        word_perplexity: WORDS && wd > 0 ? Math.exp(nll / wd) : null,
        cross_entropy_stderr: ce !== null && Number.isFinite(ce) && neff > 1 ? Math.sqrt(num(e.ss) / (W * (neff - 1))) : null,
      };
      if (hasUnlabeled) want.unlabeled_rows = 0;
      for (const [k, v] of Object.entries(want)) {
        compared++;
        if (!close(s[k], v)) bad.push(`${label} ${k}: evaljob ${fmt(s[k])}, duckdb ${fmt(v)}`);
      }
      if (gs === '' || keys.length === 1) {
        console.log(`      ${label}: tokens ${fmt(s.tokens)}/${fmt(want.tokens)}  sequences ${fmt(s.sequences)}/${fmt(nseq)}  cross_entropy ${fmt(s.cross_entropy)} / ${fmt(ce)}  bits_per_byte ${fmt(s.bits_per_byte)} / ${fmt(want.bits_per_byte)}  word_perplexity ${fmt(s.word_perplexity)} / ${fmt(want.word_perplexity)}  seq_perplexity_mean ${fmt(s.seq_perplexity_mean)} / ${fmt(want.seq_perplexity_mean)}`);
      }
    }
    check(bad.length === 0, `group_set ${JSON.stringify(gs)}: ${compared} values match DuckDB within ${RTOL}${bad.length ? `\n        ${bad.slice(0, 12).join('\n        ')}` : ''}`);
  }

  // ---- rows.parquet: one row per sequence, in order of first appearance ----
  if (!existsSync(rowsPath)) {
    fail(`${rowsPath} exists (run with output.per_row: true)`);
  } else {
    const rc = await all(`DESCRIBE SELECT * FROM read_parquet(${sq(rowsPath)})`);
    const rnames = rc.map((c) => c.column_name);
    const rtypes = Object.fromEntries(rc.map((c) => [c.column_name, c.column_type]));
    const tail = rc.slice(-4).map((c) => `${c.column_name} ${c.column_type}`);
    const wantTail = [`${SEQ} ${inputType[SEQ]}`, 'tokens BIGINT', 'cross_entropy DOUBLE', 'perplexity DOUBLE'];
    check(JSON.stringify(tail) === JSON.stringify(wantTail),
      `rows.parquet ends with ${wantTail.join(', ')} (got ${tail.join(', ')})`);
    const missing = groupBy.filter((g) => !rnames.includes(g) || rtypes[g] !== inputType[g]);
    check(missing.length === 0, `rows.parquet has the group_by columns ${groupBy.join(', ')} with their input types${missing.length ? ` (missing or retyped: ${missing.join(', ')})` : ''}`);
    await checkParquetProps(rowsPath);
    if (missing.length === 0 && SEQ in rtypes) {
      const on = [...groupBy, SEQ].map((c) => `o.${id(c)} IS NOT DISTINCT FROM s.${id(c)}`).join(' AND ');
      const relClose = (a, b) => `((${a} IS NULL AND ${b} IS NULL) OR ${a} = ${b}
        OR abs(${a} - ${b}) <= ${RTOL} * greatest(abs(${a}), abs(${b})))`;
      const [r] = await all(`
        WITH s AS (SELECT *, CASE WHEN W > 0 THEN nll / W END AS ce,
                     row_number() OVER (ORDER BY first_pos) - 1 AS want_pos FROM (${seqSQL})),
             o AS (SELECT *, file_row_number AS pos FROM read_parquet(${sq(rowsPath)}, file_row_number = true))
        SELECT (SELECT count(*) FROM o) AS out_rows, (SELECT count(*) FROM s) AS seqs,
          count(*) AS matched,
          count(*) FILTER (WHERE o.tokens <> s.tokens) AS tokens_diff,
          count(*) FILTER (WHERE NOT ${relClose('o.cross_entropy', 's.ce')}) AS ce_diff,
          count(*) FILTER (WHERE NOT ${relClose('o.perplexity', `${expSQL('s.ce')}`)}) AS ppl_diff,
          count(*) FILTER (WHERE o.pos <> s.want_pos) AS order_diff
        FROM o JOIN s ON ${on}`);
      check(num(r.out_rows) === num(r.seqs) && num(r.matched) === num(r.seqs),
        `rows.parquet has one row per sequence: ${fmt(r.out_rows)} rows, ${fmt(r.seqs)} sequences, ${fmt(r.matched)} matched by (${[...groupBy, SEQ].join(', ')})`);
      check(num(r.tokens_diff) === 0 && num(r.ce_diff) === 0 && num(r.ppl_diff) === 0,
        `rows.parquet per-sequence tokens, cross_entropy, perplexity match DuckDB: ${fmt(r.tokens_diff)} tokens, ${fmt(r.ce_diff)} cross_entropy, ${fmt(r.ppl_diff)} perplexity differ`);
      check(num(r.order_diff) === 0,
        `rows.parquet is in order of first appearance (files by path, rows in file order): ${fmt(r.order_diff)} rows out of place`);
    }
  }
  checkManifest();
}
