/**
 * The lifecycle of a biome's database, written against the {@link SqlExecutor} interface so the
 * same plan runs through the RDS Data API in Lambda and through `pg` against a real PostgreSQL in tests.
 */
import type { SqlExecutor } from '../shared/data-api';
import { isProtectedBiome } from '../shared/environments';
import { type BiomeDatabaseNames, MAINTENANCE_DATABASE } from '../shared/scope';
import { checkMigrations, type Migration, migrationChecksum } from './migrations';
import {
  APPLIED_MIGRATIONS_SQL,
  createDatabaseSql,
  databaseExistsSql,
  dropDatabaseSql,
  dropRoleSql,
  lockDownDatabaseSql,
  recordMigrationSql,
  roleExistsSql,
  SCHEMA_MIGRATIONS_TABLE_SQL,
  schemaOwnershipSql,
  type Statement,
  upsertRoleSql,
} from './sql';

export interface Log {
  info(message: string, extra?: Record<string, unknown>): void;
  warn(message: string, extra?: Record<string, unknown>): void;
}

/** Where a database lives, and whether it is protected (the environment's flag, see {@link isProtectedBiome}). */
export interface BiomeDatabasePlace {
  readonly env: string;
  readonly biome: string;
  readonly protected: boolean;
}

/** Whether the database of `where` must never be dropped: {@link isProtectedBiome}, the one answer. */
export function keepsDatabase(where: BiomeDatabasePlace): boolean {
  return isProtectedBiome({ protected: where.protected }, where.biome);
}

const run = (exec: SqlExecutor, s: Statement, database: string) => exec.execute(s.sql, s.params, database);

/**
 * Makes the biome's role (with `password`) and database, locks the database to that role, and hands
 * the role its schema. Idempotent: a retried or re-created resource converges on the same state.
 * `admin` is the cluster's master user.
 */
export async function ensureBiomeDatabase(
  admin: SqlExecutor,
  names: BiomeDatabaseNames,
  password: string,
  log: Log,
): Promise<void> {
  // The statement carries the password: it is run, never logged.
  await run(admin, upsertRoleSql(names, password), MAINTENANCE_DATABASE);
  const exists = await run(admin, databaseExistsSql(names), MAINTENANCE_DATABASE);
  if (exists.length === 0) {
    await run(admin, createDatabaseSql(names), MAINTENANCE_DATABASE);
    log.info('created database', { database: names.database });
  } else {
    log.info('database exists; adopting it', { database: names.database });
  }
  for (const s of lockDownDatabaseSql(names)) await run(admin, s, MAINTENANCE_DATABASE);
  for (const s of schemaOwnershipSql(names)) await run(admin, s, names.database);
}

export interface MigrationResult {
  readonly applied: readonly number[];
  /** The database's schema version: the highest migration recorded in it. */
  readonly current: number;
}

export interface MigrateOptions {
  /**
   * What to do when the database has migrations this code does not know (it is ahead of the code).
   * `refuse` throws; `keep` logs a warning and applies nothing, for an Update that rolls back to
   * older code, which must not fail (UPDATE_ROLLBACK_FAILED needs an operator).
   * @default 'refuse'
   */
  readonly whenAhead?: 'refuse' | 'keep';
}

/**
 * Applies, in order and each in its own transaction, the migrations not yet recorded in
 * `schema_migrations`. `exec` is the biome's own role, so what a migration creates, the biome owns.
 * Always refuses to run when an applied migration was edited; see {@link MigrateOptions.whenAhead}
 * for a database ahead of the code.
 */
export async function migrate(
  exec: SqlExecutor,
  database: string,
  migrations: readonly Migration[],
  log: Log,
  options: MigrateOptions = {},
): Promise<MigrationResult> {
  checkMigrations(migrations);
  await run(exec, SCHEMA_MIGRATIONS_TABLE_SQL, database);
  const applied = new Map(
    (await run(exec, APPLIED_MIGRATIONS_SQL, database)).map((r) => [Number(r.version), r]),
  );
  const unknown: string[] = [];
  for (const [version, row] of applied) {
    const known = migrations.find((m) => m.version === version);
    if (!known) {
      unknown.push(`${version} (${String(row.name)})`);
    } else if (row.checksum !== migrationChecksum(known)) {
      throw new Error(
        `Migration ${version} (${known.name}) changed after it was applied to ${database}: never edit a released migration; add a new one with version ${migrations.length + 1}.`,
      );
    }
  }
  if (unknown.length > 0) {
    if (options.whenAhead !== 'keep') {
      throw new Error(
        `Database ${database} has migration${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')}, which this code does not know: deploy code that includes it, never remove a released migration.`,
      );
    }
    log.warn('database is ahead of the code: applying nothing, keeping its schema', {
      database,
      unknown,
      codeVersion: migrations.length,
    });
    return { applied: [], current: Math.max(...applied.keys()) };
  }
  const done: number[] = [];
  for (const m of migrations) {
    if (applied.has(m.version)) continue;
    try {
      await exec.transaction(database, async (tx) => {
        for (const sql of m.statements) await tx.execute(sql);
        const record = recordMigrationSql(m.version, m.name, migrationChecksum(m));
        await tx.execute(record.sql, record.params);
      });
    } catch (e) {
      // CloudFormation shows this message in the stack's events (and the release's Infrastructure
      // log): it must name the migration. The transaction rolled back, so nothing of it stays.
      const reason = e instanceof Error ? e.message : String(e);
      throw new Error(
        `Migration ${m.version} (${m.name}) failed on ${database} and was rolled back: ${reason}. Fix it in a new commit (it was never recorded, so it may still be edited).`,
        { cause: e },
      );
    }
    log.info('applied migration', { database, version: m.version, name: m.name });
    done.push(m.version);
  }
  return { applied: done, current: migrations.length };
}

export type DropResult = 'dropped' | 'kept';

/**
 * Ends every session on the biome's database, drops it, then drops the role. A protected biome's
 * database (the mainline of a protected environment) is never dropped, whatever the caller asks:
 * it is kept and the refusal is logged.
 */
export async function dropBiomeDatabase(
  admin: SqlExecutor,
  names: BiomeDatabaseNames,
  where: BiomeDatabasePlace,
  log: Log,
): Promise<DropResult> {
  if (keepsDatabase(where)) {
    log.warn(`keeping the database of ${where.env} ${where.biome}: it is protected, never dropped`, {
      database: names.database,
    });
    return 'kept';
  }
  const exists = await run(admin, databaseExistsSql(names), MAINTENANCE_DATABASE);
  if (exists.length > 0) {
    for (const s of dropDatabaseSql(names)) await run(admin, s, MAINTENANCE_DATABASE);
    log.info('dropped database', { database: names.database });
  }
  const role = await run(admin, roleExistsSql(names), MAINTENANCE_DATABASE);
  if (role.length > 0) {
    await run(admin, dropRoleSql(names), MAINTENANCE_DATABASE);
    log.info('dropped role', { role: names.role });
  }
  return 'dropped';
}
