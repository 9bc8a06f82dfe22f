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

/**
 * The sandpit pipeline's deploy project role in the DevOps account. Named, because each sandpit-hosting
 * environment's sandpit deployer role trusts exactly this principal.
 */
export function sandpitDeployProjectRoleName(config: BiomesConfig, env: EnvironmentConfig): string {
  return `${config.appName}-devops-sandpit-deploy-${env.name}`;
}

export function sandpitDeployProjectRoleArn(config: BiomesConfig, env: EnvironmentConfig): string {
  return `arn:${partitionOf(config.region)}:iam::${config.devopsAccount}:role/${sandpitDeployProjectRoleName(config, env)}`;
}

/** The sandpit deployer role of an environment, in its workload account (EnvScope.sandpitDeployerRoleName). */
export function sandpitDeployerRoleArn(config: BiomesConfig, env: EnvironmentConfig): string {
  const name = new EnvScope(config.appName, env.name).sandpitDeployerRoleName;
  return `arn:${partitionOf(config.region)}:iam::${env.account}:role/${name}`;
}

/** The sandpit execution role of an environment (EnvScope.sandpitExecutionRoleName). */
export function sandpitExecutionRoleArn(config: BiomesConfig, env: EnvironmentConfig): string {
  const name = new EnvScope(config.appName, env.name).sandpitExecutionRoleName;
  return `arn:${partitionOf(config.region)}:iam::${env.account}:role/${name}`;
}

/** The sandpit permissions boundary of an environment (EnvScope.sandpitBoundaryName). */
export function sandpitBoundaryArn(config: BiomesConfig, env: EnvironmentConfig): string {
  const name = new EnvScope(config.appName, env.name).sandpitBoundaryName;
  return `arn:${partitionOf(config.region)}:iam::${env.account}:policy/${name}`;
}

/** Key prefix of sandpit assets in the bootstrap assets bucket: the deployer may write nothing else there. */
export const SANDPIT_ASSET_PREFIX = 'sandpit/';

/** The sandpit owners topic of an environment (EnvScope.ownersTopicName). */
export function ownersTopicArn(config: BiomesConfig, env: EnvironmentConfig): string {
  const name = new EnvScope(config.appName, env.name).ownersTopicName;
  return `arn:${partitionOf(config.region)}:sns:${config.region}:${env.account}:${name}`;
}
