import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import type { BiomesConfig, EnvName } from '../../config';

export interface DeployTriggerProps {
  readonly config: BiomesConfig;
  readonly envName: EnvName;
  /** Replication destination; EventBridge notifications must be on. */
  readonly landingBucket: s3.IBucket;
  /** Deployment ledger: partition key `pk` (string), sort key `sk` (string). */
  readonly ledger: dynamodb.ITable;
  /** Bucket of the multi-model endpoint's model location. */
  readonly modelBucket: s3.IBucket;
  /** Key prefix of the model location, ending in `/` (e.g. `models/`). */
  readonly modelPrefix: string;
  /** Name of the shared multi-model endpoint (for warm-up invocations). */
  readonly endpointName: string;
}

/** EventBridge `Object Created` on the landing bucket -> deploy-trigger Lambda (DESIGN.md "The deploy trigger"). */
export class DeployTrigger extends Construct {
  constructor(scope: Construct, id: string, _props: DeployTriggerProps) {
    super(scope, id);
  }
}
