/**
 * The properties of `Custom::InferenceEndpoint` (lib/workload/shared/inference-endpoint.ts writes them,
 * ./resource parses them) and the text form of a schedule that both the property and the function's
 * environment carry. CloudFormation passes every property as a string, so the schedule is JSON text, or
 * `none` for an environment whose endpoint is always awake.
 */
import * as z from 'zod/mini';
import { envNameSchema, issueLines, parseResourceProperties } from '../shared/issues';
import { type InferenceSchedule, inferenceScheduleSchema } from '../shared/inference-schedule';
import { ALWAYS_AWAKE } from './env';

export const RESOURCE_TYPE = 'Custom::InferenceEndpoint';

export const PROPERTY = {
  /** The endpoint (EnvScope.endpointName); also the resource's physical id. A new name replaces the resource. */
  endpointName: 'EndpointName',
  /** The endpoint configuration CloudFormation made; a wake creates the endpoint from it. */
  endpointConfigName: 'EndpointConfigName',
  /** JSON of the InferenceSchedule, or `none` (always awake). */
  schedule: 'Schedule',
  /** The environment; must be the function's own (a provider serves one environment). */
  env: 'Env',
} as const;

/**
 * What onEvent tells isComplete to wait for (its response's `Data`, which the Provider framework passes
 * on to every isComplete call, and which ends up as an attribute of the resource).
 */
export const AWAITS_KEY = 'Awaits';
export const AWAITS = {
  /** The endpoint was created or updated (or adopted): wait for InService on the requested configuration. */
  inService: 'in-service',
  /** A failed endpoint is being deleted: create it again once it is gone, then wait for InService. */
  recreate: 'recreate',
  /** Nothing to wait for (asleep: only the state changed). */
  nothing: 'nothing',
  /** Delete: wait until the endpoint is gone, then delete the state parameter. */
  gone: 'gone',
} as const;
export type Awaits = (typeof AWAITS)[keyof typeof AWAITS];

/** The Schedule property (and the function's schedule variable) of `schedule`. */
export function scheduleText(schedule: InferenceSchedule | undefined): string {
  return schedule === undefined ? ALWAYS_AWAKE : JSON.stringify(schedule);
}

/** The schedule a {@link scheduleText} holds; `where` names the property or variable in the error. */
export function parseScheduleText(text: string, where: string): InferenceSchedule | undefined {
  if (text === ALWAYS_AWAKE) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new Error(
      `${where} must be "${ALWAYS_AWAKE}" or the JSON of an inference schedule, not ${JSON.stringify(text.slice(0, 100))}`,
    );
  }
  const parsed = inferenceScheduleSchema.safeParse(value);
  if (!parsed.success) {
    throw new Error(
      `${where} is not a valid inference schedule: ${issueLines(parsed.error, '(schedule)').join('; ')}`,
    );
  }
  return parsed.data;
}

/** SageMaker's endpoint name rule (CreateEndpoint `EndpointName`). */
const ENDPOINT_NAME = /^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$/;

const propertiesSchema = z.object({
  [PROPERTY.endpointName]: z
    .string()
    .check(z.regex(ENDPOINT_NAME, 'must be a SageMaker endpoint name (EnvScope.endpointName)')),
  [PROPERTY.endpointConfigName]: z
    .string()
    .check(
      z.minLength(1, 'must be the endpoint configuration name (CfnEndpointConfig.attrEndpointConfigName)'),
    ),
  [PROPERTY.schedule]: z
    .string()
    .check(z.minLength(1, `must be "${ALWAYS_AWAKE}" or the JSON of an inference schedule`)),
  [PROPERTY.env]: envNameSchema,
});

export interface InferenceEndpointProperties {
  readonly endpointName: string;
  readonly endpointConfigName: string;
  /** Undefined: always awake. */
  readonly schedule: InferenceSchedule | undefined;
  readonly env: string;
}

/** Parses the properties, or throws an error that names each bad property. */
export function parseProperties(raw: unknown): InferenceEndpointProperties {
  const p = parseResourceProperties(propertiesSchema, raw, RESOURCE_TYPE);
  return {
    endpointName: p[PROPERTY.endpointName],
    endpointConfigName: p[PROPERTY.endpointConfigName],
    schedule: parseScheduleText(p[PROPERTY.schedule], `${RESOURCE_TYPE} property ${PROPERTY.schedule}`),
    env: p[PROPERTY.env],
  };
}
