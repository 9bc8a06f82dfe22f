import {
  checkMigrations,
  MIGRATIONS,
  migrationChecksum,
  migrationsFingerprint,
} from '../../../lambda/biome-database/migrations';
import { biomeDatabaseNames, isProtectedDatabase } from '../../../lambda/biome-database/names';
import { quoteIdent, quoteLiteral, upsertRoleSql } from '../../../lambda/biome-database/sql';

describe('names', () => {
  test.each([
    ['alice-b', 'biome_alice_b'],
    ['main', 'biome_main'],
    ['a1-b2-c3', 'biome_a1_b2_c3'],
  ])('biome %s maps to the identifier %s', (biome, id) => {
    expect(biomeDatabaseNames(biome)).toEqual({ database: id, role: id });
  });

  test('hyphen mapping is one-to-one (biome names have no underscores)', () => {
    expect(() => biomeDatabaseNames('alice_b')).toThrow(/must match/);
    expect(biomeDatabaseNames('a-b').database).not.toBe(biomeDatabaseNames('ab').database);
  });

  test.each([
    ['Alice', /must match/],
    ['a', /2-20 characters/],
    ['x--y', /must not contain "--"/],
    ['evil"; DROP DATABASE x; --', /must be 2-20 characters|must match/],
  ])('refuses biome %j with the rule it breaks', (biome, rule) => {
    expect(() => biomeDatabaseNames(biome)).toThrow(rule);
  });

  test('only main in prod is protected', () => {
    expect(isProtectedDatabase('prod', 'main')).toBe(true);
    expect(isProtectedDatabase('staging', 'main')).toBe(false);
    expect(isProtectedDatabase('prod', 'alice')).toBe(false);
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
    const names = biomeDatabaseNames('alice');
    expect(upsertRoleSql(names, 'A'.repeat(32)).sql).toContain(`CREATE ROLE "biome_alice" LOGIN`);
    expect(() => upsertRoleSql(names, "short'pw")).toThrow(/16-128 letters and digits/);
    expect(() => upsertRoleSql(names, `${'a'.repeat(20)}'; DROP ROLE x; --`)).toThrow(/letters and digits/);
  });
});

describe('migrations', () => {
  test('the released list is well formed', () => {
    expect(() => checkMigrations(MIGRATIONS)).not.toThrow();
    expect(MIGRATIONS[0].name).toBe('samples_and_predictions');
  });

  test.each([
    [[{ version: 2, name: 'x', statements: ['SELECT 1'] }], /versions must run 1, 2, 3/],
    [[{ version: 1, name: 'Bad Name', statements: ['SELECT 1'] }], /must be snake_case/],
    [[{ version: 1, name: 'empty', statements: [] }], /at least one statement/],
  ])('refuses a malformed list %#', (list, message) => {
    expect(() => checkMigrations(list)).toThrow(message);
  });

  test('checksums and the fingerprint change with the content', () => {
    const edited = { ...MIGRATIONS[0], statements: [...MIGRATIONS[0].statements, 'SELECT 1'] };
    expect(migrationChecksum(edited)).not.toBe(migrationChecksum(MIGRATIONS[0]));
    expect(migrationsFingerprint([edited])).not.toBe(migrationsFingerprint());
    expect(migrationsFingerprint()).toMatch(/^[0-9a-f]{16}$/);
  });
});
