import {
  ConditionalCheckFailedException,
  DynamoDBClient,
  TransactionCanceledException,
} from '@aws-sdk/client-dynamodb';
import {
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { Ledger } from '../../../lambda/deploy-trigger/ledger';
import { pk, sk } from '../../../lambda/deploy-trigger/ledger-keys';

const db = DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'eu-west-1' }));
const mock = mockClient(DynamoDBDocumentClient);
const ledger = new Ledger(db, 'ledger');
const ingest = ledger.target({ biome: 'main', kind: 'service', name: 'ingest' });
const now = new Date('2025-06-01T10:00:00.000Z');
const attempt = { owner: 'req', token: 'req:uuid-1' };
const FORWARD_ONLY =
  'attribute_not_exists(publishedAt) OR publishedAt < :new OR (publishedAt = :new AND #key = :key)';

beforeEach(() => mock.reset());
afterAll(() => mock.restore());

test('the layout answers "what is live in biome X" and "history of S in X" with one pk each', () => {
  expect(pk.biome('main')).toBe('BIOME#main');
  expect(sk.live('service', 'ingest')).toBe('LIVE#service#ingest');
  expect(sk.history('service', 'ingest', now.toISOString(), 'e1')).toBe(
    'HISTORY#service#ingest#2025-06-01T10:00:00.000Z#e1',
  );
  // A name that extends another never falls under its history prefix.
  expect(sk.history('service', 'ingest-v2', 'x', 'e').startsWith('HISTORY#service#ingest#')).toBe(false);
});

test('a claim is a conditional write, not an in-memory set', async () => {
  mock.on(UpdateCommand).resolves({ Attributes: {} });
  const { claim } = await ledger.claim('main/a.zip', 'v:1', attempt, now, 660);
  expect(claim).toBeDefined();
  expect(mock).toHaveReceivedCommandWith(UpdateCommand, {
    Key: { pk: 'OBJECT#main/a.zip', sk: 'DELIVERY#v:1' },
    ConditionExpression: expect.stringContaining('attribute_not_exists(#pk)'),
    ExpressionAttributeNames: expect.objectContaining({ '#pk': 'pk' }),
    ExpressionAttributeValues: expect.objectContaining({ ':lease': '2025-06-01T10:11:00.000Z' }),
  });
});

test('a taken claim returns the holder status', async () => {
  mock.on(UpdateCommand).rejects(new ConditionalCheckFailedException({ message: 'no', $metadata: {} }));
  mock.on(GetCommand).resolves({ Item: { status: 'deployed' } });
  expect(await ledger.claim('main/a.zip', 'v:1', attempt, now, 660)).toEqual({ heldStatus: 'deployed' });
});

test('the live record only moves forward in publication time; the same publication may write again (an SDK retry)', async () => {
  mock.on(PutCommand).rejects(new ConditionalCheckFailedException({ message: 'no', $metadata: {} }));
  const record = { sha: 'a', publishedAt: '2025', liveSince: '2025', key: 'k', deployedRef: '1' };
  expect(await ingest.setLive(record)).toBe(false);
  expect(mock).toHaveReceivedCommandWith(PutCommand, {
    ConditionExpression: FORWARD_ONLY,
    ExpressionAttributeNames: { '#key': 'key' },
    ExpressionAttributeValues: { ':new': '2025', ':key': 'k' },
  });
});

test('other DynamoDB errors are not mistaken for a lost race', async () => {
  mock.on(PutCommand).rejects(new Error('ProvisionedThroughputExceeded'));
  await expect(
    ingest.setLive({
      sha: 'a',
      publishedAt: '1',
      liveSince: '1',
      key: 'k',
      deployedRef: '1',
    }),
  ).rejects.toThrow(/ProvisionedThroughput/);
});

test('the same owner may retake its own running claim and lease (Lambda retries keep the request id)', async () => {
  mock.on(UpdateCommand).resolves({});
  await ledger.claim('main/a.zip', 'v:1', attempt, now, 660);
  await ingest.lock(attempt, now, 660);
  const [claim, lock] = mock.commandCalls(UpdateCommand).map((c) => c.args[0].input);
  expect(claim?.ConditionExpression).toBe(
    'attribute_not_exists(#pk) OR #status = :retryable OR (#status = :running AND (leaseUntil < :now OR #owner = :owner))',
  );
  // The key attribute is named through ExpressionAttributeNames: the table's key is still `pk`.
  expect(claim?.ExpressionAttributeNames).toMatchObject({ '#pk': 'pk' });
  expect(claim?.ExpressionAttributeValues).toMatchObject({ ':owner': 'req' });
  expect(lock?.ConditionExpression).toBe(
    'attribute_not_exists(expiresAt) OR expiresAt < :now OR #owner = :owner',
  );
});

test('the pending marker only moves forward in publication time (the same publication may mark again), checked with the live record in one transaction', async () => {
  mock.on(TransactWriteCommand).rejects(
    new TransactionCanceledException({
      message: 'cancelled',
      $metadata: {},
      CancellationReasons: [{ Code: 'ConditionalCheckFailed' }, { Code: 'None' }],
    }),
  );
  const pending = { sha: 'a', publishedAt: '2025', key: 'main/a.zip', since: 'now' };
  expect(await ingest.markPending(pending)).toBe(false);
  const [call] = mock.commandCalls(TransactWriteCommand);
  const [check, update] = call?.args[0].input.TransactItems ?? [];
  expect(check?.ConditionCheck).toMatchObject({
    Key: { pk: 'BIOME#main', sk: 'LIVE#service#ingest' },
    ConditionExpression: FORWARD_ONLY,
    ExpressionAttributeValues: { ':new': '2025', ':key': 'main/a.zip' },
  });
  expect(update?.Update).toMatchObject({
    Key: { pk: 'BIOME#main', sk: 'PENDING#service#ingest' },
    ConditionExpression: FORWARD_ONLY,
  });
  expect(mock).not.toHaveReceivedCommand(UpdateCommand);
});

test('a transaction cancelled for another reason (a conflict) is not mistaken for a newer publication', async () => {
  mock.on(TransactWriteCommand).rejects(
    new TransactionCanceledException({
      message: 'cancelled',
      $metadata: {},
      CancellationReasons: [{ Code: 'None' }, { Code: 'TransactionConflict' }],
    }),
  );
  const pending = { sha: 'a', publishedAt: '2025', key: 'main/a.zip', since: 'now' };
  await expect(ingest.markPending(pending)).rejects.toThrow(/cancelled/);
});

test('clearing the marker keeps its publication time: it stays the high-water mark', async () => {
  mock.on(UpdateCommand).resolves({});
  const pending = { sha: 'a', publishedAt: '2025', key: 'main/a.zip', since: 'now' };
  await ingest.clearPending(pending, now);
  const [call] = mock.commandCalls(UpdateCommand);
  expect(call?.args[0].input.UpdateExpression).not.toMatch(/REMOVE/);
  expect(call?.args[0].input.ExpressionAttributeValues).toMatchObject({ ':at': now.toISOString() });
});

test('claims and leases are released only by the attempt that holds them (its token), not by the request id', async () => {
  mock.on(UpdateCommand).resolves({});
  await ledger.claim('main/a.zip', 'v:1', attempt, now, 660);
  await ledger.release({ key: 'main/a.zip', identity: 'v:1', holder: attempt }, 'deployed', now);
  await ingest.lock(attempt, now, 660);
  await ingest.unlock(attempt);
  const [claim, release, lock, unlock] = mock.commandCalls(UpdateCommand).map((c) => c.args[0].input);
  for (const take of [claim, lock]) {
    expect(take?.UpdateExpression).toContain('#token = :token');
    expect(take?.ExpressionAttributeValues).toMatchObject({ ':owner': 'req', ':token': 'req:uuid-1' });
  }
  for (const free of [release, unlock]) {
    expect(free?.ConditionExpression).toBe('#token = :token');
    expect(free?.ExpressionAttributeValues).toMatchObject({ ':token': 'req:uuid-1' });
  }
});

test('the live state reads the live record and the pending marker, both consistently', async () => {
  mock
    .on(GetCommand, { Key: { pk: 'BIOME#main', sk: 'LIVE#service#ingest' } })
    .resolves({ Item: { sha: 'a', publishedAt: '1' } });
  mock
    .on(GetCommand, { Key: { pk: 'BIOME#main', sk: 'PENDING#service#ingest' } })
    .resolves({ Item: { sha: 'b', publishedAt: '2', key: 'k', since: 's' } });
  expect(await ingest.live()).toMatchObject({
    live: { sha: 'a', publishedAt: '1' },
    pending: { sha: 'b', publishedAt: '2' },
  });
  expect(mock.commandCalls(GetCommand).every((c) => c.args[0].input.ConsistentRead)).toBe(true);
});

describe('a ledger handle per target', () => {
  const outcome = {
    status: 'deployed' as const,
    reason: 'live',
    key: 'main/ingest-a.zip',
    objectVersion: 'v1',
    eventId: 'e1',
    sha: 'a',
    startedAt: '2025-06-01T09:59:00.000Z',
    finishedAt: now.toISOString(),
  };

  test("every per-target operation addresses the same biome partition and that target's sort keys", async () => {
    mock.on(UpdateCommand).resolves({});
    mock.on(GetCommand).resolves({});
    mock.on(PutCommand).resolves({});
    mock.on(TransactWriteCommand).resolves({});
    const ranker = ledger.target({ biome: 'alice-b', kind: 'model', name: 'ranker' });
    const pending = { sha: 'a', publishedAt: '2025', key: 'alice-b/r.tar.gz', since: 'now' };
    await ranker.lock(attempt, now, 660);
    await ranker.unlock(attempt);
    await ranker.live();
    await ranker.markPending(pending);
    await ranker.clearPending(pending, now);
    await ranker.setLive({ sha: 'a', publishedAt: '2025', liveSince: 'now', key: 'k', deployedRef: 'r' });
    const keys = [
      ...mock.commandCalls(UpdateCommand).map((c) => c.args[0].input.Key),
      ...mock.commandCalls(GetCommand).map((c) => c.args[0].input.Key),
      ...mock.commandCalls(PutCommand).map((c) => c.args[0].input.Item),
      ...(mock.commandCalls(TransactWriteCommand)[0]?.args[0].input.TransactItems ?? []).map(
        (t) => t.ConditionCheck?.Key ?? t.Update?.Key,
      ),
    ];
    expect(keys).toHaveLength(8);
    expect(new Set(keys.map((k) => k?.pk))).toEqual(new Set(['BIOME#alice-b']));
    expect(new Set(keys.map((k) => k?.sk))).toEqual(
      new Set(['LOCK#model#ranker', 'LIVE#model#ranker', 'PENDING#model#ranker']),
    );
  });

  test('the live record keeps its stored layout: keys, biome, kind, name, source, the record, then the live index keys', async () => {
    mock.on(PutCommand).resolves({});
    const record = {
      sha: 'a',
      publishedAt: '2025',
      liveSince: 'now',
      key: 'k',
      deployedRef: '4',
      previousSha: 'b',
    };
    await ingest.setLive(record);
    expect(mock.commandCalls(PutCommand)[0]?.args[0].input.Item).toEqual({
      pk: 'BIOME#main',
      sk: 'LIVE#service#ingest',
      biome: 'main',
      kind: 'service',
      name: 'ingest',
      source: 'pipeline',
      ...record,
      // The sparse index "what is live across the environment" (ledger-keys.ts LIVE_INDEX).
      livePartition: 'LIVE',
      liveSort: 'main#service#ingest',
    });
  });

  test("a model's live and history records carry its metrics and, retrained, where it came from", async () => {
    mock.on(PutCommand).resolves({});
    const ranker = ledger.target({ biome: 'main', kind: 'model', name: 'ranker' });
    const model = {
      metrics: { accuracy: 0.91, loss: 0.2 },
      retrainedFrom: 'c'.repeat(40),
      trainingData: 's3://models/training/main/ranker/',
      trainingJob: 'biomes-dev-main-train-20250601T090000',
    };
    await ranker.setLive({
      sha: 'a',
      publishedAt: '2025',
      liveSince: 'now',
      key: 'k',
      deployedRef: 'r',
      ...model,
    });
    await ranker.record({ ...outcome, status: 'failed', ...model }, now);
    const [live, history] = mock.commandCalls(PutCommand).map((c) => c.args[0].input.Item);
    expect(live).toMatchObject({ sk: 'LIVE#model#ranker', ...model });
    expect(history).toMatchObject({
      sk: expect.stringMatching(/^HISTORY#model#ranker#/),
      status: 'failed',
      ...model,
    });
  });

  test('history keeps its stored layout, whether written through the handle or by the ledger', async () => {
    mock.on(PutCommand).resolves({});
    await ingest.record({ ...outcome, previousSha: undefined }, now);
    await ledger.record({ ...outcome, biome: 'main', kind: 'service', name: 'ingest' }, now);
    const [viaHandle, viaLedger] = mock.commandCalls(PutCommand).map((c) => c.args[0].input.Item);
    const expected = {
      pk: 'BIOME#main',
      sk: 'HISTORY#service#ingest#2025-06-01T10:00:00.000Z#e1',
      biome: 'main',
      kind: 'service',
      name: 'ingest',
      ...outcome,
      recordedAt: now.toISOString(),
    };
    // Undefined attributes are left out, not written as NULL.
    expect(viaHandle).toEqual(expected);
    expect(viaHandle && 'previousSha' in viaHandle).toBe(false);
    expect(viaLedger).toEqual(expected);
  });

  test('an outcome that names no target is recorded under UNPARSED', async () => {
    mock.on(PutCommand).resolves({});
    await ledger.record({ ...outcome, status: 'rejected', key: 'junk' }, now);
    expect(mock.commandCalls(PutCommand)[0]?.args[0].input.Item).toEqual({
      pk: 'UNPARSED',
      sk: 'HISTORY#2025-06-01T10:00:00.000Z#e1',
      ...outcome,
      status: 'rejected',
      key: 'junk',
      recordedAt: now.toISOString(),
    });
  });
});
