/**
 * The sandpit ledger recorder of an environment that hosts sandpits: keeps the deployment ledger true
 * about what CDK, not the deploy trigger, put live (docs/design.md "Sandpit lifecycle"). One function
 * (lambda/sandpit-ledger/), three inputs:
 * - the custom resource `Custom::SandpitDeploy` of every sandpit stack (its service token): a CDK
 *   deploy records source `cdk`, the working tree's commit and dirty flag, the versions alias `live`
 *   points at, the owner and the lifetime;
 * - CloudFormation's `Stack Status Change` events on the default bus: a sandpit stack that reaches
 *   DELETE_COMPLETE (`cdk destroy`, the sweeper, the console) is recorded `destroyed` and its `LIVE#`
 *   rows go, so "what is live" never lists a biome that does not exist;
 * - CloudTrail's `AWS API Call via CloudTrail` events for Lambda `UpdateFunctionCode` by the sandpit
 *   deployer role: `cdk deploy --hotswap` skips CloudFormation, so the biome's live records are marked
 *   "may be ahead: hotswapped". These events reach EventBridge only where a CloudTrail trail records the
 *   account's management events (an AWS Control Tower organisation trail does); without one a hotswap
 *   goes unrecorded, as the README says.
 */
import { Duration, Tags, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as destinations from 'aws-cdk-lib/aws-lambda-destinations';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Stack } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { RECORDER_ENV } from '../../../lambda/sandpit-ledger/env';
import type { EnvScope } from '../../../lambda/shared/scope';
import { acknowledgePolicyWildcards } from '../../common/nag';
import { OnEventProvider } from '../../common/on-event-provider';
import type { LogSettings } from '../../common/logs';
import { SERVICE_TOKEN_TAG } from './sandpit-deployer';

/** Lambda folder of the recorder. */
export const SANDPIT_LEDGER_FUNCTION = 'sandpit-ledger';

export interface SandpitLedgerProps {
  readonly names: EnvScope;
  readonly logs: LogSettings;
  readonly ledger: dynamodb.ITable;
  /** The sandpit deployer role: its UpdateFunctionCode calls are hotswaps. */
  readonly deployerRoleArn: string;
  /** Where the alarm on events the recorder could not record goes (the environment's alerts topic). */
  readonly alarmAction: cloudwatch.IAlarmAction;
}

export class SandpitLedger extends Construct {
  /** Service token of `Custom::SandpitDeploy`. */
  readonly serviceToken: string;
  readonly provider: OnEventProvider;
  readonly deadLetterQueue: sqs.Queue;

  constructor(scope: Construct, id: string, props: SandpitLedgerProps) {
    super(scope, id);
    const { names } = props;
    const stack = Stack.of(this);
    const provider = new OnEventProvider(this, 'Provider', {
      functionFolder: SANDPIT_LEDGER_FUNCTION,
      description: `Biomes ${names.env}: records CDK deploys, hotswaps and destroys of sandpits in the ledger`,
      logs: props.logs,
    });
    this.provider = provider;
    this.serviceToken = provider.serviceToken;
    // The sandpit execution role may invoke only shared functions with this tag.
    Tags.of(provider).add(SERVICE_TOKEN_TAG.key, SERVICE_TOKEN_TAG.value);
    const environment: Record<string, string> = {
      [RECORDER_ENV.appName]: names.app,
      [RECORDER_ENV.envName]: names.env,
      [RECORDER_ENV.ledgerTable]: props.ledger.tableName,
      [RECORDER_ENV.deployerRoleArn]: props.deployerRoleArn,
    };
    for (const [key, value] of Object.entries(environment)) provider.function.addEnvironment(key, value);
    props.ledger.grantReadWriteData(provider.role);
    provider.role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'FindTheBiomeOfAHotswappedFunction',
        actions: ['lambda:ListTags'],
        resources: [
          `arn:${stack.partition}:lambda:${stack.region}:${stack.account}:function:${names.sandpitFence.prefix}*`,
        ],
      }),
    );
    acknowledgePolicyWildcards(
      provider.role,
      "The ledger's index and the environment's sandpit functions, named <app>-<env>-<biome>-...: the recorder reads the tags of the function a hotswap changed.",
    );

    // Nothing is lost silently: an event EventBridge could not deliver, or that failed the function
    // after Lambda's retries, lands here, and the alarm tells the team (redrive: invoke the function
    // with the message body, as the deploy trigger's dead-letter queue documents).
    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
      // CT.SQS.PR.1: a dead-letter queue itself carries a redrive-allow policy (as the deploy trigger's).
      redriveAllowPolicy: { redrivePermission: sqs.RedrivePermission.ALLOW_ALL },
    });
    Validations.of(this.deadLetterQueue).acknowledge(
      {
        id: 'AwsSolutions-SQS3',
        reason: "This queue is itself the recorder's dead-letter queue; its alarm is the next step.",
      },
      {
        id: 'Serverless-SQSRedrivePolicy',
        reason: 'This queue is the dead-letter queue: its messages are redriven to the recorder by hand.',
      },
    );
    this.deadLetterQueue
      .metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1), statistic: 'Maximum' })
      .createAlarm(this, 'DeadLetterAlarm', {
        alarmDescription: `${names.app} ${names.env}: a sandpit destroy or hotswap could not be recorded in the ledger; read the message`,
        threshold: 0,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      })
      .addAlarmAction(props.alarmAction);
    provider.function.configureAsyncInvoke({
      retryAttempts: 2,
      onFailure: new destinations.SqsDestination(this.deadLetterQueue),
    });
    const target = new targets.LambdaFunction(provider.function, {
      retryAttempts: 8,
      maxEventAge: Duration.hours(24),
      deadLetterQueue: this.deadLetterQueue,
    });
    new events.Rule(this, 'StackDeleted', {
      description: `${names.app} ${names.env}: a deleted sandpit stack is recorded destroyed`,
      eventPattern: {
        source: ['aws.cloudformation'],
        detailType: ['CloudFormation Stack Status Change'],
        detail: {
          'stack-id': [
            {
              prefix: `arn:${stack.partition}:cloudformation:${stack.region}:${stack.account}:stack/${names.sandpitFence.prefix}`,
            },
          ],
          'status-details': { status: ['DELETE_COMPLETE'] },
        },
      },
      targets: [target],
    });
    new events.Rule(this, 'Hotswapped', {
      description: `${names.app} ${names.env}: Lambda code changed by the sandpit deployer outside CloudFormation (cdk deploy --hotswap)`,
      eventPattern: {
        source: ['aws.lambda'],
        detailType: ['AWS API Call via CloudTrail'],
        detail: {
          eventSource: ['lambda.amazonaws.com'],
          eventName: [{ prefix: 'UpdateFunctionCode' }],
          userIdentity: { sessionContext: { sessionIssuer: { arn: [props.deployerRoleArn] } } },
        },
      },
      targets: [target],
    });
  }
}
