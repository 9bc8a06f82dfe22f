import * as ssm from 'aws-cdk-lib/aws-ssm';
import { Construct } from 'constructs';
import type { EnvScope, SandpitParameter, SharedParameter } from '../../../lambda/shared/scope';

export interface SharedParametersProps {
  /** App and environment: the parameters live under `/<app>/<env>/shared/`. */
  readonly names: EnvScope;
  /**
   * A value for every shared parameter of the contract (the type makes a missing one a compile error),
   * and the sandpit ones where the environment hosts sandpits.
   */
  readonly values: Readonly<Record<Exclude<SharedParameter, SandpitParameter>, string>> &
    Partial<Readonly<Record<SandpitParameter, string>>>;
}

/**
 * Publishes the shared resources to biome stacks as SSM parameters under `/<app>/<env>/shared/...`
 * (docs/design.md "Shared stack <-> biome stack contract"). Never CloudFormation exports: an export in use
 * would block every later change of the shared stack.
 */
export class SharedParameters extends Construct {
  readonly parameters: Partial<Readonly<Record<SharedParameter, ssm.StringParameter>>>;

  constructor(scope: Construct, id: string, props: SharedParametersProps) {
    super(scope, id);
    const { names } = props;
    const values: Partial<Record<SharedParameter, string>> = props.values;
    const entries = (Object.keys(values) as SharedParameter[]).flatMap((key) => {
      const value = values[key];
      if (value === undefined) return [];
      const parameter = new ssm.StringParameter(this, key, {
        parameterName: names.sharedParameter(key),
        stringValue: value,
        description: `Biomes ${names.env} shared resource, read by biome stacks at deploy time`,
      });
      return [[key, parameter] as const];
    });
    this.parameters = Object.fromEntries(entries);
  }
}
