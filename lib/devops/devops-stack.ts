import { Duration, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sns from 'aws-cdk-lib/aws-sns';
import type { Construct } from 'constructs';
import { ENV_NAMES } from '../../lambda/shared/grammar';
import { NotificationTopic } from '../common/notification-topic';
import type { BiomesConfig, EnvName } from '../config';
import { landingBucketName, landingKeyAliasArn, replicationRoleName } from '../naming';
import { BuildProject } from './build-project';
import { Pipelines } from './pipelines';
import { PublishProject } from './publish-project';
import { ReleaseBucket } from './release-bucket';

export interface DevopsStackProps extends StackProps {
  readonly config: BiomesConfig;
}

/** The smallest CloudWatch Logs retention that keeps logs at least `days` days. */
export function retentionAtLeast(days: number): logs.RetentionDays {
  const allowed = Object.values(logs.RetentionDays)
    .filter((v): v is number => typeof v === 'number' && v > 0)
    .sort((a, b) => a - b);
  return (allowed.find((v) => v >= days) ?? logs.RetentionDays.INFINITE) as logs.RetentionDays;
}

/** The DevOps account: pipelines, the shared build, release buckets replicating to each workload account. */
export class DevopsStack extends Stack {
  /** Lambda folders this stack bundles (none: the DevOps account runs CodeBuild, not functions). */
  static readonly FUNCTIONS: readonly string[] = [];

  readonly releaseBuckets: Readonly<Record<EnvName, ReleaseBucket>>;
  readonly pipelines: Pipelines;
  readonly topic: sns.Topic;
  readonly artifactBucket: s3.Bucket;
  readonly replicationRole: iam.Role;

  constructor(scope: Construct, id: string, props: DevopsStackProps) {
    super(scope, id, props);
    const { config } = props;
    // Builds and publications are the audit trail of what reached prod: keep them as long as prod keeps its logs.
    const logRetention = retentionAtLeast(config.environments.prod.logRetentionDays);

    const accessLogs = new s3.Bucket(this, 'AccessLogs', {
      // Server access log delivery does not support SSE-KMS destinations; SSE-S3 still encrypts at rest.
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      lifecycleRules: [{ expiration: Duration.days(config.environments.prod.logRetentionDays) }],
    });
    Validations.of(accessLogs).acknowledge({
      id: 'AwsSolutions-S1',
      reason: 'This is the server access log bucket of the other buckets; logging it into itself would loop.',
    });

    // Named: each workload account's landing bucket policy admits exactly this role (lib/naming.ts).
    this.replicationRole = new iam.Role(this, 'ReplicationRole', {
      roleName: replicationRoleName(config),
      description: 'S3 replication from the Biomes release buckets to the landing bucket of each environment',
      assumedBy: new iam.ServicePrincipal('s3.amazonaws.com', {
        conditions: { StringEquals: { 'aws:SourceAccount': this.account } },
      }),
    });

    const releaseBuckets = {} as Record<EnvName, ReleaseBucket>;
    for (const env of ENV_NAMES) {
      const settings = config.environments[env];
      releaseBuckets[env] = new ReleaseBucket(this, `Release-${env}`, {
        envName: env,
        destinationBucketName: landingBucketName(config, env),
        destinationAccount: config.accounts[env],
        replicaKeyAliasArn: landingKeyAliasArn(config, env),
        replicationRole: this.replicationRole,
        serverAccessLogsBucket: accessLogs,
        replicationTimeControl: settings.replicationTimeControl,
        noncurrentVersionExpiration: Duration.days(settings.artifactRetentionDays),
      });
    }
    this.releaseBuckets = releaseBuckets;

    const artifactsKey = new kms.Key(this, 'ArtifactsKey', {
      description: 'Biomes pipeline artifacts, build output and build logs',
      enableKeyRotation: true,
    });
    this.artifactBucket = new s3.Bucket(this, 'Artifacts', {
      encryption: s3.BucketEncryption.KMS,
      encryptionKey: artifactsKey,
      bucketKeyEnabled: true,
      enforceSSL: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      serverAccessLogsBucket: accessLogs,
      serverAccessLogsPrefix: 'artifacts/',
      // Pipeline artifacts are intermediate: what was released lives on in the release buckets.
      lifecycleRules: [
        {
          expiration: Duration.days(config.environments.dev.artifactRetentionDays),
          abortIncompleteMultipartUploadAfter: Duration.days(7),
        },
      ],
    });

    this.topic = this.notificationTopic(config);

    const build = new BuildProject(this, 'Build', { artifactsKey, logRetention });
    const publishProjects = {} as Record<EnvName, PublishProject['project']>;
    for (const env of ENV_NAMES) {
      publishProjects[env] = new PublishProject(this, `Publish-${env}`, {
        envName: env,
        releaseBucket: releaseBuckets[env].bucket,
        releaseKey: releaseBuckets[env].key,
        artifactsKey,
        logRetention,
      }).project;
    }

    this.pipelines = new Pipelines(this, 'Pipelines', {
      source: config.source,
      artifactBucket: this.artifactBucket,
      buildProject: build.project,
      publishProjects,
      topic: this.topic,
    });
  }

  private notificationTopic(config: BiomesConfig): sns.Topic {
    // CodeStar Notifications publishes pipeline failures and pending approvals.
    return new NotificationTopic(this, 'Notifications', {
      displayName: 'Biomes pipelines',
      publishers: [new iam.ServicePrincipal('codestar-notifications.amazonaws.com')],
      email: config.notifications.email,
    }).topic;
  }
}
