/**
 * The jest environment of every test file: jest's Node environment, plus one copy per worker of the
 * CDK libraries (aws-cdk-lib, constructs, cdk-nag, the cfn-guard validator) shared by the test files
 * that worker runs.
 *
 * Jest gives each test file its own module registry, so each synthesizing file loaded and compiled
 * aws-cdk-lib again (about 1.5 s of a whole-app build in a test). These libraries are loaded here,
 * by Node's own `require`, once per worker process; test/setup.ts registers each of their entry points
 * as a module factory that returns this copy. Our own code (lib/, lambda/, bin/) still loads afresh
 * per test file, so no state of ours crosses files; what crosses is the libraries' module state, which
 * holds no app (every test builds its own App): `npx jest --runInBand`, every file on one copy, passes.
 * Measured on the whole suite (1,536 tests, two runs one after the other, same hour): 79 s wall and
 * 115 s user CPU with it, 110 s and 170 s without. Note for a test that sets `process.env` for
 * aws-cdk-lib to read: that copy reads the worker's environment, not the test file's.
 */
import { TestEnvironment } from 'jest-environment-node';
import { plainStackCaptures } from './stack-captures';

// aws-cdk-lib captures a stack for every construct and acknowledgement with this realm's Error.
plainStackCaptures(Error);

export default class BiomesTestEnvironment extends TestEnvironment {
  constructor(...args: ConstructorParameters<typeof TestEnvironment>) {
    super(...args);
    this.global.__biomesSharedRequire = require;
  }
}
