/**
 * One deployable microservice of a biome: a Lambda function behind alias `live`, its log group, and
 * the registration the deploy trigger reads (docs/design.md "The deploy trigger"). What it is given
 * (environment, grants) comes from its entry in the service registry, through the biome stack.
 */
import { Duration, Stack, Tags } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { Construct } from 'constructs';
import { LIVE_ALIAS, type ServiceRegistration, SMOKE_EVENT, TAGS } from '../../../lambda/shared/contracts';
import type { BiomeScope } from '../../../lambda/shared/scope';
import { HANDLER, LAMBDA_RUNTIME, LambdaBundles } from '../../bundling/bundler';
import { acknowledgeFunctionDecisions, acknowledgeTracingGrant } from '../../common/functions';
import { type LogSettings, newLogGroup } from '../../common/logs';
import type { ReleaseCanary } from './service-canary';

/** Defaults of a service that declares no size (lambda/services.ts documents them). */
export const DEFAULT_MEMORY_MB = 256;
export const DEFAULT_TIMEOUT_SECONDS = 60;

export interface MicroserviceProps {
  /** App, environment and biome the service belongs to. */
  readonly names: BiomeScope;
  /** The service: its code is `lambda/<service>/`. */
  readonly service: string;
  /** The function's environment (lambda/shared/settings.ts names the variables). */
  readonly environment: Readonly<Record<string, string>>;
  /** How long the function's logs are kept. */
  /** How its log groups are kept and encrypted. */
  readonly logs: LogSettings;
  /** @default DEFAULT_TIMEOUT_SECONDS */
  readonly timeout?: Duration;
  /** @default DEFAULT_MEMORY_MB */
  readonly memorySize?: number;
  /**
   * Who puts code live. `pipeline`: CloudFormation deploys a fixed bootstrap that serves nothing and
   * never touches the code or alias `live` again, so only the deploy trigger (a commit, smoke-checked,
   * in the ledger) changes what runs: every environment's `main`. `cdk`: the code bundled from the
   * working tree goes live on `cdk deploy` (and `--hotswap`), for a developer iterating in a sandpit.
   * @default 'cdk'
   */
  readonly codeOwner?: CodeOwner;
  /**
   * Where the environment releases `main` by canary: the deployment group and alarms of this service
   * join it, and the registration tells the deploy trigger to start a deployment instead of moving `live`.
   * @default - `live` moves at once after the smoke check
   */
  readonly canary?: ReleaseCanary;
}

export type CodeOwner = 'pipeline' | 'cdk';

/**
 * The code a pipeline-owned service starts with: it refuses every call, naming what to do, until the
 * deploy trigger puts a release live. CommonJS inline code: stable bytes, so CloudFormation never
 * sees a code change and never resets what the trigger deployed.
 */
export function bootstrapCode(service: string): string {
  const message = `No release of service ${service} is live in this biome yet: push to the release branch (or sandpit/<biome>) and let the pipeline publish one.`;
  return [
    '"use strict";',
    `const MESSAGE = ${JSON.stringify(message)};`,
    'exports.handler = async (event) => {',
    '  if (event && event.smoke === true) return { ok: false, detail: MESSAGE };',
    '  const error = new Error(MESSAGE);',
    "  error.name = 'NoReleaseDeployed';",
    '  throw error;',
    '};',
    '',
  ].join('\n');
}

export class Microservice extends Construct {
  readonly function: lambda.Function;
  /** Alias `live`: the only thing that serves traffic; the deploy trigger moves it. */
  readonly live: lambda.Alias;
  readonly logGroup: logs.LogGroup;
  readonly registration: ssm.StringParameter;

  constructor(scope: Construct, id: string, props: MicroserviceProps) {
    super(scope, id);
    const { service } = props;
    const { env: envName, biome } = props.names;

    this.logGroup = newLogGroup(this, 'Logs', props.logs);

    // An own role instead of the AWSLambdaBasicExecutionRole managed policy: it may write to this
    // log group only.
    const role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `Biomes ${envName}/${biome}: ${service} service`,
    });
    this.logGroup.grantWrite(role);

    const pipelineOwned = props.codeOwner === 'pipeline';
    this.function = new lambda.Function(this, 'Function', {
      description: `Biomes ${envName}/${biome}: ${service} service (code deployed by the ${pipelineOwned ? 'deploy trigger' : 'deploy trigger or cdk deploy'})`,
      code: pipelineOwned
        ? lambda.Code.fromInline(bootstrapCode(service))
        : LambdaBundles.of(this).code(service),
      handler: HANDLER,
      runtime: LAMBDA_RUNTIME,
      architecture: lambda.Architecture.ARM_64,
      memorySize: props.memorySize ?? DEFAULT_MEMORY_MB,
      timeout: props.timeout ?? Duration.seconds(DEFAULT_TIMEOUT_SECONDS),
      logGroup: this.logGroup,
      role,
      environment: { ...props.environment },
      tracing: lambda.Tracing.ACTIVE,
    });
    // Invoked by the workflow's tasks and the deploy trigger's smoke check, both waiting for the answer.
    acknowledgeFunctionDecisions(this.function, 'synchronous');
    acknowledgeTracingGrant(role);
    // The deploy trigger may update only functions tagged deployable (and of its app and env).
    Tags.of(this.function).add(TAGS.deployable, 'true');

    this.live = new lambda.Alias(this, 'Live', {
      aliasName: LIVE_ALIAS,
      // Pipeline-owned: one version of the bootstrap, created once; its properties never change, so
      // CloudFormation never moves the alias off what the deploy trigger made live.
      version: pipelineOwned
        ? new lambda.Version(this, 'Bootstrap', {
            lambda: this.function,
            description: 'bootstrap: no release deployed yet',
          })
        : this.function.currentVersion,
    });

    const canary = props.canary?.addService(service, this.live);
    const registration: ServiceRegistration = {
      functionName: this.function.functionName,
      alias: LIVE_ALIAS,
      smokeCheck: { payload: { ...SMOKE_EVENT } },
      ...(canary ? { canary } : {}),
    };
    // A fixed name is the contract: the deploy trigger finds the service by biome and service name.
    this.registration = new ssm.StringParameter(this, 'Registration', {
      parameterName: props.names.serviceRegistration(service),
      description: `Biomes ${envName}/${biome}: deploy-trigger registration of service ${service}`,
      stringValue: Stack.of(this).toJsonString(registration),
    });
    // The trigger moves the alias it reads here, so the alias must exist before the registration does.
    this.registration.node.addDependency(this.live);
  }
}
