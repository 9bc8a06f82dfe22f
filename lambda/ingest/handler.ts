/** Lambda entry point of the ingest service: parse, wire clients once, delegate, log the outcome. */
import { RDSDataClient } from '@aws-sdk/client-rds-data';
import type { Context } from 'aws-lambda';
import { SMOKE_EVENT, type SmokeResult } from '../shared/contracts';
import { serviceLogger } from '../shared/logger';
import { type DataApi, dataApi } from '../shared/data-api';
import { databaseSettings, serviceIdentity } from '../shared/settings';
import { type IngestResult, ingestSample, parseSample } from './ingest';

type Source = Readonly<Record<string, string | undefined>>;

const rds = new RDSDataClient({});
const logger = serviceLogger('ingest', process.env);
let db: DataApi | undefined;

/** The biome's database, from the configuration the smoke check validates (all of it is required). */
function wire(source: Source): DataApi {
  serviceIdentity(source);
  const s = databaseSettings(source);
  return dataApi({ client: rds, clusterArn: s.clusterArn, secretArn: s.secretArn, database: s.database });
}

function isSmoke(event: unknown): boolean {
  return JSON.stringify(event) === JSON.stringify(SMOKE_EVENT);
}

/**
 * The smoke check validates configuration only: a `SELECT 1` would wake an auto-paused database on
 * every deploy (billed ACUs, and a 15 s+ resume that could time the smoke check out).
 */
export function smoke(source: Source): SmokeResult {
  try {
    serviceIdentity(source);
    databaseSettings(source);
    return { ok: true };
  } catch (error) {
    return { ok: false, detail: error instanceof Error ? error.message : String(error) };
  }
}

export async function handler(event: unknown, context: Context): Promise<IngestResult | SmokeResult> {
  logger.addContext(context);
  if (isSmoke(event)) {
    const result = smoke(process.env);
    if (result.ok) logger.info('smoke check passed');
    else logger.error('smoke check failed', { detail: result.detail });
    return result;
  }
  try {
    const sample = parseSample(event);
    db ??= wire(process.env);
    const result = await ingestSample(db, sample);
    // The sample id and the outcome only: feature values may be sensitive.
    logger.info(
      result.status === 'dry-run' ? 'sample planned (dry run, nothing stored)' : 'sample ingested',
      {
        sampleId: result.sampleId,
        status: result.status,
      },
    );
    return result;
  } catch (error) {
    logger.error('ingest failed', { error });
    throw error;
  }
}
