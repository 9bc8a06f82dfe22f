/** The recorder's settings, and the handler's wiring: one function, three inputs, told apart by shape. */
import { BatchWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import 'aws-sdk-client-mock-jest';
import { RECORDER_ENV as ENV } from '../../../lambda/sandpit-ledger/env';
import type * as HandlerModule from '../../../lambda/sandpit-ledger/handler';
import { settingsFromEnv } from '../../../lambda/sandpit-ledger/settings';
import { EnvScope } from '../../../lambda/shared/scope';
import { lambdaContext } from '../shared/lambda-context';
import {
  DEPLOYER_ROLE,
  INGEST_FN,
  biomeTags,
  deployEvent,
  functionArn,
  hotswapEvent,
  mocks,
  stackStatusEvent,
} from './fixtures';

const env = {
  [ENV.appName]: 'biomes',
  [ENV.envName]: 'dev',
  [ENV.ledgerTable]: 'ledger-table',
  [ENV.deployerRoleArn]: DEPLOYER_ROLE,
};

describe('settings', () => {
  test('builds the environment scope every name is derived from', () => {
    const s = settingsFromEnv(env);
    expect(s.scope).toBeInstanceOf(EnvScope);
    expect(s).toMatchObject({ ledgerTable: 'ledger-table', deployerRoleArn: DEPLOYER_ROLE });
    expect(s.scope.biome('alice').stackName).toBe('biomes-dev-alice');
  });

  test('a missing or bad variable fails the cold start, naming itself', () => {
    expect(() => settingsFromEnv({ ...env, [ENV.ledgerTable]: undefined })).toThrow(/BIOMES_LEDGER_TABLE/);
    expect(() => settingsFromEnv({ ...env, [ENV.envName]: 'Dev' })).toThrow(
      /BIOMES_ENV_NAME: "Dev" must match/,
    );
    expect(() => settingsFromEnv({ ...env, [ENV.deployerRoleArn]: 'biomes-dev-sandpit-deployer' })).toThrow(
      /BIOMES_SANDPIT_DEPLOYER_ROLE_ARN: must be an IAM role ARN/,
    );
  });
});

describe('handler wiring', () => {
  const saved = { ...process.env };
  afterEach(() => {
    process.env = { ...saved };
  });

  test('serves the custom resource and both EventBridge inputs from one function', async () => {
    Object.assign(process.env, env, { AWS_REGION: 'eu-west-1', POWERTOOLS_LOG_LEVEL: 'SILENT' });
    const m = mocks({ [functionArn(INGEST_FN)]: biomeTags('alice-b') });
    // Loaded after the environment is set: the handler reads it once, at module scope.
    const { handler } = jest.requireActual<typeof HandlerModule>('../../../lambda/sandpit-ledger/handler');
    try {
      expect(await handler(deployEvent('Create'), lambdaContext())).toMatchObject({
        PhysicalResourceId: 'sandpit-deploy-alice-b',
        Data: { ExpiresAt: expect.any(String) },
      });
      expect(m.ddb).toHaveReceivedCommandWith(BatchWriteCommand, {
        RequestItems: { 'ledger-table': expect.any(Array) },
      });
      expect(await handler(hotswapEvent(), lambdaContext())).toMatchObject({ action: 'hotswapped' });
      expect(m.ddb).toHaveReceivedCommandWith(UpdateCommand, { TableName: 'ledger-table' });
      expect(await handler(stackStatusEvent('UPDATE_COMPLETE'), lambdaContext())).toMatchObject({
        action: 'ignored',
      });
      expect(await handler(stackStatusEvent(), lambdaContext())).toMatchObject({ action: 'destroyed' });
      await expect(handler({ hello: 'world' }, lambdaContext())).rejects.toThrow(/Unknown event/);
    } finally {
      m.ddb.restore();
      m.lambda.restore();
    }
  });
});
