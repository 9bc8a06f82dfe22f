import { ConditionalCheckFailedException, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { Ledger, pk, sk } from '../../../lambda/deploy-trigger/ledger';

const db = DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'eu-west-1' }));
const mock = mockClient(DynamoDBDocumentClient);
const ledger = new Ledger(db, 'ledger');
const now = new Date('2025-06-01T10:00:00.000Z');

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
  const { claim } = await ledger.claim('main/a.zip', 'v:1', 'req', now, 660);
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
  expect(await ledger.claim('main/a.zip', 'v:1', 'req', now, 660)).toEqual({ heldStatus: 'deployed' });
});

test('the live record only moves forward in publication time', async () => {
  mock.on(PutCommand).rejects(new ConditionalCheckFailedException({ message: 'no', $metadata: {} }));
  const record = { sha: 'a', publishedAt: '2025', liveSince: '2025', key: 'k', deployedRef: '1' };
  expect(await ledger.setLive('main', 'service', 'ingest', record)).toBe(false);
  expect(mock).toHaveReceivedCommandWith(PutCommand, {
    ConditionExpression: 'attribute_not_exists(publishedAt) OR publishedAt < :new',
    ExpressionAttributeValues: { ':new': '2025' },
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
  await ledger.claim('main/a.zip', 'v:1', 'req', now, 660);
  await ledger.lock('main', 'service', 'ingest', 'req', now, 660);
  const [claim, lock] = mock.commandCalls(UpdateCommand).map((c) => c.args[0].input);
  expect(claim.ConditionExpression).toBe(
    'attribute_not_exists(pk) OR #status = :retryable OR (#status = :running AND (leaseUntil < :now OR #owner = :owner))',
  );
  expect(claim.ExpressionAttributeValues).toMatchObject({ ':owner': 'req' });
  expect(lock.ConditionExpression).toBe(
    'attribute_not_exists(expiresAt) OR expiresAt < :now OR #owner = :owner',
  );
});

test('the pending marker only moves forward in publication time (the same publication may mark again)', async () => {
  mock.on(UpdateCommand).rejects(new ConditionalCheckFailedException({ message: 'no', $metadata: {} }));
  const pending = { sha: 'a', publishedAt: '2025', key: 'main/a.zip', since: 'now' };
  expect(await ledger.markPending('main', 'service', 'ingest', pending)).toBe(false);
  expect(mock).toHaveReceivedCommandWith(UpdateCommand, {
    Key: { pk: 'BIOME#main', sk: 'PENDING#service#ingest' },
    ConditionExpression:
      'attribute_not_exists(publishedAt) OR publishedAt < :new OR (publishedAt = :new AND #key = :key)',
  });
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
