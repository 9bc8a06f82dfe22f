/**
 * Canary releases of `main`'s services (README "When a release goes wrong"; the deployment groups are
 * lib/workload/biome/service-canary.ts). After the smoke check, instead of moving alias `live`, the
 * trigger checks that none of the group's alarms is in ALARM, records the canary (`CANARY#service#<name>`)
 * and starts a CodeDeploy deployment of the alias from the live version to the new one; CodeDeploy shifts
 * the canary's share, bakes, then shifts the rest or rolls back when an alarm fires. The ledger records
 * `canary` at the start and `deployed` or `rolled-back` when CodeDeploy reports the end.
 *
 * The end comes from EventBridge (CodeDeploy's "Deployment State-change Notification", states SUCCESS,
 * FAILURE and STOP: EventBridge User Guide, "AWS CodeDeploy events"), not from a lifecycle hook: an
 * AfterAllowTraffic hook runs only when all traffic has shifted, so a deployment that an alarm rolls
 * back, or one stopped, never calls it and the ledger would never say `rolled-back`. The event only says
 * which deployment changed: the verdict is GetDeployment's, and what alias `live` serves. Those events
 * are delivered "best effort" (same page), so a 5-minute sweep (lib/workload/shared/deploy-trigger.ts)
 * settles every canary whose end was not heard the same way. Duplicates and late events are recognised
 * by the deployment ids the canary record keeps; a canary still `starting` is matched by the key in the
 * deployment's description.
 *
 * A rollback is a deployment of its own (CodeDeploy User Guide, "Deployments on an AWS Lambda compute
 * platform", "Redeployments and deployment rollbacks": "the new or rolled-back deployment is assigned its
 * own deployment ID"): a failed or stopped canary whose rollback still runs is not over; it ends, and
 * is recorded `rolled-back`, when GetDeployment says its rollback ended.
 *
 * A newer publication during a canary supersedes it: it is queued on the canary record (`next`, newest
 * only), the trigger asks CodeDeploy to stop the canary with rollback, and the end of the stopped canary
 * (recorded `rolled-back`, "superseded") delivers the queued publication again. A rollback published by
 * `npm run rollback` is such a newer publication, so it stops a running canary first. A duplicate
 * delivery of the canary's own publication is skipped by its claim: it never starts a second deployment.
 */
import { type CloudWatchClient, DescribeAlarmsCommand } from '@aws-sdk/client-cloudwatch';
import {
  CreateDeploymentCommand,
  type DeploymentStatus,
  GetDeploymentCommand,
  ListDeploymentsCommand,
  StopDeploymentCommand,
} from '@aws-sdk/client-codedeploy';
import { GetAliasCommand } from '@aws-sdk/client-lambda';
import * as z from 'zod/mini';
import { issueLines } from '../shared/issues';
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import {
  ARTIFACT_METADATA,
  type CanaryRegistration,
  LIVE_ALIAS,
  normalisedPublishedAt,
  sbomKey,
  type ServiceRegistration,
} from '../shared/contracts';
import { MAINLINE_BIOME, parseArtifactKey } from '../shared/grammar';
import type { Budget } from './budget';
import { accessDeniedReason, messageOf, nameOf } from './errors';
import { objectCreatedEvent } from './event';
import { lock } from './lease';
import type { CanaryRecord, Delivery, Holder, Ledger, LedgerTarget, Outcome } from './ledger';
import type { Deps } from './deploy';
import { optional, Retryable, Stop } from './outcome';
import { DEPLOYMENT_STATE_CHANGE, ENDED_STATES, SETTLE_CANARIES } from './release-events';
import { type Prepared, type ServiceTarget, tagCommit } from './service';

/** What the canary steps need besides the ledger. */
/** What the canary steps need of the trigger's {@link Deps}. */
export type CanaryDeps = Pick<
  Deps,
  'settings' | 's3' | 'lambda' | 'codedeploy' | 'cloudwatch' | 'now' | 'sleep' | 'logger'
>;

/** The alarms of `names` in ALARM, and the names no alarm has. */
export async function alarmStates(
  cloudwatch: CloudWatchClient,
  names: readonly string[],
): Promise<{ firing: string[]; missing: string[] }> {
  if (names.length === 0) return { firing: [], missing: [] };
  // At most 100 names per call; a deployment group has at most 10 alarms (CodeDeploy's limit).
  const out = await cloudwatch.send(
    new DescribeAlarmsCommand({ AlarmNames: [...names], AlarmTypes: ['MetricAlarm', 'CompositeAlarm'] }),
  );
  const states = new Map<string, string | undefined>(
    [...(out.MetricAlarms ?? []), ...(out.CompositeAlarms ?? [])].map((a) => [
      a.AlarmName ?? '',
      a.StateValue,
    ]),
  );
  return {
    firing: names.filter((n) => states.get(n) === 'ALARM'),
    missing: names.filter((n) => !states.has(n)),
  };
}

/**
 * The AppSpec of a Lambda deployment (CodeDeploy User Guide, "AppSpec 'resources' section (AWS Lambda
 * deployments only)": `Name`, `Alias`, `CurrentVersion`, `TargetVersion`), in JSON; `version` is 0.0.
 */
export function appSpec(functionName: string, currentVersion: string, targetVersion: string): string {
  const resources = [
    {
      live: {
        Type: 'AWS::Lambda::Function',
        Properties: {
          Name: functionName,
          Alias: LIVE_ALIAS,
          CurrentVersion: currentVersion,
          TargetVersion: targetVersion,
        },
      },
    },
  ];
  return `{"version":0.0,"Resources":${JSON.stringify(resources)}}`;
}

/** What a deployment's description carries, so its end finds the canary even before its id is recorded. */
const descriptionSchema = z.object({
  biome: z.string(),
  name: z.string(),
  key: z.string(),
  /** The version it shifts to: an adopted deployment's, not the one a retry published again. */
  version: z.string(),
});

/** CodeDeploy errors retrying cannot fix, as a reason that says what to do; undefined: retry. */
export function codeDeployFinalReason(
  e: unknown,
  registration: CanaryRegistration,
  service: string,
): string | undefined {
  const name = nameOf(e);
  const what = `CodeDeploy refused the canary of service "${service}" (${name}: ${messageOf(e)}); live unchanged, nothing shifted`;
  switch (name) {
    case 'ApplicationDoesNotExistException':
    case 'DeploymentGroupDoesNotExistException':
    case 'DeploymentConfigDoesNotExistException':
      return `${what}: deployment group "${registration.deploymentGroup}" of application "${registration.application}" is missing; deploy the mainline stack (its canary creates it), then re-run the pipeline to publish again`;
    case 'InvalidRevisionException':
    case 'InvalidDeploymentConfigNameException':
    case 'InvalidAlarmConfigException':
    case 'InvalidRoleException':
    case 'InvalidAutoRollbackConfigException':
      return `${what}: the deployment group or its role is misconfigured; deploy the mainline stack again`;
    default:
      return accessDeniedReason(e);
  }
}

/** A service registration that releases by canary. */
export type CanaryService = ServiceRegistration & { readonly canary: CanaryRegistration };

export function releasesByCanary(registration: ServiceRegistration): registration is CanaryService {
  return registration.canary !== undefined;
}

/** The facts a canary step adds to the outcome. */
export interface CanaryFacts {
  deploymentId?: string;
  alarms?: readonly string[];
  deployedRef?: string;
}

/**
 * Before anything of a new publication is touched: if a canary of the service is running, queue this
 * newer publication behind it and stop the canary (superseded), and return the Stop that ends this
 * delivery; undefined when no canary is active and the deploy goes on.
 */
export async function waitBehindCanary(
  deps: CanaryDeps,
  entry: LedgerTarget,
  delivery: Delivery,
  previousSha: string | undefined,
): Promise<Stop | undefined> {
  const canary = await entry.canary();
  if (!isActive(canary)) return undefined;
  const id = canary.deploymentId ?? '(unknown)';
  if (canary.key === delivery.key && canary.publishedAt === delivery.publishedAt) {
    return Stop.skipped(
      `duplicate delivery: canary ${id} of this publication is already running; no second deployment started`,
      previousSha,
    );
  }
  if ((canary.publishedAt ?? '') > delivery.publishedAt) {
    return Stop.skipped(
      `older than the running canary ${id} of ${canary.sha} (published at ${canary.publishedAt}); live not moved backwards (a rollback is a new publication of the old commit)`,
      previousSha,
    );
  }
  if (!(await entry.queueBehindCanary(delivery))) {
    const again = await entry.canary();
    if (!isActive(again)) return undefined;
    return Stop.skipped(
      `a newer publication (${again.next?.sha ?? 'unknown'} published at ${again.next?.publishedAt ?? 'unknown'}) already waits for canary ${id}; this one is not put live`,
      previousSha,
    );
  }
  if (canary.deploymentId && !canary.stopRequested) {
    try {
      // Rollback: the alias goes back to the version live before the canary, then the new one deploys.
      await deps.codedeploy.send(
        new StopDeploymentCommand({ deploymentId: canary.deploymentId, autoRollbackEnabled: true }),
      );
    } catch (e) {
      // Already over: its end event delivers this publication. Otherwise the canary ends on its own.
      deps.logger.warn('could not stop the superseded canary; it ends on its own, then this deploys', {
        deploymentId: canary.deploymentId,
        error: `${nameOf(e)}: ${messageOf(e)}`,
      });
    }
  }
  return Stop.waiting(
    `supersedes canary ${id} of ${canary.sha}: CodeDeploy was asked to stop it and shift all traffic back to version ${canary.previousVersion ?? 'unknown'}; this publication deploys when CodeDeploy reports the end`,
    previousSha,
  );
}

/**
 * A canary CodeDeploy is running. A `starting` one is not: whoever calls this holds the lease, and the
 * invocation that wrote `starting` held it too, so it died before recording CodeDeploy's answer. If
 * CodeDeploy had accepted that deployment, the next CreateDeployment is refused (the group has one
 * active) and {@link startCanary} adopts it by the key in its description.
 */
function isActive(canary: CanaryRecord | undefined): canary is CanaryRecord {
  return canary?.status === 'running';
}

export interface CanaryStart {
  readonly registration: CanaryService;
  readonly prepared: Prepared;
  /** The published, smoke-checked version. */
  readonly version: string;
  readonly target: ServiceTarget;
  readonly publishedAt: string;
  readonly previousSha?: string;
  readonly sbomKey?: string;
}

/**
 * Starts the canary of a smoke-checked version: refuses while an alarm is in ALARM, marks the move of
 * live pending (the order check), records the canary `starting`, then CreateDeployment. Returns the
 * Stop that records `canary` (or `failed`); a transient CodeDeploy error is thrown (retried, nothing
 * shifted).
 */
export async function startCanary(
  deps: CanaryDeps,
  entry: LedgerTarget,
  start: CanaryStart,
  markPending: () => Promise<void>,
  facts: CanaryFacts,
): Promise<Stop> {
  const { registration, prepared, version, target } = start;
  const { canary } = registration;
  const service = target.name;
  const liveVersion = prepared.previousVersion ?? 'unknown';
  const { firing, missing } = await alarmStates(deps.cloudwatch, canary.alarms);
  if (missing.length > 0) {
    return Stop.failed(
      `the canary alarms ${missing.join(', ')} of service "${service}" do not exist; deploy the mainline stack, then re-run the pipeline to publish again; live unchanged (still version ${liveVersion})`,
      start.previousSha,
    );
  }
  if (firing.length > 0) {
    facts.alarms = firing;
    return Stop.failed(
      `alarm ${firing.join(', ')} is in ALARM before the canary of version ${version} started: CodeDeploy would roll it back at once, and the new version's errors could not be told from those already there; live unchanged (still version ${liveVersion}); find why it fires, then re-run the pipeline to publish again`,
      start.previousSha,
    );
  }
  if (!prepared.previousVersion) {
    throw new Error(`alias ${LIVE_ALIAS} of ${prepared.functionName} names no version; cannot shift from it`);
  }
  if (prepared.split) {
    // A deployment stopped without rollback leaves the alias on two versions, and CodeDeploy refuses
    // the next one (CodeDeploy User Guide, "Troubleshoot AWS Lambda deployment issues").
    return Stop.failed(
      `alias ${LIVE_ALIAS} of ${prepared.functionName} is split between version ${prepared.previousVersion} and ${prepared.split}; a canary cannot start from there: point the alias at one version (aws lambda update-alias --routing-config '{}'), then re-run the pipeline to publish again`,
      start.previousSha,
    );
  }
  await markPending();
  const started = await entry.startCanary({
    key: target.key,
    sha: target.sha,
    publishedAt: start.publishedAt,
    version,
    previousVersion: prepared.previousVersion,
    functionArn: prepared.functionArn,
    alarms: canary.alarms,
    since: deps.now().toISOString(),
    ...optional(start, 'previousSha', 'sbomKey'),
  });
  if (!started) {
    throw new Retryable(
      `another canary of service "${service}" started while this deploy held the lease; retried once it has ended`,
    );
  }
  let deploymentId: string | undefined;
  let adoptedVersion: string | undefined;
  try {
    const out = await deps.codedeploy.send(
      new CreateDeploymentCommand({
        applicationName: canary.application,
        deploymentGroupName: canary.deploymentGroup,
        revision: {
          revisionType: 'AppSpecContent',
          appSpecContent: { content: appSpec(prepared.functionName, prepared.previousVersion, version) },
        },
        description: JSON.stringify({ biome: target.scope.biome, name: service, key: target.key, version }),
      }),
    );
    deploymentId = out.deploymentId;
  } catch (e) {
    const refused = async (reason: string) => {
      await entry.abandonCanary(target.key);
      // Nothing moved: the marker stays only as the high-water mark.
      await entry.clearPending(
        { sha: target.sha, publishedAt: start.publishedAt, key: target.key, since: '' },
        deps.now(),
      );
      return Stop.failed(reason, start.previousSha);
    };
    if (nameOf(e) === 'DeploymentLimitExceededException') {
      // The group has an active deployment: a rollback still shifting traffic back (retry); ours,
      // accepted before an invocation died (adopt it); an earlier publication's, whose invocation died
      // the same way and whose `starting` record this start replaced (restore it, then supersede it);
      // or one the ledger does not know (final).
      const active = await activeDeployment(deps, canary);
      if (active?.triggeredBy) {
        throw new Retryable(
          `rollback ${active.id} of canary ${active.triggeredBy} of service "${service}" is still shifting traffic back; retried when it has ended`,
        );
      } else if (active?.key === target.key) {
        deploymentId = active.id;
        adoptedVersion = active.version;
      } else if (active && (await restoreEarlierCanary(deps, entry, start, active))) {
        throw new Retryable(
          `canary ${active.id} of an earlier publication (${active.key}) was running without a ledger record (its invocation died after CodeDeploy accepted it): recorded again as the running canary; this publication supersedes it when retried`,
        );
      } else {
        return refused(
          `CodeDeploy refused the canary of service "${service}": deployment ${active?.id ?? '(unknown)'} of group "${canary.deploymentGroup}" is in progress and is not one the ledger knows (started by hand?); live unchanged, nothing shifted; stop it in the CodeDeploy console, then re-run the pipeline to publish again`,
        );
      }
    } else {
      const reason = codeDeployFinalReason(e, canary, service);
      if (reason) return refused(reason);
      // Transient: the request may have been accepted; the retry adopts it by its description.
      throw e;
    }
  }
  if (!deploymentId)
    throw new Error(`CodeDeploy CreateDeployment for service "${service}" returned no deploymentId`);
  const shifting = adoptedVersion ?? version;
  await entry.canaryRunning(target.key, deploymentId, shifting);
  facts.deploymentId = deploymentId;
  facts.deployedRef = shifting;
  return Stop.canary(
    `canary ${deploymentId} ${adoptedVersion ? 'adopted (CodeDeploy had accepted it before an invocation died)' : 'started'}: CodeDeploy shifts ${canary.percent}% of alias ${LIVE_ALIAS} to version ${shifting} (commit ${target.sha}), bakes ${canary.bakeMinutes} min with alarms ${canary.alarms.join(', ')} armed, then shifts the rest or rolls back to version ${prepared.previousVersion}; the ledger records deployed or rolled-back when it ends`,
    start.previousSha,
  );
}

const deploymentEventSchema = z.object({
  id: z.string().check(z.minLength(1)),
  source: z.literal('aws.codedeploy'),
  'detail-type': z.literal(DEPLOYMENT_STATE_CHANGE),
  detail: z.object({
    application: z.string(),
    deploymentGroup: z.string(),
    deploymentId: z.string().check(z.minLength(1)),
    state: z.string(),
  }),
});

export function isDeploymentEvent(raw: unknown): boolean {
  return typeof raw === 'object' && raw !== null && 'source' in raw && raw.source === 'aws.codedeploy';
}

export function isSettleEvent(raw: unknown): boolean {
  return typeof raw === 'object' && raw !== null && 'action' in raw && raw.action === SETTLE_CANARIES.action;
}

/** An outcome of a canary's end, before the times and event id are added. */
export type EndOutcome = Omit<Outcome, 'startedAt' | 'finishedAt' | 'eventId'>;

export interface EndDeps extends CanaryDeps {
  /** Records the outcome (history, logs) and returns it. */
  readonly finish: (o: EndOutcome) => Promise<Outcome>;
  /** Delivers a publication that waited for the canary to the trigger again; returns its outcome. */
  readonly redeliver: (delivery: Delivery, eventId: string) => Promise<Outcome>;
}

/** CodeDeploy's deployment statuses of a deployment that has not ended (DeploymentStatus). */
const ACTIVE_STATUSES = new Set(['Created', 'Queued', 'InProgress', 'Baking', 'Ready']);

/** What the trigger reads of a deployment. */
interface DeploymentView {
  readonly id: string;
  readonly status?: string;
  /** The landing key and version its description names (a canary the trigger started). */
  readonly key?: string;
  readonly version?: string;
  /** The deployment that rolls this one back, once there is one. */
  readonly rollbackId?: string;
  /** A rollback: the deployment it rolls back. */
  readonly triggeredBy?: string;
  readonly error?: string;
  /** When it ended (GetDeployment's completeTime). */
  readonly completedAt?: Date;
}

/**
 * How long after a failed or stopped canary ended its rollback deployment may take to appear in its
 * rollbackInfo. Every deployment group rolls back automatically on failure, stop and alarm
 * (lib/workload/biome/service-canary.ts), but CodeDeploy creates the rollback as a deployment of its
 * own, and its state-change event for the canary is not ordered with it: until then the alias is still
 * split, which is not yet a failure to report.
 */
export const ROLLBACK_APPEARS_MS = 15 * 60_000;

async function deploymentView(deps: CanaryDeps, id: string): Promise<DeploymentView> {
  const info = (await deps.codedeploy.send(new GetDeploymentCommand({ deploymentId: id }))).deploymentInfo;
  let described: { key: string; version: string } | undefined;
  try {
    const parsed = descriptionSchema.safeParse(JSON.parse(info?.description ?? ''));
    if (parsed.success) described = parsed.data;
  } catch {
    // Not ours: a rollback's or a hand-made deployment's description.
  }
  const error = info?.errorInformation;
  return {
    id,
    ...(info?.status ? { status: info.status } : {}),
    ...(described ? { key: described.key, version: described.version } : {}),
    ...(info?.rollbackInfo?.rollbackDeploymentId
      ? { rollbackId: info.rollbackInfo.rollbackDeploymentId }
      : {}),
    ...(info?.rollbackInfo?.rollbackTriggeringDeploymentId
      ? { triggeredBy: info.rollbackInfo.rollbackTriggeringDeploymentId }
      : {}),
    ...(error ? { error: `${error.code ?? 'no code'}: ${error.message ?? 'no message'}` } : {}),
    ...(info?.completeTime ? { completedAt: info.completeTime } : {}),
  };
}

/**
 * Records `active` again as the running canary of its own publication, when its description names an
 * earlier publication of this service (read from its landing object: same biome and name, published
 * before this one). Returns whether it did.
 */
async function restoreEarlierCanary(
  deps: CanaryDeps,
  entry: LedgerTarget,
  start: CanaryStart,
  active: DeploymentView,
): Promise<boolean> {
  const { target, prepared, registration } = start;
  if (active.key === undefined || active.version === undefined) return false;
  const parsed = parseArtifactKey(active.key);
  if (
    !parsed.ok ||
    parsed.value.kind !== 'service' ||
    parsed.value.biome !== target.scope.biome ||
    parsed.value.name !== target.name
  ) {
    return false;
  }
  let publishedAt: string | undefined;
  try {
    const head = await deps.s3.send(new HeadObjectCommand({ Bucket: target.bucket, Key: active.key }));
    publishedAt = normalisedPublishedAt(head.Metadata?.[ARTIFACT_METADATA.publishedAt]);
  } catch (e) {
    deps.logger.warn('cannot read the earlier publication of an unrecorded canary', {
      key: active.key,
      error: `${nameOf(e)}: ${messageOf(e)}`,
    });
  }
  if (publishedAt === undefined || publishedAt >= start.publishedAt) return false;
  const { sha } = parsed.value;
  const restored = await entry.startCanary({
    key: active.key,
    sha,
    publishedAt,
    version: active.version,
    ...(prepared.previousVersion !== undefined ? { previousVersion: prepared.previousVersion } : {}),
    functionArn: prepared.functionArn,
    alarms: registration.canary.alarms,
    since: deps.now().toISOString(),
    ...optional(start, 'previousSha'),
    sbomKey: sbomKey(target.scope.biome, sha),
  });
  if (!restored) return false;
  await entry.canaryRunning(active.key, active.id, active.version);
  return true;
}

/** The group's active deployment, if any (ListDeployments of the statuses that have not ended). */
async function activeDeployment(
  deps: CanaryDeps,
  canary: CanaryRegistration,
): Promise<DeploymentView | undefined> {
  const out = await deps.codedeploy.send(
    new ListDeploymentsCommand({
      applicationName: canary.application,
      deploymentGroupName: canary.deploymentGroup,
      includeOnlyStatuses: [...ACTIVE_STATUSES] as DeploymentStatus[],
    }),
  );
  const id = out.deployments?.[0];
  return id ? deploymentView(deps, id) : undefined;
}

/**
 * CodeDeploy reports that a deployment of `main`'s application changed state: settle the canary of that
 * service (its group), then deliver a publication that waited for it.
 */
export async function endCanary(
  deps: EndDeps,
  ledger: Ledger,
  budget: Budget,
  holder: Holder,
  raw: unknown,
): Promise<Outcome[]> {
  const parsed = deploymentEventSchema.safeParse(raw);
  const mainline = deps.settings.scope.biome(MAINLINE_BIOME);
  if (!parsed.success) {
    return [
      await deps.finish({
        status: 'rejected',
        key: '(codedeploy event)',
        reason: `not a CodeDeploy deployment state-change event (${issueLines(parsed.error, '(event)').join('; ')}); only the canary rule should send these`,
      }),
    ];
  }
  const { deploymentId, state, application, deploymentGroup } = parsed.data.detail;
  if (
    application !== mainline.releaseApplicationName ||
    !(ENDED_STATES as readonly string[]).includes(state)
  ) {
    return [
      await deps.finish({
        kind: 'service',
        biome: MAINLINE_BIOME,
        name: deploymentGroup,
        deploymentId,
        status: 'rejected',
        key: `(deployment ${deploymentId})`,
        reason: `deployment ${deploymentId} of application "${application}" in state ${state} is not the end of a canary of ${mainline.releaseApplicationName}; nothing recorded live`,
      }),
    ];
  }
  return settleService(deps, ledger, budget, holder, deploymentGroup, deploymentId);
}

/**
 * The sweep: settles every canary of `main` CodeDeploy has ended without the trigger hearing it, and
 * delivers publications left waiting. Nothing to do is the usual answer.
 */
export async function settleCanaries(
  deps: EndDeps,
  ledger: Ledger,
  budget: Budget,
  holder: Holder,
): Promise<Outcome[]> {
  const outcomes: Outcome[] = [];
  for (const { name, record } of await ledger.canaries(MAINLINE_BIOME)) {
    if (record.status === 'running' || record.next) {
      outcomes.push(...(await settleService(deps, ledger, budget, holder, name, undefined)));
    }
  }
  return outcomes;
}

/** How a deployment relates to the service's canary record. */
type Relation = 'mine' | 'ended' | 'unknown';

async function relationOf(
  deps: CanaryDeps,
  entry: LedgerTarget,
  canary: CanaryRecord | undefined,
  id: string,
): Promise<Relation> {
  if (!canary) return 'unknown';
  if (canary.deploymentId === id || canary.rollbackDeploymentId === id) return 'mine';
  if (canary.lastDeploymentId === id || canary.lastRollbackDeploymentId === id) return 'ended';
  const view = await deploymentView(deps, id);
  if (view.triggeredBy !== undefined) {
    if (view.triggeredBy === canary.deploymentId) return 'mine';
    if (view.triggeredBy === canary.lastDeploymentId) return 'ended';
  }
  if (
    canary.status === 'starting' &&
    canary.key !== undefined &&
    view.triggeredBy === undefined &&
    view.key === canary.key
  ) {
    // The start died after CodeDeploy accepted it: this is its deployment.
    await entry.canaryRunning(canary.key, id, view.version ?? canary.version ?? '');
    return 'mine';
  }
  return 'unknown';
}

/**
 * Settles the canary of one service under its lease: the verdict if CodeDeploy has ended it, nothing
 * while it (or its rollback) runs; then delivers the publication that waited, once no canary runs.
 */
async function settleService(
  deps: EndDeps,
  ledger: Ledger,
  budget: Budget,
  holder: Holder,
  name: string,
  eventDeploymentId: string | undefined,
): Promise<Outcome[]> {
  const entry = ledger.target({ biome: MAINLINE_BIOME, kind: 'service', name });
  const base = { kind: 'service' as const, biome: MAINLINE_BIOME, name };
  let outcome: Outcome | undefined;
  let next: Delivery | undefined;
  await lock(deps, entry, budget, holder);
  try {
    let canary = await entry.canary();
    if (eventDeploymentId !== undefined) {
      const relation = await relationOf(deps, entry, canary, eventDeploymentId);
      if (relation !== 'mine') {
        // A duplicate or late event: recorded once already, or not a canary of this ledger.
        return [
          await deps.finish({
            ...base,
            deploymentId: eventDeploymentId,
            status: 'skipped',
            key: canary?.key ?? `(deployment ${eventDeploymentId})`,
            reason:
              relation === 'ended'
                ? `duplicate event: the end of canary ${eventDeploymentId} (or of its rollback) was already recorded`
                : `deployment ${eventDeploymentId} is not the canary the ledger knows for service "${name}" (${canary?.deploymentId ?? 'none'}); nothing recorded live`,
          }),
        ];
      }
      canary = await entry.canary();
    }
    if (canary?.status === 'running' && canary.deploymentId) {
      outcome = await settle(deps, entry, canary, canary.deploymentId, base);
      // Still shifting, baking or rolling back: its end settles it.
      if (!outcome) return [];
    }
    next = canary?.next;
  } finally {
    try {
      await entry.unlock(holder);
    } catch (e) {
      deps.logger.warn('could not release the lease', { error: String(e) });
    }
  }
  if (next) {
    const delivered = await deps.redeliver(next, `after-${eventDeploymentId ?? 'sweep'}`);
    // Queued again behind a canary started meanwhile: it stays the one that waits.
    if (delivered.status !== 'waiting') await entry.dropNext(next);
  }
  return outcome ? [outcome] : [];
}

/** The verdict of a canary CodeDeploy has ended, recorded; undefined while it or its rollback runs. */
async function settle(
  deps: EndDeps,
  entry: LedgerTarget,
  canary: CanaryRecord,
  deploymentId: string,
  base: { kind: 'service'; biome: string; name: string },
): Promise<Outcome | undefined> {
  const view = await deploymentView(deps, deploymentId);
  if (view.status === undefined || ACTIVE_STATUSES.has(view.status)) return undefined;
  const key = canary.key ?? '';
  const sha = canary.sha ?? '';
  const publishedAt = canary.publishedAt ?? '';
  const version = canary.version ?? '';
  const previous = canary.previousVersion ?? 'unknown';
  const functionName = canary.functionArn ?? '';
  const pending = { sha, publishedAt, key, since: canary.since ?? '' };
  const facts = {
    ...base,
    deploymentId,
    key,
    sha,
    publishedAt,
    ...optional(canary, 'previousSha', 'sbomKey'),
  };
  let firing = canary.firing;
  if (view.status !== 'Succeeded') {
    firing ??= (await alarmStates(deps.cloudwatch, canary.alarms ?? [])).firing;
    if (view.rollbackId) {
      const rollback = await deploymentView(deps, view.rollbackId);
      if (rollback.status === undefined || ACTIVE_STATUSES.has(rollback.status)) {
        // Not over until its rollback is: remembered, with the alarms that fired now.
        await entry.canaryRollingBack(deploymentId, view.rollbackId, firing);
        return undefined;
      }
    }
  }
  // What the alias serves now is the truth: CodeDeploy's verdict is checked against it.
  const alias = await deps.lambda.send(new GetAliasCommand({ FunctionName: functionName, Name: LIVE_ALIAS }));
  const serving = alias.FunctionVersion;
  const weights = Object.keys(alias.RoutingConfig?.AdditionalVersionWeights ?? {});
  const split = weights.length > 0 ? ` with traffic split to version ${weights.join(', ')}` : '';
  const back = serving === previous && !split;
  if (
    view.status !== 'Succeeded' &&
    !view.rollbackId &&
    !back &&
    view.completedAt !== undefined &&
    deps.now().getTime() - view.completedAt.getTime() < ROLLBACK_APPEARS_MS
  ) {
    // Its rollback is not visible yet: its end event, or the sweep, settles it.
    return undefined;
  }
  let outcome: EndOutcome;
  if (view.status === 'Succeeded') {
    if (serving !== version || split) {
      outcome = {
        ...facts,
        status: 'failed',
        reason: `CodeDeploy reports canary ${deploymentId} succeeded, but alias ${LIVE_ALIAS} serves version ${serving ?? 'none'}${split}, not ${version}; the live record is left at ${canary.previousSha ?? 'what it was'}; look at the deployment in the CodeDeploy console`,
      };
    } else {
      const moved = await entry.setLive({
        sha,
        publishedAt,
        liveSince: deps.now().toISOString(),
        key,
        deployedRef: version,
        ...optional(canary, 'previousSha', 'sbomKey'),
      });
      if (!moved) {
        throw new Error(
          `the live record of service "${base.name}" moved past ${publishedAt} during canary ${deploymentId}`,
        );
      }
      try {
        await tagCommit(deps.lambda, functionName, sha);
      } catch (e) {
        deps.logger.warn('could not tag the function with the live commit', { error: String(e) });
      }
      outcome = {
        ...facts,
        status: 'deployed',
        deployedRef: version,
        reason: `canary ${deploymentId} succeeded: version ${version} took all traffic of alias ${LIVE_ALIAS} after its bake with no alarm; service "${base.name}" is live at ${sha}`,
      };
    }
  } else {
    const why =
      firing && firing.length > 0
        ? `alarm ${firing.join(', ')} fired during the bake`
        : canary.stopRequested
          ? `a newer publication superseded it`
          : `CodeDeploy ended it ${view.status}${view.error ? ` (${view.error})` : ''}`;
    outcome = {
      ...facts,
      status: back ? 'rolled-back' : 'failed',
      ...(firing && firing.length > 0 ? { alarms: firing } : {}),
      deployedRef: serving ?? previous,
      reason: back
        ? `canary ${deploymentId} rolled back: ${why}; CodeDeploy${view.rollbackId ? ` (rollback ${view.rollbackId})` : ''} shifted all traffic of alias ${LIVE_ALIAS} back to version ${previous} (commit ${canary.previousSha ?? 'unknown'}); live record unchanged`
        : `canary ${deploymentId} ended ${view.status} (${why}) but alias ${LIVE_ALIAS} serves version ${serving ?? 'none'}${split}, not the previous version ${previous}; roll back by hand (npm run rollback) and look at the deployment in the CodeDeploy console`,
    };
  }
  // The move of live this canary started is over: its marker stays only as the high-water mark.
  await entry.clearPending(pending, deps.now());
  const recorded = await deps.finish(outcome);
  await entry.endCanary(deploymentId, view.rollbackId);
  return recorded;
}

/** The `Object Created` event of a publication that waited for a canary. */
export function redeliveryEvent(delivery: Delivery, eventId: string, now: Date): Record<string, unknown> {
  return objectCreatedEvent(delivery, eventId, now, 'CanaryEnded');
}
