/**
 * The environment every biome service is given, by what it declares in the registry
 * (lambda/services.ts): where it runs, its own database if it declares `database`, and a model
 * pointer per model it declares. The Microservice construct sets these variables and the handlers
 * read them through the functions below, so a rename is one edit here. Pure: no AWS or CDK imports.
 */
import * as z from 'zod/mini';

/** Variables of every service, and of services that declare a database or models. */
export const SERVICE_ENV = {
  app: 'BIOMES_APP',
  env: 'BIOMES_ENV',
  biome: 'BIOMES_BIOME',
  /**
   * The commit whose code the version runs: the deploy trigger sets it on `$LATEST` before it
   * publishes a version, so every version carries (and logs) its own commit. Unset in code CDK deployed.
   */
  commitSha: 'BIOMES_COMMIT_SHA',
  /** With `database`: the shared cluster, the biome's own secret and database. */
  dbClusterArn: 'BIOMES_DB_CLUSTER_ARN',
  dbSecretArn: 'BIOMES_DB_SECRET_ARN',
  dbName: 'BIOMES_DB_NAME',
  /** With `models`: the shared multi-model endpoint. */
  endpointName: 'BIOMES_ENDPOINT_NAME',
} as const;

/** Prefix of the per-model pointer variables; see {@link modelPointerVariable}. */
export const MODEL_POINTER_VARIABLE_PREFIX = 'BIOMES_MODEL_POINTER_';

/**
 * The variable holding the SSM parameter name of `model`'s pointer, e.g. `BIOMES_MODEL_POINTER_DEMO_SCORER`
 * for `demo-scorer`. Model names never contain `_`, so the mapping is one-to-one.
 */
export function modelPointerVariable(model: string): string {
  return `${MODEL_POINTER_VARIABLE_PREFIX}${model.replace(/-/g, '_').toUpperCase()}`;
}

type Source = Readonly<Record<string, string | undefined>>;

/**
 * Reads the named variables (`names` maps setting -> variable name). A missing one names itself,
 * since a smoke check reports it to the deployer.
 */
export function readSettings<M extends Record<string, string>>(
  names: M,
  source: Source,
): { readonly [K in keyof M]: string } {
  const present = z.string().check(z.minLength(1));
  const values: Record<string, string> = {};
  const missing: string[] = [];
  for (const [key, variable] of Object.entries(names)) {
    const parsed = present.safeParse(source[variable]);
    if (parsed.success) values[key] = parsed.data;
    else missing.push(variable);
  }
  if (missing.length > 0) {
    throw new Error(
      `Missing environment variable(s) ${missing.join(', ')}: the biome stack sets them; redeploy the stack (cdk deploy -c biome=<name>).`,
    );
  }
  return values as { readonly [K in keyof M]: string };
}

/** Where a service runs. */
export interface ServiceIdentity {
  readonly app: string;
  readonly env: string;
  readonly biome: string;
}

export function serviceIdentity(source: Source): ServiceIdentity {
  return readSettings({ app: SERVICE_ENV.app, env: SERVICE_ENV.env, biome: SERVICE_ENV.biome }, source);
}

/** The biome's own database, for a service that declares `database`. */
export interface DatabaseSettings {
  readonly clusterArn: string;
  readonly secretArn: string;
  readonly database: string;
}

export function databaseSettings(source: Source): DatabaseSettings {
  return readSettings(
    {
      clusterArn: SERVICE_ENV.dbClusterArn,
      secretArn: SERVICE_ENV.dbSecretArn,
      database: SERVICE_ENV.dbName,
    },
    source,
  );
}

/** The endpoint and the pointer of one model, for a service that declares it in `models`. */
export interface ModelSettings {
  readonly endpointName: string;
  /** SSM parameter holding the biome's live TargetModel of the model (or `none`). */
  readonly pointerParameter: string;
}

export function modelSettings(source: Source, model: string): ModelSettings {
  return readSettings(
    { endpointName: SERVICE_ENV.endpointName, pointerParameter: modelPointerVariable(model) },
    source,
  );
}
