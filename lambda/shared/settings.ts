import * as z from 'zod/mini';

/**
 * Reads a service's settings from its environment (`names` maps setting -> variable name). A missing
 * variable names itself, since a smoke check reports it to the deployer.
 */
export function readSettings<M extends Record<string, string>>(
  names: M,
  source: Record<string, string | undefined>,
): { readonly [K in keyof M]: string } {
  const missing = Object.values(names).filter(
    (v) => !z.string().check(z.minLength(1)).safeParse(source[v]).success,
  );
  if (missing.length > 0) {
    throw new Error(
      `Missing environment variable(s) ${missing.join(', ')}: the biome stack sets them; redeploy the stack (cdk deploy -c biome=<name>).`,
    );
  }
  return Object.fromEntries(Object.entries(names).map(([k, v]) => [k, source[v]!])) as {
    [K in keyof M]: string;
  };
}

/** What every biome service is told: where it runs and its own database (names of the variables). */
export const BIOME_SERVICE_ENV = {
  app: 'BIOMES_APP',
  env: 'BIOMES_ENV',
  biome: 'BIOMES_BIOME',
  dbClusterArn: 'BIOMES_DB_CLUSTER_ARN',
  dbSecretArn: 'BIOMES_DB_SECRET_ARN',
  dbName: 'BIOMES_DB_NAME',
} as const;
