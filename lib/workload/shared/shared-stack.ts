import { Fn, Stack, type StackProps } from 'aws-cdk-lib';
import * as cw_actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as rds from 'aws-cdk-lib/aws-rds';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type { Construct } from 'constructs';
import { NotificationTopic, PUBLISHERS } from '../../common/notification-topic';
import type { BiomesConfig, EnvName } from '../../config';
import { AccessLogsBucket } from './access-logs';
import { Database } from './database';
import { statefulPolicy } from './env-policy';
import { DeployTrigger } from './deploy-trigger';
import { Inference } from './inference';
import { LandingBucket } from './landing-bucket';
import { Ledger } from './ledger';
import { SharedParameters } from './shared-parameters';

export interface SharedStackProps extends StackProps {
  readonly config: BiomesConfig;
  readonly envName: EnvName;
}

/** One per workload account: what is expensive or stateful, shared by every biome of the environment. */
export class SharedStack extends Stack {
  /** Lambda folders (under lambda/) this stack bundles. */
  static readonly FUNCTIONS: readonly string[] = ['deploy-trigger'];

  readonly landingBucket: s3.IBucket;
  readonly ledger: dynamodb.ITable;
  readonly cluster: rds.IDatabaseCluster;
  readonly modelBucket: s3.IBucket;
  readonly modelPrefix: string;
  readonly endpointName: string;

  /**
   * The first two zones of the region, resolved by CloudFormation (`Fn::GetAZs`) instead of a context
   * lookup at synth: `cdk synth` must work without an AWS account (DESIGN.md "Configuration"), and
   * zone names are not hardcoded (they differ by region and account).
   */
  override get availabilityZones(): string[] {
    return [Fn.select(0, Fn.getAzs()), Fn.select(1, Fn.getAzs())];
  }

  constructor(scope: Construct, id: string, props: SharedStackProps) {
    super(scope, id, props);
    const { config, envName } = props;

    const accessLogs = new AccessLogsBucket(this, 'AccessLogs', {
      envName,
      retentionDays: config.environments[envName].logRetentionDays,
    });
    const landing = new LandingBucket(this, 'Landing', {
      config,
      envName,
      accessLogsBucket: accessLogs.bucket,
    });
    const ledger = new Ledger(this, 'Ledger', { envName });
    const database = new Database(this, 'Database', { config, envName });
    const inference = new Inference(this, 'Inference', {
      config,
      envName,
      accessLogsBucket: accessLogs.bucket,
    });

    // Deploys that failed for good (dead-letter queue) must reach a person: nothing is lost silently.
    const alerts = new NotificationTopic(this, 'Alerts', {
      displayName: `Biomes ${envName} deploy alerts`,
      publishers: [PUBLISHERS.cloudwatchAlarms],
      email: config.notifications.email,
      removalPolicy: statefulPolicy(envName).removalPolicy,
    });

    new DeployTrigger(this, 'DeployTrigger', {
      config,
      envName,
      landingBucket: landing.bucket,
      ledger: ledger.table,
      modelBucket: inference.modelBucket,
      modelPrefix: inference.modelPrefix,
      endpointName: inference.endpointName,
      alarmAction: new cw_actions.SnsAction(alerts.topic),
    });

    new SharedParameters(this, 'Parameters', {
      config,
      envName,
      values: {
        landingBucketName: landing.bucket.bucketName,
        ledgerTableName: ledger.table.tableName,
        dbClusterArn: database.cluster.clusterArn,
        dbMasterSecretArn: database.masterSecret.secretArn,
        dbClusterIdentifier: database.cluster.clusterIdentifier,
        modelBucketName: inference.modelBucket.bucketName,
        modelPrefix: inference.modelPrefix,
        endpointName: inference.endpointName,
      },
    });

    this.landingBucket = landing.bucket;
    this.ledger = ledger.table;
    this.cluster = database.cluster;
    this.modelBucket = inference.modelBucket;
    this.modelPrefix = inference.modelPrefix;
    this.endpointName = inference.endpointName;
  }
}
