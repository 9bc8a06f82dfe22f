/**
 * Environment of the ingest service: the variable names that both the CDK construct (which sets
 * them) and the handler (which reads them) import, so a rename is one edit.
 */
import { readSettings } from '../shared/settings';

export const INGEST_ENV = {
  app: 'BIOMES_APP',
  env: 'BIOMES_ENV',
  biome: 'BIOMES_BIOME',
  dbClusterArn: 'BIOMES_DB_CLUSTER_ARN',
  dbSecretArn: 'BIOMES_DB_SECRET_ARN',
  dbName: 'BIOMES_DB_NAME',
} as const;

export type IngestSettings = { readonly [K in keyof typeof INGEST_ENV]: string };

/** Reads the settings; a missing variable names itself, since a smoke check reports it to the deployer. */
export function ingestSettings(source: Record<string, string | undefined>): IngestSettings {
  return readSettings(INGEST_ENV, source);
}
