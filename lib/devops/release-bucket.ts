import { Arn, ArnFormat, Duration, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { retireInfo } from '../common/annotations';
import { acknowledgeWildcards, objectsOf } from '../common/nag';
import { PRIVATE_BUCKET } from '../common/private-bucket';

export interface ReleaseBucketProps {
  /** The environment whose releases this bucket holds (used in descriptions only). */
  readonly envName: string;
  /** Name of the environment's landing bucket, in its workload account. */
  readonly destinationBucketName: string;
  /** Account that owns the landing bucket; it becomes owner of every replica. */
  readonly destinationAccount: string;
  /**
   * Alias ARN (`arn:aws:kms:<region>:<account>:alias/<name>`) of the landing bucket's key in the
   * destination account. S3 accepts an alias ARN as `ReplicaKmsKeyID`; a fully qualified ARN
   * resolves in the destination account, so the DevOps stack needs no key id from another account.
   */
  readonly replicaKeyAliasArn: string;
  /** Role that S3 assumes to replicate. Shared by the release buckets, named for the landing bucket policies. */
  readonly replicationRole: iam.IRole;
  /** Bucket receiving server access logs. */
  readonly serverAccessLogsBucket: s3.IBucket;
  /**
   * S3 Replication Time Control (99.99% of objects within 15 minutes) with its metrics.
   * @default false
   */
  readonly replicationTimeControl?: boolean;
  /**
   * How long a release object is kept after its last publication (`environments.<env>.artifactRetentionDays`):
   * what the rollback pipeline can re-publish, which re-publishing renews. Its superseded versions go
   * the same time later. Replication does not carry the expiry's delete marker, so the landing bucket
   * keeps what a workload account deployed from by its own lifecycle.
   * @default Duration.days(90)
   */
  readonly retention?: Duration;
}

/**
 * One environment's release bucket in the DevOps account: versioned, encrypted with its own
 * customer key, TLS-only, private, and replicating every (KMS-encrypted) object to the landing
 * bucket in the environment's workload account, where that account owns the replica.
 */
export class ReleaseBucket extends Construct {
  readonly bucket: s3.Bucket;
  readonly key: kms.Key;

  constructor(scope: Construct, id: string, props: ReleaseBucketProps) {
    super(scope, id);
    const replicaKeyAlias = aliasNameOf(props.replicaKeyAliasArn, props.destinationAccount, this);
    const stack = Stack.of(this);

    this.key = new kms.Key(this, 'Key', {
      description: `Release artifacts of ${props.envName} (Biomes DevOps account)`,
      enableKeyRotation: true,
    });

    const destination = s3.Bucket.fromBucketAttributes(this, 'Landing', {
      bucketName: props.destinationBucketName,
      account: props.destinationAccount,
      region: stack.region,
    });
    // Imported only so the replication rule can name the key; grants to it are written below,
    // because IAM cannot grant on an alias ARN (see grantReplication).
    const replicaKey = kms.Key.fromKeyArn(this, 'ReplicaKey', props.replicaKeyAliasArn);
    const rtc = props.replicationTimeControl ?? false;

    this.bucket = new s3.Bucket(this, 'Bucket', {
      encryption: s3.BucketEncryption.KMS,
      encryptionKey: this.key,
      bucketKeyEnabled: true,
      ...PRIVATE_BUCKET,
      versioned: true,
      serverAccessLogsBucket: props.serverAccessLogsBucket,
      serverAccessLogsPrefix: `release-${props.envName}/`,
      lifecycleRules: [
        {
          expiration: props.retention ?? Duration.days(90),
          noncurrentVersionExpiration: props.retention ?? Duration.days(90),
          abortIncompleteMultipartUploadAfter: Duration.days(7),
        },
      ],
      replicationRole: props.replicationRole,
      replicationRules: [
        {
          id: `to-${props.envName}-landing`,
          destination,
          // Owner override: the workload account owns replicas, so its own policies govern them.
          accessControlTransition: true,
          kmsKey: replicaKey,
          // Every publication is SSE-KMS; without this S3 silently skips KMS-encrypted objects.
          sseKmsEncryptedObjects: true,
          // Deleting a release must not delete what a workload account already deployed from.
          deleteMarkerReplication: false,
          replicationTimeControl: rtc ? s3.ReplicationTimeValue.FIFTEEN_MINUTES : undefined,
          metrics: rtc ? s3.ReplicationTimeValue.FIFTEEN_MINUTES : undefined,
        },
      ],
    });

    this.grantReplication(props.replicationRole, props, replicaKeyAlias);
  }

  /**
   * What the replication role needs for this bucket, and nothing else: read this bucket's versions,
   * decrypt with this bucket's key (through S3 only), write replicas into exactly one landing bucket
   * and encrypt them with the key behind exactly one alias in the destination account.
   */
  private grantReplication(role: iam.IRole, props: ReleaseBucketProps, replicaKeyAlias: string): void {
    const stack = Stack.of(this);
    const viaS3 = { 'kms:ViaService': `s3.${stack.region}.amazonaws.com` };
    const landingArn = `arn:${stack.partition}:s3:::${props.destinationBucketName}`;
    const destinationKeys = Arn.format(
      {
        service: 'kms',
        account: props.destinationAccount,
        resource: 'key',
        resourceName: '*',
        arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
      },
      stack,
    );
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: `ReadReleases${props.envName}`,
        actions: ['s3:GetReplicationConfiguration', 's3:ListBucket'],
        resources: [this.bucket.bucketArn],
      }),
    );
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: [
          's3:GetObjectVersionForReplication',
          's3:GetObjectVersionAcl',
          's3:GetObjectVersionTagging',
        ],
        resources: [this.bucket.arnForObjects('*')],
      }),
    );
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['kms:Decrypt'],
        resources: [this.key.keyArn],
        conditions: { StringEquals: viaS3 },
      }),
    );
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['s3:ReplicateObject', 's3:ReplicateTags', 's3:ObjectOwnerOverrideToBucketOwner'],
        resources: [`${landingArn}/*`],
      }),
    );
    // IAM authorizes KMS use against the key ARN, never the alias ARN, and the key id lives in
    // another account; so allow keys of that account only when they carry the landing alias.
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['kms:Encrypt', 'kms:GenerateDataKey'],
        resources: [destinationKeys],
        conditions: {
          StringEquals: viaS3,
          'ForAnyValue:StringEquals': { 'kms:ResourceAliases': replicaKeyAlias },
        },
      }),
    );
    acknowledgeWildcards(
      role,
      [
        objectsOf(this.bucket),
        `Resource::${stack.resolve(landingArn)}/*`,
        `Resource::${stack.resolve(destinationKeys)}`,
      ],
      `Replication of the ${props.envName} release bucket reads any object version of it and writes any key of the one landing bucket; the destination key is pinned by its alias through kms:ResourceAliases.`,
    );
    // CDK's reminder that a cross-account destination must admit the replication role: the landing
    // bucket's policy (lib/workload/shared/landing-bucket.ts) does, in the workload account's stack.
    retireInfo(
      this.bucket,
      'For Cross-account S3 replication',
      "the destination's permissions are granted by the landing bucket's own policy in the workload account (LandingBucket), which CDK cannot see from this stack.",
    );
  }
}

function aliasNameOf(aliasArn: string, account: string, scope: Construct): string {
  const match = /^arn:aws[a-z-]*:kms:[a-z0-9-]+:(\d{12}):(alias\/[A-Za-z0-9/_-]+)$/.exec(aliasArn);
  if (!match?.[2]) {
    throw new Error(
      `${scope.node.path}: replicaKeyAliasArn "${aliasArn}" must be a KMS alias ARN (arn:aws:kms:<region>:<account>:alias/<name>); see landingKeyAliasArn in lib/naming.ts`,
    );
  }
  if (match[1] !== account) {
    throw new Error(
      `${scope.node.path}: replicaKeyAliasArn "${aliasArn}" is in account ${match[1]}, but the landing bucket is in ${account}; replicas must be encrypted with a key of the destination account`,
    );
  }
  return match[2];
}
