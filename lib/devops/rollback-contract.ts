/**
 * What `npm run rollback` and the rollback pipeline (lib/devops/rollback-pipeline.ts) agree on: the
 * pipeline's name and its variables. Construct-free, so the command loads no aws-cdk-lib.
 */

/** The pipeline variables `npm run rollback` sets. */
export const ROLLBACK_VARIABLES = { env: 'env', biome: 'biome', name: 'name', sha: 'sha' } as const;

/** `<app>-rollback-<env>`: `npm run rollback` starts it by this name. */
export function rollbackPipelineName(appName: string, envName: string): string {
  return `${appName}-rollback-${envName}`;
}
