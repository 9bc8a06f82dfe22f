import type * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import type { BiomesConfig, EnvName } from '../../config';

export interface BiomeDatabaseProps {
  readonly config: BiomesConfig;
  readonly envName: EnvName;
  readonly biome: string;
  /** ARN of the shared Aurora cluster (from the shared stack's SSM parameter). */
  readonly clusterArn: string;
  /** ARN of the cluster's master secret (from the shared stack's SSM parameter). */
  readonly masterSecretArn: string;
}

/** The biome's own database and role inside the shared Aurora cluster, created and dropped with the biome stack. */
export class BiomeDatabase extends Construct {
  constructor(scope: Construct, id: string, _props: BiomeDatabaseProps) {
    super(scope, id);
  }

  /** Lets `grantee` run SQL in this biome's database (and no other) through the RDS Data API. */
  grantDataAccess(_grantee: iam.IGrantable): void {}
}
