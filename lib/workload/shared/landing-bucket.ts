import { Duration, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import type { StatefulPolicy } from './env-policy';
import { PINNED_LOGICAL_IDS, pinLogicalId } from './logical-ids';
import { PRIVATE_BUCKET } from '../../common/private-bucket';

/** Days a replaced (noncurrent) landing object is kept: long enough to investigate a bad publication. */
export const LANDING_NONCURRENT_DAYS = 7;

/**
 * Actions the DevOps replication role needs on replica objects (S3 User Guide, "Configuring replication
 * for buckets in different accounts"), and no more: delete-marker replication is off, so no
 * s3:ReplicateDelete; replicas become the workload account's (owner override).
 */
export const REPLICATION_OBJECT_ACTIONS = [
  's3:ReplicateObject',
  's3:ReplicateTags',
  's3:ObjectOwnerOverrideToBucketOwner',
] as const;
/**
 * What replication reads of the destination bucket itself: its versioning status. Never
 * s3:PutBucketVersioning (the guide's example grants it for the console's convenience), which would
 * let a compromised DevOps account suspend versioning of a workload account's landing bucket.
 */
export const REPLICATION_BUCKET_ACTIONS = ['s3:GetBucketVersioning'] as const;

export interface LandingBucketProps {
  /** The environment (descriptions only). */
  readonly envName: string;
  /** The bucket's name: the DevOps replication rule names it before this stack exists (EnvScope.landingBucketName). */
  readonly bucketName: string;
  /** The alias of its key, which the replication rule names too (EnvScope.landingKeyAlias). */
  readonly keyAlias: string;
  /** The DevOps account, whose replication role alone may write replicas. */
  readonly devopsAccount: string;
  /** ARN of that replication role (lib/naming.ts). */
  readonly replicationRoleArn: string;
  /** Days a landing object is kept (a deployed function keeps its own copy of the code). */
  readonly artifactRetentionDays: number;
  /** Removal of the bucket and key with the stack (by environment). */
  readonly policy: StatefulPolicy;
  /** Where S3 server access logs go. */
  readonly accessLogsBucket: s3.IBucket;
}

/**
 * The replication destination of an environment's release bucket (docs/design.md "Release bucket ->
 * landing bucket"). Named, and its key aliased, because the DevOps account's replication rule names
 * both before this stack exists; admits the DevOps replication role and nobody else from outside.
 */
export class LandingBucket extends Construct {
  readonly bucket: s3.Bucket;
  /** Encrypts replicas; the replication role may encrypt with it, only through S3. */
  readonly key: kms.Key;

  constructor(scope: Construct, id: string, props: LandingBucketProps) {
    super(scope, id);
    const { envName, policy } = props;
    // The DevOps account's replication role, named by condition rather than as the principal: S3 and
    // KMS refuse a policy whose principal ARN does not exist yet, and the role comes from the DevOps
    // stack, which deploys after this one (its replication rule needs this bucket to exist).
    const replicationRole = new iam.AccountPrincipal(props.devopsAccount);
    const onlyReplicationRole = { ArnEquals: { 'aws:PrincipalArn': props.replicationRoleArn } };

    this.key = new kms.Key(this, 'Key', {
      alias: props.keyAlias,
      description: `Biomes ${envName}: encrypts artifacts replicated into the landing bucket`,
      enableKeyRotation: true,
      removalPolicy: policy.removalPolicy,
    });
    // The replication role lives in the DevOps account: only this key policy can let it encrypt
    // replicas, and only when S3 calls KMS on its behalf.
    this.key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'DevopsReplicationEncryptsReplicas',
        principals: [replicationRole],
        actions: ['kms:Encrypt', 'kms:GenerateDataKey'],
        resources: ['*'],
        conditions: {
          ...onlyReplicationRole,
          StringEquals: { 'kms:ViaService': `s3.${Stack.of(this).region}.amazonaws.com` },
        },
      }),
    );

    this.bucket = new s3.Bucket(this, 'Bucket', {
      bucketName: props.bucketName,
      encryption: s3.BucketEncryption.KMS,
      encryptionKey: this.key,
      bucketKeyEnabled: true,
      versioned: true,
      // Bucket owner enforced: replicas become the workload account's own objects (owner override).
      ...PRIVATE_BUCKET,
      serverAccessLogsBucket: props.accessLogsBucket,
      serverAccessLogsPrefix: 'landing/',
      lifecycleRules: [
        {
          id: 'keep-recent-artifacts',
          // A deployed function keeps its own copy of the code, so old artifacts are only history.
          expiration: Duration.days(props.artifactRetentionDays),
          noncurrentVersionExpiration: Duration.days(LANDING_NONCURRENT_DAYS),
          abortIncompleteMultipartUploadAfter: Duration.days(1),
        },
        { id: 'remove-expired-delete-markers', expiredObjectDeleteMarker: true },
      ],
      removalPolicy: policy.removalPolicy,
      autoDeleteObjects: policy.autoDeleteObjects,
    });
    // EventBridge delivery set on the bucket itself: `eventBridgeEnabled: true` would add a
    // notifications custom-resource Lambda (with a wildcard policy) for what CloudFormation does natively.
    pinLogicalId(this.key, PINNED_LOGICAL_IDS.landingKey);
    pinLogicalId(this.bucket, PINNED_LOGICAL_IDS.landingBucket);
    const cfnBucket = this.bucket.node.defaultChild as s3.CfnBucket;
    cfnBucket.notificationConfiguration = { eventBridgeConfiguration: { eventBridgeEnabled: true } };

    this.bucket.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'DevopsReplicationWritesReplicas',
        principals: [replicationRole],
        actions: [...REPLICATION_OBJECT_ACTIONS],
        resources: [this.bucket.arnForObjects('*')],
        conditions: onlyReplicationRole,
      }),
    );
    this.bucket.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'DevopsReplicationChecksVersioning',
        principals: [replicationRole],
        actions: [...REPLICATION_BUCKET_ACTIONS],
        resources: [this.bucket.bucketArn],
        conditions: onlyReplicationRole,
      }),
    );
  }
}
