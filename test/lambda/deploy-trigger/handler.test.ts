import { PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import 'aws-sdk-client-mock-jest';
import type { Context } from 'aws-lambda';
import type * as HandlerModule from '../../../lambda/deploy-trigger/handler';
import { DEPLOY_TRIGGER_ENV as ENV } from '../../../lambda/deploy-trigger/env';
import { settingsFromEnv } from '../../../lambda/deploy-trigger/settings';
import { EnvScope } from '../../../lambda/shared/scope';
import { mocks, s3Event } from './fakes';

const env = {
  [ENV.appName]: 'biomes',
  [ENV.envName]: 'dev',
  [ENV.landingBucket]: 'landing',
  [ENV.ledgerTable]: 'ledger-table',
  [ENV.modelBucket]: 'model-bucket',
  [ENV.modelPrefix]: 'models/',
  [ENV.endpointName]: 'mme',
};

describe('settings', () => {
  test('defaults the limits and the lease', () => {
    expect(settingsFromEnv(env)).toMatchObject({
      ledgerTable: 'ledger-table',
      maxServiceBytes: 250 * 1024 * 1024,
      maxModelBytes: 5 * 1024 * 1024 * 1024,
      leaseSeconds: 960,
    });
    expect(settingsFromEnv({ ...env, [ENV.maxModelBytes]: '1000' }).maxModelBytes).toBe(1000);
  });

  test('builds the one environment scope every name is derived from', () => {
    const { scope } = settingsFromEnv(env);
    expect(scope).toBeInstanceOf(EnvScope);
    expect(scope).toMatchObject({ app: 'biomes', env: 'dev', parameterRoot: '/biomes/dev' });
    expect(scope.biome('main').serviceRegistration('ingest')).toBe('/biomes/dev/main/services/ingest');
  });

  test('an environment name off the grammar fails the cold start, naming the variable', () => {
    expect(() => settingsFromEnv({ ...env, [ENV.envName]: 'Dev' })).toThrow(
      /BIOMES_ENV_NAME: "Dev" must match/,
    );
    expect(() => settingsFromEnv({ ...env, [ENV.envName]: 'shared' })).toThrow(
      /BIOMES_ENV_NAME: "shared" is reserved/,
    );
    expect(() => settingsFromEnv({ ...env, [ENV.envName]: undefined })).toThrow(/BIOMES_ENV_NAME/);
  });

  test('a missing or bad variable names itself', () => {
    expect(() => settingsFromEnv({ ...env, [ENV.ledgerTable]: undefined })).toThrow(/BIOMES_LEDGER_TABLE/);
    expect(() => settingsFromEnv({ ...env, [ENV.modelPrefix]: 'models' })).toThrow(
      /BIOMES_MODEL_PREFIX: must be empty or end in "\/"/,
    );
    expect(() => settingsFromEnv({ ...env, [ENV.maxServiceBytes]: '-5' })).toThrow(
      /BIOMES_MAX_SERVICE_BYTES/,
    );
  });
});

describe('handler wiring', () => {
  const saved = { ...process.env };
  afterEach(() => {
    process.env = { ...saved };
  });

  test('reads its settings from the environment and records to the configured table', async () => {
    Object.assign(process.env, env, { AWS_REGION: 'eu-west-1', POWERTOOLS_LOG_LEVEL: 'SILENT' });
    const m = mocks();
    // Required after the environment is set: the handler reads it once, at module scope (this file's only import of it).
    // Loaded after the environment is set: the handler reads it once, at module scope.
    const { handler } = jest.requireActual<typeof HandlerModule>('../../../lambda/deploy-trigger/handler');
    const context: Context = {
      callbackWaitsForEmptyEventLoop: true,
      functionName: 'trigger',
      functionVersion: '$LATEST',
      invokedFunctionArn: 'arn:aws:lambda:eu-west-1:222222222222:function:trigger',
      memoryLimitInMB: '512',
      awsRequestId: 'req-1',
      logGroupName: '/aws/lambda/trigger',
      logStreamName: 'stream',
      getRemainingTimeInMillis: () => 600_000,
      done: () => undefined,
      fail: () => undefined,
      succeed: () => undefined,
    };
    const outcome = await handler(s3Event('main/not-a-key.zip'), context);
    expect(outcome).toMatchObject({ status: 'rejected', eventId: 'event-1' });
    expect(m.ddb).toHaveReceivedCommandWith(PutCommand, { TableName: 'ledger-table' });
    expect(m.ddb).not.toHaveReceivedCommand(UpdateCommand);
    m.ddb.restore();
  });
});
