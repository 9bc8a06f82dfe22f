import * as path from 'node:path';
import { ArnFormat, Duration, Stack } from 'aws-cdk-lib';
import { acknowledgeWildcards, allowWildcard } from '../../common/nag';
import * as ecr_assets from 'aws-cdk-lib/aws-ecr-assets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sagemaker from 'aws-cdk-lib/aws-sagemaker';
import { Construct } from 'constructs';
import type { EnvironmentConfig } from '../../config';
import type { StatefulPolicy } from './env-policy';
import { defaultImageInstanceProblem, inferenceBaseImage, supportsVolumeKmsKey } from './inference-image';
import { PINNED_LOGICAL_IDS, pinLogicalId } from './logical-ids';
import { PRIVATE_BUCKET } from '../../common/private-bucket';

/** Key prefix of the model location; every biome owns `models/<biome>/` below it. */
export const MODEL_PREFIX = 'models/';
/** Days a deleted or replaced model object is kept (models are never overwritten, so only deletes count). */
export const MODEL_NONCURRENT_DAYS = 7;

/** The folder of the default image: its Dockerfile and the global entry point (the Docker build context). */
export const INFERENCE_CONTAINER_DIR = path.join(__dirname, 'inference-container');

/**
 * The entry point's module file: the image has the global default at `/opt/ml/code/inference.py`,
 * and every model archive has its own at its root (lib/bundling/package.ts).
 */
export const ENTRY_POINT = 'inference.py';

/**
 * The container's environment (CfnModel `PrimaryContainer.Environment`), read by the SageMaker
 * scikit-learn container 1.2-1 (sources: aws/sagemaker-scikit-learn-container branch 1.2-1,
 * sagemaker-containers 2.8.6.post2, sagemaker-inference 1.2.0, which it pins in requirements.txt):
 * - SAGEMAKER_PROGRAM: the module start-up imports, `modules.import_module(serving_env.module_dir,
 *   serving_env.module_name)` (sklearn src/sagemaker_sklearn_container/serving_mms.py:120-125), and
 *   each model worker imports (sagemaker-inference src/sagemaker_inference/environment.py:24,66;
 *   transformer.py:165-167). Unset, start-up calls `importlib.import_module(None)` and dies
 *   (sagemaker-containers src/sagemaker_containers/_env.py:329, _modules.py:255-263): the endpoint
 *   never answers /ping and CloudFormation rolls the shared stack back. The image sets it too; this
 *   says it where the endpoint is defined.
 * - SAGEMAKER_CONTAINER_LOG_LEVEL: parsed with `int()` at start-up (_env.py:331), so a number: a
 *   name such as `INFO` is a ValueError that kills start-up. 20 = logging.INFO.
 * - SAGEMAKER_NUM_MODEL_WORKERS: Python worker processes per loaded model (serving_mms.py:91 into
 *   MMS's `default_workers_per_model`); one, so an ml.m5.large holds many models. (The look-alike
 *   SAGEMAKER_MODEL_SERVER_WORKERS is gunicorn's and has no effect in multi-model mode.)
 * Not set, on purpose: SAGEMAKER_SUBMIT_DIRECTORY. Its default, /opt/ml/code (_env.py:85-87,330), is
 * where the image has the entry point, and `download_and_extract` leaves a non-empty /opt/ml/code
 * alone (sagemaker-containers src/sagemaker_containers/_files.py:125); an `s3://` value would make
 * the container download with boto3 (_files.py:127-129), which network isolation forbids.
 * SAGEMAKER_MULTI_MODEL is set by SageMaker itself for a MultiModel container.
 * test/models/container-contract.test.ts runs the synthesized environment through an emulation of
 * these code paths.
 */
export const CONTAINER_ENVIRONMENT: Readonly<Record<string, string>> = {
  SAGEMAKER_PROGRAM: ENTRY_POINT,
  SAGEMAKER_CONTAINER_LOG_LEVEL: '20',
  SAGEMAKER_NUM_MODEL_WORKERS: '1',
};

/** `<account>.dkr.ecr.<region>.amazonaws.com/<repository>[:tag|@digest]` */
const ECR_IMAGE = /^(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?\/([^:@]+)(?:[:@].*)?$/;

export interface InferenceProps {
  /** The environment (descriptions, and the config key named when no default image is known). */
  readonly envName: string;
  /** Instance type, count and image of the endpoint (`environments.<env>.inference`). */
  readonly settings: EnvironmentConfig['inference'];
  /** The endpoint's name (EnvScope.endpointName): lowercase, so IAM ARNs match. */
  readonly endpointName: string;
  /** Retention of the model location and its key (by environment). */
  readonly policy: StatefulPolicy;
  /** Where S3 server access logs of the model bucket go. */
  readonly accessLogsBucket: s3.IBucket;
}

/**
 * The shared SageMaker multi-model endpoint over an S3 model location (docs/design.md "AWS facts":
 * multi-model endpoints). A model is added by uploading it under the location, so the endpoint itself never
 * changes on a deploy. aws-cdk-lib has no L2 for SageMaker hosting, hence the L1 resources.
 *
 * **The image.** The stock SageMaker scikit-learn image cannot start here: with network isolation the
 * container downloads nothing, and at start-up it imports the module named by SAGEMAKER_PROGRAM from
 * /opt/ml/code (see {@link CONTAINER_ENVIRONMENT}), which the stock image leaves empty, so the
 * endpoint would never pass its ping check. The default image is therefore ours: built FROM the
 * regional scikit-learn 1.2-1 image (lib/workload/shared/inference-image.ts, a build arg) with a global
 * entry point at /opt/ml/code/inference.py (inference-container/). That one only answers, with an
 * error that says so, for a model archive that has no inference.py at its root: each model brings its
 * own. A model's worker process imports `inference` with sys.path = [<model dir>, <model dir>,
 * stdlib, site-packages]: MMS builds the worker's PYTHONPATH as handler, $PYTHONPATH, model path
 * (awslabs/multi-model-server v1.1.1 frontend/server/src/main/java/com/amazonaws/ml/mms/wlm/
 * WorkerLifeCycle.java:65-75) and starts it in the model directory (:160), while start-up's
 * `pip install .` put the global module in site-packages (sagemaker-containers _modules.py:104-120,
 * 256). So the archive root's inference.py takes precedence for its model, and a model archive's
 * `code/` folder is never on the path (sagemaker-inference transformer.py:165-167 imports by name only).
 *
 * The image is a DockerImageAsset: `cdk synth` only stages the folder (no Docker needed), `cdk deploy`
 * builds it for linux/amd64 and pushes it to the bootstrap repository of the environment's account.
 * Each environment's Infrastructure step (lib/devops/infrastructure-project.ts) therefore rebuilds it
 * from the same inputs (the Dockerfile, the base image by tag, the entry point), once per asset hash:
 * AWS re-publishes patched images under the same tag, so two environments built at different times
 * may hold different base layers with identical code. Its build fails if start-up would need the
 * network (the Dockerfile's `RUN --network=none` step runs the real start-up import).
 * `environments.<env>.inference.image` replaces it (no asset, no build); that image must honour the
 * same contract.
 */
export class Inference extends Construct {
  readonly modelBucket: s3.Bucket;
  readonly modelKey: kms.Key;
  readonly modelPrefix = MODEL_PREFIX;
  readonly executionRole: iam.Role;
  readonly model: sagemaker.CfnModel;
  /**
   * What the endpoint runs. The endpoint itself is owned by ./inference-endpoint.ts (it sleeps outside
   * the environment's inference schedule), which the shared stack gives this configuration.
   */
  readonly endpointConfig: sagemaker.CfnEndpointConfig;
  /** The key of the endpoint's instance volumes; undefined on instance types with local storage. */
  readonly volumeKey?: kms.IKey;
  private readonly name: string;
  /** The container image the endpoint runs. */
  readonly image: string;
  /** The default image, built by `cdk deploy` from {@link INFERENCE_CONTAINER_DIR}; absent when the config names an image. */
  readonly imageAsset?: ecr_assets.DockerImageAsset;

  constructor(scope: Construct, id: string, props: InferenceProps) {
    super(scope, id);
    const { envName, policy } = props;
    this.name = props.endpointName;
    const inference = props.settings;
    const region = Stack.of(this).region;
    if (inference.image) {
      this.image = inference.image;
    } else {
      const problem = defaultImageInstanceProblem(inference.instanceType);
      if (problem) {
        throw new Error(
          `biomes.environments.${envName}.inference.instanceType: ${problem} (or set biomes.environments.${envName}.inference.image to an image for it).`,
        );
      }
      this.imageAsset = new ecr_assets.DockerImageAsset(this, 'Image', {
        directory: INFERENCE_CONTAINER_DIR,
        buildArgs: { BASE: inferenceBaseImage(region, envName) },
        // The endpoint's instances are x86 and the base tag is amd64 only.
        platform: ecr_assets.Platform.LINUX_AMD64,
        displayName: `Biomes ${envName} inference image`,
      });
      this.image = this.imageAsset.imageUri;
    }

    this.modelKey = new kms.Key(this, 'ModelKey', {
      description: `Biomes ${envName}: encrypts the model location and the endpoint's storage volumes`,
      enableKeyRotation: true,
      removalPolicy: policy.removalPolicy,
    });
    this.modelBucket = new s3.Bucket(this, 'ModelBucket', {
      encryption: s3.BucketEncryption.KMS,
      encryptionKey: this.modelKey,
      bucketKeyEnabled: true,
      versioned: true,
      ...PRIVATE_BUCKET,
      serverAccessLogsBucket: props.accessLogsBucket,
      serverAccessLogsPrefix: 'models/',
      lifecycleRules: [
        {
          id: 'expire-deleted-models',
          noncurrentVersionExpiration: Duration.days(MODEL_NONCURRENT_DAYS),
          abortIncompleteMultipartUploadAfter: Duration.days(1),
        },
        { id: 'remove-expired-delete-markers', expiredObjectDeleteMarker: true },
      ],
      removalPolicy: policy.removalPolicy,
      autoDeleteObjects: policy.autoDeleteObjects,
    });
    pinLogicalId(this.modelKey, PINNED_LOGICAL_IDS.modelKey);
    pinLogicalId(this.modelBucket, PINNED_LOGICAL_IDS.modelBucket);

    this.executionRole = new iam.Role(this, 'ExecutionRole', {
      assumedBy: new iam.ServicePrincipal('sagemaker.amazonaws.com'),
      description: `Biomes ${envName}: the multi-model endpoint reads the model location and nothing else`,
    });
    this.grantModelRead(this.executionRole);
    const endpointLogGroups = Stack.of(this).formatArn({
      service: 'logs',
      resource: 'log-group',
      resourceName: '/aws/sagemaker/Endpoints/*',
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
    this.executionRole.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'EndpointLogs',
        actions: [
          'logs:CreateLogGroup',
          'logs:CreateLogStream',
          'logs:PutLogEvents',
          'logs:DescribeLogStreams',
        ],
        resources: [endpointLogGroups],
      }),
    );
    // The endpoint's instance metrics (CPU, memory, disk: namespace /aws/sagemaker/Endpoints), which
    // SageMaker publishes with the execution role ("CreateModel API: Execution Role Permissions" in
    // the SageMaker Developer Guide lists cloudwatch:PutMetricData first).
    allowWildcard(
      this.executionRole,
      new iam.PolicyStatement({
        sid: 'EndpointMetrics',
        actions: ['cloudwatch:PutMetricData'],
        resources: ['*'],
        conditions: { StringLike: { 'cloudwatch:namespace': '/aws/sagemaker/*' } },
      }),
      'PutMetricData has no resource-level permission; the condition keeps it to SageMaker namespaces.',
    );
    if (this.imageAsset) {
      this.imageAsset.repository.grantPull(this.executionRole);
      this.acknowledgeEcrLogin();
    } else {
      this.grantImagePull(this.executionRole, inference.image);
    }
    acknowledgeWildcards(
      this.executionRole,
      [`Resource::${endpointLogGroups}`],
      'SageMaker names the endpoint log group after the CloudFormation-generated endpoint name, unknown until the endpoint exists (naming it here would be circular).',
    );
    acknowledgeWildcards(
      this.executionRole,
      [`Resource::<${PINNED_LOGICAL_IDS.modelBucket}.Arn>/${MODEL_PREFIX}*`],
      'The endpoint loads any model any biome publishes, so it reads every object under the model prefix and nothing outside it.',
    );

    this.model = new sagemaker.CfnModel(this, 'Model', {
      executionRoleArn: this.executionRole.roleArn,
      primaryContainer: {
        image: this.image,
        mode: 'MultiModel',
        modelDataUrl: `s3://${this.modelBucket.bucketName}/${MODEL_PREFIX}`,
        environment: { ...CONTAINER_ENVIRONMENT },
      },
      // The container serves predictions only; SageMaker itself loads models from S3.
      enableNetworkIsolation: true,
    });
    // CreateModel checks the role's access, so its policy must exist first.
    this.model.node.addDependency(this.executionRole);

    this.volumeKey = supportsVolumeKmsKey(inference.instanceType) ? this.modelKey : undefined;
    this.endpointConfig = new sagemaker.CfnEndpointConfig(this, 'EndpointConfig', {
      productionVariants: [
        {
          variantName: 'AllTraffic',
          modelName: this.model.attrModelName,
          instanceType: inference.instanceType,
          initialInstanceCount: inference.initialInstanceCount,
          initialVariantWeight: 1,
        },
      ],
      kmsKeyId: this.volumeKey?.keyArn,
    });
  }

  /** Name of the endpoint: derived and lowercase (see `EnvScope.endpointName`), so IAM ARNs match. */
  get endpointName(): string {
    return this.name;
  }

  /** Lets `grantee` read the model location: objects under the prefix, listing limited to it, decryption. */
  grantModelRead(grantee: iam.IGrantable): void {
    iam.Grant.addToPrincipal({
      grantee,
      actions: ['s3:GetObject'],
      resourceArns: [this.modelBucket.arnForObjects(`${MODEL_PREFIX}*`)],
    });
    iam.Grant.addToPrincipal({
      grantee,
      actions: ['s3:ListBucket'],
      resourceArns: [this.modelBucket.bucketArn],
      conditions: { StringLike: { 's3:prefix': [MODEL_PREFIX, `${MODEL_PREFIX}*`] } },
    });
    this.modelKey.grantDecrypt(grantee);
  }

  /**
   * SageMaker pulls its own prebuilt images with service credentials; an image from the config (an
   * ECR repository of ours) needs the role to be allowed to pull it.
   */
  private grantImagePull(role: iam.Role, configuredImage: string | undefined): void {
    if (!configuredImage) return;
    const match = ECR_IMAGE.exec(configuredImage);
    if (!match) return; // not ECR: SageMaker pulls it as configured (e.g. a private registry with its own auth)
    const [, account, region, repository] = match;
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'PullConfiguredImage',
        actions: ['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer', 'ecr:BatchCheckLayerAvailability'],
        resources: [`arn:${Stack.of(this).partition}:ecr:${region}:${account}:repository/${repository}`],
      }),
    );
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({ sid: 'EcrLogin', actions: ['ecr:GetAuthorizationToken'], resources: ['*'] }),
    );
    this.acknowledgeEcrLogin();
  }

  private acknowledgeEcrLogin(): void {
    acknowledgeWildcards(
      this.executionRole,
      ['Resource::*'],
      'ecr:GetAuthorizationToken has no resource-level permissions; the pull itself is scoped to the image repository.',
    );
  }
}
