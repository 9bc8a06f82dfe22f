/**
 * A custom resource provider (CDK Provider framework) around one of our onEvent functions, in house
 * style: explicit log groups destroyed with the stack, and roles without managed policies, so the only
 * permissions are the ones the owning construct adds to {@link OnEventProvider.role}.
 */
import { Duration } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as cr from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import { HANDLER, LAMBDA_RUNTIME, LambdaBundles } from '../bundling/bundler';
import {
  acknowledgeFunctionDecisions,
  acknowledgeProviderFramework,
  acknowledgeTracingGrant,
} from './functions';
import { acknowledgePolicyWildcards } from './nag';
import { type LogSettings, newLogGroup } from './logs';

export interface OnEventProviderProps {
  /** Folder under `lambda/` holding the onEvent handler. */
  readonly functionFolder: string;
  readonly description: string;
  /** How long the function's and the framework's logs are kept. */
  /** How its log groups are kept and encrypted. */
  readonly logs: LogSettings;
  /** @default Duration.minutes(5) */
  readonly timeout?: Duration;
}

export class OnEventProvider extends Construct {
  readonly function: lambda.Function;
  /** Role of the onEvent function: grant it exactly what the handler calls. */
  readonly role: iam.Role;
  readonly serviceToken: string;

  constructor(scope: Construct, id: string, props: OnEventProviderProps) {
    super(scope, id);
    const logGroup = (name: string) => newLogGroup(this, name, props.logs);
    const role = (name: string) =>
      new iam.Role(this, name, { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });

    const fnLogs = logGroup('OnEventLogs');
    this.role = role('OnEventRole');
    fnLogs.grantWrite(this.role);
    this.function = new lambda.Function(this, 'OnEvent', {
      description: props.description,
      code: LambdaBundles.of(this).code(props.functionFolder),
      handler: HANDLER,
      runtime: LAMBDA_RUNTIME,
      architecture: lambda.Architecture.ARM_64,
      memorySize: 256,
      timeout: props.timeout ?? Duration.minutes(5),
      role: this.role,
      logGroup: fnLogs,
      tracing: lambda.Tracing.ACTIVE,
    });
    // The Provider framework calls it and waits for its answer.
    acknowledgeFunctionDecisions(this.function, 'synchronous');
    acknowledgeTracingGrant(this.role);

    const frameworkLogs = logGroup('FrameworkLogs');
    const frameworkRole = role('FrameworkRole');
    frameworkLogs.grantWrite(frameworkRole);
    const provider = new cr.Provider(this, 'Provider', {
      onEventHandler: this.function,
      logGroup: frameworkLogs,
      frameworkOnEventRole: frameworkRole,
    });
    this.serviceToken = provider.serviceToken;

    acknowledgePolicyWildcards(
      frameworkRole,
      "The CDK Provider framework invokes any version of this construct's own onEvent function (<function arn>:*).",
    );
    acknowledgeProviderFramework(provider);
  }
}
