/**
 * The SageMaker calls on the one endpoint, and what its status means here.
 *
 * Statuses (SageMaker API Reference, DescribeEndpoint `EndpointStatus`): `Creating`, `Updating` (an
 * UpdateEndpoint runs), `SystemUpdating` (maintenance: "cannot be updated or deleted"), `RollingBack`,
 * `OutOfService`, `InService`, `Deleting`, `Failed` ("DeleteEndpoint is the only operation that can be
 * performed on a failed endpoint") and `UpdateRollbackFailed`. A missing endpoint is an error,
 * `ValidationException: Could not find endpoint "..."`, which {@link describeEndpoint} turns into `absent`.
 */
import {
  CreateEndpointCommand,
  DeleteEndpointCommand,
  DescribeEndpointCommand,
  type SageMakerClient,
  UpdateEndpointCommand,
} from '@aws-sdk/client-sagemaker';
import { TAGS } from '../shared/contracts';
import type { EnvScope } from '../shared/scope';

export interface EndpointView {
  /** SageMaker's EndpointStatus, or `absent` when there is no endpoint of that name. */
  readonly status: string;
  readonly endpointConfigName?: string;
  readonly failureReason?: string;
}

export const ABSENT = 'absent';

/**
 * Something is acting on the endpoint (CloudFormation, a previous run, SageMaker maintenance): a
 * reconcile changes nothing and never deletes it, and isComplete waits.
 */
export const BUSY_STATUSES: readonly string[] = [
  'Creating',
  'Updating',
  'SystemUpdating',
  'RollingBack',
  'Deleting',
];

export function isEndpointNotFound(e: unknown): boolean {
  return e instanceof Error && e.name === 'ValidationException' && /could not find endpoint/i.test(e.message);
}

export async function describeEndpoint(sagemaker: SageMakerClient, name: string): Promise<EndpointView> {
  try {
    const out = await sagemaker.send(new DescribeEndpointCommand({ EndpointName: name }));
    return {
      status: out.EndpointStatus ?? 'unknown',
      ...(out.EndpointConfigName !== undefined ? { endpointConfigName: out.EndpointConfigName } : {}),
      ...(out.FailureReason !== undefined ? { failureReason: out.FailureReason } : {}),
    };
  } catch (e) {
    if (isEndpointNotFound(e)) return { status: ABSENT };
    throw e;
  }
}

/** Creates the endpoint, tagged with the app and environment (cost allocation: it is the expensive part). */
export async function createEndpoint(
  sagemaker: SageMakerClient,
  scope: EnvScope,
  name: string,
  endpointConfigName: string,
): Promise<void> {
  try {
    await sagemaker.send(
      new CreateEndpointCommand({
        EndpointName: name,
        EndpointConfigName: endpointConfigName,
        Tags: [
          { Key: TAGS.app, Value: scope.app },
          { Key: TAGS.env, Value: scope.env },
        ],
      }),
    );
  } catch (e) {
    // Created meanwhile by a concurrent wake (npm run wake, the schedule's next run, a retried
    // delivery): SageMaker answers ValidationException "Cannot create already existing endpoint".
    if (!isEndpointAlreadyExisting(e)) throw e;
  }
}

export async function updateEndpoint(
  sagemaker: SageMakerClient,
  name: string,
  endpointConfigName: string,
): Promise<void> {
  await sagemaker.send(
    new UpdateEndpointCommand({ EndpointName: name, EndpointConfigName: endpointConfigName }),
  );
}

/**
 * Statuses DeleteEndpoint accepts (SageMaker API reference, EndpointStatus): the others are changing.
 * `UpdateRollbackFailed` is "in service with a mix of the old and new endpoint configurations", so it
 * runs (and bills) instances like `InService`.
 */
export const DELETABLE_STATUSES: readonly string[] = [
  'InService',
  'Failed',
  'OutOfService',
  'UpdateRollbackFailed',
];

/**
 * Statuses of an endpoint that should serve and cannot: `Failed` ("DeleteEndpoint is the only operation
 * that can be performed on a failed endpoint"), `OutOfService`, `UpdateRollbackFailed`. It is deleted
 * and created again from the current endpoint configuration.
 */
export const BROKEN_STATUSES: readonly string[] = DELETABLE_STATUSES.filter((s) => s !== 'InService');

export function isEndpointAlreadyExisting(e: unknown): boolean {
  return (
    e instanceof Error && e.name === 'ValidationException' && /already existing endpoint/i.test(e.message)
  );
}

/** Deletes the endpoint; one that is already gone is fine. */
export async function deleteEndpoint(sagemaker: SageMakerClient, name: string): Promise<void> {
  try {
    await sagemaker.send(new DeleteEndpointCommand({ EndpointName: name }));
  } catch (e) {
    if (!isEndpointNotFound(e)) throw e;
  }
}

/** `endpoint <name> failed: <FailureReason>`, the text CloudFormation shows when a deploy fails on it. */
export function failureMessage(name: string, view: EndpointView, what = 'failed'): string {
  return `SageMaker endpoint ${name} ${what}: ${view.failureReason ?? 'SageMaker gave no FailureReason'} (status ${view.status}${
    view.endpointConfigName ? `, endpoint configuration ${view.endpointConfigName}` : ''
  }); see the endpoint's CloudWatch logs /aws/sagemaker/Endpoints/${name}`;
}
