/**
 * The schedule's side of the endpoint's owner (issue 12 "Inference that sleeps when dev does"):
 * {@link reconcile} every 5 minutes makes the endpoint what the schedule (and a manual wake) want, and
 * {@link wake} / {@link status} serve `npm run wake`.
 *
 * One reconcile, by what is wanted and what SageMaker says:
 *
 * | wanted | endpoint                              | does                                                        |
 * | ------ | ------------------------------------- | ----------------------------------------------------------- |
 * | awake  | absent                                | CreateEndpoint from the state's configuration; `waking`     |
 * | awake  | InService                             | `awake` (if not yet); delivers the waiting model deploys    |
 * | awake  | Failed                                | nothing (logged): the sleep deletes it, the next wake retries |
 * | asleep | InService or Failed                   | DeleteEndpoint; `sleeping`                                  |
 * | asleep | absent                                | `asleep` with `wakesAt`                                     |
 * | any    | Creating, Updating, SystemUpdating, RollingBack, Deleting, other | nothing: CloudFormation, a previous run or SageMaker is acting |
 *
 * It never deletes while anything else acts on the endpoint, so it cannot cut a CloudFormation update
 * short. Waiting deploys are delivered on every run that finds the endpoint awake and in service (not
 * only on the run that marks it awake), so one written by a deploy trigger that read `waking` just before
 * the endpoint came up waits at most 5 minutes.
 */
import type { InferenceState } from '../shared/inference-schedule';
import { desiredAt } from '../shared/inference-schedule';
import type { Deps } from './deps';
import {
  ABSENT,
  BROKEN_STATUSES,
  createEndpoint,
  deleteEndpoint,
  DELETABLE_STATUSES,
  describeEndpoint,
  failureMessage,
} from './endpoint';
import { changeState, readState, writeState, nextState } from './state';
import { deliverWaiting } from './waiting';

export type ReconcileAction =
  | 'none'
  | 'created'
  | 'marked-awake'
  | 'delivered'
  | 'deleted'
  | 'marked-asleep'
  | 'busy'
  | 'failed'
  | 'missing-state';

export interface ReconcileReport {
  /** The state after the run (`missing` when the state parameter does not exist). */
  readonly state: InferenceState['state'] | 'missing';
  readonly desired: 'awake' | 'asleep';
  readonly action: ReconcileAction;
  /** SageMaker's status of the endpoint, or `absent`. */
  readonly endpoint?: string;
  /** Waiting model deploys sent to the deploy trigger by this run. */
  readonly delivered?: number;
}

const manualOf = (state: InferenceState | undefined) =>
  state?.manualUntil !== undefined ? new Date(state.manualUntil) : undefined;

/** One reconcile at `deps.now()`; `known` skips reading the state (a wake has just written it). */
export async function reconcile(deps: Deps, known?: InferenceState): Promise<ReconcileReport> {
  const { settings, logger } = deps;
  const now = deps.now();
  const name = settings.scope.endpointName;
  const state = known ?? (await readState(deps));
  const desired = desiredAt(settings.schedule, now, manualOf(state));
  const wanted = desired.awake ? 'awake' : 'asleep';
  if (state === undefined) {
    // The endpoint configuration is known only to CloudFormation (the custom resource's property), so a
    // state parameter deleted by hand cannot be rebuilt here: the next deploy that changes the endpoint
    // configuration (or a delete and re-create of the custom resource) writes it again.
    logger.error('the inference state parameter is missing: nothing done', {
      parameter: settings.scope.inferenceStateParameter,
      fix: 'redeploy the shared stack with a changed endpoint configuration, or put the state back by hand',
    });
    return { state: 'missing', desired: wanted, action: 'missing-state' };
  }
  const endpoint = await describeEndpoint(deps.sagemaker, name);
  const report = (next: InferenceState, action: ReconcileAction, delivered?: number): ReconcileReport => {
    const r: ReconcileReport = {
      state: next.state,
      desired: wanted,
      action,
      endpoint: endpoint.status,
      ...(delivered !== undefined ? { delivered } : {}),
    };
    logger.info('inference reconcile', { ...r });
    return r;
  };
  const base = { endpointConfigName: state.endpointConfigName, manualUntil: state.manualUntil };

  if (desired.awake) {
    if (endpoint.status === ABSENT) {
      await createEndpoint(deps.sagemaker, settings.scope, name, state.endpointConfigName);
      logger.info('inference endpoint waking: CreateEndpoint', {
        endpoint: name,
        endpointConfigName: state.endpointConfigName,
        until: desired.until?.toISOString(),
      });
      const next = await changeState(deps, state, { ...base, state: 'waking' }, 'scheduled or manual wake');
      return report(next, 'created');
    }
    if (endpoint.status === 'InService') {
      const marked = state.state !== 'awake';
      const next = await changeState(deps, state, { ...base, state: 'awake' }, 'endpoint in service');
      const { delivered } = await deliverWaiting(deps);
      return report(next, marked ? 'marked-awake' : delivered > 0 ? 'delivered' : 'none', delivered);
    }
    if (BROKEN_STATUSES.includes(endpoint.status)) {
      // Where nothing puts it to sleep (prod) it would stay broken for good, elsewhere until the next
      // sleep: deleted now, and created again by the next run (5 minutes later) from the current
      // endpoint configuration.
      await deleteEndpoint(deps.sagemaker, name);
      logger.error('inference endpoint broken while it should serve: deleted, to be created again', {
        reason: failureMessage(name, endpoint, endpoint.status === 'Failed' ? 'failed' : 'cannot serve'),
      });
      const next = await changeState(
        deps,
        state,
        { ...base, state: 'waking' },
        'endpoint broken, re-creating',
      );
      return report(next, 'failed');
    }
    return report(state, 'busy');
  }

  if (endpoint.status === ABSENT) {
    const next = await changeState(
      deps,
      state,
      { ...base, state: 'asleep', wakesAt: desired.wakesAt },
      'endpoint gone outside the schedule',
    );
    return report(
      next,
      next.state === state.state && next.wakesAt === state.wakesAt ? 'none' : 'marked-asleep',
    );
  }
  if (DELETABLE_STATUSES.includes(endpoint.status)) {
    await deleteEndpoint(deps.sagemaker, name);
    logger.info('inference endpoint going to sleep: DeleteEndpoint', {
      endpoint: name,
      status: endpoint.status,
      wakesAt: desired.wakesAt?.toISOString(),
    });
    const next = await changeState(
      deps,
      state,
      { ...base, state: 'sleeping', wakesAt: desired.wakesAt },
      'outside the schedule',
    );
    return report(next, 'deleted');
  }
  return report(state, 'busy');
}

export interface WakeResult {
  readonly state: InferenceState['state'];
  /** When it goes to sleep again (ISO); absent where the endpoint is always awake. */
  readonly until?: string;
}

async function requireState(deps: Deps): Promise<InferenceState> {
  const state = await readState(deps);
  if (state === undefined) {
    throw new Error(
      `SSM parameter ${deps.settings.scope.inferenceStateParameter} does not exist: deploy the shared stack ${deps.settings.scope.sharedStackName} (its Custom::InferenceEndpoint writes it).`,
    );
  }
  return state;
}

/**
 * `npm run wake`: awake at least `manualWakeHours` from now (a later manual wake already asked for is
 * kept), then one reconcile. Where the endpoint is always awake, only the reconcile.
 */
export async function wake(deps: Deps): Promise<WakeResult> {
  const { schedule } = deps.settings;
  const now = deps.now();
  let state = await requireState(deps);
  if (schedule !== undefined) {
    const asked = new Date(now.getTime() + schedule.manualWakeHours * 3_600_000);
    const before = manualOf(state);
    const manualUntil = before !== undefined && before.getTime() > asked.getTime() ? before : asked;
    const next = nextState(state, { ...state, manualUntil }, now);
    await writeState(deps, next);
    deps.logger.info('inference manual wake', { manualUntil: next.manualUntil, before: state.manualUntil });
    state = next;
  }
  const report = await reconcile(deps, state);
  const until = desiredAt(schedule, now, manualOf(state)).until;
  return {
    state: report.state === 'missing' ? state.state : report.state,
    ...(until !== undefined ? { until: until.toISOString() } : {}),
  };
}

/** `npm run wake -- --status`: the state as it is. */
export async function status(deps: Deps): Promise<InferenceState> {
  return requireState(deps);
}
