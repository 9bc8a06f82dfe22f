/** The model-retrain function's settings and its handler's wiring. */
import { PutObjectCommand } from '@aws-sdk/client-s3';
import 'aws-sdk-client-mock-jest';
import type * as HandlerModule from '../../../lambda/model-retrain/handler';
import { RETRAIN_ENV as ENV } from '../../../lambda/model-retrain/env';
import { RETRAIN_ERRORS } from '../../../lambda/model-retrain/errors';
import { settingsFromEnv } from '../../../lambda/model-retrain/settings';
import { BiomeScope } from '../../../lambda/shared/scope';
import { captureLogs, lambdaContext } from '../shared/lambda-context';
import {
  COMMIT,
  ENVIRONMENT,
  JOB_NAME,
  LANDING_BUCKET,
  LANDING_KEY_ARN,
  LIVE_KEY,
  MODEL,
  MODEL_BUCKET,
  mockWorld,
} from './fixtures';

describe('settings', () => {
  test('parses every variable', () => {
    const settings = settingsFromEnv(ENVIRONMENT);
    expect(settings).toEqual({
      scope: new BiomeScope('biomes', 'dev', 'alice'),
      models: ['demo-scorer', 'churn'],
      modelBucket: MODEL_BUCKET,
      modelPrefix: 'models/',
      landingBucket: LANDING_BUCKET,
      landingKeyArn: LANDING_KEY_ARN,
    });
  });

  test.each(Object.values(ENV))('a missing %s fails the cold start, naming it', (variable) => {
    expect(() => settingsFromEnv({ ...ENVIRONMENT, [variable]: undefined })).toThrow(
      new RegExp(
        `^model-retrain environment is invalid \\(.*${variable}: .*\\); redeploy the biome stack\\.$`,
      ),
    );
  });

  test.each<[string, string, RegExp]>([
    [ENV.biome, 'Alice', /BIOMES_BIOME: "Alice" must match/],
    [ENV.models, '', /BIOMES_MODELS: must name at least one model/],
    [ENV.models, 'demo-scorer,Bad_Name', /BIOMES_MODELS: model name "Bad_Name" must match/],
    [ENV.models, 'a1,a1', /BIOMES_MODELS: must not name a model twice/],
    [ENV.modelPrefix, 'models', /BIOMES_MODEL_PREFIX: must be empty or end in "\/"/],
    [ENV.landingKeyArn, 'alias/biomes-dev-landing', /BIOMES_LANDING_KEY_ARN: must be a KMS key ARN/],
  ])('a bad %s (%j) names the variable and the rule', (variable, value, message) => {
    expect(() => settingsFromEnv({ ...ENVIRONMENT, [variable]: value })).toThrow(message);
  });
});

describe('handler wiring', () => {
  const saved = { ...process.env };
  let handler: typeof HandlerModule.handler;
  let logs: ReturnType<typeof captureLogs>;
  beforeAll(() => {
    Object.assign(process.env, ENVIRONMENT, { AWS_REGION: 'eu-west-1', POWERTOOLS_LOG_LEVEL: 'INFO' });
    // Loaded after the environment is set: the handler reads it once, at module scope.
    ({ handler } = jest.requireActual<typeof HandlerModule>('../../../lambda/model-retrain/handler'));
  });
  beforeEach(() => {
    logs = captureLogs();
  });
  afterEach(() => logs.restore());
  afterAll(() => {
    process.env = { ...saved };
  });

  test('prepare, then deliver, with the clients it built', async () => {
    const mocks = mockWorld();
    jest.useFakeTimers({
      now: new Date(Date.UTC(2025, 2, 1, 12, 0, 0)),
      doNotFake: ['nextTick', 'setImmediate', 'setTimeout', 'setInterval', 'queueMicrotask'],
    });
    try {
      const prepared = await handler({ action: 'prepare', input: { model: MODEL } }, lambdaContext('req-1'));
      expect(prepared).toMatchObject({ model: MODEL, commit: COMMIT, jobName: JOB_NAME, liveKey: LIVE_KEY });
      const delivered = await handler(
        { action: 'deliver', prepared, execution: 'retrain-exec-1' },
        lambdaContext('req-2'),
      );
      expect(delivered).toMatchObject({
        key: expect.stringMatching(/^alice\/demo-scorer-[0-9a-f]{40}\.tar\.gz$/),
      });
      expect(mocks.s3).toHaveReceivedCommandWith(PutObjectCommand, {
        Bucket: LANDING_BUCKET,
        IfNoneMatch: '*',
      });
      expect(logs.lines().map((l) => l.message)).toEqual(['prepared', 'delivered']);
      expect(logs.lines()[1]).toMatchObject({
        biome: 'alice',
        service: 'model-retrain',
        function_request_id: 'req-2',
      });
    } finally {
      jest.useRealTimers();
      mocks.restore();
    }
  });

  test('an event the workflow does not send is BadInput', async () => {
    await expect(handler({ action: 'train' }, lambdaContext())).rejects.toMatchObject({
      name: RETRAIN_ERRORS.badInput,
      message: expect.stringMatching(/^not an event of the train workflow \(/),
    });
  });

  test('a refusal is logged as a warning with its name and thrown as it is', async () => {
    const mocks = mockWorld({ pointer: 'none' });
    try {
      await expect(
        handler({ action: 'prepare', input: { model: MODEL } }, lambdaContext()),
      ).rejects.toMatchObject({
        name: RETRAIN_ERRORS.noLiveModel,
      });
      expect(logs.lines()).toEqual([
        expect.objectContaining({ level: 'WARN', error: RETRAIN_ERRORS.noLiveModel }),
      ]);
    } finally {
      mocks.restore();
    }
  });
});
