/** Shared fixtures of the biome-database tests. */
import { type Migration, MIGRATIONS } from '../../../lambda/biome-database/migrations';
import { type BiomeDatabaseNames, BiomeScope } from '../../../lambda/shared/scope';

/** The first released migration. */
export const FIRST_MIGRATION: Migration = (() => {
  const [first] = MIGRATIONS;
  if (!first) throw new Error('MIGRATIONS is empty');
  return first;
})();

/** The first migration with one more statement: what editing a released migration looks like. */
export const EDITED_FIRST_MIGRATION: Migration = {
  ...FIRST_MIGRATION,
  statements: [...FIRST_MIGRATION.statements, 'SELECT 1'],
};

/** The database names of `biome`, as BiomeScope derives them (the app and environment do not change them). */
export function databaseNames(biome: string): BiomeDatabaseNames {
  return new BiomeScope('biomes', 'dev', biome).database;
}
