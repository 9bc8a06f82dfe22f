/**
 * The recorder's writes and the one query of what is live against a real DynamoDB implementation
 * (dynalite, in memory), with the table laid out as lib/workload/shared/ledger.ts declares it: partition
 * `pk`, sort `sk`, and the sparse global secondary index `live` on livePartition/liveSort, projecting all.
 * What the in-memory fake of ./fixtures cannot prove: the index really is sparse, the key conditions and
 * batch requests are valid DynamoDB, and a destroy leaves the index without the biome.
 */
import { DescribeTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { LambdaClient, ListTagsCommand } from '@aws-sdk/client-lambda';
import { DynamoDBDocumentClient, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { type LedgerOnDynalite, startLedgerOnDynalite } from '../../fixtures/ledger-dynalite';
import {
  LEDGER_PARTITION_KEY,
  LEDGER_SORT_KEY,
  LIVE_INDEX,
  liveIndexKeys,
} from '../../../lambda/deploy-trigger/ledger-keys';
import { liveQueryInput, queryLive } from '../../../lambda/sandpit-ledger/live';
import { PROPERTY } from '../../../lambda/sandpit-ledger/properties';
import { type Deps, recordDeploy, recordDestroy, recordHotswap } from '../../../lambda/sandpit-ledger/record';
import {
  INGEST_FN,
  NOW,
  REGION,
  SHA,
  biomeTags,
  deployEvent,
  functionArn,
  hotswapEvent,
  properties,
  settings,
  silentLogger,
  stackId,
  stackStatusEvent,
} from './fixtures';

const TABLE = 'ledger-dynalite';
let ledger: LedgerOnDynalite;
let client: DynamoDBClient;
let db: DynamoDBDocumentClient;
const lambda = mockClient(LambdaClient);

beforeAll(async () => {
  ledger = await startLedgerOnDynalite(TABLE, REGION);
  db = ledger.db;
  client = ledger.client;
  lambda.on(ListTagsCommand, { Resource: functionArn(INGEST_FN) }).resolves({ Tags: biomeTags('alice-b') });
});

afterAll(async () => {
  lambda.restore();
  await ledger.stop();
});

function deps(now: Date = NOW): Deps {
  return {
    db,
    lambda: new LambdaClient({ region: REGION }),
    settings: { ...settings, ledgerTable: TABLE },
    logger: silentLogger,
    now: () => now,
    sleep: () => Promise.resolve(),
  };
}

async function partition(biome: string): Promise<string[]> {
  const out = await db.send(
    new QueryCommand({
      TableName: TABLE,
      KeyConditionExpression: '#pk = :pk',
      ExpressionAttributeNames: { '#pk': LEDGER_PARTITION_KEY },
      ExpressionAttributeValues: { ':pk': `BIOME#${biome}` },
    }),
  );
  return (out.Items ?? []).map((i) => String(i[LEDGER_SORT_KEY]));
}

test('the table has the live index the recorder queries', async () => {
  const table = await client.send(new DescribeTableCommand({ TableName: TABLE }));
  expect(table.Table?.GlobalSecondaryIndexes?.map((i) => i.IndexName)).toEqual([LIVE_INDEX.name]);
});

test('deploys, a pipeline record, a hotswap and a destroy, as the one query of what is live sees them', async () => {
  // The mainline, published by the pipeline (the deploy trigger's live record), and a lease that must stay
  // out of the sparse index.
  await db.send(
    new PutCommand({
      TableName: TABLE,
      Item: {
        pk: 'BIOME#main',
        sk: 'LIVE#service#ingest',
        biome: 'main',
        kind: 'service',
        name: 'ingest',
        sha: SHA,
        source: 'pipeline',
        deployedRef: '12',
        ...liveIndexKeys('main', 'service', 'ingest'),
      },
    }),
  );
  await db.send(new PutCommand({ TableName: TABLE, Item: { pk: 'BIOME#main', sk: 'LOCK#service#ingest' } }));

  await recordDeploy(deps(), deployEvent('Create'));
  const bob = properties({
    [PROPERTY.biome]: 'bob',
    [PROPERTY.owner]: 'bob@example.com',
    [PROPERTY.keep]: 'true',
    [PROPERTY.services]: JSON.stringify({ ingest: { functionName: 'biomes-dev-bob-Ingest', version: '1' } }),
  });
  await recordDeploy(deps(), deployEvent('Create', bob, stackId('biomes-dev-bob')));

  // The index is sparse: the lease (no index keys) is not in it.
  const index = await db.send(new QueryCommand(liveQueryInput(TABLE)));
  expect(index.Items?.map((i) => `${String(i.pk)} ${String(i.sk)}`).sort()).toEqual([
    'BIOME#alice-b LIVE#service#ingest',
    'BIOME#alice-b LIVE#service#predict',
    'BIOME#alice-b SANDPIT',
    'BIOME#bob LIVE#service#ingest',
    'BIOME#bob SANDPIT',
    'BIOME#main LIVE#service#ingest',
  ]);

  let live = await queryLive(db, TABLE);
  expect(live.map((b) => b.biome)).toEqual(['alice-b', 'bob', 'main']);
  expect(live[0]).toMatchObject({
    biome: 'alice-b',
    owner: 'alice@example.com',
    expiresAt: '2025-06-08T10:00:00.000Z',
    keep: false,
    status: 'active',
    services: [
      { name: 'ingest', sha: SHA, source: 'cdk', deployedRef: `${INGEST_FN}:3` },
      { name: 'predict', sha: SHA, source: 'cdk' },
    ],
    models: [],
  });
  expect(live[1]).toMatchObject({ biome: 'bob', keep: true, services: [{ name: 'ingest' }] });
  expect(live[2]).toEqual({
    biome: 'main',
    services: [{ name: 'ingest', sha: SHA, source: 'pipeline', deployedRef: '12' }],
    models: [],
  });

  // An update: the replaced record's commit becomes previousSha.
  const later = new Date('2025-06-01T11:00:00.000Z');
  const next = properties({ [PROPERTY.commit]: 'c'.repeat(40) });
  await recordDeploy(deps(later), { ...deployEvent('Update', next), RequestId: 'req-0002' });
  live = await queryLive(db, TABLE);
  expect(live[0]?.services[0]).toMatchObject({ sha: 'c'.repeat(40), previousSha: SHA });

  // cdk deploy --hotswap of alice-b's ingest function.
  const swapped = await recordHotswap(deps(later), hotswapEvent(INGEST_FN));
  expect(swapped).toMatchObject({ action: 'hotswapped', services: ['ingest'], sandpitMarked: true });
  live = await queryLive(db, TABLE);
  expect(live[0]).toMatchObject({ mayBeAhead: 'hotswapped' });
  expect(live[0]?.services.map((s) => s.mayBeAhead)).toEqual(['hotswapped', undefined]);

  // cdk destroy: alice-b leaves the index; its history stays in its partition.
  expect(await recordDestroy(deps(later), stackStatusEvent())).toEqual({
    action: 'destroyed',
    biome: 'alice-b',
    deleted: 3,
  });
  live = await queryLive(db, TABLE);
  expect(live.map((b) => b.biome)).toEqual(['bob', 'main']);
  const kept = await partition('alice-b');
  expect(kept.every((key) => key.startsWith('HISTORY#'))).toBe(true);
  expect(kept.filter((key) => key.startsWith('HISTORY#service#ingest#'))).toHaveLength(2);
  const sandpitHistory = kept.filter((key) => key.startsWith('HISTORY#sandpit#'));
  // Create, Update, hotswap, destroyed.
  expect(sandpitHistory).toHaveLength(4);

  // The same destroy delivered again: nothing more deleted, no second `destroyed`.
  expect(await recordDestroy(deps(later), stackStatusEvent())).toEqual({
    action: 'already-destroyed',
    biome: 'alice-b',
  });
  expect(await partition('alice-b')).toEqual(kept);
});

test('a destroy of more records than one batch holds removes them all', async () => {
  const items = Array.from({ length: 60 }, (_, i) => ({
    pk: 'BIOME#carol',
    sk: `LIVE#model#m-${String(i).padStart(2, '0')}`,
    biome: 'carol',
    kind: 'model',
    name: `m-${String(i).padStart(2, '0')}`,
    ...liveIndexKeys('carol', 'model', `m-${String(i).padStart(2, '0')}`),
  }));
  for (const Item of items) await db.send(new PutCommand({ TableName: TABLE, Item }));
  expect((await queryLive(db, TABLE)).find((b) => b.biome === 'carol')?.models).toHaveLength(60);
  expect(
    await recordDestroy(deps(), stackStatusEvent('DELETE_COMPLETE', stackId('biomes-dev-carol'))),
  ).toEqual({
    action: 'destroyed',
    biome: 'carol',
    deleted: 60,
  });
  expect((await queryLive(db, TABLE)).map((b) => b.biome)).not.toContain('carol');
  expect(await partition('carol')).toHaveLength(1);
});
