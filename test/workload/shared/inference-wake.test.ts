/** `npm run wake`: what it invokes, and what it refuses (lib/workload/shared/inference-wake.ts). */
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { REPO_ROOT } from '../../../lib/repo';
import { cdkPackagesAmong, packagesLoadedBy, runTs } from '../../fixtures/scripts';
import { describeWake, WakeError, wakeInference } from '../../../lib/workload/shared/inference-wake';
import { testConfig } from '../../fixtures/config';

const lambda = mockClient(LambdaClient);
beforeEach(() => lambda.reset());
// The SDK wraps the payload in a Uint8ArrayBlobAdapter; wakeInference reads it as bytes.
const payload = (value: unknown) => new TextEncoder().encode(JSON.stringify(value)) as never;
const config = testConfig();

test("invokes the environment's endpoint owner with {action: wake} and says until when it is awake", async () => {
  lambda
    .on(InvokeCommand)
    .resolves({ Payload: payload({ state: 'waking', until: '2026-12-05T05:00:00.000Z' }) });
  const result = await wakeInference(new LambdaClient({}), config, 'dev');
  expect(lambda).toHaveReceivedCommandWith(InvokeCommand, {
    FunctionName: 'biomes-dev-shared-inference-endpoint',
  });
  const sent = lambda.commandCalls(InvokeCommand)[0]!.args[0].input.Payload as Uint8Array;
  expect(JSON.parse(new TextDecoder().decode(sent))).toEqual({ action: 'wake' });
  expect(describeWake('dev', result)).toBe(
    'dev inference: waking (an endpoint takes about 10 minutes to start); awake until 2026-12-05T05:00:00.000Z',
  );
});

test('--status only asks', async () => {
  lambda.on(InvokeCommand).resolves({ Payload: payload({ state: { state: 'asleep' } }) });
  const result = await wakeInference(new LambdaClient({}), config, 'staging', 'status');
  const sent = lambda.commandCalls(InvokeCommand)[0]!.args[0].input.Payload as Uint8Array;
  expect(JSON.parse(new TextDecoder().decode(sent))).toEqual({ action: 'status' });
  expect(describeWake('staging', result)).toBe('staging inference: asleep');
});

test.each([
  ['an environment that is always on', 'prod', /environment prod has no inference\.schedule .*always on/],
  ['an unknown environment', 'qa', /qa/],
])('refuses %s without invoking anything', async (_why, env, message) => {
  await expect(wakeInference(new LambdaClient({}), config, env)).rejects.toThrow(message);
  expect(lambda).not.toHaveReceivedAnyCommand();
});

test('a function error or a refused invoke is told with what to do', async () => {
  lambda
    .on(InvokeCommand)
    .resolves({ FunctionError: 'Unhandled', Payload: payload({ errorMessage: 'boom' }) });
  await expect(wakeInference(new LambdaClient({}), config, 'dev')).rejects.toThrow(
    /biomes-dev-shared-inference-endpoint failed: .*boom/,
  );
  lambda
    .on(InvokeCommand)
    .rejects(Object.assign(new Error('not allowed'), { name: 'AccessDeniedException' }));
  await expect(wakeInference(new LambdaClient({}), config, 'dev')).rejects.toThrow(WakeError);
  await expect(wakeInference(new LambdaClient({}), config, 'dev')).rejects.toThrow(
    /AccessDeniedException: not allowed; use credentials of that account allowed lambda:InvokeFunction/,
  );
});

test('the CLI refuses a missing --env with its usage', () => {
  const run = runTs('scripts/wake.ts', [], { cwd: REPO_ROOT });
  expect(run.status).toBe(2);
  expect(run.stderr).toMatch(/--env is required\nusage: npm run wake -- --env <environment>/);
});

test('npm run wake loads no CDK library', () => {
  const packages = packagesLoadedBy('scripts/wake.ts');
  expect(packages).toContain('@aws-sdk/client-lambda');
  expect(cdkPackagesAmong(packages)).toEqual([]);
});
