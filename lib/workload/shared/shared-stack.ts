import { Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import type { BiomesConfig, EnvName } from '../../config';

export interface SharedStackProps extends StackProps {
  readonly config: BiomesConfig;
  readonly envName: EnvName;
}

/** One per workload account: what is expensive or stateful, shared by every biome of the environment. */
export class SharedStack extends Stack {
  /** Lambda folders (under lambda/) this stack bundles. */
  static readonly FUNCTIONS: readonly string[] = [];

  constructor(scope: Construct, id: string, props: SharedStackProps) {
    super(scope, id, props);
  }
}
