/**
 * The sandpit sweeper's settings, parsed once from its environment (names in ./env). A missing or bad
 * value fails the cold start with the variable's name, never a sweep half-way through its deletes.
 */
import * as z from 'zod/mini';
import { envNameSchema, issueLines } from '../shared/issues';
import { EnvScope } from '../shared/scope';
import { SWEEPER_ENV as ENV } from './env';

export interface Settings {
  /** The app and environment whose sandpits are swept (from BIOMES_APP_NAME and BIOMES_ENV_NAME). */
  readonly scope: EnvScope;
  readonly ledgerTable: string;
  /** The owners topic: every notice carries the message attribute `biome` its subscriptions filter on. */
  readonly ownersTopicArn: string;
  /** The sandpit execution role every DeleteStack passes, so a delete can touch only what a sandpit may. */
  readonly executionRoleArn: string;
  /** Lifetime of a sandpit whose `ttl-days` tag is missing or unreadable. */
  readonly defaultTtlDays: number;
}

const required = z.string().check(z.minLength(1, 'must be set'));

const schema = z.object({
  [ENV.appName]: required,
  [ENV.envName]: envNameSchema,
  [ENV.ledgerTable]: required,
  [ENV.ownersTopicArn]: z.string().check(z.regex(/^arn:aws[a-z-]*:sns:/, 'must be an SNS topic ARN')),
  [ENV.executionRoleArn]: z
    .string()
    .check(z.regex(/^arn:aws[a-z-]*:iam::\d{12}:role\//, 'must be an IAM role ARN')),
  [ENV.defaultTtlDays]: z.string().check(
    z.regex(/^[0-9]+$/, 'must be a positive whole number of days'),
    z.refine((days) => Number(days) >= 1, 'must be a positive whole number of days'),
  ),
});

export function settingsFromEnv(env: Readonly<Record<string, string | undefined>>): Settings {
  const result = schema.safeParse(env);
  if (!result.success) {
    const problems = issueLines(result.error).join('; ');
    throw new Error(`sandpit-sweeper environment is invalid (${problems}); redeploy the shared stack.`);
  }
  const e = result.data;
  return {
    scope: new EnvScope(e[ENV.appName], e[ENV.envName]),
    ledgerTable: e[ENV.ledgerTable],
    ownersTopicArn: e[ENV.ownersTopicArn],
    executionRoleArn: e[ENV.executionRoleArn],
    defaultTtlDays: Number(e[ENV.defaultTtlDays]),
  };
}
