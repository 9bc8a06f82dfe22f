import { Construct } from 'constructs';
import type { BiomesConfig, EnvName } from '../../config';

export interface ModelNamespaceProps {
  readonly config: BiomesConfig;
  readonly envName: EnvName;
  readonly biome: string;
  /** Name of the model location bucket (from the shared stack's SSM parameter). */
  readonly modelBucketName: string;
  /** Key prefix of the model location, ending in `/` (from the shared stack's SSM parameter). */
  readonly modelPrefix: string;
  /** Models this biome serves (each has `models/<name>/` in the repository). */
  readonly models: readonly string[];
}

/** The biome's namespace on the shared multi-model endpoint: registrations, pointers, cleanup on delete. */
export class ModelNamespace extends Construct {
  constructor(scope: Construct, id: string, _props: ModelNamespaceProps) {
    super(scope, id);
  }
}
