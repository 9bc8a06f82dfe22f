import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';
import type { EnvName } from '../../config';
import { statefulPolicy } from './env-policy';
import { PINNED_LOGICAL_IDS, pinLogicalId } from './logical-ids';

/** Key attribute names of the ledger; the deploy trigger defines the item layout on them. */
export const LEDGER_PARTITION_KEY = 'pk';
export const LEDGER_SORT_KEY = 'sk';

export interface LedgerProps {
  readonly envName: EnvName;
}

/** The deployment ledger: every outcome of the deploy trigger (DESIGN.md step 5). */
export class Ledger extends Construct {
  readonly table: dynamodb.TableV2;

  constructor(scope: Construct, id: string, props: LedgerProps) {
    super(scope, id);
    const policy = statefulPolicy(props.envName);
    this.table = new dynamodb.TableV2(this, 'Table', {
      partitionKey: { name: LEDGER_PARTITION_KEY, type: dynamodb.AttributeType.STRING },
      sortKey: { name: LEDGER_SORT_KEY, type: dynamodb.AttributeType.STRING },
      // Deploys are bursty and rare: pay per request, nothing when idle.
      billing: dynamodb.Billing.onDemand(),
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: dynamodb.TableEncryptionV2.awsManagedKey(),
      deletionProtection: policy.deletionProtection,
      removalPolicy: policy.removalPolicy,
    });
    pinLogicalId(this.table, PINNED_LOGICAL_IDS.ledgerTable);
  }
}
