/**
 * One deployable microservice of a biome: a Lambda function behind alias `live`, its log group, and
 * the registration the deploy trigger reads (DESIGN.md "The deploy trigger").
 */
import { Duration, RemovalPolicy, Stack, Tags, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { Construct } from 'constructs';
import {
  LIVE_ALIAS,
  type ServiceRegistration,
  serviceRegistrationName,
  SMOKE_EVENT,
  TAGS,
} from '../../../lambda/shared/contracts';
import type { ServiceName } from '../../../lambda/services';
import { HANDLER, LAMBDA_RUNTIME, LambdaBundles } from '../../bundling/bundler';
import type { BiomesConfig, EnvName } from '../../config';

/** What a biome tells its services; each service picks the settings it reads through its env module. */
export interface BiomeSettings {
  readonly app: string;
  readonly env: string;
  readonly biome: string;
  readonly dbClusterArn: string;
  readonly dbSecretArn: string;
  readonly dbName: string;
  readonly endpointName: string;
  readonly modelPointerParameter: string;
}

/** A service's env module (`lambda/<service>/env.ts`): which settings it reads, under which variable names. */
export type ServiceEnvNames = { readonly [K in keyof BiomeSettings]?: string };

export interface MicroserviceProps {
  readonly config: BiomesConfig;
  readonly envName: EnvName;
  readonly biome: string;
  /** The service: its code is `lambda/<service>/`. */
  readonly service: ServiceName;
  readonly settings: BiomeSettings;
  /** The service's env module, e.g. `INGEST_ENV` of `lambda/ingest/env.ts`. */
  readonly envNames: ServiceEnvNames;
  /** @default Duration.seconds(60): long enough for the Data API to ride out an Aurora resume. */
  readonly timeout?: Duration;
  /** @default 256 */
  readonly memorySize?: number;
  /**
   * Who puts code live. `pipeline`: CloudFormation deploys a fixed bootstrap that serves nothing and
   * never touches the code or alias `live` again, so only the deploy trigger (a commit, smoke-checked,
   * in the ledger) changes what runs: every environment's `main`. `cdk`: the code bundled from the
   * working tree goes live on `cdk deploy` (and `--hotswap`), for a developer iterating in a sandpit.
   * @default 'cdk'
   */
  readonly codeOwner?: CodeOwner;
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
    const { config, envName, biome, service } = props;

    this.logGroup = new logs.LogGroup(this, 'Logs', {
      retention: logRetention(config.environments[envName].logRetentionDays),
      removalPolicy: RemovalPolicy.DESTROY,
    });

    // An own role instead of the AWSLambdaBasicExecutionRole managed policy: it may write to this
    // log group only.
    const role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `Biomes ${envName}/${biome}: ${service} service`,
    });
    this.logGroup.grantWrite(role);

    const environment: Record<string, string> = {};
    for (const [key, name] of Object.entries(props.envNames) as [keyof BiomeSettings, string][]) {
      environment[name] = props.settings[key];
    }

    const pipelineOwned = props.codeOwner === 'pipeline';
    this.function = new lambda.Function(this, 'Function', {
      description: `Biomes ${envName}/${biome}: ${service} service (code deployed by the ${pipelineOwned ? 'deploy trigger' : 'deploy trigger or cdk deploy'})`,
      code: pipelineOwned
        ? lambda.Code.fromInline(bootstrapCode(service))
        : LambdaBundles.instance().code(service),
      handler: HANDLER,
      runtime: LAMBDA_RUNTIME,
      architecture: lambda.Architecture.ARM_64,
      memorySize: props.memorySize ?? 256,
      timeout: props.timeout ?? Duration.seconds(60),
      logGroup: this.logGroup,
      role,
      environment,
    });
    Validations.of(this.function).acknowledge({
      id: 'AwsSolutions-L1',
      reason:
        'Node.js 22 is the house Lambda runtime (STYLE.md), matched by the esbuild target of the shared bundler; a runtime bump is a deliberate change for all functions at once.',
    });
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

    const registration: ServiceRegistration = {
      functionName: this.function.functionName,
      alias: LIVE_ALIAS,
      smokeCheck: { payload: { ...SMOKE_EVENT } },
    };
    // A fixed name is the contract: the deploy trigger finds the service by biome and service name.
    this.registration = new ssm.StringParameter(this, 'Registration', {
      parameterName: serviceRegistrationName(config.appName, envName, biome, service),
      description: `Biomes ${envName}/${biome}: deploy-trigger registration of service ${service}`,
      stringValue: Stack.of(this).toJsonString(registration),
    });
    // The trigger moves the alias it reads here, so the alias must exist before the registration does.
    this.registration.node.addDependency(this.live);
  }
}

/** CloudWatch Logs accepts only some retention periods; refuse the others at synth, naming the key. */
export function logRetention(days: number): logs.RetentionDays {
  const allowed = Object.values(logs.RetentionDays).filter((v): v is number => typeof v === 'number');
  if (!allowed.includes(days)) {
    throw new Error(
      `environments.<env>.logRetentionDays: ${days} is not a CloudWatch Logs retention period; use one of ${allowed.filter((d) => d > 0).join(', ')}.`,
    );
  }
  return days as logs.RetentionDays;
}
