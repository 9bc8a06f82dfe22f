/**
 * The names of the DevOps account, and the few cross-account ARNs that need an account id. Every
 * name derived from app, environment and biome lives in lambda/shared/scope.ts (EnvScope /
 * BiomeScope), which constructs and handlers share.
 */
import { EnvScope } from '../lambda/shared/scope';
import type { BiomesConfig, EnvironmentConfig } from './config';

/** The ARN partition of a region: these names are literal ARNs in another account's policies. */
export function partitionOf(region: string): string {
  if (region.startsWith('cn-')) return 'aws-cn';
  if (region.startsWith('us-gov-')) return 'aws-us-gov';
  return 'aws';
}

export function devopsStackName(config: BiomesConfig): string {
  return `${config.appName}-devops`;
}

/** The landing bucket of an environment (EnvScope.landingBucketName in that environment's account). */
export function landingBucketName(config: BiomesConfig, env: EnvironmentConfig): string {
  return new EnvScope(config.appName, env.name).landingBucketName(env.account, config.region);
}

/** ARN of the alias of the landing bucket's key, in the environment's account. */
export function landingKeyAliasArn(config: BiomesConfig, env: EnvironmentConfig): string {
  const alias = new EnvScope(config.appName, env.name).landingKeyAlias;
  return `arn:${partitionOf(config.region)}:kms:${config.region}:${env.account}:${alias}`;
}

/**
 * The DevOps account's replication role. Named because each landing bucket policy (in another
 * account) admits exactly this principal.
 */
export function replicationRoleName(config: BiomesConfig): string {
  return `${config.appName}-devops-release-replication`;
}

export function replicationRoleArn(config: BiomesConfig): string {
  return `arn:${partitionOf(config.region)}:iam::${config.devopsAccount}:role/${replicationRoleName(config)}`;
}

/**
 * The role of an environment's verify project in the DevOps account. Named, because the workload
 * account's read-and-verify role trusts exactly this principal.
 */
export function verifyProjectRoleName(config: BiomesConfig, env: EnvironmentConfig): string {
  return `${config.appName}-devops-verify-${env.name}`;
}

export function verifyProjectRoleArn(config: BiomesConfig, env: EnvironmentConfig): string {
  return `arn:${partitionOf(config.region)}:iam::${config.devopsAccount}:role/${verifyProjectRoleName(config, env)}`;
}

/** The read-and-verify role of an environment, in its workload account (EnvScope.releaseVerifyRoleName). */
export function releaseVerifyRoleArn(config: BiomesConfig, env: EnvironmentConfig): string {
  const name = new EnvScope(config.appName, env.name).releaseVerifyRoleName;
  return `arn:${partitionOf(config.region)}:iam::${env.account}:role/${name}`;
}
