/**
 * The deployment ledger (DynamoDB): claims per landing object version, and per target (one service
 * or model of one biome) its lease, live record, pending marker and history. The item layout and
 * its key attribute names are in ./ledger-keys, which the table construct shares.
 */
import { ConditionalCheckFailedException, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import {
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  TransactWriteCommand,
  UpdateCommand,
  type UpdateCommandInput,
} from '@aws-sdk/lib-dynamodb';
import type { ArtifactKind } from '../shared/grammar';
import { WAITING_PK, type WaitingDeploy, waitingSk } from '../shared/inference-schedule';
import { nameOf } from './errors';
import {
  LEDGER_PARTITION_KEY,
  LEDGER_SORT_KEY,
  type LedgerKey,
  type OutcomeStatus,
  ledgerKey,
  liveIndexKeys,
  pk,
  sk,
} from './ledger-keys';

/**
 * `waiting`: a model published while the environment's inference endpoint sleeps; it is copied and
 * waits (a WAITING_PK item) until the endpoint is in service again, when its owner delivers it anew.
 */
export type Status = OutcomeStatus;

/**
 * Where a retrained model came from (the retraining metadata of its landing object,
 * lambda/shared/contracts.ts ARTIFACT_METADATA); absent on a model the pipeline built.
 */
export interface Retraining {
  /** The commit whose promoted training code made it. */
  readonly retrainedFrom?: string;
  /** The S3 URI of the data it was trained on. */
  readonly trainingData?: string;
  /** The SageMaker training job that made it. */
  readonly trainingJob?: string;
}

/** One outcome, as written to the ledger. */
export interface Outcome extends Retraining {
  readonly status: Status;
  readonly reason: string;
  /** Decoded landing key (or the raw key when it could not be decoded). */
  readonly key: string;
  readonly objectVersion?: string;
  readonly eventId: string;
  readonly biome?: string;
  readonly name?: string;
  readonly kind?: ArtifactKind;
  readonly sha?: string;
  readonly previousSha?: string;
  readonly publishedAt?: string;
  /** Service: the published version; model: the TargetModel. */
  readonly deployedRef?: string;
  /**
   * A model whose archive head was read: what its build measured (the archive's metrics.json), on a
   * failed validation too, so the record shows what the build measured of the model that failed.
   */
  readonly metrics?: Record<string, number>;
  /**
   * The landing key of the software bill of materials of the code that made it (lib/bundling/sbom.ts:
   * `<biome>/sbom-<commit>.cdx.json`, the commit a retrained model was retrained from), so "what ran,
   * and what was in it" is one lookup.
   */
  readonly sbomKey?: string;
  /**
   * A canary or bake that ended `rolled-back` because alarms fired (or a canary refused because one was
   * already in ALARM): their names.
   */
  readonly alarms?: readonly string[];
  /** A canary: its CodeDeploy deployment. */
  readonly deploymentId?: string;
  readonly startedAt: string;
  readonly finishedAt: string;
  /**
   * A failure the platform retries (Lambda's async retries, then the dead-letter queue): not the end
   * of this publication, which the release's verify step keeps waiting for.
   */
  readonly retrying?: boolean;
}

export interface LiveRecord extends Retraining {
  readonly sha: string;
  readonly publishedAt: string;
  readonly liveSince: string;
  readonly key: string;
  readonly deployedRef: string;
  readonly previousSha?: string;
  /** A model: what its build measured (the archive's metrics.json). */
  readonly metrics?: Record<string, number>;
  /** The landing key of its SBOM (see {@link Outcome.sbomKey}). */
  readonly sbomKey?: string;
}

/**
 * Written just before a deploy moves the alias or pointer, and marked recorded (never removed) once
 * the live record is written: it is the high-water mark of publication time for the name, so a late
 * older run can never mark it again, even after the newer one finished and released the lease. If
 * recording the live record fails, the marker stays unrecorded, so the order check still sees the
 * newer publication. A separate item, so the "what is live" query shows only what is recorded live.
 */
export interface PendingLive {
  readonly sha: string;
  readonly publishedAt: string;
  readonly key: string;
  readonly since: string;
}

/** A landing object version, enough to deliver it to the trigger again (a synthetic `Object Created`). */
export interface Delivery {
  readonly bucket: string;
  readonly key: string;
  readonly versionId?: string;
  readonly sha: string;
  readonly publishedAt: string;
}

/**
 * A service's canary (`CANARY#service#<name>`): `starting` from just before CreateDeployment until its
 * id is recorded, then `running` until CodeDeploy reports the end. Ended, only `lastDeploymentId` and
 * a waiting `next` stay.
 */
export interface CanaryRecord {
  readonly status?: 'starting' | 'running';
  readonly deploymentId?: string;
  readonly key?: string;
  readonly sha?: string;
  readonly publishedAt?: string;
  /** The published version CodeDeploy shifts to, and the one it shifts from. */
  readonly version?: string;
  readonly previousVersion?: string;
  readonly previousSha?: string;
  readonly functionArn?: string;
  readonly alarms?: readonly string[];
  readonly sbomKey?: string;
  readonly since?: string;
  /** A newer publication superseded this canary: the trigger asked CodeDeploy to stop it. */
  readonly stopRequested?: boolean;
  readonly lastDeploymentId?: string;
  /** A failed or stopped canary whose rollback (a deployment of its own) still runs. */
  readonly rollbackDeploymentId?: string;
  readonly lastRollbackDeploymentId?: string;
  /** The alarms in ALARM when CodeDeploy ended it (kept until its rollback ends). */
  readonly firing?: readonly string[];
  /** The newest publication that arrived during the canary: deployed when it ends. */
  readonly next?: Delivery;
}

/** A canary being started (what {@link LedgerTarget.startCanary} writes). */
export type StartingCanary = Required<
  Pick<CanaryRecord, 'key' | 'sha' | 'publishedAt' | 'version' | 'functionArn' | 'alarms' | 'since'>
> &
  Pick<CanaryRecord, 'previousVersion' | 'previousSha' | 'sbomKey'>;

/** A model's bake (`BAKE#model#<name>`): what to put back if one of `alarms` fires before `until`. */
export interface BakeRecord {
  readonly name: string;
  /** The live record's key that is baking; a rollback happens only while it is still live. */
  readonly key: string;
  readonly sha: string;
  readonly until: string;
  readonly alarms: readonly string[];
  /** The model's pointer parameter (its registration's), which a rollback writes back. */
  readonly pointerParameter: string;
  /** The live record it replaced: what a rollback restores (pointer and record). */
  readonly previous: LiveRecord;
  /** When it ended (a rollback, or an alarm after `until`): an ended bake is kept, never acted on. */
  readonly endedAt?: string;
}

/** One name's recorded live record, and a move of live that was started but not recorded yet. */
export interface LiveState {
  readonly live?: LiveRecord;
  readonly pending?: PendingLive;
}

/** Claim statuses: `running` while an invocation works on it, `retryable` after an error that escaped. */
export type ClaimStatus = Status | 'running' | 'retryable';

/**
 * Who holds a claim or a lease. `owner` is the Lambda request id, which Lambda keeps across its
 * retries: the same request id may retake what a crashed attempt left. `token` is this attempt's
 * own (request id + random UUID): only the attempt that took a claim or lease releases it, so a late
 * release from an earlier attempt never frees what a later attempt of the same request holds.
 */
export interface Holder {
  readonly owner: string;
  readonly token: string;
}

export interface Claim {
  readonly key: string;
  readonly identity: string;
  readonly holder: Holder;
}

function isConditionFailure(e: unknown): boolean {
  return e instanceof ConditionalCheckFailedException || nameOf(e) === 'ConditionalCheckFailedException';
}

/**
 * Makes one conditional write: true when it was made, false when its condition failed (someone else's
 * write came first); any other error is thrown.
 */
async function conditionally(write: () => Promise<unknown>): Promise<boolean> {
  try {
    await write();
    return true;
  } catch (e) {
    if (isConditionFailure(e)) return false;
    throw e;
  }
}

/** A transaction cancelled because one of its conditions failed (not a conflict or a throttle). */
function isTransactionConditionFailure(e: unknown): boolean {
  if (!(e instanceof TransactionCanceledException || nameOf(e) === 'TransactionCanceledException')) {
    return false;
  }
  const reasons = (e as TransactionCanceledException).CancellationReasons ?? [];
  return reasons.some((r) => r.Code === 'ConditionalCheckFailed');
}

/**
 * The live record or the high-water mark may be written only forward in publication time; equal is
 * allowed only for the same key, i.e. the same publication again (a retry).
 */
const FORWARD_ONLY =
  'attribute_not_exists(publishedAt) OR publishedAt < :new OR (publishedAt = :new AND #key = :key)';

/** What one lease, live record, pending marker and history belong to: one service or model of one biome. */
export interface TargetRef {
  readonly biome: string;
  readonly kind: ArtifactKind;
  readonly name: string;
}

/** An outcome of one target; the target's biome, kind and name are the handle's. */
export type TargetOutcome = Omit<Outcome, keyof TargetRef>;

/** Placeholder of the partition key attribute in expressions (its name is {@link LEDGER_PARTITION_KEY}). */
const PK = '#pk';
/** Placeholder of the sort key attribute in expressions. */
const SK = '#sk';

export class Ledger {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  /** The per-target operations (lease, live state, pending marker, live record, history) of one target. */
  target(ref: TargetRef): LedgerTarget {
    return new LedgerTarget(this.db, this.table, ref);
  }

  /** Every bake of `biome`'s models that has not ended (the alarm handler's one query). */
  async bakes(biome: string): Promise<BakeRecord[]> {
    // Items of this table, written by LedgerTarget.startBake.
    const items = (await this.itemsUnder(biome, sk.bakePrefix)) as unknown as BakeRecord[];
    return items.filter((bake) => bake.endedAt === undefined);
  }

  /** Every canary record of `biome`'s services, with the service's name (the sweep's one query). */
  async canaries(biome: string): Promise<{ name: string; record: CanaryRecord }[]> {
    const prefix = sk.canary('service', '');
    return (await this.itemsUnder(biome, prefix)).map((item) => ({
      name: String(item[LEDGER_SORT_KEY]).slice(prefix.length),
      // Items of this table, written by LedgerTarget's canary methods.
      record: item,
    }));
  }

  private itemsUnder(biome: string, prefix: string): Promise<Record<string, unknown>[]> {
    return queryBiomePrefix(this.db, this.table, biome, prefix);
  }

  /**
   * Records a model deploy that waits for the inference endpoint (one item per biome and model, the
   * newest publication: forward-only like the live record, so the same publication again is fine).
   * False when a newer publication of the model already waits.
   */
  async addWaiting(item: WaitingDeploy): Promise<boolean> {
    return conditionally(() =>
      this.db.send(
        new PutCommand({
          TableName: this.table,
          Item: {
            [LEDGER_PARTITION_KEY]: WAITING_PK,
            [LEDGER_SORT_KEY]: waitingSk(item.biome, item.name),
            ...item,
          },
          ConditionExpression: FORWARD_ONLY,
          ExpressionAttributeNames: { '#key': 'key' },
          ExpressionAttributeValues: { ':new': item.publishedAt, ':key': item.key },
        }),
      ),
    );
  }

  /**
   * Claims one delivery (object key + version). A conditional write, so two concurrent deliveries
   * of the same object cannot both proceed: returns undefined and the current status when taken.
   * A delivery whose earlier attempt failed with an escaping error (`retryable`), or whose holder
   * died past its lease, can be claimed again: that is how platform retries get through. The same
   * owner may also retake its own `running` claim: Lambda retries a crashed or timed-out invocation
   * with the same request id, and that retry must not mistake its own claim for a duplicate.
   */
  async claim(
    key: string,
    identity: string,
    holder: Holder,
    now: Date,
    leaseSeconds: number,
  ): Promise<{ claim?: Claim; heldStatus?: string }> {
    const itemKey = deliveryKey(key, identity);
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: itemKey,
          UpdateExpression:
            'SET #status = :running, #owner = :owner, #token = :token, leaseUntil = :lease, claimedAt = :now, attempts = if_not_exists(attempts, :zero) + :one',
          ConditionExpression: `attribute_not_exists(${PK}) OR #status = :retryable OR (#status = :running AND (leaseUntil < :now OR #owner = :owner))`,
          ExpressionAttributeNames: {
            [PK]: LEDGER_PARTITION_KEY,
            '#status': 'status',
            '#owner': 'owner',
            '#token': 'token',
          },
          ExpressionAttributeValues: {
            ':running': 'running',
            ':retryable': 'retryable',
            ':owner': holder.owner,
            ':token': holder.token,
            ':now': now.toISOString(),
            ':lease': new Date(now.getTime() + leaseSeconds * 1000).toISOString(),
            ':zero': 0,
            ':one': 1,
          },
        }),
      );
      return { claim: { key, identity, holder } };
    } catch (e) {
      if (!isConditionFailure(e)) throw e;
      const held = await this.db.send(
        new GetCommand({ TableName: this.table, Key: itemKey, ConsistentRead: true }),
      );
      return { heldStatus: String(held.Item?.status ?? 'unknown') };
    }
  }

  /**
   * Closes a claim: a final status, or `retryable` so the platform's retry may claim it again. Only
   * by the attempt that holds it (its token); a claim another attempt retook is left to that attempt.
   */
  async release(claim: Claim, status: ClaimStatus, now: Date): Promise<void> {
    await this.db.send(
      new UpdateCommand({
        TableName: this.table,
        Key: deliveryKey(claim.key, claim.identity),
        UpdateExpression: 'SET #status = :status, finishedAt = :now REMOVE leaseUntil',
        ConditionExpression: '#token = :token',
        ExpressionAttributeNames: { '#status': 'status', '#token': 'token' },
        ExpressionAttributeValues: {
          ':status': status,
          ':now': now.toISOString(),
          ':token': claim.holder.token,
        },
      }),
    );
  }

  /**
   * Appends one outcome to the history: under its target when it names one, else under `UNPARSED`
   * (an event whose key names no biome, service or model).
   */
  async record(outcome: Outcome, recordedAt: Date): Promise<void> {
    const { biome, kind, name } = outcome;
    if (biome && kind && name) {
      await this.target({ biome, kind, name }).record(outcome, recordedAt);
      return;
    }
    const at = recordedAt.toISOString();
    await this.db.send(
      new PutCommand({
        TableName: this.table,
        Item: {
          ...ledgerKey(pk.unparsed, sk.unparsedHistory(at, outcome.eventId)),
          ...stripUndefined(outcome),
          recordedAt: at,
        },
      }),
    );
  }
}

/** The ledger of one target: its lease, live record, pending marker and history. From {@link Ledger.target}. */
export class LedgerTarget {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
    readonly ref: TargetRef,
  ) {}

  private key(sort: (kind: ArtifactKind, name: string) => string): LedgerKey {
    return ledgerKey(pk.biome(this.ref.biome), sort(this.ref.kind, this.ref.name));
  }

  /**
   * Takes the per-name lease: only one invocation deploys a given service or model of a biome at a
   * time, so "read live, deploy, move live" cannot interleave. Returns false while someone else holds
   * it. The same owner retakes its own lease (a Lambda retry of a crashed invocation keeps the request
   * id); the lease then carries the new attempt's token.
   */
  async lock(holder: Holder, now: Date, leaseSeconds: number): Promise<boolean> {
    return conditionally(() =>
      this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: this.key(sk.lock),
          UpdateExpression: 'SET #owner = :owner, #token = :token, expiresAt = :expires',
          ConditionExpression: 'attribute_not_exists(expiresAt) OR expiresAt < :now OR #owner = :owner',
          ExpressionAttributeNames: { '#owner': 'owner', '#token': 'token' },
          ExpressionAttributeValues: {
            ':owner': holder.owner,
            ':token': holder.token,
            ':now': now.toISOString(),
            ':expires': new Date(now.getTime() + leaseSeconds * 1000).toISOString(),
          },
        }),
      ),
    );
  }

  /** Releases the lease if this attempt (its token) still holds it. */
  async unlock(holder: Holder): Promise<void> {
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: this.key(sk.lock),
          UpdateExpression: 'REMOVE #owner, #token, expiresAt',
          ConditionExpression: '#token = :token',
          ExpressionAttributeNames: { '#owner': 'owner', '#token': 'token' },
          ExpressionAttributeValues: { ':token': holder.token },
        }),
      );
    } catch (e) {
      // Someone (or a later attempt of this request) took the lease; it is theirs now, nothing to release.
      if (!isConditionFailure(e)) throw e;
    }
  }

  /** The recorded live record, and a move of live started but not recorded yet; both read consistently. */
  async live(): Promise<LiveState> {
    const read = (key: LedgerKey) =>
      this.db.send(new GetCommand({ TableName: this.table, Key: key, ConsistentRead: true }));
    const [live, pending] = await Promise.all([read(this.key(sk.live)), read(this.key(sk.pending))]);
    const marker = pending.Item;
    return {
      // Items of this table, written by this module: the document client types them as any record.
      ...(live.Item ? { live: live.Item as LiveRecord } : {}),
      // A recorded marker is only the high-water mark: the live record says the same, and more.
      ...(typeof marker?.publishedAt === 'string' && marker.recordedAt === undefined
        ? { pending: marker as PendingLive }
        : {}),
    };
  }

  /**
   * Marks a move of live as started, before the alias or pointer moves. One transaction with two
   * conditions, so order safety does not rest on the lease alone: the marker (the high-water mark)
   * and the live record must both be older than this publication, or be this same publication (a
   * retry). False when a newer publication started moving live or is live: this run must not move
   * the alias or pointer (a model pointer has no revision guard of its own).
   */
  async markPending(pending: PendingLive): Promise<boolean> {
    const names = { '#key': 'key' };
    const order = { ':new': pending.publishedAt, ':key': pending.key };
    try {
      await this.db.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              ConditionCheck: {
                TableName: this.table,
                Key: this.key(sk.live),
                ConditionExpression: FORWARD_ONLY,
                ExpressionAttributeNames: names,
                ExpressionAttributeValues: order,
              },
            },
            {
              Update: {
                TableName: this.table,
                Key: this.key(sk.pending),
                UpdateExpression:
                  'SET sha = :sha, publishedAt = :new, #key = :key, since = :since REMOVE recordedAt',
                ConditionExpression: FORWARD_ONLY,
                ExpressionAttributeNames: names,
                ExpressionAttributeValues: { ...order, ':sha': pending.sha, ':since': pending.since },
              },
            },
          ],
        }),
      );
      return true;
    } catch (e) {
      if (isTransactionConditionFailure(e)) return false;
      throw e;
    }
  }

  /**
   * Marks this publication's move recorded once its live record is written. Keeps sha, publishedAt
   * and key: the marker stays the high-water mark, so an older run that still holds a stale view
   * cannot mark it (and move live) after this one released the lease. A newer marker is left alone.
   */
  async clearPending(pending: PendingLive, recordedAt: Date): Promise<void> {
    await conditionally(() =>
      this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: this.key(sk.pending),
          UpdateExpression: 'SET recordedAt = :at',
          ConditionExpression: 'publishedAt = :new AND #key = :key',
          ExpressionAttributeNames: { '#key': 'key' },
          ExpressionAttributeValues: {
            ':new': pending.publishedAt,
            ':key': pending.key,
            ':at': recordedAt.toISOString(),
          },
        }),
      ),
    );
  }

  /**
   * Moves the live record. Conditional on the new publication being newer than what is live, so even
   * without the lease two deploys could never regress it; false when a newer one is already live.
   * The same publication may write again: an SDK retry of a Put that already succeeded must not turn
   * a good deploy into a failure.
   */
  async setLive(record: LiveRecord): Promise<boolean> {
    return conditionally(() =>
      this.db.send(
        new PutCommand({
          TableName: this.table,
          Item: this.liveItem(record),
          ConditionExpression: FORWARD_ONLY,
          ExpressionAttributeNames: { '#key': 'key' },
          ExpressionAttributeValues: { ':new': record.publishedAt, ':key': record.key },
        }),
      ),
    );
  }

  /** The service's canary record (active, or what an ended one left), read consistently. */
  async canary(): Promise<CanaryRecord | undefined> {
    const out = await this.db.send(
      new GetCommand({ TableName: this.table, Key: this.key(sk.canary), ConsistentRead: true }),
    );
    return out.Item as CanaryRecord | undefined;
  }

  /**
   * Records a canary about to start (status `starting`), before CreateDeployment, so a crash after
   * CodeDeploy accepted it still leaves the ledger knowing which publication it shifts. Called under
   * the lease: only when no canary is running, or the running one is this same publication (a retry);
   * a `starting` one is a dead invocation's and is replaced. False otherwise. A waiting `next` stays.
   */
  async startCanary(canary: StartingCanary): Promise<boolean> {
    const fields = stripUndefined({ ...canary, status: 'starting' });
    const names: Record<string, string> = {};
    const values: Record<string, unknown> = { ':starting': 'starting' };
    const sets = Object.entries(fields).map(([field, value], i) => {
      names[`#f${i}`] = field;
      values[`:f${i}`] = Array.isArray(value) ? [...(value as unknown[])] : value;
      return `#f${i} = :f${i}`;
    });
    const optional = (['previousVersion', 'previousSha', 'sbomKey'] as const).filter(
      (f) => canary[f] === undefined,
    );
    return conditionally(() =>
      this.updateCanary({
        UpdateExpression: `SET ${sets.join(', ')} REMOVE ${['deploymentId', 'stopRequested', 'rollbackDeploymentId', 'firing', ...optional].join(', ')}`,
        ConditionExpression: 'attribute_not_exists(#status) OR #status = :starting OR #key = :key',
        ExpressionAttributeNames: { ...names, '#status': 'status', '#key': 'key' },
        ExpressionAttributeValues: { ...values, ':key': canary.key },
      }),
    );
  }

  /**
   * Records the deployment CodeDeploy started (or an adopted one) for the `starting` canary of `key`,
   * and the version it shifts to.
   */
  async canaryRunning(key: string, deploymentId: string, version: string): Promise<void> {
    await this.updateCanary({
      UpdateExpression: 'SET #status = :running, deploymentId = :id, version = :version',
      ConditionExpression: '#key = :key',
      ExpressionAttributeNames: { '#status': 'status', '#key': 'key' },
      ExpressionAttributeValues: {
        ':running': 'running',
        ':id': deploymentId,
        ':key': key,
        ':version': version,
      },
    });
  }

  /** Forgets a `starting` canary of `key` that CodeDeploy refused (nothing was shifted). */
  async abandonCanary(key: string): Promise<void> {
    await conditionally(() =>
      this.updateCanary({
        UpdateExpression: `REMOVE ${ACTIVE_CANARY_FIELDS}`,
        ConditionExpression: '#key = :key AND #status = :starting',
        ExpressionAttributeNames: { '#status': 'status', '#key': 'key' },
        ExpressionAttributeValues: { ':starting': 'starting', ':key': key },
      }),
    );
  }

  /**
   * Puts `next` behind the active canary (forward-only: only a newer publication replaces a waiting
   * one) and marks the canary superseded. False when no canary is active any more or a newer
   * publication already waits; the caller reads the record again to tell which.
   */
  async queueBehindCanary(next: Delivery): Promise<boolean> {
    return conditionally(() =>
      this.updateCanary({
        UpdateExpression: 'SET #next = :next, stopRequested = :true',
        ConditionExpression:
          'attribute_exists(#status) AND (attribute_not_exists(#next) OR #next.publishedAt < :new OR (#next.publishedAt = :new AND #next.#key = :key))',
        ExpressionAttributeNames: { '#status': 'status', '#next': 'next', '#key': 'key' },
        ExpressionAttributeValues: {
          ':next': stripUndefined(next),
          ':true': true,
          ':new': next.publishedAt,
          ':key': next.key,
        },
      }),
    );
  }

  /** Remembers the rollback of a failed or stopped canary, which ends it once it ends. */
  async canaryRollingBack(
    deploymentId: string,
    rollbackId: string,
    firing: readonly string[],
  ): Promise<void> {
    await this.updateCanary({
      UpdateExpression: 'SET rollbackDeploymentId = :rollback, firing = :firing',
      ConditionExpression: 'deploymentId = :id',
      ExpressionAttributeValues: { ':id': deploymentId, ':rollback': rollbackId, ':firing': [...firing] },
    });
  }

  /**
   * Ends the canary of `deploymentId`: clears the active fields, keeps `next`, remembers its ids (and
   * its rollback's) so a duplicate or late end event is recognised. False when it already ended.
   */
  async endCanary(deploymentId: string, rollbackId?: string): Promise<boolean> {
    return conditionally(() =>
      this.updateCanary({
        UpdateExpression: `SET lastDeploymentId = :id${rollbackId ? ', lastRollbackDeploymentId = :rollback' : ''} REMOVE ${ACTIVE_CANARY_FIELDS}${rollbackId ? '' : ', lastRollbackDeploymentId'}`,
        ConditionExpression: 'deploymentId = :id',
        ExpressionAttributeNames: { '#status': 'status', '#key': 'key' },
        ExpressionAttributeValues: {
          ':id': deploymentId,
          ...(rollbackId ? { ':rollback': rollbackId } : {}),
        },
      }),
    );
  }

  /** Drops the waiting `next` once it was delivered again (only that publication, never a newer one). */
  async dropNext(next: Delivery): Promise<void> {
    await conditionally(() =>
      this.updateCanary({
        UpdateExpression: 'REMOVE #next',
        ConditionExpression: '#next.#key = :key AND #next.publishedAt = :new',
        ExpressionAttributeNames: { '#next': 'next', '#key': 'key' },
        ExpressionAttributeValues: { ':key': next.key, ':new': next.publishedAt },
      }),
    );
  }

  /** Starts (or replaces) the model's bake. */
  async startBake(bake: BakeRecord): Promise<void> {
    await this.db.send(
      new PutCommand({ TableName: this.table, Item: { ...this.key(sk.bake), ...stripUndefined(bake) } }),
    );
  }

  /**
   * Ends the bake of `key` (a rollback, or a newer publication live); a newer bake is left alone. The
   * item stays, marked ended (the next bake of the model replaces it): the trigger never deletes from
   * the ledger, and its role has no dynamodb:DeleteItem.
   */
  async endBake(key: string, endedAt: string): Promise<void> {
    await conditionally(() =>
      this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: this.key(sk.bake),
          UpdateExpression: 'SET #endedAt = :endedAt',
          ConditionExpression: '#key = :key AND attribute_not_exists(#endedAt)',
          ExpressionAttributeNames: { '#key': 'key', '#endedAt': 'endedAt' },
          ExpressionAttributeValues: { ':key': key, ':endedAt': endedAt },
        }),
      ),
    );
  }

  /**
   * Puts `record` (the one a bake replaced) back as the live record, only while `bakedKey` is still
   * live: the one write that moves the live record backwards in publication time, and only for a
   * rollback by alarm. False when something newer went live meanwhile.
   */
  async restoreLive(record: LiveRecord, bakedKey: string): Promise<boolean> {
    return conditionally(() =>
      this.db.send(
        new PutCommand({
          TableName: this.table,
          Item: this.liveItem(record),
          ConditionExpression: '#key = :baked',
          ExpressionAttributeNames: { '#key': 'key' },
          ExpressionAttributeValues: { ':baked': bakedKey },
        }),
      ),
    );
  }

  /**
   * The live record item: written by the trigger (source `pipeline`); the live index's keys make it
   * part of the one query of what is live across the environment.
   */
  private liveItem(record: LiveRecord): Record<string, unknown> {
    const { biome, kind, name } = this.ref;
    return {
      ...this.key(sk.live),
      biome,
      kind,
      name,
      source: 'pipeline',
      ...stripUndefined(record),
      ...liveIndexKeys(biome, kind, name),
    };
  }

  /** One update of the service's canary record (`CANARY#service#<name>`). */
  private updateCanary(input: Omit<UpdateCommandInput, 'TableName' | 'Key'>): Promise<unknown> {
    return this.db.send(new UpdateCommand({ TableName: this.table, Key: this.key(sk.canary), ...input }));
  }

  /** Appends one outcome of this target to its history (sorted by time under the target's prefix). */
  async record(outcome: TargetOutcome, recordedAt: Date): Promise<void> {
    const at = recordedAt.toISOString();
    const { biome, kind, name } = this.ref;
    await this.db.send(
      new PutCommand({
        TableName: this.table,
        Item: {
          ...ledgerKey(pk.biome(biome), sk.history(kind, name, at, outcome.eventId)),
          ...stripUndefined(outcome),
          biome,
          kind,
          name,
          recordedAt: at,
        },
      }),
    );
  }
}

/** What an ended canary no longer has (its `next` and `lastDeploymentId` stay). */
const ACTIVE_CANARY_FIELDS =
  '#status, deploymentId, #key, sha, publishedAt, version, functionArn, alarms, since, previousVersion, previousSha, sbomKey, stopRequested, rollbackDeploymentId, firing';

function deliveryKey(key: string, identity: string): LedgerKey {
  return ledgerKey(pk.object(key), sk.delivery(identity));
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/**
 * Every item of partition `BIOME#<biome>` whose sort key begins with `prefix`, read consistently,
 * across pages: the one prefix query of the trigger (bakes, canaries) and the sandpit recorder.
 */
export async function queryBiomePrefix(
  db: DynamoDBDocumentClient,
  table: string,
  biome: string,
  prefix: string,
): Promise<Record<string, unknown>[]> {
  const found: Record<string, unknown>[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const out = await db.send(
      new QueryCommand({
        TableName: table,
        KeyConditionExpression: `${PK} = :pk AND begins_with(${SK}, :prefix)`,
        ExpressionAttributeNames: { [PK]: LEDGER_PARTITION_KEY, [SK]: LEDGER_SORT_KEY },
        ExpressionAttributeValues: { ':pk': pk.biome(biome), ':prefix': prefix },
        ConsistentRead: true,
        ...(start ? { ExclusiveStartKey: start } : {}),
      }),
    );
    found.push(...(out.Items ?? []));
    start = out.LastEvaluatedKey;
  } while (start);
  return found;
}

/**
 * The sandpit record of `biome` (`BIOME#<biome>` / `SANDPIT`, lambda/shared/sandpit.ts SandpitRecord),
 * read consistently; the ledger recorder and the sweeper both read it before they write.
 */
export async function readSandpitItem(
  db: DynamoDBDocumentClient,
  table: string,
  biome: string,
): Promise<Record<string, unknown> | undefined> {
  const out = await db.send(
    new GetCommand({ TableName: table, Key: ledgerKey(pk.biome(biome), sk.sandpit), ConsistentRead: true }),
  );
  return out.Item;
}
