/**
 * The deployment ledger's keys: the two key attribute names, which the table construct
 * (lib/workload/shared/ledger.ts) declares and ./ledger writes, and the values they take. Pure: no
 * AWS or CDK imports, so the construct can import it.
 *
 * Layout (both keys are strings):
 *
 * | partition key    | sort key                                       | item                                              |
 * | ---------------- | ---------------------------------------------- | ------------------------------------------------- |
 * | `BIOME#<biome>`  | `LIVE#<kind>#<name>`                           | what is live: sha, publishedAt, liveSince, version or targetModel, key, previousSha |
 * | `BIOME#<biome>`  | `PENDING#<kind>#<name>`                        | newest move of live started: sha, publishedAt, key, since; recordedAt once live records it |
 * | `BIOME#<biome>`  | `HISTORY#<kind>#<name>#<recordedAt>#<eventId>` | one outcome: status, reason, sha, previousSha, times, key |
 * | `BIOME#<biome>`  | `LOCK#<kind>#<name>`                           | lease held while one invocation deploys that name: owner, token, expiresAt |
 * | `BIOME#<biome>`  | `CANARY#service#<name>`                        | the service's CodeDeploy canary: status, deploymentId, version, alarms; `next`, the newest publication waiting for it to end; `lastDeploymentId` once ended |
 * | `BIOME#<biome>`  | `BAKE#model#<name>`                            | a model's bake after its pointer moved: the live record it replaced, alarms, until |
 * | `OBJECT#<key>`   | `DELIVERY#<version id or etag>`                | idempotency claim of one landing object version: status, owner, token |
 * | `UNPARSED`       | `HISTORY#<recordedAt>#<eventId>`               | outcome of an event whose key names no biome     |
 * | `BIOME#<biome>`  | `SANDPIT`                                      | a sandpit's owner, lifetime, last deploy, status (lambda/shared/sandpit.ts SandpitRecord) |
 * | `BIOME#<biome>`  | `HISTORY#sandpit#<recordedAt>#<eventId>`       | one lifecycle event of a sandpit: CDK deploy, notice, expiry, destroy |
 *
 * So "what is live in biome X, since when, from which commit" is one query (partition
 * `BIOME#X`, sort key beginning with `LIVE#`), and "history of service S in biome X" is one query
 * (partition `BIOME#X`, sort key beginning with `HISTORY#service#S#`, sorted by time). `<kind>` is
 * `service` or `model`; names never contain `#`, so prefixes cannot collide.
 *
 * "What is live across the environment" is one query too: every `LIVE#` item and every `SANDPIT` item
 * carries the keys of the sparse global secondary index {@link LIVE_INDEX} (partition `LIVE`, sort
 * `<biome>#<kind>#<name>` or `<biome>#sandpit`), so a Query of partition `LIVE` returns each biome's live
 * services and models next to its owner and expiry, sorted by biome. Items without the attributes (claims,
 * leases, history) stay out of the index. One partition value: an environment has tens of biomes and
 * hundreds of items, far below a partition's limits.
 */
import type { ArtifactKind } from '../shared/grammar';

/**
 * Every status an outcome in the ledger's history can have (./ledger `Status` explains each); the
 * release's verify step reads the same list.
 */
export const OUTCOME_STATUSES = [
  'deployed',
  'skipped',
  'rejected',
  'failed',
  'waiting',
  'canary',
  'rolled-back',
] as const;
export type OutcomeStatus = (typeof OUTCOME_STATUSES)[number];

/** The partition key attribute of the ledger table. */
export const LEDGER_PARTITION_KEY = 'pk';
/** The sort key attribute of the ledger table. */
export const LEDGER_SORT_KEY = 'sk';

/** The full key of one ledger item, under the table's key attribute names. */
export type LedgerKey = { readonly [LEDGER_PARTITION_KEY]: string; readonly [LEDGER_SORT_KEY]: string };

export function ledgerKey(partition: string, sort: string): LedgerKey {
  return { [LEDGER_PARTITION_KEY]: partition, [LEDGER_SORT_KEY]: sort };
}

/** The sparse index of everything live (and every sandpit record) of the environment. */
export const LIVE_INDEX = {
  name: 'live',
  partitionKey: 'livePartition',
  sortKey: 'liveSort',
  /** The one partition value of the index. */
  partition: 'LIVE',
} as const;

/** The index keys a live record or sandpit record carries (kind `sandpit` for the latter). */
export function liveIndexKeys(
  biome: string,
  kind: ArtifactKind | 'sandpit',
  name?: string,
): { readonly livePartition: string; readonly liveSort: string } {
  return {
    livePartition: LIVE_INDEX.partition,
    liveSort: name === undefined ? `${biome}#${kind}` : `${biome}#${kind}#${name}`,
  };
}

/** Partition key values. */
export const pk = {
  biome: (biome: string) => `BIOME#${biome}`,
  object: (key: string) => `OBJECT#${key}`,
  unparsed: 'UNPARSED',
};

/** Sort key values. */
export const sk: {
  readonly live: (kind: ArtifactKind, name: string) => string;
  readonly lock: (kind: ArtifactKind, name: string) => string;
  readonly pending: (kind: ArtifactKind, name: string) => string;
  readonly history: (kind: ArtifactKind, name: string, at: string, eventId: string) => string;
  readonly historyOf: (kind: ArtifactKind, name: string) => string;
  readonly unparsedHistory: (at: string, eventId: string) => string;
  readonly delivery: (identity: string) => string;
  readonly sandpit: string;
  readonly sandpitHistory: (at: string, eventId: string) => string;
  readonly livePrefix: string;
  readonly canary: (kind: ArtifactKind, name: string) => string;
  readonly bake: (kind: ArtifactKind, name: string) => string;
  readonly bakePrefix: string;
} = {
  live: (kind: ArtifactKind, name: string) => `LIVE#${kind}#${name}`,
  lock: (kind: ArtifactKind, name: string) => `LOCK#${kind}#${name}`,
  pending: (kind: ArtifactKind, name: string) => `PENDING#${kind}#${name}`,
  history: (kind: ArtifactKind, name: string, at: string, eventId: string) =>
    `${sk.historyOf(kind, name)}${at}#${eventId}`,
  /** Prefix of every history item of one name (the trailing `#` keeps `a` off `a-b`). */
  historyOf: (kind: ArtifactKind, name: string) => `HISTORY#${kind}#${name}#`,
  unparsedHistory: (at: string, eventId: string) => `HISTORY#${at}#${eventId}`,
  delivery: (identity: string) => `DELIVERY#${identity}`,
  /** The sandpit record of a biome (owner, lifetime, status). */
  sandpit: 'SANDPIT',
  sandpitHistory: (at: string, eventId: string) => `HISTORY#sandpit#${at}#${eventId}`,
  /** Prefix of every live record of a biome. */
  livePrefix: 'LIVE#',
  canary: (kind: ArtifactKind, name: string) => `CANARY#${kind}#${name}`,
  bake: (kind: ArtifactKind, name: string) => `${sk.bakePrefix}${kind}#${name}`,
  /** Prefix of every bake of a biome (the alarm handler's one query). */
  bakePrefix: 'BAKE#',
};
