/** The one query of what is live: its exact shape, its paging, and how its items are grouped per biome. */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { groupLive, liveQueryInput, queryLive } from '../../../lambda/sandpit-ledger/live';

describe('liveQueryInput', () => {
  test('one Query of the live index: its one partition, no filter, no projection', () => {
    expect(liveQueryInput('ledger')).toEqual({
      TableName: 'ledger',
      IndexName: 'live',
      KeyConditionExpression: '#partition = :partition',
      ExpressionAttributeNames: { '#partition': 'livePartition' },
      ExpressionAttributeValues: { ':partition': 'LIVE' },
    });
  });
});

describe('groupLive', () => {
  const live = (biome: string, kind: string, name: string, extra: Record<string, unknown> = {}) => ({
    pk: `BIOME#${biome}`,
    sk: `LIVE#${kind}#${name}`,
    livePartition: 'LIVE',
    liveSort: `${biome}#${kind}#${name}`,
    biome,
    kind,
    name,
    sha: 'a'.repeat(40),
    ...extra,
  });

  test('groups per biome, sorted by biome, services and models by name, next to the sandpit record', () => {
    const grouped = groupLive([
      live('main', 'service', 'predict'),
      live('alice-b', 'model', 'ranker', { deployedRef: 'alice-b/ranker-x.tar.gz' }),
      live('alice-b', 'service', 'predict', { source: 'cdk', dirty: true, mayBeAhead: 'hotswapped' }),
      live('alice-b', 'service', 'ingest', {
        source: 'pipeline',
        deployedRef: '3',
        previousSha: 'b'.repeat(40),
      }),
      {
        pk: 'BIOME#alice-b',
        sk: 'SANDPIT',
        livePartition: 'LIVE',
        liveSort: 'alice-b#sandpit',
        biome: 'alice-b',
        owner: 'alice@example.com',
        expiresAt: '2025-06-08T10:00:00.000Z',
        keep: false,
        status: 'active',
        lastDeployAt: '2025-06-01T10:00:00.000Z',
        mayBeAhead: 'hotswapped',
      },
      live('alice', 'service', 'ingest'),
      // Not an index item of any known shape: left out.
      { liveSort: 'broken' },
      { liveSort: 'x#service#a#b' },
    ]);
    expect(grouped.map((b) => b.biome)).toEqual(['alice', 'alice-b', 'main']);
    expect(grouped[1]).toEqual({
      biome: 'alice-b',
      owner: 'alice@example.com',
      expiresAt: '2025-06-08T10:00:00.000Z',
      keep: false,
      status: 'active',
      lastDeployAt: '2025-06-01T10:00:00.000Z',
      mayBeAhead: 'hotswapped',
      services: [
        {
          name: 'ingest',
          sha: 'a'.repeat(40),
          source: 'pipeline',
          deployedRef: '3',
          previousSha: 'b'.repeat(40),
        },
        { name: 'predict', sha: 'a'.repeat(40), source: 'cdk', dirty: true, mayBeAhead: 'hotswapped' },
      ],
      models: [{ name: 'ranker', sha: 'a'.repeat(40), deployedRef: 'alice-b/ranker-x.tar.gz' }],
    });
    // The mainline has no sandpit record: only what is live.
    expect(grouped[2]).toEqual({
      biome: 'main',
      services: [{ name: 'predict', sha: 'a'.repeat(40) }],
      models: [],
    });
  });

  test('a sandpit record with nothing live yet is listed', () => {
    expect(groupLive([{ liveSort: 'bob#sandpit', owner: 'bob@example.com' }])).toEqual([
      { biome: 'bob', owner: 'bob@example.com', services: [], models: [] },
    ]);
  });
});

describe('queryLive', () => {
  const ddb = mockClient(DynamoDBDocumentClient);
  afterAll(() => {
    ddb.restore();
  });

  test('pages through the index with LastEvaluatedKey, one Query per page', async () => {
    const page2Start = { pk: 'BIOME#b', sk: 'SANDPIT', livePartition: 'LIVE', liveSort: 'b#sandpit' };
    ddb
      .on(QueryCommand)
      .resolvesOnce({ Items: [{ liveSort: 'b#service#x', name: 'x' }], LastEvaluatedKey: page2Start })
      .resolvesOnce({ Items: [{ liveSort: 'a#sandpit', owner: 'a@example.com' }] });
    const db = DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'eu-west-1' }));
    const biomes = await queryLive(db, 'ledger');
    expect(biomes.map((b) => b.biome)).toEqual(['a', 'b']);
    expect(ddb).toHaveReceivedCommandTimes(QueryCommand, 2);
    expect(ddb).toHaveReceivedNthCommandWith(1, QueryCommand, liveQueryInput('ledger'));
    expect(ddb).toHaveReceivedNthCommandWith(2, QueryCommand, {
      ...liveQueryInput('ledger'),
      ExclusiveStartKey: page2Start,
    });
    expect(ddb.commandCalls(QueryCommand)[0]?.args[0].input).not.toHaveProperty('ExclusiveStartKey');
  });
});
