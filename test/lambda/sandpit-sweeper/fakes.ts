/**
 * Test doubles for the sandpit sweeper: stacks as DescribeStacks returns them, and a small in-memory
 * ledger behind the DynamoDB document client that applies the sweeper's `SET` updates (plain and
 * `if_not_exists`), so a test can assert the items that end up in the table.
 */
import type { Stack } from '@aws-sdk/client-cloudformation';
import type { GetCommandInput, PutCommandInput, UpdateCommandInput } from '@aws-sdk/lib-dynamodb';
import type { Deps, SandpitStack } from '../../../lambda/sandpit-sweeper/sweep';
import type { Settings } from '../../../lambda/sandpit-sweeper/settings';
import { EnvScope } from '../../../lambda/shared/scope';

export const DAY_MS = 24 * 60 * 60 * 1000;
/** The run's clock. */
export const NOW = new Date('2025-06-10T06:00:00.000Z');
export const EXECUTION_ROLE = 'arn:aws:iam::222222222222:role/biomes-dev-sandpit-execution';
export const OWNERS_TOPIC = 'arn:aws:sns:eu-west-1:222222222222:biomes-dev-sandpit-owners';

export const settings: Settings = {
  scope: new EnvScope('biomes', 'dev'),
  ledgerTable: 'ledger',
  ownersTopicArn: OWNERS_TOPIC,
  executionRoleArn: EXECUTION_ROLE,
  defaultTtlDays: 7,
};

/** `ms` milliseconds before {@link NOW}. */
export function before(ms: number): Date {
  return new Date(NOW.getTime() - ms);
}

/** A sandpit's facts; by default alice's, deployed 3 days ago with a 7-day lifetime. */
export function sandpit(overrides: Partial<SandpitStack> = {}): SandpitStack {
  return {
    biome: 'alice',
    stackName: 'biomes-dev-alice',
    status: 'UPDATE_COMPLETE',
    createdAt: before(10 * DAY_MS),
    updatedAt: before(3 * DAY_MS),
    owner: 'alice@example.com',
    ttlTag: '7',
    keepTag: 'false',
    ...overrides,
  };
}

export interface StackOptions {
  readonly app?: string;
  readonly env?: string;
  readonly name?: string;
  readonly status?: string;
  readonly reason?: string;
  readonly created?: Date;
  readonly updated?: Date;
  /** Tags besides app, env and biome; undefined drops the default. */
  readonly tags?: Record<string, string | undefined>;
}

/** A stack as DescribeStacks lists it, tagged as lib/app.ts tags a biome stack. */
export function describedStack(biome: string, o: StackOptions = {}): Stack {
  const app = o.app ?? 'biomes';
  const env = o.env ?? 'dev';
  const tags: Record<string, string | undefined> = {
    app,
    env,
    biome,
    owner: `${biome}@example.com`,
    'ttl-days': '7',
    keep: 'false',
    ...o.tags,
  };
  return {
    StackName: o.name ?? `${app}-${env}-${biome}`,
    StackId: `arn:aws:cloudformation:eu-west-1:222222222222:stack/${o.name ?? `${app}-${env}-${biome}`}/uuid`,
    StackStatus: (o.status ?? 'UPDATE_COMPLETE') as Stack['StackStatus'],
    ...(o.reason !== undefined ? { StackStatusReason: o.reason } : {}),
    CreationTime: o.created ?? before(10 * DAY_MS),
    ...(o.updated !== undefined ? { LastUpdatedTime: o.updated } : {}),
    Tags: Object.entries(tags)
      .filter((e): e is [string, string] => e[1] !== undefined)
      .map(([Key, Value]) => ({ Key, Value })),
  };
}

type Item = Record<string, unknown>;

/** The ledger table, keyed `pk|sk`. */
export class FakeLedger {
  readonly items = new Map<string, Item>();

  get(pk: string, sk: string): Item | undefined {
    return this.items.get(`${pk}|${sk}`);
  }

  put(item: Item): void {
    this.items.set(`${String(item.pk)}|${String(item.sk)}`, { ...item });
  }

  /** Every item of one partition whose sort key starts with `prefix`. */
  query(pk: string, prefix: string): Item[] {
    return [...this.items.values()].filter(
      (i) => i.pk === pk && typeof i.sk === 'string' && i.sk.startsWith(prefix),
    );
  }

  onGet(input: GetCommandInput) {
    const key = input.Key as { pk: string; sk: string };
    const item = this.get(key.pk, key.sk);
    return item ? { Item: { ...item } } : {};
  }

  onPut(input: PutCommandInput) {
    this.put(input.Item as Item);
    return {};
  }

  /** Applies `SET #a = :a, #b = if_not_exists(#b, :b)`; any other expression is a test failure. */
  onUpdate(input: UpdateCommandInput) {
    const key = input.Key as { pk: string; sk: string };
    const names = input.ExpressionAttributeNames ?? {};
    const values = (input.ExpressionAttributeValues ?? {}) as Item;
    const expression = input.UpdateExpression ?? '';
    if (!expression.startsWith('SET ')) throw new Error(`FakeLedger: unexpected update ${expression}`);
    const item: Item = { ...(this.get(key.pk, key.sk) ?? { pk: key.pk, sk: key.sk }) };
    const clause = /^(#\w+) = (?:if_not_exists\((#\w+), (:\w+)\)|(:\w+))$/;
    for (const part of expression.slice(4).split(/, (?=#)/)) {
      const match = clause.exec(part);
      if (!match) throw new Error(`FakeLedger: unexpected clause ${part}`);
      const [, target, checked, fallback, value] = match;
      const attribute = names[target!];
      if (attribute === undefined) throw new Error(`FakeLedger: ${target} is not named`);
      if (checked !== undefined) {
        if (checked !== target) throw new Error(`FakeLedger: if_not_exists of another attribute in ${part}`);
        if (!(attribute in item)) item[attribute] = values[fallback!];
      } else {
        item[attribute] = values[value!];
      }
    }
    this.put(item);
    return {};
  }
}

/** A logger whose calls tests can read. */
export function fakeLogger(): Deps['logger'] & {
  info: jest.Mock;
  warn: jest.Mock;
  error: jest.Mock;
} {
  return { info: jest.fn(), warn: jest.fn(), error: jest.fn() };
}
