/**
 * SQL through the RDS Data API (Lambdas run outside any VPC, DESIGN.md "Teardown and cost"). Always
 * bound parameters, never SQL built from strings. An auto-paused Aurora answers while it resumes
 * (about 15 s, longer after a day) with an error the caller must retry.
 */
import {
  ExecuteStatementCommand,
  type ExecuteStatementCommandOutput,
  type RDSDataClient,
  type SqlParameter,
} from '@aws-sdk/client-rds-data';
import { DATABASE_RESUMING, ServiceError } from './service-error';
import { type RetryOptions, withRetry } from './retry';

export interface Database {
  readonly client: RDSDataClient;
  readonly clusterArn: string;
  readonly secretArn: string;
  readonly database: string;
  /** @default RESUME_RETRY */
  readonly retry?: RetryOptions;
}

/** Up to about 50 s of waiting in total: enough for a routine resume within a 60 s function timeout. */
export const RESUME_RETRY: RetryOptions = { attempts: 7, baseDelayMs: 1_000, maxDelayMs: 15_000 };

/** The Data API's "database is resuming" answer (current SDKs name it; older ones used a 400 with a message). */
export function isResuming(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  if (error.name === 'DatabaseResumingException') return true;
  return error.name === 'BadRequestException' && /resum|Communications link failure/i.test(error.message);
}

export type Param = string | number | { json: unknown };

function toSqlParameter(name: string, value: Param): SqlParameter {
  if (typeof value === 'string') return { name, value: { stringValue: value } };
  if (typeof value === 'number') {
    return Number.isInteger(value)
      ? { name, value: { longValue: value } }
      : { name, value: { doubleValue: value } };
  }
  return { name, value: { stringValue: JSON.stringify(value.json) }, typeHint: 'JSON' };
}

/** Runs one statement, retrying while the database resumes; gives up with a named, retryable error. */
export async function execute(
  db: Database,
  sql: string,
  params: Record<string, Param> = {},
): Promise<ExecuteStatementCommandOutput> {
  const command = new ExecuteStatementCommand({
    resourceArn: db.clusterArn,
    secretArn: db.secretArn,
    database: db.database,
    sql,
    parameters: Object.entries(params).map(([name, value]) => toSqlParameter(name, value)),
  });
  try {
    return await withRetry(() => db.client.send(command), isResuming, db.retry ?? RESUME_RETRY);
  } catch (error) {
    if (isResuming(error)) {
      throw new ServiceError(
        DATABASE_RESUMING,
        `The biome database ${db.database} is still resuming from auto-pause; retry in a minute.`,
      );
    }
    throw error;
  }
}
