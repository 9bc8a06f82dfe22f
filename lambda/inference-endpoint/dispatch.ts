/**
 * Which of its entry kinds an event is: a CloudFormation request (`RequestType`), or an action
 * (`{ "action": "reconcile" }` from the schedule, `wake` / `status` from `npm run wake`).
 */
import type { InferenceState } from '../shared/inference-schedule';
import type { Deps } from './deps';
import { type ReconcileReport, type WakeResult, reconcile, status, wake } from './reconcile';
import { type IsCompleteResponse, type OnEventResponse, isComplete, onEvent } from './resource';

export const ACTIONS = ['reconcile', 'wake', 'status'] as const;
export type Action = (typeof ACTIONS)[number];

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;

export type Result = OnEventResponse | ReconcileReport | WakeResult | InferenceState;

/** The function's entry point (index.handler): onEvent, reconcile, wake or status. */
export async function handleEvent(deps: Deps, event: unknown): Promise<Result> {
  if (isObject(event) && 'RequestType' in event) return onEvent(deps, event);
  const action = isObject(event) ? event.action : undefined;
  switch (action) {
    case 'reconcile':
      return reconcile(deps);
    case 'wake':
      return wake(deps);
    case 'status':
      return status(deps);
    default:
      throw new Error(
        `unknown event ${JSON.stringify(event)?.slice(0, 200)}: invoke with {"action": "${ACTIONS.join('" | "')}"}, or as the Custom::InferenceEndpoint provider`,
      );
  }
}

/** The isComplete entry point (index.isComplete) of the same bundle. */
export async function handleIsComplete(deps: Deps, event: unknown): Promise<IsCompleteResponse> {
  return isComplete(deps, event);
}
