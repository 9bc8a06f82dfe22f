/**
 * The biome's workflow: process a batch of samples (ingest -> predict -> record the outcome) through
 * the services' `live` aliases, so it always runs what the deploy trigger made live.
 */
import { Duration } from 'aws-cdk-lib';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import type { BiomeScope } from '../../../lambda/shared/scope';
import { type LogSettings, newLogGroup } from '../../common/logs';
import { acknowledgeWildcards } from '../../common/nag';

/** State names: the tests drive the synthesized definition by them. */
export const WORKFLOW_STATES = {
  map: 'ProcessSamples',
  ingest: 'Ingest',
  predict: 'Predict',
  record: 'RecordOutcome',
  failed: 'BatchFailed',
  done: 'BatchDone',
} as const;

/** The services the workflow calls (entries of lambda/services.ts). */
export const WORKFLOW_SERVICES = ['ingest', 'predict'] as const;

/**
 * Retries a Lambda task the service throttled: throttles are not in LambdaInvoke's default retry list
 * (its service errors are, with `retryOnServiceExceptions`). Every Biomes workflow's Lambda tasks.
 */
export function retryThrottles(task: tasks.LambdaInvoke): void {
  task.addRetry({
    errors: ['Lambda.TooManyRequestsException'],
    interval: Duration.seconds(2),
    backoffRate: 2,
    maxAttempts: 6,
    jitterStrategy: sfn.JitterType.FULL,
  });
}

export interface BiomeWorkflowProps {
  /** App, environment and biome: names the log group. */
  readonly names: BiomeScope;
  /**
   * Name the state machine (BiomeScope.stateMachineName), inside the sandpit deployer's IAM fence.
   * @default false: a CloudFormation-generated name (the mainline's, unchanged)
   */
  readonly named?: boolean;
  /** How long the workflow's logs are kept. */
  /** How its log groups are kept and encrypted. */
  readonly logs: LogSettings;
  /**
   * Error names that mean "try again later" (the services already retried briefly in-function): the
   * `retryableErrors` their registry entries declare.
   */
  readonly retryableErrors: readonly string[];
  /** Alias `live` of the ingest service. */
  readonly ingest: lambda.IFunction;
  /** Alias `live` of the predict service. */
  readonly predict: lambda.IFunction;
  /** Samples processed in parallel; the shared database and endpoint are small. @default 4 */
  readonly maxConcurrency?: number;
  /** @default true */
  readonly tracing?: boolean;
}

export class BiomeWorkflow extends Construct {
  readonly stateMachine: sfn.StateMachine;
  readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: BiomeWorkflowProps) {
    super(scope, id);

    // Each service gets the item exactly as submitted, never the state's bookkeeping: ingest validates
    // it and refuses a bad one with a named error the Catch reports (a JSONPath that fails on a bad
    // item would be States.Runtime, which no Catch can handle).
    const invoke = (stateId: string, fn: lambda.IFunction, resultPath: string) => {
      const task = new tasks.LambdaInvoke(this, stateId, {
        lambdaFunction: fn,
        inputPath: '$.sample',
        payloadResponseOnly: true,
        // LambdaInvoke's own retry (payloadResponseOnly keeps it) covers Lambda service errors and throttles.
        retryOnServiceExceptions: true,
        resultPath,
      });
      retryThrottles(task);
      if (props.retryableErrors.length > 0)
        task.addRetry({
          errors: [...props.retryableErrors],
          interval: Duration.seconds(20),
          backoffRate: 2,
          maxAttempts: 3,
          jitterStrategy: sfn.JitterType.FULL,
        });
      return task;
    };

    const ingest = invoke(WORKFLOW_STATES.ingest, props.ingest, '$.ingest');
    const predict = invoke(WORKFLOW_STATES.predict, props.predict, '$.prediction');
    const record = new sfn.Pass(this, WORKFLOW_STATES.record, {
      parameters: {
        'sampleId.$': '$.ingest.sampleId',
        'ingested.$': '$.ingest.status',
        'model.$': '$.prediction.model',
        'prediction.$': '$.prediction.prediction',
        'predictionId.$': '$.prediction.predictionId',
      },
    });

    const map = new sfn.Map(this, WORKFLOW_STATES.map, {
      itemsPath: '$.samples',
      itemSelector: { 'sample.$': '$$.Map.Item.Value' },
      maxConcurrency: props.maxConcurrency ?? 4,
      // No resultPath: the outcomes replace the state, samples and all. A state carries at most 256 KB,
      // and States.DataLimitExceeded is not caught by States.ALL (Step Functions Developer Guide, "Error
      // names"), so keeping the samples beside their outcomes would fail a batch of some 1,200 samples
      // after all of them were processed. Outcomes alone (about 165 bytes each) allow some 1,500.
    });
    map.itemProcessor(ingest.next(predict).next(record));

    const failed = new sfn.Fail(this, WORKFLOW_STATES.failed, {
      comment: 'A sample failed after its retries; the error names the service and the reason.',
      errorPath: '$.failure.Error',
      causePath: '$.failure.Cause',
    });
    map.addCatch(failed, { errors: [sfn.Errors.ALL], resultPath: '$.failure' });

    const done = new sfn.Pass(this, WORKFLOW_STATES.done, {
      parameters: { 'outcomes.$': '$' },
    });

    // Named under /aws/vendedlogs/ (BiomeScope.workflowLogGroupName says why), derived from app, env
    // and biome, so two biomes never collide.
    this.logGroup = newLogGroup(this, 'Logs', props.logs, { logGroupName: props.names.workflowLogGroupName });

    this.stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      ...(props.named ? { stateMachineName: props.names.stateMachineName } : {}),
      comment: `Biomes ${props.names.env}/${props.names.biome}: ingest and score a batch of samples`,
      definitionBody: sfn.DefinitionBody.fromChainable(map.next(done)),
      stateMachineType: sfn.StateMachineType.STANDARD,
      timeout: Duration.hours(1),
      tracingEnabled: props.tracing ?? true,
      // ALL for a complete trace of state transitions; no execution data, since samples may be sensitive.
      logs: { destination: this.logGroup, level: sfn.LogLevel.ALL, includeExecutionData: false },
    });
    acknowledgeWildcards(
      this.stateMachine.role,
      ['Resource::*'],
      'CloudWatch Logs vended delivery (logs:*LogDelivery, DescribeLogGroups, resource policies) and X-Ray trace submission support no resource-level permissions; Lambda invocation stays limited to the two live aliases.',
    );
  }
}
