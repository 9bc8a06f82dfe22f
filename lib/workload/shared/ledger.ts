import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';
import {
  LEDGER_PARTITION_KEY,
  LEDGER_SORT_KEY,
  LIVE_INDEX,
} from '../../../lambda/deploy-trigger/ledger-keys';
import type { StatefulPolicy } from './env-policy';
import { PINNED_LOGICAL_IDS, pinLogicalId } from './logical-ids';

export { LEDGER_PARTITION_KEY, LEDGER_SORT_KEY };

export interface LedgerProps {
  /** Retention and deletion protection of the table (by environment). */
  readonly policy: StatefulPolicy;
}

/**
 * The deployment ledger: every outcome of the deploy trigger (docs/design.md "The deploy trigger",
 * step 5). The key attribute names come from the trigger's own module, which defines the item layout.
 */
export class Ledger extends Construct {
  readonly table: dynamodb.TableV2;

  constructor(scope: Construct, id: string, props: LedgerProps) {
    super(scope, id);
    const { policy } = props;
    this.table = new dynamodb.TableV2(this, 'Table', {
      partitionKey: { name: LEDGER_PARTITION_KEY, type: dynamodb.AttributeType.STRING },
      sortKey: { name: LEDGER_SORT_KEY, type: dynamodb.AttributeType.STRING },
      // Deploys are bursty and rare: pay per request, nothing when idle.
      billing: dynamodb.Billing.onDemand(),
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: dynamodb.TableEncryptionV2.awsManagedKey(),
      deletionProtection: policy.deletionProtection,
      removalPolicy: policy.removalPolicy,
      // Sparse: only live records and sandpit records carry its keys, so one Query of its one partition
      // is "what is live across the environment, with owners and expiries" (ledger-keys.ts).
      globalSecondaryIndexes: [
        {
          indexName: LIVE_INDEX.name,
          partitionKey: { name: LIVE_INDEX.partitionKey, type: dynamodb.AttributeType.STRING },
          sortKey: { name: LIVE_INDEX.sortKey, type: dynamodb.AttributeType.STRING },
          projectionType: dynamodb.ProjectionType.ALL,
        },
      ],
    });
    pinLogicalId(this.table, PINNED_LOGICAL_IDS.ledgerTable);
  }
}
