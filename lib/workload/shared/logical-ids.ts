import type { CfnResource } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';

/**
 * Logical ids of the shared stack's stateful resources, pinned: a changed logical id makes
 * CloudFormation replace the resource, and replacing the cluster, the ledger, the (named) landing
 * bucket or a key loses data. Each construct pins its own resources; tests assert the ids stay.
 */
export const PINNED_LOGICAL_IDS = {
  landingBucket: 'LandingBucket',
  landingKey: 'LandingKey',
  ledgerTable: 'LedgerTable',
  databaseCluster: 'DatabaseCluster',
  databaseKey: 'DatabaseKey',
  modelBucket: 'ModelBucket',
  modelKey: 'ModelKey',
  /** Logs encrypted with it stay readable only while it exists. */
  logsKey: 'LogsKey',
} as const;

/** Pins the logical id of an L2's CloudFormation resource. */
export function pinLogicalId(
  construct: IConstruct,
  id: (typeof PINNED_LOGICAL_IDS)[keyof typeof PINNED_LOGICAL_IDS],
): void {
  (construct.node.defaultChild as CfnResource).overrideLogicalId(id);
}
