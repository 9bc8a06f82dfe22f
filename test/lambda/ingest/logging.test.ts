/**
 * What the ingest handler logs: one line per request outcome, each carrying the commit, where the
 * service runs and the request id, and never a feature value. The handler is loaded after the
 * environment is set, as Lambda does (the logger is tagged at module scope).
 */
import { DatabaseErrorException, ExecuteStatementCommand, RDSDataClient } from '@aws-sdk/client-rds-data';
import { mockClient } from 'aws-sdk-client-mock';
import { SERVICE_ENV } from '../../../lambda/shared/settings';
import { captureLogs, lambdaContext } from '../shared/lambda-context';

const rds = mockClient(RDSDataClient);
const SHA = '0123456789abcdef0123456789abcdef01234567';
const ENV = {
  [SERVICE_ENV.app]: 'biomes',
  [SERVICE_ENV.env]: 'dev',
  [SERVICE_ENV.biome]: 'alice',
  [SERVICE_ENV.commitSha]: SHA,
  [SERVICE_ENV.dbClusterArn]: 'arn:aws:rds:eu-west-1:222222222222:cluster:shared',
  [SERVICE_ENV.dbSecretArn]: 'arn:aws:secretsmanager:eu-west-1:222222222222:secret:biome-alice',
  [SERVICE_ENV.dbName]: 'biome_alice',
};
/** Feature values no log line may contain. */
const SECRET_FEATURES = [0.7305182, 91.2843311];

type HandlerModule = typeof import('../../../lambda/ingest/handler');
type Handler = HandlerModule['handler'];
/** Loads the handler module now (it reads the environment at load, as in Lambda). */
const load = () => jest.requireActual<HandlerModule>('../../../lambda/ingest/handler');
let handler: Handler;
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
  logs = captureLogs();
});
afterEach(() => logs.restore());

const WHERE = { commit: SHA, app: 'biomes', env: 'dev', biome: 'alice' };

test('a stored sample: one info line with the commit, biome, env, app and request id, and no feature value', async () => {
  rds.on(ExecuteStatementCommand).resolves({ numberOfRecordsUpdated: 1 });
  await handler({ sampleId: 's-1', features: SECRET_FEATURES }, lambdaContext('req-ingest-1'));
  const lines = logs.lines();
  expect(lines).toEqual([
    expect.objectContaining({
      level: 'INFO',
      message: 'sample ingested',
      service: 'ingest',
      function_request_id: 'req-ingest-1',
      sampleId: 's-1',
      status: 'inserted',
      ...WHERE,
    }),
  ]);
  for (const value of SECRET_FEATURES) expect(JSON.stringify(lines)).not.toContain(String(value));
});

test('a refused sample: one error line with the keys, and not the values it was sent', async () => {
  await expect(
    handler(
      { sampleId: 's-2', features: ['s3cr3t-feature', ...SECRET_FEATURES], extra: 1 },
      lambdaContext('req-ingest-2'),
    ),
  ).rejects.toMatchObject({ name: 'InvalidSample' });
  const lines = logs.lines();
  expect(lines).toEqual([
    expect.objectContaining({
      level: 'ERROR',
      message: 'ingest failed',
      function_request_id: 'req-ingest-2',
      error: expect.objectContaining({ name: 'InvalidSample' }),
      ...WHERE,
    }),
  ]);
  expect(JSON.stringify(lines)).not.toContain('s3cr3t-feature');
  for (const value of SECRET_FEATURES) expect(JSON.stringify(lines)).not.toContain(String(value));
});

test('a database failure: one error line naming the error', async () => {
  rds
    .on(ExecuteStatementCommand)
    .rejects(new DatabaseErrorException({ message: 'permission denied', $metadata: {} }));
  await expect(handler({ sampleId: 's-3', features: [1] }, lambdaContext('req-ingest-3'))).rejects.toThrow(
    /permission denied/,
  );
  expect(logs.lines()).toEqual([
    expect.objectContaining({
      level: 'ERROR',
      function_request_id: 'req-ingest-3',
      error: expect.objectContaining({ name: 'DatabaseErrorException', message: 'permission denied' }),
      ...WHERE,
    }),
  ]);
});

test('the smoke check: one line with the keys, and each request carries its own request id', async () => {
  await handler({ smoke: true }, lambdaContext('req-smoke-1'));
  await handler({ smoke: true }, lambdaContext('req-smoke-2'));
  expect(logs.lines()).toEqual([
    expect.objectContaining({ message: 'smoke check passed', function_request_id: 'req-smoke-1', ...WHERE }),
    expect.objectContaining({ message: 'smoke check passed', function_request_id: 'req-smoke-2', ...WHERE }),
  ]);
});

test('without BIOMES_COMMIT_SHA (code CDK deployed) the commit is "unknown"', async () => {
  delete process.env[SERVICE_ENV.commitSha];
  let fresh: Handler | undefined;
  jest.isolateModules(() => {
    ({ handler: fresh } = load());
  });
  await fresh?.({ smoke: true }, lambdaContext('req-smoke-3'));
  expect(logs.lines()).toEqual([
    expect.objectContaining({ commit: 'unknown', biome: 'alice', function_request_id: 'req-smoke-3' }),
  ]);
});
