/**
 * Names a biome owns inside the shared Aurora cluster. Shared by the construct (the secret's
 * username, the services' env vars) and the handler, so both always agree. Pure.
 */
import { biomeNameProblem, type EnvName, MAINLINE_BIOME } from '../shared/grammar';

/** The database every PostgreSQL cluster has; role and database DDL run connected to it. */
export const MAINTENANCE_DATABASE = 'postgres';

/** Prefix of every biome database and role, so they never clash with system or admin names. */
export const BIOME_IDENTIFIER_PREFIX = 'biome_';

export interface BiomeDatabaseNames {
  /** The biome's database, e.g. `biome_alice_b` for biome `alice-b`. */
  readonly database: string;
  /** The biome's login role; the same text as the database (roles and databases are separate namespaces). */
  readonly role: string;
}

/**
 * The database and role of a biome. The cluster belongs to one app in one environment (one shared
 * stack per account), so the biome alone makes them unique. Biome names never contain `_`, so
 * mapping `-` to `_` is one-to-one: two biomes cannot collide.
 */
export function biomeDatabaseNames(biome: string): BiomeDatabaseNames {
  const problem = biomeNameProblem(biome, { allowMainline: true });
  if (problem) throw new Error(`Cannot derive database names: biome ${problem}.`);
  const identifier = `${BIOME_IDENTIFIER_PREFIX}${biome.replace(/-/g, '_')}`;
  return { database: identifier, role: identifier };
}

/** Production's mainline database holds real data: nothing in Biomes may drop it. */
export function isProtectedDatabase(env: EnvName | string, biome: string): boolean {
  return env === 'prod' && biome === MAINLINE_BIOME;
}
