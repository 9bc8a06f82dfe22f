/**
 * {@link SqlExecutor} over the RDS Data API: one identity (a Secrets Manager secret) on one cluster.
 * A cluster that scaled to 0 ACU answers `DatabaseResumingException` while it resumes (about 15 s,
 * longer after a day idle), so every call is retried with backoff before giving up.
 */
import {
  BeginTransactionCommand,
  CommitTransactionCommand,
  ExecuteStatementCommand,
  type RDSDataClient,
  RollbackTransactionCommand,
  type SqlParameter,
} from '@aws-sdk/client-rds-data';
import type { Row, SqlExecutor, TransactionExecutor } from './database';
import type { SqlParams, SqlValue } from './sql';

export interface DataApiTarget {
  readonly resourceArn: string;
  readonly secretArn: string;
}

export interface RetryOptions {
  /** Attempts per call, the first included. @default 12 */
  readonly attempts?: number;
  /** Wait before the first retry; doubles up to 16 s. @default 2000 */
  readonly firstDelayMs?: number;
  readonly sleep?: (ms: number) => Promise<void>;
}

const realSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export function isResuming(e: unknown): boolean {
  const err = e as { name?: string; message?: string };
  return err?.name === 'DatabaseResumingException' || /is resuming/i.test(err?.message ?? '');
}

function parameter(name: string, value: SqlValue): SqlParameter {
  if (value === null) return { name, value: { isNull: true } };
  if (typeof value === 'boolean') return { name, value: { booleanValue: value } };
  if (typeof value === 'number') {
    return Number.isInteger(value)
      ? { name, value: { longValue: value } }
      : { name, value: { doubleValue: value } };
  }
  return { name, value: { stringValue: value } };
}

export function toParameters(params: SqlParams | undefined): SqlParameter[] | undefined {
  if (!params) return undefined;
  return Object.entries(params).map(([name, value]) => parameter(name, value));
}

export function dataApiExecutor(
  client: RDSDataClient,
  target: DataApiTarget,
  retry: RetryOptions = {},
): SqlExecutor {
  const attempts = retry.attempts ?? 12;
  const sleep = retry.sleep ?? realSleep;
  const withRetry = async <T>(call: () => Promise<T>): Promise<T> => {
    let delay = retry.firstDelayMs ?? 2000;
    for (let attempt = 1; ; attempt++) {
      try {
        return await call();
      } catch (e) {
        if (!isResuming(e) || attempt >= attempts) throw e;
        await sleep(delay);
        delay = Math.min(delay * 2, 16_000);
      }
    }
  };
  const execute = async (sql: string, params?: SqlParams, database?: string, transactionId?: string) => {
    const out = await withRetry(() =>
      client.send(
        new ExecuteStatementCommand({
          ...target,
          sql,
          parameters: toParameters(params),
          database,
          transactionId,
          formatRecordsAs: 'JSON',
        }),
      ),
    );
    return (out.formattedRecords ? JSON.parse(out.formattedRecords) : []) as Row[];
  };
  return {
    execute: (sql, params, database) => execute(sql, params, database),
    async transaction(database, work) {
      const { transactionId } = await withRetry(() =>
        client.send(new BeginTransactionCommand({ ...target, database })),
      );
      const tx: TransactionExecutor = {
        execute: (sql, params) => execute(sql, params, database, transactionId),
      };
      let result;
      try {
        result = await work(tx);
      } catch (e) {
        await client
          .send(new RollbackTransactionCommand({ ...target, transactionId }))
          .catch(() => undefined);
        throw e;
      }
      await client.send(new CommitTransactionCommand({ ...target, transactionId }));
      return result;
    },
  };
}
