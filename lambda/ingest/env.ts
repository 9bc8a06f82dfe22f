/**
 * Environment of the ingest service: the variable names that both the CDK construct (which sets
 * them) and the handler (which reads them) import, so a rename is one edit.
 */
import { BIOME_SERVICE_ENV, readSettings } from '../shared/settings';

export const INGEST_ENV = { ...BIOME_SERVICE_ENV } as const;

export type IngestSettings = { readonly [K in keyof typeof INGEST_ENV]: string };

/** Reads the settings; a missing variable names itself, since a smoke check reports it to the deployer. */
export function ingestSettings(source: Record<string, string | undefined>): IngestSettings {
  return readSettings(INGEST_ENV, source);
}
