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
import { Ledger, pk, sk } from '../../../lambda/deploy-trigger/ledger';

const db = DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'eu-west-1' }));
const mock = mockClient(DynamoDBDocumentClient);
const ledger = new Ledger(db, 'ledger');
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
    ConditionExpression: expect.stringContaining('attribute_not_exists(pk)'),
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
  expect(await ledger.setLive('main', 'service', 'ingest', record)).toBe(false);
  expect(mock).toHaveReceivedCommandWith(PutCommand, {
    ConditionExpression: FORWARD_ONLY,
    ExpressionAttributeNames: { '#key': 'key' },
    ExpressionAttributeValues: { ':new': '2025', ':key': 'k' },
  });
});

test('other DynamoDB errors are not mistaken for a lost race', async () => {
  mock.on(PutCommand).rejects(new Error('ProvisionedThroughputExceeded'));
  await expect(
    ledger.setLive('main', 'service', 'ingest', {
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
  await ledger.lock('main', 'service', 'ingest', attempt, now, 660);
  const [claim, lock] = mock.commandCalls(UpdateCommand).map((c) => c.args[0].input);
  expect(claim.ConditionExpression).toBe(
    'attribute_not_exists(pk) OR #status = :retryable OR (#status = :running AND (leaseUntil < :now OR #owner = :owner))',
  );
  expect(claim.ExpressionAttributeValues).toMatchObject({ ':owner': 'req' });
  expect(lock.ConditionExpression).toBe(
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
  expect(await ledger.markPending('main', 'service', 'ingest', pending)).toBe(false);
  const [call] = mock.commandCalls(TransactWriteCommand);
  const [check, update] = call.args[0].input.TransactItems ?? [];
  expect(check.ConditionCheck).toMatchObject({
    Key: { pk: 'BIOME#main', sk: 'LIVE#service#ingest' },
    ConditionExpression: FORWARD_ONLY,
    ExpressionAttributeValues: { ':new': '2025', ':key': 'main/a.zip' },
  });
  expect(update.Update).toMatchObject({
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
  await expect(ledger.markPending('main', 'service', 'ingest', pending)).rejects.toThrow(/cancelled/);
});

test('clearing the marker keeps its publication time: it stays the high-water mark', async () => {
  mock.on(UpdateCommand).resolves({});
  const pending = { sha: 'a', publishedAt: '2025', key: 'main/a.zip', since: 'now' };
  await ledger.clearPending('main', 'service', 'ingest', pending, now);
  const [call] = mock.commandCalls(UpdateCommand);
  expect(call.args[0].input.UpdateExpression).not.toMatch(/REMOVE/);
  expect(call.args[0].input.ExpressionAttributeValues).toMatchObject({ ':at': now.toISOString() });
});

test('claims and leases are released only by the attempt that holds them (its token), not by the request id', async () => {
  mock.on(UpdateCommand).resolves({});
  await ledger.claim('main/a.zip', 'v:1', attempt, now, 660);
  await ledger.release({ key: 'main/a.zip', identity: 'v:1', holder: attempt }, 'deployed', now);
  await ledger.lock('main', 'service', 'ingest', attempt, now, 660);
  await ledger.unlock('main', 'service', 'ingest', attempt);
  const [claim, release, lock, unlock] = mock.commandCalls(UpdateCommand).map((c) => c.args[0].input);
  for (const take of [claim, lock]) {
    expect(take.UpdateExpression).toContain('#token = :token');
    expect(take.ExpressionAttributeValues).toMatchObject({ ':owner': 'req', ':token': 'req:uuid-1' });
  }
  for (const free of [release, unlock]) {
    expect(free.ConditionExpression).toBe('#token = :token');
    expect(free.ExpressionAttributeValues).toMatchObject({ ':token': 'req:uuid-1' });
  }
});

test('the live state reads the live record and the pending marker, both consistently', async () => {
  mock
    .on(GetCommand, { Key: { pk: 'BIOME#main', sk: 'LIVE#service#ingest' } })
    .resolves({ Item: { sha: 'a', publishedAt: '1' } });
  mock
    .on(GetCommand, { Key: { pk: 'BIOME#main', sk: 'PENDING#service#ingest' } })
    .resolves({ Item: { sha: 'b', publishedAt: '2', key: 'k', since: 's' } });
  expect(await ledger.live('main', 'service', 'ingest')).toMatchObject({
    live: { sha: 'a', publishedAt: '1' },
    pending: { sha: 'b', publishedAt: '2' },
  });
  expect(mock.commandCalls(GetCommand).every((c) => c.args[0].input.ConsistentRead)).toBe(true);
});
