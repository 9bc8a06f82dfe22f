import { Duration, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as rds from 'aws-cdk-lib/aws-rds';
import { Construct } from 'constructs';
import { controlTowerRule } from '../../common/control-tower';
import type { EnvironmentConfig } from '../../config';
import type { StatefulPolicy } from './env-policy';
import { PINNED_LOGICAL_IDS, pinLogicalId } from './logical-ids';
import { type LogSettings, newLogGroup } from '../../common/logs';

/** 16.3 or later in the 16 line is needed for Serverless v2 scale to zero (auto-pause). */
export const AURORA_POSTGRES_VERSION = rds.AuroraPostgresEngineVersion.VER_16_8;
/** Master user of the cluster; biome stacks create their own roles with it through the Data API. */
export const MASTER_USERNAME = 'biomes_admin';

export interface DatabaseProps {
  /** The environment (descriptions and findings only). */
  readonly envName: string;
  /** Capacity, pause and backups of the cluster (`environments.<env>.database`). */
  readonly settings: EnvironmentConfig['database'];
  /** Snapshot, retention and deletion protection (by environment). */
  readonly policy: StatefulPolicy;
  /** The cluster's identifier (EnvScope.databaseClusterIdentifier, or the configured one). */
  readonly clusterIdentifier: string;
  /** How long the VPC flow logs are kept. */
  /** How its log groups are kept and encrypted. */
  readonly logs: LogSettings;
}

/**
 * The shared Aurora PostgreSQL Serverless v2 cluster: one database per biome inside it (docs/design.md).
 * Reached only through the RDS Data API, so it sits in isolated subnets of a VPC with no NAT gateway,
 * no internet gateway, and a security group that admits nothing.
 */
export class Database extends Construct {
  readonly vpc: ec2.Vpc;
  readonly cluster: rds.DatabaseCluster;
  readonly key: kms.Key;
  /** Master credentials (generated); the Data API authenticates with this secret. */
  readonly masterSecret: rds.DatabaseSecret;

  constructor(scope: Construct, id: string, props: DatabaseProps) {
    super(scope, id);
    const { envName, policy } = props;
    const db = props.settings;

    this.vpc = new ec2.Vpc(this, 'Vpc', {
      ipAddresses: ec2.IpAddresses.cidr('10.20.0.0/24'),
      // Aurora needs subnets in two zones; the stack decides which (SharedStack.availabilityZones).
      maxAzs: 2,
      natGateways: 0,
      // Only isolated subnets: no internet gateway, no route out. Lambdas use the Data API instead.
      subnetConfiguration: [{ name: 'isolated', subnetType: ec2.SubnetType.PRIVATE_ISOLATED, cidrMask: 27 }],
    });
    const flowLogGroup = newLogGroup(this, 'FlowLogGroup', props.logs);
    // Rejected traffic is the only interesting traffic in a VPC that nothing should enter.
    this.vpc.addFlowLog('FlowLog', {
      destination: ec2.FlowLogDestination.toCloudWatchLogs(flowLogGroup),
      trafficType: ec2.FlowLogTrafficType.REJECT,
    });

    const securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc: this.vpc,
      description: 'Aurora cluster: no ingress (Data API only), no egress',
      allowAllOutbound: false,
    });

    this.key = new kms.Key(this, 'Key', {
      description: `Biomes ${envName}: encrypts the shared Aurora cluster's storage and snapshots`,
      enableKeyRotation: true,
      removalPolicy: policy.removalPolicy,
    });

    this.masterSecret = new rds.DatabaseSecret(this, 'MasterSecret', { username: MASTER_USERNAME });
    // A snapshot restores with the same master password: keep the secret wherever the snapshot is kept.
    this.masterSecret.applyRemovalPolicy(policy.removalPolicy);

    // PostgreSQL logs go to CloudWatch Logs (CT.RDS.PR.25) into a group the stack owns, encrypted and
    // kept like every other (Aurora writes to /aws/rds/cluster/<identifier>/postgresql; created first,
    // so Aurora never creates it unencrypted and without retention).
    const postgresLogs = newLogGroup(this, 'PostgresLogs', props.logs, {
      logGroupName: `/aws/rds/cluster/${props.clusterIdentifier}/postgresql`,
    });

    this.cluster = new rds.DatabaseCluster(this, 'Cluster', {
      clusterIdentifier: props.clusterIdentifier,
      engine: rds.DatabaseClusterEngine.auroraPostgres({ version: AURORA_POSTGRES_VERSION }),
      credentials: rds.Credentials.fromSecret(this.masterSecret, MASTER_USERNAME),
      writer: rds.ClusterInstance.serverlessV2('Writer', { publiclyAccessible: false }),
      serverlessV2MinCapacity: db.minCapacity,
      serverlessV2MaxCapacity: db.maxCapacity,
      // Only a cluster that may scale to 0 ACU pauses; the duration is meaningless otherwise.
      serverlessV2AutoPauseDuration: db.minCapacity === 0 ? Duration.minutes(db.autoPauseMinutes) : undefined,
      enableDataApi: true,
      iamAuthentication: true,
      storageEncrypted: true,
      storageEncryptionKey: this.key,
      // Encryption in transit for any client that ever connects directly (the Data API uses TLS anyway).
      parameters: { 'rds.force_ssl': '1' },
      vpc: this.vpc,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
      securityGroups: [securityGroup],
      backup: { retention: Duration.days(db.backupRetentionDays) },
      copyTagsToSnapshot: true,
      cloudwatchLogsExports: ['postgresql'],
      // Enhanced Monitoring of the instance, every minute (CT.RDS.PR.2).
      monitoringInterval: Duration.seconds(60),
      deletionProtection: policy.deletionProtection,
      removalPolicy: policy.snapshotRemovalPolicy,
    });
    this.cluster.node.addDependency(postgresLogs);
    pinLogicalId(this.key, PINNED_LOGICAL_IDS.databaseKey);
    pinLogicalId(this.cluster, PINNED_LOGICAL_IDS.databaseCluster);

    Validations.of(this.cluster).acknowledge({
      id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole]',
      reason:
        "The Enhanced Monitoring role RDS assumes to publish OS metrics: AWS's managed policy for exactly that, which AWS keeps current.",
    });
    Validations.of(this.cluster).acknowledge({
      id: 'AwsSolutions-RDS11',
      reason:
        'No network path reaches the cluster (isolated subnets, a security group without ingress, Data API only), so a non-default port would hide nothing.',
    });
    if (!policy.deletionProtection) {
      const reason = `The ${envName} shared stack must be destroyable (docs/design.md "Teardown and cost"); protected environments turn deletion protection on.`;
      Validations.of(this.cluster).acknowledge(
        { id: 'AwsSolutions-RDS10', reason },
        { id: controlTowerRule('rds_cluster_deletion_protection_enabled_check'), reason },
      );
    }
    Validations.of(this.masterSecret).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        'Rotation would need a rotation Lambda that reaches Secrets Manager and the cluster from isolated subnets (an interface endpoint or NAT, a standing cost); the secret is read only by the Data API and deploy-time custom resources under least-privilege IAM.',
    });
  }
}
