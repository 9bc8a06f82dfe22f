/**
 * Environment variables of the deploy trigger. The construct (lib/workload/shared/deploy-trigger.ts)
 * sets them and the handler reads them through {@link ./settings}, so a rename is one edit.
 * Pure: no AWS or CDK imports.
 */
export const DEPLOY_TRIGGER_ENV = {
  appName: 'BIOMES_APP_NAME',
  envName: 'BIOMES_ENV_NAME',
  landingBucket: 'BIOMES_LANDING_BUCKET',
  ledgerTable: 'BIOMES_LEDGER_TABLE',
  modelBucket: 'BIOMES_MODEL_BUCKET',
  /** Key prefix of the model location, ending in `/`. */
  modelPrefix: 'BIOMES_MODEL_PREFIX',
  endpointName: 'BIOMES_ENDPOINT_NAME',
  maxServiceBytes: 'BIOMES_MAX_SERVICE_BYTES',
  maxModelBytes: 'BIOMES_MAX_MODEL_BYTES',
  /** How long a claim or a per-target lock is held before another invocation may take it over. */
  leaseSeconds: 'BIOMES_LEASE_SECONDS',
  /** Where the environment hosts sandpits: the owners topic a sandpit's failed or rejected deploys go to. */
  ownersTopicArn: 'BIOMES_OWNERS_TOPIC_ARN',
} as const;

/** Lambda's own limit for a deployment package fetched from S3 (unzipped); a bigger zip cannot deploy. */
export const DEFAULT_MAX_SERVICE_BYTES = 250 * 1024 * 1024;
/** A single CopyObject copies at most 5 GiB; bigger models would need a multipart copy. */
export const DEFAULT_MAX_MODEL_BYTES = 5 * 1024 * 1024 * 1024;
