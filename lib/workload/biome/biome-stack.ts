import { Stack, type StackProps } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import type { Construct } from 'constructs';
import { INGEST_ENV } from '../../../lambda/ingest/env';
import { PREDICT_ENV, PREDICT_MODEL } from '../../../lambda/predict/env';
import type { ServiceName } from '../../../lambda/services';
import {
  modelPointerName,
  type SharedParameter,
  sharedParameterName,
} from '../../../lambda/shared/contracts';
import { MAINLINE_BIOME } from '../../../lambda/shared/grammar';
import type { BiomesConfig, EnvName } from '../../config';
import { BiomeDatabase } from './biome-database';
import { type BiomeSettings, Microservice, type ServiceEnvNames } from './microservice';
import { ModelNamespace, SAMPLE_MODEL_WARM_UP } from './model-namespace';
import { discoverModels } from './models';
import { BiomeWorkflow } from './workflow';

export interface BiomeStackProps extends StackProps {
  readonly config: BiomesConfig;
  readonly envName: EnvName;
  readonly biome: string;
  /** Models the biome serves. @default the folders under `models/` of the repository */
  readonly models?: readonly string[];
}

/** One per biome: cheap, serverless, and destroyed without a trace. */
export class BiomeStack extends Stack {
  /** Lambda folders (under lambda/) this stack bundles. */
  static readonly FUNCTIONS: readonly string[] = ['ingest', 'predict', 'biome-database', 'biome-models'];

  readonly services: Readonly<Record<ServiceName, Microservice>>;
  readonly database: BiomeDatabase;
  readonly models: ModelNamespace;
  readonly workflow: BiomeWorkflow;

  constructor(scope: Construct, id: string, props: BiomeStackProps) {
    super(scope, id, props);
    const { config, envName, biome } = props;
    const app = config.appName;

    const models = props.models ?? discoverModels();
    if (!models.includes(PREDICT_MODEL)) {
      throw new Error(
        `Biome ${biome}: the predict service serves model "${PREDICT_MODEL}" but the biome's models are [${models.join(', ')}]; add models/${PREDICT_MODEL}/ (see models/README.md).`,
      );
    }

    // Shared resources are read at deploy time from the shared stack's parameters: never exports
    // (an export in use would block every change of the shared stack), never lookups (no account at synth).
    const shared = (key: SharedParameter) =>
      ssm.StringParameter.valueForStringParameter(this, sharedParameterName(app, envName, key));
    const clusterArn = shared('dbClusterArn');
    const endpointName = shared('endpointName');

    this.database = new BiomeDatabase(this, 'Database', {
      config,
      envName,
      biome,
      clusterArn,
      masterSecretArn: shared('dbMasterSecretArn'),
    });
    this.models = new ModelNamespace(this, 'Models', {
      config,
      envName,
      biome,
      modelBucketName: () => shared('modelBucketName'),
      modelPrefix: () => shared('modelPrefix'),
      models,
      // One row of the sample model's three features (models/README.md): loads it before it goes live.
      warmUps: { [PREDICT_MODEL]: SAMPLE_MODEL_WARM_UP },
    });

    const pointerParameter = modelPointerName(app, envName, biome, PREDICT_MODEL);
    const settings: BiomeSettings = {
      app,
      env: envName,
      biome,
      dbClusterArn: clusterArn,
      dbSecretArn: this.database.secret.secretArn,
      dbName: this.database.databaseName,
      endpointName,
      modelPointerParameter: pointerParameter,
    };
    const service = (name: ServiceName, envNames: ServiceEnvNames) =>
      new Microservice(this, `Service-${name}`, {
        config,
        envName,
        biome,
        service: name,
        settings,
        envNames,
        // `main` runs only what the pipeline released (traceable to a commit); sandpits run what
        // their developer deploys, too.
        codeOwner: biome === MAINLINE_BIOME ? 'pipeline' : 'cdk',
      });
    const ingest = service('ingest', INGEST_ENV);
    const predict = service('predict', PREDICT_ENV);
    this.services = { ingest, predict };

    for (const s of [ingest, predict]) this.database.grantDataAccess(s.function);
    // predict reads its own model pointer and calls its own environment's endpoint, nothing else.
    this.models.pointerParameter(PREDICT_MODEL).grantRead(predict.function);
    predict.function.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['sagemaker:InvokeEndpoint'],
        // A multi-model endpoint serves every biome's models: this biome may call its own only.
        conditions: { StringLike: { 'sagemaker:TargetModel': `${biome}/*` } },
        resources: [
          this.formatArn({
            service: 'sagemaker',
            resource: 'endpoint',
            resourceName: endpointName,
          }),
        ],
      }),
    );

    this.workflow = new BiomeWorkflow(this, 'Workflow', {
      config,
      envName,
      biome,
      ingest: ingest.live,
      predict: predict.live,
    });
  }
}
