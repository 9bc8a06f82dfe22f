/** Lambda entry point of the ingest service: parse, wire clients once, delegate. */
import { RDSDataClient } from '@aws-sdk/client-rds-data';
import { SMOKE_EVENT, type SmokeResult } from '../shared/contracts';
import { ingestSettings, type IngestSettings } from './env';
import { type IngestResult, ingestSample, parseSample } from './ingest';

const rds = new RDSDataClient({});
let settings: IngestSettings | undefined;

function isSmoke(event: unknown): boolean {
  return JSON.stringify(event) === JSON.stringify(SMOKE_EVENT);
}

/**
 * The smoke check validates configuration only: a `SELECT 1` would wake an auto-paused database on
 * every deploy (billed ACUs, and a 15 s+ resume that could time the smoke check out).
 */
export function smoke(source: Record<string, string | undefined>): SmokeResult {
  try {
    ingestSettings(source);
    return { ok: true };
  } catch (error) {
    return { ok: false, detail: (error as Error).message };
  }
}

export async function handler(event: unknown): Promise<IngestResult | SmokeResult> {
  if (isSmoke(event)) return smoke(process.env);
  const sample = parseSample(event);
  settings ??= ingestSettings(process.env);
  return ingestSample(
    {
      client: rds,
      clusterArn: settings.dbClusterArn,
      secretArn: settings.dbSecretArn,
      database: settings.dbName,
    },
    sample,
  );
}
