/**
 * SQL for a biome's database, as lists of single statements: the RDS Data API runs one statement
 * per call, and `CREATE DATABASE`/`DROP DATABASE` cannot run inside a transaction or a DO block.
 * Utility statements (CREATE ROLE, GRANT, ...) take no bind parameters, so every identifier goes
 * through {@link quoteIdent} (validated, then quoted) and the one literal through {@link quoteLiteral}.
 * Pure: no I/O.
 */
import type { SqlParams } from '../shared/data-api';
import type { BiomeDatabaseNames } from '../shared/scope';

/** What we allow as an identifier: lowercase, unquoted-safe, within PostgreSQL's 63-byte limit. */
const IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/;
/** Generated passwords are letters and digits (`excludePunctuation`), long enough to resist guessing. */
const PASSWORD = /^[A-Za-z0-9]{16,128}$/;

export function quoteIdent(name: string): string {
  if (!IDENTIFIER.test(name)) {
    throw new Error(
      `"${name}" is not a safe SQL identifier: it must match ${IDENTIFIER.source} (derive it with BiomeScope.database).`,
    );
  }
  return `"${name}"`;
}

/** A string literal; standard_conforming_strings is on (PostgreSQL >= 9.1), so doubling quotes is enough. */
export function quoteLiteral(value: string): string {
  if (value.includes('\0')) throw new Error('A SQL literal cannot contain a NUL character.');
  return `'${value.replace(/'/g, "''")}'`;
}

export function checkPassword(password: string): void {
  if (!PASSWORD.test(password)) {
    throw new Error(
      'The biome secret\'s "password" must be 16-128 letters and digits (generate it with excludePunctuation); fix or regenerate the secret.',
    );
  }
}

/** Parameters use the Data API's `:name` syntax; the pg executor of the tests maps them to `$n`. */
export interface Statement {
  readonly sql: string;
  readonly params?: SqlParams;
}

/**
 * Creates the login role, or resets its password when it exists (a re-created stack gets a new
 * secret; the role must follow). The admin then gets SET (not INHERIT) on the role: since
 * PostgreSQL 16 a non-superuser admin (Aurora's master user) must be able to SET ROLE to a role to
 * hand it ownership of a schema. Needs PostgreSQL 16 or later (the WITH SET option).
 */
export function upsertRoleSql(names: BiomeDatabaseNames, password: string): Statement {
  checkPassword(password);
  const role = quoteIdent(names.role);
  const pw = quoteLiteral(password);
  return {
    sql: `DO $biome$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = ${quoteLiteral(names.role)}) THEN
    CREATE ROLE ${role} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION PASSWORD ${pw};
  ELSE
    ALTER ROLE ${role} LOGIN PASSWORD ${pw};
  END IF;
  GRANT ${role} TO current_user WITH INHERIT FALSE, SET TRUE;
END
$biome$`,
  };
}

export function databaseExistsSql(names: BiomeDatabaseNames): Statement {
  return {
    sql: 'SELECT 1 AS present FROM pg_catalog.pg_database WHERE datname = :name',
    params: { name: names.database },
  };
}

export function roleExistsSql(names: BiomeDatabaseNames): Statement {
  return {
    sql: 'SELECT 1 AS present FROM pg_catalog.pg_roles WHERE rolname = :name',
    params: { name: names.role },
  };
}

/** Run alone, outside any transaction, connected to the maintenance database. */
export function createDatabaseSql(names: BiomeDatabaseNames): Statement {
  return { sql: `CREATE DATABASE ${quoteIdent(names.database)}` };
}

/**
 * Only the biome's role may connect: PUBLIC (every role) loses the default CONNECT and TEMPORARY.
 * The role also gets CREATE, which PostgreSQL requires of a schema's new owner.
 */
export function lockDownDatabaseSql(names: BiomeDatabaseNames): Statement[] {
  const db = quoteIdent(names.database);
  const role = quoteIdent(names.role);
  return [
    { sql: `REVOKE ALL ON DATABASE ${db} FROM PUBLIC` },
    { sql: `GRANT CONNECT, CREATE, TEMPORARY ON DATABASE ${db} TO ${role}` },
  ];
}

/** Run connected to the biome's database: the biome's role owns its schema, so its migrations own their tables. */
export function schemaOwnershipSql(names: BiomeDatabaseNames): Statement[] {
  return [
    { sql: `ALTER SCHEMA public OWNER TO ${quoteIdent(names.role)}` },
    { sql: 'REVOKE ALL ON SCHEMA public FROM PUBLIC' },
  ];
}

/**
 * Drops the biome's database: no new sessions, end the open ones, then drop (FORCE ends any that
 * slipped in between). Run connected to the maintenance database, each statement on its own. The
 * role may already be gone (a Delete that raced a Create dropped it), which must not keep the
 * database: the revoke is skipped then.
 */
export function dropDatabaseSql(names: BiomeDatabaseNames): Statement[] {
  const db = quoteIdent(names.database);
  return [
    {
      sql: `DO $biome$
BEGIN
  IF EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = ${quoteLiteral(names.role)}) THEN
    REVOKE ALL ON DATABASE ${db} FROM ${quoteIdent(names.role)};
  END IF;
END
$biome$`,
    },
    {
      sql: 'SELECT pg_catalog.pg_terminate_backend(pid) AS terminated FROM pg_catalog.pg_stat_activity WHERE datname = :name AND pid <> pg_catalog.pg_backend_pid()',
      params: { name: names.database },
    },
    { sql: `DROP DATABASE IF EXISTS ${db} WITH (FORCE)` },
  ];
}

export function dropRoleSql(names: BiomeDatabaseNames): Statement {
  return { sql: `DROP ROLE IF EXISTS ${quoteIdent(names.role)}` };
}

/** Bookkeeping of applied migrations, inside the biome's database and owned by the biome's role. */
export const SCHEMA_MIGRATIONS_TABLE_SQL: Statement = {
  sql: `CREATE TABLE IF NOT EXISTS schema_migrations (
  version integer PRIMARY KEY,
  name text NOT NULL,
  checksum text NOT NULL,
  applied_at timestamptz NOT NULL DEFAULT now()
)`,
};

export const APPLIED_MIGRATIONS_SQL: Statement = {
  sql: 'SELECT version, name, checksum FROM schema_migrations ORDER BY version',
};

export function recordMigrationSql(version: number, name: string, checksum: string): Statement {
  return {
    sql: 'INSERT INTO schema_migrations (version, name, checksum) VALUES (:version, :name, :checksum)',
    params: { version, name, checksum },
  };
}
