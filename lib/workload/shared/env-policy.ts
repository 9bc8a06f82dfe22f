/**
 * The one place that decides how stateful resources behave on deletion (house style "Stateful apart
 * from stateless"). It asks one question of the environment, `protected` (biomes.promotion in
 * cdk.json), so constructs never test an environment's name.
 */
import { RemovalPolicy } from 'aws-cdk-lib';
import type { EnvironmentDefinition } from '../../../lambda/shared/environments';

export interface StatefulPolicy {
  /** For data that can be restored from a snapshot (the Aurora cluster). */
  readonly snapshotRemovalPolicy: RemovalPolicy;
  /** For data without snapshots (buckets, the ledger table, KMS keys). */
  readonly removalPolicy: RemovalPolicy;
  /** Deletion protection on databases and tables. */
  readonly deletionProtection: boolean;
  /** Empty buckets on stack deletion, so a destroyable environment leaves nothing behind. */
  readonly autoDeleteObjects: boolean;
}

const RETAIN: StatefulPolicy = {
  snapshotRemovalPolicy: RemovalPolicy.SNAPSHOT,
  // RetainExceptOnCreate: kept on delete and replacement, but removed when the create that made it
  // rolls back (it holds nothing yet). With plain Retain a failed first deploy would leave the
  // fixed-name landing bucket behind and every retry would fail with "already exists"
  // (docs/deployability.md; CloudFormation DeletionPolicy attribute, RetainExceptOnCreate).
  removalPolicy: RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE,
  deletionProtection: true,
  autoDeleteObjects: false,
};

const DESTROY: StatefulPolicy = {
  snapshotRemovalPolicy: RemovalPolicy.DESTROY,
  removalPolicy: RemovalPolicy.DESTROY,
  deletionProtection: false,
  autoDeleteObjects: true,
};

/** docs/design.md "Teardown and cost": a protected environment keeps its data; the others can be destroyed. */
export function statefulPolicy(env: Pick<EnvironmentDefinition, 'protected'>): StatefulPolicy {
  return env.protected ? RETAIN : DESTROY;
}
