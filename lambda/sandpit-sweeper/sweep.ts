/**
 * The daily sandpit sweep (docs/design.md "Sandpit lifecycle"): every sandpit stack of the app and
 * environment is found by its tags, its expiry computed from its last deploy and its `ttl-days` tag
 * (lambda/shared/sandpit.ts), and one {@link decide} says what the run does with it: nothing, tell the
 * owner it expires within a day, report it kept, delete it, or retry a delete that failed.
 *
 * Every step is once per expiry and never loops: one notice per expiry (`noticeSentFor`), one `kept`
 * record per expiry, at most one DeleteStack per stack per run with a client request token derived from
 * the biome and the expiry (a retried invocation cannot start a second delete). A failed delete is
 * recorded `expiry-failed`, told to the owner and tried again by the next day's run. A failure on one
 * stack is logged and reported, and the run goes on with the next.
 *
 * Pure orchestration: clients, settings, logger and clock come in as arguments.
 */
import { randomUUID } from 'node:crypto';
import {
  type CloudFormationClient,
  DeleteStackCommand,
  type Stack,
  paginateDescribeStacks,
} from '@aws-sdk/client-cloudformation';
import { PublishCommand, type SNSClient } from '@aws-sdk/client-sns';
import { type DynamoDBDocumentClient, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { Logger } from '@aws-lambda-powertools/logger';
import { readSandpitItem } from '../deploy-trigger/ledger';
import { ledgerKey, liveIndexKeys, pk, sk } from '../deploy-trigger/ledger-keys';
import { TAGS } from '../shared/contracts';
import { MAINLINE_BIOME, biomeNameProblem } from '../shared/grammar';
import {
  EXPIRY_NOTICE_MS,
  OWNER_NOTICE_ATTRIBUTE,
  SANDPIT_TAGS,
  type SandpitRecord,
  type SandpitStatus,
  expiryOf,
  ttlProblem,
} from '../shared/sandpit';
import { BiomeScope, type EnvScope } from '../shared/scope';
import type { Settings } from './settings';

export type Log = Pick<Logger, 'info' | 'warn' | 'error'>;

export interface Deps {
  readonly cloudformation: CloudFormationClient;
  readonly sns: SNSClient;
  readonly db: DynamoDBDocumentClient;
  readonly settings: Settings;
  readonly logger: Log;
  /** Identifies this run in the ledger's history items (the Lambda request id). @default a random UUID */
  readonly runId?: string;
}

/** What one run did with one sandpit. */
export type SweepAction = 'none' | 'notified' | 'kept' | 'expired' | 'expiry-failed' | 'busy';

/** What the sweeper knows of one sandpit stack, read from DescribeStacks ({@link sandpitOf}). */
export interface SandpitStack {
  readonly biome: string;
  readonly stackName: string;
  /** CloudFormation's StackStatus, e.g. `UPDATE_COMPLETE`, `DELETE_FAILED`. */
  readonly status: string;
  /** StackStatusReason: for DELETE_FAILED, what blocked the delete. */
  readonly statusReason?: string;
  readonly createdAt: Date;
  readonly updatedAt?: Date;
  /** The stack's tags, as they are (a missing tag is undefined). */
  readonly owner?: string;
  readonly ttlTag?: string;
  readonly keepTag?: string;
}

/** The part of the ledger's sandpit record the decision reads (any field may be absent or stale). */
export type LedgerFacts = Partial<
  Pick<SandpitRecord, 'lastDeployAt' | 'status' | 'expiresAt' | 'noticeSentFor' | 'owner'>
>;

/** What {@link decide} says one run does with one sandpit. */
export interface Decision {
  readonly action: SweepAction;
  readonly expiresAt: Date;
  /** The latest of the ledger's last deploy, the stack's last update and its creation. */
  readonly lastDeployAt: Date;
  readonly ttlDays: number;
  readonly keep: boolean;
  /** Set when the default lifetime applies: why (the `ttl-days` tag is missing or unreadable). */
  readonly ttlDefaulted?: string;
  /** Write the sandpit record and a history item. */
  readonly record: boolean;
  /** Tell the owner. */
  readonly notify: boolean;
  /** Call DeleteStack (once). */
  readonly deleteStack: boolean;
  /** For `expiry-failed`: why the last delete failed (the stack's StackStatusReason). */
  readonly reason?: string;
  /** One line for the report. */
  readonly detail: string;
}

/** One line of the report: one per sandpit found. */
export interface SweepEntry {
  readonly biome: string;
  readonly stackName: string;
  /** The `owner` tag (the ledger's owner when the tag is missing), or `unknown`. */
  readonly owner: string;
  readonly expiresAt: string;
  readonly action: SweepAction;
  readonly detail?: string;
  /** Set when a step failed on this sandpit (the run went on with the next). */
  readonly error?: string;
}

export interface SweepReport {
  readonly app: string;
  readonly env: string;
  readonly sweptAt: string;
  readonly sandpits: readonly SweepEntry[];
}

/** Stack statuses that end `_IN_PROGRESS` belong to someone else's operation: not touched this run. */
// REVIEW_IN_PROGRESS is not busy: a stack created for a change set nobody executed, with nothing in
// it; it stays so until deleted, so it expires like any other.
const IN_PROGRESS = /^(?!REVIEW_IN_PROGRESS$).*_IN_PROGRESS$/;
/** A delete that failed (the sweeper's, or anyone's): it is retried. */
const DELETE_FAILED = 'DELETE_FAILED';

function tagOf(stack: Stack, key: string): string | undefined {
  return stack.Tags?.find((t) => t.Key === key)?.Value;
}

/**
 * The sandpit a listed stack is, or undefined: tags `app` and `env` of this scope, a `biome` tag that is a
 * valid sandpit name (never `main`, which never expires), and the stack name that biome's stack takes.
 * Anything else (other apps, other environments, the shared and mainline stacks, nested stacks) is not
 * the sweeper's.
 */
export function sandpitOf(stack: Stack, scope: EnvScope): SandpitStack | undefined {
  const biome = tagOf(stack, TAGS.biome);
  if (tagOf(stack, TAGS.app) !== scope.app || tagOf(stack, TAGS.env) !== scope.env) return undefined;
  if (biome === undefined || biome === MAINLINE_BIOME || biomeNameProblem(biome) !== undefined)
    return undefined;
  const stackName = new BiomeScope(scope.app, scope.env, biome).stackName;
  if (stack.StackName !== stackName || stack.CreationTime === undefined) return undefined;
  const owner = tagOf(stack, SANDPIT_TAGS.owner);
  const ttlTag = tagOf(stack, SANDPIT_TAGS.ttlDays);
  const keepTag = tagOf(stack, SANDPIT_TAGS.keep);
  return {
    biome,
    stackName,
    status: stack.StackStatus ?? 'UNKNOWN',
    ...(stack.StackStatusReason !== undefined ? { statusReason: stack.StackStatusReason } : {}),
    createdAt: stack.CreationTime,
    ...(stack.LastUpdatedTime !== undefined ? { updatedAt: stack.LastUpdatedTime } : {}),
    ...(owner !== undefined ? { owner } : {}),
    ...(ttlTag !== undefined ? { ttlTag } : {}),
    ...(keepTag !== undefined ? { keepTag } : {}),
  };
}

/** The lifetime the `ttl-days` tag gives, or the default with the reason it applies. */
export function lifetimeOf(
  ttlTag: string | undefined,
  defaultTtlDays: number,
): { readonly ttlDays: number; readonly defaulted?: string } {
  if (ttlTag === undefined) {
    return {
      ttlDays: defaultTtlDays,
      defaulted: `no ${SANDPIT_TAGS.ttlDays} tag: default ${defaultTtlDays} days`,
    };
  }
  // The sweeper enforces no maximum: a lifetime above it never passed synth (lib/config.ts).
  const problem = ttlProblem(ttlTag, Number.MAX_SAFE_INTEGER);
  if (problem !== undefined) {
    return {
      ttlDays: defaultTtlDays,
      defaulted: `${SANDPIT_TAGS.ttlDays} tag ${problem}: default ${defaultTtlDays} days`,
    };
  }
  return { ttlDays: Number(ttlTag) };
}

function validDate(iso: string | undefined): Date | undefined {
  if (iso === undefined) return undefined;
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? undefined : date;
}

/**
 * What this run does with one sandpit: a pure function of the stack, its ledger record (absent for a
 * sandpit the recorder never saw), the settings and the clock. Clock edges: exactly at the expiry is
 * expired; exactly {@link EXPIRY_NOTICE_MS} before it is inside the notice window.
 */
export function decide(
  stack: SandpitStack,
  record: LedgerFacts | undefined,
  settings: Pick<Settings, 'defaultTtlDays'>,
  now: Date,
): Decision {
  const deploys = [validDate(record?.lastDeployAt), stack.updatedAt, stack.createdAt].filter(
    (d): d is Date => d !== undefined,
  );
  const lastDeployAt = new Date(Math.max(...deploys.map((d) => d.getTime())));
  const lifetime = lifetimeOf(stack.ttlTag, settings.defaultTtlDays);
  const expiresAt = expiryOf(lastDeployAt, lifetime.ttlDays);
  const expiry = expiresAt.toISOString();
  const keep = stack.keepTag === 'true';
  const base = {
    expiresAt,
    lastDeployAt,
    ttlDays: lifetime.ttlDays,
    keep,
    ...(lifetime.defaulted !== undefined ? { ttlDefaulted: lifetime.defaulted } : {}),
  };
  const withLifetime = (detail: string) =>
    lifetime.defaulted !== undefined ? `${detail} (${lifetime.defaulted})` : detail;
  const nothing = { record: false, notify: false, deleteStack: false };

  if (IN_PROGRESS.test(stack.status)) {
    return { ...base, ...nothing, action: 'busy', detail: `stack is ${stack.status}: left for the next run` };
  }
  const leftMs = expiresAt.getTime() - now.getTime();
  const sweepersDelete = record?.status === 'expired' || record?.status === 'expiry-failed';
  if (stack.status === DELETE_FAILED && !sweepersDelete && (keep || leftMs > 0)) {
    // Its owner's own delete (cdk destroy) failed, not an expiry: theirs to finish.
    return {
      ...base,
      ...nothing,
      action: 'busy',
      detail: `stack is ${DELETE_FAILED} (${stack.statusReason ?? 'CloudFormation gave no reason'}) after a delete the sweeper did not start, and it has not expired or is kept: left to its owner`,
    };
  }
  if (stack.status === DELETE_FAILED) {
    const reason = stack.statusReason ?? 'CloudFormation gave no reason';
    return {
      ...base,
      action: 'expiry-failed',
      record: true,
      notify: true,
      deleteStack: true,
      reason,
      detail: `stack is ${DELETE_FAILED} (${reason}): delete retried once`,
    };
  }
  if (leftMs <= 0 && keep) {
    const recorded = record?.status === 'kept' && record.expiresAt === expiry;
    return {
      ...base,
      action: 'kept',
      record: !recorded,
      notify: !recorded,
      deleteStack: false,
      detail: withLifetime(
        `expired at ${expiry} but tagged ${SANDPIT_TAGS.keep}=true: not deleted${recorded ? ' (already reported)' : ''}`,
      ),
    };
  }
  if (leftMs <= 0) {
    return {
      ...base,
      action: 'expired',
      record: true,
      notify: true,
      deleteStack: true,
      detail: withLifetime(`expired at ${expiry}: deleting`),
    };
  }
  if (leftMs <= EXPIRY_NOTICE_MS) {
    if (record?.noticeSentFor === expiry) {
      return {
        ...base,
        ...nothing,
        action: 'none',
        detail: withLifetime(`expires at ${expiry}; the owner was told on an earlier run`),
      };
    }
    return {
      ...base,
      action: 'notified',
      record: true,
      notify: true,
      deleteStack: false,
      detail: withLifetime(`expires at ${expiry}: owner told`),
    };
  }
  return { ...base, ...nothing, action: 'none', detail: withLifetime(`active; expires at ${expiry}`) };
}

/**
 * The DeleteStack client request token. CloudFormation treats a DeleteStack with a token it has seen as
 * a retry of the same request (DeleteStackInput.ClientRequestToken), so a retried invocation starts no
 * second delete; the retry of a delete that ended DELETE_FAILED adds the day, or CloudFormation would
 * take it for the request that already failed. Pattern `[a-zA-Z0-9][-a-zA-Z0-9]*`, at most 128 characters.
 */
export function deleteToken(biome: string, expiresAt: Date, retryOn?: Date): string {
  const compact = (d: Date) => d.toISOString().replace(/[-:.]/g, '');
  const day = retryOn === undefined ? '' : `-retry-${retryOn.toISOString().slice(0, 10).replace(/-/g, '')}`;
  return `sandpit-sweep-${biome}-${compact(expiresAt)}${day}`;
}

export interface Notice {
  readonly subject: string;
  readonly message: string;
}

/** SNS refuses a subject of 100 characters or more. */
const MAX_SUBJECT = 99;

/** What the owner is told for `action` (`notified`, `kept`, `expired`, `expiry-failed`). */
export function noticeOf(
  action: SweepAction,
  stack: SandpitStack,
  decision: Decision,
  scope: EnvScope,
  reason?: string,
): Notice {
  const b = stack.biome;
  const target = `-c biome=${b} -c env=${scope.env}`;
  const expiry = decision.expiresAt.toISOString();
  const where = `Sandpit "${b}" (stack ${stack.stackName}, ${scope.app} ${scope.env})`;
  const lifetime =
    `last deploy ${decision.lastDeployAt.toISOString()} + ${decision.ttlDays} days` +
    (decision.ttlDefaulted !== undefined ? `; ${decision.ttlDefaulted}` : '');
  const extend = [
    'To keep it longer, any of:',
    `- deploy a change to it (cdk deploy ${target}, or a push to sandpit/${b}): its lifetime starts again;`,
    `- give it a longer lifetime: cdk deploy ${target} -c ttl=<days>;`,
    `- keep it past its expiry: cdk deploy ${target} -c keep=true (reported, never deleted).`,
  ];
  const destroy = `Done with it? Delete it now: cdk destroy ${target}`;
  let subject: string;
  let lines: string[];
  switch (action) {
    case 'notified':
      subject = `Sandpit ${stack.stackName} expires ${expiry}`;
      lines = [
        `${where} expires at ${expiry} (${lifetime}).`,
        decision.keep
          ? `It is tagged ${SANDPIT_TAGS.keep}=true: the sweeper will report it, not delete it.`
          : 'After that time the daily sweeper deletes it, with everything in it.',
        '',
        ...extend,
        destroy,
      ];
      break;
    case 'kept':
      subject = `Sandpit ${stack.stackName} is past its expiry (kept)`;
      lines = [
        `${where} expired at ${expiry} (${lifetime}).`,
        `It is tagged ${SANDPIT_TAGS.keep}=true, so the sweeper does not delete it; it keeps costing what it uses.`,
        '',
        `Let it expire again: cdk deploy ${target} -c keep=false`,
        destroy,
      ];
      break;
    case 'expired':
      subject = `Sandpit ${stack.stackName} expired: deleting`;
      lines = [
        `${where} expired at ${expiry} (${lifetime}).`,
        `The sweeper started deleting its stack ${stack.stackName}: its functions, workflow, database and models go with it.`,
        '',
        `Need it again? Deploy it afresh: cdk deploy ${target}`,
        `Next time, to keep it longer: deploy a change before it expires, -c ttl=<days>, or -c keep=true.`,
      ];
      break;
    default:
      subject = `Sandpit ${stack.stackName}: its expiry delete failed`;
      lines = [
        `${where} expired at ${expiry}, and deleting its stack failed:`,
        reason ?? 'no reason given',
        '',
        'The sweeper tries the delete again once a day (the next run is tomorrow) until the stack is gone.',
        'To fix it: remove or empty what blocks the delete (the reason above names the resource, for example a bucket that is not empty),',
        `or delete the sandpit yourself: cdk destroy ${target}`,
      ];
      break;
  }
  return { subject: subject.slice(0, MAX_SUBJECT), message: lines.join('\n') };
}

function messageOf(e: unknown): string {
  return e instanceof Error ? `${e.name}: ${e.message}` : String(e);
}

const STATUSES: readonly SandpitStatus[] = [
  'active',
  'notified',
  'kept',
  'expired',
  'expiry-failed',
  'destroyed',
];

/** The facts the decision reads from the ledger's item, each only when it has the right type. */
export function ledgerFactsOf(item: Record<string, unknown> | undefined): LedgerFacts | undefined {
  if (item === undefined) return undefined;
  const text = (key: string): string | undefined => {
    const value = item[key];
    return typeof value === 'string' ? value : undefined;
  };
  const status = STATUSES.find((s) => s === item.status);
  const facts: { -readonly [K in keyof LedgerFacts]: LedgerFacts[K] } = {};
  const lastDeployAt = text('lastDeployAt');
  const expiresAt = text('expiresAt');
  const noticeSentFor = text('noticeSentFor');
  const owner = text('owner');
  if (lastDeployAt !== undefined) facts.lastDeployAt = lastDeployAt;
  if (status !== undefined) facts.status = status;
  if (expiresAt !== undefined) facts.expiresAt = expiresAt;
  if (noticeSentFor !== undefined) facts.noticeSentFor = noticeSentFor;
  if (owner !== undefined) facts.owner = owner;
  return facts;
}

async function readRecord(deps: Deps, biome: string): Promise<LedgerFacts | undefined> {
  return ledgerFactsOf(await readSandpitItem(deps.db, deps.settings.ledgerTable, biome));
}

/**
 * Updates the sandpit record (status, expiry, notice) and appends one history item. The fields the
 * ledger recorder owns are written only where the record lacks them (a sandpit it never saw).
 */
async function record(
  deps: Deps,
  stack: SandpitStack,
  decision: Decision,
  status: SandpitStatus,
  reason: string,
  now: Date,
  historyId: string,
): Promise<void> {
  const at = now.toISOString();
  const expiresAt = decision.expiresAt.toISOString();
  const set: Record<string, unknown> = {
    status,
    expiresAt,
    sweptAt: at,
    ...(status === 'notified' ? { noticeSentFor: expiresAt } : {}),
  };
  const ifAbsent: Record<string, unknown> = {
    biome: stack.biome,
    stackName: stack.stackName,
    ...(stack.owner !== undefined ? { owner: stack.owner } : {}),
    ttlDays: decision.ttlDays,
    keep: decision.keep,
    lastDeployAt: decision.lastDeployAt.toISOString(),
    ...liveIndexKeys(stack.biome, 'sandpit'),
  };
  const names: Record<string, string> = {};
  const values: Record<string, unknown> = {};
  const clauses: string[] = [];
  for (const [key, value] of Object.entries(set)) {
    names[`#${key}`] = key;
    values[`:${key}`] = value;
    clauses.push(`#${key} = :${key}`);
  }
  for (const [key, value] of Object.entries(ifAbsent)) {
    names[`#${key}`] = key;
    values[`:${key}`] = value;
    clauses.push(`#${key} = if_not_exists(#${key}, :${key})`);
  }
  await deps.db.send(
    new UpdateCommand({
      TableName: deps.settings.ledgerTable,
      Key: ledgerKey(pk.biome(stack.biome), sk.sandpit),
      UpdateExpression: `SET ${clauses.join(', ')}`,
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: values,
    }),
  );
  await deps.db.send(
    new PutCommand({
      TableName: deps.settings.ledgerTable,
      Item: {
        ...ledgerKey(pk.biome(stack.biome), sk.sandpitHistory(at, historyId)),
        status,
        reason,
        biome: stack.biome,
        ...(stack.owner !== undefined ? { owner: stack.owner } : {}),
        expiresAt,
        source: 'sweeper',
        recordedAt: at,
      },
    }),
  );
}

async function notify(deps: Deps, biome: string, notice: Notice): Promise<void> {
  await deps.sns.send(
    new PublishCommand({
      TopicArn: deps.settings.ownersTopicArn,
      Subject: notice.subject,
      Message: notice.message,
      MessageAttributes: { [OWNER_NOTICE_ATTRIBUTE]: { DataType: 'String', StringValue: biome } },
    }),
  );
}

/** Sweeps one sandpit; never throws (a failure is in the entry, and logged). */
async function sweepOne(deps: Deps, stack: SandpitStack, now: Date, historyId: string): Promise<SweepEntry> {
  const { settings, logger } = deps;
  let owner = stack.owner ?? 'unknown';
  // Until the ledger is read, the expiry the stack alone gives (a failed read still reports one).
  const provisional = decide(stack, undefined, settings, now);
  let entry: SweepEntry = {
    biome: stack.biome,
    stackName: stack.stackName,
    owner,
    expiresAt: provisional.expiresAt.toISOString(),
    action: 'none',
  };
  try {
    const ledger = await readRecord(deps, stack.biome);
    owner = stack.owner ?? ledger?.owner ?? 'unknown';
    const decision = decide(stack, ledger, settings, now);
    let action = decision.action;
    let reason = decision.reason;
    let detail = decision.detail;
    entry = { ...entry, owner, expiresAt: decision.expiresAt.toISOString(), action, detail };

    if (decision.deleteStack) {
      const retry = decision.action === 'expiry-failed';
      try {
        await deps.cloudformation.send(
          new DeleteStackCommand({
            StackName: stack.stackName,
            RoleARN: settings.executionRoleArn,
            ClientRequestToken: deleteToken(stack.biome, decision.expiresAt, retry ? now : undefined),
          }),
        );
      } catch (e) {
        const error = messageOf(e);
        logger.error('DeleteStack failed', { biome: stack.biome, stackName: stack.stackName, error });
        action = 'expiry-failed';
        reason = retry
          ? `${reason ?? ''}; retrying DeleteStack failed too: ${error}`
          : `DeleteStack failed: ${error}`;
        detail = retry ? `${detail}; the retry failed: ${error}` : `expired; DeleteStack failed: ${error}`;
        entry = { ...entry, action, detail, error };
      }
    }
    const notice = noticeOf(action, stack, decision, settings.scope, reason);
    // A notice or a keep report is recorded after it is sent, so a failed publish is sent again by the
    // next run; a delete is recorded before the owner is told, so a failed publish cannot lose it.
    const write = async (status: SandpitStatus) =>
      record(deps, stack, decision, status, reason ?? detail, now, historyId);
    if (action === 'notified' || action === 'kept') {
      if (decision.notify) await notify(deps, stack.biome, notice);
      if (decision.record) await write(action);
    } else if (action === 'expired' || action === 'expiry-failed') {
      await write(action);
      await notify(deps, stack.biome, notice);
    }
    return entry;
  } catch (e) {
    const error = messageOf(e);
    logger.error('sandpit sweep step failed', { biome: stack.biome, stackName: stack.stackName, error });
    return { ...entry, detail: `${entry.detail ?? ''}${entry.detail ? '; ' : ''}failed: ${error}`, error };
  }
}

/** Every stack of the account and region (DescribeStacks, page by page). */
async function listStacks(cloudformation: CloudFormationClient): Promise<Stack[]> {
  const stacks: Stack[] = [];
  for await (const page of paginateDescribeStacks({ client: cloudformation }, {})) {
    stacks.push(...(page.Stacks ?? []));
  }
  return stacks;
}

/** One sweep of the app and environment of `deps.settings`, at `now`; returns (and logs) the report. */
export async function sweep(deps: Deps, now: Date): Promise<SweepReport> {
  const { scope } = deps.settings;
  const runId = deps.runId ?? randomUUID();
  const stacks = await listStacks(deps.cloudformation);
  const sandpits = stacks
    .map((s) => sandpitOf(s, scope))
    .filter((s): s is SandpitStack => s !== undefined)
    .sort((a, b) => a.biome.localeCompare(b.biome));
  const entries: SweepEntry[] = [];
  // One at a time: a day's sweep touches tens of stacks, and DeleteStack calls are throttled per account.
  for (const sandpit of sandpits) {
    entries.push(await sweepOne(deps, sandpit, now, runId));
  }
  const report: SweepReport = {
    app: scope.app,
    env: scope.env,
    sweptAt: now.toISOString(),
    sandpits: entries,
  };
  deps.logger.info('sandpit sweep', {
    stacks: stacks.length,
    sandpits: entries.length,
    failures: entries.filter((e) => e.error !== undefined).length,
    report,
  });
  return report;
}
