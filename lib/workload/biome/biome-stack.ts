import {
  CfnDynamicReference,
  CfnDynamicReferenceService,
  Duration,
  Stack,
  type StackProps,
} from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import type { Construct } from 'constructs';
import { SERVICES, type ServiceDeclaration, type ServiceRegistry } from '../../../lambda/services';
import { MAINLINE_BIOME, artifactFileName } from '../../../lambda/shared/grammar';
import { BiomeScope, type SharedParameter } from '../../../lambda/shared/scope';
import { SERVICE_ENV, modelPointerVariable } from '../../../lambda/shared/settings';
import { LambdaBundles } from '../../bundling/bundler';
import { type LogSettings, logRetention } from '../../common/logs';
import { unprotectedLogsReason } from '../shared/shared-stack';
import * as kms from 'aws-cdk-lib/aws-kms';
import { type BiomesConfig, environmentOf } from '../../config';
import { BiomeDatabase } from './biome-database';
import { DEFAULT_TIMEOUT_SECONDS, Microservice } from './microservice';
import { ModelNamespace } from './model-namespace';
import { TrainWorkflow } from './train-workflow';
import { inferenceBaseImage } from '../shared/inference-image';
import { discoverModels } from './models';
import { biomeFunctions, checkServiceRegistry, retryableErrors } from './service-registry';
import { BiomeWorkflow, WORKFLOW_SERVICES } from './workflow';
import { ReleaseVerifier } from './release-verifier';
import { SandpitRecord } from './sandpit-record';
import { ReleaseCanary } from './service-canary';
import { verifyProjectRoleArn } from '../../naming';

export interface BiomeStackProps extends StackProps {
  readonly config: BiomesConfig;
  /** The environment (one of `config.environments`). */
  readonly envName: string;
  readonly biome: string;
  /** The microservices of the biome. @default SERVICES of lambda/services.ts */
  readonly services?: ServiceRegistry;
  /** Models the biome serves. @default the folders under `models/` of the repository */
  readonly models?: readonly string[];
  /**
   * A sandpit: its owner and lifetime, and what its CDK deploy puts live (for the ledger). Absent for
   * `main`, which the release pipeline deploys.
   * @default - the mainline biome
   */
  readonly sandpit?: SandpitProps;
}

/** A sandpit's owner, lifetime and source (lib/config.ts SandpitLifetime, plus the working tree). */
export interface SandpitProps {
  readonly owner: string;
  readonly ttlDays: number;
  readonly keep: boolean;
  /** The commit deployed; undefined outside a Git tree. */
  readonly commit?: string;
  /** The working tree had uncommitted changes. */
  readonly dirty: boolean;
}

/**
 * What watches each model after its pointer moves: the errors alarms (lib/workload/biome/service-canary.ts)
 * of the services that declare the model; a model no service declares has nothing to watch, so no bake.
 */
export function modelBakes(
  registry: ServiceRegistry,
  models: readonly string[],
  names: BiomeScope,
  minutes: number,
): Record<string, { minutes: number; alarms: string[] }> {
  return Object.fromEntries(
    models.flatMap((model) => {
      const alarms = Object.entries(registry)
        .filter(([, d]) => d.models?.includes(model))
        .map(([service]) => names.serviceAlarmName(service, 'errors'));
      return alarms.length > 0 ? [[model, { minutes, alarms }]] : [];
    }),
  );
}

/** One per biome: cheap, serverless, and destroyed without a trace. */
export class BiomeStack extends Stack {
  /** Lambda folders (under lambda/) a biome stack with `services` bundles. */
  static functions(
    services: ServiceRegistry = SERVICES,
    models: readonly string[] = discoverModels(),
  ): string[] {
    return biomeFunctions(services, models);
  }

  readonly names: BiomeScope;
  readonly services: Readonly<Record<string, Microservice>>;
  readonly database: BiomeDatabase;
  readonly models: ModelNamespace;
  readonly workflow: BiomeWorkflow;
  /** Retrains the biome's models on the biome's own data (absent when it serves none). */
  readonly train?: TrainWorkflow;
  /** A sandpit's ledger record and owner subscription. */
  readonly sandpit?: SandpitRecord;
  /** CodeDeploy canaries of the services (and the alarms that also bake models): `main` of a canary environment. */
  readonly canary?: ReleaseCanary;
  /** The read-and-verify role of the release pipeline: in each environment's `main` only. */
  readonly releaseVerifier?: ReleaseVerifier;

  constructor(scope: Construct, id: string, props: BiomeStackProps) {
    super(scope, id, props);
    const { config, biome } = props;
    // Everything per environment is resolved here, once; constructs get values, not the config.
    const environment = environmentOf(config, props.envName);
    const names = new BiomeScope(config.appName, environment.name, biome);
    this.names = names;
    const registry: ServiceRegistry = props.services ?? SERVICES;
    const models = props.models ?? discoverModels();
    checkServiceRegistry(registry, { lambdaRoot: LambdaBundles.of(this).lambdaRoot, models });

    // Shared resources are read at deploy time from the shared stack's parameters: never exports
    // (an export in use would block every change of the shared stack), never lookups (no account at synth).
    const shared = (key: SharedParameter) =>
      ssm.StringParameter.valueForStringParameter(this, names.envScope.sharedParameter(key));
    const clusterArn = shared('dbClusterArn');
    // The environment's logs key, from the shared stack (biome stacks own no key: they stay free).
    const logs: LogSettings = {
      retention: logRetention(environment.logRetentionDays),
      // A dynamic reference, resolved by CloudFormation at deploy: the template holds the string
      // '{{resolve:ssm:...}}', which Control Tower's rule (CT.CLOUDWATCH.PR.3 wants a key ARN string or
      // a key of the same template) accepts; a template parameter would be a Ref to a non-key.
      key: kms.Key.fromKeyArn(
        this,
        'LogsKey',
        new CfnDynamicReference(
          CfnDynamicReferenceService.SSM,
          names.envScope.sharedParameter('logsKeyArn'),
        ).toString(),
      ),
      ...(environment.protected ? {} : { shortRetentionReason: unprotectedLogsReason(environment.name) }),
    };
    const endpointName = shared('endpointName');

    this.database = new BiomeDatabase(this, 'Database', {
      names,
      protected: environment.protected,
      logs,
      clusterArn,
      masterSecretArn: shared('dbMasterSecretArn'),
      ...(props.sandpit ? { sharedServiceToken: shared('sandpitDatabaseToken') } : {}),
    });
    this.models = new ModelNamespace(this, 'Models', {
      names,
      protected: environment.protected,
      logs,
      modelBucketName: () => shared('modelBucketName'),
      modelPrefix: () => shared('modelPrefix'),
      models,
      ...(biome === MAINLINE_BIOME && environment.canary
        ? { bake: modelBakes(registry, models, names, environment.canary.bakeMinutes) }
        : {}),
    });

    // Progressive delivery of `main` where the environment asks for it (README "When a release goes wrong").
    this.canary =
      biome === MAINLINE_BIOME && environment.canary
        ? new ReleaseCanary(this, 'Canary', {
            names,
            canary: environment.canary,
            alertsTopicArn: shared('alertsTopicArn'),
          })
        : undefined;
    const services: Record<string, Microservice> = {};
    for (const [name, declaration] of Object.entries(registry)) {
      const service = new Microservice(this, `Service-${name}`, {
        names,
        service: name,
        environment: this.serviceEnvironment(declaration, endpointName),
        logs,
        memorySize: declaration.memorySize,
        timeout: Duration.seconds(declaration.timeoutSeconds ?? DEFAULT_TIMEOUT_SECONDS),
        // `main` runs only what the pipeline released (traceable to a commit); sandpits run what
        // their developer deploys, too.
        codeOwner: biome === MAINLINE_BIOME ? 'pipeline' : 'cdk',
        ...(this.canary ? { canary: this.canary } : {}),
      });
      this.grantNeeds(service, declaration, endpointName);
      services[name] = service;
    }
    this.services = services;

    const live = (n: (typeof WORKFLOW_SERVICES)[number]) => {
      const service = services[n];
      if (!service) {
        throw new Error(
          `Biome ${biome}: the workflow calls service "${n}", which lambda/services.ts does not declare; add it back or change lib/workload/biome/workflow.ts.`,
        );
      }
      return service.live;
    };
    this.workflow = new BiomeWorkflow(this, 'Workflow', {
      names,
      named: props.sandpit !== undefined,
      logs,
      retryableErrors: retryableErrors(registry, WORKFLOW_SERVICES),
      ingest: live('ingest'),
      predict: live('predict'),
    });
    // Where the release's integration test finds the workflow (the state machine's name is generated).
    const workflowArn = new ssm.StringParameter(this, 'WorkflowArn', {
      parameterName: names.workflowArnParameter,
      stringValue: this.workflow.stateMachine.stateMachineArn,
      description: `Biomes ${names.env}/${biome}: the biome's workflow`,
    });

    if (models.length > 0) {
      // Retraining in the environment from the promoted code (models/README.md "Retraining"): a
      // standard state machine and one function, nothing billed while idle.
      this.train = new TrainWorkflow(this, 'Train', {
        names,
        logs,
        models,
        pointers: Object.fromEntries(models.map((m) => [m, this.models.pointerParameter(m)])),
        modelBucketName: shared('modelBucketName'),
        modelKeyArn: shared('modelKeyArn'),
        landingBucketName: shared('landingBucketName'),
        landingKeyArn: shared('landingKeyArn'),
        // The plain scikit-learn image: the endpoint's own image carries a global entry point that a
        // training job would run instead of the archive's train.py (lib/workload/biome/train-workflow.ts).
        trainingImage: inferenceBaseImage(config.region, environment.name),
        instanceType: environment.training.instanceType,
      });
    }

    if (props.sandpit) {
      this.sandpit = new SandpitRecord(this, 'Sandpit', {
        names,
        ...props.sandpit,
        services,
        serviceToken: shared('sandpitRecorderToken'),
        ownersTopicArn: shared('ownersTopicArn'),
      });
    }

    if (biome === MAINLINE_BIOME) {
      const ledgerParameter = names.envScope.sharedParameter('ledgerTableName');
      this.releaseVerifier = new ReleaseVerifier(this, 'ReleaseVerifier', {
        roleName: names.envScope.releaseVerifyRoleName,
        devopsAccount: config.devopsAccount,
        verifyProjectRoleArn: verifyProjectRoleArn(config, environment),
        ledgerTableName: ssm.StringParameter.valueForStringParameter(this, ledgerParameter),
        workflow: this.workflow.stateMachine,
        parameters: [ledgerParameter, workflowArn.parameterName],
        ...(environment.inference.schedule
          ? { inferenceOwner: names.envScope.inferenceEndpointFunctionName }
          : {}),
      });
    }
  }

  /** What a service is told: where it runs, and what its registry entry asks for. */
  private serviceEnvironment(declaration: ServiceDeclaration, endpointName: string): Record<string, string> {
    const { app, env, biome } = this.names;
    const environment: Record<string, string> = {
      [SERVICE_ENV.app]: app,
      [SERVICE_ENV.env]: env,
      [SERVICE_ENV.biome]: biome,
    };
    if (declaration.database) {
      environment[SERVICE_ENV.dbClusterArn] = this.database.clusterArn;
      environment[SERVICE_ENV.dbSecretArn] = this.database.secret.secretArn;
      environment[SERVICE_ENV.dbName] = this.database.databaseName;
    }
    if (declaration.models && declaration.models.length > 0) {
      environment[SERVICE_ENV.endpointName] = endpointName;
      for (const model of declaration.models) {
        environment[modelPointerVariable(model)] = this.names.modelPointer(model);
      }
    }
    return { ...environment, ...declaration.environment };
  }

  /** Grants exactly what the registry entry declares, on this biome's resources only. */
  private grantNeeds(service: Microservice, declaration: ServiceDeclaration, endpointName: string): void {
    if (declaration.database) this.database.grantDataAccess(service.function);
    const models = declaration.models ?? [];
    if (models.length === 0) return;
    for (const model of models) this.models.grantReadPointer(model, service.function);
    // While the endpoint sleeps the service tells its callers until when (lambda/predict/predict.ts):
    // it reads the state the endpoint's owner keeps, that one parameter only.
    service.function.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['ssm:GetParameter'],
        resources: [
          this.formatArn({
            service: 'ssm',
            resource: 'parameter',
            resourceName: this.names.envScope.inferenceStateParameter.slice(1),
          }),
        ],
      }),
    );
    service.function.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['sagemaker:InvokeEndpoint'],
        // A multi-model endpoint serves every biome's models: this service may call its own biome's
        // objects of the models it declares, `<biome>/<model>-<40 hex>.tar.gz`, nothing else.
        conditions: {
          StringLike: {
            'sagemaker:TargetModel': models.map(
              (m) => `${this.names.biome}/${artifactFileName('model', m, '?'.repeat(40))}`,
            ),
          },
        },
        resources: [
          this.formatArn({ service: 'sagemaker', resource: 'endpoint', resourceName: endpointName }),
        ],
      }),
    );
  }
}
