/**
 * The settings of the inference endpoint's owner, parsed once from its environment (names in ./env). A
 * missing or bad value fails the cold start with the variable's name, never a wake half-way through.
 *
 * There is deliberately no endpoint configuration here: only CloudFormation knows it (the custom
 * resource's EndpointConfigName property), and the owner keeps the last one in the state parameter.
 */
import * as z from 'zod/mini';
import type { InferenceSchedule } from '../shared/inference-schedule';
import { envNameSchema, issueLines } from '../shared/issues';
import { EnvScope } from '../shared/scope';
import { INFERENCE_ENDPOINT_ENV as ENV } from './env';
import { parseScheduleText } from './properties';

export interface Settings {
  /** The app and environment (from BIOMES_APP_NAME and BIOMES_ENV_NAME): endpoint and state parameter names. */
  readonly scope: EnvScope;
  readonly ledgerTable: string;
  /** The deploy trigger (name or ARN) that waiting model deploys are delivered to. */
  readonly deployTrigger: string;
  /** When the endpoint is awake; undefined: always. */
  readonly schedule: InferenceSchedule | undefined;
}

const required = z.string().check(z.minLength(1, 'must be set'));

const schema = z.object({
  [ENV.appName]: required,
  [ENV.envName]: envNameSchema,
  [ENV.ledgerTable]: required,
  [ENV.deployTrigger]: required,
  [ENV.schedule]: required,
});

export function settingsFromEnv(env: Readonly<Record<string, string | undefined>>): Settings {
  const result = schema.safeParse(env);
  const fail = (problems: string) =>
    new Error(`inference-endpoint environment is invalid (${problems}); redeploy the shared stack.`);
  if (!result.success) throw fail(issueLines(result.error).join('; '));
  const e = result.data;
  let schedule: InferenceSchedule | undefined;
  try {
    schedule = parseScheduleText(e[ENV.schedule], ENV.schedule);
  } catch (error) {
    throw fail(error instanceof Error ? error.message : String(error));
  }
  return {
    scope: new EnvScope(e[ENV.appName], e[ENV.envName]),
    ledgerTable: e[ENV.ledgerTable],
    deployTrigger: e[ENV.deployTrigger],
    schedule,
  };
}
