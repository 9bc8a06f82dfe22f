/**
 * The decisions every Biomes Lambda function shares, acknowledged where a function is made (cdk-nag
 * AwsSolutions and Serverless packs), so a function made without them still fails the checks.
 */
import { Validations } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';
import { acknowledgeWildcards } from './nag';

const RUNTIME_REASON =
  'Every Biomes function pins the runtime in lib/bundling/bundler.ts (Node.js 22) so esbuild targets the same Node version; a runtime bump is one deliberate change for all functions at once.';

/** How a function is invoked, which decides whether a dead-letter queue can apply. */
export type Invocation =
  /** A caller waits for the answer (Step Functions, the deploy trigger's smoke check, CloudFormation's provider framework): errors go back to it, a DLQ would never receive anything. */
  | 'synchronous'
  /** Asynchronous, with an on-failure destination (an SQS queue), which replaces a DeadLetterConfig and also receives the error. */
  | 'asynchronous-with-destination'
  /** Started by an EventBridge Scheduler schedule without retries; the next run does the work again. */
  | 'scheduled';

const DLQ_REASON: Record<Invocation, string> = {
  synchronous:
    'Invoked synchronously only (its caller gets the error and retries or records it); a dead-letter queue applies to asynchronous invocations.',
  'asynchronous-with-destination':
    "Asynchronous failures go to an SQS on-failure destination, which carries the error and the request (Lambda's successor to a DeadLetterConfig).",
  scheduled:
    'Started by an EventBridge Scheduler schedule without retries: a failed run is logged, and the next scheduled run recomputes everything from what AWS and the ledger say, so there is nothing to redrive.',
};

/** Acknowledges the pinned runtime and the dead-letter decision of `fn` (our own functions, traced). */
export function acknowledgeFunctionDecisions(fn: IConstruct, invocation: Invocation): void {
  Validations.of(fn).acknowledge(
    { id: 'AwsSolutions-L1', reason: RUNTIME_REASON },
    { id: 'Serverless-LambdaLatestVersion', reason: RUNTIME_REASON },
    { id: 'Serverless-LambdaDLQ', reason: DLQ_REASON[invocation] },
  );
}

/**
 * The same for the CDK Provider framework's own function: CDK picks its runtime and sets neither
 * memory nor tracing, and the construct exposes no setting for them (aws-cdk-lib custom-resources
 * ProviderProps). CloudFormation invokes it synchronously and reads its answer.
 */
export function acknowledgeProviderFramework(scope: IConstruct): void {
  const reason =
    "The CDK Provider framework's function: CDK chooses its runtime and offers no setting for its memory or tracing; CloudFormation calls it synchronously.";
  Validations.of(scope).acknowledge(
    { id: 'AwsSolutions-L1', reason },
    { id: 'Serverless-LambdaLatestVersion', reason },
    { id: 'Serverless-LambdaDefaultMemorySize', reason },
    { id: 'Serverless-LambdaTracing', reason },
    { id: 'Serverless-LambdaDLQ', reason },
  );
}

/**
 * X-Ray's write actions (PutTraceSegments, PutTelemetryRecords) have no resource-level permissions;
 * CDK grants them on `*` to every traced function's role.
 */
export function acknowledgeTracingGrant(role: IConstruct): void {
  acknowledgeWildcards(
    role,
    ['Resource::*'],
    'X-Ray trace submission (xray:PutTraceSegments, xray:PutTelemetryRecords) supports no resource-level permissions.',
  );
}
