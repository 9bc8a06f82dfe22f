/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: {
    // Lambda handlers import SQL migrations as text (esbuild's text loader does the same when bundling).
    '\\.sql$': '<rootDir>/lib/bundling/jest-sql-transform.cjs',
    '^.+\\.tsx?$': [
      '@swc/jest',
      { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' }, module: { type: 'commonjs' } },
    ],
  },
  setupFiles: ['<rootDir>/test/setup.ts'],
  // Synth-heavy suites share 2 cores; one worker per core keeps memory and wall time predictable.
  maxWorkers: 2,
  testTimeout: 60_000,
};
