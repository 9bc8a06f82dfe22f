import { Fn, Stack, type StackProps } from 'aws-cdk-lib';
import * as cw_actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as rds from 'aws-cdk-lib/aws-rds';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type { Construct } from 'constructs';
import { NotificationTopic, PUBLISHERS } from '../../common/notification-topic';
import { EnvScope } from '../../../lambda/shared/scope';
import { type BiomesConfig, environmentOf } from '../../config';
import { type LogSettings, LogsKey, logRetention, ownProviderLogGroups } from '../../common/logs';
import { replicationRoleArn, sandpitDeployProjectRoleArn } from '../../naming';
import { AccessLogsBucket } from './access-logs';
import { Database } from './database';
import { statefulPolicy } from './env-policy';
import { PINNED_LOGICAL_IDS, pinLogicalId } from './logical-ids';
import { DEPLOY_TRIGGER_FUNCTION, DeployTrigger } from './deploy-trigger';
import { Inference } from './inference';
import { INFERENCE_ENDPOINT_FUNCTION, InferenceEndpoint } from './inference-endpoint';
import { LandingBucket } from './landing-bucket';
import { Ledger } from './ledger';
import { SharedParameters } from './shared-parameters';
import { SandpitLifecycle } from './sandpit-lifecycle';
import { hostsSandpits } from '../../../lambda/shared/environments';
import { SANDPIT_LEDGER_FUNCTION } from './sandpit-ledger';
import { SANDPIT_SWEEPER_FUNCTION } from './sandpit-sweeper';

export interface SharedStackProps extends StackProps {
  readonly config: BiomesConfig;
  /** The environment (one of `config.environments`). */
  readonly envName: string;
}

/** One per workload account: what is expensive or stateful, shared by every biome of the environment. */
export class SharedStack extends Stack {
  /** Lambda folders (under lambda/) this stack bundles. */
  static readonly FUNCTIONS: readonly string[] = [
    DEPLOY_TRIGGER_FUNCTION,
    SANDPIT_LEDGER_FUNCTION,
    SANDPIT_SWEEPER_FUNCTION,
    INFERENCE_ENDPOINT_FUNCTION,
    'biome-database',
  ];

  readonly landingBucket: s3.IBucket;
  readonly ledger: dynamodb.ITable;
  readonly cluster: rds.IDatabaseCluster;
  readonly modelBucket: s3.IBucket;
  readonly modelPrefix: string;
  readonly endpointName: string;
  /** Owns the SageMaker endpoint: creates it, and deletes it outside the inference schedule. */
  readonly inferenceEndpoint: InferenceEndpoint;
  /** The sandpit deployer, recorder, sweeper and owners topic: where the environment hosts sandpits. */
  readonly sandpits?: SandpitLifecycle;

  /**
   * The first two zones of the region, resolved by CloudFormation (`Fn::GetAZs`) instead of a context
   * lookup at synth: `cdk synth` must work without an AWS account (docs/design.md "Configuration"), and
   * zone names are not hardcoded (they differ by region and account).
   */
  override get availabilityZones(): string[] {
    return [Fn.select(0, Fn.getAzs()), Fn.select(1, Fn.getAzs())];
  }

  constructor(scope: Construct, id: string, props: SharedStackProps) {
    super(scope, id, {
      terminationProtection: environmentOf(props.config, props.envName).protected,
      ...props,
    });
    const { config } = props;
    // Everything per environment is resolved here, once; constructs get values, not the config.
    const environment = environmentOf(config, props.envName);
    const envName = environment.name;
    const names = new EnvScope(config.appName, envName);
    const policy = statefulPolicy(environment);
    const logsKey = new LogsKey(this, 'Logs', {
      description: `Biomes ${envName}: encrypts every log group of the environment`,
      removalPolicy: policy.removalPolicy,
    });
    pinLogicalId(logsKey.key, PINNED_LOGICAL_IDS.logsKey);
    const logs: LogSettings = {
      retention: logRetention(environment.logRetentionDays),
      key: logsKey.key,
      ...(environment.protected ? {} : { shortRetentionReason: unprotectedLogsReason(envName) }),
    };

    const accessLogs = new AccessLogsBucket(this, 'AccessLogs', {
      retentionDays: environment.logRetentionDays,
      policy,
    });
    const landing = new LandingBucket(this, 'Landing', {
      envName,
      bucketName: names.landingBucketName(environment.account, config.region),
      keyAlias: names.landingKeyAlias,
      devopsAccount: config.devopsAccount,
      replicationRoleArn: replicationRoleArn(config),
      artifactRetentionDays: environment.artifactRetentionDays,
      policy,
      accessLogsBucket: accessLogs.bucket,
    });
    const ledger = new Ledger(this, 'Ledger', { policy });
    const database = new Database(this, 'Database', {
      envName,
      clusterIdentifier: environment.database.clusterIdentifier ?? names.databaseClusterIdentifier,
      settings: environment.database,
      policy,
      logs,
    });
    const inference = new Inference(this, 'Inference', {
      envName,
      settings: environment.inference,
      endpointName: names.endpointName,
      policy,
      accessLogsBucket: accessLogs.bucket,
    });

    // Deploys that failed for good (dead-letter queue) must reach a person: nothing is lost silently.
    const alerts = new NotificationTopic(this, 'Alerts', {
      displayName: `Biomes ${envName} deploy alerts`,
      publishers: [PUBLISHERS.cloudwatchAlarms],
      email: config.notifications.email,
      removalPolicy: policy.removalPolicy,
    });

    const sandpits = hostsSandpits(environment)
      ? new SandpitLifecycle(this, 'Sandpits', {
          names,
          logs,
          qualifier: config.bootstrapQualifier,
          settings: config.sandpits,
          devopsAccount: config.devopsAccount,
          pipelineRoleArn: sandpitDeployProjectRoleArn(config, environment),
          ledger: ledger.table,
          cluster: database.cluster,
          masterSecret: database.masterSecret,
          modelBucket: inference.modelBucket,
          landingBucket: landing.bucket,
          modelPrefix: inference.modelPrefix,
          endpointName: inference.endpointName,
          trainingInstanceType: environment.training.instanceType,
          email: config.notifications.email,
          removalPolicy: policy.removalPolicy,
          alarmAction: new cw_actions.SnsAction(alerts.topic),
        })
      : undefined;
    this.sandpits = sandpits;

    const deployTrigger = new DeployTrigger(this, 'DeployTrigger', {
      names,
      logs,
      landingBucket: landing.bucket,
      ledger: ledger.table,
      modelBucket: inference.modelBucket,
      modelPrefix: inference.modelPrefix,
      endpointName: inference.endpointName,
      alarmAction: new cw_actions.SnsAction(alerts.topic),
      ...(sandpits ? { ownersTopic: sandpits.ownersTopic } : {}),
      canary: environment.canary !== undefined,
    });

    // The endpoint sleeps outside the environment's inference schedule (README "Inference schedule").
    this.inferenceEndpoint = new InferenceEndpoint(this, 'InferenceEndpoint', {
      names,
      logs,
      endpointConfigName: inference.endpointConfig.attrEndpointConfigName,
      ...(environment.inference.schedule ? { schedule: environment.inference.schedule } : {}),
      ...(inference.volumeKey ? { volumeKey: inference.volumeKey } : {}),
      ledger: ledger.table,
      deployTrigger: deployTrigger.function,
    });

    new SharedParameters(this, 'Parameters', {
      names,
      values: {
        landingBucketName: landing.bucket.bucketName,
        landingKeyArn: landing.key.keyArn,
        ledgerTableName: ledger.table.tableName,
        dbClusterArn: database.cluster.clusterArn,
        dbMasterSecretArn: database.masterSecret.secretArn,
        dbClusterIdentifier: database.cluster.clusterIdentifier,
        modelBucketName: inference.modelBucket.bucketName,
        modelPrefix: inference.modelPrefix,
        endpointName: inference.endpointName,
        modelKeyArn: inference.modelKey.keyArn,
        logsKeyArn: logsKey.key.keyArn,
        alertsTopicArn: alerts.topic.topicArn,
        ...(sandpits
          ? {
              sandpitDatabaseToken: sandpits.databaseServiceToken,
              sandpitRecorderToken: sandpits.recorder.serviceToken,
              ownersTopicArn: sandpits.ownersTopic.topicArn,
            }
          : {}),
      },
    });

    this.landingBucket = landing.bucket;
    this.ledger = ledger.table;
    this.cluster = database.cluster;
    this.modelBucket = inference.modelBucket;
    this.modelPrefix = inference.modelPrefix;
    this.endpointName = inference.endpointName;
    // Last: aws-cdk-lib's own providers (bucket auto-delete, default security group) exist by now.
    ownProviderLogGroups(this, logs);
  }
}

/** Why an unprotected environment keeps logs for less than Control Tower's year (CT.CLOUDWATCH.PR.2). */
export function unprotectedLogsReason(envName: string): string {
  return `${envName} is an unprotected environment: its stacks can be destroyed, and their logs with them; it keeps them as long as biomes.environments.${envName}.logRetentionDays says.`;
}
