/**
 * Test doubles for the sandpit ledger recorder: settings, the three events it takes, and a small
 * in-memory ledger behind aws-sdk-client-mock that does exactly the reads and writes ./record makes
 * (Query by prefix, Get, Put with `attribute_not_exists`, Update with `attribute_exists`, BatchWrite).
 */
import { ConditionalCheckFailedException, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { LambdaClient, ListTagsCommand } from '@aws-sdk/client-lambda';
import {
  BatchWriteCommand,
  type BatchWriteCommandInput,
  DynamoDBDocumentClient,
  GetCommand,
  type GetCommandInput,
  PutCommand,
  type PutCommandInput,
  QueryCommand,
  type QueryCommandInput,
  UpdateCommand,
  type UpdateCommandInput,
} from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { PROPERTY, RESOURCE_TYPE } from '../../../lambda/sandpit-ledger/properties';
import type {
  ApiCallEvent,
  Deps,
  DeployEvent,
  StackStatusEvent,
} from '../../../lambda/sandpit-ledger/record';
import type { Settings } from '../../../lambda/sandpit-ledger/settings';
import { EnvScope } from '../../../lambda/shared/scope';

export const SHA = 'a'.repeat(40);
export const SHA2 = 'b'.repeat(40);
export const ACCOUNT = '222222222222';
export const REGION = 'eu-west-1';
export const DEPLOYER_ROLE = `arn:aws:iam::${ACCOUNT}:role/biomes-dev-sandpit-deployer`;
export const TABLE = 'ledger';
export const NOW = new Date('2025-06-01T10:00:00.000Z');

export const settings: Settings = {
  scope: new EnvScope('biomes', 'dev'),
  ledgerTable: TABLE,
  deployerRoleArn: DEPLOYER_ROLE,
};

export function stackId(stackName: string, uuid = '11111111-2222-3333-4444-555555555555'): string {
  return `arn:aws:cloudformation:${REGION}:${ACCOUNT}:stack/${stackName}/${uuid}`;
}

export const ALICE_STACK = stackId('biomes-dev-alice-b');
export const INGEST_FN = 'biomes-dev-alice-b-IngestFunctionA1B2C3-xyz';
export const PREDICT_FN = 'biomes-dev-alice-b-PredictFunctionD4E5F6-xyz';

/** The properties the biome stack's construct sends for sandpit `alice-b`, as CloudFormation strings. */
export function properties(overrides: Record<string, string> = {}): Record<string, string> {
  return {
    ServiceToken: `arn:aws:lambda:${REGION}:${ACCOUNT}:function:biomes-dev-shared-Recorder`,
    [PROPERTY.app]: 'biomes',
    [PROPERTY.env]: 'dev',
    [PROPERTY.biome]: 'alice-b',
    [PROPERTY.owner]: 'alice@example.com',
    [PROPERTY.ttlDays]: '7',
    [PROPERTY.keep]: 'false',
    [PROPERTY.commit]: SHA,
    [PROPERTY.dirty]: 'false',
    [PROPERTY.services]: JSON.stringify({
      ingest: { functionName: INGEST_FN, version: '3' },
      predict: { functionName: PREDICT_FN, version: '5' },
    }),
    ...overrides,
  };
}

export function deployEvent(
  requestType: 'Create' | 'Update' | 'Delete' = 'Create',
  props: Record<string, string> = properties(),
  stack = ALICE_STACK,
): DeployEvent {
  const base = {
    RequestId: 'req-0001',
    StackId: stack,
    ResourceType: RESOURCE_TYPE,
    ResourceProperties: props,
  };
  if (requestType === 'Create') return { RequestType: 'Create', ...base };
  return { RequestType: requestType, PhysicalResourceId: 'sandpit-deploy-alice-b', ...base };
}

export function stackStatusEvent(status = 'DELETE_COMPLETE', stack = ALICE_STACK): StackStatusEvent {
  return {
    source: 'aws.cloudformation',
    'detail-type': 'CloudFormation Stack Status Change',
    id: 'event-destroy-1',
    time: '2025-06-02T08:00:00Z',
    detail: { 'stack-id': stack, 'status-details': { status, 'status-reason': '' } },
  };
}

/** CloudTrail's record of UpdateFunctionCode, by `caller`'s role session. */
export function hotswapEvent(
  functionName: string = INGEST_FN,
  caller: string = DEPLOYER_ROLE,
  overrides: Partial<ApiCallEvent['detail']> = {},
): ApiCallEvent {
  return {
    source: 'aws.lambda',
    'detail-type': 'AWS API Call via CloudTrail',
    id: 'event-hotswap-1',
    account: ACCOUNT,
    region: REGION,
    detail: {
      eventSource: 'lambda.amazonaws.com',
      eventName: 'UpdateFunctionCode20150331v2',
      eventID: 'ct-0001',
      eventTime: '2025-06-01T12:00:00Z',
      awsRegion: REGION,
      recipientAccountId: ACCOUNT,
      userIdentity: { sessionContext: { sessionIssuer: { arn: caller } } },
      requestParameters: { functionName },
      responseElements: {
        functionName,
        functionArn: `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${functionName}`,
      },
      ...overrides,
    },
  };
}

type Item = Record<string, unknown>;

function conditionFailed(): ConditionalCheckFailedException {
  return new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: {} });
}

/** The ledger in memory, doing only what ./record asks of it (so a new kind of request fails a test). */
export class MemoryTable {
  readonly items = new Map<string, Item>();
  /** BatchWrite calls still to answer with their last request unprocessed (throttling). */
  throttleBatches = 0;
  readonly batchSizes: number[] = [];

  private id(key: Item | undefined): string {
    return `${String(key?.pk)}|${String(key?.sk)}`;
  }

  get(pk: string, sk: string): Item | undefined {
    return this.items.get(`${pk}|${sk}`);
  }

  set(item: Item): void {
    this.items.set(this.id(item), { ...item });
  }

  /** Sort keys of partition `pk` beginning with `prefix`, sorted. */
  keys(pk: string, prefix = ''): string[] {
    return [...this.items.values()]
      .filter((i) => i.pk === pk && String(i.sk).startsWith(prefix))
      .map((i) => String(i.sk))
      .sort();
  }

  onQuery(input: QueryCommandInput) {
    if (input.KeyConditionExpression !== '#pk = :pk AND begins_with(#sk, :prefix)') {
      throw new Error(`MemoryTable: unexpected query ${String(input.KeyConditionExpression)}`);
    }
    const v = input.ExpressionAttributeValues ?? {};
    const items = this.keys(String(v[':pk']), String(v[':prefix'])).map((sk) => ({
      ...this.get(String(v[':pk']), sk),
    }));
    return { Items: items };
  }

  onGet(input: GetCommandInput) {
    const item = this.items.get(this.id(input.Key));
    return { Item: item ? { ...item } : undefined };
  }

  onPut(input: PutCommandInput) {
    const item = input.Item ?? {};
    if (input.ConditionExpression !== undefined) {
      if (input.ConditionExpression !== 'attribute_not_exists(#pk)') {
        throw new Error(`MemoryTable: unexpected condition ${input.ConditionExpression}`);
      }
      if (this.items.has(this.id(item))) throw conditionFailed();
    }
    this.set(item);
    return {};
  }

  onUpdate(input: UpdateCommandInput) {
    if (input.ConditionExpression !== 'attribute_exists(#pk)') {
      throw new Error(`MemoryTable: unexpected condition ${String(input.ConditionExpression)}`);
    }
    if (input.UpdateExpression !== 'SET mayBeAhead = :mark, hotswappedAt = :at') {
      throw new Error(`MemoryTable: unexpected update ${String(input.UpdateExpression)}`);
    }
    const old = this.items.get(this.id(input.Key));
    if (!old) throw conditionFailed();
    const v = input.ExpressionAttributeValues ?? {};
    this.set({ ...old, mayBeAhead: v[':mark'], hotswappedAt: v[':at'] });
    return {};
  }

  onBatchWrite(input: BatchWriteCommandInput) {
    const [table, requests = []] = Object.entries(input.RequestItems ?? {})[0] ?? [];
    this.batchSizes.push(requests.length);
    if (requests.length > 25) throw new Error('MemoryTable: more than 25 requests in one BatchWrite');
    const throttled = this.throttleBatches > 0 && requests.length > 0 ? requests.slice(-1) : [];
    if (throttled.length > 0) this.throttleBatches--;
    for (const request of requests.slice(0, requests.length - throttled.length)) {
      if (request.PutRequest?.Item) this.set(request.PutRequest.Item);
      else if (request.DeleteRequest?.Key) this.items.delete(this.id(request.DeleteRequest.Key));
    }
    return { UnprocessedItems: throttled.length > 0 && table ? { [table]: throttled } : {} };
  }
}

/** Mocks on both clients, wired to a fresh {@link MemoryTable}; ListTags answers `tags` per function ARN. */
export function mocks(tags: Record<string, Record<string, string>> = {}) {
  const table = new MemoryTable();
  const ddb = mockClient(DynamoDBDocumentClient);
  ddb.on(QueryCommand).callsFake((input: QueryCommandInput) => table.onQuery(input));
  ddb.on(GetCommand).callsFake((input: GetCommandInput) => table.onGet(input));
  ddb.on(PutCommand).callsFake((input: PutCommandInput) => table.onPut(input));
  ddb.on(UpdateCommand).callsFake((input: UpdateCommandInput) => table.onUpdate(input));
  ddb.on(BatchWriteCommand).callsFake((input: BatchWriteCommandInput) => table.onBatchWrite(input));
  const lambda = mockClient(LambdaClient);
  lambda.on(ListTagsCommand).callsFake((input: { Resource?: string }) => {
    const found = tags[String(input.Resource)];
    if (!found) {
      throw Object.assign(new Error('Function not found'), { name: 'ResourceNotFoundException' });
    }
    return { Tags: found };
  });
  return { table, ddb, lambda };
}

export function functionArn(name: string): string {
  return `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${name}`;
}

/** Tags the biome stack gives its functions. */
export function biomeTags(biome: string, app = 'biomes', env = 'dev'): Record<string, string> {
  return { app, env, biome, deployable: 'true' };
}

export const silentLogger = { info: () => undefined, warn: () => undefined };

export function deps(overrides: Partial<Deps> = {}): Deps {
  return {
    db: DynamoDBDocumentClient.from(new DynamoDBClient({ region: REGION })),
    lambda: new LambdaClient({ region: REGION }),
    settings,
    logger: silentLogger,
    now: () => NOW,
    sleep: () => Promise.resolve(),
    ...overrides,
  };
}
