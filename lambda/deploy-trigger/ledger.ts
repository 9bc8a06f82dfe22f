/**
 * The deployment ledger (DynamoDB, keys `pk`/`sk`, both strings). Layout:
 *
 * | pk               | sk                                             | item                                              |
 * | ---------------- | ---------------------------------------------- | ------------------------------------------------- |
 * | `BIOME#<biome>`  | `LIVE#<kind>#<name>`                           | what is live: sha, publishedAt, liveSince, version or targetModel, key, previousSha |
 * | `BIOME#<biome>`  | `PENDING#<kind>#<name>`                        | a move of live started but not yet recorded: sha, publishedAt, key, since |
 * | `BIOME#<biome>`  | `HISTORY#<kind>#<name>#<recordedAt>#<eventId>` | one outcome: status, reason, sha, previousSha, times, key |
 * | `BIOME#<biome>`  | `LOCK#<kind>#<name>`                           | lease held while one invocation deploys that name |
 * | `OBJECT#<key>`   | `DELIVERY#<version id or etag>`                | idempotency claim of one landing object version  |
 * | `UNPARSED`       | `HISTORY#<recordedAt>#<eventId>`               | outcome of an event whose key names no biome     |
 *
 * So "what is live in biome X, since when, from which commit" is one query
 * (`pk = BIOME#X and begins_with(sk, 'LIVE#')`), and "history of service S in biome X" is one query
 * (`pk = BIOME#X and begins_with(sk, 'HISTORY#service#S#')`, sorted by time). `<kind>` is `service`
 * or `model`; names never contain `#`, so prefixes cannot collide.
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { ArtifactKind } from '../shared/grammar';

export type Status = 'deployed' | 'skipped' | 'rejected' | 'failed';

/** One outcome, as written to the ledger. */
export interface Outcome {
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
  readonly startedAt: string;
  readonly finishedAt: string;
}

export interface LiveRecord {
  readonly sha: string;
  readonly publishedAt: string;
  readonly liveSince: string;
  readonly key: string;
  readonly deployedRef: string;
  readonly previousSha?: string;
}

/**
 * Written just before a deploy moves the alias or pointer, and cleared once the live record is
 * written. If recording the live record fails, the marker stays, so the order check still sees the
 * newer publication and a late older one cannot move live backwards. A separate item, so the
 * "what is live" query shows only what is recorded live.
 */
export interface PendingLive {
  readonly sha: string;
  readonly publishedAt: string;
  readonly key: string;
  readonly since: string;
}

/** One name's recorded live record, and a move of live that was started but not recorded. */
export interface LiveState {
  readonly live?: LiveRecord;
  readonly pending?: PendingLive;
}

export const pk = {
  biome: (biome: string) => `BIOME#${biome}`,
  object: (key: string) => `OBJECT#${key}`,
  unparsed: 'UNPARSED',
};
export const sk = {
  live: (kind: ArtifactKind, name: string) => `LIVE#${kind}#${name}`,
  lock: (kind: ArtifactKind, name: string) => `LOCK#${kind}#${name}`,
  pending: (kind: ArtifactKind, name: string) => `PENDING#${kind}#${name}`,
  history: (kind: ArtifactKind, name: string, at: string, eventId: string) =>
    `HISTORY#${kind}#${name}#${at}#${eventId}`,
  unparsedHistory: (at: string, eventId: string) => `HISTORY#${at}#${eventId}`,
  delivery: (identity: string) => `DELIVERY#${identity}`,
};

/** Claim statuses: `running` while an invocation works on it, `retryable` after an error that escaped. */
export type ClaimStatus = Status | 'running' | 'retryable';

export interface Claim {
  readonly key: string;
  readonly identity: string;
  readonly owner: string;
}

function isConditionFailure(e: unknown): boolean {
  return (
    e instanceof ConditionalCheckFailedException || (e as Error)?.name === 'ConditionalCheckFailedException'
  );
}

export class Ledger {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

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
    owner: string,
    now: Date,
    leaseSeconds: number,
  ): Promise<{ claim?: Claim; heldStatus?: string }> {
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { pk: pk.object(key), sk: sk.delivery(identity) },
          UpdateExpression:
            'SET #status = :running, #owner = :owner, leaseUntil = :lease, claimedAt = :now, attempts = if_not_exists(attempts, :zero) + :one',
          ConditionExpression:
            'attribute_not_exists(pk) OR #status = :retryable OR (#status = :running AND (leaseUntil < :now OR #owner = :owner))',
          ExpressionAttributeNames: { '#status': 'status', '#owner': 'owner' },
          ExpressionAttributeValues: {
            ':running': 'running',
            ':retryable': 'retryable',
            ':owner': owner,
            ':now': now.toISOString(),
            ':lease': new Date(now.getTime() + leaseSeconds * 1000).toISOString(),
            ':zero': 0,
            ':one': 1,
          },
        }),
      );
      return { claim: { key, identity, owner } };
    } catch (e) {
      if (!isConditionFailure(e)) throw e;
      const held = await this.db.send(
        new GetCommand({
          TableName: this.table,
          Key: { pk: pk.object(key), sk: sk.delivery(identity) },
          ConsistentRead: true,
        }),
      );
      return { heldStatus: String(held.Item?.status ?? 'unknown') };
    }
  }

  /** Closes a claim: a final status, or `retryable` so the platform's retry may claim it again. */
  async release(claim: Claim, status: ClaimStatus, now: Date): Promise<void> {
    await this.db.send(
      new UpdateCommand({
        TableName: this.table,
        Key: { pk: pk.object(claim.key), sk: sk.delivery(claim.identity) },
        UpdateExpression: 'SET #status = :status, finishedAt = :now REMOVE leaseUntil',
        ConditionExpression: '#owner = :owner',
        ExpressionAttributeNames: { '#status': 'status', '#owner': 'owner' },
        ExpressionAttributeValues: { ':status': status, ':now': now.toISOString(), ':owner': claim.owner },
      }),
    );
  }

  /**
   * Takes the per-name lease: only one invocation deploys a given service or model of a biome at a
   * time, so "read live, deploy, move live" cannot interleave. Returns false while someone else holds
   * it. The same owner retakes its own lease (a Lambda retry of a crashed invocation keeps the request id).
   */
  async lock(
    biome: string,
    kind: ArtifactKind,
    name: string,
    owner: string,
    now: Date,
    leaseSeconds: number,
  ): Promise<boolean> {
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { pk: pk.biome(biome), sk: sk.lock(kind, name) },
          UpdateExpression: 'SET #owner = :owner, expiresAt = :expires',
          ConditionExpression: 'attribute_not_exists(expiresAt) OR expiresAt < :now OR #owner = :owner',
          ExpressionAttributeNames: { '#owner': 'owner' },
          ExpressionAttributeValues: {
            ':owner': owner,
            ':now': now.toISOString(),
            ':expires': new Date(now.getTime() + leaseSeconds * 1000).toISOString(),
          },
        }),
      );
      return true;
    } catch (e) {
      if (isConditionFailure(e)) return false;
      throw e;
    }
  }

  async unlock(biome: string, kind: ArtifactKind, name: string, owner: string): Promise<void> {
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { pk: pk.biome(biome), sk: sk.lock(kind, name) },
          UpdateExpression: 'REMOVE #owner, expiresAt',
          ConditionExpression: '#owner = :owner',
          ExpressionAttributeNames: { '#owner': 'owner' },
          ExpressionAttributeValues: { ':owner': owner },
        }),
      );
    } catch (e) {
      // Someone took the lease after ours expired; it is theirs now, nothing to release.
      if (!isConditionFailure(e)) throw e;
    }
  }

  async live(biome: string, kind: ArtifactKind, name: string): Promise<LiveState> {
    const read = (key: string) =>
      this.db.send(
        new GetCommand({
          TableName: this.table,
          Key: { pk: pk.biome(biome), sk: key },
          ConsistentRead: true,
        }),
      );
    const [live, pending] = await Promise.all([read(sk.live(kind, name)), read(sk.pending(kind, name))]);
    const marker = pending.Item;
    return {
      ...(live.Item ? { live: live.Item as LiveRecord } : {}),
      ...(typeof marker?.publishedAt === 'string' ? { pending: marker as unknown as PendingLive } : {}),
    };
  }

  /**
   * Marks a move of live as started, before the alias or pointer moves. Only forward in publication
   * time (the same publication may mark again: a retry); false when a newer move was started.
   */
  async markPending(biome: string, kind: ArtifactKind, name: string, pending: PendingLive): Promise<boolean> {
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { pk: pk.biome(biome), sk: sk.pending(kind, name) },
          UpdateExpression: 'SET sha = :sha, publishedAt = :new, #key = :key, since = :since',
          ConditionExpression:
            'attribute_not_exists(publishedAt) OR publishedAt < :new OR (publishedAt = :new AND #key = :key)',
          ExpressionAttributeNames: { '#key': 'key' },
          ExpressionAttributeValues: {
            ':sha': pending.sha,
            ':new': pending.publishedAt,
            ':key': pending.key,
            ':since': pending.since,
          },
        }),
      );
      return true;
    } catch (e) {
      if (isConditionFailure(e)) return false;
      throw e;
    }
  }

  /** Clears this publication's marker once its live record is written; a newer marker stays. */
  async clearPending(biome: string, kind: ArtifactKind, name: string, pending: PendingLive): Promise<void> {
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { pk: pk.biome(biome), sk: sk.pending(kind, name) },
          UpdateExpression: 'REMOVE sha, publishedAt, #key, since',
          ConditionExpression: 'publishedAt = :new AND #key = :key',
          ExpressionAttributeNames: { '#key': 'key' },
          ExpressionAttributeValues: { ':new': pending.publishedAt, ':key': pending.key },
        }),
      );
    } catch (e) {
      if (!isConditionFailure(e)) throw e;
    }
  }

  /**
   * Moves the live record. Conditional on the new publication being newer than what is live, so even
   * without the lease two deploys could never regress it; false when a newer one is already live.
   */
  async setLive(biome: string, kind: ArtifactKind, name: string, record: LiveRecord): Promise<boolean> {
    try {
      await this.db.send(
        new PutCommand({
          TableName: this.table,
          Item: { pk: pk.biome(biome), sk: sk.live(kind, name), biome, kind, name, ...record },
          ConditionExpression: 'attribute_not_exists(publishedAt) OR publishedAt < :new',
          ExpressionAttributeValues: { ':new': record.publishedAt },
        }),
      );
      return true;
    } catch (e) {
      if (isConditionFailure(e)) return false;
      throw e;
    }
  }

  /** Appends one outcome to the history. */
  async record(outcome: Outcome, recordedAt: Date): Promise<void> {
    const at = recordedAt.toISOString();
    const keys =
      outcome.biome && outcome.kind && outcome.name
        ? { pk: pk.biome(outcome.biome), sk: sk.history(outcome.kind, outcome.name, at, outcome.eventId) }
        : { pk: pk.unparsed, sk: sk.unparsedHistory(at, outcome.eventId) };
    await this.db.send(
      new PutCommand({
        TableName: this.table,
        Item: { ...keys, ...stripUndefined(outcome), recordedAt: at },
      }),
    );
  }
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
