import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { CodeDeployClient } from '@aws-sdk/client-codedeploy';
/**
 * A model published while inference sleeps (issue 12: "without losing a model deploy"): the real deploy
 * trigger (lambda/deploy-trigger/deploy.ts) and the real endpoint owner (lambda/inference-endpoint/)
 * over one ledger on dynalite (a DynamoDB implementation over the wire: every claim, lease, live record
 * and waiting item is a real conditional write), one SSM store (the state parameter the owner writes
 * and the trigger reads, the registration, the pointer), SageMaker's endpoint lifecycle (./fakes), and
 * S3 and SageMaker Runtime mocked.
 */
import {
  CopyObjectCommand,
  GetObjectCommand,
  type GetObjectCommandInput,
  HeadObjectCommand,
  type HeadObjectCommandInput,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { InvokeEndpointCommand, SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { type DynamoDBDocumentClient, GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { Logger } from '@aws-lambda-powertools/logger';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { type Deps as TriggerDeps, processEvent } from '../../../lambda/deploy-trigger/deploy';
import { type LedgerOnDynalite, withTransactionsOneByOne } from '../../fixtures/ledger-dynalite';
import { handleEvent, handleIsComplete } from '../../../lambda/inference-endpoint/dispatch';
import { reconcile } from '../../../lambda/inference-endpoint/reconcile';
import { WAITING_PK, waitingSk } from '../../../lambda/shared/inference-schedule';
import {
  GOOD_ANSWER,
  SHA,
  SHA2,
  endpointAnswer,
  modelArchive,
  objectBody,
  ranged,
  s3Event,
  settings as triggerSettings,
} from '../deploy-trigger/fakes';
import { MONDAY_0700, SATURDAY_0300, SCOPE, TABLE, type World, request, startLedger, world } from './fakes';

let ledger: LedgerOnDynalite;
let db: DynamoDBDocumentClient;
let w: World;
const s3 = mockClient(S3Client);
const runtime = mockClient(SageMakerRuntimeClient);

const main = SCOPE.biome('main');
const ARCHIVE = modelArchive();
const key = (sha = SHA) => `main/ranker-${sha}.tar.gz`;
const published = (sha: string) => (sha === SHA ? '2026-12-05T02:00:00Z' : '2026-12-05T02:30:00Z');

afterAll(() => {
  s3.restore();
  runtime.restore();
});

/** The landing objects of both commits; the model location, which refuses to overwrite (If-None-Match). */
function serveS3() {
  const copied = new Set<string>();
  s3.reset();
  s3.on(HeadObjectCommand).callsFake((i: HeadObjectCommandInput) => {
    const sha = i.Key!.includes(SHA2) ? SHA2 : SHA;
    return {
      ContentLength: ARCHIVE.bytes.length,
      Metadata: { 'commit-sha': sha, 'published-at': published(sha) },
    };
  });
  s3.on(GetObjectCommand).callsFake((i: GetObjectCommandInput) => ({
    Body: objectBody(ranged(ARCHIVE.bytes, i.Range)),
  }));
  s3.on(CopyObjectCommand).callsFake((i: { Key: string }) => {
    if (copied.has(i.Key)) {
      throw new S3ServiceException({
        name: 'PreconditionFailed',
        $fault: 'client',
        $metadata: { httpStatusCode: 412 },
        message: 'At least one of the pre-conditions you specified did not hold',
      });
    }
    copied.add(i.Key);
    return {};
  });
}

function trigger(owner: string): TriggerDeps {
  return {
    settings: { ...triggerSettings, scope: SCOPE, ledgerTable: TABLE },
    s3: new S3Client({ region: 'eu-west-1' }),
    lambda: w.deps.lambda,
    ssm: w.deps.ssm,
    // dynalite has no TransactWriteItems: the trigger's one transaction runs as its parts.
    db: withTransactionsOneByOne(db),
    sagemaker: new SageMakerRuntimeClient({ region: 'eu-west-1' }),
    codedeploy: new CodeDeployClient({ region: 'eu-west-1' }),
    cloudwatch: new CloudWatchClient({ region: 'eu-west-1' }),
    logger: new Logger({ serviceName: 'deploy-trigger-test', logLevel: 'SILENT' }),
    now: () => w.clock.now,
    sleep: () => Promise.resolve(),
    owner,
    remainingMs: () => 600_000,
  };
}

const pointer = () => w.ssm.values.get(main.modelPointer('ranker'));
const waitingItem = async () =>
  (
    await db.send(
      new GetCommand({ TableName: TABLE, Key: { pk: WAITING_PK, sk: waitingSk('main', 'ranker') } }),
    )
  ).Item;
const history = async () =>
  (
    await db.send(
      new QueryCommand({
        TableName: TABLE,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :sk)',
        ExpressionAttributeValues: { ':pk': 'BIOME#main', ':sk': 'HISTORY#model#ranker#' },
      }),
    )
  ).Items ?? [];

beforeEach(async () => {
  // A fresh ledger per test: claims and live records of one must not meet the next.
  ledger = await startLedger();
  db = ledger.db;
  w = world(db, SATURDAY_0300);
  serveS3();
  runtime.reset();
  runtime.on(InvokeEndpointCommand).resolves(endpointAnswer(GOOD_ANSWER));
  w.ssm.values.set(
    main.modelRegistration('ranker'),
    JSON.stringify({ pointerParameter: main.modelPointer('ranker') }),
  );
  w.ssm.values.set(main.modelPointer('ranker'), 'none');
  // The shared stack was deployed on Saturday night: the endpoint sleeps until Monday 07:00.
  const create = request('Create');
  const response = await handleEvent(w.deps, create);
  await handleIsComplete(w.deps, { ...create, ...response });
  expect(w.ssm.state()?.state).toBe('asleep');
});
afterEach(async () => {
  w.restore();
  await ledger.stop();
});

test('a model published while asleep waits, copied; at the wake it is validated and its pointer moves', async () => {
  const first = await processEvent(trigger('request-1'), s3Event(key(), { id: 'night', versionId: 'v1' }));
  expect(first).toMatchObject({ status: 'waiting', sha: SHA });
  expect(first.reason).toMatch(
    /the inference endpoint is asleep: the model is copied and waits; .* \(inference is asleep until 2026-12-07T07:00:00\.000Z; run `npm run wake -- --env dev` to wake it\)/,
  );
  expect(s3).toHaveReceivedCommandTimes(CopyObjectCommand, 1);
  expect(runtime).not.toHaveReceivedCommand(InvokeEndpointCommand);
  expect(pointer()).toBe('none');
  expect(await waitingItem()).toMatchObject({ biome: 'main', name: 'ranker', key: key(), versionId: 'v1' });

  // EventBridge delivers the same event again a minute later: it waits again, one waiting item.
  w.clock.now = new Date('2026-12-05T03:01:00.000Z');
  expect(
    (await processEvent(trigger('request-2'), s3Event(key(), { id: 'night', versionId: 'v1' }))).status,
  ).toBe('waiting');

  // Monday 07:00: the schedule wakes the endpoint; once in service the waiting deploy is delivered.
  w.clock.now = new Date(MONDAY_0700);
  expect((await reconcile(w.deps)).action).toBe('created');
  expect(w.invoked).toHaveLength(0);
  w.sagemaker.settle();
  w.clock.now = new Date('2026-12-07T07:10:00.000Z');
  expect(await reconcile(w.deps)).toMatchObject({ action: 'marked-awake', delivered: 1 });
  expect(w.invoked).toHaveLength(1);
  expect(await waitingItem()).toBeUndefined();

  // The deploy trigger takes the delivered event like S3's: the claim of that object version is free.
  const later = await processEvent(trigger('request-3'), w.invoked[0]);
  expect(later).toMatchObject({ status: 'deployed', sha: SHA, deployedRef: key() });
  expect(runtime).toHaveReceivedCommandTimes(InvokeEndpointCommand, 1);
  expect(pointer()).toBe(key());
  expect((await history()).map((h) => h.status)).toEqual(['waiting', 'waiting', 'deployed']);
  // A later run finds nothing to deliver.
  w.clock.now = new Date('2026-12-07T07:15:00.000Z');
  expect(await reconcile(w.deps)).toMatchObject({ action: 'none', delivered: 0 });
});

test('two publications while asleep: only the newer waits; the older, arriving late, is skipped', async () => {
  expect((await processEvent(trigger('r1'), s3Event(key(SHA2), { id: 'e2', versionId: 'v2' }))).status).toBe(
    'waiting',
  );
  const older = await processEvent(trigger('r2'), s3Event(key(SHA), { id: 'e1', versionId: 'v1' }));
  expect(older.status).toBe('skipped');
  expect(older.reason).toMatch(/a newer publication of model "ranker" already waits for it/);
  expect(await waitingItem()).toMatchObject({ key: key(SHA2) });
  expect(pointer()).toBe('none');
});

test('an endpoint missing although the state says awake (deleted by hand): the deploy waits for it too', async () => {
  w.clock.now = new Date(MONDAY_0700);
  await reconcile(w.deps);
  w.sagemaker.settle();
  await reconcile(w.deps);
  expect(w.ssm.state()?.state).toBe('awake');
  runtime.on(InvokeEndpointCommand).rejects(
    Object.assign(new Error('Endpoint biomes-dev-models of account 222222222222 not found.'), {
      name: 'ValidationError',
    }),
  );
  const outcome = await processEvent(trigger('r1'), s3Event(key(), { id: 'e1' }));
  expect(outcome.status).toBe('waiting');
  expect(outcome.reason).toMatch(/endpoint mme does not exist \(ValidationError: Endpoint .* not found\.\)/);
  expect(pointer()).toBe('none');
  expect(await waitingItem()).toMatchObject({ key: key() });
});
