import * as ssm from 'aws-cdk-lib/aws-ssm';
import { Construct } from 'constructs';
import { type SharedParameter, sharedParameterName } from '../../../lambda/shared/contracts';
import type { BiomesConfig, EnvName } from '../../config';

export interface SharedParametersProps {
  readonly config: BiomesConfig;
  readonly envName: EnvName;
  /** A value for every shared parameter of the contract; the type makes a missing one a compile error. */
  readonly values: Readonly<Record<SharedParameter, string>>;
}

/**
 * Publishes the shared resources to biome stacks as SSM parameters under `/<app>/<env>/shared/...`
 * (DESIGN.md "Shared stack <-> biome stack contract"). Never CloudFormation exports: an export in use
 * would block every later change of the shared stack.
 */
export class SharedParameters extends Construct {
  readonly parameters: Readonly<Record<SharedParameter, ssm.StringParameter>>;

  constructor(scope: Construct, id: string, props: SharedParametersProps) {
    super(scope, id);
    const { config, envName } = props;
    const entries = (Object.keys(props.values) as SharedParameter[]).map((key) => {
      const parameter = new ssm.StringParameter(this, key, {
        parameterName: sharedParameterName(config.appName, envName, key),
        stringValue: props.values[key],
        description: `Biomes ${envName} shared resource, read by biome stacks at deploy time`,
      });
      return [key, parameter] as const;
    });
    this.parameters = Object.fromEntries(entries) as Record<SharedParameter, ssm.StringParameter>;
  }
}
