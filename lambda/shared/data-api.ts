/**
 * SQL through the RDS Data API: the one path every Lambda takes to a biome database (the services
 * and the biome-database custom resource; Lambdas run outside any VPC, docs/design.md "Teardown and
 * cost"). Always bound parameters, never SQL built from strings.
 *
 * An auto-paused Aurora Serverless v2 instance is woken by the Data API itself: the request that
 * finds it paused is cancelled with `DatabaseResumingException`, the Data API starts the resume,
 * and the caller is to wait a few seconds and try again (RDS Data API reference, exception
 * DatabaseResumingException:
 * https://docs.aws.amazon.com/botocore/latest/reference/services/rds-data/client/exceptions/DatabaseResumingException.html;
 * Aurora User Guide, "Scaling to Zero ACUs with automatic pause and resume":
 * https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/aurora-serverless-v2-auto-pause.html).
 * A resume takes about 15 s, longer after a day idle. Older SDKs and Aurora Serverless v1 answered
 * with a `BadRequestException` instead (the reference says BadRequestException only comes from v1
 * databases), so {@link isResuming} accepts every form and each call is retried with backoff.
 */
import {
  BeginTransactionCommand,
  CommitTransactionCommand,
  ExecuteStatementCommand,
  type ExecuteStatementCommandOutput,
  type RDSDataClient,
  RollbackTransactionCommand,
  type SqlParameter,
} from '@aws-sdk/client-rds-data';
import * as z from 'zod/mini';
import { type RetryOptions, retryWithDefaults, withRetry } from './retry';
import { DATABASE_RESUMING, ServiceError } from './service-error';

/**
 * A bound parameter (`:name` in the SQL). `{ json }` is sent as a string with the Data API's JSON
 * type hint, which PostgreSQL receives as `json`; compare it to a `jsonb` column through
 * `CAST(:name AS jsonb)`.
 */
export type SqlValue = string | number | boolean | null | { readonly json: unknown };
export type SqlParams = Readonly<Record<string, SqlValue>>;

/** A result row, by column name. */
export type Row = Record<string, unknown>;

/** Runs statements inside one transaction. */
export interface TransactionExecutor {
  execute(sql: string, params?: SqlParams): Promise<Row[]>;
}

/**
 * Runs SQL as one database user (the identity is the executor's: a secret, a connection string).
 * The Data API implements it ({@link dataApi}); the tests implement it over `pg` too.
 */
export interface SqlExecutor {
  /** One statement, auto-committed, connected to `database` (or the executor's own). */
  execute(sql: string, params?: SqlParams, database?: string): Promise<Row[]>;
  /** Runs `work` in one transaction on `database`: committed when it resolves, rolled back when it throws. */
  transaction<T>(database: string, work: (tx: TransactionExecutor) => Promise<T>): Promise<T>;
}

/** The {@link SqlExecutor} of the Data API, with the Data API's own answer for services that need it. */
export interface DataApi extends SqlExecutor {
  /**
   * One statement, auto-committed, answered as the Data API answers it: `numberOfRecordsUpdated`
   * and typed `records` (`[[{ longValue: 42 }]]`), for DML and `RETURNING`.
   */
  statement(sql: string, params?: SqlParams, database?: string): Promise<ExecuteStatementCommandOutput>;
}

/** Who runs the SQL, and where. */
export interface DataApiTarget {
  readonly client: RDSDataClient;
  /** The Aurora cluster. */
  readonly clusterArn: string;
  /** The Secrets Manager secret of the database user every call runs as. */
  readonly secretArn: string;
  /** Database of the calls that name none. @default - the Data API's default for the user */
  readonly database?: string;
}

export interface DataApiOptions {
  /** Backoff while the database resumes; unset fields take {@link RESUME_RETRY}'s values. */
  readonly retry?: Partial<RetryOptions>;
  /**
   * What a call throws when the database is still resuming after its last attempt: `service-error`
   * a {@link ServiceError} named {@link DATABASE_RESUMING} (a service's caller, the biome workflow,
   * retries that name later); `rethrow` the Data API's own error.
   * @default 'service-error'
   */
  readonly stillResuming?: 'service-error' | 'rethrow';
}

/**
 * Up to about 50 s of waiting in total (1 + 2 + 4 + 8 + 15 + 15 s): enough for a routine resume
 * within a service's 60 s function timeout.
 */
export const RESUME_RETRY: RetryOptions = { attempts: 7, baseDelayMs: 1_000, maxDelayMs: 15_000 };

function text(error: unknown, key: 'name' | 'message'): string {
  if (typeof error !== 'object' || error === null) return '';
  const value: unknown = Reflect.get(error, key);
  return typeof value === 'string' ? value : '';
}

/**
 * Whether `error` is the Data API's "the database is resuming, try again" answer, in any of its
 * forms: `DatabaseResumingException` (current SDKs); a `BadRequestException` saying it resumes or
 * "Communications link failure" (older SDKs, Aurora Serverless v1); any error whose message says
 * "is resuming".
 */
export function isResuming(error: unknown): boolean {
  const name = text(error, 'name');
  const message = text(error, 'message');
  if (name === 'DatabaseResumingException') return true;
  if (name === 'BadRequestException' && /resum|Communications link failure/i.test(message)) return true;
  return /is resuming/i.test(message);
}

function toSqlParameter(name: string, value: SqlValue): SqlParameter {
  if (value === null) return { name, value: { isNull: true } };
  if (typeof value === 'boolean') return { name, value: { booleanValue: value } };
  if (typeof value === 'string') return { name, value: { stringValue: value } };
  if (typeof value === 'number') {
    return Number.isInteger(value)
      ? { name, value: { longValue: value } }
      : { name, value: { doubleValue: value } };
  }
  return { name, value: { stringValue: JSON.stringify(value.json) }, typeHint: 'JSON' };
}

/** The Data API's parameter list for `params` (undefined for none). */
export function toSqlParameters(params: SqlParams | undefined): SqlParameter[] | undefined {
  if (!params) return undefined;
  return Object.entries(params).map(([name, value]) => toSqlParameter(name, value));
}

const formattedRecordsSchema = z.array(z.record(z.string(), z.unknown()));

function parseRows(formattedRecords: string | undefined): Row[] {
  if (formattedRecords === undefined) return [];
  const parsed = formattedRecordsSchema.safeParse(JSON.parse(formattedRecords));
  if (!parsed.success) {
    throw new Error('The Data API answered formattedRecords that are not a JSON array of rows.');
  }
  return parsed.data;
}

/** Statements on a whole database: run outside a transaction, and let go on after a call times out. */
const DATABASE_DDL = /^\s*(CREATE|DROP|ALTER)\s+DATABASE\b/i;

/**
 * The Data API as `target`'s user. Every call, transactional ones and BeginTransaction included,
 * is retried while the database resumes ({@link isResuming}); other errors are thrown at once.
 * Commit and rollback are not retried: a database that paused mid-transaction lost it anyway.
 */
export function dataApi(target: DataApiTarget, options: DataApiOptions = {}): DataApi {
  const { client, clusterArn: resourceArn, secretArn } = target;
  const retry = retryWithDefaults(RESUME_RETRY, options.retry);
  const stillResuming = options.stillResuming ?? 'service-error';

  const call = async <T>(send: () => Promise<T>, database: string | undefined): Promise<T> => {
    try {
      return await withRetry(send, isResuming, retry);
    } catch (error) {
      if (stillResuming === 'service-error' && isResuming(error)) {
        throw new ServiceError(
          DATABASE_RESUMING,
          `The biome database ${database ?? '(default)'} is still resuming from auto-pause; retry in a minute.`,
        );
      }
      throw error;
    }
  };

  const send = (
    sql: string,
    params: SqlParams | undefined,
    database: string | undefined,
    extra: {
      readonly transactionId?: string;
      readonly formatRecordsAs?: 'JSON';
      readonly continueAfterTimeout?: boolean;
    },
  ) =>
    call(
      () =>
        client.send(
          new ExecuteStatementCommand({
            resourceArn,
            secretArn,
            database,
            sql,
            parameters: toSqlParameters(params),
            ...extra,
          }),
        ),
      database,
    );

  const rows = async (
    sql: string,
    params: SqlParams | undefined,
    database: string | undefined,
    transactionId?: string,
  ) =>
    parseRows(
      (
        await send(sql, params, database, {
          transactionId,
          formatRecordsAs: 'JSON',
          // "By default, the statement stops running when the call times out. For DDL statements, we
          // recommend continuing to run the statement after the call times out" (RDS Data API
          // reference, ExecuteStatement continueAfterTimeout): a CREATE DATABASE cut off half-way on a
          // cluster just resumed would leave the retry to race it.
          ...(transactionId === undefined && DATABASE_DDL.test(sql) ? { continueAfterTimeout: true } : {}),
        })
      ).formattedRecords,
    );

  return {
    statement: (sql, params, database = target.database) => send(sql, params, database, {}),
    execute: (sql, params, database = target.database) => rows(sql, params, database),
    async transaction(database, work) {
      const { transactionId } = await call(
        () => client.send(new BeginTransactionCommand({ resourceArn, secretArn, database })),
        database,
      );
      const tx: TransactionExecutor = {
        execute: (sql, params) => rows(sql, params, database, transactionId),
      };
      let result;
      try {
        result = await work(tx);
      } catch (error) {
        await client
          .send(new RollbackTransactionCommand({ resourceArn, secretArn, transactionId }))
          .catch(() => undefined);
        throw error;
      }
      await client.send(new CommitTransactionCommand({ resourceArn, secretArn, transactionId }));
      return result;
    },
  };
}
