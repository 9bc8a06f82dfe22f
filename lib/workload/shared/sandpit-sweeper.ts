/**
 * The sandpit sweeper of an environment that hosts sandpits (docs/design.md "Sandpit lifecycle"): an
 * EventBridge Scheduler schedule runs lambda/sandpit-sweeper/ once a day. It lists the environment's
 * sandpit stacks by tag, tells each owner one day before the expiry (last deploy + `ttl-days`), deletes
 * expired ones through the same least-privilege path as a person (CloudFormation `DeleteStack` with the
 * sandpit execution role, which can delete only what a sandpit contains), reports sandpits marked
 * `keep`, and records every step in the ledger. A failed delete is recorded `expiry-failed`, told to
 * the owner and tried again the next day: one DeleteStack per stack per run, never a loop.
 */
import { Duration, Stack, TimeZone, Validations } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as schedulerTargets from 'aws-cdk-lib/aws-scheduler-targets';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { SWEEPER_ENV } from '../../../lambda/sandpit-sweeper/env';
import { MAINLINE_BIOME } from '../../../lambda/shared/grammar';
import type { EnvScope } from '../../../lambda/shared/scope';
import { HANDLER, LAMBDA_RUNTIME, LambdaBundles } from '../../bundling/bundler';
import { acknowledgeFunctionDecisions, acknowledgeTracingGrant } from '../../common/functions';
import { acknowledgePolicyWildcards } from '../../common/nag';
import { type LogSettings, newLogGroup } from '../../common/logs';

/** Lambda folder of the sweeper. */
export const SANDPIT_SWEEPER_FUNCTION = 'sandpit-sweeper';

export interface SandpitSweeperProps {
  readonly names: EnvScope;
  readonly logs: LogSettings;
  readonly ledger: dynamodb.ITable;
  readonly ownersTopic: sns.ITopic;
  /** The sandpit execution role, passed to DeleteStack. */
  readonly executionRole: iam.IRole;
  /** Lifetime of a sandpit whose `ttl-days` tag is missing (biomes.sandpits.defaultTtlDays). */
  readonly defaultTtlDays: number;
  /**
   * When it runs (UTC).
   * @default 06:00 every day
   */
  readonly schedule?: scheduler.ScheduleExpression;
}

export class SandpitSweeper extends Construct {
  readonly function: lambda.Function;
  readonly schedule: scheduler.Schedule;

  constructor(scope: Construct, id: string, props: SandpitSweeperProps) {
    super(scope, id);
    const { names } = props;
    const stack = Stack.of(this);
    const logGroup = newLogGroup(this, 'Logs', props.logs);
    const role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `${names.app} ${names.env} sandpit sweeper`,
    });
    logGroup.grantWrite(role);
    this.function = new lambda.Function(this, 'Function', {
      description: `${names.app} ${names.env}: warns owners of expiring sandpits and deletes expired ones`,
      code: LambdaBundles.of(this).code(SANDPIT_SWEEPER_FUNCTION),
      handler: HANDLER,
      runtime: LAMBDA_RUNTIME,
      architecture: lambda.Architecture.ARM_64,
      memorySize: 256,
      timeout: Duration.minutes(5),
      role,
      logGroup,
      // A missed day is made up by the next run: no retry may start a second round of deletes.
      retryAttempts: 0,
      tracing: lambda.Tracing.ACTIVE,
      environment: {
        [SWEEPER_ENV.appName]: names.app,
        [SWEEPER_ENV.envName]: names.env,
        [SWEEPER_ENV.ledgerTable]: props.ledger.tableName,
        [SWEEPER_ENV.ownersTopicArn]: props.ownersTopic.topicArn,
        [SWEEPER_ENV.executionRoleArn]: props.executionRole.roleArn,
        [SWEEPER_ENV.defaultTtlDays]: String(props.defaultTtlDays),
      },
    });
    acknowledgeFunctionDecisions(this.function, 'scheduled');
    Validations.of(this.function).acknowledge({
      id: 'Serverless-LambdaAsyncFailureDestination',
      reason:
        'A daily sweep that fails is logged and fully redone by the next run (it recomputes everything from the stacks and the ledger); there is no event to keep.',
    });
    acknowledgeTracingGrant(role);

    const sandpitStacks = `arn:${stack.partition}:cloudformation:${stack.region}:${stack.account}:stack/${names.sandpitFence.prefix}*/*`;
    role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'ListStacks',
        // DescribeStacks without a stack name lists every stack: no resource-level permission for that.
        actions: ['cloudformation:DescribeStacks'],
        resources: ['*'],
      }),
    );
    role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'DeleteSandpitStacksWithTheExecutionRole',
        actions: ['cloudformation:DeleteStack'],
        resources: [sandpitStacks],
        conditions: { StringEquals: { 'cloudformation:RoleArn': props.executionRole.roleArn } },
      }),
    );
    role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'NeverMainOrShared',
        effect: iam.Effect.DENY,
        actions: ['cloudformation:DeleteStack'],
        resources: [names.sharedStackName, names.biome(MAINLINE_BIOME).stackName].map(
          (s) => `arn:${stack.partition}:cloudformation:${stack.region}:${stack.account}:stack/${s}/*`,
        ),
      }),
    );
    props.executionRole.grantPassRole(role);
    props.ledger.grantReadWriteData(role);
    props.ownersTopic.grantPublish(role);
    acknowledgePolicyWildcards(
      role,
      'DescribeStacks lists every stack (no resource-level permission); deletes are limited to sandpit stacks <app>-<env>-<biome> with the sandpit execution role.',
    );

    // Its own role (not CDK's stack-wide singleton), so the grant sits with this construct.
    const schedulerRole = new iam.Role(this, 'SchedulerRole', {
      assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com', {
        conditions: { StringEquals: { 'aws:SourceAccount': stack.account } },
      }),
    });
    this.schedule = new scheduler.Schedule(this, 'Daily', {
      description: `${names.app} ${names.env}: daily sandpit sweep`,
      schedule:
        props.schedule ??
        scheduler.ScheduleExpression.cron({ minute: '0', hour: '6', timeZone: TimeZone.ETC_UTC }),
      target: new schedulerTargets.LambdaInvoke(this.function, { retryAttempts: 0, role: schedulerRole }),
    });
    acknowledgePolicyWildcards(
      schedulerRole,
      "CDK's invoke grant for a schedule target covers the function and its versions (<function arn>:*); it is this one function.",
    );
  }
}
