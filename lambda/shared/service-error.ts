/**
 * An error with a stable name. Lambda reports `error.name` as the error type, so Step Functions
 * matches these names in Retry and Catch (lib/workload/biome/workflow.ts).
 */
export class ServiceError extends Error {
  constructor(name: string, message: string) {
    super(message);
    this.name = name;
  }
}

/** The auto-paused database was still resuming after every in-function retry; retry later. */
export const DATABASE_RESUMING = 'DatabaseResuming';
