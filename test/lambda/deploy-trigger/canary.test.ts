/**
 * Canary releases and model bakes through the deploy trigger's entry point (handleEvent), with every
 * AWS client mocked (aws-sdk-client-mock) except the ledger, which runs on dynalite: the canary
 * record's conditional writes, the queue behind a canary and the bake query get real DynamoDB semantics.
 */
import { CloudWatchClient, DescribeAlarmsCommand } from '@aws-sdk/client-cloudwatch';
import {
  CodeDeployClient,
  CreateDeploymentCommand,
  DeploymentGroupDoesNotExistException,
  DeploymentLimitExceededException,
  GetDeploymentCommand,
  ListDeploymentsCommand,
  StopDeploymentCommand,
  ThrottlingException,
} from '@aws-sdk/client-codedeploy';
import {
  GetAliasCommand,
  GetFunctionCommand,
  InvokeCommand,
  LambdaClient,
  PublishVersionCommand,
  TagResourceCommand,
  UpdateAliasCommand,
  UpdateFunctionCodeCommand,
  UpdateFunctionConfigurationCommand,
} from '@aws-sdk/client-lambda';
import { CopyObjectCommand, GetObjectCommand, HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { InvokeEndpointCommand, SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import {
  GetParameterCommand,
  GetParametersByPathCommand,
  ParameterNotFound,
  PutParameterCommand,
  SSMClient,
} from '@aws-sdk/client-ssm';
import { GetCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { ROLLBACK_APPEARS_MS } from '../../../lambda/deploy-trigger/canary';
import { type Deps, handleEvent } from '../../../lambda/deploy-trigger/deploy';
import type { Outcome } from '../../../lambda/deploy-trigger/ledger';
import {
  type LedgerOnDynalite,
  startLedgerOnDynalite,
  withTransactionsOneByOne,
} from '../../fixtures/ledger-dynalite';
import {
  Clock,
  deps,
  endpointAnswer,
  GOOD_ANSWER,
  modelArchive,
  objectBody,
  ranged,
  s3Event,
  settings,
  SHA,
  SHA2,
} from './fakes';

const SHA3 = 'c'.repeat(40);
const FUNCTION = 'biomes-dev-main-Ingest-abc';
const FUNCTION_ARN = `arn:aws:lambda:eu-west-1:222222222222:function:${FUNCTION}`;
const main = settings.scope.biome('main');
const APPLICATION = main.releaseApplicationName;
const ALARMS = [main.serviceAlarmName('ingest', 'errors'), main.serviceAlarmName('ingest', 'throttles')];
const PREDICT_ERRORS = main.serviceAlarmName('predict', 'errors');
const serviceKey = (sha = SHA) => `main/ingest-${sha}.zip`;
const modelKey = (sha = SHA) => `main/ranker-${sha}.tar.gz`;
const ARCHIVE = modelArchive();

const s3 = mockClient(S3Client);
const lambda = mockClient(LambdaClient);
const ssm = mockClient(SSMClient);
const sagemaker = mockClient(SageMakerRuntimeClient);
const codedeploy = mockClient(CodeDeployClient);
const cloudwatch = mockClient(CloudWatchClient);

let ledger: LedgerOnDynalite;
let clock: Clock;
/** Published-at of each landing object, by key. */
let published: Map<string, string>;
/** A model retrained in the environment: the commit whose training code made it, by key. */
let retrainedFrom: Map<string, string>;
/** The version alias `live` serves, and its traffic split, as GetAlias answers. */
let alias: { version: string; split?: Record<string, number> };
let nextVersion: number;
let deploymentIds: number;

function alarmStates(states: Record<string, string>) {
  cloudwatch.on(DescribeAlarmsCommand).callsFake((input: { AlarmNames?: string[] }) => ({
    MetricAlarms: (input.AlarmNames ?? [])
      .filter((n) => states[n] !== undefined)
      .map((n) => ({ AlarmName: n, StateValue: states[n] })),
  }));
}

beforeEach(async () => {
  for (const mock of [s3, lambda, ssm, sagemaker, codedeploy, cloudwatch]) mock.reset();
  ledger = await startLedgerOnDynalite(settings.ledgerTable);
  clock = new Clock();
  published = new Map([[serviceKey(), '2025-06-01T09:00:00Z']]);
  retrainedFrom = new Map();
  alias = { version: '3' };
  nextVersion = 4;
  deploymentIds = 0;
  rollbacks = 0;
  s3.on(HeadObjectCommand).callsFake((input: { Key: string }) => {
    const sha = /-([0-9a-f]{40})\./.exec(input.Key)?.[1] ?? '';
    return {
      ContentLength: input.Key.endsWith('.tar.gz') ? ARCHIVE.bytes.length : 1024,
      Metadata: {
        'commit-sha': sha,
        'published-at': published.get(input.Key) ?? '2025-06-01T09:00:00Z',
        ...(retrainedFrom.has(input.Key)
          ? { 'retrained-from': retrainedFrom.get(input.Key)!, branch: 'retrained' }
          : {}),
      },
    };
  });
  s3.on(GetObjectCommand).callsFake((input: { Range?: string }) => ({
    Body: objectBody(ranged(ARCHIVE.bytes, input.Range)),
  }));
  s3.on(CopyObjectCommand).resolves({});
  ssm.on(GetParameterCommand).rejects(new ParameterNotFound({ message: 'not found', $metadata: {} }));
  ssm.on(GetParameterCommand, { Name: main.serviceRegistration('ingest') }).resolves({
    Parameter: {
      Value: JSON.stringify({
        functionName: FUNCTION,
        alias: 'live',
        smokeCheck: { payload: { smoke: true } },
        canary: {
          application: APPLICATION,
          deploymentGroup: 'ingest',
          alarms: ALARMS,
          percent: 10,
          bakeMinutes: 10,
        },
      }),
    },
  });
  ssm.on(GetParameterCommand, { Name: main.modelRegistration('ranker') }).resolves({
    Parameter: {
      Value: JSON.stringify({
        pointerParameter: main.modelPointer('ranker'),
        bake: { minutes: 10, alarms: [PREDICT_ERRORS] },
      }),
    },
  });
  ssm.on(GetParametersByPathCommand).resolves({ Parameters: [{ Name: 'x' }] });
  ssm.on(PutParameterCommand).resolves({ Version: 2 });
  lambda.on(GetFunctionCommand).resolves({
    Configuration: { FunctionArn: FUNCTION_ARN, LastUpdateStatus: 'Successful', RevisionId: 'rev' },
    Tags: { app: 'biomes', env: 'dev', biome: 'main', deployable: 'true' },
  });
  lambda.on(UpdateFunctionCodeCommand).resolves({ CodeSha256: 'code-sha', FunctionArn: FUNCTION_ARN });
  lambda.on(UpdateFunctionConfigurationCommand).resolves({});
  lambda.on(PublishVersionCommand).callsFake(() => ({ Version: String(nextVersion++) }));
  lambda
    .on(InvokeCommand)
    .resolves({ StatusCode: 200, Payload: new TextEncoder().encode('{"ok":true}') as never });
  lambda.on(GetAliasCommand).callsFake(() => ({
    FunctionVersion: alias.version,
    RevisionId: 'alias-rev',
    ...(alias.split ? { RoutingConfig: { AdditionalVersionWeights: alias.split } } : {}),
  }));
  lambda.on(UpdateAliasCommand).resolves({});
  lambda.on(TagResourceCommand).resolves({});
  sagemaker.on(InvokeEndpointCommand).resolves(endpointAnswer(GOOD_ANSWER));
  alarmStates(Object.fromEntries([...ALARMS, PREDICT_ERRORS].map((a) => [a, 'OK'])));
  deployments = new Map();
  codedeploy.on(CreateDeploymentCommand).callsFake((input: { description?: string }) => {
    // One active deployment per group, as CodeDeploy allows.
    if ([...deployments.values()].some((d) => ACTIVE.has(d.status))) {
      throw new DeploymentLimitExceededException({
        message: 'The Deployment Group ingest already has an active Deployment',
        $metadata: {},
      });
    }
    const id = `d-${++deploymentIds}`;
    deployments.set(id, {
      status: 'InProgress',
      ...(input.description ? { description: input.description } : {}),
    });
    return { deploymentId: id };
  });
  // Stopping with rollback: the canary is Stopped and its rollback, a deployment of its own, starts.
  codedeploy.on(StopDeploymentCommand).callsFake((input: { deploymentId: string }) => {
    rollBack(input.deploymentId, 'Stopped');
    return { status: 'Pending' };
  });
  codedeploy.on(GetDeploymentCommand).callsFake((input: { deploymentId: string }) => {
    const d = deployments.get(input.deploymentId);
    if (!d) throw new Error(`fake CodeDeploy: no deployment ${input.deploymentId}`);
    return {
      deploymentInfo: {
        deploymentId: input.deploymentId,
        status: d.status,
        ...(d.description ? { description: d.description } : {}),
        ...(d.rollbackId || d.triggeredBy
          ? {
              rollbackInfo: {
                ...(d.rollbackId ? { rollbackDeploymentId: d.rollbackId } : {}),
                ...(d.triggeredBy ? { rollbackTriggeringDeploymentId: d.triggeredBy } : {}),
              },
            }
          : {}),
        ...(d.status === 'Failed'
          ? { errorInformation: { code: 'ALARM_ACTIVE', message: 'One or more alarms have been activated' } }
          : {}),
        ...(d.completedAt ? { completeTime: d.completedAt } : {}),
      },
    };
  });
  codedeploy.on(ListDeploymentsCommand).callsFake(() => ({
    deployments: [...deployments.entries()].filter(([, d]) => ACTIVE.has(d.status)).map(([id]) => id),
  }));
});

/** CodeDeploy's deployments of the group, as the fake keeps them. */
interface FakeDeployment {
  status: string;
  description?: string;
  rollbackId?: string;
  triggeredBy?: string;
  /** When it ended (completeTime). */
  completedAt?: Date;
}
const ACTIVE = new Set(['Created', 'Queued', 'InProgress', 'Baking', 'Ready']);
let deployments: Map<string, FakeDeployment>;
let rollbacks = 0;

/** The canary `id` ends `status` and CodeDeploy starts its rollback deployment; returns the rollback's id. */
function rollBack(id: string, status: 'Failed' | 'Stopped'): string {
  const canary = deployments.get(id);
  if (!canary) throw new Error(`fake CodeDeploy: no deployment ${id}`);
  const rollbackId = `r-${++rollbacks}`;
  canary.status = status;
  canary.completedAt = clock.now();
  canary.rollbackId = rollbackId;
  deployments.set(rollbackId, { status: 'InProgress', triggeredBy: id });
  return rollbackId;
}

function setStatus(id: string, status: string): void {
  const d = deployments.get(id);
  if (!d) throw new Error(`fake CodeDeploy: no deployment ${id}`);
  d.status = status;
  if (!ACTIVE.has(status)) d.completedAt = clock.now();
}

/** CodeDeploy's rollback of the failed or stopped canary `id` appears (its rollbackInfo names it). */
function rollbackAppears(id: string): string {
  const canary = deployments.get(id);
  if (!canary) throw new Error(`fake CodeDeploy: no deployment ${id}`);
  const rollbackId = `r-${++rollbacks}`;
  canary.rollbackId = rollbackId;
  deployments.set(rollbackId, { status: 'InProgress', triggeredBy: id });
  return rollbackId;
}

afterEach(async () => {
  await ledger.stop();
});

/** A new invocation: its own 600 s from now. */
function triggerDeps(owner = 'request-1'): Deps {
  clock.deadline = clock.ms + 600_000;
  return { ...deps(clock, owner), db: withTransactionsOneByOne(ledger.db) };
}

async function deliver(key: string, options: { id?: string; versionId?: string } = {}): Promise<Outcome> {
  const out = await handleEvent(triggerDeps(), s3Event(key, options));
  if (Array.isArray(out)) throw new Error('an S3 event returns one outcome');
  return out as Outcome;
}

function deploymentEnded(
  deploymentId: string,
  state: 'SUCCESS' | 'FAILURE' | 'STOP',
  id = `end-${deploymentId}`,
) {
  return {
    version: '0',
    id,
    'detail-type': 'CodeDeploy Deployment State-change Notification',
    source: 'aws.codedeploy',
    account: '222222222222',
    time: clock.now().toISOString(),
    region: 'eu-west-1',
    resources: [],
    detail: { application: APPLICATION, deploymentGroup: 'ingest', deploymentId, state, region: 'eu-west-1' },
  };
}

/** The trigger handles CodeDeploy's state-change event of `deploymentId`: what it recorded (nothing while it runs). */
async function end(
  deploymentId: string,
  state: 'SUCCESS' | 'FAILURE' | 'STOP',
  id?: string,
): Promise<Outcome[]> {
  return (await handleEvent(
    triggerDeps('request-end'),
    deploymentEnded(deploymentId, state, id),
  )) as Outcome[];
}

/** The one outcome `end` recorded. */
async function endOne(
  deploymentId: string,
  state: 'SUCCESS' | 'FAILURE' | 'STOP',
  id?: string,
): Promise<Outcome> {
  const outcomes = await end(deploymentId, state, id);
  expect(outcomes).toHaveLength(1);
  return outcomes[0]!;
}

/** The sweep's schedule fires. */
async function sweep(): Promise<Outcome[]> {
  return (await handleEvent(triggerDeps('request-sweep'), { action: 'settle-canaries' })) as Outcome[];
}

function alarmFired(alarmName: string) {
  return {
    version: '0',
    id: `alarm-${alarmName}`,
    'detail-type': 'CloudWatch Alarm State Change',
    source: 'aws.cloudwatch',
    account: '222222222222',
    time: clock.now().toISOString(),
    region: 'eu-west-1',
    resources: [`arn:aws:cloudwatch:eu-west-1:222222222222:alarm:${alarmName}`],
    detail: {
      alarmName,
      state: { value: 'ALARM', reason: 'Threshold Crossed' },
      previousState: { value: 'OK' },
    },
  };
}

async function item(sk: string): Promise<Record<string, unknown> | undefined> {
  const out = await ledger.db.send(
    new GetCommand({ TableName: settings.ledgerTable, Key: { pk: 'BIOME#main', sk } }),
  );
  return out.Item;
}

async function history(kind: string, name: string): Promise<Record<string, unknown>[]> {
  const out = await ledger.db.send(
    new QueryCommand({
      TableName: settings.ledgerTable,
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :p)',
      ExpressionAttributeValues: { ':pk': 'BIOME#main', ':p': `HISTORY#${kind}#${name}#` },
    }),
  );
  return out.Items ?? [];
}

/** Starts the canary of SHA (version 4) over version 3, and CodeDeploy shifts 10% to it. */
async function startFirstCanary(): Promise<Outcome> {
  const started = await deliver(serviceKey());
  alias = { version: '3', split: { '4': 0.1 } };
  return started;
}

/**
 * The first delivery of SHA's service: CodeDeploy accepts d-1, then the write that records its id fails
 * (the invocation dies there), so the ledger's canary record stays `starting`.
 */
async function startDyingAfterCodeDeployAccepted(): Promise<void> {
  const original = ledger.db.send.bind(ledger.db);
  const spy = jest.spyOn(ledger.db, 'send').mockImplementation(((command: {
    input?: { UpdateExpression?: string };
  }) => {
    if (
      command.input?.UpdateExpression === 'SET #status = :running, deploymentId = :id, version = :version'
    ) {
      return Promise.reject(new Error('network down'));
    }
    return original(command as never);
  }) as never);
  await expect(deliver(serviceKey())).rejects.toThrow('network down');
  spy.mockRestore();
}

describe('canary of a service', () => {
  test('start: after the smoke check, a CodeDeploy deployment of alias live from the live version to the new one; ledger canary, alias untouched', async () => {
    const outcome = await startFirstCanary();
    expect(outcome).toMatchObject({ status: 'canary', deploymentId: 'd-1', deployedRef: '4', sha: SHA });
    expect(outcome.reason).toContain('shifts 10% of alias live to version 4');
    expect(lambda).not.toHaveReceivedCommand(UpdateAliasCommand);
    expect(lambda).toHaveReceivedCommandWith(InvokeCommand, { Qualifier: '4' });
    const input = codedeploy.commandCalls(CreateDeploymentCommand)[0]?.args[0].input;
    expect(input).toMatchObject({ applicationName: APPLICATION, deploymentGroupName: 'ingest' });
    const content = input?.revision?.appSpecContent?.content ?? '';
    expect(content.startsWith('{"version":0.0,')).toBe(true);
    expect(JSON.parse(content).Resources[0].live.Properties).toEqual({
      Name: FUNCTION,
      Alias: 'live',
      CurrentVersion: '3',
      TargetVersion: '4',
    });
    expect(await item('CANARY#service#ingest')).toMatchObject({
      status: 'running',
      deploymentId: 'd-1',
      version: '4',
      previousVersion: '3',
      alarms: ALARMS,
    });
    // Not live yet: the live record waits for CodeDeploy's verdict.
    expect(await item('LIVE#service#ingest')).toBeUndefined();
    expect(await history('service', 'ingest')).toEqual([expect.objectContaining({ status: 'canary' })]);
  });

  test('success: CodeDeploy reports SUCCESS and the alias serves the new version: deployed, live record and commit tag move', async () => {
    await startFirstCanary();
    setStatus('d-1', 'Succeeded');
    alias = { version: '4' };
    clock.advance(11 * 60_000);
    const outcome = await endOne('d-1', 'SUCCESS');
    expect(outcome).toMatchObject({ status: 'deployed', sha: SHA, deployedRef: '4', deploymentId: 'd-1' });
    expect(outcome.reason).toContain('took all traffic');
    // The SBOM of the commit rides along from the start of the canary to the live record.
    expect(outcome).toMatchObject({ sbomKey: `main/sbom-${SHA}.cdx.json` });
    expect(await item('LIVE#service#ingest')).toMatchObject({
      sha: SHA,
      deployedRef: '4',
      sbomKey: `main/sbom-${SHA}.cdx.json`,
    });
    expect(lambda).toHaveReceivedCommandWith(TagResourceCommand, { Tags: { commit: SHA } });
    const record = await item('CANARY#service#ingest');
    expect(record?.status).toBeUndefined();
    expect(record?.lastDeploymentId).toBe('d-1');
  });

  test("the verdict is GetDeployment's, not the event's: a SUCCESS event for a deployment still baking records nothing", async () => {
    await startFirstCanary();
    expect(await end('d-1', 'SUCCESS')).toEqual([]);
    expect(await item('CANARY#service#ingest')).toMatchObject({ status: 'running', deploymentId: 'd-1' });
  });

  test('rollback: an alarm fires during the bake; the canary fails and its rollback (a deployment of its own) runs: nothing recorded until the rollback ends, then rolled-back with the alarm that fired', async () => {
    await startFirstCanary();
    alarmStates({ [ALARMS[0] ?? '']: 'ALARM', [ALARMS[1] ?? '']: 'OK' });
    const rollback = rollBack('d-1', 'Failed');
    // Still split: CodeDeploy is shifting traffic back.
    expect(await end('d-1', 'FAILURE')).toEqual([]);
    expect(await item('CANARY#service#ingest')).toMatchObject({
      status: 'running',
      rollbackDeploymentId: rollback,
      firing: [ALARMS[0]],
    });
    // The alarm returns to OK once the old version serves again; the record keeps which one fired.
    alarmStates({ [ALARMS[0] ?? '']: 'OK', [ALARMS[1] ?? '']: 'OK' });
    setStatus(rollback, 'Succeeded');
    alias = { version: '3' };
    const outcome = await endOne(rollback, 'SUCCESS');
    expect(outcome).toMatchObject({ status: 'rolled-back', alarms: [ALARMS[0]], deployedRef: '3', sha: SHA });
    expect(outcome.reason).toContain(`alarm ${ALARMS[0]} fired during the bake`);
    expect(outcome.reason).toContain(`rollback ${rollback}`);
    expect(outcome.reason).toContain('back to version 3');
    expect(await item('LIVE#service#ingest')).toBeUndefined();
    expect(lambda).not.toHaveReceivedCommand(TagResourceCommand);
    // The high-water mark stays: an older publication still cannot go live after this one.
    expect(await item('PENDING#service#ingest')).toMatchObject({ sha: SHA, recordedAt: expect.any(String) });
    // The canary's own FAILURE, late: recognised, recorded once.
    expect((await endOne('d-1', 'FAILURE')).status).toBe('skipped');
    expect((await history('service', 'ingest')).filter((h) => h.status === 'rolled-back')).toHaveLength(1);
  });

  test("the rollback's end arriving before the canary's: matched through the rollback's triggering deployment, recorded once", async () => {
    await startFirstCanary();
    const rollback = rollBack('d-1', 'Failed');
    setStatus(rollback, 'Succeeded');
    alias = { version: '3' };
    expect((await endOne(rollback, 'SUCCESS')).status).toBe('rolled-back');
    const late = await endOne('d-1', 'FAILURE');
    expect(late.status).toBe('skipped');
    expect(late.reason).toContain('already recorded');
  });

  test("a canary's end seen before its rollback appears: nothing recorded yet; the rollback's end records rolled-back", async () => {
    await startFirstCanary();
    setStatus('d-1', 'Failed');
    alias = { version: '4', split: { '3': 0.9 } };
    expect(await end('d-1', 'FAILURE')).toEqual([]);
    expect(await sweep()).toEqual([]);
    expect(await item('CANARY#service#ingest')).toMatchObject({ status: 'running', deploymentId: 'd-1' });
    clock.advance(2 * 60_000);
    const rollback = rollbackAppears('d-1');
    setStatus(rollback, 'Succeeded');
    alias = { version: '3' };
    expect(await endOne(rollback, 'SUCCESS')).toMatchObject({ status: 'rolled-back', deployedRef: '3' });
    expect((await history('service', 'ingest')).filter((h) => h.status === 'failed')).toEqual([]);
  });

  test('a canary that ended without the alias back on the old version, and no rollback within 15 minutes, is failed, naming what to do', async () => {
    await startFirstCanary();
    setStatus('d-1', 'Stopped');
    alias = { version: '4', split: { '3': 0.9 } };
    expect(await end('d-1', 'STOP')).toEqual([]);
    clock.advance(ROLLBACK_APPEARS_MS);
    const outcomes = await sweep();
    expect(outcomes).toHaveLength(1);
    expect(outcomes[0]!.status).toBe('failed');
    expect(outcomes[0]!.reason).toContain('npm run rollback');
  });

  test('duplicate delivery during a canary: skipped by the claim, no second deployment', async () => {
    await startFirstCanary();
    const again = await deliver(serviceKey());
    expect(again.status).toBe('skipped');
    expect(again.reason).toContain('duplicate delivery');
    expect(codedeploy).toHaveReceivedCommandTimes(CreateDeploymentCommand, 1);
  });

  test('the same object under a new version id during its canary: skipped, no second deployment', async () => {
    await startFirstCanary();
    const again = await deliver(serviceKey(), { versionId: 'v2', id: 'event-2' });
    expect(again.status).toBe('skipped');
    expect(again.reason).toContain('canary d-1 of this publication is already running');
    expect(codedeploy).toHaveReceivedCommandTimes(CreateDeploymentCommand, 1);
  });

  test('a duplicate end event is recorded once; the second is skipped', async () => {
    await startFirstCanary();
    setStatus('d-1', 'Succeeded');
    alias = { version: '4' };
    await end('d-1', 'SUCCESS', 'end-1');
    const again = await endOne('d-1', 'SUCCESS', 'end-2');
    expect(again.status).toBe('skipped');
    expect(again.reason).toContain('already recorded');
    expect((await history('service', 'ingest')).filter((h) => h.status === 'deployed')).toHaveLength(1);
  });

  test('supersede: a newer publication during a canary stops it (with rollback), waits, and deploys by its own canary once the rollback has ended', async () => {
    await startFirstCanary();
    published.set(serviceKey(SHA2), '2025-06-01T09:30:00Z');
    const newer = await deliver(serviceKey(SHA2), { id: 'event-2', versionId: 'v2' });
    expect(newer.status).toBe('waiting');
    expect(newer.reason).toContain('supersedes canary d-1');
    expect(codedeploy).toHaveReceivedCommandWith(StopDeploymentCommand, {
      deploymentId: 'd-1',
      autoRollbackEnabled: true,
    });
    // Nothing of the newer one was touched yet.
    expect(lambda).toHaveReceivedCommandTimes(UpdateFunctionCodeCommand, 1);
    // A third, newer still, replaces it in the queue and does not stop the canary twice.
    published.set(serviceKey(SHA3), '2025-06-01T09:45:00Z');
    const newest = await deliver(serviceKey(SHA3), { id: 'event-3', versionId: 'v3' });
    expect(newest.status).toBe('waiting');
    expect(codedeploy).toHaveReceivedCommandTimes(StopDeploymentCommand, 1);

    // The stop's own event while its rollback still runs: nothing yet, nothing redelivered.
    expect(await end('d-1', 'STOP')).toEqual([]);
    expect(codedeploy).toHaveReceivedCommandTimes(CreateDeploymentCommand, 1);
    setStatus('r-1', 'Succeeded');
    alias = { version: '3' };
    const ended = await endOne('r-1', 'SUCCESS');
    expect(ended).toMatchObject({ status: 'rolled-back' });
    expect(ended.reason).toContain('a newer publication superseded it');
    // The waiting (newest) publication was delivered again and started its own canary from version 3.
    expect(codedeploy).toHaveReceivedCommandTimes(CreateDeploymentCommand, 2);
    const second = codedeploy.commandCalls(CreateDeploymentCommand)[1]?.args[0].input;
    expect(
      JSON.parse(second?.revision?.appSpecContent?.content ?? '{}').Resources[0].live.Properties,
    ).toMatchObject({ CurrentVersion: '3', TargetVersion: '5' });
    expect(await item('CANARY#service#ingest')).toMatchObject({
      status: 'running',
      deploymentId: 'd-2',
      sha: SHA3,
    });
    expect((await item('CANARY#service#ingest'))?.next).toBeUndefined();
    const statuses = (await history('service', 'ingest')).map(
      (h) => `${String(h.sha).slice(0, 1)}:${String(h.status)}`,
    );
    expect(statuses).toEqual(
      expect.arrayContaining(['a:canary', 'b:waiting', 'c:waiting', 'a:rolled-back', 'c:canary']),
    );
  });

  test('a late duplicate end of an earlier canary never drops the publication waiting behind the current one', async () => {
    await startFirstCanary();
    published.set(serviceKey(SHA2), '2025-06-01T09:30:00Z');
    await deliver(serviceKey(SHA2), { id: 'event-2', versionId: 'v2' });
    setStatus('r-1', 'Succeeded');
    alias = { version: '3' };
    await end('r-1', 'SUCCESS');
    expect(await item('CANARY#service#ingest')).toMatchObject({ status: 'running', deploymentId: 'd-2' });
    published.set(serviceKey(SHA3), '2025-06-01T09:45:00Z');
    expect((await deliver(serviceKey(SHA3), { id: 'event-3', versionId: 'v3' })).status).toBe('waiting');
    // EventBridge delivers d-1's STOP again, late.
    expect((await endOne('d-1', 'STOP', 'end-d-1-again')).status).toBe('skipped');
    expect((await item('CANARY#service#ingest'))?.next).toMatchObject({ sha: SHA3 });
  });

  test("a lost end event (CodeDeploy's events are best effort): the 5-minute sweep settles the canary and delivers what waited", async () => {
    await startFirstCanary();
    published.set(serviceKey(SHA2), '2025-06-01T09:30:00Z');
    expect((await deliver(serviceKey(SHA2), { id: 'event-2', versionId: 'v2' })).status).toBe('waiting');
    // Neither d-1's STOP nor its rollback's SUCCESS reaches the trigger.
    setStatus('r-1', 'Succeeded');
    alias = { version: '3' };
    const settled = await sweep();
    expect(settled).toEqual([expect.objectContaining({ status: 'rolled-back', sha: SHA })]);
    expect(await item('CANARY#service#ingest')).toMatchObject({ status: 'running', sha: SHA2 });
    // Nothing to do next time.
    expect(await sweep()).toEqual([]);
  });

  test('a rollback during a canary (npm run rollback re-publishes an earlier commit, newer published-at) stops the canary first, then deploys the earlier commit', async () => {
    const EARLIER = 'd'.repeat(40);
    await startFirstCanary();
    published.set(serviceKey(EARLIER), '2025-06-01T09:50:00Z');
    const rollback = await deliver(serviceKey(EARLIER), { id: 'rollback-1', versionId: 'v9' });
    expect(rollback.status).toBe('waiting');
    expect(rollback.reason).toContain('supersedes canary d-1');
    expect(codedeploy).toHaveReceivedCommandWith(StopDeploymentCommand, {
      deploymentId: 'd-1',
      autoRollbackEnabled: true,
    });
    setStatus('r-1', 'Succeeded');
    alias = { version: '3' };
    expect((await endOne('r-1', 'SUCCESS')).status).toBe('rolled-back');
    expect(await item('CANARY#service#ingest')).toMatchObject({ status: 'running', sha: EARLIER });
  });

  test('an older publication arriving during a canary is skipped, and the canary is left running', async () => {
    published.set(serviceKey(), '2025-06-01T09:30:00Z');
    await startFirstCanary();
    published.set(serviceKey(SHA2), '2025-06-01T09:00:00Z');
    const older = await deliver(serviceKey(SHA2), { id: 'event-2', versionId: 'v2' });
    expect(older.status).toBe('skipped');
    expect(codedeploy).not.toHaveReceivedCommand(StopDeploymentCommand);
  });

  test('an alarm already in ALARM before the canary: refused naming the alarm, nothing started, live untouched', async () => {
    alarmStates({ [ALARMS[0] ?? '']: 'OK', [ALARMS[1] ?? '']: 'ALARM' });
    const outcome = await deliver(serviceKey());
    expect(outcome).toMatchObject({ status: 'failed', alarms: [ALARMS[1]] });
    expect(outcome.reason).toContain(`alarm ${ALARMS[1]} is in ALARM before the canary`);
    expect(outcome.reason).toContain('still version 3');
    expect(codedeploy).not.toHaveReceivedCommand(CreateDeploymentCommand);
    expect(lambda).not.toHaveReceivedCommand(UpdateAliasCommand);
    expect(await item('CANARY#service#ingest')).toBeUndefined();
  });

  test('the deployment group missing: failed with what to deploy, the canary record abandoned, live untouched', async () => {
    codedeploy
      .on(CreateDeploymentCommand)
      .rejects(
        new DeploymentGroupDoesNotExistException({ message: 'No Deployment Group found', $metadata: {} }),
      );
    const outcome = await deliver(serviceKey());
    expect(outcome.status).toBe('failed');
    expect(outcome.reason).toContain('deployment group "ingest" of application "biomes-dev-main" is missing');
    expect(lambda).not.toHaveReceivedCommand(UpdateAliasCommand);
    expect((await item('CANARY#service#ingest'))?.status).toBeUndefined();
    // A later publication is not blocked by the refused one.
    codedeploy.on(CreateDeploymentCommand).resolves({ deploymentId: 'd-9' });
    published.set(serviceKey(SHA2), '2025-06-01T09:30:00Z');
    expect((await deliver(serviceKey(SHA2), { id: 'e2', versionId: 'v2' })).status).toBe('canary');
  });

  test('CodeDeploy unavailable (throttled): recorded failed and retrying, rethrown for Lambda to retry, nothing shifted', async () => {
    codedeploy
      .on(CreateDeploymentCommand)
      .rejects(new ThrottlingException({ message: 'Rate exceeded', $metadata: {} }));
    await expect(deliver(serviceKey())).rejects.toThrow('Rate exceeded');
    expect(await history('service', 'ingest')).toEqual([
      expect.objectContaining({ status: 'failed', retrying: true }),
    ]);
    expect(lambda).not.toHaveReceivedCommand(UpdateAliasCommand);
    // The retry (same request) starts the canary.
    codedeploy.on(CreateDeploymentCommand).resolves({ deploymentId: 'd-7' });
    expect((await deliver(serviceKey())).status).toBe('canary');
  });

  test('a start that died after CodeDeploy accepted it: the retry is refused (one active deployment), adopts it by its description, and its end records it', async () => {
    await startDyingAfterCodeDeployAccepted();
    // Lambda retries the same request: CodeDeploy refuses a second deployment; the trigger adopts d-1.
    const retried = await deliver(serviceKey());
    expect(retried).toMatchObject({ status: 'canary', deploymentId: 'd-1', deployedRef: '4' });
    expect(retried.reason).toContain('adopted');
    expect(codedeploy).toHaveReceivedCommand(ListDeploymentsCommand);
    expect(deployments.size).toBe(1);
    setStatus('d-1', 'Succeeded');
    alias = { version: '4' };
    expect(await endOne('d-1', 'SUCCESS')).toMatchObject({ status: 'deployed', sha: SHA });
  });

  test("an earlier publication's canary CodeDeploy accepted but the ledger lost, whose `starting` record a newer start replaced: restored, superseded, and both recorded", async () => {
    await startDyingAfterCodeDeployAccepted();
    // The newer publication arrives before the earlier one's retry; CodeDeploy refuses its canary
    // (d-1 is active), and d-1 is recorded again as the running canary of the earlier publication.
    published.set(serviceKey(SHA2), '2025-06-01T09:30:00Z');
    await expect(deliver(serviceKey(SHA2), { id: 'event-2', versionId: 'v2' })).rejects.toThrow(
      'was running without a ledger record',
    );
    expect(await item('CANARY#service#ingest')).toMatchObject({
      status: 'running',
      deploymentId: 'd-1',
      key: serviceKey(),
      sha: SHA,
      publishedAt: '2025-06-01T09:00:00.000Z',
      version: '4',
      previousVersion: '3',
    });
    // Lambda retries the newer publication: it supersedes the restored canary like any newer one.
    const retried = await deliver(serviceKey(SHA2), { id: 'event-2', versionId: 'v2' });
    expect(retried.status).toBe('waiting');
    expect(codedeploy).toHaveReceivedCommandWith(StopDeploymentCommand, {
      deploymentId: 'd-1',
      autoRollbackEnabled: true,
    });
    // The earlier publication's own retry is older than what waits: skipped, nothing started.
    expect((await deliver(serviceKey())).status).toBe('skipped');
    // d-1's rollback ends: the earlier canary is recorded rolled back, and the newer one starts its own.
    const rollback = deployments.get('d-1')?.rollbackId ?? '';
    setStatus(rollback, 'Succeeded');
    alias = { version: '3' };
    expect(await endOne(rollback, 'SUCCESS')).toMatchObject({ status: 'rolled-back', sha: SHA });
    expect(await item('CANARY#service#ingest')).toMatchObject({ status: 'running', sha: SHA2 });
    const statuses = (await history('service', 'ingest')).map(
      (h) => `${String(h.sha).slice(0, 1)}:${String(h.status)}`,
    );
    expect(statuses).toEqual(expect.arrayContaining(['b:waiting', 'a:rolled-back', 'b:canary']));
    expect(statuses).not.toContain('b:failed');
  });

  test("the end of an accepted deployment whose start was never recorded is matched by its description's key", async () => {
    await startDyingAfterCodeDeployAccepted();
    setStatus('d-1', 'Succeeded');
    alias = { version: '4' };
    expect(await endOne('d-1', 'SUCCESS')).toMatchObject({ status: 'deployed', sha: SHA });
  });

  test('a deployment of the group the ledger does not know (started by hand): refused naming it, the move of live not left pending', async () => {
    deployments.set('d-hand', { status: 'InProgress', description: 'by hand' });
    const outcome = await deliver(serviceKey());
    expect(outcome.status).toBe('failed');
    expect(outcome.reason).toContain(
      'deployment d-hand of group "ingest" is in progress and is not one the ledger knows',
    );
    expect((await item('CANARY#service#ingest'))?.status).toBeUndefined();
    expect(await item('PENDING#service#ingest')).toMatchObject({ recordedAt: expect.any(String) });
    expect(lambda).not.toHaveReceivedCommand(UpdateAliasCommand);
  });

  test('a rollback of the group still shifting traffic back: retryable, nothing started', async () => {
    deployments.set('d-0', { status: 'Failed', rollbackId: 'r-0' });
    deployments.set('r-0', { status: 'InProgress', triggeredBy: 'd-0' });
    await expect(deliver(serviceKey())).rejects.toThrow('rollback r-0 of canary d-0');
    expect(await history('service', 'ingest')).toEqual([
      expect.objectContaining({ status: 'failed', retrying: true }),
    ]);
  });

  test('the live commit published again (same version from PublishVersion): deployed without a canary, since CodeDeploy refuses a shift from a version to itself', async () => {
    lambda.on(PublishVersionCommand).resolves({ Version: '3' });
    published.set(serviceKey(), '2025-06-01T09:30:00Z');
    const outcome = await deliver(serviceKey());
    expect(outcome).toMatchObject({ status: 'deployed', deployedRef: '3', sha: SHA });
    expect(codedeploy).not.toHaveReceivedCommand(CreateDeploymentCommand);
    expect(lambda).toHaveReceivedCommandWith(UpdateAliasCommand, { Name: 'live', FunctionVersion: '3' });
    expect(await item('LIVE#service#ingest')).toMatchObject({ sha: SHA, deployedRef: '3' });
    expect(await item('CANARY#service#ingest')).toBeUndefined();
  });

  test('an alias left split between two versions: refused with the command that fixes it', async () => {
    alias = { version: '3', split: { '2': 0.5 } };
    const outcome = await deliver(serviceKey());
    expect(outcome.status).toBe('failed');
    expect(outcome.reason).toContain('is split between version 3 and 2');
    expect(codedeploy).not.toHaveReceivedCommand(CreateDeploymentCommand);
  });

  test('a canary left `starting` by an invocation that died before CodeDeploy answered never blocks the next publication', async () => {
    await ledger.db.send(
      new PutCommand({
        TableName: settings.ledgerTable,
        Item: {
          pk: 'BIOME#main',
          sk: 'CANARY#service#ingest',
          status: 'starting',
          key: serviceKey(SHA3),
          sha: SHA3,
          publishedAt: '2025-06-01T08:00:00.000Z',
          since: clock.now().toISOString(),
        },
      }),
    );
    const outcome = await deliver(serviceKey());
    expect(outcome.status).toBe('canary');
    expect(await item('CANARY#service#ingest')).toMatchObject({ status: 'running', sha: SHA });
  });

  test('an end event of another application is rejected and records nothing live', async () => {
    const event = deploymentEnded('d-1', 'SUCCESS');
    event.detail.application = 'someone-else';
    const [outcome] = (await handleEvent(triggerDeps(), event)) as Outcome[];
    expect(outcome?.status).toBe('rejected');
    expect(await item('LIVE#service#ingest')).toBeUndefined();
  });
});

describe('order of a model retrained in its environment', () => {
  const RETRAINED = 'd'.repeat(40);

  test('ordered right after the live model it was trained from: a pipeline run started before its training ended still goes live after it', async () => {
    expect((await deliver(modelKey())).status).toBe('deployed');
    // Retrained from the live model's code; its own published-at is when training ended (10:00).
    published.set(modelKey(RETRAINED), '2025-06-01T10:00:00Z');
    retrainedFrom.set(modelKey(RETRAINED), SHA);
    const retrained = await deliver(modelKey(RETRAINED), { id: 'event-r', versionId: 'vr' });
    expect(retrained.status).toBe('deployed');
    expect(await item('LIVE#model#ranker')).toMatchObject({
      sha: RETRAINED,
      retrainedFrom: SHA,
      publishedAt: '2025-06-01T09:00:00.001Z',
    });
    // A release that started at 09:30 (an approval held it) publishes now: newer, so it goes live.
    published.set(modelKey(SHA2), '2025-06-01T09:30:00Z');
    expect((await deliver(modelKey(SHA2), { id: 'event-2', versionId: 'v2' })).status).toBe('deployed');
    expect(await item('LIVE#model#ranker')).toMatchObject({ sha: SHA2 });
  });

  test('retrained from code that is no longer live: skipped, the newer model stays live', async () => {
    await deliver(modelKey());
    published.set(modelKey(SHA2), '2025-06-01T09:30:00Z');
    await deliver(modelKey(SHA2), { id: 'event-2', versionId: 'v2' });
    published.set(modelKey(RETRAINED), '2025-06-01T10:00:00Z');
    retrainedFrom.set(modelKey(RETRAINED), SHA);
    const stale = await deliver(modelKey(RETRAINED), { id: 'event-r', versionId: 'vr' });
    expect(stale.status).toBe('skipped');
    expect(stale.reason).toContain(
      `retrained from the training code of commit ${SHA}, but the live model is of commit ${SHA2}`,
    );
    expect(await item('LIVE#model#ranker')).toMatchObject({ sha: SHA2 });
  });

  test('the same retrained model delivered again once live: skipped as already live', async () => {
    await deliver(modelKey());
    published.set(modelKey(RETRAINED), '2025-06-01T10:00:00Z');
    retrainedFrom.set(modelKey(RETRAINED), SHA);
    await deliver(modelKey(RETRAINED), { id: 'event-r', versionId: 'vr' });
    const again = await deliver(modelKey(RETRAINED), { id: 'event-r2', versionId: 'vr2' });
    expect(again).toMatchObject({ status: 'skipped' });
    expect(again.reason).toContain('already live');
  });
});

describe('bake of a model', () => {
  /** Puts commit SHA of ranker live (no bake: nothing before it), then SHA2 (baked). */
  async function twoReleases(): Promise<Outcome> {
    const first = await deliver(modelKey());
    expect(first.status).toBe('deployed');
    expect(await item('BAKE#model#ranker')).toBeUndefined();
    published.set(modelKey(SHA2), '2025-06-01T09:30:00Z');
    return deliver(modelKey(SHA2), { id: 'event-2', versionId: 'v2' });
  }

  test('the pointer moves, and the bake is recorded: until when, what watches it, what it goes back to', async () => {
    const second = await twoReleases();
    expect(second.status).toBe('deployed');
    expect(second.reason).toContain(`alarm ${PREDICT_ERRORS} moves it back to main/ranker-${SHA}.tar.gz`);
    expect(await item('BAKE#model#ranker')).toMatchObject({
      sha: SHA2,
      alarms: [PREDICT_ERRORS],
      until: '2025-06-01T10:10:00.000Z',
      previous: expect.objectContaining({ sha: SHA, deployedRef: `main/ranker-${SHA}.tar.gz` }),
    });
  });

  test("the predict errors alarm during the bake moves the pointer back: ledger rolled-back with the alarm's name, previous live record restored", async () => {
    await twoReleases();
    ssm.resetHistory();
    clock.advance(3 * 60_000);
    const outcomes = (await handleEvent(
      triggerDeps('request-alarm'),
      alarmFired(PREDICT_ERRORS),
    )) as Outcome[];
    expect(outcomes).toEqual([
      expect.objectContaining({ status: 'rolled-back', name: 'ranker', sha: SHA2, alarms: [PREDICT_ERRORS] }),
    ]);
    expect(ssm).toHaveReceivedCommandWith(PutParameterCommand, {
      Name: main.modelPointer('ranker'),
      Value: `main/ranker-${SHA}.tar.gz`,
      Overwrite: true,
    });
    expect(await item('LIVE#model#ranker')).toMatchObject({
      sha: SHA,
      deployedRef: `main/ranker-${SHA}.tar.gz`,
    });
    // Ended, not deleted (the trigger never deletes from the ledger; its role has no DeleteItem).
    expect(await item('BAKE#model#ranker')).toMatchObject({ sha: SHA2, endedAt: expect.any(String) });
    // Once: a duplicate alarm event finds no open bake.
    expect(await handleEvent(triggerDeps('request-alarm-2'), alarmFired(PREDICT_ERRORS))).toEqual([]);
  });

  test('a rollback that died after putting the pointer back is recorded by the retried alarm event', async () => {
    await twoReleases();
    const original = ledger.db.send.bind(ledger.db);
    let failed = false;
    const spy = jest.spyOn(ledger.db, 'send').mockImplementation(((command: {
      input?: { Item?: { status?: string } };
    }) => {
      if (!failed && command.input?.Item?.status === 'rolled-back') {
        failed = true;
        return Promise.reject(new Error('network down'));
      }
      return original(command as never);
    }) as never);
    await expect(handleEvent(triggerDeps('request-alarm'), alarmFired(PREDICT_ERRORS))).rejects.toThrow(
      'network down',
    );
    spy.mockRestore();
    expect(await item('LIVE#model#ranker')).toMatchObject({ sha: SHA });
    const retried = (await handleEvent(
      triggerDeps('request-alarm'),
      alarmFired(PREDICT_ERRORS),
    )) as Outcome[];
    expect(retried).toEqual([expect.objectContaining({ status: 'rolled-back', alarms: [PREDICT_ERRORS] })]);
    expect(await item('BAKE#model#ranker')).toMatchObject({ endedAt: expect.any(String) });
  });

  test('an alarm after the bake ended rolls nothing back', async () => {
    await twoReleases();
    ssm.resetHistory();
    clock.advance(11 * 60_000);
    expect(await handleEvent(triggerDeps('request-alarm'), alarmFired(PREDICT_ERRORS))).toEqual([]);
    expect(ssm).not.toHaveReceivedCommand(PutParameterCommand);
    expect(await item('LIVE#model#ranker')).toMatchObject({ sha: SHA2 });
    expect(await item('BAKE#model#ranker')).toMatchObject({ sha: SHA2, endedAt: expect.any(String) });
  });

  test("a bake that ended does not hold back the next one: a new release's bake is open again", async () => {
    await twoReleases();
    clock.advance(11 * 60_000);
    expect(await handleEvent(triggerDeps('request-alarm'), alarmFired(PREDICT_ERRORS))).toEqual([]);
    published.set(modelKey(SHA3), '2025-06-01T09:45:00Z');
    expect((await deliver(modelKey(SHA3), { id: 'event-3', versionId: 'v3' })).status).toBe('deployed');
    const bake = await item('BAKE#model#ranker');
    expect(bake).toMatchObject({ sha: SHA3 });
    expect(bake).not.toHaveProperty('endedAt');
    const outcomes = (await handleEvent(
      triggerDeps('request-alarm-3'),
      alarmFired(PREDICT_ERRORS),
    )) as Outcome[];
    expect(outcomes).toEqual([expect.objectContaining({ status: 'rolled-back', sha: SHA3 })]);
  });

  test('another alarm of main (not one the bake watches) rolls nothing back', async () => {
    await twoReleases();
    ssm.resetHistory();
    expect(await handleEvent(triggerDeps('request-alarm'), alarmFired(ALARMS[1] ?? ''))).toEqual([]);
    expect(ssm).not.toHaveReceivedCommand(PutParameterCommand);
  });

  test('its alarm already in ALARM before the pointer moves: refused naming the alarm, pointer unchanged', async () => {
    await deliver(modelKey());
    ssm.resetHistory();
    alarmStates({ [PREDICT_ERRORS]: 'ALARM' });
    published.set(modelKey(SHA2), '2025-06-01T09:30:00Z');
    const outcome = await deliver(modelKey(SHA2), { id: 'event-2', versionId: 'v2' });
    expect(outcome).toMatchObject({ status: 'failed', alarms: [PREDICT_ERRORS] });
    expect(outcome.reason).toContain('pointer unchanged');
    expect(ssm).not.toHaveReceivedCommand(PutParameterCommand);
    expect(await item('LIVE#model#ranker')).toMatchObject({ sha: SHA });
  });
});
