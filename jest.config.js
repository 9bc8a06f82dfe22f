/** @type {import('jest').Config} */
module.exports = {
  // jest's Node environment with one copy of the CDK libraries per worker (see the file).
  testEnvironment: '<rootDir>/test/environment.ts',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: {
    '^.+\\.tsx?$': [
      '@swc/jest',
      { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' }, module: { type: 'commonjs' } },
    ],
  },
  setupFiles: ['<rootDir>/test/setup.ts'],
  globalSetup: '<rootDir>/test/global-setup.ts',
  // Synth-heavy suites share 2 cores; one worker per core keeps memory and wall time predictable.
  maxWorkers: 2,
  testTimeout: 60_000,
  // In CodeBuild, a JUnit report too (lib/devops/buildspec/build.yml `reports`), so a failed build
  // shows which test failed; locally only the console.
  reporters: process.env.CODEBUILD_BUILD_ID
    ? [
        'default',
        ['jest-junit', { outputDirectory: 'reports', outputName: 'jest.xml', addFileAttribute: 'true' }],
      ]
    : ['default'],
};
