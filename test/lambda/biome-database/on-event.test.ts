/** The custom resource handler with mocked Data API and Secrets Manager clients. */
import {
  BadRequestException,
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
import { migrationChecksum } from '../../../lambda/biome-database/migrations';
import { onEvent, type Dependencies } from '../../../lambda/biome-database/on-event';
import { PROPERTY } from '../../../lambda/biome-database/properties';
import { FIRST_MIGRATION } from './fixtures';

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
  Protected: 'false',
  Migrations: 'abc',
  ...overrides,
});
const ID = `biome_alice_b@${CLUSTER}`;

const logs: string[] = [];
/** The handler's mechanics, against one migration (the real list runs in on-event-postgres.test.ts). */
const deps = (): Dependencies => ({
  rdsData: new RDSDataClient({}),
  secrets: new SecretsManagerClient({}),
  log: { info: (m) => logs.push(`info ${m}`), warn: (m) => logs.push(`warn ${m}`) },
  retry: { sleep: () => Promise.resolve() },
  migrations: [FIRST_MIGRATION],
});

/** Each statement sent, as "<secret>|<database>|<first words of the SQL>". */
function sent(): string[] {
  return rds.commandCalls(ExecuteStatementCommand).map(({ args: [c] }) => {
    const who =
      c.input.secretArn === MASTER ? 'master' : c.input.secretArn?.startsWith(BIOME_SECRET) ? 'biome' : '?';
    const sql = (c.input.sql ?? '').replace(/\s+/g, ' ').slice(0, 40);
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
    const insert = rds.commandCalls(ExecuteStatementCommand).at(-1)?.args[0].input;
    expect(insert?.transactionId).toBe('tx-1');
    expect(insert?.parameters).toEqual([
      { name: 'version', value: { longValue: 1 } },
      { name: 'name', value: { stringValue: 'samples_and_predictions' } },
      { name: 'checksum', value: { stringValue: migrationChecksum(FIRST_MIGRATION) } },
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

  test("retries the older SDKs' resuming answer too (BadRequestException: Communications link failure)", async () => {
    rds
      .on(ExecuteStatementCommand)
      .rejectsOnce(new BadRequestException({ message: 'Communications link failure', $metadata: {} }))
      .resolves({});
    await onEvent({ RequestType: 'Create', ResourceProperties: props() }, deps());
    expect(sent()[0]).toBe(sent()[1]);
  });

  test('waits about 2.5 minutes for a resume (12 attempts, 2 s doubling to 16 s), then fails with the Data API error', async () => {
    const waits: number[] = [];
    const resuming = new DatabaseResumingException({
      message: 'The Aurora DB instance is resuming',
      $metadata: {},
    });
    rds.on(ExecuteStatementCommand).rejects(resuming);
    await expect(
      onEvent(
        { RequestType: 'Create', ResourceProperties: props() },
        {
          ...deps(),
          retry: {
            sleep: (ms) => {
              waits.push(ms);
              return Promise.resolve();
            },
          },
        },
      ),
    ).rejects.toBe(resuming);
    const sequence = [2000, 4000, 8000, 16000, 16000, 16000, 16000, 16000, 16000, 16000, 16000];
    // The role statement 12 times, then the cleanup's first statement 12 times (and logged).
    expect(sent().filter((s) => s.includes('IF NOT EXISTS'))).toHaveLength(12);
    expect(rds).toHaveReceivedCommandTimes(ExecuteStatementCommand, 24);
    expect(waits).toEqual([...sequence, ...sequence]);
    expect(logs).toContainEqual(expect.stringMatching(/^warn could not drop after the failed create/));
  });

  test('does not retry an error that is not a resume', async () => {
    rds
      .on(ExecuteStatementCommand)
      .rejects(new BadRequestException({ message: 'relation "x" does not exist', $metadata: {} }));
    await expect(onEvent({ RequestType: 'Create', ResourceProperties: props() }, deps())).rejects.toThrow(
      /relation "x" does not exist/,
    );
    // The role statement failed once, then the cleanup's first statement once: nothing was retried.
    expect(sent().filter((s) => s.includes('IF NOT EXISTS'))).toHaveLength(1);
    expect(rds).toHaveReceivedCommandTimes(ExecuteStatementCommand, 2);
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

  test('a failed Create of a protected main (Protected "true") drops nothing', async () => {
    answer({}, { sql: 'CREATE TABLE samples', error: new Error('boom') });
    rds.on(RollbackTransactionCommand).resolves({});
    sm.on(GetSecretValueCommand).resolves({
      SecretString: JSON.stringify({ username: 'biome_main', password: PASSWORD }),
    });
    await expect(
      onEvent(
        {
          RequestType: 'Create',
          ResourceProperties: props({ Env: 'prod', Biome: 'main', Protected: 'true' }),
        },
        deps(),
      ),
    ).rejects.toThrow('boom');
    expect(sent().some((s) => s.includes('DROP') || s.includes('terminate'))).toBe(false);
    expect(logs).toContainEqual(expect.stringMatching(/^warn create of prod main failed: keeping/));
  });

  test('a failed Create of an unprotected main (Protected "false") is cleaned up', async () => {
    answer({ 'AS present': [{ present: 1 }] }, { sql: 'CREATE TABLE samples', error: new Error('boom') });
    rds.on(RollbackTransactionCommand).resolves({});
    sm.on(GetSecretValueCommand).resolves({
      SecretString: JSON.stringify({ username: 'biome_main', password: PASSWORD }),
    });
    await expect(
      onEvent(
        {
          RequestType: 'Create',
          ResourceProperties: props({ Env: 'prod', Biome: 'main', Protected: 'false' }),
        },
        deps(),
      ),
    ).rejects.toThrow('boom');
    expect(sent()).toContain('master|postgres|DROP ROLE IF EXISTS "biome_main"');
  });

  test('a database ahead of the code is refused on Create', async () => {
    answer({
      'SELECT version, name, checksum': [
        { version: 1, name: 'samples_and_predictions', checksum: migrationChecksum(FIRST_MIGRATION) },
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
        { version: 1, name: 'samples_and_predictions', checksum: migrationChecksum(FIRST_MIGRATION) },
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
    expect(calls.at(-1)?.secretArn).toBe(NEW_SECRET);
  });

  test('a database ahead of the code (a rollback to older code) succeeds, applies nothing, warns', async () => {
    answer({
      'SELECT version, name, checksum': [
        { version: 1, name: 'samples_and_predictions', checksum: migrationChecksum(FIRST_MIGRATION) },
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

  test('never drops a protected main (Protected "true"): no SQL at all, and a log line says why', async () => {
    const out = await onEvent(
      {
        RequestType: 'Delete',
        PhysicalResourceId: ID,
        ResourceProperties: props({ Env: 'prod', Biome: 'main', Protected: 'true' }),
      },
      deps(),
    );
    expect(out.PhysicalResourceId).toBe(ID);
    expect(rds).not.toHaveReceivedCommand(ExecuteStatementCommand);
    expect(logs).toEqual([expect.stringMatching(/^warn keeping the database of prod main/)]);
  });

  test.each([
    [
      'an unprotected main, even named prod',
      { Env: 'prod', Biome: 'main', Protected: 'false' },
      'biome_main',
    ],
    [
      'a sandpit of a protected environment',
      { Env: 'prod', Biome: 'alice-b', Protected: 'true' },
      'biome_alice_b',
    ],
  ])('drops %s: the Protected flag and the biome decide, not the env name', async (_what, overrides, db) => {
    answer({ 'AS present': [{ present: 1 }] });
    await onEvent(
      { RequestType: 'Delete', PhysicalResourceId: ID, ResourceProperties: props(overrides) },
      deps(),
    );
    expect(sent()).toContain(`master|postgres|DROP ROLE IF EXISTS "${db}"`);
  });

  test('with an invalid Protected property (a Create that was refused) drops nothing', async () => {
    for (const Protected of ['TRUE', 'yes']) {
      rds.resetHistory();
      await onEvent(
        {
          RequestType: 'Delete',
          PhysicalResourceId: ID,
          ResourceProperties: props({ Env: 'dev', Biome: 'main', Protected }),
        },
        deps(),
      );
      expect(rds).not.toHaveReceivedCommand(ExecuteStatementCommand);
    }
    expect(logs).toEqual([
      expect.stringMatching(/nothing was created/),
      expect.stringMatching(/nothing was created/),
    ]);
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
    [{ Env: 'QA' }, /Env: "QA" must match/],
    [{ Env: 'devops' }, /Env: "devops" is reserved/],
    [
      { Protected: 'yes' },
      /Protected: must be the string "true" or "false" \(the environment's protected flag\)/,
    ],
    [{ Protected: true }, /Protected: must be the string "true" or "false"/],
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

  test('without Protected (created before the property existed, or a rollback to such properties) main is kept and a sandpit dropped', async () => {
    const { Protected: _absent, ...old } = props({ Env: 'prod', Biome: 'main' });
    await onEvent({ RequestType: 'Delete', PhysicalResourceId: ID, ResourceProperties: old }, deps());
    expect(rds).not.toHaveReceivedCommand(ExecuteStatementCommand);
    const { Protected: _none, ...sandpit } = props();
    await onEvent({ RequestType: 'Delete', PhysicalResourceId: ID, ResourceProperties: sandpit }, deps());
    expect(rds).toHaveReceivedCommand(ExecuteStatementCommand);
  });

  test('an Update without Protected (a rollback to the properties of an older release) is not refused', async () => {
    const { Protected: _absent, ...old } = props();
    await expect(
      onEvent(
        {
          RequestType: 'Update',
          PhysicalResourceId: ID,
          OldResourceProperties: props(),
          ResourceProperties: old,
        },
        deps(),
      ),
    ).resolves.toMatchObject({ PhysicalResourceId: ID });
  });

  test('an environment by the grammar, not a fixed list, is accepted', async () => {
    await onEvent({ RequestType: 'Create', ResourceProperties: props({ Env: 'qa' }) }, deps());
    expect(rds).toHaveReceivedCommand(ExecuteStatementCommand);
  });

  test('the Protected property is named by PROPERTY.protected', () => {
    expect(PROPERTY.protected).toBe('Protected');
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
      ResourceProperties: props({ Env: 'prod', Biome: 'main', Protected: 'true' }),
    }),
  ).resolves.toEqual({ PhysicalResourceId: ID });
  await handler({ RequestType: 'Delete', PhysicalResourceId: ID, ResourceProperties: props() });
  expect(rds).toHaveReceivedCommandWith(ExecuteStatementCommand, {
    resourceArn: CLUSTER,
    secretArn: MASTER,
    database: 'postgres',
  });
});

describe('the shared provider of sandpits (stack fence)', () => {
  const fenced = (): Dependencies => ({ ...deps(), stackFence: { app: 'biomes', env: 'dev' } });
  const stackId = (name: string) => `arn:aws:cloudformation:eu-west-1:222222222222:stack/${name}/0a1b2c3d`;

  test("serves the sending stack's own biome", async () => {
    answer({});
    await expect(
      onEvent(
        { RequestType: 'Create', StackId: stackId('biomes-dev-alice-b'), ResourceProperties: props() },
        fenced(),
      ),
    ).resolves.toMatchObject({ PhysicalResourceId: ID });
  });

  test.each([
    ['another biome', 'biomes-dev-bob', {}],
    ['main', 'biomes-dev-main', { Biome: 'main' }],
    ['another environment', 'biomes-dev-alice-b', { Env: 'staging' }],
  ])('refuses a request for %s before any SQL, on Create and Delete', async (_what, stack, overrides) => {
    for (const request of [
      { RequestType: 'Create', StackId: stackId(stack), ResourceProperties: props(overrides) },
      {
        RequestType: 'Delete',
        PhysicalResourceId: ID,
        StackId: stackId(stack),
        ResourceProperties: props(overrides),
      },
    ]) {
      await expect(onEvent(request, fenced())).rejects.toThrow(/serves a sandpit stack's own database only/);
    }
    expect(rds).not.toHaveReceivedCommand(ExecuteStatementCommand);
  });

  test('refuses a request without a stack id', async () => {
    await expect(onEvent({ RequestType: 'Create', ResourceProperties: props() }, fenced())).rejects.toThrow(
      /stack \(none\)/,
    );
  });
});
