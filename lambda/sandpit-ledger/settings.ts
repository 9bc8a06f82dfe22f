/**
 * The ledger recorder's settings, parsed once from its environment (names in ./env). A missing or bad
 * value fails the cold start with the variable's name, never a record half-way through.
 */
import * as z from 'zod/mini';
import { envNameSchema, issueLines } from '../shared/issues';
import { EnvScope } from '../shared/scope';
import { RECORDER_ENV as ENV } from './env';

export interface Settings {
  /** The app and environment whose sandpits the recorder serves (BIOMES_APP_NAME, BIOMES_ENV_NAME). */
  readonly scope: EnvScope;
  readonly ledgerTable: string;
  /** The sandpit deployer role: a Lambda code change it makes outside CloudFormation is a hotswap. */
  readonly deployerRoleArn: string;
}

/** An IAM role ARN; the partition is captured (function ARNs the recorder builds use the same one). */
export const ROLE_ARN_PATTERN = /^arn:(aws[a-z-]*):iam::\d{12}:role\/[\w+=,.@/-]+$/;

const required = z.string().check(z.minLength(1, 'must be set'));

const schema = z.object({
  [ENV.appName]: required,
  [ENV.envName]: envNameSchema,
  [ENV.ledgerTable]: required,
  [ENV.deployerRoleArn]: z.string().check(z.regex(ROLE_ARN_PATTERN, 'must be an IAM role ARN')),
});

export function settingsFromEnv(env: Readonly<Record<string, string | undefined>>): Settings {
  const result = schema.safeParse(env);
  if (!result.success) {
    const problems = issueLines(result.error).join('; ');
    throw new Error(`sandpit-ledger environment is invalid (${problems}); redeploy the shared stack.`);
  }
  const e = result.data;
  return {
    scope: new EnvScope(e[ENV.appName], e[ENV.envName]),
    ledgerTable: e[ENV.ledgerTable],
    deployerRoleArn: e[ENV.deployerRoleArn],
  };
}
