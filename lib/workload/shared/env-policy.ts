/**
 * The one place that decides, by environment, how stateful resources of the shared stack behave on
 * deletion (STYLE.md "Stateful apart from stateless"). Constructs ask here instead of testing
 * `envName === 'prod'` themselves, so dev/staging/prod differ in exactly one table.
 */
import { RemovalPolicy } from 'aws-cdk-lib';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { EnvName } from '../../config';

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
  removalPolicy: RemovalPolicy.RETAIN,
  deletionProtection: true,
  autoDeleteObjects: false,
};

const DESTROY: StatefulPolicy = {
  snapshotRemovalPolicy: RemovalPolicy.DESTROY,
  removalPolicy: RemovalPolicy.DESTROY,
  deletionProtection: false,
  autoDeleteObjects: true,
};

/** DESIGN.md "Teardown and cost": prod keeps its data; dev and staging can be destroyed. */
const POLICY_BY_ENV: Record<EnvName, StatefulPolicy> = {
  dev: DESTROY,
  staging: DESTROY,
  prod: RETAIN,
};

export function statefulPolicy(envName: EnvName): StatefulPolicy {
  return POLICY_BY_ENV[envName];
}

/**
 * CloudWatch Logs accepts only certain retention periods; the config takes any day count, so round
 * up to the next accepted one (never keep logs for less time than asked).
 */
export function logRetention(days: number): logs.RetentionDays {
  const allowed = Object.values(logs.RetentionDays)
    .filter((v): v is number => typeof v === 'number' && v !== logs.RetentionDays.INFINITE)
    .sort((a, b) => a - b);
  const fit = allowed.find((v) => v >= days);
  return (fit ?? logs.RetentionDays.INFINITE) as logs.RetentionDays;
}
