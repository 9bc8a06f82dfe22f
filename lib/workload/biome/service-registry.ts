/**
 * Checks the service registry (lambda/services.ts) against the repository before anything is built,
 * and derives from it what the biome stack and the bundler need. A bad entry fails synth with the
 * entry's key and the rule it breaks.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ServiceDeclaration, ServiceRegistry } from '../../../lambda/services';
import { artifactNameProblem } from '../../../lambda/shared/grammar';
import { MODEL_POINTER_VARIABLE_PREFIX } from '../../../lambda/shared/settings';
import { MODEL_RETRAIN_FUNCTION } from './train-workflow';

/**
 * Folders under lambda/ that are infrastructure functions (or shared code), never services; every other
 * folder there is a service (test/workload/biome/service-registry.test.ts checks both ways).
 */
export const INFRASTRUCTURE_FUNCTIONS = [
  'biome-database',
  'biome-models',
  'deploy-trigger',
  'inference-endpoint',
  'model-retrain',
  'sandpit-ledger',
  'sandpit-sweeper',
  'shared',
] as const;

/** Where the registry lives, for messages. */
export const REGISTRY_FILE = 'lambda/services.ts';

const ENV_VARIABLE = /^[A-Za-z_][A-Za-z0-9_]*$/;

export interface RegistryContext {
  /** The `lambda/` folder holding each service's `<name>/handler.ts`. */
  readonly lambdaRoot: string;
  /** The models of the repository (folders under `models/`). */
  readonly models: readonly string[];
}

export class ServiceRegistryError extends Error {
  constructor(problems: readonly string[]) {
    super(`Invalid service registry (${REGISTRY_FILE}):\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ServiceRegistryError';
  }
}

function declarationProblems(name: string, d: ServiceDeclaration, context: RegistryContext): string[] {
  const key = `SERVICES.${name}`;
  const found: string[] = [];
  const nameProblem = artifactNameProblem(name);
  if (nameProblem) found.push(`${key}: service ${nameProblem} (the name is its folder and artifact name)`);
  if ((INFRASTRUCTURE_FUNCTIONS as readonly string[]).includes(name)) {
    found.push(`${key}: lambda/${name}/ is an infrastructure function, not a service; pick another name`);
  }
  const handler = path.join(context.lambdaRoot, name, 'handler.ts');
  if (!nameProblem && !fs.existsSync(handler)) {
    found.push(
      `${key}: lambda/${name}/handler.ts does not exist; every service is a folder lambda/<name>/ with a handler.ts`,
    );
  }
  for (const model of d.models ?? []) {
    if (!context.models.includes(model)) {
      found.push(
        `${key}.models: "${model}" is not a model of the repository (models/${model}/ does not exist; models: ${context.models.join(', ') || 'none'})`,
      );
    }
  }
  if (d.models && new Set(d.models).size !== d.models.length) {
    found.push(`${key}.models: lists a model twice`);
  }
  for (const variable of Object.keys(d.environment ?? {})) {
    if (!ENV_VARIABLE.test(variable)) {
      found.push(
        `${key}.environment.${variable}: must be an environment variable name (${ENV_VARIABLE.source})`,
      );
    } else if (
      variable.startsWith('BIOMES_') ||
      variable.startsWith('AWS_') ||
      variable.startsWith(MODEL_POINTER_VARIABLE_PREFIX)
    ) {
      found.push(
        `${key}.environment.${variable}: names starting with BIOMES_ or AWS_ are set by the biome stack and Lambda`,
      );
    }
  }
  for (const error of d.retryableErrors ?? []) {
    if (!/^[A-Za-z][A-Za-z0-9_.]*$/.test(error)) {
      found.push(`${key}.retryableErrors: "${error}" must be an error name (letters, digits, "_" or ".")`);
    }
  }
  if (
    d.memorySize !== undefined &&
    (!Number.isInteger(d.memorySize) || d.memorySize < 128 || d.memorySize > 10240)
  ) {
    found.push(`${key}.memorySize: must be a whole number of MB from 128 to 10240 (Lambda's range)`);
  }
  if (
    d.timeoutSeconds !== undefined &&
    (!Number.isInteger(d.timeoutSeconds) || d.timeoutSeconds < 1 || d.timeoutSeconds > 900)
  ) {
    found.push(`${key}.timeoutSeconds: must be a whole number of seconds from 1 to 900 (Lambda's range)`);
  }
  return found;
}

/** Throws {@link ServiceRegistryError} listing every problem of the registry. */
export function checkServiceRegistry(services: ServiceRegistry, context: RegistryContext): void {
  const problems = Object.entries(services).flatMap(([name, d]) => declarationProblems(name, d, context));
  if (Object.keys(services).length === 0) problems.push('SERVICES: declares no service');
  if (problems.length > 0) throw new ServiceRegistryError(problems);
}

/**
 * The Lambda folders a biome stack bundles: every service, then the biome's infrastructure functions
 * (model-retrain, its retraining workflow's, when the repository has models: BiomeStack builds the
 * workflow on the same condition).
 */
export function biomeFunctions(services: ServiceRegistry, models: readonly string[]): string[] {
  return [
    ...Object.keys(services),
    'biome-database',
    'biome-models',
    ...(models.length > 0 ? [MODEL_RETRAIN_FUNCTION] : []),
  ];
}

/** Error names the workflow retries for the services it calls, without duplicates. */
export function retryableErrors(services: ServiceRegistry, names: readonly string[]): string[] {
  return [...new Set(names.flatMap((n) => services[n]?.retryableErrors ?? []))];
}
