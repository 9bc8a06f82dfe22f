/**
 * Test doubles for the deploy trigger: aws-sdk-client-mock on every client, and a small in-memory
 * table behind the DynamoDB document client that honours the ledger's conditional writes, so
 * duplicates, order and retries are exercised end to end.
 */
import {
  type CancellationReason,
  ConditionalCheckFailedException,
  DynamoDBClient,
  TransactionCanceledException,
} from '@aws-sdk/client-dynamodb';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { CodeDeployClient } from '@aws-sdk/client-codedeploy';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { GetObjectCommand, type GetObjectCommandInput, S3Client } from '@aws-sdk/client-s3';
import { SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { SSMClient } from '@aws-sdk/client-ssm';
import {
  DynamoDBDocumentClient,
  GetCommand,
  type GetCommandInput,
  PutCommand,
  type PutCommandInput,
  TransactWriteCommand,
  type TransactWriteCommandInput,
  UpdateCommand,
  type UpdateCommandInput,
} from '@aws-sdk/lib-dynamodb';
import { Logger } from '@aws-lambda-powertools/logger';
import { mockClient } from 'aws-sdk-client-mock';
import type { Deps } from '../../../lambda/deploy-trigger/deploy';
import type { Settings } from '../../../lambda/deploy-trigger/settings';
import {
  assembleModelArchive,
  type ModelArchive,
  type TreeEntry,
} from '../../../lambda/shared/model-archive';
import { EnvScope } from '../../../lambda/shared/scope';

export const SHA = 'a'.repeat(40);
export const SHA2 = 'b'.repeat(40);

export const settings: Settings = {
  scope: new EnvScope('biomes', 'dev'),
  landingBucket: 'landing',
  ledgerTable: 'ledger',
  modelBucket: 'model-bucket',
  modelPrefix: 'models/',
  endpointName: 'mme',
  maxServiceBytes: 250 * 1024 * 1024,
  maxModelBytes: 5 * 1024 * 1024 * 1024,
  leaseSeconds: 660,
};

type Item = Record<string, unknown>;

function conditionFailed(): ConditionalCheckFailedException {
  return new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: {} });
}

/** An attribute the conditions compare as a string (the ledger's ISO times); anything else is a test bug. */
function text(value: unknown): string {
  if (typeof value !== 'string')
    throw new Error(`FakeTable: expected a string, got ${JSON.stringify(value)}`);
  return value;
}

/**
 * Forward-only in publication time; equal passes only when the condition asks for it (same key), so a
 * missing clause shows up as a failing test.
 */
function forward(old: Item | undefined, v: Record<string, unknown>, condition: string): boolean {
  if (old?.publishedAt === undefined) return true;
  const newer = String(v[':new']);
  if (text(old.publishedAt) < newer) return true;
  return (
    condition.includes('(publishedAt = :new AND #key = :key)') &&
    text(old.publishedAt) === newer &&
    old.key === v[':key']
  );
}

/** Release conditions: by the attempt's token when the code asks for it, else by owner. */
function holds(old: Item | undefined, v: Record<string, unknown>, condition: string): boolean {
  if (condition.includes('#token = :token')) return old?.token !== undefined && old.token === v[':token'];
  return old?.owner === v[':owner'];
}

/** Implements exactly the writes lambda/deploy-trigger/ledger.ts makes, with their conditions. */
export class FakeTable {
  readonly items = new Map<string, Item>();

  private id(key: { pk?: unknown; sk?: unknown }): string {
    return `${String(key.pk)}|${String(key.sk)}`;
  }

  get(pk: string, sk: string): Item | undefined {
    return this.items.get(`${pk}|${sk}`);
  }

  /** Items whose pk matches and sk starts with `prefix` (what a Query would return). */
  query(pk: string, prefix: string): Item[] {
    return [...this.items.values()]
      .filter((i) => i.pk === pk && String(i.sk).startsWith(prefix))
      .sort((a, b) => String(a.sk).localeCompare(String(b.sk)));
  }

  history(): Item[] {
    return [...this.items.values()].filter((i) => String(i.sk).startsWith('HISTORY#'));
  }

  onGet(input: GetCommandInput) {
    return { Item: this.items.get(this.id(input.Key ?? {})) };
  }

  onPut(input: PutCommandInput) {
    const item = input.Item as Item;
    const id = this.id(item);
    const old = this.items.get(id);
    if (input.ConditionExpression) {
      if (!forward(old, input.ExpressionAttributeValues ?? {}, input.ConditionExpression))
        throw conditionFailed();
    }
    this.items.set(id, { ...item });
    return {};
  }

  onUpdate(input: UpdateCommandInput) {
    const id = this.id(input.Key ?? {});
    const old = this.items.get(id);
    const v = input.ExpressionAttributeValues ?? {};
    const sk = String(input.Key?.sk);
    const expr = input.UpdateExpression ?? '';
    const condition = input.ConditionExpression ?? '';
    // Honoured only when the code asks for it, so a missing clause shows up as a failing test.
    const sameOwner = condition.includes('#owner = :owner') && old?.owner === v[':owner'];
    let next: Item;
    if (sk.startsWith('DELIVERY#') && expr.startsWith('SET #status = :running')) {
      const free =
        !old ||
        old.status === 'retryable' ||
        (old.status === 'running' && (String(old.leaseUntil) < String(v[':now']) || sameOwner));
      if (!free) throw conditionFailed();
      next = {
        ...old,
        ...input.Key,
        status: 'running',
        owner: v[':owner'],
        token: v[':token'],
        leaseUntil: v[':lease'],
        claimedAt: v[':now'],
        attempts: Number(old?.attempts ?? 0) + 1,
      };
    } else if (sk.startsWith('DELIVERY#')) {
      if (!holds(old, v, condition)) throw conditionFailed();
      next = { ...old, status: v[':status'], finishedAt: v[':now'] };
      delete next.leaseUntil;
    } else if (sk.startsWith('LOCK#') && expr.startsWith('SET')) {
      if (old?.expiresAt !== undefined && !(text(old.expiresAt) < String(v[':now'])) && !sameOwner)
        throw conditionFailed();
      next = { ...old, ...input.Key, owner: v[':owner'], token: v[':token'], expiresAt: v[':expires'] };
    } else if (sk.startsWith('LOCK#')) {
      if (!holds(old, v, condition)) throw conditionFailed();
      next = { ...old };
      delete next.owner;
      delete next.token;
      delete next.expiresAt;
    } else if (sk.startsWith('PENDING#') && expr.startsWith('SET sha')) {
      if (!forward(old, v, condition)) throw conditionFailed();
      next = {
        ...old,
        ...input.Key,
        sha: v[':sha'],
        publishedAt: v[':new'],
        key: v[':key'],
        since: v[':since'],
      };
      if (expr.includes('REMOVE recordedAt')) delete next.recordedAt;
    } else if (sk.startsWith('PENDING#') && expr.startsWith('SET recordedAt')) {
      if (old?.publishedAt !== v[':new'] || old?.key !== v[':key']) throw conditionFailed();
      next = { ...old, recordedAt: v[':at'] };
    } else if (sk.startsWith('PENDING#')) {
      if (old?.publishedAt !== v[':new'] || old?.key !== v[':key']) throw conditionFailed();
      next = { pk: old?.pk, sk: old?.sk };
    } else {
      throw new Error(`FakeTable: unexpected update ${expr} on ${sk}`);
    }
    this.items.set(id, next);
    return { Attributes: next };
  }

  /** All or nothing, like DynamoDB: a failed condition cancels the transaction with its reasons. */
  onTransactWrite(input: TransactWriteCommandInput) {
    const before = new Map(this.items);
    const reasons: CancellationReason[] = [];
    for (const t of input.TransactItems ?? []) {
      try {
        if (t.ConditionCheck) {
          const c = t.ConditionCheck;
          const condition = c.ConditionExpression ?? '';
          if (!condition.includes('publishedAt')) {
            throw new Error(`FakeTable: unexpected condition check ${condition}`);
          }
          const old = this.items.get(this.id(c.Key ?? {}));
          if (!forward(old, c.ExpressionAttributeValues ?? {}, condition)) throw conditionFailed();
        } else if (t.Update) {
          this.onUpdate(t.Update);
        } else if (t.Put) {
          this.onPut(t.Put);
        } else {
          throw new Error('FakeTable: unexpected transaction item');
        }
        reasons.push({ Code: 'None' });
      } catch (e) {
        if (!(e instanceof ConditionalCheckFailedException)) throw e;
        reasons.push({ Code: 'ConditionalCheckFailed' });
      }
    }
    if (reasons.some((r) => r.Code !== 'None')) {
      this.items.clear();
      for (const [k, item] of before) this.items.set(k, item);
      throw new TransactionCanceledException({
        message: 'Transaction cancelled',
        $metadata: {},
        CancellationReasons: reasons,
      });
    }
    return {};
  }
}

export function mocks() {
  const s3 = mockClient(S3Client);
  const lambda = mockClient(LambdaClient);
  const ssm = mockClient(SSMClient);
  const sagemaker = mockClient(SageMakerRuntimeClient);
  const ddb = mockClient(DynamoDBDocumentClient);
  const table = new FakeTable();
  ddb.on(GetCommand).callsFake((i: GetCommandInput) => table.onGet(i));
  ddb.on(PutCommand).callsFake((i: PutCommandInput) => table.onPut(i));
  ddb.on(UpdateCommand).callsFake((i: UpdateCommandInput) => table.onUpdate(i));
  ddb.on(TransactWriteCommand).callsFake((i: TransactWriteCommandInput) => table.onTransactWrite(i));
  return { s3, lambda, ssm, sagemaker, ddb, table };
}

// ---- model archives, as the build writes them (lambda/shared/model-archive.ts) --------------------

const encoder = new TextEncoder();
export const bytesOf = (text: string): Uint8Array => encoder.encode(text);

/** The bar of the test model: two validation rows, within 0.01. */
export const QUALITY = {
  metrics: { accuracy: { min: 0.8 } },
  validation: {
    tolerance: 0.01,
    rows: [
      { instance: [1, 2, 3], expected: { score: 0.9, label: 1 } },
      { instance: [4, 5, 6], expected: { score: 0.2, label: 0 } },
    ],
  },
};
/** What its build measured. */
export const METRICS = { accuracy: 0.9 };
/** The answer of a model that matches every row of {@link QUALITY} (within its tolerance, not exactly). */
export const GOOD_ANSWER = {
  model: 'ranker',
  predictions: [
    { score: 0.905, label: 1 },
    { score: 0.2, label: 0 },
  ],
};

/** Bytes that do not compress (a model's weights, say), the same on every run. */
export function noise(length: number, seed = 1): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

/** A real archive of model `ranker` (assembleModelArchive), from a bar, metrics and its model files. */
export function modelArchive(
  options: { quality?: string; metrics?: string; files?: readonly TreeEntry[] } = {},
): ModelArchive {
  return assembleModelArchive('ranker', {
    entryPoint: bytesOf('def model_fn(model_dir):\n    return None\n'),
    training: bytesOf('print("trained")\n'),
    quality: options.quality ?? JSON.stringify(QUALITY),
    outputs: [
      { name: 'metrics.json', data: bytesOf(options.metrics ?? JSON.stringify(METRICS)) },
      ...(options.files ?? [{ name: 'model.json', data: bytesOf('{"weights":[0.1,0.2,0.3]}') }]),
    ],
  });
}

/** The bytes `Range: bytes=<first>-<last>` asks of `bytes` (all of them without a range). */
export function ranged(bytes: Uint8Array, range: string | undefined): Uint8Array {
  if (range === undefined) return bytes;
  const m = /^bytes=(\d+)-(\d+)$/.exec(range);
  if (!m) throw new Error(`fake S3: unexpected Range ${range}`);
  return bytes.subarray(Number(m[1]), Number(m[2]) + 1);
}

/** A GetObject body as the SDK returns it (only what the trigger reads of it). */
export function objectBody(bytes: Uint8Array) {
  const body: { transformToByteArray: () => Promise<Uint8Array> } = {
    transformToByteArray: () => Promise.resolve(bytes),
  };
  // The SDK's type is a Node stream mixed with its helpers; the trigger calls transformToByteArray only.
  return body as never;
}

/** Serves `bytes` to every GetObject of the landing object (ranges honoured). */
export function serveLanding(s3: ReturnType<typeof mocks>['s3'], bytes: Uint8Array): void {
  s3.on(GetObjectCommand, { Bucket: 'landing' }).callsFake((input: GetObjectCommandInput) => ({
    Body: objectBody(ranged(bytes, input.Range)),
    ContentLength: ranged(bytes, input.Range).length,
  }));
}

/** An InvokeEndpoint answer whose body is `text` (JSON of `value` unless it is already a string). */
export function endpointAnswer(value: unknown) {
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  // The SDK wraps the body in a Uint8ArrayBlobAdapter; the trigger reads it as bytes.
  return { Body: bytesOf(text) as never, ContentType: 'application/json' };
}

/** A clock that moves only when told (and when the code under test sleeps). */
export class Clock {
  /** When the invocation under test would time out (600 s, the function timeout, from the start). */
  deadline: number;
  constructor(public ms = Date.parse('2025-06-01T10:00:00.000Z')) {
    this.deadline = ms + 600_000;
  }
  now = () => new Date(this.ms);
  remainingMs = () => this.deadline - this.ms;
  sleep = (ms: number): Promise<void> => {
    this.ms += ms;
    return Promise.resolve();
  };
  advance(ms: number) {
    this.ms += ms;
  }
}

export function deps(clock: Clock, owner = 'request-1'): Deps {
  const region = 'eu-west-1';
  return {
    settings,
    s3: new S3Client({ region }),
    lambda: new LambdaClient({ region }),
    ssm: new SSMClient({ region }),
    db: DynamoDBDocumentClient.from(new DynamoDBClient({ region }), {
      marshallOptions: { removeUndefinedValues: true },
    }),
    sagemaker: new SageMakerRuntimeClient({ region }),
    codedeploy: new CodeDeployClient({ region }),
    cloudwatch: new CloudWatchClient({ region }),
    logger: new Logger({ serviceName: 'deploy-trigger-test', logLevel: 'SILENT' }),
    now: clock.now,
    sleep: clock.sleep,
    owner,
    remainingMs: clock.remainingMs,
  };
}

/** An EventBridge S3 event; `rawKey` is put in as given (S3 URL-encodes keys in events). */
export function s3Event(
  rawKey: string,
  options: { id?: string; versionId?: string; detailType?: string; bucket?: string } = {},
) {
  return {
    version: '0',
    id: options.id ?? 'event-1',
    'detail-type': options.detailType ?? 'Object Created',
    source: 'aws.s3',
    account: '222222222222',
    time: '2025-06-01T10:00:00Z',
    region: 'eu-west-1',
    resources: ['arn:aws:s3:::landing'],
    detail: {
      version: '0',
      bucket: { name: options.bucket ?? 'landing' },
      object: {
        key: rawKey,
        size: 1024,
        etag: 'etag-1',
        'version-id': options.versionId ?? 'v1',
        sequencer: '00',
      },
      'request-id': 'req',
      requester: '111111111111',
      reason: 'PutObject',
    },
  };
}
