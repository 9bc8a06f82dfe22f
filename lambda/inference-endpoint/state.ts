/**
 * The state parameter (`EnvScope.inferenceStateParameter`, JSON of InferenceState): read, written only
 * when it changes, deleted with the endpoint. The deploy trigger and the predict service read it.
 */
import { DeleteParameterCommand, PutParameterCommand } from '@aws-sdk/client-ssm';
import type { EndpointState, InferenceState } from '../shared/inference-schedule';
import { MalformedInferenceState, getInferenceState } from '../shared/inference-state';
import type { Deps } from './deps';

function isParameterNotFound(e: unknown): boolean {
  return e instanceof Error && e.name === 'ParameterNotFound';
}

/** The state, or undefined when the parameter does not exist; a malformed one throws, naming the parameter. */
export async function readState(deps: Deps): Promise<InferenceState | undefined> {
  try {
    return await getInferenceState(deps.ssm, deps.settings.scope.inferenceStateParameter);
  } catch (e) {
    if (!(e instanceof MalformedInferenceState)) throw e;
    throw new Error(
      `${e.message}. Fix it by hand (JSON {"state":"awake|waking|asleep|sleeping","since":"<ISO UTC>","endpointConfigName":"<the endpoint configuration>"}, lambda/shared/inference-schedule.ts InferenceState), or delete it and redeploy the shared stack with a changed endpoint configuration.`,
      { cause: e },
    );
  }
}

export async function writeState(deps: Deps, state: InferenceState): Promise<void> {
  await deps.ssm.send(
    new PutParameterCommand({
      Name: deps.settings.scope.inferenceStateParameter,
      Value: JSON.stringify(state),
      Type: 'String',
      Overwrite: true,
      Description: `${deps.settings.scope.app} ${deps.settings.scope.env}: whether the inference endpoint is awake (written by ${deps.settings.scope.inferenceEndpointFunctionName} only)`,
    }),
  );
}

export async function deleteState(deps: Deps): Promise<void> {
  try {
    await deps.ssm.send(new DeleteParameterCommand({ Name: deps.settings.scope.inferenceStateParameter }));
  } catch (e) {
    if (!isParameterNotFound(e)) throw e;
  }
}

export interface StateChange {
  readonly state: EndpointState;
  readonly endpointConfigName: string;
  /** Kept for `asleep` and `sleeping` only. */
  readonly wakesAt?: Date | string;
  /** Kept while in the future. */
  readonly manualUntil?: Date | string;
}

const iso = (d: Date | string) => (typeof d === 'string' ? d : d.toISOString());

/** The state after `change` at `now`: `since` moves only when the state does. */
export function nextState(prev: InferenceState | undefined, change: StateChange, now: Date): InferenceState {
  const since = prev !== undefined && prev.state === change.state ? prev.since : now.toISOString();
  const manualUntil =
    change.manualUntil !== undefined && new Date(change.manualUntil).getTime() > now.getTime()
      ? iso(change.manualUntil)
      : undefined;
  const wakesAt =
    (change.state === 'asleep' || change.state === 'sleeping') && change.wakesAt !== undefined
      ? iso(change.wakesAt)
      : undefined;
  return {
    state: change.state,
    since,
    endpointConfigName: change.endpointConfigName,
    ...(wakesAt !== undefined ? { wakesAt } : {}),
    ...(manualUntil !== undefined ? { manualUntil } : {}),
  };
}

function same(a: InferenceState | undefined, b: InferenceState): boolean {
  return (
    a !== undefined &&
    a.state === b.state &&
    a.since === b.since &&
    a.endpointConfigName === b.endpointConfigName &&
    a.wakesAt === b.wakesAt &&
    a.manualUntil === b.manualUntil
  );
}

/** Writes the state after `change` if it differs from `prev`, logs the transition, and returns it. */
export async function changeState(
  deps: Deps,
  prev: InferenceState | undefined,
  change: StateChange,
  why: string,
): Promise<InferenceState> {
  const next = nextState(prev, change, deps.now());
  if (same(prev, next)) return next;
  await writeState(deps, next);
  deps.logger.info('inference state changed', {
    from: prev?.state ?? 'none',
    to: next.state,
    why,
    state: next,
  });
  return next;
}
