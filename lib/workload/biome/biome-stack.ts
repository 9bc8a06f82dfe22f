import { Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import type { BiomesConfig, EnvName } from '../../config';

export interface BiomeStackProps extends StackProps {
  readonly config: BiomesConfig;
  readonly envName: EnvName;
  readonly biome: string;
}

/** One per biome: cheap, serverless, and destroyed without a trace. */
export class BiomeStack extends Stack {
  /** Lambda folders (under lambda/) this stack bundles. */
  static readonly FUNCTIONS: readonly string[] = [];

  constructor(scope: Construct, id: string, props: BiomeStackProps) {
    super(scope, id, props);
  }
}
