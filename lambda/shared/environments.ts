/**
 * What an environment is, as data. The list of environments, their promotion order, the approvals
 * before them and which are protected live in one place: `biomes.promotion` in cdk.json, validated by
 * lib/config.ts. This module holds the grammar of an environment name and the one question every
 * layer asks ("is this protected?"), so the CDK constructs and the Lambda handlers answer it the same
 * way. Pure: no AWS or CDK imports.
 */
import { MAINLINE_BIOME } from './grammar';

/** 2-8 lowercase letters or digits, starting with a letter: it appears in stack, bucket and function names. */
export const ENV_NAME_PATTERN = /^[a-z][a-z0-9]{1,7}$/;

/** Names an environment may not take: `devops` is the DevOps account's key in `biomes.accounts`. */
export const RESERVED_ENV_NAMES = ['devops', 'shared'] as const;

/** Why `name` is not a valid environment name, or undefined when it is. */
export function envNameProblem(name: string): string | undefined {
  if (!ENV_NAME_PATTERN.test(name)) {
    return `"${name}" must match ${ENV_NAME_PATTERN.source}: 2-8 lowercase letters or digits, starting with a letter`;
  }
  if ((RESERVED_ENV_NAMES as readonly string[]).includes(name)) {
    return `"${name}" is reserved (${RESERVED_ENV_NAMES.join(', ')})`;
  }
  return undefined;
}

/** The promotion facts of one environment (`biomes.promotion[i]`). */
export interface EnvironmentDefinition {
  readonly name: string;
  /** A manual approval stands before this environment in the release pipeline. */
  readonly approvalBefore: boolean;
  /**
   * Protected: its data is retained (snapshots, retain policies, deletion and termination
   * protection), it hosts no sandpits, and its mainline biome's database and models are never
   * dropped by any stack operation.
   */
  readonly protected: boolean;
}

/**
 * Whether the data of `biome` in an environment must outlive every stack operation: the mainline
 * biome of a protected environment. The one answer to "may this database or these models be
 * dropped?", asked by the biome stack's constructs at synth and by the custom-resource handlers at
 * delete time (they receive the environment's `protected` flag as a property).
 */
export function isProtectedBiome(env: Pick<EnvironmentDefinition, 'protected'>, biome: string): boolean {
  return env.protected && biome === MAINLINE_BIOME;
}

/**
 * The `protected` property of a biome's custom resource (database, models) as the construct sets it,
 * or, when absent, `true` for `main`: a resource created before the property existed (or
 * CloudFormation rolling an update back to such properties) must never drop what nobody proved
 * unprotected, and a sandpit was never protected.
 */
export function protectedProperty(value: 'true' | 'false' | undefined, biome: string): boolean {
  return value === undefined ? biome === MAINLINE_BIOME : value === 'true';
}

/** Whether sandpits (biomes other than `main`) may live in the environment. */
export function hostsSandpits(env: Pick<EnvironmentDefinition, 'protected'>): boolean {
  return !env.protected;
}
