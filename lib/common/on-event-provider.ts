/**
 * A custom resource provider (CDK Provider framework) around one of our onEvent functions, in house
 * style: explicit log groups destroyed with the stack, and roles without managed policies, so the only
 * permissions are the ones the owning construct adds to {@link OnEventProvider.role}.
 */
import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as cr from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import { HANDLER, LAMBDA_RUNTIME, LambdaBundles } from '../bundling/bundler';
import { acknowledgePolicyWildcards } from './nag';

export interface OnEventProviderProps {
  /** Folder under `lambda/` holding the onEvent handler. */
  readonly functionFolder: string;
  readonly description: string;
  /** How long the function's and the framework's logs are kept. */
  readonly logRetention: logs.RetentionDays;
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
    const logGroup = (name: string) =>
      new logs.LogGroup(this, name, { retention: props.logRetention, removalPolicy: RemovalPolicy.DESTROY });
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
    });

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
    Validations.of(this).acknowledge({
      id: 'AwsSolutions-L1',
      reason:
        'Runtimes are chosen deliberately: our function uses the project-wide LAMBDA_RUNTIME and the CDK Provider framework picks its own.',
    });
  }
}
