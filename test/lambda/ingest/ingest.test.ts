import {
  BadRequestException,
  DatabaseErrorException,
  DatabaseResumingException,
  ExecuteStatementCommand,
  RDSDataClient,
} from '@aws-sdk/client-rds-data';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { dataApi, isResuming } from '../../../lambda/shared/data-api';
import { INGEST_ERRORS } from '../../../lambda/ingest/errors';
import { handler as ingestHandler, smoke } from '../../../lambda/ingest/handler';
import { ingestSample } from '../../../lambda/ingest/ingest';
import { withRetry } from '../../../lambda/shared/retry';
import { SERVICE_ENV } from '../../../lambda/shared/settings';
import { captureLogs, lambdaContext } from '../shared/lambda-context';

const rds = mockClient(RDSDataClient);
const ENV = {
  [SERVICE_ENV.app]: 'biomes',
  [SERVICE_ENV.env]: 'dev',
  [SERVICE_ENV.biome]: 'alice',
  [SERVICE_ENV.dbClusterArn]: 'arn:aws:rds:eu-west-1:222222222222:cluster:shared',
  [SERVICE_ENV.dbSecretArn]: 'arn:aws:secretsmanager:eu-west-1:222222222222:secret:biome-alice',
  [SERVICE_ENV.dbName]: 'biome_alice',
};
const saved = { ...process.env };
let logs: ReturnType<typeof captureLogs>;
beforeAll(() => {
  Object.assign(process.env, ENV);
  logs = captureLogs();
});
afterAll(() => {
  logs.restore();
  process.env = saved;
});
beforeEach(() => rds.reset());

const handler = (event: unknown) => ingestHandler(event, lambdaContext());

const resuming = () => new DatabaseResumingException({ message: 'The database is resuming', $metadata: {} });
const fastDb = (attempts = 3) =>
  dataApi(
    { client: new RDSDataClient({}), clusterArn: 'cluster', secretArn: 'secret', database: 'biome_alice' },
    { retry: { attempts, baseDelayMs: 0, maxDelayMs: 0 } },
  );

describe('smoke check', () => {
  test('answers ok without touching the database (it must not wake a paused cluster)', async () => {
    await expect(handler({ smoke: true })).resolves.toEqual({ ok: true });
    expect(rds).not.toHaveReceivedAnyCommand();
  });

  test('reports missing configuration by variable name', () => {
    const result = smoke({ ...ENV, [SERVICE_ENV.dbSecretArn]: undefined });
    expect(result.ok).toBe(false);
    expect(result.detail).toMatch(/BIOMES_DB_SECRET_ARN.*redeploy the stack/);
  });
});

describe('ingest', () => {
  test('stores a valid sample through the Data API with bound parameters', async () => {
    rds.on(ExecuteStatementCommand).resolves({ numberOfRecordsUpdated: 1 });
    await expect(handler({ sampleId: 's-1', features: [1, 2.5] })).resolves.toEqual({
      sampleId: 's-1',
      status: 'inserted',
    });
    expect(rds).toHaveReceivedCommandTimes(ExecuteStatementCommand, 1);
    expect(rds).toHaveReceivedCommandWith(ExecuteStatementCommand, {
      resourceArn: ENV[SERVICE_ENV.dbClusterArn],
      secretArn: ENV[SERVICE_ENV.dbSecretArn],
      database: 'biome_alice',
      parameters: [
        { name: 'sample_id', value: { stringValue: 's-1' } },
        { name: 'features', value: { stringValue: '[1,2.5]' }, typeHint: 'JSON' },
      ],
    });
    const sql = rds.commandCalls(ExecuteStatementCommand)[0]?.args[0].input.sql ?? '';
    expect(sql).toMatch(
      /INSERT INTO samples \(sample_id, features\) VALUES \(:sample_id, CAST\(:features AS jsonb\)\)/,
    );
    expect(sql).not.toContain('s-1');
  });

  test.each([
    ['no features', { sampleId: 's-1' }, /features/],
    ['features not numbers', { sampleId: 's-1', features: ['a'] }, /features\.0/],
    ['empty features', { sampleId: 's-1', features: [] }, /features/],
    ['an SQL-ish id', { sampleId: "x'; DROP TABLE samples;--", features: [1] }, /sampleId: must be 1-128/],
    ['an unknown field', { sampleId: 's-1', features: [1], label: 3 }, /label/],
    ['not an object', 'hello', /\(record\)/],
  ])('refuses a record with %s, saying what to send, and stores nothing', async (_what, record, problem) => {
    const failure = handler(record);
    await expect(failure).rejects.toMatchObject({ name: INGEST_ERRORS.invalidSample });
    await expect(failure).rejects.toThrow(problem);
    await expect(failure).rejects.toThrow(/Send \{"sampleId": "<id>", "features": \[<number>, \.\.\.\]\}/);
    expect(rds).not.toHaveReceivedAnyCommand();
  });

  test('a resuming database is retried, then the sample is stored', async () => {
    rds.on(ExecuteStatementCommand).rejectsOnce(resuming()).resolves({ numberOfRecordsUpdated: 1 });
    await expect(handler({ sampleId: 's-2', features: [3] })).resolves.toMatchObject({ status: 'inserted' });
    expect(rds).toHaveReceivedCommandTimes(ExecuteStatementCommand, 2);
  });

  test('the same sample again is a no-op; other features under the same id are refused', async () => {
    rds
      .on(ExecuteStatementCommand)
      .resolvesOnce({ numberOfRecordsUpdated: 0 })
      .resolvesOnce({ records: [[{ booleanValue: true }]] })
      .resolvesOnce({ numberOfRecordsUpdated: 0 })
      .resolvesOnce({ records: [[{ booleanValue: false }]] });
    const db = fastDb();
    await expect(ingestSample(db, { sampleId: 's-1', features: [1] })).resolves.toEqual({
      sampleId: 's-1',
      status: 'already-present',
    });
    await expect(ingestSample(db, { sampleId: 's-1', features: [2] })).rejects.toMatchObject({
      name: INGEST_ERRORS.sampleConflict,
      message: expect.stringMatching(/never overwritten, use a new sampleId/),
    });
  });
});

describe('Data API', () => {
  test('gives up on a database that keeps resuming with a named, retryable error', async () => {
    rds.on(ExecuteStatementCommand).rejects(resuming());
    await expect(fastDb(3).statement('SELECT 1')).rejects.toMatchObject({
      name: INGEST_ERRORS.databaseResuming,
      message: expect.stringMatching(/biome_alice is still resuming.*retry in a minute/),
    });
    expect(rds).toHaveReceivedCommandTimes(ExecuteStatementCommand, 3);
  });

  test('does not retry other database errors', async () => {
    rds
      .on(ExecuteStatementCommand)
      .rejects(new DatabaseErrorException({ message: 'syntax error', $metadata: {} }));
    await expect(fastDb(3).statement('SELEC 1')).rejects.toThrow(/syntax error/);
    expect(rds).toHaveReceivedCommandTimes(ExecuteStatementCommand, 1);
  });

  test('recognizes the resuming answer of older Data API versions', () => {
    expect(isResuming(resuming())).toBe(true);
    expect(
      isResuming(new BadRequestException({ message: 'Communications link failure ...', $metadata: {} })),
    ).toBe(true);
    expect(
      isResuming(new BadRequestException({ message: 'relation "x" does not exist', $metadata: {} })),
    ).toBe(false);
    expect(isResuming('boom')).toBe(false);
  });

  test('backoff doubles and is capped', async () => {
    const waits: number[] = [];
    let calls = 0;
    await expect(
      withRetry(
        () => {
          calls++;
          return Promise.reject(new Error('x'));
        },
        () => true,
        {
          attempts: 5,
          baseDelayMs: 100,
          maxDelayMs: 300,
          sleep: (ms) => {
            waits.push(ms);
            return Promise.resolve();
          },
        },
      ),
    ).rejects.toThrow('x');
    expect(calls).toBe(5);
    expect(waits).toEqual([100, 200, 300, 300]);
  });
});
