/**
 * The RDS Data API in front of the test PostgreSQL, for `aws-sdk-client-mock`: handlers run their
 * real SQL, with parameters typed the way the Data API types them, so a statement PostgreSQL would
 * refuse in AWS is refused here too. Parameters: `stringValue` is sent as `varchar`, with
 * `typeHint: 'JSON'` as `json` (not `jsonb`: `jsonb = json` has no operator, the cast is
 * assignment-only), `longValue` as `bigint`, `doubleValue` as `double precision`, `booleanValue`
 * as `boolean`, `isNull` untyped.
 */
import { randomUUID } from 'node:crypto';
import type {
  ExecuteStatementCommandInput,
  ExecuteStatementCommandOutput,
  Field,
  SqlParameter,
} from '@aws-sdk/client-rds-data';
import type { Client } from 'pg';
import type { TestPostgres } from './postgres';

export interface Login {
  readonly user: string;
  readonly password: string;
}

export interface FakeDataApi {
  executeStatement(input: ExecuteStatementCommandInput): Promise<Partial<ExecuteStatementCommandOutput>>;
  beginTransaction(input: { secretArn?: string; database?: string }): Promise<{ transactionId: string }>;
  commitTransaction(input: { transactionId?: string }): Promise<{ transactionStatus: string }>;
  rollbackTransaction(input: { transactionId?: string }): Promise<{ transactionStatus: string }>;
}

function typed(p: SqlParameter): { value: unknown; cast: string } {
  const v = p.value ?? { isNull: true };
  if (v.isNull) return { value: null, cast: '' };
  if (v.stringValue !== undefined) {
    return { value: v.stringValue, cast: p.typeHint === 'JSON' ? '::json' : '::varchar' };
  }
  if (v.longValue !== undefined) return { value: v.longValue, cast: '::bigint' };
  if (v.doubleValue !== undefined) return { value: v.doubleValue, cast: '::double precision' };
  if (v.booleanValue !== undefined) return { value: v.booleanValue, cast: '::boolean' };
  throw new Error(`the fake Data API does not support parameter ${JSON.stringify(p)}`);
}

/** `:name` -> `$n::<type>`; `::type` casts in the SQL are left alone. */
export function bindDataApiParameters(
  sql: string,
  parameters: readonly SqlParameter[] = [],
): { text: string; values: unknown[] } {
  const byName = new Map(parameters.map((p) => [p.name ?? '', p]));
  const values: unknown[] = [];
  const index = new Map<string, string>();
  const text = sql.replace(/(?<!:):([a-z_][a-z0-9_]*)/gi, (_whole, name: string) => {
    const p = byName.get(name);
    if (!p) throw new Error(`SQL parameter :${name} has no value`);
    let placeholder = index.get(name);
    if (placeholder === undefined) {
      const { value, cast } = typed(p);
      values.push(value);
      placeholder = `$${values.length}${cast}`;
      index.set(name, placeholder);
    }
    return placeholder;
  });
  return { text, values };
}

function field(value: unknown): Field {
  if (value === null || value === undefined) return { isNull: true };
  if (typeof value === 'boolean') return { booleanValue: value };
  if (typeof value === 'number') {
    return Number.isInteger(value) ? { longValue: value } : { doubleValue: value };
  }
  if (typeof value === 'string') return { stringValue: value };
  return { stringValue: JSON.stringify(value) };
}

/** `login` maps the request's secret ARN to the user it holds (what Secrets Manager does for the Data API). */
export function fakeDataApi(pg: TestPostgres, login: (secretArn: string) => Login): FakeDataApi {
  const transactions = new Map<string, Client>();
  const run = async (c: Client, input: ExecuteStatementCommandInput) => {
    const { text, values } = bindDataApiParameters(input.sql ?? '', input.parameters);
    const result = await c.query({ text, values, rowMode: 'array' });
    const names = result.fields.map((f) => f.name);
    const dml = ['INSERT', 'UPDATE', 'DELETE'].includes(result.command);
    return {
      numberOfRecordsUpdated: dml ? (result.rowCount ?? 0) : 0,
      ...(input.formatRecordsAs === 'JSON'
        ? {
            formattedRecords: JSON.stringify(
              (result.rows as unknown[][]).map((r) => Object.fromEntries(names.map((n, i) => [n, r[i]]))),
            ),
          }
        : { records: (result.rows as unknown[][]).map((r) => r.map(field)) }),
    };
  };
  const who = (secretArn: string | undefined) => login(secretArn ?? '');
  const end = async (transactionId: string | undefined, sql: 'COMMIT' | 'ROLLBACK') => {
    const c = transactionId === undefined ? undefined : transactions.get(transactionId);
    if (!c || transactionId === undefined) throw new Error(`unknown transaction ${transactionId}`);
    transactions.delete(transactionId);
    try {
      await c.query(sql);
    } finally {
      await c.end();
    }
  };
  return {
    async executeStatement(input) {
      if (input.transactionId) {
        const c = transactions.get(input.transactionId);
        if (!c) throw new Error(`unknown transaction ${input.transactionId}`);
        return run(c, input);
      }
      const { user, password } = who(input.secretArn);
      // Like the Data API: a session per call, so nothing leaks between statements.
      const c = await pg.connect(user, password, input.database ?? 'postgres');
      try {
        return await run(c, input);
      } finally {
        await c.end();
      }
    },
    async beginTransaction(input) {
      const { user, password } = who(input.secretArn);
      const c = await pg.connect(user, password, input.database ?? 'postgres');
      await c.query('BEGIN');
      const transactionId = randomUUID();
      transactions.set(transactionId, c);
      return { transactionId };
    },
    async commitTransaction(input) {
      await end(input.transactionId, 'COMMIT');
      return { transactionStatus: 'Transaction Committed' };
    },
    async rollbackTransaction(input) {
      await end(input.transactionId, 'ROLLBACK');
      return { transactionStatus: 'Rollback Complete' };
    },
  };
}
