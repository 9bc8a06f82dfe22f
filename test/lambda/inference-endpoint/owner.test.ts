/**
 * The inference endpoint's owner (lambda/inference-endpoint/) driven through a week with a fake clock
 * over SageMaker's endpoint lifecycle (./fakes): what the schedule's reconcile, `npm run wake` and
 * CloudFormation's Create / Update / Delete do to the endpoint and the state parameter.
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { LedgerOnDynalite } from '../../fixtures/ledger-dynalite';
import { handleEvent, handleIsComplete } from '../../../lambda/inference-endpoint/dispatch';
import { createEndpoint } from '../../../lambda/inference-endpoint/endpoint';
import { reconcile, status, wake } from '../../../lambda/inference-endpoint/reconcile';
import { settingsFromEnv } from '../../../lambda/inference-endpoint/settings';
import { INFERENCE_ENDPOINT_ENV as ENV } from '../../../lambda/inference-endpoint/env';
import {
  CONFIG,
  CONFIG2,
  ENDPOINT,
  FRIDAY_1900,
  FRIDAY_NOON,
  MONDAY_0700,
  SATURDAY_0300,
  SCHEDULE,
  SCOPE,
  type World,
  request,
  startLedger,
  world,
} from './fakes';

let ledger: LedgerOnDynalite;
let db: DynamoDBDocumentClient;
let w: World;

beforeAll(async () => {
  ledger = await startLedger();
  db = ledger.db;
});
afterAll(async () => {
  await ledger.stop();
});
afterEach(() => w.restore());

const at = (iso: string) => {
  w.clock.now = new Date(iso);
};
const endpoint = () => w.sagemaker.endpoints.get(ENDPOINT);

/** CloudFormation's view: onEvent, then isComplete until complete (SageMaker settles between polls). */
async function deploy(type: 'Create' | 'Update' | 'Delete', config = CONFIG, schedule?: string) {
  const req = request(type, config, schedule ? { schedule } : {});
  const response = (await handleEvent(w.deps, req)) as {
    PhysicalResourceId: string;
    Data: Record<string, unknown>;
  };
  for (let poll = 0; poll < 10; poll++) {
    const done = await handleIsComplete(w.deps, {
      ...req,
      PhysicalResourceId: response.PhysicalResourceId,
      Data: response.Data,
    });
    if (done.IsComplete) return response;
    w.sagemaker.settle();
  }
  throw new Error('isComplete never completed');
}

describe('CloudFormation', () => {
  test('Create inside the hours creates the endpoint and completes once it is in service: state awake', async () => {
    w = world(db, FRIDAY_NOON);
    await deploy('Create');
    expect(endpoint()).toMatchObject({ status: 'InService', config: CONFIG });
    expect(w.ssm.state()).toMatchObject({ state: 'awake', endpointConfigName: CONFIG });
  });

  test('Create whose state cannot be written creates no endpoint (a failed Create is never deleted by the rollback)', async () => {
    w = world(db, FRIDAY_NOON);
    w.ssm.put = () => {
      throw Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });
    };
    await expect(handleEvent(w.deps, request('Create', CONFIG, {}))).rejects.toThrow('Rate exceeded');
    expect(endpoint()).toBeUndefined();
  });

  test('Create outside the hours creates no endpoint: state asleep, awake at the next wake', async () => {
    w = world(db, SATURDAY_0300);
    const response = await deploy('Create');
    expect(response.PhysicalResourceId).toBe(ENDPOINT);
    expect(endpoint()).toBeUndefined();
    expect(w.ssm.state()).toMatchObject({
      state: 'asleep',
      endpointConfigName: CONFIG,
      wakesAt: MONDAY_0700,
    });
  });

  test("a container that never starts fails the deploy with SageMaker's reason (the stack rolls back)", async () => {
    w = world(db, FRIDAY_NOON);
    w.sagemaker.failNextCreate =
      'The primary container for production variant AllTraffic did not pass the ping health check.';
    await expect(deploy('Create')).rejects.toThrow(
      /SageMaker endpoint biomes-dev-models failed: The primary container .* did not pass the ping health check\. .*\/aws\/sagemaker\/Endpoints\/biomes-dev-models/,
    );
  });

  test('Update with a new configuration while awake is an UpdateEndpoint, complete when it runs it', async () => {
    w = world(db, FRIDAY_NOON);
    await deploy('Create');
    await deploy('Update', CONFIG2);
    expect(endpoint()).toMatchObject({ status: 'InService', config: CONFIG2 });
    expect(w.ssm.state()).toMatchObject({ state: 'awake', endpointConfigName: CONFIG2 });
  });

  test('an update SageMaker rolls back fails the deploy, and the state keeps the configuration it runs', async () => {
    w = world(db, FRIDAY_NOON);
    await deploy('Create');
    const req = request('Update', CONFIG2);
    const response = (await handleEvent(w.deps, req)) as {
      PhysicalResourceId: string;
      Data: Record<string, unknown>;
    };
    endpoint()!.failUpdate = true;
    w.sagemaker.settle();
    await expect(handleIsComplete(w.deps, { ...req, ...response })).rejects.toThrow(
      /did not take endpoint configuration EndpointConfig-bbbb \(SageMaker rolled the update back\)/,
    );
    expect(w.ssm.state()?.endpointConfigName).toBe(CONFIG);
  });

  test('Update while asleep only records the new configuration: no SageMaker change; the next wake uses it', async () => {
    w = world(db, SATURDAY_0300);
    await deploy('Create');
    await deploy('Update', CONFIG2);
    expect(endpoint()).toBeUndefined();
    expect(w.ssm.state()).toMatchObject({ state: 'asleep', endpointConfigName: CONFIG2 });
    at(MONDAY_0700);
    await reconcile(w.deps);
    expect(endpoint()).toMatchObject({ status: 'Creating', config: CONFIG2 });
  });

  test('an endpoint that already exists (the earlier AWS::SageMaker::Endpoint) is adopted, not created again', async () => {
    w = world(db, FRIDAY_NOON);
    w.sagemaker.endpoints.set(ENDPOINT, { status: 'InService', config: 'EndpointConfig-old' });
    await deploy('Create');
    expect(endpoint()).toMatchObject({ status: 'InService', config: CONFIG });
    expect(w.ssm.state()).toMatchObject({ state: 'awake', endpointConfigName: CONFIG });
  });

  test('an update while a wake is creating the endpoint on another configuration is refused with what to do', async () => {
    w = world(db, SATURDAY_0300);
    await deploy('Create');
    await wake(w.deps);
    expect(endpoint()?.status).toBe('Creating');
    await expect(handleEvent(w.deps, request('Update', CONFIG2))).rejects.toThrow(
      /is Creating .* deploy again once it is InService/,
    );
  });

  test('Delete deletes the endpoint, waits until it is gone, and removes the state', async () => {
    w = world(db, FRIDAY_NOON);
    await deploy('Create');
    await deploy('Delete');
    expect(endpoint()).toBeUndefined();
    expect(w.ssm.state()).toBeUndefined();
  });

  test('Delete of a sleeping environment has nothing to delete and still removes the state', async () => {
    w = world(db, SATURDAY_0300);
    await deploy('Create');
    await deploy('Delete');
    expect(w.ssm.state()).toBeUndefined();
  });

  test('properties of another environment, or malformed, are refused by name', async () => {
    w = world(db, FRIDAY_NOON);
    await expect(handleEvent(w.deps, request('Create', CONFIG, { env: 'prod' }))).rejects.toThrow(
      /property Env is "prod", but this function serves environment "dev"/,
    );
    await expect(handleEvent(w.deps, request('Create', CONFIG, { schedule: '{"days":[]}' }))).rejects.toThrow(
      /Schedule is not a valid inference schedule/,
    );
    await expect(handleEvent(w.deps, request('Create', ''))).rejects.toThrow(/EndpointConfigName/);
    expect(endpoint()).toBeUndefined();
  });
});

describe('the schedule (reconcile every 5 minutes)', () => {
  test('a week: awake in the hours, deleted at 19:00, asleep over the weekend, created at 07:00 on Monday', async () => {
    w = world(db, FRIDAY_NOON);
    await deploy('Create');
    expect(await reconcile(w.deps)).toMatchObject({ action: 'none', state: 'awake', desired: 'awake' });

    at('2026-12-04T18:55:00.000Z');
    expect((await reconcile(w.deps)).action).toBe('none');
    at(FRIDAY_1900);
    expect(await reconcile(w.deps)).toMatchObject({ action: 'deleted', state: 'sleeping' });
    expect(endpoint()?.status).toBe('Deleting');
    w.sagemaker.settle();
    at('2026-12-04T19:05:00.000Z');
    expect(await reconcile(w.deps)).toMatchObject({ action: 'marked-asleep', state: 'asleep' });
    expect(w.ssm.state()).toMatchObject({ state: 'asleep', wakesAt: MONDAY_0700 });

    at(SATURDAY_0300);
    expect(await reconcile(w.deps)).toMatchObject({ action: 'none', state: 'asleep', endpoint: 'absent' });
    expect(endpoint()).toBeUndefined();

    at(MONDAY_0700);
    expect(await reconcile(w.deps)).toMatchObject({ action: 'created', state: 'waking' });
    expect(endpoint()).toMatchObject({ status: 'Creating', config: CONFIG });
    at('2026-12-07T07:05:00.000Z');
    expect(await reconcile(w.deps)).toMatchObject({ action: 'busy', state: 'waking' });
    w.sagemaker.settle();
    at('2026-12-07T07:10:00.000Z');
    expect(await reconcile(w.deps)).toMatchObject({ action: 'marked-awake', state: 'awake' });
  });

  test('never deletes an endpoint something else is changing: an update running at 19:00 waits', async () => {
    w = world(db, FRIDAY_NOON);
    await deploy('Create');
    endpoint()!.status = 'Updating';
    endpoint()!.target = CONFIG2;
    at(FRIDAY_1900);
    expect(await reconcile(w.deps)).toMatchObject({ action: 'busy' });
    expect(endpoint()?.status).toBe('Updating');
    w.sagemaker.settle();
    at('2026-12-04T19:05:00.000Z');
    expect((await reconcile(w.deps)).action).toBe('deleted');
  });

  test('a failed endpoint in the hours is deleted (the only thing SageMaker allows on it) and created again by the next run', async () => {
    w = world(db, FRIDAY_NOON);
    await deploy('Create');
    endpoint()!.status = 'Failed';
    expect(await reconcile(w.deps)).toMatchObject({ action: 'failed', state: 'waking' });
    expect(endpoint()?.status).toBe('Deleting');
    w.sagemaker.settle();
    at('2026-12-04T12:05:00.000Z');
    expect((await reconcile(w.deps)).action).toBe('created');
    w.sagemaker.settle();
    at('2026-12-04T12:10:00.000Z');
    expect(await reconcile(w.deps)).toMatchObject({ action: 'marked-awake', state: 'awake' });
  });

  test.each(['OutOfService', 'UpdateRollbackFailed'])(
    'an endpoint %s: re-created in the hours, deleted at sleep time (it still runs instances)',
    async (status) => {
      w = world(db, FRIDAY_NOON);
      await deploy('Create');
      endpoint()!.status = status;
      expect((await reconcile(w.deps)).action).toBe('failed');
      expect(endpoint()?.status).toBe('Deleting');
      w = world(db, FRIDAY_NOON);
      await deploy('Create');
      endpoint()!.status = status;
      at(FRIDAY_1900);
      expect((await reconcile(w.deps)).action).toBe('deleted');
    },
  );

  test('a wake racing another (npm run wake and the schedule): a CreateEndpoint that finds it created is not an error', async () => {
    w = world(db, SATURDAY_0300);
    await deploy('Create');
    const config = w.ssm.state()!.endpointConfigName;
    const scope = w.deps.settings.scope;
    await createEndpoint(w.deps.sagemaker, scope, scope.endpointName, config);
    // The other run had read "absent" before the first create landed.
    await expect(
      createEndpoint(w.deps.sagemaker, scope, scope.endpointName, config),
    ).resolves.toBeUndefined();
    expect(endpoint()?.status).toBe('Creating');
  });

  test('npm run wake at night: awake for manualWakeHours, then asleep again', async () => {
    w = world(db, SATURDAY_0300);
    await deploy('Create');
    expect(await wake(w.deps)).toEqual({ state: 'waking', until: '2026-12-05T05:00:00.000Z' });
    expect(endpoint()?.status).toBe('Creating');
    expect(w.ssm.state()?.manualUntil).toBe('2026-12-05T05:00:00.000Z');
    // A second wake an hour later extends it; never shortens.
    w.sagemaker.settle();
    at('2026-12-05T04:00:00.000Z');
    expect(await wake(w.deps)).toEqual({ state: 'awake', until: '2026-12-05T06:00:00.000Z' });
    at('2026-12-05T05:30:00.000Z');
    expect((await reconcile(w.deps)).action).toBe('none');
    at('2026-12-05T06:00:00.000Z');
    expect((await reconcile(w.deps)).action).toBe('deleted');
    expect((await status(w.deps)).state).toBe('sleeping');
  });

  test('without a schedule (prod) the endpoint is always awake: one deleted by hand is back within 5 minutes', async () => {
    w = world(db, SATURDAY_0300, null);
    await deploy('Create', CONFIG, 'none');
    expect(endpoint()?.status).toBe('InService');
    w.sagemaker.endpoints.delete(ENDPOINT);
    expect((await reconcile(w.deps)).action).toBe('created');
    expect(await wake(w.deps)).toEqual({ state: 'waking' });
  });

  test('a missing state parameter: nothing is done, and wake says which stack to deploy', async () => {
    w = world(db, MONDAY_0700);
    expect(await reconcile(w.deps)).toMatchObject({ action: 'missing-state', state: 'missing' });
    expect(endpoint()).toBeUndefined();
    await expect(wake(w.deps)).rejects.toThrow(
      /\/biomes\/dev\/shared\/inference\/state does not exist: deploy the shared stack biomes-dev-shared/,
    );
  });

  test('a malformed state parameter names itself and how to fix it', async () => {
    w = world(db, MONDAY_0700);
    w.ssm.values.set(SCOPE.inferenceStateParameter, '{"state":"dozing"}');
    await expect(reconcile(w.deps)).rejects.toThrow(
      /SSM parameter \/biomes\/dev\/shared\/inference\/state: .* Fix it by hand/,
    );
  });
});

describe('entry points', () => {
  test('an unknown action says which ones exist', async () => {
    w = world(db, MONDAY_0700);
    await expect(handleEvent(w.deps, { action: 'nap' })).rejects.toThrow(/"reconcile" \| "wake" \| "status"/);
  });

  test('settings: every variable, and a bad schedule fails the cold start naming the variable', () => {
    w = world(db, MONDAY_0700);
    const env = {
      [ENV.appName]: 'biomes',
      [ENV.envName]: 'dev',
      [ENV.ledgerTable]: 'ledger',
      [ENV.deployTrigger]: 'trigger',
      [ENV.schedule]: JSON.stringify(SCHEDULE),
    };
    expect(settingsFromEnv(env)).toMatchObject({
      ledgerTable: 'ledger',
      deployTrigger: 'trigger',
      schedule: SCHEDULE,
    });
    expect(settingsFromEnv({ ...env, [ENV.schedule]: 'none' }).schedule).toBeUndefined();
    expect(() => settingsFromEnv({ ...env, [ENV.schedule]: 'weekdays' })).toThrow(
      /BIOMES_INFERENCE_SCHEDULE must be "none" or the JSON of an inference schedule.*redeploy the shared stack/,
    );
    expect(() => settingsFromEnv({ ...env, [ENV.ledgerTable]: '' })).toThrow(/BIOMES_LEDGER_TABLE/);
  });
});
