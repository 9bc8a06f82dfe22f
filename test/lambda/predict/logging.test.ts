/**
 * What the predict handler logs: one line per request outcome, each carrying the commit, where the
 * service runs and the request id, and never a feature value. The handler is loaded after the
 * environment is set, as Lambda does (the logger is tagged at module scope).
 */
import { ExecuteStatementCommand, RDSDataClient } from '@aws-sdk/client-rds-data';
import { InvokeEndpointCommand, SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { PREDICT_MODEL } from '../../../lambda/predict/model';
import { modelPointerVariable, SERVICE_ENV } from '../../../lambda/shared/settings';
import { captureLogs, lambdaContext } from '../shared/lambda-context';

const rds = mockClient(RDSDataClient);
const sagemaker = mockClient(SageMakerRuntimeClient);
const ssm = mockClient(SSMClient);
const SHA = 'fedcba9876543210fedcba9876543210fedcba98';
const MODEL = `alice/demo-scorer-${SHA}.tar.gz`;
const ENV = {
  [SERVICE_ENV.app]: 'biomes',
  [SERVICE_ENV.env]: 'staging',
  [SERVICE_ENV.biome]: 'alice',
  [SERVICE_ENV.commitSha]: SHA,
  [SERVICE_ENV.dbClusterArn]: 'arn:aws:rds:eu-west-1:333333333333:cluster:shared',
  [SERVICE_ENV.dbSecretArn]: 'arn:aws:secretsmanager:eu-west-1:333333333333:secret:biome-alice',
  [SERVICE_ENV.dbName]: 'biome_alice',
  [SERVICE_ENV.endpointName]: 'biomes-staging-models',
  [modelPointerVariable(PREDICT_MODEL)]: '/biomes/staging/alice/model-pointers/demo-scorer',
};
/** Feature values no log line may contain. */
const SECRET_FEATURES = [0.5190357, 42.8641277];

type HandlerModule = typeof import('../../../lambda/predict/handler');
/** Loads the handler module now (it reads the environment at load, as in Lambda). */
const load = () => jest.requireActual<HandlerModule>('../../../lambda/predict/handler');
let handler: HandlerModule['handler'];
let logs: ReturnType<typeof captureLogs>;
const saved = { ...process.env };
beforeAll(() => {
  Object.assign(process.env, ENV);
  ({ handler } = load());
});
afterAll(() => {
  process.env = saved;
});
beforeEach(() => {
  rds.reset();
  sagemaker.reset();
  ssm.reset();
  ssm.on(GetParameterCommand).resolves({ Parameter: { Value: MODEL } });
  logs = captureLogs();
});
afterEach(() => logs.restore());

const WHERE = { commit: SHA, app: 'biomes', env: 'staging', biome: 'alice' };

test('a stored prediction: one info line with the commit, biome, env, app and request id, and no feature value', async () => {
  sagemaker.on(InvokeEndpointCommand).resolves({
    Body: new TextEncoder().encode(JSON.stringify({ predictions: [{ score: 0.25, label: 0 }] })) as never,
  });
  rds.on(ExecuteStatementCommand).resolves({ records: [[{ longValue: 7 }]] });
  await handler({ sampleId: 's-1', features: SECRET_FEATURES }, lambdaContext('req-predict-1'));
  const lines = logs.lines();
  expect(lines).toEqual([
    expect.objectContaining({
      level: 'INFO',
      message: 'prediction stored',
      service: 'predict',
      function_request_id: 'req-predict-1',
      sampleId: 's-1',
      model: MODEL,
      predictionId: 7,
      ...WHERE,
    }),
  ]);
  for (const value of SECRET_FEATURES) expect(JSON.stringify(lines)).not.toContain(String(value));
});

test('a refused request: one error line with the keys, and not the values it was sent', async () => {
  await expect(
    handler({ sampleId: 's-2', features: SECRET_FEATURES, note: 's3cr3t' }, lambdaContext('req-predict-2')),
  ).rejects.toMatchObject({ name: 'InvalidPredictRequest' });
  const lines = logs.lines();
  expect(lines).toEqual([
    expect.objectContaining({
      level: 'ERROR',
      message: 'predict failed',
      function_request_id: 'req-predict-2',
      error: expect.objectContaining({ name: 'InvalidPredictRequest' }),
      ...WHERE,
    }),
  ]);
  expect(JSON.stringify(lines)).not.toContain('s3cr3t');
  for (const value of SECRET_FEATURES) expect(JSON.stringify(lines)).not.toContain(String(value));
});

test('the smoke check: one line with the keys and the pointer it read', async () => {
  await handler({ smoke: true }, lambdaContext('req-predict-smoke'));
  expect(logs.lines()).toEqual([
    expect.objectContaining({
      level: 'INFO',
      message: 'smoke check passed',
      detail: `model pointer: ${MODEL}`,
      function_request_id: 'req-predict-smoke',
      ...WHERE,
    }),
  ]);
});
