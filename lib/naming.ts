/**
 * Stack names and the few physical names that a cross-account reference forces (DESIGN.md "Names
 * and grammar"). Every other resource lets CloudFormation generate its name. Each name here is
 * derived from app, environment (and account or biome), so two biomes or apps never collide.
 */
import type { BiomesConfig, EnvName } from './config';

/** The ARN partition of a region: these names are literal ARNs in another account's policies. */
export function partitionOf(region: string): string {
  if (region.startsWith('cn-')) return 'aws-cn';
  if (region.startsWith('us-gov-')) return 'aws-us-gov';
  return 'aws';
}

export function devopsStackName(config: BiomesConfig): string {
  return `${config.appName}-devops`;
}

export function sharedStackName(config: BiomesConfig, env: EnvName): string {
  return `${config.appName}-${env}-shared`;
}

export function biomeStackName(config: BiomesConfig, env: EnvName, biome: string): string {
  return `${config.appName}-${env}-${biome}`;
}

/**
 * The landing bucket of an environment, in its workload account. Named because the DevOps account's
 * replication rule must name its destination before the workload stack exists. Account and region
 * make it globally unique.
 */
export function landingBucketName(config: BiomesConfig, env: EnvName): string {
  return `${config.appName}-${env}-landing-${config.accounts[env]}-${config.region}`;
}

/** Alias of the landing bucket's KMS key; replicas are encrypted with it. */
export function landingKeyAlias(config: BiomesConfig, env: EnvName): string {
  return `alias/${config.appName}-${env}-landing`;
}

export function landingKeyAliasArn(config: BiomesConfig, env: EnvName): string {
  return `arn:${partitionOf(config.region)}:kms:${config.region}:${config.accounts[env]}:${landingKeyAlias(config, env)}`;
}

/**
 * The DevOps account's replication role. Named because each landing bucket policy (in another
 * account) admits exactly this principal.
 */
export function replicationRoleName(config: BiomesConfig): string {
  return `${config.appName}-devops-release-replication`;
}

export function replicationRoleArn(config: BiomesConfig): string {
  return `arn:${partitionOf(config.region)}:iam::${config.accounts.devops}:role/${replicationRoleName(config)}`;
}

/**
 * The shared multi-model endpoint of an environment. Named because IAM matches SageMaker endpoint
 * ARNs in lowercase: a CloudFormation-generated, mixed-case name would make every `InvokeEndpoint`
 * grant (deploy trigger, biome services) miss. Lowercase and derived from app and environment.
 */
export function inferenceEndpointName(config: BiomesConfig, env: EnvName): string {
  return `${config.appName}-${env}-models`;
}
