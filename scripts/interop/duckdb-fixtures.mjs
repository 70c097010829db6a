// Writes small Parquet files with DuckDB into testdata/duckdb/, so the
// readers are tested on another writer's encodings (RLE/bit-packed level
// and dictionary runs as DuckDB lays them out). Run from the repository
// root after `bash scripts/interop.sh` installed @duckdb/node-api:
//   node scripts/interop/duckdb-fixtures.mjs
// The files are committed; tests do not need Node.
import { DuckDBInstance } from '@duckdb/node-api';

const db = await DuckDBInstance.create(':memory:');
const con = await db.connect();
const out = 'testdata/duckdb';
await con.run(`SET threads = 1`);
// Multiclass / multilabel style lists with nulls, and a dictionary-encoded
// small int and string key over several pages.
await con.run(`COPY (
  SELECT (i % 3)::BIGINT AS label,
         CASE WHEN i % 50 = 7 THEN NULL ELSE [0.2, 0.3, 0.5]::DOUBLE[] END AS probs,
         [(i % 2)::DOUBLE, ((i + 1) % 2)::DOUBLE, 0.0] AS labels,
         (i % 7)::INTEGER AS nw,
         'm' || (i % 4)::VARCHAR AS model,
         ((i * 7919) % 1000) / 1000.0 AS p,
         CASE WHEN i % 3 = 0 THEN 1 ELSE 0 END::BIGINT AS y
  FROM range(5000) t(i)
) TO '${out}/lists.parquet' (FORMAT parquet, ROW_GROUP_SIZE 2048)`);
// Token long layout as DuckDB writes it: one row per token.
await con.run(`COPY (
  SELECT (i % 13)::BIGINT AS doc_id, 'm' || (i % 2)::VARCHAR AS model,
         -((i % 17) + 1) / 10.0 AS logprob, ((i % 5) + 1)::INTEGER AS n_bytes
  FROM range(3000) t(i)
) TO '${out}/tokens.parquet' (FORMAT parquet, ROW_GROUP_SIZE 1000)`);
// A fixed-size ARRAY with null rows: DuckDB writes a null FLOAT[3] as three
// levels, the two after the first repeating it (not one, as Parquet's list
// layout has it).
await con.run(`COPY (
  SELECT (i % 3)::BIGINT AS label,
         (CASE WHEN i % 50 = 7 THEN NULL ELSE [0.2, 0.3, (i % 10) / 10.0] END)::FLOAT[3] AS logits
  FROM range(300) t(i)
) TO '${out}/arrays.parquet' (FORMAT parquet, ROW_GROUP_SIZE 128)`);
console.log('wrote', out);
