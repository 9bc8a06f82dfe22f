/**
 * The microservices of every biome: one entry per service. The key is the service's name, its
 * folder `lambda/<name>/` (holding `handler.ts`) and its artifact `<name>-<sha>.zip`. From this list
 * the biome stack makes each service's function, alias `live`, log group, registration and grants,
 * the bundler bundles it, `npm run package` packages it, and the workflow retries its retryable
 * errors. Adding a service is a folder and an entry here (README "Adding a microservice").
 *
 * Pure data: no AWS or CDK imports (the packaging script and the Lambda code import it too). Other
 * folders under `lambda/` are infrastructure functions that CDK deploys itself.
 */
import { INGEST_ERRORS } from './ingest/errors';
import { PREDICT_ERRORS } from './predict/errors';
import { PREDICT_MODEL } from './predict/model';

/** What one service needs; everything is optional, a service with `{}` gets a function and nothing else. */
export interface ServiceDeclaration {
  /**
   * Runs SQL in the biome's own database (RDS Data API): the cluster, its secret and database name
   * are in its environment, and its role may use them (and no other biome's).
   * @default false
   */
  readonly database?: boolean;
  /**
   * Models it invokes on the shared multi-model endpoint, by name (folders under `models/`): the
   * endpoint name and each model's pointer are in its environment, and its role may read those
   * pointers and invoke those models of its own biome only.
   * @default - none
   */
  readonly models?: readonly string[];
  /**
   * Extra environment variables, literal values (names must not start with `BIOMES_` or `AWS_`).
   * @default - none
   */
  readonly environment?: Readonly<Record<string, string>>;
  /**
   * Error names (`error.name`) that mean "try again later"; the biome's workflow retries them.
   * @default - none
   */
  readonly retryableErrors?: readonly string[];
  /** @default 256 */
  readonly memorySize?: number;
  /** @default 60: long enough for the Data API to ride out an Aurora resume */
  readonly timeoutSeconds?: number;
}

export type ServiceRegistry = Readonly<Record<string, ServiceDeclaration>>;

export const SERVICES = {
  ingest: { database: true, retryableErrors: [INGEST_ERRORS.databaseResuming] },
  predict: { database: true, models: [PREDICT_MODEL], retryableErrors: [PREDICT_ERRORS.modelNotReady] },
} as const satisfies ServiceRegistry;

export type ServiceName = keyof typeof SERVICES;
