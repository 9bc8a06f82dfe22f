// aws-local-stepfunctions 3 calls Promise.withResolvers, which Node 20 lacks (Node 22 has it).
const P = Promise as unknown as { withResolvers?: () => unknown };
if (!P.withResolvers) {
  P.withResolvers = function withResolvers<T>() {
    let resolve!: (value: T | PromiseLike<T>) => void;
    let reject!: (reason?: unknown) => void;
    const promise = new Promise<T>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    return { promise, resolve, reject };
  };
}

import { plainStackCaptures } from './stack-captures';
import { SHARED_MODULES } from './shared-modules';

// This file's realm (test/environment.ts does the worker's, where the CDK libraries run).
plainStackCaptures(Error);

// The CDK libraries from the worker's one copy (test/environment.ts): each entry point a module
// factory returning what the worker's own `require` loaded. Absent only in a file that names another
// environment in a docblock; it then loads its own copy, as jest does by default.
const sharedRequire = (globalThis as { __biomesSharedRequire?: NodeJS.Require }).__biomesSharedRequire;
if (sharedRequire) {
  for (const specifier of SHARED_MODULES) jest.mock(specifier, () => sharedRequire(specifier));
}
