/**
 * The SQL each release of the services ran, by the number of migrations it shipped with. Append an
 * entry whenever the services' SQL or the migration list changes (the compatibility test fails until
 * the last entry matches the code): it is what proves the expand/contract rule of
 * lambda/biome-database/migrations.ts, the previous release's queries against the new schema.
 */
import { INGEST_SQL } from '../../../lambda/ingest/ingest';
import { PREDICT_SQL } from '../../../lambda/predict/predict';
import type { SqlParams } from '../../../lambda/shared/data-api';

export interface ReleasedQuery {
  readonly name: string;
  readonly sql: string;
  /** Values the query runs with in the test (ingest's insert runs first, so predict's has its sample). */
  readonly params: SqlParams;
}

export interface Release {
  /** How many migrations the release shipped with. */
  readonly migrations: number;
  readonly queries: readonly ReleasedQuery[];
}

const sample = { sample_id: 'compat-1', features: { json: [42, 55000, 3] } };
const prediction = {
  sample_id: 'compat-1',
  model: 'main/demo-scorer-x.tar.gz',
  result: { json: { prediction: 0.5, label: 1 } },
};

export const RELEASES: readonly Release[] = [
  {
    migrations: 1,
    queries: [
      {
        name: 'ingest insert',
        sql: 'INSERT INTO samples (sample_id, features) VALUES (:sample_id, CAST(:features AS jsonb)) ON CONFLICT (sample_id) DO NOTHING',
        params: sample,
      },
      {
        name: 'ingest compare',
        sql: 'SELECT features = CAST(:features AS jsonb) AS same FROM samples WHERE sample_id = :sample_id',
        params: sample,
      },
      {
        name: 'predict insert',
        sql: 'INSERT INTO predictions (sample_id, model, result) VALUES (:sample_id, :model, :result) RETURNING id',
        params: prediction,
      },
    ],
  },
  {
    migrations: 2,
    queries: [
      { name: 'ingest insert', sql: INGEST_SQL.insert, params: sample },
      { name: 'ingest compare', sql: INGEST_SQL.compare, params: sample },
      {
        name: 'predict insert',
        sql: PREDICT_SQL.insert,
        params: { ...prediction, service_commit: 'a'.repeat(40) },
      },
    ],
  },
];
