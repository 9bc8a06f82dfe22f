/**
 * The deploy trigger's settings, parsed once from its environment (names in ./env). A missing or
 * bad value fails the cold start with the variable's name, never a deploy half-way through.
 */
import * as z from 'zod/mini';
import { envNameProblem } from '../shared/environments';
import { issueLines } from '../shared/issues';
import { EnvScope } from '../shared/scope';
import { DEFAULT_MAX_MODEL_BYTES, DEFAULT_MAX_SERVICE_BYTES, DEPLOY_TRIGGER_ENV as ENV } from './env';

export interface Settings {
  /**
   * The app and environment the trigger deploys in (from BIOMES_APP_NAME and BIOMES_ENV_NAME):
   * every registration, pointer and function-name fence is derived from it, never concatenated here.
   */
  readonly scope: EnvScope;
  readonly landingBucket: string;
  readonly ledgerTable: string;
  readonly modelBucket: string;
  readonly modelPrefix: string;
  readonly endpointName: string;
  readonly maxServiceBytes: number;
  readonly maxModelBytes: number;
  readonly leaseSeconds: number;
  /** The owners topic (environments with sandpits); undefined: failures go to the ledger and alarms only. */
  readonly ownersTopicArn?: string;
}

const required = z.string().check(z.minLength(1, 'must be set'));
const bytes = (fallback: number) => z._default(z.coerce.number().check(z.int(), z.positive()), fallback);

const schema = z.object({
  [ENV.appName]: required,
  [ENV.envName]: z.string().check(
    z.superRefine((env, ctx) => {
      const problem = envNameProblem(env);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    }),
  ),
  [ENV.landingBucket]: required,
  [ENV.ledgerTable]: required,
  [ENV.modelBucket]: required,
  [ENV.modelPrefix]: z
    .string()
    .check(z.refine((p) => p === '' || p.endsWith('/'), 'must be empty or end in "/"')),
  [ENV.endpointName]: required,
  [ENV.maxServiceBytes]: bytes(DEFAULT_MAX_SERVICE_BYTES),
  [ENV.maxModelBytes]: bytes(DEFAULT_MAX_MODEL_BYTES),
  [ENV.leaseSeconds]: z._default(z.coerce.number().check(z.int(), z.minimum(60)), 960),
  [ENV.ownersTopicArn]: z.optional(
    z.string().check(z.regex(/^arn:aws[a-z-]*:sns:/, 'must be an SNS topic ARN')),
  ),
});

export function settingsFromEnv(env: Record<string, string | undefined>): Settings {
  const result = schema.safeParse(env);
  if (!result.success) {
    const problems = issueLines(result.error).join('; ');
    throw new Error(`deploy-trigger environment is invalid (${problems}); redeploy the shared stack.`);
  }
  const e = result.data;
  return {
    scope: new EnvScope(e[ENV.appName], e[ENV.envName]),
    landingBucket: e[ENV.landingBucket],
    ledgerTable: e[ENV.ledgerTable],
    modelBucket: e[ENV.modelBucket],
    modelPrefix: e[ENV.modelPrefix],
    endpointName: e[ENV.endpointName],
    maxServiceBytes: e[ENV.maxServiceBytes],
    maxModelBytes: e[ENV.maxModelBytes],
    leaseSeconds: e[ENV.leaseSeconds],
    ...(e[ENV.ownersTopicArn] ? { ownersTopicArn: e[ENV.ownersTopicArn] } : {}),
  };
}
