/** The one Data API path (lambda/shared/data-api.ts) with a mocked RDS Data API client. */
import {
  BadRequestException,
  BeginTransactionCommand,
  CommitTransactionCommand,
  DatabaseErrorException,
  DatabaseResumingException,
  ExecuteStatementCommand,
  RDSDataClient,
  RollbackTransactionCommand,
} from '@aws-sdk/client-rds-data';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { dataApi, type DataApiOptions, isResuming, RESUME_RETRY } from '../../../lambda/shared/data-api';
import { DATABASE_RESUMING } from '../../../lambda/shared/service-error';

const rds = mockClient(RDSDataClient);
beforeEach(() => rds.reset());

const TARGET = {
  client: new RDSDataClient({}),
  clusterArn: 'arn:aws:rds:eu-west-1:222222222222:cluster:shared',
  secretArn: 'arn:aws:secretsmanager:eu-west-1:222222222222:secret:biome-alice',
  database: 'biome_alice',
};
const noWait = () => Promise.resolve();
const api = (options: DataApiOptions = {}) =>
  dataApi(TARGET, { ...options, retry: { sleep: noWait, ...options.retry } });

/** Every form of "the database is resuming" the Data API has answered with. */
const RESUMING_FORMS: readonly [string, Error][] = [
  [
    'DatabaseResumingException (current SDKs)',
    new DatabaseResumingException({ message: 'The Aurora DB instance db-1 is resuming', $metadata: {} }),
  ],
  [
    'BadRequestException saying it resumes',
    new BadRequestException({ message: 'Database is resuming after being auto-paused', $metadata: {} }),
  ],
  [
    'BadRequestException "Communications link failure" (Aurora Serverless v1)',
    new BadRequestException({
      message: 'Communications link failure\n\nThe last packet sent...',
      $metadata: {},
    }),
  ],
  ['any error whose message says "is resuming"', new Error('The database is resuming; try again')],
];

describe('isResuming: the one answer to "is the database resuming?"', () => {
  test.each(RESUMING_FORMS)('recognizes %s', (_form, error) => {
    expect(isResuming(error)).toBe(true);
  });

  test('recognizes a plain object with the name (not only Error instances)', () => {
    expect(isResuming({ name: 'DatabaseResumingException' })).toBe(true);
    expect(isResuming({ message: 'cluster is resuming' })).toBe(true);
  });

  test.each([
    ['a SQL error', new BadRequestException({ message: 'relation "x" does not exist', $metadata: {} })],
    ['a database error', new DatabaseErrorException({ message: 'syntax error at "SELEC"', $metadata: {} })],
    ['another error mentioning a resume loosely', new Error('resumed')],
    ['a string', 'is resuming'],
    ['null', null],
    ['undefined', undefined],
  ])('does not take %s for a resume', (_what, error) => {
    expect(isResuming(error)).toBe(false);
  });
});

describe('retries', () => {
  test.each(RESUMING_FORMS)('%s is retried, then the statement succeeds', async (_form, error) => {
    rds.on(ExecuteStatementCommand).rejectsOnce(error).resolves({ numberOfRecordsUpdated: 1 });
    await expect(api().statement('UPDATE t SET x = 1')).resolves.toMatchObject({ numberOfRecordsUpdated: 1 });
    expect(rds).toHaveReceivedCommandTimes(ExecuteStatementCommand, 2);
  });

  test('an error that is not a resume is thrown at once, not retried', async () => {
    const error = new DatabaseErrorException({ message: 'syntax error', $metadata: {} });
    rds.on(ExecuteStatementCommand).rejects(error);
    await expect(api().execute('SELEC 1')).rejects.toBe(error);
    expect(rds).toHaveReceivedCommandTimes(ExecuteStatementCommand, 1);
  });

  test('the default backoff waits about 50 s over 7 attempts (the services run for 60 s)', async () => {
    const waits: number[] = [];
    rds
      .on(ExecuteStatementCommand)
      .rejects(new DatabaseResumingException({ message: 'resuming', $metadata: {} }));
    await expect(
      api({
        retry: {
          sleep: (ms) => {
            waits.push(ms);
            return Promise.resolve();
          },
        },
      }).statement('SELECT 1'),
    ).rejects.toThrow();
    expect(RESUME_RETRY).toMatchObject({ attempts: 7, baseDelayMs: 1_000, maxDelayMs: 15_000 });
    expect(rds).toHaveReceivedCommandTimes(ExecuteStatementCommand, 7);
    expect(waits).toEqual([1000, 2000, 4000, 8000, 15000, 15000]);
  });

  test('still resuming after the last attempt: a named, retryable ServiceError by default', async () => {
    rds
      .on(ExecuteStatementCommand)
      .rejects(new DatabaseResumingException({ message: 'resuming', $metadata: {} }));
    await expect(api({ retry: { attempts: 2 } }).statement('SELECT 1')).rejects.toMatchObject({
      name: DATABASE_RESUMING,
      message: expect.stringMatching(/biome_alice is still resuming from auto-pause; retry in a minute/),
    });
    expect(rds).toHaveReceivedCommandTimes(ExecuteStatementCommand, 2);
  });

  test("still resuming with stillResuming 'rethrow': the Data API's own error", async () => {
    const error = new DatabaseResumingException({ message: 'resuming', $metadata: {} });
    rds.on(ExecuteStatementCommand).rejects(error);
    await expect(api({ retry: { attempts: 2 }, stillResuming: 'rethrow' }).execute('SELECT 1')).rejects.toBe(
      error,
    );
  });
});

describe('statements', () => {
  test('binds every parameter type the Data API has, and names the target', async () => {
    rds.on(ExecuteStatementCommand).resolves({});
    await api().statement('SELECT :s, :i, :d, :b, :n, :j', {
      s: 'text',
      i: 42,
      d: 2.5,
      b: true,
      n: null,
      j: { json: { features: [1, 2] } },
    });
    expect(rds).toHaveReceivedCommandWith(ExecuteStatementCommand, {
      resourceArn: TARGET.clusterArn,
      secretArn: TARGET.secretArn,
      database: 'biome_alice',
      parameters: [
        { name: 's', value: { stringValue: 'text' } },
        { name: 'i', value: { longValue: 42 } },
        { name: 'd', value: { doubleValue: 2.5 } },
        { name: 'b', value: { booleanValue: true } },
        { name: 'n', value: { isNull: true } },
        { name: 'j', value: { stringValue: '{"features":[1,2]}' }, typeHint: 'JSON' },
      ],
    });
  });

  test('statement answers as the Data API does (typed records); execute answers rows by column', async () => {
    rds
      .on(ExecuteStatementCommand, { formatRecordsAs: 'JSON' })
      .resolves({ formattedRecords: JSON.stringify([{ id: 42, same: true }]) });
    rds.on(ExecuteStatementCommand, { sql: 'INSERT' }).resolves({ records: [[{ longValue: 42 }]] });
    const out = await api().statement('INSERT');
    expect(out.records?.[0]?.[0]?.longValue).toBe(42);
    await expect(api().execute('SELECT')).resolves.toEqual([{ id: 42, same: true }]);
  });

  test('execute without formattedRecords is no rows; a non-array answer is refused', async () => {
    rds.on(ExecuteStatementCommand).resolvesOnce({}).resolves({ formattedRecords: '{"id": 1}' });
    await expect(api().execute('CREATE TABLE x (id int)')).resolves.toEqual([]);
    await expect(api().execute('SELECT 1')).rejects.toThrow(/not a JSON array of rows/);
  });

  test("a call's database overrides the target's", async () => {
    rds.on(ExecuteStatementCommand).resolves({});
    await api().execute('SELECT 1', undefined, 'postgres');
    expect(rds).toHaveReceivedCommandWith(ExecuteStatementCommand, { database: 'postgres' });
  });

  test('database DDL goes on after the call times out (as the Data API reference recommends); other statements do not', async () => {
    rds.on(ExecuteStatementCommand).resolves({});
    await api().execute('CREATE DATABASE "biome_alice"', undefined, 'postgres');
    await api().execute('  drop database if exists "biome_alice" WITH (FORCE)', undefined, 'postgres');
    await api().execute('SELECT 1 FROM pg_database', undefined, 'postgres');
    const inputs = rds.commandCalls(ExecuteStatementCommand).map((c) => c.args[0].input.continueAfterTimeout);
    expect(inputs).toEqual([true, true, undefined]);
  });
});

describe('transactions', () => {
  test('statements run in the transaction, which commits; a resuming BeginTransaction is retried', async () => {
    rds
      .on(BeginTransactionCommand)
      .rejectsOnce(new DatabaseResumingException({ message: 'resuming', $metadata: {} }))
      .resolves({ transactionId: 'tx-1' });
    rds.on(ExecuteStatementCommand).resolves({ formattedRecords: '[{"n":1}]' });
    rds.on(CommitTransactionCommand).resolves({});
    await expect(api().transaction('biome_alice', (tx) => tx.execute('SELECT 1 AS n'))).resolves.toEqual([
      { n: 1 },
    ]);
    expect(rds).toHaveReceivedCommandTimes(BeginTransactionCommand, 2);
    expect(rds).toHaveReceivedCommandWith(ExecuteStatementCommand, {
      transactionId: 'tx-1',
      database: 'biome_alice',
    });
    expect(rds).toHaveReceivedCommandWith(CommitTransactionCommand, { transactionId: 'tx-1' });
    expect(rds).not.toHaveReceivedCommand(RollbackTransactionCommand);
  });

  test('a failing statement rolls back (a failed rollback is ignored) and the error is thrown', async () => {
    rds.on(BeginTransactionCommand).resolves({ transactionId: 'tx-2' });
    rds.on(ExecuteStatementCommand).rejects(new Error('boom'));
    rds.on(RollbackTransactionCommand).rejects(new Error('gone'));
    await expect(api().transaction('biome_alice', (tx) => tx.execute('SELECT 1'))).rejects.toThrow(/^boom$/);
    expect(rds).toHaveReceivedCommandWith(RollbackTransactionCommand, { transactionId: 'tx-2' });
    expect(rds).not.toHaveReceivedCommand(CommitTransactionCommand);
  });
});
