/**
 * `npm run wake -- --env <env>` (scripts/wake.ts): wakes an environment's sleeping multi-model
 * endpoint now, for `inference.schedule.manualWakeHours`, by invoking the function that owns it
 * (lib/workload/shared/inference-endpoint.ts; named EnvScope.inferenceEndpointFunctionName) with
 * `{"action": "wake"}`; that function creates the endpoint and moves the state. `--status` only
 * reads the state. Runs with the caller's credentials for the environment's workload account
 * (lambda:InvokeFunction on that one function).
 */
import type { LambdaClient } from '@aws-sdk/client-lambda';
import { askInferenceOwner, OwnerAnswerError } from './inference-owner';
import { EnvScope } from '../../../lambda/shared/scope';
import { type BiomesConfig, environmentOf } from '../../config';

export class WakeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WakeError';
  }
}

export interface WakeResult {
  readonly functionName: string;
  /** What the function answered (its state, and until when it stays awake). */
  readonly answer: Record<string, unknown>;
}

/** Invokes the endpoint's owner of `envName`; refuses an unknown environment or one without a schedule. */
export async function wakeInference(
  lambda: LambdaClient,
  config: BiomesConfig,
  envName: string,
  action: 'wake' | 'status' = 'wake',
): Promise<WakeResult> {
  let environment;
  try {
    environment = environmentOf(config, envName);
  } catch (e) {
    throw new WakeError((e as Error).message);
  }
  if (!environment.inference.schedule) {
    throw new WakeError(
      `environment ${envName} has no inference.schedule in cdk.json: its endpoint is always on, there is nothing to wake`,
    );
  }
  const functionName = new EnvScope(config.appName, envName).inferenceEndpointFunctionName;
  try {
    return { functionName, answer: await askInferenceOwner(lambda, functionName, action) };
  } catch (e) {
    if (e instanceof OwnerAnswerError) throw new WakeError(e.message);
    const err = e as Error;
    throw new WakeError(
      `could not invoke ${functionName} in account ${environment.account} (${config.region}): ${err.name}: ${err.message}; use credentials of that account allowed lambda:InvokeFunction on it`,
    );
  }
}

/** One line for the terminal. */
export function describeWake(envName: string, result: WakeResult): string {
  const { state, until } = result.answer as { state?: unknown; until?: unknown };
  const inner = typeof state === 'object' && state !== null ? (state as { state?: unknown }).state : state;
  const s = typeof inner === 'string' ? inner : 'unknown';
  const awakeUntil = typeof until === 'string' ? `; awake until ${until}` : '';
  const starting = s === 'waking' ? ' (an endpoint takes about 10 minutes to start)' : '';
  return `${envName} inference: ${s}${starting}${awakeUntil}`;
}
