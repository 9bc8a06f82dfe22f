/**
 * The owner of the environment's SageMaker endpoint (issue 12, "Inference that sleeps when dev does"):
 * a custom resource `Custom::InferenceEndpoint` in place of `AWS::SageMaker::Endpoint`, and a
 * schedule that runs the same function every 5 minutes. lambda/inference-endpoint/ holds the logic.
 *
 * Why a custom resource: an endpoint is billed per instance-hour while it exists, and SageMaker has no
 * "stopped" endpoint; the only way to stop paying is DeleteEndpoint. An `AWS::SageMaker::Endpoint`
 * deleted behind CloudFormation's back breaks the next deploy that touches it (its update calls
 * UpdateEndpoint on an endpoint that is gone) and drifts. Owning the endpoint through a custom
 * resource whose handler knows the schedule keeps CloudFormation's view true at every hour: it holds
 * the endpoint's *name and configuration*, the state parameter says whether the endpoint exists now,
 * and a deploy outside the hours changes only the state (the next wake creates the endpoint from the
 * new configuration). SageMaker Serverless Inference, which scales to zero, does not host multi-model
 * endpoints ("Serverless Inference ... does not support ... multi-model endpoints", SageMaker
 * Developer Guide, "Feature exclusions" of serverless endpoints), so it is not a way out here.
 *
 * - onEvent (`index.handler`) and isComplete (`index.isComplete`): the Provider framework polls
 *   isComplete every 30 s for up to an hour, so a container that cannot start fails the deploy with
 *   SageMaker's FailureReason, as the L1 endpoint did.
 * - The schedule (EventBridge Scheduler, every 5 minutes, every environment) sends `{"action":
 *   "reconcile"}`: it creates or deletes the endpoint to match the schedule and a manual wake, never
 *   while anything else acts on it, and delivers the model deploys that waited for it (ledger
 *   partition WAITING_PK) to the deploy trigger. In an environment without a schedule it only keeps
 *   the endpoint there (one recreated after a hand delete within 5 minutes).
 * - `npm run wake -- --env <env>` invokes the function (named EnvScope.inferenceEndpointFunctionName)
 *   with `{"action": "wake"}`, `--status` with `{"action": "status"}`.
 *
 * Permissions: DescribeEndpoint, CreateEndpoint, UpdateEndpoint, DeleteEndpoint on this endpoint only
 * (CreateEndpoint and UpdateEndpoint also authorize the endpoint configuration they name, and
 * CreateEndpoint's tags need AddTags: Service Authorization Reference, Amazon SageMaker); CreateGrant on
 * the model key, which the endpoint configuration names for the instance volumes ("The KMS key policy
 * must grant permission to the IAM role that you specify in your CreateEndpoint, UpdateEndpoint
 * requests", CreateEndpointConfig `KmsKeyId`); the state parameter; the ledger's waiting items; invoking
 * the deploy trigger.
 */
import { CustomResource, Duration, Stack, Validations } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as schedulerTargets from 'aws-cdk-lib/aws-scheduler-targets';
import * as cr from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import { INFERENCE_ENDPOINT_ENV as ENV } from '../../../lambda/inference-endpoint/env';
import { PROPERTY, RESOURCE_TYPE, scheduleText } from '../../../lambda/inference-endpoint/properties';
import { LEDGER_PARTITION_KEY } from '../../../lambda/deploy-trigger/ledger-keys';
import { type InferenceSchedule, WAITING_PK } from '../../../lambda/shared/inference-schedule';
import type { EnvScope } from '../../../lambda/shared/scope';
import { HANDLER, LAMBDA_RUNTIME, LambdaBundles } from '../../bundling/bundler';
import {
  acknowledgeFunctionDecisions,
  acknowledgeProviderFramework,
  acknowledgeTracingGrant,
  type Invocation,
} from '../../common/functions';
import { type LogSettings, newLogGroup } from '../../common/logs';
import { acknowledgePolicyWildcards } from '../../common/nag';

/** Lambda folder of the endpoint's owner. */
export const INFERENCE_ENDPOINT_FUNCTION = 'inference-endpoint';

/** How often the schedule reconciles the endpoint with what is wanted. */
export const RECONCILE_EVERY = Duration.minutes(5);

/** How long CloudFormation waits for an endpoint to be in service (creation takes about 10 minutes). */
export const ENDPOINT_WAIT = Duration.hours(1);

export interface InferenceEndpointProps {
  /** App and environment: the endpoint, state parameter and function names. */
  readonly names: EnvScope;
  readonly logs: LogSettings;
  /** The endpoint configuration the endpoint runs (a new one is an UpdateEndpoint, or waits for the wake). */
  readonly endpointConfigName: string;
  /** When the endpoint is awake; undefined: always (prod). */
  readonly schedule?: InferenceSchedule;
  /** The key of the endpoint configuration's volumes (undefined on instances with local storage). */
  readonly volumeKey?: kms.IKey;
  /** The ledger: model deploys waiting for the endpoint. */
  readonly ledger: dynamodb.ITable;
  /** The deploy trigger, which waiting model deploys are delivered to. */
  readonly deployTrigger: lambda.IFunction;
}

export class InferenceEndpoint extends Construct {
  /** onEvent, reconcile, wake and status. */
  readonly function: lambda.Function;
  readonly isCompleteFunction: lambda.Function;
  readonly resource: CustomResource;
  readonly schedule: scheduler.Schedule;
  /** The endpoint's name, known at synth (EnvScope.endpointName): IAM ARNs of callers match it. */
  readonly endpointName: string;

  constructor(scope: Construct, id: string, props: InferenceEndpointProps) {
    super(scope, id);
    const { names } = props;
    const stack = Stack.of(this);
    this.endpointName = names.endpointName;

    const role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `${names.app} ${names.env}: owns the inference endpoint (creates, updates, deletes it)`,
    });
    const code = LambdaBundles.of(this).code(INFERENCE_ENDPOINT_FUNCTION);
    const environment = {
      [ENV.appName]: names.app,
      [ENV.envName]: names.env,
      [ENV.ledgerTable]: props.ledger.tableName,
      [ENV.deployTrigger]: props.deployTrigger.functionName,
      [ENV.schedule]: scheduleText(props.schedule),
    };
    const fn = (
      fid: string,
      handler: string,
      functionName: string | undefined,
      description: string,
      invocation: Invocation,
    ) => {
      const logGroup = newLogGroup(this, `${fid}Logs`, props.logs);
      logGroup.grantWrite(role);
      const f = new lambda.Function(this, fid, {
        ...(functionName ? { functionName } : {}),
        description,
        code,
        handler,
        runtime: LAMBDA_RUNTIME,
        architecture: lambda.Architecture.ARM_64,
        memorySize: 256,
        timeout: Duration.minutes(1),
        role,
        logGroup,
        environment,
        // A missed reconcile is made up 5 minutes later (only the schedule invokes asynchronously).
        ...(invocation === 'scheduled' ? { retryAttempts: 0 } : {}),
        tracing: lambda.Tracing.ACTIVE,
      });
      acknowledgeFunctionDecisions(f, invocation);
      if (invocation === 'scheduled') {
        Validations.of(f).acknowledge({
          id: 'Serverless-LambdaAsyncFailureDestination',
          reason:
            'Only its 5-minute reconcile is asynchronous: a failed run is logged and the next one does the same work from what SageMaker, the state and the ledger say; there is no event to keep.',
        });
      }
      return f;
    };
    this.function = fn(
      'Function',
      HANDLER,
      names.inferenceEndpointFunctionName,
      `${names.app} ${names.env}: the inference endpoint's owner (custom resource, schedule, npm run wake)`,
      'scheduled',
    );
    this.isCompleteFunction = fn(
      'IsComplete',
      HANDLER.replace(/\.handler$/, '.isComplete'),
      undefined,
      `${names.app} ${names.env}: waits for the inference endpoint for CloudFormation`,
      'synchronous',
    );
    acknowledgeTracingGrant(role);

    const endpointArn = stack.formatArn({
      service: 'sagemaker',
      resource: 'endpoint',
      resourceName: names.endpointName,
    });
    const endpointConfigs = stack.formatArn({
      service: 'sagemaker',
      resource: 'endpoint-config',
      resourceName: '*',
    });
    role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'OwnTheEndpoint',
        actions: [
          'sagemaker:DescribeEndpoint',
          'sagemaker:CreateEndpoint',
          'sagemaker:UpdateEndpoint',
          'sagemaker:DeleteEndpoint',
          'sagemaker:AddTags',
        ],
        resources: [endpointArn],
      }),
    );
    role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'WithItsConfigurations',
        // CreateEndpoint and UpdateEndpoint authorize the configuration too; its name is generated by
        // CloudFormation (a new one per change), so it cannot be named here.
        actions: ['sagemaker:CreateEndpoint', 'sagemaker:UpdateEndpoint'],
        resources: [endpointConfigs],
      }),
    );
    if (props.volumeKey) {
      role.addToPolicy(
        new iam.PolicyStatement({
          sid: 'VolumeKeyGrants',
          actions: ['kms:CreateGrant', 'kms:DescribeKey'],
          resources: [props.volumeKey.keyArn],
        }),
      );
    }
    const stateArn = stack.formatArn({
      service: 'ssm',
      resource: 'parameter',
      resourceName: names.inferenceStateParameter.slice(1),
    });
    role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'State',
        actions: ['ssm:GetParameter', 'ssm:PutParameter', 'ssm:DeleteParameter'],
        resources: [stateArn],
      }),
    );
    role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'WaitingDeploys',
        actions: ['dynamodb:Query', 'dynamodb:DeleteItem'],
        resources: [props.ledger.tableArn],
        conditions: { 'ForAllValues:StringEquals': { 'dynamodb:LeadingKeys': [WAITING_PK] } },
      }),
    );
    props.ledger.encryptionKey?.grantDecrypt(role);
    props.deployTrigger.grantInvoke(role);
    acknowledgePolicyWildcards(
      role,
      `The endpoint configuration's name is CloudFormation's (a new one per change); CreateEndpoint and UpdateEndpoint name it besides this one endpoint. Invoking the deploy trigger covers its versions (<function arn>:*). The ledger is read only in partition ${WAITING_PK} (${LEDGER_PARTITION_KEY}, dynamodb:LeadingKeys).`,
    );

    const frameworkLogs = newLogGroup(this, 'FrameworkLogs', props.logs);
    // Two roles: one shared by onEvent and isComplete would close a dependency cycle through the
    // waiter state machine (onEvent's role starts it, its role invokes isComplete's framework function).
    const frameworkRole = (rid: string) => {
      const r = new iam.Role(this, rid, { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
      frameworkLogs.grantWrite(r);
      return r;
    };
    const onEventRole = frameworkRole('FrameworkRole');
    const completeRole = frameworkRole('FrameworkCompleteRole');
    const waiterLogs = newLogGroup(this, 'WaiterLogs', props.logs, {
      logGroupName: names.inferenceEndpointWaiterLogGroupName,
    });
    const provider = new cr.Provider(this, 'Provider', {
      onEventHandler: this.function,
      isCompleteHandler: this.isCompleteFunction,
      queryInterval: Duration.seconds(30),
      totalTimeout: ENDPOINT_WAIT,
      logGroup: frameworkLogs,
      frameworkOnEventRole: onEventRole,
      frameworkCompleteAndTimeoutRole: completeRole,
      disableWaiterStateMachineLogging: false,
      waiterStateMachineLogOptions: {
        destination: waiterLogs,
        level: sfn.LogLevel.ALL,
        includeExecutionData: false,
      },
    });
    acknowledgeProviderFramework(provider);
    // The framework's waiter state machine offers no tracing setting (aws-cdk-lib custom-resources
    // waiter-state-machine.js renders only its definition, role and logging): set it on the L1, as
    // Control Tower's CT.STEPFUNCTIONS.PR.2 asks, and let its role send traces.
    const waiter = provider.node.findChild('waiter-state-machine');
    (waiter.node.defaultChild as sfn.CfnStateMachine).tracingConfiguration = { enabled: true };
    const waiterRole = waiter.node.findChild('Role') as iam.Role;
    waiterRole.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: [
          'xray:PutTraceSegments',
          'xray:PutTelemetryRecords',
          'xray:GetSamplingRules',
          'xray:GetSamplingTargets',
        ],
        resources: ['*'],
      }),
    );
    for (const r of [onEventRole, completeRole, waiterRole]) {
      acknowledgePolicyWildcards(
        r,
        "The CDK Provider framework invokes any version of this construct's own functions (<function arn>:*); its waiter's log delivery and X-Ray have no resource-level permissions.",
      );
    }

    this.resource = new CustomResource(this, 'Resource', {
      serviceToken: provider.serviceToken,
      resourceType: RESOURCE_TYPE,
      properties: {
        [PROPERTY.endpointName]: names.endpointName,
        [PROPERTY.endpointConfigName]: props.endpointConfigName,
        [PROPERTY.schedule]: scheduleText(props.schedule),
        [PROPERTY.env]: names.env,
      },
    });

    const schedulerRole = new iam.Role(this, 'SchedulerRole', {
      assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com', {
        conditions: { StringEquals: { 'aws:SourceAccount': stack.account } },
      }),
    });
    this.schedule = new scheduler.Schedule(this, 'Reconcile', {
      description: `${names.app} ${names.env}: keeps the inference endpoint as its schedule wants`,
      schedule: scheduler.ScheduleExpression.rate(RECONCILE_EVERY),
      target: new schedulerTargets.LambdaInvoke(this.function, {
        input: scheduler.ScheduleTargetInput.fromObject({ action: 'reconcile' }),
        retryAttempts: 0,
        role: schedulerRole,
      }),
    });
    // The first reconcile must find the state the custom resource writes.
    this.schedule.node.addDependency(this.resource);
    acknowledgePolicyWildcards(
      schedulerRole,
      "CDK's invoke grant for a schedule target covers the function and its versions (<function arn>:*); it is this one function.",
    );
  }
}
