import { Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import type { BiomesConfig } from '../config';

export interface DevopsStackProps extends StackProps {
  readonly config: BiomesConfig;
}

/** The DevOps account: pipelines, the shared build, release buckets replicating to each workload account. */
export class DevopsStack extends Stack {
  constructor(scope: Construct, id: string, props: DevopsStackProps) {
    super(scope, id, props);
  }
}
