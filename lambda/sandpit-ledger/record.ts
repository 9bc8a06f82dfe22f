/**
 * The sandpit ledger recorder (docs/design.md "Sandpit lifecycle"): keeps the deployment ledger true about
 * what CDK, not the deploy trigger, did to a sandpit. Three inputs, one function:
 *
 * - {@link recordDeploy}: the CDK Provider framework's onEvent for `Custom::SandpitDeploy` (./properties).
 *   Create and Update record source `cdk`: one `LIVE#service#` record and one history item per service,
 *   the `SANDPIT` record (owner, lifetime, expiry, commit) and a sandpit history item. Delete writes
 *   nothing: the stack's DELETE_COMPLETE records the destroy once the stack is really gone.
 * - {@link recordDestroy}: EventBridge `CloudFormation Stack Status Change`: a sandpit stack that reached
 *   DELETE_COMPLETE loses its `LIVE#` records and its `SANDPIT` record; its history stays, and gains
 *   `destroyed`.
 * - {@link recordHotswap}: EventBridge `AWS API Call via CloudTrail` for Lambda UpdateFunctionCode by the
 *   sandpit deployer role: `cdk deploy --hotswap` skips CloudFormation, so the function's live records and
 *   the sandpit record are marked "may be ahead: hotswapped".
 *
 * Every request is fenced: a stack may only write its own biome's records (its stack name must be
 * `<app>-<env>-<biome>` of this recorder's app and environment), and never those of `main`.
 *
 * Multi-item writes use BatchWriteItem in chunks of 25, retrying unprocessed items, rather than one
 * transaction: a destroy deletes an unbounded number of items (every live service and model), above a
 * transaction's 100, and every write here is an unconditional put or a delete, idempotent when retried
 * (a retried destroy finds less to delete; a retried deploy writes the same records again). A deploy whose
 * writes fail half-way fails the custom resource, so CloudFormation rolls back and records again.
 *
 * Pure orchestration: clients, settings, clock and logger come in as arguments.
 */
import { queryBiomePrefix, readSandpitItem } from '../deploy-trigger/ledger';
import { ListTagsCommand, type LambdaClient } from '@aws-sdk/client-lambda';
import {
  BatchWriteCommand,
  type BatchWriteCommandInput,
  type DynamoDBDocumentClient,
  PutCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import type { Logger } from '@aws-lambda-powertools/logger';
import * as z from 'zod/mini';
import { nameOf } from '../deploy-trigger/errors';
import {
  LEDGER_PARTITION_KEY,
  LEDGER_SORT_KEY,
  type LedgerKey,
  ledgerKey,
  liveIndexKeys,
  pk,
  sk,
} from '../deploy-trigger/ledger-keys';
import { TAGS } from '../shared/contracts';
import { biomeNameProblem } from '../shared/grammar';
import { issueLines } from '../shared/issues';
import { type SandpitRecord, type SandpitStatus, expiryOf, stackNameOfArn } from '../shared/sandpit';
import { BiomeScope } from '../shared/scope';
import { ATTRIBUTE, RESOURCE_TYPE, type SandpitDeployProperties, parseProperties } from './properties';
import { ROLE_ARN_PATTERN, type Settings } from './settings';

export type Log = Pick<Logger, 'info' | 'warn'>;

export interface Deps {
  readonly db: DynamoDBDocumentClient;
  readonly lambda: LambdaClient;
  readonly settings: Settings;
  readonly logger: Log;
  readonly now: () => Date;
  /** Waits between retries of unprocessed batch items. @default real timers */
  readonly sleep?: (ms: number) => Promise<void>;
}

// ---------------------------------------------------------------------------------------------------
// Events
// ---------------------------------------------------------------------------------------------------

const requestBase = {
  /** Unique per request; CloudFormation keeps it when the Provider framework retries the onEvent call. */
  RequestId: z.string().check(z.minLength(1)),
  /** The ARN of the stack that holds the resource. */
  StackId: z.string(),
  ResourceType: z.optional(z.string()),
  ResourceProperties: z.record(z.string(), z.unknown()),
};

/** The CDK Provider framework's onEvent request (a CloudFormation custom resource request). */
export const deployEventSchema = z.discriminatedUnion('RequestType', [
  z.object({ RequestType: z.literal('Create'), ...requestBase }),
  z.object({ RequestType: z.literal('Update'), PhysicalResourceId: z.string(), ...requestBase }),
  z.object({ RequestType: z.literal('Delete'), PhysicalResourceId: z.string(), ...requestBase }),
]);
export type DeployEvent = z.infer<typeof deployEventSchema>;

/**
 * EventBridge `CloudFormation Stack Status Change`. The detail is `stack-id` and `status-details` with
 * `status` and `status-reason` (AWS CloudFormation User Guide, "Stack Status Change event detail":
 * https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/event-detail-stack-status-change.html).
 */
export const stackStatusEventSchema = z.object({
  source: z.literal('aws.cloudformation'),
  'detail-type': z.literal('CloudFormation Stack Status Change'),
  id: z.string(),
  time: z.optional(z.string()),
  detail: z.object({
    'stack-id': z.string(),
    'status-details': z.object({ status: z.string(), 'status-reason': z.optional(z.string()) }),
  }),
});
export type StackStatusEvent = z.infer<typeof stackStatusEventSchema>;

/**
 * EventBridge `AWS API Call via CloudTrail` from Lambda (source `aws.lambda`, eventSource
 * `lambda.amazonaws.com`: Amazon EventBridge events reference, "AWS Lambda events",
 * https://docs.aws.amazon.com/eventbridge/latest/ref/events-ref-lambda.html). The detail is the CloudTrail
 * record: the caller in `userIdentity` (for a role session, `sessionContext.sessionIssuer.arn` is the role's
 * ARN: AWS CloudTrail User Guide, "CloudTrail userIdentity element",
 * https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-user-identity.html),
 * the request in `requestParameters` (`functionName`, as the caller gave it) and the answer in
 * `responseElements` (the function's configuration: `functionName`, `functionArn`).
 */
export const apiCallEventSchema = z.object({
  source: z.literal('aws.lambda'),
  'detail-type': z.literal('AWS API Call via CloudTrail'),
  id: z.string(),
  account: z.optional(z.string()),
  region: z.optional(z.string()),
  detail: z.object({
    eventSource: z.string(),
    eventName: z.string(),
    eventID: z.optional(z.string()),
    eventTime: z.optional(z.string()),
    awsRegion: z.optional(z.string()),
    recipientAccountId: z.optional(z.string()),
    errorCode: z.optional(z.string()),
    userIdentity: z.optional(
      z.object({
        sessionContext: z.optional(
          z.object({ sessionIssuer: z.optional(z.object({ arn: z.optional(z.string()) })) }),
        ),
      }),
    ),
    requestParameters: z.optional(z.nullable(z.object({ functionName: z.optional(z.string()) }))),
    responseElements: z.optional(
      z.nullable(z.object({ functionName: z.optional(z.string()), functionArn: z.optional(z.string()) })),
    ),
  }),
});
export type ApiCallEvent = z.infer<typeof apiCallEventSchema>;

export type RecorderEvent =
  | { readonly kind: 'deploy'; readonly event: DeployEvent }
  | { readonly kind: 'stack-status'; readonly event: StackStatusEvent }
  | { readonly kind: 'api-call'; readonly event: ApiCallEvent };

function parseWith<T>(schema: z.ZodMiniType<T>, raw: unknown, what: string): T {
  const result = schema.safeParse(raw);
  if (!result.success) throw new Error(`Not ${what}: ${issueLines(result.error, 'event').join('; ')}`);
  return result.data;
}

/**
 * Which of the three inputs `raw` is, by its shape: a custom resource request has a RequestType, an
 * EventBridge event a source. Anything else is an error (a wiring mistake, never silently dropped).
 */
export function parseRecorderEvent(raw: unknown): RecorderEvent {
  const shape = (typeof raw === 'object' && raw !== null ? raw : {}) as Record<string, unknown>;
  if ('RequestType' in shape) {
    return {
      kind: 'deploy',
      event: parseWith(deployEventSchema, raw, `a ${RESOURCE_TYPE} request (Create, Update or Delete)`),
    };
  }
  if (shape.source === 'aws.cloudformation') {
    return {
      kind: 'stack-status',
      event: parseWith(stackStatusEventSchema, raw, 'a CloudFormation Stack Status Change event'),
    };
  }
  if (shape.source === 'aws.lambda') {
    return {
      kind: 'api-call',
      event: parseWith(apiCallEventSchema, raw, 'an AWS API Call via CloudTrail event from Lambda'),
    };
  }
  throw new Error(
    `Unknown event: the sandpit ledger recorder takes ${RESOURCE_TYPE} requests, CloudFormation Stack Status Change events and Lambda API calls via CloudTrail (source ${JSON.stringify(shape.source ?? null)}).`,
  );
}

// ---------------------------------------------------------------------------------------------------
// Outcomes
// ---------------------------------------------------------------------------------------------------

export interface OnEventResponse {
  readonly PhysicalResourceId: string;
  readonly Data?: Record<string, string>;
}

/** An event that is not the recorder's business (another status, stack, caller or function). */
export interface Ignored {
  readonly action: 'ignored';
  readonly reason: string;
}

export type DestroyOutcome =
  | Ignored
  | { readonly action: 'destroyed'; readonly biome: string; readonly deleted: number }
  /** A duplicate event: nothing was left to delete, and `destroyed` is already in the history. */
  | { readonly action: 'already-destroyed'; readonly biome: string };

export type HotswapOutcome =
  | Ignored
  | {
      readonly action: 'hotswapped';
      readonly biome: string;
      readonly functionName: string;
      /** The services whose live records were marked. */
      readonly services: readonly string[];
      readonly sandpitMarked: boolean;
    };

/** The value of `mayBeAhead` after `cdk deploy --hotswap`. */
export const HOTSWAPPED = 'hotswapped';

/** The physical id of a sandpit's `Custom::SandpitDeploy`: one per biome. */
export function physicalId(biome: string): string {
  return `sandpit-deploy-${biome}`;
}

// ---------------------------------------------------------------------------------------------------
// The fence
// ---------------------------------------------------------------------------------------------------

/**
 * Refuses a request unless it comes from the stack of the biome it names, in this recorder's app and
 * environment, and that biome is a sandpit: one stack can never write another biome's records.
 */
export function checkFence(settings: Settings, stackId: string, props: SandpitDeployProperties): BiomeScope {
  const { app, env } = settings.scope;
  const stack = stackNameOfArn(stackId);
  if (stack === undefined) {
    throw new Error(
      `The sandpit ledger recorder records CloudFormation stacks only: StackId "${stackId}" is not a stack ARN.`,
    );
  }
  if (props.app !== app || props.env !== env) {
    throw new Error(
      `The sandpit ledger recorder of ${app}/${env} records only its own sandpits: stack ${stack} sent App "${props.app}", Env "${props.env}".`,
    );
  }
  const problem = biomeNameProblem(props.biome);
  if (problem) {
    throw new Error(
      `The sandpit ledger recorder records sandpits only (never the mainline biome): stack ${stack} sent Biome ${problem}.`,
    );
  }
  const scope = new BiomeScope(app, env, props.biome);
  if (stack !== scope.stackName) {
    throw new Error(
      `Stack ${stack} may record only its own biome: Biome "${props.biome}" belongs to stack ${scope.stackName}.`,
    );
  }
  return scope;
}

/** The sandpit biome of stack `stackName` of this app and environment, or why it is none. */
export function sandpitOfStack(
  settings: Settings,
  stackName: string,
): { readonly biome: string } | { readonly problem: string } {
  // Biome names contain hyphens: take the app and environment prefix off, then check what remains.
  const prefix = settings.scope.sandpitFence.prefix;
  if (!stackName.startsWith(prefix)) return { problem: `stack ${stackName} is not of ${prefix}*` };
  const biome = stackName.slice(prefix.length);
  const problem = biomeNameProblem(biome);
  return problem ? { problem: `stack ${stackName} is not a sandpit (biome ${problem})` } : { biome };
}

// ---------------------------------------------------------------------------------------------------
// Ledger access
// ---------------------------------------------------------------------------------------------------

type Item = Record<string, unknown>;
type WriteRequest = NonNullable<BatchWriteCommandInput['RequestItems']>[string][number];

/** BatchWriteItem's limit of requests per call. */
export const BATCH_SIZE = 25;
/** Attempts at one chunk's unprocessed items, waits doubling from 100 ms up to 3.2 s. */
export const BATCH_ATTEMPTS = 8;

const realSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

async function batchWrite(deps: Deps, requests: readonly WriteRequest[]): Promise<void> {
  const table = deps.settings.ledgerTable;
  const sleep = deps.sleep ?? realSleep;
  for (let start = 0; start < requests.length; start += BATCH_SIZE) {
    let pending = requests.slice(start, start + BATCH_SIZE);
    for (let attempt = 1; pending.length > 0; attempt++) {
      if (attempt > 1) {
        if (attempt > BATCH_ATTEMPTS) {
          throw new Error(
            `${String(pending.length)} ledger write(s) still unprocessed after ${String(BATCH_ATTEMPTS)} attempts (throttled); the event is retried.`,
          );
        }
        await sleep(Math.min(3_200, 100 * 2 ** (attempt - 2)));
      }
      const out = await deps.db.send(new BatchWriteCommand({ RequestItems: { [table]: pending } }));
      pending = out.UnprocessedItems?.[table] ?? [];
    }
  }
}

const put = (item: Item): WriteRequest => ({ PutRequest: { Item: item } });
const remove = (key: LedgerKey): WriteRequest => ({ DeleteRequest: { Key: { ...key } } });

/** Every item of partition `BIOME#<biome>` whose sort key begins with `prefix`, read consistently. */
function queryPrefix(deps: Deps, biome: string, prefix: string): Promise<Item[]> {
  return queryBiomePrefix(deps.db, deps.settings.ledgerTable, biome, prefix);
}

async function readSandpit(deps: Deps, biome: string): Promise<Item | undefined> {
  return readSandpitItem(deps.db, deps.settings.ledgerTable, biome);
}

const text = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);

function isConditionFailure(e: unknown): boolean {
  return nameOf(e) === 'ConditionalCheckFailedException';
}

/** Puts a history item once: a duplicate event builds the same key and leaves the first one as it is. */
async function appendOnce(deps: Deps, item: Item): Promise<boolean> {
  try {
    await deps.db.send(
      new PutCommand({
        TableName: deps.settings.ledgerTable,
        Item: item,
        ConditionExpression: 'attribute_not_exists(#pk)',
        ExpressionAttributeNames: { '#pk': LEDGER_PARTITION_KEY },
      }),
    );
    return true;
  } catch (e) {
    if (isConditionFailure(e)) return false;
    throw e;
  }
}

/** An event's time as the ledger writes times (ISO with milliseconds), or `fallback` when it has none. */
function isoTime(value: string | undefined, fallback: Date): string {
  const time = value === undefined ? Number.NaN : Date.parse(value);
  return new Date(Number.isNaN(time) ? fallback.getTime() : time).toISOString();
}

// ---------------------------------------------------------------------------------------------------
// A. CDK deploy (Custom::SandpitDeploy)
// ---------------------------------------------------------------------------------------------------

/**
 * The ledger's `SANDPIT` record as the recorder writes it: {@link SandpitRecord} plus the stack's id (so a
 * late destroy of an earlier stack of the same name never deletes the records of the new one) and the
 * function of each service (so a hotswap finds the services of a function whatever deployed them last).
 */
export interface RecordedSandpit extends SandpitRecord {
  readonly stackId: string;
  readonly functions: Readonly<Record<string, string>>;
}

export async function recordDeploy(deps: Deps, event: DeployEvent): Promise<OnEventResponse> {
  if (event.RequestType === 'Delete') {
    // Nothing to undo: the stack's DELETE_COMPLETE (recordDestroy) removes the records once it is gone, and a
    // Delete that fails here would leave the stack stuck in DELETE_FAILED.
    deps.logger.info('delete: recorded when the stack is gone', { stackId: event.StackId });
    return { PhysicalResourceId: event.PhysicalResourceId };
  }
  if (event.ResourceType !== undefined && event.ResourceType !== RESOURCE_TYPE) {
    throw new Error(`The sandpit ledger recorder serves ${RESOURCE_TYPE}, not ${event.ResourceType}.`);
  }
  const props = parseProperties(event.ResourceProperties);
  const scope = checkFence(deps.settings, event.StackId, props);
  const { biome } = props;
  const now = deps.now();
  const at = now.toISOString();
  const eventId = `cfn-${event.RequestId}`;
  const expiresAt = expiryOf(now, props.ttlDays).toISOString();
  const stackName = scope.stackName;
  const key = `cdk:${stackName}:${props.commit}`;

  const previous = new Map<string, Item>();
  for (const item of await queryPrefix(deps, biome, `${sk.livePrefix}service#`)) {
    const name = text(item.name);
    if (name) previous.set(name, item);
  }

  const requests: WriteRequest[] = [];
  const services = Object.entries(props.services).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  for (const [name, service] of services) {
    const deployedRef = `${service.functionName}:${service.version}`;
    const old = previous.get(name);
    // A deploy that changed only the owner or lifetime moves no alias: what is live has been live since then.
    const unchanged = old !== undefined && old.deployedRef === deployedRef && old.sha === props.commit;
    const previousSha = unchanged ? text(old.previousSha) : text(old?.sha);
    const liveSince = unchanged ? (text(old.liveSince) ?? at) : at;
    requests.push(
      put({
        ...ledgerKey(pk.biome(biome), sk.live('service', name)),
        biome,
        kind: 'service',
        name,
        sha: props.commit,
        source: 'cdk',
        dirty: props.dirty,
        publishedAt: at,
        liveSince,
        key,
        deployedRef,
        ...(previousSha !== undefined ? { previousSha } : {}),
        ...liveIndexKeys(biome, 'service', name),
      }),
      put({
        ...ledgerKey(pk.biome(biome), sk.history('service', name, at, eventId)),
        biome,
        kind: 'service',
        name,
        status: 'deployed',
        source: 'cdk',
        reason: unchanged ? 'cdk deploy (version unchanged)' : 'cdk deploy',
        sha: props.commit,
        dirty: props.dirty,
        ...(previousSha !== undefined ? { previousSha } : {}),
        deployedRef,
        key,
        eventId,
        startedAt: at,
        finishedAt: at,
        recordedAt: at,
      }),
    );
  }
  // A service the stack no longer has has no function any more: it is not live.
  for (const [name, old] of previous) {
    if (Object.hasOwn(props.services, name)) continue;
    requests.push(remove(ledgerKey(pk.biome(biome), sk.live('service', name))));
    requests.push(
      put({
        ...ledgerKey(pk.biome(biome), sk.history('service', name, at, eventId)),
        biome,
        kind: 'service',
        name,
        status: 'removed',
        source: 'cdk',
        reason: 'cdk deploy: the stack no longer has this service',
        ...(text(old.sha) !== undefined ? { previousSha: text(old.sha) } : {}),
        eventId,
        recordedAt: at,
      }),
    );
  }

  const status: SandpitStatus = 'active';
  const sandpit: RecordedSandpit = {
    biome,
    stackName,
    stackId: event.StackId,
    owner: props.owner,
    ttlDays: props.ttlDays,
    keep: props.keep,
    lastDeployAt: at,
    expiresAt,
    commit: props.commit,
    dirty: props.dirty,
    status,
    functions: Object.fromEntries(services.map(([name, s]) => [name, s.functionName])),
  };
  requests.push(
    put({ ...ledgerKey(pk.biome(biome), sk.sandpit), ...sandpit, ...liveIndexKeys(biome, 'sandpit') }),
    put({
      ...ledgerKey(pk.biome(biome), sk.sandpitHistory(at, eventId)),
      biome,
      status,
      reason: 'cdk deploy',
      source: 'cdk',
      owner: props.owner,
      expiresAt,
      commit: props.commit,
      dirty: props.dirty,
      stackId: event.StackId,
      requestType: event.RequestType,
      recordedAt: at,
    }),
  );
  await batchWrite(deps, requests);
  deps.logger.info('cdk deploy recorded', {
    biome,
    commit: props.commit,
    dirty: props.dirty,
    services: services.map(([name]) => name),
    removed: [...previous.keys()].filter((name) => !Object.hasOwn(props.services, name)),
    expiresAt,
  });
  return { PhysicalResourceId: physicalId(biome), Data: { [ATTRIBUTE.expiresAt]: expiresAt } };
}

// ---------------------------------------------------------------------------------------------------
// B. Destroy (Stack Status Change: DELETE_COMPLETE)
// ---------------------------------------------------------------------------------------------------

export async function recordDestroy(deps: Deps, event: StackStatusEvent): Promise<DestroyOutcome> {
  const stackId = event.detail['stack-id'];
  const status = event.detail['status-details'].status;
  if (status !== 'DELETE_COMPLETE') return { action: 'ignored', reason: `status ${status}` };
  const stackName = stackNameOfArn(stackId);
  if (stackName === undefined) return { action: 'ignored', reason: `stack id ${stackId} is not a stack ARN` };
  const sandpit = sandpitOfStack(deps.settings, stackName);
  if ('problem' in sandpit) return { action: 'ignored', reason: sandpit.problem };
  const { biome } = sandpit;

  const [live, record] = await Promise.all([
    queryPrefix(deps, biome, sk.livePrefix),
    readSandpit(deps, biome),
  ]);
  if (record === undefined && live.length === 0) {
    deps.logger.info('destroy already recorded: nothing left to remove', { biome, stackId });
    return { action: 'already-destroyed', biome };
  }
  const recordedStack = text(record?.stackId);
  if (recordedStack !== undefined && recordedStack !== stackId) {
    // The biome was deployed again (a new stack of the same name) before this event arrived.
    return { action: 'ignored', reason: `the sandpit record belongs to a newer stack ${recordedStack}` };
  }

  const at = deps.now();
  // The history item first, under a key of the event's own time and the stack: if the deletes below fail,
  // the retried event finds records left, puts the same key (a no-op) and deletes the rest.
  const time = isoTime(event.time, at);
  const stackUuid = stackId.slice(stackId.lastIndexOf('/') + 1);
  await appendOnce(deps, {
    ...ledgerKey(pk.biome(biome), sk.sandpitHistory(time, `destroy-${stackUuid}`)),
    biome,
    status: 'destroyed' satisfies SandpitStatus,
    reason: `stack ${stackName} deleted`,
    source: 'cloudformation',
    stackId,
    ...(text(record?.owner) !== undefined ? { owner: text(record?.owner) } : {}),
    removed: live.map((item) => String(item[LEDGER_SORT_KEY])),
    recordedAt: at.toISOString(),
  });
  const keys: LedgerKey[] = live.map((item) =>
    ledgerKey(String(item[LEDGER_PARTITION_KEY]), String(item[LEDGER_SORT_KEY])),
  );
  if (record !== undefined) keys.push(ledgerKey(pk.biome(biome), sk.sandpit));
  await batchWrite(deps, keys.map(remove));
  deps.logger.info('sandpit destroyed', { biome, stackId, deleted: keys.length });
  return { action: 'destroyed', biome, deleted: keys.length };
}

// ---------------------------------------------------------------------------------------------------
// C. Hotswap (UpdateFunctionCode by the sandpit deployer)
// ---------------------------------------------------------------------------------------------------

/**
 * CloudTrail names Lambda's API calls with the API version: UpdateFunctionCode is recorded as
 * `UpdateFunctionCode20150331v2` ("the eventName might include date and version information ... but it is
 * still referring to the same public API": AWS Lambda Developer Guide, "Logging Lambda API calls with
 * CloudTrail", https://docs.aws.amazon.com/lambda/latest/dg/logging-using-cloudtrail.html). The bare and
 * other versioned forms are accepted too, as the construct's rule matches the prefix.
 */
export const UPDATE_FUNCTION_CODE_EVENT = /^UpdateFunctionCode(\d{8}(v\d+)?)?$/;

/** A function's name and unqualified ARN. */
export interface FunctionRef {
  readonly name: string;
  readonly arn: string;
}

const FUNCTION_ARN = /^arn:(aws[a-z-]*):lambda:([a-z0-9-]+):(\d{12}):function:([A-Za-z0-9_-]+)(:[^:]+)?$/;
const PARTIAL_ARN = /^(\d{12}):function:([A-Za-z0-9_-]+)(:[^:]+)?$/;
const FUNCTION_NAME = /^[A-Za-z0-9_-]+$/;

/**
 * The function an UpdateFunctionCode call changed. Its answer carries the function's ARN; the request's
 * FunctionName may be a name, an ARN or a partial ARN (`<account>:function:<name>`), completed with the
 * event's region and account and the deployer role's partition.
 */
export function functionOf(event: ApiCallEvent, partition: string): FunctionRef | undefined {
  const d = event.detail;
  const region = d.awsRegion ?? event.region;
  const account = d.recipientAccountId ?? event.account;
  const build = (acct: string | undefined, name: string): FunctionRef | undefined =>
    region && acct ? { name, arn: `arn:${partition}:lambda:${region}:${acct}:function:${name}` } : undefined;
  for (const given of [d.responseElements?.functionArn, d.requestParameters?.functionName]) {
    if (!given) continue;
    const full = FUNCTION_ARN.exec(given);
    // ListTags takes the unqualified ARN: the qualifier (a version or alias), if any, comes off.
    if (full?.[4]) return { name: full[4], arn: given.slice(0, given.length - (full[5] ?? '').length) };
    const partial = PARTIAL_ARN.exec(given);
    if (partial?.[1] && partial[2]) return build(partial[1], partial[2]);
    if (FUNCTION_NAME.test(given)) return build(account, given);
  }
  return undefined;
}

/** Whether `name` can be a sandpit's function: sandpit names start `<app>-<env>-`, never `<app>-<env>-main-`. */
function inSandpitFence(settings: Settings, name: string): boolean {
  const fence = settings.scope.sandpitFence;
  return name.startsWith(fence.prefix) && !fence.excluded.some((excluded) => name.startsWith(excluded));
}

async function tagsOf(deps: Deps, arn: string): Promise<Record<string, string> | undefined> {
  try {
    const out = await deps.lambda.send(new ListTagsCommand({ Resource: arn }));
    return out.Tags ?? {};
  } catch (e) {
    // Deleted since (a destroy right after the hotswap): nothing live to mark.
    if (nameOf(e) === 'ResourceNotFoundException') return undefined;
    throw e;
  }
}

export async function recordHotswap(deps: Deps, event: ApiCallEvent): Promise<HotswapOutcome> {
  const d = event.detail;
  if (d.eventSource !== 'lambda.amazonaws.com' || !UPDATE_FUNCTION_CODE_EVENT.test(d.eventName)) {
    return { action: 'ignored', reason: `${d.eventSource} ${d.eventName} is not UpdateFunctionCode` };
  }
  if (d.errorCode !== undefined) return { action: 'ignored', reason: `the call failed (${d.errorCode})` };
  // A role session's issuer is the role itself (arn:aws:iam::<account>:role/<name>), whoever assumed it.
  const caller = d.userIdentity?.sessionContext?.sessionIssuer?.arn;
  if (caller !== deps.settings.deployerRoleArn) {
    // CloudFormation's own updates run as the sandpit execution role; anyone else is not a hotswap either.
    return { action: 'ignored', reason: `caller ${caller ?? '(unknown)'} is not the sandpit deployer` };
  }
  const partition = ROLE_ARN_PATTERN.exec(deps.settings.deployerRoleArn)?.[1] ?? 'aws';
  const fn = functionOf(event, partition);
  if (fn === undefined) return { action: 'ignored', reason: 'the event names no function' };
  if (!inSandpitFence(deps.settings, fn.name)) {
    return { action: 'ignored', reason: `function ${fn.name} is not a sandpit function` };
  }
  const tags = await tagsOf(deps, fn.arn);
  if (tags === undefined) return { action: 'ignored', reason: `function ${fn.name} no longer exists` };
  const { app, env } = deps.settings.scope;
  if (tags[TAGS.app] !== app || tags[TAGS.env] !== env) {
    return { action: 'ignored', reason: `function ${fn.name} is not of ${app}/${env}` };
  }
  const biome = tags[TAGS.biome] ?? '';
  const problem = biomeNameProblem(biome);
  if (problem)
    return { action: 'ignored', reason: `function ${fn.name} is not in a sandpit (biome ${problem})` };

  const now = deps.now();
  const hotswappedAt = isoTime(d.eventTime, now);
  const [live, record] = await Promise.all([
    queryPrefix(deps, biome, `${sk.livePrefix}service#`),
    readSandpit(deps, biome),
  ]);
  const functions = (record?.functions ?? {}) as Record<string, unknown>;
  const services = live
    .filter((item) => {
      const name = text(item.name);
      return (
        text(item.deployedRef)?.startsWith(`${fn.name}:`) === true ||
        (name !== undefined && functions[name] === fn.name)
      );
    })
    .map((item) => String(item.name));

  const mark = async (key: LedgerKey): Promise<boolean> => {
    try {
      await deps.db.send(
        new UpdateCommand({
          TableName: deps.settings.ledgerTable,
          Key: key,
          UpdateExpression: 'SET mayBeAhead = :mark, hotswappedAt = :at',
          // Only a record that is there: a destroy may have removed it since it was read.
          ConditionExpression: 'attribute_exists(#pk)',
          ExpressionAttributeNames: { '#pk': LEDGER_PARTITION_KEY },
          ExpressionAttributeValues: { ':mark': HOTSWAPPED, ':at': hotswappedAt },
        }),
      );
      return true;
    } catch (e) {
      if (isConditionFailure(e)) return false;
      throw e;
    }
  };
  const marked: string[] = [];
  for (const name of services) {
    if (await mark(ledgerKey(pk.biome(biome), sk.live('service', name)))) marked.push(name);
  }
  const sandpitMarked = record !== undefined && (await mark(ledgerKey(pk.biome(biome), sk.sandpit)));
  await appendOnce(deps, {
    ...ledgerKey(pk.biome(biome), sk.sandpitHistory(hotswappedAt, `hotswap-${d.eventID ?? event.id}`)),
    biome,
    status: 'active' satisfies SandpitStatus,
    reason: `hotswapped ${fn.name}`,
    source: 'hotswap',
    functionName: fn.name,
    services: marked,
    caller,
    recordedAt: now.toISOString(),
  });
  deps.logger.info('hotswap recorded', { biome, functionName: fn.name, services: marked, sandpitMarked });
  return { action: 'hotswapped', biome, functionName: fn.name, services: marked, sandpitMarked };
}
