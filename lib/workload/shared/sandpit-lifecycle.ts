/**
 * Everything an environment that hosts sandpits adds to its shared stack (docs/design.md "Sandpit
 * lifecycle"): the owners topic, the sandpit deployer (./sandpit-deployer.ts), the ledger recorder
 * (./sandpit-ledger.ts), the daily sweeper (./sandpit-sweeper.ts) and the shared biome database provider.
 *
 * Owner notices go through SNS, not SES: a sandpit stack subscribes its owner's address to the owners
 * topic with a filter policy on the message attribute `biome`, so each owner receives their own
 * sandpit's notices only, with no verified sending domain and no SES sandbox to leave (SES needs both);
 * the owner confirms the subscription once per sandpit from the email SNS sends.
 */
import { type RemovalPolicy, Tags } from 'aws-cdk-lib';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as rds from 'aws-cdk-lib/aws-rds';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { BIOME_DATABASE_ENV } from '../../../lambda/biome-database/properties';
import type { EnvScope } from '../../../lambda/shared/scope';
import type { BiomesConfig } from '../../config';
import type { LogSettings } from '../../common/logs';
import { NotificationTopic } from '../../common/notification-topic';
import { acknowledgePolicyWildcards } from '../../common/nag';
import { OnEventProvider } from '../../common/on-event-provider';
import { DATA_API_ACTIONS } from '../biome/biome-database';
import { SandpitDeployer, SERVICE_TOKEN_TAG } from './sandpit-deployer';
import { SandpitLedger } from './sandpit-ledger';
import { SandpitSweeper } from './sandpit-sweeper';

export interface SandpitLifecycleProps {
  readonly names: EnvScope;
  readonly logs: LogSettings;
  readonly qualifier: string;
  readonly settings: BiomesConfig['sandpits'];
  /** The DevOps account: its sandpit pipeline's projects tell owners about failed runs. */
  readonly devopsAccount: string;
  /** The sandpit pipeline's deploy project role (DevOps account). */
  readonly pipelineRoleArn: string;
  readonly ledger: dynamodb.ITable;
  readonly cluster: rds.IDatabaseCluster;
  readonly masterSecret: secretsmanager.ISecret;
  readonly modelBucket: s3.IBucket;
  /** The landing bucket (a sandpit's train workflow delivers there). */
  readonly landingBucket: s3.IBucket;
  readonly modelPrefix: string;
  readonly endpointName: string;
  /** The environment's training instance type (environments.<env>.training.instanceType). */
  readonly trainingInstanceType: string;
  /** The team address: subscribed to every owner notice too. @default - none */
  readonly email?: string;
  readonly removalPolicy: RemovalPolicy;
  /** Alarms (the recorder's dead-letter queue) go here. */
  readonly alarmAction: cloudwatch.IAlarmAction;
}

export class SandpitLifecycle extends Construct {
  readonly ownersTopic: sns.Topic;
  readonly deployer: SandpitDeployer;
  readonly recorder: SandpitLedger;
  readonly sweeper: SandpitSweeper;
  /** The shared biome database provider's service token (sandpit stacks only). */
  readonly databaseServiceToken: string;

  constructor(scope: Construct, id: string, props: SandpitLifecycleProps) {
    super(scope, id);
    const { names } = props;
    const owners = new NotificationTopic(this, 'Owners', {
      displayName: `Biomes ${names.env} sandpit owners`,
      topicName: names.ownersTopicName,
      publishers: [],
      ...(props.email ? { email: props.email } : {}),
      removalPolicy: props.removalPolicy,
    });
    this.ownersTopic = owners.topic;
    // The sandpit pipeline's projects (DevOps account) tell the owner about a failed run; their own
    // role policies say which projects (lib/devops/sandpit-deploy-project.ts).
    const devops = new iam.AccountPrincipal(props.devopsAccount);
    owners.topic.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'SandpitPipelineNotices',
        principals: [devops],
        actions: ['sns:Publish'],
        resources: [owners.topic.topicArn],
      }),
    );
    owners.key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'SandpitPipelineNotices',
        principals: [devops],
        actions: ['kms:GenerateDataKey*', 'kms:Decrypt'],
        resources: ['*'],
        conditions: { StringEquals: { 'kms:ViaService': `sns.${owners.topic.stack.region}.amazonaws.com` } },
      }),
    );

    this.deployer = new SandpitDeployer(this, 'Deployer', {
      names,
      qualifier: props.qualifier,
      deployers: props.settings.deployers,
      pipelineRoleArn: props.pipelineRoleArn,
      clusterArn: props.cluster.clusterArn,
      modelBucket: props.modelBucket,
      landingBucket: props.landingBucket,
      modelPrefix: props.modelPrefix,
      endpointName: props.endpointName,
      trainingInstanceType: props.trainingInstanceType,
      ownersTopic: owners.topic,
      ledger: props.ledger,
    });
    this.recorder = new SandpitLedger(this, 'Recorder', {
      names,
      logs: props.logs,
      ledger: props.ledger,
      deployerRoleArn: this.deployer.deployerRole.roleArn,
      alarmAction: props.alarmAction,
    });
    this.sweeper = new SandpitSweeper(this, 'Sweeper', {
      names,
      logs: props.logs,
      ledger: props.ledger,
      ownersTopic: owners.topic,
      executionRole: this.deployer.executionRole,
      defaultTtlDays: props.settings.defaultTtlDays,
    });

    // The biome database provider of every sandpit: sandpit stacks hold no role that reads the master
    // secret (which reaches every biome's database); this one serves the sending stack's biome only.
    const database = new OnEventProvider(this, 'DatabaseProvider', {
      functionFolder: 'biome-database',
      description: `Biomes ${names.env}: creates, migrates and drops the database of each sandpit`,
      logs: props.logs,
    });
    Tags.of(database).add(SERVICE_TOKEN_TAG.key, SERVICE_TOKEN_TAG.value);
    database.function.addEnvironment(BIOME_DATABASE_ENV.fenceApp, names.app);
    database.function.addEnvironment(BIOME_DATABASE_ENV.fenceEnv, names.env);
    database.role.addToPolicy(
      new iam.PolicyStatement({ actions: [...DATA_API_ACTIONS], resources: [props.cluster.clusterArn] }),
    );
    const stack = owners.topic.stack;
    database.role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['secretsmanager:GetSecretValue'],
        resources: [
          props.masterSecret.secretArn,
          // Each sandpit's own secret, <app>-<env>-<biome>-database-<suffix> (BiomeScope.databaseSecretName).
          `arn:${stack.partition}:secretsmanager:${stack.region}:${stack.account}:secret:${names.sandpitFence.prefix}*`,
        ],
      }),
    );
    acknowledgePolicyWildcards(
      database.role,
      "Every sandpit's own database secret: named <app>-<env>-<biome>-database with a suffix Secrets Manager adds; the handler serves the sending stack's biome only.",
    );
    this.databaseServiceToken = database.serviceToken;
  }
}
