/**
 * The one query of what is live across an environment: every `LIVE#` record and every `SANDPIT` record
 * carries the keys of the ledger's sparse index (lambda/deploy-trigger/ledger-keys.ts LIVE_INDEX), so one
 * Query of the index's one partition returns them all, sorted by `<biome>#<kind>#<name>`. Grouped per biome:
 * its owner and expiry next to its live services and models.
 *
 * Free of Lambda specifics (a document client and a table name in, plain data out): the recorder's tests and
 * a command-line tool use it alike.
 */
import { type DynamoDBDocumentClient, QueryCommand, type QueryCommandInput } from '@aws-sdk/lib-dynamodb';
import { LIVE_INDEX } from '../deploy-trigger/ledger-keys';
import type { ArtifactKind } from '../shared/grammar';
import type { SandpitStatus } from '../shared/sandpit';

/** One live service or model of a biome, as its `LIVE#` record says. */
export interface LiveRow {
  readonly name: string;
  readonly sha?: string;
  /** Who moved it live: `pipeline` (the deploy trigger) or `cdk` (a CDK deploy of a sandpit). */
  readonly source?: string;
  /** A CDK deploy from a working tree with uncommitted changes. */
  readonly dirty?: boolean;
  readonly publishedAt?: string;
  readonly liveSince?: string;
  readonly key?: string;
  /** Service: the version (`<function>:<version>` when CDK deployed it); model: the TargetModel. */
  readonly deployedRef?: string;
  readonly previousSha?: string;
  /** `hotswapped`: code changed outside CloudFormation since; what runs may be ahead of `sha`. */
  readonly mayBeAhead?: string;
  readonly hotswappedAt?: string;
}

/** One biome: its sandpit record (absent for `main`, or a biome no CDK deploy recorded) and what is live. */
export interface LiveBiome {
  readonly biome: string;
  readonly owner?: string;
  readonly expiresAt?: string;
  readonly keep?: boolean;
  readonly status?: SandpitStatus;
  readonly lastDeployAt?: string;
  readonly mayBeAhead?: string;
  readonly services: readonly LiveRow[];
  readonly models: readonly LiveRow[];
}

/** The Query of the live index's one partition (one page; {@link queryLive} pages on). */
export function liveQueryInput(table: string): QueryCommandInput {
  return {
    TableName: table,
    IndexName: LIVE_INDEX.name,
    KeyConditionExpression: '#partition = :partition',
    ExpressionAttributeNames: { '#partition': LIVE_INDEX.partitionKey },
    ExpressionAttributeValues: { ':partition': LIVE_INDEX.partition },
  };
}

/** Every biome with a live record or a sandpit record, sorted by biome; services and models by name. */
export async function queryLive(db: DynamoDBDocumentClient, table: string): Promise<LiveBiome[]> {
  const items: Record<string, unknown>[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const page = await db.send(
      new QueryCommand({ ...liveQueryInput(table), ...(start ? { ExclusiveStartKey: start } : {}) }),
    );
    items.push(...(page.Items ?? []));
    start = page.LastEvaluatedKey;
  } while (start);
  return groupLive(items);
}

const text = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);
const flag = (value: unknown): boolean | undefined => (typeof value === 'boolean' ? value : undefined);

/** Only the attributes that are there: an absent one stays absent rather than `undefined`. */
function defined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

function rowOf(item: Record<string, unknown>, name: string): LiveRow {
  return defined({
    name,
    sha: text(item.sha),
    source: text(item.source),
    dirty: flag(item.dirty),
    publishedAt: text(item.publishedAt),
    liveSince: text(item.liveSince),
    key: text(item.key),
    deployedRef: text(item.deployedRef),
    previousSha: text(item.previousSha),
    mayBeAhead: text(item.mayBeAhead),
    hotswappedAt: text(item.hotswappedAt),
  });
}

interface Group {
  sandpit?: Record<string, unknown>;
  readonly services: LiveRow[];
  readonly models: LiveRow[];
}

const isKind = (kind: string | undefined): kind is ArtifactKind => kind === 'service' || kind === 'model';

const byName = (a: LiveRow, b: LiveRow) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

/**
 * Groups the index's items per biome. The index sort key (`<biome>#sandpit`, `<biome>#<kind>#<name>`)
 * says what an item is; names never contain `#`. An item of any other shape is left out.
 */
export function groupLive(items: readonly Record<string, unknown>[]): LiveBiome[] {
  const groups = new Map<string, Group>();
  const groupOf = (biome: string): Group => {
    let group = groups.get(biome);
    if (!group) {
      group = { services: [], models: [] };
      groups.set(biome, group);
    }
    return group;
  };
  for (const item of items) {
    const [biome, kind, name, ...rest] = (text(item[LIVE_INDEX.sortKey]) ?? '').split('#');
    if (!biome || rest.length > 0) continue;
    if (kind === 'sandpit' && name === undefined) groupOf(biome).sandpit = item;
    else if (isKind(kind) && name) {
      const group = groupOf(biome);
      (kind === 'service' ? group.services : group.models).push(rowOf(item, name));
    }
  }
  return [...groups.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([biome, group]) => {
      const s = group.sandpit ?? {};
      return {
        ...defined({
          biome,
          owner: text(s.owner),
          expiresAt: text(s.expiresAt),
          keep: flag(s.keep),
          status: text(s.status) as SandpitStatus | undefined,
          lastDeployAt: text(s.lastDeployAt),
          mayBeAhead: text(s.mayBeAhead),
        }),
        services: group.services.sort(byName),
        models: group.models.sort(byName),
      };
    });
}
