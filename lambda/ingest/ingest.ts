/** The ingest service: validate a sample and store it in the biome's database. Pure: clients come in as arguments. */
import * as z from 'zod/mini';
import type { DataApi } from '../shared/data-api';
import { issueLines } from '../shared/issues';
import { INGEST_ERRORS, ServiceError } from './errors';

/** A sample record: an id the caller chooses (so a retried ingest is idempotent) and its feature vector. */
export const SampleSchema = z.strictObject({
  sampleId: z
    .string()
    .check(
      z.regex(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/, 'must be 1-128 letters, digits, ".", "_", ":" or "-"'),
    ),
  // z.number() already refuses NaN and ±Infinity.
  features: z.array(z.number()).check(z.minLength(1), z.maxLength(1024)),
  /** Plan the writes against the schema, store nothing (the release's integration test). */
  dryRun: z.optional(z.boolean()),
});
export type Sample = z.infer<typeof SampleSchema>;

export const SAMPLE_SHAPE = '{"sampleId": "<id>", "features": [<number>, ...]}';

/** Parses a sample or throws {@link INGEST_ERRORS.invalidSample} saying what to send instead. */
export function parseSample(input: unknown): Sample {
  const result = SampleSchema.safeParse(input);
  if (result.success) return result.data;
  const problems = issueLines(result.error, '(record)');
  throw new ServiceError(
    INGEST_ERRORS.invalidSample,
    `Invalid sample (${problems.join('; ')}). Send ${SAMPLE_SHAPE}.`,
  );
}

export interface IngestResult {
  readonly sampleId: string;
  /**
   * `already-present`: the same sample was ingested before (a retry); nothing changed. `dry-run`: the
   * write was planned against the schema and nothing was stored.
   */
  readonly status: 'inserted' | 'already-present' | 'dry-run';
}

/**
 * The SQL of ingest. Exported for the migration compatibility test, which runs the SQL of each release
 * against the next release's schema (lambda/biome-database/migrations.ts: expand/contract).
 */
export const INGEST_SQL = {
  insert:
    'INSERT INTO samples (sample_id, features) VALUES (:sample_id, CAST(:features AS jsonb)) ON CONFLICT (sample_id) DO NOTHING',
  compare: 'SELECT features = CAST(:features AS jsonb) AS same FROM samples WHERE sample_id = :sample_id',
} as const;

/**
 * Inserts the sample once; a repeat with the same features is a no-op, with other features a conflict.
 * The Data API sends a JSON typeHint as `json`; `features` is `jsonb`, and PostgreSQL has no
 * `jsonb = json` operator (that cast is assignment-only), so the parameter is cast explicitly.
 *
 * A dry run plans the insert (`EXPLAIN`) instead of running it: PostgreSQL resolves every table,
 * column, type and cast of the statement against the live schema, so code that needs a migration
 * that did not run fails, and nothing is written.
 */
export async function ingestSample(db: DataApi, sample: Sample): Promise<IngestResult> {
  const params = { sample_id: sample.sampleId, features: { json: sample.features } };
  if (sample.dryRun) {
    await db.execute(`EXPLAIN ${INGEST_SQL.insert}`, params);
    return { sampleId: sample.sampleId, status: 'dry-run' };
  }
  const inserted = await db.statement(INGEST_SQL.insert, params);
  if ((inserted.numberOfRecordsUpdated ?? 0) > 0) return { sampleId: sample.sampleId, status: 'inserted' };
  const same = await db.statement(INGEST_SQL.compare, params);
  if (same.records?.[0]?.[0]?.booleanValue === true) {
    return { sampleId: sample.sampleId, status: 'already-present' };
  }
  throw new ServiceError(
    INGEST_ERRORS.sampleConflict,
    `Sample ${sample.sampleId} already exists with different features; samples are never overwritten, use a new sampleId.`,
  );
}
