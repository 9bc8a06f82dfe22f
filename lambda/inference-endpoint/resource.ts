/**
 * CloudFormation's side of the endpoint's owner: the Provider framework's onEvent and isComplete for
 * `Custom::InferenceEndpoint` (./properties). The physical id is the endpoint's name.
 *
 * - Create: inside the schedule's hours (or always, without a schedule) CreateEndpoint, or adopt an
 *   endpoint of that name that already exists (UpdateEndpoint when its configuration differs); isComplete
 *   waits for InService, and `Failed` fails the deploy with SageMaker's FailureReason, so a container
 *   that cannot start rolls the stack back as the L1 `AWS::SageMaker::Endpoint` did. Outside the hours no
 *   endpoint: state `asleep`, complete at once.
 * - Update: a new configuration on an endpoint in service is an UpdateEndpoint, waited for like a create;
 *   SageMaker rolls a failed update back to the old configuration, which isComplete reports as a failure
 *   with the FailureReason. While the endpoint sleeps (absent or being deleted) only the state takes the
 *   new configuration, which the next wake uses. A new EndpointName is a replacement (Create of the new
 *   one, then Delete of the old one by CloudFormation).
 * - Delete: DeleteEndpoint, wait until gone, delete the state parameter (only the owner's current
 *   endpoint's: the Delete of a replaced endpoint leaves the new one's state alone).
 *
 * A failed endpoint accepts DeleteEndpoint only, so Create and Update replace one (delete, wait, create).
 * An endpoint that something else is changing (a scheduled wake creating it, maintenance) cannot be
 * updated: that Update fails with a message to deploy again, and its rollback (back to the configuration
 * the endpoint runs) succeeds.
 */
import * as z from 'zod/mini';
import type { InferenceState } from '../shared/inference-schedule';
import { desiredAt } from '../shared/inference-schedule';
import { issueLines } from '../shared/issues';
import type { Deps } from './deps';
import {
  ABSENT,
  type EndpointView,
  BROKEN_STATUSES,
  createEndpoint,
  deleteEndpoint,
  DELETABLE_STATUSES,
  describeEndpoint,
  failureMessage,
  updateEndpoint,
} from './endpoint';
import {
  AWAITS,
  AWAITS_KEY,
  type Awaits,
  type InferenceEndpointProperties,
  RESOURCE_TYPE,
  parseProperties,
} from './properties';
import { changeState, deleteState, readState } from './state';
import { deliverWaiting } from './waiting';

const base = {
  ResourceProperties: z.record(z.string(), z.unknown()),
  Data: z.optional(z.record(z.string(), z.unknown())),
};
export const requestSchema = z.discriminatedUnion('RequestType', [
  z.object({ RequestType: z.literal('Create'), PhysicalResourceId: z.optional(z.string()), ...base }),
  z.object({ RequestType: z.literal('Update'), PhysicalResourceId: z.string(), ...base }),
  z.object({ RequestType: z.literal('Delete'), PhysicalResourceId: z.string(), ...base }),
]);
export type ResourceRequest = z.infer<typeof requestSchema>;

export interface OnEventResponse {
  readonly PhysicalResourceId: string;
  readonly Data: { readonly [AWAITS_KEY]: Awaits };
}

export interface IsCompleteResponse {
  readonly IsComplete: boolean;
}

export function parseRequest(raw: unknown): ResourceRequest {
  const parsed = requestSchema.safeParse(raw);
  if (!parsed.success) {
    throw new Error(
      `not a CloudFormation request for ${RESOURCE_TYPE} (${issueLines(parsed.error, '(request)').join('; ')})`,
    );
  }
  return parsed.data;
}

function propertiesOf(deps: Deps, request: ResourceRequest): InferenceEndpointProperties {
  const props = parseProperties(request.ResourceProperties);
  if (props.env !== deps.settings.scope.env) {
    throw new Error(
      `${RESOURCE_TYPE} property Env is "${props.env}", but this function serves environment "${deps.settings.scope.env}": each environment's shared stack has its own provider.`,
    );
  }
  return props;
}

const respond = (name: string, awaits: Awaits): OnEventResponse => ({
  PhysicalResourceId: name,
  Data: { [AWAITS_KEY]: awaits },
});

const busyError = (name: string, view: EndpointView) =>
  new Error(
    `SageMaker endpoint ${name} is ${view.status} (a scheduled or manual wake, an earlier change or SageMaker maintenance is changing it), so it cannot take endpoint configuration changes now; deploy again once it is InService (aws sagemaker describe-endpoint --endpoint-name ${name}).`,
  );

/** Create (and the Create half of a replacement). */
async function create(deps: Deps, props: InferenceEndpointProperties): Promise<OnEventResponse> {
  const { endpointName: name, endpointConfigName: config } = props;
  const now = deps.now();
  const previous = await readState(deps).catch(() => undefined); // a fresh resource: an old state is only advice
  const desired = desiredAt(props.schedule, now, undefined);
  if (!desired.awake) {
    await changeState(
      deps,
      previous,
      { state: 'asleep', endpointConfigName: config, wakesAt: desired.wakesAt },
      'created outside the schedule',
    );
    return respond(name, AWAITS.nothing);
  }
  return converge(deps, props, previous, 'created');
}

/** Brings an endpoint that should be awake onto `props`' configuration; isComplete waits for it. */
async function converge(
  deps: Deps,
  props: InferenceEndpointProperties,
  previous: InferenceState | undefined,
  why: string,
): Promise<OnEventResponse> {
  const { endpointName: name, endpointConfigName: config } = props;
  const view = await describeEndpoint(deps.sagemaker, name);
  const waking = { endpointConfigName: config, manualUntil: previous?.manualUntil };
  if (view.status === ABSENT) {
    // The state first: if writing it fails, nothing was created. The other way round, a failed write
    // after CreateEndpoint fails the Create, and the Provider framework skips the rollback's Delete of
    // a resource whose Create failed, so the endpoint would run outside any stack, billing.
    await changeState(deps, previous, { ...waking, state: 'waking' }, why);
    await createEndpoint(deps.sagemaker, deps.settings.scope, name, config);
    deps.logger.info('CreateEndpoint', { endpoint: name, endpointConfigName: config, why });
    return respond(name, AWAITS.inService);
  }
  if (BROKEN_STATUSES.includes(view.status)) {
    // Failed, OutOfService, UpdateRollbackFailed: the reconcile's rule (./endpoint BROKEN_STATUSES).
    await deleteEndpoint(deps.sagemaker, name);
    deps.logger.warn('replacing a broken endpoint: DeleteEndpoint, then CreateEndpoint once gone', {
      endpoint: name,
      status: view.status,
      reason: view.failureReason,
    });
    await changeState(deps, previous, { ...waking, state: 'waking' }, `${why}, replacing a failed endpoint`);
    return respond(name, AWAITS.recreate);
  }
  if (view.status === 'InService') {
    if (view.endpointConfigName !== config) {
      await updateEndpoint(deps.sagemaker, name, config);
      deps.logger.info('UpdateEndpoint', { endpoint: name, from: view.endpointConfigName, to: config, why });
    }
    // The state takes the new configuration once isComplete sees it in service: a failed update
    // leaves the configuration the endpoint still runs in the state.
    if (previous === undefined) {
      await changeState(
        deps,
        previous,
        { endpointConfigName: view.endpointConfigName ?? config, state: 'waking' },
        `${why}, adopting endpoint ${name}`,
      );
    }
    return respond(name, AWAITS.inService);
  }
  if (view.status === 'Deleting') {
    // A sleep (or a replaced resource) is still deleting it: create it again once it is gone.
    await changeState(deps, previous, { ...waking, state: 'waking' }, `${why}, while a delete runs`);
    return respond(name, AWAITS.recreate);
  }
  if (view.endpointConfigName === config) {
    // Being created or changed already onto this configuration (a wake, or SageMaker maintenance): wait.
    return respond(name, AWAITS.inService);
  }
  throw busyError(name, view);
}

async function update(deps: Deps, props: InferenceEndpointProperties): Promise<OnEventResponse> {
  const { endpointName: name, endpointConfigName: config, schedule } = props;
  const previous = await readState(deps);
  if (previous === undefined) return create(deps, props);
  if (schedule === undefined) {
    // Always awake: no reconcile runs, so this request must leave the endpoint awake on `config`.
    return converge(deps, props, previous, 'updated');
  }
  const now = deps.now();
  const desired = desiredAt(schedule, now, previous.manualUntil ? new Date(previous.manualUntil) : undefined);
  const view = await describeEndpoint(deps.sagemaker, name);
  const keep = { endpointConfigName: config, manualUntil: previous.manualUntil };
  if (view.status === ABSENT) {
    // Asleep: the next wake creates the endpoint from the stored configuration (within 5 minutes when the
    // schedule wants it awake now). A schedule change is in the function's environment, which
    // CloudFormation updated first; the reconcile applies it.
    await changeState(
      deps,
      previous,
      { ...keep, state: 'asleep', wakesAt: desired.wakesAt ?? now },
      'updated while asleep',
    );
    return respond(name, AWAITS.nothing);
  }
  if (view.status === 'Deleting') {
    await changeState(
      deps,
      previous,
      { ...keep, state: 'sleeping', wakesAt: desired.wakesAt ?? previous.wakesAt },
      'updated while going to sleep',
    );
    return respond(name, AWAITS.nothing);
  }
  if (view.status === 'Failed' && !desired.awake) {
    // Outside the hours a failed endpoint is not replaced but deleted: the next wake creates it from `config`.
    await deleteEndpoint(deps.sagemaker, name);
    await changeState(
      deps,
      previous,
      { ...keep, state: 'sleeping', wakesAt: desired.wakesAt },
      'updated outside the schedule: failed endpoint deleted',
    );
    return respond(name, AWAITS.nothing);
  }
  return converge(deps, props, previous, 'updated');
}

async function remove(deps: Deps, name: string): Promise<OnEventResponse> {
  const view = await describeEndpoint(deps.sagemaker, name);
  if (deletable(view)) {
    await deleteEndpoint(deps.sagemaker, name);
    deps.logger.info('DeleteEndpoint', { endpoint: name, status: view.status });
  }
  return respond(name, AWAITS.gone);
}

/** Statuses DeleteEndpoint accepts; a busy endpoint is deleted by isComplete once it settles. */
const deletable = (view: EndpointView) => DELETABLE_STATUSES.includes(view.status);

/** The Provider framework's onEvent. */
export async function onEvent(deps: Deps, raw: unknown): Promise<OnEventResponse> {
  const request = parseRequest(raw);
  deps.logger.info('CloudFormation request', {
    requestType: request.RequestType,
    physicalResourceId: request.PhysicalResourceId,
    properties: request.ResourceProperties,
  });
  if (request.RequestType === 'Delete') return remove(deps, request.PhysicalResourceId);
  const props = propertiesOf(deps, request);
  if (request.RequestType === 'Create' || props.endpointName !== request.PhysicalResourceId) {
    // A new EndpointName is a replacement: CloudFormation deletes the old one after this.
    return create(deps, props);
  }
  return update(deps, props);
}

function awaitsOf(request: ResourceRequest): Awaits {
  const value = request.Data?.[AWAITS_KEY];
  const known = Object.values(AWAITS) as readonly unknown[];
  if (request.RequestType === 'Delete') return AWAITS.gone;
  if (known.includes(value)) return value as Awaits;
  throw new Error(
    `isComplete request without a known Data.${AWAITS_KEY} (${JSON.stringify(value)}): it must come from this function's onEvent`,
  );
}

/** The Provider framework's isComplete (every 30 s until complete, an error, or the total timeout). */
export async function isComplete(deps: Deps, raw: unknown): Promise<IsCompleteResponse> {
  const request = parseRequest(raw);
  const awaits = awaitsOf(request);
  const name = request.PhysicalResourceId;
  if (name === undefined) throw new Error('isComplete request without a PhysicalResourceId');
  if (awaits === AWAITS.nothing) return { IsComplete: true };
  const view = await describeEndpoint(deps.sagemaker, name);

  if (awaits === AWAITS.gone) {
    if (view.status === ABSENT) {
      if (name === deps.settings.scope.endpointName) await deleteState(deps);
      deps.logger.info('endpoint deleted', { endpoint: name });
      return { IsComplete: true };
    }
    if (deletable(view)) await deleteEndpoint(deps.sagemaker, name);
    return { IsComplete: false };
  }

  const props = propertiesOf(deps, request);
  const config = props.endpointConfigName;
  if (view.status === ABSENT) {
    if (awaits === AWAITS.recreate) {
      await createEndpoint(deps.sagemaker, deps.settings.scope, name, config);
      deps.logger.info('CreateEndpoint (replacing a failed endpoint)', {
        endpoint: name,
        endpointConfigName: config,
      });
      return { IsComplete: false };
    }
    throw new Error(
      `SageMaker endpoint ${name} disappeared while CloudFormation waited for it (deleted outside CloudFormation?); deploy again.`,
    );
  }
  if (view.status === 'Failed' || view.status === 'UpdateRollbackFailed') {
    if (awaits === AWAITS.recreate && view.endpointConfigName !== config) return { IsComplete: false };
    throw new Error(failureMessage(name, view));
  }
  if (view.status === 'Deleting') {
    if (awaits === AWAITS.recreate) return { IsComplete: false };
    throw new Error(
      `SageMaker endpoint ${name} is being deleted while CloudFormation waits for it (a scheduled sleep?); deploy again.`,
    );
  }
  if (view.status !== 'InService') return { IsComplete: false };
  if (view.endpointConfigName !== config) {
    throw new Error(
      failureMessage(
        name,
        view,
        `did not take endpoint configuration ${config} (SageMaker rolled the update back)`,
      ),
    );
  }
  const previous = await readState(deps);
  await changeState(
    deps,
    previous,
    { state: 'awake', endpointConfigName: config, manualUntil: previous?.manualUntil },
    'in service for CloudFormation',
  );
  await deliverWaiting(deps);
  return { IsComplete: true };
}
