import { ArnFormat, Duration, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sagemaker from 'aws-cdk-lib/aws-sagemaker';
import { Construct } from 'constructs';
import type { EnvironmentConfig } from '../../config';
import type { StatefulPolicy } from './env-policy';
import { defaultInferenceImage, supportsVolumeKmsKey } from './inference-image';
import { PINNED_LOGICAL_IDS, pinLogicalId } from './logical-ids';
import { PRIVATE_BUCKET } from '../../common/private-bucket';

/** Key prefix of the model location; every biome owns `models/<biome>/` below it. */
export const MODEL_PREFIX = 'models/';
/** Days a deleted or replaced model object is kept (models are never overwritten, so only deletes count). */
export const MODEL_NONCURRENT_DAYS = 7;

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
 */
export class Inference extends Construct {
  readonly modelBucket: s3.Bucket;
  readonly modelKey: kms.Key;
  readonly modelPrefix = MODEL_PREFIX;
  readonly executionRole: iam.Role;
  readonly model: sagemaker.CfnModel;
  readonly endpoint: sagemaker.CfnEndpoint;
  /** The container image the endpoint runs. */
  readonly image: string;

  constructor(scope: Construct, id: string, props: InferenceProps) {
    super(scope, id);
    const { envName, policy } = props;
    const inference = props.settings;
    const region = Stack.of(this).region;
    this.image = inference.image ?? defaultInferenceImage(region, envName);

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
    this.grantImagePull(this.executionRole, inference.image);
    Validations.of(this.executionRole).acknowledge({
      id: `AwsSolutions-IAM5[Resource::${endpointLogGroups}]`,
      reason:
        'SageMaker names the endpoint log group after the CloudFormation-generated endpoint name, unknown until the endpoint exists (naming it here would be circular).',
    });
    Validations.of(this.executionRole).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${PINNED_LOGICAL_IDS.modelBucket}.Arn>/${MODEL_PREFIX}*]`,
      reason:
        'The endpoint loads any model any biome publishes, so it reads every object under the model prefix and nothing outside it.',
    });

    this.model = new sagemaker.CfnModel(this, 'Model', {
      executionRoleArn: this.executionRole.roleArn,
      primaryContainer: {
        image: this.image,
        mode: 'MultiModel',
        modelDataUrl: `s3://${this.modelBucket.bucketName}/${MODEL_PREFIX}`,
      },
      // The container serves predictions only; SageMaker itself loads models from S3.
      enableNetworkIsolation: true,
    });
    // CreateModel checks the role's access, so its policy must exist first.
    this.model.node.addDependency(this.executionRole);

    const endpointConfig = new sagemaker.CfnEndpointConfig(this, 'EndpointConfig', {
      productionVariants: [
        {
          variantName: 'AllTraffic',
          modelName: this.model.attrModelName,
          instanceType: inference.instanceType,
          initialInstanceCount: inference.initialInstanceCount,
          initialVariantWeight: 1,
        },
      ],
      kmsKeyId: supportsVolumeKmsKey(inference.instanceType) ? this.modelKey.keyArn : undefined,
    });
    this.endpoint = new sagemaker.CfnEndpoint(this, 'Endpoint', {
      endpointName: props.endpointName,
      endpointConfigName: endpointConfig.attrEndpointConfigName,
    });
  }

  /** Name of the endpoint: derived and lowercase (see `EnvScope.endpointName`), so IAM ARNs match. */
  get endpointName(): string {
    return this.endpoint.endpointName!;
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
    Validations.of(role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'ecr:GetAuthorizationToken has no resource-level permissions; the pull itself is scoped to the configured repository.',
    });
  }
}
