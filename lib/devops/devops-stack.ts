import { Duration, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sns from 'aws-cdk-lib/aws-sns';
import type { Construct } from 'constructs';
import { type LogSettings, LogsKey, logRetention as toRetention } from '../common/logs';
import { NotificationTopic, PUBLISHERS } from '../common/notification-topic';
import { type BiomesConfig, firstEnvironment, releaseWaitMinutes } from '../config';
import { MAINLINE_BIOME } from '../../lambda/shared/grammar';
import { EnvScope } from '../../lambda/shared/scope';
import {
  landingBucketName,
  landingKeyAliasArn,
  releaseVerifyRoleArn,
  ownersTopicArn,
  replicationRoleName,
  sandpitDeployerRoleArn,
  sandpitDeployProjectRoleName,
  verifyProjectRoleName,
} from '../naming';
import { InfrastructureProject } from './infrastructure-project';
import { VerifyProject } from './verify-project';
import { grantOwnerNotices, SandpitDeployProject } from './sandpit-deploy-project';
import { BuildProject, type PipelineKind } from './build-project';
import { RollbackPipeline } from './rollback-pipeline';
import { Pipelines } from './pipelines';
import { PublishProject } from './publish-project';
import { ReleaseBucket } from './release-bucket';
import { acceptAccessLogBucket, PRIVATE_BUCKET } from '../common/private-bucket';

export interface DevopsStackProps extends StackProps {
  readonly config: BiomesConfig;
}

/** The DevOps account: pipelines with their own builds and artifacts, release buckets replicating to each workload account. */
export class DevopsStack extends Stack {
  /** Lambda folders this stack bundles (none: the DevOps account runs CodeBuild, not functions). */
  static readonly FUNCTIONS: readonly string[] = [];

  /** Release bucket of each environment, by environment name. */
  readonly releaseBuckets: Readonly<Record<string, ReleaseBucket>>;
  readonly pipelines: Pipelines;
  readonly topic: sns.Topic;
  /** Each pipeline's artifact store, with its own key: the sandpit build cannot reach release artifacts. */
  readonly artifactBuckets: Readonly<Record<PipelineKind, s3.Bucket>>;
  /** Each pipeline's instance of the one build definition. */
  readonly builds: Readonly<Record<PipelineKind, BuildProject>>;
  readonly replicationRole: iam.Role;
  /** The rollback pipeline of each environment, by environment name. */
  readonly rollbacks: Readonly<Record<string, RollbackPipeline>>;

  constructor(scope: Construct, id: string, props: DevopsStackProps) {
    super(scope, id, props);
    const { config } = props;
    // Builds and publications are the audit trail of what reached each environment: keep them as
    // long as the environment that keeps its logs longest (a period CloudWatch accepts, as each is).
    const auditDays = Math.max(...config.environments.map((e) => e.logRetentionDays));
    const logsKey = new LogsKey(this, 'Logs', {
      description: 'Biomes DevOps account: encrypts the logs of builds, publications and verifications',
    });
    // Audit trail of every release: kept at least a year (Control Tower CT.CLOUDWATCH.PR.2); the config
    // refuses a protected environment with less, and this is the longest of all environments.
    const logs: LogSettings = { retention: toRetention(auditDays), key: logsKey.key };

    const accessLogs = new s3.Bucket(this, 'AccessLogs', {
      // Server access log delivery does not support SSE-KMS destinations; SSE-S3 still encrypts at rest.
      encryption: s3.BucketEncryption.S3_MANAGED,
      ...PRIVATE_BUCKET,
      // Versioned (CT.S3.PR.11); log objects are never overwritten, so old versions go after a day.
      versioned: true,
      lifecycleRules: [
        { expiration: Duration.days(auditDays) },
        { id: 'expire-noncurrent', noncurrentVersionExpiration: Duration.days(1) },
      ],
    });
    acceptAccessLogBucket(accessLogs);
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

    const releaseBuckets: Record<string, ReleaseBucket> = {};
    for (const env of config.environments) {
      releaseBuckets[env.name] = new ReleaseBucket(this, `Release-${env.name}`, {
        envName: env.name,
        destinationBucketName: landingBucketName(config, env),
        destinationAccount: env.account,
        replicaKeyAliasArn: landingKeyAliasArn(config, env),
        replicationRole: this.replicationRole,
        serverAccessLogsBucket: accessLogs,
        replicationTimeControl: env.replicationTimeControl,
        retention: Duration.days(env.artifactRetentionDays),
      });
    }
    this.releaseBuckets = releaseBuckets;

    // The release store keeps the ids it had when both pipelines shared it (no bucket replacement).
    const release = this.artifactStore('Artifacts', 'ArtifactsKey', 'release', accessLogs, config);
    const sandpit = this.artifactStore(
      'SandpitArtifacts',
      'SandpitArtifactsKey',
      'sandpit',
      accessLogs,
      config,
    );
    this.artifactBuckets = { release: release.bucket, sandpit: sandpit.bucket };

    this.topic = this.notificationTopic(config);

    // One build definition, two instances (see lib/devops/build-project.ts); 'Build' keeps its id and logs.
    this.builds = {
      release: new BuildProject(this, 'Build', {
        pipelineKind: 'release',
        artifactsKey: release.key,
        logs,
      }),
      sandpit: new BuildProject(this, 'SandpitBuild', {
        pipelineKind: 'sandpit',
        artifactsKey: sandpit.key,
        logs,
      }),
    };
    const publishProjects: Record<string, PublishProject['project']> = {};
    for (const [env, bucket] of Object.entries(releaseBuckets)) {
      publishProjects[env] = new PublishProject(this, `Publish-${env}`, {
        envName: env,
        releaseBucket: bucket.bucket,
        releaseKey: bucket.key,
        artifactsKey: release.key,
        logs,
      }).project;
    }
    // The sandpit pipeline publishes with a project of its own: IAM denies it the mainline biome.
    const first = firstEnvironment(config);
    const firstBucket = releaseBuckets[first.name];
    if (!firstBucket) throw new Error(`no release bucket for ${first.name}`);
    const sandpitPublishProject = new PublishProject(this, `PublishSandpit-${first.name}`, {
      envName: first.name,
      releaseBucket: firstBucket.bucket,
      releaseKey: firstBucket.key,
      artifactsKey: sandpit.key,
      deniedBiomes: [MAINLINE_BIOME],
      ownersTopicArn: ownersTopicArn(config, first),
      logs,
    }).project;

    const infrastructureProjects: Record<string, InfrastructureProject['project']> = {};
    const verifyProjects: Record<string, VerifyProject['project']> = {};
    for (const env of config.environments) {
      const names = new EnvScope(config.appName, env.name);
      infrastructureProjects[env.name] = new InfrastructureProject(this, `Infrastructure-${env.name}`, {
        envName: env.name,
        account: env.account,
        stacks: [names.sharedStackName, names.biome(MAINLINE_BIOME).stackName],
        qualifier: config.bootstrapQualifier,
        artifactsKey: release.key,
        logs,
        // A configured image is pulled by SageMaker as it is: nothing to build, no Docker, no privilege.
        buildsInferenceImage: env.inference.image === undefined,
      }).project;
      verifyProjects[env.name] = new VerifyProject(this, `Verify-${env.name}`, {
        appName: config.appName,
        envName: env.name,
        roleName: verifyProjectRoleName(config, env),
        verifyRoleArn: releaseVerifyRoleArn(config, env),
        // A canary's bake comes on top of replication and the deploy (README "When a release goes wrong").
        timeout: Duration.minutes(releaseWaitMinutes(env)),
        artifactsKey: release.key,
        logs,
      }).project;
    }

    // The sandpit pipeline's deploy and verify steps, through the first environment's sandpit deployer.
    const sandpitDeploy = new SandpitDeployProject(this, `SandpitDeploy-${first.name}`, {
      appName: config.appName,
      envName: first.name,
      account: first.account,
      roleName: sandpitDeployProjectRoleName(config, first),
      deployerRoleArn: sandpitDeployerRoleArn(config, first),
      ownersTopicArn: ownersTopicArn(config, first),
      maintainers: config.sandpits.maintainers,
      verifyTimeout: Duration.minutes(first.verifyTimeoutMinutes),
      artifactsKey: sandpit.key,
      logs,
    });
    // The sandpit build and publish steps tell the owner about their failures too.
    for (const project of [this.builds.sandpit.project, sandpitPublishProject]) {
      if (project.role)
        grantOwnerNotices(project.role, ownersTopicArn(config, first), first.account, this.region);
    }

    this.pipelines = new Pipelines(this, 'Pipelines', {
      source: config.source,
      environments: config.environments,
      infrastructureProjects,
      verifyProjects,
      sandpitPublishProject,
      sandpitDeployProject: sandpitDeploy.project,
      ownersTopicArn: ownersTopicArn(config, first),
      resources: {
        release: { artifactBucket: release.bucket, buildProject: this.builds.release.project },
        sandpit: { artifactBucket: sandpit.bucket, buildProject: this.builds.sandpit.project },
      },
      publishProjects,
      topic: this.topic,
    });

    // One rollback pipeline per environment (README "When a release goes wrong").
    const rollbacks: Record<string, RollbackPipeline> = {};
    for (const env of config.environments) {
      const bucket = releaseBuckets[env.name];
      if (!bucket) throw new Error(`no release bucket for ${env.name}`);
      rollbacks[env.name] = new RollbackPipeline(this, `Rollback-${env.name}`, {
        appName: config.appName,
        env,
        source: config.source,
        releaseBucket: bucket.bucket,
        releaseKey: bucket.key,
        artifactBucket: release.bucket,
        artifactsKey: release.key,
        logs,
        topic: this.topic,
      });
    }
    this.rollbacks = rollbacks;
  }

  /** A pipeline's artifact bucket with its own rotating key. */
  private artifactStore(
    bucketId: string,
    keyId: string,
    kind: PipelineKind,
    accessLogs: s3.IBucket,
    config: BiomesConfig,
  ): { bucket: s3.Bucket; key: kms.Key } {
    const key = new kms.Key(this, keyId, {
      description: `Biomes ${kind} pipeline artifacts and build output`,
      enableKeyRotation: true,
    });
    const bucket = new s3.Bucket(this, bucketId, {
      encryption: s3.BucketEncryption.KMS,
      encryptionKey: key,
      bucketKeyEnabled: true,
      ...PRIVATE_BUCKET,
      serverAccessLogsBucket: accessLogs,
      serverAccessLogsPrefix: kind === 'release' ? 'artifacts/' : `artifacts-${kind}/`,
      // Versioned (CT.S3.PR.11). Pipeline artifacts are intermediate: what was released lives on in
      // the release buckets, so replaced versions go after a day.
      versioned: true,
      lifecycleRules: [
        {
          expiration: Duration.days(firstEnvironment(config).artifactRetentionDays),
          noncurrentVersionExpiration: Duration.days(1),
          abortIncompleteMultipartUploadAfter: Duration.days(7),
        },
      ],
    });
    return { bucket, key };
  }

  private notificationTopic(config: BiomesConfig): sns.Topic {
    // CodeStar Notifications publishes pipeline failures and pending approvals.
    return new NotificationTopic(this, 'Notifications', {
      displayName: 'Biomes pipelines',
      publishers: [PUBLISHERS.codestarNotifications],
      email: config.notifications.email,
    }).topic;
  }
}
