/**
 * One landing object in, one recorded outcome out (docs/design.md "The deploy trigger", steps 1-6).
 * Pure orchestration: every client and clock comes in through {@link Deps}, so tests drive it with
 * aws-sdk-client-mock and a fake clock.
 *
 * Concurrency: no reserved concurrency (it needs 100 unreserved executions in the account, which a
 * fresh account lacks, and would make one slow smoke check hold up every biome). Instead three
 * conditional writes: a claim per object version (idempotency), a lease per biome+name (one deploy
 * of a name at a time, so "read live, deploy, move live" never interleaves), and a live record that
 * only moves forward in publication time. Order safety does not rest on the lease alone: before the
 * alias or pointer moves, one transaction checks the live record and moves a high-water mark (the
 * pending marker, never moved back) forward, so a stale run can never move live backwards.
 *
 * Nothing is lost silently: a claim or lease held by this request id (Lambda retries a crashed or
 * timed-out invocation with the same id) is retaken, but released only by the attempt holding it
 * (a per-attempt token); a claim or lease another live invocation holds is waited on for as long as
 * this invocation's budget allows (a holder may legitimately keep a lease for a whole invocation),
 * then this one is retryable rather than "skipped"; both are released in `finally`, and every wait
 * is capped by what is left of the invocation (./budget), so a slow step fails with a reason, not a
 * timeout.
 */
import { randomUUID } from 'node:crypto';
import type { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import type { CodeDeployClient } from '@aws-sdk/client-codedeploy';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { LambdaClient } from '@aws-sdk/client-lambda';
import { HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import type { SSMClient } from '@aws-sdk/client-ssm';
import type { Logger } from '@aws-lambda-powertools/logger';
import { ARTIFACT_METADATA, normalisedPublishedAt, sbomKey } from '../shared/contracts';
import { type ArtifactKey, MAINLINE_BIOME, parseArtifactKey } from '../shared/grammar';
import { Budget, MIN_STEP_MS, UPDATE_WAIT_SECONDS } from './budget';
import { accessDeniedReason, httpStatusOf, messageOf, nameOf } from './errors';
import { type LandingObject, OBJECT_CREATED, parseEvent, unwrapEvent } from './event';
import {
  type Claim,
  type ClaimStatus,
  type Delivery,
  type Holder,
  Ledger,
  type LiveRecord,
  type Outcome,
  type Retraining,
} from './ledger';
import { type InferenceState, servesModels, unavailableNotice } from '../shared/inference-schedule';
import {
  EndpointAbsent,
  copyModel,
  existingModelCommit,
  modelObjectKey,
  movePointer,
  readArchiveHead,
  readInferenceState,
  targetModel,
  validateOnEndpoint,
} from './model';
import { type ArtifactTarget, optional, Retryable, Stop } from './outcome';
import { POLL_MS, lock } from './lease';
import { isAlarmEvent, refuseBake, restorable, rollBackBakes } from './bake';
import {
  type EndOutcome,
  endCanary,
  isDeploymentEvent,
  isSettleEvent,
  redeliveryEvent,
  releasesByCanary,
  settleCanaries,
  startCanary,
  waitBehindCanary,
} from './canary';
import { readRegistration } from './registrations';
import { moveLive, prepareService, publishAndCheck, tagCommit } from './service';
import type { Settings } from './settings';

export { UPDATE_WAIT_SECONDS } from './budget';

export type Log = Pick<Logger, 'info' | 'warn' | 'error' | 'appendKeys' | 'resetKeys'>;

export interface Deps {
  readonly settings: Settings;
  readonly s3: S3Client;
  readonly lambda: LambdaClient;
  readonly ssm: SSMClient;
  readonly db: DynamoDBDocumentClient;
  readonly sagemaker: SageMakerRuntimeClient;
  /** Canary releases of services (./canary) and the bake alarms of models (./bake). */
  readonly codedeploy: CodeDeployClient;
  readonly cloudwatch: CloudWatchClient;
  readonly logger: Log;
  readonly now: () => Date;
  readonly sleep: (ms: number) => Promise<void>;
  /** Identifies this invocation in claims and locks (the Lambda request id, kept across Lambda's retries). */
  readonly owner: string;
  /** Milliseconds left in this invocation (Lambda's `context.getRemainingTimeInMillis`). */
  readonly remainingMs: () => number;
  /**
   * Tells a sandpit's owner (the owners topic, filtered on the biome) about a deploy that ended failed
   * or rejected. Absent where the environment hosts no sandpits.
   */
  readonly notifyOwner?: (biome: string, subject: string, message: string) => Promise<void>;
}

/** Whether an outcome goes to its sandpit's owner: a final failure or rejection of a sandpit artifact. */
export function concernsOwner(outcome: Outcome): outcome is Outcome & { biome: string } {
  return (
    (outcome.status === 'failed' || outcome.status === 'rejected') &&
    outcome.retrying !== true &&
    outcome.biome !== undefined &&
    outcome.biome !== MAINLINE_BIOME
  );
}

/** InvokeEndpoint attempts of the validation while the endpoint answers ModelNotReadyException. */
export const VALIDATION_ATTEMPTS = 6;

/** What a deploy learnt so far; every outcome it records carries it, whatever ends the deploy. */
interface Facts {
  publishedAt?: string;
  previousSha?: string;
  deployedRef?: string;
  liveMoved?: boolean;
  /** A model: what its build measured (the archive's metrics.json), known once its head is read. */
  metrics?: Record<string, number>;
  /** The landing key of the SBOM of the code it was built from. */
  sbomKey?: string;
  /** A retrained model: its landing object's retraining metadata (see {@link Retraining}). */
  retrainedFrom?: string;
  trainingData?: string;
  trainingJob?: string;
  /** A canary: its CodeDeploy deployment; a refused canary or bake: the alarms in ALARM. */
  deploymentId?: string;
  alarms?: readonly string[];
  /** A baked model: what the deployed reason adds (until when, what watches it, what it goes back to). */
  bakeNote?: string;
}

/** The ledger fields of a retrained model; each has the metadata key of the same name. */
const RETRAINING_FIELDS = [
  'retrainedFrom',
  'trainingData',
  'trainingJob',
] as const satisfies readonly (keyof Retraining & keyof typeof ARTIFACT_METADATA)[];

/** The retraining fields `valueOf` has a value for (none on a model the pipeline built). */
function retraining(valueOf: (field: (typeof RETRAINING_FIELDS)[number]) => string | undefined): Retraining {
  return Object.fromEntries(
    RETRAINING_FIELDS.flatMap((field) => {
      const value = valueOf(field);
      return value ? [[field, value]] : [];
    }),
  );
}

/**
 * Every event the trigger receives: a landing object ({@link processEvent}), the end of a canary
 * (CodeDeploy's state change, ./canary), the canary sweep's schedule (./canary) or an alarm going off
 * during a model's bake (./bake).
 */
export async function handleEvent(deps: Deps, raw: unknown): Promise<Outcome | readonly Outcome[]> {
  const event = unwrapEvent(raw);
  if (!isDeploymentEvent(event) && !isAlarmEvent(event) && !isSettleEvent(event)) {
    return processEvent(deps, raw);
  }
  const ledger = new Ledger(deps.db, deps.settings.ledgerTable);
  const budget = new Budget(deps.remainingMs);
  const holder: Holder = { owner: deps.owner, token: `${deps.owner}:${randomUUID()}` };
  const startedAt = deps.now().toISOString();
  const eventId =
    typeof event === 'object' && event !== null && 'id' in event && typeof event.id === 'string'
      ? event.id
      : `settle-${startedAt}`;
  deps.logger.resetKeys();
  const finish = async (o: EndOutcome): Promise<Outcome> => {
    const finishedAt = deps.now();
    const outcome: Outcome = { ...o, eventId, startedAt, finishedAt: finishedAt.toISOString() };
    await ledger.record(outcome, finishedAt);
    const log = ['deployed', 'skipped'].includes(outcome.status) ? deps.logger.info : deps.logger.warn;
    log.call(deps.logger, `${outcome.status}: ${outcome.reason}`, { outcome });
    return outcome;
  };
  if (isAlarmEvent(event)) return rollBackBakes({ ...deps, finish }, ledger, budget, holder, event);
  const endDeps = {
    ...deps,
    finish,
    redeliver: (delivery: Delivery, id: string) =>
      processEvent(deps, redeliveryEvent(delivery, id, deps.now())),
  };
  if (isSettleEvent(event)) return settleCanaries(endDeps, ledger, budget, holder);
  return endCanary(endDeps, ledger, budget, holder, event);
}

/**
 * Handles one event. Returns the recorded outcome for everything retrying cannot change (deployed,
 * skipped, rejected, final failures); records and rethrows anything else so Lambda's async retries
 * and then the dead-letter queue get it.
 */
export async function processEvent(deps: Deps, raw: unknown): Promise<Outcome> {
  const { logger, settings } = deps;
  const ledger = new Ledger(deps.db, settings.ledgerTable);
  const budget = new Budget(deps.remainingMs);
  const startedAt = deps.now().toISOString();
  logger.resetKeys();
  // A redrive from the dead-letter queue may carry the event inside an on-failure destination record.
  const unwrapped = unwrapEvent(raw);
  const rawId =
    typeof unwrapped === 'object' && unwrapped !== null && 'id' in unwrapped ? unwrapped.id : undefined;
  // The request id lets Lambda's retry retake what a crashed attempt held; the token is this attempt's.
  const holder: Holder = { owner: deps.owner, token: `${deps.owner}:${randomUUID()}` };
  const eventId = typeof rawId === 'string' && rawId ? rawId : 'unknown';

  const finish = async (o: Omit<Outcome, 'startedAt' | 'finishedAt' | 'eventId'>) => {
    const finishedAt = deps.now();
    const outcome: Outcome = { ...o, eventId, startedAt, finishedAt: finishedAt.toISOString() };
    await ledger.record(outcome, finishedAt);
    const log = outcome.status === 'deployed' || outcome.status === 'skipped' ? logger.info : logger.warn;
    log.call(logger, `${outcome.status}: ${outcome.reason}`, { outcome });
    if (deps.notifyOwner && concernsOwner(outcome)) {
      const what = outcome.name ? `${outcome.kind ?? 'artifact'} ${outcome.name}` : outcome.key;
      try {
        await deps.notifyOwner(
          outcome.biome,
          `Biomes sandpit ${outcome.biome}: ${what} ${outcome.status}`,
          `The deploy of ${outcome.key}${outcome.sha ? ` (commit ${outcome.sha})` : ''} to sandpit ${outcome.biome} was ${outcome.status}: ${outcome.reason}\nWhat is live did not change. The ledger's history of ${what} has the details.`,
        );
      } catch (e) {
        // The outcome is recorded; a lost notice must not turn it into a retry.
        logger.warn('could not notify the sandpit owner', { error: String(e) });
      }
    }
    return outcome;
  };

  const ev = parseEvent(raw);
  if (!ev.ok) return finish({ status: 'rejected', reason: ev.reason, key: ev.rawKey ?? '(none)' });
  const obj = ev.object;
  logger.appendKeys({ key: obj.key });
  const base = { key: obj.key, objectVersion: obj.versionId ?? obj.identity };
  if (ev.detailType !== OBJECT_CREATED) {
    return finish({
      ...base,
      status: 'rejected',
      reason: `event "${ev.detailType}" is not "${OBJECT_CREATED}": a deletion or delete marker deploys nothing`,
    });
  }
  if (obj.bucket !== settings.landingBucket) {
    return finish({
      ...base,
      status: 'rejected',
      reason: `object is in bucket "${obj.bucket}", not the landing bucket "${settings.landingBucket}"; only the landing bucket deploys`,
    });
  }
  const parsed = parseArtifactKey(obj.key);
  if (!parsed.ok) return finish({ ...base, status: 'rejected', reason: parsed.reason });
  const artifact = parsed.value;
  const who = { biome: artifact.biome, name: artifact.name, kind: artifact.kind, sha: artifact.sha };
  logger.appendKeys({ biome: artifact.biome, name: artifact.name, sha: artifact.sha });

  const taken = await takeClaim(deps, ledger, budget, obj, holder);
  if (!taken.claim) {
    return finish({
      ...base,
      ...who,
      status: 'skipped',
      reason: `duplicate delivery: this object version was already handled (status "${taken.heldStatus}"); nothing deployed again`,
    });
  }
  const claim = taken.claim;

  const facts: Facts = {};
  // Until an outcome is recorded, the claim is released as `retryable`, whatever escapes.
  let released: ClaimStatus = 'retryable';
  try {
    await deploy(deps, ledger, budget, obj, artifact, facts, holder);
    const outcome = await finish({
      ...base,
      ...who,
      ...facts,
      status: 'deployed',
      reason: `${artifact.kind} "${artifact.name}" of biome "${artifact.biome}" is live at ${artifact.sha}${artifact.kind === 'service' ? ` (version ${facts.deployedRef})` : ` (TargetModel ${facts.deployedRef})`}${facts.bakeNote ? `; ${facts.bakeNote}` : ''}`,
    });
    released = outcome.status;
    return outcome;
  } catch (e) {
    const final = finalOutcome(e, facts);
    if (final) {
      const outcome = await finish({ ...base, ...who, ...facts, ...final });
      // A waiting model is delivered again by the endpoint's owner: that delivery must get the claim.
      released = outcome.status === 'waiting' ? 'retryable' : outcome.status;
      return outcome;
    }
    try {
      await finish({
        ...base,
        ...who,
        ...facts,
        status: 'failed',
        reason: describeError(e, facts),
        retrying: true,
      });
    } catch (recordError) {
      logger.error('could not record the failure', { error: recordError });
    }
    throw e;
  } finally {
    try {
      await ledger.release(claim, released, deps.now());
    } catch (releaseError) {
      // A claim left `running` under this request id is retaken by Lambda's retry of this invocation
      // (and otherwise freed when its lease ends).
      logger.error('could not release the claim', { error: releaseError, status: released });
    }
  }
}

/** A recorded final outcome for what retrying cannot change; undefined when the event must be retried. */
function finalOutcome(e: unknown, facts: Facts): Pick<Outcome, 'status' | 'reason'> | undefined {
  if (e instanceof Stop) return { status: e.status, reason: e.reason };
  if (e instanceof Retryable) return undefined;
  const denied = accessDeniedReason(e);
  if (denied) return { status: 'failed', reason: `${denied}; ${liveNote(facts)}` };
  return undefined;
}

/**
 * Claims this object version. A claim another invocation holds `running` is waited on for as long as
 * this invocation's budget allows (the first delivery may deploy for a whole invocation): it usually
 * ends (then this is a duplicate, skipped), or its lease runs out and this one takes over. Still
 * running at the end of the wait is a retryable error, never "skipped": if that invocation dies, this
 * event is the only one left to deploy the object.
 */
async function takeClaim(
  deps: Deps,
  ledger: Ledger,
  budget: Budget,
  obj: LandingObject,
  holder: Holder,
): Promise<{ claim?: Claim; heldStatus?: string }> {
  const step = 'waiting for another invocation deploying this object version';
  const deadline = budget.waitDeadline(step, deps.now().getTime());
  for (;;) {
    const taken = await ledger.claim(obj.key, obj.identity, holder, deps.now(), deps.settings.leaseSeconds);
    if (taken.claim || taken.heldStatus !== 'running') return taken;
    if (deps.now().getTime() + POLL_MS > deadline) {
      throw new Retryable(
        `another invocation is still deploying this object version (claim "running"); not skipped, so the event is retried and nothing is lost if that invocation dies`,
      );
    }
    await deps.sleep(POLL_MS);
  }
}

async function deploy(
  deps: Deps,
  ledger: Ledger,
  budget: Budget,
  obj: LandingObject,
  artifact: ArtifactKey,
  facts: Facts,
  holder: Holder,
): Promise<void> {
  const { settings } = deps;
  const inspected = await inspect(deps.s3, settings, obj, artifact);
  const { size, metadata } = inspected;
  let { publishedAt } = inspected;
  facts.publishedAt = publishedAt;
  // A retrained model's key id is its commit-sha (the retraining id), which inspect checked.
  if (artifact.kind === 'model') {
    const retrained = retraining((field) => metadata[ARTIFACT_METADATA[field]]);
    Object.assign(facts, retrained);
  }
  // The build publishes each commit's SBOM beside its artifacts (lib/bundling/sbom.ts).
  facts.sbomKey = sbomKey(artifact.biome, facts.retrainedFrom ?? artifact.sha);
  const scope = settings.scope.biome(artifact.biome);
  const found = await readRegistration(deps.ssm, scope, artifact.kind, artifact.name);
  const entry = ledger.target({ biome: artifact.biome, kind: artifact.kind, name: artifact.name });

  await lock(deps, entry, budget, holder);
  try {
    const { live, pending } = await entry.live();
    if (facts.retrainedFrom !== undefined) {
      publishedAt = retrainedOrder(artifact, facts.retrainedFrom, live, publishedAt);
      facts.publishedAt = publishedAt;
    }
    const delivery = {
      bucket: obj.bucket,
      key: obj.key,
      versionId: obj.versionId,
      sha: artifact.sha,
      publishedAt,
    };
    facts.previousSha = live?.sha;
    if (live && live.publishedAt >= publishedAt) {
      throw Stop.skipped(
        live.sha === artifact.sha && live.publishedAt === publishedAt
          ? `already live: ${artifact.sha} published at ${live.publishedAt}`
          : `older than live: this publication (${publishedAt}) is not newer than the live ${live.sha} published at ${live.publishedAt}; live unchanged (a rollback is a new publication of the old commit)`,
        live.sha,
      );
    }
    if (pending && pending.publishedAt > publishedAt) {
      throw Stop.skipped(
        `older than a pending move of live: this publication (${publishedAt}) is older than ${pending.sha} published at ${pending.publishedAt}, which a deploy started making live at ${pending.since} (the alias or pointer may have moved without the ledger recording it); live not moved backwards (a rollback is a new publication of the old commit)`,
        live?.sha,
      );
    }
    const target: ArtifactTarget = {
      scope,
      name: artifact.name,
      sha: artifact.sha,
      bucket: obj.bucket,
      key: obj.key,
      versionId: obj.versionId,
    };
    // Written before live moves, so a late older publication sees this one even if recording fails.
    const pendingMove = { sha: artifact.sha, publishedAt, key: obj.key, since: '' };
    const markPending = async () => {
      budget.left(`moving live of ${artifact.kind} "${artifact.name}"`, MIN_STEP_MS);
      const marked = await entry.markPending({ ...pendingMove, since: deps.now().toISOString() });
      if (!marked) {
        throw Stop.skipped(
          `a publication newer than ${publishedAt} started moving live while this deploy ran; live unchanged`,
          facts.previousSha,
        );
      }
    };
    let functionArn: string | undefined;
    let deployedRef: string;
    if (found.kind === 'service') {
      const reg = found.registration;
      // A canary of the name still running: this newer publication supersedes it and waits (./canary).
      const behind = releasesByCanary(reg)
        ? await waitBehindCanary(deps, entry, delivery, facts.previousSha)
        : undefined;
      if (behind) throw behind;
      const prepared = await prepareService(deps.lambda, reg, target);
      const version = await publishAndCheck(deps.lambda, reg, prepared, target, {
        maxWaitSeconds: UPDATE_WAIT_SECONDS,
        budget,
      });
      // The live version published again (the live commit re-published: a pipeline re-run, a rollback
      // to what is live; Lambda's PublishVersion returns the latest version when neither code nor
      // configuration changed): nothing to shift, and CodeDeploy fails a Lambda deployment whose
      // CurrentVersion and TargetVersion are the same. It goes live by the plain path below (the alias
      // is already there), and the ledger records the new publication.
      if (releasesByCanary(reg) && version !== prepared.previousVersion) {
        // CodeDeploy moves the alias; its end event records deployed or rolled-back (./canary).
        throw await startCanary(
          deps,
          entry,
          {
            registration: reg,
            prepared,
            version,
            target,
            publishedAt,
            ...optional(facts, 'previousSha', 'sbomKey'),
          },
          markPending,
          facts,
        );
      }
      await markPending();
      await moveLive(deps.lambda, prepared, version, target);
      facts.liveMoved = true;
      deployedRef = version;
      functionArn = prepared.functionArn;
    } else {
      const reg = found.registration;
      const location = {
        bucket: settings.modelBucket,
        prefix: settings.modelPrefix,
        endpointName: settings.endpointName,
      };
      // Before anything is copied: an archive without a readable bar never reaches the model location.
      const head = await readArchiveHead(deps.s3, target, size, budget);
      facts.metrics = head.metrics;
      const copy = await copyModel(deps.s3, location, target, budget);
      if (copy === 'present') {
        // Never overwritten. The same commit is the same model: a rollback, or a retry after the copy.
        const existing = await existingModelCommit(deps.s3, location, target);
        if (existing !== artifact.sha) {
          throw Stop.failed(
            `model object ${modelObjectKey(location, target)} already exists but holds commit ${existing ?? '(no commit-sha metadata)'}, not ${artifact.sha}; it is never overwritten, so the pointer stays; something other than the deploy trigger wrote it: remove it once no pointer uses it, then re-run the pipeline to publish again`,
            facts.previousSha,
          );
        }
        deps.logger.info('model object already present with this commit; reused, not copied again', {
          targetModel: targetModel(target),
        });
      }
      // While inference sleeps the model waits, copied: validated and put live once the endpoint is
      // in service again (docs/design.md "Inference schedule").
      const wait = (why: string, state: InferenceState | undefined) =>
        waitForEndpoint(deps, ledger, target, publishedAt, why, state, facts.previousSha);
      const state = await readInferenceState(deps.ssm, settings.scope, (m, extra) =>
        deps.logger.warn(m, extra),
      );
      if (state && !servesModels(state)) throw await wait(`the inference endpoint is ${state.state}`, state);
      // Also on the reused object: the pointer moves only to a model that answers its rows.
      try {
        await validateOnEndpoint(deps.sagemaker, location, target, head.quality, {
          attempts: VALIDATION_ATTEMPTS,
          sleep: deps.sleep,
          budget,
        });
      } catch (e) {
        if (e instanceof EndpointAbsent) throw await wait(e.message, state);
        throw e;
      }
      // Baked (./bake): only with a model to go back to, and never while its alarms already fire.
      const bake = reg.bake && live ? reg.bake : undefined;
      if (bake) {
        const refused = await refuseBake(deps.cloudwatch, bake, artifact.name, facts.previousSha, facts);
        if (refused) throw refused;
      }
      await markPending();
      await movePointer(deps.ssm, reg, target);
      facts.liveMoved = true;
      deployedRef = targetModel(target);
    }
    facts.deployedRef = deployedRef;
    const moved = await entry.setLive({
      sha: artifact.sha,
      publishedAt,
      liveSince: deps.now().toISOString(),
      key: obj.key,
      deployedRef,
      ...optional(facts, 'previousSha', 'metrics', 'sbomKey'),
      ...retraining((field) => facts[field]),
    });
    if (!moved) {
      throw new Error('the live record moved to a newer publication while this deploy held the lease');
    }
    if (found.kind === 'model' && found.registration.bake && live) {
      const { bake, pointerParameter } = found.registration;
      const until = new Date(deps.now().getTime() + bake.minutes * 60_000).toISOString();
      try {
        await entry.startBake({
          name: artifact.name,
          key: obj.key,
          sha: artifact.sha,
          until,
          alarms: bake.alarms,
          pointerParameter,
          previous: restorable(live),
        });
        facts.bakeNote = `baking until ${until}: alarm ${bake.alarms.join(' or ')} moves it back to ${live.deployedRef} (commit ${live.sha})`;
      } catch (e) {
        // Live is right; only the automatic rollback is lost, and the reason says so.
        deps.logger.error('could not record the bake', { error: e });
        facts.bakeNote = `its bake could not be recorded (${nameOf(e)}), so no alarm rolls it back automatically; roll back by hand (npm run rollback) if ${bake.alarms.join(' or ')} fires`;
      }
    }
    try {
      await entry.clearPending(pendingMove, deps.now());
    } catch (e) {
      // Harmless if it stays unrecorded: it names the publication that is now recorded live.
      deps.logger.warn('could not clear the pending marker', { error: e });
    }
    if (functionArn) {
      try {
        await tagCommit(deps.lambda, functionArn, artifact.sha);
      } catch (e) {
        // The ledger is the record of what is live; a missing tag must not undo a good deploy.
        deps.logger.warn('could not tag the function with the live commit', { error: e });
      }
    }
  } finally {
    try {
      await entry.unlock(holder);
    } catch (e) {
      // Must not hide the deploy's own error; the lease expires, and this request id may retake it.
      deps.logger.error('could not release the lease', { error: e });
    }
  }
}

/**
 * Records a model deploy that waits for the endpoint and returns the Stop that ends this one: the
 * endpoint's owner delivers the publication again once the endpoint is in service, and this deploy's
 * claim is released retryable so that delivery goes through (lambda/inference-endpoint/waiting.ts).
 */
async function waitForEndpoint(
  deps: Deps,
  ledger: Ledger,
  target: ArtifactTarget,
  publishedAt: string,
  why: string,
  state: InferenceState | undefined,
  previousSha: string | undefined,
): Promise<Stop> {
  const added = await ledger.addWaiting({
    biome: target.scope.biome,
    name: target.name,
    bucket: target.bucket,
    key: target.key,
    ...(target.versionId !== undefined ? { versionId: target.versionId } : {}),
    publishedAt,
    waitingSince: deps.now().toISOString(),
  });
  if (!added) {
    return Stop.skipped(
      `${why}, and a newer publication of model "${target.name}" already waits for it; this one (${publishedAt}) is not put live`,
      previousSha,
    );
  }
  return Stop.waiting(
    `${why}: the model is copied and waits; it is validated and its pointer moves once the endpoint is in service again (${unavailableNotice(state, deps.settings.scope.env) ?? 'its owner checks every 5 minutes and creates it when it should be awake'})`,
    previousSha,
  );
}

/**
 * Where a model retrained in its environment goes in the order of publications. Its own published-at
 * is when its training finished, later than a pipeline run that started before and is still on its
 * way (waiting for an approval, say): ordered by that, it would win, and the run's own model would be
 * skipped as older and its release fail. It replaces exactly the live model whose training code made
 * it, so it is ordered right after that model's publication (1 ms later): a pipeline run started since
 * still wins. One retrained from other code than the live model's is skipped: it would put an older
 * commit's model back. Throws the skip; returns the published-at to order by.
 */
function retrainedOrder(
  artifact: ArtifactKey,
  retrainedFrom: string,
  live: LiveRecord | undefined,
  publishedAt: string,
): string {
  if (!live) return publishedAt;
  if (live.sha === artifact.sha) {
    throw Stop.skipped(`already live: retrained model ${artifact.sha}`, live.sha);
  }
  const liveCode = live.retrainedFrom ?? live.sha;
  if (liveCode !== retrainedFrom) {
    throw Stop.skipped(
      `retrained from the training code of commit ${retrainedFrom}, but the live model is of commit ${liveCode}; putting it live would bring older code's model back: start the train workflow again`,
      live.sha,
    );
  }
  return new Date(Date.parse(live.publishedAt) + 1).toISOString();
}

/** What {@link inspect} found out about a landing object. */
interface Inspected {
  /** The normalised published-at. */
  readonly publishedAt: string;
  /** Bytes, more than 0 and within the limit of its kind. */
  readonly size: number;
  /** Its user metadata (`x-amz-meta-*`, keys lowercase). */
  readonly metadata: Readonly<Record<string, string>>;
}

/** HeadObject: existence, size, and the publication metadata. The one HeadObject of the landing object. */
async function inspect(
  s3: S3Client,
  settings: Settings,
  obj: LandingObject,
  a: ArtifactKey,
): Promise<Inspected> {
  let head;
  try {
    head = await s3.send(
      new HeadObjectCommand({ Bucket: obj.bucket, Key: obj.key, VersionId: obj.versionId }),
    );
  } catch (e) {
    const status = httpStatusOf(e);
    if (['NotFound', 'NoSuchKey', 'NoSuchVersion'].includes(nameOf(e)) || status === 404 || status === 405) {
      throw Stop.rejected(
        `object ${obj.key} (version ${obj.versionId ?? 'none'}) no longer exists or is a delete marker; nothing to deploy`,
      );
    }
    throw e;
  }
  if (head.DeleteMarker) {
    throw Stop.rejected(`object ${obj.key} is a delete marker; nothing to deploy`);
  }
  const size = head.ContentLength ?? 0;
  if (size === 0) {
    throw Stop.rejected(
      `object ${obj.key} is empty (0 bytes); the publish step wrote nothing, publish it again`,
    );
  }
  const max = a.kind === 'service' ? settings.maxServiceBytes : settings.maxModelBytes;
  if (size > max) {
    throw Stop.rejected(
      `object ${obj.key} is ${size} bytes, over the ${a.kind} limit of ${max} bytes; make the ${a.kind === 'service' ? 'bundle' : 'model archive'} smaller`,
    );
  }
  const meta = head.Metadata ?? {};
  const commit = meta[ARTIFACT_METADATA.commitSha];
  if (!commit) {
    throw Stop.rejected(
      `object ${obj.key} has no x-amz-meta-${ARTIFACT_METADATA.commitSha}; publish it through the pipeline, which sets it`,
    );
  }
  if (commit !== a.sha) {
    throw Stop.rejected(
      `object ${obj.key} names commit ${a.sha} but its x-amz-meta-${ARTIFACT_METADATA.commitSha} is ${commit}; refusing to guess which is right, publish it again`,
    );
  }
  const published = meta[ARTIFACT_METADATA.publishedAt];
  const publishedAt = normalisedPublishedAt(published);
  if (publishedAt === undefined) {
    throw Stop.rejected(
      `object ${obj.key} has ${published ? `an invalid x-amz-meta-${ARTIFACT_METADATA.publishedAt} "${published}"` : `no x-amz-meta-${ARTIFACT_METADATA.publishedAt}`}; it must be an ISO-8601 UTC time such as 2025-01-31T12:00:00Z, set by the pipeline`,
    );
  }
  return { publishedAt, size, metadata: meta };
}

function liveNote(facts: Facts): string {
  return facts.liveMoved ? 'live had already moved but the ledger may not show it' : 'live unchanged';
}

function describeError(e: unknown, facts: Facts): string {
  const name = nameOf(e);
  const message = messageOf(e);
  const live = liveNote(facts);
  const then = 'retried by Lambda asynchronous retries, then sent to the dead-letter queue';
  if (name === 'ResourceConflictException') {
    return `the function is busy with another update (ResourceConflictException: ${message}); ${live}; ${then}`;
  }
  if (name === 'PreconditionFailedException') {
    return `the function changed while this deploy ran (PreconditionFailedException: ${message}); ${live}; ${then}`;
  }
  return `${name}: ${message}; ${live}; ${then}`;
}
