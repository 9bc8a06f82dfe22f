import { ExecuteStatementCommand, RDSDataClient } from '@aws-sdk/client-rds-data';
import {
  InvokeEndpointCommand,
  ModelNotReadyException,
  SageMakerRuntimeClient,
  ValidationError,
} from '@aws-sdk/client-sagemaker-runtime';
import { GetParameterCommand, ParameterNotFound, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { PREDICT_ERRORS } from '../../../lambda/predict/errors';
import { handler as predictHandler } from '../../../lambda/predict/handler';
import { PREDICT_MODEL } from '../../../lambda/predict/model';
import { PointerCache } from '../../../lambda/predict/pointer';
import { predict, type PredictDeps } from '../../../lambda/predict/predict';
import { dataApi } from '../../../lambda/shared/data-api';
import { modelPointerVariable, SERVICE_ENV } from '../../../lambda/shared/settings';
import { captureLogs, lambdaContext } from '../shared/lambda-context';

const rds = mockClient(RDSDataClient);
const sagemaker = mockClient(SageMakerRuntimeClient);
const ssm = mockClient(SSMClient);

const POINTER = '/biomes/dev/alice/model-pointers/demo-scorer';
const MODEL = 'alice/demo-scorer-0123456789abcdef0123456789abcdef01234567.tar.gz';
const ENV = {
  [SERVICE_ENV.app]: 'biomes',
  [SERVICE_ENV.env]: 'dev',
  [SERVICE_ENV.biome]: 'alice',
  [SERVICE_ENV.dbClusterArn]: 'arn:aws:rds:eu-west-1:222222222222:cluster:shared',
  [SERVICE_ENV.dbSecretArn]: 'arn:aws:secretsmanager:eu-west-1:222222222222:secret:biome-alice',
  [SERVICE_ENV.dbName]: 'biome_alice',
  [SERVICE_ENV.endpointName]: 'biomes-dev-mme',
  [modelPointerVariable(PREDICT_MODEL)]: POINTER,
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

const handler = (event: unknown) => predictHandler(event, lambdaContext());
beforeEach(() => {
  rds.reset();
  sagemaker.reset();
  ssm.reset();
});

const body = (value: unknown) => new TextEncoder().encode(JSON.stringify(value)) as never;
const pointerIs = (value: string) => ssm.on(GetParameterCommand).resolves({ Parameter: { Value: value } });

/** The handler's dependencies with fresh state (no cached pointer) and no real waiting. */
function deps(now: () => number = Date.now): PredictDeps {
  return {
    biome: 'alice',
    db: dataApi(
      { client: new RDSDataClient({}), clusterArn: 'cluster', secretArn: 'secret', database: 'biome_alice' },
      { retry: { attempts: 2, baseDelayMs: 0, maxDelayMs: 0 } },
    ),
    endpoint: {
      client: new SageMakerRuntimeClient({}),
      endpointName: 'biomes-dev-mme',
      retry: { attempts: 3, baseDelayMs: 0, maxDelayMs: 0 },
    },
    pointer: new PointerCache(new SSMClient({}), POINTER, now),
  };
}

describe('a TargetModel that is not canonical is never sent to the endpoint', () => {
  test.each([
    [
      'a path that climbs out of the biome',
      'alice/../bob7/demo-scorer-0123456789abcdef0123456789abcdef01234567.tar.gz',
    ],
    ["another biome's model", 'bob7/demo-scorer-0123456789abcdef0123456789abcdef01234567.tar.gz'],
    ['a short SHA', 'alice/demo-scorer-abc.tar.gz'],
    ['a nested path', 'alice/x/demo-scorer-0123456789abcdef0123456789abcdef01234567.tar.gz'],
  ])('%s is refused before any endpoint call', async (_what, pointer) => {
    pointerIs(pointer);
    await expect(predict(deps(), { sampleId: 's-1', features: [1, 2] })).rejects.toMatchObject({
      name: 'InvalidModelPointer',
      message: expect.stringMatching(/refuses to send: TargetModel/),
    });
    expect(sagemaker).not.toHaveReceivedAnyCommand();
    expect(rds).not.toHaveReceivedAnyCommand();
  });
});

describe('handler', () => {
  test('smoke: reads the pointer but neither calls the endpoint nor touches the database', async () => {
    pointerIs('none');
    await expect(handler({ smoke: true })).resolves.toMatchObject({ ok: true });
    expect(ssm).toHaveReceivedCommandWith(GetParameterCommand, { Name: POINTER });
    expect(sagemaker).not.toHaveReceivedAnyCommand();
    expect(rds).not.toHaveReceivedAnyCommand();
  });

  test('smoke: fails with the reason when the pointer cannot be read', async () => {
    ssm.on(GetParameterCommand).rejects(new ParameterNotFound({ message: 'not found', $metadata: {} }));
    await expect(handler({ smoke: true })).resolves.toEqual({
      ok: false,
      detail: expect.stringMatching(/model-pointers\/demo-scorer does not exist/),
    });
  });

  test('scores a sample with the live model and stores the prediction', async () => {
    pointerIs(MODEL);
    sagemaker
      .on(InvokeEndpointCommand)
      .resolves({ Body: body({ predictions: [{ score: 0.75, label: 1 }] }) });
    rds.on(ExecuteStatementCommand).resolves({ records: [[{ longValue: 42 }]] });
    await expect(handler({ sampleId: 's-1', features: [1, 2] })).resolves.toEqual({
      sampleId: 's-1',
      model: MODEL,
      prediction: 0.75,
      label: 1,
      predictionId: 42,
    });
    expect(sagemaker).toHaveReceivedCommandWith(InvokeEndpointCommand, {
      EndpointName: 'biomes-dev-mme',
      TargetModel: MODEL,
      ContentType: 'application/json',
    });
    const sent = sagemaker.commandCalls(InvokeEndpointCommand)[0]?.args[0].input.Body as Uint8Array;
    expect(JSON.parse(new TextDecoder().decode(sent))).toEqual({ instances: [[1, 2]] });
    expect(rds).toHaveReceivedCommandWith(ExecuteStatementCommand, {
      database: 'biome_alice',
      parameters: [
        { name: 'sample_id', value: { stringValue: 's-1' } },
        { name: 'model', value: { stringValue: MODEL } },
        { name: 'result', value: { stringValue: '{"prediction":0.75,"label":1}' }, typeHint: 'JSON' },
        // Code CDK deployed has no commit variable: stored as NULL (the deploy trigger sets it).
        { name: 'service_commit', value: { isNull: true } },
      ],
    });
  });

  test.each([
    ['no features', { sampleId: 's-1' }],
    ['string features', { sampleId: 's-1', features: 'x' }],
    ['an unknown field', { sampleId: 's-1', features: [1], ingest: {} }],
  ])('refuses a request with %s and calls nothing', async (_what, request) => {
    await expect(handler(request)).rejects.toMatchObject({
      name: PREDICT_ERRORS.invalidRequest,
      message: expect.stringMatching(/Send \{"sampleId"/),
    });
    expect(sagemaker).not.toHaveReceivedAnyCommand();
    expect(rds).not.toHaveReceivedAnyCommand();
  });
});

describe('model pointer', () => {
  test('refuses clearly while no model is live (pointer "none")', async () => {
    pointerIs('none');
    await expect(predict(deps(), { sampleId: 's-1', features: [1] })).rejects.toMatchObject({
      name: PREDICT_ERRORS.noModel,
      message: expect.stringMatching(/No model is live.*"none".*publish one/),
    });
    expect(sagemaker).not.toHaveReceivedAnyCommand();
  });

  test('refuses clearly when the pointer parameter is missing', async () => {
    ssm.on(GetParameterCommand).rejects(new ParameterNotFound({ message: 'not found', $metadata: {} }));
    await expect(predict(deps(), { sampleId: 's-1', features: [1] })).rejects.toMatchObject({
      name: PREDICT_ERRORS.noModel,
      message: expect.stringMatching(/does not exist: deploy the biome stack/),
    });
  });

  test('is cached briefly, then read again so a new model goes live', async () => {
    let now = 1_000;
    const cache = new PointerCache(new SSMClient({}), POINTER, () => now);
    ssm
      .on(GetParameterCommand)
      .resolvesOnce({ Parameter: { Value: 'a' } })
      .resolves({ Parameter: { Value: 'b' } });
    await expect(cache.targetModel()).resolves.toBe('a');
    now += 29_000;
    await expect(cache.targetModel()).resolves.toBe('a');
    expect(ssm).toHaveReceivedCommandTimes(GetParameterCommand, 1);
    now += 2_000;
    await expect(cache.targetModel()).resolves.toBe('b');
  });
});

describe('endpoint', () => {
  test('a model still loading is retried, then scored', async () => {
    pointerIs(MODEL);
    sagemaker
      .on(InvokeEndpointCommand)
      .rejectsOnce(new ModelNotReadyException({ message: 'loading', $metadata: {} }))
      .resolves({ Body: body({ predictions: [{ score: 1, label: 1 }] }) });
    rds.on(ExecuteStatementCommand).resolves({ records: [[{ longValue: 1 }]] });
    await expect(predict(deps(), { sampleId: 's-1', features: [1] })).resolves.toMatchObject({
      prediction: 1,
    });
    expect(sagemaker).toHaveReceivedCommandTimes(InvokeEndpointCommand, 2);
  });

  test('a model that never loads gives a named, retryable error and stores nothing', async () => {
    pointerIs(MODEL);
    sagemaker
      .on(InvokeEndpointCommand)
      .rejects(new ModelNotReadyException({ message: 'loading', $metadata: {} }));
    await expect(predict(deps(), { sampleId: 's-1', features: [1] })).rejects.toMatchObject({
      name: PREDICT_ERRORS.modelNotReady,
    });
    expect(sagemaker).toHaveReceivedCommandTimes(InvokeEndpointCommand, 3);
    expect(rds).not.toHaveReceivedAnyCommand();
  });

  test('an endpoint error is reported with its cause, not retried, and stores nothing', async () => {
    pointerIs(MODEL);
    sagemaker
      .on(InvokeEndpointCommand)
      .rejects(new ValidationError({ message: 'Could not find model', $metadata: {} }));
    await expect(predict(deps(), { sampleId: 's-1', features: [1] })).rejects.toMatchObject({
      name: PREDICT_ERRORS.endpointFailed,
      message: expect.stringMatching(/refused model .*ValidationError: Could not find model/),
    });
    expect(sagemaker).toHaveReceivedCommandTimes(InvokeEndpointCommand, 1);
    expect(rds).not.toHaveReceivedAnyCommand();
  });

  test('an answer off the model contract is refused, pointing at models/README.md', async () => {
    pointerIs(MODEL);
    sagemaker.on(InvokeEndpointCommand).resolves({ Body: body({ score: 1 }) });
    await expect(predict(deps(), { sampleId: 's-1', features: [1] })).rejects.toMatchObject({
      name: PREDICT_ERRORS.endpointFailed,
      message: expect.stringMatching(/not \{"predictions": \[\{"score".*models\/README\.md/),
    });
    expect(rds).not.toHaveReceivedAnyCommand();
  });
});

describe('while inference sleeps (environments.<env>.inference.schedule)', () => {
  const STATE = '/biomes/dev/shared/inference/state';
  const missing = new ValidationError({
    message: 'Endpoint biomes-dev-mme of account 222222222222 not found.',
    $metadata: {},
  });
  const stateIs = (value: Record<string, unknown> | undefined) => {
    ssm.on(GetParameterCommand, { Name: POINTER }).resolves({ Parameter: { Value: MODEL } });
    if (value)
      ssm.on(GetParameterCommand, { Name: STATE }).resolves({ Parameter: { Value: JSON.stringify(value) } });
    else
      ssm
        .on(GetParameterCommand, { Name: STATE })
        .rejects(new ParameterNotFound({ message: 'no', $metadata: {} }));
  };

  test('the handler says until when it sleeps and how to wake it, and stores nothing', async () => {
    stateIs({
      state: 'asleep',
      since: '2026-12-04T19:00:00Z',
      endpointConfigName: 'cfg',
      wakesAt: '2026-12-07T07:00:00Z',
    });
    sagemaker.on(InvokeEndpointCommand).rejects(missing);
    await expect(handler({ sampleId: 's-1', features: [1, 2, 3] })).rejects.toMatchObject({
      name: PREDICT_ERRORS.inferenceAsleep,
      message:
        'inference is asleep until 2026-12-07T07:00:00.000Z; run `npm run wake -- --env dev` to wake it',
    });
    expect(ssm).toHaveReceivedCommandWith(GetParameterCommand, { Name: STATE });
    expect(rds).not.toHaveReceivedAnyCommand();
  });

  test('waking: retry in minutes', async () => {
    stateIs({ state: 'waking', since: '2026-12-07T07:00:00Z', endpointConfigName: 'cfg' });
    sagemaker.on(InvokeEndpointCommand).rejects(missing);
    await expect(handler({ sampleId: 's-1', features: [1, 2, 3] })).rejects.toMatchObject({
      name: PREDICT_ERRORS.inferenceAsleep,
      message: expect.stringMatching(/^inference is waking up \(since 2026-12-07T07:00:00Z\); .*retry then$/),
    });
  });

  test.each([
    ['no state (an environment without a schedule)', undefined],
    ['a state that says awake', { state: 'awake', since: '2026-12-07T07:10:00Z', endpointConfigName: 'cfg' }],
  ])('a missing endpoint with %s is a fault, reported as one', async (_why, state) => {
    stateIs(state);
    sagemaker.on(InvokeEndpointCommand).rejects(missing);
    await expect(handler({ sampleId: 's-1', features: [1, 2, 3] })).rejects.toMatchObject({
      name: PREDICT_ERRORS.endpointFailed,
      message: expect.stringMatching(/of account 222222222222 not found/),
    });
  });
});
