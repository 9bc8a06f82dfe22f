import {
  checkMigrations,
  MIGRATIONS,
  migrationChecksum,
  migrationsFingerprint,
} from '../../../lambda/biome-database/migrations';
import { biomeDatabaseNames } from '../../../lambda/biome-database/properties';
import { quoteIdent, quoteLiteral, upsertRoleSql } from '../../../lambda/biome-database/sql';
import { isProtectedBiome } from '../../../lambda/shared/environments';
import { BiomeScope } from '../../../lambda/shared/scope';
import { EDITED_FIRST_MIGRATION, FIRST_MIGRATION } from './fixtures';

/** The names the handler derives (through BiomeScope) for a biome of `dev`. */
const names = (biome: string) => biomeDatabaseNames({ env: 'dev', biome });

describe('names (BiomeScope.database)', () => {
  test.each([
    ['alice-b', 'biome_alice_b'],
    ['main', 'biome_main'],
    ['a1-b2-c3', 'biome_a1_b2_c3'],
  ])('biome %s maps to the identifier %s', (biome, id) => {
    expect(names(biome)).toEqual({ database: id, role: id });
  });

  test('hyphen mapping is one-to-one (biome names have no underscores)', () => {
    expect(() => names('alice_b')).toThrow(/must match/);
    expect(names('a-b').database).not.toBe(names('ab').database);
  });

  test.each([
    ['Alice', /must match/],
    ['a', /2-20 characters/],
    ['x--y', /must not contain "--"/],
    ['evil"; DROP DATABASE x; --', /must be 2-20 characters|must match/],
  ])('refuses biome %j with the rule it breaks', (biome, rule) => {
    expect(() => names(biome)).toThrow(rule);
  });

  test('are what BiomeScope gives, whatever the app and environment (the resource has no App property)', () => {
    for (const [app, env] of [
      ['biomes', 'dev'],
      ['other-app', 'prod'],
      ['x', 'qa2'],
    ] as const) {
      expect(new BiomeScope(app, env, 'alice-b').database).toEqual(names('alice-b'));
      expect(biomeDatabaseNames({ env, biome: 'alice-b' })).toEqual(names('alice-b'));
    }
  });

  test('refuses an environment off the environment grammar', () => {
    expect(() => biomeDatabaseNames({ env: 'Prod', biome: 'alice' })).toThrow(
      /environment "Prod" must match/,
    );
  });

  test('only main of a protected environment is protected', () => {
    expect(isProtectedBiome({ protected: true }, 'main')).toBe(true);
    expect(isProtectedBiome({ protected: false }, 'main')).toBe(false);
    expect(isProtectedBiome({ protected: true }, 'alice')).toBe(false);
  });
});

describe('quoting', () => {
  test('identifiers are validated, then quoted', () => {
    expect(quoteIdent('biome_alice_b')).toBe('"biome_alice_b"');
    for (const bad of ['Biome', 'a-b', 'a"b', 'x; DROP ROLE y', '', 'a'.repeat(64)]) {
      expect(() => quoteIdent(bad)).toThrow(/is not a safe SQL identifier/);
    }
  });

  test('literals double their quotes and refuse NUL', () => {
    expect(quoteLiteral("it's")).toBe("'it''s'");
    expect(() => quoteLiteral('a\0b')).toThrow(/NUL/);
  });

  test('the role statement only takes generated-style passwords', () => {
    const alice = names('alice');
    expect(upsertRoleSql(alice, 'A'.repeat(32)).sql).toContain(`CREATE ROLE "biome_alice" LOGIN`);
    expect(() => upsertRoleSql(alice, "short'pw")).toThrow(/16-128 letters and digits/);
    expect(() => upsertRoleSql(alice, `${'a'.repeat(20)}'; DROP ROLE x; --`)).toThrow(/letters and digits/);
  });
});

describe('migrations', () => {
  test('the released list is well formed', () => {
    expect(() => checkMigrations(MIGRATIONS)).not.toThrow();
    expect(FIRST_MIGRATION.name).toBe('samples_and_predictions');
  });

  test.each([
    [[{ version: 2, name: 'x', statements: ['SELECT 1'] }], /versions must run 1, 2, 3/],
    [[{ version: 1, name: 'Bad Name', statements: ['SELECT 1'] }], /must be snake_case/],
    [[{ version: 1, name: 'empty', statements: [] }], /at least one statement/],
  ])('refuses a malformed list %#', (list, message) => {
    expect(() => checkMigrations(list)).toThrow(message);
  });

  test('checksums and the fingerprint change with the content', () => {
    const edited = EDITED_FIRST_MIGRATION;
    expect(migrationChecksum(edited)).not.toBe(migrationChecksum(FIRST_MIGRATION));
    expect(migrationsFingerprint([edited])).not.toBe(migrationsFingerprint());
    expect(migrationsFingerprint()).toMatch(/^[0-9a-f]{16}$/);
  });
});
