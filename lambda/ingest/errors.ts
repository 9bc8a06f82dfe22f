/**
 * Error names the ingest service throws. Lambda reports `error.name` as the error type, so Step
 * Functions matches these names in Retry and Catch (lib/workload/biome/workflow.ts imports them).
 */
import { DATABASE_RESUMING, ServiceError } from '../shared/service-error';

export const INGEST_ERRORS = {
  /** The record is not a valid sample; retrying cannot help. */
  invalidSample: 'InvalidSample',
  /** A sample with this id already exists with other features; ingest never overwrites. */
  sampleConflict: 'SampleConflict',
  /** The auto-paused database was still resuming after every in-function retry; retry later. */
  databaseResuming: DATABASE_RESUMING,
} as const;

export { ServiceError };
