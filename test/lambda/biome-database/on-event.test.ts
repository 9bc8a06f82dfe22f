/** The custom resource handler with mocked Data API and Secrets Manager clients. */
import {
  BeginTransactionCommand,
  CommitTransactionCommand,
  DatabaseResumingException,
  ExecuteStatementCommand,
  RDSDataClient,
  RollbackTransactionCommand,
} from '@aws-sdk/client-rds-data';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { handler } from '../../../lambda/biome-database/handler';
import { MIGRATIONS, migrationChecksum } from '../../../lambda/biome-database/migrations';
import { onEvent, type Dependencies } from '../../../lambda/biome-database/on-event';

const rds = mockClient(RDSDataClient);
const sm = mockClient(SecretsManagerClient);

const CLUSTER = 'arn:aws:rds:eu-west-1:222222222222:cluster:biomes-dev-db';
const MASTER = 'arn:aws:secretsmanager:eu-west-1:222222222222:secret:biomes-dev-master-AbCdEf';
const BIOME_SECRET = 'arn:aws:secretsmanager:eu-west-1:222222222222:secret:BiomeDatabaseSecret-XyZ123';
const PASSWORD = 'Abcdefghijklmnop0123456789';
const props = (overrides: Record<string, unknown> = {}) => ({
  ServiceToken: 'arn:aws:lambda:eu-west-1:222222222222:function:provider',
  ClusterArn: CLUSTER,
  MasterSecretArn: MASTER,
  BiomeSecretArn: BIOME_SECRET,
  Env: 'dev',
  Biome: 'alice-b',
  Migrations: 'abc',
  ...overrides,
});
const ID = `biome_alice_b@${CLUSTER}`;

const logs: string[] = [];
const deps = (): Dependencies => ({
  rdsData: new RDSDataClient({}),
  secrets: new SecretsManagerClient({}),
  log: { info: (m) => logs.push(`info ${m}`), warn: (m) => logs.push(`warn ${m}`) },
  retry: { sleep: async () => undefined },
});

/** Each statement sent, as "<secret>|<database>|<first words of the SQL>". */
function sent(): string[] {
  return rds.commandCalls(ExecuteStatementCommand).map(({ args: [c] }) => {
    const who =
      c.input.secretArn === MASTER ? 'master' : c.input.secretArn?.startsWith(BIOME_SECRET) ? 'biome' : '?';
    const sql = c.input.sql!.replace(/\s+/g, ' ').slice(0, 40);
    return `${who}|${c.input.database}|${sql}`;
  });
}

/** Answers ExecuteStatement by the first matching SQL fragment (else an empty result); `fail` rejects. */
function answer(rules: Record<string, unknown>, fail?: { sql: string; error: Error }): void {
  rds.on(ExecuteStatementCommand).callsFake((input: { sql: string }) => {
    if (fail && input.sql.includes(fail.sql)) throw fail.error;
    const hit = Object.entries(rules).find(([fragment]) => input.sql.includes(fragment));
    return hit ? { formattedRecords: JSON.stringify(hit[1]) } : {};
  });
}

beforeEach(() => {
  rds.reset();
  sm.reset();
  logs.length = 0;
  rds.on(ExecuteStatementCommand).resolves({});
  rds.on(BeginTransactionCommand).resolves({ transactionId: 'tx-1' });
  rds.on(CommitTransactionCommand).resolves({});
  sm.on(GetSecretValueCommand).resolves({
    SecretString: JSON.stringify({ username: 'biome_alice_b', password: PASSWORD }),
  });
});

describe('Create', () => {
  test('makes the role and database as master, then migrates as the biome, in order', async () => {
    const out = await onEvent({ RequestType: 'Create', ResourceProperties: props() }, deps());
    expect(out).toEqual({
      PhysicalResourceId: ID,
      Data: { DatabaseName: 'biome_alice_b', RoleName: 'biome_alice_b', SchemaVersion: '1' },
    });
    expect(sent()).toEqual([
      'master|postgres|DO $biome$ BEGIN IF NOT EXISTS (SELECT F',
      'master|postgres|SELECT 1 AS present FROM pg_catalog.pg_d',
      'master|postgres|CREATE DATABASE "biome_alice_b"',
      'master|postgres|REVOKE ALL ON DATABASE "biome_alice_b" F',
      'master|postgres|GRANT CONNECT, CREATE, TEMPORARY ON DATA',
      'master|biome_alice_b|ALTER SCHEMA public OWNER TO "biome_alic',
      'master|biome_alice_b|REVOKE ALL ON SCHEMA public FROM PUBLIC',
      'biome|biome_alice_b|CREATE TABLE IF NOT EXISTS schema_migrat',
      'biome|biome_alice_b|SELECT version, name, checksum FROM sche',
      'biome|biome_alice_b|CREATE TABLE samples ( sample_id text PR',
      'biome|biome_alice_b|CREATE TABLE predictions ( id bigserial ',
      'biome|biome_alice_b|CREATE INDEX predictions_sample_id_idx O',
      'biome|biome_alice_b|INSERT INTO schema_migrations (version, ',
    ]);
    expect(sm).toHaveReceivedCommandWith(GetSecretValueCommand, { SecretId: BIOME_SECRET });
    expect(rds).toHaveReceivedCommandWith(BeginTransactionCommand, {
      resourceArn: CLUSTER,
      secretArn: BIOME_SECRET,
      database: 'biome_alice_b',
    });
    expect(rds).toHaveReceivedCommandTimes(CommitTransactionCommand, 1);
    // Migration statements ran inside the transaction, and the record uses typed parameters.
    const insert = rds.commandCalls(ExecuteStatementCommand).at(-1)!.args[0].input;
    expect(insert.transactionId).toBe('tx-1');
    expect(insert.parameters).toEqual([
      { name: 'version', value: { longValue: 1 } },
      { name: 'name', value: { stringValue: 'samples_and_predictions' } },
      { name: 'checksum', value: { stringValue: migrationChecksum(MIGRATIONS[0]) } },
    ]);
  });

  test('adopts an existing database instead of creating it', async () => {
    answer({ 'FROM pg_catalog.pg_database': [{ present: 1 }] });
    await onEvent({ RequestType: 'Create', ResourceProperties: props() }, deps());
    expect(sent().some((s) => s.includes('CREATE DATABASE'))).toBe(false);
  });

  test('retries while the cluster resumes from 0 ACU', async () => {
    rds
      .on(ExecuteStatementCommand)
      .rejectsOnce(
        new DatabaseResumingException({ message: 'The Aurora DB instance is resuming', $metadata: {} }),
      )
      .resolves({});
    await onEvent({ RequestType: 'Create', ResourceProperties: props() }, deps());
    expect(sent()[0]).toBe(sent()[1]);
  });

  test('a failing migration rolls back, then the Create drops what it made and fails with the original error', async () => {
    answer({ 'AS present': [{ present: 1 }] }, { sql: 'CREATE TABLE samples', error: new Error('boom') });
    rds.on(RollbackTransactionCommand).resolves({});
    await expect(onEvent({ RequestType: 'Create', ResourceProperties: props() }, deps())).rejects.toThrow(
      'boom',
    );
    expect(rds).toHaveReceivedCommandTimes(RollbackTransactionCommand, 1);
    expect(rds).not.toHaveReceivedCommand(CommitTransactionCommand);
    expect(sent().slice(-6)).toEqual([
      'master|postgres|SELECT 1 AS present FROM pg_catalog.pg_d',
      'master|postgres|DO $biome$ BEGIN IF EXISTS (SELECT FROM ',
      'master|postgres|SELECT pg_catalog.pg_terminate_backend(p',
      'master|postgres|DROP DATABASE IF EXISTS "biome_alice_b" ',
      'master|postgres|SELECT 1 AS present FROM pg_catalog.pg_r',
      'master|postgres|DROP ROLE IF EXISTS "biome_alice_b"',
    ]);
    expect(logs).toContainEqual(expect.stringMatching(/^warn create failed: dropping the database and role/));
  });

  test("a failed cleanup is logged; the error CloudFormation sees is still the Create's", async () => {
    answer({ 'AS present': [{ present: 1 }] }, { sql: 'GRANT CONNECT', error: new Error('boom') });
    rds
      .on(ExecuteStatementCommand, { sql: 'DROP ROLE IF EXISTS "biome_alice_b"' })
      .rejects(new Error('busy'));
    await expect(onEvent({ RequestType: 'Create', ResourceProperties: props() }, deps())).rejects.toThrow(
      /^boom$/,
    );
    expect(logs).toContainEqual(expect.stringMatching(/^warn could not drop after the failed create/));
  });

  test('a failed Create of prod main drops nothing', async () => {
    answer({}, { sql: 'CREATE TABLE samples', error: new Error('boom') });
    rds.on(RollbackTransactionCommand).resolves({});
    sm.on(GetSecretValueCommand).resolves({
      SecretString: JSON.stringify({ username: 'biome_main', password: PASSWORD }),
    });
    await expect(
      onEvent({ RequestType: 'Create', ResourceProperties: props({ Env: 'prod', Biome: 'main' }) }, deps()),
    ).rejects.toThrow('boom');
    expect(sent().some((s) => s.includes('DROP') || s.includes('terminate'))).toBe(false);
    expect(logs).toContainEqual(expect.stringMatching(/^warn create of prod main failed: keeping/));
  });

  test('a database ahead of the code is refused on Create', async () => {
    answer({
      'SELECT version, name, checksum': [
        { version: 1, name: 'samples_and_predictions', checksum: migrationChecksum(MIGRATIONS[0]) },
        { version: 2, name: 'future', checksum: 'x' },
      ],
    });
    await expect(onEvent({ RequestType: 'Create', ResourceProperties: props() }, deps())).rejects.toThrow(
      /has migration 2 \(future\), which this code does not know/,
    );
  });
});

describe('Update', () => {
  const update = (overrides: Record<string, unknown> = {}) => ({
    RequestType: 'Update',
    PhysicalResourceId: ID,
    ResourceProperties: props(overrides),
    OldResourceProperties: props(),
  });

  test("converges the role (the secret's password, which may have changed) and database, then migrates", async () => {
    answer({
      'FROM pg_catalog.pg_database': [{ present: 1 }],
      'SELECT version, name, checksum': [
        { version: 1, name: 'samples_and_predictions', checksum: migrationChecksum(MIGRATIONS[0]) },
      ],
    });
    const NEW_SECRET = `${BIOME_SECRET}-rotated`;
    sm.on(GetSecretValueCommand, { SecretId: NEW_SECRET }).resolves({
      SecretString: JSON.stringify({ username: 'biome_alice_b', password: 'Rotated0123456789abc' }),
    });
    const out = await onEvent(update({ BiomeSecretArn: NEW_SECRET }), deps());
    expect(out.PhysicalResourceId).toBe(ID);
    expect(sm).toHaveReceivedCommandWith(GetSecretValueCommand, { SecretId: NEW_SECRET });
    const calls = rds.commandCalls(ExecuteStatementCommand).map(({ args: [c] }) => c.input);
    expect(calls[0]).toMatchObject({
      secretArn: MASTER,
      sql: expect.stringContaining("PASSWORD 'Rotated0123456789abc'"),
    });
    expect(sent()).toEqual([
      'master|postgres|DO $biome$ BEGIN IF NOT EXISTS (SELECT F',
      'master|postgres|SELECT 1 AS present FROM pg_catalog.pg_d',
      'master|postgres|REVOKE ALL ON DATABASE "biome_alice_b" F',
      'master|postgres|GRANT CONNECT, CREATE, TEMPORARY ON DATA',
      'master|biome_alice_b|ALTER SCHEMA public OWNER TO "biome_alic',
      'master|biome_alice_b|REVOKE ALL ON SCHEMA public FROM PUBLIC',
      'biome|biome_alice_b|CREATE TABLE IF NOT EXISTS schema_migrat',
      'biome|biome_alice_b|SELECT version, name, checksum FROM sche',
    ]);
    expect(calls.at(-1)!.secretArn).toBe(NEW_SECRET);
  });

  test('a database ahead of the code (a rollback to older code) succeeds, applies nothing, warns', async () => {
    answer({
      'SELECT version, name, checksum': [
        { version: 1, name: 'samples_and_predictions', checksum: migrationChecksum(MIGRATIONS[0]) },
        { version: 2, name: 'future', checksum: 'x' },
      ],
    });
    const out = await onEvent(update(), deps());
    expect(out.Data?.SchemaVersion).toBe('2');
    expect(rds).not.toHaveReceivedCommand(BeginTransactionCommand);
    expect(logs).toContainEqual(expect.stringMatching(/^warn database is ahead of the code/));
  });

  test('an edited applied migration is still refused, and nothing is dropped', async () => {
    answer({
      'SELECT version, name, checksum': [{ version: 1, name: 'samples_and_predictions', checksum: 'edited' }],
    });
    await expect(onEvent(update(), deps())).rejects.toThrow(/changed after it was applied/);
    expect(sent().some((s) => s.includes('DROP'))).toBe(false);
  });
});

describe('Delete', () => {
  test('terminates sessions, drops the database, then the role', async () => {
    answer({ 'AS present': [{ present: 1 }] });
    await onEvent({ RequestType: 'Delete', PhysicalResourceId: ID, ResourceProperties: props() }, deps());
    expect(sent()).toEqual([
      'master|postgres|SELECT 1 AS present FROM pg_catalog.pg_d',
      'master|postgres|DO $biome$ BEGIN IF EXISTS (SELECT FROM ',
      'master|postgres|SELECT pg_catalog.pg_terminate_backend(p',
      'master|postgres|DROP DATABASE IF EXISTS "biome_alice_b" ',
      'master|postgres|SELECT 1 AS present FROM pg_catalog.pg_r',
      'master|postgres|DROP ROLE IF EXISTS "biome_alice_b"',
    ]);
  });

  test('never drops main in prod: no SQL at all, and a log line says why', async () => {
    const out = await onEvent(
      {
        RequestType: 'Delete',
        PhysicalResourceId: ID,
        ResourceProperties: props({ Env: 'prod', Biome: 'main' }),
      },
      deps(),
    );
    expect(out.PhysicalResourceId).toBe(ID);
    expect(rds).not.toHaveReceivedCommand(ExecuteStatementCommand);
    expect(logs).toEqual([expect.stringMatching(/^warn keeping the database of prod main/)]);
  });

  test('with invalid properties (a Create that was refused) succeeds without SQL', async () => {
    await onEvent(
      { RequestType: 'Delete', PhysicalResourceId: 'x', ResourceProperties: props({ Biome: 'Bad!' }) },
      deps(),
    );
    expect(rds).not.toHaveReceivedCommand(ExecuteStatementCommand);
    expect(logs[0]).toMatch(/nothing was created/);
  });
});

describe('bad input', () => {
  test.each([
    [{ Biome: 'Alice' }, /Biome: "Alice" must match/],
    [{ Biome: 'dev' }, /Biome: "dev" is reserved/],
    [{ Env: 'qa' }, /Env: must be one of dev, staging, prod/],
    [{ ClusterArn: 'my-cluster' }, /ClusterArn: must be an Aurora cluster ARN/],
    [{ MasterSecretArn: undefined }, /MasterSecretArn: /],
    [
      { BiomeSecretArn: 'arn:aws:s3:::bucket' },
      /BiomeSecretArn: must be the ARN of the biome's database secret/,
    ],
  ])('Create with %j fails before any SQL, naming the property', async (overrides, message) => {
    await expect(
      onEvent({ RequestType: 'Create', ResourceProperties: props(overrides) }, deps()),
    ).rejects.toThrow(message);
    expect(rds).not.toHaveReceivedCommand(ExecuteStatementCommand);
  });

  test('an unknown request type is refused', async () => {
    await expect(onEvent({ RequestType: 'Replace', ResourceProperties: props() }, deps())).rejects.toThrow(
      /Not a CloudFormation custom resource event/,
    );
  });

  test.each([
    [{ SecretString: 'not json' }, /must hold JSON \{"username": "biome_alice_b"/],
    [
      { SecretString: JSON.stringify({ username: 'biome_bob', password: PASSWORD }) },
      /belongs to another biome/,
    ],
    [
      { SecretString: JSON.stringify({ username: 'biome_alice_b', password: "x'; DROP" }) },
      /16-128 letters and digits/,
    ],
  ])('a bad biome secret (%j) fails before any SQL', async (secret, message) => {
    sm.on(GetSecretValueCommand).resolves(secret);
    await expect(onEvent({ RequestType: 'Create', ResourceProperties: props() }, deps())).rejects.toThrow(
      message,
    );
    expect(rds).not.toHaveReceivedCommand(ExecuteStatementCommand);
  });
});

test('the Lambda handler wires the module-scope clients (mocked) to onEvent', async () => {
  await expect(
    handler({
      RequestType: 'Delete',
      PhysicalResourceId: ID,
      ResourceProperties: props({ Env: 'prod', Biome: 'main' }),
    }),
  ).resolves.toEqual({ PhysicalResourceId: ID });
  await handler({ RequestType: 'Delete', PhysicalResourceId: ID, ResourceProperties: props() });
  expect(rds).toHaveReceivedCommandWith(ExecuteStatementCommand, {
    resourceArn: CLUSTER,
    secretArn: MASTER,
    database: 'postgres',
  });
});
