/**
 * The ledger records of a CDK deploy, a destroy and a hotswap, against the in-memory ledger of ./fixtures:
 * which items are written, kept and removed, and which requests are refused or ignored.
 */
import { BatchWriteCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { ListTagsCommand } from '@aws-sdk/client-lambda';
import 'aws-sdk-client-mock-jest';
import { PROPERTY } from '../../../lambda/sandpit-ledger/properties';
import {
  functionOf,
  parseRecorderEvent,
  recordDeploy,
  recordDestroy,
  recordHotswap,
} from '../../../lambda/sandpit-ledger/record';
import {
  ALICE_STACK,
  DEPLOYER_ROLE,
  INGEST_FN,
  NOW,
  PREDICT_FN,
  SHA,
  SHA2,
  biomeTags,
  deployEvent,
  deps,
  functionArn,
  hotswapEvent,
  mocks,
  properties,
  stackId,
  stackStatusEvent,
} from './fixtures';

const P = 'BIOME#alice-b';
let m: ReturnType<typeof mocks>;

beforeEach(() => {
  m = mocks({
    [functionArn(INGEST_FN)]: biomeTags('alice-b'),
    [functionArn(PREDICT_FN)]: biomeTags('alice-b'),
    [functionArn('biomes-dev-bob-Fn')]: biomeTags('bob'),
    [functionArn('biomes-prod-alice-b-Fn')]: biomeTags('alice-b', 'biomes', 'prod'),
    [functionArn('biomes-dev-mainly-Fn')]: biomeTags('main'),
  });
});
afterEach(() => {
  m.ddb.restore();
  m.lambda.restore();
});

describe('CDK deploy (Custom::SandpitDeploy)', () => {
  test('Create writes a cdk LIVE record and a history item per service, the SANDPIT record and its history', async () => {
    const response = await recordDeploy(deps(), deployEvent('Create'));
    expect(response).toEqual({
      PhysicalResourceId: 'sandpit-deploy-alice-b',
      Data: { ExpiresAt: '2025-06-08T10:00:00.000Z' },
    });
    expect(m.table.get(P, 'LIVE#service#ingest')).toEqual({
      pk: P,
      sk: 'LIVE#service#ingest',
      biome: 'alice-b',
      kind: 'service',
      name: 'ingest',
      sha: SHA,
      source: 'cdk',
      dirty: false,
      publishedAt: NOW.toISOString(),
      liveSince: NOW.toISOString(),
      key: `cdk:biomes-dev-alice-b:${SHA}`,
      deployedRef: `${INGEST_FN}:3`,
      livePartition: 'LIVE',
      liveSort: 'alice-b#service#ingest',
    });
    expect(m.table.get(P, 'LIVE#service#predict')).toMatchObject({ deployedRef: `${PREDICT_FN}:5` });
    expect(m.table.keys(P, 'HISTORY#service#')).toEqual([
      `HISTORY#service#ingest#${NOW.toISOString()}#cfn-req-0001`,
      `HISTORY#service#predict#${NOW.toISOString()}#cfn-req-0001`,
    ]);
    expect(m.table.get(P, `HISTORY#service#ingest#${NOW.toISOString()}#cfn-req-0001`)).toMatchObject({
      status: 'deployed',
      source: 'cdk',
      sha: SHA,
      dirty: false,
      deployedRef: `${INGEST_FN}:3`,
      reason: 'cdk deploy',
    });
    expect(m.table.get(P, 'SANDPIT')).toEqual({
      pk: P,
      sk: 'SANDPIT',
      biome: 'alice-b',
      stackName: 'biomes-dev-alice-b',
      stackId: ALICE_STACK,
      owner: 'alice@example.com',
      ttlDays: 7,
      keep: false,
      lastDeployAt: NOW.toISOString(),
      expiresAt: '2025-06-08T10:00:00.000Z',
      commit: SHA,
      dirty: false,
      status: 'active',
      functions: { ingest: INGEST_FN, predict: PREDICT_FN },
      livePartition: 'LIVE',
      liveSort: 'alice-b#sandpit',
    });
    expect(m.table.keys(P, 'HISTORY#sandpit#')).toEqual([
      `HISTORY#sandpit#${NOW.toISOString()}#cfn-req-0001`,
    ]);
    expect(m.table.get(P, `HISTORY#sandpit#${NOW.toISOString()}#cfn-req-0001`)).toMatchObject({
      status: 'active',
      reason: 'cdk deploy',
      requestType: 'Create',
    });
    // One chunk: 2 services x 2 items + SANDPIT + its history.
    expect(m.table.batchSizes).toEqual([6]);
  });

  test('Update records previousSha, replaces a pipeline record and drops its mayBeAhead mark', async () => {
    m.table.set({
      pk: P,
      sk: 'LIVE#service#ingest',
      name: 'ingest',
      sha: SHA2,
      source: 'pipeline',
      deployedRef: '2',
      publishedAt: '2025-05-30T00:00:00.000Z',
      mayBeAhead: 'hotswapped',
      hotswappedAt: '2025-05-31T00:00:00.000Z',
    });
    m.table.set({ pk: P, sk: 'SANDPIT', status: 'notified', mayBeAhead: 'hotswapped', noticeSentFor: 'x' });
    await recordDeploy(deps(), deployEvent('Update', properties({ [PROPERTY.dirty]: 'true' })));
    const ingest = m.table.get(P, 'LIVE#service#ingest');
    expect(ingest).toMatchObject({ sha: SHA, previousSha: SHA2, source: 'cdk', dirty: true });
    expect(ingest).not.toHaveProperty('mayBeAhead');
    expect(ingest).not.toHaveProperty('hotswappedAt');
    expect(m.table.get(P, 'LIVE#service#predict')).not.toHaveProperty('previousSha');
    expect(m.table.get(P, `HISTORY#service#ingest#${NOW.toISOString()}#cfn-req-0001`)).toMatchObject({
      previousSha: SHA2,
    });
    const sandpit = m.table.get(P, 'SANDPIT');
    expect(sandpit).toMatchObject({ status: 'active', dirty: true });
    expect(sandpit).not.toHaveProperty('mayBeAhead');
    expect(sandpit).not.toHaveProperty('noticeSentFor');
  });

  test('a deploy that changes only the lifetime keeps when each version went live', async () => {
    await recordDeploy(deps({ now: () => new Date('2025-06-01T00:00:00.000Z') }), deployEvent('Create'));
    await recordDeploy(deps(), deployEvent('Update', properties({ [PROPERTY.ttlDays]: '14' })));
    expect(m.table.get(P, 'LIVE#service#ingest')).toMatchObject({
      liveSince: '2025-06-01T00:00:00.000Z',
      publishedAt: NOW.toISOString(),
    });
    expect(m.table.get(P, 'LIVE#service#ingest')).not.toHaveProperty('previousSha');
    expect(m.table.get(P, 'SANDPIT')).toMatchObject({ ttlDays: 14, expiresAt: '2025-06-15T10:00:00.000Z' });
  });

  test('a service the stack no longer has stops being live; models published by the pipeline stay', async () => {
    m.table.set({ pk: P, sk: 'LIVE#service#retired', name: 'retired', sha: SHA2, deployedRef: '4' });
    m.table.set({ pk: P, sk: 'LIVE#model#ranker', name: 'ranker', sha: SHA2 });
    await recordDeploy(deps(), deployEvent('Update'));
    expect(m.table.keys(P, 'LIVE#')).toEqual([
      'LIVE#model#ranker',
      'LIVE#service#ingest',
      'LIVE#service#predict',
    ]);
    expect(m.table.get(P, `HISTORY#service#retired#${NOW.toISOString()}#cfn-req-0001`)).toMatchObject({
      status: 'removed',
      previousSha: SHA2,
    });
  });

  test('commit "unknown" (not a Git tree) is recorded as it is', async () => {
    await recordDeploy(deps(), deployEvent('Create', properties({ [PROPERTY.commit]: 'unknown' })));
    expect(m.table.get(P, 'LIVE#service#ingest')).toMatchObject({
      sha: 'unknown',
      key: 'cdk:biomes-dev-alice-b:unknown',
    });
  });

  test('Delete returns its physical id and writes nothing (the DELETE_COMPLETE event records it)', async () => {
    // Even with properties a Create would refuse: a Delete must never block the stack's deletion.
    const response = await recordDeploy(deps(), deployEvent('Delete', { Biome: 'main' }));
    expect(response).toEqual({ PhysicalResourceId: 'sandpit-deploy-alice-b' });
    expect(m.ddb).not.toHaveReceivedCommand(BatchWriteCommand);
    expect(m.ddb).not.toHaveReceivedCommand(PutCommand);
    expect(m.table.items.size).toBe(0);
  });

  describe('the fence: a stack writes only its own sandpit', () => {
    test.each([
      [
        'another biome than its stack',
        properties({ [PROPERTY.biome]: 'bob' }),
        ALICE_STACK,
        /Stack biomes-dev-alice-b may record only its own biome: Biome "bob" belongs to stack biomes-dev-bob/,
      ],
      [
        'a stack id of another stack',
        properties(),
        stackId('biomes-dev-bob'),
        /Stack biomes-dev-bob may record only its own biome/,
      ],
      [
        'a stack id that is not an ARN',
        properties(),
        'biomes-dev-alice-b',
        /StackId "biomes-dev-alice-b" is not a stack ARN/,
      ],
      [
        'the mainline biome',
        properties({ [PROPERTY.biome]: 'main' }),
        stackId('biomes-dev-main'),
        /sandpits only \(never the mainline biome\): stack biomes-dev-main sent Biome "main" is reserved/,
      ],
      [
        'another environment',
        properties({ [PROPERTY.env]: 'staging' }),
        stackId('biomes-staging-alice-b'),
        /of biomes\/dev records only its own sandpits: stack biomes-staging-alice-b sent App "biomes", Env "staging"/,
      ],
      [
        'another app',
        properties({ [PROPERTY.app]: 'other' }),
        stackId('other-dev-alice-b'),
        /sent App "other"/,
      ],
    ])('refuses %s', async (_what, props, stack, message) => {
      await expect(recordDeploy(deps(), deployEvent('Create', props, stack))).rejects.toThrow(message);
      expect(m.table.items.size).toBe(0);
    });
  });

  test.each([
    [PROPERTY.owner, 'alice', /Owner: "alice" is not an email address/],
    [PROPERTY.ttlDays, '0', /TtlDays: must be a positive whole number/],
    [PROPERTY.keep, 'yes', /Keep: must be the string "true" or "false"/],
    [PROPERTY.commit, 'abc', /Commit: must be the full 40-character/],
    [
      PROPERTY.services,
      '{"ingest":{"functionName":"f","version":"$LATEST"}}',
      /Services: .*version: must be a published version number/,
    ],
    [PROPERTY.services, 'not json', /Services: must be a JSON object/],
    [
      PROPERTY.services,
      '{"Bad_Name":{"functionName":"f","version":"1"}}',
      /Services: Bad_Name: service name "Bad_Name" must match/,
    ],
  ])('a bad %s property fails the deploy with what is wrong', async (property, value, message) => {
    await expect(
      recordDeploy(deps(), deployEvent('Create', properties({ [property]: value }))),
    ).rejects.toThrow(message);
    expect(m.table.items.size).toBe(0);
  });

  test('many services are written in chunks of 25; throttled items are retried', async () => {
    const services = Object.fromEntries(
      Array.from({ length: 20 }, (_, i) => [
        `svc-${String(i)}`,
        { functionName: `biomes-dev-alice-b-F${String(i)}`, version: '1' },
      ]),
    );
    m.table.throttleBatches = 2;
    const sleeps: number[] = [];
    await recordDeploy(
      deps({ sleep: (ms) => Promise.resolve(void sleeps.push(ms)) }),
      deployEvent('Create', properties({ [PROPERTY.services]: JSON.stringify(services) })),
    );
    expect(m.table.keys(P, 'LIVE#service#')).toHaveLength(20);
    expect(m.table.batchSizes.every((n) => n <= 25)).toBe(true);
    // 42 requests: 25 with one left unprocessed, retried twice (waits doubling), then the other 17.
    expect(m.table.batchSizes).toEqual([25, 1, 1, 17]);
    expect(sleeps).toEqual([100, 200]);
  });

  test('items still unprocessed after every attempt fail the request', async () => {
    m.table.throttleBatches = 100;
    await expect(recordDeploy(deps(), deployEvent('Create'))).rejects.toThrow(
      /still unprocessed after 8 attempts/,
    );
  });
});

describe('destroy (Stack Status Change)', () => {
  function seed(): void {
    m.table.set({ pk: P, sk: 'LIVE#service#ingest', name: 'ingest' });
    m.table.set({ pk: P, sk: 'LIVE#model#ranker', name: 'ranker' });
    m.table.set({ pk: P, sk: 'SANDPIT', stackId: ALICE_STACK, owner: 'alice@example.com' });
    m.table.set({ pk: P, sk: 'PENDING#model#ranker', publishedAt: 'x' });
    m.table.set({ pk: P, sk: 'HISTORY#service#ingest#2025-05-01T00:00:00.000Z#e1', status: 'deployed' });
    m.table.set({ pk: 'BIOME#alice', sk: 'LIVE#service#ingest', name: 'ingest' });
  }

  test('DELETE_COMPLETE removes the LIVE and SANDPIT records, keeps history, appends destroyed', async () => {
    seed();
    const outcome = await recordDestroy(deps(), stackStatusEvent());
    expect(outcome).toEqual({ action: 'destroyed', biome: 'alice-b', deleted: 3 });
    expect(m.table.keys(P)).toEqual([
      'HISTORY#sandpit#2025-06-02T08:00:00.000Z#destroy-11111111-2222-3333-4444-555555555555',
      'HISTORY#service#ingest#2025-05-01T00:00:00.000Z#e1',
      'PENDING#model#ranker',
    ]);
    expect(
      m.table.get(P, 'HISTORY#sandpit#2025-06-02T08:00:00.000Z#destroy-11111111-2222-3333-4444-555555555555'),
    ).toMatchObject({
      status: 'destroyed',
      stackId: ALICE_STACK,
      owner: 'alice@example.com',
      removed: ['LIVE#model#ranker', 'LIVE#service#ingest'],
      recordedAt: NOW.toISOString(),
    });
    // Another biome whose name the first one prefixes is untouched.
    expect(m.table.keys('BIOME#alice')).toEqual(['LIVE#service#ingest']);
  });

  test('a duplicate event deletes nothing more and appends no second destroyed', async () => {
    seed();
    await recordDestroy(deps(), stackStatusEvent());
    const before = [...m.table.items.keys()].sort();
    m.ddb.resetHistory();
    // A later delivery (another time) of the same destroy.
    const again = await recordDestroy(deps(), { ...stackStatusEvent(), time: '2025-06-02T09:00:00Z' });
    expect(again).toEqual({ action: 'already-destroyed', biome: 'alice-b' });
    expect([...m.table.items.keys()].sort()).toEqual(before);
    expect(m.ddb).not.toHaveReceivedCommand(BatchWriteCommand);
    expect(m.ddb).not.toHaveReceivedCommand(PutCommand);
  });

  test('a retry after a failed delete finishes the deletes without a second destroyed item', async () => {
    seed();
    m.table.throttleBatches = 100;
    await expect(recordDestroy(deps(), stackStatusEvent())).rejects.toThrow(/unprocessed/);
    m.table.throttleBatches = 0;
    expect(await recordDestroy(deps(), stackStatusEvent())).toMatchObject({ action: 'destroyed' });
    expect(m.table.keys(P, 'HISTORY#sandpit#')).toHaveLength(1);
    expect(m.table.keys(P, 'LIVE#')).toEqual([]);
    expect(m.table.get(P, 'SANDPIT')).toBeUndefined();
  });

  test('live records of a biome no CDK deploy recorded are removed too', async () => {
    m.table.set({ pk: P, sk: 'LIVE#service#ingest', name: 'ingest' });
    expect(await recordDestroy(deps(), stackStatusEvent())).toEqual({
      action: 'destroyed',
      biome: 'alice-b',
      deleted: 1,
    });
    expect(m.table.keys(P, 'HISTORY#sandpit#')).toHaveLength(1);
  });

  test('a late delete of an earlier stack leaves the records of the new stack of that name', async () => {
    seed();
    const earlier = stackId('biomes-dev-alice-b', '99999999-0000-0000-0000-000000000000');
    expect(await recordDestroy(deps(), stackStatusEvent('DELETE_COMPLETE', earlier))).toMatchObject({
      action: 'ignored',
    });
    expect(m.table.get(P, 'SANDPIT')).toBeDefined();
  });

  test.each([
    ['another status', stackStatusEvent('DELETE_IN_PROGRESS'), /status DELETE_IN_PROGRESS/],
    ['a failed delete', stackStatusEvent('DELETE_FAILED'), /status DELETE_FAILED/],
    ['an update', stackStatusEvent('UPDATE_COMPLETE'), /status UPDATE_COMPLETE/],
    ['the mainline stack', stackStatusEvent('DELETE_COMPLETE', stackId('biomes-dev-main')), /not a sandpit/],
    ['the shared stack', stackStatusEvent('DELETE_COMPLETE', stackId('biomes-dev-shared')), /not a sandpit/],
    [
      'another environment',
      stackStatusEvent('DELETE_COMPLETE', stackId('biomes-staging-alice-b')),
      /not of biomes-dev-/,
    ],
    ['another app', stackStatusEvent('DELETE_COMPLETE', stackId('other-dev-alice-b')), /not of biomes-dev-/],
    [
      'a name off the biome grammar',
      stackStatusEvent('DELETE_COMPLETE', stackId('biomes-dev-Alice')),
      /not a sandpit/,
    ],
  ])('ignores %s', async (_what, event, reason) => {
    seed();
    const outcome = await recordDestroy(deps(), event);
    expect(outcome).toEqual({ action: 'ignored', reason: expect.stringMatching(reason) });
    expect(m.ddb).not.toHaveReceivedCommand(BatchWriteCommand);
    expect(m.table.get(P, 'SANDPIT')).toBeDefined();
  });
});

describe('hotswap (UpdateFunctionCode by the sandpit deployer)', () => {
  function seed(): void {
    m.table.set({ pk: P, sk: 'LIVE#service#ingest', name: 'ingest', deployedRef: `${INGEST_FN}:3` });
    m.table.set({ pk: P, sk: 'LIVE#service#predict', name: 'predict', deployedRef: `${PREDICT_FN}:5` });
    m.table.set({
      pk: P,
      sk: 'SANDPIT',
      status: 'active',
      functions: { ingest: INGEST_FN, predict: PREDICT_FN },
    });
  }

  test("marks the function's live records and the sandpit record, and appends an active history item", async () => {
    seed();
    const outcome = await recordHotswap(deps(), hotswapEvent());
    expect(outcome).toEqual({
      action: 'hotswapped',
      biome: 'alice-b',
      functionName: INGEST_FN,
      services: ['ingest'],
      sandpitMarked: true,
    });
    expect(m.lambda).toHaveReceivedCommandWith(ListTagsCommand, { Resource: functionArn(INGEST_FN) });
    expect(m.table.get(P, 'LIVE#service#ingest')).toMatchObject({
      mayBeAhead: 'hotswapped',
      hotswappedAt: '2025-06-01T12:00:00.000Z',
    });
    expect(m.table.get(P, 'LIVE#service#predict')).not.toHaveProperty('mayBeAhead');
    expect(m.table.get(P, 'SANDPIT')).toMatchObject({ mayBeAhead: 'hotswapped', status: 'active' });
    expect(m.table.get(P, 'HISTORY#sandpit#2025-06-01T12:00:00.000Z#hotswap-ct-0001')).toMatchObject({
      status: 'active',
      reason: `hotswapped ${INGEST_FN}`,
      services: ['ingest'],
    });
  });

  test('a record the pipeline wrote (deployedRef a bare version) is found through the sandpit record', async () => {
    seed();
    m.table.set({ pk: P, sk: 'LIVE#service#ingest', name: 'ingest', source: 'pipeline', deployedRef: '8' });
    expect(await recordHotswap(deps(), hotswapEvent())).toMatchObject({ services: ['ingest'] });
    expect(m.table.get(P, 'LIVE#service#ingest')).toMatchObject({ mayBeAhead: 'hotswapped' });
  });

  test('the function may be named by ARN or partial ARN in the request', async () => {
    seed();
    const byArn = hotswapEvent(INGEST_FN, DEPLOYER_ROLE, {
      requestParameters: { functionName: functionArn(INGEST_FN) },
      responseElements: null,
    });
    expect(await recordHotswap(deps(), byArn)).toMatchObject({ functionName: INGEST_FN });
    const partial = hotswapEvent(PREDICT_FN, DEPLOYER_ROLE, {
      requestParameters: { functionName: `222222222222:function:${PREDICT_FN}` },
      responseElements: null,
    });
    expect(await recordHotswap(deps(), partial)).toMatchObject({ services: ['predict'] });
  });

  test('a duplicate event marks the same and appends no second history item', async () => {
    seed();
    await recordHotswap(deps(), hotswapEvent());
    await recordHotswap(deps(), hotswapEvent());
    expect(m.table.keys(P, 'HISTORY#sandpit#')).toEqual([
      'HISTORY#sandpit#2025-06-01T12:00:00.000Z#hotswap-ct-0001',
    ]);
  });

  test('a sandpit without records gets no partial records, only the history item', async () => {
    const outcome = await recordHotswap(deps(), hotswapEvent());
    expect(outcome).toMatchObject({ action: 'hotswapped', services: [], sandpitMarked: false });
    expect(m.table.keys(P)).toEqual(['HISTORY#sandpit#2025-06-01T12:00:00.000Z#hotswap-ct-0001']);
  });

  test.each([
    [
      'another caller',
      hotswapEvent(INGEST_FN, `arn:aws:iam::222222222222:role/biomes-dev-sandpit-execution`),
      /is not the sandpit deployer/,
    ],
    ['an IAM user', hotswapEvent(INGEST_FN, DEPLOYER_ROLE, { userIdentity: {} }), /caller \(unknown\)/],
    [
      'another API call',
      hotswapEvent(INGEST_FN, DEPLOYER_ROLE, { eventName: 'UpdateFunctionConfiguration20150331v2' }),
      /is not UpdateFunctionCode/,
    ],
    ['a call that failed', hotswapEvent(INGEST_FN, DEPLOYER_ROLE, { errorCode: 'AccessDenied' }), /failed/],
    ['a mainline function', hotswapEvent('biomes-dev-main-IngestFn'), /not a sandpit function/],
    ['a shared function', hotswapEvent('biomes-dev-shared-Trigger'), /not a sandpit function/],
    ['a function of another environment', hotswapEvent('biomes-prod-alice-b-Fn'), /not a sandpit function/],
    ['a function tagged main', hotswapEvent('biomes-dev-mainly-Fn'), /not in a sandpit/],
    ['a function that no longer exists', hotswapEvent('biomes-dev-gone-Fn'), /no longer exists/],
    [
      'an event naming no function',
      hotswapEvent(INGEST_FN, DEPLOYER_ROLE, { requestParameters: null, responseElements: null }),
      /names no function/,
    ],
  ])('ignores %s', async (_what, event, reason) => {
    seed();
    const outcome = await recordHotswap(deps(), event);
    expect(outcome).toEqual({ action: 'ignored', reason: expect.stringMatching(reason) });
    expect(m.ddb).not.toHaveReceivedCommand(UpdateCommand);
    expect(m.ddb).not.toHaveReceivedCommand(PutCommand);
  });

  test('a function tagged for another app or environment is ignored', async () => {
    m.lambda.on(ListTagsCommand).resolves({ Tags: biomeTags('alice-b', 'biomes', 'staging') });
    seed();
    expect(await recordHotswap(deps(), hotswapEvent())).toMatchObject({
      action: 'ignored',
      reason: expect.stringMatching(/is not of biomes\/dev/),
    });
    expect(m.table.get(P, 'LIVE#service#ingest')).not.toHaveProperty('mayBeAhead');
  });

  test('a record removed between the read and the mark is not recreated', async () => {
    seed();
    const db = deps().db;
    const send = db.send.bind(db);
    let deleted = false;
    const racing = deps({
      db: Object.assign(Object.create(db) as typeof db, {
        send: ((command: Parameters<typeof send>[0]) => {
          if (!deleted && command instanceof UpdateCommand) {
            deleted = true;
            m.table.items.delete(`${P}|LIVE#service#ingest`);
          }
          return send(command);
        }) as typeof send,
      }),
    });
    expect(await recordHotswap(racing, hotswapEvent())).toMatchObject({ services: [], sandpitMarked: true });
    expect(m.table.get(P, 'LIVE#service#ingest')).toBeUndefined();
  });
});

describe('functionOf', () => {
  test("prefers the answer's ARN and falls back to the request, completing a bare name", () => {
    expect(functionOf(hotswapEvent(INGEST_FN), 'aws')).toEqual({
      name: INGEST_FN,
      arn: functionArn(INGEST_FN),
    });
    const bare = hotswapEvent(INGEST_FN, DEPLOYER_ROLE, { responseElements: null });
    expect(functionOf(bare, 'aws-cn')).toEqual({
      name: INGEST_FN,
      arn: `arn:aws-cn:lambda:eu-west-1:222222222222:function:${INGEST_FN}`,
    });
    const qualified = hotswapEvent(INGEST_FN, DEPLOYER_ROLE, {
      responseElements: null,
      requestParameters: { functionName: `${functionArn(INGEST_FN)}:live` },
    });
    expect(functionOf(qualified, 'aws')).toEqual({ name: INGEST_FN, arn: functionArn(INGEST_FN) });
  });
});

describe('parseRecorderEvent', () => {
  test('tells the three inputs apart by their shape', () => {
    expect(parseRecorderEvent(deployEvent('Create')).kind).toBe('deploy');
    expect(parseRecorderEvent(stackStatusEvent()).kind).toBe('stack-status');
    expect(parseRecorderEvent(hotswapEvent()).kind).toBe('api-call');
  });

  test('an off-shape event fails with what is missing', () => {
    expect(() => parseRecorderEvent({ RequestType: 'Create' })).toThrow(
      /Not a Custom::SandpitDeploy request.*StackId/,
    );
    expect(() => parseRecorderEvent({ source: 'aws.cloudformation', 'detail-type': 'x' })).toThrow(
      /Not a CloudFormation Stack Status Change event/,
    );
    expect(() => parseRecorderEvent({ source: 'aws.s3' })).toThrow(/Unknown event.*"aws.s3"/);
    expect(() => parseRecorderEvent(undefined)).toThrow(/Unknown event/);
  });
});
